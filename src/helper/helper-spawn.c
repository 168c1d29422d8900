/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cloning init into its namespaces and building its world.
 *
 * The helper clone3()s a child with new mount, PID, UTS, IPC (and network)
 * namespaces; with a user namespace, all but the mount namespace are the
 * user namespace's own, made with it (helper-userns.c). The child waits on a pipe until the helper has moved it into
 * payload/; then it enters a cgroup namespace rooted there, builds its
 * mounts, /dev and console, joins the container's user namespace if it has
 * one (helper-userns.c), applies the security settings and execs init:
 * PID 1 of the container is init itself. Its errors
 * (and exec's) come back on a CLOEXEC pipe: EOF means init runs. */

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "cpuset.h"
#include "helper.h"
#include "helper-log.h"
#include "trace.h"

#define INIT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What the child sends back when it cannot exec init. */
typedef struct ChildError {
        int error;              /* positive errno */
        char message[1020];
} ChildError;

static _noreturn_ void child_fail(int err_fd, int error, const char *message) {
        ChildError e = { .error = error < 0 ? -error : error };
        if (e.error == 0)
                e.error = EIO;
        snprintf(e.message, sizeof(e.message), "%s", message ? message : strerror(e.error));
        (void) !write(err_fd, &e, sizeof(e));
        _exit(127);
}

int netns_loopback_up(void) {
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};

        if (s < 0)
                return -errno;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP;
        return RET_NERRNO(ioctl(s, SIOCSIFFLAGS, &ifr));
}

static bool parse_id(const char *s, unsigned *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v >= UINT32_MAX)
                return false;
        *ret = (unsigned) v;
        return true;
}

/* Names are resolved in the container's own /etc, parsed directly: NSS would
 * dlopen() modules from the container's tree into this still-privileged
 * process. */
static int resolve_user(const char *user, uid_t *ret_uid, gid_t *ret_gid, char **ret_name) {
        unsigned id;
        struct passwd *pw;

        _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
        while (f && (pw = fgetpwent(f)))
                if (streq(pw->pw_name, user) || (parse_id(user, &id) && pw->pw_uid == id)) {
                        *ret_uid = pw->pw_uid;
                        *ret_gid = pw->pw_gid;
                        *ret_name = strdup(pw->pw_name);
                        return 0;
                }
        if (parse_id(user, &id)) {
                *ret_uid = id;
                *ret_gid = id;
                *ret_name = NULL;
                return 0;
        }
        return -ESRCH;
}

static int resolve_group(const char *group, gid_t *ret_gid) {
        unsigned id;
        struct group *gr;

        if (parse_id(group, &id)) {
                *ret_gid = id;
                return 0;
        }
        _cleanup_fclose_ FILE *f = fopen("/etc/group", "re");
        while (f && (gr = fgetgrent(f)))
                if (streq(gr->gr_name, group)) {
                        *ret_gid = gr->gr_gid;
                        return 0;
                }
        return -ESRCH;
}

static size_t supplementary_groups(const char *user, gid_t *gids, size_t max) {
        struct group *gr;
        size_t n = 0;

        _cleanup_fclose_ FILE *f = fopen("/etc/group", "re");
        while (f && n < max && (gr = fgetgrent(f)))
                for (char **m = gr->gr_mem; m && *m; m++)
                        if (streq(*m, user)) {
                                gids[n++] = gr->gr_gid;
                                break;
                        }
        return n;
}

static int change_identity(const DomainDef *def, int err_fd) {
        uid_t uid = 0;
        gid_t gid = 0, groups[64];
        size_t n_groups = 0;
        char msg[1024];
        int r;

        if (def->init_user) {
                _cleanup_free_ char *name = NULL;
                r = resolve_user(def->init_user, &uid, &gid, &name);
                if (r < 0) {
                        snprintf(msg, sizeof(msg), "Failed to resolve init user '%s' in container '%s': No such user",
                                 def->init_user, def->name);
                        child_fail(err_fd, r, msg);
                }
                if (name)
                        n_groups = supplementary_groups(name, groups, ELEMENTSOF(groups));
        }
        if (def->init_group) {
                r = resolve_group(def->init_group, &gid);
                if (r < 0) {
                        snprintf(msg, sizeof(msg), "Failed to resolve init group '%s' in container '%s': No such group",
                                 def->init_group, def->name);
                        child_fail(err_fd, r, msg);
                }
        }
        if (!def->init_user && !def->init_group)
                return 0;

        if (setgroups(n_groups, groups) < 0 && errno != EPERM)
                return -errno;
        if (setresgid(gid, gid, gid) < 0)
                return -errno;
        if (setresuid(uid, uid, uid) < 0)
                return -errno;
        return 0;
}

static char **build_env(const DomainDef *def, unsigned n_pass_fds) {
        char uuid[37];
        size_t n = 0, max = 11 + def->n_init_env;
        char **env = calloc(max + 1, sizeof(char *));

        if (!env)
                return NULL;
        (void) helper_format_uuid(def->uuid, uuid);

#define ADD(...) do { if (asprintf(&env[n], __VA_ARGS__) < 0) goto fail; n++; } while (0)
        ADD("%s", INIT_PATH_ENV);
        ADD("TERM=linux");
        ADD("HOME=/");
        ADD("container=vivarium");
        ADD("container_uuid=%s", uuid);
        ADD("LIBVIRT_LXC_NAME=%s", def->name);
        ADD("LIBVIRT_LXC_UUID=%s", uuid);
        if (os_notify_env(def))
                ADD("%s", os_notify_env(def));
        if (n_pass_fds > 0) {
                /* socket activation (start --pass-fds): init is PID 1 of
                 * its namespace, as libvirt's LXC driver tells it */
                ADD("LISTEN_FDS=%u", n_pass_fds);
                ADD("LISTEN_PID=1");
        }
        for (size_t i = 0; i < def->n_init_env; i++) {
                /* a user's value replaces ours of the same name */
                size_t l = strlen(def->init_env[i].name);
                for (size_t j = 0; j < n; j++)
                        if (strncmp(env[j], def->init_env[i].name, l) == 0 && env[j][l] == '=') {
                                free(env[j]);
                                env[j] = env[--n];
                                env[n] = NULL;
                                break;
                        }
                ADD("%s=%s", def->init_env[i].name, strempty(def->init_env[i].value));
        }
#undef ADD
        return env;
fail:
        strv_free(env);
        return NULL;
}

static char **build_argv(const DomainDef *def) {
        size_t n = 0;
        for (char **a = def->init_args; a && *a; a++)
                n++;
        char **argv = calloc(n + 2, sizeof(char *));
        if (!argv)
                return NULL;
        argv[0] = def->init;
        for (size_t i = 0; i < n; i++)
                argv[i + 1] = def->init_args[i];
        return argv;
}

/* start --pass-fds: the manager's fds HELPER_PASS_FDS_BASE.. become init's
 * 3, 4, ... (without FD_CLOEXEC). Moving down in ascending order never
 * overwrites a source not yet moved; err_fd goes above them all first. */
static int pass_fds_install(unsigned n, int *err_fd) {
        int e = fcntl(*err_fd, F_DUPFD_CLOEXEC, HELPER_PASS_FDS_BASE + (int) n);
        if (e < 0)
                return -errno;
        safe_close(*err_fd);
        *err_fd = e;
        for (unsigned i = 0; i < n; i++)
                if (dup2(HELPER_PASS_FDS_BASE + (int) i, 3 + (int) i) < 0)
                        return -errno;
        return 0;
}

static _noreturn_ void child_main(Helper *h, int sync_fd, int err_fd) {
        const DomainDef *def = h->def;
        _cleanup_free_ char *error = NULL;
        char msg[1024];
        char c;
        int r;

        /* if the helper dies, so does the container: nobody would reap,
         * relay or tear it down */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

        if (read(sync_fd, &c, 1) != 1)
                _exit(1);  /* the helper gave up on us */
        safe_close(sync_fd);
        trace_point("child-go");

        /* the helper blocks the signals it handles through sd-event; init
         * must start with a clean mask and default dispositions */
        command_reset_signals();

        /* <lxc:namespace>: before anything is mounted, so /dev/mqueue and
         * /proc/sys/net are the shared namespaces' */
        r = nsshare_join(h->share_fds, def->name, &error);
        if (r < 0)
                child_fail(err_fd, r, error);

        /* now that we sit in payload/: the container's cgroup tree starts
         * there (with a user namespace, another one rooted there too once
         * init joins it, that one the container's root owns) */
        if (unshare(CLONE_NEWCGROUP) < 0)
                child_fail(err_fd, errno, "Failed to create the cgroup namespace");

        /* a shared UTS namespace keeps its owner's name */
        if (def->ns_share[NS_SHARE_UTS].type == NS_SHARE_NONE && sethostname(def->name, strlen(def->name)) < 0)
                child_fail(err_fd, errno, "Failed to set the container's hostname");

        if (def->cpuset) {
                /* <vcpu cpuset>: as libvirt's LXC controller, init's affinity,
                 * inherited by everything in the container. On cgroup v2
                 * systemd's AllowedCPUs= enforces it too; on a v1 hybrid host
                 * systemd has no cpuset, so this is all there is. */
                cpu_set_t cpus;

                r = cpuset_parse(def->cpuset, &cpus);
                if (r >= 0 && sched_setaffinity(0, sizeof(cpus), &cpus) < 0)
                        r = -errno;
                if (r < 0) {
                        snprintf(msg, sizeof(msg), "Failed to apply the CPU set '%s' of container '%s': %s",
                                 def->cpuset, def->name, strerror(-r));
                        child_fail(err_fd, -r, msg);
                }
        }

        r = container_setup_mounts(def, &h->host, &error);
        if (r < 0)
                child_fail(err_fd, r, error);
        trace_point("child-mounted");
        r = os_notify_bind(h->host.notify_fd, h->host.root_uid, h->host.root_gid);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "Failed to bind the notify socket of container '%s': %s", def->name, strerror(-r));
                child_fail(err_fd, r, msg);
        }

        if (domain_def_has_privnet(def)) {
                r = netns_loopback_up();
                if (r < 0)
                        log_warning_errno(r, "Failed to bring up the loopback device, ignoring: %m");
        }

        /* the mounts are built: from here on the container's root, in a
         * mount namespace where they are locked (helper-userns.c) */
        if (h->host.userns_fd >= 0) {
                r = userns_enter(h->host.userns_fd);
                if (r < 0)
                        child_fail(err_fd, r, "Failed to enter the container's user namespace");
                h->host.userns_fd = safe_close(h->host.userns_fd);
                r = dev_console_reopen(&h->host);
                if (r < 0)
                        child_fail(err_fd, r, "Failed to open the console in the container's user namespace");
        }

        /* the console: init's session, controlling terminal and stdio */
        if (setsid() < 0)
                child_fail(err_fd, errno, "Failed to create a session for init");
        if (h->host.console_slave >= 0) {
                if (ioctl(h->host.console_slave, TIOCSCTTY, 0) < 0)
                        child_fail(err_fd, errno, "Failed to make the console the controlling terminal");
                for (int fd = 0; fd < 3; fd++)
                        if (dup2(h->host.console_slave, fd) < 0)
                                child_fail(err_fd, errno, "Failed to connect init to the console");
        }

        if (chdir(def->init_dir ? def->init_dir : "/") < 0) {
                snprintf(msg, sizeof(msg), "Failed to change to directory '%s' in container '%s': %s",
                         def->init_dir ? def->init_dir : "/", def->name, strerror(errno));
                child_fail(err_fd, errno, msg);
        }

        r = seccomp_apply_denylist(def);
        if (r < 0)
                child_fail(err_fd, r, "Failed to install the seccomp filter");
        r = caps_apply_bounding_set(def);
        if (r < 0)
                child_fail(err_fd, r, "Failed to reduce the capability bounding set");
        r = change_identity(def, err_fd);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "Failed to change to the init user of container '%s': %s",
                         def->name, strerror(-r));
                child_fail(err_fd, r, msg);
        }

        char **env = build_env(def, h->n_pass_fds), **argv = build_argv(def);
        if (!env || !argv)
                child_fail(err_fd, ENOMEM, NULL);

        if (h->n_pass_fds > 0) {
                r = pass_fds_install(h->n_pass_fds, &err_fd);
                if (r < 0)
                        child_fail(err_fd, -r, "Failed to hand the passed files to init");
        }

        /* nothing of the helper's (bus, sockets, handshake) may reach init;
         * err_fd is CLOEXEC, closed by a successful exec */
        (void) syscall(SYS_close_range, 3U + h->n_pass_fds, ~0U, CLOSE_RANGE_CLOEXEC);

        /* The parent-death signal is cleared by every change of credentials:
         * joining the user namespace, <inituser>. Without it again, a killed
         * helper would leave init running, and as PID 1 it ignores the
         * SIGTERM of its scope's stop. Armed again; then a look at err_fd,
         * whose reader (the helper) may have gone in between. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        struct pollfd helper_end = { .fd = err_fd };
        if (poll(&helper_end, 1, 0) > 0 && (helper_end.revents & (POLLERR | POLLHUP)))
                _exit(1);

        trace_point("child-exec");
        execve(def->init, argv, env);
        r = errno;
        snprintf(msg, sizeof(msg), "Failed to execute init '%s' in container '%s': %s",
                 def->init, def->name, strerror(r));
        child_fail(err_fd, r, msg);
}

/* Reads the child's verdict: 0 when init was exec'd, else the error. */
static int read_child_verdict(int err_fd, char **ret_error) {
        ChildError e;
        ssize_t n;

        do
                n = read(err_fd, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        if (n == 0)
                return 0;
        if (n != (ssize_t) sizeof(e)) {
                *ret_error = strdup("Container init failed before it could report why");
                return -EIO;
        }
        e.message[sizeof(e.message) - 1] = 0;
        *ret_error = strdup(e.message);
        return -e.error;
}

int container_spawn(Helper *h, char **ret_error) {
        _cleanup_close_ int sync_r = -EBADF, sync_w = -EBADF, err_r = -EBADF, err_w = -EBADF, pidfd = -EBADF;
        const DomainDef *def = h->def;
        int fds[2], r;
        uint64_t flags = CLONE_NEWNS | CLONE_PIDFD;
        int saved_ns[_USERNS_OWNED_MAX];

        /* no CLONE_NEWUSER: init joins the user namespace once its mounts
         * are built; the other namespaces of a user namespace are its own,
         * made with it, and init is born in them (helper-userns.c) */
        if (h->host.userns_fd < 0)
                flags |= CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                         (domain_def_has_privnet(def) ? CLONE_NEWNET : 0);
        else if (h->host.userns_owned[USERNS_OWNED_PID] < 0)
                flags |= CLONE_NEWPID;
        /* joined in the child instead (helper-nsshare.c) */
        flags &= ~nsshare_clone_flags_unshared(def);
        r = nsshare_open(h, h->share_fds, ret_error);
        if (r < 0)
                return r;

        /* a missing bridge or network fails the start before anything exists */
        r = network_prepare(&h->network, def, h->bridges, h->foreground, ret_error);
        if (r < 0)
                return r;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        sync_r = fds[0];
        sync_w = fds[1];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        err_r = fds[0];
        err_w = fds[1];

        struct clone_args args = {
                .flags = flags,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };
        /* cgroup2: born in payload/, so no instant of init's life is
         * accounted to the helper's cgroup (v1 hierarchies: moved below) */
        _cleanup_close_ int payload_fd = cgroup_leaves_open_payload_unified(&h->cgroups);
        if (payload_fd >= 0) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) payload_fd;
        }

        r = userns_join_owned(&h->host, saved_ns);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to enter the namespaces of container '%s': %s", def->name, strerror(-r));
                return r;
        }
        fflush(NULL);
        trace_point("helper-clone");
        pid_t pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0 && payload_fd >= 0 && (errno == EINVAL || errno == E2BIG || errno == EOPNOTSUPP)) {
                /* a kernel before 5.7: moved by cgroup.procs below */
                args.flags &= ~(uint64_t) CLONE_INTO_CGROUP;
                args.cgroup = 0;
                pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        }
        r = pid < 0 ? -errno : 0;
        if (pid != 0) {
                /* the helper's own again; should it fail, the helper must not
                 * go on in the container's namespaces */
                int k = userns_leave_owned(saved_ns);
                if (k < 0) {
                        log_error_errno(k, "Failed to return to the helper's own namespaces: %m");
                        if (pid > 0)
                                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                        _exit(EXIT_FAILURE);
                }
        }
        if (pid < 0) {
                (void) asprintf(ret_error, "Failed to create the namespaces of container '%s': %s", def->name, strerror(-r));
                return r;
        }
        if (pid == 0) {
                for (size_t i = 0; i < _USERNS_OWNED_MAX; i++)
                        safe_close(saved_ns[i]);
                payload_fd = safe_close(payload_fd);
                h->host.console_sock[0] = safe_close(h->host.console_sock[0]);
                sync_w = safe_close(sync_w);
                err_r = safe_close(err_r);
                child_main(h, TAKE_FD(sync_r), TAKE_FD(err_w));
        }
        trace_point("helper-cloned");
        sync_r = safe_close(sync_r);
        err_w = safe_close(err_w);
        h->host.console_sock[1] = safe_close(h->host.console_sock[1]);
        /* init has its copies of the passed fds: the helper keeps none */
        for (unsigned i = 0; i < h->n_pass_fds; i++)
                (void) close(HELPER_PASS_FDS_BASE + (int) i);

        r = cgroup_leaves_enter_payload(&h->cgroups, pid);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to move init of container '%s' into its cgroup: %s", def->name, strerror(-r));
                goto fail;
        }
        r = cgroup_leaves_enter_cpuset_v1(&h->cgroups, def->cpuset, pid);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to give init of container '%s' the CPUs '%s' in a cpuset cgroup: %s",
                                def->name, def->cpuset, strerror(-r));
                goto fail;
        }
        trace_point("helper-init-in-cgroups");
        /* machined finds the machine's scope from init's cgroup: in it now */
        helper_report_init(h, pid);

        /* the interfaces, in the host's namespace and moved in, before init runs */
        r = network_setup(h->network, def, pid, h->foreground, ret_error);
        if (r < 0)
                goto fail;
        r = hostdev_net_lend(h, pid, ret_error);
        if (r < 0)
                goto fail;

        if (write(sync_w, "G", 1) != 1) {
                r = -errno;
                goto fail;
        }
        sync_w = safe_close(sync_w);

        /* while init builds its mounts: the filter it is about to load, for
         * vivctl enter (which refuses to run anything without it) */
        if (h->seccomp_path) {
                r = seccomp_export_denylist(def, h->seccomp_path);
                if (r < 0)
                        log_warning_errno(r, "Failed to write '%s', vivctl enter will refuse: %m", h->seccomp_path);
        }

        trace_point("helper-child-released");
        r = read_child_verdict(err_r, ret_error);
        if (r < 0)
                goto reap;
        trace_point("helper-init-execd");
        if (def->n_consoles > 1) {
                h->extra_consoles = calloc(def->n_consoles - 1, sizeof(Console));
                if (!h->extra_consoles) {
                        r = -ENOMEM;
                        goto fail;
                }
                h->n_extra_consoles = def->n_consoles - 1;
                for (size_t i = 0; i < h->n_extra_consoles; i++)
                        h->extra_consoles[i].master = h->extra_consoles[i].slave = -EBADF;
        }
        for (unsigned port = 0; console_port(h, port); port++) {
                r = console_receive(console_port(h, port), h->host.console_sock[0]);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to receive console%u of container '%s': %s",
                                        port, def->name, strerror(-r));
                        goto fail;
                }
        }

        h->init_pid = pid;
        h->init_pidfd = TAKE_FD(pidfd);
        return 0;

fail:
        (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
reap:
        (void) waitid(P_PIDFD, (id_t) pidfd, NULL, WEXITED);
        return r;
}
