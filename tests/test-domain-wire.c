/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* domain-wire.c: every model round-trips exactly, and a damaged buffer is
 * refused (or decodes to a model that frees cleanly) instead of crashing.
 *
 * - every tests/xml/good document whose root is <domain> (not the .out.xml
 *   expectations): parse → to_wire → from_wire formats to the same text,
 *   compares equal field by field, and encodes to the same bytes;
 * - a hand-built model with every field set (domain_def_format() does not
 *   print all of them) compares equal field by field;
 * - every proper prefix and the buffer plus a byte fail with -EBADMSG; every
 *   byte changed to several values fails with -EBADMSG or decodes to a model
 *   that encodes back to exactly the changed bytes;
 * - hand-made malformed buffers fail with -EBADMSG.
 *
 * Prints failures and one line per group, then the count of checks.
 * "test-domain-wire --write-corpus DIR" writes wire buffers of the good
 * documents to DIR instead: tests/fuzz/run.sh seeds fuzz-wire with them. */

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "domain-wire.h"
#include "domain-xml.h"
#include "fileio.h"
#include "macros.h"

#ifndef TEST_SOURCE_DIR
#define TEST_SOURCE_DIR "."
#endif

static unsigned checks, failures;

static void check(bool ok, const char *fmt, ...) _printf_(2, 3);
static void check(bool ok, const char *fmt, ...) {
        va_list ap;

        checks++;
        if (ok)
                return;
        failures++;
        printf("not ok - ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
}

/* ---- field-by-field comparison ---- */

typedef struct Diff {
        const char *what;
        unsigned n;
} Diff;

static void differ(Diff *d, const char *field) {
        printf("#   %s: field '%s' differs\n", d->what, field);
        d->n++;
}

#define SAME(d, a, b, f)                      \
        do {                                  \
                if ((a)->f != (b)->f)         \
                        differ(d, #f);        \
        } while (0)
#define SAME_STR(d, a, b, f)                          \
        do {                                          \
                if (!streq_ptr((a)->f, (b)->f))       \
                        differ(d, #f);                \
        } while (0)
#define SAME_MEM(d, a, b, f)                                          \
        do {                                                          \
                if (memcmp((a)->f, (b)->f, sizeof((a)->f)) != 0)      \
                        differ(d, #f);                                \
        } while (0)

static void compare_ips(Diff *d, const DomainIP *a, size_t na, const DomainIP *b, size_t nb) {
        if (na != nb) {
                differ(d, "n_ips");
                return;
        }
        for (size_t i = 0; i < na; i++) {
                SAME(d, &a[i], &b[i], family);
                SAME_STR(d, &a[i], &b[i], address);
                SAME(d, &a[i], &b[i], prefix);
                SAME_STR(d, &a[i], &b[i], peer);
        }
}

static void compare_routes(Diff *d, const DomainRoute *a, size_t na, const DomainRoute *b, size_t nb) {
        if (na != nb) {
                differ(d, "n_routes");
                return;
        }
        for (size_t i = 0; i < na; i++) {
                SAME(d, &a[i], &b[i], family);
                SAME_STR(d, &a[i], &b[i], address);
                SAME(d, &a[i], &b[i], prefix);
                SAME_STR(d, &a[i], &b[i], gateway);
        }
}

static void compare_interface(Diff *d, const DomainInterface *a, const DomainInterface *b) {
        SAME(d, a, b, type);
        SAME_MEM(d, a, b, mac);
        SAME(d, a, b, has_mac);
        SAME_STR(d, a, b, source);
        SAME(d, a, b, direct_mode);
        SAME_STR(d, a, b, target_dev);
        SAME_STR(d, a, b, guest_dev);
        SAME(d, a, b, link_down);
        SAME(d, a, b, spoofcheck);
        SAME_STR(d, a, b, filterref);
        if (a->n_filter_params != b->n_filter_params)
                differ(d, "n_filter_params");
        else
                for (size_t i = 0; i < a->n_filter_params; i++) {
                        SAME_STR(d, &a->filter_params[i], &b->filter_params[i], name);
                        SAME_STR(d, &a->filter_params[i], &b->filter_params[i], value);
                }
        SAME_STR(d, a, b, lease_address);
        SAME_STR(d, a, b, lease_address6);
        if (a->n_ports != b->n_ports)
                differ(d, "n_ports");
        else
                for (size_t i = 0; i < a->n_ports; i++) {
                        SAME(d, &a->ports[i], &b->ports[i], protocol);
                        SAME(d, &a->ports[i], &b->ports[i], host_port);
                        SAME(d, &a->ports[i], &b->ports[i], container_port);
                        SAME_STR(d, &a->ports[i], &b->ports[i], address);
                }
        SAME(d, a, b, bw_in.average);
        SAME(d, a, b, bw_in.peak);
        SAME(d, a, b, bw_in.burst);
        SAME(d, a, b, bw_in.floor);
        SAME(d, a, b, bw_out.average);
        SAME(d, a, b, bw_out.peak);
        SAME(d, a, b, bw_out.burst);
        SAME(d, a, b, bw_out.floor);
        compare_ips(d, a->ips, a->n_ips, b->ips, b->n_ips);
        compare_routes(d, a->routes, a->n_routes, b->routes, b->n_routes);
        compare_ips(d, a->host_ips, a->n_host_ips, b->host_ips, b->n_host_ips);
        compare_routes(d, a->host_routes, a->n_host_routes, b->host_routes, b->n_host_routes);
}

/* Every field of DomainDef and its sub-structs; keep in step with
 * domain-wire.c (its _Static_assert()s point here too). */
static unsigned compare_defs(const char *what, const DomainDef *a, const DomainDef *b) {
        Diff d = { .what = what };
        size_t na = 0, nb = 0;

        SAME_STR(&d, a, b, name);
        SAME_MEM(&d, a, b, uuid);
        SAME(&d, a, b, uuid_generated);
        SAME_STR(&d, a, b, title);
        SAME_STR(&d, a, b, description);
        SAME(&d, a, b, memory_kib);
        SAME(&d, a, b, current_memory_kib);
        SAME(&d, a, b, hard_limit_kib);
        SAME(&d, a, b, soft_limit_kib);
        SAME(&d, a, b, swap_hard_limit_kib);
        SAME(&d, a, b, vcpus);
        SAME_STR(&d, a, b, cpuset);
        SAME(&d, a, b, cpu_shares);
        SAME(&d, a, b, cpu_period_us);
        SAME(&d, a, b, cpu_quota_us);
        SAME(&d, a, b, blkio_weight);
        SAME(&d, a, b, n_blkio_devices);
        if (a->n_blkio_devices == b->n_blkio_devices)
                for (size_t i = 0; i < a->n_blkio_devices; i++) {
                        SAME_STR(&d, a, b, blkio_devices[i].path);
                        SAME(&d, a, b, blkio_devices[i].weight);
                        SAME(&d, a, b, blkio_devices[i].read_bytes_sec);
                        SAME(&d, a, b, blkio_devices[i].write_bytes_sec);
                        SAME(&d, a, b, blkio_devices[i].read_iops_sec);
                        SAME(&d, a, b, blkio_devices[i].write_iops_sec);
                }
        SAME(&d, a, b, tasks_max);
        SAME(&d, a, b, notify_timeout_sec);
        SAME(&d, a, b, userns_mode);
        SAME(&d, a, b, userns_picked);
        SAME(&d, a, b, syscalls_allowed);
        SAME_STR(&d, a, b, os_type);
        SAME_STR(&d, a, b, init);

        /* NULL and empty are different models. */
        if (!a->init_args != !b->init_args)
                differ(&d, "init_args (NULL vs not)");
        while (a->init_args && a->init_args[na])
                na++;
        while (b->init_args && b->init_args[nb])
                nb++;
        if (na != nb)
                differ(&d, "init_args (count)");
        else
                for (size_t i = 0; i < na; i++)
                        SAME_STR(&d, a, b, init_args[i]);

        SAME(&d, a, b, n_init_env);
        if (a->n_init_env == b->n_init_env)
                for (size_t i = 0; i < a->n_init_env; i++) {
                        SAME_STR(&d, a, b, init_env[i].name);
                        SAME_STR(&d, a, b, init_env[i].value);
                }
        SAME_STR(&d, a, b, init_dir);
        SAME_STR(&d, a, b, init_user);
        SAME_STR(&d, a, b, init_group);

        SAME(&d, a, b, n_uid_map);
        if (a->n_uid_map == b->n_uid_map)
                for (size_t i = 0; i < a->n_uid_map; i++) {
                        SAME(&d, a, b, uid_map[i].start);
                        SAME(&d, a, b, uid_map[i].target);
                        SAME(&d, a, b, uid_map[i].count);
                }
        SAME(&d, a, b, n_gid_map);
        if (a->n_gid_map == b->n_gid_map)
                for (size_t i = 0; i < a->n_gid_map; i++) {
                        SAME(&d, a, b, gid_map[i].start);
                        SAME(&d, a, b, gid_map[i].target);
                        SAME(&d, a, b, gid_map[i].count);
                }

        SAME(&d, a, b, privnet);
        SAME(&d, a, b, cap_policy);
        SAME(&d, a, b, n_cap_toggles);
        if (a->n_cap_toggles == b->n_cap_toggles)
                for (size_t i = 0; i < a->n_cap_toggles; i++) {
                        SAME(&d, a, b, cap_toggles[i].cap);
                        SAME(&d, a, b, cap_toggles[i].on);
                }

        SAME(&d, a, b, on_poweroff);
        SAME(&d, a, b, on_reboot);
        SAME(&d, a, b, on_crash);
        SAME(&d, a, b, n_consoles);

        for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++) {
                SAME(&d, a, b, ns_share[k].type);
                SAME_STR(&d, a, b, ns_share[k].value);
        }
        SAME(&d, a, b, n_filesystems);
        if (a->n_filesystems == b->n_filesystems)
                for (size_t i = 0; i < a->n_filesystems; i++) {
                        SAME(&d, a, b, filesystems[i].type);
                        SAME_STR(&d, a, b, filesystems[i].source);
                        SAME(&d, a, b, filesystems[i].ram_usage_kib);
                        SAME_STR(&d, a, b, filesystems[i].target);
                        SAME(&d, a, b, filesystems[i].readonly);
                        SAME(&d, a, b, filesystems[i].driver);
                        SAME(&d, a, b, filesystems[i].format);
                }
        SAME(&d, a, b, n_interfaces);
        if (a->n_interfaces == b->n_interfaces)
                for (size_t i = 0; i < a->n_interfaces; i++)
                        compare_interface(&d, &a->interfaces[i], &b->interfaces[i]);
        SAME(&d, a, b, n_hostdevs);
        if (a->n_hostdevs == b->n_hostdevs)
                for (size_t i = 0; i < a->n_hostdevs; i++) {
                        SAME(&d, a, b, hostdevs[i].type);
                        SAME_STR(&d, a, b, hostdevs[i].source);
                        SAME(&d, a, b, hostdevs[i].usb_vendor);
                        SAME(&d, a, b, hostdevs[i].usb_product);
                        SAME(&d, a, b, hostdevs[i].usb_bus);
                        SAME(&d, a, b, hostdevs[i].usb_device);
                        SAME(&d, a, b, hostdevs[i].n_ips);
                        for (size_t k = 0; a->hostdevs[i].n_ips == b->hostdevs[i].n_ips && k < a->hostdevs[i].n_ips; k++) {
                                SAME(&d, a, b, hostdevs[i].ips[k].family);
                                SAME_STR(&d, a, b, hostdevs[i].ips[k].address);
                                SAME(&d, a, b, hostdevs[i].ips[k].prefix);
                                SAME_STR(&d, a, b, hostdevs[i].ips[k].peer);
                        }
                        SAME(&d, a, b, hostdevs[i].n_routes);
                        for (size_t k = 0; a->hostdevs[i].n_routes == b->hostdevs[i].n_routes && k < a->hostdevs[i].n_routes; k++) {
                                SAME(&d, a, b, hostdevs[i].routes[k].family);
                                SAME_STR(&d, a, b, hostdevs[i].routes[k].address);
                                SAME(&d, a, b, hostdevs[i].routes[k].prefix);
                                SAME_STR(&d, a, b, hostdevs[i].routes[k].gateway);
                        }
                }
        SAME(&d, a, b, n_disks);
        if (a->n_disks == b->n_disks)
                for (size_t i = 0; i < a->n_disks; i++) {
                        SAME(&d, a, b, disks[i].type);
                        SAME_STR(&d, a, b, disks[i].source);
                        SAME_STR(&d, a, b, disks[i].target);
                        SAME(&d, a, b, disks[i].readonly);
                        SAME(&d, a, b, disks[i].loop_rdev);
                }
        return d.n;
}

/* ---- models ---- */

static char *xstrdup(const char *s) {
        char *r;

        if (!s)
                return NULL;
        r = strdup(s);
        if (!r)
                abort();
        return r;
}

static void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n, size);

        if (!p)
                abort();
        return p;
}

/* What the parser starts from, named. */
static DomainDef *def_new_minimal(void) {
        DomainDef *def = domain_def_new();

        if (!def)
                abort();
        def->name = xstrdup("minimal");
        def->init = xstrdup("/init-MARK");
        return def;
}

static void set_ip(DomainIP *ip, int family, const char *address, unsigned prefix, const char *peer) {
        *ip = (DomainIP) { .family = family, .address = xstrdup(address), .prefix = prefix, .peer = xstrdup(peer) };
}

static void set_route(DomainRoute *rt, int family, const char *address, unsigned prefix, const char *gateway) {
        *rt = (DomainRoute) { .family = family, .address = xstrdup(address), .prefix = prefix, .gateway = xstrdup(gateway) };
}

/* Every field away from its default, and values distinct from each other,
 * so that a field written or read in the wrong place shows. */
static DomainDef *def_new_full(void) {
        DomainDef *def = xcalloc(1, sizeof(DomainDef));
        DomainInterface *i0, *i1, *i2;

        def->name = xstrdup("wire-full.test_1+x");
        for (unsigned i = 0; i < 16; i++)
                def->uuid[i] = (uint8_t) (0xa0 + i);
        def->uuid_generated = true;
        def->title = xstrdup("TITLE-MARK");
        def->description = xstrdup("Some <description> & more\nlines, 'quoted' \"too\" é");
        def->memory_kib = 1048576;
        def->current_memory_kib = 524288;
        def->hard_limit_kib = 900001;
        def->soft_limit_kib = 800002;
        def->swap_hard_limit_kib = 2000003;
        def->vcpus = 3;
        def->cpuset = xstrdup("0-1,3");
        def->cpu_shares = 1024;
        def->cpu_period_us = 100000;
        def->cpu_quota_us = -1;
        def->blkio_weight = 500;
        def->n_blkio_devices = 2;
        def->blkio_devices = xcalloc(2, sizeof(DomainBlkioDevice));
        def->blkio_devices[0] = (DomainBlkioDevice) { .path = xstrdup("/dev/loop7"), .weight = 300, .read_bytes_sec = 1048576 };
        def->blkio_devices[1] = (DomainBlkioDevice) {
                .path = xstrdup("/dev/sdb"), .write_bytes_sec = 2, .read_iops_sec = 3, .write_iops_sec = UINT64_MAX,
        };
        def->tasks_max = 77;
        def->notify_timeout_sec = 42;
        def->userns_mode = USERNS_MODE_PICK;
        def->userns_picked = true;
        def->syscalls_allowed = SYSCALL_GROUP_IO_URING;
        def->os_type = xstrdup("exe");
        def->init = xstrdup("/sbin/init");
        def->init_args = xcalloc(3, sizeof(char *));
        def->init_args[0] = xstrdup("--one");
        def->init_args[1] = xstrdup("  two words ");
        def->n_init_env = 2;
        def->init_env = xcalloc(2, sizeof(DomainEnv));
        def->init_env[0] = (DomainEnv) { xstrdup("HOME"), xstrdup("/root") };
        def->init_env[1] = (DomainEnv) { xstrdup("EMPTY"), xstrdup("") };
        def->init_dir = xstrdup("/srv/app");
        def->init_user = xstrdup("nobody");
        def->init_group = xstrdup("nogroup");
        def->n_uid_map = 2;
        def->uid_map = xcalloc(2, sizeof(DomainIdmap));
        def->uid_map[0] = (DomainIdmap) { 0, 100000, 65536 };
        def->uid_map[1] = (DomainIdmap) { 70000, 4000000000u, 5 };
        def->n_gid_map = 2;
        def->gid_map = xcalloc(2, sizeof(DomainIdmap));
        def->gid_map[0] = (DomainIdmap) { 1, 200000, 1000 };
        def->gid_map[1] = (DomainIdmap) { 2000, 300000, 10 };
        def->privnet = true;
        def->cap_policy = CAP_POLICY_DENY;
        def->n_cap_toggles = 2;
        def->cap_toggles = xcalloc(2, sizeof(DomainCapToggle));
        def->cap_toggles[0] = (DomainCapToggle) { .cap = 12, .on = true };
        def->cap_toggles[1] = (DomainCapToggle) { .cap = 40, .on = false };
        def->on_poweroff = LIFECYCLE_PRESERVE;
        def->on_reboot = LIFECYCLE_RENAME_RESTART;
        def->on_crash = LIFECYCLE_RESTART;
        def->n_consoles = 2;
        def->ns_share[NS_SHARE_NET] = (DomainNsShare) { NS_SHARE_NETNS, xstrdup("red") };
        def->ns_share[NS_SHARE_UTS] = (DomainNsShare) { NS_SHARE_PID, xstrdup("4242") };

        def->n_filesystems = 3;
        def->filesystems = xcalloc(3, sizeof(DomainFilesystem));
        def->filesystems[0] = (DomainFilesystem) {
                .type = FILESYSTEM_BIND, .source = xstrdup("/data"), .ram_usage_kib = 7,
                .target = xstrdup("/mnt/data"), .readonly = true,
        };
        def->filesystems[1] = (DomainFilesystem) {
                .type = FILESYSTEM_RAM, .ram_usage_kib = 65536, .target = xstrdup("/tmp"),
        };
        def->filesystems[2] = (DomainFilesystem) {
                .type = FILESYSTEM_FILE, .source = xstrdup("/images/root.qcow2"), .target = xstrdup("/"),
                .driver = FILESYSTEM_DRIVER_NBD, .format = IMAGE_FORMAT_QCOW2,
        };

        def->n_interfaces = 3;
        def->interfaces = xcalloc(3, sizeof(DomainInterface));
        i0 = &def->interfaces[0];
        i1 = &def->interfaces[1];
        *i0 = (DomainInterface) {
                .type = INTERFACE_NETWORK, .mac = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc }, .has_mac = true,
                .source = xstrdup("default"), .direct_mode = DIRECT_MODE_PASSTHROUGH,
                .target_dev = xstrdup("vnet7"), .guest_dev = xstrdup("eth1"), .link_down = true,
                .spoofcheck = SPOOFCHECK_OFF, .lease_address = xstrdup("192.168.124.9"),
                .lease_address6 = xstrdup("fd71::1:42"),
                .bw_in = { .average = 1024, .peak = 2048, .burst = 512, .floor = 256 },
                .bw_out = { .average = 3, .peak = 5, .burst = 7, .floor = 11 },
                .n_ips = 2, .ips = xcalloc(2, sizeof(DomainIP)),
                .n_routes = 2, .routes = xcalloc(2, sizeof(DomainRoute)),
        };
        set_ip(&i0->ips[0], AF_INET, "10.0.0.2", 32, "10.0.0.1");
        set_ip(&i0->ips[1], AF_INET6, "fd00::2", 128, NULL);
        set_route(&i0->routes[0], AF_INET, "192.168.0.0", 16, "10.0.0.1");
        set_route(&i0->routes[1], AF_INET6, "::", 0, "fd00::1");
        i0->n_ports = 2;
        i0->ports = xcalloc(2, sizeof(DomainPort));
        i0->ports[0] = (DomainPort) { .protocol = PORT_PROTOCOL_UDP, .host_port = 5353, .container_port = 53,
                                      .address = xstrdup("::1") };
        i0->ports[1] = (DomainPort) { .protocol = PORT_PROTOCOL_TCP, .host_port = 65535, .container_port = 1 };
        i0->filterref = xstrdup("clean-traffic");
        i0->n_filter_params = 2;
        i0->filter_params = xcalloc(2, sizeof(DomainFilterParam));
        i0->filter_params[0] = (DomainFilterParam) { .name = xstrdup("IP"), .value = xstrdup("10.0.0.7") };
        i0->filter_params[1] = (DomainFilterParam) { .name = xstrdup("CTRL_IP_LEARNING"), .value = xstrdup("none") };
        *i1 = (DomainInterface) {
                .type = INTERFACE_DIRECT, .mac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 }, .has_mac = false,
                .source = xstrdup("eth0"), .direct_mode = DIRECT_MODE_BRIDGE,
                .guest_dev = xstrdup("eth2"), .spoofcheck = SPOOFCHECK_ON,
                .n_ips = 2, .ips = xcalloc(2, sizeof(DomainIP)),
                .n_routes = 2, .routes = xcalloc(2, sizeof(DomainRoute)),
        };
        set_ip(&i1->ips[0], AF_INET, "172.16.5.5", 12, NULL);
        set_ip(&i1->ips[1], AF_INET6, "fe80::1", 64, "fe80::2");
        set_route(&i1->routes[0], AF_INET, "0.0.0.0", 0, "172.16.0.1");
        set_route(&i1->routes[1], AF_INET6, "2001:db8::", 32, "fe80::2");
        i2 = &def->interfaces[2];
        *i2 = (DomainInterface) {
                .type = INTERFACE_ETHERNET, .target_dev = xstrdup("vnet9"),
                .n_host_ips = 2, .host_ips = xcalloc(2, sizeof(DomainIP)),
                .n_host_routes = 1, .host_routes = xcalloc(1, sizeof(DomainRoute)),
        };
        set_ip(&i2->host_ips[0], AF_INET, "192.168.123.1", 24, NULL);
        set_ip(&i2->host_ips[1], AF_INET6, "fd01::1", 64, "fd01::2");
        set_route(&i2->host_routes[0], AF_INET, "192.168.42.0", 24, "192.168.123.4");

        def->n_hostdevs = 4;
        def->hostdevs = xcalloc(4, sizeof(DomainHostdev));
        def->hostdevs[0] = (DomainHostdev) { .type = HOSTDEV_STORAGE, .source = xstrdup("/dev/sdf1") };
        def->hostdevs[1] = (DomainHostdev) { .type = HOSTDEV_MISC, .source = xstrdup("/dev/input/event3") };
        def->hostdevs[2] = (DomainHostdev) {
                .type = HOSTDEV_NET, .source = xstrdup("eth9"),
                .n_ips = 1, .ips = xcalloc(1, sizeof(DomainIP)), .n_routes = 1, .routes = xcalloc(1, sizeof(DomainRoute)),
        };
        set_ip(&def->hostdevs[2].ips[0], AF_INET6, "2003:db8:1::2", 24, NULL);
        set_route(&def->hostdevs[2].routes[0], AF_INET, "10.1.0.0", 16, "192.168.122.1");
        def->hostdevs[3] = (DomainHostdev) {
                .type = HOSTDEV_USB, .usb_vendor = 0x1d6b, .usb_product = 0x0002, .usb_bus = 3, .usb_device = 65535,
        };
        def->n_disks = 2;
        def->disks = xcalloc(2, sizeof(DomainDisk));
        def->disks[0] = (DomainDisk) { .type = DISK_BLOCK, .source = xstrdup("/dev/loop7"), .target = xstrdup("sdb") };
        def->disks[1] = (DomainDisk) {
                .type = DISK_FILE, .source = xstrdup("/var/img/a.raw"), .target = xstrdup("vdc"), .readonly = true,
                .loop_rdev = (7ULL << 8) | 3,
        };
        return def;
}

/* ---- round trip ---- */

static bool bytes_equal(const void *a, size_t na, const void *b, size_t nb) {
        return na == nb && memcmp(a, b, na) == 0;
}

/* def → wire → model → wire; the decoded model must equal def field by
 * field (and in its formatted text), the second buffer the first. Returns
 * the first buffer, or NULL after a failed check. */
static void *round_trip(const char *what, const DomainDef *def, char *const *bridges, size_t *ret_size) {
        _cleanup_free_ void *wire = NULL, *wire2 = NULL;
        _cleanup_(domain_def_freep) DomainDef *back = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        char **back_bridges = NULL;
        size_t size = 0, size2 = 0;
        bool bridges_ok = true;
        int r;

        r = domain_def_to_wire(def, bridges, &wire, &size);
        check(r == 0, "%s: to_wire: %s", what, strerror(-r));
        if (r < 0)
                return NULL;
        r = domain_def_from_wire(wire, size, &back, &back_bridges);
        check(r == 0, "%s: from_wire of a fresh buffer (%zu bytes): %s", what, size, strerror(-r));
        if (r < 0)
                return NULL;

        check(compare_defs(what, def, back) == 0, "%s: the decoded model differs", what);
        for (size_t i = 0; i < def->n_interfaces; i++)
                if (!streq_ptr(bridges ? bridges[i] : NULL, back_bridges[i]))
                        bridges_ok = false;
        check(bridges_ok, "%s: the decoded bridges differ", what);
        domain_wire_bridges_free(back_bridges, back->n_interfaces);

        text = domain_def_format(def, 0);
        text2 = domain_def_format(back, 0);
        check(text && text2 && streq(text, text2), "%s: the decoded model formats differently:\n%s---\n%s",
              what, strna(text), strna(text2));

        r = domain_def_to_wire(back, bridges, &wire2, &size2);
        check(r == 0 && bytes_equal(wire, size, wire2, size2), "%s: the decoded model encodes to other bytes (%zu vs %zu)",
              what, size, size2);

        /* Without asking for the bridges. */
        back = domain_def_free(back);
        r = domain_def_from_wire(wire, size, &back, NULL);
        check(r == 0, "%s: from_wire without ret_bridges: %s", what, strerror(-r));

        *ret_size = size;
        return TAKE_PTR(wire);
}

/* Decodes a copy of exactly size bytes, so that ASan sees any read past it. */
static int decode_exact(const void *data, size_t size, DomainDef **ret, char ***ret_bridges) {
        _cleanup_free_ void *copy = malloc(size > 0 ? size : 1);

        if (!copy)
                abort();
        memcpy(copy, data, size);
        return domain_def_from_wire(copy, size, ret, ret_bridges);
}

/* Truncations, one extra byte, and every byte changed to several values. */
static void damage(const char *what, const uint8_t *wire, size_t size) {
        static const uint8_t xors[] = { 0x01, 0x80, 0xff };
        static const uint8_t sets[] = { 0x00, 0x7f, 0xff };
        _cleanup_free_ uint8_t *buf = xcalloc(size + 1, 1);
        unsigned before = checks, decoded = 0;

        for (size_t n = 0; n < size; n++) {
                DomainDef *def = NULL;
                int r = decode_exact(wire, n, &def, NULL);
                check(r == -EBADMSG, "%s: the first %zu of %zu bytes: %d", what, n, size, r);
                domain_def_free(def);
        }

        memcpy(buf, wire, size);
        buf[size] = 0;
        {
                DomainDef *def = NULL;
                int r = decode_exact(buf, size + 1, &def, NULL);
                check(r == -EBADMSG, "%s: one byte more: %d", what, r);
                domain_def_free(def);
        }

        for (size_t i = 0; i < size; i++)
                for (size_t k = 0; k < ELEMENTSOF(xors) + ELEMENTSOF(sets); k++) {
                        DomainDef *def = NULL;
                        char **bridges = NULL;
                        int r;

                        memcpy(buf, wire, size);
                        buf[i] = k < ELEMENTSOF(xors) ? wire[i] ^ xors[k] : sets[k - ELEMENTSOF(xors)];
                        if (buf[i] == wire[i])
                                continue;
                        r = decode_exact(buf, size, &def, &bridges);
                        if (r == 0) {
                                _cleanup_free_ void *again = NULL;
                                _cleanup_free_ char *text = NULL;
                                size_t again_size = 0;

                                /* Accepted: then it is the encoding of what it decoded to. */
                                decoded++;
                                r = domain_def_to_wire(def, bridges, &again, &again_size);
                                check(r == 0 && bytes_equal(buf, size, again, again_size),
                                      "%s: byte %zu set to 0x%02x decodes, but encodes back differently", what, i, buf[i]);
                                /* n_consoles is a bare number (no bytes per console to
                                 * bound it): a changed one would print billions of lines. */
                                if (def->n_consoles <= 64) {
                                        text = domain_def_format(def, 0);
                                        check(text, "%s: byte %zu set to 0x%02x: the model does not format", what, i, buf[i]);
                                }
                                domain_wire_bridges_free(bridges, def->n_interfaces);
                                domain_def_free(def);
                        } else
                                check(r == -EBADMSG, "%s: byte %zu set to 0x%02x: %d", what, i, buf[i], r);
                }

        printf("ok - %s: %zu bytes, truncated, extended and changed: %u checks (%u changes still decode)\n",
               what, size, checks - before, decoded);
}

/* ---- hand-made malformed buffers ---- */

/* def encoded, then expected to be refused. */
static void refused_model(const char *what, DomainDef *def) {
        _cleanup_(domain_def_freep) DomainDef *owned = def, *back = NULL;
        _cleanup_free_ void *wire = NULL;
        size_t size = 0;
        int r;

        r = domain_def_to_wire(owned, NULL, &wire, &size);
        check(r == 0, "%s: to_wire: %d", what, r);
        if (r < 0)
                return;
        r = decode_exact(wire, size, &back, NULL);
        check(r == -EBADMSG, "refused: %s (got %d)", what, r);
}

static uint8_t *find(uint8_t *wire, size_t size, const char *marker) {
        uint8_t *p = memmem(wire, size, marker, strlen(marker));

        if (!p) {
                printf("# marker '%s' not in the buffer\n", marker);
                abort();
        }
        return p;
}

static void refused_bytes(const char *what, const uint8_t *buf, size_t size) {
        DomainDef *def = NULL;
        int r = decode_exact(buf, size, &def, NULL);

        check(r == -EBADMSG, "refused: %s (got %d)", what, r);
        domain_def_free(def);
}

static void set_str(char **field, const char *value) {
        free(*field);
        *field = xstrdup(value);
}

static void add_cap_toggle(DomainDef *def, int cap) {
        def->cap_toggles = reallocarray(def->cap_toggles, def->n_cap_toggles + 1, sizeof(DomainCapToggle));
        if (!def->cap_toggles)
                abort();
        def->cap_toggles[def->n_cap_toggles++] = (DomainCapToggle) { .cap = cap, .on = true };
}

/* A model from def_new_BASE(), changed by the statements, must be refused. */
#define REFUSED(base, what, ...)                        \
        do {                                            \
                DomainDef *d = def_new_##base();        \
                __VA_ARGS__;                            \
                refused_model(what, d);                 \
        } while (0)

static void test_malformed(void) {
        unsigned before = checks;

        REFUSED(minimal, "on_crash out of range", d->on_crash = _LIFECYCLE_ACTION_MAX);
        REFUSED(minimal, "on_poweroff far out of range", d->on_poweroff = (LifecycleAction) 0x7fffffff);
        REFUSED(minimal, "cap_policy out of range", d->cap_policy = (CapPolicy) (CAP_POLICY_DENY + 1));
        REFUSED(minimal, "name NULL", set_str(&d->name, NULL));
        REFUSED(minimal, "name '..'", set_str(&d->name, ".."));
        REFUSED(minimal, "name with a slash", set_str(&d->name, "a/b"));
        REFUSED(minimal, "init NULL", set_str(&d->init, NULL));
        REFUSED(minimal, "capability 64", add_cap_toggle(d, 64));
        REFUSED(minimal, "capability -1", add_cap_toggle(d, -1));
        REFUSED(minimal, "initenv value NULL",
                d->n_init_env = 1, d->init_env = xcalloc(1, sizeof(DomainEnv)), d->init_env[0].name = xstrdup("X"));

        /* Sub-structs: the full model with one field broken. */
        REFUSED(full, "shared namespace without a value", set_str(&d->ns_share[NS_SHARE_NET].value, NULL));
        REFUSED(full, "netns type for shareuts", d->ns_share[NS_SHARE_UTS].type = NS_SHARE_NETNS);
        REFUSED(full, "share type out of range", d->ns_share[NS_SHARE_IPC].type = _NS_SHARE_TYPE_MAX);
        REFUSED(full, "filesystem type out of range", d->filesystems[0].type = _FILESYSTEM_TYPE_MAX);
        REFUSED(full, "filesystem target NULL", set_str(&d->filesystems[0].target, NULL));
        REFUSED(full, "bind without source", set_str(&d->filesystems[0].source, NULL));
        REFUSED(full, "ram with a source", set_str(&d->filesystems[1].source, "/x"));
        REFUSED(full, "file without a driver", d->filesystems[2].driver = FILESYSTEM_DRIVER_DEFAULT);
        REFUSED(full, "bind with a driver", d->filesystems[0].driver = FILESYSTEM_DRIVER_LOOP);
        REFUSED(full, "interface type out of range", d->interfaces[1].type = _INTERFACE_TYPE_MAX);
        REFUSED(full, "direct mode out of range", d->interfaces[1].direct_mode = _DIRECT_MODE_MAX);
        REFUSED(full, "network without source", set_str(&d->interfaces[0].source, NULL));
        REFUSED(full, "filter parameters without a filterref", set_str(&d->interfaces[0].filterref, NULL));
        REFUSED(full, "filterref on a direct interface", set_str(&d->interfaces[1].filterref, "clean-traffic"));
        REFUSED(full, "hostdev type out of range", d->hostdevs[0].type = _HOSTDEV_TYPE_MAX);
        REFUSED(full, "storage hostdev without source", set_str(&d->hostdevs[0].source, NULL));
        REFUSED(full, "usb hostdev with a source", set_str(&d->hostdevs[3].source, "/dev/x"));
        REFUSED(full, "hostdev address on a storage hostdev", {
                d->hostdevs[0].ips = d->hostdevs[2].ips;
                d->hostdevs[0].n_ips = 1;
                d->hostdevs[2].ips = NULL;
                d->hostdevs[2].n_ips = 0;
        });
        REFUSED(full, "usb hostdev without id or address", d->hostdevs[3].usb_vendor = d->hostdevs[3].usb_bus = 0);
        REFUSED(full, "disk type out of range", d->disks[1].type = _DISK_TYPE_MAX);
        REFUSED(full, "a block disk with a loop device", d->disks[0].loop_rdev = 1);
        REFUSED(full, "disk target with a slash", set_str(&d->disks[0].target, "../sda"));
        REFUSED(full, "ethernet with a source", d->interfaces[0].type = INTERFACE_ETHERNET);
        REFUSED(full, "ip family 0", d->interfaces[0].ips[0].family = 0);
        REFUSED(full, "route family AF_UNIX", d->interfaces[0].routes[1].family = AF_UNIX);
        REFUSED(full, "ipv4 prefix 33", d->interfaces[0].ips[0].prefix = 33);
        REFUSED(full, "ipv6 prefix 129", d->interfaces[0].ips[1].prefix = 129);
        REFUSED(full, "ipv6 route prefix 2^32-1", d->interfaces[1].routes[1].prefix = UINT32_MAX);
        REFUSED(full, "ip address NULL", set_str(&d->interfaces[1].ips[0].address, NULL));
        REFUSED(full, "host ip family 0", d->interfaces[2].host_ips[0].family = 0);
        REFUSED(full, "host route gateway NULL", set_str(&d->interfaces[2].host_routes[0].gateway, NULL));
        REFUSED(full, "host ip on a direct interface",
                (d->interfaces[2].type = INTERFACE_DIRECT, set_str(&d->interfaces[2].source, "eth0")));
        REFUSED(full, "route gateway NULL", set_str(&d->interfaces[1].routes[0].gateway, NULL));
        REFUSED(full, "route address NULL", set_str(&d->interfaces[1].routes[0].address, NULL));

        /* Byte surgery on valid buffers. */
        {
                _cleanup_(domain_def_freep) DomainDef *full = def_new_full(), *minimal = def_new_minimal();
                _cleanup_free_ uint8_t *wire = NULL, *mwire = NULL;
                uint8_t *p;
                size_t size, msize;
                uint32_t v;

                if (domain_def_to_wire(full, NULL, (void **) &wire, &size) < 0 ||
                    domain_def_to_wire(minimal, NULL, (void **) &mwire, &msize) < 0)
                        abort();

                wire[0] ^= 0x20;
                refused_bytes("bad magic", wire, size);
                wire[0] ^= 0x20;
                wire[4]++;
                refused_bytes("version + 1", wire, size);
                wire[4]--;

                /* "TITLE-MARK" with a NUL inside, then with a huge length. */
                p = find(wire, size, "TITLE-MARK");
                p[3] = 0;
                refused_bytes("a string with a NUL", wire, size);
                p[3] = 'L';
                v = UINT32_MAX - 1;
                memcpy(p - 4, &v, 4);
                refused_bytes("a string length past the end", wire, size);
                v = (uint32_t) strlen("TITLE-MARK");
                memcpy(p - 4, &v, 4);

                /* uuid_generated (after magic, version, name, uuid) set to 2. */
                p = wire + 4 + 4 + 4 + strlen(full->name) + 16;
                check(*p == 1, "uuid_generated is where the layout says");
                *p = 2;
                refused_bytes("bool 2", wire, size);
                *p = 1;
                {
                        /* The surgery above undone: the buffer is valid again. */
                        DomainDef *back = NULL;
                        int r = decode_exact(wire, size, &back, NULL);
                        check(r == 0, "the repaired buffer decodes: %d", r);
                        domain_def_free(back);
                }

                /* The minimal model: init_args (NULL) follow "/init-MARK"; the
                 * buffer ends with the filesystem and interface counts. */
                p = find(mwire, msize, "/init-MARK") + strlen("/init-MARK");
                memcpy(&v, p, 4);
                check(v == UINT32_MAX, "init_args NULL is UINT32_MAX");
                v = 0x10000000;
                memcpy(p, &v, 4);
                refused_bytes("init_args count 2^28", mwire, msize);
                v = UINT32_MAX - 1;
                memcpy(p, &v, 4);
                refused_bytes("init_args count 2^32-2", mwire, msize);
                v = UINT32_MAX;
                memcpy(p, &v, 4);

                p = mwire + msize - 4;
                memcpy(&v, p, 4);
                check(v == 0, "the minimal buffer ends with n_interfaces");
                v = 1;
                memcpy(p, &v, 4);
                refused_bytes("n_interfaces 1 without the interface", mwire, msize);
                v = 0x7fffffff;
                memcpy(p, &v, 4);
                refused_bytes("n_interfaces 2^31-1", mwire, msize);
                v = 0;
                memcpy(p, &v, 4);
                v = 0xffffff;
                memcpy(p - 4, &v, 4);
                refused_bytes("n_filesystems 2^24-1", mwire, msize);
        }

        printf("ok - malformed models and buffers: %u checks\n", checks - before);
}

/* ---- the good documents ---- */

/* Root element <domain>, after an XML declaration and comments. */
static bool is_domain_document(const char *s) {
        for (;;) {
                while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
                        s++;
                if (startswith(s, "<?")) {
                        s = strstr(s, "?>");
                        if (!s)
                                return false;
                        s += 2;
                } else if (startswith(s, "<!--")) {
                        s = strstr(s, "-->");
                        if (!s)
                                return false;
                        s += 3;
                } else
                        break;
        }
        return startswith(s, "<domain") && strchr(" \t\r\n/>", s[strlen("<domain")]);
}

static bool is_input_document(const char *file) {
        size_t n = strlen(file);

        return n > 4 && streq(file + n - 4, ".xml") && !(n > 8 && streq(file + n - 8, ".out.xml"));
}

typedef struct GoodDoc {
        char *name;
        DomainDef *def;
        size_t xml_size;
} GoodDoc;

static int compare_docs(const void *a, const void *b) {
        return strcmp(((const GoodDoc *) a)->name, ((const GoodDoc *) b)->name);
}

/* The <domain> documents of tests/xml/good, parsed, sorted by name. */
static size_t load_good(GoodDoc **ret) {
        const char *dir = TEST_SOURCE_DIR "/tests/xml/good";
        GoodDoc *docs = NULL;
        size_t n = 0;
        DIR *d = opendir(dir);
        struct dirent *de;

        check(d, "opendir %s: %m", dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                size_t size = 0;
                DomainDef *def = NULL;
                XmlDiag diag = {};
                int r;

                if (!is_input_document(de->d_name))
                        continue;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        abort();
                r = read_full_file(path, &text, &size);
                check(r == 0, "read %s: %s", path, strerror(-r));
                if (r < 0 || !is_domain_document(text))
                        continue;
                r = domain_def_parse_file(path, &def, &diag);
                check(r == 0, "parse %s: %s", path, strna(diag.error));
                xml_diag_done(&diag);
                if (r < 0)
                        continue;
                docs = reallocarray(docs, n + 1, sizeof(GoodDoc));
                if (!docs)
                        abort();
                docs[n++] = (GoodDoc) { .name = xstrdup(de->d_name), .def = def, .xml_size = size };
        }
        closedir(d);
        check(n >= 10, "only %zu good domain documents found in %s", n, dir);
        if (n > 0)
                qsort(docs, n, sizeof(GoodDoc), compare_docs);
        *ret = docs;
        return n;
}

static void free_good(GoodDoc *docs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(docs[i].name);
                domain_def_free(docs[i].def);
        }
        free(docs);
}

static int write_corpus(const char *dir, GoodDoc *docs, size_t n) {
        char *const bridges[] = { "virbr0", NULL, NULL }; /* one per interface of def_new_full() */
        DomainDef *full = def_new_full();
        int r = 0;

        for (size_t i = 0; i <= n && r >= 0; i++) {
                const DomainDef *def = i < n ? docs[i].def : full;
                _cleanup_free_ char *path = NULL;
                _cleanup_free_ void *wire = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                size_t size;

                r = domain_def_to_wire(def, i < n ? NULL : bridges, &wire, &size);
                if (r < 0)
                        break;
                if (asprintf(&path, "%s/%s.wire", dir, i < n ? docs[i].name : "hand-built-full") < 0)
                        abort();
                f = fopen(path, "we");
                if (!f || fwrite(wire, 1, size, f) != size || fflush(f) != 0)
                        r = -errno;
        }
        domain_def_free(full);
        if (r < 0)
                fprintf(stderr, "Failed to write the wire corpus to %s: %s\n", dir, strerror(-r));
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        GoodDoc *docs = NULL;
        size_t n_docs, largest = 0;

        n_docs = load_good(&docs);
        if (argc == 3 && streq(argv[1], "--write-corpus")) {
                int r = write_corpus(argv[2], docs, n_docs);
                free_good(docs, n_docs);
                return failures ? EXIT_FAILURE : r;
        }

        for (size_t i = 0; i < n_docs; i++) {
                _cleanup_free_ void *wire = NULL;
                size_t size = 0;
                unsigned before = checks;

                wire = round_trip(docs[i].name, docs[i].def, NULL, &size);
                if (!wire)
                        continue;
                printf("ok - %s: %zu bytes of XML, %zu of wire form, round trip: %u checks\n",
                       docs[i].name, docs[i].xml_size, size, checks - before);
                if (docs[i].xml_size > docs[largest].xml_size)
                        largest = i;
                damage(docs[i].name, wire, size);
        }

        {
                char *const bridges[] = { "virbr0", NULL, NULL }; /* one per interface of def_new_full() */
                char *const all_null[] = { NULL, NULL, NULL };
                _cleanup_(domain_def_freep) DomainDef *full = def_new_full(), *minimal = def_new_minimal();
                _cleanup_free_ void *wire = NULL, *w2 = NULL, *w3 = NULL, *w4 = NULL;
                size_t size = 0, s2 = 0;
                unsigned before = checks;

                wire = round_trip("hand-built, every field", full, bridges, &size);
                w2 = round_trip("hand-built, bridges all NULL", full, all_null, &s2);
                w3 = round_trip("hand-built, no bridges", full, NULL, &s2);
                w4 = round_trip("minimal, init_args NULL", minimal, NULL, &s2);
                free(w4);
                minimal->init_args = xcalloc(1, sizeof(char *));
                w4 = round_trip("minimal, init_args empty", minimal, NULL, &s2);
                printf("ok - hand-built models round trip: %u checks\n", checks - before);
                if (wire)
                        damage("hand-built, every field", wire, size);
        }

        test_malformed();

        if (n_docs > 0)
                printf("# largest good document: %s, %zu bytes of XML\n", docs[largest].name, docs[largest].xml_size);
        free_good(docs, n_docs);
        printf("%u checks, %u failed\n", checks, failures);
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
