/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: a quick look into domain documents (the name before CreateXML,
 * the facts "dominfo" prints). Validation is the manager's and
 * domain-xml.c's business; this only reads what is there. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "ctl.h"

static void xml_doc_freep(xmlDoc **d) {
        if (*d)
                xmlFreeDoc(*d);
}

static xmlDoc *xml_read(const char *xml, size_t size) {
        if (size > INT32_MAX)
                return NULL;
        return xmlReadMemory(xml, (int) size, NULL, NULL,
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static xmlNode *child_element(xmlNode *parent, const char *name) {
        for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
                if (n->type == XML_ELEMENT_NODE && streq((const char *) n->name, name))
                        return n;
        return NULL;
}

static char *node_text(xmlNode *n) {
        if (!n)
                return NULL;
        xmlChar *t = xmlNodeGetContent(n);
        if (!t)
                return NULL;
        char *s = strdup((const char *) t);
        xmlFree(t);
        return s;
}

/* libvirt's memory units, scaled to KiB. */
static uint64_t memory_kib(xmlNode *n) {
        _cleanup_free_ char *text = node_text(n);
        xmlChar *unit;
        uint64_t v, scale = 1;
        char *end;

        if (!text)
                return 0;
        v = strtoull(text, &end, 10);

        unit = xmlGetProp(n, (const xmlChar *) "unit");
        if (unit) {
                const char *u = (const char *) unit;
                if (strcasecmp(u, "b") == 0 || strcasecmp(u, "bytes") == 0)
                        v /= 1024;
                else if (strcmp(u, "KB") == 0)
                        v = v * 1000 / 1024;
                else if (strcmp(u, "MB") == 0)
                        v = v * 1000 * 1000 / 1024;
                else if (strcmp(u, "GB") == 0)
                        v = v * 1000 * 1000 * 1000 / 1024;
                else if (strcasecmp(u, "m") == 0 || strcmp(u, "MiB") == 0)
                        scale = 1024;
                else if (strcasecmp(u, "g") == 0 || strcmp(u, "GiB") == 0)
                        scale = 1024 * 1024;
                else if (strcasecmp(u, "t") == 0 || strcmp(u, "TiB") == 0)
                        scale = UINT64_C(1024) * 1024 * 1024;
                xmlFree(unit);
        }
        return v * scale;
}

void domain_summary_done(DomainSummary *s) {
        free(s->name);
        free(s->os_type);
        *s = (DomainSummary) {};
}

int xml_domain_summary(const char *xml, size_t size, DomainSummary *ret) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        DomainSummary s = { .vcpus = 1 };
        xmlNode *root, *n;

        doc = xml_read(xml, size);
        if (!doc)
                return -EINVAL;
        root = xmlDocGetRootElement(doc);
        if (!root || !streq((const char *) root->name, "domain"))
                return -EINVAL;

        s.name = node_text(child_element(root, "name"));
        s.os_type = node_text(child_element(child_element(root, "os"), "type"));

        n = child_element(root, "vcpu");
        if (n) {
                _cleanup_free_ char *t = node_text(n);
                if (t && string_is_uint(t))
                        s.vcpus = (unsigned) strtoul(t, NULL, 10);
        }

        s.memory_kib = memory_kib(child_element(root, "memory"));
        n = child_element(root, "currentMemory");
        s.current_memory_kib = n ? memory_kib(n) : s.memory_kib;

        if (!s.name) {
                domain_summary_done(&s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

char *xml_root_name(const char *xml, size_t size) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = xml_read(xml, size);
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

        return root ? strdup((const char *) root->name) : NULL;
}
