/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libvirt's <bandwidth> on the host-side device of a container's interface,
 * through libnl-route-3's qdisc/class API (nothing runs tc). The device is
 * the host's end of a veth, so the directions cross: <inbound> (traffic into
 * the container) is the device's egress, shaped by HTB; <outbound> (traffic
 * from the container) is its ingress, policed. >= 0 or -errno, never logs. */

#include <netlink/socket.h>

#include "domain.h"
#include "netlink-util.h"

/* Replaces whatever shaping the device DEV had with IN and OUT (a direction
 * that is NULL or has no average is left unshaped). <outbound> needs an ifb
 * device (netlink_bandwidth_ifb_name()) in the socket's namespace, created
 * here. On failure nothing is left. -ENODEV when DEV does not exist. */
int netlink_bandwidth_set(struct nl_sock *sk, const char *dev, const DomainBandwidthRate *in,
                          const DomainBandwidthRate *out);
/* Removes DEV's root and ingress qdiscs and its ifb device: also after DEV
 * itself is gone, for the ifb. Nothing there is success. */
int netlink_bandwidth_clear(struct nl_sock *sk, const char *dev);
/* The ifb device that carries DEV's <outbound> traffic: "ifb-DEV", or for a
 * long DEV its start and a hash of it. */
void netlink_bandwidth_ifb_name(const char *dev, char ret[IFNAMSIZ]);

/* A managed network's QoS on its bridge (libvirt's <network><bandwidth>).
 * <inbound> (towards the guests: the bridge's egress) is HTB class 1:1 at
 * its average, the default class 1:2 for the traffic without a floor under
 * it, and a class 1:ID per floor beside it; <outbound> (the bridge's
 * ingress) goes through an ifb device as an interface's does. Replaces
 * whatever the bridge had; nothing is left on failure. Removed with
 * netlink_bandwidth_clear(). Rates in KiB/s, as the XML's. */
#define NET_FIRST_FLOOR_ID 3
int netlink_network_qos_set(struct nl_sock *sk, const char *bridge, const DomainBandwidthRate *in,
                            const DomainBandwidthRate *out);
/* What the floors of a network share: its inbound peak, else its average. */
uint64_t netlink_network_qos_limit(const DomainBandwidthRate *net_in);
/* The default class's rate: what FLOOR_SUM leaves of the limit. */
int netlink_network_qos_set_floors(struct nl_sock *sk, const char *bridge, const DomainBandwidthRate *net_in,
                                   uint64_t floor_sum);
/* A floor: class 1:ID (ID >= NET_FIRST_FLOOR_ID, unique on the bridge) at
 * rate FLOOR, ceil the limit, with an SFQ leaf, and a filter (prio ID)
 * sending the frames to MAC into it. Nothing is left on failure. */
int netlink_network_qos_plug(struct nl_sock *sk, const char *bridge, const DomainBandwidthRate *net_in,
                             const uint8_t mac[6], uint64_t floor, uint16_t id);
/* Its filter and class; what is gone already (the bridge too) is success. */
int netlink_network_qos_unplug(struct nl_sock *sk, const char *bridge, uint16_t id);
