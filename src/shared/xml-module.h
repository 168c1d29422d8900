/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The XML parsers as a module that vivctl and the helper load only when they
 * read a document. Linked in, libxml2 (and through it ICU and libstdc++) costs
 * every process that starts ~4.5 ms of dynamic linking and ~240 KiB of private
 * memory, whether it reads XML or not (bench/README.md): on the way of every
 * container start are one vivctl and one helper that do not. vivariumd and the
 * tests link the parsers directly.
 *
 * The module is vivarium-xml.so: found through the programs' RUNPATH in the
 * build directory (src/shared/), in XML_MODULE_DIR (LIBDIR/vivarium) once
 * installed. It exports one symbol,
 * XML_MODULE_SYMBOL, a table of the functions below. What they return is freed
 * without it: domain_def_free(), xml_diag_done() (domain.c), and the table's
 * network_def_free(). */

#include <stddef.h>

#include "domain-xml.h"
#include "network-def.h"

#define XML_MODULE_FILE "vivarium-xml.so"
#define XML_MODULE_SYMBOL "vivarium_xml_module"
/* Bumped whenever the table or a type it passes changes. */
#define XML_MODULE_ABI 1

typedef struct XmlModule {
        unsigned abi;
        size_t size; /* sizeof(XmlModule) of the module's build */

        int (*domain_def_parse)(const char *xml, size_t size, const char *filename, DomainDef **ret, XmlDiag *diag);
        int (*domain_def_parse_file)(const char *path, DomainDef **ret, XmlDiag *diag);
        int (*domain_def_parse_trusted)(const char *xml, size_t size, const char *filename, DomainDef **ret,
                                        XmlDiag *diag);
        int (*network_def_parse)(const char *xml, size_t size, const char *filename, NetworkDef **ret,
                                 XmlDiag *diag);
        int (*network_def_parse_file)(const char *path, NetworkDef **ret, XmlDiag *diag);
        NetworkDef *(*network_def_free)(NetworkDef *def);
        /* The name of a document's root element ("domain", "network"), or NULL
         * when it is not well-formed. */
        char *(*xml_root_name)(const char *xml, size_t size);
} XmlModule;

/* Loads the module (once: dlopen() counts references) and returns its table,
 * which stays valid until the process ends. On failure returns -errno and sets
 * *ret_error to what went wrong, e.g. the loader's "vivarium-xml.so: cannot
 * open shared object file: No such file or directory". */
int xml_module_load(const XmlModule **ret, char **ret_error);
