#!/bin/bash
# Managed networks (issue 4, DESIGN.md "Networking") in a test host, with the
# installed build: the default network after activation, net-define/start/
# list/info/dumpxml/autostart/destroy/undefine with virsh's messages, the
# bridge's address, dnsmasq's unit and the nftables table while active and
# nothing left after destroy, refused XML writing nothing, clashes with the
# host's devices and subnets, adoption after a manager restart, a DHCP lease
# from dnsmasq to a namespace the test makes, NAT towards an "outside"
# namespace that has no route back to the private subnet, net-create, and
# the default network staying undefined once the admin undefined it.
# Traffic stays inside the namespaces of the test host.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl
src=${VIVARIUM_SOURCE_DIR:-$(readlink -f "$here/..")}
testhost_require_tools dnsmasq nft ip busybox

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/net-peer.sh
. "$here/lib/net-peer.sh"
has_table() { in_host nft list table inet "$1" >/dev/null 2>&1; }

work=$(mktemp -d /tmp/vt-networks.XXXXXX)
trap 'rm -rf "$work"' EXIT

testhost_up "vt-nets-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# --- the default network, installed and autostarted by the first manager
out=$(vivctl net-list 2>&1)
check "the first call activates vivariumd, which installs the default network" \
	in_host test -s /etc/vivarium/networks/default.xml
check "default is marked autostarted (libvirt's symlink)" \
	in_host test -L /etc/vivarium/networks/autostart/default.xml
wait_for 50 unit_active vivarium-dnsmasq-default.service
out=$(vivctl net-list 2>&1)
check "net-list shows default active, autostarted, persistent" same "$out" \
" Name      State    Autostart   Persistent
--------------------------------------------
 default   active   yes         yes"
out=$(in_host ip -4 -o addr show dev vivbr0 2>&1)
check "vivbr0 has 192.168.124.1/24" contains "$out" "inet 192.168.124.1/24"
check "dnsmasq for default runs in vivarium-dnsmasq-default.service" unit_active vivarium-dnsmasq-default.service
out=$(in_host nft list table inet vivarium-default 2>&1)
check "the default network's table masquerades 192.168.124.0/24" \
	contains "$out" 'ip saddr 192.168.124.0/24 ip daddr != 192.168.124.0/24 oifname != "vivbr0" masquerade'
out=$(vivctl net-info default 2>&1)
uuid=$(in_host sed -n 's|.*<uuid>\(.*\)</uuid>.*|\1|p' /etc/vivarium/networks/default.xml)
check "net-info default, virsh's layout" same "$out" "Name:           default
UUID:           $uuid
Active:         yes
Persistent:     yes
Autostart:      yes
Bridge:         vivbr0"

check "net-uuid default" same "$(vivctl net-uuid default 2>&1)" "$uuid"
check "net-name UUID" same "$(vivctl net-name "$uuid" 2>&1)" "default"
out=$(vivctl net-dumpxml "$uuid" 2>&1)
check "a UUID names the network for net-dumpxml too" contains "$out" "<name>default</name>"

# --- introspection against the committed XML
iface_of() { # FILE IFACE: the interface element, canonical
	python3 - "$1" "$2" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
def canon(e):
    kids = "".join(canon(k) for k in e)
    attrs = " ".join('%s="%s"' % kv for kv in sorted(e.attrib.items()))
    return "<%s %s>%s</%s>" % (e.tag, attrs, kids, e.tag)
found = [e for e in root.iter("interface") if e.get("name") == sys.argv[2]]
print(canon(found[0]) if found else "MISSING")
EOF
}
same_iface() { # LIVE_FILE COMMITTED_FILE IFACE
	local a b
	a=$(iface_of "$1" "$3")
	b=$(iface_of "$2" "$3")
	[ "$a" = "$b" ] && [ "$a" != MISSING ] && return 0
	diff <(echo "$a" | sed 's/></>\n</g') <(echo "$b" | sed 's/></>\n</g') >&2
	return 1
}
in_host busctl --system introspect --xml-interface org.vivarium1 /org/vivarium1/network/default >"$work/network-live.xml"
check "live org.vivarium1.Network matches dbus/org.vivarium1.Network.xml" \
	same_iface "$work/network-live.xml" "$src/dbus/org.vivarium1.Network.xml" org.vivarium1.Network
in_host busctl --system introspect --xml-interface org.vivarium1 /org/vivarium1 >"$work/manager-live.xml"
check "live org.vivarium1.Manager matches dbus/org.vivarium1.Manager.xml" \
	same_iface "$work/manager-live.xml" "$src/dbus/org.vivarium1.Manager.xml" org.vivarium1.Manager

# --- a NAT network of the test's own
cat >"$work/vt1.xml" <<'EOF'
<network>
  <name>vt1</name>
  <forward mode='nat'/>
  <bridge name='vtbr1'/>
  <ip address='10.77.0.1' prefix='24'>
    <dhcp>
      <range start='10.77.0.100' end='10.77.0.120'/>
      <host mac='52:54:00:77:00:99' ip='10.77.0.99'/>
    </dhcp>
  </ip>
</network>
EOF
in_host mkdir -p /tmp/vt
in_host tee /tmp/vt/vt1.xml <"$work/vt1.xml" >/dev/null
out=$(vivctl net-define /tmp/vt/vt1.xml 2>&1)
check "net-define: virsh's message" same "$out" "Network vt1 defined from /tmp/vt/vt1.xml"
check "the definition is stored in /etc/vivarium/networks/vt1.xml" in_host test -s /etc/vivarium/networks/vt1.xml
out=$(vivctl net-list 2>&1)
check "net-list without --all hides the inactive vt1" lacks "$out" "vt1"
out=$(vivctl net-list --all 2>&1)
check "net-list --all shows vt1 inactive" contains "$out" " vt1       inactive   no          yes"
out=$(vivctl net-start vt1 2>&1)
check "net-start: virsh's message" same "$out" "Network vt1 started"
out=$(in_host ip -4 -o addr show dev vtbr1 2>&1)
check "vtbr1 has 10.77.0.1/24" contains "$out" "inet 10.77.0.1/24"
mac=$(in_host sed -n "s|.*<mac address='\(.*\)'/>.*|\1|p" /etc/vivarium/networks/vt1.xml)
out=$(in_host ip -o link show dev vtbr1 2>&1)
check "vtbr1 has the MAC stored with the definition ($mac)" contains "$out" "link/ether $mac"
check "vivarium-dnsmasq-vt1.service is active" unit_active vivarium-dnsmasq-vt1.service
out=$(in_host nft list table inet vivarium-vt1 2>&1)
check "table inet vivarium-vt1 masquerades 10.77.0.0/24" \
	contains "$out" 'ip saddr 10.77.0.0/24 ip daddr != 10.77.0.0/24 oifname != "vtbr1" masquerade'
out=$(in_host cat /run/vivarium/networks/vt1.conf 2>&1)
check "dnsmasq's configuration binds the bridge only, with the range and the host" \
	contains "$out" "interface=vtbr1
bind-dynamic"
check "... dhcp-range" contains "$out" "dhcp-range=10.77.0.100,10.77.0.120,255.255.255.0"
check "... the network's hosts file" contains "$out" "dhcp-hostsfile=/run/vivarium/networks/vt1.dhcp-hosts"
check "... which has the host" contains "$(in_host cat /run/vivarium/networks/vt1.dhcp-hosts 2>&1)" \
	"52:54:00:77:00:99,10.77.0.99"
check "the live XML names the bridge" contains "$(in_host cat /run/vivarium/networks/vt1.xml 2>&1)" "<bridge name='vtbr1'"
out=$(vivctl net-start vt1 2>&1)
check "net-start of an active network fails" same "$out" "error: Failed to start network vt1
error: Requested operation is not valid: network 'vt1' is already active"
out=$(vivctl net-dumpxml vt1 2>&1)
check "net-dumpxml vt1" contains "$out" "<bridge name='vtbr1' stp='on' delay='0'/>"
out=$(vivctl net-autostart vt1 2>&1)
check "net-autostart: virsh's message" same "$out" "Network vt1 marked as autostarted"
check "... the symlink" in_host test -L /etc/vivarium/networks/autostart/vt1.xml
out=$(vivctl net-autostart vt1 --disable 2>&1)
check "net-autostart --disable: virsh's message" same "$out" "Network vt1 unmarked as autostarted"
check "... no symlink" not in_host test -e /etc/vivarium/networks/autostart/vt1.xml

# --- a DHCP lease for a namespace of the test's own on vtbr1
in_host tee /tmp/vt/udhcpc.sh >/dev/null <<'EOF'
#!/bin/sh
# busybox udhcpc's script: configure the lease, remember it.
case $1 in
bound|renew)
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
	echo "$ip" >/tmp/vt/lease
	;;
esac
exit 0
EOF
in_host chmod +x /tmp/vt/udhcpc.sh
bridge_peer vtc vtbr1 vtd
out=$(in_host timeout 30 ip netns exec vtc busybox udhcpc -i vtd1 -n -q -f -t 10 -s /tmp/vt/udhcpc.sh 2>&1)
lease=$(in_host cat /tmp/vt/lease 2>/dev/null)
lease_in_range() { [ -n "$lease" ] && [ "${lease%.*}" = 10.77.0 ] && [ "${lease##*.}" -ge 100 ] && [ "${lease##*.}" -le 120 ]; }
check "udhcpc in the test's namespace gets a lease from the range ($lease)" lease_in_range
out=$(in_host cat /var/lib/vivarium/dnsmasq/vt1.leases 2>&1)
check "the lease is in /var/lib/vivarium/dnsmasq/vt1.leases" contains "$out" " $lease "
check "the guest reaches the bridge" quiet in_host ip netns exec vtc busybox ping -c 1 -W 2 10.77.0.1

# --- NAT: "outside" is a namespace with no route back to 10.77.0.0/24; an
# answer comes back only when the source was rewritten to the host's address.
routed_peer vto vto 198.51.100.1/24 198.51.100.2/24
in_host ip netns exec vto nft -f - <<'EOF'
table ip outside {
  chain input {
    type filter hook input priority filter; policy accept;
    ip saddr 198.51.100.1 icmp type echo-request counter
    ip saddr 10.77.0.0/24 counter
  }
}
EOF
check "IP forwarding is on in the test host" same "$(in_host cat /proc/sys/net/ipv4/ip_forward)" 1
check "the guest pings the outside address through NAT" \
	quiet in_host ip netns exec vtc busybox ping -c 2 -W 2 198.51.100.2
out=$(in_host ip netns exec vto nft list table ip outside 2>&1)
check "the outside saw the host's address as the source" \
	contains "$out" "ip saddr 198.51.100.1 icmp type echo-request counter packets 2"
check "... and never the private one" contains "$out" "ip saddr 10.77.0.0/24 counter packets 0"

# --- adoption: a manager restart keeps the network running
pid_before=$(in_host systemctl show -P MainPID vivarium-dnsmasq-vt1.service)
in_host systemctl restart vivariumd.service
out=$(vivctl net-info vt1 2>&1)
check "after a manager restart vt1 is still active" contains "$out" "Active:         yes"
check "... with the same dnsmasq" same "$(in_host systemctl show -P MainPID vivarium-dnsmasq-vt1.service)" "$pid_before"
check "... and its bridge" link_exists vtbr1

# --- systemd, not the manager, brings a crashed dnsmasq back
pid_before=$(in_host systemctl show -P MainPID vivarium-dnsmasq-vt1.service)
in_host systemctl kill -s KILL vivarium-dnsmasq-vt1.service
new_dnsmasq() {
	local p
	p=$(in_host systemctl show -P MainPID vivarium-dnsmasq-vt1.service)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$pid_before" ] && unit_active vivarium-dnsmasq-vt1.service
}
check "a killed dnsmasq is restarted by its unit" wait_for 50 new_dnsmasq

# --- an idle exit of the manager leaves the network running; the next one adopts it
set_idle() { # SECONDS
	printf '[Service]\nEnvironment=VIVARIUM_IDLE_TIMEOUT=%s\n' "$1" |
		in_host tee /run/systemd/system/vivariumd.service.d/test.conf >/dev/null
	in_host systemctl daemon-reload
	in_host systemctl restart vivariumd.service
}
manager_gone() { ! in_host systemctl -q is-active vivariumd.service; }
set_idle 2
check "the manager exits on idle with a network active" wait_for 100 manager_gone
check "... dnsmasq keeps running" unit_active vivarium-dnsmasq-vt1.service
out=$(vivctl net-info vt1 2>&1)
check "... and the next manager sees vt1 active" contains "$out" "Active:         yes"
set_idle 0

# --- access: reading is free, changing is not
nobody() { in_host setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
out=$(nobody busctl --system call org.vivarium1 /org/vivarium1 org.vivarium1.Manager ListNetworks 2>&1)
check "a non-root caller may list networks" contains "$out" '"vt1"'
out=$(nobody busctl --system call org.vivarium1 /org/vivarium1 org.vivarium1.Manager DestroyNetwork s vt1 2>&1)
check "a non-root caller may not destroy one (AccessDenied)" contains "$out" "Access denied"
check "... and vt1 is still active" link_exists vtbr1

# --- clashes with the host: nothing half-made
in_host ip link add vtclash0 type bridge
cat >"$work/clash.xml" <<'EOF'
<network>
  <name>vtclash</name>
  <bridge name='vtclash0'/>
  <ip address='10.78.0.1' prefix='24'/>
</network>
EOF
in_host tee /tmp/vt/clash.xml <"$work/clash.xml" >/dev/null
vivctl net-define /tmp/vt/clash.xml >/dev/null 2>&1
out=$(vivctl net-start vtclash 2>&1)
check "a bridge name that exists on the host: a clear refusal" contains "$out" \
	"error: Failed to start network vtclash
error: Interface 'vtclash0' already exists on the host: network 'vtclash' cannot use it as its bridge"
check "... no table" not has_table vivarium-vtclash
check "... no live files" not in_host test -e /run/vivarium/networks/vtclash.xml
check "... the host's bridge is untouched" link_exists vtclash0
vivctl net-undefine vtclash >/dev/null 2>&1
cat >"$work/clash2.xml" <<'EOF'
<network>
  <name>vtclash2</name>
  <bridge name='vtbr2'/>
  <ip address='10.77.0.200' prefix='25'>
    <dhcp><range start='10.77.0.201' end='10.77.0.210'/></dhcp>
  </ip>
</network>
EOF
in_host tee /tmp/vt/clash2.xml <"$work/clash2.xml" >/dev/null
vivctl net-define /tmp/vt/clash2.xml >/dev/null 2>&1
out=$(vivctl net-start vtclash2 2>&1)
check "a subnet in use on the host: a clear refusal" contains "$out" \
	"error: Failed to start network vtclash2
error: Subnet 10.77.0.200/25 of network 'vtclash2' is already in use on the host by interface 'vtbr1' (10.77.0.1/24)"
check "... no bridge" not link_exists vtbr2
check "... no unit" not unit_active vivarium-dnsmasq-vtclash2.service
check "... no table" not has_table vivarium-vtclash2
vivctl net-undefine vtclash2 >/dev/null 2>&1
in_host ip link set vtclash0 up
in_host ip route add 10.82.0.0/16 dev vtclash0
sed 's/vtclash2/vtclash3/; s/vtbr2/vtbr3/; s/10\.77\.0\.200/10.82.1.1/; s/10\.77\.0\.201/10.82.1.10/; s/10\.77\.0\.210/10.82.1.20/' \
	"$work/clash2.xml" | in_host tee /tmp/vt/clash3.xml >/dev/null
vivctl net-define /tmp/vt/clash3.xml >/dev/null 2>&1
out=$(vivctl net-start vtclash3 2>&1)
check "a subnet inside a route of the host: a clear refusal" contains "$out" \
	"error: Subnet 10.82.1.1/25 of network 'vtclash3' overlaps the host's route to 10.82.0.0/16 (interface 'vtclash0')"
check "... no bridge" not link_exists vtbr3
vivctl net-undefine vtclash3 >/dev/null 2>&1

# --- dnsmasq that fails to start: the start fails and undoes everything
printf '[Service]\nEnvironment=VIVARIUM_IDLE_TIMEOUT=0 VIVARIUM_DNSMASQ_PATH=/bin/false\n' |
	in_host tee /run/systemd/system/vivariumd.service.d/test.conf >/dev/null
in_host systemctl daemon-reload
in_host systemctl restart vivariumd.service
sed 's/vtclash2/vtfail/; s/vtbr2/vtbr4/; s/10\.77\.0\.2[0-9]*/10.83.0.1/' "$work/clash2.xml" | sed "s|<dhcp>.*</dhcp>||" |
	in_host tee /tmp/vt/fail.xml >/dev/null
vivctl net-define /tmp/vt/fail.xml >/dev/null 2>&1
out=$(vivctl net-start vtfail 2>&1)
check "a dnsmasq that cannot start fails net-start" contains "$out" \
	"error: Failed to start dnsmasq for network 'vtfail': unit vivarium-dnsmasq-vtfail.service failed"
check "... no bridge" not link_exists vtbr4
check "... no table" not has_table vivarium-vtfail
out=$(in_host ls /run/vivarium/networks 2>&1)
check "... no live files" lacks "$out" "vtfail"
sleep 1.5
check "... and no unit coming back" not unit_active vivarium-dnsmasq-vtfail.service
vivctl net-undefine vtfail >/dev/null 2>&1
printf '[Service]\nEnvironment=VIVARIUM_IDLE_TIMEOUT=0\n' |
	in_host tee /run/systemd/system/vivariumd.service.d/test.conf >/dev/null
in_host systemctl daemon-reload
in_host systemctl restart vivariumd.service

# --- a refused definition writes nothing
printf '<network>\n  <name>vtbad</name>\n  <ip address="10.79.0.1" prefix="99"/>\n</network>\n' |
	in_host tee /tmp/vt/bad.xml >/dev/null
out=$(vivctl net-define /tmp/vt/bad.xml 2>&1)
check "an invalid network is refused with its position" contains "$out" "error: /tmp/vt/bad.xml:3:"
check "... and the reason" contains "$out" "prefix '99' is out of range"
check "... nothing is written" not in_host test -e /etc/vivarium/networks/vtbad.xml
printf '<network>\n  <name>vtinj</name>\n  <bridge name="x&quot;;y"/>\n</network>\n' | in_host tee /tmp/vt/inj.xml >/dev/null
out=$(vivctl net-define /tmp/vt/inj.xml 2>&1)
check "a bridge name that would smuggle text into nft's script is refused" \
	contains "$out" "Invalid bridge name 'x\";y'"
check "... nothing is written" not in_host test -e /etc/vivarium/networks/vtinj.xml
out=$(vivctl net-info nope 2>&1)
check "an unknown network: virsh's message" same "$out" "error: failed to get network 'nope'
error: Network not found: no network with matching name 'nope'"

# --- destroy: nothing is left but the lease database
out=$(vivctl net-destroy vt1 2>&1)
check "net-destroy: virsh's message" same "$out" "Network vt1 destroyed"
check "the bridge is gone" not link_exists vtbr1
check "dnsmasq's unit is gone" not unit_active vivarium-dnsmasq-vt1.service
check "the nftables table is gone" not has_table vivarium-vt1
out=$(in_host ls /run/vivarium/networks 2>&1)
check "no live XML, configuration or pid file is left" lacks "$out" "vt1"
check "the lease database stays" in_host test -e /var/lib/vivarium/dnsmasq/vt1.leases
out=$(vivctl net-destroy vt1 2>&1)
check "net-destroy of an inactive network fails" contains "$out" "network 'vt1' is not active"
out=$(vivctl net-undefine vt1 2>&1)
check "net-undefine: virsh's message" same "$out" "Network vt1 has been undefined"
check "the definition is removed" not in_host test -e /etc/vivarium/networks/vt1.xml
out=$(vivctl net-list --all 2>&1)
check "net-list --all no longer shows vt1" lacks "$out" "vt1"

# --- a transient network
sed 's/vt1/vt3/; s/vtbr1/vtbr3/; s/10\.77\./10.80./g' "$work/vt1.xml" | in_host tee /tmp/vt/vt3.xml >/dev/null
in_host sh -c 'timeout 20 busctl --system monitor org.vivarium1 >/tmp/vt/monitor 2>&1 &'
sleep 1
out=$(vivctl net-create /tmp/vt/vt3.xml 2>&1)
check "net-create: virsh's message" same "$out" "Network vt3 created from /tmp/vt/vt3.xml"
out=$(vivctl net-list 2>&1)
check "the transient network is active, not persistent" contains "$out" " vt3       active   no          no"
check "... nothing in /etc" not in_host test -e /etc/vivarium/networks/vt3.xml
vivctl net-destroy vt3 >/dev/null 2>&1
out=$(vivctl net-list --all 2>&1)
check "a destroyed transient network is gone" lacks "$out" "vt3"
check "... with its bridge" not link_exists vtbr3
sleep 0.5
mon=$(in_host cat /tmp/vt/monitor 2>&1)
# one message of busctl monitor's output holding every NEEDLE
mon_has() { # NEEDLE...
	python3 -c '
import sys
blocks = sys.stdin.read().split("\u2023")
sys.exit(0 if any(all(n in b for n in sys.argv[1:]) for b in blocks) else 1)' "$@" <<<"$mon"
}
for ev in started stopped; do
	check "NetworkEvent vt3 $ev is signalled" mon_has "Member=NetworkEvent" 'STRING "vt3";' "STRING \"$ev\";"
done
check "PropertiesChanged of Active on /org/vivarium1/network/vt3" \
	mon_has "Path=/org/vivarium1/network/vt3" "Member=PropertiesChanged" 'STRING "Active";'

# --- a container on the default network: a DHCP lease in its namespace, domifaddr
in_host tee /tmp/vt/dhcpct.xml >/dev/null <<'EOF'
<domain type='lxc'>
  <name>vtdhcp</name>
  <memory>102400</memory>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
  </os>
  <devices>
    <console type='pty'/>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>
EOF
in_host rm -f /tmp/vt/lease
out=$(vivctl create /tmp/vt/dhcpct.xml 2>&1)
check "a container on the default network starts" contains "$out" "Domain vtdhcp created"
leader=$(in_host busctl --system get-property org.vivarium1 /org/vivarium1/container/vtdhcp \
	org.vivarium1.Container LeaderPID 2>/dev/null | awk '{ print $2 }')
in_host timeout 30 nsenter -t "${leader:-0}" -n busybox udhcpc -i eth0 -n -q -f -t 10 -s /tmp/vt/udhcpc.sh \
	>/dev/null 2>&1
lease=$(in_host cat /tmp/vt/lease 2>/dev/null)
lease_in_default() { [ -n "$lease" ] && [ "${lease%.*}" = 192.168.124 ] && [ "${lease##*.}" -ge 2 ] && [ "${lease##*.}" -le 254 ]; }
check "busybox udhcpc in the container's namespace gets a lease from default ($lease)" lease_in_default
check "... and the container reaches the gateway" \
	quiet in_host nsenter -t "${leader:-0}" -n busybox ping -c 1 -W 2 192.168.124.1
out=$(vivctl domifaddr vtdhcp 2>&1)
check "domifaddr shows the leased address with the container's MAC" \
	grep -Eq "^ vnet[0-9]+ +52:54:00:12:34:56 +ipv4 +$lease/24\$" <<<"$out"
check "domifaddr: virsh's header" contains "$out" " Name       MAC address          Protocol     Address
-------------------------------------------------------------------------------"
vivctl destroy vtdhcp >/dev/null 2>&1

# --- the admin's undefine of default sticks
vivctl net-destroy default >/dev/null 2>&1
out=$(vivctl net-undefine default 2>&1)
check "net-undefine default" same "$out" "Network default has been undefined"
in_host systemctl restart vivariumd.service
out=$(vivctl net-list --all 2>&1)
check "a restarted manager does not reinstall an undefined default network" lacks "$out" "default"
check "nothing of default is left" not link_exists vivbr0

echo "1..$n"
[ "$failures" -eq 0 ]
