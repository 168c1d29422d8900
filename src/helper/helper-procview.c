/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's own view of /proc: lxcfs.
 *
 * /proc/meminfo, cpuinfo, stat, uptime, ... are the kernel's view of the whole
 * host: `free` in a container limited to 100 MiB shows the host's memory,
 * `nproc` from /proc/cpuinfo the host's CPUs. lxcfs (the FUSE filesystem LXC
 * and Incus rely on) answers each read with the figures of the reader's own
 * cgroup: its memory limit, its cpuset, the uptime of its PID namespace. When
 * it runs (a FUSE mount on /var/lib/lxcfs), its files are bound over the
 * container's, as LXC's lxcfs mount hook does.
 *
 * The files are cloned here, in the host's namespace, before init is cloned
 * (as filesystem sources are): the child only attaches the clones, so nothing
 * of lxcfs has to be visible from the container's root, and a picked user
 * namespace changes nothing (lxcfs mounts with allow_other, and a FUSE
 * allow_other mount serves any user namespace below its own).
 *
 * Without lxcfs the container starts with the kernel's files and one warning,
 * the one libvirt gives. */

#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "helper.h"
#include "helper-log.h"

#define LXCFS_DIR "/var/lib/lxcfs"
#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

/* lxcfs's files and where they go; the order of HostMounts' procview_fds */
static const char *const procview_files[PROCVIEW_MAX] = {
        "/proc/meminfo",
        "/proc/cpuinfo",
        "/proc/stat",
        "/proc/uptime",
        "/proc/loadavg",
        "/proc/diskstats",
        "/proc/swaps",
        "/sys/devices/system/cpu/online",
};

/* Whether lxcfs serves LXCFS_DIR: a FUSE filesystem there (an empty
 * directory is what the package leaves when lxcfs is not running). */
static bool lxcfs_running(void) {
        struct statfs sfs;
        return statfs(LXCFS_DIR, &sfs) >= 0 && sfs.f_type == FUSE_SUPER_MAGIC;
}

void procview_open(HostMounts *h, const char *name) {
        const uint64_t attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        size_t n = 0;

        if (!lxcfs_running()) {
                log_warning("lxcfs is not running (no FUSE filesystem on " LXCFS_DIR "): /proc/meminfo is not virtualised, "
                            "container '%s' sees the host's memory, CPUs and uptime", name);
                return;
        }
        for (size_t i = 0; i < PROCVIEW_MAX; i++) {
                _cleanup_free_ char *src = NULL;
                struct mount_attr attr = { .attr_set = attrs };

                if (asprintf(&src, LXCFS_DIR "%s", procview_files[i]) < 0) {
                        log_oom();
                        break;
                }
                int fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (fd < 0) {
                        /* an older lxcfs lacks some files: the kernel's stay */
                        log_debug_errno(errno, "Not binding '%s' over '%s': %m", src, procview_files[i]);
                        continue;
                }
                if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                        log_debug_errno(errno, "Failed to make '%s' read-only, ignoring: %m", src);
                h->procview_fds[i] = fd;
                n++;
        }
        if (n == 0)
                log_warning("lxcfs serves none of its files on " LXCFS_DIR ": /proc/meminfo is not virtualised, "
                            "container '%s' sees the host's memory, CPUs and uptime", name);
        else
                log_debug("Binding %zu files of lxcfs over container '%s''s /proc and /sys.", n, name);
}

int procview_attach(HostMounts *h, int root_fd, char **ret_error, const char *name) {
        for (size_t i = 0; i < PROCVIEW_MAX; i++) {
                _cleanup_close_ int fd = TAKE_FD(h->procview_fds[i]);
                if (fd < 0)
                        continue;
                /* never created: /proc and /sys are the kernel's */
                _cleanup_close_ int t = open_in_root(root_fd, procview_files[i], O_PATH | O_NOFOLLOW);
                if (t < 0)
                        continue;
                int r = RET_NERRNO(move_mount(fd, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to bind '" LXCFS_DIR "%s' (lxcfs) over '%s' in container '%s': %s",
                                        procview_files[i], procview_files[i], name, strerror(-r));
                        return r;
                }
        }
        return 0;
}
