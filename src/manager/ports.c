/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Published ports (<vivarium:port> in an <interface>): an nftables table
 * per running container, "inet vivarium-ports-UUID", of DNAT rules from a
 * port of the host to the container's address on that interface, IPv4 and
 * IPv6. The manager loads it before the helper runs and deletes it on every
 * way the container ends (container_reset_runtime()); a restarted manager
 * loads it again for each container it adopts. The helper never touches it.
 *
 * Where the connection comes from:
 * - another host or namespace, to an address of the host: prerouting DNAT;
 * - a process of the host, to one of its own addresses: output DNAT;
 * - the host's IPv4 loopback (127.0.0.1): output DNAT too, and then the
 *   kernel refuses to route a packet with a 127/8 source out of a real
 *   device unless that device has route_localnet. So, on managed networks
 *   only (their bridge is Vivarium's), the bridge gets
 *   net.ipv4.conf.BRIDGE.route_localnet=1, those connections are
 *   masqueraded to the bridge's address (the container never sees 127/8),
 *   and the network's table drops whatever comes from the bridge with a
 *   loopback address (network-nft.c): the guests cannot use the sysctl to
 *   reach the host's 127.0.0.1 services (CVE-2020-8558 of kube-proxy).
 * - the host's IPv6 loopback (::1): no DNAT can work. The kernel drops the
 *   answer once the masquerade is undone (a ::1 destination arriving on a
 *   real device has no route, Ip6InNoRoutes), and IPv6 has no
 *   route_localnet. So [::1]:PORT of a TCP port is a relay, as Docker's
 *   docker-proxy and Incus' proxy device do it: a transient socket unit
 *   listening there (vivarium-port-UUID-PORT.socket) that activates
 *   vivarium-tcp-relay (src/relay/), which connects to the container's
 *   IPv6 address (its IPv4 one when it has none) and keeps half-close,
 *   which systemd-socket-proxyd lacks.
 *   A UDP port the same way (vivarium-port-UUID-udp-PORT.socket, a datagram
 *   socket), with vivarium-udp-relay: a flow per client, dropped when idle.
 *   systemd binds the socket, so the relay runs without any privilege
 *   (DynamicUser=yes); both units outlive a manager, like the table, and go
 *   with it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bus-names.h"
#include "command.h"
#include "fileio.h"
#include "macros.h"
#include "manager.h"
#include "netguard.h"
#include "network.h"

static int ports_table_name(const uint8_t uuid[16], char **ret) {
        char u[37];

        uuid_format(uuid, u);
        return asprintf(ret, "vivarium-ports-%s", u) < 0 ? -ENOMEM : 0;
}

/* The relay of [::1]:PORT (above): "vivarium-port-UUID-PORT.socket" (TCP)
 * or "vivarium-port-UUID-udp-PORT.socket", and its ".service". */
static int relay_unit_name(const uint8_t uuid[16], const DomainPort *port, const char *suffix, char **ret) {
        char u[37];

        uuid_format(uuid, u);
        return asprintf(ret, "vivarium-port-%s-%s%u.%s", u, port->protocol == PORT_PROTOCOL_UDP ? "udp-" : "",
                        port->host_port, suffix) < 0 ? -ENOMEM : 0;
}

static bool port_relayed(const DomainPort *port) {
        return !port->address || streq(port->address, "::1");
}

static int relay_start(Manager *m, const DomainDef *live, const DomainPort *port, const char *addr,
                       sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *socket = NULL, *service = NULL, *listen = NULL, *target = NULL, *description = NULL;
        bool udp = port->protocol == PORT_PROTOCOL_UDP;
        const char *program = udp ? VIV_UDP_RELAY_PATH : VIV_TCP_RELAY_PATH;
        int r;

        if (relay_unit_name(live->uuid, port, "socket", &socket) < 0 ||
            relay_unit_name(live->uuid, port, "service", &service) < 0 ||
            asprintf(&listen, "[::1]:%u", port->host_port) < 0 ||
            asprintf(&target, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port->container_port) < 0 ||
            asprintf(&description, "Port %s/%u of container %s on [::1]", port_protocol_to_string(port->protocol),
                     port->host_port, live->name) < 0)
                return -ENOMEM;

        r = sd_bus_message_new_method_call(m->bus, &msg, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE,
                                           "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(msg, "ss", socket, "fail");
        if (r >= 0)
                r = sd_bus_message_append(msg, "a(sv)", 4,
                                          "Description", "s", description,
                                          "Listen", "a(ss)", 1, udp ? "Datagram" : "Stream", listen,
                                          "BindIPv6Only", "s", "ipv6-only",
                                          "CollectMode", "s", "inactive-or-failed");
        if (r >= 0)
                r = sd_bus_message_append(msg, "a(sa(sv))", 1, service, 4,
                                          "Description", "s", description,
                                          "ExecStart", "a(sasb)", 1, program, 2, program, target, 0,
                                          "DynamicUser", "b", 1,
                                          "CollectMode", "s", "inactive-or-failed");
        if (r >= 0)
                r = sd_bus_call(m->bus, msg, 0, &error, &reply);
        /* Loaded again by a restarted manager: the units are there still. */
        if (r < 0 && sd_bus_error_has_name(&error, "org.freedesktop.systemd1.UnitExists"))
                return 0;
        if (r < 0)
                return sd_bus_error_setf(ret_error, VIV_ERROR_START_FAILED, "Failed to relay %s [::1]:%u to container '%s' (%s): %s",
                                         port_protocol_to_string(port->protocol), port->host_port, live->name, socket,
                                         error.message ? error.message : strerror(-r));
        return 0;
}

static void relay_stop(Manager *m, const DomainDef *live, const DomainPort *port) {
        static const char *const suffixes[] = { "socket", "service" };

        ARRAY_FOREACH(suffix, suffixes, ELEMENTSOF(suffixes)) {
                _cleanup_free_ char *unit = NULL;

                if (!m->bus || relay_unit_name(live->uuid, port, *suffix, &unit) < 0)
                        continue;
                (void) sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "StopUnit",
                                                NULL, NULL, "ss", unit, "replace");
        }
}

static bool def_has_ports(const DomainDef *def) {
        if (!def)
                return false;
        ARRAY_FOREACH(iface, def->interfaces, def->n_interfaces)
                if (iface->n_ports > 0)
                        return true;
        return false;
}

int ports_check_free(Manager *m, const Container *c, const DomainDef *live, sd_bus_error *error) {
        ARRAY_FOREACH(iface, live->interfaces, live->n_interfaces)
                ARRAY_FOREACH(port, iface->ports, iface->n_ports)
                        for (Container *o = m->containers; o; o = o->next) {
                                if (o == c || !o->live || !container_is_active(o))
                                        continue;
                                ARRAY_FOREACH(oi, o->live->interfaces, o->live->n_interfaces)
                                        ARRAY_FOREACH(other, oi->ports, oi->n_ports)
                                                if (domain_ports_collide(port, other))
                                                        return sd_bus_error_setf(
                                                                error, VIV_ERROR_START_FAILED,
                                                                "Host port %s/%u of container '%s' is already published by container '%s'",
                                                                port_protocol_to_string(port->protocol),
                                                                port->host_port, c->name, o->name);
                        }
        return 0;
}

/* The container's address of each family on IFACE that a port is
 * forwarded to, with the prefix of its subnet: the first IPv4/IPv6 <ip>,
 * else the IPv4 and IPv6 addresses its managed network's DHCP keeps for
 * it, else the IPv6 address it autoconfigures in the network's /64
 * (netguard_eui64_address()). "" for none. */
typedef struct TargetAddresses {
        char addr4[46], addr6[46];
        unsigned prefix4, prefix6;
        const char *bridge; /* a managed network's bridge, else NULL */
} TargetAddresses;

static void target_addresses(Manager *m, const DomainInterface *iface, TargetAddresses *ret) {
        Network *n = NULL;

        *ret = (TargetAddresses) { .prefix4 = 32, .prefix6 = 128 };
        ARRAY_FOREACH(ip, iface->ips, iface->n_ips) {
                bool v4 = ip->family == AF_INET;
                char *dst = v4 ? ret->addr4 : ret->addr6;

                if (dst[0])
                        continue;
                snprintf(dst, 46, "%s", ip->address);
                *(v4 ? &ret->prefix4 : &ret->prefix6) = ip->prefix;
        }
        if (iface->type != INTERFACE_NETWORK)
                return;
        if (m->networks)
                n = network_find(m->networks, iface->source);
        if (!ret->addr4[0] && iface->lease_address) {
                snprintf(ret->addr4, sizeof ret->addr4, "%s", iface->lease_address);
                if (n && n->live)
                        ARRAY_FOREACH(ip, n->live->ips, n->live->n_ips)
                                if (ip->family == AF_INET) {
                                        ret->prefix4 = ip->prefix;
                                        break;
                                }
        }
        if (!n || !n->live)
                return;
        ret->bridge = n->live->bridge;
        if (!ret->addr6[0] && iface->lease_address6) {
                /* stateful DHCPv6: the address the network keeps for it */
                const NetworkIP *ip6 = network_dhcp6_ip(n->live);

                snprintf(ret->addr6, sizeof ret->addr6, "%s", iface->lease_address6);
                ret->prefix6 = ip6 ? ip6->prefix : 64;
        }
        if (!ret->addr6[0])
                ARRAY_FOREACH(ip, n->live->ips, n->live->n_ips)
                        if (ip->family == AF_INET6 && ip->prefix == 64 &&
                            netguard_eui64_address(ip->address, iface->mac, ret->addr6) >= 0) {
                                ret->prefix6 = 64;
                                break;
                        }
}

static void put_rules(FILE *f, const DomainPort *port, const char *addr4, const char *addr6, bool loopback4) {
        const char *proto = port_protocol_to_string(port->protocol);
        bool v6_address = port->address && strchr(port->address, ':');

        if (addr4[0] && !v6_address) {
                if (port->address)
                        fprintf(f, "    ip daddr %s", port->address);
                else
                        fprintf(f, "    fib daddr type local%s", loopback4 ? "" : " ip daddr != 127.0.0.0/8");
                fprintf(f, " %s dport %u dnat ip to %s:%u\n", proto, port->host_port, addr4, port->container_port);
        }
        /* [::1] is the relay's (above) */
        if (addr6[0] && (v6_address || !port->address) && !streq_ptr(port->address, "::1")) {
                if (port->address)
                        fprintf(f, "    ip6 daddr %s", port->address);
                else
                        fputs("    fib daddr type local ip6 daddr != ::1", f);
                fprintf(f, " %s dport %u dnat ip6 to [%s]:%u\n", proto, port->host_port, addr6, port->container_port);
        }
}

/* Connections to a published port that need a new source address, as
 * docker's and podman's do:
 * - from 127/8 (see the top);
 * - hairpinned ones: from the container's own subnet (another container
 *   on its bridge, or the container itself, through an address of the
 *   host). Once DNATed, such a connection goes back out the interface it
 *   came from, and without the masquerade the answer would go straight to
 *   the client, from an address it did not call (or, for the container
 *   itself, arrive with its own address as the source, which the kernel
 *   drops as a martian). */
static void put_masquerade(FILE *f, const DomainPort *port, const TargetAddresses *t, bool loopback4) {
        const char *proto = port_protocol_to_string(port->protocol);

        if (t->addr4[0] && loopback4)
                fprintf(f, "    ip saddr 127.0.0.0/8 ip daddr %s %s dport %u ct status dnat masquerade\n", t->addr4,
                        proto, port->container_port);
        /* nft takes the address with a prefix as the subnet's */
        if (t->addr4[0])
                fprintf(f, "    ip saddr %s/%u ip daddr %s %s dport %u ct status dnat masquerade\n", t->addr4,
                        t->prefix4, t->addr4, proto, port->container_port);
        if (t->addr6[0])
                fprintf(f, "    ip6 saddr %s/%u ip6 daddr %s %s dport %u ct status dnat masquerade\n", t->addr6,
                        t->prefix6, t->addr6, proto, port->container_port);
}

static int ports_script(Manager *m, const DomainDef *live, char **ret_script, char ***ret_bridges,
                        sd_bus_error *error) {
        _cleanup_free_ char *table = NULL, *text = NULL, *rules = NULL, *post = NULL;
        _cleanup_fclose_ FILE *f = NULL, *rf = NULL, *pf = NULL;
        _cleanup_free_ char **bridges = NULL;
        size_t size = 0, rsize = 0, psize = 0, n_bridges = 0;
        int r;

        r = ports_table_name(live->uuid, &table);
        if (r < 0)
                return r;
        bridges = calloc(live->n_interfaces + 1, sizeof(char *));
        rf = open_memstream(&rules, &rsize);
        pf = open_memstream(&post, &psize);
        if (!bridges || !rf || !pf)
                return -ENOMEM;

        for (size_t i = 0; i < live->n_interfaces; i++) {
                const DomainInterface *iface = &live->interfaces[i];
                TargetAddresses t;
                const char *bridge, *addr4 = t.addr4, *addr6 = t.addr6;

                if (iface->n_ports == 0)
                        continue;
                target_addresses(m, iface, &t);
                bridge = t.bridge;
                if (!addr4[0] && !addr6[0])
                        return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                                 "Interface %zu of container '%s' has no known address to publish its ports to: give it an <ip> or put it on a managed network with DHCP or an IPv6 /64",
                                                 i, live->name);
                if (bridge && !netguard_device_name_ok(bridge))
                        bridge = NULL;
                if (bridge && addr4[0])
                        bridges[n_bridges++] = (char *) bridge;
                ARRAY_FOREACH(port, iface->ports, iface->n_ports) {
                        if (port->address && !streq(port->address, "::1") &&
                            !(strchr(port->address, ':') ? addr6[0] : addr4[0]))
                                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                                         "Port %s/%u of container '%s' is published on %s, but interface %zu has no %s address",
                                                         port_protocol_to_string(port->protocol), port->host_port,
                                                         live->name, port->address, i,
                                                         strchr(port->address, ':') ? "IPv6" : "IPv4");
                        if (port->address && strncmp(port->address, "127.", 4) == 0 && !(bridge && addr4[0]))
                                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                                         "Port %s/%u of container '%s' is published on %s, which works on a managed network (type='network') only",
                                                         port_protocol_to_string(port->protocol), port->host_port,
                                                         live->name, port->address);
                        put_rules(rf, port, addr4, addr6, bridge && addr4[0]);
                        put_masquerade(pf, port, &t, bridge && addr4[0]);
                }
        }
        if (fclose(TAKE_PTR(rf)) != 0 || fclose(TAKE_PTR(pf)) != 0)
                return -ENOMEM;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        /* add + delete + define: one transaction that replaces what an
         * earlier manager loaded. Container names need no quoting. */
        fprintf(f,
                "add table inet %s\ndelete table inet %s\ntable inet %s {\n"
                "  comment \"published ports of container %s\"\n"
                "  chain prerouting {\n"
                "    type nat hook prerouting priority -100; policy accept;\n%s"
                "  }\n"
                "  chain output {\n"
                "    type nat hook output priority -100; policy accept;\n%s"
                "  }\n"
                "  chain postrouting {\n"
                "    type nat hook postrouting priority 100; policy accept;\n%s"
                "  }\n"
                "}\n",
                table, table, table, live->name, rules, rules, post);
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        *ret_script = TAKE_PTR(text);
        *ret_bridges = TAKE_PTR(bridges);
        return 0;
}

/* The container's table, made anew in one transaction (ports_script()). */
static int load_rules(Manager *m, const DomainDef *live, sd_bus_error *error) {
        _cleanup_free_ char *script = NULL, *nft_error = NULL;
        _cleanup_free_ char **bridges = NULL;
        int r;

        r = ports_script(m, live, &script, &bridges, error);
        if (r < 0) {
                if (sd_bus_error_is_set(error))
                        return r;
                return sd_bus_error_set_errnof(error, r, "Failed to write the port rules of container '%s': %m",
                                               live->name);
        }
        for (char **b = bridges; *b; b++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "/proc/sys/net/ipv4/conf/%s/route_localnet", *b) < 0)
                        return -ENOMEM;
                r = write_sysctl(path, "1\n");
                if (r < 0)
                        fprintf(stderr, "Failed to set %s, ignoring (no published port from 127.0.0.1): %s\n", path,
                                strerror(-r));
        }
        r = command_run((char *const[]) { (char *) nft_path_of(m), (char *) "-f", (char *) "-", NULL }, script,
                        &nft_error);
        if (r < 0)
                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED, "Failed to load the port rules of container '%s': %s",
                                         live->name, nft_error ? nft_error : strerror(-r));
        return 0;
}

int ports_reload(Manager *m, const DomainDef *live, sd_bus_error *error) {
        if (!def_has_ports(live))
                return 0;
        return load_rules(m, live, error);
}

int ports_apply(Manager *m, const DomainDef *live, sd_bus_error *error) {
        int r;

        if (!def_has_ports(live))
                return 0;
        r = load_rules(m, live, error);
        if (r < 0)
                return r;
        ARRAY_FOREACH(iface, live->interfaces, live->n_interfaces) {
                TargetAddresses t;

                if (iface->n_ports == 0)
                        continue;
                target_addresses(m, iface, &t);
                ARRAY_FOREACH(port, iface->ports, iface->n_ports)
                        if (port_relayed(port)) {
                                /* a relay crosses families: an IPv4-only
                                 * container is on [::1] too */
                                r = relay_start(m, live, port, t.addr6[0] ? t.addr6 : t.addr4, error);
                                if (r < 0)
                                        return r;
                        }
        }
        return 0;
}

void ports_remove(Manager *m, const DomainDef *live) {
        _cleanup_free_ char *table = NULL, *script = NULL, *error = NULL;
        int r;

        if (!def_has_ports(live))
                return;
        ARRAY_FOREACH(iface, live->interfaces, live->n_interfaces)
                ARRAY_FOREACH(port, iface->ports, iface->n_ports)
                        if (port_relayed(port))
                                relay_stop(m, live, port);
        r = ports_table_name(live->uuid, &table);
        if (r >= 0 && asprintf(&script, "add table inet %s\ndelete table inet %s\n", table, table) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = command_run((char *const[]) { (char *) nft_path_of(m), (char *) "-f", (char *) "-", NULL }, script,
                                &error);
        if (r < 0)
                fprintf(stderr, "Failed to remove the port rules of container '%s', ignoring: %s\n", live->name,
                        error ? error : strerror(-r));
}

/* After a manager restart, once containers and networks are adopted: the
 * tables outlive a manager, and are loaded again from what the live
 * definitions say now, with the addresses each managed network keeps for
 * an interface (networks_adopt_leases(); the live XML never holds them). */
void ports_adopt(Manager *m) {
        for (Container *c = m->containers; c; c = c->next) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (!container_is_active(c) || !def_has_ports(c->live))
                        continue;
                if (ports_apply(m, c->live, &error) < 0)
                        fprintf(stderr, "Failed to load the port rules of container '%s' again, ignoring: %s\n",
                                c->name, error.message);
        }
}
