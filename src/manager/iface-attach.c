/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Live attach and detach of an <interface> (AttachDevice/DetachDevice,
 * `vivctl attach-device|attach-interface --live`): vivariumd resolves what
 * a start resolves for it (the managed network's bridge, the address its
 * DHCP keeps for the MAC) and hands the helper the interface in the
 * model's wire form; the helper makes it as a start does (veth or macvlan,
 * bridge port, shaping, anti-spoofing filter, addresses) or removes it with
 * its filter and shaping (helper-network.c), and rewrites NAME.ifaces, from
 * which the live definition learns the host-side name. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "domain-wire.h"
#include "iface-facts.h"
#include "macros.h"
#include "manager.h"
#include "network.h"

/* The bridge of a type='network' interface's network, and the address the
 * network keeps for its MAC, and the class of its floor (as spawn.c's
 * resolve_bridges() at start). */
static int resolve_network(Container *c, DomainInterface *iface, char **ret_bridge, sd_bus_error *error) {
        Network *n;
        int r;

        *ret_bridge = NULL;
        if (iface->type != INTERFACE_NETWORK)
                return 0;
        n = network_find(c->manager->networks, iface->source);
        if (!n || !n->active || !n->live || !n->live->bridge)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Network '%s' is not active", iface->source);
        free(iface->lease_address);
        iface->lease_address = NULL;
        free(iface->lease_address6);
        iface->lease_address6 = NULL;
        r = network_reserve_address(n, c->name, iface->mac, &iface->lease_address, &iface->lease_address6, error);
        if (r < 0)
                return r;
        r = network_qos_plug(n, c->name, iface, error);
        if (r >= 0) {
                *ret_bridge = strdup(n->live->bridge);
                if (!*ret_bridge)
                        r = -ENOMEM;
        }
        if (r < 0)
                network_release_address(n, c->name, iface->mac);
        return r;
}

/* What resolve_network() took for interface IFACE on its network: the
 * address kept for its MAC, the class of its floor. */
static void release_network(Container *c, const DomainInterface *iface) {
        Network *n;

        if (iface->type != INTERFACE_NETWORK)
                return;
        n = network_find(c->manager->networks, iface->source);
        if (!n || !n->active)
                return;
        network_release_address(n, c->name, iface->mac);
        if (iface->bw_in.floor > 0)
                network_qos_release(n, c->name, iface->mac);
}

/* A deep copy of def through its wire form. */
static int def_copy(const DomainDef *def, DomainDef **ret) {
        _cleanup_free_ void *wire = NULL;
        char **bridges = NULL;
        size_t size;
        int r;

        r = domain_def_to_wire(def, NULL, &wire, &size);
        if (r >= 0)
                r = domain_def_from_wire(wire, size, ret, &bridges);
        if (r >= 0)
                domain_wire_bridges_free(bridges, (*ret)->n_interfaces);
        return r;
}

/* The interface of wire (a domain with only it), moved to the end of live. */
static int live_take_interface(DomainDef *live, const void *wire, size_t size) {
        _cleanup_(domain_def_freep) DomainDef *copy = NULL;
        char **bridges = NULL;
        DomainInterface *a;
        int r;

        r = domain_def_from_wire(wire, size, &copy, &bridges);
        if (r < 0)
                return r;
        domain_wire_bridges_free(bridges, copy->n_interfaces);
        a = realloc(live->interfaces, (live->n_interfaces + 1) * sizeof(DomainInterface));
        if (!a)
                return -ENOMEM;
        live->interfaces = a;
        a[live->n_interfaces++] = copy->interfaces[0];
        copy->n_interfaces = 0;
        return 0;
}

static void merge_facts(Container *c) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = asprintf(&path, "%s/%s.ifaces", c->manager->run_dir, c->name) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = iface_facts_merge(c->live, path);
        if (r < 0)
                fprintf(stderr, "Failed to read the interfaces of container '%s', ignoring: %s\n", c->name, strerror(-r));
}

int iface_attach_live(Container *c, const DomainDef *frag, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *one = NULL;
        _cleanup_free_ char *bridge = NULL;
        _cleanup_free_ void *wire = NULL;
        char *bridges[2] = {};
        size_t size;
        int r;

        /* the helper's copy and ours from one encoding: a private model of
         * just the interface (with its network's lease address) */
        r = def_copy(frag, &one);
        if (r < 0)
                return r;
        r = resolve_network(c, &one->interfaces[0], &bridge, error);
        if (r < 0)
                return r;
        bridges[0] = bridge;
        r = domain_def_to_wire(one, bridges, &wire, &size);
        if (r < 0)
                return r;
        r = helper_call_devices_bytes(c, "AttachInterface", wire, size, error);
        if (r < 0) {
                release_network(c, &one->interfaces[0]);
                return r;
        }
        r = live_take_interface(c->live, wire, size);
        if (r < 0)
                return r;
        merge_facts(c);
        return 0;
}

int iface_detach_live(Container *c, size_t i, sd_bus_error *error) {
        DomainDef *live = c->live;
        char mac[18];
        int r;

        mac_format(live->interfaces[i].mac, mac);
        r = helper_call_devices(c, "DetachInterface", error, "s", mac);
        if (r < 0)
                return r;
        release_network(c, &live->interfaces[i]);
        domain_interface_done(&live->interfaces[i]);
        memmove(&live->interfaces[i], &live->interfaces[i + 1], (live->n_interfaces - i - 1) * sizeof(DomainInterface));
        live->n_interfaces--;
        merge_facts(c);
        return 0;
}
