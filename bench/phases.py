#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where a start's time goes, from a VIVARIUM_TRACE file (src/shared/trace.h).

  bench/phases.py FILE [--json] [--label LABEL]

Lines "TIME bench 0 LABEL" (bench.py writes them) label the runs after them;
--label takes only those. The file holds the lines of many `vivctl create --wait` (or `vivctl start`)
runs, one after the other. A run starts at a "vivctl-start" line and ends at
vivctl's "vivctl-end"; every phase is given as the
time since the phase before it (in the order the median run shows them) and
since vivctl-start, as p10 / median / p90 over the runs, in ms.
"""
import json
import statistics
import sys


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def runs_of(path):
    lines = []
    with open(path) as fh:
        for line in fh:
            f = line.split()
            if len(f) == 4:
                lines.append((float(f[0]), f[1], int(f[2]), f[3]))
    lines.sort()
    runs, cur, label = [], None, None
    for t, prog, pid, phase in lines:
        if prog == "bench":         # a label for the runs after it (bench.py)
            label = phase
            continue
        if phase == "vivctl-start":
            cur = {"t0": t, "phases": [], "label": label}
            runs.append(cur)
        if cur is not None:
            cur["phases"].append((phase, t - cur["t0"]))
            if phase == "vivctl-end" and prog == "vivctl":
                # what follows (a container still running after `vivctl
                # start`, its later destroy) is no part of this run
                cur = None
    # only whole runs: from vivctl's start to its end
    return [r for r in runs if r["phases"][-1][0] == "vivctl-end"]


def analyse(path, label=None):
    runs = [r for r in runs_of(path) if label is None or r["label"] == label]
    since_start, order = {}, {}
    for r in runs:
        seen = set()
        for i, (phase, t) in enumerate(r["phases"]):
            if phase in seen:       # a phase twice in a run: the first counts
                continue
            seen.add(phase)
            since_start.setdefault(phase, []).append(t * 1000)
            order.setdefault(phase, []).append(i)
    phases = sorted(since_start, key=lambda p: statistics.median(since_start[p]))
    rows, prev = [], None
    for p in phases:
        steps = []
        for r in runs:
            d = dict(reversed(r["phases"]))   # first occurrence wins
            if p in d and (prev is None or prev in d):
                steps.append((d[p] - (d[prev] if prev else 0)) * 1000)
        xs = since_start[p]
        rows.append({"phase": p, "n": len(xs),
                     "step_ms": [pct(steps, 10), pct(steps, 50), pct(steps, 90)],
                     "since_start_ms": [pct(xs, 10), pct(xs, 50), pct(xs, 90)]})
        prev = p
    return {"runs": len(runs), "phases": rows}


def table(a):
    out = [f"{a['runs']} runs; ms, p10 / median / p90",
           "",
           "| phase | step (from the row above) | since vivctl started |",
           "| --- | ---: | ---: |"]
    for r in a["phases"]:
        s, t = r["step_ms"], r["since_start_ms"]
        out.append(f"| `{r['phase']}` | {s[0]:.2f} / **{s[1]:.2f}** / {s[2]:.2f} | "
                   f"{t[0]:.2f} / {t[1]:.2f} / {t[2]:.2f} |")
    return "\n".join(out)


if __name__ == "__main__":
    args = sys.argv[2:]
    a = analyse(sys.argv[1], args[args.index("--label") + 1] if "--label" in args else None)
    print(json.dumps(a, indent=1) if "--json" in args else table(a))
