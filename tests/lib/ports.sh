# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the published-port tests (test-ports.sh, test-ports-local.sh);
# source it after testhost.sh and check.sh, with $work bound into the test
# host. It copies the UDP server and client there.
#   in_host, vivctl, in_ct, uuid_of, is_shut_off, ...
#                                       tests/lib/net-peer.sh's, which it sources
#   port_tables, relay_units            how many port tables (nft) and [::1]
#                                       relay units (systemd) there are
#   fetch WHERE ADDR PORT               what a TCP server answers (nothing when closed)
#   answers WHERE ADDR PORT             it answers "$expect"
#   udp_ask WHERE ADDR PORT [C R]       tests/lib/udp-ask.py there
#   udp_answers WHERE ADDR PORT         the UDP answer is "udp-${expect#hello-}:ping from ..."
#   client_netns NS VETH V4 V6
#                                       namespace NS behind veth VETH0 of the test
#                                       host (V4.1/24, V6::1/64); its side VETH1
#                                       has V4.2 and V6::2, routed through the host
#   write_ct NAME MAC NETWORK ADDRESS GATEWAY EXTRA...
#                                       $work/NAME.xml: a container on NETWORK with
#                                       ADDRESS/24, serving "hello-NAME" on TCP 80 and
#                                       UDP 53 (udp-echo.py), EXTRA lines in its <interface>;
#                                       $ct_serve, when set, a command its init also
#                                       starts in the background
# shellcheck shell=bash

# shellcheck source=tests/lib/net-peer.sh
. "$(dirname "${BASH_SOURCE[0]}")/net-peer.sh"
port_tables() { in_host nft list tables 2>/dev/null | grep -c 'inet vivarium-ports-'; }
relay_units() { in_host systemctl list-units --all --no-legend 'vivarium-port-*' 2>/dev/null | grep -c .; }
fetch() {
	local where=$1
	shift
	# stdin open for a while: busybox nc stops at the end of its stdin,
	# without waiting for the answer
	$where timeout 15 sh -c 'sleep 2 | busybox nc -w 5 "$@"' sh "$@" 2>/dev/null
}
expect=hello-pa
answers() { [ "$(fetch "$@")" = "$expect" ]; }

cp "$(dirname "${BASH_SOURCE[0]}")"/{udp-echo.py,udp-ask.py,tcp-peer.py} "$work/"
udp_ask() {
	local where=$1
	shift
	$where timeout 60 /usr/bin/python3 "$work/udp-ask.py" "$@" 2>/dev/null
}
udp_answers() { [[ "$(udp_ask "$@")" == "udp-${expect#hello-}:ping from "* ]]; }

client_netns() { # NS VETH V4 V6
	routed_peer "$1" "$2" "$3.1/24" "$3.2/24"
	# shellcheck disable=SC2016 # expanded by the host's sh
	in_host sh -e -c '
ip addr add "$4::1/64" dev "${2}0" nodad
ip -n "$1" addr add "$4::2/64" dev "${2}1" nodad
ip -n "$1" route add default via "$3.1"
ip -n "$1" -6 route add default via "$4::1"' sh "$@"
}

write_ct() {
	local name=$1 mac=$2 network=$3 address=$4 gateway=$5
	shift 5
	cat >"$work/$name.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$name</name>
  <memory>102400</memory>
  <os>
    <type>exe</type>
    <init>/bin/busybox</init>
    <initarg>sh</initarg>
    <initarg>-c</initarg>
    <initarg>${ct_serve:+$ct_serve &amp; }/usr/bin/python3 $work/udp-echo.py udp-$name &amp; while :; do echo hello-$name | busybox nc -l -p 80; done</initarg>
  </os>
  <devices>
    <console type='pty'/>
    <interface type='network'>
      <mac address='$mac'/>
      <source network='$network'/>
      <ip address='$address' prefix='24'/>
      <route address='0.0.0.0' prefix='0' gateway='$gateway'/>
$(printf '      %s\n' "$@")
    </interface>
  </devices>
</domain>
XML
}
