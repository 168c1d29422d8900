/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sched.h>

/* libvirt's CPU list ("0-3,^2,6", as in <vcpu cpuset=...>) as a cpu_set_t.
 * Returns 0, or -EINVAL for a malformed list or a CPU past CPU_SETSIZE. */
int cpuset_parse(const char *list, cpu_set_t *ret);
