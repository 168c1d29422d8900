/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl net-dhcp-leases and domifaddr: addresses as the host's manager
 * sees them (dnsmasq's leases, the host's neighbour table), with virsh's
 * tables. Both ask the manager, so that they answer for the host that the
 * connection reaches, over ssh too. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-names.h"
#include "ctl-output.h"
#include "ctl.h"

static const char *dash_if_empty(const char *s) {
        return s && *s ? s : "-";
}

static const char *protocol_name(int32_t type) {
        return type == 1 ? "ipv6" : "ipv4";
}

static int verb_net_dhcp_leases(Context *c, const VerbArgs *a) {
        static const char *const headers[] = { "Expiry Time", "MAC address", "Protocol", "IP address", "Hostname",
                                               "Client ID or DUID" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *network = NULL, *failure = NULL;
        const char *mac = args_get(a, "mac");
        int r;

        r = ctl_resolve_network(c, args_get(a, "network"), &network);
        if (r < 0)
                return r;
        if (asprintf(&failure, "Failed to get leases info for %s", network) < 0)
                return ctl_error(-ENOMEM, "Out of memory");
        r = ctl_net_call(c, network, failure, "GetNetworkDHCPLeases", &reply, "ss", network, mac ?: "");
        if (r < 0)
                return r;

        t = table_new(ELEMENTSOF(headers), headers);
        if (!t)
                return ctl_error(-ENOMEM, "Out of memory");
        r = sd_bus_message_enter_container(reply, 'a', "(stisssuss)");
        while (r >= 0) {
                const char *iface, *lmac, *iaid, *addr, *host, *client;
                _cleanup_free_ char *ip = NULL;
                char expiry[32] = "-";
                uint64_t when;
                uint32_t prefix;
                int32_t type;

                r = sd_bus_message_read(reply, "(stisssuss)", &iface, &when, &type, &lmac, &iaid, &addr, &prefix,
                                        &host, &client);
                if (r <= 0)
                        break;
                if (when > 0) {
                        time_t tt = (time_t) when;
                        struct tm tm;

                        if (localtime_r(&tt, &tm))
                                strftime(expiry, sizeof expiry, "%Y-%m-%d %H:%M:%S", &tm);
                }
                if (asprintf(&ip, "%s/%u", addr, prefix) < 0)
                        return ctl_error(-ENOMEM, "Out of memory");
                const char *cells[] = { expiry, dash_if_empty(lmac), protocol_name(type), ip, dash_if_empty(host),
                                        dash_if_empty(client) };
                if (table_add_row(t, cells) < 0)
                        return ctl_error(-ENOMEM, "Out of memory");
        }
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of GetNetworkDHCPLeases: %s", strerror(-r));
        return table_print(t, stdout);
}

static int verb_domifaddr(Context *c, const VerbArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *name = NULL;
        const char *only = args_get(a, "interface"), *source = args_get(a, "source") ?: "lease";
        bool full = args_flag(a, "full");
        int r;

        /* virsh's own check, before any call */
        if (!streq(source, "lease") && !streq(source, "arp") && !streq(source, "agent"))
                return ctl_error(-EINVAL, "Unknown data source '%s'", source);
        if (streq(source, "agent"))
                return ctl_error(-EOPNOTSUPP,
                                 "Operation not supported: a container has no guest agent; use --source lease or --source arp");

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        r = ctl_call(c, name, "GetInterfaceAddresses", &reply, "ss", name, source);
        if (r < 0)
                return r;

        /* virsh prints this one with fixed widths, not as a table. */
        printf(" %-10s %-20s %-8s     %s\n%s%s\n", "Name", "MAC address", "Protocol", "Address",
               "-------------------------------------------------", "------------------------------");

        r = sd_bus_message_enter_container(reply, 'a', "(ssa(isu))");
        while (r >= 0) {
                const char *dev, *mac;
                bool first = true;

                r = sd_bus_message_enter_container(reply, 'r', "ssa(isu)");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "ss", &dev, &mac);
                if (r < 0)
                        break;
                r = sd_bus_message_enter_container(reply, 'a', "(isu)");
                while (r >= 0) {
                        const char *addr;
                        uint32_t prefix;
                        int32_t type;
                        _cleanup_free_ char *text = NULL;

                        r = sd_bus_message_read(reply, "(isu)", &type, &addr, &prefix);
                        if (r <= 0)
                                break;
                        if (only && !streq(only, dev))
                                continue;
                        if (asprintf(&text, "%s/%u", addr, prefix) < 0)
                                return ctl_error(-ENOMEM, "Out of memory");
                        /* As virsh: name and MAC on an interface's first line
                         * only, "-" on the next ones unless --full. */
                        if (first || full)
                                printf(" %-10s %-17s    %-12s %s\n", dev, mac, protocol_name(type), text);
                        else
                                printf(" %-10s %-17s    %-12s %s\n", "-", "-", protocol_name(type), text);
                        first = false;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of GetInterfaceAddresses: %s", strerror(-r));
        return 0;
}

static const VerbOption dhcp_leases_options[] = {
        { "network", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "network name" },
        { "mac", OPT_STRING, 0, "MAC address" },
        {}
};

static const VerbOption domifaddr_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "interface", OPT_STRING, OPT_POSITIONAL, "network interface name" },
        { "full", OPT_BOOL, 0, "always display names and MACs of interfaces" },
        { "source", OPT_STRING, 0, "address source: 'lease' or 'arp' ('agent' needs a guest agent)" },
        {}
};

const Verb verb_table_netaddr[] = {
        { "net-dhcp-leases", "Networking", "print lease info for a given network",
          "Print the current DHCP leases of a managed network, as its dnsmasq\n"
          "recorded them, optionally only those of one MAC address.",
          dhcp_leases_options, VERB_NEEDS_URI, verb_net_dhcp_leases },
        { "domifaddr", "Domain Monitoring", "Get network interfaces' addresses for a running domain",
          "Get network interfaces' addresses for a running domain: from the DHCP\n"
          "leases of the managed networks its interfaces are on (--source lease,\n"
          "the default) or from the host's neighbour table on the bridge each\n"
          "interface is attached to (--source arp). A container has no guest\n"
          "agent: --source agent is refused.",
          domifaddr_options, VERB_NEEDS_URI, verb_domifaddr },
        {}
};
