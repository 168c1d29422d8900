/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What the host knows about the addresses on its networks, for
 * net-dhcp-leases and domifaddr: dnsmasq's lease file of a managed network
 * (GetDHCPLeases) and, per running container interface, its leases or the
 * host's neighbour table (GetInterfaceAddresses). The manager reads them, so
 * that vivctl over ssh sees the host's, not its own. */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <netlink/route/neighbour.h>

#include "bus-names.h"
#include "fileio.h"
#include "macros.h"
#include "netlink-util.h"
#include "network.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);

/* libvirt's virIPAddrType */
enum { LEASE_IPV4 = 0, LEASE_IPV6 = 1 };

/* The prefix of the network's subnet that holds ADDRESS, 0 when none does. */
static unsigned prefix_on_network(const NetworkDef *def, int family, const char *address) {
        uint8_t want[16], have[16];

        if (!def || inet_pton(family, address, want) != 1)
                return 0;
        ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                unsigned bits = ip->prefix, len = family == AF_INET ? 4 : 16;
                bool same = true;

                if (ip->family != family || inet_pton(family, ip->address, have) != 1 || bits > len * 8)
                        continue;
                for (unsigned i = 0; i < len && same; i++) {
                        unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;
                        uint8_t mask = keep ? (uint8_t) (0xff << (8 - keep)) : 0;

                        same = (want[i] & mask) == (have[i] & mask);
                }
                if (same)
                        return ip->prefix;
        }
        return 0;
}

static const char *star_is_none(const char *s) {
        return streq(s, "*") ? "" : s;
}

typedef struct Lease {
        uint64_t expiry;        /* seconds since the epoch, 0: never */
        int type;               /* LEASE_IPV4, LEASE_IPV6 */
        char mac[32];           /* IPv6: the interface's that holds it, "" when not known */
        char iaid[32];          /* "" for IPv4 */
        char address[INET6_ADDRSTRLEN];
        char hostname[256];     /* "" when none */
        char client_id[256];    /* client ID or DUID, "" when none */
} Lease;

/* The network's current leases, of MAC only when MAC is set. dnsmasq's lease
 * file: "EXPIRY MAC IP HOSTNAME CLIENT-ID" per IPv4 lease, then after a
 * "duid SERVER-DUID" line "EXPIRY IAID IP HOSTNAME CLIENT-DUID" per IPv6
 * lease; '*' for a missing field, expiry 0 for a lease that never ends. */
static int read_leases(Network *n, const char *mac, Lease **ret, size_t *ret_n) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_free_ Lease *list = NULL;
        time_t now = time(NULL);
        size_t count = 0;
        bool v6 = false;
        int r;

        if (asprintf(&path, "%s/%s.leases", n->owner->lease_dir, n->name) < 0)
                return -ENOMEM;
        r = read_full_file(path, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return r;

        for (char *l = text, *next; l && *l; l = next) {
                char f[5][256], lease_mac[18];
                uint8_t mac6[6];
                long long expiry;
                Lease *grown;
                int k;

                next = strchr(l, '\n');
                if (next)
                        *next++ = '\0';
                k = sscanf(l, "%255s %255s %255s %255s %255s", f[0], f[1], f[2], f[3], f[4]);
                if (k >= 2 && streq(f[0], "duid")) {
                        v6 = true;
                        continue;
                }
                if (k < 3 || sscanf(f[0], "%lld", &expiry) != 1 || expiry < 0 ||
                    strlen(f[1]) >= sizeof list->mac || strlen(f[2]) >= sizeof list->address)
                        continue;
                if (expiry != 0 && expiry < (long long) now)
                        continue; /* dnsmasq drops it at its next write */
                /* An IPv6 lease names no MAC, only the IAID and DUID: the
                 * interface it is reserved for, or the MAC in its DUID. */
                lease_mac[0] = '\0';
                if (v6 && k >= 5 && network_lease6_mac(n, f[2], f[4], mac6) >= 0)
                        mac_format(mac6, lease_mac);
                if (mac && strcasecmp(v6 ? lease_mac : f[1], mac) != 0)
                        continue;
                grown = reallocarray(list, count + 1, sizeof(Lease));
                if (!grown)
                        return -ENOMEM;
                list = grown;
                Lease *e = &list[count++];
                *e = (Lease) { .expiry = (uint64_t) expiry, .type = v6 ? LEASE_IPV6 : LEASE_IPV4 };
                strcpy(v6 ? e->iaid : e->mac, f[1]);
                if (v6)
                        strcpy(e->mac, lease_mac);
                strcpy(e->address, f[2]);
                snprintf(e->hostname, sizeof e->hostname, "%s", k >= 4 ? star_is_none(f[3]) : "");
                snprintf(e->client_id, sizeof e->client_id, "%s", k >= 5 ? star_is_none(f[4]) : "");
        }
        *ret = TAKE_PTR(list);
        *ret_n = count;
        return 0;
}

/* As virsh lists them: by MAC, IPv6 leases by IAID. */
static int compare_leases(const void *a, const void *b) {
        const Lease *x = a, *y = b;

        return strcasecmp(x->type == LEASE_IPV6 ? x->iaid : x->mac, y->type == LEASE_IPV6 ? y->iaid : y->mac);
}

int network_get_dhcp_leases(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Lease *leases = NULL;
        Network *n = userdata;
        const NetworkDef *def = network_current_def(n);
        const char *mac;
        uint8_t parsed[6];
        char canonical[18];
        size_t count = 0;
        int r;

        r = sd_bus_message_read(msg, "s", &mac);
        if (r < 0)
                return r;
        if (*mac) {
                if (mac_parse_string(mac, parsed) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid MAC address '%s'", mac);
                mac_format(parsed, canonical);
        }
        r = read_leases(n, *mac ? canonical : NULL, &leases, &count);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the DHCP leases of network '%s': %m",
                                               n->name);
        if (count > 1)
                qsort(leases, count, sizeof(Lease), compare_leases);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(stisssuss)");
        if (r < 0)
                return r;
        ARRAY_FOREACH(e, leases, count) {
                r = sd_bus_message_append(reply, "(stisssuss)", n->active && n->live ? n->live->bridge : "",
                                          e->expiry, (int32_t) e->type, e->mac, e->iaid, e->address,
                                          prefix_on_network(def, e->type == LEASE_IPV6 ? AF_INET6 : AF_INET,
                                                            e->address),
                                          e->hostname, e->client_id);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* --- GetInterfaceAddresses ------------------------------------------------------ */

typedef struct NeighMatch {
        sd_bus_message *reply;
        int ifindex;
        uint8_t mac[6];
        int r;
} NeighMatch;

static void append_neighbour(struct nl_object *obj, void *userdata) {
        struct rtnl_neigh *neigh = (struct rtnl_neigh *) obj;
        NeighMatch *m = userdata;
        struct nl_addr *ll = rtnl_neigh_get_lladdr(neigh), *dst = rtnl_neigh_get_dst(neigh);
        char buf[INET6_ADDRSTRLEN];

        if (m->r < 0 || !ll || !dst || rtnl_neigh_get_ifindex(neigh) != m->ifindex)
                return;
        /* As libvirt's ARP source: IPv4 entries the kernel resolved. */
        if (nl_addr_get_family(dst) != AF_INET ||
            (rtnl_neigh_get_state(neigh) & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP)))
                return;
        if (nl_addr_get_len(ll) != 6 || memcmp(nl_addr_get_binary_addr(ll), m->mac, 6) != 0)
                return;
        if (!inet_ntop(AF_INET, nl_addr_get_binary_addr(dst), buf, sizeof buf))
                return;
        /* the neighbour table knows no prefix: libvirt's 0 */
        m->r = sd_bus_message_append(m->reply, "(isu)", LEASE_IPV4, buf, 0u);
}

/* The host-side device that the container's interface talks through: the
 * managed network's bridge, the bridge it is enslaved to, or the host end
 * of a bare veth. NULL for a macvlan (the host cannot see its neighbours). */
static const char *host_side_device(Manager *m, const DomainInterface *iface) {
        Network *n;

        switch (iface->type) {
        case INTERFACE_NETWORK:
                n = iface->source && m->networks ? network_find(m->networks, iface->source) : NULL;
                return n && n->active && n->live ? n->live->bridge : NULL;
        case INTERFACE_BRIDGE:
                return iface->source;
        case INTERFACE_ETHERNET:
                return iface->target_dev;
        default:
                return NULL;
        }
}

static int append_interface(Manager *m, const DomainInterface *iface, bool arp, struct nl_cache *neighbours,
                            struct nl_sock *sk, sd_bus_message *reply) {
        const char *dev = iface->target_dev ?: "-";
        char mac[18];
        int r;

        mac_format(iface->mac, mac);
        r = sd_bus_message_open_container(reply, 'r', "ssa(isu)");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "ss", dev, mac);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(isu)");
        if (r < 0)
                return r;

        if (!arp) {
                Network *n = iface->type == INTERFACE_NETWORK && iface->source && m->networks
                                     ? network_find(m->networks, iface->source)
                                     : NULL;
                _cleanup_free_ Lease *leases = NULL;
                size_t count = 0;

                if (n) {
                        r = read_leases(n, mac, &leases, &count);
                        if (r < 0)
                                return r;
                }
                ARRAY_FOREACH(e, leases, count) {
                        r = sd_bus_message_append(reply, "(isu)", (int32_t) e->type, e->address,
                                                  prefix_on_network(network_current_def(n),
                                                                    e->type == LEASE_IPV6 ? AF_INET6 : AF_INET,
                                                                    e->address));
                        if (r < 0)
                                return r;
                }
        } else {
                const char *host_dev = host_side_device(m, iface);
                int ifindex = host_dev ? netlink_link_get_ifindex(sk, host_dev) : -ENODEV;

                if (ifindex > 0) {
                        NeighMatch match = { .reply = reply, .ifindex = ifindex };

                        memcpy(match.mac, iface->mac, 6);
                        nl_cache_foreach(neighbours, append_neighbour, &match);
                        if (match.r < 0)
                                return match.r;
                }
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

int method_get_interface_addresses(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *neighbours = NULL;
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        Manager *m = userdata;
        const char *name, *source;
        Container *c;
        bool arp;
        int r;

        r = sd_bus_message_read(msg, "ss", &name, &source);
        if (r < 0)
                return r;
        c = manager_find_container(m, name);
        if (!c)
                return sd_bus_error_setf(error, VIV_ERROR_NO_SUCH_CONTAINER, "No container '%s'", name);
        if (streq(source, "agent"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Operation not supported: a container has no guest agent; use the source 'lease' or 'arp'");
        if (!streq(source, "lease") && !streq(source, "") && !streq(source, "arp"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown address source '%s': expected 'lease', 'arp' or 'agent'", source);
        arp = streq(source, "arp");
        if (!container_is_active(c) || !c->live)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING,
                                         "Requested operation is not valid: domain is not running");

        if (arp) {
                r = netlink_open(&sk);
                if (r >= 0)
                        r = netlink_error_to_errno(rtnl_neigh_alloc_cache(sk, &neighbours));
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to read the host's neighbour table: %m");
        }

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssa(isu))");
        if (r < 0)
                return r;
        ARRAY_FOREACH(iface, c->live->interfaces, c->live->n_interfaces) {
                if (!iface->has_mac)
                        continue;
                r = append_interface(m, iface, arp, neighbours, sk, reply);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to list the addresses of domain '%s': %m",
                                                       name);
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
