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
