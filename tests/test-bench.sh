#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run in its quick mode (10 runs of each runtime, the start, trace and
# ready stages, and the scale stage's 8-client part with 20 containers) on the
# build under test: the JSON must hold every runtime with
# latencies > 0 (the floors through systemd included), the ratios to crun,
# the floor's derivation, start-to-ready of every variant and floor, and the
# phases of 10 traced starts of each kind, the scale quarters' CPU by process,
# and the scale stage's start-floor (20 started and stopped, its row).
set -u

skip_or_fail() {
        if [ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ]; then
                echo "FAIL: cannot run, and VIVARIUM_TESTS_MUST_RUN=1: $*" >&2
                exit 1
        fi
        echo "SKIP: $*" >&2
        exit 77
}

src=${VIVARIUM_SOURCE_DIR:-$(readlink -f "${0%/*}/..")}
[ -n "${VIVARIUM_BUILD_DIR:-}" ] || skip_or_fail "VIVARIUM_BUILD_DIR is not set (run through meson test)"
[ "$(id -u)" = 0 ] || skip_or_fail "needs root"
for t in crun systemd-nspawn busybox gnuplot cc pkg-config; do
        command -v "$t" >/dev/null || skip_or_fail "$t is missing (bench/run installs it; or tools/deps.sh)"
done

out=$(mktemp -d /tmp/test-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

BENCH_QUICK=1 BENCH_NO_DEPS=1 BENCH_NO_BUILD=1 BENCH_BUILD_DIR="$VIVARIUM_BUILD_DIR" BENCH_OUT="$out" \
        BENCH_SCALE_SERIAL=0 BENCH_SCALE_RUNTIMES="vivarium nsfloor" "$src/bench/run" start trace ready scale
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "FAIL: bench/run exited $rc"; exit 1; }

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
d = json.load(open(os.path.join(out, "latest.json")))
bad = []
for rt in ("vivarium", "crun", "nspawn", "unshare", "scope", "scope-unshare"):
    s = d["start"]["latency_ms"].get(rt)
    if not s or s["n"] < 10 or not s["median"] > 0 or not s["p10"] > 0:
        bad.append(f"{rt}: {s}")
for k in ("crun", "nspawn", "unshare"):
    if not d["start"]["ratio_vivarium_to"].get(k, 0) > 0:
        bad.append(f"ratio to {k} missing")
# issue 14: each row's ratio to crun, and the trace stage's phases
if not d["start"].get("ratio_to_crun", {}).get("vivarium", {}).get("p90", 0) > 0:
    bad.append("ratio to crun at p90 missing")
# the floors through systemd (issue 14): rows, ratios, what they leave of 0.75 x crun
for k in ("scope", "scope-unshare"):
    if not d["start"].get("ratio_to_crun", {}).get(k, {}).get("median", 0) > 0:
        bad.append(f"ratio of {k} to crun missing")
f = d["start"].get("floor") or {}
if not f.get("scope_ms", 0) > 0 or not f.get("goal_ms", 0) > 0 or "left_for_the_rest_ms" not in f:
    bad.append(f"the floor's derivation missing: {f}")
table = open(os.path.join(out, "table.md")).read()
for row in ("`systemd-run --scope -q /bin/true`", "`systemd-run --scope -q unshare ... /bin/true`",
            "The floor through systemd:", "floor: `systemd-run --scope -q unshare ... sh -c"):
    if row not in table:
        bad.append(f"table.md has no {row}")
for v in ("plain", "privnet", "ethernet", "floor-unshare", "floor-scope", "floor-scope-unshare"):
    s = d.get("ready", {}).get("ready_ms", {}).get(v)
    if not s or s["n"] < 10 or not s["median"] > 0:
        bad.append(f"ready {v}: {s}")
if not any(g["goal"].startswith("start-to-ready") for g in d.get("goals", [])):
    bad.append("the start-to-ready goal is not judged")
for kind in ("userns", "off"):
    t = d.get("trace", {}).get(kind, {})
    names = [p["phase"] for p in t.get("phases", [])]
    if t.get("runs", 0) < 10 or "helper-ready" not in names or "vivctl-end" not in names:
        bad.append(f"trace {kind}: {t.get('runs')} runs, phases {names}")
# the scale stage's 8-client part (N=20 here): every quarter has the CPU of
# the test host's processes by name, and they add up to more than nothing
# over the 20 starts. Not one process's: /proc's utime and stime are whole
# clock ticks (10 ms), and a helper's start takes less CPU than that on a
# fast machine, so the helpers' sum may well be 0 there.
qs = d.get("scale", {}).get("parallel", {}).get("quarters", [])
if len(qs) != 4 or not all("cpu_by_comm_s" in q for q in qs):
    bad.append(f"scale: quarters without the CPU by process: {qs}")
elif not sum(sum(q["cpu_by_comm_s"].values()) for q in qs) > 0:
    bad.append(f"scale: no CPU of any process of the test host in {qs}")
# Vivarium's 8-client part: every container destroyed, nothing left; the
# manager's fork server is not a container's helper (it counted as one and
# the stage waited 300 s for it to go)
pd = d.get("scale", {}).get("parallel", {}).get("destroy", {})
if pd.get("failed") != 0 or pd.get("left_helpers") != 0 or pd.get("left_scopes") != 0:
    bad.append(f"scale: after destroying all: {pd}")
# the floor of the scale stage (bench/start-floor.c): all 20 started, all
# stopped again, its row in the table
nf = d.get("scale", {}).get("nsfloor", {})
if len(nf.get("quarters", [])) != 4 or nf.get("failed") != 0 or nf.get("running") != nf.get("n") or nf.get("left") != 0:
    bad.append(f"scale: start-floor: {nf}")
if "start-floor (scope, namespaces, machined)" not in table:
    bad.append("table.md has no start-floor row")
if "CPU per start by process" not in table:
    bad.append("table.md has no CPU per start by process")
if not d["machine"]["nproc"] > 0:
    bad.append("machine facts missing")
if not os.path.exists(os.path.join(out, "start-latency.png")):
    bad.append("no start-latency.png")
for b in bad:
    print("FAIL:", b)
if bad:
    sys.exit(1)
print("PASS: bench quick start: " + ", ".join(
    f"{k} {v['median']:.1f} ms" for k, v in d["start"]["latency_ms"].items() if v))
PY
