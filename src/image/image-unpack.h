/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Unpacking an untrusted tar stream (an image layer, or the image archive
 * itself) into a directory, safely: every path is resolved beneath the
 * target with openat2(RESOLVE_BENEATH), so neither a "../" name, nor an
 * absolute name, nor a symlink met on the way (made by this archive or an
 * earlier layer), nor a hard link can reach a file outside it. Device nodes
 * are never created. Nothing here logs: a refusal fills UnpackReport with
 * the entry and the reason, for the caller to print. */

#include <stdbool.h>
#include <sys/types.h>

typedef enum UnpackMode {
        /* An image layer: OCI whiteouts (".wh.NAME", ".wh..wh..opq") delete
         * what lower layers made, owners and modes are kept. */
        UNPACK_LAYER,
        /* The image archive itself (an OCI layout or docker-archive tar):
         * plain files, owned by root, no whiteouts. */
        UNPACK_PLAIN,
} UnpackMode;

typedef struct UnpackReport {
        char entry[512];        /* the entry refused, truncated for messages; "" for the first header */
        char reason[256];       /* why, for "entry 'E': REASON" */
        unsigned long n_entries;
        unsigned long n_devices_skipped; /* block and char devices, sockets */
        unsigned long n_setid;  /* setuid or setgid files written */
        unsigned long n_whiteouts;
} UnpackReport;

typedef struct UnpackOptions {
        UnpackMode mode;
        /* Added to every uid and gid of a layer: for a container whose
         * <idmap> maps its root to this host ID without an idmapped mount.
         * 0 keeps the image's owners (no user namespace, or a picked range,
         * whose idmapped root mount maps them). */
        uid_t id_shift;
} UnpackOptions;

/* Applies the tar stream read from ARCHIVE_FD (plain, gzip, zstd, xz or
 * bzip2: detected) onto the directory ROOT_FD. A layer is read twice from
 * the start of ARCHIVE_FD: its whiteouts first (they delete only what lower
 * layers made, whatever their place in the stream), then its entries.
 * Returns 0, or -errno with REPORT's entry and reason set: -EPERM for an
 * entry that would leave the root, -EBADMSG for a malformed archive. */
int unpack_tar(int root_fd, int archive_fd, const UnpackOptions *o, UnpackReport *report);

/* Opens PATH (relative) beneath ROOT_FD with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) and FLAGS. Returns an fd or -errno
 * (-EXDEV when a symlink or ".." would leave ROOT_FD). */
int open_beneath(int root_fd, const char *path, int flags);
