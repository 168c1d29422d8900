/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's user namespace.
 *
 * The helper creates it before init exists (a short-lived child unshares it
 * and the helper writes its maps), and keeps an fd to it, and to the PID,
 * IPC, UTS and network namespaces that child made as the namespace's root:
 * those belong to the user namespace, so the container's root is capable in
 * them (reboot(2), its interfaces and net sysctls, its hostname). Init is
 * cloned into them, but not into the user namespace, with a new mount
 * namespace that belongs to the host's: as the host's root it builds the
 * container's mounts there — /proc included, which the kernel refuses to a user
 * namespace's root when the host's own /proc is partly covered, as it is in
 * nspawn or LXC containers and in our test hosts ("mnt_already_visible") —
 * then joins the user namespace and unshares its mount namespace once more.
 * That copy belongs to the less privileged user namespace, so the kernel
 * locks every mount in it: the /proc masks, the read-only /proc/sys, /sys and
 * cgroup trees, /dev cannot be unmounted, remounted writable or moved by the
 * container's root. LXC and nspawn make their masks stick the same way.
 *
 * A picked range (no <idmap>, <vivarium:userns mode='pick'/>) maps the
 * container's 0..65535 onto 65,536 host IDs of our span (userns-range.h),
 * locked by a file for as long as the helper lives, and the root and every
 * <filesystem type='mount'> source are idmapped mounts with that namespace
 * (mount_setattr(MOUNT_ATTR_IDMAP)): nobody chowns a tree, and what the
 * container's root writes into a host directory belongs to the host's root
 * on disk. An explicit <idmap> is libvirt's: the maps as given, no idmapped
 * mount, the tree chowned by the user. */

#include <fcntl.h>
#include <linux/capability.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "helper-log.h"
#include "userns-range.h"

int write_id_map(pid_t pid, const char *file, const DomainIdmap *map, size_t n) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);

        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                fprintf(m, "%u %u %u\n", map[i].start, map[i].target, map[i].count);
        if (fclose(m) != 0)
                return -ENOMEM;
        if (asprintf(&path, "/proc/%d/%s", (int) pid, file) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, len) != (ssize_t) len)
                return -errno;
        return 0;
}

/* The host ID that id of the container maps to, or -1 when unmapped. */
static int64_t map_id(const DomainIdmap *map, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (id >= map[i].start && id - map[i].start < map[i].count)
                        return (int64_t) map[i].target + (id - map[i].start);
        return -1;
}

/* pidfs (Linux 6.11): the PID namespace a process's children are born in.
 * /proc/PID/ns/pid_for_children cannot be opened before that namespace has
 * a PID 1, and ours gets init as its PID 1 only through this fd. */
#ifndef PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE
#define PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE _IO(0xFF, 6)
#endif

static const char *const owned_ns_names[_USERNS_OWNED_MAX] = {
        [USERNS_OWNED_PID] = "pid_for_children",
        [USERNS_OWNED_NET] = "net",
        [USERNS_OWNED_IPC] = "ipc",
        [USERNS_OWNED_UTS] = "uts",
};

static const int owned_ns_types[_USERNS_OWNED_MAX] = {
        [USERNS_OWNED_PID] = CLONE_NEWPID,
        [USERNS_OWNED_NET] = CLONE_NEWNET,
        [USERNS_OWNED_IPC] = CLONE_NEWIPC,
        [USERNS_OWNED_UTS] = CLONE_NEWUTS,
};

/* The user namespace's child shares the helper's memory (CLONE_VM): no copy
 * of the helper's page tables at its birth, no teardown of a copy at its end,
 * and no copy-on-write fault in the helper for every page it writes while the
 * child lives (on this machine kind each of those costs more than the rest of
 * the child's work). Sharing the memory means sharing glibc's thread-local
 * state, errno among it: so the child runs on a stack of its own, makes only
 * raw system calls, copies what it needs from UsernsChild before it reports,
 * and may write errno only while the helper is blocked waiting for that
 * report; after it, its one call is a read that ends by EOF. */
typedef struct UsernsChild {
        int flags;              /* what it unshares */
        int status_fd;          /* 0 or the errno of unshare() */
        int end_fd;             /* EOF: the helper has the namespaces */
        int end_wr;             /* the helper's end of end_fd: not the child's */
} UsernsChild;

/* not instrumented: AddressSanitizer's per-thread state (its fake stack)
 * is the helper's, in the TLS they share */
__attribute__((no_sanitize_address)) static int userns_child(void *userdata) {
        const UsernsChild *c = userdata;
        int flags = c->flags, status_fd = c->status_fd, end_fd = c->end_fd, err = 0;
        char b;

        (void) syscall(SYS_close, c->end_wr);
        (void) syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        /* full capabilities in the new user namespace, maps or not */
        if (syscall(SYS_unshare, flags) < 0)
                err = errno;
        (void) syscall(SYS_write, status_fd, &err, sizeof(err));
        /* no handler runs here (none is installed for a signal the helper
         * does not block: no EINTR) and end_fd is open: the read ends by EOF,
         * when the helper has closed end_wr */
        while (syscall(SYS_read, end_fd, &b, 1) > 0)
                ;
        return 0;
}

/* One helper makes one user namespace (container_start() runs once a
 * process), so the child's stack can be the helper's: it exits long before
 * anything could run on it again. */
static uint8_t userns_child_stack[16384] __attribute__((aligned(16)));
static bool userns_child_made;

/* The user namespace with the definition's maps, as an fd, and the PID,
 * IPC, UTS (and private network) namespaces made by its root, so that they
 * belong to it: the container's root may reboot(2) its PID namespace,
 * configure its interfaces, write its net sysctls. A child unshares them and
 * waits until the helper has written the maps and opened them: the
 * namespaces live on through the fds. The child is not waited for here (on a
 * busy machine that costs a round of scheduling): host_mounts_close() reaps
 * it by m->userns_pidfd, long after. */
static int userns_create(const DomainDef *def, HostMounts *m) {
        _cleanup_close_ int pidfd = -EBADF, ns = -EBADF;
        int fds[2], flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS, err = 0, r;
        char path[64];

        if (userns_child_made)
                return -EBUSY;
        if (domain_def_has_privnet(def))
                flags |= CLONE_NEWNET;
        /* <lxc:namespace>: init joins those instead (helper-nsshare.c) */
        flags &= ~(int) nsshare_clone_flags_unshared(def);
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int rd = fds[0], wr = fds[1];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int st_rd = fds[0], st_wr = fds[1];
        UsernsChild child = { .flags = flags, .status_fd = st_wr, .end_fd = rd, .end_wr = wr };
        pid_t pid = clone(userns_child, userns_child_stack + sizeof(userns_child_stack),
                          CLONE_VM | CLONE_NEWUSER | CLONE_PIDFD | SIGCHLD, &child, &pidfd);
        if (pid < 0) {
                pidfd = -EBADF;         /* a number the kernel may have written and released */
                return -errno;
        }
        userns_child_made = true;
        /* Until the child's report is in, nothing here may write errno:
         * close() of an open fd does not, safe_close() does (it restores). */
        (void) close(TAKE_FD(rd));
        (void) close(TAKE_FD(st_wr));
        if (read(st_rd, &err, sizeof(err)) != (ssize_t) sizeof(err))
                err = EIO;      /* it died before it could tell */
        m->userns_pidfd = TAKE_FD(pidfd);

        r = err != 0 ? -err : 0;
        if (r >= 0)
                r = write_id_map(pid, "uid_map", def->uid_map, def->n_uid_map);
        if (r >= 0)
                r = write_id_map(pid, "gid_map", def->n_gid_map ? def->gid_map : def->uid_map,
                                 def->n_gid_map ? def->n_gid_map : def->n_uid_map);
        if (r >= 0) {
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
                ns = open(path, O_RDONLY | O_CLOEXEC);
                if (ns < 0)
                        r = -errno;
        }
        for (size_t i = 0; r >= 0 && i < _USERNS_OWNED_MAX; i++) {
                int fd;

                if (!(flags & owned_ns_types[i]))
                        continue;
                if (i == USERNS_OWNED_PID) {
                        fd = ioctl(m->userns_pidfd, PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0);
                        if (fd < 0 && (errno == ENOTTY || errno == EINVAL))
                                continue;  /* an older kernel: init makes its own, the host's */
                } else {
                        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) pid, owned_ns_names[i]);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                }
                if (fd < 0)
                        r = -errno;
                else
                        m->userns_owned[i] = fd;
        }
        wr = safe_close(wr);   /* the child ends */
        if (r < 0)
                return r;
        m->userns_fd = TAKE_FD(ns);
        return 0;
}

/* Helper side, around the clone of init: the helper (host root, capable in
 * the user namespace's) moves itself into the namespaces the user namespace
 * owns, so init is born in them, and back right after. saved[] gets the
 * helper's own; on failure those it has left are restored. */
int userns_join_owned(const HostMounts *m, int saved[_USERNS_OWNED_MAX]) {
        char path[64];
        int r;

        for (size_t i = 0; i < _USERNS_OWNED_MAX; i++)
                saved[i] = -EBADF;
        for (size_t i = 0; i < _USERNS_OWNED_MAX; i++) {
                if (m->userns_owned[i] < 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/self/ns/%s", owned_ns_names[i]);
                saved[i] = open(path, O_RDONLY | O_CLOEXEC);
                if (saved[i] < 0) {
                        r = -errno;
                        goto fail;
                }
                if (setns(m->userns_owned[i], owned_ns_types[i]) < 0) {
                        r = -errno;
                        goto fail;
                }
        }
        return 0;
fail:
        (void) userns_leave_owned(saved);
        return r;
}

/* Back to the helper's own namespaces; closes saved[]. */
int userns_leave_owned(int saved[_USERNS_OWNED_MAX]) {
        int r = 0;

        for (size_t i = 0; i < _USERNS_OWNED_MAX; i++) {
                if (saved[i] < 0)
                        continue;
                if (setns(saved[i], owned_ns_types[i]) < 0 && r == 0)
                        r = -errno;
                saved[i] = safe_close(saved[i]);
        }
        return r;
}

/* The type of the filesystem mounted at path, from mountinfo, for messages. */
static void fstype_of(const char *path, char ret[64]) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        struct statx stx;
        size_t sz = 0;

        snprintf(ret, 64, "unknown");
        if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
                return;
        f = fopen("/proc/self/mountinfo", "re");
        while (f && getline(&line, &sz, f) > 0) {
                unsigned long long id;
                const char *sep = strstr(line, " - ");
                if (sscanf(line, "%llu", &id) == 1 && id == stx.stx_mnt_id && sep &&
                    sscanf(sep + 3, "%63s", ret) == 1)
                        return;
        }
}

int idmap_clone(int mnt_fd, int userns_fd, const char *source, const char *what, const char *name,
                       char **ret_error) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd };
        char fstype[64];
        int r;

        r = RET_NERRNO(mount_setattr(mnt_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)));
        if (r >= 0)
                return 0;
        fstype_of(source, fstype);
        (void) asprintf(ret_error,
                        "Failed to map the IDs of %s '%s' (%s) for container '%s': %s. "
                        "The filesystem (or one mounted below it) cannot be idmapped: give the container an "
                        "explicit <idmap> and chown the tree to it, or opt out with <vivarium:userns mode='off'/>",
                        what, source, fstype, name, strerror(-r));
        return r;
}

static bool path_under(const char *path, const char *dir) {
        size_t l = strlen(dir);
        return strncmp(path, dir, l) == 0 && (path[l] == 0 || path[l] == '/');
}

static int shared_add(HostMounts *m, const char *path, int fd) {
        /* a later mount on the same point covers the earlier one */
        for (size_t i = 0; i < m->n_shared; i++)
                if (streq(m->shared[i].path, path)) {
                        safe_close(m->shared[i].fd);
                        m->shared[i].fd = fd;
                        return 0;
                }
        SharedMount *n = realloc(m->shared, (m->n_shared + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        m->shared = n;
        m->shared[m->n_shared].path = strdup(path);
        if (!m->shared[m->n_shared].path)
                return -ENOMEM;
        m->shared[m->n_shared++].fd = fd;
        return 0;
}

/* The host's tree for a shared root, mount by mount (an idmapped mount
 * cannot span filesystems that do not support it): each one cloned,
 * read-only, idmapped where its filesystem allows. One that does not
 * (proc-like, overlayfs, ...) is kept unmapped: the container sees its files
 * owned by "nobody". What the container writes goes to its <filesystem>
 * mounts. /proc, /sys and /dev are the container's own;
 * autofs points are left out (the container never triggers the host's
 * automounter). */
static int shared_root_open(HostMounts *m, int userns_fd, const char *name, char **ret_error) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t sz = 0;
        int r;

        if (!f)
                return -errno;
        while (getline(&line, &sz, f) > 0) {
                char mnt[4096], fstype[64];
                const char *sep = strstr(line, " - ");

                if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || sscanf(line, "%*u %*u %*u:%*u %*s %4095s", mnt) != 1)
                        continue;
                mountinfo_unescape(mnt);
                if (streq(fstype, "autofs") || path_under(mnt, "/proc") || path_under(mnt, "/sys") ||
                    path_under(mnt, "/dev"))
                        continue;
                if (m->n_shared == 0 && !streq(mnt, "/"))
                        continue;  /* below a root we do not see */
                int fd = open_tree(AT_FDCWD, mnt, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW);
                if (fd < 0) {
                        log_debug_errno(errno, "Failed to clone '%s' for the shared root, leaving it out: %m", mnt);
                        continue;
                }
                /* read-only: idmapped, the container's root would be the
                 * host's root for every file of the host */
                struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd };
                if (mount_setattr(fd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0) {
                        r = -errno;
                        safe_close(fd);
                        (void) asprintf(ret_error, "Failed to make '%s' read-only for container '%s': %s",
                                        mnt, name, strerror(-r));
                        return r;
                }
                if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
                        if (errno != EINVAL && errno != EOPNOTSUPP) {
                                r = -errno;
                                safe_close(fd);
                                (void) asprintf(ret_error, "Failed to map the IDs of '%s' (%s) for container '%s': %s",
                                                mnt, fstype, name, strerror(-r));
                                return r;
                        }
                        log_full_errno(streq(mnt, "/") ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, 0,
                                 "'%s' (%s) cannot be idmapped: container '%s' sees its files owned by nobody.",
                                 mnt, fstype, name);
                }
                r = shared_add(m, mnt, fd);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
        }
        if (m->n_shared == 0) {
                (void) asprintf(ret_error, "Failed to find the host's root mount for container '%s'", name);
                return -ENOENT;
        }
        return 0;
}

static int lock_range(Helper *h, char **ret_error) {
        DomainDef *def = h->def;
        int r;

        if (domain_def_userns_pick(def)) {
                /* no manager picked one (foreground): the same search */
                uint32_t base;

                r = userns_range_pick(USERNS_RANGE_LOCK_DIR, def->uuid, NULL, NULL, &base, &h->userns_lock_fd);
                if (r >= 0)
                        r = domain_def_set_picked_range(def, base);
                if (r < 0)
                        (void) asprintf(ret_error, r == -EBUSY ? "No free ID range left for container '%s'" :
                                        "Failed to pick an ID range for container '%s': %s", def->name, strerror(-r));
                return r;
        }

        uint32_t base = def->uid_map[0].target;
        r = userns_range_lock(USERNS_RANGE_LOCK_DIR, base, &h->userns_lock_fd);
        if (r < 0)
                (void) asprintf(ret_error, "Failed to lock the ID range %" PRIu32 " of container '%s': %s",
                                base, def->name, r == -EBUSY ? "in use by another container" : strerror(-r));
        return r;
}

int userns_prepare(Helper *h, char **ret_error) {
        DomainDef *def = h->def;
        HostMounts *m = &h->host;
        int r;

        if (domain_def_userns_pick(def) || def->userns_picked) {
                r = lock_range(h, ret_error);
                if (r < 0)
                        return r;
        }
        if (def->n_uid_map == 0) {
                if (def->userns_mode == USERNS_MODE_OFF)
                        log_warning("Container '%s' runs without a user namespace (<vivarium:userns mode='off'/>): "
                                    "its root is the host's root.", def->name);
                return 0;
        }

        r = userns_create(def, m);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to create the user namespace of container '%s': %s",
                                def->name, strerror(-r));
                return r;
        }

        /* what the host side makes for the container (/dev, tmpfs, the
         * console) belongs to its root */
        const DomainIdmap *gmap = def->n_gid_map ? def->gid_map : def->uid_map;
        size_t n_gmap = def->n_gid_map ? def->n_gid_map : def->n_uid_map;
        int64_t uid = map_id(def->uid_map, def->n_uid_map, 0), gid = map_id(gmap, n_gmap, 0);
        int64_t tty = map_id(gmap, n_gmap, 5);
        m->root_uid = uid >= 0 ? (uid_t) uid : 0;
        m->root_gid = gid >= 0 ? (gid_t) gid : 0;
        m->tty_gid = tty >= 0 ? (gid_t) tty : m->root_gid;

        r = cgroup_leaves_chown_payload(&h->cgroups, m->root_uid, m->root_gid);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to delegate the cgroup of container '%s' to its root: %s",
                                def->name, strerror(-r));
                return r;
        }

        if (!def->userns_picked)
                return 0;
        const DomainFilesystem *root = domain_def_root(def);
        if (!root) {
                r = shared_root_open(m, m->userns_fd, def->name, ret_error);
                if (r < 0)
                        return r;
        } else if (m->root_fd >= 0) {
                r = idmap_clone(m->root_fd, m->userns_fd, root->source, "the root filesystem", def->name, ret_error);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < m->n_fs_fds; i++) {
                if (m->fs_fds[i] < 0)
                        continue;
                r = idmap_clone(m->fs_fds[i], m->userns_fd, def->filesystems[i].source, "filesystem", def->name,
                                ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Child side, once its mounts are built as the host's root: become the
 * container's root and take a mount namespace of the user namespace's own,
 * in which the kernel locks every mount we made (see the top), and a cgroup
 * namespace of its own too (rooted where the first one was, payload/), so
 * the container's root owns it. Its PID, IPC, UTS and network namespaces
 * are the user namespace's already (userns_create()). Joining a user
 * namespace fills the capability bounding set again: what the host's set
 * lacked (this machine has no CAP_SYS_RESOURCE) is dropped again, so a
 * container never holds more in its own namespace than the host gave us. */
int userns_enter(int userns_fd) {
        uint64_t lacked = 0;
        int last = CAP_LAST_CAP;

        for (int c = 0; c <= last && c < 64; c++)
                if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0)
                        lacked |= UINT64_C(1) << c;
        if (setns(userns_fd, CLONE_NEWUSER) < 0)
                return -errno;
        if (setgroups(0, NULL) < 0)
                return -errno;
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return -errno;
        for (int c = 0; c <= last && c < 64; c++)
                if ((lacked & (UINT64_C(1) << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
                        return -errno;
        if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0)
                return -errno;
        return 0;
}
