#!/usr/bin/env python3
# vivarium-helper as the manager drives it (docs/internals.md): handshake over
# a SOCK_SEQPACKET socketpair (nothing before GO, INIT <pid>, READY <pid>,
# ERROR <errno> <message>), the control socket (Describe, OpenConsole with ConsoleBusy and
# force, ResizeConsole, Shutdown, Destroy, the Exited signal, busctl), the
# cgroup leaves supervisor/ and payload/ in a scope made the way systemd makes
# it (on a hybrid host without systemd), and that nothing is left afterwards.
# Runs in a mount namespace of its own with a tmpfs on /run: the machine's
# /run/vivarium is never touched.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

def skip(why):
    if os.environ.get("VIVARIUM_TESTS_MUST_RUN") == "1":
        print("FAIL (must run): " + why)
        sys.exit(1)
    print("SKIP: " + why)
    sys.exit(77)

build = os.environ.get("VIVARIUM_BUILD_DIR", "build")
helper = os.path.join(build, "src/helper/vivarium-helper")
client = os.path.join(build, "tests/test-helper-client")

if "--inner" not in sys.argv:
    if os.geteuid() != 0:
        skip("needs root")
    for p in (helper, client):
        if not os.access(p, os.X_OK):
            skip("no %s" % p)
    if subprocess.call(["unshare", "-m", "true"], stderr=subprocess.DEVNULL) != 0:
        skip("cannot create mount namespaces")
    os.execvp("unshare", ["unshare", "-m", "--propagation", "private",
                          sys.executable, os.path.abspath(__file__), "--inner"])

subprocess.check_call(["mount", "-t", "tmpfs", "-o", "mode=755", "vt-run", "/run"])
RUN = "/run/vivarium/containers"
os.makedirs(RUN)
work = tempfile.mkdtemp(prefix="vt-helper-hs.")

n = 0
failures = 0
def check(desc, cond, info=""):
    global n, failures
    n += 1
    if cond:
        print("ok %d - %s" % (n, desc))
    else:
        failures += 1
        print("not ok %d - %s" % (n, desc))
        if info:
            for l in str(info).splitlines():
                print("#   " + l)

# A scope as systemd makes it with Delegate=yes, on this hybrid host without
# systemd: name=systemd and cgroup2 directories the helper is moved into.
scope = "vt-helper-%d.scope" % os.getpid()
scope_dirs = []
def own_cgroup(hier):
    for l in open("/proc/self/cgroup"):
        i, c, p = l.rstrip("\n").split(":", 2)
        if c == hier:
            return p
    return None
if os.path.isdir("/sys/fs/cgroup/systemd") and own_cgroup("name=systemd") == "/" \
   and os.path.isdir("/sys/fs/cgroup/unified") and own_cgroup("") == "/":
    scope_dirs = ["/sys/fs/cgroup/systemd/" + scope, "/sys/fs/cgroup/unified/" + scope]
else:
    print("# not a hybrid host with a free name=systemd hierarchy: cgroup checks skipped")
for d in scope_dirs:
    os.mkdir(d)

# What a helper says on a systemd host even when all goes well: it detaches the
# host's autofs mounts (systemd's binfmt_misc automount, say) from the container,
# and, run outside a scope as here when there is no free hierarchy, it says so;
# without lxcfs on the machine it says that /proc is the kernel's.
def expected_notes(err):
    lines = [l for l in err.splitlines()
             if not re.search(r"\]: Detached autofs mount '[^']*' from the container's mount namespace\.$", l)
             and not (not scope_dirs and "]: Not running in a systemd scope (cgroup " in l)
             and "]: lxcfs is not running (no FUSE filesystem on /var/lib/lxcfs): " not in l]
    return "\n".join(lines)

# devices: more <devices> children, e.g. a bind of work/: the shared root is
# read-only in the default user namespace
def write_xml(name, script, init="/bin/sh", devices=""):
    esc = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    with open(os.path.join(RUN, name + ".xml"), "w") as f:
        f.write("""<domain type='lxc'>
  <name>%s</name>
  <uuid>6f1c0a52-3b7e-4c55-8d0e-2a9b7c4e1f00</uuid>
  <memory>102400</memory>
  <os><type>exe</type><init>%s</init><initarg>-c</initarg><initarg>%s</initarg></os>
  <devices><console type='pty'/>%s</devices>
</domain>
""" % (name, init, esc, devices))

# The model the manager hands the helper on fd 4 (--model): the live XML
# through the parser and domain-wire.h, in a memfd as vivariumd makes it.
def model_fd(name, raw=None):
    if raw is None:
        raw = subprocess.run([client, "model", os.path.join(RUN, name + ".xml")], check=True,
                             capture_output=True).stdout
    fd = os.memfd_create("vt-model")
    os.write(fd, raw)
    return fd

def verdict(hs):
    """the answer to GO: (INIT <pid> or None, then READY <pid> or ERROR ...);
    INIT comes once init's child is in its cgroups (src/manager/machine.c)"""
    msg = hs.recv(4096).decode()
    if not msg.startswith("INIT "):
        return None, msg
    return msg, hs.recv(4096).decode()


def spawn(name, dirs=None, raw_model=None):
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    model = model_fd(name, raw_model)
    err = open(os.path.join(work, name + ".err"), "w")
    def pre():
        os.dup2(theirs.fileno(), 3)
        os.dup2(model, 4)
    p = subprocess.Popen([helper, "--name", name, "--handshake", "3", "--model", "4"], stdin=subprocess.DEVNULL,
                         stdout=err, stderr=err, pass_fds=(3, 4), preexec_fn=pre, close_fds=True)
    theirs.close()
    os.close(model)
    for d in (scope_dirs if dirs is None else dirs):
        with open(d + "/cgroup.procs", "w") as f:
            f.write(str(p.pid))
    return p, mine

def children(pid):
    try:
        return open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    except OSError:
        return []

def cgroup_of(pid, hier):
    try:
        for l in open("/proc/%d/cgroup" % pid):
            i, c, p = l.rstrip("\n").split(":", 2)
            if c == hier:
                return p
    except OSError:
        pass
    return None

def run_client(*args, timeout=30):
    r = subprocess.run([client] + list(args), capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr

def leaves_gone():
    return all(not os.path.exists(d + "/supervisor") and not os.path.exists(d + "/payload") for d in scope_dirs)

def pid_gone(pid):
    return not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"

def cleanup_hybrid():
    """Removes the hybrid scope directories; idempotent."""
    global failures
    for d in scope_dirs:
        if not os.path.exists(d):
            continue
        # whatever is left (a helper that failed to exit, in supervisor/; its
        # init, in payload/) is killed, leaves first: a parent's cgroup.procs
        # does not list its children's processes
        for sub in ("/payload", "/supervisor", ""):
            try:
                pids = open(d + sub + "/cgroup.procs").read().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
            if pids:
                time.sleep(0.2)
            if sub:
                try:
                    os.rmdir(d + sub)
                except OSError:
                    pass
        try:
            os.rmdir(d)
        except OSError as e:
            print("# could not remove %s: %s" % (d, e))
            failures += 1

try:
    # --- a good start ---
    name = "vt-hs"
    sock = os.path.join(RUN, name + ".sock")
    write_xml(name, 'echo hello-console; while read l; do case "$l" in size) stty size;; *) echo "got:$l";; esac; done')
    p, hs = spawn(name)
    time.sleep(0.3)
    check("before GO: helper waits", p.poll() is None)
    check("before GO: no control socket", not os.path.exists(sock))
    check("before GO: no init", children(p.pid) == [])
    hs.send(b"GO")
    hs.settimeout(20)
    first, msg = verdict(hs)
    check("READY <pid>", msg.startswith("READY "), msg)
    init = int(msg.split()[1]) if msg.startswith("READY ") else 0
    check("INIT <pid> before it, the same pid", first == "INIT %d" % init, first)
    check("control socket listens, mode 0600", os.path.exists(sock) and (os.stat(sock).st_mode & 0o777) == 0o600)
    filt = os.path.join(RUN, name + ".seccomp")
    st = os.stat(filt) if os.path.exists(filt) else None
    check("NAME.seccomp: init's filter as BPF for vivctl enter, mode 0600, whole instructions",
          st is not None and (st.st_mode & 0o777) == 0o600 and st.st_size > 0 and st.st_size % 8 == 0, st)
    check("init is the helper's child", str(init) in children(p.pid))
    nspid = [l for l in open("/proc/%d/status" % init) if l.startswith("NSpid:")][0].split()
    check("init is PID 1 in its namespace", nspid[-1] == "1", nspid)
    if scope_dirs:
        check("helper in supervisor/", cgroup_of(p.pid, "name=systemd") == "/%s/supervisor" % scope
              and cgroup_of(p.pid, "") == "/%s/supervisor" % scope,
              open("/proc/%d/cgroup" % p.pid).read())
        check("init in payload/", cgroup_of(init, "name=systemd") == "/%s/payload" % scope
              and cgroup_of(init, "") == "/%s/payload" % scope, open("/proc/%d/cgroup" % init).read())
        check("init's cgroup namespace is rooted at payload/", cgroup_of(init, "") is not None and
              subprocess.run(["nsenter", "-t", str(init), "-C", "cat", "/proc/%d/cgroup" % init],
                             capture_output=True, text=True).stdout.find("0::/\n") >= 0)

    rc, out = run_client(sock, "describe")
    unit = scope if scope_dirs else ""
    check("Describe", rc == 0 and out.split() == [name, "6f1c0a52-3b7e-4c55-8d0e-2a9b7c4e1f00", str(p.pid),
                                                   str(init)] + ([unit] if unit else []) + ["running"], out)
    r = subprocess.run(["busctl", "--address=unix:path=" + sock, "call", "org.vivarium1.Helper", "/org/vivarium1/helper",
                        "org.vivarium1.Helper", "Describe"], capture_output=True, text=True)
    check("busctl reaches the control socket", r.returncode == 0 and ('"%s"' % name) in r.stdout and "running" in r.stdout,
          r.stdout + r.stderr)
    rc, out = run_client(sock, "console", "got:second")
    check("OpenConsole: relay, ConsoleBusy, force, ResizeConsole", rc == 0, out)
    check("ConsoleBusy message", "Console of container 'vt-hs' is already in use" in out, out)
    rc, out = run_client(sock, "call", "Shutdown")
    time.sleep(0.5)
    check("Shutdown: SIGTERM, which sh as PID 1 ignores", rc == 0 and not pid_gone(init), out)
    if scope_dirs:
        events = scope_dirs[1] + "/payload/cgroup.events"
        rc, out = run_client(sock, "call", "Suspend")
        frozen = "frozen 1" in open(events).read()
        rc2, out2 = run_client(sock, "describe")
        check("Suspend: payload/ frozen, the helper still answers: paused", rc == 0 and frozen and out2.split()[-1] == "paused",
              out + out2)
        rc, out = run_client(sock, "call", "Resume")
        rc2, out2 = run_client(sock, "describe")
        check("Resume: thawed, running", rc == 0 and "frozen 0" in open(events).read() and out2.split()[-1] == "running",
              out + out2)
        run_client(sock, "call", "Suspend")
    rc, out = run_client(sock, "destroy")
    check("Destroy (of a suspended container): Exited(destroyed, 137)", rc == 0 and "Exited destroyed 137" in out, out)
    try:
        code = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        code = None
    check("helper exits 0 after Destroy", code == 0, code)
    check("init is gone", pid_gone(init))
    check("control socket removed", not os.path.exists(sock))
    check("NAME.seccomp removed", not os.path.exists(filt))
    check("leaf cgroups removed", leaves_gone())
    check("the live XML is left to the manager", os.path.exists(os.path.join(RUN, name + ".xml")))
    err = open(os.path.join(work, name + ".err")).read()
    check("helper quiet on success", expected_notes(err) == "", err)

    # --- init exits by itself ---
    name = "vt-exit"
    sock = os.path.join(RUN, name + ".sock")
    write_xml(name, "sleep 1; exit 3")
    p, hs = spawn(name)
    hs.send(b"GO")
    hs.settimeout(20)
    first, msg = verdict(hs)
    check("READY for a short-lived init", msg.startswith("READY "), msg)
    rc, out = run_client(sock, "wait")
    check("Exited(shutdown, 3) when init exits with 3", rc == 0 and "Exited shutdown 3" in out, out)
    check("helper exits 0", p.wait(timeout=10) == 0)
    check("control socket removed", not os.path.exists(sock))
    check("leaf cgroups removed", leaves_gone())

    # --- an init called systemd gets SIGRTMIN+3 on Shutdown ---
    name = "vt-sd"
    sock = os.path.join(RUN, name + ".sock")
    fake = os.path.join(work, "systemd")
    with open(fake, "w") as f:
        f.write("#!/bin/bash\ntrap 'exit 42' SIGRTMIN+3\ntrap '' TERM\nwhile :; do sleep 0.1; done\n")
    os.chmod(fake, 0o755)
    write_xml(name, "unused", init=fake)
    p, hs = spawn(name)
    hs.send(b"GO")
    hs.settimeout(20)
    first, msg = verdict(hs)
    check("READY for an init called systemd", msg.startswith("READY "), msg)
    time.sleep(0.3)
    waiter = subprocess.Popen([client, sock, "wait"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    rc, out = run_client(sock, "call", "Shutdown")
    try:
        wout = waiter.communicate(timeout=15)[0]
    except subprocess.TimeoutExpired:
        waiter.kill()
        wout = "timeout"
    check("Shutdown of systemd: SIGRTMIN+3, Exited(shutdown, 42)", rc == 0 and "Exited shutdown 42" in wout, out + wout)
    check("helper exits 0", p.wait(timeout=10) == 0)

    # --- init that cannot be executed ---
    name = "vt-noinit"
    write_xml(name, "exit 0", init="/nonexistent/init")
    p, hs = spawn(name)
    hs.send(b"GO")
    hs.settimeout(20)
    first, msg = verdict(hs)
    check("INIT before the exec's ERROR (the registration is undone by the manager)", first is not None and
          first.startswith("INIT "), first)
    check("ERROR 2 with the reason", msg == "ERROR 2 Failed to execute init '/nonexistent/init' in container 'vt-noinit': No such file or directory", msg)
    code = p.wait(timeout=10)
    check("helper exits non-zero", code != 0, code)
    check("no control socket", not os.path.exists(os.path.join(RUN, name + ".sock")))
    check("no NAME.seccomp", not os.path.exists(os.path.join(RUN, name + ".seccomp")))
    check("no leaf cgroups", leaves_gone())

    # --- a model that does not decode (domain-wire.h): refused after GO,
    # nothing created. A good one cut short, then one of another container. ---
    name = "vt-badxml"
    write_xml(name, "exit 0")
    good = subprocess.run([client, "model", os.path.join(RUN, name + ".xml")], check=True,
                          capture_output=True).stdout
    p, hs = spawn(name, raw_model=good[:-3])
    hs.send(b"GO")
    hs.settimeout(20)
    first, msg = verdict(hs)
    check("no INIT for a model refused before any process", first is None, first)
    check("ERROR for a truncated model", msg.startswith("ERROR ") and "vt-badxml" in msg and
          "from the manager" in msg, msg)
    check("helper exits non-zero", p.wait(timeout=10) != 0)
    check("no control socket", not os.path.exists(os.path.join(RUN, name + ".sock")))
    check("no leaf cgroups", leaves_gone())

    write_xml("vt-other", "exit 0")
    other = subprocess.run([client, "model", os.path.join(RUN, "vt-other.xml")], check=True,
                           capture_output=True).stdout
    p, hs = spawn(name, raw_model=other)
    hs.send(b"GO")
    hs.settimeout(20)
    first, msg = verdict(hs)
    check("ERROR for the model of another container", msg.startswith("ERROR ") and
          "is for container 'vt-other', not 'vt-badxml'" in msg, msg)
    check("helper exits non-zero", p.wait(timeout=10) != 0)

    # --- the manager goes away before GO ---
    name = "vt-nogo"
    write_xml(name, "exit 0")
    p, hs = spawn(name)
    time.sleep(0.2)
    hs.close()
    code = p.wait(timeout=10)
    check("no GO: helper leaves", code is not None)
    check("no GO: no control socket", not os.path.exists(os.path.join(RUN, name + ".sock")))
    check("no GO: no leaf cgroups", leaves_gone())

    # --- SIGTERM while waiting for GO (the scope was stopped) ---
    name = "vt-term"
    write_xml(name, "exit 0")
    p, hs = spawn(name)
    time.sleep(0.2)
    p.terminate()
    try:
        code = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        code = None
    check("SIGTERM before GO ends the helper at once", code is not None, code)
    check("SIGTERM before GO: no leaf cgroups", leaves_gone())

    # --- unified mode (pure cgroup2, as systemd sees it when /sys/fs/cgroup is
    # cgroup2): simulated in this mount namespace by mounting the cgroup2
    # hierarchy on /sys/fs/cgroup; leaves only there ---
    if scope_dirs:
        cleanup_hybrid()
        subprocess.check_call(["umount", "-R", "/sys/fs/cgroup"])
        subprocess.check_call(["mount", "-t", "cgroup2", "vt-cgroup2", "/sys/fs/cgroup"])
        v2 = "/sys/fs/cgroup/" + scope.replace(".scope", "-v2.scope")
        os.mkdir(v2)
        try:
            name = "vt-v2"
            sock = os.path.join(RUN, name + ".sock")
            out_file = os.path.join(work, "v2.out")
            write_xml(name, "{ cat /proc/self/cgroup; grep -E ' /sys/fs/cgroup ' /proc/self/mountinfo; "
                            "mkdir /sys/fs/cgroup/sub && echo mkdir-ok; } >%s 2>&1; exec sleep 600" % out_file,
                      devices="<filesystem type='mount'><source dir='%s'/><target dir='%s'/></filesystem>"
                      % (work, work))
            p, hs = spawn(name, dirs=[v2])
            hs.send(b"GO")
            hs.settimeout(20)
            first, msg = verdict(hs)
            check("unified: READY", msg.startswith("READY "), msg)
            init = int(msg.split()[1]) if msg.startswith("READY ") else 0
            v2path = "/" + os.path.basename(v2)
            check("unified: helper in supervisor/", cgroup_of(p.pid, "") == v2path + "/supervisor",
                  open("/proc/%d/cgroup" % p.pid).read())
            check("unified: init in payload/", cgroup_of(init, "") == v2path + "/payload",
                  open("/proc/%d/cgroup" % init).read())
            time.sleep(0.5)
            v2out = open(out_file).read() if os.path.exists(out_file) else ""
            check("unified: the container's cgroup namespace starts at payload/", "\n0::/\n" in "\n" + v2out, v2out)
            check("unified: its own cgroup2 on /sys/fs/cgroup, writable", "mkdir-ok" in v2out and
                  re.search(r" / /sys/fs/cgroup rw,\S* - cgroup2 ", v2out) is not None, v2out)
            rc, out = run_client(sock, "describe")
            check("unified: Describe names the scope", rc == 0 and os.path.basename(v2) in out.split(), out)
            rc, out = run_client(sock, "call", "Suspend")
            check("unified: Suspend freezes payload/", rc == 0 and "frozen 1" in open(v2 + "/payload/cgroup.events").read(), out)
            rc, out = run_client(sock, "destroy")
            check("unified: Destroy", rc == 0 and "Exited destroyed 137" in out, out)
            check("unified: helper exits 0", p.wait(timeout=10) == 0)
            check("unified: leaves removed, with what the container made below",
                  not os.path.exists(v2 + "/payload") and not os.path.exists(v2 + "/supervisor"))
        finally:
            for leaf in ("payload/sub", "payload", "supervisor", ""):
                try:
                    os.rmdir(os.path.join(v2, leaf))
                except OSError:
                    pass
            if os.path.exists(v2):
                print("# could not remove %s" % v2)
                failures += 1
finally:
    cleanup_hybrid()
    subprocess.call(["rm", "-rf", work])

print("1..%d" % n)
sys.exit(1 if failures else 0)
