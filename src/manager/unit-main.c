/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivarium-unit NAME: the main process of vivarium@NAME.service. Starts the
 * container through vivariumd (or attaches to it when it already runs), tells
 * systemd it is ready, and lives as long as the container does, so that other
 * units can Requires=/After= it. SIGTERM (systemctl stop) asks the container
 * to shut down, and destroys it when it does not within the grace period.
 * The container itself lives in its machine scope, not in this service. */

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "macros.h"

/* The manager bounds a start itself (90 s, plus <vivarium:notify timeout>
 * while init boots): the unit's TimeoutStartSec= is the limit that counts. */
#define START_TIMEOUT_USEC   (3700 * 1000000ULL)
#define POLL_USEC            (5 * 1000000ULL)
#define SHUTDOWN_GRACE_USEC  (60 * 1000000ULL)

typedef struct Unit {
        const char *name;
        sd_event *event;
        sd_bus *bus;
        bool stopping;
        int exit_status;
} Unit;

static void unit_done(Unit *u, const char *detail, int code) {
        fprintf(stderr, "Container '%s' stopped: %s, exit code %d.\n", u->name, detail, code);
        /* Our own stop is a success; otherwise the container's status is ours. */
        u->exit_status = u->stopping || streq(detail, "destroyed") ? 0 : (code & 0xff);
        (void) sd_event_exit(u->event, 0);
}

static int on_exited(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Unit *u = userdata;
        const char *name, *detail;
        int32_t code;

        if (sd_bus_message_read(m, "ssi", &name, &detail, &code) < 0 || !streq(name, u->name))
                return 0;
        unit_done(u, detail, code);
        return 0;
}

/* -ENOENT when the container is gone (a transient one that ended). */
static int get_state(Unit *u, char **ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_path_encode(VIV_CONTAINER_PREFIX, u->name, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(u->bus, VIV_BUS_NAME, path, VIV_CONTAINER_IFACE, "State", &error, ret);
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT))
                r = -ENOENT;
        return r;
}

/* A backstop for an exit that happened while vivariumd was not running. */
static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Unit *u = userdata;
        _cleanup_free_ char *state = NULL;
        int r;

        r = get_state(u, &state);
        if (r == -ENOENT || (r >= 0 && streq(state, VIV_STATE_SHUTOFF))) {
                unit_done(u, "shutdown", 0);
                return 0;
        }
        (void) sd_event_source_set_time_relative(s, POLL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int call(Unit *u, const char *method, sd_bus_error *error) {
        return sd_bus_call_method(u->bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, method, error, NULL,
                                  "s", u->name);
}

static int on_grace_over(sd_event_source *s, uint64_t usec, void *userdata) {
        Unit *u = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        fprintf(stderr, "Container '%s' did not shut down in time, destroying it.\n", u->name);
        if (call(u, "Destroy", &error) < 0 && !sd_bus_error_has_name(&error, VIV_ERROR_NOT_RUNNING))
                fprintf(stderr, "Failed to destroy container '%s': %s\n", u->name, error.message);
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Unit *u = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (u->stopping)
                return 0;
        u->stopping = true;
        (void) sd_notifyf(0, "STOPPING=1\nSTATUS=Shutting down container %s", u->name);

        r = call(u, "Shutdown", &error);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, VIV_ERROR_NOT_RUNNING) ||
                    sd_bus_error_has_name(&error, VIV_ERROR_NO_SUCH_CONTAINER))
                        return sd_event_exit(u->event, 0);
                fprintf(stderr, "Failed to shut down container '%s', destroying it: %s\n", u->name, error.message);
                return on_grace_over(NULL, 0, u);
        }
        return sd_event_add_time_relative(u->event, NULL, CLOCK_MONOTONIC, SHUTDOWN_GRACE_USEC, 0, on_grace_over, u);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *start = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Unit u = {};
        sigset_t mask;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: %s NAME\n", argv[0]);
                return EXIT_FAILURE;
        }
        u.name = argv[1];

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        u.event = event;
        u.bus = bus;

        /* Listen before starting: an init that ends at once is not missed. */
        r = sd_bus_match_signal(bus, NULL, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "ContainerExited",
                                on_exited, &u);
        if (r < 0) {
                fprintf(stderr, "Failed to subscribe to ContainerExited: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        r = sd_bus_message_new_method_call(bus, &start, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "Start");
        if (r >= 0)
                r = sd_bus_message_append(start, "st", u.name, UINT64_C(0));
        if (r >= 0)
                r = sd_bus_call(bus, start, START_TIMEOUT_USEC, &error, &reply);
        if (r < 0 && !sd_bus_error_has_name(&error, VIV_ERROR_ALREADY_RUNNING)) {
                fprintf(stderr, "Failed to start container '%s': %s\n", u.name, error.message ? error.message : strerror(-r));
                return EXIT_FAILURE;
        }

        (void) sd_event_add_signal(event, NULL, SIGTERM, on_sigterm, &u);
        (void) sd_event_add_signal(event, NULL, SIGINT, on_sigterm, &u);
        (void) sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, POLL_USEC, 0, on_poll, &u);

        (void) sd_notifyf(0, "READY=1\nSTATUS=Container %s running", u.name);
        fprintf(stderr, "Container '%s' running.\n", u.name);

        r = sd_event_loop(event);
        if (r < 0) {
                fprintf(stderr, "Event loop failed: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return u.exit_status;
}
