/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The runtime facts of a running container's interfaces, handed from the
 * helper to the manager in VIV_RUN_CONTAINERS_DIR/NAME.ifaces
 * (docs/internals.md): one line per <interface>, in definition order,
 * "INDEX HOSTDEV GUESTDEV MAC", HOSTDEV "-" when the interface has no
 * device in the host's namespace (direct: the macvlan lives in the
 * container). */

#include "domain.h"

/* Fills in what the definition left open: <target dev> from HOSTDEV and
 * the MAC. Lines for interfaces def does not have are ignored.
 * Returns 0, -ENOENT when there is no file, -EINVAL on a malformed one. */
int iface_facts_merge(DomainDef *def, const char *path);
