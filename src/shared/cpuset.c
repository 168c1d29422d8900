/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cpuset.h"

int cpuset_parse(const char *list, cpu_set_t *ret) {
        cpu_set_t excluded;
        const char *p = list;

        CPU_ZERO(ret);
        CPU_ZERO(&excluded);
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
                if (b >= CPU_SETSIZE)
                        return -EINVAL;
                for (unsigned long cpu = a; cpu <= b; cpu++)
                        CPU_SET(cpu, exclude ? &excluded : ret);
                p = end;
                if (*p == ',')
                        p++;
                else if (*p)
                        return -EINVAL;
        }
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
                if (CPU_ISSET(cpu, &excluded))
                        CPU_CLR(cpu, ret);
        return CPU_COUNT(ret) > 0 ? 0 : -EINVAL;
}
