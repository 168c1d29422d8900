/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* net-update (libvirt's virNetworkUpdate): one entry of a network's
 * <ip><dhcp> or <dns> added, deleted or modified, in the persistent
 * definition and/or in the running network. The running dnsmasq takes a
 * changed <host> list on SIGHUP (its dhcp-hostsfile and addn-hosts); a
 * changed range, TXT or SRV record needs its configuration written again
 * and the unit restarted (leases survive in the lease file). */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "bus-names.h"
#include "macros.h"
#include "network.h"

/* libvirt's VIR_NETWORK_UPDATE_AFFECT_* */
#define UPDATE_AFFECT_LIVE   UINT64_C(1)
#define UPDATE_AFFECT_CONFIG UINT64_C(2)

typedef enum UpdateCommand {
        UPDATE_ADD_LAST,        /* add, add-last */
        UPDATE_ADD_FIRST,
        UPDATE_DELETE,
        UPDATE_MODIFY,
} UpdateCommand;

typedef enum UpdateSection {
        SECTION_DHCP_HOST,
        SECTION_DHCP_RANGE,
        SECTION_DNS_HOST,
        SECTION_DNS_TXT,
        SECTION_DNS_SRV,
} UpdateSection;

static const char *const section_names[] = {
        [SECTION_DHCP_HOST] = "ip-dhcp-host",
        [SECTION_DHCP_RANGE] = "ip-dhcp-range",
        [SECTION_DNS_HOST] = "dns-host",
        [SECTION_DNS_TXT] = "dns-txt",
        [SECTION_DNS_SRV] = "dns-srv",
};

/* The element a section's XML is, and whether it lives in <dns>. */
static const char *const section_elements[] = {
        [SECTION_DHCP_HOST] = "host",
        [SECTION_DHCP_RANGE] = "range",
        [SECTION_DNS_HOST] = "host",
        [SECTION_DNS_TXT] = "txt",
        [SECTION_DNS_SRV] = "srv",
};

static bool section_is_dns(UpdateSection section) {
        return section >= SECTION_DNS_HOST;
}

/* What dnsmasq takes on SIGHUP (its hosts files); the rest is in its
 * configuration, read at start only. */
static bool section_needs_restart(UpdateSection section) {
        return section == SECTION_DHCP_RANGE || section == SECTION_DNS_TXT || section == SECTION_DNS_SRV;
}

/* Whether an IPv6 <ip> went from no <host>s to some, or back: its
 * dhcp-range line (ra-only or static) follows that, and dnsmasq reads it at
 * start only. */
static bool hosts6_crossed_zero(const NetworkDef *old, const NetworkDef *new) {
        for (size_t i = 0; i < old->n_ips && i < new->n_ips; i++)
                if (old->ips[i].family == AF_INET6 && (old->ips[i].n_hosts > 0) != (new->ips[i].n_hosts > 0))
                        return true;
        return false;
}

static int parse_command(const char *s, UpdateCommand *ret) {
        if (streq(s, "add") || streq(s, "add-last"))
                *ret = UPDATE_ADD_LAST;
        else if (streq(s, "add-first"))
                *ret = UPDATE_ADD_FIRST;
        else if (streq(s, "delete"))
                *ret = UPDATE_DELETE;
        else if (streq(s, "modify"))
                *ret = UPDATE_MODIFY;
        else
                return -EINVAL;
        return 0;
}

/* The sections libvirt knows; those Vivarium cannot change yet are refused
 * by name, not as unknown. */
static int parse_section(const char *s, UpdateSection *ret) {
        static const char *const known[] = { "bridge", "domain", "ip", "forward", "forward-interface",
                                             "forward-pf", "portgroup" };

        for (size_t i = 0; i < ELEMENTSOF(section_names); i++)
                if (streq(s, section_names[i])) {
                        *ret = (UpdateSection) i;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(s, known[i]))
                        return -EOPNOTSUPP;
        return -EINVAL;
}

/* The <ip> that the entry goes in: the one at PARENT_INDEX, or (-1) the first
 * IPv4 one with DHCP, else the first IPv4 one, as libvirt picks it. */
static int pick_ip(const NetworkDef *def, int parent_index, const char *network, size_t *ret,
                   sd_bus_error *error) {
        if (parent_index >= 0) {
                if ((size_t) parent_index >= def->n_ips)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "couldn't update dhcp entry - no <ip> element found at index %d in network '%s'",
                                                 parent_index, network);
                *ret = (size_t) parent_index;
                return 0;
        }
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < def->n_ips; i++)
                        if (def->ips[i].family == AF_INET && (pass == 1 || def->ips[i].dhcp)) {
                                *ret = i;
                                return 0;
                        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "couldn't update dhcp entry - network '%s' has no IPv4 <ip> element", network);
}

/* The parser's message without its location (which would point into the
 * wrapper document made below). */
static const char *diag_message(const XmlDiag *diag) {
        const char *m = diag->error ?: "invalid XML", *p = startswith(m, "(xml):");

        /* "(xml):LINE:COLUMN: message" */
        for (int colons = 0; p && colons < 2; colons++)
                p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
        if (!p)
                return m;
        while (*p == ' ')
                p++;
        return p;
}

/* How many entries of SECTION the wrapper document made below holds:
 * exactly one, and nothing slipped around it. */
static size_t entry_count(const NetworkDef *e, UpdateSection section) {
        size_t dns = e->n_dns_hosts + e->n_dns_txts + e->n_dns_srvs + e->n_dns_forwarders;

        switch (section) {
        case SECTION_DHCP_HOST:
        case SECTION_DHCP_RANGE:
                if (e->n_ips != 1 || dns != 0 || e->ips[0].n_ranges + e->ips[0].n_hosts != 1)
                        return 0;
                return section == SECTION_DHCP_HOST ? e->ips[0].n_hosts : e->ips[0].n_ranges;
        case SECTION_DNS_HOST:
                return e->n_ips == 0 && dns == e->n_dns_hosts ? e->n_dns_hosts : 0;
        case SECTION_DNS_TXT:
                return e->n_ips == 0 && dns == e->n_dns_txts ? e->n_dns_txts : 0;
        case SECTION_DNS_SRV:
                return e->n_ips == 0 && dns == e->n_dns_srvs ? e->n_dns_srvs : 0;
        }
        return 0;
}

/* The entry, parsed by the network parser itself (schema, addresses inside
 * the subnet, MAC checks, DNS record rules): inside a network made of the
 * target <ip> alone, or of a <dns> for a DNS section. A delete may name a
 * DNS record by part of it (libvirt's "partial" records). */
static int parse_entry(const NetworkIP *ip, UpdateSection section, UpdateCommand cmd, const char *snippet,
                       const char *network, NetworkDef **ret, sd_bus_error *error) {
        _cleanup_free_ char *doc = NULL;
        NetworkDef *entry = NULL;
        XmlDiag diag = {};
        const char *want = section_elements[section];
        int r;

        /* ip->address comes from a parsed definition: an address, no markup */
        if (section_is_dns(section))
                r = asprintf(&doc, "<network><name>update</name><dns>\n%s\n</dns></network>", snippet);
        else
                r = asprintf(&doc, "<network><name>update</name><ip address='%s' prefix='%u'><dhcp>\n%s\n</dhcp></ip></network>",
                             ip->address, ip->prefix, snippet);
        if (r < 0)
                return -ENOMEM;
        r = network_def_parse_flags(doc, strlen(doc), "(xml)", cmd == UPDATE_DELETE ? NETWORK_PARSE_PARTIAL_DNS : 0,
                                    &entry, &diag);
        if (r < 0) {
                r = sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG, "Invalid <%s> for network '%s': %s", want,
                                      network, diag_message(&diag));
                xml_diag_done(&diag);
                return r;
        }
        xml_diag_done(&diag);
        if (entry_count(entry, section) != 1) {
                network_def_free(entry);
                return sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG,
                                         "Invalid XML for section '%s' of network '%s': expected one <%s> element",
                                         section_names[section], network, want);
        }
        *ret = entry;
        return 0;
}

/* ARRAY (of *N elements of SIZE) with ELEM put first or last; ELEM's memory
 * is the array's afterwards. */
static int array_insert(void **array, size_t *n, size_t size, bool first, void *elem) {
        uint8_t *grown = reallocarray(*array, *n + 1, size);

        if (!grown)
                return -ENOMEM;
        *array = grown;
        if (first) {
                memmove(grown + size, grown, *n * size);
                memcpy(grown, elem, size);
        } else
                memcpy(grown + *n * size, elem, size);
        (*n)++;
        memset(elem, 0, size);
        return 0;
}

/* Element I out of ARRAY, whose owner freed what it held. */
static void array_remove(void *array, size_t *n, size_t size, size_t i) {
        uint8_t *a = array;

        memmove(a + i * size, a + (i + 1) * size, (*n - i - 1) * size);
        (*n)--;
}

static char *host_string(const NetworkDhcpHost *h) {
        char mac[18] = "";
        char *s;

        if (h->has_mac)
                mac_format(h->mac, mac);
        if (asprintf(&s, "<host%s%s%s%s%s%s%s%s%s ip='%s'/>", h->has_mac ? " mac='" : "", mac, h->has_mac ? "'" : "",
                     h->id ? " id='" : "", strempty(h->id), h->id ? "'" : "", h->name ? " name='" : "",
                     strempty(h->name), h->name ? "'" : "", h->ip) < 0)
                return NULL;
        return s;
}

static bool same_id(const char *a, const char *b) {
        return a && b && strcasecmp(a, b) == 0;
}

/* libvirt's matching: for delete, every attribute the entry gives equals the
 * host's; for modify, the MAC (IPv6: the DUID; without one, the name) finds
 * the host. */
static bool host_matches_all(const NetworkDhcpHost *h, const NetworkDhcpHost *want) {
        return (!want->has_mac || (h->has_mac && memcmp(h->mac, want->mac, 6) == 0)) &&
               (!want->id || same_id(h->id, want->id)) && (!want->name || streq_ptr(h->name, want->name)) &&
               streq(h->ip, want->ip);
}

static bool host_same_key(const NetworkDhcpHost *h, const NetworkDhcpHost *want) {
        if (want->has_mac)
                return h->has_mac && memcmp(h->mac, want->mac, 6) == 0;
        if (want->id)
                return same_id(h->id, want->id);
        return want->name && streq_ptr(h->name, want->name);
}

static bool host_clashes(const NetworkDhcpHost *h, const NetworkDhcpHost *want) {
        return (want->has_mac && h->has_mac && memcmp(h->mac, want->mac, 6) == 0) || same_id(h->id, want->id) ||
               (want->name && streq_ptr(h->name, want->name)) || streq(h->ip, want->ip);
}

static void host_done(NetworkDhcpHost *h) {
        free(h->id);
        free(h->name);
        free(h->ip);
}

static int update_hosts(NetworkIP *ip, UpdateCommand cmd, NetworkDhcpHost *want, const char *network,
                        sd_bus_error *error) {
        _cleanup_free_ char *text = host_string(want);
        size_t i;

        if (!text)
                return -ENOMEM;
        switch (cmd) {
        case UPDATE_ADD_FIRST:
        case UPDATE_ADD_LAST:
                for (i = 0; i < ip->n_hosts; i++)
                        if (host_clashes(&ip->hosts[i], want)) {
                                _cleanup_free_ char *have = host_string(&ip->hosts[i]);
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "there is an existing dhcp host entry in network '%s' that matches \"%s\"",
                                                         network, have ?: text);
                        }
                return array_insert((void **) &ip->hosts, &ip->n_hosts, sizeof(*want), cmd == UPDATE_ADD_FIRST, want);
        case UPDATE_DELETE:
                for (i = 0; i < ip->n_hosts; i++)
                        if (host_matches_all(&ip->hosts[i], want))
                                break;
                if (i == ip->n_hosts)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "couldn't locate a matching dhcp host entry in network '%s': no \"%s\"",
                                                 network, text);
                host_done(&ip->hosts[i]);
                array_remove(ip->hosts, &ip->n_hosts, sizeof(*want), i);
                return 0;
        case UPDATE_MODIFY:
                for (i = 0; i < ip->n_hosts; i++)
                        if (host_same_key(&ip->hosts[i], want))
                                break;
                if (i == ip->n_hosts)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "couldn't locate an existing dhcp host entry in network '%s' to modify with \"%s\"",
                                                 network, text);
                host_done(&ip->hosts[i]);
                ip->hosts[i] = *want;
                *want = (NetworkDhcpHost) {};
                return 0;
        }
        return -EINVAL;
}

static int update_ranges(NetworkIP *ip, UpdateCommand cmd, NetworkDhcpRange *want, const char *network,
                         sd_bus_error *error) {
        size_t i;

        for (i = 0; i < ip->n_ranges; i++)
                if (streq(ip->ranges[i].start, want->start) && streq(ip->ranges[i].end, want->end))
                        break;
        switch (cmd) {
        case UPDATE_ADD_FIRST:
        case UPDATE_ADD_LAST:
                if (i < ip->n_ranges)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "there is an existing dhcp range entry in network '%s' that matches \"<range start='%s' end='%s'/>\"",
                                                 network, want->start, want->end);
                ip->dhcp = true;
                return array_insert((void **) &ip->ranges, &ip->n_ranges, sizeof(*want), cmd == UPDATE_ADD_FIRST, want);
        case UPDATE_DELETE:
                if (i == ip->n_ranges)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "couldn't locate a matching dhcp range entry in network '%s': no \"<range start='%s' end='%s'/>\"",
                                                 network, want->start, want->end);
                free(ip->ranges[i].start);
                free(ip->ranges[i].end);
                array_remove(ip->ranges, &ip->n_ranges, sizeof(*want), i);
                return 0;
        case UPDATE_MODIFY:
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Operation not supported: dhcp ranges cannot be modified, only added or deleted");
        }
        return -EINVAL;
}

static bool dns_host_has_name(const NetworkDnsHost *h, const char *name) {
        ARRAY_FOREACH(n, h->hostnames, h->n_hostnames)
                if (strcasecmp(*n, name) == 0)
                        return true;
        return false;
}

/* libvirt's rules: an added host shares no address and no name with one
 * there; a deleted one is found by its address and all its names. */
static int update_dns_hosts(NetworkDef *def, UpdateCommand cmd, NetworkDnsHost *want, const char *network,
                            sd_bus_error *error) {
        size_t i;

        switch (cmd) {
        case UPDATE_ADD_FIRST:
        case UPDATE_ADD_LAST:
                ARRAY_FOREACH(h, def->dns_hosts, def->n_dns_hosts) {
                        bool clash = streq(h->ip, want->ip);

                        ARRAY_FOREACH(n, want->hostnames, want->n_hostnames)
                                clash = clash || dns_host_has_name(h, *n);
                        if (clash)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "there is already at least one DNS HOST record with a matching field in network '%s' (ip '%s')",
                                                         network, h->ip);
                }
                return array_insert((void **) &def->dns_hosts, &def->n_dns_hosts, sizeof(*want),
                                    cmd == UPDATE_ADD_FIRST, want);
        case UPDATE_DELETE:
                for (i = 0; i < def->n_dns_hosts; i++) {
                        bool all = streq(def->dns_hosts[i].ip, want->ip);

                        ARRAY_FOREACH(n, want->hostnames, want->n_hostnames)
                                all = all && dns_host_has_name(&def->dns_hosts[i], *n);
                        if (all)
                                break;
                }
                if (i == def->n_dns_hosts)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "couldn't locate a matching DNS HOST record in network '%s': no host '%s' with those names",
                                                 network, want->ip);
                NetworkDnsHost gone = def->dns_hosts[i];
                array_remove(def->dns_hosts, &def->n_dns_hosts, sizeof(*want), i);
                free(gone.ip);
                ARRAY_FOREACH(n, gone.hostnames, gone.n_hostnames)
                        free(*n);
                free(gone.hostnames);
                return 0;
        case UPDATE_MODIFY:
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Operation not supported: DNS HOST records cannot be modified, only added or deleted");
        }
        return -EINVAL;
}

/* libvirt's rules for TXT records: one record a name, found by its name
 * (and, on a delete that gives one, its value). A modify, which libvirt
 * refuses, gives the named record its new value. */
static int update_dns_txts(NetworkDef *def, UpdateCommand cmd, NetworkDnsTxt *want, const char *network,
                           sd_bus_error *error) {
        size_t i;

        for (i = 0; i < def->n_dns_txts; i++)
                if (streq(def->dns_txts[i].name, want->name))
                        break;
        switch (cmd) {
        case UPDATE_ADD_FIRST:
        case UPDATE_ADD_LAST:
                if (i < def->n_dns_txts)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "there is already a DNS TXT record named '%s' in network '%s'",
                                                 want->name, network);
                return array_insert((void **) &def->dns_txts, &def->n_dns_txts, sizeof(*want),
                                    cmd == UPDATE_ADD_FIRST, want);
        case UPDATE_DELETE:
                if (i == def->n_dns_txts || (want->value && !streq(def->dns_txts[i].value, want->value)))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "couldn't locate a matching DNS TXT record in network '%s': no record named '%s'%s%s%s",
                                                 network, want->name, want->value ? " with value '" : "",
                                                 strempty(want->value), want->value ? "'" : "");
                network_dns_txt_done(&def->dns_txts[i]);
                array_remove(def->dns_txts, &def->n_dns_txts, sizeof(*want), i);
                return 0;
        case UPDATE_MODIFY:
                if (i == def->n_dns_txts)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "couldn't locate an existing DNS TXT record named '%s' in network '%s' to modify",
                                                 want->name, network);
                network_dns_txt_done(&def->dns_txts[i]);
                def->dns_txts[i] = *want;
                *want = (NetworkDnsTxt) {};
                return 0;
        }
        return -EINVAL;
}

static bool srv_number_matches(bool has, unsigned v, bool want_has, unsigned want) {
        return !want_has || (has && v == want);
}

/* Every attribute WANT gives equals H's (a delete's partial record). */
static bool srv_matches(const NetworkDnsSrv *h, const NetworkDnsSrv *want) {
        return (!want->service || streq_ptr(h->service, want->service)) &&
               (!want->protocol || streq_ptr(h->protocol, want->protocol)) &&
               (!want->domain || streq_ptr(h->domain, want->domain)) &&
               (!want->target || streq_ptr(h->target, want->target)) &&
               srv_number_matches(h->has_port, h->port, want->has_port, want->port) &&
               srv_number_matches(h->has_priority, h->priority, want->has_priority, want->priority) &&
               srv_number_matches(h->has_weight, h->weight, want->has_weight, want->weight);
}

/* The same service: what a modify finds the record by. */
static bool srv_same_service(const NetworkDnsSrv *h, const NetworkDnsSrv *want) {
        return streq_ptr(h->service, want->service) && streq_ptr(h->protocol, want->protocol) &&
               streq_ptr(h->domain, want->domain);
}

static bool srv_equal(const NetworkDnsSrv *h, const NetworkDnsSrv *want) {
        return srv_same_service(h, want) && streq_ptr(h->target, want->target) && h->has_port == want->has_port &&
               h->port == want->port && h->has_priority == want->has_priority && h->priority == want->priority &&
               h->has_weight == want->has_weight && h->weight == want->weight;
}

/* SRV records: an added one is not there yet; a delete finds one record by
 * what it gives (several that fit are refused: give more); a modify, which
 * libvirt refuses, replaces the one record of the same service, protocol
 * and domain. */
static int update_dns_srvs(NetworkDef *def, UpdateCommand cmd, NetworkDnsSrv *want, const char *network,
                           sd_bus_error *error) {
        bool (*match)(const NetworkDnsSrv *, const NetworkDnsSrv *) = cmd == UPDATE_DELETE ? srv_matches
                                                                      : cmd == UPDATE_MODIFY ? srv_same_service
                                                                                             : srv_equal;
        size_t found = SIZE_MAX, n = 0;

        for (size_t i = 0; i < def->n_dns_srvs; i++)
                if (match(&def->dns_srvs[i], want)) {
                        found = i;
                        n++;
                }
        switch (cmd) {
        case UPDATE_ADD_FIRST:
        case UPDATE_ADD_LAST:
                if (n > 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "there is already a DNS SRV record for service '%s' protocol '%s' with those fields in network '%s'",
                                                 want->service, want->protocol, network);
                return array_insert((void **) &def->dns_srvs, &def->n_dns_srvs, sizeof(*want),
                                    cmd == UPDATE_ADD_FIRST, want);
        case UPDATE_DELETE:
        case UPDATE_MODIFY:
                if (n == 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "couldn't locate a matching DNS SRV record in network '%s': no record for service '%s' protocol '%s'%s",
                                                 network, strna(want->service), strna(want->protocol),
                                                 cmd == UPDATE_DELETE ? " with those fields" : "");
                if (n > 1)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "%zu DNS SRV records of network '%s' match service '%s' protocol '%s'; give more of the record's fields to pick one",
                                                 n, network, strna(want->service), strna(want->protocol));
                network_dns_srv_done(&def->dns_srvs[found]);
                if (cmd == UPDATE_MODIFY) {
                        def->dns_srvs[found] = *want;
                        *want = (NetworkDnsSrv) {};
                } else
                        array_remove(def->dns_srvs, &def->n_dns_srvs, sizeof(*want), found);
                return 0;
        }
        return -EINVAL;
}

/* A copy of DEF with the change made, checked as a whole definition (the
 * parser's duplicate and subnet checks, the names dnsmasq gets). */
static int updated_copy(const NetworkDef *def, UpdateCommand cmd, UpdateSection section, int parent_index,
                        const char *snippet, NetworkDef **ret, sd_bus_error *error) {
        _cleanup_(network_def_freep) NetworkDef *copy = NULL, *entry = NULL, *checked = NULL;
        _cleanup_free_ char *xml = NULL;
        XmlDiag diag = {};
        size_t idx = 0;
        int r;

        if (!section_is_dns(section)) {
                r = pick_ip(def, parent_index, def->name, &idx, error);
                if (r < 0)
                        return r;
        }
        r = parse_entry(section_is_dns(section) ? NULL : &def->ips[idx], section, cmd, snippet, def->name, &entry,
                        error);
        if (r < 0)
                return r;
        r = network_def_copy(def, &copy);
        if (r < 0)
                return r;
        if (section == SECTION_DHCP_HOST)
                r = update_hosts(&copy->ips[idx], cmd, &entry->ips[0].hosts[0], def->name, error);
        else if (section == SECTION_DHCP_RANGE)
                r = update_ranges(&copy->ips[idx], cmd, &entry->ips[0].ranges[0], def->name, error);
        else if (section == SECTION_DNS_HOST)
                r = update_dns_hosts(copy, cmd, &entry->dns_hosts[0], def->name, error);
        else if (section == SECTION_DNS_TXT)
                r = update_dns_txts(copy, cmd, &entry->dns_txts[0], def->name, error);
        else
                r = update_dns_srvs(copy, cmd, &entry->dns_srvs[0], def->name, error);
        if (r < 0)
                return r;

        xml = network_def_format(copy);
        if (!xml)
                return -ENOMEM;
        r = network_def_parse(xml, strlen(xml), "(xml)", &checked, &diag);
        if (r < 0) {
                r = sd_bus_error_setf(error, VIV_ERROR_INVALID_CONFIG, "The update would make network '%s' invalid: %s",
                                      def->name, diag_message(&diag));
                xml_diag_done(&diag);
                return r;
        }
        xml_diag_done(&diag);
        r = network_check_names(checked, error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(checked);
        return 0;
}

/* The running dnsmasq follows: hosts by SIGHUP, ranges and DNS records by a
 * restart with its configuration written again. */
static int apply_live(Network *n, NetworkDef *live, UpdateSection section, sd_bus_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        NetworkDef *old = n->live;
        bool restart = section_needs_restart(section) ||
                       (section == SECTION_DHCP_HOST && hosts6_crossed_zero(old, live));
        int r;

        n->live = live;
        r = network_save_live(n);
        if (r >= 0 && n->has_dnsmasq)
                r = restart ? dnsmasq_rewrite_config(n->owner, live) : dnsmasq_write_static_hosts(n->owner, live);
        if (r < 0) {
                n->live = old;
                (void) network_save_live(n);
                return sd_bus_error_set_errnof(error, r, "Failed to write the live configuration of network '%s': %m",
                                               n->name);
        }
        network_def_free(old);
        if (!n->has_dnsmasq)
                return 0;
        if (!restart) {
                network_reload_dnsmasq(n);
                return 0;
        }
        /* Several updates in a row would hit the unit's start rate limit
         * (5 in 10 s) and leave dnsmasq failed; the limit is for crash loops,
         * and resetting it keeps it for them. */
        (void) sd_bus_call_method(n->owner->manager->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "ResetFailedUnit",
                                  NULL, NULL, "s", n->unit);
        r = sd_bus_call_method(n->owner->manager->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_IFACE, "RestartUnit", &e,
                               NULL, "ss", n->unit, "replace");
        if (r < 0)
                return sd_bus_error_setf(error, VIV_ERROR_START_FAILED,
                                         "Failed to restart dnsmasq of network '%s' with its new configuration: %s",
                                         n->name, e.message ?: strerror(-r));
        return 0;
}

/* H names the interface MAC of CONTAINER (its MAC, the MAC in its DUID,
 * the container's name) or gives away an address it holds (ADDR4, ADDR6). */
static bool host_concerns(const NetworkDhcpHost *h, const char *container, const uint8_t mac[6], const char *addr4,
                          const char *addr6) {
        if ((h->has_mac && memcmp(h->mac, mac, 6) == 0) || network_host_duid_has_mac(h, mac))
                return true;
        if (h->name && streq(h->name, container))
                return true;
        return (addr4 && network_same_address(AF_INET, h->ip, addr4)) ||
               (addr6 && network_same_address(AF_INET6, h->ip, addr6));
}

/* DEF has H, every attribute the same. */
static bool def_has_host(const NetworkDef *def, const NetworkDhcpHost *h) {
        _cleanup_free_ char *want = host_string(h);

        if (!want)
                return false;
        ARRAY_FOREACH(ip, def->ips, def->n_ips)
                ARRAY_FOREACH(o, ip->hosts, ip->n_hosts) {
                        _cleanup_free_ char *have = host_string(o);
                        if (have && streq(have, want))
                                return true;
                }
        return false;
}

/* The update concerns the interface: a <host> that OLD has and NEW has not,
 * or the other way round, names it or takes an address of its. Any other
 * interface keeps what it has: a change of one <host> moves no one else. */
static bool update_concerns(const NetworkDef *old, const NetworkDef *new, const char *container,
                            const DomainInterface *iface) {
        const NetworkDef *from[2] = { old, new }, *to[2] = { new, old };

        for (size_t k = 0; k < 2; k++)
                ARRAY_FOREACH(ip, from[k]->ips, from[k]->n_ips)
                        ARRAY_FOREACH(h, ip->hosts, ip->n_hosts)
                                if (host_concerns(h, container, iface->mac, iface->lease_address,
                                                  iface->lease_address6) &&
                                    !def_has_host(to[k], h))
                                        return true;
        return false;
}

/* After a live change of N's <host>s (OLD: its live definition before):
 * each interface of a running container on N that the change concerns gets
 * what a start would give it now, and its helper's anti-spoofing filter
 * follows; the old addresses' leases are released once the filter no
 * longer allows them (they may be another container's then). The
 * container's DHCP client takes the new ones when it asks next. An
 * interface with an <ip> of its own keeps what it has; so does a container
 * still starting (until its next start). A failure here does not undo the
 * update, which dnsmasq already has (as in libvirt): it is logged, naming
 * the container, and the old leases are kept. */
static void follow_hosts(Network *n, const NetworkDef *old) {
        for (Container *c = n->owner->manager->containers; c; c = c->next) {
                if (!c->live || c->state != CONTAINER_RUNNING)
                        continue;
                ARRAY_FOREACH(iface, c->live->interfaces, c->live->n_interfaces) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        _cleanup_free_ char *address = NULL, *address6 = NULL;
                        char mac[18];
                        int r;

                        if (iface->type != INTERFACE_NETWORK || !streq_ptr(iface->source, n->name) ||
                            !iface->has_mac || iface->n_ips > 0 || !update_concerns(old, n->live, c->name, iface))
                                continue;
                        mac_format(iface->mac, mac);
                        r = network_rereserve_address(n, c->name, iface->mac, iface->lease_address,
                                                      iface->lease_address6, &address, &address6, &e);
                        if (r < 0) {
                                fprintf(stderr,
                                        "Failed to choose the addresses of interface %s of container '%s' on network '%s' again, it keeps %s and %s: %s\n",
                                        mac, c->name, n->name, strna(iface->lease_address),
                                        strna(iface->lease_address6), e.message ?: strerror(-r));
                                continue;
                        }
                        if (r == 0)
                                continue;
                        /* address and address6 hold the old ones from here */
                        char *t = iface->lease_address;
                        iface->lease_address = address;
                        address = t;
                        t = iface->lease_address6;
                        iface->lease_address6 = address6;
                        address6 = t;
                        fprintf(stderr, "Network '%s' now keeps %s and %s for interface %s of container '%s'.\n",
                                n->name, strna(iface->lease_address), strna(iface->lease_address6), mac, c->name);
                        r = helper_call_devices(c, "SetLeaseAddresses", &e, "sss", mac, strempty(iface->lease_address),
                                                strempty(iface->lease_address6));
                        if (r < 0)
                                fprintf(stderr,
                                        SD_WARNING "Failed to update the anti-spoofing filter of container '%s' after the update of network '%s': it drops what interface %s sends from %s and %s until the container starts again (the leases of %s and %s are kept): %s\n",
                                        c->name, n->name, mac, strna(iface->lease_address),
                                        strna(iface->lease_address6), strna(address), strna(address6),
                                        e.message ?: strerror(-r));
                        else
                                network_release_old_leases(n, iface->mac, address, iface->lease_address, address6,
                                                           iface->lease_address6);
                        sd_bus_error_free(&e);
                        r = ports_reload(n->owner->manager, c->live, &e);
                        if (r < 0)
                                fprintf(stderr, SD_WARNING "Failed to point the published ports of container '%s' to its new addresses: %s\n",
                                        c->name, e.message ?: strerror(-r));
                }
        }
}

int network_update(Network *n, sd_bus_message *msg, sd_bus_error *error) {
        _cleanup_(network_def_freep) NetworkDef *config = NULL, *live = NULL, *before = NULL;
        const char *command, *section_name, *snippet;
        UpdateCommand cmd;
        UpdateSection section;
        int32_t parent_index;
        uint64_t flags;
        bool do_live, do_config;
        int r;

        r = sd_bus_message_read(msg, "ssist", &command, &section_name, &parent_index, &snippet, &flags);
        if (r < 0)
                return r;
        if (parse_command(command, &cmd) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "unrecognized command name '%s': expected add, add-first, add-last, delete or modify",
                                         command);
        r = parse_section(section_name, &section);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Operation not supported: can't update '%s' section of network '%s': Vivarium updates ip-dhcp-host, ip-dhcp-range, dns-host, dns-txt and dns-srv",
                                         section_name, n->name);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "unrecognized section name '%s'",
                                         section_name);
        if (flags & ~(UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%" PRIx64,
                                         flags & ~(UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG));
        if (n->op != NETWORK_OP_NONE)
                return sd_bus_error_setf(error, VIV_ERROR_NETWORK_ACTIVE, "Network '%s' is being started or destroyed",
                                         n->name);

        /* libvirt's "current": the live network when it runs, else the
         * definition. */
        do_live = flags & UPDATE_AFFECT_LIVE;
        do_config = flags & UPDATE_AFFECT_CONFIG;
        if (!do_live && !do_config) {
                do_live = n->active;
                do_config = !n->active;
        }
        if (do_live && !n->active)
                return sd_bus_error_setf(error, VIV_ERROR_NETWORK_NOT_ACTIVE,
                                         "Requested operation is not valid: network '%s' is not active", n->name);
        if (do_config && !n->persistent)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "cannot change persistent config of a transient network");

        /* Both checked before either is changed: all or nothing. */
        if (do_config) {
                r = updated_copy(n->def, cmd, section, parent_index, snippet, &config, error);
                if (r < 0)
                        return r;
        }
        if (do_live) {
                r = updated_copy(n->live, cmd, section, parent_index, snippet, &live, error);
                if (r < 0)
                        return r;
                /* what the <host>s were: follow_hosts() moves only whom the change concerns */
                r = network_def_copy(n->live, &before);
                if (r < 0)
                        return r;
        }
        if (config) {
                Network *same = NULL;

                r = network_define(n->owner, config, true, &same, error);
                if (r < 0)
                        return r;
                TAKE_PTR(config);
        }
        if (live) {
                r = apply_live(n, live, section, error);
                if (r < 0)
                        return r;
                TAKE_PTR(live);
                if (section == SECTION_DHCP_HOST)
                        follow_hosts(n, before);
        }
        fprintf(stderr, "Network '%s' updated: %s %s%s%s.\n", n->name, command, section_name,
                do_config ? ", persistent config" : "", do_live ? ", live state" : "");
        return sd_bus_reply_method_return(msg, NULL);
}
