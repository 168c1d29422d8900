#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Adds up one meson run's results from its JSON log (meson-logs/testlog.json).

Prints "PASSED FAILED SKIPPED" on the first line, then one line
"FEATURE<TAB>TEST" for each skipped test whose output has a line
"KERNEL-LACKS: FEATURE: ..." (tests/lib/kernel-features.sh). Whether such a
skip is accepted is tools/test's decision, not this script's."""
import json
import re
import sys

LACKS = re.compile(r"^KERNEL-LACKS: ([a-z0-9_-]+):", re.M)


def main(path):
    passed = failed = skipped = 0
    lacks = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            res = r["result"]
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
                m = LACKS.search((r.get("stdout") or "") + (r.get("stderr") or ""))
                if m:
                    lacks.append((m.group(1), r["name"]))
            else:
                failed += 1
    print(passed, failed, skipped)
    for feature, name in lacks:
        print(f"{feature}\t{name}")


if __name__ == "__main__":
    main(sys.argv[1])
