/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* AttachDevice and DetachDevice, virsh's attach-device/detach-device: one
 * <disk>, <hostdev>, <interface> or <filesystem> element, added to or removed from the
 * running container (live) and/or its persistent definition (config), with
 * libvirt's VIR_DOMAIN_AFFECT_* flags.
 *
 * Live, the helper makes or removes the node in the container's /dev and
 * lends or takes back a host link (helper-hostdev.c); vivariumd keeps the
 * scope's device policy to exactly the live definition's nodes: widened
 * before a node appears, narrowed after it is gone. A <disk type='file'>
 * gets its loop device here (autoclear); the helper holds it from the
 * attach on (AttachImage) and lets it go on detach. Live attach of
 * <interface> is in iface-attach.c. A live <filesystem> of type 'mount',
 * 'ram', 'block' or 'file' (loop) is the helper's mount into the running
 * container (AttachFilesystem, AttachFilesystemOfType, helper-fsattach.c),
 * found again by its target to detach it. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "bus-names.h"
#include "device-nodes.h"
#include "loop-device.h"
#include "macros.h"
#include "manager.h"

typedef enum DeviceKind {
        DEVICE_HOSTDEV,
        DEVICE_DISK,
        DEVICE_INTERFACE,
        DEVICE_FILESYSTEM,
} DeviceKind;

/* The one device of a fragment. */
static DeviceKind fragment_kind(const DomainDef *frag) {
        return frag->n_hostdevs ? DEVICE_HOSTDEV : frag->n_disks ? DEVICE_DISK :
               frag->n_filesystems ? DEVICE_FILESYSTEM : DEVICE_INTERFACE;
}

/* The device XML, parsed as the only device of a domain: every check of the
 * parser applies. Wrapped on its first line, so that a line number in an
 * error is the fragment's. */
static int parse_device(Container *c, const char *xml, DomainDef **ret, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *frag = NULL;
        _cleanup_free_ char *doc = NULL;
        XmlDiag diag = {};
        int r;

        if (asprintf(&doc, "<domain type='lxc'><name>%s</name><os><type>exe</type><init>/sbin/init</init></os>"
                     "<devices>%s</devices></domain>", c->name, xml) < 0)
                return -ENOMEM;
        r = domain_def_parse(doc, strlen(doc), "device", &frag, &diag);
        r = bus_report_parse(r, &diag, "device", error);
        xml_diag_done(&diag);
        if (r < 0)
                return r;
        if (frag->n_hostdevs + frag->n_disks + frag->n_interfaces + frag->n_filesystems != 1 || frag->n_consoles > 0)
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                         "Expected exactly one <disk>, <hostdev>, <interface> or <filesystem> element");
        /* a root is what the container was started on: never swapped */
        if (frag->n_filesystems && streq(frag->filesystems[0].target, "/"))
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                         "A root filesystem (target '/') cannot be attached or detached");
        *ret = TAKE_PTR(frag);
        return 0;
}

static bool hostdev_matches(const DomainHostdev *a, const DomainHostdev *b) {
        if (a->type != b->type)
                return false;
        if (a->type == HOSTDEV_USB)
                return a->usb_vendor == b->usb_vendor && a->usb_product == b->usb_product &&
                       a->usb_bus == b->usb_bus && a->usb_device == b->usb_device;
        return streq(a->source, b->source);
}

/* libvirt's matching for detach: a hostdev by its source, a disk by its
 * target, an interface by its MAC, else its target dev, else type and source. */
static ssize_t find_device(const DomainDef *def, const DomainDef *frag) {
        switch (fragment_kind(frag)) {
        case DEVICE_HOSTDEV:
                for (size_t i = 0; i < def->n_hostdevs; i++)
                        if (hostdev_matches(&def->hostdevs[i], &frag->hostdevs[0]))
                                return (ssize_t) i;
                break;
        case DEVICE_DISK:
                for (size_t i = 0; i < def->n_disks; i++)
                        if (streq(def->disks[i].target, frag->disks[0].target))
                                return (ssize_t) i;
                break;
        case DEVICE_FILESYSTEM:
                /* libvirt's: a filesystem by its target */
                for (size_t i = 0; i < def->n_filesystems; i++)
                        if (streq(def->filesystems[i].target, frag->filesystems[0].target))
                                return (ssize_t) i;
                break;
        case DEVICE_INTERFACE: {
                const DomainInterface *want = &frag->interfaces[0];
                for (size_t i = 0; i < def->n_interfaces; i++) {
                        const DomainInterface *have = &def->interfaces[i];
                        if (want->has_mac ? have->has_mac && memcmp(have->mac, want->mac, MAC_ADDR_LEN) == 0 :
                            want->target_dev ? streq_ptr(have->target_dev, want->target_dev) :
                            have->type == want->type && streq_ptr(have->source, want->source))
                                return (ssize_t) i;
                }
                break;
        }
        }
        return -1;
}

/* base with frag's device added (drop < 0) or with its device number drop
 * of frag's kind removed, through the text form: the parser checks the
 * result as it checks a definition (names and nodes used twice, ...). */
static int def_rebuild(const DomainDef *base, const DomainDef *frag, ssize_t drop, DomainDef **ret,
                       sd_bus_error *error) {
        DeviceKind kind = fragment_kind(frag);
        _cleanup_free_ DomainHostdev *hostdevs = NULL;
        _cleanup_free_ DomainDisk *disks = NULL;
        _cleanup_free_ DomainInterface *interfaces = NULL;
        _cleanup_free_ DomainFilesystem *filesystems = NULL;
        _cleanup_free_ char *xml = NULL;
        DomainDef tmp = *base;
        XmlDiag diag = {};
        int r;

        /* shallow copies: tmp only lives to be formatted */
#define REBUILD(array, n, type, k)                                                              \
        do {                                                                                    \
                array = calloc(base->n + frag->n + 1, sizeof(type));                            \
                if (!array)                                                                     \
                        return -ENOMEM;                                                         \
                tmp.n = 0;                                                                      \
                for (size_t i = 0; i < base->n; i++)                                            \
                        if (!(kind == (k) && drop == (ssize_t) i))                              \
                                array[tmp.n++] = base->array[i];                                \
                if (kind == (k) && drop < 0)                                                    \
                        array[tmp.n++] = frag->array[0];                                        \
                tmp.array = array;                                                              \
        } while (0)
        REBUILD(hostdevs, n_hostdevs, DomainHostdev, DEVICE_HOSTDEV);
        REBUILD(disks, n_disks, DomainDisk, DEVICE_DISK);
        REBUILD(interfaces, n_interfaces, DomainInterface, DEVICE_INTERFACE);
        REBUILD(filesystems, n_filesystems, DomainFilesystem, DEVICE_FILESYSTEM);
#undef REBUILD

        xml = domain_def_format(&tmp, 0);
        if (!xml)
                return -ENOMEM;
        r = domain_def_parse_trusted(xml, strlen(xml), base->name, ret, &diag);
        if (r < 0)
                r = sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG, "The device does not fit container '%s': %s",
                                      base->name, diag.error ? diag.error : strerror(-r));
        xml_diag_done(&diag);
        return r;
}

/* Addresses of a lent link are not copied: a live attach refuses them
 * (refuse_live_kind()). */
static int hostdev_copy(const DomainHostdev *from, DomainHostdev *to) {
        *to = *from;
        to->source = NULL;
        to->ips = NULL;
        to->routes = NULL;
        to->n_ips = to->n_routes = 0;
        if (from->source && !(to->source = strdup(from->source)))
                return -ENOMEM;
        return 0;
}

static int disk_copy(const DomainDisk *from, DomainDisk *to) {
        *to = *from;
        to->source = strdup(from->source);
        to->target = strdup(from->target);
        if (!to->source || !to->target) {
                free(to->source);
                free(to->target);
                return -ENOMEM;
        }
        return 0;
}

static int filesystem_copy(const DomainFilesystem *from, DomainFilesystem *to) {
        *to = *from;
        to->source = from->source ? strdup(from->source) : NULL;
        to->target = strdup(from->target);
        if ((from->source && !to->source) || !to->target) {
                free(to->source);
                free(to->target);
                return -ENOMEM;
        }
        return 0;
}

/* frag's device appended to the live model in place (its runtime facts,
 * such as a disk image's loop device, stay). */
static int live_append(DomainDef *live, const DomainDef *frag) {
        if (frag->n_filesystems) {
                DomainFilesystem *a = realloc(live->filesystems, (live->n_filesystems + 1) * sizeof(*a));
                if (!a)
                        return -ENOMEM;
                live->filesystems = a;
                if (filesystem_copy(&frag->filesystems[0], &a[live->n_filesystems]) < 0)
                        return -ENOMEM;
                live->n_filesystems++;
        } else if (frag->n_hostdevs) {
                DomainHostdev *a = realloc(live->hostdevs, (live->n_hostdevs + 1) * sizeof(*a));
                if (!a)
                        return -ENOMEM;
                live->hostdevs = a;
                if (hostdev_copy(&frag->hostdevs[0], &a[live->n_hostdevs]) < 0)
                        return -ENOMEM;
                live->n_hostdevs++;
        } else {
                DomainDisk *a = realloc(live->disks, (live->n_disks + 1) * sizeof(*a));
                if (!a)
                        return -ENOMEM;
                live->disks = a;
                if (disk_copy(&frag->disks[0], &a[live->n_disks]) < 0)
                        return -ENOMEM;
                live->n_disks++;
        }
        return 0;
}

static void live_remove(DomainDef *live, DeviceKind kind, size_t i) {
        if (kind == DEVICE_FILESYSTEM) {
                free(live->filesystems[i].source);
                free(live->filesystems[i].target);
                memmove(&live->filesystems[i], &live->filesystems[i + 1],
                        (live->n_filesystems - i - 1) * sizeof(DomainFilesystem));
                live->n_filesystems--;
        } else if (kind == DEVICE_HOSTDEV) {
                domain_hostdev_done(&live->hostdevs[i]);
                memmove(&live->hostdevs[i], &live->hostdevs[i + 1], (live->n_hostdevs - i - 1) * sizeof(DomainHostdev));
                live->n_hostdevs--;
        } else {
                free(live->disks[i].source);
                free(live->disks[i].target);
                memmove(&live->disks[i], &live->disks[i + 1], (live->n_disks - i - 1) * sizeof(DomainDisk));
                live->n_disks--;
        }
}

static bool is_link(const DomainDef *frag) {
        return frag->n_hostdevs && frag->hostdevs[0].type == HOSTDEV_NET;
}


static int attach_live(Container *c, DomainDef *frag, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *check = NULL;
        _cleanup_free_ char *msg = NULL;
        /* an image's loop device, ours until the helper holds it too */
        _cleanup_close_ int image = -EBADF;
        DeviceNode *nodes = NULL;
        size_t n = 0;
        int r;

        if (frag->n_hostdevs && (frag->hostdevs[0].n_ips > 0 || frag->hostdevs[0].n_routes > 0))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Live attach of a host interface with <ip> or <route> is not supported yet: use --config");
        r = def_rebuild(c->live, frag, -1, &check, error);
        if (r < 0)
                return r;
        if (frag->n_interfaces)
                return iface_attach_live(c, frag, error);
        if (frag->n_filesystems) {
                const DomainFilesystem *fs = &frag->filesystems[0];

                /* bind: resolved in the container's root at start; nbd:
                 * qemu-nbd is started with the container, in its scope */
                if (fs->type == FILESYSTEM_BIND || (fs->type == FILESYSTEM_FILE && fs->driver != FILESYSTEM_DRIVER_LOOP))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                                 "Live attach of a <filesystem type='%s'>%s is not supported: use --config",
                                                 filesystem_type_to_string(fs->type),
                                                 fs->type == FILESYSTEM_FILE ? " with <driver type='nbd'>" : "");
                bool has_image = fs->type == FILESYSTEM_FILE || fs->type == FILESYSTEM_BLOCK;

                /* an image's devices allowed first (scope.c): the helper
                 * opens them from inside the scope */
                r = live_append(c->live, frag);
                if (r >= 0 && has_image)
                        r = scope_set_device_policy(c, c->live, error);
                if (r >= 0 && fs->type == FILESYSTEM_MOUNT)
                        /* the first method: a helper started before the typed one existed has it */
                        r = helper_call_devices(c, "AttachFilesystem", error, "ssb", fs->source, fs->target,
                                                (int) fs->readonly);
                else if (r >= 0)
                        r = helper_call_devices(c, "AttachFilesystemOfType", error, "sssbt",
                                                filesystem_type_to_string(fs->type), strempty(fs->source), fs->target,
                                                (int) fs->readonly, fs->ram_usage_kib);
                if (r < 0) {
                        ssize_t i = find_device(c->live, frag);
                        if (i >= 0)
                                live_remove(c->live, DEVICE_FILESYSTEM, (size_t) i);
                        if (has_image)
                                (void) scope_set_device_policy(c, c->live, NULL);
                }
                return r;
        }

        if (is_link(frag)) {
                r = hostdev_net_check(frag, &msg);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", msg);
                r = helper_call_devices(c, "LendLink", error, "s", frag->hostdevs[0].source);
                if (r < 0)
                        return r;
                return live_append(c->live, frag);
        }

        if (frag->n_disks && frag->disks[0].type == DISK_FILE) {
                DomainDisk *disk = &frag->disks[0];
                dev_t rdev;

                image = loop_attach(disk->source, disk->readonly, &rdev);
                if (image < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                                 "Failed to attach disk image '%s' to a loop device: %s", disk->source,
                                                 image == -ENOENT ? "it does not exist" : strerror(-image));
                disk->loop_rdev = (uint64_t) rdev;
        }
        r = device_nodes_resolve(frag, "/sys", &nodes, &n, &msg);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", msg ? msg : strerror(-r));
        /* the policy first: the helper makes the node from inside the scope */
        r = live_append(c->live, frag);
        if (r >= 0)
                r = scope_set_device_policy(c, c->live, error);
        if (r >= 0)
                r = helper_call_devices(c, nodes[0].image ? "AttachImage" : "AttachNode", error, "sut", nodes[0].path,
                                        (uint32_t) nodes[0].mode, (uint64_t) nodes[0].rdev);
        if (r < 0) {
                ssize_t i = find_device(c->live, frag);
                if (i >= 0)
                        live_remove(c->live, fragment_kind(frag), (size_t) i);
                (void) scope_set_device_policy(c, c->live, NULL);
        }
        device_nodes_free(nodes, n);
        return r;
}

static int detach_live(Container *c, const DomainDef *frag, sd_bus_error *error) {
        _cleanup_free_ char *node = NULL;
        DeviceKind kind = fragment_kind(frag);
        ssize_t i;
        int r;

        i = find_device(c->live, frag);
        if (i < 0)
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG, "Container '%s' has no such device running",
                                         c->name);
        if (kind == DEVICE_INTERFACE)
                return iface_detach_live(c, (size_t) i, error);
        if (kind == DEVICE_FILESYSTEM) {
                const DomainFilesystem *fs = &c->live->filesystems[i];

                if (fs->type == FILESYSTEM_FILE && fs->driver == FILESYSTEM_DRIVER_NBD)
                        /* its qemu-nbd and nbd device are held by the helper until init ends */
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                              "Live detach of a <filesystem type='file'> with <driver type='nbd'> is not supported: use --config");
                else
                        /* a loop device goes with the last mount of its
                         * filesystem (autoclear, helper-image.c) */
                        r = helper_call_devices(c, "DetachFilesystem", error, "s", fs->target);
                if (r < 0)
                        return r;
                bool image = fs->type == FILESYSTEM_FILE || fs->type == FILESYSTEM_BLOCK;
                live_remove(c->live, kind, (size_t) i);
                /* narrowed once it is unmounted; a process of the container
                 * that still has a file open on it keeps the filesystem, and
                 * so the device, in use without opening it again */
                return image ? scope_set_device_policy(c, c->live, error) : 0;
        }
        if (is_link(frag))
                r = helper_call_devices(c, "ReturnLink", error, "s", frag->hostdevs[0].source);
        else {
                /* the node's path, as the start or the attach made it */
                DeviceNode *nodes = NULL;
                size_t n = 0;

                if (kind == DEVICE_DISK)
                        r = asprintf(&node, "/dev/%s", c->live->disks[i].target) < 0 ? -ENOMEM : 0;
                else if (c->live->hostdevs[i].type == HOSTDEV_USB) {
                        /* its node's path is the host's, found again */
                        r = device_nodes_resolve(frag, "/sys", &nodes, &n, NULL);
                        if (r >= 0 && n == 1)
                                node = TAKE_PTR(nodes[0].path);
                        device_nodes_free(nodes, n);
                        if (!node)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                                         "The USB device is gone from the host: cannot name its node");
                } else
                        r = (node = strdup(c->live->hostdevs[i].source)) ? 0 : -ENOMEM;
                if (r >= 0)
                        r = helper_call_devices(c, "DetachNode", error, "s", node);
        }
        if (r < 0)
                return r;
        live_remove(c->live, kind, (size_t) i);
        /* narrowed once the node is gone */
        if (!is_link(frag))
                return scope_set_device_policy(c, c->live, error);
        return 0;
}

static int change_config(Container *c, const DomainDef *frag, bool attach, sd_bus_error *error) {
        DomainDef *def = NULL;
        ssize_t i = -1;
        int r;

        if (!attach) {
                i = find_device(c->def, frag);
                if (i < 0)
                        return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                                 "The definition of container '%s' has no such device", c->name);
        }
        r = def_rebuild(c->def, frag, i, &def, error);
        if (r < 0)
                return r;
        r = store_save(c->manager, def);
        if (r < 0) {
                domain_def_free(def);
                return sd_bus_error_set_errnof(error, r, "Failed to save the definition of container '%s': %m", c->name);
        }
        domain_def_free(c->def);
        c->def = def;
        return 0;
}

static int method_device(sd_bus_message *msg, Container *c, bool attach, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *frag = NULL;
        const char *xml;
        bool live, config;
        int r;

        r = sd_bus_message_read(msg, "s", &xml);
        if (r < 0)
                return r;
        r = read_affect_authorized(c, msg, &live, &config, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = parse_device(c, xml, &frag, error);
        if (r < 0)
                return r;
        /* live and config get the same MAC, as libvirt generates it once */
        if (attach && (r = domain_def_fill_macs(frag)) < 0)
                return r;
        /* config checked before anything changes live */
        if (config && !attach && find_device(c->def, frag) < 0)
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                         "The definition of container '%s' has no such device", c->name);

        if (live) {
                r = attach ? attach_live(c, frag, error) : detach_live(c, frag, error);
                if (r < 0)
                        return r;
                r = container_write_live_xml(c, c->helper_pid);
                if (r < 0)
                        fprintf(stderr, "Failed to update the live XML of container '%s', ignoring: %s\n", c->name,
                                strerror(-r));
                fprintf(stderr, "Container '%s': device %s.\n", c->name, attach ? "attached" : "detached");
        }
        if (config) {
                r = change_config(c, frag, attach, error);
                if (r < 0)
                        return r;
        }
        return sd_bus_reply_method_return(msg, NULL);
}

int container_method_attach_device(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_device(msg, userdata, true, error);
}

int container_method_detach_device(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_device(msg, userdata, false, error);
}
