/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivarium-udp-relay: a published UDP port on the host's [::1] (ports.c in
 * the manager). IPv6 has no route_localnet, so no DNAT can take a datagram
 * from ::1 to a container; this relays instead, as vivarium-tcp-relay
 * does for TCP.
 *
 * Started by a socket unit of the host's systemd with one datagram socket
 * (the listening one, [::1]:PORT), and the container's address and port as
 * its argument. Each client (source address and port) gets a flow: a socket
 * of its own connected to the container, so that the container's answers
 * find their way back to that client only, and the container sees one peer
 * per client, as it would over DNAT. A flow that carries nothing in either
 * direction for the idle timeout is dropped; with no flow left the relay
 * exits, and the socket unit starts it again at the next datagram.
 *
 *   vivarium-udp-relay [--idle-timeout=SECONDS] [--max-clients=N] ADDRESS:PORT
 *
 * ADDRESS is numeric, IPv4 or IPv6 (brackets optional). It needs no
 * privilege: systemd binds the listening socket.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macros.h"
#include "relay-util.h"

/* A bound on what a flood of made-up source ports can make us hold: a
 * socket each, well under the default soft limit of 1024 fds. */
#define MAX_FLOWS 512
/* Datagrams taken from one socket before the others get their turn (and
 * the idle timers theirs): a flood on one side starves nothing. */
#define BATCH 64
#define DATAGRAM_MAX 65535

typedef struct Relay Relay;

typedef struct Flow {
        Relay *relay;
        struct sockaddr_storage client;
        socklen_t client_len;
        int fd;                 /* connected to the container */
        sd_event_source *io;
        sd_event_source *timer; /* the idle timeout, moved on by traffic */
        struct Flow *next;
} Flow;

struct Relay {
        sd_event *event;
        int listen_fd;
        struct sockaddr_storage target;
        socklen_t target_len;
        uint64_t idle_usec;
        unsigned max_flows;
        Flow *flows;
        size_t n_flows;
        uint8_t buf[DATAGRAM_MAX];
};

static void flow_free(Flow *f) {
        Relay *r = f->relay;

        for (Flow **p = &r->flows; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        r->n_flows--;
                        break;
                }
        sd_event_source_disable_unref(f->io);
        sd_event_source_disable_unref(f->timer);
        safe_close(f->fd);
        free(f);
}

static int flow_touch(Flow *f) {
        uint64_t now;
        int r;

        r = sd_event_now(f->relay->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        return sd_event_source_set_time(f->timer, now + f->relay->idle_usec);
}

static int flow_expired(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        Flow *f = userdata;
        Relay *r = f->relay;

        flow_free(f);
        if (r->n_flows == 0)
                return sd_event_exit(r->event, 0);
        return 0;
}

/* The container's answers, to the client of this flow only. */
static int flow_readable(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *userdata) {
        Flow *f = userdata;
        Relay *r = f->relay;

        for (unsigned i = 0; i < BATCH; i++) {
                ssize_t n = recv(fd, r->buf, sizeof r->buf, MSG_TRUNC);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        /* ECONNREFUSED: an ICMP "port unreachable" of an
                         * earlier datagram; UDP clients live with loss */
                        if (errno == ECONNREFUSED)
                                continue;
                        fprintf(stderr, "Failed to receive from the container: %m\n");
                        return 0;
                }
                if ((size_t) n > sizeof r->buf)
                        continue; /* cannot happen over IP; never relay a truncated datagram */
                if (sendto(r->listen_fd, r->buf, (size_t) n, MSG_DONTWAIT, (struct sockaddr *) &f->client,
                           f->client_len) < 0 &&
                    errno != EAGAIN)
                        fprintf(stderr, "Failed to send an answer to a client, dropping it: %m\n");
                (void) flow_touch(f);
        }
        return 0;
}

static Flow *flow_find(Relay *r, const struct sockaddr_storage *client, socklen_t len) {
        for (Flow *f = r->flows; f; f = f->next)
                if (f->client_len == len && memcmp(&f->client, client, len) == 0)
                        return f;
        return NULL;
}

static int flow_new(Relay *r, const struct sockaddr_storage *client, socklen_t len, Flow **ret) {
        _cleanup_free_ Flow *f = NULL;
        _cleanup_close_ int fd = -EBADF;
        int k;

        fd = socket(r->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &r->target, r->target_len) < 0)
                return -errno;
        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        *f = (Flow) { .relay = r, .client = *client, .client_len = len, .fd = -EBADF };
        k = sd_event_add_io(r->event, &f->io, fd, EPOLLIN, flow_readable, f);
        if (k < 0)
                return k;
        k = sd_event_add_time(r->event, &f->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, flow_expired, f);
        if (k < 0) {
                sd_event_source_disable_unref(f->io);
                return k;
        }
        f->fd = TAKE_FD(fd);
        f->next = r->flows;
        r->flows = f;
        r->n_flows++;
        *ret = TAKE_PTR(f);
        return 0;
}

/* A client's datagram: to the container, over that client's flow. */
static int listen_readable(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *userdata) {
        Relay *r = userdata;

        for (unsigned i = 0; i < BATCH; i++) {
                struct sockaddr_storage client = {};
                socklen_t len = sizeof client;
                ssize_t n = recvfrom(fd, r->buf, sizeof r->buf, MSG_TRUNC | MSG_DONTWAIT, (struct sockaddr *) &client,
                                     &len);
                Flow *f;
                int k;

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        fprintf(stderr, "Failed to receive from a client: %m\n");
                        return 0;
                }
                if ((size_t) n > sizeof r->buf)
                        continue;
                f = flow_find(r, &client, len);
                if (!f) {
                        if (r->n_flows >= r->max_flows)
                                continue; /* the busiest case: drop, as a full network would */
                        k = flow_new(r, &client, len, &f);
                        if (k < 0) {
                                fprintf(stderr, "Failed to open a flow to the container: %s\n", strerror(-k));
                                continue;
                        }
                }
                if (send(f->fd, r->buf, (size_t) n, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ECONNREFUSED)
                        fprintf(stderr, "Failed to send a datagram to the container, dropping it: %m\n");
                (void) flow_touch(f);
        }
        return 0;
}

static int no_client_yet(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        Relay *r = userdata;

        return r->n_flows == 0 ? sd_event_exit(r->event, 0) : 0;
}

static void relay_donep(Relay **rp) {
        Relay *r = *rp;

        while (r->flows)
                flow_free(r->flows);
        r->event = sd_event_unref(r->event);
}

int main(int argc, char *argv[]) {
        static const RelayUsage usage = {
                .what = "Relays the datagrams of the socket it is passed (socket activation) to ADDRESS:PORT,\n"
                        "a socket per client (source address and port), forgotten after the idle timeout;",
                .clients = "clients",
                .max_clients = MAX_FLOWS,
        };
        static Relay relay; /* static: its 64 KiB buffer does not belong on the stack */
        _cleanup_(relay_donep) Relay *r = &relay;
        _cleanup_(sd_event_source_disable_unrefp) sd_event_source *listen_io = NULL, *startup = NULL;
        RelayArgs args;
        int k;

        k = relay_parse_args(argc, argv, &usage, &args);
        if (k != 0)
                return k > 0 ? 0 : 2;
        *r = (Relay) {
                .listen_fd = -EBADF,
                .target = args.target,
                .target_len = args.target_len,
                .idle_usec = args.idle_usec,
                .max_flows = args.max_clients,
        };
        r->listen_fd = relay_listen_fd(SOCK_DGRAM);
        if (r->listen_fd < 0)
                return 1;
        /* recvfrom()/sendto() are non-blocking by their flags; the socket
         * itself is systemd's, shared with the next start: left as it is */

        k = sd_event_default(&r->event);
        if (k >= 0)
                k = sd_event_add_io(r->event, &listen_io, r->listen_fd, EPOLLIN, listen_readable, r);
        /* started by a datagram, normally; if none is there, do not stay */
        if (k >= 0)
                k = sd_event_add_time_relative(r->event, &startup, CLOCK_MONOTONIC, r->idle_usec, 0, no_client_yet,
                                               r);
        return relay_run(r->event, k);
}
