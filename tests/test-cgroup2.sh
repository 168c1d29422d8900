#!/bin/bash
# A container's cgroup2 side, in a test host, with the default user namespace:
# on a pure cgroup v2 host every limit of the XML in the scope's v2 files
# (memory.max, memory.high, cpu.weight, cpu.max, io.weight, pids.max) and each
# changed live by its verb; domstats' cpu.time and tasks.current read from the
# scope's cpu.stat and pids.current; on any host, suspend/resume through
# payload/'s cgroup.freeze (cgroup.events says frozen, a counter stands still,
# then goes on); the delegated subtree: the container's root makes cgroups
# below its cgroup root and moves a process there, but cannot write the files
# that are not delegated (cgroup.max.descendants, memory.max of its root) nor
# reach the scope's limits; on pure v2 payload/ has the scope's controllers
# and its memory.max shows the scope's limit, changed live with it; destroy leaves no cgroup behind, the container's
# own included. On a v1+v2 hybrid host the limit checks are resources' (v1).
# tools/test runs it in the VM too (pure v2, tests/vm/run.sh).
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
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }

work=$(mktemp -d /tmp/vt-cgroup2.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_boot "vt-cg2-$$" || testhost_skip_or_fail "the test host did not boot"
testhost_install "$build" >/dev/null || { echo "not ok - install into the test host"; exit 1; }

if [ "$(in_host stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	unified=1 cg2=/sys/fs/cgroup
	echo "# pure cgroup v2"
else
	unified=0 cg2=/sys/fs/cgroup/unified
	echo "# cgroup v1+v2 hybrid: cgroup2 at $cg2; the limits are resources' checks (v1)"
fi
scope=$cg2/machine.slice/machine-cg.scope
payload=$scope/payload
cgf() { in_host cat "$scope/$1" 2>/dev/null; } # FILE of the scope

# A static busybox root on the test host's /tmp (a tmpfs: idmappable) and a
# shared directory for what the container reports.
in_host sh -c '
r=/tmp/cg2root
mkdir -p $r/bin $r/tmp $r/proc $r/sys $r/share /tmp/cg2share
cp /bin/busybox $r/bin/
for a in sh cat echo mkdir rmdir sleep ls grep mount mv; do ln -sf busybox $r/bin/$a; done'

# init: the delegation probes once, then a counter (for suspend/resume).
init='c=/sys/fs/cgroup
[ -f $c/cgroup.procs ] || c=/sys/fs/cgroup/unified
{
echo "cgroup=$(grep "^0::" /proc/self/cgroup)"
mkdir $c/a && echo mkdir-ok || echo mkdir-refused
mkdir $c/a/b && echo mkdir-nested-ok || echo mkdir-nested-refused
sleep 100000 &
echo $! >$c/a/b/cgroup.procs && echo move-ok || echo move-refused
grep -q "^0::/a/b$" /proc/$!/cgroup && echo moved-seen || echo moved-not-seen
(echo max >$c/cgroup.max.descendants) 2>/dev/null && echo maxdesc-writable || echo maxdesc-refused
if [ -f $c/memory.max ]; then
	echo "memmax=$(cat $c/memory.max)"
	(echo max >$c/memory.max) 2>/dev/null && echo memmax-writable || echo memmax-refused
else
	echo memmax-absent
fi
[ -d $c/machine.slice ] && echo host-tree-visible || echo host-tree-hidden
echo done
} >/share/probe 2>&1
i=0
# the count is renamed into place: a reader never sees the file emptied by a
# redirection that the freezer stopped before its write
while :; do i=$((i+1)); echo $i >/share/count.new && mv -f /share/count.new /share/count; sleep 0.05; done'
init_xml=$(xml_escape "$init")

cat >"$work/cg.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>cg</name>
  <memory unit='MiB'>64</memory>
  <memtune>
    <hard_limit unit='MiB'>64</hard_limit>
    <soft_limit unit='MiB'>48</soft_limit>
  </memtune>
  <cputune>
    <shares>512</shares>
    <period>100000</period>
    <quota>50000</quota>
  </cputune>
  <blkiotune><weight>300</weight></blkiotune>
  <vivarium:tasks max='200'/>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>-c</initarg>
    <initarg>$init_xml</initarg>
  </os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='/tmp/cg2root'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='/tmp/cg2share'/><target dir='/share'/></filesystem>
  </devices>
</domain>
XML

out=$(vivctl define "$work/cg.xml" 2>&1 && vivctl start cg 2>&1)
check "cg starts ($out)" contains "$out" "Domain cg started"
probe_done() { in_host grep -qx 'done' /tmp/cg2share/probe; }
check "its probes ran" wait_for 3000 probe_done
probe=$(in_host cat /tmp/cg2share/probe 2>&1)

# --- the delegated subtree ---
echo "# the delegated subtree"
check "init's cgroup is the root of its cgroup namespace" contains "$probe" "cgroup=0::/"
if [ $unified = 1 ]; then
	check "the container's root makes a cgroup below its cgroup root" contains "$probe" "mkdir-ok"
	check "... and one below that" contains "$probe" "mkdir-nested-ok"
	check "... and moves a process into it" contains "$probe" "move-ok"
	check "... which the process's /proc/PID/cgroup shows" contains "$probe" "moved-seen"
	check "the host sees the container's cgroup at payload/a/b" in_host test -d "$payload/a/b"
	check "... with the moved process in it" in_host sh -c "grep -q . '$payload/a/b/cgroup.procs'"
else
	# a writable cgroup2 (unified/) is set up for systemd as init only (test-full-os)
	check "hybrid, init not systemd: the cgroup2 tree it sees is read-only" contains "$probe" "mkdir-refused"
fi
check "cgroup.max.descendants of its root is not the container's to write" contains "$probe" "maxdesc-refused"
if [ $unified = 1 ]; then
	# the scope's controllers are enabled for payload/, the root of the
	# container's tree: a systemd inside can use them for its own units
	ctl=$(in_host cat "$payload/cgroup.controllers")
	check "payload/ has the scope's memory and pids controllers ($ctl)" \
		eval '[[ " $ctl " == *" memory "* && " $ctl " == *" pids "* ]]'
	check "memory.max of its root shows the scope's limit, 64 MiB" contains "$probe" "memmax=$((64 << 20))"
	check "memory.max of its root is not the container's to write" contains "$probe" "memmax-refused"
elif [[ $probe == *memmax-absent* ]]; then
	ok "memory.max of its root: no such file inside (hybrid: no controller on cgroup2)"
else
	check "memory.max of its root is not the container's to write" contains "$probe" "memmax-refused"
fi
# the scope's limits sit above payload/, the root of the tree it sees; on a
# hybrid host a container whose init is not systemd sees the host's /sys
[ $unified = 0 ] ||
	check "its cgroup2 tree is rooted at payload/: the host's machine.slice is out of sight" \
		contains "$probe" "host-tree-hidden"

# --- the limits in the v2 files, changed live ---
if [ $unified = 1 ]; then
	echo "# limits in the scope's v2 files"
	check "memory.max = hard_limit" same "$(cgf memory.max)" $((64 << 20))
	check "memory.high = soft_limit" same "$(cgf memory.high)" $((48 << 20))
	check "cpu.weight = shares * 100 / 1024" same "$(cgf cpu.weight)" 50
	check "cpu.max = quota period" same "$(cgf cpu.max)" "50000 100000"
	check "io.weight = blkiotune weight" contains "$(cgf io.weight)" "default 300"
	check "pids.max = vivarium:tasks max" same "$(cgf pids.max)" 200
	echo "# changed live"
	out=$(vivctl setmem cg 40M --live 2>&1)
	check "setmem --live ($out)" same "$out" ""
	check "setmem: memory.max" same "$(cgf memory.max)" $((40 << 20))
	check "setmem: payload/memory.max, the container's view, too" \
		same "$(in_host cat "$payload/memory.max")" $((40 << 20))
	out=$(vivctl memtune cg --soft-limit 20M --live 2>&1)
	check "memtune --soft-limit --live ($out)" same "$out" ""
	check "memtune: memory.high" same "$(cgf memory.high)" $((20 << 20))
	quiet vivctl schedinfo cg --set cpu_shares=2048 --live
	check "schedinfo cpu_shares: cpu.weight" same "$(cgf cpu.weight)" 200
	quiet vivctl schedinfo cg --set vcpu_quota=30000 --live
	check "schedinfo vcpu_quota: cpu.max" same "$(cgf cpu.max)" "30000 100000"
	out=$(vivctl blkiotune cg --weight 700 --live 2>&1)
	check "blkiotune --weight --live ($out)" same "$out" ""
	check "blkiotune: io.weight" contains "$(cgf io.weight)" "default 700"

	echo "# statistics from the v2 files"
	# cpu.time lies between two readings of the scope's usage_usec around it
	usec() { cgf cpu.stat | sed -n 's/^usage_usec //p'; }
	u0=$(usec)
	st=$(vivctl domstats cg 2>&1)
	u1=$(usec)
	t=$(printf '%s\n' "$st" | sed -n 's/^  cpu.time=//p')
	check "domstats cpu.time is the scope's cpu.stat usage_usec ($u0 <= ${t:-?}/1000 <= $u1)" \
		test -n "$t" -a "$((${t:-0} / 1000))" -ge "${u0:-1}" -a "$((${t:-0} / 1000))" -le "${u1:-0}"
	# tasks.current: below, while the payload is frozen (its counter loop forks
	# 20 times a second, so pids.current is never still while it runs).
else
	echo "# hybrid: the limits in v1 files are resources' checks"
fi

# --- suspend/resume through cgroup.freeze ---
echo "# suspend/resume"
count() { in_host cat /tmp/cg2share/count 2>/dev/null || echo 0; }
counting() { [ "$(count)" -gt 3 ]; }
check "the counter advances" wait_for 3000 counting
out=$(vivctl suspend cg 2>&1)
check "suspend ($out)" contains "$out" "Domain cg suspended"
check "payload/cgroup.freeze is 1" same "$(in_host cat "$payload/cgroup.freeze")" 1
check "payload/cgroup.events: frozen 1" contains "$(in_host cat "$payload/cgroup.events")" "frozen 1"
[ $unified = 0 ] ||
	check "the container's own cgroup a/b is frozen too" contains "$(in_host cat "$payload/a/b/cgroup.events")" "frozen 1"
check "domstate paused" same "$(vivctl domstate cg)" paused
a=$(count)
sleep 1
b=$(count)
check "the counter stands still while frozen ($a, $b)" test -n "$a" -a "$b" = "$a"
if [ $unified = 1 ]; then
	tasks=$(vivctl domstats cg 2>&1 | sed -n 's/^  tasks.current=//p')
	check "domstats tasks.current = pids.current while frozen ($tasks)" same "$tasks" "$(cgf pids.current)"
fi
out=$(vivctl resume cg 2>&1)
check "resume ($out)" contains "$out" "Domain cg resumed"
check "payload/cgroup.freeze is 0" same "$(in_host cat "$payload/cgroup.freeze")" 0
check "payload/cgroup.events: frozen 0" contains "$(in_host cat "$payload/cgroup.events")" "frozen 0"
advanced() { [ "$(count)" -gt "$b" ]; }
check "the counter advances again" wait_for 3000 advanced

# --- the end: nothing left, the container's own cgroups included ---
out=$(vivctl destroy cg 2>&1)
check "destroy ($out)" contains "$out" "Domain cg destroyed"
scope_gone() { ! in_host test -e "$scope"; }
check "the scope's cgroup is gone (payload/a/b with it on v2)" wait_for 3000 scope_gone
check "machine-cg.scope is not active" not in_host systemctl is-active --quiet machine-cg.scope
vivctl undefine cg >/dev/null 2>&1

testhost_teardown
echo "1..$n"
[ "$failures" -eq 0 ]
