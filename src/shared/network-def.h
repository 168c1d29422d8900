/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libvirt's <network> format, the part Vivarium brings up itself: a bridge,
 * optional NAT/routed forwarding, IP addresses with DHCP ranges and static
 * hosts. Parsed like the domain XML (well-formedness, RelaxNG
 * xml/network.rng, semantic checks) and written back normalized. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain-xml.h"

typedef enum NetworkForwardMode {
        NETWORK_FORWARD_ISOLATED, /* no <forward> (or mode='none'): guests and host only */
        NETWORK_FORWARD_NAT,
        NETWORK_FORWARD_ROUTE,
        NETWORK_FORWARD_OPEN,
        _NETWORK_FORWARD_MAX,
} NetworkForwardMode;

typedef struct NetworkDhcpRange {
        char *start;
        char *end;
} NetworkDhcpRange;

typedef struct NetworkDhcpHost {
        uint8_t mac[6];
        bool has_mac;           /* IPv4 only (libvirt's rule) */
        char *id;               /* IPv6 only: the client's DHCPv6 DUID, hex bytes "00:01:..."; NULL = none */
        char *name;             /* NULL = none */
        char *ip;
} NetworkDhcpHost;

/* The MAC address inside a DHCPv6 DUID of type 1 (link-layer address plus
 * time) or 3 (link-layer address) over Ethernet, as ID is written in a
 * <host id=...>: what tells which container a reservation by DUID is for.
 * -EINVAL for another DUID (vendor, UUID, other hardware). */
int network_duid_mac(const char *id, uint8_t ret[6]);

typedef struct NetworkIP {
        int family;             /* AF_INET or AF_INET6 */
        char *address;          /* the host's (bridge's) address */
        unsigned prefix;
        bool netmask_form;      /* given as netmask= (IPv4): written back the same way */
        bool dhcp;              /* a <dhcp> element was present */
        NetworkDhcpRange *ranges;
        size_t n_ranges;
        NetworkDhcpHost *hosts;
        size_t n_hosts;
} NetworkIP;

/* <dns><host ip=...><hostname>NAME</hostname>...</host>: names dnsmasq
 * answers on the network (its addn-hosts file). */
typedef struct NetworkDnsHost {
        int family;             /* of ip */
        char *ip;
        char **hostnames;       /* n_hostnames >= 1 */
        size_t n_hostnames;
} NetworkDnsHost;

/* <dns><txt name= value=/>: a TXT record dnsmasq serves. */
typedef struct NetworkDnsTxt {
        char *name;
        char *value;            /* NULL only in a partial entry (net-update delete) */
} NetworkDnsTxt;

/* <dns><srv service= protocol= domain= target= port= priority= weight=/>:
 * an SRV record _SERVICE._PROTOCOL[.DOMAIN] dnsmasq serves. */
typedef struct NetworkDnsSrv {
        char *service;          /* NULL only in a partial entry */
        char *protocol;         /* likewise */
        char *domain;           /* NULL = the network's <domain> */
        char *target;           /* NULL = none: the service is not offered */
        unsigned port, priority, weight;
        bool has_port, has_priority, has_weight;
} NetworkDnsSrv;

/* <dns><forwarder addr= domain=/>: where dnsmasq sends the questions it
 * cannot answer (for DOMAIN only when given); a domain without an address
 * is answered from the network's own names only, never forwarded. */
typedef struct NetworkDnsForwarder {
        char *addr;             /* NULL = none */
        char *domain;           /* NULL = every name */
} NetworkDnsForwarder;

/* An attribute libvirt writes back only when it was given. */
typedef enum NetworkTristate {
        NETWORK_TRISTATE_ABSENT,
        NETWORK_TRISTATE_YES,
        NETWORK_TRISTATE_NO,
} NetworkTristate;

typedef struct NetworkDef {
        char *name;
        uint8_t uuid[16];
        bool uuid_generated;

        char *bridge;           /* <bridge name=...>, NULL = chosen at start (virbrN) */
        bool stp;               /* default on, as libvirt */
        unsigned delay;         /* forward delay in seconds */

        NetworkForwardMode forward;
        char *forward_dev;      /* <forward dev=...>, NULL = any */

        uint8_t mac[6];
        bool has_mac;

        char *domain_name;      /* <domain name=...> for DNS */
        NetworkTristate domain_local_only; /* yes: names in it never forwarded */

        NetworkIP *ips;
        size_t n_ips;

        NetworkDnsHost *dns_hosts;
        size_t n_dns_hosts;
        NetworkDnsTxt *dns_txts;
        size_t n_dns_txts;
        NetworkDnsSrv *dns_srvs;
        size_t n_dns_srvs;
        NetworkDnsForwarder *dns_forwarders;
        size_t n_dns_forwarders;
        NetworkTristate dns_enable;             /* <dns enable=>: no = dnsmasq answers no DNS */
        NetworkTristate dns_forward_plain_names; /* no = names without a dot are never forwarded */

        /* <bandwidth>, libvirt's network QoS: inbound (towards the guests)
         * shapes the bridge's egress, which a floor of an interface on the
         * network takes its guaranteed share of; outbound its ingress. */
        DomainBandwidthRate bw_in;
        DomainBandwidthRate bw_out;
} NetworkDef;

NetworkDef *network_def_free(NetworkDef *def);
static inline void network_def_freep(NetworkDef **p) {
        if (*p)
                network_def_free(*p);
}

const char *network_forward_mode_to_string(NetworkForwardMode m);

/* Same contract as domain_def_parse(). */
int network_def_parse(const char *xml, size_t size, const char *filename, NetworkDef **ret, XmlDiag *diag);

/* NETWORK_PARSE_PARTIAL_DNS: a <txt> may lack value=, an <srv> service= or
 * protocol= (net-update's delete names a record by what it gives). */
#define NETWORK_PARSE_PARTIAL_DNS 1u
/* NETWORK_PARSE_STORED: a definition read back from the manager's store.
 * What an older Vivarium stored and this one refuses at define is dropped
 * with a warning instead, so that the network still loads: an IPv6 <host
 * mac=> (accepted before DHCPv6 was served; DHCPv6 knows a client by its
 * DUID, and libvirt refuses it). */
#define NETWORK_PARSE_STORED 2u
int network_def_parse_flags(const char *xml, size_t size, const char *filename, unsigned flags, NetworkDef **ret,
                            XmlDiag *diag);

void network_dns_txt_done(NetworkDnsTxt *t);
void network_dns_srv_done(NetworkDnsSrv *s);
int network_def_parse_file(const char *path, NetworkDef **ret, XmlDiag *diag);

/* Normalized document; NULL on ENOMEM. */
char *network_def_format(const NetworkDef *def);
