/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vivariumd: the manager's context and the interfaces between its files.
 * One sd-event loop, no threads: every slow step (systemd jobs, the helper's
 * handshake and exit) is an event source, and slow method calls keep their
 * message and are answered later. */

#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "domain.h"
#include "domain-xml.h"

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

typedef struct Manager Manager;
typedef struct Container Container;
typedef struct Job Job;
typedef struct PolkitQuery PolkitQuery;
typedef struct Networks Networks; /* network.h */
typedef struct ConsoleStream ConsoleStream; /* console-stream.c */

/* systemd's manager object */
#define SYSTEMD_DEST  "org.freedesktop.systemd1"
#define SYSTEMD_PATH  "/org/freedesktop/systemd1"
#define SYSTEMD_IFACE "org.freedesktop.systemd1.Manager"

/* polkit actions (dbus/org.vivarium1.policy) */
#define VIV_POLKIT_MANAGE  "org.vivarium1.manage"
#define VIV_POLKIT_CONSOLE "org.vivarium1.console"

typedef enum ContainerState {
        CONTAINER_SHUTOFF,
        CONTAINER_STARTING,   /* helper forked, not READY yet: counts as running for Start */
        CONTAINER_RUNNING,
        CONTAINER_STOPPING,   /* Destroy asked, waiting for the helper to exit */
} ContainerState;

typedef enum StartPhase {
        START_PHASE_NONE,
        START_PHASE_SCOPE,     /* waiting for systemd's job for the scope */
        START_PHASE_HANDSHAKE, /* GO sent, waiting for READY/ERROR */
        START_PHASE_REGISTER,  /* READY, waiting for machined's answer to RegisterMachine (machine.c) */
        START_PHASE_FAILING,   /* failed: waiting for the helper to be gone */
        START_PHASE_ADOPT,     /* left by a manager that ended: its helper looked for in
                                * the scope, then its socket awaited (adopt-starting.c) */
} StartPhase;

struct Container {
        unsigned n_ref;
        Manager *manager;
        bool linked;           /* in manager->containers and exported */

        char *name;
        char *path;            /* D-Bus object path */
        char *unit;            /* machine-ESCAPED.scope */
        uint8_t uuid[16];

        DomainDef *def;        /* the persistent definition (or the transient one) */
        DomainDef *live;       /* while the helper runs: the live definition */
        bool persistent;

        ContainerState state;
        StartPhase start_phase;
        sd_bus_message *start_msg;     /* pending Start/CreateXML call */
        bool start_is_create;          /* reply with the object path */
        char *start_error;             /* the helper's ERROR message */
        bool scope_retried;
        bool scope_created;            /* StartTransientUnit succeeded: stop it on failure */
        int *image_fds;                /* loop devices of type='file' disks, held until READY (devices.c) */
        size_t n_image_fds;
        char *scope_job;

        pid_t helper_pid;      /* the Id */
        pid_t leader_pid;      /* the container's init, host PID */
        sd_bus_slot *machine_slot;     /* RegisterMachine not answered yet (machine.c) */
        sd_bus_slot *unregister_slot;  /* UnregisterMachine not answered yet */
        bool helper_end_waits;         /* the helper's end is handled when it is */
        bool nbd_release_waits;        /* ... and when its nbd devices are released (nbd-release.c) */
        int nbd_release_pidfd;         /* vivarium-helper --release-nbd running */
        sd_event_source *nbd_release_source;
        sd_event_source *nbd_release_timer;
        void (*nbd_release_then)(Container *c);
        bool machine_registered;       /* machined has it (or may: adopted) */
        bool helper_is_child;
        int pidfd;
        sd_event_source *pidfd_source;
        int handshake_fd;
        sd_event_source *handshake_source;
        sd_event_source *kill_timer;   /* Destroy or failed start: SIGKILL fallback */
        sd_event_source *start_timer;  /* a start that hangs fails after a while */

        sd_bus *helper_bus;            /* p2p connection to NAME.sock, while calls are pending */
        unsigned helper_calls;         /* calls on helper_bus not answered yet */
        sd_event_source *helper_idle;  /* closes helper_bus once none is pending (helper-client.c) */
        sd_bus_slot *exited_slot;
        bool got_exited;
        char *exit_detail;
        int exit_code;
        bool destroy_requested;
        bool paused;                   /* running, with its payload frozen by the helper */
        const char *state_reason;      /* libvirt's reason of the last state change (StateReason);
                                        * a static string, NULL: unknown (never started, adopted) */
        bool autostart;                /* started when the manager first runs after boot */
        sd_bus_message *reboot_msg;    /* Reboot: start again once the helper is gone */
        int *pass_fds;                  /* StartWithFiles: for the next helper only (start --pass-fds) */
        size_t n_pass_fds;
        uint64_t reboot_flags;          /* its VIV_SHUTDOWN_INITCTL/SIGNAL mode, 0: the default */
        bool adopting;                 /* adopted at start-up, Describe not answered yet (adopt.c) */
        bool adopt_started;            /* ... and asked (one of ADOPT_WINDOW) */
        unsigned adopt_tries;
        uint64_t adopt_deadline;       /* CLOCK_MONOTONIC: Describe is asked again until then */
        sd_event_source *adopt_timer;  /* the next Describe; in START_PHASE_ADOPT the next
                                        * look for the socket */
        bool adopt_register;           /* adopted from a start: RegisterMachine once Describe
                                        * names init (its manager may have ended before) */
        uint64_t restart_window_usec;  /* CLOCK_MONOTONIC start of the lifecycle restarts counted */
        unsigned restarts_in_window;

        sd_bus_message **stop_waiters; /* Destroy calls waiting for the helper's end */
        size_t n_stop_waiters;

        Container *next, *prev;
};

typedef enum JobKind {
        JOB_SCOPE_START,       /* StartTransientUnit of a container's scope */
        JOB_SCOPE_STOP_RETRY,  /* StopUnit of a left-over scope before retrying */
} JobKind;

struct Job {
        char *path;
        JobKind kind;
        Container *container;  /* referenced */
        Job *next;
};

/* The helper's fork server (spawn.c, helper-server.c): exec'd once, it
 * forks each helper as the manager's child instead of an exec a start. */
typedef struct HelperServer {
        pid_t pid;
        int pidfd;
        int sock;                      /* SOCK_SEQPACKET, its fd 3 */
        sd_event_source *source;       /* its pidfd: an end we did not ask for */
        dev_t dev;                     /* the helper binary it runs */
        ino_t ino;
        struct timespec mtime;
        unsigned failures;             /* in a row; off after a few */
        bool off;                      /* VIVARIUM_HELPER_SERVER=0, or it kept failing */
} HelperServer;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        Container *containers;
        Job *jobs;
        PolkitQuery *polkit_queries;
        Networks *networks;            /* managed networks, network.c */
        DomainSchema *domain_schema;   /* compiled on the first definition received */

        char *etc_dir;
        char *run_dir;
        char *helper_path;
        HelperServer helper_server;

        uint64_t idle_usec;            /* 0 = never exit */
        uint64_t last_activity;
        sd_event_source *idle_timer;
        bool exiting;                  /* the bus name is being given up: manager.c */
        sd_event_source *drain_timer;  /* ... and the calls that reached us finished */
        sd_event_source *trim_source;  /* heap back to the kernel after a large request */

        ConsoleStream *console_streams; /* consoles relayed in messages, console-stream.c */
        unsigned adopt_in_flight;       /* adopted helpers asked Describe now (adopt.c) */
        uint64_t console_stream_counter;
};

/* manager.c */
Container *manager_find_container(Manager *m, const char *name);
Container *manager_find_container_by_uuid(Manager *m, const uint8_t uuid[16]);
Container *manager_find_container_by_path(Manager *m, const char *path);
void manager_link_container(Manager *m, Container *c);
void manager_unlink_container(Manager *m, Container *c);
void manager_note_activity(Manager *m);
/* A definition of SIZE bytes arrived; after a large one the heap it took is
 * given back once the call is done (called whether it is accepted or not). */
void manager_note_request_size(Manager *m, size_t size);

/* manager-bus.c */
int manager_bus_setup(Manager *m);
int manager_emit_container_new(Manager *m, Container *c);
int manager_emit_container_removed(Manager *m, Container *c);
int manager_emit_container_event(Manager *m, Container *c, const char *event, const char *detail);
int manager_emit_container_exited(Manager *m, Container *c, const char *detail, int exit_code);
/* Sends MSG on BUS without waiting; HANDLER gets USERDATA, which the call owns
 * from now on: DESTROY frees it once the call is answered or dropped, or at
 * once when it cannot be sent. */
int bus_call_async_owned(sd_bus *bus, sd_bus_message *msg, sd_bus_message_handler_t handler, void *userdata,
                         sd_bus_destroy_t destroy);
void bus_message_unref_void(void *p);

/* container-bus.c */
extern const sd_bus_vtable container_vtable[];
int container_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found, sd_bus_error *error);
int container_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
int container_emit_changed(Container *c, const char *prop, ...);
/* Keeps REASON (an event detail: booted, unpaused, shutdown, destroyed,
 * crashed, failed; "paused" is kept as libvirt's "user") as the StateReason;
 * anything else is unknown. */
void container_set_state_reason(Container *c, const char *reason);
/* The same without keeping it (state-reason.c reads it back with this). */
void container_apply_state_reason(Container *c, const char *reason);

/* state-reason.c: the StateReason kept across manager restarts */
void state_reason_save(Container *c);
void state_reason_load(Container *c);   /* at container_new() */
void state_reason_forget(Container *c); /* the container is gone (undefined, transient stopped) */
/* A reply handler whose userdata is the call to answer: forwards the answer,
 * or the error verbatim. */
int bus_forward_empty_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);
/* A call answered once another one (to systemd or the helper) is: the call and
 * the container are kept until then. */
typedef struct PendingCall {
        sd_bus_message *call;
        Container *container;
} PendingCall;
PendingCall *pending_call_new(sd_bus_message *call, Container *c);
void pending_call_free(void *p);

/* The Container object's method handlers (userdata: the Container), shared
 * with the Manager's methods of the same names, which take the name first
 * (manager-bus.c). Each reads its own arguments from msg and answers it, now
 * or later. */
int container_method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_destroy(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_shutdown(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_undefine(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_get_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_open_console(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_resize_console(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* OpenConsole's and OpenConsoleStream's common part: reads the flags, asks
 * polkit, checks that the container runs. 1 = go on, 0 = asked polkit (return
 * without a reply), < 0 = refused (error set). */
int container_console_request(Container *c, sd_bus_message *msg, uint64_t *ret_flags, sd_bus_error *error);
/* console-stream.c: OpenConsoleStream, and the streams' end with the manager */
int container_method_open_console_stream(sd_bus_message *msg, void *userdata, sd_bus_error *error);
void console_streams_free(Manager *m);

int container_method_start_with_files(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* StartWithFiles' and CreateXMLWithFiles' "ah": copies in c->pass_fds for
 * the next helper; closed again by container_pass_fds_close(). */
int container_pass_fds_read(Container *c, sd_bus_message *msg, sd_bus_error *error);
void container_pass_fds_close(Container *c);
int container_method_shutdown_flags(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_reboot_flags(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_open_console_device(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_resize_console_device(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_suspend(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_resume(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_reboot(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_set_autostart(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* resources.c: Container method handlers, as above */
int container_method_set_memory(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_set_scheduler(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_get_stats(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_set_memory_parameters(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_set_blkio_parameters(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* Properties for StartTransientUnit and SetUnitProperties: <memtune>'s soft and
 * swap limits; <blkiotune>'s weight and devices (blkio.c). */
int resources_append_memtune(sd_bus_message *msg, const DomainDef *def);
int resources_append_blkio(sd_bus_message *msg, const DomainDef *def);
/* blkio.c: each <blkiotune><device> path is a block device node, else
 * < 0 with *ret_msg naming it (at define and at start). */
int blkio_check_devices(const DomainDef *def, char **ret_msg);
/* On a v1 hybrid: the devices' IOPS limits, which systemd does not set there. */
void blkio_apply_legacy(Container *c);
/* SetUnitProperties(c->unit, runtime) with its "a(sv)" open. */
int new_set_unit_properties(Container *c, sd_bus_message **ret);
/* On a v1 hybrid: the limits systemd does not apply there (once the helper runs). */
void resources_apply_legacy(Container *c);
/* libvirt's VIR_DOMAIN_AFFECT_* flags (1 live, 2 config, 0 = live when
 * running, else config) resolved for C, with the error a caller sees. */
int resolve_affect(Container *c, uint64_t flags, bool *ret_live, bool *ret_config, sd_bus_error *error);
/* The flags that follow a Set*Parameters call's dictionary, the caller's
 * right, and resolve_affect(): > 0 go on, 0 polkit was asked, < 0 error. */
int read_affect_authorized(Container *c, sd_bus_message *msg, bool *ret_live, bool *ret_config,
                           sd_bus_error *error);
/* Reads "a{sv}" whose values are integers (t, u or x; a negative x is
 * UINT64_MAX) into VALUES by NAMES, marking SET; a value of the wrong type or
 * an unknown key is InvalidArgs. */
int read_u64_params(sd_bus_message *msg, const char *const *names, size_t n, uint64_t *values, bool *set,
                    sd_bus_error *error);
/* store_save() of the persistent definition, with the error a caller sees. */
int save_definition(Container *c, sd_bus_error *error);

/* hooks.c: libvirt's lxc hook scripts, at /etc/vivarium/hooks (README).
 * Runs every script for C's name, OP SUBOP EXTRA (NULL: "-") with DEF's XML
 * (NULL: the container's current definition) on stdin, each at most the
 * hook timeout; < 0 when one failed, with *ret_message (may be NULL) saying
 * which and what it wrote. */
int hook_run_container(Container *c, const DomainDef *def, const char *op, const char *subop, const char *extra,
                       char **ret_message);
/* For the operations whose failure changes nothing: logged only. */
void hook_run_logged(Container *c, const char *op, const char *subop, const char *extra);
/* A start that failed after its prepare hook: stopped, then release "failed". */
void hook_run_release_failed(Container *c);

/* process-signal.c: send-process-signal (a Container method handler) */
int container_method_send_process_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* device-attach.c */
int container_method_attach_device(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_detach_device(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* bandwidth.c: domiftune (Container method handlers, as above) */
int container_method_set_interface_parameters(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int container_method_get_interface_parameters(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* After a helper that died without its teardown (no Exited): the host-side
 * veths and ifb devices of the live definition's <outbound> shaping. */
void bandwidth_cleanup(Container *c);

/* cgroup-stats.c: UINT64_MAX = not known */
typedef struct CgroupStats {
        uint64_t memory_current, memory_max, memory_rss, memory_cache;
        uint64_t tasks_current, tasks_max;
        uint64_t cpu_time_ns, cpu_user_ns, cpu_system_ns;
} CgroupStats;
typedef struct NetdevStats {
        uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
        uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
} NetdevStats;
bool cgroup_is_unified(void);
int cgroup_scope_dir(pid_t pid, const char *controller, char **ret);
void cgroup_stats_read(pid_t helper_pid, CgroupStats *ret);
int netdev_stats_read(const char *dev, NetdevStats *ret);

/* container.c */
/* A new container in M's list, which holds it; takes DEF on success. */
int container_new(Manager *m, DomainDef *def, bool persistent, Container **ret);
Container *container_ref(Container *c);
Container *container_unref(Container *c);
void container_unrefp(Container **c);
void container_unref_void(void *c);
const char *container_state_to_string(const Container *c);
bool container_is_active(const Container *c);
bool container_has_call_in_flight(const Container *c);
/* What the container runs (its live definition) while it runs, else the stored one. */
static inline const DomainDef *container_current_def(const Container *c) {
        return c->live ? c->live : c->def;
}
int container_start(Container *c, sd_bus_message *msg, bool is_create, sd_bus_error *error);
/* The same with DEF (taken, freed on failure too) as the live definition
 * instead of a copy of the persistent one: CreateXML of a defined container. */
int container_start_as(Container *c, sd_bus_message *msg, bool is_create, DomainDef *def, sd_bus_error *error);
int container_destroy(Container *c, sd_bus_message *msg);
void container_scope_job_done(Container *c, const char *result);
void container_scope_failed(Container *c, const char *message);
void container_helper_error(Container *c, const char *message);
void container_helper_ready(Container *c, pid_t leader);
void container_helper_init(Container *c, pid_t leader);
void container_now_running(Container *c);
/* The start's bound (the helper's own timeouts and ours): then the helper
 * and its scope are killed and the start fails. */
int container_arm_start_timer(Container *c);

/* machine.c: machined's registration, on the manager's connection */
int machine_register_async(Container *c, pid_t leader);
/* RegisterMachine for a container adopted from a start, whose manager may
 * have registered it or not: "already exists" is fine, the reply is not awaited. */
int machine_register_adopted(Container *c, pid_t leader);
int machine_unregister(Container *c);
int machine_unregister_ended(Manager *m, const char *name);
int machine_watch_exits(Manager *m);
void machine_forget(Container *c);
void container_helper_gone(Container *c);
void container_helper_end_continue(Container *c);
int container_pidfd_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata);
int container_adopt(Manager *m, DomainDef *live);
/* A run found at start-up (C->live) whose helper is gone: cleaned up, WHY logged. */
void container_adopted_gone(Container *c, const char *why);
/* adopt.c: asks an adopted helper's Describe until it answers, its process is
 * gone, or the wait is over; then runs the reconnect hook. */
int adopt_describe(Container *c);
/* Its adoption ends (the helper is gone, or Describe answered): lets the next one ask. */
void adopt_forget(Container *c);
/* adopt-starting.c: C's live XML is there but its helper's socket is not (a
 * manager ended during its start): looks for the helper in the scope and,
 * while it lives, waits for its socket (then the container runs, adopted)
 * or its end (then the start failed). < 0: nothing to wait for (the caller
 * cleans up as for a helper that is gone). */
int adopt_starting(Container *c);
/* NAME.<suffix> under the run directory, one run's files; "xml" first */
#define N_CONTAINER_RUN_FILES 5
extern const char *const container_run_file_suffixes[N_CONTAINER_RUN_FILES];
void container_drop_if_unused(Container *c);
int container_live_xml_path(const Container *c, char **ret);
int container_config_path(Manager *m, const char *name, char **ret);
int container_write_live_xml(Container *c, pid_t id);

/* scope.c */
/* StartTransientUnit(UNIT, "fail", ...) with its property array open: the
 * caller appends (sv) properties, then transient_unit_message_close(). */
int transient_unit_message_new(sd_bus *bus, const char *unit, sd_bus_message **ret);
/* Closes the property array and appends the (empty) auxiliary units. */
int transient_unit_message_close(sd_bus_message *msg);
int manager_subscribe_systemd(Manager *m);
int scope_start(Container *c);
int scope_set_device_policy(Container *c, const DomainDef *def, sd_bus_error *error);
int scope_stop(Manager *m, const char *unit);
int scope_kill(Manager *m, const char *unit, int sig);
void manager_free_jobs(Manager *m);
void manager_forget_jobs(Manager *m, Container *c);

/* devices.c */
/* Attaches the type='file' disks of live to loop devices (held in c until
 * devices_release_images()) and checks that every host device exists: else
 * StartFailed naming the first missing one, and nothing stays attached. */
int devices_prepare(Container *c, DomainDef *live, sd_bus_error *error);
void devices_release_images(Container *c);
/* (ss) entries of DeviceAllow= for the definition's device nodes. */
int devices_append_policy(sd_bus_message *msg, const DomainDef *def);
/* Lent host links back through NAME.netns when the helper left it behind. */
void devices_reclaim(Container *c, const DomainDef *def);
/* An adopted container's runtime facts the live XML lacks. */
void devices_adopt(Container *c);

/* spawn.c */
/* The live definition and its networks' bridges, resolved now, in a sealed
 * memfd for the helper's --model (domain-wire.h). Fails with "Network 'NAME'
 * is not active" in error. */
int helper_model_fd(Container *c, int *ret_fd, sd_bus_error *error);
int helper_spawn(Container *c, int model_fd);
int helper_spawn_nbd_release(Container *c);

/* nbd-release.c */
bool container_serves_nbd(const Container *c);
int nbd_release_begin(Container *c, void (*then)(Container *c));
void nbd_release_forget(Container *c);
int helper_send_go(Container *c);
int helper_watch(Container *c, int pidfd);
void helper_server_init(Manager *m);
/* Ends the fork server (the next start makes a new one); WHY for the log,
 * or NULL for the manager's own exit. */
void helper_server_stop(Manager *m, const char *why);
/* A helper of ours ended as SI says: after one that died of a memory error,
 * no other helper is forked from the address space it shared. */
void helper_server_note_helper_end(Manager *m, const char *name, const siginfo_t *si);

/* helper-client.c */
int helper_connect(Container *c);
void helper_disconnect(Container *c);
int helper_call_internal(Container *c, const char *method, sd_bus_message_handler_t handler);
/* Calls METHOD (no arguments) of the helper; USERDATA as in bus_call_async_owned(). */
int helper_call_owned(Container *c, const char *method, sd_bus_message_handler_t handler, void *userdata,
                      sd_bus_destroy_t destroy);
/* The PID of the process listening on the helper's socket (SO_PEERCRED). */
int helper_peer_pid(Container *c, pid_t *ret);
/* org.vivarium1.Helper.Devices.METHOD, synchronously: live attach/detach. */
int helper_call_devices(Container *c, const char *method, sd_bus_error *error, const char *types, ...);
/* The same with one "ay" argument. */
int helper_call_devices_bytes(Container *c, const char *method, const void *data, size_t size, sd_bus_error *error);
/* iface-attach.c: live attach of frag's one <interface> (its MAC filled
 * in) and live detach of the live definition's interface i. */
int iface_attach_live(Container *c, const DomainDef *frag, sd_bus_error *error);
int iface_detach_live(Container *c, size_t i, sd_bus_error *error);
int helper_call_async(Container *c, sd_bus_message *reply_to, const char *method,
                      sd_bus_message_handler_t handler, const char *types, ...);
/* helper_call_owned() with arguments of TYPES. */
int helper_call_owned_args(Container *c, const char *method, sd_bus_message_handler_t handler, void *userdata,
                           sd_bus_destroy_t destroy, const char *types, ...);
/* helper_call_owned() with a timeout of its own (0: sd-bus's default). */
int helper_call_owned_timeout(Container *c, const char *method, sd_bus_message_handler_t handler, void *userdata,
                              sd_bus_destroy_t destroy, uint64_t timeout_usec);

/* polkit.c: 1 = allowed, 0 = asked polkit (return without a reply: the call
 * is dispatched again with the answer), < 0 = refused (error set) */
int bus_check_privileged(Manager *m, sd_bus_message *msg, const char *action, sd_bus_error *error);
/* After parsing a definition received over the bus: logs the warnings, and
 * turns a refusal into InvalidConfig with the parser's message (line and
 * column) verbatim. WHAT is "container" or "network". Returns R, or the
 * error's -errno. */
int bus_report_parse(int r, const XmlDiag *diag, const char *what, sd_bus_error *error);
void manager_free_polkit_queries(Manager *m);

/* store.c */
int store_load_all(Manager *m);
int store_save(Manager *m, const DomainDef *def);
int store_remove(Manager *m, const char *name);
int store_set_autostart(Manager *m, const char *name, bool on);
bool store_get_autostart(Manager *m, const char *name);
void store_autostart_once(Manager *m);
int store_adopt_running(Manager *m);
int domain_def_copy(const DomainDef *def, DomainDef **ret);
