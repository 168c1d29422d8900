/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vivarium-import: an OCI image (layout directory or archive) or a
 * docker-archive tar to a private root directory and the domain XML that
 * runs it. Run as "vivctl import" (src/ctl/ctl-import.c), or directly.
 *
 * All or nothing: everything is unpacked in a hidden staging directory next
 * to TARGET and renamed onto TARGET at the end (RENAME_NOREPLACE), so a
 * refused or broken image leaves no TARGET and no staging directory. Kept
 * apart from vivctl so that vivctl, on the way of every container start,
 * links neither libarchive nor json-c. */

#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "image-oci.h"
#include "image-unpack.h"
#include "remove-tree.h"
#include "macros.h"
#include "xml-text.h"

typedef struct Args {
        const char *source, *target, *name, *ref, *xml;
        uid_t id_shift;
        bool quiet;
} Args;

/* The staging directory, removed on any failure. */
typedef struct Staging {
        int parent_fd;
        char name[NAME_MAX + 1];
} Staging;

static void staging_cleanup(Staging *s) {
        if (s->parent_fd >= 0 && s->name[0])
                (void) remove_tree_at(s->parent_fd, s->name);
        safe_close(s->parent_fd);
}

/* The image's command may be a bare name, which OCI runtimes look up in the
 * image's PATH; the helper execs a path. Looked up inside the root
 * (RESOLVE_IN_ROOT: the image's absolute symlinks mean its own files). */
static char *resolve_command(int root_fd, const char *cmd, char **env) {
        const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        if (strchr(cmd, '/'))
                return strdup(cmd);
        for (char **e = env; e && *e; e++)
                if (startswith(*e, "PATH="))
                        path = *e + 5;
        for (const char *p = path; *p;) {
                const char *end = strchrnul(p, ':');
                _cleanup_free_ char *candidate = NULL;

                if (end > p && p[0] == '/' &&
                    asprintf(&candidate, "%.*s/%s", (int) (end - p), p, cmd) >= 0) {
                        struct open_how how = {
                                .flags = O_PATH | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                        };
                        long fd = syscall(SYS_openat2, root_fd, candidate, &how, sizeof(how));
                        if (fd >= 0) {
                                close((int) fd);
                                return TAKE_PTR(candidate);
                        }
                }
                p = *end ? end + 1 : end;
        }
        return NULL;
}

static int write_xml(const Args *a, const char *root, int root_fd, const Image *image) {
        _cleanup_free_ char *buf = NULL, *init = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &size);
        const ImageConfig *c = &image->config;
        char **args[2] = { c->entrypoint, c->cmd };
        bool first = true;

        if (!f)
                return -ENOMEM;
        fprintf(f, "<domain type='lxc'>\n");
        xml_element(f, "  ", "name", a->name);
        fprintf(f, "  <os>\n    <type>exe</type>\n");
        /* Entrypoint then Cmd: image-spec config.md's rule, as runc-based engines apply it. */
        for (size_t k = 0; k < ELEMENTSOF(args); k++)
                for (char **s = args[k]; s && *s; s++) {
                        if (first) {
                                init = resolve_command(root_fd, *s, c->env);
                                if (!init) {
                                        fprintf(stderr, "error: the image's command '%s' is not found in its PATH\n", *s);
                                        return -ENOENT;
                                }
                                xml_element(f, "    ", "init", init);
                                first = false;
                        } else
                                xml_element(f, "    ", "initarg", *s);
                }
        if (first && !a->quiet)
                fprintf(stderr, "warning: the image names no command (Entrypoint, Cmd): add <init> to the XML\n");
        for (char **e = c->env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq || eq == *e) {
                        fprintf(stderr, "error: the image's config.Env entry '%s' is not NAME=VALUE\n", *e);
                        return -EBADMSG;
                }
                fprintf(f, "    <initenv name='");
                _cleanup_free_ char *name = strndup(*e, (size_t) (eq - *e));
                if (!name)
                        return -ENOMEM;
                xml_text(f, name);
                fprintf(f, "'>");
                xml_text(f, eq + 1);
                fprintf(f, "</initenv>\n");
        }
        if (c->workdir)
                xml_element(f, "    ", "initdir", c->workdir);
        if (c->user) {
                /* "user:group" is two elements; each a name or a number, which
                 * the helper resolves in the container's /etc/passwd and group. */
                _cleanup_free_ char *user = strdup(c->user);
                if (!user)
                        return -ENOMEM;
                char *group = strchr(user, ':');
                if (group)
                        *group++ = 0;
                if (*user)
                        xml_element(f, "    ", "inituser", user);
                if (group && *group)
                        xml_element(f, "    ", "initgroup", group);
        }
        fprintf(f, "  </os>\n  <devices>\n    <filesystem type='mount'>\n      <source dir='");
        xml_text(f, root);
        fprintf(f, "'/>\n      <target dir='/'/>\n    </filesystem>\n    <console type='pty'/>\n  </devices>\n</domain>\n");
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;

        if (!a->xml)
                return fputs(buf, stdout) < 0 ? -EIO : 0;
        int r = write_file_atomic(a->xml, buf, 0644);
        if (r < 0)
                fprintf(stderr, "error: Failed to write '%s': %s\n", a->xml, strerror(-r));
        return r;
}

/* "entry 'NAME': REASON", or "its first header: REASON" when no entry was read. */
static void print_refusal(const char *what, const UnpackReport *report) {
        if (report->entry[0])
                fprintf(stderr, "error: %s: entry '%s': %s\n", what, report->entry, report->reason);
        else
                fprintf(stderr, "error: %s: its first header: %s\n", what, report->reason);
}

/* Opens the image: a directory as it is, a file unpacked (as plain files,
 * beneath the staging directory) first. */
static int open_image(const Args *a, int staging_fd, int *ret) {
        _cleanup_close_ int src = open(a->source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        int r;

        if (src < 0 || fstat(src, &st) < 0) {
                fprintf(stderr, "error: Failed to open image '%s': %m\n", a->source);
                return -errno;
        }
        if (S_ISDIR(st.st_mode)) {
                *ret = TAKE_FD(src);
                return 0;
        }
        if (!S_ISREG(st.st_mode)) {
                fprintf(stderr, "error: image '%s' is neither a directory nor an archive file\n", a->source);
                return -EINVAL;
        }
        if (mkdirat(staging_fd, "image", 0700) < 0)
                return -errno;
        _cleanup_close_ int dir = openat(staging_fd, "image", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        UnpackReport report = {};
        UnpackOptions o = { .mode = UNPACK_PLAIN };
        r = unpack_tar(dir, src, &o, &report);
        if (r < 0) {
                _cleanup_free_ char *what = NULL;
                if (asprintf(&what, "Failed to read image archive '%s'", a->source) < 0)
                        return -ENOMEM;
                print_refusal(what, &report);
                return r;
        }
        *ret = TAKE_FD(dir);
        return 0;
}

static int import(const Args *a) {
        _cleanup_(staging_cleanup) Staging staging = { .parent_fd = -EBADF };
        _cleanup_free_ char *target_copy = strdup(a->target), *parent_copy = strdup(a->target), *root = NULL;
        _cleanup_close_ int staging_fd = -EBADF, image_fd = -EBADF, root_fd = -EBADF;
        _cleanup_(image_done) Image image = {};
        UnpackReport total = {};
        char err[1024] = "";
        struct stat st;
        int r;

        if (!target_copy || !parent_copy)
                return -ENOMEM;
        const char *base = basename(target_copy), *parent = dirname(parent_copy);
        if (!*base || streq(base, "/") || streq(base, ".") || streq(base, "..")) {
                fprintf(stderr, "error: '%s' does not name a directory to create\n", a->target);
                return -EINVAL;
        }
        if (lstat(a->target, &st) >= 0) {
                fprintf(stderr, "error: '%s' exists already: import makes a new root\n", a->target);
                return -EEXIST;
        }
        root = realpath(parent, NULL);
        if (!root && errno == ENOENT) {
                /* Roots hold the image's setuid files: a new parent is root's alone. */
                r = mkdir_p(parent, 0700);
                if (r < 0) {
                        fprintf(stderr, "error: Failed to create '%s': %s\n", parent, strerror(-r));
                        return r;
                }
                root = realpath(parent, NULL);
        }
        if (!root) {
                fprintf(stderr, "error: Failed to resolve '%s': %m\n", parent);
                return -errno;
        }
        free(root);
        root = NULL;
        {
                _cleanup_free_ char *abs_parent = realpath(parent, NULL);
                if (!abs_parent || asprintf(&root, "%s/%s", streq(abs_parent, "/") ? "" : abs_parent, base) < 0)
                        return -ENOMEM;
        }

        staging.parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (staging.parent_fd < 0) {
                fprintf(stderr, "error: Failed to open '%s': %m\n", parent);
                return -errno;
        }
        for (unsigned i = 0;; i++) {
                snprintf(staging.name, sizeof(staging.name), ".%.200s.import-%d-%u", base, (int) getpid(), i);
                if (mkdirat(staging.parent_fd, staging.name, 0700) >= 0)
                        break;
                if (errno != EEXIST || i > 100) {
                        r = -errno;
                        staging.name[0] = 0;
                        fprintf(stderr, "error: Failed to create a staging directory in '%s': %s\n", parent, strerror(-r));
                        return r;
                }
        }
        staging_fd = openat(staging.parent_fd, staging.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (staging_fd < 0 || mkdirat(staging_fd, "root", 0700) < 0)
                return -errno;
        root_fd = openat(staging_fd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;

        r = open_image(a, staging_fd, &image_fd);
        if (r < 0)
                return r;
        r = image_read(image_fd, a->ref, &image, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "error: Failed to read image '%s': %s\n", a->source, err);
                return r;
        }

        size_t n_layers = 0;
        for (char **l = image.layers; *l; l++, n_layers++) {
                _cleanup_close_ int fd = open_beneath(image_fd, *l, O_RDONLY | O_NOCTTY);
                UnpackReport report = {};
                UnpackOptions o = { .mode = UNPACK_LAYER, .id_shift = a->id_shift };

                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        r = fd < 0 ? fd : -EBADMSG;
                        fprintf(stderr, "error: Failed to open layer %zu '%s' of image '%s': %s\n", n_layers + 1, *l,
                                a->source, r == -EXDEV ? "it leads out of the image" : strerror(-r));
                        return r;
                }
                r = unpack_tar(root_fd, fd, &o, &report);
                if (r < 0) {
                        _cleanup_free_ char *what = NULL;
                        if (asprintf(&what, "Refused layer %zu '%s' of image '%s'", n_layers + 1, *l, a->source) < 0)
                                return -ENOMEM;
                        print_refusal(what, &report);
                        return r;
                }
                total.n_entries += report.n_entries;
                total.n_devices_skipped += report.n_devices_skipped;
                total.n_setid += report.n_setid;
                total.n_whiteouts += report.n_whiteouts;
        }

        /* The root directory itself: the container's "/", readable by it. */
        if (fchown(root_fd, a->id_shift, a->id_shift) < 0 || fchmod(root_fd, 0755) < 0)
                return -errno;

        r = write_xml(a, root, root_fd, &image);
        if (r < 0)
                return r;

        if (renameat2(staging_fd, "root", staging.parent_fd, base, RENAME_NOREPLACE) < 0) {
                r = -errno;
                fprintf(stderr, "error: Failed to move the root to '%s': %s\n", a->target, strerror(-r));
                return r;
        }
        if (!a->quiet) {
                fprintf(stderr, "Imported %s image '%s' into '%s': %zu layers, %lu entries, %lu whiteouts\n",
                        image.format, a->source, root, n_layers, total.n_entries, total.n_whiteouts);
                if (total.n_devices_skipped > 0)
                        fprintf(stderr, "note: %lu device nodes and sockets were not created\n", total.n_devices_skipped);
                if (total.n_setid > 0)
                        fprintf(stderr, "note: %lu setuid or setgid files: keep '%s' where only root can enter\n",
                                total.n_setid, parent);
        }
        return 0;
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: vivctl import [OPTIONS] IMAGE TARGET\n"
                "Unpacks IMAGE (an OCI image layout directory or archive, or a docker-archive\n"
                "tar) into the new directory TARGET and prints a domain XML that runs it.\n"
                "\n"
                "  --name NAME      the domain's name (default: TARGET's base name)\n"
                "  --ref REF        the image to take from a layout or archive holding several\n"
                "  --xml FILE       write the XML to FILE instead of standard output\n"
                "  --id-shift ID    add ID to every owner (for an <idmap> without idmapped mounts)\n"
                "  -q, --quiet      no summary\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "name",     required_argument, NULL, 'n' },
                { "ref",      required_argument, NULL, 'r' },
                { "xml",      required_argument, NULL, 'x' },
                { "id-shift", required_argument, NULL, 's' },
                { "quiet",    no_argument,       NULL, 'q' },
                { "help",     no_argument,       NULL, 'h' },
                {}
        };
        Args a = {};
        int opt;

        while ((opt = getopt_long(argc, argv, "qh", options, NULL)) >= 0)
                switch (opt) {
                case 'n': a.name = optarg; break;
                case 'r': a.ref = optarg; break;
                case 'x': a.xml = optarg; break;
                case 'q': a.quiet = true; break;
                case 's': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || v > UINT32_MAX - 65536) {
                                fprintf(stderr, "error: --id-shift '%s' is not a host ID\n", optarg);
                                return 1;
                        }
                        a.id_shift = (uid_t) v;
                        break;
                }
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 1;
                }
        if (argc - optind != 2) {
                usage(stderr);
                return 1;
        }
        a.source = argv[optind];
        a.target = argv[optind + 1];
        _cleanup_free_ char *t = strdup(a.target);
        if (!t)
                return 1;
        if (!a.name)
                a.name = basename(t);
        return import(&a) < 0 ? 1 : 0;
}
