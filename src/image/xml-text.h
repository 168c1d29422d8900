/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Writing domain XML as text, for the programs that make one from another
 * format (vivarium-import, vivarium-oci) and need no libxml2 for it. */

#include <stdio.h>

/* TEXT escaped for an element's content or a quoted attribute. */
void xml_text(FILE *f, const char *text);
/* INDENT<ELEMENT>TEXT</ELEMENT>\n */
void xml_element(FILE *f, const char *indent, const char *element, const char *text);
