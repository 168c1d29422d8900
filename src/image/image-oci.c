/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading an image's manifests and config (image-oci.h). The files come from
 * the image, so they are hostile like its layers: every path they name is
 * opened beneath the image directory, a digest must look like one before it
 * becomes a path, and JSON files are read up to a bound. */

#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "image-oci.h"
#include "image-unpack.h"
#include "macros.h"

/* A manifest or config of several MiB is already absurd. */
#define JSON_MAX (16u * 1024 * 1024)

static inline void json_object_putp(struct json_object **j) {
        if (*j)
                json_object_put(*j);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

static int fail(char *err, size_t size, int r, const char *fmt, ...) _printf_(4, 5);
static int fail(char *err, size_t size, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
        return r;
}

void image_done(Image *image) {
        strv_free(image->layers);
        strv_free(image->config.entrypoint);
        strv_free(image->config.cmd);
        strv_free(image->config.env);
        free(image->config.workdir);
        free(image->config.user);
        free(image->format);
        *image = (Image) {};
}

static int read_json(int dir_fd, const char *path, struct json_object **ret, char *err, size_t size) {
        _cleanup_close_ int fd = open_beneath(dir_fd, path, O_RDONLY | O_NOCTTY);
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        if (fd < 0)
                return fail(err, size, fd, "cannot open '%s': %s", path,
                            fd == -EXDEV ? "it leads out of the image" : strerror(-fd));
        if (fstat(fd, &st) < 0)
                return fail(err, size, -errno, "cannot stat '%s': %m", path);
        if (!S_ISREG(st.st_mode) || (size_t) st.st_size > JSON_MAX)
                return fail(err, size, -EBADMSG, "'%s' is not a regular file of at most %u bytes", path, JSON_MAX);
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);
                if (k < 0)
                        return fail(err, size, -errno, "cannot read '%s': %m", path);
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;

        enum json_tokener_error jerr;
        struct json_object *j = json_tokener_parse_verbose(buf, &jerr);
        if (!j)
                return fail(err, size, -EBADMSG, "'%s' is not valid JSON: %s", path, json_tokener_error_desc(jerr));
        *ret = j;
        return 0;
}

static struct json_object *get(struct json_object *o, const char *key, json_type type) {
        struct json_object *v;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return json_object_is_type(v, type) ? v : NULL;
}

static const char *get_string(struct json_object *o, const char *key) {
        struct json_object *v = get(o, key, json_type_string);
        return v ? json_object_get_string(v) : NULL;
}

/* "ALG:HEX" -> "blobs/ALG/HEX", after checking both look like what
 * image-spec descriptor.md allows: no '/', no "..", nothing to escape with. */
static int digest_to_path(const char *digest, char **ret) {
        const char *colon = digest ? strchr(digest, ':') : NULL;

        if (!colon || colon == digest || !colon[1])
                return -EINVAL;
        for (const char *p = digest; p < colon; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+._-", *p))
                        return -EINVAL;
        for (const char *p = colon + 1; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_-", *p))
                        return -EINVAL;
        return asprintf(ret, "blobs/%.*s/%s", (int) (colon - digest), digest, colon + 1) < 0 ? -ENOMEM : 0;
}

static int strv_from_json(struct json_object *array, const char *file, const char *field, char ***ret,
                          char *err, size_t size) {
        size_t n;
        _cleanup_strv_free_ char **l = NULL;

        *ret = NULL;
        if (!array)
                return 0;
        n = json_object_array_length(array);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *s = json_object_array_get_idx(array, i);
                if (!json_object_is_type(s, json_type_string))
                        return fail(err, size, -EBADMSG, "'%s': %s[%zu] is not a string", file, field, i);
                l[i] = strdup(json_object_get_string(s));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_config(int dir_fd, const char *path, ImageConfig *c, char *err, size_t size) {
        _cleanup_json_ struct json_object *j = NULL;
        struct json_object *cfg;
        const char *s;
        int r;

        r = read_json(dir_fd, path, &j, err, size);
        if (r < 0)
                return r;
        s = get_string(j, "os");
        if (s && !streq(s, "linux"))
                return fail(err, size, -EOPNOTSUPP, "'%s': the image is for os '%s', not linux", path, s);
        cfg = get(j, "config", json_type_object);
        if (!cfg)
                return 0; /* no config: nothing to run by default */

        r = strv_from_json(get(cfg, "Entrypoint", json_type_array), path, "config.Entrypoint", &c->entrypoint, err, size);
        if (r >= 0)
                r = strv_from_json(get(cfg, "Cmd", json_type_array), path, "config.Cmd", &c->cmd, err, size);
        if (r >= 0)
                r = strv_from_json(get(cfg, "Env", json_type_array), path, "config.Env", &c->env, err, size);
        if (r < 0)
                return r;
        if ((s = get_string(cfg, "WorkingDir")) && *s && !(c->workdir = strdup(s)))
                return -ENOMEM;
        if ((s = get_string(cfg, "User")) && *s && !(c->user = strdup(s)))
                return -ENOMEM;
        return 0;
}

static bool media_type_is_index(const char *t) {
        return t && (streq(t, "application/vnd.oci.image.index.v1+json") ||
                     streq(t, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

static bool platform_is_host(struct json_object *desc) {
        struct json_object *p = get(desc, "platform", json_type_object);
        const char *os = get_string(p, "os"), *arch = get_string(p, "architecture");

        return os && arch && streq(os, "linux") && streq(arch, "amd64");
}

/* The descriptor of index.json (or of a nested index) that REF names. */
static int pick_manifest(struct json_object *index, const char *file, const char *ref, struct json_object **ret,
                         char *err, size_t size) {
        struct json_object *list = get(index, "manifests", json_type_array);
        size_t n = list ? json_object_array_length(list) : 0;
        struct json_object *host = NULL;

        if (n == 0)
                return fail(err, size, -EBADMSG, "'%s' lists no manifests", file);
        for (size_t i = 0; i < n; i++) {
                struct json_object *d = json_object_array_get_idx(list, i);
                const char *name = get_string(get(d, "annotations", json_type_object),
                                              "org.opencontainers.image.ref.name");
                if (ref && name && streq(name, ref)) {
                        *ret = d;
                        return 0;
                }
                if (!host && platform_is_host(d))
                        host = d;
        }
        if (ref)
                return fail(err, size, -ENOENT, "'%s' has no manifest named '%s' (org.opencontainers.image.ref.name)",
                            file, ref);
        if (n == 1) {
                *ret = json_object_array_get_idx(list, 0);
                return 0;
        }
        if (host) {
                *ret = host;
                return 0;
        }
        return fail(err, size, -ENOENT, "'%s' lists %zu manifests and none for linux/amd64: name one with --ref", file, n);
}

static int read_oci(int dir_fd, const char *ref, Image *image, char *err, size_t size) {
        _cleanup_json_ struct json_object *index = NULL, *manifest = NULL;
        _cleanup_free_ char *path = NULL;
        struct json_object *desc = NULL;
        int r;

        r = read_json(dir_fd, "index.json", &index, err, size);
        if (r < 0)
                return r;
        r = pick_manifest(index, "index.json", ref, &desc, err, size);
        if (r < 0)
                return r;

        /* An index of indexes is allowed; a few levels are plenty. */
        for (unsigned depth = 0;; depth++) {
                const char *digest = get_string(desc, "digest");

                free(path);
                path = NULL;
                if (digest_to_path(digest, &path) < 0)
                        return fail(err, size, -EBADMSG, "invalid digest '%s' in the image's index", strna(digest));
                bool nested = media_type_is_index(get_string(desc, "mediaType"));
                json_object_putp(&manifest);
                manifest = NULL;
                r = read_json(dir_fd, path, &manifest, err, size);
                if (r < 0)
                        return r;
                if (!nested)
                        break;
                if (depth >= 4)
                        return fail(err, size, -ELOOP, "'%s': image indexes nested too deep", path);
                r = pick_manifest(manifest, path, NULL, &desc, err, size);
                if (r < 0)
                        return r;
        }

        struct json_object *layers = get(manifest, "layers", json_type_array);
        const char *config_digest = get_string(get(manifest, "config", json_type_object), "digest");
        _cleanup_free_ char *config_path = NULL;

        if (digest_to_path(config_digest, &config_path) < 0)
                return fail(err, size, -EBADMSG, "'%s': invalid config.digest '%s'", path, strna(config_digest));
        size_t n = layers ? json_object_array_length(layers) : 0;
        image->layers = calloc(n + 1, sizeof(char *));
        if (!image->layers)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *l = json_object_array_get_idx(layers, i);
                const char *type = get_string(l, "mediaType"), *digest = get_string(l, "digest");

                if (type && (strstr(type, "+encrypted") || !strstr(type, "tar")))
                        return fail(err, size, -EOPNOTSUPP, "'%s': layers[%zu] has the unsupported mediaType '%s'",
                                    path, i, type);
                if (digest_to_path(digest, &image->layers[i]) < 0)
                        return fail(err, size, -EBADMSG, "'%s': layers[%zu] has the invalid digest '%s'",
                                    path, i, strna(digest));
        }
        return read_config(dir_fd, config_path, &image->config, err, size);
}

/* "web:1" names "docker.io/library/web:1" and "localhost/web:1" too: the
 * short forms the tools that wrote the archive expand. */
static bool tag_matches(const char *tag, const char *ref) {
        static const char *const prefixes[] = { "", "docker.io/", "docker.io/library/", "localhost/" };

        FOREACH_ARRAY(p, prefixes, ELEMENTSOF(prefixes)) {
                const char *rest = startswith(tag, *p);
                if (rest && streq(rest, ref))
                        return true;
        }
        return false;
}

static int read_docker_archive(int dir_fd, const char *ref, Image *image, char *err, size_t size) {
        _cleanup_json_ struct json_object *manifest = NULL;
        struct json_object *pick = NULL;
        int r;

        r = read_json(dir_fd, "manifest.json", &manifest, err, size);
        if (r < 0)
                return r;
        if (!json_object_is_type(manifest, json_type_array) || json_object_array_length(manifest) == 0)
                return fail(err, size, -EBADMSG, "'manifest.json' is not a non-empty array");

        size_t n = json_object_array_length(manifest);
        for (size_t i = 0; i < n && !pick; i++) {
                struct json_object *m = json_object_array_get_idx(manifest, i), *tags = get(m, "RepoTags", json_type_array);
                for (size_t k = 0; ref && tags && k < json_object_array_length(tags); k++) {
                        const char *t = json_object_get_string(json_object_array_get_idx(tags, k));
                        if (t && tag_matches(t, ref))
                                pick = m;
                }
        }
        if (!pick && ref)
                return fail(err, size, -ENOENT, "'manifest.json' has no image tagged '%s' (RepoTags)", ref);
        if (!pick && n > 1)
                return fail(err, size, -ENOENT, "'manifest.json' holds %zu images: name one with --ref", n);
        if (!pick)
                pick = json_object_array_get_idx(manifest, 0);

        const char *config = get_string(pick, "Config");
        if (!config)
                return fail(err, size, -EBADMSG, "'manifest.json' has no Config");
        r = strv_from_json(get(pick, "Layers", json_type_array), "manifest.json", "Layers", &image->layers, err, size);
        if (r < 0)
                return r;
        if (!image->layers && !(image->layers = calloc(1, sizeof(char *))))
                return -ENOMEM;
        return read_config(dir_fd, config, &image->config, err, size);
}

int image_read(int dir_fd, const char *ref, Image *ret, char *err, size_t size) {
        Image image = {};
        struct stat st;
        int r;

        if (fstatat(dir_fd, "index.json", &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                image.format = strdup("oci");
                r = image.format ? read_oci(dir_fd, ref, &image, err, size) : -ENOMEM;
        } else if (fstatat(dir_fd, "manifest.json", &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                image.format = strdup("docker-archive");
                r = image.format ? read_docker_archive(dir_fd, ref, &image, err, size) : -ENOMEM;
        } else
                r = fail(err, size, -ENOENT, "neither an OCI image layout (no index.json) nor a docker-archive (no manifest.json)");
        if (r < 0) {
                image_done(&image);
                return r;
        }
        *ret = image;
        return 0;
}
