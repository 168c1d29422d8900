/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "domain.h"

/* The largest document any of our parsers reads: refused before parsing,
 * in bytes, and after the well-formedness pass, in elements, before the
 * RelaxNG pass (libxml2's validation of many siblings in an interleave
 * grows faster than their number: 58,000 <initarg> took 6 s). A domain or
 * network definition of even a few hundred devices is a few tens of KiB and
 * a few thousand elements. libvirt's RPC carries at most 4 MiB in a string. */
#define XML_DOCUMENT_MAX (1024U * 1024)
#define XML_ELEMENTS_MAX 10000U

/* Diagnostics of a parse: one error (NULL on success) and any warnings.
 * Every message is complete and user-facing, and starts with
 * "FILE:LINE:COLUMN: " when the position is known (FILE is the name given to
 * the parser, or "(string)" when none was given). */
typedef struct XmlDiag {
        char *error;
        char **warnings; /* NULL-terminated, may be NULL */
} XmlDiag;

void xml_diag_done(XmlDiag *d);

/* Parses a domain document: well-formedness, RelaxNG (xml/domain.rng), then
 * semantic checks. Returns 0 and *ret on success; -EINVAL with diag->error set
 * when the document is refused; -ENOMEM. A missing <uuid> is generated. */
int domain_def_parse(const char *xml, size_t size, const char *filename, DomainDef **ret, XmlDiag *diag);
int domain_def_parse_file(const char *path, DomainDef **ret, XmlDiag *diag);

/* The same without the RelaxNG step, for documents that vivariumd wrote itself
 * from a model it had validated: the live XML in /run/vivarium/containers/,
 * which only root can write. Well-formedness and the semantic checks still
 * run, and a document the schema would refuse fails with -EINVAL or gives a
 * model (never a crash), but the messages of a refused document are not the
 * schema's. Never use it for a file a user hands us. */
int domain_def_parse_trusted(const char *xml, size_t size, const char *filename, DomainDef **ret, XmlDiag *diag);
int domain_def_parse_file_trusted(const char *path, DomainDef **ret, XmlDiag *diag);

/* Writes the normalized document (what dumpxml prints): fixed element order, two
 * spaces of indentation, memory in KiB with unit='KiB', uuid always present.
 * id > 0 adds id='ID' to <domain> (the live status XML). Returns NULL on ENOMEM. */
char *domain_def_format(const DomainDef *def, pid_t id);

/* The domain schema compiled once, for a long-lived process that parses many
 * documents (vivariumd): compiling it is most of a parse's cost. The same
 * checks and messages as domain_def_parse(). */
typedef struct DomainSchema DomainSchema;
int domain_schema_new(DomainSchema **ret);
DomainSchema *domain_schema_free(DomainSchema *s);
static inline void domain_schema_freep(DomainSchema **s) {
        domain_schema_free(*s);
}
int domain_def_parse_with(const DomainSchema *schema, const char *xml, size_t size, const char *filename,
                          DomainDef **ret, XmlDiag *diag);
