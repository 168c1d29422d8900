/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-v1.c: which line of /proc/PID/cgroup names a process's unit, which
 * paths are the helper's, and in which v1 hierarchies it makes its leaves. A container's process on
 * a hybrid host sits in the scope's own cgroup of memory, cpu and blkio: only
 * the name=systemd line (cgroup2's on a unified host) may say "payload/". */

#include <stdbool.h>
#include <stdio.h>

#include "cgroup-v1.h"
#include "macros.h"

static int failures;

static void check_path(const char *what, const char *text, bool unified, const char *expected) {
        _cleanup_free_ char *out = NULL;
        int r = cgroup_systemd_path(text, unified, &out);

        if (expected ? r < 0 || !streq(out, expected) : r != -ENOENT) {
                fprintf(stderr, "FAIL: %s: '%s' (r=%d), expected '%s'\n", what, strna(out), r, strna(expected));
                failures++;
        } else
                printf("ok - %s: %s\n", what, expected ?: "-ENOENT");
}

static void check_helpers(const char *path, bool expected) {
        if (cgroup_path_is_helpers(path, "machine-a.scope") != expected) {
                fprintf(stderr, "FAIL: '%s' taken for the helper's: expected %s\n", path, expected ? "yes" : "no");
                failures++;
        } else
                printf("ok - '%s' is the helper's cgroup: %s\n", path, expected ? "yes" : "no");
}

static void check_leaves(const char *controllers, bool expected) {
        if (cgroup_v1_wants_leaves(controllers) != expected) {
                fprintf(stderr, "FAIL: leaves in '%s': expected %s\n", controllers, expected ? "yes" : "no");
                failures++;
        } else
                printf("ok - leaves in '%s': %s\n", controllers, expected ? "yes" : "no");
}

int main(void) {
        /* a container's process on a hybrid host: the scope's own cgroup in
         * memory, cpu,cpuacct and blkio, payload/ in the others */
        static const char hybrid_payload[] =
                "12:memory:/machine.slice/machine-a.scope\n"
                "11:devices:/machine.slice/machine-a.scope/payload\n"
                "10:pids:/machine.slice/machine-a.scope/payload\n"
                "4:cpu,cpuacct:/machine.slice/machine-a.scope\n"
                "3:blkio:/machine.slice/machine-a.scope\n"
                "1:name=systemd:/machine.slice/machine-a.scope/payload\n"
                "0::/machine.slice/machine-a.scope/payload\n";
        static const char hybrid_helper[] =
                "12:memory:/machine.slice/machine-a.scope\n"
                "1:name=systemd:/machine.slice/machine-a.scope/supervisor\n"
                "0::/machine.slice/machine-a.scope/supervisor\n";
        static const char unified[] = "0::/machine.slice/machine-a.scope/payload\n";
        /* a name that only looks like a hierarchy's */
        static const char tricky[] = "5:name=systemd-other:/x\n1:name=systemd:/z";

        check_path("hybrid, a container's process: payload/", hybrid_payload, false,
                   "/machine.slice/machine-a.scope/payload");
        check_path("hybrid, the helper: supervisor/", hybrid_helper, false,
                   "/machine.slice/machine-a.scope/supervisor");
        check_path("unified: the 0:: line", hybrid_payload, true, "/machine.slice/machine-a.scope/payload");
        check_path("unified host", unified, true, "/machine.slice/machine-a.scope/payload");
        check_path("hybrid view of a unified-only text", unified, false, NULL);
        check_path("only the exact name=systemd line, the last without a newline", tricky, false, "/z");
        check_path("empty", "", false, NULL);

        check_helpers("/machine.slice/machine-a.scope", true);
        check_helpers("/machine.slice/machine-a.scope/supervisor", true);
        check_helpers("/machine.slice/machine-a.scope/payload", false);
        /* what the container's root may make below payload/, which it owns */
        check_helpers("/machine.slice/machine-a.scope/payload/machine-a.scope", false);
        check_helpers("/machine.slice/machine-a.scope/payload/machine-a.scope/supervisor", false);
        check_helpers("/machine.slice/machine-a.scope/supervisor/x", false);
        check_helpers("/machine.slice/machine-b.scope/supervisor", false);
        check_helpers("/machine.slice/xmachine-a.scope", false);
        check_helpers("/machine.slice/machine-a.scopex/supervisor", false);

        check_leaves("name=systemd", true);
        check_leaves("devices", true);
        check_leaves("pids", true);
        check_leaves("memory", false);
        check_leaves("cpu,cpuacct", false);
        check_leaves("blkio", false);
        check_leaves("freezer", true);
        check_leaves("net_cls,net_prio", false);
        check_leaves("name=systemd-other", false);

        return failures ? 1 : 0;
}
