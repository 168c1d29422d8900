#!/bin/bash
# User namespaces (issue 11), in a test host through vivariumd:
# <vivarium:userns mode='pick'/> picks a 65,536-ID range, stable across
# restarts, disjoint from another container's and from a range someone holds
# the lock of, shown in the live XML (not in the stored one); init runs as
# that range's first ID on the host; a file the container's root writes into a
# bind-mounted host directory is host root's on disk (idmapped mount); the
# mounts are locked (remount, umount, fresh proc/sysfs/devtmpfs, cgroup and
# memory limit probes); a root on a filesystem that cannot be idmapped
# (overlayfs) fails with a clear message and leaves nothing; mode='off' runs as
# the host's root with a warning in the journal; an explicit <idmap> starts in
# a host whose /proc is partly covered (the nested proc case); the bus refuses
# CreateXML to the root of a shared-root container; a definition with neither
# <idmap> nor <vivarium:userns> runs in a picked range (the default); the PID, network, IPC,
# UTS and cgroup namespaces belong to the container's user namespace (its root
# configures eth0, writes ip_forward, sets its hostname, reboot -f restarts
# and poweroff -f stops the container).
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

if ! why=$(testhost_preflight); then
	testhost_skip_or_fail "$why"
fi
build=${VIVARIUM_BUILD_DIR:-}
if [ -z "$build" ] || [ ! -x "$build/src/helper/vivarium-helper" ] || [ ! -x "$build/src/manager/vivariumd" ]; then
	testhost_skip_or_fail "helper or vivariumd not built (VIVARIUM_BUILD_DIR='$build')"
fi
if ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
	testhost_skip_or_fail "no static /bin/busybox (busybox-static)"
fi

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
journal_has() { in_host journalctl --no-pager -o cat | grep -qF -- "$1"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
probe_done() { in_host grep -qx done "$1"; }
# leader NAME: the PID of NAME's init on the test host (machined's Leader)
leader() { in_host machinectl show "$1" -p Leader --value 2>/dev/null; }
# runs_as NAME UID: NAME's init runs as UID on the host
runs_as() { local l; l=$(leader "$1"); [ -n "$l" ] && [ "$(in_host stat -c %u "/proc/$l")" = "$2" ]; }
# the base of a running container's picked range, from its live XML
range_of() {
	vivctl dumpxml "$1" 2>/dev/null | sed -n "s|.*<uid start='0' target='\([0-9]*\)' count='65536'/>.*|\1|p"
}

work=$(mktemp -d /tmp/vt-userns.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_boot "vt-userns-$$" || testhost_skip_or_fail "the test host did not boot"
testhost_install "$build" >/dev/null || { echo "not ok - install into the test host"; exit 1; }

# A static busybox root on a tmpfs (idmappable) and one on the host's
# overlayfs root (not), in the test host.
in_host sh -c '
for r in /tmp/ur /var/tmp/ur-overlay; do
	mkdir -p $r/bin $r/tmp
	cp /bin/busybox $r/bin/
	for a in sh id cat tr touch mount umount mkdir sleep ls stat rm ifconfig ip hostname reboot poweroff; do ln -sf busybox $r/bin/$a; done
done
mkdir -p /tmp/ushare /tmp/ushare2 /tmp/busout /tmp/ushare5 /tmp/ushare6
chmod 1777 /tmp/ushare5'

# The nested case: the test host's /proc is not fully visible (something is
# mounted over /proc/sys), as nspawn, LXC and Kubernetes leave it; the kernel
# refuses a new proc to a user namespace's root there.
check "the test host's /proc is partly covered" in_host sh -c 'findmnt -rn -o TARGET | grep -q "^/proc/"'

probes='r=/share/probe
{
echo "id=$(id -u):$(id -g)"
echo "map=$(tr -s " " </proc/self/uid_map)"
touch /share/made-inside && echo touched
mount -o remount,rw /proc/sys 2>/dev/null && echo procsys-remount-ok || echo procsys-remount-refused
mount -o remount,bind,rw /proc/sys 2>/dev/null && echo procsys-bindremount-ok || echo procsys-bindremount-refused
umount /proc/sys 2>/dev/null && echo procsys-umount-ok || echo procsys-umount-refused
umount -l /proc/sys 2>/dev/null && echo procsys-lazyumount-ok || echo procsys-lazyumount-refused
mkdir -p /tmp/p /tmp/s
if mount -t proc proc /tmp/p 2>/dev/null; then
	v=$(cat /tmp/p/sys/kernel/core_pattern)
	(echo "$v" >/tmp/p/sys/kernel/core_pattern) 2>/dev/null && echo freshproc-writable || echo freshproc-readonly
else
	echo freshproc-refused
fi
v=$(cat /proc/sys/kernel/core_pattern)
(echo "$v" >/proc/sys/kernel/core_pattern) 2>/dev/null && echo corepattern-writable || echo corepattern-refused
mount -t sysfs sysfs /tmp/s 2>/dev/null && echo sysfs-mounted || echo sysfs-refused
mount -t devtmpfs devtmpfs /tmp/s 2>/dev/null && echo devtmpfs-mounted || echo devtmpfs-refused
mount -o remount,rw /sys 2>/dev/null && echo sys-remount-ok || echo sys-remount-refused
cg=/sys/fs/cgroup/memory
[ -d $cg ] || cg=/sys/fs/cgroup
mount -o remount,rw $cg 2>/dev/null && echo cgroup-remount-ok || echo cgroup-remount-refused
f=$(ls $cg/machine.slice/machine-$LIBVIRT_LXC_NAME.scope/memory.limit_in_bytes $cg/memory.max 2>/dev/null | head -1)
echo "limitfile=$f"
l=$(cat "$f")
echo "limitvalue=$l"
(echo "$l" >"$f") 2>/dev/null && echo memlimit-writable || echo memlimit-refused
echo done
} >$r 2>&1
exec sleep 600'
probes_xml=$(xml_escape "$probes")

# domain NAME UUID ROOT SHARE EXTRA: a private-root container running the probes
domain() {
	cat >"$work/$1.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory>102400</memory>
  $5
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>-c</initarg>
    <initarg>$probes_xml</initarg>
  </os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='$3'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='$4'/><target dir='/share'/></filesystem>
  </devices>
</domain>
XML
}

# create_and_probe NAME SHARE WHAT: creates NAME and waits for its probes in
# SHARE (the host's side of its /share); $probe holds them
create_and_probe() {
	in_host rm -f "$2/probe"
	out=$(vivctl create "$work/$1.xml" 2>&1)
	check "$3 starts" contains "$out" "Domain $1 created"
	check "$3: its probes ran" wait_for 300 probe_done "$2/probe"
	probe=$(in_host cat "$2/probe" 2>&1)
}

# --- a picked range: private root, bind mount, locked mounts ---
domain p1 11111111-2222-4333-8444-555555555501 /tmp/ur /tmp/ushare "<vivarium:userns mode='pick'/>"
out=$(vivctl define "$work/p1.xml" 2>&1 && vivctl start p1 2>&1)
check "a picked-range container starts in a host with a covered /proc" contains "$out" "Domain p1 started"
check "its probes ran" wait_for 300 probe_done /tmp/ushare/probe
probe=$(in_host cat /tmp/ushare/probe 2>&1)
base=$(range_of p1)
check "the live XML shows the picked range" [ -n "$base" ]
check "the range lies in Vivarium's span, aligned" \
	test "${base:-0}" -ge $((0x70000000)) -a "${base:-0}" -lt $((0x7FFE0000)) -a $((${base:-1} % 65536)) -eq 0
live=$(vivctl dumpxml p1 2>&1)
check "the live XML keeps mode='pick'" contains "$live" "<vivarium:userns mode='pick'/>"
stored=$(vivctl dumpxml --inactive p1 2>&1)
check "the stored definition has no idmap" lacks "$stored" "<idmap>"
check "root inside" contains "$probe" "id=0:0"
check "/proc/self/uid_map inside maps 0 to the range" contains "$probe" "map= 0 ${base:-x} 65536"
check "init runs as the range's first ID on the host" runs_as p1 "${base:-x}"
check "machinectl status works" in_host machinectl status p1 --no-pager
payload=$(in_host sh -c 'ls -d /sys/fs/cgroup/unified/machine.slice/machine-p1.scope/payload /sys/fs/cgroup/machine.slice/machine-p1.scope/payload 2>/dev/null | head -1')
check "the cgroup2 payload/ is delegated to the container's root" \
	test -n "$payload" -a "$(in_host stat -c %u "${payload:-/nonexistent}" "$payload/cgroup.procs" | sort -u)" = "${base:-x}"
out=$(vivctl enter p1 -- /bin/sh -c 'id -u; tr -s " " </proc/self/uid_map; touch /share/entered && echo entered' 2>&1)
check "vivctl enter runs as the container's root" contains "$out" " 0 ${base:-x} 65536"
check "... and writes through the idmapped mount" contains "$out" "entered"
check "the container's root wrote into the bind mount" contains "$probe" "touched"
check "that file is host root's on disk" [ "$(in_host stat -c %u:%g /tmp/ushare/made-inside)" = 0:0 ]
check "the range is locked while p1 runs" not in_host flock -n "/run/vivarium/userns/${base:-x}.lock" true
for p in procsys-remount procsys-bindremount procsys-umount procsys-lazyumount; do
	check "$p refused" contains "$probe" "$p-refused"
done
check "a fresh proc is refused or shows nothing writable" \
	bash -c '[[ "$1" == *freshproc-refused* || "$1" == *freshproc-readonly* ]]' _ "$probe"
check "core_pattern is not writable" contains "$probe" "corepattern-refused"
check "sysfs cannot be mounted" contains "$probe" "sysfs-refused"
check "devtmpfs cannot be mounted" contains "$probe" "devtmpfs-refused"
check "/sys cannot be remounted read-write" contains "$probe" "sys-remount-refused"
check "the cgroup tree cannot be remounted read-write" contains "$probe" "cgroup-remount-refused"
check "the container found its memory limit file" grep -q "limitfile=/" <<<"$probe"
# <memory>102400</memory> KiB: on cgroup2 the file is payload/memory.max, the
# root of its cgroup tree, where the scope's limit is mirrored
check "... which holds its <memory>, 100 MiB" grep -qx "limitvalue=104857600" <<<"$probe"
check "it cannot write its own memory limit" contains "$probe" "memlimit-refused"

# stable across restarts, and released when stopped
vivctl destroy p1 >/dev/null 2>&1
check "the lock is released when p1 stops" wait_for 100 in_host flock -n "/run/vivarium/userns/$base.lock" true
in_host rm -f /tmp/ushare/probe
out=$(vivctl start p1 2>&1)
check "p1 starts again" contains "$out" "Domain p1 started"
check "p1 gets the same range again" [ "$(range_of p1)" = "$base" ]

# --- a second container: another range; a held lock is skipped ---
domain p2 11111111-2222-4333-8444-555555555502 /tmp/ur /tmp/ushare2 "<vivarium:userns mode='pick'/>"
vivctl define "$work/p2.xml" >/dev/null 2>&1
out=$(vivctl start p2 2>&1)
check "p2 starts beside p1" contains "$out" "Domain p2 started"
base2=$(range_of p2)
check "p1 and p2 have disjoint ranges" \
	test -n "$base2" -a $(( ${base2:-0} > base ? ${base2:-0} - base : base - ${base2:-0} )) -ge 65536
vivctl destroy p2 >/dev/null 2>&1
holder=$(in_host sh -c "flock -n /run/vivarium/userns/$base2.lock sleep 600 </dev/null >/dev/null 2>&1 & echo \$!")
check "someone else holds p2's range" wait_for 100 not in_host flock -n "/run/vivarium/userns/$base2.lock" true
out=$(vivctl start p2 2>&1)
check "p2 starts while its range is held" contains "$out" "Domain p2 started"
other=$(range_of p2)
check "and gets another one" test -n "$other" -a "$other" != "$base2" -a "$other" != "$base"
in_host kill "$holder"
vivctl destroy p2 >/dev/null 2>&1

# --- a foreground helper (no manager) picks and locks a range itself ---
cat >"$work/fg.xml" <<'XML'
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>fg</name>
  <uuid>11111111-2222-4333-8444-555555555501</uuid>
  <vivarium:userns mode='pick'/>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>tr -s ' ' &lt;/proc/self/uid_map</initarg></os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='/tmp/ur'/><target dir='/'/></filesystem>
  </devices>
</domain>
XML
out=$(in_host timeout 60 /usr/libexec/vivarium/vivarium-helper --name fg --xml "$work/fg.xml" --foreground </dev/null 2>&1)
fgbase=$(sed -n 's/^ 0 \([0-9]*\) 65536.*/\1/p' <<<"$out" | head -1)
check "a foreground helper picks a range itself" test -n "$fgbase"
check "it skips the range that p1 (same UUID, running) holds" test -n "$fgbase" -a "$fgbase" != "$base"
vivctl destroy p1 >/dev/null 2>&1

# --- a root that cannot be idmapped: a clear error, nothing left ---
mounts_before=$(in_host findmnt -rn -o TARGET,SOURCE | sort)
domain p3 11111111-2222-4333-8444-555555555503 /var/tmp/ur-overlay /tmp/ushare "<vivarium:userns mode='pick'/>"
out=$(vivctl create "$work/p3.xml" 2>&1)
check "an overlayfs root fails the start" lacks "$out" "Domain p3 created"
check "the error names the root and its filesystem" contains "$out" "'/var/tmp/ur-overlay' (overlay)"
check "the error says it cannot be idmapped" contains "$out" "cannot be idmapped"
check "the error names the ways out" contains "$out" "<vivarium:userns mode='off'/>"
check "no scope is left" not in_host systemctl -q is-active machine-p3.scope
check "no machine is left" lacks "$(in_host machinectl list --no-legend 2>&1)" "p3"
check "no container is left" lacks "$(vivctl list --all 2>&1)" "p3"
check "no mount is left" [ "$(in_host findmnt -rn -o TARGET,SOURCE | sort)" = "$mounts_before" ]

# --- the opt-out: the host's root, with a warning ---
domain p4 11111111-2222-4333-8444-555555555504 /tmp/ur /tmp/ushare "<vivarium:userns mode='off'/>"
create_and_probe p4 /tmp/ushare "an opted-out container"
check "it runs with the host's IDs" contains "$probe" "map= 0 0 4294967295"
check "its live XML has no idmap" lacks "$(vivctl dumpxml p4 2>&1)" "<idmap>"
check "the start logged a warning" wait_for 50 journal_has "Container 'p4' runs without a user namespace"
vivctl destroy p4 >/dev/null 2>&1

# --- an explicit <idmap> (libvirt's meaning), in the covered host ---
domain p5 11111111-2222-4333-8444-555555555505 /tmp/ur /tmp/ushare5 \
	"<idmap><uid start='0' target='100000' count='65536'/><gid start='0' target='100000' count='65536'/></idmap>"
create_and_probe p5 /tmp/ushare5 "an explicit idmap in a host with a covered /proc"
check "its maps are the definition's" contains "$probe" "map= 0 100000 65536"
check "its /proc/sys cannot be unmounted" contains "$probe" "procsys-umount-refused"
check "libvirt's meaning: no idmapped mount, a file it writes is 100000's on disk" \
	[ "$(in_host stat -c %u /tmp/ushare5/made-inside)" = 100000 ]
vivctl destroy p5 >/dev/null 2>&1

# --- the bus: the root of a shared-root container is not root to vivariumd ---
# (a shared root has the host's bus socket masked: it is bound in on purpose)
cat >"$work/bus.xml" <<'XML'
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>bus</name>
  <vivarium:userns mode='pick'/>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>-c</initarg>
    <initarg>{ id -u; echo "tmp-owner=$(stat -c %u /tmp/ushare)"; echo "usr-owner=$(stat -c %u /usr/bin)"; touch /tmp/ushare/shared-root-write 2&gt;/dev/null &amp;&amp; echo root-writable || echo root-readonly; busctl --address=unix:path=/hostbus/system_bus_socket call org.vivarium1 /org/vivarium1 org.vivarium1.Manager CreateXML st "&lt;domain type='lxc'&gt;&lt;name&gt;evil&lt;/name&gt;&lt;os&gt;&lt;type&gt;exe&lt;/type&gt;&lt;init&gt;/bin/true&lt;/init&gt;&lt;/os&gt;&lt;/domain&gt;" 0; echo rc=$?; echo done; } &gt;/out/bus 2&gt;&amp;1; exec sleep 600</initarg>
  </os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='/tmp/busout'/><target dir='/out'/></filesystem>
    <filesystem type='mount'><source dir='/run/dbus'/><target dir='/hostbus'/></filesystem>
  </devices>
</domain>
XML
out=$(vivctl create "$work/bus.xml" 2>&1)
check "a shared-root container with a picked range starts" contains "$out" "Domain bus created"
check "its bus call ran" wait_for 300 in_host grep -qx done /tmp/busout/bus
bus=$(in_host cat /tmp/busout/bus 2>&1)
check "it is root inside" grep -qx 0 <<<"$bus"
check "the host's /tmp (tmpfs) is idmapped: root's files are root's inside" contains "$bus" "tmp-owner=0"
check "the host's / (overlayfs) is not: its files are nobody's inside" contains "$bus" "usr-owner=65534"
check "the shared root is read-only" contains "$bus" "root-readonly"
# dbus-daemon refuses the call (the uid resolves through libnss-systemd and
# machined's user records), or, where nothing resolves the uid (no
# libnss-systemd), it drops the connection at authentication: both refuse
refused() { grep -qE "Access denied|Transport endpoint is not connected" <<<"$bus"; }
check "CreateXML from inside is refused" refused
check "nothing was created" lacks "$(vivctl list --all 2>&1)" "evil"
vivctl destroy bus >/dev/null 2>&1

# --- the default: no <idmap>, no <vivarium:userns>: a picked range ---
domain d1 11111111-2222-4333-8444-555555555507 /tmp/ur /tmp/ushare2 ""
in_host rm -f /tmp/ushare2/probe
vivctl define "$work/d1.xml" >/dev/null 2>&1
out=$(vivctl start d1 2>&1)
check "a definition without idmap or userns starts" contains "$out" "Domain d1 started"
check "its probes ran" wait_for 300 probe_done /tmp/ushare2/probe
probe=$(in_host cat /tmp/ushare2/probe 2>&1)
dbase=$(range_of d1)
check "by default it runs in a picked range (live XML)" test -n "$dbase" -a "${dbase:-0}" -ge $((0x70000000))
check "the live XML says mode='pick'" contains "$(vivctl dumpxml d1 2>&1)" "<vivarium:userns mode='pick'/>"
stored=$(vivctl dumpxml --inactive d1 2>&1)
check "the stored definition stays without idmap" lacks "$stored" "<idmap>"
check "... and without vivarium:userns" lacks "$stored" "vivarium:userns"
check "/proc/self/uid_map inside maps 0 to the range" contains "$probe" "map= 0 ${dbase:-x} 65536"
check "init runs as the range's first ID on the host" runs_as d1 "${dbase:-x}"
check "its mounts are locked: /proc/sys cannot be unmounted" contains "$probe" "procsys-umount-refused"
check "core_pattern is not writable" contains "$probe" "corepattern-refused"
check "no warning about running without a user namespace" not journal_has "Container 'd1' runs without a user namespace"
vivctl destroy d1 >/dev/null 2>&1
vivctl undefine d1 >/dev/null 2>&1

# --- the namespaces of a user namespace are its own ---
# A picked range on a private network: the PID, network, IPC, UTS and cgroup
# namespaces belong to the container's user namespace, so its root may
# configure its interfaces, write its net sysctls (the value read is written
# back), set its hostname, and reboot(2) or power off its PID namespace, which
# ends init with the on_reboot (restart) or on_poweroff (destroy) action.
own_probes='n=$(cat /share/boots 2>/dev/null || echo 0); n=$((n + 1)); echo $n >/share/boots
{
ifconfig eth0 192.0.2.50 netmask 255.255.255.0 up && echo ifconfig-ok || echo ifconfig-refused
ip addr add 198.51.100.50/24 dev eth0 && echo ipaddr-ok || echo ipaddr-refused
v=$(cat /proc/sys/net/ipv4/ip_forward)
(echo "$v" >/proc/sys/net/ipv4/ip_forward) 2>/dev/null && echo ipforward-writable || echo ipforward-refused
hostname own-inside && echo hostname-ok || echo hostname-refused
mkdir -p /tmp/t /tmp/b && mount -t tmpfs tmpfs /tmp/t && echo tmpfs-mounted || echo tmpfs-refused
mount --bind /tmp/t /tmp/b && echo bind-mounted || echo bind-refused
ls -l /proc/1/ns/
echo done
} >/share/own.$n 2>&1
exec sleep 600'
cat >"$work/own.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>own</name>
  <uuid>11111111-2222-4333-8444-555555555506</uuid>
  <memory>102400</memory>
  <vivarium:userns mode='pick'/>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>-c</initarg>
    <initarg>$(xml_escape "$own_probes")</initarg>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='/tmp/ur'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='/tmp/ushare6'/><target dir='/share'/></filesystem>
    <interface type='ethernet'><guest dev='eth0'/></interface>
  </devices>
</domain>
XML
# ns_owners PID: "NAME U" for each namespace of PID owned by its user
# namespace (NS_GET_USERNS), "NAME other" for the rest
ns_owners() {
	in_host python3 -c '
import fcntl, os, sys
pid = sys.argv[1]
user = os.stat("/proc/%s/ns/user" % pid).st_ino
for n in ("pid", "net", "ipc", "uts", "cgroup", "mnt"):
    fd = os.open("/proc/%s/ns/%s" % (pid, n), os.O_RDONLY)
    owner = fcntl.ioctl(fd, 0xb701)  # NS_GET_USERNS
    print(n, "U" if os.fstat(owner).st_ino == user else "other")
' "$1"
}
vivctl define "$work/own.xml" >/dev/null 2>&1
out=$(vivctl start own 2>&1)
check "a picked range with a private network starts" contains "$out" "Domain own started"
check "its probes ran" wait_for 300 probe_done /tmp/ushare6/own.1
probe=$(in_host cat /tmp/ushare6/own.1 2>&1)
check "its root configures eth0 with ifconfig" contains "$probe" "ifconfig-ok"
check "... and with ip addr add" contains "$probe" "ipaddr-ok"
check "the address is on eth0" contains "$(vivctl enter own -- /bin/ip -4 addr show eth0 2>&1)" "192.0.2.50/24"
check "/proc/sys/net/ipv4/ip_forward is writable" contains "$probe" "ipforward-writable"
check "its root sets the hostname" contains "$probe" "hostname-ok"
check "it mounts a tmpfs (no seccomp mount denial in a user namespace)" contains "$probe" "tmpfs-mounted"
check "... and a bind mount" contains "$probe" "bind-mounted"
check "ls -l /proc/1/ns/ inside lists the pid namespace" grep -q "pid -> pid:" <<<"$probe"
init=$(leader own)
owners=$(ns_owners "${init:-0}" 2>&1)
for ns in pid net ipc uts cgroup mnt; do
	check "init's $ns namespace belongs to the container's user namespace" grep -qx "$ns U" <<<"$owners"
done
check "the host's hostname is untouched" [ "$(in_host hostname)" != own-inside ]
# reboot(2) inside: init ends as by SIGHUP, <on_reboot>restart</on_reboot>
out=$(vivctl enter own -- /bin/reboot -f 2>&1)
check "reboot -f inside restarts the container" wait_for 300 probe_done /tmp/ushare6/own.2
check "it runs again" contains "$(vivctl domstate own 2>&1)" "running"
newinit=$(leader own)
check "with a new init" test -n "$newinit" -a "$newinit" != "${init:-x}"
# power-off: init ends as by SIGINT, <on_poweroff>destroy</on_poweroff>
out=$(vivctl enter own -- /bin/poweroff -f 2>&1)
shut_off() { contains "$(vivctl domstate own 2>&1)" "shut off"; }
check "poweroff -f inside shuts the container off" wait_for 300 shut_off
check "... and it stays off" not in_host test -e /tmp/ushare6/own.3

# --- a killed helper takes init with it: joining the user namespace changes
# init's credentials, which clears its parent-death signal, and as PID 1 of
# its PID namespace it ignores the SIGTERM of its scope's stop (the scope
# then stays "deactivating" for 90 s, and the next start of the name waits)
vivctl start own >/dev/null 2>&1
init=$(leader own)
helper=$(vivctl domid own 2>/dev/null)
check "started again, init and helper known" test -n "$init" -a -n "$helper"
[ -n "$helper" ] && in_host kill -9 "$helper"
init_gone() { ! in_host test -e "/proc/$init"; }
check "init ends with its killed helper" wait_for 100 init_gone
scope_gone() { [ "$(in_host systemctl show -p ActiveState --value machine-own.scope)" = inactive ]; }
check "... and the scope is gone, not deactivating" wait_for 100 scope_gone
out=$(vivctl start own 2>&1)
check "... so the next start does not wait for it" contains "$out" "Domain own started"
vivctl destroy own >/dev/null 2>&1
vivctl undefine own >/dev/null 2>&1

testhost_teardown
echo "1..$n"
[ "$failures" -eq 0 ]
