/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An OCI runtime bundle's config.json (runtime-spec 1.0) as a Vivarium
 * domain XML. Each field is mapped, accepted because Vivarium already does
 * what it asks or something stricter, or refused with its path named
 * ("linux.namespaces[2].path: ..."): see the table in oci-spec.c. */

#include <stdbool.h>
#include <stddef.h>

typedef struct OciDomain {
        char *name;             /* the domain's name */
        char *xml;
        bool terminal;          /* process.terminal */
        char **ignored;         /* fields accepted without effect, for the log */
} OciDomain;

void oci_domain_done(OciDomain *d);

/* BARRIER_DIR (absolute, on the host) holds the FIFO "go" the container's
 * first process waits on until "start", and an empty file on which
 * BARRIER_TOOL (a static shell, /bin/busybox) is bind-mounted; both appear at
 * /.vivarium-oci inside. Returns 0 or -errno with ERR set. */
int oci_spec_to_domain(const char *bundle, const char *id, const char *barrier_dir, const char *barrier_tool,
                       OciDomain *ret, char *err, size_t err_size);
