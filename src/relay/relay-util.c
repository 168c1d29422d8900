/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "macros.h"
#include "relay-util.h"

#define DEFAULT_IDLE_SECONDS 60

/* "ADDR:PORT", "[ADDR]:PORT": numeric only (no resolver in a relay). */
static int parse_target(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        _cleanup_free_ char *host = NULL;
        const char *colon = strrchr(s, ':');
        char *end;
        unsigned long port;
        size_t hl;

        if (!colon || colon == s)
                return -EINVAL;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (colon[1] < '0' || colon[1] > '9' || *end || errno || port < 1 || port > 65535)
                return -EINVAL;
        hl = (size_t) (colon - s);
        if (s[0] == '[') {
                if (hl < 2 || s[hl - 1] != ']')
                        return -EINVAL;
                host = strndup(s + 1, hl - 2);
        } else
                host = strndup(s, hl);
        if (!host)
                return -ENOMEM;

        *ret = (struct sockaddr_storage) {};
        struct sockaddr_in *in4 = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;
        if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons((uint16_t) port);
                *ret_len = sizeof *in4;
                return 0;
        }
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                *ret_len = sizeof *in6;
                return 0;
        }
        return -EINVAL;
}

/* A whole decimal number in MIN..MAX. */
static int parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *ret) {
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        *ret = strtoul(s, &end, 10);
        return *end || errno || *ret < min || *ret > max ? -EINVAL : 0;
}

int relay_parse_args(int argc, char *argv[], const RelayUsage *usage, RelayArgs *ret) {
        static const struct option options[] = {
                { "idle-timeout", required_argument, NULL, 'i' },
                { "max-clients",  required_argument, NULL, 'm' },
                { "help",         no_argument,       NULL, 'h' },
                {}
        };
        unsigned long idle = DEFAULT_IDLE_SECONDS, max = usage->max_clients;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'i':
                        if (parse_number(optarg, 1, 86400, &idle) < 0) {
                                fprintf(stderr, "Invalid --idle-timeout '%s': a number of seconds, 1..86400\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case 'm':
                        if (parse_number(optarg, 1, usage->max_clients, &max) < 0) {
                                fprintf(stderr, "Invalid --max-clients '%s': a number of %s, 1..%u\n", optarg,
                                        usage->clients, usage->max_clients);
                                return -EINVAL;
                        }
                        break;
                case 'h':
                        printf("%s [--idle-timeout=SECONDS] [--max-clients=N] ADDRESS:PORT\n"
                               "%s\n"
                               "at most N %s at once (default and largest %u); exits once none was there\n"
                               "for the idle timeout (default %u s).\n",
                               argv[0], usage->what, usage->clients, usage->max_clients, DEFAULT_IDLE_SECONDS);
                        return 1;
                default:
                        return -EINVAL;
                }
        if (optind != argc - 1) {
                fprintf(stderr, "Usage: %s [--idle-timeout=SECONDS] [--max-clients=N] ADDRESS:PORT\n", argv[0]);
                return -EINVAL;
        }
        *ret = (RelayArgs) { .idle_usec = (uint64_t) idle * 1000000, .max_clients = (unsigned) max };
        if (parse_target(argv[optind], &ret->target, &ret->target_len) < 0) {
                fprintf(stderr, "Invalid target '%s': expected a numeric ADDRESS:PORT, e.g. [fd00::5]:53\n",
                        argv[optind]);
                return -EINVAL;
        }
        return 0;
}

int relay_listen_fd(int type) {
        int n = sd_listen_fds(true);

        /* a stream socket must be the listening one (Accept=no): a
         * connection's socket (Accept=yes) would be relayed as a listener */
        if (n != 1 || sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, type, type == SOCK_STREAM ? 1 : -1) <= 0) {
                fprintf(stderr, "Expected one %s socket from socket activation, got %d fds\n",
                        type == SOCK_STREAM ? "listening stream" : "datagram", n < 0 ? 0 : n);
                return -EBADF;
        }
        return SD_LISTEN_FDS_START;
}

int relay_run(sd_event *event, int setup) {
        int k = setup;

        if (k >= 0)
                k = sd_event_set_signal_exit(event, true);
        if (k < 0) {
                fprintf(stderr, "Failed to set up the event loop: %s\n", strerror(-k));
                return 1;
        }
        k = sd_event_loop(event);
        if (k < 0) {
                fprintf(stderr, "Event loop failed: %s\n", strerror(-k));
                return 1;
        }
        return 0;
}
