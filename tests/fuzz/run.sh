#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the XML fuzzer for a bounded time: tests/fuzz/run.sh BUILD_DIR SECONDS
# BUILD_DIR is a clang build (CC=clang meson setup BUILD_DIR). The corpus is
# seeded from tests/xml (network documents get a leading '#' so that the
# target routes them to the network parser). Exits non-zero on a crash.
set -eu

build=${1:?usage: run.sh BUILD_DIR SECONDS}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
fuzzer=$build/tests/fuzz-xml

if [ ! -x "$fuzzer" ]; then
        echo "run.sh: $fuzzer not built (needs CC=clang)" >&2
        exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vivarium-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus" "$work/artifacts"

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

set +e
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -dict="$here/xml.dict" -artifact_prefix="$keep/" \
        -print_final_stats=1 "$work/corpus"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
        echo "run.sh: the fuzzer failed (exit $rc); reproducer in $keep/" >&2
        exit 1
fi
echo "run.sh: no crash in $seconds s"
