#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/run oci, inside the test host: "podman run --rm IMAGE /bin/true"
# through crun and through vivarium-oci, alternating, BENCH_OCI_RUNS times
# each (after one warm-up of each), on vfs storage and an image made by umoci
# and skopeo from busybox-static. Prints a Markdown table: median and p90
# wall time, and the ratio of the medians.
set -euo pipefail

runs=${BENCH_OCI_RUNS:-20}
[ -n "${BENCH_QUICK:-}" ] && runs=5
work=$(mktemp -d /tmp/bench-oci.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
"${0%/*}/../tests/oci/busybox-image.sh" "$work" 1 true
P=(podman --storage-driver vfs --root /tmp/bench-pod/root --runroot /tmp/bench-pod/run --events-backend file)
"${P[@]}" load -i "$work/bb.tar" >/dev/null 2>&1

declare -A times
one() { # RUNTIME: one run's wall time in ms
	local t0 t1
	t0=$(date +%s%N)
	"${P[@]}" --runtime "$1" run --rm --network=none localhost/bb:1 /bin/true >/dev/null 2>&1 ||
		{ echo "bench/oci: podman --runtime $1 run failed" >&2; exit 1; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
runtimes=(/usr/bin/crun /usr/bin/vivarium-oci)
for r in "${runtimes[@]}"; do one "$r" >/dev/null; done
for ((i = 0; i < runs; i++)); do
	for r in "${runtimes[@]}"; do times[$r]+="$(one "$r") "; done
done
stat() { # VALUES...: median p90
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)] }'
}
read -r crun_med crun_p90 <<<"$(stat ${times[/usr/bin/crun]})"
read -r viv_med viv_p90 <<<"$(stat ${times[/usr/bin/vivarium-oci]})"
echo "| podman run --rm IMAGE /bin/true ($runs runs each) | median ms | p90 ms |"
echo "| --- | --- | --- |"
echo "| --runtime crun | $crun_med | $crun_p90 |"
echo "| --runtime vivarium-oci | $viv_med | $viv_p90 |"
echo
awk -v a="$viv_med" -v b="$crun_med" 'BEGIN { printf "vivarium-oci / crun: %.2fx (goal: 1.1x)\n", a / b }'
