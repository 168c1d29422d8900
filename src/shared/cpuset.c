/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"

int cpuset_parse_mask(const char *list, uint8_t *mask, size_t size) {
        uint8_t excluded[CPUSET_MAX / 8] = {};
        size_t n = 0;
        const char *p = list;

        memset(mask, 0, size);
        while (*p) {
                bool exclude = *p == '^';
                unsigned long a, b;
                char *end;

                if (exclude)
                        p++;
                errno = 0;
                a = strtoul(p, &end, 10);
                if (errno != 0 || end == p)
                        return -EINVAL;
                b = a;
                if (*end == '-' && !exclude) {
                        p = end + 1;
                        b = strtoul(p, &end, 10);
                        if (errno != 0 || end == p || b < a)
                                return -EINVAL;
                }
                if (b >= CPUSET_MAX || b / 8 >= size)
                        return -EINVAL;
                for (unsigned long cpu = a; cpu <= b; cpu++) {
                        if (exclude)
                                excluded[cpu / 8] |= (uint8_t) (1u << (cpu % 8));
                        else {
                                mask[cpu / 8] |= (uint8_t) (1u << (cpu % 8));
                                if (cpu / 8 + 1 > n)
                                        n = cpu / 8 + 1;
                        }
                }
                p = end;
                if (*p == ',')
                        p++;
                else if (*p)
                        return -EINVAL;
        }
        for (size_t i = 0; i < n; i++)
                mask[i] &= (uint8_t) ~excluded[i];
        return (int) n;
}

int cpuset_parse(const char *list, cpu_set_t *ret) {
        uint8_t mask[CPU_SETSIZE / 8];
        int n;

        n = cpuset_parse_mask(list, mask, sizeof mask);
        if (n < 0)
                return n;
        CPU_ZERO(ret);
        for (size_t cpu = 0; cpu < (size_t) n * 8; cpu++)
                if (mask[cpu / 8] & (1u << (cpu % 8)))
                        CPU_SET(cpu, ret);
        return CPU_COUNT(ret) > 0 ? 0 : -EINVAL;
}
