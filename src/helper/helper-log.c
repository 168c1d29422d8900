/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper-log.h"

/* Logging identity: set once in main() before anything logs. The only
 * process-wide state of the helper, as a logger's target is by nature. */
static const char *log_name = NULL;
static bool log_debug_on = false;
static bool log_to_journal_stream = false;

void log_set_container_name(const char *name) {
        log_name = name;
        /* stderr connected to the journal: tag every line with its priority */
        log_to_journal_stream = !!getenv("JOURNAL_STREAM");
}

void log_set_debug(bool on) {
        log_debug_on = on;
}

bool log_debug_enabled(void) {
        return log_debug_on;
}

int log_full_errno(int level, int error, const char *format, ...) {
        int saved = errno;
        va_list ap;
        char buf[2048];

        if (error < 0)
                error = -error;

        if (level >= LOG_LEVEL_DEBUG && !log_debug_on)
                return -error;

        /* %m of the format refers to the error we were given */
        errno = error;
        va_start(ap, format);
        (void) vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        /* "<N>" prefix: understood by the journal when stderr is a stream to it */
        if (log_to_journal_stream)
                fprintf(stderr, "<%d>", level);
        fprintf(stderr, "vivarium-helper[%s]: %s\n", log_name ? log_name : "?", buf);
        fflush(stderr);

        errno = saved;
        return -error;
}
