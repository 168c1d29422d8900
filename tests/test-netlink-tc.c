/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netlink-tc.c against the kernel, in a network namespace of its own: the
 * tree netlink_bandwidth_set() builds on a veth (HTB root with the rates,
 * SFQ leaf, ingress qdisc with a police filter), its replacement, and that
 * netlink_bandwidth_clear() leaves nothing. Root only: 77 otherwise. */

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pkt_sched.h>
#include <netlink/cache.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>

#include "netlink-tc.h"

static int failures;

#define CHECK(cond, ...)                                        \
        do {                                                    \
                if (!(cond)) {                                  \
                        fprintf(stderr, "FAIL: " __VA_ARGS__);  \
                        fputc('\n', stderr);                    \
                        failures++;                             \
                }                                               \
        } while (0)

/* The qdisc of ifindex at parent, or NULL; the caller puts it. */
static struct rtnl_qdisc *find_qdisc(struct nl_sock *sk, int ifindex, uint32_t parent) {
        struct nl_cache *cache = NULL;
        struct rtnl_qdisc *q;

        if (rtnl_qdisc_alloc_cache(sk, &cache) < 0)
                return NULL;
        q = rtnl_qdisc_get_by_parent(cache, ifindex, parent);
        nl_cache_free(cache);
        return q;
}

static struct rtnl_class *find_class(struct nl_sock *sk, int ifindex, uint32_t handle) {
        struct nl_cache *cache = NULL;
        struct rtnl_class *c;

        if (rtnl_class_alloc_cache(sk, ifindex, &cache) < 0)
                return NULL;
        c = rtnl_class_get(cache, ifindex, handle);
        nl_cache_free(cache);
        return c;
}

static int count_filters(struct nl_sock *sk, int ifindex, uint32_t parent) {
        struct nl_cache *cache = NULL;
        int n;

        if (rtnl_cls_alloc_cache(sk, ifindex, parent, &cache) < 0)
                return -1;
        n = nl_cache_nitems(cache);
        nl_cache_free(cache);
        return n;
}

static bool is_kind(struct rtnl_qdisc *q, const char *kind) {
        return q && strcmp(rtnl_tc_get_kind(TC_CAST(q)), kind) == 0;
}

static void check_class(struct nl_sock *sk, int ifindex, uint32_t handle, uint64_t rate, uint64_t ceil,
                        const char *what) {
        struct rtnl_class *c = find_class(sk, ifindex, handle);
        uint64_t got_rate = 0, got_ceil = 0;

        CHECK(c, "%s: no class %x:%x", what, TC_H_MAJ(handle) >> 16, TC_H_MIN(handle));
        if (!c)
                return;
        (void) rtnl_htb_get_rate64(c, &got_rate);
        (void) rtnl_htb_get_ceil64(c, &got_ceil);
        CHECK(got_rate == rate, "%s: rate %llu, expected %llu", what, (unsigned long long) got_rate,
              (unsigned long long) rate);
        CHECK(got_ceil == ceil, "%s: ceil %llu, expected %llu", what, (unsigned long long) got_ceil,
              (unsigned long long) ceil);
        rtnl_class_put(c);
}

static void check_htb(struct nl_sock *sk, int ifindex, uint64_t rate, uint64_t ceil, const char *what) {
        check_class(sk, ifindex, TC_HANDLE(1, 1), rate, ceil, what);
}

/* A network's bridge: 1:1 and the default 1:2, floors beside 1:2 with a
 * filter each, the default's rate what the floors leave, and unplug and
 * clear leave nothing. */
static void check_network_qos(struct nl_sock *sk) {
        DomainBandwidthRate in = { .average = 2048 }, out = { .average = 1024 };
        const uint8_t mac1[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 }, mac2[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 };
        struct rtnl_class *c;
        int br, r;

        if (netlink_bridge_create(sk, "vbr-tc", NULL) < 0 || (br = netlink_link_get_ifindex(sk, "vbr-tc")) < 0) {
                CHECK(false, "cannot create a bridge");
                return;
        }
        r = netlink_network_qos_set(sk, "vbr-tc", &in, &out);
        CHECK(r >= 0, "network qos: %s", strerror(-r));
        check_class(sk, br, TC_HANDLE(1, 1), 2048 * 1024, 2048 * 1024, "network 1:1");
        check_class(sk, br, TC_HANDLE(1, 2), 2048 * 1024, 2048 * 1024, "network default 1:2");
        CHECK(netlink_link_get_ifindex(sk, "ifb-vbr-tc") > 0, "no ifb-vbr-tc for the network's outbound");

        r = netlink_network_qos_plug(sk, "vbr-tc", &in, mac1, 1500, 3);
        CHECK(r >= 0, "plug 1:3: %s", strerror(-r));
        r = netlink_network_qos_plug(sk, "vbr-tc", &in, mac2, 500, 4);
        CHECK(r >= 0, "plug 1:4: %s", strerror(-r));
        r = netlink_network_qos_set_floors(sk, "vbr-tc", &in, 2000);
        CHECK(r >= 0, "default rate: %s", strerror(-r));
        check_class(sk, br, TC_HANDLE(1, 3), 1500 * 1024, 2048 * 1024, "floor 1:3");
        check_class(sk, br, TC_HANDLE(1, 4), 500 * 1024, 2048 * 1024, "floor 1:4");
        check_class(sk, br, TC_HANDLE(1, 2), 48 * 1024, 2048 * 1024, "default 1:2 after two floors");
        CHECK(count_filters(sk, br, TC_HANDLE(1, 0)) >= 2, "fewer than two MAC filters on 1:");
        r = netlink_network_qos_plug(sk, "vbr-tc", &in, mac2, 10, 4);
        CHECK(r < 0, "a second plug of 1:4 succeeded");
        check_class(sk, br, TC_HANDLE(1, 4), 500 * 1024, 2048 * 1024, "1:4 after the refused plug");

        r = netlink_network_qos_unplug(sk, "vbr-tc", 3);
        CHECK(r >= 0, "unplug 1:3: %s", strerror(-r));
        c = find_class(sk, br, TC_HANDLE(1, 3));
        CHECK(!c, "class 1:3 left after unplug");
        if (c)
                rtnl_class_put(c);
        r = netlink_network_qos_unplug(sk, "vbr-tc", 3);
        CHECK(r >= 0, "unplug of nothing: %s", strerror(-r));
        r = netlink_network_qos_set_floors(sk, "vbr-tc", &in, 2048);
        CHECK(r >= 0, "default rate with every KiB/s guaranteed: %s", strerror(-r));
        check_class(sk, br, TC_HANDLE(1, 2), 1024, 2048 * 1024, "default 1:2 with nothing left");

        r = netlink_bandwidth_clear(sk, "vbr-tc");
        CHECK(r >= 0, "clear the bridge: %s", strerror(-r));
        c = find_class(sk, br, TC_HANDLE(1, 4));
        CHECK(!c, "class 1:4 left after clear");
        if (c)
                rtnl_class_put(c);
        CHECK(netlink_link_get_ifindex(sk, "ifb-vbr-tc") == -ENODEV, "ifb-vbr-tc left after clear");
        (void) netlink_link_delete(sk, "vbr-tc");
}

int main(void) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        DomainBandwidthRate in = { .average = 1024, .peak = 2048, .burst = 64 }, out = { .average = 512 };
        DomainBandwidthRate in2 = { .average = 100 }, none = {};
        struct rtnl_qdisc *q;
        char name[IFNAMSIZ], name2[IFNAMSIZ];
        int ifindex, ifb, r;

        if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "needs root and a new network namespace: skipping\n");
                return getenv("VIVARIUM_TESTS_MUST_RUN") ? 1 : 77;
        }
        if (netlink_open(&sk) < 0 ||
            netlink_veth_create(sk, "vnet-tc", NULL, 0, "peer-tc", NULL, -1) < 0 ||
            (ifindex = netlink_link_get_ifindex(sk, "vnet-tc")) < 0) {
                fprintf(stderr, "FAIL: cannot create a veth\n");
                return 1;
        }

        r = netlink_bandwidth_set(sk, "vnet-tc", &in, &out);
        CHECK(r >= 0, "set both: %s", strerror(-r));
        q = find_qdisc(sk, ifindex, TC_H_ROOT);
        CHECK(is_kind(q, "htb"), "root is not htb");
        CHECK(q && rtnl_tc_get_handle(TC_CAST(q)) == TC_HANDLE(1, 0), "root handle is not 1:");
        CHECK(q && rtnl_htb_get_defcls(q) == 1, "htb default class is not 1");
        if (q)
                rtnl_qdisc_put(q);
        check_htb(sk, ifindex, 1024 * 1024, 2048 * 1024, "inbound");
        q = find_qdisc(sk, ifindex, TC_HANDLE(1, 1));
        /* SFQ where the kernel has it, else HTB's default FIFO */
        CHECK(!q || is_kind(q, "sfq"), "the leaf under 1:1 is not sfq");
        if (q)
                rtnl_qdisc_put(q);
        q = find_qdisc(sk, ifindex, TC_H_INGRESS);
        CHECK(is_kind(q, "ingress"), "no ingress qdisc");
        if (q)
                rtnl_qdisc_put(q);
        CHECK(count_filters(sk, ifindex, TC_HANDLE(0xffffU, 0)) >= 1, "no ingress filter");
        ifb = netlink_link_get_ifindex(sk, "ifb-vnet-tc");
        CHECK(ifb > 0, "no ifb device 'ifb-vnet-tc'");
        if (ifb > 0)
                check_htb(sk, ifb, 512 * 1024, 512 * 1024, "outbound on the ifb");

        /* a new setting replaces the old: inbound only now */
        r = netlink_bandwidth_set(sk, "vnet-tc", &in2, &none);
        CHECK(r >= 0, "replace: %s", strerror(-r));
        check_htb(sk, ifindex, 100 * 1024, 100 * 1024, "replaced inbound (ceil = average)");
        CHECK(netlink_link_get_ifindex(sk, "ifb-vnet-tc") == -ENODEV, "ifb left after outbound was removed");
        q = find_qdisc(sk, ifindex, TC_H_INGRESS);
        CHECK(!q, "ingress qdisc left after outbound was removed");
        if (q)
                rtnl_qdisc_put(q);

        r = netlink_bandwidth_set(sk, "vnet-tc", &none, &out);
        CHECK(r >= 0, "outbound only: %s", strerror(-r));
        q = find_qdisc(sk, ifindex, TC_H_ROOT);
        CHECK(!is_kind(q, "htb"), "htb left after inbound was removed");
        if (q)
                rtnl_qdisc_put(q);

        r = netlink_bandwidth_clear(sk, "vnet-tc");
        CHECK(r >= 0, "clear: %s", strerror(-r));
        r = netlink_bandwidth_clear(sk, "vnet-tc");
        CHECK(r >= 0, "clear of nothing: %s", strerror(-r));
        q = find_qdisc(sk, ifindex, TC_H_INGRESS);
        CHECK(!q, "ingress qdisc left after clear");
        if (q)
                rtnl_qdisc_put(q);

        /* the ifb outlives its veth: clear() removes it after the veth is gone */
        r = netlink_bandwidth_set(sk, "vnet-tc", &none, &out);
        CHECK(r >= 0, "outbound again: %s", strerror(-r));
        CHECK(netlink_link_delete(sk, "vnet-tc") >= 0, "cannot delete the veth");
        r = netlink_bandwidth_clear(sk, "vnet-tc");
        CHECK(r >= 0, "clear without the veth: %s", strerror(-r));
        CHECK(netlink_link_get_ifindex(sk, "ifb-vnet-tc") == -ENODEV, "ifb left after the veth went");
        r = netlink_bandwidth_set(sk, "vnet-tc", &in, &out);
        CHECK(r == -ENODEV, "set on a missing device: %d, expected -ENODEV", r);

        netlink_bandwidth_ifb_name("a-very-long-nam", name);
        CHECK(strlen(name) < IFNAMSIZ && strncmp(name, "ifb-a-ver", 9) == 0, "ifb name of a long device: '%s'", name);
        netlink_bandwidth_ifb_name("a-very-long-nax", name2);
        CHECK(strcmp(name, name2) != 0, "two long names give the same ifb '%s'", name);

        check_network_qos(sk);

        if (failures)
                return 1;
        printf("netlink-tc: all checks passed\n");
        return 0;
}
