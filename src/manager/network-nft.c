/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* nftables rules of a managed network, in a table of its own
 * (inet vivarium-NAME), loaded in one transaction by `nft -f -`:
 * DHCP/DNS to the host from the bridge, forwarding for nat/route, and the
 * masquerade of the network's subnet out of any other interface for nat.
 * Destroying the network deletes the table, and with it every rule. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "command.h"
#include "macros.h"
#include "netguard.h"
#include "network.h"
#include "xml-util.h"

/* nft identifiers take letters, digits, '_', '.', '-' and '/': a network
 * name's '+' becomes '_'. */
int nft_table_name(const char *network, char **ret) {
        char *s;

        if (asprintf(&s, "vivarium-%s", network) < 0)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                if (*p == '+')
                        *p = '_';
        *ret = s;
        return 0;
}

/* Runs `nft -f -` with SCRIPT on stdin; nft's complaint goes to ret_error. */
static int nft_run(Networks *ns, const char *script, char **ret_error) {
        return command_run((char *const[]) { ns->nft_path, (char *) "-f", (char *) "-", NULL }, script, ret_error);
}

/* "192.168.124.0/24" of 192.168.124.1 prefix 24. */
static int subnet_string(const NetworkIP *ip, char *buf, size_t size) {
        uint8_t a[16];
        size_t n = ip->family == AF_INET ? 4 : 16;
        char text[INET6_ADDRSTRLEN];

        if (inet_pton(ip->family, ip->address, a) != 1)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned bits = ip->prefix > i * 8 ? ip->prefix - (unsigned) i * 8 : 0;
                a[i] &= bits >= 8 ? 0xff : (uint8_t) (0xff << (8 - bits));
        }
        if (!inet_ntop(ip->family, a, text, sizeof text))
                return -EINVAL;
        snprintf(buf, size, "%s/%u", text, ip->prefix);
        return 0;
}

int nft_apply(Networks *ns, const NetworkDef *def, char **ret_error) {
        _cleanup_free_ char *table = NULL, *script = NULL, *out_dev = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        const char *br = def->bridge;
        size_t size = 0;
        bool forwarding = def->forward != NETWORK_FORWARD_ISOLATED;
        int r;

        r = nft_table_name(def->name, &table);
        if (r < 0)
                return r;
        if (def->forward_dev && asprintf(&out_dev, " oifname \"%s\"", def->forward_dev) < 0)
                return -ENOMEM;

        f = open_memstream(&script, &size);
        if (!f)
                return -ENOMEM;

        /* add + delete + define: one transaction that replaces whatever an
         * earlier run left behind. */
        fprintf(f, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", table, table, table);

        /* The host's own firewall may drop by default: guests still get
         * DHCP and DNS from the bridge. */
        fprintf(f,
                "  chain input {\n"
                "    type filter hook input priority filter; policy accept;\n"
                "    iifname \"%s\" udp dport { 53, 67, 547 } accept\n"
                "    iifname \"%s\" tcp dport 53 accept\n"
                "  }\n",
                br, br);

        /* Published ports reach a container from the host's loopback with
         * net.ipv4.conf.BRIDGE.route_localnet=1 (ports.c), which would also
         * let the bridge's guests reach the host's 127.0.0.1: what comes
         * from the bridge with a loopback address is dropped before the
         * kernel routes it (before conntrack too, which undoes the masquerade of
         * the published ports' answers later). */
        fprintf(f,
                "  chain prerouting {\n"
                "    type filter hook prerouting priority raw; policy accept;\n"
                "    iifname \"%s\" ip daddr 127.0.0.0/8 drop\n"
                "    iifname \"%s\" ip saddr 127.0.0.0/8 drop\n"
                "  }\n",
                br, br);

        fprintf(f,
                "  chain forward {\n"
                "    type filter hook forward priority filter; policy accept;\n"
                "    iifname \"%s\" oifname \"%s\" accept\n",
                br, br);
        if (forwarding)
                ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                        const char *fam = ip->family == AF_INET ? "ip" : "ip6";
                        char subnet[INET6_ADDRSTRLEN + 8];

                        if (subnet_string(ip, subnet, sizeof subnet) < 0)
                                continue;
                        /* Out: only the network's own addresses, no spoofing. */
                        fprintf(f, "    iifname \"%s\"%s %s saddr %s accept\n", br, strempty(out_dev), fam, subnet);
                        /* In: answers only for NAT, anything for routed networks. */
                        if (def->forward == NETWORK_FORWARD_NAT && ip->family == AF_INET)
                                fprintf(f, "    oifname \"%s\" %s daddr %s ct state established,related accept\n", br,
                                        fam, subnet);
                        else
                                fprintf(f, "    oifname \"%s\" %s daddr %s accept\n", br, fam, subnet);
                }
        /* A container's published port (ports.c): connections that a
         * DNAT rule of ours sent to the bridge, both ways (an isolated
         * network rejects the rest). */
        fprintf(f, "    oifname \"%s\" ct status dnat accept\n"
                   "    iifname \"%s\" ct status dnat accept\n", br, br);
        if (def->forward != NETWORK_FORWARD_OPEN)
                /* Isolated networks, and everything the rules above did not let through. */
                fprintf(f,
                        "    iifname \"%s\" reject\n"
                        "    oifname \"%s\" reject\n",
                        br, br);
        fputs("  }\n", f);

        if (def->forward == NETWORK_FORWARD_NAT) {
                fputs("  chain postrouting {\n"
                      "    type nat hook postrouting priority srcnat; policy accept;\n", f);
                ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                        char subnet[INET6_ADDRSTRLEN + 8];

                        /* libvirt NATs IPv4 only; IPv6 is routed. */
                        if (ip->family != AF_INET || subnet_string(ip, subnet, sizeof subnet) < 0)
                                continue;
                        /* Multicast and broadcast stay local. */
                        fprintf(f,
                                "    ip saddr %s ip daddr 224.0.0.0/24 return\n"
                                "    ip saddr %s ip daddr 255.255.255.255 return\n"
                                "    ip saddr %s ip daddr != %s oifname != \"%s\"%s masquerade\n",
                                subnet, subnet, subnet, subnet, br, strempty(out_dev));
                }
                fputs("  }\n", f);
        }
        fputs("}\n", f);

        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;

        return nft_run(ns, script, ret_error);
}

int nft_remove(Networks *ns, const char *name) {
        _cleanup_free_ char *table = NULL, *script = NULL, *error = NULL;
        int r;

        r = nft_table_name(name, &table);
        if (r < 0)
                return r;
        /* add first: deleting a table that is not there is no error. */
        if (asprintf(&script, "add table inet %s\ndelete table inet %s\n", table, table) < 0)
                return -ENOMEM;
        r = nft_run(ns, script, &error);
        if (r < 0 && error)
                fprintf(stderr, "nft: %s\n", error);
        return r;
}

/* Also before networks_init() (adoption at start-up). */
const char *nft_path_of(Manager *m) {
        const char *e = getenv("VIVARIUM_NFT_PATH");

        return m->networks ? m->networks->nft_path : e && *e ? e : VIV_NFT_PATH;
}

/* The helper removes its container's anti-spoofing table when it ends; one
 * that was killed (SIGKILL, a crash) left it, with chains that the kernel
 * keeps after their device is gone. */
void nft_remove_guard(Manager *m, const DomainDef *live) {
        _cleanup_free_ char *script = NULL, *error = NULL;
        bool any = false;
        int r;

        if (!live)
                return;
        ARRAY_FOREACH(iface, live->interfaces, live->n_interfaces)
                any = any || netguard_wanted(iface);
        if (!any)
                return;
        r = netguard_remove_script(live->uuid, &script);
        if (r >= 0)
                r = command_run((char *const[]) { (char *) nft_path_of(m), (char *) "-f", (char *) "-", NULL }, script,
                                &error);
        if (r < 0)
                fprintf(stderr, "Failed to remove the anti-spoofing rules of container '%s', ignoring: %s\n",
                        live->name, error ? error : strerror(-r));
}
