/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "netguard.h"

bool netguard_wanted(const DomainInterface *iface) {
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

static void put_port(FILE *f, size_t index, const NetGuardPort *p) {
        char mac[18];

        mac_format(p->mac, mac);
        fprintf(f,
                "  chain port%zu {\n"
                "    type filter hook ingress device \"%s\" priority filter; policy drop;\n"
                /* The MAC is the container's: no other host's, not the bridge's. */
                "    ether saddr != %s drop\n",
                index, p->device, mac);
        if (p->n_addresses > 0) {
                fprintf(f, "    arp htype 1 arp ptype ip arp hlen 6 arp plen 4 arp saddr ether %s arp saddr ip {", mac);
                for (size_t i = 0; i < p->n_addresses; i++)
                        fprintf(f, "%s %s", i ? "," : "", p->addresses[i]);
                fputs(" } accept\n", f);
        }
        /* An address probe (RFC 5227) claims nothing. */
        fprintf(f,
                "    arp htype 1 arp ptype ip arp hlen 6 arp plen 4 arp operation request arp saddr ether %s arp saddr ip 0.0.0.0 accept\n",
                mac);
        /* No DHCP server in a container, and no lease for a made-up client
         * (chaddr, 28 bytes into the DHCP message): one container cannot
         * empty the pool. */
        fputs("    udp sport 67 drop\n"
              "    udp dport 67 @th,288,48 != ", f);
        put_mac_hex(f, p->mac);
        fputs(" drop\n", f);
        if (p->n_addresses > 0) {
                fputs("    ip saddr {", f);
                for (size_t i = 0; i < p->n_addresses; i++)
                        fprintf(f, "%s %s", i ? "," : "", p->addresses[i]);
                fputs(" } accept\n", f);
        }
        /* DHCPDISCOVER/REQUEST before there is a lease. */
        fputs("    ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept\n"
              "  }\n", f);
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
        for (size_t i = 0; i < n_ports; i++)
                put_port(f, i, &ports[i]);
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
