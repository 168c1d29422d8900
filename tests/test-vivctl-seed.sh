#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The seed's walk-through (shared/seed/000_6c112a8d5337c73a.txt) without
# networking, with vivctl in place of virsh, in a throwaway test host: every
# message is compared exactly with what the seed shows; the console is driven
# through a pseudo-terminal as a person would.
#
#   test-vivctl-seed.sh            boot a test host, install $VIVARIUM_BUILD_DIR, run
#   test-vivctl-seed.sh --inner    the steps themselves (inside a host with vivctl)
#
# Prints "PASS: step" / "FAIL: step" for every step and a summary; exits 1 if
# any step failed, 77 when no test host can be booted here.
set -u

self=$(readlink -f "$0")
here=${self%/*}

# --- outside: the test host ------------------------------------------------------

if [ "${1:-}" != "--inner" ]; then
        skip_or_fail() {
                if [ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ]; then
                        echo "FAIL: cannot run, and VIVARIUM_TESTS_MUST_RUN=1: $*" >&2
                        exit 1
                fi
                echo "SKIP: $*" >&2
                exit 77
        }
        [ -n "${VIVARIUM_BUILD_DIR:-}" ] || skip_or_fail "VIVARIUM_BUILD_DIR is not set (run through meson test)"
        [ -f "$here/testhost/testhost.sh" ] || skip_or_fail "tests/testhost/testhost.sh is missing"
        # shellcheck source=/dev/null
        . "$here/testhost/testhost.sh"

        # $$: another run of this test may have a host up at the same time
        testhost_boot "vt-seed-$$" || exit 1
        testhost_install "$VIVARIUM_BUILD_DIR" || { echo "FAIL: testhost_install" >&2; exit 1; }
        testhost_run /bin/bash "$self" --inner
        rc=$?
        if [ $rc != 0 ]; then
                echo "--- journal of vivarium in the test host"
                testhost_run journalctl --no-pager -b -o short-monotonic \
                        _COMM=vivariumd + _COMM=vivarium-helper + SYSLOG_IDENTIFIER=vivariumd 2>&1 | tail -n 100
        fi
        testhost_teardown
        exit $rc
fi

# --- inside: the steps ------------------------------------------------------------------

passed=0
failures=0
work=$(mktemp -d /tmp/test-vivctl-seed.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export PTY_TIMEOUT=${PTY_TIMEOUT:-20}

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
say() { printf '\n# %s\n' "$*"; }

# The console driver (tests/lib/ptyexpect.py) in a pseudo-terminal of 40x120;
# sessions end with "eof 0": the client must exit with status 0.
pty_drive() { # STEPS-FILE COMMAND...
        local steps=$1
        shift
        python3 "$here/lib/ptyexpect.py" --timeout "$PTY_TIMEOUT" --size 40x120 "$steps" -- "$@"
}

# expect_out STEP EXPECTED CMD...: stdout+stderr exactly EXPECTED, status 0.
expect_out() {
        local name=$1 want=$2 out rc
        shift 2
        say "$*"
        out=$("$@" 2>&1); rc=$?
        [ -n "$out" ] && printf '%s\n' "$out"
        if [ $rc != 0 ]; then
                fail "$name: '$*' exited with $rc"
        elif [ "$out" != "$want" ]; then
                fail "$name: '$*' printed '$out', the seed shows '$want'"
        else
                pass "$name"
        fi
}

# expect_err STEP EXPECTED CMD...: fails with status 1 and stderr EXPECTED.
expect_err() {
        local name=$1 want=$2 out rc
        shift 2
        say "$*"
        out=$("$@" 2>&1 >/dev/null); rc=$?
        [ -n "$out" ] && printf '%s\n' "$out"
        if [ $rc != 1 ]; then
                fail "$name: '$*' exited with $rc, expected 1"
        elif [ "$out" != "$want" ]; then
                fail "$name: '$*' printed '$out', expected '$want'"
        else
                pass "$name"
        fi
}

# expect_fail STEP CMD...: fails with status 1 and an "error: " message.
expect_fail() {
        local name=$1 out rc
        shift
        say "$*"
        out=$("$@" 2>&1 >/dev/null); rc=$?
        [ -n "$out" ] && printf '%s\n' "$out"
        if [ $rc != 1 ]; then
                fail "$name: '$*' exited with $rc, expected 1"
        elif [[ "$out" != "error: "* ]]; then
                fail "$name: '$*' printed '$out', expected an 'error: ' message"
        else
                pass "$name"
        fi
}

# expect_fail_rx STEP REGEX CMD...: fails with status 1, stderr matches REGEX.
expect_fail_rx() {
        local name=$1 rx=$2 out rc
        shift 2
        say "$*"
        out=$("$@" 2>&1 >/dev/null); rc=$?
        [ -n "$out" ] && printf '%s\n' "$out"
        if [ $rc != 1 ]; then
                fail "$name: '$*' exited with $rc, expected 1"
        elif ! grep -Eq -- "$rx" <<<"$out"; then
                fail "$name: '$*' printed '$out', expected /$rx/"
        else
                pass "$name"
        fi
}

# virsh_table ID NAME STATE: what "list" prints for one domain, exactly.
virsh_table() {
        local w1=$(( ${#1} > 2 ? ${#1} : 2 )) w2=$(( ${#2} > 4 ? ${#2} : 4 )) w3=$(( ${#3} > 5 ? ${#3} : 5 ))
        printf ' %-*s   %-*s   %s\n' "$w1" Id "$w2" Name State
        printf '%*s\n' $((w1 + w2 + w3 + 9)) '' | tr ' ' -
        printf ' %-*s   %-*s   %s' "$w1" "$1" "$w2" "$2" "$3"
}

# expect_rx STEP REGEX CMD...: status 0 and some line matches REGEX.
expect_rx() {
        local name=$1 rx=$2 out rc
        shift 2
        say "$*"
        out=$("$@" 2>&1); rc=$?
        [ -n "$out" ] && printf '%s\n' "$out"
        if [ $rc != 0 ]; then
                fail "$name: '$*' exited with $rc"
        elif ! grep -Eq -- "$rx" <<<"$out"; then
                fail "$name: no line of '$*' matches /$rx/"
        else
                pass "$name"
        fi
}

# console STEP ARGS... < steps: a console session in a pseudo-terminal.
console() {
        local name=$1
        shift
        cat >"$work/steps"
        say "vivctl console $*"
        if pty_drive "$work/steps" vivctl console "$@"; then
                pass "$name"
        else
                fail "$name"
        fi
}

# console_cmd STEP CMD... < steps: any command in a pseudo-terminal.
console_cmd() {
        local name=$1
        shift
        cat >"$work/steps"
        say "$*"
        if pty_drive "$work/steps" "$@"; then
                pass "$name"
        else
                fail "$name"
        fi
}

# wait_state NAME STATE: the state the manager reports, within 10 s.
wait_state() {
        local i
        for ((i = 0; i < 100; i++)); do
                [ "$(vivctl domstate "$1" 2>/dev/null)" = "$2" ] && return 0
                sleep 0.1
        done
        return 1
}

# A clean slate, whatever an earlier run left.
cleanup() {
        vivctl destroy helloworld >/dev/null 2>&1
        vivctl undefine helloworld >/dev/null 2>&1
}

write_helloworld() { # extra <devices> lines on stdin
        local extra
        extra=$(cat)
        {
                printf '%s\n' "<domain type='lxc'>" "<name>helloworld</name>" "<memory>102400</memory>" \
                        "<os>" "<type>exe</type>" "<init>/bin/sh</init>" "</os>" "<devices>" \
                        "<console type='pty'/>"
                [ -n "$extra" ] && printf '%s\n' "$extra"
                printf '%s\n' "</devices>" "</domain>"
        } >helloworld.xml
}

mounts_xml="<filesystem type='mount'>
<source dir='/export/helloworld/config'/>
<target dir='/etc/httpd'/>
</filesystem>
<filesystem type='mount'>
<source dir='/export/helloworld/data'/>
<target dir='/var/www'/>
</filesystem>"

echo "== Connecting to the driver"
unset LIBVIRT_DEFAULT_URI VIVARIUM_DEFAULT_URI
expect_out "uri: default" "vivarium:///system" vivctl uri
expect_out "uri: -c lxc:///" "lxc:///" vivctl -c lxc:/// uri
say "export LIBVIRT_DEFAULT_URI=lxc:///"
export LIBVIRT_DEFAULT_URI=lxc:///
expect_out "uri: LIBVIRT_DEFAULT_URI" "lxc:///" vivctl uri
cleanup

echo "== A simple \"Hello World\" container"
write_helloworld </dev/null
expect_out "define" "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_out "list --all: virsh's table" "$(virsh_table - helloworld 'shut off')" vivctl list --all
expect_out "domstate: shut off" "shut off" vivctl domstate helloworld
expect_out "domid: shut off" "-" vivctl domid helloworld
expect_out "start" "Domain helloworld started" vivctl start helloworld
expect_fail "start: already running" vivctl start helloworld
expect_out "domstate: running" "running" vivctl domstate helloworld

id=$(vivctl domid helloworld 2>/dev/null)
uuid=$(vivctl dumpxml helloworld 2>/dev/null | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1)
expect_out "list: virsh's table with the Id" "$(virsh_table "${id:-?}" helloworld running)" vivctl list
say "ps -o args= -p $id"
helper=$(ps -o args= -p "${id:-0}" 2>/dev/null)
printf '%s\n' "$helper"
if [[ "$helper" == *vivarium-helper* ]]; then pass "list: the Id is the helper's PID"; else
        fail "list: Id '$id' is not a vivarium-helper ('$helper')"; fi
expect_out "domuuid = dumpxml's uuid" "$uuid" vivctl domuuid helloworld
expect_out "domname by Id" "helloworld" vivctl domname "${id:-0}"
expect_out "domstate by UUID" "running" vivctl domstate "${uuid:-none}"
expect_rx "dominfo: State" '^State: {10}running$' vivctl dominfo helloworld
expect_rx "dominfo: Max memory" '^Max memory: {5}102400 KiB$' vivctl dominfo helloworld
expect_rx "dominfo: Persistent" '^Persistent: {5}yes$' vivctl dominfo helloworld
expect_rx "dumpxml: name" '<name>helloworld</name>' vivctl dumpxml helloworld

console "console: shared root, PID 1, env, window size, ^]" helloworld <<STEPS
expect ^Connected to domain helloworld\r?\n
expect ^Escape character is \^\]\r?\n
send echo \$LIBVIRT_LXC_NAME
line helloworld
send echo \$LIBVIRT_LXC_UUID
line $uuid
send ps -o pid,comm
line  *1 sh
send seq 1 20000 | tail -n 20000
line 19999
line 20000
send stty size
line 40 120
resize 50 132
sleep 0.5
send stty size
line 50 132
sendraw \x1d
eof 0
STEPS
expect_out "still running after ^]" "running" vivctl domstate helloworld

# One interactive client at a time; --force takes over and ends the other.
say "console takeover: a first client, a second without --force, one with"
mkfifo "$work/fifo"
sleep 60 >"$work/fifo" &
holder=$!
vivctl console helloworld --wait-eof <"$work/fifo" >"$work/first.out" 2>&1 &
first=$!
sleep 1
expect_fail "console: busy without --force" vivctl console helloworld </dev/null
console "console --force takes over" helloworld --force <<'STEPS'
expect Escape character is
send echo forced
line forced
sendraw \x1d
eof 0
STEPS
for ((i = 0; i < 50; i++)); do kill -0 "$first" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$first" 2>/dev/null; then
        fail "console --force: the first client still runs"
        kill "$first"
else
        wait "$first"
        rc=$?
        [ $rc = 0 ] && pass "console --force: the first client exited 0" ||
                fail "console --force: the first client exited $rc"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

echo "== Lifecycle verbs beyond the seed"
expect_out "suspend" "Domain helloworld suspended" vivctl suspend helloworld
expect_out "domstate: paused" "paused" vivctl domstate helloworld
expect_rx "list: paused" '^ [0-9]+ +helloworld +paused$' vivctl list
expect_out "resume" "Domain helloworld resumed" vivctl resume helloworld
expect_out "domstate: running again" "running" vivctl domstate helloworld
old_id=$(vivctl domid helloworld 2>/dev/null)
expect_out "reboot" "Domain helloworld is being rebooted" vivctl reboot helloworld
new_id=
for ((i = 0; i < 100; i++)); do
        new_id=$(vivctl domid helloworld 2>/dev/null)
        [ -n "$new_id" ] && [ "$new_id" != - ] && [ "$new_id" != "$old_id" ] && break
        sleep 0.1
done
if [ -n "$new_id" ] && [ "$new_id" != - ] && [ "$new_id" != "$old_id" ]; then pass "reboot: a new Id ($old_id -> $new_id)"; else
        fail "reboot: Id '$old_id' -> '$new_id'"; fi
expect_out "autostart" "Domain helloworld marked as autostarted" vivctl autostart helloworld
expect_rx "dominfo: Autostart enable" '^Autostart: {6}enable$' vivctl dominfo helloworld
expect_out "autostart --disable" "Domain helloworld unmarked as autostarted" vivctl autostart helloworld --disable
expect_rx "dominfo: Autostart disable" '^Autostart: {6}disable$' vivctl dominfo helloworld

expect_out "destroy" "Domain helloworld destroyed" vivctl destroy helloworld
expect_out "domstate after destroy" "shut off" vivctl domstate helloworld
expect_out "undefine" "Domain helloworld has been undefined" vivctl undefine helloworld
expect_err "unknown domain" "error: failed to get domain 'helloworld'" vivctl dominfo helloworld
printf "<domain type='lxc'>\n<name>broken</name>\n<memory>1024</memory>\n" >broken.xml
expect_fail_rx "define: a broken file, its line and column" '^error: broken\.xml:[0-9]+:[0-9]+: ' vivctl define broken.xml
sed 's|<init>/bin/sh</init>|<init>/no/such/init</init>|' helloworld.xml >badinit.xml
expect_out "define (bad init)" "Domain helloworld defined from badinit.xml" vivctl define badinit.xml
expect_fail_rx "start: init cannot run, the helper's reason" "^error: .*'/no/such/init'" vivctl start helloworld
expect_out "not running after a failed start" "shut off" vivctl domstate helloworld
expect_out "undefine (bad init)" "Domain helloworld has been undefined" vivctl undefine helloworld
cleanup

echo "== Adding custom mounts to the \"Hello World\" container"
say "mkdir /export/helloworld/{config,data}; touch config/hello.txt data/world.txt"
rm -rf /export/helloworld
mkdir -p /export/helloworld/config /export/helloworld/data
touch /export/helloworld/config/hello.txt /export/helloworld/data/world.txt
write_helloworld <<<"$mounts_xml"
expect_out "define (mounts)" "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_out "start (mounts)" "Domain helloworld started" vivctl start helloworld
console "console: custom mounts, exit" helloworld <<'STEPS'
expect Connected to domain helloworld
expect Escape character is \^\]
send ls /etc/httpd/
line hello\.txt
send ls /var/www/
line world\.txt
send exit
eof 0
STEPS
if wait_state helloworld "shut off"; then pass "init's exit stops the domain"; else
        fail "init's exit stops the domain: state '$(vivctl domstate helloworld 2>&1)'"; fi
expect_out "undefine (mounts)" "Domain helloworld has been undefined" vivctl undefine helloworld
cleanup

echo "== A private root filesystem with busybox"
root=/export/helloworld/root
say "mkdir -p $root/{bin,var/www,etc/httpd}; cp /bin/busybox $root/bin; ln -s busybox ..."
mkdir -p "$root/bin" "$root/var/www" "$root/etc/httpd"
cp /bin/busybox "$root/bin/busybox"
links="ls cat rm find ps echo date kill sleep true false test pwd sh which grep head wget"
for i in $links; do
        ln -s busybox "$root/bin/$i"
done
write_helloworld <<XML
<filesystem type='mount'>
<source dir='$root'/>
<target dir='/'/>
</filesystem>
$mounts_xml
XML
expect_out "define (private root)" "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
expect_out "start (private root)" "Domain helloworld started" vivctl start helloworld
uuid=$(vivctl domuuid helloworld 2>/dev/null)
{
        echo 'expect Escape character is \^\]'
        echo 'send cd / && ls'
        echo 'expect bin\s+dev\s+etc\s+(\S+\s+)*proc\s+(\S+\s+)*sys\s+(\S+\s+)*var'
        echo 'send ls -1 bin/'
        for i in $(printf '%s\n' busybox $links | LC_ALL=C sort); do echo "line $i"; done
        echo 'send cat /proc/mounts'
        echo 'expect (?m)^(?:[#$] )*proc /proc proc '
        echo 'send ls /etc/httpd/ /var/www/'
        echo 'expect hello\.txt'
        echo 'expect world\.txt'
        echo 'send echo $LIBVIRT_LXC_NAME'
        echo 'line helloworld'
        echo 'send echo $LIBVIRT_LXC_UUID'
        echo "line $uuid"
        echo 'sendraw \x1d'
        echo 'eof 0'
} | console "console: private root (ls /, ls bin/, /proc/mounts, env)" helloworld

echo "== An aside about CGroups: limits through vivctl"
expect_out "scope: MemoryMax from <memory>" "MemoryMax=104857600" systemctl show -p MemoryMax machine-helloworld.scope
expect_out "setmem 50M" "" vivctl setmem helloworld 50M
expect_out "scope: MemoryMax after setmem" "MemoryMax=52428800" systemctl show -p MemoryMax machine-helloworld.scope
expect_rx "schedinfo --set cpu_shares=512" '^cpu_shares {5}: 512$' vivctl schedinfo helloworld --set cpu_shares=512
expect_rx "dominfo: Max memory after setmem" '^Max memory: {5}51200 KiB$' vivctl dominfo helloworld
expect_rx "dominfo: Used memory" '^Used memory: {4}[0-9]+ KiB$' vivctl dominfo helloworld
# CPU time only when systemd accounts it (virsh leaves the line out otherwise).
if vivctl dominfo helloworld | grep -q '^CPU time:'; then
        expect_rx "dominfo: CPU time" '^CPU time: {7}[0-9]+\.[0-9]s$' vivctl dominfo helloworld
fi
expect_out "destroy (private root)" "Domain helloworld destroyed" vivctl destroy helloworld
expect_out "undefine (private root)" "Domain helloworld has been undefined" vivctl undefine helloworld
cleanup
rm -rf /export/helloworld

echo "== Transient domains: create, create --wait"
cat >transient.xml <<'XML'
<domain type='lxc'>
<name>transient</name>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
<initarg>-c</initarg>
<initarg>sleep 0.5; exit 3</initarg>
</os>
<devices>
<console type='pty'/>
</devices>
</domain>
XML
say "vivctl create transient.xml --wait"
out=$(vivctl create transient.xml --wait 2>&1); rc=$?
[ -n "$out" ] && printf '%s\n' "$out"
if [ $rc = 3 ] && [ -z "$out" ]; then pass "create --wait: init's exit status, nothing printed"; else
        fail "create --wait: exit status $rc (expected 3), output '$out'"; fi
sed -i 's/sleep 0.5; exit 3/sleep 60/' transient.xml
expect_out "create" "Domain transient created from transient.xml" vivctl create transient.xml
expect_rx "list: transient running" '^ [0-9]+ +transient +running$' vivctl list
expect_out "destroy (transient)" "Domain transient destroyed" vivctl destroy transient
expect_err "a transient domain is gone once stopped" "error: failed to get domain 'transient'" vivctl domstate transient

sed -e 's|<name>helloworld</name>|<name>oneshot</name>|' helloworld.xml >oneshot.xml
sed -i -e '/<filesystem/,/<\/filesystem>/d' oneshot.xml
console_cmd "create --console; the console ends with the container" vivctl create oneshot.xml --console <<'STEPS'
expect ^Domain oneshot created from oneshot\.xml\r?\n
expect ^Connected to domain oneshot\r?\n
expect ^Escape character is \^\]\r?\n
send echo $LIBVIRT_LXC_NAME
line oneshot
send exit
eof 0
STEPS
for ((i = 0; i < 50; i++)); do vivctl domstate oneshot >/dev/null 2>&1 || break; sleep 0.1; done
expect_err "oneshot: gone after its init exited" "error: failed to get domain 'oneshot'" vivctl domstate oneshot
write_helloworld </dev/null
expect_out "define (start --console)" "Domain helloworld defined from helloworld.xml" vivctl define helloworld.xml
console_cmd "start --console" vivctl start helloworld --console <<'STEPS'
expect ^Domain helloworld started\r?\n
expect ^Connected to domain helloworld\r?\n
expect ^Escape character is \^\]\r?\n
send echo $LIBVIRT_LXC_NAME
line helloworld
sendraw \x1d
eof 0
STEPS
expect_out "destroy (start --console)" "Domain helloworld destroyed" vivctl destroy helloworld
expect_out "undefine (start --console)" "Domain helloworld has been undefined" vivctl undefine helloworld

echo "== Interfaces (domiflist)"
sed -e 's|<name>helloworld</name>|<name>ethdom</name>|' \
    -e "s|</devices>|<interface type='ethernet'/>\n</devices>|" helloworld.xml >ethdom.xml
expect_out "define (ethernet)" "Domain ethdom defined from ethdom.xml" vivctl define ethdom.xml
expect_out "start (ethernet)" "Domain ethdom started" vivctl start ethdom
# The host-side name shows once the live XML records it (networking work);
# until then "-".
expect_rx "domiflist: the veth and its MAC" '^ ([a-z0-9]+|-) +ethernet +- +- +52:54:00(:[0-9a-f]{2}){3}$' vivctl domiflist ethdom
vivctl -q destroy ethdom
expect_out "undefine (ethernet)" "Domain ethdom has been undefined" vivctl undefine ethdom

echo "== Lifecycle events"
say "vivctl event --all --loop --timeout 15 & define, start, suspend, resume, destroy, undefine"
vivctl event --all --loop --timeout 15 >events.out 2>&1 &
ev=$!
sleep 1
sed 's|<name>helloworld</name>|<name>evdom</name>|' helloworld.xml >evdom.xml
{ vivctl -q define evdom.xml && vivctl -q start evdom && vivctl -q suspend evdom &&
        vivctl -q resume evdom && vivctl -q destroy evdom && vivctl -q undefine evdom; } ||
        fail "event: the lifecycle commands failed"
sleep 1
kill -INT "$ev"
wait "$ev"
cat events.out
want="event 'lifecycle' for domain 'evdom': Defined Added
event 'lifecycle' for domain 'evdom': Started Booted
event 'lifecycle' for domain 'evdom': Suspended Paused
event 'lifecycle' for domain 'evdom': Resumed Unpaused
event 'lifecycle' for domain 'evdom': Stopped Destroyed
event 'lifecycle' for domain 'evdom': Undefined Removed
events received: 6"
if [ "$(cat events.out)" = "$want" ]; then pass "event --all --loop: virsh's lines, ^C ends it"; else
        fail "event --all --loop: '$(cat events.out)'"; fi

echo
echo "vivctl-seed: $passed passed, $failures failed"
[ $failures -eq 0 ]
