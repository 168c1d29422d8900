/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xml-text.h"

void xml_text(FILE *f, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '&': fputs("&amp;", f); break;
                case '\'': fputs("&apos;", f); break;
                case '"': fputs("&quot;", f); break;
                default: fputc(*s, f);
                }
}

void xml_element(FILE *f, const char *indent, const char *element, const char *text) {
        fprintf(f, "%s<%s>", indent, element);
        xml_text(f, text);
        fprintf(f, "</%s>\n", element);
}
