#!/bin/bash
# A manager restart never destroys a living container (issue 14, "Scale"):
# boots a test host, runs containers and restarts vivariumd while
#   - one helper is stopped (SIGSTOP) for longer than the old 5 s Describe
#     timeout: its container stays running and adopted, with the same helper,
#     the same init and its scope (before the fix its scope was stopped);
#   - one helper was killed while no manager ran: its run is cleaned up
#     (no listing, no run file, no scope);
#   - one helper stopped at the restart is killed while the manager waits for
#     its Describe: it is seen gone and cleaned up too;
#   - a running container's helper answers: adopted as before.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"

work=$(mktemp -d /tmp/vt-adopt.XXXXXX)
name=vt-$$-adopt
# the stopped helpers get SIGCONT whatever happens: the host's teardown
# must not wait on a stopped process
cont_all() {
	local p
	for p in ${slow_id:-} ${late_id:-}; do
		testhost_run kill -CONT "$p" 2>/dev/null
	done
}
trap 'cont_all; rm -rf "$work"' EXIT
testhost_up "$name" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

vivctl() { testhost_run vivctl "$@"; }
journal() { testhost_run journalctl --no-pager -q -u vivariumd.service; }
run_files() { testhost_run ls /run/vivarium/containers/ 2>/dev/null | grep -v '^\.' | tr '\n' ' '; }
put() { testhost_run tee "$1" >/dev/null; } # PATH < CONTENT
alive() { testhost_run kill -0 "$1"; }
gone() { ! testhost_run kill -0 "$1" 2>/dev/null; }
scope_active() { testhost_run systemctl -q is-active "machine-$1.scope"; }
leader() { # NAME: LeaderPID as the manager reports it
	testhost_run busctl get-property org.vivarium1 "/org/vivarium1/container/$1" org.vivarium1.Container \
		LeaderPID | awk '{ print $2 }'
}
listed_running() { vivctl list | grep -Eq "^ *[0-9]+ +$1 +running"; }
listed() { vivctl list --all | grep -Eq " $1 "; }
sleeper_xml() { # NAME
	cat <<XML
<domain type='lxc'>
  <name>$1</name>
  <memory>102400</memory>
  <os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>
  <devices><console type='pty'/></devices>
</domain>
XML
}

for c in slow dead late fine; do
	sleeper_xml "$c" | put "/tmp/$c.xml"
	check "container '$c' starts" quiet vivctl create "/tmp/$c.xml"
done
slow_id=$(vivctl domid slow 2>/dev/null)
dead_id=$(vivctl domid dead 2>/dev/null)
late_id=$(vivctl domid late 2>/dev/null)
fine_id=$(vivctl domid fine 2>/dev/null)
wait_for 100 test "$(leader slow)" -gt 0
slow_init=$(leader slow)
check "the helpers and slow's init have PIDs ($slow_id $dead_id $late_id $fine_id, init $slow_init)" \
	test "${slow_id:-0}" -gt 0 -a "${dead_id:-0}" -gt 0 -a "${late_id:-0}" -gt 0 -a "${fine_id:-0}" -gt 0 \
	-a "${slow_init:-0}" -gt 0

testhost_run systemctl stop vivariumd.service
testhost_run kill -KILL "$dead_id"
check "dead's helper is gone before the manager starts again" wait_for 300 gone "$dead_id"
testhost_run kill -STOP "$slow_id" "$late_id"
since=$(testhost_run date '+%Y-%m-%d %H:%M:%S')
testhost_run systemctl start vivariumd.service
# The manager answers (before the fix only after it had given up on the
# stopped helpers); then the helpers stay stopped longer than the old 5 s
# timeout of Describe, whatever the load made of the manager's start.
check "the new manager answers calls while two helpers are stopped" wait_for 1200 quiet vivctl list
sleep 8
check "late's helper, stopped, is killed while the manager waits for it" quiet testhost_run kill -KILL "$late_id"
check "slow's helper, stopped while the manager started, still exists" alive "$slow_id"
testhost_run kill -CONT "$slow_id"
adopted() { journal_since | grep -q "Adopted running container 'slow'"; }
journal_since() { testhost_run journalctl --no-pager -q -u vivariumd.service --since "$since"; }
# (before the fix its scope was stopped: no need to wait for it then)
check "slow is adopted once its helper runs again" eval 'alive "$slow_id" && wait_for 1200 adopted'
check "fine is adopted" wait_for 600 eval 'journal_since | grep -q "Adopted running container '"'fine'"'"'
jr=$(journal_since)
check "the journal does not call slow dead" lacks "$jr" "Container 'slow' is no longer running"
check "slow is listed running" listed_running slow
check "slow keeps its helper (Id $slow_id)" same "$(vivctl domid slow 2>/dev/null)" "$slow_id"
check "slow's init ($slow_init) still runs" alive "$slow_init"
check "the manager knows slow's init again (LeaderPID)" same "$(leader slow)" "$slow_init"
check "slow's scope is active" scope_active slow
check "fine is listed running with the same Id" same "$(vivctl domid fine 2>/dev/null)" "$fine_id"

check "the journal says dead is no longer running" contains "$jr" "Container 'dead' is no longer running"
check "dead is not listed" not listed dead
check "dead's scope is gone" wait_for 300 not scope_active dead
check "late, killed while waited for, is gone from the list" wait_for 300 not listed late
check "late's scope is gone" wait_for 300 not scope_active late
files=$(run_files)
check "no run file of dead is left ($files)" lacks "$files" "dead."
check "no run file of late is left ($files)" lacks "$files" "late."

check "slow is destroyed on request" quiet vivctl destroy slow
check "slow's init has ended" wait_for 300 gone "$slow_init"
quiet vivctl destroy fine
check "nothing is left in the run directory" wait_for 100 eval '[ -z "$(run_files)" ]'

echo "1..$n"
[ "$failures" -eq 0 ]
