/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl enter NAME [-- COMMAND...]: libvirt's lxc-enter-namespace, what
 * nsenter does, run by vivctl itself. The leader (the container's init) comes
 * from the LeaderPID property; the command joins init's payload cgroup, its
 * user, cgroup, IPC, UTS, network, PID and mount namespaces and its root, gets
 * init's environment, the container's capability bounding set and its
 * seccomp filter (exported by the helper), and runs in
 * a child (a PID namespace takes effect for children only). vivctl exits with
 * the command's status. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-names.h"
#include "ctl.h"
#include "fileio.h"

static const struct {
        const char *name;
        int type;
} namespaces[] = {
        /* user last: the container's PID, IPC, network and cgroup
         * namespaces belong to the host's user namespace (init joins its
         * own after building its mounts, helper-userns.c), which the host's
         * root may enter and the container's may not; the host's root may
         * enter those of the container's user namespace as well */
        { "cgroup", CLONE_NEWCGROUP },
        { "ipc", CLONE_NEWIPC },
        { "uts", CLONE_NEWUTS },
        { "net", CLONE_NEWNET },
        { "pid", CLONE_NEWPID },
        { "mnt", CLONE_NEWNS },
        { "user", CLONE_NEWUSER },
};

/* Moves this process into every cgroup (hierarchy by hierarchy) that LEADER
 * is in, as seen from the host: the container's payload/. */
static int join_cgroups(pid_t leader) {
        _cleanup_free_ char *text = NULL;
        char fn[64], pid[32];
        int r;

        snprintf(fn, sizeof fn, "/proc/%d/cgroup", (int) leader);
        r = read_full_file(fn, &text, NULL);
        if (r < 0)
                return r;
        snprintf(pid, sizeof pid, "%d", (int) getpid());

        for (char *line = text, *next; line && *line; line = next) {
                _cleanup_free_ char *procs = NULL;
                _cleanup_close_ int fd = -EBADF;
                char *list, *path, *comma;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                list = strchr(line, ':');
                if (!list)
                        continue;
                *list++ = 0;
                path = strchr(list, ':');
                if (!path)
                        continue;
                *path++ = 0;
                /* "name=systemd" is mounted as "systemd"; the unified
                 * hierarchy of a hybrid host as "unified" */
                if (strncmp(list, "name=", 5) == 0)
                        list += 5;
                comma = strchr(list, ',');
                if (*list == 0)
                        r = asprintf(&procs, "/sys/fs/cgroup/%s%s/cgroup.procs",
                                     access("/sys/fs/cgroup/unified", F_OK) == 0 ? "unified" : "", path);
                else
                        r = asprintf(&procs, "/sys/fs/cgroup/%.*s%s/cgroup.procs",
                                     comma ? (int) (comma - list) : (int) strlen(list), list, path);
                if (r < 0)
                        return -ENOMEM;
                fd = open(procs, O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        continue; /* a hierarchy not mounted here */
                if (write(fd, pid, strlen(pid)) < 0 && errno != ENOENT)
                        return -errno;
        }
        return 0;
}

/* The container's bounding set, from init's status: a command entered with
 * more capabilities than the container's own processes would hand them over
 * (ptrace from inside). Read before joining anything, dropped after joining
 * the user namespace: setns() into one gives a full bounding set there. */
static int read_bounding_set(pid_t leader, uint64_t *ret) {
        _cleanup_free_ char *status = NULL;
        unsigned long long bnd = 0;
        char fn[64];
        const char *p;
        int r;

        snprintf(fn, sizeof fn, "/proc/%d/status", (int) leader);
        r = read_full_file(fn, &status, NULL);
        if (r < 0)
                return r;
        p = strstr(status, "\nCapBnd:");
        if (!p || sscanf(p + strlen("\nCapBnd:"), "%llx", &bnd) != 1)
                return -EINVAL;
        *ret = bnd;
        return 0;
}

static int drop_bounding_set(uint64_t bnd) {
        for (int cap = 0; cap < 64; cap++) {
                if (bnd & (1ULL << cap))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        }
        return 0;
}

/* The seccomp filter the container's init runs under, as its helper
 * exported it (VIV_RUN_CONTAINERS_DIR/NAME.seccomp, raw BPF, root only): a
 * command entered must not get system calls the container's own processes are
 * denied. No file, no enter. */
static int read_seccomp_filter(const char *name, struct sock_fprog *ret) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t size = 0;
        int r;

        if (asprintf(&path, "%s/%s.seccomp", VIV_RUN_CONTAINERS_DIR, name) < 0)
                return -ENOMEM;
        /* a filter someone other than root could have written is no filter */
        r = read_root_file(path, &buf, &size);
        if (r < 0)
                return r;
        if (size == 0 || size % sizeof(struct sock_filter) != 0 || size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -EBADMSG;
        *ret = (struct sock_fprog) {
                .len = (unsigned short) (size / sizeof(struct sock_filter)),
                .filter = (struct sock_filter *) TAKE_PTR(buf),
        };
        return 0;
}

static void sock_fprog_done(struct sock_fprog *p) {
        free(p->filter);
}

/* init's environment, NUL-separated in /proc/PID/environ. */
static char **read_environ(pid_t leader) {
        _cleanup_free_ char *text = NULL;
        char fn[64], **env;
        size_t size = 0, n = 0;

        snprintf(fn, sizeof fn, "/proc/%d/environ", (int) leader);
        if (read_full_file(fn, &text, &size) < 0)
                return NULL;
        env = calloc(size / 2 + 2, sizeof(char *));
        if (!env)
                return NULL;
        for (size_t i = 0; i < size;) {
                size_t len = strnlen(text + i, size - i);

                if (len > 0)
                        env[n++] = text + i;
                i += len + 1;
        }
        env[n] = NULL;
        TAKE_PTR(text); /* owned by env's entries until exec */
        return env;
}

static int same_namespace(pid_t leader, const char *ns) {
        struct stat a, b;
        char fn[64];

        snprintf(fn, sizeof fn, "/proc/%d/ns/%s", (int) leader, ns);
        if (stat(fn, &a) < 0)
                return -errno;
        snprintf(fn, sizeof fn, "/proc/self/ns/%s", ns);
        if (stat(fn, &b) < 0)
                return -errno;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int enter_and_exec(const char *name, pid_t leader, char **argv) {
        int fds[ELEMENTSOF(namespaces)];
        _cleanup_close_ int root = -EBADF;
        _cleanup_(sock_fprog_done) struct sock_fprog filter = {};
        char fn[64], **env;
        bool joined_user = false;
        uint64_t bnd;
        int r;

        r = read_seccomp_filter(name, &filter);
        if (r == -EPERM)
                return ctl_error(r, "Refusing the seccomp filter of domain '%s': %s/%s.seccomp is not a regular file "
                                 "that only root can write, in a directory that only root can write", name,
                                 VIV_RUN_CONTAINERS_DIR, name);
        if (r < 0)
                return ctl_error(r, "Failed to read the seccomp filter of domain '%s': %s", name, strerror(-r));

        /* Everything is opened in the host's view, before any setns. */
        for (size_t i = 0; i < ELEMENTSOF(namespaces); i++) {
                fds[i] = -EBADF;
                r = same_namespace(leader, namespaces[i].name);
                if (r < 0)
                        return ctl_error(r, "Failed to read the %s namespace of PID %d: %s", namespaces[i].name,
                                         (int) leader, strerror(-r));
                if (r > 0)
                        continue;
                snprintf(fn, sizeof fn, "/proc/%d/ns/%s", (int) leader, namespaces[i].name);
                fds[i] = open(fn, O_RDONLY | O_CLOEXEC);
                if (fds[i] < 0)
                        return ctl_error(-errno, "Failed to open %s: %m", fn);
        }
        snprintf(fn, sizeof fn, "/proc/%d/root", (int) leader);
        root = open(fn, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return ctl_error(-errno, "Failed to open %s: %m", fn);
        env = read_environ(leader);
        if (!env)
                return ctl_error(-ENOMEM, "Failed to read the environment of PID %d", (int) leader);

        cpu_set_t cpus;
        /* init's CPU affinity (<vcpu cpuset>), as the container's processes have it */
        if (sched_getaffinity(leader, sizeof(cpus), &cpus) >= 0)
                (void) sched_setaffinity(0, sizeof(cpus), &cpus);

        r = join_cgroups(leader);
        if (r < 0)
                return ctl_error(r, "Failed to join the cgroups of PID %d: %s", (int) leader, strerror(-r));
        r = read_bounding_set(leader, &bnd);
        if (r < 0)
                return ctl_error(r, "Failed to read the capability bounding set of PID %d: %s", (int) leader,
                                 strerror(-r));

        for (size_t i = 0; i < ELEMENTSOF(namespaces); i++) {
                if (fds[i] < 0)
                        continue;
                if (setns(fds[i], namespaces[i].type) < 0)
                        return ctl_error(-errno, "Failed to enter the %s namespace of PID %d: %m",
                                         namespaces[i].name, (int) leader);
                fds[i] = safe_close(fds[i]);
                if (namespaces[i].type == CLONE_NEWUSER)
                        joined_user = true;
        }
        /* In the container's user namespace: its root, as nsenter --user does. */
        if (joined_user && (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                return ctl_error(-errno, "Failed to become root of the container's user namespace: %m");
        r = drop_bounding_set(bnd);
        if (r < 0)
                return ctl_error(r, "Failed to reduce the capability bounding set: %s", strerror(-r));
        if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
                return ctl_error(-errno, "Failed to change to the container's root: %m");

        pid_t pid = fork();
        if (pid < 0)
                return ctl_error(-errno, "Failed to fork: %m");
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                /* last, so that nothing of vivctl's own runs under it; without
                 * no_new_privs, as the container's init (helper-seccomp.c) */
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter) < 0) {
                        fprintf(stderr, "error: Failed to install the seccomp filter of domain '%s': %m\n", name);
                        _exit(127);
                }
                execvpe(argv[0], argv, env);
                fprintf(stderr, "error: Failed to execute '%s' in the container: %m\n", argv[0]);
                _exit(127);
        }

        /* The terminal's signals reach the command through its process group;
         * vivctl only waits. */
        (void) signal(SIGINT, SIG_IGN);
        (void) signal(SIGQUIT, SIG_IGN);
        siginfo_t si = {};
        if (waitid(P_PID, (id_t) pid, &si, WEXITED) < 0)
                return ctl_error(-errno, "Failed to wait for the command: %m");
        if (si.si_code == CLD_EXITED)
                return si.si_status;
        return 128 + si.si_status;
}

static int verb_enter(Context *c, const VerbArgs *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(domain_entry_done) DomainEntry d = {};
        char *sh[] = { (char *) "/bin/sh", NULL };
        uint32_t leader = 0;
        sd_bus *bus;
        int r;

        r = ctl_lookup_domain(c, args_get(a, "domain"), &d);
        if (r < 0)
                return r;
        /* The leader's PID names a process of the remote machine: joining
         * it here would enter whatever has that PID locally. */
        if (c->remote)
                return ctl_error(-EOPNOTSUPP, "enter needs the machine the container runs on; "
                                 "run 'vivctl enter' there (e.g. ssh HOST vivctl enter %s)", d.name);
        r = ctl_bus(c, &bus);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, VIV_BUS_NAME, d.path, VIV_CONTAINER_IFACE, "LeaderPID", &error,
                                                'u', &leader);
        if (r < 0)
                return ctl_report_bus_error(&error, r, d.name);
        if (leader == 0)
                return ctl_error(-EINVAL, "Requested operation is not valid: domain '%s' is not running", d.name);
        if (geteuid() != 0)
                return ctl_error(-EPERM, "enter needs root: it joins the container's namespaces itself");

        /* The bus connection is not for the container's world. */
        c->bus = sd_bus_flush_close_unref(c->bus);
        fflush(stdout);
        return enter_and_exec(d.name, (pid_t) leader, a->n_multi > 0 ? a->multi : sh);
}

static const VerbOption enter_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "cmd", OPT_STRING, OPT_POSITIONAL | OPT_MULTI, "command to run (default /bin/sh), after --" },
        {}
};

const Verb verb_table_enter[] = {
        { "enter", "Domain Management", "run a command in a running domain's namespaces",
          "Run COMMAND (default /bin/sh) inside the running domain: its namespaces,\n"
          "cgroup, root, environment and capability bounding set (libvirt's\n"
          "lxc-enter-namespace, machinectl shell), and the seccomp filter its init\n"
          "runs under. Needs root. vivctl exits with the command's status.",
          enter_options, VERB_NEEDS_URI, verb_enter },
        {}
};
