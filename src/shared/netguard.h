/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Anti-spoofing of a container's interfaces on managed networks (libvirt's
 * clean-traffic, on by default): an nftables table of the netdev family per
 * container, "vivarium-guard-UUID", with one chain per guarded interface
 * hooked at the ingress of its host-side veth. Ingress runs before the
 * bridge sees a frame, so a dropped frame teaches the bridge's forwarding
 * database nothing (not even a link-local one, which the bridge learns from
 * without its own netfilter hooks) and never reaches the host's stack.
 *
 * What passes: frames with the container's MAC as source, and of those
 * only ARP whose sender is that MAC and one of the allowed IPv4 addresses
 * (or 0.0.0.0 in a request: an address probe), IPv4 from an allowed
 * address, and DHCP from 0.0.0.0 to the broadcast address (how a lease is
 * got). DHCP carries the container's MAC as client hardware address (no
 * lease for a made-up client) and a container never answers as a DHCP
 * server. IPv6 passes from an allowed IPv6 address (its link-local and
 * SLAAC addresses, which derive from the MAC, and its <ip>s), from :: only
 * for duplicate address detection and MLD, neighbour advertisements only
 * for an allowed target, and never a router advertisement, a redirect or a
 * DHCPv6 server's answer. Everything else, other ethertypes included, is
 * dropped, as libvirt's clean-traffic does (no-other-l2-traffic).
 *
 * One more address may be learned, as clean-traffic learns one by default
 * (CTRL_IP_LEARNING=any): the first IPv4 address the container sends ARP or
 * IPv4 from, when it lies in a subnet of its bridge and is none of the
 * bridge's own addresses, nor a subnet's network or broadcast address. A
 * container that configures its address by hand (the seed's `ifconfig eth0
 * ADDR`) works; once it has used an address, allowed or learned, no other
 * passes: it cannot take the gateway's, nor hop from address to address.
 * The table is made anew when an interface is attached or detached live:
 * what each port had learned is read from the old one first
 * (netguard_parse_learned()) and put in the new one, or the container could
 * take another address then, a neighbour's included.
 *
 * When a live net-update changes the address the network keeps for a
 * running container, the table is made anew with the new one; the old one
 * (RENEWING) passes for DHCP requests only (from port 68 to 67 of the
 * broadcast address or the bridge's own, with the container's MAC as
 * client): its client's rebinding of the old lease (a broadcast) reaches
 * dnsmasq, which refuses it, and the client asks anew then instead of when
 * the old lease ends. Nothing else passes from it (its ARP neither, so a
 * unicast renewal may not leave): it may be another container's now.
 *
 * libvirt's <filterref filter='clean-traffic'> turns the filter on (also on
 * a bridge), its IP parameters are allowed addresses, and learning follows
 * CTRL_IP_LEARNING (domain_interface_ip_learning(): the caller gives no
 * subnets unless it is 'any'). DHCPSERVER adds a chain at the egress of the
 * veth (towards the container) that drops DHCP answers from other servers.
 * clean-traffic-gateway's GATEWAY_MACs restrict, ARP aside, what the
 * container sends to frames for them and what it receives to frames from
 * them (that egress chain again): neighbours on the bridge cannot talk to it
 * directly. */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "domain.h"

typedef struct NetGuardSubnet {
        char address[16];               /* the bridge's own, textual IPv4 */
        unsigned prefix;
} NetGuardSubnet;

typedef struct NetGuardPort {
        const char *device;             /* the host side of the veth */
        uint8_t mac[MAC_ADDR_LEN];      /* the container's */
        const char *const *addresses;   /* IPv4 sources allowed, textual */
        size_t n_addresses;
        const NetGuardSubnet *subnets;  /* the bridge's IPv4 addresses: where one address may be learned */
        size_t n_subnets;
        const char *const *addresses6;  /* IPv6 sources allowed, textual (netguard_eui64_address()) */
        size_t n_addresses6;
        const char *const *dhcp_servers; /* IPv4 sources of DHCP answers the container takes; none: any */
        size_t n_dhcp_servers;
        const char *const *gateway_macs; /* clean-traffic-gateway: the only MACs it talks to (ARP aside); none: any */
        size_t n_gateway_macs;
        const char *learned;            /* the IPv4 address learned before (a table made anew); NULL: none */
        const char *renewing;           /* the IPv4 address the network kept for it before a live change; NULL: none */
} NetGuardPort;

typedef struct NetGuardLearned {
        char device[16];                /* a port's device (IFNAMSIZ) */
        char address[16];               /* the IPv4 address it learned */
} NetGuardLearned;

/* From LISTING, what `nft list table netdev TABLE` printed for a table of
 * netguard_script(): the address each port learned, by its device (ports
 * that learned none are not there). -EINVAL for an address that is not
 * IPv4. */
int netguard_parse_learned(const char *listing, NetGuardLearned **ret, size_t *ret_n);

/* The address that stateless autoconfiguration (RFC 4862, the kernel's
 * default addr_gen_mode) gives MAC in the /64 of PREFIX_ADDRESS, an IPv6
 * address of that /64 ("fe80::" for the link-local one): its modified
 * EUI-64 interface identifier. -EINVAL for a PREFIX_ADDRESS that is not
 * IPv6. */
int netguard_eui64_address(const char *prefix_address, const uint8_t mac[MAC_ADDR_LEN], char ret[static 46]);

/* True when IFACE is guarded: type='network' unless
 * <vivarium:spoofcheck state='off'/>; other types only with state='on' or
 * a <filterref> (the parser allows it on type='bridge' too). */
bool netguard_wanted(const DomainInterface *iface);

/* A device name nft can quote (it has no escapes). */
bool netguard_device_name_ok(const char *name);

/* "vivarium-guard-UUID". */
int netguard_table_name(const uint8_t uuid[16], char **ret);

/* The script that replaces the container's table with one for PORTS (the
 * table is made new in one transaction). Addresses are checked: -EINVAL for
 * one that is not IPv4 (learned and renewing too) (IPv6 in addresses6; IPv4 in dhcp_servers; a MAC in gateway_macs), or for a device name nft cannot quote. */
int netguard_script(const uint8_t uuid[16], const char *container, const NetGuardPort *ports, size_t n_ports,
                    char **ret);

/* The script that deletes the table, whether it exists or not. */
int netguard_remove_script(const uint8_t uuid[16], char **ret);
