/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Resource controls of a container: SetMemory, SetSchedulerParameters,
 * SetMemoryParameters, SetBlkioParameters (applied to the running scope
 * through systemd's SetUnitProperties, and/or to the persistent definition)
 * and GetStats (the container's own cgroup files, cgroup-stats.c).
 *
 * systemd 252 applies MemoryHigh= and MemorySwapMax= only on cgroup v2; on a
 * hybrid host the manager writes <memtune>'s soft_limit and swap_hard_limit to
 * the scope's v1 memory files itself (memory.soft_limit_in_bytes,
 * memory.memsw.limit_in_bytes), at start and on a live change. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>


#include "bus-names.h"
#include "macros.h"
#include "manager.h"

/* libvirt's VIR_DOMAIN_AFFECT_*: 0 = the running container if any, else the
 * definition. */
#define AFFECT_LIVE   UINT64_C(1)
#define AFFECT_CONFIG UINT64_C(2)
/* libvirt's VIR_DOMAIN_MEM_MAXIMUM: SetMemory sets <memory> (setmaxmem); for a
 * container the limit and the maximum are the same MemoryMax. */
#define MEM_MAXIMUM   UINT64_C(4)

static int call_memory_change(Container *c, sd_bus_message *set, sd_bus_message *msg);

int resolve_affect(Container *c, uint64_t flags, bool *ret_live, bool *ret_config, sd_bus_error *error) {
        bool running = c->state == CONTAINER_RUNNING;

        if (flags & ~(AFFECT_LIVE | AFFECT_CONFIG))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%llx",
                                         (unsigned long long) flags);
        if (flags == 0)
                flags = running ? AFFECT_LIVE : AFFECT_CONFIG;
        if ((flags & AFFECT_LIVE) && !running)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", c->name);
        if ((flags & AFFECT_CONFIG) && !c->persistent)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Container '%s' is transient: it has no persistent definition", c->name);
        *ret_live = flags & AFFECT_LIVE;
        *ret_config = flags & AFFECT_CONFIG;
        return 0;
}

/* The rest of a Set*Parameters call after its dictionary: its flags, the
 * caller's right to make it, and where it applies. Returns > 0 to go on, 0
 * when polkit was asked (the call is dispatched again with its answer), < 0
 * on error. */
int read_affect_authorized(Container *c, sd_bus_message *msg, bool *ret_live, bool *ret_config,
                                  sd_bus_error *error) {
        uint64_t flags;
        int r;

        r = sd_bus_message_read(msg, "t", &flags);
        if (r < 0)
                return r;
        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r;
        r = resolve_affect(c, flags, ret_live, ret_config, error);
        return r < 0 ? r : 1;
}

/* Sends MSG (to systemd) and answers CALL with its outcome. */
static int call_and_forward(Manager *m, sd_bus_message *msg, sd_bus_message *call) {
        int r;

        r = bus_call_async_owned(m->bus, msg, bus_forward_empty_reply, sd_bus_message_ref(call),
                                 bus_message_unref_void);
        return r < 0 ? r : 1;
}

int new_set_unit_properties(Container *c, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->manager->bus, &msg, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE,
                                           "SetUnitProperties");
        if (r < 0)
                return r;
        /* runtime: the limits belong to this run; the definition keeps its own. */
        r = sd_bus_message_append(msg, "sb", c->unit, 1);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 0;
}

int save_definition(Container *c, sd_bus_error *error) {
        int r = store_save(c->manager, c->def);

        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to save the definition of container '%s': %m",
                                               c->name);
        return 0;
}

int container_method_set_memory(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *set = NULL;
        Container *c = userdata;
        uint64_t kib, flags;
        bool maximum, live, config;
        int r;

        r = sd_bus_message_read(msg, "tt", &kib, &flags);
        if (r < 0)
                return r;
        maximum = flags & MEM_MAXIMUM;
        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = resolve_affect(c, flags & ~MEM_MAXIMUM, &live, &config, error);
        if (r < 0)
                return r;
        if (kib == 0 || kib > UINT64_MAX / 1024)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid memory size %llu KiB",
                                         (unsigned long long) kib);

        if (config) {
                uint64_t old = c->def->memory_kib, old_cur = c->def->current_memory_kib;

                c->def->memory_kib = kib;
                /* setmaxmem: <currentMemory> never above the new maximum */
                if (maximum && c->def->current_memory_kib != UNSET_U64 && c->def->current_memory_kib > kib)
                        c->def->current_memory_kib = kib;
                r = save_definition(c, error);
                if (r < 0) {
                        c->def->memory_kib = old;
                        c->def->current_memory_kib = old_cur;
                        return r;
                }
        }
        if (!live)
                return sd_bus_reply_method_return(msg, NULL);

        if (c->live) {
                c->live->memory_kib = kib;
                /* one limit (MemoryMax): a later memtune must not undo this */
                if (c->live->hard_limit_kib != UNSET_U64)
                        c->live->hard_limit_kib = kib;
        }
        r = new_set_unit_properties(c, &set);
        if (r >= 0)
                r = sd_bus_message_append(set, "(sv)", "MemoryMax", "t", kib * 1024);
        if (r >= 0)
                r = sd_bus_message_close_container(set);
        if (r < 0)
                return r;
        return call_memory_change(c, set, msg);
}

/* SetSchedulerParameters' a{sv}, by libvirt's names: what it leaves out is
 * UNSET_U64 (has_quota false). */
typedef struct SchedParams {
        uint64_t shares, period;
        int64_t quota;
        bool has_quota;
} SchedParams;

static int read_sched_params(sd_bus_message *msg, SchedParams *ret, sd_bus_error *error) {
        int r;

        *ret = (SchedParams) { .shares = UNSET_U64, .period = UNSET_U64 };
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(msg, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                /* libvirt's names for the same parameters. */
                if (streq(key, "cpu_shares"))
                        r = sd_bus_message_read(msg, "v", "t", &ret->shares);
                else if (streq(key, "vcpu_period"))
                        r = sd_bus_message_read(msg, "v", "t", &ret->period);
                else if (streq(key, "vcpu_quota")) {
                        r = sd_bus_message_read(msg, "v", "x", &ret->quota);
                        ret->has_quota = true;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown scheduler parameter '%s'", key);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Scheduler parameter '%s' has the wrong type", key);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(msg);
}

static int check_sched_params(const SchedParams *p, sd_bus_error *error) {
        if (p->shares != UNSET_U64 && (p->shares < 2 || p->shares > 262144))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "cpu_shares %llu out of range 2..262144",
                                         (unsigned long long) p->shares);
        if (p->period != UNSET_U64 && (p->period < 1000 || p->period > 1000000))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "vcpu_period %llu out of range 1000..1000000", (unsigned long long) p->period);
        if (p->has_quota && p->quota > 0 && p->quota < 1000)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "vcpu_quota %lld is below 1000",
                                         (long long) p->quota);
        return 0;
}

static void apply_sched_params(DomainDef *d, const SchedParams *p) {
        if (p->shares != UNSET_U64)
                d->cpu_shares = p->shares;
        if (p->period != UNSET_U64)
                d->cpu_period_us = p->period;
        if (p->has_quota)
                d->cpu_quota_us = p->quota;
}

/* systemd's properties for what P changes; the quota and the period go
 * together, as the definition in effect now has them. */
static int append_sched_props(sd_bus_message *set, const Container *c, const SchedParams *p) {
        int r;

        if (p->shares != UNSET_U64) {
                uint64_t w = p->shares * 100 / 1024;

                r = sd_bus_message_append(set, "(sv)", "CPUWeight", "t", w < 1 ? 1 : w > 10000 ? 10000 : w);
                if (r < 0)
                        return r;
        }
        if (p->has_quota || p->period != UNSET_U64) {
                const DomainDef *d = container_current_def(c);
                uint64_t period = d->cpu_period_us != UNSET_U64 && d->cpu_period_us > 0 ? d->cpu_period_us : 100000;
                uint64_t per_sec = d->cpu_quota_us > 0 ? (uint64_t) d->cpu_quota_us * 1000000 / period : UINT64_MAX;

                r = sd_bus_message_append(set, "(sv)(sv)", "CPUQuotaPerSecUSec", "t", per_sec,
                                          "CPUQuotaPeriodUSec", "t", period);
                if (r < 0)
                        return r;
        }
        return 0;
}

int container_method_set_scheduler(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *set = NULL;
        Container *c = userdata;
        SchedParams p;
        bool live, config;
        int r;

        /* The dictionary comes first in the message: read it, then decide. */
        r = read_sched_params(msg, &p, error);
        if (r < 0)
                return r;
        r = read_affect_authorized(c, msg, &live, &config, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = check_sched_params(&p, error);
        if (r < 0)
                return r;

        if (config)
                apply_sched_params(c->def, &p);
        if (live && c->live)
                apply_sched_params(c->live, &p);
        if (config) {
                r = save_definition(c, error);
                if (r < 0)
                        return r;
        }
        if (!live)
                return sd_bus_reply_method_return(msg, NULL);

        r = new_set_unit_properties(c, &set);
        if (r >= 0)
                r = append_sched_props(set, c, &p);
        if (r >= 0)
                r = sd_bus_message_close_container(set);
        if (r < 0)
                return r;
        return call_and_forward(c->manager, set, msg);
}

/* --- memtune and blkiotune ------------------------------------------------------- */

/* libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, in KiB: "no limit". */
#define MEMORY_PARAM_UNLIMITED UINT64_C(9007199254740991)

static uint64_t effective_max_kib(const DomainDef *d) {
        uint64_t kib = d->memory_kib;

        if (d->hard_limit_kib != UNSET_U64 && d->hard_limit_kib > 0)
                kib = d->hard_limit_kib;
        return kib;
}

static int append_memory_props(sd_bus_message *msg, const DomainDef *d, bool all) {
        uint64_t max = effective_max_kib(d);
        int r;

        if (all) {
                r = sd_bus_message_append(msg, "(sv)", "MemoryMax", "t", max > 0 ? max * 1024 : UINT64_MAX);
                if (r < 0)
                        return r;
        }
        if (all || d->soft_limit_kib != UNSET_U64) {
                r = sd_bus_message_append(msg, "(sv)", "MemoryHigh", "t",
                                          d->soft_limit_kib != UNSET_U64 ? d->soft_limit_kib * 1024 : UINT64_MAX);
                if (r < 0)
                        return r;
        }
        if (all || d->swap_hard_limit_kib != UNSET_U64) {
                /* libvirt's swap_hard_limit is memory plus swap; MemorySwapMax
                 * is the swap alone. */
                uint64_t swap = UINT64_MAX;

                if (d->swap_hard_limit_kib != UNSET_U64)
                        swap = max > 0 && d->swap_hard_limit_kib > max ? (d->swap_hard_limit_kib - max) * 1024
                               : max > 0 ? 0 : UINT64_MAX;
                r = sd_bus_message_append(msg, "(sv)", "MemorySwapMax", "t", swap);
                if (r < 0)
                        return r;
        }
        return 0;
}

int resources_append_memtune(sd_bus_message *msg, const DomainDef *def) {
        return append_memory_props(msg, def, false);
}

static int write_cgroup_attr(const char *dir, const char *file, const char *value) {
        _cleanup_free_ char *fn = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);

        if (asprintf(&fn, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        fd = open(fn, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, len) != (ssize_t) len)
                return -errno;
        return 0;
}

static int write_legacy_limit(const char *dir, const char *file, uint64_t kib) {
        char value[32];

        snprintf(value, sizeof value, "%lld", kib == UNSET_U64 ? -1LL : (long long) (kib * 1024));
        return write_cgroup_attr(dir, file, value);
}

/* cgroup2: the container's cgroup root is payload/, below the scope whose
 * memory.max systemd sets; a program that sizes itself by the memory.max of
 * its own cgroup tree (a JVM, Go's runtime, a systemd inside) would read
 * "max" there. The scope's limit written into payload/ shows it: it restricts
 * nothing the scope does not, and the container cannot write it (the file is
 * host root's and, with nsdelegate, its cgroup namespace root's). The helper
 * copies it at start, before init exists; written here after every change,
 * so a raised limit is raised there too. */
static void mirror_memory_max(Container *c) {
        _cleanup_free_ char *dir = NULL, *payload = NULL;
        uint64_t kib = effective_max_kib(container_current_def(c));
        char value[32] = "max";
        int r;

        if (cgroup_scope_dir(c->helper_pid, "", &dir) < 0 || asprintf(&payload, "%s/payload", dir) < 0)
                return;
        if (kib > 0)
                snprintf(value, sizeof value, "%llu", (unsigned long long) kib * 1024);
        r = write_cgroup_attr(payload, "memory.max", value);
        /* ENOENT: no memory controller below the scope (none at the host's root) */
        if (r < 0 && r != -ENOENT)
                fprintf(stderr, "Failed to show the memory limit in payload/memory.max of container '%s', ignoring: %s\n",
                        c->name, strerror(-r));
}

/* The limits systemd does not write: the v1 half of <memtune> (see the top);
 * on cgroup2 the mirror of memory.max in payload/. */
void resources_apply_legacy(Container *c) {
        _cleanup_free_ char *dir = NULL;
        const DomainDef *d = container_current_def(c);
        int r;

        if (c->helper_pid <= 0)
                return;
        if (cgroup_is_unified()) {
                mirror_memory_max(c);
                return;
        }
        if (cgroup_scope_dir(c->helper_pid, "memory", &dir) < 0)
                return;
        r = write_legacy_limit(dir, "memory.soft_limit_in_bytes", d->soft_limit_kib);
        if (r < 0)
                fprintf(stderr, "Failed to set memory.soft_limit_in_bytes of container '%s', ignoring: %s\n",
                        c->name, strerror(-r));
        r = write_legacy_limit(dir, "memory.memsw.limit_in_bytes", d->swap_hard_limit_kib);
        if (r < 0 && r != -ENOENT)
                fprintf(stderr, "Failed to set memory.memsw.limit_in_bytes of container '%s', ignoring: %s\n",
                        c->name, strerror(-r));
        blkio_apply_legacy(c);
}

static int memtune_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *pc = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                return sd_bus_reply_method_error(pc->call, e);
        if (pc->container->state == CONTAINER_RUNNING)
                resources_apply_legacy(pc->container);
        return sd_bus_reply_method_return(pc->call, NULL);
}

/* Reads "a{sv}" whose values are integers (t, u or x; a negative x is UINT64_MAX) into VALUES by NAMES;
 * a value of the wrong type or an unknown key is InvalidArgs. */
int read_u64_params(sd_bus_message *msg, const char *const *names, size_t n, uint64_t *values, bool *set,
                           sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key, *contents;
                size_t i;

                r = sd_bus_message_enter_container(msg, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; i < n; i++)
                        if (streq(key, names[i]))
                                break;
                if (i == n)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown parameter '%s'", key);
                r = sd_bus_message_peek_type(msg, NULL, &contents);
                if (r < 0)
                        return r;
                if (streq(contents, "t"))
                        r = sd_bus_message_read(msg, "v", "t", &values[i]);
                else if (streq(contents, "u")) {
                        uint32_t u;
                        r = sd_bus_message_read(msg, "v", "u", &u);
                        values[i] = u;
                } else if (streq(contents, "x")) {
                        int64_t x;
                        r = sd_bus_message_read(msg, "v", "x", &x);
                        values[i] = x < 0 ? UINT64_MAX : (uint64_t) x;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Parameter '%s' has the wrong type", key);
                if (r < 0)
                        return r;
                set[i] = true;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(msg);
}

static int check_memtune(const Container *c, const DomainDef *d, sd_bus_error *error) {
        if (d->hard_limit_kib != UNSET_U64 && d->soft_limit_kib != UNSET_U64 && d->soft_limit_kib > d->hard_limit_kib)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "soft_limit (%llu KiB) is larger than hard_limit (%llu KiB)",
                                         (unsigned long long) d->soft_limit_kib,
                                         (unsigned long long) d->hard_limit_kib);
        if (d->hard_limit_kib != UNSET_U64 && d->swap_hard_limit_kib != UNSET_U64 &&
            d->swap_hard_limit_kib < d->hard_limit_kib)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "swap_hard_limit (%llu KiB) is smaller than hard_limit (%llu KiB)",
                                         (unsigned long long) d->swap_hard_limit_kib,
                                         (unsigned long long) d->hard_limit_kib);
        return 0;
}

int container_method_set_memory_parameters(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        static const char *const names[] = { "hard_limit", "soft_limit", "swap_hard_limit" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *set = NULL;
        Container *c = userdata;
        uint64_t values[3] = {};
        bool has[3] = {}, live, config;
        int r;

        r = read_u64_params(msg, names, ELEMENTSOF(names), values, has, error);
        if (r < 0)
                return r;
        r = read_affect_authorized(c, msg, &live, &config, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                if (has[i] && (values[i] >= MEMORY_PARAM_UNLIMITED || values[i] == 0))
                        values[i] = UNSET_U64; /* unlimited */
                else if (has[i] && values[i] > UINT64_MAX / 1024 / 2)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid %s %llu KiB", names[i],
                                                 (unsigned long long) values[i]);

        /* Check both definitions before changing either. */
        for (int pass = 0; pass < 2; pass++) {
                DomainDef *d = pass == 0 ? (config ? c->def : NULL) : (live ? c->live : NULL);
                DomainDef t;

                if (!d)
                        continue;
                t = *d;
                if (has[0])
                        t.hard_limit_kib = values[0];
                if (has[1])
                        t.soft_limit_kib = values[1];
                if (has[2])
                        t.swap_hard_limit_kib = values[2];
                r = check_memtune(c, &t, error);
                if (r < 0)
                        return r;
        }
        for (int pass = 0; pass < 2; pass++) {
                DomainDef *d = pass == 0 ? (config ? c->def : NULL) : (live ? c->live : NULL);

                if (!d)
                        continue;
                if (has[0])
                        d->hard_limit_kib = values[0];
                if (has[1])
                        d->soft_limit_kib = values[1];
                if (has[2])
                        d->swap_hard_limit_kib = values[2];
        }
        if (config) {
                r = save_definition(c, error);
                if (r < 0)
                        return r;
        }
        if (!live || !c->live)
                return sd_bus_reply_method_return(msg, NULL);

        r = new_set_unit_properties(c, &set);
        if (r >= 0)
                r = append_memory_props(set, c->live, true);
        if (r >= 0)
                r = sd_bus_message_close_container(set);
        if (r < 0)
                return r;
        return call_memory_change(c, set, msg);
}

/* Sends a change of the memory limits (SET, to systemd) and answers MSG. On a
 * v1 hybrid the memory+swap limit is lifted first (v1 refuses a memory limit
 * above it) and written again, with the soft limit, once systemd is done. */
static int call_memory_change(Container *c, sd_bus_message *set, sd_bus_message *msg) {
        PendingCall *pc;
        int r;

        if (!cgroup_is_unified()) {
                _cleanup_free_ char *dir = NULL;

                if (cgroup_scope_dir(c->helper_pid, "memory", &dir) >= 0)
                        (void) write_legacy_limit(dir, "memory.memsw.limit_in_bytes", UNSET_U64);
        }

        pc = pending_call_new(msg, c);
        if (!pc)
                return -ENOMEM;
        r = bus_call_async_owned(c->manager->bus, set, memtune_reply, pc, pending_call_free);
        return r < 0 ? r : 1;
}

/* --- GetStats -------------------------------------------------------------------- */

static int append_u64(sd_bus_message *reply, const char *key, uint64_t v) {
        if (v == UINT64_MAX)
                return 0;
        return sd_bus_message_append(reply, "{sv}", key, "t", v);
}

static int append_net_stats(sd_bus_message *reply, const DomainDef *live) {
        uint32_t count = 0;
        int r;

        for (size_t i = 0; live && i < live->n_interfaces; i++) {
                const char *dev = live->interfaces[i].target_dev;
                NetdevStats ns;
                char key[64];

                /* the host-side name comes from the live definition; one not
                 * (yet) named there has nothing to read */
                if (!dev || netdev_stats_read(dev, &ns) < 0)
                        continue;
                snprintf(key, sizeof key, "net.%u.name", count);
                r = sd_bus_message_append(reply, "{sv}", key, "s", dev);
                if (r < 0)
                        return r;
                const struct {
                        const char *suffix;
                        uint64_t v;
                } f[] = {
                        { "rx.bytes", ns.rx_bytes }, { "rx.pkts", ns.rx_packets },
                        { "rx.errs", ns.rx_errs },   { "rx.drop", ns.rx_drop },
                        { "tx.bytes", ns.tx_bytes }, { "tx.pkts", ns.tx_packets },
                        { "tx.errs", ns.tx_errs },   { "tx.drop", ns.tx_drop },
                };
                for (size_t j = 0; j < ELEMENTSOF(f); j++) {
                        snprintf(key, sizeof key, "net.%u.%s", count, f[j].suffix);
                        r = append_u64(reply, key, f[j].v);
                        if (r < 0)
                                return r;
                }
                count++;
        }
        return sd_bus_message_append(reply, "{sv}", "net.count", "u", count);
}

int container_method_get_stats(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Container *c = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}", "state", "s", container_state_to_string(c), "id", "u",
                                  (uint32_t) (c->state == CONTAINER_RUNNING ? c->helper_pid : 0));
        if (r < 0)
                return r;

        if (c->state == CONTAINER_RUNNING && c->helper_pid > 0) {
                CgroupStats s;

                cgroup_stats_read(c->helper_pid, &s);
                const struct {
                        const char *key;
                        uint64_t v;
                } f[] = {
                        { "cpu.time", s.cpu_time_ns },
                        { "cpu.user", s.cpu_user_ns },
                        { "cpu.system", s.cpu_system_ns },
                        { "memory.current", s.memory_current },
                        { "memory.max", s.memory_max },
                        { "memory.rss", s.memory_rss },
                        { "memory.cache", s.memory_cache },
                        { "tasks.current", s.tasks_current },
                        { "tasks.max", s.tasks_max },
                };
                for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                        r = append_u64(reply, f[i].key, f[i].v);
                        if (r < 0)
                                return r;
                }
                r = append_net_stats(reply, c->live);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
