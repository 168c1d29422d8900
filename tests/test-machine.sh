#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# machined's registration by the manager (issue 14, src/manager/machine.c):
# vivariumd sends RegisterMachine on its own bus connection when the helper
# says INIT <pid>, answers the start only once machined has the machine, and
# sends UnregisterMachine when the helper has ended, before the stop is
# answered; no helper connects to the system bus for it. Checked with
# dbus-monitor (who sends the calls) and machinectl: after create, Leader is
# init; after destroy, reboot, a manager restart and a killed helper, the
# machine is gone or back with the new init; a failed start leaves none; a
# start that activates machined and whose init exits at once succeeds.
# No time is asserted. Exit: 0 pass, 1 fail, 77 skipped (1 instead when
# VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd
testhost_require_tools dbus-monitor machinectl

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/bus-monitor.sh
. "$here/lib/bus-monitor.sh"

work=$(mktemp -d /tmp/vt-machine.XXXXXX)
trap 'rm -rf "$work"' EXIT
testhost_up "vt-$$-machine" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl "$@"; }
leader_pid() { # the manager's LeaderPID of container mr
	in_host busctl get-property org.vivarium1 /org/vivarium1/container/mr org.vivarium1.Container LeaderPID |
		awk '{ print $2 }'
}
machined_leader() { in_host machinectl show mr -p Leader --value 2>/dev/null; }
no_machine() { [ -z "$(in_host machinectl list --no-pager --no-legend 2>/dev/null)" ]; }
manager_unique() { in_host busctl status org.vivarium1 2>/dev/null | sed -n 's/^UniqueName=//p'; }

in_host sh -c 'cat > /tmp/mr.xml' <<'XML'
<domain type='lxc'>
  <name>mr</name>
  <memory>65536</memory>
  <os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>
  <devices><console type='pty'/></devices>
</domain>
XML
in_host sh -c "sed -e 's/>mr</>mr-noinit</' -e 's|/bin/sleep|/nonexistent/init|' /tmp/mr.xml > /tmp/noinit.xml"

# machined not running yet (D-Bus activated): the registration waits for it,
# and an UnregisterMachine sent meanwhile (init exits at once) waits behind it
in_host sh -c "sed -e 's/>mr</>mr-true</' -e 's|<init>/bin/sleep</init><initarg>100000</initarg>|<init>/bin/true</init>|' /tmp/mr.xml > /tmp/true.xml"
in_host systemctl stop systemd-machined.service
check "machined is not running" not in_host systemctl -q is-active systemd-machined.service
check "create --wait of an init that exits at once, machined activated by the start" quiet vivctl create --wait /tmp/true.xml
check "... leaves no machine" no_machine

# every call to machined, logged between two marker calls that are waited for
monitor_start /run/mr-mon.log "type=method_call,interface=org.freedesktop.machine1.Manager"
mark_seen() {
	monitor_mark /run/mr-mon.log "$1" org.freedesktop.machine1 /org/freedesktop/machine1 \
		org.freedesktop.machine1.Manager GetMachine
}
check "dbus-monitor sees the calls to machined" wait_until 60 mark_seen mr-mark-0

check "vivctl define + start mr" quiet in_host sh -c 'vivctl define /tmp/mr.xml && vivctl start mr'
leader=$(leader_pid)
check "machined has mr as soon as start returns, its leader is init ($leader)" same "$(machined_leader)" "$leader"
check "... class container, service vivarium" contains "$(in_host machinectl list --no-pager --no-legend)" \
	"mr container vivarium"
check "... in the container's scope" same "$(in_host machinectl show mr -p Unit --value)" machine-mr.scope
check "vivctl destroy mr" quiet vivctl destroy mr
check "no machine once destroy has returned" no_machine

check "a start whose init cannot be executed fails" not quiet vivctl create /tmp/noinit.xml
check "... and leaves no machine" no_machine

check "mr starts again" quiet vivctl start mr
first=$(leader_pid)
check "vivctl reboot mr" quiet vivctl reboot mr
rebooted() { l=$(leader_pid); [ -n "$l" ] && [ "$l" != 0 ] && [ "$l" != "$first" ] && [ "$(machined_leader)" = "$l" ]; }
check "after the reboot machined has mr with the new init" wait_until 60 rebooted
check "... and it runs" same "$(vivctl domstate mr)" running

check "the marker after them is seen" wait_until 60 mark_seen mr-mark-1
monitor_stop /run/mr-mon.log
log=$(in_host cat /run/mr-mon.log)
mgr=$(manager_unique)
senders() { # MEMBER: the senders of its calls, one a line
	awk -v m="member=$1" '$0 ~ m { for (i = 1; i <= NF; i++) if ($i ~ /^sender=/) print substr($i, 8) }' <<<"$log" | sort -u
}
check "RegisterMachine was called (start, the failed start, reboot)" test "$(grep -c 'member=RegisterMachine' <<<"$log")" -ge 2
check "... only by vivariumd ($mgr)" same "$(senders RegisterMachine)" "$mgr"
check "UnregisterMachine was called (destroy, the failed start, reboot)" test "$(grep -c 'member=UnregisterMachine' <<<"$log")" -ge 2
check "... only by vivariumd" same "$(senders UnregisterMachine)" "$mgr"

# adopted by a new manager: its end is unregistered by that one
in_host systemctl restart vivariumd
adopted() { [ "$(vivctl domstate mr 2>/dev/null)" = running ]; }
check "a restarted manager adopts mr" wait_until 120 adopted
check "vivctl destroy mr after the restart" quiet vivctl destroy mr
check "no machine once destroy has returned" no_machine

# a helper killed: the machine goes with it
check "mr starts again" quiet vivctl start mr
helper=$(in_host busctl get-property org.vivarium1 /org/vivarium1/container/mr org.vivarium1.Container Id |
	awk '{ print $2 }')
check "machined has it" same "$(machined_leader)" "$(leader_pid)"
in_host kill -KILL "$helper"
stopped() { [ "$(vivctl domstate mr 2>/dev/null)" = "shut off" ]; }
check "the helper killed: mr stops" wait_until 120 stopped
check "... and machined no longer has it" wait_until 60 no_machine
check "mr starts once more" quiet vivctl start mr
check "... registered again" same "$(machined_leader)" "$(leader_pid)"
check "vivctl destroy mr" quiet vivctl destroy mr
check "no machine left" no_machine

# the manager stopped and the container ended meanwhile: no manager told
# machined, which still lists it (an empty scope stays active on cgroup v1);
# the next manager finds the helper gone and unregisters it
check "mr starts for the manager's absence" quiet vivctl start mr
helper=$(in_host busctl get-property org.vivarium1 /org/vivarium1/container/mr org.vivarium1.Container Id |
	awk '{ print $2 }')
init=$(leader_pid)
check "machined has it ($init)" same "$(machined_leader)" "$init"
in_host systemctl stop vivariumd
check "the manager is stopped" not in_host systemctl -q is-active vivariumd
in_host kill -KILL "${init:-0}"
helper_gone() { ! in_host kill -0 "${helper:-0}"; }
check "init killed meanwhile: its helper ends ($helper)" wait_until 120 helper_gone
monitor_start /run/mr-mon2.log "type=method_call,interface=org.freedesktop.machine1.Manager"
mark2_seen() {
	monitor_mark /run/mr-mon2.log "$1" org.freedesktop.machine1 /org/freedesktop/machine1 \
		org.freedesktop.machine1.Manager GetMachine
}
check "dbus-monitor sees the calls to machined again" wait_until 60 mark2_seen mr-mark-2
check "a new manager finds mr shut off" wait_until 120 stopped
check "the marker after it is seen" wait_until 60 mark2_seen mr-mark-3
monitor_stop /run/mr-mon2.log
log=$(in_host cat /run/mr-mon2.log)
mgr=$(manager_unique)
check "... and it unregistered mr ($mgr)" same "$(senders UnregisterMachine)" "$mgr"
check "machined no longer has mr" wait_until 60 no_machine

quiet vivctl undefine mr
testhost_teardown
echo "1..$n"
[ "$failures" = 0 ]
