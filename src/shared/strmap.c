/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

/* FNV-1a: the keys are short names; no adversary gains more than a slow
 * parse of a document whose size is bounded anyway. */
static size_t hash(const char *s) {
        uint64_t h = 14695981039346656037ULL;

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 1099511628211ULL;
        }
        return (size_t) h;
}

/* Open addressing with linear probing; SIZE is a power of two. */
static StrMapEntry *slot(StrMapEntry *entries, size_t size, const char *key) {
        size_t i = hash(key) & (size - 1);

        while (entries[i].key && strcmp(entries[i].key, key) != 0)
                i = (i + 1) & (size - 1);
        return &entries[i];
}

static int grow(StrMap *m) {
        size_t size = m->size ? m->size * 2 : 16;
        StrMapEntry *entries = calloc(size, sizeof(StrMapEntry));

        if (!entries)
                return -ENOMEM;
        for (size_t i = 0; i < m->size; i++)
                if (m->entries[i].key)
                        *slot(entries, size, m->entries[i].key) = m->entries[i];
        free(m->entries);
        m->entries = entries;
        m->size = size;
        return 0;
}

int strmap_put(StrMap *m, const char *key, size_t value, size_t *ret_value) {
        StrMapEntry *e;
        int r;

        /* at most half full: probes stay short */
        if ((m->n + 1) * 2 > m->size) {
                r = grow(m);
                if (r < 0)
                        return r;
        }
        e = slot(m->entries, m->size, key);
        if (e->key) {
                if (ret_value)
                        *ret_value = e->value;
                return 1;
        }
        e->key = strdup(key);
        if (!e->key)
                return -ENOMEM;
        e->value = value;
        m->n++;
        return 0;
}

void strmap_done(StrMap *m) {
        for (size_t i = 0; i < m->size; i++)
                free(m->entries[i].key);
        free(m->entries);
        *m = (StrMap) {};
}
