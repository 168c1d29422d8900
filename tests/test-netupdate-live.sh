#!/bin/bash
# A live net-update of a <host> that a running container's interface got
# its address from: the container's anti-spoofing filter follows (test
# host, installed build, real dnsmasq, busybox udhcpc in the container's
# network namespace, a peer namespace on the bridge):
# - the container gets A from <host mac=M ip=A>; net-update modify of the
#   host to B (--live --config): the filter allows B and no longer A at
#   once (a ping from A to the gateway gets nothing, the peer's ping of A
#   gets nothing) but for its DHCP renewal: udhcpc, told to renew
#   (SIGUSR1), gets B, which reaches the gateway and the peer through the
#   filter; domifaddr shows B, not A; the lease of A
#   is released; the published port goes to B;
# - net-update delete of the host: the container's interface gets an
#   address of the range (a NAME.hosts line for its MAC), the filter allows
#   it and no longer B, udhcpc gets it;
# - IPv6: a container that dhcpcd -6 gave the address of a <host id=> (a
#   DUID-LL of its MAC): net-update modify of that host, the filter allows
#   the new address and no longer the old one, dhcpcd asking anew gets the
#   new one, which passes; domifaddr shows it;
# - an interface with an <ip> of its own keeps what it has;
# - a stopped container gets the new reservation at its next start;
# - a restarted manager takes back the address a container got (from the
#   network's <host mac=>): the next update still releases it and takes it
#   from the filter;
# - a filter that cannot be changed (nft failing in the test host): the
#   net-update still succeeds, and the manager logs a warning naming the
#   container.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl
testhost_require_tools dnsmasq nft ip busybox dhcp_release dhcp_release6 dhcpcd

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/net-peer.sh
. "$here/lib/net-peer.sh"

work=$(mktemp -d /tmp/vt-netupdate.XXXXXX)
# shellcheck source=tests/lib/dhcpcd.sh
. "$here/lib/dhcpcd.sh"
cleanup() {
	dhcpcd_cleanup
	[ "$failures" -eq 0 ] || sed 's/^/#  udhcpc: /' "$work/udhcpc-nu.log" >&2 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

# nft for the manager and its helpers: the real one, unless the test made
# $work/nft-fail (a filter that cannot be changed)
cat >"$work/nft" <<EOF
#!/bin/sh
if [ -e "$work/nft-fail" ]; then
	echo "nft refused by the test" >&2
	exit 1
fi
exec nft "\$@"
EOF
chmod 0755 "$work/nft"

testhost_up "vt-nu-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0 "VIVARIUM_NFT_PATH=$work/nft"
dhcpcd_conf

M=52:54:00:71:00:0a
A=10.71.0.20
B=10.71.0.30
M6=52:54:00:71:00:0c
cat >"$work/vtu.xml" <<XML
<network>
  <name>vtu</name>
  <bridge name='vtubr0'/>
  <ip address='10.71.0.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.71.0.10' end='10.71.0.13'/>
      <host mac='$M' ip='$A'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd71::1' prefix='64'>
    <dhcp>
      <range start='fd71::100' end='fd71::1ff'/>
      <host id='00:03:00:01:$M6' ip='fd71::b'/>
    </dhcp>
  </ip>
</network>
XML
out=$(vivctl net-define "$work/vtu.xml" 2>&1)
check "net-define a network with <host mac='$M' ip='$A'>" contains "$out" "Network vtu defined"
out=$(vivctl net-start vtu 2>&1)
check "net-start it" contains "$out" "Network vtu started"
bridge_peer vtupeer vtubr0 vtupeer 10.71.0.50
in_peer() { in_host ip netns exec vtupeer "$@"; }

guard_once() { in_host nft list table netdev "vivarium-guard-$(uuid_of "$1")" 2>&1; }
# the container's filter table; a listing that failed (no table in its
# output: vivctl or nft did not answer) is asked for again
guard() { # NAME
	local table tries=0
	while table=$(guard_once "$1"); [[ $table != *"table netdev vivarium-guard-"* ]]; do
		tries=$((tries + 1))
		[ "$tries" -lt 50 ] || break
		sleep 0.1
	done
	printf '%s\n' "$table"
}
# allows NAME ADDR: the filter's rule of allowed IPv4 sources has ADDR (the
# rule shown when not); forbids NAME ADDR: it has not
allowed_in() { grep -Eq "ip saddr (${2//./\\.}|\\{ ([0-9.]+, )*${2//./\\.}(, [0-9.]+)* \\}) accept" <<<"$1"; }
allows() {
	local table
	table=$(guard "$1")
	allowed_in "$table" "$2" && return 0
	grep -E "ip saddr|Error" <<<"$table" | sed "s/^/#  $1's filter: /" >&2
	return 1
}
forbids() { # (a table listed, without ADDR)
	local table
	table=$(guard "$1")
	[[ $table == *"table netdev vivarium-guard-"* ]] && ! allowed_in "$table" "$2"
}
# NAME ADDR: pings the gateway from ADDR (on eth0); peer_reaches ADDR.
# Each a ping of 2 tries: a check that traffic passes waits for it
# (wait_until), one that it is dropped sees none of them answered.
pings() { in_ct "$1" busybox ping -c 2 -W 2 -I "$2" 10.71.0.1 >/dev/null 2>&1; }
reaches() { wait_until 30 pings "$@"; }
peer_pings() { in_peer busybox ping -c 2 -W 2 "$1" >/dev/null 2>&1; }
peer_reaches() { wait_until 30 peer_pings "$1"; }
# udhcpc again, from no address: prints the lease
renew() { # NAME
	in_ct "$1" ip -4 addr flush dev eth0
	dhcp "$1" "/tmp/vt-$1.lease"
}
# (grep reads a variable, never a pipe: with pipefail, grep -q leaving
# early makes the writer's SIGPIPE the pipe's status)
lease_gone() { ! grep -q " $1 " <<<"$(in_host cat /var/lib/vivarium/dnsmasq/vtu.leases 2>/dev/null)"; } # ADDR
# (the journal and dnsmasq's lease file are written a moment after what
# the test waited for: these are waited on)
manager_logged() { grep -qF "$1" <<<"$(in_host journalctl -u vivariumd.service --no-pager 2>/dev/null)"; }
domifaddr_has() { grep -qF "$2" <<<"$(vivctl domifaddr "$1" 2>/dev/null)"; } # NAME TEXT

# --- the container gets A
ct_xml nu network "network='vtu'" "<mac address='$M'/>" "<vivarium:port host='8080' container='80' address='10.71.0.1'/>"
out=$(vivctl create "$work/nu.xml" 2>&1)
check "create container nu (MAC $M)" contains "$out" "Domain nu created"
check "its filter allows A ($A)" allows nu "$A"
# udhcpc keeps running (in the background; its PID in the test host's
# /tmp/vt-nu.pid), as a guest's client does: it renews on SIGUSR1
[ -x "$work/udhcpc.sh" ] || install -m 0755 "$here/lib/udhcpc-lease.sh" "$work/udhcpc.sh"
in_host rm -f /tmp/vt-nu.lease /tmp/vt-nu.pid
# shellcheck disable=SC2016 # expanded by the container's sh
in_ct nu env LEASE_FILE=/tmp/vt-nu.lease sh -c 'echo $$ >/tmp/vt-nu.pid; exec busybox udhcpc -i eth0 -f -t 20 -T 2 -s "$1"' \
	sh "$work/udhcpc.sh" >"$work/udhcpc-nu.log" 2>&1 &
udhcpc_pid() { in_host cat /tmp/vt-nu.pid 2>/dev/null; }
leased() { [ "$(in_host cat /tmp/vt-nu.lease 2>/dev/null)" = "$1" ]; }
check "udhcpc (running on) gets A" wait_until 60 leased "$A"
ports() { in_host nft list table inet "vivarium-ports-$(uuid_of nu)" 2>&1; }
check "its published port goes to A" contains "$(ports)" "dnat ip to $A:80"
check "A reaches the gateway" reaches nu "$A"
check "the peer reaches A" peer_reaches "$A"

# --- the host modified to B, live and stored
out=$(vivctl net-update vtu modify ip-dhcp-host "<host mac='$M' ip='$B'/>" --live --config 2>&1)
check "net-update modify ip-dhcp-host to B ($B) --live --config" \
	same "$out" "Updated network vtu persistent config and live state"
check "the filter allows B at once" allows nu "$B"
check "... and no longer A" forbids nu "$A"
# A is still on eth0: the filter is what stops it now (and it learns
# nothing from it: B took the place of what it had learned)
check "a ping from A to the gateway gets nothing" not pings nu "$A"
check "the peer's ping of A gets nothing" not peer_pings "$A"
check "the lease of A is released" wait_until 60 lease_gone "$A"
# The renewal of A from A passes the filter (DHCP to the server only):
# dnsmasq refuses it, and udhcpc asks anew. It goes by unicast, with the
# container's neighbour entry of the gateway (an ARP from A would be
# dropped): the gateway's ARP request for A gives it one now.
in_host ip neigh flush dev vtubr0 to "$A" >/dev/null 2>&1
in_host busybox ping -c 1 -W 1 "$A" >/dev/null 2>&1
in_host kill -USR1 "$(udhcpc_pid)"
check "udhcpc, told to renew (SIGUSR1), gets B" wait_until 90 leased "$B"
in_host kill "$(udhcpc_pid)"
# the lease script leaves A (it does nothing on deconfig): B alone on eth0
in_ct nu ip -4 addr flush dev eth0
in_ct nu ip addr add "$B/24" dev eth0
check "B reaches the gateway through the filter" reaches nu "$B"
check "the peer reaches B" peer_reaches "$B"
check "domifaddr shows B" wait_until 30 domifaddr_has nu "$B/24"
out=$(vivctl domifaddr nu 2>&1)
check "... and not A" lacks "$out" "$A/"
check "its published port goes to B" contains "$(ports)" "dnat ip to $B:80"
in_ct nu ip addr add "$A/32" dev eth0
check "A, added again beside B, still gets nothing" not pings nu "$A"
in_ct nu ip addr del "$A/32" dev eth0
check "the stored definition has B" contains "$(vivctl net-dumpxml vtu --inactive 2>&1)" "<host mac='$M' ip='$B'/>"

# --- the host deleted: an address of the range, reserved by a line of ours
out=$(vivctl net-update vtu delete ip-dhcp-host "<host mac='$M' ip='$B'/>" --live 2>&1)
check "net-update delete of the host, live" same "$out" "Updated network vtu live state"
hosts=$(in_host cat /run/vivarium/networks/vtu.hosts 2>&1)
R=$(awk -F, -v m="$M" '$1 == m { print $2 }' <<<"$hosts")
check "the network keeps an address of the range for the MAC ($R)" grep -Eq '^10\.71\.0\.1[0-3]$' <<<"$R"
check "... the filter allows it" allows nu "${R:-none}"
check "... and no longer B" forbids nu "$B"
lease=$(renew nu)
check "udhcpc gets it ($lease)" [ "$lease" = "$R" ]
check "it reaches the gateway" reaches nu "${R:-none}"
check "domifaddr shows it" wait_until 30 domifaddr_has nu "$R/24"

# --- IPv6: a <host id=> of a DUID with the container's MAC in it,
# modified live (--parent-index 1)
allowed6_in() { grep -Eq "ip6 saddr \\{ ([0-9a-f:]+, )*$2(, [0-9a-f:]+)* \\} accept" <<<"$1"; }
allows6() { # NAME ADDR
	local table
	table=$(guard "$1")
	allowed6_in "$table" "$2" && return 0
	grep -E "ip6 saddr|Error" <<<"$table" | sed "s/^/#  $1's filter: /" >&2
	return 1
}
forbids6() {
	local table
	table=$(guard "$1")
	[[ $table == *"table netdev vivarium-guard-"* ]] && ! allowed6_in "$table" "$2"
}
has_addr6() { grep -q " $2/" <<<"$(in_ct "$1" ip -6 -o addr show dev eth0 scope global 2>/dev/null)"; }
pings6() { in_ct "$1" busybox ping6 -c 2 -W 2 -I "$2" fd71::1 >/dev/null 2>&1; }
ct_xml n6 network "network='vtu'" "<mac address='$M6'/>"
out=$(vivctl create "$work/n6.xml" 2>&1)
check "create container n6 (its MAC in the DUID of <host id=> fd71::b)" contains "$out" "Domain n6 created"
check "its filter allows fd71::b" allows6 n6 fd71::b
in_ct n6 ip link set eth0 up
dhcpcd_start n6 "00:03:00:01:$M6" eth0 in_ct n6
check "dhcpcd -6 in n6 gets fd71::b" wait_until 120 has_addr6 n6 fd71::b
check "... which reaches the bridge" wait_until 60 pings6 n6 fd71::b
out=$(vivctl net-update vtu modify ip-dhcp-host "<host id='00:03:00:01:$M6' ip='fd71::c'/>" --parent-index 1 \
	--live 2>&1)
check "net-update modify of the IPv6 <host> to fd71::c, live" same "$out" "Updated network vtu live state"
check "the filter allows fd71::c at once" allows6 n6 fd71::c
check "... and no longer fd71::b" forbids6 n6 fd71::b
check "a ping6 from fd71::b gets nothing" not pings6 n6 fd71::b
check "stop n6's dhcpcd by its PID" dhcpcd_stop n6
# a client asking anew (no lease of dhcpcd's own to confirm)
in_ct n6 ip -6 addr flush dev eth0 scope global
in_host rm -f /var/lib/dhcpcd/eth0.lease6
dhcpcd_start n6 "00:03:00:01:$M6" eth0 in_ct n6
check "dhcpcd -6 asking again gets fd71::c" wait_until 120 has_addr6 n6 fd71::c
check "... which reaches the bridge through the filter" wait_until 60 pings6 n6 fd71::c
check "domifaddr shows fd71::c" wait_until 30 domifaddr_has n6 "fd71::c/64"
check "stop n6's dhcpcd by its PID" dhcpcd_stop n6
vivctl destroy n6 >/dev/null 2>&1

# --- an update moves no one it does not concern: two MACs whose start
# looks for a free address of the range at the same place (the manager's
# FNV-1a of the MAC, modulo the range's 4 addresses), y started first and
# then x, which gets an address after y's; y goes; an update of another
# <host> leaves x where it is (a start now would give x y's old address)
slot() { # MAC: where a start looks first, 0-3
	local h=2166136261 b
	for b in ${1//:/ }; do
		h=$((((h ^ 16#$b) * 16777619) & 0xFFFFFFFF))
	done
	echo $((h % 4))
}
MY=52:54:00:71:01:00
for i in $(seq 1 255); do
	MX=$(printf '52:54:00:71:01:%02x' "$i")
	[ "$(slot "$MX")" = "$(slot "$MY")" ] && break
done
reserved() { awk -F, -v m="$1" '$1 == m { print $2 }' <<<"$(in_host cat /run/vivarium/networks/vtu.hosts 2>&1)"; }
ct_xml ny network "network='vtu'" "<mac address='$MY'/>"
ct_xml nx network "network='vtu'" "<mac address='$MX'/>"
out=$(vivctl create "$work/ny.xml" 2>&1)
check "create ny ($MY, slot $(slot "$MY"))" contains "$out" "Domain ny created"
out=$(vivctl create "$work/nx.xml" 2>&1)
check "create nx ($MX, the same slot)" contains "$out" "Domain nx created"
RY=$(reserved "$MY")
RX=$(reserved "$MX")
check "both get an address of the range ($RY, $RX)" grep -Eq '^10\.71\.0\.1[0-3] 10\.71\.0\.1[0-3]$' <<<"$RY $RX"
vivctl destroy ny >/dev/null 2>&1
out=$(vivctl net-update vtu add ip-dhcp-host "<host mac='52:54:00:71:01:ff' ip='10.71.0.45'/>" --live 2>&1)
check "net-update add of a host for a MAC of no container" same "$out" "Updated network vtu live state"
check "... nx keeps its address ($(reserved "$MX"))" same "$(reserved "$MX")" "$RX"
check "... and its filter still allows it" allows nx "${RX:-none}"
check "... and nu keeps its own" same "$(reserved "$M")" "$R"
out=$(vivctl net-update vtu delete ip-dhcp-host "<host mac='52:54:00:71:01:ff' ip='10.71.0.45'/>" --live 2>&1)
check "net-update delete of that host" same "$out" "Updated network vtu live state"
check "... nx still keeps its address" same "$(reserved "$MX")" "$RX"
vivctl destroy nx >/dev/null 2>&1

# --- a <host> that gives a running container's address to another: the
# holder moves to another address of the range, the other gets it; never
# both (two filters would allow one address)
MH=52:54:00:71:02:01
MC=52:54:00:71:02:02
ct_xml nh network "network='vtu'" "<mac address='$MH'/>"
ct_xml nc network "network='vtu'" "<mac address='$MC'/>"
out=$(vivctl create "$work/nh.xml" 2>&1)
check "create nh" contains "$out" "Domain nh created"
out=$(vivctl create "$work/nc.xml" 2>&1)
check "create nc" contains "$out" "Domain nc created"
RH=$(reserved "$MH")
check "nh gets an address of the range ($RH)" grep -Eq '^10\.71\.0\.1[0-3]$' <<<"$RH"
out=$(vivctl net-update vtu add ip-dhcp-host "<host mac='$MC' ip='${RH:-10.71.0.10}'/>" --live 2>&1)
check "net-update add of a host giving nh's address to nc's MAC" same "$out" "Updated network vtu live state"
check "... nc's filter allows it" allows nc "${RH:-none}"
check "... nh's no longer" forbids nh "${RH:-none}"
RH2=$(reserved "$MH")
check "... nh has another address of the range ($RH2)" grep -Eq '^10\.71\.0\.1[0-3]$' <<<"$RH2"
check "... which its filter allows" allows nh "${RH2:-none}"
check "... and is not nh's old one" [ "$RH2" != "$RH" ]
vivctl net-update vtu delete ip-dhcp-host "<host mac='$MC' ip='${RH:-10.71.0.10}'/>" --live >/dev/null 2>&1
vivctl destroy nh >/dev/null 2>&1
vivctl destroy nc >/dev/null 2>&1

# --- an interface with an <ip> of its own keeps what it has
out=$(vivctl net-update vtu add ip-dhcp-host "<host mac='52:54:00:71:00:0b' ip='10.71.0.41'/>" --live 2>&1)
check "net-update add of a host for container nf's MAC" same "$out" "Updated network vtu live state"
ct_xml nf network "network='vtu'" "<mac address='52:54:00:71:00:0b'/>" "<ip address='10.71.0.40' prefix='24'/>"
out=$(vivctl create "$work/nf.xml" 2>&1)
check "create container nf with <ip address='10.71.0.40'>" contains "$out" "Domain nf created"
check "its filter allows its <ip>" allows nf 10.71.0.40
check "... and the host's address" allows nf 10.71.0.41
out=$(vivctl net-update vtu modify ip-dhcp-host "<host mac='52:54:00:71:00:0b' ip='10.71.0.42'/>" --live 2>&1)
check "net-update modify of that host" same "$out" "Updated network vtu live state"
check "... nf's filter is as it was" allows nf 10.71.0.41
check "... without the new address" forbids nf 10.71.0.42
vivctl destroy nf >/dev/null 2>&1

# --- a stopped container: the new reservation at its next start
vivctl destroy nu >/dev/null 2>&1
out=$(vivctl net-update vtu add ip-dhcp-host "<host mac='$M' ip='10.71.0.33'/>" --live 2>&1)
check "net-update add of a host for nu's MAC while nu is stopped" same "$out" "Updated network vtu live state"
out=$(vivctl create "$work/nu.xml" 2>&1)
check "create nu again" contains "$out" "Domain nu created"
check "... its filter allows the host's address" allows nu 10.71.0.33
lease=$(dhcp nu /tmp/vt-nu.lease)
check "... udhcpc gets it ($lease)" [ "$lease" = 10.71.0.33 ]

# --- a restarted manager takes the address back (the live XML does not
# hold it): the next update still releases it and takes it from the filter
in_host systemctl restart vivariumd.service
check "a restarted manager adopts nu" wait_until 60 eval 'grep -q " nu " <<<"$(vivctl list 2>/dev/null)"'
out=$(vivctl net-update vtu modify ip-dhcp-host "<host mac='$M' ip='10.71.0.35'/>" --live 2>&1)
check "after a manager restart, net-update modify of nu's host" same "$out" "Updated network vtu live state"
check "... the filter allows the new address" allows nu 10.71.0.35
check "... and no longer the old one" forbids nu 10.71.0.33
check "... whose lease is released" wait_until 60 lease_gone 10.71.0.33

# --- a filter that cannot follow: the update stands, a warning names nu,
# and the lease of the address its filter still allows is kept (released,
# the next container could get it while nu's filter lets nu use it)
lease=$(renew nu)
check "udhcpc in nu gets 10.71.0.35 ($lease)" [ "$lease" = 10.71.0.35 ]
touch "$work/nft-fail"
out=$(vivctl net-update vtu modify ip-dhcp-host "<host mac='$M' ip='10.71.0.34'/>" --live 2>&1)
rm -f "$work/nft-fail"
check "with nft failing, net-update still succeeds" same "$out" "Updated network vtu live state"
check "... dnsmasq has the new host" in_host grep -q "10.71.0.34" /run/vivarium/networks/vtu.dhcp-hosts
check "... the manager logs a warning naming the container" \
	wait_until 30 manager_logged "Failed to update the anti-spoofing filter of container 'nu'"
check "... the filter is the one it had" allows nu 10.71.0.35
check "... the warning says the old lease is kept" \
	manager_logged "(the leases of 10.71.0.35 and"
check "... and dnsmasq still has nu's lease of 10.71.0.35" not lease_gone 10.71.0.35

vivctl destroy nu >/dev/null 2>&1
check "no filter table is left" [ "$(guard_tables)" = 0 ]
in_host ip netns del vtupeer >/dev/null 2>&1
vivctl net-destroy vtu >/dev/null 2>&1
vivctl net-undefine vtu >/dev/null 2>&1

echo "1..$n"
[ "$failures" -eq 0 ]
