# SPDX-License-Identifier: LGPL-2.1-or-later
# The caller of a container started with --pass-fds (tests/lib/pass-fds-server.py
# is its init), for test-procview.sh (start) and test-parity-live.sh (create):
#   pass-fds-activate.py VERB ARG PORT...  listens on 127.0.0.1:PORT for each
#       PORT, runs `vivctl VERB ARG --pass-fds FD,...` with those sockets, prints
#       what vivctl printed, then "inodes=I,..." of the sockets (to look for
#       copies of them elsewhere);
#   pass-fds-activate.py ask PORT  connects to 127.0.0.1:PORT and prints the
#       server's answer line.
import os, socket, subprocess, sys

if sys.argv[1] == "ask":
    c = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=30)
    print(c.makefile().readline().strip())
    sys.exit(0)

verb, arg, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
socks = []
for port in ports:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    socks.append(s)
fds = [s.fileno() for s in socks]
p = subprocess.run(["vivctl", "-c", "lxc:///", verb, arg, "--pass-fds", ",".join(map(str, fds))], pass_fds=fds,
                   capture_output=True, text=True)
print(p.stdout + p.stderr, end="")
print("inodes=%s" % ",".join(str(os.fstat(f).st_ino) for f in fds))
