#!/bin/bash
# vivarium-udp-relay (src/relay/), the relay of a published UDP port on the
# host's [::1], run as systemd runs it (socket activation through
# systemd-socket-activate --datagram), in a network namespace of its own:
# - datagrams both ways, for one client and for several at once (each gets
#   its own answers back, and the server sees one source port per client:
#   a flow per client);
# - an IPv4 target as well as an IPv6 one;
# - once no client sent anything for the idle timeout, it exits (0), and a
#   new activation serves again;
# - bad arguments and a start without a socket are refused with the reason.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/lib/relay-test.sh
. "$here/lib/relay-test.sh" vivarium-udp-relay ss

# the "container": an echo server on [::1]:9053 (and 127.0.0.1); what it
# says is kept and shown when it is not up
echo_up() {
	python3 "$here/lib/udp-echo.py" ct 9053 >"$work/echo.log" 2>&1 &
	pids+=($!)
	wait_until 90 bound 9053
}
ask() { timeout 60 python3 "$here/lib/udp-ask.py" "$@" 2>&1; }
# a read-only look: a probe that binds the port itself (as this test once
# did) holds it for a moment, and a server binding then fails with "Address
# already in use" (CI at 728f42f)
bound() { ss -H -lun "sport = :$1" | grep -q .; }
echo_up || { echo "# the echo server did not come up:"; sed 's/^/#   /' "$work/echo.log"; }

# activate PORT TARGET [OPTIONS]: the relay on [::1]:PORT, started at the
# first datagram; its PID in $activated
activate() {
	local port=$1 target=$2
	shift 2
	systemd-socket-activate --datagram -l "[::1]:$port" "$relay" "$@" "$target" >"$work/relay-$port.log" 2>&1 &
	activated=$!
	pids+=("$activated")
	wait_until 30 bound "$port"
}
exited() { ! kill -0 "$1" 2>/dev/null; }

# systemd-socket-activate starts the relay once: one client process per
# activation (a new one after the relay's idle exit would find no relay)
activate 9054 '[::1]:9053' --idle-timeout=10
out=$(ask ::1 9054 4 3)
check "four clients at once, three rounds: each got its own twelve answers, from four source ports (a flow each)" \
	contains "$out" "# answered=12 lost=0 sources=4"
check "... and the server saw them come from ::1" same "$(grep -c '^ct:ping-.* from ::1 ' <<<"$out")" 12
check "idle for its timeout, the relay exits" wait_until 120 exited "$activated"
wait "$activated"
check "... with status 0" same "$?" 0

activate 9055 127.0.0.1:9053 --idle-timeout=10
out=$(ask ::1 9055)
check "an IPv4 target: a [::1] client's datagram reaches it, the answer comes back" \
	contains "$out" "ct:ping from ::ffff:127.0.0.1 "
check "... and it exits when idle too" wait_until 120 exited "$activated"

out=$("$relay" --idle-timeout=0 '[::1]:9053' 2>&1)
check "--idle-timeout=0 is refused" contains "$out" "Invalid --idle-timeout '0'"
out=$("$relay" 'fd00::5' 2>&1)
check "a target without a port is refused" contains "$out" "Invalid target 'fd00::5'"
out=$("$relay" 'localhost:53' 2>&1)
check "a name instead of an address is refused" contains "$out" "Invalid target 'localhost:53'"
out=$("$relay" '[::1]:9053' 2>&1)
check "without socket activation it says what it expected" contains "$out" "Expected one datagram socket"

echo "1..$n"
[ "$failures" -eq 0 ]
