/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl console: relays the terminal to the fd that OpenConsole hands out.
 *
 * The helper owns the console pty and relays it to that socket; we only put
 * the terminal in raw mode, copy bytes both ways, forward window-size changes
 * and detach on ^]. The terminal is restored on every way out: detach, end of
 * the console, SIGTERM/SIGHUP/SIGINT/SIGQUIT (taken through a signalfd, so
 * they end the loop instead of the process), errors.
 *
 * Over a remote connection (ssh, which cannot carry fds) the console comes
 * as a stream in messages instead (OpenConsoleStream, docs in README's D-Bus
 * section): its Output signals are written to stdout as they are processed,
 * what is typed goes out in Write calls, and the loop polls the bus instead
 * of the socket. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "bus-names.h"
#include "ctl.h"

#define ESCAPE_CHAR 0x1d            /* ^] */
#define LINGER_MS 1000              /* see "console --help" */
#define BUFFER_SIZE 4096

typedef enum RelayResult {
        RELAY_CONTINUE,
        RELAY_CONSOLE_CLOSED,
        RELAY_DETACH,          /* ^], a hung-up terminal, a closed stdout */
        RELAY_INPUT_DONE,      /* stdin ended and the console went quiet */
} RelayResult;

typedef struct Console {
        Context *ctx;
        const char *name;
        const char *devname;        /* --devname ("console1"), NULL: the first */
        int fd;                     /* the relayed console */
        int signal_fd;
        bool raw;                   /* stdin is a terminal we put in raw mode */
        struct termios saved_termios;
        bool mask_saved;
        sigset_t saved_mask;
        struct sigaction saved_sigpipe;
        bool sigpipe_saved;

        char in[BUFFER_SIZE];       /* stdin → console, not yet sent */
        size_t in_len;
        bool stdin_eof;

        /* the console as a stream of messages (remote connections) */
        bool stream;
        char *stream_path;
        unsigned writes_pending;    /* Write calls not answered yet */
        sd_bus_slot *output_slot, *closed_slot;
        int stream_result;          /* RELAY_CONTINUE, or how the stream ended */
} Console;

static void console_done(Console *con) {
        if (con->raw) {
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &con->saved_termios);
                con->raw = false;
        }
        if (con->mask_saved) {
                (void) sigprocmask(SIG_SETMASK, &con->saved_mask, NULL);
                con->mask_saved = false;
        }
        if (con->sigpipe_saved) {
                (void) sigaction(SIGPIPE, &con->saved_sigpipe, NULL);
                con->sigpipe_saved = false;
        }
        con->signal_fd = safe_close(con->signal_fd);
        con->fd = safe_close(con->fd);
        if (con->stream_path && con->ctx->bus) {
                /* Whatever was typed goes out before the stream is closed. */
                (void) sd_bus_call_method(con->ctx->bus, VIV_BUS_NAME, con->stream_path, VIV_CONSOLE_STREAM_IFACE,
                                          "Close", NULL, NULL, "");
        }
        con->output_slot = sd_bus_slot_unref(con->output_slot);
        con->closed_slot = sd_bus_slot_unref(con->closed_slot);
        free(con->stream_path);
        con->stream_path = NULL;
}

static int write_all(int fd, const char *buf, size_t n);

static bool is_our_stream(Console *con, sd_bus_message *m) {
        return con->stream_path && streq(strempty(sd_bus_message_get_path(m)), con->stream_path);
}

static int on_stream_output(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Console *con = userdata;
        const void *data;
        size_t n;
        int r;

        if (!is_our_stream(con, m) || con->stream_result != RELAY_CONTINUE)
                return 0;
        r = sd_bus_message_read_array(m, 'y', &data, &n);
        if (r < 0)
                return 0;
        r = write_all(STDOUT_FILENO, data, n);
        if (r == -EPIPE)
                con->stream_result = RELAY_DETACH;
        else if (r < 0)
                con->stream_result = ctl_error(r, "Failed to write console output: %s", strerror(-r));
        return 0;
}

static int on_stream_closed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Console *con = userdata;

        if (is_our_stream(con, m) && con->stream_result == RELAY_CONTINUE) {
                con->stream_result = RELAY_CONSOLE_CLOSED;
                free(con->stream_path); /* nothing to close any more */
                con->stream_path = NULL;
        }
        return 0;
}

static int open_console_stream(Console *con, bool force) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        sd_bus *bus;
        int r;

        r = ctl_bus(con->ctx, &bus);
        if (r < 0)
                return r;
        /* Before the call: the stream may speak as soon as it exists. The
         * signals are sent to us alone; the path is checked when they come. */
        r = sd_bus_match_signal(bus, &con->output_slot, NULL, NULL, VIV_CONSOLE_STREAM_IFACE, "Output",
                                on_stream_output, con);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &con->closed_slot, NULL, NULL, VIV_CONSOLE_STREAM_IFACE, "Closed",
                                        on_stream_closed, con);
        if (r < 0)
                return ctl_error(r, "Failed to subscribe to the console stream: %s", strerror(-r));

        r = ctl_call(con->ctx, con->name, "OpenConsoleStream", &reply, "st", con->name,
                     force ? VIV_CONSOLE_FORCE : UINT64_C(0));
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of OpenConsoleStream: %s", strerror(-r));
        con->stream = true;
        con->stream_path = strdup(path);
        if (!con->stream_path)
                return ctl_error(-ENOMEM, "Out of memory");
        return 0;
}

static int on_write_done(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Console *con = userdata;

        con->writes_pending--;
        if (sd_bus_message_is_method_error(m, NULL) && con->stream_result == RELAY_CONTINUE)
                con->stream_result = RELAY_CONSOLE_CLOSED;
        return 0;
}

/* Sends what was typed as one Write call; its answer is waited for by the loop. */
static int stream_send_input(Console *con) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!con->stream_path)
                return -EPIPE;
        r = sd_bus_message_new_method_call(con->ctx->bus, &m, VIV_BUS_NAME, con->stream_path,
                                           VIV_CONSOLE_STREAM_IFACE, "Write");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', con->in, con->in_len);
        if (r >= 0)
                r = sd_bus_call_async(con->ctx->bus, NULL, m, on_write_done, con, 0);
        if (r < 0)
                return r;
        con->writes_pending++;
        con->in_len = 0;
        return 0;
}

static int open_console(Console *con, bool force) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus *bus;
        int fd, r;

        r = ctl_bus(con->ctx, &bus);
        if (r < 0)
                return r;
        if (con->ctx->remote || sd_bus_can_send(bus, SD_BUS_TYPE_UNIX_FD) <= 0) {
                if (con->devname)
                        return ctl_error(-EOPNOTSUPP, "console --devname needs a local connection "
                                         "(the console stream relays the first console only)");
                return open_console_stream(con, force);
        }

        if (con->devname)
                r = ctl_call(con->ctx, con->name, "OpenConsoleDevice", &reply, "sst", con->name, con->devname,
                             force ? VIV_CONSOLE_FORCE : UINT64_C(0));
        else
                r = ctl_call(con->ctx, con->name, "OpenConsole", &reply, "st", con->name,
                             force ? VIV_CONSOLE_FORCE : UINT64_C(0));
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply of OpenConsole: %s", strerror(-r));

        /* The message owns the fd it carries; keep our own copy. */
        con->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (con->fd < 0)
                return ctl_error(negative_errno(), "Failed to duplicate the console fd: %m");

        r = fcntl(con->fd, F_GETFL);
        if (r < 0 || fcntl(con->fd, F_SETFL, r | O_NONBLOCK) < 0)
                return ctl_error(negative_errno(), "Failed to make the console fd non-blocking: %m");
        return 0;
}

static void forward_window_size(Console *con) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct winsize ws = {};
        sd_bus *bus;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 &&
            ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        if (ws.ws_row == 0 || ws.ws_col == 0)
                return;
        if (ctl_bus(con->ctx, &bus) < 0)
                return;

        /* Best effort: a console works without it, at the wrong size. */
        if (con->devname)
                (void) sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE,
                                          "ResizeConsoleDevice", &error, NULL, "ssqq", con->name, con->devname,
                                          (uint16_t) ws.ws_row, (uint16_t) ws.ws_col);
        else
                (void) sd_bus_call_method(bus, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE,
                                          "ResizeConsole", &error, NULL, "sqq", con->name,
                                          (uint16_t) ws.ws_row, (uint16_t) ws.ws_col);
}

static int setup_signals(Console *con) {
        struct sigaction ign = { .sa_handler = SIG_IGN };
        sigset_t mask;

        /* A closed stdout must end the loop with EPIPE, not kill us with the
         * terminal still raw. */
        if (sigaction(SIGPIPE, &ign, &con->saved_sigpipe) == 0)
                con->sigpipe_saved = true;

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGQUIT);
        if (sigprocmask(SIG_BLOCK, &mask, &con->saved_mask) < 0)
                return ctl_error(negative_errno(), "Failed to block signals: %m");
        con->mask_saved = true;

        con->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (con->signal_fd < 0)
                return ctl_error(negative_errno(), "Failed to create signalfd: %m");
        return 0;
}

static int setup_terminal(Console *con) {
        struct termios raw;

        if (!isatty(STDIN_FILENO))
                return 0;
        if (tcgetattr(STDIN_FILENO, &con->saved_termios) < 0)
                return ctl_error(negative_errno(), "Failed to get terminal attributes: %m");

        raw = con->saved_termios;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
                return ctl_error(negative_errno(), "Failed to set the terminal in raw mode: %m");
        con->raw = true;
        return 0;
}

static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, buf, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = fd, .events = POLLOUT };
                                (void) poll(&p, 1, -1);
                                continue;
                        }
                        return negative_errno();
                }
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Sends what is pending without blocking; returns -errno on a dead socket. */
static int flush_input(Console *con) {
        if (con->stream)
                return con->in_len > 0 ? stream_send_input(con) : 0;
        while (con->in_len > 0) {
                ssize_t k = send(con->fd, con->in, con->in_len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return negative_errno();
                }
                memmove(con->in, con->in + k, con->in_len - (size_t) k);
                con->in_len -= (size_t) k;
        }
        return 0;
}

static int relay_output(Console *con) {
        char buf[BUFFER_SIZE];

        for (;;) {
                ssize_t k = read(con->fd, buf, sizeof buf);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return RELAY_CONTINUE;
                        if (errno == ECONNRESET || errno == EIO)
                                return RELAY_CONSOLE_CLOSED;
                        return ctl_error(negative_errno(), "Failed to read from the console: %m");
                }
                if (k == 0)
                        return RELAY_CONSOLE_CLOSED;

                int r = write_all(STDOUT_FILENO, buf, (size_t) k);
                if (r == -EPIPE)
                        return RELAY_DETACH;
                if (r < 0)
                        return ctl_error(r, "Failed to write console output: %s", strerror(-r));
        }
}

static int relay_input(Console *con) {
        ssize_t k;

        k = read(STDIN_FILENO, con->in + con->in_len, sizeof con->in - con->in_len);
        if (k < 0) {
                if (errno == EINTR || errno == EAGAIN)
                        return RELAY_CONTINUE;
                if (errno == EIO) {
                        /* The terminal hung up. */
                        con->stdin_eof = true;
                        return con->raw ? RELAY_DETACH : RELAY_CONTINUE;
                }
                return ctl_error(negative_errno(), "Failed to read from standard input: %m");
        }
        if (k == 0) {
                con->stdin_eof = true;
                return con->raw ? RELAY_DETACH : RELAY_CONTINUE;
        }

        char *esc = memchr(con->in + con->in_len, ESCAPE_CHAR, (size_t) k);
        if (esc) {
                con->in_len = (size_t) (esc - con->in);
                (void) flush_input(con);
                return RELAY_DETACH;
        }

        con->in_len += (size_t) k;
        int r = flush_input(con);
        if (r == -EPIPE || r == -ECONNRESET)
                return RELAY_CONSOLE_CLOSED;
        if (r < 0)
                return ctl_error(r, "Failed to write to the console: %s", strerror(-r));
        return RELAY_CONTINUE;
}

/* Returns RELAY_CONTINUE, or a signal number that ends the session (as
 * 128 + signo, shell style). */
static int handle_signals(Console *con) {
        struct signalfd_siginfo si;

        while (read(con->signal_fd, &si, sizeof si) == (ssize_t) sizeof si) {
                if (si.ssi_signo == SIGWINCH) {
                        forward_window_size(con);
                        continue;
                }
                return 128 + (int) si.ssi_signo;
        }
        return RELAY_CONTINUE;
}

/* The stream's share of the loop: runs what the bus brought (Output is
 * written from its callback), returns how the stream stands. */
static int process_stream(Console *con) {
        sd_bus *bus = con->ctx->bus;
        int r;

        while ((r = sd_bus_process(bus, NULL)) > 0)
                if (con->stream_result != RELAY_CONTINUE)
                        return con->stream_result;
        if (r < 0)
                return RELAY_CONSOLE_CLOSED; /* the connection (ssh) ended */
        return con->stream_result;
}

/* How long poll() may wait for the bus: its own timeouts (pending calls). */
static int stream_poll_timeout(Console *con, int timeout) {
        uint64_t until, now;
        struct timespec ts;

        if (sd_bus_get_timeout(con->ctx->bus, &until) <= 0 || until == UINT64_MAX)
                return timeout;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
        int ms = until <= now ? 0 : (int) ((until - now + 999) / 1000);
        return timeout < 0 || ms < timeout ? ms : timeout;
}

static int console_loop(Console *con, bool wait_eof) {
        bool stream = con->stream;
        int r;

        for (;;) {
                if (stream) {
                        r = process_stream(con);
                        if (r != RELAY_CONTINUE)
                                return r;
                }
                struct pollfd p[3] = {
                        { .fd = (con->stdin_eof || con->in_len > 0) ? -1 : STDIN_FILENO, .events = POLLIN },
                        { .fd = con->fd, .events = POLLIN | (con->in_len > 0 ? POLLOUT : 0) },
                        { .fd = con->signal_fd, .events = POLLIN },
                };
                /* Not a terminal and nothing more to send: keep showing what
                 * the container answers until it has been quiet a moment (or
                 * until the console closes, with --wait-eof). */
                int timeout = (con->stdin_eof && con->in_len == 0 && !wait_eof) ? LINGER_MS : -1;

                if (stream) {
                        p[1] = (struct pollfd) { .fd = sd_bus_get_fd(con->ctx->bus),
                                                 .events = (short) sd_bus_get_events(con->ctx->bus) };
                        /* Writes not answered yet are not quiet. */
                        timeout = stream_poll_timeout(con, con->writes_pending > 0 ? -1 : timeout);
                }
                r = poll(p, ELEMENTSOF(p), timeout);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return ctl_error(negative_errno(), "Failed to poll: %m");
                }
                if (r == 0)
                        return RELAY_INPUT_DONE;

                if (p[2].revents) {
                        r = handle_signals(con);
                        if (r != RELAY_CONTINUE)
                                return r;
                }

                if (!stream && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                        r = relay_output(con);
                        if (r != RELAY_CONTINUE)
                                return r;
                }

                if (!stream && (p[1].revents & POLLOUT)) {
                        r = flush_input(con);
                        if (r == -EPIPE || r == -ECONNRESET)
                                return RELAY_CONSOLE_CLOSED;
                        if (r < 0)
                                return ctl_error(r, "Failed to write to the console: %s", strerror(-r));
                }

                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        r = relay_input(con);
                        if (r != RELAY_CONTINUE)
                                return r;
                }
        }
}

int console_attach(Context *c, const char *name, bool force, bool wait_eof) {
        return console_attach_device(c, name, NULL, force, wait_eof);
}

int console_attach_device(Context *c, const char *name, const char *devname, bool force, bool wait_eof) {
        _cleanup_(console_done) Console con = {
                .ctx = c,
                .name = name,
                .devname = devname,
                .fd = -EBADF,
                .signal_fd = -EBADF,
        };
        int r;

        r = open_console(&con, force);
        if (r < 0)
                return r;

        /* Printed before raw mode, so plain newlines are right. */
        printf("Connected to domain %s\n", name);
        printf("Escape character is ^]\n");
        fflush(stdout);

        r = setup_signals(&con);
        if (r < 0)
                return r;
        r = setup_terminal(&con);
        if (r < 0)
                return r;
        if (con.raw)
                forward_window_size(&con);

        r = console_loop(&con, wait_eof);
        bool was_raw = con.raw;
        console_done(&con);

        if (r < 0)
                return r;
        /* Leave the shell's prompt on a line of its own; a script's output
         * (stdin ended, nothing more came) stays as the container wrote it. */
        if (r == RELAY_DETACH || was_raw)
                putchar('\n');
        fflush(stdout);
        return r >= 128 ? r : 0;
}

static int verb_console(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        return console_attach_device(c, name, args_get(a, "devname"), args_flag(a, "force"), args_flag(a, "wait-eof"));
}

static const VerbOption console_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "devname", OPT_STRING, 0, "character device name (console0, console1, ...: the <console>s in order)" },
        { "force", OPT_BOOL, 0, "force console connection (disconnect already connected sessions)" },
        { "wait-eof", OPT_BOOL, 0, "when standard input ends, keep relaying output until the console closes" },
        { "safe", OPT_BOOL, 0, "accepted for compatibility; consoles are always safe" },
        {}
};

const Verb verb_table_console[] = {
        { "console", "Domain Management", "connect to the guest console",
          "Connect the virtual serial console for the guest.\n"
          "\n"
          "The terminal is put in raw mode; ^] (Ctrl+]) detaches. Window-size\n"
          "changes are forwarded. --devname console1 connects to the second\n"
          "<console> (/dev/tty2 inside). vivctl exits when the console closes (the\n"
          "domain stopped, or another client took it over with --force).\n"
          "\n"
          "When standard input is not a terminal, its data is relayed as is and\n"
          "^] in it also detaches. When it ends, vivctl keeps printing the\n"
          "console's output until nothing arrived for one second, then exits 0;\n"
          "with --wait-eof it keeps going until the console closes.",
          console_options, VERB_NEEDS_URI, verb_console },
        {}
};
