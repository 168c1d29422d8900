/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "network-def.h"
#include "fileio.h"
#include "xml-util.h"

extern const char xml_schema_network_rng[];
extern const size_t xml_schema_network_rng_len;

typedef struct NetParser {
        const XmlInput *in;
        XmlDiag *diag;
        NetworkDef *def;
        unsigned flags;         /* NETWORK_PARSE_* */
} NetParser;

#define ERR(p, node, attr, ...) xml_error((p)->in, (p)->diag, (node), (attr), __VA_ARGS__)

void network_dns_txt_done(NetworkDnsTxt *t) {
        free(t->name);
        free(t->value);
        *t = (NetworkDnsTxt) {};
}

void network_dns_srv_done(NetworkDnsSrv *s) {
        free(s->service);
        free(s->protocol);
        free(s->domain);
        free(s->target);
        *s = (NetworkDnsSrv) {};
}

NetworkDef *network_def_free(NetworkDef *def) {
        if (!def)
                return NULL;
        free(def->name);
        free(def->bridge);
        free(def->forward_dev);
        free(def->domain_name);
        ARRAY_FOREACH(ip, def->ips, def->n_ips) {
                free(ip->address);
                ARRAY_FOREACH(r, ip->ranges, ip->n_ranges) {
                        free(r->start);
                        free(r->end);
                }
                free(ip->ranges);
                ARRAY_FOREACH(h, ip->hosts, ip->n_hosts) {
                        free(h->id);
                        free(h->name);
                        free(h->ip);
                }
                free(ip->hosts);
        }
        free(def->ips);
        ARRAY_FOREACH(h, def->dns_hosts, def->n_dns_hosts) {
                free(h->ip);
                ARRAY_FOREACH(name, h->hostnames, h->n_hostnames)
                        free(*name);
                free(h->hostnames);
        }
        free(def->dns_hosts);
        ARRAY_FOREACH(t, def->dns_txts, def->n_dns_txts)
                network_dns_txt_done(t);
        free(def->dns_txts);
        ARRAY_FOREACH(srv, def->dns_srvs, def->n_dns_srvs)
                network_dns_srv_done(srv);
        free(def->dns_srvs);
        ARRAY_FOREACH(f, def->dns_forwarders, def->n_dns_forwarders) {
                free(f->addr);
                free(f->domain);
        }
        free(def->dns_forwarders);
        free(def);
        return NULL;
}

const char *network_forward_mode_to_string(NetworkForwardMode m) {
        static const char *const table[_NETWORK_FORWARD_MAX] = {
                [NETWORK_FORWARD_ISOLATED] = "none",
                [NETWORK_FORWARD_NAT] = "nat",
                [NETWORK_FORWARD_ROUTE] = "route",
                [NETWORK_FORWARD_OPEN] = "open",
        };
        return (unsigned) m < _NETWORK_FORWARD_MAX ? table[m] : NULL;
}

/* ---- addresses ---- */

typedef struct Addr {
        int family;
        uint8_t bytes[16];
} Addr;

static size_t addr_len(int family) {
        return family == AF_INET ? 4 : 16;
}

static int parse_addr(NetParser *p, xmlNode *n, const char *attr, int family, Addr *ret, char **ret_text) {
        _cleanup_free_ char *s = xml_prop(n, attr);

        if (!s)
                return ERR(p, n, NULL, "element '%s' lacks the attribute '%s'", (const char *) n->name, attr);
        ret->family = family;
        if (inet_pton(family, s, ret->bytes) != 1)
                return ERR(p, n, attr, "'%s' is not a valid %s address", s, family == AF_INET ? "IPv4" : "IPv6");
        if (ret_text)
                *ret_text = TAKE_PTR(s);
        return 0;
}

static bool addr_in_subnet(const Addr *a, const Addr *net, unsigned prefix) {
        for (unsigned i = 0; i < prefix; i++) {
                unsigned byte = i / 8, bit = 7 - i % 8;
                if (((a->bytes[byte] >> bit) & 1) != ((net->bytes[byte] >> bit) & 1))
                        return false;
        }
        return true;
}

static int addr_cmp(const Addr *a, const Addr *b) {
        return memcmp(a->bytes, b->bytes, addr_len(a->family));
}

/* A netmask must be contiguous ones then zeros. */
static int netmask_to_prefix(const char *s, unsigned *ret) {
        struct in_addr a;
        uint32_t m;
        unsigned prefix = 0;

        if (inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        m = ntohl(a.s_addr);
        while (m & 0x80000000u) {
                prefix++;
                m <<= 1;
        }
        if (m != 0)
                return -EINVAL;
        *ret = prefix;
        return 0;
}

/* A DUID as libvirt writes it: bytes of one or two hex digits between
 * colons ("00:03:00:01:..."), at most 130 (RFC 8415: a type and 128
 * bytes); their count in *ret_n, the bytes in RET (room for 130). */
static int duid_parse(const char *id, uint8_t ret[static 130], size_t *ret_n) {
        size_t n = 0;

        if (!id || !*id)
                return -EINVAL;
        for (const char *s = id;;) {
                if (!isxdigit((unsigned char) s[0]) || n >= 130)
                        return -EINVAL;
                /* not strtoul: it would take a sign, spaces and "0x" */
                size_t len = isxdigit((unsigned char) s[1]) ? 2 : 1;
                char byte[3] = { s[0], len == 2 ? s[1] : 0, 0 };

                ret[n++] = (uint8_t) strtoul(byte, NULL, 16);
                s += len;
                if (!*s)
                        break;
                if (*s != ':' || !s[1])
                        return -EINVAL;
                s++;
        }
        *ret_n = n;
        return 0;
}

/* What duid_parse() takes, of two bytes at least (a DUID's type). */
static bool duid_valid(const char *id) {
        uint8_t bytes[130];
        size_t n;

        return duid_parse(id, bytes, &n) >= 0 && n >= 2;
}

int network_duid_mac(const char *id, uint8_t ret[6]) {
        uint8_t bytes[130];
        size_t n = 0;

        if (duid_parse(id, bytes, &n) < 0)
                return -EINVAL;
        /* RFC 8415: type 1 (DUID-LLT) and 3 (DUID-LL), hardware type 1 (Ethernet) */
        if (n == 14 && bytes[0] == 0 && bytes[1] == 1 && bytes[2] == 0 && bytes[3] == 1) {
                memcpy(ret, bytes + 8, 6);
                return 0;
        }
        if (n == 10 && bytes[0] == 0 && bytes[1] == 3 && bytes[2] == 0 && bytes[3] == 1) {
                memcpy(ret, bytes + 4, 6);
                return 0;
        }
        return -EINVAL;
}

/* libvirt's rules: an IPv4 host is known by mac= or name=, an IPv6 one
 * (DHCPv6 identifies a client by its DUID, not its MAC) by id= or name=;
 * ip= always. */
static int parse_dhcp_host(NetParser *p, xmlNode *c, NetworkIP *ip, const Addr *net) {
        NetworkDhcpHost *h = XML_ARRAY_GROW(ip->hosts, ip->n_hosts);
        _cleanup_free_ char *mac = NULL;
        bool v6 = ip->family == AF_INET6;
        Addr a;
        int r;

        if (!h)
                return -ENOMEM;
        if ((r = parse_addr(p, c, "ip", ip->family, &a, &h->ip)) < 0)
                return r;
        if (!addr_in_subnet(&a, net, ip->prefix))
                return ERR(p, c, "ip", "DHCP host address '%s' is outside the network %s/%u", h->ip, ip->address,
                           ip->prefix);
        if ((r = xml_prop_opt(c, "mac", &mac)) < 0 || (r = xml_prop_opt(c, "id", &h->id)) < 0 ||
            (r = xml_prop_opt(c, "name", &h->name)) < 0)
                return r;
        if (mac && v6 && (p->flags & NETWORK_PARSE_STORED)) {
                r = xml_warning(p->in, p->diag, c,
                                "ignoring the IPv6 DHCP host '%s' with MAC address '%s' stored by an older Vivarium: DHCPv6 knows a client by its DUID (give id= or name=)",
                                h->ip, mac);
                free(h->id);
                free(h->name);
                free(h->ip);
                ip->n_hosts--;
                return r;
        }
        if (mac) {
                if (v6)
                        return ERR(p, c, "mac",
                                   "Invalid to specify MAC address '%s' in an IPv6 static host definition: DHCPv6 knows a client by its DUID, give id= or name=",
                                   mac);
                if (mac_parse_string(mac, h->mac) < 0)
                        return ERR(p, c, "mac", "'%s' is not a MAC address", mac);
                if (h->mac[0] & 1)
                        return ERR(p, c, "mac", "MAC address '%s' is a multicast address", mac);
                h->has_mac = true;
        }
        if (h->id) {
                if (!v6)
                        return ERR(p, c, "id",
                                   "id= (a DHCPv6 DUID) is for the hosts of an IPv6 <ip>; an IPv4 host takes mac= or name=");
                if (!duid_valid(h->id))
                        return ERR(p, c, "id", "DHCP host id '%s' is not a DUID: bytes of one or two hex digits between ':', two at least", h->id);
        }
        if (v6 && !h->id && !h->name)
                return ERR(p, c, NULL, "DHCPv6 host '%s' needs an id= (the client's DUID) or a name=", h->ip);
        if (!v6 && !h->has_mac && !h->name)
                return ERR(p, c, NULL, "DHCP host '%s' needs a mac= or a name=", h->ip);
        for (size_t i = 0; i + 1 < ip->n_hosts; i++) {
                const NetworkDhcpHost *o = &ip->hosts[i];
                if (h->has_mac && o->has_mac && memcmp(o->mac, h->mac, 6) == 0)
                        return ERR(p, c, "mac", "DHCP host MAC address '%s' is given twice", mac);
                if (h->id && o->id && strcasecmp(o->id, h->id) == 0)
                        return ERR(p, c, "id", "DHCP host id '%s' is given twice", h->id);
                if (streq(o->ip, h->ip))
                        return ERR(p, c, "ip", "DHCP host address '%s' is given twice", h->ip);
        }
        return 0;
}

static int parse_dhcp(NetParser *p, xmlNode *n, NetworkIP *ip, const Addr *net) {
        ip->dhcp = true;
        XML_FOREACH_ELEMENT(c, n) {
                int r;

                if (xml_name_is(c, "range")) {
                        NetworkDhcpRange *range = XML_ARRAY_GROW(ip->ranges, ip->n_ranges);
                        Addr start, end;

                        if (!range)
                                return -ENOMEM;
                        if ((r = parse_addr(p, c, "start", ip->family, &start, &range->start)) < 0 ||
                            (r = parse_addr(p, c, "end", ip->family, &end, &range->end)) < 0)
                                return r;
                        if (!addr_in_subnet(&start, net, ip->prefix))
                                return ERR(p, c, "start", "DHCP range start '%s' is outside the network %s/%u",
                                           range->start, ip->address, ip->prefix);
                        if (!addr_in_subnet(&end, net, ip->prefix))
                                return ERR(p, c, "end", "DHCP range end '%s' is outside the network %s/%u",
                                           range->end, ip->address, ip->prefix);
                        if (addr_cmp(&start, &end) > 0)
                                return ERR(p, c, "end", "DHCP range end '%s' comes before its start '%s'",
                                           range->end, range->start);
                } else if (xml_name_is(c, "host")) {
                        r = parse_dhcp_host(p, c, ip, net);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_ip(NetParser *p, xmlNode *n) {
        NetworkDef *def = p->def;
        _cleanup_free_ char *family = NULL, *netmask = NULL, *prefix = NULL;
        NetworkIP *ip = XML_ARRAY_GROW(def->ips, def->n_ips);
        Addr addr;
        int r;

        if (!ip)
                return -ENOMEM;
        if ((r = xml_prop_opt(n, "family", &family)) < 0 ||
            (r = xml_prop_opt(n, "netmask", &netmask)) < 0 ||
            (r = xml_prop_opt(n, "prefix", &prefix)) < 0)
                return r;
        ip->address = xml_prop(n, "address");
        if (!ip->address)
                return ERR(p, n, NULL, "element 'ip' lacks the attribute 'address'");
        if (family)
                ip->family = streq(family, "ipv6") ? AF_INET6 : AF_INET;
        else
                ip->family = strchr(ip->address, ':') ? AF_INET6 : AF_INET;
        r = parse_addr(p, n, "address", ip->family, &addr, NULL);
        if (r < 0)
                return r;

        if (netmask && prefix)
                return ERR(p, n, "prefix", "element 'ip' has both netmask= and prefix=, give one");
        if (netmask) {
                if (ip->family != AF_INET)
                        return ERR(p, n, "netmask", "netmask= is for IPv4 only, use prefix= for IPv6");
                if (netmask_to_prefix(netmask, &ip->prefix) < 0)
                        return ERR(p, n, "netmask", "'%s' is not a valid netmask", netmask);
                ip->netmask_form = true;
        } else if (prefix) {
                uint64_t v;
                unsigned max = ip->family == AF_INET ? 32 : 128;
                if (xml_parse_u64(prefix, &v) < 0 || v > max)
                        return ERR(p, n, "prefix", "prefix '%s' is out of range, expected 0 to %u", prefix, max);
                ip->prefix = (unsigned) v;
        } else
                ip->prefix = ip->family == AF_INET ? 24 : 64;

        XML_FOREACH_ELEMENT(c, n)
                if (xml_name_is(c, "dhcp")) {
                        r = parse_dhcp(p, c, ip, &addr);
                        if (r < 0)
                                return r;
                }

        for (size_t i = 0; i + 1 < def->n_ips; i++)
                if (ip->dhcp && def->ips[i].dhcp && def->ips[i].family == ip->family)
                        return ERR(p, xml_child(n, "dhcp"), NULL, "DHCP is already enabled on another %s address of this network",
                                   ip->family == AF_INET ? "IPv4" : "IPv6");
        return 0;
}

static int parse_dns_host(NetParser *p, xmlNode *c) {
        NetworkDef *def = p->def;
        NetworkDnsHost *h = XML_ARRAY_GROW(def->dns_hosts, def->n_dns_hosts);
        Addr a;
        int r;

        if (!h)
                return -ENOMEM;
        {
                _cleanup_free_ char *ip = xml_prop(c, "ip");
                h->family = ip && strchr(ip, ':') ? AF_INET6 : AF_INET;
        }
        if ((r = parse_addr(p, c, "ip", h->family, &a, &h->ip)) < 0)
                return r;
        XML_FOREACH_ELEMENT(n, c) {
                char **name;

                if (!xml_name_is(n, "hostname"))
                        continue;
                name = XML_ARRAY_GROW(h->hostnames, h->n_hostnames);
                if (!name)
                        return -ENOMEM;
                *name = xml_text(n);
                if (!*name)
                        return -ENOMEM;
        }
        for (size_t i = 0; i + 1 < def->n_dns_hosts; i++)
                if (streq(def->dns_hosts[i].ip, h->ip))
                        return ERR(p, c, "ip", "DNS host address '%s' is given twice", h->ip);
        return 0;
}

static int parse_dns_forwarder(NetParser *p, xmlNode *c) {
        NetworkDef *def = p->def;
        NetworkDnsForwarder *f = XML_ARRAY_GROW(def->dns_forwarders, def->n_dns_forwarders);
        _cleanup_free_ char *addr = NULL;
        int r;

        if (!f)
                return -ENOMEM;
        if ((r = xml_prop_opt(c, "addr", &addr)) < 0 ||
            (r = xml_prop_opt(c, "domain", &f->domain)) < 0)
                return r;
        if (addr) {
                Addr a;

                r = parse_addr(p, c, "addr", strchr(addr, ':') ? AF_INET6 : AF_INET, &a, &f->addr);
                if (r < 0)
                        return r;
        } else if (!f->domain)
                return ERR(p, c, NULL, "element 'forwarder' needs addr= (where to forward), domain= (what to keep local), or both");
        return 0;
}

static int parse_dns_txt(NetParser *p, xmlNode *c) {
        NetworkDef *def = p->def;
        NetworkDnsTxt *t = XML_ARRAY_GROW(def->dns_txts, def->n_dns_txts);
        int r;

        if (!t)
                return -ENOMEM;
        if ((r = xml_prop_opt(c, "name", &t->name)) < 0 ||
            (r = xml_prop_opt(c, "value", &t->value)) < 0)
                return r;
        if (!t->value && !(p->flags & NETWORK_PARSE_PARTIAL_DNS))
                return ERR(p, c, NULL, "DNS TXT record '%s' lacks the attribute 'value'", t->name);
        /* A control character would end the line of dnsmasq's configuration
         * (the value is quoted there, so commas, quotes and '#' are kept). */
        for (const char *q = t->value; q && *q; q++)
                if ((unsigned char) *q < 0x20 || *q == 0x7f)
                        return ERR(p, c, "value", "DNS TXT record '%s' has a control character in its value, expected printable text",
                                   t->name);
        return 0;
}

/* An optional number of an <srv>, MIN to 65535. */
static int parse_srv_number(NetParser *p, xmlNode *c, const char *attr, unsigned min, unsigned *ret, bool *ret_has) {
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        int r;

        r = xml_prop_opt(c, attr, &s);
        if (r < 0 || !s)
                return r;
        if (xml_parse_u64(s, &v) < 0 || v < min || v > 65535)
                return ERR(p, c, attr, "DNS SRV %s '%s' is out of range, expected %u to 65535", attr, s, min);
        *ret = (unsigned) v;
        *ret_has = true;
        return 0;
}

static int parse_dns_srv(NetParser *p, xmlNode *c) {
        NetworkDef *def = p->def;
        NetworkDnsSrv *srv = XML_ARRAY_GROW(def->dns_srvs, def->n_dns_srvs);
        bool partial = p->flags & NETWORK_PARSE_PARTIAL_DNS;
        int r;

        if (!srv)
                return -ENOMEM;
        if ((r = xml_prop_opt(c, "service", &srv->service)) < 0 ||
            (r = xml_prop_opt(c, "protocol", &srv->protocol)) < 0 ||
            (r = xml_prop_opt(c, "domain", &srv->domain)) < 0 ||
            (r = xml_prop_opt(c, "target", &srv->target)) < 0)
                return r;
        if (!srv->service && (!partial || !srv->protocol))
                return ERR(p, c, NULL, "DNS SRV record lacks the attribute 'service'");
        if (!srv->protocol && !partial)
                return ERR(p, c, NULL, "DNS SRV record '%s' lacks the attribute 'protocol' ('tcp' or 'udp')",
                           srv->service);
        if ((r = parse_srv_number(p, c, "port", 1, &srv->port, &srv->has_port)) < 0 ||
            (r = parse_srv_number(p, c, "priority", 0, &srv->priority, &srv->has_priority)) < 0 ||
            (r = parse_srv_number(p, c, "weight", 0, &srv->weight, &srv->has_weight)) < 0)
                return r;
        /* As libvirt: the numbers describe the target; without one the
         * record says the service is not offered. */
        if (!srv->target && (srv->has_port || srv->has_priority || srv->has_weight))
                return ERR(p, c, srv->has_port ? "port" : srv->has_priority ? "priority" : "weight",
                           "DNS SRV record '%s' has %s= without target=", strna(srv->service),
                           srv->has_port ? "port" : srv->has_priority ? "priority" : "weight");
        return 0;
}

static int parse_dns(NetParser *p, xmlNode *dns) {
        NetworkDef *def = p->def;
        _cleanup_free_ char *enable = NULL, *plain = NULL;
        int r;

        if ((r = xml_prop_opt(dns, "enable", &enable)) < 0 ||
            (r = xml_prop_opt(dns, "forwardPlainNames", &plain)) < 0)
                return r;
        if (enable)
                def->dns_enable = streq(enable, "yes") ? NETWORK_TRISTATE_YES : NETWORK_TRISTATE_NO;
        if (plain)
                def->dns_forward_plain_names = streq(plain, "yes") ? NETWORK_TRISTATE_YES : NETWORK_TRISTATE_NO;

        XML_FOREACH_ELEMENT(c, dns) {
                if (def->dns_enable == NETWORK_TRISTATE_NO)
                        return ERR(p, c, NULL, "<dns enable='no'> has a <%s>: a network without DNS serves no records and forwards nothing",
                                   (const char *) c->name);
                if (xml_name_is(c, "host"))
                        r = parse_dns_host(p, c);
                else if (xml_name_is(c, "forwarder"))
                        r = parse_dns_forwarder(p, c);
                else if (xml_name_is(c, "txt"))
                        r = parse_dns_txt(p, c);
                else if (xml_name_is(c, "srv"))
                        r = parse_dns_srv(p, c);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* libvirt's rules for a network's QoS: a floor is an interface's share of
 * it, not the network's own; a direction is an average (and what shapes it
 * further). */
static int parse_bandwidth(NetParser *p, xmlNode *bw) {
        NetworkDef *def = p->def;

        XML_FOREACH_ELEMENT(c, bw) {
                bool inbound = xml_name_is(c, "inbound");
                DomainBandwidthRate *rate = inbound ? &def->bw_in : &def->bw_out;
                int r;

                if (!inbound && !xml_name_is(c, "outbound"))
                        continue;
                r = xml_parse_bandwidth_rate(p->in, p->diag, c, rate);
                if (r < 0)
                        return r;
                if (rate->floor > 0)
                        return ERR(p, c, "floor", "attribute 'floor' is only supported in the <inbound> of an interface, not of a network");
                if (rate->average == 0)
                        return ERR(p, c, NULL, "<%s> of a network needs the attribute 'average'", (const char *) c->name);
        }
        return 0;
}

static int parse_network(NetParser *p, xmlNode *root) {
        NetworkDef *def = p->def;
        bool have_uuid = false;

        XML_FOREACH_ELEMENT(c, root) {
                int r = 0;

                if (xml_name_is(c, "name")) {
                        free(def->name);
                        def->name = xml_text(c);
                        if (!def->name)
                                return -ENOMEM;
                        if (!domain_name_is_valid(def->name))
                                return ERR(p, c, NULL, "invalid network name '%s': expected 1 to %d characters among A-Z a-z 0-9 _ . + -, not '.' or '..'",
                                           def->name, DOMAIN_NAME_MAX);
                } else if (xml_name_is(c, "uuid")) {
                        r = xml_parse_uuid(p->in, p->diag, c, def->uuid);
                        have_uuid = true;
                } else if (xml_name_is(c, "bridge")) {
                        _cleanup_free_ char *stp = NULL, *delay = NULL;
                        free(def->bridge);
                        if ((r = xml_prop_opt(c, "name", &def->bridge)) < 0 ||
                            (r = xml_prop_opt(c, "stp", &stp)) < 0 ||
                            (r = xml_prop_opt(c, "delay", &delay)) < 0)
                                return r;
                        def->stp = !stp || streq(stp, "on");
                        if (delay) {
                                uint64_t v;
                                if (xml_parse_u64(delay, &v) < 0 || v > 30)
                                        return ERR(p, c, "delay", "bridge delay '%s' is out of range, expected 0 to 30 seconds", delay);
                                def->delay = (unsigned) v;
                        }
                } else if (xml_name_is(c, "forward")) {
                        _cleanup_free_ char *mode = NULL;
                        r = xml_prop_opt(c, "mode", &mode);
                        if (r < 0)
                                return r;
                        if (!mode || streq(mode, "nat"))
                                def->forward = NETWORK_FORWARD_NAT; /* libvirt's default mode */
                        else if (streq(mode, "route"))
                                def->forward = NETWORK_FORWARD_ROUTE;
                        else if (streq(mode, "open"))
                                def->forward = NETWORK_FORWARD_OPEN;
                        else
                                def->forward = NETWORK_FORWARD_ISOLATED;
                        free(def->forward_dev);
                        r = xml_prop_opt(c, "dev", &def->forward_dev);
                } else if (xml_name_is(c, "mac")) {
                        _cleanup_free_ char *mac = xml_prop(c, "address");
                        if (!mac || mac_parse_string(mac, def->mac) < 0)
                                return ERR(p, c, "address", "'%s' is not a MAC address", strna(mac));
                        if (def->mac[0] & 1)
                                return ERR(p, c, "address", "MAC address '%s' is a multicast address", mac);
                        def->has_mac = true;
                } else if (xml_name_is(c, "domain")) {
                        _cleanup_free_ char *local_only = NULL;

                        free(def->domain_name);
                        r = xml_prop_opt(c, "name", &def->domain_name);
                        if (r >= 0)
                                r = xml_prop_opt(c, "localOnly", &local_only);
                        if (local_only)
                                def->domain_local_only = streq(local_only, "yes") ? NETWORK_TRISTATE_YES : NETWORK_TRISTATE_NO;
                } else if (xml_name_is(c, "ip"))
                        r = parse_ip(p, c);
                else if (xml_name_is(c, "dns"))
                        r = parse_dns(p, c);
                else if (xml_name_is(c, "bandwidth"))
                        r = parse_bandwidth(p, c);
                if (r < 0)
                        return r;
        }

        if (!def->name)
                return ERR(p, root, NULL, "element 'network' lacks the required child element 'name'");
        if (def->forward == NETWORK_FORWARD_ISOLATED && def->forward_dev)
                return ERR(p, xml_child(root, "forward"), "dev", "forward dev= needs a forward mode");
        if (!have_uuid) {
                int r = uuid_generate(def->uuid);
                if (r < 0)
                        return r;
                def->uuid_generated = true;
        }
        return 0;
}

int network_def_parse_flags(const char *xml, size_t size, const char *filename, unsigned flags, NetworkDef **ret,
                            XmlDiag *diag) {
        XmlInput in = xml_input(xml, size, filename);
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        NetParser p = { .in = &in, .diag = diag, .flags = flags };
        int r;

        r = xml_read_validated(&in, xml_schema_network_rng, xml_schema_network_rng_len, NULL, &doc, diag);
        if (r < 0)
                return r;

        def = calloc(1, sizeof(NetworkDef));
        if (!def)
                return -ENOMEM;
        def->stp = true;
        p.def = def;
        r = parse_network(&p, xmlDocGetRootElement(doc));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(def);
        return 0;
}

int network_def_parse(const char *xml, size_t size, const char *filename, NetworkDef **ret, XmlDiag *diag) {
        return network_def_parse_flags(xml, size, filename, 0, ret, diag);
}

int network_def_parse_file(const char *path, NetworkDef **ret, XmlDiag *diag) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_full_file(path, &data, &size);
        if (r < 0)
                return r;
        return network_def_parse(data, size, path, ret, diag);
}

/* ---- format ---- */

static void format_ip(XmlBuf *b, const NetworkIP *ip) {
        xml_buf_printf(b, "  <ip");
        if (ip->family == AF_INET6)
                xml_buf_printf(b, " family='ipv6'");
        xml_buf_attr(b, "address", ip->address);
        if (ip->netmask_form) {
                struct in_addr m = { .s_addr = htonl(ip->prefix == 0 ? 0 : ~UINT32_C(0) << (32 - ip->prefix)) };
                char buf[INET_ADDRSTRLEN];
                xml_buf_printf(b, " netmask='%s'", inet_ntop(AF_INET, &m, buf, sizeof(buf)) ? buf : "");
        } else
                xml_buf_printf(b, " prefix='%u'", ip->prefix);
        if (!ip->dhcp) {
                xml_buf_printf(b, "/>\n");
                return;
        }
        xml_buf_printf(b, ">\n");
        if (ip->n_ranges == 0 && ip->n_hosts == 0)
                xml_buf_printf(b, "    <dhcp/>\n");
        else {
                xml_buf_printf(b, "    <dhcp>\n");
                ARRAY_FOREACH(r, ip->ranges, ip->n_ranges) {
                        xml_buf_printf(b, "      <range");
                        xml_buf_attr(b, "start", r->start);
                        xml_buf_attr(b, "end", r->end);
                        xml_buf_printf(b, "/>\n");
                }
                ARRAY_FOREACH(h, ip->hosts, ip->n_hosts) {
                        xml_buf_printf(b, "      <host");
                        if (h->has_mac) {
                                char mac[18];
                                mac_format(h->mac, mac);
                                xml_buf_printf(b, " mac='%s'", mac);
                        }
                        xml_buf_attr(b, "id", h->id);
                        xml_buf_attr(b, "name", h->name);
                        xml_buf_attr(b, "ip", h->ip);
                        xml_buf_printf(b, "/>\n");
                }
                xml_buf_printf(b, "    </dhcp>\n");
        }
        xml_buf_printf(b, "  </ip>\n");
}

static const char *tristate_to_string(NetworkTristate t) {
        return t == NETWORK_TRISTATE_YES ? "yes" : t == NETWORK_TRISTATE_NO ? "no" : NULL;
}

/* libvirt's order: forwarders, TXT, SRV, hosts. */
static void format_dns(XmlBuf *b, const NetworkDef *def) {
        if (def->dns_enable == NETWORK_TRISTATE_ABSENT && def->dns_forward_plain_names == NETWORK_TRISTATE_ABSENT &&
            def->n_dns_hosts + def->n_dns_txts + def->n_dns_srvs + def->n_dns_forwarders == 0)
                return;
        xml_buf_printf(b, "  <dns");
        xml_buf_attr(b, "enable", tristate_to_string(def->dns_enable));
        xml_buf_attr(b, "forwardPlainNames", tristate_to_string(def->dns_forward_plain_names));
        if (def->n_dns_hosts + def->n_dns_txts + def->n_dns_srvs + def->n_dns_forwarders == 0) {
                xml_buf_printf(b, "/>\n");
                return;
        }
        xml_buf_printf(b, ">\n");
        ARRAY_FOREACH(f, def->dns_forwarders, def->n_dns_forwarders) {
                xml_buf_printf(b, "    <forwarder");
                xml_buf_attr(b, "domain", f->domain);
                xml_buf_attr(b, "addr", f->addr);
                xml_buf_printf(b, "/>\n");
        }
        ARRAY_FOREACH(t, def->dns_txts, def->n_dns_txts) {
                xml_buf_printf(b, "    <txt");
                xml_buf_attr(b, "name", t->name);
                xml_buf_attr(b, "value", t->value);
                xml_buf_printf(b, "/>\n");
        }
        ARRAY_FOREACH(srv, def->dns_srvs, def->n_dns_srvs) {
                xml_buf_printf(b, "    <srv");
                xml_buf_attr(b, "service", srv->service);
                xml_buf_attr(b, "protocol", srv->protocol);
                xml_buf_attr(b, "domain", srv->domain);
                xml_buf_attr(b, "target", srv->target);
                if (srv->has_port)
                        xml_buf_printf(b, " port='%u'", srv->port);
                if (srv->has_priority)
                        xml_buf_printf(b, " priority='%u'", srv->priority);
                if (srv->has_weight)
                        xml_buf_printf(b, " weight='%u'", srv->weight);
                xml_buf_printf(b, "/>\n");
        }
        ARRAY_FOREACH(h, def->dns_hosts, def->n_dns_hosts) {
                xml_buf_printf(b, "    <host");
                xml_buf_attr(b, "ip", h->ip);
                xml_buf_printf(b, ">\n");
                ARRAY_FOREACH(name, h->hostnames, h->n_hostnames) {
                        xml_buf_printf(b, "      <hostname>");
                        xml_buf_escaped(b, *name, false);
                        xml_buf_printf(b, "</hostname>\n");
                }
                xml_buf_printf(b, "    </host>\n");
        }
        xml_buf_printf(b, "  </dns>\n");
}

char *network_def_format(const NetworkDef *def) {
        XmlBuf b = {};
        char uuid[37];

        if (!def)
                return NULL;
        xml_buf_printf(&b, "<network>\n  <name>");
        xml_buf_escaped(&b, def->name, false);
        xml_buf_printf(&b, "</name>\n");
        uuid_format(def->uuid, uuid);
        xml_buf_printf(&b, "  <uuid>%s</uuid>\n", uuid);
        if (def->forward != NETWORK_FORWARD_ISOLATED) {
                xml_buf_printf(&b, "  <forward mode='%s'", network_forward_mode_to_string(def->forward));
                xml_buf_attr(&b, "dev", def->forward_dev);
                xml_buf_printf(&b, "/>\n");
        }
        xml_buf_printf(&b, "  <bridge");
        xml_buf_attr(&b, "name", def->bridge);
        xml_buf_printf(&b, " stp='%s' delay='%u'/>\n", def->stp ? "on" : "off", def->delay);
        if (def->has_mac) {
                char mac[18];
                mac_format(def->mac, mac);
                xml_buf_printf(&b, "  <mac address='%s'/>\n", mac);
        }
        if (def->domain_name) {
                xml_buf_printf(&b, "  <domain");
                xml_buf_attr(&b, "name", def->domain_name);
                xml_buf_attr(&b, "localOnly", tristate_to_string(def->domain_local_only));
                xml_buf_printf(&b, "/>\n");
        }
        format_dns(&b, def);
        /* libvirt's place: after <dns>, before the addresses */
        xml_format_bandwidth(&b, "  ", &def->bw_in, &def->bw_out);
        ARRAY_FOREACH(ip, def->ips, def->n_ips)
                format_ip(&b, ip);
        xml_buf_printf(&b, "</network>\n");
        return xml_buf_finish(&b);
}
