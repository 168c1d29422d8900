#!/bin/bash
# Host devices and disks (issue 19), in a test host through vivariumd:
# <disk type='block'> appears as /dev/TARGET and <hostdev> storage/misc at the
# host's path, with the host node's major:minor and mode, owned by the
# container's root (the host's root without a user namespace, the picked
# range's root with <vivarium:userns mode='pick'/>), readable and writable
# through the scope's device policy (DeviceAllow=), while a node the XML did
# not name, made with mknod inside, is refused; <hostdev type='net'> moves a
# veth of the test host in and gives it back on every way out (init exit,
# destroy, helper killed, manager restarted, helper killed while no manager
# ran); a missing device, interface or USB fails the start with its name and
# leaves no scope, no node, no moved link.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd busybox
testhost_require_tools losetup
[ -e /dev/loop-control ] || [ -e /sys/class/misc/loop-control ] || testhost_skip_or_fail "no loop device support"

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
probe_done() { in_host grep -qx done "$1"; }
on_host() { in_host ip link show "$1" >/dev/null 2>&1; }
scope_gone() { ! in_host systemctl -q is-active "machine-$1.scope"; }

work=$(mktemp -d /tmp/vt-devices.XXXXXX)
# <disk type='file'>: a name of its own, to find its loop device by
image=/tmp/vt-devices-$$.img
image_attached() { in_host sh -c "cat /sys/block/loop*/loop/backing_file 2>/dev/null" | grep -qxF "$image"; }
loop=
# Loop devices are the kernel's, not the test host's: detached before the
# host goes (this trap runs before the harness's).
cleanup() {
	[ -n "$loop" ] && in_host losetup -d "$loop" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-devices-$$" "$build" "$work/install.log"

# A busybox root on the test host's /tmp (a tmpfs: idmappable for the
# picked range), an image with a marker, a loop device on it (the host's
# /dev is a tmpfs: the test makes the nodes losetup and the XML need), a
# second character node of /dev/null's numbers under a name of its own, and
# a veth pair to lend.
in_host "$here/lib/busybox-root.sh" /tmp/dr sh stat cat dd mknod echo ip sleep id head od tr
in_host sh -c '
mkdir -p /tmp/dr/share
printf "vivarium-disk-marker" >/tmp/disk.img
dd if=/dev/zero bs=1k count=1023 >>/tmp/disk.img 2>/dev/null
printf "vivarium-image-marker" >'"$image"'
dd if=/dev/zero bs=1k count=1023 >>'"$image"' 2>/dev/null
[ -e /dev/loop-control ] || mknod /dev/loop-control c 10 237
mknod -m 0620 /dev/vt-misc c 1 3
ip link add vt-lend0 type veth peer name vt-lend0p'
for try in 1 2 3 4 5; do
	n=$(in_host sh -c 'losetup -f 2>/dev/null | sed -n "s|^/dev/loop||p"')
	[ -n "$n" ] || n=$(in_host cat /sys/module/loop/parameters/max_loop 2>/dev/null)
	in_host sh -c "[ -e /dev/loop$n ] || mknod -m 0660 /dev/loop$n b 7 $n" 2>/dev/null
	if in_host losetup "/dev/loop$n" /tmp/disk.img 2>/dev/null; then
		loop=/dev/loop$n
		break
	fi
done
check "the test host has a loop device on its image ($loop)" [ -n "$loop" ]
minor=${loop#/dev/loop}
other=$((minor + 137))  # a loop device the XML does not name

probes='p=/share/probe
{
for n in /dev/sdb '"$loop"' /dev/vt-misc; do echo "node $n $(stat -c "%F %t:%T %a %u:%g" $n 2>&1)"; done
echo "read=$(head -c 20 /dev/sdb 2>&1)"
echo "hostdev-read=$(head -c 20 '"$loop"' 2>&1)"
echo "image-read=$(head -c 21 /dev/vdc 2>&1)"
echo x >/dev/vt-misc 2>/dev/null && echo misc-write-ok || echo misc-write-refused
echo "unnamed-nodes=$(ls /dev/sdc /dev/sdz /dev/loop'"$other"' 2>/dev/null | tr "\n" " ")end"
if mknod /dev/own-null c 1 3 2>/dev/null; then
	echo mknod-ok
	cat /dev/own-null >/dev/null 2>&1 && echo own-null-open-ok || echo own-null-open-refused
	# the policy refuses the node itself (cgroup v1, BPF "m") or opening it
	for d in "unnamed b 7 '"$other"'" "unnamed-kmsg c 1 11"; do
		set -- $d
		if mknod /dev/$1 $2 $3 $4 2>/tmp/err; then
			head -c 1 /dev/$1 >/dev/null 2>/tmp/err && echo "$1-allowed" || echo "$1-refused open $(cat /tmp/err)"
		else
			echo "$1-refused mknod $(cat /tmp/err)"
		fi
	done
else
	echo mknod-refused
fi
ip link show vt-lend0 >/dev/null 2>&1 && echo link-inside || echo link-missing
echo "link-addr=$(ip -4 addr show vt-lend0 2>&1 | tr -s " " | grep -o "inet [0-9./]*")"
echo "link-route=$(ip route show 10.78.0.0/16 2>&1 | tr -s " ")"
ip link show vt-lend0 2>&1 | grep -q "UP" && echo link-up
echo done
} >$p 2>&1
exec sleep 600'
probes_xml=$(xml_escape "$probes")

# domain NAME SHARE EXTRA-TOP EXTRA-DEVICES
domain() {
	cat >"$work/$1.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <memory>102400</memory>
  $3
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>-c</initarg>
    <initarg>$probes_xml</initarg>
  </os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='/tmp/dr'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='$2'/><target dir='/share'/></filesystem>
    <disk type='block' device='disk'><source dev='$loop'/><target dev='sdb'/></disk>
    <hostdev mode='capabilities' type='storage'><source><block>$loop</block></source></hostdev>
    <hostdev mode='capabilities' type='misc'><source><char>/dev/vt-misc</char></source></hostdev>
    <disk type='file'><driver name='loop' type='raw'/><source file='$image'/><target dev='vdc'/></disk>
    $4
  </devices>
</domain>
XML
}

host_mode=$(in_host stat -c %a "$loop")
# run_probes NAME SHARE WHAT: starts NAME (defined) and reads its probes
run_probes() {
	in_host sh -c "mkdir -p $2 && rm -f $2/probe"
	out=$(vivctl start "$1" 2>&1)
	check "$3: starts" contains "$out" "Domain $1 started"
	check "$3: its probes ran" wait_for 300 probe_done "$2/probe"
	probe=$(in_host cat "$2/probe" 2>&1)
}
# check_nodes WHAT OWNER: the nodes' numbers, modes, owners and contents
check_nodes() {
	check "$1: /dev/sdb is the loop device, block 7:$(printf %x "$minor"), owned by $2" \
		contains "$probe" "node /dev/sdb block special file 7:$(printf %x "$minor") $host_mode $2"
	check "$1: $loop is there at the host's path, owned by $2" \
		contains "$probe" "node $loop block special file 7:$(printf %x "$minor") $host_mode $2"
	check "$1: /dev/vt-misc is character 1:3, mode 620, owned by $2" \
		contains "$probe" "node /dev/vt-misc character special file 1:3 620 $2"
	check "$1: the disk reads the image through the device policy" contains "$probe" "read=vivarium-disk-marker"
	check "$1: the storage hostdev reads it too" contains "$probe" "hostdev-read=vivarium-disk-marker"
	check "$1: the misc node is writable" contains "$probe" "misc-write-ok"
	check "$1: the image disk reads the image through its loop device" contains "$probe" "image-read=vivarium-image-marker"
	check "$1: no node the XML did not name" contains "$probe" "unnamed-nodes=end"
}

# --- without a user namespace, with mknod allowed: the policy is the guard ---
domain d1 /tmp/s1 "<features><capabilities policy='default'><mknod state='on'/></capabilities></features>
  <vivarium:userns mode='off'/>" \
	"<hostdev mode='capabilities' type='net'><source><interface>vt-lend0</interface></source>
      <ip address='10.77.0.2' prefix='24'/><route address='10.78.0.0' prefix='16' gateway='10.77.0.1'/></hostdev>"
vivctl define "$work/d1.xml" >/dev/null 2>&1
run_probes d1 /tmp/s1 "host root's container"
check_nodes "host root's container" 0:0
check "mknod works inside (so the refusals below are the policy's)" contains "$probe" "mknod-ok"
check "a node of an allowed device made inside opens" contains "$probe" "own-null-open-ok"
check "a block node the XML did not name is refused by the device policy" \
	grep -q "^unnamed-refused .*Operation not permitted" <<<"$probe"
check "a char node the XML did not name (kmsg) is refused by the device policy" \
	grep -q "^unnamed-kmsg-refused .*Operation not permitted" <<<"$probe"
allow=$(in_host systemctl show machine-d1.scope -p DeviceAllow --value 2>&1)
check "the scope allows the disk's node" contains "$allow" "/dev/block/7:$minor rwm"
check "the scope allows the misc node" contains "$allow" "/dev/char/1:3 rwm"
check "the lent link is inside" contains "$probe" "link-inside"
check "... up, with its <ip>" contains "$probe" "link-addr=inet 10.77.0.2/24"
check "... and its <route>" contains "$probe" "link-route=10.78.0.0/16 via 10.77.0.1 dev vt-lend0"
check "... and up" contains "$probe" "link-up"
check "the lent link is gone from the host while d1 runs" not on_host vt-lend0
check "the image is on a loop device while d1 runs" image_attached
vivctl destroy d1 >/dev/null 2>&1
check "destroy: the link is back on the host" wait_for 100 on_host vt-lend0
check "destroy: the image's loop device is released" wait_for 100 not image_attached
check "destroy: no pin is left" not in_host test -e /run/vivarium/containers/d1.netns

# --- a picked user namespace: the nodes belong to the range's root ---
domain d2 /tmp/s2 "<vivarium:userns mode='pick'/>" ""
vivctl define "$work/d2.xml" >/dev/null 2>&1
run_probes d2 /tmp/s2 "a picked range's container"
check_nodes "a picked range's container" 0:0
base=$(vivctl dumpxml d2 2>/dev/null | sed -n "s|.*<uid start='0' target='\([0-9]*\)' count='65536'/>.*|\1|p")
leader=$(in_host machinectl show d2 -p Leader --value 2>/dev/null)
check "on the host, /dev/sdb is owned by the range's first ID ($base)" \
	[ "$(in_host stat -c %u:%g "/proc/${leader:-0}/root/dev/sdb")" = "${base:-x}:${base:-x}" ]
vivctl destroy d2 >/dev/null 2>&1

# --- live attach-device / detach-device, and --config ---
cat >"$work/d3.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>d3</name>
  <memory>102400</memory>
  <vivarium:userns mode='pick'/>
  <os><type>exe</type><init>/bin/sleep</init><initarg>600</initarg></os>
  <devices>
    <filesystem type='mount'><source dir='/tmp/dr'/><target dir='/'/></filesystem>
    <interface type='ethernet'/>
  </devices>
</domain>
XML
echo "<disk type='block'><source dev='$loop'/><target dev='sdd'/></disk>" >"$work/disk.xml"
echo "<hostdev mode='capabilities' type='net'><source><interface>vt-lend0</interface></source></hostdev>" >"$work/link.xml"
echo "<interface type='ethernet'><target dev='vt-att0'/></interface>" >"$work/iface.xml"
echo "<disk type='block'><source dev='/dev/vt-nonexistent'/><target dev='sde'/></disk>" >"$work/nodisk.xml"
inside() { vivctl enter d3 -- /bin/sh -c "$1" 2>&1; }
allowed() { in_host systemctl show machine-d3.scope -p DeviceAllow --value 2>&1; }
vivctl define "$work/d3.xml" >/dev/null 2>&1
out=$(vivctl attach-device d3 "$work/disk.xml" --live 2>&1)
check "attach --live to a domain that does not run is refused" contains "$out" "is not running"
out=$(vivctl start d3 2>&1)
check "d3 (picked range, no devices) starts" contains "$out" "Domain d3 started"
out=$(vivctl attach-device d3 "$work/disk.xml" 2>&1)
check "attach-device of a disk: virsh's message" contains "$out" "Device attached successfully"
out=$(inside 'stat -c "%F %t:%T %u:%g" /dev/sdd; head -c 20 /dev/sdd')
check "the attached disk is /dev/sdd inside, owned by the range's root" \
	contains "$out" "block special file 7:$(printf %x "$minor") 0:0"
check "... and reads the image through the widened policy" contains "$out" "vivarium-disk-marker"
check "the scope allows it now" contains "$(allowed)" "/dev/block/7:$minor rwm"
check "the live XML shows it" contains "$(vivctl dumpxml d3 2>&1)" "<target dev='sdd'/>"
check "the definition does not (--current on a running domain is live)" \
	lacks "$(vivctl dumpxml --inactive d3 2>&1)" "<target dev='sdd'/>"
out=$(vivctl attach-device d3 "$work/disk.xml" 2>&1)
check "the same disk twice is refused" contains "$out" "is already used"
out=$(vivctl attach-device d3 "$work/link.xml" 2>&1)
check "attach-device of a host link" contains "$out" "Device attached successfully"
check "the link left the host" not on_host vt-lend0
check "the link is inside" contains "$(inside 'ip link show vt-lend0')" "vt-lend0"
out=$(vivctl attach-device d3 "$work/nodisk.xml" 2>&1)
check "attaching a missing device names it" contains "$out" "Disk source '/dev/vt-nonexistent' does not exist on the host"
# (live interfaces in depth: tests/test-parity-live.sh)
out=$(vivctl attach-device d3 "$work/iface.xml" --live 2>&1)
check "a live interface is attached" contains "$out" "Device attached successfully"
check "... its host side is there" on_host vt-att0
out=$(vivctl detach-device d3 "$work/iface.xml" --live 2>&1)
check "... and detached live, by its target dev" contains "$out" "Device detached successfully"
check "... its host side is gone" not on_host vt-att0
out=$(vivctl detach-device d3 "$work/disk.xml" 2>&1)
check "detach-device of the disk" contains "$out" "Device detached successfully"
check "/dev/sdd is gone inside" contains "$(inside 'ls /dev/sdd')" "No such file"
check "the scope no longer allows it" lacks "$(allowed)" "/dev/block/7:$minor "
out=$(vivctl detach-device d3 "$work/link.xml" 2>&1)
check "detach-device of the link" contains "$out" "Device detached successfully"
check "the link is back on the host" on_host vt-lend0
out=$(vivctl attach-device d3 "$work/iface.xml" --config 2>&1)
check "attach --config of an interface" contains "$out" "Device attached successfully"
check "... the definition has it" contains "$(vivctl dumpxml --inactive d3 2>&1)" "<target dev='vt-att0'/>"
check "... the running domain does not" lacks "$(vivctl dumpxml d3 2>&1)" "vt-att0"
out=$(vivctl attach-device d3 "$work/disk.xml" --persistent 2>&1)
check "attach --persistent of a running domain" contains "$out" "Device attached successfully"
check "... live" contains "$(inside 'head -c 20 /dev/sdd')" "vivarium-disk-marker"
check "... and in the definition" contains "$(vivctl dumpxml --inactive d3 2>&1)" "<target dev='sdd'/>"
out=$(in_host busctl call org.vivarium1 /org/vivarium1 org.vivarium1.Manager DetachDevice sst d3 \
	"<disk type='block'><source dev='$loop'/><target dev='sdd'/></disk>" 3 2>&1)
check "DetachDevice over D-Bus, live and config (flags 3)" same "$out" ""
check "... gone live" contains "$(inside 'ls /dev/sdd')" "No such file"
check "... and from the definition" lacks "$(vivctl dumpxml --inactive d3 2>&1)" "<target dev='sdd'/>"
out=$(vivctl detach-device d3 "$work/iface.xml" --config 2>&1)
check "detach --config of the interface" contains "$out" "Device detached successfully"
check "... gone from the definition" lacks "$(vivctl dumpxml --inactive d3 2>&1)" "vt-att0"
out=$(vivctl detach-device d3 "$work/iface.xml" --config 2>&1)
check "detaching a device the definition lacks says so" contains "$out" "has no such device"
vivctl attach-device d3 "$work/link.xml" >/dev/null 2>&1
vivctl destroy d3 >/dev/null 2>&1
check "a link attached live comes back at destroy" wait_for 100 on_host vt-lend0
vivctl undefine d3 >/dev/null 2>&1

# --- the lent link comes back on every other way out ---
lend_xml() { # NAME INIT
	cat >"$work/$1.xml" <<XML
<domain type='lxc'>
  <name>$1</name>
  <memory>102400</memory>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>$2</initarg></os>
  <devices>
    <filesystem type='mount'><source dir='/tmp/dr'/><target dir='/'/></filesystem>
    <hostdev mode='capabilities' type='net'><source><interface>vt-lend0</interface></source></hostdev>
    <disk type='file'><source file='$image'/><target dev='vdc'/><readonly/></disk>
  </devices>
</domain>
XML
}
lend_xml l1 'ip link show vt-lend0 >/dev/null; sleep 2; exit 3'
out=$(vivctl create "$work/l1.xml" 2>&1)
check "init exit: the container starts" contains "$out" "Domain l1 created"
check "init exit: the link is back once init ended" wait_for 300 on_host vt-lend0
check "init exit: the container is shut off" wait_for 100 not in_host test -e /run/vivarium/containers/l1.xml
check "init exit: the image's loop device is released" wait_for 100 not image_attached

lend_xml l2 'exec sleep 600'
vivctl create "$work/l2.xml" >/dev/null 2>&1
id=$(vivctl domid l2 2>/dev/null)
check "helper killed: the link was lent" not on_host vt-lend0
check "helper killed: the pin exists" in_host test -e /run/vivarium/containers/l2.netns
[ "${id:-0}" -gt 0 ] 2>/dev/null && in_host kill -9 "$id"
check "helper killed: the manager gives the link back" wait_for 100 on_host vt-lend0
check "helper killed: the pin is gone" wait_for 50 not in_host test -e /run/vivarium/containers/l2.netns
check "helper killed: the scope is gone" wait_for 100 scope_gone l2
check "helper killed: the image's loop device is released" wait_for 100 not image_attached
# the manager learns of the helper's end on its own schedule: a create of the
# same name before it did is refused, rightly
listed() { vivctl list --all --name 2>/dev/null | grep -qx "$1"; }
check "helper killed: the manager has forgotten the transient domain" wait_for 100 not listed l2

out=$(vivctl create "$work/l2.xml" 2>&1)
check "manager restarted: the container starts again" contains "$out" "Domain l2 created"
in_host systemctl restart vivariumd.service
check "manager restarted: the container is adopted" contains "$(vivctl list 2>&1)" "l2"
check "manager restarted: the link is still inside" not on_host vt-lend0
check "manager restarted: the image is still attached" image_attached
echo "<hostdev mode='capabilities' type='misc'><source><char>/dev/vt-misc</char></source></hostdev>" >"$work/misc.xml"
out=$(vivctl attach-device l2 "$work/misc.xml" 2>&1)
check "manager restarted: a live attach works" contains "$out" "Device attached successfully"
out=$(vivctl enter l2 -- /bin/sh -c 'head -c 21 /dev/vdc; echo; echo x >/dev/vt-misc && echo misc-ok' 2>&1)
check "... and the rebuilt policy still allows the image's loop device" contains "$out" "vivarium-image-marker"
check "... and the attached node" contains "$out" "misc-ok"
vivctl destroy l2 >/dev/null 2>&1
check "manager restarted, then destroy: the link is back" wait_for 100 on_host vt-lend0
check "manager restarted, then destroy: the loop device is released" wait_for 100 not image_attached

vivctl create "$work/l2.xml" >/dev/null 2>&1
id=$(vivctl domid l2 2>/dev/null)
in_host systemctl stop vivariumd.service
[ "${id:-0}" -gt 0 ] 2>/dev/null && in_host kill -9 "$id"
wait_for 100 not in_host kill -0 "${id:-0}"
vivctl list >/dev/null 2>&1
check "helper killed while no manager ran: the next manager gives the link back" wait_for 100 on_host vt-lend0
check "... and removes the pin" wait_for 50 not in_host test -e /run/vivarium/containers/l2.netns
check "... and the scope" wait_for 100 scope_gone l2
check "... and the loop device is released" wait_for 100 not image_attached

# --- missing devices: a clear error, nothing half-made ---
missing() { # NAME DEVICE-XML
	cat >"$work/$1.xml" <<XML
<domain type='lxc'>
  <name>$1</name>
  <memory>102400</memory>
  <os><type>exe</type><init>/bin/sh</init></os>
  <devices>
    <filesystem type='mount'><source dir='/tmp/dr'/><target dir='/'/></filesystem>
    <hostdev mode='capabilities' type='net'><source><interface>vt-lend0</interface></source></hostdev>
    $2
  </devices>
</domain>
XML
	vivctl create "$work/$1.xml" 2>&1
}
out=$(missing m1 "<disk type='block'><source dev='/dev/vt-nonexistent'/><target dev='sdc'/></disk>")
check "a missing disk source: the error names it" contains "$out" "Disk source '/dev/vt-nonexistent' does not exist on the host"
check "... no scope" scope_gone m1
check "... the interface was not moved" on_host vt-lend0
out=$(missing m2 "<hostdev mode='capabilities' type='storage'><source><block>/dev/vt-misc</block></source></hostdev>")
check "a storage hostdev that is a character node: the error says so" contains "$out" "Host device '/dev/vt-misc' is not a block device"
out=$(missing m3 "<hostdev mode='capabilities' type='net'><source><interface>vt-nolink</interface></source></hostdev>")
check "a missing host interface: the error names it" contains "$out" "Host interface 'vt-nolink' of <hostdev type='net'> does not exist"
check "... no scope" scope_gone m3
check "... the other interface was not moved" on_host vt-lend0
out=$(missing m5 "<disk type='file'><source file='/tmp/vt-no-image.raw'/><target dev='vdd'/></disk>")
check "a missing disk image: the error names it" \
	contains "$out" "Failed to attach disk image '/tmp/vt-no-image.raw' to a loop device: it does not exist"
out=$(missing m6 "<disk type='file'><source file='$image'/><target dev='vdd'/></disk>
    <disk type='block'><source dev='/dev/vt-nonexistent'/><target dev='sdc'/></disk>")
check "an image with a missing block disk: refused" contains "$out" "Disk source '/dev/vt-nonexistent' does not exist"
check "... and the image is not left on a loop device" not image_attached
out=$(missing m4 "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1d6b'/><product id='0x0002'/></source></hostdev>")
if [ -d /sys/bus/usb/devices ]; then
	check "USB: a device the host lacks is named" contains "$out" "USB host device (vendor 0x1d6b product 0x0002)"
else
	check "USB on a host without USB: the error says what is missing" \
		contains "$out" "USB host device (vendor 0x1d6b product 0x0002): this host has no USB (no '/sys/bus/usb/devices')"
fi
check "... no scope" scope_gone m4
check "no run file of a refused start is left" [ -z "$(in_host ls /run/vivarium/containers/ 2>/dev/null | grep '^m[0-9]\.')" ]

vivctl undefine d1 >/dev/null 2>&1
vivctl undefine d2 >/dev/null 2>&1
echo "1..$n"
[ "$failures" -eq 0 ]
