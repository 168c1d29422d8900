/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The manager's side of a helper's control socket: a peer-to-peer sd-bus
 * connection to /run/vivarium/containers/NAME.sock, opened for calls and
 * closed once none is pending. Kept open, every running container's
 * connection cost the manager's loop on each iteration (sd-event asks every
 * attached connection what it waits for before it polls): with 1,000
 * containers that was the largest part of the manager's CPU per start and
 * per call (bench/run scale). Init's end needs no connection: the helper
 * writes NAME.exit before its Exited signal, and the manager reads the file
 * when it received no signal. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "bus-names.h"
#include "macros.h"
#include "manager.h"

/* past the helper's own bounded wait for the device policy (10 s) */
#define HELPER_DEVICES_TIMEOUT_USEC (30 * 1000000ULL)

/* D-Bus addresses escape every byte outside this set as %XX. */
static int address_escape(const char *s, char **ret) {
        static const char hex[] = "0123456789abcdef";
        char *buf, *t;

        buf = malloc(strlen(s) * 3 + 1);
        if (!buf)
                return -ENOMEM;
        for (t = buf; *s; s++) {
                unsigned char ch = (unsigned char) *s;

                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    strchr("-_/.\\*", ch))
                        *t++ = (char) ch;
                else {
                        *t++ = '%';
                        *t++ = hex[ch >> 4];
                        *t++ = hex[ch & 15];
                }
        }
        *t = 0;
        *ret = buf;
        return 0;
}

static int exited_cb(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Container *c = userdata;
        const char *detail;
        int32_t code;
        int r;

        r = sd_bus_message_read(msg, "si", &detail, &code);
        if (r < 0) {
                fprintf(stderr, "Failed to parse Exited from the helper of container '%s', ignoring: %s\n", c->name,
                        strerror(-r));
                return 0;
        }
        free(c->exit_detail);
        c->exit_detail = strdup(detail);
        c->exit_code = code;
        c->got_exited = !!c->exit_detail;
        return 0;
}

static int idle_cb(sd_event_source *s, void *userdata) {
        Container *c = userdata;

        /* an adoption waits for Describe with the connection it set up */
        if (c->helper_calls == 0 && !c->adopting)
                helper_disconnect(c);
        return 0;
}

/* Closed from the loop, never from inside the connection's own callbacks. */
static void helper_idle_later(Container *c) {
        int r;

        if (c->helper_calls > 0 || !c->helper_bus)
                return;
        if (!c->helper_idle) {
                r = sd_event_add_defer(c->manager->event, &c->helper_idle, idle_cb, c);
                if (r < 0)
                        return; /* kept open: costs time, not correctness */
                (void) sd_event_source_set_priority(c->helper_idle, SD_EVENT_PRIORITY_IDLE);
        }
        (void) sd_event_source_set_enabled(c->helper_idle, SD_EVENT_ONESHOT);
}

void helper_disconnect(Container *c) {
        c->exited_slot = sd_bus_slot_unref(c->exited_slot);
        /* No flush: a helper that went away or hangs must not block the loop.
         * Detached first: its pending calls end while it is freed. */
        sd_bus_close_unref(TAKE_PTR(c->helper_bus));
}

int helper_connect(Container *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *escaped = NULL, *address = NULL;
        int r;

        if (c->helper_bus) {
                if (sd_bus_is_open(c->helper_bus) > 0)
                        return 0;
                helper_disconnect(c);
        }

        if (asprintf(&path, "%s/%s.sock", c->manager->run_dir, c->name) < 0)
                return -ENOMEM;
        r = address_escape(path, &escaped);
        if (r < 0)
                return r;
        if (asprintf(&address, "unix:path=%s", escaped) < 0)
                return -ENOMEM;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, c->manager->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(bus, &c->exited_slot, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, "Exited", exited_cb,
                                c);
        if (r < 0)
                return r;

        c->helper_bus = TAKE_PTR(bus);
        return 0;
}

int helper_peer_pid(Container *c, pid_t *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        int n;

        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", c->manager->run_dir, c->name);
        if (n < 0 || (size_t) n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        /* A bare socket, closed at once: no sd-bus connection per helper
         * while a thousand are adopted (each would cost every iteration of
         * the loop). connect() returns once the helper's backlog took it,
         * whether the helper runs or is stopped. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        /* the listener's credentials, from when it called listen() */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (cred.pid <= 0)
                return -ESRCH;
        *ret = cred.pid;
        return 0;
}

/* A call of the helper's INTERFACE.METHOD with its arguments, connected. */
static int helper_new_call(Container *c, const char *interface, const char *method, sd_bus_message **ret,
                           const char *types, va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = helper_connect(c);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(c->helper_bus, &msg, NULL, VIV_HELPER_PATH, interface, method);
        if (r < 0)
                return r;
        r = sd_bus_message_appendv(msg, types, ap);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 0;
}

int helper_call_devices(Container *c, const char *method, sd_bus_error *error, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = helper_new_call(c, VIV_HELPER_DEVICES_IFACE, method, &msg, types, ap);
        va_end(ap);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to call the helper of container '%s': %m", c->name);
        r = sd_bus_call(c->helper_bus, msg, HELPER_DEVICES_TIMEOUT_USEC, error, NULL);
        helper_idle_later(c);
        return r;
}

/* An asynchronous call's own userdata, and the count of pending calls that
 * keeps the connection open. */
typedef struct HelperCall {
        Container *container;
        sd_bus_message_handler_t handler;
        void *userdata;
        sd_bus_destroy_t destroy;
} HelperCall;

static int helper_call_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        HelperCall *hc = userdata;

        return hc->handler(reply, hc->userdata, ret_error);
}

static void helper_call_free(void *p) {
        HelperCall *hc = p;
        Container *c = hc->container;

        hc->destroy(hc->userdata);
        c->helper_calls--;
        helper_idle_later(c);
        container_unref(c);
        free(hc);
}

int helper_call_devices_bytes(Container *c, const char *method, const void *data, size_t size, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = helper_connect(c);
        if (r >= 0)
                r = sd_bus_message_new_method_call(c->helper_bus, &msg, NULL, VIV_HELPER_PATH, VIV_HELPER_DEVICES_IFACE,
                                                   method);
        if (r >= 0)
                r = sd_bus_message_append_array(msg, 'y', data, size);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to call the helper of container '%s': %m", c->name);
        return sd_bus_call(c->helper_bus, msg, HELPER_DEVICES_TIMEOUT_USEC, error, NULL);
}

static int helper_call_ownedv(Container *c, const char *method, sd_bus_message_handler_t handler, void *userdata,
                              sd_bus_destroy_t destroy, uint64_t timeout_usec, const char *types, va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        sd_bus_slot *slot = NULL;
        HelperCall *hc;
        int r;

        r = helper_new_call(c, VIV_HELPER_IFACE, method, &msg, types, ap);
        if (r >= 0) {
                hc = malloc(sizeof(HelperCall));
                if (!hc)
                        r = -ENOMEM;
        }
        if (r < 0) {
                destroy(userdata);
                helper_idle_later(c);
                return r;
        }
        *hc = (HelperCall) { container_ref(c), handler, userdata, destroy };
        c->helper_calls++;
        r = sd_bus_call_async(c->helper_bus, &slot, msg, helper_call_reply, hc, timeout_usec);
        if (r < 0) {
                helper_call_free(hc);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, helper_call_free);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        return 0;
}

int helper_call_async(Container *c, sd_bus_message *reply_to, const char *method, sd_bus_message_handler_t handler,
                      const char *types, ...) {
        va_list ap;
        int r;

        /* The caller's message is kept until the helper answered. */
        va_start(ap, types);
        r = helper_call_ownedv(c, method, handler, sd_bus_message_ref(reply_to), bus_message_unref_void, 0, types,
                               ap);
        va_end(ap);
        return r;
}

int helper_call_owned_args(Container *c, const char *method, sd_bus_message_handler_t handler, void *userdata,
                           sd_bus_destroy_t destroy, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = helper_call_ownedv(c, method, handler, userdata, destroy, 0, types, ap);
        va_end(ap);
        return r;
}

static int helper_call_owned_timeoutv(Container *c, const char *method, sd_bus_message_handler_t handler,
                                      void *userdata, sd_bus_destroy_t destroy, uint64_t timeout_usec, ...) {
        va_list ap;
        int r;

        va_start(ap, timeout_usec);
        r = helper_call_ownedv(c, method, handler, userdata, destroy, timeout_usec, "", ap);
        va_end(ap);
        return r;
}

int helper_call_owned_timeout(Container *c, const char *method, sd_bus_message_handler_t handler, void *userdata,
                              sd_bus_destroy_t destroy, uint64_t timeout_usec) {
        return helper_call_owned_timeoutv(c, method, handler, userdata, destroy, timeout_usec);
}

int helper_call_owned(Container *c, const char *method, sd_bus_message_handler_t handler, void *userdata,
                      sd_bus_destroy_t destroy) {
        return helper_call_owned_args(c, method, handler, userdata, destroy, "");
}

int helper_call_internal(Container *c, const char *method, sd_bus_message_handler_t handler) {
        return helper_call_owned(c, method, handler, container_ref(c), container_unref_void);
}
