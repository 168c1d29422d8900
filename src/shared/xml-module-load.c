/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Loading the XML module (xml-module.h). No libxml2 here: this file is what
 * vivctl and the helper link instead of the parsers. */

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml-module.h"

int xml_module_load(const XmlModule **ret, char **ret_error) {
        const XmlModule *m;
        void *handle;

        /* A bare file name: the loader searches the calling program's
         * RUNPATH, which meson sets to the build or the install directory. */
        handle = dlopen(XML_MODULE_FILE, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
                const char *why = dlerror();

                *ret_error = strdup(why ? why : "cannot load " XML_MODULE_FILE);
                return -ENOENT;
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
