/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The StateReason of each container kept in /run/vivarium/containers/.reasons/
 * NAME, so that a restarted manager (idle exit, upgrade, crash) reports the
 * reason of the last change as the one before it did: "shut off (destroyed)"
 * stays that, a running container stays "running (booted)". Under /run, as
 * libvirt keeps its status: a reboot forgets it. The directory starts with a
 * dot: the run directory's scans (adoption, orphans) never see it. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macros.h"
#include "manager.h"

static int reason_path(Container *c, char **ret_dir, char **ret_path) {
        _cleanup_free_ char *dir = NULL;

        if (asprintf(&dir, "%s/.reasons", c->manager->run_dir) < 0)
                return -ENOMEM;
        if (ret_path && asprintf(ret_path, "%s/%s", dir, c->name) < 0)
                return -ENOMEM;
        if (ret_dir)
                *ret_dir = TAKE_PTR(dir);
        return 0;
}

void state_reason_save(Container *c) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        r = reason_path(c, &dir, &path);
        if (r >= 0)
                r = mkdir_p(dir, 0755);
        if (r >= 0)
                r = write_file_atomic(path, c->state_reason ? c->state_reason : "", 0644);
        if (r < 0)
                fprintf(stderr, "Failed to keep the state reason of container '%s', ignoring: %s\n", c->name,
                        strerror(-r));
}

void state_reason_load(Container *c) {
        _cleanup_free_ char *path = NULL, *text = NULL;

        if (reason_path(c, NULL, &path) < 0 || read_full_file(path, &text, NULL) < 0)
                return;
        text[strcspn(text, "\n")] = '\0';
        /* only libvirt's words: the mapping keeps static strings */
        container_apply_state_reason(c, text);
}

void state_reason_forget(Container *c) {
        _cleanup_free_ char *path = NULL;

        if (reason_path(c, NULL, &path) >= 0 && unlink(path) < 0 && errno != ENOENT)
                fprintf(stderr, "Failed to remove %s, ignoring: %m\n", path);
}
