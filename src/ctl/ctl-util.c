/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: small utilities. */

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "domain-xml.h"

/* Every file vivctl reads is a definition: larger ones the manager refuses. */
#define FILE_SIZE_MAX XML_DOCUMENT_MAX

int read_file_or_report(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return ctl_error(negative_errno(), "Failed to open file '%s': %m", path);

        for (;;) {
                if (allocated - size < 4096) {
                        allocated = allocated ? allocated * 2 : 16384;
                        char *n = realloc(buf, allocated + 1);
                        if (!n)
                                return ctl_error(-ENOMEM, "Out of memory");
                        buf = n;
                }

                ssize_t k = read(fd, buf + size, allocated - size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return ctl_error(negative_errno(), "Failed to read file '%s': %m", path);
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > FILE_SIZE_MAX)
                        return ctl_error(-EFBIG, "Failed to read file '%s': larger than the limit of %u bytes (%u MiB) for a definition",
                                         path, FILE_SIZE_MAX, FILE_SIZE_MAX / (1024 * 1024));
        }

        if (!buf) {
                buf = strdup("");
                if (!buf)
                        return ctl_error(-ENOMEM, "Out of memory");
        } else
                buf[size] = '\0';

        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

bool string_looks_like_uuid(const char *s) {
        size_t hex = 0;

        for (; *s; s++) {
                if (*s == '-')
                        continue;
                if (!strchr("0123456789abcdefABCDEF", *s))
                        return false;
                hex++;
        }
        return hex == 32;
}

bool string_is_uint(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char) *s))
                        return false;
        return true;
}

const XmlModule *ctl_xml(Context *c) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (c->xml)
                return c->xml;
        r = xml_module_load(&c->xml, &error);
        if (r < 0) {
                (void) ctl_error(r, "Failed to load the XML parser: %s", error ?: strerror(-r));
                return NULL;
        }
        return c->xml;
}

static void put_escaped(FILE *f, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '\'': fputs("&apos;", f); break;
                case '"': fputs("&quot;", f); break;
                default: fputc(*s, f);
                }
}

void xml_printf(FILE *f, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        for (const char *p = fmt; *p; p++) {
                if (p[0] == '%' && p[1] == 's') {
                        put_escaped(f, va_arg(ap, const char *));
                        p++;
                } else if (p[0] == '%' && p[1] == '%') {
                        fputc('%', f);
                        p++;
                } else
                        fputc(*p, f);
        }
        va_end(ap);
}
