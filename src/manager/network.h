/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Managed networks (libvirt's <network>): the model, the store under
 * /etc/vivarium/networks, bringing a network up and down (bridge through
 * libnl, dnsmasq in a transient unit, nftables rules), adoption after a
 * manager restart, and the D-Bus side (Manager methods, Network objects). */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "manager.h"
#include "network-def.h"

#define VIV_RUN_NETWORKS_DIR    "/run/vivarium/networks"
#define VIV_DNSMASQ_LEASE_DIR   LOCALSTATEDIR "/lib/vivarium/dnsmasq"
#define VIV_NETWORK_DIST_DIR    DATADIR_VIV "/networks"
#define VIV_DNSMASQ_PATH        "/usr/sbin/dnsmasq"
#define VIV_NFT_PATH            "/usr/sbin/nft"
/* Debian and Fedora ship it with systemd (ports.c: the [::1] relay) */
/* the same for UDP, ours (src/relay/) */
#define VIV_TCP_RELAY_PATH      LIBEXECDIR "/vivarium-tcp-relay"
#define VIV_UDP_RELAY_PATH      LIBEXECDIR "/vivarium-udp-relay"

#define VIV_ERROR_NO_SUCH_NETWORK     "org.vivarium1.Error.NoSuchNetwork"
#define VIV_ERROR_NETWORK_EXISTS      "org.vivarium1.Error.NetworkExists"
#define VIV_ERROR_NETWORK_ACTIVE      "org.vivarium1.Error.NetworkActive"
#define VIV_ERROR_NETWORK_NOT_ACTIVE  "org.vivarium1.Error.NetworkNotActive"

/* GetNetworkXML flags: libvirt's VIR_NETWORK_XML_INACTIVE. */
#define VIV_NETWORK_XML_INACTIVE UINT64_C(1)

typedef struct Network Network;

/* The address a running container's interface has on the network
 * (network-lease.c). */
typedef struct NetworkReservation {
        char *container;
        uint8_t mac[6];
        uint32_t addr;          /* IPv4, host order; 0 = none */
        struct in6_addr addr6;  /* DHCPv6, when has_addr6 */
        bool has_addr6;
        bool addr6_by_duid;     /* a <host id=...> of the network gives it: no line of ours */
} NetworkReservation;

/* The floor of a running container's interface on the network: its class
 * 1:ID on the bridge (network-qos.c). */
typedef struct NetworkQosPort {
        char *container;
        uint8_t mac[6];
        uint64_t floor;         /* KiB/s */
        uint16_t id;
} NetworkQosPort;

typedef enum NetworkOp {
        NETWORK_OP_NONE,
        NETWORK_OP_STARTING,  /* bridge and rules made, waiting for dnsmasq's unit */
        NETWORK_OP_STOPPING,  /* bridge and rules gone, waiting for dnsmasq's unit to stop */
} NetworkOp;

struct Network {
        Networks *owner;
        char *name;
        char *path;             /* D-Bus object path */
        char *unit;             /* vivarium-dnsmasq-ESCAPED.service */

        NetworkDef *def;        /* the persistent definition (or the transient one) */
        NetworkDef *live;       /* while active: what runs (the bridge is always named) */
        bool persistent;
        bool autostart;
        bool active;

        NetworkOp op;
        sd_bus_message *pending;        /* the call answered when op ends */
        bool pending_wants_path;        /* CreateNetworkXML: answered with the path */
        char *job;                      /* systemd job of dnsmasq's unit */
        bool has_dnsmasq;               /* the live network runs dnsmasq */

        NetworkReservation *reservations; /* while active, in NAME.hosts */
        size_t n_reservations;

        NetworkQosPort *qos_ports;      /* while active: the floors on its bridge */
        size_t n_qos_ports;

        Network *next;
};

struct Networks {
        Manager *manager;
        Network *list;

        char *etc_dir;          /* /etc/vivarium/networks */
        char *run_dir;          /* /run/vivarium/networks */
        char *lease_dir;        /* /var/lib/vivarium/dnsmasq */
        char *dist_dir;         /* /usr/share/vivarium/networks: default.xml */
        char *dnsmasq_path;
        char *nft_path;

        sd_bus_slot *job_slot;  /* JobRemoved */
};

/* network.c */
int networks_init(Manager *m);           /* load, install the default network, adopt running ones */
void networks_free(Manager *m);
bool networks_busy(Manager *m);
void networks_autostart_once(Manager *m); /* before the containers' autostart */

Network *network_find(Networks *ns, const char *name);
Network *network_find_by_path(Networks *ns, const char *path);
int network_from_name(Networks *ns, const char *name, Network **ret, sd_bus_error *error);
const NetworkDef *network_current_def(const Network *n);

int network_define(Networks *ns, NetworkDef *def, bool persistent, Network **ret, sd_bus_error *error);
int network_undefine(Network *n, sd_bus_error *error);
int network_start(Network *n, sd_bus_message *msg, sd_bus_error *error);
int network_destroy(Network *n, sd_bus_message *msg, sd_bus_error *error);
int network_set_autostart(Network *n, bool on, sd_bus_error *error);
void network_drop(Network *n);           /* removes a transient, inactive network */
int network_def_copy(const NetworkDef *def, NetworkDef **ret);
/* Bridge, forward device, domain and DHCP host names that are safe in
 * dnsmasq's and nft's configuration; InvalidConfig otherwise. */
int network_check_names(const NetworkDef *def, sd_bus_error *error);
int network_save_live(Network *n);       /* /run/vivarium/networks/NAME.xml from n->live */

/* network-bus.c */
int networks_bus_setup(Manager *m);
int network_emit_event(Network *n, const char *event, const char *detail);
int network_emit_changed(Network *n, const char *prop);

int method_define_network_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_create_network_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_undefine_network(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_start_network(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_destroy_network(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_list_networks(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_get_network(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_get_network_xml(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_set_network_autostart(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_get_network_dhcp_leases(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_update_network(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* network-update.c: Network.Update(s command, s section, i parent_index,
 * s xml, t flags), net-update; answers msg */
int network_update(Network *n, sd_bus_message *msg, sd_bus_error *error);

/* network-query.c: Network.GetDHCPLeases(s mac) (userdata: the Network) and
 * Manager.GetInterfaceAddresses(s name, s source) */
int network_get_dhcp_leases(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_get_interface_addresses(sd_bus_message *msg, void *userdata, sd_bus_error *error);

#define NETWORK_MANAGER_METHODS                                                                                  \
        SD_BUS_METHOD_WITH_NAMES("DefineNetworkXML", "s", SD_BUS_PARAM(xml), "o", SD_BUS_PARAM(path),            \
                                 method_define_network_xml, SD_BUS_VTABLE_UNPRIVILEGED),                         \
        SD_BUS_METHOD_WITH_NAMES("CreateNetworkXML", "s", SD_BUS_PARAM(xml), "o", SD_BUS_PARAM(path),            \
                                 method_create_network_xml, SD_BUS_VTABLE_UNPRIVILEGED),                         \
        SD_BUS_METHOD_WITH_NAMES("UndefineNetwork", "s", SD_BUS_PARAM(name), "", ,                               \
                                 method_undefine_network, SD_BUS_VTABLE_UNPRIVILEGED),                           \
        SD_BUS_METHOD_WITH_NAMES("StartNetwork", "s", SD_BUS_PARAM(name), "", ,                                  \
                                 method_start_network, SD_BUS_VTABLE_UNPRIVILEGED),                              \
        SD_BUS_METHOD_WITH_NAMES("DestroyNetwork", "s", SD_BUS_PARAM(name), "", ,                                \
                                 method_destroy_network, SD_BUS_VTABLE_UNPRIVILEGED),                            \
        SD_BUS_METHOD_WITH_NAMES("ListNetworks", "", , "a(ssbbo)", SD_BUS_PARAM(networks),                       \
                                 method_list_networks, SD_BUS_VTABLE_UNPRIVILEGED),                              \
        SD_BUS_METHOD_WITH_NAMES("GetNetwork", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(path),                 \
                                 method_get_network, SD_BUS_VTABLE_UNPRIVILEGED),                                \
        SD_BUS_METHOD_WITH_NAMES("GetNetworkXML", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(flags), "s",             \
                                 SD_BUS_PARAM(xml), method_get_network_xml, SD_BUS_VTABLE_UNPRIVILEGED),         \
        SD_BUS_METHOD_WITH_NAMES("SetNetworkAutostart", "sb", SD_BUS_PARAM(name) SD_BUS_PARAM(on), "", ,         \
                                 method_set_network_autostart, SD_BUS_VTABLE_UNPRIVILEGED),                      \
        SD_BUS_METHOD_WITH_NAMES("GetNetworkDHCPLeases", "ss", SD_BUS_PARAM(name) SD_BUS_PARAM(mac),            \
                                 "a(stisssuss)", SD_BUS_PARAM(leases), method_get_network_dhcp_leases,          \
                                 SD_BUS_VTABLE_UNPRIVILEGED),                                                    \
        SD_BUS_METHOD_WITH_NAMES("UpdateNetwork", "sssist",                                                    \
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(command) SD_BUS_PARAM(section)                  \
                                 SD_BUS_PARAM(parent_index) SD_BUS_PARAM(xml) SD_BUS_PARAM(flags), "", ,         \
                                 method_update_network, SD_BUS_VTABLE_UNPRIVILEGED),                             \
        SD_BUS_METHOD_WITH_NAMES("GetInterfaceAddresses", "ss", SD_BUS_PARAM(name) SD_BUS_PARAM(source),        \
                                 "a(ssa(isu))", SD_BUS_PARAM(interfaces), method_get_interface_addresses,       \
                                 SD_BUS_VTABLE_UNPRIVILEGED),                                                    \
        SD_BUS_SIGNAL_WITH_NAMES("NetworkEvent", "sss",                                                          \
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(event) SD_BUS_PARAM(detail), 0)

/* network-dnsmasq.c */
bool network_wants_dnsmasq(const NetworkDef *def);
int dnsmasq_write_config(Networks *ns, const NetworkDef *def, char **ret_path);
/* While the network runs: the configuration again, the containers' hosts
 * file kept (net-update of a range, then a restart of the unit). */
int dnsmasq_rewrite_config(Networks *ns, const NetworkDef *def);
/* Closes the open_memstream() F of TEXT and writes TEXT atomically to PATH
 * under the run directory (made if missing). */
int network_write_run_file(Networks *ns, const char *path, FILE **f, char **text);
/* NAME.dhcp-hosts and NAME.addn-hosts: the network's <ip><dhcp><host> and
 * <dns><host> entries, both re-read on SIGHUP. */
int dnsmasq_write_static_hosts(Networks *ns, const NetworkDef *def);
int dnsmasq_start(Network *n);          /* StartTransientUnit; the job goes to n->job */
int dnsmasq_stop(Network *n, bool wait); /* StopUnit; with wait, the job goes to n->job */
int dnsmasq_stop_unit_of(Networks *ns, const char *name); /* StopUnit, not waited for */
int network_unit_name(const char *name, char **ret);
/* network.c: systemd's answer to StartTransientUnit/StopUnit of a network's unit */
void network_unit_call_done(Networks *ns, const char *name, const char *job, const sd_bus_error *e);
void dnsmasq_remove_files(Networks *ns, const char *name);
int dnsmasq_unit_is_active(Networks *ns, const char *unit);

/* network-lease.c */
int network_hosts_path(Networks *ns, const char *name, char **ret);
/* The IPv4 and IPv6 addresses the network's DHCP gives MAC from now on
 * (NULL: the network has no DHCP of that family); refuses the start when a
 * range is full. */
int network_reserve_address(Network *n, const char *container, const uint8_t mac[6], char **ret_address,
                            char **ret_address6, sd_bus_error *error);
void networks_release_container(Manager *m, const char *container); /* and its leases */
/* one interface's (a live detach, or an attach that failed) */
void network_release_address(Network *n, const char *container, const uint8_t mac[6]);
/* After a live change of the network's <host>s: what a start would give
 * CONTAINER's interface MAC now, against what it was given (OLD_ADDRESS,
 * OLD_ADDRESS6; NULL: none). 1 when that changed: the reservation is the
 * new one (NAME.hosts, dnsmasq reloaded), *ret_address and *ret_address6
 * are the new ones (NULL: none); 0 when nothing changed. The old leases
 * stay until network_release_old_leases(): once the container's filter no
 * longer allows them. */
int network_rereserve_address(Network *n, const char *container, const uint8_t mac[6], const char *old_address,
                              const char *old_address6, char **ret_address, char **ret_address6,
                              sd_bus_error *error);
/* dnsmasq's leases of OLD_ADDRESS and OLD_ADDRESS6 (NULL: none) of MAC,
 * where they differ from ADDRESS and ADDRESS6, back to the pool. */
void network_release_old_leases(Network *n, const uint8_t mac[6], const char *old_address, const char *address,
                                const char *old_address6, const char *address6);
/* A and B, textual addresses of FAMILY, are the same one (both NULL too). */
bool network_same_address(int family, const char *a, const char *b);
void network_reservations_clear(Network *n);
/* SIGHUP to the network's dnsmasq: its hosts files again (logs a failure). */
void network_reload_dnsmasq(Network *n);
void networks_adopt_reservations(Manager *m);
/* After networks_adopt_reservations(): the lease_address and lease_address6
 * of each running container's interfaces on a managed network, which the
 * live XML does not hold (published ports and a live net-update use them). */
void networks_adopt_leases(Manager *m);
/* ADDR (struct in_addr or in6_addr of FAMILY) is an <ip> of a running
 * container's interface on N: never one to give by DHCP. */
bool network_address_configured(Network *n, int family, const void *addr);

/* network-lease6.c: DHCPv6 */
/* The addresses in an IPv6 range (-EINVAL for a range that is not IPv6). */
int network_range6_size(const NetworkDhcpRange *r, uint64_t *ret);
/* The network's IPv6 <ip> whose DHCP gives addresses (a range or hosts), or NULL. */
const NetworkIP *network_dhcp6_ip(const NetworkDef *def);
/* Whether A is the address of an IPv6 <host id=> of DEF whose DUID holds
 * MAC (dnsmasq finds that client by its DUID: no line of ours). */
bool network_addr6_by_duid(const NetworkDef *def, const uint8_t mac[6], const struct in6_addr *a);
/* H's id= is a DUID with MAC in it (types 1 and 3). */
bool network_host_duid_has_mac(const NetworkDhcpHost *h, const uint8_t mac[6]);
/* The address DHCPv6 is to give CONTAINER's interface MAC (1), as
 * network_reserve_address() picks one: a <host> of IP6 whose id= is a DUID
 * with MAC in it (*ret_by_duid) or whose name= is the container's, else a
 * free one of IP6's ranges, starting at a hash of MAC. 0: none to give (no
 * range), -ENOSPC: the ranges are full. LEASES: dnsmasq's lease file. */
int network_pick_address6(Network *n, const NetworkIP *ip6, const char *container, const uint8_t mac[6],
                          const char *leases, struct in6_addr *ret, bool *ret_by_duid);
/* DHCPv6 RELEASE of the lease of ADDR (whoever holds it), so that dnsmasq
 * forgets it now (dnsmasq-utils' dhcp_release6); nothing without one. */
void network_release_lease6(Network *n, const struct in6_addr *addr);
/* The MAC of the interface that holds the IPv6 lease of ADDRESS with
 * CLIENT_DUID: a reservation's, else the one in the DUID. */
int network_lease6_mac(Network *n, const char *address, const char *client_duid, uint8_t ret[6]);

/* network-qos.c: <bandwidth> of a network on its bridge, and the floors of
 * the interfaces on it */
int network_qos_apply(Network *n, const NetworkDef *live, sd_bus_error *error); /* at net-start */
/* The floor of IFACE (a type='network' interface on N) of CONTAINER: checked
 * against the network's QoS and the other floors (StartFailed with
 * libvirt's message), then its class on the bridge. No floor: nothing. */
int network_qos_plug(Network *n, const char *container, const DomainInterface *iface, sd_bus_error *error);
/* domiftune: the floor of a plugged (or not) interface to NEW_FLOOR (0: none). */
int network_qos_change(Network *n, const char *container, const DomainInterface *iface, uint64_t new_floor,
                       sd_bus_error *error);
/* The classes of CONTAINER's floors (only MAC's unless NULL) go. */
void network_qos_release(Network *n, const char *container, const uint8_t *mac);
void network_qos_clear(Network *n);     /* forgets them: the bridge is gone */
void networks_adopt_qos(Manager *m);

/* network-nft.c */
int nft_apply(Networks *ns, const NetworkDef *def, char **ret_error);
int nft_remove(Networks *ns, const char *name);
int nft_table_name(const char *network, char **ret);
void nft_remove_guard(Manager *m, const DomainDef *live);
/* nft of the networks, or of VIVARIUM_NFT_PATH before networks_init(). */
const char *nft_path_of(Manager *m);
/* Writes VALUE to the sysctl file PATH unless it holds it already. */
int write_sysctl(const char *path, const char *value);

/* ports.c: a running container's published ports (<vivarium:port>) */
int ports_check_free(Manager *m, const Container *c, const DomainDef *live, sd_bus_error *error);
int ports_apply(Manager *m, const DomainDef *live, sd_bus_error *error);
/* The rules again, to the interfaces' addresses as they are now (a live
 * net-update changed a lease); the [::1] relays are left as they are. */
int ports_reload(Manager *m, const DomainDef *live, sd_bus_error *error);
void ports_remove(Manager *m, const DomainDef *live);
void ports_adopt(Manager *m);
