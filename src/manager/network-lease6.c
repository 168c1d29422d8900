/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The IPv6 side of network-lease.c: stateful DHCPv6 on a managed network.
 *
 * DHCPv6 knows a client by its DUID, which the host cannot know before the
 * container's client makes one up. So, as for IPv4, the manager picks the
 * address before the container runs and gives it to dnsmasq by MAC
 * ("MAC,[ADDR]" in NAME.hosts: dnsmasq finds a directly connected client's
 * MAC in the neighbour table, asking by a ping when needed): the helper's
 * anti-spoofing filter allows exactly that address from the first frame.
 * A <host id=DUID> of the network is for a container when the DUID is a
 * link-layer one (type 1 or 3) with the container's MAC, a <host name=> when
 * it names the container; any other DUID's address is not the container's
 * to use (declare it with <ip>). */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "command.h"
#include "fileio.h"
#include "macros.h"
#include "network.h"

#define VIV_DHCP_RELEASE6_PATH "/usr/bin/dhcp_release6"

/* Bounds the probing of a range that is larger than any pool of containers. */
#define RANGE6_PROBE_MAX (UINT64_C(1) << 32)

static bool addr6(const char *s, struct in6_addr *ret) {
        return s && inet_pton(AF_INET6, s, ret) == 1;
}

static bool addr6_eq_text(const struct in6_addr *a, const char *s) {
        struct in6_addr b;

        return addr6(s, &b) && memcmp(a, &b, sizeof b) == 0;
}

static uint64_t low64(const struct in6_addr *a) {
        uint64_t v = 0;

        for (size_t i = 8; i < 16; i++)
                v = v << 8 | a->s6_addr[i];
        return v;
}

/* A + OFFSET, carried through all 128 bits. */
static struct in6_addr add6(const struct in6_addr *a, uint64_t offset) {
        struct in6_addr r = *a;
        unsigned carry = 0;

        for (int i = 15; i >= 0; i--) {
                unsigned sum = r.s6_addr[i] + (unsigned) (offset & 0xff) + carry;

                r.s6_addr[i] = (uint8_t) sum;
                carry = sum >> 8;
                offset >>= 8;
        }
        return r;
}

int network_range6_size(const NetworkDhcpRange *r, uint64_t *ret) {
        struct in6_addr a, b;

        if (!addr6(r->start, &a) || !addr6(r->end, &b) || memcmp(&a, &b, sizeof a) > 0)
                return -EINVAL;
        if (memcmp(a.s6_addr, b.s6_addr, 8) != 0 || low64(&b) - low64(&a) >= RANGE6_PROBE_MAX)
                *ret = RANGE6_PROBE_MAX;
        else
                *ret = low64(&b) - low64(&a) + 1;
        return 0;
}

const NetworkIP *network_dhcp6_ip(const NetworkDef *def) {
        ARRAY_FOREACH(ip, def->ips, def->n_ips)
                if (ip->family == AF_INET6 && ip->dhcp && (ip->n_ranges > 0 || ip->n_hosts > 0))
                        return ip;
        return NULL;
}

typedef struct Lease6 {
        long long expiry;       /* 0: never */
        char iaid[32];
        char address[64];
        char client_duid[256];
        char server_duid[256];
} Lease6;

/* dnsmasq's lease file: the IPv4 leases, then a "duid SERVER-DUID" line
 * and "EXPIRY IAID ADDRESS HOSTNAME CLIENT-DUID" per IPv6 lease (IAID with
 * a 'T' before it for a temporary address). FN's nonzero return stops. */
static int foreach_lease6(const char *leases, int (*fn)(const Lease6 *l, void *userdata), void *userdata) {
        char server[256] = "";
        bool v6 = false;

        for (const char *l = leases; l && *l;) {
                const char *nl = strchr(l, '\n');
                char f[5][256];
                Lease6 e = {};
                int k, r;

                k = sscanf(l, "%255s %255s %255s %255s %255s", f[0], f[1], f[2], f[3], f[4]);
                l = nl ? nl + 1 : NULL;
                if (k >= 2 && streq(f[0], "duid")) {
                        snprintf(server, sizeof server, "%s", f[1]);
                        v6 = true;
                        continue;
                }
                if (!v6 || k < 5 || sscanf(f[0], "%lld", &e.expiry) != 1 || strlen(f[1]) >= sizeof e.iaid ||
                    strlen(f[2]) >= sizeof e.address)
                        continue;
                strcpy(e.iaid, f[1]);
                strcpy(e.address, f[2]);
                strcpy(e.client_duid, f[4]);
                strcpy(e.server_duid, server);
                r = fn(&e, userdata);
                if (r != 0)
                        return r;
        }
        return 0;
}

typedef struct LeaseHeld {
        struct in6_addr addr;
        const uint8_t *mac;
        time_t now;
} LeaseHeld;

/* 1 when the lease is of the address and held by another client: a DUID
 * without this MAC in it (the container's own client keeps its lease). */
static int held_by_other(const Lease6 *l, void *userdata) {
        const LeaseHeld *h = userdata;
        uint8_t mac[6];

        if (!addr6_eq_text(&h->addr, l->address) || (l->expiry != 0 && l->expiry <= (long long) h->now))
                return 0;
        return network_duid_mac(l->client_duid, mac) < 0 || memcmp(mac, h->mac, 6) != 0;
}

static bool address6_taken(Network *n, const NetworkDef *def, const struct in6_addr *a, const uint8_t mac[6],
                           const char *leases) {
        LeaseHeld held = { .addr = *a, .mac = mac, .now = time(NULL) };

        ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                if (ip->family != AF_INET6)
                        continue;
                if (addr6_eq_text(a, ip->address))
                        return true; /* the bridge's own */
                ARRAY_FOREACH(h, ip->hosts, ip->n_hosts)
                        if (addr6_eq_text(a, h->ip))
                                return true;
        }
        ARRAY_FOREACH(res, n->reservations, n->n_reservations)
                if (res->has_addr6 && memcmp(&res->addr6, a, sizeof *a) == 0)
                        return true;
        if (network_address_configured(n, AF_INET6, a))
                return true;
        return foreach_lease6(leases, held_by_other, &held) > 0;
}

bool network_host_duid_has_mac(const NetworkDhcpHost *h, const uint8_t mac[6]) {
        uint8_t duid_mac[6];

        return h->id && network_duid_mac(h->id, duid_mac) >= 0 && memcmp(duid_mac, mac, 6) == 0;
}

bool network_addr6_by_duid(const NetworkDef *def, const uint8_t mac[6], const struct in6_addr *a) {
        if (!def)
                return false;
        ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                if (ip->family != AF_INET6)
                        continue;
                ARRAY_FOREACH(h, ip->hosts, ip->n_hosts)
                        if (network_host_duid_has_mac(h, mac) && addr6_eq_text(a, h->ip))
                                return true;
        }
        return false;
}

/* Another interface (another MAC) holds A already: a <host name=> of the
 * container matches each of its interfaces on the network, and only the
 * first may have the host's address. */
static bool reserved_by_other(Network *n, const struct in6_addr *a, const uint8_t mac[6]) {
        ARRAY_FOREACH(res, n->reservations, n->n_reservations)
                if (res->has_addr6 && memcmp(&res->addr6, a, sizeof *a) == 0 && memcmp(res->mac, mac, 6) != 0)
                        return true;
        return false;
}

int network_pick_address6(Network *n, const NetworkIP *ip6, const char *container, const uint8_t mac[6],
                          const char *leases, struct in6_addr *ret, bool *ret_by_duid) {
        uint64_t total = 0, start = 0;

        *ret_by_duid = false;
        ARRAY_FOREACH(h, ip6->hosts, ip6->n_hosts) {
                bool by_duid = network_host_duid_has_mac(h, mac);

                if ((by_duid || streq_ptr(h->name, container)) && addr6(h->ip, ret) &&
                    (by_duid || !reserved_by_other(n, ret, mac))) {
                        *ret_by_duid = by_duid;
                        return 1;
                }
        }

        ARRAY_FOREACH(range, ip6->ranges, ip6->n_ranges) {
                uint64_t size;

                if (network_range6_size(range, &size) >= 0)
                        total += size;
        }
        if (total == 0)
                return 0;

        /* FNV-1a of the MAC, as for IPv4: the same MAC starts at the same place. */
        uint32_t hash = 2166136261u;
        for (size_t i = 0; i < 6; i++)
                hash = (hash ^ mac[i]) * 16777619u;
        start = hash % total;

        /* Probing ends at the first free address: after at most as many
         * steps as addresses are taken. */
        for (uint64_t k = 0; k < total; k++) {
                uint64_t idx = (start + k) % total;

                ARRAY_FOREACH(range, ip6->ranges, ip6->n_ranges) {
                        struct in6_addr first, candidate;
                        uint64_t size;

                        if (network_range6_size(range, &size) < 0 || !addr6(range->start, &first))
                                continue;
                        if (idx >= size) {
                                idx -= size;
                                continue;
                        }
                        candidate = add6(&first, idx);
                        if (!address6_taken(n, n->live, &candidate, mac, leases)) {
                                *ret = candidate;
                                return 1;
                        }
                        break;
                }
        }
        return -ENOSPC;
}

typedef struct LeaseFind {
        struct in6_addr addr;
        Lease6 found;
} LeaseFind;

static int find_lease(const Lease6 *l, void *userdata) {
        LeaseFind *f = userdata;

        /* a temporary address ('T') is never one of ours */
        if (l->iaid[0] == 'T' || !addr6_eq_text(&f->addr, l->address))
                return 0;
        f->found = *l;
        return 1;
}

void network_release_lease6(Network *n, const struct in6_addr *addr) {
        _cleanup_free_ char *path = NULL, *leases = NULL, *error = NULL;
        const char *tool = getenv("VIVARIUM_DHCP_RELEASE6_PATH");
        LeaseFind find = { .addr = *addr };
        int r;

        if (!n->live || !n->live->bridge || !n->has_dnsmasq)
                return;
        if (asprintf(&path, "%s/%s.leases", n->owner->lease_dir, n->name) < 0 ||
            read_full_file(path, &leases, NULL) < 0 || foreach_lease6(leases, find_lease, &find) <= 0)
                return; /* no lease taken: nothing to release */
        if (!tool || !*tool)
                tool = VIV_DHCP_RELEASE6_PATH;
        r = command_run((char *const[]) { (char *) tool, (char *) "--iface", n->live->bridge, (char *) "--ip",
                                          find.found.address, (char *) "--server-id", find.found.server_duid,
                                          (char *) "--client-id", find.found.client_duid, (char *) "--iaid",
                                          find.found.iaid, NULL },
                        NULL, &error);
        if (r < 0)
                fprintf(stderr,
                        "Failed to release the DHCPv6 lease of %s on network '%s', it stays until it expires (is dnsmasq-utils installed?): %s\n",
                        find.found.address, n->name, error ? error : strerror(-r));
}

int network_lease6_mac(Network *n, const char *address, const char *client_duid, uint8_t ret[6]) {
        struct in6_addr a;

        if (addr6(address, &a))
                ARRAY_FOREACH(res, n->reservations, n->n_reservations)
                        if (res->has_addr6 && memcmp(&res->addr6, &a, sizeof a) == 0) {
                                memcpy(ret, res->mac, 6);
                                return 0;
                        }
        return network_duid_mac(client_duid, ret);
}
