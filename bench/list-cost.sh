#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What a ListContainers call costs as containers are added, against its floor
# (issue 14, bench/README "Scale"): boots one test host, installs BUILD,
# defines STEP containers at a time, STEPS times, and after each step starts
# two floor services (bench/list-floor.c: the same reply, kept from one call to
# vivariumd, served by sd-bus and by raw bytes on the socket; the replies
# are compared) and measures, ALTERNATED, ROUNDS rounds of CALLS serial calls
# (bench-client alternate) each: vivariumd, the sd-bus floor, the raw floor,
# and Peer.Ping to the raw floor (the bus's round trip with no payload):
# latency p10/median/p90, and the CPU per call of the serving process and of
# dbus-daemon (/proc/PID/schedstat). Defined containers: the listing does not
# depend on whether they run.
#
#   sudo bench/list-cost.sh BUILD [STEP (125)] [STEPS (8)]
#   sudo TESTHOST_ENV='GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=4194304' \
#        bench/list-cost.sh BUILD        # every unit of the host, dbus-daemon too
#
# BENCH_CPU_SHARES=N: the test host's cpu.shares (cgroup v1) while it measures.
# BENCH_ROUNDS=10, BENCH_CALLS=20: rounds, and calls per service in a round.
set -euo pipefail

self=$(readlink -f "$0")
src=${self%/bench/*}
[ $# -ge 1 ] || { sed -n '3,21p' "$self" | sed 's/^# \{0,1\}//'; exit 2; }
build=$(readlink -f "$1")
step=${2:-125}
steps=${3:-8}
[ "$(id -u)" = 0 ] || { echo "list-cost.sh: needs root (it boots a test host)" >&2; exit 1; }
[ -x "$build/src/manager/vivariumd" ] || { echo "list-cost.sh: no vivariumd in $build" >&2; exit 1; }

rounds=${BENCH_ROUNDS:-10}
calls=${BENCH_CALLS:-20}
for prog in bench-client list-floor; do
        # shellcheck disable=SC2046
        cc -O2 -Wall -Wextra -o "$build/$prog" "$src/bench/$prog.c" $(pkg-config --cflags --libs libsystemd)
done
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
# The floors' bus names: root may own them, anyone may call them.
floor=org.vivarium1.BenchFloor
printf '%s\n' '<?xml version="1.0"?>' \
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"' \
        '        "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">' \
        '<busconfig>' \
        "  <policy user=\"root\"><allow own_prefix=\"$floor\"/></policy>" \
        "  <policy context=\"default\"><allow send_destination=\"$floor\"/><allow send_destination=\"$floor.Raw\"/>" \
        "    <allow receive_sender=\"$floor\"/><allow receive_sender=\"$floor.Raw\"/></policy>" \
        '</busconfig>' | testhost_run tee "/etc/dbus-1/system.d/$floor.conf" >/dev/null
testhost_run busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
# floor_start UNIT MODE NAME: a transient service, started once it owns NAME
floor_start() {
        testhost_run systemd-run -q -u "$1" -p Type=dbus -p BusName="$3" -p StandardOutput=truncate:"/tmp/$1.out" \
                "$build/list-floor" "$2" "$3" || return 1
        testhost_run systemctl show -P MainPID "$1"
}
# same_replies: the three services' replies, compared as busctl prints them
same_replies() {
        # shellcheck disable=SC2016
        testhost_run /bin/sh -c '
                for d in org.vivarium1 "$1" "$1.Raw"; do
                        busctl --system --json=short call "$d" /org/vivarium1 org.vivarium1.Manager ListContainers >"/tmp/reply-$d.json" || exit 1
                done
                cmp -s /tmp/reply-org.vivarium1.json "/tmp/reply-$1.json" && cmp -s /tmp/reply-org.vivarium1.json "/tmp/reply-$1.Raw.json" || {
                        echo "list-cost.sh: the floors do not answer what vivariumd answers" >&2; exit 1; }
                n=$(wc -c </tmp/reply-org.vivarium1.json)
                printf "replies: vivariumd, floor-sdbus, floor-raw the same (busctl --json=short, %s bytes); %s\n" \
                        "$n" "$(sed -n "s/.*body \([0-9]*\) bytes.*/the body vivariumd sent: \1 bytes/p" /tmp/bench-floor-raw.out)"
        ' same-replies "$floor"
}
echo "containers  service      latency ms p10 / median / p90  service us a call  dbus-daemon us a call  load"
for k in $(seq 1 "$steps"); do
        testhost_run "$build/bench-client" define "$step" "l$k-" 32 /tmp/list-cost.xml >/dev/null
        mpid=$(testhost_run systemctl show -P MainPID vivariumd.service)
        dpid=$(testhost_run systemctl show -P MainPID dbus.service)
        spid=$(floor_start bench-floor-sdbus sdbus "$floor")
        rpid=$(floor_start bench-floor-raw raw "$floor.Raw")
        same_replies
        out=$(testhost_run "$build/bench-client" alternate "$rounds" "$calls" "$dpid" \
                "vivariumd,org.vivarium1,list,$mpid" "floor-sdbus,$floor,list,$spid" \
                "floor-raw,$floor.Raw,list,$rpid" "ping-raw,$floor.Raw,ping,$rpid")
        testhost_run systemctl stop bench-floor-sdbus bench-floor-raw
        load=$(cut -d' ' -f1 /proc/loadavg)
        for label in vivariumd floor-sdbus floor-raw ping-raw; do
                lat=$(awk -v l="$label" '$1 == l { print $2 }' <<<"$out" | sort -n |
                        awk '{ a[NR] = $1 } END { printf "%.2f / %.2f / %.2f", a[int(NR * 0.1)] / 1000, a[int(NR / 2)] / 1000, a[int(NR * 0.9)] / 1000 }')
                read -r _ _ sns dns n < <(awk -v l="$label" '$1 == "cpu" && $2 == l' <<<"$out")
                printf '%10d  %-11s  %28s  %17d  %21d  %s\n' $((k * step)) "$label" "$lat" $((sns / n / 1000)) \
                        $((dns / n / 1000)) "$load"
        done
done
testhost_teardown
