#!/bin/bash
# Published ports (<vivarium:port>, issue 19) reached from close by, in a
# test host with real traffic inside its namespaces:
# - hairpin: another container on the same bridge (lb), and the publishing
#   container itself (la, its bridge port in hairpin mode), reach la's published TCP and UDP ports through
#   the host's addresses (the bridge's gateway address, an address of
#   another of the host's devices), over IPv4 and IPv6; the container sees
#   the host's address as the source (masqueraded, or its answers would
#   not come back through the host), while a client from elsewhere keeps
#   its own;
# - UDP on the host's [::1] (vivarium-udp-relay behind a socket unit):
#   datagrams both ways, several clients at once, each answered on its own
#   flow;
# - TCP on the host's [::1] (vivarium-tcp-relay) keeps half-close: a
#   client that ends its stream first gets the container's whole answer,
#   given only once the container saw that end (tests/lib/tcp-peer.py);
# - every stop path removes the port table, the relay units and their
#   sockets: destroy, a crash of init, a killed helper, and a helper killed
#   while no manager ran.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl
testhost_require_tools dnsmasq nft ip busybox python3

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
work=$(mktemp -d /tmp/vt-ports-local.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"
# shellcheck source=tests/lib/ports.sh
. "$here/lib/ports.sh"
in_client() { in_host ip netns exec vtlcl "$@"; }
expect=hello-la
# nothing of the port's relay listens on the host: SOCKETS PROTO PORT
not_bound() { ! in_host ss -H -n "-l$1" "sport = :$2" 2>/dev/null | grep -q .; }
nothing_left() { # WHAT: the checks of every stop path
	check "$1: no port table is left" [ "$(port_tables)" = 0 ]
	wait_for 100 [ "$(relay_units)" = 0 ]
	check "$1: ... no relay unit (socket or service)" [ "$(relay_units)" = 0 ]
	check "$1: ... nothing listens on [::1]:5353/udp" not_bound u 5353
	check "$1: ... nor on [::1]:8080/tcp" not_bound t 8080
	check "$1: ... nor on [::1]:8081/tcp" not_bound t 8081
	check "$1: ... no relay process" not quiet in_host pgrep -f 'vivarium-(tcp|udp)-relay'
}

testhost_up "vt-ports-local-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

cat >"$work/vtl.xml" <<'XML'
<network>
  <name>vtl</name>
  <bridge name='vtlbr0'/>
  <forward mode='nat'/>
  <ip address='10.74.0.1' netmask='255.255.255.0'/>
  <ip family='ipv6' address='fd74::1' prefix='64'/>
</network>
XML
out=$(vivctl net-create "$work/vtl.xml" 2>&1)
check "net-create vtl (IPv4 and an IPv6 /64)" contains "$out" "Network vtl created"
# another device of the host, 10.75.0.1 and fd75::1, with a client behind it
client_netns vtlcl vtl 10.75.0 fd75

# la also answers on 81 only once a client ended its stream (after-eof)
ct_serve="/usr/bin/python3 $work/tcp-peer.py server 81 after-eof" \
	write_ct la 52:54:00:74:00:05 vtl 10.74.0.5 10.74.0.1 "<vivarium:port host='8080' container='80'/>" \
	"<vivarium:port protocol='udp' host='5353' container='53'/>" "<vivarium:port host='8081' container='81'/>"
write_ct lb 52:54:00:74:00:06 vtl 10.74.0.6 10.74.0.1
vivctl define "$work/la.xml" >/dev/null 2>&1
out=$(vivctl start la 2>&1)
check "la (publishing tcp 8080 and udp 5353) starts" contains "$out" "Domain la started"
out=$(vivctl create "$work/lb.xml" 2>&1)
check "lb (on the same network, nothing published) starts" contains "$out" "Domain lb created"
uuid=$(uuid_of la)
la6=fd74::5054:ff:fe74:5
lb6=fd74::5054:ff:fe74:6
has_addr6() { in_ct "$1" ip -6 addr show dev eth0 | grep "inet6 $2/64" | grep -qv tentative; }
wait_for 300 has_addr6 la "$la6"
wait_for 300 has_addr6 lb "$lb6"
check "both autoconfigured their IPv6 addresses" eval 'has_addr6 la "$la6" && has_addr6 lb "$lb6"'
listening() {
	local tcp
	tcp=$(in_ct la busybox netstat -ltn 2>/dev/null)
	[[ "$tcp" == *":80 "* && "$tcp" == *":81 "* ]] && in_ct la busybox netstat -lun | grep -q ':53 '
}
wait_for 100 listening
check "la's servers listen on tcp 80 and 81 and udp 53" listening

rules=$(in_host nft list table inet "vivarium-ports-$uuid" 2>&1)
check "the table masquerades hairpinned IPv4 (from la's subnet)" \
	contains "$rules" "ip saddr 10.74.0.0/24 ip daddr 10.74.0.5 tcp dport 80 ct status dnat masquerade"
check "... and IPv6" contains "$rules" "ip6 saddr fd74::/64 ip6 daddr $la6 udp dport 53 ct status dnat masquerade"

# --- hairpin: lb, and la itself, through the host's addresses
# hairpin_mode of the bridge port of container NAME (MAC)
hairpin_of() { in_host sh -c 'for p in /sys/class/net/vtlbr0/brif/*; do
	[ "$(cat "/sys/class/net/${p##*/}/address")" = "$1" ] && cat "$p/hairpin_mode"; done' sh "$1"; }
check "la's bridge port is in hairpin mode (br_netfilter bridges the DNATed frame back)" \
	same "$(hairpin_of fe:54:00:74:00:05)" 1
check "... lb's, which publishes nothing, is not" same "$(hairpin_of fe:54:00:74:00:06)" 0
check "lb reaches la at the bridge's address 10.74.0.1:8080" answers "in_ct lb" 10.74.0.1 8080
check "lb reaches la at another address of the host, 10.75.0.1:8080" answers "in_ct lb" 10.75.0.1 8080
check "lb reaches la over IPv6 at [fd74::1]:8080" answers "in_ct lb" fd74::1 8080
check "... and at [fd75::1]:8080" answers "in_ct lb" fd75::1 8080
check "la reaches itself at 10.74.0.1:8080" answers "in_ct la" 10.74.0.1 8080
check "la reaches itself over IPv6 at [fd74::1]:8080" answers "in_ct la" fd74::1 8080
out=$(udp_ask "in_ct lb" 10.74.0.1 5353)
check "udp: lb reaches la at 10.74.0.1:5353" contains "$out" "udp-la:ping from "
check "... and la sees the host's bridge address as the source (masqueraded)" \
	contains "$out" "udp-la:ping from ::ffff:10.74.0.1 "
out=$(udp_ask "in_ct lb" fd74::1 5353)
check "udp: lb reaches la over IPv6, from the host's fd74::1" contains "$out" "udp-la:ping from fd74::1 "
out=$(udp_ask "in_ct la" 10.75.0.1 5353)
check "udp: la reaches itself at 10.75.0.1:5353" contains "$out" "udp-la:ping from ::ffff:10.74.0.1 "
out=$(udp_ask "in_ct la" fd74::1 5353)
check "udp: la reaches itself over IPv6" contains "$out" "udp-la:ping from fd74::1 "
out=$(udp_ask in_client 10.75.0.1 5353)
check "a client elsewhere reaches la and keeps its own address (no masquerade)" \
	contains "$out" "udp-la:ping from ::ffff:10.75.0.2 "
out=$(udp_ask in_client fd75::1 5353)
check "... over IPv6 too" contains "$out" "udp-la:ping from fd75::2 "

# --- UDP on the host's [::1]
out=$(udp_ask in_host ::1 5353)
check "udp: the host's [::1]:5353 reaches la (the relay), from the host's fd74::1" \
	contains "$out" "udp-la:ping from fd74::1 "
sock=$(in_host systemctl show -p Listen,ActiveState "vivarium-port-$uuid-udp-5353.socket" 2>&1)
check "... through a socket unit of the host's systemd, a datagram socket on [::1]:5353" \
	contains "$sock" "Listen=[::1]:5353 (Datagram)"
svc=$(in_host systemctl show -p DynamicUser,ExecStart "vivarium-port-$uuid-udp-5353.service" 2>&1)
check "... whose service is vivarium-udp-relay, without privileges (DynamicUser)" \
	eval '[[ "$svc" == *DynamicUser=yes* && "$svc" == *vivarium-udp-relay* ]]'
out=$(udp_ask in_host ::1 5353 4 3)
check "udp: four clients at once on [::1], three rounds: each got its own twelve answers, from four source ports (a flow each)" \
	contains "$out" "# answered=12 lost=0 sources=4"
check "... la saw them come from the host's fd74::1" same "$(grep -c '^udp-la:ping-.* from fd74::1 ' <<<"$out")" 12
check "tcp [::1]:8080 still answers beside it" answers in_host ::1 8080

# --- TCP on the host's [::1]: half-close (systemd-socket-proxyd, used before,
# closed the whole connection at the client's end of stream: no answer)
tcp_ask() { in_host timeout 300 /usr/bin/python3 "$work/tcp-peer.py" client "$@" 2>&1; }
out=$(tcp_ask ::1 8081 halfclose 1048576)
check "tcp: a client of [::1]:8081 that ends its stream first gets la's whole answer (1 MiB back, sent once la saw the end)" \
	same "$out" "sent 1048576 received 1048576 same"
svc=$(in_host systemctl show -p DynamicUser,ExecStart "vivarium-port-$uuid-8081.service" 2>&1)
check "... through vivarium-tcp-relay, without privileges (DynamicUser), to la's IPv6 address" \
	eval '[[ "$svc" == *DynamicUser=yes* && "$svc" == *"vivarium-tcp-relay [$la6]:81"* ]]'
out=$(tcp_ask ::1 8081 many 20 65536)
check "... 20 such clients at once, each gets its own answer" same "$out" "same=20 of 20"
out=$(tcp_ask 127.0.0.1 8081 halfclose 65536)
check "... as a client of 127.0.0.1:8081 (DNAT, no relay) does" same "$out" "sent 65536 received 65536 same"

# --- every way out removes the table, the units and their sockets
start_again() {
	vivctl start la >/dev/null 2>&1
	wait_for 100 listening
	check "started again, [::1]:5353 answers" udp_answers in_host ::1 5353
}
vivctl destroy la >/dev/null 2>&1
nothing_left "destroy"

start_again
# a crash: init killed by a signal
in_host kill -KILL "$(leader_of la)"
wait_for 300 is_shut_off la
check "init killed: la is shut off" is_shut_off la
nothing_left "a crash of init"

start_again
in_host kill -KILL "$(vivctl domid la 2>/dev/null | head -1)"
wait_for 300 is_shut_off la
check "helper killed: la is shut off" is_shut_off la
nothing_left "a killed helper"

start_again
helper=$(vivctl domid la 2>/dev/null | head -1)
in_host systemctl stop vivariumd.service
in_host kill -KILL "$helper"
wait_for 300 not in_host kill -0 "$helper"
check "helper killed while no manager ran: la is shut off once the manager is back" wait_until 60 is_shut_off la
nothing_left "a helper killed while no manager ran"

vivctl destroy lb >/dev/null 2>&1
vivctl undefine la >/dev/null 2>&1
in_host ip netns del vtlcl >/dev/null 2>&1
vivctl net-destroy vtl >/dev/null 2>&1

echo "1..$n"
[ "$failures" -eq 0 ]
