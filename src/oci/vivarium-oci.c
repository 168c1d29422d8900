/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vivarium-oci: an OCI runtime (runtime-spec 1.0's operations with runc's
 * command line) whose containers are Vivarium containers, started through
 * vivariumd: a machine scope, registered with machined, in "vivctl list".
 *
 * create ID --bundle DIR [--pid-file F] [--console-socket S]
 *   maps DIR/config.json onto a domain (oci-spec.c), creates it through
 *   CreateXML with its first process held at a start barrier (a FIFO it
 *   reads from before it execs process.args), and leaves a shim process,
 *   the caller's child, that relays the console to its stdio (or to the
 *   terminal sent through --console-socket) and exits with the container's
 *   exit status. --pid-file gets the shim's PID: an engine's monitor (conmon,
 *   containerd's shim) waits for that PID, and the container's own first
 *   process is the helper's child in the machine scope, not the caller's.
 * start ID   releases the barrier.
 * state ID   the spec's state JSON; pid is the container's first process.
 * kill ID [SIGNAL], delete [--force] ID, list, features.
 * exec [--process F] [--detach] [--pid-file P] [--console-socket S] ID [ARGS]:
 *   "vivctl enter" with the start barrier's shell for env and cwd; as root only.
 *
 * State: ROOT/ID/ (default ROOT /run/vivarium-oci): bundle, name, pid, shim.pid,
 * created, started, exit, and barrier/ (the FIFO "go" and the mount point
 * of the static shell that waits on it). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "fileio.h"
#include "macros.h"
#include "oci-spec.h"
#include "remove-tree.h"

#define DEFAULT_ROOT "/run/vivarium-oci"
#define BARRIER_TOOL "busybox"

typedef struct Global {
        const char *root;
        const char *log;
        bool log_json;
} Global;

static Global g = { .root = DEFAULT_ROOT };

/* Errors go to stderr and, as runc does, to --log, where engines read them. */
static void log_v(const char *level, const char *fmt, va_list ap) _printf_(2, 0);
static void log_v(const char *level, const char *fmt, va_list ap) {
        char msg[4096];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (streq(level, "error"))
                fprintf(stderr, "vivarium-oci: %s\n", msg);
        if (!g.log)
                return;
        _cleanup_fclose_ FILE *f = fopen(g.log, "ae");
        if (!f)
                return;
        if (g.log_json) {
                char t[64];
                time_t now = time(NULL);
                strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
                fprintf(f, "{\"level\":\"%s\",\"msg\":\"", level);
                for (const char *p = msg; *p; p++)
                        if (*p == '"' || *p == '\\')
                                fprintf(f, "\\%c", *p);
                        else if ((unsigned char) *p < 0x20)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                fprintf(f, "\",\"time\":\"%s\"}\n", t);
        } else
                fprintf(f, "%s: %s\n", level, msg);
}

static void log_msg(const char *level, const char *fmt, ...) _printf_(2, 3);
static void log_msg(const char *level, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_v(level, fmt, ap);
        va_end(ap);
}

/* Logs an error; returns -1, for "return log_error(...)". */
static int log_error(const char *fmt, ...) _printf_(1, 2);
static int log_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_v("error", fmt, ap);
        va_end(ap);
        return -1;
}

/* --- state files ------------------------------------------------------------ */

static int state_dir(const char *id, char **ret) {
        if (!*id || strchr(id, '/') || streq(id, ".") || streq(id, ".."))
                return -EINVAL;
        return asprintf(ret, "%s/%s", g.root, id) < 0 ? -ENOMEM : 0;
}

static int write_state(const char *dir, const char *file, const char *fmt, ...) _printf_(3, 4);
static int write_state(const char *dir, const char *file, const char *fmt, ...) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        va_list ap;

        if (asprintf(&path, "%s/%s", dir, file) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, file) < 0)
                return -ENOMEM;
        _cleanup_fclose_ FILE *f = fopen(tmp, "we");
        if (!f)
                return -errno;
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        if (fflush(f) != 0)
                return -errno;
        return rename(tmp, path) < 0 ? -errno : 0;
}

static char *read_state(const char *dir, const char *file) {
        _cleanup_free_ char *path = NULL;
        char buf[4096];
        size_t n;

        if (asprintf(&path, "%s/%s", dir, file) < 0)
                return NULL;
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return strdup(buf);
}

static bool state_has(const char *dir, const char *file) {
        _cleanup_free_ char *path = NULL;
        return asprintf(&path, "%s/%s", dir, file) >= 0 && access(path, F_OK) == 0;
}

/* --- the manager ------------------------------------------------------------- */

static int bus_open(sd_bus **ret) {
        int r = sd_bus_open_system(ret);
        if (r < 0)
                log_msg("error", "Failed to connect to the system bus: %s", strerror(-r));
        return r;
}

/* The domain's state as the manager says it: "running", "paused", ...;
 * NULL when it has none (a transient container that ended). */
static char *domain_state(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *n, *uuid, *state, *path;
        uint32_t id;
        char *ret = NULL;

        if (sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "ListContainers", &error, &reply, "") < 0 ||
            sd_bus_message_enter_container(reply, 'a', "(ssusso)") < 0)
                return NULL;
        while (!ret && sd_bus_message_read(reply, "(ssusso)", &n, &uuid, &id, &state, NULL, &path) > 0)
                if (streq(n, name) && !streq(state, VIV_STATE_SHUTOFF))
                        ret = strdup(state);
        return ret;
}

typedef enum Status { STATUS_CREATED, STATUS_RUNNING, STATUS_STOPPED } Status;
static const char *const status_names[] = { "created", "running", "stopped" };

static Status container_status(sd_bus *bus, const char *dir) {
        _cleanup_free_ char *name = read_state(dir, "name"), *state = NULL;

        if (state_has(dir, "exit") || !name)
                return STATUS_STOPPED;
        state = bus ? domain_state(bus, name) : NULL;
        if (!state)
                return STATUS_STOPPED;
        return state_has(dir, "started") ? STATUS_RUNNING : STATUS_CREATED;
}

/* --- the shim ---------------------------------------------------------------- */

typedef struct Shim {
        const char *name;
        bool exited;
        int exit_code;
} Shim;

static int on_exited(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Shim *s = userdata;
        const char *name, *detail;
        int32_t code;

        if (sd_bus_message_read(m, "ssi", &name, &detail, &code) >= 0 && streq(name, s->name)) {
                s->exited = true;
                s->exit_code = code < 0 ? 255 : code > 255 ? 255 : code;
        }
        return 0;
}

/* Sends the master of a new pty to the engine's console socket; returns the
 * slave, which the shim relays to the container's console. */
static int console_socket_send(const char *path, bool raw, int *ret_slave) {
        _cleanup_close_ int sock = -EBADF, master = -EBADF, slave = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct termios t;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
                return -errno;
        /* Raw for a relay: the container's console pty already did the line
         * discipline. A process's own terminal (exec -t) keeps it. */
        if (raw && tcgetattr(slave, &t) >= 0) {
                cfmakeraw(&t);
                (void) tcsetattr(slave, TCSANOW, &t);
        }
        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0 || connect(sock, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;

        r = send_with_fds(sock, "/dev/ptmx", strlen("/dev/ptmx"), &master, 1);
        if (r < 0)
                return r;
        *ret_slave = TAKE_FD(slave);
        return 0;
}

/* Console output to OUT; without a terminal the pty's "\r\n" becomes the
 * "\n" a pipe would have carried. Returns 0 at EOF, > 0 after data. */
static int relay_out(int console, int out, bool terminal) {
        char buf[16384], clean[16384];
        ssize_t n = read(console, buf, sizeof(buf));
        size_t k = 0;

        if (n <= 0)
                return n < 0 && (errno == EAGAIN || errno == EINTR) ? 1 : 0;
        if (terminal)
                return write_all(out, buf, (size_t) n) < 0 ? 1 : 1;
        for (ssize_t i = 0; i < n; i++)
                if (!(buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n'))
                        clean[k++] = buf[i];
        (void) write_all(out, clean, k);
        return 1;
}

/* The shim's life: the console relayed until the container exits. */
static int shim_run(sd_bus *bus, Shim *s, int console, int in, int out, bool terminal) {
        bool in_open = in >= 0, console_open = true;

        while (!s->exited) {
                struct pollfd p[3] = {
                        { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) },
                        { .fd = console_open ? console : -1, .events = POLLIN },
                        { .fd = in_open ? in : -1, .events = POLLIN },
                };
                uint64_t usec;
                int r, timeout = -1;

                while ((r = sd_bus_process(bus, NULL)) > 0)
                        if (s->exited)
                                break;
                if (r < 0)
                        return r;
                if (s->exited)
                        break;
                if (sd_bus_get_timeout(bus, &usec) >= 0 && usec != UINT64_MAX) {
                        struct timespec now;
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        uint64_t n = (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000;
                        timeout = usec > n ? (int) ((usec - n + 999) / 1000) : 0;
                }
                if (poll(p, 3, timeout) < 0 && errno != EINTR)
                        return -errno;
                if (p[1].revents)
                        console_open = relay_out(console, out, terminal) > 0;
                if (p[2].revents) {
                        char buf[4096];
                        ssize_t n = read(in, buf, sizeof(buf));
                        if (n <= 0)
                                in_open = false;
                        else
                                (void) write_all(console, buf, (size_t) n);
                }
        }
        /* What the container wrote last is still in the socket. */
        (void) fcntl(console, F_SETFL, O_NONBLOCK);
        for (int i = 0; console_open && i < 64 && relay_out(console, out, terminal) > 0; i++)
                ;
        return 0;
}

/* --- create ------------------------------------------------------------------ */

typedef struct CreateArgs {
        const char *id, *bundle, *pid_file, *console_socket;
} CreateArgs;

static int make_barrier(const char *dir, char **ret_barrier) {
        _cleanup_free_ char *barrier = NULL, *go = NULL, *tool = NULL;

        if (asprintf(&barrier, "%s/barrier", dir) < 0 || asprintf(&go, "%s/go", barrier) < 0 ||
            asprintf(&tool, "%s/" BARRIER_TOOL, barrier) < 0)
                return -ENOMEM;
        if (mkdir(barrier, 0755) < 0 || mkfifo(go, 0644) < 0 || chmod(go, 0644) < 0)
                return -errno;
        _cleanup_close_ int fd = open(tool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        *ret_barrier = TAKE_PTR(barrier);
        return 0;
}

/* In the child: creates the container, reports on REPORT_FD ("ok" or the
 * error), then relays its console until it exits. Never returns. */
static _noreturn_ void shim_main(const CreateArgs *a, const char *dir, const OciDomain *d, int report_fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *console_reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *match = NULL, *go = NULL, *cpath = NULL;
        _cleanup_close_ int hold = -EBADF, slave = -EBADF;
        Shim s = { .name = d->name };
        const char *path;
        uint32_t leader = 0;
        int r, console;
        char msg[2048] = "";

        (void) setsid();
        /* The barrier FIFO held open read-write: "start" writes to it
         * without blocking, and its line waits in the pipe until the
         * container's first process reads it. */
        if (asprintf(&go, "%s/barrier/go", dir) < 0)
                _exit(1);
        hold = open(go, O_RDWR | O_CLOEXEC);

        r = sd_bus_open_system(&bus);
        if (r >= 0 && asprintf(&match, "type='signal',sender='%s',path='%s',interface='%s',member='ContainerExited',arg0='%s'",
                               VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, d->name) >= 0)
                r = sd_bus_add_match(bus, NULL, match, on_exited, &s);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "Failed to connect to vivariumd: %s", strerror(-r));
                goto fail;
        }
        r = sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "CreateXML", &error, &reply, "st",
                               d->xml, UINT64_C(0));
        if (r < 0) {
                snprintf(msg, sizeof(msg), "Failed to create container '%s': %s", d->name,
                         error.message ?: strerror(-r));
                goto fail;
        }
        if (sd_bus_message_read(reply, "o", &path) >= 0 &&
            (cpath = strdup(path)) &&
            sd_bus_get_property_trivial(bus, VIV_BUS_NAME, cpath, VIV_CONTAINER_IFACE, "LeaderPID", NULL, 'u', &leader) < 0)
                leader = 0;
        (void) write_state(dir, "pid", "%u\n", leader);

        r = sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "OpenConsole", &error,
                               &console_reply, "st", d->name, VIV_CONSOLE_FORCE);
        if (r < 0 || sd_bus_message_read(console_reply, "h", &console) < 0) {
                snprintf(msg, sizeof(msg), "Failed to open the console of '%s': %s", d->name,
                         error.message ?: strerror(-r));
                goto fail_destroy;
        }
        if (d->terminal && a->console_socket) {
                r = console_socket_send(a->console_socket, true, &slave);
                if (r < 0) {
                        snprintf(msg, sizeof(msg), "Failed to send the terminal to '%s': %s", a->console_socket, strerror(-r));
                        goto fail_destroy;
                }
        }
        (void) write_all(report_fd, "ok", 2);
        safe_close(report_fd);

        if (slave >= 0)
                r = shim_run(bus, &s, console, slave, slave, true);
        else
                r = shim_run(bus, &s, console, STDIN_FILENO, STDOUT_FILENO, d->terminal);
        (void) write_state(dir, "exit", "%d\n", s.exited ? s.exit_code : 255);
        _exit(s.exited ? s.exit_code : 255);

fail_destroy:
        (void) sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "Destroy", NULL, NULL, "s", d->name);
fail:
        (void) write_all(report_fd, msg, strlen(msg));
        _exit(1);
}

static int cmd_create(const CreateArgs *a) {
        _cleanup_free_ char *dir = NULL, *barrier = NULL, *bundle = NULL;
        _cleanup_(oci_domain_done) OciDomain d = {};
        char err[2048];
        int r, report[2];

        if (state_dir(a->id, &dir) < 0)
                return log_error("'%s' is not a valid container id", a->id);
        bundle = realpath(a->bundle ?: ".", NULL);
        if (!bundle)
                return log_error("Failed to resolve the bundle '%s': %m", a->bundle ?: ".");
        r = mkdir_p(g.root, 0700);
        if (r < 0)
                return log_error("Failed to create '%s': %s", g.root, strerror(-r));
        if (mkdir(dir, 0700) < 0)
                return errno == EEXIST ? log_error("container '%s' exists already", a->id)
                                       : log_error("Failed to create '%s': %m", dir);

        /* From here on a failure removes DIR: a refused create leaves nothing. */
        r = make_barrier(dir, &barrier);
        if (r < 0) {
                (void) log_error("Failed to make the start barrier in '%s': %s", dir, strerror(-r));
                goto fail;
        }
        r = oci_spec_to_domain(bundle, a->id, barrier, BARRIER_TOOL, &d, err, sizeof(err));
        if (r < 0) {
                (void) log_error("config.json: %s", err);
                goto fail;
        }
        for (char **i = d.ignored; i && *i; i++)
                log_msg("warning", "config.json: %s: accepted, not applied by Vivarium", *i);
        if (write_state(dir, "bundle", "%s\n", bundle) < 0 || write_state(dir, "name", "%s\n", d.name) < 0 ||
            write_state(dir, "created", "%lld\n", (long long) time(NULL)) < 0) {
                r = log_error("Failed to write the state of '%s': %m", a->id);
                goto fail;
        }

        if (pipe2(report, O_CLOEXEC) < 0) {
                r = log_error("Failed to make a pipe: %m");
                goto fail;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                r = log_error("Failed to fork: %m");
                goto fail;
        }
        if (pid == 0) {
                safe_close(report[0]);
                shim_main(a, dir, &d, report[1]);
        }
        safe_close(report[1]);

        char answer[2048];
        ssize_t n = read(report[0], answer, sizeof(answer) - 1);
        safe_close(report[0]);
        answer[n > 0 ? n : 0] = 0;
        if (!streq(answer, "ok")) {
                (void) waitpid(pid, NULL, 0);
                r = log_error("%s", *answer ? answer : "the shim died");
                goto fail;
        }
        if (write_state(dir, "shim.pid", "%d\n", (int) pid) < 0) {
                r = log_error("Failed to write the state of '%s': %m", a->id);
                goto fail;
        }
        if (a->pid_file) {
                _cleanup_free_ char *tmp = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                if (asprintf(&tmp, "%s.vivarium-oci.tmp", a->pid_file) < 0 || !(f = fopen(tmp, "we")) ||
                    fprintf(f, "%d", (int) pid) < 0 || fflush(f) != 0 || rename(tmp, a->pid_file) < 0)
                        return log_error("Failed to write the pid file '%s': %m", a->pid_file);
        }
        return 0;

fail:
        {
                _cleanup_close_ int root_fd = open(g.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root_fd >= 0)
                        (void) remove_tree_at(root_fd, a->id);
        }
        return -1;
}

/* --- start, state, kill, delete, list ----------------------------------------- */

static int existing(const char *id, char **ret_dir) {
        struct stat st;

        if (state_dir(id, ret_dir) < 0 || stat(*ret_dir, &st) < 0)
                return log_error("container '%s' does not exist", id);
        return 0;
}

static int cmd_start(const char *id) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *dir = NULL, *go = NULL;

        if (existing(id, &dir) < 0 || bus_open(&bus) < 0)
                return -1;
        Status s = container_status(bus, dir);
        if (s != STATUS_CREATED)
                return log_error("container '%s' is %s, not created: it cannot be started", id, status_names[s]);
        if (asprintf(&go, "%s/barrier/go", dir) < 0)
                return -1;
        _cleanup_close_ int fd = open(go, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 || write(fd, "\n", 1) != 1)
                return log_error("Failed to release the start barrier of '%s': %m", id);
        return write_state(dir, "started", "%lld\n", (long long) time(NULL)) < 0 ? log_error("Failed to record the start: %m") : 0;
}

static void print_json_string(const char *s) {
        putchar('"');
        for (; s && *s; s++)
                if (*s == '"' || *s == '\\')
                        printf("\\%c", *s);
                else if ((unsigned char) *s < 0x20)
                        printf("\\u%04x", *s);
                else
                        putchar(*s);
        putchar('"');
}

static void print_state(sd_bus *bus, const char *id, const char *dir) {
        _cleanup_free_ char *bundle = read_state(dir, "bundle"), *pid = read_state(dir, "pid"),
                           *created = read_state(dir, "created");
        Status s = container_status(bus, dir);
        char when[64] = "";
        time_t t = created ? (time_t) strtoll(created, NULL, 10) : 0;

        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        printf("{\"ociVersion\":\"1.0.2\",\"id\":");
        print_json_string(id);
        printf(",\"status\":\"%s\",\"pid\":%s,\"bundle\":", status_names[s], s == STATUS_STOPPED || !pid ? "0" : pid);
        print_json_string(bundle);
        printf(",\"rootfs\":\"\",\"created\":\"%s\",\"owner\":\"\",\"annotations\":{}}", when);
}

static int cmd_state(const char *id) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *dir = NULL;

        if (existing(id, &dir) < 0 || bus_open(&bus) < 0)
                return -1;
        print_state(bus, id, dir);
        putchar('\n');
        return 0;
}

static int parse_signal(const char *s) {
        static const struct {
                const char *name;
                int sig;
        } names[] = {
                { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
                { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "WINCH", SIGWINCH },
        };
        char *end;
        long n = strtol(s, &end, 10);

        if (*s && !*end)
                return n > 0 && n < NSIG ? (int) n : -EINVAL;
        const char *bare = startswith(s, "SIG") ?: s;
        FOREACH_ARRAY(i, names, ELEMENTSOF(names))
                if (strcasecmp(i->name, bare) == 0)
                        return i->sig;
        return -EINVAL;
}

static int cmd_kill(const char *id, const char *signame) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int sig = parse_signal(signame ?: "TERM"), r;

        if (sig < 0)
                return log_error("'%s' is not a signal", signame);
        if (existing(id, &dir) < 0 || bus_open(&bus) < 0)
                return -1;
        if (container_status(bus, dir) == STATUS_STOPPED)
                return log_error("container '%s' is not running", id);
        name = read_state(dir, "name");
        r = sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "SendProcessSignal", &error, NULL,
                               "sxut", name, INT64_C(1), (uint32_t) sig, UINT64_C(0));
        if (r < 0)
                return log_error("Failed to send signal %d to '%s': %s", sig, id, error.message ?: strerror(-r));
        return 0;
}

static void wait_shim_gone(const char *dir) {
        _cleanup_free_ char *pid = read_state(dir, "shim.pid");
        int fd = pid ? (int) syscall(SYS_pidfd_open, (pid_t) atoi(pid), 0) : -1;

        if (fd < 0)
                return;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        /* The shim exits on ContainerExited; a bound, not a guess of its speed. */
        if (poll(&p, 1, 30000) == 0)
                (void) syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
        close(fd);
}

static int cmd_delete(const char *id, bool force) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *dir = NULL, *name = NULL;
        struct stat st;

        /* runc's rule, which engines' cleanup paths rely on: --force of a
         * container that is gone already succeeds. */
        if (force && (state_dir(id, &dir) < 0 || stat(dir, &st) < 0))
                return 0;
        free(dir);
        dir = NULL;
        if (existing(id, &dir) < 0 || bus_open(&bus) < 0)
                return -1;
        Status s = container_status(bus, dir);
        name = read_state(dir, "name");
        if (s != STATUS_STOPPED) {
                if (!force)
                        return log_error("container '%s' is %s: stop it first, or delete --force", id, status_names[s]);
                (void) sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, "Destroy", NULL, NULL, "s",
                                          name);
        }
        wait_shim_gone(dir);
        _cleanup_close_ int root_fd = open(g.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = root_fd < 0 ? -errno : remove_tree_at(root_fd, id);
        return r < 0 ? log_error("Failed to remove the state of '%s': %s", id, strerror(-r)) : 0;
}

static int cmd_list(bool json, bool quiet) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        size_t n = 0;

        DIR *d = opendir(g.root);
        if (d) {
                for (struct dirent *de; (de = readdir(d));) {
                        if (de->d_name[0] == '.')
                                continue;
                        char **l = realloc(ids, (n + 2) * sizeof(char *));
                        if (!l)
                                break;
                        ids = l;
                        ids[n++] = strdup(de->d_name);
                        ids[n] = NULL;
                }
                closedir(d);
        }
        (void) sd_bus_open_system(&bus);
        if (json)
                putchar('[');
        else if (!quiet)
                printf("%-20s %-8s %-10s %s\n", "ID", "PID", "STATUS", "BUNDLE");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *dir = NULL, *bundle = NULL, *pid = NULL;
                if (state_dir(ids[i], &dir) < 0)
                        continue;
                if (json) {
                        if (i > 0)
                                putchar(',');
                        print_state(bus, ids[i], dir);
                } else if (quiet)
                        printf("%s\n", ids[i]);
                else {
                        Status s = container_status(bus, dir);
                        bundle = read_state(dir, "bundle");
                        pid = read_state(dir, "pid");
                        printf("%-20s %-8s %-10s %s\n", ids[i], s == STATUS_STOPPED ? "0" : strna(pid), status_names[s],
                               strna(bundle));
                }
        }
        if (json)
                printf("]\n");
        return 0;
}

static int cmd_features(void) {
        printf("{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.0.2\","
               "\"hooks\":[],"
               "\"mountOptions\":[\"bind\",\"rbind\",\"ro\",\"rw\"],"
               "\"linux\":{\"namespaces\":[\"cgroup\",\"ipc\",\"mount\",\"network\",\"pid\",\"user\",\"uts\"],"
               "\"capabilities\":[],"
               "\"cgroup\":{\"v1\":true,\"v2\":true,\"systemd\":true,\"systemdUser\":false},"
               "\"seccomp\":{\"enabled\":false},"
               "\"apparmor\":{\"enabled\":false},\"selinux\":{\"enabled\":false}},"
               "\"annotations\":{\"org.vivarium.oci.note\":\"capabilities, seccomp and masked paths are Vivarium's own, "
               "stricter than an engine's defaults\"}}\n");
        return 0;
}

/* --- exec ---------------------------------------------------------------------- */

typedef struct ExecArgs {
        const char *id, *process, *pid_file, *console_socket, *cwd;
        bool detach, tty;
        char **args;            /* after the id, when there is no --process */
        char **env;             /* --env */
} ExecArgs;

/* The command line that runs ARGS in the container, as runc's exec would:
 * "vivctl enter" joins its namespaces, cgroup, root, capability bounding set
 * and seccomp filter; the start barrier's static shell inside it sets the
 * environment and the working directory, and execs ARGS through PATH. */
static char **exec_command(const char *name, char **env, const char *cwd, char **args) {
        size_t n_env = 0, n_args = 0, k = 0;

        while (env && env[n_env])
                n_env++;
        while (args && args[n_args])
                n_args++;
        char **argv = calloc(n_env + n_args + 20, sizeof(char *));
        if (!argv)
                return NULL;
        const char *const head[] = {
                "vivctl", "-c", "vivarium:///system", "enter", name, "--",
                "/.vivarium-oci/" BARRIER_TOOL, "env", "-i",
        };
        FOREACH_ARRAY(h, head, ELEMENTSOF(head))
                argv[k++] = (char *) *h;
        for (size_t i = 0; i < n_env; i++)
                argv[k++] = env[i];
        const char *const shell[] = { "/.vivarium-oci/" BARRIER_TOOL, "sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh" };
        FOREACH_ARRAY(h, shell, ELEMENTSOF(shell))
                argv[k++] = (char *) *h;
        argv[k++] = (char *) (cwd ?: "/");
        for (size_t i = 0; i < n_args; i++)
                argv[k++] = args[i];
        argv[k] = NULL;
        return argv;
}

static int json_strv(struct json_object *a, char ***ret) {
        size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
        _cleanup_strv_free_ char **l = calloc(n + 1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *v = json_object_get_string(json_object_array_get_idx(a, i));
                if (!v || !(l[i] = strdup(v)))
                        return -EINVAL;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int cmd_exec(ExecArgs *a) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *dir = NULL, *name = NULL, *cwd = NULL;
        _cleanup_strv_free_ char **args = NULL, **env = NULL;
        _cleanup_close_ int slave = -EBADF;
        bool tty = a->tty;
        int r;

        if (existing(a->id, &dir) < 0 || bus_open(&bus) < 0)
                return -1;
        if (container_status(bus, dir) != STATUS_RUNNING)
                return log_error("container '%s' is not running", a->id);
        name = read_state(dir, "name");
        if (a->process) {
                struct json_object *p = json_object_from_file(a->process), *v, *user = NULL;
                if (!p)
                        return log_error("Failed to read the process '%s': %s", a->process, json_util_get_last_err() ?: "not JSON");
                if (json_object_object_get_ex(p, "user", &user) && json_object_object_get_ex(user, "uid", &v) &&
                    json_object_get_int64(v) != 0) {
                        json_object_put(p);
                        return log_error("process.user.uid: exec as a user other than root is not supported by vivarium-oci");
                }
                r = json_strv(json_object_object_get_ex(p, "args", &v) ? v : NULL, &args);
                if (r >= 0)
                        r = json_strv(json_object_object_get_ex(p, "env", &v) ? v : NULL, &env);
                if (json_object_object_get_ex(p, "cwd", &v) && json_object_get_string(v))
                        cwd = strdup(json_object_get_string(v));
                if (json_object_object_get_ex(p, "terminal", &v))
                        tty = json_object_get_boolean(v);
                json_object_put(p);
                if (r < 0)
                        return log_error("Failed to read the process '%s': bad args or env", a->process);
        } else {
                args = a->args;
                a->args = NULL;
                env = a->env;
                a->env = NULL;
                if (a->cwd)
                        cwd = strdup(a->cwd);
        }
        if (!args || !args[0])
                return log_error("exec: no command given");

        _cleanup_free_ char **argv = exec_command(name, env, cwd, args);
        if (!argv)
                return log_error("Out of memory");
        if (tty && a->console_socket) {
                r = console_socket_send(a->console_socket, false, &slave);
                if (r < 0)
                        return log_error("Failed to send the terminal to '%s': %s", a->console_socket, strerror(-r));
        }

        fflush(NULL);
        pid_t pid = a->detach ? fork() : getpid();
        if (pid < 0)
                return log_error("Failed to fork: %m");
        if (pid > 0 && a->pid_file) {
                _cleanup_fclose_ FILE *f = fopen(a->pid_file, "we");
                if (!f || fprintf(f, "%d", (int) pid) < 0 || fflush(f) != 0)
                        return log_error("Failed to write the pid file '%s': %m", a->pid_file);
        }
        if (a->detach && pid > 0)
                return 0;
        if (slave >= 0) {
                (void) setsid();
                (void) ioctl(slave, TIOCSCTTY, 0);
                if (dup2(slave, STDIN_FILENO) < 0 || dup2(slave, STDOUT_FILENO) < 0 || dup2(slave, STDERR_FILENO) < 0)
                        _exit(127);
        }
        execvp(argv[0], argv);
        log_error("Failed to run vivctl enter: %m");
        _exit(127);
}

/* --- main ------------------------------------------------------------------------ */

static void usage(FILE *f) {
        fprintf(f, "Usage: vivarium-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] COMMAND\n"
                   "Commands: create ID --bundle DIR [--pid-file F] [--console-socket S], start ID, state ID,\n"
                   "          kill ID [SIGNAL], delete [--force] ID, list [--format json] [-q], features\n");
}

int main(int argc, char **argv) {
        static const struct option global[] = {
                { "root", required_argument, NULL, 'r' },
                { "log", required_argument, NULL, 'l' },
                { "log-format", required_argument, NULL, 'f' },
                { "systemd-cgroup", no_argument, NULL, 's' },
                { "debug", no_argument, NULL, 'd' },
                { "rootless", required_argument, NULL, 'R' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'v' },
                {}
        };
        int opt;

        while ((opt = getopt_long(argc, argv, "+hv", global, NULL)) >= 0)
                switch (opt) {
                case 'r': g.root = optarg; break;
                case 'l': g.log = optarg; break;
                case 'f': g.log_json = streq(optarg, "json"); break;
                case 's': /* Vivarium's scopes are systemd's in any case */ break;
                case 'd': break;
                case 'R':
                        if (streq(optarg, "true"))
                                return -log_error("--rootless=true: Vivarium runs containers as root through vivariumd");
                        break;
                case 'h': usage(stdout); return 0;
                case 'v': printf("vivarium-oci version %s\nspec: 1.0.2\n", VIVARIUM_VERSION); return 0;
                default: usage(stderr); return 1;
                }
        if (optind >= argc) {
                usage(stderr);
                return 1;
        }
        const char *cmd = argv[optind];
        argc -= optind;
        argv += optind;
        optind = 1;

        if (streq(cmd, "create") || streq(cmd, "run")) {
                static const struct option o[] = {
                        { "bundle", required_argument, NULL, 'b' },
                        { "pid-file", required_argument, NULL, 'p' },
                        { "console-socket", required_argument, NULL, 'c' },
                        { "no-pivot", no_argument, NULL, 'n' },
                        { "no-new-keyring", no_argument, NULL, 'k' },
                        { "preserve-fds", required_argument, NULL, 'P' },
                        {}
                };
                CreateArgs a = {};
                while ((opt = getopt_long(argc, argv, "+b:", o, NULL)) >= 0)
                        switch (opt) {
                        case 'b': a.bundle = optarg; break;
                        case 'p': a.pid_file = optarg; break;
                        case 'c': a.console_socket = optarg; break;
                        case 'P':
                                if (!streq(optarg, "0"))
                                        return -log_error("--preserve-fds: passing file descriptors is not supported");
                                break;
                        case 'n': case 'k': break;
                        default: return 1;
                        }
                if (optind != argc - 1)
                        return -log_error("%s needs exactly one container id", cmd);
                a.id = argv[optind];
                if (cmd_create(&a) < 0)
                        return 1;
                return streq(cmd, "run") ? (cmd_start(a.id) < 0 ? 1 : 0) : 0;
        }
        if (streq(cmd, "delete")) {
                static const struct option o[] = { { "force", no_argument, NULL, 'f' }, {} };
                bool force = false;
                while ((opt = getopt_long(argc, argv, "+f", o, NULL)) >= 0)
                        if (opt == 'f')
                                force = true;
                        else
                                return 1;
                if (optind != argc - 1)
                        return -log_error("delete needs exactly one container id");
                return cmd_delete(argv[optind], force) < 0 ? 1 : 0;
        }
        if (streq(cmd, "kill")) {
                static const struct option o[] = { { "all", no_argument, NULL, 'a' }, {} };
                while ((opt = getopt_long(argc, argv, "+a", o, NULL)) >= 0)
                        if (opt != 'a')
                                return 1;
                if (optind >= argc || argc - optind > 2)
                        return -log_error("kill needs a container id and at most one signal");
                return cmd_kill(argv[optind], argv[optind + 1]) < 0 ? 1 : 0;
        }
        if (streq(cmd, "list")) {
                static const struct option o[] = { { "format", required_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' }, {} };
                bool json = false, quiet = false;
                while ((opt = getopt_long(argc, argv, "+f:q", o, NULL)) >= 0)
                        if (opt == 'f')
                                json = streq(optarg, "json");
                        else if (opt == 'q')
                                quiet = true;
                        else
                                return 1;
                return cmd_list(json, quiet) < 0 ? 1 : 0;
        }
        if (streq(cmd, "features"))
                return cmd_features();
        if (streq(cmd, "exec")) {
                static const struct option o[] = {
                        { "process", required_argument, NULL, 'p' },
                        { "pid-file", required_argument, NULL, 'P' },
                        { "console-socket", required_argument, NULL, 'c' },
                        { "detach", no_argument, NULL, 'd' },
                        { "tty", no_argument, NULL, 't' },
                        { "cwd", required_argument, NULL, 'w' },
                        { "env", required_argument, NULL, 'e' },
                        { "user", required_argument, NULL, 'u' },
                        {}
                };
                _cleanup_strv_free_ char **env = NULL;
                size_t n_env = 0;
                ExecArgs a = {};
                while ((opt = getopt_long(argc, argv, "+p:dte:u:", o, NULL)) >= 0)
                        switch (opt) {
                        case 'p': a.process = optarg; break;
                        case 'P': a.pid_file = optarg; break;
                        case 'c': a.console_socket = optarg; break;
                        case 'd': a.detach = true; break;
                        case 't': a.tty = true; break;
                        case 'w': a.cwd = optarg; break;
                        case 'e': {
                                char **l = realloc(env, (n_env + 2) * sizeof(char *));
                                if (!l)
                                        return 1;
                                env = l;
                                env[n_env++] = strdup(optarg);
                                env[n_env] = NULL;
                                break;
                        }
                        case 'u':
                                if (!streq(optarg, "0") && !streq(optarg, "0:0"))
                                        return -log_error("--user: exec as a user other than root is not supported by vivarium-oci");
                                break;
                        default: return 1;
                        }
                if (optind >= argc)
                        return -log_error("exec needs a container id");
                a.id = argv[optind];
                a.env = TAKE_PTR(env);
                if (optind + 1 < argc) {
                        a.args = calloc((size_t) (argc - optind), sizeof(char *));
                        for (int i = optind + 1; a.args && i < argc; i++)
                                a.args[i - optind - 1] = strdup(argv[i]);
                }
                int r = cmd_exec(&a);
                strv_free(a.args);
                strv_free(a.env);
                return r < 0 ? 1 : r;
        }
        if ((streq(cmd, "start") || streq(cmd, "state")) && argc == 2)
                return (streq(cmd, "start") ? cmd_start(argv[1]) : cmd_state(argv[1])) < 0 ? 1 : 0;
        if (streq(cmd, "start") || streq(cmd, "state"))
                return -log_error("%s needs exactly one container id", cmd);
        log_error("unknown command '%s'", cmd);
        usage(stderr);
        return 1;
}
