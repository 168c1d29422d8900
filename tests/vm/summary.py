#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints one line per test of a meson run (meson-logs/testlog.json): result,
seconds, and the TAP 'ok'/'not ok' lines of its output, so that a test that ran is
told apart from one that skipped. Exits 1 unless every test passed (a skip too:
tests/vm/run.sh runs where everything the tests need is present)."""
import json
import re
import sys

OK = re.compile(r"^ok \d+", re.M)
NOT_OK = re.compile(r"^not ok \d+", re.M)
LACKS = re.compile(r"^(KERNEL-LACKS: .*|SKIP: .*)$", re.M)


def main(path):
    rows = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            out = (r.get("stdout") or "") + (r.get("stderr") or "")
            why = LACKS.search(out)
            rows.append((r["name"].split(" / ")[-1], r["result"], r.get("duration", 0.0),
                         len(OK.findall(out)), len(NOT_OK.findall(out)),
                         why.group(1) if why else ""))
    print(f"{'test':<20} {'result':<8} {'seconds':>8} {'ok':>4} {'not ok':>6}")
    for name, res, secs, ok, nok, why in rows:
        print(f"{name:<20} {res:<8} {secs:>8.1f} {ok:>4} {nok:>6}  {why}".rstrip())
    bad = [r for r in rows if r[1] not in ("OK", "EXPECTEDFAIL")]
    print(f"{len(rows) - len(bad)} of {len(rows)} passed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
