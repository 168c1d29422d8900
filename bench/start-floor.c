/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * start-floor: the least a container start through systemd does, with no
 * manager, no helper exec and no client exec: the floor of bench/scale.py's
 * "nsfloor" runtime (issue 14, 1,000 containers by 8 clients).
 *
 *   start-floor N PREFIX ROOT
 *       N starts, one after the other, of PREFIX0 .. PREFIX(N-1); prints
 *       "OK FAILED ELAPSED_S" as bench-client does, the first errors on stderr.
 *
 * One start, each step one that a Vivarium start has too (its own steps, the
 * helper's exec and its cgroup leaves, the console, the seccomp filter, the
 * capability bounding set, /dev and /sys, are left out: this is a floor):
 *   - fork a supervisor (it stays, as a helper does, in the scope);
 *   - StartTransientUnit machine-NAME.scope with vivariumd's properties for
 *     the scale definition (accounting, machine.slice, Delegate=yes, the
 *     supervisor's PID, DevicePolicy=closed and the default DeviceAllow list,
 *     MemoryMax, TasksMax), and wait for its job's JobRemoved;
 *   - the supervisor clones init into new mount, PID, UTS and IPC namespaces;
 *   - init binds ROOT onto itself read-only, mounts a 1 MiB tmpfs on /tmp and
 *     a proc, pivots into ROOT, enters a new user namespace, which the
 *     supervisor maps (65536 IDs), becomes its root (setgroups, setresgid,
 *     setresuid), enters a new cgroup namespace (as the helper's init does)
 *     and execs /bin/sleep 100000;
 *   - once the exec happened (a close-on-exec pipe), RegisterMachine with
 *     init as the leader, as vivariumd does.
 * The start counts when machined has answered. A failed start leaves
 * nothing running: its supervisor is killed.
 *
 * Built by bench/run with cc $(pkg-config --cflags --libs libsystemd); not
 * part of the main build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#define USERNS_BASE 1879048192u         /* 0x70000000: one range for all of them */
#define USERNS_SIZE 65536u
#define MEMORY_MAX (64ULL * 1024 * 1024)  /* the scale definition's <memory> */
#define TASKS_MAX 16384ULL              /* vivariumd's default */

static const char *const device_allow[] = {
        "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
        "/dev/tty", "/dev/ptmx", "char-pts",
};

static char job_waited[256];
static int job_result = 0;      /* 1 done, -1 another result, 0 not yet */

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* init, in its new namespaces: makes its root as root of the host (as the
 * helper's child does), enters a new user namespace, has it mapped, becomes
 * its root, execs. What failed goes to err_fd, its step (from 1) and errno,
 * then init exits. */
static void init_child(const char *root, int to_sup, int from_sup, int err_fd) {
        char tmp[4096], proc[4096], c;
        int step = 0, e[2];

        snprintf(tmp, sizeof(tmp), "%s/tmp", root);
        snprintf(proc, sizeof(proc), "%s/proc", root);
        if (++step, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                goto fail;
        if (++step, mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
                goto fail;
        if (++step, mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                goto fail;
        if (++step, mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "size=1024k,mode=1777") < 0)
                goto fail;
        if (++step, mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                goto fail;
        if (++step, chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
            chdir("/") < 0)
                goto fail;
        if (++step, unshare(CLONE_NEWUSER) < 0)
                goto fail;
        if (++step, write(to_sup, "u", 1) != 1)
                goto fail;
        if (++step, read(from_sup, &c, 1) != 1) {
                errno = EPIPE;  /* the supervisor gave up: no map */
                goto fail;
        }
        if (++step, setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                goto fail;
        if (++step, unshare(CLONE_NEWCGROUP) < 0)
                goto fail;
        ++step;
        execl("/bin/sleep", "sleep", "100000", (char *) NULL);
fail:
        e[0] = step;
        e[1] = errno;
        (void) !write(err_fd, e, sizeof(e));
        _exit(1);
}

static int write_file(const char *path, const char *s) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, s, strlen(s));
        if (n < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        close(fd);
        return 0;
}

/* The supervisor, in the scope once go_fd says so: clones init, maps its
 * user namespace, reports its PID on rep_fd once it exec'd, then waits as
 * long as the scope lives; or reports what failed, -errno of its own or
 * -(STEP * 1000 + errno) of init's, and exits. */
static void supervisor(const char *root, int go_fd, int rep_fd) {
        struct clone_args args = {
                .flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC,
                .exit_signal = SIGCHLD,
        };
        int up[2], down[2], err[2], e[2];
        char c, path[64], map[64];
        pid_t pid;
        int32_t rep = 0;

        if (read(go_fd, &c, 1) != 1)
                _exit(1);
        if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
                _exit(1);
        pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0) {
                rep = -errno;
                (void) !write(rep_fd, &rep, sizeof(rep));
                _exit(1);
        }
        if (pid == 0) {
                close(up[0]);
                close(down[1]);
                close(err[0]);
                init_child(root, up[1], down[0], err[1]);
        }
        close(up[1]);
        close(down[0]);
        close(err[1]);
        if (read(up[0], &c, 1) == 1) {
                snprintf(map, sizeof(map), "0 %u %u\n", USERNS_BASE, USERNS_SIZE);
                snprintf(path, sizeof(path), "/proc/%d/uid_map", (int) pid);
                rep = write_file(path, map);
                if (rep == 0) {
                        snprintf(path, sizeof(path), "/proc/%d/gid_map", (int) pid);
                        rep = write_file(path, map);
                }
                if (rep == 0 && write(down[1], "g", 1) != 1)
                        rep = -errno;
        }
        close(down[1]);
        if (rep == 0)   /* EOF: init exec'd; else its step and errno */
                rep = read(err[0], e, sizeof(e)) == sizeof(e) ? -(e[0] * 1000 + e[1]) : pid;
        (void) !write(rep_fd, &rep, sizeof(rep));
        close(rep_fd);
        if (rep < 0) {  /* nothing of a failed start stays */
                kill(pid, SIGKILL);
                _exit(1);
        }
        close(up[0]);
        close(err[0]);
        for (;;)
                if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
                        pause();
}

static int job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *path, *unit, *result;
        uint32_t id;

        (void) userdata;
        (void) ret_error;
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (strcmp(path, job_waited) == 0)
                job_result = strcmp(result, "done") == 0 ? 1 : -1;
        return 0;
}

static int start_scope(sd_bus *bus, const char *unit, pid_t pid, sd_bus_error *error) {
        sd_bus_message *msg = NULL, *reply = NULL;
        const char *job;
        int r;

        r = sd_bus_message_new_method_call(bus, &msg, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(msg, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(msg, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                          "MemoryAccounting", "b", 1,
                                          "TasksAccounting", "b", 1,
                                          "CPUAccounting", "b", 1,
                                          "Description", "s", "start-floor",
                                          "Slice", "s", "machine.slice",
                                          "Delegate", "b", 1,
                                          "CollectMode", "s", "inactive-or-failed",
                                          "PIDs", "au", 1, (uint32_t) pid,
                                          "DevicePolicy", "s", "closed",
                                          "MemoryMax", "t", MEMORY_MAX,
                                          "TasksMax", "t", TASKS_MAX);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", "DeviceAllow");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'v', "a(ss)");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && i < sizeof(device_allow) / sizeof(device_allow[0]); i++)
                r = sd_bus_message_append(msg, "(ss)", device_allow[i], "rwm");
        for (int i = 0; r >= 0 && i < 4; i++)   /* a(ss), v, r, a(sv) */
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "a(sa(sv))", 0);
        if (r < 0)
                goto out;
        r = sd_bus_call(bus, msg, 0, error, &reply);
        if (r < 0)
                goto out;
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                goto out;
        snprintf(job_waited, sizeof(job_waited), "%s", job);
        job_result = 0;
        while (job_result == 0) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        goto out;
                if (r == 0 && job_result == 0) {
                        r = sd_bus_wait(bus, UINT64_MAX);
                        if (r < 0)
                                goto out;
                }
        }
        r = job_result > 0 ? 0 : -EIO;
        if (r < 0)
                sd_bus_error_set(error, "org.vivarium1.Bench.JobFailed", "the scope's job did not end 'done'");
out:
        sd_bus_message_unref(msg);
        sd_bus_message_unref(reply);
        return r;
}

static int one_start(sd_bus *bus, const char *name, const char *root, char *err, size_t errsz) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char unit[300];
        uint8_t id[16];
        int go[2] = { -1, -1 }, rep[2] = { -1, -1 }, r;
        int32_t init_pid = 0;
        pid_t sup = -1;

        if (pipe2(go, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
                r = -errno;
                snprintf(err, errsz, "%s: pipe: %s", name, strerror(-r));
                goto out;
        }
        sup = fork();
        if (sup < 0) {
                r = -errno;
                snprintf(err, errsz, "%s: fork: %s", name, strerror(-r));
                goto out;
        }
        if (sup == 0) {
                /* Nothing of the client's but its two pipes, on 3 and 4: not
                 * its output (whoever reads that waits for its end), and not
                 * its bus connection, which dbus-daemon would keep (with its
                 * match on JobRemoved) as long as a supervisor holds it. */
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                int g = fcntl(go[0], F_DUPFD_CLOEXEC, 64), p = fcntl(rep[1], F_DUPFD_CLOEXEC, 64);
                if (null < 0 || g < 0 || p < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
                    dup2(g, 3) < 0 || dup2(p, 4) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0 ||
                    fcntl(4, F_SETFD, FD_CLOEXEC) < 0 || close_range(5, ~0U, 0) < 0)
                        _exit(1);
                supervisor(root, 3, 4);
        }
        close(go[0]);
        close(rep[1]);
        go[0] = rep[1] = -1;
        snprintf(unit, sizeof(unit), "machine-%s.scope", name);
        r = start_scope(bus, unit, sup, &error);
        if (r < 0) {
                snprintf(err, errsz, "%s: StartTransientUnit: %s", name, error.message ?: strerror(-r));
                goto out;
        }
        if (write(go[1], "g", 1) != 1) {
                r = -errno;
                snprintf(err, errsz, "%s: the supervisor is gone: %s", name, strerror(-r));
                goto out;
        }
        if (read(rep[0], &init_pid, sizeof(init_pid)) != sizeof(init_pid)) {
                r = -EPIPE;
                snprintf(err, errsz, "%s: the supervisor ended without a word", name);
                goto out;
        }
        if (init_pid <= -1000) {
                r = -EIO;
                snprintf(err, errsz, "%s: init, step %d: %s", name, -init_pid / 1000, strerror(-init_pid % 1000));
                goto out;
        }
        if (init_pid <= 0) {
                r = init_pid < 0 ? init_pid : -EIO;
                snprintf(err, errsz, "%s: the supervisor: %s", name, strerror(-r));
                goto out;
        }
        if (getrandom(id, sizeof(id), 0) != sizeof(id)) {
                r = -errno;
                snprintf(err, errsz, "%s: getrandom: %s", name, strerror(-r));
                goto out;
        }
        {
                sd_bus_message *m = NULL, *reply = NULL;
                r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                                   "org.freedesktop.machine1.Manager", "RegisterMachine");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", name);
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', id, sizeof(id));
                if (r >= 0)
                        r = sd_bus_message_append(m, "ssus", "vivarium", "container", (uint32_t) init_pid, root);
                if (r >= 0)
                        r = sd_bus_call(bus, m, 0, &error, &reply);
                if (r < 0)
                        snprintf(err, errsz, "%s: RegisterMachine: %s", name, error.message ?: strerror(-r));
                sd_bus_message_unref(m);
                sd_bus_message_unref(reply);
        }
out:
        /* A failed start leaves nothing in its scope (which then ends): not
         * the supervisor, nor an init that exec'd (the supervisor kills its
         * init itself when it reports a failure). */
        if (r < 0 && init_pid > 0)
                kill(init_pid, SIGKILL);
        if (r < 0 && sup > 0) {
                kill(sup, SIGKILL);
                (void) waitpid(sup, NULL, 0);
        }
        for (int i = 0; i < 2; i++) {
                if (go[i] >= 0)
                        close(go[i]);
                if (rep[i] >= 0)
                        close(rep[i]);
        }
        sd_bus_error_free(&error);
        return r;
}

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        unsigned ok = 0, failed = 0, shown = 0;
        double t0;
        int r, n;

        if (argc != 4 || (n = atoi(argv[1])) < 0) {
                fprintf(stderr, "usage: start-floor N PREFIX ROOT\n");
                return 2;
        }
        /* a supervisor that died makes a write to its pipe fail, not this
         * process; the ones that live stay, as helpers do (reaped by the
         * test host's PID 1 once this client is gone) */
        signal(SIGPIPE, SIG_IGN);
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "start-floor: system bus: %s\n", strerror(-r));
                return 1;
        }
        r = sd_bus_match_signal(bus, NULL, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "JobRemoved", job_removed, NULL);
        if (r >= 0)
                r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "Subscribe", NULL, NULL, "");
        if (r < 0) {
                fprintf(stderr, "start-floor: JobRemoved: %s\n", strerror(-r));
                return 1;
        }
        t0 = now_s();
        for (int i = 0; i < n; i++) {
                char name[256], err[512] = "";

                snprintf(name, sizeof(name), "%s%d", argv[2], i);
                if (one_start(bus, name, argv[3], err, sizeof(err)) < 0) {
                        failed++;
                        if (shown++ < 3)
                                fprintf(stderr, "start-floor: %s\n", err[0] ? err : name);
                } else
                        ok++;
        }
        printf("%u %u %.3f\n", ok, failed, now_s() - t0);
        sd_bus_flush_close_unref(bus);
        return 0;
}
