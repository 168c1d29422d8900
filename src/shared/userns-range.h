/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private ID ranges for containers without an <idmap>, as systemd-nspawn's
 * --private-users=pick: 65,536 IDs each, from a span reserved for Vivarium,
 * picked per container from a hash of its UUID (so a container gets the same
 * range again while it is free) and held by a lock file for as long as the
 * container runs. The span sits above nspawn's container ranges
 * (0x00080000..0x6FFFFFFF) and below systemd's "foreign" range
 * (0x7FFE0000..), so the two never pick the same IDs. */

#include <stdbool.h>
#include <stdint.h>

#define USERNS_RANGE_FIRST UINT32_C(0x70000000)
#define USERNS_RANGE_END   UINT32_C(0x7FFE0000)   /* exclusive */
#define USERNS_RANGE_LOCK_DIR "/run/vivarium/userns"

/* The attempt-th candidate base for a container (attempt 0 is its own; the
 * next ones probe on, slot by slot, through the whole span). */
uint32_t userns_range_candidate(const uint8_t uuid[16], unsigned attempt);

/* The number of ranges in the span: how many attempts cover it. */
unsigned userns_range_slots(void);

/* True when base is a range of the span. */
bool userns_range_is_reserved(uint32_t base);

/* Takes the lock of the range at base in dir (created as needed): an fd
 * holding it, or -EBUSY when another process holds it. */
int userns_range_lock(const char *dir, uint32_t base, int *ret_fd);

/* The first of a container's candidates that skip() (may be NULL) does not
 * refuse and whose lock is free, locked: its base and the fd holding the
 * lock. -EBUSY when the whole span is taken. */
int userns_range_pick(const char *dir, const uint8_t uuid[16], bool (*skip)(uint32_t base, void *userdata),
                      void *userdata, uint32_t *ret_base, int *ret_fd);
