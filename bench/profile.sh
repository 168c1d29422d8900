#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Where the time of a start goes: run inside a test host prepared by bench/run
# (busybox root in /var/lib/vivarium-bench). bench/run --profile calls it.
#
#  1. the pieces timed alone (median of PROFILE_RUNS):
#     - `vivctl list`: a client process, its bus connection and one call
#     - `systemd-run --scope /bin/true`: a transient scope through systemd's job
#     - `vivarium-helper --foreground` of the /bin/true container: helper exec,
#       namespaces, mounts, /dev, console, init exec and exit, no D-Bus
#     - `vivctl create --wait`: the whole path
#  2. one start under strace (`strace -f -ttt` attached to vivariumd),
#     reduced to a timeline of the steps between client and exit
#  3. `strace -c -f` of the manager and its helpers over PROFILE_RUNS starts
set -u
W=/var/lib/vivarium-bench
ROOT=$W/root
OUT=${1:-$W/profile}
RUNS=${PROFILE_RUNS:-20}
mkdir -p "$OUT"

xml() { # NAME
        cat <<EOF
<domain type='lxc'>
<name>$1</name>
<memory>102400</memory>
<os><type>exe</type><init>/bin/true</init></os>
<devices>
<filesystem type='mount'><source dir='$ROOT'/><target dir='/'/></filesystem>
<console type='pty'/>
</devices>
</domain>
EOF
}

median_ms() { # CMD... : median wall time of RUNS runs, in ms
        python3 - "$RUNS" "$@" <<'PY'
import subprocess, sys, time, statistics
n = int(sys.argv[1]); cmd = sys.argv[2:]
xs = []
for i in range(n):
    c = [a.replace("@I@", str(i)) for a in cmd]
    t = time.perf_counter()
    subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    xs.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(xs):.1f}")
PY
}

for i in $(seq 0 $((RUNS - 1))); do xml "pf-$i" >"$W/xml/pf-$i.xml"; done
xml pf-fg >"$W/xml/pf-fg.xml"

echo "## pieces, median of $RUNS runs (ms)"
printf '%-52s %s\n' "vivctl list (client spawn + connect + 1 call)" "$(median_ms vivctl list)"
printf '%-52s %s\n' "busctl call ListContainers (spawn + connect + call)" \
        "$(median_ms busctl call org.vivarium1 /org/vivarium1 org.vivarium1.Manager ListContainers)"
printf '%-52s %s\n' "/bin/true (process spawn)" "$(median_ms /bin/true)"
printf '%-52s %s\n' "systemd-run --scope -q /bin/true" "$(median_ms systemd-run --scope -q /bin/true)"
printf '%-52s %s\n' "vivarium-helper --foreground (private root, true)" \
        "$(median_ms /usr/libexec/vivarium/vivarium-helper --name pf-fg --xml "$W/xml/pf-fg.xml" --foreground)"
printf '%-52s %s\n' "vivctl create --wait (whole path)" "$(median_ms vivctl create --wait "$W/xml/pf-@I@.xml")"

# --- strace -c of the manager and everything it forks ---------------------------------
# strace attaches to the running manager (a strace in ExecStart= would be the
# service's main process, and "systemctl stop" would end it with SIGKILL, before
# it wrote anything); SIGINT makes it detach and write.
vivctl list >/dev/null
mgr=$(systemctl show -P MainPID vivariumd.service)
strace -f -c -o "$OUT/strace-c.txt" -p "$mgr" &
spid=$!
sleep 0.5
for i in $(seq 0 $((RUNS - 1))); do vivctl create --wait "$W/xml/pf-$i.xml"; done
kill -INT "$spid"
wait "$spid"
echo
echo "## strace -c -f of vivariumd + helpers + init over $RUNS starts of /bin/true (top 15)"
head -n 17 "$OUT/strace-c.txt"

# --- one start under strace -ttt: a timeline ---------------------------------------------
strace -f -ttt -s 400 -o "$OUT/strace-mgr.txt" -p "$mgr" &
spid=$!
sleep 0.5
strace -f -ttt -s 400 -o "$OUT/strace-ctl.txt" vivctl create --wait "$W/xml/pf-1.xml"
sleep 0.3
kill -INT "$spid"
wait "$spid"
echo
echo "## timeline of one start under strace (ms from vivctl's execve; strace slows every step)"
python3 - "$OUT/strace-ctl.txt" "$OUT/strace-mgr.txt" <<'PY'
import re, sys
def parse(path):
    # "[PID ]SECONDS.USEC rest": strace leaves the PID out while one process runs
    ret = []
    for l in open(path):
        m = re.match(r"^(?:(\d+) +)?(\d+\.\d+) (.*)", l)
        if m:
            ret.append((m.group(1), m.group(2), m.group(3)))
    return ret
ctl = parse(sys.argv[1])
mgr = parse(sys.argv[2])
t0 = float(ctl[0][1])
ev = []
def first(lines, pat, label, after=0.0):
    for pid, t, rest in lines:
        if float(t) >= after and re.search(pat, rest):
            ev.append((float(t), label))
            return float(t)
    return after
first(ctl, r"^execve", "vivctl execve")
t = first(ctl, r"^connect\(.*system_bus_socket", "vivctl connects to the system bus")
t = first(ctl, r"sendmsg\(.*CreateXML", "vivctl sends CreateXML", t)
t = first(mgr, r"recvmsg\(.*CreateXML", "vivariumd receives CreateXML", t)
t = first(mgr, r"^(clone|fork|vfork|clone3)\(", "vivariumd forks the helper", t)
first(mgr, r"^execve\(\"/usr/libexec/vivarium/vivarium-helper", "helper execve", t)
t = first(mgr, r"sendmsg\(.*StartTransientUnit", "vivariumd sends StartTransientUnit", t)
t = first(mgr, r"recvmsg\(.*JobRemoved", "vivariumd receives JobRemoved", t)
t = first(mgr, r"send(to|msg)?\(.*GO", "vivariumd sends GO", t)
t = first(mgr, r"clone3\(", "helper clone3 of init", t)
t = first(mgr, r"pivot_root\(", "child pivot_root", t)
t = first(mgr, r"^execve\(\"/bin/true", "init execve /bin/true", t)
t2 = first(mgr, r"RegisterMachine", "helper calls RegisterMachine", t)
first(mgr, r"send(to|msg)?\(.*READY", "helper sends READY", t)
first(mgr, r"exit_group|\+\+\+ exited", "init exits", t)
t = first(mgr, r"sendmsg\(.*ContainerExited", "vivariumd sends ContainerExited", t)
first(ctl, r"recvmsg\(.*ContainerExited", "vivctl receives ContainerExited", t)
first(ctl, r"exit_group", "vivctl exits", t)
for t, label in sorted(ev):
    print(f"{(t - t0) * 1000:8.1f}  {label}")
PY
