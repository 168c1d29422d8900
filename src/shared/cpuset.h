/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

/* The most CPUs a mask may hold. */
#define CPUSET_MAX 8192

/* libvirt's CPU list ("0-3,^2,6", as in <vcpu cpuset=...>) as a bitmask of
 * SIZE bytes (at most CPUSET_MAX / 8): bit (cpu % 8) of byte (cpu / 8), as
 * systemd's AllowedCPUs= takes it. Returns the number of bytes up to the
 * highest CPU the list includes (exclusions do not shorten it), or -EINVAL for
 * a malformed list or a CPU past the mask. */
int cpuset_parse_mask(const char *list, uint8_t *mask, size_t size);

/* The same list as a cpu_set_t. Returns 0, or -EINVAL for a malformed list, a
 * CPU past CPU_SETSIZE or a list that leaves no CPU. */
int cpuset_parse(const char *list, cpu_set_t *ret);
