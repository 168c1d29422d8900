/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The body of vivarium-xml.so (xml-module.h): the shared parsers behind one
 * exported table. Linked with libvivarium-shared.a, so the parsers are the
 * very code vivariumd runs. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "xml-module.h"
#include "xml-util.h"

static char *root_name(const char *xml, size_t size) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        xmlNode *root;

        if (size > INT32_MAX)
                return NULL;
        doc = xmlReadMemory(xml, (int) size, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        root = doc ? xmlDocGetRootElement(doc) : NULL;
        return root ? strdup((const char *) root->name) : NULL;
}

/* The only symbol the module exports (xml-module.sym). */
extern const XmlModule vivarium_xml_module;
const XmlModule vivarium_xml_module = {
        .abi = XML_MODULE_ABI,
        .size = sizeof(XmlModule),
        .domain_def_parse = domain_def_parse,
        .domain_def_parse_file = domain_def_parse_file,
        .domain_def_parse_trusted = domain_def_parse_trusted,
        .network_def_parse = network_def_parse,
        .network_def_parse_file = network_def_parse_file,
        .network_def_free = network_def_free,
        .xml_root_name = root_name,
};
