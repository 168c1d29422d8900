# SPDX-License-Identifier: LGPL-2.1-or-later
# A UDP client for the published-port tests:
#   udp-ask.py ADDR PORT                 sends "ping", prints the answer
#   udp-ask.py ADDR PORT CLIENTS ROUNDS  CLIENTS sockets at once, each sending
#       "ping-C-R" in ROUNDS rounds; prints every answer, one a line, by
#       client and round ("lost ping-C-R" for one that never came), then
#       "# answered=N lost=N sources=N": a client takes only the answer to
#       its own datagram, and sources counts the distinct "from ADDR PORT"
#       the server reported (one per client when each has its own flow)
# A datagram without an answer is sent again (up to 5 times, 3 s apart):
# loss is UDP's right, a missing answer after that is a failure.
import select, socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
clients = int(sys.argv[3]) if len(sys.argv) > 3 else 0
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 1
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
socks = [socket.socket(family, socket.SOCK_DGRAM) for _ in range(max(clients, 1))]
answers = {}
for r in range(rounds):
    want = {i: (b"ping-%d-%d" % (i, r) if clients else b"ping") for i in range(len(socks))}
    for _ in range(5):
        for i, msg in want.items():
            socks[i].sendto(msg, (addr, port))
        ready = select.select([socks[i] for i in want], [], [], 3)[0]
        while ready:
            for s in ready:
                i = socks.index(s)
                data = s.recv(2048)
                if i in want and data.split(b" ")[0].endswith(b":" + want[i]):
                    answers[(i, r)] = data.decode()
                    del want[i]
            ready = select.select([socks[i] for i in want], [], [], 0.5)[0] if want else []
        if not want:
            break
    for i, msg in want.items():
        answers[(i, r)] = "lost " + msg.decode()
for key in sorted(answers):
    print(answers[key])
if clients:
    got = [a for a in answers.values() if not a.startswith("lost ")]
    print("# answered=%d lost=%d sources=%d" % (len(got), len(answers) - len(got),
                                                len({a.split(" from ", 1)[1] for a in got})))
