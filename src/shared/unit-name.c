/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "unit-name.h"

static bool unit_char_is_valid(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '_' || c == '.';
}

static char *escape_char(char c, char *t) {
        static const char hex[] = "0123456789abcdef";

        *t++ = '\\';
        *t++ = 'x';
        *t++ = hex[((unsigned char) c) >> 4];
        *t++ = hex[((unsigned char) c) & 15];
        return t;
}

int unit_name_escape(const char *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char *t;

        if (!s || !ret)
                return -EINVAL;

        /* Worst case: every character becomes four. */
        buf = malloc(strlen(s) * 4 + 1);
        if (!buf)
                return -ENOMEM;

        t = buf;
        /* A leading '.' would make a hidden-looking unit name: systemd escapes it. */
        if (*s == '.') {
                t = escape_char(*s, t);
                s++;
        }

        for (; *s; s++) {
                if (*s == '/')
                        *t++ = '-';
                else if (*s == '-' || *s == '\\' || !unit_char_is_valid(*s))
                        t = escape_char(*s, t);
                else
                        *t++ = *s;
        }
        *t = 0;

        *ret = TAKE_PTR(buf);
        return 0;
}

int unit_name_machine_scope(const char *name, char **ret) {
        _cleanup_free_ char *e = NULL;
        char *u;
        int r;

        r = unit_name_escape(name, &e);
        if (r < 0)
                return r;

        if (asprintf(&u, "machine-%s.scope", e) < 0)
                return -ENOMEM;

        *ret = u;
        return 0;
}
