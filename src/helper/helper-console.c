/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's console: a pty whose master the helper owns and always
 * drains, so that the container never blocks on a full pty when nobody is
 * attached. Output goes to a 64 KiB ring buffer, to the journal (line by line,
 * rate-limited, with CONTAINER_NAME=) and to the one attached client, if any.
 * A client that does not read fast enough loses output; the container never
 * waits for it. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "fileio.h"
#include "bus-names.h"
#include "helper.h"
#include "helper-log.h"

#define JOURNAL_RATE_INTERVAL_USEC (10ULL * 1000 * 1000)
#define JOURNAL_RATE_BURST 500U

/* Child side: hands the master of the console pty to the helper. */
int console_send_master(int sock, int master) {
        return send_with_fds(sock, "M", 1, &master, 1);
}

/* Helper side: takes the master the child sent; init has exec'd by now, so
 * the message is already queued. */
int console_receive(Console *c, int sock) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        char byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *cm;
        int fd = -EBADF;

        if (recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
                return -errno;
        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
                    cm->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        if (fd < 0)
                return -EBADMSG;
        c->master = fd;
        if (fcntl(c->master, F_SETFL, fcntl(c->master, F_GETFL) | O_NONBLOCK) < 0)
                return -errno;
        /* The helper keeps a slave open for its whole life: otherwise the
         * master reports a hangup whenever the container has no fd on its
         * console, and the drain loop would spin. */
        c->slave = ioctl(c->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->slave < 0)
                return -errno;
        struct winsize ws = { .ws_row = 24, .ws_col = 80 };
        (void) ioctl(c->master, TIOCSWINSZ, &ws);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void journal_line(Console *c) {
        Helper *h = c->helper;
        char device[32];
        uint64_t now;

        if (c->line_len == 0)
                return;
        c->line[c->line_len] = 0;
        c->line_len = 0;
        if (!c->log_to_journal)
                return;

        now = now_usec();
        if (now - c->rl_begin_usec > JOURNAL_RATE_INTERVAL_USEC) {
                if (c->rl_suppressed > 0)
                        sd_journal_send("MESSAGE=Suppressed %u console lines of container %s", c->rl_suppressed, h->name,
                                        "CONTAINER_NAME=%s", h->name, "PRIORITY=5",
                                        "SYSLOG_IDENTIFIER=vivarium-helper", NULL);
                c->rl_begin_usec = now;
                c->rl_lines = 0;
                c->rl_suppressed = 0;
        }
        if (++c->rl_lines > JOURNAL_RATE_BURST) {
                c->rl_suppressed++;
                return;
        }
        snprintf(device, sizeof(device), "console%u", c->port);
        sd_journal_send("MESSAGE=%s", c->line, "CONTAINER_NAME=%s", h->name, "CONSOLE_DEVICE=%s", device,
                        "PRIORITY=6", "SYSLOG_IDENTIFIER=vivarium-console", NULL);
}

static void console_record(Console *c, const char *buf, size_t n) {
        for (size_t i = 0; i < n; i++) {
                size_t pos = (c->ring_start + c->ring_len) % CONSOLE_RING_SIZE;
                c->ring[pos] = buf[i];
                if (c->ring_len < CONSOLE_RING_SIZE)
                        c->ring_len++;
                else
                        c->ring_start = (c->ring_start + 1) % CONSOLE_RING_SIZE;

                if (buf[i] == '\n')
                        journal_line(c);
                else if (buf[i] != '\r') {
                        c->line[c->line_len++] = buf[i];
                        if (c->line_len >= sizeof(c->line) - 1)
                                journal_line(c);
                }
        }
}

static void relay_append(RelayBuf *b, const char *data, size_t n) {
        size_t room = sizeof(b->data) - b->len;
        if (n > room)
                n = room;  /* a slow client loses output; the pty never waits */
        memcpy(b->data + b->len, data, n);
        b->len += n;
}

/* Writes what it can; returns < 0 on a broken peer. */
static int relay_flush(RelayBuf *b, int fd) {
        while (b->len > 0) {
                ssize_t n = write(fd, b->data, b->len);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                memmove(b->data, b->data + n, b->len - (size_t) n);
                b->len -= (size_t) n;
        }
        return 0;
}

static void client_free(ConsoleClient *cl) {
        if (!cl)
                return;
        sd_event_source_disable_unref(cl->source);
        if (!cl->is_stdio)
                safe_close(cl->fd);
        free(cl);
}

static void update_events(Console *c) {
        ConsoleClient *cl = c->client;
        uint32_t ev = EPOLLIN;

        if ((cl && cl->to_pty.len > 0) || (c->stdio && c->stdio->to_pty.len > 0))
                ev |= EPOLLOUT;
        if (c->source)
                (void) sd_event_source_set_io_events(c->source, ev);
        if (cl && cl->source)
                (void) sd_event_source_set_io_events(cl->source,
                        (cl->to_pty.len < sizeof(cl->to_pty.data) ? EPOLLIN : 0) |
                        (cl->to_client.len > 0 ? EPOLLOUT : 0));
}

static void client_disconnect(Console *c) {
        client_free(TAKE_PTR(c->client));
        update_events(c);
}

static void console_read_master(Console *c) {
        char buf[4096];

        for (int i = 0; i < 16; i++) {
                ssize_t n = read(c->master, buf, sizeof(buf));
                if (n <= 0)
                        break;
                console_record(c, buf, (size_t) n);
                if (c->stdio)
                        (void) !write(c->stdio->out_fd, buf, (size_t) n);
                if (c->client) {
                        relay_append(&c->client->to_client, buf, (size_t) n);
                        if (relay_flush(&c->client->to_client, c->client->fd) < 0) {
                                client_disconnect(c);
                                continue;
                        }
                }
        }
}

static int on_master(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Console *c = userdata;

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                console_read_master(c);
        if (revents & EPOLLOUT) {
                if (c->client)
                        (void) relay_flush(&c->client->to_pty, c->master);
                if (c->stdio)
                        (void) relay_flush(&c->stdio->to_pty, c->master);
        }
        update_events(c);
        return 0;
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ConsoleClient *cl = userdata;
        Console *c = cl->console;

        if (revents & EPOLLIN) {
                size_t room = sizeof(cl->to_pty.data) - cl->to_pty.len;
                ssize_t n = room > 0 ? read(fd, cl->to_pty.data + cl->to_pty.len, room) : 0;
                if (n == 0 && room > 0) {
                        if (cl->is_stdio) {
                                /* our stdin ended: stop reading it, keep mirroring */
                                cl->source = sd_event_source_disable_unref(cl->source);
                                return 0;
                        }
                        client_disconnect(c);
                        return 0;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        if (!cl->is_stdio)
                                client_disconnect(c);
                        return 0;
                }
                if (n > 0) {
                        cl->to_pty.len += (size_t) n;
                        (void) relay_flush(&cl->to_pty, c->master);
                }
        }
        if ((revents & EPOLLOUT) && !cl->is_stdio) {
                if (relay_flush(&cl->to_client, cl->fd) < 0) {
                        client_disconnect(c);
                        return 0;
                }
        }
        if ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN) && !cl->is_stdio) {
                client_disconnect(c);
                return 0;
        }
        if (!cl->is_stdio)
                update_events(c);
        return 0;
}

/* Console PORT of the container: 0 is /dev/console, PORT > 0 /dev/tty(PORT+1);
 * NULL past the last. */
Console *console_port(Helper *h, unsigned port) {
        if (port == 0)
                return &h->console;
        return port <= h->n_extra_consoles ? &h->extra_consoles[port - 1] : NULL;
}

/* libvirt's device names: "console0", "console1", ...; "" is the first. */
Console *console_by_devname(Helper *h, const char *devname) {
        unsigned port;
        int n = -1;

        if (!devname || !*devname)
                return &h->console;
        if (sscanf(devname, "console%u%n", &port, &n) != 1 || n < 0 || devname[n] || port > 4096)
                return NULL;
        return console_port(h, port);
}

int console_attach(Helper *h) {
        int r;

        for (unsigned port = 0; console_port(h, port); port++) {
                Console *c = console_port(h, port);
                c->helper = h;
                c->port = port;
                c->log_to_journal = !h->foreground;
                r = sd_event_add_io(h->event, &c->source, c->master, EPOLLIN, on_master, c);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch console%u: %m", port);
        }

        if (h->foreground) {
                /* debug mode: the first console is mirrored on our stdout, and
                 * our stdin (when it can be polled) is typed into it */
                ConsoleClient *cl = calloc(1, sizeof(*cl));
                if (!cl)
                        return -ENOMEM;
                *cl = (ConsoleClient) { .console = &h->console, .fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .is_stdio = true };
                if (sd_event_add_io(h->event, &cl->source, STDIN_FILENO, EPOLLIN, on_client, cl) < 0)
                        cl->source = NULL;
                h->console.stdio = cl;
        }
        return 0;
}

int console_open_client(Helper *h, const char *devname, bool force, int *ret_fd, sd_bus_error *error) {
        Console *c = console_by_devname(h, devname);
        int pair[2], r;

        if (!c)
                return sd_bus_error_setf(error, VIV_ERROR_NO_CONSOLE, "cannot find console device '%s' in container '%s'",
                                         devname, h->name);
        if (c->master < 0)
                return sd_bus_error_setf(error, VIV_ERROR_NO_CONSOLE, "Container '%s' has no console", h->name);
        if (c->client && !force)
                return sd_bus_error_setf(error, VIV_ERROR_CONSOLE_BUSY,
                                         "Console of container '%s' is already in use", h->name);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
                return -errno;

        client_disconnect(c);  /* force: the previous client goes */

        ConsoleClient *cl = calloc(1, sizeof(*cl));
        if (!cl) {
                safe_close(pair[0]);
                safe_close(pair[1]);
                return -ENOMEM;
        }
        *cl = (ConsoleClient) { .console = c, .fd = pair[0], .out_fd = pair[0] };
        r = sd_event_add_io(h->event, &cl->source, cl->fd, EPOLLIN, on_client, cl);
        if (r < 0) {
                client_free(cl);
                safe_close(pair[1]);
                return r;
        }
        c->client = cl;
        /* the caller's end is blocking, as a terminal would be */
        (void) fcntl(pair[1], F_SETFL, fcntl(pair[1], F_GETFL) & ~O_NONBLOCK);
        *ret_fd = pair[1];
        update_events(c);
        return 0;
}

int console_resize(Helper *h, const char *devname, unsigned rows, unsigned cols) {
        struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
        Console *c = console_by_devname(h, devname);
        if (!c)
                return -ENODEV;
        if (c->master < 0)
                return -ENOTTY;
        return RET_NERRNO(ioctl(c->master, TIOCSWINSZ, &ws));
}

/* Reads what init left in the ptys, before we go. */
void console_drain(Helper *h) {
        for (unsigned port = 0; console_port(h, port); port++) {
                Console *c = console_port(h, port);
                if (c->master < 0)
                        continue;
                for (int i = 0; i < 64; i++) {
                        char buf[4096];
                        ssize_t n = read(c->master, buf, sizeof(buf));
                        if (n <= 0)
                                break;
                        console_record(c, buf, (size_t) n);
                        if (c->stdio)
                                (void) !write(c->stdio->out_fd, buf, (size_t) n);
                        if (c->client)
                                relay_append(&c->client->to_client, buf, (size_t) n);
                }
                journal_line(c);
                if (c->client) {
                        /* one last push, waiting at most a second: the client
                         * should see the end, but cannot hold up the teardown */
                        struct timeval tv = { .tv_sec = 1 };
                        (void) setsockopt(c->client->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                        (void) fcntl(c->client->fd, F_SETFL, fcntl(c->client->fd, F_GETFL) & ~O_NONBLOCK);
                        (void) relay_flush(&c->client->to_client, c->client->fd);
                }
        }
}

void console_done(Console *c) {
        client_free(TAKE_PTR(c->client));
        client_free(TAKE_PTR(c->stdio));
        c->source = sd_event_source_disable_unref(c->source);
        c->master = safe_close(c->master);
        c->slave = safe_close(c->slave);
}
