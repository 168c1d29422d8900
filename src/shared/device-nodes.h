/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The device nodes a definition hands to its container (<hostdev> storage,
 * misc and usb, <disk type='block'>), resolved against the host: which node
 * each is (type, major:minor, mode), and where it appears in the container.
 * vivariumd resolves them to refuse a start whose devices are missing and
 * to allow exactly these in the scope's device policy; the helper resolves
 * them again to make the nodes. Never logs: a failure comes with a message
 * for the user that names the device. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "domain.h"

typedef struct DeviceNode {
        char *path;            /* in the container: "/dev/..." */
        char *host_path;       /* the host's node it copies */
        mode_t mode;           /* S_IFBLK or S_IFCHR | the host node's permission bits */
        dev_t rdev;
        bool readonly;         /* <disk><readonly/>: the policy allows reading only */
        bool image;            /* a type='file' disk's loop device: the helper holds it open */
} DeviceNode;

void device_nodes_free(DeviceNode *nodes, size_t n);

/* Every node of def, in the order hostdevs then disks. sysfs_root is where
 * USB devices are looked up ("/sys" but for tests). Returns 0 and an array
 * (NULL when there are none); -ENODEV (missing device or host interface,
 * a host without USB), -ENOTBLK/-EINVAL (a node of the wrong kind), -ENOMEM,
 * each with *ret_error. A type='file' disk is the loop device of its
 * loop_rdev (loop-device.h); -ENXIO when it has none (not attached). */
int device_nodes_resolve(const DomainDef *def, const char *sysfs_root, DeviceNode **ret, size_t *ret_n,
                         char **ret_error);

/* The host links of <hostdev type='net'> exist in the caller's network
 * namespace: 0, or -ENODEV with *ret_error naming the first missing one. */
int hostdev_net_check(const DomainDef *def, char **ret_error);

/* "/dev/block/M:m" or "/dev/char/M:m": how systemd's DeviceAllow= names a
 * node without the path having to exist where systemd runs. */
int device_node_policy_path(const DeviceNode *node, char **ret);
