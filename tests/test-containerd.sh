#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# containerd drives vivarium-oci (issue 16), in a test host: Debian's
# containerd 1.6 (its own socket and state under /tmp and /run, started by
# this test) with the runc shim v2, "ctr run --runc-binary
# /usr/bin/vivarium-oci", the native snapshotter and an image made by umoci
# and skopeo (busybox-static) and loaded with "ctr image import": run --rm
# with output and exit status, run -d then task ls, the container in vivctl
# list, task exec, task kill, task delete, container rm; nothing left.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require oci vivariumd busybox
testhost_require_tools containerd ctr containerd-shim-runc-v2 umoci skopeo

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
sock=/run/containerd-vt/containerd.sock
ctr() { testhost_run ctr --address "$sock" "$@"; }
run() { ctr run --snapshotter native --runc-binary /usr/bin/vivarium-oci "$@"; }
listed() { in_host vivctl -c lxc:/// list | grep -qw "$1"; }
task_status() { ctr task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
status_is() { [ "$(task_status "$1")" = "$2" ]; }

work=$(mktemp -d /tmp/vt-containerd.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

"$here/oci/busybox-image.sh" "$work" 1 sh true echo cat sleep ||
	{ sed 's/^/# /' "$work/image.log"; echo "not ok 1 - umoci and skopeo made the image"; exit 1; }

testhost_up "vt-containerd-$$" "$build" "$work/install.log"

# containerd of our own, on a socket no one else uses; the test host's end stops it.
cat >"$work/config.toml" <<EOF
version = 2
root = "/tmp/containerd-vt"
state = "/run/containerd-vt"
[grpc]
  address = "$sock"
EOF
in_host sh -c "containerd --config $work/config.toml >/tmp/containerd.log 2>&1 </dev/null &"
check "containerd runs" wait_for 300 in_host test -S "$sock"

out=$(ctr image import --snapshotter native "$work/bb.tar" 2>&1)
check "ctr image import of a docker-archive" contains "$out" "localhost/bb:1"

out=$(run --rm localhost/bb:1 c1 sh -c 'echo out-$((6*7))' 2>&1)
check "ctr run --rm: output" same "$out" "out-42"
run --rm localhost/bb:1 c2 sh -c 'exit 3' >/dev/null 2>&1
check "ctr run --rm: exit status" [ $? = 3 ]

check "ctr run -d" quiet run -d localhost/bb:1 c3 sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
check "task ls: RUNNING" wait_for 100 status_is c3 RUNNING
check "it is a Vivarium container (vivctl list)" listed c3
out=$(ctr task exec --exec-id e1 c3 sh -c 'echo exec-ok' 2>&1)
check "task exec" same "$out" "exec-ok"
check "task kill (TERM)" quiet ctr task kill c3
check "task ls: STOPPED" wait_for 300 status_is c3 STOPPED
check "gone from vivctl list" wait_for 300 not listed c3
check "task delete" quiet ctr task delete c3
check "container rm" quiet ctr container rm c3
check "no state left in the runtime's root" same "$(in_host vivarium-oci --root /run/containerd/runc/default list -q 2>&1)" ""

echo "1..$n"
[ "$failures" = 0 ]
