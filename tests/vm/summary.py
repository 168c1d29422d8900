#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints one line per test of a meson run (meson-logs/testlog.json): result,
seconds, and the TAP 'ok'/'not ok' lines of its output, so that a test that ran is
told apart from one that skipped. Exits 1 unless every test passed (a skip too:
tests/vm/run.sh runs where everything the tests need is present).

  summary.py TESTLOG [REQUESTED [OUT]]

REQUESTED: the test names asked for, one a line (job.sh's out/requested); a name
without a result (meson was stopped at the run's deadline, or the VM before it
finished) is a row NOT-RUN, a failure. OUT: a copy of TESTLOG with such rows added
(result NOT-RUN), for tools/test's count. TESTLOG may be missing (no result came
back): then every requested test is NOT-RUN."""
import json
import os
import re
import sys

OK = re.compile(r"^ok \d+", re.M)
NOT_OK = re.compile(r"^not ok \d+", re.M)
LACKS = re.compile(r"^(KERNEL-LACKS: .*|SKIP: .*)$", re.M)


def main(path, requested=None, out=None):
    records = []
    if os.path.exists(path):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
    if requested:
        with open(requested) as f:
            names = [n.strip() for n in f if n.strip()]
        # Only plain names can be checked off ("--suite x" selects unknown names).
        if not any(n.startswith("-") for n in names):
            have = {r["name"].split(" / ")[-1] for r in records}
            for n in names:
                if n not in have:
                    records.append({"name": n, "result": "NOT-RUN", "duration": 0.0,
                                    "stdout": "NOT-RUN: no result: it did not finish "
                                              "before the run's deadline or the VM's end"})
    if out:
        with open(out, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
    rows = []
    for r in records:
        text = (r.get("stdout") or "") + (r.get("stderr") or "")
        why = LACKS.search(text)
        rows.append((r["name"].split(" / ")[-1], r["result"], r.get("duration", 0.0),
                     len(OK.findall(text)), len(NOT_OK.findall(text)),
                     why.group(1) if why else ""))
    print(f"{'test':<20} {'result':<8} {'seconds':>8} {'ok':>4} {'not ok':>6}")
    for name, res, secs, ok, nok, why in rows:
        print(f"{name:<20} {res:<8} {secs:>8.1f} {ok:>4} {nok:>6}  {why}".rstrip())
    bad = [r for r in rows if r[1] not in ("OK", "EXPECTEDFAIL")]
    print(f"{len(rows) - len(bad)} of {len(rows)} passed")
    not_run = [r[0] for r in rows if r[1] in ("NOT-RUN", "INTERRUPT")]
    if not_run:
        print("NOT-FINISHED (counted as failures): " + " ".join(not_run))
    return 1 if bad or not rows else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
