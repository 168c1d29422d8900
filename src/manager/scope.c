/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The container's scope: StartTransientUnit on systemd's manager, waiting for
 * its job through JobRemoved, StopUnit and KillUnit. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"
#include "macros.h"
#include "manager.h"
#include "trace.h"

/* Used when the XML sets no <vivarium:tasks max=.../>: high enough for any
 * ordinary payload, low enough to stop a fork bomb. */
#define DEFAULT_TASKS_MAX UINT64_C(16384)

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        container_unref(j->container);
        free(j->path);
        free(j);
        return NULL;
}

void manager_free_jobs(Manager *m) {
        while (m->jobs) {
                Job *j = m->jobs;
                m->jobs = j->next;
                job_free(j);
        }
}

/* A start that ended (READY or failure) no longer waits for its jobs: a
 * JobRemoved that never comes must not keep the manager busy forever. */
void manager_forget_jobs(Manager *m, Container *c) {
        Job **p = &m->jobs;

        while (*p) {
                Job *j = *p;

                if (j->container == c) {
                        *p = j->next;
                        job_free(j);
                } else
                        p = &j->next;
        }
}

static int job_add(Manager *m, const char *path, JobKind kind, Container *c) {
        Job *j;

        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        j->path = strdup(path);
        if (!j->path) {
                free(j);
                return -ENOMEM;
        }
        j->kind = kind;
        j->container = container_ref(c);
        j->next = m->jobs;
        m->jobs = j;
        return 0;
}

static int scope_start_call(Container *c);

/* Sends MSG with a reply handler that holds a reference on the container
 * until it ran (or the call was dropped). */
static int call_async_ref(Container *c, sd_bus_message *msg, sd_bus_message_handler_t handler) {
        return bus_call_async_owned(c->manager->bus, msg, handler, container_ref(c), container_unref_void);
}

static int job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        Job **p, *j;
        int r;

        r = sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result);
        if (r < 0) {
                fprintf(stderr, "Failed to parse JobRemoved, ignoring: %s\n", strerror(-r));
                return 0;
        }

        for (p = &m->jobs; *p; p = &(*p)->next)
                if (streq((*p)->path, path))
                        break;
        if (!*p)
                return 0;
        j = *p;
        *p = j->next;

        switch (j->kind) {
        case JOB_SCOPE_START:
                if (streq_ptr(j->container->scope_job, path))
                        container_scope_job_done(j->container, result);
                break;
        case JOB_SCOPE_STOP_RETRY:
                /* The left-over scope is gone (or failed to stop: the retry says). */
                if (j->container->state == CONTAINER_STARTING && j->container->start_phase == START_PHASE_SCOPE) {
                        r = scope_start_call(j->container);
                        if (r < 0)
                                container_scope_failed(j->container, "Failed to create the container's scope");
                }
                break;
        }

        job_free(j);
        return 0;
}

int manager_subscribe_systemd(Manager *m) {
        int r;

        r = sd_bus_match_signal(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "JobRemoved", job_removed, m);
        if (r < 0)
                return r;

        /* Without Subscribe systemd sends JobRemoved to nobody. */
        return sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "Subscribe", NULL,
                                        NULL, NULL);
}

static int stop_retry_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *job;
        int r;

        if (c->state != CONTAINER_STARTING || c->start_phase != START_PHASE_SCOPE)
                return 0;

        if (e) {
                /* Gone meanwhile: just try again. */
                r = scope_start_call(c);
        } else {
                r = sd_bus_message_read(reply, "o", &job);
                if (r >= 0)
                        r = job_add(c->manager, job, JOB_SCOPE_STOP_RETRY, c);
        }
        if (r < 0)
                container_scope_failed(c, "Failed to create the container's scope");
        return 0;
}

static int start_transient_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *job;
        int r;

        if (c->state != CONTAINER_STARTING || c->start_phase != START_PHASE_SCOPE)
                return 0;

        if (e) {
                _cleanup_free_ char *msg = NULL;

                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists") && !c->scope_retried) {
                        /* A scope of an earlier run that systemd has not
                         * collected yet: stop it, then try once more. */
                        c->scope_retried = true;
                        fprintf(stderr, "Scope %s still exists, stopping it first.\n", c->unit);
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *stop = NULL;

                        r = sd_bus_message_new_method_call(c->manager->bus, &stop, SYSTEMD_DEST, SYSTEMD_PATH,
                                                           SYSTEMD_IFACE, "StopUnit");
                        if (r >= 0)
                                r = sd_bus_message_append(stop, "ss", c->unit, "replace");
                        if (r >= 0)
                                r = call_async_ref(c, stop, stop_retry_reply);
                        if (r >= 0)
                                return 0;
                }

                if (asprintf(&msg, "Failed to create scope '%s' for container '%s': %s", c->unit, c->name,
                             e->message ? e->message : e->name) < 0)
                        msg = NULL;
                container_scope_failed(c, msg ? msg : "Failed to create the container's scope");
                return 0;
        }

        trace_point("mgr-scope-reply");
        c->scope_created = true;
        r = sd_bus_message_read(reply, "o", &job);
        if (r >= 0) {
                free(c->scope_job);
                c->scope_job = strdup(job);
                if (!c->scope_job)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = job_add(c->manager, job, JOB_SCOPE_START, c);
        if (r < 0)
                container_scope_failed(c, "Failed to track the job of the container's scope");
        return 0;
}

/* A property whose value is built piece by piece: opens "(sv)" with NAME
 * and a variant of SIGNATURE; property_close() closes both. */
static int property_open(sd_bus_message *msg, const char *name, const char *signature) {
        int r;

        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "s", name);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(msg, 'v', signature);
}

static int property_close(sd_bus_message *msg) {
        int r;

        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(msg);
}

static int append_allowed_cpus(sd_bus_message *msg, const char *cpuset) {
        uint8_t mask[CPUSET_MAX / 8];
        int n, r;

        n = cpuset_parse_mask(cpuset, mask, sizeof mask);
        if (n < 0)
                return n;
        r = property_open(msg, "AllowedCPUs", "ay");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(msg, 'y', mask, (size_t) n);
        if (r < 0)
                return r;
        return property_close(msg);
}

/* The devices the container may open: its own /dev (helper-dev.c), nothing
 * else. Without a user namespace the container's root could otherwise open
 * any host device node it reaches: one in a bind-mounted host directory, in a
 * devtmpfs, or made with mknod. systemd enforces it (a BPF program on
 * cgroup v2, the devices controller on v1) on the scope, and the helper's
 * leaves below it inherit it; nspawn closes its scope the same way. */
static const char *const device_allow[] = {
        "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
        "/dev/tty", "/dev/ptmx",
        "char-pts",     /* the container's devpts instance: console and ptys */
};

/* What the helper opens, in the scope, to mount the image-backed
 * filesystems (helper-image.c): a type='block' device, and for a type='file'
 * image /dev/loop-control and a loop device, or an nbd device for qemu-nbd
 * (which one is known only when the helper takes a free one: all of them,
 * where libvirt's LXC driver allows the one it attached). The container
 * reaches none of them: its
 * /dev has no such node and it may not mknod. */
static int append_image_devices(sd_bus_message *msg, const DomainDef *def) {
        bool loop = false, nbd = false;
        int r = 0;

        ARRAY_FOREACH(fs, def->filesystems, def->n_filesystems) {
                /* systemd takes device paths under /dev only; elsewhere
                 * the helper's start fails on the path, saying why */
                if (fs->type == FILESYSTEM_BLOCK && strncmp(fs->source, "/dev/", 5) == 0)
                        r = sd_bus_message_append(msg, "(ss)", fs->source, fs->readonly ? "r" : "rw");
                else if (fs->type == FILESYSTEM_FILE && fs->driver == FILESYSTEM_DRIVER_LOOP && !loop) {
                        loop = true;
                        r = sd_bus_message_append(msg, "(ss)(ss)", "/dev/loop-control", "rw", "block-loop", "rw");
                } else if (fs->type == FILESYSTEM_FILE && fs->driver == FILESYSTEM_DRIVER_NBD && !nbd) {
                        /* qemu-nbd, in the scope, opens the free nbd device it takes */
                        nbd = true;
                        r = sd_bus_message_append(msg, "(ss)", "block-nbd", "rw");
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int append_device_policy(sd_bus_message *msg, const DomainDef *def) {
        int r;

        r = sd_bus_message_append(msg, "(sv)", "DevicePolicy", "s", "closed");
        if (r < 0)
                return r;
        r = property_open(msg, "DeviceAllow", "a(ss)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(device_allow); i++) {
                r = sd_bus_message_append(msg, "(ss)", device_allow[i], "rwm");
                if (r < 0)
                        return r;
        }
        /* A tun/tap interface lands in the opener's network namespace: only
         * a container with its own may have one. The helper makes the node
         * for a whole OS (helper-os.c); another container has none unless
         * it is given CAP_MKNOD or a host directory holding one. */
        if (domain_def_has_privnet(def)) {
                r = sd_bus_message_append(msg, "(ss)", "/dev/net/tun", "rwm");
                if (r < 0)
                        return r;
        }
        r = append_image_devices(msg, def);
        if (r < 0)
                return r;
        /* and the nodes the definition names: <hostdev>, <disk> */
        r = devices_append_policy(msg, def);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        return property_close(msg);
}

/* A running scope's device policy replaced by def's whole list (an empty
 * DeviceAllow= first resets it): live attach and detach of devices. Called
 * synchronously: systemd answers at once, and the caller goes on with the
 * node only once the policy allows it. */
int scope_set_device_policy(Container *c, const DomainDef *def, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->manager->bus, &msg, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE,
                                           "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(msg, "sb", c->unit, 1);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(msg, "(sv)", "DeviceAllow", "a(ss)", 0);
        if (r >= 0)
                r = append_device_policy(msg, def);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to build the device policy of container '%s': %m", c->name);
        return sd_bus_call(c->manager->bus, msg, 30 * 1000000ULL, error, NULL);
}

static int append_limits(sd_bus_message *msg, const DomainDef *def) {
        uint64_t tasks = def->tasks_max != UNSET_U64 ? def->tasks_max : DEFAULT_TASKS_MAX;
        uint64_t mem_kib = 0;
        int r;

        /* <memtune><hard_limit> when set, else <memory> (libvirt writes both
         * to the same limit, the hard limit last). */
        if (def->memory_kib > 0)
                mem_kib = def->memory_kib;
        if (def->hard_limit_kib != UNSET_U64 && def->hard_limit_kib > 0)
                mem_kib = def->hard_limit_kib;
        if (mem_kib > 0) {
                r = sd_bus_message_append(msg, "(sv)", "MemoryMax", "t", mem_kib * 1024);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_append(msg, "(sv)", "TasksMax", "t", tasks);
        if (r < 0)
                return r;

        if (def->cpu_shares != UNSET_U64) {
                /* libvirt's shares: 1024 is the default, as weight 100 is systemd's. */
                uint64_t w = def->cpu_shares * 100 / 1024;

                if (w < 1)
                        w = 1;
                if (w > 10000)
                        w = 10000;
                r = sd_bus_message_append(msg, "(sv)", "CPUWeight", "t", w);
                if (r < 0)
                        return r;
        }

        if (def->cpu_quota_us > 0) {
                uint64_t period = def->cpu_period_us != UNSET_U64 && def->cpu_period_us > 0 ? def->cpu_period_us
                                                                                             : 100000;

                r = sd_bus_message_append(msg, "(sv)", "CPUQuotaPerSecUSec", "t",
                                          (uint64_t) def->cpu_quota_us * 1000000 / period);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(msg, "(sv)", "CPUQuotaPeriodUSec", "t", period);
                if (r < 0)
                        return r;
        }

        if (def->cpuset) {
                /* Effective where the cpuset controller is on cgroup v2. */
                r = append_allowed_cpus(msg, def->cpuset);
                if (r < 0)
                        return r;
        }

        r = resources_append_memtune(msg, def);
        if (r < 0)
                return r;
        return resources_append_blkio(msg, def);
}

int transient_unit_message_new(sd_bus *bus, const char *unit, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &msg, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE,
                                           "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "ss", unit, "fail");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 0;
}

int transient_unit_message_close(sd_bus_message *msg) {
        int r;

        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        return sd_bus_message_append(msg, "a(sa(sv))", 0);
}

static int scope_start_call(Container *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_free_ char *description = NULL;
        int r;

        if (asprintf(&description, "Vivarium container %s", c->name) < 0)
                return -ENOMEM;

        r = transient_unit_message_new(c->manager->bus, c->unit, &msg);
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "MemoryAccounting", "b", 1,
                                  "TasksAccounting", "b", 1,
                                  "CPUAccounting", "b", 1,
                                  "Description", "s", description,
                                  "Slice", "s", "machine.slice",
                                  "Delegate", "b", 1,
                                  "CollectMode", "s", "inactive-or-failed",
                                  "PIDs", "au", 1, (uint32_t) c->helper_pid);
        if (r < 0)
                return r;
        r = append_device_policy(msg, container_current_def(c));
        if (r < 0)
                return r;
        r = append_limits(msg, container_current_def(c));
        if (r < 0)
                return r;
        r = transient_unit_message_close(msg);
        if (r < 0)
                return r;

        return call_async_ref(c, msg, start_transient_reply);
}

int scope_start(Container *c) {
        return scope_start_call(c);
}

static int ignore_no_unit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit") &&
            !sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.UnknownObject"))
                fprintf(stderr, "%s failed, ignoring: %s\n", (const char *) userdata, e->message ? e->message : e->name);
        return 0;
}

int scope_stop(Manager *m, const char *unit) {
        int r;

        r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "StopUnit",
                                     ignore_no_unit_reply, (void *) "StopUnit", "ss", unit, "replace");
        if (r < 0)
                fprintf(stderr, "Failed to stop scope %s, ignoring: %s\n", unit, strerror(-r));
        return r;
}

int scope_kill(Manager *m, const char *unit, int sig) {
        int r;

        r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "KillUnit",
                                     ignore_no_unit_reply, (void *) "KillUnit", "ssi", unit, "all", (int32_t) sig);
        if (r < 0)
                fprintf(stderr, "Failed to kill scope %s, ignoring: %s\n", unit, strerror(-r));
        return r;
}
