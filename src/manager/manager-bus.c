/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Manager object, /org/vivarium1, interface org.vivarium1.Manager. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "domain-xml.h"
#include "macros.h"
#include "manager.h"
#include "network.h"
#include "trace.h"


static int container_from_name(Manager *m, const char *name, Container **ret, sd_bus_error *error) {
        Container *c = manager_find_container(m, name);

        if (!c)
                return sd_bus_error_setf(error, VIV_ERROR_NO_SUCH_CONTAINER, "No container '%s'", name);
        *ret = c;
        return 0;
}

/* Parses a definition received over the bus. The parser's error carries the
 * line and the column and is returned verbatim; warnings are logged. The
 * schema is compiled once, on the first definition, and kept: compiling it
 * is most of a parse's cost, and CreateXML is on every transient start. */
static int parse_definition(Manager *m, const char *xml, DomainDef **ret, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *msg = NULL;
        XmlDiag diag = {};
        int r;

        if (!m->domain_schema) {
                r = domain_schema_new(&m->domain_schema);
                if (r < 0) /* then each parse compiles it, as domain_def_parse() does */
                        fprintf(stderr, "Failed to compile the domain schema, ignoring: %s\n", strerror(-r));
        }
        r = domain_def_parse_with(m->domain_schema, xml, strlen(xml), "(xml)", &def, &diag);
        r = bus_report_parse(r, &diag, "container", error);
        xml_diag_done(&diag);
        if (r < 0)
                return r;
        /* a host fact, not the document's: the start checks it again */
        r = blkio_check_devices(def, &msg);
        if (r < 0) {
                fprintf(stderr, "Refused container definition: %s\n", msg ? msg : strerror(-r));
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG, "%s", msg ? msg : strerror(-r));
        }

        *ret = TAKE_PTR(def);
        return 0;
}

int bus_report_parse(int r, const XmlDiag *diag, const char *what, sd_bus_error *error) {
        if (diag->warnings)
                for (char **w = diag->warnings; *w; w++)
                        fprintf(stderr, "%c%s definition: %s\n", toupper((unsigned char) what[0]), what + 1, *w);
        if (r == -ENOMEM || r >= 0)
                return r;
        fprintf(stderr, "Refused %s definition: %s\n", what, strna(diag->error));
        if (diag->error)
                return sd_bus_error_set(error, VIV_ERROR_INVALID_CONFIG, diag->error);
        return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG, "Invalid %s definition", what);
}

/* Name and UUID identify a container: a definition may reuse its own name
 * and UUID, never another container's. */
static int check_identity(Manager *m, DomainDef *def, Container **ret_existing, sd_bus_error *error) {
        Container *c, *other;
        char buf[37];

        c = manager_find_container(m, def->name);
        if (c) {
                if (def->uuid_generated)
                        /* libvirt keeps the UUID when a redefinition has none. */
                        memcpy(def->uuid, c->uuid, 16);
                else if (memcmp(def->uuid, c->uuid, 16) != 0) {
                        uuid_format(c->uuid, buf);
                        return sd_bus_error_setf(error, VIV_ERROR_CONTAINER_EXISTS,
                                                 "Container '%s' already exists with uuid %s", c->name, buf);
                }
        }

        other = manager_find_container_by_uuid(m, def->uuid);
        if (other && other != c) {
                uuid_format(other->uuid, buf);
                return sd_bus_error_setf(error, VIV_ERROR_CONTAINER_EXISTS,
                                         "Container '%s' already exists with uuid %s", other->name, buf);
        }

        *ret_existing = c;
        return 0;
}

static int method_define_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        Manager *m = userdata;
        Container *c = NULL;
        const char *xml;
        bool was_persistent;
        int r;

        r = sd_bus_message_read(msg, "s", &xml);
        if (r < 0)
                return r;
        manager_note_request_size(m, strlen(xml));
        r = bus_check_privileged(m, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        r = parse_definition(m, xml, &def, error);
        if (r < 0)
                return r;
        r = check_identity(m, def, &c, error);
        if (r < 0)
                return r;

        /* As libvirt: an interface without <mac> gets one now, kept in the
         * stored definition, so that the container has the same MAC (and
         * the same DHCP lease) at every start. */
        r = domain_def_fill_macs(def);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to generate MAC addresses for container '%s': %m",
                                               def->name);

        /* The file first: a definition that cannot be stored changes nothing. */
        r = store_save(m, def);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to save the definition of container '%s': %m",
                                               def->name);

        if (c) {
                /* A running container keeps its live definition: only the
                 * persistent one changes, used at the next start. */
                domain_def_free(c->def);
                c->def = TAKE_PTR(def);
                was_persistent = c->persistent;
                c->persistent = true;
                if (!was_persistent)
                        (void) container_emit_changed(c, "Persistent", NULL);
                (void) manager_emit_container_event(m, c, "defined", "updated");
                fprintf(stderr, "Container '%s' redefined.\n", c->name);
        } else {
                r = container_new(m, def, true, &c);
                if (r < 0)
                        return r;
                TAKE_PTR(def);
                c->autostart = store_get_autostart(m, c->name);
                (void) manager_emit_container_new(m, c);
                (void) manager_emit_container_event(m, c, "defined", "added");
                fprintf(stderr, "Container '%s' defined.\n", c->name);
        }

        return sd_bus_reply_method_return(msg, "o", c->path);
}

/* CreateXML, and CreateXMLWithFiles (libvirt's virDomainCreateXMLWithFiles,
 * `vivctl create --pass-fds`): its "ah" between the document and the flags
 * becomes init's fds 3, 4, ... as StartWithFiles' does. */
static int create_xml(sd_bus_message *msg, Manager *m, bool with_files, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        Container *c = NULL;
        const char *xml;
        uint64_t flags;
        bool is_new = false;
        int r;

        trace_point("mgr-createxml");
        r = sd_bus_message_read(msg, "s", &xml);
        if (r < 0)
                return r;
        manager_note_request_size(m, strlen(xml));
        r = bus_check_privileged(m, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        trace_point("mgr-privileged");
        r = parse_definition(m, xml, &def, error);
        if (r < 0)
                return r;
        trace_point("mgr-parsed");
        r = check_identity(m, def, &c, error);
        if (r < 0)
                return r;
        if (c && container_is_active(c))
                return sd_bus_error_setf(error, VIV_ERROR_ALREADY_RUNNING, "Container '%s' is already running", c->name);
        if (!c) {
                r = container_new(m, def, false, &c);
                if (r < 0)
                        return r;
                TAKE_PTR(def);
                is_new = true;
                (void) manager_emit_container_new(m, c);
        }

        if (with_files)
                r = container_pass_fds_read(c, msg, error);
        if (r >= 0)
                r = sd_bus_message_read(msg, "t", &flags);
        if (r >= 0 && !is_new) {
                /* As libvirt: a defined container (same name, same uuid:
                 * check_identity()) is started with this document as its
                 * live definition; the stored one stays for the next start. */
                fprintf(stderr, "Container '%s' is defined: starting it with the definition CreateXML passed.\n",
                        c->name);
                r = container_start_as(c, msg, true, TAKE_PTR(def), error);
        } else if (r >= 0)
                r = container_start(c, msg, true, error);
        /* the helper has its copies once the start returns, whatever it did */
        container_pass_fds_close(c);
        if (r < 0 && is_new)
                container_drop_if_unused(c);
        return r;
}

static int method_create_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return create_xml(msg, userdata, false, error);
}

static int method_create_xml_with_files(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return create_xml(msg, userdata, true, error);
}

/* The Manager's methods on one container take its name first and then what
 * the Container object's method of the same name takes: the container is
 * looked up and the call handed on, to answer as that method does. */
static int redirect_to_container(sd_bus_message *msg, Manager *m, sd_bus_message_handler_t method,
                                 sd_bus_error *error) {
        Container *c = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = container_from_name(m, name, &c, error);
        if (r < 0)
                return r;
        return method(msg, c, error);
}

#define DEFINE_REDIRECT_METHOD(func, method)                                                  \
        static int func(sd_bus_message *msg, void *userdata, sd_bus_error *error) {           \
                return redirect_to_container(msg, userdata, method, error);                   \
        }

static int reply_container_path(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_reply_method_return(msg, "o", c->path);
}

DEFINE_REDIRECT_METHOD(method_undefine, container_method_undefine);
DEFINE_REDIRECT_METHOD(method_destroy, container_method_destroy);
DEFINE_REDIRECT_METHOD(method_shutdown, container_method_shutdown);
DEFINE_REDIRECT_METHOD(method_reboot, container_method_reboot);
DEFINE_REDIRECT_METHOD(method_suspend, container_method_suspend);
DEFINE_REDIRECT_METHOD(method_resume, container_method_resume);
DEFINE_REDIRECT_METHOD(method_start, container_method_start);
DEFINE_REDIRECT_METHOD(method_get_xml, container_method_get_xml);
DEFINE_REDIRECT_METHOD(method_open_console, container_method_open_console);
DEFINE_REDIRECT_METHOD(method_resize_console, container_method_resize_console);
DEFINE_REDIRECT_METHOD(method_open_console_stream, container_method_open_console_stream);

DEFINE_REDIRECT_METHOD(method_open_console_device, container_method_open_console_device);
DEFINE_REDIRECT_METHOD(method_shutdown_flags, container_method_shutdown_flags);
DEFINE_REDIRECT_METHOD(method_start_with_files, container_method_start_with_files);
DEFINE_REDIRECT_METHOD(method_reboot_flags, container_method_reboot_flags);
DEFINE_REDIRECT_METHOD(method_resize_console_device, container_method_resize_console_device);
DEFINE_REDIRECT_METHOD(method_set_memory, container_method_set_memory);
DEFINE_REDIRECT_METHOD(method_set_scheduler, container_method_set_scheduler);
DEFINE_REDIRECT_METHOD(method_get_stats, container_method_get_stats);
DEFINE_REDIRECT_METHOD(method_set_memory_parameters, container_method_set_memory_parameters);
DEFINE_REDIRECT_METHOD(method_set_blkio_parameters, container_method_set_blkio_parameters);
DEFINE_REDIRECT_METHOD(method_set_autostart, container_method_set_autostart);
DEFINE_REDIRECT_METHOD(method_set_interface_parameters, container_method_set_interface_parameters);
DEFINE_REDIRECT_METHOD(method_get_interface_parameters, container_method_get_interface_parameters);
DEFINE_REDIRECT_METHOD(method_send_process_signal, container_method_send_process_signal);
DEFINE_REDIRECT_METHOD(method_attach_device, container_method_attach_device);
DEFINE_REDIRECT_METHOD(method_detach_device, container_method_detach_device);
DEFINE_REDIRECT_METHOD(method_get_container, reply_container_path);

static int compare_by_name(const void *a, const void *b) {
        const Container *x = *(Container *const *) a, *y = *(Container *const *) b;
        return strcmp(x->name, y->name);
}

/* The Id: the helper's PID while the container runs, as libvirt's. */
static uint32_t container_id(const Container *c) {
        return c->state == CONTAINER_RUNNING || c->state == CONTAINER_STOPPING ? (uint32_t) c->helper_pid : 0;
}

/* (name, uuid, id, state, title, path), one entry of ListContainers and the
 * reply of LookupContainer: the title is what `vivctl list --title` shows,
 * "" when the XML has none. */
static int append_entry(sd_bus_message *reply, Container *c) {
        char uuid[37];

        uuid_format(c->uuid, uuid);
        return sd_bus_message_append(reply, "ssusso", c->name, uuid, container_id(c), container_state_to_string(c),
                                     strempty(container_current_def(c)->title), c->path);
}

static int method_list_containers(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Container **list = NULL;
        Manager *m = userdata;
        size_t n = 0;
        int r;

        for (Container *c = m->containers; c; c = c->next)
                n++;
        list = calloc(n ? n : 1, sizeof(Container *));
        if (!list)
                return -ENOMEM;
        n = 0;
        for (Container *c = m->containers; c; c = c->next)
                list[n++] = c;
        qsort(list, n, sizeof(Container *), compare_by_name);

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssusso)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "ssusso");
                if (r >= 0)
                        r = append_entry(reply, list[i]);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

/* One container as virsh finds a domain: by name, else by Id (a running
 * container's), else by UUID (with or without dashes, any case). vivctl's
 * verbs that take a domain ask this instead of fetching the whole list, so
 * that N calls on N containers are not N² work. */
static Container *lookup_container(Manager *m, const char *spec) {
        Container *c = manager_find_container(m, spec);
        uint8_t uuid[16];

        if (c)
                return c;
        if (spec[0] && strspn(spec, "0123456789") == strlen(spec) && strlen(spec) <= 10) {
                unsigned long id = strtoul(spec, NULL, 10);
                for (c = m->containers; c; c = c->next)
                        if (container_id(c) != 0 && container_id(c) == id)
                                return c;
        }
        if (uuid_parse_string(spec, uuid) >= 0)
                return manager_find_container_by_uuid(m, uuid);
        return NULL;
}

static int method_lookup_container(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const char *spec;
        Container *c;
        int r;

        r = sd_bus_message_read(msg, "s", &spec);
        if (r < 0)
                return r;
        c = lookup_container(m, spec);
        if (!c)
                return sd_bus_error_setf(error, VIV_ERROR_NO_SUCH_CONTAINER, "No container '%s'", spec);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_entry(reply, c);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("DefineXML", "s", SD_BUS_PARAM(xml), "o", SD_BUS_PARAM(path),
                                 method_define_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Undefine", "s", SD_BUS_PARAM(name), "", ,
                                 method_undefine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CreateXML", "st", SD_BUS_PARAM(xml) SD_BUS_PARAM(flags), "o", SD_BUS_PARAM(path),
                                 method_create_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CreateXMLWithFiles", "saht", SD_BUS_PARAM(xml) SD_BUS_PARAM(fds) SD_BUS_PARAM(flags),
                                 "o", SD_BUS_PARAM(path), method_create_xml_with_files, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Start", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(flags), "", ,
                                 method_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Shutdown", "s", SD_BUS_PARAM(name), "", ,
                                 method_shutdown, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Destroy", "s", SD_BUS_PARAM(name), "", ,
                                 method_destroy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Reboot", "s", SD_BUS_PARAM(name), "", ,
                                 method_reboot, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("StartWithFiles", "saht", SD_BUS_PARAM(name) SD_BUS_PARAM(fds) SD_BUS_PARAM(flags), "", ,
                                 method_start_with_files, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ShutdownWithFlags", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(flags), "", ,
                                 method_shutdown_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RebootWithFlags", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(flags), "", ,
                                 method_reboot_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Suspend", "s", SD_BUS_PARAM(name), "", ,
                                 method_suspend, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Resume", "s", SD_BUS_PARAM(name), "", ,
                                 method_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetAutostart", "sb", SD_BUS_PARAM(name) SD_BUS_PARAM(on), "", ,
                                 method_set_autostart, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListContainers", "", , "a(ssusso)", SD_BUS_PARAM(containers),
                                 method_list_containers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("LookupContainer", "s", SD_BUS_PARAM(spec), "ssusso",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(uuid) SD_BUS_PARAM(id) SD_BUS_PARAM(state)
                                 SD_BUS_PARAM(title) SD_BUS_PARAM(path),
                                 method_lookup_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetContainer", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(path),
                                 method_get_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetXML", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(flags), "s", SD_BUS_PARAM(xml),
                                 method_get_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenConsole", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(flags), "h", SD_BUS_PARAM(fd),
                                 method_open_console, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ResizeConsole", "sqq", SD_BUS_PARAM(name) SD_BUS_PARAM(rows) SD_BUS_PARAM(cols),
                                 "", , method_resize_console, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenConsoleStream", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(flags), "o",
                                 SD_BUS_PARAM(stream), method_open_console_stream, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_METHOD_WITH_NAMES("OpenConsoleDevice", "sst", SD_BUS_PARAM(name) SD_BUS_PARAM(devname) SD_BUS_PARAM(flags),
                                 "h", SD_BUS_PARAM(fd), method_open_console_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ResizeConsoleDevice", "ssqq", SD_BUS_PARAM(name) SD_BUS_PARAM(devname)
                                 SD_BUS_PARAM(rows) SD_BUS_PARAM(cols),
                                 "", , method_resize_console_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetMemory", "stt", SD_BUS_PARAM(name) SD_BUS_PARAM(kib) SD_BUS_PARAM(flags),
                                 "", , method_set_memory, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetSchedulerParameters", "sa{sv}t",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(params) SD_BUS_PARAM(flags), "", ,
                                 method_set_scheduler, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetStats", "s", SD_BUS_PARAM(name), "a{sv}", SD_BUS_PARAM(stats),
                                 method_get_stats, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetMemoryParameters", "sa{sv}t",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(params) SD_BUS_PARAM(flags), "", ,
                                 method_set_memory_parameters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetBlkioParameters", "sa{sv}t",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(params) SD_BUS_PARAM(flags), "", ,
                                 method_set_blkio_parameters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetInterfaceParameters", "ssa{sv}t",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(iface) SD_BUS_PARAM(params) SD_BUS_PARAM(flags),
                                 "", , method_set_interface_parameters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetInterfaceParameters", "sst",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(iface) SD_BUS_PARAM(flags), "a{sv}",
                                 SD_BUS_PARAM(params), method_get_interface_parameters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SendProcessSignal", "sxut",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(pid) SD_BUS_PARAM(signal) SD_BUS_PARAM(flags), "", ,
                                 method_send_process_signal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AttachDevice", "sst", SD_BUS_PARAM(name) SD_BUS_PARAM(xml) SD_BUS_PARAM(flags),
                                 "", , method_attach_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DetachDevice", "sst", SD_BUS_PARAM(name) SD_BUS_PARAM(xml) SD_BUS_PARAM(flags),
                                 "", , method_detach_device, SD_BUS_VTABLE_UNPRIVILEGED),
        NETWORK_MANAGER_METHODS,
        SD_BUS_SIGNAL_WITH_NAMES("ContainerNew", "so", SD_BUS_PARAM(name) SD_BUS_PARAM(path), 0),
        SD_BUS_SIGNAL_WITH_NAMES("ContainerRemoved", "so", SD_BUS_PARAM(name) SD_BUS_PARAM(path), 0),
        SD_BUS_SIGNAL_WITH_NAMES("ContainerEvent", "sss",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(event) SD_BUS_PARAM(detail), 0),
        SD_BUS_SIGNAL_WITH_NAMES("ContainerExited", "ssi",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(detail) SD_BUS_PARAM(exit_code), 0),
        SD_BUS_VTABLE_END,
};

int manager_emit_container_new(Manager *m, Container *c) {
        return sd_bus_emit_signal(m->bus, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "ContainerNew", "so",
                                  c->name, c->path);
}

int manager_emit_container_removed(Manager *m, Container *c) {
        return sd_bus_emit_signal(m->bus, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "ContainerRemoved", "so",
                                  c->name, c->path);
}

int manager_emit_container_event(Manager *m, Container *c, const char *event, const char *detail) {
        return sd_bus_emit_signal(m->bus, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "ContainerEvent", "sss",
                                  c->name, event, detail);
}

int manager_emit_container_exited(Manager *m, Container *c, const char *detail, int exit_code) {
        trace_point("mgr-emit-exited");
        return sd_bus_emit_signal(m->bus, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "ContainerExited", "ssi",
                                  c->name, detail, (int32_t) exit_code);
}

void bus_message_unref_void(void *p) {
        sd_bus_message_unref(p);
}

int bus_call_async_owned(sd_bus *bus, sd_bus_message *msg, sd_bus_message_handler_t handler, void *userdata,
                         sd_bus_destroy_t destroy) {
        sd_bus_slot *slot = NULL;
        int r;

        r = sd_bus_call_async(bus, &slot, msg, handler, userdata, 0);
        if (r < 0) {
                destroy(userdata);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, destroy);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        return 0;
}

int manager_bus_setup(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, VIV_CONTAINER_PREFIX, VIV_CONTAINER_IFACE,
                                       container_vtable, container_object_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, VIV_CONTAINER_PREFIX, container_node_enumerator, m);
}
