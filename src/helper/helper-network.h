/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "domain.h"
#include "netlink-util.h"
#include "xml-module.h"

/* Where a running managed network's live definition is (written by the
 * manager while the network is active). */
#define VIV_RUN_NETWORKS_DIR "/run/vivarium/networks"

/* One <interface> of the definition as the helper realizes it. */
typedef struct NetDevice {
        const DomainInterface *iface;
        char bridge[IFNAMSIZ];      /* network/bridge: the bridge the host side joins */
        int parent_ifindex;         /* direct: the macvlan's parent */
        char host_name[IFNAMSIZ];   /* veth host side; "" for direct (no host-side device) */
        char guest_name[IFNAMSIZ];
        uint8_t mac[6];             /* the container side's */
        bool created;               /* host_name exists and is ours to delete */
        char renewing[16];          /* the IPv4 lease address before a live change ("": none): its DHCP renewal passes (netguard.h) */
} NetDevice;

typedef struct NetworkSetup {
        NetDevice *devs;
        size_t n_devs;
        char *ifaces_path;          /* NAME.ifaces written for the manager, NULL = none */
        bool guarded;               /* the anti-spoofing table exists (netguard.h) */
        uint8_t uuid[16];           /* the container's: names that table */
} NetworkSetup;

/* Foreground mode, where no manager resolved them: the bridge of each
 * type='network' interface from VIV_RUN_NETWORKS_DIR/NETWORK.xml, NULL for an
 * inactive network and for the other types; *ret has def->n_interfaces
 * entries (domain_wire_bridges_free()). */
int network_read_bridges(const XmlModule *m, const DomainDef *def, char ***ret, char **ret_error);

/* Before init is cloned: resolves every interface (bridges, networks, parent
 * devices, names, MACs); nothing is created. bridges[i] is the bridge of
 * interface i when it is type='network' (NULL: the network is not active).
 * FOREGROUND: no vivariumd, which owns the floors of the network's
 * interfaces, so a floor is refused. Errors: *ret_error for the user. */
int network_prepare(NetworkSetup **ret, const DomainDef *def, char *const *bridges, bool foreground,
                    char **ret_error);

/* With init cloned and waiting: creates the devices in the host's namespace
 * (the container's ends directly in netns of PID), configures the
 * container's side (lo, addresses, links, routes) and, unless foreground,
 * writes VIV_RUN_CONTAINERS_DIR/NAME.ifaces. On failure, what it created is
 * deleted again. */
int network_setup(NetworkSetup *n, const DomainDef *def, pid_t pid, bool foreground, char **ret_error);

/* Live attach: IFACE (its contents taken) appended to def->interfaces and
 * made in the netns of PID as a start makes it (veth or macvlan, bridge,
 * bandwidth, anti-spoofing filter, addresses and routes); *np is made when
 * NULL. NAME.ifaces is written again (unless foreground). On failure
 * nothing of it is left. */
int network_attach(NetworkSetup **np, DomainDef *def, DomainInterface *iface, const char *bridge, pid_t pid,
                   bool foreground, char **ret_error);
/* Live detach of the interface of MAC: its devices, filter and shaping go,
 * and it leaves def->interfaces. */
int network_detach(NetworkSetup *n, DomainDef *def, const uint8_t mac[MAC_ADDR_LEN], pid_t pid, bool foreground,
                   char **ret_error);

/* Live change of the addresses the managed network keeps for the interface
 * of MAC (a net-update of the network's <host>s): its lease_address and
 * lease_address6 become ADDRESS and ADDRESS6 ("" or NULL: none), and the
 * anti-spoofing table is made anew, the old ones no longer allowed. On
 * failure nothing changed. */
int network_set_leases(NetworkSetup *n, DomainDef *def, const uint8_t mac[MAC_ADDR_LEN], const char *address,
                       const char *address6, char **ret_error);

/* Deletes every host-side device and NAME.ifaces, frees n; returns NULL.
 * Safe on NULL: h->network = network_teardown(h->network). */
NetworkSetup *network_teardown(NetworkSetup *n);

/* The addresses of the container's interfaces as its network namespace has
 * them now (those set inside included): global and site scope, no loopback.
 * *ret is an array of *ret_n entries to free(). */
int network_list_addresses(pid_t init_pid, NetlinkAddress **ret, size_t *ret_n);
