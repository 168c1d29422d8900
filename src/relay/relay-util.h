/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What vivarium-udp-relay and vivarium-tcp-relay share: their command line
 * (an idle timeout, a bound on clients, the container's ADDRESS:PORT) and
 * the socket that systemd passes them. Program code: it reports on stderr. */

#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

typedef struct RelayArgs {
        struct sockaddr_storage target;
        socklen_t target_len;
        uint64_t idle_usec;
        unsigned max_clients;
} RelayArgs;

/* What a relay's --help says, and its bound on clients (the default of
 * --max-clients and its largest value). */
typedef struct RelayUsage {
        const char *what;       /* "Relays the datagrams ... to ADDRESS:PORT," */
        const char *clients;    /* "clients", "connections" */
        unsigned max_clients;
} RelayUsage;

/* 0: run with *ret; 1: --help was printed, exit 0; -EINVAL: said why on
 * stderr, exit 2. */
int relay_parse_args(int argc, char *argv[], const RelayUsage *usage, RelayArgs *ret);

/* The one socket of socket activation, of TYPE (SOCK_DGRAM, SOCK_STREAM
 * listening); -EBADF after saying on stderr what was passed instead. */
int relay_listen_fd(int type);

/* Runs EVENT until it exits (SIGTERM and SIGINT end it too), after the
 * result SETUP of setting it up: the exit status of main(). */
int relay_run(sd_event *event, int setup);
