/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A running container's accounting, read from its own cgroup files: the
 * scope that holds its helper (the parent of the helper's supervisor/ leaf),
 * per hierarchy as /proc/HELPER/cgroup names it. On cgroup v2 the unified
 * files (memory.current, cpu.stat, pids.current); on a v1/v2 hybrid the v1
 * controllers' (memory.usage_in_bytes, cpuacct.usage, pids.current). systemd
 * is not asked: on a hybrid host it does not read cpuacct for a scope. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup-v1.h"
#include "fileio.h"
#include "macros.h"
#include "manager.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CGROUP_ROOT "/sys/fs/cgroup"

bool cgroup_is_unified(void) {
        struct statfs fs;

        return statfs(CGROUP_ROOT, &fs) == 0 && (unsigned long) fs.f_type == CGROUP2_SUPER_MAGIC;
}

/* The directory of PID's scope in the hierarchy of CONTROLLER ("" = the
 * unified one), with the helper's own leaf (supervisor/) taken off. */
int cgroup_scope_dir(pid_t pid, const char *controller, char **ret) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char fn[64];
        size_t n = 0;
        bool unified = !*controller;

        snprintf(fn, sizeof fn, "/proc/%d/cgroup", (int) pid);
        f = fopen(fn, "re");
        if (!f)
                return -errno;

        while (getline(&line, &n, f) > 0) {
                char *list, *p;

                line[strcspn(line, "\n")] = 0;
                list = strchr(line, ':');
                if (!list)
                        continue;
                list++;
                p = strchr(list, ':');
                if (!p)
                        continue;
                *p++ = 0;
                if (unified ? *list != 0 : !cgroup_controllers_have(list, controller))
                        continue;
                path = strdup(p);
                if (!path)
                        return -ENOMEM;
                break;
        }
        if (!path)
                return -ENOENT;

        if (endswith(path, "/supervisor"))
                path[strlen(path) - strlen("/supervisor")] = 0;
        /* A hierarchy where systemd did not realize the scope (the helper sits
         * higher up) accounts for more than the container: not ours. */
        if (!endswith(path, ".scope"))
                return -ENOENT;

        /* hybrid: the v1 controller mounts are named after their controllers
         * (cpuacct is a link to cpu,cpuacct), name=systemd's is systemd/; the
         * unified one is unified/. */
        if (asprintf(ret, "%s%s%s%s", CGROUP_ROOT, unified ? "" : "/",
                     unified ? "" : startswith(controller, "name=") ?: controller, path) < 0)
                return -ENOMEM;
        return 0;
}

static int read_u64_file(const char *dir, const char *file, uint64_t *ret) {
        _cleanup_free_ char *fn = NULL, *text = NULL;
        unsigned long long v;
        char *end;
        int r;

        if (asprintf(&fn, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        r = read_full_file(fn, &text, NULL);
        if (r < 0)
                return r;
        if (strncmp(text, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        errno = 0;
        v = strtoull(text, &end, 10);
        if (errno != 0 || end == text)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat). */
static int read_keyed(const char *dir, const char *file, const char *key, uint64_t *ret) {
        _cleanup_free_ char *fn = NULL, *text = NULL;
        size_t len = strlen(key);
        int r;

        if (asprintf(&fn, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        r = read_full_file(fn, &text, NULL);
        if (r < 0)
                return r;
        for (const char *p = text; *p;) {
                const char *nl = strchrnul(p, '\n');

                if (strncmp(p, key, len) == 0 && p[len] == ' ') {
                        *ret = strtoull(p + len + 1, NULL, 10);
                        return 0;
                }
                p = *nl ? nl + 1 : nl;
        }
        return -ENOENT;
}

static void stats_v2(pid_t pid, CgroupStats *s) {
        _cleanup_free_ char *dir = NULL;
        uint64_t v;

        if (cgroup_scope_dir(pid, "", &dir) < 0)
                return;
        (void) read_u64_file(dir, "memory.current", &s->memory_current);
        (void) read_u64_file(dir, "memory.max", &s->memory_max);
        (void) read_keyed(dir, "memory.stat", "anon", &s->memory_rss);
        (void) read_keyed(dir, "memory.stat", "file", &s->memory_cache);
        (void) read_u64_file(dir, "pids.current", &s->tasks_current);
        (void) read_u64_file(dir, "pids.max", &s->tasks_max);
        if (read_keyed(dir, "cpu.stat", "usage_usec", &v) >= 0)
                s->cpu_time_ns = v * 1000;
        if (read_keyed(dir, "cpu.stat", "user_usec", &v) >= 0)
                s->cpu_user_ns = v * 1000;
        if (read_keyed(dir, "cpu.stat", "system_usec", &v) >= 0)
                s->cpu_system_ns = v * 1000;
}

static void cpu_from_proc(pid_t helper_pid, CgroupStats *s);

static void stats_v1(pid_t pid, CgroupStats *s) {
        _cleanup_free_ char *mem = NULL, *cpu = NULL, *pids = NULL;
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t v;

        if (cgroup_scope_dir(pid, "memory", &mem) >= 0) {
                (void) read_u64_file(mem, "memory.usage_in_bytes", &s->memory_current);
                if (read_u64_file(mem, "memory.limit_in_bytes", &v) >= 0)
                        /* v1 says "no limit" with a huge page-aligned number */
                        s->memory_max = v >= (UINT64_C(1) << 62) ? UINT64_MAX : v;
                (void) read_keyed(mem, "memory.stat", "total_rss", &s->memory_rss);
                (void) read_keyed(mem, "memory.stat", "total_cache", &s->memory_cache);
        }
        if (cgroup_scope_dir(pid, "cpuacct", &cpu) < 0)
                cpu_from_proc(pid, s);
        else {
                (void) read_u64_file(cpu, "cpuacct.usage", &s->cpu_time_ns);
                if (hz <= 0)
                        hz = 100;
                /* cpuacct.stat counts USER_HZ ticks */
                if (read_keyed(cpu, "cpuacct.stat", "user", &v) >= 0)
                        s->cpu_user_ns = v * (UINT64_C(1000000000) / (uint64_t) hz);
                if (read_keyed(cpu, "cpuacct.stat", "system", &v) >= 0)
                        s->cpu_system_ns = v * (UINT64_C(1000000000) / (uint64_t) hz);
        }
        if (cgroup_scope_dir(pid, "pids", &pids) >= 0) {
                (void) read_u64_file(pids, "pids.current", &s->tasks_current);
                (void) read_u64_file(pids, "pids.max", &s->tasks_max);
        }
}

/* Without a cpuacct hierarchy holding the scope (a hybrid host where systemd
 * did not realize it there): the CPU time of the payload's processes and of
 * the children they reaped, from /proc/PID/stat. Init reaps the container's
 * orphans, so what ended inside is counted too. */
static void cpu_from_proc(pid_t helper_pid, CgroupStats *s) {
        _cleanup_free_ char *dir = NULL, *fn = NULL, *procs = NULL;
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t user = 0, sys = 0;

        /* hierarchies with payload/ (cgroup_v1_wants_leaves()) */
        if (cgroup_scope_dir(helper_pid, "pids", &dir) < 0 && cgroup_scope_dir(helper_pid, "name=systemd", &dir) < 0)
                return;
        if (asprintf(&fn, "%s/payload/cgroup.procs", dir) < 0)
                return;
        if (read_full_file(fn, &procs, NULL) < 0)
                return;
        if (hz <= 0)
                hz = 100;

        for (const char *p = procs; *p;) {
                _cleanup_free_ char *stat = NULL;
                char statfn[64];
                unsigned long long ut, st, cut, cst;
                const char *nl = strchrnul(p, '\n'), *rp;

                snprintf(statfn, sizeof statfn, "/proc/%d/stat", atoi(p));
                p = *nl ? nl + 1 : nl;
                if (read_full_file(statfn, &stat, NULL) < 0)
                        continue;
                /* fields after "(comm)", which may hold spaces: state is 3rd,
                 * utime the 14th */
                rp = strrchr(stat, ')');
                if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                                  &ut, &st, &cut, &cst) != 4)
                        continue;
                user += ut + cut;
                sys += st + cst;
        }
        s->cpu_user_ns = user * (UINT64_C(1000000000) / (uint64_t) hz);
        s->cpu_system_ns = sys * (UINT64_C(1000000000) / (uint64_t) hz);
        s->cpu_time_ns = s->cpu_user_ns + s->cpu_system_ns;
}

void cgroup_stats_read(pid_t helper_pid, CgroupStats *ret) {
        *ret = (CgroupStats) {
                .memory_current = UINT64_MAX, .memory_max = UINT64_MAX,
                .memory_rss = UINT64_MAX, .memory_cache = UINT64_MAX,
                .tasks_current = UINT64_MAX, .tasks_max = UINT64_MAX,
                .cpu_time_ns = UINT64_MAX, .cpu_user_ns = UINT64_MAX, .cpu_system_ns = UINT64_MAX,
        };
        if (cgroup_is_unified())
                stats_v2(helper_pid, ret);
        else
                stats_v1(helper_pid, ret);
}

/* A host-side network device's counters, /sys/class/net/DEV/statistics. */
int netdev_stats_read(const char *dev, NetdevStats *ret) {
        static const char *const names[] = {
                "rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                "tx_bytes", "tx_packets", "tx_errors", "tx_dropped",
        };
        uint64_t *fields[] = {
                &ret->rx_bytes, &ret->rx_packets, &ret->rx_errs, &ret->rx_drop,
                &ret->tx_bytes, &ret->tx_packets, &ret->tx_errs, &ret->tx_drop,
        };
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!dev || !*dev || strchr(dev, '/') || dev[0] == '.')
                return -EINVAL;
        if (asprintf(&dir, "/sys/class/net/%s/statistics", dev) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                r = read_u64_file(dir, names[i], fields[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}
