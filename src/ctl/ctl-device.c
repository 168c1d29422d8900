/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* attach-device and detach-device over AttachDevice/DetachDevice, with
 * virsh's options: --live, --config, --current, --persistent. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ctl.h"

/* libvirt's VIR_DOMAIN_AFFECT_* */
#define AFFECT_LIVE   UINT64_C(1)
#define AFFECT_CONFIG UINT64_C(2)

static int device_verb(Context *c, const VerbArgs *a, const char *member, const char *done) {
        _cleanup_free_ char *xml = NULL, *name = NULL;
        const char *file = args_get(a, "file");
        bool live = args_flag(a, "live"), config = args_flag(a, "config");
        uint64_t flags;
        size_t size;
        int r;

        if (args_flag(a, "current") && (live || config || args_flag(a, "persistent")))
                return ctl_error(-EINVAL, "Options --current and --live/--config/--persistent are mutually exclusive");
        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
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
        flags = (live ? AFFECT_LIVE : 0) | (config ? AFFECT_CONFIG : 0);

        r = read_file_or_report(file, &xml, &size);
        if (r < 0)
                return r;
        c->document = file;
        r = ctl_call(c, name, member, NULL, "sst", name, xml, flags);
        c->document = NULL;
        if (r < 0)
                return r;
        ctl_info(c, "Device %s successfully", done);
        return 0;
}

static int verb_attach_device(Context *c, const VerbArgs *a) {
        return device_verb(c, a, "AttachDevice", "attached");
}

static int verb_detach_device(Context *c, const VerbArgs *a) {
        return device_verb(c, a, "DetachDevice", "detached");
}

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
          "Attach one <disk>, <hostdev> or <interface> from FILE: live (a running\n"
          "domain's device nodes, device policy and lent host links) and/or to\n"
          "the persistent definition. Live <interface> needs --config.",
          device_options, VERB_NEEDS_URI, verb_attach_device },
        { "detach-device", "Domain Management", "detach device from an XML file",
          "Detach the device FILE describes (a hostdev by its source, a disk by\n"
          "its target, an interface by its MAC), live and/or from the\n"
          "persistent definition.",
          device_options, VERB_NEEDS_URI, verb_detach_device },
        {}
};
