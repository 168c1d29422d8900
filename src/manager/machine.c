/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Registration with systemd-machined, so that machinectl lists the
 * container, done by the manager on its own system-bus connection (issue
 * 14): the helper sends INIT <pid> as soon as init is in its cgroups, the
 * manager sends RegisterMachine then and the start is answered once both
 * the helper's READY and machined's reply are in. A helper of its own would
 * need a connection of its own for each of the two calls (authentication,
 * Hello, the name's broadcasts: ~3.5 ms of a start and ~2 ms of its end on
 * two CPUs), and the bus daemon allows a user 256 connections.
 *
 * Optional, as before: without machined the container runs all the same.
 * The unregistration is not optional once registered: a machine left
 * registered is terminated by machined when it sees the scope gone, by
 * stopping machine-NAME.scope by name, by then possibly the scope of the
 * container's next start (a reboot; bench/README.md "Tried and reverted").
 * So a helper's end is handled only after UnregisterMachine is answered
 * (sent when init's end is written to NAME.exit, or at the helper's end):
 * machined handles its messages in order, so whatever it did about the old
 * scope is done before our next StartTransientUnit, and a container is
 * reported stopped once machined no longer lists it. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "domain.h"
#include "macros.h"
#include "manager.h"
#include "trace.h"

#define MACHINED_TIMEOUT_USEC (5ULL * 1000 * 1000)

static int register_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        c->machine_slot = sd_bus_slot_unref(c->machine_slot);
        trace_point("mgr-registered");
        if (e)
                fprintf(stderr, "Failed to register container '%s' with systemd-machined, ignoring: %s\n", c->name,
                        e->message ?: e->name);
        else
                c->machine_registered = true;
        /* READY came first: the start is answered now */
        if (c->state == CONTAINER_STARTING && c->start_phase == START_PHASE_REGISTER)
                container_now_running(c);
        return 0;
}

static int register_message_new(Container *c, pid_t leader, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const DomainFilesystem *root = c->live ? domain_def_root(c->live) : NULL;
        int r;

        r = sd_bus_message_new_method_call(c->manager->bus, &m, "org.freedesktop.machine1",
                                           "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
                                           "RegisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", c->name);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', c->uuid, 16);
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "vivarium", "container", (uint32_t) leader,
                                          /* an image root has no directory on the host */
                                          !root ? "/" : root->type == FILESYSTEM_MOUNT ? root->source : "");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int machine_register_async(Container *c, pid_t leader) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (c->machine_slot || c->machine_registered || leader <= 0)
                return 0;
        r = register_message_new(c, leader, &m);
        if (r >= 0)
                r = sd_bus_call_async(c->manager->bus, &c->machine_slot, m, register_reply, c, MACHINED_TIMEOUT_USEC);
        if (r < 0)
                fprintf(stderr, "Failed to register container '%s' with systemd-machined, ignoring: %s\n", c->name,
                        strerror(-r));
        return r;
}

int machine_register_adopted(Container *c, pid_t leader) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (leader <= 0)
                return 0;
        r = register_message_new(c, leader, &m);
        /* machined's activation is fine: a start would have asked for it too */
        if (r >= 0)
                r = sd_bus_send(c->manager->bus, m, NULL);
        if (r < 0)
                fprintf(stderr, "Failed to register container '%s' with systemd-machined, ignoring: %s\n", c->name,
                        strerror(-r));
        return r;
}

static int unregister_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;

        c->unregister_slot = sd_bus_slot_unref(c->unregister_slot);
        c->machine_registered = false;
        trace_point("mgr-unregistered");
        /* an error is "no such machine" (machined saw the scope go first, or
         * a helper of an older version unregistered itself) or no machined */
        if (c->helper_end_waits) {
                c->helper_end_waits = false;
                container_helper_end_continue(c);
        }
        return 0;
}

/* Sends UnregisterMachine unless done or not needed: 1 while its answer is
 * awaited, 0 when there is nothing to wait for. */
int machine_unregister(Container *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (c->unregister_slot)
                return 1;
        /* a RegisterMachine not answered yet is handled before this one */
        if (!c->machine_registered && !c->machine_slot)
                return 0;
        r = sd_bus_message_new_method_call(c->manager->bus, &m, "org.freedesktop.machine1",
                                           "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
                                           "UnregisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", c->name);
        /* nothing to unregister where machined does not run; but behind a
         * RegisterMachine that waits for machined's activation, this one
         * must wait in the same queue, or the bus answers it at once */
        if (r >= 0 && !c->machine_slot)
                r = sd_bus_message_set_auto_start(m, false);
        if (r >= 0)
                r = sd_bus_call_async(c->manager->bus, &c->unregister_slot, m, unregister_reply, c,
                                      MACHINED_TIMEOUT_USEC);
        if (r < 0) {
                fprintf(stderr, "Failed to unregister container '%s' from systemd-machined, ignoring: %s\n", c->name,
                        strerror(-r));
                return 0;
        }
        return 1;
}

/* A container found ended at start-up (container_adopt()): its end came
 * while no manager ran, so nobody told machined, which still lists it (on
 * cgroup v1 an empty scope stays active) and would stop machine-NAME.scope
 * by name once it sees it go, by then maybe the scope of the next start.
 * Sent before that start's RegisterMachine on the same connection, so
 * machined handles it first; its answer ("no such machine" when machined
 * let it go already, or none runs) changes nothing. */
int machine_unregister_ended(Manager *m, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = sd_bus_message_new_method_call(m->bus, &msg, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                           "org.freedesktop.machine1.Manager", "UnregisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", name);
        if (r >= 0)
                r = sd_bus_message_set_auto_start(msg, false);
        if (r >= 0)
                r = sd_bus_send(m->bus, msg, NULL);
        return r;
}

/* NAME.exit appears when init has ended and its payload is killed, a few ms
 * before the helper, which still tears down, has ended: machined is told
 * then, while the scope is still populated, so that the answer is usually
 * in when the helper's end is handled, and machined has no stopped scope to
 * act on. */
static int on_run_dir_event(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        const char *dot;
        Container *c;

        if (ev->len == 0 || !(dot = strrchr(ev->name, '.')) || !streq(dot, ".exit"))
                return 0;
        name = strndup(ev->name, dot - ev->name);
        if (!name)
                return 0;
        c = manager_find_container(m, name);
        if (c && (c->state == CONTAINER_RUNNING || c->state == CONTAINER_STOPPING))
                (void) machine_unregister(c);
        return 0;
}

int machine_watch_exits(Manager *m) {
        return sd_event_add_inotify(m->event, NULL, m->run_dir, IN_MOVED_TO | IN_ONLYDIR, on_run_dir_event, m);
}

void machine_forget(Container *c) {
        c->machine_slot = sd_bus_slot_unref(c->machine_slot);
        c->unregister_slot = sd_bus_slot_unref(c->unregister_slot);
        c->helper_end_waits = false;
        c->machine_registered = false;
}
