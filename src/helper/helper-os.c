/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A whole OS in the container: systemd as init.
 *
 * systemd's container interface (its CONTAINER_INTERFACE document; nspawn is
 * the reference implementation) asks the container manager for more than an
 * application container gets: /run and /tmp as fresh tmpfs, the host's
 * os-release at /run/host/os-release, and a cgroup tree the container's
 * systemd may write to, rooted at its own cgroup. $container and
 * $container_uuid (from which systemd makes /etc/machine-id when the root
 * has none) are set for every container (helper-spawn.c).
 *
 * Vivarium knows that init is systemd by what the definition's init is in
 * the container's root: the same file (device and inode) as
 * /usr/lib/systemd/systemd or /lib/systemd/systemd there, whatever symlinks
 * lead to it (/sbin/init on Debian). libvirt has no such notion; no XML is
 * needed, and an application container that runs systemd's binary gets what
 * that binary needs anyway. Only a private root qualifies: systemd booting on
 * the host's shared root would be the host's OS a second time. */

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "helper.h"
#include "helper-log.h"

bool os_init_is_systemd(int root_fd, const char *init) {
        static const char *const systemd_paths[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd" };
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (root_fd < 0 || !init)
                return false;
        fd = open_in_root(root_fd, init, O_PATH);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(systemd_paths); i++) {
                _cleanup_close_ int s = open_in_root(root_fd, systemd_paths[i], O_PATH);
                struct stat sst;
                if (s >= 0 && fstat(s, &sst) >= 0 && sst.st_dev == st.st_dev && sst.st_ino == st.st_ino)
                        return true;
        }
        return false;
}

static bool def_has_target(const DomainDef *def, const char *target) {
        for (size_t i = 0; i < def->n_filesystems; i++)
                if (streq(def->filesystems[i].target, target))
                        return true;
        return false;
}

/* Owned by the container's root (its host IDs in a user namespace): systemd
 * makes /run/lock, /run/systemd, ... in it, and a root whose IDs map to
 * nobody else could not write to a tmpfs of the host's root. */
static int mount_tmpfs(int root_fd, const char *target, const char *mode, const HostMounts *h) {
        char uid_opt[32], gid_opt[32];
        const char *opts[] = { mode, uid_opt, gid_opt, NULL };
        _cleanup_close_ int m = -EBADF;
        int r;

        snprintf(uid_opt, sizeof(uid_opt), "uid=%u", (unsigned) h->root_uid);
        snprintf(gid_opt, sizeof(gid_opt), "gid=%u", (unsigned) h->root_gid);

        r = fs_new_mount("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, &m);
        if (r < 0)
                return r;
        return attach_mount(m, root_fd, target, false);
}

/* The host's os-release, read-only at /run/host/os-release: the container
 * learns what it runs on without seeing the host's /etc. Opened while the
 * child still sees the host's tree (before pivot_root). */
static int bind_host_os_release(int root_fd) {
        static const char *const sources[] = { "/etc/os-release", "/usr/lib/os-release" };
        _cleanup_close_ int m = -EBADF;
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };

        for (size_t i = 0; m < 0 && i < ELEMENTSOF(sources); i++)
                m = open_tree(AT_FDCWD, sources[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (m < 0)
                return -errno;
        if (mount_setattr(m, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return -errno;
        return attach_mount(m, root_fd, "/run/host/os-release", true);
}

/* A hybrid host (v1 controllers, name=systemd, cgroup2 on unified): what
 * nspawn gives a container with a cgroup namespace. A tmpfs on
 * /sys/fs/cgroup, read-only once populated, with each v1 controller
 * hierarchy of /proc/self/cgroup mounted read-only (the container sees its
 * limits but cannot change them), and name=systemd on systemd/ and cgroup2
 * on unified/ writable where payload/ is ours: systemd as init makes its
 * units there. Every hierarchy is rooted at the cgroup namespace's root,
 * payload/ where the helper made one. Hierarchies where we have no payload/
 * stay read-only: the container must never write to cgroups not its own. */
static int setup_cgroup_hybrid(int root_fd, const HostMounts *h) {
        static const char *const tmpfs_opts[] = { "mode=0755", "size=1m", NULL };
        const unsigned base = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        _cleanup_close_ int tmp = -EBADF, dir = -EBADF;
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t sz = 0;
        int r;

        r = fs_new_mount("tmpfs", tmpfs_opts, base, &tmp);
        if (r < 0)
                return r;
        r = attach_mount(tmp, root_fd, "/sys/fs/cgroup", false);
        if (r < 0)
                return r;
        dir = open_in_root(root_fd, "/sys/fs/cgroup", O_PATH | O_DIRECTORY);
        if (dir < 0)
                return dir;

        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return -errno;
        while (getline(&line, &sz, f) > 0) {
                char *ctrls = strchr(line, ':'), *end;
                const char *opts[16] = {}, *name;
                _cleanup_close_ int m = -EBADF;
                bool writable = false;
                size_t n = 0;

                if (!ctrls || !(end = strchr(++ctrls, ':')))
                        continue;
                *end = 0;
                _cleanup_free_ char *list = strdup(ctrls);
                if (!list)
                        return -ENOMEM;
                if (!*ctrls) {
                        name = "unified";
                        writable = h->cgroup_unified_writable;
                        r = fs_new_mount("cgroup2", opts, base | (writable ? 0 : MOUNT_ATTR_RDONLY), &m);
                } else if (streq(ctrls, "name=systemd")) {
                        name = "systemd";
                        writable = h->cgroup_systemd_writable;
                        opts[0] = "none";
                        opts[1] = "name=systemd";
                        r = fs_new_mount("cgroup", opts, base | (writable ? 0 : MOUNT_ATTR_RDONLY), &m);
                } else if (strncmp(ctrls, "name=", 5) == 0)
                        continue;       /* another manager's named hierarchy: not ours to show */
                else {
                        char *save = NULL;
                        name = ctrls;
                        for (char *t = strtok_r(list, ",", &save); t && n < ELEMENTSOF(opts) - 1; t = strtok_r(NULL, ",", &save))
                                opts[n++] = t;
                        r = fs_new_mount("cgroup", opts, base | MOUNT_ATTR_RDONLY, &m);
                }
                if (r < 0) {
                        log_warning_errno(r, "Failed to mount cgroup hierarchy '%s' in the container, ignoring: %m", name);
                        continue;
                }
                if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
                        return -errno;
                r = RET_NERRNO(move_mount(m, "", dir, name, MOVE_MOUNT_F_EMPTY_PATH));
                if (r < 0)
                        return r;
                /* joined controllers ("cpu,cpuacct") are found by each name */
                for (size_t i = 0; n > 1 && i < n; i++)
                        if (symlinkat(name, dir, opts[i]) < 0 && errno != EEXIST)
                                return -errno;
        }

        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
        return RET_NERRNO(mount_setattr(dir, "", AT_EMPTY_PATH, &attr, sizeof(attr)));
}

int os_setup_mounts(const DomainDef *def, const HostMounts *h, int root_fd, char **ret_error) {
        int r;

        if (!h->init_systemd)
                return 0;

        /* /run and /tmp: fresh per boot, as on any booted system; a
         * definition's own filesystem there wins */
        if (!def_has_target(def, "/run")) {
                r = mount_tmpfs(root_fd, "/run", "mode=0755", h);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to mount /run of container '%s': %s", def->name, strerror(-r));
                        return r;
                }
        }
        if (!def_has_target(def, "/tmp")) {
                r = mount_tmpfs(root_fd, "/tmp", "mode=1777", h);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to mount /tmp of container '%s': %s", def->name, strerror(-r));
                        return r;
                }
        }

        r = bind_host_os_release(root_fd);
        if (r < 0)
                log_warning_errno(r, "Failed to provide /run/host/os-release in container '%s', ignoring: %m", def->name);

        if (!h->cgroup_unified) {
                r = setup_cgroup_hybrid(root_fd, h);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to set up the cgroup hierarchies of container '%s': %s",
                                        def->name, strerror(-r));
                        return r;
                }
        }
        return 0;
}

/* mkdir -p PATH in the root, then the directory, opened (O_PATH) */
static int open_dir_in_root_p(int root_fd, const char *path, mode_t mode) {
        int r = mkdir_p_in_root(root_fd, path, mode);
        return r < 0 ? r : open_in_root(root_fd, path, O_PATH | O_DIRECTORY);
}

/* /dev/net/tun, as nspawn gives its -b containers (libvirt's LXC driver does
 * not by default): VPN clients, and systemd-networkd's tun/tap netdevs, are
 * ordinary software in a booted OS. Only with a private network namespace,
 * where an interface it makes is the container's own; the scope allows the
 * node then (scope.c, DeviceAllow), else the devices cgroup refuses it.
 *
 * A node made here rather than the host's bound in: the container's root
 * owns it, so root inside a user namespace can open it too (the host's
 * node stays root's of the host, "nobody" inside). The /dev tmpfs was made
 * in the host's user namespace, so the kernel honours the node. */
int os_setup_dev(const DomainDef *def, const HostMounts *h, int root_fd) {
        _cleanup_close_ int net = -EBADF;
        struct stat st;

        if (!h->init_systemd || !domain_def_has_privnet(def))
                return 0;
        /* still the host's tree: pivot_root comes later */
        if (stat("/dev/net/tun", &st) < 0 || !S_ISCHR(st.st_mode)) {
                log_debug("The host has no /dev/net/tun: none in the container either.");
                return 0;
        }
        net = open_dir_in_root_p(root_fd, "/dev/net", 0755);
        if (net < 0)
                return net;
        if (mknodat(net, "tun", S_IFCHR | (st.st_mode & 0666), st.st_rdev) < 0 && errno != EEXIST)
                return -errno;
        return RET_NERRNO(fchownat(net, "tun", h->root_uid, h->root_gid, AT_SYMLINK_NOFOLLOW));
}

/* --- the container's journal, linked into the host's (nspawn's
 * --link-journal=try-guest) ---
 *
 * journalctl -M NAME reads the container's journal through machined (its
 * root, opened in its mount namespace), whatever is done here. Linking
 * adds what nspawn's machines have: the host's `journalctl -m` merges the
 * container's journal, `journalctl -D /var/log/journal/ID` reads it, and
 * both keep working once the container is stopped. The journal lives in
 * the guest (/var/log/journal/ID there, which makes the guest's journald
 * keep it persistently) and the host gets a symlink to it under the same
 * name; "try": a host without a persistent journal (/var/log/journal)
 * gets nothing, and a failure never fails the start. */

/* The ID systemd will boot with: the root's own when it has one, else the
 * container's UUID (systemd takes $container_uuid). */
static void guest_machine_id(int root_fd, const uint8_t uuid[16], char ret[33]) {
        _cleanup_close_ int fd = open_in_root(root_fd, "/etc/machine-id", O_RDONLY | O_NOFOLLOW);
        char buf[33] = {};

        if (fd >= 0 && read(fd, buf, 32) == 32 && strspn(buf, "0123456789abcdef") == 32 &&
            !streq(buf, "00000000000000000000000000000000")) {
                memcpy(ret, buf, 33);
                return;
        }
        for (size_t i = 0; i < 16; i++)
                snprintf(ret + 2 * i, 3, "%02x", uuid[i]);
}

static int link_journal(const DomainDef *def) {
        const DomainFilesystem *root = domain_def_root(def);
        _cleanup_close_ int root_fd = -EBADF, parent = -EBADF, dir = -EBADF;
        _cleanup_free_ char *host = NULL, *target = NULL;
        char id[33], host_id[33] = {}, current[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (!root || !root->source)
                return 0;
        if (stat("/var/log/journal", &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;       /* the host keeps no persistent journal */
        root_fd = open(root->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        guest_machine_id(root_fd, def->uuid, id);
        {
                _cleanup_close_ int fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC);
                if (fd >= 0 && read(fd, host_id, 32) == 32 && streq(host_id, id)) {
                        log_debug("Container '%s' has the host's machine ID %s: not linking its journal.", def->name, id);
                        return 0;
                }
        }

        /* The guest's tree is the container's to shape: everything in it is
         * resolved inside the root (a symlink there cannot lead the host's
         * root out of it), and only a real directory is linked. */
        parent = open_dir_in_root_p(root_fd, "/var/log/journal", 02755);
        if (parent < 0)
                return parent;
        if (mkdirat(parent, id, 02755) < 0 && errno != EEXIST)
                return -errno;
        dir = openat(parent, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        /* owned as its parent is: the tree's root, whatever its host IDs */
        if (fstat(parent, &st) < 0)
                return -errno;
        if (fchownat(dir, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0)
                return -errno;

        size_t len = strlen(root->source);
        while (len > 1 && root->source[len - 1] == '/')
                len--;
        if (asprintf(&host, "/var/log/journal/%s", id) < 0 ||
            asprintf(&target, "%.*s/var/log/journal/%s", (int) len, root->source, id) < 0)
                return -ENOMEM;
        n = readlink(host, current, sizeof(current) - 1);
        if (n >= 0) {
                current[n] = 0;
                if (streq(current, target))
                        return 0;
                /* another root's (a container of this ID defined anew) */
                if (unlink(host) < 0)
                        return -errno;
        } else if (errno != ENOENT) {
                /* a directory: the host keeps this ID's journal itself */
                log_debug("'%s' exists and is no symlink: the journal of container '%s' stays in the container.", host, def->name);
                return 0;
        }
        if (symlink(target, host) < 0)
                return -errno;
        log_debug("Linked the journal of container '%s': %s -> %s", def->name, host, target);
        return 0;
}

void os_link_journal(Helper *h) {
        int r;

        if (!h->init_systemd)
                return;
        r = link_journal(h->def);
        if (r < 0)
                log_warning_errno(r, "Failed to link the journal of container '%s' into the host's /var/log/journal, ignoring: %m",
                                  h->name);
}

/* --- notify readiness (<vivarium:notify/>) ---
 *
 * As nspawn's --notify-ready: init gets NOTIFY_SOCKET=/run/host/notify, a
 * datagram socket the helper created and the child bound inside the
 * container (after pivot_root, so the path is the container's). systemd as
 * PID 1 sends READY=1 there when its boot is complete; only then does the
 * helper answer READY to the manager, so Start (and vivarium@NAME.service's
 * own READY) mean "booted". No READY=1 within the definition's timeout fails
 * the start and destroys the container. */

#define NOTIFY_PATH "/run/host/notify"

int os_notify_open(Helper *h, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        const int one = 1;

        if (h->def->notify_timeout_sec == 0)
                return 0;
        if (!domain_def_root(h->def)) {
                (void) asprintf(ret_error, "Container '%s': vivarium:notify needs a private root (a filesystem with target '/'): "
                                "its socket is made in the container's /run/host", h->name);
                return -EINVAL;
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
                int r = -errno;
                (void) asprintf(ret_error, "Failed to create the notify socket of container '%s': %s", h->name, strerror(-r));
                return r;
        }
        h->notify_fd = TAKE_FD(fd);
        h->host.notify_fd = h->notify_fd;
        return 0;
}

const char *os_notify_env(const DomainDef *def) {
        return def->notify_timeout_sec > 0 ? "NOTIFY_SOCKET=" NOTIFY_PATH : NULL;
}

static int notify_bind_path(int fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = NOTIFY_PATH };

        if (mkdir("/run/host", 0755) < 0 && errno != EEXIST)
                return -errno;
        (void) unlink(NOTIFY_PATH);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        return 0;
}

/* Child side, in the container's root: the socket is bound to a path of
 * the container's own tree (nothing of the host is written). Connecting to
 * it needs write permission on it: it belongs to the container's root (its
 * host IDs in a user namespace, where the host's root is nobody). Made with
 * those IDs as the file system IDs: on an idmapped root (the default user
 * namespace, when /run is the root's own directory: init is not systemd)
 * the host's root has no ID, and creating a file there as it fails with
 * EOVERFLOW. */
int os_notify_bind(int fd, uid_t uid, gid_t gid) {
        struct stat st;
        int r;

        if (fd < 0)
                return 0;
        /* a /run/host made already (for os-release, on the fresh /run) is
         * the host root's: the container's root gets it, to write in it */
        if (lstat("/run/host", &st) < 0) {
                if (errno != ENOENT)
                        return -errno;
        } else if ((st.st_uid != uid || st.st_gid != gid) && lchown("/run/host", uid, gid) < 0)
                return -errno;

        gid_t old_gid = setfsgid(gid);
        uid_t old_uid = setfsuid(uid);
        r = notify_bind_path(fd);
        /* the fsuid back first: that gives back the capabilities its change
         * took away */
        (void) setfsuid(old_uid);
        (void) setfsgid(old_gid);
        return r;
}

static void notify_done(Helper *h, int error, const char *message) {
        h->notify_timer = sd_event_source_disable_unref(h->notify_timer);
        helper_report_start(h, error, message);
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Helper *h = userdata;
        char buf[4096], control[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
        const struct ucred *cred = NULL;
        ssize_t n;

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        /* systemd sends fds to store (FDSTORE=1): not ours to keep */
                        int *fds = (int *) CMSG_DATA(c);
                        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
                                safe_close(fds[i]);
                } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                        cred = (const struct ucred *) CMSG_DATA(c);
        }
        /* only init speaks for the container, as nspawn decides */
        if (!cred || cred->pid != h->init_pid)
                return 0;
        buf[n] = 0;
        for (char *line = buf, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (streq(line, "READY=1") && !h->ready) {
                        log_debug("Init reported READY=1.");
                        notify_done(h, 0, NULL);
                } else if (strncmp(line, "STATUS=", 7) == 0)
                        log_debug("Init's status: %s", line + 7);
        }
        return 0;
}

static int on_notify_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Helper *h = userdata;
        _cleanup_free_ char *msg = NULL;

        if (h->ready)
                return 0;
        (void) asprintf(&msg, "Init of container '%s' did not report READY=1 on its notify socket within %u s",
                        h->name, h->def->notify_timeout_sec);
        log_error("%s", msg ? msg : "Init did not report READY=1 in time");
        notify_done(h, -ETIMEDOUT, msg);
        helper_terminate(h, true);
        return 0;
}

/* Returns 1 when the start is reported later, by on_notify(). */
int os_notify_watch(Helper *h) {
        int r;

        if (h->notify_fd < 0)
                return 0;
        r = sd_event_add_io(h->event, &h->notify_source, h->notify_fd, EPOLLIN, on_notify, h);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(h->event, &h->notify_timer, CLOCK_MONOTONIC,
                                       h->def->notify_timeout_sec * 1000000ULL, 0, on_notify_timeout, h);
        return r < 0 ? r : 1;
}

void os_notify_close(Helper *h) {
        h->notify_source = sd_event_source_disable_unref(h->notify_source);
        h->notify_timer = sd_event_source_disable_unref(h->notify_timer);
        h->notify_fd = safe_close(h->notify_fd);
}
