/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vivctl import: OCI and docker-archive images to private roots. The work is
 * vivarium-import's (src/image/), a program of its own so that vivctl links
 * neither libarchive nor json-c; this verb checks the options and execs it. */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static int verb_import(Context *c, const VerbArgs *a) {
        const char *program = getenv("VIVARIUM_IMPORT_PATH") ?: LIBEXECDIR "/vivarium-import";
        static const char *const valued[] = { "name", "ref", "xml", "id-shift" };
        const char *argv[2 * ELEMENTSOF(valued) + 6];
        size_t n = 0;

        argv[n++] = program;
        if (c->quiet)
                argv[n++] = "--quiet";
        FOREACH_ARRAY(o, valued, ELEMENTSOF(valued)) {
                const char *v = args_get(a, *o);
                if (v) {
                        char *opt;
                        if (asprintf(&opt, "--%s", *o) < 0)
                                return -ENOMEM;
                        argv[n++] = opt; /* lives until the exec */
                        argv[n++] = v;
                }
        }
        argv[n++] = "--";
        argv[n++] = args_get(a, "image");
        argv[n++] = args_get(a, "target");
        argv[n] = NULL;

        fflush(stdout);
        execv(program, (char *const *) argv);
        return ctl_error(-errno, "Failed to run '%s': %m", program);
}

static const VerbOption import_options[] = {
        { "image", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "OCI image layout directory or archive, or docker-archive tar" },
        { "target", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "directory to create for the root" },
        { "name", OPT_STRING, 0, "the domain's name (default: the target's base name)" },
        { "ref", OPT_STRING, 0, "the image to take from a layout or archive holding several" },
        { "xml", OPT_STRING, 0, "write the domain XML to this file instead of standard output" },
        { "id-shift", OPT_STRING, 0, "add this host ID to every owner (an <idmap> without idmapped mounts)" },
        {}
};

const Verb verb_table_import[] = {
        { "import", "Domain Management", "import an OCI image as a private root",
          "Unpacks an OCI image (layout directory or oci-archive) or a\n"
          "docker-archive tar into the new directory TARGET, layers in order with\n"
          "their whiteouts, and prints a domain XML whose root is TARGET and whose\n"
          "<os> comes from the image's Entrypoint, Cmd, Env, WorkingDir and User.\n"
          "A path leaving the root, a symlink or hard link out of it or a\n"
          "malformed archive is refused with the entry named, and nothing is\n"
          "written. Device nodes are not created; owners are kept (a picked user\n"
          "namespace's idmapped root maps them).",
          import_options, 0, verb_import },
        {}
};
