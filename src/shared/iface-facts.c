/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NAME.ifaces: see iface-facts.h. The helper writes it (helper-network.c),
 * the manager merges it into the live XML after READY. */

#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "iface-facts.h"
#include "macros.h"

int iface_facts_merge(DomainDef *def, const char *path) {
        _cleanup_free_ char *text = NULL;
        char *line, *save = NULL;
        int r;

        r = read_full_file(path, &text, NULL);
        if (r < 0)
                return r;

        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char host[64], guest[64], mac_s[32];
                uint8_t mac[MAC_ADDR_LEN];
                size_t idx;

                if (sscanf(line, "%zu %63s %63s %31s", &idx, host, guest, mac_s) != 4 ||
                    mac_parse_string(mac_s, mac) < 0)
                        return -EINVAL;
                if (idx >= def->n_interfaces)
                        continue;

                DomainInterface *iface = &def->interfaces[idx];
                if (!iface->target_dev && !streq(host, "-")) {
                        iface->target_dev = strdup(host);
                        if (!iface->target_dev)
                                return -ENOMEM;
                }
                if (!iface->has_mac) {
                        memcpy(iface->mac, mac, MAC_ADDR_LEN);
                        iface->has_mac = true;
                }
        }
        return 0;
}
