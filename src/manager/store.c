/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Persistent definitions in /etc/vivarium/containers and, at start-up, the
 * live ones in /run/vivarium/containers. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain-xml.h"
#include "fileio.h"
#include "macros.h"
#include "manager.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* A copy through the normalized text: the parser is the one place that
 * knows how to build a DomainDef. The text comes from a model that was
 * validated when it was defined, so the RelaxNG pass (a schema compile, most
 * of a parse's cost, paid on every start) is skipped; the semantic checks
 * still run. */
int domain_def_copy(const DomainDef *def, DomainDef **ret) {
        _cleanup_free_ char *xml = NULL;
        XmlDiag diag = {};
        int r;

        xml = domain_def_format(def, 0);
        if (!xml)
                return -ENOMEM;
        r = domain_def_parse_trusted(xml, strlen(xml), def->name, ret, &diag);
        if (r < 0 && diag.error)
                fprintf(stderr, "Failed to copy the definition of container '%s': %s\n", def->name, diag.error);
        xml_diag_done(&diag);
        return r;
}

int store_save(Manager *m, const DomainDef *def) {
        _cleanup_free_ char *path = NULL, *xml = NULL;
        int r;

        r = container_config_path(m, def->name, &path);
        if (r < 0)
                return r;
        xml = domain_def_format(def, 0);
        if (!xml)
                return -ENOMEM;
        r = write_file_atomic(path, xml, 0600);
        if (r < 0)
                fprintf(stderr, "Failed to write %s: %s\n", path, strerror(-r));
        return r;
}

int store_remove(Manager *m, const char *name) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = container_config_path(m, name, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT) {
                r = -errno;
                fprintf(stderr, "Failed to remove %s: %s\n", path, strerror(-r));
                return r;
        }
        return 0;
}

/* Autostart marks, as libvirt keeps them: autostart/NAME.xml, a symlink to
 * the definition. */
static int autostart_path(Manager *m, const char *name, char **ret) {
        return asprintf(ret, "%s/autostart/%s.xml", m->etc_dir, name) < 0 ? -ENOMEM : 0;
}

int store_set_autostart(Manager *m, const char *name, bool on) {
        _cleanup_free_ char *path = NULL, *dir = NULL, *target = NULL;
        int r;

        r = autostart_path(m, name, &path);
        if (r < 0)
                return r;
        if (!on) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }

        if (asprintf(&dir, "%s/autostart", m->etc_dir) < 0 || asprintf(&target, "../%s.xml", name) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        if (symlink(target, path) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

bool store_get_autostart(Manager *m, const char *name) {
        _cleanup_free_ char *path = NULL;

        if (autostart_path(m, name, &path) < 0)
                return false;
        return access(path, F_OK) == 0;
}

/* The first manager after boot (/run is empty then) starts what is marked;
 * later ones (idle exits, restarts) leave stopped containers alone. */
void store_autostart_once(Manager *m) {
        _cleanup_free_ char *flag = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&flag, "%s/.autostart-done", m->run_dir) < 0)
                return;
        fd = open(flag, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                if (errno != EEXIST)
                        fprintf(stderr, "Failed to create %s, not autostarting: %m\n", flag);
                return;
        }
        fd = safe_close(fd);

        for (Container *c = m->containers; c; c = c->next) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (!c->autostart || container_is_active(c))
                        continue;
                fprintf(stderr, "Autostarting container '%s'.\n", c->name);
                if (container_start(c, NULL, false, &error) < 0)
                        fprintf(stderr, "Failed to autostart container '%s': %s\n", c->name,
                                error.message ? error.message : error.name);
        }
}

/* NAME.xml → "NAME", or NULL for files that are not definitions. The temp
 * files of write_file_atomic() end in a random suffix, never in ".xml"; names
 * may start with a dot, so dot files are not skipped. */
static char *xml_file_name(const char *filename) {
        size_t n = strlen(filename);

        if (n <= 4 || !streq(filename + n - 4, ".xml"))
                return NULL;
        return strndup(filename, n - 4);
}

static int parse_file(const char *path, DomainDef **ret) {
        XmlDiag diag = {};
        int r;

        r = domain_def_parse_file(path, ret, &diag);
        if (diag.warnings)
                for (char **w = diag.warnings; *w; w++)
                        fprintf(stderr, "%s\n", *w);
        if (r < 0)
                fprintf(stderr, "Failed to load %s, skipping: %s\n", path, diag.error ? diag.error : strerror(-r));
        xml_diag_done(&diag);
        return r;
}

int store_load_all(Manager *m) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(m->etc_dir);
        if (!d) {
                r = -errno;
                fprintf(stderr, "Failed to open %s: %s\n", m->etc_dir, strerror(-r));
                return r;
        }

        while ((de = readdir(d))) {
                _cleanup_(domain_def_freep) DomainDef *def = NULL;
                _cleanup_free_ char *name = NULL, *path = NULL;
                Container *c;

                name = xml_file_name(de->d_name);
                if (!name)
                        continue;
                if (asprintf(&path, "%s/%s", m->etc_dir, de->d_name) < 0)
                        return -ENOMEM;

                /* One corrupt file costs one container, never the others. */
                if (parse_file(path, &def) < 0)
                        continue;
                if (!streq(def->name, name)) {
                        fprintf(stderr, "Failed to load %s, skipping: it defines container '%s', not '%s'\n", path,
                                def->name, name);
                        continue;
                }
                if ((c = manager_find_container_by_uuid(m, def->uuid))) {
                        fprintf(stderr, "Failed to load %s, skipping: its uuid is already used by container '%s'\n",
                                path, c->name);
                        continue;
                }

                r = container_new(m, def, true, &c);
                if (r < 0)
                        return r;
                TAKE_PTR(def);
                c->autostart = store_get_autostart(m, c->name);
        }
        return 0;
}

/* A helper's files without NAME.xml belong to no run the manager knows of
 * (their helper was killed while no manager watched it, or by an older
 * version that left them): nothing will ever remove them but this. */
static void remove_orphan_run_files(Manager *m, DIR *d) {
        struct dirent *de;

        rewinddir(d);
        while ((de = readdir(d))) {
                const char *dot = strrchr(de->d_name, '.');
                _cleanup_free_ char *xml = NULL;
                bool ours = false;

                if (de->d_name[0] == '.' || !dot || dot == de->d_name)
                        continue;
                for (size_t i = 1; i < N_CONTAINER_RUN_FILES; i++)
                        ours = ours || streq(dot + 1, container_run_file_suffixes[i]);
                if (!ours)
                        continue;
                if (asprintf(&xml, "%.*s.xml", (int) (dot - de->d_name), de->d_name) < 0)
                        return;
                if (faccessat(dirfd(d), xml, F_OK, AT_SYMLINK_NOFOLLOW) >= 0 || errno != ENOENT)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        fprintf(stderr, "Failed to remove %s/%s, ignoring: %m\n", m->run_dir, de->d_name);
                else
                        fprintf(stderr, "Removed %s/%s: no container run owns it.\n", m->run_dir, de->d_name);
        }
}

int store_adopt_running(Manager *m) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        d = opendir(m->run_dir);
        if (!d) {
                int r = -errno;
                fprintf(stderr, "Failed to open %s: %s\n", m->run_dir, strerror(-r));
                return r;
        }

        while ((de = readdir(d))) {
                _cleanup_(domain_def_freep) DomainDef *live = NULL;
                _cleanup_free_ char *name = NULL, *path = NULL;

                name = xml_file_name(de->d_name);
                if (!name)
                        continue;
                if (asprintf(&path, "%s/%s", m->run_dir, de->d_name) < 0)
                        return -ENOMEM;

                if (parse_file(path, &live) < 0 || !streq(live->name, name)) {
                        /* Nothing to adopt: whatever ran is unknowable, so the
                         * file goes; a helper that still runs keeps running. */
                        (void) unlink(path);
                        continue;
                }
                (void) container_adopt(m, TAKE_PTR(live));
        }
        remove_orphan_run_files(m, d);
        return 0;
}
