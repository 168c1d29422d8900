/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "domain.h"
#include "domain-xml.h"
#include "macros.h"

/* Here rather than with the parsers: freeing what a parse reports needs no
 * libxml2, and vivctl and the helper link this file without it (xml-module.h). */
void xml_diag_done(XmlDiag *d) {
        if (!d)
                return;
        free(d->error);
        d->error = NULL;
        strv_free(d->warnings);
        d->warnings = NULL;
}

DomainDef *domain_def_new(void) {
        DomainDef *def = calloc(1, sizeof(DomainDef));

        if (!def)
                return NULL;
        def->current_memory_kib = UNSET_U64;
        def->hard_limit_kib = UNSET_U64;
        def->soft_limit_kib = UNSET_U64;
        def->swap_hard_limit_kib = UNSET_U64;
        def->cpu_shares = UNSET_U64;
        def->cpu_period_us = 0;
        def->blkio_weight = UNSET_U64;
        def->tasks_max = UNSET_U64;
        def->on_poweroff = LIFECYCLE_DESTROY;
        def->on_reboot = LIFECYCLE_RESTART;
        def->on_crash = LIFECYCLE_DESTROY;
        return def;
}

static void domain_filesystem_done(DomainFilesystem *fs) {
        free(fs->source);
        free(fs->target);
}

static void ips_free(DomainIP *ips, size_t n) {
        ARRAY_FOREACH(ip, ips, n) {
                free(ip->address);
                free(ip->peer);
        }
        free(ips);
}

static void routes_free(DomainRoute *routes, size_t n) {
        ARRAY_FOREACH(rt, routes, n) {
                free(rt->address);
                free(rt->gateway);
        }
        free(routes);
}

void domain_interface_done(DomainInterface *iface) {
        free(iface->source);
        free(iface->target_dev);
        free(iface->guest_dev);
        free(iface->lease_address);
        free(iface->lease_address6);
        ips_free(iface->ips, iface->n_ips);
        routes_free(iface->routes, iface->n_routes);
        ips_free(iface->host_ips, iface->n_host_ips);
        routes_free(iface->host_routes, iface->n_host_routes);
        ARRAY_FOREACH(port, iface->ports, iface->n_ports)
                free(port->address);
        free(iface->ports);
        free(iface->filterref);
        ARRAY_FOREACH(fp, iface->filter_params, iface->n_filter_params) {
                free(fp->name);
                free(fp->value);
        }
        free(iface->filter_params);
}

void domain_hostdev_done(DomainHostdev *hd) {
        free(hd->source);
        ips_free(hd->ips, hd->n_ips);
        routes_free(hd->routes, hd->n_routes);
        hd->ips = NULL;
        hd->routes = NULL;
        hd->n_ips = hd->n_routes = 0;
}

DomainDef *domain_def_free(DomainDef *def) {
        if (!def)
                return NULL;

        free(def->name);
        free(def->title);
        free(def->description);
        free(def->cpuset);
        free(def->os_type);
        free(def->init);
        strv_free(def->init_args);
        ARRAY_FOREACH(e, def->init_env, def->n_init_env) {
                free(e->name);
                free(e->value);
        }
        free(def->init_env);
        free(def->init_dir);
        free(def->init_user);
        free(def->init_group);
        free(def->uid_map);
        free(def->gid_map);
        free(def->cap_toggles);
        ARRAY_FOREACH(fs, def->filesystems, def->n_filesystems)
                domain_filesystem_done(fs);
        free(def->filesystems);
        ARRAY_FOREACH(iface, def->interfaces, def->n_interfaces)
                domain_interface_done(iface);
        free(def->interfaces);
        FOREACH_ARRAY(share, def->ns_share, _NS_SHARE_KIND_MAX)
                free(share->value);
        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs)
                domain_hostdev_done(hd);
        free(def->hostdevs);
        ARRAY_FOREACH(disk, def->disks, def->n_disks) {
                free(disk->source);
                free(disk->target);
        }
        free(def->disks);
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices)
                free(bd->path);
        free(def->blkio_devices);
        free(def);
        return NULL;
}

const DomainFilesystem *domain_def_root(const DomainDef *def) {
        ARRAY_FOREACH(fs, def->filesystems, def->n_filesystems)
                if (fs->target && streq(fs->target, "/"))
                        return fs;
        return NULL;
}

bool domain_def_has_privnet(const DomainDef *def) {
        if (def->privnet || def->n_interfaces > 0)
                return true;
        /* a host link moved in needs a namespace to move into */
        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs)
                if (hd->type == HOSTDEV_NET)
                        return true;
        return false;
}

bool domain_def_userns_pick(const DomainDef *def) {
        /* An explicit <idmap> is libvirt's: the maps as given, over a tree the
         * user chowned. Without one, a definition picks a range unless it
         * opts out with mode='off' (see README, "User namespaces"). */
        if (def->n_uid_map > 0)
                return false;
        return def->userns_mode != USERNS_MODE_OFF;
}

int domain_def_set_picked_range(DomainDef *def, uint32_t base) {
        DomainIdmap *u = calloc(1, sizeof(*u)), *g = calloc(1, sizeof(*g));

        if (!u || !g) {
                free(u);
                free(g);
                return -ENOMEM;
        }
        *u = *g = (DomainIdmap) { .start = 0, .target = base, .count = USERNS_RANGE_SIZE };
        free(def->uid_map);
        free(def->gid_map);
        def->uid_map = u;
        def->gid_map = g;
        def->n_uid_map = def->n_gid_map = 1;
        def->userns_picked = true;
        /* the live XML says so: read back, its <idmap> is a picked one, not
         * libvirt's (whose mounts are not idmapped) */
        def->userns_mode = USERNS_MODE_PICK;
        return 0;
}

bool domain_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n < 1 || n > DOMAIN_NAME_MAX)
                return false;
        /* The name becomes a file name under /etc and /run: never a path step. */
        if (streq(name, ".") || streq(name, ".."))
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || strchr("_.+-", *p)))
                        return false;
        return true;
}

static const char *const filesystem_type_table[_FILESYSTEM_TYPE_MAX] = {
        [FILESYSTEM_MOUNT] = "mount",
        [FILESYSTEM_BIND] = "bind",
        [FILESYSTEM_RAM] = "ram",
        [FILESYSTEM_FILE] = "file",
        [FILESYSTEM_BLOCK] = "block",
};

static const char *const interface_type_table[_INTERFACE_TYPE_MAX] = {
        [INTERFACE_NETWORK] = "network",
        [INTERFACE_BRIDGE] = "bridge",
        [INTERFACE_DIRECT] = "direct",
        [INTERFACE_ETHERNET] = "ethernet",
};

static const char *const direct_mode_table[_DIRECT_MODE_MAX] = {
        [DIRECT_MODE_VEPA] = "vepa",
        [DIRECT_MODE_BRIDGE] = "bridge",
        [DIRECT_MODE_PRIVATE] = "private",
        [DIRECT_MODE_PASSTHROUGH] = "passthrough",
};

static const char *const lifecycle_action_table[_LIFECYCLE_ACTION_MAX] = {
        [LIFECYCLE_DESTROY] = "destroy",
        [LIFECYCLE_RESTART] = "restart",
        [LIFECYCLE_PRESERVE] = "preserve",
        [LIFECYCLE_RENAME_RESTART] = "rename-restart",
};

#define TABLE_LOOKUP(table, i) ((unsigned) (i) < ELEMENTSOF(table) ? (table)[i] : NULL)

const char *filesystem_type_to_string(FilesystemType t) {
        return TABLE_LOOKUP(filesystem_type_table, t);
}

const char *filesystem_driver_to_string(FilesystemDriver d) {
        static const char *const table[_FILESYSTEM_DRIVER_MAX] = {
                [FILESYSTEM_DRIVER_DEFAULT] = "default",
                [FILESYSTEM_DRIVER_LOOP] = "loop",
                [FILESYSTEM_DRIVER_NBD] = "nbd",
        };
        return TABLE_LOOKUP(table, d);
}

const char *image_format_to_string(ImageFormat f) {
        static const char *const table[_IMAGE_FORMAT_MAX] = {
                [IMAGE_FORMAT_NONE] = "none",
                [IMAGE_FORMAT_RAW] = "raw",
                [IMAGE_FORMAT_QCOW2] = "qcow2",
                [IMAGE_FORMAT_QCOW] = "qcow",
                [IMAGE_FORMAT_QED] = "qed",
                [IMAGE_FORMAT_VMDK] = "vmdk",
                [IMAGE_FORMAT_VDI] = "vdi",
                [IMAGE_FORMAT_VPC] = "vpc",
                [IMAGE_FORMAT_VHDX] = "vhdx",
        };
        return TABLE_LOOKUP(table, f);
}

const char *ns_share_kind_to_string(NsShareKind k) {
        static const char *const table[_NS_SHARE_KIND_MAX] = {
                [NS_SHARE_NET] = "sharenet",
                [NS_SHARE_IPC] = "shareipc",
                [NS_SHARE_UTS] = "shareuts",
        };
        return TABLE_LOOKUP(table, k);
}

const char *ns_share_type_to_string(NsShareType t) {
        static const char *const table[_NS_SHARE_TYPE_MAX] = {
                [NS_SHARE_NONE] = "none",
                [NS_SHARE_NETNS] = "netns",
                [NS_SHARE_NAME] = "name",
                [NS_SHARE_PID] = "pid",
        };
        return TABLE_LOOKUP(table, t);
}

bool domain_def_shares_namespaces(const DomainDef *def) {
        for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++)
                if (def->ns_share[k].type != NS_SHARE_NONE)
                        return true;
        return false;
}

const char *interface_type_to_string(InterfaceType t) {
        return TABLE_LOOKUP(interface_type_table, t);
}

const char *direct_mode_to_string(DirectMode m) {
        return TABLE_LOOKUP(direct_mode_table, m);
}

const char *lifecycle_action_to_string(LifecycleAction a) {
        return TABLE_LOOKUP(lifecycle_action_table, a);
}

const char *userns_mode_to_string(UsernsMode m) {
        static const char *const table[] = {
                [USERNS_MODE_DEFAULT] = "default",
                [USERNS_MODE_PICK] = "pick",
                [USERNS_MODE_OFF] = "off",
        };
        return TABLE_LOOKUP(table, m);
}

const char *hostdev_type_to_string(HostdevType t) {
        static const char *const table[] = {
                [HOSTDEV_STORAGE] = "storage",
                [HOSTDEV_MISC] = "misc",
                [HOSTDEV_NET] = "net",
                [HOSTDEV_USB] = "usb",
        };
        return TABLE_LOOKUP(table, t);
}

const char *disk_type_to_string(DiskType t) {
        static const char *const table[] = {
                [DISK_BLOCK] = "block",
                [DISK_FILE] = "file",
        };
        return TABLE_LOOKUP(table, t);
}

static const struct {
        SyscallGroup group;
        const char *name;
} syscall_groups[] = {
        { SYSCALL_GROUP_IO_URING,    "io_uring" },
        { SYSCALL_GROUP_USERFAULTFD, "userfaultfd" },
};

int syscall_group_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(syscall_groups); i++)
                if (streq(name, syscall_groups[i].name))
                        return (int) syscall_groups[i].group;
        return -EINVAL;
}

const char *syscall_group_to_name(SyscallGroup g) {
        for (size_t i = 0; i < ELEMENTSOF(syscall_groups); i++)
                if (syscall_groups[i].group == g)
                        return syscall_groups[i].name;
        return NULL;
}

const char *spoofcheck_to_string(SpoofCheck s) {
        static const char *const table[] = {
                [SPOOFCHECK_DEFAULT] = "default",
                [SPOOFCHECK_ON] = "on",
                [SPOOFCHECK_OFF] = "off",
        };
        return TABLE_LOOKUP(table, s);
}

const char *port_protocol_to_string(PortProtocol p) {
        static const char *const table[] = {
                [PORT_PROTOCOL_TCP] = "tcp",
                [PORT_PROTOCOL_UDP] = "udp",
        };
        return TABLE_LOOKUP(table, p);
}

const char *ip_learning_to_string(IpLearning l) {
        static const char *const table[] = {
                [IP_LEARNING_ANY] = "any",
                [IP_LEARNING_DHCP] = "dhcp",
                [IP_LEARNING_NONE] = "none",
        };
        return TABLE_LOOKUP(table, l);
}

IpLearning domain_interface_ip_learning(const DomainInterface *iface) {
        IpLearning learning = IP_LEARNING_ANY;

        ARRAY_FOREACH(fp, iface->filter_params, iface->n_filter_params) {
                if (streq(fp->name, "IP"))
                        return IP_LEARNING_NONE;
                if (streq(fp->name, "CTRL_IP_LEARNING"))
                        for (IpLearning l = 0; l < _IP_LEARNING_MAX; l++)
                                if (streq(fp->value, ip_learning_to_string(l)))
                                        learning = l;
        }
        return learning;
}

size_t domain_interface_filter_values(const DomainInterface *iface, const char *name, const char **ret) {
        size_t n = 0;

        ARRAY_FOREACH(fp, iface->filter_params, iface->n_filter_params)
                if (streq(fp->name, name)) {
                        if (ret)
                                ret[n] = fp->value;
                        n++;
                }
        return n;
}

/* Two published ports collide when they share protocol and host port and
 * one of them takes every host address, or both name the same one. */
bool domain_ports_collide(const DomainPort *a, const DomainPort *b) {
        if (a->protocol != b->protocol || a->host_port != b->host_port)
                return false;
        return !a->address || !b->address || streq(a->address, b->address);
}

const char *cap_policy_to_string(CapPolicy p) {
        static const char *const table[] = {
                [CAP_POLICY_DEFAULT] = "default",
                [CAP_POLICY_ALLOW] = "allow",
                [CAP_POLICY_DENY] = "deny",
        };
        return TABLE_LOOKUP(table, p);
}

/* Indexed by the kernel's capability number (linux/capability.h). */
static const char *const capability_table[] = {
        "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill",
        "setgid", "setuid", "setpcap", "linux_immutable", "net_bind_service",
        "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
        "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
        "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time",
        "sys_tty_config", "mknod", "lease", "audit_write", "audit_control",
        "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
        "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
};

int capability_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(capability_table); i++)
                if (streq(capability_table[i], name))
                        return (int) i;
        return -EINVAL;
}

const char *capability_to_name(int cap) {
        return cap >= 0 ? TABLE_LOOKUP(capability_table, cap) : NULL;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int uuid_parse_string(const char *s, uint8_t ret[16]) {
        uint8_t u[16];
        size_t i = 0, n;
        bool dashed;

        if (!s)
                return -EINVAL;
        while (is_blank(*s))
                s++;
        n = strlen(s);
        while (n > 0 && is_blank(s[n - 1]))
                n--;
        if (n == 36)
                dashed = true;
        else if (n == 32)
                dashed = false;
        else
                return -EINVAL;

        for (size_t k = 0; k < n;) {
                int hi, lo;

                if (dashed && (k == 8 || k == 13 || k == 18 || k == 23)) {
                        if (s[k] != '-')
                                return -EINVAL;
                        k++;
                        continue;
                }
                hi = unhex(s[k]);
                lo = unhex(s[k + 1]);
                if (hi < 0 || lo < 0 || i >= 16)
                        return -EINVAL;
                u[i++] = (uint8_t) (hi << 4 | lo);
                k += 2;
        }
        if (i != 16)
                return -EINVAL;
        memcpy(ret, u, 16);
        return 0;
}

void uuid_format(const uint8_t uuid[16], char buf[37]) {
        static const char hex[] = "0123456789abcdef";
        char *p = buf;

        for (size_t i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *p++ = '-';
                *p++ = hex[uuid[i] >> 4];
                *p++ = hex[uuid[i] & 15];
        }
        *p = 0;
}

static int random_bytes(void *p, size_t n) {
        uint8_t *b = p;

        while (n > 0) {
                ssize_t k = getrandom(b, n, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                b += k;
                n -= (size_t) k;
        }
        return 0;
}

int uuid_generate(uint8_t ret[16]) {
        int r;

        r = random_bytes(ret, 16);
        if (r < 0)
                return r;
        ret[6] = (ret[6] & 0x0f) | 0x40; /* version 4 */
        ret[8] = (ret[8] & 0x3f) | 0x80; /* RFC 4122 variant */
        return 0;
}

bool uuid_is_null(const uint8_t uuid[16]) {
        for (size_t i = 0; i < 16; i++)
                if (uuid[i])
                        return false;
        return true;
}

int domain_def_generate_mac(uint8_t ret[MAC_ADDR_LEN]) {
        int r;

        ret[0] = 0x52;
        ret[1] = 0x54;
        ret[2] = 0x00;
        r = random_bytes(ret + 3, 3);
        return r < 0 ? r : 0;
}

int domain_def_fill_macs(DomainDef *def) {
        int n = 0;

        for (size_t i = 0; i < def->n_interfaces; i++) {
                DomainInterface *iface = &def->interfaces[i];
                int r;

                if (iface->has_mac)
                        continue;
                r = domain_def_generate_mac(iface->mac);
                if (r < 0)
                        return r;
                iface->has_mac = true;
                n++;
        }
        return n;
}

int mac_parse_string(const char *s, uint8_t ret[MAC_ADDR_LEN]) {
        uint8_t m[MAC_ADDR_LEN];

        if (!s || strlen(s) != 17)
                return -EINVAL;
        for (size_t i = 0; i < MAC_ADDR_LEN; i++) {
                int hi = unhex(s[i * 3]), lo = unhex(s[i * 3 + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                if (i < MAC_ADDR_LEN - 1 && s[i * 3 + 2] != ':')
                        return -EINVAL;
                m[i] = (uint8_t) (hi << 4 | lo);
        }
        memcpy(ret, m, MAC_ADDR_LEN);
        return 0;
}

void mac_format(const uint8_t mac[MAC_ADDR_LEN], char buf[18]) {
        (void) snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
                        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}
