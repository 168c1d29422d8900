/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Loading the XML module (xml-module.h). No libxml2 here: this file is what
 * vivctl and the helper link instead of the parsers. */

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macros.h"
#include "xml-module.h"

/* The module by full path from the program's own library search path
 * (its RUNPATH among it). Needed where dlopen() of a bare name does not
 * search the program's RUNPATH: a sanitizer's runtime intercepts dlopen(), and
 * the loader then searches the RUNPATH of the runtime, the caller it sees. */
static void *open_from_program_search_path(void) {
        _cleanup_free_ Dl_serinfo *info = NULL;
        Dl_serinfo size;
        void *self, *handle = NULL;

        self = dlopen(NULL, RTLD_LAZY);
        if (!self)
                return NULL;
        if (dlinfo(self, RTLD_DI_SERINFOSIZE, &size) < 0 || !(info = malloc(size.dls_size)) ||
            dlinfo(self, RTLD_DI_SERINFOSIZE, info) < 0 || dlinfo(self, RTLD_DI_SERINFO, info) < 0) {
                (void) dlclose(self);
                return NULL;
        }
        for (unsigned i = 0; i < info->dls_cnt && !handle; i++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s", info->dls_serpath[i].dls_name, XML_MODULE_FILE) < 0)
                        break;
                if (access(path, F_OK) == 0)
                        handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        }
        (void) dlclose(self);
        return handle;
}

int xml_module_load(const XmlModule **ret, char **ret_error) {
        const XmlModule *m;
        void *handle;

        /* In the build directory, a bare file name finds it through the
         * program's RUNPATH (also when a sanitizer is in the way, see
         * above); installed programs have no RUNPATH, and load it from where
         * it is installed. */
        handle = dlopen(XML_MODULE_FILE, RTLD_NOW | RTLD_LOCAL);
        if (!handle)
                handle = open_from_program_search_path();
        if (!handle) {
                const char *e;

                handle = dlopen(XML_MODULE_DIR "/" XML_MODULE_FILE, RTLD_NOW | RTLD_LOCAL);
                if (!handle) {
                        e = dlerror();
                        *ret_error = strdup(e ? e : "cannot load " XML_MODULE_DIR "/" XML_MODULE_FILE);
                        return -ENOENT;
                }
        }

        m = dlsym(handle, XML_MODULE_SYMBOL);
        if (!m || m->abi != XML_MODULE_ABI || m->size != sizeof(XmlModule)) {
                /* A module of another build: its types may differ from ours. */
                if (asprintf(ret_error, "%s: %s", XML_MODULE_FILE,
                             m ? "built from another version of Vivarium" : "not a Vivarium XML module") < 0)
                        *ret_error = NULL;
                (void) dlclose(handle);
                return -ELIBBAD;
        }

        *ret = m;
        return 0;
}
