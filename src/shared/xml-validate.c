/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* RelaxNG validation with messages a user can act on.
 *
 * libxml2's RelaxNG errors name a node and little else ("Invalid sequence in
 * interleave", "Element domain failed to validate content"), and often not the
 * node at fault. RelaxNG stays the judge of validity here; when it refuses a
 * document, we read the schema itself into a table (which children and
 * attributes each element has, which are required, what values they take) and
 * walk the document in order to find the first place that breaks it, so the
 * message says what is wrong, where, and what is expected. When the table
 * finds nothing (a constraint it does not model), libxml2's own first
 * message is used, with its position. */

#include <errno.h>
#include <string.h>

#include <libxml/relaxng.h>
#include <libxml/xmlregexp.h>
#include <libxml/xmlschemastypes.h>

#include "xml-util.h"

#define RNG_NS "http://relaxng.org/ns/structure/1.0"
#define VIV_ANNOTATION_NS "http://vivarium.org/schemas/annotations/1"
#define VIV_DOMAIN_NS "http://vivarium.org/schemas/domain/1"
#define LXC_DOMAIN_NS "http://libvirt.org/schemas/domain/lxc/1.0"
#define XSD_NS "http://www.w3.org/2001/XMLSchema"

typedef struct ValueSpec {
        const char **values;  /* <value> choices, pointers into the schema doc */
        size_t n_values;
        const char *datatype; /* <data type=...> */
        const char *pattern;  /* <param name='pattern'> */
        const char *expect;   /* viv:expect */
        bool text;            /* <text/>: anything goes */
} ValueSpec;

typedef struct AttrInfo {
        const char *name;
        bool required;
        ValueSpec value;
} AttrInfo;

typedef struct ChildRef {
        char *qname; /* "{ns}name" or "name" */
        bool required;
        bool multi;   /* may appear more than once */
        bool ignored; /* content is anything: not listed as expected */
} ChildRef;

typedef struct ElemInfo {
        char *key; /* "PARENT/QNAME", "/QNAME" for the root */
        bool any_children, any_attrs;
        ChildRef *children;
        size_t n_children;
        AttrInfo *attrs;
        size_t n_attrs;
        ValueSpec text;
        xmlNode **walked; /* element patterns already walked into this key */
        size_t n_walked;
} ElemInfo;

typedef struct SchemaTable {
        xmlDoc *rng;
        xmlNode *grammar;
        ElemInfo *elems;
        size_t n_elems;
        bool oom;
} SchemaTable;

static void value_spec_done(ValueSpec *v) {
        free(v->values);
}

static void schema_table_done(SchemaTable *t) {
        ARRAY_FOREACH(e, t->elems, t->n_elems) {
                free(e->key);
                ARRAY_FOREACH(c, e->children, e->n_children)
                        free(c->qname);
                free(e->children);
                ARRAY_FOREACH(a, e->attrs, e->n_attrs)
                        value_spec_done(&a->value);
                free(e->attrs);
                value_spec_done(&e->text);
                free(e->walked);
        }
        free(t->elems);
        xmlFreeDoc(t->rng);
}

static bool rng_is(xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && n->ns && streq((const char *) n->ns->href, RNG_NS) &&
                streq((const char *) n->name, name);
}

static const char *rng_attr(xmlNode *n, const char *name) {
        /* Attributes of the schema live as long as the schema doc. */
        for (xmlAttr *a = n->properties; a; a = a->next)
                if (!a->ns && streq((const char *) a->name, name) && a->children)
                        return (const char *) a->children->content;
        return NULL;
}

static const char *rng_ns_of(xmlNode *n) {
        for (; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
                const char *ns = rng_attr(n, "ns");
                if (ns)
                        return ns;
        }
        return "";
}

static ElemInfo *table_get(SchemaTable *t, const char *key, bool create) {
        ElemInfo *e;

        ARRAY_FOREACH(i, t->elems, t->n_elems)
                if (streq(i->key, key))
                        return i;
        if (!create)
                return NULL;
        e = XML_ARRAY_GROW(t->elems, t->n_elems);
        if (!e || !(e->key = strdup(key))) {
                if (e)
                        t->n_elems--;
                t->oom = true;
                return NULL;
        }
        return e;
}

static xmlNode *rng_define(SchemaTable *t, const char *name) {
        XML_FOREACH_ELEMENT(c, t->grammar)
                if (rng_is(c, "define") && streq_ptr(rng_attr(c, "name"), name))
                        return c;
        return NULL;
}

static void walk(SchemaTable *t, xmlNode *pattern, const char *elem_key, ValueSpec *value, bool optional, bool multi);

static void walk_children(SchemaTable *t, xmlNode *parent, const char *elem_key, ValueSpec *value, bool optional, bool multi) {
        XML_FOREACH_ELEMENT(c, parent)
                walk(t, c, elem_key, value, optional, multi);
}

static void add_value(SchemaTable *t, ValueSpec *v, const char *s) {
        const char **nv;

        if (!v)
                return;
        nv = reallocarray(v->values, v->n_values + 1, sizeof(char *));
        if (!nv) {
                t->oom = true;
                return;
        }
        nv[v->n_values++] = s;
        v->values = nv;
}

static void walk_element(SchemaTable *t, xmlNode *pattern, const char *parent_key, bool optional, bool multi) {
        /* The element's name class: name=, <name>, or a <choice> of <name>s. */
        const char *names[64];
        size_t n_names = 0;
        bool any = false;
        xmlNode *content_start = pattern->children;
        const char *ns = rng_ns_of(pattern);
        ElemInfo *parent = table_get(t, parent_key, false);

        if (rng_attr(pattern, "name"))
                names[n_names++] = rng_attr(pattern, "name");
        else {
                xmlNode *nc = pattern->children;
                while (nc && nc->type != XML_ELEMENT_NODE)
                        nc = nc->next;
                if (!nc)
                        return;
                content_start = nc->next;
                if (rng_is(nc, "name") && nc->children)
                        names[n_names++] = (const char *) nc->children->content;
                else if (rng_is(nc, "choice")) {
                        XML_FOREACH_ELEMENT(c, nc)
                                if (rng_is(c, "name") && c->children && n_names < ELEMENTSOF(names))
                                        names[n_names++] = (const char *) c->children->content;
                } else
                        any = true;
        }

        if (any) {
                if (parent)
                        parent->any_children = true;
                return;
        }

        for (size_t i = 0; i < n_names; i++) {
                _cleanup_free_ char *qname = NULL, *key = NULL;
                ElemInfo *e;
                bool seen = false, ignored;

                if (asprintf(&qname, "%s%s%s%s", *ns ? "{" : "", ns, *ns ? "}" : "", names[i]) < 0 ||
                    asprintf(&key, "%s/%s", parent_key, qname) < 0) {
                        t->oom = true;
                        return;
                }

                /* Content that accepts any element: the parser warns and drops it. */
                ignored = false;
                for (xmlNode *c = content_start; c; c = c->next)
                        if (rng_is(c, "ref") && streq_ptr(rng_attr(c, "name"), "anyContent"))
                                ignored = true;

                parent = table_get(t, parent_key, false);
                if (parent) {
                        ChildRef *ref = NULL;
                        ARRAY_FOREACH(c, parent->children, parent->n_children)
                                if (streq(c->qname, qname))
                                        ref = c;
                        if (ref) {
                                ref->required = ref->required && !optional;
                                ref->multi = true; /* two patterns: count is not modelled */
                        } else {
                                ref = XML_ARRAY_GROW(parent->children, parent->n_children);
                                if (!ref) {
                                        t->oom = true;
                                        return;
                                }
                                ref->qname = TAKE_PTR(qname);
                                ref->required = !optional;
                                ref->multi = multi;
                                ref->ignored = ignored;
                        }
                }

                e = table_get(t, key, true);
                if (!e)
                        return;
                ARRAY_FOREACH(w, e->walked, e->n_walked)
                        if (*w == pattern)
                                seen = true;
                if (seen)
                        continue;
                if (!XML_ARRAY_GROW(e->walked, e->n_walked)) {
                        t->oom = true;
                        return;
                }
                e->walked[e->n_walked - 1] = pattern;

                /* Walking may grow t->elems: work on a copy of the text spec. */
                ValueSpec v = e->text;
                for (xmlNode *c = content_start; c; c = c->next)
                        if (c->type == XML_ELEMENT_NODE)
                                walk(t, c, key, &v, false, false);
                e = table_get(t, key, false);
                e->text = v;
        }
}

static void walk_attribute(SchemaTable *t, xmlNode *pattern, const char *elem_key, bool optional) {
        ElemInfo *e = table_get(t, elem_key, false);
        const char *name = rng_attr(pattern, "name");
        AttrInfo *a = NULL;

        if (!e)
                return;
        if (!name) {
                e->any_attrs = true;
                return;
        }
        ARRAY_FOREACH(i, e->attrs, e->n_attrs)
                if (streq(i->name, name))
                        a = i;
        if (!a) {
                a = XML_ARRAY_GROW(e->attrs, e->n_attrs);
                if (!a) {
                        t->oom = true;
                        return;
                }
                a->name = name;
                a->required = !optional;
        } else
                a->required = a->required && !optional;

        /* Walking may grow e->attrs: work on a copy and store it back. */
        ValueSpec v = a->value;
        size_t idx = (size_t) (a - e->attrs);
        bool has_content = false;
        XML_FOREACH_ELEMENT(c, pattern) {
                has_content = true;
                walk(t, c, elem_key, &v, false, false);
        }
        if (!has_content)
                v.text = true;
        e = table_get(t, elem_key, false);
        e->attrs[idx].value = v;
}

static void walk(SchemaTable *t, xmlNode *p, const char *elem_key, ValueSpec *value, bool optional, bool multi) {
        if (t->oom || !p->ns || !streq((const char *) p->ns->href, RNG_NS))
                return;

        if (rng_is(p, "element"))
                walk_element(t, p, elem_key, optional, multi);
        else if (rng_is(p, "attribute"))
                walk_attribute(t, p, elem_key, optional);
        else if (rng_is(p, "optional") || rng_is(p, "choice"))
                walk_children(t, p, elem_key, value, true, multi);
        else if (rng_is(p, "zeroOrMore"))
                walk_children(t, p, elem_key, value, true, true);
        else if (rng_is(p, "oneOrMore"))
                walk_children(t, p, elem_key, value, optional, true);
        else if (rng_is(p, "group") || rng_is(p, "interleave") || rng_is(p, "mixed"))
                walk_children(t, p, elem_key, value, optional, multi);
        else if (rng_is(p, "ref")) {
                xmlNode *d = rng_define(t, rng_attr(p, "name"));
                if (d)
                        walk_children(t, d, elem_key, value, optional, multi);
        } else if (rng_is(p, "value")) {
                if (p->children && p->children->content)
                        add_value(t, value, (const char *) p->children->content);
                else
                        add_value(t, value, "");
        } else if (rng_is(p, "data")) {
                if (!value)
                        return;
                value->datatype = rng_attr(p, "type");
                for (xmlAttr *a = p->properties; a; a = a->next)
                        if (a->ns && streq((const char *) a->ns->href, VIV_ANNOTATION_NS) &&
                            streq((const char *) a->name, "expect") && a->children)
                                value->expect = (const char *) a->children->content;
                XML_FOREACH_ELEMENT(c, p)
                        if (rng_is(c, "param") && streq_ptr(rng_attr(c, "name"), "pattern") && c->children)
                                value->pattern = (const char *) c->children->content;
        } else if (rng_is(p, "text")) {
                if (value)
                        value->text = true;
        }
}

static int schema_table_build(SchemaTable *t, const char *schema, size_t len) {
        xmlNode *start = NULL;
        ElemInfo *root;

        t->rng = xmlReadMemory(schema, (int) len, "schema.rng", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!t->rng)
                return -ENOMEM;
        t->grammar = xmlDocGetRootElement(t->rng);
        XML_FOREACH_ELEMENT(c, t->grammar)
                if (rng_is(c, "start"))
                        start = c;
        if (!start)
                return -EINVAL;

        /* A pseudo element "" holds the document's root as its child. */
        root = table_get(t, "", true);
        if (!root)
                return -ENOMEM;
        walk_children(t, start, "", NULL, false, false);
        return t->oom ? -ENOMEM : 0;
}

/* ---- checking a document against the table ---- */

static void node_key_name(xmlNode *n, char *buf, size_t size) {
        if (n->ns && n->ns->href && *n->ns->href)
                (void) snprintf(buf, size, "{%s}%s", (const char *) n->ns->href, (const char *) n->name);
        else
                (void) snprintf(buf, size, "%s", (const char *) n->name);
}

/* "{ns}name" → how the user knows it. */
static void display(const char *qname, char *buf, size_t size) {
        const char *e;

        if (startswith(qname, "{" VIV_DOMAIN_NS "}"))
                (void) snprintf(buf, size, "vivarium:%s", qname + strlen("{" VIV_DOMAIN_NS "}"));
        else if (startswith(qname, "{" LXC_DOMAIN_NS "}"))
                (void) snprintf(buf, size, "lxc:%s", qname + strlen("{" LXC_DOMAIN_NS "}"));
        else if (qname[0] == '{' && (e = strchr(qname, '}')))
                (void) snprintf(buf, size, "%s", e + 1);
        else
                (void) snprintf(buf, size, "%s", qname);
}

static unsigned edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[65];

        if (la > 64 || lb > 64)
                return 100;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                unsigned prev = row[0];
                row[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cur = row[j];
                        unsigned sub = prev + (a[i - 1] != b[j - 1]);
                        unsigned del = row[j] + 1, ins = row[j - 1] + 1;
                        row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
                        prev = cur;
                }
        }
        return row[lb];
}

static char *expected_children(const ElemInfo *e, const char *wrong, char **ret_suggestion) {
        XmlBuf b = {};
        unsigned best = 3;
        char name[256];

        *ret_suggestion = NULL;
        ARRAY_FOREACH(c, e->children, e->n_children) {
                unsigned d;

                display(c->qname, name, sizeof(name));
                d = edit_distance(name, wrong);
                if (d > 0 && d < best && (strlen(name) > 2 || d == 1)) {
                        best = d;
                        free(*ret_suggestion);
                        *ret_suggestion = strdup(name);
                }
                if (c->ignored)
                        continue;
                xml_buf_printf(&b, "%s%s", b.len > 0 ? ", " : "", name);
        }
        return xml_buf_finish(&b);
}

static char *expected_attrs(const ElemInfo *e, const char *wrong, char **ret_suggestion) {
        XmlBuf b = {};
        unsigned best = 3;

        *ret_suggestion = NULL;
        ARRAY_FOREACH(a, e->attrs, e->n_attrs) {
                unsigned d = edit_distance(a->name, wrong);
                if (d < best && strlen(a->name) > 2) {
                        best = d;
                        free(*ret_suggestion);
                        *ret_suggestion = strdup(a->name);
                }
                xml_buf_printf(&b, "%s%s", b.len > 0 ? ", " : "", a->name);
        }
        return xml_buf_finish(&b);
}

static char *expected_values(const ValueSpec *v) {
        XmlBuf b = {};

        if (v->n_values > 0) {
                for (size_t i = 0; i < v->n_values; i++)
                        xml_buf_printf(&b, "%s'%s'", i == 0 ? "" : i + 1 == v->n_values ? " or " : ", ", v->values[i]);
        } else if (v->expect)
                xml_buf_printf(&b, "%s", v->expect);
        else if (v->datatype)
                xml_buf_printf(&b, "a value of type %s", v->datatype);
        else
                xml_buf_printf(&b, "no content");
        return xml_buf_finish(&b);
}

/* XSD datatypes normalize white space before comparing; <value> compares tokens. */
static char *collapse_ws(const char *s) {
        XmlBuf b = {};
        bool space = false;

        for (; *s; s++) {
                if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
                        space = b.len > 0;
                        continue;
                }
                if (space)
                        xml_buf_printf(&b, " ");
                space = false;
                xml_buf_printf(&b, "%c", *s);
        }
        xml_buf_printf(&b, "%s", "");
        return xml_buf_finish(&b);
}

/* 1 valid, 0 invalid, -1 not modelled (let RelaxNG's message speak). */
static int value_matches(const ValueSpec *v, const char *raw) {
        _cleanup_free_ char *s = collapse_ws(raw);

        if (!s)
                return -1;
        if (v->n_values > 0) {
                for (size_t i = 0; i < v->n_values; i++)
                        if (streq(v->values[i], s))
                                return 1;
                return v->datatype || v->text ? -1 : 0;
        }
        if (v->datatype) {
                xmlSchemaTypePtr type = xmlSchemaGetPredefinedType(BAD_CAST v->datatype, BAD_CAST XSD_NS);
                xmlSchemaValPtr val = NULL;
                int r;

                if (!type)
                        return -1;
                r = xmlSchemaValPredefTypeNode(type, BAD_CAST (streq(v->datatype, "string") ? raw : s), &val, NULL);
                if (val)
                        xmlSchemaFreeValue(val);
                if (r != 0)
                        return 0;
                if (v->pattern) {
                        xmlRegexpPtr re = xmlRegexpCompile(BAD_CAST v->pattern);
                        if (!re)
                                return -1;
                        r = xmlRegexpExec(re, BAD_CAST raw);
                        xmlRegFreeRegexp(re);
                        if (r == 0)
                                return 0;
                }
                return 1;
        }
        return -1;
}

static bool has_text(xmlNode *n) {
        for (xmlNode *c = n->children; c; c = c->next)
                if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
                        for (const xmlChar *p = c->content; p && *p; p++)
                                if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                                        return true;
                }
        return false;
}

/* An element the schema allows once, given again. */
static int check_repeated(const XmlInput *in, const ElemInfo *e, xmlNode *c, const char *parent_name, XmlDiag *diag) {
        char kname[512], other[512], qname[256];

        if (e->any_children)
                return 0;
        node_key_name(c, kname, sizeof(kname));
        ARRAY_FOREACH(ref, e->children, e->n_children) {
                if (!streq(ref->qname, kname))
                        continue;
                if (ref->multi)
                        return 0;
                for (xmlNode *prev = c->prev; prev; prev = prev->prev) {
                        if (prev->type != XML_ELEMENT_NODE)
                                continue;
                        node_key_name(prev, other, sizeof(other));
                        if (streq(other, kname)) {
                                unsigned line, column;
                                xml_node_position(in, prev, NULL, &line, &column);
                                return xml_error(in, diag, c, NULL, "element '%s' may appear only once in '%s', it is already at line %u",
                                                 xml_node_qname(c, qname, sizeof(qname)), parent_name, line);
                        }
                }
        }
        return 0;
}

/* n is not among the children the schema lists for its parent. */
static int report_unexpected(const XmlInput *in, const ElemInfo *parent, xmlNode *n, const char *qname,
                             const char *parent_name, XmlDiag *diag) {
        _cleanup_free_ char *suggestion = NULL, *list = expected_children(parent, qname, &suggestion);
        _cleanup_free_ char *hint = NULL;
        char shown[256];

        if (!list)
                return -ENOMEM;
        if (suggestion && asprintf(&hint, " (did you mean '%s'?)", suggestion) < 0)
                return -ENOMEM;
        (void) snprintf(shown, sizeof(shown), "%s", qname);
        /* A known name in another namespace: say which namespace. */
        if (n->ns && n->ns->href) {
                size_t l = strlen(shown);
                (void) snprintf(shown + l, sizeof(shown) - l, "' in namespace '%s", (const char *) n->ns->href);
                free(hint);
                hint = NULL;
        }
        if (!parent_name)
                return xml_error(in, diag, n, NULL, "root element '%s' is not expected, expected '%s'", shown, list);
        if (parent->n_children == 0)
                return xml_error(in, diag, n, NULL, "element '%s' is not expected in '%s', which takes no child elements",
                                 shown, parent_name);
        return xml_error(in, diag, n, NULL, "element '%s' is not expected in '%s'%s; expected one of: %s",
                         shown, parent_name, strempty(hint), list);
}

/* Attributes: known, allowed values, required ones present. */
static int check_attributes(const XmlInput *in, const ElemInfo *e, xmlNode *n, const char *qname, bool is_root, XmlDiag *diag) {
        for (xmlAttr *a = n->properties; a && !e->any_attrs; a = a->next) {
                AttrInfo *info = NULL;
                const char *aname = (const char *) a->name;
                _cleanup_(xmlFreep) xmlChar *v = NULL;
                int m;
                char aqname[256];

                /* The schemas declare no namespaced attribute: any is unknown. */
                if (a->ns && a->ns->prefix) {
                        (void) snprintf(aqname, sizeof(aqname), "%s:%s", (const char *) a->ns->prefix, aname);
                        aname = aqname;
                } else
                        ARRAY_FOREACH(i, e->attrs, e->n_attrs)
                                if (streq(i->name, aname))
                                        info = i;
                if (!info) {
                        _cleanup_free_ char *suggestion = NULL, *list = expected_attrs(e, aname, &suggestion);
                        _cleanup_free_ char *hint = NULL;

                        if (!list)
                                return -ENOMEM;
                        if (suggestion && asprintf(&hint, " (did you mean '%s'?)", suggestion) < 0)
                                return -ENOMEM;
                        if (e->n_attrs == 0)
                                return xml_error(in, diag, n, aname, "attribute '%s' is not allowed on element '%s', which takes no attributes",
                                                 aname, qname);
                        return xml_error(in, diag, n, aname, "attribute '%s' is not allowed on element '%s'%s; expected one of: %s",
                                         aname, qname, strempty(hint), list);
                }
                v = xmlNodeGetContent((xmlNode *) a);
                m = value_matches(&info->value, v ? (const char *) v : "");
                if (m == 0) {
                        _cleanup_free_ char *exp = expected_values(&info->value);

                        if (!exp)
                                return -ENOMEM;
                        if (streq(qname, "domain") && streq(aname, "type") && is_root)
                                return xml_error(in, diag, n, aname, "domain type '%s' is not supported, expected %s", (const char *) v, exp);
                        return xml_error(in, diag, n, aname, "attribute '%s' of element '%s' has the invalid value '%s', expected %s",
                                         aname, qname, (const char *) v, exp);
                }
        }
        ARRAY_FOREACH(i, e->attrs, e->n_attrs)
                if (i->required && !xmlHasProp(n, BAD_CAST i->name))
                        return xml_error(in, diag, n, NULL, "element '%s' lacks the required attribute '%s'", qname, i->name);
        return 0;
}

/* Text content: an allowed value, or none where the schema takes none. */
static int check_text(const XmlInput *in, const ElemInfo *e, xmlNode *n, const char *qname, XmlDiag *diag) {
        if (e->any_children)
                return 0;
        if (e->text.n_values > 0 || e->text.datatype) {
                _cleanup_free_ char *v = xml_text(n);
                _cleanup_(xmlFreep) xmlChar *raw = xmlNodeGetContent(n);
                int m = value_matches(&e->text, raw ? (const char *) raw : "");

                if (!v)
                        return -ENOMEM;
                if (m == 0) {
                        _cleanup_free_ char *exp = expected_values(&e->text);
                        if (!exp)
                                return -ENOMEM;
                        if (!*v)
                                return xml_error(in, diag, n, NULL, "element '%s' is empty, expected %s", qname, exp);
                        return xml_error(in, diag, n, NULL, "element '%s' has the invalid value '%s', expected %s", qname, v, exp);
                }
        } else if (!e->text.text && e->text.n_values == 0 && has_text(n))
                return xml_error(in, diag, n, NULL, "element '%s' takes no text", qname);
        return 0;
}

static int check_element(const XmlInput *in, SchemaTable *t, xmlNode *n, const char *parent_key, const char *parent_name, XmlDiag *diag);

/* Children, in document order, then the required ones. */
static int check_children(const XmlInput *in, SchemaTable *t, const ElemInfo *e, xmlNode *n, const char *key,
                          const char *qname, XmlDiag *diag) {
        XML_FOREACH_ELEMENT(c, n) {
                int r = check_element(in, t, c, key, qname, diag);
                if (r != 0)
                        return r;
                r = check_repeated(in, e, c, qname, diag);
                if (r != 0)
                        return r;
        }
        ARRAY_FOREACH(c, e->children, e->n_children) {
                bool found = false;
                char cname[512], dname[256];

                if (!c->required)
                        continue;
                XML_FOREACH_ELEMENT(x, n) {
                        node_key_name(x, cname, sizeof(cname));
                        if (streq(cname, c->qname))
                                found = true;
                }
                if (!found) {
                        display(c->qname, dname, sizeof(dname));
                        return xml_error(in, diag, n, NULL, "element '%s' lacks the required child element '%s'", qname, dname);
                }
        }
        return 0;
}

/* Returns -EINVAL with diag->error set at the first problem, 0 when none is found. */
static int check_element(const XmlInput *in, SchemaTable *t, xmlNode *n, const char *parent_key, const char *parent_name, XmlDiag *diag) {
        char kname[512], qname[256], key[1024];
        ElemInfo *parent, *e = NULL;
        int r;

        node_key_name(n, kname, sizeof(kname));
        xml_node_qname(n, qname, sizeof(qname));
        (void) snprintf(key, sizeof(key), "%s/%s", parent_key, kname);

        parent = table_get(t, parent_key, false);
        if (!parent || parent->any_children)
                return 0;
        ARRAY_FOREACH(c, parent->children, parent->n_children)
                if (streq(c->qname, kname))
                        e = table_get(t, key, false);
        if (!e)
                return report_unexpected(in, parent, n, qname, parent_name, diag);

        r = check_attributes(in, e, n, qname, parent_key[0] == 0, diag);
        if (r != 0)
                return r;
        r = check_text(in, e, n, qname, diag);
        if (r != 0)
                return r;
        return check_children(in, t, e, n, key, qname, diag);
}

/* ---- RelaxNG ---- */

typedef struct ValidState {
        xmlNode *node;
        char *message;
        int line;
} ValidState;

static void valid_error_handler(void *user_data, xmlErrorPtr error) {
        ValidState *st = user_data;
        const char *m;
        size_t n;

        if (!error || error->level < XML_ERR_ERROR || st->message)
                return;
        m = error->message ? error->message : "failed to validate";
        n = strlen(m);
        while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
                n--;
        st->message = strndup(m, n);
        st->node = error->node;
        st->line = error->line;
}

static void valid_state_done(ValidState *st) {
        free(st->message);
}

static void ignore_error_handler(void *user_data, xmlErrorPtr error) {
}

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGParserCtxt *, xmlRelaxNGFreeParserCtxt);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNG *, xmlRelaxNGFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGValidCtxt *, xmlRelaxNGFreeValidCtxt);

static int explain(const XmlInput *in, xmlDoc *doc, const char *schema, size_t schema_len,
                   const ValidState *st, XmlDiag *diag) {
        _cleanup_(schema_table_done) SchemaTable t = {};
        int r;

        r = schema_table_build(&t, schema, schema_len);
        if (r >= 0)
                r = check_element(in, &t, xmlDocGetRootElement(doc), "", NULL, diag);
        if (r != 0)
                return r;

        /* Not modelled by the table: libxml2's own words. */
        if (st->node && st->node->type == XML_ELEMENT_NODE) {
                char qname[256];
                return xml_error(in, diag, st->node, NULL, "element '%s': %s",
                                 xml_node_qname(st->node, qname, sizeof(qname)), strna(st->message));
        }
        return xml_error_at(in, diag, st->line > 0 ? (unsigned) st->line : 1, 1,
                            st->message ? st->message : "document does not match the schema");
}

int xml_schema_compile(const char *schema, size_t schema_len, xmlRelaxNG **ret) {
        _cleanup_(xmlRelaxNGFreeParserCtxtp) xmlRelaxNGParserCtxt *pctxt = NULL;

        pctxt = xmlRelaxNGNewMemParserCtxt(schema, (int) schema_len);
        if (!pctxt)
                return -ENOMEM;
        xmlRelaxNGSetParserStructuredErrors(pctxt, ignore_error_handler, NULL);
        *ret = xmlRelaxNGParse(pctxt);
        if (!*ret)
                return -EBADMSG; /* our own schema is broken: a build bug */
        return 0;
}

int xml_validate(const XmlInput *in, xmlDoc *doc, const char *schema, size_t schema_len, xmlRelaxNG *compiled,
                 XmlDiag *diag) {
        _cleanup_(xmlRelaxNGFreep) xmlRelaxNG *own = NULL;
        _cleanup_(xmlRelaxNGFreeValidCtxtp) xmlRelaxNGValidCtxt *vctxt = NULL;
        _cleanup_(valid_state_done) ValidState st = {};
        int r;

        if (!compiled) {
                r = xml_schema_compile(schema, schema_len, &own);
                if (r < 0)
                        return r;
                compiled = own;
        }

        vctxt = xmlRelaxNGNewValidCtxt(compiled);
        if (!vctxt)
                return -ENOMEM;
        xmlRelaxNGSetValidStructuredErrors(vctxt, valid_error_handler, &st);

        r = xmlRelaxNGValidateDoc(vctxt, doc);
        if (r == 0)
                return 0;
        if (r < 0)
                return -ENOMEM;
        return explain(in, doc, schema, schema_len, &st, diag);
}
