/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The network methods of org.vivarium1.Manager and the Network objects,
 * /org/vivarium1/network/<encoded name>, interface org.vivarium1.Network. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "domain.h"
#include "macros.h"
#include "network.h"

/* Parses a network definition received over the bus: the parser's message
 * (with line and column) goes back verbatim as InvalidConfig. */
static int parse_network_definition(const char *xml, NetworkDef **ret, sd_bus_error *error) {
        XmlDiag diag = {};
        int r;

        r = network_def_parse(xml, strlen(xml), "(xml)", ret, &diag);
        r = bus_report_parse(r, &diag, "network", error);
        xml_diag_done(&diag);
        return r < 0 ? r : 0;
}

/* --- Network object methods (userdata: the Network) ------------------------------
 * The Manager's methods of the same names take the network's name first, look it
 * up and hand the call on (redirect_to_network() below). Each reads its own
 * arguments from msg. */

static int check_manage(Network *n, sd_bus_message *msg, sd_bus_error *error) {
        return bus_check_privileged(n->owner->manager, msg, VIV_POLKIT_MANAGE, error);
}

static int nmethod_start(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        int r = check_manage(n, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        return network_start(n, msg, error);
}

static int nmethod_destroy(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        int r = check_manage(n, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        return network_destroy(n, msg, error);
}

static int nmethod_undefine(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        int r = check_manage(n, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = network_undefine(n, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int nmethod_set_autostart(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        int on, r;

        r = sd_bus_message_read(msg, "b", &on);
        if (r < 0)
                return r;
        r = check_manage(n, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = network_set_autostart(n, on, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int nmethod_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        int r = check_manage(n, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        return network_update(n, msg, error);
}

static int nmethod_get_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *xml = NULL;
        Network *n = userdata;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(msg, "t", &flags);
        if (r < 0)
                return r;
        if (n->active && n->live && !(flags & VIV_NETWORK_XML_INACTIVE))
                xml = network_def_format(n->live);
        else
                xml = network_def_format(n->def);
        if (!xml)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "s", xml);
}

static int reply_network_path(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Network *n = userdata;

        return sd_bus_reply_method_return(msg, "o", n->path);
}

/* --- Manager methods ----------------------------------------------------------- */

static int define_or_create(sd_bus_message *msg, Manager *m, bool create, sd_bus_error *error) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        Network *n = NULL;
        const char *xml;
        int r;

        r = sd_bus_message_read(msg, "s", &xml);
        if (r < 0)
                return r;
        manager_note_request_size(m, strlen(xml));
        r = bus_check_privileged(m, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = parse_network_definition(xml, &def, error);
        if (r < 0)
                return r;
        r = network_define(m->networks, def, !create, &n, error);
        if (r < 0)
                return r;
        TAKE_PTR(def);

        if (create) {
                _cleanup_free_ char *path = strdup(n->path);
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                if (!path)
                        return -ENOMEM;
                /* network_start answers msg itself: with the path, below. */
                r = network_start(n, NULL, &e);
                if (r < 0) {
                        network_drop(n);
                        return sd_bus_reply_method_error(msg, &e);
                }
                if (n->op == NETWORK_OP_STARTING) {
                        /* Answered with the path once dnsmasq runs. */
                        n->pending = sd_bus_message_ref(msg);
                        n->pending_wants_path = true;
                        return 1;
                }
                return sd_bus_reply_method_return(msg, "o", path);
        }
        return sd_bus_reply_method_return(msg, "o", n->path);
}

int method_define_network_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return define_or_create(msg, userdata, false, error);
}

int method_create_network_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return define_or_create(msg, userdata, true, error);
}

static int redirect_to_network(sd_bus_message *msg, Manager *m, sd_bus_message_handler_t method,
                               sd_bus_error *error) {
        Network *n = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = network_from_name(m->networks, name, &n, error);
        if (r < 0)
                return r;
        return method(msg, n, error);
}

#define DEFINE_REDIRECT_METHOD(func, method)                                                  \
        int func(sd_bus_message *msg, void *userdata, sd_bus_error *error) {                  \
                return redirect_to_network(msg, userdata, method, error);                     \
        }

DEFINE_REDIRECT_METHOD(method_undefine_network, nmethod_undefine);
DEFINE_REDIRECT_METHOD(method_start_network, nmethod_start);
DEFINE_REDIRECT_METHOD(method_destroy_network, nmethod_destroy);
DEFINE_REDIRECT_METHOD(method_get_network, reply_network_path);
DEFINE_REDIRECT_METHOD(method_get_network_xml, nmethod_get_xml);
DEFINE_REDIRECT_METHOD(method_set_network_autostart, nmethod_set_autostart);
DEFINE_REDIRECT_METHOD(method_get_network_dhcp_leases, network_get_dhcp_leases);
DEFINE_REDIRECT_METHOD(method_update_network, nmethod_update);

static int compare_networks(const void *a, const void *b) {
        const Network *x = *(Network *const *) a, *y = *(Network *const *) b;
        return strcmp(x->name, y->name);
}

int method_list_networks(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Network **list = NULL;
        Manager *m = userdata;
        size_t n = 0;
        int r;

        for (Network *i = m->networks->list; i; i = i->next)
                n++;
        list = calloc(n ? n : 1, sizeof(Network *));
        if (!list)
                return -ENOMEM;
        n = 0;
        for (Network *i = m->networks->list; i; i = i->next)
                list[n++] = i;
        qsort(list, n, sizeof(Network *), compare_networks);

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssbbo)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char uuid[37];

                uuid_format(list[i]->def->uuid, uuid);
                r = sd_bus_message_append(reply, "(ssbbo)", list[i]->name, uuid, (int) list[i]->active,
                                          (int) list[i]->autostart, list[i]->path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* --- Network objects -------------------------------------------------------------- */

static int property_get_uuid(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        char buf[37];

        uuid_format(n->def->uuid, buf);
        return sd_bus_message_append(reply, "s", buf);
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        bool v;

        if (streq(property, "Active"))
                v = n->active;
        else if (streq(property, "Autostart"))
                v = n->autostart;
        else
                v = n->persistent;
        return sd_bus_message_append(reply, "b", (int) v);
}

static int property_get_bridge(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", strempty(network_current_def(userdata)->bridge));
}

static const sd_bus_vtable network_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Network, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UUID", "s", property_get_uuid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Active", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Autostart", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Persistent", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Bridge", "s", property_get_bridge, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD("Start", "", "", nmethod_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Destroy", "", "", nmethod_destroy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Undefine", "", "", nmethod_undefine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetAutostart", "b", SD_BUS_PARAM(on), "", , nmethod_set_autostart,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetXML", "t", SD_BUS_PARAM(flags), "s", SD_BUS_PARAM(xml), nmethod_get_xml,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetDHCPLeases", "s", SD_BUS_PARAM(mac), "a(stisssuss)", SD_BUS_PARAM(leases),
                                 network_get_dhcp_leases, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Update", "ssist",
                                 SD_BUS_PARAM(command) SD_BUS_PARAM(section) SD_BUS_PARAM(parent_index)
                                 SD_BUS_PARAM(xml) SD_BUS_PARAM(flags), "", , nmethod_update,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int network_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                               sd_bus_error *error) {
        Manager *m = userdata;
        Network *n = network_find_by_path(m->networks, path);

        if (!n)
                return 0;
        *found = n;
        return 1;
}

static int network_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                   sd_bus_error *error) {
        Manager *m = userdata;
        char **l;
        size_t n = 0;

        for (Network *i = m->networks->list; i; i = i->next)
                n++;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        n = 0;
        for (Network *i = m->networks->list; i; i = i->next) {
                l[n] = strdup(i->path);
                if (!l[n]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                n++;
        }
        *nodes = l;
        return 0;
}

int networks_bus_setup(Manager *m) {
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, NULL, VIV_NETWORK_PREFIX, VIV_NETWORK_IFACE, network_vtable,
                                       network_object_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, VIV_NETWORK_PREFIX, network_node_enumerator, m);
}

int network_emit_event(Network *n, const char *event, const char *detail) {
        return sd_bus_emit_signal(n->owner->manager->bus, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "NetworkEvent", "sss",
                                  n->name, event, detail);
}

int network_emit_changed(Network *n, const char *prop) {
        return sd_bus_emit_properties_changed(n->owner->manager->bus, n->path, VIV_NETWORK_IFACE, prop, NULL);
}
