#!/usr/bin/env python3
"""Builds the fuzz seed corpus in fuzz/corpus/<target>/ from capture files.

Usage: make_corpus.py OUT_DIR CAPTURE...

Every capture (classic pcap or pcapng) is split into packets and turned into
seeds in each target's input format (see fuzz/fuzz_targets/*.rs and
common.rs). Nothing here is committed: the corpus is rebuilt at run time
from the project's pcaps/ and, when present, ../shared/conformance traces.
Standard library only.
"""
import hashlib
import os
import struct
import sys

MAX_SEED = 64 * 1024
PER_FILE_PACKETS = 300

LINKTYPES = [0, 1, 9, 10, 101, 12, 14, 50, 104, 105, 108, 113, 127, 228, 229, 239, 276, 999]
PORTS = [21, 22, 25, 53, 80, 135, 443, 502, 514, 587, 3389, 6379, 6667, 8080, 993, 2811,
         53, 137, 5353, 5355, 67, 68, 4011, 123, 443, 514, 3389,
         1, 4242, 10625, 40000, 65535, 0, 8000, 631, 1080, 3128, 8888, 995, 5223]
TCP_PORT_SEL = {p: i for i, p in reversed(list(enumerate(PORTS[:16])))}
UDP_PORT_SEL = {p: i + 16 for i, p in reversed(list(enumerate(PORTS[16:27])))}


def read_capture(data):
    """[(ts_ns, linktype, frame, wire_len)] of a pcap or pcapng file."""
    out = []
    if len(data) < 24:
        return out
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        nanos = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        lt = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
        p = 24
        while p + 16 <= len(data):
            s, f, cap, wire = struct.unpack(e + "IIII", data[p:p + 16])
            frame = data[p + 16:p + 16 + cap]
            if len(frame) < cap:
                break
            out.append((s * 10**9 + (f if nanos else f * 1000), lt, frame, max(wire, cap)))
            p += 16 + cap
        return out
    if magic == b"\x0a\x0d\x0d\x0a":
        p = 0
        e = "<"
        ifaces = []
        while p + 12 <= len(data):
            btype = struct.unpack("<I", data[p:p + 4])[0]
            if btype == 0x0A0D0D0A:
                e = "<" if data[p + 8:p + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                ifaces = []
            btype, total = struct.unpack(e + "II", data[p:p + 8])
            if total < 12 or p + total > len(data):
                break
            body = data[p + 8:p + total - 4]
            if btype == 1 and len(body) >= 8:
                lt = struct.unpack(e + "H", body[0:2])[0]
                units = 10**6
                o = body[8:]
                while len(o) >= 4:
                    code, ln = struct.unpack(e + "HH", o[:4])
                    if code == 0:
                        break
                    if code == 9 and ln >= 1:
                        r = o[4]
                        units = (2 ** (r & 0x7F)) if r & 0x80 else (10 ** (r & 0x7F))
                    o = o[4 + ((ln + 3) & ~3):]
                ifaces.append((lt, units))
            elif btype in (6, 2) and len(body) >= 20:
                ifid = struct.unpack(e + ("I" if btype == 6 else "H"), body[0:4 if btype == 6 else 2])[0]
                hi, lo, cap, wire = struct.unpack(e + "IIII", body[4:20])
                if ifid < len(ifaces):
                    lt, units = ifaces[ifid]
                    raw = (hi << 32) | lo
                    out.append((raw * 10**9 // units, lt, body[20:20 + cap], max(wire, cap)))
            elif btype == 3 and len(body) >= 4 and ifaces:
                wire = struct.unpack(e + "I", body[0:4])[0]
                out.append((0, ifaces[0][0], body[4:4 + wire], wire))
            p += total
    return out


def strip_link(lt, f):
    """The IP packet inside a frame, or None."""
    if lt in (101, 12, 14, 228, 229):
        return f
    if lt in (0, 108):
        return f[4:]
    off, t = None, None
    if lt == 1:
        off, t = 14, f[12:14]
    elif lt == 113:
        off, t = 16, f[14:16]
    elif lt == 276:
        off, t = 20, f[0:2]
    if off is None or len(f) < off:
        return None
    while t in (b"\x81\x00", b"\x88\xa8", b"\x91\x00") and len(f) >= off + 4:
        t = f[off + 2:off + 4]
        off += 4
    if t in (b"\x08\x00", b"\x86\xdd"):
        return f[off:]
    return None


def transport(ip):
    """(proto, src, dst, sport, dport, payload, frag) of an IP packet."""
    if len(ip) < 20:
        return None
    v = ip[0] >> 4
    if v == 4:
        hl = (ip[0] & 15) * 4
        tl = struct.unpack(">H", ip[2:4])[0]
        proto = ip[9]
        src, dst = ip[12:16], ip[16:20]
        fo = struct.unpack(">H", ip[6:8])[0]
        frag = (fo & 0x1FFF) != 0 or (fo & 0x2000) != 0
        body = ip[hl:tl] if tl >= hl else b""
    elif v == 6 and len(ip) >= 40:
        proto = ip[6]
        src, dst = ip[8:24], ip[24:40]
        body = ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
        frag = False
        while proto in (0, 43, 60, 44) and len(body) >= 8:
            if proto == 44:
                frag = True
            nxt = body[0]
            ln = 8 if proto == 44 else (body[1] + 1) * 8
            proto, body = nxt, body[ln:]
    else:
        return None
    if frag:
        return (proto, src, dst, 0, 0, b"", True)
    if proto == 6 and len(body) >= 20:
        sp, dp = struct.unpack(">HH", body[:4])
        return (6, src, dst, sp, dp, body[(body[12] >> 4) * 4:], False)
    if proto == 17 and len(body) >= 8:
        sp, dp = struct.unpack(">HH", body[:4])
        return (17, src, dst, sp, dp, body[8:], False)
    if proto == 47:
        return (47, src, dst, 0, 0, body, False)
    return (proto, src, dst, 0, 0, body, False)


def step_tag(delta_ns, mask=0):
    """The record tag whose step (common::step_ns) is closest to delta_ns."""
    if delta_ns < 0:
        return min(0xEF + max(1, -delta_ns // 10**9), 0xFF)
    best = 0
    for t in range(0, 0xF0):
        if t & mask:
            continue
        if t ** 4 * 1000 <= delta_ns:
            best = t
    return best


def rec(tag, b):
    b = b[:0xFFFF]
    return bytes([tag]) + struct.pack("<H", len(b)) + b


class Out:
    def __init__(self, root):
        self.root = root
        self.n = {}

    def put(self, target, data):
        if not data or len(data) > MAX_SEED * 4:
            return
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        name = hashlib.sha1(data).hexdigest()
        path = os.path.join(d, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            self.n[target] = self.n.get(target, 0) + 1


def pcap_bytes(pkts, lt):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, lt)
    for ts, _, frame, wire in pkts:
        r = struct.pack("<IIII", ts // 10**9 & 0xFFFFFFFF, ts % 10**9 // 1000, len(frame), wire) + frame
        if len(out) + len(r) > MAX_SEED:
            break
        out += r
    return out


def pcapng_bytes(pkts, lt):
    def block(t, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", t, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # if_tsresol = 9 (nanoseconds), then end of options.
    out += block(1, struct.pack("<HHI", lt, 0, 0) + struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0))
    for ts, _, frame, wire in pkts:
        b = block(6, struct.pack("<IIIII", 0, ts >> 32 & 0xFFFFFFFF, ts & 0xFFFFFFFF, len(frame), wire) + frame)
        if len(out) + len(b) > MAX_SEED:
            break
        out += b
    return out


def main():
    root = sys.argv[1]
    out = Out(root)
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            data = f.read()
        pkts = read_capture(data)
        if not pkts:
            # Damaged files are good seeds for the readers as they are.
            out.put("pcapng_file" if data[:4] == b"\x0a\x0d\x0d\x0a" else "pcap_file", data[:MAX_SEED])
            continue
        if data[:4] == b"\x0a\x0d\x0d\x0a":
            out.put("pcapng_file", data if len(data) <= MAX_SEED else pcapng_bytes(pkts, pkts[0][1]))
        else:
            out.put("pcap_file", data if len(data) <= MAX_SEED else pcap_bytes(pkts, pkts[0][1]))
        lt0 = pkts[0][1]
        same = [p for p in pkts if p[1] == lt0]
        out.put("pcap_file", pcap_bytes(same[:64], lt0))
        out.put("pcapng_file", pcapng_bytes(same[:64], lt0))

        # Engine: the first packets of the file with their time steps.
        sel = LINKTYPES.index(lt0) if lt0 in LINKTYPES else 1
        e = bytes([0x03]) + struct.pack("<q", same[0][0]) + bytes([sel])
        prev = same[0][0]
        for ts, _, frame, wire in same:
            r = rec(step_tag(ts - prev, mask=3), frame)
            if len(e) + len(r) > MAX_SEED:
                break
            e += r
            prev = ts
        out.put("engine", e)

        frag_seq = b"\x00"
        frag_only = b"\x00"
        flows = {}
        prev = pkts[0][0]
        for i, (ts, lt, frame, wire) in enumerate(pkts):
            if i < PER_FILE_PACKETS and lt in LINKTYPES:
                out.put("decode_link", bytes([LINKTYPES.index(lt)]) + frame)
            ip = strip_link(lt, frame)
            if ip is None:
                continue
            if i < PER_FILE_PACKETS:
                out.put("decode_ip", ip)
            r = rec(step_tag(ts - prev), ip)
            prev = ts
            if len(frag_seq) + len(r) <= MAX_SEED:
                frag_seq += r
            t = transport(ip)
            if t is None:
                continue
            proto, src, dst, sp, dp, payload, is_frag = t
            if is_frag and len(frag_only) + len(r) <= MAX_SEED:
                frag_only += r
            if proto == 47:
                out.put("decode_tunnel", b"\x00" + payload)
            if proto == 17:
                for port, sel_t in ((4789, 1), (6081, 2), (2152, 3), (5072, 4), (3544, 5)):
                    if port in (sp, dp):
                        out.put("decode_tunnel", bytes([sel_t]) + payload)
                if 53 in (sp, dp) or 5353 in (sp, dp) or 5355 in (sp, dp) or 137 in (sp, dp):
                    out.put("dns_question", payload)
            if proto in (6, 17) and payload:
                key = (proto, frozenset([(src, sp), (dst, dp)]))
                fl = flows.setdefault(key, {"orig": (src, sp), "resp": dp, "recs": b""})
                if len(fl["recs"]) < MAX_SEED:
                    is_orig = (src, sp) == fl["orig"]
                    fl["recs"] += rec(0 if is_orig else 1, payload)
        out.put("frag", frag_seq)
        if len(frag_only) > 1:
            out.put("frag", frag_only)
        for (proto, _), fl in flows.items():
            if proto == 6:
                sel_p = TCP_PORT_SEL.get(fl["resp"], 28)
                out.put("service_analyzers", bytes([0, sel_p]) + fl["recs"])
            else:
                sel_p = UDP_PORT_SEL.get(fl["resp"], 28)
                out.put("service_analyzers", bytes([1, sel_p]) + fl["recs"])
            # dns_log: TCP bit, responder port selector, multicast bit.
            dns_ports = {53: 0, 137: 1, 5353: 2, 5355: 3}
            if fl["resp"] in dns_ports and (proto == 17 or fl["resp"] == 53):
                sel = (1 if proto == 6 else 0) | dns_ports[fl["resp"]] << 1 | 16 | 32
                out.put("dns_log", bytes([sel]) + fl["recs"])
    for t in sorted(out.n):
        print(f"  seeds {t}: {out.n[t]}")


if __name__ == "__main__":
    main()
