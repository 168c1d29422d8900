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
#    console2 reaches /dev/tty3; an unknown device name is refused;
#  - shutdown/reboot --mode initctl (sysvinit's request on the container's
#    /run/initctl: runlevel 0, 6, and the reboot starts it again), --mode
#    signal (SIGTERM), initctl,signal (the signal when there is no pipe),
#    libvirt's error without a pipe, acpi refused, an unknown mode; refused
#    on a shared root, whose /run/initctl is the host's;
#  - start --pass-fds: two listening sockets of the caller are init's fds 3
#    and 4 with LISTEN_FDS=2 and LISTEN_PID=1, nothing else leaks, the helper
#    keeps no copy; virsh's errors for a malformed or closed fd.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl busybox
testhost_require_tools lxcfs
[ -c /dev/fuse ] || testhost_skip_or_fail "needs /dev/fuse (lxcfs is a FUSE filesystem)"

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
	script=$(xml_escape "${probe//OUT/$2}")
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
# a hybrid or legacy host's v1 cpuset hierarchy, where Vivarium puts init in
# a cpuset cgroup of its own for <vcpu cpuset> (systemd places no scope there)
cpuset_v1=
[ "$unified" = no ] && cpuset_v1=$(in_host findmnt -rn -t cgroup -O cpuset -o TARGET | head -1)
cpuset_dir() { echo "$cpuset_v1/machine.slice/machine-$1.scope"; }
# the private root of a picked range lives on a tmpfs: the test host's / is
# an overlayfs, which cannot be idmapped
in_host "$here/lib/busybox-root.sh" /tmp/pvroot sh cat cut grep sed nproc free sleep stat
in_host mkdir -p /tmp/pvout
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
	if [ "$unified" = yes ] || [ -n "$cpuset_v1" ]; then
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
if [ -n "$cpuset_v1" ]; then
	leader=$(in_host machinectl show shared -p Leader --value 2>/dev/null)
	check "hybrid host: init is in the cpuset cgroup machine.slice/machine-shared.scope" \
		same "$(in_host sed -n 's/^[0-9]*:cpuset:\(.*\)/\1/p' /proc/$leader/cgroup 2>&1)" /machine.slice/machine-shared.scope
	check "hybrid host: its cpuset.cpus is CPU 0" same "$(in_host cat "$(cpuset_dir shared)/cpuset.cpus" 2>&1)" 0
fi
vivctl destroy shared >/dev/null 2>&1
if [ -n "$cpuset_v1" ]; then
	no_cpuset_dir() { ! in_host test -e "$(cpuset_dir "$1")"; }
	check "hybrid host: the cpuset cgroup is removed after destroy" wait_until 60 no_cpuset_dir shared
	# a killed helper: the manager removes what the helper could not
	run shared /tmp/shared.out "shared root again, its helper killed"
	helper=$(vivctl domid shared 2>/dev/null)
	check "hybrid host: the cpuset cgroup exists while it runs" not no_cpuset_dir shared
	[ -n "$helper" ] && in_host kill -9 "$helper"
	shut_off() { [ "$(vivctl domstate shared 2>&1)" != running ]; }
	check "hybrid host: the container ends with its killed helper" wait_until 120 shut_off
	check "hybrid host: the cpuset cgroup is removed after the helper was killed" wait_until 60 no_cpuset_dir shared
fi

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
	# OUT.dev in one write: the test reads it as soon as it is not empty
	script='d=$(for t in console tty1 tty2 tty3; do echo "$t=$(stat -c %u:%t:%T /dev/$t)"; done); echo "$d" >OUT.dev
(while :; do echo tick-on-tty2 >/dev/tty2; sleep 0.2; done) &
read line </dev/tty3; echo "got:$line" >OUT; exec sleep 600'
	script=$(xml_escape "${script//OUT/$2}")
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

# ============================================================================
echo "# shutdown and reboot --mode initctl|signal"
in_host "$here/lib/busybox-root.sh" /tmp/pvroot mkdir mkfifo rm mv dd
in_host mkdir -p /tmp/pvroot/run
# Init: counts its boots; with /out/pipe present it serves a sysvinit-style
# /run/initctl and ends after one request (kept in /out/req); else it waits,
# and ends on SIGTERM (an init gets only the signals it handles). It removes
# /out/pipe, so that after a reboot it runs without one.
initctl_init='echo boot >>/out/boots
trap "echo term >>/out/sig; exit 0" TERM
if [ -e /out/pipe ]; then
	rm -f /run/initctl; mkfifo /run/initctl; exec 3<>/run/initctl
	dd bs=384 count=1 <&3 >/out/req.new 2>/dev/null; mv /out/req.new /out/req
	rm -f /out/pipe
	exit 0
fi
while :; do sleep 1 & wait $!; done'
initctl_xml() { # NAME USERNS
	local script
	script=$(xml_escape "$initctl_init")
	cat >"$work/$1.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <memory unit='MiB'>100</memory>
  $2
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>$script</initarg></os>
  <devices>
    <console type='pty'/>
    $private
  </devices>
</domain>
XML
}
boots() { in_host sh -c 'wc -l </tmp/pvout/boots' 2>/dev/null; }
boots_are() { [ "$(boots)" = "$1" ]; }
is_state() { [ "$(vivctl domstate "$1" 2>&1)" = "$2" ]; }
# the first 12 bytes of the request: magic 0x03091969, command 1 (runlevel), the runlevel
req_head() { in_host od -A n -t x1 -N 12 /tmp/pvout/req | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
fresh() { in_host sh -c 'rm -f /tmp/pvout/boots /tmp/pvout/sig /tmp/pvout/req /tmp/pvout/pipe'; }

for mode in off pick; do
	name=ictl$mode
	initctl_xml "$name" "<vivarium:userns mode='$mode'/>"
	vivctl define "$work/$name.xml" >/dev/null 2>&1
	what="$name (userns $mode)"

	fresh
	in_host touch /tmp/pvout/pipe
	out=$(vivctl start "$name" 2>&1)
	check "$what: starts" contains "$out" "Domain $name started"
	check "$what: init is up" wait_for 300 boots_are 1
	wait_for 300 in_host test -p /tmp/pvroot/run/initctl
	out=$(vivctl shutdown "$name" --mode initctl 2>&1)
	check "$what: shutdown --mode initctl: virsh's line" same "$out" "Domain $name is being shutdown"
	check "$what: init got one 384-byte request" wait_for 300 in_host test -s /tmp/pvout/req
	check "$what: ... sysvinit's magic, runlevel command, runlevel 0" same "$(req_head)" "69 19 09 03 01 00 00 00 30 00 00 00"
	check "$what: ... of 384 bytes" same "$(in_host stat -c %s /tmp/pvout/req)" 384
	check "$what: it stops" wait_for 300 is_state "$name" "shut off"
	check "$what: no signal was sent" not in_host test -e /tmp/pvout/sig

	fresh
	in_host touch /tmp/pvout/pipe
	vivctl start "$name" >/dev/null 2>&1
	check "$what: init is up again" wait_for 300 boots_are 1
	wait_for 300 in_host test -p /tmp/pvroot/run/initctl
	out=$(vivctl reboot "$name" --mode initctl 2>&1)
	check "$what: reboot --mode initctl: virsh's line" same "$out" "Domain $name is being rebooted"
	check "$what: ... runlevel 6" wait_for 300 in_host test -s /tmp/pvout/req
	check "$what: ... the request" same "$(req_head)" "69 19 09 03 01 00 00 00 36 00 00 00"
	check "$what: it starts again (a second boot)" wait_for 300 boots_are 2
	check "$what: ... and runs" wait_for 300 is_state "$name" running

	# no pipe now (init waits in its loop): initctl alone fails, signal works
	out=$(vivctl shutdown "$name" --mode initctl 2>&1)
	check "$what: shutdown --mode initctl without a pipe: libvirt's error" contains "$out" "Container does not provide an initctl pipe"
	out=$(vivctl reboot "$name" --mode initctl 2>&1)
	check "$what: reboot --mode initctl without a pipe: the same" contains "$out" "Container does not provide an initctl pipe"
	check "$what: ... it still runs, not rebooted" same "$(vivctl domstate "$name" 2>&1)/$(boots)" "running/2"
	out=$(vivctl shutdown "$name" --mode acpi 2>&1)
	check "$what: --mode acpi: unsupported" contains "$out" "Unsupported mode (flags 0x1): a container supports 'initctl' (0x4) and 'signal' (0x8)"
	out=$(vivctl shutdown "$name" --mode initctl,bogus 2>&1)
	check "$what: --mode bogus: virsh's error" contains "$out" "error: Unknown mode bogus value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'"
	check "$what: ... still running" is_state "$name" running
	out=$(vivctl shutdown "$name" --mode signal 2>&1)
	check "$what: shutdown --mode signal: virsh's line" same "$out" "Domain $name is being shutdown"
	check "$what: ... init got SIGTERM" wait_for 300 in_host grep -qx term /tmp/pvout/sig
	check "$what: ... and stopped" wait_for 300 is_state "$name" "shut off"

	# both: the pipe is missing, so the signal
	fresh
	vivctl start "$name" >/dev/null 2>&1
	check "$what: up for initctl,signal" wait_for 300 boots_are 1
	out=$(vivctl shutdown "$name" --mode initctl,signal 2>&1)
	check "$what: --mode initctl,signal without a pipe: the signal" wait_for 300 in_host grep -qx term /tmp/pvout/sig
	check "$what: ... stopped" wait_for 300 is_state "$name" "shut off"
	vivctl undefine "$name" >/dev/null 2>&1
done

# A shared root sees the host's /run: its /run/initctl is the test host's
# systemd's (systemd-initctl.socket); a request there would power the host off.
domain sharedictl /tmp/sharedictl.out "<vivarium:userns mode='off'/>" ""
run sharedictl /tmp/sharedictl.out "shared root for initctl"
check "the test host has its own /run/initctl" in_host test -p /run/initctl
host_state=$(in_host systemctl is-system-running 2>&1)
out=$(vivctl shutdown sharedictl --mode initctl 2>&1)
check "shared root: --mode initctl refused, the pipe is the host's" contains "$out" "is the host's (a shared root)"
check "... the test host still runs ($host_state)" same "$(in_host systemctl is-system-running 2>&1)" "$host_state"
check "... the container too" is_state sharedictl running
vivctl destroy sharedictl >/dev/null 2>&1

# ============================================================================
echo "# start --pass-fds: socket activation of init"
# init: a server on the two sockets it was passed (fds 3 and 4), answering
# what it sees: LISTEN_FDS, LISTEN_PID, its pid, which fd, the fds it has
cp "$here/lib/pass-fds-server.py" "$work/serve.py"
# the caller: two listening sockets, vivctl start --pass-fds with them, then
# the inodes of the sockets (to look for them in the helper)
cp "$here/lib/pass-fds-activate.py" "$work/activate.py"
ask() { in_host python3 "$work/activate.py" ask "$1" 2>&1; }
for mode in off pick; do
	name=act$mode
	cat >"$work/$name.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$name</name>
  <memory unit='MiB'>100</memory>
  <vivarium:userns mode='$mode'/>
  <os><type>exe</type><init>/usr/bin/python3</init><initarg>$work/serve.py</initarg></os>
  <devices><console type='pty'/></devices>
</domain>
XML
	vivctl define "$work/$name.xml" >/dev/null 2>&1
	out=$(in_host python3 "$work/activate.py" start "$name" 7701 7702)
	check "$name: start --pass-fds: virsh's line" contains "$out" "Domain $name started"
	one=$(ask 7701)
	two=$(ask 7702)
	check "$name: a client of the first socket is answered by init on fd 3" contains "$one" "fd3 "
	check "$name: ... of the second on fd 4" contains "$two" "fd4 "
	check "$name: init has LISTEN_FDS=2, LISTEN_PID=1 and is PID 1" contains "$one" "LISTEN_FDS=2 LISTEN_PID=1 pid=1 "
	check "$name: init has fds 0-4, nothing else of the helper's" contains "$one" "fds=0,1,2,3,4"
	helper=$(vivctl domid "$name" 2>&1)
	inodes=$(printf '%s\n' "$out" | sed -n 's/^inodes=//p')
	held=$(in_host sh -c "ls -l /proc/$helper/fd 2>/dev/null" | grep -c -E "socket:\[(${inodes//,/|})\]")
	check "$name: the helper ($helper) keeps no copy of them (inodes $inodes)" same "$held" 0
	vivctl destroy "$name" >/dev/null 2>&1
	out=$(vivctl start "$name" --pass-fds 3,abc 2>&1)
	check "$name: a malformed fd: virsh's error" contains "$out" "error: Unable to parse FD number 'abc'"
	out=$(vivctl start "$name" --pass-fds 200 2>&1)
	check "$name: an fd vivctl does not have: virsh's error" contains "$out" "error: Unable to get flags on fd 200"
	check "$name: ... nothing started" is_state "$name" "shut off"
	vivctl undefine "$name" >/dev/null 2>&1
done

echo "1..$n"
[ "$failures" -eq 0 ]
