/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* <lxc:namespace>: namespaces the container joins instead of making its own
 * (libvirt's sharenet, shareipc, shareuts).
 *
 * The helper opens them in the host's namespaces before cloning init:
 * type='netns' is /run/netns/NAME (ip netns), type='pid' the namespace of
 * that host process, type='name' the one of another running Vivarium
 * container, whose helper tells its init's PID on its control socket. Init
 * is cloned without the matching CLONE_NEW* flag and joins them with
 * setns() first thing, so its mounts (/dev/mqueue, /proc/sys/net) belong to
 * the shared namespaces.
 *
 * With a user namespace of its own (the default), init joins them the
 * same way, as the host's root, before it enters that user namespace: the
 * kernel lets a process sit in a network, IPC or UTS namespace that another
 * user namespace owns (the host's, or the other container's). The container
 * is then not made to own them: userns_create() leaves out the kinds that
 * are shared. Its root uses what it joined (sockets, the interfaces and
 * addresses it sees, SysV IPC objects that their modes let it reach, the
 * hostname) but holds no capability over it: it cannot reconfigure the
 * interfaces, bind a port below net.ipv4.ip_unprivileged_port_start, or set
 * the hostname, which is what the namespace's owner decides. */

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "helper.h"
#include "helper-log.h"

static const char *const ns_file[_NS_SHARE_KIND_MAX] = {
        [NS_SHARE_NET] = "net",
        [NS_SHARE_IPC] = "ipc",
        [NS_SHARE_UTS] = "uts",
};

static const int ns_flag[_NS_SHARE_KIND_MAX] = {
        [NS_SHARE_NET] = CLONE_NEWNET,
        [NS_SHARE_IPC] = CLONE_NEWIPC,
        [NS_SHARE_UTS] = CLONE_NEWUTS,
};

/* The PID of another container's init, from its helper (Describe). */
static int container_leader(const char *name, pid_t *ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *address = NULL;
        const char *n, *uuid, *unit, *state;
        uint32_t helper_pid, leader;
        int r;

        if (asprintf(&address, "unix:path=/run/vivarium/containers/%s.sock", name) < 0)
                return -ENOMEM;
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, "Describe", &error, &reply, "");
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "ssuuss", &n, &uuid, &helper_pid, &leader, &unit, &state);
        if (r < 0)
                return r;
        if (leader == 0)
                return -ESRCH;
        *ret = (pid_t) leader;
        return 0;
}

int nsshare_open(const Helper *h, int ret_fds[_NS_SHARE_KIND_MAX], char **ret_error) {
        const DomainDef *def = h->def;
        int r;

        for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++) {
                const DomainNsShare *share = &def->ns_share[k];
                const char *what = ns_share_kind_to_string((NsShareKind) k);
                _cleanup_free_ char *path = NULL;
                pid_t pid = 0;

                if (share->type == NS_SHARE_NONE)
                        continue;
                switch (share->type) {
                case NS_SHARE_NETNS:
                        r = asprintf(&path, "/run/netns/%s", share->value);
                        break;
                case NS_SHARE_NAME:
                        if (streq(share->value, def->name)) {
                                (void) asprintf(ret_error, "Container '%s' cannot share a namespace with itself (<%s>)",
                                                def->name, what);
                                return -EINVAL;
                        }
                        r = container_leader(share->value, &pid);
                        if (r < 0) {
                                (void) asprintf(ret_error,
                                                "Container '%s' shares the %s namespace of container '%s' (<%s>), which "
                                                "is not running: %s", def->name, ns_file[k], share->value, what,
                                                strerror(-r));
                                return r;
                        }
                        r = asprintf(&path, "/proc/%d/ns/%s", (int) pid, ns_file[k]);
                        break;
                default:
                        r = asprintf(&path, "/proc/%s/ns/%s", share->value, ns_file[k]);
                        break;
                }
                if (r < 0)
                        return -ENOMEM;
                ret_fds[k] = open(path, O_RDONLY | O_CLOEXEC);
                if (ret_fds[k] < 0) {
                        r = -errno;
                        (void) asprintf(ret_error, "Failed to open the %s namespace '%s' for container '%s' (<%s type='%s' value='%s'>): %s",
                                        ns_file[k], path, def->name, what, ns_share_type_to_string(share->type),
                                        share->value, strerror(-r));
                        return r;
                }
        }
        return 0;
}

uint64_t nsshare_clone_flags_unshared(const DomainDef *def) {
        uint64_t flags = 0;
        for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++)
                if (def->ns_share[k].type != NS_SHARE_NONE)
                        flags |= (uint64_t) ns_flag[k];
        return flags;
}

int nsshare_join(int fds[_NS_SHARE_KIND_MAX], const char *name, char **ret_error) {
        for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++) {
                if (fds[k] < 0)
                        continue;
                if (setns(fds[k], ns_flag[k]) < 0) {
                        int r = -errno;
                        (void) asprintf(ret_error, "Failed to join the shared %s namespace of container '%s': %s",
                                        ns_file[k], name, strerror(-r));
                        return r;
                }
                fds[k] = safe_close(fds[k]);
        }
        return 0;
}
