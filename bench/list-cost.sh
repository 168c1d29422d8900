#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What a ListContainers call costs as containers are added (issue 14, bench/README
# "Scale"): boots one test host, installs BUILD, defines STEP containers at a
# time, STEPS times, and after each step makes 200 serial calls (bench-client):
# latency p10/median/p90, and the CPU per call of vivariumd and of dbus-daemon
# (/proc/PID/schedstat). Defined containers: the listing does not depend on
# whether they run.
#
#   sudo bench/list-cost.sh BUILD [STEP (125)] [STEPS (8)]
#   sudo TESTHOST_ENV='GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=4194304' \
#        bench/list-cost.sh BUILD        # every unit of the host, dbus-daemon too
#
# BENCH_CPU_SHARES=N: the test host's cpu.shares (cgroup v1) while it measures.
set -euo pipefail

self=$(readlink -f "$0")
src=${self%/bench/*}
[ $# -ge 1 ] || { sed -n '3,16p' "$self" | sed 's/^# \{0,1\}//'; exit 2; }
build=$(readlink -f "$1")
step=${2:-125}
steps=${3:-8}
[ "$(id -u)" = 0 ] || { echo "list-cost.sh: needs root (it boots a test host)" >&2; exit 1; }
[ -x "$build/src/manager/vivariumd" ] || { echo "list-cost.sh: no vivariumd in $build" >&2; exit 1; }

# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -o "$build/bench-client" "$src/bench/bench-client.c" $(pkg-config --cflags --libs libsystemd)
export VIVARIUM_BUILD_DIR=$build
# shellcheck source=/dev/null
. "$src/tests/testhost/testhost.sh"
testhost_boot "listcost-$$" >/dev/null || exit 1
if [ -n "${BENCH_CPU_SHARES:-}" ]; then
        for d in /sys/fs/cgroup/cpu/"listcost-$$" /sys/fs/cgroup/cpu,cpuacct/"listcost-$$"; do
                [ -f "$d/cpu.shares" ] && echo "$BENCH_CPU_SHARES" >"$d/cpu.shares"
        done
fi
testhost_install "$build" >/dev/null
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0
# the containers: sleeping on the host's root, as tests/test-scale.sh's
testhost_run cp "$src/tests/lib/sleep-template.xml" /tmp/list-cost.xml
cpu_ns() { testhost_run cut -d' ' -f1 "/proc/$1/schedstat"; }
echo "containers  latency ms p10 / median / p90  vivariumd us a call  dbus-daemon us a call  load"
for k in $(seq 1 "$steps"); do
        testhost_run "$build/bench-client" define "$step" "l$k-" 32 /tmp/list-cost.xml >/dev/null
        mpid=$(testhost_run systemctl show -P MainPID vivariumd.service)
        dpid=$(testhost_run systemctl show -P MainPID dbus.service)
        m0=$(cpu_ns "$mpid") d0=$(cpu_ns "$dpid")
        lat=$(testhost_run "$build/bench-client" calls list 200 | sort -n |
                awk '{ a[NR] = $1 } END { printf "%.2f / %.2f / %.2f", a[int(NR * 0.1)] / 1000, a[int(NR / 2)] / 1000, a[int(NR * 0.9)] / 1000 }')
        m1=$(cpu_ns "$mpid") d1=$(cpu_ns "$dpid")
        printf '%10d  %28s  %19d  %21d  %s\n' $((k * step)) "$lat" $(((m1 - m0) / 200000)) $(((d1 - d0) / 200000)) \
                "$(cut -d' ' -f1 /proc/loadavg)"
done
testhost_teardown
