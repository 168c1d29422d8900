/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The helper's fork server (docs/internals.md, "The helper's fork server").
 *
 *   vivarium-helper --fork-server
 *       exec'd once by the manager with a SOCK_SEQPACKET socket on fd 3.
 *       Each request forks one helper with CLONE_PARENT, so that the manager
 *       is its parent as if it had exec'd it, and answers with its PID and a
 *       pidfd. The server exits on EOF, or when the manager dies.
 *
 * What a start saves is the helper's exec: the kernel's execve and the
 * dynamic loader mapping and relocating libsystemd and its six libraries
 * (bench/README.md, issue 14). What it costs is that helpers are copies of
 * one address space: the manager starts a new server after a helper dies of
 * a signal that a memory error raises, and each helper gets a stack
 * protector value of its own before it runs. */

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bus-names.h"
#include "fileio.h"
#include "helper.h"
#include "macros.h"

#define SERVER_FD 3

/* A copy of the process, not a new one: glibc's fork() would run the
 * atfork handlers, but cannot make the manager the parent. The child only
 * ever leaves through exit(), never back through the server's frames.
 * glibc is not told: its TCB keeps the server's thread ID and no robust
 * mutex list is registered. Safe while the helper calls nothing that acts
 * on pthread_self() by that ID (pthread_setaffinity_np,
 * pthread_setschedparam, pthread_getcpuclockid, pthread_sigqueue, ...;
 * raise() and abort() ask the kernel) and uses no robust or PI mutex: the
 * helper has no pthread calls at all; keep it so. */
static pid_t clone_sibling(int *ret_pidfd) {
        struct clone_args args = {
                .flags = CLONE_PARENT | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
        };

        return (pid_t) syscall(SYS_clone3, &args, sizeof args);
}

/* glibc keeps the stack protector's value in the thread's TCB on x86-64;
 * a fork shares it with the server and every other helper. A new one here,
 * in a function that has no guard of its own to check on its return; the
 * frames below it, which saved the old value, are never returned to. False
 * when no random value could be had: the child must not run with the
 * shared one. Not done elsewhere yet: arm, aarch64 and riscv keep it in a
 * global that is read-only after relocation, ppc64le, s390x and i386 in
 * their TCBs at other offsets (docs/internals.md). */
__attribute__((no_stack_protector, noinline)) static bool reseed_stack_guard(void) {
#if defined(__x86_64__)
        uintptr_t guard;

        if (getrandom(&guard, sizeof guard, 0) != (ssize_t) sizeof guard)
                return false;
        guard &= ~(uintptr_t) 0xff; /* as glibc: a string copy stops at it */
        __asm__ volatile("movq %0, %%fs:0x28" : : "r"(guard) : "memory");
#endif
        return true;
}

/* The helper's command line, "PATH\0--name\0NAME\0--handshake\0003\0--model\0004\0"
 * and "--pass-fds\0N\0" when there are passed fds, in BUF (or only
 * measured, BUF NULL); its size, or 0 when it does not fit in SIZE. */
static size_t format_cmdline(char *buf, size_t size, const char *path, const char *name, size_t n_fds,
                             char *argv[]) {
        char n_pass[24];
        const char *words[] = { path, "--name", name, "--handshake", "3", "--model", "4", NULL, NULL, NULL };
        size_t at = 0;

        if (n_fds > 2) {
                (void) snprintf(n_pass, sizeof n_pass, "%zu", n_fds - 2);
                words[7] = "--pass-fds";
                words[8] = n_pass;
        }
        for (size_t i = 0; words[i]; i++) {
                size_t n = strlen(words[i]) + 1;

                if (at + n > size)
                        return 0;
                if (buf)
                        memcpy(buf + at, words[i], n);
                if (argv)
                        argv[i] = buf + at;
                at += n;
        }
        if (argv)
                argv[n_fds > 2 ? 9 : 7] = NULL;
        return at;
}

/* The server's own argument strings, PATH "--fork-server" and the empty
 * ones the manager adds for room (spawn.c): one area, which
 * /proc/PID/cmdline reads. */
typedef struct CmdlineArea {
        char *start;
        size_t size;
} CmdlineArea;

static CmdlineArea cmdline_area(int argc, char *argv[]) {
        char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;

        return (CmdlineArea) { .start = argv[0], .size = (size_t) (end - argv[0]) };
}

/* In the child: the fds the request brought land on 3 (the handshake),
 * 4 (the model), 5, 6, ... (start --pass-fds), as spawn.c's exec puts
 * them; everything else of the server's is closed. */
static int place_fds(const int *fds, size_t n) {
        int r = fds_move_to(fds, n, SERVER_FD);

        if (r < 0)
                return r;
        if (close_range(SERVER_FD + (unsigned) n, ~0U, 0) < 0)
                return -errno;
        return 0;
}

/* The child: its fds in place, its command line written over the
 * server's (ps shows the helper as an exec'd one; a restarted manager finds
 * a starting helper by it, adopt-starting.c; the rest of the area is NULs),
 * a stack protector value of its own, then the helper. */
static _noreturn_ void run_child(CmdlineArea area, const char *path, const char *name, const int *fds,
                                 size_t n_fds, HelperMain helper_main) {
        char *argv[10];
        char *buf;
        size_t size;
        int r;

        /* its own session, as the exec'd helper (spawn.c) */
        (void) setsid();
        r = place_fds(fds, n_fds);
        if (r < 0) {
                fprintf(stderr, "vivarium-helper: fork server: cannot place the fds of container '%s': %s\n", name,
                        strerror(-r));
                _exit(127);
        }
        buf = malloc(area.size);
        if (!buf)
                _exit(127);
        size = format_cmdline(buf, area.size, path, name, n_fds, argv);
        if (size == 0)
                _exit(127);
        memcpy(area.start, buf, size);
        memset(area.start + size, 0, area.size - size);
        if (!reseed_stack_guard())
                _exit(127);
        exit(helper_main(n_fds > 2 ? 9 : 7, argv));
}

typedef struct Request {
        char name[256];
        int fds[2 + VIV_PASS_FDS_MAX];
        size_t n_fds;
} Request;

static void request_close(Request *q) {
        for (size_t i = 0; i < q->n_fds; i++)
                safe_close(q->fds[i]);
        q->n_fds = 0;
}

/* "NAME\0": the name, and the fds in one SCM_RIGHTS. 0 at EOF, 1 for a
 * request, -errno for a broken one (its fds closed). */
static int request_read(int sock, Request *q) {
        union {
                struct cmsghdr hdr;
                char buf[CMSG_SPACE(sizeof(int) * (2 + VIV_PASS_FDS_MAX))];
        } control = {};
        struct iovec iov = { .iov_base = q->name, .iov_len = sizeof q->name - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        ssize_t n;

        q->n_fds = 0;
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EINTR ? -EINTR : -errno;
        if (n == 0)
                return 0;
        q->name[n] = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        memcpy(q->fds + q->n_fds, CMSG_DATA(c), k * sizeof(int));
                        q->n_fds += k;
                }
        if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || q->n_fds < 2 || strlen(q->name) == 0 ||
            (size_t) n != strlen(q->name) + 1) {
                request_close(q);
                return -EBADMSG;
        }
        return 1;
}

/* "PID" and the pidfd, or "-ERRNO". */
static int reply(int sock, int result, int pidfd) {
        char text[32];
        int n = snprintf(text, sizeof text, "%d", result);

        return send_with_fds(sock, text, (size_t) n + 1, &pidfd, pidfd >= 0 ? 1 : 0);
}

int helper_fork_server(int argc, char *argv[], HelperMain helper_main) {
        CmdlineArea area = cmdline_area(argc, argv);
        const char *path = argv[0];
        pid_t parent = getppid();
        int r;

        /* gone with the manager, even before it closed our socket */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                return EXIT_FAILURE;

        for (;;) {
                Request q;
                int pidfd = -EBADF;
                pid_t pid;

                r = request_read(SERVER_FD, &q);
                if (r == -EINTR)
                        continue;
                if (r == 0)
                        return EXIT_SUCCESS;
                if (r < 0) {
                        if (reply(SERVER_FD, r, -EBADF) < 0)
                                return EXIT_FAILURE;
                        continue;
                }
                /* a command line that does not fit the room: the manager
                 * execs this one */
                if (format_cmdline(NULL, area.size, path, q.name, q.n_fds, NULL) == 0) {
                        request_close(&q);
                        if (reply(SERVER_FD, -ENAMETOOLONG, -EBADF) < 0)
                                return EXIT_FAILURE;
                        continue;
                }

                /* nothing of ours in a buffer for the child to write again */
                (void) fflush(NULL);
                pid = clone_sibling(&pidfd);
                if (pid == 0)
                        run_child(area, path, q.name, q.fds, q.n_fds, helper_main);
                r = pid < 0 ? -errno : (int) pid;
                /* the kernel writes the pidfd's number before checks that
                 * can still fail the clone (the pids controller's) */
                if (pid < 0)
                        pidfd = -EBADF;
                request_close(&q);
                r = reply(SERVER_FD, r, pidfd);
                safe_close(pidfd);
                if (r < 0)
                        return EXIT_FAILURE;
        }
}
