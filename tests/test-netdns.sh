#!/bin/bash
# The network XML's <dns> beyond hosts (issue 19), in a test host with the
# installed build: a managed network with a TXT and an SRV record, a
# forwarder for a domain served by a second dnsmasq that the test runs in a
# namespace of its own, a forwarder with only a domain (answered locally,
# never forwarded), a default forwarder and forwardPlainNames='no'; a peer
# namespace on the network's bridge asks with busybox nslookup. Then
# net-update dns-txt and dns-srv (add, modify, delete; --live restarts
# dnsmasq with the new records, --config changes the stored file), refusals
# that write nothing, and a network with <dns enable='no'/>.
# Traffic stays inside namespaces of the test host.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl
testhost_require_tools dnsmasq nft ip busybox

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/net-peer.sh
. "$here/lib/net-peer.sh"
in_peer() { in_host ip netns exec vndpeer "$@"; }
dnsmasq_pid() { in_host systemctl show -p MainPID --value vivarium-dnsmasq-vnd.service 2>/dev/null; }
stored() { in_host cat /etc/vivarium/networks/vnd.xml 2>&1; }
conf() { in_host cat /run/vivarium/networks/vnd.conf 2>&1; }
# ask TYPE NAME [SERVER]: busybox nslookup from the peer (default: vnd's dnsmasq)
ask() { in_peer timeout 10 busybox nslookup -type="$1" "$2" "${3:-10.78.0.1}" 2>&1; }
answers() { # TYPE NAME TEXT: the answer holds TEXT
	local out
	out=$(ask "$1" "$2")
	case $out in *"$3"*) return 0 ;; esac
	return 1
}

work=$(mktemp -d /tmp/vt-netdns.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-netdns-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# --- the upstream server: a dnsmasq of the test's own in namespace vndup
routed_peer vndup vndu 10.78.9.1/24 10.78.9.2/24
in_host ip netns exec vndup dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --listen-address=10.78.9.2 \
	--bind-interfaces --pid-file=/run/vndup.pid --address=/fwd.test/10.78.9.77 \
	--address=/private.test/10.78.9.88 --address=/elsewhere.test/10.78.9.99 --address=/plainhost/10.78.9.66 \
	--address=/vnd.test/10.78.9.55
upstream_answers() { # NAME ADDRESS (nslookup fails on the AAAA half: read its answer)
	local out
	out=$(in_host ip netns exec vndup timeout 20 busybox nslookup "$1" 10.78.9.2 2>&1)
	grep -q "^Address: $2\$" <<<"$out"
}
check "the upstream dnsmasq answers www.fwd.test" wait_for 300 upstream_answers www.fwd.test 10.78.9.77
check "... and x.private.test (what a forwarder would get)" upstream_answers x.private.test 10.78.9.88
check "... and the plain name plainhost" upstream_answers plainhost 10.78.9.66

cat >"$work/vnd.xml" <<'XML'
<network>
  <name>vnd</name>
  <bridge name='vndbr0'/>
  <domain name='vnd.test'/>
  <dns forwardPlainNames='no'>
    <txt name='info.vnd.test' value='hello, "vivarium" # one'/>
    <srv service='http' protocol='tcp' domain='vnd.test' target='web.vnd.test' port='8080' priority='10' weight='20'/>
    <forwarder domain='fwd.test' addr='10.78.9.2'/>
    <forwarder domain='private.test'/>
    <forwarder addr='10.78.9.2'/>
    <host ip='10.78.0.5'><hostname>web</hostname></host>
  </dns>
  <ip address='10.78.0.1' prefix='24'/>
</network>
XML

# --- refusals at define write nothing
cat >"$work/bad.xml" <<'XML'
<network>
  <name>vndbad</name>
  <dns>
    <srv service='http' target='web'/>
  </dns>
</network>
XML
out=$(vivctl net-define "$work/bad.xml" 2>&1)
check "net-define of an <srv> without protocol=: refused, saying where" contains "$out" \
	"bad.xml:4:5: DNS SRV record 'http' lacks the attribute 'protocol' ('tcp' or 'udp')"
check "... and nothing is stored" not quiet in_host test -e /etc/vivarium/networks/vndbad.xml

out=$(vivctl net-define "$work/vnd.xml" 2>&1)
check "net-define vnd" contains "$out" "Network vnd defined"
dump=$(vivctl net-dumpxml vnd 2>&1)
check "net-dumpxml: the TXT record" contains "$dump" \
	"<txt name='info.vnd.test' value='hello, &quot;vivarium&quot; # one'/>"
check "net-dumpxml: the SRV record" contains "$dump" \
	"<srv service='http' protocol='tcp' domain='vnd.test' target='web.vnd.test' port='8080' priority='10' weight='20'/>"
check "net-dumpxml: the forwarders, libvirt's attribute order" contains "$dump" \
"    <forwarder domain='fwd.test' addr='10.78.9.2'/>
    <forwarder domain='private.test'/>
    <forwarder addr='10.78.9.2'/>"
check "net-dumpxml: forwardPlainNames" contains "$dump" "<dns forwardPlainNames='no'>"

out=$(vivctl net-start vnd 2>&1)
check "net-start vnd" same "$out" "Network vnd started"
check "dnsmasq of vnd runs" wait_for 300 unit_active vivarium-dnsmasq-vnd.service
c=$(conf)
check "dnsmasq's configuration: the TXT record, quoted" contains "$c" \
	'txt-record=info.vnd.test,"hello, \"vivarium\" # one"'
check "... the SRV record" contains "$c" "srv-host=_http._tcp.vnd.test,web.vnd.test,8080,10,20"
check "... the domain's forwarder" contains "$c" "server=/fwd.test/10.78.9.2"
check "... the local-only domain" contains "$c" "local=/private.test/"
check "... the default forwarder instead of resolv.conf" contains "$c" "server=10.78.9.2
no-resolv"
check "... plain names kept local" contains "$c" "domain-needed
local=//"
check "... the network's <domain> without localOnly: not answered here alone (libvirt's default)" \
	lacks "$c" "local=/vnd.test/"

bridge_peer vndpeer vndbr0 vndp 10.78.0.50

# --- what the peer gets
check "the peer gets the TXT record, commas, quotes and '#' kept" wait_for 100 answers txt info.vnd.test \
	'text = "hello, "vivarium" # one"'
out=$(ask srv _http._tcp.vnd.test)
check "the peer gets the SRV record: priority, weight, port, target" contains "$out" \
	"_http._tcp.vnd.test	service = 10 20 8080 web.vnd.test"
out=$(ask a www.fwd.test)
check "www.fwd.test comes from the upstream dnsmasq (the domain's forwarder)" contains "$out" "Address: 10.78.9.77"
out=$(ask a y.elsewhere.test)
check "y.elsewhere.test too (the default forwarder)" contains "$out" "Address: 10.78.9.99"
out=$(ask a x.private.test)
check "x.private.test is answered locally, not forwarded: NXDOMAIN" same \
	"$(grep -c NXDOMAIN <<<"$out"):$(grep -c 10.78.9.88 <<<"$out")" "1:0"
out=$(ask a plainhost)
check "a plain name is not forwarded (forwardPlainNames='no')" lacks "$out" "10.78.9.66"
out=$(ask a web)
check "... while the network's own plain name answers" contains "$out" "Address: 10.78.0.5"
out=$(ask a far.vnd.test)
check "a name of the network's domain that it does not know goes upstream (no localOnly)" \
	contains "$out" "Address: 10.78.9.55"

# --- net-update dns-txt, live
pid0=$(dnsmasq_pid)
out=$(vivctl net-update vnd add dns-txt "<txt name='new.vnd.test' value='added live'/>" --live 2>&1)
check "net-update add dns-txt --live: virsh's message" same "$out" "Updated network vnd live state"
check "... the peer gets the new TXT record" wait_for 100 answers txt new.vnd.test 'text = "added live"'
check "... dnsmasq was restarted with it" not same "$(dnsmasq_pid)" "$pid0"
check "... the live definition has it" contains "$(vivctl net-dumpxml vnd 2>&1)" \
	"<txt name='new.vnd.test' value='added live'/>"
check "... the stored one has not" lacks "$(stored)" "new.vnd.test"
out=$(vivctl net-update vnd modify dns-txt "<txt name='new.vnd.test' value='changed'/>" 2>&1)
check "net-update modify dns-txt (current = live)" same "$out" "Updated network vnd live state"
check "... the peer gets the new value" wait_for 100 answers txt new.vnd.test 'text = "changed"'
out=$(vivctl net-update vnd delete dns-txt "<txt name='info.vnd.test'/>" --live --config 2>&1)
check "net-update delete dns-txt by its name --live --config" same "$out" \
	"Updated network vnd persistent config and live state"
gone_txt() { ! answers txt info.vnd.test 'text ='; }
check "... the peer no longer gets it" wait_for 100 gone_txt
check "... the stored definition lacks it" lacks "$(stored)" "info.vnd.test"
check "... the other TXT record is still served" answers txt new.vnd.test 'text = "changed"'

# --- net-update dns-srv
out=$(vivctl net-update vnd add dns-srv "<srv service='ldap' protocol='udp' domain='vnd.test' target='dir.vnd.test' port='389'/>" --live --config 2>&1)
check "net-update add dns-srv --live --config" same "$out" "Updated network vnd persistent config and live state"
check "... the peer gets it (priority and weight 0)" wait_for 100 answers srv _ldap._udp.vnd.test \
	"service = 0 0 389 dir.vnd.test"
check "... the stored definition has it" contains "$(stored)" \
	"<srv service='ldap' protocol='udp' domain='vnd.test' target='dir.vnd.test' port='389'/>"
out=$(vivctl net-update vnd modify dns-srv "<srv service='ldap' protocol='udp' domain='vnd.test' target='dir2.vnd.test' port='636'/>" --live 2>&1)
check "net-update modify dns-srv --live" same "$out" "Updated network vnd live state"
check "... the peer gets the new target and port" wait_for 100 answers srv _ldap._udp.vnd.test \
	"service = 0 0 636 dir2.vnd.test"
out=$(vivctl net-update vnd delete dns-srv "<srv service='http' protocol='tcp'/>" --live 2>&1)
check "net-update delete dns-srv by service and protocol" same "$out" "Updated network vnd live state"
gone_srv() { ! answers srv _http._tcp.vnd.test 'service ='; }
check "... the peer no longer gets it" wait_for 100 gone_srv

# --- refusals change nothing: not the files, not the running dnsmasq
before_stored=$(stored)
before_live=$(vivctl net-dumpxml vnd 2>&1)
before_conf=$(conf)
pid1=$(dnsmasq_pid)
out=$(vivctl net-update vnd add dns-txt "<txt name='new.vnd.test' value='again'/>" 2>&1)
check "add of a TXT name that is there: refused" contains "$out" \
	"there is already a DNS TXT record named 'new.vnd.test' in network 'vnd'"
out=$(vivctl net-update vnd add dns-txt "<txt name='evil.vnd.test' value='x&#10;server=/evil/1.2.3.4'/>" 2>&1)
check "add of a TXT value with a newline: refused" contains "$out" \
	"has a control character in its value, expected printable text"
out=$(vivctl net-update vnd add dns-srv "<srv service='x' protocol='tcp' target='t' port='0'/>" --live --config 2>&1)
check "add of an SRV record with port 0: the parser's reason" contains "$out" \
	"DNS SRV port '0' is out of range, expected 1 to 65535"
out=$(vivctl net-update vnd add dns-srv "<srv service='ldap' protocol='udp' domain='vnd.test' target='dir2.vnd.test' port='636'/>" 2>&1)
check "add of an SRV record that is there: refused" contains "$out" "there is already a DNS SRV record"
out=$(vivctl net-update vnd modify dns-srv "<srv service='none' protocol='tcp'/>" 2>&1)
check "modify of an SRV record that is not there" contains "$out" \
	"couldn't locate a matching DNS SRV record in network 'vnd'"
out=$(vivctl net-update vnd delete dns-txt "<txt name='nothere.vnd.test'/>" 2>&1)
check "delete of a TXT record that is not there" contains "$out" \
	"couldn't locate a matching DNS TXT record in network 'vnd': no record named 'nothere.vnd.test'"
out=$(vivctl net-update vnd add dns-txt "<txt name='a' value='b'/><txt name='c' value='d'/>" 2>&1)
check "two records in one update: expected one <txt>" contains "$out" "expected one <txt> element"
check "none of that changed the stored definition" same "$(stored)" "$before_stored"
check "... the live one" same "$(vivctl net-dumpxml vnd 2>&1)" "$before_live"
check "... dnsmasq's configuration" same "$(conf)" "$before_conf"
check "... or restarted dnsmasq" same "$(dnsmasq_pid)" "$pid1"

# --- <domain localOnly='yes'>: the domain's names are answered here only
# (a transient vnd now: a net-create beside a stored vnd would be a question
# of its own; the peer's veth goes back on the new bridge)
vivctl net-destroy vnd >/dev/null 2>&1
vivctl net-undefine vnd >/dev/null 2>&1
sed "s|<domain name='vnd.test'/>|<domain name='vnd.test' localOnly='yes'/>|" "$work/vnd.xml" >"$work/vnd-local.xml"
out=$(vivctl net-create "$work/vnd-local.xml" 2>&1)
check "net-create of vnd with <domain localOnly='yes'>" contains "$out" "Network vnd created"
check "... net-dumpxml keeps localOnly" contains "$(vivctl net-dumpxml vnd 2>&1)" \
	"<domain name='vnd.test' localOnly='yes'/>"
check "... dnsmasq's configuration answers the domain locally" contains "$(conf)" "local=/vnd.test/"
check "... its dnsmasq runs" wait_for 300 unit_active vivarium-dnsmasq-vnd.service
in_host ip link set vndp0 master vndbr0 up
check "... the network's own name of the domain still answers" wait_for 100 answers a web.vnd.test \
	"Address: 10.78.0.5"
out=$(ask a far.vnd.test)
check "... a name it does not know: NXDOMAIN, not forwarded" same \
	"$(grep -c NXDOMAIN <<<"$out"):$(grep -c 10.78.9.55 <<<"$out")" "1:0"

# --- <dns enable='no'>: DHCP without DNS
cat >"$work/vndoff.xml" <<'XML'
<network>
  <name>vndoff</name>
  <bridge name='vndoffbr0'/>
  <dns enable='no'/>
  <ip address='10.79.0.1' prefix='24'>
    <dhcp>
      <range start='10.79.0.10' end='10.79.0.20'/>
    </dhcp>
  </ip>
</network>
XML
out=$(vivctl net-create "$work/vndoff.xml" 2>&1)
check "net-create of a network with <dns enable='no'/>" contains "$out" "Network vndoff created"
check "its dnsmasq runs (for DHCP)" wait_for 300 unit_active vivarium-dnsmasq-vndoff.service
check "... with port=0: no DNS" contains "$(in_host cat /run/vivarium/networks/vndoff.conf 2>&1)" "port=0"
bridge_peer vndpeer vndoffbr0 vndq 10.79.0.50
check "the peer reaches vndoff's bridge" quiet in_peer busybox ping -c 1 -W 5 10.79.0.1
out=$(ask a web 10.79.0.1)
check "... but no DNS answers there" lacks "$out" "Address: "
out=$(vivctl net-update vndoff add dns-txt "<txt name='a' value='b'/>" 2>&1)
check "net-update of a TXT record on it: the whole result refused" contains "$out" \
	"<dns enable='no'> has a <txt>"

# --- everything goes
vivctl net-destroy vndoff >/dev/null 2>&1
out=$(vivctl net-destroy vnd 2>&1)
check "net-destroy vnd" same "$out" "Network vnd destroyed"
vivctl net-undefine vnd >/dev/null 2>&1
check "no dnsmasq unit of vnd is left" not unit_active vivarium-dnsmasq-vnd.service
check "no file of vnd is left under /run/vivarium/networks" same \
	"$(in_host sh -c 'ls /run/vivarium/networks/ | grep "^vnd"' 2>&1)" ""
in_host sh -c 'kill "$(cat /run/vndup.pid)"' >/dev/null 2>&1
in_host ip netns del vndpeer >/dev/null 2>&1
in_host ip netns del vndup >/dev/null 2>&1

echo "1..$n"
[ "$failures" -eq 0 ]
