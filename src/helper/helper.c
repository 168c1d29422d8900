/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vivarium-helper: one per running container (docs/internals.md).
 *
 *   vivarium-helper --name NAME --handshake FD --model FD
 *       started by the manager, which passes the validated model on the
 *       second fd (domain-wire.h): waits for GO, builds the container, answers
 *       READY <init-pid> or ERROR <errno> <message>, then serves the control
 *       socket and the console until init exits.
 *   vivarium-helper --name NAME --xml FILE --foreground
 *       without a manager (debugging, tests, benchmarks): starts at once, no
 *       cgroups, no control socket, the console mirrored on stdio; exits with
 *       init's exit status. The file is parsed by vivarium-xml.so, loaded for
 *       it: the helper itself links no XML parser (xml-module.h).
 *   vivarium-helper --fork-server
 *       the manager's fork server (helper-server.c): forks helpers that run
 *       as the first form, without an exec each. */

#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-names.h"
#include "domain-wire.h"
#include "domain-xml.h"
#include "fileio.h"
#include "helper.h"
#include "helper-log.h"
#include "xml-module.h"
#include "trace.h"

int helper_format_uuid(const uint8_t u[16], char ret[37]) {
        return snprintf(ret, 37,
                        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                        u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                        u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void helper_init(Helper *h) {
        *h = (Helper) {
                .handshake_fd = -EBADF,
                .model_fd = -EBADF,
                .init_pidfd = -EBADF,
                .listen_fd = -EBADF,
                .notify_fd = -EBADF,
                .userns_lock_fd = -EBADF,
                .netns_fd = -EBADF,
                .exit_detail = "shutdown",
        };
        for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++)
                h->share_fds[k] = -EBADF;
        h->console.master = -EBADF;
        h->console.slave = -EBADF;
        host_mounts_init(&h->host);
}

static void helper_done(Helper *h) {
        control_close(h);
        console_done(&h->console);
        for (size_t i = 0; i < h->n_extra_consoles; i++)
                console_done(&h->extra_consoles[i]);
        free(h->extra_consoles);
        h->extra_consoles = NULL;
        h->n_extra_consoles = 0;
        os_notify_close(h);
        host_mounts_close(&h->host);
        /* init has ended: nothing mounts the images qemu-nbd serves */
        nbd_release_all(&h->nbd);
        hostdev_net_take_back(h);
        hostdev_close_images(h);
        h->network = network_teardown(h->network);
        h->child_source = sd_event_source_disable_unref(h->child_source);
        h->init_pidfd = safe_close(h->init_pidfd);
        h->userns_lock_fd = safe_close(h->userns_lock_fd);
        for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++)
                h->share_fds[k] = safe_close(h->share_fds[k]);
        cgroup_leaves_done(&h->cgroups);
        h->handshake_fd = safe_close(h->handshake_fd);
        h->event = sd_event_unref(h->event);
        h->model_fd = safe_close(h->model_fd);
        if (h->def)
                domain_wire_bridges_free(h->bridges, h->def->n_interfaces);
        domain_def_free(h->def);
        if (h->seccomp_path && unlink(h->seccomp_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove '%s', ignoring: %m", h->seccomp_path);
        free(h->seccomp_path);
        free(h->name);
        free(h->xml_path);
}

static int handshake_send(Helper *h, const char *fmt, ...) _printf_(2, 3);
static int handshake_send(Helper *h, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        if (h->handshake_fd < 0)
                return 0;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (send(h->handshake_fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
                return log_error_errno(errno, "Failed to answer the manager: %m");
        return 0;
}

/* INIT <pid>: init is in its cgroups (it builds its mounts meanwhile), so
 * the manager can register the machine with machined while we go on
 * (src/manager/machine.c); READY follows. */
void helper_report_init(Helper *h, pid_t pid) {
        (void) handshake_send(h, "%s %d", VIV_HANDSHAKE_INIT, (int) pid);
}

/* The start's verdict for the manager, once: READY <init pid> when init
 * runs (with <vivarium:notify/>, when it said READY=1), else ERROR. */
void helper_report_start(Helper *h, int error, const char *message) {
        if (h->ready)
                return;
        h->ready = true;
        if (error < 0)
                (void) handshake_send(h, "%s %d %s", VIV_HANDSHAKE_ERROR, -error, strna(message));
        else {
                trace_point("helper-ready");    /* before the send: the manager's mgr-ready is after it */
                (void) handshake_send(h, "%s %d", VIV_HANDSHAKE_READY, (int) h->init_pid);
        }
        h->handshake_fd = safe_close(h->handshake_fd);
}

/* Blocks until the manager says GO. Returns 0 on GO, -EPIPE when the manager
 * went away (we then leave without a trace). */
static int handshake_wait_go(Helper *h) {
        char buf[64];
        ssize_t n;

        do
                n = recv(h->handshake_fd, buf, sizeof(buf) - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return log_error_errno(errno, "Failed to read the handshake: %m");
        if (n == 0)
                return -EPIPE;
        buf[n] = 0;
        buf[strcspn(buf, "\r\n")] = 0;
        if (!streq(buf, VIV_HANDSHAKE_GO)) {
                log_error("Unexpected handshake message '%s'.", buf);
                return -EPROTO;
        }
        return 0;
}

void helper_terminate(Helper *h, bool destroy) {
        if (h->exited)
                return;
        if (destroy)
                h->destroying = true;
        if (h->paused) {
                /* a v1 freezer holds even SIGKILL */
                (void) cgroup_leaves_freeze(&h->cgroups, false);
                h->paused = false;
        }
        (void) syscall(SYS_pidfd_send_signal, h->init_pidfd, SIGKILL, NULL, 0);
        cgroup_leaves_kill_payload(&h->cgroups);
}

/* NAME.exit (docs/internals.md): the manager learns init's end from the
 * Exited signal only when it is connected by then, and an init that ends at
 * once ends before the manager connects after READY. The file is read and
 * removed by the manager when it sees this helper gone. */
static void write_exit_status(Helper *h) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (h->foreground)
                return;
        if (asprintf(&path, "%s/%s.exit", VIV_RUN_CONTAINERS_DIR, h->name) < 0 ||
            asprintf(&text, "%s %d\n", h->exit_detail, h->exit_code) < 0) {
                log_warning("Failed to record the exit status of init, ignoring: out of memory");
                return;
        }
        r = write_file_atomic(path, text, 0600);
        if (r < 0)
                log_warning_errno(r, "Failed to write '%s', ignoring: %m", path);
}

static int on_init_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Helper *h = userdata;

        h->exited = true;
        if (si->si_code == CLD_EXITED) {
                h->exit_code = si->si_status;
                h->exit_detail = "shutdown";
        } else {
                int sig = si->si_status;
                h->exit_code = 128 + sig;
                h->exit_detail = sig == SIGTERM || sig == SIGHUP || sig == SIGINT ? "shutdown" : "crashed";
        }
        if (h->destroying)
                h->exit_detail = "destroyed";
        trace_point("helper-init-exited");
        log_debug("Init exited: %s, %d.", h->exit_detail, h->exit_code);
        if (!h->ready) {
                /* <vivarium:notify/>: it never said READY=1 */
                _cleanup_free_ char *msg = NULL;
                (void) asprintf(&msg, "Init of container '%s' exited (status %d) before it reported READY=1",
                                h->name, h->exit_code);
                helper_report_start(h, -ECHILD, msg);
        }
        write_exit_status(h);

        console_drain(h);
        /* nothing of the container may survive its init */
        cgroup_leaves_kill_payload(&h->cgroups);
        trace_point("helper-payload-killed");
        /* before Exited: whoever sees the container stopped sees its devices gone */
        hostdev_net_take_back(h);
        h->network = network_teardown(h->network);
        /* now, while the connections are up: exiting the event loop closes
         * every bus attached to it */
        control_emit_exited(h);
        trace_point("helper-exited-emitted");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Helper *h = userdata;
        log_debug("Received signal %u, destroying the container.", si->ssi_signo);
        helper_terminate(h, true);
        return 0;
}

static int parse_argv(Helper *h, int argc, char *argv[]) {
        static const struct option options[] = {
                { "name",       required_argument, NULL, 'n' },
                { "handshake",  required_argument, NULL, 'H' },
                { "model",      required_argument, NULL, 'm' },
                { "xml",        required_argument, NULL, 'x' },
                { "pass-fds",   required_argument, NULL, 'p' },
                { "foreground", no_argument,       NULL, 'f' },
                { "release-nbd", no_argument,      NULL, 'R' },
                { "debug",      no_argument,       NULL, 'd' },
                { "help",       no_argument,       NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        free(h->name);
                        h->name = strdup(optarg);
                        break;
                case 'H':
                case 'm': {
                        char *end;
                        long fd = strtol(optarg, &end, 10);
                        if (*end || fd < 0 || fd > 65535) {
                                fprintf(stderr, "Invalid %s fd '%s'.\n", c == 'H' ? "handshake" : "model", optarg);
                                return -EINVAL;
                        }
                        if (c == 'H')
                                h->handshake_fd = (int) fd;
                        else
                                h->model_fd = (int) fd;
                        break;
                }
                case 'p': {
                        char *end;
                        long n = strtol(optarg, &end, 10);
                        if (*end || n < 0 || n > VIV_PASS_FDS_MAX) {
                                fprintf(stderr, "Invalid --pass-fds count '%s'.\n", optarg);
                                return -EINVAL;
                        }
                        h->n_pass_fds = (unsigned) n;
                        break;
                }
                case 'x':
                        free(h->xml_path);
                        h->xml_path = strdup(optarg);
                        break;
                case 'f':
                        h->foreground = true;
                        break;
                case 'R':
                        h->release_nbd = true;
                        break;
                case 'd':
                        log_set_debug(true);
                        break;
                case 'h':
                        printf("%s --name NAME --handshake FD --model FD [--pass-fds N]\n"
                               "%s --name NAME --xml FILE --foreground [--debug]\n"
                               "%s --name NAME --release-nbd\n",
                               program_invocation_short_name, program_invocation_short_name,
                               program_invocation_short_name);
                        exit(EXIT_SUCCESS);
                default:
                        return -EINVAL;
                }

        if (!h->name || !domain_name_is_valid(h->name)) {
                fprintf(stderr, "A valid --name is required.\n");
                return -EINVAL;
        }
        if (h->release_nbd) {
                if (h->foreground || h->handshake_fd >= 0 || h->model_fd >= 0 || h->xml_path || h->n_pass_fds > 0) {
                        fprintf(stderr, "--release-nbd goes with --name only.\n");
                        return -EINVAL;
                }
                return 0;
        }
        if (h->foreground == (h->handshake_fd >= 0)) {
                fprintf(stderr, "Exactly one of --handshake FD and --foreground is required.\n");
                return -EINVAL;
        }
        if (h->foreground != (h->model_fd < 0)) {
                fprintf(stderr, "--model FD goes with --handshake, and --xml with --foreground.\n");
                return -EINVAL;
        }
        if (h->handshake_fd >= 0 && fcntl(h->handshake_fd, F_SETFD, FD_CLOEXEC) < 0) {
                fprintf(stderr, "Handshake fd %d: %m\n", h->handshake_fd);
                return -EBADF;
        }
        if (h->model_fd >= 0 && fcntl(h->model_fd, F_SETFD, FD_CLOEXEC) < 0) {
                fprintf(stderr, "Model fd %d: %m\n", h->model_fd);
                return -EBADF;
        }
        if (h->n_pass_fds > 0 && h->foreground) {
                fprintf(stderr, "--pass-fds goes with --handshake.\n");
                return -EINVAL;
        }
        /* kept for init only: nothing else the helper starts inherits them */
        for (unsigned i = 0; i < h->n_pass_fds; i++)
                if (fcntl(HELPER_PASS_FDS_BASE + (int) i, F_SETFD, FD_CLOEXEC) < 0) {
                        fprintf(stderr, "Passed fd %d: %m\n", HELPER_PASS_FDS_BASE + (int) i);
                        return -EBADF;
                }
        if (h->foreground && !h->xml_path &&
            asprintf(&h->xml_path, "%s/%s.xml", VIV_RUN_CONTAINERS_DIR, h->name) < 0)
                return -ENOMEM;
        if (!h->foreground && asprintf(&h->seccomp_path, "%s/%s.seccomp", VIV_RUN_CONTAINERS_DIR, h->name) < 0)
                return -ENOMEM;
        return 0;
}

/* More than any definition vivariumd accepts (its files are read whole too). */
#define MODEL_SIZE_MAX (64 * 1024 * 1024)

/* The model vivariumd validated and resolved (bridges included), from the
 * sealed memfd it passed: no XML parser in the helper (xml-module.h). */
static int load_model(Helper *h, char **ret_error) {
        _cleanup_free_ void *buf = NULL;
        struct stat st;
        ssize_t n;
        int r;

        if (fstat(h->model_fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size > MODEL_SIZE_MAX)
                return -EBADMSG;
        buf = malloc((size_t) st.st_size);
        if (!buf)
                return -ENOMEM;
        n = pread(h->model_fd, buf, (size_t) st.st_size, 0);
        if (n < 0)
                return -errno;
        if (n != st.st_size)
                return -EBADMSG;
        h->model_fd = safe_close(h->model_fd);

        r = domain_def_from_wire(buf, (size_t) n, &h->def, &h->bridges);
        if (r < 0)
                (void) asprintf(ret_error, "Failed to load the definition of container '%s' from the manager: %s",
                                h->name, strerror(-r));
        return r;
}

/* Foreground mode, no manager: a file, validated in full with the parser
 * vivariumd uses, loaded for this. */
static int load_xml(Helper *h, char **ret_error) {
        _cleanup_free_ char *why = NULL;
        const XmlModule *m;
        XmlDiag diag = {};
        int r;

        r = xml_module_load(&m, &why);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to load the XML parser: %s", strna(why));
                return r;
        }
        r = m->domain_def_parse_file(h->xml_path, &h->def, &diag);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to load the definition of container '%s': %s", h->name,
                                diag.error ? diag.error : strerror(-r));
                xml_diag_done(&diag);
                return r;
        }
        xml_diag_done(&diag);
        return network_read_bridges(m, h->def, &h->bridges, ret_error);
}

static int load_definition(Helper *h, char **ret_error) {
        int r;

        r = h->model_fd >= 0 ? load_model(h, ret_error) : load_xml(h, ret_error);
        if (r < 0) {
                if (!*ret_error)
                        (void) asprintf(ret_error, "Failed to load the definition of container '%s': %s", h->name,
                                        strerror(-r));
                return r;
        }
        if (!streq(h->def->name, h->name)) {
                (void) asprintf(ret_error, "Definition '%s' is for container '%s', not '%s'",
                                h->xml_path ?: "(from the manager)", h->def->name, h->name);
                return -EINVAL;
        }
        return 0;
}

/* Everything from GO to READY. On failure *ret_error says why, for the user. */
static int container_start(Helper *h, char **ret_error) {
        int r;

        if (!h->foreground) {
                r = cgroup_leaves_setup(&h->cgroups);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to set up the cgroups of container '%s': %s",
                                        h->name, strerror(-r));
                        return r;
                }
        }
        trace_point("helper-cgroups");

        h->host.nbd = &h->nbd;
        r = host_mounts_open(&h->host, h->def, ret_error);
        if (r >= 0)
                trace_point("helper-host-mounts");
        if (r >= 0)
                r = userns_prepare(h, ret_error);
        if (r >= 0)
                trace_point("helper-userns");
        /* after userns_prepare(): the nodes belong to the container's root */
        if (r >= 0) {
                h->root_uid = h->host.root_uid;
                h->root_gid = h->host.root_gid;
                r = hostdev_open_nodes(h, ret_error);
        }
        if (r < 0) {
                host_mounts_close(&h->host);
                return r;
        }

        h->host.cgroup_unified = cgroup_host_is_unified();
        h->host.cgroup_writable = h->cgroups.n_hier > 0;
        for (size_t i = 0; i < h->cgroups.n_hier; i++) {
                h->host.cgroup_unified_writable |= h->cgroups.hier[i].unified;
                h->host.cgroup_systemd_writable |= h->cgroups.hier[i].named_systemd;
        }
        h->init_systemd = h->host.init_systemd;
        if (h->init_systemd && seccomp_denies_mounts(h->def)) {
                /* systemd mounts (its own /run/systemd, services' sandboxes):
                 * under the mount denial it would die at once with 255 */
                (void) asprintf(ret_error, "Container '%s' boots systemd as init, which needs to mount: give it a user "
                                "namespace (<idmap>), or allow mounting without one with <features><capabilities "
                                "policy='default'><sys_admin state='on'/></capabilities></features>", h->name);
                return -EPERM;
        }
        os_link_journal(h);
        r = os_notify_open(h, ret_error);
        if (r < 0)
                return r;
        r = container_spawn(h, ret_error);
        /* the child took its copies of the source clones and shared namespaces */
        host_mounts_close(&h->host);
        for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++)
                h->share_fds[k] = safe_close(h->share_fds[k]);
        if (r < 0)
                return r;

        r = sd_event_add_child_pidfd(h->event, &h->child_source, h->init_pidfd, WEXITED, on_init_exit, h);
        if (r < 0)
                goto fail;
        r = console_attach(h);
        if (r < 0)
                goto fail;

        if (!h->foreground) {
                r = control_listen(h);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to create the control socket of container '%s': %s",
                                        h->name, strerror(-r));
                        goto fail;
                }
                trace_point("helper-listening");
        }
        return 0;

fail:
        if (!*ret_error)
                (void) asprintf(ret_error, "Failed to start container '%s': %s", h->name, strerror(-r));
        helper_terminate(h, true);
        (void) waitid(P_PIDFD, (id_t) h->init_pidfd, NULL, WEXITED);
        return r;
}

static int helper_main(int argc, char *argv[]) {
        _cleanup_free_ char *error = NULL;
        Helper helper, *h = &helper;
        sigset_t mask;
        int r, ret = EXIT_FAILURE;

        trace_point("helper-main");
        helper_init(h);
        r = parse_argv(h, argc, argv);
        if (r < 0)
                goto finish;
        log_set_container_name(h->name);
        if (getenv("VIVARIUM_HELPER_DEBUG"))
                log_set_debug(true);
        if (h->release_nbd) {
                r = nbd_release_left(h->name);
                if (r < 0)
                        log_error_errno(r, "Failed to look for the nbd devices of container '%s': %m", h->name);
                else
                        ret = EXIT_SUCCESS;
                goto finish;
        }

        (void) signal(SIGPIPE, SIG_IGN);

        r = load_definition(h, &error);
        trace_point("helper-loaded");

        if (h->handshake_fd >= 0) {
                /* nothing visible before GO, not even our verdict on the XML;
                 * a SIGTERM meanwhile (the scope stopped) simply ends us */
                int g = handshake_wait_go(h);
                if (g < 0)
                        goto finish;
                trace_point("helper-go");
        }

        /* from here on, signals are events: SIGTERM destroys the container
         * instead of orphaning it */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);

        if (r >= 0) {
                r = sd_event_new(&h->event);
                if (r < 0)
                        (void) asprintf(&error, "Failed to start container '%s': %s", h->name, strerror(-r));
        }
        if (r >= 0)
                r = container_start(h, &error);
        if (r < 0) {
                if (!error)
                        (void) asprintf(&error, "Failed to start container '%s': %s", h->name, strerror(-r));
                log_error("%s", strna(error));
                (void) handshake_send(h, "%s %d %s", VIV_HANDSHAKE_ERROR, -r, strna(error));
                cgroup_leaves_remove(&h->cgroups);
                goto finish;
        }

        /* with <vivarium:notify/>, the manager hears READY when init says so */
        r = os_notify_watch(h);
        if (r < 0)
                log_warning_errno(r, "Failed to watch the notify socket, reporting the start now: %m");
        if (r <= 0)
                helper_report_start(h, 0, NULL);

        (void) sd_event_add_signal(h->event, NULL, SIGTERM, on_signal, h);
        (void) sd_event_add_signal(h->event, NULL, SIGINT, on_signal, h);
        (void) sd_event_add_signal(h->event, NULL, SIGHUP, on_signal, h);

        /* A helper lives as long as its container, one per container: what
         * the start allocated and freed (the model, libseccomp's filter
         * database, cgroup and mount tables) goes back to the kernel instead
         * of staying in the heap below glibc's 128 KiB trim threshold. After
         * READY: not on the way of the start. */
        (void) malloc_trim(0);

        r = sd_event_loop(h->event);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");

        trace_point("helper-loop-done");
        control_close(h);
        cgroup_leaves_remove(&h->cgroups);
        trace_point("helper-cgroups-removed");
        ret = h->foreground ? h->exit_code : EXIT_SUCCESS;

finish:
        helper_done(h);
        trace_point("helper-end");
        return ret;
}

int main(int argc, char *argv[]) {
        if (argc >= 2 && streq(argv[1], "--fork-server"))
                return helper_fork_server(argc, argv, helper_main);
        return helper_main(argc, argv);
}
