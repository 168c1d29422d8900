/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Resource controls of a container: SetMemory, SetSchedulerParameters (applied
 * to the running scope through systemd's SetUnitProperties, and/or to the
 * persistent definition) and GetStats (the scope's accounting, read from
 * systemd). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "macros.h"
#include "manager.h"

#define SYSTEMD_DEST  "org.freedesktop.systemd1"
#define SYSTEMD_PATH  "/org/freedesktop/systemd1"
#define SYSTEMD_IFACE "org.freedesktop.systemd1.Manager"

/* libvirt's VIR_DOMAIN_AFFECT_*: 0 = the running container if any, else the
 * definition. */
#define AFFECT_LIVE   UINT64_C(1)
#define AFFECT_CONFIG UINT64_C(2)

static int resolve_affect(Container *c, uint64_t flags, bool *ret_live, bool *ret_config, sd_bus_error *error) {
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

static int forward_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        sd_bus_message *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                return sd_bus_reply_method_error(call, e);
        return sd_bus_reply_method_return(call, NULL);
}

static void message_unref_void(void *p) {
        sd_bus_message_unref(p);
}

/* Sends MSG (to systemd) and answers CALL with its outcome. */
static int call_and_forward(Manager *m, sd_bus_message *msg, sd_bus_message *call,
                            sd_bus_message_handler_t handler) {
        sd_bus_slot *slot = NULL;
        int r;

        r = sd_bus_call_async(m->bus, &slot, msg, handler, sd_bus_message_ref(call), 0);
        if (r < 0) {
                sd_bus_message_unref(call);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, message_unref_void);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        return 1;
}

static int new_set_unit_properties(Container *c, sd_bus_message **ret) {
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

static int save_definition(Container *c, sd_bus_error *error) {
        int r = store_save(c->manager, c->def);

        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to save the definition of container '%s': %m",
                                               c->name);
        return 0;
}

int container_method_set_memory(sd_bus_message *msg, Container *c, uint64_t kib, uint64_t flags,
                                sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *set = NULL;
        bool live, config;
        int r;

        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = resolve_affect(c, flags, &live, &config, error);
        if (r < 0)
                return r;
        if (kib == 0 || kib > UINT64_MAX / 1024)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid memory size %llu KiB",
                                         (unsigned long long) kib);

        if (config) {
                uint64_t old = c->def->memory_kib;

                c->def->memory_kib = kib;
                r = save_definition(c, error);
                if (r < 0) {
                        c->def->memory_kib = old;
                        return r;
                }
        }
        if (!live)
                return sd_bus_reply_method_return(msg, NULL);

        if (c->live)
                c->live->memory_kib = kib;
        r = new_set_unit_properties(c, &set);
        if (r >= 0)
                r = sd_bus_message_append(set, "(sv)", "MemoryMax", "t", kib * 1024);
        if (r >= 0)
                r = sd_bus_message_close_container(set);
        if (r < 0)
                return r;
        return call_and_forward(c->manager, set, msg, forward_reply);
}

int container_method_set_scheduler(sd_bus_message *msg, Container *c, uint64_t flags, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *set = NULL;
        uint64_t shares = UNSET_U64, period = UNSET_U64;
        int64_t quota = 0;
        bool has_quota = false, live, config;
        int r;

        /* The dictionary comes first in the message: read it, then decide. */
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
                        r = sd_bus_message_read(msg, "v", "t", &shares);
                else if (streq(key, "vcpu_period"))
                        r = sd_bus_message_read(msg, "v", "t", &period);
                else if (streq(key, "vcpu_quota")) {
                        r = sd_bus_message_read(msg, "v", "x", &quota);
                        has_quota = true;
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
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "t", &flags);
        if (r < 0)
                return r;

        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = resolve_affect(c, flags, &live, &config, error);
        if (r < 0)
                return r;
        if (shares != UNSET_U64 && (shares < 2 || shares > 262144))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "cpu_shares %llu out of range 2..262144",
                                         (unsigned long long) shares);
        if (period != UNSET_U64 && (period < 1000 || period > 1000000))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "vcpu_period %llu out of range 1000..1000000", (unsigned long long) period);
        if (has_quota && quota > 0 && quota < 1000)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "vcpu_quota %lld is below 1000",
                                         (long long) quota);

        for (int pass = 0; pass < 2; pass++) {
                DomainDef *d = pass == 0 ? (config ? c->def : NULL) : (live ? c->live : NULL);

                if (!d)
                        continue;
                if (shares != UNSET_U64)
                        d->cpu_shares = shares;
                if (period != UNSET_U64)
                        d->cpu_period_us = period;
                if (has_quota)
                        d->cpu_quota_us = quota;
        }
        if (config) {
                r = save_definition(c, error);
                if (r < 0)
                        return r;
        }
        if (!live)
                return sd_bus_reply_method_return(msg, NULL);

        r = new_set_unit_properties(c, &set);
        if (r < 0)
                return r;
        if (shares != UNSET_U64) {
                uint64_t w = shares * 100 / 1024;

                r = sd_bus_message_append(set, "(sv)", "CPUWeight", "t", w < 1 ? 1 : w > 10000 ? 10000 : w);
                if (r < 0)
                        return r;
        }
        if (has_quota || period != UNSET_U64) {
                const DomainDef *d = c->live ? c->live : c->def;
                uint64_t p = d->cpu_period_us != UNSET_U64 && d->cpu_period_us > 0 ? d->cpu_period_us : 100000;
                uint64_t per_sec = d->cpu_quota_us > 0 ? (uint64_t) d->cpu_quota_us * 1000000 / p : UINT64_MAX;

                r = sd_bus_message_append(set, "(sv)(sv)", "CPUQuotaPerSecUSec", "t", per_sec,
                                          "CPUQuotaPeriodUSec", "t", p);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(set);
        if (r < 0)
                return r;
        return call_and_forward(c->manager, set, msg, forward_reply);
}

typedef struct StatsCall {
        sd_bus_message *call;
        Container *container;
} StatsCall;

static void stats_call_free(void *p) {
        StatsCall *s = p;

        sd_bus_message_unref(s->call);
        container_unref(s->container);
        free(s);
}

static int append_common_stats(sd_bus_message *reply, Container *c) {
        return sd_bus_message_append(reply, "{sv}{sv}", "state", "s", container_state_to_string(c), "id", "u",
                                     (uint32_t) (c->state == CONTAINER_RUNNING ? c->helper_pid : 0));
}

static int stats_reply(sd_bus_message *props, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        StatsCall *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(props);
        int r;

        if (e)
                return sd_bus_reply_method_error(s->call, e);

        r = sd_bus_message_new_method_return(s->call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_common_stats(reply, s->container);
        if (r >= 0)
                r = sd_bus_message_enter_container(props, 'a', "{sv}");
        while (r >= 0) {
                static const struct {
                        const char *property, *key;
                } map[] = {
                        { "CPUUsageNSec", "cpu.time" },
                        { "MemoryCurrent", "memory.current" },
                        { "TasksCurrent", "tasks.current" },
                        { "TasksMax", "tasks.max" },
                        { "MemoryMax", "memory.max" },
                };
                const char *name, *key = NULL;
                uint64_t v;

                r = sd_bus_message_enter_container(props, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(props, "s", &name);
                if (r < 0)
                        break;
                for (size_t i = 0; i < ELEMENTSOF(map); i++)
                        if (streq(name, map[i].property))
                                key = map[i].key;
                if (key) {
                        r = sd_bus_message_read(props, "v", "t", &v);
                        /* UINT64_MAX: systemd does not know (no accounting). */
                        if (r >= 0 && v != UINT64_MAX)
                                r = sd_bus_message_append(reply, "{sv}", key, "t", v);
                } else
                        r = sd_bus_message_skip(props, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(props);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return sd_bus_reply_method_errnof(s->call, r, "Failed to read the statistics of container '%s': %m",
                                                  s->container->name);
        return sd_bus_send(NULL, reply, NULL);
}

int container_method_get_stats(sd_bus_message *msg, Container *c, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *unit_path = NULL;
        sd_bus_slot *slot = NULL;
        StatsCall *s;
        int r;

        if (c->state != CONTAINER_RUNNING) {
                r = sd_bus_message_new_method_return(msg, &reply);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "{sv}");
                if (r >= 0)
                        r = append_common_stats(reply, c);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
                return sd_bus_send(NULL, reply, NULL);
        }

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", c->unit, &unit_path);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(StatsCall));
        if (!s)
                return -ENOMEM;
        s->call = sd_bus_message_ref(msg);
        s->container = container_ref(c);

        r = sd_bus_call_method_async(c->manager->bus, &slot, SYSTEMD_DEST, unit_path, "org.freedesktop.DBus.Properties",
                                     "GetAll", stats_reply, s, "s", "org.freedesktop.systemd1.Scope");
        if (r < 0) {
                stats_call_free(s);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, stats_call_free);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        return 1;
}
