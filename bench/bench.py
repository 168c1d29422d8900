#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The measuring half of bench/run.

  bench.py inner OUTFILE STAGE...   inside the test host: prepare the busybox root,
                                    the crun bundle and the XMLs, run the stages,
                                    write the raw numbers to OUTFILE (JSON)
  bench.py report RAW OUTDIR        on the machine: statistics, latest.json and a
                                    timestamped copy, gnuplot plots, the Markdown
                                    table (printed, and written to OUTDIR/table.md)

Parameters come from the environment: BENCH_RUNS, BENCH_DENSITY, BENCH_API_N,
BENCH_WINDOW, BENCH_QUICK, BENCH_CLIENT (the bench-client binary),
BENCH_SOAK_CYCLES, BENCH_SCALE_N (the scale stage: bench/scale.py).
"""
import glob
import json
import os
import platform
import random
import re
import select
import shutil
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from phases import pct  # noqa: E402  (bench/phases.py: the percentiles of both)

WORK = "/var/lib/vivarium-bench"
ROOT = WORK + "/root"
# The same root on a tmpfs: overlayfs (the test host's /) cannot be idmapped,
# so the user namespace pair (issue 11) starts from here, with and without one.
ROOT_TMPFS = "/run/vivarium-bench-root"
MARK = WORK + "/mark"
BUNDLE = WORK + "/crun"
XMLDIR = WORK + "/xml"
HELPER = "/usr/libexec/vivarium/vivarium-helper"

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS") or (10 if QUICK else 50))
DENSITY = [int(n) for n in (os.environ.get("BENCH_DENSITY") or ("20" if QUICK else "100 250 500")).split()]
API_N = int(os.environ.get("BENCH_API_N") or (20 if QUICK else 500))
WINDOW = int(os.environ.get("BENCH_WINDOW") or 32)
CLIENT = os.environ.get("BENCH_CLIENT", "bench-client")
SOAK_CYCLES = int(os.environ.get("BENCH_SOAK_CYCLES") or (40 if QUICK else 1000))


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def run(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, **kw)


def out(*cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout


# --- preparation (inside the host) --------------------------------------------

# userns: the <vivarium:userns> mode; "off" unless asked: ROOT is on the test
# host's overlayfs, which the default user namespace cannot idmap ("" = the
# default, a picked range)
def domain_xml(name, init, args=(), extra_devices="", features="", root=ROOT, userns="off"):
    a = "".join(f"<initarg>{x}</initarg>" for x in args)
    u = f"<vivarium:userns mode='{userns}'/>\n" if userns else ""
    return f"""<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
<name>{name}</name>
<memory>102400</memory>
{u}<os><type>exe</type><init>{init}</init>{a}</os>
{features}<devices>
<filesystem type='mount'><source dir='{root}'/><target dir='/'/></filesystem>
{extra_devices}<console type='pty'/>
</devices>
</domain>
"""


def prepare():
    busybox = shutil.which("busybox")
    if not busybox or "statically linked" not in out("file", "-L", busybox):
        sys.exit("bench: a static busybox is needed (busybox-static)")
    shutil.rmtree(WORK, ignore_errors=True)
    for d in ("bin", "etc", "usr/lib", "dev", "proc", "sys", "tmp", "mark", "run"):
        os.makedirs(f"{ROOT}/{d}", exist_ok=True)
    shutil.copy(busybox, ROOT + "/bin/busybox")
    for t in ("sh", "true", "sleep", "echo", "cat", "ls"):
        os.symlink("busybox", f"{ROOT}/bin/{t}")
    # systemd-nspawn wants an os-release file to accept a directory as an OS tree.
    for f in ("etc/os-release", "usr/lib/os-release"):
        with open(f"{ROOT}/{f}", "w") as fh:
            fh.write("ID=busybox\nNAME=busybox\n")
    shutil.rmtree(ROOT_TMPFS, ignore_errors=True)
    shutil.copytree(ROOT, ROOT_TMPFS, symlinks=True)
    os.makedirs(MARK, exist_ok=True)
    os.makedirs(XMLDIR, exist_ok=True)
    # crun's bundle: crun's own default spec, edited.
    os.makedirs(BUNDLE, exist_ok=True)
    run("crun", "spec", cwd=BUNDLE)
    with open(BUNDLE + "/config.json") as fh:
        spec = json.load(fh)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/true"]
    spec["root"] = {"path": ROOT, "readonly": True}
    with open(BUNDLE + "/config.json", "w") as fh:
        json.dump(spec, fh, indent=1)
    # The manager stays up between runs: an idle exit would put D-Bus activation
    # into the measurement.
    os.makedirs("/run/systemd/system/vivariumd.service.d", exist_ok=True)
    with open("/run/systemd/system/vivariumd.service.d/bench.conf", "w") as fh:
        fh.write("[Service]\nEnvironment=VIVARIUM_IDLE_TIMEOUT=0\n")
        # An experiment, not the product's setting: what the manager's fd limit costs.
        if os.environ.get("BENCH_MANAGER_NOFILE"):
            fh.write(f"LimitNOFILE={int(os.environ['BENCH_MANAGER_NOFILE'])}\n")
    run("systemctl", "daemon-reload")
    run("vivctl", "list", stdout=subprocess.DEVNULL)   # activates vivariumd


def machine_facts():
    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "mem_total_kib": mem,
        "kernel": platform.release(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "systemd": out("systemctl", "--version").split("\n")[0],
        "crun": out("crun", "--version").split("\n")[0],
        # The machine may be shared: the load says how quiet it was.
        "loadavg": open("/proc/loadavg").read().split()[:3],
        "cgroup": "unified" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "hybrid",
    }


# --- 1. start latency ---------------------------------------------------------

SCOPE_FLOOR = ["systemd-run", "--scope", "-q", "--"]
UNSHARE_FLOOR = ["unshare", "-m", "-p", "-u", "-i", "-n", "-C", "--fork"]

def stage_start(res):
    n = RUNS
    for i in range(n):
        with open(f"{XMLDIR}/true-{i}.xml", "w") as fh:
            fh.write(domain_xml(f"bt-{i}", "/bin/true"))
        for kind, mode in (("tmpfs", "off"), ("userns", "")):
            with open(f"{XMLDIR}/{kind}-{i}.xml", "w") as fh:
                fh.write(domain_xml(f"b{kind[0]}-{i}", "/bin/true", root=ROOT_TMPFS, userns=mode))
    cmds = {
        "vivarium": lambda i: ["vivctl", "create", "--wait", f"{XMLDIR}/true-{i}.xml"],
        "vivarium-tmpfs": lambda i: ["vivctl", "create", "--wait", f"{XMLDIR}/tmpfs-{i}.xml"],
        "vivarium-userns": lambda i: ["vivctl", "create", "--wait", f"{XMLDIR}/userns-{i}.xml"],
        "crun": lambda i: ["crun", "--systemd-cgroup", "run", "-b", BUNDLE, f"bench-crun-{i}"],
        "nspawn": lambda i: ["systemd-nspawn", "-q", "-D", ROOT, "/bin/true"],
        "unshare": lambda i: UNSHARE_FLOOR + ["/bin/true"],
        # the floor's price of a user namespace (-r: root mapped to ours)
        "unshare-userns": lambda i: ["unshare", "-U", "-r", "-m", "-p", "-u", "-i", "-n", "-C", "--fork", "/bin/true"],
        # the floors through systemd: systemd-run makes a transient scope of
        # itself and waits for its job (JobRemoved) before it execs the
        # command, the job that crun and Vivarium wait for too; alone, and
        # with the namespaces of the floor above
        "scope": lambda i: SCOPE_FLOOR + ["/bin/true"],
        "scope-unshare": lambda i: SCOPE_FLOOR + UNSHARE_FLOOR + ["/bin/true"],
    }
    names = list(cmds)
    # One warm-up each (page cache, activation, machined).
    for name in names:
        run(*cmds[name](n if not name.startswith("vivarium") else 0), check=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.path.exists(f"{XMLDIR}/true-0.xml"):
        with open(f"{XMLDIR}/true-0.xml", "w") as fh:
            fh.write(domain_xml("bt-warm", "/bin/true"))
        run("vivctl", "create", "--wait", f"{XMLDIR}/true-0.xml", check=False)
        with open(f"{XMLDIR}/true-0.xml", "w") as fh:
            fh.write(domain_xml("bt-0", "/bin/true"))
    samples = {k: [] for k in names}
    failures = {k: [] for k in names}
    for i in range(n):
        # Rotate the order run by run, so every runtime takes every position.
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            cmd = cmds[name](i)
            t = time.perf_counter()
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            dt = time.perf_counter() - t
            if p.returncode == 0:
                samples[name].append(dt * 1000)
            else:
                failures[name].append(f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
        if (i + 1) % 10 == 0:
            log(f"start: {i + 1}/{n}")
    res["start"] = {"runs": n, "samples_ms": samples,
                    "failures": {k: v[:3] for k, v in failures.items() if v},
                    "failure_count": {k: len(v) for k, v in failures.items()}}


# --- 1b. where a start's time goes (VIVARIUM_TRACE, issue 14) ------------------

TRACE_FILE = "/run/vivarium-bench-trace"


def stage_trace(res):
    """BENCH_RUNS traced starts each of the default (a user namespace, root on
    the tmpfs) and of mode='off' on the overlay, alternated; the manager and its
    helpers get VIVARIUM_TRACE through a drop-in, vivctl through its
    environment. bench/phases.py makes the medians per phase."""
    import phases as vtrace
    conf = "/run/systemd/system/vivariumd.service.d/trace.conf"
    with open(conf, "w") as fh:
        fh.write(f"[Service]\nEnvironment=VIVARIUM_TRACE={TRACE_FILE}\n")
    run("systemctl", "daemon-reload")
    run("systemctl", "restart", "vivariumd")
    kinds = {"userns": lambda i: domain_xml(f"tu-{i}", "/bin/true", root=ROOT_TMPFS, userns=""),
             "off": lambda i: domain_xml(f"to-{i}", "/bin/true")}
    if os.path.exists(TRACE_FILE):
        os.unlink(TRACE_FILE)
    env = dict(os.environ, VIVARIUM_TRACE=TRACE_FILE)
    try:
        for i in range(-1, RUNS):           # -1: a warm-up each
            for k, xml in kinds.items():
                path = f"{XMLDIR}/trace-{k}.xml"
                with open(path, "w") as fh:
                    fh.write(xml(i if i >= 0 else "warm"))
                with open(TRACE_FILE, "a") as fh:
                    fh.write(f"{time.monotonic():.6f} bench 0 {k if i >= 0 else 'warm'}\n")
                run("vivctl", "create", "--wait", path, env=env, check=False,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out_ = {k: vtrace.analyse(TRACE_FILE, k) for k in kinds}
        shutil.copy(TRACE_FILE, WORK + "/trace.log")
    finally:
        os.unlink(conf)
        run("systemctl", "daemon-reload")
        run("systemctl", "restart", "vivariumd")
    res["trace"] = out_


# --- 2. start to ready ---------------------------------------------------------

def wait_gone(name, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        p = subprocess.run(["vivctl", "domstate", name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if "shut off" in p.stdout:
            return True
        time.sleep(0.01)
    return False


# The floors of start-to-ready, run in turn with Vivarium's variants: the
# same busybox sh as init writes the marker into a FIFO of its own (on the
# host's file system: no root change), through the floor's namespaces, a
# transient scope, or both; timed until the marker, like Vivarium's.
READY_FLOORS = {
    "floor-unshare": UNSHARE_FLOOR,
    "floor-scope": SCOPE_FLOOR,
    "floor-scope-unshare": SCOPE_FLOOR + UNSHARE_FLOOR,
}


def stage_ready(res):
    variants = {
        "plain": ("", ""),
        "privnet": ("<features><privnet/></features>\n", ""),
        "ethernet": ("", "<interface type='ethernet'/>\n"),
    }
    mount = f"<filesystem type='mount'><source dir='{MARK}'/><target dir='/mark'/></filesystem>\n"
    usable = []
    cmds = {}
    os.makedirs(f"{MARK}", exist_ok=True)
    for v in list(variants) + list(READY_FLOORS):
        fifo = f"{MARK}/{v}"
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
    for v, (features, iface) in variants.items():
        xml = domain_xml(f"ready-{v}", "/bin/sh", ["-c", f"echo ready &gt; /mark/{v}; exec sleep 100000"],
                         extra_devices=mount + iface, features=features)
        path = f"{XMLDIR}/ready-{v}.xml"
        with open(path, "w") as fh:
            fh.write(xml)
        run("vivctl", "define", path, stdout=subprocess.DEVNULL)
        cmds[v] = ["vivctl", "start", f"ready-{v}"]
        usable.append(v)
    for v, floor in READY_FLOORS.items():
        cmds[v] = floor + [f"{ROOT}/bin/sh", "-c", f"echo ready > {MARK}/{v}"]
        usable.append(v)
    samples = {v: {"ready_ms": [], "start_return_ms": []} for v in usable}
    failures = {v: [] for v in usable}
    for i in range(RUNS):
        order = usable[i % len(usable):] + usable[:i % len(usable)]
        for v in order:
            if len(failures[v]) >= 3 and not samples[v]["ready_ms"]:
                continue   # this variant does not work here
            fd = os.open(f"{MARK}/{v}", os.O_RDONLY | os.O_NONBLOCK)
            try:
                t = time.perf_counter()
                p = subprocess.Popen(cmds[v], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                r, _, _ = select.select([fd], [], [], 20)
                t_ready = time.perf_counter()
                _, err = p.communicate()
                t_ret = time.perf_counter()
                if p.returncode != 0 or not r:
                    failures[v].append(err.strip() or "no marker within 20 s")
                else:
                    os.read(fd, 64)
                    samples[v]["ready_ms"].append((t_ready - t) * 1000)
                    samples[v]["start_return_ms"].append((t_ret - t) * 1000)
            finally:
                os.close(fd)
            if v in variants:
                run("vivctl", "destroy", f"ready-{v}", check=False, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
                wait_gone(f"ready-{v}")
    for v in variants:
        run("vivctl", "undefine", f"ready-{v}", check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res["ready"] = {"runs": RUNS, "samples": samples,
                    "failures": {k: v[:3] for k, v in failures.items() if v},
                    "failure_count": {k: len(v) for k, v in failures.items()}}


# --- 3. density ----------------------------------------------------------------

def list_containers():
    j = json.loads(out("busctl", "--json=short", "call", "org.vivarium1", "/org/vivarium1",
                       "org.vivarium1.Manager", "ListContainers"))
    return j["data"][0]


def uss_kib(pid):
    v = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    v += int(line.split()[1])
    except OSError:
        return None
    return v


def uss_by_mapping(pid):
    """Private_Clean+Private_Dirty of one process per mapped file ([heap],
    [stack], anonymous...), largest first: what a helper's USS is made of."""
    acc = {}
    cur = None
    try:
        with open(f"/proc/{pid}/smaps") as fh:
            for line in fh:
                f = line.split()
                if "-" in f[0] and len(f) >= 5 and not f[0].endswith(":"):
                    cur = f[5] if len(f) > 5 else "[anon]"
                    cur = os.path.basename(cur) if cur.startswith("/") else cur
                elif f[0] in ("Private_Clean:", "Private_Dirty:"):
                    acc[cur] = acc.get(cur, 0) + int(f[1])
    except OSError:
        return {}
    return dict(sorted(((k, v) for k, v in acc.items() if v), key=lambda kv: -kv[1]))


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def manager_pid():
    return int(out("systemctl", "show", "-P", "MainPID", "vivariumd.service").strip())


def helper_processes():
    """(pid, is the fork server) of every process running the helper binary"""
    found = []
    for p in glob.glob("/proc/[0-9]*/exe"):
        try:
            if os.readlink(p) != HELPER:
                continue
            pid = int(p.split("/")[2])
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                args = fh.read().split(b"\0")
            found.append((pid, len(args) > 1 and args[1] == b"--fork-server"))
        except OSError:
            pass
    return found


def helpers():
    """the containers' helpers: not the manager's fork server (one for all,
    ended with the manager)"""
    return [pid for pid, server in helper_processes() if not server]


def fork_servers():
    return [pid for pid, server in helper_processes() if server]


def machine_scopes():
    o = out("systemctl", "list-units", "--all", "--plain", "--no-legend", "machine-*.scope")
    return [l.split()[0] for l in o.splitlines() if l.strip()]


def client_calls(kind, count, name=None):
    args = [CLIENT, "calls", kind, str(count)] + ([name] if name else [])
    return [float(x) / 1000 for x in out(*args).split()]


def client_batch(op, n, prefix, tmpl=None):
    args = [CLIENT, op, str(n), prefix, str(WINDOW)] + ([tmpl] if tmpl else [])
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ok, failed, elapsed = p.stdout.split()
    return {"ok": int(ok), "failed": int(failed), "elapsed_s": float(elapsed), "errors": p.stderr.strip()[-600:]}


def stage_density(res):
    tmpl = f"{XMLDIR}/sleep.xml"
    with open(tmpl, "w") as fh:
        fh.write(domain_xml("@NAME@", "/bin/sleep", ["100000"]))
    rows = []
    for n in DENSITY:
        log(f"density: starting {n}")
        row = {"n": n, "window": WINDOW}
        row["create"] = client_batch("create", n, "d-", tmpl)
        cs = list_containers()
        running = [c for c in cs if c[3] == "running" and c[0].startswith("d-")]
        row["running"] = len(running)
        uss = [u for u in (uss_kib(c[2]) for c in running) if u is not None]
        rss = [r for r in (status_kib(c[2], "VmRSS") for c in running) if r is not None]
        row["helper_uss_kib"] = {"median": statistics.median(uss) if uss else None,
                                 "max": max(uss) if uss else None}
        row["helper_rss_kib_median"] = statistics.median(rss) if rss else None
        if running:
            row["helper_uss_by_mapping_kib"] = uss_by_mapping(running[0][2])
        # the fork server, one for all the helpers: its own USS (what it
        # shares with them is in their PSS, not in their USS)
        row["fork_server_uss_kib"] = sum(u for u in (uss_kib(p) for p in fork_servers()) if u is not None)
        mp = manager_pid()
        row["manager_rss_kib"] = status_kib(mp, "VmRSS")
        row["manager_fds"] = len(os.listdir(f"/proc/{mp}/fd"))
        calls = 20 if QUICK else 200
        row["list_ms"] = client_calls("list", calls)
        row["getxml_ms"] = client_calls("xml", calls, "d-0")
        log(f"density: destroying {n}")
        t = time.perf_counter()
        row["destroy"] = client_batch("destroy", n, "d-")
        end = time.time() + 120
        while time.time() < end and (helpers() or machine_scopes()):
            time.sleep(0.05)
        row["destroy"]["all_gone_s"] = time.perf_counter() - t
        row["left_helpers"] = len(helpers())
        row["left_scopes"] = machine_scopes()
        row["left_containers"] = [c[0] for c in list_containers() if c[0].startswith("d-")]
        rows.append(row)
        log(f"density {n}: created {row['create']['ok']} in {row['create']['elapsed_s']:.2f} s, "
            f"destroyed in {row['destroy']['all_gone_s']:.2f} s")
    res["density"] = rows


# --- 4. API --------------------------------------------------------------------

def stage_api(res):
    tmpl = f"{XMLDIR}/api.xml"
    with open(tmpl, "w") as fh:
        fh.write(domain_xml("@NAME@", "/bin/true"))
    r = {"defined": API_N}
    r["define"] = client_batch("define", API_N, "api-", tmpl)
    secs = "1" if QUICK else "3"
    for kind in ("list", "get", "prop", "xml"):
        calls, elapsed = out(CLIENT, "rate", kind, secs, "api-0").split()
        r[kind + "_per_s"] = int(calls) / float(elapsed)
    r["list_ms"] = client_calls("list", 20 if QUICK else 200)
    r["undefine"] = client_batch("undefine", API_N, "api-")
    res["api"] = r


# --- boot: a whole Debian with systemd as init (tools/mkroot's root) ------------

OS_ROOT = os.environ.get("BENCH_OS_ROOT", "")
BOOT_RUNS = int(os.environ.get("BENCH_BOOT_RUNS") or (2 if QUICK else 5))


def cgroup_pids(path):
    """Every PID below a cgroup directory (name=systemd on a hybrid host)."""
    pids = set()
    for d, _, files in os.walk(path):
        if "cgroup.procs" in files:
            try:
                pids.update(int(x) for x in open(os.path.join(d, "cgroup.procs")).read().split())
            except OSError:
                pass
    return pids


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def unit_cgroup(unit):
    rel = out("systemctl", "show", "-P", "ControlGroup", unit).strip()
    for base in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if rel and os.path.isdir(base + rel):
            return base + rel
    return None


def wait_idle_memory(pids_fn, settle=10.0):
    """PSS of a booted, idle container: read after it has settled."""
    time.sleep(settle)
    return pss_kib(pids_fn())


def analyze_userspace_ms(cmd):
    """systemd's own count of its boot ("Startup finished in 2.5s
    (userspace)"): from its start to the default target, so that the
    difference to the measured time is what the runtime spent before and
    around it."""
    text = subprocess.run(cmd + ["systemd-analyze", "time"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True).stdout
    m = re.search(r"in (?:(\d+)min )?([\d.]+)(ms|s) \(userspace\)", text)
    if not m:
        return None
    v = float(m.group(2)) * (1 if m.group(3) == "ms" else 1000)
    return v + int(m.group(1) or 0) * 60000


def blame(cmd):
    """The container's slowest units (systemd-analyze blame), for reading."""
    text = subprocess.run(cmd + ["systemd-analyze", "blame", "--no-pager"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True).stdout
    return [" ".join(x.split()) for x in text.splitlines()[:8]]


def boot_vivarium(i, mem, name="os", blames=None):
    t = time.monotonic()
    r = subprocess.run(["vivctl", "start", name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ms = (time.monotonic() - t) * 1000
    try:
        if r.returncode != 0:
            raise RuntimeError(r.stdout.strip())
        state = subprocess.run(["vivctl", "enter", name, "--", "systemctl", "is-system-running"],
                               stdout=subprocess.PIPE, text=True).stdout.strip()
        user = analyze_userspace_ms(["vivctl", "enter", name, "--"])
        if blames is not None and not blames:
            blames.extend(blame(["vivctl", "enter", name, "--"]))
        if mem is not None:
            mem.append(wait_idle_memory(lambda: cgroup_pids(unit_cgroup(f"machine-{name}.scope"))))
        return ms, state, user
    finally:
        subprocess.run(["vivctl", "destroy", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_unit_gone(f"machine-{name}.scope")


def wait_unit_gone(unit, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if subprocess.run(["systemctl", "is-active", "-q", unit]).returncode != 0:
            return
        time.sleep(0.1)


def boot_nspawn(i, userns, mem, blames=None):
    unit = f"nspbench-{i}-{int(userns)}"
    cmd = ["systemd-run", f"--unit={unit}", "-q", "-p", "Type=notify", "-p", "NotifyAccess=all"]
    if userns:
        # The test host's /proc has /proc/sys (and sysrq-trigger) bound over
        # itself read-only, as nspawn does for its own guests: the kernel then
        # refuses a new proc to a user namespace's root (mount_too_revealing),
        # and nspawn -U fails with "Failed to mount proc ... EPERM". Vivarium
        # mounts /proc before init enters its user namespace. For nspawn: a
        # mount namespace of its own in which those binds are gone, as on a
        # host that is no container.
        cmd += ["unshare", "-m", "--propagation", "private", "sh", "-c",
                "umount /proc/sysrq-trigger /proc/sys/net /proc/sys 2>/dev/null; exec \"$0\" \"$@\""]
    # -U on a copy of its own: where it cannot idmap it chowns the tree
    cmd += ["systemd-nspawn", "--notify-ready=yes", "-q", "-b", "-D", BOOT_ROOT + ("-U" if userns else ""), "-M", "nsp"]
    if userns:
        cmd.append("-U")
    t = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ms = (time.monotonic() - t) * 1000
    try:
        if r.returncode != 0:
            why = out("journalctl", "-u", unit, "-o", "cat", "--no-pager").strip().splitlines()
            why = [x for x in why if unit not in x] or why
            raise RuntimeError(" / ".join(why[-4:]) or r.stdout.strip())
        state = subprocess.run(["systemctl", "-M", "nsp", "is-system-running"], stdout=subprocess.PIPE,
                               text=True).stdout.strip()
        user = analyze_userspace_ms(["systemd-run", "-M", "nsp", "--wait", "-q", "-P"])
        if blames is not None and not blames:
            blames.extend(blame(["systemd-run", "-M", "nsp", "--wait", "-q", "-P"]))
        if mem is not None:
            mem.append(wait_idle_memory(lambda: cgroup_pids(unit_cgroup("machine-nsp.scope") or "/nonexistent")
                                        | cgroup_pids(unit_cgroup(unit + ".service") or "/nonexistent")))
        return ms, state, user
    finally:
        subprocess.run(["machinectl", "terminate", "nsp"], stderr=subprocess.DEVNULL)
        wait_unit_gone(unit + ".service")
        subprocess.run(["systemctl", "reset-failed", unit + ".service"], stderr=subprocess.DEVNULL)


BOOT_ROOT = "/srv/bench-os"


def stage_boot(res):
    """Start to 'booted' (systemd sent READY=1) of the same Debian root:
    vivctl start with <vivarium:notify/> (in the default user namespace, and
    with <vivarium:userns mode='off'/> plus sys_admin) against systemd-nspawn
    -b --notify-ready=yes under systemd-run -p Type=notify (both return when
    the container's systemd finished its boot), alternating; then the PSS of
    one idle booted container (its scope; nspawn's own process included). The
    root is a copy of tools/mkroot's on a tmpfs of the test host: its overlay
    cannot be idmapped."""
    if not OS_ROOT or not os.path.exists(OS_ROOT + "/lib/systemd/systemd"):
        raise SystemExit(f"bench: stage boot needs BENCH_OS_ROOT (tools/mkroot), got '{OS_ROOT}'")
    for d in (BOOT_ROOT, BOOT_ROOT + "-U"):
        if not os.path.exists(d + "/lib/systemd/systemd"):
            run("cp", "-a", OS_ROOT, d)
    common = f"""<memory unit='MiB'>512</memory><vivarium:notify/>
<os><type>exe</type><init>/sbin/init</init></os>
<devices><filesystem type='mount'><source dir='{BOOT_ROOT}'/><target dir='/'/></filesystem>
<console type='pty'/></devices>"""
    xmls = {"os": "", "osoff": """<vivarium:userns mode='off'/>
<features><capabilities policy='default'><sys_admin state='on'/></capabilities></features>"""}
    for name, extra in xmls.items():
        with open(f"{XMLDIR}/{name}.xml", "w") as fh:
            fh.write(f"""<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
<name>{name}</name>{extra}{common}</domain>
""")
        run("vivctl", "define", f"{XMLDIR}/{name}.xml", stdout=subprocess.DEVNULL)
    keys = ("vivarium", "vivarium off", "nspawn", "nspawn -U")
    samples = {k: [] for k in keys}
    states = {k: [] for k in samples}
    userspace = {k: [] for k in samples}
    failures = {k: [] for k in samples}
    blames = {k: [] for k in samples}
    mem = {"vivarium": [], "nspawn": []}

    def one(k, i, m):
        try:
            if k.startswith("vivarium"):
                ms, state, user = boot_vivarium(i, m, "osoff" if k == "vivarium off" else "os", blames[k])
            else:
                ms, state, user = boot_nspawn(i, k == "nspawn -U", m, blames[k])
            samples[k].append(ms)
            states[k].append(state)
            if user is not None:
                userspace[k].append(user)
        except Exception as e:  # noqa: BLE001 - recorded and shown
            failures[k].append(str(e)[:300])
            log(f"boot {k}: {e}")

    load = [os.getloadavg()[0]]
    # The first boot of a root does first-boot work (catalog, sysusers,
    # journal files): once, untimed, so neither runtime pays it.
    try:
        boot_vivarium(-1, None)
        boot_nspawn(-1, True, None)
    except Exception as e:  # noqa: BLE001
        log(f"boot warm-up: {e}")
    for i in range(BOOT_RUNS):
        order = keys if i % 2 == 0 else tuple(reversed(keys))
        for k in order:
            one(k, i, mem.get(k) if i == 1 else None)
    load.append(os.getloadavg()[0])
    for name in xmls:
        run("vivctl", "undefine", name, stdout=subprocess.DEVNULL)
    res["boot"] = {"runs": BOOT_RUNS, "root": OS_ROOT, "samples_ms": samples, "states": states,
                   "failures": failures, "idle_pss_kib": mem, "userspace_ms": userspace, "blame": blames,
                   "load": load}
# --- 5. soak: start/destroy cycles under faults (issue 13) ----------------------

def cgroup_dirs():
    """Directories under machine.slice in every hierarchy: what scopes and the
    helpers' supervisor/payload leaves leave behind."""
    n = 0
    for top in glob.glob("/sys/fs/cgroup/*/machine.slice") + glob.glob("/sys/fs/cgroup/machine.slice"):
        n += sum(1 for _ in os.walk(top)) - 1
    return n


def ours_processes():
    """Processes in containers' scopes or in vivariumd.service (the manager
    itself included): the rest of the host comes and goes on its own."""
    n = 0
    for p in glob.glob("/proc/[0-9]*/cgroup"):
        try:
            with open(p) as fh:
                cg = fh.read()
        except OSError:
            continue
        if "/machine.slice/" in cg or "/vivariumd.service" in cg:
            n += 1
    return n


def leak_counts():
    mp = manager_pid()
    veths = out("ip", "-o", "link", "show", "type", "veth")
    return {
        "processes": ours_processes(),
        "helpers": len(helpers()),
        "scopes": len(machine_scopes()),
        "cgroups": cgroup_dirs(),
        "mounts": sum(1 for _ in open("/proc/self/mountinfo")),
        "veths": len([l for l in veths.splitlines() if l.strip()]),
        "run_files": len([f for f in os.listdir("/run/vivarium/containers") if not f.startswith(".")]),
        "manager_rss_kib": status_kib(mp, "VmRSS") if mp else None,
        "manager_fds": len(os.listdir(f"/proc/{mp}/fd")) if mp else None,
    }


def manager_back(timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if subprocess.run(["vivctl", "list"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def settle(timeout=60):
    """Everything of the soak's containers gone (or the timeout)."""
    end = time.time() + timeout
    while time.time() < end:
        if not helpers() and not machine_scopes() and not glob.glob("/run/vivarium/containers/soak*"):
            return True
        time.sleep(0.1)
    return False


def stage_soak(res):
    """SOAK_CYCLES times: create a container with a veth, then destroy it, or
    SIGKILL its helper (1 in 10); in 1 cycle of 10 the manager gets SIGKILL at
    a random moment of the cycle (0-150 ms after the create was sent). Counts
    of what the host holds before and after, and the manager's RSS and fds
    every 100 cycles (a new process after each kill)."""
    rnd = random.Random(int(os.environ.get("BENCH_SOAK_SEED") or 13))
    xml = f"{XMLDIR}/soak.xml"
    with open(xml, "w") as fh:
        fh.write(domain_xml("soak", "/bin/sleep", ["100000"], extra_devices="<interface type='ethernet'/>\n"))
    manager_back()
    before = leak_counts()
    r = {"cycles": SOAK_CYCLES, "manager_kills": 0, "helper_kills": 0, "create_failed": 0,
         "destroy_failed": 0, "errors": {}, "checkpoints": [], "manager_not_back": 0}

    def note(kind, p):
        msg = (p.stderr or "").strip().splitlines()
        key = f"{kind}: " + (msg[-1][:160] if msg else f"exit {p.returncode}")
        r["errors"][key] = r["errors"].get(key, 0) + 1

    t0 = time.time()
    for i in range(SOAK_CYCLES):
        kill_manager = rnd.random() < 0.1
        kill_helper = rnd.random() < 0.1
        killer = None
        if kill_manager:
            mp = manager_pid()
            delay = rnd.uniform(0, 0.15)
            killer = threading.Timer(delay, lambda pid=mp: os.kill(pid, 9) if pid else None)
            killer.start()
            r["manager_kills"] += 1
        p = subprocess.run(["vivctl", "create", xml], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            r["create_failed"] += 1
            note("create", p)
        if killer:
            killer.join()
            if not manager_back():
                r["manager_not_back"] += 1
        st = subprocess.run(["vivctl", "domid", "soak"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        pid = st.stdout.strip()
        if kill_helper and pid.isdigit():
            r["helper_kills"] += 1
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass
        elif pid.isdigit():
            p = subprocess.run(["vivctl", "destroy", "soak"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
            if p.returncode != 0:
                r["destroy_failed"] += 1
                note("destroy", p)
        # the next cycle starts from nothing: wait for this one's end
        end = time.time() + 30
        while time.time() < end and subprocess.run(["vivctl", "domid", "soak"], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL).returncode == 0:
            time.sleep(0.02)
        if (i + 1) % 100 == 0 or i + 1 == SOAK_CYCLES:
            c = leak_counts()
            r["checkpoints"].append({"cycle": i + 1, "elapsed_s": round(time.time() - t0, 1),
                                     "manager_rss_kib": c["manager_rss_kib"], "manager_fds": c["manager_fds"],
                                     "processes": c["processes"], "run_files": c["run_files"]})
            log(f"soak: {i + 1}/{SOAK_CYCLES}, manager RSS {c['manager_rss_kib']} KiB, fds {c['manager_fds']}")
    r["elapsed_s"] = round(time.time() - t0, 1)
    r["settled"] = settle()
    after = leak_counts()
    r["before"] = before
    r["after"] = after
    r["left"] = {k: after[k] - before[k] for k in before if k not in ("manager_rss_kib", "manager_fds")}
    res["soak"] = r


def inner(outfile, stages):
    prepare()
    res = {"machine": machine_facts(), "quick": QUICK, "stages": stages,
           "params": {"runs": RUNS, "density": DENSITY, "api_n": API_N, "window": WINDOW,
                      "manager_nofile": os.environ.get("BENCH_MANAGER_NOFILE") or "default"}}
    for s in stages:
        log(f"stage {s}")
        t = time.time()
        if s == "scale":
            import scale    # bench/scale.py
            try:
                scale.stage_scale(res)
            except Exception as e:     # what was measured is kept, with the failure
                res.setdefault("scale", {})["error"] = repr(e)[-500:]
                log(f"scale: failed: {e!r}")
        else:
            globals()["stage_" + s](res)
        res.setdefault("stage_seconds", {})[s] = round(time.time() - t, 1)
        with open(outfile, "w") as fh:
            json.dump(res, fh)
    res["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    with open(outfile, "w") as fh:
        json.dump(res, fh)
    log("done")


# --- report (on the machine) ----------------------------------------------------

def summary(xs):
    if not xs:
        return None
    return {"n": len(xs), "median": pct(xs, 50), "p10": pct(xs, 10), "p90": pct(xs, 90),
            "min": min(xs), "max": max(xs)}


def gnuplot(script):
    if not shutil.which("gnuplot"):
        log("no gnuplot: plots skipped")
        return
    # With one N, gnuplot warns about an empty x range and widens it: fine.
    p = subprocess.run(["gnuplot"], input=script, text=True, check=False, stderr=subprocess.PIPE)
    for line in p.stderr.splitlines():
        if "empty x range" not in line:
            print("gnuplot:", line, file=sys.stderr)


def plot_density(rows, outdir):
    dat = f"{outdir}/.density.dat"
    with open(dat, "w") as fh:
        for r in rows:
            fh.write(f"{r['n']} {r['helper_uss_kib']['median'] or 0} {r['manager_rss_kib'] / 1024} "
                     f"{r['list_ms']['median']} {r['getxml_ms']['median']} {r['create']['elapsed_s']} "
                     f"{r['destroy']['all_gone_s']}\n")
    gnuplot(f"""set terminal pngcairo size 1200,450 noenhanced
set output '{outdir}/density.png'
set multiplot layout 1,3
set grid
set key bottom right
set xlabel 'containers running'
set title 'Memory (goals: 512 KiB, 32 MiB)'
set ylabel 'helper USS, KiB (median)'
set y2label 'vivariumd RSS, MiB'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot '{dat}' using 1:2 with linespoints lw 2 title 'helper USS, KiB', \\
     '{dat}' using 1:3 axes x1y2 with linespoints lw 2 title 'vivariumd RSS, MiB'
unset y2label
unset y2tics
set key top left
set ytics mirror
set title 'API latency (goal: ListContainers < 5 ms at 500)'
set ylabel 'ms (median)'
plot '{dat}' using 1:4 with linespoints lw 2 title 'ListContainers', \\
     '{dat}' using 1:5 with linespoints lw 2 title 'GetXML'
set title 'Start and destroy all (goal: 500 in 30 s)'
set ylabel 's'
plot '{dat}' using 1:6 with linespoints lw 2 title 'all running', \\
     '{dat}' using 1:7 with linespoints lw 2 title 'all gone'
unset multiplot
""")
    os.unlink(dat)


def start_floor(s):
    """The floor of a start through systemd against crun and the 0.75 × crun
    goal (issue 14): what the scope job alone takes, and what is left of the
    goal's budget for everything else of a start."""
    crun, scope = s.get("crun"), s.get("scope")
    if not crun or not scope:
        return None
    goal = 0.75 * crun["median"]
    f = {"scope_ms": scope["median"], "scope_to_crun": scope["median"] / crun["median"],
         "goal_ms": goal, "left_for_the_rest_ms": goal - scope["median"],
         "crun_beyond_scope_ms": crun["median"] - scope["median"]}
    for k in ("vivarium", "vivarium-userns"):
        if s.get(k):
            f[k + "_beyond_scope_ms"] = s[k]["median"] - scope["median"]
    if s.get("scope-unshare"):
        f["scope_unshare_ms"] = s["scope-unshare"]["median"]
        f["scope_unshare_to_crun"] = s["scope-unshare"]["median"] / crun["median"]
    return f


def start_floor_line(f):
    line = (f"The floor through systemd: the scope job alone {f['scope_ms']:.1f} ms = "
            f"{f['scope_to_crun']:.2f} × crun (median)")
    if "scope_unshare_ms" in f:
        line += f", with the namespaces {f['scope_unshare_ms']:.1f} ms = {f['scope_unshare_to_crun']:.2f} × crun"
    line += (f"; 0.75 × crun is {f['goal_ms']:.1f} ms, which leaves {f['left_for_the_rest_ms']:.1f} ms beyond the "
             f"scope job for everything else of a start (crun takes {f['crun_beyond_scope_ms']:.1f} ms beyond it")
    for k, what in (("vivarium", "Vivarium, mode='off'"), ("vivarium-userns", "Vivarium, the default")):
        if k + "_beyond_scope_ms" in f:
            line += f", {what} {f[k + '_beyond_scope_ms']:.1f}"
    return line + ")."


def report(raw_path, outdir):
    with open(raw_path) as fh:
        raw = json.load(fh)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    os.makedirs(outdir, exist_ok=True)
    res = {"timestamp": stamp, "machine": raw["machine"], "params": raw["params"],
           "quick": raw["quick"], "stage_seconds": raw.get("stage_seconds", {})}
    goals = []
    lines = []
    m = raw["machine"]
    lines.append(f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_total_kib'] // 1024} MiB, "
                 f"kernel {m['kernel']}, {m['systemd']}, {m['crun']}, cgroups {m['cgroup']}; "
                 f"one test host; {stamp}; load average {' '.join(m.get('loadavg', []))} at the start, "
                 f"{' '.join(m.get('loadavg_end', []))} at the end.")
    lines.append("")

    if "start" in raw:
        st = raw["start"]
        s = {k: summary(v) for k, v in st["samples_ms"].items()}
        res["start"] = {"runs": st["runs"], "latency_ms": s, "failure_count": st["failure_count"],
                        "failures": st["failures"], "samples_ms": st["samples_ms"]}
        viv = s.get("vivarium")
        ratios = {}
        for k in ("crun", "nspawn", "unshare"):
            if viv and s.get(k):
                ratios[k] = viv["median"] / s[k]["median"]
        res["start"]["ratio_vivarium_to"] = ratios
        lines.append(f"### Start latency, `/bin/true`, request to exit ({st['runs']} runs each, alternating)")
        lines.append("")
        lines.append("| runtime | median ms | p10 | p90 | spread p90−p10 | Vivarium / this | this / crun, median | this / crun, p90 |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        crun = s.get("crun")
        res["start"]["ratio_to_crun"] = {k: {"median": v["median"] / crun["median"], "p90": v["p90"] / crun["p90"]}
                                         for k, v in s.items() if v and crun}
        userns_ratio = None
        if s.get("vivarium-userns") and s.get("vivarium-tmpfs"):
            userns_ratio = s["vivarium-userns"]["median"] / s["vivarium-tmpfs"]["median"]
            res["start"]["userns_ratio"] = userns_ratio
        labels = {"vivarium": "`vivctl create --wait`, root on the overlay, `userns mode='off'`",
                  "vivarium-tmpfs": "`vivctl create --wait`, root on a tmpfs, `userns mode='off'`",
                  "vivarium-userns": "`vivctl create --wait`, root on a tmpfs, the default (its own user namespace)",
                  "crun": "`crun --systemd-cgroup run`",
                  "nspawn": "`systemd-nspawn -q -D`", "unshare": "`unshare` (floor, no root change)",
                  "unshare-userns": "`unshare -U -r` (the floor with a user namespace)",
                  "scope": "`systemd-run --scope -q /bin/true` (floor through systemd: the scope job alone)",
                  "scope-unshare": "`systemd-run --scope -q unshare ... /bin/true` (floor: scope + namespaces)"}
        for k, lab in labels.items():
            if s.get(k):
                r = f"{ratios[k]:.2f}" if k in ratios else "1.00"
                if k.startswith("vivarium-") or k in ("unshare-userns", "scope", "scope-unshare"):
                    r = f"{s['vivarium']['median'] / s[k]['median']:.2f}" if viv else ""
                c = (f"{s[k]['median'] / crun['median']:.2f} | {s[k]['p90'] / crun['p90']:.2f}" if crun else " | ")
                lines.append(f"| {lab} | {s[k]['median']:.1f} | {s[k]['p10']:.1f} | {s[k]['p90']:.1f} | "
                             f"{s[k]['p90'] - s[k]['p10']:.1f} | {r} | {c} |")
            elif st["failure_count"].get(k):
                lines.append(f"| {lab} | failed | | | | | | |")
        lines.append("")
        if userns_ratio:
            d = s["vivarium-userns"]["median"] - s["vivarium-tmpfs"]["median"]
            line = (f"User namespace (picked range, idmapped root) / none, same tmpfs root: "
                    f"{userns_ratio:.2f} × (median), {d:+.1f} ms")
            if s.get("unshare-userns") and s.get("unshare"):
                line += f"; the floor's own price of one: {s['unshare-userns']['median'] - s['unshare']['median']:+.1f} ms"
            lines.append(line + ".")
            lines.append("")
        floor = start_floor(s)
        if floor:
            res["start"]["floor"] = floor
            lines.append(start_floor_line(floor))
            lines.append("")
        if "crun" in ratios:
            goals.append(("start median ≤ 1.0 × crun", f"{ratios['crun']:.2f} ×", ratios["crun"] <= 1.0))
        # issue 14's goals, on the overlay row and on the default (a user namespace)
        for k, what in (("vivarium", "mode='off'"), ("vivarium-userns", "the default")):
            if s.get(k) and crun:
                m, p = s[k]["median"] / crun["median"], s[k]["p90"] / crun["p90"]
                goals.append((f"start median ≤ 0.75 × crun ({what})", f"{m:.2f} ×", m <= 0.75))
                goals.append((f"start p90 ≤ crun's p90 ({what})", f"{p:.2f} ×", p <= 1.0))
        if "nspawn" in ratios:
            goals.append(("start median ≤ 0.3 × nspawn", f"{ratios['nspawn']:.2f} ×", ratios["nspawn"] <= 0.3))
        # Plot: the distribution per runtime, as a CDF.
        files = []
        for k, v in st["samples_ms"].items():
            if not v:
                continue
            f = f"{outdir}/.cdf-{k}.dat"
            xs = sorted(v)
            with open(f, "w") as fh:
                for i, x in enumerate(xs):
                    fh.write(f"{x} {(i + 1) / len(xs)}\n")
            files.append((k, f))
        plots = ", ".join(f"'{f}' using 1:2 with steps lw 2 title '{k}'" for k, f in files)
        gnuplot(f"""set terminal pngcairo size 900,500 noenhanced
set output '{outdir}/start-latency.png'
set title 'Start latency of a container running /bin/true (request to exit)'
set xlabel 'ms'
set ylabel 'fraction of runs'
set logscale x
set grid
set key bottom right
plot {plots}
""")
        for _, f in files:
            os.unlink(f)

    if "trace" in raw:
        import phases as vtrace
        res["trace"] = raw["trace"]
        for k, a in raw["trace"].items():
            lines.append(f"#### Where a start goes, phase by phase (`VIVARIUM_TRACE`, {k})")
            lines.append("")
            lines.append(vtrace.table(a))
            lines.append("")

    if "ready" in raw:
        rd = raw["ready"]
        res["ready"] = {"runs": rd["runs"], "failure_count": rd["failure_count"], "failures": rd["failures"],
                        "ready_ms": {k: summary(v["ready_ms"]) for k, v in rd["samples"].items()},
                        "start_return_ms": {k: summary(v["start_return_ms"]) for k, v in rd["samples"].items()}}
        lines.append(f"### Start to ready: `vivctl start` of a defined container until its init writes a marker ({rd['runs']} runs)")
        lines.append("")
        lines.append("| network | ready median ms | p10 | p90 | spread p90−p10 | returned, median ms "
                     "| / `unshare` (start stage), median | / scope + `unshare` until the marker, median |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        unshare = (res.get("start", {}).get("latency_ms") or {}).get("unshare")
        sfloor = res["ready"]["ready_ms"].get("floor-scope-unshare")
        labels = {"plain": "plain", "privnet": "privnet", "ethernet": "ethernet",
                  "floor-unshare": "floor: `unshare ... sh -c 'echo > FIFO'`",
                  "floor-scope": "floor: `systemd-run --scope -q sh -c 'echo > FIFO'`",
                  "floor-scope-unshare": "floor: `systemd-run --scope -q unshare ... sh -c 'echo > FIFO'`"}
        for k in rd["samples"]:
            a = res["ready"]["ready_ms"][k]
            b = res["ready"]["start_return_ms"][k]
            lab = labels.get(k, k)
            if a:
                ru = f"{a['median'] / unshare['median']:.2f}" if unshare else ""
                rs = f"{a['median'] / sfloor['median']:.2f}" if sfloor else ""
                lines.append(f"| {lab} | {a['median']:.1f} | {a['p10']:.1f} | {a['p90']:.1f} | "
                             f"{a['p90'] - a['p10']:.1f} | {b['median']:.1f} | {ru} | {rs} |")
                if unshare and not k.startswith("floor-"):
                    r = a["median"] / unshare["median"]
                    goals.append((f"start-to-ready median ≤ 2.5 × `unshare` ({k})", f"{r:.2f} ×", r <= 2.5))
            else:
                why = (rd["failures"].get(k) or ["?"])[0].replace("|", "/")[:120]
                lines.append(f"| {lab} | failed: {why} | | | | | | |")
        lines.append("")

    if "density" in raw:
        rows = []
        lines.append("### Density: N containers running `sleep` (private busybox root)")
        lines.append("")
        lines.append("| N | all running s | running | helper USS KiB (median/max) | fork server USS KiB | "
                     "manager RSS MiB | ListContainers ms | GetXML ms | destroy all s | left over |")
        lines.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in raw["density"]:
            lm = summary(r["list_ms"])
            gm = summary(r["getxml_ms"])
            left = r["left_helpers"] + len(r["left_scopes"]) + len(r["left_containers"])
            row = {"n": r["n"], "window": r["window"], "create": r["create"], "running": r["running"],
                   "helper_uss_kib": r["helper_uss_kib"], "helper_rss_kib_median": r["helper_rss_kib_median"],
                   "helper_uss_by_mapping_kib": r.get("helper_uss_by_mapping_kib"),
                   "fork_server_uss_kib": r.get("fork_server_uss_kib"),
                   "manager_rss_kib": r["manager_rss_kib"], "manager_fds": r["manager_fds"],
                   "list_ms": lm, "getxml_ms": gm, "destroy": r["destroy"],
                   "left_helpers": r["left_helpers"], "left_scopes": r["left_scopes"],
                   "left_containers": r["left_containers"]}
            rows.append(row)
            u = r["helper_uss_kib"]
            lines.append(f"| {r['n']} | {r['create']['elapsed_s']:.2f} | {r['running']} | "
                         f"{u['median']} / {u['max']} | {r.get('fork_server_uss_kib', '')} | "
                         f"{r['manager_rss_kib'] / 1024:.1f} | "
                         f"{lm['median']:.2f} | {gm['median']:.2f} | {r['destroy']['all_gone_s']:.2f} | "
                         f"{'nothing' if left == 0 else left} |")
        lines.append("")
        res["density"] = rows
        top = max(rows, key=lambda r: r["n"])
        if top["helper_uss_kib"]["median"] is not None:
            goals.append(("helper USS ≤ 512 KiB", f"{top['helper_uss_kib']['median']} KiB (median, N={top['n']})",
                          top["helper_uss_kib"]["median"] <= 512))
        at500 = top["n"] >= 500     # else the goal is not measured: n/a
        goals.append(("manager RSS ≤ 32 MiB at 500", f"{top['manager_rss_kib'] / 1024:.1f} MiB at N={top['n']}",
                      top["manager_rss_kib"] <= 32 * 1024 if at500 else None))
        goals.append(("500 running within 30 s", f"{top['running']} running after {top['create']['elapsed_s']:.1f} s (N={top['n']})",
                      top["running"] >= 500 and top["create"]["elapsed_s"] <= 30 if at500 else None))
        goals.append(("ListContainers at 500 < 5 ms", f"{top['list_ms']['median']:.2f} ms (N={top['n']})",
                      top["list_ms"]["median"] < 5 if at500 else None))
        plot_density(rows, outdir)

    if "api" in raw:
        a = raw["api"]
        res["api"] = dict(a)
        res["api"]["list_ms"] = summary(a["list_ms"])
        lines.append(f"### API, one client, serial calls, {a['defined']} containers defined (not running)")
        lines.append("")
        lines.append("| call | calls/s |")
        lines.append("| --- | ---: |")
        lines.append(f"| `ListContainers` | {a['list_per_s']:.0f} |")
        lines.append(f"| `GetContainer` | {a['get_per_s']:.0f} |")
        lines.append(f"| `Properties.Get(State)` | {a['prop_per_s']:.0f} |")
        lines.append(f"| `GetXML` | {a['xml_per_s']:.0f} |")
        lines.append("")

    if "boot" in raw:
        b = raw["boot"]
        s = {k: summary(v) for k, v in b["samples_ms"].items()}
        res["boot"] = dict(b)
        res["boot"]["boot_ms"] = s
        lines.append(f"### Boot: Debian 12 (tools/mkroot) with systemd as init, start until systemd's READY=1 "
                     f"({b['runs']} runs each, alternating)")
        lines.append("")
        lines.append("| runtime | median ms | p10 | p90 | systemd's userspace, median ms | the rest, ms | state then "
                     "| idle PSS MiB | Vivarium / this |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
        labels = {"vivarium": "`vivctl start` (`<vivarium:notify/>`, default user namespace)",
                  "vivarium off": "`vivctl start` (`mode='off'`, `sys_admin`)",
                  "nspawn": "`systemd-nspawn -b --notify-ready=yes`",
                  "nspawn -U": "`systemd-nspawn -b -U --notify-ready=yes`"}
        viv = s.get("vivarium")
        for k, lab in labels.items():
            mem = b["idle_pss_kib"].get(k) or []
            mem_s = f"{mem[0] / 1024:.1f}" if mem else ""
            if s.get(k):
                ratio = f"{viv['median'] / s[k]['median']:.2f}" if viv else ""
                st = ", ".join(sorted(set(b["states"][k])))
                us = summary(b.get("userspace_ms", {}).get(k) or [])
                us_s = f"{us['median']:.0f}" if us else ""
                rest = f"{s[k]['median'] - us['median']:.0f}" if us else ""
                lines.append(f"| {lab} | {s[k]['median']:.0f} | {s[k]['p10']:.0f} | {s[k]['p90']:.0f} | {us_s} | {rest} "
                             f"| {st} | {mem_s} | {ratio} |")
            elif b["failures"].get(k):
                why = b["failures"][k][0].replace("|", "/")[:160]
                lines.append(f"| {lab} | failed: {why} | | | | | | | |")
        if b.get("load"):
            lines.append(f"Load average (1 min) before and after: {', '.join(f'{x:.1f}' for x in b['load'])}.")
        for k, bl in (b.get("blame") or {}).items():
            if bl:
                lines.append(f"{k}, `systemd-analyze blame` of one boot: {'; '.join(bl[:5])}")
        lines.append("")
        if viv and s.get("nspawn"):
            r = viv["median"] / s["nspawn"]["median"]
            goals.append(("boot median ≤ 0.8 × nspawn -b", f"{r:.2f} ×", r <= 0.8))
    if "soak" in raw:
        k = raw["soak"]
        res["soak"] = k
        lines.append(f"### Soak: {k['cycles']} start/destroy cycles with a veth, {k['manager_kills']} kill -9 of "
                     f"the manager, {k['helper_kills']} of a helper ({k['elapsed_s']:.0f} s)")
        lines.append("")
        lines.append("| left after the soak | count |")
        lines.append("| --- | ---: |")
        for key, v in k["left"].items():
            lines.append(f"| {key.replace('_', ' ')} | {v} |")
        lines.append("")
        lines.append("| cycle | manager RSS KiB | manager fds |")
        lines.append("| ---: | ---: | ---: |")
        for c in k["checkpoints"]:
            lines.append(f"| {c['cycle']} | {c['manager_rss_kib']} | {c['manager_fds']} |")
        lines.append("")
        lines.append(f"Failed creates: {k['create_failed']}, failed destroys: {k['destroy_failed']}, "
                     f"manager not back within 60 s: {k['manager_not_back']}.")
        for e, n in sorted(k["errors"].items(), key=lambda kv: -kv[1])[:8]:
            lines.append(f"- {n} × {e}")
        lines.append("")

    if "scale" in raw:
        import scale    # bench/scale.py
        res["scale"] = raw["scale"]
        try:
            scale.report_scale(raw["scale"], lines)
        except (KeyError, TypeError, ZeroDivisionError) as e:
            lines.append(f"Scale: incomplete ({e!r}); the raw figures are in latest.json.")
        if raw["scale"].get("error"):
            lines.append(f"Scale failed: {raw['scale']['error']}")
            lines.append("")

    if goals:
        lines.append("### Goals (issues 6 and 14)")
        lines.append("")
        lines.append("| goal | measured | met |")
        lines.append("| --- | --- | --- |")
        for g, v, ok in goals:
            lines.append(f"| {g} | {v} | {'n/a' if ok is None else 'yes' if ok else '**no**'} |")
        lines.append("")
    res["goals"] = [{"goal": g, "measured": v, "met": ok} for g, v, ok in goals]
    table = "\n".join(lines)
    res["table_md"] = table
    for name in ("latest.json", f"{stamp}.json"):
        with open(f"{outdir}/{name}", "w") as fh:
            json.dump(res, fh, indent=1)
            fh.write("\n")
    with open(f"{outdir}/table.md", "w") as fh:
        fh.write(table + "\n")
    print(table)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "inner":
        inner(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "replot-density":   # from a results JSON
        plot_density(json.load(open(sys.argv[2]))["density"], sys.argv[3])
    else:
        sys.exit(__doc__)
