/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* <filesystem type='file'> with <driver type='nbd' format='...'/>: qemu-nbd
 * (Debian's qemu-utils) serves the image on a free /dev/nbdN, as libvirt's
 * LXC driver does, and the helper mounts that device like a loop device.
 *
 * qemu-nbd -c daemonizes, and its server stays in the helper's cgroup: in
 * the container's scope. So it goes on every path out: the helper
 * disconnects the device when init has ended (stop, destroy, crash, a failed
 * start), and when the helper itself is killed, the manager's stop of the
 * scope SIGTERMs the server, which then disconnects the device. */

#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "helper-log.h"

static const char *const qemu_nbd_paths[] = { "/usr/bin/qemu-nbd", "/usr/local/bin/qemu-nbd", "/bin/qemu-nbd" };

static const char *qemu_nbd_path(void) {
        for (size_t i = 0; i < ELEMENTSOF(qemu_nbd_paths); i++)
                if (access(qemu_nbd_paths[i], X_OK) == 0)
                        return qemu_nbd_paths[i];
        return NULL;
}

/* An nbd device is in use while the kernel names its server's pid. */
static bool nbd_in_use(unsigned n) {
        char p[64];
        snprintf(p, sizeof(p), "/sys/block/nbd%u/pid", n);
        return access(p, F_OK) == 0;
}

/* Runs qemu-nbd with ARGV and waits for the process it started (which exits
 * once its daemon serves, or on failure); the daemon keeps its stderr, so
 * that is a memfd, read after the wait, not a pipe read to its end. */
static int qemu_nbd_run(char *const argv[], char **ret_error) {
        _cleanup_close_ int err = memfd_create("qemu-nbd-stderr", MFD_CLOEXEC);
        int status;
        pid_t pid;

        if (err < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
                    dup2(err, STDERR_FILENO) < 0)
                        _exit(127);
                /* the helper blocks or ignores signals that qemu-nbd must see */
                sigset_t all;
                sigemptyset(&all);
                (void) sigprocmask(SIG_SETMASK, &all, NULL);
                (void) signal(SIGTERM, SIG_DFL);
                (void) signal(SIGPIPE, SIG_DFL);
                execv(argv[0], argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (ret_error) {
                char buf[1024];
                ssize_t k = pread(err, buf, sizeof(buf) - 1, 0);
                buf[k > 0 ? k : 0] = 0;
                buf[strcspn(buf, "\n")] = 0;
                if (!buf[0])
                        snprintf(buf, sizeof(buf), "%s exited with status %d", argv[0],
                                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                *ret_error = strdup(buf);
        }
        return -EIO;
}

static void nbd_disconnect(const char *dev) {
        const char *qemu_nbd = qemu_nbd_path();
        _cleanup_free_ char *error = NULL;
        unsigned n;
        int r;

        if (!qemu_nbd || sscanf(dev, "/dev/nbd%u", &n) != 1)
                return;
        r = qemu_nbd_run((char *const[]) { (char *) qemu_nbd, (char *) "--disconnect", (char *) dev, NULL }, &error);
        if (r < 0)
                log_warning("Failed to disconnect '%s', ignoring: %s", dev, strna(error));
        /* the server exits after the disconnect: the device is free again
         * once the kernel forgets its pid (bounded: 10 s) */
        for (int i = 0; i < 1000 && nbd_in_use(n); i++)
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        if (nbd_in_use(n))
                log_warning("'%s' is still connected after the disconnect.", dev);
}

int nbd_connect(NbdDevices *d, const DomainFilesystem *fs, const char *name, char ret_dev[static 32], char **ret_error) {
        const char *qemu_nbd = qemu_nbd_path();
        _cleanup_free_ char *last_error = NULL;
        glob_t g = {};
        int r;

        if (!qemu_nbd) {
                (void) asprintf(ret_error, "Image '%s' of container '%s' needs qemu-nbd for <driver type='nbd'>, "
                                "which is not installed (Debian: qemu-utils)", fs->source, name);
                return -ENOENT;
        }
        char **devs = realloc(d->devs, (d->n + 1) * sizeof(char *));
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
                unsigned n;
                if (sscanf(g.gl_pathv[i], "/sys/block/nbd%u", &n) != 1 || nbd_in_use(n))
                        continue;
                snprintf(ret_dev, 32, "/dev/nbd%u", n);
                if (access(ret_dev, F_OK) < 0)
                        continue;
                char *argv[12];
                size_t a = 0;
                _cleanup_free_ char *connect = NULL, *format = NULL;
                if (asprintf(&connect, "--connect=%s", ret_dev) < 0)
                        break;
                argv[a++] = (char *) qemu_nbd;
                argv[a++] = connect;
                /* without format= qemu-nbd probes, as libvirt lets it */
                if (fs->format != IMAGE_FORMAT_NONE) {
                        if (asprintf(&format, "--format=%s", image_format_to_string(fs->format)) < 0)
                                break;
                        argv[a++] = format;
                }
                if (fs->readonly)
                        argv[a++] = (char *) "--read-only";
                argv[a++] = (char *) "--";
                argv[a++] = (char *) fs->source;
                argv[a] = NULL;
                free(last_error);
                last_error = NULL;
                r = qemu_nbd_run(argv, &last_error);
                if (r >= 0)
                        break;
                /* another user took it between the check and the connect:
                 * the next one; any other failure is the answer */
                if (!nbd_in_use(n))
                        break;
        }
        globfree(&g);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to serve image '%s' of container '%s' with qemu-nbd: %s", fs->source,
                                name, r == -EBUSY && !last_error ? "no free nbd device" : strna(last_error));
                return r;
        }
        d->devs[d->n] = strdup(ret_dev);
        if (!d->devs[d->n]) {
                nbd_disconnect(ret_dev);
                return -ENOMEM;
        }
        d->n++;
        log_debug("qemu-nbd serves '%s' on %s for container '%s'.", fs->source, ret_dev, name);
        return 0;
}

void nbd_release(NbdDevices *d, const char *dev) {
        for (size_t i = 0; i < d->n; i++)
                if (streq(d->devs[i], dev)) {
                        nbd_disconnect(dev);
                        free(d->devs[i]);
                        d->devs[i] = d->devs[--d->n];
                        return;
                }
}

void nbd_release_all(NbdDevices *d) {
        for (size_t i = 0; i < d->n; i++) {
                nbd_disconnect(d->devs[i]);
                free(d->devs[i]);
        }
        free(d->devs);
        *d = (NbdDevices) {};
}
