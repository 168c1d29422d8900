#!/bin/bash
# vivarium-helper under a real systemd (a test host), started through the
# manager: the scope's leaf cgroups, machined's view (machinectl), the console
# in the journal with CONTAINER_NAME= (autofs: tests/test-autofs.sh).
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }

work=$(mktemp -d /tmp/vt-helper-sd.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_boot "vt-helper-$$" || testhost_skip_or_fail "the test host did not boot"
testhost_install "$build" >/dev/null || { echo "not ok - install into the test host"; exit 1; }

cat >"$work/hw.xml" <<'XML'
<domain type='lxc'>
  <name>hw</name>
  <memory>102400</memory>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>-c</initarg>
    <initarg>echo console-line-$((6*7)); exec sleep 600</initarg>
  </os>
  <devices><console type='pty'/></devices>
</domain>
XML

out=$(in_host vivctl -c lxc:/// create "$work/hw.xml" 2>&1)
check "create hw" contains "$out" "Domain hw created"
# registered before READY: machinectl knows it as soon as create returns
init=$(in_host machinectl show hw -p Leader --value 2>/dev/null)
out=$(in_host machinectl list --no-pager --no-legend 2>&1)
check "machinectl lists hw as a vivarium container" contains "$out" "hw container vivarium"
leader_is() { [ "$(in_host cat /proc/"${init:-0}"/comm 2>/dev/null)" = "$1" ]; }
check "machined's leader is init (sh, then sleep)" wait_until 30 leader_is sleep
out=$(in_host machinectl show hw -p Unit --value 2>&1)
check "machined's unit is the scope" [ "$out" = machine-hw.scope ]
out=$(in_host systemd-cgls --no-pager -u machine-hw.scope 2>&1)
check "the scope has supervisor/ with the helper" contains "$out" "supervisor"
check "the scope has payload/ with init" grep -Eq "payload" <<<"$out"
out=$(in_host sh -c 'cat /sys/fs/cgroup/machine.slice/machine-hw.scope/payload/cgroup.procs /sys/fs/cgroup/*/machine.slice/machine-hw.scope/payload/cgroup.procs 2>/dev/null | sort -u')
check "init is in payload/" contains "$out" "$init"
if in_host test -d /sys/fs/cgroup/systemd; then
	# hybrid: leaves only where they are used (cgroup_v1_wants_leaves())
	icg=$(in_host cat "/proc/${init:-0}/cgroup" 2>&1)
	check "hybrid: init is in payload/ of name=systemd, devices and pids ($icg)" \
		[ "$(grep -cE ':(name=systemd|devices|pids):/machine.slice/machine-hw.scope/payload$' <<<"$icg")" = 3 ]
	check "hybrid: init is in the scope's own memory cgroup, no leaf there" \
		grep -qx "[0-9]*:memory:/machine.slice/machine-hw.scope" <<<"$icg"
	# cpu, cpuacct, blkio: where systemd realized the scope (mounts differ by host)
	leafy=$(grep -E '^[0-9]+:[a-z,]*(memory|cpu|cpuacct|blkio)[a-z,]*:/machine.slice/machine-hw.scope/' <<<"$icg")
	check "hybrid: no leaf of the scope in memory, cpu, cpuacct or blkio holds init ($leafy)" [ -z "$leafy" ]
	leaves=$(in_host sh -c 'ls -d /sys/fs/cgroup/*/machine.slice/machine-hw.scope/payload 2>/dev/null')
	check "hybrid: the scope's payload/ exists in name=systemd, devices, pids only ($(echo $leaves))" \
		[ "$(grep -cE '/(systemd|devices|pids|unified)/machine.slice' <<<"$leaves")" = "$(grep -c . <<<"$leaves")" ]
fi
journal_has() { in_host journalctl --no-pager -o cat CONTAINER_NAME="$1" 2>/dev/null | grep -qF -- "$2"; }
check "console output in the journal with CONTAINER_NAME=hw" wait_until 30 journal_has hw console-line-42
out=$(in_host vivctl -c lxc:/// destroy hw 2>&1)
check "destroy hw" contains "$out" "Domain hw destroyed"
no_machine() { [ -z "$(in_host machinectl list --no-pager --no-legend 2>/dev/null)" ]; }
scope_gone() { [ "$(in_host systemctl is-active "machine-$1.scope" 2>/dev/null)" != active ]; }
check "machine gone" wait_until 30 no_machine
check "scope gone" wait_until 30 scope_gone hw

# An init that cannot be executed: the registration, sent while init builds
# its mounts, is undone before the helper ends.
sed -e 's|<init>/bin/sh</init>|<init>/nonexistent/init</init>|' -e 's|<name>hw</name>|<name>noinit</name>|' \
	"$work/hw.xml" >"$work/noinit.xml"
out=$(in_host vivctl -c lxc:/// create "$work/noinit.xml" 2>&1)
check "an init that is missing fails the start" contains "$out" "Failed to execute init '/nonexistent/init'"
check "no machine left by the failed start" [ -z "$(in_host machinectl list --no-pager --no-legend 2>/dev/null)" ]
check "no scope left by the failed start" [ "$(in_host systemctl is-active machine-noinit.scope 2>/dev/null)" != active ]

# autofs: tests/test-autofs.sh

testhost_teardown
echo "1..$n"
[ "$failures" = 0 ]
