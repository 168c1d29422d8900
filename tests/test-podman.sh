#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# podman drives vivarium-oci (issue 16), in a test host: Debian's podman 4.3
# with conmon, vfs storage under the host's /tmp, an image made by umoci and
# skopeo (FROM scratch: busybox-static) and loaded with "podman load".
# podman --runtime vivarium-oci: run --rm /bin/true and a command's exit
# status and output, run -d then ps, logs, stop, rm; run -it with a terminal
# (a pty through --console-socket); every container is a Vivarium container
# while it runs (vivctl list, machinectl); exec's output and exit status.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require oci vivariumd busybox
testhost_require_tools podman conmon umoci skopeo

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
podman() {
	testhost_run podman --storage-driver vfs --root /tmp/pod/root --runroot /tmp/pod/run \
		--events-backend file --runtime /usr/bin/vivarium-oci "$@"
}
listed() { in_host vivctl -c lxc:/// list | grep -qw "$1"; }
ps_status() { podman ps -a --filter "name=$1" --format '{{.Status}}'; }
det_up() { case $(ps_status det) in Up*) return 0 ;; esac; return 1; }
det_logged() { podman logs det 2>/dev/null | grep -qx ready; }
exited() { case $(ps_status "$1") in Exited*) return 0 ;; esac; return 1; }

work=$(mktemp -d /tmp/vt-podman.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

"$here/oci/busybox-image.sh" "$work" 1 sh true echo cat sleep id tty ||
	{ sed 's/^/# /' "$work/image.log"; echo "not ok 1 - umoci and skopeo made the image"; exit 1; }

testhost_up "vt-podman-$$" "$build" "$work/install.log"

out=$(podman load -i "$work/bb.tar" 2>&1)
check "podman load of a docker-archive" contains "$out" "Loaded image: localhost/bb:1"

out=$(podman run --rm --network=none localhost/bb:1 /bin/true 2>&1)
check "podman run --rm IMAGE /bin/true" [ $? = 0 ] || printf '%s\n' "$out" | sed 's/^/#  /'
out=$(podman run --rm --network=none localhost/bb:1 sh -c 'echo out-$((6*7)); exit 3' 2>&1)
status=$?
check "run: the command's output" same "$out" "out-42"
check "run: the command's exit status" [ "$status" = 3 ]
check "run --rm leaves no container" same "$(podman ps -a -q)" ""
check "... and no state in the runtime" same "$(in_host vivarium-oci list -q)" ""

# A detached container: it is a Vivarium container while it runs.
podman run -d --name det --hostname det --network=none localhost/bb:1 \
	sh -c 'echo ready; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done' >"$work/det.id" 2>&1
check "run -d" [ $? = 0 ] || sed 's/^/#  /' "$work/det.id"
check "podman ps: Up" wait_for 100 det_up
check "it is in vivctl list" listed det
check "it is a machined machine" contains "$(in_host machinectl list --no-pager)" "det"
check "its scope runs" contains "$(in_host systemctl is-active machine-det.scope)" "active"
check "podman logs" wait_for 100 det_logged
out=$(podman exec det sh -c 'echo exec-$((40+2))' 2>&1)
check "podman exec: output" same "$out" "exec-42"
podman exec det sh -c 'exit 6' >/dev/null 2>&1
check "podman exec: exit status" [ $? = 6 ]
check "podman stop" quiet podman stop -t 20 det
check "podman ps: Exited" exited det
check "the TERM trap ran (logs)" contains "$(podman logs det 2>&1)" "bye"
check "stopped: gone from vivctl list" wait_for 300 not listed det
check "podman rm" quiet podman rm det
check "rm leaves no state in the runtime" same "$(in_host vivarium-oci list -q)" ""

# run -it: a terminal through --console-socket.
cat >"$work/it.steps" <<'EOF'
expect is-a-tty
send exit 5
eof 5
EOF
out=$(in_host python3 "$here/lib/ptyexpect.py" --timeout 60 "$work/it.steps" -- \
	podman --storage-driver vfs --root /tmp/pod/root --runroot /tmp/pod/run --events-backend file \
	--runtime /usr/bin/vivarium-oci run -it --rm --network=none localhost/bb:1 \
	sh -c 'tty >/dev/null && echo is-a-tty; exec sh' 2>&1)
check "run -it: a terminal, typed input, the exit status" [ $? = 0 ] || printf '%s\n' "$out" | tail -15 | sed 's/^/#  /'

check "nothing is left in vivctl list" same "$(in_host vivctl -c lxc:/// list --all | awk 'NR > 2 && NF { print $2 }')" ""

echo "1..$n"
[ "$failures" = 0 ]
