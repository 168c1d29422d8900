/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Container model: identity, definitions, state, and the state machine of
 * a start (spawn → scope job → GO → READY/ERROR) and of a stop (the helper's
 * pidfd becomes readable). */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include "bus-names.h"
#include "cgroup-v1.h"
#include "domain-xml.h"
#include "fileio.h"
#include "iface-facts.h"
#include "macros.h"
#include "userns-range.h"
#include "manager.h"
#include "network.h"
#include "unit-name.h"
#include "trace.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* How long a helper gets to go away by itself (after ERROR or Destroy)
 * before it and its scope are killed. */
#define HELPER_KILL_TIMEOUT_USEC (5 * 1000000ULL)
/* ... when qemu-nbd serves one of its images: the helper then waits for the
 * image's filesystem to go, disconnects the device and waits for the server
 * to close the image (helper-nbd.c, each wait bounded there). Killing the
 * scope before that kills the server under a filesystem still being written
 * back, and what the container wrote is lost. */
#define HELPER_KILL_TIMEOUT_NBD_USEC (120 * 1000000ULL)

/* The whole start: scope job, namespaces, mounts, network, init's exec. */
#define START_TIMEOUT_USEC (90 * 1000000ULL)

int container_new(Manager *m, DomainDef *def, bool persistent, Container **ret) {
        _cleanup_(container_unrefp) Container *c = NULL;
        int r;

        c = calloc(1, sizeof(Container));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->manager = m;
        c->pidfd = -EBADF;
        c->handshake_fd = -EBADF;
        c->nbd_release_pidfd = -EBADF;

        c->name = strdup(def->name);
        if (!c->name)
                return -ENOMEM;
        r = sd_bus_path_encode(VIV_CONTAINER_PREFIX, def->name, &c->path);
        if (r < 0)
                return r;
        r = unit_name_machine_scope(def->name, &c->unit);
        if (r < 0)
                return r;
        memcpy(c->uuid, def->uuid, 16);
        c->persistent = persistent;
        c->def = def; /* owned from here on success */

        /* a restarted manager's: how the container got to its state */
        state_reason_load(c);

        /* The list holds it: our reference goes when we return. */
        manager_link_container(m, c);
        *ret = c;
        return 0;
}

static void container_free(Container *c) {
        sd_event_source_disable_unref(c->pidfd_source);
        sd_event_source_disable_unref(c->handshake_source);
        sd_event_source_disable_unref(c->kill_timer);
        sd_event_source_disable_unref(c->start_timer);
        sd_event_source_disable_unref(c->adopt_timer);
        sd_event_source_disable_unref(c->helper_idle);
        nbd_release_forget(c);
        safe_close(c->pidfd);
        safe_close(c->handshake_fd);
        machine_forget(c);
        helper_disconnect(c);
        sd_bus_message_unref(c->start_msg);
        sd_bus_message_unref(c->reboot_msg);
        for (size_t i = 0; i < c->n_stop_waiters; i++)
                sd_bus_message_unref(c->stop_waiters[i]);
        free(c->stop_waiters);
        domain_def_free(c->def);
        domain_def_free(c->live);
        devices_release_images(c);
        free(c->name);
        free(c->path);
        free(c->unit);
        free(c->start_error);
        free(c->scope_job);
        free(c->exit_detail);
        free(c);
}

Container *container_ref(Container *c) {
        if (c)
                c->n_ref++;
        return c;
}

Container *container_unref(Container *c) {
        if (c && --c->n_ref == 0)
                container_free(c);
        return NULL;
}

void container_unrefp(Container **c) {
        container_unref(*c);
}

void container_unref_void(void *c) {
        container_unref(c);
}

const char *container_state_to_string(const Container *c) {
        /* A starting container is not running yet, as in virsh. */
        if (c->state == CONTAINER_RUNNING || c->state == CONTAINER_STOPPING)
                return c->paused ? VIV_STATE_PAUSED : VIV_STATE_RUNNING;
        return VIV_STATE_SHUTOFF;
}

bool container_is_active(const Container *c) {
        return c->state != CONTAINER_SHUTOFF;
}

/* A start (asked for or a lifecycle restart), a Destroy or Reboot waiting
 * for the helper's end, or an end waiting for machined or for the release
 * of its nbd devices: each finishes in
 * this process only, bounded by its own timer (the start's, the kill timer,
 * the bus call's). A manager that exits meanwhile leaves its caller with
 * "recipient disconnected" and the helper's end unhandled (manager.c). */
bool container_has_call_in_flight(const Container *c) {
        return c->state == CONTAINER_STARTING || c->n_stop_waiters > 0 || c->reboot_msg || c->helper_end_waits ||
               c->nbd_release_waits;
}

int container_live_xml_path(const Container *c, char **ret) {
        return asprintf(ret, "%s/%s.xml", c->manager->run_dir, c->name) < 0 ? -ENOMEM : 0;
}

int container_config_path(Manager *m, const char *name, char **ret) {
        return asprintf(ret, "%s/%s.xml", m->etc_dir, name) < 0 ? -ENOMEM : 0;
}

int container_write_live_xml(Container *c, pid_t id) {
        _cleanup_free_ char *path = NULL, *xml = NULL;
        int r;

        r = container_live_xml_path(c, &path);
        if (r < 0)
                return r;
        xml = domain_def_format(c->live, id);
        if (!xml)
                return -ENOMEM;
        return write_file_atomic(path, xml, 0600);
}

/* Everything under the run directory that belongs to one run of the
 * container: NAME.xml is the manager's, NAME.sock, NAME.ifaces, NAME.seccomp
 * and NAME.exit the helper's (docs/internals.md). A helper removes its own
 * when it ends, but not when it is killed: called whenever the manager sees
 * the helper gone, so nothing of a dead run outlives it. */
const char *const container_run_file_suffixes[N_CONTAINER_RUN_FILES] = { "xml", "sock", "ifaces", "seccomp", "exit" };

static void container_remove_run_files(Container *c) {
        FOREACH_ARRAY(suffix, container_run_file_suffixes, N_CONTAINER_RUN_FILES) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s.%s", c->manager->run_dir, c->name, *suffix) < 0)
                        return;
                if (unlink(path) < 0 && errno != ENOENT)
                        fprintf(stderr, "Failed to remove %s, ignoring: %m\n", path);
        }
}

/* NAME.exit, written by the helper when init ended: "DETAIL CODE". */
static void container_read_exit_file(Container *c) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        char detail[32];
        int code;

        if (asprintf(&path, "%s/%s.exit", c->manager->run_dir, c->name) < 0)
                return;
        if (read_full_file(path, &text, NULL) < 0)
                return;
        if (sscanf(text, "%31s %d", detail, &code) != 2)
                return;
        free(c->exit_detail);
        c->exit_detail = strdup(detail);
        c->exit_code = code;
        c->got_exited = !!c->exit_detail;
}

/* A transient container exists only while it runs. */
void container_drop_if_unused(Container *c) {
        if (c->persistent || container_is_active(c) || !c->linked)
                return;
        (void) manager_emit_container_removed(c->manager, c);
        state_reason_forget(c);
        manager_unlink_container(c->manager, c);
}

static void container_reply_stop_waiters(Container *c) {
        for (size_t i = 0; i < c->n_stop_waiters; i++) {
                (void) sd_bus_reply_method_return(c->stop_waiters[i], NULL);
                sd_bus_message_unref(c->stop_waiters[i]);
        }
        c->stop_waiters = mfree(c->stop_waiters);
        c->n_stop_waiters = 0;
}

static void container_reset_runtime(Container *c) {
        /* A helper that sent Exited removed its filter itself. */
        if (!c->got_exited)
                nft_remove_guard(c->manager, c->live);
        ports_remove(c->manager, c->live);
        networks_release_container(c->manager, c->name);
        devices_release_images(c);
        c->pidfd_source = sd_event_source_disable_unref(c->pidfd_source);
        c->handshake_source = sd_event_source_disable_unref(c->handshake_source);
        c->kill_timer = sd_event_source_disable_unref(c->kill_timer);
        c->start_timer = sd_event_source_disable_unref(c->start_timer);
        adopt_forget(c);
        c->helper_idle = sd_event_source_disable_unref(c->helper_idle);
        c->pidfd = safe_close(c->pidfd);
        c->handshake_fd = safe_close(c->handshake_fd);
        machine_forget(c);
        helper_disconnect(c);
        c->helper_pid = 0;
        c->leader_pid = 0;
        c->helper_is_child = false;
        c->start_phase = START_PHASE_NONE;
        c->scope_retried = false;
        c->scope_created = false;
        c->destroy_requested = false;
        c->adopt_register = false;
        c->paused = false;
        c->got_exited = false;
        c->exit_code = 0;
        c->exit_detail = mfree(c->exit_detail);
        c->start_error = mfree(c->start_error);
        c->scope_job = mfree(c->scope_job);
        manager_forget_jobs(c->manager, c);
        c->live = domain_def_free(c->live);
        c->state = CONTAINER_SHUTOFF;
}

static void container_kill_helper(Container *c, int sig) {
        if (c->pidfd < 0)
                return;
        if (pidfd_send_signal(c->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
                fprintf(stderr, "Failed to send signal %d to the helper of container '%s': %m\n", sig, c->name);
}

static int kill_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;

        fprintf(stderr, "Helper of container '%s' did not exit in time, killing it and scope %s.\n", c->name, c->unit);
        (void) scope_kill(c->manager, c->unit, SIGKILL);
        container_kill_helper(c, SIGKILL);
        return 0;
}

static void container_arm_kill_timer(Container *c) {
        int r;

        if (c->kill_timer)
                return;
        r = sd_event_add_time_relative(c->manager->event, &c->kill_timer, CLOCK_MONOTONIC,
                                       container_serves_nbd(c) ? HELPER_KILL_TIMEOUT_NBD_USEC : HELPER_KILL_TIMEOUT_USEC,
                                       0, kill_timer_cb, c);
        if (r < 0) {
                fprintf(stderr, "Failed to arm the kill timer of container '%s', killing now: %s\n", c->name,
                        strerror(-r));
                container_kill_helper(c, SIGKILL);
        }
}

/* The start failed: make sure the helper goes away; the answer to Start
 * is sent when its pidfd says it is gone (container_finish_start_failure). */
static void container_fail_start(Container *c, const char *message, bool kill_now) {
        if (!c->start_error && message)
                c->start_error = strdup(message);
        c->start_phase = START_PHASE_FAILING;
        c->handshake_source = sd_event_source_disable_unref(c->handshake_source);
        if (kill_now)
                container_kill_helper(c, SIGKILL);
        container_arm_kill_timer(c);
}

void container_scope_failed(Container *c, const char *message) {
        if (c->state != CONTAINER_STARTING)
                return;
        container_fail_start(c, message, true);
}

void container_scope_job_done(Container *c, const char *result) {
        _cleanup_free_ char *msg = NULL;
        int r;

        if (c->state != CONTAINER_STARTING || c->start_phase != START_PHASE_SCOPE)
                return;

        if (!streq(result, "done")) {
                if (asprintf(&msg, "Failed to create scope '%s' for container '%s': job result '%s'",
                             c->unit, c->name, result) < 0)
                        msg = NULL;
                container_scope_failed(c, msg ? msg : "Failed to create the container's scope");
                return;
        }

        trace_point("mgr-job-removed");
        /* The helper now lives in the scope: from here on the manager's own
         * end (stop, restart, kill -9) cannot take it down. */
        c->start_phase = START_PHASE_HANDSHAKE;
        /* libvirt's second hook: resources ready, the container not started */
        r = hook_run_container(c, NULL, "start", "begin", NULL, &msg);
        if (r < 0) {
                _cleanup_free_ char *full = NULL;

                if (asprintf(&full, "Failed to start container '%s': %s", c->name,
                             msg ? msg : strerror(-r)) < 0)
                        full = NULL;
                container_fail_start(c, full ? full : "A hook script refused the start", true);
                return;
        }
        /* before init runs: the v1 limits systemd does not set */
        resources_apply_legacy(c);
        r = helper_send_go(c);
        trace_point("mgr-go-sent");
        if (r < 0) {
                fprintf(stderr, "Failed to release the helper of container '%s': %s\n", c->name, strerror(-r));
                container_fail_start(c, NULL, true);
        }
}

void container_helper_error(Container *c, const char *message) {
        if (c->state != CONTAINER_STARTING)
                return;
        /* It undoes its work and exits by itself; the timer is the backstop. */
        container_fail_start(c, message, false);
}

/* INIT <pid>: init is in its cgroups and builds its mounts; machined can
 * take the machine now, while the helper goes on (machine.c). */
void container_helper_init(Container *c, pid_t leader) {
        if (c->state != CONTAINER_STARTING || c->start_phase != START_PHASE_HANDSHAKE || leader <= 0)
                return;
        c->leader_pid = leader;
        (void) machine_register_async(c, leader);
}

void container_helper_ready(Container *c, pid_t leader) {
        if (c->state != CONTAINER_STARTING || c->start_phase != START_PHASE_HANDSHAKE)
                return;
        trace_point("mgr-ready");

        c->handshake_source = sd_event_source_disable_unref(c->handshake_source);
        c->handshake_fd = safe_close(c->handshake_fd);
        /* a helper that sent no INIT: registered now */
        if (c->leader_pid <= 0)
                (void) machine_register_async(c, leader);
        c->leader_pid = leader;
        if (c->machine_slot) {
                /* answered when machined has it: a running container is listed by machinectl */
                c->start_phase = START_PHASE_REGISTER;
                return;
        }
        container_now_running(c);
}

/* READY, and machined answered (or is not there): the container runs. */
void container_now_running(Container *c) {
        int r;

        c->start_timer = sd_event_source_disable_unref(c->start_timer);
        c->start_phase = START_PHASE_NONE;
        c->scope_job = mfree(c->scope_job);
        manager_forget_jobs(c->manager, c);
        c->state = CONTAINER_RUNNING;
        /* the helper holds the disk images' loop devices now */
        devices_release_images(c);

        /* the host-side device names the helper chose (docs/internals.md) */
        if (c->live && c->live->n_interfaces > 0) {
                _cleanup_free_ char *ifaces = NULL;

                if (asprintf(&ifaces, "%s/%s.ifaces", c->manager->run_dir, c->name) < 0)
                        ifaces = NULL;
                r = ifaces ? iface_facts_merge(c->live, ifaces) : -ENOMEM;
                if (r < 0)
                        fprintf(stderr, "Failed to read the interfaces of container '%s', ignoring: %s\n",
                                c->name, strerror(-r));
        }

        r = container_write_live_xml(c, c->helper_pid);
        if (r < 0)
                fprintf(stderr, "Failed to update the live XML of container '%s', ignoring: %s\n", c->name,
                        strerror(-r));

        hook_run_logged(c, "started", "begin", NULL);

        if (c->start_msg) {
                if (c->start_is_create)
                        (void) sd_bus_reply_method_return(c->start_msg, "o", c->path);
                else
                        (void) sd_bus_reply_method_return(c->start_msg, NULL);
                c->start_msg = sd_bus_message_unref(c->start_msg);
                trace_point("mgr-start-replied");
        }

        fprintf(stderr, "Container '%s' started: helper %d, init %d, scope %s.\n", c->name, (int) c->helper_pid,
                (int) c->leader_pid, c->unit);
        container_set_state_reason(c, "booted");
        (void) container_emit_changed(c, "State", "StateReason", "Id", "LeaderPID", NULL);
        (void) manager_emit_container_event(c->manager, c, "started", "booted");
        /* No connection to the helper until a call needs one (helper-client.c). */
}

static uint64_t usec_notify(const Container *c) {
        return c->live ? c->live->notify_timeout_sec * 1000000ULL : 0;
}

static int start_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;
        _cleanup_free_ char *msg = NULL;

        if (c->state != CONTAINER_STARTING || c->start_phase == START_PHASE_FAILING)
                return 0;
        if (asprintf(&msg, "Timed out starting container '%s' after %llu s", c->name,
                     (START_TIMEOUT_USEC + usec_notify(c)) / 1000000ULL) < 0)
                msg = NULL;
        if (c->scope_created)
                (void) scope_kill(c->manager, c->unit, SIGKILL);
        container_fail_start(c, msg ? msg : "Timed out starting the container", true);
        return 0;
}

int container_arm_start_timer(Container *c) {
        /* <vivarium:notify>: the helper waits that long for READY=1 and
         * fails the start itself; ours is the bound if the helper hangs */
        return sd_event_add_time_relative(c->manager->event, &c->start_timer, CLOCK_MONOTONIC,
                                          START_TIMEOUT_USEC + usec_notify(c), 0, start_timer_cb, c);
}

/* The cpuset v1 cgroup of <vcpu cpuset> (cgroup-v1.h): the helper removes
 * it when init ends; after a helper that was killed, nobody else would. */
static void container_remove_cpuset_v1(Container *c) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!c->unit || cpuset_v1_path(c->unit, &path) < 0)
                return;
        r = cgroup_rmdir_retry(path);
        if (r < 0)
                fprintf(stderr, "Failed to remove cgroup '%s' of container '%s', ignoring: %s\n",
                        path, c->name, strerror(-r));
}

static void container_finish_start_failure(Container *c) {
        _cleanup_free_ char *msg = NULL;
        /* StartTransientUnit still unanswered counts too: a helper that died
         * at once left systemd creating its scope, which nothing would stop
         * (on cgroup v1, an empty scope stays active); our StopUnit follows
         * it on the same connection, so systemd sees it after the start. */
        bool scope = c->scope_created || c->start_phase == START_PHASE_SCOPE;

        if (c->start_error)
                msg = strdup(c->start_error);
        else if (asprintf(&msg, "Helper for container '%s' exited unexpectedly", c->name) < 0)
                msg = NULL;

        if (c->start_msg) {
                (void) sd_bus_reply_method_errorf(c->start_msg, VIV_ERROR_START_FAILED, "%s",
                                                  msg ? msg : "Failed to start the container");
                c->start_msg = sd_bus_message_unref(c->start_msg);
        }
        fprintf(stderr, "Failed to start container '%s': %s\n", c->name, strna(msg));

        /* the prepare hook ran: its counterparts run as after a stop */
        hook_run_logged(c, "stopped", "end", NULL);
        devices_reclaim(c, c->live);
        container_remove_run_files(c);
        container_reset_runtime(c);
        /* Whatever the helper left in the scope goes with it. */
        if (scope)
                (void) scope_stop(c->manager, c->unit);
        container_remove_cpuset_v1(c);
        hook_run_logged(c, "release", "end", "failed");
        container_set_state_reason(c, "failed");
        (void) container_emit_changed(c, "StateReason", NULL);
        container_reply_stop_waiters(c);
        container_drop_if_unused(c);
}

static void container_exit_status(Container *c, const siginfo_t *si, bool have_status, const char **ret_detail,
                                  int *ret_code) {
        if (c->got_exited && c->exit_detail) {
                *ret_detail = c->exit_detail;
                *ret_code = c->exit_code;
                return;
        }
        if (have_status) {
                if (si->si_code == CLD_EXITED) {
                        *ret_code = si->si_status;
                        *ret_detail = c->destroy_requested ? "destroyed" : si->si_status == 0 ? "shutdown" : "failed";
                } else {
                        *ret_code = 128 + si->si_status;
                        *ret_detail = c->destroy_requested ? "destroyed" : "crashed";
                }
                return;
        }
        *ret_code = 0;
        *ret_detail = c->destroy_requested ? "destroyed" : "shutdown";
}

/* What <on_poweroff>, <on_reboot> or <on_crash> of the live definition says
 * for an end that nobody asked for. reboot() in the container kills its init
 * with SIGHUP (exit code 129), a halt or power-off with SIGINT (130); a
 * "crashed" detail is init killed by another signal (the OOM killer's SIGKILL
 * among them). "preserve" cannot keep a dead PID namespace around: it acts as
 * destroy. */
static LifecycleAction container_exit_action(const Container *c, const char *detail, int code) {
        const DomainDef *d = container_current_def(c);
        LifecycleAction a;

        if (!d || c->destroy_requested || c->reboot_msg || streq_ptr(detail, "destroyed"))
                return LIFECYCLE_DESTROY;
        if (code == 129)
                a = d->on_reboot;
        else if (streq_ptr(detail, "crashed"))
                a = d->on_crash;
        else
                a = d->on_poweroff;
        if (a == LIFECYCLE_PRESERVE) {
                fprintf(stderr, "Container '%s': 'preserve' keeps nothing of a container, destroying it.\n", c->name);
                a = LIFECYCLE_DESTROY;
        }
        return a;
}

/* systemd's default start limit for a unit, for the restarts the lifecycle
 * actions make: an init that ends at once would otherwise be started again
 * for ever (a few tens of ms each). Logs and returns true when this restart
 * is one too many. */
#define RESTART_LIMIT_BURST 5
#define RESTART_LIMIT_INTERVAL_USEC (10ULL * 1000 * 1000)

static bool container_restart_limited(Container *c) {
        uint64_t now = 0;

        (void) sd_event_now(c->manager->event, CLOCK_MONOTONIC, &now);
        if (c->restarts_in_window == 0 || now - c->restart_window_usec > RESTART_LIMIT_INTERVAL_USEC) {
                c->restart_window_usec = now;
                c->restarts_in_window = 0;
        }
        if (c->restarts_in_window >= RESTART_LIMIT_BURST) {
                fprintf(stderr, "Container '%s' was restarted %u times within %llu s: not restarting it again.\n",
                        c->name, c->restarts_in_window, RESTART_LIMIT_INTERVAL_USEC / 1000000);
                c->restarts_in_window = 0;
                return true;
        }
        c->restarts_in_window++;
        return false;
}

static void nbd_released(Container *c) {
        c->nbd_release_waits = false;
        container_helper_end_continue(c);
}

static void container_on_helper_exit(Container *c) {
        siginfo_t si = {};

        trace_point("mgr-helper-gone");
        /* At once, before the waits below: no start in between may fork
         * from the server whose layout a crashed helper shared. Its status
         * stays for container_helper_gone() to reap (WNOWAIT). */
        if (c->helper_is_child && waitid(P_PIDFD, (id_t) c->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) >= 0 &&
            si.si_pid != 0)
                helper_server_note_helper_end(c->manager, c->name, &si);
        /* The helper sends Exited just before it exits: read what its
         * connection still holds before deciding why it ended. */
        while (c->helper_bus && sd_bus_process(c->helper_bus, NULL) > 0)
                ;
        /* the rest once machined has let the machine go (machine.c) and
         * what qemu-nbd served is released (nbd-release.c): both before the
         * scope is stopped */
        if (machine_unregister(c) > 0)
                c->helper_end_waits = true;
        if (nbd_release_begin(c, nbd_released) > 0)
                c->nbd_release_waits = true;
        if (c->helper_end_waits || c->nbd_release_waits) {
                (void) sd_event_source_set_enabled(c->pidfd_source, SD_EVENT_OFF);
                return;
        }
        container_helper_gone(c);
}

/* One of the waits after a helper's end is over (machine.c, nbd-release.c):
 * the end is handled once none is left. */
void container_helper_end_continue(Container *c) {
        if (!c->helper_end_waits && !c->nbd_release_waits)
                container_helper_gone(c);
}

/* The helper has ended and machined no longer has the machine: a failed
 * start is answered, a stop recorded, a reboot or a lifecycle restart
 * started again. */
void container_helper_gone(Container *c) {
        _cleanup_(container_unrefp) _unused_ Container *ref = container_ref(c);
        _cleanup_free_ char *detail = NULL;
        LifecycleAction action;
        siginfo_t si = {};
        bool have_status = false;
        const char *d;
        int code;

        if (c->helper_is_child) {
                if (waitid(P_PIDFD, (id_t) c->pidfd, &si, WEXITED | WNOHANG) >= 0 && si.si_pid != 0)
                        have_status = true;
                else if (waitid(P_PID, (id_t) c->helper_pid, &si, WEXITED | WNOHANG) >= 0 && si.si_pid != 0)
                        have_status = true;
        }
        if (!c->got_exited)
                container_read_exit_file(c);

        if (c->state == CONTAINER_STARTING) {
                container_finish_start_failure(c);
                return;
        }

        container_exit_status(c, &si, have_status, &d, &code);
        detail = strdup(d);
        if (!detail)
                detail = NULL;

        fprintf(stderr, "Container '%s' stopped: %s, exit code %d.\n", c->name, strna(detail), code);
        action = container_exit_action(c, detail, code);

        hook_run_logged(c, "stopped", "end", NULL);
        bandwidth_cleanup(c);
        devices_reclaim(c, c->live);
        container_remove_run_files(c);
        container_reset_runtime(c);
        /* Normally already empty and collected; this catches what a crashed
         * helper left behind. */
        (void) scope_stop(c->manager, c->unit);
        container_remove_cpuset_v1(c);
        /* libvirt's shutoff reasons are the stop details */
        hook_run_logged(c, "release", "end", detail ? detail : "shutdown");

        container_set_state_reason(c, detail ? detail : "shutdown");
        (void) container_emit_changed(c, "State", "StateReason", "Id", "LeaderPID", NULL);
        (void) manager_emit_container_event(c->manager, c, "stopped", detail ? detail : "shutdown");
        container_reply_stop_waiters(c);

        if (c->reboot_msg) {
                /* A reboot: the same container again, answered once it runs.
                 * No ContainerExited: it did not end for its watchers. */
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = TAKE_PTR(c->reboot_msg);
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (container_start(c, msg, false, &error) >= 0)
                        return;
                (void) sd_bus_reply_method_error(msg, &error);
        } else if ((action == LIFECYCLE_RESTART || action == LIFECYCLE_RENAME_RESTART) &&
                   !container_restart_limited(c)) {
                /* <on_poweroff>/<on_reboot>/<on_crash> say restart: as a
                 * Reboot, no ContainerExited (vivarium@.service stays up). */
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                fprintf(stderr, "Restarting container '%s' as its lifecycle action says.\n", c->name);
                if (container_start(c, NULL, false, &error) >= 0)
                        return;
                fprintf(stderr, "Failed to restart container '%s': %s\n", c->name,
                        error.message ? error.message : error.name);
                (void) manager_emit_container_exited(c->manager, c, detail ? detail : "shutdown", code);
        } else
                (void) manager_emit_container_exited(c->manager, c, detail ? detail : "shutdown", code);
        container_drop_if_unused(c);
}

int container_pidfd_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        container_on_helper_exit(userdata);
        return 0;
}

int container_start(Container *c, sd_bus_message *msg, bool is_create, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *live = NULL;
        int r;

        /* container_start_as() answers AlreadyRunning */
        r = domain_def_copy(c->def, &live);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to prepare the live definition of container '%s': %m",
                                               c->name);
        trace_point("mgr-copied");
        return container_start_as(c, msg, is_create, TAKE_PTR(live), error);
}

static bool range_overlaps_running(uint32_t base, void *userdata) {
        Manager *m = userdata;

        for (Container *o = m->containers; o; o = o->next) {
                if (!o->live)
                        continue;
                ARRAY_FOREACH(map, o->live->uid_map, o->live->n_uid_map)
                        if ((uint64_t) map->target < (uint64_t) base + USERNS_RANGE_SIZE &&
                            (uint64_t) base < (uint64_t) map->target + map->count)
                                return true;
        }
        return false;
}

/* A private ID range for a container without <idmap>: its own candidate when
 * free, else the next free one. Free means no running container of ours maps
 * it and nobody holds its lock (a foreground helper); the helper takes the
 * lock again itself and holds it while the container runs. */
static int pick_userns_range(Container *c, DomainDef *live, sd_bus_error *error) {
        _cleanup_close_ int lock = -EBADF;
        uint32_t base;
        int r;

        r = userns_range_pick(USERNS_RANGE_LOCK_DIR, live->uuid, range_overlaps_running, c->manager, &base, &lock);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED, "No free ID range left for container '%s'",
                                         c->name);
        if (r >= 0)
                r = domain_def_set_picked_range(live, base);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to pick an ID range for container '%s': %m", c->name);
        return 0;
}

int container_start_as(Container *c, sd_bus_message *msg, bool is_create, DomainDef *def, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *live = def;
        _cleanup_free_ char *hook_error = NULL;
        _cleanup_close_ int model_fd = -EBADF;
        int r;

        if (container_is_active(c))
                return sd_bus_error_setf(error, VIV_ERROR_ALREADY_RUNNING, "Container '%s' is already running",
                                         c->name);
        r = ports_check_free(c->manager, c, live, error);
        if (r < 0)
                return r;

        /* A transient container's (or CreateXML's document's): a
         * persistent one got them when it was defined. */
        r = domain_def_fill_macs(live);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to generate MAC addresses for container '%s': %m",
                                               c->name);

        /* libvirt's first hook, before anything exists: it may refuse */
        r = hook_run_container(c, live, "prepare", "begin", NULL, &hook_error);
        if (r < 0)
                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED, "Failed to start container '%s': %s", c->name,
                                         hook_error ? hook_error : strerror(-r));
        if (domain_def_userns_pick(live)) {
                r = pick_userns_range(c, live, error);
                if (r < 0)
                        return r;
        }
        r = devices_prepare(c, live, error);
        if (r < 0) {
                hook_run_release_failed(c);
                return r;
        }
        c->live = TAKE_PTR(live);
        trace_point("mgr-prepared");

        r = helper_model_fd(c, &model_fd, error);
        if (r < 0) {
                devices_release_images(c);
                networks_release_container(c->manager, c->name);
                hook_run_release_failed(c);
                c->live = domain_def_free(c->live);
                if (sd_bus_error_is_set(error))
                        return r;
                return sd_bus_error_set_errnof(error, r, "Failed to prepare the model of container '%s' for its helper: %m",
                                               c->name);
        }

        trace_point("mgr-model");
        r = container_write_live_xml(c, 0);
        if (r < 0) {
                devices_release_images(c);
                networks_release_container(c->manager, c->name);
                hook_run_release_failed(c);
                c->live = domain_def_free(c->live);
                return sd_bus_error_set_errnof(error, r, "Failed to write the live XML of container '%s': %m", c->name);
        }
        /* Before init runs (its addresses are known now: the lease was
         * reserved with the model), so a server there is reachable as
         * soon as it listens. */
        r = ports_apply(c->manager, c->live, error);
        if (r < 0) {
                ports_remove(c->manager, c->live);
                devices_release_images(c);
                networks_release_container(c->manager, c->name);
                hook_run_release_failed(c);
                container_remove_run_files(c);
                c->live = domain_def_free(c->live);
                return r;
        }

        c->state = CONTAINER_STARTING;
        c->start_phase = START_PHASE_SCOPE;
        c->start_is_create = is_create;
        trace_point("mgr-live-xml");

        r = helper_spawn(c, model_fd);
        if (r < 0) {
                hook_run_release_failed(c);
                container_remove_run_files(c);
                container_reset_runtime(c);
                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                         "Failed to spawn the helper of container '%s': %s", c->name, strerror(-r));
        }

        trace_point("mgr-helper-forked");
        c->start_msg = sd_bus_message_ref(msg);
        /* no journal line here: "Container 'NAME' started: helper ..." or the
         * failure says it once (each line costs journald ~0.2 ms of CPU, a
         * start at 8 clients ~35) */

        r = container_arm_start_timer(c);
        if (r < 0)
                fprintf(stderr, "Failed to arm the start timeout of container '%s', ignoring: %s\n", c->name,
                        strerror(-r));

        r = scope_start(c);
        trace_point("mgr-scope-requested");
        if (r < 0) {
                _cleanup_free_ char *m = NULL;

                if (asprintf(&m, "Failed to create scope '%s' for container '%s': %s", c->unit, c->name,
                             strerror(-r)) < 0)
                        m = NULL;
                container_scope_failed(c, m ? m : "Failed to create the container's scope");
        }

        /* Answered when the helper is READY or gone. */
        return 1;
}

static int helper_destroy_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e && c->state == CONTAINER_STOPPING) {
                fprintf(stderr, "Helper of container '%s' refused Destroy (%s), killing scope %s.\n", c->name,
                        e->message ? e->message : e->name, c->unit);
                (void) scope_kill(c->manager, c->unit, SIGKILL);
                container_kill_helper(c, SIGKILL);
        }
        return 0;
}

int container_destroy(Container *c, sd_bus_message *msg) {
        sd_bus_message **w;
        int r;

        if (msg) {
                w = reallocarray(c->stop_waiters, c->n_stop_waiters + 1, sizeof(sd_bus_message *));
                if (!w)
                        return -ENOMEM;
                c->stop_waiters = w;
                c->stop_waiters[c->n_stop_waiters++] = sd_bus_message_ref(msg);
        }

        if (c->destroy_requested)
                return 1;
        c->destroy_requested = true;

        if (c->state == CONTAINER_STARTING) {
                if (!c->start_error && asprintf(&c->start_error, "Container '%s' was destroyed while starting",
                                                c->name) < 0)
                        c->start_error = NULL;
                if (c->start_phase != START_PHASE_SCOPE)
                        (void) scope_kill(c->manager, c->unit, SIGKILL);
                container_fail_start(c, NULL, true);
                return 1;
        }

        c->state = CONTAINER_STOPPING;
        fprintf(stderr, "Destroying container '%s'.\n", c->name);

        r = helper_call_internal(c, "Destroy", helper_destroy_reply);
        if (r < 0) {
                fprintf(stderr, "Failed to ask the helper of container '%s' to destroy it, killing scope %s: %s\n",
                        c->name, c->unit, strerror(-r));
                (void) scope_kill(c->manager, c->unit, SIGKILL);
                container_kill_helper(c, SIGKILL);
        }
        container_arm_kill_timer(c);
        return 1;
}

/* A run found at start-up whose helper is gone (it ended while no manager
 * ran): nobody told machined, which still lists it (machine.c), and the
 * helper could not remove its filter, its ports' rules, its lent links. The
 * scope goes with whatever the helper left in it. C->live is that run's. */
void container_adopted_gone(Container *c, const char *why) {
        int r;

        fprintf(stderr, "Container '%s' is no longer running (%s): cleaning up scope %s.\n", c->name, why, c->unit);
        r = machine_unregister_ended(c->manager, c->name);
        if (r < 0)
                fprintf(stderr, "Failed to unregister container '%s' from systemd-machined, ignoring: %s\n",
                        c->name, strerror(-r));
        (void) scope_stop(c->manager, c->unit);
        devices_reclaim(c, c->live);
        container_remove_run_files(c);
        container_reset_runtime(c);
        /* a Destroy while adopt_starting() looked for the helper */
        container_reply_stop_waiters(c);
        /* a transient one was made for this run only */
        container_drop_if_unused(c);
}

/* A helper found running at start-up: the same container, the same Id.
 * Alive means that its control socket takes our connection and the process
 * listening on it exists (SO_PEERCRED, then a pidfd): the container runs from
 * now on, watched like any other. Describe, which fills in what the live XML
 * lacks (init's PID, paused), is answered later (adopt.c): on a loaded machine,
 * or by a stopped helper, maybe much later, and a living container must not be
 * destroyed for that. Only a run whose helper is gone is cleaned up. Nothing
 * here waits, so every helper is adopted at once, however many there are. */
int container_adopt(Manager *m, DomainDef *live) {
        _cleanup_(domain_def_freep) DomainDef *owned = live;
        _cleanup_close_ int pidfd = -EBADF;
        Container *c;
        pid_t helper_pid = 0;
        int r;

        c = manager_find_container(m, live->name);
        if (!c) {
                _cleanup_(domain_def_freep) DomainDef *def = NULL;

                r = domain_def_copy(live, &def);
                if (r < 0)
                        return r;
                r = container_new(m, def, false, &c);
                if (r < 0)
                        return r;
                TAKE_PTR(def);
        }

        r = helper_peer_pid(c, &helper_pid);
        if (r >= 0) {
                pidfd = pidfd_open(helper_pid, 0);
                if (pidfd < 0)
                        r = -errno;
        } else if (r == -ENOENT || r == -ECONNREFUSED) {
                /* No socket (yet): the live XML is written before the
                 * helper is spawned, its socket made only at READY. A
                 * manager that ended during a start left it so; its helper
                 * may still live in the scope and finish the start. */
                c->live = TAKE_PTR(owned);
                if (adopt_starting(c) >= 0)
                        return 0;
                owned = TAKE_PTR(c->live);
        }
        if (r < 0) {
                c->live = TAKE_PTR(owned);
                container_adopted_gone(c, strerror(-r));
                return 0;
        }

        c->live = TAKE_PTR(owned);
        devices_adopt(c);
        c->helper_pid = helper_pid;
        c->leader_pid = 0;
        c->helper_is_child = false;
        c->state = CONTAINER_RUNNING;
        /* registered by the manager before, or by the helper itself (an
         * older one): UnregisterMachine at its end either way */
        c->machine_registered = true;
        r = helper_watch(c, TAKE_FD(pidfd));
        if (r < 0) {
                fprintf(stderr, "Failed to watch the helper of container '%s': %s\n", c->name, strerror(-r));
                return r;
        }
        return adopt_describe(c);
}
