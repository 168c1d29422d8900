/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl net-edit and net-update: a network's definition changed in an
 * editor, or one entry of it changed in place (and in the running network),
 * with virsh's messages. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl.h"

#define NO_SUCH_NETWORK      "org.vivarium1.Error.NoSuchNetwork"
#define NETWORK_XML_INACTIVE UINT64_C(1)

/* libvirt's VIR_NETWORK_UPDATE_AFFECT_* */
#define UPDATE_AFFECT_CURRENT UINT64_C(0)
#define UPDATE_AFFECT_LIVE    UINT64_C(1)
#define UPDATE_AFFECT_CONFIG  UINT64_C(2)

/* --- net-edit ----------------------------------------------------------------- */

static int define_network(Context *c, const char *xml, sd_bus_message **ret_reply) {
        return ctl_net_call(c, NULL, NULL, "DefineNetworkXML", ret_reply, "s", xml);
}

static int verb_net_edit(Context *c, const VerbArgs *a) {
        static const EditTarget network = {
                .kind = "Network", .what = "network", .quote_name = false,
                .get_xml = ctl_get_network_xml, .inactive_flag = NETWORK_XML_INACTIVE,
                .define = define_network, .define_member = "DefineNetworkXML", .path_prefix = VIV_NETWORK_PREFIX,
        };
        _cleanup_free_ char *name = NULL;
        int r;

        r = ctl_resolve_network(c, args_get(a, "network"), &name);
        if (r < 0)
                return r;
        return ctl_edit_definition(c, name, &network);
}

/* --- net-update ----------------------------------------------------------------- */

static bool is_one_of(const char *s, const char *const *list) {
        for (; *list; list++)
                if (streq(s, *list))
                        return true;
        return false;
}

static int verb_net_update(Context *c, const VerbArgs *a) {
        static const char *const commands[] = { "add", "add-first", "add-last", "delete", "modify", NULL };
        static const char *const sections[] = { "bridge", "domain", "ip", "ip-dhcp-host", "ip-dhcp-range",
                                                "forward", "forward-interface", "forward-pf", "portgroup",
                                                "dns-host", "dns-txt", "dns-srv", NULL };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *name = NULL, *from_file = NULL;
        const char *command = args_get(a, "command"), *section = args_get(a, "section"), *xml = args_get(a, "xml");
        const char *index_s = args_get(a, "parent-index");
        bool live = args_flag(a, "live"), config = args_flag(a, "config"), current = args_flag(a, "current");
        uint64_t flags = UPDATE_AFFECT_CURRENT;
        int32_t parent_index = -1;
        sd_bus *bus;
        size_t size;
        int r;

        if (current && live)
                return ctl_error(-EINVAL, "Options --current and --live are mutually exclusive");
        if (current && config)
                return ctl_error(-EINVAL, "Options --current and --config are mutually exclusive");
        if (live)
                flags |= UPDATE_AFFECT_LIVE;
        if (config)
                flags |= UPDATE_AFFECT_CONFIG;
        /* virsh knows libvirt's names; the manager says which it can change */
        if (!is_one_of(command, commands))
                return ctl_error(-EINVAL, "unrecognized command name '%s'", command);
        if (!is_one_of(section, sections))
                return ctl_error(-EINVAL, "unrecognized section name '%s'", section);
        if (index_s) {
                if (!string_is_uint(index_s) || strtoul(index_s, NULL, 10) > INT32_MAX)
                        return ctl_error(-EINVAL, "Numeric value '%s' for <parent-index> option is malformed or out of range",
                                         index_s);
                parent_index = (int32_t) strtoul(index_s, NULL, 10);
        }
        /* As virsh: XML text when it starts with '<', else a file holding it. */
        if (xml[0] != '<') {
                r = read_file_or_report(xml, &from_file, &size);
                if (r < 0)
                        return r;
                xml = from_file;
        }

        r = ctl_resolve_network(c, args_get(a, "network"), &name);
        if (r < 0)
                return r;
        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "UpdateNetwork", &error, NULL,
                               "sssist", name, command, section, parent_index, xml, flags);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, NO_SUCH_NETWORK)) {
                        ctl_error(r, "failed to get network '%s'", name);
                        return ctl_error(r, "%s", error.message ?: error.name);
                }
                if (sd_bus_error_is_set(&error))
                        ctl_error(r, "Failed to update network %s", name);
                return ctl_report_bus_error(&error, r, NULL);
        }

        if (config && live)
                ctl_info(c, "Updated network %s persistent config and live state", name);
        else if (config)
                ctl_info(c, "Updated network %s persistent config", name);
        else if (live)
                ctl_info(c, "Updated network %s live state", name);
        else {
                _cleanup_free_ char *path = NULL;
                int active = 0;

                /* what "current" meant: the manager chose by the network's state */
                if (sd_bus_path_encode(VIV_NETWORK_PREFIX, name, &path) >= 0)
                        (void) sd_bus_get_property_trivial(bus, VIV_BUS_NAME, path, VIV_NETWORK_IFACE, "Active", NULL,
                                                           'b', &active);
                ctl_info(c, "Updated network %s %s", name, active ? "live state" : "persistent config");
        }
        return 0;
}

static const VerbOption edit_options[] = {
        { "network", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "network name or uuid" },
        {}
};

static const VerbOption update_options[] = {
        { "network", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "network name or uuid" },
        { "command", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED,
          "type of update (add-first, add-last (add), delete, or modify)" },
        { "section", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED,
          "which section of network configuration to update (ip-dhcp-host, ip-dhcp-range, dns-host, dns-txt or dns-srv)" },
        { "xml", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED,
          "name of file containing xml (or, if it starts with '<', the complete text of the xml element) to add/modify, or to be matched for search" },
        { "parent-index", OPT_STRING, 0, "which parent object to search through" },
        { "config", OPT_BOOL, 0, "affect next network startup" },
        { "live", OPT_BOOL, 0, "affect running network" },
        { "current", OPT_BOOL, 0, "affect current state of network" },
        {}
};

const Verb verb_table_netedit[] = {
        { "net-edit", "Networking", "edit XML configuration for a network",
          "Edit the persistent XML configuration of a network in $VISUAL, $EDITOR\n"
          "or vi, and define it again when it changed. When the manager refuses\n"
          "it, its error is printed and 'Failed. Try again?' read from stdin: y\n"
          "edits the same file again, n (or the end of stdin) gives up.",
          edit_options, VERB_NEEDS_URI, verb_net_edit },
        { "net-update", "Networking", "update parts of an existing network's configuration",
          "Add, delete or modify one <host> (ip-dhcp-host) or <range>\n"
          "(ip-dhcp-range) of a network's <ip><dhcp>, or one <host> (dns-host),\n"
          "<txt> (dns-txt) or <srv> (dns-srv) of its <dns>, in the running\n"
          "network (--live: its dnsmasq re-reads its hosts, or restarts for a\n"
          "range, TXT or SRV record),\n"
          "the persistent definition (--config), or both; --current (the\n"
          "default) is the running network when it runs, else the definition.",
          update_options, VERB_NEEDS_URI, verb_net_update },
        {}
};
