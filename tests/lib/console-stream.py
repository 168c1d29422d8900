#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks org.vivarium1.ConsoleStream on the local system bus, from two
clients: the live interface matches dbus/org.vivarium1.ConsoleStream.xml,
Output reaches the opener with a typed command's answer, another client can
neither write into the session nor open the busy console, Close frees it.

    console-stream.py NAME COMMITTED_XML

NAME is a running container whose console runs a shell. Prints "PASS: what"
or "FAIL: what" per check; exits 1 when one failed.
"""
import sys
import xml.etree.ElementTree as ET

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

IFACE = "org.vivarium1.ConsoleStream"
name, committed = sys.argv[1], sys.argv[2]
failed = False


def report(ok, what):
    global failed
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    failed |= not ok


def canon_iface(xml_text):
    def canon(e):
        attrs = " ".join('%s="%s"' % kv for kv in sorted(e.attrib.items()))
        return "<%s %s>%s</%s>" % (e.tag, attrs, "".join(canon(k) for k in e), e.tag)
    found = [e for e in ET.fromstring(xml_text).iter("interface") if e.get("name") == IFACE]
    return canon(found[0]) if found else "MISSING"


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
opener = dbus.SystemBus(private=True)
other = dbus.SystemBus(private=True)
manager = opener.get_object("org.vivarium1", "/org/vivarium1")
output = bytearray()
closed = []
opener.add_signal_receiver(lambda data, path=None: output.extend(bytes(data)), "Output", IFACE,
                           path_keyword="path")
opener.add_signal_receiver(lambda reason, path=None: closed.append(str(reason)), "Closed", IFACE,
                           path_keyword="path")

other_closed = []
other.add_signal_receiver(lambda reason, path=None: other_closed.append(str(reason)), "Closed", IFACE,
                          path_keyword="path")

path = manager.OpenConsoleStream(name, dbus.UInt64(0), dbus_interface="org.vivarium1.Manager")
report(str(path).startswith("/org/vivarium1/console/"), "OpenConsoleStream returns a session object (%s)" % path)
stream = opener.get_object("org.vivarium1", path)

live = stream.Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")
with open(committed) as f:
    report(canon_iface(live) == canon_iface(f.read()),
           "the live ConsoleStream interface matches dbus/org.vivarium1.ConsoleStream.xml")


def wait_for(cond, seconds=60):
    loop = GLib.MainLoop()
    ctx = loop.get_context()
    deadline = GLib.get_monotonic_time() + seconds * 1000000
    while not cond() and GLib.get_monotonic_time() < deadline:
        ctx.iteration(False) or GLib.usleep(20000)
    return cond()


stream.Write(dbus.ByteArray(b"echo stream-$((3 * 3))-out\n"), dbus_interface=IFACE)
report(wait_for(lambda: b"stream-9-out" in output), "a command written into the stream answers in Output")

try:
    other.get_object("org.vivarium1", path).Write(dbus.ByteArray(b"echo intruder\n"), dbus_interface=IFACE)
    report(False, "another client's Write into the session is refused")
except dbus.DBusException as e:
    report(e.get_dbus_name() == "org.freedesktop.DBus.Error.AccessDenied",
           "another client's Write into the session is refused (%s)" % e.get_dbus_name())

try:
    other.get_object("org.vivarium1", "/org/vivarium1").OpenConsoleStream(
        name, dbus.UInt64(0), dbus_interface="org.vivarium1.Manager")
    report(False, "a second stream on a busy console is refused")
except dbus.DBusException as e:
    report(e.get_dbus_name() == "org.vivarium1.Error.ConsoleBusy",
           "a second stream on a busy console is refused (%s)" % e.get_dbus_name())

stream.Close(dbus_interface=IFACE)
path2 = other.get_object("org.vivarium1", "/org/vivarium1").OpenConsoleStream(
    name, dbus.UInt64(0), dbus_interface="org.vivarium1.Manager")
report(path2 != path, "after Close the console can be opened again")

# force: the other client takes it over; our session is told it ended
path3 = manager.OpenConsoleStream(name, dbus.UInt64(1), dbus_interface="org.vivarium1.Manager")
report(wait_for(lambda: other_closed), "force takes the console over and the previous session gets Closed (%s)"
       % other_closed)
opener.get_object("org.vivarium1", path3).Close(dbus_interface=IFACE)
sys.exit(1 if failed else 0)
