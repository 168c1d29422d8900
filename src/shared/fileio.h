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

/* Moves FDS[0..N-1] onto FIRST, FIRST+1, ... in that order, without FD_CLOEXEC,
 * whatever numbers they had (one of them may already be on another's target):
 * each is first copied above FIRST+N-1, then dup2()'d into place. The copies
 * stay open (FD_CLOEXEC) above the range: the caller closes what it keeps
 * no more, e.g. close_range(FIRST + N, ...). Only system calls: usable
 * between vfork() and exec(). Returns 0 or -errno. */
int fds_move_to(const int *fds, size_t n, int first);

/* One sendmsg() of LEN bytes at DATA with FDS[0..N_FDS-1] in one
 * SCM_RIGHTS (none when N_FDS is 0; at most 253, the kernel's limit),
 * MSG_NOSIGNAL. Returns 0 or -errno. */
int send_with_fds(int sock, const void *data, size_t len, const int *fds, size_t n_fds);
