/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A helper that ends without releasing the nbd devices qemu-nbd serves for
 * the container's images (SIGKILLed, crashed) leaves qemu-nbd running in the
 * scope, and the image's filesystem going with the container's mount
 * namespace: the kernel unmounts it after the last process in it ended, and
 * writes it back then. Stopping the scope at once stopped qemu-nbd under
 * that write-back: the image was left with the filesystem's last changes in
 * its journal only, or not at all (issue 19, tests/test-nbd.sh).
 *
 * So after such a helper's end, before the scope is stopped, the manager
 * runs `vivarium-helper --name NAME --release-nbd` (helper-nbd.c), which
 * finds qemu-nbd's processes for NAME and releases each device as the helper
 * does on its own path out: wait until nothing holds it, disconnect it, wait
 * for the server to close the image. Its waits are bounded there; ours is
 * the last resort. A helper that released its devices itself leaves nothing
 * to find: the release then ends at once. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include "macros.h"
#include "manager.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* helper-nbd.c's bounds add up to ~70 s (in use 30, exit 30, SIGTERM 10) */
#define NBD_RELEASE_TIMEOUT_USEC (100 * 1000000ULL)

bool container_serves_nbd(const Container *c) {
        const DomainDef *d = container_current_def(c);

        for (size_t i = 0; d && i < d->n_filesystems; i++)
                if (d->filesystems[i].type == FILESYSTEM_FILE && d->filesystems[i].driver == FILESYSTEM_DRIVER_NBD)
                        return true;
        return false;
}

void nbd_release_forget(Container *c) {
        c->nbd_release_source = sd_event_source_disable_unref(c->nbd_release_source);
        c->nbd_release_timer = sd_event_source_disable_unref(c->nbd_release_timer);
        c->nbd_release_pidfd = safe_close(c->nbd_release_pidfd);
        c->nbd_release_then = NULL;
}

static int on_release_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;
        void (*then)(Container *) = c->nbd_release_then;
        siginfo_t si = {};

        if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) >= 0 && si.si_pid != 0 &&
            (si.si_code != CLD_EXITED || si.si_status != 0))
                fprintf(stderr, "Releasing the nbd devices of container '%s' failed (%s %d), stopping scope %s.\n",
                        c->name, si.si_code == CLD_EXITED ? "exit status" : "signal", si.si_status, c->unit);
        nbd_release_forget(c);
        if (then)
                then(c);
        return 0;
}

static int on_release_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;

        fprintf(stderr, "Releasing the nbd devices of container '%s' did not end within %llu s, stopping scope %s.\n",
                c->name, NBD_RELEASE_TIMEOUT_USEC / 1000000, c->unit);
        /* its end comes through on_release_exit() */
        if (pidfd_send_signal(c->nbd_release_pidfd, SIGKILL, NULL, 0) < 0)
                return on_release_exit(c->nbd_release_source, c->nbd_release_pidfd, 0, c);
        return 0;
}

int nbd_release_begin(Container *c, void (*then)(Container *c)) {
        _cleanup_close_ int pidfd = -EBADF;
        int r;

        if (c->nbd_release_source)
                return 1;
        if (!container_serves_nbd(c))
                return 0;
        pidfd = helper_spawn_nbd_release(c);
        if (pidfd < 0) {
                fprintf(stderr, "Failed to release the nbd devices of container '%s', stopping scope %s: %s\n",
                        c->name, c->unit, strerror(-pidfd));
                return 0;
        }
        r = sd_event_add_io(c->manager->event, &c->nbd_release_source, pidfd, EPOLLIN, on_release_exit, c);
        if (r >= 0)
                r = sd_event_add_time_relative(c->manager->event, &c->nbd_release_timer, CLOCK_MONOTONIC,
                                               NBD_RELEASE_TIMEOUT_USEC, 0, on_release_timeout, c);
        if (r < 0) {
                /* not watched: it goes on by itself, the scope is stopped now */
                fprintf(stderr, "Failed to wait for the release of the nbd devices of container '%s', ignoring: %s\n",
                        c->name, strerror(-r));
                nbd_release_forget(c);
                return 0;
        }
        c->nbd_release_pidfd = TAKE_FD(pidfd);
        c->nbd_release_then = then;
        return 1;
}
