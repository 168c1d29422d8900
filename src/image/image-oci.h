/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An OCI image as Vivarium needs it: its layers in order and the parts of
 * its config that become <os> (image-spec config.md: Entrypoint, Cmd, Env,
 * WorkingDir, User). Read from an OCI image layout directory (index.json,
 * blobs/ALG/HEX) or an unpacked docker-archive (manifest.json). Nothing here
 * logs: a refusal fills ERR with what is wrong, naming the file and field. */

#include <stddef.h>

typedef struct ImageConfig {
        char **entrypoint;      /* NULL-terminated, NULL when unset */
        char **cmd;
        char **env;             /* "NAME=VALUE" */
        char *workdir;
        char *user;             /* "user", "uid", "user:group", "uid:gid" */
} ImageConfig;

typedef struct Image {
        char **layers;          /* paths relative to the image directory, lowest first */
        ImageConfig config;
        char *format;           /* "oci" or "docker-archive", for messages */
} Image;

void image_done(Image *image);

/* Reads the image in the directory DIR_FD. REF picks a manifest by its
 * org.opencontainers.image.ref.name annotation (OCI) or its RepoTags entry
 * (docker-archive); NULL takes the only one, or the linux/amd64 one of an
 * index. Every path the image names is opened beneath DIR_FD. Returns 0 or
 * -errno with ERR set. */
int image_read(int dir_fd, const char *ref, Image *ret, char *err, size_t err_size);
