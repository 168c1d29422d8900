# SPDX-License-Identifier: LGPL-2.1-or-later
# A UDP server for the published-port tests (busybox nc has no UDP):
#   udp-echo.py NAME [PORT [ADDRESS]]
# answers each datagram DATA with "NAME:DATA from ADDR PORT", ADDR and PORT
# being the sender's as the server sees them (IPv4 ones as ::ffff:a.b.c.d).
# Default: port 53 on every address, IPv4 and IPv6.
import socket, sys
name = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 53
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind((sys.argv[3] if len(sys.argv) > 3 else "::", port))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"%s:%s from %s %d" % (name.encode(), data, peer[0].encode(), peer[1]), peer)
