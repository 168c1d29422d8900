/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivarium-tcp-relay: a published TCP port on the host's [::1] (ports.c in
 * the manager). IPv6 has no route_localnet, so no DNAT can take a
 * connection from ::1 to a container; this relays instead, as Docker's
 * docker-proxy and Incus' proxy device do.
 *
 * Started by a socket unit of the host's systemd (Accept=no) with the
 * listening socket, [::1]:PORT, and the container's address and port as its
 * argument. Each connection it accepts gets one of its own to the
 * container, and bytes are copied both ways through a buffer per
 * direction. It keeps TCP's half-close, which systemd-socket-proxyd (used
 * here before) does not: when one side ends its stream (shutdown(SHUT_WR):
 * "nc -N", an HTTP/1.0 client, ssh's forwarding, any protocol that sends
 * its request and then reads), the other side gets that end of file once
 * all the bytes before it are written, while the other direction goes on.
 * A connection is closed when both directions have ended; a failure of
 * either side (a reset, a refused or failed connect to the container)
 * resets both at once, as a client would see it over DNAT.
 *
 * At most --max-clients connections at once: past that it stops accepting
 * and the kernel's backlog holds the next ones. With no connection for the
 * idle timeout it exits, and the socket unit starts it again at the next
 * connection. It needs no privilege: systemd binds the listening socket.
 *
 *   vivarium-tcp-relay [--idle-timeout=SECONDS] [--max-clients=N] ADDRESS:PORT
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macros.h"
#include "relay-util.h"

/* Two sockets each: with the few fds of its own, well under the default
 * soft limit of 1024. */
#define MAX_CONNECTIONS 256
/* Connections accepted, or passes over one connection's buffers, before
 * the others get their turn: a busy one starves nothing. */
#define BATCH 16
#define HALF_BUFFER (32 * 1024)

typedef struct Relay Relay;

/* One direction of a connection: what was read from one side and not yet
 * written to the other, in buf[start, end). */
typedef struct Half {
        size_t start, end;
        bool eof;  /* the reading side ended its stream */
        bool shut; /* ... and it was passed on: shutdown(SHUT_WR) of the other */
        uint8_t buf[HALF_BUFFER];
} Half;

typedef struct Connection {
        Relay *relay;
        int client_fd, server_fd;
        sd_event_source *client_io, *server_io;
        bool connected;
        Half up;   /* client -> container */
        Half down; /* container -> client */
        struct Connection *prev, *next;
} Connection;

struct Relay {
        sd_event *event;
        RelayArgs args;
        sd_event_source *listen_io;
        sd_event_source *idle_timer; /* armed while no connection is open */
        Connection *connections;
        size_t n_connections;
};

/* close() then sends a reset instead of a FIN */
static void reset_on_close(int fd) {
        static const struct linger now = { .l_onoff = 1, .l_linger = 0 };

        if (fd >= 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
}

static void connection_free(Connection *c, bool reset) {
        Relay *r = c->relay;

        if (c->prev)
                c->prev->next = c->next;
        else
                r->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        r->n_connections--;
        sd_event_source_disable_unref(c->client_io);
        sd_event_source_disable_unref(c->server_io);
        if (reset) {
                reset_on_close(c->client_fd);
                reset_on_close(c->server_fd);
        }
        safe_close(c->client_fd);
        safe_close(c->server_fd);
        free(c);
}

/* After the number of connections changed: accept again below the bound;
 * with none open, exit after the idle timeout. */
static int relay_update(Relay *r) {
        uint64_t now;
        int k;

        k = sd_event_source_set_enabled(r->listen_io,
                                        r->n_connections < r->args.max_clients ? SD_EVENT_ON : SD_EVENT_OFF);
        if (k < 0)
                return k;
        if (r->n_connections > 0)
                return sd_event_source_set_enabled(r->idle_timer, SD_EVENT_OFF);
        if (sd_event_source_get_enabled(r->idle_timer, NULL) > 0)
                return 0;
        k = sd_event_now(r->event, CLOCK_MONOTONIC, &now);
        if (k >= 0)
                k = sd_event_source_set_time(r->idle_timer, now + r->args.idle_usec);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->idle_timer, SD_EVENT_ONESHOT);
        return k;
}

static int connection_end(Connection *c, bool reset) {
        Relay *r = c->relay;
        int k;

        connection_free(c, reset);
        k = relay_update(r);
        return k < 0 ? sd_event_exit(r->event, k) : 0;
}

/* Moves what H holds from FROM to TO as far as both sockets take it
 * without blocking, and passes the end of FROM's stream on once all before
 * it is written. -errno when either side failed. */
static int half_pump(Half *h, int from, int to) {
        for (unsigned i = 0; i < BATCH; i++) {
                bool moved = false;
                ssize_t n;

                if (!h->eof && h->end - h->start < sizeof h->buf) {
                        if (h->end == sizeof h->buf) {
                                memmove(h->buf, h->buf + h->start, h->end - h->start);
                                h->end -= h->start;
                                h->start = 0;
                        }
                        n = recv(from, h->buf + h->end, sizeof h->buf - h->end, MSG_DONTWAIT);
                        if (n > 0) {
                                h->end += (size_t) n;
                                moved = true;
                        } else if (n == 0)
                                h->eof = true;
                        else if (errno != EAGAIN && errno != EINTR)
                                return -errno;
                }
                if (h->start < h->end) {
                        n = send(to, h->buf + h->start, h->end - h->start, MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (n > 0) {
                                h->start += (size_t) n;
                                if (h->start == h->end)
                                        h->start = h->end = 0;
                                moved = true;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR)
                                return -errno;
                }
                if (h->eof && h->start == h->end && !h->shut) {
                        if (shutdown(to, SHUT_WR) < 0)
                                return -errno;
                        h->shut = true;
                }
                if (!moved)
                        break;
        }
        return 0;
}

static bool half_wants_read(const Half *h) {
        return !h->eof && h->end - h->start < sizeof h->buf;
}

static bool half_wants_write(const Half *h) {
        return h->start < h->end;
}

/* With no event asked for, an enabled source still reports an error or a
 * hang-up, which is how a reset of an idle side is noticed. Once our own
 * sending side is shut, a peer's clean end would be reported as a hang-up
 * over and over: then the source is off until it is wanted again. */
static int watch(sd_event_source *s, uint32_t events, bool sending_shut) {
        int k;

        if (events == 0 && sending_shut)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        k = sd_event_source_set_io_events(s, events);
        if (k >= 0)
                k = sd_event_source_set_enabled(s, SD_EVENT_ON);
        return k;
}

static int connection_watch(Connection *c) {
        int k;

        k = watch(c->client_io,
                  (half_wants_read(&c->up) ? EPOLLIN : 0) | (half_wants_write(&c->down) ? EPOLLOUT : 0),
                  c->down.shut);
        if (k >= 0)
                k = watch(c->server_io,
                          (half_wants_read(&c->down) ? EPOLLIN : 0) | (half_wants_write(&c->up) ? EPOLLOUT : 0),
                          c->up.shut);
        return k;
}

/* What an error or hang-up of FD says: its pending error, and a hang-up
 * while we still send on it is a reset (or a timeout): TCP reports one
 * without an error only once both directions are shut. */
static int socket_failure(int fd, uint32_t revents, bool sending_shut) {
        int error = 0;
        socklen_t len = sizeof error;

        if (revents & EPOLLERR) {
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                        return -errno;
                if (error > 0)
                        return -error;
        }
        if ((revents & EPOLLHUP) && !sending_shut)
                return -ECONNRESET;
        return 0;
}

static int connection_io(sd_event_source *s _unused_, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;
        bool client = fd == c->client_fd;
        int k;

        k = socket_failure(fd, revents, client ? c->down.shut : c->up.shut);
        if (k < 0) {
                if (!client && !c->connected)
                        fprintf(stderr, "Failed to connect to the container: %s\n", strerror(-k));
                return connection_end(c, true);
        }
        if (!c->connected) {
                /* writable: the connect to the container is done */
                if (client || !(revents & EPOLLOUT))
                        return 0;
                c->connected = true;
        }

        k = half_pump(&c->up, c->client_fd, c->server_fd);
        if (k >= 0)
                k = half_pump(&c->down, c->server_fd, c->client_fd);
        if (k < 0)
                return connection_end(c, true);
        if (c->up.shut && c->down.shut)
                return connection_end(c, false);
        k = connection_watch(c);
        if (k < 0) {
                fprintf(stderr, "Failed to watch a connection, resetting it: %s\n", strerror(-k));
                return connection_end(c, true);
        }
        return 0;
}

/* A connection of the client on CLIENT_FD (taken) to the container. Only
 * a failure to set it up is returned: a failed connect resets the client. */
static int connection_new(Relay *r, int client_fd) {
        Connection *c;
        int k;

        c = calloc(1, sizeof *c);
        if (!c) {
                safe_close(client_fd);
                return -ENOMEM;
        }
        c->relay = r;
        c->client_fd = client_fd;
        c->server_fd = socket(r->args.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        c->next = r->connections;
        if (c->next)
                c->next->prev = c;
        r->connections = c;
        r->n_connections++;
        if (c->server_fd < 0) {
                k = -errno;
                connection_free(c, true);
                return k;
        }

        /* the client waits, unread, until the container's side is there;
         * only its reset is watched for */
        k = sd_event_add_io(r->event, &c->client_io, c->client_fd, 0, connection_io, c);
        if (k >= 0)
                k = sd_event_add_io(r->event, &c->server_io, c->server_fd, EPOLLOUT, connection_io, c);
        if (k < 0) {
                connection_free(c, true);
                return k;
        }
        if (connect(c->server_fd, (struct sockaddr *) &r->args.target, r->args.target_len) < 0 &&
            errno != EINPROGRESS) {
                fprintf(stderr, "Failed to connect to the container: %m\n");
                connection_free(c, true);
        }
        return 0;
}

static int listen_readable(sd_event_source *s, int fd, uint32_t revents _unused_, void *userdata) {
        Relay *r = userdata;
        int k;

        for (unsigned i = 0; i < BATCH && r->n_connections < r->args.max_clients; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        /* the connection went before it was taken */
                        if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
                                continue;
                        /* out of fds or memory: wait for a connection to end */
                        fprintf(stderr, "Failed to accept a connection, pausing: %m\n");
                        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
                }
                k = connection_new(r, cfd);
                if (k < 0)
                        fprintf(stderr, "Failed to relay a connection, dropping it: %s\n", strerror(-k));
        }
        k = relay_update(r);
        return k < 0 ? sd_event_exit(r->event, k) : 0;
}

static int idle_expired(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        Relay *r = userdata;

        return r->n_connections == 0 ? sd_event_exit(r->event, 0) : 0;
}

static void relay_donep(Relay **rp) {
        Relay *r = *rp;

        while (r->connections)
                connection_free(r->connections, false);
        r->listen_io = sd_event_source_disable_unref(r->listen_io);
        r->idle_timer = sd_event_source_disable_unref(r->idle_timer);
        r->event = sd_event_unref(r->event);
}

int main(int argc, char *argv[]) {
        static const RelayUsage usage = {
                .what = "Relays the connections to the listening socket it is passed (socket activation) to\n"
                        "ADDRESS:PORT, with half-close (an end of stream is passed on, each way);",
                .clients = "connections",
                .max_clients = MAX_CONNECTIONS,
        };
        Relay relay = {};
        _cleanup_(relay_donep) Relay *r = &relay;
        int listen_fd, k;

        k = relay_parse_args(argc, argv, &usage, &r->args);
        if (k != 0)
                return k > 0 ? 0 : 2;
        listen_fd = relay_listen_fd(SOCK_STREAM);
        if (listen_fd < 0)
                return 1;
        /* accept() has no per-call flag: several are taken per wakeup, and
         * the last must not block. systemd never accepts on it (Accept=no). */
        if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) < 0) {
                fprintf(stderr, "Failed to make the listening socket non-blocking: %m\n");
                return 1;
        }

        k = sd_event_default(&r->event);
        if (k >= 0)
                k = sd_event_add_io(r->event, &r->listen_io, listen_fd, EPOLLIN, listen_readable, r);
        if (k >= 0)
                k = sd_event_add_time(r->event, &r->idle_timer, CLOCK_MONOTONIC, UINT64_MAX, 0, idle_expired, r);
        if (k >= 0) /* armed by relay_update() */
                k = sd_event_source_set_enabled(r->idle_timer, SD_EVENT_OFF);
        /* started by a connection, normally; if none is there, do not stay */
        if (k >= 0)
                k = relay_update(r);
        return relay_run(r->event, k);
}
