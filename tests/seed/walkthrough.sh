#!/bin/bash
# The seed's walk-through (shared/seed/000_6c112a8d5337c73a.txt), the whole of it,
# with vivctl in place of virsh: the shared root, custom mounts, the busybox root,
# custom networking on the default network (ifconfig, route, ping through the
# console) and the seed's complete final XML, verbatim. Prints each command as
# "# CMD" and its output (console sessions as a terminal shows them), checks each
# against what the seed shows, and exits non-zero when any step did not. Runs
# where vivctl talks to a live vivariumd: inside a test host (tools/try boots
# one); it creates /export/helloworld.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ptyexpect="python3 $here/../lib/ptyexpect.py --timeout ${WALKTHROUGH_TIMEOUT:-20}"
failures=0
work=$(mktemp -d /tmp/walkthrough.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

say() { printf '# %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*"; failures=$((failures + 1)); }

# Runs CMD, prints it and its output; the output must be EXPECTED exactly.
expect_output() { # EXPECTED CMD...
        local want=$1 out rc
        shift
        say "$*"
        out=$("$@" 2>&1); rc=$?
        [ -n "$out" ] && printf '%s\n' "$out"
        [ $rc -eq 0 ] || fail "'$*' exited with $rc"
        [ "$out" = "$want" ] || fail "'$*' printed '$out', the seed shows '$want'"
}

# Runs CMD; some line of its output must match the extended regex RX.
expect_line() { # RX CMD...
        local rx=$1 out rc
        shift
        say "$*"
        out=$("$@" 2>&1); rc=$?
        [ -n "$out" ] && printf '%s\n' "$out"
        [ $rc -eq 0 ] || fail "'$*' exited with $rc"
        grep -Eq -- "$rx" <<<"$out" || fail "'$*': no line matches /$rx/"
}

# Attaches to NAME's console in a pseudo-terminal as a person would: waits for
# vivctl's banner and raw mode, presses Enter for a fresh prompt, then plays the
# steps given on stdin (see tests/lib/ptyexpect.py; "cmd" types a command at the
# prompt, so each command and its output read as in the seed).
console() { # NAME < steps
        local name=$1
        {
                printf '%s\n' "expect ^Connected to domain $name\r?\n" \
                        'expect ^Escape character is \^\]\r?\n' raw 'sendraw \r'
                cat
        } >"$work/console.steps"
        say "vivctl console $name"
        $ptyexpect "$work/console.steps" -- vivctl console "$name" || fail "console session of '$name'"
}

# Regex for a literal string.
# shellcheck disable=SC2016 # the $ is one of the characters to quote
rx_quote() { sed 's/[][\.*^$(){}?+|/]/\\&/g' <<<"$1"; }

write_helloworld() { # extra <devices> lines on stdin
        local extra
        extra=$(cat)
        [ -n "$extra" ] && extra=$'\n'$extra
        cat >helloworld.xml <<XML
<domain type='lxc'>
<name>helloworld</name>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
</os>
<devices>
<console type='pty'/>$extra
</devices>
</domain>
XML
}

echo "== Connecting to the driver"
unset LIBVIRT_DEFAULT_URI VIVARIUM_DEFAULT_URI
expect_output "vivarium:///system" vivctl uri
expect_output "lxc:///" vivctl -c lxc:/// uri
say "export LIBVIRT_DEFAULT_URI=lxc:///"
export LIBVIRT_DEFAULT_URI=lxc:///
expect_output "lxc:///" vivctl uri

echo "== A simple \"Hello World\" container"
write_helloworld </dev/null
say "cat helloworld.xml"; cat helloworld.xml
expect_output "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_output "Domain helloworld started" vivctl start helloworld
expect_line '^ *[0-9]+ +helloworld +running *$' vivctl list
id=$(vivctl domid helloworld 2>/dev/null)
uuid=$(vivctl domuuid helloworld 2>/dev/null)
say "ps -o args= -p $id    (the Id is the helper's PID)"
helper=$(ps -o args= -p "${id:-0}" 2>/dev/null)
printf '%s\n' "$helper"
[[ "$helper" == */vivarium-helper* ]] || fail "Id '$id' is not the PID of a vivarium-helper"
say "ps -o pid,args --ppid $id"
ps -o pid,args --ppid "${id:-0}" | tee "$work/children"
grep -q '/bin/sh' "$work/children" || fail "no /bin/sh under the helper"

console helloworld <<STEPS
cmd echo \$LIBVIRT_LXC_NAME
line helloworld
cmd echo \$LIBVIRT_LXC_UUID
line $uuid
cmd ps -axuwf
expect (?m)^root +1 .*/bin/sh\r?$
prompt
sendraw \x1d
eof
STEPS
expect_output "Domain helloworld destroyed" vivctl destroy helloworld
expect_output "Domain helloworld has been undefined" vivctl undefine helloworld

echo "== Adding custom mounts to the \"Hello World\" container"
say "mkdir -p /export/helloworld/config /export/helloworld/data; touch .../hello.txt .../world.txt"
rm -rf /export/helloworld
mkdir -p /export/helloworld/config /export/helloworld/data
touch /export/helloworld/config/hello.txt /export/helloworld/data/world.txt
mounts_xml="<filesystem type='mount'>
<source dir='/export/helloworld/config'/>
<target dir='/etc/httpd'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/data'/>
<target dir='/var/www'/>
</filesystem>"
write_helloworld <<<"$mounts_xml"
expect_output "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_output "Domain helloworld started" vivctl start helloworld
console helloworld <<'STEPS'
cmd ls /etc/httpd/
line hello\.txt
cmd ls /var/www/
line world\.txt
cmd exit
eof
STEPS
expect_line '^ *- +helloworld +shut off *$' vivctl list --all
expect_output "Domain helloworld has been undefined" vivctl undefine helloworld

echo "== A private root filesystem with busybox"
root=/export/helloworld/root
# The seed's list, and the applets its networking steps use, as a user adds them
# (Debian's busybox sh runs its applets without links too; ls bin/ shows them).
applets="ls cat rm find ps echo date kill sleep true false test pwd sh which grep head wget ifconfig route ping"
say "mkdir -p $root/{bin,var/www,etc/httpd}; cp /bin/busybox $root/bin/busybox"
mkdir -p "$root/bin" "$root/var/www" "$root/etc/httpd"
cp /bin/busybox "$root/bin/busybox"
say "for i in $applets; do ln -s busybox $root/bin/\$i; done"
for i in $applets; do
        ln -s busybox "$root/bin/$i"
done
root_xml="<filesystem type='mount'>
<source dir='$root'/>
<target dir='/'/>
</filesystem>"
write_helloworld <<<"$root_xml
$mounts_xml"
expect_output "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_output "Domain helloworld started" vivctl start helloworld
# Every name the loop linked, in the listing before the next prompt. The mounts in
# any order: kernels before 6.8 list them as attached (proc first), later ones by
# creation (the binds, cloned before proc is made, first).
listed=$(for i in busybox $applets; do printf '(?=[^#$]*\\b%s\\b)' "$i"; done)
console helloworld <<STEPS
cmd ls
expect \\bbin\\s+dev\\s+etc\\s+proc\\s+sys\\s+var\\r?\\n
cmd ls bin/
expect ls bin/\\r?\\n$listed
cmd cat /proc/mounts
expect (?ms)(?=.* /etc/httpd )(?=.* /var/www )(?=.*^proc /proc proc )
cmd ls /etc/httpd/ /var/www/
expect hello\\.txt
expect world\\.txt
prompt
sendraw \\x1d
eof
STEPS
expect_output "Domain helloworld destroyed" vivctl destroy helloworld

echo "== Custom networking in the container"
# The addresses of the default network, as the seed's come from libvirt's: the
# gateway is the host's address on it, the guest takes .50 of its subnet.
ipv4_int() { local IFS=. a b c d; read -r a b c d <<<"$1"; echo $(((a << 24) | (b << 16) | (c << 8) | d)); }
ipv4_str() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }
expect_line '^Active: +yes$' vivctl net-info default
expect_line "<ip address='[0-9.]+'" vivctl net-dumpxml default
ipline=$(vivctl net-dumpxml default 2>/dev/null | grep -m1 -E "<ip address='[0-9.]+'")
gw=$(sed -n "s/.*address='\([0-9.]*\)'.*/\1/p" <<<"$ipline")
mask=$(sed -n "s/.*netmask='\([0-9.]*\)'.*/\1/p" <<<"$ipline")
prefix=$(sed -n "s/.*prefix='\([0-9]*\)'.*/\1/p" <<<"$ipline")
[ -n "$mask" ] || mask=$(ipv4_str $(((0xffffffff << (32 - ${prefix:-32})) & 0xffffffff)))
net=$(ipv4_str $(($(ipv4_int "${gw:-0.0.0.0}") & $(ipv4_int "$mask"))))
addr=$(ipv4_str $(($(ipv4_int "$net") + 50)))
[ "$addr" = "$gw" ] && addr=$(ipv4_str $(($(ipv4_int "$net") + 51)))
# "ifconfig eth0 ADDR" gives ADDR its class's netmask, as the seed relies on;
# a network of another size needs it said.
first=${addr%%.*}
if ((first < 128)); then class=255.0.0.0; elif ((first < 192)); then class=255.255.0.0; else class=255.255.255.0; fi
set_addr="ifconfig eth0 $addr"
[ "$mask" = "$class" ] || set_addr+=" netmask $mask"
gw_rx=$(rx_quote "$gw")
write_helloworld <<<"$root_xml
$mounts_xml
<interface type='network'>
<mac address='52:54:00:4d:2b:cd'/>
<source network='default'/>
</interface>"
say "cat helloworld.xml"; cat helloworld.xml
expect_output "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_output "Domain helloworld started" vivctl start helloworld
console helloworld <<STEPS
cmd ifconfig
expect (?i)\\beth0 +Link encap:Ethernet +HWaddr 52:54:00:4d:2b:cd *\\r?\\n
expect UP BROADCAST RUNNING MULTICAST
expect \\blo +Link encap:Local Loopback *\\r?\\n
expect inet addr:127\\.0\\.0\\.1 +Mask:255\\.0\\.0\\.0
expect UP LOOPBACK RUNNING
cmd route -n
expect Kernel IP routing table\\r?\\nDestination +Gateway +Genmask +Flags +Metric +Ref +Use +Iface\\r?\\n[^\\n]*[#$] 
cmd $set_addr
expect $(rx_quote "$set_addr")\\r?\\n[^\\n]*[#$] 
cmd route add 0.0.0.0 gw $gw eth0
expect route add 0\\.0\\.0\\.0 gw $gw_rx eth0\\r?\\n[^\\n]*[#$] 
cmd route
expect Kernel IP routing table\\r?\\n
expect (?m)^default +$gw_rx +255\\.255\\.255\\.255 +UGH +0 +0 +0 eth0\\r?$
expect (?m)^$(rx_quote "$net") +\\* +$(rx_quote "$mask") +U +0 +0 +0 eth0\\r?$
cmd ping -c 2 $gw
expect PING $gw_rx \\($gw_rx\\): 56 data bytes
expect 64 bytes from $gw_rx: seq=0 ttl=
expect 64 bytes from $gw_rx: seq=1 ttl=
expect --- $gw_rx ping statistics ---
expect 2 packets transmitted, 2 packets received, 0% packet loss
prompt
sendraw \\x1d
eof
STEPS
expect_output "Domain helloworld destroyed" vivctl destroy helloworld

echo "== The complete final example XML configuration"
cat >helloworld.xml <<'XML'
<domain type='lxc'>
<name>helloworld</name>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
</os>
<devices>
<console type='pty'/>
<filesystem type='mount'>
<source dir='/export/helloworld/root'/>
<target dir='/'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/config'/>
<target dir='/etc/httpd'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/data'/>
<target dir='/var/www'/>
</filesystem>
<interface type='network'>
<source network='default'/>
</interface>
</devices>
</domain>
XML
say "cat helloworld.xml"; cat helloworld.xml
expect_output "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_output "Domain helloworld started" vivctl start helloworld
expect_line '^ *vnet[0-9]+ +network +default +\S+ +52:54:00(:[0-9a-f]{2}){3} *$' vivctl domiflist helloworld
uuid=$(vivctl domuuid helloworld 2>/dev/null)
console helloworld <<STEPS
cmd ls
expect \\bbin\\s+dev\\s+etc\\s+proc\\s+sys\\s+var\\r?\\n
cmd ls /etc/httpd/ /var/www/
expect hello\\.txt
expect world\\.txt
cmd ifconfig
expect (?i)\\beth0 +Link encap:Ethernet +HWaddr 52:54:00(:[0-9a-f]{2}){3} *\\r?\\n
expect \\blo +Link encap:Local Loopback *\\r?\\n
cmd echo \$LIBVIRT_LXC_NAME
line helloworld
cmd echo \$LIBVIRT_LXC_UUID
line $uuid
prompt
sendraw \\x1d
eof
STEPS

echo "== An aside about CGroups"
expect_line 'Delegate=yes' systemctl show -p Delegate machine-helloworld.scope
expect_line 'MemoryMax=104857600' systemctl show -p MemoryMax machine-helloworld.scope
expect_output "Domain helloworld destroyed" vivctl destroy helloworld
expect_output "Domain helloworld has been undefined" vivctl undefine helloworld
rm -rf /export/helloworld

echo
if [ $failures -eq 0 ]; then
        echo "walk-through: every step did what the seed shows"
else
        echo "walk-through: $failures step(s) failed"
fi
[ $failures -eq 0 ]
