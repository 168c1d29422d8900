/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Live attach and detach of a <filesystem> (vivariumd's
 * AttachDevice/DetachDevice): a host directory (type='mount'), a tmpfs
 * (type='ram'), or the filesystem of a block device or a raw image through
 * a loop device (type='block', type='file'), mounted into the running
 * container, or unmounted from it. libvirt's LXC driver attaches no
 * filesystem live at all; this goes beyond it.
 *
 * The tmpfs and the images are made as at start (ram_mount_open(),
 * image_mount_open()): detached mounts, the loop device set to autoclear,
 * so that it is released when the last mount of its filesystem goes (the
 * detach, the container's end, a failed attach) with no cleanup of ours.
 *
 * The source is opened in the host's mount namespace (open_tree(
 * OPEN_TREE_CLONE), as at start: an automount below it is the host's
 * business), made read-only when asked and, under a picked ID range, idmapped
 * with the container's user namespace, all while the clone is detached (the
 * kernel sets an idmap on nothing else). A short-lived child then enters the
 * container's mount namespace and, when the container has a user namespace,
 * becomes its root there: the container's tree is an idmapped mount that
 * takes new directories only from IDs it maps, and its mount namespace is
 * its user namespace's. It makes the target directory (or file) if missing,
 * resolved inside the container's root, and moves the clone onto it. The
 * helper never changes its own namespaces: it is the host's root for all
 * that follows.
 *
 * Detach unmounts the target the same way. A mount made at start cannot be
 * unmounted in a container with a user namespace: init built it in a mount
 * namespace of the host's and then took a copy owned by its user namespace,
 * in which the kernel locks every mount (MNT_LOCKED, for anyone), so that
 * nothing hidden under them is revealed. That detach is refused saying so;
 * --config takes it out of the next start. */

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-names.h"
#include "helper.h"
#include "helper-log.h"

/* What the child reports: which step failed (0: none) and its errno. */
typedef enum FsStep {
        FS_STEP_DONE,
        FS_STEP_ENTER,
        FS_STEP_ACT,
} FsStep;

typedef struct FsVerdict {
        int step;
        int error;   /* positive errno */
} FsVerdict;

/* The container's mount namespace and, when it has one, its user namespace
 * (else -EBADF), from its init. */
static int container_ns_open(Helper *h, int *ret_mnt, int *ret_user) {
        char path[64];
        struct stat own, theirs;

        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) h->init_pid);
        _cleanup_close_ int mnt = open(path, O_RDONLY | O_CLOEXEC);
        if (mnt < 0)
                return -errno;
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) h->init_pid);
        _cleanup_close_ int user = open(path, O_RDONLY | O_CLOEXEC);
        if (user < 0)
                return -errno;
        if (fstat(user, &theirs) < 0 || stat("/proc/self/ns/user", &own) < 0)
                return -errno;
        if (own.st_dev == theirs.st_dev && own.st_ino == theirs.st_ino)
                user = safe_close(user);   /* <vivarium:userns mode='off'/> */
        /* init must still be ours: a PID is only trusted while it is not reaped */
        if (h->exited)
                return -ESRCH;
        *ret_mnt = TAKE_FD(mnt);
        *ret_user = TAKE_FD(user);
        return 0;
}

static int enter_container(int mnt_ns, int user_ns) {
        if (setns(mnt_ns, CLONE_NEWNS) < 0)
                return -errno;
        if (user_ns < 0)
                return 0;
        /* the container's root, capable in the namespaces it owns */
        if (setns(user_ns, CLONE_NEWUSER) < 0)
                return -errno;
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return -errno;
        return 0;
}

/* Attach: mnt_fd onto target; detach (mnt_fd < 0): the mount on target. */
static int act_in_container(int mnt_fd, const char *target) {
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat st;

        if (root < 0)
                return -errno;
        if (mnt_fd >= 0) {
                if (fstat(mnt_fd, &st) < 0)
                        return -errno;
                return attach_mount(mnt_fd, root, target, !S_ISDIR(st.st_mode));
        }
        /* by path: /proc here is the container's, which does not show us.
         * The path resolves below the namespace's root, which setns() made
         * ours, and a last component that is a symlink is not followed. */
        if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) >= 0)
                return 0;
        int r = -errno;
        struct statx stx;
        /* EINVAL of a mount point: a mount of the start, copied into the
         * mount namespace of the container's user namespace, where the kernel
         * locks it (helper-userns.c); told apart for the message */
        if (r == -EINVAL && statx(AT_FDCWD, target, AT_SYMLINK_NOFOLLOW, 0, &stx) >= 0 &&
            (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                return -EPERM;
        return r;
}

/* Runs act_in_container() in a child inside the container; the child's
 * verdict in *ret. */
static int run_child(Helper *h, int mnt_fd, const char *target, FsVerdict *ret) {
        _cleanup_close_ int mnt_ns = -EBADF, user_ns = -EBADF;
        int fds[2], r;

        r = container_ns_open(h, &mnt_ns, &user_ns);
        if (r < 0)
                return r;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int rd = fds[0], wr = fds[1];

        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                FsVerdict v = { .step = FS_STEP_ENTER };

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                rd = safe_close(rd);
                r = enter_container(mnt_ns, user_ns);
                if (r >= 0) {
                        v.step = FS_STEP_ACT;
                        r = act_in_container(mnt_fd, target);
                }
                if (r >= 0)
                        v.step = FS_STEP_DONE;
                v.error = r < 0 ? -r : 0;
                (void) !write(wr, &v, sizeof(v));
                _exit(r < 0 ? 1 : 0);
        }
        wr = safe_close(wr);
        FsVerdict v = { .step = FS_STEP_ENTER, .error = EIO };
        ssize_t n;
        do
                n = read(rd, &v, sizeof(v));
        while (n < 0 && errno == EINTR);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (n != (ssize_t) sizeof(v))
                v = (FsVerdict) { .step = FS_STEP_ENTER, .error = EIO };
        *ret = v;
        return 0;
}

/* run_child(), its failure to get in answered on the bus; a failure of
 * the act itself is left in *ret for the caller to name. */
static int run_in_container(Helper *h, int mnt_fd, const char *target, FsVerdict *ret, sd_bus_error *error) {
        int r = run_child(h, mnt_fd, target, ret);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to enter container '%s': %m", h->name);
        if (ret->step == FS_STEP_ENTER)
                return sd_bus_error_set_errnof(error, ret->error, "Failed to enter the mount namespace of container '%s': %m",
                                               h->name);
        return 0;
}

/* Both calls: a running container, and a target that names a path below its root. */
static int request_check(Helper *h, const char *target, sd_bus_error *error) {
        size_t l = strlen(target);

        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        if (target[0] != '/' || !target[1] || strstr(target, "/../") || (l >= 3 && streq(target + l - 3, "/..")))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Filesystem target '%s' is not an absolute path below the container's root", target);
        return 0;
}

/* The detached mount of FS, as the start makes it: a clone of a host
 * directory, a tmpfs, or an image's filesystem (its loop device autoclears
 * once the last mount of it goes: at detach, at stop, or on a failure
 * below, when mnt_fd is closed). */
static int filesystem_open(Helper *h, const DomainFilesystem *fs, int *ret_fd, char **ret_msg) {
        switch (fs->type) {
        case FILESYSTEM_MOUNT:
                return filesystem_source_open(fs, h->name, ret_fd, ret_msg);
        case FILESYSTEM_RAM: {
                int r = ram_mount_open(fs, h->root_uid, h->root_gid, ret_fd);
                if (r < 0)
                        (void) asprintf(ret_msg, "Failed to create RAM filesystem for '%s' in container '%s': %s",
                                        fs->target, h->name, strerror(-r));
                return r;
        }
        case FILESYSTEM_FILE:
        case FILESYSTEM_BLOCK:
                /* no nbd devices: the manager refuses <driver type='nbd'> live */
                return image_mount_open(fs, h->name, NULL, ret_fd, ret_msg);
        default:
                return -EOPNOTSUPP;
        }
}

/* The devices that mounting an image opens, in the scope, which vivariumd
 * has just allowed (scope.c, as a start has them: the block device, or
 * /dev/loop-control and the loop devices, "rw" or "r"): our cgroup v1 leaves
 * learn them (helper-hostdev.c), and filesystem_open() is tried again while
 * systemd has not applied them yet (EPERM), bounded. */
static int allow_image_devices(Helper *h, const DomainFilesystem *fs) {
        const char *access = fs->readonly ? "r" : "rw";
        char rule[64];
        struct stat st;
        int r;

        if (fs->type == FILESYSTEM_BLOCK) {
                if (stat(fs->source, &st) < 0 || !S_ISBLK(st.st_mode))
                        return 0; /* image_mount_open() says what is wrong */
                snprintf(rule, sizeof(rule), "b %u:%u %s", major(st.st_rdev), minor(st.st_rdev), access);
                return leaves_allow_rule(h, rule);
        }
        /* systemd's "block-loop" and "/dev/loop-control", both "rw" */
        r = leaves_allow_rule(h, "c 10:237 rw");
        if (r >= 0)
                r = leaves_allow_rule(h, "b 7:* rw");
        return r;
}

static int filesystem_open_allowed(Helper *h, const DomainFilesystem *fs, int *ret_fd, char **ret_msg) {
        int r;

        if (fs->type != FILESYSTEM_FILE && fs->type != FILESYSTEM_BLOCK)
                return filesystem_open(h, fs, ret_fd, ret_msg);
        r = allow_image_devices(h, fs);
        if (r < 0) {
                (void) asprintf(ret_msg, "Failed to allow the devices of '%s' in the cgroups of container '%s': %s",
                                fs->source, h->name, strerror(-r));
                return r;
        }
        for (uint64_t waited = 0;; waited += POLICY_POLL_USEC) {
                r = filesystem_open(h, fs, ret_fd, ret_msg);
                if (r != -EPERM || waited >= POLICY_WAIT_USEC)
                        return r;
                free(*ret_msg);
                *ret_msg = NULL;
                usleep(POLICY_POLL_USEC);
        }
}

static int attach_filesystem(Helper *h, const DomainFilesystem *fs, sd_bus_message *m, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        _cleanup_close_ int mnt_fd = -EBADF, mnt_ns = -EBADF, user_ns = -EBADF;
        const char *what = fs->source ? fs->source : "tmpfs";
        FsVerdict v;
        int r;

        r = request_check(h, fs->target, error);
        if (r < 0)
                return r;
        r = filesystem_open_allowed(h, fs, &mnt_fd, &msg);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", msg ? msg : strerror(-r));
        /* idmapped as at start (helper-userns.c): a host directory and an
         * image's filesystem; a tmpfs is made owned by the container's root */
        if (h->def->userns_picked && fs->type != FILESYSTEM_RAM) {
                r = container_ns_open(h, &mnt_ns, &user_ns);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, -r, "Failed to open the namespaces of container '%s': %m",
                                                       h->name);
                if (user_ns >= 0) {
                        r = idmap_clone(mnt_fd, user_ns, what, "filesystem", h->name, &msg);
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", msg ? msg : strerror(-r));
                }
        }

        r = run_in_container(h, mnt_fd, fs->target, &v, error);
        if (r < 0)
                return r;
        if (v.step == FS_STEP_ACT)
                return sd_bus_error_set_errnof(error, v.error, "Failed to mount '%s' on '%s' in container '%s': %m", what,
                                               fs->target, h->name);
        log_info("Filesystem '%s' (%s) mounted on '%s'%s.", what, filesystem_type_to_string(fs->type), fs->target,
                 fs->readonly ? " read-only" : "");
        return sd_bus_reply_method_return(m, NULL);
}

/* AttachFilesystem: a host directory (type='mount'), the first method,
 * kept for managers that call it so. */
static int method_attach_filesystem(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *source, *target;
        int readonly, r;

        r = sd_bus_message_read(m, "ssb", &source, &target, &readonly);
        if (r < 0)
                return r;
        DomainFilesystem fs = {
                .type = FILESYSTEM_MOUNT,
                .source = (char *) source,
                .target = (char *) target,
                .readonly = readonly,
        };
        return attach_filesystem(userdata, &fs, m, error);
}

/* AttachFilesystemOfType: TYPE 'mount', 'ram' (USAGE_KIB, 0: the start's
 * default), 'block' or 'file' (a raw image through a loop device); SOURCE
 * empty for 'ram'. */
static int method_attach_filesystem_of_type(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *type, *source, *target;
        uint64_t usage_kib;
        int readonly, r;

        r = sd_bus_message_read(m, "sssbt", &type, &source, &target, &readonly, &usage_kib);
        if (r < 0)
                return r;
        DomainFilesystem fs = {
                .type = _FILESYSTEM_TYPE_MAX,
                .source = source[0] ? (char *) source : NULL,
                .target = (char *) target,
                .readonly = readonly,
                .ram_usage_kib = usage_kib,
                .driver = FILESYSTEM_DRIVER_LOOP,
        };
        for (FilesystemType t = 0; t < _FILESYSTEM_TYPE_MAX; t++)
                if (streq(type, filesystem_type_to_string(t)))
                        fs.type = t;
        if (fs.type == FILESYSTEM_BIND || fs.type == _FILESYSTEM_TYPE_MAX || (!fs.source) != (fs.type == FILESYSTEM_RAM))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Cannot attach a filesystem of type '%s' with source '%s' live", type, source);
        return attach_filesystem(userdata, &fs, m, error);
}

static int method_detach_filesystem(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        const char *target;
        FsVerdict v;
        int r;

        r = sd_bus_message_read(m, "s", &target);
        if (r < 0)
                return r;
        r = request_check(h, target, error);
        if (r < 0)
                return r;
        r = run_in_container(h, -EBADF, target, &v, error);
        if (r < 0)
                return r;
        if (v.step == FS_STEP_ACT && v.error == EPERM)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Failed to unmount '%s' in container '%s': it was mounted at start, and the "
                                         "container's user namespace locks the mounts of its start; detach it with "
                                         "--config, it goes at the next start", target, h->name);
        if (v.step == FS_STEP_ACT)
                return sd_bus_error_set_errnof(error, v.error, "Failed to unmount '%s' in container '%s': %s", target, h->name,
                                               v.error == EINVAL ? "it is not a mount point" : strerror(v.error));
        log_info("Filesystem on '%s' unmounted.", target);
        return sd_bus_reply_method_return(m, NULL);
}

const sd_bus_vtable fsattach_control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("AttachFilesystem", SD_BUS_ARGS("s", source, "s", target, "b", readonly),
                                SD_BUS_NO_RESULT, method_attach_filesystem, 0),
        SD_BUS_METHOD_WITH_ARGS("AttachFilesystemOfType",
                                SD_BUS_ARGS("s", type, "s", source, "s", target, "b", readonly, "t", usage_kib),
                                SD_BUS_NO_RESULT, method_attach_filesystem_of_type, 0),
        SD_BUS_METHOD_WITH_ARGS("DetachFilesystem", SD_BUS_ARGS("s", target), SD_BUS_NO_RESULT,
                                method_detach_filesystem, 0),
        SD_BUS_VTABLE_END,
};
