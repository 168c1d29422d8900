/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the domain and network XML parsers. The first byte
 * picks the parser; a document that parses must format, and the formatted
 * text must parse again to the same text: a crash, a leak or a failed
 * assertion is a bug. */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>

#include "domain-xml.h"
#include "network-def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void ignore_generic_error(void *ctx, const char *msg, ...) {
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        xmlInitParser();
        /* libxml2 prints some errors through the generic handler: keep the output readable. */
        xmlSetGenericErrorFunc(NULL, ignore_generic_error);
        return 0;
}

/* The parse without RelaxNG (the helper's, of the live XML): on any input it
 * fails with a message or gives a model that formats; on a document the
 * validating parse accepts, it gives the same model. Returns the formatted
 * model, or NULL when it refused the document. */
static char *fuzz_domain_trusted(const char *xml, size_t size, DomainDef **ret_def) {
        DomainDef *def = NULL;
        XmlDiag diag = {};
        char *out;
        int r;

        r = domain_def_parse_trusted(xml, size, "fuzz.xml", &def, &diag);
        xml_diag_done(&diag);
        if (r < 0) {
                assert(r == -EINVAL || r == -ENOMEM);
                return NULL;
        }
        out = domain_def_format(def, 1);
        assert(out);
        *ret_def = def;
        return out;
}

static void fuzz_domain(const char *xml, size_t size) {
        DomainDef *def = NULL, *def2 = NULL, *tdef = NULL;
        XmlDiag diag = {}, diag2 = {};
        char *out, *out2, *tout;
        int r;

        tout = fuzz_domain_trusted(xml, size, &tdef);

        r = domain_def_parse(xml, size, "fuzz.xml", &def, &diag);
        if (r < 0) {
                assert(r == -EINVAL || r == -ENOMEM);
                assert(r != -EINVAL || diag.error);
                xml_diag_done(&diag);
                free(tout);
                domain_def_free(tdef);
                return;
        }
        if (!tout) {
                fprintf(stderr, "the validating parse accepts what the trusted parse refuses\n");
                abort();
        }
        out = domain_def_format(def, 1);
        assert(out);
        if (def->uuid_generated) {
                /* Two parses generate two UUIDs: compare the rest. */
                memcpy(tdef->uuid, def->uuid, sizeof(def->uuid));
                free(tout);
                tout = domain_def_format(tdef, 1);
                assert(tout);
        }
        if (strcmp(out, tout) != 0) {
                fprintf(stderr, "the trusted parse gives another model:\n%s---\n%s", out, tout);
                abort();
        }
        free(tout);
        domain_def_free(tdef);
        r = domain_def_parse(out, strlen(out), "out.xml", &def2, &diag2);
        if (r < 0) {
                fprintf(stderr, "output does not re-parse: %s\n%s", diag2.error ? diag2.error : "?", out);
                abort();
        }
        out2 = domain_def_format(def2, 1);
        assert(out2);
        if (strcmp(out, out2) != 0) {
                fprintf(stderr, "format is not idempotent:\n%s---\n%s", out, out2);
                abort();
        }
        free(out);
        free(out2);
        domain_def_free(def);
        domain_def_free(def2);
        xml_diag_done(&diag);
        xml_diag_done(&diag2);
}

static void fuzz_network(const char *xml, size_t size) {
        NetworkDef *def = NULL, *def2 = NULL;
        XmlDiag diag = {}, diag2 = {};
        char *out, *out2;
        int r;

        r = network_def_parse(xml, size, "fuzz.xml", &def, &diag);
        if (r < 0) {
                assert(r == -EINVAL || r == -ENOMEM);
                assert(r != -EINVAL || diag.error);
                xml_diag_done(&diag);
                return;
        }
        out = network_def_format(def);
        assert(out);
        r = network_def_parse(out, strlen(out), "out.xml", &def2, &diag2);
        if (r < 0) {
                fprintf(stderr, "output does not re-parse: %s\n%s", diag2.error ? diag2.error : "?", out);
                abort();
        }
        out2 = network_def_format(def2);
        assert(out2);
        if (strcmp(out, out2) != 0) {
                fprintf(stderr, "format is not idempotent:\n%s---\n%s", out, out2);
                abort();
        }
        free(out);
        free(out2);
        network_def_free(def);
        network_def_free(def2);
        xml_diag_done(&diag);
        xml_diag_done(&diag2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > 256 * 1024)
                return 0;
        /* Odd first byte: network; the rest is the document. Seeds start with
         * '<' (even) and so exercise the domain parser as they are. */
        if (data[0] & 1)
                fuzz_network((const char *) data + 1, size - 1);
        else
                fuzz_domain((const char *) data, size);
        return 0;
}
