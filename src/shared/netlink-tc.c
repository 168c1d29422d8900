/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Traffic shaping of an interface's host-side device: see netlink-tc.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include <netlink/errno.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/sfq.h>
#include <netlink/route/tc.h>

#include "netlink-tc.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_qdisc *, rtnl_qdisc_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_class *, rtnl_class_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_cls *, rtnl_cls_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_act *, rtnl_act_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);

#define NL_ERR(x) netlink_error_to_errno(x)

/* The handles of the tree (the same as libvirt's, so that a user who knows
 * `tc` output from libvirt hosts reads ours): root HTB 1:, its class 1:1,
 * the SFQ leaf 2:, and the ingress qdisc ffff:. */
#define HTB_HANDLE   TC_HANDLE(1, 0)
#define HTB_CLASS    TC_HANDLE(1, 1)
#define SFQ_HANDLE   TC_HANDLE(2, 0)
#define INGRESS_HANDLE TC_HANDLE(0xffffU, 0)   /* unsigned: 0xffff << 16 overflows an int */
/* A managed network's bridge (libvirt's layout too): 1:1 the network's
 * rate, 1:2 the default class of the traffic without a floor, 1:ID from 3
 * up a class per floor. */
#define NET_DEFAULT_CLASS TC_HANDLE(1, 2)

/* HTB takes a class's quantum from rate/r2q and complains below one frame;
 * with one class per device the quantum decides nothing but that warning. */
#define HTB_QUANTUM 1514U

static uint64_t u64_min(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

static uint64_t u64_max(uint64_t a, uint64_t b) {
        return a > b ? a : b;
}

static uint64_t kib_to_bytes(uint64_t kib) {
        return kib > UINT64_MAX / 1024 ? UINT64_MAX : kib * 1024;
}

static struct rtnl_qdisc *qdisc_new(int ifindex, uint32_t parent, uint32_t handle, const char *kind) {
        struct rtnl_qdisc *q = rtnl_qdisc_alloc();

        if (!q)
                return NULL;
        rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        rtnl_tc_set_parent(TC_CAST(q), parent);
        if (handle)
                rtnl_tc_set_handle(TC_CAST(q), handle);
        if (kind && rtnl_tc_set_kind(TC_CAST(q), kind) < 0) {
                rtnl_qdisc_put(q);
                return NULL;
        }
        return q;
}

static int qdisc_delete(struct nl_sock *sk, int ifindex, uint32_t parent) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = qdisc_new(ifindex, parent, 0, NULL);
        int r;

        if (!q)
                return -ENOMEM;
        r = NL_ERR(rtnl_qdisc_delete(sk, q));
        /* none there: the kernel's default qdisc has handle 0 and "cannot be
         * deleted" (ENOENT), a missing ingress is EINVAL on older kernels */
        if (r == -ENOENT || r == -EINVAL)
                return 0;
        return r;
}

int netlink_bandwidth_clear(struct nl_sock *sk, const char *dev) {
        char ifb[IFNAMSIZ];
        int ifindex, r = 0, k;

        ifindex = netlink_link_get_ifindex(sk, dev);
        if (ifindex > 0) {
                r = qdisc_delete(sk, ifindex, TC_H_ROOT);
                k = qdisc_delete(sk, ifindex, TC_H_INGRESS);
                if (r >= 0)
                        r = k;
        } else if (ifindex != -ENODEV)
                r = ifindex;
        netlink_bandwidth_ifb_name(dev, ifb);
        k = netlink_link_delete(sk, ifb);
        if (r >= 0 && k != -ENODEV)
                r = k;
        return r;
}

/* An HTB class HANDLE under PARENT: rate and ceil in bytes/s, burst in
 * KiB (0: the kernel's default). FLAGS: NLM_F_CREATE|NLM_F_EXCL for a new
 * one, 0 to change an existing one. */
static int htb_class_put(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t handle, uint64_t rate,
                         uint64_t ceil, uint64_t burst_kib, int flags) {
        _cleanup_(rtnl_class_putp) struct rtnl_class *cl = rtnl_class_alloc();
        int r;

        if (!cl)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(cl), ifindex);
        rtnl_tc_set_parent(TC_CAST(cl), parent);
        rtnl_tc_set_handle(TC_CAST(cl), handle);
        r = NL_ERR(rtnl_tc_set_kind(TC_CAST(cl), "htb"));
        if (r < 0)
                return r;
        if ((r = NL_ERR(rtnl_htb_set_rate64(cl, rate))) < 0 || (r = NL_ERR(rtnl_htb_set_ceil64(cl, ceil))) < 0 ||
            (r = NL_ERR(rtnl_htb_set_quantum(cl, HTB_QUANTUM))) < 0)
                return r;
        if (burst_kib > 0) {
                r = NL_ERR(rtnl_htb_set_rbuffer(cl, (uint32_t) u64_min(kib_to_bytes(burst_kib), UINT32_MAX)));
                if (r < 0)
                        return r;
        }
        return NL_ERR(rtnl_class_add(sk, cl, flags));
}

/* The SFQ leaf HANDLE of class PARENT, so that one flow cannot starve the
 * class's others. */
static int sfq_add(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t handle) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *leaf = qdisc_new(ifindex, parent, handle, "sfq");
        int r;

        if (!leaf)
                return -ENOMEM;
        /* rehash now and then, so that colliding flows do not stay together */
        rtnl_sfq_set_perturb(leaf, 10);
        r = NL_ERR(rtnl_qdisc_add(sk, leaf, NLM_F_CREATE | NLM_F_EXCL));
        /* a kernel without sch_sfq: the class keeps its default FIFO, which
         * shapes the same, only less fairly between flows */
        return r == -ENOENT ? 0 : r;
}

/* The root HTB 1: whose unclassified traffic goes to class DEFCLS. */
static int htb_root_add(struct nl_sock *sk, int ifindex, uint32_t defcls) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *root = qdisc_new(ifindex, TC_H_ROOT, HTB_HANDLE, "htb");
        int r;

        if (!root)
                return -ENOMEM;
        r = NL_ERR(rtnl_htb_set_defcls(root, TC_H_MIN(defcls)));
        if (r < 0)
                return r;
        return NL_ERR(rtnl_qdisc_add(sk, root, NLM_F_CREATE | NLM_F_EXCL));
}

/* Egress of the device: HTB root 1: sending everything to class 1:1
 * (rate = average, ceil = peak, buffer = burst), whose queue is an SFQ. */
static int shape_egress(struct nl_sock *sk, int ifindex, const DomainBandwidthRate *rate) {
        int r;

        r = htb_root_add(sk, ifindex, HTB_CLASS);
        if (r < 0)
                return r;
        r = htb_class_put(sk, ifindex, HTB_HANDLE, HTB_CLASS, kib_to_bytes(rate->average),
                          kib_to_bytes(u64_max(rate->peak, rate->average)), rate->burst, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return r;
        return sfq_add(sk, ifindex, HTB_CLASS, SFQ_HANDLE);
}

static int ifb_ensure(struct nl_sock *sk, const char *name) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int ifindex, r;

        ifindex = netlink_link_get_ifindex(sk, name);
        if (ifindex > 0)
                return ifindex;
        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        r = NL_ERR(rtnl_link_set_type(link, "ifb"));
        if (r < 0)
                return r;
        r = NL_ERR(rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
        if (r < 0)
                return r;
        ifindex = netlink_link_get_ifindex(sk, name);
        if (ifindex < 0)
                return ifindex;
        r = netlink_link_set_up(sk, ifindex, true);
        return r < 0 ? r : ifindex;
}

/* Ingress of the device: nothing can be queued there. libvirt polices it
 * (act_police drops what exceeds the rate), which many kernels lack and
 * which TCP answers with a rate well below the limit; here the traffic is
 * redirected to an ifb device whose egress is shaped as above, as the CNI
 * bandwidth plugin does: the same shaping in both directions. */
static int shape_ingress(struct nl_sock *sk, int ifindex, const char *ifb_name, const DomainBandwidthRate *rate) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *ingress = NULL;
        _cleanup_(rtnl_cls_putp) struct rtnl_cls *cls = NULL;
        _cleanup_(rtnl_act_putp) struct rtnl_act *act = NULL;
        int ifb, r;

        ifb = ifb_ensure(sk, ifb_name);
        if (ifb < 0)
                return ifb;
        r = qdisc_delete(sk, ifb, TC_H_ROOT);
        if (r < 0)
                return r;
        r = shape_egress(sk, ifb, rate);
        if (r < 0)
                return r;

        ingress = qdisc_new(ifindex, TC_H_INGRESS, INGRESS_HANDLE, "ingress");
        if (!ingress)
                return -ENOMEM;
        r = NL_ERR(rtnl_qdisc_add(sk, ingress, NLM_F_CREATE | NLM_F_EXCL));
        if (r < 0)
                return r;

        act = rtnl_act_alloc();
        cls = rtnl_cls_alloc();
        if (!act || !cls)
                return -ENOMEM;
        if ((r = NL_ERR(rtnl_tc_set_kind(TC_CAST(act), "mirred"))) < 0 ||
            (r = NL_ERR(rtnl_mirred_set_action(act, TCA_EGRESS_REDIR))) < 0 ||
            (r = NL_ERR(rtnl_mirred_set_policy(act, TC_ACT_STOLEN))) < 0 ||
            (r = NL_ERR(rtnl_mirred_set_ifindex(act, (uint32_t) ifb))) < 0)
                return r;

        rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
        rtnl_tc_set_parent(TC_CAST(cls), INGRESS_HANDLE);
        r = NL_ERR(rtnl_tc_set_kind(TC_CAST(cls), "u32"));
        if (r < 0)
                return r;
        rtnl_cls_set_prio(cls, 1);
        rtnl_cls_set_protocol(cls, ETH_P_ALL);
        /* one key, mask 0: every packet matches */
        if ((r = NL_ERR(rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0))) < 0 ||
            (r = NL_ERR(rtnl_u32_set_cls_terminal(cls))) < 0 ||
            (r = NL_ERR(rtnl_u32_add_action(cls, act))) < 0)
                return r;
        return NL_ERR(rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL));
}

void netlink_bandwidth_ifb_name(const char *dev, char ret[IFNAMSIZ]) {
        size_t n = strlen(dev);
        uint32_t h = 2166136261U;

        if (n + 4 < IFNAMSIZ) {
                snprintf(ret, IFNAMSIZ, "ifb-%s", dev);
                return;
        }
        /* too long for a prefix: the start of the name and a hash of all of it */
        for (size_t i = 0; i < n; i++)
                h = (h ^ (uint8_t) dev[i]) * 16777619U;
        snprintf(ret, IFNAMSIZ, "ifb-%.5s%06x", dev, h & 0xffffffU);
}

/* DEV's shaping replaced by IN (on its egress, by EGRESS) and OUT (its
 * ingress through an ifb); nothing left on failure. */
static int set_shaping(struct nl_sock *sk, const char *dev, const DomainBandwidthRate *in,
                       const DomainBandwidthRate *out,
                       int (*egress)(struct nl_sock *sk, int ifindex, const DomainBandwidthRate *rate)) {
        char ifb[IFNAMSIZ];
        int ifindex, r;

        ifindex = netlink_link_get_ifindex(sk, dev);
        if (ifindex < 0)
                return ifindex;
        /* A new setting replaces the old one as a whole, as in libvirt. */
        r = netlink_bandwidth_clear(sk, dev);
        if (r < 0)
                return r;
        /* floor alone (a guarantee, no limit) shapes nothing on the device */
        if (in && in->average > 0) {
                r = egress(sk, ifindex, in);
                if (r < 0)
                        goto fail;
        }
        if (out && out->average > 0) {
                netlink_bandwidth_ifb_name(dev, ifb);
                r = shape_ingress(sk, ifindex, ifb, out);
                if (r < 0)
                        goto fail;
        }
        return 0;

fail:
        (void) netlink_bandwidth_clear(sk, dev);
        return r;
}

int netlink_bandwidth_set(struct nl_sock *sk, const char *dev, const DomainBandwidthRate *in,
                          const DomainBandwidthRate *out) {
        return set_shaping(sk, dev, in, out, shape_egress);
}

/* ---- a managed network's QoS on its bridge ---- */

/* The rate that every floor on the network shares: libvirt's, its inbound
 * peak when given, else its average. */
uint64_t netlink_network_qos_limit(const DomainBandwidthRate *net_in) {
        return net_in->peak > 0 ? net_in->peak : net_in->average;
}

/* 1:1 holds the network's rate; the guests' traffic without a floor goes
 * to 1:2 (the default), each floor to a class of its own beside it
 * (netlink_network_qos_plug()). */
static int shape_network_egress(struct nl_sock *sk, int ifindex, const DomainBandwidthRate *in) {
        uint64_t limit = kib_to_bytes(netlink_network_qos_limit(in));
        int r;

        r = htb_root_add(sk, ifindex, NET_DEFAULT_CLASS);
        if (r >= 0)
                r = htb_class_put(sk, ifindex, HTB_HANDLE, HTB_CLASS, kib_to_bytes(in->average), limit, in->burst,
                                  NLM_F_CREATE | NLM_F_EXCL);
        if (r >= 0)
                r = htb_class_put(sk, ifindex, HTB_CLASS, NET_DEFAULT_CLASS, kib_to_bytes(in->average), limit,
                                  in->burst, NLM_F_CREATE | NLM_F_EXCL);
        if (r >= 0)
                r = sfq_add(sk, ifindex, NET_DEFAULT_CLASS, SFQ_HANDLE);
        return r;
}

int netlink_network_qos_set(struct nl_sock *sk, const char *bridge, const DomainBandwidthRate *in,
                            const DomainBandwidthRate *out) {
        return set_shaping(sk, bridge, in, out, shape_network_egress);
}

int netlink_network_qos_set_floors(struct nl_sock *sk, const char *bridge, const DomainBandwidthRate *net_in,
                                   uint64_t floor_sum) {
        uint64_t limit = netlink_network_qos_limit(net_in);
        /* HTB wants a rate above 0: with every KiB/s guaranteed, the rest
         * still trickles and borrows what the floors leave unused */
        uint64_t rate = floor_sum < limit ? limit - floor_sum : 1;
        int ifindex;

        ifindex = netlink_link_get_ifindex(sk, bridge);
        if (ifindex < 0)
                return ifindex;
        return htb_class_put(sk, ifindex, HTB_CLASS, NET_DEFAULT_CLASS, kib_to_bytes(rate), kib_to_bytes(limit),
                             net_in->burst, 0);
}

/* The u32 filter (prio ID) sending frames to MAC into class 1:ID. The
 * offsets are from the network header back into the Ethernet header, the
 * destination MAC's first two bytes in the low half of the word at -16
 * and its last four at -12 (as tc's "match ether dst" makes them). */
static int mac_filter_add(struct nl_sock *sk, int ifindex, const uint8_t mac[6], uint16_t id) {
        _cleanup_(rtnl_cls_putp) struct rtnl_cls *cls = rtnl_cls_alloc();
        uint32_t hi = (uint32_t) mac[0] << 8 | mac[1];
        uint32_t lo = (uint32_t) mac[2] << 24 | (uint32_t) mac[3] << 16 | (uint32_t) mac[4] << 8 | mac[5];
        int r;

        if (!cls)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
        rtnl_tc_set_parent(TC_CAST(cls), HTB_HANDLE);
        r = NL_ERR(rtnl_tc_set_kind(TC_CAST(cls), "u32"));
        if (r < 0)
                return r;
        rtnl_cls_set_prio(cls, id);
        rtnl_cls_set_protocol(cls, ETH_P_ALL);
        if ((r = NL_ERR(rtnl_u32_add_key_uint32(cls, hi, 0x0000ffffU, -16, 0))) < 0 ||
            (r = NL_ERR(rtnl_u32_add_key_uint32(cls, lo, 0xffffffffU, -12, 0))) < 0 ||
            (r = NL_ERR(rtnl_u32_set_classid(cls, TC_HANDLE(1, id)))) < 0 ||
            (r = NL_ERR(rtnl_u32_set_cls_terminal(cls))) < 0)
                return r;
        return NL_ERR(rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL));
}

/* Every filter of prio ID on the root (there is one: the MAC's). */
static int mac_filter_delete(struct nl_sock *sk, int ifindex, uint16_t id) {
        _cleanup_(rtnl_cls_putp) struct rtnl_cls *cls = rtnl_cls_alloc();
        int r;

        if (!cls)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
        rtnl_tc_set_parent(TC_CAST(cls), HTB_HANDLE);
        rtnl_cls_set_prio(cls, id);
        rtnl_cls_set_protocol(cls, ETH_P_ALL);
        r = NL_ERR(rtnl_cls_delete(sk, cls, 0));
        return r == -ENOENT ? 0 : r;
}

int netlink_network_qos_plug(struct nl_sock *sk, const char *bridge, const DomainBandwidthRate *net_in,
                             const uint8_t mac[6], uint64_t floor, uint16_t id) {
        uint64_t limit = netlink_network_qos_limit(net_in);
        int ifindex, r;

        if (id < NET_FIRST_FLOOR_ID)
                return -EINVAL;
        ifindex = netlink_link_get_ifindex(sk, bridge);
        if (ifindex < 0)
                return ifindex;
        r = htb_class_put(sk, ifindex, HTB_CLASS, TC_HANDLE(1, id), kib_to_bytes(floor), kib_to_bytes(limit), 0,
                          NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return r; /* nothing made (EEXIST: not ours to undo) */
        r = sfq_add(sk, ifindex, TC_HANDLE(1, id), TC_HANDLE(id, 0));
        if (r >= 0)
                r = mac_filter_add(sk, ifindex, mac, id);
        if (r < 0)
                (void) netlink_network_qos_unplug(sk, bridge, id);
        return r;
}

int netlink_network_qos_unplug(struct nl_sock *sk, const char *bridge, uint16_t id) {
        _cleanup_(rtnl_class_putp) struct rtnl_class *cl = NULL;
        int ifindex, r, k;

        ifindex = netlink_link_get_ifindex(sk, bridge);
        if (ifindex == -ENODEV)
                return 0; /* the bridge took everything with it */
        if (ifindex < 0)
                return ifindex;
        /* the filter first: no frame is classified into a class being deleted */
        r = mac_filter_delete(sk, ifindex, id);
        cl = rtnl_class_alloc();
        if (!cl)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(cl), ifindex);
        rtnl_tc_set_handle(TC_CAST(cl), TC_HANDLE(1, id));
        /* its SFQ goes with it */
        k = NL_ERR(rtnl_class_delete(sk, cl));
        if (k == -ENOENT)
                k = 0;
        return r < 0 ? r : k;
}
