#!/bin/bash
# Anti-spoofing on managed networks (issue 11) and no DHCP pool exhaustion
# (issue 13) in a test host, with the installed build and real traffic
# inside namespaces of the test host:
# - a container defined without <mac> gets one in its stored definition,
#   the same at every start;
# - its interface gets the address the network keeps for its MAC (the hosts
#   file dnsmasq reads), udhcpc inside gets exactly it, and it reaches the
#   gateway from it;
# - from the container, a made-up source address, a changed MAC and a
#   gratuitous ARP for the gateway are dropped: the bridge's fdb does not
#   learn the fake MAC, the host's neighbour table gets no entry for the
#   made-up address, a peer's neighbour entry for the gateway keeps the
#   bridge's MAC, ping from the made-up address gets nothing;
# - with <vivarium:spoofcheck state='off'/> the same spoofs work (so the
#   checks above can fail);
# - destroy (and a killed helper) leaves no nft table, no hosts line, no
#   lease;
# - a network whose DHCP range has 4 addresses serves 12 transient
#   containers one after another (each a new MAC): leases are released.
#   NETGUARD_CYCLES=300 runs 300 cycles (the issue's figure).
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl
testhost_require_tools dnsmasq nft ip bridge busybox dhcp_release
cycles=${NETGUARD_CYCLES:-12}

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/net-peer.sh
. "$here/lib/net-peer.sh"
mac_of() { vivctl domiflist "$1" 2>/dev/null | awk 'NR > 2 && $5 ~ /:/ { print $5; exit }'; }
vnet_of() { vivctl domiflist "$1" 2>/dev/null | awk 'NR > 2 && $1 ~ /^vnet/ { print $1; exit }'; }

work=$(mktemp -d /tmp/vt-netguard.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-guard-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# A DHCPDISCOVER with the interface's own MAC as Ethernet source but another
# client hardware address (how one container could empty the pool).
cat >"$work/discover.py" <<'EOF2'
import socket, struct, sys
ifname, src, chaddr = sys.argv[1:4]
mac = lambda m: bytes.fromhex(m.replace(':', ''))
bootp = (struct.pack('!BBBBIHHIIII', 1, 1, 6, 0, 0x5eed, 0, 0x8000, 0, 0, 0, 0) + mac(chaddr) + bytes(10 + 192)
         + b'\x63\x82\x53\x63' + b'\x35\x01\x01' + b'\xff')
udp = struct.pack('!HHHH', 68, 67, 8 + len(bootp), 0) + bootp
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), b'\xff' * 4)
s = sum(struct.unpack('!10H', ip))
s = (s >> 16) + (s & 0xffff)
s = ~(s + (s >> 16)) & 0xffff
ip = ip[:10] + struct.pack('!H', s) + ip[12:]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((ifname, 0))
sock.send(b'\xff' * 6 + mac(src) + b'\x08\x00' + ip + udp)
EOF2
dnsmasq_saw() { in_host journalctl -u vivarium-dnsmasq-vtg.service --no-pager 2>/dev/null | grep -qi "$1"; }

# --- a network with a DHCP range of 4 addresses, and a peer of the test's own
net_with_peer vtg vtgbr0 10.66.0 10-13 vtpeer 10.66.0.50
in_peer() { in_host ip netns exec vtpeer "$@"; }
bridge_mac=$(in_host cat /sys/class/net/vtgbr0/address)

write_ct() { ct_xml "$1" network "network='vtg'" "${@:2}"; } # NAME EXTRA...

# --- a persistent container without <mac>: one MAC for good
write_ct ga
vivctl define "$work/ga.xml" >/dev/null 2>&1
stored=$(in_host cat /etc/vivarium/containers/ga.xml 2>&1)
check "define stores a generated MAC in the definition" grep -Eq "<mac address='52:54:00(:[0-9a-f]{2}){3}'/>" <<<"$stored"
stored_mac=$(sed -n "s/.*<mac address='\([^']*\)'.*/\1/p" <<<"$stored")
out=$(vivctl dumpxml ga --inactive 2>&1)
check "dumpxml --inactive shows it" contains "$out" "<mac address='$stored_mac'/>"
vivctl start ga >/dev/null 2>&1
check "the running container has that MAC" [ "$(mac_of ga)" = "$stored_mac" ]
vivctl destroy ga >/dev/null 2>&1
vivctl start ga >/dev/null 2>&1
check "... and the same one after a restart" [ "$(mac_of ga)" = "$stored_mac" ]

uuid=$(uuid_of ga)
vnet=$(vnet_of ga)
out=$(in_host nft list table netdev "vivarium-guard-$uuid" 2>&1)
check "the container's filter table exists (netdev vivarium-guard-UUID)" contains "$out" "hook ingress device \"$vnet\""
check "... it passes only the container's MAC" contains "$out" "ether saddr != $stored_mac drop"
hosts=$(in_host cat /run/vivarium/networks/vtg.hosts 2>&1)
reserved=$(awk -F, -v m="$stored_mac" '$1 == m { print $2 }' <<<"$hosts")
check "the network keeps an address of its range for the MAC ($reserved)" \
	grep -Eq '^10\.66\.0\.1[0-3]$' <<<"$reserved"
check "... the same the filter allows" contains "$out" "ip saddr $reserved accept"

# --- its own address works
lease=$(dhcp ga /tmp/vt-ga.lease)
check "udhcpc in the container gets that address ($lease)" [ "$lease" = "$reserved" ]
check "the container reaches the gateway from its address" quiet in_ct ga busybox ping -c 1 -W 3 10.66.0.1
check "the peer reaches the gateway" quiet in_peer busybox ping -c 1 -W 3 10.66.0.1
check "the peer reaches the container" quiet in_peer busybox ping -c 1 -W 3 "$reserved"

# spoof CONTAINER: the three spoofs; results in spoof_* variables
spoof() {
	local ct=$1 tries
	# a made-up source address: ping the gateway from it
	in_host ip neigh flush dev vtgbr0 to 10.66.0.99 >/dev/null 2>&1
	in_ct "$ct" ip addr add 10.66.0.99/32 dev eth0
	if in_ct "$ct" busybox ping -c 2 -W 2 -I 10.66.0.99 10.66.0.1 >/dev/null 2>&1; then spoof_ping=yes; else spoof_ping=no; fi
	spoof_neigh=$(in_host ip neigh show to 10.66.0.99 dev vtgbr0 2>/dev/null)
	in_ct "$ct" ip addr del 10.66.0.99/32 dev eth0
	# a gratuitous ARP for the gateway's address, seen by the peer, which
	# knows the bridge's MAC for it
	in_peer busybox ping -c 1 -W 2 10.66.0.1 >/dev/null 2>&1
	in_ct "$ct" ip addr add 10.66.0.1/32 dev eth0
	spoof_garp=no
	for tries in 1 2 3 4 5 6 7 8 9 10; do
		# Linux ignores an update within a second of the last one
		# (locktime): send until it shows or the tries run out
		in_ct "$ct" busybox arping -U -c 1 -I eth0 -s 10.66.0.1 10.66.0.1 >/dev/null 2>&1
		if ! in_peer ip neigh show to 10.66.0.1 dev vtpeer1 | grep -qi "$bridge_mac"; then
			spoof_garp=yes
			break
		fi
		sleep 0.5
	done
	in_ct "$ct" ip addr del 10.66.0.1/32 dev eth0
	in_peer ip neigh flush dev vtpeer1 >/dev/null 2>&1
	# a changed MAC
	in_ct "$ct" ip link set eth0 address 52:54:00:66:66:66
	in_ct "$ct" busybox ping -c 2 -W 1 10.66.0.1 >/dev/null 2>&1
	in_ct "$ct" busybox arping -c 1 -I eth0 10.66.0.1 >/dev/null 2>&1
	spoof_fdb=$(in_host bridge fdb show br vtgbr0 2>/dev/null | grep -i "52:54:00:66:66:66")
	in_ct "$ct" ip link set eth0 address "$2"
	# a DHCPDISCOVER for a made-up client
	in_ct "$ct" python3 "$work/discover.py" eth0 "$2" "$3"
}

spoof ga "$stored_mac" 52:54:00:99:99:01
check "ping from a made-up source address gets nothing" [ "$spoof_ping" = no ]
check "... and the host's neighbour table has no entry for it" [ -z "$spoof_neigh" ]
check "a gratuitous ARP for the gateway leaves the peer's entry at the bridge's MAC" [ "$spoof_garp" = no ]
check "the bridge's fdb does not learn a changed MAC" [ -z "$spoof_fdb" ]
check "the container's own address still works afterwards" quiet in_ct ga busybox ping -c 1 -W 3 10.66.0.1

# --- a killed helper: the manager removes what it left
helper=$(vivctl domid ga 2>/dev/null | head -1)
in_host kill -KILL "$helper"
wait_for 300 is_shut_off ga
check "a killed helper's container is shut off" is_shut_off ga
check "... and its filter table is gone" [ "$(guard_tables)" = 0 ]
hosts=$(in_host cat /run/vivarium/networks/vtg.hosts 2>&1)
check "... and its hosts line" lacks "$hosts" "$stored_mac"

# --- with the switch off, the same spoofs work
write_ct gb "<mac address='52:54:00:0b:0b:0b'/>" "<vivarium:spoofcheck state='off'/>"
out=$(vivctl create "$work/gb.xml" 2>&1)
check "create a container with spoofcheck off" contains "$out" "Domain gb created"
check "... no filter table for it" [ "$(guard_tables)" = 0 ]
lease=$(dhcp gb /tmp/vt-gb.lease)
check "it gets an address of the range ($lease)" grep -Eq '^10\.66\.0\.1[0-3]$' <<<"$lease"
spoof gb 52:54:00:0b:0b:0b 52:54:00:99:99:02
check "off: ping from a made-up source address is answered" [ "$spoof_ping" = yes ]
check "off: the host's neighbour table learns the made-up address" [ -n "$spoof_neigh" ]
check "off: a gratuitous ARP for the gateway changes the peer's entry" [ "$spoof_garp" = yes ]
check "off: the bridge's fdb learns the changed MAC" [ -n "$spoof_fdb" ]
wait_for 100 dnsmasq_saw 52:54:00:99:99:02
check "off: dnsmasq hears a DHCPDISCOVER for a made-up client" dnsmasq_saw 52:54:00:99:99:02
# dnsmasq logs in order: the later one heard, the earlier one would show
check "a DHCPDISCOVER for a made-up client never reached dnsmasq with the filter on" \
	not dnsmasq_saw 52:54:00:99:99:01
out=$(vivctl dumpxml gb 2>&1)
check "dumpxml shows the switch" contains "$out" "<vivarium:spoofcheck state='off'/>"
vivctl destroy gb >/dev/null 2>&1

# --- one address learned, as clean-traffic learns one: the seed's
# "ifconfig eth0 ADDR" without DHCP works; the gateway's address is never
# learned, and after the first address no other passes
write_ct gl "<mac address='52:54:00:0c:0c:0c'/>"
out=$(vivctl create "$work/gl.xml" 2>&1)
check "create a container that sets its address by hand" contains "$out" "Domain gl created"
learned() { in_host nft list set netdev "vivarium-guard-$(uuid_of gl)" learned0 2>/dev/null | grep -o 'elements = {[^}]*}'; }
in_ct gl ip link set eth0 up
in_ct gl ip addr add 10.66.0.1/24 dev eth0
in_ct gl busybox arping -U -c 2 -I eth0 -s 10.66.0.1 10.66.0.1 >/dev/null 2>&1
in_ct gl busybox ping -c 1 -W 1 10.66.0.13 >/dev/null 2>&1
check "the gateway's address is not learned" [ -z "$(learned)" ]
in_ct gl ip addr del 10.66.0.1/24 dev eth0
in_ct gl ip addr add 10.66.0.50/24 dev eth0
check "an address set by hand reaches the gateway" quiet in_ct gl busybox ping -c 2 -W 3 10.66.0.1
check "... and is the one learned" [ "$(learned)" = "elements = { 10.66.0.50 }" ]
in_host ip neigh flush dev vtgbr0 to 10.66.0.51 >/dev/null 2>&1
in_ct gl ip addr add 10.66.0.51/32 dev eth0
check "a second address gets nothing" not quiet in_ct gl busybox ping -c 2 -W 2 -I 10.66.0.51 10.66.0.1
check "... the host's neighbour table has no entry for it" [ -z "$(in_host ip neigh show to 10.66.0.51 dev vtgbr0 2>/dev/null)" ]
check "... and the first still works" quiet in_ct gl busybox ping -c 1 -W 3 10.66.0.1
# A live attach (or detach) makes the table anew: what eth0 learned stays,
# or the container could take another address then, a neighbour's too.
out=$(vivctl attach-interface gl network vtg --mac 52:54:00:0c:0c:0d --live 2>&1)
check "attach-interface --live of a second interface" same "$out" "Interface attached successfully"
check "... the table has a port for it" contains "$(in_host nft list table netdev "vivarium-guard-$(uuid_of gl)" 2>&1)" \
	"chain port1 {"
check "... eth0's learned address is still the one learned" [ "$(learned)" = "elements = { 10.66.0.50 }" ]
in_host ip neigh flush dev vtgbr0 to 10.66.0.51 >/dev/null 2>&1
check "... so a second address on eth0 still gets nothing" \
	not quiet in_ct gl busybox ping -c 2 -W 2 -I 10.66.0.51 10.66.0.1
check "... and the first still works" quiet in_ct gl busybox ping -c 1 -W 3 10.66.0.1
out=$(vivctl detach-interface gl network --mac 52:54:00:0c:0c:0d --live 2>&1)
check "detach-interface --live of it" same "$out" "Interface detached successfully"
check "... eth0's learned address is kept then too" [ "$(learned)" = "elements = { 10.66.0.50 }" ]
vivctl destroy gl >/dev/null 2>&1

# --- destroy leaves nothing
vivctl start ga >/dev/null 2>&1
lease=$(dhcp ga /tmp/vt-ga.lease)
check "ga again: a lease ($lease)" grep -Eq '^10\.66\.0\.1[0-3]$' <<<"$lease"
check "the lease is in dnsmasq's lease file" contains "$(in_host cat /var/lib/vivarium/dnsmasq/vtg.leases 2>&1)" "$stored_mac"
vivctl destroy ga >/dev/null 2>&1
check "after destroy: no filter table" [ "$(guard_tables)" = 0 ]
check "... no hosts line" lacks "$(in_host cat /run/vivarium/networks/vtg.hosts 2>&1)" "$stored_mac"
wait_for 50 not in_host grep -qi "$stored_mac" /var/lib/vivarium/dnsmasq/vtg.leases
check "... the lease is released" lacks "$(in_host cat /var/lib/vivarium/dnsmasq/vtg.leases 2>&1)" "$stored_mac"

# --- a manager restart: the address is still held, then released; a helper
# killed while no manager runs leaves nothing once a manager is back
vivctl start ga >/dev/null 2>&1
in_host systemctl restart vivariumd.service
out=$(vivctl list 2>&1)
check "a restarted manager adopts ga" contains "$out" " ga "
check "... the hosts line stays while it runs" contains "$(in_host cat /run/vivarium/networks/vtg.hosts 2>&1)" "$stored_mac"
vivctl destroy ga >/dev/null 2>&1
check "... and goes when it is destroyed" lacks "$(in_host cat /run/vivarium/networks/vtg.hosts 2>&1)" "$stored_mac"
vivctl start ga >/dev/null 2>&1
lease=$(dhcp ga /tmp/vt-ga.lease)
helper=$(vivctl domid ga 2>/dev/null | head -1)
in_host systemctl stop vivariumd.service
in_host kill -KILL "$helper"
wait_for 100 not in_host kill -0 "$helper"
out=$(vivctl list --all 2>&1)
check "with no manager running, a killed helper: the next manager shows ga shut off" \
	grep -Eq '^ *- +ga +shut off' <<<"$out"
check "... removes its filter table" [ "$(guard_tables)" = 0 ]
check "... and its hosts line" lacks "$(in_host cat /run/vivarium/networks/vtg.hosts 2>&1)" "$stored_mac"
wait_for 50 not in_host grep -qi "$stored_mac" /var/lib/vivarium/dnsmasq/vtg.leases
check "... and releases its lease ($lease)" lacks "$(in_host cat /var/lib/vivarium/dnsmasq/vtg.leases 2>&1)" "$stored_mac"
vivctl undefine ga >/dev/null 2>&1

# --- state='on' guards another type: an ethernet interface and its <ip>
cat >"$work/ge.xml" <<'XML'
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>ge</name>
  <memory>102400</memory>
  <os><type>exe</type><init>/bin/sh</init></os>
  <devices>
    <console type='pty'/>
    <interface type='ethernet'>
      <mac address='52:54:00:0e:0e:0e'/>
      <ip address='10.68.0.2' prefix='24'/>
      <vivarium:spoofcheck state='on'/>
    </interface>
  </devices>
</domain>
XML
out=$(vivctl create "$work/ge.xml" 2>&1)
check "an ethernet interface with spoofcheck on starts" contains "$out" "Domain ge created"
out=$(in_host nft list table netdev "vivarium-guard-$(uuid_of ge)" 2>&1)
check "... with a filter that allows its <ip>" contains "$out" "ip saddr 10.68.0.2 accept"
vivctl destroy ge >/dev/null 2>&1
check "... gone after destroy" [ "$(guard_tables)" = 0 ]

# --- pool: transient containers, a new MAC each, never run out of addresses
write_ct gt
bad=0
for i in $(seq "$cycles"); do
	out=$(vivctl create "$work/gt.xml" 2>&1)
	if ! contains "$out" "Domain gt created" 2>/dev/null; then
		bad=$((bad + 1))
		echo "#  cycle $i: $out"
		continue
	fi
	lease=$(dhcp gt /tmp/vt-gt.lease)
	if ! grep -Eq '^10\.66\.0\.1[0-3]$' <<<"$lease"; then
		bad=$((bad + 1))
		echo "#  cycle $i: no lease ($lease)"
	fi
	vivctl destroy gt >/dev/null 2>&1
done
check "$cycles create/destroy cycles of a transient container on a 4-address range all get a lease" [ "$bad" = 0 ]
leases=$(in_host sh -c 'grep -c . /var/lib/vivarium/dnsmasq/vtg.leases' 2>/dev/null)
check "no lease is left behind (${leases:-0} in the file)" [ "${leases:-0}" = 0 ]
check "no filter table is left behind" [ "$(guard_tables)" = 0 ]

in_host ip netns del vtpeer >/dev/null 2>&1
vivctl net-destroy vtg >/dev/null 2>&1

echo "1..$n"
[ "$failures" -eq 0 ]
