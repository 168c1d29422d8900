/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shutdown/reboot --mode initctl: a runlevel request on the container's
 * /run/initctl (or the older /dev/initctl), the FIFO a sysvinit-style init
 * reads, as libvirt's LXC driver asks a container's init to power off or
 * reboot. The request is sysvinit's fixed 384-byte ABI. */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-names.h"
#include "helper.h"
#include "helper-log.h"

#define INITCTL_MAGIC 0x03091969
#define INITCTL_CMD_RUNLEVEL 1

/* sysvinit's struct init_request: magic, command, runlevel, sleep time,
 * then 368 bytes that a runlevel request leaves empty */
typedef struct InitctlRequest {
        int magic;
        int cmd;
        int runlevel;
        int sleeptime;
        char data[368];
} InitctlRequest;

_Static_assert(sizeof(InitctlRequest) == 384, "sysvinit's init_request is 384 bytes");

static bool same_file(const struct stat *a, const char *path) {
        struct stat b;
        return stat(path, &b) >= 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* The FIFO of the container's init, opened for writing: -ENXIO when nobody
 * reads it (an init without one), -ENOENT when there is none. Resolved in
 * the container's root (RESOLVE_IN_ROOT: a symlink there cannot point the
 * helper at the host's files). A shared root sees the host's /run: its
 * initctl is the host's init's, and a request there would power off the
 * host, so it is refused. */
static int initctl_open(Helper *h, int *ret_fd) {
        static const char *const paths[] = { "/run/initctl", "/dev/initctl" };
        _cleanup_close_ int root = -EBADF;
        char proc[64];
        int r = -ENOENT;

        snprintf(proc, sizeof(proc), "/proc/%d/root", (int) h->init_pid);
        root = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_close_ int fd = open_in_root(root, paths[i], O_WRONLY | O_NONBLOCK | O_NOCTTY);
                struct stat st;
                if (fd < 0) {
                        if (r == -ENOENT)
                                r = fd;
                        continue;
                }
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (!S_ISFIFO(st.st_mode)) {
                        r = -ENXIO;
                        continue;
                }
                if (same_file(&st, paths[i]))
                        return -EXDEV;
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
        return r;
}

int initctl_request(Helper *h, char runlevel, sd_bus_error *error) {
        _cleanup_close_ int fd = -EBADF;
        InitctlRequest req = {
                .magic = INITCTL_MAGIC,
                .cmd = INITCTL_CMD_RUNLEVEL,
                .runlevel = runlevel,
        };
        int r;

        r = initctl_open(h, &fd);
        if (r == -EXDEV)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Container does not provide an initctl pipe: the /run/initctl of container '%s' is the host's (a shared root)",
                                         h->name);
        if (r == -ENOENT || r == -ENXIO)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Container does not provide an initctl pipe (no reader on /run/initctl or /dev/initctl in container '%s')",
                                         h->name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to open the initctl pipe of container '%s': %m", h->name);
        /* one write of less than PIPE_BUF bytes: atomic */
        ssize_t n = write(fd, &req, sizeof(req));
        if (n < 0)
                return sd_bus_error_set_errnof(error, errno, "Failed to write to the initctl pipe of container '%s': %m", h->name);
        if ((size_t) n != sizeof(req))
                return sd_bus_error_setf(error, SD_BUS_ERROR_IO_ERROR, "Short write to the initctl pipe of container '%s'", h->name);
        log_info("Asked init of container '%s' for runlevel %c through its initctl pipe.", h->name, runlevel);
        return 0;
}
