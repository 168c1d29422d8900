/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* A set of strings, each with the index of where it was first seen: the
 * parsers' "is this name used twice" checks in constant time per element
 * (a definition holds up to XML_DOCUMENT_MAX bytes: tens of thousands of
 * elements, which a pairwise comparison makes minutes of work). */
typedef struct StrMapEntry {
        char *key;
        size_t value;
} StrMapEntry;

typedef struct StrMap {
        StrMapEntry *entries;
        size_t n, size;
} StrMap;

/* Adds KEY (copied) with VALUE. Returns 0 when added, 1 when KEY was there
 * already (its first VALUE in *ret_value, when not NULL), -ENOMEM. */
int strmap_put(StrMap *m, const char *key, size_t value, size_t *ret_value);

void strmap_done(StrMap *m);
