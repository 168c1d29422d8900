/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* dnsmasq for a managed network: DHCP and DNS on the network's bridge only.
 * It runs in a transient unit of its own, vivarium-dnsmasq-NAME.service, so
 * that systemd supervises it and the manager may exit on idle or restart;
 * it is tracked by that unit, never by process name. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fileio.h"
#include "macros.h"
#include "network.h"
#include "xml-util.h"

bool network_wants_dnsmasq(const NetworkDef *def) {
        /* As libvirt: any address on the bridge gets DNS, DHCP where asked. */
        return def->n_ips > 0;
}

static int conf_path(Networks *ns, const char *name, char **ret) {
        return asprintf(ret, "%s/%s.conf", ns->run_dir, name) < 0 ? -ENOMEM : 0;
}

static int pid_path(Networks *ns, const char *name, char **ret) {
        return asprintf(ret, "%s/%s.pid", ns->run_dir, name) < 0 ? -ENOMEM : 0;
}

int network_write_run_file(Networks *ns, const char *path, FILE **f, char **text) {
        int r;

        if (fflush(*f) != 0 || ferror(*f))
                return -ENOMEM;
        r = fclose(*f);
        *f = NULL;
        if (r != 0)
                return -ENOMEM;
        r = mkdir_p(ns->run_dir, 0755);
        if (r < 0)
                return r;
        return write_file_atomic(path, *text, 0644);
}

/* The network's own <ip><dhcp><host> entries, apart from the containers'
 * (NAME.hosts): dnsmasq re-reads both on SIGHUP, so net-update changes them
 * live. */
static int static_hosts_path(Networks *ns, const char *name, char **ret) {
        return asprintf(ret, "%s/%s.dhcp-hosts", ns->run_dir, name) < 0 ? -ENOMEM : 0;
}

/* The network's <dns><host> names, dnsmasq's addn-hosts (also re-read on SIGHUP). */
static int dns_hosts_path(Networks *ns, const char *name, char **ret) {
        return asprintf(ret, "%s/%s.addn-hosts", ns->run_dir, name) < 0 ? -ENOMEM : 0;
}

void dnsmasq_remove_files(Networks *ns, const char *name) {
        _cleanup_free_ char *conf = NULL, *pid = NULL, *hosts = NULL, *static_hosts = NULL, *dns_hosts = NULL;

        if (conf_path(ns, name, &conf) >= 0)
                (void) unlink(conf);
        if (pid_path(ns, name, &pid) >= 0)
                (void) unlink(pid);
        if (network_hosts_path(ns, name, &hosts) >= 0)
                (void) unlink(hosts);
        if (static_hosts_path(ns, name, &static_hosts) >= 0)
                (void) unlink(static_hosts);
        if (dns_hosts_path(ns, name, &dns_hosts) >= 0)
                (void) unlink(dns_hosts);
}

int dnsmasq_write_static_hosts(Networks *ns, const NetworkDef *def) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size = 0;
        int r;

        r = static_hosts_path(ns, def->name, &path);
        if (r < 0)
                return r;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# Written by vivariumd: the <host> entries of network '%s'; edit the network instead.\n",
                def->name);
        ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                if (!ip->dhcp)
                        continue;
                /* dhcp-host= values, one a line */
                ARRAY_FOREACH(h, ip->hosts, ip->n_hosts) {
                        char mac[18];

                        if (ip->family == AF_INET6) {
                                /* DHCPv6: the client by its DUID or the
                                 * name it sends, the address in brackets */
                                if (h->id)
                                        fprintf(f, "id:%s,", h->id);
                                if (h->name)
                                        fprintf(f, "%s,", h->name);
                                fprintf(f, "[%s]\n", h->ip);
                                continue;
                        }
                        if (h->has_mac) {
                                mac_format(h->mac, mac);
                                fprintf(f, "%s,", mac);
                        }
                        fputs(h->ip, f);
                        if (h->name)
                                fprintf(f, ",%s", h->name);
                        fputc('\n', f);
                }
        }
        r = network_write_run_file(ns, path, &f, &text);
        if (r < 0)
                return r;

        path = mfree(path);
        text = mfree(text);
        r = dns_hosts_path(ns, def->name, &path);
        if (r < 0)
                return r;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# Written by vivariumd: the <dns><host> names of network '%s'; edit the network instead.\n",
                def->name);
        ARRAY_FOREACH(h, def->dns_hosts, def->n_dns_hosts) {
                fputs(h->ip, f);
                ARRAY_FOREACH(name, h->hostnames, h->n_hostnames)
                        fprintf(f, " %s", *name);
                fputc('\n', f);
        }
        return network_write_run_file(ns, path, &f, &text);
}

static void netmask_string(unsigned prefix, char buf[INET_ADDRSTRLEN]) {
        struct in_addr m = { .s_addr = htonl(prefix == 0 ? 0 : ~UINT32_C(0) << (32 - prefix)) };

        if (!inet_ntop(AF_INET, &m, buf, INET_ADDRSTRLEN))
                strcpy(buf, "255.255.255.0");
}

static uint64_t range_size(const NetworkDhcpRange *r) {
        struct in_addr a, b;

        if (inet_pton(AF_INET, r->start, &a) != 1 || inet_pton(AF_INET, r->end, &b) != 1)
                return 0;
        return (uint64_t) ntohl(b.s_addr) - ntohl(a.s_addr) + 1;
}

/* dnsmasq's dhcp-lease-max counts IPv4 and IPv6 leases together: an IPv6
 * range's share, at most a bound that no network of containers reaches. */
#define RANGE6_LEASES_MAX UINT64_C(65536)

static uint64_t range6_size(const NetworkDhcpRange *r) {
        uint64_t size;

        if (network_range6_size(r, &size) < 0)
                return 0;
        return size < RANGE6_LEASES_MAX ? size : RANGE6_LEASES_MAX;
}

/* A TXT value in dnsmasq's quotes: commas, '#' and spaces stay part of it;
 * the parser let no control character through. */
static void write_quoted(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

/* <dns>: its records and forwarders, libvirt's meaning in dnsmasq's terms. */
static void write_dns(FILE *f, const NetworkDef *def) {
        bool no_resolv = false;

        if (def->dns_enable == NETWORK_TRISTATE_NO) {
                /* DHCP (and router advertisements) only */
                fputs("port=0\n", f);
                return;
        }
        if (def->dns_forward_plain_names == NETWORK_TRISTATE_NO)
                /* a name without a dot is answered here or not at all */
                fputs("domain-needed\nlocal=//\n", f);
        ARRAY_FOREACH(fw, def->dns_forwarders, def->n_dns_forwarders) {
                if (fw->addr && fw->domain)
                        fprintf(f, "server=/%s/%s\n", fw->domain, fw->addr);
                else if (fw->addr) {
                        fprintf(f, "server=%s\n", fw->addr);
                        /* the forwarders replace the host's resolv.conf */
                        no_resolv = true;
                } else
                        /* never asked upstream: the network's own names only */
                        fprintf(f, "local=/%s/\n", fw->domain);
        }
        if (no_resolv)
                fputs("no-resolv\n", f);
        ARRAY_FOREACH(t, def->dns_txts, def->n_dns_txts) {
                fprintf(f, "txt-record=%s,", t->name);
                write_quoted(f, strempty(t->value));
                fputc('\n', f);
        }
        ARRAY_FOREACH(srv, def->dns_srvs, def->n_dns_srvs) {
                /* without a domain, dnsmasq puts the record in domain= (the
                 * network's <domain>) */
                fprintf(f, "srv-host=_%s._%s", srv->service, srv->protocol);
                if (srv->domain)
                        fprintf(f, ".%s", srv->domain);
                if (srv->target) {
                        /* positional: dnsmasq's defaults (port 1, priority
                         * and weight 0) stand in for what was not given */
                        fprintf(f, ",%s,%u,%u,%u", srv->target, srv->has_port ? srv->port : 1, srv->priority,
                                srv->weight);
                }
                fputc('\n', f);
        }
}

/* FRESH_HOSTS: at start, the containers' hosts file begins empty; a
 * configuration rewritten while the network runs (net-update) keeps it. */
static int write_config(Networks *ns, const NetworkDef *def, bool fresh_hosts, char **ret_path) {
        _cleanup_free_ char *path = NULL, *pid = NULL, *text = NULL, *hosts = NULL, *static_hosts = NULL,
                            *dns_hosts = NULL;
        bool dhcp4 = false, dhcp6 = false, any_dhcp = false;
        _cleanup_fclose_ FILE *f = NULL;
        uint64_t leases = 0;
        size_t size = 0;
        bool ra = false;
        int r;

        r = conf_path(ns, def->name, &path);
        if (r < 0)
                return r;
        r = pid_path(ns, def->name, &pid);
        if (r < 0)
                return r;
        r = mkdir_p(ns->lease_dir, 0755);
        if (r < 0)
                return r;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;

        fprintf(f,
                "# Written by vivariumd for network '%s' at each start; edit the network instead.\n"
                "strict-order\n"
                "pid-file=%s\n"
                /* Only the bridge: never the host's other interfaces, never lo
                 * (a DNS server of the host may listen there). bind-dynamic
                 * binds each address of the bridge, not the wildcard. */
                "except-interface=lo\n"
                "interface=%s\n"
                "bind-dynamic\n"
                "dhcp-leasefile=%s/%s.leases\n",
                def->name, pid, def->bridge, ns->lease_dir, def->name);

        /* libvirt's default: a name of the domain that dnsmasq does not know
         * goes upstream; localOnly='yes' answers it here (NXDOMAIN) */
        if (def->domain_name) {
                fprintf(f, "domain=%s\nexpand-hosts\n", def->domain_name);
                if (def->domain_local_only == NETWORK_TRISTATE_YES)
                        fprintf(f, "local=/%s/\n", def->domain_name);
        }
        write_dns(f, def);

        ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                bool static_hosts6 = ip->family == AF_INET6 && ip->dhcp && ip->n_hosts > 0;
                if (ip->family == AF_INET6 && !(ip->dhcp && ip->n_ranges > 0) && (ip->prefix == 64 || static_hosts6)) {
                        /* No range: router advertisements alone, so that
                         * guests autoconfigure an address (SLAAC, a /64
                         * only) and a default route; with <host>s (libvirt's
                         * static DHCPv6, any prefix) they carry the managed
                         * flag instead, and dnsmasq gives the hosts'
                         * addresses only. */
                        struct in6_addr net;
                        char prefix[INET6_ADDRSTRLEN];

                        if (inet_pton(AF_INET6, ip->address, &net) == 1 && ip->prefix <= 128) {
                                for (unsigned bit = ip->prefix; bit < 128; bit++)
                                        net.s6_addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
                                if (inet_ntop(AF_INET6, &net, prefix, sizeof prefix)) {
                                        fprintf(f, "dhcp-range=%s,%s,%u\n", prefix,
                                                static_hosts6 ? "static" : "ra-only", ip->prefix);
                                        ra = true;
                                }
                        }
                }
                if (!ip->dhcp)
                        continue;
                ARRAY_FOREACH(range, ip->ranges, ip->n_ranges) {
                        if (ip->family == AF_INET) {
                                char mask[INET_ADDRSTRLEN];

                                netmask_string(ip->prefix, mask);
                                fprintf(f, "dhcp-range=%s,%s,%s\n", range->start, range->end, mask);
                                leases += range_size(range);
                                dhcp4 = true;
                        } else {
                                /* Stateful DHCPv6, as libvirt: the router
                                 * advertisements (enable-ra) carry the
                                 * managed flag, so that clients ask for an
                                 * address, and announce the prefix on-link
                                 * only, not for autoconfiguration. */
                                fprintf(f, "dhcp-range=%s,%s,%u\n", range->start, range->end, ip->prefix);
                                leases += range6_size(range);
                                ra = true;
                        }
                }
                if (ip->family == AF_INET6 && (ip->n_ranges > 0 || ip->n_hosts > 0))
                        dhcp6 = true;
                any_dhcp = true;
                leases += ip->n_hosts;
        }
        r = network_hosts_path(ns, def->name, &hosts);
        if (r < 0)
                return r;
        r = dns_hosts_path(ns, def->name, &dns_hosts);
        if (r < 0)
                return r;
        /* always, so that net-update adds names without a restart */
        fprintf(f, "addn-hosts=%s\n", dns_hosts);
        r = static_hosts_path(ns, def->name, &static_hosts);
        if (r < 0)
                return r;
        if (any_dhcp)
                fprintf(f, "dhcp-hostsfile=%s\n", static_hosts);
        if (dhcp4 || dhcp6)
                /* The containers' addresses (network-lease.c), empty at start. */
                fprintf(f, "dhcp-hostsfile=%s\n", hosts);
        if (leases > 0)
                fprintf(f, "dhcp-no-override\ndhcp-authoritative\ndhcp-lease-max=%llu\n", (unsigned long long) leases);
        if (ra)
                fputs("enable-ra\n", f);

        r = network_write_run_file(ns, path, &f, &text);
        if (r < 0)
                return r;
        r = dnsmasq_write_static_hosts(ns, def);
        if (r < 0)
                return r;
        if (fresh_hosts) {
                r = write_file_atomic(hosts, "", 0644);
                if (r < 0)
                        return r;
        }
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

int dnsmasq_write_config(Networks *ns, const NetworkDef *def, char **ret_path) {
        return write_config(ns, def, true, ret_path);
}

int dnsmasq_rewrite_config(Networks *ns, const NetworkDef *def) {
        return write_config(ns, def, false, NULL);
}

typedef struct UnitCall {
        Networks *ns;
        char *name;
} UnitCall;

static void unit_call_free(void *p) {
        UnitCall *u = p;

        free(u->name);
        free(u);
}

static int unit_call_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        UnitCall *u = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *job = NULL;

        if (!e && sd_bus_message_read(reply, "o", &job) < 0) {
                sd_bus_error bad = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_INVALID_ARGS, "Invalid reply from systemd");
                network_unit_call_done(u->ns, u->name, NULL, &bad);
                return 0;
        }
        network_unit_call_done(u->ns, u->name, job, e);
        return 0;
}

static int call_with_reply(Networks *ns, const char *name, sd_bus_message *msg) {
        UnitCall *u;

        u = calloc(1, sizeof(UnitCall));
        if (!u)
                return -ENOMEM;
        u->ns = ns;
        u->name = strdup(name);
        if (!u->name) {
                free(u);
                return -ENOMEM;
        }
        return bus_call_async_owned(ns->manager->bus, msg, unit_call_reply, u, unit_call_free);
}

int dnsmasq_start(Network *n) {
        Networks *ns = n->owner;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_free_ char *conf = NULL, *pid = NULL, *conf_arg = NULL, *description = NULL;
        int r;

        r = dnsmasq_write_config(ns, n->live, &conf);
        if (r < 0)
                return r;
        r = pid_path(ns, n->name, &pid);
        if (r < 0)
                return r;
        if (asprintf(&conf_arg, "--conf-file=%s", conf) < 0 ||
            asprintf(&description, "DHCP and DNS for Vivarium network %s", n->name) < 0)
                return -ENOMEM;
        /* A stale pid file would make systemd watch a process that is gone. */
        (void) unlink(pid);

        r = transient_unit_message_new(ns->manager->bus, n->unit, &msg);
        if (r < 0)
                return r;
        /* forking: the job ends once dnsmasq has bound its sockets and read
         * its configuration, so a start that cannot work fails here. */
        /* Restart: systemd, not the manager (which may be gone), brings a
         * crashed dnsmasq back. */
        r = sd_bus_message_append(msg, "(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", description,
                                  "Type", "s", "forking",
                                  "PIDFile", "s", pid,
                                  "CollectMode", "s", "inactive-or-failed",
                                  "Restart", "s", "on-failure",
                                  "RestartUSec", "t", UINT64_C(1000000));
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "(sv)", "ExecStart", "a(sasb)", 1, ns->dnsmasq_path, 2, ns->dnsmasq_path,
                                  conf_arg, 0);
        if (r < 0)
                return r;
        r = transient_unit_message_close(msg);
        if (r < 0)
                return r;

        return call_with_reply(ns, n->name, msg);
}

static int ignore_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return 0;
}

int dnsmasq_stop(Network *n, bool wait) {
        Networks *ns = n->owner;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = sd_bus_message_new_method_call(ns->manager->bus, &msg, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE,
                                           "StopUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "ss", n->unit, "replace");
        if (r < 0)
                return r;
        if (wait)
                return call_with_reply(ns, n->name, msg);
        return sd_bus_call_async(ns->manager->bus, NULL, msg, ignore_reply, NULL, 0);
}

int dnsmasq_stop_unit_of(Networks *ns, const char *name) {
        _cleanup_free_ char *unit = NULL;
        int r;

        r = network_unit_name(name, &unit);
        if (r < 0)
                return r;
        return sd_bus_call_method_async(ns->manager->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "StopUnit",
                                        ignore_reply, NULL, "ss", unit, "replace");
}

/* 1 when the unit is active (or on its way), 0 when not, < 0 on errors. */
int dnsmasq_unit_is_active(Networks *ns, const char *unit) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *state = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(ns->manager->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "GetUnit", &error, &reply,
                               "s", unit);
        if (r < 0)
                return sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit") ? 0 : r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(ns->manager->bus, SYSTEMD_DEST, path, "org.freedesktop.systemd1.Unit",
                                       "ActiveState", &error, &state);
        if (r < 0)
                return r;
        return streq(state, "active") || streq(state, "activating") || streq(state, "reloading");
}
