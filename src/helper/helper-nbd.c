/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* <filesystem type='file'> with <driver type='nbd' format='...'/>: qemu-nbd
 * (Debian's qemu-utils) serves the image on a free /dev/nbdN, as libvirt's
 * LXC driver does, and the helper mounts that device like a loop device.
 *
 * qemu-nbd --connect daemonizes, and its server stays in the helper's
 * cgroup: in the container's scope. So it goes on every path out: the helper
 * disconnects the device when init has ended (stop, destroy, crash, a failed
 * start), and when the helper itself is killed, init dies with it (its
 * parent-death signal, which unmounts the filesystem with the container's
 * mount namespace) and the manager's stop of the scope SIGTERMs the server,
 * which then disconnects the device.
 *
 * Three things the kernel and qemu-nbd do not do in order by themselves:
 *  - qemu-nbd --connect returns once the server negotiated the device's
 *    size, before its thread hands the socket to the kernel (NBD_DO_IT):
 *    until then the device has no size and every read fails with EIO. So
 *    the connect waits until the kernel names the server's pid and a size.
 *  - the filesystem on the device goes with the container's mount namespace,
 *    which the kernel tears down when the last process in it ends: the
 *    disconnect first waits until nothing holds the device exclusively any
 *    more (a mounted filesystem does), so that its last writes and flush
 *    reach the server, not a disconnected device.
 *  - after the disconnect the server still closes (and flushes) the image:
 *    the release waits for it to exit, so that a next start, or the host,
 *    finds the image complete and unlocked. */

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus-names.h"
#include "cgroup-v1.h"
#include "command.h"
#include "fileio.h"
#include "helper.h"
#include "helper-log.h"
#include "unit-name.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static const char *const qemu_nbd_paths[] = { "/usr/bin/qemu-nbd", "/usr/local/bin/qemu-nbd", "/bin/qemu-nbd" };

/* Bounds of the waits, generous: qemu-nbd is a process to start and a
 * server to stop, which on a slow or loaded machine (a TCG VM) takes
 * seconds. Each is a bound, never a delay: the waits end on the condition.
 * Those of the release together stay well within the manager's patience
 * with a helper that serves nbd (HELPER_KILL_TIMEOUT_NBD_USEC, 120 s). */
#define NBD_READY_TIMEOUT_USEC (60 * 1000000ULL)
#define NBD_UNUSED_TIMEOUT_USEC (30 * 1000000ULL)
#define NBD_EXIT_TIMEOUT_USEC (30 * 1000000ULL)
#define NBD_TERM_TIMEOUT_USEC (10 * 1000000ULL)
#define NBD_POLL_STEP_NSEC (10 * 1000 * 1000)

static const char *qemu_nbd_path(void) {
        for (size_t i = 0; i < ELEMENTSOF(qemu_nbd_paths); i++)
                if (access(qemu_nbd_paths[i], X_OK) == 0)
                        return qemu_nbd_paths[i];
        return NULL;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void poll_step(void) {
        (void) nanosleep(&(struct timespec) { .tv_nsec = NBD_POLL_STEP_NSEC }, NULL);
}

/* /sys/block/nbdN/ATTR's first line; -ENOENT when the kernel has none */
static int nbd_sys_read(unsigned n, const char *attr, char *buf, size_t size) {
        _cleanup_fclose_ FILE *f = NULL;
        char p[64];

        snprintf(p, sizeof(p), "/sys/block/nbd%u/%s", n, attr);
        f = fopen(p, "re");
        if (!f)
                return -errno;
        if (!fgets(buf, (int) size, f))
                return -EIO;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

/* An nbd device is in use while the kernel names its server's pid. */
static bool nbd_in_use(unsigned n) {
        char p[64];
        snprintf(p, sizeof(p), "/sys/block/nbd%u/pid", n);
        return access(p, F_OK) == 0;
}

/* Served: the kernel took the server's socket (it names its pid) and knows
 * the size. */
static bool nbd_served(unsigned n) {
        char size[32];
        return nbd_in_use(n) && nbd_sys_read(n, "size", size, sizeof(size)) >= 0 && !streq(size, "0");
}

/* A pidfd of the server: the pid qemu-nbd wrote to PID_PATH (--pid-file).
 * Not the pid the kernel names in /sys/block/nbdN/pid: that is the thread's
 * in the kernel's first PID namespace, which is not ours in a nested host. */
static int nbd_server_pidfd(const char *pid_path) {
        _cleanup_fclose_ FILE *f = fopen(pid_path, "re");
        int pid, fd;
        char nl = 0;

        if (!f)
                return -errno;
        /* the line complete, newline included: not a write in progress */
        if (fscanf(f, "%d%c", &pid, &nl) != 2 || nl != '\n' || pid <= 0)
                return -EBADMSG;
        fd = pidfd_open(pid, 0);
        return fd < 0 ? -errno : fd;
}

/* Waits until nothing holds DEV exclusively: the filesystem that was on it is
 * gone. Returns 0, or -EBUSY when it did not happen within the bound. */
static int nbd_wait_unused(const char *dev) {
        uint64_t deadline = now_usec() + NBD_UNUSED_TIMEOUT_USEC;

        for (;;) {
                int fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
                if (fd >= 0) {
                        safe_close(fd);
                        return 0;
                }
                if (errno != EBUSY)
                        return 0;   /* no answer here: the disconnect decides */
                if (now_usec() >= deadline)
                        return -EBUSY;
                poll_step();
        }
}

/* Waits for the server to exit (its pidfd turns readable); without a pidfd,
 * for the kernel to forget its pid. Returns 0 or -ETIMEDOUT. */
static int nbd_wait_server_exit(const NbdDevice *d, uint64_t timeout_usec) {
        uint64_t deadline = now_usec() + timeout_usec;

        if (d->server_pidfd >= 0) {
                for (;;) {
                        uint64_t now = now_usec();
                        if (now >= deadline)
                                return -ETIMEDOUT;
                        struct pollfd p = { .fd = d->server_pidfd, .events = POLLIN };
                        int k = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                        if (k > 0)
                                break;
                        if (k < 0 && errno != EINTR)
                                return -errno;
                }
        }
        while (nbd_in_use(d->index)) {
                if (now_usec() >= deadline)
                        return -ETIMEDOUT;
                poll_step();
        }
        return 0;
}

static void nbd_disconnect(NbdDevice *d) {
        const char *qemu_nbd = qemu_nbd_path();
        _cleanup_free_ char *error = NULL;
        int r;

        if (nbd_wait_unused(d->path) < 0)
                log_warning("'%s' is still in use %llu s after the container's end, disconnecting it anyway.",
                            d->path, NBD_UNUSED_TIMEOUT_USEC / 1000000);
        if (qemu_nbd) {
                r = command_run((char *const[]) { (char *) qemu_nbd, (char *) "--disconnect", d->path, NULL }, NULL,
                                &error);
                if (r < 0)
                        log_warning("Failed to disconnect '%s', ignoring: %s", d->path, error ? error : strerror(-r));
        }
        /* the server closes the image after the disconnect: a next start
         * opens it only once that is done */
        if (nbd_wait_server_exit(d, NBD_EXIT_TIMEOUT_USEC) < 0) {
                log_warning("qemu-nbd serving '%s' did not exit within %llu s of the disconnect, terminating it.",
                            d->path, NBD_EXIT_TIMEOUT_USEC / 1000000);
                if (d->server_pidfd >= 0)
                        (void) pidfd_send_signal(d->server_pidfd, SIGTERM, NULL, 0);
                if (nbd_wait_server_exit(d, NBD_TERM_TIMEOUT_USEC) < 0)
                        log_warning("'%s' is still connected.", d->path);
        }
        d->server_pidfd = safe_close(d->server_pidfd);
}

/* qemu-nbd --connect=DEV for FS: 0 when it serves; -EBUSY when the device
 * was taken meanwhile (*ret_error then says by what), another -errno with
 * qemu-nbd's reason in *ret_error. */
static int qemu_nbd_connect(const char *qemu_nbd, const DomainFilesystem *fs, const char *dev, const char *pid_path,
                            char **ret_error) {
        _cleanup_free_ char *connect = NULL, *format = NULL, *pid_file = NULL;
        char *argv[9];
        size_t a = 0;

        if (asprintf(&connect, "--connect=%s", dev) < 0 || asprintf(&pid_file, "--pid-file=%s", pid_path) < 0)
                return -ENOMEM;
        argv[a++] = (char *) qemu_nbd;
        argv[a++] = connect;
        argv[a++] = pid_file;
        /* without format= qemu-nbd probes, as libvirt lets it */
        if (fs->format != IMAGE_FORMAT_NONE) {
                if (asprintf(&format, "--format=%s", image_format_to_string(fs->format)) < 0)
                        return -ENOMEM;
                argv[a++] = format;
        }
        if (fs->readonly)
                argv[a++] = (char *) "--read-only";
        argv[a++] = (char *) "--";
        argv[a++] = (char *) fs->source;
        argv[a] = NULL;
        return command_run(argv, NULL, ret_error);
}

int nbd_connect(NbdDevices *d, const DomainFilesystem *fs, const char *name, char ret_dev[static 32], char **ret_error) {
        const char *qemu_nbd = qemu_nbd_path();
        _cleanup_free_ char *last_error = NULL, *pid_path = NULL;
        glob_t g = {};
        unsigned n = 0;
        int r;

        if (!qemu_nbd) {
                (void) asprintf(ret_error, "Image '%s' of container '%s' needs qemu-nbd for <driver type='nbd'>, "
                                "which is not installed (Debian: qemu-utils)", fs->source, name);
                return -ENOENT;
        }
        NbdDevice *devs = realloc(d->devs, (d->n + 1) * sizeof(NbdDevice));
        if (!devs)
                return -ENOMEM;
        d->devs = devs;         /* room for one more: taken below once connected */

        if (glob("/sys/block/nbd*", 0, NULL, &g) != 0) {
                globfree(&g);
                (void) asprintf(ret_error, "Image '%s' of container '%s': this host has no nbd device", fs->source, name);
                return -ENODEV;
        }
        r = -EBUSY;
        for (size_t i = 0; i < g.gl_pathc; i++) {
                if (sscanf(g.gl_pathv[i], "/sys/block/nbd%u", &n) != 1 || nbd_in_use(n))
                        continue;
                snprintf(ret_dev, 32, "/dev/nbd%u", n);
                if (access(ret_dev, F_OK) < 0)
                        continue;
                free(last_error);
                last_error = NULL;
                free(pid_path);
                if (asprintf(&pid_path, "%s/%s.nbd%u.pid", VIV_RUN_CONTAINERS_DIR, name, n) < 0) {
                        pid_path = NULL;
                        r = -ENOMEM;
                        break;
                }
                (void) mkdir(VIV_RUN_CONTAINERS_DIR, 0755);
                r = qemu_nbd_connect(qemu_nbd, fs, ret_dev, pid_path, &last_error);
                if (r >= 0)
                        break;
                (void) unlink(pid_path);
                /* another user took it between the check and the connect:
                 * the next one; any other failure is the answer */
                if (r != -EIO || !nbd_in_use(n))
                        break;
                r = -EBUSY;
        }
        globfree(&g);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to serve image '%s' of container '%s' with qemu-nbd: %s", fs->source,
                                name, r == -EBUSY && !last_error ? "no free nbd device" : last_error ? last_error : strerror(-r));
                return r;
        }

        NbdDevice *dev = &d->devs[d->n++];
        *dev = (NbdDevice) { .index = n, .server_pidfd = -EBADF };
        snprintf(dev->path, sizeof(dev->path), "%s", ret_dev);

        /* qemu-nbd writes its pid file beside the thread that hands the
         * socket to the kernel: wait for both */
        uint64_t deadline = now_usec() + NBD_READY_TIMEOUT_USEC;
        for (;;) {
                bool served = nbd_served(n);
                if (served && dev->server_pidfd < 0)
                        dev->server_pidfd = nbd_server_pidfd(pid_path);
                if ((served && dev->server_pidfd >= 0) || now_usec() >= deadline)
                        break;
                poll_step();
        }
        (void) unlink(pid_path);
        if (!nbd_served(n)) {
                (void) asprintf(ret_error, "Failed to serve image '%s' of container '%s' with qemu-nbd: %s did not "
                                "come up within %llu s", fs->source, name, ret_dev, NBD_READY_TIMEOUT_USEC / 1000000);
                nbd_release(d, ret_dev);
                return -ETIMEDOUT;
        }
        if (dev->server_pidfd < 0)
                log_warning("Failed to find qemu-nbd serving %s, ignoring: %s", ret_dev, strerror(-dev->server_pidfd));
        log_debug("qemu-nbd serves '%s' on %s for container '%s'.", fs->source, ret_dev, name);
        return 0;
}

void nbd_release(NbdDevices *d, const char *dev) {
        for (size_t i = 0; i < d->n; i++)
                if (streq(d->devs[i].path, dev)) {
                        nbd_disconnect(&d->devs[i]);
                        d->devs[i] = d->devs[--d->n];
                        return;
                }
}

void nbd_release_all(NbdDevices *d) {
        for (size_t i = 0; i < d->n; i++)
                nbd_disconnect(&d->devs[i]);
        free(d->devs);
        *d = (NbdDevices) {};
}

/* The device that PID serves for container NAME: PID's command line is
 * qemu-nbd's as qemu_nbd_connect() starts it (its --connect=/dev/nbdN and
 * this container's pid file for that N). 0 and *ret_index, or -ESRCH. */
static int nbd_server_of(pid_t pid, const char *name, unsigned *ret_index) {
        _cleanup_free_ char *path = NULL, *text = NULL, *pid_file = NULL;
        size_t size = 0, i;
        unsigned n;
        char tail;

        if (asprintf(&path, "/proc/%d/cmdline", (int) pid) < 0 || read_full_file(path, &text, &size) < 0 ||
            size == 0 || !streq(text, qemu_nbd_path() ?: ""))
                return -ESRCH;
        i = strlen(text) + 1;
        if (i >= size || sscanf(text + i, "--connect=/dev/nbd%u%c", &n, &tail) != 1)
                return -ESRCH;
        i += strlen(text + i) + 1;
        if (i >= size || asprintf(&pid_file, "--pid-file=%s/%s.nbd%u.pid", VIV_RUN_CONTAINERS_DIR, name, n) < 0 ||
            !streq(text + i, pid_file))
                return -ESRCH;
        *ret_index = n;
        return 0;
}

/* PID sits in UNIT's own cgroup or in its supervisor/ leaf, where the helper
 * ran qemu-nbd: never payload/ (nor anything the container's root made below
 * it), whose processes could copy any command line. Judged on the hierarchy
 * systemd keeps units in: in a v1 memory, cpu or blkio hierarchy the
 * container's processes are in the scope's own cgroup too
 * (cgroup_v1_wants_leaves()). */
static bool nbd_server_in_scope(pid_t pid, const char *unit) {
        _cleanup_free_ char *path = NULL, *text = NULL, *cgroup = NULL;

        if (asprintf(&path, "/proc/%d/cgroup", (int) pid) < 0 || read_full_file(path, &text, NULL) < 0 ||
            cgroup_systemd_path(text, cgroup_host_is_unified(), &cgroup) < 0)
                return false;
        return cgroup_path_is_helpers(cgroup, unit);
}

/* `vivarium-helper --name NAME --release-nbd`: the manager runs it when a
 * helper ended (killed, crashed) before it could release the devices qemu-nbd
 * serves for NAME: their filesystems go with the container's mount
 * namespace, and the manager stops the scope, qemu-nbd with it, only after
 * this ends. Each device is released as the helper itself would (wait until
 * nothing holds it, disconnect, wait for the server to close the image). */
int nbd_release_left(const char *name) {
        _cleanup_(closedirp) DIR *proc = NULL;
        _cleanup_free_ char *unit = NULL;
        struct dirent *e;
        int r, n = 0;

        if (!qemu_nbd_path())
                return 0;
        r = unit_name_machine_scope(name, &unit);
        if (r < 0)
                return r;
        proc = opendir("/proc");
        if (!proc)
                return -errno;
        while ((e = readdir(proc))) {
                char *end;
                long pid = strtol(e->d_name, &end, 10);
                NbdDevice d = { .server_pidfd = -EBADF };

                if (*end || pid <= 0 || nbd_server_of((pid_t) pid, name, &d.index) < 0 ||
                    !nbd_server_in_scope((pid_t) pid, unit))
                        continue;
                d.server_pidfd = pidfd_open((pid_t) pid, 0);
                /* looked at again: the PID may have been reused before the pidfd */
                if (d.server_pidfd < 0 || nbd_server_of((pid_t) pid, name, &d.index) < 0) {
                        safe_close(d.server_pidfd);
                        continue;
                }
                snprintf(d.path, sizeof(d.path), "/dev/nbd%u", d.index);
                log_notice("Releasing %s, which qemu-nbd (PID %ld) still serves for container '%s' after its helper ended.",
                           d.path, pid, name);
                nbd_disconnect(&d);
                n++;
        }
        return n;
}
