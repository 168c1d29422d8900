/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivariumd: main(), the context object, the container list and exit on idle. */

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "bus-names.h"
#include "fileio.h"
#include "macros.h"
#include "manager.h"
#include "network.h"

#define DEFAULT_IDLE_SEC 30

Container *manager_find_container(Manager *m, const char *name) {
        for (Container *c = m->containers; c; c = c->next)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

Container *manager_find_container_by_uuid(Manager *m, const uint8_t uuid[16]) {
        for (Container *c = m->containers; c; c = c->next)
                if (memcmp(c->uuid, uuid, 16) == 0)
                        return c;
        return NULL;
}

Container *manager_find_container_by_path(Manager *m, const char *path) {
        for (Container *c = m->containers; c; c = c->next)
                if (streq(c->path, path))
                        return c;
        return NULL;
}

void manager_link_container(Manager *m, Container *c) {
        if (c->linked)
                return;
        c->next = m->containers;
        c->prev = NULL;
        if (m->containers)
                m->containers->prev = c;
        m->containers = c;
        c->linked = true;
        container_ref(c);
}

void manager_unlink_container(Manager *m, Container *c) {
        if (!c->linked)
                return;
        if (c->prev)
                c->prev->next = c->next;
        else
                m->containers = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->next = c->prev = NULL;
        c->linked = false;
        container_unref(c);
}

static bool manager_is_busy(Manager *m) {
        if (m->jobs || networks_busy(m))
                return true;
        for (Container *c = m->containers; c; c = c->next)
                if (container_is_active(c))
                        return true;
        return false;
}

/* Operations a call started and not yet finished: their callers wait for an
 * answer that only this process can give. A start counts until READY, not
 * only while its scope's job runs: a Create whose helper had its GO when
 * the name was released was dropped unanswered (its container, adopted by
 * the next manager, ran all the same). */
static bool manager_has_work_in_flight(Manager *m) {
        if (m->jobs || networks_busy(m) || m->polkit_queries || sd_bus_get_current_message(m->bus))
                return true;
        for (Container *c = m->containers; c; c = c->next)
                if (container_has_call_in_flight(c))
                        return true;
        return false;
}

static int drain_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (!manager_has_work_in_flight(m))
                return sd_event_exit(m->event, 0);
        (void) sd_event_source_set_time_relative(s, 100 * 1000);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* The name is gone and every call the bus routed to us before that has been
 * read (they were queued ahead of ReleaseName's reply: the bus delivers in
 * order) and dispatched. One answered later (a systemd job, polkit) keeps us
 * until it is. */
static int manager_exit_when_drained(Manager *m) {
        int r;

        if (!manager_has_work_in_flight(m))
                return sd_event_exit(m->event, 0);
        r = sd_event_add_time_relative(m->event, &m->drain_timer, CLOCK_MONOTONIC, 100 * 1000, 0,
                                       drain_timer_cb, m);
        return r < 0 ? sd_event_exit(m->event, 0) : 0;
}

static int release_name_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                fprintf(stderr, "Failed to release bus name %s, ignoring: %s\n", VIV_BUS_NAME, e->message);
        return manager_exit_when_drained(m);
}

/* Idle exit, SIGTERM and SIGINT end here. The name is given up first: calls
 * that arrive from now on activate a new instance instead of being lost with
 * this one, and those already routed to us are answered before we exit.
 * Exiting at once would drop them unanswered ("recipient disconnected"):
 * systemd sends SIGTERM to a Type=dbus service as soon as it releases its
 * name, and a call may be queued then. Helpers are not touched: they live in
 * their own scopes. */
static int manager_begin_exit(Manager *m) {
        int r;

        if (m->exiting)
                return 0;
        m->exiting = true;
        m->idle_timer = sd_event_source_disable_unref(m->idle_timer);
        r = sd_bus_release_name_async(m->bus, NULL, VIV_BUS_NAME, release_name_reply, m);
        if (r < 0) {
                fprintf(stderr, "Failed to release bus name %s, ignoring: %s\n", VIV_BUS_NAME, strerror(-r));
                return manager_exit_when_drained(m);
        }
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return manager_begin_exit(userdata);
}

static int idle_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now_usec = 0;

        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now_usec);

        if (manager_is_busy(m) || sd_bus_get_current_message(m->bus) ||
            now_usec < m->last_activity + m->idle_usec) {
                /* Not idle (yet): look again when the idle period could be over. */
                uint64_t next = m->last_activity + m->idle_usec;

                if (next < now_usec + 1000000)
                        next = now_usec + 1000000;
                (void) sd_event_source_set_time(s, next);
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }

        fprintf(stderr, "Idle for %" PRIu64 " s with no container running, exiting.\n",
                m->idle_usec / 1000000);
        return manager_begin_exit(m);
}

void manager_note_activity(Manager *m) {
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &m->last_activity);
}

static int activity_filter(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        if (sd_bus_message_is_method_call(msg, NULL, NULL) > 0)
                manager_note_activity(m);
        return 0;
}

static int setup_idle(Manager *m) {
        const char *e = getenv("VIVARIUM_IDLE_TIMEOUT");
        uint64_t sec = DEFAULT_IDLE_SEC;
        int r;

        if (e) {
                char *end;

                errno = 0;
                sec = strtoull(e, &end, 10);
                if (errno != 0 || end == e || *end) {
                        fprintf(stderr, "Invalid VIVARIUM_IDLE_TIMEOUT='%s', using %d s.\n", e, DEFAULT_IDLE_SEC);
                        sec = DEFAULT_IDLE_SEC;
                }
        }
        m->idle_usec = sec * 1000000;
        manager_note_activity(m);

        r = sd_bus_add_filter(m->bus, NULL, activity_filter, m);
        if (r < 0)
                return r;

        if (m->idle_usec == 0)
                return 0;

        return sd_event_add_time_relative(m->event, &m->idle_timer, CLOCK_MONOTONIC, m->idle_usec, 0,
                                          idle_timer_cb, m);
}

static char *env_or(const char *name, const char *fallback) {
        const char *e = getenv(name);
        return strdup(e && *e ? e : fallback);
}

static Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        console_streams_free(m);
        helper_server_stop(m, NULL);
        while (m->containers) {
                Container *c = m->containers;
                /* Helpers go on running: only our side is released. */
                helper_disconnect(c);
                manager_unlink_container(m, c);
        }
        manager_free_jobs(m);
        manager_free_polkit_queries(m);
        networks_free(m);
        domain_schema_free(m->domain_schema);
        sd_event_source_unref(m->idle_timer);
        sd_event_source_unref(m->drain_timer);
        sd_event_source_unref(m->trim_source);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->etc_dir);
        free(m->run_dir);
        free(m->helper_path);
        free(m);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

static int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        helper_server_init(m);

        /* Overrides for tests that run without a helper or a real /etc. */
        m->etc_dir = env_or("VIVARIUM_CONFIG_DIR", VIV_ETC_CONTAINERS_DIR);
        m->run_dir = env_or("VIVARIUM_RUN_DIR", VIV_RUN_CONTAINERS_DIR);
        m->helper_path = env_or("VIVARIUM_HELPER_PATH", HELPER_PATH);
        if (!m->etc_dir || !m->run_dir || !m->helper_path)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

/* sd-bus reads a whole message before any handler sees it: a definition of
 * tens of MB (the bus allows 32 MiB), refused or not, grows the heap by
 * that much, and glibc keeps it (freed mmap'ed chunks raise its mmap
 * threshold, so the next one comes from the heap). Trimmed once the message
 * is released, at idle priority. */
#define TRIM_AFTER_SIZE (256U * 1024)

static int trim_cb(sd_event_source *s, void *userdata) {
        (void) malloc_trim(0);
        return 0;
}

void manager_note_request_size(Manager *m, size_t size) {
        int r;

        if (size < TRIM_AFTER_SIZE)
                return;
        if (!m->trim_source) {
                r = sd_event_add_defer(m->event, &m->trim_source, trim_cb, m);
                if (r < 0)
                        return;
                (void) sd_event_source_set_priority(m->trim_source, SD_EVENT_PRIORITY_IDLE);
        }
        (void) sd_event_source_set_enabled(m->trim_source, SD_EVENT_ONESHOT);
}

/* A ListContainers reply at 1,000 containers is ~110 KB, built in a buffer
 * that doubles past 128 KiB: glibc served it from a fresh mmap or grew the
 * heap for it and gave the pages back when it was freed (two brk a call), so
 * every listing faulted them in again. Fixed thresholds keep up to 4 MiB of
 * freed heap for the next call (the manager's CPU per listing at 1,000:
 * 0.92-1.82 -> 0.58-0.81 ms, bench/README "Scale"); larger blocks are still
 * mmap'ed and returned, and manager_note_request_size() still trims after a
 * large definition. */
#define KEEP_HEAP_BYTES (4 * 1024 * 1024)

static void tune_malloc(void) {
        (void) mallopt(M_MMAP_THRESHOLD, KEEP_HEAP_BYTES);
        (void) mallopt(M_TRIM_THRESHOLD, KEEP_HEAP_BYTES);
}

/* Two fds per running container (its pidfd and its control connection): the
 * default soft limit of 1024 capped us near 508 containers. Raise the soft
 * limit to the hard one; each helper is put back to FD_SETSIZE before exec
 * (spawn.c), so containers see the ordinary limit. */
static void raise_nofile_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                fprintf(stderr, "Failed to raise the open-file limit, ignoring: %m\n");
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        if (argc > 1) {
                fprintf(stderr, "%s takes no arguments; it is started by D-Bus activation.\n", argv[0]);
                return EXIT_FAILURE;
        }

        umask(0022);
        raise_nofile_limit();
        tune_malloc();

        r = manager_new(&m);
        if (r < 0) {
                fprintf(stderr, "Failed to allocate the manager: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* SIGTERM ends the manager only: helpers live in their scopes. */
        (void) sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        (void) sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        /* A helper that closes its end early must not kill us with SIGPIPE. */
        signal(SIGPIPE, SIG_IGN);

        r = mkdir_p(m->etc_dir, 0755);
        if (r < 0) {
                fprintf(stderr, "Failed to create %s: %s\n", m->etc_dir, strerror(-r));
                return EXIT_FAILURE;
        }
        r = mkdir_p(m->run_dir, 0755);
        if (r < 0) {
                fprintf(stderr, "Failed to create %s: %s\n", m->run_dir, strerror(-r));
                return EXIT_FAILURE;
        }

        r = sd_bus_open_system(&m->bus);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                fprintf(stderr, "Failed to attach the bus to the event loop: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        r = machine_watch_exits(m);
        if (r < 0)
                fprintf(stderr, "Failed to watch %s, ignoring: %s\n", m->run_dir, strerror(-r));

        r = manager_subscribe_systemd(m);
        if (r < 0)
                fprintf(stderr, "Failed to subscribe to systemd's signals, starting containers will fail: %s\n",
                        strerror(-r));

        /* Load and adopt before taking the name: the first call already sees
         * every container with its current state. */
        (void) store_load_all(m);
        (void) store_adopt_running(m);
        r = networks_init(m);
        /* After both adoptions: who still holds an address. */
        networks_adopt_reservations(m);
        networks_adopt_leases(m);
        networks_adopt_qos(m);
        ports_adopt(m);
        if (r < 0)
                fprintf(stderr, "Failed to set up managed networks: %s\n", strerror(-r));

        r = manager_bus_setup(m);
        if (r < 0) {
                fprintf(stderr, "Failed to export the D-Bus objects: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        r = networks_bus_setup(m);
        if (r < 0) {
                fprintf(stderr, "Failed to export the network objects: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        /* Networks first: autostarted containers may use them. */
        networks_autostart_once(m);
        store_autostart_once(m);

        r = setup_idle(m);
        if (r < 0) {
                fprintf(stderr, "Failed to set up the idle timer: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        r = sd_bus_request_name(m->bus, VIV_BUS_NAME, 0);
        if (r < 0) {
                fprintf(stderr, "Failed to acquire bus name %s: %s\n", VIV_BUS_NAME, strerror(-r));
                return EXIT_FAILURE;
        }

        r = sd_event_loop(m->event);
        if (r < 0) {
                fprintf(stderr, "Event loop failed: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        return EXIT_SUCCESS;
}
