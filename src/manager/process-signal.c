/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* SendProcessSignal: virsh send-process-signal. libvirt's LXC driver signals
 * only the container's init (PID 1) and notes that /proc/PID/ns/pid would
 * allow any PID; this does that: PID is a process ID in the container's PID
 * namespace, found through the NSpid lines of /proc, and signalled through
 * a pidfd so that a PID reused meanwhile is never hit. Signal numbers are
 * Linux's, as libvirt's VIR_DOMAIN_PROCESS_SIGNAL_* are (0 to 64, 0 = only
 * check that the process exists). */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>

#include "bus-names.h"
#include "fileio.h"
#include "macros.h"
#include "manager.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* libvirt's VIR_DOMAIN_PROCESS_SIGNAL_LAST - 1: rt32 */
#define PROCESS_SIGNAL_MAX 64

static int pidns_of(pid_t pid, struct stat *ret) {
        char path[64];

        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int) pid);
        return stat(path, ret) < 0 ? -errno : 0;
}

/* The PIDs of HOST_PID in its namespaces, outermost first (the NSpid line
 * of /proc/PID/status). Returns how many, or -errno. */
static int read_nspid(pid_t host_pid, long ret[], int max) {
        _cleanup_free_ char *status = NULL, *path = NULL;
        const char *p;
        int n = 0;
        int r;

        if (asprintf(&path, "/proc/%d/status", (int) host_pid) < 0)
                return -ENOMEM;
        r = read_full_file(path, &status, NULL);
        if (r < 0)
                return r;
        p = strstr(status, "\nNSpid:");
        if (!p)
                return -ENOENT;
        p += strlen("\nNSpid:");
        while (n < max) {
                char *end;
                long v;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (!isdigit((unsigned char) *p))
                        break;
                v = strtol(p, &end, 10);
                ret[n++] = v;
                p = end;
        }
        return n;
}

static bool same_ns(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Is HOST_PID the process PID of the PID namespace NS whose depth is
 * LEVEL (the index of its PIDs in NSpid)? */
static bool is_container_pid(pid_t host_pid, const struct stat *ns, int level, long pid) {
        long nspid[32];
        struct stat st;
        int n;

        if (pidns_of(host_pid, &st) < 0 || !same_ns(&st, ns))
                return false;
        n = read_nspid(host_pid, nspid, (int) ELEMENTSOF(nspid));
        return n == level + 1 && nspid[level] == pid;
}

/* A pidfd of the process with PID in the PID namespace of LEADER, or -ESRCH. */
static int container_process_pidfd(pid_t leader, long pid, int *ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        long nspid[32];
        struct stat ns;
        int level, r;

        r = pidns_of(leader, &ns);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        level = read_nspid(leader, nspid, (int) ELEMENTSOF(nspid));
        if (level <= 0)
                return level < 0 ? level : -ESRCH;
        level--;

        d = opendir("/proc");
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d)); ) {
                pid_t host_pid;
                int fd;

                if (!isdigit((unsigned char) de->d_name[0]))
                        continue;
                host_pid = (pid_t) atoi(de->d_name);
                if (!is_container_pid(host_pid, &ns, level, pid))
                        continue;
                fd = pidfd_open(host_pid, 0);
                if (fd < 0)
                        continue; /* gone meanwhile */
                /* the pidfd holds that process: check it is still the one */
                if (!is_container_pid(host_pid, &ns, level, pid)) {
                        safe_close(fd);
                        continue;
                }
                *ret = fd;
                return 0;
        }
        return -ESRCH;
}

int container_method_send_process_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_close_ int pidfd = -EBADF;
        Container *c = userdata;
        int64_t pid;
        uint32_t sig;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(msg, "xut", &pid, &sig, &flags);
        if (r < 0)
                return r;
        r = bus_check_privileged(c->manager, msg, VIV_POLKIT_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (flags != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%llx",
                                         (unsigned long long) flags);
        if (sig > PROCESS_SIGNAL_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Signal number %u is out of range 0..%d",
                                         sig, PROCESS_SIGNAL_MAX);
        if (pid <= 0 || pid > INT32_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid process ID %lld", (long long) pid);
        if (c->state != CONTAINER_RUNNING || c->leader_pid <= 0)
                return sd_bus_error_setf(error, VIV_ERROR_NOT_RUNNING, "Container '%s' is not running", c->name);

        r = container_process_pidfd(c->leader_pid, (long) pid, &pidfd);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, VIV_ERROR_NO_SUCH_PROCESS, "No process with PID %lld in container '%s'",
                                         (long long) pid, c->name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to look up PID %lld in container '%s': %m",
                                               (long long) pid, c->name);
        if (pidfd_send_signal(pidfd, (int) sig, NULL, 0) < 0) {
                r = -errno;
                if (r == -ESRCH)
                        return sd_bus_error_setf(error, VIV_ERROR_NO_SUCH_PROCESS,
                                                 "No process with PID %lld in container '%s'", (long long) pid, c->name);
                return sd_bus_error_set_errnof(error, r, "Failed to send signal %u to PID %lld of container '%s': %m",
                                               sig, (long long) pid, c->name);
        }
        fprintf(stderr, "Container '%s': sent signal %u to PID %lld.\n", c->name, sig, (long long) pid);
        return sd_bus_reply_method_return(msg, NULL);
}
