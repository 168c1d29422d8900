/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: which kind of document a file is, for validate. Everything else
 * about documents is the shared parser's (domain-xml.h, network-def.h). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "ctl.h"

static void xml_doc_freep(xmlDoc **d) {
        if (*d)
                xmlFreeDoc(*d);
}

char *xml_root_name(const char *xml, size_t size) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        xmlNode *root;

        if (size > INT32_MAX)
                return NULL;
        doc = xmlReadMemory(xml, (int) size, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        root = doc ? xmlDocGetRootElement(doc) : NULL;
        return root ? strdup((const char *) root->name) : NULL;
}
