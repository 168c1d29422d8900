/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Writes all N bytes at P to a blocking FD (short writes and EINTR retried).
 * Returns 0 or -errno. */
int write_all(int fd, const char *p, size_t n);

/* Replaces PATH with CONTENTS atomically: a temporary file in the same
 * directory, written, fsync'ed, renamed over PATH, then the directory
 * fsync'ed. A reader sees the old or the new file, never a partial one.
 * The temp file is ".BASENAME.XXXXXX": it never ends like PATH does.
 * Returns 0 or -errno; on failure PATH is untouched and no temp file is left. */
int write_file_atomic(const char *path, const char *contents, mode_t mode);

/* Reads a whole file into a NUL-terminated buffer. ret_size may be NULL. */
int read_full_file(const char *path, char **ret, size_t *ret_size);
/* The same from FD's current offset to its end. */
int read_full_fd(int fd, char **ret, size_t *ret_size);

/* read_full_file() of a file that only root can have written: PATH (not a
 * symlink) must be a regular file owned by uid 0 and writable by neither
 * group nor others, and so must its directory; else -EPERM. For files a
 * privileged program trusts (vivctl enter's seccomp filter). */
int read_root_file(const char *path, char **ret, size_t *ret_size);

/* mkdir -p with MODE for each created component. */
int mkdir_p(const char *path, mode_t mode);
