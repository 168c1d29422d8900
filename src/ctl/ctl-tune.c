/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: resource verbs, setmem and schedinfo (virsh's syntax and output),
 * over SetMemory and SetSchedulerParameters. */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bus-names.h"
#include "ctl.h"
#include "domain-xml.h"

/* libvirt's VIR_DOMAIN_AFFECT_* */
#define AFFECT_CURRENT UINT64_C(0)
#define AFFECT_LIVE    UINT64_C(1)
#define AFFECT_CONFIG  UINT64_C(2)
/* libvirt's VIR_DOMAIN_MEM_MAXIMUM: setmaxmem */
#define MEM_MAXIMUM    UINT64_C(4)

/* Kernel defaults, shown when the definition sets nothing. */
#define DEFAULT_CPU_SHARES   UINT64_C(1024)
#define DEFAULT_VCPU_PERIOD  UINT64_C(100000)

static int affect_flags(const VerbArgs *a, uint64_t *ret) {
        bool live = args_flag(a, "live"), config = args_flag(a, "config");

        if (args_flag(a, "current") && (live || config))
                return ctl_error(-EINVAL, "Options --current and --live/--config are mutually exclusive");
        *ret = (live ? AFFECT_LIVE : 0) | (config ? AFFECT_CONFIG : 0);
        return 0;
}

/* virsh's scaled integers: a number with an optional unit, KiB by default;
 * "k", "KiB", "M", "MiB"... are powers of 1024, "KB", "MB"... of 1000. */
static int parse_size_kib(const char *s, uint64_t *ret) {
        uint64_t v, base, bytes;
        const char *p;
        char *end;

        if (!s || !*s || *s == '-')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s)
                return -EINVAL;

        if (!*end) {
                *ret = v;
                return 0;
        }
        if (strcasecmp(end, "b") == 0 || strcasecmp(end, "bytes") == 0) {
                *ret = v / 1024;
                return 0;
        }

        p = strchr("kmgtpe", tolower((unsigned char) end[0]));
        if (!p || !*p)
                return -EINVAL;
        if (end[1] == '\0' || strcasecmp(end + 1, "iB") == 0)
                base = 1024;
        else if (strcasecmp(end + 1, "B") == 0)
                base = 1000;
        else
                return -EINVAL;

        bytes = v;
        for (long i = 0; i <= p - "kmgtpe"; i++)
                if (__builtin_mul_overflow(bytes, base, &bytes))
                        return -ERANGE;
        *ret = bytes / 1024;
        return 0;
}

/* SetMemory(name, size, flags | EXTRA_FLAGS): setmem, and setmaxmem with MEM_MAXIMUM. */
static int set_memory(Context *c, const VerbArgs *a, uint64_t extra_flags) {
        _cleanup_free_ char *name = NULL;
        const char *size = args_get(a, "size");
        uint64_t kib, flags;
        int r;

        r = affect_flags(a, &flags);
        if (r < 0)
                return r;
        if (parse_size_kib(size, &kib) < 0 || kib == 0)
                return ctl_error(-EINVAL, "Numeric value '%s' for <size> option is malformed or out of range", size);

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        r = ctl_call(c, name, "SetMemory", NULL, "stt", name, kib, flags | extra_flags);
        return r < 0 ? r : 0;
}

static int verb_setmem(Context *c, const VerbArgs *a) {
        return set_memory(c, a, 0);
}

/* The definition in effect: the live one, or the stored one with --config. */
static int get_effective_def(Context *c, const char *name, uint64_t flags, DomainDef **ret) {
        return ctl_get_domain_def(c, name, (flags & AFFECT_CONFIG) ? VIV_XML_INACTIVE : UINT64_C(0), ret);
}

/* --- schedinfo ---------------------------------------------------------------- */

static int sched_set(Context *c, const char *name, const char *assignment, uint64_t flags) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *key = NULL;
        const char *eq = strchr(assignment, '='), *value;
        sd_bus *bus;
        char *end;
        int r;

        if (!eq || eq == assignment)
                return ctl_error(-EINVAL, "Invalid syntax for --set, expecting name=value");
        key = strndup(assignment, (size_t) (eq - assignment));
        if (!key)
                return ctl_error(-ENOMEM, "Out of memory");
        value = eq + 1;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE,
                                           "SetSchedulerParameters");
        if (r < 0)
                return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));

        r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));

        errno = 0;
        if (streq(key, "cpu_shares") || streq(key, "vcpu_period")) {
                uint64_t v = strtoull(value, &end, 10);
                if (errno != 0 || end == value || *end || *value == '-')
                        return ctl_error(-EINVAL, "Invalid value of %s for parameter %s", value, key);
                r = sd_bus_message_append(m, "{sv}", key, "t", v);
        } else if (streq(key, "vcpu_quota")) {
                int64_t v = strtoll(value, &end, 10);
                if (errno != 0 || end == value || *end)
                        return ctl_error(-EINVAL, "Invalid value of %s for parameter %s", value, key);
                r = sd_bus_message_append(m, "{sv}", key, "x", v);
        } else
                return ctl_error(-EINVAL, "invalid scheduler option: %s", key);
        if (r < 0)
                return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
        return ctl_call_parameters(bus, m, flags, name);
}

static int verb_schedinfo(Context *c, const VerbArgs *a) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *name = NULL;
        const char *set = args_get(a, "set");
        uint64_t flags;
        int r;

        r = affect_flags(a, &flags);
        if (r < 0)
                return r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        if (set) {
                r = sched_set(c, name, set, flags);
                if (r < 0)
                        return r;
        }

        r = get_effective_def(c, name, flags, &def);
        if (r < 0)
                return r;

        printf("%-15s: %s\n", "Scheduler", "posix");
        printf("%-15s: %" PRIu64 "\n", "cpu_shares",
               def->cpu_shares != UNSET_U64 ? def->cpu_shares : DEFAULT_CPU_SHARES);
        printf("%-15s: %" PRIu64 "\n", "vcpu_period",
               def->cpu_period_us != UNSET_U64 && def->cpu_period_us > 0 ? def->cpu_period_us : DEFAULT_VCPU_PERIOD);
        printf("%-15s: %" PRIi64 "\n", "vcpu_quota", def->cpu_quota_us != 0 ? def->cpu_quota_us : -1);
        return 0;
}

/* libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED (KiB) */
#define MEMORY_UNLIMITED UINT64_C(9007199254740991)

static int verb_setmaxmem(Context *c, const VerbArgs *a) {
        return set_memory(c, a, MEM_MAXIMUM);
}

/* METHOD(name, with its a{sv} of parameters open: ctl_call_parameters()
 * ends it. */
static int parameters_call_new(Context *c, const char *method, const char *name, sd_bus **ret_bus,
                               sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = ctl_bus(c, ret_bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(*ret_bus, &m, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
        *ret = TAKE_PTR(m);
        return 0;
}

/* Sends METHOD(name, a{sv} params, flags) with the options of A named in
 * KEYS whose values PARSE turns into numbers. Returns 0 when none was given. */
static int set_parameters(Context *c, const char *name, const char *method, const VerbArgs *a,
                          const char *const *options, const char *const *keys, size_t n,
                          int (*parse)(const char *, uint64_t *), uint64_t flags) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        bool any = false;
        sd_bus *bus;
        int r;

        r = parameters_call_new(c, method, name, &bus, &m);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const char *value = args_get(a, options[i]);
                uint64_t v;

                if (!value)
                        continue;
                if (parse(value, &v) < 0)
                        return ctl_error(-EINVAL, "Unable to parse integer parameter %s", options[i]);
                r = sd_bus_message_append(m, "{sv}", keys[i], "t", v);
                if (r < 0)
                        return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
                any = true;
        }
        if (!any)
                return 0;
        r = ctl_call_parameters(bus, m, flags, name);
        return r < 0 ? r : 1;
}

/* virsh's memtune values: scaled (KiB by default), -1 for unlimited. */
static int parse_memtune_value(const char *s, uint64_t *ret) {
        if (streq(s, "-1")) {
                *ret = MEMORY_UNLIMITED;
                return 0;
        }
        return parse_size_kib(s, ret);
}

static void print_memtune_value(const char *field, uint64_t kib) {
        if (kib == UNSET_U64)
                printf("%-15s: %s\n", field, "unlimited");
        else
                printf("%-15s: %" PRIu64 "\n", field, kib);
}

static int verb_memtune(Context *c, const VerbArgs *a) {
        static const char *const options[] = { "hard-limit", "soft-limit", "swap-hard-limit" };
        static const char *const keys[] = { "hard_limit", "soft_limit", "swap_hard_limit" };
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *name = NULL;
        uint64_t flags;
        int r;

        r = affect_flags(a, &flags);
        if (r < 0)
                return r;
        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        r = set_parameters(c, name, "SetMemoryParameters", a, options, keys, ELEMENTSOF(keys),
                           parse_memtune_value, flags);
        if (r != 0)
                return r < 0 ? r : 0; /* virsh prints nothing after a change */

        r = get_effective_def(c, name, flags, &def);
        if (r < 0)
                return r;
        print_memtune_value("hard_limit", def->hard_limit_kib);
        print_memtune_value("soft_limit", def->soft_limit_kib);
        print_memtune_value("swap_hard_limit", def->swap_hard_limit_kib);
        return 0;
}

static int parse_weight(const char *s, uint64_t *ret) {
        char *end;

        if (!string_is_uint(s))
                return -EINVAL;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno != 0 ? -errno : 0;
}

/* virsh's --device-* options of blkiotune and libvirt's parameter names:
 * "PATH,VALUE[,PATH,VALUE...]" strings, 0 removes a device's value. */
static const struct {
        const char *option, *param;
} blkio_device_params[] = {
        { "device-weights", "device_weight" },
        { "device-read-iops-sec", "device_read_iops_sec" },
        { "device-write-iops-sec", "device_write_iops_sec" },
        { "device-read-bytes-sec", "device_read_bytes_sec" },
        { "device-write-bytes-sec", "device_write_bytes_sec" },
};

/* SetBlkioParameters with --weight and the --device-* strings given;
 * returns 0 when none was. */
static int blkio_set(Context *c, const char *name, const VerbArgs *a, uint64_t flags) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *weight = args_get(a, "weight");
        bool any = false;
        sd_bus *bus;
        int r;

        r = parameters_call_new(c, "SetBlkioParameters", name, &bus, &m);
        if (r < 0)
                return r;
        if (weight) {
                uint64_t v;

                if (parse_weight(weight, &v) < 0)
                        return ctl_error(-EINVAL, "Unable to parse integer parameter weight");
                r = sd_bus_message_append(m, "{sv}", "weight", "t", v);
                if (r < 0)
                        return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
                any = true;
        }
        for (size_t i = 0; i < ELEMENTSOF(blkio_device_params); i++) {
                const char *value = args_get(a, blkio_device_params[i].option);

                if (!value)
                        continue;
                r = sd_bus_message_append(m, "{sv}", blkio_device_params[i].param, "s", value);
                if (r < 0)
                        return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
                any = true;
        }
        if (!any)
                return 0;
        r = ctl_call_parameters(bus, m, flags, name);
        return r < 0 ? r : 1;
}

/* "PATH,VALUE,..." of one field of the devices, as libvirt's
 * device_* parameters read; "" when none has it. */
static void print_blkio_devices(const DomainDef *def, const char *param, size_t offset) {
        const char *sep = "";
        bool any = false;

        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices)
                any = any || *(const uint64_t *) ((const char *) bd + offset) > 0;
        /* virsh prints the empty ones too; they are left out, as before
         * the devices existed, when no device has that value */
        if (!any)
                return;
        printf("%-15s: ", param);
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices) {
                uint64_t v = *(const uint64_t *) ((const char *) bd + offset);
                if (v == 0)
                        continue;
                printf("%s%s,%" PRIu64, sep, bd->path, v);
                sep = ",";
        }
        printf("\n");
}

static int verb_blkiotune(Context *c, const VerbArgs *a) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *name = NULL;
        uint64_t flags;
        int r;

        r = affect_flags(a, &flags);
        if (r < 0)
                return r;
        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        r = blkio_set(c, name, a, flags);
        if (r != 0)
                return r < 0 ? r : 0;

        r = get_effective_def(c, name, flags, &def);
        if (r < 0)
                return r;
        /* 0: not set, the kernel's default applies (as virsh shows it) */
        printf("%-15s: %" PRIu64 "\n", "weight", def->blkio_weight != UNSET_U64 ? def->blkio_weight : 0);
        print_blkio_devices(def, "device_weight", offsetof(DomainBlkioDevice, weight));
        print_blkio_devices(def, "device_read_iops_sec", offsetof(DomainBlkioDevice, read_iops_sec));
        print_blkio_devices(def, "device_write_iops_sec", offsetof(DomainBlkioDevice, write_iops_sec));
        print_blkio_devices(def, "device_read_bytes_sec", offsetof(DomainBlkioDevice, read_bytes_sec));
        print_blkio_devices(def, "device_write_bytes_sec", offsetof(DomainBlkioDevice, write_bytes_sec));
        return 0;
}

#define AFFECT_OPTIONS \
        { "config", OPT_BOOL, 0, "affect next boot" }, \
        { "live", OPT_BOOL, 0, "affect running domain" }, \
        { "current", OPT_BOOL, 0, "affect current domain" }

static const VerbOption setmem_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "size", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "new memory size, as scaled integer (default KiB)" },
        AFFECT_OPTIONS,
        {}
};

static const VerbOption memtune_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "hard-limit", OPT_STRING, 0, "Max memory, as scaled integer (default KiB), -1 for unlimited" },
        { "soft-limit", OPT_STRING, 0, "Memory during contention, as scaled integer (default KiB), -1 for unlimited" },
        { "swap-hard-limit", OPT_STRING, 0, "Max memory plus swap, as scaled integer (default KiB), -1 for unlimited" },
        AFFECT_OPTIONS,
        {}
};

static const VerbOption blkiotune_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "weight", OPT_STRING, 0, "IO Weight in range [10, 1000]" },
        { "device-weights", OPT_STRING, 0, "per-device weights: PATH,WEIGHT[,PATH,WEIGHT...] (10..1000, 0 removes)" },
        { "device-read-iops-sec", OPT_STRING, 0, "per-device read operations per second: PATH,N[,...] (0 removes)" },
        { "device-write-iops-sec", OPT_STRING, 0, "per-device write operations per second: PATH,N[,...] (0 removes)" },
        { "device-read-bytes-sec", OPT_STRING, 0, "per-device read bytes per second: PATH,N[,...] (0 removes)" },
        { "device-write-bytes-sec", OPT_STRING, 0, "per-device write bytes per second: PATH,N[,...] (0 removes)" },
        AFFECT_OPTIONS,
        {}
};

static const VerbOption schedinfo_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "set", OPT_STRING, 0, "parameter=value: cpu_shares, vcpu_period (µs) or vcpu_quota (µs, <= 0 unlimited)" },
        AFFECT_OPTIONS,
        {}
};

const Verb verb_table_tune[] = {
        { "blkiotune", "Domain Management", "Get or set blkio parameters",
          "Get or set the current blkio parameters for a guest domain: the IO\n"
          "weight of its scope (IOWeight on cgroup v2, BlockIOWeight on v1) and\n"
          "per-device weights and read/write bytes and IOPS limits (io.weight,\n"
          "io.max on v2; blkio.weight_device, blkio.throttle.* on v1). A device\n"
          "value of 0 removes it.",
          blkiotune_options, VERB_NEEDS_URI, verb_blkiotune },
        { "memtune", "Domain Management", "Get or set memory parameters",
          "Get or set the current memory parameters for a guest domain (KiB):\n"
          "hard_limit (MemoryMax), soft_limit (MemoryHigh; v1: soft limit),\n"
          "swap_hard_limit (memory plus swap; MemorySwapMax is the swap part).",
          memtune_options, VERB_NEEDS_URI, verb_memtune },
        { "setmaxmem", "Domain Management", "change maximum memory limit",
          "Change the maximum memory (<memory>) of a domain: of the running one\n"
          "(--live: its scope's MemoryMax), of its definition (--config), or\n"
          "of what it is now (the default).",
          setmem_options, VERB_NEEDS_URI, verb_setmaxmem },
        { "schedinfo", "Domain Management", "show/set scheduler parameters",
          "Show/Set scheduler parameters: cpu_shares, vcpu_period, vcpu_quota.\n"
          "Values the definition does not set show the kernel's defaults.",
          schedinfo_options, VERB_NEEDS_URI, verb_schedinfo },
        { "setmem", "Domain Management", "change memory allocation",
          "Change the memory limit of a domain: of the running one (--live),\n"
          "of its definition (--config), or of what it is now (the default).",
          setmem_options, VERB_NEEDS_URI, verb_setmem },
        {}
};
