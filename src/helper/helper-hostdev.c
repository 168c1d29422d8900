/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* <hostdev> and <disk>: the device nodes the definition hands to the
 * container, and the host links it lends (hostdev-net.h).
 *
 * A node is made by the helper, as host root, on a private tmpfs that
 * belongs to the host's user namespace (a tmpfs made inside the container's
 * user namespace refuses device nodes), owned by the container's root, and
 * bind-mounted into the container's /dev at its path like the standard
 * nodes. What the container can open through it is the scope's device
 * policy's business: it allows these nodes and nothing else (scope.c). */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bus-names.h"
#include "device-nodes.h"
#include "domain-wire.h"
#include "hostdev-net.h"
#include "helper.h"
#include "helper-log.h"

int hostdev_open_nodes(Helper *helper, char **ret_error) {
        static const char *const opts[] = { "mode=0700", "size=64k", NULL };
        HostMounts *h = &helper->host;
        const DomainDef *def = helper->def;
        _cleanup_close_ int scratch = -EBADF;
        DeviceNode *nodes = NULL;
        size_t n = 0;
        int r;

        r = device_nodes_resolve(def, "/sys", &nodes, &n, ret_error);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;

        h->node_fds = calloc(n, sizeof(int));
        h->node_paths = calloc(n + 1, sizeof(char *));
        helper->image_fds = calloc(n, sizeof(int));
        if (!h->node_fds || !h->node_paths || !helper->image_fds) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n; i++)
                h->node_fds[i] = -EBADF;
        h->n_nodes = n;

        /* detached: never visible in any mount namespace but as the clones below */
        r = fs_new_mount("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, &scratch);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to make the device nodes of container '%s': %s", def->name,
                                strerror(-r));
                goto finish;
        }
        for (size_t i = 0; i < n; i++) {
                char name[32];

                snprintf(name, sizeof(name), "%zu", i);
                /* the host node's mode exactly, whatever our umask */
                if (mknodat(scratch, name, nodes[i].mode, nodes[i].rdev) < 0 ||
                    fchmodat(scratch, name, nodes[i].mode & 07777, 0) < 0 ||
                    fchownat(scratch, name, h->root_uid, h->root_gid, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        (void) asprintf(ret_error, "Failed to make device node '%s' for container '%s': %s",
                                        nodes[i].path, def->name, strerror(-r));
                        goto finish;
                }
                /* an image's loop device lives as long as someone has it
                 * open (autoclear): the helper, from now until it exits */
                if (nodes[i].image) {
                        int fd = openat(scratch, name, (nodes[i].readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0) {
                                r = -errno;
                                (void) asprintf(ret_error, "Failed to open the loop device of disk image '%s': %s",
                                                nodes[i].host_path, strerror(-r));
                                goto finish;
                        }
                        helper->image_fds[helper->n_image_fds++] = fd;
                }
                h->node_fds[i] = open_tree(scratch, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (h->node_fds[i] < 0) {
                        r = -errno;
                        (void) asprintf(ret_error, "Failed to clone device node '%s' for container '%s': %s",
                                        nodes[i].path, def->name, strerror(-r));
                        goto finish;
                }
                h->node_paths[i] = TAKE_PTR(nodes[i].path);
        }
        r = 0;
finish:
        device_nodes_free(nodes, n);
        return r;
}

int hostdev_attach_nodes(int root_fd, HostMounts *h, char **ret_error) {
        for (size_t i = 0; i < h->n_nodes; i++) {
                _cleanup_close_ int fd = TAKE_FD(h->node_fds[i]);
                int r = attach_mount(fd, root_fd, h->node_paths[i], true);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to bind device node '%s' into the container: %s",
                                        h->node_paths[i], strerror(-r));
                        return r;
                }
        }
        return 0;
}

void hostdev_close_images(Helper *h) {
        for (size_t i = 0; i < h->n_image_fds; i++)
                safe_close(h->image_fds[i]);
        free(h->image_fds);
        h->image_fds = NULL;
        h->n_image_fds = 0;
}

void hostdev_close_nodes(HostMounts *h) {
        for (size_t i = 0; i < h->n_nodes; i++)
                safe_close(h->node_fds[i]);
        free(h->node_fds);
        strv_free(h->node_paths);
        h->node_fds = NULL;
        h->node_paths = NULL;
        h->n_nodes = 0;
}

/* Opens the container's network namespace and pins it (not in foreground
 * mode: no manager would reclaim through a pin). */
int hostdev_net_lend_begin(Helper *h, pid_t pid, char **ret_error) {
        _cleanup_close_ int netns_fd = -EBADF;
        char ns[64];
        int r;

        snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int) pid);
        netns_fd = open(ns, O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0)
                return -errno;
        /* pinned first: once a link is inside, a helper killed at any
         * moment leaves the manager a way to take it back */
        if (!h->foreground) {
                if (asprintf(&h->netns_pin, "%s/%s.netns", VIV_RUN_CONTAINERS_DIR, h->name) < 0) {
                        h->netns_pin = NULL;
                        return -ENOMEM;
                }
                r = hostdev_net_pin(h->netns_pin, pid);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to pin the network namespace of container '%s' at '%s': %s",
                                        h->name, h->netns_pin, strerror(-r));
                        free(h->netns_pin);
                        h->netns_pin = NULL;
                        return r;
                }
        }
        h->netns_fd = TAKE_FD(netns_fd);
        return 0;
}

int hostdev_net_lend(Helper *h, pid_t pid, char **ret_error) {
        int r;

        if (!hostdev_net_any(h->def))
                return 0;
        r = hostdev_net_lend_begin(h, pid, ret_error);
        if (r < 0)
                return r;
        return hostdev_net_move_in(h->def, h->netns_fd, ret_error);
}

void hostdev_net_take_back(Helper *h) {
        int r;

        if (h->netns_fd >= 0) {
                r = hostdev_net_return(h->def, h->netns_fd);
                if (r < 0)
                        log_warning_errno(r, "Failed to give host interfaces back, ignoring: %m");
                h->netns_fd = safe_close(h->netns_fd);
        }
        if (h->netns_pin) {
                r = hostdev_net_reclaim(h->def, h->netns_pin);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove '%s', ignoring: %m", h->netns_pin);
                free(h->netns_pin);
                h->netns_pin = NULL;
        }
}

/* ---- live attach and detach (vivariumd's AttachDevice/DetachDevice) ---- */

/* The directory of a node path below /dev in the running container, as its
 * init sees it (made when create), resolved inside the container's root,
 * and the node's name in it. */
static int open_node_dir(Helper *h, const char *path, bool create, int *ret_dir, const char **ret_base,
                         sd_bus_error *error) {
        _cleanup_close_ int root = -EBADF;
        _cleanup_free_ char *parent = NULL;
        const char *base;
        char proc[64];
        int r;

        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        base = strrchr(path, '/');  /* not NULL below: the path starts with "/dev/" */
        if (strncmp(path, "/dev/", 5) != 0 || strstr(path, "/../") || !base[1] || streq(base, "/.."))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Not a node path below /dev: '%s'", path);
        base++;
        parent = strndup(path, (size_t) (base - path));
        if (!parent)
                return -ENOMEM;
        snprintf(proc, sizeof(proc), "/proc/%d/root", (int) h->init_pid);
        root = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return sd_bus_error_set_errnof(error, errno, "Failed to open the root of container '%s': %m", h->name);
        r = create ? mkdir_p_in_root(root, parent, 0755) : 0;
        if (r >= 0)
                r = open_in_root(root, parent, O_PATH | O_DIRECTORY);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to open '%s' in container '%s': %m", parent, h->name);
        *ret_dir = r;
        *ret_base = base;
        return 0;
}

/* cgroup v1's devices controller copies a parent's rules into a child when
 * the child is made, and never the rules the parent gains later: our leaves
 * learn the new node themselves once the scope has it (EPERM until then). */
int leaves_allow_rule(Helper *h, const char *rule) {
        uint64_t waited = 0;
        int r;

        while ((r = cgroup_leaves_allow_device(&h->cgroups, rule)) == -EPERM && waited < POLICY_WAIT_USEC) {
                usleep(POLICY_POLL_USEC);
                waited += POLICY_POLL_USEC;
        }
        return r;
}

static int leaves_allow_device(Helper *h, mode_t mode, dev_t rdev) {
        char rule[64];

        snprintf(rule, sizeof(rule), "%c %u:%u rwm", S_ISBLK(mode) ? 'b' : 'c', major(rdev), minor(rdev));
        return leaves_allow_rule(h, rule);
}

/* The loop device of node base in dir, opened and kept in h->image_fds. */
static int hold_image(Helper *h, int dir, const char *base, bool writable) {
        int fd, *a;

        a = realloc(h->image_fds, (h->n_image_fds + 1) * sizeof(int));
        if (!a)
                return -ENOMEM;
        h->image_fds = a;
        fd = openat(dir, base, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        h->image_fds[h->n_image_fds++] = fd;
        return 0;
}

/* Closes our hold of the loop device rdev, if we hold it: a detached image
 * disk's device goes once nobody has it open. */
static void release_image(Helper *h, dev_t rdev) {
        for (size_t i = 0; i < h->n_image_fds; i++) {
                struct stat st;

                if (fstat(h->image_fds[i], &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != rdev)
                        continue;
                safe_close(h->image_fds[i]);
                memmove(&h->image_fds[i], &h->image_fds[i + 1], (h->n_image_fds - i - 1) * sizeof(int));
                h->n_image_fds--;
                return;
        }
}

/* mknod in the container's /dev. It is the tmpfs the child mounted as the
 * host's root (helper-dev.c), so it takes device nodes even when the
 * container has a user namespace; the path resolves inside the container's
 * root, never out of it. The scope's device policy allows the node before
 * vivariumd asks for it. */
static int attach_node(sd_bus_message *m, Helper *h, bool image, sd_bus_error *error) {
        _cleanup_close_ int dir = -EBADF;
        const char *path, *base;
        uint32_t mode;
        uint64_t rdev;
        int r;

        r = sd_bus_message_read(m, "sut", &path, &mode, &rdev);
        if (r < 0)
                return r;
        if (image && !S_ISBLK(mode))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Mode 0%o of image '%s' is not a block device's",
                                         mode, path);
        if (!S_ISBLK(mode) && !S_ISCHR(mode))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Mode 0%o of '%s' is not a device's", mode, path);
        r = open_node_dir(h, path, true, &dir, &base, error);
        if (r < 0)
                return r;
        r = leaves_allow_device(h, (mode_t) mode, (dev_t) rdev);
        /* on cgroup2 the scope's new BPF program comes as late */
        for (uint64_t waited = 0; r >= 0; waited += POLICY_POLL_USEC) {
                if (mknodat(dir, base, (mode_t) mode, (dev_t) rdev) >= 0)
                        break;
                r = -errno;
                if (r != -EPERM || waited >= POLICY_WAIT_USEC)
                        break;
                r = 0;
                usleep(POLICY_POLL_USEC);
        }
        if (r >= 0 && (fchmodat(dir, base, (mode_t) mode & 07777, 0) < 0 ||
                       fchownat(dir, base, h->root_uid, h->root_gid, AT_SYMLINK_NOFOLLOW) < 0))
                r = -errno;
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to make device node '%s' in container '%s': %m", path,
                                               h->name);
        if (image) {
                r = hold_image(h, dir, base, (mode & 0222) != 0);
                if (r < 0) {
                        (void) unlinkat(dir, base, 0);
                        return sd_bus_error_set_errnof(error, -r, "Failed to open the loop device of '%s' in container '%s': %m",
                                                       path, h->name);
                }
        }
        log_debug("Device node %s attached.", path);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_attach_node(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return attach_node(m, userdata, false, error);
}

/* AttachNode of an image disk's loop device, which the helper then holds
 * open as it holds those of the start: autoclear releases the device once
 * vivariumd's fd and ours are closed (detach, or whatever way we end). */
static int method_attach_image(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return attach_node(m, userdata, true, error);
}

static int method_detach_node(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        _cleanup_close_ int dir = -EBADF;
        const char *path, *base;
        struct stat st;
        int r;

        r = sd_bus_message_read(m, "s", &path);
        if (r < 0)
                return r;
        r = open_node_dir(h, path, false, &dir, &base, error);
        if (r < 0)
                return r;
        /* a node made at start is a bind mount: detached, then its file removed */
        if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                _cleanup_close_ int node = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                char proc[64];

                if (node >= 0) {
                        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", node);
                        (void) umount2(proc, MNT_DETACH);
                }
                r = RET_NERRNO(unlinkat(dir, base, 0));
                if (r >= 0 && S_ISBLK(st.st_mode))
                        release_image(h, st.st_rdev);
        } else
                r = -errno;
        if (r < 0 && r != -ENOENT)
                return sd_bus_error_set_errnof(error, -r, "Failed to remove device node '%s' from container '%s': %m",
                                               path, h->name);
        return sd_bus_reply_method_return(m, NULL);
}

/* h->def learns the lent link, so that every way out gives it back. */
static int method_lend_link(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        Helper *h = userdata;
        DomainHostdev *hd, *a;
        DomainDef one = {};
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        if (!domain_def_has_privnet(h->def))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Container '%s' shares the host's network namespace: no link can be lent to it",
                                         h->name);
        a = realloc(h->def->hostdevs, (h->def->n_hostdevs + 1) * sizeof(DomainHostdev));
        if (!a)
                return -ENOMEM;
        h->def->hostdevs = a;
        hd = &a[h->def->n_hostdevs];
        *hd = (DomainHostdev) { .type = HOSTDEV_NET, .source = strdup(name) };
        if (!hd->source)
                return -ENOMEM;
        if (h->netns_fd < 0) {
                r = hostdev_net_lend_begin(h, h->init_pid, &msg);
                if (r < 0) {
                        free(hd->source);
                        return sd_bus_error_setf(error, VIV_ERROR_START_FAILED, "%s", msg ? msg : strerror(-r));
                }
        }
        one.hostdevs = hd;
        one.n_hostdevs = 1;
        r = hostdev_net_move_in(&one, h->netns_fd, &msg);
        if (r < 0) {
                free(hd->source);
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", msg ? msg : strerror(-r));
        }
        h->def->n_hostdevs++;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_return_link(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        DomainDef one = {};
        const char *name;
        size_t i;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        for (i = 0; i < h->def->n_hostdevs; i++)
                if (h->def->hostdevs[i].type == HOSTDEV_NET && streq(h->def->hostdevs[i].source, name))
                        break;
        if (i == h->def->n_hostdevs || h->netns_fd < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Host interface '%s' is not lent to container '%s'",
                                         name, h->name);
        one.hostdevs = &h->def->hostdevs[i];
        one.n_hostdevs = 1;
        r = hostdev_net_return(&one, h->netns_fd);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to give host interface '%s' back: %m", name);
        if (r == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "Host interface '%s' is no longer in container '%s' (renamed inside?)", name, h->name);
        domain_hostdev_done(&h->def->hostdevs[i]);
        memmove(&h->def->hostdevs[i], &h->def->hostdevs[i + 1], (h->def->n_hostdevs - i - 1) * sizeof(DomainHostdev));
        h->def->n_hostdevs--;
        return sd_bus_reply_method_return(m, NULL);
}

/* One <interface>, as the model's wire form of a domain with only it
 * (domain-wire.h) and its bridge, made in the running container. */
static int method_attach_interface(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *frag = NULL;
        _cleanup_free_ char *msg = NULL;
        char **bridges = NULL;
        Helper *h = userdata;
        const void *data;
        size_t size;
        int r;

        r = sd_bus_message_read_array(m, 'y', &data, &size);
        if (r < 0)
                return r;
        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        /* h->network: interfaces it had, all detached since */
        if (!domain_def_has_privnet(h->def) && !h->network)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Container '%s' shares the host's network namespace: no interface can be attached to it",
                                         h->name);
        r = domain_def_from_wire(data, size, &frag, &bridges);
        if (r < 0 || frag->n_interfaces != 1) {
                domain_wire_bridges_free(bridges, frag ? frag->n_interfaces : 0);
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Malformed interface model");
        }
        r = network_attach(&h->network, h->def, &frag->interfaces[0], bridges ? bridges[0] : NULL, h->init_pid,
                           h->foreground, &msg);
        domain_wire_bridges_free(bridges, frag->n_interfaces);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", msg ? msg : strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

/* The MAC of a method's argument TEXT, for a container that still runs. */
static int running_interface_mac(Helper *h, const char *text, uint8_t ret[MAC_ADDR_LEN], sd_bus_error *error) {
        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        if (mac_parse_string(text, ret) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Malformed MAC address '%s'", text);
        return 0;
}

static int method_detach_interface(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        Helper *h = userdata;
        uint8_t mac[MAC_ADDR_LEN];
        const char *text;
        int r;

        r = sd_bus_message_read(m, "s", &text);
        if (r < 0)
                return r;
        r = running_interface_mac(h, text, mac, error);
        if (r < 0)
                return r;
        r = network_detach(h->network, h->def, mac, h->init_pid, h->foreground, &msg);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", msg ? msg : strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

/* The addresses the managed network keeps for the interface of MAC changed
 * (vivariumd's net-update of a <host>): its filter allows the new ones,
 * and no longer the old ones. */
static int method_set_lease_addresses(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        Helper *h = userdata;
        uint8_t mac[MAC_ADDR_LEN];
        const char *text, *address, *address6;
        int r;

        r = sd_bus_message_read(m, "sss", &text, &address, &address6);
        if (r < 0)
                return r;
        r = running_interface_mac(h, text, mac, error);
        if (r < 0)
                return r;
        r = network_set_leases(h->network, h->def, mac, address, address6, &msg);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", msg ? msg : strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

const sd_bus_vtable hostdev_control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("AttachNode", SD_BUS_ARGS("s", path, "u", mode, "t", rdev), SD_BUS_NO_RESULT,
                                method_attach_node, 0),
        SD_BUS_METHOD_WITH_ARGS("AttachImage", SD_BUS_ARGS("s", path, "u", mode, "t", rdev), SD_BUS_NO_RESULT,
                                method_attach_image, 0),
        SD_BUS_METHOD_WITH_ARGS("DetachNode", SD_BUS_ARGS("s", path), SD_BUS_NO_RESULT, method_detach_node, 0),
        SD_BUS_METHOD_WITH_ARGS("AttachInterface", SD_BUS_ARGS("ay", model), SD_BUS_NO_RESULT,
                                method_attach_interface, 0),
        SD_BUS_METHOD_WITH_ARGS("DetachInterface", SD_BUS_ARGS("s", mac), SD_BUS_NO_RESULT,
                                method_detach_interface, 0),
        SD_BUS_METHOD_WITH_ARGS("SetLeaseAddresses", SD_BUS_ARGS("s", mac, "s", address, "s", address6),
                                SD_BUS_NO_RESULT, method_set_lease_addresses, 0),
        SD_BUS_METHOD_WITH_ARGS("LendLink", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_lend_link, 0),
        SD_BUS_METHOD_WITH_ARGS("ReturnLink", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_return_link, 0),
        SD_BUS_VTABLE_END,
};
