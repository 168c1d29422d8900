/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: the connection to org.vivarium1 and the error messages of calls. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl.h"
#include "domain-xml.h"

int ctl_bus(Context *c, sd_bus **ret) {
        int r;

        if (c->bus) {
                *ret = c->bus;
                return 0;
        }

        r = ctl_check_uri(c);
        if (r < 0)
                return r;

        /* sd-bus honours DBUS_SYSTEM_BUS_ADDRESS, which is how the tests point
         * us at a test host's bus. */
        r = sd_bus_open_system(&c->bus);
        if (r < 0) {
                ctl_error(r, "failed to connect to the hypervisor");
                return ctl_error(r, "Failed to connect to the system bus: %s", strerror(-r));
        }

        /* Mutating calls go through polkit for non-root users: let it ask. */
        (void) sd_bus_set_allow_interactive_authorization(c->bus, true);

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

#define CTL_START_TIMEOUT_USEC (3700ULL * 1000000ULL)

int ctl_call(Context *c, const char *domain, const char *member,
             sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus;
        va_list ap;
        int r;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;

        /* A start may wait for init's READY=1 (<vivarium:notify timeout>,
         * up to an hour) or a clean reboot: the manager bounds those calls
         * itself and always answers, so vivctl waits as long as it does. */
        if (streq(member, "Start") || streq(member, "CreateXML") || streq(member, "Reboot"))
                (void) sd_bus_set_method_call_timeout(bus, CTL_START_TIMEOUT_USEC);
        va_start(ap, types);
        r = sd_bus_call_methodv(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE,
                                member, &error, ret_reply, types, ap);
        va_end(ap);
        (void) sd_bus_set_method_call_timeout(bus, 0);
        if (r < 0) {
                const char *rest;

                /* The manager parses a string it calls "(xml)"; the user knows it
                 * as the file they gave, and the position is in that file. */
                if (c->document && sd_bus_error_has_name(&error, VIV_ERROR_INVALID_CONFIG) &&
                    error.message && (rest = startswith(error.message, "(xml):")))
                        return ctl_error(r, "%s:%s", c->document, rest);
                return ctl_report_bus_error(&error, r, domain);
        }
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

int ctl_get_domain_def(Context *c, const char *name, uint64_t flags, DomainDef **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const XmlModule *m;
        XmlDiag diag = {};
        const char *xml;
        int r;

        r = ctl_call(c, name, "GetXML", &reply, "st", name, flags);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &xml);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of GetXML: %s", strerror(-r));
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

int ctl_lookup_domain(Context *c, const char *spec, DomainEntry *ret) {
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
