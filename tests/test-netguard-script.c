/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netguard_script()'s rule for a port's old lease address (RENEWING, after
 * a live net-update): DHCP requests from it pass, and the rule comes before
 * the learning ones, which would otherwise take the old address back. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "netguard.h"

static int failures;

static void check(bool ok, const char *what) {
        if (ok)
                printf("ok - %s\n", what);
        else {
                fprintf(stderr, "FAIL: %s\n", what);
                failures++;
        }
}

int main(void) {
        static const uint8_t uuid[16] = { 1, 2, 3, 4 };
        static const char *const addresses[] = { "10.71.0.30" };
        static const NetGuardSubnet subnets[] = { { "10.71.0.1", 24 } };
        NetGuardPort port = {
                .device = "vnet0",
                .mac = { 0x52, 0x54, 0x00, 0x71, 0x00, 0x0a },
                .addresses = addresses,
                .n_addresses = 1,
                .subnets = subnets,
                .n_subnets = 1,
                .renewing = "10.71.0.20",
        };
        _cleanup_free_ char *script = NULL, *plain = NULL, *bad = NULL;
        const char *renew, *learn, *chaddr;
        int r;

        r = netguard_script(uuid, "nu", &port, 1, &script);
        check(r >= 0, "a script with a renewing address");
        renew = script ? strstr(script, "ip saddr 10.71.0.20 ip daddr { 255.255.255.255, 10.71.0.1 } udp sport 68 udp dport 67 accept\n") : NULL;
        check(renew, "... passes DHCP requests from the old address, to the broadcast address and the bridge only");
        learn = script ? strstr(script, "add @learned0 { ip saddr } accept") : NULL;
        check(renew && learn && renew < learn, "... before the IPv4 learning rule");
        chaddr = script ? strstr(script, "@th,288,48 != 0x52540071000a drop") : NULL;
        check(renew && chaddr && chaddr < renew, "... after the check of the client's MAC");

        port.renewing = NULL;
        r = netguard_script(uuid, "nu", &port, 1, &plain);
        check(r >= 0 && !strstr(plain, "10.71.0.20"), "without one, nothing of the old address");

        port.renewing = "fd71::b";
        r = netguard_script(uuid, "nu", &port, 1, &bad);
        check(r == -EINVAL, "a renewing address that is not IPv4 is refused");

        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
