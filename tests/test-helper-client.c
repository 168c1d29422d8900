/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A client of the helper's control socket for tests, as the manager talks to
 * it (docs/internals.md):
 *   test-helper-client SOCKET describe
 *   test-helper-client SOCKET console EXPECT   OpenConsole; busy error; force
 *                                               takeover; writes a line, waits for EXPECT
 *   test-helper-client SOCKET destroy          Destroy, then prints the Exited signal
 *   test-helper-client SOCKET wait             prints the Exited signal when it comes
 *   test-helper-client SOCKET call METHOD      a method without arguments (Shutdown, Suspend, ...)
 *   test-helper-client model FILE              the model the manager hands the helper for the
 *                                               domain XML in FILE (--model, domain-wire.h) on stdout
 * Exit 0 when everything went as the protocol says. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "domain-wire.h"
#include "domain-xml.h"
#include "macros.h"

static int connect_helper(const char *path, sd_bus **ret) {
        _cleanup_free_ char *address = NULL;
        sd_bus *bus = NULL;
        int r;

        if (asprintf(&address, "unix:path=%s", path) < 0)
                return -ENOMEM;
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static int open_console(sd_bus *bus, int force, int *ret_fd, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        int fd, r;

        r = sd_bus_call_method(bus, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, "OpenConsole", error, &reply, "b", force);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "h", &fd);
        if (r >= 0) {
                *ret_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                r = *ret_fd < 0 ? -errno : 0;
        }
        sd_bus_message_unref(reply);
        return r;
}

/* Reads from fd until EXPECT shows up (returns 0), EOF (-EPIPE) or timeout. */
static int wait_for(int fd, const char *expect, int timeout_ms) {
        char buf[65536];
        size_t len = 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, timeout_ms);
                if (r <= 0)
                        return -ETIMEDOUT;
                ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (n <= 0)
                        return -EPIPE;
                len += (size_t) n;
                buf[len] = 0;
                if (expect && strstr(buf, expect))
                        return 0;
                if (len >= sizeof(buf) - 1)
                        len = 0;
        }
}

static int do_console(sd_bus *bus, const char *expect) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int r;

        r = open_console(bus, 0, &a, &error);
        if (r < 0) {
                fprintf(stderr, "OpenConsole(false) failed: %s\n", error.message);
                return 1;
        }
        r = open_console(bus, 0, &b, &error);
        if (r >= 0 || !sd_bus_error_has_name(&error, VIV_ERROR_CONSOLE_BUSY)) {
                fprintf(stderr, "second OpenConsole(false) did not fail with ConsoleBusy\n");
                return 1;
        }
        printf("busy: %s\n", error.message);
        sd_bus_error_free(&error);

        /* a line typed on the first client comes back through the container */
        if (write(a, "first\n", 6) != 6 || wait_for(a, "got:first", 5000) < 0) {
                fprintf(stderr, "first client: no echo of its input\n");
                return 1;
        }
        sd_bus_error_free(&error);
        r = open_console(bus, 1, &b, &error);
        if (r < 0) {
                fprintf(stderr, "OpenConsole(true) failed: %s\n", error.message);
                return 1;
        }
        if (wait_for(a, NULL, 5000) != -EPIPE) {
                fprintf(stderr, "forced takeover did not disconnect the first client\n");
                return 1;
        }
        if (write(b, "second\n", 7) != 7 || wait_for(b, expect, 5000) < 0) {
                fprintf(stderr, "second client: '%s' did not come back\n", expect);
                return 1;
        }
        r = sd_bus_call_method(bus, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, "ResizeConsole", &error, NULL,
                               "qq", (uint16_t) 30, (uint16_t) 100);
        if (r < 0) {
                fprintf(stderr, "ResizeConsole failed: %s\n", error.message);
                return 1;
        }
        if (write(b, "size\n", 5) != 5 || wait_for(b, "30 100", 5000) < 0) {
                fprintf(stderr, "the container did not see the new size\n");
                return 1;
        }
        printf("console ok\n");
        return 0;
}

static int on_exited(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *detail;
        int32_t code;
        if (sd_bus_message_read(m, "si", &detail, &code) >= 0) {
                printf("Exited %s %d\n", detail, code);
                *(int *) userdata = 1;
        }
        return 0;
}

static int do_destroy(sd_bus *bus, const char *method) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int got = 0, r;

        r = sd_bus_match_signal(bus, NULL, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, "Exited", on_exited, &got);
        if (r < 0)
                return 1;
        r = method ? sd_bus_call_method(bus, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, method, &error, NULL, NULL) : 0;
        if (r < 0) {
                fprintf(stderr, "%s failed: %s\n", method, error.message);
                return 1;
        }
        while (!got) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        break;  /* the helper closed the connection */
                if (r == 0 && sd_bus_wait(bus, 10 * 1000 * 1000) <= 0)
                        break;
        }
        return got ? 0 : 1;
}

/* What vivariumd's helper_model_fd() writes, without bridges. */
static int print_model(const char *path) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ void *wire = NULL;
        XmlDiag diag = {};
        size_t size;
        int r;

        r = domain_def_parse_file(path, &def, &diag);
        if (r < 0) {
                fprintf(stderr, "%s\n", diag.error ? diag.error : strerror(-r));
                xml_diag_done(&diag);
                return 1;
        }
        xml_diag_done(&diag);
        r = domain_def_to_wire(def, NULL, &wire, &size);
        if (r < 0 || fwrite(wire, 1, size, stdout) != size || fflush(stdout) != 0)
                return 1;
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (argc < 3)
                return 2;
        if (streq(argv[1], "model"))
                return print_model(argv[2]);
        r = connect_helper(argv[1], &bus);
        if (r < 0) {
                fprintf(stderr, "connect: %s\n", strerror(-r));
                return 1;
        }
        if (streq(argv[2], "describe")) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *name, *uuid, *unit, *state;
                uint32_t hpid, lpid;
                r = sd_bus_call_method(bus, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, "Describe", &error, &reply, NULL);
                if (r < 0 || sd_bus_message_read(reply, "ssuuss", &name, &uuid, &hpid, &lpid, &unit, &state) < 0)
                        return 1;
                printf("%s %s %u %u %s %s\n", name, uuid, hpid, lpid, unit, state);
                return 0;
        }
        if (streq(argv[2], "console") && argc > 3)
                return do_console(bus, argv[3]);
        if (streq(argv[2], "destroy"))
                return do_destroy(bus, "Destroy");
        if (streq(argv[2], "wait"))
                return do_destroy(bus, NULL);
        if (streq(argv[2], "call") && argc > 3) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                r = sd_bus_call_method(bus, NULL, VIV_HELPER_PATH, VIV_HELPER_IFACE, argv[3], &error, NULL, NULL);
                if (r < 0)
                        fprintf(stderr, "%s failed: %s: %s\n", argv[3], error.name, error.message);
                return r < 0;
        }
        return 2;
}
