/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A compact binary form of DomainDef, for handing a model that vivariumd has
 * already validated to the helper, which then needs no libxml2. Both ends
 * are the same build on the same machine: native byte order and field sizes,
 * no compatibility between versions; never store it.
 *
 * Layout: "VIVW", u32 version, then every field of DomainDef and of its
 * sub-structs in declaration order; integers fixed width, native-endian;
 * bools one byte (0 or 1); strings u32 length + bytes without a NUL
 * (UINT32_MAX = NULL); arrays u32 count + elements; init_args a count
 * (UINT32_MAX = NULL array) + strings; then one string (or NULL) per
 * interface for the bridges. Every accepted buffer is the only encoding of
 * what it decodes to: to_wire() of the result gives the same bytes. */

#include <stddef.h>

#include "domain.h"

/* bridges: NULL, or def->n_interfaces entries (each NULL or a bridge name):
 * the bridge the manager resolved for each type='network' interface.
 * Returns 0 and a malloc'ed buffer; -ENOMEM; -E2BIG for a string or array
 * the format cannot count. */
int domain_def_to_wire(const DomainDef *def, char *const *bridges, void **ret, size_t *ret_size);

/* The model as the parser would have built it (domain_def_free() frees it),
 * and in *ret_bridges (may be NULL: not returned) def->n_interfaces entries,
 * each NULL or a string, freed with domain_wire_bridges_free(). Returns 0;
 * -EBADMSG for anything malformed: truncated, trailing bytes, bad magic or
 * version, a string with a NUL, an enum, bool, family, prefix or capability
 * out of range, a count the remaining bytes cannot hold, a NULL where the
 * parser never leaves one, an invalid name; -ENOMEM. Never reads past size,
 * never allocates more than O(size).
 *
 * The parser's other semantic checks (absolute paths without "..", device
 * names, limits) are not repeated: the sender is vivariumd, which built the
 * model with domain_def_parse(). */
int domain_def_from_wire(const void *data, size_t size, DomainDef **ret, char ***ret_bridges);

void domain_wire_bridges_free(char **bridges, size_t n);
