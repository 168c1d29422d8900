/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small rtnetlink helpers over libnl-route-3: links (veth, macvlan, bridge),
 * addresses and routes. Every function returns >= 0 or -errno (libnl's own
 * error codes are translated) and never logs. A socket acts in the network
 * namespace it was created in: netlink_open_in_netns() makes one for another
 * namespace, so that a caller can configure a container's devices without
 * moving itself. */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "macros.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free);
#define _cleanup_nl_sock_ _cleanup_(nl_socket_freep)

/* libnl's NLE_* (positive or negative) → -errno. */
int netlink_error_to_errno(int nle);

/* A connected NETLINK_ROUTE socket in the caller's network namespace. */
int netlink_open(struct nl_sock **ret);
/* The same, in the network namespace netns_fd refers to. Enters it for the
 * moment of socket(2) and returns to the caller's namespace: only for
 * single-threaded callers. */
int netlink_open_in_netns(int netns_fd, struct nl_sock **ret);

/* ifindex (> 0) of the device NAME, or -ENODEV. */
int netlink_link_get_ifindex(struct nl_sock *sk, const char *name);
/* 1 when NAME exists and is a bridge, 0 when it exists and is something
 * else, -ENODEV when it does not exist. */
int netlink_link_is_bridge(struct nl_sock *sk, const char *name);
int netlink_link_set_up(struct nl_sock *sk, int ifindex, bool up);
/* Moves the device into the network namespace netns_fd refers to; it keeps
 * its name, and -EEXIST when the name is taken there. */
int netlink_link_set_netns(struct nl_sock *sk, int ifindex, int netns_fd);
/* Deletes the device NAME; -ENODEV when there is none. */
int netlink_link_delete(struct nl_sock *sk, const char *name);
/* The device's hardware address; ret needs 6 bytes. */
int netlink_link_get_mac(struct nl_sock *sk, int ifindex, uint8_t ret[6]);

/* A veth pair: NAME in the socket's namespace, up, with MAC (NULL: the
 * kernel's choice), enslaved to master_ifindex when > 0; its peer PEER_NAME,
 * down, with PEER_MAC, created directly in the namespace peer_netns_fd (< 0:
 * the socket's). -EEXIST when NAME (or PEER_NAME there) is taken. */
int netlink_veth_create(struct nl_sock *sk, const char *name, const uint8_t *mac, int master_ifindex,
                        const char *peer_name, const uint8_t *peer_mac, int peer_netns_fd);

/* A macvlan NAME on parent_ifindex (a device of the socket's namespace),
 * mode one of MACVLAN_MODE_* (linux/if_link.h), down, created directly in
 * netns_fd (< 0: the socket's). */
int netlink_macvlan_create(struct nl_sock *sk, const char *name, const uint8_t *mac, int parent_ifindex,
                           uint32_t mode, int netns_fd);

/* A bridge NAME, down, MAC NULL = the kernel's choice. */
int netlink_bridge_create(struct nl_sock *sk, const char *name, const uint8_t *mac);

/* ADDRESS/prefix on ifindex (family AF_INET or AF_INET6; peer optional).
 * IPv6 addresses skip duplicate address detection, so that they are usable
 * at once. */
int netlink_addr_add(struct nl_sock *sk, int ifindex, int family, const char *address, unsigned prefix,
                     const char *peer);

/* A route to DESTINATION/prefix (NULL: the default route) through ifindex,
 * via GATEWAY (NULL: directly on the link). */
int netlink_route_add(struct nl_sock *sk, int ifindex, int family, const char *destination, unsigned prefix,
                      const char *gateway);

/* One address of a device, as netlink_list_addresses() returns it. */
typedef struct NetlinkAddress {
        char ifname[IFNAMSIZ];
        unsigned link_flags;          /* IFF_* of the device */
        uint8_t mac[6];
        bool has_mac;
        int family;                   /* AF_INET or AF_INET6 */
        char address[46];             /* textual, INET6_ADDRSTRLEN */
        unsigned prefix;
        int scope;                    /* RT_SCOPE_* */
} NetlinkAddress;

/* Every IPv4 and IPv6 address in the socket's namespace, with its device.
 * *ret is an array of *ret_n entries to free(). */
int netlink_list_addresses(struct nl_sock *sk, NetlinkAddress **ret, size_t *ret_n);

/* Hairpin mode of bridge port ifindex (IFLA_BRPORT_MODE through
 * RTM_SETLINK of family AF_BRIDGE, what `bridge link set hairpin on` sends):
 * the bridge may send a frame back out the port it came in by. */
int netlink_bridge_port_set_hairpin(struct nl_sock *sk, int ifindex, bool on);
