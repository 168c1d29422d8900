/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vivctl: main(), global options, per-verb option parsing, help. */

#include <errno.h>
#include <locale.h>
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "trace.h"

#define DEFAULT_URI "vivarium:///system"

static const Verb *const verb_tables[] = {
        verb_table_domain,
        verb_table_edit,
        verb_table_console,
        verb_table_tune,
        verb_table_iftune,
        verb_table_device,
        verb_table_stats,
        verb_table_enter,
        verb_table_event,
        verb_table_import,
        verb_table_network,
        verb_table_netaddr,
        verb_table_netedit,
        verb_table_validate,
        verb_table_native,
        verb_table_help,
};

/* --- messages ------------------------------------------------------------- */

int ctl_error(int r, const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fputs("error: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r < 0 ? r : -EINVAL;
}

void ctl_info(const Context *c, const char *fmt, ...) {
        va_list ap;

        if (c->quiet)
                return;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

/* --- verb lookup and options ---------------------------------------------- */

static const Verb *verb_find(const char *name) {
        FOREACH_ARRAY(t, verb_tables, ELEMENTSOF(verb_tables))
                for (const Verb *v = *t; v->name; v++)
                        if (streq(v->name, name))
                                return v;
        return NULL;
}

static int option_index(const Verb *v, const char *name, size_t len) {
        for (int i = 0; v->options && v->options[i].name; i++)
                if (strlen(v->options[i].name) == len && strncmp(v->options[i].name, name, len) == 0)
                        return i;
        return -1;
}

const char *args_get(const VerbArgs *a, const char *name) {
        int i = option_index(a->verb, name, strlen(name));
        return i < 0 ? NULL : a->values[i];
}

bool args_flag(const VerbArgs *a, const char *name) {
        return args_get(a, name) != NULL;
}

static int args_add_positional(VerbArgs *a, const char *value) {
        const Verb *v = a->verb;

        for (int i = 0; v->options && v->options[i].name; i++) {
                const VerbOption *o = &v->options[i];

                if (!(o->flags & OPT_POSITIONAL))
                        continue;
                if (o->flags & OPT_MULTI) {
                        char **l = realloc(a->multi, (a->n_multi + 2) * sizeof(char *));
                        if (!l)
                                return ctl_error(-ENOMEM, "Out of memory");
                        a->multi = l;
                        a->multi[a->n_multi++] = (char *) value;
                        a->multi[a->n_multi] = NULL;
                        a->values[i] = a->multi[0];
                        return 0;
                }
                if (!a->values[i]) {
                        a->values[i] = value;
                        return 0;
                }
        }
        return ctl_error(-EINVAL, "unexpected data '%s'", value);
}

/* virsh's syntax: "--opt value", "--opt=value", positional values in order,
 * "--" ends the options. Returns 1 when "--help" was handled. */
static int verb_parse_args(const Verb *v, int argc, char **argv, VerbArgs *a) {
        bool only_positional = false;
        int r;

        *a = (VerbArgs) { .verb = v };

        for (int i = 1; i < argc; i++) {
                const char *arg = argv[i];

                if (only_positional || strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
                        if (!only_positional && streq(arg, "--")) {
                                only_positional = true;
                                continue;
                        }
                        r = args_add_positional(a, arg);
                        if (r < 0)
                                return r;
                        continue;
                }

                const char *name = arg + 2, *eq = strchr(name, '=');
                size_t len = eq ? (size_t) (eq - name) : strlen(name);

                if (!eq && streq(name, "help")) {
                        verb_print_help(v);
                        return 1;
                }

                int idx = option_index(v, name, len);
                if (idx < 0)
                        return ctl_error(-EINVAL, "command '%s' doesn't support option --%.*s",
                                         v->name, (int) len, name);

                const VerbOption *o = &v->options[idx];
                if (o->type == OPT_BOOL) {
                        if (eq)
                                return ctl_error(-EINVAL, "option --%s doesn't take a value", o->name);
                        a->values[idx] = "1";
                } else if (o->flags & OPT_MULTI) {
                        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
                        if (!value)
                                return ctl_error(-EINVAL, "expected syntax: --%s <string>", o->name);
                        r = args_add_positional(a, value);
                        if (r < 0)
                                return r;
                } else {
                        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
                        if (!value)
                                return ctl_error(-EINVAL, "expected syntax: --%s <string>", o->name);
                        a->values[idx] = value;
                }
        }

        for (int i = 0; v->options && v->options[i].name; i++)
                if ((v->options[i].flags & OPT_REQUIRED) && !a->values[i])
                        return ctl_error(-EINVAL, "command '%s' requires <%s> option",
                                         v->name, v->options[i].name);
        return 0;
}

/* --- help ----------------------------------------------------------------- */

void verb_print_help(const Verb *v) {
        printf("  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s", v->name, v->summary, v->name);

        for (const VerbOption *o = v->options; o && o->name; o++) {
                bool req = o->flags & OPT_REQUIRED;
                const char *dots = (o->flags & OPT_MULTI) ? "..." : "";

                if (o->type == OPT_BOOL)
                        printf(" [--%s]", o->name);
                else if (o->flags & OPT_POSITIONAL)
                        printf(req ? " <%s>%s" : " [<%s>]%s", o->name, dots);
                else
                        printf(req ? " --%s <string>" : " [--%s <string>]", o->name);
        }
        printf("\n\n  DESCRIPTION\n");

        /* The description is written with line breaks; indent every line. */
        for (const char *p = v->description; p && *p; ) {
                const char *nl = strchrnul(p, '\n');
                printf("    %.*s\n", (int) (nl - p), p);
                p = *nl ? nl + 1 : nl;
        }

        if (v->options && v->options[0].name) {
                printf("\n  OPTIONS\n");
                for (const VerbOption *o = v->options; o->name; o++) {
                        char left[64];

                        if (o->type == OPT_BOOL)
                                snprintf(left, sizeof left, "--%s", o->name);
                        else if (o->flags & OPT_POSITIONAL)
                                snprintf(left, sizeof left, "[--%s] <string>", o->name);
                        else
                                snprintf(left, sizeof left, "--%s <string>", o->name);
                        printf("    %-20s %s\n", left, o->help);
                }
        }
        printf("\n");
}

static void print_usage(void) {
        printf("vivctl [options]... <command> [args...]\n"
               "\n"
               "  options:\n"
               "    -c | --connect=URI      hypervisor connection URI\n"
               "                            (vivarium:///system, or lxc:/// for compatibility;\n"
               "                            vivarium+ssh://[USER@]HOST[:PORT]/system over ssh)\n"
               "    -H | --host=[USER@]HOST[:PORT]\n"
               "                            the same as -c vivarium+ssh://HOST/system\n"
               "    -h | --help             this help\n"
               "    -q | --quiet            quiet mode\n"
               "    -v | --version          program version\n"
               "\n"
               "  environment:\n"
               "    VIVARIUM_DEFAULT_URI    default URI (else LIBVIRT_DEFAULT_URI when it is\n"
               "                            lxc:///, else " DEFAULT_URI ")\n"
               "\n"
               "  commands (non interactive mode):\n"
               "\n");
}

/* virsh's help keywords of its groups. */
static const char *group_keyword(const char *group) {
        static const struct {
                const char *group, *keyword;
        } keywords[] = {
                { "Domain Management", "domain" },
                { "Domain Monitoring", "monitor" },
                { "Networking", "network" },
                { "Virsh itself", "virsh" },
        };

        FOREACH_ARRAY(k, keywords, ELEMENTSOF(keywords))
                if (streq(k->group, group))
                        return k->keyword;
        return group;
}

static int verb_compare(const void *a, const void *b) {
        return strcmp((*(const Verb *const *) a)->name, (*(const Verb *const *) b)->name);
}

static void print_group(const char *group) {
        const Verb *verbs[64];
        size_t n = 0;

        FOREACH_ARRAY(t, verb_tables, ELEMENTSOF(verb_tables))
                for (const Verb *v = *t; v->name; v++)
                        if (streq(v->group, group) && n < ELEMENTSOF(verbs))
                                verbs[n++] = v;
        qsort(verbs, n, sizeof(verbs[0]), verb_compare);

        printf(" %s (help keyword '%s')\n", group, group_keyword(group));
        for (size_t i = 0; i < n; i++)
                /* two spaces at least after a long name: completion splits there */
                printf("    %-18s%s%s\n", verbs[i]->name, strlen(verbs[i]->name) >= 18 ? "  " : " ",
                       verbs[i]->summary);
        printf("\n");
}

/* Every group once, in the order the tables name them; only the one
 * matching "group" (a keyword or a full group name) when set. Returns the
 * number of groups printed. */
static unsigned print_verb_list(const char *group) {
        const char *seen[16];
        unsigned n_seen = 0, printed = 0;

        FOREACH_ARRAY(t, verb_tables, ELEMENTSOF(verb_tables))
                for (const Verb *v = *t; v->name; v++) {
                        bool dup = false;

                        for (unsigned i = 0; i < n_seen; i++)
                                if (streq(seen[i], v->group))
                                        dup = true;
                        if (dup || n_seen >= ELEMENTSOF(seen))
                                continue;
                        seen[n_seen++] = v->group;

                        if (group && strcasecmp(group, v->group) != 0 &&
                            strcasecmp(group, group_keyword(v->group)) != 0)
                                continue;
                        print_group(v->group);
                        printed++;
                }
        return printed;
}

static int verb_help(Context *c, const VerbArgs *a) {
        const char *what = args_get(a, "command");

        if (!what) {
                print_usage();
                print_verb_list(NULL);
                printf("  (specify help <command> for details about the command)\n\n");
                return 0;
        }

        const Verb *v = verb_find(what);
        if (v) {
                verb_print_help(v);
                return 0;
        }

        /* "help domain" / "help Domain Management" lists a group. */
        if (print_verb_list(what) > 0)
                return 0;

        return ctl_error(-EINVAL, "command or command group '%s' doesn't exist", what);
}

static int verb_uri(Context *c, const VerbArgs *a) {
        printf("%s\n", c->uri);
        return 0;
}

static int verb_version(Context *c, const VerbArgs *a) {
        printf("Compiled against library: vivarium %s\n", VIVARIUM_VERSION);
        printf("Using library: vivarium %s\n", VIVARIUM_VERSION);
        printf("Using API: vivarium %s\n", VIVARIUM_VERSION);
        return 0;
}

static const VerbOption help_options[] = {
        { "command", OPT_STRING, OPT_POSITIONAL, "prints global help, command specific help, or help for a group of related commands" },
        {}
};

const Verb verb_table_help[] = {
        { "help", "Virsh itself", "print help",
          "Prints global help, command specific help, or help for a\ngroup of related commands",
          help_options, 0, verb_help },
        { "uri", "Virsh itself", "print the hypervisor canonical URI",
          "Prints the URI in use: the -c/--connect argument, else\n"
          "$VIVARIUM_DEFAULT_URI, else $LIBVIRT_DEFAULT_URI when it is lxc:///,\n"
          "else " DEFAULT_URI ".",
          NULL, VERB_NEEDS_URI, verb_uri },
        { "version", "Virsh itself", "show version", "Prints the version of vivctl.",
          NULL, 0, verb_version },
        {}
};

/* --- URI ------------------------------------------------------------------- */

/* The part of a remote URI that names the host, as sd_bus_open_system_remote()
 * takes it: [USER@]HOST[:PORT]. It ends up as an argument of ssh: nothing
 * that ssh could read as an option, no spaces. */
static bool remote_host_is_valid(const char *host) {
        if (!host || !*host || host[0] == '-')
                return false;
        for (const char *p = host; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("._-@:[]", *p))
                        return false;
        return true;
}

int uri_parse(const char *uri, char **ret_host) {
        static const char *const local[] = {
                "vivarium:///system", "vivarium:///", "lxc:///", "lxc:///system",
        };
        static const char *const remote_schemes[] = {
                "vivarium+ssh://", "lxc+ssh://",
        };

        FOREACH_ARRAY(u, local, ELEMENTSOF(local))
                if (streq(uri, *u)) {
                        *ret_host = NULL;
                        return 0;
                }

        FOREACH_ARRAY(scheme, remote_schemes, ELEMENTSOF(remote_schemes)) {
                const char *rest = startswith(uri, *scheme), *path;

                if (!rest)
                        continue;
                path = strchrnul(rest, '/');
                /* libvirt's lxc+ssh://HOST/ and vivarium+ssh://HOST/system: the
                 * system instance is the only one. */
                if (!streq(path, "") && !streq(path, "/") && !streq(path, "/system"))
                        return -EINVAL;
                _cleanup_free_ char *host = strndup(rest, (size_t) (path - rest));
                if (!host)
                        return -ENOMEM;
                if (!remote_host_is_valid(host))
                        return -EINVAL;
                *ret_host = TAKE_PTR(host);
                return 1;
        }
        return -EINVAL;
}

int ctl_check_uri(const Context *c) {
        _cleanup_free_ char *host = NULL;
        int r;

        r = uri_parse(c->uri, &host);
        if (r >= 0)
                return 0;
        ctl_error(-EINVAL, "failed to connect to the hypervisor");
        if (r == -ENOMEM)
                return ctl_error(r, "Out of memory");
        /* virsh's words, exactly: scripts match them. */
        return ctl_error(-EINVAL, "no connection driver available for URI '%s'", c->uri);
}

static const char *default_uri(void) {
        const char *e;

        e = getenv("VIVARIUM_DEFAULT_URI");
        if (e && *e)
                return e;

        /* The seed exports LIBVIRT_DEFAULT_URI=lxc:///; any other value names a
         * libvirt driver we are not, so it is not ours to honour. */
        e = getenv("LIBVIRT_DEFAULT_URI");
        if (e && (streq(e, "lxc:///") || streq(e, "lxc:///system")))
                return e;

        return DEFAULT_URI;
}

/* --- main -------------------------------------------------------------------- */

static int run(int argc, char **argv) {
        static const struct option options[] = {
                { "connect", required_argument, NULL, 'c' },
                { "host",    required_argument, NULL, 'H' },
                { "help",    no_argument,       NULL, 'h' },
                { "quiet",   no_argument,       NULL, 'q' },
                { "version", no_argument,       NULL, 'v' },
                {}
        };
        Context c = { .uri = default_uri() };
        _cleanup_free_ char *host_uri = NULL;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "+c:H:hqvV", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        c.uri = optarg;
                        break;
                case 'H':
                        /* machinectl's -H: the same as -c vivarium+ssh://HOST/system */
                        free(host_uri);
                        if (asprintf(&host_uri, "vivarium+ssh://%s/system", optarg) < 0)
                                return ctl_error(-ENOMEM, "Out of memory");
                        c.uri = host_uri;
                        break;
                case 'h':
                        print_usage();
                        print_verb_list(NULL);
                        return 0;
                case 'q':
                        c.quiet = true;
                        break;
                case 'v':
                case 'V':
                        printf("%s\n", VIVARIUM_VERSION);
                        return 0;
                default:
                        /* getopt printed what was wrong. */
                        return -EINVAL;
                }

        if (optind >= argc) {
                print_usage();
                print_verb_list(NULL);
                return 0;
        }

        const Verb *v = verb_find(argv[optind]);
        if (!v)
                return ctl_error(-EINVAL, "unknown command: '%s'", argv[optind]);

        VerbArgs a;
        r = verb_parse_args(v, argc - optind, argv + optind, &a);
        if (r != 0) {
                free(a.multi);
                return r < 0 ? r : 0;
        }

        if (v->flags & VERB_NEEDS_URI) {
                r = ctl_check_uri(&c);
                if (r < 0)
                        goto finish;
        }

        r = v->run(&c, &a);

finish:
        free(a.multi);
        fflush(stdout);
        c.bus = sd_bus_flush_close_unref(c.bus);
        return r;
}

int main(int argc, char **argv) {
        int r;

        /* Table widths count characters, not bytes, of UTF-8 names. */
        (void) setlocale(LC_CTYPE, "");
        trace_point("vivctl-start");

        r = run(argc, argv);
        trace_point("vivctl-end");

        if (fflush(stdout) != 0 && r >= 0)
                r = ctl_error(-EIO, "Failed to write output: %m");
        if (r < 0)
                return EXIT_FAILURE;
        return r > 255 ? 255 : r;
}
