#!/bin/bash
# libvirt LXC parity, part A (issue 19), in a test host through vivariumd:
#  - <blkiotune><device> (path, weight, read/write bytes and IOPS per
#    second): the scope's cgroup files (blkio.throttle.* on a v1 hybrid,
#    io.max/io.weight on v2) and systemd's properties hold the values at
#    start, dumpxml and `blkiotune NAME` show them, `blkiotune
#    --device-*` changes them live (a 0 removes one) or in the definition
#    only (--config); a path that is not a block device is refused at
#    define, by blkiotune and at start, naming it, leaving nothing;
#  - create --pass-fds: two listening sockets of the caller are init's fds
#    3 and 4 (LISTEN_FDS=2, LISTEN_PID=1) of a transient container;
#  - live attach-device/detach-device of <disk type='file'> (a loop device
#    of the image, in /dev inside, released on detach and when the
#    container goes) and of <interface> (attach-interface/detach-interface
#    too: a veth in the container, plugged into a bridge, in domiflist,
#    gone on detach).
# Default user namespace unless said otherwise.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl busybox
testhost_require_tools losetup python3
[ -e /dev/loop-control ] || [ -e /sys/class/misc/loop-control ] || testhost_skip_or_fail "no loop device support"

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/sleep-domain.sh
. "$here/lib/sleep-domain.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
scope_gone() { ! in_host systemctl -q is-active "machine-$1.scope"; }
listed() { vivctl list --all --name 2>/dev/null | grep -qx "$1"; }
is_state() { [ "$(vivctl domstate "$1" 2>&1)" = "$2" ]; }

work=$(mktemp -d /tmp/vt-parity-live.XXXXXX)
chmod 755 "$work"
# images of their own names, to find their loop devices by
img=/tmp/vt-parity-live-$$
loops=()
# Loop devices are the kernel's, not the test host's: detached before the
# host goes (this trap runs before the harness's).
cleanup() {
	for l in "${loops[@]}"; do
		in_host losetup -d "$l" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-parity-live-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# A busybox root on the test host's /tmp (a tmpfs: idmappable), two images
# on loop devices (the host's /dev is a tmpfs: the test makes the nodes).
in_host "$here/lib/busybox-root.sh" /tmp/dr sh stat cat dd echo ip sleep head ls ping
in_host sh -c '
mkdir -p /tmp/dr/share
[ -e /dev/loop-control ] || mknod /dev/loop-control c 10 237
for i in a b c; do
	printf "vivarium-$i-marker" >'"$img"'-$i.img
	dd if=/dev/zero bs=1k count=1023 >>'"$img"'-$i.img 2>/dev/null
done'
# attach_loop IMAGE: a loop device of the test host on IMAGE, printed
attach_loop() {
	local n try
	for try in 1 2 3 4 5 6 7 8; do
		n=$(in_host sh -c 'losetup -f 2>/dev/null | sed -n "s|^/dev/loop||p"')
		[ -n "$n" ] || return 1
		in_host sh -c "[ -e /dev/loop$n ] || mknod -m 0660 /dev/loop$n b 7 $n" 2>/dev/null
		if in_host losetup "/dev/loop$n" "$1" 2>/dev/null; then
			echo "/dev/loop$n"
			return 0
		fi
	done
	return 1
}
la=$(attach_loop "$img-a.img") && loops+=("$la")
lb=$(attach_loop "$img-b.img") && loops+=("$lb")
check "the test host has two loop devices ($la, $lb)" [ -n "$la" ] && [ -n "$lb" ]
ma=7:${la#/dev/loop}
mb=7:${lb#/dev/loop}

if [ "$(in_host stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	unified=1
	echo "# cgroup v2"
else
	unified=0
	echo "# cgroup v1+v2 hybrid"
fi
# cgfile NAME V1FILE V2FILE: the scope's file of the host's hierarchy
cgfile() {
	if [ $unified = 1 ]; then
		in_host cat "/sys/fs/cgroup/machine.slice/machine-$1.scope/$3" 2>&1
	else
		in_host cat "/sys/fs/cgroup/blkio/machine.slice/machine-$1.scope/$2" 2>&1
	fi
}
prop() { in_host systemctl show -P "$2" "machine-$1.scope" 2>&1; }
# limit NAME DEV KIND (rbps wbps riops wiops): the value of the scope, or
# "none" when it has no rule for DEV
limit() {
	local v1file v
	case $3 in
	rbps) v1file=blkio.throttle.read_bps_device ;;
	wbps) v1file=blkio.throttle.write_bps_device ;;
	riops) v1file=blkio.throttle.read_iops_device ;;
	wiops) v1file=blkio.throttle.write_iops_device ;;
	esac
	if [ $unified = 1 ]; then
		v=$(cgfile "$1" - io.max | sed -n "s/^$2 .*$3=\([^ ]*\).*/\1/p")
		[ "$v" = max ] && v=
	else
		v=$(cgfile "$1" "$v1file" - | sed -n "s/^$2 \([0-9]*\)$/\1/p")
	fi
	echo "${v:-none}"
}

# ============================================================================
echo "# <blkiotune><device>"
cat >"$work/bt.xml" <<XML
<domain type='lxc'>
  <name>bt</name>
  <memory unit='MiB'>64</memory>
  <blkiotune>
    <weight>500</weight>
    <device><path>$la</path><weight>300</weight><read_bytes_sec>1048576</read_bytes_sec><write_iops_sec>77</write_iops_sec></device>
    <device><path>$lb</path><write_bytes_sec>2097152</write_bytes_sec><read_iops_sec>10</read_iops_sec></device>
  </blkiotune>
  <os><type>exe</type><init>/bin/sleep</init><initarg>600</initarg></os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='/tmp/dr'/><target dir='/'/></filesystem>
  </devices>
</domain>
XML
out=$(vivctl define "$work/bt.xml" 2>&1)
check "define with two blkiotune devices" contains "$out" "Domain bt defined"
out=$(vivctl start bt 2>&1)
check "starts" contains "$out" "Domain bt started"
check "$la read bytes/s in the scope's cgroup" same "$(limit bt "$ma" rbps)" 1048576
check "$la write IOPS" same "$(limit bt "$ma" wiops)" 77
check "$lb write bytes/s" same "$(limit bt "$mb" wbps)" 2097152
check "$lb read IOPS" same "$(limit bt "$mb" riops)" 10
check "$la has no write bytes/s limit" same "$(limit bt "$ma" wbps)" none
check "$lb has no read bytes/s limit" same "$(limit bt "$mb" rbps)" none
if [ $unified = 1 ]; then
	check "IODeviceWeight holds $la 300" contains "$(prop bt IODeviceWeight)" "$la 300"
	check "io.weight holds $ma 300" contains "$(cgfile bt - io.weight)" "$ma 300"
else
	check "BlockIODeviceWeight holds $la 300" contains "$(prop bt BlockIODeviceWeight)" "$la 300"
	wfile=$(in_host sh -c "ls /sys/fs/cgroup/blkio/machine.slice/machine-bt.scope/blkio.weight_device \
		/sys/fs/cgroup/blkio/machine.slice/machine-bt.scope/blkio.bfq.weight_device 2>/dev/null | head -n 1")
	if [ -n "$wfile" ]; then
		check "$(basename "$wfile") holds $ma 300" contains "$(in_host cat "$wfile")" "$ma 300"
	else
		echo "# no blkio weight_device file on this kernel (no BFQ): BlockIODeviceWeight is systemd's only"
	fi
	check "BlockIOReadBandwidth holds $la 1048576" contains "$(prop bt BlockIOReadBandwidth)" "$la 1048576"
fi
xml=$(vivctl dumpxml bt 2>&1)
check "dumpxml shows $la's device" contains "$xml" "<device>
      <path>$la</path>
      <weight>300</weight>
      <write_iops_sec>77</write_iops_sec>
      <read_bytes_sec>1048576</read_bytes_sec>
    </device>"
out=$(vivctl blkiotune bt 2>&1)
check "blkiotune shows the weights" contains "$out" "device_weight  : $la,300"
check "... the read IOPS" contains "$out" "device_read_iops_sec: $lb,10"
check "... the write IOPS" contains "$out" "device_write_iops_sec: $la,77"
check "... the read bytes/s" contains "$out" "device_read_bytes_sec: $la,1048576"
check "... the write bytes/s" contains "$out" "device_write_bytes_sec: $lb,2097152"

out=$(vivctl blkiotune bt --device-read-bytes-sec "$la,0" --device-write-iops-sec "$lb,55,$la,0" --live 2>&1)
check "blkiotune --device-* --live ($out)" same "$out" ""
check "live: $la's read bytes/s limit is gone" same "$(limit bt "$ma" rbps)" none
check "live: $la's write IOPS limit is gone" same "$(limit bt "$ma" wiops)" none
check "live: $lb write IOPS 55" same "$(limit bt "$mb" wiops)" 55
check "live: $lb keeps its read IOPS" same "$(limit bt "$mb" riops)" 10
xml=$(vivctl dumpxml bt 2>&1)
check "live: dumpxml: $la keeps only its weight" contains "$xml" "<path>$la</path>
      <weight>300</weight>
    </device>"
check "live: dumpxml: $lb has write IOPS 55" contains "$xml" "<write_iops_sec>55</write_iops_sec>"
xml=$(vivctl dumpxml bt --inactive 2>&1)
check "live: the definition keeps $la's read bytes/s" contains "$xml" "<read_bytes_sec>1048576</read_bytes_sec>"
check "live: ... and has no write IOPS 55" lacks "$xml" "<write_iops_sec>55</write_iops_sec>"
out=$(vivctl blkiotune bt --device-weights "$la,0" --live 2>&1)
check "live: device weight 0 of a device with nothing else: accepted ($out)" same "$out" ""
check "live: $la is gone from the live definition" lacks "$(vivctl dumpxml bt 2>&1)" "<path>$la</path>"

out=$(vivctl blkiotune bt --device-weights "$lb,200" --config 2>&1)
check "blkiotune --config ($out)" same "$out" ""
check "--config: the definition has $lb's weight" contains "$(vivctl blkiotune bt --config 2>&1)" "device_weight  : $la,300,$lb,200"
check "--config: the running one has not" lacks "$(vivctl blkiotune bt 2>&1)" "$lb,200"
check "--config: stored" contains "$(in_host cat /etc/vivarium/containers/bt.xml)" "<weight>200</weight>"

in_host sh -c "printf x >/tmp/not-a-disk"
out=$(vivctl blkiotune bt --device-read-iops-sec /tmp/not-a-disk,5 --live 2>&1)
check "blkiotune: a regular file is refused, named" contains "$out" "error: blkiotune device '/tmp/not-a-disk' is not a block device"
out=$(vivctl blkiotune bt --device-weights "$la,5" 2>&1)
check "blkiotune: weight 5 is refused" contains "$out" "out of range 10..1000"
out=$(vivctl blkiotune bt --device-weights "$la" 2>&1)
check "blkiotune: a path without value is refused" contains "$out" "unable to parse blkio device '$la'"
check "refused changes changed nothing" same "$(limit bt "$mb" wiops)" 55
vivctl destroy bt >/dev/null 2>&1
check "destroy: no scope" wait_until 60 scope_gone bt
vivctl undefine bt >/dev/null 2>&1

sed "s|<path>$lb</path>|<path>/tmp/not-a-disk</path>|" "$work/bt.xml" | sed 's|<name>bt</name>|<name>btbad</name>|' >"$work/btbad.xml"
out=$(vivctl define "$work/btbad.xml" 2>&1)
check "define: a path that is not a block device is refused, named" contains "$out" \
	"error: blkiotune device '/tmp/not-a-disk' is not a block device"
check "define: nothing written" not listed btbad
check "define: no file" not in_host test -e /etc/vivarium/containers/btbad.xml
# a node that goes between define and start
in_host sh -c "mknod /dev/vt-gone b ${ma#7:} 0 2>/dev/null || mknod /dev/vt-gone b 7 ${la#/dev/loop}"
sed "s|<path>$lb</path>|<path>/dev/vt-gone</path>|" "$work/bt.xml" | sed 's|<name>bt</name>|<name>btgone</name>|' >"$work/btgone.xml"
out=$(vivctl define "$work/btgone.xml" 2>&1)
check "define with a node that exists" contains "$out" "Domain btgone defined"
in_host rm -f /dev/vt-gone
out=$(vivctl start btgone 2>&1)
check "start: the missing node is named" contains "$out" "blkiotune device '/dev/vt-gone': No such file or directory"
check "start: shut off" is_state btgone "shut off"
check "start: no scope" scope_gone btgone
vivctl undefine btgone >/dev/null 2>&1

# ============================================================================
echo "# create --pass-fds: socket activation of a transient container's init"
cp "$here/lib/pass-fds-server.py" "$work/serve.py"
# the caller: two listening sockets, vivctl create --pass-fds with them
cp "$here/lib/pass-fds-activate.py" "$work/activate.py"
ask() { in_host python3 "$work/activate.py" ask "$1" 2>&1; }
for mode in off pick; do
	name=cact$mode
	cat >"$work/$name.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$name</name>
  <memory unit='MiB'>100</memory>
  <vivarium:userns mode='$mode'/>
  <os><type>exe</type><init>/usr/bin/python3</init><initarg>$work/serve.py</initarg></os>
  <devices><console type='pty'/></devices>
</domain>
XML
	out=$(in_host python3 "$work/activate.py" create "$work/$name.xml" 7711 7712)
	check "$mode: create --pass-fds: virsh's line" contains "$out" "Domain $name created from $work/$name.xml"
	one=$(ask 7711)
	two=$(ask 7712)
	check "$mode: a client of the first socket is answered by init on fd 3" contains "$one" "fd3 "
	check "$mode: ... of the second on fd 4" contains "$two" "fd4 "
	check "$mode: init has LISTEN_FDS=2, LISTEN_PID=1 and is PID 1" contains "$one" "LISTEN_FDS=2 LISTEN_PID=1 pid=1 "
	check "$mode: init has fds 0-4, nothing else" contains "$one" "fds=0,1,2,3,4"
	vivctl destroy "$name" >/dev/null 2>&1
	check "$mode: destroyed: transient, gone" wait_until 60 not listed "$name"
done
out=$(vivctl create "$work/cactoff.xml" --pass-fds 3,abc 2>&1)
check "create: a malformed fd: virsh's error" contains "$out" "error: Unable to parse FD number 'abc'"
out=$(vivctl create "$work/cactoff.xml" --pass-fds 200 2>&1)
check "create: an fd vivctl does not have: virsh's error" contains "$out" "error: Unable to get flags on fd 200"
check "create: nothing created" not listed cactoff

# ============================================================================
echo "# live attach-device/detach-device of <disk type='file'>"
# image_attached IMAGE: a loop device of the kernel has it as backing file
image_attached() { in_host sh -c "cat /sys/block/loop*/loop/backing_file 2>/dev/null" | grep -qxF "$1"; }
inside() { vivctl enter "$1" -- /bin/sh -c "$2" 2>&1; }
cat >"$work/disk-c.xml" <<XML
<disk type='file' device='disk'><driver name='loop' type='raw'/><source file='$img-c.img'/><target dev='vdd'/></disk>
XML
cat >"$work/disk-missing.xml" <<XML
<disk type='file' device='disk'><source file='$img-none.img'/><target dev='vde'/></disk>
XML
for mode in pick off; do
	name=ld$mode
	sleep_domain "$name" $mode
	sleep_domain_up "$name" "$mode: starts"
	check "$mode: the image is on no loop device yet" not image_attached "$img-c.img"
	out=$(vivctl attach-device "$name" "$work/disk-c.xml" --live 2>&1)
	check "$mode: attach-device --live of an image disk ($out)" same "$out" "Device attached successfully"
	check "$mode: the image is on a loop device" image_attached "$img-c.img"
	check "$mode: /dev/vdd inside reads the image" contains "$(inside "$name" 'head -c 17 /dev/vdd')" "vivarium-c-marker"
	check "$mode: dumpxml shows the disk" contains "$(vivctl dumpxml "$name" 2>&1)" "<source file='$img-c.img'/>"
	check "$mode: the definition does not have it (--live)" lacks "$(vivctl dumpxml "$name" --inactive 2>&1)" "$img-c.img"
	allow=$(in_host systemctl show "machine-$name.scope" -p DeviceAllow --value 2>&1)
	check "$mode: the scope allows the loop device" contains "$allow" "/dev/block/7:"
	out=$(vivctl detach-device "$name" "$work/disk-c.xml" --live 2>&1)
	check "$mode: detach-device --live ($out)" same "$out" "Device detached successfully"
	check "$mode: detach: the loop device is released" wait_until 30 not image_attached "$img-c.img"
	check "$mode: detach: /dev/vdd is gone inside" contains "$(inside "$name" 'ls /dev/vdd || echo gone')" "gone"
	check "$mode: detach: gone from dumpxml" lacks "$(vivctl dumpxml "$name" 2>&1)" "$img-c.img"
	check "$mode: detach: the scope no longer allows it" lacks \
		"$(in_host systemctl show "machine-$name.scope" -p DeviceAllow --value 2>&1)" "/dev/block/7:"
	out=$(vivctl attach-device "$name" "$work/disk-missing.xml" 2>&1)
	check "$mode: a missing image: named (--current, running: live)" contains "$out" \
		"Failed to attach disk image '$img-none.img' to a loop device: it does not exist"
	check "$mode: ... nothing attached" lacks "$(vivctl dumpxml "$name" 2>&1)" "vde"
	out=$(vivctl attach-device "$name" "$work/disk-c.xml" --persistent 2>&1)
	check "$mode: attach-device --persistent ($out)" same "$out" "Device attached successfully"
	check "$mode: --persistent: in the definition too" contains "$(vivctl dumpxml "$name" --inactive 2>&1)" "$img-c.img"
	check "$mode: --persistent: on a loop device" image_attached "$img-c.img"
	if [ $mode = pick ]; then
		vivctl destroy "$name" >/dev/null 2>&1
		check "$mode: destroy: the loop device is released" wait_until 30 not image_attached "$img-c.img"
	else
		id=$(vivctl domid "$name" 2>&1)
		[ "${id:-0}" -gt 0 ] 2>/dev/null && in_host kill -9 "$id"
		check "$mode: helper killed: the loop device is released" wait_until 30 not image_attached "$img-c.img"
		check "$mode: helper killed: no scope" wait_until 60 scope_gone "$name"
	fi
	out=$(vivctl detach-device "$name" "$work/disk-c.xml" --config 2>&1)
	check "$mode: detach-device --config ($out)" same "$out" "Device detached successfully"
	out=$(vivctl detach-device "$name" "$work/disk-c.xml" --live 2>&1)
	check "$mode: --live on a stopped domain: refused" contains "$out" "is not running"
	vivctl undefine "$name" >/dev/null 2>&1
done

# ============================================================================
echo "# live attach/detach of <interface> (attach-interface, attach-device)"
in_host sh -c 'ip link add vt-br0 type bridge && ip addr add 10.88.0.1/24 dev vt-br0 && ip link set vt-br0 up'
on_host() { in_host ip link show "$1" >/dev/null 2>&1; }
# guarded DEV / unguarded DEV: the ruleset names DEV or not (false when nft fails)
ruleset() { in_host nft list ruleset 2>/dev/null; }
guarded() { local r; r=$(ruleset) && grep -q "\"$1\"" <<<"$r"; }
unguarded() { local r; r=$(ruleset) && ! grep -q "\"$1\"" <<<"$r"; }
cat >"$work/if-guarded.xml" <<'XML'
<interface type='bridge' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <source bridge='vt-br0'/>
  <target dev='vt-lig'/>
  <mac address='52:54:00:aa:bb:02'/>
  <ip address='10.88.0.12' prefix='24'/>
  <vivarium:spoofcheck state='on'/>
</interface>
XML
for mode in pick off; do
	name=li$mode
	[ $mode = pick ] && ip0=10.88.0.2 || ip0=10.88.0.3
	sleep_domain "$name" $mode "<interface type='bridge'><source bridge='vt-br0'/><ip address='$ip0' prefix='24'/></interface>"
	sleep_domain_up "$name" "$mode: starts with one interface"
	out=$(vivctl attach-interface "$name" bridge vt-br0 --target vt-li1 --mac 52:54:00:aa:bb:01 --inbound 1000,2000,100 --live 2>&1)
	check "$mode: attach-interface bridge --live ($out)" same "$out" "Interface attached successfully"
	check "$mode: the host side vt-li1 is a port of vt-br0" contains "$(in_host ip -o link show vt-li1 2>&1)" "master vt-br0"
	links=$(inside "$name" 'ip -o link')
	check "$mode: eth1 is inside with the MAC" grep -Eq "eth1.*link/ether 52:54:00:aa:bb:01" <<<"$links"
	check "$mode: eth0 is still there" contains "$links" "eth0"
	check "$mode: domiflist shows vt-li1" grep -Eq '^ *vt-li1 +bridge +vt-br0 +- +52:54:00:aa:bb:01' <<<"$(vivctl domiflist "$name" 2>&1)"
	check "$mode: --inbound shapes vt-li1" contains "$(in_host tc qdisc show dev vt-li1 2>&1)" "qdisc htb 1: root"
	check "$mode: dumpxml has it, with its bandwidth" contains "$(vivctl dumpxml "$name" 2>&1)" "<inbound average='1000' peak='2000' burst='100'/>"
	check "$mode: the definition has not (--live)" lacks "$(vivctl dumpxml "$name" --inactive 2>&1)" "52:54:00:aa:bb:01"
	out=$(vivctl attach-device "$name" "$work/if-guarded.xml" --persistent 2>&1)
	check "$mode: attach-device of an <interface> with spoofcheck, --persistent ($out)" same "$out" "Device attached successfully"
	check "$mode: vt-lig is a port of vt-br0" contains "$(in_host ip -o link show vt-lig 2>&1)" "master vt-br0"
	# (retried: a dump of the ruleset can be interrupted by another change)
	check "$mode: the anti-spoofing filter covers vt-lig" wait_until 20 guarded vt-lig
	check "$mode: eth2 inside has its <ip>" contains "$(inside "$name" 'ip -o -4 addr show eth2')" "10.88.0.12/24"
	check "$mode: eth2 reaches the bridge" contains "$(inside "$name" 'ping -c 1 -W 10 -I eth2 10.88.0.1 2>&1')" "1 packets received"
	check "$mode: --persistent: in the definition too" contains "$(vivctl dumpxml "$name" --inactive 2>&1)" "52:54:00:aa:bb:02"
	out=$(vivctl detach-interface "$name" bridge 2>&1)
	check "$mode: detach-interface with three bridge interfaces and no --mac: virsh's error" contains "$out" \
		"Domain has 3 interfaces. Please specify which one to detach using --mac"
	out=$(vivctl detach-interface "$name" bridge --mac 52:54:00:aa:bb:02 --live 2>&1)
	check "$mode: detach-interface --mac --live ($out)" same "$out" "Interface detached successfully"
	check "$mode: vt-lig is gone from the host" not on_host vt-lig
	check "$mode: its filter is gone" wait_until 20 unguarded vt-lig
	check "$mode: eth2 is gone inside" lacks "$(inside "$name" 'ip -o link')" "eth2"
	check "$mode: ... and from domiflist" lacks "$(vivctl domiflist "$name" 2>&1)" "vt-lig"
	check "$mode: the definition keeps it (--live)" contains "$(vivctl dumpxml "$name" --inactive 2>&1)" "52:54:00:aa:bb:02"
	out=$(vivctl detach-device "$name" "$work/if-guarded.xml" --config 2>&1)
	check "$mode: detach-device --config ($out)" same "$out" "Device detached successfully"
	check "$mode: --config: gone from the definition" lacks "$(vivctl dumpxml "$name" --inactive 2>&1)" "52:54:00:aa:bb:02"
	out=$(vivctl detach-interface "$name" bridge --mac 52:54:00:aa:bb:01 2>&1)
	check "$mode: detach-interface (--current: live) ($out)" same "$out" "Interface detached successfully"
	check "$mode: vt-li1 is gone from the host" not on_host vt-li1
	check "$mode: its shaping went with it" lacks "$(in_host tc qdisc show 2>&1)" "vt-li1"
	out=$(vivctl attach-interface "$name" network default --target vt-lin --mac 52:54:00:aa:bb:03 --live 2>&1)
	check "$mode: attach-interface network default ($out)" same "$out" "Interface attached successfully"
	bridge=$(vivctl net-info default 2>&1 | sed -n 's/^Bridge: *//p')
	check "$mode: vt-lin is a port of the network's bridge ($bridge)" contains "$(in_host ip -o link show vt-lin 2>&1)" "master $bridge"
	check "$mode: a managed network's port is filtered by default" wait_until 20 guarded vt-lin
	out=$(vivctl detach-interface "$name" network 2>&1)
	check "$mode: detach-interface network (the only one) ($out)" same "$out" "Interface detached successfully"
	check "$mode: vt-lin and its filter are gone" wait_until 20 unguarded vt-lin
	check "$mode: ... the device too" not on_host vt-lin
	before=$(in_host ip -o link show | wc -l)
	out=$(vivctl attach-interface "$name" bridge vt-nosuch --live 2>&1)
	check "$mode: a missing bridge: named" contains "$out" "Bridge 'vt-nosuch' does not exist"
	check "$mode: ... no device left on the host" same "$(in_host ip -o link show | wc -l)" "$before"
	check "$mode: ... nothing in the live definition" same "$(vivctl domiflist "$name" 2>&1 | grep -c vt-br0)" 1
	out=$(vivctl attach-interface "$name" ethernet - --target vt-lie --live 2>&1)
	check "$mode: attach-interface ethernet ($out)" same "$out" "Interface attached successfully"
	check "$mode: vt-lie is on the host, no bridge's port" lacks "$(in_host ip -o link show vt-lie 2>&1)" "master"
	check "$mode: eth1 is inside again" contains "$(inside "$name" 'ip -o link')" "eth1"
	if [ $mode = pick ]; then
		vivctl destroy "$name" >/dev/null 2>&1
		check "$mode: destroy: the attached vt-lie is gone" wait_until 30 not on_host vt-lie
	else
		id=$(vivctl domid "$name" 2>&1)
		[ "${id:-0}" -gt 0 ] 2>/dev/null && in_host kill -9 "$id"
		check "$mode: helper killed: the attached vt-lie is gone" wait_until 30 not on_host vt-lie
		check "$mode: helper killed: no scope" wait_until 60 scope_gone "$name"
	fi
	vivctl undefine "$name" >/dev/null 2>&1
done
out=$(vivctl attach-interface ldpick bridge vt-br0 2>&1)
check "attach-interface of an unknown domain: refused" contains "$out" "error:"
cat >"$work/noif.xml" <<'XML'
<domain type='lxc'>
  <name>noif</name>
  <memory unit='MiB'>64</memory>
  <os><type>exe</type><init>/bin/sleep</init><initarg>600</initarg></os>
  <devices><filesystem type='mount'><source dir='/tmp/dr'/><target dir='/'/></filesystem></devices>
</domain>
XML
vivctl create "$work/noif.xml" >/dev/null 2>&1
out=$(vivctl attach-interface noif bridge vt-br0 --live 2>&1)
check "a container on the host's network namespace: refused" contains "$out" "shares the host's network namespace"
out=$(vivctl attach-interface noif wifi vt-br0 2>&1)
check "an unknown type: virsh's error" contains "$out" "No support for wifi in command 'attach-interface'"
vivctl destroy noif >/dev/null 2>&1

echo "1..$n"
[ "$failures" -eq 0 ]
