#!/usr/bin/env python3
"""Writes a small deterministic capture that makes connscope write every log
the Zeek package has a record type for (conn.log, flowmeter.log,
context.log, score.log, notice.log).

Usage: gen_schema_pcap.py OUT.pcap

Python 3 standard library only. Classic pcap, Ethernet, microsecond
timestamps, correct IPv4/TCP/UDP checksums. Three parts:

* 0-20 s: benign traffic to learn from (`--train-seconds 20`): 40 TCP
  connections from 10.0.0.5 to 93.184.216.34:80 with a complete handshake,
  a request, a reply and both FINs; 20 UDP exchanges with 10.0.0.53:53.
* 30 s: a SYN sweep from 10.0.0.66 to port 22 of 25 hosts 10.1.0.1-25,
  none answered: connscope's `ConnScope::Scan` (20 hosts with failed
  connections within 60 s).
* 40 s: ten more benign TCP connections, scored like every connection
  after the training prefix.
"""

import struct
import sys

T0 = 1704067200  # 2024-01-01T00:00:00Z


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ipv4(src, dst, proto, payload, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, ttl, proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def tcp(src, sp, dst, dp, seq, ack, flags, data=b""):
    h = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(h) + len(data))
    c = csum(pseudo + h + data)
    h = h[:16] + struct.pack("!H", c) + h[18:]
    return ipv4(src, dst, 6, h + data)


def udp(src, sp, dst, dp, data):
    h = struct.pack("!HHHH", sp, dp, 8 + len(data), 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(h) + len(data))
    c = csum(pseudo + h + data) or 0xFFFF
    h = h[:6] + struct.pack("!H", c)
    return ipv4(src, dst, 17, h + data)


def eth(ip):
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def tcp_session(pkts, t, c, cp, s, sp, req, rep):
    """A complete connection: handshake, request, reply, both FINs."""
    a, b = 1000, 5000
    seq = [
        (0.000, c, cp, s, sp, a, 0, SYN, b""),
        (0.010, s, sp, c, cp, b, a + 1, SYN | ACK, b""),
        (0.020, c, cp, s, sp, a + 1, b + 1, ACK, b""),
        (0.021, c, cp, s, sp, a + 1, b + 1, PSH | ACK, req),
        (0.040, s, sp, c, cp, b + 1, a + 1 + len(req), PSH | ACK, rep),
        (0.041, c, cp, s, sp, a + 1 + len(req), b + 1 + len(rep), FIN | ACK, b""),
        (0.050, s, sp, c, cp, b + 1 + len(rep), a + 2 + len(req), FIN | ACK, b""),
        (0.060, c, cp, s, sp, a + 2 + len(req), b + 2 + len(rep), ACK, b""),
    ]
    for dt, x, xp, y, yp, sq, ak, fl, data in seq:
        pkts.append((t + dt, eth(tcp(x, xp, y, yp, sq, ak, fl, data))))


def build():
    pkts = []
    for i in range(40):
        t = 0.5 * i
        req = b"GET /%d HTTP/1.1\r\nHost: example.com\r\n\r\n" % i
        rep = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (i % 7) + b"x" * (i % 7)
        tcp_session(pkts, t, "10.0.0.5", 40000 + i, "93.184.216.34", 80, req, rep)
    for i in range(20):
        t = 0.25 + i
        q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\0\0\x01\0\x01"
        r = struct.pack("!HHHHHH", i, 0x8180, 1, 1, 0, 0) + q[12:] + b"\xc0\x0c\0\x01\0\x01\0\0\x0e\x10\0\x04" + ip4("93.184.216.34")
        pkts.append((t, eth(udp("10.0.0.5", 50000 + i, "10.0.0.53", 53, q))))
        pkts.append((t + 0.002, eth(udp("10.0.0.53", 53, "10.0.0.5", 50000 + i, r))))
    for i in range(25):
        t = 30 + 0.01 * i
        pkts.append((t, eth(tcp("10.0.0.66", 45000 + i, "10.1.0.%d" % (i + 1), 22, 777, 0, SYN))))
    for i in range(10):
        t = 40 + 0.5 * i
        req = b"GET /late/%d HTTP/1.1\r\nHost: example.com\r\n\r\n" % i
        tcp_session(pkts, t, "10.0.0.5", 41000 + i, "93.184.216.34", 80, req, b"HTTP/1.1 204 No Content\r\n\r\n")
    pkts.sort(key=lambda p: p[0])
    return pkts


def capture_bytes():
    """The whole capture file."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for t, frame in build():
        us = round(t * 1_000_000)
        out.append(struct.pack("<IIII", T0 + us // 1_000_000, us % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_schema_pcap.py OUT.pcap")
    with open(sys.argv[1], "wb") as f:
        f.write(capture_bytes())


if __name__ == "__main__":
    main()
