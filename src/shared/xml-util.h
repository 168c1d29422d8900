/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the domain and network parsers share: reading a document safely,
 * RelaxNG validation with messages a user can act on, positions of nodes in
 * the input text, and the small value parsers. Never logs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/relaxng.h>
#include <libxml/tree.h>

#include "domain-xml.h"
#include "macros.h"

typedef struct XmlInput {
        const char *filename; /* as printed in messages */
        const char *text;
        size_t size;
} XmlInput;

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDoc *, xmlFreeDoc);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlChar *, xmlFree);

/* The input of a parse, named "(string)" in messages when no file name is given. */
static inline XmlInput xml_input(const char *text, size_t size, const char *filename) {
        return (XmlInput) { .filename = filename ? filename : "(string)", .text = text, .size = text ? size : 0 };
}

/* Sets diag->error to "FILE:LINE:COL: MESSAGE" (position of node, or of its
 * attribute attr when not NULL) unless an error is already set. Returns
 * -EINVAL, or -ENOMEM. */
int xml_error(const XmlInput *in, XmlDiag *diag, xmlNode *node, const char *attr,
              const char *fmt, ...) _printf_(5, 6);
/* The same with an explicit position. */
int xml_error_at(const XmlInput *in, XmlDiag *diag, unsigned line, unsigned column, const char *message);
/* Appends "FILE:LINE:COL: warning: MESSAGE". Returns 0 or -ENOMEM. */
int xml_warning(const XmlInput *in, XmlDiag *diag, xmlNode *node, const char *fmt, ...) _printf_(4, 5);

/* Line and column of an element's '<' (or of one of its attributes) in the input. */
void xml_node_position(const XmlInput *in, xmlNode *node, const char *attr,
                       unsigned *ret_line, unsigned *ret_column);

/* Well-formedness only: no network, no DTD loading, no entity expansion,
 * and no DOCTYPE at all. */
int xml_read(const XmlInput *in, xmlDoc **ret, XmlDiag *diag);

/* RelaxNG validation against an in-memory schema. On failure the message
 * names the first offending element or attribute and what the schema
 * expects there. */
int xml_validate(const XmlInput *in, xmlDoc *doc, const char *schema, size_t schema_len, xmlRelaxNG *compiled,
                 XmlDiag *diag);

/* The schema compiled, for xml_validate()'s COMPILED (NULL: compiled there, on
 * every call). Compiling is most of a parse's cost; a long-lived process
 * that parses many documents keeps one. */
int xml_schema_compile(const char *schema, size_t schema_len, xmlRelaxNG **ret);

/* xml_read(), then xml_validate(): the first steps of the domain and network parsers. */
int xml_read_validated(const XmlInput *in, const char *schema, size_t schema_len, xmlRelaxNG *compiled,
                       xmlDoc **ret, XmlDiag *diag);

/* The qualified name as written ("vivarium:tasks"). */
const char *xml_node_qname(xmlNode *node, char *buf, size_t size);

/* Element children, skipping text and comments. */
#define XML_FOREACH_ELEMENT(c, parent) \
        for (xmlNode *c = (parent)->children; c; c = c->next) \
                if (c->type == XML_ELEMENT_NODE)

bool xml_name_is(xmlNode *node, const char *name);
/* Allocated property value (NULL when absent, or when out of memory). */
char *xml_prop(xmlNode *node, const char *name);
/* The same for an optional attribute: 0 with *ret NULL when absent, and
 * -ENOMEM when out of memory, which must not read as absent. */
int xml_prop_opt(xmlNode *node, const char *name, char **ret);
/* Allocated text content with leading and trailing white space removed. */
char *xml_text(xmlNode *node);
xmlNode *xml_child(xmlNode *parent, const char *name);

/* The UUID in node's text (32 hexadecimal digits, with or without dashes);
 * -EINVAL with diag->error set when it is not one, -ENOMEM. */
int xml_parse_uuid(const XmlInput *in, XmlDiag *diag, xmlNode *node, uint8_t ret[16]);

/* Decimal unsigned, full string, no sign, overflow → -ERANGE, junk → -EINVAL. */
int xml_parse_u64(const char *s, uint64_t *ret);
int xml_parse_i64(const char *s, int64_t *ret);

/* value * unit → KiB, rounded up; NULL unit = default_unit. -ERANGE on
 * overflow, -EINVAL for an unknown unit. */
int xml_scale_to_kib(uint64_t value, const char *unit, const char *default_unit, uint64_t *ret);

/* Appends s to the NULL-terminated list *l (NULL = empty) and takes it: on
 * failure s is freed. Returns 0 or -ENOMEM. */
int strv_consume(char ***l, char *s);

/* Append to a dynamic array: grows *array by one zeroed element. */
void *xml_array_grow(void **array, size_t *n, size_t elem_size);
#define XML_ARRAY_GROW(array, n) ((__typeof__(array)) xml_array_grow((void **) &(array), &(n), sizeof(*(array))))

/* A growing string buffer for the formatters. */
typedef struct XmlBuf {
        char *data;
        size_t len, alloc;
        bool oom;
} XmlBuf;

void xml_buf_printf(XmlBuf *b, const char *fmt, ...) _printf_(2, 3);
/* Escaped for text content, or for a quoted attribute value. */
void xml_buf_escaped(XmlBuf *b, const char *s, bool attr);
/* " NAME='VALUE'", escaped; nothing when value is NULL. */
void xml_buf_attr(XmlBuf *b, const char *name, const char *value);
void xml_buf_indent(XmlBuf *b, unsigned level);
/* Returns the string, or NULL (and frees) when an allocation failed. */
char *xml_buf_finish(XmlBuf *b);

/* <bandwidth>'s <inbound>/<outbound> (an interface's, a network's): the
 * attributes and their ranges into *ret, an error naming the attribute
 * otherwise. The rules between them are the caller's. */
int xml_parse_bandwidth_rate(const XmlInput *in, XmlDiag *diag, xmlNode *n, DomainBandwidthRate *ret);
/* <bandwidth> at INDENT with the directions that are set; nothing when
 * neither is. */
void xml_format_bandwidth(XmlBuf *b, const char *indent, const DomainBandwidthRate *in, const DomainBandwidthRate *out);
