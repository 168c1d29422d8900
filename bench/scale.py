# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/run scale: 1,000 containers (issue 14, "Scale"), inside the test host.

Each container runs `sleep` in a private busybox root: the one root on a tmpfs,
read-only, idmapped by its own user namespace (the default, a picked range),
and a 1 MiB tmpfs of its own on /tmp. Measured, for BENCH_SCALE_N (1000)
containers:
  serial    one client, one CreateXML at a time, in four quarters: time per
            quarter (per container time against N), ListContainers latency at
            0, N/4, N/2, 3N/4, N; vivctl list; the manager's RSS and CPU time;
            the helpers' RSS and PSS; a manager restart with all of them running
            (until the first call is answered, until every one is adopted, and
            that none lost its helper); destroy of all (8 clients) until no
            helper and no scope is left
  parallel  8 clients, each one call at a time: time until all run; destroy
  crun      the anchor in the same host: `crun --systemd-cgroup run -d` of the
            same read-only root running sleep, serially and by 8 clients,
            `crun delete -f` of all
  floor     systemd's own part: `systemd-run --scope` of `sleep` by 8 clients,
            each waiting until its command runs (a FIFO), no root, no
            namespaces: the scope job alone, as every start through systemd
            has it
  nsfloor   bench/start-floor.c by 8 clients: the least a start of this
            definition does through systemd (scope job with vivariumd's
            properties, a supervisor in it, init in new namespaces with its
            root, /tmp and proc, RegisterMachine), no client or helper exec
The 8-client runs of all three go in four quarters: the time per container
of each quarter, and the CPU that systemd (PID 1), dbus-daemon and the
manager spent in it, show what grows with the number already running; each
quarter also has the CPU of every process of the test host by name
(cpu_by_comm_s), the helpers', machined's and journald's among them.
BENCH_SCALE_SERIAL=0 leaves out the serial runs (an A/B of the 8-client part);
BENCH_SCALE_RUNTIMES ("vivarium crun floor nsfloor") picks which of the four run.
"""
import os
import statistics
import subprocess
import tempfile
import threading
import time

import bench as B

N = int(os.environ.get("BENCH_SCALE_N") or (20 if B.QUICK else 1000))
CLIENTS = 8
VIVCTL_OLD = os.environ.get("BENCH_SCALE_VIVCTL_OLD", "")
SERIAL = os.environ.get("BENCH_SCALE_SERIAL", "1") != "0"
RUNTIMES = (os.environ.get("BENCH_SCALE_RUNTIMES") or "vivarium crun floor nsfloor").split()
CRUN_BUNDLE = B.WORK + "/crun-sleep"


def scale_xml():
    return f"""<domain type='lxc'>
<name>@NAME@</name>
<memory>65536</memory>
<os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>
<devices>
<filesystem type='mount'><source dir='{B.ROOT_TMPFS}'/><target dir='/'/><readonly/></filesystem>
<filesystem type='ram'><source usage='1024' units='KiB'/><target dir='/tmp'/></filesystem>
<console type='pty'/>
</devices>
</domain>
"""


def cpu_s(pid):
    """utime + stime of PID, seconds"""
    with open(f"/proc/{pid}/stat") as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_comm():
    """CPU seconds of every process of the test host by its name: its own
    (utime + stime) and its waited-for children's (cutime + cstime), so that
    processes that ended meanwhile (a helper's forks, clients) still count"""
    tck = os.sysconf("SC_CLK_TCK")
    by = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                head, tail = fh.read().rsplit(")", 1)
        except OSError:
            continue
        f = tail.split()
        comm = "systemd (PID 1)" if d == "1" else head.split("(", 1)[1]
        by[comm] = by.get(comm, 0) + sum(int(x) for x in f[11:15]) / tck
    return by


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def list_ms():
    return statistics.median(B.client_calls("list", 20 if B.QUICK else 100))


def run_counted(args, n):
    """runs a client that ends with "OK FAILED ELAPSED_S" (bench-client's
    batches, start-floor) for N starts: its counts and the end of its
    stderr; one that printed nothing failed all N"""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors = p.stderr.strip()[-400:]
    if not p.stdout.strip():
        return {"ok": 0, "failed": n, "elapsed_s": 0.0, "errors": f"{errors} (exit status {p.returncode})".strip()}
    ok, failed, elapsed = p.stdout.split()
    return {"ok": int(ok), "failed": int(failed), "elapsed_s": float(elapsed), "errors": errors}


def batch(op, n, prefix, window=1):
    args = [B.CLIENT, op, str(n), prefix, str(window)] + ([f"{B.XMLDIR}/scale.xml"] if op == "create" else [])
    return run_counted(args, n)


def at_once(fns):
    """runs the functions in threads at once: (wall s, their results)"""
    out = [None] * len(fns)

    def one(i):
        out[i] = fns[i]()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(fns))]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t, out


def parallel(op, parts):
    """CLIENTS bench-clients at once, each one call at a time: (wall s, results)"""
    return at_once([lambda n=n, p=p: batch(op, n, p) for n, p in parts])


def pid_of(unit):
    return int(B.out("systemctl", "show", "-P", "MainPID", unit).strip() or 0)


def quartered(n, start_quarter):
    """start_quarter(k, count) starts count containers by CLIENTS clients (the
    quarter k of n) and returns (ok, failed): per quarter its wall time and
    the CPU seconds of systemd, dbus-daemon and the manager meanwhile"""
    pids = {"systemd": 1, "dbus": pid_of("dbus.service"), "manager": B.manager_pid()}
    q = n // 4
    out = []
    for k in range(4):
        count = q if k < 3 else n - 3 * q
        cpu0 = {name: cpu_s(pid) for name, pid in pids.items() if pid}
        comm0 = cpu_by_comm()
        t = time.perf_counter()
        ok, failed = start_quarter(k, count)
        row = {"n": count, "elapsed_s": time.perf_counter() - t, "ok": ok, "failed": failed}
        comm1 = cpu_by_comm()
        row["cpu_by_comm_s"] = {k: round(v - comm0.get(k, 0), 2) for k, v in comm1.items()
                                if v - comm0.get(k, 0) >= 0.01}
        for name, c0 in cpu0.items():
            try:
                row[f"{name}_cpu_s"] = cpu_s(pids[name]) - c0
            except OSError:
                pass
        out.append(row)
    return out


def split(n, prefix):
    return [(n // CLIENTS + (1 if k < n % CLIENTS else 0), f"{prefix}{k}-") for k in range(CLIENTS)]


def running_count():
    return sum(1 for c in B.list_containers() if c[3] == "running")


def wait_all_gone(timeout=300):
    t = time.perf_counter()
    end = time.time() + timeout
    while time.time() < end and (B.helpers() or B.machine_scopes()):
        time.sleep(0.1)
    return time.perf_counter() - t


def destroy_all(parts):
    t = time.perf_counter()
    _, res = parallel("destroy", parts)
    wall = time.perf_counter() - t + wait_all_gone()
    return {"all_gone_s": wall, "failed": sum(r["failed"] for r in res),
            "left_helpers": len(B.helpers()), "left_scopes": len(B.machine_scopes()),
            "left_containers": len(B.list_containers())}


def manager_facts(row):
    mp = B.manager_pid()
    row["manager_rss_kib"] = B.status_kib(mp, "VmRSS")
    row["manager_fds"] = len(os.listdir(f"/proc/{mp}/fd"))
    hs = B.helpers()[:50]
    rss = [r for r in (B.status_kib(p, "VmRSS") for p in hs) if r]
    pss = [r for r in (pss_kib(p) for p in hs) if r]
    row["helper_rss_kib_median"] = statistics.median(rss) if rss else None
    row["helper_pss_kib_median"] = statistics.median(pss) if pss else None
    t = time.perf_counter()
    runs = 3
    for _ in range(runs):
        B.run("vivctl", "list", stdout=subprocess.DEVNULL)
    row["vivctl_list_s"] = (time.perf_counter() - t) / runs
    one_domain(row)


def one_domain(row):
    """vivctl verbs on one domain with N running (LookupContainer, not the
    whole list): dominfo by name, domstate by Id, median ms of 11; with
    BENCH_SCALE_VIVCTL_OLD (another build's vivctl, e.g. one that still
    fetches ListContainers) the same with it, alternated call by call"""
    running = [c for c in B.list_containers() if c[3] == "running"]
    if not running:
        return
    name, ident = running[len(running) // 2][0], str(running[len(running) // 2][2])
    progs = {"": "vivctl"}
    if VIVCTL_OLD:
        progs["_old"] = VIVCTL_OLD
    times = {}
    for _ in range(11):
        for suffix, prog in progs.items():
            for verb, arg in (("dominfo", name), ("domstate", ident)):
                t = time.perf_counter()
                B.run(prog, verb, arg, stdout=subprocess.DEVNULL)
                times.setdefault(f"vivctl_{verb}{suffix}_ms", []).append((time.perf_counter() - t) * 1000)
    for k, v in times.items():
        row[k] = statistics.median(v)


def restart(row):
    """systemctl restart vivariumd with all running: until the first call is
    answered, until all are adopted (the journal's lines), and who kept its Id"""
    ids = {c[0]: c[2] for c in B.list_containers() if c[3] == "running"}
    since = time.strftime("%Y-%m-%d %H:%M:%S")
    time.sleep(1)   # the journal's --since has whole seconds
    t = time.perf_counter()
    B.run("systemctl", "restart", "vivariumd.service")
    # busctl's own timeout is 25 s: the first call may wait behind the adoption
    B.run("busctl", "--timeout=300", "call", "org.vivarium1", "/org/vivarium1", "org.vivarium1.Manager",
          "ListContainers", stdout=subprocess.DEVNULL)
    row["restart_first_call_s"] = time.perf_counter() - t
    adopted = 0
    end = time.time() + 300
    while time.time() < end:
        j = subprocess.run(["journalctl", "-q", "--no-pager", "-u", "vivariumd.service", "--since", since],
                           stdout=subprocess.PIPE, text=True).stdout
        adopted = j.count("Adopted running container")
        if adopted >= len(ids):
            break
        time.sleep(0.2)
    row["restart_all_adopted_s"] = time.perf_counter() - t
    row["restart_adopted"] = adopted
    after = {c[0]: c[2] for c in B.list_containers() if c[3] == "running"}
    row["restart_same_id"] = sum(1 for k, v in ids.items() if after.get(k) == v)
    row["restart_lost"] = len(ids) - row["restart_same_id"]


def stage_vivarium(res):
    with open(f"{B.XMLDIR}/scale.xml", "w") as fh:
        fh.write(scale_xml())
    if SERIAL:
        stage_vivarium_serial(res)
    stage_vivarium_parallel(res)


def stage_vivarium_serial(res):
    mp = B.manager_pid()
    s = {"n": N, "list_ms": {0: list_ms()}, "quarters": []}
    res["serial"] = s
    cpu0 = cpu_s(mp)
    q = N // 4
    for k in range(4):
        n = q if k < 3 else N - 3 * q
        B.log(f"scale: serial, quarter {k + 1} ({n})")
        s["quarters"].append(batch("create", n, f"s{k}-"))
        s["list_ms"][q * k + n] = list_ms()
    s["all_running_s"] = sum(x["elapsed_s"] for x in s["quarters"])
    s["running"] = running_count()
    s["manager_cpu_s"] = cpu_s(mp) - cpu0
    manager_facts(s)
    B.log("scale: manager restart")
    restart(s)
    B.log("scale: destroying")
    s["destroy"] = destroy_all([(x["ok"] + x["failed"], f"s{k}-") for k, x in enumerate(s["quarters"])])
    res["serial"] = s


def stage_vivarium_parallel(res):
    B.log(f"scale: {CLIENTS} clients")
    p = {"n": N}
    res["parallel"] = p
    mp = B.manager_pid()
    cpu0 = cpu_s(mp)

    def quarter(k, count):
        _, r = parallel("create", split(count, f"p{k}-"))
        return sum(x["ok"] for x in r), sum(x["failed"] for x in r)
    p["quarters"] = quartered(N, quarter)
    p["all_running_s"] = sum(x["elapsed_s"] for x in p["quarters"])
    p["failed"] = sum(x["failed"] for x in p["quarters"])
    parts = [pt for k, x in enumerate(p["quarters"]) for pt in split(x["n"], f"p{k}-")]
    p["running"] = running_count()
    p["manager_cpu_s"] = cpu_s(mp) - cpu0
    p["list_ms_at_n"] = list_ms()
    manager_facts(p)
    p["destroy"] = destroy_all(parts)
    res["parallel"] = p


def crun_prepare():
    import json
    os.makedirs(CRUN_BUNDLE, exist_ok=True)
    with open(B.BUNDLE + "/config.json") as fh:
        spec = json.load(fh)
    spec["process"]["args"] = ["/bin/sleep", "100000"]
    spec["root"] = {"path": B.ROOT_TMPFS, "readonly": True}
    spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "size=1m"]})
    with open(CRUN_BUNDLE + "/config.json", "w") as fh:
        json.dump(spec, fh, indent=1)


def crun_many(names, op):
    fails = []
    for name in names:
        cmd = (["crun", "--systemd-cgroup", "run", "-d", "-b", CRUN_BUNDLE, name] if op == "run"
               else ["crun", "--systemd-cgroup", "delete", "-f", name])
        # a file, not a pipe: the detached container keeps crun's stderr open
        with tempfile.TemporaryFile(mode="w+") as err:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            if p.returncode != 0:
                err.seek(0)
                fails.append(err.read().strip()[-200:])
    return fails


def crun_parallel(names, op, clients):
    el, fails = at_once([lambda ns=names[k::clients]: crun_many(ns, op) for k in range(clients)])
    return el, [f for part in fails for f in part]


def crun_running():
    o = B.out("crun", "list", "-q")
    return len([x for x in o.split() if x.startswith("sc-")])


def stage_crun(res):
    crun_prepare()
    r = {}
    for label, clients in (("serial", 1), ("parallel", CLIENTS)):
        if label == "serial" and not SERIAL:
            continue
        names = [f"sc-{label[0]}{i}" for i in range(N)]
        B.log(f"scale: crun, {label}")
        if clients == 1:
            el, fails = crun_parallel(names, "run", clients)
            row = {}
        else:
            errors = []

            def quarter(k, count, names=names, errors=errors):
                q = N // 4
                _, f = crun_parallel(names[k * q:k * q + count], "run", clients)
                errors.extend(f)
                return count - len(f), len(f)
            row = {"quarters": quartered(N, quarter)}
            el, fails = sum(x["elapsed_s"] for x in row["quarters"]), errors
        row.update({"all_running_s": el, "failed": len(fails), "errors": fails[:3], "running": crun_running()})
        el, fails = crun_parallel(names, "delete", CLIENTS)
        row["destroy_s"] = el
        row["destroy_failed"] = len(fails)
        row["left"] = crun_running()
        r[label] = row
    res["crun"] = r


def floor_many(names):
    """systemd-run --scope of sleep, one at a time: each returns once its
    command runs (it writes into a pipe that we read; EOF: systemd-run
    failed; bash: dash takes no fd above 9), as vivctl create returns once
    init runs"""
    fails = []
    for name in names:
        r, w = os.pipe()
        p = subprocess.Popen(["systemd-run", "--scope", "-q", "-u", name, "--", "/bin/bash", "-c",
                              f"echo >&{w}; exec {w}>&-; exec /bin/sleep 100000"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as fh:
            if not fh.read():
                fails.append(name)
        p.returncode = 0    # it runs on as the scope's process: not waited for
    return fails


def running_scopes(pattern):
    o = B.out("systemctl", "list-units", "--plain", "--no-legend", "--state=running", pattern)
    return len([x for x in o.splitlines() if x.strip()])


def floor_finish(r, pattern, kill=False):
    """a floor's totals once its quarters ran, then its scopes stopped
    (PATTERN); KILL: SIGKILLed first (start-floor's init is its PID
    namespace's PID 1, which SIGTERM does not end: systemd would wait 90 s)"""
    r["all_running_s"] = sum(x["elapsed_s"] for x in r["quarters"])
    r["failed"] = sum(x["failed"] for x in r["quarters"])
    r["running"] = running_scopes(pattern)
    t = time.perf_counter()
    if kill:
        subprocess.run(["systemctl", "kill", "--signal=SIGKILL", pattern],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["systemctl", "stop", pattern], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r["destroy_s"] = time.perf_counter() - t
    r["left"] = running_scopes(pattern)


def stage_floor(res):
    """the physical floor of a start through systemd: its scope job, alone"""
    r = {"n": N}
    res["floor"] = r
    B.log(f"scale: systemd-run --scope, {CLIENTS} clients")
    names = [f"fl-{i}" for i in range(N)]

    def quarter(k, count):
        q = N // 4
        part = names[k * q:k * q + count]
        _, fails = at_once([lambda ns=part[c::CLIENTS]: floor_many(ns) for c in range(CLIENTS)])
        f = sum(len(x) for x in fails)
        return count - f, f
    r["quarters"] = quartered(N, quarter)
    floor_finish(r, "fl-*.scope")


def stage_nsfloor(res):
    """the least a container start through systemd does (bench/start-floor.c):
    the scope job with vivariumd's properties, a supervisor that stays in it,
    init in new namespaces with its root and /tmp, RegisterMachine; no
    manager, no exec but init's, by the same 8 clients"""
    r = {"n": N}
    res["nsfloor"] = r
    B.log(f"scale: start-floor, {CLIENTS} clients")
    floor = os.path.join(os.path.dirname(B.CLIENT), "start-floor")

    def quarter(k, count):
        _, res_ = at_once([lambda n=n, pf=pf: run_counted([floor, str(n), pf, B.ROOT_TMPFS], n)
                           for n, pf in split(count, f"nf{k}-")])
        errs = [x["errors"] for x in res_ if x["errors"]]
        if errs:
            r.setdefault("errors", []).extend(errs[:2])
        return sum(x["ok"] for x in res_), sum(x["failed"] for x in res_)
    r["quarters"] = quartered(N, quarter)
    floor_finish(r, "machine-nf*.scope", kill=True)


def stage_scale(res):
    r = {"n": N, "clients": CLIENTS}
    res["scale"] = r    # what was measured stays, if a later part fails
    if "vivarium" in RUNTIMES:
        stage_vivarium(r)
    if "crun" in RUNTIMES:
        stage_crun(r)
    if "floor" in RUNTIMES:
        stage_floor(r)
    if "nsfloor" in RUNTIMES:
        stage_nsfloor(r)


def report_scale(sc, lines):
    report_quarters(sc, lines)
    if "serial" not in sc or "serial" not in sc.get("crun", {}):
        return
    s, p, c = sc["serial"], sc["parallel"], sc["crun"]
    n = sc["n"]
    lines.append(f"### Scale: {n} containers running `sleep` (private busybox root: one read-only root on a "
                 f"tmpfs, idmapped, and a 1 MiB tmpfs each)")
    lines.append("")
    lines.append("| | Vivarium, serial | Vivarium, 8 clients | crun, serial | crun, 8 clients |")
    lines.append("| --- | ---: | ---: | ---: | ---: |")
    lines.append(f"| all running, s | {s['all_running_s']:.1f} | {p['all_running_s']:.1f} | "
                 f"{c['serial']['all_running_s']:.1f} | {c['parallel']['all_running_s']:.1f} |")
    lines.append(f"| running / failed | {s['running']} / {sum(q['failed'] for q in s['quarters'])} | "
                 f"{p['running']} / {p['failed']} | {c['serial']['running']} / {c['serial']['failed']} | "
                 f"{c['parallel']['running']} / {c['parallel']['failed']} |")
    lines.append(f"| Vivarium / crun | {s['all_running_s'] / c['serial']['all_running_s']:.2f} | "
                 f"{p['all_running_s'] / c['parallel']['all_running_s']:.2f} | | |")
    lines.append(f"| destroy all (8 clients), s | {s['destroy']['all_gone_s']:.1f} | {p['destroy']['all_gone_s']:.1f} | "
                 f"{c['serial']['destroy_s']:.1f} | {c['parallel']['destroy_s']:.1f} |")
    lines.append(f"| left after destroy | {s['destroy']['left_helpers'] + s['destroy']['left_scopes']} | "
                 f"{p['destroy']['left_helpers'] + p['destroy']['left_scopes']} | {c['serial']['left']} | "
                 f"{c['parallel']['left']} |")
    lines.append(f"| manager CPU while starting, s | {s['manager_cpu_s']:.1f} | {p['manager_cpu_s']:.1f} | | |")
    lines.append(f"| manager RSS, MiB / fds | {s['manager_rss_kib'] / 1024:.1f} / {s['manager_fds']} | "
                 f"{p['manager_rss_kib'] / 1024:.1f} / {p['manager_fds']} | | |")
    lines.append(f"| helper RSS / PSS, KiB (median) | {s['helper_rss_kib_median']} / {s['helper_pss_kib_median']} | "
                 f"{p['helper_rss_kib_median']} / {p['helper_pss_kib_median']} | | |")
    lines.append(f"| `vivctl list`, ms | {s['vivctl_list_s'] * 1000:.0f} | {p['vivctl_list_s'] * 1000:.0f} | | |")
    for key, what in (("vivctl_dominfo", "`vivctl dominfo NAME`"), ("vivctl_domstate", "`vivctl domstate ID`")):
        for suffix, which in (("", ""), ("_old", " (BENCH_SCALE_VIVCTL_OLD)")):
            if key + suffix + "_ms" in s:
                lines.append(f"| {what}{which}, ms (median) | {s[key + suffix + '_ms']:.1f} | "
                             f"{p.get(key + suffix + '_ms', 0):.1f} | | |")
    lines.append("")
    lines.append("| containers running | 0 | " + " | ".join(str(k) for k in list(s["list_ms"])[1:]) + " |")
    lines.append("| --- |" + " ---: |" * len(s["list_ms"]))
    lines.append("| ListContainers, ms (median) | " + " | ".join(f"{v:.2f}" for v in s["list_ms"].values()) + " |")
    qs = s["quarters"]
    lines.append("| serial start of that quarter, ms per container | | " +
                 " | ".join(f"{q['elapsed_s'] * 1000 / max(q['ok'] + q['failed'], 1):.1f}" for q in qs) + " |")
    lines.append("")
    lines.append(f"Manager restart with {s['running']} running: first call answered after "
                 f"{s['restart_first_call_s']:.2f} s, all adopted ({s['restart_adopted']}) after "
                 f"{s['restart_all_adopted_s']:.2f} s; {s['restart_same_id']} kept their helper, "
                 f"{s['restart_lost']} lost.")
    lines.append("")


def report_quarters(sc, lines):
    """the 8-client runs side by side, quarter by quarter"""
    rows = [("Vivarium (`CreateXML`)", sc.get("parallel", {})),
            ("crun --systemd-cgroup run -d", sc.get("crun", {}).get("parallel", {})),
            ("systemd-run --scope (the floor)", sc.get("floor", {})),
            ("start-floor (scope, namespaces, machined)", sc.get("nsfloor", {}))]
    rows = [(label, r) for label, r in rows if r.get("quarters")]
    if not rows:
        return
    n = sc["n"]
    lines.append(f"### {n} containers by {sc['clients']} clients, quarter by quarter")
    lines.append("")
    lines.append("| runtime | all running, s | / floor | " +
                 " | ".join(f"ms a start, quarter {k + 1}" for k in range(4)) +
                 " | CPU s of systemd / dbus-daemon / vivariumd, last quarter | failed |")
    lines.append("| --- | ---: | ---: |" + " ---: |" * 4 + " --- | ---: |")
    floor = sc.get("floor", {}).get("all_running_s")
    for label, r in rows:
        qs = r["quarters"]
        last = qs[-1]
        cpu = " / ".join(f"{last[k]:.1f}" if k in last else "-"
                         for k in ("systemd_cpu_s", "dbus_cpu_s", "manager_cpu_s"))
        ratio = f"{r['all_running_s'] / floor:.2f}" if floor else ""
        lines.append(f"| {label} | {r['all_running_s']:.1f} | {ratio} | " +
                     " | ".join(f"{q['elapsed_s'] * 1000 / max(q['n'], 1):.1f}" for q in qs) +
                     f" | {cpu} | {r.get('failed', 0)} |")
    lines.append("")
    report_cpu_by_comm(rows, lines)
    p = sc.get("parallel", {})
    if "list_ms_at_n" in p:
        lines.append(f"ListContainers with {p['running']} running (median of 100 calls): {p['list_ms_at_n']:.2f} ms; "
                     f"manager RSS {p['manager_rss_kib'] / 1024:.1f} MiB, destroy all "
                     f"{p['destroy']['all_gone_s']:.1f} s (crun "
                     f"{sc.get('crun', {}).get('parallel', {}).get('destroy_s', 0):.1f} s, "
                     f"`systemctl stop` of the floor's scopes {sc.get('floor', {}).get('destroy_s', 0):.1f} s).")
        lines.append("")


# the processes shown by name in the table of CPU per start; the rest is summed
CPU_SHOWN = ("systemd (PID 1)", "dbus-daemon", "vivariumd", "vivarium-helper", "sleep", "systemd-machine",
             "systemd-journal", "crun", "systemd-run", "bash", "python3", "start-floor")


def report_cpu_by_comm(rows, lines):
    """CPU ms per start of every process of the test host, by name, first
    quarter -> last quarter of each 8-client run (utime + stime, children's
    included: what the bench's clients spawn counts as python3)"""
    rows = [(label, r["quarters"]) for label, r in rows if "cpu_by_comm_s" in r["quarters"][0]]
    if not rows:
        return
    lines.append("CPU per start by process (ms, utime + stime of the test host's processes, their waited-for "
                 "children's included), first quarter → last quarter:")
    lines.append("")
    lines.append("| runtime | " + " | ".join(f"`{c}`" for c in CPU_SHOWN) + " | the rest | all |")
    lines.append("| --- |" + " ---: |" * (len(CPU_SHOWN) + 2))
    for label, qs in rows:
        cells = []
        for name in CPU_SHOWN + ("", None):
            vals = []
            for q in (qs[0], qs[-1]):
                by = q["cpu_by_comm_s"]
                if name is None:
                    v = sum(by.values())
                elif name == "":
                    v = sum(x for k, x in by.items() if k not in CPU_SHOWN)
                else:
                    v = by.get(name, 0)
                vals.append(v * 1000 / max(q["n"], 1))
            cells.append("" if not any(vals) else f"{vals[0]:.1f} → {vals[1]:.1f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
