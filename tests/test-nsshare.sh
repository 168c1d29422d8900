#!/bin/bash
# <lxc:namespace> sharing under the container's own user namespace (issue 19),
# in a test host through vivariumd, in the default mode (mode='pick') and with
# <vivarium:userns mode='off'/>:
#  - an owner container on the default network (a static <ip>) and a joiner
#    with sharenet, shareipc and shareuts type='name' of it: the joiner's init
#    is in the owner's net, IPC and UTS namespaces (inode numbers of
#    /proc/1/ns/* inside both), sees the same eth0 and address, has the
#    owner's hostname, and reads a SysV shared memory segment the owner made
#    (mode 0666, key 0x5601);
#  - what the joiner's root cannot do in the default mode (those namespaces
#    belong to the owner's user namespace): add an address, set the
#    hostname, read the owner's segment of mode 0600 (another range's
#    root); with mode='off' both are the host's root and it reads it;
#  - type='netns' (/run/netns/vt-red, the test host's user namespace) under
#    a picked range: the joiner sees the netns's device;
#  - a container that is not running, and a missing /run/netns name, fail
#    the start naming them and leave no scope and a shut-off domain.
# The containers share the test host's root (read-only in the default mode);
# perl (/usr/bin/perl, from the machine's tree) makes and reads the segments.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl
[ -x /usr/bin/perl ] || testhost_skip_or_fail "no /usr/bin/perl"

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
inside() { vivctl enter "$1" -- /bin/sh -c "$2" 2>&1; }
scope_gone() { ! in_host systemctl -q is-active "machine-$1.scope"; }
running() { [ "$(vivctl domstate "$1" 2>&1)" = running ]; }

work=$(mktemp -d /tmp/vt-nsshare.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-nsshare-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# container NAME MODE DEVICES NAMESPACE-ELEMENTS: a shared-root sleeper
container() {
	cat >"$work/$1.xml" <<XML
<domain type='lxc' xmlns:lxc='http://libvirt.org/schemas/domain/lxc/1.0' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vivarium:userns mode='$2'/>
  <os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>
  <devices>
    <console type='pty'/>
    $3
  </devices>
  ${4:+<lxc:namespace>$4</lxc:namespace>}
</domain>
XML
}
ns() { inside "$1" "readlink /proc/1/ns/$2"; }
# perl's shmget/shmwrite/shmread: core built-ins, no module needed
shm_make() { # NAME KEY MODE TEXT
	inside "$1" "/usr/bin/perl -e 'defined(\$i = shmget($2, 64, 01000 | $3)) or die \"shmget: \$!\\n\"; shmwrite(\$i, \"$4\", 0, 64) or die \"shmwrite: \$!\\n\"; print \"made\\n\"'"
}
shm_read() { # NAME KEY
	inside "$1" "/usr/bin/perl -e 'defined(\$i = shmget($2, 0, 0)) or die \"shmget: \$!\\n\"; shmread(\$i, \$v, 0, 64) or die \"shmread: \$!\\n\"; \$v =~ s/\\0.*//s; print \"\$v\\n\"'"
}

net_active() { vivctl net-info default 2>&1 | grep -Eq '^Active: +yes'; }
# autostarted already, normally (vivariumd may still be bringing it up)
net_active || vivctl net-start default >/dev/null 2>&1
check "the default network is active" wait_until 60 net_active

for mode in pick off; do
	[ $mode = pick ] && ip=192.168.124.201 || ip=192.168.124.202
	owner=nsown$mode joiner=nsjoin$mode
	echo "# $mode: sharenet, shareipc, shareuts type='name'"
	container $owner $mode "<interface type='network'><source network='default'/><ip address='$ip' prefix='24'/></interface>" ""
	out=$(vivctl create "$work/$owner.xml" 2>&1)
	check "$mode: the owner on the default network starts ($out)" contains "$out" "Domain $owner created"
	out=$(shm_make $owner 0x5601 0666 vivarium-shared-0666)
	check "$mode: the owner makes a segment of mode 0666 ($out)" same "$out" "made"
	out=$(shm_make $owner 0x5602 0600 vivarium-private-0600)
	check "$mode: ... and one of mode 0600 ($out)" same "$out" "made"

	container $joiner $mode "" "<lxc:sharenet type='name' value='$owner'/><lxc:shareipc type='name' value='$owner'/><lxc:shareuts type='name' value='$owner'/>"
	out=$(vivctl create "$work/$joiner.xml" 2>&1)
	check "$mode: the joiner starts ($out)" contains "$out" "Domain $joiner created"
	for kind in net ipc uts; do
		a=$(ns $owner $kind) b=$(ns $joiner $kind)
		check "$mode: the joiner's init is in the owner's $kind namespace ($b)" same "$b" "$a"
	done
	uj=$(ns $joiner user) hostuser=$(in_host readlink /proc/1/ns/user)
	if [ $mode = pick ]; then
		check "pick: the joiner has a user namespace of its own ($uj)" not same "$uj" "$hostuser" 2>/dev/null
		check "pick: ... not the owner's" not same "$uj" "$(ns $owner user)" 2>/dev/null
	else
		check "off: the joiner is in the host's user namespace" same "$uj" "$hostuser"
	fi
	addrs=$(inside $joiner 'ip -o -4 addr show eth0')
	check "$mode: the joiner sees the owner's eth0 and address" contains "$addrs" "inet $ip/24"
	check "$mode: ... the same as the owner sees" same "$addrs" "$(inside $owner 'ip -o -4 addr show eth0')"
	check "$mode: the joiner has the owner's hostname" same "$(inside $joiner hostname)" "$owner"
	out=$(shm_read $joiner 0x5601)
	check "$mode: the joiner reads the owner's segment of mode 0666 ($out)" same "$out" "vivarium-shared-0666"
	if [ $mode = pick ]; then
		out=$(inside $joiner 'ip addr add 10.99.0.1/32 dev lo 2>&1; echo rc=$?')
		check "pick: the joiner's root cannot add an address ($out)" contains "$out" "Operation not permitted"
		out=$(inside $joiner 'hostname other 2>&1; echo rc=$?')
		check "pick: ... nor set the hostname ($out)" lacks "$out" "rc=0"
		check "pick: ... which stays the owner's" same "$(inside $owner hostname)" "$owner"
		out=$(shm_read $joiner 0x5602)
		check "pick: ... nor read the owner's segment of mode 0600 ($out)" contains "$out" "Permission denied"
		out=$(inside $owner 'ip addr add 10.99.0.1/32 dev lo 2>&1; echo rc=$?')
		check "pick: the owner's root can, in its own namespace ($out)" contains "$out" "rc=0"
		check "pick: ... and the joiner sees it" contains "$(inside $joiner 'ip -o -4 addr show lo')" "10.99.0.1/32"
	else
		out=$(shm_read $joiner 0x5602)
		check "off: both the host's root: the joiner reads the segment of mode 0600 too ($out)" same "$out" "vivarium-private-0600"
	fi
	vivctl destroy $joiner >/dev/null 2>&1
	check "$mode: destroy of the joiner: its scope is gone" wait_until 60 scope_gone $joiner
	check "$mode: ... the owner runs on" running $owner
	check "$mode: ... with its address" contains "$(inside $owner 'ip -o -4 addr show eth0')" "inet $ip/24"
	vivctl destroy $owner >/dev/null 2>&1
	check "$mode: the owner is destroyed" wait_until 60 scope_gone $owner
done

echo "# pick: sharenet type='netns' (a namespace of the test host's user namespace)"
in_host sh -c 'ip netns add vt-red && ip link add vt-a type veth peer name vt-b && ip link set vt-b netns vt-red' ||
	not_ok "make the network namespace vt-red with vt-b in it"
red=$(in_host ip netns exec vt-red readlink /proc/self/ns/net 2>&1)
container nsred pick "" "<lxc:sharenet type='netns' value='vt-red'/>"
out=$(vivctl create "$work/nsred.xml" 2>&1)
check "pick: sharenet type='netns' starts ($out)" contains "$out" "Domain nsred created"
check "pick: ... in /run/netns/vt-red ($red)" same "$(ns nsred net)" "$red"
check "pick: ... and sees its device vt-b" contains "$(inside nsred 'ip -o link')" "vt-b"
out=$(inside nsred 'ip link set vt-b up 2>&1; echo rc=$?')
check "pick: ... which its root cannot set up ($out)" contains "$out" "Operation not permitted"
check "pick: ... its hostname is its own" same "$(inside nsred hostname)" "nsred"
vivctl destroy nsred >/dev/null 2>&1
check "pick: destroyed" wait_until 60 scope_gone nsred

echo "# a missing target, under a picked range: a clear error, nothing left"
for mode in pick off; do
	container nsgone$mode $mode "" "<lxc:sharenet type='name' value='nsnobody'/>"
	out=$(vivctl create "$work/nsgone$mode.xml" 2>&1)
	check "$mode: sharing with a container that is not running is refused, naming it" contains "$out" \
		"Container 'nsgone$mode' shares the net namespace of container 'nsnobody' (<sharenet>), which is not running"
	check "$mode: ... no scope left" scope_gone nsgone$mode
	check "$mode: ... no domain left (transient)" not quiet vivctl domstate nsgone$mode
done
container nsnone pick "" "<lxc:shareuts type='pid' value='999999'/>"
out=$(vivctl create "$work/nsnone.xml" 2>&1)
check "pick: a PID that does not exist is refused, naming it" contains "$out" \
	"Failed to open the uts namespace '/proc/999999/ns/uts' for container 'nsnone'"
check "pick: ... no scope left" scope_gone nsnone
container nsnetns pick "" "<lxc:sharenet type='netns' value='vt-nope'/>"
vivctl define "$work/nsnetns.xml" >/dev/null 2>&1
out=$(vivctl start nsnetns 2>&1)
check "pick: a missing /run/netns name is refused, naming it" contains "$out" \
	"Failed to open the net namespace '/run/netns/vt-nope' for container 'nsnetns'"
check "pick: ... no scope left" scope_gone nsnetns
check "pick: ... the domain is shut off" same "$(vivctl domstate nsnetns 2>&1)" "shut off"
check "pick: ... no helper socket left" not in_host test -e /run/vivarium/containers/nsnetns.sock
vivctl undefine nsnetns >/dev/null 2>&1
in_host sh -c 'ip link del vt-a; ip netns del vt-red' 2>/dev/null

echo "1..$n"
[ "$failures" -eq 0 ]
