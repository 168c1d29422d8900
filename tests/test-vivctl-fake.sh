#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vivctl against a fake org.vivarium1 on a private, throwaway bus (its own
# dbus-daemon on a socket in a temporary directory; never the machine's bus):
# every verb's message, virsh's table, errors, and the console client
# (pseudo-terminal, raw mode, ^], --force takeover, window size, the end of
# the console, standard input that is not a terminal, create --wait).
# No root needed. Skips (77) without dbus-daemon or python3's dbus and gi.
#
#   test-vivctl-fake.sh [PATH-TO-VIVCTL]
set -u

VIVCTL=$(readlink -f "${1:-${VIVARIUM_BUILD_DIR:-build}/src/ctl/vivctl}")
here=$(dirname "$(readlink -f "$0")")
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

skip() {
        if [ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ]; then
                echo "FAIL: cannot run, and VIVARIUM_TESTS_MUST_RUN=1: $*" >&2
                exit 1
        fi
        echo "SKIP: $*" >&2
        exit 77
}
[ -x "$VIVCTL" ] || { echo "FAIL: no vivctl at '$VIVCTL'" >&2; exit 1; }
command -v dbus-daemon >/dev/null || skip "dbus-daemon is not installed"
"$PY" -c 'import dbus, dbus.service, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null ||
        skip "python3 without dbus or gi"

work=$(mktemp -d "${TMPDIR:-/tmp}/test-vivctl-fake.XXXXXX")
daemon_pid=
fake_pid=
holder=
finish() {
        [ -n "$holder" ] && kill "$holder" 2>/dev/null
        [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
        [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
        wait 2>/dev/null
        rm -rf "$work"
}
trap finish EXIT
cd "$work" || exit 1

# shellcheck source=tests/lib/check-output.sh
. "$here/lib/check-output.sh"

# --- the private bus ------------------------------------------------------------
cat >bus.conf <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for ((i = 0; i < 100; i++)); do [ -S "$work/bus" ] && break; sleep 0.05; done
[ -S "$work/bus" ] || { cat "$work/daemon.log"; echo "FAIL: private dbus-daemon did not start"; exit 1; }
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/bus
unset LIBVIRT_DEFAULT_URI VIVARIUM_DEFAULT_URI

# --- the fake manager -------------------------------------------------------------
# Containers are dicts; a running one's "init" is a /bin/sh whose stdio is the
# fake's end of the console socket (one per OpenConsole: the test only needs
# the relay, not a pty). ResizeConsole calls are recorded in resize.log.
cat >fake.py <<'PY'
import os, re, signal, socket, subprocess, sys, uuid as uuidlib
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

IFACE = "org.vivarium1.Manager"
ERR = "org.vivarium1.Error."
work = sys.argv[1]

class Error(dbus.DBusException):
    def __init__(self, name, msg):
        super().__init__(msg, name=ERR + name)

def tag(xml, name):
    m = re.search(r"<%s>(.*?)</%s>" % (name, name), xml, re.S)
    return m.group(1).strip() if m else None

def path_of(name):
    enc = "".join(c if c.isalnum() else "_%02x" % ord(c) for c in name)
    return "/org/vivarium1/container/" + enc

class Manager(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/vivarium1")
        self.c = {}
        self.next_id = 31417

    def get(self, name):
        if name not in self.c:
            raise Error("NoSuchContainer", "No container '%s'" % name)
        return self.c[name]

    def parse(self, xml):
        if "<domain" not in xml or not tag(xml, "name"):
            raise Error("InvalidConfig", "(xml):1:1: Document is not a domain")
        return tag(xml, "name"), tag(xml, "uuid") or str(uuidlib.uuid4())

    def run(self, d, args=None):
        d["state"], d["id"], d["reason"] = "running", self.next_id, "booted"
        self.next_id += 1
        self.ContainerEvent(d["name"], "started", "booted")
        if args:
            d["proc"] = subprocess.Popen(args)
            GLib.child_watch_add(d["proc"].pid, lambda pid, st: self.exited(d, st))

    def stop(self, d, detail, code):
        self.close_console(d)
        d["state"], d["id"], d["reason"] = "shut off", 0, detail
        if d.get("proc") and d["proc"].poll() is None:
            d["proc"].kill()
        self.ContainerEvent(d["name"], "stopped", detail)
        self.ContainerExited(d["name"], detail, code)
        if not d["persistent"]:
            del self.c[d["name"]]

    def exited(self, d, status):
        code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
        if d["state"] == "running":
            self.stop(d, "shutdown", code if code >= 0 else 128 - code)

    def close_console(self, d):
        con = d.pop("console", None)
        if con:
            sh, _ = con
            if sh.poll() is None:
                sh.kill()
                sh.wait()

    @dbus.service.method(IFACE, in_signature="", out_signature="a(ssusso)")
    def ListContainers(self):
        return [(d["name"], d["uuid"], dbus.UInt32(d["id"]), d["state"], tag(d["xml"], "title") or "",
                 dbus.ObjectPath(path_of(d["name"])))
                for d in self.c.values()]

    @dbus.service.method(IFACE, in_signature="s", out_signature="o")
    def DefineXML(self, xml):
        name, uuid = self.parse(xml)
        d = self.c.get(name) or {"name": name, "uuid": uuid, "state": "shut off", "id": 0}
        new = name not in self.c
        d.update(xml=xml, persistent=True)
        self.c[name] = d
        self.ContainerEvent(name, "defined", "added" if new else "updated")
        return dbus.ObjectPath(path_of(name))

    @dbus.service.method(IFACE, in_signature="st", out_signature="o")
    def CreateXML(self, xml, flags):
        name, uuid = self.parse(xml)
        if name in self.c:
            raise Error("ContainerExists", "Container '%s' already exists" % name)
        d = {"name": name, "uuid": uuid, "xml": xml, "persistent": False}
        self.c[name] = d
        args = re.findall(r"<initarg>(.*?)</initarg>", xml)
        self.run(d, [tag(xml, "init")] + args if args else None)
        return dbus.ObjectPath(path_of(name))

    @dbus.service.method(IFACE, in_signature="s", out_signature="o")
    def GetContainer(self, name):
        self.get(name)
        return dbus.ObjectPath(path_of(name))

    @dbus.service.method(IFACE, in_signature="s")
    def Undefine(self, name):
        d = self.get(name)
        if d["state"] == "running":
            d["persistent"] = False
        else:
            del self.c[name]
        self.ContainerEvent(name, "undefined", "removed")

    @dbus.service.method(IFACE, in_signature="st")
    def Start(self, name, flags):
        d = self.get(name)
        if d["state"] == "running":
            raise Error("AlreadyRunning", "Container '%s' is already running" % name)
        self.run(d)

    @dbus.service.method(IFACE, in_signature="s")
    def Destroy(self, name):
        d = self.get(name)
        if d["state"] != "running":
            raise Error("NotRunning", "Container '%s' is not running" % name)
        self.stop(d, "destroyed", 137)

    @dbus.service.method(IFACE, in_signature="s")
    def Shutdown(self, name):
        d = self.get(name)
        if d["state"] != "running":
            raise Error("NotRunning", "Container '%s' is not running" % name)

    @dbus.service.method(IFACE, in_signature="st", out_signature="s")
    def GetXML(self, name, flags):
        d = self.get(name)
        xml = d["xml"]
        if "<uuid>" not in xml:
            xml = xml.replace("</name>", "</name>\n  <uuid>%s</uuid>" % d["uuid"], 1)
        if d["state"] == "running" and not flags & 2:
            xml = xml.replace("<domain type='lxc'>", "<domain type='lxc' id='%d'>" % d["id"], 1)
        return xml

    @dbus.service.method(IFACE, in_signature="st", out_signature="h")
    def OpenConsole(self, name, flags):
        d = self.get(name)
        if d["state"] != "running":
            raise Error("NotRunning", "Container '%s' is not running" % name)
        if d.get("console") and d["console"][0].poll() is None:
            if not flags & 1:
                raise Error("ConsoleBusy", "The console of container '%s' is in use" % name)
        self.close_console(d)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ, LIBVIRT_LXC_NAME=name, LIBVIRT_LXC_UUID=d["uuid"], PS1="")
        sh = subprocess.Popen(["/bin/sh"], stdin=mine, stdout=mine, stderr=mine, env=env)
        # Only the shell keeps the fake's end: when it exits, the client sees
        # the console close, as when a container stops.
        mine.close()
        d["console"] = (sh, None)
        fd = dbus.types.UnixFd(theirs.fileno())
        theirs.close()
        return fd

    @dbus.service.method(IFACE, in_signature="sqq")
    def ResizeConsole(self, name, rows, cols):
        self.get(name)
        with open(os.path.join(work, "resize.log"), "a") as f:
            f.write("%s %d %d\n" % (name, rows, cols))

    @dbus.service.method(IFACE, in_signature="s")
    def Suspend(self, name):
        d = self.get(name)
        if d["state"] != "running":
            raise Error("NotRunning", "Container '%s' is not running" % name)
        d["state"], d["reason"] = "paused", "user"
        self.ContainerEvent(name, "suspended", "paused")

    @dbus.service.method(IFACE, in_signature="s")
    def Resume(self, name):
        d = self.get(name)
        if d["state"] != "paused":
            raise Error("NotRunning", "Container '%s' is not paused" % name)
        d["state"], d["reason"] = "running", "unpaused"
        self.ContainerEvent(name, "resumed", "unpaused")

    @dbus.service.method(IFACE, in_signature="s")
    def Reboot(self, name):
        d = self.get(name)
        if d["state"] != "running":
            raise Error("NotRunning", "Container '%s' is not running" % name)
        self.close_console(d)
        self.run(d)

    @dbus.service.method(IFACE, in_signature="sb")
    def SetAutostart(self, name, on):
        self.get(name)["autostart"] = bool(on)

    @dbus.service.method(IFACE, in_signature="stt")
    def SetMemory(self, name, kib, flags):
        self.get(name)
        with open(os.path.join(work, "calls.log"), "a") as f:
            f.write("SetMemory %s %d %d\n" % (name, kib, flags))

    @dbus.service.method(IFACE, in_signature="sa{sv}t")
    def SetSchedulerParameters(self, name, params, flags):
        d = self.get(name)
        with open(os.path.join(work, "calls.log"), "a") as f:
            for k, v in sorted(params.items()):
                f.write("SetSchedulerParameters %s %s=%s(%s) %d\n" % (name, k, v, type(v).__name__, flags))
        if "cpu_shares" in params:
            d["xml"] = re.sub(r"<cputune>.*?</cputune>\n?", "", d["xml"], flags=re.S)
            d["xml"] = d["xml"].replace("<os>", "<cputune><shares>%d</shares></cputune>\n<os>" % params["cpu_shares"], 1)

    @dbus.service.signal(IFACE, signature="ssi")
    def ContainerExited(self, name, detail, code):
        pass

    @dbus.service.signal(IFACE, signature="sss")
    def ContainerEvent(self, name, event, detail):
        pass

class Containers(dbus.service.FallbackObject):
    """The container objects' properties that vivctl reads."""
    def __init__(self, bus, manager):
        super().__init__(bus, "/org/vivarium1/container")
        self.m = manager

    @dbus.service.method("org.freedesktop.DBus.Properties", in_signature="ss", out_signature="v",
                         rel_path_keyword="rel")
    def Get(self, iface, prop, rel=None):
        for d in self.m.c.values():
            if path_of(d["name"]).endswith(rel):
                if prop == "Persistent":
                    return dbus.Boolean(d["persistent"])
                if prop == "Autostart":
                    return dbus.Boolean(d.get("autostart", False))
                if prop == "StateReason":
                    return dbus.String(d.get("reason", "unknown"))
        raise Error("NoSuchContainer", "No container at '%s'" % rel)

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
m = Manager(bus)
containers = Containers(bus, m)
name = dbus.service.BusName("org.vivarium1", bus)
open(os.path.join(work, "fake.ready"), "w").close()
GLib.MainLoop().run()
PY
"$PY" fake.py "$work" >"$work/fake.log" 2>&1 &
fake_pid=$!
for ((i = 0; i < 100; i++)); do [ -e "$work/fake.ready" ] && break; sleep 0.05; done
[ -e "$work/fake.ready" ] || { cat "$work/fake.log"; echo "FAIL: the fake manager did not start"; exit 1; }

# --- checks (check NAME RC STDOUT STDERR CMD..., tests/lib/check-output.sh) ------------

cat >helloworld.xml <<'EOF'
<domain type='lxc'>
<name>helloworld</name>
<uuid>a099376e-a803-ca94-f99c-d9a8f9a30088</uuid>
<memory>102400</memory>
<os>
<type>exe</type>
<init>/bin/sh</init>
</os>
<devices>
<console type='pty'/>
</devices>
</domain>
EOF
uuid=a099376e-a803-ca94-f99c-d9a8f9a30088

check "list: empty" 0 " Id   Name   State
--------------------" "" "$VIVCTL" list
check "define" 0 "Domain helloworld defined from helloworld.xml" "" "$VIVCTL" define helloworld.xml
check "define -q" 0 "" "" "$VIVCTL" -q define helloworld.xml
check "list: running only" 0 " Id   Name   State
--------------------" "" "$VIVCTL" list
check "list --all" 0 " Id   Name         State
-----------------------------
 -    helloworld   shut off" "" "$VIVCTL" list --all
check "list --all --name" 0 "helloworld" "" "$VIVCTL" list --all --name
check "list --all --uuid" 0 "$uuid" "" "$VIVCTL" list --all --uuid
check "domstate" 0 "shut off" "" "$VIVCTL" domstate helloworld
check "domstate --reason (never started)" 0 "shut off (unknown)" "" "$VIVCTL" domstate --reason helloworld
check "domid (shut off)" 0 "-" "" "$VIVCTL" domid helloworld
check "console: not running" 1 "" "error: Container 'helloworld' is not running" "$VIVCTL" console helloworld
check "start" 0 "Domain helloworld started" "" "$VIVCTL" start helloworld
check "start again" 1 "" "error: Container 'helloworld' is already running" "$VIVCTL" start helloworld
check "list" 0 " Id      Name         State
-------------------------------
 31417   helloworld   running" "" "$VIVCTL" list
check "domid" 0 "31417" "" "$VIVCTL" domid helloworld
check "domuuid" 0 "$uuid" "" "$VIVCTL" domuuid helloworld
check "domname by id" 0 "helloworld" "" "$VIVCTL" domname 31417
check "domname by uuid" 0 "helloworld" "" "$VIVCTL" domname "$uuid"
check "domstate by id" 0 "running" "" "$VIVCTL" domstate 31417
check "domstate --reason (StateReason)" 0 "running (booted)" "" "$VIVCTL" domstate --reason helloworld
check "dominfo" 0 "Id:             31417
Name:           helloworld
UUID:           $uuid
OS Type:        exe
State:          running
CPU(s):         1
Max memory:     102400 KiB
Used memory:    102400 KiB
Persistent:     yes
Autostart:      disable
Managed save:   no
Security model: none
Security DOI:   0" "" "$VIVCTL" dominfo helloworld
check "dumpxml" 0 "<domain type='lxc' id='31417'>" "" sh -c "'$VIVCTL' dumpxml helloworld | head -n 1"
check "dumpxml --inactive" 0 "<domain type='lxc'>" "" sh -c "'$VIVCTL' dumpxml helloworld --inactive | head -n 1"
check "dumpxml --domain" 0 "<domain type='lxc'>" "" sh -c "'$VIVCTL' dumpxml --inactive --domain helloworld | head -n 1"
check "shutdown" 0 "Domain helloworld is being shutdown" "" "$VIVCTL" shutdown helloworld
rm -f calls.log
check "setmem" 0 "" "" "$VIVCTL" setmem helloworld 50M
check "setmem --config" 0 "" "" "$VIVCTL" setmem helloworld 1GB --config
check "setmem: malformed" 1 "" "error: Numeric value '1X' for <size> option is malformed or out of range" \
        "$VIVCTL" setmem helloworld 1X
check "schedinfo" 0 "Scheduler      : posix
cpu_shares     : 1024
vcpu_period    : 100000
vcpu_quota     : -1" "" "$VIVCTL" schedinfo helloworld
check "schedinfo --set" 0 "Scheduler      : posix
cpu_shares     : 512
vcpu_period    : 100000
vcpu_quota     : -1" "" "$VIVCTL" schedinfo helloworld --set cpu_shares=512 --live
check "schedinfo --set quota" 0 "*" "" "$VIVCTL" schedinfo helloworld --set vcpu_quota=-1
check "schedinfo --set bad" 1 "" "error: invalid scheduler option: frob" "$VIVCTL" schedinfo helloworld --set frob=1
if [ "$(cat calls.log)" = "SetMemory helloworld 51200 0
SetMemory helloworld 976562 2
SetSchedulerParameters helloworld cpu_shares=512(UInt64) 1
SetSchedulerParameters helloworld vcpu_quota=-1(Int64) 0" ]; then pass; else fail "calls: '$(cat calls.log)'"; fi
check "unknown domain" 1 "" "error: failed to get domain 'nosuch'" "$VIVCTL" start nosuch
check "unknown domain by id" 1 "" "error: failed to get domain '4242'" "$VIVCTL" dominfo 4242
check "unknown domain: dominfo" 1 "" "error: failed to get domain 'nosuch'" "$VIVCTL" dominfo nosuch
check "InvalidConfig names the file" 1 "" "error: /dev/null:1:1: Document is not a domain" \
        "$VIVCTL" define /dev/null
check "lxc:/// connects to the same" 0 "helloworld" "" "$VIVCTL" -c lxc:/// list --name

# Console through stdin that is not a terminal: relays, and after stdin's end
# keeps printing until the console has been quiet for a second.
check "console: piped stdin (no extra newline at the end)" 0 "Connected to domain helloworld
Escape character is ^]
helloworld
$uuid" "" sh -c "printf 'echo \$LIBVIRT_LXC_NAME\necho \$LIBVIRT_LXC_UUID\n' | '$VIVCTL' console helloworld"
n=$(printf 'echo x\n' | "$VIVCTL" console helloworld | wc -l)
[ "$n" = 3 ] && pass || fail "console: piped stdin: $n lines of output, expected 3"
check "console: ^] in piped stdin detaches" 0 "Connected to domain helloworld
Escape character is ^]
before" "" sh -c "(printf 'echo before\n'; sleep 0.5; printf '\035echo after\n') | '$VIVCTL' console helloworld"
check "console: the console ends (exit)" 0 "Connected to domain helloworld
Escape character is ^]
bye" "" sh -c "printf 'echo bye; exit\n' | '$VIVCTL' console helloworld --wait-eof"

# In a pseudo-terminal: raw mode, the escape, the window size, --force.
# (The fake's shell reads a socket, not a pty: no ICRNL, so lines end in \n.)
cat >ptydrive.py <<'PY'
import fcntl, os, pty, select, signal, struct, sys, termios, time
script, cmd = sys.argv[1], sys.argv[2:]
def winsize(fd, r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
pid, fd = pty.fork()
if pid == 0:
    winsize(0, 40, 120)
    os.execvp(cmd[0], cmd)
out = b""
def pump(t):
    global out
    end = time.monotonic() + t
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0, end - time.monotonic()))
        if not r:
            break
        try:
            d = os.read(fd, 4096)
        except OSError:
            return False
        if not d:
            return False
        out += d
    return True
alive = True
for step in script.split(";"):
    verb, _, arg = step.strip().partition(" ")
    if verb == "wait":
        alive = pump(float(arg)) and alive
    elif verb == "send":
        os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
    elif verb == "resize":
        r, c = arg.split()
        winsize(fd, int(r), int(c))
    elif verb == "attrs":
        # The client's terminal settings, as the pty's slave side sees them.
        a = termios.tcgetattr(fd)
        out += b"[lflag-icanon=%d]\n" % (1 if a[3] & termios.ICANON else 0)
for _ in range(50):
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        break
    pump(0.1)
else:
    os.kill(pid, signal.SIGKILL)
    p, st = os.waitpid(pid, 0)
pump(0.2)
sys.stdout.write(out.decode("utf-8", "replace").replace("\r", ""))
sys.stdout.write("[exit=%d]\n" % (os.WEXITSTATUS(st) if os.WIFEXITED(st) else -1))
PY
ptyrun() { "$PY" "$work/ptydrive.py" "$@"; }

rm -f resize.log
out=$(ptyrun "wait 1; attrs; send echo in-a-pty\n; wait 1; resize 50 132; wait 1; send \x1d; wait 1" "$VIVCTL" console helloworld)
grep -q '^Connected to domain helloworld$' <<<"$out" && pass || fail "pty: no 'Connected' line: '$out'"
grep -q '^Escape character is ^]$' <<<"$out" && pass || fail "pty: no 'Escape character' line: '$out'"
grep -q '^in-a-pty$' <<<"$out" && pass || fail "pty: output not relayed: '$out'"
grep -q '\[lflag-icanon=0\]' <<<"$out" && pass || fail "pty: the terminal is not in raw mode: '$out'"
grep -q '\[exit=0\]$' <<<"$out" && pass || fail "pty: ^] did not end the client with 0: '$out'"
if [ "$(cat resize.log 2>/dev/null)" = "helloworld 40 120
helloworld 50 132" ]; then pass; else fail "pty: window sizes forwarded: '$(cat resize.log 2>/dev/null)'"; fi

# After the client, the terminal is back to what it was (checked by a shell
# in the same pty: stty shows icanon).
out=$(ptyrun "wait 1; send \x1d; wait 1" sh -c "'$VIVCTL' console helloworld; stty -a | grep -o -- '-\?icanon' | head -n 1")
grep -q '^icanon$' <<<"$out" && pass || fail "pty: terminal not restored after ^]: '$out'"
out=$(ptyrun "wait 1; send exit\n; wait 1" sh -c "'$VIVCTL' console helloworld; echo rc=\$?; stty -a | grep -o -- '-\?icanon' | head -n 1")
grep -q '^rc=0$' <<<"$out" && grep -q '^icanon$' <<<"$out" && pass ||
        fail "pty: console end: exit 0 and terminal restored: '$out'"
out=$(ptyrun "wait 1" sh -c "'$VIVCTL' console helloworld & p=\$!; sleep 0.5; kill -TERM \$p; wait \$p; echo rc=\$?; stty -a | grep -o -- '-\?icanon' | head -n 1")
grep -q '^icanon$' <<<"$out" && pass || fail "pty: terminal not restored after SIGTERM: '$out'"

# One client at a time; --force takes over and ends the first one.
mkfifo fifo
sleep 30 >fifo &
holder=$!
"$VIVCTL" console helloworld --wait-eof <fifo >first.out 2>&1 &
first=$!
sleep 1
check "console: busy" 1 "" "error: The console of container 'helloworld' is in use" "$VIVCTL" console helloworld </dev/null
out=$(ptyrun "wait 1; send echo forced\n; wait 1; send \x1d; wait 0.5" "$VIVCTL" console helloworld --force)
grep -q '^forced$' <<<"$out" && pass || fail "console --force: '$out'"
for ((i = 0; i < 50; i++)); do kill -0 "$first" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$first" 2>/dev/null; then
        fail "console --force: the first client still runs"
        kill "$first"
else
        wait "$first" && pass || fail "console --force: the first client did not exit 0"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

check "suspend" 0 "Domain helloworld suspended" "" "$VIVCTL" suspend helloworld
check "list: paused" 0 " Id      Name         State
------------------------------
 31417   helloworld   paused" "" "$VIVCTL" list
check "resume" 0 "Domain helloworld resumed" "" "$VIVCTL" resume helloworld
check "resume again" 1 "" "error: Container 'helloworld' is not paused" "$VIVCTL" resume helloworld
check "reboot" 0 "Domain helloworld is being rebooted" "" "$VIVCTL" reboot helloworld
check "reboot: new id" 0 "31418" "" "$VIVCTL" domid helloworld
check "autostart" 0 "Domain helloworld marked as autostarted" "" "$VIVCTL" autostart helloworld
check "dominfo: autostart" 0 "Autostart:      enable" "" sh -c "'$VIVCTL' dominfo helloworld | grep Autostart"
check "autostart --disable" 0 "Domain helloworld unmarked as autostarted" "" "$VIVCTL" autostart --disable helloworld

# start --console: the messages, then the console.
check "destroy" 0 "Domain helloworld destroyed" "" "$VIVCTL" destroy helloworld
check "destroy again" 1 "" "error: Container 'helloworld' is not running" "$VIVCTL" destroy helloworld
check "start --console" 0 "Domain helloworld started
Connected to domain helloworld
Escape character is ^]
hi" "" sh -c "printf 'echo hi\n' | '$VIVCTL' start helloworld --console"
check "destroy by id" 0 "Domain helloworld destroyed" "" "$VIVCTL" destroy 31419
check "undefine" 0 "Domain helloworld has been undefined" "" "$VIVCTL" undefine helloworld
check "list --all: empty again" 0 " Id   Name   State
--------------------" "" "$VIVCTL" list --all

# create, create --wait: the exit status of init, nothing printed.
sed -e 's|<init>/bin/sh</init>|<init>/bin/sh</init><initarg>-c</initarg><initarg>sleep 0.3; exit 3</initarg>|' \
        -e 's|helloworld|transient|' -e '/<uuid>/d' helloworld.xml >transient.xml
check "create --wait" 3 "" "" "$VIVCTL" create transient.xml --wait
check "create --wait: gone" 1 "" "error: failed to get domain 'transient'" "$VIVCTL" domstate transient
# create --wait never loads the XML parser (src/shared/xml-module.h: libxml2
# costs every process ~4.5 ms of dynamic linking); validate does.
loads_xml() { # NAME ARGS...: the libraries vivctl loaded, in $work/ld-NAME.*
        local name=$1
        shift
        rm -f "$work/ld-$name".*
        LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld-$name" "$VIVCTL" "$@" >/dev/null 2>&1
        cat "$work/ld-$name".* | grep -Eq 'calling init: .*(vivarium-xml\.so|libxml2)'
}
# (one more start: the Ids of the fake's containers below move on by one)
if loads_xml create create transient.xml --wait; then
        fail "create --wait loads the XML parser"
else
        pass
fi
if loads_xml validate validate helloworld.xml; then
        pass
else
        fail "validate does not load the XML parser, as LD_DEBUG shows: the check above sees nothing"
fi
sed -i 's|sleep 0.3; exit 3|sleep 30|' transient.xml
check "create" 0 "Domain transient created from transient.xml" "" "$VIVCTL" create transient.xml
check "list: transient" 0 " Id      Name        State
------------------------------
 31422   transient   running" "" "$VIVCTL" list
check "dominfo: transient" 0 "Persistent:     no" "" sh -c "'$VIVCTL' dominfo transient | grep Persistent"
check "destroy transient" 0 "Domain transient destroyed" "" "$VIVCTL" destroy transient

# domiflist: the interfaces of the definition, virsh's table.
sed -e 's|helloworld|netdom|; /<uuid>/d' \
    -e "s|</devices>|<interface type='network'><mac address='52:54:00:4d:2b:cd'/><source network='default'/></interface></devices>|" \
    helloworld.xml >netdom.xml
"$VIVCTL" -q define netdom.xml || fail "define netdom"
check "domiflist" 0 " Interface   Type      Source    Model   MAC
------------------------------------------------------------
 -           network   default   -       52:54:00:4d:2b:cd" "" "$VIVCTL" domiflist netdom --inactive
"$VIVCTL" -q undefine netdom

# Lifecycle events, as virsh prints them.
check "event: a type is required" 1 "" "error: one of --list, --all, or --event <type> is required" "$VIVCTL" event
check "event --list" 0 "lifecycle" "" "$VIVCTL" event --list
# The listeners end when told (^C, as in virsh) once the last event came, not
# after a fixed time: how long six calls take depends on the machine.
"$VIVCTL" event evdom --event lifecycle >events.one 2>&1 &
ev_one=$!
"$VIVCTL" event --all --loop --timeout 300 >events.all 2>&1 &
ev_all=$!
# Subscribed when a probe container's events reach the --all listener (it was
# started after the one-shot listener).
sed 's|helloworld|evprobe|; /<uuid>/d' helloworld.xml >evprobe.xml
for ((i = 0; i < 300; i++)); do
        "$VIVCTL" -q define evprobe.xml && "$VIVCTL" -q undefine evprobe
        grep -q "'evprobe'" events.all && break
        sleep 0.1
done
sed 's|helloworld|evdom|; /<uuid>/d' helloworld.xml >evdom.xml
"$VIVCTL" -q define evdom.xml && "$VIVCTL" -q start evdom && "$VIVCTL" -q suspend evdom &&
        "$VIVCTL" -q resume evdom && "$VIVCTL" -q destroy evdom && "$VIVCTL" -q undefine evdom ||
        fail "event: the lifecycle commands failed"
for ((i = 0; i < 300; i++)); do
        grep -q "'evdom': Undefined Removed" events.all && break
        sleep 0.1
done
kill -INT "$ev_all"
wait "$ev_all" "$ev_one"
if [ "$(grep -v "'evprobe'" events.all)" = "event 'lifecycle' for domain 'evdom': Defined Added
event 'lifecycle' for domain 'evdom': Started Booted
event 'lifecycle' for domain 'evdom': Suspended Paused
event 'lifecycle' for domain 'evdom': Resumed Unpaused
event 'lifecycle' for domain 'evdom': Stopped Destroyed
event 'lifecycle' for domain 'evdom': Undefined Removed
events received: $(($(grep -c "^event " events.all)))" ]; then pass; else fail "event --all --loop: '$(cat events.all)'"; fi
if [ "$(cat events.one)" = "event 'lifecycle' for domain 'evdom': Defined Added
events received: 1" ]; then pass; else fail "event DOMAIN (one shot): '$(cat events.one)'"; fi
check "event --timeout with no event" 0 "event loop timed out
events received: 0" "" "$VIVCTL" event nosuchdomain --event lifecycle --timeout 1

# The service gone while create --wait waits (its NameOwnerChanged match is
# installed without waiting for the reply): it asks again, finds no manager,
# and fails instead of waiting for ever.
sed -i 's|sleep 30|sleep 300|' transient.xml
"$VIVCTL" create transient.xml --wait >gone.out 2>&1 &
waiter=$!
for ((i = 0; i < 100; i++)); do
        "$VIVCTL" domstate transient >/dev/null 2>&1 && break
        sleep 0.05
done
kill "$fake_pid"
wait "$fake_pid" 2>/dev/null
fake_pid=
for ((i = 0; i < 100; i++)); do kill -0 "$waiter" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$waiter" 2>/dev/null; then
        kill "$waiter"
        fail "create --wait still waits after the manager went away"
else
        wait "$waiter"
        rc=$?
        [ "$rc" = 1 ] && grep -q "^error: " gone.out && pass ||
                fail "create --wait, manager gone: exit $rc, '$(cat gone.out)'"
fi

# The service gone: virsh's pair of messages.
check "no service" 1 "" "*" "$VIVCTL" list
check "no service: message" 0 "error: failed to connect to the hypervisor" "" \
        sh -c "'$VIVCTL' list 2>&1 | head -n 1"

echo "vivctl-fake: $passed passed, $failures failed"
[ $failures -eq 0 ]
