#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The attack suite: in a throwaway test host, containers run
# tests/security-probe.c (and, where the host's tools are visible, busctl) as
# their init, as an attacker would, and every attempt prints
#   probe NAME: WHAT -> RESULT (blocked|OPEN)
# The modes are data (mode_xml below): the busybox private root and the
# seed's shared-root "Hello World" in the default user namespace (neither
# <idmap> nor <vivarium:userns>), both again with the opt-out
# <vivarium:userns mode='off'/>, a private root with <idmap>, and the opt-ins
# of the opt-out mode. The suite fails when any attack succeeds (OPEN) in a mode, when a
# probe that must run in a mode did not, or when a check on the host side
# fails (another container's filter unchanged, vivctl enter refusing a
# filter with a wrong owner or mode, the scope's device policy).
#
#   test-security.sh           boot a test host, install $VIVARIUM_BUILD_DIR, run
#   test-security.sh --inner   the checks themselves (inside a host with vivctl)
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")

if [ "${1:-}" != "--inner" ]; then
	# shellcheck source=tests/testhost/testhost.sh
	. "$here/testhost/testhost.sh"
	if ! why=$(testhost_preflight); then
		testhost_skip_or_fail "$why"
	fi
	build=${VIVARIUM_BUILD_DIR:-}
	if [ -z "$build" ] || [ ! -x "$build/src/manager/vivariumd" ] || [ ! -x "$build/tests/security-probe" ]; then
		testhost_skip_or_fail "vivariumd or tests/security-probe is not built (VIVARIUM_BUILD_DIR='$build')"
	fi
	testhost_boot "vt-$$-sec" || exit 1
	testhost_install "$build" >/dev/null 2>&1 || {
		echo "not ok 1 - install the build into the test host"
		testhost_teardown
		exit 1
	}
	testhost_run /bin/bash "$self" --inner "$build/tests/security-probe"
	rc=$?
	if [ $rc != 0 ]; then
		echo "--- journal of vivarium in the test host"
		testhost_run journalctl --no-pager -b -o short-monotonic \
			_COMM=vivariumd + _COMM=vivarium-helper + _COMM=systemd 2>&1 | tail -n 60
	fi
	testhost_teardown
	exit $rc
fi

# --- inside the test host ---------------------------------------------------------

probe_bin=$2
# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/security.sh
. "$here/lib/security.sh"
listed() { names --all | grep -qx "$1"; }
not_listed() { ! listed "$1"; }

# the names vivctl list shows (running ones; --all: defined ones too)
names() { vivctl list "$@" 2>/dev/null | awk 'NR > 2 && NF { print $2 }'; }

work=$(mktemp -d /srv/vt-sec.XXXXXX)
cleanup() {
	for c in $(names); do
		vivctl destroy "$c" >/dev/null 2>&1
	done
	rm -rf "$work" "$nodes"
}
trap cleanup EXIT

nodes=
# The busybox root, as the seed builds it, with the applets the probes' shell uses.
root=$work/root
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for a in sh sleep cat echo true ls mount umount head; do
	ln -s busybox "$root/bin/$a"
done

# What the container sees at /probe: the attacker and its script; /probe/out
# is where it writes (anyone may: in a user namespace its root is not ours).
probe=$work/probe
security_probe_install "$probe_bin" "$probe" "$root"
cat >"$probe/run.sh" <<'SH'
# $1: this container's name. The probes in C, then the bus where the
# host's busctl is visible (a shared root).
out=/probe/out/$1
/probe/security-probe victim "$out.tmp"
if command -v busctl >/dev/null 2>&1; then
	evil="<domain type='lxc'><name>evil</name><memory>65536</memory><os><type>exe</type><init>/bin/true</init></os><features><capabilities policy='allow'/></features></domain>"
	bus() { # NAME WHAT BUSCTL-ARGS...
		name=$1 what=$2
		shift 2
		if r=$(busctl "$@" 2>&1); then v=OPEN; else v=blocked; fi
		echo "probe $name: $what -> $(echo "$r" | head -n 1) ($v)" >>"$out.tmp"
	}
	bus bus-system-socket "busctl --system call org.vivarium1 ListContainers" \
		--system call org.vivarium1 /org/vivarium1 org.vivarium1.Manager ListContainers
	hostbus=--address=unix:path=/hostbus/system_bus_socket
	if r=$(busctl $hostbus call org.vivarium1 /org/vivarium1 org.vivarium1.Manager ListContainers 2>&1); then
		echo "check hostbus-list: busctl (host bus bound in) ListContainers -> ok" >>"$out.tmp"
	else
		echo "check hostbus-list: busctl (host bus bound in) ListContainers -> failed: $r" >>"$out.tmp"
		# sd-bus says why (the authentication, the Hello, the socket).
		SYSTEMD_LOG_LEVEL=debug busctl $hostbus call org.vivarium1 /org/vivarium1 org.vivarium1.Manager ListContainers 2>&1 |
			tail -n 12 | sed 's/^/    debug: /' >>"$out.tmp"
		ls -ln /hostbus >>"$out.tmp" 2>&1
	fi
	bus bus-createxml "busctl (host bus bound in) CreateXML with <capabilities policy='allow'/>" \
		$hostbus call org.vivarium1 /org/vivarium1 org.vivarium1.Manager CreateXML st "$evil" 0
	bus bus-destroy "busctl (host bus bound in) Destroy victim" \
		$hostbus call org.vivarium1 /org/vivarium1 org.vivarium1.Manager Destroy s victim
fi
echo "all done" >>"$out.tmp"
cat "$out.tmp" >"$out"
SH

# Host nodes for the device policy: a loop device (block 7:0) and the
# loop control device (char 10:237), which the container reaches only because the
# test binds this directory in. Opened here first: the refusal inside must
# be the container's policy, not the node.
nodes=$(mktemp -d /dev/vt-sec-nodes.XXXXXX)   # the host's /dev: a tmpfs without nodev
mknod "$nodes/loop0" b 7 0 && mknod "$nodes/loop-control" c 10 237
check "the host nodes open outside a container" sh -c "exec 3<'$nodes/loop0' 4<'$nodes/loop-control'"

common_devices() {
	cat <<XML
<console type='pty'/>
<filesystem type='mount'><source dir='$probe'/><target dir='/probe'/></filesystem>
<filesystem type='mount'><source dir='$nodes'/><target dir='/hostnodes'/></filesystem>
<filesystem type='ram'><source usage='0'/><target dir='/ram'/></filesystem>
XML
}

# mode_xml MODE NAME: the definition of a probe container in MODE.
mode_xml() {
	local mode=$1 name=$2 extra= top=
	case $mode in
	private-default)
		# the default: a user namespace of its own (a picked range)
		extra="<filesystem type='mount'><source dir='$root'/><target dir='/'/></filesystem>" ;;
	private-off)
		# the opt-out: the host's root, walled by seccomp and the rest
		extra="<filesystem type='mount'><source dir='$root'/><target dir='/'/></filesystem>"
		top="<vivarium:userns mode='off'/>" ;;
	private-syscalls)
		# the opt-in for the denied system call groups, without a user
		# namespace: in one, the kernel itself refuses userfaultfd to a root
		# that is not the host's (vm.unprivileged_userfaultfd=0)
		extra="<filesystem type='mount'><source dir='$root'/><target dir='/'/></filesystem>"
		top="<vivarium:userns mode='off'/><vivarium:syscalls allow='io_uring userfaultfd'/>" ;;
	private-sysadmin)
		# the opt-in for mounting without a user namespace (the seccomp
		# mount denial is only there without one)
		extra="<filesystem type='mount'><source dir='$root'/><target dir='/'/></filesystem>"
		top="<vivarium:userns mode='off'/><features><capabilities policy='default'><sys_admin state='on'/></capabilities></features>" ;;
	shared-root|shared-root-off)
		# the seed's Hello World, plus the host's bus bound in on purpose:
		# the manager itself must refuse a container's root
		[ "$mode" = shared-root-off ] && top="<vivarium:userns mode='off'/>"
		extra="<filesystem type='mount'><source dir='/run/dbus'/><target dir='/hostbus'/></filesystem>" ;;
	private-idmap)
		extra="<filesystem type='mount'><source dir='$root'/><target dir='/'/></filesystem>" ;;
	esac
	cat <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  $top
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>/probe/run.sh</initarg>
    <initarg>$name</initarg>
  </os>
XML
	if [ "$mode" = private-idmap ]; then
		echo "  <idmap><uid start='0' target='100000' count='65536'/><gid start='0' target='100000' count='65536'/></idmap>"
	fi
	echo "  <devices>"
	common_devices
	echo "$extra"
	echo "  </devices>"
	echo "</domain>"
}

# the default bounding set (no private network here), less what this host's
# own bounding set lacks
capbnd_default=$(security_capbnd "$(awk '/^CapBnd:/ { print $2 }' /proc/1/status)")

# run_mode MODE [OPEN...]: a container of MODE runs the probes; every attack
# must be blocked but the OPEN ones, which must work (an opt-in of the XML).
# ANY among them: the other probes are not judged.
run_mode() {
	local mode=$1 name="probe-$1" xml out rc msg
	shift
	local expect_open=$*
	xml=$work/$name.xml
	out=$probe/out/$name
	mode_xml "$mode" "$name" >"$xml"
	echo "# --- mode $mode"
	msg=$(vivctl create "$xml" 2>&1)
	rc=$?
	if [ $rc != 0 ]; then
		if [ "$mode" = private-idmap ] && [[ $msg == *"Failed to set up /proc"* ]]; then
			# known on main: an <idmap> container does not start in a test
			# host yet (the user-namespace branch fixes it)
			echo "# KNOWN: mode $mode does not start here: $msg"
			return 0
		fi
		not_ok "$mode: the probe container starts: $msg"
		return
	fi
	for _ in $(seq 600); do
		[ -s "$out" ] && break
		sleep 0.1
	done
	if [ ! -s "$out" ]; then
		not_ok "$mode: the probes ran to the end"
		return
	fi
	security_judge "$mode" "$out" "$capbnd_default" $expect_open
	check "$mode: the probe script (probes and bus) ran to the end" grep -q '^all done$' "$out"
	if [ "$mode" = private-sysadmin ]; then
		# mounting allowed, so a devtmpfs shows the host's nodes: they must not open
		check "$mode: a devtmpfs' host node does not open" grep -q '^probe devtmpfs-node: .*(blocked)$' "$out"
	fi
	if [[ $mode = shared-root* ]]; then
		check "$mode: the host's bus answered a container's read-only call" grep -q '^check hostbus-list: .* -> ok$' "$out"
		check "$mode: the manager refused CreateXML from inside the container" \
			grep -q "^probe bus-createxml: .*not allowed from inside a container (blocked)$" "$out"
		check "$mode: the manager refused Destroy from inside the container" \
			grep -q "^probe bus-destroy: .*not allowed from inside a container (blocked)$" "$out"
		check "$mode: no container 'evil' was made" not_listed evil
	fi
	for _ in $(seq 300); do
		names --all | grep -qx "$name" || break
		sleep 0.1
	done
}

# The victim: another container whose files the probes go after.
cat >"$work/victim.xml" <<XML
<domain type='lxc'>
  <name>victim</name>
  <memory unit='MiB'>64</memory>
  <os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='$root'/><target dir='/'/></filesystem>
  </devices>
</domain>
XML
check "the victim starts" vivctl create "$work/victim.xml"
filter=/run/vivarium/containers/victim.seccomp
for _ in $(seq 100); do [ -s "$filter" ] && break; sleep 0.1; done
before=$(sha256sum <"$filter")

# The scope's device policy, as systemd holds it and (v1) the kernel enforces it.
check "the victim's scope has DevicePolicy=closed" \
	test "$(systemctl show -p DevicePolicy --value machine-victim.scope)" = closed
devlist=$(find /sys/fs/cgroup/devices -path '*machine-victim.scope/payload/devices.list' 2>/dev/null | head -n 1)
if [ -n "$devlist" ]; then
	check "the victim's payload/ devices cgroup does not allow every device" \
		sh -c "! grep -q '^a ' '$devlist' && grep -q '^c 1:3 rwm' '$devlist'"
fi

# the default (a user namespace) first: the suite fails if any attack works there
run_mode private-default
run_mode shared-root
run_mode private-off
run_mode shared-root-off
run_mode private-idmap
run_mode private-syscalls io-uring userfaultfd
run_mode private-sysadmin remount-proc-sys fresh-proc ANY

# The host's judge of cgroup escapes must see one: a PID namespace whose
# leader is in a scope, and a process of that namespace that is not (nsenter's
# child stays in this script's cgroup).
systemd-run --scope -q -u "vt-escape-$$" unshare --pid --fork --kill-child sleep 600 >/dev/null 2>&1 &
runner=$!
fake=
for _ in $(seq 300); do
	fake=$(cat /proc/$runner/task/$runner/children 2>/dev/null | tr -d ' ')
	[ -n "$fake" ] && grep -q "vt-escape-$$.scope" /proc/"$fake"/cgroup 2>/dev/null && break
	sleep 0.1
done
check "security_contained: a PID namespace wholly in its scope passes" security_contained "${fake:-0}"
nsenter -t "${fake:-0}" -p sleep 600 >/dev/null 2>&1 &
outside=$!
escaped() { grep -q . /proc/$outside/task/$outside/children 2>/dev/null; }
wait_for 300 escaped
check "security_contained: a process of it outside that scope is found" not security_contained "${fake:-0}"
# SIGKILL: its init gone, the kernel kills the rest of its PID namespace, and
# unshare and nsenter, which wait for their children, end (a TERM may be
# blocked in what this script inherited)
[ -z "$fake" ] || kill -9 "$fake" 2>/dev/null
kill -9 "$runner" 2>/dev/null
wait "$runner" "$outside" 2>/dev/null

check "the victim's seccomp filter is unchanged" test "$(sha256sum <"$filter")" = "$before"
check "the victim still runs" listed victim

# vivctl enter trusts the filter only when nobody but root can have written it.
check "vivctl enter runs with the helper's filter" vivctl enter victim -- /bin/true
# joining the container's user namespace gives a full bounding set there: the
# container's own one is applied after
out=$(vivctl enter victim -- cat /proc/self/status 2>&1)
check "vivctl enter: the command's CapBnd is the container's ($capbnd_default), in its user namespace" \
	grep -q "^CapBnd:	$capbnd_default\$" <<<"$out"
msg=$(vivctl enter victim -- /bin/mount -t proc proc /tmp 2>&1)
rc=$?
echo "#   $msg"
# busybox's words for EPERM
check "an entered command cannot mount either" eval '[ $rc != 0 ] && [[ $msg == *"permission denied"* ]]'
chmod 0666 "$filter"
msg=$(vivctl enter victim -- /bin/true 2>&1)
check "vivctl enter refuses a filter that others may write" \
	eval '[[ $msg == *"Refusing the seccomp filter of domain '"'"'victim'"'"'"* ]]'
chmod 0600 "$filter"
chown 65534 "$filter"
msg=$(vivctl enter victim -- /bin/true 2>&1)
check "vivctl enter refuses a filter not owned by root" \
	eval '[[ $msg == *"Refusing the seccomp filter of domain '"'"'victim'"'"'"* ]]'
chown 0 "$filter"
check "vivctl enter runs again with the filter restored" vivctl enter victim -- /bin/true

echo "1..$n"
[ $failures = 0 ]
