# SPDX-License-Identifier: LGPL-2.1-or-later
# The frame of the relay tests (test-tcp-relay.sh, test-udp-relay.sh): source
# it first thing, with the relay's name (vivarium-tcp-relay, ...) and the
# commands the test needs besides. It skips (77, 1 when
# VIVARIUM_TESTS_MUST_RUN=1) without the built relay, root, or a command;
# runs the test again in a network namespace of its own (traffic on its own
# loopback only, its processes the script's children), and there sources
# check.sh and sets:
#   $relay   the relay's binary        $work   a scratch directory
#   pids     processes to kill at the end (append to it), with $work removed
# shellcheck shell=bash

relay_test_skip() {
	echo "1..0 # SKIP $*"
	[ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ] && exit 1
	exit 77
}

relay=${VIVARIUM_BUILD_DIR:-}/src/relay/$1
[ -x "$relay" ] || relay_test_skip "$1 not built (VIVARIUM_BUILD_DIR='${VIVARIUM_BUILD_DIR:-}')"
[ "$(id -u)" = 0 ] || relay_test_skip "needs root (a network namespace of its own)"
for tool in systemd-socket-activate python3 "${@:2}"; do
	command -v "$tool" >/dev/null || relay_test_skip "needs $tool"
done

if [ "${VT_RELAY_TEST_INSIDE:-}" != 1 ]; then
	VT_RELAY_TEST_INSIDE=1 exec unshare --net --fork --kill-child -- "$0"
fi
ip link set lo up

# shellcheck source=tests/lib/check.sh
. "$(dirname "${BASH_SOURCE[0]}")/check.sh"
work=$(mktemp -d "/tmp/vt-$1.XXXXXX")
pids=()
# shellcheck disable=SC2317
relay_test_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap relay_test_cleanup EXIT
