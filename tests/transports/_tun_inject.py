"""Sends packets finwait must ignore (or drop) over the TUN interface, from inside
the test's namespace. argv: DEV. Prints one JSON line with what it sent.

- UDP and ICMP to finwait's address (not TCP),
- a TCP SYN to 10.77.0.9, another host on the subnet (not for finwait),
- a TCP segment with the MF flag set (a fragment),
- a TCP segment with a wrong TCP checksum (dropped by the endpoint as bad-checksum),
- an IPv6 datagram to ff02::1 on the interface (not IPv4),
- a SYN to a closed port of finwait, which must answer RST (connection refused).
"""
import json
import socket
import struct
import sys

dev = sys.argv[1]
FINWAIT = "10.77.0.2"
KERNEL = "10.77.0.1"
sent = {}

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"not tcp", (FINWAIT, 9))
sent["udp"] = 1

icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
body = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"
s = sum(struct.unpack("!%dH" % (len(body) // 2), body))
s = (s & 0xFFFF) + (s >> 16)
csum = ~s & 0xFFFF
icmp.sendto(struct.pack("!BBHHH", 8, 0, csum, 1, 1) + b"ping", (FINWAIT, 0))
sent["icmp"] = 1

other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
other.setblocking(False)
try:
    other.connect(("10.77.0.9", 80))
except BlockingIOError:
    pass
sent["other_host_syn"] = 1


def tcp_header(sport, dport, flags, checksum):
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 65535, checksum, 0)


# A SYN with a checksum that cannot be right (the real one is computed below and
# changed by one).
def tcp_checksum(src, dst, seg):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
    data = pseudo + seg
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
good = tcp_checksum(KERNEL, FINWAIT, tcp_header(40000, 8080, 0x02, 0))
raw.sendto(tcp_header(40000, 8080, 0x02, (good + 1) & 0xFFFF), (FINWAIT, 0))
sent["bad_checksum"] = 1

# An IPv4 packet with MF set, built whole (IP_HDRINCL: the kernel fills in the total
# length and the header checksum).
hdrincl = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
seg = tcp_header(40001, 8080, 0x02, 0)
seg = tcp_header(40001, 8080, 0x02, tcp_checksum(KERNEL, FINWAIT, seg))
ip = struct.pack(
    "!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 7, 0x2000, 64, 6, 0,
    socket.inet_aton(KERNEL), socket.inet_aton(FINWAIT),
)
hdrincl.sendto(ip + seg, (FINWAIT, 0))
sent["fragment"] = 1

try:
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    v6.sendto(b"not ipv4", ("ff02::1%" + dev, 9))
    sent["ipv6"] = 1
except OSError as e:
    sent["ipv6_error"] = str(e)

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.settimeout(5)
try:
    c.connect((FINWAIT, 9))
    sent["closed_port"] = "connected"
except ConnectionRefusedError:
    sent["closed_port"] = "refused"
except OSError as e:
    sent["closed_port"] = type(e).__name__

other.close()
print(json.dumps(sent), flush=True)
