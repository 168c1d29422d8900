/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Safe unpacking of image layers (image-unpack.h).
 *
 * The archive is hostile until proven otherwise: it was made by whoever
 * built the image. What this file protects against, entry by entry:
 *  - names that leave the root: absolute names and ".." components are
 *    refused outright; every parent directory is opened beneath the root
 *    with openat2(RESOLVE_BENEATH), so a symlink on the way (one this archive
 *    made a few entries before, or one of a lower layer) that points out,
 *    absolutely or by "..", fails with EXDEV instead of being followed;
 *  - the last component is never followed: what is there is removed and the
 *    entry created with O_EXCL / symlinkat / mkdirat / linkat without
 *    AT_SYMLINK_FOLLOW, so a symlink planted under the entry's name cannot
 *    redirect the write;
 *  - hard links whose target is outside, or a directory: the target is
 *    resolved beneath the root like any name;
 *  - device nodes: never created (the container's /dev is the helper's);
 *  - oversized names and link targets: refused at PATH_MAX.
 * Owners are kept (plus the caller's shift), so is the mode, setuid bits
 * included: the caller keeps the root where only root can reach it. */

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image-unpack.h"
#include "remove-tree.h"
#include "macros.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

static inline void archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static int refuse(UnpackReport *report, const char *entry, int r, const char *fmt, ...) _printf_(4, 5);
static int refuse(UnpackReport *report, const char *entry, int r, const char *fmt, ...) {
        va_list ap;

        snprintf(report->entry, sizeof(report->entry), "%s", strempty(entry));
        va_start(ap, fmt);
        vsnprintf(report->reason, sizeof(report->reason), fmt, ap);
        va_end(ap);
        return r;
}

int open_beneath(int root_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        long fd;

        fd = syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
        return fd < 0 ? negative_errno() : (int) fd;
}

/* The entry's name made relative and canonical ("./a//b/" -> "a/b") in BUF;
 * "" is the root itself. Absolute names and ".." are refused here, before
 * any file system call, so that the message says what is wrong. */
static int normalize_name(const char *name, char *buf, size_t size, const char **ret_why) {
        size_t n = 0;
        const char *p = name;

        if (*p == '/') {
                *ret_why = "absolute path";
                return -EPERM;
        }
        while (*p) {
                const char *end = strchrnul(p, '/');
                size_t len = (size_t) (end - p);

                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        *ret_why = "path contains '..'";
                        return -EPERM;
                }
                if (len > 0 && !(len == 1 && p[0] == '.')) {
                        if (n + len + 2 > size) {
                                *ret_why = "path too long";
                                return -ENAMETOOLONG;
                        }
                        if (n > 0)
                                buf[n++] = '/';
                        memcpy(buf + n, p, len);
                        n += len;
                }
                p = *end ? end + 1 : end;
        }
        buf[n] = 0;
        return 0;
}

/* Splits "a/b/c" into the parent "a/b" (in place) and the base "c". A name
 * without a slash is shifted by one to make the parent "": PATH needs one
 * byte more than its string (SPLIT_PARENT_EXTRA). */
#define SPLIT_PARENT_EXTRA 1
static const char *split_parent(char *path) {
        char *slash = strrchr(path, '/');

        if (!slash) {
                memmove(path + 1, path, strlen(path) + 1);
                path[0] = 0;
                return path + 1;
        }
        *slash = 0;
        return slash + 1;
}

static const char *resolve_error(int r) {
        switch (r) {
        case -EXDEV:
                return "a symlink on its path leads out of the image";
        case -ELOOP:
                return "too many levels of symbolic links on its path";
        case -ENOTDIR:
                return "a component of its path is not a directory";
        default:
                return NULL;
        }
}

/* Opens the directory PATH beneath ROOT_FD, making missing components
 * (0755, root's) as tar does for entries whose directories it has not seen. */
static int open_dir_creating(int root_fd, const char *path) {
        char prefix[PATH_MAX];
        int fd;

        fd = open_beneath(root_fd, path, O_PATH | O_DIRECTORY);
        if (fd != -ENOENT)
                return fd;

        /* Walk down: open each prefix beneath the root, create what is missing. */
        for (const char *p = path;;) {
                const char *end = strchrnul(p, '/');
                size_t len = (size_t) (end - path);

                if (len >= sizeof(prefix))
                        return -ENAMETOOLONG;
                memcpy(prefix, path, len);
                prefix[len] = 0;

                _cleanup_close_ int d = open_beneath(root_fd, prefix, O_PATH | O_DIRECTORY);
                if (d == -ENOENT) {
                        char *parent_path = malloc(len + 1 + SPLIT_PARENT_EXTRA);
                        if (!parent_path)
                                return -ENOMEM;
                        memcpy(parent_path, prefix, len + 1);
                        const char *base = split_parent(parent_path);
                        _cleanup_close_ int parent = open_beneath(root_fd, parent_path, O_PATH | O_DIRECTORY);
                        int r = parent < 0 ? parent : RET_NERRNO(mkdirat(parent, base, 0755));
                        free(parent_path);
                        if (r < 0 && r != -EEXIST)
                                return r;
                } else if (d < 0)
                        return d;
                if (!*end)
                        break;
                p = end + 1;
        }
        return open_beneath(root_fd, path, O_PATH | O_DIRECTORY);
}

typedef struct Entry {
        const char *name;       /* as in the archive, for messages */
        char path[PATH_MAX];    /* normalized */
        struct archive_entry *ae;
} Entry;

static int apply_whiteout(int root_fd, Entry *e, const char *base, const char *parent, UnpackReport *report) {
        _cleanup_close_ int dir = open_beneath(root_fd, parent, O_PATH | O_DIRECTORY);
        int r;

        if (dir == -ENOENT)
                return 0; /* nothing below to hide */
        if (dir < 0)
                return refuse(report, e->name, dir == -EXDEV ? -EPERM : dir, "%s",
                              resolve_error(dir) ?: strerror(-dir));

        report->n_whiteouts++;
        if (streq(base, WHITEOUT_OPAQUE)) {
                _cleanup_close_ int rd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = rd < 0 ? -errno : empty_dir(rd);
        } else {
                const char *victim = base + strlen(WHITEOUT_PREFIX);
                if (!*victim || streq(victim, ".") || streq(victim, ".."))
                        return refuse(report, e->name, -EPERM, "whiteout of '%s'", victim);
                _cleanup_close_ int rd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = rd < 0 ? -errno : remove_tree_at(rd, victim);
        }
        if (r < 0)
                return refuse(report, e->name, r, "cannot apply the whiteout: %s", strerror(-r));
        return 0;
}

static int copy_data(struct archive *a, int fd, const char *name, UnpackReport *report) {
        const void *buf;
        size_t size;
        la_int64_t offset;

        for (;;) {
                int r = archive_read_data_block(a, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return refuse(report, name, -EBADMSG, "%s", archive_error_string(a) ?: "unreadable data");
                for (size_t done = 0; done < size;) {
                        ssize_t n = pwrite(fd, (const char *) buf + done, size - done, offset + (off_t) done);
                        if (n < 0)
                                return refuse(report, name, -errno, "cannot write: %m");
                        done += (size_t) n;
                }
        }
        /* A sparse file's trailing hole leaves no block to write: the caller
         * sizes the file from the header. */
        return 0;
}

/* Owners, mode and times of what was just made, never through a symlink. */
static int set_attributes(int dir_fd, const char *base, int fd, const Entry *e, const UnpackOptions *o,
                          bool is_symlink, UnpackReport *report) {
        struct archive_entry *ae = e->ae;
        uid_t uid = o->mode == UNPACK_PLAIN ? 0 : (uid_t) archive_entry_uid(ae) + o->id_shift;
        gid_t gid = o->mode == UNPACK_PLAIN ? 0 : (gid_t) archive_entry_gid(ae) + o->id_shift;
        mode_t mode = archive_entry_perm(ae) & 07777;
        struct timespec ts[2] = {
                { .tv_sec = archive_entry_mtime(ae), .tv_nsec = archive_entry_mtime_nsec(ae) },
                { .tv_sec = archive_entry_mtime(ae), .tv_nsec = archive_entry_mtime_nsec(ae) },
        };
        int r;

        if (o->mode == UNPACK_PLAIN)
                mode &= 0777;
        /* chown first: it clears setuid and setgid bits that chmod then sets. */
        r = fd >= 0 ? RET_NERRNO(fchown(fd, uid, gid))
                    : RET_NERRNO(fchownat(dir_fd, base, uid, gid, AT_SYMLINK_NOFOLLOW));
        if (r < 0)
                return refuse(report, e->name, r, "cannot set its owner %u:%u: %s", uid, gid, strerror(-r));
        if (!is_symlink) {
                r = fd >= 0 ? RET_NERRNO(fchmod(fd, mode)) : RET_NERRNO(fchmodat(dir_fd, base, mode, 0));
                if (r < 0)
                        return refuse(report, e->name, r, "cannot set its mode: %s", strerror(-r));
                if (mode & (S_ISUID | S_ISGID))
                        report->n_setid++;
        }
        r = fd >= 0 ? RET_NERRNO(futimens(fd, ts)) : RET_NERRNO(utimensat(dir_fd, base, ts, AT_SYMLINK_NOFOLLOW));
        if (r < 0)
                return refuse(report, e->name, r, "cannot set its times: %s", strerror(-r));
        return 0;
}

static int make_hardlink(int root_fd, int dir_fd, const char *base, Entry *e, UnpackReport *report) {
        char target[PATH_MAX + SPLIT_PARENT_EXTRA];
        const char *why = NULL;
        struct stat st;
        int r;

        r = normalize_name(archive_entry_hardlink(e->ae), target, sizeof(target) - SPLIT_PARENT_EXTRA, &why);
        if (r < 0)
                return refuse(report, e->name, r, "hard link target '%s': %s", archive_entry_hardlink(e->ae), why);
        if (streq(target, e->path))
                return 0;
        const char *tbase = split_parent(target);
        _cleanup_close_ int tdir = open_beneath(root_fd, target, O_PATH | O_DIRECTORY);
        if (tdir < 0)
                return refuse(report, e->name, tdir == -EXDEV ? -EPERM : tdir, "hard link target '%s': %s",
                              archive_entry_hardlink(e->ae), resolve_error(tdir) ?: strerror(-tdir));
        if (fstatat(tdir, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return refuse(report, e->name, -errno, "hard link target '%s': %m", archive_entry_hardlink(e->ae));
        if (S_ISDIR(st.st_mode))
                return refuse(report, e->name, -EPERM, "hard link to the directory '%s'", archive_entry_hardlink(e->ae));
        r = remove_tree_at(dir_fd, base);
        if (r < 0)
                return refuse(report, e->name, r, "cannot replace it: %s", strerror(-r));
        /* flags 0: a symlink target is linked itself, never followed. */
        if (linkat(tdir, tbase, dir_fd, base, 0) < 0)
                return refuse(report, e->name, -errno, "cannot link it: %m");
        return 0;
}

static int make_entry(struct archive *a, int root_fd, Entry *e, const UnpackOptions *o, UnpackReport *report) {
        char parent_buf[PATH_MAX + SPLIT_PARENT_EXTRA];
        mode_t type = archive_entry_filetype(e->ae);
        const char *hardlink = archive_entry_hardlink(e->ae);
        _cleanup_close_ int dir = -EBADF, fd = -EBADF;
        struct stat st;
        int r;

        if (!*e->path) {
                /* "./": the root itself, whose mode and owner the caller sets. */
                return 0;
        }
        if (!hardlink && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK)) {
                report->n_devices_skipped++;
                return 0;
        }

        memcpy(parent_buf, e->path, sizeof(e->path));
        const char *base = split_parent(parent_buf);
        dir = open_dir_creating(root_fd, parent_buf);
        if (dir < 0)
                return refuse(report, e->name, dir == -EXDEV ? -EPERM : dir, "%s",
                              resolve_error(dir) ?: strerror(-dir));

        if (hardlink)
                return make_hardlink(root_fd, dir, base, e, report);

        bool exists = fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) >= 0;
        if (exists && !(type == AE_IFDIR && S_ISDIR(st.st_mode))) {
                r = remove_tree_at(dir, base);
                if (r < 0)
                        return refuse(report, e->name, r, "cannot replace it: %s", strerror(-r));
        }

        switch (type) {
        case AE_IFDIR:
                if (!(exists && S_ISDIR(st.st_mode)) && mkdirat(dir, base, 0700) < 0)
                        return refuse(report, e->name, -errno, "cannot make the directory: %m");
                fd = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return refuse(report, e->name, -errno, "cannot open the directory: %m");
                return set_attributes(dir, base, fd, e, o, false, report);

        case AE_IFREG:
                fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return refuse(report, e->name, -errno, "cannot create the file: %m");
                r = copy_data(a, fd, e->name, report);
                if (r < 0)
                        return r;
                if (ftruncate(fd, archive_entry_size(e->ae)) < 0)
                        return refuse(report, e->name, -errno, "cannot size the file: %m");
                return set_attributes(dir, base, fd, e, o, false, report);

        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e->ae);
                if (!target || !*target || strlen(target) >= PATH_MAX)
                        return refuse(report, e->name, -EBADMSG, "symlink without a valid target");
                /* Made, never followed here: an absolute target means the
                 * container's own file, and any later entry through it is
                 * resolved beneath the root. */
                if (symlinkat(target, dir, base) < 0)
                        return refuse(report, e->name, -errno, "cannot make the symlink: %m");
                return set_attributes(dir, base, -EBADF, e, o, true, report);
        }

        case AE_IFIFO:
                if (mknodat(dir, base, S_IFIFO | 0600, 0) < 0)
                        return refuse(report, e->name, -errno, "cannot make the fifo: %m");
                return set_attributes(dir, base, -EBADF, e, o, false, report);

        default:
                return refuse(report, e->name, -EBADMSG, "unknown entry type 0%o", (unsigned) type);
        }
}

static int open_archive(int archive_fd, struct archive **ret) {
        _cleanup_(archive_freep) struct archive *a = archive_read_new();

        if (!a)
                return -ENOMEM;
        if (lseek(archive_fd, 0, SEEK_SET) < 0)
                return -errno;
        /* Only in-process decompressors and tar: archive_read_support_filter_all()
         * would also run external programs on hostile input. zstd may fall back
         * to the zstd program where libarchive lacks libzstd (ARCHIVE_WARN). */
        if (archive_read_support_filter_gzip(a) < ARCHIVE_WARN ||
            archive_read_support_filter_bzip2(a) < ARCHIVE_WARN ||
            archive_read_support_filter_xz(a) < ARCHIVE_WARN ||
            archive_read_support_filter_zstd(a) < ARCHIVE_WARN ||
            archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_open_fd(a, archive_fd, 64 * 1024) != ARCHIVE_OK)
                return -EBADMSG;
        *ret = TAKE_PTR(a);
        return 0;
}

/* One pass over the archive: whiteouts only (WHITEOUTS) or everything else. */
static int unpack_pass(int root_fd, int archive_fd, const UnpackOptions *o, bool whiteouts, UnpackReport *report) {
        _cleanup_(archive_freep) struct archive *a = NULL;
        Entry e = {};
        char prev[PATH_MAX] = "";
        int r;

        r = open_archive(archive_fd, &a);
        if (r < 0)
                return refuse(report, "", r, "%s", a ? archive_error_string(a) : "not a tar archive");

        for (;;) {
                const char *why = NULL;

                r = archive_read_next_header(a, &e.ae);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        /* The header that failed has no name: name the entry before it. */
                        return refuse(report, prev, -EBADMSG, "%s%s", *prev ? "the header after it: " : "",
                                      archive_error_string(a) ?: "malformed header");
                e.name = archive_entry_pathname(e.ae);
                if (!e.name)
                        return refuse(report, "(unnamed)", -EBADMSG, "entry without a name");
                if (strlen(e.name) >= PATH_MAX)
                        return refuse(report, e.name, -ENAMETOOLONG, "name longer than %d bytes", PATH_MAX - 1);
                r = normalize_name(e.name, e.path, sizeof(e.path), &why);
                if (r < 0)
                        return refuse(report, e.name, r, "%s", why);

                char parent[PATH_MAX + SPLIT_PARENT_EXTRA];
                memcpy(parent, e.path, sizeof(e.path));
                const char *base = split_parent(parent);
                bool is_whiteout = o->mode == UNPACK_LAYER &&
                                   strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0;

                snprintf(prev, sizeof(prev), "%s", e.name);
                if (whiteouts != is_whiteout)
                        continue;
                if (!whiteouts)
                        report->n_entries++;
                r = is_whiteout ? apply_whiteout(root_fd, &e, base, parent, report)
                                : make_entry(a, root_fd, &e, o, report);
                if (r < 0)
                        return r;
        }
}

int unpack_tar(int root_fd, int archive_fd, const UnpackOptions *o, UnpackReport *report) {
        int r;

        if (o->mode == UNPACK_LAYER) {
                r = unpack_pass(root_fd, archive_fd, o, true, report);
                if (r < 0)
                        return r;
        }
        return unpack_pass(root_fd, archive_fd, o, false, report);
}
