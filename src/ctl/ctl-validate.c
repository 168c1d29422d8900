/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl validate: offline, no daemon, no root. The same parser the manager
 * uses decides, so "validates" here means "DefineXML accepts it". */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void xml_diag_donep(XmlDiag *d) {
        xml_diag_done(d);
}

static int validate_one(Context *c, const char *path) {
        _cleanup_(xml_diag_donep) XmlDiag diag = {};
        _cleanup_free_ char *xml = NULL, *root = NULL;
        const XmlModule *m;
        size_t size;
        int r;

        r = read_file_or_report(path, &xml, &size);
        if (r < 0)
                return r;
        m = ctl_xml(c);
        if (!m)
                return -ELIBACC;

        /* Which parser: by the root element. A document that is not even
         * well-formed goes to the domain parser, which says where it breaks. */
        root = m->xml_root_name(xml, size);
        if (root && streq(root, "network")) {
                NetworkDef *net = NULL;
                r = m->network_def_parse_file(path, &net, &diag);
                m->network_def_free(net);
        } else {
                _cleanup_(domain_def_freep) DomainDef *def = NULL;
                r = m->domain_def_parse_file(path, &def, &diag);
        }

        /* Warnings come complete: "FILE:LINE:COL: warning: ...". */
        for (char **w = diag.warnings; w && *w; w++)
                fprintf(stderr, "%s\n", *w);

        if (r < 0) {
                if (diag.error)
                        return ctl_error(r, "%s", diag.error);
                return ctl_error(r, "%s: %s", path, strerror(-r));
        }

        printf("%s validates\n", path);
        return 0;
}

static int verb_validate(Context *c, const VerbArgs *a) {
        int ret = 0;

        for (size_t i = 0; i < a->n_multi; i++) {
                int r = validate_one(c, a->multi[i]);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

static const VerbOption validate_options[] = {
        { "file", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED | OPT_MULTI, "XML documents to validate" },
        {}
};

const Verb verb_table_validate[] = {
        { "validate", "Virsh itself", "validate an XML file against the schema",
          "Validates domain (and network) XML documents offline, without the\n"
          "daemon: well-formedness, the RelaxNG schema and the semantic checks\n"
          "DefineXML applies. Prints 'FILE validates' for each good document and\n"
          "the error with its line and column for a bad one; warnings go to\n"
          "standard error. Exits 1 when any document fails.",
          validate_options, 0, verb_validate },
        {}
};
