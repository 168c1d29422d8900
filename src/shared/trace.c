/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

/* Per process, decided at the first call: a tracing aid like a log
 * target, not state of the program. A forked child (the helper's init
 * child) keeps the parent's fd; exec closes it and the next program
 * decides again. */
static int trace_fd = -2;   /* -2: not decided yet, -1: off */

void trace_point(const char *phase) {
        char line[256];
        struct timespec ts;
        int n, saved = errno;

        if (trace_fd == -1)
                return;
        if (trace_fd == -2) {
                const char *path = getenv("VIVARIUM_TRACE");

                trace_fd = path && *path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
                if (trace_fd < 0) {
                        trace_fd = -1;
                        errno = saved;
                        return;
                }
        }
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        n = snprintf(line, sizeof line, "%lld.%06ld %s %d %s\n", (long long) ts.tv_sec, ts.tv_nsec / 1000,
                     program_invocation_short_name, (int) getpid(), phase);
        if (n > 0)
                (void) !write(trace_fd, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
        errno = saved;
}
