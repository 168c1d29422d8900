/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registration with systemd-machined, so that machinectl lists the container.
 * Optional: without a system bus or machined the container runs all the same.
 * The machine's unit is the scope the manager created for us; machined finds
 * it from the leader's cgroup. */

#include <string.h>

#include "domain.h"
#include "helper.h"
#include "helper-log.h"

#define MACHINED_TIMEOUT_USEC (5ULL * 1000 * 1000)

void machine_register(Helper *h) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const DomainFilesystem *root = domain_def_root(h->def);
        int r;

        r = sd_bus_open_system(&h->system_bus);
        if (r < 0) {
                log_debug_errno(r, "No system bus, not registering with machined: %m");
                return;
        }
        r = sd_bus_message_new_method_call(h->system_bus, &m, "org.freedesktop.machine1",
                                           "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
                                           "RegisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", h->name);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', h->def->uuid, 16);
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "vivarium", "container", (uint32_t) h->init_pid,
                                          /* an image root has no directory on the host */
                                          !root ? "/" : root->type == FILESYSTEM_MOUNT ? root->source : "");
        if (r >= 0)
                r = sd_bus_call(h->system_bus, m, MACHINED_TIMEOUT_USEC, &error, NULL);
        /* No connection is kept for the container's lifetime: the bus daemon
         * allows a user 256 connections (max_connections_per_user), and one
         * per helper made every container past the ~250th fail to register
         * (ENOBUFS). */
        h->system_bus = sd_bus_flush_close_unref(h->system_bus);
        if (r < 0) {
                log_full_errno(LOG_LEVEL_NOTICE, r, "Failed to register with systemd-machined, ignoring: %s",
                               error.message ? error.message : strerror(-r));
                return;
        }
        h->machine_registered = true;
}

void machine_unregister(Helper *h) {
        if (h->machine_registered && !h->system_bus && sd_bus_open_system(&h->system_bus) < 0)
                h->machine_registered = false;
        if (h->machine_registered) {
                /* Required, not a courtesy: a machine left registered is
                 * terminated by machined once it sees the scope gone, and it
                 * does that by stopping machine-NAME.scope by name, by then
                 * possibly the scope of this container's next start (a
                 * reboot; bench/README.md "Tried and reverted"). */
                (void) sd_bus_call_method(h->system_bus, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                          "org.freedesktop.machine1.Manager", "UnregisterMachine",
                                          NULL, NULL, "s", h->name);
                h->machine_registered = false;
        }
        h->system_bus = sd_bus_flush_close_unref(h->system_bus);
}
