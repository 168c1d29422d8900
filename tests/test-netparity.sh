#!/bin/bash
# virsh's network verbs that a libvirt-lxc user also scripts (issue 19), in a
# test host with the installed build: two containers and a peer namespace on
# a managed network with DHCP, each verb checked against what the host has:
# - net-dhcp-leases (--mac): the rows of dnsmasq's lease file, virsh's table;
# - domifaddr --source lease|arp (--interface, --full): the leases, and the
#   host's neighbour table on the network's bridge; agent refused by name;
# - net-edit: EDITOR changes the stored definition, an unchanged file says
#   so, a refused edit keeps the stored file and exits 1;
# - net-update add/delete/modify of ip-dhcp-host and ip-dhcp-range, --live
#   (dnsmasq answers DHCP from the new hosts file and the new range),
#   --config (the stored file), and the errors for bad commands, sections
#   and a delete of a host that is not there;
# - net-event: Defined/Started/Stopped/Undefined as virsh prints them, the
#   network filter, and no event as a failure;
# - nothing left behind: no bridge, unit, file of the network, or container.
# Traffic stays inside namespaces of the test host.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl
testhost_require_tools dnsmasq nft ip busybox python3

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/net-peer.sh
. "$here/lib/net-peer.sh"
in_peer() { in_host ip netns exec vnppeer "$@"; }
vnet_of() { vivctl domiflist "$1" 2>/dev/null | awk 'NR > 2 && $1 ~ /^vnet/ { print $1; exit }'; }
dnsmasq_pid() { in_host systemctl show -p MainPID --value vivarium-dnsmasq-vnp.service 2>/dev/null; }

work=$(mktemp -d /tmp/vt-netparity.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-netpar-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

net_xml vnp vnpbr0 10.77.0 10-30
out=$(vivctl net-define "$work/vnp.xml" 2>&1)
check "net-define vnp" contains "$out" "Network vnp defined"

# --- net-event: a listener of all networks, ready once it saw a probe
vivctl net-event --event lifecycle --loop --timeout 300 >"$work/events" 2>&1 &
events_pid=$!
cat >"$work/probe.xml" <<'XML'
<network>
  <name>vnpprobe</name>
  <bridge name='vnpprobe0'/>
</network>
XML
listener_ready() {
	vivctl net-define "$work/probe.xml" >/dev/null 2>&1
	grep -q "^event 'lifecycle' for network vnpprobe: Defined" "$work/events"
}
check "net-event --loop sees a network defined (virsh's line)" wait_for 600 listener_ready

out=$(vivctl net-start vnp 2>&1)
check "net-start vnp" same "$out" "Network vnp started"
check "dnsmasq of vnp runs" wait_for 300 unit_active vivarium-dnsmasq-vnp.service

# --- two containers and a peer namespace on vnp, each with a DHCP lease
write_ct() { ct_xml "$1" network "network='vnp'" "<mac address='$2'/>"; } # NAME MAC
dhcp_peer() { # MAC LEASEFILE: udhcpc in the peer with that MAC, its address flushed
	in_peer ip addr flush dev vnppeer1
	in_peer ip link set vnppeer1 down
	in_peer ip link set vnppeer1 address "$1"
	in_peer ip link set vnppeer1 up
	dhcp_in in_peer vnppeer1 "$2" 20 -x hostname:vnppeer
}

mac1=52:54:00:77:00:01
mac2=52:54:00:77:00:02
write_ct vnp1 "$mac1"
write_ct vnp2 "$mac2"
out=$(vivctl create "$work/vnp1.xml" 2>&1)
check "container vnp1 starts on vnp" contains "$out" "Domain vnp1 created"
vivctl define "$work/vnp2.xml" >/dev/null 2>&1
out=$(vivctl start vnp2 2>&1)
check "container vnp2 (persistent) starts on vnp" contains "$out" "Domain vnp2 started"
ip1=$(dhcp vnp1 /tmp/vnp1.lease -x hostname:vnp1)
ip2=$(dhcp vnp2 /tmp/vnp2.lease)
check "udhcpc in vnp1 gets an address ($ip1)" grep -Eq '^10\.77\.0\.[0-9]+$' <<<"$ip1"
check "udhcpc in vnp2 gets an address ($ip2)" grep -Eq '^10\.77\.0\.[0-9]+$' <<<"$ip2"
vnet1=$(vnet_of vnp1)

bridge_peer vnppeer vnpbr0 vnppeer

# --- net-dhcp-leases against dnsmasq's lease file
leasefile=/var/lib/vivarium/dnsmasq/vnp.leases
# the expected table from the file: virsh's columns, sorted by MAC
expected_leases() { # [MAC]
	in_host cat "$leasefile" | python3 -c '
import sys, time
want = sys.argv[1].lower() if len(sys.argv) > 1 else None
rows = []
for line in sys.stdin:
    f = line.split()
    if len(f) < 5 or f[0] == "duid":
        continue
    if want and f[1].lower() != want:
        continue
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(f[0])))
    rows.append([when, f[1], "ipv4", f[2] + "/24", f[3] if f[3] != "*" else "-", f[4] if f[4] != "*" else "-"])
rows.sort(key=lambda r: r[1].lower())
head = ["Expiry Time", "MAC address", "Protocol", "IP address", "Hostname", "Client ID or DUID"]
w = [max(len(x) for x in col) for col in zip(head, *rows)]
fmt = lambda r: "".join(" " + c.ljust(w[i] + 2) for i, c in enumerate(r)).rstrip()
print(fmt(head))
print("-" * (sum(w) + 3 * len(w)))
for r in rows:
    print(fmt(r))
' "$@"
}
out=$(vivctl net-dhcp-leases vnp 2>&1)
check "net-dhcp-leases vnp: the lease file's rows in virsh's table" same "$out" "$(expected_leases)"
check "... with vnp1's lease, its hostname and client ID" \
	grep -Eq "^ [0-9-]+ [0-9:]+ +$mac1 +ipv4 +$ip1/24 +vnp1 +01:$mac1\$" <<<"$out"
check "... and vnp2's" grep -Eq " $mac2 +ipv4 +$ip2/24 " <<<"$out"
out=$(vivctl net-dhcp-leases vnp --mac "${mac2^^}" 2>&1)
check "net-dhcp-leases --mac (any case): that MAC's row only" same "$out" "$(expected_leases "$mac2")"
check "... which is vnp2's" grep -Eq " $mac2 +ipv4 +$ip2/24 " <<<"$out"
out=$(vivctl net-dhcp-leases vnpnone 2>&1)
check "net-dhcp-leases of an unknown network: virsh's error" same "$out" \
"error: failed to get network 'vnpnone'
error: Network not found: no network with matching name 'vnpnone'"
out=$(vivctl net-dhcp-leases vnp --mac 52:54:zz 2>&1)
check "net-dhcp-leases --mac garbage: says what is wrong" contains "$out" "Invalid MAC address '52:54:zz'"

# --- domifaddr from the leases and from the host's neighbour table
out=$(vivctl domifaddr vnp1 2>&1)
check "domifaddr vnp1: its lease, virsh's layout" same "$out" \
" Name       MAC address          Protocol     Address
-------------------------------------------------------------------------------
 $(printf '%-10s %-17s    %-12s %s' "$vnet1" "$mac1" ipv4 "$ip1/24")"
out=$(vivctl domifaddr vnp1 --source lease --interface "$vnet1" --full 2>&1)
check "domifaddr --source lease --interface VNET --full" contains "$out" "$mac1    ipv4         $ip1/24"
out=$(vivctl domifaddr vnp1 --interface vnetnone 2>&1)
check "domifaddr --interface of another name: no row" lacks "$out" "$mac1"
check "the host reaches vnp1 (its neighbour table learns it)" quiet in_host busybox ping -c 1 -W 3 "$ip1"
host_neigh=$(in_host ip -4 neigh show dev vnpbr0 2>&1)
check "the host's neighbour table on vnpbr0 has vnp1's MAC" grep -qi "^$ip1 lladdr $mac1" <<<"$host_neigh"
out=$(vivctl domifaddr vnp1 --source arp 2>&1)
check "domifaddr --source arp: the neighbour entry (prefix 0, as libvirt)" same "$out" \
" Name       MAC address          Protocol     Address
-------------------------------------------------------------------------------
 $(printf '%-10s %-17s    %-12s %s' "$vnet1" "$mac1" ipv4 "$ip1/0")"
# A second entry for vnp1's MAC, permanent (nothing re-learns or ages it):
# two addresses, the second line's name and MAC '-' as virsh prints them,
# both with --full; gone once the host forgets it.
in_host ip neigh replace 10.77.0.250 lladdr "$mac1" dev vnpbr0 nud permanent
out=$(vivctl domifaddr vnp1 --source arp 2>&1)
check "domifaddr --source arp: a second neighbour entry of the MAC shows" \
	grep -Eq "^ (-|$vnet1) +(-|$mac1) +ipv4 +10\.77\.0\.250/0\$" <<<"$out"
check "... one line with the name and MAC, the other with '-'" same \
	"$(grep -c "^ $vnet1 " <<<"$out"):$(grep -Ec '^ - +- +ipv4 ' <<<"$out")" "1:1"
out=$(vivctl domifaddr vnp1 --source arp --full 2>&1)
check "... with --full both lines name the interface and MAC" same "$(grep -Ec "^ $vnet1 +$mac1 " <<<"$out")" 2
in_host ip neigh del 10.77.0.250 dev vnpbr0 >/dev/null 2>&1
out=$(vivctl domifaddr vnp1 --source arp 2>&1)
check "... and not once the host forgot it" lacks "$out" "10.77.0.250"
out=$(vivctl domifaddr vnp1 --source agent 2>&1)
rc=$?
check "domifaddr --source agent: refused, a container has no guest agent" same "$rc:$out" \
"1:error: Operation not supported: a container has no guest agent; use --source lease or --source arp"
out=$(vivctl domifaddr vnp1 --source dhcp 2>&1)
check "domifaddr --source of another name: virsh's error" same "$out" "error: Unknown data source 'dhcp'"

# --- net-update: bad input
stored() { in_host cat /etc/vivarium/networks/vnp.xml; }
before=$(stored)
out=$(vivctl net-update vnp frob ip-dhcp-host "<host mac='52:54:00:77:00:99' ip='10.77.0.99'/>" 2>&1)
check "net-update with an unknown command: virsh's error" same "$out" "error: unrecognized command name 'frob'"
out=$(vivctl net-update vnp add ip-dhcp-frob "<host mac='52:54:00:77:00:99' ip='10.77.0.99'/>" 2>&1)
check "net-update with an unknown section: virsh's error" same "$out" "error: unrecognized section name 'ip-dhcp-frob'"
out=$(vivctl net-update vnp add portgroup "<portgroup name='a'/>" 2>&1)
check "net-update of a section Vivarium does not update: said by name" contains "$out" \
	"can't update 'portgroup' section of network 'vnp'"
out=$(vivctl net-update vnp delete ip-dhcp-host "<host mac='52:54:00:77:00:99' ip='10.77.0.99'/>" --config 2>&1)
check "net-update delete of a host that is not there" same "$out" \
"error: Failed to update network vnp
error: couldn't locate a matching dhcp host entry in network 'vnp': no \"<host mac='52:54:00:77:00:99' ip='10.77.0.99'/>\""
out=$(vivctl net-update vnp add ip-dhcp-host "<host mac='52:54:00:77:00:99' ip='10.99.0.5'/>" --config 2>&1)
check "net-update add of a host outside the subnet: the parser's reason" contains "$out" \
	"DHCP host address '10.99.0.5' is outside the network 10.77.0.1/24"
out=$(vivctl net-update vnp add ip-dhcp-host "<range start='10.77.0.40' end='10.77.0.41'/>" --config 2>&1)
check "net-update of ip-dhcp-host with a <range>: expected one <host>" contains "$out" "expected one <host> element"
out=$(vivctl net-update vnp modify ip-dhcp-range "<range start='10.77.0.10' end='10.77.0.30'/>" 2>&1)
check "net-update modify of a range: refused as libvirt does" contains "$out" "dhcp ranges cannot be modified"
out=$(vivctl net-update vnp add ip-dhcp-host "<host mac='52:54:00:77:00:99' ip='10.77.0.99'/>" --current --live 2>&1)
check "--current with --live: virsh's error" same "$out" "error: Options --current and --live are mutually exclusive"
out=$(vivctl net-update vnp add ip-dhcp-host "<host mac='52:54:00:77:00:99' ip='10.77.0.99'/>" --parent-index 5 --config 2>&1)
check "net-update --parent-index past the <ip> elements" contains "$out" \
	"no <ip> element found at index 5 in network 'vnp'"
out=$(vivctl net-update vnp add ip-dhcp-host /nonexistent/host.xml --config 2>&1)
check "net-update with XML from a missing file: says which" contains "$out" "/nonexistent/host.xml"
check "none of that changed the stored definition" same "$(stored)" "$before"

# --- net-update --config: the stored file only (the XML from a file, --parent-index 0)
echo "<host mac='52:54:00:77:00:a1' name='cfgonly' ip='10.77.0.201'/>" >"$work/host.xml"
out=$(vivctl net-update vnp add ip-dhcp-host "$work/host.xml" --parent-index 0 --config 2>&1)
check "net-update add --config: virsh's message" same "$out" "Updated network vnp persistent config"
check "... the stored definition has the host" contains "$(stored)" \
	"<host mac='52:54:00:77:00:a1' name='cfgonly' ip='10.77.0.201'/>"
check "... the live one has not" lacks "$(vivctl net-dumpxml vnp 2>&1)" "10.77.0.201"
check "... and dnsmasq's hosts file has not" lacks "$(in_host cat /run/vivarium/networks/vnp.dhcp-hosts 2>&1)" \
	"10.77.0.201"

# --- net-update --live of a host: dnsmasq answers from it at once
pid_before=$(dnsmasq_pid)
out=$(vivctl net-update vnp add-last ip-dhcp-host "<host mac='52:54:00:77:00:b1' name='peerfix' ip='10.77.0.202'/>" --live 2>&1)
check "net-update add-last --live: virsh's message" same "$out" "Updated network vnp live state"
check "... the live definition has the host" contains "$(vivctl net-dumpxml vnp 2>&1)" \
	"<host mac='52:54:00:77:00:b1' name='peerfix' ip='10.77.0.202'/>"
check "... the stored one has not" lacks "$(stored)" "10.77.0.202"
check "... dnsmasq's hosts file has it" contains "$(in_host cat /run/vivarium/networks/vnp.dhcp-hosts 2>&1)" \
	"52:54:00:77:00:b1,10.77.0.202,peerfix"
peer_ip=$(dhcp_peer 52:54:00:77:00:b1 /tmp/vnp-peer.lease)
check "a client with that MAC gets 10.77.0.202 from the running dnsmasq" same "$peer_ip" "10.77.0.202"
check "... which was reloaded, not restarted" same "$(dnsmasq_pid)" "$pid_before"
out=$(vivctl net-dhcp-leases vnp --mac 52:54:00:77:00:b1 2>&1)
check "net-dhcp-leases shows the peer's lease and hostname" grep -Eq " 52:54:00:77:00:b1 +ipv4 +10\.77\.0\.202/24 +peerfix " <<<"$out"
out=$(vivctl net-update vnp modify ip-dhcp-host "<host mac='52:54:00:77:00:b1' name='peerfix' ip='10.77.0.203'/>" --live 2>&1)
check "net-update modify --live" same "$out" "Updated network vnp live state"
check "... the hosts file has the new address" contains "$(in_host cat /run/vivarium/networks/vnp.dhcp-hosts 2>&1)" \
	"52:54:00:77:00:b1,10.77.0.203,peerfix"
out=$(vivctl net-update vnp delete ip-dhcp-host "<host mac='52:54:00:77:00:b1' ip='10.77.0.203'/>" 2>&1)
check "net-update delete (current = live on a running network)" same "$out" "Updated network vnp live state"
check "... the host is gone from the live definition" lacks "$(vivctl net-dumpxml vnp 2>&1)" "52:54:00:77:00:b1"
check "... and from dnsmasq's hosts file" lacks "$(in_host cat /run/vivarium/networks/vnp.dhcp-hosts 2>&1)" \
	"52:54:00:77:00:b1"

# --- net-update of a range, live and stored: dnsmasq restarts with it
out=$(vivctl net-update vnp add ip-dhcp-range "<range start='10.77.0.150' end='10.77.0.160'/>" --live --config 2>&1)
check "net-update add range --live --config: virsh's message" same "$out" \
	"Updated network vnp persistent config and live state"
out=$(vivctl net-update vnp delete ip-dhcp-range "<range start='10.77.0.10' end='10.77.0.30'/>" --live --config 2>&1)
check "net-update delete of the first range" same "$out" "Updated network vnp persistent config and live state"
check "dnsmasq's configuration has only the new range" same \
	"$(in_host grep '^dhcp-range=' /run/vivarium/networks/vnp.conf 2>&1)" "dhcp-range=10.77.0.150,10.77.0.160,255.255.255.0"
check "dnsmasq runs again after its restart" wait_for 300 unit_active vivarium-dnsmasq-vnp.service
check "... as a new process" not same "$(dnsmasq_pid)" "$pid_before"
peer_ip=$(dhcp_peer 52:54:00:77:00:c1 /tmp/vnp-peer2.lease)
check "a new client gets an address of the new range ($peer_ip)" grep -Eq '^10\.77\.0\.1(5[0-9]|60)$' <<<"$peer_ip"
check "the containers' hosts file kept their addresses" contains \
	"$(in_host cat /run/vivarium/networks/vnp.hosts 2>&1)" "$mac1,$ip1"
check "the stored definition has the new range" contains "$(stored)" "<range start='10.77.0.150' end='10.77.0.160'/>"
check "... not the old one" lacks "$(stored)" "10.77.0.30"
out=$(vivctl net-update vnp add ip-dhcp-range "<range start='10.77.0.150' end='10.77.0.160'/>" --config 2>&1)
check "net-update add of a range that is there: refused" contains "$out" \
	"there is an existing dhcp range entry in network 'vnp'"

# --- net-update of dns-host: names dnsmasq answers at once
dns_answers() { # NAME ADDRESS: the peer asks the network's dnsmasq (whose
	# REFUSED for the AAAA query makes busybox's nslookup fail: read its answer)
	local answer
	answer=$(in_peer timeout 20 busybox nslookup "$1" 10.77.0.1 2>/dev/null)
	grep -q "^Address: $2\$" <<<"$answer"
}
out=$(vivctl net-update vnp add dns-host "<host ip='10.77.0.99'><hostname>vnpfiles</hostname><hostname>vnpfiles2</hostname></host>" --live --config 2>&1)
check "net-update add dns-host --live --config" same "$out" "Updated network vnp persistent config and live state"
check "... the stored and the live definitions have it" same \
	"$(stored | grep -c "<hostname>vnpfiles2</hostname>"):$(vivctl net-dumpxml vnp | grep -c "<hostname>vnpfiles2</hostname>")" "1:1"
check "... dnsmasq's addn-hosts file has it" contains "$(in_host cat /run/vivarium/networks/vnp.addn-hosts 2>&1)" \
	"10.77.0.99 vnpfiles vnpfiles2"
check "the running dnsmasq answers vnpfiles2 with 10.77.0.99" wait_for 100 dns_answers vnpfiles2 10.77.0.99
out=$(vivctl net-update vnp add dns-host "<host ip='10.77.0.98'><hostname>vnpfiles</hostname></host>" 2>&1)
check "net-update add of a dns-host with a name that is there: refused" contains "$out" \
	"there is already at least one DNS HOST record with a matching field in network 'vnp'"
out=$(vivctl net-update vnp modify dns-host "<host ip='10.77.0.99'><hostname>vnpfiles</hostname></host>" 2>&1)
check "net-update modify dns-host: refused as libvirt does" contains "$out" "DNS HOST records cannot be modified"
out=$(vivctl net-update vnp delete dns-host "<host ip='10.77.0.99'><hostname>nothere</hostname></host>" 2>&1)
check "net-update delete of a dns-host that is not there" contains "$out" \
	"couldn't locate a matching DNS HOST record in network 'vnp'"
out=$(vivctl net-update vnp delete dns-host "<host ip='10.77.0.99'><hostname>vnpfiles</hostname></host>" --live --config 2>&1)
check "net-update delete dns-host" same "$out" "Updated network vnp persistent config and live state"
check "... gone from dnsmasq's addn-hosts file" lacks "$(in_host cat /run/vivarium/networks/vnp.addn-hosts 2>&1)" "10.77.0.99"
check "... and from the stored definition" lacks "$(stored)" "vnpfiles"
check "the running dnsmasq no longer answers vnpfiles2" wait_for 100 not dns_answers vnpfiles2 10.77.0.99

# --- net-edit
stored_before=$(stored)
out=$(in_host env EDITOR=true vivctl net-edit vnp 2>&1)
check "net-edit with an unchanged file" same "$out" "Network vnp XML configuration not changed."
out=$(in_host env EDITOR="sed -i s/10.77.0.160/10.77.0.161/g" vivctl net-edit vnp 2>&1)
check "net-edit: virsh's message" same "$out" "Network vnp XML configuration edited."
check "... the stored definition has the edit" contains "$(stored)" "<range start='10.77.0.150' end='10.77.0.161'/>"
stored_before=$(stored)
out=$(printf 'n\n' | in_host env EDITOR="sed -i s/10.77.0.150/10.99.0.1/g" vivctl net-edit vnp 2>&1)
rc=$?
check "net-edit of an invalid range: refused with the parser's reason" contains "$out" \
	"DHCP range start '10.99.0.1' is outside the network 10.77.0.1/24"
check "... asks to try again, and 'n' gives up with status 1" same "$rc:$(grep -c 'Failed. Try again?' <<<"$out")" "1:1"
check "... the stored definition is unchanged" same "$(stored)" "$stored_before"
check "net-edit leaves no temporary file" same "$(in_host sh -c 'ls /tmp/vivctl*.xml 2>/dev/null')" ""
out=$(in_host env EDITOR=true vivctl net-edit vnpnone 2>&1)
check "net-edit of an unknown network" contains "$out" "error: failed to get network 'vnpnone'"

# --- a stopped container has no addresses to show
vivctl destroy vnp2 >/dev/null 2>&1
out=$(vivctl domifaddr vnp2 2>&1)
check "domifaddr of a stopped container: not running" contains "$out" "domain is not running"

# --- net-event: one-shot with a filter, and the loop's lifecycle
vivctl net-event vnp --event lifecycle --timeout 300 >"$work/one" 2>&1 &
one_pid=$!
one_done() {
	vivctl net-define "$work/probe.xml" >/dev/null 2>&1
	vivctl net-define "$work/vnp.xml" >/dev/null 2>&1
	! kill -0 "$one_pid" 2>/dev/null
}
check "net-event NETWORK (one-shot) ends after an event of that network" wait_for 600 one_done
wait "$one_pid"
rc=$?
check "... its output: that network's event only, and the count" same "$rc:$(cat "$work/one")" \
"0:event 'lifecycle' for network vnp: Defined
events received: 1"
out=$(vivctl net-event vnp --event lifecycle --timeout 1 2>&1)
rc=$?
check "net-event with no event before --timeout: virsh's lines, status 1" same "$rc:$out" \
"1:event loop timed out
events received: 0"
out=$(vivctl net-event --timeout 1 2>&1)
check "net-event without --event: virsh's error" same "$out" "error: either --list or --event <type> is required"
out=$(vivctl net-event --event frob 2>&1)
check "net-event --event frob: virsh's error" same "$out" "error: unknown event type frob"
check "net-event --list" same "$(vivctl net-event --list 2>&1)" "lifecycle"

# --- everything goes
vivctl destroy vnp1 >/dev/null 2>&1
vivctl undefine vnp2 >/dev/null 2>&1
out=$(vivctl net-destroy vnp 2>&1)
check "net-destroy vnp" same "$out" "Network vnp destroyed"
out=$(vivctl net-undefine vnp 2>&1)
check "net-undefine vnp" same "$out" "Network vnp has been undefined"
vivctl net-undefine vnpprobe >/dev/null 2>&1
in_host ip netns del vnppeer >/dev/null 2>&1
loop_has() { grep -q "^event 'lifecycle' for network vnp: $1\$" "$work/events"; }
for ev in Started Stopped Undefined; do
	check "net-event --loop printed vnp $ev" wait_for 300 loop_has "$ev"
done
kill "$events_pid" 2>/dev/null
wait "$events_pid" 2>/dev/null
check "net-event --loop: vnp's events in order" same \
	"$(grep "for network vnp:" "$work/events" | uniq)" \
"event 'lifecycle' for network vnp: Started
event 'lifecycle' for network vnp: Defined
event 'lifecycle' for network vnp: Stopped
event 'lifecycle' for network vnp: Undefined"
check "no bridge vnpbr0 is left" not link_exists vnpbr0
check "no dnsmasq unit of vnp is left" not unit_active vivarium-dnsmasq-vnp.service
check "no file of vnp is left under /run/vivarium/networks" same \
	"$(in_host sh -c 'ls /run/vivarium/networks/ | grep "^vnp"' 2>&1)" ""
check "no container is left" same "$(vivctl list --all --name 2>&1 | grep vnp)" ""

echo "1..$n"
[ "$failures" -eq 0 ]
