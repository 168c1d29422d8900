/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's mounts.
 *
 * The helper opens the sources of <filesystem type='mount'> in the host's
 * mount namespace (open_tree(OPEN_TREE_CLONE)), before init is cloned: a
 * source below an automount point is resolved by the host's automounter as
 * for any other program, and a missing source fails the start with its name.
 * The child then, in its own mount namespace:
 *   1. makes every mount a slave, so nothing it does propagates to the host;
 *   2. detaches every autofs mount it inherited, before walking any path: an
 *      autofs mount copied into a new namespace answers ELOOP and triggers the
 *      host's automounter as a side effect (the seed's unresolved problem);
 *   3. attaches the private root (or uses the host's root, shared), builds
 *      /proc, /sys, /dev and the configured mounts under it, all paths
 *      resolved with RESOLVE_IN_ROOT so a symlink in the container's tree
 *      cannot point a mount at the host;
 *   4. pivot_root()s into a private root and detaches the old one in a single
 *      MNT_DETACH.
 * Nothing is ever mounted in the host's namespace, so a failed start leaves
 * no mount behind: the namespace dies with the child. */

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "helper-log.h"

int open_in_root(int root_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        return RET_NERRNO((int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how)));
}

int mkdir_p_in_root(int root_fd, const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        size_t len;

        if (!p)
                return -ENOMEM;
        len = strlen(p);
        for (size_t i = 1; i <= len; i++) {
                if (p[i] != '/' && p[i] != 0)
                        continue;
                if (p[i - 1] == '/')
                        continue;
                char saved = p[i];
                p[i] = 0;

                int fd = open_in_root(root_fd, p, O_PATH | O_DIRECTORY);
                if (fd >= 0)
                        safe_close(fd);
                else if (fd != -ENOENT)
                        return fd;
                else {
                        char *slash = strrchr(p, '/');
                        _cleanup_close_ int parent = -EBADF;
                        *slash = 0;
                        parent = open_in_root(root_fd, *p ? p : "/", O_PATH | O_DIRECTORY);
                        *slash = '/';
                        if (parent < 0)
                                return parent;
                        if (mkdirat(parent, slash + 1, mode) < 0 && errno != EEXIST)
                                return -errno;
                }
                p[i] = saved;
        }
        return 0;
}

/* A new, detached filesystem instance (fsopen/fsmount). Options are "key=value"
 * or flags "key". */
int fs_new_mount(const char *fstype, const char *const *options, unsigned attrs, int *ret_fd) {
        _cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        /* what /proc/mounts shows in the source column */
        (void) fsconfig(fs, FSCONFIG_SET_STRING, "source", fstype, 0);
        for (const char *const *o = options; o && *o; o++) {
                const char *eq = strchr(*o, '=');
                int r;
                if (eq) {
                        _cleanup_free_ char *key = strndup(*o, (size_t) (eq - *o));
                        if (!key)
                                return -ENOMEM;
                        r = fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0);
                } else
                        r = fsconfig(fs, FSCONFIG_SET_FLAG, *o, NULL, 0);
                if (r < 0)
                        return -errno;
        }
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        int m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        if (m < 0)
                return -errno;
        *ret_fd = m;
        return 0;
}

/* An empty file as the mount point of a file, its parents made as needed. */
static int create_file_in_root(int root_fd, const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int parent = -EBADF;
        char *slash;
        int r, f;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        *slash = 0;
        if (*dir) {
                r = mkdir_p_in_root(root_fd, dir, 0755);
                if (r < 0)
                        return r;
        }
        parent = open_in_root(root_fd, *dir ? dir : "/", O_PATH | O_DIRECTORY);
        if (parent < 0)
                return parent;
        f = openat(parent, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (f < 0 && errno != EEXIST)
                return -errno;
        safe_close(f);
        return 0;
}

/* Attaches a detached mount (fsmount or open_tree clone) at target under
 * root_fd, creating the target (directory, or empty file) when missing. */
int attach_mount(int mnt_fd, int root_fd, const char *target, bool create_file) {
        _cleanup_close_ int t = -EBADF;
        int r;

        t = open_in_root(root_fd, target, O_PATH);
        if (t == -ENOENT) {
                r = create_file ? create_file_in_root(root_fd, target) : mkdir_p_in_root(root_fd, target, 0755);
                if (r < 0)
                        return r;
                t = open_in_root(root_fd, target, O_PATH);
        }
        if (t < 0)
                return t;
        return RET_NERRNO(move_mount(mnt_fd, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
}

static int set_mount_attr(int mnt_fd, uint64_t set, bool recursive) {
        struct mount_attr attr = { .attr_set = set };
        return RET_NERRNO(mount_setattr(mnt_fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)));
}

/* --- helper side --- */

void host_mounts_init(HostMounts *h) {
        *h = (HostMounts) {
                .root_fd = -EBADF,
                .userns_fd = -EBADF,
                .userns_pidfd = -EBADF,
                .console_sock = { -EBADF, -EBADF },
                .console_slave = -EBADF,
                .notify_fd = -EBADF,
        };
        for (size_t i = 0; i < ELEMENTSOF(h->dev_fds); i++)
                h->dev_fds[i] = -EBADF;
        for (size_t i = 0; i < ELEMENTSOF(h->procview_fds); i++)
                h->procview_fds[i] = -EBADF;
        for (size_t i = 0; i < ELEMENTSOF(h->userns_owned); i++)
                h->userns_owned[i] = -EBADF;
}

void host_mounts_close(HostMounts *h) {
        safe_close(h->root_fd);
        for (size_t i = 0; i < h->n_fs_fds; i++)
                safe_close(h->fs_fds[i]);
        free(h->fs_fds);
        for (size_t i = 0; i < ELEMENTSOF(h->dev_fds); i++)
                safe_close(h->dev_fds[i]);
        for (size_t i = 0; i < ELEMENTSOF(h->procview_fds); i++)
                safe_close(h->procview_fds[i]);
        safe_close(h->console_sock[0]);
        safe_close(h->console_sock[1]);
        safe_close(h->console_slave);
        safe_close(h->userns_fd);
        for (size_t i = 0; i < ELEMENTSOF(h->userns_owned); i++)
                safe_close(h->userns_owned[i]);
        if (h->userns_pidfd >= 0)
                (void) waitid(P_PIDFD, (id_t) h->userns_pidfd, NULL, WEXITED);
        safe_close(h->userns_pidfd);
        for (size_t i = 0; i < h->n_shared; i++) {
                safe_close(h->shared[i].fd);
                free(h->shared[i].path);
        }
        free(h->shared);
        hostdev_close_nodes(h);
        host_mounts_init(h);
}

/* A writable source that is the host's root directory, by name or through a
 * symlink anywhere on its path, would hand the container the whole host
 * read-write (open_tree() follows symlinks, as a bind mount does). Compared
 * on the opened tree, so no rename between a check and the open can slip
 * through. Read-only it is an explicit choice, and allowed. */
static int refuse_host_root(int fd, const DomainFilesystem *fs, const char *name, char **ret_error) {
        struct stat st, root;

        if (fs->readonly)
                return 0;
        if (fstat(fd, &st) < 0 || stat("/", &root) < 0)
                return -errno;
        if (st.st_dev != root.st_dev || st.st_ino != root.st_ino)
                return 0;
        (void) asprintf(ret_error,
                        "Filesystem source '%s' of container '%s' %s the host's root directory '/': refusing to mount it writable (add <readonly/> to share it read-only)",
                        fs->source, name, streq(fs->source, "/") ? "is" : "resolves to");
        return -EPERM;
}

/* A detached tmpfs for <filesystem type='ram'> of the given usage, owned by
 * the container's root, UID and GID (host IDs) (at start, and for a live
 * attach: helper-fsattach.c). */
int ram_mount_open(const DomainFilesystem *fs, uid_t uid, gid_t gid, int *ret_fd) {
        char size[64], uid_opt[32], gid_opt[32];
        const char *opts[] = { "mode=0755", size, TMPFS_NESTED_INODES, uid_opt, gid_opt, NULL };

        if (fs->ram_usage_kib > 0)
                snprintf(size, sizeof(size), "size=%lluk", (unsigned long long) fs->ram_usage_kib);
        else
                snprintf(size, sizeof(size), "%s", TMPFS_NESTED_SIZE);
        snprintf(uid_opt, sizeof(uid_opt), "uid=%u", (unsigned) uid);
        snprintf(gid_opt, sizeof(gid_opt), "gid=%u", (unsigned) gid);
        return fs_new_mount("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (fs->readonly ? MOUNT_ATTR_RDONLY : 0),
                            ret_fd);
}

/* The clone of a type='mount' source, read-only when asked (at start, and
 * for a live attach: helper-fsattach.c). */
int filesystem_source_open(const DomainFilesystem *fs, const char *name, int *ret_fd, char **ret_error) {
        int r;

        /* Resolved here, in the host's namespace: automounts under the
         * source are triggered as for any host program. */
        _cleanup_close_ int fd = open_tree(AT_FDCWD, fs->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0) {
                r = -errno;
                (void) asprintf(ret_error, "Failed to open filesystem source '%s' for container '%s': %s",
                                fs->source, name, strerror(-r));
                return r;
        }
        r = refuse_host_root(fd, fs, name, ret_error);
        if (r < 0)
                return r;
        if (fs->readonly) {
                r = set_mount_attr(fd, MOUNT_ATTR_RDONLY, true);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to make filesystem source '%s' read-only for container '%s': %s",
                                        fs->source, name, strerror(-r));
                        return r;
                }
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int host_mounts_open(HostMounts *h, const DomainDef *def, char **ret_error) {
        int r;

        h->fs_fds = calloc(def->n_filesystems ? def->n_filesystems : 1, sizeof(int));
        if (!h->fs_fds)
                return -ENOMEM;
        h->n_fs_fds = def->n_filesystems;
        for (size_t i = 0; i < def->n_filesystems; i++)
                h->fs_fds[i] = -EBADF;

        for (size_t i = 0; i < def->n_filesystems; i++) {
                const DomainFilesystem *fs = &def->filesystems[i];
                int fd;
                if (fs->type == FILESYSTEM_MOUNT)
                        r = filesystem_source_open(fs, def->name, &fd, ret_error);
                else if (fs->type == FILESYSTEM_FILE || fs->type == FILESYSTEM_BLOCK)
                        /* a detached mount of the image, as a clone is (helper-image.c) */
                        r = image_mount_open(fs, def->name, h->nbd, &fd, ret_error);
                else
                        continue;
                if (r < 0)
                        return r;
                if (streq(fs->target, "/") && h->root_fd < 0) {
                        /* the mount points every container needs, made here
                         * with the host's privileges: the container's root in a
                         * user namespace usually may not write to its "/" */
                        static const char *const dirs[] = { "dev", "proc", "sys" };
                        for (size_t k = 0; k < ELEMENTSOF(dirs); k++)
                                if (mkdirat(fd, dirs[k], 0755) < 0 && errno != EEXIST)
                                        log_debug_errno(errno, "Failed to create '%s/%s', ignoring: %m", fs->source, dirs[k]);
                        h->root_fd = fd;
                        h->init_systemd = os_init_is_systemd(fd, def->init);
                }
                else
                        h->fs_fds[i] = fd;
        }

        /* Mount points of a private root made with the host's privileges too
         * (resolved inside the root): a user namespace's root may not. The
         * shared root of a picked range is read-only (helper-userns.c): its
         * mount points are made on the host's tree, as a shared root without
         * a user namespace makes them. */
        _cleanup_close_ int host_root = -EBADF;
        int points_fd = h->root_fd;
        if (points_fd < 0 && (def->userns_picked || domain_def_userns_pick(def))) {
                host_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                points_fd = host_root;
        }
        for (size_t i = 0; points_fd >= 0 && i < def->n_filesystems; i++) {
                const DomainFilesystem *fs = &def->filesystems[i];
                struct stat st;
                if (streq(fs->target, "/"))
                        continue;
                if (h->fs_fds[i] >= 0 &&
                    fstat(h->fs_fds[i], &st) >= 0 && !S_ISDIR(st.st_mode)) {
                        if (h->root_fd >= 0)
                                continue;  /* a file: the child creates its target */
                        _cleanup_close_ int t = open_in_root(points_fd, fs->target, O_PATH);
                        r = t >= 0 ? 0 : create_file_in_root(points_fd, fs->target);
                } else
                        r = mkdir_p_in_root(points_fd, fs->target, 0755);
                if (r < 0)
                        log_debug_errno(r, "Failed to create mount point '%s', ignoring: %m", fs->target);
        }

        r = dev_open_host_nodes(h->dev_fds, ELEMENTSOF(h->dev_fds));
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to open the host's device nodes for container '%s': %s",
                                def->name, strerror(-r));
                return r;
        }

        procview_open(h, def->name);
        h->n_consoles = def->n_consoles;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, h->console_sock) < 0) {
                r = -errno;
                (void) asprintf(ret_error, "Failed to set up the console of container '%s': %s", def->name, strerror(-r));
                return r;
        }
        return 0;
}

/* --- child side --- */

/* mountinfo escapes space, tab, newline and backslash as \ooo */
void mountinfo_unescape(char *s) {
        char *w = s;
        for (char *r = s; *r; ) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = 0;
}

static size_t path_depth(const char *p) {
        size_t n = 0;
        for (; *p; p++)
                if (*p == '/')
                        n++;
        return n;
}

static int cmp_depth_desc(const void *a, const void *b) {
        size_t da = path_depth(*(char *const *) a), db = path_depth(*(char *const *) b);
        return da < db ? 1 : da > db ? -1 : 0;
}

/* Detaches all autofs mounts of our (new) mount namespace. Only the
 * mountinfo text is read and umount2() is called with UMOUNT_NOFOLLOW on the
 * mount point itself, which does not trigger the automount; nothing under an
 * autofs point is ever stat()ed or opened. Deepest first, so that a nested
 * autofs is gone before its parent. A mount stacked on an autofs point (a
 * triggered automount) is detached with it. */
static int detach_autofs_mounts(void) {
        for (int round = 0; round < 64; round++) {
                _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
                _cleanup_free_ char *line = NULL;
                char **points = NULL;
                size_t n = 0, sz = 0, detached = 0;

                if (!f)
                        return -errno;
                while (getline(&line, &sz, f) > 0) {
                        char mnt[4096], fstype[64];
                        const char *sep = strstr(line, " - ");
                        if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || !streq(fstype, "autofs"))
                                continue;
                        if (sscanf(line, "%*u %*u %*u:%*u %*s %4095s", mnt) != 1)
                                continue;
                        mountinfo_unescape(mnt);
                        char **np = realloc(points, (n + 1) * sizeof(char *));
                        if (!np)
                                break;
                        points = np;
                        if (!(points[n] = strdup(mnt)))
                                break;
                        n++;
                }
                if (n == 0) {
                        free(points);
                        return 0;
                }
                qsort(points, n, sizeof(char *), cmp_depth_desc);
                for (size_t i = 0; i < n; i++) {
                        if (umount2(points[i], MNT_DETACH | UMOUNT_NOFOLLOW) >= 0) {
                                log_info("Detached autofs mount '%s' from the container's mount namespace.", points[i]);
                                detached++;
                        } else
                                log_warning_errno(errno, "Failed to detach autofs mount '%s', ignoring: %m", points[i]);
                        free(points[i]);
                }
                free(points);
                if (detached == 0)
                        return 0;  /* what is left cannot be detached */
        }
        return 0;
}

/* A staging mount point for the private root, in our own namespace only. */
static int attach_private_root(int root_clone, int *ret_root_fd) {
        static const char *const candidates[] = { "/run", "/tmp", "/mnt", "/var/tmp" };
        int r = -ENOENT;

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                _cleanup_close_ int t = open(candidates[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (t < 0)
                        continue;
                r = RET_NERRNO(move_mount(root_clone, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
                if (r < 0)
                        continue;
                *ret_root_fd = open(candidates[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
                return *ret_root_fd < 0 ? -errno : 0;
        }
        return r;
}

/* The shared root of a container with a picked ID range: the host's mounts,
 * each an idmapped clone where its filesystem allows (helper-userns.c),
 * rebuilt on a staging point like a private root. */
static int attach_shared_root(HostMounts *h, int *ret_root_fd) {
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        r = attach_private_root(h->shared[0].fd, &root_fd);
        if (r < 0)
                return r;
        for (size_t i = 1; i < h->n_shared; i++) {
                struct stat st;
                bool is_file = fstat(h->shared[i].fd, &st) >= 0 && !S_ISDIR(st.st_mode);
                r = attach_mount(h->shared[i].fd, root_fd, h->shared[i].path, is_file);
                if (r < 0)
                        return log_debug_errno(r, "Failed to attach '%s' to the shared root: %m", h->shared[i].path);
        }
        *ret_root_fd = TAKE_FD(root_fd);
        return 0;
}

static int setup_proc(int root_fd, bool privnet) {
        static const char *const opts[] = { NULL };
        _cleanup_close_ int proc = -EBADF, sys = -EBADF, net = -EBADF, procdir = -EBADF;
        int r;

        r = fs_new_mount("proc", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, &proc);
        if (r < 0)
                return r;
        r = attach_mount(proc, root_fd, "/proc", false);
        if (r < 0)
                return r;

        /* /proc/sys read-only: kernel tunables are the host's. With a private
         * network namespace its net/ sysctls are the container's own. */
        procdir = open_in_root(root_fd, "/proc", O_PATH | O_DIRECTORY);
        if (procdir < 0)
                return procdir;
        if (privnet) {
                net = open_tree(procdir, "sys/net", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (net < 0)
                        return -errno;
        }
        sys = open_tree(procdir, "sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (sys < 0)
                return -errno;
        r = set_mount_attr(sys, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, false);
        if (r < 0)
                return r;
        r = attach_mount(sys, root_fd, "/proc/sys", false);
        if (r < 0)
                return r;
        if (net >= 0) {
                r = attach_mount(net, root_fd, "/proc/sys/net", false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* /proc files that tell about or act on the host kernel: hidden behind
 * /dev/null (files) or an empty read-only tmpfs (directories), or made
 * read-only. Paths missing on this kernel are skipped. */
static const char *const proc_masked[] = {
        "/proc/kcore",          /* host memory image */
        "/proc/keys",           /* the host's keys, all users */
        "/proc/key-users",
        "/proc/timer_list",     /* host timers: leaks other tasks' activity */
        "/proc/latency_stats",
        "/proc/sched_debug",    /* every task on the host */
        "/proc/acpi",
        "/proc/scsi",           /* writing to it rescans the host's buses */
        "/proc/asound",
};
static const char *const proc_readonly[] = {
        "/proc/sysrq-trigger",  /* would reboot/crash the host */
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
};

/* A shared root sees the host's /run. What there lets a container's root
 * (uid 0 on the host without a user namespace) act as the host's root: the
 * other containers' control sockets, live XML and the seccomp filters that
 * vivctl enter installs (/run/vivarium), the host's system bus (vivariumd,
 * systemd and every other service take uid 0 for the host's root) and
 * systemd's private socket. Masked as the /proc paths are. */
static const char *const shared_root_masked[] = {
        "/run/vivarium",
        "/run/dbus/system_bus_socket",
        "/run/systemd/private",
};

/* Each existing path of PATHS hidden behind /dev/null (files, sockets) or
 * an empty read-only tmpfs (directories). */
static int mask_paths(int root_fd, const char *const *paths, size_t n) {
        int r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int t = open_in_root(root_fd, paths[i], O_PATH | O_NOFOLLOW), m = -EBADF;
                struct stat st;
                if (t < 0)
                        continue;
                if (fstat(t, &st) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode)) {
                        static const char *const opts[] = { "mode=0555", "size=0", NULL };
                        r = fs_new_mount("tmpfs", opts, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, &m);
                } else {
                        _cleanup_close_ int null = open_in_root(root_fd, "/dev/null", O_PATH);
                        if (null < 0)
                                return null;
                        m = open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                        r = m < 0 ? -errno : set_mount_attr(m, MOUNT_ATTR_RDONLY, false);
                }
                if (r < 0)
                        return r;
                r = RET_NERRNO(move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int setup_proc_masks(int root_fd) {
        int r;

        r = mask_paths(root_fd, proc_masked, ELEMENTSOF(proc_masked));
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(proc_readonly); i++) {
                _cleanup_close_ int t = open_in_root(root_fd, proc_readonly[i], O_PATH | O_NOFOLLOW), m = -EBADF;
                if (t < 0)
                        continue;
                m = open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
                if (m < 0)
                        return -errno;
                r = set_mount_attr(m, MOUNT_ATTR_RDONLY, true);
                if (r < 0)
                        return r;
                r = RET_NERRNO(move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* On a unified host, the container's own cgroup tree on /sys/fs/cgroup: a
 * cgroup2 mounted in its cgroup namespace shows payload/ as "/", writable when
 * the scope was delegated to us (systemd as init creates its units there),
 * read-only otherwise. Without it /sys/fs/cgroup would be the host's whole
 * tree (read-only) or, with a fresh sysfs, empty. Optional: a failure is
 * logged and the container starts without it. */
static void setup_cgroupfs(int root_fd, const HostMounts *h) {
        static const char *const opts[] = { NULL };
        _cleanup_close_ int m = -EBADF;
        int r;

        if (!h->cgroup_unified)
                return;
        r = fs_new_mount("cgroup2", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                         (h->cgroup_writable ? 0 : MOUNT_ATTR_RDONLY), &m);
        if (r >= 0)
                r = attach_mount(m, root_fd, "/sys/fs/cgroup", false);
        if (r < 0)
                log_warning_errno(r, "Failed to mount the container's cgroup tree on /sys/fs/cgroup, ignoring: %m");
}

static int setup_sys(int root_fd, bool privnet) {
        _cleanup_close_ int m = -EBADF;
        const unsigned attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        int r;

        if (privnet) {
                /* a fresh sysfs shows the network devices of our namespace */
                static const char *const opts[] = { NULL };
                r = fs_new_mount("sysfs", opts, attrs, &m);
        } else {
                /* sysfs may only be mounted afresh by the owner of the network
                 * namespace: with the host's network, the host's /sys, read-only */
                m = open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                r = m < 0 ? -errno : set_mount_attr(m, attrs, true);
        }
        if (r < 0)
                return r;
        return attach_mount(m, root_fd, "/sys", false);
}

static int cmp_fs_depth(const void *a, const void *b) {
        const DomainFilesystem *fa = *(const DomainFilesystem *const *) a, *fb = *(const DomainFilesystem *const *) b;
        size_t da = path_depth(fa->target), db = path_depth(fb->target);
        if (da != db)
                return da < db ? -1 : 1;
        return fa < fb ? -1 : fa > fb;
}

static int setup_filesystems(const DomainDef *def, HostMounts *h, int root_fd, char **ret_error) {
        _cleanup_free_ const DomainFilesystem **order = calloc(def->n_filesystems + 1, sizeof(*order));
        int r;

        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < def->n_filesystems; i++)
                order[i] = &def->filesystems[i];
        /* parents before children: /var before /var/www */
        qsort(order, def->n_filesystems, sizeof(*order), cmp_fs_depth);

        for (size_t k = 0; k < def->n_filesystems; k++) {
                const DomainFilesystem *fs = order[k];
                size_t i = (size_t) (fs - def->filesystems);
                _cleanup_close_ int m = -EBADF;
                bool is_file = false;
                struct stat st;

                if (streq(fs->target, "/"))
                        continue;
                switch (fs->type) {
                case FILESYSTEM_MOUNT:
                case FILESYSTEM_FILE:
                case FILESYSTEM_BLOCK:
                        m = TAKE_FD(h->fs_fds[i]);
                        break;
                case FILESYSTEM_BIND: {
                        _cleanup_close_ int s = open_in_root(root_fd, fs->source, O_PATH);
                        if (s < 0) {
                                r = s;
                                (void) asprintf(ret_error, "Failed to open filesystem source '%s' in container '%s': %s",
                                                fs->source, def->name, strerror(-r));
                                return r;
                        }
                        m = open_tree(s, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
                        if (m < 0)
                                return -errno;
                        if (fs->readonly) {
                                r = set_mount_attr(m, MOUNT_ATTR_RDONLY, true);
                                if (r < 0)
                                        return r;
                        }
                        break;
                }
                case FILESYSTEM_RAM: {
                        r = ram_mount_open(fs, h->root_uid, h->root_gid, &m);
                        if (r < 0) {
                                (void) asprintf(ret_error, "Failed to create RAM filesystem for '%s' in container '%s': %s",
                                                fs->target, def->name, strerror(-r));
                                return r;
                        }
                        break;
                }
                default:
                        continue;
                }
                if (m < 0)
                        continue;
                if (fstat(m, &st) >= 0 && !S_ISDIR(st.st_mode))
                        is_file = true;
                r = attach_mount(m, root_fd, fs->target, is_file);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to mount filesystem on '%s' in container '%s': %s",
                                        fs->target, def->name, strerror(-r));
                        return r;
                }
        }
        return 0;
}

static int fail(char **ret_error, int r, const char *what, const char *name) {
        if (!*ret_error)
                (void) asprintf(ret_error, "Failed to set up %s of container '%s': %s", what, name, strerror(-r));
        return r;
}

int container_setup_mounts(const DomainDef *def, HostMounts *h, char **ret_error) {
        _cleanup_close_ int root_fd = -EBADF;
        bool privnet = domain_def_has_privnet(def), pivot = false;
        int r;

        /* Nothing we mount from here on may propagate to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return fail(ret_error, -errno, "mount propagation", def->name);

        r = detach_autofs_mounts();
        if (r < 0)
                return fail(ret_error, r, "autofs mounts", def->name);

        if (h->root_fd >= 0) {
                r = attach_private_root(h->root_fd, &root_fd);
                if (r < 0)
                        return fail(ret_error, r, "the root filesystem", def->name);
                h->root_fd = safe_close(h->root_fd);
                pivot = true;
        } else if (h->n_shared > 0) {
                r = attach_shared_root(h, &root_fd);
                if (r < 0)
                        return fail(ret_error, r, "the shared root filesystem", def->name);
                pivot = true;
        } else {
                root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        return fail(ret_error, -errno, "the root filesystem", def->name);
        }

        r = setup_proc(root_fd, privnet);
        if (r < 0)
                return fail(ret_error, r, "/proc", def->name);
        r = setup_sys(root_fd, privnet);
        if (r < 0)
                return fail(ret_error, r, "/sys", def->name);
        setup_cgroupfs(root_fd, h);
        r = os_setup_mounts(def, h, root_fd, ret_error);
        if (r < 0)
                return fail(ret_error, r, "the OS container's mounts", def->name);
        r = dev_setup(root_fd, h, ret_error);
        if (r < 0)
                return fail(ret_error, r, "/dev", def->name);
        r = os_setup_dev(def, h, root_fd);
        if (r < 0)
                log_warning_errno(r, "Failed to make /dev/net/tun in container '%s', ignoring: %m", def->name);
        r = setup_proc_masks(root_fd);
        if (r < 0)
                return fail(ret_error, r, "masked /proc paths", def->name);
        r = procview_attach(h, root_fd, ret_error, def->name);
        if (r < 0)
                return fail(ret_error, r, "the /proc view", def->name);
        if (!domain_def_root(def)) {
                r = mask_paths(root_fd, shared_root_masked, ELEMENTSOF(shared_root_masked));
                if (r < 0)
                        return fail(ret_error, r, "masked /run paths", def->name);
        }
        r = setup_filesystems(def, h, root_fd, ret_error);
        if (r < 0)
                return fail(ret_error, r, "filesystems", def->name);

        if (pivot) {
                /* private root: make it "/", and drop the host's tree in one
                 * detach (never a walk through the host's mounts) */
                if (fchdir(root_fd) < 0)
                        return fail(ret_error, -errno, "the root filesystem", def->name);
                if (syscall(SYS_pivot_root, ".", ".") < 0)
                        return fail(ret_error, -errno, "the root filesystem (pivot_root)", def->name);
                if (umount2(".", MNT_DETACH) < 0)
                        return fail(ret_error, -errno, "the root filesystem (detaching the old root)", def->name);
        }
        if (chdir("/") < 0)
                return fail(ret_error, -errno, "the root filesystem", def->name);
        return 0;
}
