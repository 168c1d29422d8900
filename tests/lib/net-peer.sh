# SPDX-License-Identifier: LGPL-2.1-or-later
# The set-up the network tests share: a managed network, peer namespaces on
# its bridge or routed from the test host, a container's network namespace,
# DHCP leases by busybox udhcpc. Source it after testhost.sh and check.sh;
# the functions that write files use $work, which the test binds into the
# test host (TESTHOST_BIND). Everything made here is inside the test host
# (its network and mount namespaces: the peers' namespaces are named under
# its own /run/netns), so it goes with the host even when a test fails
# half-way; the tests still delete what they made at their end.
#   in_host CMD..., vivctl ARGS...   in the test host
#   in_ct NAME CMD...                in container NAME's network namespace
#   uuid_of NAME                     its UUID
#   is_shut_off NAME                 domstate says "shut off"
#   guard_tables                     how many anti-spoofing tables (nft) there are
#   unit_active UNIT, link_exists DEV  in the test host
#   ct_xml NAME TYPE SOURCE [LINE...]
#                                    $work/NAME.xml: container NAME, init
#                                    /bin/sh, a pty console, one interface of
#                                    TYPE (network, bridge) with <source
#                                    SOURCE/> (network='NET', bridge='BR') and
#                                    each LINE in it (<mac>, <filterref>, ...)
#   net_xml NET BRIDGE SUBNET RANGE [LINE...]
#                                    $work/NET.xml: network NET on bridge
#                                    BRIDGE, address SUBNET.1/24 (SUBNET: the
#                                    first three bytes, 10.67.0), DHCP range
#                                    SUBNET.FIRST to SUBNET.LAST for RANGE
#                                    "FIRST-LAST" (none for ""), each LINE an
#                                    element before <ip> (<mac>, <bandwidth>)
#   net_up NET BRIDGE SUBNET RANGE [LINE...]
#                                    net_xml, net-define, net-start (a check)
#   net_with_peer NET BRIDGE SUBNET RANGE PEERNS PEERADDR [LINE...]
#                                    net_xml, net-create (a check), then
#                                    bridge_peer PEERNS BRIDGE PEERNS PEERADDR
#   bridge_peer NS BRIDGE VETH [ADDR]
#                                    namespace NS (made unless there), veth
#                                    VETH0 on BRIDGE, its end VETH1 in NS with
#                                    ADDR/24 when given; all up
#   routed_peer NS VETH HOSTADDR PEERADDR
#                                    namespace NS behind veth VETH0 of the test
#                                    host, which has HOSTADDR (with its
#                                    /PREFIX); its end VETH1 has PEERADDR
#   dhcp CONTAINER LEASEFILE [OPTION...]
#                                    udhcpc on the container's eth0 (20
#                                    discovers, OPTIONs added): prints the
#                                    address it leased, nothing without one
#   dhcp_in "WHERE" IFACE LEASEFILE TRIES [OPTION...]
#                                    the same on IFACE with TRIES discovers,
#                                    run by the command prefix WHERE
#                                    ("in_ct NAME", "in_host ip netns exec NS")
# Interface names (VETH0, VETH1, PEERNS0, PEERNS1) are at most 15 bytes:
# VETH and PEERNS at most 14.
# shellcheck shell=bash disable=SC2154 # $work is the test's

net_peer_lib=$(dirname "${BASH_SOURCE[0]}")

in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl "$@"; }
leader_of() { in_host machinectl show "$1" -p Leader --value 2>/dev/null; }
in_ct() { # NAME CMD...
	local leader
	leader=$(leader_of "$1")
	shift
	in_host nsenter -t "${leader:-0}" -n "$@"
}
uuid_of() { vivctl domuuid "$1" 2>/dev/null | head -1; }
is_shut_off() { [ "$(vivctl domstate "$1" 2>/dev/null | head -1)" = "shut off" ]; }
guard_tables() { in_host nft list tables 2>/dev/null | grep -c 'netdev vivarium-guard-'; }
unit_active() { in_host systemctl -q is-active "$1"; }
link_exists() { in_host ip link show "$1" >/dev/null 2>&1; }

ct_xml() { # NAME TYPE SOURCE [LINE...]
	local name=$1 type=$2 source=$3
	shift 3
	cat >"$work/$name.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$name</name>
  <memory>102400</memory>
  <os><type>exe</type><init>/bin/sh</init></os>
  <devices>
    <console type='pty'/>
    <interface type='$type'>
      <source $source/>
$([ $# -eq 0 ] || printf '      %s\n' "$@")
    </interface>
  </devices>
</domain>
XML
}

net_xml() { # NET BRIDGE SUBNET RANGE [LINE...]
	local net=$1 bridge=$2 subnet=$3 range=$4 ip
	shift 4
	ip="<ip address='$subnet.1' netmask='255.255.255.0'"
	if [ -n "$range" ]; then
		ip="$ip>
    <dhcp>
      <range start='$subnet.${range%-*}' end='$subnet.${range#*-}'/>
    </dhcp>
  </ip>"
	else
		ip="$ip/>"
	fi
	cat >"$work/$net.xml" <<XML
<network>
  <name>$net</name>
  <bridge name='$bridge'/>
$([ $# -eq 0 ] || printf '  %s\n' "$@")
  $ip
</network>
XML
}

net_up() { # NET BRIDGE SUBNET RANGE [LINE...]
	local out
	net_xml "$@"
	vivctl net-define "$work/$1.xml" >/dev/null 2>&1
	out=$(vivctl net-start "$1" 2>&1)
	check "net-start $1" contains "$out" "Network $1 started"
}

net_with_peer() { # NET BRIDGE SUBNET RANGE PEERNS PEERADDR [LINE...]
	local net=$1 bridge=$2 subnet=$3 range=$4 peerns=$5 peeraddr=$6 out
	shift 6
	net_xml "$net" "$bridge" "$subnet" "$range" "$@"
	out=$(vivctl net-create "$work/$net.xml" 2>&1)
	check "net-create $net (DHCP range $subnet.$range)" contains "$out" "Network $net created"
	bridge_peer "$peerns" "$bridge" "$peerns" "$peeraddr"
}

bridge_peer() { # NS BRIDGE VETH [ADDR]
	# shellcheck disable=SC2016 # expanded by the host's sh
	in_host sh -e -c '
[ -e "/run/netns/$1" ] || ip netns add "$1"
ip link add "${3}0" type veth peer name "${3}1"
ip link set "${3}0" master "$2" up
ip link set "${3}1" netns "$1"
ip -n "$1" link set lo up
[ -z "$4" ] || ip -n "$1" addr add "$4/24" dev "${3}1"
ip -n "$1" link set "${3}1" up' sh "$1" "$2" "$3" "${4:-}"
}

routed_peer() { # NS VETH HOSTADDR PEERADDR
	# shellcheck disable=SC2016 # expanded by the host's sh
	in_host sh -e -c '
ip netns add "$1"
ip link add "${2}0" type veth peer name "${2}1"
ip link set "${2}1" netns "$1"
ip addr add "$3" dev "${2}0"
ip link set "${2}0" up
ip -n "$1" link set lo up
ip -n "$1" addr add "$4" dev "${2}1"
ip -n "$1" link set "${2}1" up' sh "$@"
}

dhcp_in() { # "WHERE" IFACE LEASEFILE TRIES [OPTION...]
	local where=$1 iface=$2 file=$3 tries=$4
	shift 4
	# the test host sees $work (TESTHOST_BIND), not necessarily the source tree
	[ -x "$work/udhcpc.sh" ] || install -m 0755 "$net_peer_lib/udhcpc-lease.sh" "$work/udhcpc.sh"
	in_host rm -f "$file"
	$where env LEASE_FILE="$file" timeout 60 busybox udhcpc -i "$iface" -n -q -f -t "$tries" -T 2 \
		-s "$work/udhcpc.sh" "$@" >/dev/null 2>&1
	in_host cat "$file" 2>/dev/null
}

dhcp() { # CONTAINER LEASEFILE [OPTION...]
	local ct=$1 file=$2
	shift 2
	dhcp_in "in_ct $ct" eth0 "$file" 20 "$@"
}
