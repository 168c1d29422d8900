#!/bin/bash
# <filesystem type='file'> with <driver type='nbd' format='qcow2|raw'/>
# (issue 19), in a test host through vivariumd: qemu-nbd (qemu-utils) serves
# the image on a free /dev/nbdN and the container mounts its ext4. Init counts
# its starts in the image (/data/count) and writes /data/written, without a
# sync: what the release of the device must keep.
#  - with <vivarium:userns mode='off'/>, qcow2: qemu-nbd's process is in the
#    container's scope while it runs, the scope allows block-nbd; after a
#    shutdown, a destroy, init killed, the helper SIGKILLed, and a destroy
#    after a manager restart (which keeps the container and its device), the
#    device is released (not connected, no qemu-nbd, no scope; after the
#    helper's SIGKILL by the manager, nbd-release.c, before the scope's stop)
#    and the image,
#    read on the host (qemu-img convert to raw, debugfs), holds what init
#    wrote; the next start reads it;
#  - the same for a raw image (shutdown, then a start that reads it);
#  - an image with no filesystem and a missing image fail the start with a
#    clear error, leaving no scope and no connected device;
#  - in the default user namespace (a picked range; the shared root, which
#    is the host's read-only) the image's files are the container root's,
#    and what it writes is root's (uid 0) in the image.
# Needs the kernel's nbd driver: on a kernel without it (this project's
# machines) it ends KERNEL-LACKS: nbd (tests/lib/kernel-features.sh); the
# VM (tests/vm/run.sh nbd) has it.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"
# shellcheck source=tests/lib/kernel-features.sh
. "$here/lib/kernel-features.sh"

kernel_require nbd
testhost_require helper vivariumd
testhost_require_tools qemu-nbd qemu-img mkfs.ext4

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/holders.sh
. "$here/lib/holders.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
journal() { in_host journalctl --no-pager -o cat CONTAINER_NAME="$1" 2>&1; }
# the line init wrote on its Nth start of container NAME
said() { journal "$1" | grep '^nbd-test:' | sed -n "${2}p"; }
has_said() { [ -n "$(said "$1" "$2")" ]; }
is_state() { [ "$(vivctl domstate "$1" 2>&1)" = "$2" ]; }
not_running() { [ "$(vivctl domstate "$1" 2>&1)" != running ]; }
leader() { in_host machinectl show "$1" -p Leader --value 2>/dev/null; }
# the nbd devices connected now (the kernel names a server's pid)
connected() { in_host sh -c 'for p in /sys/block/nbd*/pid; do [ -e "$p" ] && echo "${p%/pid}"; done' 2>/dev/null; }
none_connected() { [ -z "$(connected)" ]; }
# the qemu-nbd processes of the test host, as PIDs
servers() { in_host sh -c 'for c in /proc/[0-9]*/comm; do [ "$(cat $c 2>/dev/null)" = qemu-nbd ] && { d=${c%/comm}; echo ${d#/proc/}; }; done' 2>/dev/null; }
no_servers() { [ -z "$(servers)" ]; }
# disconnected SECONDS: no nbd device connected within SECONDS; else, for
# each one still connected, the server the kernel names (sysfs pid: a PID
# of this machine's; its name, state, process and PIDs in its namespaces)
# and who holds the device (dev_holders), then the D-state processes
disconnected() {
	wait_until "$1" none_connected && return 0
	local d nbd pid st
	echo "#  check $((n + 1)): an nbd device is still connected after $1 s" >&2
	for d in $(connected); do
		nbd=${d##*/}
		pid=$(cat "/sys/block/$nbd/pid" 2>/dev/null)
		st=$(awk '/^(Name|State|Tgid|NSpid):/ { $1 = $1; printf "%s%s", sep, $0; sep = ", " }' "/proc/${pid:-0}/status" 2>/dev/null)
		echo "#  $nbd: connected ($(cat "/sys/block/$nbd/size" 2>&1) sectors), its server PID ${pid:-?} on this machine: ${st:-gone}" >&2
		dev_holders "$nbd"
	done
	d_state
	return 1
}
# servers_gone SECONDS: no qemu-nbd within SECONDS; else each one's command
# line, state, kernel wait channel, cgroup and block devices open, then the
# nbd devices still connected and the D-state processes
servers_gone() {
	wait_until "$1" no_servers && return 0
	local p
	echo "#  check $((n + 1)): qemu-nbd still runs after $1 s" >&2
	for p in $(servers); do
		# shellcheck disable=SC2016 # expanded by that sh
		in_host sh -c 'p=$1
echo "PID $p: $(tr "\0" " " <"/proc/$p/cmdline"), $(grep "^State:" "/proc/$p/status"), wchan $(cat "/proc/$p/wchan"), cgroup $(cut -d: -f3- "/proc/$p/cgroup" | head -n 1)"
for f in /proc/$p/fd/*; do [ -b "$f" ] && echo "PID $p has ${f#/proc/$p/} -> $(readlink "$f") open"; done' sh "$p" 2>&1 |
			sed 's/^/#  qemu-nbd /' >&2
	done
	echo "#  connected: $(connected | tr '\n' ' ')" >&2
	d_state
	return 1
}
# image_cmd IMAGE FORMAT DEBUGFS-REQUEST: debugfs's answer on the image, read
# on the test host through qemu-img
image_cmd() {
	in_host sh -c 'qemu-img convert -f "$2" -O raw "$1" /srv/read.raw && debugfs -R "$3" /srv/read.raw; rm -f /srv/read.raw' \
		sh "$1" "$2" "$3" 2>&1
}
image_file() { image_cmd "$1" "$2" "cat /$3" | grep -v '^debugfs '; }
# what the helpers warned about releasing devices (helper-nbd.c): nothing on
# the orderly path
nbd_warnings() {
	in_host journalctl --no-pager -o cat 2>&1 |
		grep -E 'vivarium-helper\[n.\]: .*(still in use|did not exit|still connected|Failed to find qemu-nbd|Failed to disconnect)'
}

work=$(mktemp -d /tmp/vt-nbd.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-nbd-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# The test host's /dev is a tmpfs: the nbd devices' nodes, as devtmpfs has them.
in_host sh -c 'for d in /sys/block/nbd*; do n=${d##*/}; [ -e /dev/$n ] || mknod -m 660 /dev/$n b $(tr : " " <$d/dev); done' ||
	{ echo "not ok 1 - make the nbd device nodes in the test host"; exit 1; }
# An ext4 image with a marker, as qcow2 and as raw; a qcow2 with nothing in it.
in_host sh -c 'mkdir -p /srv/tree && echo from-the-image >/srv/tree/marker &&
mkfs.ext4 -q -F -d /srv/tree /srv/data.img 16M &&
qemu-img convert -f raw -O qcow2 /srv/data.img /srv/data.qcow2 &&
qemu-img create -q -f qcow2 /srv/empty.qcow2 16M' >/dev/null ||
	{ echo "not ok 1 - make the images"; exit 1; }

# domain NAME FORMAT IMAGE USERNS: init counts its start in the image,
# writes /data/written (no sync), says what it read and wrote, then waits
# for SIGTERM (PID 1 ignores it without a handler)
domain() {
	local script
	script='before=$(cat /data/written 2>/dev/null)
count=$(( $(cat /data/count 2>/dev/null || echo 0) + 1 ))
echo $count >/data/count && echo start-$count >/data/written &&
echo "nbd-test: marker=$(cat /data/marker) owner=$(stat -c %u /data/marker) count=$count before=$before"
trap "exit 0" TERM
while :; do sleep 1; done'
	cat >"$work/$1.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <memory unit='MiB'>128</memory>
  <vivarium:userns mode='$4'/>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>$(xml_escape "$script")</initarg></os>
  <devices>
    <console type='pty'/>
    <filesystem type='file' accessmode='passthrough'>
      <driver type='nbd' format='$2'/>
      <source file='$3'/>
      <target dir='/data'/>
    </filesystem>
  </devices>
</domain>
XML
	vivctl define "$work/$1.xml" >/dev/null
}

# start NAME N WHAT: starts it, waits for init's Nth report
start() {
	local out
	out=$(vivctl start "$1" 2>&1)
	check "$3: starts" contains "$out" "Domain $1 started"
	check "$3: init reports" wait_until 120 has_said "$1" "$2"
}
released() { # NAME WHAT
	check "$2: no nbd device stays connected" disconnected 60
	check "$2: no qemu-nbd stays" servers_gone 60
	check "$2: the scope is gone" wait_until 60 not in_host systemctl is-active -q "machine-$1.scope"
}
# gone NAME WHAT IMAGE FORMAT N: it stops, its device is released, and the
# image holds what init wrote on its Nth start
gone() {
	check "$2: it stops" wait_until 120 not_running "$1"
	released "$1" "$2"
	check "$2: the image holds what init wrote (start-$5)" same "$(image_file "$3" "$4" written)" "start-$5"
}
# ends NAME shutdown|destroy WHAT IMAGE FORMAT N: gone after that verb
ends() {
	vivctl "$2" "$1" >/dev/null 2>&1
	gone "$1" "$3" "$4" "$5" "$6"
}

# ============================================================================
echo "# qcow2, no user namespace"
domain nq qcow2 /srv/data.qcow2 off
start nq 1 "qcow2"
check "init reads the image's file" contains "$(said nq 1)" "marker=from-the-image owner=0 count=1 before="
dev=$(connected)
check "an nbd device is connected while it runs ($dev)" test -n "$dev"
srv=$(servers)
check "qemu-nbd runs ($srv)" test -n "$srv"
check "qemu-nbd is in the container's scope" contains "$(in_host cat "/proc/${srv:-0}/cgroup" 2>&1)" "machine-nq.scope"
check "the scope allows the nbd devices" contains "$(in_host systemctl show -P DeviceAllow machine-nq.scope 2>&1)" "block-nbd rw"
ends nq shutdown "after shutdown" /srv/data.qcow2 qcow2 1

start nq 2 "qcow2 again"
check "the next start reads what was written before" contains "$(said nq 2)" "count=2 before=start-1"
ends nq destroy "after destroy" /srv/data.qcow2 qcow2 2

start nq 3 "init killed"
check "init killed: it read what was written before" contains "$(said nq 3)" "count=3 before=start-2"
init=$(leader nq)
check "init killed: init's PID ($init)" test -n "$init"
[ -n "$init" ] && in_host kill -9 "$init"
gone nq "after init was killed" /srv/data.qcow2 qcow2 3

start nq 4 "helper killed"
check "helper killed: it read what was written before" contains "$(said nq 4)" "count=4 before=start-3"
helper=$(vivctl domid nq 2>/dev/null)
check "helper killed: the helper's PID ($helper)" test "${helper:--}" != -
srv_killed=$(servers)
[ "${helper:--}" != - ] && in_host kill -9 "$helper"
gone nq "after the helper was SIGKILLed" /srv/data.qcow2 qcow2 4
check "after the helper was SIGKILLed: the manager had the device released before it stopped the scope" \
	contains "$(in_host journalctl --no-pager -o cat -u vivariumd.service 2>&1)" \
	"which qemu-nbd (PID ${srv_killed:-?}) still serves for container 'nq' after its helper ended"

start nq 5 "manager restarted"
check "manager restarted: it read what was written before" contains "$(said nq 5)" "count=5 before=start-4"
in_host systemctl restart vivariumd.service
check "after a manager restart it still runs" wait_until 60 is_state nq running
check "... and its device is still connected" not none_connected
check "... and qemu-nbd still runs" not no_servers
ends nq destroy "destroy after a manager restart" /srv/data.qcow2 qcow2 5
vivctl undefine nq >/dev/null 2>&1
check "qcow2: every release took the orderly path (no warning)" same "$(nbd_warnings)" ""

# ============================================================================
echo "# raw through qemu-nbd"
domain nr raw /srv/data.img off
start nr 1 "raw"
check "raw: init reads the image's file" contains "$(said nr 1)" "marker=from-the-image owner=0 count=1 before="
ends nr shutdown "raw, after shutdown" /srv/data.img raw 1
start nr 2 "raw again"
check "raw: the next start reads what was written before" contains "$(said nr 2)" "count=2 before=start-1"
ends nr destroy "raw, after destroy" /srv/data.img raw 2
vivctl undefine nr >/dev/null 2>&1

# ============================================================================
echo "# failures"
domain nf qcow2 /srv/empty.qcow2 off
out=$(vivctl start nf 2>&1)
check "an image without a filesystem fails the start saying so" contains "$out" \
	"Failed to mount image '/srv/empty.qcow2' (/dev/nbd"
check "... no filesystem this kernel knows" contains "$out" "no filesystem this kernel knows was found in it"
released nf "failed start"
vivctl undefine nf >/dev/null 2>&1
domain nf qcow2 /srv/missing.qcow2 off
out=$(vivctl start nf 2>&1)
check "a missing image fails the start with qemu-nbd's reason" contains "$out" \
	"Failed to serve image '/srv/missing.qcow2' of container 'nf' with qemu-nbd:"
released nf "missing image"
vivctl undefine nf >/dev/null 2>&1

# ============================================================================
echo "# the default user namespace"
domain np qcow2 /srv/data.qcow2 pick
start np 1 "picked range"
check "picked range: the image's files are the container root's" contains "$(said np 1)" \
	"marker=from-the-image owner=0 count=6 before=start-5"
check "picked range: it runs in a user namespace" contains "$(vivctl dumpxml np 2>&1)" "count='65536'"
ends np shutdown "picked range, after shutdown" /srv/data.qcow2 qcow2 6
check "picked range: what init wrote is root's in the image" contains \
	"$(image_cmd /srv/data.qcow2 qcow2 'stat /written')" "User:     0   Group:     0"
vivctl undefine np >/dev/null 2>&1
check "no release warned" same "$(nbd_warnings)" ""

echo "1..$n"
if [ "$failures" != 0 ]; then
	# what the manager, the helpers and the kernel said about it
	in_host journalctl --no-pager -o short-monotonic -n 300 2>&1 | grep -Ei 'vivarium|nbd|machine-n' | tail -120 | sed 's/^/#  journal: /' >&2
	in_host dmesg 2>&1 | grep -Ei 'nbd|ext4' | tail -60 | sed 's/^/#  kernel: /' >&2
fi
[ "$failures" = 0 ]
