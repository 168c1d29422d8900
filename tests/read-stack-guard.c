/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* read-stack-guard PID: prints the stack protector value of PID's main
 * thread in hex (tests/test-helper-server.sh: each forked helper has one of
 * its own). x86-64 only: glibc keeps it at %fs:0x28, read through ptrace
 * (the process is stopped for the read and let go). Exit 2 with a message
 * on other architectures, 1 on an error. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>

int main(int argc, char *argv[]) {
#if defined(__x86_64__)
        struct user_regs_struct regs;
        long word;
        pid_t pid;
        int status, ret = 1;

        if (argc != 2 || (pid = (pid_t) strtol(argv[1], NULL, 10)) <= 0) {
                fprintf(stderr, "usage: read-stack-guard PID\n");
                return 1;
        }
        if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0) {
                fprintf(stderr, "read-stack-guard: cannot trace %d: %s\n", (int) pid, strerror(errno));
                return 1;
        }
        if (waitpid(pid, &status, __WALL) < 0) {
                fprintf(stderr, "read-stack-guard: waitpid %d: %s\n", (int) pid, strerror(errno));
                return 1;
        }
        if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
                fprintf(stderr, "read-stack-guard: registers of %d: %s\n", (int) pid, strerror(errno));
        else {
                errno = 0;
                word = ptrace(PTRACE_PEEKDATA, pid, (void *) (uintptr_t) (regs.fs_base + 0x28), 0);
                if (errno != 0)
                        fprintf(stderr, "read-stack-guard: memory of %d: %s\n", (int) pid, strerror(errno));
                else {
                        printf("%016lx\n", (unsigned long) word);
                        ret = 0;
                }
        }
        (void) ptrace(PTRACE_DETACH, pid, 0, 0);
        return ret;
#else
        fprintf(stderr, "read-stack-guard: only x86-64 keeps the stack protector where a tracer can read it\n");
        return 2;
#endif
}
