/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* systemd's unit-name escaping, as `systemd-escape` and machined do it: the
 * container's scope is "machine-" + escape(NAME) + ".scope". */

/* Escapes a string for use in a unit name: '/' becomes '-', every '-', '\\'
 * and character outside [a-zA-Z0-9:_.] becomes "\xNN", and a leading '.'
 * becomes "\x2e". Returns -EINVAL for NULL, -ENOMEM. */
int unit_name_escape(const char *s, char **ret);

/* "machine-ESCAPED.scope" for a container name. */
int unit_name_machine_scope(const char *name, char **ret);
