/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* domiftune: SetInterfaceParameters and GetInterfaceParameters, libvirt's
 * virDomainSetInterfaceParameters with its parameter names
 * (inbound.average, ...; KiB/s and KiB). A live change shapes the host-side
 * device at once (netlink-tc.c, the helper does the same at start) and
 * shows in the live XML; a config change is stored for the next start. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "macros.h"
#include "manager.h"
#include "netlink-tc.h"
#include "netlink-util.h"
#include "network.h"

/* libvirt's names, in the order virsh prints them; no outbound floor */
static const struct {
        const char *name;
        bool inbound;
        size_t offset;
} bandwidth_params[] = {
        { "inbound.average", true, offsetof(DomainBandwidthRate, average) },
        { "inbound.peak", true, offsetof(DomainBandwidthRate, peak) },
        { "inbound.burst", true, offsetof(DomainBandwidthRate, burst) },
        { "inbound.floor", true, offsetof(DomainBandwidthRate, floor) },
        { "outbound.average", false, offsetof(DomainBandwidthRate, average) },
        { "outbound.peak", false, offsetof(DomainBandwidthRate, peak) },
        { "outbound.burst", false, offsetof(DomainBandwidthRate, burst) },
};

static uint64_t *rate_field(DomainBandwidthRate *rate, size_t offset) {
        return (uint64_t *) ((uint8_t *) rate + offset);
}

/* virsh names an interface by its host-side device or its MAC. */
static DomainInterface *find_interface(DomainDef *def, const char *name) {
        uint8_t mac[MAC_ADDR_LEN];
        bool is_mac = mac_parse_string(name, mac) >= 0;

        for (size_t i = 0; i < def->n_interfaces; i++) {
                DomainInterface *iface = &def->interfaces[i];

                if (streq_ptr(iface->target_dev, name))
                        return iface;
                if (is_mac && iface->has_mac && memcmp(iface->mac, mac, MAC_ADDR_LEN) == 0)
                        return iface;
        }
        return NULL;
}

static int lookup_interface(Container *c, DomainDef *def, const char *name, bool live, DomainInterface **ret,
                            sd_bus_error *error) {
        DomainInterface *iface = def ? find_interface(def, name) : NULL;

        if (!iface)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "No interface '%s' in the %s definition of container '%s'", name,
                                         live ? "live" : "persistent", c->name);
        *ret = iface;
        return 0;
}

/* The call's dictionary: which directions it names (those it names are
 * replaced as a whole, as libvirt does) and their new values. */
typedef struct BandwidthChange {
        DomainBandwidthRate in, out;
        bool has_in, has_out;
} BandwidthChange;

static int read_bandwidth_params(sd_bus_message *msg, BandwidthChange *ret, sd_bus_error *error) {
        const char *names[ELEMENTSOF(bandwidth_params)];
        uint64_t values[ELEMENTSOF(bandwidth_params)] = {};
        bool set[ELEMENTSOF(bandwidth_params)] = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(bandwidth_params); i++)
                names[i] = bandwidth_params[i].name;
        r = read_u64_params(msg, names, ELEMENTSOF(names), values, set, error);
        if (r < 0)
                return r;

        *ret = (BandwidthChange) {};
        for (size_t i = 0; i < ELEMENTSOF(bandwidth_params); i++) {
                bool inbound = bandwidth_params[i].inbound;

                if (!set[i])
                        continue;
                /* as in <bandwidth>: rates fit tc's 32 bits, a burst is at most 1 GiB */
                if (values[i] > (bandwidth_params[i].offset == offsetof(DomainBandwidthRate, burst) ? 1048576 : UINT32_MAX))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Interface parameter '%s' is out of range: %llu", names[i],
                                                 (unsigned long long) values[i]);
                *rate_field(inbound ? &ret->in : &ret->out, bandwidth_params[i].offset) = values[i];
                if (inbound)
                        ret->has_in = true;
                else
                        ret->has_out = true;
        }
        return 0;
}

/* libvirt's rules: a direction without average and floor is no shaping at
 * all (domiftune --inbound 0 removes it); floor belongs to network QoS, so
 * to type='network' (whether the network has any is checked live, and at
 * the next start for --config). */
static int check_change(Container *c, const DomainInterface *iface, const BandwidthChange *ch, sd_bus_error *error) {
        if (ch->has_in && ch->in.average == 0 && ch->in.floor == 0 && (ch->in.peak > 0 || ch->in.burst > 0))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "inbound.peak and inbound.burst need inbound.average");
        if (ch->has_out && ch->out.average == 0 && (ch->out.peak > 0 || ch->out.burst > 0))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "outbound.peak and outbound.burst need outbound.average");
        if (ch->has_in && ch->in.floor > 0 && iface->type != INTERFACE_NETWORK)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Invalid use of 'floor' on an interface of container '%s': "
                                         "'floor' is only supported for interfaces of type 'network'", c->name);
        if (iface->type == INTERFACE_DIRECT && ((ch->has_in && ch->in.average) || (ch->has_out && ch->out.average)))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Cannot set the bandwidth of direct interface on '%s' of container '%s': "
                                         "its device has no host side", iface->source, c->name);
        return 0;
}

static void apply_change(DomainInterface *iface, const BandwidthChange *ch) {
        if (ch->has_in)
                iface->bw_in = ch->in;
        if (ch->has_out)
                iface->bw_out = ch->out;
}

/* A live floor is the class of the interface on its network's bridge
 * (network-qos.c): changed there, against the other floors, first. */
static int change_floor(Container *c, const DomainInterface *iface, uint64_t floor, sd_bus_error *error) {
        Network *n;

        if (iface->type != INTERFACE_NETWORK || iface->bw_in.floor == floor)
                return 0;
        n = network_find(c->manager->networks, iface->source);
        if (!n || !n->active || !n->live)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Network '%s' is not active", iface->source);
        return network_qos_change(n, c->name, iface, floor, error);
}

static int shape_live(Container *c, const DomainInterface *iface, sd_bus_error *error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        int r;

        if (!iface->target_dev)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Interface of container '%s' has no host-side device to shape", c->name);
        r = netlink_open(&sk);
        if (r >= 0)
                r = netlink_bandwidth_set(sk, iface->target_dev, &iface->bw_in, &iface->bw_out);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to set the bandwidth of interface '%s' of container '%s': %m",
                                               iface->target_dev, c->name);
        return 0;
}

int container_method_set_interface_parameters(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        DomainInterface *live_iface = NULL, *config_iface = NULL;
        DomainBandwidthRate old_in = {}, old_out = {};
        BandwidthChange ch;
        const char *name;
        bool live, config;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = read_bandwidth_params(msg, &ch, error);
        if (r < 0)
                return r;
        r = read_affect_authorized(c, msg, &live, &config, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        /* both looked up and checked before anything changes */
        if (live && (r = lookup_interface(c, c->live, name, true, &live_iface, error)) < 0)
                return r;
        if (config && (r = lookup_interface(c, c->def, name, false, &config_iface, error)) < 0)
                return r;
        if ((live_iface && (r = check_change(c, live_iface, &ch, error)) < 0) ||
            (config_iface && (r = check_change(c, config_iface, &ch, error)) < 0))
                return r;

        if (live_iface) {
                old_in = live_iface->bw_in;
                old_out = live_iface->bw_out;
                if (ch.has_in && (r = change_floor(c, live_iface, ch.in.floor, error)) < 0)
                        return r;
                apply_change(live_iface, &ch);
                r = shape_live(c, live_iface, error);
                if (r < 0) {
                        /* netlink_bandwidth_set() left the device unshaped:
                         * put back what it had, its floor too */
                        live_iface->bw_in = old_in;
                        live_iface->bw_out = old_out;
                        (void) shape_live(c, live_iface, NULL);
                        if (ch.has_in && ch.in.floor != old_in.floor) {
                                DomainInterface now = *live_iface;

                                now.bw_in.floor = ch.in.floor;
                                (void) change_floor(c, &now, old_in.floor, NULL);
                        }
                        return r;
                }
                r = container_write_live_xml(c, c->helper_pid);
                if (r < 0)
                        fprintf(stderr, "Failed to update the live XML of container '%s', ignoring: %s\n", c->name,
                                strerror(-r));
                fprintf(stderr, "Container '%s': bandwidth of interface '%s' changed.\n", c->name, name);
        }
        if (config_iface) {
                apply_change(config_iface, &ch);
                r = save_definition(c, error);
                if (r < 0)
                        return r;
        }
        return sd_bus_reply_method_return(msg, NULL);
}

int container_method_get_interface_parameters(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Container *c = userdata;
        DomainInterface *iface = NULL;
        const char *name;
        uint64_t flags;
        bool live, config;
        int r;

        r = sd_bus_message_read(msg, "st", &name, &flags);
        if (r < 0)
                return r;
        r = resolve_affect(c, flags, &live, &config, error);
        if (r < 0)
                return r;
        if (live && config)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Flags live and config are exclusive here");
        r = lookup_interface(c, live ? c->live : c->def, name, live, &iface, error);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        ARRAY_FOREACH(p, bandwidth_params, ELEMENTSOF(bandwidth_params)) {
                uint64_t v = *rate_field(p->inbound ? &iface->bw_in : &iface->bw_out, p->offset);

                r = sd_bus_message_append(reply, "{sv}", p->name, "u", (uint32_t) v);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

void bandwidth_cleanup(Container *c) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        const DomainDef *d = c->live;

        /* A helper that sent Exited removed its devices before: their
         * names may already be another container's. */
        if (!d || c->got_exited)
                return;
        for (size_t i = 0; i < d->n_interfaces; i++) {
                const DomainInterface *iface = &d->interfaces[i];
                char ifb[IFNAMSIZ];
                int r;

                /* an ifb exists only for <outbound> shaping */
                if (!iface->target_dev || iface->type == INTERFACE_DIRECT || iface->bw_out.average == 0)
                        continue;
                if (!sk && netlink_open(&sk) < 0)
                        return;
                /* A helper that died without its teardown leaves the payload
                 * running until the scope is stopped, and the veth with it:
                 * the device still there is this container's, its name is
                 * not free for another one yet. */
                r = netlink_link_delete(sk, iface->target_dev);
                if (r < 0 && r != -ENODEV)
                        fprintf(stderr, "Failed to delete '%s' of container '%s', ignoring: %s\n",
                                iface->target_dev, c->name, strerror(-r));
                netlink_bandwidth_ifb_name(iface->target_dev, ifb);
                r = netlink_link_delete(sk, ifb);
                if (r >= 0)
                        fprintf(stderr, "Container '%s': removed '%s' that its helper left.\n", c->name, ifb);
                else if (r != -ENODEV)
                        fprintf(stderr, "Failed to remove '%s' of container '%s', ignoring: %s\n", ifb, c->name,
                                strerror(-r));
        }
}
