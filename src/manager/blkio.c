/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* <blkiotune>: the scope's IO weight and libvirt's per-device weights and
 * throttles (<device> with <path>, <weight>, <read_bytes_sec>, ...), at
 * start (StartTransientUnit's properties) and live (SetBlkioParameters,
 * `vivctl blkiotune --device-weights ...`).
 *
 * libvirt writes its values as they are to blkio.* (v1) or io.* (v2). So do
 * we, through systemd: on v2 IOWeight=, IODeviceWeight=, IO{Read,Write}
 * {Bandwidth,IOPS}Max=, which systemd writes to io.weight and io.max
 * unscaled; on a v1 hybrid the BlockIO* properties (systemd scales the IO*
 * weights when it maps them to blkio, and a unit with any IO* setting
 * ignores its BlockIO* ones). systemd has no v1 form of the IOPS limits: the
 * manager writes blkio.throttle.{read,write}_iops_device of the scope
 * itself, as it writes the v1 memory limits (resources.c). */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bus-names.h"
#include "macros.h"
#include "manager.h"
#include "xml-util.h"

/* systemd's defaults: what a device weight of 0 (libvirt: none) becomes */
#define IO_WEIGHT_DEFAULT      UINT64_C(100)
#define BLKIO_WEIGHT_DEFAULT   UINT64_C(500)

/* The per-device fields, by libvirt's typed parameter names (virsh
 * blkiotune --device-weights ... sends "device_weight"). */
typedef enum BlkioField {
        BLKIO_WEIGHT,
        BLKIO_READ_BPS,
        BLKIO_WRITE_BPS,
        BLKIO_READ_IOPS,
        BLKIO_WRITE_IOPS,
        _BLKIO_FIELD_MAX,
} BlkioField;

static const char *const field_param[_BLKIO_FIELD_MAX] = {
        [BLKIO_WEIGHT] = "device_weight",
        [BLKIO_READ_BPS] = "device_read_bytes_sec",
        [BLKIO_WRITE_BPS] = "device_write_bytes_sec",
        [BLKIO_READ_IOPS] = "device_read_iops_sec",
        [BLKIO_WRITE_IOPS] = "device_write_iops_sec",
};

static uint64_t *field_of(DomainBlkioDevice *bd, BlkioField f) {
        switch (f) {
        case BLKIO_WEIGHT:
                return &bd->weight;
        case BLKIO_READ_BPS:
                return &bd->read_bytes_sec;
        case BLKIO_WRITE_BPS:
                return &bd->write_bytes_sec;
        case BLKIO_READ_IOPS:
                return &bd->read_iops_sec;
        default:
                return &bd->write_iops_sec;
        }
}

static uint64_t field_get(const DomainBlkioDevice *bd, BlkioField f) {
        return *field_of((DomainBlkioDevice *) bd, f);
}

static int block_device_of(const char *path, dev_t *ret, char **ret_msg) {
        struct stat st;

        if (stat(path, &st) < 0)
                return asprintf(ret_msg, "blkiotune device '%s': %s", path, strerror(errno)) < 0 ? -ENOMEM : -errno;
        if (!S_ISBLK(st.st_mode)) {
                (void) asprintf(ret_msg, "blkiotune device '%s' is not a block device", path);
                return -ENOTBLK;
        }
        if (ret)
                *ret = st.st_rdev;
        return 0;
}

int blkio_check_devices(const DomainDef *def, char **ret_msg) {
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices) {
                int r = block_device_of(bd->path, NULL, ret_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One "a(st)" property: (path, value) of each device, the devices whose
 * field is 0 with UNSET (a live change that drops a value), or left out
 * when UNSET is 0 (at start). */
static int append_device_prop(sd_bus_message *msg, const DomainDef *def, const char *prop, BlkioField f,
                              uint64_t unset) {
        bool any = false;
        int r;

        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices)
                any = any || field_get(bd, f) > 0 || unset > 0;
        if (!any)
                return 0;
        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", prop);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'v', "a(st)");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(st)");
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices) {
                uint64_t v = field_get(bd, f);
                if (r < 0)
                        break;
                if (v > 0 || unset > 0)
                        r = sd_bus_message_append(msg, "(st)", bd->path, v > 0 ? v : unset);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        return r;
}

/* LIVE: a change of a running scope, where a dropped value is set back to
 * systemd's default ("no limit"), which systemd writes to the cgroup. */
static int append_device_props(sd_bus_message *msg, const DomainDef *def, bool live) {
        bool v2 = cgroup_is_unified();
        int r;

        r = append_device_prop(msg, def, v2 ? "IODeviceWeight" : "BlockIODeviceWeight", BLKIO_WEIGHT,
                               !live ? 0 : v2 ? IO_WEIGHT_DEFAULT : BLKIO_WEIGHT_DEFAULT);
        if (r >= 0)
                r = append_device_prop(msg, def, v2 ? "IOReadBandwidthMax" : "BlockIOReadBandwidth", BLKIO_READ_BPS,
                                       live ? UINT64_MAX : 0);
        if (r >= 0)
                r = append_device_prop(msg, def, v2 ? "IOWriteBandwidthMax" : "BlockIOWriteBandwidth",
                                       BLKIO_WRITE_BPS, live ? UINT64_MAX : 0);
        if (r >= 0 && v2)
                r = append_device_prop(msg, def, "IOReadIOPSMax", BLKIO_READ_IOPS, live ? UINT64_MAX : 0);
        if (r >= 0 && v2)
                r = append_device_prop(msg, def, "IOWriteIOPSMax", BLKIO_WRITE_IOPS, live ? UINT64_MAX : 0);
        return r;
}

int resources_append_blkio(sd_bus_message *msg, const DomainDef *def) {
        int r;

        if (def->blkio_weight != UNSET_U64) {
                /* libvirt writes the weight as it is to blkio.weight (v1) or io.weight
                 * (v2); systemd's IOWeight= would be scaled on v1, BlockIOWeight= on v2. */
                r = sd_bus_message_append(msg, "(sv)", cgroup_is_unified() ? "IOWeight" : "BlockIOWeight", "t",
                                          def->blkio_weight);
                if (r < 0)
                        return r;
        }
        return append_device_props(msg, def, false);
}

static int write_iops(const char *dir, const char *file, dev_t dev, uint64_t v) {
        _cleanup_free_ char *fn = NULL;
        _cleanup_close_ int fd = -EBADF;
        char line[64];
        int n;

        if (asprintf(&fn, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        /* 0 removes the device's rule */
        n = snprintf(line, sizeof line, "%u:%u %llu\n", major(dev), minor(dev), (unsigned long long) v);
        fd = open(fn, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, line, (size_t) n) != n)
                return -errno;
        return 0;
}

/* The v1 IOPS limits of DEF's devices to C's scope (0: the rule goes). */
static void apply_legacy_iops(Container *c, const DomainDef *def) {
        _cleanup_free_ char *dir = NULL;

        if (cgroup_is_unified() || c->helper_pid <= 0 || def->n_blkio_devices == 0)
                return;
        if (cgroup_scope_dir(c->helper_pid, "blkio", &dir) < 0)
                return;
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices) {
                _cleanup_free_ char *msg = NULL;
                dev_t dev;
                int r;

                r = block_device_of(bd->path, &dev, &msg);
                if (r >= 0)
                        r = write_iops(dir, "blkio.throttle.read_iops_device", dev, bd->read_iops_sec);
                if (r >= 0)
                        r = write_iops(dir, "blkio.throttle.write_iops_device", dev, bd->write_iops_sec);
                if (r < 0)
                        fprintf(stderr, "Failed to set the IOPS limits of '%s' for container '%s', ignoring: %s\n",
                                bd->path, c->name, msg ? msg : strerror(-r));
        }
}

void blkio_apply_legacy(Container *c) {
        apply_legacy_iops(c, container_current_def(c));
}

/* "path,value[,path,value...]" of FIELD merged into DEF as libvirt merges
 * it: a device's other values stay, a 0 drops the value, a device left
 * with no value goes (blkio_prune()). */
static int merge_devices(DomainDef *def, BlkioField f, const char *list, sd_bus_error *error) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL, *path;

        if (!copy)
                return -ENOMEM;
        for (path = strtok_r(copy, ",", &save); path; path = strtok_r(NULL, ",", &save)) {
                _cleanup_free_ char *msg = NULL;
                const char *value = strtok_r(NULL, ",", &save);
                DomainBlkioDevice *bd = NULL;
                uint64_t v;
                int r;

                if (!value || xml_parse_u64(value, &v) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "unable to parse blkio device '%s' '%s'",
                                                 path, strempty(value));
                if (f == BLKIO_WEIGHT && v > 0 && (v < 10 || v > 1000))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "device weight %llu of '%s' out of range 10..1000 (0 removes it)",
                                                 (unsigned long long) v, path);
                if (v > 0 && (r = block_device_of(path, NULL, &msg)) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", msg ? msg : strerror(-r));
                ARRAY_FOREACH(d, def->blkio_devices, def->n_blkio_devices)
                        if (streq(d->path, path))
                                bd = d;
                if (!bd && v == 0)
                        continue;
                if (!bd) {
                        DomainBlkioDevice *a = realloc(def->blkio_devices,
                                                       (def->n_blkio_devices + 1) * sizeof(*a));
                        if (!a)
                                return -ENOMEM;
                        def->blkio_devices = a;
                        bd = &a[def->n_blkio_devices];
                        *bd = (DomainBlkioDevice) { .path = strdup(path) };
                        if (!bd->path)
                                return -ENOMEM;
                        def->n_blkio_devices++;
                }
                *field_of(bd, f) = v;
        }
        return 0;
}

/* Devices left with no value are not part of the definition any more. */
static void blkio_prune(DomainDef *def) {
        size_t k = 0;

        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices) {
                bool any = false;
                for (BlkioField f = 0; f < _BLKIO_FIELD_MAX; f++)
                        any = any || field_get(bd, f) > 0;
                if (any)
                        def->blkio_devices[k++] = *bd;
                else
                        free(bd->path);
        }
        def->n_blkio_devices = k;
}

typedef struct BlkioChange {
        bool has_weight;
        uint64_t weight;
        const char *lists[_BLKIO_FIELD_MAX]; /* NULL = not given */
} BlkioChange;

/* SetBlkioParameters' dictionary: "weight" (an integer) and libvirt's
 * device_* strings. */
static int read_change(sd_bus_message *msg, BlkioChange *ret, sd_bus_error *error) {
        BlkioChange ch = {};
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *contents;
                BlkioField f;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(msg, NULL, &contents);
                if (r < 0)
                        return r;
                for (f = 0; f < _BLKIO_FIELD_MAX; f++)
                        if (streq(key, field_param[f]))
                                break;
                if (streq(key, "weight") && (streq(contents, "t") || streq(contents, "u"))) {
                        uint32_t u;
                        r = streq(contents, "t") ? sd_bus_message_read(msg, "v", "t", &ch.weight)
                                                 : sd_bus_message_read(msg, "v", "u", &u);
                        if (streq(contents, "u"))
                                ch.weight = u;
                        ch.has_weight = true;
                } else if (f < _BLKIO_FIELD_MAX && streq(contents, "s"))
                        r = sd_bus_message_read(msg, "v", "s", &ch.lists[f]);
                else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown blkio parameter '%s' of type '%s'", key, contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        if (ch.has_weight && (ch.weight < 10 || ch.weight > 1000))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "weight %llu out of range 10..1000",
                                         (unsigned long long) ch.weight);
        *ret = ch;
        return 0;
}

/* CH merged into DEF; fails only on values blkio_check_change() refuses. */
static int apply_change(DomainDef *def, const BlkioChange *ch, sd_bus_error *error) {
        int r;

        if (ch->has_weight)
                def->blkio_weight = ch->weight;
        for (BlkioField f = 0; f < _BLKIO_FIELD_MAX; f++)
                if (ch->lists[f]) {
                        r = merge_devices(def, f, ch->lists[f], error);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* Every value of CH checked (merged into an empty model) before anything
 * changes: a refused value changes nothing. */
static int check_change(const BlkioChange *ch, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *scratch = domain_def_new();

        if (!scratch)
                return -ENOMEM;
        return apply_change(scratch, ch, error);
}

/* The blkiotune part of a definition, kept to put back when saving fails. */
typedef struct BlkioSaved {
        uint64_t weight;
        DomainBlkioDevice *devices;
        size_t n;
} BlkioSaved;

static int blkio_save(const DomainDef *def, BlkioSaved *ret) {
        *ret = (BlkioSaved) { .weight = def->blkio_weight };
        ret->devices = calloc(def->n_blkio_devices + 1, sizeof(DomainBlkioDevice));
        if (!ret->devices)
                return -ENOMEM;
        for (size_t i = 0; i < def->n_blkio_devices; i++) {
                ret->devices[i] = def->blkio_devices[i];
                ret->devices[i].path = strdup(def->blkio_devices[i].path);
                ret->n++;
                if (!ret->devices[i].path)
                        return -ENOMEM;
        }
        return 0;
}

static void blkio_saved_done(BlkioSaved *s) {
        ARRAY_FOREACH(bd, s->devices, s->n)
                free(bd->path);
        free(s->devices);
        *s = (BlkioSaved) {};
}

/* Puts SAVED back into DEF (taking its devices). */
static void blkio_restore(DomainDef *def, BlkioSaved *saved) {
        ARRAY_FOREACH(bd, def->blkio_devices, def->n_blkio_devices)
                free(bd->path);
        free(def->blkio_devices);
        def->blkio_weight = saved->weight;
        def->blkio_devices = saved->devices;
        def->n_blkio_devices = saved->n;
        *saved = (BlkioSaved) {};
}

static int blkio_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *pc = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                return sd_bus_reply_method_error(pc->call, e);
        return sd_bus_reply_method_return(pc->call, NULL);
}

int container_method_set_blkio_parameters(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *set = NULL;
        Container *c = userdata;
        BlkioChange ch = {};
        bool live, config, any;
        PendingCall *pc;
        int r;

        r = read_change(msg, &ch, error);
        if (r < 0)
                return r;
        r = read_affect_authorized(c, msg, &live, &config, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        any = ch.has_weight;
        for (BlkioField f = 0; f < _BLKIO_FIELD_MAX; f++)
                any = any || ch.lists[f];
        if (!any)
                return sd_bus_reply_method_return(msg, NULL);

        r = check_change(&ch, error);
        if (r < 0)
                return r;

        if (config) {
                _cleanup_(blkio_saved_done) BlkioSaved saved = {};

                r = blkio_save(c->def, &saved);
                if (r >= 0)
                        r = apply_change(c->def, &ch, error);
                if (r < 0)
                        return r;
                blkio_prune(c->def);
                r = save_definition(c, error);
                if (r < 0) {
                        blkio_restore(c->def, &saved);
                        return r;
                }
        }
        if (!live || !c->live)
                return sd_bus_reply_method_return(msg, NULL);

        r = apply_change(c->live, &ch, error);
        if (r < 0)
                return r;
        r = new_set_unit_properties(c, &set);
        if (r >= 0 && ch.has_weight)
                r = sd_bus_message_append(set, "(sv)", cgroup_is_unified() ? "IOWeight" : "BlockIOWeight", "t",
                                          c->live->blkio_weight);
        if (r >= 0)
                r = append_device_props(set, c->live, true);
        if (r >= 0)
                r = sd_bus_message_close_container(set);
        if (r < 0)
                return r;
        /* the v1 IOPS files now, dropped ones (0) included; then the
         * model forgets the dropped devices */
        apply_legacy_iops(c, c->live);
        blkio_prune(c->live);
        pc = pending_call_new(msg, c);
        if (!pc)
                return -ENOMEM;
        r = bus_call_async_owned(c->manager->bus, set, blkio_reply, pc, pending_call_free);
        return r < 0 ? r : 1;
}
