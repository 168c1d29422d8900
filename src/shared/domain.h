/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The typed model of a container definition: libvirt's domain XML for
 * type='lxc'. Parsed by domain-xml.c (parse + RelaxNG + semantic checks) and
 * written back normalized by the same file. No I/O other than the parser's. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOMAIN_NAME_MAX 64
#define MAC_ADDR_LEN 6
/* <vivarium:notify/> without a timeout: how long Start waits for READY=1 */
#define NOTIFY_TIMEOUT_DEFAULT_SEC 90U
#define NOTIFY_TIMEOUT_MAX_SEC 3600U

#define UNSET_U64 UINT64_MAX

typedef enum FilesystemType {
        FILESYSTEM_MOUNT, /* type='mount': bind mount of a host directory */
        FILESYSTEM_BIND,  /* type='bind': bind mount of a directory of the container's own root */
        FILESYSTEM_RAM,   /* type='ram': tmpfs; usage in KiB */
        FILESYSTEM_FILE,  /* type='file': a disk image, attached by the driver (loop or nbd) and mounted */
        FILESYSTEM_BLOCK, /* type='block': a host block device, mounted */
        _FILESYSTEM_TYPE_MAX,
} FilesystemType;

/* <driver type=...> of a type='file' filesystem */
typedef enum FilesystemDriver {
        FILESYSTEM_DRIVER_DEFAULT, /* no <driver>, or one without type: loop for type='file' */
        FILESYSTEM_DRIVER_LOOP,    /* a loop device (raw images only) */
        FILESYSTEM_DRIVER_NBD,     /* qemu-nbd on an nbd device (any format qemu reads) */
        _FILESYSTEM_DRIVER_MAX,
} FilesystemDriver;

/* <driver format=...>: the image's format (not the filesystem inside it) */
typedef enum ImageFormat {
        IMAGE_FORMAT_NONE,         /* no format= */
        IMAGE_FORMAT_RAW,
        IMAGE_FORMAT_QCOW2,
        IMAGE_FORMAT_QCOW,
        IMAGE_FORMAT_QED,
        IMAGE_FORMAT_VMDK,
        IMAGE_FORMAT_VDI,
        IMAGE_FORMAT_VPC,
        IMAGE_FORMAT_VHDX,
        _IMAGE_FORMAT_MAX,
} ImageFormat;

typedef struct DomainFilesystem {
        FilesystemType type;
        char *source;            /* mount/bind: source dir; file: image; block: device; ram: NULL */
        uint64_t ram_usage_kib;  /* ram: size of the tmpfs in KiB, 0 = the helper's default (10% of RAM) */
        char *target;            /* absolute path in the container */
        bool readonly;
        FilesystemDriver driver; /* file: loop or nbd (never DEFAULT after parsing) */
        ImageFormat format;      /* file: the image's format */
} DomainFilesystem;

typedef enum InterfaceType {
        INTERFACE_NETWORK,
        INTERFACE_BRIDGE,
        INTERFACE_DIRECT,
        INTERFACE_ETHERNET,
        _INTERFACE_TYPE_MAX,
} InterfaceType;

typedef enum DirectMode {
        DIRECT_MODE_VEPA,
        DIRECT_MODE_BRIDGE,
        DIRECT_MODE_PRIVATE,
        DIRECT_MODE_PASSTHROUGH,
        _DIRECT_MODE_MAX,
} DirectMode;

/* <vivarium:spoofcheck state='on|off'/> in an <interface> */
typedef enum SpoofCheck {
        SPOOFCHECK_DEFAULT,    /* on for type='network', off for the others */
        SPOOFCHECK_ON,
        SPOOFCHECK_OFF,
        _SPOOFCHECK_MAX,
} SpoofCheck;

/* <vivarium:port protocol='tcp|udp' host='N' container='N' [address='A']/>
 * in an <interface>: a port of the host forwarded (nftables DNAT, vivariumd's
 * ports.c) to the container's address on that interface. */
typedef enum PortProtocol {
        PORT_PROTOCOL_TCP,
        PORT_PROTOCOL_UDP,
        _PORT_PROTOCOL_MAX,
} PortProtocol;

typedef struct DomainPort {
        PortProtocol protocol;
        uint16_t host_port;      /* 1..65535 */
        uint16_t container_port; /* 1..65535, the host port when not given */
        char *address;           /* a host address (IPv4 or IPv6) it is published on; NULL: every one */
} DomainPort;

/* A <parameter name= value=/> of an interface's <filterref> (libvirt's
 * nwfilter), kept as given, in order: the parser has checked that the
 * filter knows it and that the value fits. */
typedef struct DomainFilterParam {
        char *name;           /* "IP", "MAC", "CTRL_IP_LEARNING", "DHCPSERVER", "GATEWAY_MAC" */
        char *value;
} DomainFilterParam;

typedef struct DomainIP {
        int family;           /* AF_INET or AF_INET6 */
        char *address;        /* textual, as given */
        unsigned prefix;      /* 0..32 / 0..128; when absent in the XML: 24 (v4) / 64 (v6) */
        char *peer;           /* optional */
} DomainIP;

typedef struct DomainRoute {
        int family;
        char *address;        /* destination network, NULL = default route */
        unsigned prefix;
        char *gateway;
} DomainRoute;

/* One direction of <bandwidth>, libvirt's units: average, peak and floor in
 * KiB/s, burst in KiB; 0 = not set. */
typedef struct DomainBandwidthRate {
        uint64_t average;
        uint64_t peak;
        uint64_t burst;
        uint64_t floor;        /* <inbound> of a type='network' interface only */
} DomainBandwidthRate;

typedef struct DomainInterface {
        InterfaceType type;
        uint8_t mac[MAC_ADDR_LEN];
        bool has_mac;          /* false: generated at start (52:54:00:xx:xx:xx) */
        char *source;          /* network name / bridge name / parent dev */
        DirectMode direct_mode;/* type='direct' */
        char *target_dev;      /* host side name, NULL = vnetN */
        char *guest_dev;       /* container side name, NULL = ethN */
        bool link_down;        /* <link state='down'/> */
        DomainBandwidthRate bw_in;  /* <bandwidth><inbound>: into the container */
        DomainBandwidthRate bw_out; /* <bandwidth><outbound>: from the container */
        DomainIP *ips;
        size_t n_ips;
        DomainRoute *routes;
        size_t n_routes;
        /* type='ethernet': <source><ip/><route/></source>, the host side's */
        DomainIP *host_ips;
        size_t n_host_ips;
        DomainRoute *host_routes;
        size_t n_host_routes;
        SpoofCheck spoofcheck;
        /* <filterref filter=...>: libvirt's nwfilter, mapped onto the
         * anti-spoofing filter (netguard.h); "clean-traffic" or
         * "clean-traffic-gateway", the ones Vivarium has, or NULL for none */
        char *filterref;
        DomainFilterParam *filter_params;
        size_t n_filter_params;
        DomainPort *ports;
        size_t n_ports;
        /* Live model only, never in XML: the IPv4 address the managed
         * network's DHCP server keeps for this interface's MAC (vivariumd
         * reserves it at start), NULL for none. */
        char *lease_address;
        /* The same for IPv6: the address its DHCPv6 gives the MAC. */
        char *lease_address6;
} DomainInterface;

/* <hostdev mode='capabilities' type=...>: a host resource handed to the
 * container as it is (libvirt's LXC host devices). */
typedef enum HostdevType {
        HOSTDEV_STORAGE,       /* <source><block>PATH</block>: a block device node at PATH */
        HOSTDEV_MISC,          /* <source><char>PATH</char>: a character device node at PATH */
        HOSTDEV_NET,           /* <source><interface>NAME</interface>: the host's link NAME, moved in */
        HOSTDEV_USB,           /* mode='subsystem': a USB device's node /dev/bus/usb/BBB/DDD */
        _HOSTDEV_TYPE_MAX,
} HostdevType;

typedef struct DomainHostdev {
        HostdevType type;
        char *source;          /* storage/misc: the host's node, the same path in the container; net: link name; usb: NULL */
        uint16_t usb_vendor;   /* usb: <vendor id=...>/<product id=...>, 0 = not given */
        uint16_t usb_product;
        uint16_t usb_bus;      /* usb: <address bus=... device=...>, 0 = not given */
        uint16_t usb_device;
        DomainIP *ips;         /* net: <ip>, <route> of the link inside, as an <interface>'s */
        size_t n_ips;
        DomainRoute *routes;
        size_t n_routes;
} DomainHostdev;

/* <disk type=... device='disk'>: a host block device (type='block') or an
 * image file on a loop device (type='file', raw) as /dev/TARGET inside. */
typedef enum DiskType {
        DISK_BLOCK,
        DISK_FILE,
        _DISK_TYPE_MAX,
} DiskType;

typedef struct DomainDisk {
        DiskType type;
        char *source;          /* <source dev=...> (block) or <source file=...> (file) */
        char *target;          /* <target dev=...>: "sdb" gives /dev/sdb */
        bool readonly;         /* <readonly/>: the node is read-only, the device policy "r" */
        /* Live model only, never in XML: the loop device (makedev()) vivariumd
         * attached a type='file' disk to at start, 0 = none. */
        uint64_t loop_rdev;
} DomainDisk;

/* <blkiotune><device>: libvirt's per-device weight and throttles of one
 * host block device, 0 = not set (libvirt's meaning of 0: no limit). */
typedef struct DomainBlkioDevice {
        char *path;              /* <path>: a block device node of the host */
        uint64_t weight;         /* <weight>, 10..1000 */
        uint64_t read_bytes_sec; /* <read_bytes_sec> */
        uint64_t write_bytes_sec;
        uint64_t read_iops_sec;
        uint64_t write_iops_sec;
} DomainBlkioDevice;

typedef struct DomainIdmap {
        uint32_t start;        /* first id inside the container */
        uint32_t target;       /* first id on the host */
        uint32_t count;
} DomainIdmap;

typedef struct DomainEnv {
        char *name;
        char *value;
} DomainEnv;

typedef enum CapPolicy {
        CAP_POLICY_DEFAULT,    /* Vivarium's reduced bounding set, then the toggles */
        CAP_POLICY_ALLOW,      /* everything, then the toggles */
        CAP_POLICY_DENY,       /* nothing, then the toggles */
} CapPolicy;

typedef struct DomainCapToggle {
        int cap;               /* CAP_* number */
        bool on;
} DomainCapToggle;

/* <vivarium:userns mode=...>: whether a definition without <idmap> gets a
 * user namespace of its own (a range picked at start, idmapped mounts). */
typedef enum UsernsMode {
        USERNS_MODE_DEFAULT,   /* no element: see domain_def_userns_pick() */
        USERNS_MODE_PICK,      /* mode='pick' */
        USERNS_MODE_OFF,       /* mode='off': the container's root is the host's */
        _USERNS_MODE_MAX,
} UsernsMode;

/* <lxc:namespace> (xmlns:lxc='http://libvirt.org/schemas/domain/lxc/1.0'):
 * a namespace the container joins instead of making its own */
typedef enum NsShareKind {
        NS_SHARE_NET,          /* <sharenet> */
        NS_SHARE_IPC,          /* <shareipc> */
        NS_SHARE_UTS,          /* <shareuts> */
        _NS_SHARE_KIND_MAX,
} NsShareKind;

typedef enum NsShareType {
        NS_SHARE_NONE,         /* not shared: a namespace of its own */
        NS_SHARE_NETNS,        /* type='netns': /run/netns/VALUE (sharenet only) */
        NS_SHARE_NAME,         /* type='name': another running container's */
        NS_SHARE_PID,          /* type='pid': the namespace of host PID VALUE */
        _NS_SHARE_TYPE_MAX,
} NsShareType;

typedef struct DomainNsShare {
        NsShareType type;
        char *value;           /* NULL when type is NS_SHARE_NONE */
} DomainNsShare;

typedef enum LifecycleAction {
        LIFECYCLE_DESTROY,
        LIFECYCLE_RESTART,
        LIFECYCLE_PRESERVE,
        LIFECYCLE_RENAME_RESTART,
        _LIFECYCLE_ACTION_MAX,
} LifecycleAction;

/* System calls the container's seccomp filter denies unless the definition
 * allows them with <vivarium:syscalls allow='...'/> (space-separated names). */
typedef enum SyscallGroup {
        SYSCALL_GROUP_IO_URING    = 1U << 0, /* "io_uring": io_uring_setup, _enter, _register */
        SYSCALL_GROUP_USERFAULTFD = 1U << 1, /* "userfaultfd" */
        _SYSCALL_GROUP_ALL        = (1U << 2) - 1,
} SyscallGroup;

typedef struct DomainDef {
        char *name;
        uint8_t uuid[16];      /* always set after parsing: generated when absent */
        bool uuid_generated;   /* true when the XML had none */
        char *title;
        char *description;

        uint64_t memory_kib;          /* <memory>, required by libvirt; 0 = none */
        uint64_t current_memory_kib;  /* <currentMemory>, UNSET_U64 = same as memory */
        uint64_t hard_limit_kib;      /* <memtune>, UNSET_U64 = unset */
        uint64_t soft_limit_kib;
        uint64_t swap_hard_limit_kib;

        unsigned vcpus;               /* <vcpu>, 0 = unset */
        char *cpuset;                 /* <vcpu cpuset=...>, NULL = unset */
        uint64_t cpu_shares;          /* <cputune><shares>, UNSET_U64 = unset */
        uint64_t cpu_period_us;       /* <cputune><period>, 0 = unset */
        int64_t cpu_quota_us;         /* <cputune><quota>, 0 = unset, <0 = unlimited */
        uint64_t blkio_weight;        /* <blkiotune><weight>, UNSET_U64 = unset */
        DomainBlkioDevice *blkio_devices; /* <blkiotune><device>, one per path */
        size_t n_blkio_devices;
        uint64_t tasks_max;           /* <vivarium:tasks max=...>, UNSET_U64 = default */
        uint32_t notify_timeout_sec;  /* <vivarium:notify timeout=...>: Start waits for READY=1; 0 = no notify */
        unsigned syscalls_allowed;    /* <vivarium:syscalls allow=...>: SYSCALL_GROUP_* bits */

        char *os_type;                /* "exe" */
        char *init;                   /* <init>, required */
        char **init_args;             /* <initarg>..., NULL-terminated, may be NULL */
        DomainEnv *init_env;          /* <initenv name=...>value</initenv> */
        size_t n_init_env;
        char *init_dir;               /* <initdir> */
        char *init_user;              /* <inituser> */
        char *init_group;             /* <initgroup> */

        DomainIdmap *uid_map;         /* <idmap><uid .../> */
        size_t n_uid_map;
        DomainIdmap *gid_map;
        size_t n_gid_map;
        UsernsMode userns_mode;       /* <vivarium:userns mode=...> */
        bool userns_picked;           /* the maps are a range picked at start: mounts are idmapped */

        bool privnet;                 /* <features><privnet/> */
        CapPolicy cap_policy;         /* <features><capabilities policy=...> */
        DomainCapToggle *cap_toggles;
        size_t n_cap_toggles;

        LifecycleAction on_poweroff;  /* default destroy */
        LifecycleAction on_reboot;    /* default restart */
        LifecycleAction on_crash;     /* default destroy */

        DomainNsShare ns_share[_NS_SHARE_KIND_MAX]; /* <lxc:namespace> */

        unsigned n_consoles;          /* <console type='pty'/> count */
        DomainFilesystem *filesystems;
        size_t n_filesystems;
        DomainInterface *interfaces;
        size_t n_interfaces;
        DomainHostdev *hostdevs;
        size_t n_hostdevs;
        DomainDisk *disks;
        size_t n_disks;
} DomainDef;

/* An empty model with the defaults a parse starts from (UNSET_U64 limits,
 * libvirt's lifecycle actions), or NULL when out of memory. */
DomainDef *domain_def_new(void);
DomainDef *domain_def_free(DomainDef *def);
/* What a DomainInterface owns (names, addresses, routes). */
void domain_interface_done(DomainInterface *iface);
/* What a DomainHostdev owns (source, addresses, routes). */
void domain_hostdev_done(DomainHostdev *hd);
static inline void domain_def_freep(DomainDef **p) {
        if (*p)
                domain_def_free(*p);
}

/* The filesystem whose target is "/", or NULL for a shared root. */
const DomainFilesystem *domain_def_root(const DomainDef *def);

/* True when the container gets its own network namespace. */
bool domain_def_has_privnet(const DomainDef *def);

/* True when a start picks a private ID range for the container (no <idmap>
 * and not opted out). */
bool domain_def_userns_pick(const DomainDef *def);

/* Sets a picked range as the container's maps (0..65535 -> base..): the live
 * definition of a running container shows it. Returns 0 or -ENOMEM. */
int domain_def_set_picked_range(DomainDef *def, uint32_t base);

#define USERNS_RANGE_SIZE 65536U

bool domain_name_is_valid(const char *name);

/* A <bandwidth> direction that shapes anything: average or floor set. */
static inline bool domain_bandwidth_rate_is_set(const DomainBandwidthRate *r) {
        return r->average > 0 || r->floor > 0;
}

const char *filesystem_type_to_string(FilesystemType t);
const char *filesystem_driver_to_string(FilesystemDriver d); /* "default", "loop", "nbd" */
const char *image_format_to_string(ImageFormat f);           /* "none", "raw", "qcow2", ... */
const char *interface_type_to_string(InterfaceType t);
const char *direct_mode_to_string(DirectMode m);
const char *lifecycle_action_to_string(LifecycleAction a);
const char *spoofcheck_to_string(SpoofCheck s); /* "default", "on", "off" */
const char *port_protocol_to_string(PortProtocol p); /* "tcp", "udp" */

/* How the anti-spoofing filter of IFACE learns an address, after its
 * <filterref> (libvirt's CTRL_IP_LEARNING): ANY (the default, also without
 * a <filterref>), DHCP or NONE. An IP parameter turns learning off, as in
 * libvirt, which learns only when IP has no value. */
typedef enum IpLearning {
        IP_LEARNING_ANY,
        IP_LEARNING_DHCP,
        IP_LEARNING_NONE,
        _IP_LEARNING_MAX,
} IpLearning;
const char *ip_learning_to_string(IpLearning l); /* "any", "dhcp", "none" */
IpLearning domain_interface_ip_learning(const DomainInterface *iface);
/* The values of IFACE's <filterref> parameter NAME, in order, into RET
 * (room for iface->n_filter_params; NULL: only counted); their number. */
size_t domain_interface_filter_values(const DomainInterface *iface, const char *name, const char **ret);
/* Same protocol and host port, on every host address or the same one. */
bool domain_ports_collide(const DomainPort *a, const DomainPort *b);

const char *userns_mode_to_string(UsernsMode m);
const char *ns_share_kind_to_string(NsShareKind k);  /* "sharenet", "shareipc", "shareuts" */
const char *ns_share_type_to_string(NsShareType t);  /* "none", "netns", "name", "pid" */

/* True when the definition joins any namespace through <lxc:namespace>. */
bool domain_def_shares_namespaces(const DomainDef *def);
const char *hostdev_type_to_string(HostdevType t); /* "storage", "misc", "net" */
const char *disk_type_to_string(DiskType t);       /* "block", "file" */

/* Helpers for identifiers, used by the parser and by the programs. */

/* Accepts 32 hex digits, with or without the dashes of 8-4-4-4-12, and
 * surrounding white space. Returns 0 or -EINVAL. */
int uuid_parse_string(const char *s, uint8_t ret[16]);
/* Writes the dashed, lowercase form and a NUL: buf needs 37 bytes. */
void uuid_format(const uint8_t uuid[16], char buf[37]);
/* A random (version 4) UUID from getrandom(). Returns 0 or -errno. */
int uuid_generate(uint8_t ret[16]);
bool uuid_is_null(const uint8_t uuid[16]);

/* A random, locally administered style MAC in libvirt's 52:54:00 prefix. */
int domain_def_generate_mac(uint8_t ret[MAC_ADDR_LEN]);
/* A generated MAC for every interface that has none (libvirt does this when
 * it parses a definition, so a defined domain keeps its MACs for good).
 * Returns how many were generated, or -errno. */
int domain_def_fill_macs(DomainDef *def);
/* "aa:bb:cc:dd:ee:ff" (either case) → 6 bytes. Returns 0 or -EINVAL. */
int mac_parse_string(const char *s, uint8_t ret[MAC_ADDR_LEN]);
/* Lowercase with colons and a NUL: buf needs 18 bytes. */
void mac_format(const uint8_t mac[MAC_ADDR_LEN], char buf[18]);

/* Capability names as in <features><capabilities>: the kernel's CAP_* names,
 * lowercased, without "cap_". Returns the number, or -EINVAL. */
int capability_from_name(const char *name);
/* NULL for an unknown number. */
const char *capability_to_name(int cap);

const char *cap_policy_to_string(CapPolicy p);

/* "io_uring" -> SYSCALL_GROUP_IO_URING, ...; -EINVAL for an unknown name. */
int syscall_group_from_name(const char *name);
/* NULL for anything but a single group. */
const char *syscall_group_to_name(SyscallGroup g);
