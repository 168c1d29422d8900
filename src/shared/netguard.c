/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "netguard.h"

bool netguard_wanted(const DomainInterface *iface) {
        if (iface->filterref)
                return iface->type != INTERFACE_DIRECT;
        if (iface->type == INTERFACE_NETWORK)
                return iface->spoofcheck != SPOOFCHECK_OFF;
        return iface->spoofcheck == SPOOFCHECK_ON && iface->type != INTERFACE_DIRECT;
}

bool netguard_device_name_ok(const char *name) {
        if (!name || !*name)
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '"' || *p == '\\' || (unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int netguard_table_name(const uint8_t uuid[16], char **ret) {
        char u[37];

        uuid_format(uuid, u);
        return asprintf(ret, "vivarium-guard-%s", u) < 0 ? -ENOMEM : 0;
}

static void put_mac_hex(FILE *f, const uint8_t mac[MAC_ADDR_LEN]) {
        fputs("0x", f);
        for (size_t i = 0; i < MAC_ADDR_LEN; i++)
                fprintf(f, "%02x", mac[i]);
}

/* "NET/PREFIX" of ADDRESS, and its broadcast address. */
static int subnet_bounds(const NetGuardSubnet *sn, char ret_net[static 19], char ret_bcast[static 16]) {
        struct in_addr a, net, bcast;
        uint32_t mask;

        if (inet_pton(AF_INET, sn->address, &a) != 1 || sn->prefix > 32)
                return -EINVAL;
        mask = sn->prefix == 0 ? 0 : htonl(~0u << (32 - sn->prefix));
        net.s_addr = a.s_addr & mask;
        bcast.s_addr = a.s_addr | ~mask;
        if (!inet_ntop(AF_INET, &net, ret_net, 16) || !inet_ntop(AF_INET, &bcast, ret_bcast, 16))
                return -EINVAL;
        sprintf(ret_net + strlen(ret_net), "/%u", sn->prefix);
        return 0;
}

static void put_set(FILE *f, const char *const *items, size_t n) {
        fputc('{', f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s %s", i ? "," : "", items[i]);
        fputs(" }", f);
}

/* MACS, checked by netguard_script(), in nft's form. */
static void put_mac_set(FILE *f, const char *const *macs, size_t n) {
        fputc('{', f);
        for (size_t i = 0; i < n; i++) {
                uint8_t mac[MAC_ADDR_LEN];
                char text[18];

                (void) mac_parse_string(macs[i], mac);
                mac_format(mac, text);
                fprintf(f, "%s %s", i ? "," : "", text);
        }
        fputs(" }", f);
}

/* The rules that learn one address in a subnet of the bridge: MATCH is the
 * expression of the source ("ip saddr", "arp saddr ip"), PREFIX what must
 * match before it (the ARP header). */
static int put_learning(FILE *f, size_t index, const NetGuardPort *p, const char *prefix, const char *match) {
        for (size_t i = 0; i < p->n_subnets; i++) {
                char net[19], bcast[16];
                const char *bare;
                int r;

                /* a point-to-point or host address leaves nothing to learn */
                if (p->subnets[i].prefix >= 31)
                        continue;
                r = subnet_bounds(&p->subnets[i], net, bcast);
                if (r < 0)
                        return r;
                bare = strndupa(net, strcspn(net, "/"));
                fprintf(f, "    %s%s %s %s != { %s, %s", prefix, match, net, match, bare, bcast);
                for (size_t j = 0; j < p->n_subnets; j++)
                        fprintf(f, ", %s", p->subnets[j].address);
                fprintf(f, " } add @learned%zu { %s } accept\n", index, match);
        }
        return 0;
}

int netguard_eui64_address(const char *prefix_address, const uint8_t mac[MAC_ADDR_LEN], char ret[static 46]) {
        struct in6_addr a;

        if (inet_pton(AF_INET6, prefix_address, &a) != 1)
                return -EINVAL;
        a.s6_addr[8] = mac[0] ^ 0x02; /* the universal/local bit, inverted */
        a.s6_addr[9] = mac[1];
        a.s6_addr[10] = mac[2];
        a.s6_addr[11] = 0xff;
        a.s6_addr[12] = 0xfe;
        a.s6_addr[13] = mac[3];
        a.s6_addr[14] = mac[4];
        a.s6_addr[15] = mac[5];
        return inet_ntop(AF_INET6, &a, ret, 46) ? 0 : -EINVAL;
}

/* The IPv6 rules of a port: what is not from its own addresses falls to
 * the chain's drop policy. */
static void put_port6(FILE *f, const NetGuardPort *p) {
        /* Never a router (RA, redirect) nor a DHCPv6 server: a container
         * cannot become the others' gateway. */
        fputs("    icmpv6 type { nd-router-advert, nd-redirect } drop\n"
              "    udp sport 547 drop\n", f);
        /* Duplicate address detection and MLD come from :: before an
         * address is usable. */
        fputs("    ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld-listener-report, mld2-listener-report } accept\n", f);
        if (p->n_addresses6 == 0)
                return;
        /* A neighbour advertisement claims its target (16 bytes, 8 into
         * the ICMPv6 header): the IPv6 form of an ARP reply for another's
         * address. */
        fputs("    icmpv6 type nd-neighbor-advert @th,64,128 != {", f);
        for (size_t i = 0; i < p->n_addresses6; i++) {
                struct in6_addr a;

                (void) inet_pton(AF_INET6, p->addresses6[i], &a);
                fprintf(f, "%s 0x", i ? "," : "");
                for (size_t j = 0; j < 16; j++)
                        fprintf(f, "%02x", a.s6_addr[j]);
        }
        fputs(" } drop\n    ip6 saddr ", f);
        put_set(f, p->addresses6, p->n_addresses6);
        fputs(" accept\n", f);
}

static int put_port(FILE *f, size_t index, const NetGuardPort *p) {
        char mac[18], arp[96];
        bool learn = p->n_subnets > 0;
        int r;

        mac_format(p->mac, mac);
        snprintf(arp, sizeof arp, "arp htype 1 arp ptype ip arp hlen 6 arp plen 4 arp saddr ether %s ", mac);
        if (learn && p->learned)
                fprintf(f, "  set learned%zu { type ipv4_addr; size 1; flags dynamic; elements = { %s }; }\n", index,
                        p->learned);
        else if (learn)
                fprintf(f, "  set learned%zu { type ipv4_addr; size 1; flags dynamic; }\n", index);
        fprintf(f,
                "  chain port%zu {\n"
                "    type filter hook ingress device \"%s\" priority filter; policy drop;\n"
                /* The MAC is the container's: no other host's, not the bridge's. */
                "    ether saddr != %s drop\n",
                index, p->device, mac);
        if (p->n_gateway_macs > 0) {
                /* clean-traffic-gateway: besides ARP, the container talks
                 * to its gateways only, not to its neighbours. */
                fputs("    meta protocol != arp ether daddr != ", f);
                put_mac_set(f, p->gateway_macs, p->n_gateway_macs);
                fputs(" drop\n", f);
        }
        if (p->n_addresses > 0) {
                /* An allowed address, once used, takes the one place to
                 * learn (when it is still free): no other is learned after. */
                if (learn) {
                        fprintf(f, "    %sarp saddr ip ", arp);
                        put_set(f, p->addresses, p->n_addresses);
                        fprintf(f, " add @learned%zu { arp saddr ip }\n", index);
                }
                fprintf(f, "    %sarp saddr ip ", arp);
                put_set(f, p->addresses, p->n_addresses);
                fputs(" accept\n", f);
        }
        /* An address probe (RFC 5227) claims nothing. */
        fprintf(f, "    %sarp operation request arp saddr ip 0.0.0.0 accept\n", arp);
        r = put_learning(f, index, p, arp, "arp saddr ip");
        if (r < 0)
                return r;
        /* No DHCP server in a container, and no lease for a made-up client
         * (chaddr, 28 bytes into the DHCP message): one container cannot
         * empty the pool. */
        fputs("    udp sport 67 drop\n"
              "    udp dport 67 @th,288,48 != ", f);
        put_mac_hex(f, p->mac);
        fputs(" drop\n", f);
        /* before learning: the old address is never learned by its
         * renewal. Only to the broadcast address and the bridge's own (the
         * network's DHCP server): the old address may be another
         * container's now, and speaks to nothing else. */
        if (p->renewing) {
                fprintf(f, "    ip saddr %s ip daddr { 255.255.255.255", p->renewing);
                for (size_t k = 0; k < p->n_subnets; k++)
                        fprintf(f, ", %s", p->subnets[k].address);
                fputs(" } udp sport 68 udp dport 67 accept\n", f);
        }
        if (p->n_addresses > 0) {
                if (learn) {
                        fputs("    ip saddr ", f);
                        put_set(f, p->addresses, p->n_addresses);
                        fprintf(f, " add @learned%zu { ip saddr }\n", index);
                }
                fputs("    ip saddr ", f);
                put_set(f, p->addresses, p->n_addresses);
                fputs(" accept\n", f);
        }
        r = put_learning(f, index, p, "", "ip saddr");
        if (r < 0)
                return r;
        /* DHCPDISCOVER/REQUEST before there is a lease. */
        fputs("    ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept\n", f);
        put_port6(f, p);
        fputs("  }\n", f);
        if (p->n_dhcp_servers == 0 && p->n_gateway_macs == 0)
                return 0;
        /* Frames towards the container leave the host side at its egress. */
        fprintf(f,
                "  chain port%zu-egress {\n"
                "    type filter hook egress device \"%s\" priority filter; policy accept;\n",
                index, p->device);
        if (p->n_gateway_macs > 0) {
                /* meta protocol, not ether type: nft 1.0.6 merges two
                 * adjacent header fields (source, type) into one compare,
                 * which makes two != an "or". */
                fputs("    meta protocol != arp ether saddr != ", f);
                put_mac_set(f, p->gateway_macs, p->n_gateway_macs);
                fputs(" drop\n", f);
        }
        if (p->n_dhcp_servers > 0) {
                /* DHCPSERVER: a lease from another server (a rogue one on
                 * the bridge) never reaches the container. */
                fputs("    udp sport 67 udp dport 68 ip saddr != ", f);
                put_set(f, p->dhcp_servers, p->n_dhcp_servers);
                fputs(" drop\n", f);
        }
        fputs("  }\n", f);
        return 0;
}

int netguard_script(const uint8_t uuid[16], const char *container, const NetGuardPort *ports, size_t n_ports,
                    char **ret) {
        _cleanup_free_ char *table = NULL, *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size = 0;
        int r;

        for (size_t i = 0; i < n_ports; i++) {
                if (!netguard_device_name_ok(ports[i].device))
                        return -EINVAL;
                for (size_t j = 0; j < ports[i].n_addresses; j++) {
                        struct in_addr a;
                        if (inet_pton(AF_INET, ports[i].addresses[j], &a) != 1)
                                return -EINVAL;
                }
                for (size_t j = 0; j < ports[i].n_addresses6; j++) {
                        struct in6_addr a;
                        if (inet_pton(AF_INET6, ports[i].addresses6[j], &a) != 1)
                                return -EINVAL;
                }
                for (size_t j = 0; j < ports[i].n_dhcp_servers; j++) {
                        struct in_addr a;
                        if (inet_pton(AF_INET, ports[i].dhcp_servers[j], &a) != 1)
                                return -EINVAL;
                }
                for (size_t j = 0; j < 2; j++) {
                        const char *one = j == 0 ? ports[i].learned : ports[i].renewing;
                        struct in_addr a;

                        if (one && inet_pton(AF_INET, one, &a) != 1)
                                return -EINVAL;
                }
                for (size_t j = 0; j < ports[i].n_gateway_macs; j++) {
                        uint8_t mac[MAC_ADDR_LEN];
                        if (mac_parse_string(ports[i].gateway_macs[j], mac) < 0)
                                return -EINVAL;
                }
        }
        r = netguard_table_name(uuid, &table);
        if (r < 0)
                return r;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        /* add + delete + define: one transaction that replaces what a killed
         * helper of an earlier run may have left. */
        fprintf(f, "add table netdev %s\ndelete table netdev %s\ntable netdev %s {\n", table, table, table);
        /* Container names are [A-Za-z0-9_.+-]: nothing to quote. */
        fprintf(f, "  comment \"anti-spoofing of container %s\"\n", container);
        for (size_t i = 0; i < n_ports; i++) {
                r = put_port(f, i, &ports[i]);
                if (r < 0)
                        return r;
        }
        fputs("}\n", f);
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

int netguard_remove_script(const uint8_t uuid[16], char **ret) {
        _cleanup_free_ char *table = NULL;
        int r;

        r = netguard_table_name(uuid, &table);
        if (r < 0)
                return r;
        /* add first: deleting a table that is not there is no error. */
        return asprintf(ret, "add table netdev %s\ndelete table netdev %s\n", table, table) < 0 ? -ENOMEM : 0;
}

/* One slot a port index: what its set learned and its chain's device. */
typedef struct PortSeen {
        char address[16];
        char device[16];
} PortSeen;

#define PORTS_SEEN_MAX 1024

int netguard_parse_learned(const char *listing, NetGuardLearned **ret, size_t *ret_n) {
        _cleanup_free_ PortSeen *seen = calloc(PORTS_SEEN_MAX, sizeof(PortSeen));
        _cleanup_free_ NetGuardLearned *out = NULL;
        size_t n_out = 0, set = SIZE_MAX, chain = SIZE_MAX;

        if (!seen)
                return -ENOMEM;
        for (const char *line = listing; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                const char *l = line + strspn(line, " \t");
                size_t index;
                char tail[3];

                /* "set learnedN {" opens a set; "chain portN {" a port's
                 * ingress chain ("portN-egress {" does not match: tail) */
                if (sscanf(l, "set learned%zu %2s", &index, tail) == 2 && streq(tail, "{")) {
                        set = index < PORTS_SEEN_MAX ? index : SIZE_MAX;
                        continue;
                }
                if (sscanf(l, "chain port%zu %2s", &index, tail) == 2 && streq(tail, "{")) {
                        chain = index < PORTS_SEEN_MAX ? index : SIZE_MAX;
                        continue;
                }
                if (startswith(l, "}")) {
                        set = chain = SIZE_MAX;
                        continue;
                }
                const char *a = startswith(l, "elements = { ");
                const char *d = startswith(l, "type filter hook ingress device \"");
                if (set != SIZE_MAX && a) {
                        size_t len = strcspn(a, " ,}\n");
                        struct in_addr in;

                        if (len == 0 || len >= sizeof(seen[set].address))
                                return -EINVAL;
                        memcpy(seen[set].address, a, len);
                        seen[set].address[len] = 0;
                        if (inet_pton(AF_INET, seen[set].address, &in) != 1)
                                return -EINVAL;
                        continue;
                }
                if (chain != SIZE_MAX && d) {
                        size_t len = strcspn(d, "\"\n");

                        if (len > 0 && len < sizeof(seen[chain].device)) {
                                memcpy(seen[chain].device, d, len);
                                seen[chain].device[len] = 0;
                        }
                }
        }

        out = calloc(PORTS_SEEN_MAX, sizeof(NetGuardLearned));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < PORTS_SEEN_MAX; i++)
                if (seen[i].address[0] && seen[i].device[0]) {
                        memcpy(out[n_out].device, seen[i].device, sizeof(out[n_out].device));
                        memcpy(out[n_out].address, seen[i].address, sizeof(out[n_out].address));
                        n_out++;
                }
        *ret = TAKE_PTR(out);
        *ret_n = n_out;
        return 0;
}
