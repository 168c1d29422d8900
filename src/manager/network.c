/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Managed networks: the model and its store (/etc/vivarium/networks), the
 * default network, start (bridge, addresses, nftables, dnsmasq) and destroy,
 * adoption of running networks after a manager restart, autostart. */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/route/addr.h>
#include <netlink/route/route.h>

#include "bus-names.h"
#include "domain.h"
#include "fileio.h"
#include "macros.h"
#include "netlink-tc.h"
#include "netlink-util.h"
#include "network.h"
#include "xml-util.h"
#include "unit-name.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static char *env_or(const char *name, const char *fallback) {
        const char *e = getenv(name);
        return strdup(e && *e ? e : fallback);
}

/* --- paths ---------------------------------------------------------------- */

static int config_path(Networks *ns, const char *name, char **ret) {
        return asprintf(ret, "%s/%s.xml", ns->etc_dir, name) < 0 ? -ENOMEM : 0;
}

static int live_path(Networks *ns, const char *name, char **ret) {
        return asprintf(ret, "%s/%s.xml", ns->run_dir, name) < 0 ? -ENOMEM : 0;
}

static int autostart_path(Networks *ns, const char *name, char **ret) {
        return asprintf(ret, "%s/autostart/%s.xml", ns->etc_dir, name) < 0 ? -ENOMEM : 0;
}

/* --- the model -------------------------------------------------------------- */

int network_def_copy(const NetworkDef *def, NetworkDef **ret) {
        _cleanup_free_ char *xml = NULL;
        XmlDiag diag = {};
        int r;

        xml = network_def_format(def);
        if (!xml)
                return -ENOMEM;
        r = network_def_parse(xml, strlen(xml), def->name, ret, &diag);
        xml_diag_done(&diag);
        return r;
}

static Network *network_free(Network *n) {
        if (!n)
                return NULL;
        if (n->pending)
                (void) sd_bus_reply_method_errorf(n->pending, SD_BUS_ERROR_FAILED,
                                                  "The manager stopped while network '%s' was changing", n->name);
        sd_bus_message_unref(n->pending);
        network_reservations_clear(n);
        network_qos_clear(n);
        network_def_free(n->def);
        network_def_free(n->live);
        free(n->job);
        free(n->name);
        free(n->path);
        free(n->unit);
        free(n);
        return NULL;
}

int network_unit_name(const char *name, char **ret) {
        _cleanup_free_ char *escaped = NULL;
        int r;

        r = unit_name_escape(name, &escaped);
        if (r < 0)
                return r;
        return asprintf(ret, "vivarium-dnsmasq-%s.service", escaped) < 0 ? -ENOMEM : 0;
}

static int network_new(Networks *ns, NetworkDef *def, bool persistent, Network **ret) {
        Network *n;
        int r;

        n = calloc(1, sizeof(Network));
        if (!n)
                return -ENOMEM;
        n->owner = ns;
        n->persistent = persistent;
        n->name = strdup(def->name);
        r = network_unit_name(def->name, &n->unit);
        if (r < 0 || !n->name) {
                network_free(n);
                return -ENOMEM;
        }
        r = sd_bus_path_encode(VIV_NETWORK_PREFIX, def->name, &n->path);
        if (r < 0) {
                network_free(n);
                return r;
        }
        n->def = def;
        n->next = ns->list;
        ns->list = n;
        *ret = n;
        return 0;
}

static void network_unlink(Network *n) {
        for (Network **p = &n->owner->list; *p; p = &(*p)->next)
                if (*p == n) {
                        *p = n->next;
                        return;
                }
}

Network *network_find(Networks *ns, const char *name) {
        for (Network *n = ns->list; n; n = n->next)
                if (streq(n->name, name))
                        return n;
        return NULL;
}

Network *network_find_by_path(Networks *ns, const char *path) {
        for (Network *n = ns->list; n; n = n->next)
                if (streq(n->path, path))
                        return n;
        return NULL;
}

static Network *network_find_by_uuid(Networks *ns, const uint8_t uuid[16]) {
        for (Network *n = ns->list; n; n = n->next)
                if (memcmp(n->def->uuid, uuid, 16) == 0)
                        return n;
        return NULL;
}

int network_from_name(Networks *ns, const char *name, Network **ret, sd_bus_error *error) {
        Network *n = network_find(ns, name);

        if (!n)
                return sd_bus_error_setf(error, VIV_ERROR_NO_SUCH_NETWORK, "Network not found: no network with matching name '%s'",
                                         name);
        *ret = n;
        return 0;
}

const NetworkDef *network_current_def(const Network *n) {
        return n->active && n->live ? n->live : n->def;
}

void network_drop(Network *n) {
        if (n->persistent || n->active || n->op != NETWORK_OP_NONE)
                return;
        network_unlink(n);
        network_free(n);
}

/* --- the store -------------------------------------------------------------- */

static int store_network(Networks *ns, const NetworkDef *def) {
        _cleanup_free_ char *path = NULL, *xml = NULL;
        int r;

        r = mkdir_p(ns->etc_dir, 0755);
        if (r < 0)
                return r;
        r = config_path(ns, def->name, &path);
        if (r < 0)
                return r;
        xml = network_def_format(def);
        if (!xml)
                return -ENOMEM;
        return write_file_atomic(path, xml, 0600);
}

static int store_autostart(Networks *ns, const char *name, bool on) {
        _cleanup_free_ char *path = NULL, *dir = NULL, *target = NULL;
        int r;

        r = autostart_path(ns, name, &path);
        if (r < 0)
                return r;
        if (!on)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;

        if (asprintf(&dir, "%s/autostart", ns->etc_dir) < 0 || asprintf(&target, "../%s.xml", name) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        if (symlink(target, path) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static bool stored_autostart(Networks *ns, const char *name) {
        _cleanup_free_ char *path = NULL;

        if (autostart_path(ns, name, &path) < 0)
                return false;
        return access(path, F_OK) == 0;
}

static char *xml_file_name(const char *filename) {
        size_t n = strlen(filename);

        if (n <= 4 || !streq(filename + n - 4, ".xml"))
                return NULL;
        return strndup(filename, n - 4);
}

static int parse_network_file(const char *path, NetworkDef **ret) {
        _cleanup_free_ char *data = NULL;
        XmlDiag diag = {};
        size_t size;
        int r;

        r = read_full_file(path, &data, &size);
        if (r >= 0)
                r = network_def_parse_flags(data, size, path, NETWORK_PARSE_STORED, ret, &diag);
        if (diag.warnings)
                for (char **w = diag.warnings; *w; w++)
                        fprintf(stderr, "%s\n", *w);
        if (r < 0 && r != -ENOENT)
                fprintf(stderr, "Failed to load %s, skipping: %s\n", path, diag.error ? diag.error : strerror(-r));
        xml_diag_done(&diag);
        return r;
}

static int load_all(Networks *ns) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        d = opendir(ns->etc_dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        while ((de = readdir(d))) {
                _cleanup_(network_def_freep) NetworkDef *def = NULL;
                _cleanup_free_ char *name = NULL, *path = NULL;
                Network *n;
                int r;

                name = xml_file_name(de->d_name);
                if (!name)
                        continue;
                if (asprintf(&path, "%s/%s", ns->etc_dir, de->d_name) < 0)
                        return -ENOMEM;
                if (parse_network_file(path, &def) < 0)
                        continue;
                if (!streq(def->name, name)) {
                        fprintf(stderr, "Failed to load %s, skipping: it defines network '%s', not '%s'\n", path,
                                def->name, name);
                        continue;
                }
                if ((n = network_find_by_uuid(ns, def->uuid))) {
                        fprintf(stderr, "Failed to load %s, skipping: its uuid is already used by network '%s'\n",
                                path, n->name);
                        continue;
                }
                r = network_new(ns, def, true, &n);
                if (r < 0)
                        return r;
                TAKE_PTR(def);
                n->autostart = stored_autostart(ns, n->name);
        }
        return 0;
}

/* The package's default network goes to /etc once: an admin who undefines it
 * keeps it undefined (the marker stays), and an edited one is never replaced. */
static void install_default(Networks *ns) {
        _cleanup_free_ char *marker = NULL, *dst = NULL, *src = NULL, *xml = NULL;
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        _cleanup_close_ int fd = -EBADF;
        XmlDiag diag = {};
        int r;

        if (asprintf(&marker, "%s/.default-installed", ns->etc_dir) < 0 ||
            asprintf(&dst, "%s/default.xml", ns->etc_dir) < 0 ||
            asprintf(&src, "%s/default.xml", ns->dist_dir) < 0)
                return;
        if (access(marker, F_OK) == 0 || access(dst, F_OK) == 0)
                return;

        r = read_full_file(src, &xml, NULL);
        if (r < 0) {
                if (r != -ENOENT)
                        fprintf(stderr, "Failed to read %s, not installing the default network: %s\n", src,
                                strerror(-r));
                return;
        }
        r = network_def_parse(xml, strlen(xml), src, &def, &diag);
        if (r < 0) {
                fprintf(stderr, "Failed to parse %s, not installing the default network: %s\n", src,
                        diag.error ? diag.error : strerror(-r));
                xml_diag_done(&diag);
                return;
        }
        xml_diag_done(&diag);
        if (!def->has_mac && domain_def_generate_mac(def->mac) >= 0)
                def->has_mac = true;

        r = store_network(ns, def);
        if (r < 0) {
                fprintf(stderr, "Failed to install the default network in %s: %s\n", dst, strerror(-r));
                return;
        }
        r = store_autostart(ns, def->name, true);
        if (r < 0)
                fprintf(stderr, "Failed to mark network '%s' as autostarted, ignoring: %s\n", def->name, strerror(-r));
        fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                fprintf(stderr, "Failed to create %s, ignoring: %m\n", marker);
        fd = safe_close(fd);
        fprintf(stderr, "Installed the default network '%s' from %s.\n", def->name, src);
}

/* --- bringing a network up and down ------------------------------------------ */

/* The live XML names the bridge that containers attach to, and is what a
 * restarted manager adopts. */
static int write_live(Networks *ns, const NetworkDef *live) {
        _cleanup_free_ char *path = NULL, *xml = NULL;
        int r;

        xml = network_def_format(live);
        if (!xml)
                return -ENOMEM;
        r = mkdir_p(ns->run_dir, 0755);
        if (r < 0)
                return r;
        r = live_path(ns, live->name, &path);
        if (r < 0)
                return r;
        return write_file_atomic(path, xml, 0644);
}

int network_save_live(Network *n) {
        return n->live ? write_live(n->owner, n->live) : -ENOENT;
}

static void remove_live_files(Networks *ns, const char *name) {
        _cleanup_free_ char *path = NULL;

        if (live_path(ns, name, &path) >= 0)
                (void) unlink(path);
        dnsmasq_remove_files(ns, name);
}

static void remove_rules_and_bridge(Networks *ns, const char *name, const char *bridge) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        int r;

        r = nft_remove(ns, name);
        if (r < 0 && r != -ENOENT)
                fprintf(stderr, "Failed to remove the nftables rules of network '%s', ignoring: %s\n", name,
                        strerror(-r));
        if (bridge && netlink_open(&sk) >= 0) {
                r = netlink_link_delete(sk, bridge);
                if (r < 0 && r != -ENODEV)
                        fprintf(stderr, "Failed to delete bridge '%s' of network '%s', ignoring: %s\n", bridge, name,
                                strerror(-r));
                /* the ifb of its <bandwidth><outbound>, which outlives it */
                r = netlink_bandwidth_clear(sk, bridge);
                if (r < 0)
                        fprintf(stderr, "Failed to remove the shaping of bridge '%s' of network '%s', ignoring: %s\n",
                                bridge, name, strerror(-r));
        }
}

/* Everything but dnsmasq's unit: rules, bridge, files. Quiet about what
 * is already gone. */
static void tear_down(Networks *ns, const char *name, const char *bridge) {
        remove_rules_and_bridge(ns, name, bridge);
        remove_live_files(ns, name);
}

static bool prefixes_overlap(int family, const void *a, unsigned pa, const void *b, unsigned pb) {
        const uint8_t *x = a, *y = b;
        unsigned bits = pa < pb ? pa : pb;

        for (unsigned i = 0; i < bits; i++) {
                unsigned byte = i / 8, bit = 7 - i % 8;
                if (((x[byte] >> bit) & 1) != ((y[byte] >> bit) & 1))
                        return false;
        }
        return true;
}

/* A route of the host's main table (a VPN's, another bridge's) that overlaps
 * the network's subnet would take the guests' traffic or lose theirs. The
 * default route is no overlap. */
static int check_routes_free(struct nl_sock *sk, const NetworkDef *def, sd_bus_error *error) {
        struct nl_cache *cache = NULL;
        int r;

        r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache);
        if (r < 0)
                return netlink_error_to_errno(r);

        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_route *route = (struct rtnl_route *) o;
                struct nl_addr *dst = rtnl_route_get_dst(route);
                struct rtnl_nexthop *nh;
                unsigned plen;

                if (!dst || rtnl_route_get_table(route) != RT_TABLE_MAIN)
                        continue;
                plen = nl_addr_get_prefixlen(dst);
                if (plen == 0)
                        continue;
                ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                        uint8_t mine[16];
                        char have[INET6_ADDRSTRLEN + 8], ifname[IF_NAMESIZE + 16] = "?";

                        if (nl_addr_get_family(dst) != ip->family || inet_pton(ip->family, ip->address, mine) != 1)
                                continue;
                        if (!prefixes_overlap(ip->family, mine, ip->prefix, nl_addr_get_binary_addr(dst), plen))
                                continue;
                        nl_addr2str(dst, have, sizeof have);
                        nh = rtnl_route_nexthop_n(route, 0);
                        if (nh && !if_indextoname((unsigned) rtnl_route_nh_get_ifindex(nh), ifname))
                                snprintf(ifname, sizeof ifname, "#%d", rtnl_route_nh_get_ifindex(nh));
                        nl_cache_free(cache);
                        return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                                 "Subnet %s/%u of network '%s' overlaps the host's route to %s (interface '%s')",
                                                 ip->address, ip->prefix, def->name, have, ifname);
                }
        }
        nl_cache_free(cache);
        return 0;
}

/* A subnet that an interface of the host already has would make two routes
 * for the same addresses: refused, with the culprit named. */
static int check_subnet_free(struct nl_sock *sk, const NetworkDef *def, sd_bus_error *error) {
        struct nl_cache *cache = NULL;
        int r;

        r = rtnl_addr_alloc_cache(sk, &cache);
        if (r < 0)
                return netlink_error_to_errno(r);

        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *) o;
                struct nl_addr *local = rtnl_addr_get_local(a);

                if (!local)
                        continue;
                ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                        uint8_t mine[16];
                        char have[INET6_ADDRSTRLEN + 8], ifname[IF_NAMESIZE + 16];

                        if (nl_addr_get_family(local) != ip->family ||
                            inet_pton(ip->family, ip->address, mine) != 1)
                                continue;
                        if (!prefixes_overlap(ip->family, mine, ip->prefix, nl_addr_get_binary_addr(local),
                                              (unsigned) rtnl_addr_get_prefixlen(a)))
                                continue;

                        nl_addr2str(local, have, sizeof have);
                        if (!if_indextoname((unsigned) rtnl_addr_get_ifindex(a), ifname))
                                snprintf(ifname, sizeof ifname, "#%d", rtnl_addr_get_ifindex(a));
                        nl_cache_free(cache);
                        return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                                 "Subnet %s/%u of network '%s' is already in use on the host by interface '%s' (%s)",
                                                 ip->address, ip->prefix, def->name, ifname, have);
                }
        }
        nl_cache_free(cache);
        return check_routes_free(sk, def, error);
}

int write_sysctl(const char *path, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *old = NULL;
        size_t n = strlen(value);

        /* Already set (a read-only /proc/sys in a container host is fine then). */
        if (read_full_file(path, &old, NULL) >= 0 && streq(old, value))
                return 0;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, n) != (ssize_t) n)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static int enable_forwarding(const NetworkDef *def) {
        bool v4 = false, v6 = false;
        int r = 0;

        ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                if (ip->family == AF_INET)
                        v4 = true;
                else
                        v6 = true;
        }
        if (v4 || def->n_ips == 0) {
                r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1\n");
                if (r < 0)
                        return r;
        }
        if (v6)
                r = write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1\n");
        return r;
}

/* The bridge with its MAC and addresses, up. Nothing is left on failure. */
static int bridge_up(Network *n, const NetworkDef *live, sd_bus_error *error) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        int ifindex, r;

        r = netlink_open(&sk);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to open a netlink socket: %m");

        r = netlink_link_get_ifindex(sk, live->bridge);
        if (r >= 0)
                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                         "Interface '%s' already exists on the host: network '%s' cannot use it as its bridge",
                                         live->bridge, n->name);
        r = check_subnet_free(sk, live, error);
        if (r < 0)
                return r;

        r = netlink_bridge_create(sk, live->bridge, live->has_mac ? live->mac : NULL);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to create bridge '%s' for network '%s': %m",
                                               live->bridge, n->name);
        ifindex = netlink_link_get_ifindex(sk, live->bridge);
        if (ifindex < 0) {
                r = ifindex;
                goto fail;
        }
        ARRAY_FOREACH(ip, live->ips, live->n_ips) {
                r = netlink_addr_add(sk, ifindex, ip->family, ip->address, ip->prefix, NULL);
                if (r < 0) {
                        (void) netlink_link_delete(sk, live->bridge);
                        return sd_bus_error_set_errnof(error, r, "Failed to add address %s/%u to bridge '%s': %m",
                                                       ip->address, ip->prefix, live->bridge);
                }
        }
        r = netlink_link_set_up(sk, ifindex, true);
        if (r < 0)
                goto fail;
        return 0;

fail:
        (void) netlink_link_delete(sk, live->bridge);
        return sd_bus_error_set_errnof(error, r, "Failed to set up bridge '%s' for network '%s': %m", live->bridge,
                                       n->name);
}

static void network_finish_start(Network *n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pending = TAKE_PTR(n->pending);

        n->op = NETWORK_OP_NONE;
        n->active = true;
        fprintf(stderr, "Network '%s' started on bridge '%s'.\n", n->name, n->live->bridge);
        (void) network_emit_changed(n, "Active");
        (void) network_emit_event(n, "started", "booted");
        if (pending && n->pending_wants_path)
                (void) sd_bus_reply_method_return(pending, "o", n->path);
        else if (pending)
                (void) sd_bus_reply_method_return(pending, NULL);
        n->pending_wants_path = false;
}

static void network_fail_start(Network *n, const char *message) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pending = TAKE_PTR(n->pending);

        fprintf(stderr, "%s\n", message);
        if (n->has_dnsmasq)
                /* Whatever systemd made of it (a restart pending, a failed
                 * unit): gone. */
                (void) dnsmasq_stop_unit_of(n->owner, n->name);
        tear_down(n->owner, n->name, n->live ? n->live->bridge : NULL);
        network_reservations_clear(n);
        network_qos_clear(n);
        n->live = network_def_free(n->live);
        n->op = NETWORK_OP_NONE;
        n->has_dnsmasq = false;
        n->job = mfree(n->job);
        if (pending)
                (void) sd_bus_reply_method_errorf(pending, VIV_ERROR_START_FAILED, "%s", message);
        n->pending_wants_path = false;
        network_drop(n);
}

static void network_finish_stop(Network *n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pending = TAKE_PTR(n->pending);

        remove_live_files(n->owner, n->name);
        network_reservations_clear(n);
        network_qos_clear(n);
        n->live = network_def_free(n->live);
        n->op = NETWORK_OP_NONE;
        n->has_dnsmasq = false;
        n->job = mfree(n->job);
        n->active = false;
        fprintf(stderr, "Network '%s' destroyed.\n", n->name);
        (void) network_emit_changed(n, "Active");
        (void) network_emit_event(n, "stopped", "destroyed");
        if (pending)
                (void) sd_bus_reply_method_return(pending, NULL);
        network_drop(n);
}

/* Called by network-dnsmasq.c when systemd answered StartTransientUnit or
 * StopUnit: the job to wait for, or why there is none. */
void network_unit_call_done(Networks *ns, const char *name, const char *job, const sd_bus_error *e) {
        Network *n = network_find(ns, name);

        if (!n || n->op == NETWORK_OP_NONE)
                return;

        if (n->op == NETWORK_OP_STARTING) {
                if (e) {
                        _cleanup_free_ char *msg = NULL;

                        if (asprintf(&msg, "Failed to start dnsmasq for network '%s': %s", n->name,
                                     e->message ? e->message : e->name) < 0)
                                msg = NULL;
                        network_fail_start(n, msg ? msg : "Failed to start dnsmasq");
                        return;
                }
        } else if (e) {
                /* No such unit (it died meanwhile): nothing to wait for. */
                network_finish_stop(n);
                return;
        }

        free(n->job);
        n->job = strdup(job);
        if (!n->job) {
                if (n->op == NETWORK_OP_STARTING)
                        network_fail_start(n, "Out of memory");
                else
                        network_finish_stop(n);
        }
}

static int job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Networks *ns = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result) < 0)
                return 0;

        for (Network *n = ns->list; n; n = n->next) {
                if (!streq_ptr(n->job, path))
                        continue;
                n->job = mfree(n->job);
                if (n->op == NETWORK_OP_STARTING) {
                        if (streq(result, "done"))
                                network_finish_start(n);
                        else {
                                _cleanup_free_ char *m = NULL;

                                if (asprintf(&m, "Failed to start dnsmasq for network '%s': unit %s %s (see 'journalctl -u %s')",
                                             n->name, unit, result, unit) < 0)
                                        m = NULL;
                                network_fail_start(n, m ? m : "Failed to start dnsmasq");
                        }
                } else if (n->op == NETWORK_OP_STOPPING)
                        network_finish_stop(n);
                return 0;
        }
        return 0;
}

int network_start(Network *n, sd_bus_message *msg, sd_bus_error *error) {
        Networks *ns = n->owner;
        _cleanup_(network_def_freep) NetworkDef *live = NULL;
        _cleanup_free_ char *nft_error = NULL;
        int r;

        if (n->active || n->op == NETWORK_OP_STARTING)
                return sd_bus_error_setf(error, VIV_ERROR_NETWORK_ACTIVE, "Requested operation is not valid: network '%s' is already active",
                                         n->name);
        if (n->op != NETWORK_OP_NONE)
                return sd_bus_error_setf(error, VIV_ERROR_NETWORK_ACTIVE, "Network '%s' is being destroyed", n->name);

        r = network_def_copy(n->def, &live);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to copy the definition of network '%s': %m", n->name);
        /* The hosts file starts empty (dnsmasq_write_config()). */
        network_reservations_clear(n);
        network_qos_clear(n);
        if (!live->bridge)
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG, "Network '%s' has no bridge name", n->name);

        r = bridge_up(n, live, error);
        if (r < 0)
                return r;
        r = network_qos_apply(n, live, error);
        if (r < 0) {
                tear_down(ns, n->name, live->bridge);
                return r;
        }

        if (live->forward == NETWORK_FORWARD_NAT || live->forward == NETWORK_FORWARD_ROUTE ||
            live->forward == NETWORK_FORWARD_OPEN) {
                r = enable_forwarding(live);
                if (r < 0)
                        /* The network still serves its guests and the host. */
                        fprintf(stderr, "Failed to enable IP forwarding for network '%s', guests will not reach beyond the host: %s\n",
                                n->name, strerror(-r));
        }

        r = nft_apply(ns, live, &nft_error);
        if (r < 0) {
                tear_down(ns, n->name, live->bridge);
                if (nft_error)
                        return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                                 "Failed to install the nftables rules of network '%s': %s", n->name,
                                                 nft_error);
                return sd_bus_error_set_errnof(error, r, "Failed to install the nftables rules of network '%s': %m",
                                               n->name);
        }

        r = write_live(ns, live);
        if (r < 0) {
                tear_down(ns, n->name, live->bridge);
                return sd_bus_error_set_errnof(error, r, "Failed to write the live state of network '%s': %m",
                                               n->name);
        }

        n->live = TAKE_PTR(live);
        n->has_dnsmasq = network_wants_dnsmasq(n->live);
        if (!n->has_dnsmasq) {
                n->pending = sd_bus_message_ref(msg);
                network_finish_start(n);
                return 1;
        }

        n->op = NETWORK_OP_STARTING;
        r = dnsmasq_start(n);
        if (r < 0) {
                tear_down(ns, n->name, n->live->bridge);
                n->live = network_def_free(n->live);
                n->op = NETWORK_OP_NONE;
                return sd_bus_error_set_errnof(error, r, "Failed to start dnsmasq for network '%s': %m", n->name);
        }
        n->pending = sd_bus_message_ref(msg);
        return 1;
}

int network_destroy(Network *n, sd_bus_message *msg, sd_bus_error *error) {
        int r;

        if (n->op == NETWORK_OP_STARTING)
                return sd_bus_error_setf(error, VIV_ERROR_NETWORK_ACTIVE, "Network '%s' is being started", n->name);
        if (!n->active || n->op != NETWORK_OP_NONE)
                return sd_bus_error_setf(error, VIV_ERROR_NETWORK_NOT_ACTIVE,
                                         "Requested operation is not valid: network '%s' is not active", n->name);

        /* Rules and bridge first: from now on no guest gets through. The
         * files go once dnsmasq is stopped. */
        remove_rules_and_bridge(n->owner, n->name, n->live ? n->live->bridge : NULL);

        n->op = NETWORK_OP_STOPPING;
        n->pending = sd_bus_message_ref(msg);
        r = n->has_dnsmasq ? dnsmasq_stop(n, true) : -ESRCH;
        if (r < 0)
                network_finish_stop(n);
        return 1;
}

/* --- define, undefine, autostart ------------------------------------------- */

static bool bridge_taken(Networks *ns, const char *bridge, const Network *except) {
        for (Network *n = ns->list; n; n = n->next) {
                if (n == except)
                        continue;
                if (streq_ptr(n->def->bridge, bridge) || (n->live && streq_ptr(n->live->bridge, bridge)))
                        return true;
        }
        return false;
}

/* libvirt names bridges virbrN at define time; ours are vivbrN. */
static int assign_bridge(Networks *ns, NetworkDef *def, const Network *self) {
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;

        (void) netlink_open(&sk);
        for (unsigned i = 0; i < 256; i++) {
                char name[16];

                snprintf(name, sizeof name, "vivbr%u", i);
                if (bridge_taken(ns, name, self))
                        continue;
                if (sk && netlink_link_get_ifindex(sk, name) >= 0)
                        continue;
                def->bridge = strdup(name);
                return def->bridge ? 0 : -ENOMEM;
        }
        return -ENOSPC;
}

static bool word_is_safe(const char *s, const char *extra, size_t max) {
        size_t len = strlen(s);

        if (len == 0 || len > max)
                return false;
        for (; *s; s++)
                if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
                    !strchr(extra, *s))
                        return false;
        return true;
}

/* Names that end up in dnsmasq's configuration and in nft's script: a quote
 * or a newline there would add directives of the caller's choosing. */
int network_check_names(const NetworkDef *def, sd_bus_error *error) {
        if (def->bridge && !word_is_safe(def->bridge, "_.-+", 15))
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                         "Invalid bridge name '%s': expected 1 to 15 characters among A-Z a-z 0-9 _ . - +",
                                         def->bridge);
        if (def->forward_dev && !word_is_safe(def->forward_dev, "_.-+@", 15))
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG, "Invalid forward device name '%s'",
                                         def->forward_dev);
        if (def->domain_name && !word_is_safe(def->domain_name, ".-", 253))
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                         "Invalid domain name '%s': expected letters, digits, '.' and '-'",
                                         def->domain_name);
        ARRAY_FOREACH(ip, def->ips, def->n_ips)
                ARRAY_FOREACH(h, ip->hosts, ip->n_hosts)
                        if (h->name && !word_is_safe(h->name, ".-_", 63))
                                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                                         "Invalid DHCP host name '%s': expected letters, digits, '.', '-' and '_'",
                                                         h->name);
        return 0;
}

int network_define(Networks *ns, NetworkDef *def, bool persistent, Network **ret, sd_bus_error *error) {
        Network *n, *other;
        char buf[37];
        int r;

        r = network_check_names(def, error);
        if (r < 0)
                return r;

        n = network_find(ns, def->name);
        if (n) {
                if (!persistent)
                        return sd_bus_error_setf(error, VIV_ERROR_NETWORK_EXISTS, "Network '%s' already exists",
                                                 n->name);
                if (def->uuid_generated)
                        memcpy(def->uuid, n->def->uuid, 16);
                else if (memcmp(def->uuid, n->def->uuid, 16) != 0) {
                        uuid_format(n->def->uuid, buf);
                        return sd_bus_error_setf(error, VIV_ERROR_NETWORK_EXISTS,
                                                 "Network '%s' already exists with uuid %s", n->name, buf);
                }
        }
        other = network_find_by_uuid(ns, def->uuid);
        if (other && other != n) {
                uuid_format(other->def->uuid, buf);
                return sd_bus_error_setf(error, VIV_ERROR_NETWORK_EXISTS, "Network '%s' already exists with uuid %s",
                                         other->name, buf);
        }

        if (def->bridge) {
                for (Network *o = ns->list; o; o = o->next)
                        if (o != n && (streq_ptr(o->def->bridge, def->bridge) ||
                                       (o->live && streq_ptr(o->live->bridge, def->bridge))))
                                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                                         "Bridge name '%s' is already used by network '%s'",
                                                         def->bridge, o->name);
        } else if (n && n->def->bridge)
                def->bridge = strdup(n->def->bridge);
        else {
                r = assign_bridge(ns, def, n);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to choose a bridge name for network '%s': %m",
                                                       def->name);
        }
        if (!def->bridge)
                return -ENOMEM;
        if (!def->has_mac) {
                /* As libvirt: a fixed MAC, so the bridge's address never
                 * follows whichever guest joins first. */
                if (n && n->def->has_mac)
                        memcpy(def->mac, n->def->mac, 6);
                else {
                        r = domain_def_generate_mac(def->mac);
                        if (r < 0)
                                return r;
                }
                def->has_mac = true;
        }

        if (persistent) {
                r = store_network(ns, def);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to save the definition of network '%s': %m",
                                                       def->name);
        }

        if (n) {
                bool was = n->persistent;

                network_def_free(n->def);
                n->def = def;
                n->persistent = true;
                if (!was)
                        (void) network_emit_changed(n, "Persistent");
                if (!n->active)
                        (void) network_emit_changed(n, "Bridge");
                (void) network_emit_event(n, "defined", "updated");
                fprintf(stderr, "Network '%s' redefined.\n", n->name);
        } else {
                r = network_new(ns, def, persistent, &n);
                if (r < 0)
                        return r;
                n->autostart = persistent && stored_autostart(ns, n->name);
                if (persistent) {
                        (void) network_emit_event(n, "defined", "added");
                        fprintf(stderr, "Network '%s' defined.\n", n->name);
                }
        }
        *ret = n;
        return 0;
}

int network_undefine(Network *n, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!n->persistent)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot undefine transient network '%s'",
                                         n->name);
        r = config_path(n->owner, n->name, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return sd_bus_error_set_errnof(error, errno, "Failed to remove %s: %m", path);
        (void) store_autostart(n->owner, n->name, false);
        if (n->autostart) {
                n->autostart = false;
                (void) network_emit_changed(n, "Autostart");
        }
        n->persistent = false;
        fprintf(stderr, "Network '%s' undefined%s.\n", n->name,
                n->active ? ", it stays until it is destroyed" : "");
        (void) network_emit_event(n, "undefined", "removed");
        if (n->active || n->op != NETWORK_OP_NONE)
                (void) network_emit_changed(n, "Persistent");
        else
                network_drop(n);
        return 0;
}

int network_set_autostart(Network *n, bool on, sd_bus_error *error) {
        int r;

        if (!n->persistent)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "cannot set autostart for transient network '%s'", n->name);
        r = store_autostart(n->owner, n->name, on);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to %s autostart of network '%s': %m",
                                               on ? "enable" : "disable", n->name);
        if (n->autostart != on) {
                n->autostart = on;
                (void) network_emit_changed(n, "Autostart");
        }
        return 0;
}

/* --- start-up: adoption and autostart --------------------------------------- */

/* A network whose bridge still exists after a manager restart runs on: its
 * dnsmasq lives in its own unit. One whose bridge is gone is cleaned up. */
static int adopt_running(Networks *ns) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_nl_sock_ struct nl_sock *sk = NULL;
        struct dirent *de;
        int r;

        d = opendir(ns->run_dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        r = netlink_open(&sk);
        if (r < 0)
                return r;

        while ((de = readdir(d))) {
                _cleanup_(network_def_freep) NetworkDef *live = NULL;
                _cleanup_free_ char *name = NULL, *path = NULL;
                Network *n;

                name = xml_file_name(de->d_name);
                if (!name)
                        continue;
                if (asprintf(&path, "%s/%s", ns->run_dir, de->d_name) < 0)
                        return -ENOMEM;
                if (parse_network_file(path, &live) < 0 || !streq(live->name, name) || !live->bridge) {
                        (void) unlink(path);
                        continue;
                }

                n = network_find(ns, name);
                if (netlink_link_is_bridge(sk, live->bridge) <= 0) {
                        fprintf(stderr, "Network '%s' lost its bridge '%s' while the manager was away, cleaning up.\n",
                                name, live->bridge);
                        /* the bridge is gone; an ifb of its shaping may not be */
                        tear_down(ns, name, live->bridge);
                        (void) dnsmasq_stop_unit_of(ns, name);
                        continue;
                }

                if (!n) {
                        _cleanup_(network_def_freep) NetworkDef *def = NULL;

                        /* A transient network: its live definition is all there is. */
                        r = network_def_copy(live, &def);
                        if (r < 0)
                                return r;
                        r = network_new(ns, def, false, &n);
                        if (r < 0)
                                return r;
                        TAKE_PTR(def);
                }
                n->live = TAKE_PTR(live);
                n->active = true;
                n->has_dnsmasq = network_wants_dnsmasq(n->live);
                if (n->has_dnsmasq && dnsmasq_unit_is_active(ns, n->unit) <= 0)
                        fprintf(stderr, "Network '%s' is active but its %s is not running; destroy and start it again.\n",
                                name, n->unit);
                fprintf(stderr, "Adopted running network '%s' (bridge '%s').\n", name, n->live->bridge);
        }
        return 0;
}

void networks_autostart_once(Manager *m) {
        Networks *ns = m->networks;
        _cleanup_free_ char *flag = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (!ns || mkdir_p(ns->run_dir, 0755) < 0 || asprintf(&flag, "%s/.autostart-done", ns->run_dir) < 0)
                return;
        fd = open(flag, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                if (errno != EEXIST)
                        fprintf(stderr, "Failed to create %s, not autostarting networks: %m\n", flag);
                return;
        }
        fd = safe_close(fd);

        for (Network *n = ns->list; n; n = n->next) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (!n->autostart || n->active || n->op != NETWORK_OP_NONE)
                        continue;
                fprintf(stderr, "Autostarting network '%s'.\n", n->name);
                if (network_start(n, NULL, &error) < 0)
                        fprintf(stderr, "Failed to autostart network '%s': %s\n", n->name,
                                error.message ? error.message : error.name);
        }
}

bool networks_busy(Manager *m) {
        if (!m->networks)
                return false;
        for (Network *n = m->networks->list; n; n = n->next)
                if (n->op != NETWORK_OP_NONE)
                        return true;
        return false;
}

int networks_init(Manager *m) {
        Networks *ns;
        int r;

        ns = calloc(1, sizeof(Networks));
        if (!ns)
                return -ENOMEM;
        ns->manager = m;
        m->networks = ns;
        ns->etc_dir = env_or("VIVARIUM_NETWORK_CONFIG_DIR", VIV_ETC_NETWORKS_DIR);
        ns->run_dir = env_or("VIVARIUM_NETWORK_RUN_DIR", VIV_RUN_NETWORKS_DIR);
        ns->lease_dir = env_or("VIVARIUM_DNSMASQ_LEASE_DIR", VIV_DNSMASQ_LEASE_DIR);
        ns->dist_dir = env_or("VIVARIUM_NETWORK_DIST_DIR", VIV_NETWORK_DIST_DIR);
        ns->dnsmasq_path = env_or("VIVARIUM_DNSMASQ_PATH", VIV_DNSMASQ_PATH);
        ns->nft_path = env_or("VIVARIUM_NFT_PATH", VIV_NFT_PATH);
        if (!ns->etc_dir || !ns->run_dir || !ns->lease_dir || !ns->dist_dir || !ns->dnsmasq_path || !ns->nft_path)
                return -ENOMEM;

        r = sd_bus_match_signal(m->bus, &ns->job_slot, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "JobRemoved",
                                job_removed, ns);
        if (r < 0)
                fprintf(stderr, "Failed to subscribe to JobRemoved, starting networks will hang: %s\n", strerror(-r));

        install_default(ns);
        r = load_all(ns);
        if (r < 0)
                fprintf(stderr, "Failed to load networks from %s: %s\n", ns->etc_dir, strerror(-r));
        r = adopt_running(ns);
        if (r < 0)
                fprintf(stderr, "Failed to adopt running networks from %s: %s\n", ns->run_dir, strerror(-r));
        return 0;
}

void networks_free(Manager *m) {
        Networks *ns = m->networks;

        if (!ns)
                return;
        while (ns->list) {
                Network *n = ns->list;
                ns->list = n->next;
                network_free(n);
        }
        sd_bus_slot_unref(ns->job_slot);
        free(ns->etc_dir);
        free(ns->run_dir);
        free(ns->lease_dir);
        free(ns->dist_dir);
        free(ns->dnsmasq_path);
        free(ns->nft_path);
        free(ns);
        m->networks = NULL;
}
