/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: the domain verbs (define, start, list, dominfo, ...), with virsh's
 * messages. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-names.h"
#include "ctl-output.h"
#include "ctl.h"
#include "domain-xml.h"
#include "trace.h"

static void domain_entry_donep(DomainEntry *d) {
        domain_entry_done(d);
}

static void xml_diag_donep(XmlDiag *d) {
        xml_diag_done(d);
}

/* The typed model of a document the manager wrote (GetXML), through the
 * parser it uses; NULL when it cannot be read. The schema pass is the
 * manager's. */
static DomainDef *parse_quietly(Context *c, const char *xml, size_t size) {
        _cleanup_(xml_diag_donep) XmlDiag diag = {};
        const XmlModule *m = ctl_xml(c);
        DomainDef *def = NULL;

        if (!m || m->domain_def_parse_trusted(xml, size, NULL, &def, &diag) < 0)
                return NULL;
        return def;
}

/* The container name of an object path returned by DefineXML/CreateXML. */
static char *name_from_path(const char *path) {
        char *name = NULL;

        if (sd_bus_path_decode(path, VIV_CONTAINER_PREFIX, &name) > 0 && name)
                return name;
        return strdup(path);
}

/* --- define / undefine ------------------------------------------------------ */

static int verb_define(Context *c, const VerbArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *xml = NULL, *name = NULL;
        const char *file = args_get(a, "file"), *path;
        size_t size;
        int r;

        r = read_file_or_report(file, &xml, &size);
        if (r < 0)
                return r;

        c->document = file;
        r = ctl_call(c, NULL, "DefineXML", &reply, "s", xml);
        c->document = NULL;
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of DefineXML: %s", strerror(-r));

        name = name_from_path(path);
        if (!name)
                return ctl_error(-ENOMEM, "Out of memory");

        ctl_info(c, "Domain %s defined from %s", name, file);
        return 0;
}

static int verb_undefine(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        r = ctl_call(c, name, "Undefine", NULL, "s", name);
        if (r < 0)
                return r;

        ctl_info(c, "Domain %s has been undefined", name);
        return 0;
}

/* --- create / start ---------------------------------------------------------- */

/* --pass-fds N,M (virsh's, of start and create): those fds of ours become
 * init's 3, 4, ... with LISTEN_FDS and LISTEN_PID=1. A message for MEMBER
 * (StartWithFiles or CreateXMLWithFiles) with FIRST (the name or the
 * document), the fds and no flags. */
static int new_call_with_files(Context *c, const char *member, const char *first, const char *list,
                               sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;
        sd_bus *bus;
        int r;

        if (!copy)
                return ctl_error(-ENOMEM, "Out of memory");
        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, member);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", first);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "h");
        if (r < 0)
                return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *end;
                errno = 0;
                long fd = strtol(t, &end, 10);
                if (errno != 0 || end == t || *end || fd < 0 || fd > INT32_MAX)
                        return ctl_error(-EINVAL, "Unable to parse FD number '%s'", t);
                if (fcntl((int) fd, F_GETFD) < 0)
                        return ctl_error(-errno, "Unable to get flags on fd %ld", fd);
                r = sd_bus_message_append(m, "h", (int) fd);
                if (r < 0)
                        return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
        }
        r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "t", UINT64_C(0));
        if (r < 0)
                return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
        *ret = TAKE_PTR(m);
        return 0;
}

static int start_with_files(Context *c, const char *name, const char *list) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call_with_files(c, "StartWithFiles", name, list, &m);
        if (r < 0)
                return r;
        return ctl_call_message(c, m, name, NULL);
}

typedef struct ExitWait {
        const char *name;
        bool exited;
        int exit_code;
        bool manager_gone;
} ExitWait;

static int on_container_exited(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExitWait *w = userdata;
        const char *name, *detail;
        int32_t code;

        if (sd_bus_message_read(m, "ssi", &name, &detail, &code) < 0)
                return 0;
        if (w->name && streq(name, w->name)) {
                trace_point("vivctl-got-exited");
                w->exited = true;
                w->exit_code = code;
        }
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExitWait *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, VIV_BUS_NAME) && !*new_owner)
                w->manager_gone = true;
        return 0;
}

/* Subscribes before CreateXML, so that an init that exits at once is not
 * missed. The AddMatch calls are not waited for: the bus daemon handles a
 * connection's messages in order, so they are in force before it passes
 * CreateXML on; a failed one closes the connection (sd-bus's default), and
 * the call then fails. Two round trips fewer on the way of a start. */
static int exit_wait_subscribe(Context *c, ExitWait *w, sd_bus_slot **ret_exit, sd_bus_slot **ret_owner) {
        _cleanup_free_ char *match = NULL;
        sd_bus *bus;
        int r;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;

        if (w->name) {
                if (asprintf(&match, "type='signal',sender='%s',path='%s',interface='%s',"
                             "member='ContainerExited',arg0='%s'",
                             VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, w->name) < 0)
                        return ctl_error(-ENOMEM, "Out of memory");
                r = sd_bus_add_match_async(bus, ret_exit, match, on_container_exited, NULL, w);
        } else
                r = sd_bus_match_signal_async(bus, ret_exit, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE,
                                              "ContainerExited", on_container_exited, NULL, w);
        if (r < 0)
                return ctl_error(r, "Failed to subscribe to ContainerExited: %s", strerror(-r));

        r = sd_bus_add_match_async(bus, ret_owner,
                                   "type='signal',sender='org.freedesktop.DBus',"
                                   "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                   "arg0='" VIV_BUS_NAME "'",
                                   on_name_owner_changed, NULL, w);
        if (r < 0)
                return ctl_error(r, "Failed to subscribe to NameOwnerChanged: %s", strerror(-r));
        return 0;
}

static int exit_wait_run(Context *c, ExitWait *w) {
        sd_bus *bus;
        int r;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;

        while (!w->exited) {
                if (w->manager_gone) {
                        DomainEntry *l = NULL;
                        size_t n = 0;
                        bool running = false;

                        /* The manager went away (crash, restart): ask the new one
                         * whether the container still runs. */
                        w->manager_gone = false;
                        r = ctl_list_domains(c, &l, &n);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < n; i++)
                                if (streq(l[i].name, w->name) && !streq(l[i].state, VIV_STATE_SHUTOFF))
                                        running = true;
                        domain_entries_free(l, n);
                        if (!running)
                                return ctl_error(-ESRCH, "Lost track of domain '%s': the manager restarted", w->name);
                        continue;
                }

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return ctl_error(r, "Failed to process bus messages: %s", strerror(-r));
                if (r > 0)
                        continue;

                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return ctl_error(r, "Failed to wait for bus messages: %s", strerror(-r));
        }

        return w->exit_code < 0 ? 255 : (w->exit_code > 255 ? 255 : w->exit_code);
}

static int verb_create(Context *c, const VerbArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *exit_slot = NULL, *owner_slot = NULL;
        _cleanup_free_ char *xml = NULL, *name = NULL;
        const char *file = args_get(a, "file"), *pass_fds = args_get(a, "pass-fds"), *path;
        bool wait = args_flag(a, "wait");
        ExitWait w = {};
        size_t size;
        int r;

        r = read_file_or_report(file, &xml, &size);
        if (r < 0)
                return r;

        if (wait) {
                /* The name is known from CreateXML's reply only: until then
                 * the match takes every ContainerExited, and the handler
                 * keeps ours (no signal is dispatched before the reply). The
                 * document is not parsed here: that would load libxml2 on
                 * the way of every start (xml-module.h). */
                r = exit_wait_subscribe(c, &w, &exit_slot, &owner_slot);
                if (r < 0)
                        return r;
        }

        c->document = file;
        if (pass_fds) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                r = new_call_with_files(c, "CreateXMLWithFiles", xml, pass_fds, &m);
                if (r >= 0)
                        r = ctl_call_message(c, m, NULL, &reply);
        } else {
                trace_point("vivctl-createxml-call");
                r = ctl_call(c, NULL, "CreateXML", &reply, "st", xml, UINT64_C(0));
        }
        c->document = NULL;
        if (r < 0)
                return r;
        trace_point("vivctl-createxml-reply");

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of CreateXML: %s", strerror(-r));

        name = name_from_path(path);
        if (!name)
                return ctl_error(-ENOMEM, "Out of memory");
        w.name = name;

        /* With --wait, stdout belongs to the container's outcome: nothing
         * is printed on success, the exit status is the container's. */
        if (!wait)
                ctl_info(c, "Domain %s created from %s", name, file);

        if (args_flag(a, "console")) {
                r = console_attach(c, name, false, false);
                if (r < 0 || !wait)
                        return r;
        }

        if (wait)
                return exit_wait_run(c, &w);
        return 0;
}

static int verb_start(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        const char *pass_fds = args_get(a, "pass-fds");
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        if (pass_fds)
                r = start_with_files(c, name, pass_fds);
        else
                r = ctl_call(c, name, "Start", NULL, "st", name, UINT64_C(0));
        if (r < 0)
                return r;

        ctl_info(c, "Domain %s started", name);

        if (args_flag(a, "console"))
                return console_attach(c, name, args_flag(a, "force"), false);
        return 0;
}

/* --- simple lifecycle verbs -------------------------------------------------- */

/* "Domain NAME <what>" on success. */
static int simple_call(Context *c, const VerbArgs *a, const char *member, const char *what) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        r = ctl_call(c, name, member, NULL, "s", name);
        if (r < 0)
                return r;

        ctl_info(c, "Domain %s %s", name, what);
        return 0;
}

/* virsh's --mode of shutdown and reboot: a comma-separated list of
 * acpi, agent, initctl, signal, paravirt (libvirt's flag bits). The daemon
 * refuses the ones a container has no use for. */
static int parse_shutdown_mode(const char *mode, uint64_t *ret_flags) {
        static const struct { const char *name; uint64_t flag; } modes[] = {
                { "acpi", VIV_SHUTDOWN_ACPI_POWER_BTN },
                { "agent", VIV_SHUTDOWN_GUEST_AGENT },
                { "initctl", VIV_SHUTDOWN_INITCTL },
                { "signal", VIV_SHUTDOWN_SIGNAL },
                { "paravirt", VIV_SHUTDOWN_PARAVIRT },
        };
        _cleanup_free_ char *copy = strdup(mode);
        uint64_t flags = 0;
        char *save = NULL;

        if (!copy)
                return ctl_error(-ENOMEM, "Out of memory");
        for (char *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(modes); i++)
                        if (streq(m, modes[i].name))
                                break;
                if (i == ELEMENTSOF(modes))
                        return ctl_error(-EINVAL, "Unknown mode %s value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'", m);
                flags |= modes[i].flag;
        }
        *ret_flags = flags;
        return 0;
}

/* Shutdown or Reboot of NAME, with --mode through the *WithFlags method. */
static int call_with_mode(Context *c, const VerbArgs *a, const char *name, const char *member) {
        const char *mode = args_get(a, "mode");
        _cleanup_free_ char *with_flags = NULL;
        uint64_t flags = 0;
        int r;

        if (!mode)
                return ctl_call(c, name, member, NULL, "s", name);
        r = parse_shutdown_mode(mode, &flags);
        if (r < 0)
                return r;
        if (asprintf(&with_flags, "%sWithFlags", member) < 0)
                return ctl_error(-ENOMEM, "Out of memory");
        return ctl_call(c, name, with_flags, NULL, "st", name, flags);
}

/* simple_call() with --mode: "Domain NAME <what>" on success. */
static int mode_call(Context *c, const VerbArgs *a, const char *member, const char *what) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        r = call_with_mode(c, a, name, member);
        if (r < 0)
                return r;
        ctl_info(c, "Domain %s %s", name, what);
        return 0;
}

static int verb_destroy(Context *c, const VerbArgs *a) {
        return simple_call(c, a, "Destroy", "destroyed");
}

/* virsh waits for nothing; with --timeout S the container gets S seconds to
 * stop by itself (its Id gone or changed), then it is destroyed. */
static const VerbOption shutdown_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "mode", OPT_STRING, 0, "shutdown mode: initctl, signal (acpi, agent, paravirt: not for containers)" },
        { "timeout", OPT_STRING, 0, "seconds to wait before destroying the domain" },
        {}
};

static const VerbOption reboot_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "mode", OPT_STRING, 0, "reboot mode: initctl, signal (acpi, agent, paravirt: not for containers)" },
        {}
};

static int verb_shutdown(Context *c, const VerbArgs *a) {
        _cleanup_(domain_entry_donep) DomainEntry d = {};
        const char *timeout = args_get(a, "timeout");
        uint64_t deadline_ms = 0;
        uint32_t id;
        char *end;
        int r;

        if (!timeout)
                return mode_call(c, a, "Shutdown", "is being shutdown");

        errno = 0;
        unsigned long secs = strtoul(timeout, &end, 10);
        if (errno != 0 || end == timeout || *end || *timeout == '-' || secs > 86400)
                return ctl_error(-EINVAL, "Numeric value '%s' for <timeout> option is malformed or out of range",
                                 timeout);

        r = ctl_lookup_domain(c, args_get(a, "domain"), &d);
        if (r < 0)
                return r;
        id = d.id;
        r = call_with_mode(c, a, d.name, "Shutdown");
        if (r < 0)
                return r;
        ctl_info(c, "Domain %s is being shutdown", d.name);

        deadline_ms = (uint64_t) secs * 1000;
        for (uint64_t waited = 0;; waited += 100) {
                _cleanup_(domain_entry_donep) DomainEntry now = {};

                if (ctl_lookup_domain(c, d.name, &now) < 0 || now.id == 0 || now.id != id)
                        return 0; /* gone, stopped, or started again */
                if (waited >= deadline_ms)
                        break;
                (void) usleep(100 * 1000);
        }

        r = ctl_call(c, d.name, "Destroy", NULL, "s", d.name);
        if (r < 0)
                return r;
        ctl_info(c, "Domain %s destroyed after %lu s", d.name, secs);
        return 0;
}

static int verb_reboot(Context *c, const VerbArgs *a) {
        return mode_call(c, a, "Reboot", "is being rebooted");
}

static int verb_suspend(Context *c, const VerbArgs *a) {
        return simple_call(c, a, "Suspend", "suspended");
}

static int verb_resume(Context *c, const VerbArgs *a) {
        return simple_call(c, a, "Resume", "resumed");
}

static int verb_autostart(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        bool on = !args_flag(a, "disable");
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        r = ctl_call(c, name, "SetAutostart", NULL, "sb", name, (int) on);
        if (r < 0)
                return r;

        ctl_info(c, "Domain %s %s as autostarted", name, on ? "marked" : "unmarked");
        return 0;
}

/* --- list ------------------------------------------------------------------ */

static bool entry_running(const DomainEntry *d) {
        return !streq(d->state, VIV_STATE_SHUTOFF);
}

/* virsh's order: active domains by Id, then inactive ones by name. */
static int entry_compare(const void *x, const void *y) {
        const DomainEntry *a = x, *b = y;
        bool ra = entry_running(a) && a->id > 0, rb = entry_running(b) && b->id > 0;

        if (ra != rb)
                return ra ? -1 : 1;
        if (ra && a->id != b->id)
                return a->id < b->id ? -1 : 1;
        return strcmp(a->name, b->name);
}

static bool list_wants(const VerbArgs *a, const DomainEntry *d) {
        bool running = entry_running(d);
        bool f_run = args_flag(a, "state-running"), f_off = args_flag(a, "state-shutoff"),
             f_paused = args_flag(a, "state-paused");

        if (f_run || f_off || f_paused)
                return (f_run && streq(d->state, VIV_STATE_RUNNING)) ||
                       (f_off && streq(d->state, VIV_STATE_SHUTOFF)) ||
                       (f_paused && streq(d->state, VIV_STATE_PAUSED));
        if (args_flag(a, "inactive"))
                return !running;
        if (args_flag(a, "all"))
                return true;
        return running;
}

static int verb_list(Context *c, const VerbArgs *a) {
        static const char *const headers[] = { "Id", "Name", "State", "Title" };
        _cleanup_(table_freep) Table *t = NULL;
        bool names = args_flag(a, "name"), uuids = args_flag(a, "uuid"), titles = args_flag(a, "title");
        bool json = args_flag(a, "json");
        bool table = !json && (args_flag(a, "table") || (!names && !uuids));
        bool first = true;
        DomainEntry *l = NULL;
        size_t n = 0;
        int r;

        r = ctl_list_domains(c, &l, &n);
        if (r < 0)
                return r;

        if (n > 0)
                qsort(l, n, sizeof(DomainEntry), entry_compare);

        if (table) {
                t = table_new(titles ? 4 : 3, headers);
                if (!t) {
                        r = ctl_error(-ENOMEM, "Out of memory");
                        goto finish;
                }
        }

        for (size_t i = 0; i < n; i++) {
                const DomainEntry *d = &l[i];
                char id[16];

                if (!list_wants(a, d))
                        continue;

                if (entry_running(d) && d->id > 0)
                        snprintf(id, sizeof id, "%" PRIu32, d->id);
                else
                        strcpy(id, "-");

                if (json) {
                        /* one object per domain: what the table shows, and the UUID */
                        printf("%s\n  {\"id\": %s, \"name\": ", first ? "[" : ",", streq(id, "-") ? "null" : id);
                        json_print_string(stdout, d->name);
                        printf(", \"uuid\": ");
                        json_print_string(stdout, d->uuid);
                        printf(", \"state\": ");
                        json_print_string(stdout, d->state);
                        printf(", \"title\": ");
                        json_print_string(stdout, d->title);
                        printf("}");
                        first = false;
                } else if (table) {
                        const char *cells[] = { id, d->name, d->state, d->title };
                        if (table_add_row(t, cells) < 0) {
                                r = ctl_error(-ENOMEM, "Out of memory");
                                goto finish;
                        }
                } else if (names && uuids)
                        printf("%-36s  %s\n", d->uuid, d->name);
                else if (uuids)
                        printf("%s\n", d->uuid);
                else
                        printf("%s\n", d->name);
        }

        if (table)
                table_print(t, stdout);
        if (json)
                printf(first ? "[]\n" : "\n]\n");
        r = 0;

finish:
        domain_entries_free(l, n);
        return r;
}

/* --- dominfo and friends ---------------------------------------------------- */

static int get_bool_property(Context *c, const char *path, const char *property, bool *ret) {
        sd_bus *bus;
        int r, v;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;

        r = sd_bus_get_property_trivial(bus, VIV_BUS_NAME, path, VIV_CONTAINER_IFACE,
                                        property, NULL, 'b', &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

/* Optional runtime figures: what the manager's GetStats offers, else unknown. */
static void get_stats(Context *c, const char *name, uint64_t *cpu_time_ns, uint64_t *memory_kib) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus *bus;

        if (ctl_bus(c, &bus) < 0)
                return;
        if (sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE,
                               "GetStats", &error, &reply, "s", name) < 0)
                return;
        if (sd_bus_message_enter_container(reply, 'a', "{sv}") <= 0)
                return;

        while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                const char *key, *contents;
                uint64_t v;

                if (sd_bus_message_read(reply, "s", &key) < 0)
                        return;
                if (sd_bus_message_peek_type(reply, NULL, &contents) < 0)
                        return;

                if (streq(contents, "t") &&
                    (streq(key, "cpu.time") || streq(key, "balloon.current") || streq(key, "memory.current"))) {
                        if (sd_bus_message_read(reply, "v", "t", &v) < 0)
                                return;
                        if (streq(key, "cpu.time"))
                                *cpu_time_ns = v;
                        else if (streq(key, "balloon.current"))
                                *memory_kib = v;
                        else if (*memory_kib == UINT64_MAX)
                                *memory_kib = v / 1024; /* bytes */
                } else if (sd_bus_message_skip(reply, "v") < 0)
                        return;

                if (sd_bus_message_exit_container(reply) < 0)
                        return;
        }
}

#define INFO "%-15s "

static int verb_dominfo(Context *c, const VerbArgs *a) {
        _cleanup_(domain_entry_donep) DomainEntry d = {};
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *xml = NULL;
        uint64_t cpu_ns = 0, used_kib = UINT64_MAX, max_kib = 0, cur_kib = 0;
        unsigned vcpus = 1;
        const char *os_type = "exe";
        bool persistent = true, autostart = false, running;
        int r;

        r = ctl_lookup_domain(c, args_get(a, "domain"), &d);
        if (r < 0)
                return r;
        running = entry_running(&d);

        r = ctl_get_xml(c, d.name, 0, &xml);
        if (r < 0)
                return r;
        def = parse_quietly(c, xml, strlen(xml));
        if (def) {
                max_kib = def->memory_kib;
                cur_kib = def->current_memory_kib != UNSET_U64 ? def->current_memory_kib : max_kib;
                vcpus = def->vcpus > 0 ? def->vcpus : 1;
                os_type = def->os_type ?: os_type;
        }

        (void) get_bool_property(c, d.path, "Persistent", &persistent);
        (void) get_bool_property(c, d.path, "Autostart", &autostart);
        if (running)
                get_stats(c, d.name, &cpu_ns, &used_kib);
        /* As libvirt: the balloon (current memory) unless the running scope
         * says what it uses. */
        if (used_kib == UINT64_MAX)
                used_kib = cur_kib;

        if (args_flag(a, "json")) {
                printf("{\n  \"id\": ");
                if (running && d.id > 0)
                        printf("%" PRIu32, d.id);
                else
                        printf("null");
                printf(",\n  \"name\": ");
                json_print_string(stdout, d.name);
                printf(",\n  \"uuid\": ");
                json_print_string(stdout, d.uuid);
                printf(",\n  \"os_type\": ");
                json_print_string(stdout, os_type);
                printf(",\n  \"state\": ");
                json_print_string(stdout, d.state);
                printf(",\n  \"cpus\": %u", vcpus);
                if (cpu_ns > 0)
                        printf(",\n  \"cpu_time_ns\": %" PRIu64, cpu_ns);
                if (max_kib > 0)
                        printf(",\n  \"max_memory_kib\": %" PRIu64, max_kib);
                printf(",\n  \"used_memory_kib\": %" PRIu64, used_kib);
                printf(",\n  \"persistent\": %s", persistent ? "true" : "false");
                printf(",\n  \"autostart\": %s", autostart ? "true" : "false");
                printf(",\n  \"managed_save\": false,\n  \"security_model\": \"none\",\n"
                       "  \"security_doi\": \"0\"\n}\n");
                return 0;
        }

        if (running && d.id > 0)
                printf(INFO "%" PRIu32 "\n", "Id:", d.id);
        else
                printf(INFO "%s\n", "Id:", "-");
        printf(INFO "%s\n", "Name:", d.name);
        printf(INFO "%s\n", "UUID:", d.uuid);
        printf(INFO "%s\n", "OS Type:", os_type);
        printf(INFO "%s\n", "State:", d.state);
        printf(INFO "%u\n", "CPU(s):", vcpus);
        if (cpu_ns > 0)
                printf(INFO "%.1fs\n", "CPU time:", (double) cpu_ns / 1e9);
        if (max_kib > 0)
                printf(INFO "%" PRIu64 " KiB\n", "Max memory:", max_kib);
        else
                printf(INFO "%s\n", "Max memory:", "no limit");
        printf(INFO "%" PRIu64 " KiB\n", "Used memory:", used_kib);
        printf(INFO "%s\n", "Persistent:", persistent ? "yes" : "no");
        printf(INFO "%s\n", "Autostart:", autostart ? "enable" : "disable");
        printf(INFO "%s\n", "Managed save:", "no");
        printf(INFO "%s\n", "Security model:", "none");
        printf(INFO "%s\n", "Security DOI:", "0");
        return 0;
}

static int verb_domstate(Context *c, const VerbArgs *a) {
        _cleanup_(domain_entry_donep) DomainEntry d = {};
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *reason = NULL;
        sd_bus *bus;
        int r;

        r = ctl_lookup_domain(c, args_get(a, "domain"), &d);
        if (r < 0)
                return r;
        if (!args_flag(a, "reason")) {
                printf("%s\n", d.state);
                return 0;
        }

        /* the manager's words are libvirt's reasons as virsh prints them */
        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(bus, VIV_BUS_NAME, d.path, VIV_CONTAINER_IFACE, "StateReason", &error,
                                       &reason);
        if (r < 0)
                return ctl_report_bus_error(&error, r, d.name);
        printf("%s (%s)\n", d.state, reason);
        return 0;
}

static int verb_domid(Context *c, const VerbArgs *a) {
        _cleanup_(domain_entry_donep) DomainEntry d = {};
        int r;

        r = ctl_lookup_domain(c, args_get(a, "domain"), &d);
        if (r < 0)
                return r;
        if (entry_running(&d) && d.id > 0)
                printf("%" PRIu32 "\n", d.id);
        else
                printf("-\n");
        return 0;
}

static int verb_domuuid(Context *c, const VerbArgs *a) {
        _cleanup_(domain_entry_donep) DomainEntry d = {};
        int r;

        r = ctl_lookup_domain(c, args_get(a, "domain"), &d);
        if (r < 0)
                return r;
        printf("%s\n", d.uuid);
        return 0;
}

static int verb_domname(Context *c, const VerbArgs *a) {
        _cleanup_(domain_entry_donep) DomainEntry d = {};
        int r;

        r = ctl_lookup_domain(c, args_get(a, "domain"), &d);
        if (r < 0)
                return r;
        printf("%s\n", d.name);
        return 0;
}

static int verb_dumpxml(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL, *xml = NULL;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        r = ctl_get_xml(c, name, args_flag(a, "inactive") ? VIV_XML_INACTIVE : 0, &xml);
        if (r < 0)
                return r;

        size_t n = strlen(xml);
        fputs(xml, stdout);
        if (n == 0 || xml[n - 1] != '\n')
                putchar('\n');
        return 0;
}

static int verb_domiflist(Context *c, const VerbArgs *a) {
        static const char *const headers[] = { "Interface", "Type", "Source", "Model", "MAC" };
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *name = NULL, *xml = NULL;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        /* The live XML carries what the start decided: host device names, MACs. */
        r = ctl_get_xml(c, name, args_flag(a, "inactive") ? VIV_XML_INACTIVE : 0, &xml);
        if (r < 0)
                return r;
        def = parse_quietly(c, xml, strlen(xml));
        if (!def)
                return ctl_error(-EINVAL, "Failed to parse the XML of domain '%s'", name);

        t = table_new(ELEMENTSOF(headers), headers);
        if (!t)
                return ctl_error(-ENOMEM, "Out of memory");

        ARRAY_FOREACH(i, def->interfaces, def->n_interfaces) {
                char mac[18] = "-";

                if (i->has_mac)
                        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x",
                                 i->mac[0], i->mac[1], i->mac[2], i->mac[3], i->mac[4], i->mac[5]);
                const char *cells[] = {
                        i->target_dev ?: "-",
                        interface_type_to_string(i->type),
                        i->source ?: "-",
                        "-",
                        mac,
                };
                if (table_add_row(t, cells) < 0)
                        return ctl_error(-ENOMEM, "Out of memory");
        }

        return table_print(t, stdout);
}

/* --- the table ---------------------------------------------------------------- */

#define DOMAIN_OPT(h) { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, h }

static const VerbOption define_options[] = {
        { "file", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "file containing an XML domain description" },
        {}
};

static const VerbOption create_options[] = {
        { "file", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "file containing an XML domain description" },
        { "console", OPT_BOOL, 0, "attach to console after creation" },
        { "wait", OPT_BOOL, 0, "wait until the domain stops; exit with its init's exit status and print nothing on success" },
        { "pass-fds", OPT_STRING, 0, "pass file descriptors N,M,... to the guest (init's 3, 4, ...; LISTEN_FDS)" },
        {}
};

static const VerbOption start_options[] = {
        DOMAIN_OPT("name of the inactive domain"),
        { "console", OPT_BOOL, 0, "attach to console after creation" },
        { "force", OPT_BOOL, 0, "with --console: take the console over from another client" },
        { "pass-fds", OPT_STRING, 0, "pass file descriptors N,M,... to the guest (init's 3, 4, ...; LISTEN_FDS)" },
        {}
};

static const VerbOption domain_only_options[] = {
        DOMAIN_OPT("domain name, id or uuid"),
        {}
};

static const VerbOption domstate_options[] = {
        DOMAIN_OPT("domain name, id or uuid"),
        { "reason", OPT_BOOL, 0, "also print reason for the state" },
        {}
};

static const VerbOption autostart_options[] = {
        DOMAIN_OPT("domain name, id or uuid"),
        { "disable", OPT_BOOL, 0, "disable autostarting" },
        {}
};

static const VerbOption list_options[] = {
        { "all", OPT_BOOL, 0, "list inactive & active domains" },
        { "inactive", OPT_BOOL, 0, "list inactive domains" },
        { "state-running", OPT_BOOL, 0, "list domains in running state" },
        { "state-paused", OPT_BOOL, 0, "list domains in paused state" },
        { "state-shutoff", OPT_BOOL, 0, "list domains in shutoff state" },
        { "uuid", OPT_BOOL, 0, "list uuid's only" },
        { "name", OPT_BOOL, 0, "list domain names only" },
        { "table", OPT_BOOL, 0, "list table (default)" },
        { "title", OPT_BOOL, 0, "show domain title" },
        { "json", OPT_BOOL, 0, "a JSON array of objects (id, name, uuid, state, title)" },
        {}
};

static const VerbOption dominfo_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "json", OPT_BOOL, 0, "a JSON object with the same facts" },
        {}
};

static const VerbOption domiflist_options[] = {
        DOMAIN_OPT("domain name, id or uuid"),
        { "inactive", OPT_BOOL, 0, "get inactive rather than running configuration" },
        {}
};

static const VerbOption dumpxml_options[] = {
        DOMAIN_OPT("domain name, id or uuid"),
        { "inactive", OPT_BOOL, 0, "show inactive defined XML" },
        { "security-info", OPT_BOOL, 0, "include security sensitive information in XML dump (accepted, no effect)" },
        {}
};

#define DM "Domain Management"
#define DMON "Domain Monitoring"

const Verb verb_table_domain[] = {
        { "autostart", DM, "autostart a domain",
          "Configure a domain to be automatically started at boot.",
          autostart_options, VERB_NEEDS_URI, verb_autostart },
        { "create", DM, "create a domain from an XML file",
          "Create (start) a transient domain from an XML <file>. A domain\n"
          "of that name and uuid that is defined and shut off is started with\n"
          "<file> as its running definition; its stored one stays.\n"
          "With --wait, vivctl waits until the domain stops and exits with the\n"
          "exit status of its init; nothing is printed on success. With both\n"
          "--console and --wait, the wait goes on after the console detaches.\n"
          "With --pass-fds N,M,... those fds become init's 3, 4, ... (LISTEN_FDS).",
          create_options, VERB_NEEDS_URI, verb_create },
        { "define", DM, "define (but don't start) a domain from an XML file",
          "Define a domain.",
          define_options, VERB_NEEDS_URI, verb_define },
        { "destroy", DM, "destroy (stop) a domain",
          "Forcefully stop a given domain, but leave its resources intact.",
          domain_only_options, VERB_NEEDS_URI, verb_destroy },
        { "dumpxml", DM, "domain information in XML",
          "Output the domain information as an XML dump to stdout.",
          dumpxml_options, VERB_NEEDS_URI, verb_dumpxml },
        { "reboot", DM, "reboot a domain",
          "Run a reboot command in the target domain. --mode initctl asks a\n"
          "sysvinit-style init through its /run/initctl pipe (runlevel 6);\n"
          "--mode signal (the default) is SIGRTMIN+5 to a systemd init, or a\n"
          "stop and a start; --mode initctl,signal tries the pipe first.",
          reboot_options, VERB_NEEDS_URI, verb_reboot },
        { "resume", DM, "resume a domain",
          "Resume a previously suspended domain.",
          domain_only_options, VERB_NEEDS_URI, verb_resume },
        { "shutdown", DM, "gracefully shutdown a domain",
          "Run shutdown in the target domain: SIGRTMIN+3 to a systemd init,\n"
          "SIGTERM otherwise (--mode signal, the default). --mode initctl asks\n"
          "a sysvinit-style init through its /run/initctl pipe (runlevel 0);\n"
          "--mode initctl,signal tries the pipe, then the signal. With\n"
          "--timeout, destroy it when it has not stopped after that many\n"
          "seconds; without, do not wait.",
          shutdown_options, VERB_NEEDS_URI, verb_shutdown },
        { "start", DM, "start a (previously defined) inactive domain",
          "Start a domain, via a fresh boot.",
          start_options, VERB_NEEDS_URI, verb_start },
        { "suspend", DM, "suspend a domain",
          "Suspend a running domain.",
          domain_only_options, VERB_NEEDS_URI, verb_suspend },
        { "undefine", DM, "undefine a domain",
          "Undefine an inactive domain, or convert persistent to transient.",
          domain_only_options, VERB_NEEDS_URI, verb_undefine },
        { "domid", DMON, "convert a domain name or UUID to domain id",
          "Convert a domain name or UUID to domain id; '-' when it is not running.",
          domain_only_options, VERB_NEEDS_URI, verb_domid },
        { "domiflist", DMON, "list all domain virtual interfaces",
          "Get network interfaces of a domain: host device, type, source, MAC.",
          domiflist_options, VERB_NEEDS_URI, verb_domiflist },
        { "dominfo", DMON, "domain information",
          "Returns basic information about the domain.",
          dominfo_options, VERB_NEEDS_URI, verb_dominfo },
        { "domname", DMON, "convert a domain id or UUID to domain name",
          "Convert a domain id or UUID to domain name.",
          domain_only_options, VERB_NEEDS_URI, verb_domname },
        { "domstate", DMON, "domain state",
          "Returns state about a domain. With --reason, the reason of the last\n"
          "change as virsh words it: \"running (booted)\", \"paused (user)\",\n"
          "\"shut off (destroyed)\"; \"unknown\" for a domain never started since\n"
          "the manager started.",
          domstate_options, VERB_NEEDS_URI, verb_domstate },
        { "domuuid", DMON, "convert a domain name or id to domain UUID",
          "Convert a domain name or id to domain UUID.",
          domain_only_options, VERB_NEEDS_URI, verb_domuuid },
        { "list", DMON, "list domains",
          "Returns list of domains: running ones by default, all with --all.",
          list_options, VERB_NEEDS_URI, verb_list },
        {}
};
