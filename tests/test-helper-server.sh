#!/bin/bash
# The helper's fork server (src/helper/helper-server.c, src/manager/spawn.c;
# docs/internals.md "The helper's fork server"): the manager execs
# `vivarium-helper --fork-server` once and has it fork each container's
# helper instead of an exec a start.
#   - helpers are forked: the manager is their parent, their auxiliary
#     vector (load addresses, AT_RANDOM) is the server's, their command line
#     is what an exec would show (ps; a restarted manager finds a starting
#     helper by it, test-adopt-starting.sh);
#   - each helper has a stack protector value of its own (x86-64: read with
#     ptrace by tests/read-stack-guard.c), not the server's or a sibling's;
#   - a helper that dies of SIGSEGV ends the server: the next helper comes
#     from a new server, with a new address layout; so does a new helper
#     binary; a server killed from outside is replaced at the next start;
#   - stopping the manager ends the server and no container;
#   - VIVARIUM_HELPER_SERVER=0: no server, every helper exec'd.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd helper vivctl busybox
[ -x "$build/tests/read-stack-guard" ] ||
	testhost_skip_or_fail "tests/read-stack-guard is not built (VIVARIUM_BUILD_DIR='$build')"

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/sleep-domain.sh
. "$here/lib/sleep-domain.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }

work=$(mktemp -d /tmp/vt-hserver.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-hserver-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

helper=/usr/libexec/vivarium/vivarium-helper
in_host test -x "$helper" || { echo "not ok 1 - the helper is installed at $helper"; exit 1; }
in_host "$here/lib/busybox-root.sh" /tmp/dr sleep >/dev/null ||
	{ echo "not ok 1 - make the busybox root in the test host"; exit 1; }

manager_pid() { in_host systemctl show -p MainPID --value vivariumd.service; }
# the PIDs whose command line is the fork server's, one a line
servers() {
	in_host sh -c 'for p in /proc/[0-9]*; do
		[ "$(tr "\0" " " <$p/cmdline 2>/dev/null | sed "s/ *\$//")" = "$1 --fork-server" ] && echo ${p#/proc/}
	done; true' sh "$helper"
}
no_server() { [ -z "$(servers)" ]; }
one_server() { [ "$(servers | wc -l)" = 1 ]; }
ppid_of() { in_host awk '/^PPid:/ { print $2 }' "/proc/$1/status"; }
# NULs as spaces, without the trailing ones: a forked helper's command line
# is written over the server's, the rest of that area NULs
cmdline_of() { in_host sh -c 'tr "\0" " " <"/proc/$1/cmdline" | sed "s/ *\$//"' sh "$1"; }
auxv_of() { in_host od -An -tx8 -v "/proc/$1/auxv" | tr -s ' \n' ' '; }
guard_of() { in_host "$build/tests/read-stack-guard" "$1"; }
helper_of() { vivctl domid "$1" 2>/dev/null | head -1; }
state_of() { vivctl domstate "$1" 2>/dev/null | head -1; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
journal() { in_host journalctl --no-pager -q -u vivariumd.service; }
differ() { # A B: both non-empty and not equal
	[ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ] && return 0
	echo "#  expected two different values: '$1' '$2'" >&2
	return 1
}

# Without address space layout randomization every process would look alike.
aslr=$(in_host cat /proc/sys/kernel/randomize_va_space)
check "address space layout randomization is on (randomize_va_space $aslr)" [ "$aslr" = 2 ]

up() { # NAME
	sleep_domain "$1" pick
	sleep_domain_up "$1" "start $1"
}

up vt-a
up vt-b
mgr=$(manager_pid)
check "one fork server runs" one_server
srv=$(servers | head -1)
check "the fork server is the manager's child" same "$(ppid_of "$srv")" "$mgr"
ha=$(helper_of vt-a)
hb=$(helper_of vt-b)
check "vt-a's helper is the manager's child, as an exec'd one" same "$(ppid_of "$ha")" "$mgr"
check "its command line is what the exec gave it" \
	same "$(cmdline_of "$ha")" "$helper --name vt-a --handshake 3 --model 4"
check "it was forked by the server: its auxiliary vector is the server's" \
	same "$(auxv_of "$ha")" "$(auxv_of "$srv")"
check "vt-b's helper too" same "$(auxv_of "$hb")" "$(auxv_of "$srv")"
# nothing of the server's open in a helper: its socket to the manager (fd 3)
# is not among the helper's fds
srv_sock=$(in_host readlink "/proc/$srv/fd/3")
fds_of() { in_host sh -c 'for f in /proc/$1/fd/*; do readlink "$f"; done' sh "$1" | tr '\n' ' '; }
check "the server's socket is $srv_sock" contains "$srv_sock" "socket:["
check "vt-a's helper does not hold it" lacks "$(fds_of "$ha")" "$srv_sock"

ga=$(guard_of "$ha")
gb=$(guard_of "$hb")
gs=$(guard_of "$srv")
if [ "$(uname -m)" = x86_64 ]; then
	check "vt-a's helper has a stack protector value of its own (not the server's)" differ "$ga" "$gs"
	check "... nor vt-b's helper's" differ "$ga" "$gb"
	check "vt-b's helper's is not the server's" differ "$gb" "$gs"
else
	echo "# $(uname -m): the stack protector value is not read here (read-stack-guard: x86-64 only)"
fi
check "both containers run" same "$(state_of vt-a) $(state_of vt-b)" "running running"

# A helper that dies of SIGSEGV takes the server's layout with it.
in_host kill -SEGV "$ha"
check "vt-a's helper killed by SIGSEGV: vt-a shut off" wait_until 60 is_state vt-a "shut off"
check "the fork server is ended" wait_until 30 not one_server
check "the journal says why" contains "$(journal)" \
	"Ending the helper's fork server $srv: the helper of container 'vt-a' died of Segmentation fault"
out=$(vivctl start vt-a 2>&1)
check "vt-a starts again ($out)" contains "$out" "Domain vt-a started"
srv2=$(servers | head -1)
check "from a new fork server" differ "$srv2" "$srv"
ha2=$(helper_of vt-a)
check "its helper has the new server's layout" same "$(auxv_of "$ha2")" "$(auxv_of "$srv2")"
check "... not the old one's (vt-b's helper keeps that)" differ "$(auxv_of "$ha2")" "$(auxv_of "$hb")"
check "vt-b runs on" is_state vt-b running

# A new helper binary: the next start forks from a server that runs it.
in_host touch "$helper"
up vt-c
check "after the helper binary changed, a new fork server" differ "$(servers | head -1)" "$srv2"
check "the journal says why" contains "$(journal)" "Ending the helper's fork server $srv2: the helper binary changed"
srv3=$(servers | head -1)
check "vt-c's helper comes from it" same "$(auxv_of "$(helper_of vt-c)")" "$(auxv_of "$srv3")"

# A server killed from outside: the journal says so, the next start works.
in_host kill -KILL "$srv3"
check "a killed fork server: the manager notices" \
	wait_until 30 eval 'journal | grep -q "fork server $srv3 was killed by signal 9"'
up vt-d
srv4=$(servers | head -1)
check "the next start has a new fork server" differ "$srv4" "$srv3"
check "vt-d's helper comes from it" same "$(auxv_of "$(helper_of vt-d)")" "$(auxv_of "$srv4")"

# The server cannot fork (the manager's service at its task limit): it
# refuses that start and lives on; the manager's own exec fails the same way,
# and the start fails with nothing left.
pids_dir=$(in_host sh -c 'for d in /sys/fs/cgroup/pids/system.slice/vivariumd.service \
	/sys/fs/cgroup/system.slice/vivariumd.service; do [ -e $d/pids.max ] && echo $d && break; done')
if [ -n "$pids_dir" ]; then
	sleep_domain vt-e pick
	vivctl define "$work/vt-e.xml" >/dev/null 2>&1
	in_host sh -c 'cat $1/pids.current >$1/pids.max' sh "$pids_dir"
	out=$(vivctl start vt-e 2>&1)
	in_host sh -c 'echo max >$1/pids.max' sh "$pids_dir"
	check "at the task limit, the start fails ($out)" \
		contains "$out" "Failed to spawn the helper of container 'vt-e': Resource temporarily unavailable"
	check "the server refused it, and the manager tried an exec" contains "$(journal)" \
		"The helper's fork server did not fork the helper of container 'vt-e' (Resource temporarily unavailable): exec'ing it."
	check "the server lives on" same "$(servers)" "$srv4"
	check "vt-e is shut off, no scope" eval '[ "$(state_of vt-e)" = "shut off" ] &&
		! in_host systemctl -q is-active "machine-vt\\x2de.scope"'
	out=$(vivctl start vt-e 2>&1)
	check "below the limit, vt-e starts ($out)" contains "$out" "Domain vt-e started"
	check "forked by the same server" same "$(auxv_of "$(helper_of vt-e)")" "$(auxv_of "$srv4")"
	out=$(vivctl destroy vt-e 2>&1)
	check "vt-e destroyed ($out)" contains "$out" "Domain vt-e destroyed"
else
	not_ok "the pids controller of vivariumd.service (no pids.max under /sys/fs/cgroup)"
fi

# Stopping the manager ends the server and no container.
in_host systemctl stop vivariumd.service
check "the manager stopped: no fork server is left" wait_until 30 no_server
check "every container runs on (adopted by the next manager)" \
	same "$(state_of vt-a) $(state_of vt-b) $(state_of vt-c) $(state_of vt-d)" "running running running running"
check "the new manager starts no fork server before a start" no_server

# Off: every helper exec'd.
in_host systemctl stop vivariumd.service
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0 VIVARIUM_HELPER_SERVER=0
out=$(vivctl destroy vt-a 2>&1)
check "vt-a destroyed ($out)" contains "$out" "Domain vt-a destroyed"
out=$(vivctl start vt-a 2>&1)
check "VIVARIUM_HELPER_SERVER=0: vt-a starts ($out)" contains "$out" "Domain vt-a started"
check "... with no fork server" no_server
ha3=$(helper_of vt-a)
check "its helper is the manager's child" same "$(ppid_of "$ha3")" "$(manager_pid)"
check "its helper was exec'd: an auxiliary vector of its own" differ "$(auxv_of "$ha3")" "$(auxv_of "$(helper_of vt-b)")"
check "its command line is the same" same "$(cmdline_of "$ha3")" "$helper --name vt-a --handshake 3 --model 4"

for c in vt-a vt-b vt-c vt-d; do
	out=$(vivctl destroy $c 2>&1)
	check "$c destroyed ($out)" contains "$out" "Domain $c destroyed"
done
check "no scope is left" wait_until 30 eval '[ -z "$(in_host systemctl list-units --no-legend "machine-vt-*")" ]'

echo "1..$n"
[ "$failures" -eq 0 ]
