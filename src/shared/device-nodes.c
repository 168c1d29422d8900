/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "device-nodes.h"
#include "fileio.h"
#include "macros.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

void device_nodes_free(DeviceNode *nodes, size_t n) {
        ARRAY_FOREACH(d, nodes, n) {
                free(d->path);
                free(d->host_path);
        }
        free(nodes);
}

static int sysfs_read_u(int dir_fd, const char *file, int base, unsigned long *ret) {
        char buf[32] = {};
        char *end;
        ssize_t k;
        _cleanup_close_ int fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        k = read(fd, buf, sizeof(buf) - 1);
        if (k < 0)
                return -errno;
        errno = 0;
        *ret = strtoul(buf, &end, base);
        if (errno != 0 || end == buf)
                return -EINVAL;
        return 0;
}

/* The USB device a <hostdev mode='subsystem' type='usb'> names, as libvirt
 * finds it: by vendor and product and/or by bus and device number. Its node
 * is /dev/bus/usb/BBB/DDD, on the host and in the container. */
static int usb_find(const DomainHostdev *hd, const char *sysfs_root, char **ret_path, char **ret_error) {
        _cleanup_free_ char *dir_path = NULL;
        _cleanup_(closedirp) DIR *dir = NULL;
        char want[64];

        if (hd->usb_vendor > 0)
                snprintf(want, sizeof(want), "vendor 0x%04x product 0x%04x", hd->usb_vendor, hd->usb_product);
        else
                snprintf(want, sizeof(want), "bus %u device %u", hd->usb_bus, hd->usb_device);

        if (asprintf(&dir_path, "%s/bus/usb/devices", sysfs_root) < 0)
                return -ENOMEM;
        dir = opendir(dir_path);
        if (!dir) {
                int r = -errno;
                if (r == -ENOENT) {
                        (void) asprintf(ret_error, "USB host device (%s): this host has no USB (no '%s')", want, dir_path);
                        return -ENODEV;
                }
                (void) asprintf(ret_error, "USB host device (%s): cannot read '%s': %s", want, dir_path, strerror(-r));
                return r;
        }
        for (struct dirent *de; (de = readdir(dir));) {
                unsigned long vendor, product, bus, devnum;
                _cleanup_close_ int fd = -EBADF;

                if (de->d_name[0] == '.')
                        continue;
                fd = openat(dirfd(dir), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                /* interfaces (1-1:1.0) have no busnum: skipped */
                if (sysfs_read_u(fd, "busnum", 10, &bus) < 0 || sysfs_read_u(fd, "devnum", 10, &devnum) < 0 ||
                    sysfs_read_u(fd, "idVendor", 16, &vendor) < 0 || sysfs_read_u(fd, "idProduct", 16, &product) < 0)
                        continue;
                if (hd->usb_vendor > 0 && (vendor != hd->usb_vendor || product != hd->usb_product))
                        continue;
                if (hd->usb_bus > 0 && (bus != hd->usb_bus || devnum != hd->usb_device))
                        continue;
                if (asprintf(ret_path, "/dev/bus/usb/%03lu/%03lu", bus, devnum) < 0)
                        return -ENOMEM;
                return 0;
        }
        (void) asprintf(ret_error, "USB host device (%s) does not exist on this host", want);
        return -ENODEV;
}

/* One node: the host's path must be a device node of the kind asked for. */
static int node_stat(DeviceNode *node, mode_t want, const char *what, char **ret_error) {
        struct stat st;

        if (stat(node->host_path, &st) < 0) {
                int r = -errno;
                (void) asprintf(ret_error, "%s '%s' %s", what, node->host_path,
                                r == -ENOENT ? "does not exist on the host" : strerror(-r));
                return r == -ENOENT ? -ENODEV : r;
        }
        if ((st.st_mode & S_IFMT) != want) {
                (void) asprintf(ret_error, "%s '%s' is not a %s device", what, node->host_path,
                                want == S_IFBLK ? "block" : "character");
                return want == S_IFBLK ? -ENOTBLK : -EINVAL;
        }
        node->mode = want | (st.st_mode & 07777 & ~(mode_t) (S_ISUID | S_ISGID | S_ISVTX));
        node->rdev = st.st_rdev;
        return 0;
}

int device_nodes_resolve(const DomainDef *def, const char *sysfs_root, DeviceNode **ret, size_t *ret_n,
                         char **ret_error) {
        DeviceNode *nodes = NULL;
        size_t n = 0;
        int r = 0;

        nodes = calloc(def->n_hostdevs + def->n_disks + 1, sizeof(DeviceNode));
        if (!nodes)
                return -ENOMEM;

        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs) {
                DeviceNode *node = &nodes[n];

                if (hd->type == HOSTDEV_NET)
                        continue;
                n++;
                if (hd->type == HOSTDEV_USB) {
                        r = usb_find(hd, sysfs_root, &node->host_path, ret_error);
                        if (r < 0)
                                break;
                } else if (!(node->host_path = strdup(hd->source))) {
                        r = -ENOMEM;
                        break;
                }
                node->path = strdup(node->host_path);
                if (!node->path) {
                        r = -ENOMEM;
                        break;
                }
                r = node_stat(node, hd->type == HOSTDEV_STORAGE ? S_IFBLK : S_IFCHR,
                              hd->type == HOSTDEV_USB ? "USB device node" : "Host device", ret_error);
                if (r < 0)
                        break;
        }
        ARRAY_FOREACH(disk, r >= 0 ? def->disks : NULL, def->n_disks) {
                DeviceNode *node = &nodes[n];

                n++;
                node->host_path = strdup(disk->source);
                if (!node->host_path || asprintf(&node->path, "/dev/%s", disk->target) < 0) {
                        node->path = NULL;
                        r = -ENOMEM;
                        break;
                }
                node->readonly = disk->readonly;
                if (disk->type == DISK_FILE) {
                        if (disk->loop_rdev == 0) {
                                (void) asprintf(ret_error, "Disk image '%s' is not attached to a loop device", disk->source);
                                r = -ENXIO;
                                break;
                        }
                        node->image = true;
                        node->rdev = (dev_t) disk->loop_rdev;
                        node->mode = S_IFBLK | (disk->readonly ? 0440 : 0660);
                        continue;
                }
                r = node_stat(node, S_IFBLK, "Disk source", ret_error);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                device_nodes_free(nodes, n);
                return r;
        }
        if (n == 0) {
                free(nodes);
                nodes = NULL;
        }
        *ret = nodes;
        *ret_n = n;
        return 0;
}

int hostdev_net_check(const DomainDef *def, char **ret_error) {
        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs)
                if (hd->type == HOSTDEV_NET && if_nametoindex(hd->source) == 0) {
                        (void) asprintf(ret_error, "Host interface '%s' of <hostdev type='net'> does not exist", hd->source);
                        return -ENODEV;
                }
        return 0;
}

int device_node_policy_path(const DeviceNode *node, char **ret) {
        if (asprintf(ret, "/dev/%s/%u:%u", S_ISBLK(node->mode) ? "block" : "char", major(node->rdev),
                     minor(node->rdev)) < 0)
                return -ENOMEM;
        return 0;
}
