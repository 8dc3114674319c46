#!/usr/bin/env python3
"""Generate small conformance captures for connscope and their expected conn.log.

Python 3 standard library only; deterministic (same bytes on every run).

For every capture NAME.pcap this writes NAME.conn.json: the conn records that
Zeek (and therefore connscope) must produce, one compact JSON object per line,
in Zeek removal order.  The expected records are computed here by an
independent oracle that

  1. reads the pcap file back (classic pcap, Ethernet),
  2. decodes Ethernet / 802.1Q / QinQ / IPv4 (+ fragment reassembly) / IPv6 /
     TCP / UDP / ICMP / ICMPv6 / VXLAN, checking every checksum,
  3. runs a small model of Zeek's connection tracking that follows
     /work/shared/conformance/zeek/SEMANTICS.md (TCP endpoint state machine,
     history, sequence-number sizes, ConnSize counters, timers, flush order).

On top of that every scenario carries hand-written expectations (conn_state,
history, packet/byte counts, duration ...) that are asserted against the
oracle, and README.md is rendered from those hand notes.

Usage: python3 pcaps/gen.py        (writes into the directory of this file)
"""

import base64
import hashlib
import heapq
import ipaddress
import json
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1704067200 * 1_000_000  # 2024-01-01T00:00:00Z, microseconds
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

# ---------------------------------------------------------------------------
# uid (connscope's deterministic algorithm)
# ---------------------------------------------------------------------------

B62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def mix(z):
    z &= M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def b62(n):
    out = []
    while True:
        out.append(B62[n % 62])
        n //= 62
        if n == 0:
            return "".join(out)


def addr16(a):
    a = ipaddress.ip_address(a)
    if a.version == 4:
        return b"\x00" * 10 + b"\xff\xff" + a.packed
    return a.packed


def make_uid(orig_h, orig_p, resp_h, resp_p, ip_proto, ts_ns, seed=0):
    a = (addr16(orig_h), orig_p)
    b = (addr16(resp_h), resp_p)
    lo, hi = (a, b) if a <= b else (b, a)
    data = (struct.pack("<Q", seed) + lo[0] + struct.pack(">H", lo[1]) + hi[0]
            + struct.pack(">H", hi[1]) + bytes([ip_proto]) + struct.pack("<q", ts_ns))
    h = fnv1a64(data)
    return "C" + b62(mix(h) >> 32) + b62(mix(h ^ 0x9E3779B97F4A7C15))


ICMP_COUNTERPART = {1: {8, 0, 13, 14, 15, 16, 10, 9, 17, 18},
                    58: {128, 129, 133, 134, 135, 136, 130, 131, 139, 140, 144, 145}}


def community_id(orig_h, orig_p, resp_h, resp_p, ip_proto, seed=0):
    """Community ID v1 (corelight/community-id-spec): base64(sha1(seed, src, dst,
    proto, 0, sport, dport)) with the smaller (address, port) first, except for
    one-way ICMP messages (types without a counterpart), prefixed with "1:".
    ICMP ports are Zeek's: the type, and the counterpart type or the code."""
    a, b = (addr16(orig_h), orig_p), (addr16(resp_h), resp_p)
    one_way = ip_proto in ICMP_COUNTERPART and orig_p not in ICMP_COUNTERPART[ip_proto]
    if not one_way and b < a:
        a, b = b, a
    v4 = all(x[0][:12] == b"\0" * 10 + b"\xff\xff" for x in (a, b))
    ips = a[0][12:] + b[0][12:] if v4 else a[0] + b[0]
    data = struct.pack(">H", seed) + ips + bytes([ip_proto, 0]) + struct.pack(">HH", a[1], b[1])
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def community_id_selfcheck():
    # The spec's baseline vectors (community-id-spec, baseline/baseline_deflt.json).
    assert community_id("128.232.110.120", 34855, "66.35.250.204", 80, 6) == \
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", community_id("128.232.110.120", 34855, "66.35.250.204", 80, 6)
    assert community_id("66.35.250.204", 80, "128.232.110.120", 34855, 6) == \
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg="


def uid_selfcheck():
    # FNV-1a 64 reference vectors.
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    # SplitMix64: first output for state 0 is mix(0 + golden gamma).
    assert mix(0x9E3779B97F4A7C15) == 0xE220A8397B1DCDAF
    # base62, least-significant digit first (same as connscope's unit test).
    assert "C" + b62(0) + b62(61) == "C0Z"
    assert "C" + b62(62) + b62(1) == "C011"
    # Direction independence and seed dependence.
    u1 = make_uid("10.0.0.1", 40000, "93.184.216.34", 80, 6, 1704067200_000000000)
    u2 = make_uid("93.184.216.34", 80, "10.0.0.1", 40000, 6, 1704067200_000000000)
    assert u1 == u2 and u1 != make_uid("10.0.0.1", 40000, "93.184.216.34", 80, 6,
                                         1704067200_000000000, seed=1)
    # Frozen value (regression guard for this implementation).
    assert u1 == UID_SELFCHECK, u1


# Frozen output of make_uid for the example above (computed once by this file).
UID_SELFCHECK = "CRMP4N1dVUbHIGnk77"

# ---------------------------------------------------------------------------
# Packet building
# ---------------------------------------------------------------------------


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def pseudo(src, dst, proto, length):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        return s.packed + d.packed + struct.pack("!BBH", 0, proto, length)
    return s.packed + d.packed + struct.pack("!I3xB", length, proto)


def tcp_seg(src, dst, sport, dport, seq, ack, flags, payload, win=64240):
    fl = 0
    for ch, bit in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("A", 16)):
        if ch in flags:
            fl |= bit
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & M32, ack & M32, 5 << 4, fl, win, 0, 0)
    c = csum(pseudo(src, dst, 6, len(hdr) + len(payload)) + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def udp_dgram(src, dst, sport, dport, payload):
    ln = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, ln, 0)
    c = csum(pseudo(src, dst, 17, ln) + hdr + payload)
    if c == 0:
        c = 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + payload


def icmp4_msg(typ, code, rest, payload):
    m = struct.pack("!BBH", typ, code, 0) + rest + payload
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp6_msg(src, dst, typ, code, rest, payload):
    m = struct.pack("!BBH", typ, code, 0) + rest + payload
    c = csum(pseudo(src, dst, 58, len(m)) + m)
    return m[:2] + struct.pack("!H", c) + m[4:]


def ipv4_pkt(src, dst, proto, l4, ident, flags_frag=0x4000, total_len=None):
    tl = 20 + len(l4) if total_len is None else total_len
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tl, ident, flags_frag, 64, proto, 0,
                    ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4


def ipv6_pkt(src, dst, nh, l4):
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), nh, 64,
                       ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed) + l4


MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ether(payload, ethertype, src_mac=MAC_A, dst_mac=MAC_B, vlans=()):
    """vlans: sequence of (tpid, vid), outermost first."""
    out = dst_mac + src_mac
    for tpid, vid in vlans:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", ethertype) + payload


def ip_pkt(src, dst, proto, l4, cap):
    if ipaddress.ip_address(src).version == 4:
        return ipv4_pkt(src, dst, proto, l4, cap.next_ident())
    return ipv6_pkt(src, dst, proto, l4)


def l2(ip_bytes, fwd=True, vlans=()):
    et = 0x0800 if ip_bytes[0] >> 4 == 4 else 0x86DD
    if fwd:
        return ether(ip_bytes, et, MAC_A, MAC_B, vlans)
    return ether(ip_bytes, et, MAC_B, MAC_A, vlans)


class Capture:
    """Frames of one pcap file, plus hand expectations for its records."""

    def __init__(self, name, title, description):
        self.name = name
        self.title = title
        self.description = description
        self.frames = []  # (ts_us, order, bytes)
        self.ident = 0x1000
        self.pcount = 0
        self.expect = []  # hand expectations, in expected output order
        self.truncate_last = None

    def next_ident(self):
        self.ident += 1
        return self.ident

    def payload(self, n):
        """Deterministic pseudo-random bytes."""
        out = b""
        while len(out) < n:
            self.pcount += 1
            out += hashlib.sha256(("%s/%d" % (self.name, self.pcount)).encode()).digest()
        return out[:n]

    def add(self, t_us, frame):
        self.frames.append((T0 + t_us, len(self.frames), frame))

    def exp(self, **kw):
        self.expect.append(kw)

    def pcap_bytes(self):
        out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
        frames = sorted(self.frames)
        for i, (ts, _, fr) in enumerate(frames):
            rec = struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(fr), len(fr)) + fr
            if self.truncate_last is not None and i == len(frames) - 1:
                rec = rec[: 16 + self.truncate_last]
            out += rec
        return out


class TcpFlow:
    """A TCP conversation between client 'c' and server 's' with automatic seq/ack."""

    def __init__(self, cap, cli, cport, srv, sport, isn_c, isn_s, vlans=(), wrap=None):
        self.cap = cap
        self.addr = {"c": (cli, cport), "s": (srv, sport)}
        self.nxt = {"c": isn_c, "s": isn_s}
        self.vlans = vlans
        self.wrap = wrap  # optional function(t_us, ip_bytes, fwd) that emits the frame

    def send(self, who, t_us, flags, n=0, seq=None, ack=None, payload=None):
        other = "s" if who == "c" else "c"
        (src, sp), (dst, dp) = self.addr[who], self.addr[other]
        s = self.nxt[who] if seq is None else seq
        data = payload if payload is not None else self.cap.payload(n)
        if ack is None:
            ack = self.nxt[other] if "A" in flags else 0
        seg = tcp_seg(src, dst, sp, dp, s, ack, flags, data)
        ipb = ip_pkt(src, dst, 6, seg, self.cap)
        if seq is None:
            adv = 0 if "R" in flags else len(data) + ("S" in flags) + ("F" in flags)
            self.nxt[who] = (s + adv) & M32
        if self.wrap:
            self.wrap(t_us, ipb, who == "c")
        else:
            self.cap.add(t_us, l2(ipb, who == "c", self.vlans))
        return data

    def c(self, t_us, flags, n=0, **kw):
        return self.send("c", t_us, flags, n, **kw)

    def s(self, t_us, flags, n=0, **kw):
        return self.send("s", t_us, flags, n, **kw)


def udp_send(cap, t_us, src, sport, dst, dport, n, fwd=True, vlans=(), payload=None):
    data = payload if payload is not None else cap.payload(n)
    ipb = ip_pkt(src, dst, 17, udp_dgram(src, dst, sport, dport, data), cap)
    cap.add(t_us, l2(ipb, fwd, vlans))
    return ipb


# ---------------------------------------------------------------------------
# Oracle part 1: pcap reader and decoder
# ---------------------------------------------------------------------------


class Truncated(Exception):
    def __init__(self, offset):
        super().__init__("truncated at offset %d" % offset)
        self.offset = offset


def read_pcap(data):
    """Yields (ts_us, frame). Raises Truncated(offset of the incomplete record)."""
    magic, vmaj, vmin, _, _, _, link = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4 and (vmaj, vmin) == (2, 4) and link == 1
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise Truncated(off)
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        assert incl == orig and usec < 1_000_000
        if off + 16 + incl > len(data):
            raise Truncated(off)
        yield sec * 1_000_000 + usec, data[off + 16: off + 16 + incl]
        off += 16 + incl


class IPPkt:
    """An IP datagram as a connection sees it."""

    def __init__(self, version, src, dst, proto, ip_len, l4):
        self.version, self.src, self.dst, self.proto = version, src, dst, proto
        self.ip_len, self.l4 = ip_len, l4


class Decoder:
    def __init__(self):
        self.frags = {}

    def ethernet(self, frame):
        off, et = 12, struct.unpack("!H", frame[12:14])[0]
        while et in (0x8100, 0x88A8, 0x9100):
            off += 4
            et = struct.unpack("!H", frame[off:off + 2])[0]
        off += 2
        if et == 0x0800:
            return self.ipv4(frame[off:])
        if et == 0x86DD:
            return self.ipv6(frame[off:])
        raise AssertionError("unexpected ethertype %#x" % et)

    def ipv4(self, b):
        assert b[0] == 0x45, "IPv4 options not used"
        assert csum(b[:20]) == 0, "bad IPv4 header checksum"
        tl, ident, ff, proto = struct.unpack("!HHH", b[2:8]) + (b[9],)
        assert tl == len(b), "ethernet padding not used"
        src, dst = str(ipaddress.ip_address(b[12:16])), str(ipaddress.ip_address(b[16:20]))
        more, foff = bool(ff & 0x2000), (ff & 0x1FFF) * 8
        if not more and foff == 0:
            return IPPkt(4, src, dst, proto, tl, b[20:tl])
        key = (src, dst, ident, proto)
        pieces = self.frags.setdefault(key, {"parts": {}, "total": None})
        pieces["parts"][foff] = b[20:tl]
        if not more:
            pieces["total"] = foff + tl - 20
        if pieces["total"] is None:
            return None
        have, pos = b"", 0
        while pos < pieces["total"]:
            if pos not in pieces["parts"]:
                return None
            have += pieces["parts"][pos]
            pos = len(have)
        del self.frags[key]
        return IPPkt(4, src, dst, proto, 20 + len(have), have)

    def ipv6(self, b):
        plen, nh = struct.unpack("!HB", b[4:7])
        assert 40 + plen == len(b) and nh in (6, 17, 58), "no extension headers used"
        src = str(ipaddress.ip_address(b[8:24]))
        dst = str(ipaddress.ip_address(b[24:40]))
        return IPPkt(6, src, dst, nh, 40 + plen, b[40:])


def check_l4_checksum(p):
    if p.proto == 1:
        assert csum(p.l4) == 0, "bad ICMP checksum"
    elif p.proto in (6, 17, 58):
        if p.proto == 17 and p.version == 4 and p.l4[6:8] == b"\x00\x00":
            return
        assert csum(pseudo(p.src, p.dst, p.proto, len(p.l4)) + p.l4) == 0, "bad checksum"


# ---------------------------------------------------------------------------
# Oracle part 2: Zeek connection model (SEMANTICS.md)
# ---------------------------------------------------------------------------

# Zeek default-mode likely_server_ports (cases/wikipedia-default/case.json).
LIKELY_SERVER_PORTS = {
    6: {21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585,
        587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306,
        3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000},
    17: {53, 67, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 2123, 2152, 3389, 3544, 4011,
         4754, 4789, 5060, 5072, 5353, 5355, 6081, 20000},
}
VXLAN_PORT = 4789

# Site::private_address_space (the parts that matter for the addresses used).
LOCAL_NETS = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/24", "239.0.0.0/8", "240.0.0.0/4", "255.255.255.255/32",
    "0.0.0.0/8", "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "2001::/23",
    "2001:db8::/32", "100::/64", "64:ff9b:1::/48")]


def is_local(a):
    a = ipaddress.ip_address(a)
    return any(a.version == n.version and a in n for n in LOCAL_NETS)


ICMP4_COUNTERPART = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_COUNTERPART = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131,
                     131: 130, 139: 140, 140: 139, 144: 145, 145: 144}

INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
HANDSHAKE = (INACTIVE, SYN_SENT, SYN_ACK_SENT)
TOO_LARGE_SEQ_DELTA = 1048576
TCP_ATTEMPT_DELAY = 5_000_000
TCP_CLOSE_DELAY = 5_000_000
TCP_SESSION_TIMER = 6_000_000
TCP_CONNECTION_LINGER = 5_000_000
TCP_SYN_TIMEOUT = 5_000_000
TCP_INACTIVITY = 300_000_000
UDP_INACTIVITY = 60_000_000
ICMP_INACTIVITY = 60_000_000


def s32(x):
    x &= M32
    return x - (1 << 32) if x & 0x80000000 else x


def seq_delta(a, b):
    return s32(a - b)


class Endp:
    def __init__(self, conn, is_orig):
        self.conn, self.is_orig, self.peer = conn, is_orig, None
        self.state = self.prev_state = INACTIVE
        self.start_seq = 0
        self.last_seq = self.ack_seq = 0
        self.seq_wraps = self.ack_wraps = 0
        self.FIN_cnt = self.RST_cnt = 0
        self.did_close = False
        self.hist_last_SYN = self.hist_last_FIN = self.hist_last_RST = 0
        self.rxmt = [0, 1]
        self.win0 = [0, 1]

    def StartSeq(self):
        return self.start_seq & M32

    def UpdateLastSeq(self, seq):
        if seq < self.last_seq:
            self.seq_wraps += 1
        self.last_seq = seq

    def UpdateAckSeq(self, seq):
        if seq < self.ack_seq:
            self.ack_wraps += 1
        self.ack_seq = seq

    def NoDataAcked(self):
        ack = (self.ack_wraps << 32) + self.ack_seq
        return ack == self.start_seq or ack == self.start_seq + 1

    def Size(self):
        if (self.prev_state == SYN_SENT and self.state == RESET
                and self.peer.state == INACTIVE and not self.NoDataAcked()):
            return 0
        last64 = (self.seq_wraps << 32) + self.last_seq
        ack64 = (self.ack_wraps << 32) + self.ack_seq
        size = ((last64 if last64 > ack64 else ack64) - self.start_seq) & M64
        if size:
            size -= 1
        if self.FIN_cnt > 0 and size:
            size -= 1
        return size

    def SetState(self, new):
        if new != self.state:
            if new not in HANDSHAKE and self.state in HANDSHAKE and self.peer.state in HANDSHAKE:
                self.conn.set_inactivity_timeout(TCP_INACTIVITY)
            self.prev_state, self.state = self.state, new

    def CheckHistory(self, mask, code):
        if not self.is_orig:
            code = code.lower()
        return self.conn.check_history((mask, self.is_orig), code)

    def AddHistory(self, code):
        self.conn.history += code if self.is_orig else code.lower()

    def DidRxmit(self):
        self.conn.scaled("T" if self.is_orig else "t", self.rxmt)

    def ZeroWindow(self):
        self.conn.scaled("W" if self.is_orig else "w", self.win0)


class Conn:
    def __init__(self, eng, key, proto, orig_h, orig_p, resp_h, resp_p, ts):
        self.eng, self.key, self.ip_proto = eng, key, proto
        self.orig_h, self.orig_p, self.resp_h, self.resp_p = orig_h, orig_p, resp_h, resp_p
        self.ts = self.last = ts
        self.uid = make_uid(orig_h, orig_p, resp_h, resp_p, proto, ts * 1000)
        self.history = ""
        self.hist_seen = set()
        self.orig_pkts = self.orig_ipb = self.resp_pkts = self.resp_ipb = 0
        self.orig_sz = self.resp_sz = None  # UDP/ICMP byte sums (None = side silent)
        self.service = []
        self.tunnel_parents = []
        self.removed = False
        self.is_active = True
        self.timers = set()
        self.inactivity_timeout = 0
        self.notes = []
        if proto == 6:
            self.o, self.r = Endp(self, True), Endp(self, False)
            self.o.peer, self.r.peer = self.r, self.o
            self.add_timer(ts + TCP_SYN_TIMEOUT, "expire", False)
        self.set_inactivity_timeout(UDP_INACTIVITY if proto != 1 and proto != 58 else ICMP_INACTIVITY)

    # -- session helpers
    def check_history(self, key, code):
        if key in self.hist_seen:
            return True
        self.hist_seen.add(key)
        self.history += code
        return False

    def scaled(self, code, ctr):
        ctr[0] += 1
        if ctr[0] == ctr[1]:
            self.history += code
            ctr[1] *= 10

    def add_timer(self, t, kind, do_expire):
        self.timers.add(self.eng.add_timer(t, kind, self, do_expire))

    def cancel_timers(self, kinds):
        for tid in list(self.timers):
            if self.eng.timer_kind[tid] in kinds:
                self.timers.discard(tid)
                self.eng.cancelled.add(tid)

    def set_inactivity_timeout(self, timeout):
        if timeout == self.inactivity_timeout:
            return
        self.cancel_timers({"inactivity"})
        self.add_timer(self.last + timeout, "inactivity", False)
        self.inactivity_timeout = timeout

    # -- timer callbacks (t = network time at dispatch)
    def fire(self, kind, t, tid, at_shutdown):
        self.timers.discard(tid)
        if self.removed:
            return
        if kind == "inactivity":
            if self.last + self.inactivity_timeout <= t:
                self.eng.remove(self, "inactivity timeout")
            else:
                self.add_timer(self.last + self.inactivity_timeout, "inactivity", False)
        elif kind == "attempt":
            if not self.is_active:
                return
            if self.o.state in (SYN_SENT, SYN_ACK_SENT) and self.r.state == INACTIVE:
                self.is_active = False
                self.eng.remove(self, "TCP attempt timer" + (" (at shutdown)" if at_shutdown else ""))
        elif kind == "expire":
            if not self.is_active:
                return
            o, r = self.o, self.r
            if self.last + TCP_CONNECTION_LINGER < t:
                if o.did_close or r.did_close:
                    if ((o.did_close and r.did_close) or RESET in (o.state, r.state)
                            or INACTIVE in (o.state, r.state)):
                        self.is_active = False
                        self.eng.remove(self, "TCP expire timer")
                        return
                if r.state == INACTIVE and o.state == INACTIVE:
                    self.eng.remove(self, "TCP expire timer")
                    return
            self.add_timer(t + TCP_SESSION_TIMER, "expire", False)
        elif kind == "conn_delete":
            self.eng.remove(self, "TCP close delay")
        else:
            raise AssertionError(kind)

    # -- TCP (TCPSessionAdapter::Process and helpers)
    def tcp_packet(self, is_orig, p, ts):
        sport, dport, seq, ack, doff, fl, win = struct.unpack("!HHIIBBH", p.l4[:16])
        assert doff >> 4 == 5, "no TCP options used"
        plen = len(p.l4) - 20
        SYN, FIN, RST, ACK = bool(fl & 2), bool(fl & 1), bool(fl & 4), bool(fl & 16)
        ep = self.o if is_orig else self.r
        peer = ep.peer
        seg_len = plen + SYN + FIN - (plen if RST else 0)
        one_past = (seq + seg_len) & M32
        self.init_endpoint(ep, SYN, seq, one_past)
        rel_seq, _ = self.rel_seq(ep, seq, ep.last_seq, ep.seq_wraps)
        self.update_history(SYN, FIN, RST, ACK, ep, rel_seq, plen)
        if win == 0 and not RST and peer.state != CLOSED and ep.state != RESET:
            ep.ZeroWindow()
        if not (self.o.did_close and self.r.did_close):
            self.last = ts
        if FIN:
            ep.FIN_cnt += 1
        if RST:
            ep.RST_cnt += 1
        if ACK:
            if peer.state == INACTIVE:
                m1 = (ack - 1) & M32
                peer.start_seq, peer.ack_seq, peer.last_seq = m1, m1, m1
            else:
                _, underflow = self.rel_seq(peer, ack, peer.ack_seq, peer.ack_wraps)
                if not underflow and not RST:
                    d = seq_delta(ack, peer.ack_seq)
                    if not (ack == 0 and d > TOO_LARGE_SEQ_DELTA) and d > 0:
                        peer.UpdateAckSeq(ack)
                # No content gaps in these captures: never ack unseen data.
                if not RST:
                    assert seq_delta(ack, peer.last_seq) <= 0, "gap/ack above data: not modelled"
        delta_last = self.update_last_seq(ep, one_past, SYN, FIN, RST, plen)
        do_close, gen_event = self.state_machine(ts, ep, peer, seq, ack, plen, is_orig,
                                                 SYN, FIN, RST, ACK)
        if do_close:
            self.connection_closed(ep, peer, gen_event)

    @staticmethod
    def init_endpoint(ep, SYN, first_seq, last_seq):
        if ep.state == INACTIVE:
            if SYN:
                ep.ack_seq = first_seq
                ep.start_seq = first_seq
            else:
                ep.ack_seq = (first_seq - 1) & M32
                ep.start_seq = (first_seq - 1) & M32
                last_seq = first_seq
            ep.last_seq = last_seq
        elif ep.state in (SYN_SENT, SYN_ACK_SENT, ESTABLISHED, PARTIAL):
            if SYN and first_seq != ep.StartSeq():
                raise NotImplementedError("SYN sequence jump not used")
        elif ep.state == RESET and SYN:
            raise NotImplementedError("SYN after RST not used")

    @staticmethod
    def rel_seq(ep, cur, last, wraps):
        delta = seq_delta(cur, last)
        if delta < 0:
            if wraps and cur > last:
                wraps -= 1
        elif delta > 0:
            if cur < last:
                wraps += 1
        if wraps == 0:
            d = seq_delta(cur, ep.StartSeq())
            return d & M64, d < 0
        return (((wraps << 32) + cur) - ep.start_seq) & M64, False

    @staticmethod
    def update_history(SYN, FIN, RST, ACK, ep, rel_seq, plen):
        bits = SYN + FIN + RST
        if bits > 1:
            if FIN and RST:
                ep.CheckHistory(0x8, "I")
            else:
                ep.CheckHistory(0x40, "Q")
        elif bits == 1:
            if SYN:
                code = "H" if ACK else "S"
                if ep.CheckHistory(0x1, code) and rel_seq != ep.hist_last_SYN:
                    ep.AddHistory(code)
                ep.hist_last_SYN = rel_seq
            if FIN:
                if ep.CheckHistory(0x2, "F") and ((rel_seq + plen) & M64) != ep.hist_last_FIN:
                    ep.AddHistory("F")
                ep.hist_last_FIN = (rel_seq + plen) & M64
            if RST:
                if ep.CheckHistory(0x4, "R") and rel_seq != ep.hist_last_RST:
                    ep.AddHistory("R")
                ep.hist_last_RST = rel_seq
        else:
            if plen:
                ep.CheckHistory(0x10, "D")
            elif ACK:
                ep.CheckHistory(0x20, "A")

    @staticmethod
    def update_last_seq(ep, last_seq, SYN, FIN, RST, plen):
        d = seq_delta(last_seq, ep.last_seq)
        if (SYN or RST) and (d > TOO_LARGE_SEQ_DELTA or d < -TOO_LARGE_SEQ_DELTA):
            pass
        elif FIN and ep.last_seq == ((ep.StartSeq() + 1) & M32):
            ep.UpdateLastSeq(last_seq)
        elif ep.state == RESET:
            pass
        elif d > 0:
            ep.UpdateLastSeq(last_seq)
        elif plen > 0:
            ep.DidRxmit()
        return d

    def state_machine(self, t, ep, peer, base_seq, ack_seq, plen, is_orig, SYN, FIN, RST, ACK):
        do_close = gen_event = False
        st = ep.state
        if st == INACTIVE:
            if SYN:
                if is_orig:
                    ep.SetState(SYN_ACK_SENT if ACK else SYN_SENT)
                    self.add_timer(t + TCP_ATTEMPT_DELAY, "attempt", True)
                else:
                    if not ACK and peer.state == SYN_ACK_SENT and base_seq == ep.StartSeq():
                        raise NotImplementedError("SYN/SYN-ACK reversal flip not used")
                    if peer.state == SYN_SENT:
                        peer.SetState(ESTABLISHED)
                    ep.SetState(ESTABLISHED)
            if FIN:
                ep.SetState(CLOSED)
                do_close = gen_event = True
            if RST:
                ep.SetState(RESET)
                if is_orig:
                    is_reject = peer.state == ESTABLISHED
                else:
                    is_reject = peer.state in (SYN_SENT, SYN_ACK_SENT)
                do_close = True
                gen_event = not is_reject
            if ep.state == INACTIVE:
                if not is_orig and plen == 0 and self.o.state == SYN_SENT:
                    pass
                elif ACK and peer.state == ESTABLISHED:
                    ep.SetState(ESTABLISHED)
                else:
                    ep.SetState(PARTIAL)
        elif st in (SYN_SENT, SYN_ACK_SENT):
            if FIN:
                ep.SetState(CLOSED)
                do_close = gen_event = True
            if RST:
                ep.SetState(RESET)
                self.is_active = False  # ConnectionReset
                do_close = True
        elif st in (ESTABLISHED, PARTIAL):
            if SYN and st == PARTIAL and peer.state == INACTIVE and not ACK:
                ep.SetState(SYN_SENT)
            if FIN and not RST:
                ep.SetState(CLOSED)
                if peer.state == RESET and peer.prev_state == CLOSED:
                    peer.SetState(CLOSED)
                do_close = gen_event = True
            if RST:
                ep.SetState(RESET)
                do_close = True
                if peer.state != RESET or peer.prev_state != ESTABLISHED:
                    self.is_active = False
        elif st == CLOSED:
            if RST and peer.state != CLOSED:
                raise NotImplementedError("RST after FIN (reset timer) not used")
        return do_close, gen_event

    def connection_closed(self, ep, peer, gen_event):
        if ep.did_close:
            return
        ep.did_close = True
        complete = ep.state == RESET or peer.did_close or peer.state == INACTIVE
        if complete:
            if (ep.prev_state != INACTIVE or peer.state != INACTIVE) and gen_event:
                self.is_active = False  # ConnectionFinished
            self.cancel_timers({"attempt", "expire"})
            self.add_timer(self.last + TCP_CLOSE_DELAY, "conn_delete", False)
        elif ep.prev_state == INACTIVE:
            # PartialCloseTimer exists only with a connection_partial_close
            # handler (none in base scripts); captures end before it could fire.
            self.notes.append("partial close")
        else:
            self.add_timer(self.last + TCP_SESSION_TIMER, "expire", False)

    # -- record
    def conn_state(self):
        if self.ip_proto == 6:
            o, r = self.o.state, self.r.state
            inact = (INACTIVE, PARTIAL)
            if r == RESET:
                if o in (SYN_SENT, SYN_ACK_SENT) or (o == RESET and self.o.Size() == 0
                                                     and self.r.Size() == 0):
                    return "REJ"
                if o in inact:
                    return "RSTRH"
                return "RSTR"
            if o == RESET:
                if r in inact:
                    if re.fullmatch(r"\^?S[^HAFGIQ]*R.*", self.history):
                        return "RSTOS0"
                    return "OTH"
                return "RSTO"
            if o == CLOSED and r == CLOSED:
                return "SF"
            if o == CLOSED:
                return "SH" if r in inact else "S2"
            if r == CLOSED:
                return "SHR" if o in inact else "S3"
            if o == SYN_SENT and r == INACTIVE:
                return "S0"
            if o == ESTABLISHED and r == ESTABLISHED:
                return "S1"
            return "OTH"
        if self.ip_proto == 17:
            if self.orig_sz is not None:
                return "SF" if self.resp_sz is not None else "S0"
            return "SHR" if self.resp_sz is not None else "OTH"
        return "OTH"

    def record(self):
        proto = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}[self.ip_proto]
        dur = self.last - self.ts
        if self.ip_proto == 6:
            ob, rb = self.o.Size(), self.r.Size()
        else:
            ob, rb = self.orig_sz or 0, self.resp_sz or 0
        f = [("ts", fmt_double(zeek_double(self.ts))), ("uid", json.dumps(self.uid)),
             ("id.orig_h", json.dumps(self.orig_h)), ("id.orig_p", str(self.orig_p)),
             ("id.resp_h", json.dumps(self.resp_h)), ("id.resp_p", str(self.resp_p)),
             ("proto", json.dumps(proto))]
        if self.service:
            f.append(("service", json.dumps(",".join(self.service))))
        if dur > 0:
            f += [("duration", fmt_double(zeek_double(self.last) - zeek_double(self.ts))),
                  ("orig_bytes", str(ob)), ("resp_bytes", str(rb))]
        f += [("conn_state", json.dumps(self.conn_state())),
              ("local_orig", "true" if is_local(self.orig_h) else "false"),
              ("local_resp", "true" if is_local(self.resp_h) else "false"),
              ("missed_bytes", "0")]
        if self.history:
            f.append(("history", json.dumps(self.history)))
        f += [("orig_pkts", str(self.orig_pkts)), ("orig_ip_bytes", str(self.orig_ipb)),
              ("resp_pkts", str(self.resp_pkts)), ("resp_ip_bytes", str(self.resp_ipb))]
        if self.tunnel_parents:
            f.append(("tunnel_parents", json.dumps(self.tunnel_parents, separators=(",", ":"))))
        f.append(("ip_proto", str(self.ip_proto)))
        f.append(("community_id", json.dumps(community_id(
            self.orig_h, self.orig_p, self.resp_h, self.resp_p, self.ip_proto))))
        return "{" + ",".join("%s:%s" % (json.dumps(k), v) for k, v in f) + "}"


def zeek_double(us):
    """A time as Zeek holds it: the double sec + usec / 1e6."""
    return float(us // 1_000_000) + float(us % 1_000_000) / 1e6


def fmt_double(x):
    """A double as Zeek's JSON writer prints it: shortest round-trip digits,
    never an exponent, integral values with '.0'."""
    from decimal import Decimal
    r = repr(x)
    if "e" in r or "E" in r:
        r = "{:f}".format(Decimal(r))
    if "." not in r:
        r += ".0"
    return r


def fmt_time(us):
    """Up to 6 decimals, trailing zeros trimmed, at least one decimal digit."""
    assert us >= 0
    frac = ("%06d" % (us % 1_000_000)).rstrip("0") or "0"
    return "%d.%s" % (us // 1_000_000, frac)


class Engine:
    def __init__(self):
        self.conns = {}
        self.created = []
        self.out = []  # (record json, conn, reason)
        self.heap = []
        self.tseq = 0
        self.timer_kind = {}
        self.cancelled = set()
        self.now = None

    def add_timer(self, t, kind, conn, do_expire):
        self.tseq += 1
        heapq.heappush(self.heap, (t, self.tseq, kind, conn, do_expire))
        self.timer_kind[self.tseq] = kind
        return self.tseq

    def advance(self, t):
        self.now = t
        while self.heap and self.heap[0][0] <= t:
            _, tid, kind, conn, _ = heapq.heappop(self.heap)
            if tid in self.cancelled:
                continue
            conn.fire(kind, t, tid, False)

    def finish(self):
        # Timers marked to run at shutdown (do_expire), in time order ...
        while self.heap:
            _, tid, kind, conn, do_expire = heapq.heappop(self.heap)
            if tid in self.cancelled or not do_expire:
                continue
            conn.fire(kind, self.now, tid, True)
        # ... then every remaining connection, in creation order.
        for c in self.created:
            if not c.removed:
                self.remove(c, "end of input")

    def remove(self, c, reason):
        c.removed = True
        del self.conns[c.key]
        self.out.append((c.record(), c, reason))

    def deliver(self, ts, p, parent=None):
        check_l4_checksum(p)
        proto = p.proto
        if proto in (6, 17):
            sport, dport = struct.unpack("!HH", p.l4[:4])
            a, b = (addr16(p.src), sport), (addr16(p.dst), dport)
            key = (proto,) + ((a, b) if a <= b else (b, a))
        else:
            typ, code = p.l4[0], p.l4[1]
            table = ICMP4_COUNTERPART if proto == 1 else ICMP6_COUNTERPART
            sport = typ
            if typ in table:
                dport = table[typ]
                a, b = (addr16(p.src), sport), (addr16(p.dst), dport)
                key = (proto,) + ((a, b) if a <= b else (b, a))
            else:
                dport = code
                key = (proto, "oneway", addr16(p.src), sport, addr16(p.dst), dport)
        c = self.conns.get(key)
        if c is not None and proto == 6:
            fl = p.l4[13]
            if fl & 2:  # IsReuse: only a SYN with a new ISN or after close would be reuse
                seq = struct.unpack("!I", p.l4[4:8])[0]
                conn_orig = c.o
                if fl & 16:
                    if c.o.state != INACTIVE:
                        conn_orig = None
                    else:
                        conn_orig = c.r
                if conn_orig is not None and (seq != conn_orig.StartSeq() or c.o.did_close
                                              or c.r.did_close):
                    raise NotImplementedError("connection reuse not used")
        if c is None:
            orig = (p.src, sport, p.dst, dport)
            if proto in (6, 17):
                lsp = LIKELY_SERVER_PORTS[proto]
                flip = False
                if proto == 6:
                    fl = p.l4[13]
                    pure_syn = (fl & 2) and not (fl & 16)
                    if not pure_syn:
                        if sport in lsp and dport not in lsp:
                            flip = True
                        elif sport in lsp and dport in lsp:
                            flip = not (fl & 2) and sport < dport
                else:
                    flip = sport in lsp and dport not in lsp
                if flip and p.dst != "255.255.255.255":
                    orig = (p.dst, dport, p.src, sport)
            c = Conn(self, key, proto, orig[0], orig[1], orig[2], orig[3], ts)
            self.conns[key] = c
            self.created.append(c)
            if parent is not None:
                c.tunnel_parents.append(parent.uid)
        elif parent is not None and parent.uid not in c.tunnel_parents:
            c.tunnel_parents.append(parent.uid)
        if proto in (6, 17):
            is_orig = (p.src, sport) == (c.orig_h, c.orig_p)
        else:
            is_orig = p.src == c.orig_h and sport == c.orig_p
        if proto == 6:
            c.tcp_packet(is_orig, p, ts)
        else:
            c.last = ts
            if proto == 17:
                n = struct.unpack("!H", p.l4[4:6])[0] - 8
                c.check_history((0x10, is_orig), "D" if is_orig else "d")
            else:
                n = len(p.l4) - 8
            if is_orig:
                c.orig_sz = (c.orig_sz or 0) + n
            else:
                c.resp_sz = (c.resp_sz or 0) + n
        if is_orig:
            c.orig_pkts += 1
            c.orig_ipb += p.ip_len
        else:
            c.resp_pkts += 1
            c.resp_ipb += p.ip_len
        # VXLAN: the UDP analyzer forwards by the connection's responder port.
        if proto == 17 and c.resp_p == VXLAN_PORT:
            v = p.l4[8:]
            assert len(v) > 8 and v[0] & 0x08
            if "vxlan" not in c.service:
                c.service.append("vxlan")
            inner = Decoder().ethernet(v[8:])
            if inner is not None:
                self.deliver(ts, inner, parent=c)


def run_oracle(pcap_data):
    eng, dec = Engine(), Decoder()
    trunc = None
    try:
        for ts, frame in read_pcap(pcap_data):
            eng.advance(ts)
            p = dec.ethernet(frame)
            if p is not None:
                eng.deliver(ts, p)
    except Truncated as e:
        trunc = e.offset
    eng.finish()
    return eng.out, trunc


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

SRV = "93.184.216.34"
SRV6 = "2606:2800:220:1::1"
PRIV = "192.168.1.10"
ISN_C = 0x1A2B3C4D
ISN_S = 0x5E6F7A8B


def sf_exchange(f, t, n_c, n_s, rtt=20_000):
    """Handshake, one data segment each way, FIN from client, FIN from server, last ACK."""
    f.c(t, "S")
    f.s(t + rtt, "SA")
    f.c(t + rtt + 1000, "A")
    f.c(t + rtt + 2000, "PA", n_c)
    f.s(t + 2 * rtt + 2000, "PA", n_s)
    f.c(t + 2 * rtt + 3000, "A")
    f.c(t + 2 * rtt + 4000, "FA")
    f.s(t + 3 * rtt + 4000, "FA")
    f.c(t + 3 * rtt + 5000, "A")
    return t + 3 * rtt + 4000  # last counted packet (the trailing ACK is after both FINs)


def build_tcp_states():
    cap = Capture("tcp_states", "Every TCP conn_state",
                  "Thirteen IPv4 TCP connections, one per Zeek TCP conn_state, 250 ms apart; the "
                  "whole file spans 3.02 s so no timer (attempt 5 s, close delay 5 s, expire "
                  "5 s / 6 s) fires before the end of input. The S0 connection is created first: "
                  "at end of input its TCP attempt timer (the only one that runs at shutdown and "
                  "still finds a silent responder) removes it first, and the remaining "
                  "connections are flushed in creation order, so both orderings agree.")
    # 1. S0: SYN + retransmitted SYN (same ISN), silent responder.
    f = TcpFlow(cap, "10.0.0.11", 40001, SRV, 4101, ISN_C, ISN_S)
    f.c(0, "S")
    f.c(1_000_000, "S", seq=ISN_C)
    cap.exp(name="S0", state="S0", history="S", orig_pkts=2, orig_ip_bytes=80, resp_pkts=0,
            resp_ip_bytes=0, duration="1.0", orig_bytes=0, resp_bytes=0, local=(True, False),
            why="SYN at 0 s and the same SYN (same ISN, so not a reuse) again at 1 s; the "
                "responder never answers. Originator SYN_SENT, responder INACTIVE -> S0. "
                "History: `S` once; the second SYN has the same relative sequence (0) so no "
                "second `S`. Sizes: orig last_seq = ISN+1, size 1 - 1 (SYN) = 0; resp never "
                "seen = 0. 2 packets x (20 IP + 20 TCP) = 80. duration 1.0 s. It is logged "
                "first: its attempt timer (due at 5 s) is marked to run at shutdown.")
    # 2. S1
    t = 250_000
    f = TcpFlow(cap, "10.0.0.12", 40002, SRV, 4102, ISN_C, ISN_S)
    f.c(t, "S"); f.s(t + 20_000, "SA"); f.c(t + 21_000, "A"); f.c(t + 22_000, "PA", 100)
    f.s(t + 42_000, "A")
    cap.exp(name="S1", state="S1", history="ShADa", orig_pkts=3, orig_ip_bytes=220, resp_pkts=2,
            resp_ip_bytes=80, duration="0.042", orig_bytes=100, resp_bytes=0, local=(True, False),
            why="Handshake (S, h, A), 100 bytes from the client (D), pure ACK from the server "
                "(a); never closed. Both endpoints ESTABLISHED -> S1. orig_bytes: last_seq = "
                "ISN+101, minus ISN, minus 1 for the SYN = 100; resp_bytes: ISN_s+1 - ISN_s - 1 "
                "= 0. orig packets 40 + 40 + 140 = 220; resp 40 + 40 = 80. duration 0.042.")
    # 3. SF
    t = 500_000
    f = TcpFlow(cap, "10.0.0.13", 40003, SRV, 4103, ISN_C, ISN_S)
    sf_exchange(f, t, 20, 30)
    cap.exp(name="SF", state="SF", history="ShADdFf", orig_pkts=6, orig_ip_bytes=260,
            resp_pkts=3, resp_ip_bytes=150, duration="0.064", orig_bytes=20, resp_bytes=30,
            local=(True, False),
            why="SYN, SYN-ACK, ACK, client 20 bytes (D), server 30 bytes (d), client ACK (A "
                "already recorded), client FIN (F), server FIN (f), client last ACK. Both "
                "CLOSED -> SF. orig_bytes = (ISN+22) - ISN - 1 (SYN) - 1 (FIN) = 20; "
                "resp_bytes = 30 likewise. The last ACK (t+65 ms) comes after both sides "
                "closed, so it is counted as a packet but does not move the last time: "
                "duration = 0.064 (server FIN). orig: 5 x 40 + 60 = 260; resp 40 + 70 + 40 = 150.")
    # 4. REJ
    t = 750_000
    f = TcpFlow(cap, "10.0.0.14", 40004, SRV, 4104, ISN_C, ISN_S)
    f.c(t, "S"); f.s(t + 20_000, "RA", seq=0)
    cap.exp(name="REJ", state="REJ", history="Sr", orig_pkts=1, orig_ip_bytes=40, resp_pkts=1,
            resp_ip_bytes=40, duration="0.02", orig_bytes=0, resp_bytes=0, local=(True, False),
            why="SYN answered by RST+ACK (seq 0, ack ISN+1). Responder RESET while the "
                "originator is SYN_SENT -> REJ. History S, r. resp_bytes: a RST-initialised "
                "endpoint starts at seq-1 = 0xffffffff with ack_seq 0xffffffff and last_seq 0, "
                "so max(last, ack) - start = 0 -> 0 (the RST's ack is not trusted). "
                "orig_bytes: ISN+1 - ISN - 1 = 0. 40 bytes each way, duration 0.02.")
    # 5. S2 (private <-> private); 10 ms after the S0 retransmission (no equal timestamps)
    t = 1_010_000
    f = TcpFlow(cap, "10.0.0.15", 40005, PRIV, 4105, ISN_C, ISN_S)
    f.c(t, "S"); f.s(t + 20_000, "SA"); f.c(t + 21_000, "A"); f.c(t + 22_000, "PA", 50)
    f.s(t + 42_000, "A"); f.c(t + 43_000, "FA"); f.s(t + 63_000, "A")
    cap.exp(name="S2", state="S2", history="ShADaF", orig_pkts=4, orig_ip_bytes=210,
            resp_pkts=3, resp_ip_bytes=120, duration="0.063", orig_bytes=50, resp_bytes=0,
            local=(True, True),
            why="Handshake, 50 client bytes, server ACK (a), client FIN (F), server ACKs the "
                "FIN but never sends its own. Originator CLOSED, responder ESTABLISHED -> S2. "
                "orig_bytes = (ISN+52) - ISN - 1 - 1 = 50. The server's ACK after the FIN still "
                "moves the last time (only one side closed): duration 0.063. 10.0.0.15 and "
                "192.168.1.10 are both private: local_orig = local_resp = true. "
                "orig 40+40+90+40 = 210; resp 3 x 40 = 120.")
    # 6. S3
    t = 1_250_000
    f = TcpFlow(cap, "10.0.0.16", 40006, PRIV, 4106, ISN_C, ISN_S)
    f.c(t, "S"); f.s(t + 20_000, "SA"); f.c(t + 21_000, "A"); f.s(t + 41_000, "PA", 60)
    f.c(t + 42_000, "A"); f.s(t + 43_000, "FA"); f.c(t + 44_000, "A")
    cap.exp(name="S3", state="S3", history="ShAdf", orig_pkts=4, orig_ip_bytes=160,
            resp_pkts=3, resp_ip_bytes=180, duration="0.044", orig_bytes=0, resp_bytes=60,
            local=(True, True),
            why="Handshake, server sends 60 bytes (d), client ACKs (A already set), server FIN "
                "(f), client ACKs. Responder CLOSED, originator ESTABLISHED -> S3. resp_bytes "
                "= (ISN_s+62) - ISN_s - 1 - 1 = 60. orig 4 x 40 = 160; resp 40+100+40 = 180. "
                "duration 0.044 (last client ACK; only one side closed).")
    # 7. RSTO
    t = 1_500_000
    f = TcpFlow(cap, "10.0.0.17", 40007, SRV, 4107, ISN_C, ISN_S)
    f.c(t, "S"); f.s(t + 20_000, "SA"); f.c(t + 21_000, "A"); f.c(t + 22_000, "PA", 12)
    f.s(t + 42_000, "A"); f.c(t + 43_000, "RA")
    cap.exp(name="RSTO", state="RSTO", history="ShADaR", orig_pkts=4, orig_ip_bytes=172,
            resp_pkts=2, resp_ip_bytes=80, duration="0.043", orig_bytes=12, resp_bytes=0,
            local=(True, False),
            why="Established connection, 12 client bytes, server ACK, then client RST+ACK "
                "(seq ISN+13). Originator RESET, responder ESTABLISHED -> RSTO. orig_bytes = "
                "(ISN+13) - ISN - 1 = 12. orig 40+40+52+40 = 172; resp 80; duration 0.043.")
    # 8. RSTR
    t = 1_750_000
    f = TcpFlow(cap, "10.0.0.18", 40008, SRV, 4108, ISN_C, ISN_S)
    f.c(t, "S"); f.s(t + 20_000, "SA"); f.c(t + 21_000, "A"); f.c(t + 22_000, "PA", 10)
    f.s(t + 42_000, "PA", 40); f.s(t + 43_000, "RA")
    cap.exp(name="RSTR", state="RSTR", history="ShADdr", orig_pkts=3, orig_ip_bytes=130,
            resp_pkts=3, resp_ip_bytes=160, duration="0.043", orig_bytes=10, resp_bytes=40,
            local=(True, False),
            why="Established, client 10 bytes (D), server 40 bytes (d), then server RST+ACK "
                "(r). Responder RESET, originator ESTABLISHED (not SYN_SENT) -> RSTR. "
                "orig_bytes 10, resp_bytes (ISN_s+41) - ISN_s - 1 = 40. orig 40+40+50 = 130; "
                "resp 40+80+40 = 160; duration 0.043.")
    # 9. RSTOS0
    t = 2_000_000
    f = TcpFlow(cap, "10.0.0.19", 40009, SRV, 4109, ISN_C, ISN_S)
    f.c(t, "S"); f.c(t + 30_000, "R")
    cap.exp(name="RSTOS0", state="RSTOS0", history="SR", orig_pkts=2, orig_ip_bytes=80,
            resp_pkts=0, resp_ip_bytes=0, duration="0.03", orig_bytes=0, resp_bytes=0,
            local=(True, False),
            why="Client SYN, then the client itself sends a bare RST (seq ISN+1); the server is "
                "silent. Originator RESET, responder INACTIVE and the history `SR` matches "
                "`^?S[^HAFGIQ]*R.*` -> RSTOS0. orig_bytes: last_seq ISN+1 (the RST does not "
                "advance it) - ISN - 1 = 0. 2 x 40 = 80, duration 0.03.")
    # 10. RSTRH
    t = 2_250_000
    f = TcpFlow(cap, "10.0.0.20", 40010, SRV, 4110, ISN_C, ISN_S)
    f.c(t, "PA", 25); f.s(t + 20_000, "RA")
    cap.exp(name="RSTRH", state="RSTRH", history="Dr", orig_pkts=1, orig_ip_bytes=65,
            resp_pkts=1, resp_ip_bytes=40, duration="0.02", orig_bytes=25, resp_bytes=0,
            local=(True, False),
            why="No handshake: the client sends 25 bytes (PSH+ACK, ack = ISN_s), the server "
                "answers RST+ACK with seq ISN_s. Originator PARTIAL (counts as inactive), "
                "responder RESET -> RSTRH (not REJ: the originator is not SYN_SENT). "
                "orig_bytes: partial start = seq-1, last = seq+25 -> 26 - 1 = 25. resp: start "
                "ISN_s-1, last ISN_s -> 1 - 1 = 0. 65 + 40 bytes, duration 0.02.")
    # 11. SH
    t = 2_500_000
    f = TcpFlow(cap, "10.0.0.21", 40011, SRV, 4111, ISN_C, ISN_S)
    f.c(t, "S"); f.c(t + 30_000, "F")
    cap.exp(name="SH", state="SH", history="SF", orig_pkts=2, orig_ip_bytes=80, resp_pkts=0,
            resp_ip_bytes=0, duration="0.03", orig_bytes=0, resp_bytes=0, local=(True, False),
            why="Client SYN then a bare FIN (seq ISN+1); silent server. Originator CLOSED "
                "(from SYN_SENT), responder INACTIVE -> SH. orig_bytes: last_seq ISN+2, minus "
                "ISN, minus 1 (SYN), minus 1 (FIN) = 0. 80 bytes, duration 0.03.")
    # 12. OTH
    t = 2_750_000
    f = TcpFlow(cap, "10.0.0.22", 40012, SRV, 4112, ISN_C, ISN_S)
    f.c(t, "PA", 8); f.c(t + 10_000, "RA")
    cap.exp(name="OTH", state="OTH", history="DR", orig_pkts=2, orig_ip_bytes=88, resp_pkts=0,
            resp_ip_bytes=0, duration="0.01", orig_bytes=8, resp_bytes=0, local=(True, False),
            why="Midstream: client sends 8 bytes then RST+ACK; server silent. Originator RESET "
                "and responder INACTIVE, but history `DR` does not start with S, so the "
                "RSTOS0 pattern fails -> OTH. orig_bytes: partial start seq-1, last seq+8 -> "
                "9 - 1 = 8. 48 + 40 = 88, duration 0.01.")
    # 13. SHR (private <-> private)
    t = 3_000_000
    f = TcpFlow(cap, "10.0.0.23", 40013, PRIV, 4113, ISN_C, ISN_S)
    f.c(t, "PA", 16); f.s(t + 20_000, "FA")
    cap.exp(name="SHR", state="SHR", history="Df", orig_pkts=1, orig_ip_bytes=56, resp_pkts=1,
            resp_ip_bytes=40, duration="0.02", orig_bytes=16, resp_bytes=0, local=(True, True),
            why="Midstream: client sends 16 bytes, server answers FIN+ACK. Responder CLOSED, "
                "originator PARTIAL (inactive) -> SHR. orig_bytes 16 (acked by the FIN). "
                "resp_bytes: start ISN_s-1, FIN moves last_seq to ISN_s+1 -> 2 - 1 - 1 = 0. "
                "56 + 40 bytes, duration 0.02. Both addresses private.")
    return cap


def build_midstream():
    cap = Capture("midstream", "Midstream TCP (no handshake)",
                  "Two IPv4 TCP connections whose SYNs were never captured.")
    f = TcpFlow(cap, "10.0.0.31", 40031, SRV, 4121, ISN_C, ISN_S)
    f.c(0, "PA", 40); f.s(20_000, "PA", 60); f.c(40_000, "PA", 40); f.s(60_000, "A")
    cap.exp(name="midstream OTH", state="OTH", history="Dda", orig_pkts=2, orig_ip_bytes=160,
            resp_pkts=2, resp_ip_bytes=140, duration="0.06", orig_bytes=80, resp_bytes=60,
            local=(True, False),
            why="Data both ways without SYN: both endpoints PARTIAL, nothing closed -> OTH "
                "(first packet had no SYN, ports not likely-server ports: no flip). History D, "
                "d, then the client's second data packet (D already set), then a pure server "
                "ACK (a). orig_bytes: start = first seq - 1, last = first seq + 80 -> 81 - 1 = "
                "80; resp likewise 60. orig 80 + 80; resp 100 + 40. missed_bytes 0 (no gaps; "
                "gaps in partial connections would not be reported anyway).")
    f = TcpFlow(cap, "10.0.0.32", 40032, "192.168.1.20", 4122, ISN_C + 5000, ISN_S + 5000)
    f.c(500_000, "PA", 30); f.s(520_000, "PA", 50); f.c(540_000, "FA"); f.s(560_000, "FA")
    cap.exp(name="midstream SF", state="SF", history="DdFf", orig_pkts=2, orig_ip_bytes=110,
            resp_pkts=2, resp_ip_bytes=130, duration="0.06", orig_bytes=30, resp_bytes=50,
            local=(True, True),
            why="Data both ways without SYN, then a FIN from each side: both endpoints go "
                "PARTIAL -> CLOSED, so SF without any handshake. orig_bytes: start seq-1, FIN "
                "makes last = seq+31 -> 32 - 1 - 1 (FIN) = 30; resp 50 likewise. orig 70 + 40; "
                "resp 90 + 40. duration 0.06.")
    return cap


def build_retransmit():
    cap = Capture("retransmit", "TCP retransmissions",
                  "One IPv4 TCP connection in which each side retransmits one data segment.")
    f = TcpFlow(cap, "10.0.0.41", 40041, SRV, 4131, ISN_C, ISN_S)
    f.c(0, "S"); f.s(20_000, "SA"); f.c(21_000, "A")
    d = f.c(22_000, "PA", 100)
    f.c(222_000, "PA", seq=ISN_C + 1, payload=d)
    f.s(242_000, "A")
    e = f.s(243_000, "PA", 200)
    f.s(443_000, "PA", seq=ISN_S + 1, payload=e)
    f.c(463_000, "A"); f.c(464_000, "FA"); f.s(484_000, "FA"); f.c(485_000, "A")
    cap.exp(name="retransmit", state="SF", history="ShADTadtFf", orig_pkts=7, orig_ip_bytes=480,
            resp_pkts=5, resp_ip_bytes=600, duration="0.484", orig_bytes=100, resp_bytes=200,
            local=(True, False),
            why="Handshake; client sends 100 bytes (D) and 200 ms later the identical segment "
                "again: it does not advance last_seq -> `T`. Server ACKs (a), sends 200 bytes "
                "(d) and retransmits them (t). Then FIN/FIN/ACK -> SF. The retransmissions are "
                "counted as packets (orig 40+40+140+140+40+40+40 = 480, resp "
                "40+40+240+240+40 = 600) but not as bytes (orig 100, resp 200, from sequence "
                "numbers). duration 0.484 (server FIN; final ACK is after both closed).")
    return cap


def build_udp():
    cap = Capture("udp", "UDP", "Four IPv4 UDP flows.")
    c, s = ("10.0.0.51", 40051), (SRV, 4201)
    udp_send(cap, 0, c[0], c[1], s[0], s[1], 32)
    udp_send(cap, 30_000, s[0], s[1], c[0], c[1], 64, fwd=False)
    udp_send(cap, 100_000, c[0], c[1], s[0], s[1], 32)
    udp_send(cap, 130_000, s[0], s[1], c[0], c[1], 64, fwd=False)
    cap.exp(name="udp SF", state="SF", history="Dd", orig_pkts=2, orig_ip_bytes=120,
            resp_pkts=2, resp_ip_bytes=184, duration="0.13", orig_bytes=64, resp_bytes=128,
            local=(True, False),
            why="Two request/response pairs. Both sides sent -> SF; history D then d (once per "
                "direction). orig_bytes = 2 x (40 - 8) = 64, resp 2 x (72 - 8) = 128 (UDP length "
                "minus header). IP bytes 2 x 60 and 2 x 92. duration 0.13.")
    c, s = ("10.0.0.52", 40052), (SRV, 4202)
    for i in range(3):
        udp_send(cap, 500_000 + i * 100_000, c[0], c[1], s[0], s[1], 20)
    cap.exp(name="udp S0", state="S0", history="D", orig_pkts=3, orig_ip_bytes=144, resp_pkts=0,
            resp_ip_bytes=0, duration="0.2", orig_bytes=60, resp_bytes=0, local=(True, False),
            why="Three datagrams one way, no answer -> S0, history D. 3 x (28 - 8) = 60 bytes, "
                "3 x 48 IP bytes, duration 0.2.")
    c, s = ("10.0.0.53", 40053), ("192.168.1.30", 4203)
    udp_send(cap, 1_000_000, c[0], c[1], s[0], s[1], 10)
    udp_send(cap, 1_005_000, s[0], s[1], c[0], c[1], 10, fwd=False)
    cap.exp(name="udp SF private", state="SF", history="Dd", orig_pkts=1, orig_ip_bytes=38,
            resp_pkts=1, resp_ip_bytes=38, duration="0.005", orig_bytes=10, resp_bytes=10,
            local=(True, True),
            why="One request, one response between two private hosts -> SF, local T/T. 10 "
                "bytes each way, 38 IP bytes each, duration 0.005.")
    c, s = ("10.0.0.54", 40054), ("172.16.5.5", 4204)
    udp_send(cap, 1_500_000, c[0], c[1], s[0], s[1], 12)
    cap.exp(name="udp single", state="S0", history="D", orig_pkts=1, orig_ip_bytes=40,
            resp_pkts=0, resp_ip_bytes=0, duration=None, orig_bytes=None, resp_bytes=None,
            local=(True, True),
            why="A single datagram: duration 0, so duration/orig_bytes/resp_bytes are unset "
                "(omitted from the JSON); packet counters are still written (1 / 40).")
    return cap


def build_icmp():
    cap = Capture("icmp", "ICMP and ICMPv6",
                  "ICMPv4 echo, ICMPv6 echo, and ICMP port-unreachable answers to a UDP flow.")
    a, b = "10.0.0.61", SRV
    for i, t in enumerate((0, 1_000_000)):
        data = cap.payload(56)
        rest = struct.pack("!HH", 0x1234, i + 1)
        cap.add(t, l2(ipv4_pkt(a, b, 1, icmp4_msg(8, 0, rest, data), cap.next_ident())))
        cap.add(t + 25_000, l2(ipv4_pkt(b, a, 1, icmp4_msg(0, 0, rest, data), cap.next_ident()),
                               False))
    cap.exp(name="icmp echo", state="OTH", history=None, orig_pkts=2, orig_ip_bytes=168,
            resp_pkts=2, resp_ip_bytes=168, duration="1.025", orig_bytes=112, resp_bytes=112,
            local=(True, False), ports=(8, 0),
            why="Two echo requests (type 8, different sequence numbers) and two replies: one "
                "connection (id/seq are not in the key), id.orig_p = 8, id.resp_p = 0 (the "
                "counterpart type). ICMP is always OTH and has no history letters (field "
                "omitted). orig_bytes = 2 x (84 - 20 - 8) = 112 (IP payload minus the 8-byte "
                "ICMP header), same for replies. 2 x 84 IP bytes each way; duration 1.025.")
    a6, b6 = "fd00:10::61", SRV6
    data = cap.payload(32)
    rest = struct.pack("!HH", 0x4321, 1)
    cap.add(2_000_000, l2(ipv6_pkt(a6, b6, 58, icmp6_msg(a6, b6, 128, 0, rest, data))))
    cap.add(2_030_000, l2(ipv6_pkt(b6, a6, 58, icmp6_msg(b6, a6, 129, 0, rest, data)), False))
    cap.exp(name="icmpv6 echo", state="OTH", history=None, orig_pkts=1, orig_ip_bytes=80,
            resp_pkts=1, resp_ip_bytes=80, duration="0.03", orig_bytes=32, resp_bytes=32,
            local=(True, False), ports=(128, 129),
            why="ICMPv6 echo request 128 / reply 129: proto `icmp`, ip_proto 58. IPv6 bytes = "
                "40 + payload (8 + 32) = 80; bytes 80 - 40 - 8 = 32. fd00::/8 is in fc00::/7 "
                "(local), 2606:2800:220:1::1 is not.")
    c, s = ("10.0.0.62", 40062), (SRV, 4262)
    for t in (3_000_000, 3_500_000):
        orig_ip = udp_send(cap, t, c[0], c[1], s[0], s[1], 16)
        cap.add(t + 20_000, l2(ipv4_pkt(s[0], c[0], 1, icmp4_msg(3, 3, b"\x00" * 4, orig_ip),
                                        cap.next_ident()), False))
    cap.exp(name="udp to closed port", state="S0", history="D", orig_pkts=2, orig_ip_bytes=88,
            resp_pkts=0, resp_ip_bytes=0, duration="0.5", orig_bytes=32, resp_bytes=0,
            local=(True, False),
            why="Two 16-byte datagrams; the ICMP errors they trigger do not touch this flow, so "
                "it stays one-way: S0, history D, 2 x 16 = 32 bytes, 2 x 44 IP "
                "bytes, duration 0.5.")
    cap.exp(name="icmp unreachable", state="OTH", history=None, orig_pkts=2, orig_ip_bytes=144,
            resp_pkts=0, resp_ip_bytes=0, duration="0.5", orig_bytes=88, resp_bytes=0,
            local=(False, True), ports=(3, 3),
            why="Two port-unreachable messages (type 3, code 3) from the server, each quoting "
                "the 44-byte offending datagram. Type 3 has no counterpart, so id.resp_p = the "
                "code (3) and the flow is one-way with the server as originator: local_orig "
                "false, local_resp true. orig_bytes = 2 x (72 - 20 - 8) = 88; IP bytes 2 x 72; "
                "duration 0.5 (3.02 -> 3.52). Created after the UDP flow, flushed after it.")
    return cap


def build_ipv6():
    cap = Capture("ipv6", "IPv6 TCP and UDP", "A TCP SF connection and a UDP flow over IPv6.")
    f = TcpFlow(cap, "fd00:10::71", 40071, SRV6, 4141, ISN_C, ISN_S)
    f.c(0, "S"); f.s(30_000, "SA"); f.c(31_000, "A"); f.c(32_000, "PA", 50)
    f.s(62_000, "PA", 80); f.c(63_000, "A"); f.c(64_000, "FA"); f.s(94_000, "FA")
    f.c(95_000, "A")
    cap.exp(name="ipv6 tcp SF", state="SF", history="ShADdFf", orig_pkts=6, orig_ip_bytes=410,
            resp_pkts=3, resp_ip_bytes=260, duration="0.094", orig_bytes=50, resp_bytes=80,
            local=(True, False),
            why="Same shape as the IPv4 SF case over IPv6: IP bytes are 40 (IPv6 header) + 20 "
                "(TCP) + payload: orig 5 x 60 + 110 = 410, resp 60 + 140 + 60 = 260. "
                "orig_bytes 50, resp_bytes 80 from sequence numbers. duration 0.094.")
    c, s = ("fd00:10::72", 40072), ("fd00:20::5", 4272)
    udp_send(cap, 500_000, c[0], c[1], s[0], s[1], 24)
    udp_send(cap, 502_000, s[0], s[1], c[0], c[1], 48, fwd=False)
    cap.exp(name="ipv6 udp SF", state="SF", history="Dd", orig_pkts=1, orig_ip_bytes=72,
            resp_pkts=1, resp_ip_bytes=96, duration="0.002", orig_bytes=24, resp_bytes=48,
            local=(True, True),
            why="UDP over IPv6 between two ULA hosts: IP bytes 40 + 8 + 24 = 72 and 40 + 8 + 48 "
                "= 96; both local.")
    return cap


def build_vlan():
    cap = Capture("vlan", "802.1Q and QinQ",
                  "Link-layer tags are stripped before connection tracking and are not part of "
                  "the connection key.")
    f = TcpFlow(cap, "10.0.0.81", 40081, SRV, 4151, ISN_C, ISN_S, vlans=((0x8100, 100),))
    sf_exchange(f, 0, 10, 10)
    cap.exp(name="vlan tcp", state="SF", history="ShADdFf", orig_pkts=6, orig_ip_bytes=250,
            resp_pkts=3, resp_ip_bytes=130, duration="0.064", orig_bytes=10, resp_bytes=10,
            local=(True, False),
            why="TCP SF (same packet shape as tcp_states SF) inside 802.1Q VLAN 100. The tag "
                "(4 bytes) is not counted: orig 5 x 40 + 50 = 250, resp 40 + 50 + 40 = 130.")
    c, s = ("10.0.0.82", 40082), (SRV, 4252)
    qq = ((0x88A8, 200), (0x8100, 300))
    udp_send(cap, 500_000, c[0], c[1], s[0], s[1], 20, vlans=qq)
    udp_send(cap, 520_000, s[0], s[1], c[0], c[1], 20, fwd=False, vlans=qq)
    cap.exp(name="qinq udp", state="SF", history="Dd", orig_pkts=1, orig_ip_bytes=48,
            resp_pkts=1, resp_ip_bytes=48, duration="0.02", orig_bytes=20, resp_bytes=20,
            local=(True, False),
            why="UDP request/response in QinQ (outer 0x88a8 S-tag 200, inner 0x8100 C-tag "
                "300). 48 IP bytes each way.")
    c, s = ("10.0.0.83", 40083), ("192.168.1.40", 4253)
    udp_send(cap, 1_000_000, c[0], c[1], s[0], s[1], 20, vlans=((0x8100, 101),))
    udp_send(cap, 1_010_000, s[0], s[1], c[0], c[1], 30, fwd=False, vlans=((0x8100, 102),))
    cap.exp(name="vlan mismatch", state="SF", history="Dd", orig_pkts=1, orig_ip_bytes=48,
            resp_pkts=1, resp_ip_bytes=58, duration="0.01", orig_bytes=20, resp_bytes=30,
            local=(True, True),
            why="Request on VLAN 101, response on VLAN 102, same 5-tuple: the VLAN is not part "
                "of the default connection key, so this is one SF connection.")
    return cap


def build_fragments():
    cap = Capture("fragments", "IPv4 fragments",
                  "UDP datagrams split into IPv4 fragments (one in order, one out of order).")
    c, s = ("10.0.0.91", 40091), (SRV, 4291)
    data = cap.payload(3000)
    u = udp_dgram(c[0], s[0], c[1], s[1], data)  # 3008 bytes
    ident = cap.next_ident()
    for i, (off, end) in enumerate(((0, 1480), (1480, 2960), (2960, 3008))):
        mf = 0x2000 if end < len(u) else 0
        cap.add(i * 1000, l2(ipv4_pkt(c[0], s[0], 17, u[off:end], ident, mf | (off // 8))))
    udp_send(cap, 50_000, s[0], s[1], c[0], c[1], 100, fwd=False)
    cap.exp(name="fragmented request", state="SF", history="Dd", orig_pkts=1,
            orig_ip_bytes=3028, resp_pkts=1, resp_ip_bytes=128, duration="0.048",
            orig_bytes=3000, resp_bytes=100, local=(True, False), ts_offset_us=2000,
            why="A 3000-byte UDP payload (UDP length 3008) sent as three fragments carrying "
                "1480 + 1480 + 48 bytes at 0, 1 and 2 ms. The connection sees one packet, at "
                "the time of the fragment that completed it (ts = +0.002), with the full IP "
                "length 20 + 3008 = 3028. orig_bytes 3000. Response unfragmented: 100 bytes, "
                "128 IP bytes. duration 0.05 - 0.002 = 0.048.")
    c, s = ("10.0.0.92", 40092), (SRV, 4292)
    data = cap.payload(2000)
    u = udp_dgram(c[0], s[0], c[1], s[1], data)  # 2008 bytes
    ident = cap.next_ident()
    cap.add(500_000, l2(ipv4_pkt(c[0], s[0], 17, u[1480:], ident, 1480 // 8)))
    cap.add(501_000, l2(ipv4_pkt(c[0], s[0], 17, u[:1480], ident, 0x2000)))
    cap.exp(name="out-of-order fragments", state="S0", history="D", orig_pkts=1,
            orig_ip_bytes=2028, resp_pkts=0, resp_ip_bytes=0, duration=None, orig_bytes=None,
            resp_bytes=None, local=(True, False), ts_offset_us=501_000,
            why="2000-byte payload in two fragments, the last fragment (offset 1480, 528 "
                "bytes) first at 0.5 s and the first one at 0.501 s. The datagram completes "
                "with the second frame, so ts = +0.501, one packet of 20 + 2008 = 2028 IP "
                "bytes, duration 0 -> duration/bytes unset. S0, history D.")
    return cap


def build_vxlan():
    cap = Capture("vxlan", "VXLAN tunnel",
                  "Ethernet/IPv4/UDP 4789/VXLAN (VNI 42) carrying inner Ethernet/IPv4 ICMP echo "
                  "and a TCP connection. Both directions of the inner traffic use the same "
                  "outer UDP 5-tuple (the remote VTEP answers from 4789 to 40500), so the inner "
                  "connections never see a tunnel change.")
    vtep_a, vtep_b = ("10.1.1.1", 40500), ("10.1.1.2", 4789)
    imac_a, imac_b = bytes.fromhex("020000000a01"), bytes.fromhex("020000000a02")

    def wrap(t_us, inner_ip, fwd):
        inner = ether(inner_ip, 0x0800, imac_a if fwd else imac_b, imac_b if fwd else imac_a)
        vx = struct.pack("!B3xI", 0x08, 42 << 8) + inner
        if fwd:
            src, dst = vtep_a, vtep_b
        else:
            src, dst = vtep_b, vtep_a
        ipb = ipv4_pkt(src[0], dst[0], 17, udp_dgram(src[0], dst[0], src[1], dst[1], vx),
                       cap.next_ident())
        cap.add(t_us, l2(ipb, fwd))

    a, b = "192.168.100.1", "192.168.100.2"
    data = cap.payload(32)
    rest = struct.pack("!HH", 0x0777, 1)
    wrap(0, ipv4_pkt(a, b, 1, icmp4_msg(8, 0, rest, data), cap.next_ident()), True)
    wrap(2_000, ipv4_pkt(b, a, 1, icmp4_msg(0, 0, rest, data), cap.next_ident()), False)
    f = TcpFlow(cap, a, 40600, b, 4160, ISN_C, ISN_S, wrap=wrap)
    sf_exchange(f, 100_000, 20, 20)
    cap.exp(name="vxlan outer", state="SF", history="Dd", orig_pkts=7, orig_ip_bytes=670,
            resp_pkts=4, resp_ip_bytes=400, duration="0.165", orig_bytes=474, resp_bytes=288,
            local=(True, True), service="vxlan",
            why="The outer UDP flow 10.1.1.1:40500 -> 10.1.1.2:4789 (4789 is a likely server "
                "port, 40500 is not: no flip). Every frame of the file belongs to it. service "
                "vxlan (the VXLAN analyzer confirms on every well-formed packet). Each outer "
                "packet is 20 (IP) + 8 (UDP) + 8 (VXLAN) + 14 (inner Ethernet) + inner IP "
                "length. orig (A->B): inner ICMP 60, TCP 40+40+60+40+40+40 = 260 inner IP bytes "
                "(7 packets, 320) -> 7 x 50 + 320 = 670 IP bytes and 7 x 22 + 320 = 474 UDP "
                "payload bytes. resp: "
                "inner 60 + 40 + 60 + 40 = 200 -> 4 x 50 + 200 = 400 and 4 x 22 + 200 = 288. "
                "The trailing inner ACK (0.165 s) is an outer UDP packet like any other, so "
                "duration 0.165 although the inner TCP duration stops at its second FIN.")
    cap.exp(name="inner icmp", state="OTH", history=None, orig_pkts=1, orig_ip_bytes=60,
            resp_pkts=1, resp_ip_bytes=60, duration="0.002", orig_bytes=32, resp_bytes=32,
            local=(True, True), ports=(8, 0), tunnel_parent=0,
            why="Inner ICMP echo 192.168.100.1 -> .2 (8 / 0), 32 data bytes, inner IP length "
                "60. tunnel_parents = [uid of the outer VXLAN connection].")
    cap.exp(name="inner tcp", state="SF", history="ShADdFf", orig_pkts=6, orig_ip_bytes=260,
            resp_pkts=3, resp_ip_bytes=140, duration="0.064", orig_bytes=20, resp_bytes=20,
            local=(True, True), tunnel_parent=0,
            why="Inner TCP SF (same shape as tcp_states SF with 20 bytes each way); counters use "
                "the inner IP header: orig 5 x 40 + 60 = 260, resp 40 + 60 + 40 = 140. "
                "tunnel_parents = [outer uid].")
    return cap


def build_timeout():
    cap = Capture("timeout", "Timer-driven removal",
                  "Connections removed by timers while the trace is read: TCP close delay, TCP "
                  "attempt timer and UDP inactivity (60 s) splitting one 5-tuple into two "
                  "records. Expected order: B (close delay, due 6.18 s), C (attempt, due 7 s), "
                  "both run when the packet at 30 s arrives; A#1 (inactivity, due 60.5 s) runs "
                  "when the packet at 70 s arrives; then end of input flushes D and A#2 in "
                  "creation order.")
    a_c, a_s = ("10.0.0.101", 40101), (SRV, 4211)
    udp_send(cap, 0, a_c[0], a_c[1], a_s[0], a_s[1], 20)
    udp_send(cap, 500_000, a_s[0], a_s[1], a_c[0], a_c[1], 20, fwd=False)
    f = TcpFlow(cap, "10.0.0.102", 40102, SRV, 4161, ISN_C, ISN_S)
    f.c(1_000_000, "S"); f.s(1_050_000, "SA"); f.c(1_060_000, "A"); f.c(1_070_000, "PA", 10)
    f.s(1_120_000, "PA", 10); f.c(1_130_000, "FA"); f.s(1_180_000, "FA"); f.c(1_190_000, "A")
    f = TcpFlow(cap, "10.0.0.103", 40103, SRV, 4162, ISN_C, ISN_S)
    f.c(2_000_000, "S")
    udp_send(cap, 30_000_000, "10.0.0.104", 40104, SRV, 4212, 20)
    udp_send(cap, 70_000_000, a_c[0], a_c[1], a_s[0], a_s[1], 20)
    udp_send(cap, 70_500_000, a_s[0], a_s[1], a_c[0], a_c[1], 20, fwd=False)
    cap.exp(name="B tcp close delay", state="SF", history="ShADdFf", orig_pkts=5,
            orig_ip_bytes=210, resp_pkts=3, resp_ip_bytes=130, duration="0.18", orig_bytes=10,
            resp_bytes=10, local=(True, False), ts_offset_us=1_000_000,
            why="TCP SF (client FIN also acks the server data; last ACK after both FINs). "
                "Last counted activity 1.18 s, so the close-delay timer removes it at 6.18 s - "
                "run before the packet at 30 s. orig 4 x 40 + 50 = 210; resp 40 + 50 + 40 = 130.")
    cap.exp(name="C tcp attempt", state="S0", history="S", orig_pkts=1, orig_ip_bytes=40,
            resp_pkts=0, resp_ip_bytes=0, duration=None, orig_bytes=None, resp_bytes=None,
            local=(True, False), ts_offset_us=2_000_000,
            why="A lone SYN at 2 s: the attempt timer (2 + 5 = 7 s) removes it as S0 when time "
                "reaches 30 s. Single packet: duration unset.")
    cap.exp(name="A#1 udp inactivity", state="SF", history="Dd", orig_pkts=1, orig_ip_bytes=48,
            resp_pkts=1, resp_ip_bytes=48, duration="0.5", orig_bytes=20, resp_bytes=20,
            local=(True, False), ts_offset_us=0,
            why="UDP request at 0 s, response at 0.5 s. The next packet of this 5-tuple is at "
                "70 s; the inactivity timer (last 0.5 + 60 = 60.5 <= 70) fires first, so this "
                "record is logged and a new connection starts.")
    cap.exp(name="D udp one-way", state="S0", history="D", orig_pkts=1, orig_ip_bytes=48,
            resp_pkts=0, resp_ip_bytes=0, duration=None, orig_bytes=None, resp_bytes=None,
            local=(True, False), ts_offset_us=30_000_000,
            why="One datagram at 30 s; its inactivity timer (90 s) is after the end of the "
                "trace, so it is flushed at end of input, before A#2 (created later).")
    cap.exp(name="A#2 udp after timeout", state="SF", history="Dd", orig_pkts=1,
            orig_ip_bytes=48, resp_pkts=1, resp_ip_bytes=48, duration="0.5", orig_bytes=20,
            resp_bytes=20, local=(True, False), ts_offset_us=70_000_000,
            why="Same 5-tuple as A#1, new connection at 70 s (new ts, hence a new uid).")
    return cap


def build_truncated():
    cap = Capture("truncated", "Truncated capture file",
                  "Two complete records, then a third record whose header announces 58 bytes "
                  "but the file ends after 20 of them. connscope must log the complete packets "
                  "and exit non-zero naming the offset of the incomplete record (24-byte file "
                  "header + 2 x (16 + 58) = 172).")
    c, s = ("10.0.0.111", 40111), (SRV, 4221)
    udp_send(cap, 0, c[0], c[1], s[0], s[1], 16)
    udp_send(cap, 20_000, s[0], s[1], c[0], c[1], 16, fwd=False)
    udp_send(cap, 40_000, c[0], c[1], s[0], s[1], 16)
    cap.truncate_last = 20
    cap.expected_error_offset = 172
    cap.exp(name="before truncation", state="SF", history="Dd", orig_pkts=1, orig_ip_bytes=44,
            resp_pkts=1, resp_ip_bytes=44, duration="0.02", orig_bytes=16, resp_bytes=16,
            local=(True, False),
            why="Only the two complete packets count; the cut third packet (a second request) "
                "is never delivered. 44 IP bytes each way, duration 0.02.")
    return cap


BUILDERS = [build_tcp_states, build_midstream, build_retransmit, build_udp, build_icmp,
            build_ipv6, build_vlan, build_fragments, build_vxlan, build_timeout, build_truncated]

# ---------------------------------------------------------------------------
# Checking and output
# ---------------------------------------------------------------------------


def check_expectations(cap, out):
    assert len(out) == len(cap.expect), (cap.name, len(out), len(cap.expect))
    recs = []
    for (line, conn, reason), e in zip(out, cap.expect):
        r = json.loads(line)
        where = "%s / %s" % (cap.name, e["name"])
        assert r["conn_state"] == e["state"], (where, r["conn_state"])
        assert r.get("history") == e["history"], (where, r.get("history"))
        for k in ("orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
                  "orig_bytes", "resp_bytes"):
            assert r.get(k) == e[k], (where, k, r.get(k), e[k])
        dur = re.search(r'"duration":([0-9.]+)', line)
        # The hand value is exact microseconds; the log carries Zeek's double difference.
        if e["duration"] is None:
            assert dur is None, (where, dur.group(1))
        else:
            assert dur and abs(float(dur.group(1)) - float(e["duration"])) < 5e-7, (where, dur and dur.group(1))
        assert (r["local_orig"], r["local_resp"]) == e["local"], where
        assert r.get("service") == e.get("service"), where
        if "ports" in e:
            assert (r["id.orig_p"], r["id.resp_p"]) == e["ports"], where
        if "tunnel_parent" in e:
            assert r["tunnel_parents"] == [json.loads(out[e["tunnel_parent"]][0])["uid"]], where
        else:
            assert "tunnel_parents" not in r, where
        ts_off = e.get("ts_offset_us")
        if ts_off is not None:
            assert conn.ts == T0 + ts_off, (where, conn.ts)
        assert r["missed_bytes"] == 0
        recs.append((r, line, reason, e))
    return recs


def render_readme(caps):
    L = []
    L.append("# connscope conformance captures (generated)\n")
    L.append("Generated by `python3 pcaps/gen.py` (Python 3 standard library, deterministic). "
             "Do not edit the `.pcap`, `.conn.json` or this README by hand: change `gen.py` "
             "and rerun it.\n")
    L.append("Each `NAME.pcap` (classic pcap, microsecond timestamps, link type 1 Ethernet, "
             "snaplen 65535, first packet at 2024-01-01T00:00:00Z = 1704067200) comes with "
             "`NAME.conn.json`, the conn records connscope must write for it with default "
             "settings (Zeek default likely_server_ports, default local_nets = private "
             "address space, checksums validated, uid seed 0, `community_id` with seed 0 as JSON output has it by default, computed here from the Community ID spec).\n")
    L.append("## How the expected output is produced\n")
    L.append("`gen.py` builds the frames, writes the pcap, then reads the pcap back with its "
             "own decoder (Ethernet, 802.1Q/QinQ, IPv4 with fragment reassembly, IPv6, TCP, UDP, "
             "ICMP/ICMPv6, VXLAN; every IP/TCP/UDP/ICMP checksum is verified) and runs an "
             "independent model of Zeek's connection tracking written from "
             "`shared/conformance/zeek/SEMANTICS.md` (TCP endpoint states and `conn_state` table, "
             "history letters with the repeat/scaled rules, sequence-number sizes as in "
             "`TCP_Endpoint::Size`, ConnSize counters, inactivity/attempt/close/expire timers "
             "driven by packet time, shutdown timers then creation-order flush). Every record is "
             "then checked against the hand-written expectations below (conn_state, history, "
             "packet and byte counts, duration, local_*, service, tunnel_parents, ts); a "
             "mismatch aborts the generator.\n")
    L.append("Conventions used in all captures: clients 10.0.0.0/8 (local) on ephemeral ports "
             ">= 40000; servers 93.184.216.34 / 2606:2800:220:1::1 (not local) or "
             "192.168.x / 172.16.x / fd00:: (local) on TCP 4101-4199 and UDP 4201-4299, none of "
             "which is in Zeek's default `likely_server_ports` (so no role flip and no service); "
             "payloads are pseudo-random bytes; no TCP options (TCP header 20 bytes, IPv4 header "
             "20 bytes, IPv6 header 40 bytes); every ACK acknowledges exactly what the peer has "
             "sent (no content gaps, `missed_bytes` 0). TCP sizes come from sequence numbers: "
             "`max(last_seq, acked) - start_seq`, minus 1 for the SYN and minus 1 for a FIN; "
             "for a side whose SYN was not seen `start_seq` is first seq - 1. UDP bytes = UDP "
             "length - 8; ICMP bytes = IP payload - 8. `duration`, `orig_bytes`, `resp_bytes` "
             "are present only when duration > 0.\n")
    L.append("Record order is removal order: timers fire as packet time passes them; at end "
             "of input, timers marked to run at shutdown (the TCP attempt timer) run, then all "
             "remaining connections are flushed in creation order. The lead may compare as "
             "sets.\n")
    L.append("## Files\n")
    L.append("| capture | frames | records | content |")
    L.append("|---|---|---|---|")
    for cap, recs in caps:
        L.append("| `%s.pcap` | %d | %d | %s |" % (cap.name, len(cap.frames), len(recs),
                                                  cap.title))
    L.append("")
    L.append("Also `truncated.expected-error.txt` (`offset 172`).\n")
    for cap, recs in caps:
        L.append("## `%s.pcap` - %s\n" % (cap.name, cap.title))
        L.append(cap.description + "\n")
        for i, (r, line, reason, e) in enumerate(recs, 1):
            L.append("### %d. %s - `%s`%s\n" % (
                i, e["name"], r["conn_state"],
                " history `%s`" % r["history"] if "history" in r else " (no history)"))
            L.append("`%s %s:%s -> %s:%s`, ts %s, removed by: %s.\n" % (
                r["proto"], r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"],
                re.search(r'"ts":([0-9.]+)', line).group(1), reason))
            L.append(e["why"] + "\n")
            L.append("```json\n%s\n```\n" % line)
    L.append("## Rules that needed a judgement call\n")
    L.append("* **RSTRH / SHR without likely-server ports.** The textbook RSTRH/SHR (responder "
             "SYN-ACK then RST/FIN, SYN not seen) needs a role flip at creation, which requires "
             "a likely server port. With unregistered ports the SYN-ACK sender would become the "
             "originator, so these captures reach RSTRH/SHR with a midstream client data "
             "packet followed by a responder RST (`Dr`) or FIN (`Df`); the originator is "
             "PARTIAL, which the conn_state table treats as inactive.")
    L.append("* **OTH variant.** `tcp_states` uses a midstream client data + client RST "
             "(`DR`): originator RESET with a silent responder but a history not starting with "
             "`S`, so RSTOS0 does not match and the table falls through to OTH. `midstream` "
             "shows the more common OTH (both sides PARTIAL).")
    L.append("* **Shutdown order.** SEMANTICS §12 says shutdown timers run before the "
             "creation-order flush; the TCP attempt timer is such a timer, so an S0 whose 5 s "
             "had not elapsed is logged first. `tcp_states` creates its S0 first so the order is "
             "the same under either reading.")
    L.append("* **Partial close.** The SHR connection closes one side before anything else was "
             "seen from it; Zeek only arms `PartialCloseTimer` (3 s) when a "
             "`connection_partial_close` handler exists. It is the last connection in "
             "`tcp_states` (0.02 s before the end), so the timer cannot matter.")
    L.append("* **REJ resp_bytes.** The responder's RST has seq 0, so its endpoint starts at "
             "0xffffffff; `TCP_Endpoint::Size` yields 0 because ack_seq (0xffffffff) > "
             "last_seq (0) and ack_seq - start_seq = 0.")
    L.append("* **VXLAN directions.** Real VTEPs usually send both directions to port 4789 "
             "from hashed source ports (two outer connections, tunnel change -> several "
             "tunnel_parents and an `X`, as in Zeek's vxlan case). Here the return traffic "
             "reuses the outer 5-tuple (4789 -> 40500): Zeek builds the encapsulation from the "
             "outer *connection*, so the inner connections keep one parent, and the UDP "
             "analyzer hands both directions to VXLAN because it checks the connection's "
             "responder port.")
    L.append("* **Truncation offset.** `offset N` is the file offset of the first byte of the "
             "incomplete record's 16-byte header (what `src/capture/file.rs` reports as "
             "`rec_start`).")
    L.append("")
    return "\n".join(L)


def main():
    uid_selfcheck()
    community_id_selfcheck()
    assert fmt_time(T0 + 500_000) == "1704067200.5" and fmt_time(3_000_000) == "3.0"
    assert fmt_double(zeek_double(T0 + 500_000)) == "1704067200.5" and fmt_double(3.0) == "3.0"
    assert fmt_double(0.00005) == "0.00005"
    assert fmt_time(357) == "0.000357" and fmt_time(T0 + 123456) == "1704067200.123456"

    done = []
    for build in BUILDERS:
        cap = build()
        data = cap.pcap_bytes()
        out, trunc = run_oracle(data)
        if cap.truncate_last is not None:
            assert trunc == cap.expected_error_offset, trunc
            with open(os.path.join(HERE, cap.name + ".expected-error.txt"), "w") as fh:
                fh.write("offset %d\n" % trunc)
        else:
            assert trunc is None
        recs = check_expectations(cap, out)
        with open(os.path.join(HERE, cap.name + ".pcap"), "wb") as fh:
            fh.write(data)
        with open(os.path.join(HERE, cap.name + ".conn.json"), "w") as fh:
            fh.write("".join(line + "\n" for line, _, _ in out))
        done.append((cap, recs))
        print("%-12s %3d frames %2d records" % (cap.name, len(cap.frames), len(out)))
    with open(os.path.join(HERE, "README.md"), "w") as fh:
        fh.write(render_readme(done))


if __name__ == "__main__":
    sys.exit(main())
