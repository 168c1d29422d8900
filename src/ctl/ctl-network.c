/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: the network verbs (net-define, net-start, net-list, ...) and
 * their lookups, with virsh's messages and tables. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl-output.h"
#include "ctl.h"

#define NO_SUCH_NETWORK  "org.vivarium1.Error.NoSuchNetwork"
#define NETWORK_XML_INACTIVE UINT64_C(1)

/* Calls a Manager method about a network. On failure: virsh's pair of lines,
 * "failed to get network 'NAME'" for an unknown one, else FAILURE (when
 * given), then the manager's own message. */
int ctl_net_call(Context *c, const char *network, const char *failure, const char *member,
                    sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *rest;
        sd_bus *bus;
        va_list ap;
        int r;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;

        va_start(ap, types);
        r = sd_bus_call_methodv(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, member, &error, ret_reply,
                                types, ap);
        va_end(ap);
        if (r >= 0)
                return r;

        if (network && sd_bus_error_has_name(&error, NO_SUCH_NETWORK)) {
                ctl_error(r, "failed to get network '%s'", network);
                return ctl_error(r, "%s", error.message ?: error.name);
        }
        if (sd_bus_error_has_name(&error, VIV_ERROR_INVALID_CONFIG) || !failure)
                ; /* the parser's message says it all */
        else if (sd_bus_error_is_set(&error) && strncmp(error.name, "org.vivarium1.", 14) == 0)
                ctl_error(r, "%s", failure);
        if (c->document && sd_bus_error_has_name(&error, VIV_ERROR_INVALID_CONFIG) && error.message &&
            (rest = startswith(error.message, "(xml):")))
                return ctl_error(r, "%s:%s", c->document, rest);
        return ctl_report_bus_error(&error, r, NULL);
}

/* The network name of an object path returned by DefineNetworkXML. */
static char *name_from_path(const char *path) {
        char *name = NULL;

        if (sd_bus_path_decode(path, VIV_NETWORK_PREFIX, &name) > 0 && name)
                return name;
        return strdup(path);
}

struct NetEntry;
static int lookup_network(Context *c, const char *spec, struct NetEntry *ret);
static void net_entry_done(struct NetEntry *e);


/* --- define, create, undefine, start, destroy, autostart ------------------------ */

static int define_or_create(Context *c, const VerbArgs *a, bool create) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *xml = NULL, *name = NULL, *failure = NULL;
        const char *file = args_get(a, "file"), *path;
        size_t size;
        int r;

        r = read_file_or_report(file, &xml, &size);
        if (r < 0)
                return r;
        if (asprintf(&failure, "Failed to %s network from %s", create ? "create" : "define", file) < 0)
                return ctl_error(-ENOMEM, "Out of memory");

        c->document = file;
        r = ctl_net_call(c, NULL, failure, create ? "CreateNetworkXML" : "DefineNetworkXML", &reply, "s", xml);
        c->document = NULL;
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply: %s", strerror(-r));
        name = name_from_path(path);
        if (!name)
                return ctl_error(-ENOMEM, "Out of memory");
        ctl_info(c, "Network %s %s from %s", name, create ? "created" : "defined", file);
        return 0;
}

static int verb_net_define(Context *c, const VerbArgs *a) {
        return define_or_create(c, a, false);
}

static int verb_net_create(Context *c, const VerbArgs *a) {
        return define_or_create(c, a, true);
}

/* "Network NAME <done>" on success, "Failed to <what> network NAME" before the reason. */
static int simple_call(Context *c, const VerbArgs *a, const char *member, const char *what, const char *done) {
        _cleanup_free_ char *failure = NULL, *name = NULL;
        int r;

        r = ctl_resolve_network(c, args_get(a, "network"), &name);
        if (r < 0)
                return r;
        if (asprintf(&failure, "Failed to %s network %s", what, name) < 0)
                return ctl_error(-ENOMEM, "Out of memory");
        r = ctl_net_call(c, name, failure, member, NULL, "s", name);
        if (r < 0)
                return r;
        ctl_info(c, "Network %s %s", name, done);
        return 0;
}

static int verb_net_undefine(Context *c, const VerbArgs *a) {
        return simple_call(c, a, "UndefineNetwork", "undefine", "has been undefined");
}

static int verb_net_start(Context *c, const VerbArgs *a) {
        return simple_call(c, a, "StartNetwork", "start", "started");
}

static int verb_net_destroy(Context *c, const VerbArgs *a) {
        return simple_call(c, a, "DestroyNetwork", "destroy", "destroyed");
}

static int verb_net_autostart(Context *c, const VerbArgs *a) {
        bool on = !args_flag(a, "disable");
        _cleanup_free_ char *failure = NULL, *name = NULL;
        int r;

        r = ctl_resolve_network(c, args_get(a, "network"), &name);
        if (r < 0)
                return r;
        if (asprintf(&failure, "failed to %s autostart of network %s", on ? "mark" : "unmark", name) < 0)
                return ctl_error(-ENOMEM, "Out of memory");
        r = ctl_net_call(c, name, failure, "SetNetworkAutostart", NULL, "sb", name, (int) on);
        if (r < 0)
                return r;
        ctl_info(c, "Network %s %s as autostarted", name, on ? "marked" : "unmarked");
        return 0;
}

/* --- list, info, dumpxml --------------------------------------------------------- */

struct NetEntry {
        char *name, *uuid, *path;
        bool active, autostart, persistent;
        char *bridge;
};
typedef struct NetEntry NetEntry;

static void net_entries_free(NetEntry *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(l[i].name);
                free(l[i].uuid);
                free(l[i].path);
                free(l[i].bridge);
        }
        free(l);
}

static void net_entry_properties(Context *c, NetEntry *e) {
        sd_bus *bus;
        int v;

        if (ctl_bus(c, &bus) < 0)
                return;
        e->persistent = true;
        if (sd_bus_get_property_trivial(bus, VIV_BUS_NAME, e->path, VIV_NETWORK_IFACE, "Persistent", NULL, 'b', &v) >= 0)
                e->persistent = v;
        (void) sd_bus_get_property_string(bus, VIV_BUS_NAME, e->path, VIV_NETWORK_IFACE, "Bridge", NULL, &e->bridge);
}

static int list_networks(Context *c, NetEntry **ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        NetEntry *l = NULL;
        size_t n = 0;
        int r;

        r = ctl_net_call(c, NULL, NULL, "ListNetworks", &reply, "");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(ssbbo)");
        if (r < 0)
                goto parse_error;
        for (;;) {
                const char *name, *uuid, *path;
                int active, autostart;

                r = sd_bus_message_read(reply, "(ssbbo)", &name, &uuid, &active, &autostart, &path);
                if (r < 0)
                        goto parse_error;
                if (r == 0)
                        break;
                NetEntry *nl = realloc(l, (n + 1) * sizeof(NetEntry));
                if (!nl) {
                        net_entries_free(l, n);
                        return ctl_error(-ENOMEM, "Out of memory");
                }
                l = nl;
                l[n] = (NetEntry) { .name = strdup(name), .uuid = strdup(uuid), .path = strdup(path),
                                    .active = active, .autostart = autostart };
                n++;
                if (!l[n - 1].name || !l[n - 1].uuid || !l[n - 1].path) {
                        net_entries_free(l, n);
                        return ctl_error(-ENOMEM, "Out of memory");
                }
                net_entry_properties(c, &l[n - 1]);
        }
        *ret = l;
        *ret_n = n;
        return 0;

parse_error:
        net_entries_free(l, n);
        return ctl_error(r, "Failed to parse the list of networks: %s", strerror(-r));
}

static bool net_list_wants(const VerbArgs *a, const NetEntry *e) {
        bool all = args_flag(a, "all"), inactive = args_flag(a, "inactive");

        if (!all && inactive && e->active)
                return false;
        if (!all && !inactive && !e->active)
                return false;
        if (args_flag(a, "persistent") && !e->persistent)
                return false;
        if (args_flag(a, "transient") && e->persistent)
                return false;
        if (args_flag(a, "autostart") && !e->autostart)
                return false;
        if (args_flag(a, "no-autostart") && e->autostart)
                return false;
        return true;
}

static int verb_net_list(Context *c, const VerbArgs *a) {
        static const char *const headers[] = { "Name", "State", "Autostart", "Persistent" };
        _cleanup_(table_freep) Table *t = NULL;
        bool names = args_flag(a, "name"), uuids = args_flag(a, "uuid");
        NetEntry *l = NULL;
        size_t n = 0;
        int r;

        r = list_networks(c, &l, &n);
        if (r < 0)
                return r;

        if (!names && !uuids) {
                t = table_new(ELEMENTSOF(headers), headers);
                if (!t) {
                        net_entries_free(l, n);
                        return ctl_error(-ENOMEM, "Out of memory");
                }
        }
        for (size_t i = 0; i < n; i++) {
                const NetEntry *e = &l[i];

                if (!net_list_wants(a, e))
                        continue;
                if (t) {
                        const char *cells[] = { e->name, e->active ? "active" : "inactive", e->autostart ? "yes" : "no",
                                                e->persistent ? "yes" : "no" };
                        if (table_add_row(t, cells) < 0) {
                                net_entries_free(l, n);
                                return ctl_error(-ENOMEM, "Out of memory");
                        }
                } else if (names && uuids)
                        printf("%-36s  %s\n", e->uuid, e->name);
                else
                        printf("%s\n", uuids ? e->uuid : e->name);
        }
        net_entries_free(l, n);
        if (t)
                return table_print(t, stdout);
        return 0;
}

static void net_entry_done(NetEntry *e) {
        free(e->name);
        free(e->uuid);
        free(e->path);
        free(e->bridge);
        *e = (NetEntry) {};
}

int ctl_resolve_network(Context *c, const char *spec, char **ret) {
        NetEntry e = {};
        int r;

        if (!string_looks_like_uuid(spec)) {
                *ret = strdup(spec);
                return *ret ? 0 : ctl_error(-ENOMEM, "Out of memory");
        }
        r = lookup_network(c, spec, &e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e.name);
        net_entry_done(&e);
        return 0;
}

static int lookup_network(Context *c, const char *spec, NetEntry *ret) {
        NetEntry *l = NULL;
        size_t n = 0;
        int r;

        r = list_networks(c, &l, &n);
        if (r < 0)
                return r;
        /* virsh: by name, then by UUID. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < n; i++)
                        if (pass == 0 ? streq(l[i].name, spec) : strcasecmp(l[i].uuid, spec) == 0) {
                                *ret = l[i];
                                l[i] = (NetEntry) {};
                                net_entries_free(l, n);
                                return 0;
                        }
        net_entries_free(l, n);
        ctl_error(-ENOENT, "failed to get network '%s'", spec);
        return ctl_error(-ENOENT, "Network not found: no network with matching name '%s'", spec);
}

#define INFO "%-15s "

static int verb_net_info(Context *c, const VerbArgs *a) {
        NetEntry e = {};
        int r;

        r = lookup_network(c, args_get(a, "network"), &e);
        if (r < 0)
                return r;
        printf(INFO "%s\n", "Name:", e.name);
        printf(INFO "%s\n", "UUID:", e.uuid);
        printf(INFO "%s\n", "Active:", e.active ? "yes" : "no");
        printf(INFO "%s\n", "Persistent:", e.persistent ? "yes" : "no");
        printf(INFO "%s\n", "Autostart:", e.autostart ? "yes" : "no");
        printf(INFO "%s\n", "Bridge:", strempty(e.bridge));
        net_entry_done(&e);
        return 0;
}

static int verb_net_uuid(Context *c, const VerbArgs *a) {
        NetEntry e = {};
        int r;

        r = lookup_network(c, args_get(a, "network"), &e);
        if (r < 0)
                return r;
        printf("%s\n", e.uuid);
        net_entry_done(&e);
        return 0;
}

static int verb_net_name(Context *c, const VerbArgs *a) {
        NetEntry e = {};
        int r;

        r = lookup_network(c, args_get(a, "network"), &e);
        if (r < 0)
                return r;
        printf("%s\n", e.name);
        net_entry_done(&e);
        return 0;
}

int ctl_get_network_xml(Context *c, const char *name, uint64_t flags, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *xml;
        int r;

        r = ctl_net_call(c, name, NULL, "GetNetworkXML", &reply, "st", name, flags);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &xml);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of GetNetworkXML: %s", strerror(-r));
        *ret = strdup(xml);
        return *ret ? 0 : ctl_error(-ENOMEM, "Out of memory");
}

static int verb_net_dumpxml(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *xml = NULL, *name = NULL;
        size_t n;
        int r;

        r = ctl_resolve_network(c, args_get(a, "network"), &name);
        if (r < 0)
                return r;
        r = ctl_get_network_xml(c, name, args_flag(a, "inactive") ? NETWORK_XML_INACTIVE : 0, &xml);
        if (r < 0)
                return r;
        n = strlen(xml);
        fputs(xml, stdout);
        if (n == 0 || xml[n - 1] != '\n')
                putchar('\n');
        return 0;
}

/* --- the table ---------------------------------------------------------------------- */

#define NETWORK_OPT(h) { "network", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, h }

static const VerbOption file_options[] = {
        { "file", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "file containing an XML network description" },
        {}
};

static const VerbOption network_only_options[] = {
        NETWORK_OPT("network name or uuid"),
        {}
};

static const VerbOption autostart_options[] = {
        NETWORK_OPT("network name or uuid"),
        { "disable", OPT_BOOL, 0, "disable autostarting" },
        {}
};

static const VerbOption dumpxml_options[] = {
        NETWORK_OPT("network name or uuid"),
        { "inactive", OPT_BOOL, 0, "show inactive defined XML" },
        {}
};

static const VerbOption list_options[] = {
        { "inactive", OPT_BOOL, 0, "list inactive networks" },
        { "all", OPT_BOOL, 0, "list inactive & active networks" },
        { "persistent", OPT_BOOL, 0, "list persistent networks" },
        { "transient", OPT_BOOL, 0, "list transient networks" },
        { "autostart", OPT_BOOL, 0, "list networks with autostart enabled" },
        { "no-autostart", OPT_BOOL, 0, "list networks with autostart disabled" },
        { "uuid", OPT_BOOL, 0, "list uuid's only" },
        { "name", OPT_BOOL, 0, "list network names only" },
        { "table", OPT_BOOL, 0, "list table (default)" },
        {}
};

#define NET "Networking"

const Verb verb_table_network[] = {
        { "net-autostart", NET, "autostart a network",
          "Configure a network to be automatically started at boot.",
          autostart_options, VERB_NEEDS_URI, verb_net_autostart },
        { "net-create", NET, "create a network from an XML file",
          "Create (start) a transient network from an XML <file>.",
          file_options, VERB_NEEDS_URI, verb_net_create },
        { "net-define", NET, "define an inactive persistent virtual network or modify an existing persistent one from an XML file",
          "Define or modify a persistent virtual network.",
          file_options, VERB_NEEDS_URI, verb_net_define },
        { "net-destroy", NET, "destroy (stop) a network",
          "Forcefully stop a given network: its bridge, dnsmasq and firewall rules go away.",
          network_only_options, VERB_NEEDS_URI, verb_net_destroy },
        { "net-dumpxml", NET, "network information in XML",
          "Output the network information as an XML dump to stdout.",
          dumpxml_options, VERB_NEEDS_URI, verb_net_dumpxml },
        { "net-info", NET, "network information",
          "Returns basic information about the network",
          network_only_options, VERB_NEEDS_URI, verb_net_info },
        { "net-list", NET, "list networks",
          "Returns list of networks: active ones by default, all with --all.",
          list_options, VERB_NEEDS_URI, verb_net_list },
        { "net-name", NET, "convert a network UUID to network name",
          "Convert a network UUID to network name.",
          network_only_options, VERB_NEEDS_URI, verb_net_name },
        { "net-uuid", NET, "convert a network name to network UUID",
          "Convert a network name to network UUID.",
          network_only_options, VERB_NEEDS_URI, verb_net_uuid },
        { "net-start", NET, "start a (previously defined) inactive network",
          "Start a network.",
          network_only_options, VERB_NEEDS_URI, verb_net_start },
        { "net-undefine", NET, "undefine a persistent network",
          "Undefine the configuration for a persistent network.",
          network_only_options, VERB_NEEDS_URI, verb_net_undefine },
        {}
};
