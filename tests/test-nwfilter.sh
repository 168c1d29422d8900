#!/bin/bash
# libvirt's <filterref filter='clean-traffic'> on interfaces (issue 19),
# mapped onto Vivarium's anti-spoofing filter, in a test host with the
# installed build and real traffic inside namespaces of the test host:
# - define keeps the <filterref> and its parameters (dumpxml), and refuses
#   another filter or an unknown parameter with a message naming it,
#   writing nothing;
# - IP with CTRL_IP_LEARNING='none': the container sends from that address
#   and not from another address of the subnet, even when it tries the
#   other first (learning would have taken it);
# - without IP (learning 'any'), the seed's `ifconfig eth0 ADDR` works and
#   that address is learned, a second one is dropped;
# - on a type='bridge' interface (unfiltered without the element) the
#   filter is on: an address set by hand works, a second one is dropped; the
#   same interface without <filterref> has no filter (so the check can fail);
# - CTRL_IP_LEARNING='dhcp' with DHCPSERVER the network's own: the lease
#   comes and works, an address set by hand does not; DHCPSERVER naming
#   another server: dnsmasq offers, the offer never reaches the container;
# - clean-traffic-gateway with the bridge's MAC: the gateway answers, a
#   neighbour on the bridge (reached with clean-traffic) does not, either way;
# - destroy leaves no filter table.
# Needs nftables' netdev egress hook: on a kernel without it the test ends
# KERNEL-LACKS: nf-egress (tests/lib/kernel-features.sh).
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"
# shellcheck source=tests/lib/kernel-features.sh
. "$here/lib/kernel-features.sh"

# DHCPSERVER and clean-traffic-gateway filter on the veth's egress
kernel_require nf-egress
testhost_require vivariumd vivctl
testhost_require_tools dnsmasq nft ip busybox

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/net-peer.sh
. "$here/lib/net-peer.sh"
table_of() { in_host nft list table netdev "vivarium-guard-$(uuid_of "$1")" 2>&1; }
learned_of() { # NAME: the learned address of its first port
	in_host nft list set netdev "vivarium-guard-$(uuid_of "$1")" learned0 2>/dev/null | grep -o 'elements = {[^}]*}'
}
# reaches NAME ADDR GATEWAY: pings GATEWAY from ADDR (set on eth0 just before)
reaches() { in_ct "$1" busybox ping -c 1 -W 2 -I "$2" "$3" >/dev/null 2>&1; }
dnsmasq_saw() { in_host journalctl -u vivarium-dnsmasq-vtf.service --no-pager 2>/dev/null | grep -qi "$1"; }

work=$(mktemp -d /tmp/vt-nwfilter.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-nwf-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# --- a managed network with a peer namespace on its bridge, and a bridge of
# the test's own
net_with_peer vtf vtfbr0 10.67.0 10-20 vtfpeer 10.67.0.80 "<mac address='52:54:00:67:00:01'/>"
in_host sh -e -c '
ip link add vtfbr1 type bridge
ip addr add 10.69.0.1/24 dev vtfbr1
ip link set vtfbr1 up'

write_ct() { # NAME TYPE SOURCE MAC EXTRA...: a container with one interface
	ct_xml "$1" "$2" "$3" "<mac address='$4'/>" "${@:5}"
}

# --- refused at define, naming what is wrong; nothing written
write_ct fx network "network='vtf'" 52:54:00:0f:00:01 "<filterref filter='no-ip-spoofing'/>"
out=$(vivctl define "$work/fx.xml" 2>&1)
check "define refuses a filter other than clean-traffic, naming it" \
	contains "$out" "filter 'no-ip-spoofing' is not supported, expected 'clean-traffic'"
write_ct fx network "network='vtf'" 52:54:00:0f:00:01 "<filterref filter='clean-traffic'>" \
	"  <parameter name='IPV6' value='fd00::5'/>" "</filterref>"
out=$(vivctl define "$work/fx.xml" 2>&1)
check "define refuses an unknown parameter, naming it and the supported ones" \
	contains "$out" "parameter 'IPV6' of filter 'clean-traffic' is not supported, expected 'IP', 'MAC', 'CTRL_IP_LEARNING' or 'DHCPSERVER'"
check "... and writes nothing" not in_host test -e /etc/vivarium/containers/fx.xml

# --- IP and CTRL_IP_LEARNING='none': that address only
write_ct fa network "network='vtf'" 52:54:00:0f:00:0a "<filterref filter='clean-traffic'>" \
	"  <parameter name='IP' value='10.67.0.40'/>" \
	"  <parameter name='CTRL_IP_LEARNING' value='none'/>" "</filterref>"
out=$(vivctl define "$work/fa.xml" 2>&1)
check "define a container with <filterref filter='clean-traffic'> and parameters" contains "$out" "Domain fa defined"
out=$(vivctl dumpxml fa --inactive 2>&1)
check "dumpxml keeps the filterref and its parameters" contains "$out" "<filterref filter='clean-traffic'>
        <parameter name='IP' value='10.67.0.40'/>
        <parameter name='CTRL_IP_LEARNING' value='none'/>
      </filterref>"
out=$(vivctl start fa 2>&1)
check "start it" contains "$out" "Domain fa started"
out=$(table_of fa)
check "its filter allows the IP parameter" contains "$out" "10.67.0.40"
check "... and learns nothing (no learned set)" lacks "$out" "learned0"
in_ct fa ip link set eth0 up
in_host ip neigh flush dev vtfbr0 >/dev/null 2>&1
# the other address first: a learning filter would take it
in_ct fa ip addr add 10.67.0.41/24 dev eth0
check "an address of the subnet other than IP gets nothing, even used first" not reaches fa 10.67.0.41 10.67.0.1
check "... the host's neighbour table has no entry for it" \
	[ -z "$(in_host ip neigh show to 10.67.0.41 dev vtfbr0 2>/dev/null)" ]
in_ct fa ip addr add 10.67.0.40/24 dev eth0
check "the IP parameter's address reaches the gateway" wait_for 30 reaches fa 10.67.0.40 10.67.0.1
check "... and the other still gets nothing" not reaches fa 10.67.0.41 10.67.0.1
vivctl destroy fa >/dev/null 2>&1

# by_hand NAME ADDR SECOND GATEWAY: the seed's `ifconfig eth0 ADDR` works and
# ADDR is learned; SECOND, used after it, gets nothing
by_hand() {
	in_ct "$1" busybox ifconfig eth0 "$2" netmask 255.255.255.0 up
	check "ifconfig eth0 $2: it reaches $4" wait_for 30 reaches "$1" "$2" "$4"
	check "... and is the address learned" same "$(learned_of "$1")" "elements = { $2 }"
	in_ct "$1" ip addr add "$3/24" dev eth0
	check "... a second address ($3) gets nothing" not reaches "$1" "$3" "$4"
}

# --- no IP, learning 'any' (clean-traffic's default): the seed's ifconfig
write_ct fb network "network='vtf'" 52:54:00:0f:00:0b "<filterref filter='clean-traffic'/>"
out=$(vivctl create "$work/fb.xml" 2>&1)
check "create a container with a bare <filterref filter='clean-traffic'/>" contains "$out" "Domain fb created"
by_hand fb 10.67.0.60 10.67.0.61 10.67.0.1
check "... and its address reaches a neighbour on the bridge" wait_for 30 reaches fb 10.67.0.60 10.67.0.80
vivctl destroy fb >/dev/null 2>&1

# --- type='bridge': the filter is on with <filterref>, off without
write_ct fc bridge "bridge='vtfbr1'" 52:54:00:0f:00:0c "<filterref filter='clean-traffic'/>"
out=$(vivctl create "$work/fc.xml" 2>&1)
check "create a container on a bridge with <filterref filter='clean-traffic'/>" contains "$out" "Domain fc created"
check "... it has a filter table" contains "$(table_of fc)" "hook ingress device"
by_hand fc 10.69.0.5 10.69.0.6 10.69.0.1
vivctl destroy fc >/dev/null 2>&1
write_ct fd bridge "bridge='vtfbr1'" 52:54:00:0f:00:0d
out=$(vivctl create "$work/fd.xml" 2>&1)
check "the same without <filterref>: no filter table" [ "$(guard_tables)" = 0 ]
in_ct fd busybox ifconfig eth0 10.69.0.7 netmask 255.255.255.0 up
in_ct fd ip addr add 10.69.0.8/24 dev eth0
check "... and a second address reaches the bridge's address" wait_for 30 reaches fd 10.69.0.8 10.69.0.1
vivctl destroy fd >/dev/null 2>&1

# --- CTRL_IP_LEARNING='dhcp' and DHCPSERVER
write_ct fe network "network='vtf'" 52:54:00:0f:00:0e "<filterref filter='clean-traffic'>" \
	"  <parameter name='CTRL_IP_LEARNING' value='dhcp'/>" \
	"  <parameter name='DHCPSERVER' value='10.67.0.1'/>" "</filterref>"
out=$(vivctl create "$work/fe.xml" 2>&1)
check "create a container with CTRL_IP_LEARNING='dhcp' and DHCPSERVER the network's" contains "$out" "Domain fe created"
out=$(table_of fe)
check "... its filter has the DHCP server chain at the veth's egress" contains "$out" "hook egress device"
# an address set by hand before the lease: a learning filter would take it
in_ct fe ip link set eth0 up
in_ct fe ip addr add 10.67.0.62/24 dev eth0
check "an address set by hand gets nothing (dhcp learns no other)" not reaches fe 10.67.0.62 10.67.0.1
lease=$(dhcp fe /tmp/vt-fe.lease)
check "udhcpc gets a lease from the allowed server ($lease)" grep -Eq '^10\.67\.0\.(1[0-9]|20)$' <<<"$lease"
check "... and it reaches the gateway from it" wait_for 30 reaches fe "${lease:-10.67.0.10}" 10.67.0.1
vivctl destroy fe >/dev/null 2>&1

write_ct ff network "network='vtf'" 52:54:00:0f:00:0f "<filterref filter='clean-traffic'>" \
	"  <parameter name='DHCPSERVER' value='10.67.0.254'/>" "</filterref>"
out=$(vivctl create "$work/ff.xml" 2>&1)
check "create a container whose DHCPSERVER is another server" contains "$out" "Domain ff created"
lease=$(dhcp_in "in_ct ff" eth0 /tmp/vt-ff.lease 3)
check "dnsmasq offers it an address" wait_for 100 dnsmasq_saw "DHCPOFFER(vtfbr0).*52:54:00:0f:00:0f"
check "... which never reaches it: no lease" [ -z "$lease" ]
vivctl destroy ff >/dev/null 2>&1

# --- clean-traffic-gateway: the gateway only, not the neighbours (the
# network's <mac> keeps the bridge's MAC: without one it takes its lowest
# port's, which changes as containers come and go)
bridge_mac=52:54:00:67:00:01
write_ct fg network "network='vtf'" 52:54:00:0f:00:10 "<filterref filter='clean-traffic-gateway'>" \
	"  <parameter name='GATEWAY_MAC' value='$bridge_mac'/>" \
	"  <parameter name='IP' value='10.67.0.70'/>" "</filterref>"
out=$(vivctl create "$work/fg.xml" 2>&1)
check "create a container with clean-traffic-gateway, GATEWAY_MAC the bridge's" contains "$out" "Domain fg created"
in_ct fg busybox ifconfig eth0 10.67.0.70 netmask 255.255.255.0 up
check "it reaches the gateway" wait_for 30 reaches fg 10.67.0.70 10.67.0.1
check "... not a neighbour on the bridge" not reaches fg 10.67.0.70 10.67.0.80
check "... and the neighbour does not reach it" \
	not quiet in_host ip netns exec vtfpeer busybox ping -c 1 -W 2 10.67.0.70
check "... though the neighbour reaches the gateway" \
	quiet in_host ip netns exec vtfpeer busybox ping -c 1 -W 2 10.67.0.1
vivctl destroy fg >/dev/null 2>&1
check "destroy leaves no filter table" [ "$(guard_tables)" = 0 ]

in_host ip link del vtfbr1 >/dev/null 2>&1
in_host ip netns del vtfpeer >/dev/null 2>&1
vivctl net-destroy vtf >/dev/null 2>&1

echo "1..$n"
[ "$failures" -eq 0 ]
