/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A managed network's QoS (libvirt's <network><bandwidth>) and the floors
 * of the interfaces on it (<interface type='network'><bandwidth><inbound
 * floor=...>): a guaranteed share of the network's inbound rate.
 *
 * The network's rates go on its bridge at net-start (netlink-tc.h); the
 * bridge takes them away at net-destroy. A floor is vivariumd's, not the
 * helper's: it is a share of something all the network's containers use,
 * so the sum of them is checked against the network's rate (its inbound
 * peak, else its average: libvirt's rule) with every running container in
 * view, and its class on the bridge (selected by the interface's MAC, so
 * it needs no host-side device and exists before the helper runs) is made
 * when the start resolves the network and removed with the container's
 * address reservation (networks_release_container()), which every way out
 * of a start or a run goes through: destroy, shutdown, crash, a helper
 * killed, a failed start. A restarted manager builds the bridge's classes
 * again from the running containers' live definitions. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "macros.h"
#include "netlink-tc.h"
#include "netlink-util.h"
#include "network.h"

static bool has_inbound_qos(const NetworkDef *live) {
        return live && live->bw_in.average > 0;
}

int network_qos_apply(Network *n, const NetworkDef *live, sd_bus_error *error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        int r;

        if (live->bw_in.average == 0 && live->bw_out.average == 0)
                return 0;
        r = netlink_open(&sk);
        if (r >= 0)
                r = netlink_network_qos_set(sk, live->bridge, &live->bw_in, &live->bw_out);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to set the bandwidth of network '%s' on bridge '%s': %m",
                                               n->name, live->bridge);
        return 0;
}

static uint64_t floor_sum(const Network *n) {
        uint64_t sum = 0;

        ARRAY_FOREACH(p, n->qos_ports, n->n_qos_ports)
                sum += p->floor;
        return sum;
}

/* The default class gets what the floors leave. */
static void update_default(Network *n, struct nl_sock *sk) {
        int r;

        r = netlink_network_qos_set_floors(sk, n->live->bridge, &n->live->bw_in, floor_sum(n));
        if (r < 0 && r != -ENODEV)
                fprintf(stderr, "Failed to set the rate of the traffic without a floor on network '%s', ignoring: %s\n",
                        n->name, strerror(-r));
}

/* libvirt's checks and messages (networkCheckBandwidth()): a floor needs
 * the network's inbound QoS, and all of them together fit in its rate.
 * OLD_FLOOR is what the interface holds already (a change), else 0. */
static int check_floor(const Network *n, const char *container, const uint8_t mac[6], uint64_t old_floor,
                       uint64_t new_floor, const char *error_name, sd_bus_error *error) {
        const NetworkDef *live = n->live;
        uint64_t sum, limit;
        char m[18];

        mac_format(mac, m);
        if (!has_inbound_qos(live))
                return sd_bus_error_setf(error, error_name,
                                         "Invalid use of 'floor' on interface with MAC address %s of container '%s': network '%s' has no inbound QoS set",
                                         m, container, n->name);
        sum = floor_sum(n) - old_floor + new_floor;
        limit = netlink_network_qos_limit(&live->bw_in);
        if (sum > limit)
                return sd_bus_error_setf(error, error_name,
                                         "Cannot plug interface with MAC address %s of container '%s' into '%s' because new combined inbound floor=%llu would overcommit %s=%llu on network '%s'",
                                         m, container, live->bridge, (unsigned long long) sum,
                                         live->bw_in.peak > 0 ? "peak" : "average", (unsigned long long) limit,
                                         n->name);
        return 0;
}

/* The first class number no floor of the network has. */
static uint16_t next_id(const Network *n) {
        for (unsigned id = NET_FIRST_FLOOR_ID; id <= UINT16_MAX; id++) {
                bool used = false;

                ARRAY_FOREACH(p, n->qos_ports, n->n_qos_ports)
                        used = used || p->id == id;
                if (!used)
                        return (uint16_t) id;
        }
        return 0;
}

/* Class and bookkeeping of one floor, no check. */
static int plug(Network *n, struct nl_sock *sk, const char *container, const uint8_t mac[6], uint64_t floor) {
        NetworkQosPort *ports;
        uint16_t id = next_id(n);
        char *name;
        int r;

        if (id == 0)
                return -ENOSPC;
        name = strdup(container);
        if (!name)
                return -ENOMEM;
        ports = reallocarray(n->qos_ports, n->n_qos_ports + 1, sizeof(NetworkQosPort));
        if (!ports) {
                free(name);
                return -ENOMEM;
        }
        n->qos_ports = ports;
        r = netlink_network_qos_plug(sk, n->live->bridge, &n->live->bw_in, mac, floor, id);
        if (r < 0) {
                free(name);
                return r;
        }
        ports[n->n_qos_ports] = (NetworkQosPort) { .container = name, .floor = floor, .id = id };
        memcpy(ports[n->n_qos_ports].mac, mac, 6);
        n->n_qos_ports++;
        update_default(n, sk);
        return 0;
}

int network_qos_plug(Network *n, const char *container, const DomainInterface *iface, sd_bus_error *error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        char m[18];
        int r;

        if (iface->bw_in.floor == 0)
                return 0;
        r = check_floor(n, container, iface->mac, 0, iface->bw_in.floor, VIV_ERROR_START_FAILED, error);
        if (r < 0)
                return r;
        r = netlink_open(&sk);
        if (r >= 0)
                r = plug(n, sk, container, iface->mac, iface->bw_in.floor);
        if (r < 0) {
                mac_format(iface->mac, m);
                return sd_bus_error_set_errnof(error, r,
                                               "Failed to set the floor of interface with MAC address %s of container '%s' on network '%s': %m",
                                               m, container, n->name);
        }
        return 0;
}

void network_qos_release(Network *n, const char *container, const uint8_t *mac) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        size_t kept = 0;
        bool changed = false;

        for (size_t i = 0; i < n->n_qos_ports; i++) {
                NetworkQosPort *p = &n->qos_ports[i];
                int r;

                if (!streq(p->container, container) || (mac && memcmp(p->mac, mac, 6) != 0)) {
                        n->qos_ports[kept++] = *p;
                        continue;
                }
                if (!sk && netlink_open(&sk) < 0)
                        sk = NULL;
                r = sk ? netlink_network_qos_unplug(sk, n->live->bridge, p->id) : -ENOTCONN;
                if (r < 0)
                        fprintf(stderr, "Failed to remove the floor class 1:%x of container '%s' from bridge '%s', ignoring: %s\n",
                                p->id, container, n->live->bridge, strerror(-r));
                free(p->container);
                changed = true;
        }
        n->n_qos_ports = kept;
        if (changed && sk)
                update_default(n, sk);
}

int network_qos_change(Network *n, const char *container, const DomainInterface *iface, uint64_t new_floor,
                       sd_bus_error *error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        uint64_t old_floor = 0;
        int r;

        ARRAY_FOREACH(p, n->qos_ports, n->n_qos_ports)
                if (streq(p->container, container) && memcmp(p->mac, iface->mac, 6) == 0)
                        old_floor = p->floor;
        if (new_floor == old_floor)
                return 0;
        if (new_floor > 0) {
                r = check_floor(n, container, iface->mac, old_floor, new_floor, SD_BUS_ERROR_INVALID_ARGS, error);
                if (r < 0)
                        return r;
        }
        network_qos_release(n, container, iface->mac);
        if (new_floor == 0)
                return 0;
        r = netlink_open(&sk);
        if (r >= 0)
                r = plug(n, sk, container, iface->mac, new_floor);
        if (r < 0) {
                /* back to the floor it had */
                if (old_floor > 0 && sk && plug(n, sk, container, iface->mac, old_floor) < 0)
                        fprintf(stderr, "Failed to restore the floor of container '%s' on network '%s'.\n", container,
                                n->name);
                return sd_bus_error_set_errnof(error, r, "Failed to set the floor on network '%s': %m", n->name);
        }
        return 0;
}

void network_qos_clear(Network *n) {
        ARRAY_FOREACH(p, n->qos_ports, n->n_qos_ports)
                free(p->container);
        n->qos_ports = mfree(n->qos_ports);
        n->n_qos_ports = 0;
}

/* After a manager restart the bridge's classes are those of the containers
 * that ran then, some of which may be gone, and their numbers are not
 * known: the network's tree is made again, with the floors of the
 * containers running now. */
void networks_adopt_qos(Manager *m) {
        if (!m->networks)
                return;
        for (Network *n = m->networks->list; n; n = n->next) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_nl_sock_ struct nl_sock *sk = NULL;

                if (!n->active || !n->live || (n->live->bw_in.average == 0 && n->live->bw_out.average == 0))
                        continue;
                network_qos_clear(n);
                if (network_qos_apply(n, n->live, &error) < 0) {
                        fprintf(stderr, "%s\n", error.message);
                        continue;
                }
                if (!has_inbound_qos(n->live) || netlink_open(&sk) < 0)
                        continue;
                for (Container *c = m->containers; c; c = c->next) {
                        if (!c->live || !container_is_active(c))
                                continue;
                        ARRAY_FOREACH(iface, c->live->interfaces, c->live->n_interfaces) {
                                int r;

                                if (iface->type != INTERFACE_NETWORK || !streq_ptr(iface->source, n->name) ||
                                    iface->bw_in.floor == 0)
                                        continue;
                                r = plug(n, sk, c->name, iface->mac, iface->bw_in.floor);
                                if (r < 0)
                                        fprintf(stderr, "Failed to set the floor of container '%s' on network '%s' again: %s\n",
                                                c->name, n->name, strerror(-r));
                        }
                }
        }
}
