/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Console streams: a container's console carried in D-Bus messages, for
 * callers whose connection cannot pass file descriptors (sd-bus over ssh
 * and systemd-stdio-bridge, Cockpit's JSON D-Bus channel).
 *
 * OpenConsoleStream asks the helper for the same relayed socket that
 * OpenConsole hands out, keeps it here, and exports a session object
 * /org/vivarium1/console/N (org.vivarium1.ConsoleStream). What the console
 * prints goes to the opener only, as unicast Output(ay) signals; Write(ay)
 * types into it; Close() or the opener leaving the bus ends it, and the
 * end of the console (container stopped, another client took it with
 * force) is told with Closed(s). Only the opener may use the session: the
 * console is as private as the fd OpenConsole returns. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-names.h"
#include "macros.h"
#include "manager.h"

#define STREAM_CHUNK 4096
#define STREAM_INPUT_MAX (64 * 1024)

struct ConsoleStream {
        Manager *manager;
        Container *container;          /* referenced */
        char *path;
        char *owner;                   /* unique bus name of the opener */
        int fd;                        /* the helper's relayed console */
        sd_event_source *io;
        sd_bus_slot *object;
        sd_bus_track *track;
        char *pending;                 /* input not yet taken by the socket */
        size_t n_pending;
        ConsoleStream *next;
};

static void stream_free(ConsoleStream *s) {
        if (!s)
                return;
        for (ConsoleStream **p = &s->manager->console_streams; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        sd_event_source_disable_unref(s->io);
        sd_bus_slot_unref(s->object);
        sd_bus_track_unref(s->track);
        safe_close(s->fd);
        container_unref(s->container);
        free(s->pending);
        free(s->path);
        free(s->owner);
        free(s);
}

/* Tells the opener why the stream ended, then drops it. */
static void stream_end(ConsoleStream *s, const char *reason) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        if (sd_bus_message_new_signal(s->manager->bus, &m, s->path, VIV_CONSOLE_STREAM_IFACE, "Closed") >= 0 &&
            sd_bus_message_set_destination(m, s->owner) >= 0 && sd_bus_message_append(m, "s", reason) >= 0)
                (void) sd_bus_send(s->manager->bus, m, NULL);
        stream_free(s);
}

static int stream_update_events(ConsoleStream *s) {
        return sd_event_source_set_io_events(s->io, EPOLLIN | (s->n_pending > 0 ? EPOLLOUT : 0));
}

static int stream_flush(ConsoleStream *s) {
        while (s->n_pending > 0) {
                ssize_t k = send(s->fd, s->pending, s->n_pending, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                memmove(s->pending, s->pending + k, s->n_pending - (size_t) k);
                s->n_pending -= (size_t) k;
        }
        return stream_update_events(s);
}

static int stream_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        ConsoleStream *s = userdata;
        char buf[STREAM_CHUNK];

        if ((revents & EPOLLOUT) && stream_flush(s) < 0) {
                stream_end(s, "closed");
                return 0;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;

        /* One chunk per wake-up: a chatty console cannot starve the bus. */
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (k <= 0) {
                stream_end(s, "closed");
                return 0;
        }

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sd_bus_message_new_signal(s->manager->bus, &m, s->path, VIV_CONSOLE_STREAM_IFACE, "Output");
        if (r >= 0)
                r = sd_bus_message_set_destination(m, s->owner);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', buf, (size_t) k);
        if (r >= 0)
                r = sd_bus_send(s->manager->bus, m, NULL);
        if (r < 0) {
                fprintf(stderr, "Failed to send console output of container '%s': %s\n", s->container->name,
                        strerror(-r));
                stream_end(s, "failed");
        }
        return 0;
}

static int stream_check_owner(ConsoleStream *s, sd_bus_message *msg, sd_bus_error *error) {
        if (!streq(strempty(sd_bus_message_get_sender(msg)), s->owner))
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "The console stream of container '%s' belongs to another client",
                                         s->container->name);
        return 0;
}

static int method_write(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        ConsoleStream *s = userdata;
        const void *data;
        size_t n;
        int r;

        r = stream_check_owner(s, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(msg, 'y', &data, &n);
        if (r < 0)
                return r;
        if (s->n_pending + n > STREAM_INPUT_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "The console of container '%s' does not take input that fast",
                                         s->container->name);
        char *p = realloc(s->pending, s->n_pending + n + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p + s->n_pending, data, n);
        s->pending = p;
        s->n_pending += n;
        r = stream_flush(s);
        if (r < 0) {
                sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "The console of container '%s' is closed",
                                  s->container->name);
                stream_end(s, "closed");
                return -EPIPE;
        }
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_close(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        ConsoleStream *s = userdata;
        int r;

        r = stream_check_owner(s, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_reply_method_return(msg, NULL);
        stream_free(s);
        return r;
}

static const sd_bus_vtable console_stream_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("Write", "ay", SD_BUS_PARAM(data), "", , method_write, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Close", "", "", method_close, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("Output", "ay", SD_BUS_PARAM(data), 0),
        SD_BUS_SIGNAL_WITH_NAMES("Closed", "s", SD_BUS_PARAM(reason), 0),
        SD_BUS_VTABLE_END,
};

static int owner_gone(sd_bus_track *t, void *userdata) {
        stream_free(userdata);
        return 0;
}

/* The helper answered OpenConsole: keep its socket and export the session. */
static int stream_open_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *pc = userdata;
        sd_bus_message *call = pc->call;
        Manager *m = pc->container->manager;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        ConsoleStream *s;
        int fd, r;

        if (e)
                return sd_bus_reply_method_error(call, e);
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return sd_bus_reply_method_errnof(call, r, "Invalid console reply from the helper: %m");

        s = calloc(1, sizeof(*s));
        if (!s)
                return sd_bus_reply_method_errno(call, ENOMEM, NULL);
        *s = (ConsoleStream) { .manager = m, .container = container_ref(pc->container), .fd = -EBADF };
        s->next = m->console_streams;
        m->console_streams = s;

        s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (s->fd < 0) {
                r = -errno;
                goto fail;
        }
        r = fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
        if (r < 0) {
                r = -errno;
                goto fail;
        }
        s->owner = strdup(strempty(sd_bus_message_get_sender(call)));
        if (!s->owner || asprintf(&s->path, VIV_CONSOLE_STREAM_PREFIX "/%" PRIu64, ++m->console_stream_counter) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_bus_track_new(m->bus, &s->track, owner_gone, s);
        if (r >= 0)
                r = sd_bus_track_add_sender(s->track, call);
        if (r >= 0)
                r = sd_bus_add_object_vtable(m->bus, &s->object, s->path, VIV_CONSOLE_STREAM_IFACE,
                                             console_stream_vtable, s);
        if (r >= 0)
                r = sd_event_add_io(m->event, &s->io, s->fd, EPOLLIN, stream_io, s);
        if (r < 0)
                goto fail;
        return sd_bus_reply_method_return(call, "o", s->path);

fail:
        stream_free(s);
        return sd_bus_reply_method_errnof(call, r, "Failed to set up the console stream: %m");
}

int container_method_open_console_stream(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        PendingCall *pc;
        uint64_t flags;
        int r;

        r = container_console_request(c, msg, &flags, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* refused, or asked polkit */
        /* Taking the console over also ends a stream this manager relays. */
        if (flags & VIV_CONSOLE_FORCE)
                for (ConsoleStream *s = c->manager->console_streams, *next; s; s = next) {
                        next = s->next;
                        if (s->container == c)
                                stream_end(s, "taken over");
                }

        pc = pending_call_new(msg, c);
        if (!pc)
                return -ENOMEM;
        r = helper_call_owned_args(c, "OpenConsole", stream_open_reply, pc, pending_call_free, "b",
                                   (int) !!(flags & VIV_CONSOLE_FORCE));
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to reach the helper of container '%s': %m", c->name);
        return 1;
}

void console_streams_free(Manager *m) {
        while (m->console_streams)
                stream_free(m->console_streams);
}
