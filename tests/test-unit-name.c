/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unit-name.c against what `systemd-escape` prints for the same strings. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "unit-name.h"

static int failures;

static void check_escape(const char *in, const char *expected) {
        _cleanup_free_ char *out = NULL;
        int r = unit_name_escape(in, &out);

        if (r < 0 || !streq(out, expected)) {
                fprintf(stderr, "FAIL: escape('%s') = '%s' (r=%d), expected '%s'\n", in, strna(out), r, expected);
                failures++;
        } else
                printf("ok - escape('%s') = '%s'\n", in, out);
}

static void check_scope(const char *name, const char *expected) {
        _cleanup_free_ char *out = NULL;
        int r = unit_name_machine_scope(name, &out);

        if (r < 0 || !streq(out, expected)) {
                fprintf(stderr, "FAIL: machine scope of '%s' = '%s' (r=%d), expected '%s'\n", name, strna(out), r,
                        expected);
                failures++;
        } else
                printf("ok - machine scope of '%s' = '%s'\n", name, out);
}

int main(void) {
        check_escape("helloworld", "helloworld");
        check_escape("my-ct", "my\\x2dct");
        check_escape(".hidden", "\\x2ehidden");
        check_escape("a.b", "a.b");
        check_escape("a+b", "a\\x2bb");
        check_escape("a:b_c", "a:b_c");
        check_escape("x y", "x\\x20y");
        check_escape("a\\b", "a\\x5cb");
        check_escape("a/b", "a-b");
        check_escape("", "");
        check_escape("\xc3\xbc", "\\xc3\\xbc");

        check_scope("helloworld", "machine-helloworld.scope");
        check_scope("web-1", "machine-web\\x2d1.scope");
        check_scope(".x", "machine-\\x2ex.scope");

        if (unit_name_escape(NULL, &(char *){ NULL }) != -EINVAL) {
                fprintf(stderr, "FAIL: escape(NULL) is not -EINVAL\n");
                failures++;
        }

        printf("%s\n", failures ? "FAILED" : "all passed");
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
