# SPDX-License-Identifier: LGPL-2.1-or-later
# Both ends of a TCP stream for the relay tests (test-tcp-relay.sh,
# test-ports-local.sh), to see what passes through a relay, half-closes
# included. Data is made from a seed, so both ends know what to expect.
#
#   tcp-peer.py server PORT MODE     on every address, IPv4 and IPv6; one
#                                    line per event on stdout:
#                                    "accepted FROM", and per MODE:
#     after-eof  reads until the client's end of stream, then sends it all
#                back and closes ("echoed N")
#     echo       sends back what it reads as it reads; at the client's end of
#                stream ends its own ("echoed N")
#     first      sends "greeting" and ends its stream at once, then reads
#                until the client's end ("after-eof: DATA")
#     reset      reads a first byte, then resets the connection ("reset")
#   tcp-peer.py client HOST PORT TEST [ARGS]   prints one result line:
#     halfclose SIZE [SEED]   sends SIZE bytes, ends its stream, reads to the
#                             end: "sent N received M same|different"
#     stream SIZE             sends SIZE bytes while reading what comes back
#                             (echo): "sent N received M same|different"
#     many COUNT SIZE         COUNT halfcloses at once, each its own data:
#                             "same=K of COUNT"
#     late DATA               reads to the server's end of stream, then sends
#                             DATA and ends its own: "got GREETING, sent DATA"
#     fate                    sends a byte, reads: "reset", "eof", "data" or
#                             "timeout" (after 60 s)
#     hold COUNT FILE         opens COUNT connections, sends a byte on each,
#                             prints "open", waits until FILE exists, then
#                             half-closes each in turn and reads its answer:
#                             "answered=K of COUNT"
import hashlib, os, socket, sys, threading, time


def data(size, seed):
    out, block, i = bytearray(), b"", 0
    while len(out) < size:
        block = hashlib.sha256(b"%d:%d" % (seed, i)).digest() * 64
        out += block
        i += 1
    return bytes(out[:size])


# one write a line, under a lock: print() writes its words and the newline
# one by one, so lines of two threads could interleave ("accepted accepted
# ::1" then "::1"), and a count of lines that start with a word comes out low
say_lock = threading.Lock()


def say(*words):
    line = " ".join(str(w) for w in words) + "\n"
    with say_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def read_all(s):
    parts = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            return b"".join(parts)
        parts.append(b)


def serve(conn, peer, mode):
    say("accepted", peer[0])
    with conn:
        if mode == "after-eof":
            got = read_all(conn)
            conn.sendall(got)
            say("echoed", len(got))
        elif mode == "echo":
            n = 0
            while True:
                b = conn.recv(1 << 16)
                if not b:
                    break
                conn.sendall(b)
                n += len(b)
            conn.shutdown(socket.SHUT_WR)
            say("echoed", n)
        elif mode == "first":
            conn.sendall(b"greeting")
            conn.shutdown(socket.SHUT_WR)
            say("after-eof:", read_all(conn).decode(errors="replace"))
        elif mode == "reset":
            conn.recv(1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            say("reset")


def server(port, mode):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(128)
    while True:
        conn, peer = s.accept()
        threading.Thread(target=serve, args=(conn, peer, mode), daemon=True).start()


def connect(host, port):
    s = socket.create_connection((host, port), timeout=120)
    return s


def halfclose(host, port, size, seed=0):
    sent = data(size, seed)
    with connect(host, port) as s:
        s.sendall(sent)
        s.shutdown(socket.SHUT_WR)
        got = read_all(s)
    return "sent %d received %d %s" % (len(sent), len(got), "same" if got == sent else "different")


def stream(host, port, size):
    sent = data(size, 1)
    with connect(host, port) as s:
        def write():
            s.sendall(sent)
            s.shutdown(socket.SHUT_WR)
        w = threading.Thread(target=write)
        w.start()
        got = read_all(s)
        w.join()
    return "sent %d received %d %s" % (len(sent), len(got), "same" if got == sent else "different")


def many(host, port, count, size):
    results = [None] * count

    def one(i):
        try:
            results[i] = halfclose(host, port, size, 100 + i)
        except OSError as e:
            results[i] = "error %s" % e
    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if not r.endswith(" same"):
            say("#", r)
    return "same=%d of %d" % (sum(1 for r in results if r.endswith(" same")), count)


def late(host, port, payload):
    with connect(host, port) as s:
        greeting = read_all(s)
        s.sendall(payload.encode())
        s.shutdown(socket.SHUT_WR)
        read_all(s)
    return "got %s, sent %s" % (greeting.decode(errors="replace"), payload)


def fate(host, port):
    try:
        with connect(host, port) as s:
            s.settimeout(60)
            s.sendall(b"x")
            return "data" if s.recv(1) else "eof"
    except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError):
        return "reset"
    except socket.timeout:
        return "timeout"


def hold(host, port, count, path):
    conns = [connect(host, port) for _ in range(count)]
    for s in conns:
        s.sendall(b"x")
    say("open")
    while not os.path.exists(path):
        time.sleep(0.1)
    answered = 0
    for s in conns:
        s.shutdown(socket.SHUT_WR)
        if read_all(s) == b"x":
            answered += 1
        s.close()
    return "answered=%d of %d" % (answered, count)


def main(argv):
    if argv[1] == "server":
        server(int(argv[2]), argv[3])
        return
    host, port, test, args = argv[2], int(argv[3]), argv[4], argv[5:]
    if test == "halfclose":
        say(halfclose(host, port, int(args[0]), int(args[1]) if len(args) > 1 else 0))
    elif test == "stream":
        say(stream(host, port, int(args[0])))
    elif test == "many":
        say(many(host, port, int(args[0]), int(args[1])))
    elif test == "late":
        say(late(host, port, args[0]))
    elif test == "fate":
        say(fate(host, port))
    elif test == "hold":
        say(hold(host, port, int(args[0]), args[1]))
    else:
        sys.exit("unknown test %r" % test)


try:
    main(sys.argv)
except OSError as e:
    say("error:", e)
    sys.exit(1)
