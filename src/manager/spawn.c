/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Spawning the helper, the handshake on its fd 3, and watching it by pidfd. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-names.h"
#include "domain-wire.h"
#include "fileio.h"
#include "macros.h"
#include "manager.h"
#include "network.h"

#define HANDSHAKE_FD 3
#define MODEL_FD 4

/* The bridge of each type='network' interface of the live definition, for
 * the helper (it gets them with the model and reads no network file), and
 * the address the network's DHCP keeps for the interface's MAC (in the live
 * model's lease_address: the helper's anti-spoofing filter allows it), and
 * the class of its <inbound floor> on the network's bridge. */
static int resolve_bridges(Container *c, char ***ret, sd_bus_error *error) {
        DomainDef *def = c->live;
        char **bridges;
        int r;

        bridges = calloc(def->n_interfaces + 1, sizeof(char *));
        if (!bridges)
                return -ENOMEM;
        for (size_t i = 0; i < def->n_interfaces; i++) {
                DomainInterface *iface = &def->interfaces[i];
                Network *n;

                if (iface->type != INTERFACE_NETWORK)
                        continue;
                n = network_find(c->manager->networks, iface->source);
                /* A network being started (its autostart, right after the
                 * manager's own start) has its bridge and rules already;
                 * only dnsmasq is not serving yet, and a guest's DHCP client
                 * asks again. Refusing made a start right after boot fail. */
                if (!n || !(n->active || n->op == NETWORK_OP_STARTING) || !n->live || !n->live->bridge) {
                        domain_wire_bridges_free(bridges, def->n_interfaces);
                        networks_release_container(c->manager, c->name);
                        return sd_bus_error_setf(error, VIV_ERROR_START_FAILED, "Network '%s' is not active",
                                                 iface->source);
                }
                bridges[i] = strdup(n->live->bridge);
                if (!bridges[i]) {
                        domain_wire_bridges_free(bridges, def->n_interfaces);
                        networks_release_container(c->manager, c->name);
                        return -ENOMEM;
                }
                free(def->interfaces[i].lease_address);
                def->interfaces[i].lease_address = NULL;
                free(def->interfaces[i].lease_address6);
                def->interfaces[i].lease_address6 = NULL;
                r = network_reserve_address(n, c->name, iface->mac, &def->interfaces[i].lease_address,
                                            &def->interfaces[i].lease_address6, error);
                if (r >= 0)
                        r = network_qos_plug(n, c->name, iface, error);
                if (r < 0) {
                        domain_wire_bridges_free(bridges, def->n_interfaces);
                        networks_release_container(c->manager, c->name);
                        return r;
                }
        }
        *ret = bridges;
        return 0;
}

int helper_model_fd(Container *c, int *ret_fd, sd_bus_error *error) {
        _cleanup_free_ void *wire = NULL;
        _cleanup_close_ int fd = -EBADF;
        char **bridges = NULL;
        size_t size;
        int r;

        r = resolve_bridges(c, &bridges, error);
        if (r < 0)
                return r;
        r = domain_def_to_wire(c->live, bridges, &wire, &size);
        domain_wire_bridges_free(bridges, c->live->n_interfaces);
        if (r < 0)
                return r;

        fd = memfd_create("vivarium-model", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        r = write_all(fd, wire, size);
        if (r < 0)
                return r;
        /* What the helper reads is what was validated: no one holding the
         * fd can change it afterwards. */
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* In the child between vfork() and exec(): no signal of ours blocked or
 * ignored, and its own session, so that no terminal signal of ours reaches
 * it. */
static void child_reset_signals(void) {
        sigset_t all;

        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        (void) setsid();
}

/* In the child between vfork() and exec(), with the fds it keeps below
 * FIRST: stdin from /dev/null, every other fd of the manager closed, the
 * ordinary open-file limit. */
static void child_close_rest(unsigned first) {
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
                _exit(127);

        /* Nothing of the manager leaks into the container's process tree. */
        (void) close_range(first, ~0U, 0);

        /* The manager raised its own open-file limit (manager.c); the helper
         * and the container get the ordinary soft limit back. Only now, with
         * the manager's fds closed: with ~500 containers running those fill
         * every number below the limit, and the /dev/null or the copies
         * above would fail with EMFILE (each start after the 507th did). */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur > FD_SETSIZE) {
                rl.rlim_cur = FD_SETSIZE;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* In the child between vfork() and exec(): only async-signal-safe calls,
 * no return, no change to memory the parent reads afterwards. */
static _noreturn_ void exec_helper(const char *path, const char *name, int fd, int model_fd,
                                   const int *pass_fds, size_t n_pass_fds) {
        int fds[2 + VIV_PASS_FDS_MAX] = { fd, model_fd };
        char n_pass[16];

        child_reset_signals();

        /* the handshake on 3, the model on 4, start --pass-fds on 5, 6, ... */
        for (size_t i = 0; i < n_pass_fds; i++)
                fds[2 + i] = pass_fds[i];
        if (fds_move_to(fds, 2 + n_pass_fds, HANDSHAKE_FD) < 0)
                _exit(127);
        child_close_rest(MODEL_FD + 1 + (unsigned) n_pass_fds);

        /* argv[0] is the full path, so ps shows the helper as libvirt_lxc shows. */
        if (n_pass_fds > 0) {
                /* snprintf is not async-signal-safe: the digits by hand */
                size_t v = n_pass_fds, k = 0;
                char rev[16];
                do
                        rev[k++] = (char) ('0' + v % 10);
                while ((v /= 10) > 0);
                for (size_t j = 0; j < k; j++)
                        n_pass[j] = rev[k - 1 - j];
                n_pass[k] = 0;
                execl(path, path, "--name", name, "--handshake", "3", "--model", "4", "--pass-fds", n_pass, (char *) NULL);
        } else
                execl(path, path, "--name", name, "--handshake", "3", "--model", "4", (char *) NULL);
        _exit(127);
}

/* vfork: the child borrows our memory until its exec instead of a copy of
 * our page tables, and we take no copy-on-write faults afterwards
 * (bench/README.md, issue 14). exec_helper() only makes system calls, on
 * its own stack frame, and never returns. A function of its own, so that
 * nothing of the caller lives across the vfork(). */
static __attribute__((noinline)) pid_t spawn_helper_process(const char *path, const char *name, int fd, int model_fd,
                                             const int *pass_fds, size_t n_pass_fds) {
        pid_t pid = vfork();

        if (pid == 0)
                exec_helper(path, name, fd, model_fd, pass_fds, n_pass_fds);
        return pid;
}

/* vivarium-helper --name NAME --release-nbd (nbd-release.c), from the
 * manager's service like the helper itself, with nothing of the manager. */
static _noreturn_ void exec_nbd_release(const char *path, const char *name) {
        child_reset_signals();
        child_close_rest(STDERR_FILENO + 1);
        execl(path, path, "--name", name, "--release-nbd", (char *) NULL);
        _exit(127);
}

static __attribute__((noinline)) pid_t spawn_nbd_release_process(const char *path, const char *name) {
        pid_t pid = vfork();

        if (pid == 0)
                exec_nbd_release(path, name);
        return pid;
}

/* A pidfd of our child PID (spawned: PID < 0 is its -1 and errno), or
 * -errno with the child killed and reaped. */
static int child_pidfd(pid_t pid) {
        int pidfd, r;

        if (pid < 0)
                return -errno;
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        return pidfd;
}

/* A pidfd of it, or -errno. */
int helper_spawn_nbd_release(Container *c) {
        return child_pidfd(spawn_nbd_release_process(c->manager->helper_path, c->name));
}

/* The helper's fork server (helper-server.c; docs/internals.md, "The
 * helper's fork server"). A start sends it the container's name and the
 * helper's fds and gets the PID and a pidfd of a helper that is our child,
 * as an exec'd one: everything after the spawn is the same. Any failure of
 * the server ends it and the start execs its helper as before; after
 * SERVER_FAILURES_MAX in a row without a helper forked, helpers are exec'd
 * until the manager's next start. */
#define SERVER_FD 3
#define SERVER_FAILURES_MAX 3
#define SERVER_REPLY_TIMEOUT_MS 5000

/* Each helper writes its command line over the server's argument strings
 * (without CAP_SYS_RESOURCE, which PR_SET_MM needs and which containers of
 * containers lack, a process cannot point /proc/PID/cmdline elsewhere):
 * the server gets empty ones for room, one byte each. */
#define SERVER_CMDLINE_ROOM 512

/* Our end and the child's of a SOCK_SEQPACKET pair (the handshake, the
 * fork server's socket); any fds they held before are closed. */
static int seqpacket_pair(int *ours, int *theirs) {
        int pair[2];

        *ours = safe_close(*ours);
        *theirs = safe_close(*theirs);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        *ours = pair[0];
        *theirs = pair[1];
        return 0;
}

static _noreturn_ void exec_server(char *const argv[], int sock) {
        child_reset_signals();
        if (fds_move_to(&sock, 1, SERVER_FD) < 0)
                _exit(127);
        child_close_rest(SERVER_FD + 1);
        execv(argv[0], argv);
        _exit(127);
}

static __attribute__((noinline)) pid_t spawn_server_process(char *const argv[], int sock) {
        pid_t pid = vfork();

        if (pid == 0)
                exec_server(argv, sock);
        return pid;
}

void helper_server_init(Manager *m) {
        const char *e = getenv("VIVARIUM_HELPER_SERVER");

        m->helper_server = (HelperServer) {
                .pidfd = -EBADF,
                .sock = -EBADF,
                .off = e && streq(e, "0"),
        };
}

static void server_count_failure(Manager *m) {
        HelperServer *s = &m->helper_server;

        if (++s->failures < SERVER_FAILURES_MAX || s->off)
                return;
        s->off = true;
        fprintf(stderr, "The helper's fork server failed %u times in a row: helpers are exec'd from now on.\n",
                s->failures);
}

/* One answer of the server, "PID" with a pidfd or "-ERRNO", without
 * waiting: 0, -EAGAIN when there is none, another -errno when the socket
 * failed or was closed. */
static int server_read_reply(int sock, long *ret_value, int *ret_pidfd) {
        union {
                struct cmsghdr hdr;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        char text[32];
        struct iovec iov = { .iov_base = text, .iov_len = sizeof text - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control };
        int pidfd = -EBADF;
        ssize_t n;

        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n <= 0)
                return n < 0 ? -errno : -ECONNRESET;
        text[n] = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
                    cm->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&pidfd, CMSG_DATA(cm), sizeof(int));
        *ret_value = strtol(text, NULL, 10);
        *ret_pidfd = pidfd;
        return 0;
}

/* Answers left in the socket of a server that is gone: a helper it forked
 * for a request we gave up on (a timeout) is our child and would wait
 * without a start; killed and reaped. */
static void server_kill_strays(int sock) {
        siginfo_t si;
        int pidfd;
        long v;

        while (sock >= 0 && server_read_reply(sock, &v, &pidfd) >= 0) {
                if (pidfd < 0)
                        continue;
                fprintf(stderr, "Killing helper %ld, forked by the ending fork server for no start.\n", v);
                (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                (void) waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED);
                safe_close(pidfd);
        }
}

/* The server has been reaped as SI says (NULL: not at all): an end we did
 * not cause (anything but our own SIGKILL, when KILLED_BY_US) to the
 * journal, then its pidfd, its event source, its socket and what was left
 * in it let go. */
static void server_forget(HelperServer *s, const siginfo_t *si, bool killed_by_us) {
        if (si && si->si_code == CLD_EXITED)
                fprintf(stderr, "The helper's fork server %d exited with status %d.\n", (int) s->pid, si->si_status);
        else if (si && !(killed_by_us && si->si_status == SIGKILL))
                fprintf(stderr, "The helper's fork server %d was killed by signal %d.\n", (int) s->pid,
                        si->si_status);
        s->source = sd_event_source_disable_unref(s->source);
        s->pidfd = safe_close(s->pidfd);
        s->pid = 0;
        server_kill_strays(s->sock);
        s->sock = safe_close(s->sock);
}

void helper_server_stop(Manager *m, const char *why) {
        HelperServer *s = &m->helper_server;
        siginfo_t si = {};

        if (s->pidfd < 0)
                return;
        if (why)
                fprintf(stderr, "Ending the helper's fork server %d: %s.\n", (int) s->pid, why);
        (void) pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
        server_forget(s, waitid(P_PIDFD, (id_t) s->pidfd, &si, WEXITED) >= 0 ? &si : NULL, true);
}

/* It ended without being asked to: its exit status to the journal, a new
 * one at the next start. */
static int server_exit_cb(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        HelperServer *s = &m->helper_server;
        siginfo_t si = {};

        if (waitid(P_PIDFD, (id_t) s->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return 0;
        server_forget(s, &si, false);
        server_count_failure(m);
        return 0;
}

static int server_start(Manager *m, const struct stat *st) {
        HelperServer *s = &m->helper_server;
        _cleanup_close_ int ours = -EBADF, theirs = -EBADF, pidfd = -EBADF;
        char *argv[2 + SERVER_CMDLINE_ROOM + 1];
        pid_t pid;
        int r;

        r = seqpacket_pair(&ours, &theirs);
        if (r < 0)
                return r;
        argv[0] = m->helper_path;
        argv[1] = (char *) "--fork-server";
        for (size_t i = 2; i < ELEMENTSOF(argv) - 1; i++)
                argv[i] = (char *) "";
        argv[ELEMENTSOF(argv) - 1] = NULL;
        pid = spawn_server_process(argv, theirs);
        pidfd = child_pidfd(pid);
        if (pidfd < 0)
                return pidfd;
        r = sd_event_add_io(m->event, &s->source, pidfd, EPOLLIN, server_exit_cb, m);
        if (r < 0) {
                (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t) {}, WEXITED);
                return r;
        }
        s->pid = pid;
        s->pidfd = TAKE_FD(pidfd);
        s->sock = TAKE_FD(ours);
        s->dev = st->st_dev;
        s->ino = st->st_ino;
        s->mtime = st->st_mtim;
        return 0;
}

/* A server that runs the helper binary on disk now: a new one after an
 * upgrade (or a test's new build), as an exec would pick it up. */
static int server_ready(Manager *m) {
        HelperServer *s = &m->helper_server;
        struct stat st;

        if (s->off)
                return -EOPNOTSUPP;
        if (stat(m->helper_path, &st) < 0)
                return -errno;
        if (s->pidfd >= 0 && (st.st_dev != s->dev || st.st_ino != s->ino || st.st_mtim.tv_sec != s->mtime.tv_sec ||
                              st.st_mtim.tv_nsec != s->mtime.tv_nsec))
                helper_server_stop(m, "the helper binary changed");
        if (s->pidfd >= 0)
                return 0;
        return server_start(m, &st);
}

/* 0 with a helper; 1 when the server refused this one (*ret_refusal: a
 * -errno: its clone3() failed, the command line did not fit); -errno when
 * the server failed. */
static int server_request(Manager *m, Container *c, int handshake_fd, int model_fd, pid_t *ret_pid,
                          int *ret_pidfd, int *ret_refusal) {
        HelperServer *s = &m->helper_server;
        int fds[2 + VIV_PASS_FDS_MAX];
        size_t n_fds = 0, name_len = strlen(c->name) + 1;
        struct pollfd p = { .fd = s->sock, .events = POLLIN };
        int pidfd = -EBADF, r, n;
        long v;

        if (name_len > 255 || c->n_pass_fds > VIV_PASS_FDS_MAX) {
                *ret_refusal = -E2BIG;
                return 1;
        }
        fds[n_fds++] = handshake_fd;
        fds[n_fds++] = model_fd;
        for (size_t i = 0; i < c->n_pass_fds; i++)
                fds[n_fds++] = c->pass_fds[i];
        r = send_with_fds(s->sock, c->name, name_len, fds, n_fds);
        if (r < 0)
                return r;

        /* It answers as soon as its clone3() returns: no event loop turn. */
        n = poll(&p, 1, SERVER_REPLY_TIMEOUT_MS);
        if (n <= 0)
                return n < 0 ? -errno : -ETIMEDOUT;
        r = server_read_reply(s->sock, &v, &pidfd);
        if (r < 0)
                return r;
        if (v < 0 && v > -4096 && pidfd < 0) {
                *ret_refusal = (int) v;
                return 1;
        }
        if (v <= 0 || pidfd < 0) {
                safe_close(pidfd);
                return -EBADMSG;
        }
        *ret_pid = (pid_t) v;
        *ret_pidfd = pidfd;
        return 0;
}

/* A helper forked by the fork server, or -errno (the server ended: the
 * caller execs one). */
static int server_spawn(Container *c, int handshake_fd, int model_fd, pid_t *ret_pid, int *ret_pidfd) {
        Manager *m = c->manager;
        int r, refusal = 0;

        r = server_ready(m);
        if (r < 0) {
                if (r != -EOPNOTSUPP) {
                        fprintf(stderr, "Failed to start the helper's fork server: %s\n", strerror(-r));
                        server_count_failure(m);
                }
                return r;
        }
        r = server_request(m, c, handshake_fd, model_fd, ret_pid, ret_pidfd, &refusal);
        if (r > 0) {
                fprintf(stderr, "The helper's fork server did not fork the helper of container '%s' (%s): "
                        "exec'ing it.\n", c->name, strerror(-refusal));
                /* a kernel without clone3() or one of its flags, or a
                 * seccomp filter of ours refusing it: no use, ever */
                if (refusal == -ENOSYS || refusal == -EINVAL || refusal == -EPERM) {
                        helper_server_stop(m, "its clone3() is refused here");
                        m->helper_server.off = true;
                        fprintf(stderr, "Helpers are exec'd from now on.\n");
                }
                return refusal;
        }
        if (r < 0) {
                _cleanup_free_ char *why = NULL;

                if (asprintf(&why, "no helper for container '%s': %s", c->name, strerror(-r)) < 0)
                        why = NULL;
                helper_server_stop(m, why ? why : "no helper");
                server_count_failure(m);
                return r;
        }
        m->helper_server.failures = 0;
        return 0;
}

/* The signals of memory errors and of glibc's and the stack protector's
 * aborts: what an attack that guesses addresses leaves behind. */
static bool signal_is_memory_error(int sig) {
        switch (sig) {
        case SIGSEGV: case SIGBUS: case SIGILL: case SIGABRT: case SIGFPE: case SIGSYS: case SIGTRAP:
                return true;
        default:
                return false;
        }
}

void helper_server_note_helper_end(Manager *m, const char *name, const siginfo_t *si) {
        _cleanup_free_ char *why = NULL;

        if (!(si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) || !signal_is_memory_error(si->si_status))
                return;
        if (asprintf(&why, "the helper of container '%s' died of %s; the next helper is forked from a new one",
                     name, strsignal(si->si_status)) < 0)
                why = NULL;
        helper_server_stop(m, why ? why : "a helper died of a memory error");
}

int helper_spawn(Container *c, int model_fd) {
        _cleanup_close_ int ours = -EBADF, theirs = -EBADF, pidfd = -EBADF;
        pid_t pid;
        int r;

        r = seqpacket_pair(&ours, &theirs);
        if (r < 0)
                return r;

        if (server_spawn(c, theirs, model_fd, &pid, &pidfd) < 0) {
                /* A new pair: a server that failed after our request may
                 * have forked a helper with the old one; it reads EOF on it
                 * (we close our end now) and exits without a word. */
                r = seqpacket_pair(&ours, &theirs);
                if (r < 0)
                        return r;
                pid = spawn_helper_process(c->manager->helper_path, c->name, theirs, model_fd, c->pass_fds,
                                           c->n_pass_fds);
                pidfd = child_pidfd(pid);
                if (pidfd < 0)
                        return pidfd;
        }

        theirs = safe_close(theirs);
        c->helper_pid = pid;
        c->helper_is_child = true;

        c->handshake_fd = TAKE_FD(ours);
        r = helper_watch(c, pidfd);
        if (r < 0) {
                (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                c->helper_pid = 0;
                c->handshake_fd = safe_close(c->handshake_fd);
                return r;
        }
        TAKE_FD(pidfd);
        return 0;
}

int helper_watch(Container *c, int pidfd) {
        int r;

        r = sd_event_add_io(c->manager->event, &c->pidfd_source, pidfd, EPOLLIN, container_pidfd_cb, c);
        if (r < 0)
                return r;
        /* After the bus connections: the helper's last messages (READY,
         * Exited) are handled before its end. */
        (void) sd_event_source_set_priority(c->pidfd_source, SD_EVENT_PRIORITY_NORMAL + 10);
        c->pidfd = pidfd;
        return 0;
}

static int handshake_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;
        char buf[4096];
        const char *p;
        ssize_t n;

        n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                n = 0; /* ECONNRESET and friends: the helper is gone */
        }
        if (n == 0) {
                /* EOF without a word: its pidfd tells the rest. */
                c->handshake_source = sd_event_source_disable_unref(c->handshake_source);
                return 0;
        }

        buf[n] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == 0))
                buf[--n] = 0;

        if ((p = startswith(buf, VIV_HANDSHAKE_INIT))) {
                long leader = *p == ' ' ? strtol(p + 1, NULL, 10) : 0;

                container_helper_init(c, (pid_t) (leader > 0 ? leader : 0));
        } else if ((p = startswith(buf, VIV_HANDSHAKE_READY))) {
                long leader = 0;

                if (*p == ' ')
                        leader = strtol(p + 1, NULL, 10);
                container_helper_ready(c, (pid_t) (leader > 0 ? leader : 0));
        } else if ((p = startswith(buf, VIV_HANDSHAKE_ERROR))) {
                char *msg = NULL;

                /* "ERROR <errno> <message>": the message is for the user. */
                if (*p == ' ') {
                        strtol(p + 1, &msg, 10);
                        while (msg && *msg == ' ')
                                msg++;
                }
                container_helper_error(c, msg && *msg ? msg : "The helper reported an error without a message");
        } else {
                fprintf(stderr, "Unexpected handshake message from the helper of container '%s': '%s'\n", c->name,
                        buf);
                container_helper_error(c, "Protocol error in the helper's handshake");
        }
        return 0;
}

int helper_send_go(Container *c) {
        int r;

        if (send(c->handshake_fd, VIV_HANDSHAKE_GO, strlen(VIV_HANDSHAKE_GO), MSG_NOSIGNAL) < 0)
                return -errno;

        r = sd_event_add_io(c->manager->event, &c->handshake_source, c->handshake_fd, EPOLLIN, handshake_cb, c);
        if (r < 0)
                return r;
        return 0;
}
