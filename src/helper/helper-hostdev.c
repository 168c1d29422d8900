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
#include <sys/stat.h>
#include <unistd.h>

#include "bus-names.h"
#include "device-nodes.h"
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

int hostdev_net_lend(Helper *h, pid_t pid, char **ret_error) {
        _cleanup_close_ int netns_fd = -EBADF;
        char ns[64];
        int r;

        if (!hostdev_net_any(h->def))
                return 0;
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
        r = hostdev_net_move_in(h->def, netns_fd, ret_error);
        if (r < 0)
                return r;
        h->netns_fd = TAKE_FD(netns_fd);
        return 0;
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
