#!/bin/bash
# A whole Debian (tools/mkroot's root) booted by systemd as init in the DEFAULT
# mode: its own user namespace (a picked range), no <capabilities>, nothing
# but the default set. The root is copied to a tmpfs in the test host
# (/srv, TESTHOST_TMPFS): the overlay cannot be idmapped. Checks: READY=1 on
# the notify socket (start returns booted), `running` with nothing failed, init
# runs as the range's first ID on the host, root inside is root of that range,
# machinectl shell, a clean reboot (vivctl reboot: reboot(2) in the
# container's own PID namespace, exit 129, running again) and a shutdown
# leaving nothing.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

if ! why=$(testhost_preflight); then
	testhost_skip_or_fail "$why"
fi
build=${VIVARIUM_BUILD_DIR:-}
if [ -z "$build" ] || [ ! -x "$build/src/helper/vivarium-helper" ] || [ ! -x "$build/src/manager/vivariumd" ]; then
	testhost_skip_or_fail "helper or vivariumd not built (VIVARIUM_BUILD_DIR='$build')"
fi
command -v mmdebstrap >/dev/null || testhost_skip_or_fail "mmdebstrap is missing (tools/deps.sh installs it)"

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl "$@"; }
inside() { in_host vivctl enter os -- "$@"; }
unit_gone() { [ "$(in_host systemctl is-active machine-os.scope 2>/dev/null)" != active ]; }

root=$("$here/../tools/mkroot" 2>"${TMPDIR:-/tmp}/vt-mkroot-u.$$.log")
if [ $? -ne 0 ] || [ ! -x "$root/lib/systemd/systemd" ]; then
	sed 's/^/#  /' "${TMPDIR:-/tmp}/vt-mkroot-u.$$.log" | tail -20
	rm -f "${TMPDIR:-/tmp}/vt-mkroot-u.$$.log"
	echo "not ok 1 - tools/mkroot built a root with systemd"
	echo "1..1"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/vt-mkroot-u.$$.log"

testhost_up "vt-fosu-$$" "$build" "${TMPDIR:-/tmp}/vt-fosu.$$.log"
check "the root is copied to a tmpfs in the test host" in_host cp -a "$root" /srv/deb

in_host sh -c 'cat >/root/os.xml' <<'XML'
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>os</name>
  <memory unit='MiB'>512</memory>
  <vivarium:notify timeout='240'/>
  <os><type>exe</type><init>/sbin/init</init></os>
  <devices>
    <filesystem type='mount'><source dir='/srv/deb'/><target dir='/'/></filesystem>
    <console type='pty'/>
  </devices>
</domain>
XML
out=$(vivctl define /root/os.xml 2>&1)
check "define os (no <idmap>, no <vivarium:userns>, no <capabilities>)" contains "$out" "Domain os defined"
out=$(vivctl start os 2>&1)
check "start os: returns once systemd said READY=1" contains "$out" "Domain os started"
if [ "$failures" -ne 0 ]; then
	in_host journalctl -o cat --no-pager _COMM=vivarium-helper | tail -20 | sed 's/^/#  /'
	echo "1..$n"
	exit 1
fi
booted() { local s; s=$(inside systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]; }
running() { [ "$(inside systemctl is-system-running 2>/dev/null)" = running ]; }
check "systemd in the container reaches 'running'" wait_for 1800 running
out=$(inside systemctl --failed --no-legend --no-pager 2>&1)
check "no failed unit" [ -z "$out" ]
[ -z "$out" ] || printf '#  %s\n' "$out"
base=$(vivctl dumpxml os 2>/dev/null | sed -n "s|.*<uid start='0' target='\([0-9]*\)' count='65536'/>.*|\1|p")
check "the live XML shows a picked range" test -n "$base"
leader=$(in_host machinectl show os -p Leader --value 2>/dev/null)
check "init runs as the range's first ID on the host" [ "$(in_host stat -c %u "/proc/${leader:-0}")" = "${base:-x}" ]
out=$(inside cat /proc/self/uid_map 2>&1)
check "root inside is root of the range" [ "$(echo $out)" = "0 ${base:-x} 65536" ]
out=$(in_host machinectl shell os /bin/sh -c 'echo shell-ok' 2>&1)
check "machinectl shell runs a command" contains "$out" "shell-ok"
out=$(in_host systemctl -M os is-system-running 2>&1)
check "systemctl -M os" [ "$out" = running ]

id=$(vivctl domid os 2>/dev/null)
out=$(vivctl reboot os 2>&1)
check "vivctl reboot os" contains "$out" "is being rebooted"
newid() { local i; i=$(vivctl domid os 2>/dev/null); [ -n "$i" ] && [ "$i" != - ] && [ "$i" != "$id" ]; }
check "it comes back with a new init (reboot(2) in its own PID namespace)" wait_for 1200 newid
check "... and boots again" wait_for 1800 booted
log=$(in_host journalctl -u vivariumd -o cat --no-pager 2>&1)
check "init ended by reboot(2): exit code 129" contains "$log" "Container 'os' stopped: shutdown, exit code 129."

out=$(vivctl shutdown os 2>&1)
check "vivctl shutdown os" contains "$out" "is being shutdown"
shut_off() { vivctl domstate os 2>/dev/null | grep -q 'shut off'; }
check "it shuts off" wait_for 1200 shut_off
check "no scope left" wait_for 300 unit_gone
check "no machine left" not contains "$(in_host machinectl list --no-legend 2>&1)" "os"
vivctl undefine os >/dev/null 2>&1

testhost_teardown
echo "1..$n"
[ "$failures" -eq 0 ]
