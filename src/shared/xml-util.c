/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "xml-util.h"

/* ---- positions ---- */

const char *xml_node_qname(xmlNode *node, char *buf, size_t size) {
        if (node->ns && node->ns->prefix)
                (void) snprintf(buf, size, "%s:%s", (const char *) node->ns->prefix, (const char *) node->name);
        else
                (void) snprintf(buf, size, "%s", (const char *) node->name);
        return buf;
}

/* Offset of the start of line (1-based), or in->size when past the end. */
static size_t line_start(const XmlInput *in, unsigned line) {
        size_t off = 0;

        for (unsigned l = 1; l < line; l++) {
                const char *nl = memchr(in->text + off, '\n', in->size - off);
                if (!nl)
                        return in->size;
                off = (size_t) (nl - in->text) + 1;
        }
        return off;
}

static void offset_to_position(const XmlInput *in, size_t off, unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1;
        size_t bol = 0;

        for (size_t i = 0; i < off && i < in->size; i++)
                if (in->text[i] == '\n') {
                        line++;
                        bol = i + 1;
                }
        *ret_line = line;
        *ret_column = (unsigned) (off - bol) + 1;
}

static bool is_name_end(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>';
}

/* Elements before node (document order) with the same name on the same line. */
static unsigned same_line_predecessors(xmlNode *node, const char *qname, long line) {
        unsigned k = 0;
        xmlNode *n = xmlDocGetRootElement(node->doc);
        char buf[256];

        /* Iterative pre-order walk until node. */
        while (n && n != node) {
                if (n->type == XML_ELEMENT_NODE && xmlGetLineNo(n) == line &&
                    streq(xml_node_qname(n, buf, sizeof(buf)), qname))
                        k++;
                if (n->children && n->type == XML_ELEMENT_NODE)
                        n = n->children;
                else {
                        while (n && !n->next && n->parent && n->parent->type == XML_ELEMENT_NODE)
                                n = n->parent;
                        n = n ? n->next : NULL;
                }
        }
        return k;
}

/* Finds the '<' of the element in the text: libxml2 keeps only a line (the
 * one where the start tag ends), so look for the start tag on that line,
 * else the last one before its end. Returns in->size when not found. */
static size_t element_offset(const XmlInput *in, xmlNode *node) {
        char qname[256];
        long line = xmlGetLineNo(node);
        size_t bol, eol, qlen, last = in->size;
        unsigned k;

        if (!in->text || line <= 0)
                return in->size;
        xml_node_qname(node, qname, sizeof(qname));
        qlen = strlen(qname);
        bol = line_start(in, (unsigned) line);
        if (bol >= in->size)
                return in->size;
        {
                const char *nl = memchr(in->text + bol, '\n', in->size - bol);
                eol = nl ? (size_t) (nl - in->text) : in->size;
        }
        k = same_line_predecessors(node, qname, line);

        for (size_t i = 0; i + 1 + qlen <= eol; i++) {
                if (in->text[i] != '<' || memcmp(in->text + i + 1, qname, qlen) != 0)
                        continue;
                if (i + 1 + qlen < in->size && !is_name_end(in->text[i + 1 + qlen]))
                        continue;
                if (i >= bol) {
                        if (k == 0)
                                return i;
                        k--;
                }
                last = i;
        }
        return last;
}

void xml_node_position(const XmlInput *in, xmlNode *node, const char *attr,
                       unsigned *ret_line, unsigned *ret_column) {
        size_t off;
        long line;

        line = node ? xmlGetLineNo(node) : 0;
        *ret_line = line > 0 ? (unsigned) line : 1;
        *ret_column = 1;
        if (!node || !in->text)
                return;

        off = element_offset(in, node);
        if (off >= in->size)
                return;

        if (attr) {
                size_t alen = strlen(attr);
                /* The attribute sits inside the start tag; quotes may hide '>'. */
                char quote = 0;
                for (size_t i = off + 1; i < in->size; i++) {
                        char c = in->text[i];
                        if (quote) {
                                if (c == quote)
                                        quote = 0;
                                continue;
                        }
                        if (c == '\'' || c == '"') {
                                quote = c;
                                continue;
                        }
                        if (c == '>')
                                break;
                        if (isspace((unsigned char) in->text[i - 1]) && i + alen < in->size &&
                            memcmp(in->text + i, attr, alen) == 0) {
                                size_t j = i + alen;
                                while (j < in->size && isspace((unsigned char) in->text[j]))
                                        j++;
                                if (j < in->size && in->text[j] == '=') {
                                        off = i;
                                        break;
                                }
                        }
                }
        }
        offset_to_position(in, off, ret_line, ret_column);
}

/* ---- diagnostics ---- */

static char *vformat_at(const XmlInput *in, xmlNode *node, const char *attr, const char *kind,
                        const char *fmt, va_list ap) _printf_(5, 0);
static char *vformat_at(const XmlInput *in, xmlNode *node, const char *attr, const char *kind,
                        const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;
        char *s = NULL;
        unsigned line, column;

        if (vasprintf(&msg, fmt, ap) < 0)
                return NULL;
        xml_node_position(in, node, attr, &line, &column);
        if (asprintf(&s, "%s:%u:%u: %s%s", in->filename, line, column, kind, msg) < 0)
                return NULL;
        return s;
}

int xml_error(const XmlInput *in, XmlDiag *diag, xmlNode *node, const char *attr, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!diag || diag->error)
                return -EINVAL;
        va_start(ap, fmt);
        s = vformat_at(in, node, attr, "", fmt, ap);
        va_end(ap);
        if (!s)
                return -ENOMEM;
        diag->error = s;
        return -EINVAL;
}

int xml_error_at(const XmlInput *in, XmlDiag *diag, unsigned line, unsigned column, const char *message) {
        if (!diag || diag->error)
                return -EINVAL;
        if (asprintf(&diag->error, "%s:%u:%u: %s", in->filename, line, column, message) < 0) {
                diag->error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

int xml_warning(const XmlInput *in, XmlDiag *diag, xmlNode *node, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!diag)
                return 0;
        va_start(ap, fmt);
        s = vformat_at(in, node, NULL, "warning: ", fmt, ap);
        va_end(ap);
        if (!s)
                return -ENOMEM;
        return strv_consume(&diag->warnings, s);
}

/* ---- reading ---- */

typedef struct ReadState {
        char *message;
        int line, column;
        bool doctype;
        int doctype_line;
} ReadState;

static void read_state_done(ReadState *st) {
        free(st->message);
}

/* libxml2's messages end with a newline and sometimes carry padding. */
static char *trimmed(const char *s) {
        size_t n;

        if (!s)
                s = "unknown error";
        while (isspace((unsigned char) *s))
                s++;
        n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        return strndup(s, n);
}

/* Some of libxml2's limits tell the programmer which option lifts them
 * ("Excessive depth in document: 256 use XML_PARSE_HUGE option"): a user
 * can set no option, so say what is wrong with the document instead. */
static char *user_message(const char *message) {
        _cleanup_free_ char *s = trimmed(message);
        const char *huge;
        char *ret;
        int depth;

        if (!s || !(huge = strstr(s, "XML_PARSE_HUGE")))
                return TAKE_PTR(s);
        if (sscanf(s, "Excessive depth in document: %d", &depth) == 1) {
                if (asprintf(&ret, "elements are nested more than %d levels deep", depth) < 0)
                        return NULL;
                return ret;
        }
        /* cut "[,] use XML_PARSE_HUGE option" and what follows */
        size_t n = (size_t) (huge - s);
        if (n >= 4 && strncmp(s + n - 4, "use ", 4) == 0)
                n -= 4;
        while (n > 0 && (isspace((unsigned char) s[n - 1]) || s[n - 1] == ','))
                n--;
        if (asprintf(&ret, "%.*s (a limit of the XML parser)", (int) n, s) < 0)
                return NULL;
        return ret;
}

static void read_error_handler(void *user_data, xmlErrorPtr error) {
        xmlParserCtxt *ctxt = user_data;
        ReadState *st = ctxt->_private;

        /* The first error explains the document; the rest follow from it. */
        if (!error || error->level < XML_ERR_ERROR || st->message)
                return;
        st->message = user_message(error->message);
        st->line = error->line;
        st->column = error->int2;
}

/* Entities declared in an internal subset are a way to make the parser do
 * unbounded work (the "billion laughs") or read files: stop at the DOCTYPE,
 * before its declarations are parsed. */
static void doctype_handler(void *user_data, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id) {
        xmlParserCtxt *ctxt = user_data;
        ReadState *st = ctxt->_private;

        st->doctype = true;
        st->doctype_line = ctxt->input ? ctxt->input->line : 1;
        xmlStopParser(ctxt);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlParserCtxt *, xmlFreeParserCtxt);

/* The element one past XML_ELEMENTS_MAX in document order, or NULL. Walked
 * without recursion: the depth is libxml2's to bound. */
static xmlNode *element_over_limit(xmlNode *root) {
        unsigned n = 0;

        for (xmlNode *e = root; e;) {
                if (e->type == XML_ELEMENT_NODE && ++n > XML_ELEMENTS_MAX)
                        return e;
                if (e->children)
                        e = e->children;
                else {
                        while (e && e != root && !e->next)
                                e = e->parent;
                        e = e && e != root ? e->next : NULL;
                }
        }
        return NULL;
}

int xml_read(const XmlInput *in, xmlDoc **ret, XmlDiag *diag) {
        _cleanup_(xmlFreeParserCtxtp) xmlParserCtxt *ctxt = NULL;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(read_state_done) ReadState st = {};

        if (in->size == 0 || !in->text)
                return xml_error(in, diag, NULL, NULL, "document is empty");
        /* Refused before a byte is parsed: a parse costs time in the
         * manager's single loop (every client waits) and memory, in
         * proportion to the size. */
        if (in->size > XML_DOCUMENT_MAX)
                return xml_error(in, diag, NULL, NULL, "document is %zu bytes, more than the limit of %u bytes (%u MiB)",
                                 in->size, XML_DOCUMENT_MAX, XML_DOCUMENT_MAX / (1024 * 1024));

        ctxt = xmlNewParserCtxt();
        if (!ctxt)
                return -ENOMEM;
        ctxt->_private = &st;
        ctxt->sax->serror = read_error_handler;
        ctxt->sax->internalSubset = doctype_handler;
        ctxt->sax->externalSubset = NULL;
        ctxt->sax->entityDecl = NULL;

        /* No XML_PARSE_NOENT (no entity substitution), no DTDLOAD/DTDATTR, no
         * network: a definition never makes the daemon read another file. */
        doc = xmlCtxtReadMemory(ctxt, in->text, (int) in->size, in->filename, NULL,
                                XML_PARSE_NONET | XML_PARSE_BIG_LINES);
        if (st.doctype) {
                unsigned line = 1, column = 1;
                const char *p = memmem(in->text, in->size, "<!DOCTYPE", 9);

                if (p)
                        offset_to_position(in, (size_t) (p - in->text), &line, &column);
                else
                        line = st.doctype_line > 0 ? (unsigned) st.doctype_line : 1;
                return xml_error_at(in, diag, line, column, "DOCTYPE declarations are not allowed");
        }
        if (st.message || !doc || !ctxt->wellFormed || !ctxt->nsWellFormed)
                return xml_error_at(in, diag, st.line > 0 ? (unsigned) st.line : 1, st.column > 0 ? (unsigned) st.column : 1,
                                    st.message ? st.message : "document is not well-formed");

        /* Belt and braces: the handler above should have stopped any DOCTYPE. */
        if (doc->intSubset || doc->extSubset)
                return xml_error_at(in, diag, 1, 1, "DOCTYPE declarations are not allowed");

        xmlNode *over = element_over_limit(xmlDocGetRootElement(doc));
        if (over)
                return xml_error(in, diag, over, NULL, "document has more than the limit of %u elements", XML_ELEMENTS_MAX);

        *ret = TAKE_PTR(doc);
        return 0;
}

int xml_read_validated(const XmlInput *in, const char *schema, size_t schema_len, xmlRelaxNG *compiled,
                       xmlDoc **ret, XmlDiag *diag) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        int r;

        r = xml_read(in, &doc, diag);
        if (r < 0)
                return r;
        r = xml_validate(in, doc, schema, schema_len, compiled, diag);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(doc);
        return 0;
}

/* ---- node access ---- */

bool xml_name_is(xmlNode *node, const char *name) {
        return node && node->type == XML_ELEMENT_NODE && streq((const char *) node->name, name);
}

char *xml_prop(xmlNode *node, const char *name) {
        _cleanup_(xmlFreep) xmlChar *v = xmlGetNoNsProp(node, BAD_CAST name);
        char *s;

        if (!v)
                return NULL;
        /* Return malloc()ed memory, so that callers can free() it. */
        s = strdup((const char *) v);
        if (!s)
                errno = ENOMEM;
        return s;
}

int xml_prop_opt(xmlNode *node, const char *name, char **ret) {
        *ret = xml_prop(node, name);
        if (!*ret && xmlHasProp(node, BAD_CAST name))
                return -ENOMEM;
        return 0;
}

char *xml_text(xmlNode *node) {
        _cleanup_(xmlFreep) xmlChar *v = xmlNodeGetContent(node);

        if (!v)
                return strdup("");
        return trimmed((const char *) v);
}

xmlNode *xml_child(xmlNode *parent, const char *name) {
        XML_FOREACH_ELEMENT(c, parent)
                if (!c->ns && streq((const char *) c->name, name))
                        return c;
        return NULL;
}

/* ---- values ---- */

int xml_parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char) *s))
                s++;
        if (*s == '+')
                s++;
        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        while (isspace((unsigned char) *s))
                s++;
        if (*s)
                return -EINVAL;
        *ret = v;
        return 0;
}

int xml_parse_uuid(const XmlInput *in, XmlDiag *diag, xmlNode *node, uint8_t ret[16]) {
        _cleanup_free_ char *s = xml_text(node);

        if (!s)
                return -ENOMEM;
        if (uuid_parse_string(s, ret) < 0)
                return xml_error(in, diag, node, NULL, "invalid UUID '%s': expected 32 hexadecimal digits, with or without dashes", s);
        return 0;
}

int xml_parse_i64(const char *s, int64_t *ret) {
        bool neg = false;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char) *s))
                s++;
        if (*s == '-') {
                neg = true;
                s++;
                if (*s == '+')
                        return -EINVAL;
        }
        r = xml_parse_u64(s, &v);
        if (r < 0)
                return r;
        if (neg) {
                if (v > (uint64_t) INT64_MAX + 1)
                        return -ERANGE;
                *ret = v == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) v;
        } else {
                if (v > INT64_MAX)
                        return -ERANGE;
                *ret = (int64_t) v;
        }
        return 0;
}

/* libvirt's units: powers of 1000 for KB/MB/..., of 1024 for k/KiB/M/MiB/... */
static const struct {
        const char *name;
        uint64_t bytes;
} unit_table[] = {
        { "b", 1 },
        { "bytes", 1 },
        { "KB", UINT64_C(1000) },
        { "k", UINT64_C(1024) },
        { "KiB", UINT64_C(1024) },
        { "MB", UINT64_C(1000000) },
        { "M", UINT64_C(1048576) },
        { "MiB", UINT64_C(1048576) },
        { "GB", UINT64_C(1000000000) },
        { "G", UINT64_C(1073741824) },
        { "GiB", UINT64_C(1073741824) },
        { "TB", UINT64_C(1000000000000) },
        { "T", UINT64_C(1099511627776) },
        { "TiB", UINT64_C(1099511627776) },
};

int xml_scale_to_kib(uint64_t value, const char *unit, const char *default_unit, uint64_t *ret) {
        uint64_t bytes_per = 0;

        if (!unit)
                unit = default_unit;
        ARRAY_FOREACH(u, unit_table, ELEMENTSOF(unit_table))
                if (streq(u->name, unit)) {
                        bytes_per = u->bytes;
                        break;
                }
        if (bytes_per == 0)
                return -EINVAL;

        if (bytes_per % 1024 == 0) {
                uint64_t f = bytes_per / 1024;
                if (value > UINT64_MAX / f)
                        return -ERANGE;
                *ret = value * f;
                return 0;
        }

        /* Not a multiple of KiB: round up without overflowing on the way. */
        {
                unsigned __int128 b = (unsigned __int128) value * bytes_per;
                unsigned __int128 k = (b + 1023) / 1024;
                if (k > UINT64_MAX)
                        return -ERANGE;
                *ret = (uint64_t) k;
        }
        return 0;
}

int strv_consume(char ***l, char *s) {
        size_t n = 0;
        char **nl;

        if (*l)
                while ((*l)[n])
                        n++;
        nl = reallocarray(*l, n + 2, sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

void *xml_array_grow(void **array, size_t *n, size_t elem_size) {
        char *a;

        a = reallocarray(*array, *n + 1, elem_size);
        if (!a)
                return NULL;
        memset(a + *n * elem_size, 0, elem_size);
        *array = a;
        return a + (*n)++ * elem_size;
}

/* ---- output buffer ---- */

static bool buf_reserve(XmlBuf *b, size_t extra) {
        size_t want;
        char *p;

        if (b->oom)
                return false;
        if (b->len + extra + 1 <= b->alloc)
                return true;
        want = (b->len + extra + 1) * 2;
        p = realloc(b->data, want);
        if (!p) {
                b->oom = true;
                return false;
        }
        b->data = p;
        b->alloc = want;
        return true;
}

void xml_buf_printf(XmlBuf *b, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        if (!buf_reserve(b, (size_t) n))
                return;
        va_start(ap, fmt);
        (void) vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
}

void xml_buf_escaped(XmlBuf *b, const char *s, bool attr) {
        for (; s && *s; s++) {
                switch (*s) {
                case '&':
                        xml_buf_printf(b, "&amp;");
                        break;
                case '<':
                        xml_buf_printf(b, "&lt;");
                        break;
                case '>':
                        xml_buf_printf(b, "&gt;");
                        break;
                case '\'':
                        xml_buf_printf(b, "&apos;");
                        break;
                case '"':
                        xml_buf_printf(b, "&quot;");
                        break;
                case '\r':
                        /* A literal CR would be normalized away on re-parse. */
                        xml_buf_printf(b, "&#13;");
                        break;
                case '\n':
                case '\t':
                        /* Attribute values have their white space normalized. */
                        if (attr)
                                xml_buf_printf(b, "&#%d;", *s);
                        else
                                xml_buf_printf(b, "%c", *s);
                        break;
                default:
                        xml_buf_printf(b, "%c", *s);
                }
        }
}

void xml_buf_attr(XmlBuf *b, const char *name, const char *value) {
        if (!value)
                return;
        xml_buf_printf(b, " %s='", name);
        xml_buf_escaped(b, value, true);
        xml_buf_printf(b, "'");
}

void xml_buf_indent(XmlBuf *b, unsigned level) {
        xml_buf_printf(b, "%*s", (int) (level * 2), "");
}

char *xml_buf_finish(XmlBuf *b) {
        if (b->oom || !buf_reserve(b, 0)) {
                free(b->data);
                *b = (XmlBuf) {};
                return NULL;
        }
        b->data[b->len] = 0;
        char *s = b->data;
        *b = (XmlBuf) {};
        return s;
}
