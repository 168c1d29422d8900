/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnetlink through libnl-route-3: see netlink-util.h. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>

#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "netlink-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put);
#define _cleanup_link_ _cleanup_(rtnl_link_putp)
#define _cleanup_nl_addr_ _cleanup_(nl_addr_putp)

int netlink_error_to_errno(int nle) {
        static const int map[] = {
                [NLE_SUCCESS] = 0,
                [NLE_INTR] = EINTR,
                [NLE_BAD_SOCK] = EBADF,
                [NLE_AGAIN] = EAGAIN,
                [NLE_NOMEM] = ENOMEM,
                [NLE_EXIST] = EEXIST,
                [NLE_INVAL] = EINVAL,
                [NLE_RANGE] = ERANGE,
                [NLE_MSGSIZE] = EMSGSIZE,
                [NLE_OPNOTSUPP] = EOPNOTSUPP,
                [NLE_AF_NOSUPPORT] = EAFNOSUPPORT,
                [NLE_OBJ_NOTFOUND] = ENOENT,
                [NLE_NOADDR] = EADDRNOTAVAIL,
                [NLE_BUSY] = EBUSY,
                [NLE_NOACCESS] = EACCES,
                [NLE_PERM] = EPERM,
                [NLE_NODEV] = ENODEV,
        };
        int e = nle < 0 ? -nle : nle;

        if (e == 0)
                return 0;
        if ((size_t) e < ELEMENTSOF(map) && map[e] != 0)
                return -map[e];
        return -EIO;
}

#define NL_ERR(x) netlink_error_to_errno(x)

/* libnl folds the kernel's errno into its own few codes (ENETUNREACH becomes
 * "Failure"); for the messages users read, requests keep the kernel's. */
static int on_nl_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg) {
        *(int *) arg = e->error;
        return NL_STOP;
}

#define NL_REQUEST(sk, expr)                                                              \
        ({                                                                                \
                int _kerr_ = 0, _nr_;                                                     \
                (void) nl_socket_modify_err_cb((sk), NL_CB_CUSTOM, on_nl_error, &_kerr_);  \
                _nr_ = (expr);                                                            \
                (void) nl_socket_modify_err_cb((sk), NL_CB_DEFAULT, NULL, NULL);          \
                _nr_ >= 0 ? 0 : _kerr_ < 0 ? _kerr_ : NL_ERR(_nr_);                       \
        })

int netlink_open(struct nl_sock **ret) {
        _cleanup_nl_sock_ struct nl_sock *sk = nl_socket_alloc();
        int r;

        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return NL_ERR(r);
        /* nl_connect() opens without O_CLOEXEC */
        (void) fcntl(nl_socket_get_fd(sk), F_SETFD, FD_CLOEXEC);
        *ret = TAKE_PTR(sk);
        return 0;
}

int netlink_open_in_netns(int netns_fd, struct nl_sock **ret) {
        _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        int r;

        if (self < 0)
                return -errno;
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;
        r = netlink_open(ret);
        /* A process left in the container's network namespace would act
         * there from now on, unnoticed: going back must not fail quietly. */
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        return r;
}

static int link_get(struct nl_sock *sk, int ifindex, const char *name, struct rtnl_link **ret) {
        int r = rtnl_link_get_kernel(sk, ifindex, name, ret);
        if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
                return -ENODEV;
        return r < 0 ? NL_ERR(r) : 0;
}

int netlink_link_get_ifindex(struct nl_sock *sk, const char *name) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r = link_get(sk, 0, name, &link);
        if (r < 0)
                return r;
        return rtnl_link_get_ifindex(link);
}

int netlink_link_is_bridge(struct nl_sock *sk, const char *name) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r = link_get(sk, 0, name, &link);
        if (r < 0)
                return r;
        return streq_ptr(rtnl_link_get_type(link), "bridge");
}

static int link_change(struct nl_sock *sk, int ifindex, struct rtnl_link *changes) {
        _cleanup_link_ struct rtnl_link *orig = NULL;
        int r = link_get(sk, ifindex, NULL, &orig);
        if (r < 0)
                return r;
        return NL_REQUEST(sk, rtnl_link_change(sk, orig, changes, 0));
}

int netlink_link_set_up(struct nl_sock *sk, int ifindex, bool up) {
        _cleanup_link_ struct rtnl_link *changes = rtnl_link_alloc();
        if (!changes)
                return -ENOMEM;
        if (up)
                rtnl_link_set_flags(changes, IFF_UP);
        else
                rtnl_link_unset_flags(changes, IFF_UP);
        return link_change(sk, ifindex, changes);
}

int netlink_link_set_netns(struct nl_sock *sk, int ifindex, int netns_fd) {
        _cleanup_link_ struct rtnl_link *changes = rtnl_link_alloc();
        if (!changes)
                return -ENOMEM;
        rtnl_link_set_ns_fd(changes, netns_fd);
        return link_change(sk, ifindex, changes);
}

int netlink_link_delete(struct nl_sock *sk, const char *name) {
        _cleanup_link_ struct rtnl_link *link = rtnl_link_alloc();
        int r;

        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        r = NL_REQUEST(sk, rtnl_link_delete(sk, link));
        return r == -ENOENT ? -ENODEV : r;
}

int netlink_link_get_mac(struct nl_sock *sk, int ifindex, uint8_t ret[6]) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        struct nl_addr *a;
        int r = link_get(sk, ifindex, NULL, &link);

        if (r < 0)
                return r;
        a = rtnl_link_get_addr(link);
        if (!a || nl_addr_get_len(a) != 6)
                return -EADDRNOTAVAIL;
        memcpy(ret, nl_addr_get_binary_addr(a), 6);
        return 0;
}

static int link_set_mac(struct rtnl_link *link, const uint8_t *mac) {
        _cleanup_nl_addr_ struct nl_addr *a = NULL;

        if (!mac)
                return 0;
        a = nl_addr_build(AF_LLC, mac, 6);
        if (!a)
                return -ENOMEM;
        rtnl_link_set_addr(link, a);  /* takes its own reference */
        return 0;
}

int netlink_veth_create(struct nl_sock *sk, const char *name, const uint8_t *mac, int master_ifindex,
                        const char *peer_name, const uint8_t *peer_mac, int peer_netns_fd) {
        _cleanup_link_ struct rtnl_link *link = rtnl_link_veth_alloc();
        _cleanup_link_ struct rtnl_link *peer = NULL;
        int r;

        if (!link)
                return -ENOMEM;
        peer = rtnl_link_veth_get_peer(link);
        if (!peer)
                return -ENOMEM;

        rtnl_link_set_name(link, name);
        r = link_set_mac(link, mac);
        if (r < 0)
                return r;
        if (master_ifindex > 0)
                rtnl_link_set_master(link, master_ifindex);
        rtnl_link_set_flags(link, IFF_UP);

        rtnl_link_set_name(peer, peer_name);
        r = link_set_mac(peer, peer_mac);
        if (r < 0)
                return r;
        if (peer_netns_fd >= 0)
                rtnl_link_set_ns_fd(peer, peer_netns_fd);

        return NL_REQUEST(sk, rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
}

int netlink_macvlan_create(struct nl_sock *sk, const char *name, const uint8_t *mac, int parent_ifindex,
                           uint32_t mode, int netns_fd) {
        _cleanup_link_ struct rtnl_link *link = rtnl_link_macvlan_alloc();
        int r;

        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        rtnl_link_set_link(link, parent_ifindex);
        r = rtnl_link_macvlan_set_mode(link, mode);
        if (r < 0)
                return NL_ERR(r);
        r = link_set_mac(link, mac);
        if (r < 0)
                return r;
        if (netns_fd >= 0)
                rtnl_link_set_ns_fd(link, netns_fd);

        return NL_REQUEST(sk, rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
}

int netlink_bridge_create(struct nl_sock *sk, const char *name, const uint8_t *mac) {
        _cleanup_link_ struct rtnl_link *link = rtnl_link_alloc();
        int r;

        if (!link)
                return -ENOMEM;
        r = rtnl_link_set_type(link, "bridge");
        if (r < 0)
                return NL_ERR(r);
        rtnl_link_set_name(link, name);
        r = link_set_mac(link, mac);
        if (r < 0)
                return r;
        return NL_REQUEST(sk, rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
}

static int parse_addr(const char *s, int family, int prefix, struct nl_addr **ret) {
        _cleanup_nl_addr_ struct nl_addr *a = NULL;
        int r;

        if (family != AF_INET && family != AF_INET6)
                return -EAFNOSUPPORT;
        r = nl_addr_parse(s, family, &a);
        if (r < 0)
                return NL_ERR(r);
        if (nl_addr_get_family(a) != family || nl_addr_get_len(a) == 0)
                return -EINVAL;
        if (prefix >= 0) {
                if ((unsigned) prefix > nl_addr_get_len(a) * 8)
                        return -EINVAL;
                nl_addr_set_prefixlen(a, prefix);
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int netlink_addr_add(struct nl_sock *sk, int ifindex, int family, const char *address, unsigned prefix,
                     const char *peer) {
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *addr = rtnl_addr_alloc();
        _cleanup_nl_addr_ struct nl_addr *local = NULL, *remote = NULL, *bcast = NULL;
        int r;

        if (!addr)
                return -ENOMEM;
        /* with a peer, the prefix belongs to the peer (as `ip addr add A peer P/N`) */
        r = parse_addr(address, family, peer ? -1 : (int) prefix, &local);
        if (r < 0)
                return r;
        rtnl_addr_set_ifindex(addr, ifindex);
        rtnl_addr_set_family(addr, family);
        r = rtnl_addr_set_local(addr, local);
        if (r < 0)
                return NL_ERR(r);
        if (peer) {
                r = parse_addr(peer, family, (int) prefix, &remote);
                if (r < 0)
                        return r;
                r = rtnl_addr_set_peer(addr, remote);
                if (r < 0)
                        return NL_ERR(r);
        } else if (family == AF_INET && prefix < 31) {
                /* what ifconfig and `ip addr add ... brd +` give */
                struct in_addr in;
                memcpy(&in, nl_addr_get_binary_addr(local), sizeof(in));
                in.s_addr |= htonl(prefix == 0 ? UINT32_MAX : (UINT32_MAX >> prefix));
                bcast = nl_addr_build(AF_INET, &in, sizeof(in));
                if (!bcast)
                        return -ENOMEM;
                r = rtnl_addr_set_broadcast(addr, bcast);
                if (r < 0)
                        return NL_ERR(r);
        }
        if (family == AF_INET6)
                rtnl_addr_set_flags(addr, IFA_F_NODAD);

        return NL_REQUEST(sk, rtnl_addr_add(sk, addr, NLM_F_CREATE | NLM_F_EXCL));
}

int netlink_route_add(struct nl_sock *sk, int ifindex, int family, const char *destination, unsigned prefix,
                      const char *gateway) {
        _cleanup_(rtnl_route_putp) struct rtnl_route *route = rtnl_route_alloc();
        _cleanup_nl_addr_ struct nl_addr *dst = NULL, *gw = NULL;
        struct rtnl_nexthop *nh;
        int r;

        if (!route)
                return -ENOMEM;
        r = rtnl_route_set_family(route, (uint8_t) family);
        if (r < 0)
                return NL_ERR(r);
        /* the default route has no RTA_DST at all: an empty one is refused */
        if (destination) {
                r = parse_addr(destination, family, (int) prefix, &dst);
                if (r < 0)
                        return r;
                r = rtnl_route_set_dst(route, dst);
                if (r < 0)
                        return NL_ERR(r);
        }
        if (gateway) {
                r = parse_addr(gateway, family, -1, &gw);
                if (r < 0)
                        return r;
        }
        rtnl_route_set_table(route, RT_TABLE_MAIN);
        rtnl_route_set_protocol(route, RTPROT_STATIC);
        rtnl_route_set_scope(route, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);

        nh = rtnl_route_nh_alloc();
        if (!nh)
                return -ENOMEM;
        rtnl_route_nh_set_ifindex(nh, ifindex);
        if (gw)
                rtnl_route_nh_set_gateway(nh, gw);
        rtnl_route_add_nexthop(route, nh);  /* the route owns it now */

        return NL_REQUEST(sk, rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL));
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);

int netlink_list_addresses(struct nl_sock *sk, NetlinkAddress **ret, size_t *ret_n) {
        _cleanup_(nl_cache_freep) struct nl_cache *links = NULL, *addrs = NULL;
        _cleanup_free_ NetlinkAddress *list = NULL;
        size_t n = 0, max = 0;
        int r;

        r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
        if (r < 0)
                return NL_ERR(r);
        r = rtnl_addr_alloc_cache(sk, &addrs);
        if (r < 0)
                return NL_ERR(r);

        for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *) o;
                struct nl_addr *local = rtnl_addr_get_local(a);
                int family = rtnl_addr_get_family(a);
                NetlinkAddress *e;

                if (!local || (family != AF_INET && family != AF_INET6))
                        continue;
                if (n == max) {
                        size_t m = max ? max * 2 : 8;
                        NetlinkAddress *l = reallocarray(list, m, sizeof(*l));
                        if (!l)
                                return -ENOMEM;
                        list = l;
                        max = m;
                }
                e = &list[n];
                *e = (NetlinkAddress) {
                        .family = family,
                        .prefix = (unsigned) rtnl_addr_get_prefixlen(a),
                        .scope = rtnl_addr_get_scope(a),
                };
                if (!inet_ntop(family, nl_addr_get_binary_addr(local), e->address, sizeof(e->address)))
                        continue;

                _cleanup_link_ struct rtnl_link *link = rtnl_link_get(links, rtnl_addr_get_ifindex(a));
                if (link) {
                        struct nl_addr *ll = rtnl_link_get_addr(link);
                        snprintf(e->ifname, sizeof(e->ifname), "%s", strempty(rtnl_link_get_name(link)));
                        e->link_flags = rtnl_link_get_flags(link);
                        if (ll && nl_addr_get_len(ll) == 6) {
                                memcpy(e->mac, nl_addr_get_binary_addr(ll), 6);
                                e->has_mac = true;
                        }
                }
                n++;
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int netlink_bridge_port_set_hairpin(struct nl_sock *sk, int ifindex, bool on) {
        struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = ifindex };
        struct nl_msg *msg;
        struct nlattr *protinfo;

        msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
            !(protinfo = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED)) ||
            nla_put_u8(msg, IFLA_BRPORT_MODE, on) < 0) {
                nlmsg_free(msg);
                return -ENOMEM;
        }
        nla_nest_end(msg, protinfo);
        /* nl_send_sync() frees the message, sent or not */
        return NL_REQUEST(sk, nl_send_sync(sk, msg));
}
