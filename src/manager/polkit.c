/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Access checks: root may do everything; other callers of mutating methods
 * are asked about through polkit (CheckAuthorization). The query is
 * asynchronous: the method call is parked, and once polkit has answered it is
 * put back into the bus's read queue and dispatched again, this time finding
 * the answer. Without polkit, non-root callers are refused. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus-names.h"
#include "macros.h"
#include "manager.h"

struct PolkitQuery {
        Manager *manager;
        sd_bus_message *request;
        sd_bus_slot *slot;
        bool done;
        bool authorized;
        char *error_message;
        PolkitQuery *next;
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->error_message);
        free(q);
        return NULL;
}

static void polkit_query_unlink(Manager *m, PolkitQuery *q) {
        for (PolkitQuery **p = &m->polkit_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        return;
                }
}

void manager_free_polkit_queries(Manager *m) {
        while (m->polkit_queries) {
                PolkitQuery *q = m->polkit_queries;
                m->polkit_queries = q->next;
                polkit_query_free(q);
        }
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->done = true;

        if (e) {
                q->error_message = strdup(e->message ? e->message : e->name);
                fprintf(stderr, "polkit check failed, refusing: %s\n", strna(q->error_message));
        } else {
                int authorized = 0, challenge = 0;

                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0)
                        q->error_message = strdup("Invalid reply from polkit");
                q->authorized = r >= 0 && authorized;
        }

        /* Dispatch the call again: its handler now finds the answer. */
        r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(q->manager->bus, q->request);
        if (r < 0) {
                (void) sd_bus_reply_method_errnof(q->request, r, "Failed to resume the call after polkit: %m");
                polkit_query_unlink(q->manager, q);
                polkit_query_free(q);
        }
        return 0;
}

static int polkit_start(Manager *m, sd_bus_message *msg, const char *action) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        PolkitQuery *q;
        const char *sender;
        int r;

        sender = sd_bus_message_get_sender(msg);
        if (!sender)
                return -EBADMSG;

        r = sd_bus_message_new_method_call(m->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        /* The subject is the bus name: polkit resolves it to the process
         * itself, so the caller cannot lie about who it is. */
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender, action, 0,
                                  (uint32_t) (sd_bus_message_get_allow_interactive_authorization(msg) > 0 ? 1 : 0),
                                  "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->manager = m;
        q->request = sd_bus_message_ref(msg);

        /* An interactive check waits for a human: no short timeout. */
        r = sd_bus_call_async(m->bus, &q->slot, call, polkit_reply, q, 5 * 60 * 1000000ULL);
        if (r < 0) {
                polkit_query_free(q);
                return r;
        }
        q->next = m->polkit_queries;
        m->polkit_queries = q;
        return 0;
}

/* > 0 when PID runs in another PID namespace than we do: a container's
 * process (every container has its own PID namespace). Without a user
 * namespace a container's root is uid 0 on the host, and a shared-root
 * container that reaches the system bus would otherwise be the host's root
 * here: create a container with every capability, destroy the others. The
 * PID is the bus daemon's record of the connection; a caller that exits and
 * whose PID is taken by a host process before we look is not caught, as
 * with any PID-based check. */
static int pid_in_other_pid_namespace(pid_t pid) {
        struct stat a, b;
        char fn[64];

        snprintf(fn, sizeof fn, "/proc/%d/ns/pid", (int) pid);
        if (stat(fn, &a) < 0)
                return -errno;
        if (stat("/proc/self/ns/pid", &b) < 0)
                return -errno;
        return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

int bus_check_privileged(Manager *m, sd_bus_message *msg, const char *action, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        pid_t pid;
        int r;

        /* Never anything the caller sent: the bus's record of the sender. */
        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_pid(creds, &pid);
        if (r >= 0)
                r = pid_in_other_pid_namespace(pid);
        if (r != 0) {
                /* also when we cannot tell (-ESRCH: gone already) */
                if (r < 0)
                        fprintf(stderr, "Cannot tell whether the caller of '%s' runs in a container, refusing: %s\n",
                                action, strerror(-r));
                return sd_bus_error_setf(error, VIV_ERROR_ACCESS_DENIED,
                                         "Access denied: '%s' is not allowed from inside a container", action);
        }
        if (uid == 0)
                return 1;

        for (PolkitQuery *q = m->polkit_queries; q; q = q->next) {
                bool authorized;

                if (q->request != msg)
                        continue;
                if (!q->done)
                        return 0;

                authorized = q->authorized;
                polkit_query_unlink(m, q);
                polkit_query_free(q);
                if (authorized)
                        return 1;
                return sd_bus_error_setf(error, VIV_ERROR_ACCESS_DENIED,
                                         "Access denied: not authorized for '%s'", action);
        }

        r = polkit_start(m, msg, action);
        if (r < 0) {
                fprintf(stderr, "Failed to ask polkit, refusing: %s\n", strerror(-r));
                return sd_bus_error_setf(error, VIV_ERROR_ACCESS_DENIED,
                                         "Access denied: not authorized for '%s'", action);
        }
        return 0;
}
