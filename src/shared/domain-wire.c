/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* DomainDef ↔ its binary form (see domain-wire.h for the layout). The
 * encoder writes the fields in declaration order; the decoder reads them in
 * the same order, bounds-checked, and refuses anything the encoder could not
 * have written, so that a corrupted buffer fails instead of giving a model
 * the helper would trip over. */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "domain-wire.h"
#include "macros.h"

#define WIRE_MAGIC "VIVW"
#define WIRE_VERSION UINT32_C(6)
#define WIRE_NULL UINT32_MAX

/* Catches a field added to DomainDef or a sub-struct without the codec
 * learning it: the build fails here, and the fix is to add the field to both
 * directions below, to the test's comparison, then update the number. Sizes
 * depend on the ABI (pointer size, alignment of uint64_t), so the numbers
 * are those of x86_64, where CI builds; one ABI suffices to catch a change
 * of the shared source. A field that fits in existing padding (a bool after
 * another) does not change the size: review such a change by hand. */
#if __SIZEOF_POINTER__ == 8 && defined(__x86_64__)
_Static_assert(sizeof(DomainDef) == 432, "DomainDef changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainFilesystem) == 48, "DomainFilesystem changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainInterface) == 248, "DomainInterface changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainBandwidthRate) == 32, "DomainBandwidthRate changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainIP) == 32, "DomainIP changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainRoute) == 32, "DomainRoute changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainIdmap) == 12, "DomainIdmap changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainEnv) == 16, "DomainEnv changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainHostdev) == 56, "DomainHostdev changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainDisk) == 40, "DomainDisk changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainBlkioDevice) == 48, "DomainBlkioDevice changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainFilterParam) == 16, "DomainFilterParam changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainPort) == 16, "DomainPort changed: update domain-wire.c and tests/test-domain-wire.c");
_Static_assert(sizeof(DomainCapToggle) == 8, "DomainCapToggle changed: update domain-wire.c and tests/test-domain-wire.c");
#endif

/* ---- writer: a growing buffer; the first error sticks and later puts do nothing ---- */

typedef struct WireWriter {
        uint8_t *data;
        size_t size, alloc;
        int error;
} WireWriter;

static void put_bytes(WireWriter *w, const void *p, size_t n) {
        if (w->error < 0 || n == 0)
                return;
        if (n > w->alloc - w->size) {
                size_t want = w->alloc > 0 ? w->alloc : 1024;
                uint8_t *d;

                while (want - w->size < n) {
                        if (want > SIZE_MAX / 2) {
                                w->error = -ENOMEM;
                                return;
                        }
                        want *= 2;
                }
                d = realloc(w->data, want);
                if (!d) {
                        w->error = -ENOMEM;
                        return;
                }
                w->data = d;
                w->alloc = want;
        }
        memcpy(w->data + w->size, p, n);
        w->size += n;
}

static void put_u8(WireWriter *w, uint8_t v) {
        put_bytes(w, &v, sizeof(v));
}

static void put_bool(WireWriter *w, bool v) {
        put_u8(w, v ? 1 : 0);
}

static void put_u32(WireWriter *w, uint32_t v) {
        put_bytes(w, &v, sizeof(v));
}

static void put_u64(WireWriter *w, uint64_t v) {
        put_bytes(w, &v, sizeof(v));
}

/* Counts and lengths: UINT32_MAX is the NULL marker, so the largest is one less. */
static void put_count(WireWriter *w, size_t n) {
        if (n >= WIRE_NULL) {
                if (w->error >= 0)
                        w->error = -E2BIG;
                return;
        }
        put_u32(w, (uint32_t) n);
}

static void put_str(WireWriter *w, const char *s) {
        size_t n;

        if (!s) {
                put_u32(w, WIRE_NULL);
                return;
        }
        n = strlen(s);
        put_count(w, n);
        put_bytes(w, s, n);
}

/* ---- reader: bounds-checked; the first error sticks, later gets return 0/NULL ---- */

typedef struct WireReader {
        const uint8_t *p;
        size_t left;
        int error;
} WireReader;

static void wire_fail(WireReader *r, int error) {
        if (r->error >= 0)
                r->error = error;
}

static void wire_check(WireReader *r, bool ok) {
        if (!ok)
                wire_fail(r, -EBADMSG);
}

static void get_bytes(WireReader *r, void *ret, size_t n) {
        if (r->error < 0 || n > r->left) {
                wire_fail(r, -EBADMSG);
                memset(ret, 0, n);
                return;
        }
        memcpy(ret, r->p, n);
        r->p += n;
        r->left -= n;
}

static uint8_t get_u8(WireReader *r) {
        uint8_t v;
        get_bytes(r, &v, sizeof(v));
        return v;
}

/* Only 0 and 1: anything else would not encode back to the same byte. */
static bool get_bool(WireReader *r) {
        uint8_t v = get_u8(r);
        wire_check(r, v <= 1);
        return v == 1;
}

static uint32_t get_u32(WireReader *r) {
        uint32_t v;
        get_bytes(r, &v, sizeof(v));
        return v;
}

static uint64_t get_u64(WireReader *r) {
        uint64_t v;
        get_bytes(r, &v, sizeof(v));
        return v;
}

/* An enum value is valid when it has a name; out of range it reads as 0. */
#define GET_ENUM(r, to_string)                          \
        ({                                              \
                uint32_t _v_ = get_u32(r);              \
                if (!to_string(_v_)) {                  \
                        wire_fail((r), -EBADMSG);       \
                        _v_ = 0;                        \
                }                                       \
                _v_;                                    \
        })

/* A count of elements of at least min_size bytes each: refused when the rest
 * of the buffer cannot hold them, so that a corrupted count never makes us
 * allocate more than the buffer's size times a constant. */
static size_t get_count(WireReader *r, size_t min_size) {
        uint32_t n = get_u32(r);

        if (r->error < 0 || n > r->left / min_size) {
                wire_fail(r, -EBADMSG);
                return 0;
        }
        return n;
}

static char *get_str(WireReader *r) {
        uint32_t n = get_u32(r);
        char *s;

        if (r->error < 0 || n == WIRE_NULL)
                return NULL;
        if (n > r->left || memchr(r->p, 0, n)) {
                wire_fail(r, -EBADMSG);
                return NULL;
        }
        s = strndup((const char *) r->p, n);
        if (!s) {
                wire_fail(r, -ENOMEM);
                return NULL;
        }
        r->p += n;
        r->left -= n;
        return s;
}

/* For the fields the parser never leaves NULL. */
static char *get_str_nonnull(WireReader *r) {
        char *s = get_str(r);
        wire_check(r, s);
        return s;
}

/* calloc'ed array of n elements, NULL for none (as the parser leaves it). */
static void *get_array(WireReader *r, size_t n, size_t elem_size) {
        void *a;

        if (r->error < 0 || n == 0)
                return NULL;
        a = calloc(n, elem_size);
        if (!a)
                wire_fail(r, -ENOMEM);
        return a;
}

/* ---- DomainDef → wire ---- */

static void put_idmaps(WireWriter *w, const DomainIdmap *map, size_t n) {
        put_count(w, n);
        ARRAY_FOREACH(m, map, n) {
                put_u32(w, m->start);
                put_u32(w, m->target);
                put_u32(w, m->count);
        }
}

static void put_filesystem(WireWriter *w, const DomainFilesystem *fs) {
        put_u32(w, fs->type);
        put_str(w, fs->source);
        put_u64(w, fs->ram_usage_kib);
        put_str(w, fs->target);
        put_bool(w, fs->readonly);
        put_u32(w, fs->driver);
        put_u32(w, fs->format);
}

static void put_bandwidth_rate(WireWriter *w, const DomainBandwidthRate *rate) {
        put_u64(w, rate->average);
        put_u64(w, rate->peak);
        put_u64(w, rate->burst);
        put_u64(w, rate->floor);
}

static void put_ips(WireWriter *w, const DomainIP *ips, size_t n) {
        put_count(w, n);
        ARRAY_FOREACH(ip, ips, n) {
                put_u32(w, (uint32_t) ip->family);
                put_str(w, ip->address);
                put_u32(w, ip->prefix);
                put_str(w, ip->peer);
        }
}

static void put_routes(WireWriter *w, const DomainRoute *routes, size_t n) {
        put_count(w, n);
        ARRAY_FOREACH(rt, routes, n) {
                put_u32(w, (uint32_t) rt->family);
                put_str(w, rt->address);
                put_u32(w, rt->prefix);
                put_str(w, rt->gateway);
        }
}

static void put_interface(WireWriter *w, const DomainInterface *iface) {
        put_u32(w, iface->type);
        put_bytes(w, iface->mac, MAC_ADDR_LEN);
        put_bool(w, iface->has_mac);
        put_str(w, iface->source);
        put_u32(w, iface->direct_mode);
        put_str(w, iface->target_dev);
        put_str(w, iface->guest_dev);
        put_bool(w, iface->link_down);
        put_bandwidth_rate(w, &iface->bw_in);
        put_bandwidth_rate(w, &iface->bw_out);
        put_ips(w, iface->ips, iface->n_ips);
        put_routes(w, iface->routes, iface->n_routes);
        put_ips(w, iface->host_ips, iface->n_host_ips);
        put_routes(w, iface->host_routes, iface->n_host_routes);
        put_u32(w, iface->spoofcheck);
        put_str(w, iface->filterref);
        put_count(w, iface->n_filter_params);
        ARRAY_FOREACH(fp, iface->filter_params, iface->n_filter_params) {
                put_str(w, fp->name);
                put_str(w, fp->value);
        }
        put_u32(w, (uint32_t) iface->n_ports);
        ARRAY_FOREACH(port, iface->ports, iface->n_ports) {
                put_u32(w, port->protocol);
                put_u32(w, port->host_port);
                put_u32(w, port->container_port);
                put_str(w, port->address);
        }
        put_str(w, iface->lease_address);
        put_str(w, iface->lease_address6);
}

static void put_hostdev(WireWriter *w, const DomainHostdev *hd) {
        put_u32(w, hd->type);
        put_str(w, hd->source);
        put_u32(w, hd->usb_vendor);
        put_u32(w, hd->usb_product);
        put_u32(w, hd->usb_bus);
        put_u32(w, hd->usb_device);
        put_ips(w, hd->ips, hd->n_ips);
        put_routes(w, hd->routes, hd->n_routes);
}

static void put_disk(WireWriter *w, const DomainDisk *disk) {
        put_u32(w, disk->type);
        put_str(w, disk->source);
        put_str(w, disk->target);
        put_bool(w, disk->readonly);
        put_u64(w, disk->loop_rdev);
}

static void put_def(WireWriter *w, const DomainDef *def) {
        put_str(w, def->name);
        put_bytes(w, def->uuid, sizeof(def->uuid));
        put_bool(w, def->uuid_generated);
        put_str(w, def->title);
        put_str(w, def->description);

        put_u64(w, def->memory_kib);
        put_u64(w, def->current_memory_kib);
        put_u64(w, def->hard_limit_kib);
        put_u64(w, def->soft_limit_kib);
        put_u64(w, def->swap_hard_limit_kib);

        put_u32(w, def->vcpus);
        put_str(w, def->cpuset);
        put_u64(w, def->cpu_shares);
        put_u64(w, def->cpu_period_us);
        put_u64(w, (uint64_t) def->cpu_quota_us);
        put_u64(w, def->blkio_weight);
        put_count(w, def->n_blkio_devices);
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices) {
                put_str(w, bd->path);
                put_u64(w, bd->weight);
                put_u64(w, bd->read_bytes_sec);
                put_u64(w, bd->write_bytes_sec);
                put_u64(w, bd->read_iops_sec);
                put_u64(w, bd->write_iops_sec);
        }
        put_u64(w, def->tasks_max);
        put_u32(w, def->notify_timeout_sec);
        put_u32(w, def->syscalls_allowed);

        put_str(w, def->os_type);
        put_str(w, def->init);
        if (!def->init_args)
                put_u32(w, WIRE_NULL);
        else {
                size_t n = 0;

                while (def->init_args[n])
                        n++;
                put_count(w, n);
                for (size_t i = 0; i < n; i++)
                        put_str(w, def->init_args[i]);
        }
        put_count(w, def->n_init_env);
        ARRAY_FOREACH(e, def->init_env, def->n_init_env) {
                put_str(w, e->name);
                put_str(w, e->value);
        }
        put_str(w, def->init_dir);
        put_str(w, def->init_user);
        put_str(w, def->init_group);

        put_idmaps(w, def->uid_map, def->n_uid_map);
        put_idmaps(w, def->gid_map, def->n_gid_map);
        put_u32(w, (uint32_t) def->userns_mode);
        put_bool(w, def->userns_picked);

        put_bool(w, def->privnet);
        put_u32(w, def->cap_policy);
        put_count(w, def->n_cap_toggles);
        ARRAY_FOREACH(t, def->cap_toggles, def->n_cap_toggles) {
                put_u32(w, (uint32_t) t->cap);
                put_bool(w, t->on);
        }

        put_u32(w, def->on_poweroff);
        put_u32(w, def->on_reboot);
        put_u32(w, def->on_crash);

        FOREACH_ARRAY(share, def->ns_share, _NS_SHARE_KIND_MAX) {
                put_u32(w, share->type);
                put_str(w, share->value);
        }

        put_u32(w, def->n_consoles);
        put_count(w, def->n_filesystems);
        ARRAY_FOREACH(fs, def->filesystems, def->n_filesystems)
                put_filesystem(w, fs);
        put_count(w, def->n_interfaces);
        ARRAY_FOREACH(iface, def->interfaces, def->n_interfaces)
                put_interface(w, iface);
        put_count(w, def->n_hostdevs);
        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs)
                put_hostdev(w, hd);
        put_count(w, def->n_disks);
        ARRAY_FOREACH(disk, def->disks, def->n_disks)
                put_disk(w, disk);
}

int domain_def_to_wire(const DomainDef *def, char *const *bridges, void **ret, size_t *ret_size) {
        WireWriter w = {};

        put_bytes(&w, WIRE_MAGIC, 4);
        put_u32(&w, WIRE_VERSION);
        put_def(&w, def);
        for (size_t i = 0; i < def->n_interfaces; i++)
                put_str(&w, bridges ? bridges[i] : NULL);

        if (w.error < 0) {
                free(w.data);
                return w.error;
        }
        *ret = w.data;
        *ret_size = w.size;
        return 0;
}

/* ---- wire → DomainDef ---- */

/* Smallest encodings, for get_count(): a string or a NULL is 4 bytes. */
#define WIRE_MIN_STR 4
#define WIRE_MIN_IDMAP 12
#define WIRE_MIN_ENV (2 * WIRE_MIN_STR)
#define WIRE_MIN_CAP_TOGGLE 5
#define WIRE_MIN_IP (4 + WIRE_MIN_STR + 4 + WIRE_MIN_STR)
#define WIRE_MIN_ROUTE (4 + WIRE_MIN_STR + 4 + WIRE_MIN_STR)
#define WIRE_MIN_FILESYSTEM (4 + WIRE_MIN_STR + 8 + WIRE_MIN_STR + 1 + 4 + 4)
#define WIRE_MIN_INTERFACE (4 + MAC_ADDR_LEN + 1 + WIRE_MIN_STR + 4 + 2 * WIRE_MIN_STR + 1 + 8 * 8 + 4 + 4 + 4 + 4 + 4 + WIRE_MIN_STR + WIRE_MIN_STR + 4)
#define WIRE_MIN_FILTER_PARAM (2 * WIRE_MIN_STR)

#define WIRE_MIN_HOSTDEV (4 + WIRE_MIN_STR + 4 * 4 + 2 * 4)
#define WIRE_MIN_DISK (4 + 2 * WIRE_MIN_STR + 1 + 8)
#define WIRE_MIN_BLKIO_DEVICE (WIRE_MIN_STR + 5 * 8)

static bool family_is_valid(int family) {
        return family == AF_INET || family == AF_INET6;
}

static unsigned prefix_max(int family) {
        return family == AF_INET ? 32 : 128;
}

static void get_idmaps(WireReader *r, DomainIdmap **ret, size_t *ret_n) {
        size_t n = get_count(r, WIRE_MIN_IDMAP);
        DomainIdmap *map = get_array(r, n, sizeof(DomainIdmap));

        if (!map)
                return;
        *ret = map;
        *ret_n = n;
        FOREACH_ARRAY(m, map, n) {
                m->start = get_u32(r);
                m->target = get_u32(r);
                m->count = get_u32(r);
        }
}

static void get_filesystem(WireReader *r, DomainFilesystem *fs) {
        fs->type = GET_ENUM(r, filesystem_type_to_string);
        fs->source = get_str(r);
        fs->ram_usage_kib = get_u64(r);
        fs->target = get_str_nonnull(r);
        fs->readonly = get_bool(r);
        fs->driver = GET_ENUM(r, filesystem_driver_to_string);
        fs->format = GET_ENUM(r, image_format_to_string);
        /* The parser gives a source to all but ram, and a driver to file only. */
        wire_check(r, (fs->type == FILESYSTEM_RAM) == !fs->source);
        wire_check(r, (fs->type == FILESYSTEM_FILE) == (fs->driver != FILESYSTEM_DRIVER_DEFAULT));
}

static void get_ip(WireReader *r, DomainIP *ip) {
        ip->family = (int) get_u32(r);
        ip->address = get_str_nonnull(r);
        ip->prefix = get_u32(r);
        ip->peer = get_str(r);
        wire_check(r, family_is_valid(ip->family) && ip->prefix <= prefix_max(ip->family));
}

static void get_route(WireReader *r, DomainRoute *rt) {
        rt->family = (int) get_u32(r);
        rt->address = get_str_nonnull(r);
        rt->prefix = get_u32(r);
        rt->gateway = get_str_nonnull(r);
        wire_check(r, family_is_valid(rt->family) && rt->prefix <= prefix_max(rt->family));
}

static void get_ips(WireReader *r, DomainIP **ret, size_t *ret_n) {
        size_t n = get_count(r, WIRE_MIN_IP);
        *ret = get_array(r, n, sizeof(DomainIP));
        if (*ret)
                *ret_n = n;
        ARRAY_FOREACH(ip, *ret, *ret_n)
                get_ip(r, ip);
}

static void get_routes(WireReader *r, DomainRoute **ret, size_t *ret_n) {
        size_t n = get_count(r, WIRE_MIN_ROUTE);
        *ret = get_array(r, n, sizeof(DomainRoute));
        if (*ret)
                *ret_n = n;
        ARRAY_FOREACH(rt, *ret, *ret_n)
                get_route(r, rt);
}

static void get_bandwidth_rate(WireReader *r, DomainBandwidthRate *rate) {
        rate->average = get_u64(r);
        rate->peak = get_u64(r);
        rate->burst = get_u64(r);
        rate->floor = get_u64(r);
}

#define WIRE_MIN_PORT (4 + 4 + 4 + WIRE_MIN_STR)

static void get_ports(WireReader *r, DomainPort **ret, size_t *ret_n) {
        size_t n = get_count(r, WIRE_MIN_PORT);
        *ret = get_array(r, n, sizeof(DomainPort));
        if (*ret)
                *ret_n = n;
        ARRAY_FOREACH(port, *ret, *ret_n) {
                uint32_t host, container;

                port->protocol = GET_ENUM(r, port_protocol_to_string);
                host = get_u32(r);
                container = get_u32(r);
                wire_check(r, host >= 1 && host <= UINT16_MAX && container >= 1 && container <= UINT16_MAX);
                port->host_port = (uint16_t) host;
                port->container_port = (uint16_t) container;
                port->address = get_str(r);
        }
}

static void get_filter_params(WireReader *r, DomainInterface *iface) {
        size_t n;

        iface->filterref = get_str(r);
        n = get_count(r, WIRE_MIN_FILTER_PARAM);
        iface->filter_params = get_array(r, n, sizeof(DomainFilterParam));
        if (iface->filter_params)
                iface->n_filter_params = n;
        ARRAY_FOREACH(fp, iface->filter_params, iface->n_filter_params) {
                fp->name = get_str_nonnull(r);
                fp->value = get_str_nonnull(r);
        }
        /* The parser gives parameters only to a <filterref>, and that only
         * to the types the anti-spoofing filter serves. */
        wire_check(r, iface->filterref || iface->n_filter_params == 0);
        wire_check(r, !iface->filterref || iface->type == INTERFACE_NETWORK || iface->type == INTERFACE_BRIDGE);
}

static void get_interface(WireReader *r, DomainInterface *iface) {
        iface->type = GET_ENUM(r, interface_type_to_string);
        get_bytes(r, iface->mac, MAC_ADDR_LEN);
        iface->has_mac = get_bool(r);
        iface->source = get_str(r);
        iface->direct_mode = GET_ENUM(r, direct_mode_to_string);
        iface->target_dev = get_str(r);
        iface->guest_dev = get_str(r);
        iface->link_down = get_bool(r);
        get_bandwidth_rate(r, &iface->bw_in);
        get_bandwidth_rate(r, &iface->bw_out);
        /* The parser gives every type but ethernet a source. */
        wire_check(r, (iface->type == INTERFACE_ETHERNET) == !iface->source);

        get_ips(r, &iface->ips, &iface->n_ips);
        get_routes(r, &iface->routes, &iface->n_routes);
        get_ips(r, &iface->host_ips, &iface->n_host_ips);
        get_routes(r, &iface->host_routes, &iface->n_host_routes);
        /* The parser gives host-side addresses to ethernet only. */
        wire_check(r, iface->type == INTERFACE_ETHERNET || (iface->n_host_ips == 0 && iface->n_host_routes == 0));

        iface->spoofcheck = GET_ENUM(r, spoofcheck_to_string);
        get_filter_params(r, iface);
        get_ports(r, &iface->ports, &iface->n_ports);
        /* The parser refuses published ports on type='direct'. */
        wire_check(r, iface->type != INTERFACE_DIRECT || iface->n_ports == 0);
        iface->lease_address = get_str(r);
        iface->lease_address6 = get_str(r);
}

static uint16_t get_u16_in_u32(WireReader *r) {
        uint32_t v = get_u32(r);
        wire_check(r, v <= UINT16_MAX);
        return (uint16_t) v;
}

static void get_hostdev(WireReader *r, DomainHostdev *hd) {
        hd->type = GET_ENUM(r, hostdev_type_to_string);
        hd->source = get_str(r);
        hd->usb_vendor = get_u16_in_u32(r);
        hd->usb_product = get_u16_in_u32(r);
        hd->usb_bus = get_u16_in_u32(r);
        hd->usb_device = get_u16_in_u32(r);
        get_ips(r, &hd->ips, &hd->n_ips);
        get_routes(r, &hd->routes, &hd->n_routes);
        /* the parser gives addresses to type='net' only */
        wire_check(r, hd->type == HOSTDEV_NET || (hd->n_ips == 0 && hd->n_routes == 0));
        /* The parser gives every type but usb a source, and usb an ID or an address. */
        wire_check(r, (hd->type == HOSTDEV_USB) == !hd->source);
        wire_check(r, hd->type != HOSTDEV_USB || hd->usb_vendor > 0 || hd->usb_bus > 0);
}

static void get_disk(WireReader *r, DomainDisk *disk) {
        disk->type = GET_ENUM(r, disk_type_to_string);
        disk->source = get_str_nonnull(r);
        disk->target = get_str_nonnull(r);
        disk->readonly = get_bool(r);
        disk->loop_rdev = get_u64(r);
        wire_check(r, disk->type == DISK_FILE || disk->loop_rdev == 0);
        /* the target names a node in /dev: never a path step */
        wire_check(r, !disk->target || (!strchr(disk->target, '/') && !streq(disk->target, "..") && !streq(disk->target, ".")));
}

/* Fills def as far as the buffer goes; r->error says whether it all went.
 * Every array is counted in def as soon as it exists, so that
 * domain_def_free() frees a half-read model. */
static void get_def(WireReader *r, DomainDef *def) {
        uint32_t n_args;
        size_t n;

        def->name = get_str(r);
        /* The name becomes a file name under /run: never a path step. */
        wire_check(r, domain_name_is_valid(def->name));
        get_bytes(r, def->uuid, sizeof(def->uuid));
        def->uuid_generated = get_bool(r);
        def->title = get_str(r);
        def->description = get_str(r);

        def->memory_kib = get_u64(r);
        def->current_memory_kib = get_u64(r);
        def->hard_limit_kib = get_u64(r);
        def->soft_limit_kib = get_u64(r);
        def->swap_hard_limit_kib = get_u64(r);

        def->vcpus = get_u32(r);
        def->cpuset = get_str(r);
        def->cpu_shares = get_u64(r);
        def->cpu_period_us = get_u64(r);
        def->cpu_quota_us = (int64_t) get_u64(r);
        def->blkio_weight = get_u64(r);
        n = get_count(r, WIRE_MIN_BLKIO_DEVICE);
        def->blkio_devices = get_array(r, n, sizeof(DomainBlkioDevice));
        if (def->blkio_devices)
                def->n_blkio_devices = n;
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices) {
                bd->path = get_str_nonnull(r);
                bd->weight = get_u64(r);
                bd->read_bytes_sec = get_u64(r);
                bd->write_bytes_sec = get_u64(r);
                bd->read_iops_sec = get_u64(r);
                bd->write_iops_sec = get_u64(r);
        }
        def->tasks_max = get_u64(r);
        def->notify_timeout_sec = get_u32(r);
        def->syscalls_allowed = get_u32(r);
        wire_check(r, (def->syscalls_allowed & ~(unsigned) _SYSCALL_GROUP_ALL) == 0);

        def->os_type = get_str(r);
        def->init = get_str_nonnull(r);
        n_args = get_u32(r);
        if (n_args != WIRE_NULL) {
                wire_check(r, n_args <= r->left / WIRE_MIN_STR);
                if (r->error >= 0) {
                        /* NULL-terminated, and zeroed so that strv_free() stops at the
                         * first string not read. */
                        def->init_args = calloc((size_t) n_args + 1, sizeof(char *));
                        if (!def->init_args)
                                wire_fail(r, -ENOMEM);
                }
                for (uint32_t i = 0; def->init_args && i < n_args && r->error >= 0; i++)
                        def->init_args[i] = get_str_nonnull(r);
        }
        n = get_count(r, WIRE_MIN_ENV);
        def->init_env = get_array(r, n, sizeof(DomainEnv));
        if (def->init_env)
                def->n_init_env = n;
        ARRAY_FOREACH(e, def->init_env, def->n_init_env) {
                e->name = get_str_nonnull(r);
                e->value = get_str_nonnull(r);
        }
        def->init_dir = get_str(r);
        def->init_user = get_str(r);
        def->init_group = get_str(r);

        get_idmaps(r, &def->uid_map, &def->n_uid_map);
        get_idmaps(r, &def->gid_map, &def->n_gid_map);
        def->userns_mode = (UsernsMode) get_u32(r);
        wire_check(r, def->userns_mode < _USERNS_MODE_MAX);
        def->userns_picked = get_bool(r);

        def->privnet = get_bool(r);
        def->cap_policy = GET_ENUM(r, cap_policy_to_string);
        n = get_count(r, WIRE_MIN_CAP_TOGGLE);
        def->cap_toggles = get_array(r, n, sizeof(DomainCapToggle));
        if (def->cap_toggles)
                def->n_cap_toggles = n;
        ARRAY_FOREACH(t, def->cap_toggles, def->n_cap_toggles) {
                t->cap = (int) get_u32(r);
                t->on = get_bool(r);
                /* The helper shifts by it: a number it has no name for is refused. */
                wire_check(r, capability_to_name(t->cap));
        }

        def->on_poweroff = GET_ENUM(r, lifecycle_action_to_string);
        def->on_reboot = GET_ENUM(r, lifecycle_action_to_string);
        def->on_crash = GET_ENUM(r, lifecycle_action_to_string);

        FOREACH_ARRAY(share, def->ns_share, _NS_SHARE_KIND_MAX) {
                share->type = GET_ENUM(r, ns_share_type_to_string);
                share->value = get_str(r);
                /* the parser gives every shared namespace a value, and
                 * netns to sharenet only */
                wire_check(r, (share->type == NS_SHARE_NONE) == !share->value);
                wire_check(r, share->type != NS_SHARE_NETNS || share == &def->ns_share[NS_SHARE_NET]);
        }

        def->n_consoles = get_u32(r);
        n = get_count(r, WIRE_MIN_FILESYSTEM);
        def->filesystems = get_array(r, n, sizeof(DomainFilesystem));
        if (def->filesystems)
                def->n_filesystems = n;
        ARRAY_FOREACH(fs, def->filesystems, def->n_filesystems)
                get_filesystem(r, fs);
        n = get_count(r, WIRE_MIN_INTERFACE);
        def->interfaces = get_array(r, n, sizeof(DomainInterface));
        if (def->interfaces)
                def->n_interfaces = n;
        ARRAY_FOREACH(iface, def->interfaces, def->n_interfaces)
                get_interface(r, iface);
        n = get_count(r, WIRE_MIN_HOSTDEV);
        def->hostdevs = get_array(r, n, sizeof(DomainHostdev));
        if (def->hostdevs)
                def->n_hostdevs = n;
        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs)
                get_hostdev(r, hd);
        n = get_count(r, WIRE_MIN_DISK);
        def->disks = get_array(r, n, sizeof(DomainDisk));
        if (def->disks)
                def->n_disks = n;
        ARRAY_FOREACH(disk, def->disks, def->n_disks)
                get_disk(r, disk);
}

void domain_wire_bridges_free(char **bridges, size_t n) {
        if (!bridges)
                return;
        for (size_t i = 0; i < n; i++)
                free(bridges[i]);
        free(bridges);
}

int domain_def_from_wire(const void *data, size_t size, DomainDef **ret, char ***ret_bridges) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        WireReader r = { .p = data, .left = size };
        char magic[4], **bridges = NULL;
        size_t n_bridges = 0;

        get_bytes(&r, magic, sizeof(magic));
        wire_check(&r, memcmp(magic, WIRE_MAGIC, sizeof(magic)) == 0);
        wire_check(&r, get_u32(&r) == WIRE_VERSION);
        if (r.error < 0)
                return r.error;

        def = calloc(1, sizeof(DomainDef));
        if (!def)
                return -ENOMEM;
        get_def(&r, def);

        /* One entry per interface (get_count() bounded n_interfaces), plus a
         * NULL so that an array without NULL entries is also a strv. */
        if (r.error >= 0) {
                n_bridges = def->n_interfaces;
                bridges = calloc(n_bridges + 1, sizeof(char *));
                if (!bridges)
                        wire_fail(&r, -ENOMEM);
        }
        for (size_t i = 0; bridges && i < n_bridges; i++)
                bridges[i] = get_str(&r);
        wire_check(&r, r.left == 0);

        if (r.error < 0) {
                domain_wire_bridges_free(bridges, n_bridges);
                return r.error;
        }
        *ret = TAKE_PTR(def);
        if (ret_bridges)
                *ret_bridges = bridges;
        else
                domain_wire_bridges_free(bridges, n_bridges);
        return 0;
}
