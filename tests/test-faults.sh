#!/bin/bash
# Reliability under faults (issue 13): boots a test host, installs the build
# and injects the faults the issue measured, each check failing on the code
# before the fix:
#   - an init that exits at once: its exit status and detail are kept
#     (every case 20 times);
#   - vivariumd killed ten times in a row comes back each time; a manager
#     that cannot be activated is reported at once, naming systemctl status;
#   - the manager killed during a call: vivctl says so and what state the
#     container is in now;
#   - a start right after the default network's autostart waits for it;
#   - a helper killed with SIGKILL leaves no file in /run/vivarium/containers;
#   - definitions over the size limit are refused before parsing, unprivileged
#     callers before reading them;
#   - a bind source that resolves to the host's root is refused.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
quiet() { "$@" >/dev/null; }

work=$(mktemp -d /tmp/vt-faults.XXXXXX)
trap 'rm -rf "$work"' EXIT

name=vt-$$-faults
testhost_up "$name" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

vivctl() { testhost_run vivctl "$@"; }
mainpid() { testhost_run systemctl show -P MainPID vivariumd.service; }
mainpid_is() { [ "$(mainpid)" = "$1" ]; }
# never "kill 0" (an empty or shut-off Id): that is the caller's process group
kill_pid() { # SIGNAL PID
	[ "${2:-0}" -gt 0 ] 2>/dev/null && testhost_run kill "-$1" "$2"
}
journal() { testhost_run journalctl --no-pager -q -u vivariumd.service; }
run_files() { testhost_run ls /run/vivarium/containers/ 2>/dev/null | grep -v '^\.' | tr '\n' ' '; }
no_run_files() { [ -z "$(run_files)" ]; }
# A transient container whose init is /bin/sh -c SCRIPT, in the host's root.
sh_xml() { # NAME SCRIPT [EXTRA-DEVICES]
	cat <<XML
<domain type='lxc'>
  <name>$1</name>
  <memory>102400</memory>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>$2</initarg></os>
  <on_reboot>destroy</on_reboot>
  <devices><console type='pty'/>${3:-}</devices>
</domain>
XML
}
put() { testhost_run tee "$1" >/dev/null; } # PATH < CONTENT

check "vivctl list activates the manager" quiet vivctl list

# --- 2. The exit status of an init that exits at once
# Each case 20 times, in one loop inside the host; a line per run:
# "CASE STATUS". The journal's line per stop gives the detail.
# Signals sent from inside the container to its init (PID 1 of its PID
# namespace) are ignored; a fault's signal is not: SIGSEGV is how an init
# dies at once by a signal. "exit 137" must stay an exit (shutdown), not
# look like a SIGKILL (crashed).
cases="false:1 exit0:0 exit3:3 exit137:137 exit255:255 segv:139"
sh_xml ex-false 'exec /bin/false' | put /tmp/ex-false.xml
sh_xml ex-exit0 'exit 0' | put /tmp/ex-exit0.xml
sh_xml ex-exit3 'exit 3' | put /tmp/ex-exit3.xml
sh_xml ex-exit255 'exit 255' | put /tmp/ex-exit255.xml
sh_xml ex-exit137 'exit 137' | put /tmp/ex-exit137.xml
# a stack limit too small for the dynamic loader: SIGSEGV at exec
sh_xml ex-segv 'ulimit -s 1; exec /bin/true' | put /tmp/ex-segv.xml
testhost_run bash -c '
for c in false exit0 exit3 exit137 exit255 segv; do
	for i in $(seq 20); do
		timeout 60 vivctl create --wait /tmp/ex-$c.xml >/dev/null 2>&1
		echo "$c $?"
	done
done' >"$work/exits"
for cs in $cases; do
	c=${cs%%:*} want=${cs#*:}
	got=$(awk -v c="$c" '$1 == c { print $2 }' "$work/exits" | sort | uniq -c | tr -s ' ' | tr '\n' ';')
	check "init '$c' exiting at once: 20 of 20 runs exit $want (got:$got)" [ "$got" = " 20 $want;" ]
done
jr=$(journal)
count_lines() { grep -c "Container '$1' stopped: $2, exit code $3\." <<<"$jr"; }
check "the journal says 'crashed, exit code 139' 20 times for SIGSEGV" [ "$(count_lines ex-segv crashed 139)" = 20 ]
check "the journal says 'shutdown, exit code 137' 20 times for exit 137" [ "$(count_lines ex-exit137 shutdown 137)" = 20 ]
check "the journal says 'shutdown, exit code 3' 20 times for exit 3" [ "$(count_lines ex-exit3 shutdown 3)" = 20 ]
check "no run file is left by the 120 runs ($(run_files))" [ -z "$(run_files)" ]

# --- 6. A helper killed with SIGKILL leaves no file behind
sh_xml killed 'sleep 1000' "<interface type='ethernet'/>" | put /tmp/killed.xml
check "a container with an interface starts" vivctl create /tmp/killed.xml
id=$(vivctl domid killed 2>/dev/null)
files=$(run_files)
check "while it runs: NAME.xml, .sock, .ifaces, .seccomp ($files)" \
	[ "$files" = "killed.ifaces killed.seccomp killed.sock killed.xml " ]
kill_pid 9 "$id"
check "the manager sees the helper gone" wait_for 100 not testhost_run test -e /run/vivarium/containers/killed.xml
check "no file of the killed helper is left" wait_for 50 no_run_files
# a helper killed while no manager ran: the next one cleans up at adoption
vivctl create /tmp/killed.xml >/dev/null
id=$(vivctl domid killed 2>/dev/null)
testhost_run systemctl stop vivariumd.service
kill_pid 9 "$id"
wait_for 100 not testhost_run kill -0 "$id"
vivctl list >/dev/null
check "a new manager removes the files of a helper killed meanwhile ($(run_files))" [ -z "$(run_files)" ]
# files no run owns at all (no NAME.xml)
testhost_run systemctl stop vivariumd.service
testhost_run touch /run/vivarium/containers/ghost.sock /run/vivarium/containers/ghost.ifaces \
	/run/vivarium/containers/ghost.seccomp /run/vivarium/containers/ghost.exit
vivctl list >/dev/null
check "a new manager removes a helper's files that no run owns ($(run_files))" [ -z "$(run_files)" ]

# --- 7. Very large documents
rss() { testhost_run awk -v k="$1:" '$1 == k { print $2 }' "/proc/$(mainpid)/status"; } # VmRSS|VmHWM, KiB
testhost_run python3 -c '
import sys
def doc(name, pad):
    return ("<domain type=\x27lxc\x27><name>%s</name><description>%s</description><memory>102400</memory>"
            "<os><type>exe</type><init>/bin/sh</init></os></domain>" % (name, "x" * pad))
open("/tmp/huge.xml", "w").write(doc("huge", 30 * 1024 * 1024))
open("/tmp/over.xml", "w").write(doc("over", 1024 * 1024))
open("/tmp/under.xml", "w").write(doc("under", 1000 * 1024))
'
# DefineXML straight over the bus: vivctl refuses such files itself.
define_raw() { # FILE [USER]: prints the D-Bus error name and message, or "ok"
	testhost_run setpriv --reuid="${2:-0}" --regid="${2:-0}" --clear-groups python3 -c '
import sys, dbus
xml = open(sys.argv[1]).read()
m = dbus.Interface(dbus.SystemBus().get_object("org.vivarium1", "/org/vivarium1"), "org.vivarium1.Manager")
try:
    m.DefineXML(xml, timeout=120)
    print("ok")
except dbus.DBusException as e:
    print(e.get_dbus_name(), e.get_dbus_message())' "$1"
}
out=$(vivctl define /tmp/over.xml 2>&1)
check "vivctl refuses to send a definition over 1 MiB" \
	contains "$out" "error: Failed to read file '/tmp/over.xml': larger than the limit of 1048576 bytes (1 MiB) for a definition"
out=$(define_raw /tmp/over.xml)
check "the manager refuses one just over 1 MiB, saying the limit" \
	contains "$out" "org.vivarium1.Error.InvalidConfig (xml):1:1: document is 1048716 bytes, more than the limit of 1048576 bytes (1 MiB)"
check "it accepts one just under" vivctl define /tmp/under.xml
vivctl undefine under >/dev/null 2>&1
rss0=$(rss VmRSS)
out=$(define_raw /tmp/huge.xml)
check "a 30 MiB definition is refused before parsing" contains "$out" "more than the limit of 1048576 bytes"
check "nothing is written for it" not testhost_run test -e /etc/vivarium/containers/huge.xml
out=$(define_raw /tmp/huge.xml 65534)
check "an unprivileged caller's 30 MiB definition is refused for the caller" \
	contains "$out" "org.vivarium1.Error.AccessDenied"
for i in 1 2 3; do
	define_raw /tmp/huge.xml 65534 >/dev/null
done
check "the manager still answers" quiet vivctl list
rss1=$(rss VmRSS)
echo "# manager RSS before the 30 MiB calls ${rss0} KiB, after ${rss1} KiB, peak $(rss VmHWM) KiB"
check "the manager gives the memory of refused 30 MiB calls back (RSS ${rss0} -> ${rss1} KiB)" \
	[ "$rss1" -lt $((rss0 + 8192)) ]

# --- 8. Bind sources
testhost_run mkdir -p /srv/vt
testhost_run ln -sfn / /srv/vt/rootlink
bind_xml() { # NAME SOURCE [readonly]
	sh_xml "$1" 'sleep 1000' "<filesystem type='mount'><source dir='$2'/><target dir='/mnt/host'/>${3:+<readonly/>}</filesystem>"
}
bind_xml rootlink /srv/vt/rootlink | put /tmp/rootlink.xml
out=$(vivctl create /tmp/rootlink.xml 2>&1)
check "a writable bind source that is a symlink to / is refused" \
	contains "$out" "Filesystem source '/srv/vt/rootlink' of container 'rootlink' resolves to the host's root directory '/': refusing to mount it writable"
check "and nothing of it runs ($(run_files))" [ -z "$(run_files)" ]
bind_xml rootdir / | put /tmp/rootdir.xml
out=$(vivctl create /tmp/rootdir.xml 2>&1)
check "a writable bind source '/' is refused" contains "$out" "Filesystem source '/' of container 'rootdir' is the host's root directory '/'"
# mode='off': the source is the test host's / (overlayfs), which cannot be
# idmapped as the default user namespace's bind sources are
bind_xml rootro /srv/vt/rootlink ro |
	sed "s|<domain type='lxc'>|<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'><vivarium:userns mode='off'/>|" |
	put /tmp/rootro.xml
check "read-only, the same source is allowed" vivctl create /tmp/rootro.xml
vivctl destroy rootro >/dev/null 2>&1

# --- 3. The manager killed ten times in a row comes back each time
sh_xml survivor 'sleep 1000' | put /tmp/survivor.xml
quiet vivctl create /tmp/survivor.xml
sid=$(vivctl domid survivor 2>/dev/null)
new_manager() { # OLD-PID: active again under another PID
	local p
	p=$(mainpid)
	[ "$p" != 0 ] && [ "$p" != "$1" ] && testhost_run systemctl -q is-active vivariumd.service
}
back=0
for i in $(seq 10); do
	old=$(mainpid)
	kill_pid 9 "$old"
	# no call in between: it must come back by itself
	wait_for 150 new_manager "$old" && back=$((back + 1))
done
check "killed 10 times in a row, vivariumd came back by itself each time ($back of 10)" [ "$back" = 10 ]
check "a call is answered after the tenth kill" quiet vivctl list
check "the container still runs with the same Id" [ "$(vivctl domid survivor 2>/dev/null)" = "$sid" ]
for i in $(seq 6); do
	testhost_run systemctl restart vivariumd.service
done
check "after 6 quick restarts vivariumd runs" testhost_run systemctl -q is-active vivariumd.service
check "... and answers" quiet vivctl list
quiet vivctl destroy survivor

# A unit that hit its start limit: vivctl says so at once (the bus daemon
# would answer the activation after 25 s with "Connection timed out").
printf '[Unit]\nStartLimitIntervalSec=1h\nStartLimitBurst=1\n' |
	put /run/systemd/system/vivariumd.service.d/limit.conf
testhost_run systemctl daemon-reload
testhost_run systemctl restart vivariumd.service
testhost_run systemctl restart vivariumd.service 2>/dev/null
check "with a start limit of 1, the second restart fails on it" \
	[ "$(testhost_run systemctl show -P Result vivariumd.service)" = start-limit-hit ]
out=$(testhost_run timeout 20 vivctl list 2>&1)
check "vivctl says the manager cannot be started, and where to look" \
	contains "$out" "error: vivariumd.service is failed (start-limit-hit): it was started too often; see 'systemctl status vivariumd'"
testhost_run rm /run/systemd/system/vivariumd.service.d/limit.conf
testhost_run systemctl daemon-reload
testhost_run systemctl reset-failed vivariumd.service
check "after reset-failed vivctl activates it again" quiet vivctl list

# --- 4. The manager killed while it handles a call
# A monitor shows when the call reached the bus daemon's queue for the
# manager, which is stopped (SIGSTOP) so that it cannot answer first.
sh_xml lost 'sleep 1000' | put /tmp/lost.xml
quiet vivctl define /tmp/lost.xml
testhost_run sh -c 'echo $$ >/run/vt-monitor.pid; exec dbus-monitor --system "type=method_call,interface=org.vivarium1.Manager,member=Start"' \
	>"$work/monitor" 2>&1 &
seen() { grep -q "string \"$1\"" "$work/monitor"; }
probe() { vivctl start nosuch >/dev/null 2>&1; seen nosuch; }
check "the monitor sees Start calls" wait_for 100 probe
wait_for 100 not mainpid_is 0
mp=$(mainpid)
kill_pid STOP "$mp"
testhost_run vivctl start lost >"$work/lost.out" 2>&1 &
bg=$!
check "vivctl's Start is on its way to the stopped manager" wait_for 300 seen lost
kill_pid 9 "$mp"
wait "$bg"
rc=$?
out=$(cat "$work/lost.out")
check "vivctl start fails (exit $rc)" [ "$rc" != 0 ]
check "it says the manager did not answer Start" \
	contains "$out" "error: vivariumd did not answer Start ("
check "... not that it failed to connect" not contains "$out" "failed to connect" 2>/dev/null
check "... and the domain's state now, asked again" contains "$out" "error: domain 'lost' is shut off now"
testhost_run sh -c 'kill "$(cat /run/vt-monitor.pid)"'
wait 2>/dev/null
quiet vivctl undefine lost

# --- 5. A start while the default network's autostart is still running
# dnsmasq made slow (3 s before it starts), so that the first manager
# after boot is still starting the default network when the call comes.
printf '#!/bin/sh\nsleep 3\nexec /usr/sbin/dnsmasq "$@"\n' | put /run/vt-slow-dnsmasq
testhost_run chmod 755 /run/vt-slow-dnsmasq
printf '[Service]\nEnvironment=VIVARIUM_DNSMASQ_PATH=/run/vt-slow-dnsmasq\n' |
	put /run/systemd/system/vivariumd.service.d/dnsmasq.conf
testhost_run systemctl daemon-reload
quiet vivctl net-destroy default
testhost_run systemctl stop vivariumd.service
testhost_run rm -f /run/vivarium/networks/.autostart-done
sh_xml netc 'sleep 1000' "<interface type='network'><source network='default'/></interface>" | put /tmp/netc.xml
out=$(testhost_run sh -c 'vivctl define /tmp/netc.xml && vivctl start netc' 2>&1)
check "define + start right after the manager's start, default network still starting ($out)" \
	contains "$out" "Domain netc started"
net_active() { vivctl net-list 2>/dev/null | grep -Eq '^ default +active '; }
check "the default network is active afterwards" wait_for 200 net_active
check "... and serves DHCP (dnsmasq runs)" wait_for 200 testhost_run systemctl -q is-active vivarium-dnsmasq-default.service
quiet vivctl destroy netc
testhost_run rm /run/systemd/system/vivariumd.service.d/dnsmasq.conf
testhost_run systemctl daemon-reload

echo "1..$n"
[ "$failures" -eq 0 ]
