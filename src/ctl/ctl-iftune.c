/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: domiftune (virsh's syntax and output) over SetInterfaceParameters
 * and GetInterfaceParameters, and send-process-signal over
 * SendProcessSignal. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bus-names.h"
#include "ctl.h"

#define AFFECT_LIVE   UINT64_C(1)
#define AFFECT_CONFIG UINT64_C(2)

const char *const ctl_rate_fields[4] = { "average", "peak", "burst", "floor" };

int ctl_rate_parse(const char *direction, const char *spec, uint64_t v[4], bool given[4]) {
        _cleanup_free_ char *copy = strdup(spec);
        char *p, *tok;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < 4; i++) {
                v[i] = 0;
                given[i] = false;
        }
        p = copy;
        while ((tok = strsep(&p, ","))) {
                if (n == 4 || (n == 3 && streq(direction, "outbound")))
                        return -EINVAL;
                if (*tok) {
                        if (!string_is_uint(tok))
                                return -EINVAL;
                        errno = 0;
                        v[n] = strtoull(tok, NULL, 10);
                        if (errno != 0 || v[n] > UINT32_MAX)
                                return -EINVAL;
                        given[n] = true;
                }
                n++;
        }
        return 0;
}

/* Appends the named parameters of SPEC to M. */
static int append_rate(sd_bus_message *m, const char *direction, const char *spec) {
        const char *const *fields = ctl_rate_fields;
        uint64_t v[4];
        bool given[4];
        int r;

        r = ctl_rate_parse(direction, spec, v, given);
        if (r == -ENOMEM)
                return ctl_error(r, "Out of memory");
        if (r < 0)
                return ctl_error(r, "%s format is incorrect", direction);
        if (!given[0] && !given[3])
                return ctl_error(-EINVAL, "%s rate average is mandatory", direction);

        for (size_t i = 0; i < 4; i++) {
                _cleanup_free_ char *key = NULL;

                if (!given[i])
                        continue;
                if (asprintf(&key, "%s.%s", direction, fields[i]) < 0)
                        return ctl_error(-ENOMEM, "Out of memory");
                r = sd_bus_message_append(m, "{sv}", key, "u", (uint32_t) v[i]);
                if (r < 0)
                        return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
        }
        return 0;
}

static int iftune_set(Context *c, const char *name, const char *iface, const char *inbound, const char *outbound,
                      uint64_t flags) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus;
        int r;

        r = ctl_bus(c, &bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, VIV_BUS_NAME, VIV_MANAGER_PATH, VIV_MANAGER_IFACE,
                                           "SetInterfaceParameters");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", name, iface);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return ctl_error(r, "Failed to create a bus message: %s", strerror(-r));
        if (inbound && (r = append_rate(m, "inbound", inbound)) < 0)
                return r;
        if (outbound && (r = append_rate(m, "outbound", outbound)) < 0)
                return r;
        return ctl_call_parameters(bus, m, flags, name);
}

/* virsh prints each parameter as "%-15s: %u", in the order libvirt gives them. */
static int iftune_print(Context *c, const char *name, const char *iface, uint64_t flags) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = ctl_call(c, name, "GetInterfaceParameters", &reply, "sst", name, iface, flags);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0) {
                const char *key;
                uint32_t v;

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "v", "u", &v);
                if (r >= 0)
                        printf("%-15s: %" PRIu32 "\n", key, v);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return ctl_error(r, "Failed to parse the reply: %s", strerror(-r));
        return 0;
}

static int verb_domiftune(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        const char *iface = args_get(a, "interface");
        const char *inbound = args_get(a, "inbound"), *outbound = args_get(a, "outbound");
        bool live = args_flag(a, "live"), config = args_flag(a, "config");
        uint64_t flags;
        int r;

        if (args_flag(a, "current") && (live || config))
                return ctl_error(-EINVAL, "Options --current and --live/--config are mutually exclusive");
        flags = (live ? AFFECT_LIVE : 0) | (config ? AFFECT_CONFIG : 0);
        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;

        if (inbound || outbound)
                return iftune_set(c, name, iface, inbound, outbound, flags);
        /* showing both at once means nothing: virsh wants one of them */
        if (live && config)
                return ctl_error(-EINVAL, "Options --live and --config are mutually exclusive when showing");
        return iftune_print(c, name, iface, flags);
}

/* libvirt's VIR_DOMAIN_PROCESS_SIGNAL_* names, at their (Linux) numbers;
 * rt0..rt32 follow at 32..64. */
static const char *const signal_names[] = {
        "nop", "hup", "int", "quit", "ill", "trap", "abrt", "bus", "fpe", "kill", "usr1", "segv", "usr2", "pipe",
        "alrm", "term", "stkflt", "chld", "cont", "stop", "tstp", "ttin", "ttou", "urg", "xcpu", "xfsz", "vtalrm",
        "prof", "winch", "poll", "pwr", "sys",
};

/* As virsh: a number, or a name in any case with or without "sig"/"sig_". */
static int parse_signal(const char *s, uint32_t *ret) {
        const char *p = s;

        if (string_is_uint(s)) {
                unsigned long v;

                errno = 0;
                v = strtoul(s, NULL, 10);
                if (errno != 0 || v > UINT32_MAX)
                        return -ERANGE;
                *ret = (uint32_t) v;
                return 0;
        }
        if (strncasecmp(p, "sig_", 4) == 0)
                p += 4;
        else if (strncasecmp(p, "sig", 3) == 0)
                p += 3;
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (strcasecmp(p, signal_names[i]) == 0) {
                        *ret = (uint32_t) i;
                        return 0;
                }
        if (strncasecmp(p, "rt", 2) == 0 && string_is_uint(p + 2) && strlen(p + 2) <= 2 && atoi(p + 2) <= 32) {
                *ret = 32 + (uint32_t) atoi(p + 2);
                return 0;
        }
        return -EINVAL;
}

static int verb_send_process_signal(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL;
        const char *pid_s = args_get(a, "pid"), *signame = args_get(a, "signame");
        long long pid;
        uint32_t sig;
        char *end;
        int r;

        errno = 0;
        pid = strtoll(pid_s, &end, 10);
        if (errno != 0 || end == pid_s || *end)
                return ctl_error(-EINVAL, "Numeric value '%s' for <pid> option is malformed or out of range", pid_s);
        if (parse_signal(signame, &sig) < 0)
                return ctl_error(-EINVAL, "malformed signal name: %s", signame);
        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        return ctl_call(c, name, "SendProcessSignal", NULL, "sxut", name, (int64_t) pid, sig, UINT64_C(0));
}

static const VerbOption domiftune_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "interface", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "interface device (host-side name or MAC)" },
        { "inbound", OPT_STRING, 0, "control domain's incoming traffic: average,peak,burst,floor" },
        { "outbound", OPT_STRING, 0, "control domain's outgoing traffic: average,peak,burst" },
        { "config", OPT_BOOL, 0, "affect next boot" },
        { "live", OPT_BOOL, 0, "affect running domain" },
        { "current", OPT_BOOL, 0, "affect current domain" },
        {}
};

static const VerbOption send_process_signal_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "pid", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "the process ID, in the domain's PID namespace" },
        { "signame", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "the signal: a number, or a name such as SIGTERM or term" },
        {}
};

const Verb verb_table_iftune[] = {
        { "domiftune", "Domain Monitoring", "get/set parameters of a virtual interface",
          "Get or set the bandwidth of a domain's interface: average and peak in\n"
          "KiB/s, burst in KiB (0 as the average removes a direction). Shaped on\n"
          "the host side of the interface's veth; floor needs network QoS.",
          domiftune_options, VERB_NEEDS_URI, verb_domiftune },
        { "send-process-signal", "Domain Management", "Send signals to processes",
          "Send a signal to a process of the domain, given by its PID in the\n"
          "domain's PID namespace (1 is its init).",
          send_process_signal_options, VERB_NEEDS_URI, verb_send_process_signal },
        {}
};
