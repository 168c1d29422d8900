/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.json to domain XML (oci-spec.h).
 *
 * | field | becomes |
 * | --- | --- |
 * | root.path, root.readonly | <filesystem type='mount'> on '/', readonly |
 * | process.args, env, cwd, user.uid/gid | the command behind the start barrier, <initenv>, <initdir>, <inituser>/<initgroup> |
 * | process.terminal | the console relayed through --console-socket |
 * | hostname | the domain's name (Vivarium's hostname is the name) |
 * | mounts: bind | <filesystem type='mount'> (ro: readonly) |
 * | mounts: tmpfs elsewhere than /dev | <filesystem type='ram'> |
 * | mounts: proc, sysfs, devpts, mqueue, cgroup, /dev, /dev/shm | Vivarium's own (mqueue: not mounted) |
 * | linux.namespaces: network without path | <privnet/> (none: the host's network) |
 * | linux.namespaces: user + uid/gidMappings | <idmap>; no user namespace: <vivarium:userns mode='off'/> |
 * | linux.resources.memory.limit, cpu.shares/quota/period | <memory>, <cputune> |
 * | process.capabilities, linux.seccomp, maskedPaths, readonlyPaths, resources.devices, noNewPrivileges | Vivarium's stricter defaults |
 * | process.rlimits, oomScoreAdj, linux.sysctl, resources.pids, cgroupsPath, annotations | accepted, not applied (listed in the log) |
 * | anything else set | refused, naming the field |
 */

#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "oci-spec.h"
#include "xml-text.h"

static inline void json_object_putp(struct json_object **j) {
        if (*j)
                json_object_put(*j);
}

typedef struct Ctx {
        char *err;
        size_t err_size;
        char **ignored;
        size_t n_ignored;
} Ctx;

static int refuse(Ctx *c, const char *fmt, ...) _printf_(2, 3);
static int refuse(Ctx *c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->err, c->err_size, fmt, ap);
        va_end(ap);
        return -EOPNOTSUPP;
}

static int ignore(Ctx *c, const char *field) {
        char **l = realloc(c->ignored, (c->n_ignored + 2) * sizeof(char *));
        if (!l)
                return -ENOMEM;
        c->ignored = l;
        l[c->n_ignored] = strdup(field);
        if (!l[c->n_ignored])
                return -ENOMEM;
        l[++c->n_ignored] = NULL;
        return 0;
}

void oci_domain_done(OciDomain *d) {
        free(d->name);
        free(d->xml);
        strv_free(d->ignored);
        *d = (OciDomain) {};
}

static struct json_object *get(struct json_object *o, const char *key) {
        struct json_object *v;
        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool is_type(struct json_object *o, json_type t) {
        return o && json_object_is_type(o, t);
}

/* Set: not absent, not null, not an empty string, array or object, not false. */
static bool is_set(struct json_object *o) {
        if (!o || json_object_is_type(o, json_type_null))
                return false;
        if (is_type(o, json_type_string))
                return json_object_get_string_len(o) > 0;
        if (is_type(o, json_type_array))
                return json_object_array_length(o) > 0;
        if (is_type(o, json_type_object))
                return json_object_object_length(o) > 0;
        if (is_type(o, json_type_boolean))
                return json_object_get_boolean(o);
        return true;
}

/* Every key of OBJ must be in KNOWN; else "PREFIX.KEY" is refused. */
static int only_known(Ctx *c, struct json_object *obj, const char *prefix, const char *const *known) {
        if (!obj)
                return 0;
        if (!is_type(obj, json_type_object))
                return refuse(c, "%s: not an object", prefix);
        json_object_object_foreach(obj, key, val) {
                bool found = false;
                for (const char *const *k = known; *k; k++)
                        if (streq(*k, key))
                                found = true;
                if (!found && is_set(val))
                        return refuse(c, "%s%s%s: not supported by Vivarium", prefix, *prefix ? "." : "", key);
        }
        return 0;
}

static const char *string_of(struct json_object *o) {
        return is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

static bool name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *p))
                        return false;
        return s[0] != '.' && s[0] != '-';
}

static bool has_option(struct json_object *options, const char *opt) {
        for (size_t i = 0; is_type(options, json_type_array) && i < json_object_array_length(options); i++) {
                const char *o = string_of(json_object_array_get_idx(options, i));
                if (o && streq(o, opt))
                        return true;
        }
        return false;
}

/* Mounts Vivarium makes itself in every container. */
static bool mount_is_vivariums(const char *type, const char *dest) {
        static const char *const dests[] = { "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys/fs/cgroup" };
        static const char *const types[] = { "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "shm", "bind" };
        bool d = false, t = false;

        FOREACH_ARRAY(x, dests, ELEMENTSOF(dests))
                d = d || streq(*x, dest);
        FOREACH_ARRAY(x, types, ELEMENTSOF(types))
                t = t || streq(*x, type);
        return d && t;
}

static int map_mounts(Ctx *c, FILE *f, struct json_object *mounts) {
        static const char *const known[] = { "destination", "type", "source", "options", NULL };

        for (size_t i = 0; is_type(mounts, json_type_array) && i < json_object_array_length(mounts); i++) {
                struct json_object *m = json_object_array_get_idx(mounts, i);
                char field[64];
                int r;

                snprintf(field, sizeof(field), "mounts[%zu]", i);
                r = only_known(c, m, field, known);
                if (r < 0)
                        return r;
                const char *dest = string_of(get(m, "destination")), *type = string_of(get(m, "type")) ?: "bind",
                           *source = string_of(get(m, "source"));
                struct json_object *options = get(m, "options");
                bool bind = streq(type, "bind") || has_option(options, "bind") || has_option(options, "rbind");

                if (!dest || dest[0] != '/')
                        return refuse(c, "%s.destination: not an absolute path", field);
                if (mount_is_vivariums(type, dest))
                        continue;
                if (bind) {
                        if (!source || source[0] != '/')
                                return refuse(c, "%s.source: a bind mount needs an absolute source", field);
                        fprintf(f, "    <filesystem type='mount'>\n      <source dir='");
                        xml_text(f, source);
                        fprintf(f, "'/>\n      <target dir='");
                        xml_text(f, dest);
                        fprintf(f, "'/>\n%s    </filesystem>\n", has_option(options, "ro") ? "      <readonly/>\n" : "");
                } else if (streq(type, "tmpfs")) {
                        fprintf(f, "    <filesystem type='ram'>\n      <source usage='65536' units='KiB'/>\n      <target dir='");
                        xml_text(f, dest);
                        fprintf(f, "'/>\n    </filesystem>\n");
                } else
                        return refuse(c, "%s: a '%s' mount on '%s' is not supported by Vivarium", field, type, dest);
        }
        return 0;
}

/* Returns through RET_PRIVNET/RET_USERNS what the namespaces ask. */
static int map_namespaces(Ctx *c, struct json_object *ns, bool *ret_privnet, bool *ret_userns) {
        bool seen_pid = false, seen_mount = false;

        *ret_privnet = *ret_userns = false;
        for (size_t i = 0; is_type(ns, json_type_array) && i < json_object_array_length(ns); i++) {
                struct json_object *n = json_object_array_get_idx(ns, i);
                const char *type = string_of(get(n, "type"));

                if (!type)
                        return refuse(c, "linux.namespaces[%zu].type: missing", i);
                if (is_set(get(n, "path")))
                        return refuse(c, "linux.namespaces[%zu].path: joining an existing %s namespace is not supported by Vivarium",
                                      i, type);
                if (streq(type, "network"))
                        *ret_privnet = true;
                else if (streq(type, "user"))
                        *ret_userns = true;
                else if (streq(type, "pid"))
                        seen_pid = true;
                else if (streq(type, "mount"))
                        seen_mount = true;
                else if (!streq(type, "ipc") && !streq(type, "uts") && !streq(type, "cgroup"))
                        return refuse(c, "linux.namespaces[%zu].type: '%s' is not supported by Vivarium", i, type);
        }
        /* Vivarium always makes these: a container sharing the host's PID or
         * mount namespace is not one it can run. */
        if (!seen_pid)
                return refuse(c, "linux.namespaces: without a pid namespace; Vivarium always makes one");
        if (!seen_mount)
                return refuse(c, "linux.namespaces: without a mount namespace; Vivarium always makes one");
        return 0;
}

static int map_idmap(Ctx *c, FILE *f, struct json_object *lx) {
        static const char *const kinds[][2] = { { "uidMappings", "uid" }, { "gidMappings", "gid" } };

        fprintf(f, "  <idmap>\n");
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                struct json_object *maps = get(lx, kinds[k][0]);
                size_t n = is_type(maps, json_type_array) ? json_object_array_length(maps) : 0;
                if (n != 1)
                        return refuse(c, "linux.%s: Vivarium maps one range, not %zu", kinds[k][0], n);
                struct json_object *m = json_object_array_get_idx(maps, 0);
                fprintf(f, "    <%s start='%" PRId64 "' target='%" PRId64 "' count='%" PRId64 "'/>\n", kinds[k][1],
                        json_object_get_int64(get(m, "containerID")), json_object_get_int64(get(m, "hostID")),
                        json_object_get_int64(get(m, "size")));
        }
        fprintf(f, "  </idmap>\n");
        return 0;
}

static int map_resources(Ctx *c, FILE *f, struct json_object *res) {
        static const char *const known[] = { "memory", "cpu", "devices", "pids", NULL };
        static const char *const mem_known[] = { "limit", "swap", "reservation", "disableOOMKiller", "swappiness", NULL };
        static const char *const cpu_known[] = { "shares", "quota", "period", NULL };
        struct json_object *mem = get(res, "memory"), *cpu = get(res, "cpu"), *v;
        int r;

        r = only_known(c, res, "linux.resources", known);
        if (r >= 0)
                r = only_known(c, mem, "linux.resources.memory", mem_known);
        if (r >= 0)
                r = only_known(c, cpu, "linux.resources.cpu", cpu_known);
        if (r < 0)
                return r;
        if (is_set(get(res, "pids")))
                (void) ignore(c, "linux.resources.pids");
        if ((v = get(mem, "limit")) && json_object_get_int64(v) > 0)
                fprintf(f, "  <memory unit='b'>%" PRId64 "</memory>\n", json_object_get_int64(v));
        if (is_set(get(mem, "swap")) || is_set(get(mem, "reservation")) || is_set(get(mem, "swappiness")))
                (void) ignore(c, "linux.resources.memory.swap/reservation/swappiness");

        int64_t shares = (v = get(cpu, "shares")) ? json_object_get_int64(v) : 0;
        int64_t quota = (v = get(cpu, "quota")) ? json_object_get_int64(v) : 0;
        int64_t period = (v = get(cpu, "period")) ? json_object_get_int64(v) : 0;
        if (shares > 0 || quota > 0 || period > 0) {
                fprintf(f, "  <cputune>\n");
                if (shares > 0)
                        fprintf(f, "    <shares>%" PRId64 "</shares>\n", shares);
                if (period > 0)
                        fprintf(f, "    <period>%" PRId64 "</period>\n", period);
                if (quota > 0)
                        fprintf(f, "    <quota>%" PRId64 "</quota>\n", quota);
                fprintf(f, "  </cputune>\n");
        }
        return 0;
}

static int check_process(Ctx *c, struct json_object *process) {
        static const char *const known[] = {
                "terminal", "consoleSize", "user", "args", "env", "cwd", "capabilities", "rlimits",
                "noNewPrivileges", "oomScoreAdj", "apparmorProfile", "selinuxLabel", NULL,
        };
        static const char *const user_known[] = { "uid", "gid", "umask", "additionalGids", "username", NULL };
        struct json_object *user = get(process, "user"), *groups = get(user, "additionalGids");
        int r;

        r = only_known(c, process, "process", known);
        if (r >= 0)
                r = only_known(c, user, "process.user", user_known);
        if (r < 0)
                return r;
        if (is_set(get(process, "apparmorProfile")))
                return refuse(c, "process.apparmorProfile: AppArmor profiles are not supported by Vivarium");
        if (is_set(get(process, "selinuxLabel")))
                return refuse(c, "process.selinuxLabel: SELinux labels are not supported by Vivarium");
        /* Supplementary groups other than the primary one cannot be set through <initgroup>. */
        for (size_t i = 0; is_type(groups, json_type_array) && i < json_object_array_length(groups); i++)
                if (json_object_get_int64(json_object_array_get_idx(groups, i)) != json_object_get_int64(get(user, "gid")))
                        return refuse(c, "process.user.additionalGids[%zu]: supplementary groups are not supported by Vivarium", i);
        if (is_set(get(process, "rlimits")))
                (void) ignore(c, "process.rlimits");
        if (is_set(get(process, "oomScoreAdj")))
                (void) ignore(c, "process.oomScoreAdj");
        return 0;
}

static int map_process(Ctx *c, FILE *f, struct json_object *process, const char *barrier_tool) {
        struct json_object *args = get(process, "args"), *env = get(process, "env"), *user = get(process, "user");
        const char *cwd = string_of(get(process, "cwd"));
        int r;

        r = check_process(c, process);
        if (r < 0)
                return r;
        if (!is_type(args, json_type_array) || json_object_array_length(args) == 0)
                return refuse(c, "process.args: missing or empty");
        if (!cwd || cwd[0] != '/')
                return refuse(c, "process.cwd: not an absolute path");

        /* The start barrier: the first process waits on the FIFO until
         * "start" writes to it, then execs the command, looked up in the
         * container's PATH as runc does. */
        fprintf(f, "  <os>\n    <type>exe</type>\n    <init>/.vivarium-oci/%s</init>\n", barrier_tool);
        xml_element(f, "    ", "initarg", "sh");
        xml_element(f, "    ", "initarg", "-c");
        xml_element(f, "    ", "initarg", "read _ </.vivarium-oci/go && exec \"$@\"");
        xml_element(f, "    ", "initarg", "vivarium-oci");
        for (size_t i = 0; i < json_object_array_length(args); i++) {
                const char *a = string_of(json_object_array_get_idx(args, i));
                if (!a)
                        return refuse(c, "process.args[%zu]: not a string", i);
                xml_element(f, "    ", "initarg", a);
        }
        for (size_t i = 0; is_type(env, json_type_array) && i < json_object_array_length(env); i++) {
                const char *e = string_of(json_object_array_get_idx(env, i)), *eq = e ? strchr(e, '=') : NULL;
                if (!eq || eq == e)
                        return refuse(c, "process.env[%zu]: not NAME=VALUE", i);
                _cleanup_free_ char *name = strndup(e, (size_t) (eq - e));
                if (!name)
                        return -ENOMEM;
                fprintf(f, "    <initenv name='");
                xml_text(f, name);
                fprintf(f, "'>");
                xml_text(f, eq + 1);
                fprintf(f, "</initenv>\n");
        }
        xml_element(f, "    ", "initdir", cwd);
        fprintf(f, "    <inituser>%" PRId64 "</inituser>\n    <initgroup>%" PRId64 "</initgroup>\n  </os>\n",
                json_object_get_int64(get(user, "uid")), json_object_get_int64(get(user, "gid")));
        return 0;
}

static int check_linux(Ctx *c, struct json_object *lx) {
        static const char *const known[] = {
                "namespaces", "uidMappings", "gidMappings", "resources", "cgroupsPath", "sysctl", "seccomp",
                "maskedPaths", "readonlyPaths", "rootfsPropagation", "devices", NULL,
        };
        const char *prop = string_of(get(lx, "rootfsPropagation"));
        int r;

        r = only_known(c, lx, "linux", known);
        if (r < 0)
                return r;
        if (prop && *prop && !strstr("private rprivate slave rslave", prop))
                return refuse(c, "linux.rootfsPropagation: '%s': a container's mounts never propagate to the host", prop);
        if (is_set(get(lx, "devices")))
                return refuse(c, "linux.devices: Vivarium's /dev is fixed (null zero full random urandom tty ptmx console)");
        if (is_set(get(lx, "sysctl")))
                (void) ignore(c, "linux.sysctl");
        if (is_set(get(lx, "cgroupsPath")))
                (void) ignore(c, "linux.cgroupsPath (the container is machine-NAME.scope)");
        return 0;
}

static int build(Ctx *c, struct json_object *config, const char *bundle, const char *id, const char *barrier_dir,
                 const char *barrier_tool, OciDomain *d) {
        static const char *const known[] = {
                "ociVersion", "root", "mounts", "process", "hostname", "linux", "annotations", NULL,
        };
        struct json_object *root = get(config, "root"), *lx = get(config, "linux"), *process = get(config, "process");
        const char *version = string_of(get(config, "ociVersion")), *root_path = string_of(get(root, "path")),
                   *hostname = string_of(get(config, "hostname"));
        _cleanup_free_ char *abs_root = NULL, *buf = NULL;
        size_t size = 0;
        bool privnet, userns;
        int r;

        r = only_known(c, config, "", known);
        if (r < 0)
                return r;
        if (!version || strncmp(version, "1.", 2) != 0)
                return refuse(c, "ociVersion: '%s' is not a 1.x runtime-spec version", strna(version));
        if (!is_type(process, json_type_object))
                return refuse(c, "process: missing (a container without a process cannot be created)");
        if (!root_path || !*root_path)
                return refuse(c, "root.path: missing");
        if (asprintf(&abs_root, "%s%s%s", root_path[0] == '/' ? "" : bundle, root_path[0] == '/' ? "" : "/", root_path) < 0)
                return -ENOMEM;
        r = check_linux(c, lx);
        if (r < 0)
                return r;
        r = map_namespaces(c, get(lx, "namespaces"), &privnet, &userns);
        if (r < 0)
                return r;

        /* Vivarium's hostname is the domain's name. */
        const char *name = hostname && *hostname ? hostname : id;
        if (!name_is_valid(name))
                return refuse(c, hostname && *hostname ? "hostname: '%s' is not a valid container name (letters, digits, '-_.', 64 at most)"
                                                       : "container id '%s' is not a valid container name (letters, digits, '-_.', 64 at most)",
                              name);

        _cleanup_fclose_ FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>\n");
        xml_element(f, "  ", "name", name);
        r = map_resources(c, f, get(lx, "resources"));
        if (r < 0)
                return r;
        r = map_process(c, f, process, barrier_tool);
        if (r < 0)
                return r;
        if (userns) {
                r = map_idmap(c, f, lx);
                if (r < 0)
                        return r;
        } else if (is_set(get(lx, "uidMappings")) || is_set(get(lx, "gidMappings")))
                return refuse(c, "linux.uidMappings: mappings without a user namespace");
        else
                /* No user namespace asked: none, whatever Vivarium's default. */
                fprintf(f, "  <vivarium:userns mode='off'/>\n");
        if (privnet)
                fprintf(f, "  <features>\n    <privnet/>\n  </features>\n");
        fprintf(f, "  <devices>\n    <filesystem type='mount'>\n      <source dir='");
        xml_text(f, abs_root);
        fprintf(f, "'/>\n      <target dir='/'/>\n%s    </filesystem>\n",
                is_type(get(root, "readonly"), json_type_boolean) && json_object_get_boolean(get(root, "readonly"))
                        ? "      <readonly/>\n" : "");
        fprintf(f, "    <filesystem type='mount'>\n      <source dir='");
        xml_text(f, barrier_dir);
        fprintf(f, "'/>\n      <target dir='/.vivarium-oci'/>\n    </filesystem>\n");
        fprintf(f, "    <filesystem type='mount'>\n      <source dir='/bin/%s'/>\n      <target dir='/.vivarium-oci/%s'/>\n"
                   "      <readonly/>\n    </filesystem>\n", barrier_tool, barrier_tool);
        r = map_mounts(c, f, get(config, "mounts"));
        if (r < 0)
                return r;
        fprintf(f, "    <console type='pty'/>\n  </devices>\n</domain>\n");
        if (fflush(f) != 0)
                return -ENOMEM;
        fclose(TAKE_PTR(f));

        d->name = strdup(name);
        if (!d->name)
                return -ENOMEM;
        d->xml = TAKE_PTR(buf);
        d->terminal = is_type(get(process, "terminal"), json_type_boolean) && json_object_get_boolean(get(process, "terminal"));
        return 0;
}

int oci_spec_to_domain(const char *bundle, const char *id, const char *barrier_dir, const char *barrier_tool,
                       OciDomain *ret, char *err, size_t err_size) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(json_object_putp) struct json_object *config = NULL;
        Ctx c = { .err = err, .err_size = err_size };
        OciDomain d = {};
        int r;

        if (asprintf(&path, "%s/config.json", bundle) < 0)
                return -ENOMEM;
        config = json_object_from_file(path);
        if (!config) {
                snprintf(err, err_size, "cannot read '%s': %s", path, json_util_get_last_err() ?: "not JSON");
                return -EINVAL;
        }
        if (!is_type(config, json_type_object)) {
                snprintf(err, err_size, "'%s' is not a JSON object", path);
                return -EINVAL;
        }
        r = build(&c, config, bundle, id, barrier_dir, barrier_tool, &d);
        d.ignored = c.ignored;
        if (r < 0) {
                oci_domain_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}
