/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The attacker of tests/test-security.sh: run as a container's init (or by
 * it), it tries each known way out of a container without a user namespace
 * and prints one line per attempt:
 *
 *   probe NAME: WHAT -> RESULT (blocked|OPEN)
 *
 * OPEN means the attack worked. It never changes a kernel setting: a file
 * whose writability matters (core_pattern, cgroup limits) is opened for
 * writing and closed, or has its own current value written back. Linked
 * statically: it runs in a busybox root without a libc. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/io_uring.h>

static const char *errname(int e) {
        static char buf[32];
        switch (e) {
        case 0: return "success";
        case EPERM: return "EPERM";
        case EACCES: return "EACCES";
        case EROFS: return "EROFS";
        case ENOENT: return "ENOENT";
        case EINVAL: return "EINVAL";
        case EBUSY: return "EBUSY";
        case ENOSYS: return "ENOSYS";
        case ENODEV: return "ENODEV";
        case ENOTDIR: return "ENOTDIR";
        case EXDEV: return "EXDEV";
        case ECONNREFUSED: return "ECONNREFUSED";
        }
        snprintf(buf, sizeof buf, "errno %d", e);
        return buf;
}

/* open=true: the attack worked */
static void report(const char *name, bool open, const char *fmt, ...) {
        va_list ap;
        printf("probe %s: ", name);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf(" (%s)\n", open ? "OPEN" : "blocked");
        fflush(stdout);
}

/* 0 when PATH opens for writing (nothing is written), else the errno */
static int open_for_write(const char *path) {
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno;
        close(fd);
        return 0;
}

static int try_mount(const char *src, const char *target, const char *type, unsigned long flags) {
        return mount(src, target, type, flags, NULL) < 0 ? errno : 0;
}

static char scratch[64];

static const char *scratch_dir(void) {
        if (!scratch[0]) {
                /* a shared root in a user namespace is read-only: then the
                 * container's own tmpfs at /ram (every mode has it), so a
                 * mount attempt is judged by the mount, not by a mkdir */
                snprintf(scratch, sizeof scratch, "/tmp/vt-probe.XXXXXX");
                if (!mkdtemp(scratch)) {
                        snprintf(scratch, sizeof scratch, "/ram/vt-probe.XXXXXX");
                        if (!mkdtemp(scratch))
                                snprintf(scratch, sizeof scratch, "/tmp");
                }
        }
        return scratch;
}

#define CORE_PATTERN "/proc/sys/kernel/core_pattern"

static void probe_proc_sys(void) {
        int e, w;

        w = open_for_write(CORE_PATTERN);
        report("core-pattern", w == 0, "open %s O_WRONLY -> %s", CORE_PATTERN, errname(w));

        e = try_mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND);
        w = open_for_write(CORE_PATTERN);
        report("remount-proc-sys", e == 0 || w == 0, "mount -o remount,bind,rw /proc/sys -> %s, core_pattern O_WRONLY -> %s",
               errname(e), errname(w));

        e = umount2("/proc/sys", MNT_DETACH) < 0 ? errno : 0;
        w = open_for_write(CORE_PATTERN);
        report("umount-proc-sys", e == 0 || w == 0, "umount /proc/sys -> %s, core_pattern O_WRONLY -> %s",
               errname(e), errname(w));

        e = open_for_write("/proc/sysrq-trigger");
        report("sysrq-trigger", e == 0, "open /proc/sysrq-trigger O_WRONLY -> %s", errname(e));
}

static void probe_proc_masks(void) {
        static const char *const masked[] = { "/proc/kcore", "/proc/timer_list", "/proc/sched_debug", "/proc/keys" };
        for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
                struct stat st;
                if (stat(masked[i], &st) < 0)
                        continue;
                int e = umount2(masked[i], MNT_DETACH) < 0 ? errno : 0;
                report("umount-proc-mask", e == 0, "umount %s -> %s", masked[i], errname(e));
                return;
        }
        report("umount-proc-mask", false, "no masked /proc path exists -> nothing to unmount");
}

/* a fresh instance of TYPE, by mount(2) and by the new mount API */
static void probe_fresh(const char *name, const char *type) {
        char dir[96], probe[80];
        int e;

        snprintf(dir, sizeof dir, "%s/%s", scratch_dir(), type);
        (void) mkdir(dir, 0700);
        e = try_mount(type, dir, type, 0);
        if (e == 0) {
                char cp[128];
                snprintf(cp, sizeof cp, "%s/sys/kernel/core_pattern", dir);
                int w = strcmp(type, "proc") == 0 ? open_for_write(cp) : -1;
                if (strcmp(type, "devtmpfs") == 0) {
                        /* the host's own nodes: the device policy must hold */
                        char node[128];
                        snprintf(node, sizeof node, "%s/loop0", dir);
                        int fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                        report("devtmpfs-node", fd >= 0, "open loop0 of that devtmpfs O_RDONLY -> %s",
                               errname(fd >= 0 ? 0 : errno));
                        if (fd >= 0)
                                close(fd);
                }
                (void) umount2(dir, MNT_DETACH);
                report(name, true, "mount -t %s %s -> success%s%s", type, dir,
                       w >= 0 ? ", its core_pattern O_WRONLY -> " : "", w >= 0 ? errname(w) : "");
        } else
                report(name, false, "mount -t %s %s -> %s", type, dir, errname(e));

        snprintf(probe, sizeof probe, "%s-fsopen", name);
        int fs = fsopen(type, FSOPEN_CLOEXEC);
        if (fs < 0) {
                report(probe, false, "fsopen(\"%s\") -> %s", type, errname(errno));
                return;
        }
        e = fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ? errno : 0;
        int m = e == 0 ? fsmount(fs, FSMOUNT_CLOEXEC, 0) : -1;
        if (e == 0 && m < 0)
                e = errno;
        report(probe, m >= 0, "fsopen+fsconfig+fsmount(\"%s\") -> %s", type, errname(e));
        if (m >= 0)
                close(m);
        close(fs);
}

static void probe_sys(void) {
        int e = try_mount(NULL, "/sys", NULL, MS_REMOUNT | MS_BIND);
        report("remount-sys", e == 0, "mount -o remount,bind,rw /sys -> %s", errname(e));

        /* the new mount API's way to the same end */
        struct mount_attr attr = { .attr_clr = MOUNT_ATTR_RDONLY };
        e = mount_setattr(AT_FDCWD, "/proc/sys", 0, &attr, sizeof attr) < 0 ? errno : 0;
        report("mount-setattr-proc-sys", e == 0, "mount_setattr(/proc/sys, clear MOUNT_ATTR_RDONLY) -> %s", errname(e));

        int t = open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        report("open-tree-clone", t >= 0, "open_tree(/proc, OPEN_TREE_CLONE) -> %s", errname(t >= 0 ? 0 : errno));
        if (t >= 0)
                close(t);
}

/* nodes of the host that the test bound into the container at /hostnodes */
static void probe_devices(void) {
        static const char *const nodes[] = { "/hostnodes/loop0", "/hostnodes/loop-control" };
        for (size_t i = 0; i < 2; i++) {
                struct stat st;
                if (stat(nodes[i], &st) < 0) {
                        report("open-host-node", false, "stat %s -> %s, not bound here", nodes[i], errname(errno));
                        continue;
                }
                int fd = open(nodes[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                report("open-host-node", fd >= 0, "open %s (%s %u:%u) O_RDONLY -> %s", nodes[i],
                       S_ISBLK(st.st_mode) ? "block" : "char", major(st.st_rdev), minor(st.st_rdev),
                       errname(fd >= 0 ? 0 : errno));
                if (fd >= 0)
                        close(fd);
        }

        char path[96];
        snprintf(path, sizeof path, "%s/loop0", scratch_dir());
        int e = mknod(path, S_IFBLK | 0600, makedev(7, 0)) < 0 ? errno : 0;
        report("mknod", e == 0, "mknod %s b 7 0 -> %s", path, errname(e));
        if (e == 0)
                (void) unlink(path);
}

/* Finds the cgroup directory below ROOT whose cgroup.procs lists PID. */
static bool find_own_cgroup(const char *root, const char *pid, char *ret, size_t n, int depth) {
        char path[512];
        snprintf(path, sizeof path, "%s/cgroup.procs", root);
        FILE *f = fopen(path, "re");
        if (f) {
                char line[32];
                bool found = false;
                while (fgets(line, sizeof line, f))
                        if (strtol(line, NULL, 10) == strtol(pid, NULL, 10)) {
                                found = true;
                                break;
                        }
                fclose(f);
                if (found) {
                        snprintf(ret, n, "%s", root);
                        return true;
                }
        }
        if (depth > 8)
                return false;
        DIR *d = opendir(root);
        if (!d)
                return false;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s", root, de->d_name);
                if (find_own_cgroup(path, pid, ret, n, depth + 1)) {
                        closedir(d);
                        return true;
                }
        }
        closedir(d);
        return false;
}

/* write FILE's own value back: a successful write changes nothing */
static int write_back(const char *file) {
        char value[128] = "";
        FILE *f = fopen(file, "re");
        if (!f)
                return errno;
        if (!fgets(value, sizeof value, f))
                value[0] = 0;
        fclose(f);
        int fd = open(file, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        ssize_t k = write(fd, value, strlen(value));
        int e = k < 0 ? errno : 0;
        close(fd);
        return e;
}

/* cgroup2 in our own cgroup namespace (HIER): its root, payload/ seen from
 * the host, shows the scope's memory limit, which must stay out of our
 * reach (the cgroups below the root are the container's own, a systemd
 * inside sets limits there). A write into the root's cgroup.procs reaches
 * no higher than that root: a move within the container's own tree, unless
 * the root were not the container's. Only the host can tell, so a child
 * that moved stays (10 min, or until the container ends) for the host to
 * see where it is (tests/lib/security.sh, security_contained). */
static void probe_cgroup2(const char *hier, const char *own) {
        char file[600];
        struct stat st;
        int fds[2], e;

        snprintf(file, sizeof file, "%s/memory.max", hier);
        if (stat(file, &st) == 0) {
                e = write_back(file);
                report("cgroup-own-limit", e == 0, "write %s's own value back -> %s", file, errname(e));
        }
        if (strcmp(own, hier) == 0 || pipe(fds) < 0)
                return;
        snprintf(file, sizeof file, "%s/cgroup.procs", hier);
        pid_t child = fork();
        if (child == 0) {
                char buf[16];
                int fd = open(file, O_WRONLY | O_CLOEXEC), null = open("/dev/null", O_RDWR);
                e = fd < 0 ? errno : 0;
                snprintf(buf, sizeof buf, "%d", (int) getpid());
                if (fd >= 0 && write(fd, buf, strlen(buf)) < 0)
                        e = errno;
                /* nothing of the caller's may stay open: a pipe it reads
                 * to the end would wait for this child */
                if (null >= 0)
                        for (int i = 0; i <= 2; i++)
                                (void) dup2(null, i);
                (void) write(fds[1], &e, sizeof e);
                if (e != 0)
                        _exit(0);
                close(fds[1]);
                alarm(600);
                pause();
                _exit(0);
        }
        close(fds[1]);
        e = EIO;
        if (child < 0 || read(fds[0], &e, sizeof e) != sizeof e)
                e = child < 0 ? errno : EIO;
        close(fds[0]);
        if (e != 0) {
                if (child > 0)
                        (void) waitpid(child, NULL, 0);
                report("cgroup-escape", false, "echo PID > %s -> %s", file, errname(e));
                return;
        }
        report("cgroup-escape", false,
               "echo PID > %s -> moved to the root of its cgroup namespace; pid %d stays there for the host to judge",
               file, (int) child);
}

static void probe_cgroups(void) {
        char pid[16], own[512], file[600];
        struct stat st;
        const char *hier = NULL, *limit = NULL;

        snprintf(pid, sizeof pid, "%d", (int) getpid());
        if (stat("/sys/fs/cgroup/memory/memory.limit_in_bytes", &st) == 0) {
                hier = "/sys/fs/cgroup/memory";         /* v1 hybrid: the host's hierarchy */
                limit = "memory.limit_in_bytes";
        } else if (stat("/sys/fs/cgroup/memory.max", &st) == 0 || stat("/sys/fs/cgroup/cgroup.procs", &st) == 0) {
                hier = "/sys/fs/cgroup";                /* cgroup2 in our cgroup namespace */
                limit = "memory.max";
        }
        if (!hier) {
                report("cgroup-remount", false, "no cgroup hierarchy visible -> nothing to remount");
                return;
        }

        int e = try_mount(NULL, hier, NULL, MS_REMOUNT | MS_BIND);
        report("cgroup-remount", e == 0, "mount -o remount,bind,rw %s -> %s", hier, errname(e));

        if (!find_own_cgroup(hier, pid, own, sizeof own, 0)) {
                report("cgroup-own-limit", false, "own cgroup not found below %s", hier);
                return;
        }
        if (strcmp(limit, "memory.max") == 0) {
                probe_cgroup2(hier, own);
                return;
        }
        snprintf(file, sizeof file, "%s/%s", own, limit);
        if (stat(file, &st) == 0) {
                e = write_back(file);
                report("cgroup-own-limit", e == 0, "write %s's own value back -> %s", file, errname(e));
        }
        /* one level up: the scope, where the limits are */
        char *slash = strrchr(own, '/');
        if (slash && slash > own + strlen(hier)) {
                *slash = 0;
                snprintf(file, sizeof file, "%s/%s", own, limit);
                if (stat(file, &st) == 0) {
                        e = write_back(file);
                        report("cgroup-parent-limit", e == 0, "write %s's own value back -> %s", file, errname(e));
                }
        }
        /* leave for the hierarchy's root: out of every limit */
        snprintf(file, sizeof file, "%s/cgroup.procs", hier);
        if (strcmp(own, hier) != 0) {
                int fd = open(file, O_WRONLY | O_CLOEXEC);
                e = fd < 0 ? errno : (write(fd, pid, strlen(pid)) < 0 ? errno : 0);
                if (fd >= 0)
                        close(fd);
                report("cgroup-escape", e == 0, "echo %s > %s -> %s", pid, file, errname(e));
        }
}

static void probe_syscalls(void) {
        long r = syscall(SYS_userfaultfd, O_CLOEXEC);
        report("userfaultfd", r >= 0, "userfaultfd() -> %s", errname(r >= 0 ? 0 : errno));
        if (r >= 0)
                close((int) r);

        struct io_uring_params p = {};
        r = syscall(SYS_io_uring_setup, 1, &p);
        report("io-uring", r >= 0, "io_uring_setup(1) -> %s", errname(r >= 0 ? 0 : errno));
        if (r >= 0)
                close((int) r);
}

/* a tmpfs nobody sized: the kernel's default is half of the RAM */
static void probe_tmpfs(const char *name, const char *path) {
        struct statvfs sv;
        struct sysinfo si;

        if (statvfs(path, &sv) < 0) {
                report(name, false, "statvfs %s -> %s, not mounted here", path, errname(errno));
                return;
        }
        if (sysinfo(&si) < 0)
                return;
        unsigned long long size = (unsigned long long) sv.f_blocks * sv.f_frsize;
        unsigned long long ram = (unsigned long long) si.totalram * si.mem_unit;
        report(name, size > ram / 8, "%s is %llu MiB, RAM %llu MiB", path, size >> 20, ram >> 20);
}

/* another container's files, which vivctl enter trusts */
static void probe_run_vivarium(const char *victim) {
        char path[256];
        snprintf(path, sizeof path, "/run/vivarium/containers/%s.seccomp", victim);
        int e = open_for_write(path);
        report("victim-seccomp", e == 0, "open %s O_WRONLY -> %s", path, errname(e));

        snprintf(path, sizeof path, "/run/vivarium/containers/%s.sock", victim);
        struct stat st;
        e = stat(path, &st) < 0 ? errno : 0;
        report("victim-socket", e == 0, "stat %s -> %s", path, errname(e));
}

int main(int argc, char **argv) {
        const char *victim = argc > 1 ? argv[1] : "victim";
        char capbnd[64] = "?";

        /* init's stdout is the console: the test reads a file instead */
        if (argc > 2 && !freopen(argv[2], "we", stdout))
                return 1;
        FILE *f = fopen("/proc/self/status", "re");

        if (f) {
                char line[256];
                while (fgets(line, sizeof line, f))
                        if (strncmp(line, "CapBnd:", 7) == 0)
                                sscanf(line + 7, "%63s", capbnd);
                fclose(f);
        }
        printf("info CapBnd %s uid %d\n", capbnd, (int) getuid());

        probe_proc_sys();
        probe_proc_masks();
        probe_sys();
        probe_fresh("fresh-proc", "proc");
        probe_fresh("fresh-sysfs", "sysfs");
        probe_fresh("devtmpfs", "devtmpfs");
        probe_devices();
        probe_cgroups();
        probe_syscalls();
        probe_tmpfs("shm-size", "/dev/shm");
        probe_tmpfs("ram-size", "/ram");
        probe_run_vivarium(victim);
        if (scratch[0] && strcmp(scratch, "/tmp") != 0) {
                static const char *const subdirs[] = { "proc", "sysfs", "devtmpfs" };
                char dir[96];
                for (size_t i = 0; i < 3; i++) {
                        snprintf(dir, sizeof dir, "%s/%s", scratch, subdirs[i]);
                        (void) rmdir(dir);
                }
                (void) rmdir(scratch);
        }
        printf("probes done\n");
        return 0;
}
