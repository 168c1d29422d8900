/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vivctl domxml-from-native lxc-tools FILE: an LXC container configuration
 * (lxc-tools' "key = value" lines) as domain XML, for the keys that libvirt's
 * LXC driver converts, with its defaults (64 MiB, /sbin/init, a private
 * network with only loopback when no network is configured). Both spellings
 * of LXC's keys are read: the 1.x ones (lxc.utsname, lxc.network.*,
 * lxc.id_map, lxc.rootfs) and the 2.1+ ones (lxc.uts.name, lxc.net.N.*,
 * lxc.idmap, lxc.rootfs.path). Keys with no domain XML counterpart are
 * ignored, as libvirt ignores them; values that cannot be converted are an
 * error naming the line. Offline: no daemon, no root. */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define NATIVE_MAX_NETS 32
#define NATIVE_MAX_BLKIO_DEVICES 64

/* The per-device values of <blkiotune><device>, in the order libvirt
 * writes them; 0 is "not set", as there. */
typedef enum BlkioField {
        BLKIO_WEIGHT,
        BLKIO_READ_IOPS,
        BLKIO_WRITE_IOPS,
        BLKIO_READ_BPS,
        BLKIO_WRITE_BPS,
        _BLKIO_FIELD_MAX,
} BlkioField;

static const char *const blkio_element[_BLKIO_FIELD_MAX] = {
        [BLKIO_WEIGHT] = "weight",
        [BLKIO_READ_IOPS] = "read_iops_sec",
        [BLKIO_WRITE_IOPS] = "write_iops_sec",
        [BLKIO_READ_BPS] = "read_bytes_sec",
        [BLKIO_WRITE_BPS] = "write_bytes_sec",
};

/* One device of lxc.cgroup.blkio.*_device lines, by its numbers: libvirt
 * names it /dev/block/MAJOR:MINOR. */
typedef struct NativeBlkioDevice {
        unsigned major, minor;
        uint64_t v[_BLKIO_FIELD_MAX];
} NativeBlkioDevice;

typedef struct NativeNet {
        const char *type, *link, *hwaddr, *flags, *name, *pair, *macvlan_mode, *vlan_id;
        const char *gateway4, *gateway6;
        const char *ips[16];
        bool ip6[16];
        size_t n_ips;
        bool used;
} NativeNet;

typedef struct NativeConfig {
        const char *file;
        const char *name, *rootfs, *init, *arch, *tty;
        const char *mem_limit, *mem_soft, *memsw;
        const char *cpu_shares, *cfs_quota, *cfs_period, *cpuset_cpus, *blkio_weight;
        char *cap_drop;                 /* space-separated, all lxc.cap.drop lines */
        const char **mounts;            /* lxc.mount.entry values, in order */
        unsigned *mount_lines;
        size_t n_mounts;
        const char **idmaps;
        unsigned *idmap_lines;
        size_t n_idmaps;
        NativeBlkioDevice blkio[NATIVE_MAX_BLKIO_DEVICES];
        size_t n_blkio;                 /* devices of lxc.cgroup.blkio.*_device, lxc.cgroup2.io.max */
        NativeNet nets[NATIVE_MAX_NETS];
        size_t n_nets;                  /* legacy lxc.network.*: one per lxc.network.type */
        bool net_configured;            /* some lxc.net(work).type was given */
} NativeConfig;

static void native_config_done(NativeConfig *n) {
        free(n->cap_drop);
        free(n->mounts);
        free(n->mount_lines);
        free(n->idmaps);
        free(n->idmap_lines);
}

static int append_value(const char ***list, unsigned **lines, size_t *n, const char *v, unsigned line) {
        const char **l = realloc(*list, (*n + 1) * sizeof(char *));
        if (!l)
                return -ENOMEM;
        *list = l;
        unsigned *ln = realloc(*lines, (*n + 1) * sizeof(unsigned));
        if (!ln)
                return -ENOMEM;
        *lines = ln;
        l[*n] = v;
        ln[*n] = line;
        (*n)++;
        return 0;
}

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t l = strlen(s);
        while (l > 0 && isspace((unsigned char) s[l - 1]))
                s[--l] = 0;
        return s;
}

/* One network key, KEY being what follows "lxc.network." or "lxc.net.N.". */
static int native_net_key(NativeConfig *n, NativeNet *net, const char *key, const char *v, unsigned line) {
        if (streq(key, "type"))
                net->type = v;
        else if (streq(key, "link"))
                net->link = v;
        else if (streq(key, "hwaddr"))
                net->hwaddr = v;
        else if (streq(key, "flags"))
                net->flags = v;
        else if (streq(key, "name"))
                net->name = v;
        else if (streq(key, "veth.pair"))
                net->pair = v;
        else if (streq(key, "macvlan.mode"))
                net->macvlan_mode = v;
        else if (streq(key, "vlan.id"))
                net->vlan_id = v;
        else if (streq(key, "ipv4") || streq(key, "ipv4.address") || streq(key, "ipv6") || streq(key, "ipv6.address")) {
                if (net->n_ips >= ELEMENTSOF(net->ips))
                        return ctl_error(-E2BIG, "%s:%u: too many addresses for one interface", n->file, line);
                net->ip6[net->n_ips] = startswith(key, "ipv6") != NULL;
                net->ips[net->n_ips++] = v;
        } else if (streq(key, "ipv4.gateway"))
                net->gateway4 = v;
        else if (streq(key, "ipv6.gateway"))
                net->gateway6 = v;
        /* others (script.up, mtu, ...): nothing in the domain XML */
        net->used = true;
        return 0;
}

/* The device MAJOR:MINOR of the configuration, added at the first line
 * that names it (a device keeps the values of all its lines, as in
 * libvirt). */
static int blkio_device(NativeConfig *n, const char *key, const char *v, unsigned line, const char **ret_rest,
                        NativeBlkioDevice **ret) {
        unsigned major, minor;
        int used = 0;

        const char *colon = strchr(v, ':');

        if (!isdigit((unsigned char) v[0]) || !colon || !isdigit((unsigned char) colon[1]) ||
            sscanf(v, "%u:%u%n", &major, &minor, &used) != 2 || (v[used] != 0 && !isspace((unsigned char) v[used])))
                return ctl_error(-EINVAL, "%s:%u: invalid %s value '%s': expected 'MAJOR:MINOR VALUE'", n->file, line, key, v);
        for (size_t i = 0; i < n->n_blkio; i++)
                if (n->blkio[i].major == major && n->blkio[i].minor == minor) {
                        *ret = &n->blkio[i];
                        *ret_rest = v + used;
                        return 0;
                }
        if (n->n_blkio >= NATIVE_MAX_BLKIO_DEVICES)
                return ctl_error(-E2BIG, "%s:%u: more than %d blkio devices", n->file, line, NATIVE_MAX_BLKIO_DEVICES);
        *ret = &n->blkio[n->n_blkio++];
        **ret = (NativeBlkioDevice) { .major = major, .minor = minor };
        *ret_rest = v + used;
        return 0;
}

/* A decimal in [min, max] and nothing after it but blanks. */
static bool parse_u64_in(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        char *end;

        s += strspn(s, " \t");
        if (!isdigit((unsigned char) *s))
                return false;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (errno != 0 || x < min || x > max || end[strspn(end, " \t")] != 0)
                return false;
        *ret = x;
        return true;
}

/* lxc.cgroup.blkio.weight_device (the kernel's name of the file; libvirt
 * reads it as device_weight) and blkio.throttle.{read,write}_{bps,iops}_device:
 * "MAJOR:MINOR VALUE", libvirt's <blkiotune><device>. */
static int native_blkio_key(NativeConfig *n, const char *key, const char *v, unsigned line) {
        static const struct {
                const char *key;
                BlkioField field;
        } keys[] = {
                { "lxc.cgroup.blkio.weight_device", BLKIO_WEIGHT },
                { "lxc.cgroup.blkio.device_weight", BLKIO_WEIGHT },
                { "lxc.cgroup.blkio.throttle.read_bps_device", BLKIO_READ_BPS },
                { "lxc.cgroup.blkio.throttle.write_bps_device", BLKIO_WRITE_BPS },
                { "lxc.cgroup.blkio.throttle.read_iops_device", BLKIO_READ_IOPS },
                { "lxc.cgroup.blkio.throttle.write_iops_device", BLKIO_WRITE_IOPS },
        };
        NativeBlkioDevice *d;
        const char *rest;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (!streq(key, keys[i].key))
                        continue;
                r = blkio_device(n, key, v, line, &rest, &d);
                if (r < 0)
                        return r;
                bool weight = keys[i].field == BLKIO_WEIGHT;
                uint64_t x;
                /* a weight of 0 in weight_device removes the device's rule:
                 * "not set", as 0 in a throttle file */
                if (!parse_u64_in(rest, 0, weight ? 1000 : UINT64_MAX, &x) || (weight && x > 0 && x < 10))
                        return ctl_error(-EINVAL, "%s:%u: invalid %s value '%s': expected 'MAJOR:MINOR %s' with %s", n->file,
                                         line, key, v, weight ? "WEIGHT" : "VALUE",
                                         weight ? "a weight of 10 to 1000 (0: none)" : "a whole number");
                d->v[keys[i].field] = x;
                return 0;
        }
        fprintf(stderr, "warning: %s:%u: '%s' is not converted (no <blkiotune> counterpart), ignoring\n", n->file, line, key);
        return 0;
}

/* lxc.cgroup2.io.max: "MAJOR:MINOR rbps=N wbps=N riops=N wiops=N", each
 * optional, "max" for no limit. */
static int native_io_max(NativeConfig *n, const char *v, unsigned line) {
        static const struct {
                const char *name;
                BlkioField field;
        } limits[] = {
                { "rbps", BLKIO_READ_BPS },
                { "wbps", BLKIO_WRITE_BPS },
                { "riops", BLKIO_READ_IOPS },
                { "wiops", BLKIO_WRITE_IOPS },
        };
        NativeBlkioDevice *d;
        const char *rest;
        int r;

        r = blkio_device(n, "lxc.cgroup2.io.max", v, line, &rest, &d);
        if (r < 0)
                return r;
        _cleanup_free_ char *copy = strdup(rest);
        char *save = NULL;
        if (!copy)
                return ctl_error(-ENOMEM, "Out of memory");
        for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                char *eq = strchr(t, '=');
                size_t i;

                for (i = 0; eq && i < ELEMENTSOF(limits); i++)
                        if (strlen(limits[i].name) == (size_t) (eq - t) && strncmp(t, limits[i].name, (size_t) (eq - t)) == 0)
                                break;
                if (!eq || i == ELEMENTSOF(limits) ||
                    (!streq(eq + 1, "max") && !parse_u64_in(eq + 1, 0, UINT64_MAX, &d->v[limits[i].field])))
                        return ctl_error(-EINVAL, "%s:%u: invalid lxc.cgroup2.io.max value '%s': '%s' is not rbps, wbps, riops "
                                         "or wiops with a whole number or 'max'", n->file, line, v, t);
                if (streq(eq + 1, "max"))
                        d->v[limits[i].field] = 0;
        }
        return 0;
}

static int native_parse_line(NativeConfig *n, char *key, char *v, unsigned line) {
        const char *k;

        if (streq(key, "lxc.utsname") || streq(key, "lxc.uts.name"))
                n->name = v;
        else if (streq(key, "lxc.rootfs") || streq(key, "lxc.rootfs.path"))
                n->rootfs = strncmp(v, "dir:", 4) == 0 ? v + 4 : v;
        else if (streq(key, "lxc.init_cmd") || streq(key, "lxc.init.cmd"))
                n->init = v;
        else if (streq(key, "lxc.arch"))
                n->arch = v;
        else if (streq(key, "lxc.tty") || streq(key, "lxc.tty.max"))
                n->tty = v;
        else if (streq(key, "lxc.mount"))
                return ctl_error(-EINVAL, "%s:%u: lxc.mount found, use lxc.mount.entry lines instead", n->file, line);
        else if (streq(key, "lxc.mount.fstab"))
                return ctl_error(-EINVAL, "%s:%u: lxc.mount.fstab found, use lxc.mount.entry lines instead", n->file, line);
        else if (streq(key, "lxc.mount.entry"))
                return append_value(&n->mounts, &n->mount_lines, &n->n_mounts, v, line) < 0 ? ctl_error(-ENOMEM, "Out of memory") : 0;
        else if (streq(key, "lxc.id_map") || streq(key, "lxc.idmap"))
                return append_value(&n->idmaps, &n->idmap_lines, &n->n_idmaps, v, line) < 0 ? ctl_error(-ENOMEM, "Out of memory") : 0;
        else if (streq(key, "lxc.cgroup.memory.limit_in_bytes") || streq(key, "lxc.cgroup2.memory.max"))
                n->mem_limit = v;
        else if (streq(key, "lxc.cgroup.memory.soft_limit_in_bytes") || streq(key, "lxc.cgroup2.memory.high"))
                n->mem_soft = v;
        else if (streq(key, "lxc.cgroup.memory.memsw.limit_in_bytes"))
                n->memsw = v;
        else if (streq(key, "lxc.cgroup.cpu.shares"))
                n->cpu_shares = v;
        else if (streq(key, "lxc.cgroup.cpu.cfs_quota_us"))
                n->cfs_quota = v;
        else if (streq(key, "lxc.cgroup.cpu.cfs_period_us"))
                n->cfs_period = v;
        else if (streq(key, "lxc.cgroup.cpuset.cpus") || streq(key, "lxc.cgroup2.cpuset.cpus"))
                n->cpuset_cpus = v;
        else if (streq(key, "lxc.cgroup.blkio.weight"))
                n->blkio_weight = v;
        else if (startswith(key, "lxc.cgroup.blkio."))
                return native_blkio_key(n, key, v, line);
        else if (streq(key, "lxc.cgroup2.io.max"))
                return native_io_max(n, v, line);
        else if (streq(key, "lxc.cap.drop")) {
                char *joined = NULL;
                if (asprintf(&joined, "%s%s%s", strempty(n->cap_drop), n->cap_drop ? " " : "", v) < 0)
                        return ctl_error(-ENOMEM, "Out of memory");
                free(n->cap_drop);
                n->cap_drop = joined;
        } else if ((k = startswith(key, "lxc.network."))) {
                /* 1.x: each lxc.network.type starts the next interface */
                if (streq(k, "type")) {
                        if (n->n_nets >= NATIVE_MAX_NETS)
                                return ctl_error(-E2BIG, "%s:%u: more than %d interfaces", n->file, line, NATIVE_MAX_NETS);
                        n->n_nets++;
                        n->net_configured = true;
                } else if (n->n_nets == 0)
                        return ctl_error(-EINVAL, "%s:%u: '%s' before any lxc.network.type", n->file, line, key);
                return native_net_key(n, &n->nets[n->n_nets - 1], k, v, line);
        } else if ((k = startswith(key, "lxc.net."))) {
                /* 2.1+: lxc.net.N.KEY */
                char *end;
                errno = 0;
                unsigned long i = strtoul(k, &end, 10);
                if (errno != 0 || end == k || *end != '.' || i >= NATIVE_MAX_NETS)
                        return ctl_error(-EINVAL, "%s:%u: '%s' is not lxc.net.N.KEY with N below %d", n->file, line, key,
                                         NATIVE_MAX_NETS);
                if (streq(end + 1, "type"))
                        n->net_configured = true;
                if (i + 1 > n->n_nets)
                        n->n_nets = i + 1;
                return native_net_key(n, &n->nets[i], end + 1, v, line);
        }
        return 0;
}

/* "512M", "1G", "1048576": bytes, as LXC takes them; KiB out. */
static int parse_size_kib(const NativeConfig *n, const char *key, const char *v, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        uint64_t mult = 1;

        if (errno != 0 || end == v || *v == '-')
                goto bad;
        switch (toupper((unsigned char) *end)) {
        case 0: break;
        case 'K': mult = 1ULL << 10; end++; break;
        case 'M': mult = 1ULL << 20; end++; break;
        case 'G': mult = 1ULL << 30; end++; break;
        case 'T': mult = 1ULL << 40; end++; break;
        default: goto bad;
        }
        if (toupper((unsigned char) *end) == 'B')
                end++;
        if (*end || x > UINT64_MAX / mult)
                goto bad;
        *ret = x * mult / 1024;
        return 0;
bad:
        return ctl_error(-EINVAL, "%s: failed to parse the size '%s' of %s", n->file, v, key);
}

static int parse_number(const NativeConfig *n, const char *key, const char *v, int64_t min, int64_t max, int64_t *ret) {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end || x < min || x > max)
                return ctl_error(-EINVAL, "%s: failed to parse the integer '%s' of %s (%" PRId64 " to %" PRId64 ")",
                                 n->file, v, key, min, max);
        *ret = x;
        return 0;
}

static int count_cpus(const NativeConfig *n, const char *list, unsigned *ret) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;
        unsigned count = 0;

        if (!copy)
                return ctl_error(-ENOMEM, "Out of memory");
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                unsigned a, b;
                int used = 0;
                if (sscanf(t, "%u-%u%n", &a, &b, &used) == 2 && !t[used] && a <= b && b < 4096)
                        count += b - a + 1;
                else if (sscanf(t, "%u%n", &a, &used) == 1 && !t[used] && a < 4096)
                        count++;
                else
                        return ctl_error(-EINVAL, "%s: failed to parse the CPU list '%s' of lxc.cgroup.cpuset.cpus", n->file, list);
        }
        if (count == 0)
                return ctl_error(-EINVAL, "%s: empty CPU list in lxc.cgroup.cpuset.cpus", n->file);
        *ret = count;
        return 0;
}

/* An fstab line of lxc.mount.entry: bind mounts and tmpfs become
 * <filesystem>s (libvirt's conversion); proc, sysfs and the like are the
 * container's own anyway. */
static int emit_mount(FILE *f, const NativeConfig *n, const char *entry, unsigned line) {
        char src[4096], dst[4096], type[64], opts[1024] = "";
        char target[4100];

        if (sscanf(entry, "%4095s %4095s %63s %1023s", src, dst, type, opts) < 3)
                return ctl_error(-EINVAL, "%s:%u: lxc.mount.entry '%s' is not 'SOURCE TARGET TYPE OPTIONS'", n->file, line, entry);
        /* LXC's targets are relative to the root, or absolute below the rootfs path */
        const char *rel = dst;
        if (n->rootfs && strncmp(dst, n->rootfs, strlen(n->rootfs)) == 0)
                rel = dst + strlen(n->rootfs);
        snprintf(target, sizeof(target), "%s%s", rel[0] == '/' ? "" : "/", rel);

        bool bind = false, readonly = false;
        uint64_t size_kib = 0;
        _cleanup_free_ char *o = strdup(opts);
        char *save = NULL;
        if (!o)
                return ctl_error(-ENOMEM, "Out of memory");
        for (char *t = strtok_r(o, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (streq(t, "bind") || streq(t, "rbind"))
                        bind = true;
                else if (streq(t, "ro"))
                        readonly = true;
                else if (startswith(t, "size=")) {
                        if (strchr(t, '%'))
                                return ctl_error(-EINVAL, "%s:%u: a tmpfs size in percent ('%s') cannot be converted", n->file, line, t);
                        int r = parse_size_kib(n, "lxc.mount.entry", t + 5, &size_kib);
                        if (r < 0)
                                return r;
                }
        }

        if (streq(type, "proc") || streq(type, "sysfs") || streq(type, "devpts") || streq(type, "cgroup") ||
            streq(type, "cgroup2") || streq(type, "mqueue"))
                return 0;  /* the container gets its own */
        if (streq(type, "tmpfs")) {
                if (size_kib > 0)
                        fprintf(f, "    <filesystem type='ram'>\n      <source usage='%" PRIu64 "' units='KiB'/>\n", size_kib);
                else
                        fprintf(f, "    <filesystem type='ram'>\n      <source/>\n");
        } else if (bind) {
                xml_printf(f, "    <filesystem type='mount'>\n      <source dir='%s'/>\n", src);
        } else {
                fprintf(stderr, "warning: %s:%u: lxc.mount.entry of type '%s' is not converted (only bind mounts and tmpfs), ignoring\n",
                        n->file, line, type);
                return 0;
        }
        xml_printf(f, "      <target dir='%s'/>\n", target);
        if (readonly)
                fputs("      <readonly/>\n", f);
        fputs("    </filesystem>\n", f);
        return 0;
}

static int emit_net(FILE *f, const NativeConfig *n, const NativeNet *net) {
        const char *type = net->type;

        if (!type || streq(type, "") || streq(type, "empty") || streq(type, "none"))
                return 0;
        if (streq(type, "phys") || streq(type, "vlan")) {
                if (!net->link)
                        return ctl_error(-EINVAL, "%s: Missing 'link' attribute for NIC", n->file);
                fputs("    <hostdev mode='capabilities' type='net'>\n      <source>\n", f);
                if (streq(type, "vlan") && net->vlan_id)
                        xml_printf(f, "        <interface>%s.%s</interface>\n", net->link, net->vlan_id);
                else
                        xml_printf(f, "        <interface>%s</interface>\n", net->link);
                fputs("      </source>\n    </hostdev>\n", f);
                return 0;
        }
        if (streq(type, "veth")) {
                if (net->link)
                        xml_printf(f, "    <interface type='bridge'>\n      <source bridge='%s'/>\n", net->link);
                else
                        fputs("    <interface type='ethernet'>\n", f);
        } else if (streq(type, "macvlan")) {
                if (!net->link)
                        return ctl_error(-EINVAL, "%s: Missing 'link' attribute for NIC", n->file);
                const char *mode = net->macvlan_mode ? net->macvlan_mode : "private";
                if (!streq(mode, "private") && !streq(mode, "vepa") && !streq(mode, "bridge"))
                        return ctl_error(-EINVAL, "%s: unknown macvlan mode '%s' (private, vepa, bridge)", n->file, mode);
                xml_printf(f, "    <interface type='direct'>\n      <source dev='%s' mode='%s'/>\n", net->link, mode);
        } else
                return ctl_error(-EINVAL, "%s: network type '%s' cannot be converted (veth, macvlan, phys, vlan, empty, none)",
                                 n->file, type);
        if (net->hwaddr)
                xml_printf(f, "      <mac address='%s'/>\n", net->hwaddr);
        if (net->pair)
                xml_printf(f, "      <target dev='%s'/>\n", net->pair);
        if (net->name)
                xml_printf(f, "      <guest dev='%s'/>\n", net->name);
        for (size_t i = 0; i < net->n_ips; i++) {
                const char *slash = strchr(net->ips[i], '/');
                char addr[128];
                char *end;
                long prefix;
                if (!slash || (size_t) (slash - net->ips[i]) >= sizeof(addr))
                        return ctl_error(-EINVAL, "%s: Invalid CIDR address: '%s'", n->file, net->ips[i]);
                memcpy(addr, net->ips[i], (size_t) (slash - net->ips[i]));
                addr[slash - net->ips[i]] = 0;
                /* LXC allows "ADDR/PREFIX BROADCAST": the broadcast goes */
                prefix = strtol(slash + 1, &end, 10);
                if (end == slash + 1 || (*end && !isspace((unsigned char) *end)) || prefix < 0 || prefix > (net->ip6[i] ? 128 : 32))
                        return ctl_error(-EINVAL, "%s: Invalid CIDR address: '%s'", n->file, net->ips[i]);
                xml_printf(f, "      <ip family='%s' address='%s'", net->ip6[i] ? "ipv6" : "ipv4", addr);
                fprintf(f, " prefix='%ld'/>\n", prefix);
        }
        if (net->gateway4 && !streq(net->gateway4, "auto"))
                xml_printf(f, "      <route family='ipv4' address='0.0.0.0' prefix='0' gateway='%s'/>\n", net->gateway4);
        if (net->gateway6 && !streq(net->gateway6, "auto"))
                xml_printf(f, "      <route family='ipv6' address='::' prefix='0' gateway='%s'/>\n", net->gateway6);
        if (!net->flags || !strstr(net->flags, "up"))
                fputs("      <link state='down'/>\n", f);
        fputs("    </interface>\n", f);
        return 0;
}

static int emit_idmap(FILE *f, const NativeConfig *n, char which) {
        for (size_t i = 0; i < n->n_idmaps; i++) {
                char type;
                unsigned long start, target, count;
                int used = 0;
                if (sscanf(n->idmaps[i], " %c %lu %lu %lu %n", &type, &start, &target, &count, &used) != 4 ||
                    n->idmaps[i][used] || (type != 'u' && type != 'g') || count == 0)
                        return ctl_error(-EINVAL, "%s:%u: invalid lxc.idmap: '%s' (u|g CONTAINER-ID HOST-ID COUNT)",
                                         n->file, n->idmap_lines[i], n->idmaps[i]);
                if (type == which)
                        fprintf(f, "    <%s start='%lu' target='%lu' count='%lu'/>\n", which == 'u' ? "uid" : "gid",
                                start, target, count);
        }
        return 0;
}

/* lxc.init.cmd is a command line: words split at blanks, '...' and "..."
 * quote (LXC splits it so too) */
static int emit_init(FILE *f, const NativeConfig *n, const char *cmd) {
        _cleanup_free_ char *word = malloc(strlen(cmd) + 1);
        bool first = true;

        if (!word)
                return ctl_error(-ENOMEM, "Out of memory");
        for (const char *p = cmd; *p; ) {
                size_t len = 0;
                char quote = 0;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                for (; *p && (quote || (*p != ' ' && *p != '\t')); p++) {
                        if (quote && *p == quote)
                                quote = 0;
                        else if (!quote && (*p == '\'' || *p == '"'))
                                quote = *p;
                        else
                                word[len++] = *p;
                }
                if (quote)
                        return ctl_error(-EINVAL, "%s: unterminated quote in lxc.init.cmd '%s'", n->file, cmd);
                word[len] = 0;
                xml_printf(f, first ? "    <init>%s</init>\n" : "    <initarg>%s</initarg>\n", word);
                first = false;
        }
        if (first)
                return ctl_error(-EINVAL, "%s: empty lxc.init.cmd", n->file);
        return 0;
}

static bool blkio_device_set(const NativeBlkioDevice *d) {
        for (size_t k = 0; k < _BLKIO_FIELD_MAX; k++)
                if (d->v[k] > 0)
                        return true;
        return false;   /* only "remove" values: nothing to say */
}

static size_t blkio_devices_set(const NativeConfig *n) {
        size_t count = 0;
        for (size_t i = 0; i < n->n_blkio; i++)
                count += blkio_device_set(&n->blkio[i]);
        return count;
}

static void emit_blkio_devices(FILE *f, const NativeConfig *n) {
        for (size_t i = 0; i < n->n_blkio; i++) {
                const NativeBlkioDevice *d = &n->blkio[i];

                if (!blkio_device_set(d))
                        continue;
                fprintf(f, "    <device>\n      <path>/dev/block/%u:%u</path>\n", d->major, d->minor);
                for (size_t k = 0; k < _BLKIO_FIELD_MAX; k++)
                        if (d->v[k] > 0)
                                fprintf(f, "      <%s>%" PRIu64 "</%s>\n", blkio_element[k], d->v[k], blkio_element[k]);
                fputs("    </device>\n", f);
        }
}

static int native_emit(FILE *f, const NativeConfig *n) {
        uint64_t mem_kib = 64 * 1024, soft = 0, swap = 0;
        int64_t shares = -1, quota = 0, period = 0, weight = -1, ttys = 0;
        unsigned vcpus = 1;
        int r;

        if (n->mem_limit && !streq(n->mem_limit, "-1") && !streq(n->mem_limit, "max") &&
            (r = parse_size_kib(n, "lxc.cgroup.memory.limit_in_bytes", n->mem_limit, &mem_kib)) < 0)
                return r;
        if (n->mem_soft && !streq(n->mem_soft, "-1") && !streq(n->mem_soft, "max") &&
            (r = parse_size_kib(n, "lxc.cgroup.memory.soft_limit_in_bytes", n->mem_soft, &soft)) < 0)
                return r;
        if (n->memsw && !streq(n->memsw, "-1") &&
            (r = parse_size_kib(n, "lxc.cgroup.memory.memsw.limit_in_bytes", n->memsw, &swap)) < 0)
                return r;
        if (n->cpu_shares && (r = parse_number(n, "lxc.cgroup.cpu.shares", n->cpu_shares, 2, 262144, &shares)) < 0)
                return r;
        if (n->cfs_quota && (r = parse_number(n, "lxc.cgroup.cpu.cfs_quota_us", n->cfs_quota, -1, INT64_MAX / 1000, &quota)) < 0)
                return r;
        if (n->cfs_period && (r = parse_number(n, "lxc.cgroup.cpu.cfs_period_us", n->cfs_period, 1000, 1000000, &period)) < 0)
                return r;
        if (n->blkio_weight && (r = parse_number(n, "lxc.cgroup.blkio.weight", n->blkio_weight, 10, 1000, &weight)) < 0)
                return r;
        if (n->tty && (r = parse_number(n, "lxc.tty", n->tty, 0, 64, &ttys)) < 0)
                return r;
        if (n->cpuset_cpus && (r = count_cpus(n, n->cpuset_cpus, &vcpus)) < 0)
                return r;

        fputs("<domain type='lxc'>\n", f);
        xml_printf(f, "  <name>%s</name>\n", n->name ? n->name : "unnamed");
        fprintf(f, "  <memory unit='KiB'>%" PRIu64 "</memory>\n", mem_kib);
        if ((n->mem_limit && mem_kib != 64 * 1024) || soft || swap) {
                fputs("  <memtune>\n", f);
                if (n->mem_limit && !streq(n->mem_limit, "-1") && !streq(n->mem_limit, "max"))
                        fprintf(f, "    <hard_limit unit='KiB'>%" PRIu64 "</hard_limit>\n", mem_kib);
                if (soft)
                        fprintf(f, "    <soft_limit unit='KiB'>%" PRIu64 "</soft_limit>\n", soft);
                if (swap)
                        fprintf(f, "    <swap_hard_limit unit='KiB'>%" PRIu64 "</swap_hard_limit>\n", swap);
                fputs("  </memtune>\n", f);
        }
        if (n->cpuset_cpus)
                xml_printf(f, "  <vcpu placement='static' cpuset='%s'>", n->cpuset_cpus);
        else
                fputs("  <vcpu>", f);
        fprintf(f, "%u</vcpu>\n", vcpus);
        if (shares >= 0 || n->cfs_quota || n->cfs_period) {
                fputs("  <cputune>\n", f);
                if (shares >= 0)
                        fprintf(f, "    <shares>%" PRId64 "</shares>\n", shares);
                if (n->cfs_period)
                        fprintf(f, "    <period>%" PRId64 "</period>\n", period);
                if (n->cfs_quota)
                        fprintf(f, "    <quota>%" PRId64 "</quota>\n", quota);
                fputs("  </cputune>\n", f);
        }
        if (weight >= 0 || blkio_devices_set(n) > 0) {
                fputs("  <blkiotune>\n", f);
                if (weight >= 0)
                        fprintf(f, "    <weight>%" PRId64 "</weight>\n", weight);
                emit_blkio_devices(f, n);
                fputs("  </blkiotune>\n", f);
        }

        fputs("  <os>\n    <type", f);
        if (n->arch) {
                const char *arch = streq(n->arch, "amd64") || streq(n->arch, "x86_64") ? "x86_64" :
                                   streq(n->arch, "x86") || streq(n->arch, "i686") || streq(n->arch, "i386") ? "i686" : n->arch;
                xml_printf(f, " arch='%s'", arch);
        }
        fputs(">exe</type>\n", f);
        r = emit_init(f, n, n->init ? n->init : "/sbin/init");
        if (r < 0)
                return r;
        fputs("  </os>\n", f);

        bool any_net = false, privnet = !n->net_configured;
        for (size_t i = 0; i < n->n_nets; i++) {
                const char *t = n->nets[i].type;
                if (t && !streq(t, "") && !streq(t, "empty") && !streq(t, "none"))
                        any_net = true;
                if (t && streq(t, "empty"))
                        privnet = true;
        }
        if ((privnet && !any_net) || n->cap_drop) {
                fputs("  <features>\n", f);
                /* no network configured: LXC gives the container only a loopback */
                if (privnet && !any_net)
                        fputs("    <privnet/>\n", f);
                if (n->cap_drop) {
                        _cleanup_free_ char *caps = strdup(n->cap_drop);
                        char *save = NULL;
                        if (!caps)
                                return ctl_error(-ENOMEM, "Out of memory");
                        fputs("    <capabilities policy='default'>\n", f);
                        for (char *t = strtok_r(caps, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                                for (char *c = t; *c; c++)
                                        *c = (char) tolower((unsigned char) *c);
                                xml_printf(f, "      <%s state='off'/>\n", strncmp(t, "cap_", 4) == 0 ? t + 4 : t);
                        }
                        fputs("    </capabilities>\n", f);
                }
                fputs("  </features>\n", f);
        }

        if (n->n_idmaps > 0) {
                bool u = false, g = false;
                for (size_t i = 0; i < n->n_idmaps; i++) {
                        const char *t = n->idmaps[i] + strspn(n->idmaps[i], " \t");
                        u = u || *t == 'u';
                        g = g || *t == 'g';
                }
                if (u != g)
                        return ctl_error(-EINVAL, "%s: lxc.idmap maps %s but no %s: a user namespace needs both",
                                         n->file, u ? "uids" : "gids", u ? "gids" : "uids");
                fputs("  <idmap>\n", f);
                if ((r = emit_idmap(f, n, 'u')) < 0 || (r = emit_idmap(f, n, 'g')) < 0)
                        return r;
                fputs("  </idmap>\n", f);
        }
        fputs("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n", f);

        fputs("  <devices>\n", f);
        if (n->rootfs) {
                if (startswith(n->rootfs, "/dev/"))
                        return ctl_error(-EINVAL, "%s: a root filesystem on a block device ('%s') is not supported yet",
                                         n->file, n->rootfs);
                xml_printf(f, "    <filesystem type='mount'>\n      <source dir='%s'/>\n      <target dir='/'/>\n    </filesystem>\n",
                           n->rootfs);
        }
        for (size_t i = 0; i < n->n_mounts; i++)
                if ((r = emit_mount(f, n, n->mounts[i], n->mount_lines[i])) < 0)
                        return r;
        for (size_t i = 0; i < n->n_nets; i++)
                if ((r = emit_net(f, n, &n->nets[i])) < 0)
                        return r;
        for (int64_t i = 0; i < ttys; i++)
                fprintf(f, "    <console type='pty'>\n      <target type='lxc' port='%" PRId64 "'/>\n    </console>\n", i);
        fputs("  </devices>\n</domain>\n", f);
        return 0;
}

static int verb_domxml_from_native(Context *c, const VerbArgs *a) {
        const char *format = args_get(a, "format"), *file = args_get(a, "config");
        _cleanup_(native_config_done) NativeConfig n = { .file = file };
        _cleanup_free_ char *text = NULL, *out = NULL;
        size_t size, out_size = 0;
        unsigned line = 0;
        int r;

        if (!streq(format, "lxc-tools"))
                return ctl_error(-EINVAL, "invalid argument: unsupported config type %s", format);
        r = read_file_or_report(file, &text, &size);
        if (r < 0)
                return r;
        if (memchr(text, 0, size))
                return ctl_error(-EINVAL, "%s: not a text file", file);

        for (char *p = text, *nl; p && *p; p = nl) {
                nl = strchr(p, '\n');
                if (nl)
                        *nl++ = 0;
                line++;
                char *s = strip(p);
                if (!*s || *s == '#')
                        continue;
                char *eq = strchr(s, '=');
                if (!eq)
                        return ctl_error(-EINVAL, "%s:%u: expected 'key = value': '%s'", file, line, s);
                *eq = 0;
                r = native_parse_line(&n, strip(s), strip(eq + 1), line);
                if (r < 0)
                        return r;
        }

        FILE *f = open_memstream(&out, &out_size);
        if (!f)
                return ctl_error(-errno, "Out of memory");
        r = native_emit(f, &n);
        if (fclose(f) != 0 && r >= 0)
                r = ctl_error(-ENOMEM, "Out of memory");
        if (r < 0)
                return r;
        fputs(out, stdout);
        (void) c;
        return 0;
}

static const VerbOption domxml_from_native_options[] = {
        { "format", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "source config data format (lxc-tools)" },
        { "config", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "config data file to import from" },
        {}
};

const Verb verb_table_native[] = {
        { "domxml-from-native", "Domain Management", "Convert native config to domain XML",
          "Convert an LXC container configuration (format lxc-tools: LXC 1.x or\n"
          "2.1+ keys) to domain XML, as libvirt's LXC driver converts it: name,\n"
          "rootfs, init command, arch, lxc.mount.entry bind and tmpfs mounts,\n"
          "networks (veth, macvlan, phys, vlan, empty, none), lxc.tty consoles,\n"
          "idmap, memory, cpu and cpuset, blkio weight and per-device weights\n"
          "and throttles (lxc.cgroup.blkio.*_device, lxc.cgroup2.io.max),\n"
          "dropped capabilities.\n"
          "Other keys are ignored. Offline: the result goes to standard output,\n"
          "for vivctl define.",
          domxml_from_native_options, 0, verb_domxml_from_native },
        {}
};
