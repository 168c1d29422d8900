/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The second half of adopting a helper found running at start-up
 * (container_adopt()): its Describe, ADOPT_WINDOW helpers at a time (each
 * asked holds a connection, and every connection costs each iteration of the
 * loop: a thousand at once starved the calls behind them). The
 * container already runs in the manager's eyes; the answer adds init's PID and
 * whether it is paused. A helper that does not answer yet (a loaded machine, a
 * stopped process, a thousand helpers woken at once) is asked again as long as
 * its process lives, within ADOPT_WAIT_USEC; its end is seen by its pidfd like
 * any helper's. After the wait it stays adopted without init's PID: a living
 * container is never destroyed because its helper was slow. */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "macros.h"
#include "manager.h"

/* One Describe call; sd-bus also bounds a connection's authentication, by
 * its own (longer) timeout. */
#define ADOPT_DESCRIBE_TIMEOUT_USEC (5 * 1000000ULL)
/* Describe is asked again until then, counted from its first call. */
#define ADOPT_WAIT_USEC (120 * 1000000ULL)
/* between a failed Describe and the next: a helper that refuses at once must
 * not make the loop spin */
#define ADOPT_RETRY_USEC (1000000ULL)
#define ADOPT_WINDOW 32

static bool helper_alive(const Container *c) {
        struct pollfd p = { .fd = c->pidfd, .events = POLLIN };

        /* a pidfd becomes readable when its process has ended */
        return c->pidfd >= 0 && poll(&p, 1, 0) == 0;
}

static int describe_send(Container *c);
static void describe_again(Container *c, const char *why);

/* The next ones waiting for their turn. A scan of the list per finished one:
 * pointers only, cheap against a Describe. */
static void adopt_pump(Manager *m) {
        uint64_t now = 0;

        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        for (Container *c = m->containers; c && m->adopt_in_flight < ADOPT_WINDOW; c = c->next) {
                if (!c->adopting || c->adopt_started)
                        continue;
                c->adopt_started = true;
                m->adopt_in_flight++;
                c->adopt_deadline = now + ADOPT_WAIT_USEC;
                int r = describe_send(c);
                if (r < 0)
                        describe_again(c, strerror(-r));
        }
}

void adopt_forget(Container *c) {
        c->adopt_timer = sd_event_source_disable_unref(c->adopt_timer);
        if (!c->adopting)
                return;
        c->adopting = false;
        if (c->adopt_started) {
                c->adopt_started = false;
                c->manager->adopt_in_flight--;
        }
        adopt_pump(c->manager);
}

static void adopt_finish(Container *c) {
        adopt_forget(c);

        /* as libvirt: a reconnect hook that fails has the container killed */
        if (hook_run_container(c, NULL, "reconnect", "begin", NULL, NULL) < 0) {
                fprintf(stderr, "Destroying container '%s': its reconnect hook failed.\n", c->name);
                (void) container_destroy(c, NULL);
        }
}

static int retry_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;
        int r;

        if (!c->adopting)
                return 0;
        /* a new connection: the last one may have lost its authentication
         * (closed here, outside its own callbacks) */
        helper_disconnect(c);
        r = describe_send(c);
        if (r < 0 && helper_alive(c))
                /* sending failed (no memory, a refused connection): again later,
                 * or the end of the wait keeps it as it is */
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static void describe_again(Container *c, const char *why) {
        uint64_t now = 0;
        int r;

        (void) sd_event_now(c->manager->event, CLOCK_MONOTONIC, &now);
        if (now >= c->adopt_deadline) {
                fprintf(stderr,
                        "Container '%s' stays adopted without its init's PID: its helper %d runs but has not answered Describe (%s).\n",
                        c->name, (int) c->helper_pid, why);
                adopt_finish(c);
                return;
        }
        fprintf(stderr, "The helper %d of container '%s' runs but has not answered Describe yet (%s): asking again.\n",
                (int) c->helper_pid, c->name, why);
        if (c->adopt_timer)
                r = sd_event_source_set_time_relative(c->adopt_timer, ADOPT_RETRY_USEC);
        else
                r = sd_event_add_time_relative(c->manager->event, &c->adopt_timer, CLOCK_MONOTONIC, ADOPT_RETRY_USEC,
                                               0, retry_cb, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->adopt_timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                fprintf(stderr, "Failed to arm the next Describe of container '%s', keeping it as it is: %s\n", c->name,
                        strerror(-r));
                adopt_finish(c);
        }
}

static int describe_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *name, *uuid, *unit, *state;
        uint32_t helper_pid, leader_pid;
        int r;

        /* ended meanwhile (its pidfd), or destroyed: nothing to describe */
        if (!c->adopting || c->state == CONTAINER_SHUTOFF)
                return 0;
        if (e) {
                if (helper_alive(c))
                        describe_again(c, e->message ? e->message : e->name);
                return 0;
        }

        r = sd_bus_message_read(reply, "ssuuss", &name, &uuid, &helper_pid, &leader_pid, &unit, &state);
        if (r < 0) {
                describe_again(c, strerror(-r));
                return 0;
        }
        if (!streq(name, c->name)) {
                /* NAME.sock serves another container: this run is not ours to
                 * know; its scope goes, and its helper's end (pidfd) the rest */
                fprintf(stderr, "Container '%s' is no longer running (its socket serves '%s'): stopping scope %s.\n",
                        c->name, name, c->unit);
                adopt_forget(c);
                (void) scope_stop(c->manager, c->unit);
                return 0;
        }
        if ((pid_t) helper_pid != c->helper_pid)
                fprintf(stderr, "Container '%s': its helper says it is %u, its socket's listener is %d; watching %d.\n",
                        c->name, helper_pid, (int) c->helper_pid, (int) c->helper_pid);

        c->leader_pid = (pid_t) leader_pid;
        c->paused = streq(state, VIV_STATE_PAUSED);
        if (c->adopt_register) {
                /* a start its manager left (adopt-starting.c): maybe before INIT */
                c->adopt_register = false;
                (void) machine_register_adopted(c, c->leader_pid);
        }
        fprintf(stderr, "Adopted running container '%s': helper %d, init %u, scope %s.\n", c->name,
                (int) c->helper_pid, leader_pid, unit);
        (void) container_emit_changed(c, "State", "LeaderPID", NULL);
        adopt_finish(c);
        return 0;
}

static int describe_send(Container *c) {
        int r;

        r = helper_call_owned_timeout(c, "Describe", describe_reply, container_ref(c), container_unref_void,
                                      ADOPT_DESCRIBE_TIMEOUT_USEC);
        if (r >= 0)
                c->adopt_tries++;
        return r;
}

int adopt_describe(Container *c) {
        c->adopting = true;
        c->adopt_started = false;
        c->adopt_tries = 0;
        adopt_pump(c->manager);
        return 0;
}
