/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "domain.h"
#include "fileio.h"
#include "macros.h"
#include "userns-range.h"

unsigned userns_range_slots(void) {
        return (USERNS_RANGE_END - USERNS_RANGE_FIRST) / USERNS_RANGE_SIZE;
}

bool userns_range_is_reserved(uint32_t base) {
        return base >= USERNS_RANGE_FIRST && base < USERNS_RANGE_END && base % USERNS_RANGE_SIZE == 0;
}

uint32_t userns_range_candidate(const uint8_t uuid[16], unsigned attempt) {
        /* FNV-1a over the UUID: stable across starts and builds, spread
         * well enough for a slot number; linear probing from there reaches
         * every slot */
        uint32_t h = UINT32_C(2166136261);

        for (size_t i = 0; i < 16; i++) {
                h ^= uuid[i];
                h *= UINT32_C(16777619);
        }
        return USERNS_RANGE_FIRST + (uint32_t) (((uint64_t) h + attempt) % userns_range_slots()) * USERNS_RANGE_SIZE;
}

int userns_range_lock(const char *dir, uint32_t base, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        char path[4096];
        int r;

        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        if ((size_t) snprintf(path, sizeof(path), "%s/%" PRIu32 ".lock", dir, base) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int userns_range_pick(const char *dir, const uint8_t uuid[16], bool (*skip)(uint32_t base, void *userdata),
                      void *userdata, uint32_t *ret_base, int *ret_fd) {
        for (unsigned attempt = 0; attempt < userns_range_slots(); attempt++) {
                uint32_t base = userns_range_candidate(uuid, attempt);
                int r;

                if (skip && skip(base, userdata))
                        continue;
                r = userns_range_lock(dir, base, ret_fd);
                if (r == -EBUSY)
                        continue;
                if (r < 0)
                        return r;
                *ret_base = base;
                return 0;
        }
        return -EBUSY;
}
