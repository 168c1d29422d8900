/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's /dev: a small tmpfs with only the harmless device nodes,
 * bind-mounted from the host's (a bind works in a user namespace too, where
 * mknod does not), its own devpts instance, /dev/shm and the console. No block
 * device and no other character device of the host is reachable. */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helper.h"
#include "helper-log.h"

const char *const dev_node_names[] = { "null", "zero", "full", "random", "urandom", "tty", NULL };

int dev_open_host_nodes(int ret_fds[], size_t n) {
        for (size_t i = 0; dev_node_names[i] && i < n; i++) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (asprintf(&p, "/dev/%s", dev_node_names[i]) < 0)
                        return -ENOMEM;
                /* only character devices: a host whose /dev/null was replaced
                 * by a file must not hand that file to the container */
                if (stat(p, &st) < 0)
                        return -errno;
                if (!S_ISCHR(st.st_mode))
                        return -ENODEV;
                ret_fds[i] = open_tree(AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (ret_fds[i] < 0)
                        return -errno;
        }
        return 0;
}

static int attach_at(int dir_fd, const char *name, int mnt_fd, bool file) {
        if (file) {
                int f = openat(dir_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (f < 0 && errno != EEXIST)
                        return -errno;
                safe_close(f);
        } else if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        return RET_NERRNO(move_mount(mnt_fd, "", dir_fd, name, MOVE_MOUNT_F_EMPTY_PATH));
}

/* Console PORT: a new pty, its slave bound on /dev/tty(PORT+1) (and
 * /dev/console for port 0), its master sent to the helper. */
static int dev_setup_console(int dev, HostMounts *h, unsigned port, bool userns) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        char tty[32];
        int r;

        master = openat(dev, "pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return -errno;
        if (unlockpt(master) < 0)
                return -errno;
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        /* the container's root owns its consoles, as on a host */
        if (userns && fchown(slave, h->root_uid, h->tty_gid) < 0)
                return -errno;
        snprintf(tty, sizeof(tty), "tty%u", port + 1);
        for (int i = 0; i < (port == 0 ? 2 : 1); i++) {
                _cleanup_close_ int clone = open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (clone < 0)
                        return -errno;
                r = attach_at(dev, i == 0 ? tty : "console", clone, true);
                if (r < 0)
                        return r;
        }
        r = console_send_master(h->console_sock[1], master);
        if (r < 0)
                return r;
        if (port == 0)
                h->console_slave = TAKE_FD(slave);  /* init's stdio */
        return 0;
}

int dev_setup(int root_fd, HostMounts *h, char **ret_error) {
        bool userns = h->userns_fd >= 0;
        char uid_opt[32], gid_opt[32], tty_opt[32];
        /* the container's root owns its /dev (the host's IDs of it in a
         * user namespace) */
        const char *const dev_opts[] = { "mode=0755", "size=4m", uid_opt, gid_opt, NULL };
        const char *const shm_opts[] = { "mode=1777", TMPFS_NESTED_SIZE, TMPFS_NESTED_INODES, uid_opt, gid_opt, NULL };
        static const struct { const char *name, *target; } links[] = {
                { "ptmx",   "pts/ptmx" },
                { "fd",     "/proc/self/fd" },
                { "stdin",  "/proc/self/fd/0" },
                { "stdout", "/proc/self/fd/1" },
                { "stderr", "/proc/self/fd/2" },
        };
        _cleanup_close_ int m = -EBADF, dev = -EBADF;
        int r;

        snprintf(uid_opt, sizeof(uid_opt), "uid=%u", (unsigned) h->root_uid);
        snprintf(gid_opt, sizeof(gid_opt), "gid=%u", (unsigned) h->root_gid);
        snprintf(tty_opt, sizeof(tty_opt), "gid=%u", userns ? (unsigned) h->tty_gid : 5U);

        /* noexec: nothing is executed from /dev; the device nodes are bind
         * mounts and carry their own (device-allowing) mount flags */
        r = fs_new_mount("tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, &m);
        if (r < 0)
                return r;
        r = attach_mount(m, root_fd, "/dev", false);
        if (r < 0)
                return r;
        m = safe_close(m);

        dev = open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY);
        if (dev < 0)
                return dev;

        for (size_t i = 0; dev_node_names[i]; i++) {
                _cleanup_close_ int fd = TAKE_FD(h->dev_fds[i]);
                r = attach_at(dev, dev_node_names[i], fd, true);
                if (r < 0)
                        return log_debug_errno(r, "Failed to bind /dev/%s: %m", dev_node_names[i]);
        }

        /* the definition's <hostdev> and <disk> nodes */
        r = hostdev_attach_nodes(root_fd, h, ret_error);
        if (r < 0)
                return r;

        /* A devpts instance of our own: the container sees its own ptys only,
         * group tty (5 inside the container) */
        {
                const char *const pts_opts[] = { "newinstance", "ptmxmode=0666", "mode=0620", tty_opt, NULL };
                r = fs_new_mount("devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, &m);
                if (r < 0)
                        return r;
                r = attach_at(dev, "pts", m, false);
                if (r < 0)
                        return r;
                m = safe_close(m);
        }

        r = fs_new_mount("tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, &m);
        if (r < 0)
                return r;
        r = attach_at(dev, "shm", m, false);
        if (r < 0)
                return r;
        m = safe_close(m);

        /* POSIX message queues of our IPC namespace; optional */
        {
                static const char *const no_opts[] = { NULL };
                if (fs_new_mount("mqueue", no_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, &m) >= 0) {
                        if (attach_at(dev, "mqueue", m, false) < 0)
                                log_debug("Failed to mount /dev/mqueue, ignoring.");
                        m = safe_close(m);
                }
        }

        /* The consoles are ptys of the container's own devpts instance, as
         * nspawn makes its console: inside the first is /dev/pts/0,
         * /dev/console and /dev/tty1, tty(1) and ps name them, and no host
         * pty number leaks in. More <console>s are /dev/tty2, ... (libvirt's
         * layout). The masters go to the helper, in port order. */
        if (h->console_sock[1] >= 0) {
                unsigned n = h->n_consoles > 0 ? h->n_consoles : 1;
                for (unsigned port = 0; port < n; port++) {
                        r = dev_setup_console(dev, h, port, userns);
                        if (r < 0)
                                return r;
                }
                h->console_sock[1] = safe_close(h->console_sock[1]);
        }

        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
                        return -errno;
        return 0;
}

/* After init joined the user namespace and took its copy of the mount
 * namespace, the slave opened before still refers to the devpts mount of the
 * first one, which the container cannot reach: /proc/self/fd/0 would read
 * "/0", and tty(1) or a shell's job control would not find their terminal.
 * Opened again by its path, it is /dev/pts/N of the container's own tree. */
int dev_console_reopen(HostMounts *h) {
        struct stat old, st;
        char path[32];

        if (h->console_slave < 0)
                return 0;
        if (fstat(h->console_slave, &old) < 0)
                return -errno;
        /* Unix98 slaves: majors 136-143, 256 minors each */
        snprintf(path, sizeof(path), "/dev/pts/%u", (major(old.st_rdev) - 136) * 256 + minor(old.st_rdev));
        int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || st.st_rdev != old.st_rdev) {
                safe_close(fd);
                return -ENXIO;
        }
        safe_close(h->console_slave);
        h->console_slave = fd;
        return 0;
}
