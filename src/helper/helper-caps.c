/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The capability bounding set of the container.
 *
 * Default (policy='default'): systemd-nspawn's choice minus CAP_MKNOD and
 * CAP_AUDIT_CONTROL, plus CAP_NET_ADMIN with a private network namespace.
 *
 * CAP_SYS_ADMIN is kept: libvirt LXC keeps it, and a full OS in the container
 * (systemd as init, which the seed's readers will try) cannot set up its
 * mounts without it; the protection of the host against it comes from the
 * mount namespace, the masked /proc paths, the read-only /proc/sys and /sys
 * and the seccomp deny-list (bpf, perf, open_by_handle_at, ...; and, without
 * a user namespace, every mount call unless sys_admin is turned on
 * explicitly: helper-seccomp.c), not from the bounding set. A container that needs no more drops it with
 * <capabilities policy='default'><sys_admin state='off'/></capabilities>; for
 * real isolation use <idmap> (a user namespace), where all of these are only
 * capabilities over the container's own namespaces.
 *
 * CAP_MKNOD is dropped: a root that may mknod can create a node for a host
 * disk on any filesystem without nodev (the private root is a host
 * directory); the scope's DevicePolicy=closed (scope.c) refuses to open it
 * too, a second wall.
 * CAP_AUDIT_CONTROL changes the host's audit rules. Everything not listed
 * (SYS_MODULE, SYS_RAWIO, SYS_TIME, SYS_PACCT, SYSLOG, MAC_*, IPC_LOCK,
 * NET_ADMIN on the host's network, BPF, PERFMON, ...) acts on the host kernel. */

#include <sys/capability.h>
#include <sys/prctl.h>

#include "helper.h"
#include "helper-log.h"

static const int default_caps[] = {
        CAP_AUDIT_WRITE,
        CAP_CHOWN,
        CAP_DAC_OVERRIDE,
        CAP_DAC_READ_SEARCH,
        CAP_FOWNER,
        CAP_FSETID,
        CAP_IPC_OWNER,
        CAP_KILL,
        CAP_LEASE,
        CAP_LINUX_IMMUTABLE,
        CAP_NET_BIND_SERVICE,
        CAP_NET_BROADCAST,
        CAP_NET_RAW,
        CAP_SETFCAP,
        CAP_SETGID,
        CAP_SETPCAP,
        CAP_SETUID,
        CAP_SYS_ADMIN,
        CAP_SYS_BOOT,           /* reboot() in a PID namespace only ends the container's init */
        CAP_SYS_CHROOT,
        CAP_SYS_NICE,
        CAP_SYS_PTRACE,
        CAP_SYS_RESOURCE,
        CAP_SYS_TTY_CONFIG,
};

DEFINE_TRIVIAL_CLEANUP_FUNC(cap_t, cap_free);

int caps_apply_bounding_set(const DomainDef *def) {
        unsigned last = (unsigned) cap_max_bits();
        bool keep[128] = {};
        int r;

        if (last > ELEMENTSOF(keep))
                last = ELEMENTSOF(keep);

        switch (def->cap_policy) {
        case CAP_POLICY_ALLOW:
                for (unsigned c = 0; c < last; c++)
                        keep[c] = true;
                break;
        case CAP_POLICY_DENY:
                break;
        default:
                for (size_t i = 0; i < ELEMENTSOF(default_caps); i++)
                        keep[default_caps[i]] = true;
                if (domain_def_has_privnet(def))
                        keep[CAP_NET_ADMIN] = true;  /* over its own network namespace only */
                break;
        }
        for (size_t i = 0; i < def->n_cap_toggles; i++)
                if (def->cap_toggles[i].cap >= 0 && (unsigned) def->cap_toggles[i].cap < last)
                        keep[def->cap_toggles[i].cap] = def->cap_toggles[i].on;

        for (unsigned c = 0; c < last; c++) {
                if (keep[c])
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long) c, 0, 0, 0) < 0 && errno != EINVAL)
                        return log_error_errno(errno, "Failed to drop capability %u from the bounding set: %m", c);
        }

        /* root's exec grants inheritable & file-inheritable: the inheritable
         * set must not carry what the bounding set no longer has */
        _cleanup_(cap_freep) cap_t caps = cap_get_proc();
        if (!caps)
                return -errno;
        r = cap_clear_flag(caps, CAP_INHERITABLE) < 0 || cap_set_proc(caps) < 0 ? -errno : 0;
        if (r < 0)
                return log_error_errno(r, "Failed to clear the inheritable capabilities: %m");
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        return 0;
}
