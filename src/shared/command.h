/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Running a tool of the host (nft, dhcp_release) and waiting for it. */

/* In a child before exec: no signal blocked, every disposition the default
 * (a mask and SIG_IGN survive exec). */
void command_reset_signals(void);

/* Runs argv[0] (a full path) with ARGV, INPUT (or nothing) on its stdin,
 * stdout on /dev/null, signals as command_reset_signals() leaves them, and
 * waits (for the process it started and for its stderr to close: a daemon it
 * forks must not keep that). Returns 0 when it exited 0; -EIO when it
 * failed, with its stderr (trimmed; or "PATH exited with status N") in
 * *ret_error when ret_error is not NULL; -errno when it could not run. */
int command_run(char *const argv[], const char *input, char **ret_error);

/* The same, stdout kept: the whole of it in *ret_output (NUL-terminated)
 * when it exited 0. */
int command_output(char *const argv[], const char *input, char **ret_output, char **ret_error);
