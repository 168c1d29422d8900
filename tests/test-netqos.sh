#!/bin/bash
# Network QoS (issue 19) in a test host, with the installed build and vivctl:
#  - a network's <bandwidth> in net-dumpxml, on its bridge after net-start
#    (HTB root 1:, class 1:1 at the inbound rate, default class 1:2, ifb for
#    the outbound) and gone after net-destroy; a floor in a network's own
#    <bandwidth> is refused and writes nothing;
#  - real TCP streams from the test host to containers on the network: one
#    stream alone gets the network's inbound rate (within 10%); two at once,
#    the container with <inbound floor> gets at least its floor and the
#    other one the rest;
#  - the floor's class (1:3 and its MAC filter) exists while the container
#    runs and is gone after destroy, after the helper was SIGKILLed, and is
#    made again after a manager restart;
#  - a floor sum over the network's rate refuses the start with libvirt's
#    message, leaving no scope, veth or class; a floor on a network without
#    inbound QoS is refused too;
#  - domiftune --live changes a floor, attach-device/detach-device --live
#    of an interface with a floor makes and removes its class (both refused
#    when the sum would not fit).
# Traffic stays inside the test host's network namespace and the
# containers'. Rates are measured over a window on the receiving side; a
# rate below its bound is measured once more before it counts as a failure
# (a loaded machine may not send fast enough for a moment; nothing makes a
# shaped stream faster than its bound). Exit: 0 pass, 1 fail, 77 skipped
# (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl
command -v python3 >/dev/null || testhost_skip_or_fail "needs python3 (the traffic's sender and receivers)"
command -v tc >/dev/null || PATH=$PATH:/usr/sbin command -v tc >/dev/null ||
	testhost_skip_or_fail "needs tc (iproute2) to look at the bridge's classes"

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/net-peer.sh
. "$here/lib/net-peer.sh"
vivctl() { testhost_run vivctl -c lxc:/// "$@"; } # instead of net-peer.sh's: through libvirt's URI
is_state() { [ "$(vivctl domstate "$1" 2>&1)" = "$2" ]; }
no_link() { ! in_host ip link show "$1" >/dev/null 2>&1; }
classes() { in_host tc class show dev vqbr0 2>&1; }
filters() { in_host tc filter show dev vqbr0 2>&1; }
has_class() { contains "$(classes)" "class htb $1 " 2>/dev/null; }
class_of() { classes | grep "^class htb $1 "; } # HANDLE: its line
no_class() { ! has_class "$1"; }
no_scope() { ! in_host systemctl -q is-active "machine-$1.scope" 2>/dev/null; }

work=$(mktemp -d /tmp/vt-netqos.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
cp "$here/lib/netns-rate.py" "$work/"
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-qos-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# write_xml NAME IP TARGET BANDWIDTH [NETWORK]: a shared root on NETWORK
# (vtqos), address 10.93.0.IP, host side TARGET
write_xml() {
	cat >"$work/$1.xml" <<XML
<domain type='lxc'>
  <name>$1</name>
  <memory>131072</memory>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>exec sleep 100000</initarg></os>
  <devices>
    <console type='pty'/>
    <interface type='network'>
      <mac address='52:54:00:93:00:0$2'/>
      <source network='${5:-vtqos}'/>
      <target dev='$3'/>
      <ip address='10.93.0.$2' prefix='24'/>
      $4
    </interface>
  </devices>
</domain>
XML
}

# ============================================================================
echo "# the network's <bandwidth>"
cat >"$work/vtqos.xml" <<'XML'
<network>
  <name>vtqos</name>
  <bridge name='vqbr0'/>
  <bandwidth>
    <inbound average='2048'/>
    <outbound average='4096' burst='64'/>
  </bandwidth>
  <ip address='10.93.0.1' prefix='24'/>
</network>
XML
out=$(vivctl net-define "$work/vtqos.xml" 2>&1)
check "net-define a network with <bandwidth>" contains "$out" "Network vtqos defined"
out=$(vivctl net-dumpxml vtqos 2>&1)
check "net-dumpxml shows it" contains "$out" "  <bandwidth>
    <inbound average='2048'/>
    <outbound average='4096' burst='64'/>
  </bandwidth>"
out=$(vivctl net-start vtqos 2>&1)
check "net-start vtqos" contains "$out" "Network vtqos started"
out=$(in_host tc qdisc show dev vqbr0 2>&1)
check "vqbr0: an htb root" contains "$out" "qdisc htb 1: root"
check "... whose default class is 1:2" contains "$out" "default 0x2"
check "... and an ingress qdisc for the outbound" contains "$out" "qdisc ingress ffff:"
out=$(classes)
check "class 1:1 at the network's 2048 KiB/s (16Mbit)" contains "$out" "class htb 1:1 root rate 16777Kbit"
check "the default class 1:2 under it" contains "$out" "class htb 1:2 parent 1:1"
check "ifb-vqbr0 carries the outbound" in_host ip link show ifb-vqbr0

sed 's/<inbound average=.2048.\/>/<inbound average="2048" floor="10"\/>/; s/vtqos/vtqbad/; s/vqbr0/vqbr9/' \
	"$work/vtqos.xml" >"$work/vtqbad.xml"
out=$(vivctl net-define "$work/vtqbad.xml" 2>&1)
check "a floor in a network's own <bandwidth> is refused, saying where" \
	contains "$out" "vtqbad.xml:5:29: attribute 'floor' is only supported in the <inbound> of an interface, not of a network"
check "... and nothing is written" not in_host test -e /etc/vivarium/networks/vtqbad.xml

# ============================================================================
echo "# floors: real traffic from the host to two containers"
# qa has a floor of 1536 KiB/s; qb none (the default class: the rest)
write_xml qa 2 vqa0 "<bandwidth><inbound floor='1536'/></bandwidth>"
write_xml qb 3 vqb0 ""
vivctl define "$work/qa.xml" >/dev/null 2>&1
vivctl define "$work/qb.xml" >/dev/null 2>&1
out=$(vivctl start qa 2>&1)
check "start qa (floor 1536 of 2048)" contains "$out" "Domain qa started"
out=$(vivctl start qb 2>&1)
check "start qb (no floor)" contains "$out" "Domain qb started"
out=$(class_of 1:3)
check "qa's class 1:3 under 1:1" contains "$out" "class htb 1:3 parent 1:1 "
check "... rate 1536 KiB/s (12582Kbit), ceil the network's 2048 (16777Kbit)" contains "$out" "rate 12582Kbit ceil 16777Kbit"
check "the default class 1:2 has the rest: 512 KiB/s (4194Kbit)" contains "$(class_of 1:2)" "rate 4194Kbit ceil 16777Kbit"
out=$(filters)
check "a filter sends frames to qa's MAC to 1:3" contains "$out" "flowid 1:3"
check "... matching 52:54:00:93:00:02" contains "$out" "match 00930002/ffffffff at -12"
check "... (its first two bytes)" contains "$out" "match 00005254/0000ffff at -16"
out=$(vivctl domiftune qa vqa0 2>&1)
check "domiftune shows qa's floor" contains "$out" "inbound.floor  : 1536"

leader() { in_host machinectl show "$1" -p Leader --value 2>/dev/null; }
port=5300
# rates SECS NAME:IP...: the bytes/s each container receives, all at once
rates() {
	local secs=$1 t args=()
	shift
	for t in "$@"; do
		port=$((port + 1))
		args+=("$(leader "${t%%:*}"):${t#*:}:$port")
	done
	in_host python3 "$work/netns-rate.py" "$secs" "${args[@]}"
}
within10() { # MEASURED KIB_PER_S
	local want=$(($2 * 1024))
	[ -n "$1" ] && [ "$1" -gt $((want * 9 / 10)) ] && [ "$1" -lt $((want * 11 / 10)) ] && return 0
	echo "#  measured '$1' B/s, wanted $want B/s +- 10%" >&2
	return 1
}
at_least() { # MEASURED KIB_PER_S: at least 90% of it
	[ -n "$1" ] && [ "$1" -gt $(($2 * 1024 * 9 / 10)) ] && return 0
	echo "#  measured '$1' B/s, wanted at least 90% of $(($2 * 1024)) B/s" >&2
	return 1
}
below() { # MEASURED KIB_PER_S
	[ -n "$1" ] && [ "$1" -lt $(($2 * 1024)) ] && return 0
	echo "#  measured '$1' B/s, wanted less than $(($2 * 1024)) B/s" >&2
	return 1
}

# one stream (to qb, which has no floor): the network's rate
r=$(rates 6 qb:10.93.0.3)
within10 "$r" 2048 2>/dev/null || r=$(rates 6 qb:10.93.0.3)
check "one stream host -> qb: the network's 2048 KiB/s ($r B/s)" within10 "$r" 2048

# both at once: qa its floor, qb the rest, together the network's rate
both_ok() { at_least "${r% *}" 1536 && at_least "${r#* }" 512 && within10 $((${r% *} + ${r#* })) 2048; }
r=$(rates 8 qa:10.93.0.2 qb:10.93.0.3)
both_ok 2>/dev/null || r=$(rates 8 qa:10.93.0.2 qb:10.93.0.3)
check "two streams: qa gets at least its floor of 1536 KiB/s (${r% *} B/s)" at_least "${r% *}" 1536
check "... qb the rest, 512 KiB/s (${r#* } B/s)" at_least "${r#* }" 512
check "... not qa's share (${r#* } B/s)" below "${r#* }" 1024
check "... together the network's 2048 KiB/s" within10 $((${r% *} + ${r#* })) 2048

# ============================================================================
echo "# a floor sum over the network's rate, a floor without network QoS"
write_xml qc 4 vqc0 "<bandwidth><inbound floor='1024'/></bandwidth>"
out=$(vivctl create "$work/qc.xml" 2>&1)
check "qc (floor 1024 more) is refused with libvirt's message" contains "$out" \
	"Cannot plug interface with MAC address 52:54:00:93:00:04 of container 'qc' into 'vqbr0' because new combined inbound floor=2560 would overcommit average=2048 on network 'vtqos'"
check "... no scope of qc" no_scope qc
check "... no veth vqc0" no_link vqc0
check "... no class 1:4" no_class 1:4
check "... qa's class 1:3 stays" has_class 1:3
check "... the default class still has 512 KiB/s" contains "$(class_of 1:2)" "rate 4194Kbit"

# a start that fails after the class was made (init missing): nothing left
write_xml qe 6 vqe0 "<bandwidth><inbound floor='256'/></bandwidth>"
sed -i 's|<init>/bin/sh</init>|<init>/nonexistent/init</init>|' "$work/qe.xml"
out=$(vivctl create "$work/qe.xml" 2>&1)
check "qe (floor 256, no init) fails to start" contains "$out" "/nonexistent/init"
check "... no scope of qe" wait_until 30 no_scope qe
check "... no veth vqe0" wait_until 30 no_link vqe0
check "... no class 1:4" wait_until 30 no_class 1:4
check "... no filter for its MAC" lacks "$(filters)" "00930006"

net_up vtplain vqbr1 10.94.0 ""
write_xml qd 5 vqd0 "<bandwidth><inbound floor='100'/></bandwidth>" vtplain
out=$(vivctl create "$work/qd.xml" 2>&1)
check "a floor on a network without inbound QoS is refused" contains "$out" \
	"Invalid use of 'floor' on interface with MAC address 52:54:00:93:00:05 of container 'qd': network 'vtplain' has no inbound QoS set"
check "... no scope of qd" no_scope qd
check "... no veth vqd0" no_link vqd0
check "... no qdisc on vqbr1" lacks "$(in_host tc qdisc show dev vqbr1 2>&1)" "htb"

# ============================================================================
echo "# domiftune --live of a floor"
out=$(vivctl domiftune qa vqa0 --inbound 0,,,1024 --live 2>&1)
check "domiftune qa --inbound 0,,,1024 --live" same "$out" ""
check "qa's class has 1024 KiB/s now (8388Kbit)" contains "$(class_of 1:3)" "rate 8388Kbit ceil 16777Kbit"
check "... the default class 1024 KiB/s" contains "$(class_of 1:2)" "rate 8388Kbit"
out=$(vivctl domiftune qb vqb0 --inbound 0,,,1500 --live 2>&1)
check "a floor for qb that does not fit is refused" contains "$out" \
	"because new combined inbound floor=2524 would overcommit average=2048 on network 'vtqos'"
out=$(vivctl domiftune qb vqb0 --inbound 0,,,1000 --live 2>&1)
check "one that fits is taken" same "$out" ""
check "... its class 1:4 is there: 1000 KiB/s (8192Kbit)" contains "$(class_of 1:4)" "rate 8192Kbit"
check "... the default class has what is left: 24 KiB/s (196608bit)" contains "$(class_of 1:2)" "rate 196608bit "
out=$(vivctl domiftune qb vqb0 --inbound 0 --live 2>&1)
check "domiftune qb --inbound 0 removes its floor" same "$out" ""
check "... one floor class left (qa's)" same "$(classes | grep -c 'class htb 1:[3-9a-f]')" "1"

# ============================================================================
echo "# live attach and detach of an interface with a floor"
iface_xml() { # FILE MAC-BYTE TARGET FLOOR
	cat >"$work/$1" <<XML
<interface type='network'>
  <mac address='52:54:00:93:00:0$2'/>
  <source network='vtqos'/>
  <target dev='$3'/>
  <bandwidth><inbound floor='$4'/></bandwidth>
</interface>
XML
}
iface_xml if7.xml 7 vqb7 512
out=$(vivctl attach-device qb "$work/if7.xml" --live 2>&1)
check "attach-device --live to qb: an interface with a floor of 512 ($out)" same "$out" "Device attached successfully"
check "... its class 1:4, 512 KiB/s (4194Kbit)" contains "$(class_of 1:4)" "rate 4194Kbit"
check "... its filter" contains "$(filters)" "00930007"
out=$(vivctl detach-device qb "$work/if7.xml" --live 2>&1)
check "detach-device --live ($out)" same "$out" "Device detached successfully"
check "... its class is gone" no_class 1:4
check "... its filter too" lacks "$(filters)" "00930007"
iface_xml if8.xml 8 vqb8 1500
out=$(vivctl attach-device qb "$work/if8.xml" --live 2>&1)
check "an attached floor that does not fit is refused" contains "$out" \
	"because new combined inbound floor=2524 would overcommit average=2048 on network 'vtqos'"
check "... no veth vqb8" no_link vqb8
check "... no class 1:4" no_class 1:4

# ============================================================================
echo "# the classes go with the container: destroy, a killed helper; a manager restart"
vivctl destroy qb >/dev/null 2>&1
vivctl destroy qa >/dev/null 2>&1
check "after destroying qa: no class 1:3" wait_until 30 no_class 1:3
check "... no filter for its MAC" lacks "$(filters)" "00930002"
check "... the default class has the network's whole rate again" contains "$(class_of 1:2)" "rate 16777Kbit"

out=$(vivctl start qa 2>&1)
check "start qa again" contains "$out" "Domain qa started"
check "its class is back" has_class 1:3
in_host systemctl restart vivariumd.service
vivctl list >/dev/null 2>&1
check "after a manager restart qa runs on" is_state qa running
check "... with its class on the bridge" has_class 1:3
check "... and its filter" contains "$(filters)" "00930002"
id=$(vivctl domid qa 2>&1)
in_host kill -9 "$id"
check "after kill -9 of qa's helper qa is shut off" wait_until 60 is_state qa "shut off"
check "... and its class is gone" wait_until 30 no_class 1:3
check "... its filter too" lacks "$(filters)" "00930002"

# ============================================================================
echo "# net-destroy takes the shaping"
vivctl net-destroy vtqos >/dev/null 2>&1
check "after net-destroy: no vqbr0" no_link vqbr0
check "... no ifb-vqbr0" no_link ifb-vqbr0
vivctl net-destroy vtplain >/dev/null 2>&1
for c in qa qb; do vivctl undefine "$c" >/dev/null 2>&1; done

echo "1..$n"
[ "$failures" -eq 0 ]
