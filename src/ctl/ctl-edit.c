/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl edit and net-edit (ctl-netedit.c): virsh's edit of a domain's or a
 * network's stored definition in $VISUAL, $EDITOR or vi, defined again when
 * it changed. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-names.h"
#include "ctl.h"

/* The temporary copy goes on every path out of the verb, an editor that
 * failed or a definition given up included. */
static void unlink_and_freep(char **p) {
        if (*p) {
                (void) unlink(*p);
                free(*p);
        }
}

static int edit_write_temp(const char *xml, char **ret_path) {
        const char *dir = getenv("TMPDIR");
        _cleanup_(unlink_and_freep) char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(xml), done = 0;

        if (!dir || !*dir)
                dir = "/tmp";
        if (asprintf(&path, "%s/vivctlXXXXXX.xml", dir) < 0) {
                path = NULL;
                return ctl_error(-ENOMEM, "Out of memory");
        }
        /* the suffix lets editors pick their XML mode */
        fd = mkostemps(path, 4, O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                free(TAKE_PTR(path));
                return ctl_error(r, "Failed to create a temporary file in '%s': %s", dir, strerror(-r));
        }
        while (done < n) {
                ssize_t k = write(fd, xml + done, n - done);
                if (k < 0)
                        return ctl_error(-errno, "Failed to write '%s': %m", path);
                done += (size_t) k;
        }
        if (close(TAKE_FD(fd)) < 0)
                return ctl_error(-errno, "Failed to write '%s': %m", path);
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* $VISUAL, else $EDITOR, else vi, through the shell as virsh runs it, so
 * that an editor with arguments ("emacs -nw", "sed -i ...") works; the file
 * goes as "$1", never through the shell's parsing. */
static int edit_run_editor(const char *path) {
        const char *editor = getenv("VISUAL");
        _cleanup_free_ char *cmd = NULL;

        if (!editor || !*editor)
                editor = getenv("EDITOR");
        if (!editor || !*editor)
                editor = "vi";
        if (asprintf(&cmd, "%s \"$1\"", editor) < 0) {
                cmd = NULL;
                return ctl_error(-ENOMEM, "Out of memory");
        }

        /* ^C and ^\ in the editor reach the whole process group: vivctl
         * stays, to remove the temporary file, and the editor decides. */
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
        (void) sigaction(SIGINT, &ign, &old_int);
        (void) sigaction(SIGQUIT, &ign, &old_quit);

        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
                (void) sigaction(SIGINT, &old_int, NULL);
                (void) sigaction(SIGQUIT, &old_quit, NULL);
                execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *) NULL);
                fprintf(stderr, "error: Failed to execute /bin/sh: %m\n");
                _exit(127);
        }

        int r = pid < 0 ? -errno : 0;
        siginfo_t si = {};
        if (r == 0 && waitid(P_PID, (id_t) pid, &si, WEXITED) < 0)
                r = -errno;
        (void) sigaction(SIGINT, &old_int, NULL);
        (void) sigaction(SIGQUIT, &old_quit, NULL);
        if (pid < 0)
                return ctl_error(r, "Failed to fork: %s", strerror(-r));
        if (r < 0)
                return ctl_error(r, "Failed to wait for the editor '%s': %s", editor, strerror(-r));
        if (si.si_code != CLD_EXITED)
                return ctl_error(-EINTR, "The editor '%s' was killed by signal %d", editor, si.si_status);
        if (si.si_status != 0)
                return ctl_error(-EIO, "The editor '%s' failed with exit status %d", editor, si.si_status);
        return 0;
}

/* After a refused definition: 1 to edit again, 0 to give up. The answer
 * is a line on stdin; its end (or a closed stdin) means no, so that a
 * script never loops. No 'f' (libvirt's relaxed define): the manager has
 * one way of defining, with its schema and checks. */
static int edit_ask_again(void) {
        for (;;) {
                char line[64];

                printf("Failed. Try again? [y,n,?]:");
                fflush(stdout);
                if (!fgets(line, sizeof(line), stdin)) {
                        putchar('\n');
                        return 0;
                }
                /* one answer per line, however long the line */
                if (!strchr(line, '\n'))
                        for (int ch = getchar(); ch != EOF && ch != '\n'; ch = getchar())
                                ;
                switch (line[0]) {
                case 'y':
                case 'Y':
                        return 1;
                case 'n':
                case 'N':
                        return 0;
                default:
                        printf("y - yes, edit the same file again\n"
                               "n - no, give up and drop the changes\n"
                               "? - print this help\n");
                }
        }
}

int ctl_edit_definition(Context *c, const char *name, const EditTarget *t) {
        _cleanup_free_ char *original = NULL, *shown = NULL;
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        int r;

        /* virsh quotes a domain's name in these messages, not a network's */
        if (asprintf(&shown, t->quote_name ? "'%s'" : "%s", name) < 0) {
                shown = NULL;
                return ctl_error(-ENOMEM, "Out of memory");
        }
        r = t->get_xml(c, name, t->inactive_flag, &original);
        if (r < 0)
                return r;
        r = edit_write_temp(original, &tmp);
        if (r < 0)
                return r;

        for (;;) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_free_ char *edited = NULL, *now = NULL, *defined = NULL;
                const char *path;
                size_t size;

                r = edit_run_editor(tmp);
                if (r < 0)
                        return r;
                r = read_file_or_report(tmp, &edited, &size);
                if (r < 0)
                        return r;
                if (streq(edited, original)) {
                        ctl_info(c, "%s %s XML configuration not changed.", t->kind, shown);
                        return 0;
                }

                /* As virsh: what someone else defined while the editor ran is
                 * not overwritten with an edit of the older document. */
                r = t->get_xml(c, name, t->inactive_flag, &now);
                if (r < 0)
                        return r;
                if (!streq(now, original))
                        return ctl_error(-ESTALE, "The XML configuration of %s '%s' was changed by another user",
                                         t->what, name);

                r = t->define(c, edited, &reply);
                if (r >= 0) {
                        r = sd_bus_message_read(reply, "o", &path);
                        if (r < 0)
                                return ctl_error(r, "Failed to parse the reply of %s: %s", t->define_member,
                                                 strerror(-r));
                        if (sd_bus_path_decode(path, t->path_prefix, &defined) <= 0 || !defined)
                                return ctl_error(-EBADMSG, "%s answered an unexpected path '%s'", t->define_member,
                                                 path);
                        free(shown);
                        if (asprintf(&shown, t->quote_name ? "'%s'" : "%s", defined) < 0)
                                return ctl_error(-ENOMEM, "Out of memory");
                        ctl_info(c, "%s %s XML configuration edited.", t->kind, shown);
                        return 0;
                }
                if (!edit_ask_again())
                        return r;
        }
}

static int define_domain(Context *c, const char *xml, sd_bus_message **ret_reply) {
        return ctl_call(c, NULL, "DefineXML", ret_reply, "s", xml);
}

static int verb_edit(Context *c, const VerbArgs *a) {
        static const EditTarget domain = {
                .kind = "Domain", .what = "domain", .quote_name = true,
                .get_xml = ctl_get_xml, .inactive_flag = VIV_XML_INACTIVE,
                .define = define_domain, .define_member = "DefineXML", .path_prefix = VIV_CONTAINER_PREFIX,
        };
        _cleanup_free_ char *name = NULL;
        int r;

        r = ctl_resolve_name(c, args_get(a, "domain"), &name);
        if (r < 0)
                return r;
        return ctl_edit_definition(c, name, &domain);
}

static const VerbOption edit_options[] = {
        { "domain", OPT_STRING, OPT_POSITIONAL | OPT_REQUIRED, "domain name, id or uuid" },
        {}
};

const Verb verb_table_edit[] = {
        { "edit", "Domain Management", "edit XML configuration for a domain",
          "Edit the stored XML configuration of a domain in $VISUAL, $EDITOR or\n"
          "vi, and define it again when it changed. When the manager refuses\n"
          "it, its error is printed and the question 'Failed. Try again?'\n"
          "read from stdin: y edits the same file again, n (or the end of\n"
          "stdin) gives up with exit status 1.",
          edit_options, VERB_NEEDS_URI, verb_edit },
        {}
};
