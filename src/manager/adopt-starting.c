/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A start that a manager left unfinished (killed or crashed between writing
 * the live XML and its helper's READY), found by the next manager at
 * start-up: NAME.xml is there, NAME.sock is not (the helper makes it at
 * READY). Stopping the scope then, as for a helper that is gone, lost a
 * container that was about to run (DESIGN: "a crash of the manager loses no
 * container").
 *
 * What the helper does when its manager ends (docs/helper.md): before GO it
 * reads EOF on its handshake and exits, having made nothing (nobody else can
 * send GO: the handshake is an anonymous socket pair, and the manager's
 * "start" hook may not have run); after GO it builds the container, and its
 * READY (or ERROR) goes nowhere, but it listens on its socket all the same.
 * So the new manager looks for the helper in the container's scope
 * (systemd's GetUnitProcesses: a process in the scope's own cgroup, where it
 * waits for GO, or in its supervisor/ leaf, with the helper's command line
 * for this name) and, while it lives, waits for its socket: the container
 * then runs, adopted as after any restart (the live XML gets its Id and
 * interfaces, machined the machine if the dead manager had not registered
 * it). Its end first is a failed start, cleaned up as one. The start's own
 * timeout bounds the wait, counted from the adoption; then the helper and
 * the scope are killed. No helper in the scope: the run is over
 * (container_adopted_gone()). */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "cgroup-v1.h"
#include "fileio.h"
#include "macros.h"
#include "manager.h"

/* between two looks for the helper's socket: it is bound, then listens, so
 * an inotify event alone could come before it takes a connection */
#define SOCKET_POLL_USEC (200 * 1000ULL)

/* /proc/PID/cmdline is the helper's for container NAME, as spawn.c execs it. */
static bool cmdline_is_helper(const Manager *m, pid_t pid, const char *name) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        bool named = false, handshake = false;
        size_t size = 0;

        if (asprintf(&path, "/proc/%d/cmdline", (int) pid) < 0 || read_full_file(path, &text, &size) < 0 ||
            size == 0 || !streq(text, m->helper_path))
                return false;
        for (size_t i = strlen(text) + 1; i < size; i += strlen(text + i) + 1) {
                const char *arg = text + i;
                size_t next = i + strlen(arg) + 1;

                if (streq(arg, "--handshake"))
                        handshake = true;
                else if (streq(arg, "--name") && next < size && streq(text + next, name))
                        named = true;
        }
        return named && handshake;
}

/* A pidfd of the helper among GetUnitProcesses' a(sus), or -ESRCH: in the
 * scope's own cgroup (the helper waits for GO there) or its supervisor/ leaf
 * (after GO), cgroup_path_is_helpers(). Never payload/: the container's
 * processes are there, and one of them could copy the helper's command line
 * (and make payload/UNIT/supervisor/ to look like it). */
static int find_helper(Container *c, sd_bus_message *reply, pid_t *ret_pid) {
        const char *cgroup, *cmdline;
        uint32_t pid;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(sus)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(sus)", &cgroup, &pid, &cmdline)) > 0) {
                _cleanup_close_ int fd = -EBADF;

                if (pid == 0 || !cgroup_path_is_helpers(cgroup, c->unit) ||
                    !cmdline_is_helper(c->manager, (pid_t) pid, c->name))
                        continue;
                fd = pidfd_open((pid_t) pid, 0);
                /* looked at again: the PID may have been reused before the pidfd */
                if (fd < 0 || !cmdline_is_helper(c->manager, (pid_t) pid, c->name))
                        continue;
                *ret_pid = (pid_t) pid;
                return TAKE_FD(fd);
        }
        return r < 0 ? r : -ESRCH;
}

static int socket_poll_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;
        pid_t pid = 0;

        if (c->state != CONTAINER_STARTING || c->start_phase != START_PHASE_ADOPT)
                return 0;
        if (helper_peer_pid(c, &pid) < 0 || pid != c->helper_pid) {
                (void) sd_event_source_set_time_relative(s, SOCKET_POLL_USEC);
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }

        fprintf(stderr, "Container '%s': its helper %d finished the start its manager left.\n", c->name,
                (int) c->helper_pid);
        c->adopt_timer = sd_event_source_disable_unref(c->adopt_timer);
        c->adopt_register = true;
        /* the Id and the interfaces into the live XML, State, "started" */
        container_now_running(c);
        /* init's PID, machined, the reconnect hook (adopt.c) */
        return adopt_describe(c);
}

static int processes_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_close_ int pidfd = -EBADF;
        pid_t pid = 0;
        int r;

        if (c->state != CONTAINER_STARTING || c->pidfd >= 0)
                return 0;
        pidfd = e ? -ESRCH : find_helper(c, reply, &pid);
        if (pidfd < 0) {
                /* NoSuchUnit: no scope, so no helper (one never moved into
                 * its scope went with the dead manager's service) */
                container_adopted_gone(c, e ? (e->message ?: e->name) : "no helper in its scope");
                return 0;
        }

        c->helper_pid = pid;
        c->helper_is_child = false;
        r = helper_watch(c, pidfd);
        if (r < 0) {
                fprintf(stderr, "Failed to watch the helper of container '%s', killing scope %s: %s\n", c->name,
                        c->unit, strerror(-r));
                (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                c->helper_pid = 0;
                container_adopted_gone(c, strerror(-r));
                return 0;
        }
        TAKE_FD(pidfd);

        if (c->start_phase == START_PHASE_FAILING) {
                /* destroyed, or timed out, while we looked: its pidfd ends it */
                (void) pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
                return 0;
        }
        fprintf(stderr,
                "Container '%s' was starting when its manager ended: waiting for its helper %d to finish the start.\n",
                c->name, (int) pid);
        r = sd_event_add_time_relative(c->manager->event, &c->adopt_timer, CLOCK_MONOTONIC, 0, 0, socket_poll_cb, c);
        if (r < 0) {
                fprintf(stderr, "Failed to wait for the socket of container '%s', killing scope %s: %s\n", c->name,
                        c->unit, strerror(-r));
                (void) container_destroy(c, NULL);
        }
        return 0;
}

/* NAME.exit: init ended, the helper tears down (its socket went first). */
static bool init_ended(const Container *c) {
        _cleanup_free_ char *path = NULL;

        return asprintf(&path, "%s/%s.exit", c->manager->run_dir, c->name) >= 0 && access(path, F_OK) >= 0;
}

int adopt_starting(Container *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        if (init_ended(c))
                return -ESRCH;
        r = sd_bus_message_new_method_call(c->manager->bus, &msg, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE,
                                           "GetUnitProcesses");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", c->unit);
        if (r >= 0)
                r = bus_call_async_owned(c->manager->bus, msg, processes_reply, container_ref(c),
                                         container_unref_void);
        if (r < 0)
                return r;

        c->state = CONTAINER_STARTING;
        c->start_phase = START_PHASE_ADOPT;
        /* the scope outlived its manager: stopped at whatever end */
        c->scope_created = true;
        /* the dead manager may have registered it at INIT: unregistered at
         * the end either way ("no such machine" is fine) */
        c->machine_registered = true;
        r = container_arm_start_timer(c);
        if (r < 0)
                fprintf(stderr, "Failed to arm the start timeout of container '%s', ignoring: %s\n", c->name,
                        strerror(-r));
        return 0;
}
