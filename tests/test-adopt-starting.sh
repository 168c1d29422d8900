#!/bin/bash
# A manager that starts while a start of the last one is unfinished (the last
# was killed between the live XML and its helper's READY) must not lose the
# container (DESIGN: "a crash of the manager loses no container"). The live
# XML is there, the helper's socket is not (it comes at READY): before the
# fix the new manager called the container ended and stopped its scope,
# killing the helper. Forced without timing: libvirt's "start begin" hook
# holds the manager after the scope's job and before GO; the helper, in its
# scope, is stopped (SIGSTOP); the manager is SIGKILLed (systemd restarts it,
# Restart=on-failure), either after it sent GO (the GO waits in the stopped
# helper's receive queue, as ss shows) or before.
#   after GO: the new manager waits for the helper, which builds the
#     container once it goes on: it runs, adopted (Id, live XML, machined),
#     and is destroyed with nothing left (scope, run files, veth);
#   before GO: the new manager waits for the helper too; the helper, let go,
#     reads EOF on its handshake and exits (nobody can send GO): a failed
#     start, its scope and files gone, the container shut off;
#   the helper killed while no manager ran: its run is cleaned up.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd helper vivctl

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"

work=$(mktemp -d /tmp/vt-adopt-starting.XXXXXX)
name=vt-$$-adoptst
stopped=
# a stopped helper gets SIGCONT, a held hook its go, whatever happens: the
# host's teardown must not wait on them
trap '[ -z "$stopped" ] || testhost_run kill -CONT $stopped 2>/dev/null
	testhost_run touch /run/vt-as/go-after /run/vt-as/go-before /run/vt-as/go-dead 2>/dev/null
	rm -rf "$work"' EXIT
testhost_up "$name" "$build" "$work/install.log"

testhost_run mkdir -p /run/vt-as-hooks /run/vt-as
testhost_run sh -c 'cat >/run/vt-as-hooks/lxc && chmod 755 /run/vt-as-hooks/lxc' <<'SH'
#!/bin/sh
# start begin of NAME: held until /run/vt-as/go-NAME exists
[ "$2 $3" = "start begin" ] || exit 0
touch "/run/vt-as/in-$1"
while [ ! -e "/run/vt-as/go-$1" ]; do sleep 0.1; done
SH
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0 VIVARIUM_HOOKS_DIR=/run/vt-as-hooks VIVARIUM_HOOK_TIMEOUT=600

vivctl() { testhost_run vivctl "$@"; }
journal() { testhost_run journalctl --no-pager -q -u vivariumd.service; }
main_pid() { testhost_run systemctl show -p MainPID --value vivariumd.service; }
alive() { testhost_run kill -0 "$1"; }
gone() { ! testhost_run kill -0 "$1" 2>/dev/null; }
scope_active() { testhost_run systemctl -q is-active "machine-$1.scope"; }
run_files() { testhost_run ls /run/vivarium/containers/ 2>/dev/null | grep "^$1\." | tr '\n' ' '; }
no_run_files() { [ -z "$(run_files "$1")" ]; }
link_exists() { testhost_run ip link show "$1" >/dev/null 2>&1; }
state() { vivctl domstate "$1" 2>/dev/null | head -1; }
listed_running() { vivctl list | grep -Eq "^ *[0-9]+ +$1 +running"; }
machined_has() { testhost_run busctl call org.freedesktop.machine1 /org/freedesktop/machine1 \
	org.freedesktop.machine1.Manager GetMachine s "$1"; }
file_in() { testhost_run test -e "$1"; }
# the scope's processes (the helper alone until it has its GO)
scope_procs() {
	local cg
	cg=$(testhost_run systemctl show -p ControlGroup --value "machine-$1.scope")
	[ -n "$cg" ] || return 1
	testhost_run cat "/sys/fs/cgroup/systemd$cg/cgroup.procs" 2>/dev/null ||
		testhost_run cat "/sys/fs/cgroup$cg/cgroup.procs"
}
# bytes waiting in the receive queues of PID's unix sockets
recvq() { testhost_run ss -xpn | awk -v p="pid=$1," 'index($0, p) { q += $3 } END { print q + 0 }'; }
go_queued() { [ "$(recvq "$1")" -gt 0 ]; }
waiting_for() { journal | grep -q "Container '$1' was starting when its manager ended: waiting for its helper $2 "; }
xml() { # NAME VETH
	cat <<XML
<domain type='lxc'>
  <name>$1</name>
  <memory>65536</memory>
  <os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>
  <devices>
    <console type='pty'/>
    <interface type='ethernet'><target dev='$2'/></interface>
  </devices>
</domain>
XML
}

# hold NAME: defines NAME, starts it in the background until its start hook
# holds the manager; sets $helper (stopped) and $mgr
hold() {
	helper=
	xml "$1" "vtas-$1" | testhost_run tee "/tmp/$1.xml" >/dev/null
	quiet vivctl define "/tmp/$1.xml"
	vivctl start "$1" >"$work/$1.start" 2>&1 &
	start_pid=$!
	check "$1: its start hook holds the manager" wait_for 1200 file_in "/run/vt-as/in-$1"
	mgr=$(main_pid)
	check "$1: the manager runs ($mgr)" test "${mgr:-0}" -gt 1
	helper=$(scope_procs "$1" | head -1)
	check "$1: the helper waits for GO in its scope ($helper)" test "${helper:-0}" -gt 1
	[ "${helper:-0}" -gt 1 ] && testhost_run kill -STOP "$helper" && stopped=$helper
}
# kill_manager: SIGKILL (systemd restarts it once its service's cgroup is
# empty: a hook still held keeps it there); new_manager: one answers
kill_manager() {
	[ "${mgr:-0}" -gt 1 ] && testhost_run kill -KILL "$mgr"
	check "the manager ($mgr) is killed" wait_for 600 gone "$mgr"
}
new_manager() {
	check "a new manager answers" wait_for 1200 eval '[ "$(main_pid)" != "$mgr" ] && quiet vivctl list'
	wait "$start_pid" # the killed manager's vivctl start
}

# --- after GO: the new manager completes the start ---
hold after
testhost_run touch /run/vt-as/go-after
check "after: GO waits in the stopped helper's receive queue" wait_for 1200 go_queued "$helper"
kill_manager
new_manager
check "after: the new manager waits for the helper" wait_for 1200 waiting_for after "$helper"
check "after: the helper still lives" alive "$helper"
check "after: its scope is active" scope_active after
check "after: not listed running before its helper is ready" not listed_running after
testhost_run kill -CONT "$helper" && stopped=
check "after: it runs once the helper goes on" wait_for 1200 listed_running after
check "after: its Id is the helper ($helper)" same "$(vivctl domid after 2>/dev/null)" "$helper"
check "after: the journal says the helper finished the start" \
	eval 'journal | grep -q "Container '"'after'"': its helper $helper finished the start its manager left"'
check "after: the live XML has the Id and the host-side veth" \
	eval 'testhost_run grep -q "id=.$helper." /run/vivarium/containers/after.xml &&
		testhost_run grep -q "vtas-after" /run/vivarium/containers/after.xml'
check "after: its veth exists" link_exists vtas-after
check "after: machined has the machine" wait_for 600 machined_has after
leader=$(testhost_run busctl get-property org.vivarium1 /org/vivarium1/container/after org.vivarium1.Container \
	LeaderPID 2>/dev/null | awk '{ print $2 }')
check "after: the manager knows its init (LeaderPID $leader)" eval '[ "${leader:-0}" -gt 0 ] && alive "$leader"'
check "after: destroyed on request" quiet vivctl destroy after
check "after: its scope is gone" wait_for 600 not scope_active after
check "after: no run file is left" wait_for 300 no_run_files after
check "after: no veth is left" not link_exists vtas-after
check "after: its init has ended" wait_for 300 gone "$leader"

# --- before GO: the helper gives up, the new manager cleans up ---
hold before
kill_manager
testhost_run touch /run/vt-as/go-before # the dead manager's hook ends
new_manager
check "before: the new manager waits for the helper" wait_for 1200 waiting_for before "$helper"
check "before: the helper still lives" alive "$helper"
check "before: its scope is active" scope_active before
testhost_run kill -CONT "$helper" && stopped=
check "before: the helper exits (EOF before GO)" wait_for 600 gone "$helper"
check "before: its scope is gone" wait_for 600 not scope_active before
check "before: no run file is left" wait_for 300 no_run_files before
check "before: no veth exists" not link_exists vtas-before
check "before: it is shut off" wait_for 300 eval '[ "$(state before)" = "shut off" ]'
check "before: the journal says its start failed" \
	eval 'journal | grep -q "Failed to start container '"'before'"'"'
check "before: it starts again" quiet vivctl start before
check "before: and is destroyed" quiet vivctl destroy before
check "before: no run file is left then" wait_for 300 no_run_files before

# --- the helper killed while no manager ran: its run is cleaned up ---
# (killed while the manager is held in the hook, which it never leaves: it
# cannot see the helper's end; its zombie is reaped once the manager is gone)
hold dead
[ "${helper:-0}" -gt 1 ] && testhost_run kill -KILL "$helper"
stopped=
kill_manager
check "dead: the helper is gone" wait_for 600 gone "$helper"
testhost_run touch /run/vt-as/go-dead
new_manager
check "dead: the journal says it no longer runs" \
	wait_for 600 eval 'journal | grep -q "Container '"'dead'"' is no longer running"'
check "dead: its scope is gone" wait_for 600 not scope_active dead
check "dead: no run file is left" wait_for 300 no_run_files dead
check "dead: it is shut off" eval '[ "$(state dead)" = "shut off" ]'

testhost_teardown
echo "1..$n"
[ "$failures" -eq 0 ]
