/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list-floor: the floor of ListContainers through the system bus (issue 14,
 * bench/list-cost.sh). A service that owns NAME, asks vivariumd for its
 * ListContainers reply ONCE at start, keeps that reply's body, and answers its
 * own ListContainers (signature a(ssusso), as DESIGN.md fixes it) with exactly
 * that body on every call: no lookups, no sorting, no formatting. What a call
 * to it costs is what the same reply costs through the same dbus-daemon when
 * the service does (almost) nothing.
 *
 *   list-floor sdbus NAME   an sd-bus service: the kept reply's entries are
 *                           read once; each reply appends them with the calls
 *                           vivariumd makes, i.e. sd-bus's own marshalling of
 *                           the same entries and nothing else (no walk over
 *                           containers, no sort, no UUID formatting)
 *   list-floor raw NAME     the D-Bus wire protocol on a bare socket: each
 *                           reply is a ~100-byte header written in front of
 *                           the kept body bytes (one sendmsg); the cheapest
 *                           service of the reply there is. It also answers
 *                           org.freedesktop.DBus.Peer.Ping (the bus's round
 *                           trip without the payload).
 *
 * Each prints one line once it owns NAME (raw: the body's length on the wire,
 * the same bytes vivariumd sent). Run as root on the system bus; NAME needs a
 * bus policy that lets root own it.
 * Built by bench/list-cost.sh with cc $(pkg-config --cflags --libs libsystemd);
 * not part of the main build. Little-endian hosts only (it checks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#define VIV_DEST "org.vivarium1"
#define VIV_PATH "/org/vivarium1"
#define VIV_IFACE "org.vivarium1.Manager"
#define LIST_SIG "a(ssusso)"
#define SYSTEM_BUS_SOCKET "/run/dbus/system_bus_socket"
#define _cleanup_(f) __attribute__((cleanup(f)))

static void fail(const char *what, int r) {
        fprintf(stderr, "list-floor: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

static void fail_msg(const char *what) {
        fprintf(stderr, "list-floor: %s\n", what);
        exit(1);
}

/* ---- sd-bus: the kept entries, appended as vivariumd appends them ---- */

typedef struct Entry {
        const char *name, *uuid, *state, *title, *path;
        uint32_t id;
} Entry;

typedef struct Kept {
        sd_bus_message *msg; /* the entries' strings point into it */
        Entry *entries;
        size_t n;
} Kept;

/* The same calls as vivariumd's method_list_containers() (src/manager/
 * manager-bus.c) without its walk, sort and formatting: what sd-bus's
 * marshalling of these entries costs on its own. */
static int sdbus_list(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Kept *kept = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        (void) error;
        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssusso)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < kept->n; i++) {
                const Entry *e = &kept->entries[i];
                r = sd_bus_message_open_container(reply, 'r', "ssusso");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ssusso", e->name, e->uuid, e->id, e->state, e->title,
                                                  e->path);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void kept_read(Kept *k) {
        size_t cap = 0;
        int r;

        r = sd_bus_message_enter_container(k->msg, 'a', "(ssusso)");
        if (r < 0)
                fail("read vivariumd's reply", r);
        for (;;) {
                Entry e;
                r = sd_bus_message_read(k->msg, "(ssusso)", &e.name, &e.uuid, &e.id, &e.state, &e.title, &e.path);
                if (r < 0)
                        fail("read vivariumd's reply", r);
                if (r == 0)
                        break;
                if (k->n == cap) {
                        cap = cap ? cap * 2 : 1024;
                        k->entries = realloc(k->entries, cap * sizeof(Entry));
                        if (!k->entries)
                                fail("allocate", -ENOMEM);
                }
                k->entries[k->n++] = e;
        }
}

static const sd_bus_vtable floor_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("ListContainers", "", LIST_SIG, sdbus_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int run_sdbus(const char *name) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        Kept kept = {};
        const char *sig;
        int r;

        /* As vivariumd does (src/manager/manager.c, tune_malloc()): keep the
         * reply's ~128 KB buffer in the heap between calls rather than mapping
         * it anew each time, so that the floor does not pay what vivariumd
         * no longer pays. */
        (void) mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        (void) mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
        r = sd_bus_open_system(&bus);
        if (r < 0)
                fail("connect to the system bus", r);
        r = sd_bus_call_method(bus, VIV_DEST, VIV_PATH, VIV_IFACE, "ListContainers", &error, &kept.msg, "");
        if (r < 0) {
                fprintf(stderr, "list-floor: vivariumd's ListContainers: %s\n", error.message ?: strerror(-r));
                return 1;
        }
        sig = sd_bus_message_get_signature(kept.msg, true);
        if (!sig || strcmp(sig, LIST_SIG) != 0)
                fail_msg("vivariumd's ListContainers reply is not a(ssusso)");
        kept_read(&kept);
        r = sd_bus_add_object_vtable(bus, NULL, VIV_PATH, VIV_IFACE, floor_vtable, &kept);
        if (r < 0)
                fail("add the object", r);
        r = sd_bus_request_name(bus, name, 0);
        if (r < 0)
                fail("own the bus name", r);
        printf("list-floor: %s serves " LIST_SIG ", %zu entries appended by sd-bus\n", name, kept.n);
        fflush(stdout);
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        fail("process", r);
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        fail("wait", r);
        }
}

/* ---- raw: the wire protocol (D-Bus specification, "Message Format") ---- */

typedef struct Buf {
        uint8_t *data;
        size_t len, cap;
} Buf;

static void buf_reserve(Buf *b, size_t n) {
        if (b->len + n <= b->cap)
                return;
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data)
                fail("allocate", -ENOMEM);
}

static void buf_align(Buf *b, size_t a) {
        while (b->len % a) {
                buf_reserve(b, 1);
                b->data[b->len++] = 0;
        }
}

static void buf_put(Buf *b, const void *p, size_t n) {
        buf_reserve(b, n);
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

static void buf_u32(Buf *b, uint32_t v) {
        buf_align(b, 4);
        buf_put(b, &v, 4);
}

static void buf_str(Buf *b, const char *s) {
        buf_u32(b, (uint32_t) strlen(s));
        buf_put(b, s, strlen(s) + 1);
}

static void buf_sig(Buf *b, const char *s) {
        uint8_t n = (uint8_t) strlen(s);
        buf_put(b, &n, 1);
        buf_put(b, s, n + 1u);
}

/* One header field: STRUCT(BYTE code, VARIANT value), aligned to 8. */
static void field_str(Buf *b, uint8_t code, char type, const char *s) {
        char sig[2] = { type, 0 };
        buf_align(b, 8);
        buf_put(b, &code, 1);
        buf_sig(b, sig);
        if (type == 'g')
                buf_sig(b, s);
        else
                buf_str(b, s);
}

static void field_u32(Buf *b, uint8_t code, uint32_t v) {
        buf_align(b, 8);
        buf_put(b, &code, 1);
        buf_sig(b, "u");
        buf_u32(b, v);
}

enum { MSG_CALL = 1, MSG_RETURN = 2, MSG_ERROR = 3, MSG_SIGNAL = 4 };
enum { F_PATH = 1, F_INTERFACE = 2, F_MEMBER = 3, F_ERROR_NAME = 4, F_REPLY_SERIAL = 5, F_DESTINATION = 6,
       F_SENDER = 7, F_SIGNATURE = 8 };

typedef struct Header {
        Buf b;
        size_t fields_start;
} Header;

/* The fixed part; the header fields follow, then header_end(). */
static void header_begin(Header *h, uint8_t type, uint8_t flags, uint32_t serial) {
        uint8_t fixed[4] = { 'l', type, flags, 1 };
        h->b.len = 0;
        buf_put(&h->b, fixed, 4);
        buf_u32(&h->b, 0); /* body length, set by header_end() */
        buf_u32(&h->b, serial);
        buf_u32(&h->b, 0); /* the fields array's length */
        h->fields_start = h->b.len;
}

static void header_end(Header *h, uint32_t body_len) {
        uint32_t fields_len = (uint32_t) (h->b.len - h->fields_start);
        memcpy(h->b.data + 4, &body_len, 4);
        memcpy(h->b.data + 12, &fields_len, 4);
        buf_align(&h->b, 8); /* the body starts 8-aligned */
}

static void send_all(int fd, const void *head, size_t head_len, const void *body, size_t body_len) {
        struct iovec iov[2] = { { (void *) head, head_len }, { (void *) body, body_len } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = body_len ? 2 : 1 };

        while (iov[0].iov_len + iov[1].iov_len > 0) {
                ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        fail("send", -errno);
                }
                for (int i = 0; i < 2 && n > 0; i++) {
                        size_t k = (size_t) n < iov[i].iov_len ? (size_t) n : iov[i].iov_len;
                        iov[i].iov_base = (uint8_t *) iov[i].iov_base + k;
                        iov[i].iov_len -= k;
                        n -= (ssize_t) k;
                }
                if (iov[0].iov_len == 0) {
                        mh.msg_iov = &iov[1];
                        mh.msg_iovlen = 1;
                }
        }
}

typedef struct Msg {
        uint8_t type, flags;
        uint32_t serial, reply_serial;
        const char *path, *interface, *member, *error_name, *sender, *signature;
        const uint8_t *body;
        uint32_t body_len;
} Msg;

typedef struct Conn {
        int fd;
        uint32_t serial;
        Buf in;
        size_t consumed; /* bytes of in handed out by the last conn_next() */
        Header h;
} Conn;

static size_t align_to(size_t n, size_t a) {
        return (n + a - 1) / a * a;
}

static uint32_t get_u32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

/* Parses the message at the start of in; 0 if it is not complete yet. */
static size_t parse_msg(const uint8_t *p, size_t avail, Msg *m) {
        size_t fields_len, total, pos, end;

        if (avail < 16)
                return 0;
        if (p[0] != 'l')
                fail_msg("a big-endian message; this bench speaks little-endian only");
        fields_len = get_u32(p + 12);
        total = align_to(16 + fields_len, 8) + get_u32(p + 4);
        if (avail < total)
                return 0;
        *m = (Msg) { .type = p[1], .flags = p[2], .serial = get_u32(p + 8), .body_len = get_u32(p + 4) };
        m->body = p + align_to(16 + fields_len, 8);
        pos = 16;
        end = 16 + fields_len;
        while (pos < end) {
                uint8_t code, siglen;
                char type;
                const char *s = NULL;

                pos = align_to(pos, 8);
                code = p[pos++];
                siglen = p[pos++];
                type = (char) p[pos];
                pos += siglen + 1u;
                if (type == 's' || type == 'o') {
                        pos = align_to(pos, 4);
                        s = (const char *) p + pos + 4;
                        pos += 4 + get_u32(p + pos) + 1;
                } else if (type == 'g') {
                        s = (const char *) p + pos + 1;
                        pos += 1u + p[pos] + 1u;
                } else if (type == 'u') {
                        pos = align_to(pos, 4);
                        if (code == F_REPLY_SERIAL)
                                m->reply_serial = get_u32(p + pos);
                        pos += 4;
                } else
                        fail_msg("a header field of a type this bench does not know");
                switch (code) {
                case F_PATH: m->path = s; break;
                case F_INTERFACE: m->interface = s; break;
                case F_MEMBER: m->member = s; break;
                case F_ERROR_NAME: m->error_name = s; break;
                case F_SENDER: m->sender = s; break;
                case F_SIGNATURE: m->signature = s; break;
                default: break;
                }
        }
        return total;
}

/* The next complete message; its pointers stay valid until the next call. */
static void conn_next(Conn *c, Msg *m) {
        size_t n;

        if (c->consumed) {
                memmove(c->in.data, c->in.data + c->consumed, c->in.len - c->consumed);
                c->in.len -= c->consumed;
                c->consumed = 0;
        }
        while (!(n = parse_msg(c->in.data, c->in.len, m))) {
                ssize_t k;
                buf_reserve(&c->in, 256 * 1024);
                k = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        fail("read", -errno);
                if (k == 0)
                        fail_msg("the bus closed the connection");
                c->in.len += (size_t) k;
        }
        c->consumed = n;
}

/* A method call with a body of one string and optionally one u32 (sig "s",
 * "su") or none (""); returns its serial. */
static uint32_t conn_call(Conn *c, const char *dest, const char *path, const char *iface, const char *member,
                          const char *sig, const char *s, uint32_t u) {
        Buf body = {};
        uint32_t serial = ++c->serial;

        if (sig[0]) {
                buf_str(&body, s);
                if (sig[1])
                        buf_u32(&body, u);
        }
        header_begin(&c->h, MSG_CALL, 0, serial);
        field_str(&c->h.b, F_PATH, 'o', path);
        if (iface)
                field_str(&c->h.b, F_INTERFACE, 's', iface);
        field_str(&c->h.b, F_MEMBER, 's', member);
        field_str(&c->h.b, F_DESTINATION, 's', dest);
        if (sig[0])
                field_str(&c->h.b, F_SIGNATURE, 'g', sig);
        header_end(&c->h, (uint32_t) body.len);
        send_all(c->fd, c->h.b.data, c->h.b.len, body.data, body.len);
        free(body.data);
        return serial;
}

/* Waits for the reply to SERIAL, dropping what comes before it (signals). */
static void conn_reply(Conn *c, uint32_t serial, const char *what, Msg *m) {
        for (;;) {
                conn_next(c, m);
                if ((m->type == MSG_RETURN || m->type == MSG_ERROR) && m->reply_serial == serial)
                        break;
        }
        if (m->type == MSG_ERROR) {
                fprintf(stderr, "list-floor: %s: %s\n", what, m->error_name ?: "error");
                exit(1);
        }
}

static void conn_answer(Conn *c, const Msg *call, const char *sig, const void *body, uint32_t body_len,
                        const char *error_name) {
        header_begin(&c->h, error_name ? MSG_ERROR : MSG_RETURN, 0, ++c->serial);
        field_u32(&c->h.b, F_REPLY_SERIAL, call->serial);
        if (call->sender)
                field_str(&c->h.b, F_DESTINATION, 's', call->sender);
        if (error_name)
                field_str(&c->h.b, F_ERROR_NAME, 's', error_name);
        if (sig)
                field_str(&c->h.b, F_SIGNATURE, 'g', sig);
        header_end(&c->h, body_len);
        send_all(c->fd, c->h.b.data, c->h.b.len, body, body_len);
}

static void conn_open(Conn *c) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = SYSTEM_BUS_SOCKET };
        char auth[64], line[256];
        size_t n = 0;

        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                fail("socket", -errno);
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                fail("connect to " SYSTEM_BUS_SOCKET, -errno);
        /* SASL EXTERNAL: the uid in decimal, hex-encoded; the NUL byte first. */
        {
                char uid[16], *p = auth;
                snprintf(uid, sizeof uid, "%u", (unsigned) getuid());
                p += sprintf(p, "%cAUTH EXTERNAL ", 0);
                for (const char *q = uid; *q; q++)
                        p += sprintf(p, "%02x", (unsigned char) *q);
                p += sprintf(p, "\r\n");
                send_all(c->fd, auth, (size_t) (p - auth), NULL, 0);
        }
        while (n < 2 || line[n - 2] != '\r' || line[n - 1] != '\n') {
                ssize_t k = read(c->fd, line + n, 1);
                if (k <= 0 || n + 1 >= sizeof line)
                        fail_msg("the bus refused the authentication");
                n += (size_t) k;
        }
        if (strncmp(line, "OK ", 3) != 0)
                fail_msg("the bus refused the authentication");
        send_all(c->fd, "BEGIN\r\n", 7, NULL, 0);
}

static int run_raw(const char *name) {
        Conn c = { .fd = -1 };
        Msg m;
        uint8_t *body;
        uint32_t body_len, serial;

        conn_open(&c);
        serial = conn_call(&c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello",
                           "", NULL, 0);
        conn_reply(&c, serial, "Hello", &m);

        serial = conn_call(&c, VIV_DEST, VIV_PATH, VIV_IFACE, "ListContainers", "", NULL, 0);
        conn_reply(&c, serial, "vivariumd's ListContainers", &m);
        if (!m.signature || strcmp(m.signature, LIST_SIG) != 0)
                fail_msg("vivariumd's ListContainers reply is not a(ssusso)");
        /* The body as vivariumd sent it: it starts 8-aligned in any message,
         * so the same bytes are valid behind our own header. */
        body_len = m.body_len;
        body = malloc(body_len ?: 1);
        if (!body)
                fail("allocate", -ENOMEM);
        memcpy(body, m.body, body_len);

        serial = conn_call(&c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                           "RequestName", "su", name, 4 /* DO_NOT_QUEUE */);
        conn_reply(&c, serial, "RequestName", &m);
        if (m.body_len < 4 || get_u32(m.body) != 1 /* PRIMARY_OWNER */)
                fail_msg("could not own the bus name");
        printf("list-floor: %s serves " LIST_SIG ", body %u bytes (vivariumd's, as sent)\n", name, body_len);
        fflush(stdout);

        for (;;) {
                conn_next(&c, &m);
                if (m.type != MSG_CALL || !m.member)
                        continue;
                if (strcmp(m.member, "ListContainers") == 0)
                        conn_answer(&c, &m, LIST_SIG, body, body_len, NULL);
                else if (strcmp(m.member, "Ping") == 0 && m.interface &&
                         strcmp(m.interface, "org.freedesktop.DBus.Peer") == 0)
                        conn_answer(&c, &m, NULL, NULL, 0, NULL);
                else if (!(m.flags & 0x1))
                        conn_answer(&c, &m, NULL, NULL, 0, "org.freedesktop.DBus.Error.UnknownMethod");
        }
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc == 3 && strcmp(argv[1], "sdbus") == 0)
                return run_sdbus(argv[2]);
        if (argc == 3 && strcmp(argv[1], "raw") == 0)
                return run_raw(argv[2]);
        fprintf(stderr, "usage: list-floor sdbus|raw NAME (see the comment at the top of bench/list-floor.c)\n");
        return 2;
}
