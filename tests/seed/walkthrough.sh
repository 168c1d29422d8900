#!/bin/bash
# The seed's walk-through (shared/seed/000_6c112a8d5337c73a.txt), every step but
# networking, with vivctl in place of virsh. Prints each command as "# CMD" and
# its output, checks each against what the seed shows, and exits non-zero when any
# step did not. Runs where vivctl talks to a live vivariumd: inside a test host
# (tools/try and tests/test-seed.sh boot one); it creates /export/helloworld.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ptyexpect="python3 $here/../lib/ptyexpect.py --timeout ${WALKTHROUGH_TIMEOUT:-20}"
failures=0
work=$(mktemp -d /tmp/walkthrough.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

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

# Attaches to NAME's console in a pseudo-terminal and plays the steps given on
# stdin (see tests/lib/ptyexpect.py).
console() { # NAME < steps
        local name=$1
        cat >"$work/console.steps"
        say "vivctl console $name"
        $ptyexpect "$work/console.steps" -- vivctl console "$name" || fail "console session of '$name'"
}

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
expect Connected to domain helloworld
expect Escape character is \^\]
send echo \$LIBVIRT_LXC_NAME
expect (?m)^(?:.*[#$] )?helloworld\r?$
send echo \$LIBVIRT_LXC_UUID
expect (?m)^(?:.*[#$] )?$uuid\r?$
send ps -axuwf
expect (?m)^(?:.*[#$] )?root +1 .*/bin/sh
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
write_helloworld <<'XML'
<filesystem type='mount'>
<source dir='/export/helloworld/config'/>
<target dir='/etc/httpd'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/data'/>
<target dir='/var/www'/>
</filesystem>
XML
expect_output "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_output "Domain helloworld started" vivctl start helloworld
console helloworld <<'STEPS'
expect Escape character is \^\]
send ls /etc/httpd/
expect (?m)^(?:.*[#$] )?hello\.txt\r?$
send ls /var/www/
expect (?m)^(?:.*[#$] )?world\.txt\r?$
send exit
eof
STEPS
expect_line '^ *- +helloworld +shut off *$' vivctl list --all
expect_output "Domain helloworld has been undefined" vivctl undefine helloworld

echo "== A private root filesystem with busybox"
root=/export/helloworld/root
say "mkdir -p $root/{bin,var/www,etc/httpd}; cp /bin/busybox $root/bin/busybox; ln -s busybox ..."
mkdir -p "$root/bin" "$root/var/www" "$root/etc/httpd"
cp /bin/busybox "$root/bin/busybox"
for i in ls cat rm find ps echo date kill sleep true false test pwd sh which grep head wget; do
        ln -s busybox "$root/bin/$i"
done
write_helloworld <<XML
<filesystem type='mount'>
<source dir='$root'/>
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
XML
expect_output "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_output "Domain helloworld started" vivctl start helloworld
console helloworld <<'STEPS'
expect Escape character is \^\]
send cd / && ls
expect bin\s+dev\s+etc\s+proc\s+sys\s+var
send ls bin/
expect busybox[\s\S]*wget
send cat /proc/mounts
expect (?m) /etc/httpd 
expect (?m) /var/www 
expect (?m)^proc /proc proc
send ls /etc/httpd/ /var/www/
expect hello\.txt
expect world\.txt
send echo $LIBVIRT_LXC_NAME
expect (?m)^(?:.*[#$] )?helloworld\r?$
sendraw \x1d
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
