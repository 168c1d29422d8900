/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup hierarchies by mount, and the container's own cgroup in a v1 cpuset
 * hierarchy (hybrid and legacy hosts), which systemd leaves to us. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-v1.h"
#include "cpuset.h"
#include "fileio.h"
#include "macros.h"

/* Every word of the comma-separated WANT is one of the mount options OPTS. */
static bool options_have_all(const char *opts, const char *want) {
        for (const char *w = want; w && *w; ) {
                const char *we = strchr(w, ',');
                size_t wl = we ? (size_t) (we - w) : strlen(w);
                bool found = false;

                for (const char *p = opts; p && *p; ) {
                        const char *e = strchr(p, ',');
                        size_t pl = e ? (size_t) (e - p) : strlen(p);
                        if (pl == wl && strncmp(p, w, wl) == 0) {
                                found = true;
                                break;
                        }
                        p = e ? e + 1 : NULL;
                }
                if (!found)
                        return false;
                w = we ? we + 1 : NULL;
        }
        return true;
}

/* The mount of CONTROLLERS' hierarchy (cgroup2 for NULL) among the lines of
 * mountinfo F. */
static int hierarchy_mount_in(FILE *f, const char *controllers, char **ret) {
        _cleanup_free_ char *line = NULL;
        size_t sz = 0;

        while (getline(&line, &sz, f) > 0) {
                char root[4096], mnt[4096], fstype[64], source[4096], opts[4096];
                const char *sep = strstr(line, " - ");

                if (!sep)
                        continue;
                if (sscanf(sep + 3, "%63s %4095s %4095s", fstype, source, opts) != 3)
                        continue;
                if (controllers ? !streq(fstype, "cgroup") : !streq(fstype, "cgroup2"))
                        continue;
                if (sscanf(line, "%*u %*u %*u:%*u %4095s %4095s", root, mnt) != 2)
                        continue;
                if (!streq(root, "/") || (controllers && !options_have_all(opts, controllers)))
                        continue;
                if (strchr(mnt, '\\'))  /* escaped characters: not a path we use */
                        continue;
                *ret = strdup(mnt);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

int cgroup_hierarchy_mount(const char *controllers, char **ret) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");

        if (!f)
                return -errno;
        return hierarchy_mount_in(f, controllers, ret);
}

int cgroup_hierarchy_mount_from(const char *mountinfo, const char *controllers, char **ret) {
        _cleanup_fclose_ FILE *f = fmemopen((void *) mountinfo, strlen(mountinfo), "r");

        if (!f)
                return -errno;
        return hierarchy_mount_in(f, controllers, ret);
}

int cpuset_v1_path(const char *unit, char **ret) {
        _cleanup_free_ char *mnt = NULL;
        int r;

        if (!unit || strchr(unit, '/') || unit[0] == '.')
                return -EINVAL;
        r = cgroup_hierarchy_mount("cpuset", &mnt);
        if (r < 0)
                return r;
        return asprintf(ret, "%s/machine.slice/%s", mnt, unit) < 0 ? -ENOMEM : 0;
}

static int write_string(const char *dir, const char *file, const char *s) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return write_all(fd, s, strlen(s));
}

/* FILE of DIR's parent, written into DIR: v1 starts a new cpuset empty. */
static int copy_from_parent(const char *dir, const char *file) {
        _cleanup_free_ char *parent = strdup(dir), *p = NULL, *value = NULL;
        char *slash;
        int r;

        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return -EINVAL;
        *slash = 0;
        if (asprintf(&p, "%s/%s", parent, file) < 0)
                return -ENOMEM;
        r = read_full_file(p, &value, NULL);
        if (r < 0)
                return r;
        value[strcspn(value, "\n")] = 0;
        if (!value[0])
                return -ENOSPC;  /* the parent has none to give */
        return write_string(dir, file, value);
}

static int make_cpuset(const char *dir, bool *ret_made) {
        int r;

        *ret_made = false;
        if (mkdir(dir, 0755) < 0) {
                if (errno != EEXIST)
                        return -errno;
        } else
                *ret_made = true;
        r = copy_from_parent(dir, "cpuset.mems");
        if (r >= 0)
                r = copy_from_parent(dir, "cpuset.cpus");
        if (r < 0 && *ret_made)
                (void) rmdir(dir);
        return r;
}

/* LIST as the kernel's list syntax ("0,2,5"), which has no exclusions. */
static int cpu_list_format(const char *list, char **ret) {
        cpu_set_t set;
        size_t len = 0;
        char *s;
        int r;

        r = cpuset_parse(list, &set);
        if (r < 0)
                return r;
        s = malloc(CPU_COUNT(&set) * 6 + 1);
        if (!s)
                return -ENOMEM;
        s[0] = 0;
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
                if (CPU_ISSET(cpu, &set))
                        len += (size_t) sprintf(s + len, "%s%d", len ? "," : "", cpu);
        *ret = s;
        return 0;
}

int cpuset_v1_enter(const char *path, const char *list, pid_t pid) {
        _cleanup_free_ char *cpus = NULL, *slice = strdup(path);
        char pidbuf[32], *slash;
        bool made_slice, made;  /* machine.slice stays: other containers share it */
        int r;

        if (!slice)
                return -ENOMEM;
        r = cpu_list_format(list, &cpus);
        if (r < 0)
                return r;
        slash = strrchr(slice, '/');
        if (!slash || slash == slice)
                return -EINVAL;
        *slash = 0;
        r = make_cpuset(slice, &made_slice);
        (void) made_slice;
        if (r < 0)
                return r;
        r = make_cpuset(path, &made);
        if (r < 0)
                return r;
        /* the container's CPUs; the kernel refuses CPUs its parent lacks */
        r = write_string(path, "cpuset.cpus", cpus);
        if (r >= 0) {
                snprintf(pidbuf, sizeof(pidbuf), "%d", (int) pid);
                r = write_string(path, "cgroup.procs", pidbuf);
        }
        if (r < 0 && made)
                (void) rmdir(path);
        return r;
}

int cgroup_rmdir_retry(const char *path) {
        for (int i = 0; i < 100; i++) {
                if (rmdir(path) >= 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return -errno;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        return -EBUSY;
}

int cgroup_systemd_path(const char *text, bool unified, char **ret) {
        for (const char *line = text; line && *line;) {
                const char *nl = strchrnul(line, '\n'), *a = memchr(line, ':', (size_t) (nl - line)), *b;

                if (a && (b = memchr(a + 1, ':', (size_t) (nl - a - 1)))) {
                        size_t lc = (size_t) (b - a - 1);
                        bool hit = unified ? lc == 0 && strncmp(line, "0:", 2) == 0
                                           : lc == strlen("name=systemd") && strncmp(a + 1, "name=systemd", lc) == 0;
                        if (hit) {
                                *ret = strndup(b + 1, (size_t) (nl - b - 1));
                                return *ret ? 0 : -ENOMEM;
                        }
                }
                line = *nl ? nl + 1 : nl;
        }
        return -ENOENT;
}

bool cgroup_path_is_helpers(const char *path, const char *unit) {
        size_t lu = strlen(unit);

        for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
                if (strncmp(p + 1, unit, lu) != 0 || (p[1 + lu] != '/' && p[1 + lu] != 0))
                        continue;
                return p[1 + lu] == 0 || streq(p + 1 + lu, "/supervisor");
        }
        return false;
}

bool cgroup_controllers_have(const char *controllers, const char *controller) {
        return options_have_all(controllers, controller);
}

bool cgroup_v1_wants_leaves(const char *controllers) {
        static const char *const used[] = { "name=systemd", "devices", "pids", "freezer" };

        for (size_t i = 0; i < ELEMENTSOF(used); i++)
                if (cgroup_controllers_have(controllers, used[i]))
                        return true;
        return false;
}
