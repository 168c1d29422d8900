/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The host devices of a container, the manager's side (the helper makes
 * the nodes and moves the links, helper-hostdev.c): refuse a start whose
 * devices are missing before anything exists, allow exactly its nodes in
 * the scope's device policy, and take lent host links back when the helper
 * could not (killed, or gone while vivariumd was down). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "device-nodes.h"
#include "hostdev-net.h"
#include "loop-device.h"
#include "macros.h"
#include "manager.h"

void devices_release_images(Container *c) {
        for (size_t i = 0; i < c->n_image_fds; i++)
                safe_close(c->image_fds[i]);
        c->image_fds = mfree(c->image_fds);
        c->n_image_fds = 0;
}

/* Each type='file' disk on a loop device of its own, held until the helper
 * holds it (devices_release_images() at READY, or when the start fails). */
static int attach_images(Container *c, DomainDef *live, char **ret_msg) {
        ARRAY_FOREACH(disk, live->disks, live->n_disks) {
                dev_t rdev;
                int fd, *a;

                if (disk->type != DISK_FILE)
                        continue;
                fd = loop_attach(disk->source, disk->readonly, &rdev);
                if (fd < 0) {
                        (void) asprintf(ret_msg, "Failed to attach disk image '%s' to a loop device: %s", disk->source,
                                        fd == -ENOENT ? "it does not exist" :
                                        fd == -ENODEV ? "this host has no loop device support (no loop-control)" :
                                        strerror(-fd));
                        return fd;
                }
                a = realloc(c->image_fds, (c->n_image_fds + 1) * sizeof(int));
                if (!a) {
                        safe_close(fd);
                        return -ENOMEM;
                }
                c->image_fds = a;
                c->image_fds[c->n_image_fds++] = fd;
                disk->loop_rdev = (uint64_t) rdev;
        }
        return 0;
}

int devices_prepare(Container *c, DomainDef *live, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        DeviceNode *nodes = NULL;
        size_t n = 0;
        int r;

        r = blkio_check_devices(live, &msg);
        if (r >= 0)
                r = attach_images(c, live, &msg);
        if (r >= 0)
                r = device_nodes_resolve(live, "/sys", &nodes, &n, &msg);
        if (r >= 0) {
                device_nodes_free(nodes, n);
                r = hostdev_net_check(live, &msg);
        }
        if (r < 0) {
                devices_release_images(c);
                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED, "Failed to start container '%s': %s", c->name,
                                         msg ? msg : strerror(-r));
        }
        return 0;
}

int devices_append_policy(sd_bus_message *msg, const DomainDef *def) {
        _cleanup_free_ char *error = NULL;
        DeviceNode *nodes = NULL;
        size_t n = 0;
        int r;

        /* resolved again: the nodes are what they are now, when the scope is
         * made. "m": the helper makes the nodes from inside the scope. */
        r = device_nodes_resolve(def, "/sys", &nodes, &n, &error);
        if (r < 0) {
                fprintf(stderr, "%s\n", error ? error : strerror(-r));
                return r;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *path = NULL;

                r = device_node_policy_path(&nodes[i], &path);
                if (r >= 0)
                        r = sd_bus_message_append(msg, "(ss)", path, nodes[i].readonly ? "rm" : "rwm");
        }
        device_nodes_free(nodes, n);
        return r;
}

void devices_adopt(Container *c) {
        /* the live XML does not keep an image's loop device: found again */
        ARRAY_FOREACH(disk, c->live ? c->live->disks : NULL, c->live ? c->live->n_disks : 0) {
                dev_t rdev;
                int r;

                if (disk->type != DISK_FILE || disk->loop_rdev != 0)
                        continue;
                r = loop_find_by_backing(disk->source, &rdev);
                if (r < 0)
                        fprintf(stderr, "Failed to find the loop device of disk image '%s' of container '%s', ignoring: %s\n",
                                disk->source, c->name, strerror(-r));
                else
                        disk->loop_rdev = (uint64_t) rdev;
        }
}

void devices_reclaim(Container *c, const DomainDef *def) {
        _cleanup_free_ char *pin = NULL;
        int r;

        if (!def || asprintf(&pin, "%s/%s.netns", c->manager->run_dir, c->name) < 0)
                return;
        r = hostdev_net_reclaim(def, pin);
        if (r < 0)
                fprintf(stderr, "Failed to give the host interfaces of container '%s' back, ignoring: %s\n", c->name,
                        strerror(-r));
        else if (r > 0)
                fprintf(stderr, "Gave %d host interface(s) of container '%s' back to the host.\n", r, c->name);
}
