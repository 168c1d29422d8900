/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "domain.h"
#include "helper-network.h"
#include "macros.h"

#define CONSOLE_RING_SIZE (64U * 1024U)
#define CONSOLE_RELAY_BUF (16U * 1024U)
/* The size of a tmpfs the container writes to and nobody sized (/dev/shm,
 * <filesystem type='ram'> without usage): systemd-nspawn's limits for the
 * tmpfs mounts of its guests. The kernel's default, half of the host's RAM
 * per mount, lets a container without a memory limit fill the host's memory
 * with files that no process owns. */
#define TMPFS_NESTED_SIZE "size=10%"
#define TMPFS_NESTED_INODES "nr_inodes=400k"

/* One hierarchy in which our scope is delegated: "dir" is the scope's
 * directory, with the leaves "dir/supervisor" and "dir/payload". */
typedef struct CgroupHierarchy {
        char *dir;
        bool unified;           /* cgroup2 */
        bool named_systemd;     /* the name=systemd v1 hierarchy */
        bool cpuset;            /* a v1 hierarchy with cpuset: leaves need its CPUs */
        bool supervisor_made;   /* we created the leaves: we remove them */
        bool payload_made;
} CgroupHierarchy;

typedef struct CgroupLeaves {
        CgroupHierarchy *hier;
        size_t n_hier;
        char *unit;             /* "machine-NAME.scope", NULL when not in a scope */
        char *cpuset_v1;        /* init's own cgroup in a v1 cpuset hierarchy, NULL without */
} CgroupLeaves;

/* A byte queue for relaying between the pty and a client. */
typedef struct RelayBuf {
        char data[CONSOLE_RELAY_BUF];
        size_t len;
} RelayBuf;

typedef struct Helper Helper;

typedef struct Console Console;

typedef struct ConsoleClient {
        Console *console;
        int fd;
        sd_event_source *source;
        RelayBuf to_client;     /* pty output waiting for the client */
        RelayBuf to_pty;        /* client input waiting for the pty */
        bool is_stdio;          /* foreground mode: our own stdin/stdout */
        int out_fd;             /* where output goes (== fd, or stdout) */
} ConsoleClient;

struct Console {
        Helper *helper;
        unsigned port;          /* <console> index: 0 is /dev/console, N /dev/tty(N+1) */
        int master;             /* pty master, non-blocking, owned by the helper */
        int slave;              /* kept open so the master never reports HUP */
        sd_event_source *source;
        RelayBuf to_pty;        /* not used by clients: pending writes of our own */
        char ring[CONSOLE_RING_SIZE];  /* last 64 KiB of output */
        size_t ring_start, ring_len;
        char line[1024];        /* journal line buffer */
        size_t line_len;
        uint64_t rl_begin_usec; /* journal rate limit window */
        unsigned rl_lines;
        unsigned rl_suppressed;
        ConsoleClient *client;  /* at most one interactive client */
        ConsoleClient *stdio;   /* foreground mode mirror */
        bool log_to_journal;
};

typedef struct ControlConn {
        Helper *helper;
        sd_bus *bus;
        struct ControlConn *next;
} ControlConn;

/* One mount of the host's tree, cloned for a shared root with a picked range. */
typedef struct SharedMount {
        char *path;
        int fd;
} SharedMount;

/* What the helper opened in the host's mount namespace before cloning init:
 * sources of the bind mounts (open_tree clones) and the host's device nodes,
 * consumed by the child; and the socket on which the child hands back the
 * master of the console pty it allocates in its own devpts instance. */
#define PROCVIEW_MAX 8

/* The manager hands start --pass-fds's files at 5, 6, ... (after the
 * handshake, 3, and the model, 4) */
#define HELPER_PASS_FDS_BASE 5

/* The namespaces made by the user namespace's own root, so that the
 * container's root is capable in them (helper-userns.c). */
typedef enum UsernsOwned {
        USERNS_OWNED_PID,       /* for init's children: init is its PID 1; -EBADF where the
                                 * kernel cannot hand it out (before 6.11): init makes its own */
        USERNS_OWNED_NET,       /* -EBADF without a private network */
        USERNS_OWNED_IPC,
        USERNS_OWNED_UTS,
        _USERNS_OWNED_MAX,
} UsernsOwned;

/* The nbd devices qemu-nbd serves for the container (helper-nbd.c). */
typedef struct NbdDevice {
        char path[32];          /* "/dev/nbdN" */
        unsigned index;         /* N */
        int server_pidfd;       /* qemu-nbd's daemon serving it, -EBADF when it was not found */
} NbdDevice;

typedef struct NbdDevices {
        NbdDevice *devs;
        size_t n;
} NbdDevices;

typedef struct HostMounts {
        int root_fd;            /* private root: clone of its source; -EBADF for shared */
        int *fs_fds;            /* per def->filesystems[i]: type='mount' source clone or file/block mount, else -EBADF */
        size_t n_fs_fds;
        int dev_fds[8];         /* host device nodes, see dev_node_names[] */
        int console_sock[2];    /* [0] helper's end, [1] child's end */
        int console_slave;      /* child side: the slave, init's stdio */
        unsigned n_consoles;    /* <console>s: ptys to make (at least one) */
        SharedMount *shared;    /* shared root, picked range: the host's mounts, "/" first */
        size_t n_shared;
        int userns_fd;          /* the container's user namespace, -EBADF without one */
        int userns_pidfd;       /* the child that made it, reaped on close */
        int userns_owned[_USERNS_OWNED_MAX];   /* namespaces the user namespace owns, made with it
                                                * (helper-userns.c); init is cloned into them */
        uid_t root_uid;         /* host IDs of the container's root and tty group: */
        gid_t root_gid;         /* owners of what the host side makes for it */
        gid_t tty_gid;
        bool cgroup_unified;    /* the host's /sys/fs/cgroup is cgroup2 */
        bool cgroup_writable;   /* ... and payload/ is ours (a delegated scope) */
        bool cgroup_systemd_writable;   /* hybrid: payload/ is ours in name=systemd */
        bool cgroup_unified_writable;   /* hybrid: ... in the cgroup2 on unified/ */
        bool init_systemd;      /* init is systemd in a private root: an OS container (helper-os.c) */
        int notify_fd;          /* borrowed from Helper: the child binds it in the container */
        int procview_fds[PROCVIEW_MAX]; /* lxcfs's files, clones (helper-procview.c), -EBADF if not bound */
        int *node_fds;          /* <hostdev>/<disk> nodes (helper-hostdev.c): clones to bind at node_paths[i] */
        char **node_paths;
        size_t n_nodes;
        NbdDevices *nbd;        /* borrowed from Helper: the devices its images take */
} HostMounts;

struct Helper {
        char *name;
        NbdDevices nbd;         /* released once init has ended (helper_done()) */
        char *xml_path;         /* foreground: the definition (--xml, else the live XML) */
        int model_fd;           /* --model: the manager's model of it (domain-wire.h) */
        DomainDef *def;
        char **bridges;         /* per interface: a type='network' one's bridge (network_prepare()) */
        char *seccomp_path;     /* NAME.seccomp for vivctl enter; NULL in foreground mode */
        bool foreground;
        bool release_nbd;       /* --release-nbd: only release what qemu-nbd still serves (helper-nbd.c) */
        int handshake_fd;
        unsigned n_pass_fds;    /* --pass-fds N: fds HELPER_PASS_FDS_BASE.. for init (start --pass-fds) */

        sd_event *event;

        CgroupLeaves cgroups;
        bool use_cgroups;

        Console console;        /* port 0 */
        Console *extra_consoles;        /* ports 1..n_extra_consoles */
        size_t n_extra_consoles;
        HostMounts host;
        NetworkSetup *network;  /* the interfaces' devices, NULL without any */

        bool init_systemd;      /* HostMounts' init_systemd, kept for Shutdown and Reboot */
        int notify_fd;          /* <vivarium:notify/>: init's notify socket, else -EBADF */
        sd_event_source *notify_source, *notify_timer;
        bool ready;             /* READY (or ERROR) went to the manager */
        pid_t init_pid;
        int init_pidfd;
        sd_event_source *child_source;

        int listen_fd;
        char *socket_path;
        sd_event_source *listen_source;
        ControlConn *conns;
        sd_id128_t server_id;


        int userns_lock_fd;     /* holds the lock of a picked ID range */
        int share_fds[_NS_SHARE_KIND_MAX]; /* <lxc:namespace>: the namespaces init joins, else -EBADF */
        int netns_fd;           /* the container's netns while it holds lent host links, else -EBADF */
        char *netns_pin;        /* its pin (hostdev-net.h), NULL without one */
        int *image_fds;         /* loop devices of type='file' disks, held open while we run (loop-device.h) */
        uid_t root_uid;         /* HostMounts' root_uid/root_gid, kept for nodes attached live */
        gid_t root_gid;
        size_t n_image_fds;

        bool paused;            /* payload/ frozen by Suspend() */
        bool destroying;
        bool exited;            /* init is gone */
        int exit_code;          /* shell style */
        const char *exit_detail;
};

/* helper-cgroup.c */
int cgroup_leaves_setup(CgroupLeaves *c);
int cgroup_leaves_enter_payload(CgroupLeaves *c, pid_t pid);
int cgroup_leaves_enter_cpuset_v1(CgroupLeaves *c, const char *cpuset, pid_t pid);
void cgroup_leaves_kill_payload(CgroupLeaves *c);
int cgroup_leaves_open_payload_unified(CgroupLeaves *c);
int cgroup_leaves_chown_payload(CgroupLeaves *c, uid_t uid, gid_t gid);
int cgroup_leaves_freeze(CgroupLeaves *c, bool freeze);
bool cgroup_host_is_unified(void);
void cgroup_leaves_remove(CgroupLeaves *c);
/* cgroup v1: RULE ("b 7:0 rwm") into devices.allow of supervisor/ and
 * payload/, where the devices hierarchy has them; -EPERM while the scope
 * lacks it. */
int cgroup_leaves_allow_device(CgroupLeaves *c, const char *rule);
void cgroup_leaves_done(CgroupLeaves *c);

/* helper-mount.c: helper side, host namespace */
void host_mounts_init(HostMounts *h);
int host_mounts_open(HostMounts *h, const DomainDef *def, char **ret_error);
/* helper-nsshare.c: <lxc:namespace> */
int nsshare_open(const Helper *h, int ret_fds[_NS_SHARE_KIND_MAX], char **ret_error);
uint64_t nsshare_clone_flags_unshared(const DomainDef *def);
int nsshare_join(int fds[_NS_SHARE_KIND_MAX], const char *name, char **ret_error);

/* helper-image.c: a detached mount of a type='file' or type='block' filesystem */
int image_mount_open(const DomainFilesystem *fs, const char *name, NbdDevices *nbd, int *ret_mnt, char **ret_error);
int nbd_connect(NbdDevices *d, const DomainFilesystem *fs, const char *name, char ret_dev[static 32], char **ret_error);
void nbd_release(NbdDevices *d, const char *dev);
void nbd_release_all(NbdDevices *d);
int nbd_release_left(const char *name);
void host_mounts_close(HostMounts *h);
/* helper-mount.c: child side, container namespace; errors: message in *ret_error */
int container_setup_mounts(const DomainDef *def, HostMounts *h, char **ret_error);

/* helper-initctl.c: a runlevel request on the container's /run/initctl */
int initctl_request(Helper *h, char runlevel, sd_bus_error *error);

/* helper-procview.c: lxcfs's files over /proc; open: helper side, attach: child side */
void procview_open(HostMounts *h, const char *name);
int procview_attach(HostMounts *h, int root_fd, char **ret_error, const char *name);

/* helper-os.c: systemd as init */
bool os_init_is_systemd(int root_fd, const char *init);
int os_setup_mounts(const DomainDef *def, const HostMounts *h, int root_fd, char **ret_error);
int os_setup_dev(const DomainDef *def, const HostMounts *h, int root_fd);
void os_link_journal(Helper *h);
int os_notify_open(Helper *h, char **ret_error);
const char *os_notify_env(const DomainDef *def);
int os_notify_bind(int fd, uid_t uid, gid_t gid);
int os_notify_watch(Helper *h);
void os_notify_close(Helper *h);

/* helper-dev.c */
extern const char *const dev_node_names[];
int dev_open_host_nodes(int ret_fds[], size_t n);
int dev_setup(int root_fd, HostMounts *h, char **ret_error);
int dev_console_reopen(HostMounts *h);

/* helper-hostdev.c */
int hostdev_open_nodes(Helper *h, char **ret_error);
void hostdev_close_images(Helper *h);
int hostdev_attach_nodes(int root_fd, HostMounts *h, char **ret_error);
void hostdev_close_nodes(HostMounts *h);
int hostdev_net_lend_begin(Helper *h, pid_t pid, char **ret_error);
int hostdev_net_lend(Helper *h, pid_t pid, char **ret_error);
extern const sd_bus_vtable hostdev_control_vtable[];
void hostdev_net_take_back(Helper *h);

/* helper-console.c */
int console_receive(Console *c, int sock);
int console_send_master(int sock, int master);
int console_attach(Helper *h);
Console *console_port(Helper *h, unsigned port);
Console *console_by_devname(Helper *h, const char *devname);
int console_open_client(Helper *h, const char *devname, bool force, int *ret_fd, sd_bus_error *error);
int console_resize(Helper *h, const char *devname, unsigned rows, unsigned cols);
void console_drain(Helper *h);
void console_done(Console *c);

/* helper-seccomp.c */
int seccomp_apply_denylist(const DomainDef *def);
bool seccomp_denies_mounts(const DomainDef *def);
int seccomp_export_denylist(const DomainDef *def, const char *path);

/* helper-caps.c */
int caps_apply_bounding_set(const DomainDef *def);

/* helper-control.c */
int control_listen(Helper *h);
void control_emit_exited(Helper *h);
void control_close(Helper *h);

/* helper-userns.c */
int userns_prepare(Helper *h, char **ret_error);
int userns_enter(int userns_fd);
int userns_join_owned(const HostMounts *m, int saved[_USERNS_OWNED_MAX]);
int userns_leave_owned(int saved[_USERNS_OWNED_MAX]);
int write_id_map(pid_t pid, const char *file, const DomainIdmap *map, size_t n);
/* mnt_fd, a detached mount, idmapped with userns_fd; what names source in an error */
int idmap_clone(int mnt_fd, int userns_fd, const char *source, const char *what, const char *name, char **ret_error);

/* helper-spawn.c */
int container_spawn(Helper *h, char **ret_error);
int netns_loopback_up(void);

/* helper.c */
void helper_terminate(Helper *h, bool destroy);
void helper_report_start(Helper *h, int error, const char *message);
void helper_report_init(Helper *h, pid_t pid);
int helper_format_uuid(const uint8_t uuid[16], char ret[37]);

/* helper-server.c: vivarium-helper --fork-server; each child runs
 * HELPER_MAIN with the command line the manager's exec would give it. */
typedef int (*HelperMain)(int argc, char *argv[]);
int helper_fork_server(int argc, char *argv[], HelperMain helper_main);

/* helper-mount.c: path and mount primitives relative to a container root */
int open_in_root(int root_fd, const char *path, int flags);
int mkdir_p_in_root(int root_fd, const char *path, mode_t mode);
int fs_new_mount(const char *fstype, const char *const *options, unsigned attrs, int *ret_fd);
int attach_mount(int mnt_fd, int root_fd, const char *target, bool create_file);
int filesystem_source_open(const DomainFilesystem *fs, const char *name, int *ret_fd, char **ret_error);
int ram_mount_open(const DomainFilesystem *fs, uid_t uid, gid_t gid, int *ret_fd);

/* helper-hostdev.c: systemd widens the scope's device policy after it
 * answered vivariumd (the cgroup is realized from its event loop): what needs
 * the new rule waits for it, this long, polling */
#define POLICY_WAIT_USEC (10 * 1000000ULL)
#define POLICY_POLL_USEC (20 * 1000ULL)
/* RULE (cgroup v1 devices.allow syntax) added to our leaves once the scope has it */
int leaves_allow_rule(Helper *h, const char *rule);

/* helper-fsattach.c: live <filesystem> of type mount, ram, block, file (loop) (org.vivarium1.Helper.Devices) */
extern const sd_bus_vtable fsattach_control_vtable[];
void mountinfo_unescape(char *s);
