/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Domain XML: read (well-formedness, RelaxNG, model, semantic checks) and
 * write back normalized. The schema (xml/domain.rng) is embedded at build
 * time, so parsing never looks up a file.
 *
 * Decisions beyond libvirt's format:
 * - Elements a container cannot use (clock, cpu, pm, seclabel, devices/input,
 *   graphics, ..., interface/model, devices/emulator) pass the schema with any
 *   content, are reported as "warning: element 'X' is not used by containers,
 *   ignoring" and are dropped from the model.
 * - on_*=coredump-destroy/coredump-restart: accepted with a warning, as
 *   destroy/restart (there is no guest memory image to dump).
 * - Dropped without a warning because they carry nothing for us: the id=
 *   attribute (runtime), <type arch= machine=>, <vcpu placement= current=>,
 *   <link state='up'/> (the default), console <source>/<target>/<alias> and
 *   filesystem <alias> as virsh dumpxml prints them; a writable
 *   <filesystem type='mount'> of source '/' on target '/' (libvirt's own
 *   spelling of a shared root); <emulator>, <clock offset='utc'/>,
 *   <seclabel type='none'/>, <resource><partition>/machine</partition>: what
 *   a container here is anyway (libvirt_value_is_ours()).
 * - Several <console type='pty'/> are allowed (n_consoles); other types are
 *   refused by the schema.
 * - Paths: absolute, no ".." step, repeated and trailing slashes collapsed.
 * - A capability toggle without state= means on; toggles are kept sorted by
 *   capability number.
 * - Refused as contradictions: currentMemory > memory, soft_limit >
 *   hard_limit, swap_hard_limit < hard_limit, the same filesystem target, MAC,
 *   target dev or guest dev twice, idmap uid without gid (or the reverse) and
 *   overlapping ranges, a route without gateway. A UUID used by another
 *   container is the manager's check. */

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "domain-xml.h"
#include "fileio.h"
#include "strmap.h"
#include "xml-util.h"

#define VIV_DOMAIN_NS "http://vivarium.org/schemas/domain/1"
#define LXC_DOMAIN_NS "http://libvirt.org/schemas/domain/lxc/1.0"

extern const char xml_schema_domain_rng[];
extern const size_t xml_schema_domain_rng_len;

typedef struct Parser {
        const XmlInput *in;
        XmlDiag *diag;
        DomainDef *def;
        /* Nodes kept for checks that span elements. */
        xmlNode *memory_node, *current_memory_node, *hard_limit_node, *soft_limit_node, *swap_node;
        xmlNode **fs_nodes;
        size_t n_fs_nodes;
        xmlNode **iface_nodes;
        size_t n_iface_nodes;
        xmlNode **device_nodes;     /* <hostdev>/<disk> parts named in device_keys */
        size_t n_device_nodes;
        /* names seen so far, with the index of their element */
        StrMap env_names, fs_targets, iface_macs, iface_targets, iface_guests;
        StrMap device_keys;         /* device nodes, host links, USB devices */
} Parser;

static void parser_done(Parser *p) {
        free(p->fs_nodes);
        free(p->iface_nodes);
        free(p->device_nodes);
        strmap_done(&p->device_keys);
        strmap_done(&p->env_names);
        strmap_done(&p->fs_targets);
        strmap_done(&p->iface_macs);
        strmap_done(&p->iface_targets);
        strmap_done(&p->iface_guests);
}

#define ERR(p, node, attr, ...) xml_error((p)->in, (p)->diag, (node), (attr), __VA_ARGS__)

static int warn_ignored(Parser *p, xmlNode *n) {
        char qname[256];
        return xml_warning(p->in, p->diag, n, "element '%s' is not used by containers, ignoring",
                           xml_node_qname(n, qname, sizeof(qname)));
}

/* libvirt writes these into its LXC documents (virsh dumpxml, its own test
 * documents), and with these values they ask for what a Vivarium container
 * already is: no warning, nothing kept. Other values keep the warning.
 * - <clock offset='utc'/>: a container shares the host's kernel clock, UTC;
 * - <resource><partition>/machine</partition>: the scope is in machine.slice;
 * - <seclabel type='none'/>: no SELinux/AppArmor label is applied;
 * - <emulator>: the path of libvirt's controller, the process that Vivarium's
 *   helper stands for, so it names nothing that runs here. */
static bool libvirt_value_is_ours(xmlNode *n) {
        if (xml_name_is(n, "emulator"))
                return true;
        if (xml_name_is(n, "clock") || xml_name_is(n, "seclabel")) {
                _cleanup_free_ char *v = NULL;
                const char *attr = xml_name_is(n, "clock") ? "offset" : "type";
                if (xml_prop_opt(n, attr, &v) < 0)
                        return false;
                if (xmlFirstElementChild(n))
                        return false; /* <timer>, <label>: more than the value above */
                return streq_ptr(v, xml_name_is(n, "clock") ? "utc" : "none");
        }
        if (xml_name_is(n, "resource")) {
                size_t n_children = 0;
                bool machine = false;
                XML_FOREACH_ELEMENT(c, n) {
                        n_children++;
                        if (xml_name_is(c, "partition")) {
                                _cleanup_free_ char *t = xml_text(c);
                                machine = t && streq(t, "/machine");
                        }
                }
                return n_children == 1 && machine;
        }
        return false;
}

/* ---- small value readers ---- */

static int take_text(Parser *p, xmlNode *n, char **field) {
        char *s = xml_text(n);
        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

/* <memory unit='...'>N</memory> and its relatives, in KiB. */
static int parse_scaled(Parser *p, xmlNode *n, const char *unit_attr, const char *value_attr, uint64_t *ret) {
        _cleanup_free_ char *unit = NULL;
        _cleanup_free_ char *text = value_attr ? xml_prop(n, value_attr) : xml_text(n);
        uint64_t v;
        int r;

        if (!text)
                return -ENOMEM;
        r = xml_prop_opt(n, unit_attr, &unit);
        if (r < 0)
                return r;
        r = xml_parse_u64(text, &v);
        if (r == -ERANGE)
                return ERR(p, n, value_attr, "value '%s' of element '%s' is too large", text, (const char *) n->name);
        if (r < 0)
                return ERR(p, n, value_attr, "value '%s' of element '%s' is not a non-negative integer", text, (const char *) n->name);
        r = xml_scale_to_kib(v, unit, "KiB", ret);
        if (r == -ERANGE)
                return ERR(p, n, value_attr, "value '%s %s' of element '%s' is too large", text, unit, (const char *) n->name);
        if (r < 0)
                return ERR(p, n, unit_attr, "unknown unit '%s' in element '%s'", strna(unit), (const char *) n->name);
        return 0;
}

static int parse_u64_text(Parser *p, xmlNode *n, uint64_t min, uint64_t max, uint64_t *ret) {
        _cleanup_free_ char *text = xml_text(n);
        uint64_t v;
        int r;

        if (!text)
                return -ENOMEM;
        r = xml_parse_u64(text, &v);
        if (r < 0 || v < min || v > max)
                return ERR(p, n, NULL, "value '%s' of element '%s' is out of range, expected %llu to %llu",
                           text, (const char *) n->name, (unsigned long long) min, (unsigned long long) max);
        *ret = v;
        return 0;
}

static int parse_u32_attr(Parser *p, xmlNode *n, const char *attr, uint32_t *ret) {
        _cleanup_free_ char *s = xml_prop(n, attr);
        uint64_t v;

        if (!s)
                return ERR(p, n, NULL, "element '%s' lacks the attribute '%s'", (const char *) n->name, attr);
        if (xml_parse_u64(s, &v) < 0 || v > UINT32_MAX)
                return ERR(p, n, attr, "attribute '%s' of element '%s' has the invalid value '%s', expected 0 to %u",
                           attr, (const char *) n->name, s, UINT32_MAX);
        *ret = (uint32_t) v;
        return 0;
}

/* Collapses repeated and trailing slashes. Refuses relative paths and ".." steps:
 * a target must not climb out of the container's root. */
static int parse_path(Parser *p, xmlNode *n, const char *attr, const char *what, char **ret) {
        _cleanup_free_ char *raw = attr ? xml_prop(n, attr) : xml_text(n);
        char *out, *o;

        if (!raw)
                return attr ? ERR(p, n, NULL, "element '%s' lacks the attribute '%s'", (const char *) n->name, attr) : -ENOMEM;
        if (raw[0] != '/')
                return ERR(p, n, attr, "%s '%s' is not an absolute path", what, raw);
        for (const char *s = raw; *s;) {
                const char *e = strchrnul(s, '/');
                if (e - s == 2 && s[0] == '.' && s[1] == '.')
                        return ERR(p, n, attr, "%s '%s' contains '..'", what, raw);
                s = *e ? e + 1 : e;
        }
        out = o = malloc(strlen(raw) + 1);
        if (!out)
                return -ENOMEM;
        for (const char *s = raw; *s; s++) {
                if (*s == '/' && o > out && o[-1] == '/')
                        continue;
                *o++ = *s;
        }
        if (o > out + 1 && o[-1] == '/')
                o--;
        *o = 0;
        *ret = out;
        return 0;
}

/* ---- elements ---- */

static int parse_memtune(Parser *p, xmlNode *n) {
        XML_FOREACH_ELEMENT(c, n) {
                int r = 0;
                if (xml_name_is(c, "hard_limit")) {
                        r = parse_scaled(p, c, "unit", NULL, &p->def->hard_limit_kib);
                        p->hard_limit_node = c;
                } else if (xml_name_is(c, "soft_limit")) {
                        r = parse_scaled(p, c, "unit", NULL, &p->def->soft_limit_kib);
                        p->soft_limit_node = c;
                } else if (xml_name_is(c, "swap_hard_limit")) {
                        r = parse_scaled(p, c, "unit", NULL, &p->def->swap_hard_limit_kib);
                        p->swap_node = c;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_vcpu(Parser *p, xmlNode *n) {
        uint64_t v;
        int r;

        r = parse_u64_text(p, n, 1, 4096, &v);
        if (r < 0)
                return r;
        p->def->vcpus = (unsigned) v;
        free(p->def->cpuset);
        return xml_prop_opt(n, "cpuset", &p->def->cpuset);
}

static int parse_cputune(Parser *p, xmlNode *n) {
        XML_FOREACH_ELEMENT(c, n) {
                int r = 0;
                if (xml_name_is(c, "shares"))
                        /* cgroup v1's range; mapped to cpu.weight by the manager */
                        r = parse_u64_text(p, c, 2, 262144, &p->def->cpu_shares);
                else if (xml_name_is(c, "period"))
                        r = parse_u64_text(p, c, 1000, 1000000, &p->def->cpu_period_us);
                else if (xml_name_is(c, "quota")) {
                        _cleanup_free_ char *text = xml_text(c);
                        int64_t q;

                        if (!text)
                                return -ENOMEM;
                        if (xml_parse_i64(text, &q) < 0 || !(q == -1 || (q >= 1000 && q <= INT64_C(18446744073709551))))
                                return ERR(p, c, NULL, "value '%s' of element 'quota' is out of range, expected -1 (unlimited) or 1000 to 18446744073709551", text);
                        p->def->cpu_quota_us = q;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* <device><path/><weight/><read_bytes_sec/>...</device>: libvirt writes 0
 * for "not set", and so accepts it. */
static int parse_blkio_device(Parser *p, xmlNode *n) {
        DomainDef *def = p->def;
        DomainBlkioDevice *bd, *a;
        int r = 0;

        a = realloc(def->blkio_devices, (def->n_blkio_devices + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        def->blkio_devices = a;
        bd = &a[def->n_blkio_devices++];
        *bd = (DomainBlkioDevice) {};
        XML_FOREACH_ELEMENT(c, n) {
                if (xml_name_is(c, "path")) {
                        free(bd->path);
                        bd->path = xml_text(c);
                        if (!bd->path)
                                return -ENOMEM;
                        if (bd->path[0] != '/')
                                return ERR(p, c, NULL, "blkiotune device path '%s' is not an absolute path", bd->path);
                } else if (xml_name_is(c, "weight")) {
                        r = parse_u64_text(p, c, 0, 1000, &bd->weight);
                        if (r >= 0 && bd->weight > 0 && bd->weight < 10)
                                r = ERR(p, c, NULL, "value '%llu' of element 'weight' is out of range, expected 0 (not set) or 10 to 1000",
                                        (unsigned long long) bd->weight);
                } else if (xml_name_is(c, "read_bytes_sec"))
                        r = parse_u64_text(p, c, 0, UINT64_MAX, &bd->read_bytes_sec);
                else if (xml_name_is(c, "write_bytes_sec"))
                        r = parse_u64_text(p, c, 0, UINT64_MAX, &bd->write_bytes_sec);
                else if (xml_name_is(c, "read_iops_sec"))
                        r = parse_u64_text(p, c, 0, UINT64_MAX, &bd->read_iops_sec);
                else if (xml_name_is(c, "write_iops_sec"))
                        r = parse_u64_text(p, c, 0, UINT64_MAX, &bd->write_iops_sec);
                if (r < 0)
                        return r;
        }
        if (!bd->path)
                return ERR(p, n, NULL, "blkiotune element 'device' lacks its 'path'");
        for (size_t i = 0; i + 1 < def->n_blkio_devices; i++)
                if (streq(def->blkio_devices[i].path, bd->path))
                        return ERR(p, n, NULL, "duplicate blkio device path '%s'", bd->path);
        return 0;
}

static int parse_blkiotune(Parser *p, xmlNode *n) {
        XML_FOREACH_ELEMENT(c, n) {
                int r = 0;
                if (xml_name_is(c, "weight"))
                        r = parse_u64_text(p, c, 10, 1000, &p->def->blkio_weight);
                else if (xml_name_is(c, "device"))
                        r = parse_blkio_device(p, c);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void format_blkiotune(XmlBuf *b, const DomainDef *def) {
        xml_buf_printf(b, "  <blkiotune>\n");
        if (def->blkio_weight != UNSET_U64)
                xml_buf_printf(b, "    <weight>%llu</weight>\n", (unsigned long long) def->blkio_weight);
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices) {
                const struct {
                        const char *name;
                        uint64_t v;
                } f[] = {
                        { "weight", bd->weight },
                        { "read_iops_sec", bd->read_iops_sec },
                        { "write_iops_sec", bd->write_iops_sec },
                        { "read_bytes_sec", bd->read_bytes_sec },
                        { "write_bytes_sec", bd->write_bytes_sec },
                };
                xml_buf_printf(b, "    <device>\n      <path>");
                xml_buf_escaped(b, bd->path, false);
                xml_buf_printf(b, "</path>\n");
                for (size_t i = 0; i < ELEMENTSOF(f); i++)
                        if (f[i].v > 0)
                                xml_buf_printf(b, "      <%s>%llu</%s>\n", f[i].name, (unsigned long long) f[i].v, f[i].name);
                xml_buf_printf(b, "    </device>\n");
        }
        xml_buf_printf(b, "  </blkiotune>\n");
}

/* Arguments and environment keep their white space: it is the user's. */
static char *raw_text(xmlNode *n) {
        _cleanup_(xmlFreep) xmlChar *v = xmlNodeGetContent(n);

        return strdup(v ? (const char *) v : "");
}

static bool env_name_is_valid(const char *s) {
        if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
                return false;
        for (s++; *s; s++)
                if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
                        return false;
        return true;
}

static int parse_os(Parser *p, xmlNode *n) {
        DomainDef *def = p->def;
        int r = 0;

        XML_FOREACH_ELEMENT(c, n) {
                if (xml_name_is(c, "type"))
                        r = take_text(p, c, &def->os_type);
                else if (xml_name_is(c, "init")) {
                        _cleanup_free_ char *s = xml_text(c);
                        if (!s)
                                return -ENOMEM;
                        if (s[0] != '/')
                                return ERR(p, c, NULL, "init '%s' is not an absolute path", s);
                        free(def->init);
                        def->init = TAKE_PTR(s);
                } else if (xml_name_is(c, "initarg")) {
                        char *s = raw_text(c);
                        if (!s)
                                return -ENOMEM;
                        r = strv_consume(&def->init_args, s);
                } else if (xml_name_is(c, "initenv")) {
                        DomainEnv *e;
                        _cleanup_free_ char *name = NULL;

                        r = xml_prop_opt(c, "name", &name);
                        if (r < 0)
                                return r;
                        if (!name)
                                return ERR(p, c, NULL, "element 'initenv' lacks the attribute 'name'");
                        /* The schema's pattern, again for the trusted parse: a '=' in the
                         * name would set another variable than the one named. */
                        if (!env_name_is_valid(name))
                                return ERR(p, c, "name", "environment variable name '%s' is invalid, expected a letter or '_', then letters, digits or '_'", name);
                        r = strmap_put(&p->env_names, name, def->n_init_env, NULL);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                return ERR(p, c, "name", "environment variable '%s' is set twice", name);
                        e = XML_ARRAY_GROW(def->init_env, def->n_init_env);
                        if (!e)
                                return -ENOMEM;
                        e->name = TAKE_PTR(name);
                        e->value = raw_text(c);
                        if (!e->value)
                                return -ENOMEM;
                } else if (xml_name_is(c, "initdir"))
                        r = parse_path(p, c, NULL, "initdir", &def->init_dir);
                else if (xml_name_is(c, "inituser"))
                        r = take_text(p, c, &def->init_user);
                else if (xml_name_is(c, "initgroup"))
                        r = take_text(p, c, &def->init_group);
                if (r < 0)
                        return r;
        }
        if (def->init_user && !*def->init_user)
                return ERR(p, xml_child(n, "inituser"), NULL, "element 'inituser' is empty");
        if (def->init_group && !*def->init_group)
                return ERR(p, xml_child(n, "initgroup"), NULL, "element 'initgroup' is empty");
        return 0;
}

static bool ranges_overlap(uint32_t a, uint32_t na, uint32_t b, uint32_t nb) {
        return (uint64_t) a < (uint64_t) b + nb && (uint64_t) b < (uint64_t) a + na;
}

static int parse_idmap(Parser *p, xmlNode *n) {
        DomainDef *def = p->def;

        XML_FOREACH_ELEMENT(c, n) {
                bool uid = xml_name_is(c, "uid");
                DomainIdmap m = {}, **map = uid ? &def->uid_map : &def->gid_map;
                size_t *count = uid ? &def->n_uid_map : &def->n_gid_map;
                const char *what = uid ? "uid" : "gid";
                DomainIdmap *slot;
                int r;

                if ((r = parse_u32_attr(p, c, "start", &m.start)) < 0 ||
                    (r = parse_u32_attr(p, c, "target", &m.target)) < 0 ||
                    (r = parse_u32_attr(p, c, "count", &m.count)) < 0)
                        return r;
                if (m.count == 0)
                        return ERR(p, c, "count", "%s mapping with count 0", what);
                if ((uint64_t) m.start + m.count - 1 > UINT32_MAX - 1 || (uint64_t) m.target + m.count - 1 > UINT32_MAX - 1)
                        return ERR(p, c, "count", "%s mapping %u→%u of %u ids goes past the largest id", what, m.start, m.target, m.count);
                for (size_t i = 0; i < *count; i++) {
                        const DomainIdmap *o = &(*map)[i];
                        if (ranges_overlap(o->start, o->count, m.start, m.count))
                                return ERR(p, c, "start", "%s mapping starting at %u overlaps the one starting at %u inside the container",
                                           what, m.start, o->start);
                        if (ranges_overlap(o->target, o->count, m.target, m.count))
                                return ERR(p, c, "target", "%s mapping to %u overlaps the one to %u on the host",
                                           what, m.target, o->target);
                }
                slot = XML_ARRAY_GROW(*map, *count);
                if (!slot)
                        return -ENOMEM;
                *slot = m;
        }
        if (def->n_uid_map > 0 && def->n_gid_map == 0)
                return ERR(p, n, NULL, "idmap maps uids but no gids: a user namespace needs both");
        if (def->n_gid_map > 0 && def->n_uid_map == 0)
                return ERR(p, n, NULL, "idmap maps gids but no uids: a user namespace needs both");
        return 0;
}

static int parse_capabilities(Parser *p, xmlNode *n) {
        DomainDef *def = p->def;
        _cleanup_free_ char *policy = NULL;
        int r;

        r = xml_prop_opt(n, "policy", &policy);
        if (r < 0)
                return r;
        if (!policy || streq(policy, "default"))
                def->cap_policy = CAP_POLICY_DEFAULT;
        else if (streq(policy, "allow"))
                def->cap_policy = CAP_POLICY_ALLOW;
        else if (streq(policy, "deny"))
                def->cap_policy = CAP_POLICY_DENY;
        else
                return ERR(p, n, "policy", "capabilities policy '%s' is unknown, expected 'default', 'allow' or 'deny'", policy);

        XML_FOREACH_ELEMENT(c, n) {
                _cleanup_free_ char *state = NULL;
                int cap = capability_from_name((const char *) c->name);
                DomainCapToggle *t;

                r = xml_prop_opt(c, "state", &state);
                if (r < 0)
                        return r;
                if (cap < 0)
                        return ERR(p, c, NULL, "unknown capability '%s'", (const char *) c->name);
                ARRAY_FOREACH(o, def->cap_toggles, def->n_cap_toggles)
                        if (o->cap == cap)
                                return ERR(p, c, NULL, "capability '%s' is given twice", (const char *) c->name);
                t = XML_ARRAY_GROW(def->cap_toggles, def->n_cap_toggles);
                if (!t)
                        return -ENOMEM;
                t->cap = cap;
                t->on = !state || streq(state, "on");
        }

        /* Normalized: by capability number. */
        for (size_t i = 1; i < def->n_cap_toggles; i++)
                for (size_t j = i; j > 0 && def->cap_toggles[j - 1].cap > def->cap_toggles[j].cap; j--) {
                        DomainCapToggle tmp = def->cap_toggles[j];
                        def->cap_toggles[j] = def->cap_toggles[j - 1];
                        def->cap_toggles[j - 1] = tmp;
                }
        return 0;
}

static int parse_features(Parser *p, xmlNode *n) {
        XML_FOREACH_ELEMENT(c, n) {
                if (xml_name_is(c, "privnet"))
                        p->def->privnet = true;
                else if (xml_name_is(c, "capabilities")) {
                        int r = parse_capabilities(p, c);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_lifecycle(Parser *p, xmlNode *n, LifecycleAction *ret) {
        _cleanup_free_ char *s = xml_text(n);

        if (!s)
                return -ENOMEM;
        for (LifecycleAction a = 0; a < _LIFECYCLE_ACTION_MAX; a++)
                if (streq(s, lifecycle_action_to_string(a))) {
                        *ret = a;
                        return 0;
                }
        /* A container has no guest memory image to dump: the action stays, the dump goes. */
        if (streq(s, "coredump-destroy") || streq(s, "coredump-restart")) {
                *ret = streq(s, "coredump-destroy") ? LIFECYCLE_DESTROY : LIFECYCLE_RESTART;
                return xml_warning(p->in, p->diag, n, "%s action '%s': containers have no core dump, using '%s'",
                                   (const char *) n->name, s, lifecycle_action_to_string(*ret));
        }
        return ERR(p, n, NULL, "%s action '%s' is unknown, expected 'destroy', 'restart', 'preserve' or 'rename-restart'",
                   (const char *) n->name, s);
}

/* <driver type='loop|nbd' format='...'/> of a type='file' filesystem, as
 * libvirt's LXC driver reads it: no type means loop, which takes raw images
 * only (a loop device shows the file's bytes as they are). */
static int parse_filesystem_driver(Parser *p, xmlNode *n, DomainFilesystem *fs) {
        xmlNode *driver = xml_child(n, "driver");
        _cleanup_free_ char *type = NULL, *format = NULL;
        int r;

        if (!driver) {
                if (fs->type == FILESYSTEM_FILE)
                        fs->driver = FILESYSTEM_DRIVER_LOOP;
                return 0;
        }
        if (fs->type != FILESYSTEM_FILE)
                return ERR(p, driver, NULL, "a '%s' filesystem takes no <driver>: only type='file' has one",
                           filesystem_type_to_string(fs->type));
        if ((r = xml_prop_opt(driver, "type", &type)) < 0 ||
            (r = xml_prop_opt(driver, "format", &format)) < 0)
                return r;
        if (!type || streq(type, "loop"))
                fs->driver = FILESYSTEM_DRIVER_LOOP;
        else if (streq(type, "nbd"))
                fs->driver = FILESYSTEM_DRIVER_NBD;
        else
                return ERR(p, driver, "type", "filesystem driver '%s' is not supported, expected 'loop' or 'nbd'", type);
        fs->format = IMAGE_FORMAT_NONE;
        if (format) {
                size_t f;
                for (f = IMAGE_FORMAT_RAW; f < _IMAGE_FORMAT_MAX; f++)
                        if (streq(format, image_format_to_string((ImageFormat) f)))
                                break;
                if (f == _IMAGE_FORMAT_MAX)
                        return ERR(p, driver, "format", "image format '%s' is unknown", format);
                fs->format = (ImageFormat) f;
        }
        if (fs->driver == FILESYSTEM_DRIVER_LOOP && fs->format > IMAGE_FORMAT_RAW)
                return ERR(p, driver, "format",
                           "image format '%s' needs <driver type='nbd'>: a loop device reads raw images only", format);
        return 0;
}

static int parse_filesystem(Parser *p, xmlNode *n) {
        DomainDef *def = p->def;
        _cleanup_free_ char *type = NULL, *accessmode = NULL;
        DomainFilesystem *fs;
        xmlNode *source = xml_child(n, "source"), *target = xml_child(n, "target");
        int r;

        if ((r = xml_prop_opt(n, "type", &type)) < 0 ||
            (r = xml_prop_opt(n, "accessmode", &accessmode)) < 0)
                return r;
        if (accessmode && !streq(accessmode, "passthrough"))
                return ERR(p, n, "accessmode", "filesystem accessmode '%s' is not supported, expected 'passthrough'", accessmode);

        fs = XML_ARRAY_GROW(def->filesystems, def->n_filesystems);
        if (!fs)
                return -ENOMEM;
        if (!type || streq(type, "mount"))
                fs->type = FILESYSTEM_MOUNT;
        else if (streq(type, "bind"))
                fs->type = FILESYSTEM_BIND;
        else if (streq(type, "ram"))
                fs->type = FILESYSTEM_RAM;
        else if (streq(type, "file"))
                fs->type = FILESYSTEM_FILE;
        else if (streq(type, "block"))
                fs->type = FILESYSTEM_BLOCK;
        else
                return ERR(p, n, "type", "filesystem type '%s' is not supported, expected 'mount', 'bind', 'ram', 'file' or 'block'", type);

        if (!source)
                return ERR(p, n, NULL, "filesystem lacks a <source>");
        if (!target)
                return ERR(p, n, NULL, "filesystem lacks a <target>");
        r = parse_filesystem_driver(p, n, fs);
        if (r < 0)
                return r;

        /* the attribute of <source> each type takes */
        static const char *const source_attr[_FILESYSTEM_TYPE_MAX] = {
                [FILESYSTEM_MOUNT] = "dir", [FILESYSTEM_BIND] = "dir",
                [FILESYSTEM_FILE] = "file", [FILESYSTEM_BLOCK] = "dev",
        };
        static const char *const other_attrs[] = { "dir", "file", "dev", "usage", "units" };
        const char *want = source_attr[fs->type];
        FOREACH_ARRAY(a, other_attrs, ELEMENTSOF(other_attrs)) {
                bool ram_attr = streq(*a, "usage") || streq(*a, "units");
                if ((want ? streq(*a, want) : ram_attr) || !xmlHasProp(source, BAD_CAST *a))
                        continue;
                if (!want)
                        return ERR(p, source, *a, "a 'ram' filesystem takes usage= and units=, not %s=", *a);
                return ERR(p, source, *a, "a '%s' filesystem takes %s=, not %s=",
                           filesystem_type_to_string(fs->type), want, *a);
        }
        if (fs->type == FILESYSTEM_RAM) {
                if (!xmlHasProp(source, BAD_CAST "usage"))
                        return ERR(p, source, NULL, "a 'ram' filesystem needs <source usage='...'/>");
                r = parse_scaled(p, source, "units", "usage", &fs->ram_usage_kib);
                if (r < 0)
                        return r;
        } else {
                static const char *const what[_FILESYSTEM_TYPE_MAX] = {
                        [FILESYSTEM_MOUNT] = "filesystem source", [FILESYSTEM_BIND] = "bind source",
                        [FILESYSTEM_FILE] = "image file", [FILESYSTEM_BLOCK] = "block device",
                };
                if (!xmlHasProp(source, BAD_CAST want))
                        return ERR(p, source, NULL, "a '%s' filesystem needs <source %s='...'/>",
                                   filesystem_type_to_string(fs->type), want);
                r = parse_path(p, source, want, what[fs->type], &fs->source);
                if (r < 0)
                        return r;
        }

        r = parse_path(p, target, "dir", "filesystem target", &fs->target);
        if (r < 0)
                return r;
        if (streq(fs->target, "/") && (fs->type == FILESYSTEM_BIND || fs->type == FILESYSTEM_RAM))
                return ERR(p, target, "dir", "a '%s' filesystem cannot be the root: the root must be of type 'mount', 'file' or 'block'",
                           filesystem_type_to_string(fs->type));
        fs->readonly = !!xml_child(n, "readonly");

        size_t i;
        r = strmap_put(&p->fs_targets, fs->target, p->n_fs_nodes, &i);
        if (r < 0)
                return r;
        if (r > 0) {
                unsigned line, column;
                xml_node_position(p->in, p->fs_nodes[i], NULL, &line, &column);
                return ERR(p, target, "dir", "filesystem target '%s' is already used by the filesystem at line %u",
                           fs->target, line);
        }
        if (!XML_ARRAY_GROW(p->fs_nodes, p->n_fs_nodes))
                return -ENOMEM;
        p->fs_nodes[p->n_fs_nodes - 1] = n;

        /* libvirt's spelling of a shared root: its LXC driver adds this very
         * filesystem to a definition without a root, and shares the host's
         * root for it (a writable bind of '/' elsewhere stays refused at
         * start). Dropped, so it runs as a definition without one. */
        if (fs->type == FILESYSTEM_MOUNT && streq(fs->source, "/") && streq(fs->target, "/") && !fs->readonly) {
                free(fs->source);
                free(fs->target);
                def->n_filesystems--;
        }
        return 0;
}

static int parse_family(Parser *p, xmlNode *n, const char *address, int *ret_family) {
        _cleanup_free_ char *family = NULL;
        int guessed = address && strchr(address, ':') ? AF_INET6 : AF_INET;
        int r;

        r = xml_prop_opt(n, "family", &family);
        if (r < 0)
                return r;
        if (!family)
                *ret_family = guessed;
        else if (streq(family, "ipv4"))
                *ret_family = AF_INET;
        else if (streq(family, "ipv6"))
                *ret_family = AF_INET6;
        else
                return ERR(p, n, "family", "address family '%s' is unknown, expected 'ipv4' or 'ipv6'", family);
        return 0;
}

static int check_address(Parser *p, xmlNode *n, const char *attr, const char *value, int family) {
        unsigned char buf[sizeof(struct in6_addr)];

        if (inet_pton(family, value, buf) != 1)
                return ERR(p, n, attr, "'%s' is not a valid %s address", value, family == AF_INET ? "IPv4" : "IPv6");
        return 0;
}

static int parse_prefix(Parser *p, xmlNode *n, int family, unsigned *ret) {
        _cleanup_free_ char *s = NULL;
        unsigned max = family == AF_INET ? 32 : 128;
        uint64_t v;
        int r;

        r = xml_prop_opt(n, "prefix", &s);
        if (r < 0)
                return r;
        if (!s) {
                *ret = family == AF_INET ? 24 : 64;
                return 0;
        }
        if (xml_parse_u64(s, &v) < 0 || v > max)
                return ERR(p, n, "prefix", "prefix '%s' is out of range for %s, expected 0 to %u",
                           s, family == AF_INET ? "IPv4" : "IPv6", max);
        *ret = (unsigned) v;
        return 0;
}

/* <ip> and <route> of a link inside: an <interface>'s or a <hostdev type='net'>'s */
static int parse_ip(Parser *p, xmlNode *n, DomainIP **ips, size_t *n_ips) {
        DomainIP *ip = XML_ARRAY_GROW(*ips, *n_ips);
        int r;

        if (!ip)
                return -ENOMEM;
        ip->address = xml_prop(n, "address");
        if (!ip->address)
                return ERR(p, n, NULL, "element 'ip' lacks the attribute 'address'");
        if ((r = parse_family(p, n, ip->address, &ip->family)) < 0 ||
            (r = check_address(p, n, "address", ip->address, ip->family)) < 0 ||
            (r = parse_prefix(p, n, ip->family, &ip->prefix)) < 0)
                return r;
        r = xml_prop_opt(n, "peer", &ip->peer);
        if (r < 0)
                return r;
        if (ip->peer && (r = check_address(p, n, "peer", ip->peer, ip->family)) < 0)
                return r;
        return 0;
}

static int parse_route(Parser *p, xmlNode *n, DomainRoute **routes, size_t *n_routes) {
        DomainRoute *rt = XML_ARRAY_GROW(*routes, *n_routes);
        int r;

        if (!rt)
                return -ENOMEM;
        rt->address = xml_prop(n, "address");
        r = xml_prop_opt(n, "gateway", &rt->gateway);
        if (r < 0)
                return r;
        if (!rt->address)
                return ERR(p, n, NULL, "element 'route' lacks the attribute 'address'");
        if ((r = parse_family(p, n, rt->address, &rt->family)) < 0 ||
            (r = check_address(p, n, "address", rt->address, rt->family)) < 0 ||
            (r = parse_prefix(p, n, rt->family, &rt->prefix)) < 0)
                return r;
        if (!rt->gateway)
                return ERR(p, n, NULL, "route to '%s/%u' has no gateway", rt->address, rt->prefix);
        return check_address(p, n, "gateway", rt->gateway, rt->family);
}

static const char *const source_attr_of_type[_INTERFACE_TYPE_MAX] = {
        [INTERFACE_NETWORK] = "network",
        [INTERFACE_BRIDGE] = "bridge",
        [INTERFACE_DIRECT] = "dev",
        [INTERFACE_ETHERNET] = NULL,
};

static int parse_interface_source(Parser *p, xmlNode *n, DomainInterface *iface) {
        const char *want = source_attr_of_type[iface->type];
        const char *type = interface_type_to_string(iface->type);
        xmlNode *src = xml_child(n, "source");
        static const char *const attrs[] = { "network", "bridge", "dev", "mode" };

        if (src)
                ARRAY_FOREACH(a, attrs, ELEMENTSOF(attrs)) {
                        bool allowed = streq_ptr(want, *a) || (iface->type == INTERFACE_DIRECT && streq(*a, "mode"));
                        if (!allowed && xmlHasProp(src, BAD_CAST *a))
                                return ERR(p, src, *a, "attribute '%s' of <source> does not apply to an interface of type '%s'%s%s%s",
                                           *a, type, want ? ", expected '" : "", strempty(want), want ? "'" : "");
                }
        if (src)
                XML_FOREACH_ELEMENT(c, src) {
                        int r;
                        /* libvirt's host side of an ethernet interface (its
                         * tap or veth); the other types have no device of
                         * their own on the host to configure */
                        if (iface->type != INTERFACE_ETHERNET)
                                return ERR(p, c, NULL, "<%s> in <source> configures the host side, which only an "
                                           "interface of type 'ethernet' has", (const char *) c->name);
                        if (xml_name_is(c, "ip"))
                                r = parse_ip(p, c, &iface->host_ips, &iface->n_host_ips);
                        else
                                r = parse_route(p, c, &iface->host_routes, &iface->n_host_routes);
                        if (r < 0)
                                return r;
                }
        if (!want)
                return 0;
        if (!src || !xmlHasProp(src, BAD_CAST want))
                return ERR(p, src ? src : n, NULL, "an interface of type '%s' needs <source %s='...'/>", type, want);
        iface->source = xml_prop(src, want);
        if (!iface->source)
                return -ENOMEM;
        if (!*iface->source)
                return ERR(p, src, want, "attribute '%s' of <source> is empty", want);

        if (iface->type == INTERFACE_DIRECT) {
                _cleanup_free_ char *mode = NULL;
                int r;

                r = xml_prop_opt(src, "mode", &mode);
                if (r < 0)
                        return r;
                iface->direct_mode = DIRECT_MODE_VEPA;
                if (mode) {
                        bool found = false;
                        for (DirectMode m = 0; m < _DIRECT_MODE_MAX; m++)
                                if (streq(mode, direct_mode_to_string(m))) {
                                        iface->direct_mode = m;
                                        found = true;
                                }
                        if (!found)
                                return ERR(p, src, "mode", "direct mode '%s' is unknown, expected 'vepa', 'bridge', 'private' or 'passthrough'", mode);
                }
        }
        return 0;
}

static bool node_is_vivarium(xmlNode *n) {
        return n->ns && n->ns->href && streq((const char *) n->ns->href, VIV_DOMAIN_NS);
}

static bool node_is_lxc(xmlNode *n) {
        return n->ns && n->ns->href && streq((const char *) n->ns->href, LXC_DOMAIN_NS);
}

/* <vivarium:spoofcheck state='on|off'/>: Vivarium's anti-spoofing filter
 * (netguard.h), on by default for type='network'. */
static int parse_spoofcheck(Parser *p, xmlNode *n, DomainInterface *iface) {
        _cleanup_free_ char *state = xml_prop(n, "state");

        if (streq_ptr(state, "on"))
                iface->spoofcheck = SPOOFCHECK_ON;
        else if (streq_ptr(state, "off"))
                iface->spoofcheck = SPOOFCHECK_OFF;
        else
                return ERR(p, n, state ? "state" : NULL, "spoofcheck state '%s' is unknown, expected 'on' or 'off'",
                           strna(state));
        if (iface->type == INTERFACE_DIRECT && iface->spoofcheck == SPOOFCHECK_ON)
                return ERR(p, n, "state", "spoofcheck needs a host-side device: type='direct' has none");
        return 0;
}

static int parse_port_number(Parser *p, xmlNode *n, const char *attr, const char *text, uint16_t *ret) {
        char *end;
        unsigned long v;

        if (!text || *text < '0' || *text > '9')
                return ERR(p, n, attr, "port '%s' is not a number from 1 to 65535", strna(text));
        errno = 0;
        v = strtoul(text, &end, 10);
        if (errno != 0 || *end || v < 1 || v > 65535)
                return ERR(p, n, attr, "port '%s' is not a number from 1 to 65535", text);
        *ret = (uint16_t) v;
        return 0;
}

/* <vivarium:port protocol='tcp|udp' host='N' container='N' address='A'/>:
 * a host port published to the container's address on this interface. */
static int parse_port(Parser *p, xmlNode *n, DomainInterface *iface) {
        _cleanup_free_ char *protocol = xml_prop(n, "protocol"), *host = xml_prop(n, "host"),
                            *container = xml_prop(n, "container"), *address = xml_prop(n, "address");
        DomainPort port = { .protocol = PORT_PROTOCOL_TCP };
        DomainPort *slot;
        int r;

        if (iface->type == INTERFACE_DIRECT)
                return ERR(p, n, NULL, "a published port needs a host-side device: type='direct' has none");
        if (protocol && streq(protocol, "udp"))
                port.protocol = PORT_PROTOCOL_UDP;
        else if (protocol && !streq(protocol, "tcp"))
                return ERR(p, n, "protocol", "port protocol '%s' is unknown, expected 'tcp' or 'udp'", protocol);
        r = parse_port_number(p, n, "host", host, &port.host_port);
        if (r < 0)
                return r;
        port.container_port = port.host_port;
        if (container) {
                r = parse_port_number(p, n, "container", container, &port.container_port);
                if (r < 0)
                        return r;
        }
        if (address) {
                uint8_t a[16];
                int family = strchr(address, ':') ? AF_INET6 : AF_INET;

                if (inet_pton(family, address, a) != 1)
                        return ERR(p, n, "address", "'%s' is not an IPv4 or IPv6 address", address);
                if ((family == AF_INET && (a[0] >= 224 || (a[0] | a[1] | a[2] | a[3]) == 0)) ||
                    (family == AF_INET6 && (a[0] == 0xff || IN6_IS_ADDR_UNSPECIFIED((struct in6_addr *) a))))
                        return ERR(p, n, "address", "'%s' is not a unicast address (leave address= out for every address of the host)",
                                   address);
        }
        port.address = address;
        ARRAY_FOREACH(other_iface, p->def->interfaces, p->def->n_interfaces)
                ARRAY_FOREACH(other, other_iface->ports, other_iface->n_ports)
                        if (domain_ports_collide(&port, other))
                                return ERR(p, n, "host", "%s port %u of the host is published twice",
                                           port_protocol_to_string(port.protocol), port.host_port);
        slot = XML_ARRAY_GROW(iface->ports, iface->n_ports);
        if (!slot)
                return -ENOMEM;
        port.address = TAKE_PTR(address);
        *slot = port;
        return 0;
}

static int parse_dev_name(Parser *p, xmlNode *n, char **ret) {
        _cleanup_free_ char *s = xml_prop(n, "dev");

        if (!s)
                return ERR(p, n, NULL, "element '%s' lacks the attribute 'dev'", (const char *) n->name);
        if (!*s || strlen(s) > 15 || strpbrk(s, "/: \t\n") || streq(s, ".") || streq(s, ".."))
                return ERR(p, n, "dev", "'%s' is not a valid network device name", s);
        free(*ret);
        *ret = TAKE_PTR(s);
        return 0;
}

static int parse_interface_mac(Parser *p, xmlNode *c, DomainInterface *iface) {
        static const uint8_t zero[MAC_ADDR_LEN] = {};
        _cleanup_free_ char *mac = xml_prop(c, "address");

        if (!mac || mac_parse_string(mac, iface->mac) < 0)
                return ERR(p, c, "address", "'%s' is not a MAC address", strna(mac));
        if (iface->mac[0] & 1)
                return ERR(p, c, "address", "MAC address '%s' is a multicast address", mac);
        if (memcmp(iface->mac, zero, MAC_ADDR_LEN) == 0)
                return ERR(p, c, "address", "MAC address '%s' is all zeros", mac);
        iface->has_mac = true;
        return 0;
}

/* iface (element n), the last of def->interfaces, against the ones before it. */
static int check_interface_unique(Parser *p, xmlNode *n, const DomainInterface *iface) {
        size_t index = p->def->n_interfaces - 1, first;
        unsigned line, column;
        int r;

        if (iface->has_mac) {
                char buf[18];

                mac_format(iface->mac, buf);
                r = strmap_put(&p->iface_macs, buf, index, &first);
                if (r < 0)
                        return r;
                if (r > 0) {
                        xml_node_position(p->in, p->iface_nodes[first], NULL, &line, &column);
                        return ERR(p, xml_child(n, "mac"), "address", "MAC address '%s' is already used by the interface at line %u",
                                   buf, line);
                }
        }
        if (iface->target_dev) {
                r = strmap_put(&p->iface_targets, iface->target_dev, index, &first);
                if (r < 0)
                        return r;
                if (r > 0) {
                        xml_node_position(p->in, p->iface_nodes[first], NULL, &line, &column);
                        return ERR(p, xml_child(n, "target"), "dev", "target dev '%s' is already used by the interface at line %u",
                                   iface->target_dev, line);
                }
        }
        if (iface->guest_dev) {
                r = strmap_put(&p->iface_guests, iface->guest_dev, index, &first);
                if (r < 0)
                        return r;
                if (r > 0) {
                        xml_node_position(p->in, p->iface_nodes[first], NULL, &line, &column);
                        return ERR(p, xml_child(n, "guest"), "dev", "guest dev '%s' is already used by the interface at line %u",
                                   iface->guest_dev, line);
                }
        }
        return 0;
}

/* One <inbound>/<outbound>, an interface's or a network's: the values and
 * their ranges (libvirt's limits: rates fit tc's 32 bits, a burst is at most
 * 1 GiB). What each owner allows beyond that, its caller checks. */
int xml_parse_bandwidth_rate(const XmlInput *in, XmlDiag *diag, xmlNode *n, DomainBandwidthRate *ret) {
        static const struct {
                const char *name;
                size_t offset;
                uint64_t max;
        } attrs[] = {
                { "average", offsetof(DomainBandwidthRate, average), UINT32_MAX },
                { "peak", offsetof(DomainBandwidthRate, peak), UINT32_MAX },
                { "burst", offsetof(DomainBandwidthRate, burst), 1048576 },
                { "floor", offsetof(DomainBandwidthRate, floor), UINT32_MAX },
        };

        ARRAY_FOREACH(a, attrs, ELEMENTSOF(attrs)) {
                _cleanup_free_ char *s = NULL;
                uint64_t v;
                int r;

                r = xml_prop_opt(n, a->name, &s);
                if (r < 0)
                        return r;
                if (!s)
                        continue;
                if (xml_parse_u64(s, &v) < 0 || v == 0 || v > a->max)
                        return xml_error(in, diag, n, a->name,
                                         "attribute '%s' of <%s> has the invalid value '%s', expected 1 to %llu",
                                         a->name, (const char *) n->name, s, (unsigned long long) a->max);
                *(uint64_t *) ((uint8_t *) ret + a->offset) = v;
        }
        return 0;
}

/* An interface's <inbound>/<outbound>: libvirt's rules between the
 * attributes. */
static int parse_bandwidth_rate(Parser *p, xmlNode *n, const DomainInterface *iface, DomainBandwidthRate *ret) {
        bool inbound = xml_name_is(n, "inbound");
        int r;

        r = xml_parse_bandwidth_rate(p->in, p->diag, n, ret);
        if (r < 0)
                return r;
        if (ret->floor > 0 && !inbound)
                return ERR(p, n, "floor", "attribute 'floor' is only supported in <inbound>");
        if (ret->floor > 0 && iface->type != INTERFACE_NETWORK)
                return ERR(p, n, "floor", "attribute 'floor' is only supported for interfaces of type 'network', not '%s'",
                           interface_type_to_string(iface->type));
        if (!domain_bandwidth_rate_is_set(ret))
                return ERR(p, n, NULL, "<%s> needs the attribute 'average'%s", (const char *) n->name,
                           inbound ? " or 'floor'" : "");
        return 0;
}

static int parse_bandwidth(Parser *p, xmlNode *n, DomainInterface *iface) {
        XML_FOREACH_ELEMENT(c, n) {
                int r = 0;

                if (xml_name_is(c, "inbound"))
                        r = parse_bandwidth_rate(p, c, iface, &iface->bw_in);
                else if (xml_name_is(c, "outbound"))
                        r = parse_bandwidth_rate(p, c, iface, &iface->bw_out);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- <filterref>: libvirt's nwfilter ---- */

/* One <parameter> of FILTER (clean-traffic or clean-traffic-gateway;
 * libvirt's formatnwfilter: the variables their rules read), checked on
 * its own and against the interface. */
static int check_filter_param(Parser *p, xmlNode *c, const DomainInterface *iface, const char *filter,
                              const char *name, const char *value) {
        bool gateway = streq(filter, "clean-traffic-gateway");
        struct in_addr a;
        uint8_t mac[MAC_ADDR_LEN];
        char want[18];

        if (streq(name, "IP") || streq(name, "DHCPSERVER")) {
                if (inet_pton(AF_INET, value, &a) != 1)
                        return ERR(p, c, "value", "parameter '%s' of filter '%s' has the value '%s', expected an IPv4 address",
                                   name, filter, value);
                return 0;
        }
        if (streq(name, "CTRL_IP_LEARNING")) {
                for (IpLearning l = 0; l < _IP_LEARNING_MAX; l++)
                        if (streq(value, ip_learning_to_string(l)))
                                return l == IP_LEARNING_DHCP && iface->type != INTERFACE_NETWORK
                                               ? ERR(p, c, "value",
                                                     "CTRL_IP_LEARNING 'dhcp' needs an interface of type 'network', whose DHCP server keeps the container's address: Vivarium does not snoop DHCP on a bridge (give the address with parameter 'IP' or <ip>)")
                                               : 0;
                return ERR(p, c, "value", "parameter 'CTRL_IP_LEARNING' of filter '%s' has the value '%s', expected 'any', 'dhcp' or 'none'",
                           filter, value);
        }
        if (streq(name, "MAC")) {
                /* The filter always takes the interface's MAC, as libvirt
                 * does without the parameter: another value would only cut
                 * the container off. */
                mac_format(iface->mac, want);
                if (mac_parse_string(value, mac) < 0 || !iface->has_mac || memcmp(mac, iface->mac, MAC_ADDR_LEN) != 0)
                        return ERR(p, c, "value", "parameter 'MAC' of filter '%s' has the value '%s', expected the interface's <mac address>%s%s%s",
                                   filter, value, iface->has_mac ? " '" : " (give one)", iface->has_mac ? want : "",
                                   iface->has_mac ? "'" : "");
                return 0;
        }
        if (gateway && streq(name, "GATEWAY_MAC")) {
                if (mac_parse_string(value, mac) < 0 || (mac[0] & 1))
                        return ERR(p, c, "value", "parameter 'GATEWAY_MAC' of filter '%s' has the value '%s', expected a unicast MAC address",
                                   filter, value);
                return 0;
        }
        return ERR(p, c, "name", "parameter '%s' of filter '%s' is not supported, expected %s'IP', 'MAC', 'CTRL_IP_LEARNING' or 'DHCPSERVER'",
                   name, filter, gateway ? "'GATEWAY_MAC', " : "");
}

static bool interface_has_ipv4(const DomainInterface *iface) {
        ARRAY_FOREACH(ip, iface->ips, iface->n_ips)
                if (ip->family == AF_INET)
                        return true;
        return false;
}

/* <filterref filter='clean-traffic|clean-traffic-gateway'> with its
 * <parameter>s, after the rest of the interface (N): the checks read its
 * type, MAC and spoofcheck. */
static int parse_filterref(Parser *p, xmlNode *n, DomainInterface *iface) {
        _cleanup_free_ char *filter = xml_prop(n, "filter");
        bool seen_learning = false, seen_mac = false;
        int r;

        /* Only the filters Vivarium has: a user-defined nwfilter, or one of
         * clean-traffic's parts (no-ip-spoofing, ...), would need rules it
         * cannot write, and clean-traffic in its place blocks more. */
        if (!streq_ptr(filter, "clean-traffic") && !streq_ptr(filter, "clean-traffic-gateway"))
                return ERR(p, n, "filter", "filter '%s' is not supported, expected 'clean-traffic' or 'clean-traffic-gateway' (Vivarium's anti-spoofing filter; libvirt's other nwfilters, clean-traffic's parts included, are not)",
                           strna(filter));
        if (iface->type != INTERFACE_NETWORK && iface->type != INTERFACE_BRIDGE)
                return ERR(p, n, "filter", "filter '%s' is supported on interfaces of type 'network' and 'bridge', not '%s'",
                           filter, interface_type_to_string(iface->type));
        if (iface->spoofcheck == SPOOFCHECK_OFF)
                return ERR(p, n, "filter", "filter '%s' turns on the anti-spoofing filter that <vivarium:spoofcheck state='off'/> turns off: remove one of them",
                           filter);

        XML_FOREACH_ELEMENT(c, n) {
                _cleanup_free_ char *name = xml_prop(c, "name"), *value = xml_prop(c, "value");
                DomainFilterParam *fp;
                bool *seen = NULL;

                if (!xml_name_is(c, "parameter"))
                        continue;
                if (!name || !value)
                        return ERR(p, c, name ? "value" : "name", "<parameter> needs the attributes 'name' and 'value'");
                r = check_filter_param(p, c, iface, filter, name, value);
                if (r < 0)
                        return r;
                if (streq(name, "CTRL_IP_LEARNING"))
                        seen = &seen_learning;
                else if (streq(name, "MAC"))
                        seen = &seen_mac;
                if (seen && *seen)
                        return ERR(p, c, "name", "parameter '%s' of filter '%s' is given twice", name, filter);
                if (seen)
                        *seen = true;

                fp = XML_ARRAY_GROW(iface->filter_params, iface->n_filter_params);
                if (!fp)
                        return -ENOMEM;
                fp->name = TAKE_PTR(name);
                fp->value = TAKE_PTR(value);
        }
        /* libvirt refuses learning 'none' without an IP; a managed network
         * may still give the DHCP address it keeps (known at start only). */
        if (iface->type == INTERFACE_BRIDGE && domain_interface_ip_learning(iface) == IP_LEARNING_NONE &&
            !interface_has_ipv4(iface) && domain_interface_filter_values(iface, "IP", NULL) == 0)
                return ERR(p, n, "filter", "filter '%s' with CTRL_IP_LEARNING 'none' on a bridge allows no IPv4 address: give one with parameter 'IP' or <ip>",
                           filter);
        /* libvirt cannot instantiate the gateway filter without its variable */
        if (streq(filter, "clean-traffic-gateway") && domain_interface_filter_values(iface, "GATEWAY_MAC", NULL) == 0)
                return ERR(p, n, "filter", "filter 'clean-traffic-gateway' needs the parameter 'GATEWAY_MAC'");
        iface->filterref = TAKE_PTR(filter);
        return 0;
}

static int parse_interface(Parser *p, xmlNode *n) {
        DomainDef *def = p->def;
        _cleanup_free_ char *type = xml_prop(n, "type");
        DomainInterface *iface;
        xmlNode *filterref = NULL;
        bool found = false;
        int r;

        iface = XML_ARRAY_GROW(def->interfaces, def->n_interfaces);
        if (!iface)
                return -ENOMEM;
        for (InterfaceType t = 0; t < _INTERFACE_TYPE_MAX; t++)
                if (streq_ptr(type, interface_type_to_string(t))) {
                        iface->type = t;
                        found = true;
                }
        if (!found)
                return ERR(p, n, "type", "interface type '%s' is not supported, expected 'network', 'bridge', 'direct' or 'ethernet'",
                           strna(type));

        r = parse_interface_source(p, n, iface);
        if (r < 0)
                return r;

        XML_FOREACH_ELEMENT(c, n) {
                r = 0;
                if (node_is_vivarium(c)) {
                        if (xml_name_is(c, "spoofcheck"))
                                r = parse_spoofcheck(p, c, iface);
                        else if (xml_name_is(c, "port"))
                                r = parse_port(p, c, iface);
                        else
                                r = warn_ignored(p, c);
                } else if (xml_name_is(c, "mac"))
                        r = parse_interface_mac(p, c, iface);
                else if (xml_name_is(c, "target"))
                        r = parse_dev_name(p, c, &iface->target_dev);
                else if (xml_name_is(c, "guest"))
                        r = parse_dev_name(p, c, &iface->guest_dev);
                else if (xml_name_is(c, "ip"))
                        r = parse_ip(p, c, &iface->ips, &iface->n_ips);
                else if (xml_name_is(c, "route"))
                        r = parse_route(p, c, &iface->routes, &iface->n_routes);
                else if (xml_name_is(c, "link")) {
                        _cleanup_free_ char *state = NULL;
                        r = xml_prop_opt(c, "state", &state);
                        iface->link_down = streq_ptr(state, "down");
                } else if (xml_name_is(c, "bandwidth"))
                        r = parse_bandwidth(p, c, iface);
                else if (xml_name_is(c, "filterref"))
                        filterref = c;
                else if (!xml_name_is(c, "source"))
                        r = warn_ignored(p, c);
                if (r < 0)
                        return r;
        }

        if (filterref) {
                r = parse_filterref(p, filterref, iface);
                if (r < 0)
                        return r;
        }
        r = check_interface_unique(p, n, iface);
        if (r < 0)
                return r;
        if (!XML_ARRAY_GROW(p->iface_nodes, p->n_iface_nodes))
                return -ENOMEM;
        p->iface_nodes[p->n_iface_nodes - 1] = n;
        return 0;
}

/* ---- host devices and disks ---- */

/* The path of a device node in the container: the host's path for a
 * <hostdev>, /dev/TARGET for a <disk>. */
static char *node_path_of_disk(const DomainDisk *d) {
        char *s = NULL;
        if (asprintf(&s, "/dev/%s", d->target) < 0)
                return NULL;
        return s;
}

/* Nodes and links every container's /dev has (helper-dev.c): a device
 * element must not replace them. */
static bool dev_path_is_reserved(const char *path) {
        static const char *const reserved[] = {
                "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
                "/dev/console", "/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr",
        };
        static const char *const mounts[] = { "/dev/pts", "/dev/shm", "/dev/mqueue" };

        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (streq(path, reserved[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
                size_t len = strlen(mounts[i]);
                if (strncmp(path, mounts[i], len) == 0 && (path[len] == 0 || path[len] == '/'))
                        return true;
        }
        return false;
}

/* Two device elements that would make the same node, or move the same link. */
static int check_device_unique(Parser *p, xmlNode *n, const char *kind, const char *key) {
        size_t i;
        int r;

        r = strmap_put(&p->device_keys, key, p->n_device_nodes, &i);
        if (r < 0)
                return r;
        if (r > 0) {
                unsigned line, column;
                xml_node_position(p->in, p->device_nodes[i], NULL, &line, &column);
                return ERR(p, n, NULL, "%s '%s' is already used by the device at line %u", kind, key, line);
        }
        if (!XML_ARRAY_GROW(p->device_nodes, p->n_device_nodes))
                return -ENOMEM;
        p->device_nodes[p->n_device_nodes - 1] = n;
        return 0;
}

static int parse_usb_id(Parser *p, xmlNode *n, const char *attr, uint16_t *ret) {
        _cleanup_free_ char *s = xml_prop(n, attr);
        unsigned long v;
        char *end;

        if (!s)
                return ERR(p, n, NULL, "element '%s' lacks the attribute '%s'", (const char *) n->name, attr);
        errno = 0;
        v = strtoul(s, &end, 0);
        if (errno != 0 || end == s || *end || v == 0 || v > UINT16_MAX)
                return ERR(p, n, attr, "attribute '%s' of <%s> has the invalid value '%s', expected 1 to 0xffff",
                           attr, (const char *) n->name, s);
        *ret = (uint16_t) v;
        return 0;
}

/* <source><vendor id/><product id/><address bus device/></source>: libvirt
 * finds the device by vendor and product, by bus and device, or by all four. */
static int parse_hostdev_usb(Parser *p, xmlNode *source, DomainHostdev *hd) {
        xmlNode *vendor = xml_child(source, "vendor"), *product = xml_child(source, "product"),
                *address = xml_child(source, "address");
        char key[64];
        int r;

        if (!!vendor != !!product)
                return ERR(p, source, NULL, "a USB <source> needs both <vendor id='...'/> and <product id='...'/>, or neither");
        if (!vendor && !address)
                return ERR(p, source, NULL, "a USB <source> needs <vendor>/<product> or <address bus='...' device='...'/>");
        if (vendor && ((r = parse_usb_id(p, vendor, "id", &hd->usb_vendor)) < 0 ||
                       (r = parse_usb_id(p, product, "id", &hd->usb_product)) < 0))
                return r;
        if (address && ((r = parse_usb_id(p, address, "bus", &hd->usb_bus)) < 0 ||
                        (r = parse_usb_id(p, address, "device", &hd->usb_device)) < 0))
                return r;
        snprintf(key, sizeof(key), "usb %04x:%04x %u.%u", hd->usb_vendor, hd->usb_product, hd->usb_bus, hd->usb_device);
        return check_device_unique(p, source, "USB device", key);
}

static int parse_hostdev(Parser *p, xmlNode *n) {
        static const char *const source_child[_HOSTDEV_TYPE_MAX] = {
                [HOSTDEV_STORAGE] = "block", [HOSTDEV_MISC] = "char", [HOSTDEV_NET] = "interface",
        };
        _cleanup_free_ char *mode = xml_prop(n, "mode"), *type = xml_prop(n, "type");
        xmlNode *source = xml_child(n, "source"), *c;
        DomainHostdev *hd;
        int r;

        hd = XML_ARRAY_GROW(p->def->hostdevs, p->def->n_hostdevs);
        if (!hd)
                return -ENOMEM;
        if (streq_ptr(mode, "subsystem")) {
                if (!streq_ptr(type, "usb"))
                        return ERR(p, n, "type", "hostdev mode 'subsystem' of type '%s' is not supported by containers, expected 'usb'",
                                   strna(type));
                hd->type = HOSTDEV_USB;
        } else if (streq_ptr(mode, "capabilities")) {
                if (streq_ptr(type, "storage"))
                        hd->type = HOSTDEV_STORAGE;
                else if (streq_ptr(type, "misc"))
                        hd->type = HOSTDEV_MISC;
                else if (streq_ptr(type, "net"))
                        hd->type = HOSTDEV_NET;
                else
                        return ERR(p, n, "type", "hostdev type '%s' is not supported, expected 'storage', 'misc' or 'net'",
                                   strna(type));
        } else
                return ERR(p, n, "mode", "hostdev mode '%s' is not supported, expected 'capabilities' or 'subsystem'",
                           strna(mode));

        if (!source)
                return ERR(p, n, NULL, "hostdev lacks a <source>");
        if (hd->type == HOSTDEV_USB)
                return parse_hostdev_usb(p, source, hd);

        c = xml_child(source, source_child[hd->type]);
        if (!c)
                return ERR(p, source, NULL, "a hostdev of type '%s' needs <source><%s>...</%s></source>",
                           hostdev_type_to_string(hd->type), source_child[hd->type], source_child[hd->type]);
        if (hd->type == HOSTDEV_NET) {
                _cleanup_free_ char *name = xml_text(c);

                XML_FOREACH_ELEMENT(a, n) {
                        if (xml_name_is(a, "ip"))
                                r = parse_ip(p, a, &hd->ips, &hd->n_ips);
                        else if (xml_name_is(a, "route"))
                                r = parse_route(p, a, &hd->routes, &hd->n_routes);
                        else
                                continue;
                        if (r < 0)
                                return r;
                }
                if (!name)
                        return -ENOMEM;
                if (!*name || strlen(name) > 15 || strpbrk(name, "/: \t\n") || streq(name, ".") || streq(name, ".."))
                        return ERR(p, c, NULL, "'%s' is not a valid network device name", name);
                hd->source = TAKE_PTR(name);
                return check_device_unique(p, c, "host interface", hd->source);
        }
        if (xml_child(n, "ip") || xml_child(n, "route"))
                return ERR(p, xml_child(n, "ip") ? xml_child(n, "ip") : xml_child(n, "route"), NULL,
                           "<ip> and <route> belong to a hostdev of type 'net' only");
        r = parse_path(p, c, NULL, "host device", &hd->source);
        if (r < 0)
                return r;
        /* the node is made at the same path inside, in the container's /dev */
        if (strncmp(hd->source, "/dev/", 5) != 0)
                return ERR(p, c, NULL, "host device '%s' is not a path below /dev", hd->source);
        if (dev_path_is_reserved(hd->source))
                return ERR(p, c, NULL, "host device '%s' would replace a node every container's /dev has", hd->source);
        return check_device_unique(p, c, "device node", hd->source);
}

static int parse_disk(Parser *p, xmlNode *n) {
        _cleanup_free_ char *type = xml_prop(n, "type"), *device = NULL, *node = NULL;
        xmlNode *source = xml_child(n, "source"), *target = xml_child(n, "target"), *driver = xml_child(n, "driver");
        const char *attr;
        DomainDisk *disk;
        int r;

        r = xml_prop_opt(n, "device", &device);
        if (r < 0)
                return r;
        if (device && !streq(device, "disk"))
                return ERR(p, n, "device", "disk device '%s' is not supported by containers, expected 'disk'", device);
        disk = XML_ARRAY_GROW(p->def->disks, p->def->n_disks);
        if (!disk)
                return -ENOMEM;
        if (streq_ptr(type, "block"))
                disk->type = DISK_BLOCK;
        else if (streq_ptr(type, "file"))
                disk->type = DISK_FILE;
        else
                return ERR(p, n, "type", "disk type '%s' is not supported by containers, expected 'block' or 'file'", strna(type));

        /* libvirt's LXC driver puts a file on a loop device when its format is
         * raw; other formats need qemu-nbd, which disks do not use here */
        if (driver) {
                _cleanup_free_ char *format = NULL, *name = NULL;
                if ((r = xml_prop_opt(driver, "type", &format)) < 0 || (r = xml_prop_opt(driver, "name", &name)) < 0)
                        return r;
                if (format && !streq(format, "raw"))
                        return ERR(p, driver, "type", "disk format '%s' is not supported, expected 'raw'", format);
                if (name && !streq(name, "loop") && !streq(name, "phy") && !streq(name, "qemu"))
                        return ERR(p, driver, "name", "disk driver '%s' is not supported, expected 'loop'", name);
        }

        attr = disk->type == DISK_BLOCK ? "dev" : "file";
        if (!source || !xmlHasProp(source, BAD_CAST attr))
                return ERR(p, source ? source : n, NULL, "a disk of type '%s' needs <source %s='...'/>",
                           disk_type_to_string(disk->type), attr);
        r = parse_path(p, source, attr, "disk source", &disk->source);
        if (r < 0)
                return r;
        if (!target)
                return ERR(p, n, NULL, "disk lacks a <target dev='...'/>");
        disk->target = xml_prop(target, "dev");
        if (!disk->target)
                return ERR(p, target, NULL, "element 'target' lacks the attribute 'dev'");
        if (!*disk->target || strlen(disk->target) > 32 || strpbrk(disk->target, "/ \t\n") ||
            streq(disk->target, ".") || streq(disk->target, ".."))
                return ERR(p, target, "dev", "disk target '%s' is not a device name for /dev", disk->target);
        disk->readonly = !!xml_child(n, "readonly");

        node = node_path_of_disk(disk);
        if (!node)
                return -ENOMEM;
        if (dev_path_is_reserved(node))
                return ERR(p, target, "dev", "disk target '%s' would replace a node every container's /dev has", disk->target);
        return check_device_unique(p, target, "device node", node);
}

static int parse_devices(Parser *p, xmlNode *n) {
        XML_FOREACH_ELEMENT(c, n) {
                int r = 0;

                if (xml_name_is(c, "console"))
                        p->def->n_consoles++;
                else if (xml_name_is(c, "filesystem"))
                        r = parse_filesystem(p, c);
                else if (xml_name_is(c, "interface"))
                        r = parse_interface(p, c);
                else if (xml_name_is(c, "hostdev"))
                        r = parse_hostdev(p, c);
                else if (xml_name_is(c, "disk"))
                        r = parse_disk(p, c);
                else if (!libvirt_value_is_ours(c))
                        r = warn_ignored(p, c); /* devices a container has no use for */
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_tasks(Parser *p, xmlNode *n) {
        _cleanup_free_ char *s = xml_prop(n, "max");
        uint64_t v;

        if (!s)
                return ERR(p, n, NULL, "element 'tasks' lacks the attribute 'max'");
        if (xml_parse_u64(s, &v) < 0 || v == 0 || v == UNSET_U64)
                return ERR(p, n, "max", "tasks max '%s' is out of range, expected a positive number", s);
        p->def->tasks_max = v;
        return 0;
}

/* <vivarium:notify timeout='S'/>: Start returns once init sent READY=1 on
 * its notify socket (docs/helper.md), within S seconds (default 90). */
static int parse_notify(Parser *p, xmlNode *n) {
        _cleanup_free_ char *s = NULL;
        uint64_t v = NOTIFY_TIMEOUT_DEFAULT_SEC;
        int r;

        r = xml_prop_opt(n, "timeout", &s);
        if (r < 0)
                return r;
        if (s && (xml_parse_u64(s, &v) < 0 || v == 0 || v > NOTIFY_TIMEOUT_MAX_SEC))
                return ERR(p, n, "timeout", "notify timeout '%s' is out of range, expected 1 to %u seconds", s,
                           NOTIFY_TIMEOUT_MAX_SEC);
        p->def->notify_timeout_sec = (uint32_t) v;
        return 0;
}

static int parse_userns(Parser *p, xmlNode *n) {
        _cleanup_free_ char *s = xml_prop(n, "mode");

        if (!s)
                return ERR(p, n, NULL, "element 'userns' lacks the attribute 'mode'");
        if (streq(s, "pick"))
                p->def->userns_mode = USERNS_MODE_PICK;
        else if (streq(s, "off"))
                p->def->userns_mode = USERNS_MODE_OFF;
        else
                return ERR(p, n, "mode", "userns mode '%s' is not supported, expected 'pick' or 'off'", s);
        return 0;
}

/* <lxc:namespace><sharenet type='netns|name|pid' value='...'/>... as
 * libvirt's LXC driver reads it: netns is for sharenet only. */
static int parse_lxc_namespace(Parser *p, xmlNode *n) {
        XML_FOREACH_ELEMENT(c, n) {
                _cleanup_free_ char *type = NULL, *value = NULL;
                DomainNsShare *share = NULL;
                NsShareType t = NS_SHARE_NONE;
                int r;

                for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++)
                        if (xml_name_is(c, ns_share_kind_to_string((NsShareKind) k)))
                                share = &p->def->ns_share[k];
                if (!share)
                        return ERR(p, c, NULL, "element '%s' of lxc:namespace is unknown, expected sharenet, shareipc or shareuts",
                                   (const char *) c->name);
                if (share->type != NS_SHARE_NONE)
                        return ERR(p, c, NULL, "element '%s' appears twice in lxc:namespace", (const char *) c->name);
                if ((r = xml_prop_opt(c, "type", &type)) < 0 || (r = xml_prop_opt(c, "value", &value)) < 0)
                        return r;
                if (!type || !value)
                        return ERR(p, c, NULL, "element '%s' needs type= and value=", (const char *) c->name);
                for (NsShareType i = NS_SHARE_NETNS; i < _NS_SHARE_TYPE_MAX; i++)
                        if (streq(type, ns_share_type_to_string(i)))
                                t = i;
                if (t == NS_SHARE_NONE)
                        return ERR(p, c, "type", "namespace source type '%s' is unknown, expected 'netns', 'name' or 'pid'", type);
                if (t == NS_SHARE_NETNS && share != &p->def->ns_share[NS_SHARE_NET])
                        return ERR(p, c, "type", "type 'netns' is only valid for sharenet");
                if (t == NS_SHARE_NETNS && (!*value || strchr(value, '/') || streq(value, ".") || streq(value, "..")))
                        return ERR(p, c, "value", "network namespace name '%s' is invalid: a name under /run/netns, without '/'", value);
                if (t == NS_SHARE_NAME && !domain_name_is_valid(value))
                        return ERR(p, c, "value", "'%s' is not a valid container name", value);
                if (t == NS_SHARE_PID) {
                        uint64_t pid;
                        if (xml_parse_u64(value, &pid) < 0 || pid < 1 || pid > INT32_MAX)
                                return ERR(p, c, "value", "'%s' is not a process ID", value);
                }
                share->type = t;
                share->value = TAKE_PTR(value);
        }
        return 0;
}

/* <vivarium:syscalls allow='io_uring userfaultfd'/> */
static int parse_syscalls(Parser *p, xmlNode *n) {
        _cleanup_free_ char *s = xml_prop(n, "allow");
        unsigned allowed = 0;

        if (!s)
                return ERR(p, n, NULL, "element 'syscalls' lacks the attribute 'allow'");
        for (char *save = NULL, *w = strtok_r(s, " \t\n\r", &save); w; w = strtok_r(NULL, " \t\n\r", &save)) {
                int g = syscall_group_from_name(w);
                if (g < 0)
                        return ERR(p, n, "allow", "unknown system call group '%s' in syscalls allow, expected io_uring or userfaultfd", w);
                allowed |= (unsigned) g;
        }
        if (allowed == 0)
                return ERR(p, n, "allow", "syscalls allow is empty, expected io_uring or userfaultfd");
        p->def->syscalls_allowed = allowed;
        return 0;
}

/* Checks across the memory elements, once all are read. */
static int check_memory(Parser *p) {
        const DomainDef *def = p->def;

        if (p->current_memory_node && p->memory_node && def->current_memory_kib > def->memory_kib)
                return ERR(p, p->current_memory_node, NULL, "currentMemory (%llu KiB) is larger than memory (%llu KiB)",
                           (unsigned long long) def->current_memory_kib, (unsigned long long) def->memory_kib);
        if (p->current_memory_node && !p->memory_node)
                return ERR(p, p->current_memory_node, NULL, "currentMemory without memory");
        if (def->hard_limit_kib != UNSET_U64 && def->soft_limit_kib != UNSET_U64 && def->hard_limit_kib < def->soft_limit_kib)
                return ERR(p, p->soft_limit_node, NULL, "soft_limit (%llu KiB) is larger than hard_limit (%llu KiB)",
                           (unsigned long long) def->soft_limit_kib, (unsigned long long) def->hard_limit_kib);
        if (def->hard_limit_kib != UNSET_U64 && def->swap_hard_limit_kib != UNSET_U64 && def->swap_hard_limit_kib < def->hard_limit_kib)
                return ERR(p, p->swap_node, NULL, "swap_hard_limit (%llu KiB) is smaller than hard_limit (%llu KiB)",
                           (unsigned long long) def->swap_hard_limit_kib, (unsigned long long) def->hard_limit_kib);
        return 0;
}

static int parse_domain(Parser *p, xmlNode *root) {
        DomainDef *def = p->def;
        xmlNode *uuid_node = NULL, *userns_node = NULL, *lxc_ns_node = NULL;
        _cleanup_free_ char *type = NULL;
        int r;

        /* The schema's job when it runs; the trusted parse must not build a
         * container from another document. */
        if (!root || root->ns || !xml_name_is(root, "domain")) {
                char qname[256];
                return ERR(p, root, NULL, "the root element is '%s', expected 'domain'",
                           root ? xml_node_qname(root, qname, sizeof(qname)) : "");
        }
        r = xml_prop_opt(root, "type", &type);
        if (r < 0)
                return r;
        if (!streq_ptr(type, "lxc"))
                return ERR(p, root, type ? "type" : NULL, "domain type '%s' is not supported, expected 'lxc'", strna(type));

        XML_FOREACH_ELEMENT(c, root) {
                r = 0;
                if (node_is_vivarium(c)) {
                        if (xml_name_is(c, "tasks"))
                                r = parse_tasks(p, c);
                        else if (xml_name_is(c, "notify"))
                                r = parse_notify(p, c);
                        else if (xml_name_is(c, "userns")) {
                                r = parse_userns(p, c);
                                userns_node = c;
                        }
                        else if (xml_name_is(c, "syscalls"))
                                r = parse_syscalls(p, c);
                        else
                                r = warn_ignored(p, c);
                } else if (node_is_lxc(c)) {
                        if (xml_name_is(c, "namespace")) {
                                r = parse_lxc_namespace(p, c);
                                lxc_ns_node = c;
                        } else
                                r = warn_ignored(p, c);
                } else if (xml_name_is(c, "name")) {
                        r = take_text(p, c, &def->name);
                        if (r >= 0 && !domain_name_is_valid(def->name))
                                return ERR(p, c, NULL, "invalid container name '%s': expected 1 to %d characters among A-Z a-z 0-9 _ . + -, not '.' or '..'",
                                           def->name, DOMAIN_NAME_MAX);
                } else if (xml_name_is(c, "uuid")) {
                        r = xml_parse_uuid(p->in, p->diag, c, def->uuid);
                        uuid_node = c;
                } else if (xml_name_is(c, "title"))
                        r = take_text(p, c, &def->title);
                else if (xml_name_is(c, "description"))
                        r = take_text(p, c, &def->description);
                else if (xml_name_is(c, "memory")) {
                        r = parse_scaled(p, c, "unit", NULL, &def->memory_kib);
                        p->memory_node = c;
                } else if (xml_name_is(c, "currentMemory")) {
                        r = parse_scaled(p, c, "unit", NULL, &def->current_memory_kib);
                        p->current_memory_node = c;
                } else if (xml_name_is(c, "memtune"))
                        r = parse_memtune(p, c);
                else if (xml_name_is(c, "vcpu"))
                        r = parse_vcpu(p, c);
                else if (xml_name_is(c, "cputune"))
                        r = parse_cputune(p, c);
                else if (xml_name_is(c, "blkiotune"))
                        r = parse_blkiotune(p, c);
                else if (xml_name_is(c, "os"))
                        r = parse_os(p, c);
                else if (xml_name_is(c, "idmap"))
                        r = parse_idmap(p, c);
                else if (xml_name_is(c, "features"))
                        r = parse_features(p, c);
                else if (xml_name_is(c, "on_poweroff"))
                        r = parse_lifecycle(p, c, &def->on_poweroff);
                else if (xml_name_is(c, "on_reboot"))
                        r = parse_lifecycle(p, c, &def->on_reboot);
                else if (xml_name_is(c, "on_crash"))
                        r = parse_lifecycle(p, c, &def->on_crash);
                else if (xml_name_is(c, "devices"))
                        r = parse_devices(p, c);
                else if (!libvirt_value_is_ours(c))
                        r = warn_ignored(p, c);
                if (r < 0)
                        return r;
        }

        if (!def->name)
                return ERR(p, root, NULL, "element 'domain' lacks the required child element 'name'");
        if (!def->init)
                return ERR(p, root, NULL, "element 'os' lacks the required child element 'init'");
        r = check_memory(p);
        if (r < 0)
                return r;
        if (def->userns_mode == USERNS_MODE_OFF && def->n_uid_map > 0)
                return ERR(p, userns_node, "mode", "userns mode 'off' contradicts the idmap: drop one of them");
        /* the network namespace is another's: no device of our own in it */
        if (def->ns_share[NS_SHARE_NET].type != NS_SHARE_NONE && (def->n_interfaces > 0 || def->privnet))
                return ERR(p, lxc_ns_node, NULL, "a container that shares a network namespace (lxc:namespace sharenet) "
                           "cannot have %s", def->n_interfaces > 0 ? "an <interface>" : "<privnet/>");
        /* pick with maps: a picked range as the live XML shows it, or one the
         * user chose; either way the mounts are idmapped */
        def->userns_picked = def->userns_mode == USERNS_MODE_PICK && def->n_uid_map > 0;

        if (!uuid_node) {
                r = uuid_generate(def->uuid);
                if (r < 0)
                        return r;
                def->uuid_generated = true;
        }
        return 0;
}

struct DomainSchema {
        xmlRelaxNG *rng;
};

int domain_schema_new(DomainSchema **ret) {
        _cleanup_(domain_schema_freep) DomainSchema *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = xml_schema_compile(xml_schema_domain_rng, xml_schema_domain_rng_len, &s->rng);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

DomainSchema *domain_schema_free(DomainSchema *s) {
        if (s) {
                if (s->rng)
                        xmlRelaxNGFree(s->rng);
                free(s);
        }
        return NULL;
}

static int parse_document(const char *xml, size_t size, const char *filename, bool trusted,
                          const DomainSchema *schema, DomainDef **ret, XmlDiag *diag) {
        XmlInput in = xml_input(xml, size, filename);
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_(parser_done) Parser p = { .in = &in, .diag = diag };
        int r;

        /* Compiling the schema costs a fresh process ~9 ms and ~350 KiB of heap
         * (bench/README.md): the helper skips it for the live XML, which
         * vivariumd wrote from a model that passed the schema. The model
         * builder below relies on no schema guarantee for its memory safety. */
        if (trusted)
                r = xml_read(&in, &doc, diag);
        else
                r = xml_read_validated(&in, xml_schema_domain_rng, xml_schema_domain_rng_len,
                                       schema ? schema->rng : NULL, &doc, diag);
        if (r < 0)
                return r;

        def = domain_def_new();
        if (!def)
                return -ENOMEM;
        p.def = def;
        r = parse_domain(&p, xmlDocGetRootElement(doc));
        if (r < 0)
                return r;

        *ret = TAKE_PTR(def);
        return 0;
}

int domain_def_parse(const char *xml, size_t size, const char *filename, DomainDef **ret, XmlDiag *diag) {
        return parse_document(xml, size, filename, false, NULL, ret, diag);
}

int domain_def_parse_with(const DomainSchema *schema, const char *xml, size_t size, const char *filename,
                          DomainDef **ret, XmlDiag *diag) {
        return parse_document(xml, size, filename, false, schema, ret, diag);
}

/* Trust boundary: the caller vouches that the document was written by
 * vivariumd (domain_def_format() of a model that domain_def_parse() built) in
 * a directory only root can write. The schema would then only catch a bug of
 * our own formatter, or a root user editing the file by hand; both still meet
 * the semantic checks, which keep paths absolute and without '..', names and
 * device names valid and limits in range, so such a file cannot make the
 * helper mount outside the container or index out of bounds. */
int domain_def_parse_trusted(const char *xml, size_t size, const char *filename, DomainDef **ret, XmlDiag *diag) {
        return parse_document(xml, size, filename, true, NULL, ret, diag);
}

static int parse_file(const char *path, bool trusted, DomainDef **ret, XmlDiag *diag) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_full_file(path, &data, &size);
        if (r < 0)
                return r;
        /* Messages name the file as the caller gave it. */
        return parse_document(data, size, path, trusted, NULL, ret, diag);
}

int domain_def_parse_file(const char *path, DomainDef **ret, XmlDiag *diag) {
        return parse_file(path, false, ret, diag);
}

int domain_def_parse_file_trusted(const char *path, DomainDef **ret, XmlDiag *diag) {
        return parse_file(path, true, ret, diag);
}

/* ---- format ---- */

static void format_scaled(XmlBuf *b, unsigned level, const char *name, uint64_t kib) {
        xml_buf_indent(b, level);
        xml_buf_printf(b, "<%s unit='KiB'>%llu</%s>\n", name, (unsigned long long) kib, name);
}

static void format_text(XmlBuf *b, unsigned level, const char *name, const char *value) {
        if (!value)
                return;
        xml_buf_indent(b, level);
        xml_buf_printf(b, "<%s>", name);
        xml_buf_escaped(b, value, false);
        xml_buf_printf(b, "</%s>\n", name);
}

static void format_os(XmlBuf *b, const DomainDef *def) {
        xml_buf_printf(b, "  <os>\n");
        format_text(b, 2, "type", def->os_type ? def->os_type : "exe");
        format_text(b, 2, "init", def->init);
        for (char **a = def->init_args; a && *a; a++)
                format_text(b, 2, "initarg", *a);
        ARRAY_FOREACH(e, def->init_env, def->n_init_env) {
                xml_buf_printf(b, "    <initenv");
                xml_buf_attr(b, "name", e->name);
                xml_buf_printf(b, ">");
                xml_buf_escaped(b, e->value, false);
                xml_buf_printf(b, "</initenv>\n");
        }
        format_text(b, 2, "initdir", def->init_dir);
        format_text(b, 2, "inituser", def->init_user);
        format_text(b, 2, "initgroup", def->init_group);
        xml_buf_printf(b, "  </os>\n");
}

static void format_tunables(XmlBuf *b, const DomainDef *def) {
        if (def->hard_limit_kib != UNSET_U64 || def->soft_limit_kib != UNSET_U64 || def->swap_hard_limit_kib != UNSET_U64) {
                xml_buf_printf(b, "  <memtune>\n");
                if (def->hard_limit_kib != UNSET_U64)
                        format_scaled(b, 2, "hard_limit", def->hard_limit_kib);
                if (def->soft_limit_kib != UNSET_U64)
                        format_scaled(b, 2, "soft_limit", def->soft_limit_kib);
                if (def->swap_hard_limit_kib != UNSET_U64)
                        format_scaled(b, 2, "swap_hard_limit", def->swap_hard_limit_kib);
                xml_buf_printf(b, "  </memtune>\n");
        }
        if (def->vcpus > 0) {
                xml_buf_printf(b, "  <vcpu placement='static'");
                xml_buf_attr(b, "cpuset", def->cpuset);
                xml_buf_printf(b, ">%u</vcpu>\n", def->vcpus);
        }
        if (def->cpu_shares != UNSET_U64 || def->cpu_period_us != 0 || def->cpu_quota_us != 0) {
                xml_buf_printf(b, "  <cputune>\n");
                if (def->cpu_shares != UNSET_U64)
                        xml_buf_printf(b, "    <shares>%llu</shares>\n", (unsigned long long) def->cpu_shares);
                if (def->cpu_period_us != 0)
                        xml_buf_printf(b, "    <period>%llu</period>\n", (unsigned long long) def->cpu_period_us);
                if (def->cpu_quota_us != 0)
                        xml_buf_printf(b, "    <quota>%lld</quota>\n", (long long) def->cpu_quota_us);
                xml_buf_printf(b, "  </cputune>\n");
        }
        if (def->blkio_weight != UNSET_U64 || def->n_blkio_devices > 0)
                format_blkiotune(b, def);
        if (def->tasks_max != UNSET_U64)
                xml_buf_printf(b, "  <vivarium:tasks max='%llu'/>\n", (unsigned long long) def->tasks_max);
        if (def->notify_timeout_sec > 0)
                xml_buf_printf(b, "  <vivarium:notify timeout='%u'/>\n", def->notify_timeout_sec);
        if (def->syscalls_allowed) {
                const char *sep = "";
                xml_buf_printf(b, "  <vivarium:syscalls allow='");
                for (unsigned g = 1; g & _SYSCALL_GROUP_ALL; g <<= 1)
                        if (def->syscalls_allowed & g) {
                                xml_buf_printf(b, "%s%s", sep, syscall_group_to_name((SyscallGroup) g));
                                sep = " ";
                        }
                xml_buf_printf(b, "'/>\n");
        }
}

static void format_features(XmlBuf *b, const DomainDef *def) {
        if (domain_def_shares_namespaces(def)) {
                xml_buf_printf(b, "  <lxc:namespace>\n");
                for (size_t k = 0; k < _NS_SHARE_KIND_MAX; k++) {
                        const DomainNsShare *share = &def->ns_share[k];
                        if (share->type == NS_SHARE_NONE)
                                continue;
                        xml_buf_printf(b, "    <lxc:%s type='%s'", ns_share_kind_to_string((NsShareKind) k),
                                       strna(ns_share_type_to_string(share->type)));
                        xml_buf_attr(b, "value", share->value);
                        xml_buf_printf(b, "/>\n");
                }
                xml_buf_printf(b, "  </lxc:namespace>\n");
        }
        if (def->userns_mode != USERNS_MODE_DEFAULT)
                xml_buf_printf(b, "  <vivarium:userns mode='%s'/>\n", userns_mode_to_string(def->userns_mode));
        if (def->n_uid_map > 0 || def->n_gid_map > 0) {
                xml_buf_printf(b, "  <idmap>\n");
                ARRAY_FOREACH(m, def->uid_map, def->n_uid_map)
                        xml_buf_printf(b, "    <uid start='%u' target='%u' count='%u'/>\n", m->start, m->target, m->count);
                ARRAY_FOREACH(m, def->gid_map, def->n_gid_map)
                        xml_buf_printf(b, "    <gid start='%u' target='%u' count='%u'/>\n", m->start, m->target, m->count);
                xml_buf_printf(b, "  </idmap>\n");
        }
        if (def->privnet || def->cap_policy != CAP_POLICY_DEFAULT || def->n_cap_toggles > 0) {
                xml_buf_printf(b, "  <features>\n");
                if (def->privnet)
                        xml_buf_printf(b, "    <privnet/>\n");
                if (def->cap_policy != CAP_POLICY_DEFAULT || def->n_cap_toggles > 0) {
                        if (def->n_cap_toggles == 0)
                                xml_buf_printf(b, "    <capabilities policy='%s'/>\n", cap_policy_to_string(def->cap_policy));
                        else {
                                xml_buf_printf(b, "    <capabilities policy='%s'>\n", cap_policy_to_string(def->cap_policy));
                                ARRAY_FOREACH(t, def->cap_toggles, def->n_cap_toggles)
                                        xml_buf_printf(b, "      <%s state='%s'/>\n", strna(capability_to_name(t->cap)), t->on ? "on" : "off");
                                xml_buf_printf(b, "    </capabilities>\n");
                        }
                }
                xml_buf_printf(b, "  </features>\n");
        }
        xml_buf_printf(b, "  <on_poweroff>%s</on_poweroff>\n", strna(lifecycle_action_to_string(def->on_poweroff)));
        xml_buf_printf(b, "  <on_reboot>%s</on_reboot>\n", strna(lifecycle_action_to_string(def->on_reboot)));
        xml_buf_printf(b, "  <on_crash>%s</on_crash>\n", strna(lifecycle_action_to_string(def->on_crash)));
}

static void format_filesystem(XmlBuf *b, const DomainFilesystem *fs) {
        xml_buf_printf(b, "    <filesystem type='%s' accessmode='passthrough'>\n", strna(filesystem_type_to_string(fs->type)));
        if (fs->type == FILESYSTEM_FILE) {
                xml_buf_printf(b, "      <driver type='%s'", strna(filesystem_driver_to_string(fs->driver)));
                if (fs->format != IMAGE_FORMAT_NONE)
                        xml_buf_printf(b, " format='%s'", strna(image_format_to_string(fs->format)));
                xml_buf_printf(b, "/>\n");
        }
        if (fs->type == FILESYSTEM_RAM)
                xml_buf_printf(b, "      <source usage='%llu' units='KiB'/>\n", (unsigned long long) fs->ram_usage_kib);
        else {
                xml_buf_printf(b, "      <source");
                xml_buf_attr(b, fs->type == FILESYSTEM_FILE ? "file" : fs->type == FILESYSTEM_BLOCK ? "dev" : "dir", fs->source);
                xml_buf_printf(b, "/>\n");
        }
        xml_buf_printf(b, "      <target");
        xml_buf_attr(b, "dir", fs->target);
        xml_buf_printf(b, "/>\n");
        if (fs->readonly)
                xml_buf_printf(b, "      <readonly/>\n");
        xml_buf_printf(b, "    </filesystem>\n");
}

static const char *family_name(int family) {
        return family == AF_INET6 ? "ipv6" : "ipv4";
}

static void format_bandwidth_rate(XmlBuf *b, const char *indent, const char *element, const DomainBandwidthRate *rate) {
        if (!domain_bandwidth_rate_is_set(rate))
                return;
        xml_buf_printf(b, "%s  <%s", indent, element);
        if (rate->average > 0)
                xml_buf_printf(b, " average='%llu'", (unsigned long long) rate->average);
        if (rate->peak > 0)
                xml_buf_printf(b, " peak='%llu'", (unsigned long long) rate->peak);
        if (rate->burst > 0)
                xml_buf_printf(b, " burst='%llu'", (unsigned long long) rate->burst);
        if (rate->floor > 0)
                xml_buf_printf(b, " floor='%llu'", (unsigned long long) rate->floor);
        xml_buf_printf(b, "/>\n");
}

void xml_format_bandwidth(XmlBuf *b, const char *indent, const DomainBandwidthRate *in, const DomainBandwidthRate *out) {
        if (!domain_bandwidth_rate_is_set(in) && !domain_bandwidth_rate_is_set(out))
                return;
        xml_buf_printf(b, "%s<bandwidth>\n", indent);
        format_bandwidth_rate(b, indent, "inbound", in);
        format_bandwidth_rate(b, indent, "outbound", out);
        xml_buf_printf(b, "%s</bandwidth>\n", indent);
}

static void format_ips(XmlBuf *b, const char *indent, const DomainIP *ips, size_t n) {
        ARRAY_FOREACH(ip, ips, n) {
                xml_buf_printf(b, "%s<ip family='%s'", indent, family_name(ip->family));
                xml_buf_attr(b, "address", ip->address);
                xml_buf_printf(b, " prefix='%u'", ip->prefix);
                xml_buf_attr(b, "peer", ip->peer);
                xml_buf_printf(b, "/>\n");
        }
}

static void format_routes(XmlBuf *b, const char *indent, const DomainRoute *routes, size_t n) {
        ARRAY_FOREACH(rt, routes, n) {
                xml_buf_printf(b, "%s<route family='%s'", indent, family_name(rt->family));
                xml_buf_attr(b, "address", rt->address ? rt->address : rt->family == AF_INET6 ? "::" : "0.0.0.0");
                xml_buf_printf(b, " prefix='%u'", rt->prefix);
                xml_buf_attr(b, "gateway", rt->gateway);
                xml_buf_printf(b, "/>\n");
        }
}

static void format_interface(XmlBuf *b, const DomainInterface *iface) {
        xml_buf_printf(b, "    <interface type='%s'>\n", strna(interface_type_to_string(iface->type)));
        if (iface->has_mac) {
                char mac[18];
                mac_format(iface->mac, mac);
                xml_buf_printf(b, "      <mac address='%s'/>\n", mac);
        }
        if (iface->source) {
                xml_buf_printf(b, "      <source");
                xml_buf_attr(b, source_attr_of_type[iface->type] ? source_attr_of_type[iface->type] : "dev", iface->source);
                if (iface->type == INTERFACE_DIRECT)
                        xml_buf_attr(b, "mode", direct_mode_to_string(iface->direct_mode));
                xml_buf_printf(b, "/>\n");
        } else if (iface->n_host_ips > 0 || iface->n_host_routes > 0) {
                xml_buf_printf(b, "      <source>\n");
                format_ips(b, "        ", iface->host_ips, iface->n_host_ips);
                format_routes(b, "        ", iface->host_routes, iface->n_host_routes);
                xml_buf_printf(b, "      </source>\n");
        }
        if (iface->target_dev) {
                xml_buf_printf(b, "      <target");
                xml_buf_attr(b, "dev", iface->target_dev);
                xml_buf_printf(b, "/>\n");
        }
        if (iface->guest_dev) {
                xml_buf_printf(b, "      <guest");
                xml_buf_attr(b, "dev", iface->guest_dev);
                xml_buf_printf(b, "/>\n");
        }
        format_ips(b, "      ", iface->ips, iface->n_ips);
        format_routes(b, "      ", iface->routes, iface->n_routes);
        if (iface->filterref) {
                xml_buf_printf(b, "      <filterref");
                xml_buf_attr(b, "filter", iface->filterref);
                if (iface->n_filter_params == 0)
                        xml_buf_printf(b, "/>\n");
                else {
                        xml_buf_printf(b, ">\n");
                        ARRAY_FOREACH(fp, iface->filter_params, iface->n_filter_params) {
                                xml_buf_printf(b, "        <parameter");
                                xml_buf_attr(b, "name", fp->name);
                                xml_buf_attr(b, "value", fp->value);
                                xml_buf_printf(b, "/>\n");
                        }
                        xml_buf_printf(b, "      </filterref>\n");
                }
        }
        if (iface->link_down)
                xml_buf_printf(b, "      <link state='down'/>\n");
        xml_format_bandwidth(b, "      ", &iface->bw_in, &iface->bw_out);
        if (iface->spoofcheck != SPOOFCHECK_DEFAULT)
                xml_buf_printf(b, "      <vivarium:spoofcheck state='%s'/>\n", spoofcheck_to_string(iface->spoofcheck));
        ARRAY_FOREACH(port, iface->ports, iface->n_ports) {
                xml_buf_printf(b, "      <vivarium:port protocol='%s' host='%u' container='%u'",
                               port_protocol_to_string(port->protocol), port->host_port, port->container_port);
                if (port->address)
                        xml_buf_attr(b, "address", port->address);
                xml_buf_printf(b, "/>\n");
        }
        xml_buf_printf(b, "    </interface>\n");
}

static void format_hostdev(XmlBuf *b, const DomainHostdev *hd) {
        static const char *const source_child[_HOSTDEV_TYPE_MAX] = {
                [HOSTDEV_STORAGE] = "block", [HOSTDEV_MISC] = "char", [HOSTDEV_NET] = "interface",
        };

        xml_buf_printf(b, "    <hostdev mode='%s' type='%s'>\n", hd->type == HOSTDEV_USB ? "subsystem" : "capabilities",
                       strna(hostdev_type_to_string(hd->type)));
        xml_buf_printf(b, "      <source>\n");
        if (hd->type == HOSTDEV_USB) {
                if (hd->usb_vendor > 0)
                        xml_buf_printf(b, "        <vendor id='0x%04x'/>\n        <product id='0x%04x'/>\n",
                                       hd->usb_vendor, hd->usb_product);
                if (hd->usb_bus > 0)
                        xml_buf_printf(b, "        <address bus='%u' device='%u'/>\n", hd->usb_bus, hd->usb_device);
        } else {
                xml_buf_printf(b, "        <%s>", source_child[hd->type]);
                xml_buf_escaped(b, hd->source, false);
                xml_buf_printf(b, "</%s>\n", source_child[hd->type]);
        }
        xml_buf_printf(b, "      </source>\n");
        format_ips(b, "      ", hd->ips, hd->n_ips);
        format_routes(b, "      ", hd->routes, hd->n_routes);
        xml_buf_printf(b, "    </hostdev>\n");
}

static void format_disk(XmlBuf *b, const DomainDisk *disk) {
        xml_buf_printf(b, "    <disk type='%s' device='disk'>\n", strna(disk_type_to_string(disk->type)));
        if (disk->type == DISK_FILE)
                xml_buf_printf(b, "      <driver name='loop' type='raw'/>\n");
        xml_buf_printf(b, "      <source");
        xml_buf_attr(b, disk->type == DISK_BLOCK ? "dev" : "file", disk->source);
        xml_buf_printf(b, "/>\n      <target");
        xml_buf_attr(b, "dev", disk->target);
        xml_buf_printf(b, "/>\n");
        if (disk->readonly)
                xml_buf_printf(b, "      <readonly/>\n");
        xml_buf_printf(b, "    </disk>\n");
}

static bool domain_def_uses_vivarium_ns(const DomainDef *def) {
        if (def->tasks_max != UNSET_U64 || def->userns_mode != USERNS_MODE_DEFAULT || def->syscalls_allowed ||
            def->notify_timeout_sec > 0)
                return true;
        ARRAY_FOREACH(iface, def->interfaces, def->n_interfaces)
                if (iface->spoofcheck != SPOOFCHECK_DEFAULT || iface->n_ports > 0)
                        return true;
        return false;
}

char *domain_def_format(const DomainDef *def, pid_t id) {
        XmlBuf b = {};
        char uuid[37];

        if (!def)
                return NULL;

        xml_buf_printf(&b, "<domain type='lxc'");
        if (id > 0)
                xml_buf_printf(&b, " id='%d'", (int) id);
        if (domain_def_uses_vivarium_ns(def))
                xml_buf_printf(&b, " xmlns:vivarium='" VIV_DOMAIN_NS "'");
        if (domain_def_shares_namespaces(def))
                xml_buf_printf(&b, " xmlns:lxc='" LXC_DOMAIN_NS "'");
        xml_buf_printf(&b, ">\n");

        format_text(&b, 1, "name", def->name);
        uuid_format(def->uuid, uuid);
        format_text(&b, 1, "uuid", uuid);
        format_text(&b, 1, "title", def->title);
        format_text(&b, 1, "description", def->description);
        if (def->memory_kib > 0)
                format_scaled(&b, 1, "memory", def->memory_kib);
        if (def->current_memory_kib != UNSET_U64)
                format_scaled(&b, 1, "currentMemory", def->current_memory_kib);
        format_tunables(&b, def);
        format_os(&b, def);
        format_features(&b, def);

        if (def->n_consoles == 0 && def->n_filesystems == 0 && def->n_interfaces == 0 && def->n_hostdevs == 0 &&
            def->n_disks == 0) {
                xml_buf_printf(&b, "  <devices/>\n</domain>\n");
                return xml_buf_finish(&b);
        }
        xml_buf_printf(&b, "  <devices>\n");
        for (unsigned i = 0; i < def->n_consoles; i++)
                xml_buf_printf(&b, "    <console type='pty'/>\n");
        ARRAY_FOREACH(fs, def->filesystems, def->n_filesystems)
                format_filesystem(&b, fs);
        ARRAY_FOREACH(disk, def->disks, def->n_disks)
                format_disk(&b, disk);
        ARRAY_FOREACH(iface, def->interfaces, def->n_interfaces)
                format_interface(&b, iface);
        ARRAY_FOREACH(hd, def->hostdevs, def->n_hostdevs)
                format_hostdev(&b, hd);
        xml_buf_printf(&b, "  </devices>\n");
        xml_buf_printf(&b, "</domain>\n");
        return xml_buf_finish(&b);
}
