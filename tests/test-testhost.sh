#!/bin/bash
# The test host harness's own test (tests/testhost/testhost.sh): boots a test
# host, checks that its systemd is running, that its system bus and machined
# answer, that a transient scope gets its MemoryMax= in the cgroup files, that
# testhost_run and testhost_install behave, then tears the host down and checks
# that nothing of it is left: no process of its PID namespace, no cgroup, no
# mount, no state directory.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source-path=SCRIPTDIR source=testhost/testhost.sh
. "$here/testhost/testhost.sh"

if ! why=$(testhost_preflight); then
	testhost_skip_or_fail "$why"
fi

failures=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $*"; }
check() { # DESCRIPTION CMD...: ok if CMD succeeds
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# testhost_require_tools, in subshells (it exits): the skip, the failure under
# VIVARIUM_TESTS_MUST_RUN=1, the package named where known, sbin looked in
needs() { # MUST_RUN PATH TOOL...: the exit status and stderr of the call
	local out rc
	out=$(VIVARIUM_TESTS_MUST_RUN=$1 PATH=$2 testhost_require_tools "${@:3}" 2>&1) && rc=0 || rc=$?
	echo "$rc $out"
}
out=$(needs 0 /nonexistent qemu-nbd)
check "testhost_require_tools: a missing tool skips, naming its package ($out)" \
	[ "$out" = "77 SKIP: needs qemu-nbd (qemu-utils; tools/deps.sh installs it)" ]
out=$(needs 1 /nonexistent qemu-nbd)
check "testhost_require_tools: ... fails under VIVARIUM_TESTS_MUST_RUN=1 ($out)" \
	[ "$out" = "1 FAIL: cannot run, and VIVARIUM_TESTS_MUST_RUN=1: needs qemu-nbd (qemu-utils; tools/deps.sh installs it)" ]
out=$(needs 0 "$PATH" sh vt-no-such-tool)
check "testhost_require_tools: an unlisted tool, after one found ($out)" \
	[ "$out" = "77 SKIP: needs vt-no-such-tool (tools/deps.sh installs it)" ]
out=$(needs 1 /usr/bin:/bin sh pivot_root)
check "testhost_require_tools: found in PATH or /usr/sbin, /sbin ($out)" [ "$out" = "0 " ]

name=vt-$$-selftest
work=$(mktemp -d /tmp/vt-testhost.XXXXXX)
marker=$(mktemp /tmp/vt-testhost-marker.XXXXXX)
# Chains with the harness's trap: this one runs first, the teardown after.
trap 'rm -rf "$work" "$marker"' EXIT

# A marker in the machine's /tmp: the host's boot (tmpfiles) must not touch it.
echo marker >"$marker"
# A directory the host sees through a bind: the install check builds there
# after the boot.
export TESTHOST_BIND="$work"
# Set for the host's units and testhost_run's commands.
export TESTHOST_ENV="VT_TESTHOST_ENV=set-$$"

t0=$(date +%s%N)
if ! testhost_boot "$name"; then
	not_ok "boot $name"
	echo "1..$n"
	exit 1
fi
boot_ms=$(ms_since "$t0")
ok "boot $name in $boot_ms ms, PID 1 is ${TESTHOST_PID:?}"
pidns=$(readlink "/proc/$TESTHOST_PID/ns/pid")
dir=$TESTHOST_DIR

# --- systemd and the bus
state=$(testhost_run systemctl is-system-running)
if [ "$state" = running ]; then
	ok "systemctl is-system-running: running"
else
	not_ok "systemctl is-system-running: $state (want running); failed units:"
	testhost_run systemctl --no-legend --failed
fi
check "PID 1 inside is systemd" [ "$(testhost_run cat /proc/1/comm)" = systemd ]
check "hostname inside is $name" [ "$(testhost_run cat /proc/sys/kernel/hostname)" = "$name" ]
check "dbus.socket is active" testhost_run systemctl -q is-active dbus.socket
check "/proc/sys/net is writable inside (the host's own network namespace)" \
	testhost_run sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
check "/proc/sys/kernel is read-only inside" \
	testhost_run sh -c '! (echo 1 >/proc/sys/kernel/sysrq) 2>/dev/null'
if testhost_run busctl --system list --no-legend | grep -q '^org\.freedesktop\.systemd1 '; then
	ok "busctl --system list has org.freedesktop.systemd1"
else
	not_ok "busctl --system list has org.freedesktop.systemd1"
fi
if out=$(testhost_run busctl --system call org.freedesktop.machine1 /org/freedesktop/machine1 \
	org.freedesktop.machine1.Manager ListMachines 2>&1) && [[ $out == *'".host"'* ]]; then
	ok "machined is activated and lists .host: $out"
else
	not_ok "machined ListMachines: $out"
fi

# --- a transient scope with MemoryMax=64M
# (in a detached subshell: no job notice when the teardown kills it)
(testhost_run systemd-run --quiet --scope --unit=vt-selftest-mem.scope -p MemoryMax=64M sleep 1000 </dev/null >/dev/null 2>&1 &)
for ((i = 0; i < 100; i++)); do
	testhost_run systemctl -q is-active vt-selftest-mem.scope 2>/dev/null && break
	sleep 0.05
done
mm=$(testhost_run systemctl show -P MemoryMax vt-selftest-mem.scope)
check "systemctl show -P MemoryMax says 67108864 ($mm)" [ "$mm" = 67108864 ]
cgpath=$(testhost_run systemctl show -P ControlGroup vt-selftest-mem.scope)
memfile=
while read -r mp fstype opts; do
	if [ "$fstype" = cgroup ] && [[ ,$opts, == *,memory,* ]]; then
		memfile=$mp/$name$cgpath/memory.limit_in_bytes
		break
	fi
	if [ "$fstype" = cgroup2 ] && grep -qw memory "$mp/$name/cgroup.controllers" 2>/dev/null; then
		memfile=$mp/$name$cgpath/memory.max
	fi
done <"$dir/cgroups"
if [ -z "$memfile" ]; then
	echo "# SKIP: this machine has no memory controller; the cgroup file is not checked"
else
	v=$(cat "$memfile" 2>/dev/null)
	check "$memfile is 67108864 ($v)" [ "$v" = 67108864 ]
	procs=$(cat "${memfile%/*}/cgroup.procs" 2>/dev/null)
	check "the scope's cgroup holds the sleep (pids: ${procs//$'\n'/ })" [ -n "$procs" ]
fi

# --- testhost_run
testhost_run sh -c 'exit 7'
check "testhost_run returns the exit status" [ $? = 7 ]
check "testhost_run passes stdin and stdout" [ "$(echo piped | testhost_run cat)" = piped ]
check "testhost_run runs in /" [ "$(testhost_run pwd)" = / ]
check "testhost_run does not leak the caller's environment" \
	[ -z "$(DBUS_SESSION_BUS_ADDRESS=unix:path=/nowhere VIVARIUM_LEAK=1 testhost_run env | grep -E '^(DBUS_SESSION_BUS_ADDRESS|VIVARIUM_LEAK)=')" ]
check "testhost_run sets TESTHOST_ENV's variables" \
	[ "$(testhost_run printenv VT_TESTHOST_ENV)" = "set-$$" ]
check "the host's units get TESTHOST_ENV's variables" \
	testhost_run sh -c "systemctl show-environment | grep -qx VT_TESTHOST_ENV=set-$$"
check "testhost_boot refuses a TESTHOST_ENV word that is not VAR=VALUE" \
	eval '! (TESTHOST_ENV="VT_OK=1 not-an-assignment" testhost_boot vt-$$-badenv 2>/dev/null)'
check "testhost_run's cgroup is inside the host's tree" \
	[ "$(testhost_run sh -c 'grep "^0::" /proc/self/cgroup')" = "0::/testhost-run" ]
check "the host has its own network (lo only)" [ "$(testhost_run ls /sys/class/net)" = lo ]
check "the host does not see the machine's /tmp" testhost_run test ! -e "$marker"
check "the machine's /tmp is intact" [ -f "$marker" ]
check "the repository is visible inside" testhost_run test -f "$here/testhost/testhost.sh"
testhost_run sh -c 'echo x > /etc/vt-selftest-written' 2>/dev/null
check "writes inside stay inside" [ ! -e /etc/vt-selftest-written ]
if testhost_run sh -c "echo x > '$here/vt-selftest-written'" 2>/dev/null; then
	not_ok "the repository is read-only inside"
	rm -f "$here/vt-selftest-written"
else
	ok "the repository is read-only inside"
fi

# --- testhost_install, with build dirs made after the boot
if command -v meson >/dev/null && command -v ninja >/dev/null; then
	mkdir -p "$work/empty" "$work/one"
	echo "project('vt-empty', version: '0')" >"$work/empty/meson.build"
	cat >"$work/one/meson.build" <<-'EOF'
		project('vt-one', version: '0')
		install_data('hello.txt', install_dir: get_option('datadir') / 'vt-testhost-selftest')
	EOF
	echo hello >"$work/one/hello.txt"
	for p in empty one; do
		meson setup --prefix=/usr "$work/$p/build" "$work/$p" >"$work/$p.setup.log" 2>&1 ||
			cat "$work/$p.setup.log"
	done
	check "testhost_install of an empty project" testhost_install "$work/empty/build"
	check "testhost_install of a one-file project" testhost_install "$work/one/build"
	check "the file is installed inside" \
		[ "$(testhost_run cat /usr/share/vt-testhost-selftest/hello.txt)" = hello ]
	check "and not on the machine" [ ! -e /usr/share/vt-testhost-selftest ]
	check "the build dir's meson-logs stayed the machine's own" [ ! -e "$work/one/build/meson-logs/install-log.txt" ]
else
	echo "# SKIP: meson or ninja missing; testhost_install is not checked"
fi

# --- teardown
t0=$(date +%s%N)
testhost_teardown
check "testhost_teardown returns 0" [ $? = 0 ]
teardown_ms=$(ms_since "$t0")
ok "teardown in $teardown_ms ms"
check "testhost_teardown again is a no-op" testhost_teardown "$name"
check "TESTHOST_PID and TESTHOST_NAME are cleared" [ -z "$TESTHOST_PID$TESTHOST_NAME" ]
wait 2>/dev/null

leftover=
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$pidns" ] && leftover="$leftover ${p#/proc/}"
done
check "no process leftover in the host's PID namespace${leftover:+:$leftover}" [ -z "$leftover" ]
leftover=$(find /sys/fs/cgroup -maxdepth 2 -name "$name" 2>/dev/null | tr '\n' ' ')
check "no cgroup $name leftover in any hierarchy${leftover:+: $leftover}" [ -z "$leftover" ]
leftover=$(findmnt -rn -o TARGET | grep -F "testhost-$name" | tr '\n' ' ')
check "no mount of the host leftover in this namespace${leftover:+: $leftover}" [ -z "$leftover" ]
leftover=$(grep -lF "testhost-$name" /proc/[0-9]*/mountinfo 2>/dev/null | tr '\n' ' ')
check "no process holds the host's mounts${leftover:+: $leftover}" [ -z "$leftover" ]
check "no state directory $dir leftover" [ ! -e "$dir" ]

# --- a teardown cut short: its shell SIGKILLed in the middle, as meson's
# timeout does; the host's watchdog finishes it. TESTHOST__TEARDOWN_STALL (for
# this test alone) stops the teardown once the host's PID 1 is gone and before
# its cgroups and state directory are: the kill lands there, every time.
cut=vt-$$-cut
stall=$work/stall
(testhost_boot "$cut" >/dev/null 2>&1 && TESTHOST__TEARDOWN_STALL=$stall testhost_teardown "$cut") &
sub=$!
cut_gone() {
	[ ! -e "$TESTHOST__RUNDIR/testhost-$cut" ] &&
		[ -z "$(find /sys/fs/cgroup -maxdepth 2 -name "$cut" 2>/dev/null)" ]
}
wait_secs() { # SECONDS CMD...
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}
if wait_secs 180 test -e "$stall"; then
	kill -9 "$sub" 2>/dev/null
	check "a teardown cut short is finished by the watchdog: no state directory, no cgroup left" wait_secs 30 cut_gone
else
	kill -9 "$sub" 2>/dev/null
	not_ok "the teardown to cut short reached its stop (a boot of $cut failed?)"
fi
wait "$sub" 2>/dev/null
# whatever happened above, nothing of it stays
cut_gone || testhost_teardown "$cut" >/dev/null 2>&1

echo "# boot $boot_ms ms, teardown $teardown_ms ms"
echo "1..$n"
[ $failures = 0 ] || {
	echo "# $failures failed"
	exit 1
}
exit 0
