#!/bin/bash
# A whole Debian booted by systemd as init in a Vivarium container, in a test
# host, in the DEFAULT mode: its own user namespace (a picked range), no
# <capabilities>, nothing beyond the default set. The root from tools/mkroot
# (cached between runs, keyed by its package list; a cold build takes a few
# minutes) is copied to a tmpfs of the test host (/srv, TESTHOST_TMPFS): the
# host's overlay cannot be idmapped. Checks: systemd's container interface,
# `running` with nothing failed, the console's login prompt, machinectl shell /
# login / systemd-run -M / systemctl -M through machined, the journal, DHCP on
# the default network (the address domifaddr shows), the attack suite
# (tests/lib/security.sh) as root inside, a manager restart under a running
# OS, a clean reboot (vivctl reboot and systemctl reboot with on_reboot), a
# clean shutdown and nothing left behind; then <vivarium:userns mode='off'/>:
# refused without sys_admin, saying why, and booting with it.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

if ! why=$(testhost_preflight); then
	testhost_skip_or_fail "$why"
fi
build=${VIVARIUM_BUILD_DIR:-}
if [ -z "$build" ] || [ ! -x "$build/src/helper/vivarium-helper" ] || [ ! -x "$build/src/manager/vivariumd" ] ||
	[ ! -x "$build/src/ctl/vivctl" ] || [ ! -x "$build/tests/security-probe" ]; then
	testhost_skip_or_fail "helper, vivariumd, vivctl or tests/security-probe not built (VIVARIUM_BUILD_DIR='$build')"
fi
testhost_require_tools mmdebstrap

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/security.sh
. "$here/lib/security.sh"
in_host() { testhost_run "$@"; }
unit_gone() { [ "$(in_host systemctl is-active machine-os.scope 2>/dev/null)" != active ]; }
inside() { in_host vivctl enter os -- "$@"; }
fails() { not quiet "$@"; }
# session DESCRIPTION STEPS COMMAND...: a terminal session in the test host
# (tests/lib/ptyexpect.py), its end shown when it failed
session() {
	local d=$1 steps=$2 out rc
	shift 2
	out=$(in_host python3 "$here/lib/ptyexpect.py" --timeout 30 "$steps" -- "$@" 2>&1)
	rc=$?
	check "$d" [ $rc -eq 0 ]
	[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -20 | sed 's/^/#  /'
}

# --- the root: built once, then reused ---
root=$("$here/../tools/mkroot" 2>"${TMPDIR:-/tmp}/vt-mkroot.$$.log")
rc=$?
if [ $rc -ne 0 ] || [ ! -x "$root/lib/systemd/systemd" ]; then
	sed 's/^/#  /' "${TMPDIR:-/tmp}/vt-mkroot.$$.log" | tail -20
	rm -f "${TMPDIR:-/tmp}/vt-mkroot.$$.log"
	echo "not ok 1 - tools/mkroot built a root with systemd"
	echo "1..1"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/vt-mkroot.$$.log"
ok "tools/mkroot: a Debian root with systemd at $root"
again=$("$here/../tools/mkroot" 2>&1)
check "tools/mkroot again: the cached root, no build" [ "$again" = "$root" ]

work=$(mktemp -d /tmp/vt-fullos.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_boot "vt-fullos-$$" || testhost_skip_or_fail "the test host did not boot"
testhost_install "$build" >/dev/null || { echo "not ok - install into the test host"; exit 1; }
# The container's root: a copy of the cached one on a tmpfs of the test host
# (the default user namespace idmaps it; the host's overlay cannot be), so
# what the booted system writes never reaches the cache.
cached=$root
root=/srv/os
check "the root is copied to a tmpfs in the test host" in_host cp -a "$cached" "$root"
# The attack suite's probe, bound in at /probe, and two host nodes at
# /hostnodes (the host's /dev: a tmpfs without nodev; opened here first, so a
# refusal inside is the container's policy, not the node)
in_host sh -c 'mkdir -p /srv/probe/out /dev/vt-nodes && mknod /dev/vt-nodes/loop0 b 7 0 && mknod /dev/vt-nodes/loop-control c 10 237'
check "the host nodes open outside a container" in_host sh -c 'exec 3</dev/vt-nodes/loop0 4</dev/vt-nodes/loop-control'
in_host bash -c ". '$here/lib/check.sh'; . '$here/lib/security.sh'; security_probe_install '$build/tests/security-probe' /srv/probe '$root'"

uuid=6f7d1c1e-8a0b-4c55-9d7e-2b1d7f3a9c01
mac=52:54:00:0f:05:01
# Without a user namespace the seccomp filter denies mounting unless sys_admin
# is turned on explicitly; systemd as init needs to mount.
mounts="<features><capabilities policy='default'><sys_admin state='on'/></capabilities></features>"
xml() { # NAME [EXTRA ELEMENTS [INIT]]: the default mode, nothing but the OS's needs
	cat <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>512</memory>
  ${2:-}
  <os>
    <type>exe</type>
    <init>${3:-/sbin/init}</init>
  </os>
  <devices>
    <filesystem type='mount'><source dir='$root'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='/srv/probe'/><target dir='/probe'/></filesystem>
    <filesystem type='mount'><source dir='/dev/vt-nodes'/><target dir='/hostnodes'/></filesystem>
    <filesystem type='ram'><source usage='0'/><target dir='/ram'/></filesystem>
    <interface type='network'><mac address='$mac'/><source network='default'/></interface>
    <console type='pty'/>
  </devices>
</domain>
XML
}
# The default network is started by the manager's first activation, in the
# background: a start before it is up fails with "Network 'default' is not
# active" (the manager's, not this test's business).
net_active() { in_host vivctl net-info default 2>/dev/null | grep -Eq '^Active: +yes'; }
in_host vivctl net-list >/dev/null 2>&1
check "the default network is active" wait_until 60 net_active

# <vivarium:notify/>: start returns once systemd said READY=1, i.e. booted
xml os "<vivarium:notify timeout='240'/>" | in_host sh -c 'cat >/root/os.xml'
out=$(in_host vivctl define /root/os.xml 2>&1)
check "define os (no <idmap>, no <vivarium:userns>, no <capabilities>)" contains "$out" "Domain os defined"
out=$(in_host vivctl start os 2>&1)
check "start os" contains "$out" "Domain os started"
if [ "$failures" -ne 0 ]; then  # everything below waits on a booted container
	in_host journalctl -u vivariumd -o cat --no-pager | tail -20 | sed 's/^/#  /'
	echo "1..$n"
	exit 1
fi
state_is() { [ "$(inside systemctl is-system-running 2>/dev/null)" = "$1" ]; }
booted() { local s; s=$(inside systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]; }
check "notify: when start returns, systemd has finished booting" booted
out=$(inside sh -c 'tr "\0" "\n" </proc/1/environ' 2>&1)
check "notify: init has NOTIFY_SOCKET=/run/host/notify" contains "$out" "NOTIFY_SOCKET=/run/host/notify"

# --- the default user namespace: a picked range ---
base=$(in_host vivctl dumpxml os 2>/dev/null | sed -n "s|.*<uid start='0' target='\([0-9]*\)' count='65536'/>.*|\1|p")
check "the live XML shows a picked range" test -n "$base"
leader=$(in_host machinectl show os -p Leader --value 2>/dev/null)
check "init runs as the range's first ID on the host" [ "$(in_host stat -c %u "/proc/${leader:-0}")" = "${base:-x}" ]
out=$(inside cat /proc/self/uid_map 2>&1)
check "root inside is root of the range" [ "$(echo $out)" = "0 ${base:-x} 65536" ]
out=$(inside stat -c '%u:%g' /run /tmp /run/host/notify 2>&1)
check "/run, /tmp and the notify socket belong to the container's root" [ "$out" = "$(printf '0:0\n0:0\n0:0')" ]
out=$(inside grep CapBnd /proc/1/status 2>&1)
check "init's bounding set is the default one (with net_admin: a private network)" \
	contains "$out" "CapBnd:	$(security_capbnd "$(in_host awk '/^CapBnd:/ { print $2 }' /proc/1/status)" privnet)"

if wait_until 180 booted && state_is running; then
	ok "systemd in the container reaches 'running'"
else
	not_ok "systemd in the container reaches 'running' (it says '$(inside systemctl is-system-running 2>&1)')"
	inside systemctl --failed --no-legend --no-pager 2>&1 | sed 's/^/#  failed: /'
	inside systemctl list-jobs --no-legend --no-pager 2>&1 | sed 's/^/#  job: /'
fi
out=$(inside systemctl --failed --no-legend --no-pager 2>&1)
check "no failed unit" [ -z "$out" ]
[ -z "$out" ] || printf '#  %s\n' "$out"

# Units skipped by a condition: only those README's "Run a whole OS" lists as
# not for a container (the same under nspawn -b). Another one means the
# container's world made systemd skip something it should run.
expected_skips="e2scrub_reap.service fstrim.timer getty-static.service getty@tty1.service systemd-binfmt.service
systemd-machine-id-commit.service systemd-pcrphase-sysinit.service systemd-pcrphase.service systemd-pstore.service
systemd-random-seed.service systemd-firstboot.service first-boot-complete.target"
skipped=$(in_host journalctl -M os -b -o cat --no-pager 2>/dev/null |
	sed -n 's/^\([^ ]*\) - .* was skipped because of an unmet condition check.*/\1/p' | sort -u)
unexpected=$(comm -23 <(printf '%s\n' $skipped) <(printf '%s\n' $expected_skips | sort))
only_documented() { [ -n "$skipped" ] && [ -z "$unexpected" ]; }
check "units skipped by a condition: only the documented ones (unexpected: ${unexpected:-none})" only_documented
only_documented || in_host journalctl -M os -b -o cat --no-pager 2>/dev/null | grep "unmet condition" | sed 's/^/#  /'
# --- systemd's container interface ---
out=$(inside systemd-detect-virt 2>&1)
check "systemd-detect-virt: container-other (\$container=vivarium)" [ "$out" = container-other ]
out=$(inside sh -c 'tr "\0" "\n" </proc/1/environ' 2>&1)
check "init's environment has container=vivarium" contains "$out" "container=vivarium"
check "init's environment has container_uuid" contains "$out" "container_uuid=$uuid"
out=$(inside cat /etc/machine-id 2>&1)
check "/etc/machine-id is the container's uuid" [ "$out" = "${uuid//-/}" ]
check "/run is a tmpfs" [ "$(inside findmnt -n -o FSTYPE /run 2>&1)" = tmpfs ]
check "/tmp is a tmpfs" [ "$(inside findmnt -n -o FSTYPE /tmp 2>&1)" = tmpfs ]
out=$(inside cat /run/host/os-release 2>&1)
check "/run/host/os-release is the host's" [ "$out" = "$(in_host cat /etc/os-release)" ]
check "/run/host/os-release is read-only" fails inside sh -c 'echo x >>/run/host/os-release'
if [ "$(in_host stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	out=$(inside cat /sys/fs/cgroup/init.scope/cgroup.procs 2>&1)
	# PID 1 among its processes (vivctl enter joins init's cgroup: the command
	# reading the file may be listed there too)
	grep -qx 1 <<<"$out" || sed 's/^/#   init.scope: /' <<<"$out"
	check "cgroup2: systemd made init.scope in its own tree, with itself" grep -qx 1 <<<"$out"
else
	out=$(inside cat /sys/fs/cgroup/systemd/init.scope/cgroup.procs 2>&1)
	check "hybrid: systemd made init.scope in name=systemd, with itself" grep -qx 1 <<<"$out"
	out=$(inside cat /sys/fs/cgroup/unified/init.scope/cgroup.procs 2>&1)
	check "hybrid: and in the cgroup2 on unified/" grep -qx 1 <<<"$out"
	out=$(in_host sh -c 'cat /sys/fs/cgroup/systemd/machine.slice/machine-os.scope/payload/init.scope/cgroup.procs' 2>&1)
	check "hybrid: the container's init.scope is below the scope's payload/ on the host" grep -Eqx '[0-9]+' <<<"$out"
	out=$(inside findmnt -n -o OPTIONS /sys/fs/cgroup/memory 2>&1)
	check "hybrid: v1 controllers are read-only" contains "$out" "ro,"
	check "hybrid: /sys/fs/cgroup itself is read-only" fails inside mkdir /sys/fs/cgroup/x
fi

# --- /dev/net/tun: a whole OS with its own network has one, as under nspawn -b ---
check "/dev/net/tun is a device node in the container" inside test -c /dev/net/tun
out=$(inside stat -c '%F %u:%g' /dev/net/tun 2>&1)
check "... owned by the container's root" [ "$out" = "character special file 0:0" ]
out=$(in_host systemctl show -p DeviceAllow --value machine-os.scope 2>&1)
check "the scope's DeviceAllow has /dev/net/tun" contains "$out" "/dev/net/tun rwm"
check "ip tuntap add: a tap interface made in the container" inside ip tuntap add dev vt-tap0 mode tap
check "... it is the container's" inside ip link show vt-tap0
check "... not the host's" fails in_host ip link show vt-tap0
inside ip tuntap del dev vt-tap0 mode tap >/dev/null 2>&1

# --- the console: getty's login prompt, and a login (root has no password) ---
cat >"$work/console.steps" <<'STEPS'
expect Connected to domain os
raw
sendraw \r
expect os login:
send root
expect root@os:~#
send echo console-login-as-$(id -un)-on-$(tty)
expect console-login-as-root-on-/dev/console
send exit
expect os login:
sendraw \x1d
eof
STEPS
session "vivctl console os: console-getty's prompt, root logs in, a command runs, logout" \
	"$work/console.steps" vivctl console os

# --- machined: machinectl, systemctl -M, systemd-run -M ---
out=$(in_host machinectl list --no-legend --no-pager 2>&1)
check "machinectl list: os, a vivarium container" contains "$out" "os container vivarium"
out=$(in_host machinectl status os --no-pager 2>&1)
check "machinectl status os: the OS" contains "$out" "OS: Debian GNU/Linux 12"
out=$(in_host systemctl -M os is-system-running 2>&1)
check "systemctl -M os is-system-running: running" [ "$out" = running ]
out=$(in_host timeout 60 machinectl shell os /bin/sh -c 'echo shell-$((6*7)) in $(hostname)' 2>&1)
check "machinectl shell os runs a command in it" contains "$out" "shell-42 in os"
# machinectl login: machined asks the container's systemd (over its bus) for
# container-getty@N.service on a pty it allocated in the container's devpts
cat >"$work/login.steps" <<'STEPS'
expect Connected to machine os
expect os login:
send root
expect root@os:~#
send echo machinectl-login-as-$(id -un)-on-$(tty)
expect machinectl-login-as-root-on-/dev/pts/[0-9]
send exit
expect os login:
sendraw \x1d\x1d\x1d
eof
STEPS
session "machinectl login os: getty's prompt, root logs in on a pty, a command runs, logout" \
	"$work/login.steps" machinectl login os
check "... and the container is still 'running' after the session (no failed getty)" wait_until 30 state_is running
check "systemd-run -M os --wait /bin/true" in_host timeout 60 systemd-run -M os --wait -q /bin/true
# (collected when it fails: a failed unit would leave the system 'degraded')
check "systemd-run -M os --wait /bin/false fails" fails in_host timeout 60 systemd-run -M os --wait -q -p CollectMode=inactive-or-failed /bin/false

# --- the journal: journalctl -M through machined, and linked into the host's ---
mid=${uuid//-/}
marker="vt-fullos-journal-$$"
inside systemd-cat -t vt-marker echo "$marker" >/dev/null 2>&1
in_journal() { in_host journalctl "$@" -t vt-marker -o cat --no-pager 2>/dev/null | grep -qx "$marker"; }
check "journalctl -M os: a message logged in the container" wait_until 30 in_journal -M os
check "journalctl --machine=os" in_journal --machine=os
out=$(in_host readlink "/var/log/journal/$mid" 2>&1)
check "the host's /var/log/journal/$mid links to the container's journal" [ "$out" = "$root/var/log/journal/$mid" ]
check "... where the container's journald keeps it" wait_until 30 in_host sh -c "ls /var/log/journal/$mid/ | grep -q '^system'"
check "journalctl -D /var/log/journal/$mid on the host" wait_until 30 in_journal -D "/var/log/journal/$mid"
check "journalctl -m on the host merges it" in_journal -m

# --- the network: DHCP from the default network's dnsmasq ---
has_lease() { inside ip -4 -o addr show dev eth0 2>/dev/null | grep -q 'inet 192\.168\..* dynamic'; }
check "eth0 got an address by DHCP (systemd-networkd)" wait_until 120 has_lease
addr=$(inside ip -4 -o addr show dev eth0 2>/dev/null | awk '{ print $4; exit }')
out=$(inside networkctl status eth0 --no-pager 2>&1)
check "networkd: eth0 is configured, its address from DHCPv4" eval 'contains "$out" "State: routable (configured)" && contains "$out" "${addr%/*} (DHCP4 via"'
out=$(in_host vivctl domifaddr os 2>&1)
check "vivctl domifaddr os shows that address ($addr) with the container's MAC" \
	grep -Eq "^ vnet[0-9]+ +$mac +ipv4 +${addr:-none}\$" <<<"$out"
gw=$(in_host vivctl net-dumpxml default | sed -n "s/.*<ip address='\([^']*\)'.*/\1/p")
check "the container pings the network's gateway $gw" inside ping -c1 -W5 "$gw"
check "the host (the bridge) pings the container's ${addr%/*}" in_host busybox ping -c1 -W5 "${addr%/*}"

# --- the attack suite as root inside the booted OS: every attack fails, as
# in a plain default container (victim: this container's own files) ---
capbnd=$(security_capbnd "$(in_host awk '/^CapBnd:/ { print $2 }' /proc/1/status)" privnet)
inside /probe/security-probe os /probe/out/enter >/dev/null 2>&1
in_host cat /srv/probe/out/enter >"$work/enter.out" 2>/dev/null
security_judge "vivctl enter os" "$work/enter.out" "$capbnd"
in_host timeout 120 machinectl shell os /probe/security-probe os /probe/out/shell >/dev/null 2>&1
in_host cat /srv/probe/out/shell >"$work/shell.out" 2>/dev/null
security_judge "machinectl shell os (a process of the container's systemd)" "$work/shell.out" "$capbnd"
check "... as root of the container" grep -q '^info CapBnd [0-9a-f]* uid 0$' "$work/shell.out"
# a process the probe moved to the root of its cgroup namespace stays: the
# host judges where it landed
leader=$(in_host machinectl show os -p Leader --value 2>&1)
check "every process of os is below machine-os.scope, as the host sees it" \
	in_host bash -c "$(declare -f security_contained); security_contained '$leader'"

# --- a manager restart under the running OS ---
init_before=$(in_host machinectl show os -p Leader --value 2>&1)
in_host systemctl restart vivariumd.service
out=$(in_host vivctl list 2>&1)
check "after a manager restart os is still running" grep -Eq '^ *[0-9]+ +os +running' <<<"$out"
check "... the same init" [ "$(in_host machinectl show os -p Leader --value 2>&1)" = "$init_before" ]
check "... and systemd is still running" state_is running

# --- vivctl reboot: systemd reboots cleanly, the container starts again ---
id_before=$(in_host vivctl domid os 2>&1)
out=$(in_host vivctl reboot os 2>&1)
check "vivctl reboot os" contains "$out" "Domain os is being rebooted"
new_id() { local i; i=$(in_host vivctl domid os 2>/dev/null); [ -n "$i" ] && [ "$i" != - ] && [ "$i" != "$id_before" ]; }
check "os runs again with another Id" wait_until 120 new_id
log=$(in_host journalctl -u vivariumd -o cat --no-pager 2>&1)
check "the container's systemd rebooted: init ended by reboot() (129)" contains "$log" "Container 'os' stopped: shutdown, exit code 129."
check "systemd reaches 'running' after the reboot" wait_until 180 state_is running

# --- vivctl shutdown: a clean power-off, nothing left ---
shut_off() { in_host vivctl domstate os 2>/dev/null | grep -q 'shut off'; }
out=$(in_host vivctl shutdown os 2>&1)
check "vivctl shutdown os" contains "$out" "Domain os is being shutdown"
check "os shuts off" wait_until 120 shut_off
log=$(in_host journalctl -u vivariumd -o cat --no-pager 2>&1)
check "systemd halted: init ended with SIGINT (130)" contains "$log" "Container 'os' stopped: shutdown, exit code 130."
check "the scope is gone" wait_until 30 unit_gone
out=$(in_host sh -c 'ls -d /sys/fs/cgroup/*/machine.slice/machine-os.scope /sys/fs/cgroup/machine.slice/machine-os.scope' 2>/dev/null)
check "no cgroup of the container is left" [ -z "$out" ]
check "machined forgot os" fails in_host machinectl show os
check "the container's journal stays readable on the host (journalctl -D)" in_journal -D "/var/log/journal/$mid"
out=$(in_host ip -o link show type veth 2>&1)
check "no veth is left" [ -z "$out" ]
out=$(in_host findmnt -rn -o TARGET 2>&1 | grep -F "$root" || true)
check "no mount of the root in the host" [ -z "$out" ]

# --- systemctl reboot inside, <on_reboot>destroy</on_reboot>: it stays off ---
xml os "<on_reboot>destroy</on_reboot>" | in_host sh -c 'cat >/root/os.xml'
in_host vivctl define /root/os.xml >/dev/null 2>&1
out=$(in_host vivctl start os 2>&1)
check "start os with on_reboot=destroy" contains "$out" "Domain os started"
check "it boots" wait_until 180 state_is running
inside systemctl reboot >/dev/null 2>&1
check "systemctl reboot inside: on_reboot=destroy leaves it shut off" wait_until 120 shut_off
log=$(in_host journalctl -u vivariumd -o cat --no-pager 2>&1)
check "... after init ended by reboot() (129)" [ "$(grep -c "Container 'os' stopped: shutdown, exit code 129." <<<"$log")" = 2 ]
check "... and no restart" [ "$(grep -c "Container 'os' started" <<<"$log")" = 3 ]
check "the scope is gone" wait_until 30 unit_gone
in_host vivctl undefine os >/dev/null 2>&1

# --- notify: an init that never says READY=1 fails the start, nothing left ---
xml os "<vivarium:notify timeout='3'/>" /bin/sleep | sed 's|</os>|<initarg>3600</initarg></os>|' |
	in_host sh -c 'cat >/root/mute.xml'
out=$(in_host vivctl create /root/mute.xml 2>&1)
check "an init without READY=1: the start fails, saying so" contains "$out" "did not report READY=1 on its notify socket within 3 s"
check "... the container is not running" fails in_host vivctl domstate os
check "... its scope is gone" wait_until 30 unit_gone
check "... no veth is left" [ -z "$(in_host ip -o link show type veth 2>&1)" ]

# --- <vivarium:userns mode='off'/>: the host's root, walled by seccomp ---
# Under the mount denial systemd cannot boot: refused at once, saying why.
xml os "<vivarium:userns mode='off'/> <vivarium:notify timeout='240'/>" | in_host sh -c 'cat >/root/off.xml'
out=$(in_host vivctl create /root/off.xml 2>&1)
check "mode='off': systemd as init without sys_admin is refused, saying why" \
	contains "$out" "boots systemd as init, which needs to mount: give it a user namespace (<idmap>), or allow mounting"
check "... nothing left" wait_until 30 unit_gone
# With sys_admin (README's advice), it boots.
xml os "<vivarium:userns mode='off'/> <vivarium:notify timeout='240'/> $mounts" | in_host sh -c 'cat >/root/off.xml'
out=$(in_host vivctl create /root/off.xml 2>&1)
check "mode='off' with sys_admin: start returns once systemd said READY=1" contains "$out" "Domain os created"
check "... systemd reaches 'running'" wait_until 180 state_is running
check "... no user namespace: root inside is the host's" [ "$(echo $(inside cat /proc/self/uid_map 2>&1))" = "0 0 4294967295" ]
in_host vivctl shutdown os >/dev/null 2>&1
check "... vivctl shutdown: off, its scope gone" eval 'wait_until 120 eval "! in_host vivctl domstate os" && wait_until 30 unit_gone'

# --- /dev/net/tun where it is not allowed ---
# Without a private network the scope denies the node, even when a host
# directory holding it is bound in; with one, an application container
# (not a whole OS) gets no node.
app() { # NAME EXTRA-DEVICES EXTRA-FEATURES
	cat <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vivarium:userns mode='off'/>
  <features>${3:-}</features>
  <os><type>exe</type><init>/bin/sleep</init><initarg>600</initarg></os>
  <devices>$2<console type='pty'/></devices>
</domain>
XML
}
app tun-denied "<filesystem type='mount'><source dir='/dev/net'/><target dir='/dev/net'/></filesystem>" |
	in_host sh -c 'cat >/root/tun-denied.xml'
app tun-absent "" "<privnet/>" | in_host sh -c 'cat >/root/tun-absent.xml'
out=$(in_host vivctl create /root/tun-denied.xml 2>&1)
check "an application container without a private network, the host's /dev/net bound in" contains "$out" "created"
out=$(in_host vivctl enter tun-denied -- sh -c 'exec 3<>/dev/net/tun' 2>&1)
check "... opening /dev/net/tun is refused by the scope's device policy" contains "$out" "Operation not permitted"
unit=$(in_host machinectl show tun-denied -p Unit --value 2>&1)
out=$(in_host systemctl show -p DeviceAllow --value "$unit" 2>&1)
check "... its scope ($unit) allows the console but not /dev/net/tun" eval 'contains "$out" "/dev/ptmx rwm" && lacks "$out" "/dev/net/tun"'
out=$(in_host vivctl create /root/tun-absent.xml 2>&1)
check "an application container with a private network" contains "$out" "created"
out=$(in_host vivctl enter tun-absent -- sh -c 'test -e /dev/net/tun && echo tun-present || echo tun-absent' 2>&1)
check "... has no /dev/net/tun" [ "$out" = tun-absent ]
in_host vivctl destroy tun-denied >/dev/null 2>&1
in_host vivctl destroy tun-absent >/dev/null 2>&1

in_host rm -rf /dev/vt-nodes
testhost_teardown || not_ok "test host teardown"
echo "1..$n"
[ "$failures" -eq 0 ]
