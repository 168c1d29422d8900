/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: the connection to org.vivarium1 and the error messages of calls. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-names.h"
#include "ctl.h"
#include "domain-xml.h"
#include "trace.h"

#define MANAGER_UNIT_PATH "/org/freedesktop/systemd1/unit/vivariumd_2eservice"
#define SYSTEMD_UNIT_IFACE "org.freedesktop.systemd1.Unit"

/* Whether the manager runs now, or -errno when the bus cannot tell. */
static int manager_has_owner(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int has = 0, r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", NULL, &reply, "s", VIV_BUS_NAME);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "b", &has);
        return r < 0 ? r : has;
}

/* vivariumd.service's "ActiveState (Result)", e.g. "failed (start-limit-hit)",
 * for messages; NULL when systemd does not know it. */
static char *manager_unit_state(sd_bus *bus, char **ret_result, uint64_t *ret_since_usec, uint64_t *ret_limit_usec) {
        _cleanup_free_ char *active = NULL, *result = NULL, *state = NULL;

        if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", MANAGER_UNIT_PATH, SYSTEMD_UNIT_IFACE,
                                       "ActiveState", NULL, &active) < 0 ||
            sd_bus_get_property_string(bus, "org.freedesktop.systemd1", MANAGER_UNIT_PATH,
                                       "org.freedesktop.systemd1.Service", "Result", NULL, &result) < 0)
                return NULL;
        if (ret_since_usec &&
            sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", MANAGER_UNIT_PATH, SYSTEMD_UNIT_IFACE,
                                        "InactiveEnterTimestampMonotonic", NULL, 't', ret_since_usec) < 0)
                *ret_since_usec = 0;
        if (ret_limit_usec &&
            sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", MANAGER_UNIT_PATH, SYSTEMD_UNIT_IFACE,
                                        "StartLimitIntervalUSec", NULL, 't', ret_limit_usec) < 0)
                *ret_limit_usec = 0;
        if (asprintf(&state, "%s (%s)", active, result) < 0)
                return NULL;
        if (ret_result)
                *ret_result = TAKE_PTR(result);
        return TAKE_PTR(state);
}

/* A D-Bus activation of a unit that hit its start limit is never answered:
 * the bus daemon waits 25 s for the name, then says "Connection timed out".
 * When the manager does not run and systemd says its unit failed on the
 * start limit within the limit's interval, say so at once (systemd starts
 * it again once the interval is over, or after "systemctl reset-failed"). */
static int check_activation(Context *c) {
        _cleanup_free_ char *state = NULL, *result = NULL;
        uint64_t since = 0, interval = 0;
        struct timespec ts;

        if (manager_has_owner(c->bus) != 0)
                return 0;
        state = manager_unit_state(c->bus, &result, &since, &interval);
        if (!state || !streq(result, "start-limit-hit") || strncmp(state, "failed ", 7) != 0)
                return 0;
        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 ||
            (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000 >= since + interval)
                return 0;
        ctl_error(-EAGAIN, "failed to connect to the hypervisor");
        return ctl_error(-EAGAIN, "vivariumd.service is %s: it was started too often; "
                         "see 'systemctl status vivariumd', 'systemctl reset-failed vivariumd' allows it again", state);
}

int ctl_bus(Context *c, sd_bus **ret) {
        int r;

        if (c->bus) {
                *ret = c->bus;
                return 0;
        }

        _cleanup_free_ char *host = NULL;

        r = ctl_check_uri(c);
        if (r < 0)
                return r;
        r = uri_parse(c->uri, &host);
        if (r < 0)
                return ctl_error(r, "Out of memory");

        if (host) {
                /* ssh HOST systemd-stdio-bridge, as machinectl -H does; the
                 * connection is opened lazily, so say now whether it works. */
                c->remote = true;
                r = sd_bus_open_system_remote(&c->bus, host);
                if (r >= 0)
                        r = sd_bus_call_method(c->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                               "org.freedesktop.DBus", "GetId", NULL, NULL, "");
                if (r < 0) {
                        c->bus = sd_bus_flush_close_unref(c->bus);
                        ctl_error(r, "failed to connect to the hypervisor");
                        return ctl_error(r, "Failed to connect to the system bus of '%s' over ssh: %s", host,
                                         strerror(-r));
                }
        } else {
                /* sd-bus honours DBUS_SYSTEM_BUS_ADDRESS, which is how the tests
                 * point us at a test host's bus. */
                r = sd_bus_open_system(&c->bus);
                if (r < 0) {
                        ctl_error(r, "failed to connect to the hypervisor");
                        return ctl_error(r, "Failed to connect to the system bus: %s", strerror(-r));
                }
                trace_point("vivctl-bus-open");
        }

        /* Mutating calls go through polkit for non-root users: let it ask. */
        (void) sd_bus_set_allow_interactive_authorization(c->bus, true);

        r = check_activation(c);
        if (r < 0)
                return r;

        *ret = c->bus;
        return 0;
}

static bool error_is_unreachable(const sd_bus_error *e) {
        static const char *const names[] = {
                SD_BUS_ERROR_SERVICE_UNKNOWN,
                SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                SD_BUS_ERROR_NO_REPLY,
                SD_BUS_ERROR_DISCONNECTED,
                "org.freedesktop.DBus.Error.Spawn.Failed",
                "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
                "org.freedesktop.DBus.Error.Spawn.ChildExited",
                "org.freedesktop.DBus.Error.TimedOut",
                SD_BUS_ERROR_UNKNOWN_OBJECT,
                SD_BUS_ERROR_UNKNOWN_INTERFACE,
        };

        FOREACH_ARRAY(n, names, ELEMENTSOF(names))
                if (sd_bus_error_has_name(e, *n))
                        return true;
        return false;
}

int ctl_report_bus_error(const sd_bus_error *error, int r, const char *domain) {
        if (r >= 0)
                r = -EIO;

        if (domain && sd_bus_error_has_name(error, VIV_ERROR_NO_SUCH_CONTAINER))
                return ctl_error(r, "failed to get domain '%s'", domain);

        if (!sd_bus_error_is_set(error) || error_is_unreachable(error)) {
                ctl_error(r, "failed to connect to the hypervisor");
                if (sd_bus_error_is_set(error) && error->message)
                        return ctl_error(r, "%s", error->message);
                return ctl_error(r, "%s", strerror(-r));
        }

        return ctl_error(r, "%s", error->message ?: error->name);
}

/* The call reached the manager, which ended (killed, crashed, restarted)
 * or hung before it answered: the operation may have been done or not.
 * Not "failed to connect": say that, and ask again (activating a new
 * manager, which adopts the running containers) what state the domain is
 * in now. */
static int report_lost_reply(Context *c, const char *domain, const char *member, const sd_bus_error *e, int r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *name, *uuid, *state, *title, *path, *found = NULL;
        uint32_t id, found_id = 0;
        int q;

        ctl_error(r, "vivariumd did not answer %s (%s): it may or may not have been done",
                  member, e->message ?: e->name);
        if (!domain)
                return r;

        q = sd_bus_call_method(c->bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "ListContainers", &error,
                               &reply, "");
        if (q >= 0)
                q = sd_bus_message_enter_container(reply, 'a', "(ssusso)");
        while (q >= 0 && !found) {
                q = sd_bus_message_read(reply, "(ssusso)", &name, &uuid, &id, &state, &title, &path);
                if (q <= 0)
                        break;
                if (streq(name, domain)) {
                        found = state;
                        found_id = id;
                }
        }
        if (q < 0)
                return ctl_error(r, "the state of domain '%s' is unknown now: %s; see 'systemctl status vivariumd'",
                                 domain, error.message ?: strerror(-q));
        if (!found)
                return ctl_error(r, "domain '%s' does not exist now", domain);
        if (found_id != 0)
                return ctl_error(r, "domain '%s' is %s now (Id %" PRIu32 ")", domain, found, found_id);
        return ctl_error(r, "domain '%s' is %s now", domain, found);
}

static int report_call_error(Context *c, const char *domain, const char *member, sd_bus_error *error, int r) {
        const char *rest;

        /* The manager parses a string it calls "(xml)"; the user knows it
         * as the file they gave, and the position is in that file. */
        if (c->document && sd_bus_error_has_name(error, VIV_ERROR_INVALID_CONFIG) && error->message &&
            (rest = startswith(error->message, "(xml):")))
                return ctl_error(r, "%s:%s", c->document, rest);
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY) || sd_bus_error_has_name(error, SD_BUS_ERROR_DISCONNECTED))
                return report_lost_reply(c, domain, member, error, r);
        return ctl_report_bus_error(error, r, domain);
}

/* A start may wait for init's READY=1 (<vivarium:notify timeout>, up to an
 * hour) or a clean reboot: the manager bounds those calls itself and always
 * answers, so vivctl waits as long as it does. */
static bool call_is_long(const char *member) {
        return streq(member, "Start") || streq(member, "CreateXML") || streq(member, "Reboot") ||
               streq(member, "StartWithFiles") || streq(member, "CreateXMLWithFiles");
}

int ctl_call(Context *c, const char *domain, const char *member,
             sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus;
        va_list ap;
        int r;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;

        if (call_is_long(member))
                (void) sd_bus_set_method_call_timeout(bus, CTL_START_TIMEOUT_USEC);
        va_start(ap, types);
        r = sd_bus_call_methodv(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE,
                                member, &error, ret_reply, types, ap);
        va_end(ap);
        (void) sd_bus_set_method_call_timeout(bus, 0);
        if (r < 0)
                return report_call_error(c, domain, member, &error, r);
        return r;
}

int ctl_call_message(Context *c, sd_bus_message *m, const char *domain, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *member = sd_bus_message_get_member(m);
        sd_bus *bus = sd_bus_message_get_bus(m);
        int r;

        r = sd_bus_call(bus, m, call_is_long(member) ? CTL_START_TIMEOUT_USEC : 0, &error, ret_reply);
        if (r < 0)
                return report_call_error(c, domain, member, &error, r);
        return r;
}

void domain_entry_done(DomainEntry *d) {
        free(d->name);
        free(d->uuid);
        free(d->state);
        free(d->title);
        free(d->path);
        *d = (DomainEntry) {};
}

void domain_entries_free(DomainEntry *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                domain_entry_done(&l[i]);
        free(l);
}

static int domain_entry_copy(DomainEntry *dst, const char *name, const char *uuid, uint32_t id,
                             const char *state, const char *title, const char *path) {
        *dst = (DomainEntry) {
                .name = strdup(name),
                .uuid = strdup(uuid),
                .id = id,
                .state = strdup(state),
                .title = strdup(title),
                .path = strdup(path),
        };
        if (!dst->name || !dst->uuid || !dst->state || !dst->title || !dst->path) {
                domain_entry_done(dst);
                return -ENOMEM;
        }
        return 0;
}

int ctl_get_xml(Context *c, const char *name, uint64_t flags, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *xml;
        int r;

        r = ctl_call(c, name, "GetXML", &reply, "st", name, flags);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &xml);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of GetXML: %s", strerror(-r));
        *ret = strdup(xml);
        return *ret ? 0 : ctl_error(-ENOMEM, "Out of memory");
}

int ctl_get_domain_def(Context *c, const char *name, uint64_t flags, DomainDef **ret) {
        _cleanup_free_ char *xml = NULL;
        const XmlModule *m;
        XmlDiag diag = {};
        int r;

        r = ctl_get_xml(c, name, flags, &xml);
        if (r < 0)
                return r;
        m = ctl_xml(c);
        if (!m)
                return -ELIBACC;
        r = m->domain_def_parse(xml, strlen(xml), name, ret, &diag);
        if (r < 0)
                r = ctl_error(r, "%s", diag.error ?: "Failed to parse the domain's XML");
        xml_diag_done(&diag);
        return r;
}

int ctl_list_domains(Context *c, DomainEntry **ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        DomainEntry *l = NULL;
        size_t n = 0;
        int r;

        r = ctl_call(c, NULL, "ListContainers", &reply, "");
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssusso)");
        if (r < 0)
                goto parse_error;

        for (;;) {
                const char *name, *uuid, *state, *title, *path;
                uint32_t id;

                /* (name, uuid, id, state, title, path), see docs/internals.md */
                r = sd_bus_message_read(reply, "(ssusso)", &name, &uuid, &id, &state, &title, &path);
                if (r < 0)
                        goto parse_error;
                if (r == 0)
                        break;

                DomainEntry *nl = realloc(l, (n + 1) * sizeof(DomainEntry));
                if (!nl) {
                        domain_entries_free(l, n);
                        return ctl_error(-ENOMEM, "Out of memory");
                }
                l = nl;
                r = domain_entry_copy(&l[n], name, uuid, id, state, title, path);
                if (r < 0) {
                        domain_entries_free(l, n);
                        return ctl_error(r, "Out of memory");
                }
                n++;
        }

        *ret = l;
        *ret_n = n;
        return 0;

parse_error:
        domain_entries_free(l, n);
        return ctl_error(r, "Failed to parse the list of domains: %s", strerror(-r));
}

/* A manager older than LookupContainer answers UnknownMethod: then the whole
 * list, as before. */
static int lookup_domain_in_list(Context *c, const char *spec, DomainEntry *ret);

int ctl_lookup_domain(Context *c, const char *spec, DomainEntry *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *name, *uuid, *state, *title, *path;
        uint32_t id;
        sd_bus *bus;
        int r;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;
        /* virsh's lookup (a name, else an Id, else a UUID) done by the
         * manager: one entry instead of every container's. */
        r = sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "LookupContainer", &error,
                               &reply, "s", spec);
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                return lookup_domain_in_list(c, spec, ret);
        if (r < 0)
                return report_call_error(c, spec, "LookupContainer", &error, r);
        r = sd_bus_message_read(reply, "ssusso", &name, &uuid, &id, &state, &title, &path);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of LookupContainer: %s", strerror(-r));
        r = domain_entry_copy(ret, name, uuid, id, state, title, path);
        if (r < 0)
                return ctl_error(r, "Out of memory");
        return 0;
}

static int lookup_domain_in_list(Context *c, const char *spec, DomainEntry *ret) {
        DomainEntry *l = NULL;
        size_t n = 0;
        const DomainEntry *found = NULL;
        int r;

        r = ctl_list_domains(c, &l, &n);
        if (r < 0)
                return r;

        /* virsh looks up by name, id and uuid; a name wins over the others. */
        for (size_t i = 0; i < n && !found; i++)
                if (streq(l[i].name, spec))
                        found = &l[i];
        if (!found && string_is_uint(spec)) {
                unsigned long id = strtoul(spec, NULL, 10);
                for (size_t i = 0; i < n && !found; i++)
                        if (l[i].id != 0 && l[i].id == id)
                                found = &l[i];
        }
        for (size_t i = 0; i < n && !found; i++)
                if (strcasecmp(l[i].uuid, spec) == 0)
                        found = &l[i];

        if (!found) {
                domain_entries_free(l, n);
                return ctl_error(-ENOENT, "failed to get domain '%s'", spec);
        }

        *ret = *found;
        *(DomainEntry *) found = (DomainEntry) {};
        domain_entries_free(l, n);
        return 0;
}

int ctl_resolve_name(Context *c, const char *spec, char **ret) {
        DomainEntry d = {};
        int r;

        if (!string_is_uint(spec) && !string_looks_like_uuid(spec)) {
                *ret = strdup(spec);
                return *ret ? 0 : ctl_error(-ENOMEM, "Out of memory");
        }

        r = ctl_lookup_domain(c, spec, &d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d.name);
        domain_entry_done(&d);
        return 0;
}

int ctl_call_parameters(sd_bus *bus, sd_bus_message *m, uint64_t flags, const char *domain) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "t", flags);
        if (r < 0)
                return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
        r = sd_bus_call(bus, m, 0, &error, NULL);
        if (r < 0)
                return ctl_report_bus_error(&error, r, domain);
        return 0;
}
