/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A seccomp deny-list for the container (EPERM, as nspawn answers): system
 * calls that act on the host's kernel as a whole and are not virtualized by
 * any namespace. Most already need a capability we drop from the bounding
 * set; the filter also holds when a user re-enables one, and closes the paths
 * that CAP_SYS_ADMIN (kept, see helper-caps.c) would open.
 *
 * Mounting, without a user namespace: the container's root holds
 * CAP_SYS_ADMIN over the host's user namespace, so the kernel lets it undo
 * everything the helper built: remount /proc/sys or /sys read-write (then
 * /proc/sys/kernel/core_pattern runs a program as host root), unmount the
 * /proc masks, mount a fresh proc, sysfs or devtmpfs (the host's device
 * nodes), remount the host's cgroup hierarchies read-write and raise its own
 * limits. Once init's world is built, mount(2), umount2(2), pivot_root(2) and
 * the new mount API are therefore refused, unless the definition turns
 * sys_admin on explicitly (<capabilities policy='allow'> or
 * <sys_admin state='on'/>: a full OS as init needs its mounts, and its owner
 * said so). With a user namespace the copied mounts are locked and a fresh
 * proc or sysfs that would reveal what ours mask is refused by the kernel
 * itself (mount_too_revealing()), so mounting stays allowed there: systemd
 * as init needs it and it gains nothing over the host.
 *
 * Not denied on purpose: reboot (in a PID namespace it ends the container's
 * init, which is what the container's "reboot" should do), unshare/setns,
 * ptrace (within the PID namespace).
 *
 * no_new_privs is NOT set: setuid binaries in the container (su, ping) must
 * keep working as they do on a host and in nspawn. Loading a filter without
 * it needs CAP_SYS_ADMIN, which the child still has at that point. */

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <stdio.h>
#include <unistd.h>

#include "helper.h"
#include "helper-log.h"

static const char *const denied_syscalls[] = {
        /* kernel modules: code into the host kernel */
        "init_module", "finit_module", "delete_module",
        /* replacing the running kernel */
        "kexec_load", "kexec_file_load",
        /* the kernel keyring is not namespaced: the host's keys */
        "add_key", "request_key", "keyctl",
        /* opens any file of a mounted fs by handle, bypassing the mount
         * namespace: the "shocker" escape */
        "open_by_handle_at",
        /* host-wide swap, process accounting, quotas on host block devices */
        "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
        /* the host's kernel log */
        "syslog",
        /* the host's clock */
        "settimeofday", "clock_settime", "stime",
        /* raw port I/O */
        "iopl", "ioperm",
        /* eBPF and perf run in and observe the host's kernel (CAP_SYS_ADMIN
         * would allow them) */
        "bpf", "perf_event_open", "lookup_dcookie",
        /* obsolete interfaces with a history of holes */
        "_sysctl", "uselib", "nfsservctl", "vm86", "vm86old",
};

/* Denied unless <vivarium:syscalls allow='...'/> names their group: what
 * some programs use, with a record of kernel holes. */
static const struct {
        SyscallGroup group;
        const char *const names[3];
} denied_groups[] = {
        /* io_uring: a large kernel surface with a long list of privilege
         * escalations, and its operations bypass a filter on the plain
         * system calls (databases and some runtimes want it) */
        { SYSCALL_GROUP_IO_URING, { "io_uring_setup", "io_uring_enter", "io_uring_register" } },
        /* userfaultfd stalls the kernel inside a copy from user space at a
         * moment the attacker chooses: the usual tool to win a kernel race
         * (CRIU and live migration want it) */
        { SYSCALL_GROUP_USERFAULTFD, { "userfaultfd" } },
};

/* See the top of this file: what undoes the container's mounts. */
static const char *const mount_syscalls[] = {
        "mount", "umount", "umount2", "pivot_root",
        "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
};

/* No user namespace, and sys_admin not turned on explicitly. */
bool seccomp_denies_mounts(const DomainDef *def) {
        if (def->n_uid_map > 0)
                return false;
        if (def->cap_policy == CAP_POLICY_ALLOW)
                return false;
        for (size_t i = 0; i < def->n_cap_toggles; i++)
                if (def->cap_toggles[i].cap == CAP_SYS_ADMIN && def->cap_toggles[i].on)
                        return false;
        return true;
}

static void deny_all(scmp_filter_ctx ctx, const char *const *names, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int nr = seccomp_syscall_resolve_name(names[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue;  /* unknown to this libseccomp */
                int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0)
                        log_debug_errno(r, "Failed to add seccomp rule for %s, ignoring: %m", names[i]);
        }
}

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

/* The filter, ready to load or to export. */
static int denylist_build(const DomainDef *def, scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;

        if (!ctx)
                return -ENOMEM;

        /* the compat ABIs enter through other system call numbers: filter them too */
#if defined(__x86_64__)
        (void) seccomp_arch_add(ctx, SCMP_ARCH_X86);
        (void) seccomp_arch_add(ctx, SCMP_ARCH_X32);
#elif defined(__aarch64__)
        (void) seccomp_arch_add(ctx, SCMP_ARCH_ARM);
#endif
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return r;

        deny_all(ctx, denied_syscalls, ELEMENTSOF(denied_syscalls));
        for (size_t i = 0; i < ELEMENTSOF(denied_groups); i++) {
                size_t n = 0;
                if (def->syscalls_allowed & denied_groups[i].group)
                        continue;
                while (n < ELEMENTSOF(denied_groups[i].names) && denied_groups[i].names[n])
                        n++;
                deny_all(ctx, denied_groups[i].names, n);
        }
        if (seccomp_denies_mounts(def))
                deny_all(ctx, mount_syscalls, ELEMENTSOF(mount_syscalls));
        *ret = TAKE_PTR(ctx);
        return 0;
}

int seccomp_apply_denylist(const DomainDef *def) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        r = denylist_build(def, &ctx);
        if (r < 0)
                return r;
        return seccomp_load(ctx);
}

/* The same filter as raw BPF in PATH (written whole, then renamed into
 * place), for `vivctl enter`: a command entered into the container gets what
 * its init got (docs/internals.md). */
int seccomp_export_denylist(const DomainDef *def, const char *path) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = denylist_build(def, &ctx);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}
