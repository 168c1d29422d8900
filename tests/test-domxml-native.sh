#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vivctl domxml-from-native lxc-tools (issue 19): LXC configurations of both
# key generations (tests/native/*.conf, written for this test) converted to
# domain XML as libvirt's LXC driver converts them, each result checked for
# what it must say (blkio device keys of both generations included) and
# validated with vivctl validate; bad inputs refused
# with a message naming the file, the line or the value. Offline: no root,
# no bus.
#   test-domxml-native.sh [PATH-TO-VIVCTL]
set -u

VIVCTL=$(readlink -f "${1:-${VIVARIUM_BUILD_DIR:-build}/src/ctl/vivctl}")
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
data=$here/native
[ -x "$VIVCTL" ] || { echo "not ok 1 - no vivctl at '$VIVCTL'"; exit 1; }
# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/test-domxml-native.XXXXXX")
trap 'rm -rf "$work"' EXIT
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/no-such-bus

# convert NAME: $xml holds the output, $rc the status; the XML is validated
convert() {
	xml=$("$VIVCTL" domxml-from-native lxc-tools "$data/$1.conf" 2>"$work/$1.err")
	rc=$?
	printf '%s\n' "$xml" >"$work/$1.xml"
	check "$1: converts" same "$rc" 0
	out=$("$VIVCTL" validate "$work/$1.xml" 2>&1)
	check "$1: the result validates" contains "$out" "$work/$1.xml validates"
}
has() { check "$1: $2" contains "$xml" "$2"; }
hasnt() { check "$1: no $2" lacks "$xml" "$2"; }
refused() { # NAME MESSAGE
	out=$("$VIVCTL" domxml-from-native lxc-tools "$data/$1.conf" 2>&1)
	rc=$?
	check "$1: refused (status 1)" same "$rc" 1
	check "$1: $2" contains "$out" "$2"
	check "$1: no XML on a refusal" lacks "$out" "<domain"
}

echo "# LXC 1.x keys"
convert lxc1-web
n1=lxc1-web
has $n1 "<name>web1</name>"
has $n1 "<memory unit='KiB'>524288</memory>"
has $n1 "<hard_limit unit='KiB'>524288</hard_limit>"
has $n1 "<soft_limit unit='KiB'>262144</soft_limit>"
has $n1 "<vcpu placement='static' cpuset='0-1'>2</vcpu>"
has $n1 "<shares>512</shares>"
has $n1 "<weight>300</weight>"
has $n1 "<type arch='x86_64'>exe</type>"
has $n1 "<init>/sbin/init</init>"
has $n1 "<source dir='/var/lib/lxc/web1/rootfs'/>
      <target dir='/'/>"
has $n1 "<source dir='/srv/www'/>
      <target dir='/var/www'/>
      <readonly/>"
has $n1 "<filesystem type='ram'>
      <source usage='16384' units='KiB'/>
      <target dir='/run'/>"
hasnt $n1 "<target dir='/proc'/>"
has $n1 "<interface type='bridge'>
      <source bridge='virbr0'/>
      <mac address='52:54:00:12:34:56'/>
      <guest dev='eth0'/>
      <ip family='ipv4' address='192.168.122.10' prefix='24'/>
      <route family='ipv4' address='0.0.0.0' prefix='0' gateway='192.168.122.1'/>
    </interface>"
has $n1 "<interface type='direct'>
      <source dev='eth1' mode='bridge'/>
      <link state='down'/>"
has $n1 "<uid start='0' target='100000' count='65536'/>"
has $n1 "<gid start='0' target='100000' count='65536'/>"
has $n1 "<capabilities policy='default'>
      <sys_module state='off'/>
      <mac_admin state='off'/>
      <sys_time state='off'/>"
has $n1 "<target type='lxc' port='1'/>"
hasnt $n1 "port='2'"
hasnt $n1 "<privnet/>"
has $n1 "<on_reboot>restart</on_reboot>"
# lxc.cgroup.blkio.*_device: one <device> per MAJOR:MINOR, its lines merged
has $n1 "<blkiotune>
    <weight>300</weight>
    <device>
      <path>/dev/block/8:16</path>
      <weight>1000</weight>
      <write_iops_sec>200</write_iops_sec>
      <read_bytes_sec>10485760</read_bytes_sec>
    </device>
    <device>
      <path>/dev/block/8:32</path>
      <weight>50</weight>
    </device>
    <device>
      <path>/dev/block/253:0</path>
      <read_iops_sec>300</read_iops_sec>
    </device>
  </blkiotune>"
hasnt $n1 "<write_bytes_sec>"
hasnt $n1 "/dev/block/7:0"
check "$n1: a blkio key without a counterpart: warned, naming it" contains "$(cat "$work/$n1.err")" \
	"lxc1-web.conf:36: 'lxc.cgroup.blkio.leaf_weight' is not converted"

echo "# LXC 2.1+ keys"
convert lxc2-db
n2=lxc2-db
has $n2 "<name>db</name>"
has $n2 "<source dir='/srv/db/rootfs'/>"
has $n2 "<init>/bin/sh</init>
    <initarg>-c</initarg>
    <initarg>exec sleep 600</initarg>"
has $n2 "<memory unit='KiB'>1048576</memory>"
has $n2 "<period>100000</period>
    <quota>50000</quota>"
has $n2 "<source bridge='br0'/>"
has $n2 "<target dev='vdb0'/>"
has $n2 "<ip family='ipv6' address='fd00::5' prefix='64'/>"
hasnt $n2 "<link state='down'/>"
has $n2 "<hostdev mode='capabilities' type='net'>
      <source>
        <interface>eth9</interface>"
has $n2 "<uid start='0' target='200000' count='65536'/>"
has $n2 "<target type='lxc' port='0'/>"
hasnt $n2 "port='1'"
# lxc.cgroup2.io.max: two lines of one device merged, "max" is no limit
has $n2 "<blkiotune>
    <device>
      <path>/dev/block/8:0</path>
      <write_iops_sec>120</write_iops_sec>
      <read_bytes_sec>2097152</read_bytes_sec>
      <write_bytes_sec>1048576</write_bytes_sec>
    </device>
  </blkiotune>"
hasnt $n2 "<read_iops_sec>"

echo "# libvirt's defaults"
convert minimal
has minimal "<name>minimal</name>"
has minimal "<memory unit='KiB'>65536</memory>"
has minimal "<init>/sbin/init</init>"
has minimal "<privnet/>"
hasnt minimal "<console"
convert hostnet
hasnt hostnet "<privnet/>"
hasnt hostnet "<interface"

echo "# refused"
refused bad-mount "lxc.mount found, use lxc.mount.entry lines instead"
refused bad-idmap-uonly "lxc.idmap maps uids but no gids"
refused bad-idmap "bad-idmap.conf:2: invalid lxc.idmap: 'u 0 100000'"
refused bad-size "failed to parse the size '12Q' of lxc.cgroup.memory.limit_in_bytes"
refused bad-cidr "Invalid CIDR address: '10.0.0.1'"
refused bad-macvlan "Missing 'link' attribute for NIC"
refused bad-netorder "bad-netorder.conf:2: 'lxc.network.link' before any lxc.network.type"
refused bad-syntax "bad-syntax.conf:2: expected 'key = value'"
refused bad-blkio "bad-blkio.conf:2: invalid lxc.cgroup.blkio.throttle.read_bps_device value '8:16 fast': expected 'MAJOR:MINOR VALUE' with a whole number"
refused bad-blkio-weight "bad-blkio-weight.conf:2: invalid lxc.cgroup.blkio.weight_device value '8:16 5': expected 'MAJOR:MINOR WEIGHT' with a weight of 10 to 1000"
refused bad-blkio-dev "bad-blkio-dev.conf:2: invalid lxc.cgroup.blkio.throttle.write_iops_device value 'sda 100': expected 'MAJOR:MINOR VALUE'"
refused bad-io-max "bad-io-max.conf:2: invalid lxc.cgroup2.io.max value '8:0 rbps=1 speed=2': 'speed=2' is not rbps, wbps, riops or wiops"
out=$("$VIVCTL" domxml-from-native vmx "$data/minimal.conf" 2>&1)
check "another format: libvirt's error" contains "$out" "unsupported config type vmx"
out=$("$VIVCTL" domxml-from-native lxc-tools "$work/nothere.conf" 2>&1)
check "a missing file: named" contains "$out" "Failed to open file '$work/nothere.conf'"

echo "1..$n"
[ "$failures" -eq 0 ]
