/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: tables as virsh prints them. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ctl-output.h"
#include "macros.h"

struct Table {
        size_t n_columns;
        size_t n_rows;          /* including the header */
        char **cells;           /* n_rows * n_columns */
};

Table *table_new(size_t n_columns, const char *const *headers) {
        Table *t = calloc(1, sizeof(Table));

        if (!t)
                return NULL;
        t->n_columns = n_columns;
        if (table_add_row(t, headers) < 0)
                return table_free(t);
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

int table_add_row(Table *t, const char *const *cells) {
        char **n = realloc(t->cells, (t->n_rows + 1) * t->n_columns * sizeof(char *));

        if (!n)
                return -ENOMEM;
        t->cells = n;

        char **row = t->cells + t->n_rows * t->n_columns;
        for (size_t i = 0; i < t->n_columns; i++) {
                row[i] = strdup(cells[i] ? cells[i] : "");
                if (!row[i]) {
                        while (i > 0)
                                free(row[--i]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

/* Display width: multibyte aware, as names may be UTF-8. */
static size_t text_width(const char *s) {
        mbstate_t st = {};
        size_t w = 0;

        for (const char *p = s; *p; ) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, p, strlen(p), &st);
                if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
                        memset(&st, 0, sizeof st);
                        w++;
                        p++;
                        continue;
                }
                int cw = wcwidth(wc);
                w += cw > 0 ? (size_t) cw : 0;
                p += k;
        }
        return w;
}

static void row_print(const Table *t, size_t r, const size_t *maxw, FILE *f) {
        char *const *row = t->cells + r * t->n_columns;

        for (size_t i = 0; i < t->n_columns; i++) {
                fprintf(f, " %s", row[i]);
                if (i + 1 < t->n_columns)
                        for (size_t j = text_width(row[i]); j < maxw[i] + 2; j++)
                                fputc(' ', f);
        }
        fputc('\n', f);
}

int table_print(const Table *t, FILE *f) {
        _cleanup_free_ size_t *maxw = calloc(t->n_columns, sizeof(size_t));

        if (!maxw)
                return -ENOMEM;

        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t i = 0; i < t->n_columns; i++) {
                        size_t w = text_width(t->cells[r * t->n_columns + i]);
                        if (w > maxw[i])
                                maxw[i] = w;
                }

        row_print(t, 0, maxw, f);
        for (size_t i = 0; i < t->n_columns; i++)
                for (size_t j = 0; j < maxw[i] + 3; j++)
                        fputc('-', f);
        fputc('\n', f);

        for (size_t r = 1; r < t->n_rows; r++)
                row_print(t, r, maxw, f);
        return 0;
}

void json_print_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}
