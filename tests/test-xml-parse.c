/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Data-driven tests of the domain and network XML parsers.
 *
 * tests/xml/good/NAME.xml          must parse; NAME.out.xml is the exact
 *                                  normalized output; NAME.warn the exact
 *                                  warnings, one a line (absent: none). When
 *                                  the input has no <uuid>, the output's uuid
 *                                  line reads <uuid>GENERATED</uuid> and the
 *                                  test checks that a v4 UUID was generated.
 *                                  Every output must re-parse without warnings
 *                                  and format identically (same uuid too).
 * tests/xml/bad/NAME.xml           must be refused; NAME.err is the exact
 *                                  message. Files are named by their basename
 *                                  in messages ("NAME.xml:LINE:COL: ...").
 * tests/xml/network-good, network-bad: the same for <network>.
 *
 * Prints "ok N - ..." / "not ok N - ..." per check and "N passed, M failed".
 * VIVARIUM_TEST_REGENERATE=1 writes the expected files from the actual
 * results instead (review the diff before committing it). */

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain-xml.h"
#include "fileio.h"
#include "macros.h"
#include "network-def.h"
#include "xml-util.h"

#ifndef TEST_SOURCE_DIR
#define TEST_SOURCE_DIR "."
#endif

typedef struct Tally {
        unsigned passed, failed;
        bool regenerate;
} Tally;

static void result(Tally *t, bool ok, const char *fmt, ...) _printf_(3, 4);
static void result(Tally *t, bool ok, const char *fmt, ...) {
        va_list ap;

        printf("%s %u - ", ok ? "ok" : "not ok", t->passed + t->failed + 1);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (ok)
                t->passed++;
        else
                t->failed++;
}

static char *read_file_or_null(const char *path) {
        char *data = NULL;
        size_t size;

        if (read_full_file(path, &data, &size) < 0)
                return NULL;
        return data;
}

static int write_file(const char *path, const char *data) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        fputs(data, f);
        return fflush(f) == 0 ? 0 : -errno;
}

/* "# expected" / "# actual" blocks, with the first differing line pointed at. */
static void explain_diff(const char *expected, const char *actual) {
        const char *e = expected ? expected : "", *a = actual ? actual : "";
        unsigned line = 1;

        while (*e && *e == *a) {
                if (*e == '\n')
                        line++;
                e++;
                a++;
        }
        printf("#   first difference at line %u\n", line);
        printf("#   --- expected\n");
        for (const char *p = expected ? expected : "(none)"; *p;) {
                const char *nl = strchrnul(p, '\n');
                printf("#   %.*s\n", (int) (nl - p), p);
                p = *nl ? nl + 1 : nl;
        }
        printf("#   +++ actual\n");
        for (const char *p = actual ? actual : "(none)"; *p;) {
                const char *nl = strchrnul(p, '\n');
                printf("#   %.*s\n", (int) (nl - p), p);
                p = *nl ? nl + 1 : nl;
        }
}

static char *join_lines(char **l) {
        XmlBuf b = {};

        for (char **i = l; i && *i; i++)
                xml_buf_printf(&b, "%s\n", *i);
        xml_buf_printf(&b, "%s", "");
        return xml_buf_finish(&b);
}

/* Replaces the <uuid>...</uuid> content with GENERATED. */
static char *mask_uuid(const char *s) {
        const char *a = strstr(s, "<uuid>"), *e;
        char *out = NULL;

        if (!a || !(e = strstr(a, "</uuid>")))
                return strdup(s);
        if (asprintf(&out, "%.*s<uuid>GENERATED%s", (int) (a - s), s, e) < 0)
                return NULL;
        return out;
}

static void closedirp_(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && streq(s + n - k, suffix);
}

static int list_inputs(const char *dir, char ***ret, size_t *ret_n) {
        _cleanup_(closedirp_) DIR *d = NULL;
        char **l = NULL;
        size_t n = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char **nl;

                if (!has_suffix(de->d_name, ".xml") || has_suffix(de->d_name, ".out.xml"))
                        continue;
                nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n] = strdup(de->d_name);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        /* Stable order: plain insertion sort, the lists are short. */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(l[j - 1], l[j]) > 0; j--) {
                        char *tmp = l[j];
                        l[j] = l[j - 1];
                        l[j - 1] = tmp;
                }
        *ret = l;
        *ret_n = n;
        return 0;
}

typedef struct Kind {
        const char *name; /* "domain", "network" */
        /* Parses, then formats into *ret_out; returns parse's r. */
        int (*parse_format)(const char *xml, size_t size, const char *filename, char **ret_out,
                            bool *ret_uuid_generated, XmlDiag *diag);
} Kind;

static int domain_parse_format_full(const char *xml, size_t size, const char *filename, bool trusted,
                                    char **ret_out, bool *ret_uuid_generated, XmlDiag *diag) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        int r = trusted ? domain_def_parse_trusted(xml, size, filename, &def, diag) :
                          domain_def_parse(xml, size, filename, &def, diag);

        if (r < 0)
                return r;
        if (def->uuid_generated && (uuid_is_null(def->uuid) || (def->uuid[6] >> 4) != 4 || (def->uuid[8] & 0xc0) != 0x80))
                return -EBADMSG;
        *ret_uuid_generated = def->uuid_generated;
        *ret_out = domain_def_format(def, 0);
        return *ret_out ? 0 : -ENOMEM;
}

static int domain_parse_format(const char *xml, size_t size, const char *filename, char **ret_out,
                               bool *ret_uuid_generated, XmlDiag *diag) {
        return domain_parse_format_full(xml, size, filename, false, ret_out, ret_uuid_generated, diag);
}

static int network_parse_format(const char *xml, size_t size, const char *filename, char **ret_out,
                                bool *ret_uuid_generated, XmlDiag *diag) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        int r = network_def_parse(xml, size, filename, &def, diag);

        if (r < 0)
                return r;
        if (def->uuid_generated && (uuid_is_null(def->uuid) || (def->uuid[6] >> 4) != 4))
                return -EBADMSG;
        *ret_uuid_generated = def->uuid_generated;
        *ret_out = network_def_format(def);
        return *ret_out ? 0 : -ENOMEM;
}

static const Kind kinds[] = {
        { "domain", domain_parse_format },
        { "network", network_parse_format },
};

static void run_good(Tally *t, const Kind *k, const char *dir, const char *file) {
        _cleanup_free_ char *path = NULL, *base = NULL, *input = NULL, *out = NULL, *shown = NULL;
        _cleanup_free_ char *expected_out = NULL, *expected_warn = NULL, *warn = NULL, *out_path = NULL, *warn_path = NULL;
        _cleanup_free_ char *out2 = NULL, *warn2 = NULL;
        XmlDiag diag = {}, diag2 = {};
        bool generated = false, generated2 = false;
        int r;

        if (asprintf(&path, "%s/%s", dir, file) < 0 ||
            !(base = strndup(file, strlen(file) - 4)) ||
            asprintf(&out_path, "%s/%s.out.xml", dir, base) < 0 ||
            asprintf(&warn_path, "%s/%s.warn", dir, base) < 0)
                abort();
        input = read_file_or_null(path);
        if (!input) {
                result(t, false, "%s good/%s: cannot read", k->name, file);
                return;
        }

        r = k->parse_format(input, strlen(input), file, &out, &generated, &diag);
        if (r < 0) {
                result(t, false, "%s good/%s: parse: %s", k->name, file, diag.error ? diag.error : strerror(-r));
                xml_diag_done(&diag);
                return;
        }
        warn = join_lines(diag.warnings);
        shown = generated ? mask_uuid(out) : strdup(out);
        if (!warn || !shown)
                abort();

        if (t->regenerate) {
                (void) write_file(out_path, shown);
                if (*warn)
                        (void) write_file(warn_path, warn);
                else
                        (void) unlink(warn_path);
        }
        expected_out = read_file_or_null(out_path);
        expected_warn = read_file_or_null(warn_path);
        if (!expected_warn)
                expected_warn = strdup("");

        result(t, streq_ptr(expected_out, shown), "%s good/%s: normalized output%s", k->name, file,
               generated ? " (uuid generated)" : "");
        if (!streq_ptr(expected_out, shown))
                explain_diff(expected_out, shown);
        result(t, streq(expected_warn, warn), "%s good/%s: warnings", k->name, file);
        if (!streq(expected_warn, warn))
                explain_diff(expected_warn, warn);

        /* The output must parse cleanly and format identically, uuid included. */
        r = k->parse_format(out, strlen(out), "(output)", &out2, &generated2, &diag2);
        warn2 = r >= 0 ? join_lines(diag2.warnings) : NULL;
        result(t, r >= 0 && !generated2 && streq_ptr(out, out2) && warn2 && !*warn2,
               "%s good/%s: output re-parses to the same document", k->name, file);
        if (r < 0)
                printf("#   %s\n", diag2.error ? diag2.error : strerror(-r));
        else if (!streq_ptr(out, out2))
                explain_diff(out, out2);
        else if (warn2 && *warn2)
                printf("#   warnings: %s", warn2);
        xml_diag_done(&diag);
        xml_diag_done(&diag2);
}

static void run_bad(Tally *t, const Kind *k, const char *dir, const char *file) {
        _cleanup_free_ char *path = NULL, *base = NULL, *input = NULL, *out = NULL, *err_path = NULL;
        _cleanup_free_ char *expected = NULL, *actual = NULL;
        XmlDiag diag = {};
        bool generated;
        size_t size = 0;
        int r;

        if (asprintf(&path, "%s/%s", dir, file) < 0 || !(base = strndup(file, strlen(file) - 4)) ||
            asprintf(&err_path, "%s/%s.err", dir, base) < 0)
                abort();
        if (read_full_file(path, &input, &size) < 0) {
                result(t, false, "%s bad/%s: cannot read", k->name, file);
                return;
        }

        r = k->parse_format(input, size, file, &out, &generated, &diag);
        if (r >= 0) {
                result(t, false, "%s bad/%s: refused", k->name, file);
                printf("#   accepted, normalized to:\n%s", out);
                xml_diag_done(&diag);
                return;
        }
        if (asprintf(&actual, "%s\n", diag.error ? diag.error : "(no message)") < 0)
                abort();
        if (t->regenerate)
                (void) write_file(err_path, actual);
        expected = read_file_or_null(err_path);
        result(t, r == -EINVAL && streq_ptr(expected, actual), "%s bad/%s: refused with the expected message", k->name, file);
        if (r != -EINVAL)
                printf("#   returned %d (%s), expected -EINVAL\n", r, strerror(-r));
        else if (!streq_ptr(expected, actual))
                explain_diff(expected, actual);
        xml_diag_done(&diag);
}

static void run_dir(Tally *t, const Kind *k, const char *top, const char *sub, bool good) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_strv_free_ char **files = NULL;
        size_t n = 0;
        int r;

        if (asprintf(&dir, "%s/%s", top, sub) < 0)
                abort();
        r = list_inputs(dir, &files, &n);
        if (r < 0 || n == 0) {
                result(t, false, "%s: no test documents in %s", sub, dir);
                return;
        }
        for (size_t i = 0; i < n; i++)
                (good ? run_good : run_bad)(t, k, dir, files[i]);
}

/* ---- the trusted parse (no RelaxNG) ---- */

/* A good document: the same normalized output and warnings as the validating parse. */
static void run_trusted_good(Tally *t, const char *dir, const char *file) {
        _cleanup_free_ char *path = NULL, *input = NULL, *out = NULL, *tout = NULL, *warn = NULL, *twarn = NULL;
        _cleanup_free_ char *shown = NULL, *tshown = NULL;
        XmlDiag diag = {}, tdiag = {};
        bool generated = false, tgenerated = false;
        size_t size = 0;
        int r, tr;

        if (asprintf(&path, "%s/%s", dir, file) < 0)
                abort();
        if (read_full_file(path, &input, &size) < 0) {
                result(t, false, "domain trusted good/%s: cannot read", file);
                return;
        }
        r = domain_parse_format_full(input, size, file, false, &out, &generated, &diag);
        tr = domain_parse_format_full(input, size, file, true, &tout, &tgenerated, &tdiag);
        if (r < 0 || tr < 0) {
                result(t, false, "domain trusted good/%s: parse: %s", file,
                       tdiag.error ? tdiag.error : diag.error ? diag.error : strerror(-(tr < 0 ? tr : r)));
                goto finish;
        }
        /* A generated uuid differs from run to run. */
        shown = generated ? mask_uuid(out) : strdup(out);
        tshown = tgenerated ? mask_uuid(tout) : strdup(tout);
        warn = join_lines(diag.warnings);
        twarn = join_lines(tdiag.warnings);
        if (!shown || !tshown || !warn || !twarn)
                abort();
        result(t, generated == tgenerated && streq(shown, tshown) && streq(warn, twarn),
               "domain trusted good/%s: same output and warnings as the validating parse", file);
        if (!streq(shown, tshown))
                explain_diff(shown, tshown);
        else if (!streq(warn, twarn))
                explain_diff(warn, twarn);
finish:
        xml_diag_done(&diag);
        xml_diag_done(&tdiag);
}

/* A bad document: refused with a message, or (where only the schema refuses
 * it) a model; what matters is that the builder does not crash on a document
 * the schema never saw. The message is not checked. */
static void run_trusted_bad(Tally *t, const char *dir, const char *file) {
        _cleanup_free_ char *path = NULL, *input = NULL, *out = NULL;
        XmlDiag diag = {};
        bool generated = false;
        size_t size = 0;
        int r;

        if (asprintf(&path, "%s/%s", dir, file) < 0)
                abort();
        if (read_full_file(path, &input, &size) < 0) {
                result(t, false, "domain trusted bad/%s: cannot read", file);
                return;
        }
        r = domain_parse_format_full(input, size, file, true, &out, &generated, &diag);
        result(t, (r == -EINVAL && diag.error) || (r >= 0 && out),
               "domain trusted bad/%s: %s", file, r >= 0 ? "accepted (only the schema refuses it)" : "refused");
        if (r < 0 && !(r == -EINVAL && diag.error))
                printf("#   returned %d (%s)%s\n", r, strerror(-r), diag.error ? "" : " without a message");
        xml_diag_done(&diag);
}

static void run_trusted(Tally *t, const char *top) {
        const struct {
                const char *sub;
                void (*run)(Tally *t, const char *dir, const char *file);
        } dirs[] = {
                { "good", run_trusted_good },
                { "bad", run_trusted_bad },
        };

        ARRAY_FOREACH(d, dirs, ELEMENTSOF(dirs)) {
                _cleanup_free_ char *dir = NULL;
                _cleanup_strv_free_ char **files = NULL;
                size_t n = 0;

                if (asprintf(&dir, "%s/%s", top, d->sub) < 0)
                        abort();
                if (list_inputs(dir, &files, &n) < 0 || n == 0) {
                        result(t, false, "trusted %s: no test documents in %s", d->sub, dir);
                        continue;
                }
                for (size_t i = 0; i < n; i++)
                        d->run(t, dir, files[i]);
        }
}

/* ---- helpers of domain.h and xml-util.h ---- */

static void test_helpers(Tally *t, const char *top) {
        uint8_t u[16], u2[16], mac[6];
        char buf[37], mbuf[18];
        uint64_t kib;

        result(t, uuid_parse_string("a099376e-a803-ca94-f99c-d9a8f9a30088", u) == 0, "uuid: dashed form parses");
        uuid_format(u, buf);
        result(t, streq(buf, "a099376e-a803-ca94-f99c-d9a8f9a30088"), "uuid: formats back dashed, lowercase");
        result(t, uuid_parse_string("A099376EA803CA94F99CD9A8F9A30088", u2) == 0 && memcmp(u, u2, 16) == 0,
               "uuid: undashed uppercase form is the same uuid");
        result(t, uuid_parse_string("a099376e-a803-ca94-f99c-d9a8f9a3008", u) < 0, "uuid: too short refused");
        result(t, uuid_parse_string("a099376ea803-ca94-f99c-d9a8f9a30088a", u) < 0, "uuid: misplaced dash refused");
        result(t, uuid_parse_string("g099376e-a803-ca94-f99c-d9a8f9a30088", u) < 0, "uuid: non-hex refused");
        result(t, uuid_generate(u) == 0 && uuid_generate(u2) == 0 && memcmp(u, u2, 16) != 0 && (u[6] >> 4) == 4 &&
               (u[8] & 0xc0) == 0x80, "uuid: generated ones are v4 and differ");

        result(t, domain_def_generate_mac(mac) == 0 && mac[0] == 0x52 && mac[1] == 0x54 && mac[2] == 0,
               "mac: generated under 52:54:00");
        result(t, mac_parse_string("52:54:00:4D:2b:cd", mac) == 0 && (mac_format(mac, mbuf), streq(mbuf, "52:54:00:4d:2b:cd")),
               "mac: parses either case, formats lowercase");
        result(t, mac_parse_string("52:54:00:4d:2b", mac) < 0 && mac_parse_string("52-54-00-4d-2b-cd", mac) < 0,
               "mac: short or dashed refused");

        result(t, domain_name_is_valid("helloworld") && domain_name_is_valid("a.b+c-d_e") && domain_name_is_valid("..."),
               "name: valid names");
        result(t, !domain_name_is_valid("") && !domain_name_is_valid(".") && !domain_name_is_valid("..") &&
               !domain_name_is_valid("a/b") && !domain_name_is_valid("a b") &&
               !domain_name_is_valid("0123456789012345678901234567890123456789012345678901234567890123x"),
               "name: empty, '.', '..', slash, space, 65 characters refused");
        result(t, domain_name_is_valid("0123456789012345678901234567890123456789012345678901234567890123"),
               "name: 64 characters accepted");

        result(t, xml_scale_to_kib(1, "KB", "KiB", &kib) == 0 && kib == 1, "units: 1 KB = 1000 bytes rounds up to 1 KiB");
        result(t, xml_scale_to_kib(1024, "b", "KiB", &kib) == 0 && kib == 1, "units: 1024 b = 1 KiB");
        result(t, xml_scale_to_kib(1025, "bytes", "KiB", &kib) == 0 && kib == 2, "units: 1025 bytes round up to 2 KiB");
        result(t, xml_scale_to_kib(3, "G", "KiB", &kib) == 0 && kib == 3145728, "units: 3 G = 3145728 KiB");
        result(t, xml_scale_to_kib(2, "TB", "KiB", &kib) == 0 && kib == 1953125000, "units: 2 TB = 1953125000 KiB");
        result(t, xml_scale_to_kib(5, NULL, "KiB", &kib) == 0 && kib == 5, "units: default KiB");
        result(t, xml_scale_to_kib(UINT64_MAX, "MiB", "KiB", &kib) == -ERANGE, "units: overflow refused");
        result(t, xml_scale_to_kib(UINT64_MAX, "b", "KiB", &kib) == 0 && kib == UINT64_MAX / 1024 + 1,
               "units: largest byte count rounds up without overflow");
        result(t, xml_scale_to_kib(1, "parsecs", "KiB", &kib) == -EINVAL, "units: unknown unit refused");
        result(t, capability_from_name("sys_admin") == 21 && streq(capability_to_name(12), "net_admin") &&
               capability_from_name("cap_sys_admin") < 0, "capabilities: names and numbers");

        /* The file API names files as given. */
        {
                _cleanup_free_ char *path = NULL;
                _cleanup_(domain_def_freep) DomainDef *def = NULL;
                XmlDiag diag = {};
                int r;

                if (asprintf(&path, "%s/good/helloworld.xml", top) < 0)
                        abort();
                r = domain_def_parse_file(path, &def, &diag);
                result(t, r == 0 && streq(def->name, "helloworld") && def->memory_kib == 102400 &&
                       !domain_def_root(def) && !domain_def_has_privnet(def) && def->n_consoles == 1,
                       "domain_def_parse_file: the seed's hello world");
                xml_diag_done(&diag);
                r = domain_def_parse_file("/nonexistent/x.xml", &def, &diag);
                result(t, r == -ENOENT && !diag.error, "domain_def_parse_file: missing file is -ENOENT");
                domain_def_free(def);
                def = NULL;
                r = domain_def_parse_file_trusted(path, &def, &diag);
                result(t, r == 0 && streq(def->name, "helloworld") && def->memory_kib == 102400 && def->n_consoles == 1,
                       "domain_def_parse_file_trusted: the seed's hello world");
                xml_diag_done(&diag);
                r = domain_def_parse_file_trusted("/nonexistent/x.xml", &def, &diag);
                result(t, r == -ENOENT && !diag.error, "domain_def_parse_file_trusted: missing file is -ENOENT");
                r = domain_def_parse(NULL, 0, NULL, &def, &diag);
                result(t, r == -EINVAL && streq_ptr(diag.error, "(string):1:1: document is empty"),
                       "domain_def_parse: empty input names '(string)'");
                xml_diag_done(&diag);
        }
}

/* ---- the parse with a compiled schema kept (vivariumd's) ---- */

/* One document through domain_def_parse() and domain_def_parse_with() a kept
 * schema: the same result, the same message, the same output and warnings. */
static void run_cached_one(Tally *t, const DomainSchema *schema, const char *dir, const char *sub, const char *file) {
        _cleanup_free_ char *path = NULL, *input = NULL, *out = NULL, *cout = NULL, *warn = NULL, *cwarn = NULL;
        _cleanup_(domain_def_freep) DomainDef *def = NULL, *cdef = NULL;
        XmlDiag diag = {}, cdiag = {};
        size_t size = 0;
        int r, cr;

        if (asprintf(&path, "%s/%s", dir, file) < 0)
                abort();
        if (read_full_file(path, &input, &size) < 0) {
                result(t, false, "domain kept schema %s/%s: cannot read", sub, file);
                return;
        }
        r = domain_def_parse(input, size, file, &def, &diag);
        cr = domain_def_parse_with(schema, input, size, file, &cdef, &cdiag);
        if (r >= 0 && cr >= 0) {
                /* The uuid is generated anew by each parse when absent. */
                memcpy(cdef->uuid, def->uuid, sizeof(def->uuid));
                out = domain_def_format(def, 0);
                cout = domain_def_format(cdef, 0);
        }
        warn = join_lines(diag.warnings);
        cwarn = join_lines(cdiag.warnings);
        if (!warn || !cwarn || (r >= 0 && cr >= 0 && (!out || !cout)))
                abort();
        result(t, r == cr && streq_ptr(diag.error, cdiag.error) && streq(warn, cwarn) && streq_ptr(out, cout),
               "domain kept schema %s/%s: the same as a fresh parse", sub, file);
        if (!streq_ptr(diag.error, cdiag.error))
                printf("#   fresh: %s\n#   kept:  %s\n", strna(diag.error), strna(cdiag.error));
        xml_diag_done(&diag);
        xml_diag_done(&cdiag);
}

static void run_cached(Tally *t, const char *top) {
        _cleanup_(domain_schema_freep) DomainSchema *schema = NULL;
        static const char *const subs[] = { "good", "bad", "good" };

        if (domain_schema_new(&schema) < 0) {
                result(t, false, "domain_schema_new: the schema compiles");
                return;
        }
        /* Every document, twice over, through the one schema. */
        FOREACH_ARRAY(sub, subs, ELEMENTSOF(subs)) {
                _cleanup_free_ char *dir = NULL;
                _cleanup_strv_free_ char **files = NULL;
                size_t n = 0;

                if (asprintf(&dir, "%s/%s", top, *sub) < 0)
                        abort();
                if (list_inputs(dir, &files, &n) < 0 || n == 0) {
                        result(t, false, "kept schema %s: no test documents in %s", *sub, dir);
                        continue;
                }
                for (size_t i = 0; i < n; i++)
                        run_cached_one(t, schema, dir, *sub, files[i]);
        }
}

/* The default user namespace: a definition without <idmap> picks a range
 * unless mode='off'; the picked range makes the live definition say pick, so
 * its live XML reads back as a picked range (idmapped mounts), not as
 * libvirt's <idmap>. */
static void test_userns_default(Tally *t) {
        static const char bare[] = "<domain type='lxc'><name>u</name><memory>1024</memory>"
                                   "<os><type>exe</type><init>/bin/sh</init></os></domain>";
        static const char off[] = "<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>"
                                  "<name>u</name><memory>1024</memory><vivarium:userns mode='off'/>"
                                  "<os><type>exe</type><init>/bin/sh</init></os></domain>";
        _cleanup_(domain_def_freep) DomainDef *def = NULL, *def_off = NULL, *back = NULL;
        _cleanup_free_ char *live = NULL;
        XmlDiag diag = {};

        result(t, domain_def_parse(bare, strlen(bare), "bare", &def, &diag) >= 0 && domain_def_userns_pick(def),
               "userns: no <idmap>, no <vivarium:userns>: a range is picked (the default)");
        xml_diag_done(&diag);
        result(t, domain_def_parse(off, strlen(off), "off", &def_off, &diag) >= 0 && !domain_def_userns_pick(def_off),
               "userns: mode='off' opts out");
        xml_diag_done(&diag);
        if (!def)
                return;
        _cleanup_free_ char *stored = domain_def_format(def, 0);
        result(t, stored && !strstr(stored, "userns") && !strstr(stored, "<idmap>"),
               "userns: the stored XML stays without <idmap> and <vivarium:userns>");
        result(t, domain_def_set_picked_range(def, 0x70010000) >= 0 && (live = domain_def_format(def, 42)) &&
               strstr(live, "<vivarium:userns mode='pick'/>") && strstr(live, "target='1879113728' count='65536'"),
               "userns: the live XML shows mode='pick' and the picked <idmap>");
        result(t, live && domain_def_parse(live, strlen(live), "live", &back, &diag) >= 0 && back->userns_picked &&
               !domain_def_userns_pick(back),
               "userns: read back, the live XML is a picked range (idmapped), nothing left to pick");
        xml_diag_done(&diag);
}

int main(int argc, char *argv[]) {
        const char *src = getenv("VIVARIUM_SOURCE_DIR");
        _cleanup_free_ char *top = NULL;
        Tally t = {};

        t.regenerate = streq_ptr(getenv("VIVARIUM_TEST_REGENERATE"), "1");
        if (asprintf(&top, "%s/tests/xml", src ? src : TEST_SOURCE_DIR) < 0)
                return 1;

        test_helpers(&t, top);
        test_userns_default(&t);
        run_dir(&t, &kinds[0], top, "good", true);
        run_dir(&t, &kinds[0], top, "bad", false);
        run_dir(&t, &kinds[1], top, "network-good", true);
        run_dir(&t, &kinds[1], top, "network-bad", false);
        if (!t.regenerate) {
                run_trusted(&t, top);
                run_cached(&t, top);
        }

        printf("%u passed, %u failed\n", t.passed, t.failed);
        return t.failed > 0 ? 1 : 0;
}
