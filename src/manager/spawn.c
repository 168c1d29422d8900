/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Spawning the helper, the handshake on its fd 3, and watching it by pidfd. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
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

/* In the child between vfork() and exec(): only async-signal-safe calls,
 * no return, no change to memory the parent reads afterwards. */
static _noreturn_ void exec_helper(const char *path, const char *name, int fd, int model_fd,
                                   const int *pass_fds, size_t n_pass_fds) {
        int copies[VIV_PASS_FDS_MAX];
        char n_pass[16];
        int null_fd;

        child_reset_signals();

        /* start --pass-fds: copies above every number they will land on,
         * so neither the handshake nor the model overwrites one */
        for (size_t i = 0; i < n_pass_fds; i++) {
                copies[i] = fcntl(pass_fds[i], F_DUPFD_CLOEXEC, MODEL_FD + 1 + (int) n_pass_fds);
                if (copies[i] < 0)
                        _exit(127);
        }

        /* Both land on their numbers without overwriting each other: the
         * model's first out of the way, then the handshake, then the model. */
        if (model_fd == HANDSHAKE_FD) {
                model_fd = fcntl(model_fd, F_DUPFD_CLOEXEC, MODEL_FD + 1);
                if (model_fd < 0)
                        _exit(127);
        }
        if (fd == HANDSHAKE_FD) {
                if (fcntl(fd, F_SETFD, 0) < 0)
                        _exit(127);
        } else if (dup2(fd, HANDSHAKE_FD) < 0) /* dup2() clears FD_CLOEXEC */
                _exit(127);
        if (model_fd == MODEL_FD) {
                if (fcntl(model_fd, F_SETFD, 0) < 0)
                        _exit(127);
        } else if (dup2(model_fd, MODEL_FD) < 0)
                _exit(127);

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
                _exit(127);

        /* the passed fds follow the model: 5, 6, ... */
        for (size_t i = 0; i < n_pass_fds; i++)
                if (dup2(copies[i], MODEL_FD + 1 + (int) i) < 0)
                        _exit(127);

        /* Nothing of the manager leaks into the container's process tree. */
        (void) close_range(MODEL_FD + 1 + (unsigned) n_pass_fds, ~0U, 0);

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
        int null_fd;

        child_reset_signals();
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
                _exit(127);
        (void) close_range(STDERR_FILENO + 1, ~0U, 0);
        execl(path, path, "--name", name, "--release-nbd", (char *) NULL);
        _exit(127);
}

static __attribute__((noinline)) pid_t spawn_nbd_release_process(const char *path, const char *name) {
        pid_t pid = vfork();

        if (pid == 0)
                exec_nbd_release(path, name);
        return pid;
}

/* A pidfd of it, or -errno. */
int helper_spawn_nbd_release(Container *c) {
        pid_t pid = spawn_nbd_release_process(c->manager->helper_path, c->name);
        int pidfd;

        if (pid < 0)
                return -errno;
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                int r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        return pidfd;
}

int helper_spawn(Container *c, int model_fd) {
        _cleanup_close_ int ours = -EBADF, theirs = -EBADF, pidfd = -EBADF;
        int pair[2], r;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        ours = pair[0];
        theirs = pair[1];

        pid = spawn_helper_process(c->manager->helper_path, c->name, theirs, model_fd, c->pass_fds, c->n_pass_fds);
        if (pid < 0)
                return -errno;

        theirs = safe_close(theirs);
        c->helper_pid = pid;
        c->helper_is_child = true;

        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                c->helper_pid = 0;
                return r;
        }

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
