/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's network devices (DESIGN.md "Networking").
 *
 * network, bridge, ethernet: a veth pair. The host side (<target dev> or the
 * first free vnetN) is made in the host's namespace, up, with the container's
 * MAC whose first byte is 0xfe (as libvirt does: a bridge takes the lowest
 * MAC of its ports, and 0xfe keeps the containers' from becoming the
 * bridge's); the container side (<guest dev> or ethN) is born directly in
 * the container's network namespace with the definition's MAC, so it never
 * collides with a host device of the same name.
 * direct: a macvlan on <source dev>, born in the container's namespace.
 *
 * The container's side is configured from a netlink socket opened in its
 * namespace, before init runs: lo up, addresses, links up (unless
 * <link state='down'/>), routes. Nothing here runs inside the container.
 * Everything uses libnl-route-3 (src/shared/netlink-util.c). */

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus-names.h"
#include "command.h"
#include "fileio.h"
#include "helper-log.h"
#include "helper-network.h"
#include "domain-wire.h"
#include "netguard.h"
#include "netlink-tc.h"
#include "netlink-util.h"

#define VNET_MAX 65536
#define NFT_PATH "/usr/sbin/nft"

static const char *nft_path(void) {
        const char *e = getenv("VIVARIUM_NFT_PATH");
        return e && *e ? e : NFT_PATH;
}

static const uint32_t macvlan_modes[_DIRECT_MODE_MAX] = {
        [DIRECT_MODE_VEPA] = MACVLAN_MODE_VEPA,
        [DIRECT_MODE_BRIDGE] = MACVLAN_MODE_BRIDGE,
        [DIRECT_MODE_PRIVATE] = MACVLAN_MODE_PRIVATE,
        [DIRECT_MODE_PASSTHROUGH] = MACVLAN_MODE_PASSTHRU,
};

static void network_free(NetworkSetup *n) {
        if (!n)
                return;
        free(n->devs);
        free(n->ifaces_path);
        free(n);
}

/* The bridge of an active managed network, from the live definition the
 * manager keeps of it (foreground mode: with a manager, it resolves them). */
static int read_network_bridge(const XmlModule *m, const char *network, char **ret, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        XmlDiag diag = {};
        NetworkDef *nd = NULL;
        int r;

        *ret = NULL;
        if (asprintf(&path, "%s/%s.xml", VIV_RUN_NETWORKS_DIR, network) < 0)
                return -ENOMEM;
        if (access(path, F_OK) < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return 0; /* not active: network_prepare() says so */
                (void) asprintf(ret_error, "Failed to read the state of network '%s': %s", network, strerror(-r));
                return r;
        }
        r = m->network_def_parse_file(path, &nd, &diag);
        if (r < 0)
                (void) asprintf(ret_error, "Failed to read the state of network '%s': %s", network,
                                diag.error ? diag.error : strerror(-r));
        else if (nd->bridge && !(*ret = strdup(nd->bridge)))
                r = -ENOMEM;
        xml_diag_done(&diag);
        m->network_def_free(nd);
        return r;
}

int network_read_bridges(const XmlModule *m, const DomainDef *def, char ***ret, char **ret_error) {
        char **bridges;
        int r;

        bridges = calloc(def->n_interfaces + 1, sizeof(char *));
        if (!bridges)
                return -ENOMEM;
        for (size_t i = 0; i < def->n_interfaces; i++) {
                if (def->interfaces[i].type != INTERFACE_NETWORK)
                        continue;
                r = read_network_bridge(m, def->interfaces[i].source, &bridges[i], ret_error);
                if (r < 0) {
                        domain_wire_bridges_free(bridges, def->n_interfaces);
                        return r;
                }
        }
        *ret = bridges;
        return 0;
}

/* A name given in the definition, or one another device of N than SELF
 * already has (a live attach comes after the names ethN of the start). */
static bool guest_name_taken(const DomainDef *def, const NetworkSetup *n, const NetDevice *self) {
        for (size_t i = 0; i < def->n_interfaces; i++)
                if (streq_ptr(def->interfaces[i].guest_dev, self->guest_name))
                        return true;
        for (size_t i = 0; n && i < n->n_devs; i++)
                if (&n->devs[i] != self && streq(n->devs[i].guest_name, self->guest_name))
                        return true;
        return false;
}

/* What libvirt refuses at start too: a macvlan has no device on the host
 * to shape. A floor is a share of a network's QoS that vivariumd accounts
 * for and puts on the network's bridge before the helper runs
 * (network-qos.c); a helper in the foreground has no one to do that. */
static int check_bandwidth(const DomainDef *def, const DomainInterface *iface, bool foreground, char **ret_error) {
        char mac[18];

        if (iface->type == INTERFACE_DIRECT &&
            (domain_bandwidth_rate_is_set(&iface->bw_in) || domain_bandwidth_rate_is_set(&iface->bw_out))) {
                (void) asprintf(ret_error, "Cannot set the bandwidth of direct interface on '%s' of container '%s': "
                                "its device has no host side", iface->source, def->name);
                return -EOPNOTSUPP;
        }
        if (iface->bw_in.floor > 0 && foreground) {
                mac_format(iface->mac, mac);
                (void) asprintf(ret_error, "Invalid use of 'floor' on interface with MAC address %s of container '%s': "
                                "a floor on network '%s' needs vivariumd, not a helper in the foreground",
                                mac, def->name, strna(iface->source));
                return -EOPNOTSUPP;
        }
        return 0;
}

static int prepare_device(struct nl_sock *sk, const DomainDef *def, const NetworkSetup *n, NetDevice *d,
                          const char *network_bridge, bool foreground, unsigned *next_eth, char **ret_error) {
        const DomainInterface *iface = d->iface;
        int r;

        r = check_bandwidth(def, iface, foreground, ret_error);
        if (r < 0)
                return r;

        switch (iface->type) {
        case INTERFACE_NETWORK:
                if (!network_bridge) {
                        (void) asprintf(ret_error, "Network '%s' is not active", iface->source);
                        return -ENONET;
                }
                if (strlen(network_bridge) >= IFNAMSIZ) {
                        (void) asprintf(ret_error, "Network '%s' has no bridge", iface->source);
                        return -EINVAL;
                }
                snprintf(d->bridge, IFNAMSIZ, "%s", network_bridge);
                break;
        case INTERFACE_BRIDGE:
                if (strlen(iface->source) >= IFNAMSIZ) {
                        (void) asprintf(ret_error, "Bridge '%s' does not exist", iface->source);
                        return -ENODEV;
                }
                snprintf(d->bridge, IFNAMSIZ, "%s", iface->source);
                break;
        case INTERFACE_DIRECT:
                r = strlen(iface->source) < IFNAMSIZ ? netlink_link_get_ifindex(sk, iface->source) : -ENODEV;
                if (r < 0) {
                        if (r == -ENODEV)
                                (void) asprintf(ret_error, "Device '%s' does not exist", iface->source);
                        else
                                (void) asprintf(ret_error, "Failed to look up device '%s': %s", iface->source,
                                                strerror(-r));
                        return r;
                }
                d->parent_ifindex = r;
                break;
        default:
                break;
        }

        if (d->bridge[0]) {
                r = netlink_link_is_bridge(sk, d->bridge);
                if (r == -ENODEV)
                        (void) asprintf(ret_error, "Bridge '%s' does not exist", d->bridge);
                else if (r == 0)
                        (void) asprintf(ret_error, "Device '%s' is not a bridge", d->bridge);
                else if (r < 0)
                        (void) asprintf(ret_error, "Failed to look up bridge '%s': %s", d->bridge, strerror(-r));
                if (r <= 0)
                        return r == 0 ? -EINVAL : r;
        }

        if (iface->target_dev)
                snprintf(d->host_name, IFNAMSIZ, "%s", iface->target_dev);

        if (iface->guest_dev)
                snprintf(d->guest_name, IFNAMSIZ, "%s", iface->guest_dev);
        else {
                /* ethN in order, around the names given explicitly */
                do
                        snprintf(d->guest_name, IFNAMSIZ, "eth%u", (*next_eth)++);
                while (guest_name_taken(def, n, d));
        }

        if (iface->has_mac)
                memcpy(d->mac, iface->mac, sizeof(d->mac));
        else {
                /* the manager fills them in; only --foreground gets here */
                r = domain_def_generate_mac(d->mac);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to generate a MAC address: %s", strerror(-r));
                        return r;
                }
        }
        return 0;
}

int network_prepare(NetworkSetup **ret, const DomainDef *def, char *const *bridges, bool foreground,
                    char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        NetworkSetup *n;
        unsigned next_eth = 0;
        int r;

        *ret = NULL;
        if (def->n_interfaces == 0)
                return 0;

        r = netlink_open(&sk);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to open a netlink socket: %s", strerror(-r));
                return r;
        }
        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->devs = calloc(def->n_interfaces, sizeof(NetDevice));
        if (!n->devs) {
                network_free(n);
                return -ENOMEM;
        }
        n->n_devs = def->n_interfaces;
        for (size_t i = 0; i < n->n_devs; i++) {
                n->devs[i].iface = &def->interfaces[i];
                r = prepare_device(sk, def, n, &n->devs[i], bridges ? bridges[i] : NULL, foreground, &next_eth,
                                   ret_error);
                if (r < 0) {
                        network_free(n);
                        return r;
                }
        }
        *ret = n;
        return 0;
}

static int create_veth(struct nl_sock *sk, NetDevice *d, int netns_fd) {
        uint8_t host_mac[6];
        int master = 0, r;

        memcpy(host_mac, d->mac, sizeof(host_mac));
        host_mac[0] = 0xfe;

        if (d->bridge[0]) {
                master = netlink_link_get_ifindex(sk, d->bridge);
                if (master < 0)
                        return master;
        }

        if (d->host_name[0]) {
                r = netlink_veth_create(sk, d->host_name, host_mac, master, d->guest_name, d->mac, netns_fd);
                if (r >= 0)
                        d->created = true;
                return r;
        }

        /* the first free vnetN; another helper may take one between our
         * look and our create: EEXIST, try the next */
        for (unsigned i = 0; i < VNET_MAX; i++) {
                snprintf(d->host_name, IFNAMSIZ, "vnet%u", i);
                if (netlink_link_get_ifindex(sk, d->host_name) >= 0)
                        continue;
                r = netlink_veth_create(sk, d->host_name, host_mac, master, d->guest_name, d->mac, netns_fd);
                if (r == -EEXIST && netlink_link_get_ifindex(sk, d->host_name) >= 0)
                        continue;
                if (r >= 0)
                        d->created = true;
                else
                        d->host_name[0] = 0;
                return r;
        }
        d->host_name[0] = 0;
        return -ENOSPC;
}

/* A container reaching its own published port through an address of the
 * host (the manager's ports.c DNATs and masquerades it) sends the
 * connection back out the bridge port it came in by. Where the kernel runs
 * the IP hooks at the bridge (br_netfilter, bridge-nf-call-iptables=1, as
 * wherever Docker runs) that DNAT is done on the bridged frame, which the
 * bridge never sends back out its own port unless the port is in hairpin
 * mode: set it (netlink: /sys may be read-only here), as Docker does for
 * the same reason. The container also gets its own broadcasts back, which
 * enhanced DAD (RFC 7527) tells apart. */
static void set_hairpin(struct nl_sock *sk, const DomainDef *def, const NetDevice *d) {
        int ifindex, r;

        if (d->iface->n_ports == 0 || !d->bridge[0] || !d->host_name[0])
                return;
        ifindex = netlink_link_get_ifindex(sk, d->host_name);
        r = ifindex < 0 ? ifindex : netlink_bridge_port_set_hairpin(sk, ifindex, true);
        if (r < 0)
                log_warning_errno(r, "Failed to put bridge port '%s' in hairpin mode, ignoring (container '%s' cannot reach its own published ports through the host): %m",
                                  d->host_name, def->name);
}

static int create_device(struct nl_sock *sk, const DomainDef *def, NetDevice *d, int netns_fd,
                         char **ret_error) {
        const DomainInterface *iface = d->iface;
        int r;

        if (iface->type == INTERFACE_DIRECT) {
                /* passthrough: the macvlan takes its parent's MAC, a given one would be refused */
                bool pass = iface->direct_mode == DIRECT_MODE_PASSTHROUGH;
                r = netlink_macvlan_create(sk, d->guest_name, pass ? NULL : d->mac, d->parent_ifindex,
                                           macvlan_modes[iface->direct_mode], netns_fd);
                if (r < 0)
                        (void) asprintf(ret_error,
                                        "Failed to create the macvlan '%s' on '%s' for container '%s': %s",
                                        d->guest_name, iface->source, def->name, strerror(-r));
                return r;
        }

        r = create_veth(sk, d, netns_fd);
        if (r >= 0)
                set_hairpin(sk, def, d);
        if (r < 0) {
                if (iface->target_dev)
                        (void) asprintf(ret_error, "Failed to create interface '%s' of container '%s': %s",
                                        iface->target_dev, def->name, strerror(-r));
                else
                        (void) asprintf(ret_error, "Failed to create an interface for container '%s': %s",
                                        def->name, strerror(-r));
        }
        return r;
}

/* <bandwidth> on the host's end, before init can send anything. */
static int shape_device(struct nl_sock *sk, const DomainDef *def, NetDevice *d, char **ret_error) {
        const DomainInterface *iface = d->iface;
        int r;

        if (!d->host_name[0] ||
            (!domain_bandwidth_rate_is_set(&iface->bw_in) && !domain_bandwidth_rate_is_set(&iface->bw_out)))
                return 0;
        r = netlink_bandwidth_set(sk, d->host_name, &iface->bw_in, &iface->bw_out);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to set the bandwidth of interface '%s' of container '%s': %s",
                                d->host_name, def->name, strerror(-r));
                return r;
        }
        log_debug("Interface '%s': bandwidth set.", d->host_name);
        return 0;
}

/* Addresses, then (with the link up) routes of one device; "where" ends
 * the messages: "in container 'NAME'" or "on the host for container 'NAME'". */
static int add_addresses_and_routes(struct nl_sock *sk, int ifindex, const char *dev, const char *where,
                                    const DomainIP *ips, size_t n_ips, const DomainRoute *routes, size_t n_routes,
                                    bool link_down, char **ret_error) {
        int r;

        ARRAY_FOREACH(ip, ips, n_ips) {
                r = netlink_addr_add(sk, ifindex, ip->family, ip->address, ip->prefix, ip->peer);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to add address '%s/%u' to '%s' %s: %s",
                                        ip->address, ip->prefix, dev, where, strerror(-r));
                        return r;
                }
        }

        if (link_down) {
                if (n_routes > 0)
                        log_warning("Not adding the routes of '%s': its link is down.", dev);
                return 0;
        }

        r = netlink_link_set_up(sk, ifindex, true);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to bring up '%s' %s: %s", dev, where, strerror(-r));
                return r;
        }

        ARRAY_FOREACH(rt, routes, n_routes) {
                r = netlink_route_add(sk, ifindex, rt->family, rt->address, rt->prefix, rt->gateway);
                if (r < 0) {
                        (void) asprintf(ret_error,
                                        "Failed to add the route to '%s/%u' via '%s' on '%s' %s: %s",
                                        rt->address ? rt->address : (rt->family == AF_INET6 ? "::" : "0.0.0.0"),
                                        rt->address ? rt->prefix : 0, strna(rt->gateway), dev, where,
                                        strerror(-r));
                        return r;
                }
        }
        return 0;
}

static int configure_guest_device(struct nl_sock *sk, const DomainDef *def, NetDevice *d, char **ret_error) {
        const DomainInterface *iface = d->iface;
        _cleanup_free_ char *where = NULL;
        int ifindex;

        ifindex = netlink_link_get_ifindex(sk, d->guest_name);
        if (ifindex < 0) {
                (void) asprintf(ret_error, "Interface '%s' is missing in container '%s': %s", d->guest_name,
                                def->name, strerror(-ifindex));
                return ifindex;
        }
        if (iface->type == INTERFACE_DIRECT && iface->direct_mode == DIRECT_MODE_PASSTHROUGH)
                (void) netlink_link_get_mac(sk, ifindex, d->mac);

        if (asprintf(&where, "in container '%s'", def->name) < 0)
                return -ENOMEM;
        return add_addresses_and_routes(sk, ifindex, d->guest_name, where, iface->ips, iface->n_ips,
                                        iface->routes, iface->n_routes, iface->link_down, ret_error);
}

/* type='ethernet' with <source><ip/><route/></source>: libvirt's host side
 * of the pair gets those (the container's side gets the <ip>/<route> of the
 * interface itself). They go with the veth when it is deleted. */
static int configure_host_device(struct nl_sock *sk, const NetDevice *d, const DomainDef *def, char **ret_error) {
        const DomainInterface *iface = d->iface;
        _cleanup_free_ char *where = NULL;
        int ifindex;

        if (!d->host_name[0] || (iface->n_host_ips == 0 && iface->n_host_routes == 0))
                return 0;
        if (asprintf(&where, "on the host for container '%s'", def->name) < 0)
                return -ENOMEM;
        ifindex = netlink_link_get_ifindex(sk, d->host_name);
        if (ifindex < 0) {
                (void) asprintf(ret_error, "Interface '%s' of container '%s' is missing on the host: %s",
                                d->host_name, def->name, strerror(-ifindex));
                return ifindex;
        }
        return add_addresses_and_routes(sk, ifindex, d->host_name, where, iface->host_ips, iface->n_host_ips,
                                        iface->host_routes, iface->n_host_routes, false, ret_error);
}

static int configure_host(struct nl_sock *sk, NetworkSetup *n, const DomainDef *def, char **ret_error) {
        for (size_t i = 0; i < n->n_devs; i++) {
                int r = configure_host_device(sk, &n->devs[i], def, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int configure_guest(int netns_fd, NetworkSetup *n, const DomainDef *def, char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        int r;

        r = netlink_open_in_netns(netns_fd, &sk);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to open a netlink socket in container '%s': %s", def->name,
                                strerror(-r));
                return r;
        }

        r = netlink_link_get_ifindex(sk, "lo");
        if (r >= 0)
                r = netlink_link_set_up(sk, r, true);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to bring up the loopback device of container '%s': %s",
                                def->name, strerror(-r));
                return r;
        }

        for (size_t i = 0; i < n->n_devs; i++) {
                r = configure_guest_device(sk, def, &n->devs[i], ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The runtime facts the manager merges into the live XML (docs/internals.md):
 * one line per interface, in definition order: "INDEX HOSTDEV GUESTDEV MAC",
 * HOSTDEV "-" when there is none in the host's namespace (direct). */
static int write_ifaces(NetworkSetup *n, const DomainDef *def) {
        _cleanup_free_ char *buf = NULL, *path = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n->n_devs; i++) {
                char mac[18];
                mac_format(n->devs[i].mac, mac);
                fprintf(f, "%zu %s %s %s\n", i, n->devs[i].host_name[0] ? n->devs[i].host_name : "-",
                        n->devs[i].guest_name, mac);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (asprintf(&path, "%s/%s.ifaces", VIV_RUN_CONTAINERS_DIR, def->name) < 0)
                return -ENOMEM;
        r = write_file_atomic(path, buf, 0600);
        if (r < 0)
                return r;
        n->ifaces_path = TAKE_PTR(path);
        return 0;
}

/* The IPv4 addresses of BRIDGE among the host's ALL, written to RET (room
 * for n_all): where its port may learn one address (netguard.h). */
static size_t bridge_subnets(const NetlinkAddress *all, size_t n_all, const char *bridge, NetGuardSubnet *ret) {
        size_t n = 0;

        for (size_t i = 0; i < n_all; i++) {
                if (all[i].family != AF_INET || !streq(all[i].ifname, bridge))
                        continue;
                snprintf(ret[n].address, sizeof(ret[n].address), "%s", all[i].address);
                ret[n++].prefix = all[i].prefix;
        }
        return n;
}

/* The anti-spoofing filter of every guarded interface (netguard.h), in one
 * nft transaction, before init runs: the container never sends a frame
 * without it. The allowed IPv4 addresses are the ones the definition
 * configures (<ip>, <filterref>'s IP) and the one the managed network's
 * DHCP keeps for the MAC (IPv6 too: its DHCPv6 one); one more is learned in the bridge's subnets
 * unless <filterref> turns learning off; LEARNED (N_LEARNED) is what the
 * ports learned before, by device, when the table is made anew. */
static int apply_guard(struct nl_sock *sk, NetworkSetup *n, const DomainDef *def, const NetGuardLearned *learned,
                       size_t n_learned, char **ret_error) {
        _cleanup_free_ NetGuardPort *ports = NULL;
        _cleanup_free_ const char **addrs = NULL;
        _cleanup_free_ char *script = NULL, *error = NULL;
        _cleanup_free_ NetlinkAddress *host_addrs = NULL;
        _cleanup_free_ NetGuardSubnet *subnets = NULL;
        _cleanup_free_ char (*slaac)[46] = NULL;
        size_t n_ports = 0, n_addrs = 0, total = 0, n_host_addrs = 0, n_slaac = 0;
        int r;

        r = netlink_list_addresses(sk, &host_addrs, &n_host_addrs);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to list the host's addresses: %s", strerror(-r));
                return r;
        }
        /* per device: its <ip>s, the leases of both families, the
         * link-local and one SLAAC address per address of its bridge */
        for (size_t i = 0; i < n->n_devs; i++)
                total += n->devs[i].iface->n_ips + 2 * n->devs[i].iface->n_filter_params + 3 + n_host_addrs;
        ports = calloc(n->n_devs, sizeof(NetGuardPort));
        addrs = calloc(total + 1, sizeof(char *));
        slaac = calloc(total + 1, sizeof(*slaac));
        subnets = calloc(n_host_addrs * n->n_devs + 1, sizeof(NetGuardSubnet));
        if (!ports || !addrs || !slaac || !subnets)
                return -ENOMEM;

        for (size_t i = 0; i < n->n_devs; i++) {
                const NetDevice *d = &n->devs[i];
                const DomainInterface *iface = d->iface;
                NetGuardPort *p;

                if (!netguard_wanted(iface) || !d->host_name[0])
                        continue;
                if (!netguard_device_name_ok(d->host_name)) {
                        (void) asprintf(ret_error,
                                        "Interface name '%s' of container '%s' cannot be filtered against spoofing: choose another <target dev> or set <vivarium:spoofcheck state='off'/>",
                                        d->host_name, def->name);
                        return -EINVAL;
                }
                p = &ports[n_ports++];
                p->device = d->host_name;
                memcpy(p->mac, d->mac, sizeof(p->mac));
                p->addresses = addrs + n_addrs;
                if (iface->lease_address)
                        addrs[n_addrs++] = iface->lease_address;
                for (size_t j = 0; j < iface->n_ips; j++)
                        if (iface->ips[j].family == AF_INET)
                                addrs[n_addrs++] = iface->ips[j].address;
                n_addrs += domain_interface_filter_values(iface, "IP", addrs + n_addrs);
                p->n_addresses = (size_t) (addrs + n_addrs - p->addresses);
                p->renewing = d->renewing[0] ? d->renewing : NULL;
                p->dhcp_servers = addrs + n_addrs;
                p->n_dhcp_servers = domain_interface_filter_values(iface, "DHCPSERVER", addrs + n_addrs);
                n_addrs += p->n_dhcp_servers;
                p->gateway_macs = addrs + n_addrs;
                p->n_gateway_macs = domain_interface_filter_values(iface, "GATEWAY_MAC", addrs + n_addrs);
                n_addrs += p->n_gateway_macs;

                /* IPv6: the addresses the kernel autoconfigures from the MAC
                 * (link-local, and SLAAC in each /64 of the bridge, which
                 * the network's router advertisements announce), and its
                 * <ip>s. */
                p->addresses6 = addrs + n_addrs;
                if (netguard_eui64_address("fe80::", d->mac, slaac[n_slaac]) >= 0)
                        addrs[n_addrs++] = slaac[n_slaac++];
                for (size_t j = 0; d->bridge[0] && j < n_host_addrs; j++) {
                        const NetlinkAddress *a = &host_addrs[j];

                        if (a->family != AF_INET6 || a->prefix != 64 || !streq(a->ifname, d->bridge) ||
                            strncmp(a->address, "fe80:", 5) == 0)
                                continue;
                        if (netguard_eui64_address(a->address, d->mac, slaac[n_slaac]) >= 0)
                                addrs[n_addrs++] = slaac[n_slaac++];
                }
                /* the address the network's DHCPv6 keeps for the MAC */
                if (iface->lease_address6)
                        addrs[n_addrs++] = iface->lease_address6;
                for (size_t j = 0; j < iface->n_ips; j++)
                        if (iface->ips[j].family == AF_INET6)
                                addrs[n_addrs++] = iface->ips[j].address;
                p->n_addresses6 = (size_t) (addrs + n_addrs - p->addresses6);

                if (d->bridge[0] && domain_interface_ip_learning(iface) == IP_LEARNING_ANY) {
                        p->subnets = subnets + i * n_host_addrs;
                        p->n_subnets = bridge_subnets(host_addrs, n_host_addrs, d->bridge,
                                                      subnets + i * n_host_addrs);
                        for (size_t j = 0; j < n_learned; j++)
                                if (streq(learned[j].device, d->host_name))
                                        p->learned = learned[j].address;
                }
                if (p->n_addresses == 0 && p->n_subnets == 0)
                        log_warning("Interface '%s' of container '%s' has no IPv4 address to allow (no <ip>, no IP parameter, no DHCP on its network, and none to learn on its bridge): the filter drops its IPv4 traffic.",
                                    d->host_name, def->name);
        }
        if (n_ports == 0)
                return 0;

        r = netguard_script(def->uuid, def->name, ports, n_ports, &script);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to write the anti-spoofing rules of container '%s': %s", def->name,
                                strerror(-r));
                return r;
        }
        memcpy(n->uuid, def->uuid, sizeof(n->uuid));
        r = command_run((char *const[]) { (char *) nft_path(), (char *) "-f", (char *) "-", NULL }, script, &error);
        if (r < 0) {
                (void) asprintf(ret_error,
                                "Failed to load the anti-spoofing rules of container '%s' with %s: %s",
                                def->name, nft_path(), error ? error : strerror(-r));
                return r;
        }
        n->guarded = true;
        log_debug("Anti-spoofing filter on %zu interface(s).", n_ports);
        return 0;
}

static void remove_guard(NetworkSetup *n) {
        _cleanup_free_ char *script = NULL, *error = NULL;
        int r;

        if (!n->guarded)
                return;
        r = netguard_remove_script(n->uuid, &script);
        if (r >= 0)
                r = command_run((char *const[]) { (char *) nft_path(), (char *) "-f", (char *) "-", NULL }, script,
                                &error);
        if (r < 0)
                log_warning("Failed to remove the anti-spoofing rules, ignoring: %s", error ? error : strerror(-r));
        n->guarded = false;
}

static void delete_host_device(struct nl_sock *sk, NetDevice *d) {
        int r;

        if (!d->created)
                return;
        /* the peer goes with it; a vanished netns may have taken both already */
        r = netlink_link_delete(sk, d->host_name);
        if (r < 0 && r != -ENODEV)
                log_warning_errno(r, "Failed to delete interface '%s', ignoring: %m", d->host_name);
        else
                log_debug("Deleted interface '%s'.", d->host_name);
        /* the ifb of its <outbound> shaping, if any, made at start or by domiftune */
        r = netlink_bandwidth_clear(sk, d->host_name);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the shaping of interface '%s', ignoring: %m", d->host_name);
        d->created = false;
}

static void delete_host_devices(NetworkSetup *n) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        int r;

        if (!n)
                return;
        for (size_t i = 0; i < n->n_devs; i++) {
                if (!n->devs[i].created)
                        continue;
                if (!sk) {
                        r = netlink_open(&sk);
                        if (r < 0) {
                                log_error_errno(r, "Failed to open a netlink socket, leaving the host's devices: %m");
                                return;
                        }
                }
                delete_host_device(sk, &n->devs[i]);
        }
}

/* The network namespace of the container whose init is PID, and a netlink
 * socket of the host's: what setting up and attaching interfaces work
 * with. PID is init, our own unreaped child: it cannot have been reused. */
static int open_container_netns(const DomainDef *def, pid_t pid, int *ret_netns_fd, struct nl_sock **ret_sk,
                                char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_close_ int netns_fd = -EBADF;
        char ns_path[64];
        int r;

        snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/net", (int) pid);
        netns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0) {
                r = -errno;
                (void) asprintf(ret_error, "Failed to open the network namespace of container '%s': %s", def->name,
                                strerror(-r));
                return r;
        }
        r = netlink_open(&sk);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to open a netlink socket: %s", strerror(-r));
                return r;
        }
        *ret_netns_fd = TAKE_FD(netns_fd);
        *ret_sk = TAKE_PTR(sk);
        return 0;
}

int network_setup(NetworkSetup *n, const DomainDef *def, pid_t pid, bool foreground, char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_close_ int netns_fd = -EBADF;
        int r;

        if (!n)
                return 0;

        r = open_container_netns(def, pid, &netns_fd, &sk, ret_error);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n->n_devs; i++) {
                r = create_device(sk, def, &n->devs[i], netns_fd, ret_error);
                if (r < 0)
                        goto fail;
                log_debug("Interface %zu: host '%s', container '%s'.", i, n->devs[i].host_name,
                          n->devs[i].guest_name);
                r = shape_device(sk, def, &n->devs[i], ret_error);
                if (r < 0)
                        goto fail;
        }

        /* Before the container's side goes up: not even the kernel's own
         * IPv6 link-local chatter passes unfiltered. */
        r = apply_guard(sk, n, def, NULL, 0, ret_error);
        if (r < 0)
                goto fail;

        r = configure_guest(netns_fd, n, def, ret_error);
        if (r < 0)
                goto fail;
        r = configure_host(sk, n, def, ret_error);
        if (r < 0)
                goto fail;

        if (!foreground) {
                r = write_ifaces(n, def);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to record the interfaces of container '%s': %s",
                                        def->name, strerror(-r));
                        goto fail;
                }
        }
        return 0;

fail:
        remove_guard(n);
        delete_host_devices(n);
        return r;
}

NetworkSetup *network_teardown(NetworkSetup *n) {
        if (!n)
                return NULL;
        remove_guard(n);
        delete_host_devices(n);
        if (n->ifaces_path && unlink(n->ifaces_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove '%s', ignoring: %m", n->ifaces_path);
        network_free(n);
        return NULL;
}

int network_list_addresses(pid_t init_pid, NetlinkAddress **ret, size_t *ret_n) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_free_ NetlinkAddress *all = NULL;
        _cleanup_free_ char *ns_path = NULL;
        _cleanup_close_ int netns_fd = -EBADF;
        size_t n_all = 0, n = 0;
        int r;

        if (asprintf(&ns_path, "/proc/%d/ns/net", (int) init_pid) < 0)
                return -ENOMEM;
        netns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0)
                return -errno;
        r = netlink_open_in_netns(netns_fd, &sk);
        if (r < 0)
                return r;
        r = netlink_list_addresses(sk, &all, &n_all);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_all; i++)
                if (!(all[i].link_flags & IFF_LOOPBACK) && all[i].scope < RT_SCOPE_LINK)
                        all[n++] = all[i];
        *ret = TAKE_PTR(all);
        *ret_n = n;
        return 0;
}

/* ---- live attach and detach (vivariumd's AttachInterface/DetachInterface) ---- */

/* After def->interfaces moved (realloc) or lost an entry: each device
 * points at its interface again (devs[i] is interfaces[i]). */
static void repoint(NetworkSetup *n, const DomainDef *def) {
        for (size_t i = 0; i < n->n_devs; i++)
                n->devs[i].iface = &def->interfaces[i];
}

/* Drops device and interface i of both arrays (the device is gone). */
static void forget_device(NetworkSetup *n, DomainDef *def, size_t i) {
        domain_interface_done(&def->interfaces[i]);
        memmove(&def->interfaces[i], &def->interfaces[i + 1], (def->n_interfaces - i - 1) * sizeof(DomainInterface));
        def->n_interfaces--;
        memmove(&n->devs[i], &n->devs[i + 1], (n->n_devs - i - 1) * sizeof(NetDevice));
        n->n_devs--;
        repoint(n, def);
}

/* What the ports of the container's table learned so far, by device;
 * none when there is no table or it cannot be read (then the new table
 * learns afresh, as before a live change, and the log says so). */
static void read_learned(NetworkSetup *n, NetGuardLearned **ret, size_t *ret_n) {
        _cleanup_free_ char *table = NULL, *listing = NULL, *error = NULL;
        int r;

        *ret = NULL;
        *ret_n = 0;
        if (!n->guarded)
                return;
        r = netguard_table_name(n->uuid, &table);
        if (r >= 0)
                r = command_output((char *const[]) { (char *) nft_path(), (char *) "list", (char *) "table",
                                                     (char *) "netdev", table, NULL },
                                   NULL, &listing, &error);
        if (r >= 0)
                r = netguard_parse_learned(listing, ret, ret_n);
        if (r < 0)
                log_warning("Failed to read what the anti-spoofing filter learned, the new filter learns anew: %s",
                            error ? error : strerror(-r));
}

/* The filter of every guarded interface again (keeping what each learned),
 * or none when none is left. */
static int update_guard(struct nl_sock *sk, NetworkSetup *n, const DomainDef *def, char **ret_error) {
        _cleanup_free_ NetGuardLearned *learned = NULL;
        size_t n_learned = 0;
        bool any = false;

        for (size_t i = 0; i < n->n_devs; i++)
                any = any || (netguard_wanted(n->devs[i].iface) && n->devs[i].host_name[0]);
        if (!any) {
                remove_guard(n);
                return 0;
        }
        read_learned(n, &learned, &n_learned);
        return apply_guard(sk, n, def, learned, n_learned, ret_error);
}

int network_attach(NetworkSetup **np, DomainDef *def, DomainInterface *iface, const char *bridge, pid_t pid,
                   bool foreground, char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL, *guest_sk = NULL;
        _cleanup_close_ int netns_fd = -EBADF;
        NetworkSetup *n = *np;
        DomainInterface *a;
        NetDevice *d, *devs;
        unsigned next_eth = 0;
        int r;

        r = open_container_netns(def, pid, &netns_fd, &sk, ret_error);
        if (r < 0)
                return r;
        if (!n) {
                n = calloc(1, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                *np = n;
        }
        a = realloc(def->interfaces, (def->n_interfaces + 1) * sizeof(DomainInterface));
        if (!a)
                return -ENOMEM;
        def->interfaces = a;
        repoint(n, def);
        devs = realloc(n->devs, (n->n_devs + 1) * sizeof(NetDevice));
        if (!devs)
                return -ENOMEM;
        n->devs = devs;
        /* ours from here: forget_device() frees it on failure */
        def->interfaces[def->n_interfaces++] = *iface;
        *iface = (DomainInterface) {};
        d = &n->devs[n->n_devs++];
        *d = (NetDevice) { .iface = &def->interfaces[def->n_interfaces - 1] };

        r = prepare_device(sk, def, n, d, bridge, foreground, &next_eth, ret_error);
        if (r >= 0)
                r = create_device(sk, def, d, netns_fd, ret_error);
        if (r >= 0)
                r = shape_device(sk, def, d, ret_error);
        if (r >= 0)
                r = update_guard(sk, n, def, ret_error);
        if (r >= 0) {
                r = netlink_open_in_netns(netns_fd, &guest_sk);
                if (r < 0)
                        (void) asprintf(ret_error, "Failed to open a netlink socket in container '%s': %s", def->name,
                                        strerror(-r));
        }
        if (r >= 0)
                r = configure_guest_device(guest_sk, def, d, ret_error);
        if (r >= 0)
                r = configure_host_device(sk, d, def, ret_error);
        if (r >= 0 && !foreground) {
                r = write_ifaces(n, def);
                if (r < 0)
                        (void) asprintf(ret_error, "Failed to record the interfaces of container '%s': %s", def->name,
                                        strerror(-r));
        }
        if (r < 0) {
                if (d->iface->type == INTERFACE_DIRECT && guest_sk)
                        (void) netlink_link_delete(guest_sk, d->guest_name);
                _cleanup_free_ char *ignored = NULL;

                delete_host_device(sk, d);
                forget_device(n, def, n->n_devs - 1);
                (void) update_guard(sk, n, def, &ignored);
                return r;
        }
        log_debug("Interface attached: host '%s', container '%s'.", d->host_name, d->guest_name);
        return 0;
}

/* The index of the device of MAC among N's. */
static int find_device(const NetworkSetup *n, const DomainDef *def, const uint8_t mac[MAC_ADDR_LEN], size_t *ret,
                       char **ret_error) {
        for (size_t i = 0; n && i < n->n_devs; i++)
                if (memcmp(n->devs[i].mac, mac, MAC_ADDR_LEN) == 0) {
                        *ret = i;
                        return 0;
                }
        (void) asprintf(ret_error, "Container '%s' has no running interface of that MAC address", def->name);
        return -ENODEV;
}

int network_detach(NetworkSetup *n, DomainDef *def, const uint8_t mac[MAC_ADDR_LEN], pid_t pid, bool foreground,
                   char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        size_t i;
        int r;

        r = find_device(n, def, mac, &i, ret_error);
        if (r < 0)
                return r;
        r = netlink_open(&sk);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to open a netlink socket: %s", strerror(-r));
                return r;
        }
        if (n->devs[i].created)
                delete_host_device(sk, &n->devs[i]);
        else {
                /* a macvlan lives in the container's namespace only */
                _cleanup_nl_sock_ struct nl_sock *guest_sk = NULL;
                _cleanup_close_ int netns_fd = -EBADF;
                char ns[64];

                snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int) pid);
                netns_fd = open(ns, O_RDONLY | O_CLOEXEC);
                r = netns_fd < 0 ? -errno : netlink_open_in_netns(netns_fd, &guest_sk);
                if (r >= 0)
                        r = netlink_link_delete(guest_sk, n->devs[i].guest_name);
                if (r < 0 && r != -ENODEV) {
                        (void) asprintf(ret_error, "Failed to delete interface '%s' of container '%s': %s",
                                        n->devs[i].guest_name, def->name, strerror(-r));
                        return r;
                }
        }
        forget_device(n, def, i);
        r = update_guard(sk, n, def, ret_error);
        if (r < 0)
                return r;
        if (!foreground && (r = write_ifaces(n, def)) < 0) {
                (void) asprintf(ret_error, "Failed to record the interfaces of container '%s': %s", def->name,
                                strerror(-r));
                return r;
        }
        return 0;
}

/* A copy of S, NULL for NULL or "" (no address of that family). */
static int strdup_address(const char *s, char **ret) {
        *ret = NULL;
        if (!s || !*s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int network_set_leases(NetworkSetup *n, DomainDef *def, const uint8_t mac[MAC_ADDR_LEN], const char *address,
                       const char *address6, char **ret_error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        _cleanup_free_ NetGuardLearned *learned = NULL;
        _cleanup_free_ char *new4 = NULL, *new6 = NULL;
        DomainInterface *iface;
        NetDevice *d;
        char *old4, *old6, renewing[sizeof(d->renewing)];
        size_t i, n_learned = 0;
        int r;

        r = find_device(n, def, mac, &i, ret_error);
        if (r < 0)
                return r;
        d = &n->devs[i];
        r = strdup_address(address, &new4);
        if (r >= 0)
                r = strdup_address(address6, &new6);
        if (r < 0)
                return r;
        iface = &def->interfaces[i];
        if (!netguard_wanted(iface) || !d->host_name[0] || !n->guarded) {
                /* no filter to change: the addresses are only kept */
                free(iface->lease_address);
                free(iface->lease_address6);
                iface->lease_address = TAKE_PTR(new4);
                iface->lease_address6 = TAKE_PTR(new6);
                return 0;
        }
        r = netlink_open(&sk);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to open a netlink socket: %s", strerror(-r));
                return r;
        }
        /* The old reserved address took the port's one place to learn when
         * the container used it (netguard.h): carried over, it would stay
         * allowed, and it may be another container's now. The new one
         * takes the place instead; with none, the port learns anew. */
        read_learned(n, &learned, &n_learned);
        for (size_t j = 0; iface->lease_address && j < n_learned; j++)
                if (streq(learned[j].device, d->host_name) &&
                    streq(learned[j].address, iface->lease_address)) {
                        if (new4)
                                snprintf(learned[j].address, sizeof(learned[j].address), "%s", new4);
                        else
                                learned[j].device[0] = 0;
                }

        old4 = iface->lease_address;
        old6 = iface->lease_address6;
        memcpy(renewing, d->renewing, sizeof(renewing));
        /* the client renews the old lease until dnsmasq refuses it */
        if (old4 && !streq_ptr(old4, new4) && strlen(old4) < sizeof(d->renewing))
                strcpy(d->renewing, old4);
        else if (streq_ptr(d->renewing, new4))
                d->renewing[0] = 0;
        iface->lease_address = new4;
        iface->lease_address6 = new6;
        r = apply_guard(sk, n, def, learned, n_learned, ret_error);
        if (r < 0) {
                /* nft loads a script whole or not at all: the old table stays */
                iface->lease_address = old4;
                iface->lease_address6 = old6;
                memcpy(d->renewing, renewing, sizeof(renewing));
                return r;
        }
        TAKE_PTR(new4);
        TAKE_PTR(new6);
        free(old4);
        free(old6);
        log_info("Addresses the network keeps for interface '%s' changed: IPv4 %s, IPv6 %s.", d->host_name,
                 strna(iface->lease_address), strna(iface->lease_address6));
        return 0;
}
