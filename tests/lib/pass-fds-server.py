# SPDX-License-Identifier: LGPL-2.1-or-later
# init of a container started with --pass-fds (start or create): a server on
# the two sockets it was passed (fds 3 and 4), answering each client with
# what it sees: which fd, LISTEN_FDS, LISTEN_PID, its pid, the fds it has.
import os, select, socket
def is_open(f):
    try:
        os.fstat(f)
        return True
    except OSError:
        return False
fds = [f for f in range(0, 256) if is_open(f)]
info = "LISTEN_FDS=%s LISTEN_PID=%s pid=%d fds=%s" % (os.environ.get("LISTEN_FDS"), os.environ.get("LISTEN_PID"),
                                                     os.getpid(), ",".join(map(str, fds)))
socks = {socket.socket(fileno=f): f for f in (3, 4)}
while True:
    for s in select.select(list(socks), [], [])[0]:
        c, _ = s.accept()
        c.sendall(("fd%d %s\n" % (socks[s], info)).encode())
        c.close()
