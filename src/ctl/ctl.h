/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vivctl: a thin CLI over org.vivarium1 with virsh's verbs and messages.
 *
 * Verbs return >= 0 as the process' exit status (0 on success, the
 * container's exit code for "create --wait") and < 0 (-errno) on failure,
 * which they have already reported with ctl_error(): main() turns that into
 * exit status 1, as virsh does. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "domain.h"
#include "macros.h"
#include "xml-module.h"

typedef struct Context {
        const char *uri;        /* as given or from the environment */
        bool quiet;             /* -q: no informational messages */
        sd_bus *bus;            /* opened on first use, owned */
        const char *document;   /* file whose content the current call sends, for messages */
        const XmlModule *xml;   /* the parsers, loaded on first use (ctl_xml()) */
        bool remote;            /* the bus is reached over ssh: no fd passing */
} Context;

/* --- options of a verb ---------------------------------------------- */

typedef enum OptType {
        OPT_BOOL,
        OPT_STRING,
} OptType;

enum {
        OPT_POSITIONAL = 1 << 0, /* may be given without its --name, in order */
        OPT_REQUIRED   = 1 << 1,
        OPT_MULTI      = 1 << 2, /* takes every remaining positional argument */
};

typedef struct VerbOption {
        const char *name;       /* without the leading "--" */
        OptType type;
        unsigned flags;
        const char *help;
} VerbOption;

#define VERB_OPTIONS_MAX 16

typedef struct Verb Verb;

typedef struct VerbArgs {
        const Verb *verb;
        const char *values[VERB_OPTIONS_MAX]; /* by option index; "1" for set bools */
        char **multi;                          /* OPT_MULTI values, NULL-terminated */
        size_t n_multi;
} VerbArgs;

enum {
        VERB_NEEDS_URI = 1 << 0, /* check the connection URI before running */
};

struct Verb {
        const char *name;
        const char *group;        /* "Domain Management", ... */
        const char *summary;      /* one line, for "help" */
        const char *description;  /* for "help VERB" */
        const VerbOption *options; /* terminated by an entry with name == NULL */
        unsigned flags;
        int (*run)(Context *c, const VerbArgs *a);
};

const char *args_get(const VerbArgs *a, const char *name);
bool args_flag(const VerbArgs *a, const char *name);

/* --- messages --------------------------------------------------------- */

/* "error: ...\n" on stderr. Returns -EINVAL-like r given, for "return ctl_error(r, ...)". */
int ctl_error(int r, const char *fmt, ...) _printf_(2, 3);
/* Informational message on stdout, suppressed by -q. */
void ctl_info(const Context *c, const char *fmt, ...) _printf_(2, 3);

/* --- connection and calls (ctl-bus.c) ---------------------------------- */

/* Accepted URIs: vivarium:///system, vivarium:///, lxc:///, lxc:///system;
 * vivarium+ssh://[USER@]HOST[:PORT]/system, lxc+ssh://[USER@]HOST[:PORT]/.
 * 0: the local system bus, 1: remote, *ret_host the "[USER@]HOST[:PORT]" for
 * sd_bus_open_system_remote(); -EINVAL: not a URI of ours. */
int uri_parse(const char *uri, char **ret_host);
/* Prints the "failed to connect" pair and returns -EINVAL when unsupported. */
int ctl_check_uri(const Context *c);

int ctl_bus(Context *c, sd_bus **ret);

/* Calls a method of org.vivarium1.Manager. On failure reports the error:
 * NoSuchContainer as "failed to get domain 'DOMAIN'" when domain is set,
 * an unreachable service as "failed to connect to the hypervisor", and
 * anything else as the manager's message. */
/* how long a Start may take: the manager bounds it (READY=1 of a notify
 * init, up to an hour) and always answers */
#define CTL_START_TIMEOUT_USEC (3700ULL * 1000000ULL)

int ctl_call(Context *c, const char *domain, const char *member,
             sd_bus_message **ret_reply, const char *types, ...);

/* GetXML(name, flags): the document as the manager wrote it; reports a
 * failure itself. */
int ctl_get_xml(Context *c, const char *name, uint64_t flags, char **ret);
/* GetXML(name, flags) parsed into the typed model; reports a failure itself
 * (the manager's, or the parser's message). */
int ctl_get_domain_def(Context *c, const char *name, uint64_t flags, DomainDef **ret);

/* Reports an sd-bus error of a call the caller made itself (same rules). */
int ctl_report_bus_error(const sd_bus_error *error, int r, const char *domain);
/* ctl_call() for a message the caller built (arrays, fds): the same
 * timeouts and error reports. */
/* fprintf to F with each %s argument escaped for XML text and attribute
 * values: only "%s" and "%%" in FMT (domxml-from-native, attach-interface). */
void xml_printf(FILE *f, const char *fmt, ...);

int ctl_call_message(Context *c, sd_bus_message *m, const char *domain, sd_bus_message **ret_reply);
/* Closes the a{sv} of parameters open in M, appends FLAGS (libvirt's
 * live/config), calls, and reports a refusal for DOMAIN: the end of every
 * Set*Parameters call. */
int ctl_call_parameters(sd_bus *bus, sd_bus_message *m, uint64_t flags, const char *domain);

typedef struct DomainEntry {
        char *name;
        char *uuid;
        uint32_t id;            /* 0 when not running */
        char *state;
        char *title;            /* "" when the XML has none */
        char *path;
} DomainEntry;

void domain_entry_done(DomainEntry *d);
void domain_entries_free(DomainEntry *l, size_t n);

int ctl_list_domains(Context *c, DomainEntry **ret, size_t *ret_n);

/* Finds a domain by name, then by Id, then by UUID (virsh's lookup). Reports
 * "failed to get domain 'SPEC'" when there is none. */
int ctl_lookup_domain(Context *c, const char *spec, DomainEntry *ret);

/* The name to pass to the manager: a name goes straight through (the manager
 * answers NoSuchContainer, which ctl_call() reports as virsh does); an Id or a
 * UUID is looked up first. */
int ctl_resolve_name(Context *c, const char *spec, char **ret);

/* --- XML (ctl-util.c) ------------------------------------------------------ */

/* The parsers (xml-module.h), loaded by the verbs that read XML themselves:
 * most verbs, create and start among them, never load libxml2. NULL after
 * reporting "Failed to load the XML parser: ..." */
const XmlModule *ctl_xml(Context *c);

/* --- small utilities (ctl-util.c) -------------------------------------- */

/* Reads a whole file; reports "Failed to open file 'PATH': ..." itself. */
int read_file_or_report(const char *path, char **ret, size_t *ret_size);
bool string_is_uint(const char *s);
/* 32 hex digits, dashes anywhere: a UUID to look up rather than a name. */
bool string_looks_like_uuid(const char *s);

/* --- networks (ctl-network.c) ------------------------------------------------ */

/* Calls a Manager method about a network. On failure: virsh's pair of lines,
 * "failed to get network 'NAME'" for an unknown one, else FAILURE (when
 * given), then the manager's own message. */
int ctl_net_call(Context *c, const char *network, const char *failure, const char *member,
                 sd_bus_message **ret_reply, const char *types, ...);
/* virsh takes a network's name or its UUID: the name. */
int ctl_resolve_network(Context *c, const char *spec, char **ret);
/* GetNetworkXML(name, flags); reports a failure itself. */
int ctl_get_network_xml(Context *c, const char *name, uint64_t flags, char **ret);

/* --- editing a definition (ctl-edit.c): edit and net-edit ------------------ */

/* What edit and net-edit edit: how to get the stored XML and define it. */
typedef struct EditTarget {
        const char *kind;               /* "Domain": the messages' first word */
        const char *what;               /* "domain": in the middle of a message */
        bool quote_name;                /* virsh quotes a domain's name, not a network's */
        int (*get_xml)(Context *c, const char *name, uint64_t flags, char **ret);
        uint64_t inactive_flag;         /* get_xml's flag for the stored definition */
        int (*define)(Context *c, const char *xml, sd_bus_message **ret_reply); /* reports a failure */
        const char *define_member;      /* its method, for messages */
        const char *path_prefix;        /* of the object path it answers */
} EditTarget;

/* The stored definition of NAME in the editor until it is defined, left
 * unchanged, or given up; virsh's messages. */
int ctl_edit_definition(Context *c, const char *name, const EditTarget *t);

/* --- verb tables ---------------------------------------------------------- */

extern const Verb verb_table_domain[];
extern const Verb verb_table_edit[];
extern const Verb verb_table_console[];
extern const Verb verb_table_validate[];
extern const Verb verb_table_tune[];
extern const Verb verb_table_iftune[];
extern const Verb verb_table_device[];
extern const Verb verb_table_stats[];
extern const Verb verb_table_enter[];
extern const Verb verb_table_event[];
extern const Verb verb_table_import[];
extern const Verb verb_table_network[];
extern const Verb verb_table_netaddr[];
extern const Verb verb_table_netedit[];
extern const Verb verb_table_native[];
extern const Verb verb_table_help[];

int console_attach(Context *c, const char *name, bool force, bool wait_eof);
int console_attach_device(Context *c, const char *name, const char *devname, bool force, bool wait_eof);

/* --- help (vivctl.c) ----------------------------------------------------- */

void verb_print_help(const Verb *v);

/* virsh's "average,peak,burst,floor" rates (domiftune, attach-interface):
 * V[i] and GIVEN[i] per field of ctl_rate_fields, empty fields not given, a
 * floor only for "inbound" DIRECTION. 0, -EINVAL or -ENOMEM. */
extern const char *const ctl_rate_fields[4];
int ctl_rate_parse(const char *direction, const char *spec, uint64_t v[4], bool given[4]);
