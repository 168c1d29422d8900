#!/bin/bash
# Runs inside the VM (started by the image's vivarium-vm-job.service; see run.sh):
# binds the copies of the tree and of the build dir at the paths they have on the
# machine that built them (meson's files hold absolute paths), says what kind of host
# this is, and runs meson test with the arguments run.sh was given. Its output is the
# machine's job.log; out/ goes back to the machine.
set -u
J=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null # written by run.sh: VM_SRC, VM_BUILD, VM_ARGS, VM_ENV, VM_DEADLINE
. "$J/env"
mkdir -p "$VM_SRC" && mount --bind "$J/src" "$VM_SRC" || exit 1
mkdir -p "$VM_BUILD" && mount --bind "$J/build" "$VM_BUILD" || exit 1

echo "vm: kernel $(uname -r); PID 1 $(readlink /proc/1/exe), $(systemctl --version | head -1)," \
	"state ${VM_STATE:-?}; /sys/fs/cgroup is $(stat -f -c %T /sys/fs/cgroup)" \
	"($(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || echo hybrid)); autofs: $(grep -w autofs /proc/filesystems | tr -s '\t' ' ')"
# The test hosts' cgroups sit directly below the VM's root cgroup, so they get only
# the controllers the VM's systemd enables there, which are those its own units use:
# memory and pids, not cpu or io (systemd 252 reads CPU usage from cpu.stat, which
# needs no controller). Vivarium's cpu.weight, cpu.max and io.weight need them, as
# on any host whose units set such limits: a weight on system.slice makes systemd
# enable cpu and io at the root, and keep them there.
systemctl set-property --runtime system.slice CPUWeight=100 IOWeight=100 ||
	echo "vm: could not set CPUWeight/IOWeight on system.slice"
[ ! -f /sys/fs/cgroup/cgroup.subtree_control ] ||
	echo "vm: the root cgroup's subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
# tools/mkroot's root for full-os (run.sh carried it in): into the VM's own root,
# which the test hosts' overlays show and which is a throwaway snapshot, at the
# cache path tools/mkroot looks in.
if [ -d "$J/roots" ]; then
	mkdir -p /var/lib/vivarium/roots && cp -a "$J/roots/." /var/lib/vivarium/roots/ ||
		echo "vm: could not copy tools/mkroot's root into /var/lib/vivarium/roots"
fi
t0=$SECONDS
cd "$VM_SRC" || exit 1
# Under TCG everything is 10-50 times slower than on the machine, and a test host
# took more than 600 s to boot at load 40: generous bounds, still bounds.
export VIVARIUM_TESTS_MUST_RUN=1 TESTHOST_BOOT_TIMEOUT=1200
# dbus-daemon gives an activated service 25 s to take its name, and sd-bus calls
# (vivctl's, the manager's) wait 25 s: not enough here. The test hosts' roots are
# overlays of this VM's root (a throwaway snapshot), so they read this file too.
cat >/etc/dbus-1/system.d/zz-vivarium-vm-slow.conf <<'XML'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <limit name="service_start_timeout">600000</limit>
</busconfig>
XML
# VIVARIUM_TEST_SLOWDOWN: how much slower than the machine a test's own bounds
# must allow for (tests multiply a bound with it rather than raise it for all).
export VIVARIUM_TEST_SLOWDOWN=10
export TESTHOST_ENV="SYSTEMD_BUS_TIMEOUT=10min VIVARIUM_TEST_SLOWDOWN=$VIVARIUM_TEST_SLOWDOWN${TESTHOST_ENV:+ $TESTHOST_ENV}"
# shellcheck disable=SC2086,SC2163 # VAR=VALUE words
[ -z "$VM_ENV" ] || export $VM_ENV
# VM_DEADLINE (seconds since the epoch; this clock is the machine's, from qemu's
# RTC): meson is stopped then (SIGTERM: it interrupts the running tests, which
# clean up, and writes its logs), so that a run that cannot finish in time says
# which tests it did not finish instead of being killed from outside.
meson test -C "$VM_BUILD" --no-rebuild --print-errorlogs --timeout-multiplier 10 "${VM_ARGS[@]}" &
mpid=$!
if [ -n "${VM_DEADLINE:-}" ]; then
	echo "vm: deadline $(date -u -d "@$VM_DEADLINE" +%H:%M:%S) UTC, $((VM_DEADLINE - $(date +%s))) s from now"
	while kill -0 $mpid 2>/dev/null && [ "$(date +%s)" -lt "$VM_DEADLINE" ]; do
		sleep 5
	done
	if kill -0 $mpid 2>/dev/null; then
		echo "vm: DEADLINE: stopping meson test (its running tests are interrupted, the rest do not start)"
		kill -TERM $mpid
		for _ in $(seq 1 60); do kill -0 $mpid 2>/dev/null && sleep 5; done
		kill -KILL $mpid 2>/dev/null && echo "vm: meson test did not stop in 300 s: killed"
	fi
fi
wait $mpid
rc=$?
echo "vm: meson test exited with $rc after $((SECONDS - t0)) s"
cp "$VM_BUILD/meson-logs/testlog.json" "$VM_BUILD/meson-logs/testlog.txt" "$J/out/" 2>/dev/null
exit $rc
