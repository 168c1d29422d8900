#!/bin/bash
# The container's own /proc view (issue 19), in a test host through vivariumd:
#  - without lxcfs a container starts with the kernel's /proc/meminfo and one
#    warning in the journal ("/proc/meminfo is not virtualised");
#  - with lxcfs running as a service in the test host, a container with
#    <memory unit='MiB'>100</memory> and <vcpu cpuset='0'> sees MemTotal
#    102400 kB (/proc/meminfo, procps' free), one CPU (nproc; /proc/cpuinfo
#    and /sys/devices/system/cpu/online where the scope has a cpuset: cgroup
#    v2), its own uptime, and lxcfs's files on meminfo, cpuinfo, stat, uptime,
#    loadavg, diskstats, swaps and cpu/online; the same without a user
#    namespace (shared root, mode='off') and with a picked one (private root
#    on a tmpfs); nothing of it stays in the host after the stop;
#  - several consoles: ports 1..N of <console> are /dev/tty2.. (port 0 is
#    /dev/console and /dev/tty1), owned by the container's root; what init
#    writes on /dev/tty2 shows on `vivctl console NAME --devname console1`
#    (D-Bus OpenConsoleDevice) and not on the first console, a line typed on
#    console2 reaches /dev/tty3; an unknown device name is refused.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

if ! why=$(testhost_preflight); then
	testhost_skip_or_fail "$why"
fi
build=${VIVARIUM_BUILD_DIR:-}
if [ -z "$build" ] || [ ! -x "$build/src/helper/vivarium-helper" ] || [ ! -x "$build/src/manager/vivariumd" ] ||
	[ ! -x "$build/src/ctl/vivctl" ]; then
	testhost_skip_or_fail "helper, vivariumd or vivctl not built (VIVARIUM_BUILD_DIR='$build')"
fi
command -v lxcfs >/dev/null || testhost_skip_or_fail "needs lxcfs (tools/deps.sh installs it)"
[ -c /dev/fuse ] || testhost_skip_or_fail "needs /dev/fuse (lxcfs is a FUSE filesystem)"
if ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
	testhost_skip_or_fail "no static /bin/busybox (busybox-static)"
fi

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
journal() { in_host journalctl --no-pager -o cat 2>&1; }
done_in() { in_host grep -qx done "$1"; }

work=$(mktemp -d /tmp/vt-procview.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-procview-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# What the container sees, one fact a line, then "done".
probe='{
echo "memtotal=$(sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo)"
echo "free=$(free 2>/dev/null | sed -n "s/^Mem: *\([0-9]*\).*/\1/p")"
echo "nproc=$(nproc)"
echo "cpuinfo=$(grep -c ^processor /proc/cpuinfo)"
echo "online=$(cat /sys/devices/system/cpu/online)"
echo "uptime=$(cut -d. -f1 /proc/uptime)"
for f in /proc/meminfo /proc/cpuinfo /proc/stat /proc/uptime /proc/loadavg /proc/diskstats /proc/swaps /sys/devices/system/cpu/online; do
	grep -q "^[0-9]* [0-9]* [0-9:]* [^ ]* $f .* - fuse\.lxcfs " /proc/self/mountinfo && echo "lxcfs:$f"
done
echo done
} >OUT 2>&1; exec sleep 600'

# domain NAME OUT EXTRA DEVICES: 100 MiB, CPU 0, the probe writing to OUT
domain() {
	local script
	script=$(printf '%s' "${probe//OUT/$2}" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')
	cat >"$work/$1.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <memory unit='MiB'>100</memory>
  <vcpu cpuset='0'>1</vcpu>
  $3
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>$script</initarg></os>
  <devices>
    <console type='pty'/>
    $4
  </devices>
</domain>
XML
}

# run NAME HOSTFILE WHAT: creates NAME, waits for its probe; $facts holds it
run() {
	in_host rm -f "$2"
	out=$(vivctl create "$work/$1.xml" 2>&1)
	check "$3: starts" contains "$out" "Domain $1 created"
	check "$3: its probe ran" wait_for 300 done_in "$2"
	facts=$(in_host cat "$2" 2>&1)
}
fact() { printf '%s\n' "$facts" | sed -n "s/^$1=//p"; }

host_memtotal=$(in_host sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
host_uptime=$(in_host cut -d. -f1 /proc/uptime)
unified=no
[ "$(in_host stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && unified=yes
# the private root of a picked range lives on a tmpfs: the test host's / is
# an overlayfs, which cannot be idmapped
in_host sh -c 'r=/tmp/pvroot; mkdir -p $r/bin $r/tmp /tmp/pvout
cp /bin/busybox $r/bin/
for a in sh cat cut grep sed nproc free sleep stat; do ln -sf busybox $r/bin/$a; done'
private="<filesystem type='mount'><source dir='/tmp/pvroot'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='/tmp/pvout'/><target dir='/out'/></filesystem>"

# ============================================================================
echo "# without lxcfs: the kernel's files and one warning"
check "lxcfs does not run in the test host yet" not in_host findmnt -n /var/lib/lxcfs
domain plain /tmp/plain.out "<vivarium:userns mode='off'/>" ""
run plain /tmp/plain.out "without lxcfs"
check "without lxcfs: MemTotal is the host's ($host_memtotal kB)" same "$(fact memtotal)" "$host_memtotal"
check "without lxcfs: nothing of lxcfs is mounted" lacks "$facts" "lxcfs:"
warnings=$(journal | grep -c "/proc/meminfo is not virtualised, container 'plain'")
check "without lxcfs: one warning, libvirt's words (got $warnings)" same "$warnings" 1
check "the warning says why" contains "$(journal)" "lxcfs is not running (no FUSE filesystem on /var/lib/lxcfs): /proc/meminfo is not virtualised"
vivctl destroy plain >/dev/null 2>&1

# ============================================================================
echo "# lxcfs as a service of the test host"
# lxcfs.service skips itself in a container (ConditionVirtualization=!container),
# which a test host is to systemd-detect-virt: the drop-in lifts that.
in_host sh -c 'mkdir -p /run/systemd/system/lxcfs.service.d &&
printf "[Unit]\nConditionVirtualization=\n" >/run/systemd/system/lxcfs.service.d/test.conf &&
systemctl daemon-reload && systemctl start lxcfs.service'
check "lxcfs.service runs in the test host" quiet in_host systemctl is-active lxcfs.service
lxcfs_up() { [ "$(in_host findmnt -n -o FSTYPE /var/lib/lxcfs)" = fuse.lxcfs ]; }
check "lxcfs serves /var/lib/lxcfs" wait_for 300 lxcfs_up

# check_view WHAT MEMFREE: the facts of a container with lxcfs
check_view() {
	check "$1: MemTotal is the container's 100 MiB" same "$(fact memtotal)" 102400
	[ "$2" = procps ] && check "$1: free shows 102400 kB" same "$(fact free)" 102400
	check "$1: nproc is 1" same "$(fact nproc)" 1
	if [ "$unified" = yes ]; then
		check "$1: /proc/cpuinfo lists one CPU" same "$(fact cpuinfo)" 1
		check "$1: /sys/devices/system/cpu/online is 0" same "$(fact online)" 0
	fi
	local up
	up=$(fact uptime)
	# the kernel's uptime, read later, could not be below the host's
	check "$1: /proc/uptime is the container's ($up s), below the host's ($host_uptime s)" \
		test "${up:-999999999}" -lt "$host_uptime"
	for f in /proc/meminfo /proc/cpuinfo /proc/stat /proc/uptime /proc/loadavg /proc/diskstats /proc/swaps /sys/devices/system/cpu/online; do
		check "$1: lxcfs's file on $f" contains "$facts" "lxcfs:$f"
	done
}

domain shared /tmp/shared.out "<vivarium:userns mode='off'/>" ""
run shared /tmp/shared.out "shared root, no user namespace"
check_view "shared root, no user namespace" procps
check "no warning for a container with the view" lacks "$(journal)" "container 'shared' sees the host's memory"
vivctl destroy shared >/dev/null 2>&1

domain picked /out/o "<vivarium:userns mode='pick'/>" "$private"
run picked /tmp/pvout/o "picked user namespace, private root"
check "picked: it runs in a user namespace" contains "$(vivctl dumpxml picked 2>&1)" "count='65536'"
check_view "picked user namespace, private root" busybox
vivctl destroy picked >/dev/null 2>&1

# only lxcfs's own mount stays in the host
mounts=$(in_host findmnt -rn -o TARGET,FSTYPE | grep lxcfs)
check "after the stops only /var/lib/lxcfs is lxcfs's in the host" same "$mounts" "/var/lib/lxcfs fuse.lxcfs"

# ============================================================================
echo "# several consoles: <console> ports 1..N are /dev/tty2.., console --devname"
# cons NAME OUT EXTRA DEVICES: three consoles; init writes on the second,
# reads a line from the third, and records /dev's owners (stat) in OUT
cons() {
	local script
	script=$(printf '%s' 'for t in console tty1 tty2 tty3; do echo "$t=$(stat -c %u:%t:%T /dev/$t)"; done >OUT.dev
(while :; do echo tick-on-tty2 >/dev/tty2; sleep 0.2; done) &
read line </dev/tty3; echo "got:$line" >OUT; exec sleep 600' |
		sed -e "s|OUT|$2|g" -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')
	cat >"$work/$1.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <memory unit='MiB'>100</memory>
  $3
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>$script</initarg></os>
  <devices>
    <console type='pty'><target type='lxc' port='0'/></console>
    <console type='pty'><target type='lxc' port='1'/></console>
    <console type='pty'><target type='lxc' port='2'/></console>
    $4
  </devices>
</domain>
XML
}
got_line() { in_host grep -qx "got:typed-into-console2" "$1"; }
check_consoles() { # NAME HOSTFILE WHAT
	in_host rm -f "$2" "$2.dev"
	out=$(vivctl create "$work/$1.xml" 2>&1)
	check "$3: starts with three consoles" contains "$out" "Domain $1 created"
	check "$3: /dev records" wait_for 300 in_host test -s "$2.dev"
	devs=$(in_host cat "$2.dev" 2>&1)
	# a pty slave is major 136 (0x88); the owner is the container's root (0 inside)
	check "$3: /dev/console and /dev/tty1 are the first console (pts/0)" same \
		"$(printf '%s\n' "$devs" | sed -n 's/^\(console\|tty1\)=//p')" "$(printf '0:88:0\n0:88:0')"
	check "$3: /dev/tty2 is the second console (pts/1), owned by the container's root" contains "$devs" "tty2=0:88:1"
	check "$3: /dev/tty3 is the third (pts/2)" contains "$devs" "tty3=0:88:2"
	out=$(echo | testhost_run timeout 60 vivctl -c lxc:/// console "$1" --devname console1 2>&1)
	check "$3: console --devname console1 shows what init writes on /dev/tty2" contains "$out" "tick-on-tty2"
	check "$3: ... after virsh's banner" contains "$out" "Connected to domain $1"
	out=$(echo | testhost_run timeout 60 vivctl -c lxc:/// console "$1" 2>&1)
	check "$3: the first console does not show it" lacks "$out" "tick-on-tty2"
	echo typed-into-console2 | testhost_run timeout 60 vivctl -c lxc:/// console "$1" --devname console2 >/dev/null 2>&1
	check "$3: a line typed on console2 reaches /dev/tty3 inside" wait_for 300 got_line "$2"
	out=$(vivctl console "$1" --devname console3 </dev/null 2>&1)
	check "$3: a fourth console does not exist: the error names it" contains "$out" "error: cannot find console device 'console3'"
	vivctl destroy "$1" >/dev/null 2>&1
}
cons cshared /tmp/cshared.out "<vivarium:userns mode='off'/>" ""
check_consoles cshared /tmp/cshared.out "consoles, no user namespace"
cons cpicked /out/c "<vivarium:userns mode='pick'/>" "$private"
check_consoles cpicked /tmp/pvout/c "consoles, picked user namespace"
vivctl define "$work/cshared.xml" >/dev/null 2>&1
out=$(testhost_run busctl call org.vivarium1 /org/vivarium1 org.vivarium1.Manager OpenConsoleDevice sst cshared console1 0 2>&1)
check "OpenConsoleDevice of a container that is not running: NotRunning" contains "$out" "not running"
vivctl undefine cshared >/dev/null 2>&1

echo "1..$n"
[ "$failures" -eq 0 ]
