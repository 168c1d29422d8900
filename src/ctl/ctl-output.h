/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* virsh's tables: a leading space before every cell, columns padded to the
 * widest cell plus two spaces, a dashed line as wide as all columns plus
 * three each. */

#include <stdio.h>

typedef struct Table Table;

Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
static inline void table_freep(Table **t) {
        if (*t)
                table_free(*t);
}

/* Copies n_columns cells. Returns -ENOMEM. */
int table_add_row(Table *t, const char *const *cells);
int table_print(const Table *t, FILE *f);

/* A JSON string literal with its quotes; control characters, '"' and '\\'
 * escaped. */
void json_print_string(FILE *f, const char *s);
