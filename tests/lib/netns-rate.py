#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# netns-rate.py SECS PID:IP:PORT...: TCP streams from this network namespace
# to each IP:PORT, all at the same time, each received by a child that
# joined the network namespace of process PID (a container's init). Prints
# the bytes per second each receiver counted, in the targets' order: bytes
# that arrived in SECS seconds starting one second after its first byte (a
# stream's start is not its steady rate). 0 when nothing arrived.
import ctypes
import os
import socket
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def receive(pid, ip, port, secs, out):
    fd = os.open("/proc/%s/ns/net" % pid, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        os.write(out, b"E")
        os._exit(2)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(1)
    os.write(out, b"L")
    s.settimeout(60)
    c, _ = s.accept()
    c.settimeout(60)
    first = begin = last = None
    counted = 0
    while True:
        try:
            b = c.recv(65536)
        except OSError:
            break
        now = time.monotonic()
        if not b:
            break
        if first is None:
            first = now
        if now - first < 1.0:
            continue
        if begin is None:
            begin = now      # the window opens with this chunk, not counted
            continue
        counted += len(b)
        last = now
        if now - begin >= secs:
            break
    rate = int(counted / (last - begin)) if begin and last and last > begin else 0
    os.write(out, str(rate).encode())
    os._exit(0)


def send(ip, port, until):
    try:
        s = socket.create_connection((ip, port), timeout=60)
        buf = b"\0" * 65536
        while time.monotonic() < until:
            s.sendall(buf)
        s.close()
    except OSError:
        pass


def main():
    secs = float(sys.argv[1])
    targets = [(p, ip, int(port)) for p, ip, port in (t.split(":") for t in sys.argv[2:])]
    children = []
    for pid, ip, port in targets:
        r, w = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(r)
            receive(pid, ip, port, secs, w)
        os.close(w)
        children.append((child, r))
    for _, r in children:
        if os.read(r, 1) != b"L":
            print("a receiver could not join its network namespace", file=sys.stderr)
            sys.exit(1)
    until = time.monotonic() + secs + 3
    threads = [threading.Thread(target=send, args=(ip, port, until)) for _, ip, port in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rates = []
    for child, r in children:
        rates.append(os.read(r, 64).decode() or "0")
        os.waitpid(child, 0)
    print(" ".join(rates))


main()
