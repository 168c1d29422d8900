#!/bin/bash
# libvirt LXC parity (issue 19) in a test host, with the installed build and
# vivctl:
#  - <bandwidth> and domiftune: real TCP streams between the test host and a
#    container over its veth, measured on the receiving side, stay within 10%
#    of the configured rate both ways (inbound: the host-side veth's egress;
#    outbound: its ingress through ifb-DEV); a live domiftune changes the
#    rate, removing it restores the unshaped rate (far higher), --config is
#    what the next start uses; nothing (ifb, veth) is left after a stop, even
#    after the helper was killed;
#  - send-process-signal: by name and number to init and to another PID of
#    the container's PID namespace; a bad name, a missing PID, a container
#    that is not running;
#  - hooks: /etc/vivarium/hooks/lxc and lxc.d/ with libvirt's arguments and
#    the XML on stdin, in order (prepare, start, started, reconnect after a
#    manager restart, stopped, release); a failing prepare hook refuses the
#    start with the hook's output and leaves nothing; a hung hook is killed
#    after the timeout.
# Traffic stays inside the test host's network namespace and the
# container's. Exit: 0 pass, 1 fail, 77 skipped (1 instead when
# VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl
# python3: the traffic's sender and receiver; ip: the host side's address
testhost_require_tools python3 ip

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
journal() { in_host journalctl --no-pager -o cat CONTAINER_NAME="$1" 2>&1; }
wait_journal() { # NAME NEEDLE
	local needle=$2 name=$1
	has_journal() { case $(journal "$name") in *"$needle"*) return 0 ;; esac; return 1; }
	wait_until 60 has_journal
}
is_state() { [ "$(vivctl domstate "$1" 2>&1)" = "$2" ]; }
no_link() { ! in_host ip link show "$1" >/dev/null 2>&1; }

work=$(mktemp -d /tmp/vt-parity.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_boot "vt-par-$$" || testhost_skip_or_fail "the test host did not boot"
testhost_install "$build" >/dev/null || { echo "not ok - install into the test host"; exit 1; }
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0 VIVARIUM_HOOK_TIMEOUT=3

# write_xml NAME INIT-SCRIPT DEVICES...: $work/NAME.xml, a shared root
write_xml() {
	local name=$1 script=$2
	shift 2
	cat >"$work/$name.xml" <<XML
<domain type='lxc'>
  <name>$name</name>
  <memory>262144</memory>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>$script</initarg></os>
  <devices>
    <console type='pty'/>
$(printf '    %s\n' "$@")
  </devices>
</domain>
XML
}

# ============================================================================
echo "# traffic shaping: <bandwidth> and domiftune"

# A TCP stream for SECS seconds; the receiver counts the bytes that arrive
# after its first second (the start of a stream is not the steady rate) and
# prints bytes per second.
cat >"$work/rate.py" <<'PY'
import socket, sys, time
if sys.argv[1] == "recv":
    port, secs = int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1)
    s.settimeout(30)
    c, _ = s.accept()
    c.settimeout(30)
    first = start = None
    counted = 0
    while True:
        b = c.recv(65536)
        now = time.monotonic()
        if not b:
            break
        if first is None:
            first = now
        if now - first >= 1.0:
            if start is None:
                start = now
            else:
                counted += len(b)
        if now - first >= secs:
            break
    end = time.monotonic()
    print(int(counted / (end - start)) if start and end > start else 0)
else:
    host, port, secs = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    for i in range(100):
        try:
            s = socket.create_connection((host, port), timeout=30)
            break
        except OSError:
            time.sleep(0.1)
    buf = b"\0" * 65536
    end = time.monotonic() + secs + 1
    try:
        while time.monotonic() < end:
            s.sendall(buf)
    except OSError:
        pass
PY
# measure in|out SECS: the rate into / out of container "shaped" (bytes/s)
port=5100
measure() {
	local leader
	leader=$(in_host machinectl show shaped -p Leader --value 2>/dev/null)
	port=$((port + 1))
	if [ "$1" = in ]; then
		in_host sh -c "nsenter -t $leader -n python3 $work/rate.py recv $port $2 & r=\$!
			python3 $work/rate.py send 10.77.0.2 $port $2; wait \$r"
	else
		in_host sh -c "python3 $work/rate.py recv $port $2 & r=\$!
			nsenter -t $leader -n python3 $work/rate.py send 10.77.0.1 $port $2; wait \$r"
	fi
}
within10() { # MEASURED KIB_PER_S
	local want=$(($2 * 1024))
	[ -n "$1" ] && [ "$1" -gt $((want * 9 / 10)) ] && [ "$1" -lt $((want * 11 / 10)) ] && return 0
	echo "#  measured '$1' B/s, wanted $want B/s +- 10%" >&2
	return 1
}
far_above() { # MEASURED KIB_PER_S: at least 5 times the rate
	[ -n "$1" ] && [ "$1" -gt $(($2 * 1024 * 5)) ] && return 0
	echo "#  measured '$1' B/s, wanted more than 5 x $(($2 * 1024)) B/s" >&2
	return 1
}
host_side_up() {
	in_host ip link show vshape0 >/dev/null 2>&1 &&
		{ in_host ip addr add 10.77.0.1/24 dev vshape0 2>/dev/null || true; } &&
		in_host ip -o addr show dev vshape0 | grep -q 10.77.0.1
}

write_xml shaped "exec sleep 100000" \
	"<interface type='ethernet'><target dev='vshape0'/><ip address='10.77.0.2' prefix='24'/>" \
	"  <bandwidth><inbound average='1024'/><outbound average='1024'/></bandwidth>" \
	"</interface>"
out=$(vivctl define "$work/shaped.xml" 2>&1)
check "define a container with <bandwidth> (no warning about it)" lacks "$out" "bandwidth"
out=$(vivctl start shaped 2>&1)
check "start shaped" contains "$out" "Domain shaped started"
check "the host side has its address" wait_until 60 host_side_up
out=$(in_host tc qdisc show dev vshape0 2>&1)
check "vshape0: an htb root and an ingress qdisc" contains "$out" "qdisc htb 1: root"
check "... and the ingress qdisc" contains "$out" "qdisc ingress ffff:"
check "ifb-vshape0 carries the outbound traffic" in_host ip link show ifb-vshape0

rate=$(measure in 6)
check "inbound 1024 KiB/s: host -> container at $rate B/s" within10 "$rate" 1024
rate=$(measure out 6)
check "outbound 1024 KiB/s: container -> host at $rate B/s" within10 "$rate" 1024

compl() { # WORDS...: the completions of the last word, by the installed bash completion
	in_host bash -c '
		_init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; }
		. /usr/share/bash-completion/completions/vivctl
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vivctl; echo "${COMPREPLY[*]}"' _ "$@"
}
check "completion: domiftune's verb" contains "$(compl vivctl domif)" "domiftune"
check "completion: domiftune's interface (vshape0 from domiflist)" contains "$(compl vivctl domiftune shaped vs)" "vshape0"
check "completion: send-process-signal's signal names" contains "$(compl vivctl send-process-signal shaped 1 SIGT)" "SIGTERM"

out=$(vivctl domiftune shaped vshape0 2>&1)
check "domiftune prints virsh's seven parameters" same "$out" "inbound.average: 1024
inbound.peak   : 0
inbound.burst  : 0
inbound.floor  : 0
outbound.average: 1024
outbound.peak  : 0
outbound.burst : 0"

out=$(vivctl domiftune shaped vshape0 --inbound 512,1024,64 --live 2>&1)
check "domiftune --inbound 512,1024,64 --live prints nothing" same "$out" ""
rate=$(measure in 6)
check "after the live change: host -> container at $rate B/s (512 KiB/s; peak 1024 cannot be borrowed)" \
	within10 "$rate" 512
out=$(vivctl dumpxml shaped 2>&1)
check "the live XML shows the bandwidth in use" contains "$out" "<inbound average='512' peak='1024' burst='64'/>"
out=$(vivctl dumpxml --inactive shaped 2>&1)
check "the stored definition keeps its own" contains "$out" "<inbound average='1024'/>"
out=$(vivctl domiftune shaped vshape0 --live 2>&1)
check "domiftune --live shows the new inbound values" contains "$out" "inbound.average: 512
inbound.peak   : 1024
inbound.burst  : 64"

out=$(vivctl domiftune shaped vshape0 --outbound 2048 --config 2>&1)
check "domiftune --outbound 2048 --config" same "$out" ""
out=$(vivctl dumpxml --inactive shaped 2>&1)
check "--config writes the stored definition" contains "$out" "<outbound average='2048'/>"
out=$(vivctl domiftune shaped vshape0 --config 2>&1)
check "domiftune --config shows it" contains "$out" "outbound.average: 2048"
out=$(vivctl dumpxml shaped 2>&1)
check "... and the live XML does not" contains "$out" "<outbound average='1024'/>"

out=$(vivctl domiftune shaped vshape0 --inbound 0 --outbound 0 2>&1)
check "domiftune --inbound 0 --outbound 0 removes the shaping" same "$out" ""
check "ifb-vshape0 is gone with the outbound shaping" no_link ifb-vshape0
rate=$(measure in 3)
check "unshaped: host -> container at $rate B/s" far_above "$rate" 1024
rate=$(measure out 3)
check "unshaped: container -> host at $rate B/s" far_above "$rate" 1024
out=$(vivctl dumpxml shaped 2>&1)
check "the live XML has no <bandwidth> any more" lacks "$out" "<bandwidth>"

out=$(vivctl domiftune shaped nosuch --inbound 100 2>&1)
check "domiftune on an unknown interface" contains "$out" "No interface 'nosuch' in the live definition of container 'shaped'"
out=$(vivctl domiftune shaped vshape0 --inbound 100,,,50 2>&1)
check "floor is refused (no network QoS)" contains "$out" "'floor' is only supported for interfaces of type 'network'"
out=$(vivctl domiftune shaped vshape0 --inbound 1x 2>&1)
check "a malformed rate" contains "$out" "error: inbound format is incorrect"
mac=$(vivctl dumpxml shaped | sed -n "s/.*<mac address='\([^']*\)'.*/\1/p")
out=$(vivctl domiftune shaped "$mac" --outbound 300 2>&1)
check "domiftune by MAC ($mac)" same "$out" ""
out=$(vivctl domiftune shaped vshape0 2>&1)
check "... sets that interface" contains "$out" "outbound.average: 300"

vivctl destroy shaped >/dev/null 2>&1
check "after destroy: no vshape0" wait_until 60 no_link vshape0
check "after destroy: no ifb-vshape0" wait_until 60 no_link ifb-vshape0

out=$(vivctl start shaped 2>&1)
check "start shaped again: the stored definition (outbound 2048)" contains "$out" "Domain shaped started"
check "the host side has its address" wait_until 60 host_side_up
rate=$(measure out 6)
check "outbound 2048 KiB/s from --config: container -> host at $rate B/s" within10 "$rate" 2048
id=$(vivctl domid shaped 2>&1)
in_host kill -9 "$id"
check "after kill -9 of the helper the container is shut off" wait_until 60 is_state shaped "shut off"
check "... and no ifb-vshape0 is left" wait_until 60 no_link ifb-vshape0
check "... nor vshape0" no_link vshape0
vivctl undefine shaped >/dev/null 2>&1

# <bandwidth> on a direct interface: no host-side device to shape (libvirt
# refuses it at start too)
in_host sh -c 'ip link add mvp0 type veth peer name mvp1 && ip link set mvp0 up'
write_xml direct "exec sleep 100000" \
	"<interface type='direct'><source dev='mvp0' mode='bridge'/><bandwidth><inbound average='100'/></bandwidth></interface>"
out=$(vivctl create "$work/direct.xml" 2>&1)
check "bandwidth on a direct interface fails the start" contains "$out" "Cannot set the bandwidth of direct interface on 'mvp0' of container 'direct'"

# ============================================================================
echo "# send-process-signal"
cat >"$work/sig.sh" <<'SH'
trap 'echo GOT-USR1' USR1
trap 'echo GOT-HUP' HUP
sleep 100000 &
child=$!
echo "CHILD=$child"
# a trapped signal interrupts wait: poll, then collect the status
while kill -0 $child 2>/dev/null; do sleep 0.2; done
wait $child
echo "CHILD-STATUS=$?"
while :; do sleep 0.2; done
SH
write_xml sig "exec /bin/sh $work/sig.sh"
out=$(vivctl send-process-signal sig 1 SIGUSR1 2>&1)
check "a container that does not exist" contains "$out" "error: failed to get domain 'sig'"
vivctl define "$work/sig.xml" >/dev/null 2>&1
out=$(vivctl send-process-signal sig 1 SIGUSR1 2>&1)
check "a container that is not running" contains "$out" "Container 'sig' is not running"
out=$(vivctl start sig 2>&1)
check "start sig" contains "$out" "Domain sig started"
check "sig's init started its child" wait_journal sig "CHILD="
child=$(journal sig | sed -n 's/^CHILD=\([0-9]*\).*/\1/p' | tail -1)
out=$(vivctl send-process-signal sig 1 SIGUSR1 2>&1)
check "SIGUSR1 to PID 1 prints nothing" same "$out" ""
check "init got SIGUSR1" wait_journal sig "GOT-USR1"
out=$(vivctl send-process-signal sig 1 1 2>&1)
check "signal 1 (a number) to PID 1" same "$out" ""
check "init got SIGHUP" wait_journal sig "GOT-HUP"
out=$(vivctl send-process-signal sig 1 SIGFOO 2>&1)
check "a bad signal name" contains "$out" "error: malformed signal name: SIGFOO"
out=$(vivctl send-process-signal sig 1 99 2>&1)
check "a signal number out of range" contains "$out" "Signal number 99 is out of range"
out=$(vivctl send-process-signal sig 4242 term 2>&1)
check "a PID that does not exist in the container" contains "$out" "No process with PID 4242 in container 'sig'"
host_pid=$(in_host systemctl show -P MainPID vivariumd.service)
out=$(vivctl send-process-signal sig "$host_pid" nop 2>&1)
check "a host PID is not a container PID ($host_pid)" contains "$out" "No process with PID $host_pid in container 'sig'"
out=$(vivctl send-process-signal sig "$child" term 2>&1)
check "'term' to the child, PID $child in the container" same "$out" ""
check "the child died of SIGTERM (status 143)" wait_journal sig "CHILD-STATUS=143"
out=$(vivctl send-process-signal sig 1 kill 2>&1)
check "SIGKILL to init" same "$out" ""
check "... stops the container" wait_until 60 is_state sig "shut off"
vivctl undefine sig >/dev/null 2>&1

# ============================================================================
echo "# hooks"
in_host mkdir -p /etc/vivarium/hooks/lxc.d
# The main script logs its arguments and stdin's first line; it refuses
# "hkfail" at prepare with a message, and hangs for "hkslow".
cat >"$work/hook-main" <<'SH'
#!/bin/sh
read -r first
echo "main $*|$first" >>/run/vt-hooks.log
case "$1 $2" in
"hkfail prepare") echo "no room for hkfail today" >&2; exit 1 ;;
"hkslow prepare") sleep 1000 ;;
"hkrc reconnect") echo "hkrc must not survive a restart" >&2; exit 1 ;;
esac
exit 0
SH
cat >"$work/hook-d" <<'SH'
#!/bin/sh
echo "d10 $*|$(grep -c '<name>' -)" >>/run/vt-hooks.log
SH
in_host install -m 755 "$work/hook-main" /etc/vivarium/hooks/lxc
in_host install -m 755 "$work/hook-d" /etc/vivarium/hooks/lxc.d/10-count
in_host install -m 644 "$work/hook-d" /etc/vivarium/hooks/lxc.d/20-not-executable
hooklog() { in_host cat /run/vt-hooks.log 2>/dev/null; }

write_xml hk "exec sleep 100000"
vivctl define "$work/hk.xml" >/dev/null 2>&1
in_host rm -f /run/vt-hooks.log
out=$(vivctl start hk 2>&1)
check "start hk with hooks" contains "$out" "Domain hk started"
id=$(vivctl domid hk 2>&1)
# the live XML: its picked user namespace is <vivarium:userns mode='pick'/>
live="<domain type='lxc' id='$id' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>"
check "prepare, start, started: main script then lxc.d, XML on stdin" same "$(hooklog)" \
"main hk prepare begin -|<domain type='lxc'>
d10 hk prepare begin -|1
main hk start begin -|$live
d10 hk start begin -|1
main hk started begin -|$live
d10 hk started begin -|1"

in_host rm -f /run/vt-hooks.log
in_host systemctl restart vivariumd.service
vivctl list >/dev/null 2>&1
check "a restarted manager runs reconnect for the adopted container" same "$(hooklog)" \
"main hk reconnect begin -|$live
d10 hk reconnect begin -|1"
check "... which keeps running" is_state hk running

in_host rm -f /run/vt-hooks.log
vivctl destroy hk >/dev/null 2>&1
check "destroy: stopped, then release with the reason" same "$(hooklog)" \
"main hk stopped end -|$live
d10 hk stopped end -|1
main hk release end destroyed|<domain type='lxc'>
d10 hk release end destroyed|1"
vivctl undefine hk >/dev/null 2>&1

write_xml hkfail "exec sleep 100000"
vivctl define "$work/hkfail.xml" >/dev/null 2>&1
in_host rm -f /run/vt-hooks.log
out=$(vivctl start hkfail 2>&1)
check "a failing prepare hook refuses the start with its output" \
	contains "$out" "Hook script '/etc/vivarium/hooks/lxc' (prepare begin) failed with exit status 1: no room for hkfail today"
check "... the lxc.d scripts still ran (as libvirt)" contains "$(hooklog)" "d10 hkfail prepare begin -|1"
check "... and nothing else did" lacks "$(hooklog)" "hkfail start"
check "... hkfail is shut off" is_state hkfail "shut off"
check "... no scope" [ -z "$(in_host systemctl list-units --all --no-legend 'machine-hkfail*' 2>&1)" ]
check "... no live XML, socket or ifaces file" [ -z "$(in_host ls /run/vivarium/containers/ | grep hkfail)" ]
check "... no helper" [ -z "$(in_host ps -eo args | grep 'vivarium-helper --name hkfail' | grep -v grep)" ]
vivctl undefine hkfail >/dev/null 2>&1

# a start that fails after prepare: stopped and release (reason "failed") follow
cat >"$work/hkinit.xml" <<'XML'
<domain type='lxc'>
  <name>hkinit</name>
  <memory>102400</memory>
  <os><type>exe</type><init>/nonexistent/init</init></os>
  <devices><console type='pty'/></devices>
</domain>
XML
vivctl define "$work/hkinit.xml" >/dev/null 2>&1
in_host rm -f /run/vt-hooks.log
out=$(vivctl start hkinit 2>&1)
check "hkinit fails to start (no init)" contains "$out" "/nonexistent/init"
# the error is answered first, release runs after it
released() { contains "$(hooklog)" "d10 hkinit release end failed" 2>/dev/null; }
wait_until 60 released
out=$(hooklog | sed 's/|.*//')
check "a failed start: prepare, start, then stopped and release 'failed'" same "$out" \
"main hkinit prepare begin -
d10 hkinit prepare begin -
main hkinit start begin -
d10 hkinit start begin -
main hkinit stopped end -
d10 hkinit stopped end -
main hkinit release end failed
d10 hkinit release end failed"
vivctl undefine hkinit >/dev/null 2>&1

# a reconnect hook that fails has the container destroyed (as libvirt)
write_xml hkrc "exec sleep 100000"
vivctl define "$work/hkrc.xml" >/dev/null 2>&1
out=$(vivctl start hkrc 2>&1)
check "start hkrc" contains "$out" "Domain hkrc started"
in_host systemctl restart vivariumd.service
vivctl list >/dev/null 2>&1
check "a failing reconnect hook destroys the adopted container" wait_until 60 is_state hkrc "shut off"
vivctl undefine hkrc >/dev/null 2>&1

write_xml hkslow "exec sleep 100000"
vivctl define "$work/hkslow.xml" >/dev/null 2>&1
out=$(vivctl start hkslow 2>&1)
check "a hook that hangs is killed after the timeout (3 s here) and fails the start" \
	contains "$out" "Hook script '/etc/vivarium/hooks/lxc' (prepare begin) did not finish within 3 s"
check "... its sleep is gone with it" [ -z "$(in_host ps -eo args | grep '^sleep 1000$')" ]
check "... the manager answers" contains "$(vivctl list --all 2>&1)" "hkslow"
vivctl undefine hkslow >/dev/null 2>&1
in_host rm -rf /etc/vivarium/hooks

echo "1..$n"
[ "$failures" -eq 0 ]
