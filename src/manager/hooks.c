/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libvirt's hook scripts for LXC, at Vivarium's path: /etc/vivarium/hooks/lxc,
 * then every executable of /etc/vivarium/hooks/lxc.d/ in alphabetical order,
 * each called as `SCRIPT NAME OPERATION SUB-OPERATION EXTRA` with the
 * domain's XML on stdin (libvirt's docs/hooks.rst: prepare, start, started,
 * stopped, release, reconnect).
 *
 * libvirt waits for a hook as long as it takes; vivariumd is one event loop
 * that also answers every other container, so it waits at most
 * HOOK_TIMEOUT_SEC (VIVARIUM_HOOK_TIMEOUT for tests), then kills the hook's
 * process group: a hook that hangs fails instead of hanging the manager.
 * Each script runs in its own session with stdout and stderr captured, so
 * that a failure can say what the script said. */

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macros.h"
#include "manager.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define HOOKS_DIR "/etc/vivarium/hooks"
#define HOOK_TIMEOUT_SEC 30U
/* what a failure message quotes of the script's output, at most */
#define HOOK_OUTPUT_MAX 2048

static const char *hooks_dir(void) {
        const char *e = getenv("VIVARIUM_HOOKS_DIR");

        return e && *e ? e : HOOKS_DIR;
}

static unsigned hook_timeout_sec(void) {
        const char *e = getenv("VIVARIUM_HOOK_TIMEOUT");
        long v;

        if (!e || !*e)
                return HOOK_TIMEOUT_SEC;
        v = strtol(e, NULL, 10);
        return v > 0 && v < 86400 ? (unsigned) v : HOOK_TIMEOUT_SEC;
}

static bool is_executable_file(const char *path) {
        struct stat st;

        return stat(path, &st) >= 0 && S_ISREG(st.st_mode) && access(path, X_OK) >= 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The scripts to run, in libvirt's order: the main one, then lxc.d/. */
static int list_scripts(char ***ret) {
        _cleanup_strv_free_ char **list = NULL;
        _cleanup_free_ char *main_script = NULL, *dir = NULL;
        DIR *d;
        size_t n = 0, first_d;
        int r = 0;

        if (asprintf(&main_script, "%s/lxc", hooks_dir()) < 0 || asprintf(&dir, "%s/lxc.d", hooks_dir()) < 0)
                return -ENOMEM;
        list = calloc(2, sizeof(char *)); /* the main script and the NULL */
        if (!list)
                return -ENOMEM;
        if (is_executable_file(main_script)) {
                list[n++] = TAKE_PTR(main_script);
                list[n] = NULL;
        }
        first_d = n;

        d = opendir(dir);
        if (!d) {
                *ret = TAKE_PTR(list);
                return errno == ENOENT ? 0 : -errno;
        }
        for (struct dirent *de; (de = readdir(d)); ) {
                _cleanup_free_ char *path = NULL;
                char **grown;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (!is_executable_file(path))
                        continue;
                grown = reallocarray(list, n + 2, sizeof(char *));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                list = grown;
                list[n++] = TAKE_PTR(path);
                list[n] = NULL;
        }
        closedir(d);
        if (r < 0)
                return r;
        qsort(list + first_d, n - first_d, sizeof(char *), compare_strings);
        *ret = TAKE_PTR(list);
        return 0;
}

static int memfd_with(const char *name, const char *content, int *ret) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = memfd_create(name, MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (content) {
                r = write_all(fd, content, strlen(content));
                if (r < 0)
                        return r;
        }
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

/* The end of what the script wrote, for the message. */
static char *read_output(int fd) {
        char buf[HOOK_OUTPUT_MAX + 1];
        off_t size = lseek(fd, 0, SEEK_END), from = size > HOOK_OUTPUT_MAX ? size - HOOK_OUTPUT_MAX : 0;
        ssize_t n;

        n = size > 0 ? pread(fd, buf, HOOK_OUTPUT_MAX, from) : 0;
        if (n < 0)
                n = 0;
        buf[n] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = 0;
        return strdup(buf);
}

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Runs one script; 0 when it exited 0, else < 0 with *ret_message set. */
static int run_script(const char *script, const char *const argv_tail[4], const char *xml, char **ret_message) {
        _cleanup_close_ int in = -EBADF, out = -EBADF, pidfd = -EBADF;
        _cleanup_free_ char *output = NULL;
        unsigned timeout = hook_timeout_sec();
        uint64_t deadline;
        siginfo_t si = {};
        bool timed_out = false;
        pid_t pid;
        int r;

        r = memfd_with("vivarium-hook-in", xml, &in);
        if (r < 0)
                return r;
        r = memfd_with("vivarium-hook-out", NULL, &out);
        if (r < 0)
                return r;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                const char *argv[] = { script, argv_tail[0], argv_tail[1], argv_tail[2], argv_tail[3], NULL };
                char *envp[] = { (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                 (char *) "LC_ALL=C", NULL };

                /* its own session: a timeout kills the script and all it started */
                (void) setsid();
                if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
                        _exit(127);
                (void) close_range(3, ~0U, 0);
                signal(SIGPIPE, SIG_DFL);
                execve(script, (char *const *) argv, envp);
                dprintf(STDERR_FILENO, "Failed to execute: %s\n", strerror(errno));
                _exit(127);
        }

        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(-pid, SIGKILL);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        deadline = now_msec() + (uint64_t) timeout * 1000;
        for (;;) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                uint64_t now = now_msec();

                if (now >= deadline) {
                        timed_out = true;
                        (void) kill(-pid, SIGKILL); /* the session's process group */
                        (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                        break;
                }
                r = poll(&p, 1, (int) (deadline - now));
                if (r > 0)
                        break;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
        if (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0)
                return -errno;
        /* whatever the script left running in its session goes too */
        (void) kill(-pid, SIGKILL);

        if (!timed_out && si.si_code == CLD_EXITED && si.si_status == 0)
                return 0;

        output = read_output(out);
        if (timed_out)
                r = asprintf(ret_message, "Hook script '%s' (%s %s) did not finish within %u s%s%s", script,
                             argv_tail[1], argv_tail[2], timeout, output && *output ? ": " : "", strempty(output));
        else if (si.si_code == CLD_EXITED)
                r = asprintf(ret_message, "Hook script '%s' (%s %s) failed with exit status %d%s%s", script,
                             argv_tail[1], argv_tail[2], si.si_status, output && *output ? ": " : "",
                             strempty(output));
        else
                r = asprintf(ret_message, "Hook script '%s' (%s %s) was killed by signal %d%s%s", script,
                             argv_tail[1], argv_tail[2], si.si_status, output && *output ? ": " : "",
                             strempty(output));
        if (r < 0)
                *ret_message = NULL;
        return timed_out ? -ETIME : -EPROTO;
}

/* Runs SCRIPTS in order for NAME OP SUBOP EXTRA with XML on stdin; as
 * libvirt, all run even after one failed, and the first failure is the
 * answer. */
static int run_scripts(char **scripts, const char *name, const char *op, const char *subop, const char *extra,
                       const char *xml, char **ret_message) {
        _cleanup_free_ char *first_failure = NULL;
        const char *argv_tail[4] = { name, op, subop ? subop : "-", extra ? extra : "-" };
        int r, ret = 0;

        for (char **s = scripts; *s; s++) {
                _cleanup_free_ char *message = NULL;

                r = run_script(*s, argv_tail, xml, &message);
                if (r < 0) {
                        fprintf(stderr, "Container '%s': %s\n", name, message ? message : "hook script failed");
                        if (ret == 0) {
                                ret = r;
                                first_failure = TAKE_PTR(message);
                        }
                }
        }
        if (ret_message)
                *ret_message = TAKE_PTR(first_failure);
        return ret;
}

int hook_run_container(Container *c, const DomainDef *def, const char *op, const char *subop, const char *extra,
                       char **ret_message) {
        _cleanup_strv_free_ char **scripts = NULL;
        _cleanup_free_ char *xml = NULL;
        int r;

        if (ret_message)
                *ret_message = NULL;
        r = list_scripts(&scripts);
        if (r < 0) {
                fprintf(stderr, "Failed to list the hook scripts in %s: %s\n", hooks_dir(), strerror(-r));
                if (ret_message && asprintf(ret_message, "Failed to list the hook scripts in %s: %s", hooks_dir(),
                                            strerror(-r)) < 0)
                        *ret_message = NULL;
                return r;
        }
        /* the common case: no hooks, nothing to format */
        if (!scripts[0])
                return 0;
        xml = domain_def_format(def ? def : container_current_def(c), c->helper_pid);
        if (!xml)
                return -ENOMEM;
        return run_scripts(scripts, c->name, op, subop, extra, xml, ret_message);
}

void hook_run_logged(Container *c, const char *op, const char *subop, const char *extra) {
        /* the outcome is logged by run_scripts(); these operations cannot be refused */
        (void) hook_run_container(c, NULL, op, subop, extra, NULL);
}

void hook_run_release_failed(Container *c) {
        hook_run_logged(c, "stopped", "end", NULL);
        hook_run_logged(c, "release", "end", "failed");
}
