/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "hostdev-net.h"
#include "macros.h"
#include "netlink-util.h"

bool hostdev_net_any(const DomainDef *def) {
        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs)
                if (hd->type == HOSTDEV_NET)
                        return true;
        return false;
}

/* Each type='net' link from sk's namespace into to_fd's; stops at the
 * first failure unless keep_going. Returns how many moved, or -errno. */
static int move_links(const DomainDef *def, struct nl_sock *sk, int to_fd, bool keep_going, size_t *ret_failed) {
        int moved = 0, first_error = 0;

        for (size_t i = 0; i < def->n_hostdevs; i++) {
                const DomainHostdev *hd = &def->hostdevs[i];
                int ifindex, r;

                if (hd->type != HOSTDEV_NET)
                        continue;
                ifindex = netlink_link_get_ifindex(sk, hd->source);
                r = ifindex < 0 ? ifindex : netlink_link_set_netns(sk, ifindex, to_fd);
                if (r >= 0) {
                        moved++;
                        continue;
                }
                if (keep_going && r == -ENODEV)
                        continue;
                if (!first_error) {
                        first_error = r;
                        if (ret_failed)
                                *ret_failed = i;
                }
                if (!keep_going)
                        break;
        }
        return first_error < 0 ? first_error : moved;
}

/* As libvirt does with a lent link: up, with its <ip> and <route>. */
static int configure_links(const DomainDef *def, int netns_fd, char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        int r;

        r = netlink_open_in_netns(netns_fd, &sk);
        if (r < 0)
                return r;
        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs) {
                int ifindex;

                if (hd->type != HOSTDEV_NET)
                        continue;
                ifindex = netlink_link_get_ifindex(sk, hd->source);
                if (ifindex < 0)
                        return ifindex;
                ARRAY_FOREACH(ip, hd->ips, hd->n_ips) {
                        r = netlink_addr_add(sk, ifindex, ip->family, ip->address, ip->prefix, ip->peer);
                        if (r < 0) {
                                (void) asprintf(ret_error, "Failed to add address '%s/%u' to host interface '%s': %s",
                                                ip->address, ip->prefix, hd->source, strerror(-r));
                                return r;
                        }
                }
                r = netlink_link_set_up(sk, ifindex, true);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to bring up host interface '%s' in the container: %s",
                                        hd->source, strerror(-r));
                        return r;
                }
                ARRAY_FOREACH(rt, hd->routes, hd->n_routes) {
                        r = netlink_route_add(sk, ifindex, rt->family, rt->address, rt->prefix, rt->gateway);
                        if (r < 0) {
                                (void) asprintf(ret_error, "Failed to add the route to '%s/%u' via '%s' on host interface '%s': %s",
                                                rt->address ? rt->address : "default", rt->prefix, strna(rt->gateway),
                                                hd->source, strerror(-r));
                                return r;
                        }
                }
        }
        return 0;
}

int hostdev_net_move_in(const DomainDef *def, int netns_fd, char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        size_t failed = 0;
        int r;

        if (!hostdev_net_any(def))
                return 0;
        r = netlink_open(&sk);
        if (r < 0)
                return r;
        r = move_links(def, sk, netns_fd, false, &failed);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to move host interface '%s' into the container: %s",
                                def->hostdevs[failed].source,
                                r == -ENODEV ? "it does not exist" : r == -EEXIST ? "the name is taken inside" : strerror(-r));
                (void) hostdev_net_return(def, netns_fd);
                return r;
        }
        r = configure_links(def, netns_fd, ret_error);
        if (r < 0) {
                if (ret_error && !*ret_error)
                        (void) asprintf(ret_error, "Failed to configure the host interfaces in the container: %s",
                                        strerror(-r));
                (void) hostdev_net_return(def, netns_fd);
                return r;
        }
        return 0;
}

int hostdev_net_return(const DomainDef *def, int netns_fd) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_close_ int self = -EBADF;
        int r;

        if (!hostdev_net_any(def))
                return 0;
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        r = netlink_open_in_netns(netns_fd, &sk);
        if (r < 0)
                return r;
        return move_links(def, sk, self, true, NULL);
}

int hostdev_net_pin(const char *path, pid_t pid) {
        char ns[64];
        int fd;

        snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int) pid);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        safe_close(fd);
        if (mount(ns, path, NULL, MS_BIND, NULL) < 0) {
                int r = -errno;
                (void) unlink(path);
                return r;
        }
        return 0;
}

int hostdev_net_reclaim(const DomainDef *def, const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        int r = 0;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* a file that is not (or no longer) a namespace: only removed */
        if (hostdev_net_any(def))
                r = hostdev_net_return(def, fd);
        fd = safe_close(fd);
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && r >= 0)
                r = -errno;
        if (unlink(path) < 0 && errno != ENOENT && r >= 0)
                r = -errno;
        return r;
}
