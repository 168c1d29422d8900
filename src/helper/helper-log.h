/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "macros.h"

/* The helper logs to stderr (the journal when started by the manager under
 * systemd) with the container's name as prefix. Success is quiet. */

void log_set_container_name(const char *name);
void log_set_debug(bool on);
bool log_debug_enabled(void);

/* Logs one message; when error != 0, %m expands to strerror(|error|).
 * Returns -|error| so callers can "return log_error_errno(r, ...)". */
int log_full_errno(int level, int error, const char *format, ...) _printf_(3, 4);

#define LOG_LEVEL_ERR 3
#define LOG_LEVEL_WARNING 4
#define LOG_LEVEL_NOTICE 5
#define LOG_LEVEL_INFO 6
#define LOG_LEVEL_DEBUG 7

#define log_error_errno(e, ...) log_full_errno(LOG_LEVEL_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_oom() log_full_errno(LOG_LEVEL_ERR, ENOMEM, "Out of memory.")
