/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The address each container interface gets on a managed network, and the
 * release of its lease when the container stops.
 *
 * At start the manager picks an address of the network's DHCP range for the
 * interface's MAC and gives it to dnsmasq as a dhcp-host line in
 * /run/vivarium/networks/NAME.hosts (re-read on SIGHUP). So the address is
 * known before the container runs: the helper's anti-spoofing filter
 * (netguard.h) allows exactly it from the first frame, with no daemon
 * following the lease file (the manager may be gone while a container runs).
 * The choice starts at a hash of the MAC, so a persistent container usually
 * gets the same address at each start. When the container stops, its lease
 * is released (dnsmasq-utils' dhcp_release: a DHCPRELEASE that dnsmasq
 * takes as coming from the bridge) and the line goes: without that, every
 * new MAC (a transient container's, each start) kept an address until the
 * lease expired, and a small pool ran out ("no address available").
 *
 * The hosts file is also the record of who holds what: a restarted manager
 * reads it back, and releases what no running container holds any more. */

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus-names.h"
#include "command.h"
#include "fileio.h"
#include "macros.h"
#include "network.h"

#define VIV_DHCP_RELEASE_PATH "/usr/bin/dhcp_release"

int network_hosts_path(Networks *ns, const char *name, char **ret) {
        return asprintf(ret, "%s/%s.hosts", ns->run_dir, name) < 0 ? -ENOMEM : 0;
}

static uint32_t ip4(const char *s) {
        struct in_addr a;

        return s && inet_pton(AF_INET, s, &a) == 1 ? ntohl(a.s_addr) : 0;
}

/* The network's IPv4 <ip> with DHCP ranges, or NULL. */
static const NetworkIP *dhcp4_ip(const NetworkDef *def) {
        ARRAY_FOREACH(ip, def->ips, def->n_ips)
                if (ip->family == AF_INET && ip->dhcp && ip->n_ranges > 0)
                        return ip;
        return NULL;
}

static int write_hosts_file(Network *n) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size = 0;
        int r;

        r = network_hosts_path(n->owner, n->name, &path);
        if (r < 0)
                return r;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# Written by vivariumd: the address of each running container's interface on network '%s'.\n",
                n->name);
        ARRAY_FOREACH(res, n->reservations, n->n_reservations) {
                char mac[18], addr[INET_ADDRSTRLEN] = "-", addr6[INET6_ADDRSTRLEN] = "-";
                struct in_addr a = { .s_addr = htonl(res->addr) };
                bool line6 = res->has_addr6 && !res->addr6_by_duid;

                mac_format(res->mac, mac);
                if (res->addr)
                        inet_ntop(AF_INET, &a, addr, sizeof addr);
                if (res->has_addr6)
                        inet_ntop(AF_INET6, &res->addr6, addr6, sizeof addr6);
                /* The comment is what a restarted manager reads back. */
                fprintf(f, "# vivarium %s %s %s %s\n", res->container, mac, addr, addr6);
                if (!res->addr && !line6)
                        continue; /* a <host id=> of the network gives the address */
                /* One line of both families: dnsmasq could take a line of
                 * one family for a client of the other. */
                fputs(mac, f);
                if (res->addr)
                        fprintf(f, ",%s", addr);
                if (line6)
                        fprintf(f, ",[%s]", addr6);
                fputc('\n', f);
        }
        return network_write_run_file(n->owner, path, &f, &text);
}

/* dnsmasq re-reads the hosts file on SIGHUP; systemd knows its PID. */
void network_reload_dnsmasq(Network *n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!n->has_dnsmasq)
                return;
        r = sd_bus_call_method(n->owner->manager->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "KillUnit", &error,
                               NULL, "ssi", n->unit, "main", (int32_t) SIGHUP);
        if (r < 0)
                fprintf(stderr, "Failed to make dnsmasq of network '%s' reload its hosts, ignoring: %s\n", n->name,
                        error.message ? error.message : strerror(-r));
}

static bool lease_held_by_other(const char *leases, uint32_t addr, const uint8_t mac[6], time_t now) {
        char want[18];

        mac_format(mac, want);
        /* "EXPIRY MAC IP NAME CLIENTID" per line; 0 = never expires. */
        for (const char *l = leases; l && *l;) {
                const char *nl = strchr(l, '\n');
                char m[32], ip[64];
                long long expiry;

                if (sscanf(l, "%lld %31s %63s", &expiry, m, ip) == 3 && ip4(ip) == addr &&
                    strcasecmp(m, want) != 0 && (expiry == 0 || expiry > now))
                        return true;
                l = nl ? nl + 1 : NULL;
        }
        return false;
}

/* The address an IPv4 <host mac=> of IP gives MAC; NULL: none. */
static const char *host_address4(const NetworkIP *ip, const uint8_t mac[6]) {
        ARRAY_FOREACH(h, ip->hosts, ip->n_hosts)
                if (h->has_mac && memcmp(h->mac, mac, 6) == 0 && ip4(h->ip))
                        return h->ip;
        return NULL;
}

static bool address_taken(Network *n, const NetworkDef *def, uint32_t addr, const uint8_t mac[6],
                          const char *leases, time_t now) {
        ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                if (ip->family != AF_INET)
                        continue;
                if (ip4(ip->address) == addr)
                        return true; /* the bridge's own */
                ARRAY_FOREACH(h, ip->hosts, ip->n_hosts)
                        if (ip4(h->ip) == addr)
                                return true;
        }
        ARRAY_FOREACH(res, n->reservations, n->n_reservations)
                if (res->addr == addr)
                        return true;
        struct in_addr a = { .s_addr = htonl(addr) };
        if (network_address_configured(n, AF_INET, &a))
                return true;
        return lease_held_by_other(leases, addr, mac, now);
}

bool network_address_configured(Network *n, int family, const void *addr) {
        size_t len = family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);

        for (Container *c = n->owner->manager->containers; c; c = c->next) {
                if (!c->live || !container_is_active(c))
                        continue;
                ARRAY_FOREACH(iface, c->live->interfaces, c->live->n_interfaces) {
                        if (iface->type != INTERFACE_NETWORK || !streq_ptr(iface->source, n->name))
                                continue;
                        ARRAY_FOREACH(dip, iface->ips, iface->n_ips) {
                                uint8_t have[16];

                                if (dip->family == family && inet_pton(family, dip->address, have) == 1 &&
                                    memcmp(have, addr, len) == 0)
                                        return true;
                        }
                }
        }
        return false;
}

/* The IPv4 address to reserve for MAC: 0 with *ret_static set when a
 * <host> of the network gives it, or with nothing set when there is no
 * IPv4 DHCP; -ENOSPC when the range is full. */
static int pick_address4(Network *n, const char *container, const uint8_t mac[6], const char *leases,
                         uint32_t *ret, char **ret_static) {
        const NetworkDef *def = n->live;
        const NetworkIP *ip = dhcp4_ip(def);
        uint64_t total = 0, start = 0;
        time_t now = time(NULL);

        *ret = 0;
        *ret_static = NULL;
        if (!ip)
                return 0;
        /* A <host> of the network's own definition already gives this MAC
         * its address. */
        const char *host = host_address4(ip, mac);
        if (host) {
                *ret_static = strdup(host);
                return *ret_static ? 0 : -ENOMEM;
        }

        ARRAY_FOREACH(range, ip->ranges, ip->n_ranges) {
                uint32_t a = ip4(range->start), b = ip4(range->end);
                if (a && b >= a)
                        total += (uint64_t) b - a + 1;
        }

        /* FNV-1a of the MAC: the same MAC starts at the same place. */
        uint32_t hash = 2166136261u;
        for (size_t i = 0; i < 6; i++)
                hash = (hash ^ mac[i]) * 16777619u;
        if (total > 0)
                start = hash % total;

        for (uint64_t k = 0; k < total; k++) {
                uint64_t idx = (start + k) % total;

                ARRAY_FOREACH(range, ip->ranges, ip->n_ranges) {
                        uint32_t a = ip4(range->start), b = ip4(range->end);
                        uint64_t size;

                        if (!a || b < a)
                                continue;
                        size = (uint64_t) b - a + 1;
                        if (idx >= size) {
                                idx -= size;
                                continue;
                        }
                        if (!address_taken(n, def, a + (uint32_t) idx, mac, leases, now)) {
                                *ret = a + (uint32_t) idx;
                                return 0;
                        }
                        break;
                }
        }
        return -ENOSPC;
}

/* What the network's DHCP is to give an interface: an address of the IPv4
 * range (ADDR, a line of ours) or of a <host mac=> (STATIC4, dnsmasq's own
 * line), and one of DHCPv6. */
typedef struct AddressPick {
        uint32_t addr;
        char *static4;
        struct in6_addr addr6;
        bool has_addr6;
        bool addr6_by_duid;
} AddressPick;

static void address_pick_done(AddressPick *p) {
        p->static4 = mfree(p->static4);
}

/* What a start gives CONTAINER's interface MAC now, with the network's
 * reservations as they are (the interface's own, if any, taken out first
 * by the caller). */
static int pick_addresses(Network *n, const char *container, const uint8_t mac[6], AddressPick *ret,
                          sd_bus_error *error) {
        const NetworkIP *ip6 = network_dhcp6_ip(n->live);
        _cleanup_free_ char *lease_path = NULL, *leases = NULL;
        int r;

        *ret = (AddressPick) {};
        if (asprintf(&lease_path, "%s/%s.leases", n->owner->lease_dir, n->name) < 0)
                return -ENOMEM;
        (void) read_full_file(lease_path, &leases, NULL);

        r = pick_address4(n, container, mac, leases, &ret->addr, &ret->static4);
        if (r == -ENOSPC)
                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                         "No free address left in the DHCP range of network '%s' for container '%s'",
                                         n->name, container);
        if (r < 0)
                return r;
        if (!ip6)
                return 0;
        r = network_pick_address6(n, ip6, container, mac, leases, &ret->addr6, &ret->addr6_by_duid);
        if (r == -ENOSPC)
                r = sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                      "No free address left in the DHCPv6 range of network '%s' for container '%s'",
                                      n->name, container);
        if (r < 0) {
                address_pick_done(ret);
                return r;
        }
        ret->has_addr6 = r > 0;
        return 0;
}

/* P's reservation, a line of NAME.hosts, when it needs one. */
static int reservation_add(Network *n, const char *container, const uint8_t mac[6], const AddressPick *p) {
        NetworkReservation *res;

        if (!p->addr && !p->has_addr6)
                return 0;
        res = reallocarray(n->reservations, n->n_reservations + 1, sizeof(NetworkReservation));
        if (!res)
                return -ENOMEM;
        n->reservations = res;
        res = &n->reservations[n->n_reservations];
        *res = (NetworkReservation) { .container = strdup(container), .addr = p->addr, .addr6 = p->addr6,
                                      .has_addr6 = p->has_addr6, .addr6_by_duid = p->addr6_by_duid };
        if (!res->container)
                return -ENOMEM;
        memcpy(res->mac, mac, 6);
        n->n_reservations++;
        return 0;
}

/* P's addresses as text, NULL for none of a family. */
static int pick_text(const AddressPick *p, char **ret_address, char **ret_address6) {
        char text[INET6_ADDRSTRLEN];

        *ret_address = NULL;
        *ret_address6 = NULL;
        if (p->addr) {
                struct in_addr a = { .s_addr = htonl(p->addr) };
                *ret_address = strdup(inet_ntop(AF_INET, &a, text, sizeof text) ?: "");
        } else if (p->static4)
                *ret_address = strdup(p->static4);
        if (p->has_addr6)
                *ret_address6 = strdup(inet_ntop(AF_INET6, &p->addr6, text, sizeof text) ?: "");
        if (((p->addr || p->static4) && !*ret_address) || (p->has_addr6 && !*ret_address6)) {
                *ret_address = mfree(*ret_address);
                *ret_address6 = mfree(*ret_address6);
                return -ENOMEM;
        }
        return 0;
}

int network_reserve_address(Network *n, const char *container, const uint8_t mac[6], char **ret_address,
                            char **ret_address6, sd_bus_error *error) {
        const NetworkDef *def = n->live;
        _cleanup_(address_pick_done) AddressPick pick = {};
        int r;

        *ret_address = NULL;
        *ret_address6 = NULL;
        if (!def || (!dhcp4_ip(def) && !network_dhcp6_ip(def)))
                return 0; /* no DHCP: nothing to reserve */

        r = pick_addresses(n, container, mac, &pick, error);
        if (r < 0)
                return r;
        if (pick.addr || pick.has_addr6) {
                r = reservation_add(n, container, mac, &pick);
                if (r < 0)
                        return r;
                r = write_hosts_file(n);
                if (r < 0) {
                        free(n->reservations[--n->n_reservations].container);
                        return sd_bus_error_set_errnof(error, r, "Failed to write the DHCP hosts of network '%s': %m",
                                                       n->name);
                }
                network_reload_dnsmasq(n);
        }
        return pick_text(&pick, ret_address, ret_address6);
}

/* DHCPRELEASE of ADDR for MAC, so that dnsmasq forgets the lease now, not
 * when it expires. */
static void release_lease(Network *n, const uint8_t mac[6], uint32_t addr) {
        _cleanup_free_ char *error = NULL;
        const char *tool = getenv("VIVARIUM_DHCP_RELEASE_PATH");
        char mac_s[18], addr_s[INET_ADDRSTRLEN];
        struct in_addr a = { .s_addr = htonl(addr) };
        int r;

        if (!n->live || !n->live->bridge || !n->has_dnsmasq)
                return;
        if (!tool || !*tool)
                tool = VIV_DHCP_RELEASE_PATH;
        mac_format(mac, mac_s);
        inet_ntop(AF_INET, &a, addr_s, sizeof addr_s);
        r = command_run((char *const[]) { (char *) tool, n->live->bridge, addr_s, mac_s, NULL }, NULL, &error);
        if (r < 0)
                fprintf(stderr,
                        "Failed to release the lease of %s (%s) on network '%s', it stays until it expires (is dnsmasq-utils installed?): %s\n",
                        addr_s, mac_s, n->name, error ? error : strerror(-r));
}

/* The reservations of CONTAINER (every one without), of its interface MAC
 * only when given. */
static void release_where(Network *n, const char *container, const uint8_t *mac) {
        size_t kept = 0;
        bool changed = false;

        for (size_t i = 0; i < n->n_reservations; i++) {
                NetworkReservation *res = &n->reservations[i];

                if ((!container || streq(res->container, container)) && (!mac || memcmp(res->mac, mac, 6) == 0)) {
                        if (res->addr)
                                release_lease(n, res->mac, res->addr);
                        if (res->has_addr6)
                                network_release_lease6(n, &res->addr6);
                        free(res->container);
                        changed = true;
                        continue;
                }
                n->reservations[kept++] = *res;
        }
        n->n_reservations = kept;
        if (!changed)
                return;
        if (write_hosts_file(n) < 0)
                fprintf(stderr, "Failed to rewrite the DHCP hosts of network '%s', ignoring.\n", n->name);
        network_reload_dnsmasq(n);
}

void networks_release_container(Manager *m, const char *container) {
        if (!m->networks)
                return;
        for (Network *n = m->networks->list; n; n = n->next)
                if (n->active) {
                        release_where(n, container, NULL);
                        network_qos_release(n, container, NULL);
                }
}

void network_release_address(Network *n, const char *container, const uint8_t mac[6]) {
        release_where(n, container, mac);
}

bool network_same_address(int family, const char *a, const char *b) {
        uint8_t x[16], y[16];

        if (!a || !b)
                return !a && !b;
        return inet_pton(family, a, x) == 1 && inet_pton(family, b, y) == 1 &&
               memcmp(x, y, family == AF_INET ? 4 : 16) == 0;
}

int network_rereserve_address(Network *n, const char *container, const uint8_t mac[6], const char *old_address,
                              const char *old_address6, char **ret_address, char **ret_address6,
                              sd_bus_error *error) {
        _cleanup_(address_pick_done) AddressPick pick = {};
        _cleanup_free_ char *address = NULL, *address6 = NULL;
        NetworkReservation held = {};
        size_t at = SIZE_MAX;
        bool same4, same6;
        int r;

        *ret_address = NULL;
        *ret_address6 = NULL;
        if (!n->live)
                return 0;
        /* Its own reservation out of the way while a start's choice is made
         * again: it would take its own address for another's. */
        for (size_t i = 0; i < n->n_reservations; i++)
                if (streq(n->reservations[i].container, container) && memcmp(n->reservations[i].mac, mac, 6) == 0) {
                        held = n->reservations[i];
                        at = i;
                        memmove(&n->reservations[i], &n->reservations[i + 1],
                                (n->n_reservations - i - 1) * sizeof(NetworkReservation));
                        n->n_reservations--;
                        break;
                }

        r = pick_addresses(n, container, mac, &pick, error);
        if (r >= 0)
                r = pick_text(&pick, &address, &address6);
        same4 = r >= 0 && network_same_address(AF_INET, old_address, address);
        same6 = r >= 0 && network_same_address(AF_INET6, old_address6, address6);
        if (r < 0 || (same4 && same6)) {
                /* back where it was: nothing changes for this interface */
                if (at != SIZE_MAX) {
                        memmove(&n->reservations[at + 1], &n->reservations[at],
                                (n->n_reservations - at) * sizeof(NetworkReservation));
                        n->reservations[at] = held;
                        n->n_reservations++;
                }
                return r;
        }

        free(held.container);
        r = reservation_add(n, container, mac, &pick);
        if (r >= 0)
                r = write_hosts_file(n);
        if (r < 0)
                fprintf(stderr, "Failed to rewrite the DHCP hosts of network '%s', ignoring: %s\n", n->name,
                        strerror(-r));
        network_reload_dnsmasq(n);
        *ret_address = TAKE_PTR(address);
        *ret_address6 = TAKE_PTR(address6);
        return 1;
}

void network_release_old_leases(Network *n, const uint8_t mac[6], const char *old_address, const char *address,
                                const char *old_address6, const char *address6) {
        if (old_address && !network_same_address(AF_INET, old_address, address)) {
                struct in_addr a;

                if (inet_pton(AF_INET, old_address, &a) == 1)
                        release_lease(n, mac, ntohl(a.s_addr));
        }
        if (old_address6 && !network_same_address(AF_INET6, old_address6, address6)) {
                struct in6_addr a6;

                if (inet_pton(AF_INET6, old_address6, &a6) == 1)
                        network_release_lease6(n, &a6);
        }
}

void network_reservations_clear(Network *n) {
        ARRAY_FOREACH(res, n->reservations, n->n_reservations)
                free(res->container);
        n->reservations = mfree(n->reservations);
        n->n_reservations = 0;
}

/* After a manager restart: the reservations back from the hosts file of
 * each adopted network; those of containers that no longer run are
 * released. */
void networks_adopt_reservations(Manager *m) {
        if (!m->networks)
                return;
        for (Network *n = m->networks->list; n; n = n->next) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                bool stale = false;

                if (!n->active || network_hosts_path(m->networks, n->name, &path) < 0 ||
                    read_full_file(path, &text, NULL) < 0)
                        continue;
                for (const char *l = text; l && *l;) {
                        const char *nl = strchr(l, '\n');
                        char name[DOMAIN_NAME_MAX + 1], mac_s[32], addr_s[64], addr6_s[64] = "-";
                        struct in6_addr a6;
                        uint8_t mac[6];
                        NetworkReservation *res;
                        Container *c;
                        int k;

                        /* "ADDR4 ADDR6", "-" for none; an older manager's: "ADDR4" */
                        k = sscanf(l, "# vivarium %64s %31s %63s %63s", name, mac_s, addr_s, addr6_s);
                        if (k >= 3 && mac_parse_string(mac_s, mac) >= 0 &&
                            (ip4(addr_s) || inet_pton(AF_INET6, addr6_s, &a6) == 1)) {
                                bool has6 = inet_pton(AF_INET6, addr6_s, &a6) == 1;

                                res = reallocarray(n->reservations, n->n_reservations + 1, sizeof(*res));
                                if (!res)
                                        break;
                                n->reservations = res;
                                res = &n->reservations[n->n_reservations];
                                *res = (NetworkReservation) { .container = strdup(name), .addr = ip4(addr_s),
                                                              .has_addr6 = has6 };
                                memcpy(res->mac, mac, 6);
                                /* a <host id=> address comes back as such:
                                 * no line of ours for it, as before */
                                if (has6) {
                                        res->addr6 = a6;
                                        res->addr6_by_duid = network_addr6_by_duid(n->live, mac, &a6);
                                }
                                if (res->container)
                                        n->n_reservations++;
                                c = manager_find_container(m, name);
                                if (!c || !container_is_active(c))
                                        stale = true;
                        }
                        l = nl ? nl + 1 : NULL;
                }
                if (!stale)
                        continue;
                /* release_where() changes the array: look again each time. */
                for (;;) {
                        _cleanup_free_ char *gone = NULL;

                        ARRAY_FOREACH(res, n->reservations, n->n_reservations) {
                                Container *c = manager_find_container(m, res->container);

                                if (!c || !container_is_active(c)) {
                                        gone = strdup(res->container);
                                        break;
                                }
                        }
                        if (!gone)
                                break;
                        fprintf(stderr, "Releasing the address of stopped container '%s' on network '%s'.\n", gone,
                                n->name);
                        release_where(n, gone, NULL);
                }
        }
}

/* The addresses an interface got at its start: its reservation's, or the
 * <host mac=>'s that gave it its IPv4 one without a line of ours. */
static int adopt_lease(Network *n, const char *container, DomainInterface *iface) {
        const NetworkIP *ip = n->live ? dhcp4_ip(n->live) : NULL;
        const char *host;

        ARRAY_FOREACH(res, n->reservations, n->n_reservations)
                if (streq(res->container, container) && memcmp(res->mac, iface->mac, 6) == 0) {
                        const AddressPick held = { .addr = res->addr, .addr6 = res->addr6, .has_addr6 = res->has_addr6 };
                        int r = pick_text(&held, &iface->lease_address, &iface->lease_address6);
                        if (r < 0)
                                return r;
                        break;
                }
        if (iface->lease_address || !ip || !(host = host_address4(ip, iface->mac)))
                return 0;
        return (iface->lease_address = strdup(host)) ? 0 : -ENOMEM;
}

void networks_adopt_leases(Manager *m) {
        if (!m->networks)
                return;
        for (Container *c = m->containers; c; c = c->next) {
                if (!c->live || !container_is_active(c))
                        continue;
                ARRAY_FOREACH(iface, c->live->interfaces, c->live->n_interfaces) {
                        Network *n = iface->type == INTERFACE_NETWORK ? network_find(m->networks, iface->source) : NULL;

                        if (!n || !n->active || iface->lease_address || iface->lease_address6)
                                continue;
                        if (adopt_lease(n, c->name, iface) < 0)
                                fprintf(stderr, "Failed to take back the addresses of container '%s' on network '%s': %s\n",
                                        c->name, n->name, strerror(ENOMEM));
                }
        }
}
