/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl event and net-event: lifecycle events as virsh prints them, from
 * the manager's ContainerEvent(name, event, detail) and NetworkEvent(name,
 * event, detail) signals:
 *
 *   event 'lifecycle' for domain 'helloworld': Started Booted
 *   event 'lifecycle' for network default: Started
 */

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "bus-names.h"
#include "ctl.h"

typedef struct EventWait {
        const char *domain;     /* only this one (a domain or a network), or all */
        bool timestamp;
        bool loop;
        bool network;           /* NetworkEvent, printed as virsh's net-event */
        unsigned received;
} EventWait;

/* libvirt's words are capitalized: "started" → "Started". */
static void print_capitalized(const char *s) {
        if (*s)
                putchar(toupper((unsigned char) *s++));
        fputs(s, stdout);
}

static void print_timestamp(void) {
        struct timespec ts;
        struct tm tm;
        char buf[32];

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm))
                return;
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s.%03ld+0000: ", buf, ts.tv_nsec / 1000000);
}

/* ContainerEvent and NetworkEvent have the same arguments; virsh quotes a
 * domain's name and adds the detail, names a network bare without one. */
static int on_event(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        EventWait *w = userdata;
        const char *name, *event, *detail;

        if (sd_bus_message_read(m, "sss", &name, &event, &detail) < 0)
                return 0;
        if (w->domain && !streq(w->domain, name))
                return 0;
        if (!w->loop && w->received > 0)
                return 0;

        if (w->timestamp)
                print_timestamp();
        if (w->network)
                printf("event 'lifecycle' for network %s: ", name);
        else
                printf("event 'lifecycle' for domain '%s': ", name);
        print_capitalized(event);
        if (!w->network) {
                putchar(' ');
                print_capitalized(detail);
        }
        putchar('\n');
        fflush(stdout);
        w->received++;
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000;
}

/* Dispatches ContainerEvent signals to W until one came (all of them with
 * LOOP), a signal arrives on SFD or DEADLINE (CLOCK_MONOTONIC, µs) passes. */
static int wait_for_events(sd_bus *bus, int sfd, EventWait *w, bool loop, uint64_t deadline) {
        int r;

        for (;;) {
                struct signalfd_siginfo si;
                uint64_t t, left;

                if (!loop && w->received > 0)
                        return 0;
                if (read(sfd, &si, sizeof si) == (ssize_t) sizeof si)
                        return 0;

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return ctl_error(r, "Failed to process bus messages: %s", strerror(-r));
                if (r > 0)
                        continue;

                t = now_usec();
                if (t >= deadline) {
                        printf("event loop timed out\n");
                        return 0;
                }
                /* Wake up for signals too: wait in short slices. */
                left = deadline - t;
                r = sd_bus_wait(bus, left < 200000 ? left : 200000);
                if (r < 0 && r != -EINTR)
                        return ctl_error(r, "Failed to wait for bus messages: %s", strerror(-r));
        }
}

/* Subscribes to the Manager's signal MEMBER and prints what comes
 * until one event (all with --loop), ^C or --timeout; then the count. */
static int listen_for(Context *c, const VerbArgs *a, const char *member, EventWait *w) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_close_ int sfd = -EBADF;
        const char *timeout_s = args_get(a, "timeout");
        uint64_t deadline = UINT64_MAX;
        sigset_t mask, saved;
        sd_bus *bus;
        int r;

        if (timeout_s) {
                if (!string_is_uint(timeout_s) || strtoul(timeout_s, NULL, 10) == 0)
                        return ctl_error(-EINVAL, "invalid timeout");
        }
        w->loop = args_flag(a, "loop");
        w->timestamp = args_flag(a, "timestamp");

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(bus, &slot, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, member, on_event, w);
        if (r < 0)
                return ctl_error(r, "Failed to subscribe to %s: %s", member, strerror(-r));

        if (timeout_s)
                deadline = now_usec() + strtoull(timeout_s, NULL, 10) * 1000000;

        /* ^C ends the loop cleanly, with the count printed, as in virsh. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, &saved) < 0)
                return ctl_error(negative_errno(), "Failed to block signals: %m");
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                r = ctl_error(negative_errno(), "Failed to create signalfd: %m");
                goto finish;
        }

        r = wait_for_events(bus, sfd, w, w->loop, deadline);
        if (r < 0)
                goto finish;

        printf("events received: %u\n", w->received);
        r = 0;

finish:
        (void) sigprocmask(SIG_SETMASK, &saved, NULL);
        return r;
}

static int verb_event(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        const char *ev = args_get(a, "event");
        EventWait w = {};
        int r;

        if (ev && !streq(ev, "lifecycle"))
                return ctl_error(-EINVAL, "unknown event type %s", ev);
        if (!ev && !args_flag(a, "all") && !args_flag(a, "list"))
                return ctl_error(-EINVAL, "one of --list, --all, or --event <type> is required");
        if (args_flag(a, "list")) {
                printf("lifecycle\n");
                return 0;
        }

        if (args_get(a, "domain")) {
                r = ctl_resolve_name(c, args_get(a, "domain"), &name);
                if (r < 0)
                        return r;
                w.domain = name;
        }
        return listen_for(c, a, "ContainerEvent", &w);
}

static int verb_net_event(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        const char *ev = args_get(a, "event");
        EventWait w = { .network = true };
        int r;

        if (args_flag(a, "list")) {
                printf("lifecycle\n");
                return 0;
        }
        if (!ev)
                return ctl_error(-EINVAL, "either --list or --event <type> is required");
        if (!streq(ev, "lifecycle"))
                return ctl_error(-EINVAL, "unknown event type %s", ev);

        if (args_get(a, "network")) {
                /* an unknown network is an error, as in virsh */
                r = ctl_resolve_network(c, args_get(a, "network"), &name);
                if (r >= 0)
                        r = ctl_net_call(c, name, NULL, "GetNetwork", NULL, "s", name);
                if (r < 0)
                        return r;
                w.domain = name;
        }
        r = listen_for(c, a, "NetworkEvent", &w);
        if (r < 0)
                return r;
        /* virsh: no event is a failure */
        return w.received > 0 ? 0 : -ETIMEDOUT;
}

static const VerbOption event_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL, "filter by domain name, id or uuid" },
        { "event", OPT_STRING, 0, "which event type to wait for (lifecycle)" },
        { "all", OPT_BOOL, 0, "wait for all events instead of just one type" },
        { "loop", OPT_BOOL, 0, "loop until timeout or interrupt, rather than one-shot" },
        { "timeout", OPT_STRING, 0, "timeout seconds" },
        { "list", OPT_BOOL, 0, "list valid event types" },
        { "timestamp", OPT_BOOL, 0, "show timestamp for each printed event" },
        {}
};

static const VerbOption net_event_options[] = {
        { "network", OPT_STRING, OPT_POSITIONAL, "filter by network name or uuid" },
        { "event", OPT_STRING, 0, "which event type to wait for" },
        { "loop", OPT_BOOL, 0, "loop until timeout or interrupt, rather than one-shot" },
        { "timeout", OPT_STRING, 0, "timeout seconds" },
        { "list", OPT_BOOL, 0, "list valid event types" },
        { "timestamp", OPT_BOOL, 0, "show timestamp for each printed event" },
        {}
};

const Verb verb_table_event[] = {
        { "event", "Domain Monitoring", "Domain Events",
          "List event types, or wait for domain events to occur: lifecycle\n"
          "events (Defined, Undefined, Started, Stopped, Suspended, Resumed\n"
          "with their detail), printed as virsh prints them.",
          event_options, VERB_NEEDS_URI, verb_event },
        { "net-event", "Networking", "Network Events",
          "List event types, or wait for network events to occur: lifecycle\n"
          "events (Defined, Undefined, Started, Stopped) of managed networks,\n"
          "printed as virsh prints them. No event before the timeout is a failure.",
          net_event_options, VERB_NEEDS_URI, verb_net_event },
        {}
};
