/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: statistics verbs, domstats, dommemstat, cpu-stats and domifstat
 * (virsh's layouts), over the manager's GetStats. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl.h"
#include "domain-xml.h"

#define STATS_MAX 256

typedef struct Stat {
        char *key;
        char *str;      /* for "s" values, else NULL */
        uint64_t num;
} Stat;

typedef struct Stats {
        Stat items[STATS_MAX];
        size_t n;
} Stats;

static void stats_done(Stats *s) {
        for (size_t i = 0; i < s->n; i++) {
                free(s->items[i].key);
                free(s->items[i].str);
        }
        s->n = 0;
}

static const Stat *stats_find(const Stats *s, const char *key) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->items[i].key, key))
                        return &s->items[i];
        return NULL;
}

static bool stats_u64(const Stats *s, const char *key, uint64_t *ret) {
        const Stat *st = stats_find(s, key);

        if (!st || st->str)
                return false;
        *ret = st->num;
        return true;
}

static int stats_get(Context *c, const char *name, Stats *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = ctl_call(c, name, "GetStats", &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0) {
                const char *key, *contents;
                Stat st = {};

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(reply, NULL, &contents);
                if (r < 0)
                        break;
                if (streq(contents, "s")) {
                        const char *v;

                        r = sd_bus_message_read(reply, "v", "s", &v);
                        if (r >= 0 && !(st.str = strdup(v)))
                                r = -ENOMEM;
                } else if (streq(contents, "t"))
                        r = sd_bus_message_read(reply, "v", "t", &st.num);
                else if (streq(contents, "u")) {
                        uint32_t u;

                        r = sd_bus_message_read(reply, "v", "u", &u);
                        st.num = u;
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0 && (st.str || streq(contents, "t") || streq(contents, "u")) && ret->n < STATS_MAX) {
                        st.key = strdup(key);
                        if (!st.key)
                                r = -ENOMEM;
                        else
                                ret->items[ret->n++] = st;
                } else
                        free(st.str);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                stats_done(ret);
                return ctl_error(r, "Failed to parse the reply of GetStats: %s", strerror(-r));
        }
        return 0;
}

static bool is_running(const Stats *s) {
        const Stat *st = stats_find(s, "state");

        return st && st->str && (streq(st->str, "running") || streq(st->str, "paused"));
}

/* --- domstats ---------------------------------------------------------------- */

static int print_domstats(Context *c, const char *name) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_(stats_done) Stats s = {};
        const Stat *state;
        uint64_t v, count = 0;
        int r, st = 5, reason = 0;

        r = stats_get(c, name, &s);
        if (r < 0)
                return r;
        r = ctl_get_domain_def(c, name, 0, &def);
        if (r < 0)
                return r;

        /* libvirt's virDomainState and the reasons it gives for them */
        state = stats_find(&s, "state");
        if (state && state->str && streq(state->str, "running"))
                st = 1, reason = 1;     /* RUNNING_BOOTED */
        else if (state && state->str && streq(state->str, "paused"))
                st = 3, reason = 1;     /* PAUSED_USER */

        printf("Domain: '%s'\n", name);
        printf("  state.state=%d\n", st);
        printf("  state.reason=%d\n", reason);
        if (is_running(&s)) {
                if (stats_u64(&s, "cpu.time", &v))
                        printf("  cpu.time=%" PRIu64 "\n", v);
                if (stats_u64(&s, "cpu.user", &v))
                        printf("  cpu.user=%" PRIu64 "\n", v);
                if (stats_u64(&s, "cpu.system", &v))
                        printf("  cpu.system=%" PRIu64 "\n", v);
        }
        uint64_t max = def->memory_kib;
        uint64_t cur = def->current_memory_kib != UNSET_U64 ? def->current_memory_kib : max;
        printf("  balloon.current=%" PRIu64 "\n", cur);
        printf("  balloon.maximum=%" PRIu64 "\n", max);
        if (is_running(&s) && stats_u64(&s, "memory.current", &v))
                printf("  balloon.rss=%" PRIu64 "\n", v / 1024);
        if (is_running(&s)) {
                printf("  vcpu.current=%u\n", def->vcpus > 0 ? def->vcpus : 1);
                printf("  vcpu.maximum=%u\n", def->vcpus > 0 ? def->vcpus : 1);
                if (stats_u64(&s, "tasks.current", &v))
                        printf("  tasks.current=%" PRIu64 "\n", v);
                (void) stats_u64(&s, "net.count", &count);
                printf("  net.count=%" PRIu64 "\n", count);
                for (uint64_t i = 0; i < count; i++) {
                        static const char *const fields[] = {
                                "rx.bytes", "rx.pkts", "rx.errs", "rx.drop",
                                "tx.bytes", "tx.pkts", "tx.errs", "tx.drop",
                        };
                        char key[64];
                        const Stat *n;

                        snprintf(key, sizeof key, "net.%" PRIu64 ".name", i);
                        n = stats_find(&s, key);
                        if (n && n->str)
                                printf("  %s=%s\n", key, n->str);
                        for (size_t j = 0; j < ELEMENTSOF(fields); j++) {
                                snprintf(key, sizeof key, "net.%" PRIu64 ".%s", i, fields[j]);
                                if (stats_u64(&s, key, &v))
                                        printf("  %s=%" PRIu64 "\n", key, v);
                        }
                }
        }
        printf("\n");
        return 0;
}

static int verb_domstats(Context *c, const VerbArgs *a) {
        DomainEntry *list = NULL;
        size_t n = 0;
        int r = 0;

        if (a->n_multi > 0) {
                for (size_t i = 0; i < a->n_multi; i++) {
                        _cleanup_free_ char *name = NULL;

                        r = ctl_resolve_name(c, a->multi[i], &name);
                        if (r < 0)
                                return r;
                        r = print_domstats(c, name);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        /* Without names: every running domain, as virsh does by default. */
        r = ctl_list_domains(c, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                if (list[i].id > 0)
                        r = print_domstats(c, list[i].name);
        domain_entries_free(list, n);
        return r < 0 ? r : 0;
}

/* --- dommemstat, cpu-stats ----------------------------------------------------- */

static int require_running(const Stats *s, const char *name) {
        if (!is_running(s))
                return ctl_error(-EINVAL, "Requested operation is not valid: domain is not running");
        return 0;
}

static int verb_dommemstat(Context *c, const VerbArgs *a) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *name = NULL;
        _cleanup_(stats_done) Stats s = {};
        uint64_t v;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        r = stats_get(c, name, &s);
        if (r < 0)
                return r;
        r = require_running(&s, name);
        if (r < 0)
                return r;
        r = ctl_get_domain_def(c, name, 0, &def);
        if (r < 0)
                return r;

        /* libvirt's LXC driver: actual = the balloon (current memory),
         * rss = the cgroup's memory usage, in KiB */
        printf("actual %" PRIu64 "\n",
               def->current_memory_kib != UNSET_U64 ? def->current_memory_kib : def->memory_kib);
        if (stats_u64(&s, "memory.current", &v))
                printf("rss %" PRIu64 "\n", v / 1024);
        if (stats_u64(&s, "memory.rss", &v))
                printf("anon %" PRIu64 "\n", v / 1024);
        if (stats_u64(&s, "memory.cache", &v))
                printf("cache %" PRIu64 "\n", v / 1024);
        return 0;
}

static void print_seconds(const char *what, uint64_t ns) {
        printf("\t%-12s %3" PRIu64 ".%09" PRIu64 " seconds\n", what, ns / 1000000000, ns % 1000000000);
}

static int verb_cpu_stats(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        _cleanup_(stats_done) Stats s = {};
        uint64_t v;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        r = stats_get(c, name, &s);
        if (r < 0)
                return r;
        r = require_running(&s, name);
        if (r < 0)
                return r;

        /* Only the total: the container's cgroup does not split per CPU. */
        printf("Total:\n");
        if (stats_u64(&s, "cpu.time", &v))
                print_seconds("cpu_time", v);
        if (stats_u64(&s, "cpu.user", &v))
                print_seconds("user_time", v);
        if (stats_u64(&s, "cpu.system", &v))
                print_seconds("system_time", v);
        return 0;
}

/* --- domifstat ----------------------------------------------------------------- */

static int verb_domifstat(Context *c, const VerbArgs *a) {
        static const struct {
                const char *key, *label;
        } fields[] = {
                { "rx.bytes", "rx_bytes" }, { "rx.pkts", "rx_packets" }, { "rx.errs", "rx_errs" },
                { "rx.drop", "rx_drop" },   { "tx.bytes", "tx_bytes" },  { "tx.pkts", "tx_packets" },
                { "tx.errs", "tx_errs" },   { "tx.drop", "tx_drop" },
        };
        _cleanup_free_ char *name = NULL;
        const char *iface = args_get(a, "interface");
        _cleanup_(stats_done) Stats s = {};
        uint64_t count = 0, v;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        r = stats_get(c, name, &s);
        if (r < 0)
                return r;
        r = require_running(&s, name);
        if (r < 0)
                return r;

        (void) stats_u64(&s, "net.count", &count);
        for (uint64_t i = 0; i < count; i++) {
                char key[64];
                const Stat *n;

                snprintf(key, sizeof key, "net.%" PRIu64 ".name", i);
                n = stats_find(&s, key);
                if (!n || !n->str || !streq(n->str, iface))
                        continue;
                for (size_t j = 0; j < ELEMENTSOF(fields); j++) {
                        snprintf(key, sizeof key, "net.%" PRIu64 ".%s", i, fields[j].key);
                        if (stats_u64(&s, key, &v))
                                printf("%s %s %" PRIu64 "\n", iface, fields[j].label, v);
                }
                return 0;
        }
        ctl_error(-EINVAL, "Failed to get interface stats %s %s", name, iface);
        return ctl_error(-EINVAL, "invalid argument: invalid path, '%s' is not a known interface", iface);
}

static const VerbOption domstats_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_MULTI, "list of domains to get stats for" },
        {}
};

static const VerbOption domain_only_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        {}
};

static const VerbOption cpu_stats_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "total", OPT_BOOL, 0, "Show total statistics only (the only statistics there are)" },
        {}
};

static const VerbOption domifstat_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "interface", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "interface device (host-side name)" },
        {}
};

const Verb verb_table_stats[] = {
        { "cpu-stats", "Domain Monitoring", "show domain cpu statistics",
          "Display the CPU time of the domain's cgroup: total, user and system,\n"
          "in seconds.",
          cpu_stats_options, VERB_NEEDS_URI, verb_cpu_stats },
        { "domifstat", "Domain Monitoring", "get network interface stats for a domain",
          "Get network interface stats for a running domain, read from the\n"
          "host-side device's counters.",
          domifstat_options, VERB_NEEDS_URI, verb_domifstat },
        { "dommemstat", "Domain Monitoring", "get memory statistics for a domain",
          "Get memory statistics for a running domain (KiB): actual (the\n"
          "balloon), rss (what its cgroup uses), anon and cache.",
          domain_only_options, VERB_NEEDS_URI, verb_dommemstat },
        { "domstats", "Domain Monitoring", "get statistics about one or multiple domains",
          "Gets statistics about one or more (or all running) domains: state,\n"
          "cpu, balloon, vcpu, tasks and net, as key=value lines.",
          domstats_options, VERB_NEEDS_URI, verb_domstats },
        {}
};
