/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for domain_def_from_wire(): any input is refused with
 * -EBADMSG or decodes to a model that encodes back to exactly the input (the
 * format has one encoding per model), and whose encoding decodes again. A
 * crash, a leak, a read past the input or a failed assertion is a bug. */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "domain-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DomainDef *def = NULL, *def2 = NULL;
        char **bridges = NULL, **bridges2 = NULL;
        void *wire = NULL, *wire2 = NULL;
        size_t wire_size = 0, wire2_size = 0;
        int r;

        r = domain_def_from_wire(data, size, &def, &bridges);
        if (r < 0) {
                assert(r == -EBADMSG || r == -ENOMEM);
                return 0;
        }
        r = domain_def_to_wire(def, bridges, &wire, &wire_size);
        assert(r == 0);
        if (wire_size != size || memcmp(wire, data, size) != 0) {
                fprintf(stderr, "decodes, but encodes back to other bytes (%zu vs %zu)\n", size, wire_size);
                abort();
        }

        r = domain_def_from_wire(wire, wire_size, &def2, &bridges2);
        assert(r == 0);
        r = domain_def_to_wire(def2, bridges2, &wire2, &wire2_size);
        assert(r == 0);
        if (wire2_size != wire_size || memcmp(wire, wire2, wire_size) != 0) {
                fprintf(stderr, "the second round trip gives other bytes\n");
                abort();
        }

        domain_wire_bridges_free(bridges, def->n_interfaces);
        domain_wire_bridges_free(bridges2, def2->n_interfaces);
        domain_def_free(def);
        domain_def_free(def2);
        free(wire);
        free(wire2);
        return 0;
}
