#!/bin/bash
# Container interfaces (DESIGN.md "Networking", issue 4) in a test host, with
# the installed build and vivctl: the seed's manual steps on the console (a
# bridge in place of libvirt's default network), <ip>/<route> configuring the
# guest, two containers on one bridge, type='ethernet', type='direct'
# macvlans on a veth end, <link state='down'/>, a missing bridge, the live XML
# (target dev, domiflist), managed networks (the seed's XML verbatim on the
# default network), and no leftovers after 20 start/destroy cycles. Traffic stays inside the test
# host's network namespace: the bridges and veths are the test's own.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl
# busybox: ifconfig, route, ping in the container; ip: the test's own bridges
testhost_require_tools busybox ip

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/net-peer.sh
. "$here/lib/net-peer.sh"
vivctl() { testhost_run vivctl -c lxc:/// "$@"; } # instead of net-peer.sh's: through libvirt's URI
# the test host's devices but bridges: the managed networks' (vivariumd may
# autostart one at any time) are not this test's subject
links() {
	in_host sh -c "ip -o link show | awk -F': ' '{ sub(/@.*/, \"\", \$2); print \$2 }' | sort >/tmp/vt-all
ip -o link show type bridge | awk -F': ' '{ print \$2 }' | sort >/tmp/vt-br
comm -23 /tmp/vt-all /tmp/vt-br"
}
journal() { in_host journalctl --no-pager -o cat CONTAINER_NAME="$1" 2>&1; }
wait_journal() { # NAME NEEDLE
	local i
	for i in $(seq 50); do
		case $(journal "$1") in *"$2"*) return 0 ;; esac
		sleep 0.2
	done
	return 1
}

work=$(mktemp -d /tmp/vt-network.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_boot "vt-net-$$" || testhost_skip_or_fail "the test host did not boot"
testhost_install "$build" >/dev/null || { echo "not ok - install into the test host"; exit 1; }

# write_xml NAME INIT-SCRIPT (or "") DEVICES...: $work/NAME.xml
write_xml() {
	local name=$1 script=$2 init
	shift 2
	if [ -n "$script" ]; then
		init="<init>/bin/sh</init><initarg>-c</initarg><initarg>$script</initarg>"
	else
		init="<init>/bin/sh</init>"
	fi
	cat >"$work/$name.xml" <<XML
<domain type='lxc'>
  <name>$name</name>
  <memory>102400</memory>
  <os><type>exe</type>$init</os>
  <devices>
    <console type='pty'/>
$(printf '    %s\n' "$@")
  </devices>
</domain>
XML
}

# The test's own network, inside the test host: br0 with the "host" address
# of the seed's steps, and a veth pair whose end mvp0 is the macvlans' parent
# (there is no dummy device on these machines).
in_host sh -e -c '
ip link add br0 type bridge
ip addr add 192.168.150.1/24 dev br0
ip link set br0 up
ip link add mvp0 type veth peer name mvp1
ip link set mvp1 up
ip link set mvp0 up'
vivctl list >/dev/null 2>&1
links_before=$(links)
check "the test host's devices are read (mvp0 among them)" contains "$links_before" mvp0

# --- the seed's steps: ifconfig, route, ping on the console ---
write_xml seed "" \
	"<interface type='bridge'><source bridge='br0'/><mac address='52:54:00:4d:2b:cd'/></interface>"
out=$(vivctl define "$work/seed.xml" 2>&1)
check "define seed" contains "$out" "Domain seed defined"
out=$(vivctl start seed 2>&1)
check "start seed" contains "$out" "Domain seed started"
out=$(vivctl dumpxml seed 2>&1)
check "live XML names the host side vnet0" contains "$out" "<target dev='vnet0'/>"
check "live XML keeps the MAC" contains "$out" "<mac address='52:54:00:4d:2b:cd'/>"
out=$(vivctl dumpxml --inactive seed 2>&1)
check "inactive XML has no target dev" lacks "$out" "<target dev="
out=$(vivctl domiflist seed 2>&1)
check "domiflist shows vnet0 on br0 with the MAC" grep -Eq '^ *vnet0 +bridge +br0 +- +52:54:00:4d:2b:cd' <<<"$out"
out=$(in_host ip -o link show vnet0 2>&1)
check "host side vnet0 is on br0 and up" contains "$out" "master br0 state UP"
check "host side MAC starts with fe" contains "$out" "link/ether fe:54:00:4d:2b:cd"

cat >"$work/seed.steps" <<'STEPS'
expect Connected to domain seed
expect Escape character is \^\]
send busybox ifconfig -a
expect (?i)eth0 +Link encap:Ethernet +HWaddr 52:54:00:4d:2b:cd
expect lo +Link encap:Local Loopback
send busybox ifconfig eth0 192.168.150.50
send busybox route add default gw 192.168.150.1 eth0
send busybox route -n
expect (?m)^0\.0\.0\.0 +192\.168\.150\.1 +0\.0\.0\.0 +UG.* eth0
send busybox ping -c1 -W3 192.168.150.1
expect 1 packets transmitted, 1 packets received
sendraw \x1d
eof
STEPS
out=$(in_host python3 "$here/lib/ptyexpect.py" --timeout 20 "$work/seed.steps" -- vivctl -c lxc:/// console seed 2>&1)
rc=$?
check "console: eth0 with the MAC, lo; manual address and route; ping the bridge" [ $rc -eq 0 ]
[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -30 | sed 's/^/#  /'
out=$(vivctl destroy seed 2>&1)
check "destroy seed" contains "$out" "Domain seed destroyed"
check "vnet0 is gone" [ -z "$(in_host ip -o link show vnet0 2>/dev/null)" ]
vivctl undefine seed >/dev/null 2>&1

# --- <ip> and <route> configure the guest; the container's own ping ---
write_xml cfg "ip -o addr show eth0; ip route; if busybox ping -c1 -W3 192.168.150.1 >/dev/null; then echo PING-GW-OK; fi; exec sleep 600" \
	"<interface type='bridge'><source bridge='br0'/><ip address='192.168.150.51' prefix='24'/><route address='0.0.0.0' prefix='0' gateway='192.168.150.1'/></interface>"
out=$(vivctl create "$work/cfg.xml" 2>&1)
check "create cfg" contains "$out" "Domain cfg created"
check "cfg: its init pings the gateway without any command of ours" wait_journal cfg PING-GW-OK
out=$(journal cfg)
check "cfg: eth0 has 192.168.150.51/24" contains "$out" "inet 192.168.150.51/24"
check "cfg: default route via 192.168.150.1" contains "$out" "default via 192.168.150.1 dev eth0"

out=$(in_host busctl --address=unix:path=/run/vivarium/containers/cfg.sock call org.vivarium1.Helper \
	/org/vivarium1/helper org.vivarium1.Helper GetAddresses 2>&1)
check "the helper's GetAddresses reports eth0's address" contains "$out" '"eth0" "52:54:00:'
check "... 192.168.150.51/24" contains "$out" '"192.168.150.51" 24'
in_ct cfg ip addr add 192.168.150.61/24 dev eth0
out=$(in_host busctl --address=unix:path=/run/vivarium/containers/cfg.sock call org.vivarium1.Helper \
	/org/vivarium1/helper org.vivarium1.Helper GetAddresses 2>&1)
check "... and one added inside afterwards" contains "$out" '"192.168.150.61" 24'

# --- a second container on br0: the two ping each other ---
write_xml peer "" \
	"<interface type='bridge'><source bridge='br0'/><ip address='192.168.150.52' prefix='24'/></interface>"
out=$(vivctl create "$work/peer.xml" 2>&1)
check "create peer" contains "$out" "Domain peer created"
check "peer pings cfg" quiet in_ct peer busybox ping -c1 -W3 192.168.150.51
check "cfg pings peer" quiet in_ct cfg busybox ping -c1 -W3 192.168.150.52
out=$(in_host ip -o link show master br0 2>&1)
check "two vnets on br0" [ "$(grep -c vnet <<<"$out")" = 2 ]
vivctl destroy cfg >/dev/null 2>&1
vivctl destroy peer >/dev/null 2>&1

# --- type='ethernet': a bare veth; <target dev>, <guest dev> ---
write_xml eth "" \
	"<interface type='ethernet'><target dev='vt-eth-h'/><guest dev='inside0'/><ip address='10.9.0.2' prefix='24'/></interface>"
out=$(vivctl create "$work/eth.xml" 2>&1)
check "create eth" contains "$out" "Domain eth created"
out=$(in_host ip -o link show vt-eth-h 2>&1)
check "ethernet: host side vt-eth-h, up, on no bridge" eval "contains \"\$out\" 'state UP' && lacks \"\$out\" master"
out=$(in_ct eth ip -o addr show inside0 2>&1)
check "ethernet: the container's side is inside0 with 10.9.0.2/24" contains "$out" "inet 10.9.0.2/24"
in_host ip addr add 10.9.0.1/24 dev vt-eth-h
check "ethernet: the host reaches the container" quiet in_host busybox ping -c1 -W3 10.9.0.2
vivctl destroy eth >/dev/null 2>&1
check "vt-eth-h is gone" [ -z "$(in_host ip -o link show vt-eth-h 2>/dev/null)" ]

# --- type='direct': two macvlans (mode bridge) on mvp0 ping each other ---
for i in 1 2; do
	write_xml "mv$i" "" \
		"<interface type='direct'><source dev='mvp0' mode='bridge'/><ip address='10.7.0.$i' prefix='24'/></interface>"
	out=$(vivctl create "$work/mv$i.xml" 2>&1)
	check "create mv$i" contains "$out" "Domain mv$i created"
done
out=$(in_ct mv1 ip -d -o link show eth0 2>&1)
check "direct: eth0 is a macvlan in bridge mode" contains "$out" "macvlan mode bridge"
check "direct: mv1 pings mv2" quiet in_ct mv1 busybox ping -c1 -W3 10.7.0.2
out=$(vivctl domiflist mv1 2>&1)
check "direct: domiflist shows no host device" grep -Eq '^ *- +direct +mvp0 ' <<<"$out"
vivctl destroy mv1 >/dev/null 2>&1
vivctl destroy mv2 >/dev/null 2>&1

# --- <link state='down'/> ---
write_xml down "" \
	"<interface type='bridge'><source bridge='br0'/><link state='down'/></interface>" \
	"<interface type='bridge'><source bridge='br0'/></interface>"
out=$(vivctl create "$work/down.xml" 2>&1)
check "create down" contains "$out" "Domain down created"
out=$(in_ct down ip -o link show eth0 2>&1)
check "link state down: eth0 is down" eval "! grep -Eq '[<,]UP[,>]' <<<\"\$out\""
out=$(in_ct down ip -o link show eth1 2>&1)
check "the other interface, eth1, is up" contains "$out" ",UP"
out=$(in_ct down ip -o link show lo 2>&1)
check "lo is up" contains "$out" "UP"
vivctl destroy down >/dev/null 2>&1

# --- a missing bridge fails the start and leaves nothing ---
write_xml nobr "" \
	"<interface type='ethernet'/>" \
	"<interface type='bridge'><source bridge='nosuchbr'/></interface>"
out=$(vivctl create "$work/nobr.xml" 2>&1)
check "missing bridge: the start fails" lacks "$out" "created"
check "missing bridge: the message names it" contains "$out" "Bridge 'nosuchbr' does not exist"
check "missing bridge: no veth left" same "$(links)" "$links_before"

# --- a failure after the devices exist (an unreachable gateway) leaves nothing ---
write_xml badroute "" \
	"<interface type='ethernet'/>" \
	"<interface type='bridge'><source bridge='br0'/><ip address='10.1.0.2' prefix='24'/><route address='0.0.0.0' prefix='0' gateway='10.99.0.1'/></interface>"
out=$(vivctl create "$work/badroute.xml" 2>&1)
check "unreachable gateway: the start fails with the kernel's reason" \
	contains "$out" "Failed to add the route to '0.0.0.0/0' via '10.99.0.1' on 'eth1' in container 'badroute': Network is unreachable"
check "unreachable gateway: no veth left" same "$(links)" "$links_before"
write_xml taken "" "<interface type='ethernet'><target dev='mvp1'/></interface>"
out=$(vivctl create "$work/taken.xml" 2>&1)
check "a target dev that exists fails the start" contains "$out" "Failed to create interface 'mvp1' of container 'taken': File exists"

# --- managed networks (type='network'), when vivctl has them ---
write_xml usenet "" "<interface type='network'><source network='vt-nonet'/></interface>"
out=$(vivctl create "$work/usenet.xml" 2>&1)
check "an inactive network fails the start" contains "$out" "Network 'vt-nonet' is not active"
net_up vtnet vtbr0 192.168.160 ""
write_xml usenet "" "<interface type='network'><source network='vtnet'/><ip address='192.168.160.5' prefix='24'/></interface>"
out=$(vivctl create "$work/usenet.xml" 2>&1)
check "create a container on network vtnet" contains "$out" "Domain usenet created"
out=$(in_host ip -o link show master vtbr0 2>&1)
check "its vnet is on the network's bridge" contains "$out" "vnet"
check "it pings the network's address" quiet in_ct usenet busybox ping -c1 -W3 192.168.160.1
out=$(vivctl domiflist usenet 2>&1)
check "domiflist: vnetN network vtnet" grep -Eq '^ *vnet[0-9]+ +network +vtnet ' <<<"$out"
vivctl destroy usenet >/dev/null 2>&1
vivctl net-destroy vtnet >/dev/null 2>&1
vivctl net-undefine vtnet >/dev/null 2>&1

# --- the seed's XML verbatim, on the default network (192.168.124.0/24) ---
out=$(vivctl net-start default 2>&1)   # autostarted already, normally
out=$(vivctl net-info default 2>&1)
check "the default network is active" grep -Eq '^Active: +yes' <<<"$out"
write_xml helloworld "" "<interface type='network'>" "<mac address='52:54:00:4d:2b:cd'/>" \
	"<source network='default'/>" "</interface>"
out=$(vivctl create "$work/helloworld.xml" 2>&1)
check "create helloworld on network 'default'" contains "$out" "Domain helloworld created"
# The seed sets an address of its choice; on a managed network the
# anti-spoofing filter passes only the address the network keeps for the
# container's MAC (or its <ip>): the same steps with that one.
hw_ip=$(in_host awk -F, '$1 == "52:54:00:4d:2b:cd" { print $2 }' /run/vivarium/networks/default.hosts 2>/dev/null)
check "the default network keeps an address for helloworld's MAC ($hw_ip)" \
	grep -Eq '^192\.168\.124\.[0-9]+$' <<<"$hw_ip"
cat >"$work/hw.steps" <<STEPS
expect Connected to domain helloworld
expect Escape character is \^\]
send busybox ifconfig
expect (?i)eth0 +Link encap:Ethernet +HWaddr 52:54:00:4d:2b:cd
expect lo +Link encap:Local Loopback
send busybox route -n
expect Kernel IP routing table
send busybox ifconfig eth0 $hw_ip
send busybox route add 0.0.0.0 gw 192.168.124.1 eth0
send busybox route
expect (?m)^default +192\.168\.124\.1 .* eth0
send busybox ping -c2 -W3 192.168.124.1
expect 2 packets transmitted, 2 packets received
sendraw \x1d
eof
STEPS
out=$(in_host python3 "$here/lib/ptyexpect.py" --timeout 20 "$work/hw.steps" -- vivctl -c lxc:/// console helloworld 2>&1)
rc=$?
check "the seed's console session on the default network" [ $rc -eq 0 ]
[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -30 | sed 's/^/#  /'
vivctl destroy helloworld >/dev/null 2>&1

# --- no leftovers: 20 start/destroy cycles with two interfaces each ---
write_xml cyc "" \
	"<interface type='bridge'><source bridge='br0'/></interface>" \
	"<interface type='ethernet'><ip address='10.8.0.2' prefix='24'/></interface>"
vivctl define "$work/cyc.xml" >/dev/null 2>&1
bad=0
for i in $(seq 20); do
	out=$(vivctl start cyc 2>&1) || { bad=$((bad + 1)); echo "#  cycle $i: $out"; }
	out=$(vivctl destroy cyc 2>&1) || { bad=$((bad + 1)); echo "#  cycle $i: $out"; }
done
check "20 start/destroy cycles" [ $bad = 0 ]
check "the test host's devices are the same as before" same "$(links)" "$links_before"
vivctl undefine cyc >/dev/null 2>&1
out=$(in_host sh -c 'ls /run/vivarium/containers/ 2>/dev/null')
check "no NAME.ifaces left" lacks "$out" ".ifaces"

echo "1..$n"
[ $failures = 0 ]
