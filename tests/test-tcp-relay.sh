#!/bin/bash
# vivarium-tcp-relay (src/relay/), the relay of a published TCP port on the
# host's [::1], run as systemd runs it (socket activation through
# systemd-socket-activate, the listening socket), in a network namespace of
# its own, with tests/lib/tcp-peer.py at both ends:
# - half-close, both ways: a client that ends its stream first still gets
#   the server's whole answer (the server saw the end); a server that ends
#   its stream first still gets what the client sends after that;
# - 32 MiB both ways at once, byte-exact; 100 clients at once, each with
#   its own data back;
# - a reset of the server reaches the client as a reset; a container port
#   that refuses gives the client a reset or an end, not a hang;
# - at most --max-clients connections: the next one waits in the backlog
#   and is served once one ends;
# - an open connection keeps it running past the idle timeout; without one
#   it exits (0);
# - an IPv4 target; bad arguments and a start without a listening socket
#   are refused with the reason.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/lib/relay-test.sh
. "$here/lib/relay-test.sh" vivarium-tcp-relay ss

peer=$here/lib/tcp-peer.py
listening() { ss -H -ltn "sport = :$1" | grep -q .; }
# the "container": servers of each mode, on every address
server() { # PORT MODE
	python3 "$peer" server "$1" "$2" >"$work/server-$1.log" 2>&1 &
	pids+=($!)
	wait_until 30 listening "$1" || echo "# the server on $1 did not come up"
}
server 9080 after-eof
server 9081 echo
server 9082 first
server 9083 reset
client() { timeout 300 python3 "$peer" client "$@" 2>&1; }

# activate PORT TARGET [OPTIONS]: the relay on [::1]:PORT, started at the
# first connection; its PID in $activated. systemd-socket-activate starts
# it once: one relay per activation.
activate() {
	local port=$1 target=$2
	shift 2
	systemd-socket-activate -l "[::1]:$port" "$relay" "$@" "$target" >"$work/relay-$port.log" 2>&1 &
	activated=$!
	pids+=("$activated")
	wait_until 30 listening "$port"
}
exited() { ! kill -0 "$1" 2>/dev/null; }

# --- half-close, both ways
activate 9180 '[::1]:9080' --idle-timeout=30
relay_pid=$activated
out=$(client ::1 9180 halfclose 1048576)
check "a client that ends its stream first gets the whole answer (the server saw the end: 1 MiB back)" \
	same "$out" "sent 1048576 received 1048576 same"
check "... the server answered it once it had the end" contains "$(cat "$work/server-9080.log")" "echoed 1048576"
activate 9182 '[::1]:9082' --idle-timeout=30
out=$(client ::1 9182 late after-the-end)
check "a server that ends its stream first: the client reads to its end, then sends" \
	same "$out" "got greeting, sent after-the-end"
check "... and what it sent after the server's end reached the server" \
	wait_until 30 grep -q '^after-eof: after-the-end$' "$work/server-9082.log"

# --- volume and many clients, over the same relay
out=$(client ::1 9180 stream 33554432)
check "32 MiB both ways at once, byte-exact" same "$out" "sent 33554432 received 33554432 same"
out=$(client ::1 9180 many 100 65536)
check "100 clients at once, each gets its own 64 KiB back" same "$out" "same=100 of 100"
check "... all through the one relay started first" not exited "$relay_pid"

# --- failures reach the client
activate 9183 '[::1]:9083' --idle-timeout=30
out=$(client ::1 9183 fate)
check "a reset of the server reaches the client as a reset" same "$out" "reset"
activate 9189 '[::1]:9089' --idle-timeout=30
out=$(client ::1 9189 fate)
check "a container port that refuses: the client gets a reset, not a hang" same "$out" "reset"
check "... and the relay says why" wait_until 30 grep -q "Failed to connect to the container: Connection refused" \
	"$work/relay-9189.log"
check "... and serves on" not exited "$activated"

# --- a bound on connections
activate 9181 '[::1]:9081' --idle-timeout=30 --max-clients=2
backlog() { ss -H -ltn "sport = :9181" | awk '{print $2}'; }
accepted() { grep -c '^accepted' "$work/server-9081.log"; }
client ::1 9181 hold 3 "$work/release" >"$work/hold.log" &
holder=$!
pids+=("$holder")
wait_until 60 grep -q '^open' "$work/hold.log"
check "--max-clients=2: two of three connections reach the server" wait_until 60 eval '[ "$(accepted)" = 2 ]'
check "... the third waits in the listening socket's backlog" wait_until 60 eval '[ "$(backlog)" = 1 ]'
sleep 1 # a third connection would have been accepted long since: it would be there now
check "... and stays there while both are open" same "$(accepted)/$(backlog)" "2/1"
touch "$work/release"
wait "$holder"
check "once one ends, the third is served: all three answered" same "$(tail -1 "$work/hold.log")" "answered=3 of 3"
check "... the server saw three" wait_until 30 eval '[ "$(accepted)" = 3 ]'

# --- idle exit
activate 9184 '[::1]:9081' --idle-timeout=1
idle=$activated
rm -f "$work/release"
client ::1 9184 hold 1 "$work/release" >"$work/hold2.log" &
holder=$!
pids+=("$holder")
wait_until 60 grep -q '^open' "$work/hold2.log"
sleep 3 # three times the idle timeout, with a connection open
check "a connection open past the idle timeout keeps the relay running" not exited "$idle"
touch "$work/release"
wait "$holder"
check "... and is served to its end" same "$(tail -1 "$work/hold2.log")" "answered=1 of 1"
check "with no connection left for the idle timeout, the relay exits" wait_until 120 exited "$idle"
wait "$idle"
check "... with status 0" same "$?" 0

activate 9185 127.0.0.1:9080 --idle-timeout=30
out=$(client ::1 9185 halfclose 4096 7)
check "an IPv4 target: a [::1] client half-closes and gets its answer" same "$out" "sent 4096 received 4096 same"
check "... which came from 127.0.0.1" contains "$(cat "$work/server-9080.log")" "accepted ::ffff:127.0.0.1"

out=$("$relay" --max-clients=0 '[::1]:9080' 2>&1)
check "--max-clients=0 is refused" contains "$out" "Invalid --max-clients '0': a number of connections, 1..256"
out=$("$relay" --max-clients=257 '[::1]:9080' 2>&1)
check "--max-clients above the bound is refused" contains "$out" "Invalid --max-clients '257'"
out=$("$relay" --idle-timeout=x '[::1]:9080' 2>&1)
check "--idle-timeout=x is refused" contains "$out" "Invalid --idle-timeout 'x'"
out=$("$relay" '[fd00::5]' 2>&1)
check "a target without a port is refused" contains "$out" "Invalid target '[fd00::5]'"
out=$("$relay" '[::1]:9080' 2>&1)
check "without socket activation it says what it expected" contains "$out" "Expected one listening stream socket"
timeout 120 systemd-socket-activate --datagram -l '[::1]:9186' "$relay" '[::1]:9080' >"$work/dgram.log" 2>&1 &
dgram=$!
pids+=("$dgram")
wait_until 30 eval 'ss -H -lun "sport = :9186" | grep -q .'
python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"x", ("::1", 9186))'
wait "$dgram"
out=$(cat "$work/dgram.log")
check "... and a datagram socket is not one" contains "$out" "Expected one listening stream socket"

echo "1..$n"
[ "$failures" -eq 0 ]
