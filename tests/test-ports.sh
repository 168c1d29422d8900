#!/bin/bash
# Published ports (<vivarium:port>, issue 19) and IPv6 on a managed network,
# in a test host with real traffic inside its namespaces:
# - a managed network with IPv4 and an IPv6 /64 (router advertisements from
#   dnsmasq): the container autoconfigures its IPv6 address from its MAC;
# - a container serving on port 80 (busybox nc) publishes it as host port
#   8080: reachable from the test host's 127.0.0.1 and [::1] (a relay:
#   systemd socket unit + vivarium-tcp-relay; for UDP
#   vivarium-udp-relay), from the host's own
#   addresses (v4 and v6), and from another namespace over IPv4 and IPv6;
#   an unpublished port is closed, the container's port 80 is not the host's;
# - the anti-spoofing filter passes the container's own IPv6 and drops a
#   made-up IPv6 source;
# - a second container publishing host port 8080 is refused at start,
#   leaving nothing;
# - a manager restart keeps the rules (and loads them again when they went);
# - destroy and a killed helper remove the rules.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl
testhost_require_tools dnsmasq nft ip busybox

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_client() { in_host ip netns exec vtpcl "$@"; }

work=$(mktemp -d /tmp/vt-ports.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

# shellcheck source=tests/lib/ports.sh
. "$here/lib/ports.sh"

testhost_up "vt-ports-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# --- a NAT network with IPv4 and an IPv6 /64 (no DHCPv6: router
# advertisements only), and a client namespace routed through the host
cat >"$work/vtp.xml" <<'XML'
<network>
  <name>vtp</name>
  <bridge name='vtpbr0'/>
  <forward mode='nat'/>
  <ip address='10.71.0.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.71.0.10' end='10.71.0.20'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd71::1' prefix='64'/>
</network>
XML
out=$(vivctl net-create "$work/vtp.xml" 2>&1)
check "net-create vtp (IPv4 and an IPv6 /64)" contains "$out" "Network vtp created"
conf=$(in_host cat /run/vivarium/networks/vtp.conf 2>&1)
check "dnsmasq sends router advertisements for the /64" contains "$conf" "dhcp-range=fd71::,ra-only,64"
client_netns vtpcl vtpc 10.72.0 fd72

# --- the published container
write_ct pa 52:54:00:71:00:05 vtp 10.71.0.5 10.71.0.1 "<vivarium:port host='8080' container='80'/>" \
	"<vivarium:port protocol='udp' host='5353' container='53'/>"
out=$(vivctl define "$work/pa.xml" 2>&1)
check "define a container publishing tcp 8080 -> 80" contains "$out" "Domain pa defined"
out=$(vivctl dumpxml pa 2>&1)
check "dumpxml shows the port" contains "$out" "<vivarium:port protocol='tcp' host='8080' container='80'/>"
out=$(vivctl start pa 2>&1)
check "start it" contains "$out" "Domain pa started"
uuid=$(uuid_of pa)
rules=$(in_host nft list table inet "vivarium-ports-$uuid" 2>&1)
check "its rules are a table of their own (inet vivarium-ports-UUID)" contains "$rules" "dnat ip to 10.71.0.5:80"
slaac=fd71::5054:ff:fe71:5
check "... with the IPv6 address it autoconfigures ($slaac)" contains "$rules" "dnat ip6 to [$slaac]:80"
has_slaac() { in_ct pa ip -6 addr show dev eth0 | grep "inet6 $slaac/64" | grep -qv tentative; }
wait_for 300 has_slaac
check "the container autoconfigured $slaac from the router advertisements" has_slaac
has_route6() { in_ct pa ip -6 route show default | grep -q "via fe80::"; }
wait_for 100 has_route6
check "... and an IPv6 default route" has_route6
listening() { in_ct pa busybox netstat -ltn 2>/dev/null | grep -q ':80 '; }
wait_for 100 listening
check "its server listens on port 80" listening

check "the test host's 127.0.0.1:8080 reaches it" answers in_host 127.0.0.1 8080
check "the host's bridge address 10.71.0.1:8080 reaches it" answers in_host 10.71.0.1 8080
check "the host's [fd72::1]:8080 reaches it (IPv6, from the host)" answers in_host fd72::1 8080
check "another namespace reaches it at 10.72.0.1:8080" answers in_client 10.72.0.1 8080
check "another namespace reaches it over IPv6 at [fd72::1]:8080" answers in_client fd72::1 8080
check "... and at [fd71::1]:8080" answers in_client fd71::1 8080
check "the test host's [::1]:8080 reaches it (the relay)" answers in_host ::1 8080
relay=$(in_host systemctl show -p User,DynamicUser,ActiveState "vivarium-port-$uuid-8080.service" 2>&1)
check "... which runs without privileges (DynamicUser)" contains "$relay" "DynamicUser=yes"
check "udp 5353 reaches its port 53 from another namespace (IPv4)" udp_answers in_client 10.72.0.1 5353
check "... and over IPv6" udp_answers in_client fd72::1 5353
check "... and from the test host's 127.0.0.1" udp_answers in_host 127.0.0.1 5353
check "... and from the test host's [::1] (vivarium-udp-relay)" udp_answers in_host ::1 5353
check "an unpublished port (8081) is closed" [ -z "$(fetch in_client 10.72.0.1 8081)" ]
check "the container's port 80 is not the host's" [ -z "$(fetch in_client 10.72.0.1 80)" ]
check "127.0.0.1 needs route_localnet on the bridge" [ "$(in_host cat /proc/sys/net/ipv4/conf/vtpbr0/route_localnet)" = 1 ]
check "... so the network drops loopback addresses from the bridge" \
	contains "$(in_host nft list table inet vivarium-vtp 2>&1)" 'iifname "vtpbr0" ip daddr 127.0.0.0/8 drop'

# --- IPv6 anti-spoofing: its own address passes, a made-up one does not
guard=$(in_host nft list table netdev "vivarium-guard-$uuid" 2>&1)
check "the anti-spoofing filter allows its IPv6 addresses" contains "$guard" "$slaac"
check "its own IPv6 address reaches the gateway" quiet in_ct pa busybox ping -c 1 -W 3 fd71::1
in_ct pa ip addr add fd71::99/128 dev eth0 nodad
check "a made-up IPv6 source gets nothing" not quiet in_ct pa busybox ping -c 2 -W 2 -I fd71::99 fd71::1
check "... and the host learns no neighbour for it" [ -z "$(in_host ip -6 neigh show to fd71::99 2>/dev/null)" ]
in_ct pa ip addr del fd71::99/128 dev eth0
check "... its own address still works" quiet in_ct pa busybox ping -c 1 -W 3 fd71::1

# --- a second container cannot take host port 8080
write_ct pb 52:54:00:71:00:06 vtp 10.71.0.5 10.71.0.1 "<vivarium:port host='8080' container='80'/>"
out=$(vivctl create "$work/pb.xml" 2>&1)
check "a second container publishing host port 8080 is refused" \
	contains "$out" "Host port tcp/8080 of container 'pb' is already published by container 'pa'"
check "... it does not run" lacks "$(vivctl list 2>&1)" " pb "
check "... and loaded no rules" [ "$(port_tables)" = 1 ]
check "pa still answers" answers in_client 10.72.0.1 8080

# --- a port with nowhere to go is refused at start, leaving nothing
cat >"$work/pn.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>pn</name>
  <os><type>exe</type><init>/bin/sh</init></os>
  <devices>
    <interface type='bridge'>
      <source bridge='vtpbr0'/>
      <vivarium:port host='9090'/>
    </interface>
  </devices>
</domain>
XML
out=$(vivctl create "$work/pn.xml" 2>&1)
check "a port on an interface without a known address is refused at start" \
	contains "$out" "Interface 0 of container 'pn' has no known address to publish its ports to"
check "... leaving no table" [ "$(port_tables)" = 1 ]
check "... and no scope" not quiet in_host systemctl is-active machine-pn.scope

# --- a manager restart keeps them, and loads them again
in_host systemctl restart vivariumd.service
check "after a manager restart pa runs" contains "$(vivctl list 2>&1)" " pa "
check "... and answers from another namespace" answers in_client 10.72.0.1 8080
check "... and from 127.0.0.1" answers in_host 127.0.0.1 8080
check "... and from [::1]" answers in_host ::1 8080
in_host nft delete table inet "vivarium-ports-$uuid"
in_host systemctl restart vivariumd.service
vivctl list >/dev/null 2>&1
check "a restarted manager loads the rules again when they went" [ "$(port_tables)" = 1 ]
check "... and they work" answers in_client fd72::1 8080

# --- destroy and a killed helper remove them
vivctl destroy pa >/dev/null 2>&1
check "destroy removes the rules" [ "$(port_tables)" = 0 ]
wait_for 100 [ "$(relay_units)" = 0 ]
check "... and the [::1] relay's units" [ "$(relay_units)" = 0 ]
check "... nothing answers on 8080" [ -z "$(fetch in_client 10.72.0.1 8080)" ]
vivctl start pa >/dev/null 2>&1
check "started again, the rules are back" [ "$(port_tables)" = 1 ]
helper=$(vivctl domid pa 2>/dev/null | head -1)
in_host kill -KILL "$helper"
wait_for 300 is_shut_off pa
check "a killed helper's container is shut off" is_shut_off pa
check "... and its rules are gone" [ "$(port_tables)" = 0 ]
wait_for 100 [ "$(relay_units)" = 0 ]
check "... and its relay's units" [ "$(relay_units)" = 0 ]
out=$(vivctl create "$work/pb.xml" 2>&1)
check "now the second container may publish 8080" contains "$out" "Domain pb created"
expect=hello-pb
wait_for 10 answers in_client 10.72.0.1 8080
check "... and it answers" answers in_client 10.72.0.1 8080
vivctl destroy pb >/dev/null 2>&1
check "nothing is left in nft" [ "$(port_tables)" = 0 ]
wait_for 100 [ "$(relay_units)" = 0 ]
check "... nor in systemd" [ "$(relay_units)" = 0 ]

# --- an isolated network (no <forward>): a published port still answers
cat >"$work/vtq.xml" <<'XML'
<network>
  <name>vtq</name>
  <bridge name='vtqbr0'/>
  <ip address='10.73.0.1' netmask='255.255.255.0'/>
</network>
XML
out=$(vivctl net-create "$work/vtq.xml" 2>&1)
check "net-create vtq (isolated)" contains "$out" "Network vtq created"
sed -e "s/network='vtp'/network='vtq'/; s/10\.71\.0\.5/10.73.0.5/; s/10\.71\.0\.1/10.73.0.1/" \
	-e "s/>pb</>pc</; s/hello-pb/hello-pc/; s/udp-pb/udp-pc/" "$work/pb.xml" >"$work/pc.xml"
out=$(vivctl create "$work/pc.xml" 2>&1)
check "a container on it publishes tcp 8080" contains "$out" "Domain pc created"
expect=hello-pc
wait_for 10 answers in_client 10.72.0.1 8080
check "... which answers another namespace through the isolated bridge" answers in_client 10.72.0.1 8080
check "... and the test host's [::1]:8080 (IPv4 only: the relay connects to its IPv4 address)" answers in_host ::1 8080
check "... while the network stays isolated (the container reaches no other network)" \
	not quiet in_ct pc busybox ping -c 1 -W 2 10.72.0.2
vivctl destroy pc >/dev/null 2>&1
vivctl net-destroy vtq >/dev/null 2>&1
check "nothing of it is left in nft" [ "$(port_tables)" = 0 ]

vivctl undefine pa >/dev/null 2>&1
in_host ip netns del vtpcl >/dev/null 2>&1
vivctl net-destroy vtp >/dev/null 2>&1

echo "1..$n"
[ "$failures" -eq 0 ]
