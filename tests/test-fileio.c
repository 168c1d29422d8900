/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fileio.c: atomic replacement, no temp file left, whole-file reads, reads
 * of files that only root can have written. */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macros.h"

static int failures;

#define CHECK(cond, ...)                                        \
        do {                                                    \
                if (cond)                                       \
                        printf("ok - %s\n", #cond);             \
                else {                                          \
                        fprintf(stderr, "FAIL: " __VA_ARGS__);  \
                        fprintf(stderr, " (%s)\n", #cond);      \
                        failures++;                             \
                }                                               \
        } while (0)

static int count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

int main(void) {
        char dir[] = "/tmp/vt-fileio.XXXXXX";
        _cleanup_free_ char *path = NULL, *sub = NULL, *data = NULL, *big = NULL;
        struct stat st;
        size_t size = 0;
        int r;

        if (!mkdtemp(dir))
                return EXIT_FAILURE;
        if (asprintf(&path, "%s/a.xml", dir) < 0 || asprintf(&sub, "%s/x/y/z", dir) < 0)
                return EXIT_FAILURE;

        r = write_file_atomic(path, "first\n", 0600);
        CHECK(r == 0, "write_file_atomic: %d", r);
        r = read_full_file(path, &data, &size);
        CHECK(r == 0 && size == 6 && streq(data, "first\n"), "read back '%s'", strna(data));
        data = (free(data), NULL);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "mode %o", st.st_mode & 07777);

        r = write_file_atomic(path, "second, longer\n", 0644);
        CHECK(r == 0, "rewrite: %d", r);
        r = read_full_file(path, &data, &size);
        CHECK(r == 0 && streq(data, "second, longer\n"), "read back '%s'", strna(data));
        data = (free(data), NULL);
        CHECK(count_entries(dir) == 1, "%d entries left in %s", count_entries(dir), dir);

        /* A file bigger than the first read buffer. */
        big = malloc(100001);
        memset(big, 'x', 100000);
        big[100000] = 0;
        CHECK(write_file_atomic(path, big, 0600) == 0, "big write");
        r = read_full_file(path, &data, &size);
        CHECK(r == 0 && size == 100000 && strlen(data) == 100000, "big read: %d %zu", r, size);
        data = (free(data), NULL);

        r = write_file_atomic("/nonexistent-dir/a.xml", "x", 0600);
        CHECK(r == -ENOENT, "write into a missing directory: %d", r);
        r = read_full_file("/nonexistent-dir/a.xml", &data, NULL);
        CHECK(r == -ENOENT, "read of a missing file: %d", r);

        CHECK(mkdir_p(sub, 0755) == 0 && stat(sub, &st) == 0 && S_ISDIR(st.st_mode), "mkdir_p %s", sub);
        CHECK(mkdir_p(sub, 0755) == 0, "mkdir_p twice");
        CHECK(mkdir_p("", 0755) == -EINVAL, "mkdir_p of an empty path refused (it read past the string)");

        /* read_root_file(): only what root alone can have written */
        {
                _cleanup_free_ char *link = NULL;
                if (asprintf(&link, "%s/link", dir) < 0 || symlink(path, link) < 0)
                        return EXIT_FAILURE;
                CHECK(chmod(path, 0600) == 0, "chmod 0600");
                r = read_root_file(path, &data, NULL);
                if (geteuid() == 0)
                        CHECK(r == 0 && data, "read_root_file of root's 0600 file: %d", r);
                else
                        CHECK(r == -EPERM, "read_root_file of a file not owned by root: %d", r);
                data = (free(data), NULL);
                r = read_root_file(link, &data, NULL);
                CHECK(r == -ELOOP, "read_root_file through a symlink: %d", r);
                CHECK(chmod(path, 0620) == 0, "chmod 0620");
                CHECK(read_root_file(path, &data, NULL) == -EPERM, "read_root_file of a group-writable file");
                CHECK(chmod(path, 0600) == 0 && chmod(dir, 0777) == 0, "chmod 0777 the directory");
                CHECK(read_root_file(path, &data, NULL) == -EPERM, "read_root_file in a directory others may write");
                CHECK(chmod(dir, 0700) == 0, "chmod 0700 the directory");
                CHECK(read_root_file(dir, &data, NULL) < 0, "read_root_file of a directory");
                (void) unlink(link);
        }

        (void) unlink(path);
        (void) rmdir(sub);
        *strrchr(sub, '/') = 0;
        (void) rmdir(sub);
        *strrchr(sub, '/') = 0;
        (void) rmdir(sub);
        (void) rmdir(dir);

        printf("%s\n", failures ? "FAILED" : "all passed");
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
