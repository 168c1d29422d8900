/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control socket, /run/vivarium/containers/NAME.sock: a peer-to-peer
 * sd-bus server, one sd_bus per accepted connection (the manager, and a
 * restarted manager while the old connection lingers). Only root may talk to
 * it: the socket is 0600 and the peer's uid is checked on accept. */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "bus-names.h"
#include "helper.h"
#include "helper-log.h"

static void conn_free(ControlConn *c) {
        if (!c)
                return;
        if (c->bus) {
                sd_bus_flush(c->bus);
                sd_bus_close(c->bus);
                sd_bus_unref(c->bus);
        }
        free(c);
}

static void conn_remove(Helper *h, ControlConn *c) {
        for (ControlConn **p = &h->conns; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        /* freed from a deferred event: we may be inside its bus's dispatch */
        sd_bus_detach_event(c->bus);
        sd_bus_close(c->bus);
        sd_bus_unref(c->bus);
        free(c);
}

static int method_describe(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        char uuid[37];

        (void) helper_format_uuid(h->def->uuid, uuid);
        return sd_bus_reply_method_return(m, "ssuuss", h->name, uuid, (uint32_t) getpid(),
                                          (uint32_t) h->init_pid, strempty(h->cgroups.unit),
                                          h->paused ? VIV_STATE_PAUSED : VIV_STATE_RUNNING);
}

static int method_destroy(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        int r = sd_bus_reply_method_return(m, NULL);
        if (r < 0)
                return r;
        helper_terminate(h, true);
        return 1;
}

/* systemd as init: an OS container (helper-os.c), or a systemd that a
 * container with another root's layout runs as its init. */
static bool init_is_systemd(Helper *h) {
        char path[64], comm[64] = "";

        if (h->init_systemd)
                return true;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) h->init_pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (f && fgets(comm, sizeof(comm), f))
                comm[strcspn(comm, "\n")] = 0;
        return streq(comm, "systemd");
}

static int signal_init(Helper *h, int sig, sd_bus_message *m, sd_bus_error *error) {
        if (syscall(SYS_pidfd_send_signal, h->init_pidfd, sig, NULL, 0) < 0)
                return sd_bus_error_set_errnof(error, errno, "Failed to signal init of container '%s': %m", h->name);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_shutdown(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;

        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        /* systemd as init halts on SIGRTMIN+3 (halt.target: in a container
         * the same as a power-off, init ends with SIGINT; nspawn's choice);
         * SIGTERM would make it re-execute itself */
        return signal_init(h, init_is_systemd(h) ? SIGRTMIN + 3 : SIGTERM, m, error);
}

/* shutdown --mode: bits of libvirt's virDomainShutdownFlagValues. initctl:
 * runlevel 0 through the container's initctl pipe; signal: as Shutdown;
 * both: initctl, and the signal when there is no pipe (libvirt's order). The
 * manager refuses the other modes. */
static int method_shutdown_mode(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(m, "t", &flags);
        if (r < 0)
                return r;
        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        if (flags & VIV_SHUTDOWN_INITCTL) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                r = initctl_request(h, '0', &e);
                if (r >= 0)
                        return sd_bus_reply_method_return(m, NULL);
                if (!(flags & VIV_SHUTDOWN_SIGNAL))
                        return sd_bus_error_copy(error, &e);
                log_info("%s: sending the signal instead.", e.message);
        }
        return method_shutdown(m, userdata, error);
}

/* reboot --mode initctl: runlevel 6; init's reboot() then ends it with
 * SIGHUP, and the manager starts the container again, as for Reboot. */
static int method_reboot_initctl(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        int r;

        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        r = initctl_request(h, '6', error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

/* A clean reboot, only with systemd as init: SIGRTMIN+5 starts its
 * reboot.target, which ends with reboot(), which ends init with SIGHUP
 * (exit code 129); the manager then starts the container again. Any other
 * init has no reboot convention: NotSupported, and the manager reboots by
 * destroying and starting. */
static int method_reboot(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;

        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        if (!init_is_systemd(h))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Init of container '%s' is not systemd: no clean reboot", h->name);
        return signal_init(h, SIGRTMIN + 5, m, error);
}

static int method_freeze(sd_bus_message *m, Helper *h, bool freeze, sd_bus_error *error) {
        int r;

        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        if (h->paused == freeze)
                return sd_bus_reply_method_return(m, NULL);
        r = cgroup_leaves_freeze(&h->cgroups, freeze);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to %s container '%s': %m",
                                               freeze ? "suspend" : "resume", h->name);
        h->paused = freeze;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_suspend(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_freeze(m, userdata, true, error);
}

static int method_resume(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_freeze(m, userdata, false, error);
}

static int method_open_console(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        _cleanup_close_ int fd = -EBADF;
        int force, r;

        r = sd_bus_message_read(m, "b", &force);
        if (r < 0)
                return r;
        r = console_open_client(h, NULL, force, &fd, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "h", fd);
}

static int method_resize_console(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        uint16_t rows, cols;
        int r;

        r = sd_bus_message_read(m, "qq", &rows, &cols);
        if (r < 0)
                return r;
        r = console_resize(h, NULL, rows, cols);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to resize the console of container '%s': %m", h->name);
        return sd_bus_reply_method_return(m, NULL);
}

/* The same for a console by libvirt's device name ("console1"). */
static int method_open_console_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        _cleanup_close_ int fd = -EBADF;
        const char *devname;
        int force, r;

        r = sd_bus_message_read(m, "sb", &devname, &force);
        if (r < 0)
                return r;
        r = console_open_client(h, devname, force, &fd, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "h", fd);
}

static int method_resize_console_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Helper *h = userdata;
        const char *devname;
        uint16_t rows, cols;
        int r;

        r = sd_bus_message_read(m, "sqq", &devname, &rows, &cols);
        if (r < 0)
                return r;
        r = console_resize(h, devname, rows, cols);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to resize console '%s' of container '%s': %m",
                                               devname, h->name);
        return sd_bus_reply_method_return(m, NULL);
}

/* For `vivctl domifaddr`: the addresses inside the container, whoever set them. */
static int method_get_addresses(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ NetlinkAddress *addrs = NULL;
        Helper *h = userdata;
        size_t n = 0;
        int r;

        if (h->exited)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", h->name);
        /* a shared network namespace: the host's addresses are not the container's to report */
        if (domain_def_has_privnet(h->def)) {
                r = network_list_addresses(h->init_pid, &addrs, &n);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, -r, "Failed to read the addresses of container '%s': %m",
                                                       h->name);
        }

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssu)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char mac[18] = "";
                if (addrs[i].has_mac)
                        mac_format(addrs[i].mac, mac);
                r = sd_bus_message_append(reply, "(sssu)", addrs[i].ifname, mac, addrs[i].address,
                                          (uint32_t) addrs[i].prefix);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable helper_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", name, "s", uuid, "u", helper_pid, "u", leader_pid, "s", unit, "s", state),
                                method_describe, 0),
        SD_BUS_METHOD("Destroy", NULL, NULL, method_destroy, 0),
        SD_BUS_METHOD("Shutdown", NULL, NULL, method_shutdown, 0),
        SD_BUS_METHOD("Reboot", NULL, NULL, method_reboot, 0),
        SD_BUS_METHOD_WITH_ARGS("ShutdownMode", SD_BUS_ARGS("t", flags), SD_BUS_NO_RESULT, method_shutdown_mode, 0),
        SD_BUS_METHOD("RebootInitctl", NULL, NULL, method_reboot_initctl, 0),
        SD_BUS_METHOD("Suspend", NULL, NULL, method_suspend, 0),
        SD_BUS_METHOD("Resume", NULL, NULL, method_resume, 0),
        SD_BUS_METHOD_WITH_ARGS("OpenConsole", SD_BUS_ARGS("b", force), SD_BUS_RESULT("h", fd),
                                method_open_console, 0),
        SD_BUS_METHOD_WITH_ARGS("ResizeConsole", SD_BUS_ARGS("q", rows, "q", cols), SD_BUS_NO_RESULT,
                                method_resize_console, 0),
        SD_BUS_METHOD_WITH_ARGS("OpenConsoleDevice", SD_BUS_ARGS("s", devname, "b", force), SD_BUS_RESULT("h", fd),
                                method_open_console_device, 0),
        SD_BUS_METHOD_WITH_ARGS("ResizeConsoleDevice", SD_BUS_ARGS("s", devname, "q", rows, "q", cols), SD_BUS_NO_RESULT,
                                method_resize_console_device, 0),
        SD_BUS_METHOD_WITH_ARGS("GetAddresses", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sssu)", addresses), method_get_addresses, 0),
        SD_BUS_SIGNAL_WITH_ARGS("Exited", SD_BUS_ARGS("s", detail, "i", exit_code), 0),
        SD_BUS_VTABLE_END
};

/* Tools that speak to a bus (busctl --address=unix:path=NAME.sock) say Hello
 * first; a peer-to-peer server has no bus driver, so we answer it ourselves
 * with a unique name of our own making. */
static int method_hello(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, "s", ":1.1");
}

static const sd_bus_vtable hello_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hello", NULL, "s", method_hello, 0),
        SD_BUS_VTABLE_END
};

static int on_disconnect_deferred(sd_event_source *s, void *userdata) {
        ControlConn *c = userdata;
        Helper *h = c->helper;
        sd_event_source_disable_unref(s);
        conn_remove(h, c);
        return 0;
}

static int on_local_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ControlConn *c = userdata;
        if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected"))
                (void) sd_event_add_defer(c->helper->event, NULL, on_disconnect_deferred, c);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Helper *h = userdata;
        _cleanup_close_ int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        ControlConn *c;
        int r;

        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(errno, "Failed to accept a control connection, ignoring: %m");
                return 0;
        }
        /* root only; the socket's mode says so too */
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                log_warning("Refused a control connection from uid %u.", (unsigned) cred.uid);
                return 0;
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return 0;
        c->helper = h;
        r = sd_bus_new(&c->bus);
        if (r >= 0)
                r = sd_bus_set_fd(c->bus, cfd, cfd);
        if (r >= 0) {
                TAKE_FD(cfd);
                r = sd_bus_set_server(c->bus, 1, h->server_id);
        }
        if (r >= 0)
                r = sd_bus_negotiate_fds(c->bus, 1);
        if (r >= 0)
                r = sd_bus_add_object_vtable(c->bus, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, helper_vtable, h);
        if (r >= 0)
                r = sd_bus_add_object_vtable(c->bus, NULL, VIV_HELPER_PATH, VIV_HELPER_DEVICES_IFACE,
                                             hostdev_control_vtable, h);
        if (r >= 0)
                r = sd_bus_add_object_vtable(c->bus, NULL, VIV_HELPER_PATH, VIV_HELPER_DEVICES_IFACE,
                                             fsattach_control_vtable, h);
        if (r >= 0)
                r = sd_bus_add_object_vtable(c->bus, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus", hello_vtable, h);
        if (r >= 0)
                r = sd_bus_add_filter(c->bus, NULL, on_local_disconnected, c);
        if (r >= 0)
                r = sd_bus_attach_event(c->bus, h->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_start(c->bus);
        if (r < 0) {
                log_warning_errno(r, "Failed to set up a control connection, ignoring: %m");
                conn_free(c);
                return 0;
        }
        c->next = h->conns;
        h->conns = c;
        return 0;
}

int control_listen(Helper *h) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&h->socket_path, "%s/%s.sock", VIV_RUN_CONTAINERS_DIR, h->name) < 0)
                return -ENOMEM;
        if (strlen(h->socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, h->socket_path);

        r = sd_id128_randomize(&h->server_id);
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) mkdir(VIV_RUN_DIR, 0755);
        (void) mkdir(VIV_RUN_CONTAINERS_DIR, 0755);
        (void) unlink(h->socket_path);  /* a stale one of a helper that died */

        mode_t old = umask(0177);  /* 0600 from the start: no window for others */
        r = RET_NERRNO(bind(fd, (struct sockaddr *) &sa, sizeof(sa)));
        umask(old);
        if (r < 0) {
                free(h->socket_path);
                h->socket_path = NULL;
                return r;
        }
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;

        r = sd_event_add_io(h->event, &h->listen_source, fd, EPOLLIN, on_accept, h);
        if (r < 0)
                return r;
        h->listen_fd = TAKE_FD(fd);
        return 0;
}

void control_emit_exited(Helper *h) {
        for (ControlConn *c = h->conns; c; c = c->next) {
                int r = sd_bus_emit_signal(c->bus, VIV_HELPER_PATH, VIV_HELPER_IFACE, "Exited", "si",
                                           h->exit_detail, (int32_t) h->exit_code);
                if (r < 0)
                        log_debug_errno(r, "Failed to emit Exited, ignoring: %m");
                (void) sd_bus_flush(c->bus);
        }
}

void control_close(Helper *h) {
        h->listen_source = sd_event_source_disable_unref(h->listen_source);
        h->listen_fd = safe_close(h->listen_fd);
        if (h->socket_path) {
                (void) unlink(h->socket_path);
                free(h->socket_path);
                h->socket_path = NULL;
        }
        while (h->conns) {
                ControlConn *c = h->conns;
                h->conns = c->next;
                conn_free(c);
        }
}
