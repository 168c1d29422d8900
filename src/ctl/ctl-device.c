/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* attach-device, detach-device, attach-interface and detach-interface over
 * AttachDevice/DetachDevice, with virsh's options: --live, --config,
 * --current, --persistent. */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl.h"
#include "domain.h"
#include "macros.h"

/* libvirt's VIR_DOMAIN_AFFECT_* */
#define AFFECT_LIVE   UINT64_C(1)
#define AFFECT_CONFIG UINT64_C(2)

/* virsh's --live/--config/--current/--persistent as libvirt's flags for
 * domain NAME. */
static int affect_flags(Context *c, const VerbArgs *a, const char *name, uint64_t *ret) {
        bool live = args_flag(a, "live"), config = args_flag(a, "config");
        int r;

        if (args_flag(a, "current") && (live || config || args_flag(a, "persistent")))
                return ctl_error(-EINVAL, "Options --current and --live/--config/--persistent are mutually exclusive");
        if (args_flag(a, "persistent")) {
                /* virsh: the definition, and the running domain if it runs */
                DomainEntry e = {};

                r = ctl_lookup_domain(c, name, &e);
                if (r < 0)
                        return r;
                config = true;
                live = live || e.id > 0;
                domain_entry_done(&e);
        }
        *ret = (live ? AFFECT_LIVE : 0) | (config ? AFFECT_CONFIG : 0);
        return 0;
}

static int call_device(Context *c, const char *name, const char *member, const char *xml, uint64_t flags,
                       const char *file) {
        int r;

        c->document = file;
        r = ctl_call(c, name, member, NULL, "sst", name, xml, flags);
        c->document = NULL;
        return r;
}

/* The domain's name, resolved, and virsh's flags for it. */
static int resolve_affected(Context *c, const VerbArgs *a, char **ret_name, uint64_t *ret_flags) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        r = affect_flags(c, a, name, ret_flags);
        if (r < 0)
                return r;
        *ret_name = TAKE_PTR(name);
        return 0;
}

static int device_verb(Context *c, const VerbArgs *a, const char *member, const char *done) {
        _cleanup_free_ char *xml = NULL, *name = NULL;
        const char *file = args_get(a, "file");
        uint64_t flags;
        size_t size;
        int r;

        r = resolve_affected(c, a, &name, &flags);
        if (r < 0)
                return r;
        r = read_file_or_report(file, &xml, &size);
        if (r < 0)
                return r;
        r = call_device(c, name, member, xml, flags, file);
        if (r < 0)
                return r;
        ctl_info(c, "Device %s successfully", done);
        return 0;
}

/* --- attach-interface / detach-interface ---------------------------------------- */

static const char *const iface_types[] = { "network", "bridge", "ethernet", "direct", NULL };

static bool iface_type_ok(const char *type) {
        for (const char *const *t = iface_types; *t; t++)
                if (streq(*t, type))
                        return true;
        return false;
}

/* The opening of attach-interface and detach-interface: TYPE checked (virsh's
 * message for VERB), the domain's name resolved, the --live/--config flags,
 * and, when ret_def is given, the definition they act on: the live one
 * (--live, --current) or the stored one (--config alone). */
static int interface_verb_begin(Context *c, const VerbArgs *a, const char *verb, char **ret_name, uint64_t *ret_flags,
                                DomainDef **ret_def) {
        _cleanup_free_ char *name = NULL;
        const char *type = args_get(a, "type");
        uint64_t flags;
        int r;

        if (!iface_type_ok(type))
                return ctl_error(-EINVAL, "No support for %s in command '%s'", type, verb);
        r = resolve_affected(c, a, &name, &flags);
        if (r < 0)
                return r;
        if (ret_def) {
                bool stored = (flags & AFFECT_CONFIG) && !(flags & AFFECT_LIVE);
                r = ctl_get_domain_def(c, name, stored ? VIV_XML_INACTIVE : UINT64_C(0), ret_def);
                if (r < 0)
                        return r;
        }
        *ret_name = TAKE_PTR(name);
        *ret_flags = flags;
        return 0;
}

/* virsh's "average,peak,burst,floor" (ctl_rate_parse()) as a <bandwidth>
 * child: -EINVAL when it is not that, or gives none. */
static int format_rate(FILE *f, const char *element, const char *spec) {
        uint64_t v[4];
        bool given[4], any = false;
        int r;

        r = ctl_rate_parse(element, spec, v, given);
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        fprintf(f, "<%s", element);
        for (size_t i = 0; i < 4; i++)
                if (given[i]) {
                        fprintf(f, " %s='%" PRIu64 "'", ctl_rate_fields[i], v[i]);
                        any = true;
                }
        fprintf(f, "/>");
        return any ? 0 : -EINVAL;
}

/* <interface type=TYPE> with its source (none for ethernet), target dev
 * and MAC when given, and a <bandwidth> of virsh's rates IN and OUT. */
static int interface_xml_full(const char *type, const char *source, const char *target, const char *mac,
                              const char *in, const char *out, char **ret) {
        _cleanup_free_ char *xml = NULL;
        size_t len = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&xml, &len);
        if (!f)
                return -ENOMEM;
        xml_printf(f, "<interface type='%s'>", type);
        if (streq(type, "network"))
                xml_printf(f, "<source network='%s'/>", strempty(source));
        else if (streq(type, "bridge"))
                xml_printf(f, "<source bridge='%s'/>", strempty(source));
        else if (streq(type, "direct"))
                xml_printf(f, "<source dev='%s'/>", strempty(source));
        if (target)
                xml_printf(f, "<target dev='%s'/>", target);
        if (mac)
                xml_printf(f, "<mac address='%s'/>", mac);
        if (in || out) {
                fputs("<bandwidth>", f);
                if (in && format_rate(f, "inbound", in) < 0)
                        r = -EINVAL;
                if (out && r >= 0 && format_rate(f, "outbound", out) < 0)
                        r = -EDOM;
                fputs("</bandwidth>", f);
        }
        fputs("</interface>", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(xml);
        return 0;
}

static int interface_xml(const char *type, const char *source, const char *target, const char *mac, char **ret) {
        return interface_xml_full(type, source, target, mac, NULL, NULL, ret);
}

static int verb_attach_interface(Context *c, const VerbArgs *a) {
        _cleanup_free_ char *name = NULL, *xml = NULL;
        const char *type = args_get(a, "type");
        uint64_t flags;
        int r;

        r = interface_verb_begin(c, a, "attach-interface", &name, &flags, NULL);
        if (r < 0)
                return r;
        r = interface_xml_full(type, args_get(a, "source"), args_get(a, "target"), args_get(a, "mac"),
                               args_get(a, "inbound"), args_get(a, "outbound"), &xml);
        if (r == -EINVAL)
                return ctl_error(r, "inbound format is incorrect");
        if (r == -EDOM)
                return ctl_error(r, "outbound format is incorrect");
        if (r < 0)
                return ctl_error(r, "Out of memory");
        r = call_device(c, name, "AttachDevice", xml, flags, NULL);
        if (r < 0)
                return r;
        ctl_info(c, "Interface attached successfully");
        return 0;
}

/* virsh's: the one interface of TYPE (or of TYPE and --mac) of the live
 * definition (--config: the stored one), detached by its MAC. */
static int verb_detach_interface(Context *c, const VerbArgs *a) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *name = NULL, *xml = NULL;
        const char *type = args_get(a, "type"), *mac = args_get(a, "mac");
        const DomainInterface *found = NULL;
        uint8_t want[MAC_ADDR_LEN];
        unsigned n = 0;
        uint64_t flags;
        char text[18];
        int r;

        r = interface_verb_begin(c, a, "detach-interface", &name, &flags, &def);
        if (r < 0)
                return r;
        if (mac && mac_parse_string(mac, want) < 0)
                return ctl_error(-EINVAL, "Invalid MAC address '%s'", mac);
        ARRAY_FOREACH(iface, def->interfaces, def->n_interfaces) {
                if (!streq(interface_type_to_string(iface->type), type))
                        continue;
                if (mac && !(iface->has_mac && memcmp(iface->mac, want, MAC_ADDR_LEN) == 0))
                        continue;
                found = iface;
                n++;
        }
        if (n == 0)
                return mac ? ctl_error(-ENODEV, "No interface found whose type is %s and MAC address is %s", type, mac)
                           : ctl_error(-ENODEV, "No interface found whose type is %s", type);
        if (n > 1)
                return ctl_error(-EINVAL, "Domain has %u interfaces. Please specify which one to detach using --mac", n);
        mac_format(found->mac, text);
        r = interface_xml(type, found->source, NULL, text, &xml);
        if (r < 0)
                return ctl_error(r, "Out of memory");
        r = call_device(c, name, "DetachDevice", xml, flags, NULL);
        if (r < 0)
                return r;
        ctl_info(c, "Interface detached successfully");
        return 0;
}

static int verb_attach_device(Context *c, const VerbArgs *a) {
        return device_verb(c, a, "AttachDevice", "attached");
}

static int verb_detach_device(Context *c, const VerbArgs *a) {
        return device_verb(c, a, "DetachDevice", "detached");
}

#define AFFECT_OPTIONS \
        { "persistent", OPT_BOOL, 0, "make live change persistent" }, \
        { "config", OPT_BOOL, 0, "affect next boot" }, \
        { "live", OPT_BOOL, 0, "affect running domain" }, \
        { "current", OPT_BOOL, 0, "affect current domain" }

static const VerbOption attach_interface_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "type", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "network, bridge, ethernet or direct" },
        { "source", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "the network, bridge or parent device (ignored for ethernet)" },
        { "target", OPT_STRING, 0, "the host-side device's name" },
        { "mac", OPT_STRING, 0, "the MAC address (generated when absent)" },
        { "inbound", OPT_STRING, 0, "inbound rate: average,peak,burst,floor (KiB/s, KiB)" },
        { "outbound", OPT_STRING, 0, "outbound rate: average,peak,burst (KiB/s, KiB)" },
        AFFECT_OPTIONS,
        {}
};

static const VerbOption detach_interface_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "type", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "network, bridge, ethernet or direct" },
        { "mac", OPT_STRING, 0, "the MAC address of the interface, when it has several of TYPE" },
        AFFECT_OPTIONS,
        {}
};

static const VerbOption device_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        { "file", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "XML file" },
        { "persistent", OPT_BOOL, 0, "make live change persistent" },
        { "config", OPT_BOOL, 0, "affect next boot" },
        { "live", OPT_BOOL, 0, "affect running domain" },
        { "current", OPT_BOOL, 0, "affect current domain" },
        {}
};

const Verb verb_table_device[] = {
        { "attach-device", "Domain Management", "attach device from an XML file",
          "Attach one <disk>, <hostdev>, <interface> or <filesystem> from FILE:\n"
          "live (a running domain's device nodes, device policy, lent host links,\n"
          "a <filesystem type='mount'> bind-mounted at its target) and/or to\n"
          "the persistent definition: a live <interface> is made as a start\n"
          "makes it (veth, bridge port, shaping, anti-spoofing filter).",
          device_options, VERB_NEEDS_URI, verb_attach_device },
        { "attach-interface", "Domain Management", "attach network interface",
          "Attach an <interface> of TYPE on SOURCE, as attach-device with the\n"
          "element these options describe.",
          attach_interface_options, VERB_NEEDS_URI, verb_attach_interface },
        { "detach-interface", "Domain Management", "detach network interface",
          "Detach the interface of TYPE (and --mac): the only one of that type\n"
          "unless --mac names it.",
          detach_interface_options, VERB_NEEDS_URI, verb_detach_interface },
        { "detach-device", "Domain Management", "detach device from an XML file",
          "Detach the device FILE describes (a hostdev by its source, a disk or\n"
          "a filesystem by its target, an interface by its MAC), live and/or\n"
          "from the persistent definition.",
          device_options, VERB_NEEDS_URI, verb_detach_device },
        {}
};
