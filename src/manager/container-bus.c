/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Container objects, /org/vivarium1/container/<encoded name>, interface
 * org.vivarium1.Container, and the operations the Manager shares with them. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "domain-xml.h"
#include "macros.h"
#include "manager.h"
#include "trace.h"

static bool container_has_helper(const Container *c) {
        return c->state == CONTAINER_RUNNING || c->state == CONTAINER_STOPPING;
}

static int not_running(Container *c, sd_bus_error *error) {
        return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", c->name);
}

int bus_forward_empty_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        sd_bus_message *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                return sd_bus_reply_method_error(call, e);
        return sd_bus_reply_method_return(call, NULL);
}

static int forward_fd_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        sd_bus_message *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int fd, r;

        if (e)
                return sd_bus_reply_method_error(call, e);
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return sd_bus_reply_method_errnof(call, r, "Invalid console reply from the helper: %m");
        /* sd-bus duplicates the fd into the reply. */
        return sd_bus_reply_method_return(call, "h", fd);
}

/* The operations below are the Container object's method handlers (userdata:
 * the Container); the Manager's methods of the same names look the container
 * up by the name they take first and hand the call on (manager-bus.c). Each
 * reads its own arguments from msg. */

int container_method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int r;

        trace_point("mgr-start");
        /* Its flags (t) are accepted and ignored: none is defined. */
        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        trace_point("mgr-privileged");
        return container_start(c, msg, false, error);
}

void container_pass_fds_close(Container *c) {
        for (size_t i = 0; i < c->n_pass_fds; i++)
                safe_close(c->pass_fds[i]);
        free(c->pass_fds);
        c->pass_fds = NULL;
        c->n_pass_fds = 0;
}

/* The "ah" of StartWithFiles and CreateXMLWithFiles: our own copies of the
 * caller's fds (the message owns its own), for the next helper only. */
int container_pass_fds_read(Container *c, sd_bus_message *msg, sd_bus_error *error) {
        int r;

        container_pass_fds_close(c);
        r = sd_bus_message_enter_container(msg, 'a', "h");
        if (r < 0)
                return r;
        for (;;) {
                int fd;
                r = sd_bus_message_read(msg, "h", &fd);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                if (c->n_pass_fds >= VIV_PASS_FDS_MAX) {
                        container_pass_fds_close(c);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "At most %d files can be passed to init",
                                                 VIV_PASS_FDS_MAX);
                }
                int *n = realloc(c->pass_fds, (c->n_pass_fds + 1) * sizeof(int));
                if (!n) {
                        r = -ENOMEM;
                        goto fail;
                }
                c->pass_fds = n;
                c->pass_fds[c->n_pass_fds] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (c->pass_fds[c->n_pass_fds] < 0) {
                        r = -errno;
                        goto fail;
                }
                c->n_pass_fds++;
        }
        r = sd_bus_message_exit_container(msg);
        if (r >= 0)
                return 0;
fail:
        container_pass_fds_close(c);
        return r;
}

/* libvirt's CreateWithFiles (virsh start --pass-fds): the caller's fds are
 * init's 3, 4, ... with LISTEN_FDS and LISTEN_PID=1 (socket activation).
 * The helper spawned by this start inherits them; a later start or a
 * reboot's does not. */
int container_method_start_with_files(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        uint64_t flags;
        int r;

        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        r = container_pass_fds_read(c, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "t", &flags);
        if (r >= 0)
                /* the helper has its copies once this returns, whatever it did */
                r = container_start(c, msg, false, error);
        container_pass_fds_close(c);
        return r;
}

int container_method_destroy(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int r;

        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        if (!container_is_active(c))
                return not_running(c, error);
        if (c->reboot_msg) {
                /* Destroy wins over a reboot in progress. */
                (void) sd_bus_reply_method_errorf(c->reboot_msg, VIV_ERROR_NOT_RUNNING,
                                                  "Container '%s' was destroyed while rebooting", c->name);
                c->reboot_msg = sd_bus_message_unref(c->reboot_msg);
        }
        return container_destroy(c, msg);
}

int container_method_shutdown(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int r;

        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        if (!container_has_helper(c))
                return not_running(c, error);
        /* Returns when the helper has asked init to stop, not when it stopped. */
        r = helper_call_async(c, msg, "Shutdown", bus_forward_empty_reply, "");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to reach the helper of container '%s': %m", c->name);
        return 1;
}

/* The mode bits of ShutdownWithFlags/RebootWithFlags: libvirt's values; a
 * container has initctl and signal. */
static int read_mode(sd_bus_message *msg, uint64_t *ret_flags, sd_bus_error *error) {
        uint64_t flags;
        int r;

        r = sd_bus_message_read(msg, "t", &flags);
        if (r < 0)
                return r;
        if (flags & ~(VIV_SHUTDOWN_INITCTL | VIV_SHUTDOWN_SIGNAL))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Unsupported mode (flags 0x%" PRIx64 "): a container supports 'initctl' (0x4) and 'signal' (0x8)",
                                         flags & ~(VIV_SHUTDOWN_INITCTL | VIV_SHUTDOWN_SIGNAL));
        *ret_flags = flags;
        return 0;
}

/* Shutdown with virsh's --mode: initctl, signal, or both (initctl, else the
 * signal); 0 is Shutdown. */
int container_method_shutdown_flags(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        uint64_t flags = 0;
        int r;

        r = read_mode(msg, &flags, error);
        if (r < 0)
                return r;
        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        if (!container_has_helper(c))
                return not_running(c, error);
        if (!(flags & VIV_SHUTDOWN_INITCTL))
                r = helper_call_async(c, msg, "Shutdown", bus_forward_empty_reply, "");
        else
                r = helper_call_async(c, msg, "ShutdownMode", bus_forward_empty_reply, "t", flags);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to reach the helper of container '%s': %m", c->name);
        return 1;
}

int container_method_undefine(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        _cleanup_(container_unrefp) _unused_ Container *ref = container_ref(c);
        int r;

        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        if (!c->persistent)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Cannot undefine transient container '%s'", c->name);

        r = store_remove(c->manager, c->name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to remove the definition of container '%s': %m",
                                               c->name);

        (void) store_set_autostart(c->manager, c->name, false);
        if (c->autostart) {
                c->autostart = false;
                (void) container_emit_changed(c, "Autostart", NULL);
        }
        c->persistent = false;
        fprintf(stderr, "Container '%s' undefined%s.\n", c->name,
                container_is_active(c) ? ", it stays until it stops" : "");
        (void) manager_emit_container_event(c->manager, c, "undefined", "removed");
        if (container_is_active(c))
                (void) container_emit_changed(c, "Persistent", NULL);
        else
                container_drop_if_unused(c);

        return sd_bus_reply_method_return(msg, NULL);
}

int container_method_get_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *xml = NULL;
        Container *c = userdata;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(msg, "t", &flags);
        if (r < 0)
                return r;
        if (container_has_helper(c) && c->live && !(flags & VIV_XML_INACTIVE))
                xml = domain_def_format(c->live, c->helper_pid);
        else
                xml = domain_def_format(c->def, 0);
        if (!xml)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "s", xml);
}

/* The checks every console call makes, then the call to the helper: the
 * first console (DEVNAME NULL: OpenConsole, ResizeConsole, which every
 * helper has) or one by libvirt's device name (the *Device methods). */
static int console_call_check(Container *c, sd_bus_message *msg, sd_bus_error *error) {
        int r = bus_check_privileged(c->manager, msg, VIV_POLKIT_CONSOLE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        if (c->state != CONTAINER_RUNNING)
                return not_running(c, error);
        return 0;
}

int container_console_request(Container *c, sd_bus_message *msg, uint64_t *ret_flags, sd_bus_error *error) {
        int r;

        r = sd_bus_message_read(msg, "t", ret_flags);
        if (r < 0)
                return r;
        r = console_call_check(c, msg, error);
        return r == 0 ? 1 : r > 0 ? 0 : r;
}

static int open_console(Container *c, sd_bus_message *msg, const char *devname, uint64_t flags, sd_bus_error *error) {
        int force = !!(flags & VIV_CONSOLE_FORCE), r;

        r = console_call_check(c, msg, error);
        if (r != 0)
                return r;
        if (devname)
                r = helper_call_async(c, msg, "OpenConsoleDevice", forward_fd_reply, "sb", devname, force);
        else
                r = helper_call_async(c, msg, "OpenConsole", forward_fd_reply, "b", force);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to reach the helper of container '%s': %m", c->name);
        return 1;
}

static int resize_console(Container *c, sd_bus_message *msg, const char *devname, uint16_t rows, uint16_t cols,
                          sd_bus_error *error) {
        int r;

        r = console_call_check(c, msg, error);
        if (r != 0)
                return r;
        if (devname)
                r = helper_call_async(c, msg, "ResizeConsoleDevice", bus_forward_empty_reply, "sqq", devname, rows, cols);
        else
                r = helper_call_async(c, msg, "ResizeConsole", bus_forward_empty_reply, "qq", rows, cols);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to reach the helper of container '%s': %m", c->name);
        return 1;
}

int container_method_open_console(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        uint64_t flags;
        int r;

        r = sd_bus_message_read(msg, "t", &flags);
        if (r < 0)
                return r;
        return open_console(userdata, msg, NULL, flags, error);
}

int container_method_open_console_device(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *devname;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(msg, "st", &devname, &flags);
        if (r < 0)
                return r;
        return open_console(userdata, msg, devname, flags, error);
}

int container_method_resize_console(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        uint16_t rows, cols;
        int r;

        r = sd_bus_message_read(msg, "qq", &rows, &cols);
        if (r < 0)
                return r;
        return resize_console(userdata, msg, NULL, rows, cols, error);
}

int container_method_resize_console_device(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *devname;
        uint16_t rows, cols;
        int r;

        r = sd_bus_message_read(msg, "sqq", &devname, &rows, &cols);
        if (r < 0)
                return r;
        return resize_console(userdata, msg, devname, rows, cols, error);
}

PendingCall *pending_call_new(sd_bus_message *call, Container *c) {
        PendingCall *pc = calloc(1, sizeof(PendingCall));

        if (!pc)
                return NULL;
        pc->call = sd_bus_message_ref(call);
        pc->container = container_ref(c);
        return pc;
}

void pending_call_free(void *p) {
        PendingCall *pc = p;

        sd_bus_message_unref(pc->call);
        container_unref(pc->container);
        free(pc);
}

static int pause_reply(sd_bus_message *reply, PendingCall *pc, bool paused) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Container *c = pc->container;

        if (e)
                return sd_bus_reply_method_error(pc->call, e);
        if (c->state == CONTAINER_RUNNING && c->paused != paused) {
                c->paused = paused;
                container_set_state_reason(c, paused ? "paused" : "unpaused");
                fprintf(stderr, "Container '%s' %s.\n", c->name, paused ? "suspended" : "resumed");
                (void) container_emit_changed(c, "State", "StateReason", NULL);
                (void) manager_emit_container_event(c->manager, c, paused ? "suspended" : "resumed",
                                                    paused ? "paused" : "unpaused");
        }
        return sd_bus_reply_method_return(pc->call, NULL);
}

static int suspend_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return pause_reply(reply, userdata, true);
}

static int resume_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return pause_reply(reply, userdata, false);
}

static int pause_method(sd_bus_message *msg, Container *c, bool pause, sd_bus_error *error) {
        PendingCall *pc;
        int r;

        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (c->state != CONTAINER_RUNNING)
                return not_running(c, error);
        if (c->paused == pause)
                return sd_bus_reply_method_return(msg, NULL);
        /* The helper's answer changes the container before it is forwarded. */
        pc = pending_call_new(msg, c);
        r = pc ? helper_call_owned(c, pause ? "Suspend" : "Resume", pause ? suspend_reply : resume_reply, pc,
                                   pending_call_free)
               : -ENOMEM;
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to reach the helper of container '%s': %m", c->name);
        return 1;
}

int container_method_suspend(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return pause_method(msg, userdata, true, error);
}

int container_method_resume(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return pause_method(msg, userdata, false, error);
}

/* The helper's answer to Reboot: a clean reboot is under way (systemd as
 * init ends with reboot(), and container_on_helper_exit() starts the
 * container again for reboot_msg), or the helper cannot do one (another
 * init, or a helper older than Reboot): destroy, then start. */
static int reboot_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        int r;

        if (!sd_bus_message_is_method_error(reply, NULL) || !c->reboot_msg || !container_has_helper(c))
                return 0;
        r = container_destroy(c, NULL);
        if (r < 0) {
                (void) sd_bus_reply_method_errnof(c->reboot_msg, r, "Failed to reboot container '%s': %m", c->name);
                c->reboot_msg = sd_bus_message_unref(c->reboot_msg);
        }
        return 0;
}

/* The helper's answer to RebootInitctl: under way (init's reboot() ends it,
 * and container_on_helper_exit() starts it again), or no initctl pipe: with
 * the signal mode too, a reboot as Reboot does it; initctl alone fails with
 * the helper's error, as libvirt's does. */
static int reboot_initctl_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        int r;

        if (!sd_bus_message_is_method_error(reply, NULL) || !c->reboot_msg || !container_has_helper(c))
                return 0;
        if (c->reboot_flags & VIV_SHUTDOWN_SIGNAL) {
                r = helper_call_internal(c, "Reboot", reboot_reply);
                if (r < 0)
                        r = container_destroy(c, NULL);
                if (r >= 0)
                        return 0;
                (void) sd_bus_reply_method_errnof(c->reboot_msg, r, "Failed to reboot container '%s': %m", c->name);
        } else
                (void) sd_bus_reply_method_error(c->reboot_msg, sd_bus_message_get_error(reply));
        c->reboot_msg = sd_bus_message_unref(c->reboot_msg);
        return 0;
}

static int reboot_with_flags(sd_bus_message *msg, Container *c, uint64_t flags, sd_bus_error *error) {
        int r;

        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (c->state != CONTAINER_RUNNING)
                return not_running(c, error);
        if (c->reboot_msg)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Container '%s' is already rebooting",
                                         c->name);

        /* A container's reboot is a stop and a fresh start of the same
         * definition, answered once it runs again: a clean one when init
         * is systemd (reboot_reply()). */
        fprintf(stderr, "Rebooting container '%s'.\n", c->name);
        c->reboot_msg = sd_bus_message_ref(msg);
        c->reboot_flags = flags;
        if (flags & VIV_SHUTDOWN_INITCTL)
                r = helper_call_internal(c, "RebootInitctl", reboot_initctl_reply);
        else
                r = helper_call_internal(c, "Reboot", reboot_reply);
        if (r < 0)
                r = container_destroy(c, NULL);
        if (r < 0) {
                c->reboot_msg = sd_bus_message_unref(c->reboot_msg);
                return r;
        }
        return 1;
}

int container_method_reboot(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return reboot_with_flags(msg, userdata, 0, error);
}

/* Reboot with virsh's --mode: initctl (runlevel 6), signal (as Reboot), or
 * both (initctl, else as Reboot). */
int container_method_reboot_flags(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        uint64_t flags = 0;
        int r;

        r = read_mode(msg, &flags, error);
        if (r < 0)
                return r;
        return reboot_with_flags(msg, userdata, flags, error);
}

int container_method_set_autostart(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        int on, r;

        r = sd_bus_message_read(msg, "b", &on);
        if (r < 0)
                return r;
        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!c->persistent)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Cannot set autostart for transient container '%s'", c->name);
        r = store_set_autostart(c->manager, c->name, on);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to %s autostart of container '%s': %m",
                                               on ? "enable" : "disable", c->name);
        if (c->autostart != !!on) {
                c->autostart = on;
                (void) container_emit_changed(c, "Autostart", NULL);
        }
        return sd_bus_reply_method_return(msg, NULL);
}

static int property_get_uuid(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        char buf[37];

        uuid_format(c->uuid, buf);
        return sd_bus_message_append(reply, "s", buf);
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) (container_has_helper(c) ? c->helper_pid : 0));
}

static int property_get_leader(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) (container_has_helper(c) ? c->leader_pid : 0));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", container_state_to_string(userdata));
}

static int property_get_persistent(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "b", (int) c->persistent);
}

static int property_get_autostart(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "b", (int) c->autostart);
}

void container_apply_state_reason(Container *c, const char *reason) {
        /* static strings, so that nothing is freed with the container */
        static const char *const known[] = { "booted", "unpaused", "user", "shutdown", "destroyed", "crashed", "failed" };

        c->state_reason = NULL;
        if (streq_ptr(reason, "paused"))
                reason = "user";
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq_ptr(reason, known[i]))
                        c->state_reason = known[i];
}

void container_set_state_reason(Container *c, const char *reason) {
        container_apply_state_reason(c, reason);
        state_reason_save(c);
}

static int property_get_state_reason(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;

        return sd_bus_message_append(reply, "s", c->state_reason ? c->state_reason : "unknown");
}

const sd_bus_vtable container_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Container, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UUID", "s", property_get_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Id", "u", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StateReason", "s", property_get_state_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LeaderPID", "u", property_get_leader, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Unit", "s", NULL, offsetof(Container, unit), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Persistent", "b", property_get_persistent, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Autostart", "b", property_get_autostart, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_NAMES("Start", "t", SD_BUS_PARAM(flags), "", , container_method_start,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Shutdown", "", "", container_method_shutdown, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Destroy", "", "", container_method_destroy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Undefine", "", "", container_method_undefine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reboot", "", "", container_method_reboot, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("StartWithFiles", "aht", SD_BUS_PARAM(fds) SD_BUS_PARAM(flags), "", ,
                                 container_method_start_with_files, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ShutdownWithFlags", "t", SD_BUS_PARAM(flags), "", ,
                                 container_method_shutdown_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RebootWithFlags", "t", SD_BUS_PARAM(flags), "", ,
                                 container_method_reboot_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Suspend", "", "", container_method_suspend, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Resume", "", "", container_method_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetAutostart", "b", SD_BUS_PARAM(on), "", , container_method_set_autostart,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetXML", "t", SD_BUS_PARAM(flags), "s", SD_BUS_PARAM(xml),
                                 container_method_get_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenConsole", "t", SD_BUS_PARAM(flags), "h", SD_BUS_PARAM(fd),
                                 container_method_open_console, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ResizeConsole", "qq", SD_BUS_PARAM(rows) SD_BUS_PARAM(cols), "", ,
                                 container_method_resize_console, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenConsoleStream", "t", SD_BUS_PARAM(flags), "o", SD_BUS_PARAM(stream),
                                 container_method_open_console_stream, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_METHOD_WITH_NAMES("OpenConsoleDevice", "st", SD_BUS_PARAM(devname) SD_BUS_PARAM(flags), "h", SD_BUS_PARAM(fd),
                                 container_method_open_console_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ResizeConsoleDevice", "sqq", SD_BUS_PARAM(devname) SD_BUS_PARAM(rows) SD_BUS_PARAM(cols),
                                 "", , container_method_resize_console_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetMemory", "tt", SD_BUS_PARAM(kib) SD_BUS_PARAM(flags), "", ,
                                 container_method_set_memory, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetSchedulerParameters", "a{sv}t", SD_BUS_PARAM(params) SD_BUS_PARAM(flags), "", ,
                                 container_method_set_scheduler, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetStats", "", , "a{sv}", SD_BUS_PARAM(stats), container_method_get_stats,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetMemoryParameters", "a{sv}t", SD_BUS_PARAM(params) SD_BUS_PARAM(flags), "", ,
                                 container_method_set_memory_parameters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetBlkioParameters", "a{sv}t", SD_BUS_PARAM(params) SD_BUS_PARAM(flags), "", ,
                                 container_method_set_blkio_parameters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetInterfaceParameters", "sa{sv}t",
                                 SD_BUS_PARAM(iface) SD_BUS_PARAM(params) SD_BUS_PARAM(flags), "", ,
                                 container_method_set_interface_parameters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetInterfaceParameters", "st", SD_BUS_PARAM(iface) SD_BUS_PARAM(flags),
                                 "a{sv}", SD_BUS_PARAM(params), container_method_get_interface_parameters,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SendProcessSignal", "xut", SD_BUS_PARAM(pid) SD_BUS_PARAM(signal) SD_BUS_PARAM(flags),
                                 "", , container_method_send_process_signal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AttachDevice", "st", SD_BUS_PARAM(xml) SD_BUS_PARAM(flags), "", ,
                                 container_method_attach_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DetachDevice", "st", SD_BUS_PARAM(xml) SD_BUS_PARAM(flags), "", ,
                                 container_method_detach_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int container_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                          sd_bus_error *error) {
        Manager *m = userdata;
        Container *c;

        c = manager_find_container_by_path(m, path);
        if (!c)
                return 0;
        *found = c;
        return 1;
}

int container_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        char **l;
        size_t n = 0;

        for (Container *c = m->containers; c; c = c->next)
                n++;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        n = 0;
        for (Container *c = m->containers; c; c = c->next) {
                l[n] = strdup(c->path);
                if (!l[n]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                n++;
        }
        *nodes = l;
        return 0;
}

int container_emit_changed(Container *c, const char *prop, ...) {
        const char *names[8];
        size_t n = 0;
        va_list ap;

        va_start(ap, prop);
        for (const char *p = prop; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = p;
        va_end(ap);
        names[n] = NULL;

        if (!c->linked)
                return 0;
        return sd_bus_emit_properties_changed_strv(c->manager->bus, c->path, VIV_CONTAINER_IFACE, (char **) names);
}
