/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* <hostdev mode='capabilities' type='net'>: a host link lent to the
 * container. It is moved into the container's network namespace before init
 * runs, and must come back when the container ends: a namespace that dies
 * deletes virtual links (veth, macvlan) and hands physical ones to the
 * kernel's first namespace, not to the host that lent them (a test host, a
 * nested container). So the helper pins the namespace with a bind mount
 * (NAME.netns in the run directory) for as long as it holds lent links;
 * whoever sees the container end (the helper, or vivariumd when the helper
 * was killed) moves them back through the pin and removes it. Never logs. */

#include <sys/types.h>

#include "domain.h"

/* Moves every type='net' host link of def from the caller's namespace into
 * netns_fd's and brings it up there with its <ip> and <route>. On failure
 * the ones already moved go back; -ENODEV or -EEXIST (the name is taken
 * inside) with *ret_error naming the link. */
int hostdev_net_move_in(const DomainDef *def, int netns_fd, char **ret_error);

/* Moves them from netns_fd's namespace back into the caller's. A link not
 * there (never moved in, already back) is skipped. Tries every link; returns
 * how many came back, or the first error. */
int hostdev_net_return(const DomainDef *def, int netns_fd);

/* Bind-mounts /proc/PID/ns/net on path (created). */
int hostdev_net_pin(const char *path, pid_t pid);

/* The pin at path, if any: moves the links back through it, unmounts and
 * removes it. Returns how many links came back, 0 without a pin, or -errno. */
int hostdev_net_reclaim(const DomainDef *def, const char *path);

/* Whether def lends any host link. */
bool hostdev_net_any(const DomainDef *def);
