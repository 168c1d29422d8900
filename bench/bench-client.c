/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-client: the D-Bus side of bench/run, so that a measured call costs a
 * round trip and not a process spawn.
 *
 *   bench-client [--dest BUSNAME] calls list|get|prop|xml|ping COUNT [NAME]
 *       COUNT serial calls; prints each call's latency in microseconds, one a line.
 *       --dest: another service than org.vivarium1 (bench/list-floor.c's);
 *       ping: org.freedesktop.DBus.Peer.Ping, a round trip with no payload.
 *   bench-client alternate ROUNDS COUNT DBUS_PID LABEL,BUSNAME,KIND,PID...
 *       ROUNDS rounds of COUNT serial calls of KIND to each BUSNAME in turn
 *       (after one call each to warm up), on one connection; prints "LABEL
 *       LATENCY_US" for each call, then per LABEL "cpu LABEL SERVER_NS DBUS_NS
 *       CALLS": the CPU time (/proc/PID/schedstat) that PID and DBUS_PID
 *       spent during that LABEL's calls.
 *   bench-client rate list|get|prop SECONDS [NAME]
 *       serial calls for SECONDS; prints "CALLS ELAPSED_S".
 *   bench-client define|create|destroy|undefine N PREFIX WINDOW [TEMPLATE]
 *       the operation on PREFIX0 .. PREFIX(N-1), at most WINDOW calls in flight
 *       (the bus limits pending replies per connection); TEMPLATE is an XML file
 *       in which @NAME@ is replaced. Prints "OK FAILED ELAPSED_S" and the first
 *       errors on stderr.
 *
 * Built by bench/run with cc $(pkg-config --cflags --libs libsystemd); not part
 * of the main build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

#define DEST "org.vivarium1"
#define PATH "/org/vivarium1"
#define IFACE "org.vivarium1.Manager"
#define CALL_TIMEOUT_USEC (300ULL * 1000000ULL)

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static int die(const char *what, int r) {
        fprintf(stderr, "bench-client: %s: %s\n", what, strerror(-r));
        exit(1);
}

/* One call of KIND; returns < 0 on failure. */
static int one_call(sd_bus *bus, const char *dest, const char *kind, const char *name, const char *obj_path) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        if (strcmp(kind, "list") == 0)
                r = sd_bus_call_method(bus, dest, PATH, IFACE, "ListContainers", &error, &reply, "");
        else if (strcmp(kind, "ping") == 0)
                r = sd_bus_call_method(bus, dest, "/", "org.freedesktop.DBus.Peer", "Ping", &error, &reply, "");
        else if (strcmp(kind, "get") == 0)
                r = sd_bus_call_method(bus, dest, PATH, IFACE, "GetContainer", &error, &reply, "s", name);
        else if (strcmp(kind, "xml") == 0)
                r = sd_bus_call_method(bus, dest, PATH, IFACE, "GetXML", &error, &reply, "st", name, (uint64_t) 0);
        else if (strcmp(kind, "prop") == 0)
                r = sd_bus_call_method(bus, dest, obj_path, "org.freedesktop.DBus.Properties", "Get",
                                       &error, &reply, "ss", "org.vivarium1.Container", "State");
        else {
                fprintf(stderr, "bench-client: unknown call '%s'\n", kind);
                exit(2);
        }
        if (r < 0)
                fprintf(stderr, "bench-client: %s: %s\n", kind, error.message ?: strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

static char *container_path(sd_bus *bus, const char *name) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *p;
        char *ret;
        int r;

        if (!name)
                return NULL;
        r = sd_bus_call_method(bus, DEST, PATH, IFACE, "GetContainer", &error, &reply, "s", name);
        if (r < 0) {
                fprintf(stderr, "bench-client: GetContainer '%s': %s\n", name, error.message ?: strerror(-r));
                exit(1);
        }
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                die("GetContainer reply", r);
        ret = strdup(p);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return ret;
}

static char *read_template(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;
        if (!f || getdelim(&buf, &len, '\0', f) < 0) {
                fprintf(stderr, "bench-client: cannot read '%s'\n", path);
                exit(1);
        }
        fclose(f);
        return buf;
}

static char *fill_template(const char *tmpl, const char *name) {
        const char *at = strstr(tmpl, "@NAME@");
        char *s;
        if (!at) {
                fprintf(stderr, "bench-client: template has no @NAME@\n");
                exit(2);
        }
        if (asprintf(&s, "%.*s%s%s", (int) (at - tmpl), tmpl, name, at + 6) < 0)
                exit(1);
        return s;
}

/* The CPU time a process has spent, from /proc/PID/schedstat (its first field). */
static uint64_t cpu_ns(const char *pid) {
        char path[64];
        unsigned long long ns = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%s/schedstat", pid);
        f = fopen(path, "re");
        if (!f || fscanf(f, "%llu", &ns) != 1) {
                fprintf(stderr, "bench-client: cannot read %s\n", path);
                exit(1);
        }
        fclose(f);
        return ns;
}

typedef struct Target {
        char *label, *dest, *kind, *pid;
        uint64_t server_ns, dbus_ns;
        unsigned long calls;
} Target;

/* Alternated rounds, so that a change of the machine's load touches every
 * target alike (bench/list-cost.sh). */
static int run_alternate(sd_bus *bus, long rounds, long count, const char *dbus_pid, int n, char **specs) {
        Target *t = calloc((size_t) n, sizeof(Target));

        if (!t)
                exit(1);
        for (int i = 0; i < n; i++) {
                t[i].label = strdup(specs[i]);
                t[i].dest = strchr(t[i].label, ',');
                t[i].kind = t[i].dest ? strchr(t[i].dest + 1, ',') : NULL;
                t[i].pid = t[i].kind ? strchr(t[i].kind + 1, ',') : NULL;
                if (!t[i].pid) {
                        fprintf(stderr, "bench-client: '%s' is not LABEL,BUSNAME,KIND,PID\n", specs[i]);
                        exit(2);
                }
                *t[i].dest++ = *t[i].kind++ = *t[i].pid++ = 0;
                if (one_call(bus, t[i].dest, t[i].kind, NULL, NULL) < 0)
                        return 1;
        }
        for (long k = 0; k < rounds; k++)
                for (int i = 0; i < n; i++) {
                        uint64_t s0 = cpu_ns(t[i].pid), d0 = cpu_ns(dbus_pid);
                        for (long j = 0; j < count; j++) {
                                uint64_t u = now_usec();
                                if (one_call(bus, t[i].dest, t[i].kind, NULL, NULL) < 0)
                                        return 1;
                                printf("%s %.1f\n", t[i].label, (double) (now_usec() - u));
                        }
                        t[i].server_ns += cpu_ns(t[i].pid) - s0;
                        t[i].dbus_ns += cpu_ns(dbus_pid) - d0;
                        t[i].calls += (unsigned long) count;
                }
        for (int i = 0; i < n; i++)
                printf("cpu %s %llu %llu %lu\n", t[i].label, (unsigned long long) t[i].server_ns,
                       (unsigned long long) t[i].dbus_ns, t[i].calls);
        return 0;
}

typedef struct Batch {
        unsigned in_flight, ok, failed, errors_shown;
} Batch;

static int batch_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Batch *b = userdata;
        (void) ret_error;
        b->in_flight--;
        if (sd_bus_message_is_method_error(m, NULL)) {
                b->failed++;
                if (b->errors_shown++ < 5)
                        fprintf(stderr, "bench-client: %s\n", sd_bus_message_get_error(m)->message);
        } else
                b->ok++;
        return 0;
}

static int run_batch(sd_bus *bus, const char *op, unsigned n, const char *prefix, unsigned window, const char *tmpl) {
        Batch b = {};
        const char *method;
        uint64_t t0 = now_usec();
        int r;

        if (strcmp(op, "define") == 0)
                method = "DefineXML";
        else if (strcmp(op, "create") == 0)
                method = "CreateXML";
        else if (strcmp(op, "destroy") == 0)
                method = "Destroy";
        else
                method = "Undefine";

        for (unsigned i = 0; i < n || b.in_flight > 0;) {
                while (i < n && b.in_flight < window) {
                        char name[256];
                        snprintf(name, sizeof name, "%s%u", prefix, i++);
                        if (strcmp(op, "define") == 0 || strcmp(op, "create") == 0) {
                                char *xml = fill_template(tmpl, name);
                                if (op[0] == 'd')
                                        r = sd_bus_call_method_async(bus, NULL, DEST, PATH, IFACE, method,
                                                                     batch_reply, &b, "s", xml);
                                else
                                        r = sd_bus_call_method_async(bus, NULL, DEST, PATH, IFACE, method,
                                                                     batch_reply, &b, "st", xml, (uint64_t) 0);
                                free(xml);
                        } else
                                r = sd_bus_call_method_async(bus, NULL, DEST, PATH, IFACE, method,
                                                             batch_reply, &b, "s", name);
                        if (r < 0)
                                die("send", r);
                        b.in_flight++;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        die("process", r);
                if (r > 0)
                        continue;
                if (b.in_flight == 0 && i >= n)
                        break;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        die("wait", r);
        }
        printf("%u %u %.6f\n", b.ok, b.failed, (now_usec() - t0) / 1e6);
        return b.failed ? 1 : 0;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        const char *dest = DEST;
        int r;

        if (argc >= 3 && strcmp(argv[1], "--dest") == 0) {
                dest = argv[2];
                argv += 2;
                argc -= 2;
        }
        if (argc < 3) {
                fprintf(stderr, "usage: see the comment at the top of bench/bench-client.c\n");
                return 2;
        }
        r = sd_bus_open_system(&bus);
        if (r < 0)
                die("connect to the system bus", r);
        sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);

        if (strcmp(argv[1], "calls") == 0 && argc >= 4) {
                const char *name = argc > 4 ? argv[4] : NULL;
                char *obj = strcmp(argv[2], "prop") == 0 ? container_path(bus, name) : NULL;
                long count = atol(argv[3]);
                for (long i = 0; i < count; i++) {
                        uint64_t t = now_usec();
                        if (one_call(bus, dest, argv[2], name, obj) < 0)
                                return 1;
                        printf("%.1f\n", (double) (now_usec() - t));
                }
                return 0;
        }
        if (strcmp(argv[1], "rate") == 0 && argc >= 4) {
                const char *name = argc > 4 ? argv[4] : NULL;
                char *obj = strcmp(argv[2], "prop") == 0 ? container_path(bus, name) : NULL;
                uint64_t t0 = now_usec(), end = t0 + (uint64_t) (atof(argv[3]) * 1e6), t;
                unsigned long calls = 0;
                do {
                        if (one_call(bus, dest, argv[2], name, obj) < 0)
                                return 1;
                        calls++;
                        t = now_usec();
                } while (t < end);
                printf("%lu %.6f\n", calls, (t - t0) / 1e6);
                return 0;
        }
        if (strcmp(argv[1], "alternate") == 0 && argc >= 6)
                return run_alternate(bus, atol(argv[2]), atol(argv[3]), argv[4], argc - 5, argv + 5);
        if (argc >= 5 && (strcmp(argv[1], "define") == 0 || strcmp(argv[1], "create") == 0 ||
                          strcmp(argv[1], "destroy") == 0 || strcmp(argv[1], "undefine") == 0)) {
                char *tmpl = NULL;
                if (argv[1][0] == 'c' || strcmp(argv[1], "define") == 0) {
                        if (argc < 6) {
                                fprintf(stderr, "bench-client: %s needs a template\n", argv[1]);
                                return 2;
                        }
                        tmpl = read_template(argv[5]);
                }
                return run_batch(bus, argv[1], (unsigned) atoi(argv[2]), argv[3],
                                 (unsigned) atoi(argv[4]) ?: 1, tmpl);
        }
        fprintf(stderr, "usage: see the comment at the top of bench/bench-client.c\n");
        return 2;
}
