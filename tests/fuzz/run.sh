#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the fuzzers for a bounded time: tests/fuzz/run.sh BUILD_DIR SECONDS
# BUILD_DIR is a clang build (CC=clang meson setup BUILD_DIR). fuzz-xml gets
# half of the time, its corpus seeded from tests/xml (network documents get a
# leading '#' so that the target routes them to the network parser);
# fuzz-wire (domain-wire.c) the other half, its corpus the wire form of the
# good documents (test-domain-wire --write-corpus). Exits non-zero on a crash.
#
# FUZZ_SEED=N makes a run reproducible: libFuzzer's mutations follow the seed,
# and with FUZZ_RUNS=N each fuzzer stops after N inputs (SECONDS stays the
# upper bound), so two machines of different speed try the same inputs. CI
# runs that way (tools/test); a developer's run takes a new seed each time and
# explores further. A crash found either way is a bug: add its reproducer as a
# document under tests/xml/bad (or good) so that the suites keep it.
set -eu

build=${1:?usage: run.sh BUILD_DIR SECONDS}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

for fuzzer in "$build/tests/fuzz-xml" "$build/tests/fuzz-wire" "$build/tests/test-domain-wire"; do
        if [ ! -x "$fuzzer" ]; then
                echo "run.sh: $fuzzer not built (needs CC=clang)" >&2
                exit 2
        fi
done
wire_seconds=$((seconds / 2))
xml_seconds=$((seconds - wire_seconds))

work=$(mktemp -d "${TMPDIR:-/tmp}/vivarium-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus" "$work/artifacts" "$work/wire-corpus"

n=0
for f in "$top"/tests/xml/good/*.xml "$top"/tests/xml/bad/*.xml; do
        n=$((n + 1))
        cp "$f" "$work/corpus/domain-$n.xml"
done
for f in "$top"/tests/xml/network-good/*.xml "$top"/tests/xml/network-bad/*.xml; do
        n=$((n + 1))
        { printf '#'; cat "$f"; } > "$work/corpus/network-$n.xml"
done

# Crashes are kept next to the build directory, where they survive the run.
keep=$build/fuzz-artifacts
mkdir -p "$keep"

# run_fuzzer NAME SECONDS CORPUS [OPTION...]
run_fuzzer() {
        name=$1
        secs=$2
        corpus=$3
        shift 3
        [ "$secs" -gt 0 ] || return 0
        set +e
        # -timeout is for a hang: at load 20 an input that takes 2 ms alone
        # once stalled 13 s in ASan's release of freed memory to the kernel.
        "$build/tests/$name" -max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 \
                ${FUZZ_SEED:+-seed="$FUZZ_SEED"} ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} \
                -artifact_prefix="$keep/$name-" -print_final_stats=1 "$@" "$corpus"
        rc=$?
        set -e
        if [ "$rc" -ne 0 ]; then
                echo "run.sh: $name failed (exit $rc); reproducer in $keep/" >&2
                exit 1
        fi
}

run_fuzzer fuzz-xml "$xml_seconds" "$work/corpus" -dict="$here/xml.dict"
"$build/tests/test-domain-wire" --write-corpus "$work/wire-corpus" >/dev/null
run_fuzzer fuzz-wire "$wire_seconds" "$work/wire-corpus"
echo "run.sh: no crash in $seconds s (fuzz-xml $xml_seconds s, fuzz-wire $wire_seconds s${FUZZ_SEED:+, seed $FUZZ_SEED}${FUZZ_RUNS:+, at most $FUZZ_RUNS inputs each})"
