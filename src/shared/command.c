/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "fileio.h"
#include "macros.h"

void command_reset_signals(void) {
        sigset_t none;

        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < _NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void) signal(s, SIG_DFL);
}

/* stdout goes to a memfd, read once the tool exited: a pipe read beside
 * stderr's could fill while this waits on the other */
static int run(char *const argv[], const char *input, char **ret_output, char **ret_error) {
        _cleanup_close_ int in_r = -EBADF, in_w = -EBADF, err_r = -EBADF, err_w = -EBADF, out = -EBADF;
        _cleanup_free_ char *err = NULL;
        size_t err_len = 0;
        int fds[2], status;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        in_r = fds[0];
        in_w = fds[1];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        err_r = fds[0];
        err_w = fds[1];
        if (ret_output) {
                out = memfd_create("command-output", MFD_CLOEXEC);
                if (out < 0)
                        return -errno;
        }

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = out >= 0 ? out : open("/dev/null", O_WRONLY | O_CLOEXEC);

                if (dup2(in_r, STDIN_FILENO) < 0 || dup2(err_w, STDERR_FILENO) < 0 ||
                    (null >= 0 && dup2(null, STDOUT_FILENO) < 0))
                        _exit(127);
                /* the callers block the signals their event loops take and
                 * ignore SIGPIPE; a tool (qemu-nbd's daemon above all, which
                 * must go on SIGTERM) inherits neither across exec */
                command_reset_signals();
                execv(argv[0], argv);
                fprintf(stderr, "Failed to execute %s: %m\n", argv[0]);
                _exit(127);
        }
        in_r = safe_close(in_r);
        err_w = safe_close(err_w);

        /* Scripts are a few KiB: they fit in the pipe before the tool reads.
         * A tool that exits without reading gets EPIPE here, not SIGPIPE:
         * the callers ignore SIGPIPE. */
        if (input)
                (void) write_all(in_w, input, strlen(input));
        in_w = safe_close(in_w);

        for (;;) {
                char buf[1024];
                ssize_t k = read(err_r, buf, sizeof buf);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                char *p = realloc(err, err_len + (size_t) k + 1);
                if (!p)
                        break;
                err = p;
                memcpy(err + err_len, buf, (size_t) k);
                err_len += (size_t) k;
                err[err_len] = 0;
        }

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                if (!ret_output)
                        return 0;
                if (lseek(out, 0, SEEK_SET) < 0)
                        return -errno;
                return read_full_fd(out, ret_output, NULL);
        }

        if (ret_error) {
                while (err && err_len > 0 && (err[err_len - 1] == '\n' || err[err_len - 1] == ' '))
                        err[--err_len] = 0;
                if (err && err_len > 0)
                        *ret_error = TAKE_PTR(err);
                else if (asprintf(ret_error, "%s exited with status %d", argv[0],
                                  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) < 0)
                        *ret_error = NULL;
        }
        return -EIO;
}

int command_run(char *const argv[], const char *input, char **ret_error) {
        return run(argv, input, NULL, ret_error);
}

int command_output(char *const argv[], const char *input, char **ret_output, char **ret_error) {
        return run(argv, input, ret_output, ret_error);
}
