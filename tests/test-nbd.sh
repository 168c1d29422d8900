#!/bin/bash
# <filesystem type='file'> with <driver type='nbd' format='qcow2|raw'/>
# (issue 19), in a test host through vivariumd: qemu-nbd (qemu-utils) serves
# the image on a free /dev/nbdN and the container mounts its ext4:
#  - with <vivarium:userns mode='off'/>: init reads the image's file and
#    writes one, which the next start reads (qcow2 and raw); qemu-nbd's
#    process is in the container's scope while it runs, the scope allows
#    block-nbd; the device is released (no server, not connected) after a
#    shutdown, a destroy, init killed, the helper SIGKILLed, and a destroy
#    after a manager restart in between;
#  - an image with no filesystem and a missing image fail the start with a
#    clear error, leaving no scope and no connected device;
#  - in the default user namespace (a picked range; the shared root, which
#    is the host's read-only) the image's files are the container root's.
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
if ! why=$(testhost_preflight); then
	testhost_skip_or_fail "$why"
fi
build=${VIVARIUM_BUILD_DIR:-}
if [ -z "$build" ] || [ ! -x "$build/src/helper/vivarium-helper" ] || [ ! -x "$build/src/manager/vivariumd" ]; then
	testhost_skip_or_fail "helper or vivariumd not built (VIVARIUM_BUILD_DIR='$build')"
fi
for t in qemu-nbd qemu-img mkfs.ext4; do
	command -v $t >/dev/null || testhost_skip_or_fail "needs $t (tools/deps.sh: qemu-utils, e2fsprogs)"
done

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
journal() { in_host journalctl --no-pager -o cat CONTAINER_NAME="$1" 2>&1; }
# the lines init wrote of its Nth start (names repeat)
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

# domain NAME FORMAT IMAGE USERNS: init reports what it reads on /data and
# writes a file there, then waits
domain() {
	local script
	script='echo "nbd-test: marker=$(cat /data/marker) owner=$(stat -c %u /data/marker) before=$(cat /data/written 2>/dev/null)"
echo written-by-$$ >/data/written; sync; exec sleep 600'
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
released() { # WHAT
	check "$1: no nbd device stays connected" wait_until 60 none_connected
	check "$1: no qemu-nbd stays" wait_until 60 no_servers
	check "$1: the scope is gone" wait_until 60 not in_host systemctl is-active -q machine-nb.scope
}

# ============================================================================
echo "# qcow2, no user namespace"
domain nb qcow2 /srv/data.qcow2 off
start nb 1 "qcow2"
check "init reads the image's file" contains "$(said nb 1)" "marker=from-the-image owner=0 before="
dev=$(connected)
check "an nbd device is connected while it runs ($dev)" test -n "$dev"
srv=$(servers)
check "qemu-nbd runs ($srv)" test -n "$srv"
check "qemu-nbd is in the container's scope" contains "$(in_host cat "/proc/${srv:-0}/cgroup" 2>&1)" "machine-nb.scope"
check "the scope allows the nbd devices" contains "$(in_host systemctl show -P DeviceAllow machine-nb.scope 2>&1)" "block-nbd rw"
vivctl shutdown nb >/dev/null 2>&1
check "shutdown: it stops" wait_until 120 not_running nb
released "after shutdown"

start nb 2 "qcow2 again"
check "what init wrote is in the image" contains "$(said nb 2)" "before=written-by-"
vivctl destroy nb >/dev/null 2>&1
released "after destroy"

start nb 3 "init killed"
init=$(leader nb)
[ -n "$init" ] && in_host kill -9 "$init"
check "init killed: it stops" wait_until 120 not_running nb
released "after init was killed"

start nb 4 "helper killed"
helper=$(vivctl domid nb 2>/dev/null)
[ -n "$helper" ] && in_host kill -9 "$helper"
check "helper killed: it stops" wait_until 120 not_running nb
released "after the helper was SIGKILLed"

start nb 5 "manager restarted"
in_host systemctl restart vivariumd.service
check "after a manager restart it still runs" wait_until 60 is_state nb running
check "... and its device is still connected" not none_connected
vivctl destroy nb >/dev/null 2>&1
released "destroy after a manager restart"
vivctl undefine nb >/dev/null 2>&1

# ============================================================================
echo "# raw through qemu-nbd"
domain nb raw /srv/data.img off
start nb 1 "raw"
check "raw: init reads the image's file and what was written before" contains "$(said nb 1)" "marker=from-the-image owner=0 before=written-by-"
vivctl destroy nb >/dev/null 2>&1
released "raw, after destroy"
vivctl undefine nb >/dev/null 2>&1

# ============================================================================
echo "# failures"
domain nb qcow2 /srv/empty.qcow2 off
out=$(vivctl start nb 2>&1)
check "an image without a filesystem fails the start saying so" contains "$out" \
	"Failed to mount image '/srv/empty.qcow2' (/dev/nbd"
check "... no filesystem this kernel knows" contains "$out" "no filesystem this kernel knows was found in it"
released "failed start"
vivctl undefine nb >/dev/null 2>&1
domain nb qcow2 /srv/missing.qcow2 off
out=$(vivctl start nb 2>&1)
check "a missing image fails the start with qemu-nbd's reason" contains "$out" \
	"Failed to serve image '/srv/missing.qcow2' of container 'nb' with qemu-nbd:"
released "missing image"
vivctl undefine nb >/dev/null 2>&1

# ============================================================================
echo "# the default user namespace"
domain nb qcow2 /srv/data.qcow2 pick
start nb 1 "picked range"
check "picked range: the image's files are the container root's" contains "$(said nb 1)" "marker=from-the-image owner=0 before=written-by-"
check "picked range: it runs in a user namespace" contains "$(vivctl dumpxml nb 2>&1)" "count='65536'"
vivctl destroy nb >/dev/null 2>&1
released "picked range, after destroy"
vivctl undefine nb >/dev/null 2>&1

echo "1..$n"
[ "$failures" = 0 ]
