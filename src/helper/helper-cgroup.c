/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leaf cgroups inside the delegated scope: supervisor/ for the helper,
 * payload/ for the container, in cgroup2 and in the v1 hierarchies of a
 * hybrid host in which systemd realized our scope and a leaf is used
 * (cgroup_v1_wants_leaves(): name=systemd, devices, pids, freezer; in
 * memory, cpu and blkio the helper and the container share the scope's
 * cgroup). A
 * hierarchy in which we are not in the scope (e.g. a v1 controller the scope
 * was not created in) is never touched: creating directories at whatever
 * cgroup we happen to sit in there would write into someone else's tree. */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-v1.h"
#include "fileio.h"
#include "helper.h"
#include "helper-log.h"

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static int write_string_file(const char *path, const char *s) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, s, strlen(s));
        if (n < 0)
                return -errno;
        return (size_t) n == strlen(s) ? 0 : -EIO;
}

bool cgroup_host_is_unified(void) {
        struct statfs sfs;
        return statfs("/sys/fs/cgroup", &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

typedef struct CgroupLine {
        char *controllers;      /* NULL for cgroup2 */
        char *path;
} CgroupLine;

static int add_hierarchy(CgroupLeaves *c, const char *mnt, const char *path, const char *controllers) {
        CgroupHierarchy *n = realloc(c->hier, (c->n_hier + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        c->hier = n;
        n = &c->hier[c->n_hier];
        *n = (CgroupHierarchy) {
                .unified = !controllers,
                .named_systemd = controllers && streq(controllers, "name=systemd"),
                .cpuset = controllers && cgroup_controllers_have(controllers, "cpuset"),
        };
        if (asprintf(&n->dir, "%s%s", mnt, streq(path, "/") ? "" : path) < 0)
                return -ENOMEM;
        c->n_hier++;
        return 0;
}

/* DIR's FILES written into DIR/LEAF, those DIR has. */
static int copy_to_leaf(const char *dir, const char *leaf, const char *const *files, size_t n_files) {
        for (size_t i = 0; i < n_files; i++) {
                _cleanup_free_ char *src = NULL, *dst = NULL;
                char buf[4096];
                if (asprintf(&src, "%s/%s", dir, files[i]) < 0 ||
                    asprintf(&dst, "%s/%s/%s", dir, leaf, files[i]) < 0)
                        return -ENOMEM;
                _cleanup_fclose_ FILE *f = fopen(src, "re");
                if (!f)
                        continue;
                if (!fgets(buf, sizeof(buf), f))
                        continue;
                (void) write_string_file(dst, buf);
        }
        return 0;
}

static int make_leaf(CgroupHierarchy *hi, const char *leaf, bool *made) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", hi->dir, leaf) < 0)
                return -ENOMEM;
        if (mkdir(p, 0755) < 0) {
                if (errno != EEXIST)
                        return log_error_errno(errno, "Failed to create cgroup '%s': %m", p);
        } else
                *made = true;
        if (hi->cpuset) {
                static const char *const cpuset[] = { "cpuset.cpus", "cpuset.mems" };
                (void) copy_to_leaf(hi->dir, leaf, cpuset, ELEMENTSOF(cpuset));
        }
        return 0;
}

static int attach_pid(const char *dir, const char *leaf, pid_t pid) {
        _cleanup_free_ char *p = NULL;
        char buf[32];
        if (asprintf(&p, "%s%s%s/cgroup.procs", dir, leaf ? "/" : "", strempty(leaf)) < 0)
                return -ENOMEM;
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        return write_string_file(p, buf);
}

/* Writes "+NAME" (or "-NAME") to DIR's cgroup.subtree_control for each
 * controller named in DIR's FILE. One at a time: a controller the kernel
 * refuses (a threaded-only one, say) must not keep the others off. */
static void subtree_control_each(const char *dir, const char *file, char sign) {
        _cleanup_free_ char *list = NULL, *sc = NULL, *line = NULL;
        size_t sz = 0;

        if (asprintf(&list, "%s/%s", dir, file) < 0 || asprintf(&sc, "%s/cgroup.subtree_control", dir) < 0)
                return (void) log_oom();
        _cleanup_fclose_ FILE *f = fopen(list, "re");
        if (!f || getline(&line, &sz, f) <= 0)
                return;
        for (char *save = NULL, *w = strtok_r(line, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                _cleanup_free_ char *op = NULL;
                int r;

                if (asprintf(&op, "%c%s", sign, w) < 0)
                        return (void) log_oom();
                r = write_string_file(sc, op);
                if (r < 0)
                        log_warning_errno(r, "Failed to write '%s' to '%s', ignoring: %m", op, sc);
        }
}

/* cgroup2: the scope's controllers for its children, so payload/ (the root
 * of the container's cgroup namespace) has memory.max, cpu.max and the rest:
 * the container sees a limit there (the scope's memory.max, mirrored)
 * and a systemd inside can enable them for its own units, as under nspawn.
 * Possible only now that the scope's cgroup holds no process (the helper sits
 * in supervisor/). */
static void enable_controllers(const char *dir) {
        static const char *const limit[] = { "memory.max" };

        subtree_control_each(dir, "cgroup.controllers", '+');
        /* before init exists: it reads its limit from its first instruction
         * (the manager writes it again after every change, resources.c) */
        (void) copy_to_leaf(dir, "payload", limit, ELEMENTSOF(limit));
}

int cgroup_leaves_setup(CgroupLeaves *c) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
        _cleanup_free_ char *line = NULL, *unit_path = NULL, *mountinfo = NULL;
        CgroupLine lines[32];
        const char *unit = NULL;
        size_t n_lines = 0, sz = 0;
        int r = 0;

        if (!f)
                return log_error_errno(errno, "Failed to read /proc/self/cgroup: %m");

        while (n_lines < ELEMENTSOF(lines) && getline(&line, &sz, f) > 0) {
                char *a = strchr(line, ':'), *b;
                if (!a || !(b = strchr(a + 1, ':')))
                        continue;
                *b = 0;
                b[strcspn(b + 1, "\n") + 1] = 0;
                /* no controllers is the unified line: an allocation failure
                 * must not pass for one */
                lines[n_lines].controllers = a[1] ? strdup(a + 1) : NULL;
                lines[n_lines].path = strdup(b + 1);
                n_lines++;
                if (!lines[n_lines - 1].path || (a[1] && !lines[n_lines - 1].controllers)) {
                        r = log_oom();
                        goto finish;
                }
        }

        /* The unit we run in, from the hierarchy systemd manages, which it
         * chooses as we do here: cgroup2 on /sys/fs/cgroup means unified
         * mode (only cgroup2 counts, whatever v1 hierarchies the kernel also
         * lists); else the name=systemd hierarchy (hybrid, legacy). */
        bool unified = cgroup_host_is_unified();
        for (size_t i = 0; !unified && !unit && i < n_lines; i++)
                if (lines[i].controllers && streq(lines[i].controllers, "name=systemd"))
                        unit = lines[i].path;
        for (size_t i = 0; !unit && i < n_lines; i++)
                if (!lines[i].controllers)
                        unit = lines[i].path;
        if (unit && !(unit_path = strdup(unit))) {
                r = log_oom();
                goto finish;
        }

        const char *base = unit_path ? strrchr(unit_path, '/') : NULL;
        size_t bl = base ? strlen(base) : 0;
        if (!base || bl < 7 || !streq(base + bl - 6, ".scope")) {
                log_warning("Not running in a systemd scope (cgroup '%s'), not creating leaf cgroups.", strna(unit_path));
                goto finish;
        }
        c->unit = strdup(base + 1);
        if (!c->unit) {
                r = log_oom();
                goto finish;
        }

        /* mountinfo once for all of them (it is parsed line by line) */
        r = read_full_file("/proc/self/mountinfo", &mountinfo, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to read /proc/self/mountinfo: %m");
                goto finish;
        }
        for (size_t i = 0; i < n_lines; i++) {
                _cleanup_free_ char *mnt = NULL;
                if (!lines[i].path || !streq(lines[i].path, unit_path))
                        continue;
                if (unified && lines[i].controllers)
                        continue;
                if (lines[i].controllers && !cgroup_v1_wants_leaves(lines[i].controllers))
                        continue;
                if (cgroup_hierarchy_mount_from(mountinfo, lines[i].controllers, &mnt) < 0)
                        continue;
                r = add_hierarchy(c, mnt, lines[i].path, lines[i].controllers);
                if (r < 0)
                        goto finish;
        }

        for (size_t i = 0; i < c->n_hier; i++) {
                CgroupHierarchy *hi = &c->hier[i];
                r = make_leaf(hi, "supervisor", &hi->supervisor_made);
                if (r < 0)
                        goto finish;
                r = make_leaf(hi, "payload", &hi->payload_made);
                if (r < 0)
                        goto finish;
                /* cgroup2's no-internal-process rule: the helper leaves the
                 * scope's own cgroup before the payload gets a process */
                r = attach_pid(hi->dir, "supervisor", getpid());
                if (r < 0) {
                        log_error_errno(r, "Failed to move the helper into '%s/supervisor': %m", hi->dir);
                        goto finish;
                }
                if (hi->unified)
                        enable_controllers(hi->dir);
        }
        r = 0;
finish:
        for (size_t i = 0; i < n_lines; i++) {
                free(lines[i].controllers);
                free(lines[i].path);
        }
        return r;
}

int cgroup_leaves_enter_payload(CgroupLeaves *c, pid_t pid) {
        for (size_t i = 0; i < c->n_hier; i++) {
                int r = attach_pid(c->hier[i].dir, "payload", pid);
                if (r < 0)
                        return log_error_errno(r, "Failed to move init into '%s/payload': %m", c->hier[i].dir);
        }
        return 0;
}

/* <vcpu cpuset> on a host with a v1 cpuset hierarchy (hybrid, legacy): init
 * in a cpuset cgroup of its own with those CPUs. Its affinity alone already
 * limits it, but lxcfs reads a container's CPUs (/proc/cpuinfo, stat,
 * cpu/online) from its cpuset cgroup, and systemd places no scope in cpuset
 * v1; on cgroup2 the scope's AllowedCPUs= does it. */
int cgroup_leaves_enter_cpuset_v1(CgroupLeaves *c, const char *cpuset, pid_t pid) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!cpuset || !c->unit || cgroup_host_is_unified())
                return 0;
        r = cpuset_v1_path(c->unit, &path);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = cpuset_v1_enter(path, cpuset, pid);
        if (r < 0)
                return log_error_errno(r, "Failed to move init into the cpuset cgroup '%s': %m", path);
        c->cpuset_v1 = TAKE_PTR(path);
        return 1;
}

/* SIGKILLs every process of payload/ in one hierarchy; returns how many were
 * found, or < 0 when the cgroup cannot be read. */
static int kill_procs(const char *dir) {
        _cleanup_free_ char *p = NULL;
        int pid, n = 0;

        if (asprintf(&p, "%s/payload/cgroup.procs", dir) < 0)
                return -ENOMEM;
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        if (!f)
                return -errno;
        while (fscanf(f, "%d", &pid) == 1) {
                if (pid > 0 && pid != getpid()) {
                        (void) kill(pid, SIGKILL);
                        n++;
                }
        }
        return n;
}

void cgroup_leaves_kill_payload(CgroupLeaves *c) {
        for (size_t i = 0; i < c->n_hier; i++) {
                _cleanup_free_ char *p = NULL;
                if (c->hier[i].unified && asprintf(&p, "%s/payload/cgroup.kill", c->hier[i].dir) >= 0)
                        (void) write_string_file(p, "1");
        }
        /* v1 has no cgroup.kill: kill what is listed until nothing is; a
         * process forking meanwhile shows up in the next round */
        for (int round = 0; round < 50; round++) {
                int total = 0;
                for (size_t i = 0; i < c->n_hier; i++) {
                        int n = kill_procs(c->hier[i].dir);
                        if (n > 0)
                                total += n;
                }
                if (total == 0)
                        return;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        log_warning("Processes remain in the payload cgroup after repeated SIGKILL.");
}

/* Removes the cgroups the container made below payload/ (systemd as init
 * makes a tree of them), deepest first; they are empty once init is gone. */
static void remove_subtree(const char *path, int depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (depth > 64)
                return;
        d = opendir(path);
        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
                        return;
                remove_subtree(sub, depth + 1);
                (void) rmdir(sub);
        }
}

void cgroup_leaves_remove(CgroupLeaves *c) {
        if (c->cpuset_v1) {
                int r = cgroup_rmdir_retry(c->cpuset_v1);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove cgroup '%s', ignoring: %m", c->cpuset_v1);
                free(c->cpuset_v1);
                c->cpuset_v1 = NULL;
        }
        for (size_t i = 0; i < c->n_hier; i++) {
                CgroupHierarchy *hi = &c->hier[i];
                _cleanup_free_ char *sup = NULL, *pay = NULL;
                int r;

                if (asprintf(&sup, "%s/supervisor", hi->dir) < 0 || asprintf(&pay, "%s/payload", hi->dir) < 0)
                        continue;
                if (hi->payload_made) {
                        remove_subtree(pay, 0);
                        r = cgroup_rmdir_retry(pay);
                        if (r < 0)
                                log_warning_errno(r, "Failed to remove cgroup '%s', ignoring: %m", pay);
                        hi->payload_made = false;
                }
                if (hi->supervisor_made) {
                        /* we cannot remove the cgroup we sit in: back to the
                         * scope, which may hold a process only once its
                         * controllers are off for its children again */
                        if (hi->unified)
                                subtree_control_each(hi->dir, "cgroup.subtree_control", '-');
                        (void) attach_pid(hi->dir, NULL, getpid());
                        r = cgroup_rmdir_retry(sup);
                        if (r < 0)
                                log_warning_errno(r, "Failed to remove cgroup '%s', ignoring: %m", sup);
                        hi->supervisor_made = false;
                }
        }
}

int cgroup_leaves_open_payload_unified(CgroupLeaves *c) {
        for (size_t i = 0; i < c->n_hier; i++) {
                _cleanup_free_ char *p = NULL;
                if (!c->hier[i].unified)
                        continue;
                if (asprintf(&p, "%s/payload", c->hier[i].dir) < 0)
                        return -ENOMEM;
                return RET_NERRNO(open(p, O_PATH | O_DIRECTORY | O_CLOEXEC));
        }
        return -ENOENT;
}

/* Delegates payload/ of the cgroup2 hierarchy (and, on a hybrid host, of
 * name=systemd, which has no controller) to the container's root in a user
 * namespace, as systemd delegates a subtree to a user and nspawn -U does: the
 * directory and the files that move processes and enable controllers below
 * it. The container's init (systemd) can then make its units there, in both
 * trees; the scope's limits, above payload/, stay out of its reach. */
int cgroup_leaves_chown_payload(CgroupLeaves *c, uid_t uid, gid_t gid) {
        static const char *const unified[] = { "", "/cgroup.procs", "/cgroup.threads", "/cgroup.subtree_control", NULL };
        static const char *const named[] = { "", "/cgroup.procs", "/tasks", "/cgroup.clone_children",
                                             "/notify_on_release", NULL };

        for (size_t i = 0; i < c->n_hier; i++) {
                const char *const *files = c->hier[i].unified ? unified : c->hier[i].named_systemd ? named : NULL;

                for (size_t k = 0; files && files[k]; k++) {
                        _cleanup_free_ char *p = NULL;
                        if (asprintf(&p, "%s/payload%s", c->hier[i].dir, files[k]) < 0)
                                return -ENOMEM;
                        if (chown(p, uid, gid) < 0 && errno != ENOENT)
                                return -errno;
                }
        }
        return 0;
}

/* Freezes or thaws payload/: cgroup2's cgroup.freeze (a core file, present
 * without any controller, so also on the unified hierarchy of a hybrid host),
 * else a v1 freezer hierarchy in which the scope exists. The helper itself,
 * in supervisor/, keeps running: it still drains the console and answers. */
int cgroup_leaves_freeze(CgroupLeaves *c, bool freeze) {
        int r = -EOPNOTSUPP;

        for (size_t i = 0; i < c->n_hier; i++) {
                _cleanup_free_ char *p = NULL, *ev = NULL;
                CgroupHierarchy *hi = &c->hier[i];

                if (hi->unified) {
                        if (asprintf(&p, "%s/payload/cgroup.freeze", hi->dir) < 0 ||
                            asprintf(&ev, "%s/payload/cgroup.events", hi->dir) < 0)
                                return -ENOMEM;
                        r = write_string_file(p, freeze ? "1" : "0");
                        if (r < 0)
                                continue;
                        /* the write only starts it: wait until the kernel says so */
                        for (int k = 0; k < 200; k++) {
                                char line[64];
                                bool done = false;
                                _cleanup_fclose_ FILE *f = fopen(ev, "re");
                                while (f && fgets(line, sizeof(line), f))
                                        if (startswith(line, "frozen "))
                                                done = (line[7] == '1') == freeze;
                                if (done)
                                        break;
                                (void) nanosleep(&(struct timespec) { .tv_nsec = 5 * 1000 * 1000 }, NULL);
                        }
                        return 0;
                }
                if (asprintf(&p, "%s/payload/freezer.state", hi->dir) < 0)
                        return -ENOMEM;
                if (access(p, F_OK) < 0)
                        continue;
                r = write_string_file(p, freeze ? "FROZEN" : "THAWED");
                if (r >= 0)
                        return 0;
        }
        return r;
}

void cgroup_leaves_done(CgroupLeaves *c) {
        for (size_t i = 0; i < c->n_hier; i++)
                free(c->hier[i].dir);
        free(c->hier);
        free(c->unit);
        free(c->cpuset_v1);
        *c = (CgroupLeaves) {};
}

int cgroup_leaves_allow_device(CgroupLeaves *c, const char *rule) {
        static const char *const leaves[] = { "supervisor", "payload" };

        for (size_t i = 0; i < c->n_hier; i++)
                for (size_t k = 0; k < ELEMENTSOF(leaves); k++) {
                        _cleanup_free_ char *path = NULL;
                        int r;

                        if (asprintf(&path, "%s/%s/devices.allow", c->hier[i].dir, leaves[k]) < 0)
                                return -ENOMEM;
                        if (access(path, F_OK) < 0)
                                continue;  /* not the v1 devices hierarchy */
                        r = write_string_file(path, rule);
                        if (r < 0)
                                return r;
                }
        return 0;
}
