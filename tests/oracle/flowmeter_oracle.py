#!/usr/bin/env python3
"""Independent oracle for connscope's flowmeter.log.

Usage:
    flowmeter_oracle.py PCAP CONN_LOG FLOWMETER_LOG [-C] [-v]

Reads PCAP with dpkt (packet headers) and its own pcap record reader (for
exact integer timestamps), takes from connscope's conn.log (JSON) only the
connection boundaries -- uid, originator/responder endpoints, start and end
time -- and computes every flowmeter.log field itself from the packets, with a
different method from connscope's (whole lists of values and exact rational
arithmetic instead of streaming integer moments). It then requires equality
with connscope's flowmeter.log: counts exactly, doubles within 1e-9 relative
(so an expected 0 must be exactly 0), unset fields unset.

It also checks that flowmeter.log has exactly one row per conn.log uid and
that its own per-direction packet counts equal conn.log's orig_pkts /
resp_pkts (the definition of a counted packet).

Definitions follow docs/FEATURES.md. Packet selection follows Zeek's rules as
docs/FEATURES.md states them: a packet counts for a connection when it
reaches the connection's transport analysis with a valid checksum (TCP, UDP,
ICMP; unless -C), fragments are counted once, as the reassembled datagram,
at the time of the completing fragment; VXLAN and Geneve payloads are
decapsulated and the inner packets counted in their own connections (other
tunnel kinds are not decoded by this oracle and would show up as count
mismatches).

Exit status: 0 when everything matches, 1 on any mismatch, 2 on usage or
input errors. Needs `dpkt` (`python3 -m pip install dpkt`).
"""

import argparse
import ipaddress
import json
import math
import struct
import sys
from fractions import Fraction

import dpkt

NS = 1_000_000_000
SUBFLOW_GAP = 1 * NS
BULK_TIMEOUT = 1 * NS
BULK_MIN = 5
ACTIVE_TIMEOUT = 5 * NS

ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131,
               131: 130, 139: 140, 140: 139, 144: 145, 145: 144}


# --------------------------------------------------------------------------
# Capture reading (integer nanosecond timestamps).

def read_pcap(path):
    """Yields (ts_ns, linktype, frame bytes, wire length)."""
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24:
            return
        magic = gh[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            sys.exit("oracle: only classic pcap is supported (not pcapng): %s" % path)
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(endian + "I", gh[20:24])[0] & 0x0FFFFFFF
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            sec, frac, caplen, wire = struct.unpack(endian + "IIII", rh)
            data = f.read(caplen)
            if len(data) < caplen:
                return  # truncated file: connscope stops here too
            ts = sec * NS + (frac if nano else frac * 1000)
            yield ts, linktype, data, wire


# --------------------------------------------------------------------------
# Link layer: to the IP packet.

def link_to_ip(linktype, data):
    """Returns the offset of the IP header, or None."""
    if linktype == 1:  # Ethernet
        off = 12
        while True:
            if len(data) < off + 2:
                return None
            et = struct.unpack(">H", data[off:off + 2])[0]
            if et in (0x8100, 0x88A8, 0x9100):
                off += 4
                continue
            if et in (0x0800, 0x86DD):
                return off + 2
            if et in (0x8847, 0x8848):  # MPLS: skip labels to bottom of stack
                off += 2
                while len(data) >= off + 4:
                    bos = data[off + 2] & 1
                    off += 4
                    if bos:
                        return off
                return None
            if et == 0x8864:  # PPPoE session
                off += 2 + 6
                if len(data) < off + 2 or struct.unpack(">H", data[off - 2:off])[0] not in (0x0021, 0x0057):
                    return None
                return off
            return None
    if linktype in (101, 12, 14):  # raw IP
        return 0
    if linktype == 0:  # BSD loopback
        return 4
    if linktype == 113:  # Linux SLL
        return 16
    if linktype == 276:  # Linux SLL2
        return 20
    return None


# --------------------------------------------------------------------------
# Checksums.

def ones(data, acc=0):
    if len(data) % 2:
        data = data + b"\x00"
    acc += sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return acc


def pseudo(ip, proto, length):
    if ip["v6"]:
        return ones(ip["src_b"] + ip["dst_b"] + struct.pack("!IxxxB", length, proto))
    return ones(ip["src_b"] + ip["dst_b"] + struct.pack("!xBH", proto, length & 0xFFFF))


def transport_ok(ip, proto):
    return ones(ip["l4"], pseudo(ip, proto, ip["l4_len"])) == 0xFFFF


# --------------------------------------------------------------------------
# IP parsing (dpkt for the fixed headers; the extension chain walked here).

V6_EXT = (0, 43, 60, 135, 139, 140, 253, 254)


def parse_ip(buf, wire, ignore_checksums):
    """A dict describing the IP packet in buf (captured bytes) of wire length
    `wire`, or None when connscope would not analyse it."""
    if len(buf) < 1:
        return None
    ver = buf[0] >> 4
    if ver == 4:
        if len(buf) < 20:
            return None
        try:
            p = dpkt.ip.IP(buf)
        except (dpkt.NeedData, dpkt.UnpackError):
            p = None
        hl = (buf[0] & 0x0F) * 4
        total = struct.unpack(">H", buf[2:4])[0]
        if hl < 20 or len(buf) < hl or total < hl or total > wire:
            return None
        if not ignore_checksums and ones(buf[:hl]) != 0xFFFF:
            return None
        off = struct.unpack(">H", buf[6:8])[0]
        ttl = p.ttl if p is not None else buf[8]
        proto = p.p if p is not None else buf[9]
        ip = dict(v6=False, src_b=buf[12:16], dst_b=buf[16:20], proto=proto, hdr_len=hl,
                  total=total, ttl=ttl, header=buf[:hl], l4=buf[hl:total], l4_len=total - hl,
                  frag=None)
        mf = bool(off & 0x2000)
        foff = (off & 0x1FFF) * 8
        if mf or foff:
            ip["frag"] = (struct.unpack(">H", buf[4:6])[0], foff, mf)
        return ip
    if ver == 6:
        if len(buf) < 40:
            return None
        try:
            p = dpkt.ip6.IP6(buf)
        except (dpkt.NeedData, dpkt.UnpackError):
            p = None
        plen = struct.unpack(">H", buf[4:6])[0]
        total = 40 + plen
        if total > wire:
            return None
        nxt = buf[6]
        hlim = p.hlim if p is not None else buf[7]
        off = 40
        frag = None
        frag_next_off = None
        while nxt in V6_EXT or nxt == 44:
            if len(buf) < off + 8:
                return None
            if nxt == 44:
                fo = struct.unpack(">H", buf[off + 2:off + 4])[0]
                ident = struct.unpack(">I", buf[off + 4:off + 8])[0]
                frag = (ident, fo & 0xFFF8, bool(fo & 1))
                frag_next_off = off
                nxt = buf[off]
                off += 8
                break
            n = buf[off]
            ln = (buf[off + 1] + 1) * 8
            off += ln
            nxt = n
        if off > total:
            return None
        ip = dict(v6=True, src_b=buf[8:24], dst_b=buf[24:40], proto=nxt, hdr_len=off,
                  total=total, ttl=hlim, header=buf[:off], l4=buf[off:total], l4_len=total - off,
                  frag=frag, frag_next_off=frag_next_off)
        return ip
    return None


def addr(b):
    return str(ipaddress.ip_address(bytes(b)))


class Reassembler:
    """Fragment reassembly: the datagram is delivered when complete, at the
    completing fragment's time, with the offset-0 fragment's header."""

    def __init__(self):
        self.pending = {}

    def add(self, ip):
        ident, start, more = ip["frag"]
        key = (ip["src_b"], ip["dst_b"], ident, ip["v6"])
        d = self.pending.setdefault(key, dict(data={}, header=None, total=None, proto=ip["proto"]))
        d["data"][start] = ip["l4"]
        if start == 0:
            d["header"] = ip["header"] if not ip["v6"] else ip["header"][:ip["frag_next_off"]]
            d["proto"] = ip["proto"]
            d["ttl"] = ip["ttl"]
        if not more:
            d["total"] = start + len(ip["l4"])
        if d["header"] is None or d["total"] is None:
            return None
        have = bytearray(d["total"])
        covered = [False] * d["total"]
        for s, chunk in d["data"].items():
            have[s:s + len(chunk)] = chunk
            for i in range(s, min(s + len(chunk), d["total"])):
                covered[i] = True
        if not all(covered):
            return None
        del self.pending[key]
        hl = len(d["header"])
        return dict(v6=ip["v6"], src_b=ip["src_b"], dst_b=ip["dst_b"], proto=d["proto"],
                    hdr_len=hl, total=hl + d["total"], ttl=d["ttl"], header=d["header"],
                    l4=bytes(have), l4_len=d["total"], frag=None)


# --------------------------------------------------------------------------
# Packets to connections.

class Pkt:
    __slots__ = ("ts", "src", "sp", "dst", "dp", "proto", "one_way", "ip_len", "ip_hdr", "l4_hdr",
                 "payload", "flags", "win", "seq", "ttl", "is_orig")


def packets(pcap, ignore_checksums):
    """Yields the transport packets connscope analyses (checksum-valid ones
    only), with tunnels decapsulated."""
    frag = Reassembler()
    for ts, lt, data, wire in read_pcap(pcap):
        off = link_to_ip(lt, data)
        if off is None:
            continue
        yield from ip_packets(ts, data[off:], wire - off, frag, ignore_checksums, 0)


def ip_packets(ts, buf, wire, frag, ignore, depth):
    ip = parse_ip(buf, wire, ignore)
    if ip is None:
        return
    if ip["frag"] is not None:
        if len(ip["l4"]) < ip["l4_len"]:
            if ip["frag"][1] != 0:
                return
        else:
            whole = frag.add(ip)
            if whole is None:
                return
            ip = whole
    yield from transport(ts, ip, frag, ignore, depth)


def transport(ts, ip, frag, ignore, depth):
    proto = ip["proto"]
    l4, l4_len = ip["l4"], ip["l4_len"]
    full = len(l4) >= l4_len
    p = Pkt()
    p.ts, p.src, p.dst, p.proto = ts, addr(ip["src_b"]), addr(ip["dst_b"]), proto
    p.ip_len, p.ip_hdr, p.ttl, p.one_way = ip["total"], ip["hdr_len"], ip["ttl"], False
    p.flags = p.win = p.seq = None
    if proto == 6:
        if l4_len < 20 or len(l4) < 20:
            return
        doff = (l4[12] >> 4) * 4
        if doff < 20 or doff > l4_len or doff > len(l4):
            return
        t = dpkt.tcp.TCP(l4[:doff])
        if not ignore and full and not transport_ok(ip, 6):
            return
        p.sp, p.dp, p.flags, p.win, p.seq = t.sport, t.dport, t.flags & 0xFF, t.win, t.seq
        p.l4_hdr = doff
    elif proto == 17:
        if l4_len < 8 or len(l4) < 8:
            return
        u = dpkt.udp.UDP(l4[:8])
        p.sp, p.dp, p.l4_hdr = u.sport, u.dport, 8
        if not ignore and full:
            vx = l4_len > 30 and len(l4) > 8 and l4[8] & 0x08 and u.dport == 4789
            if not vx:
                bad = (not transport_ok(ip, 17)) if ip["v6"] else (u.sum != 0 and not transport_ok(ip, 17))
                if bad:
                    return
    elif proto in (1, 58):
        if l4_len < 8 or len(l4) < 8:
            return
        m = dpkt.icmp.ICMP(l4[:8]) if proto == 1 else dpkt.icmp6.ICMP6(l4[:8])
        if not ignore and full:
            ok = transport_ok(ip, 58) if proto == 58 else ones(l4) == 0xFFFF
            if not ok:
                return
        pairs = ICMP6_PAIRS if proto == 58 else ICMP4_PAIRS
        if m.type in pairs:
            p.sp, p.dp = m.type, pairs[m.type]
        else:
            p.sp, p.dp, p.one_way = m.type, m.code, True
        p.l4_hdr = 8
    elif proto in (4, 41, 47, 50, 135, 59):
        return  # IP tunnels (not decoded here), ESP, mobility, no-next: no connection
    else:
        p.sp = p.dp = 0
        p.l4_hdr = 0
    p.payload = max(0, p.ip_len - p.ip_hdr - p.l4_hdr)
    yield p
    # UDP tunnels: the inner packet is a packet of its own connection.
    # Like Zeek, by the connection's responder port: either port of the packet.
    tport = p.dp if p.dp in (4789, 6081) else p.sp
    if proto == 17 and depth < 2 and tport in (4789, 6081):
        inner = None
        body = l4[8:]
        if tport == 4789 and len(body) >= 8 and body[0] & 0x08:
            inner = body[8:]
        elif tport == 6081 and len(body) >= 8 and body[0] >> 6 == 0:
            optlen = (body[0] & 0x3F) * 4
            if struct.unpack(">H", body[2:4])[0] == 0x6558:
                inner = body[8 + optlen:]
        if inner is not None and len(inner) >= 14:
            et = struct.unpack(">H", inner[12:14])[0]
            off = 14
            while et in (0x8100, 0x88A8) and len(inner) >= off + 4:
                et = struct.unpack(">H", inner[off + 2:off + 4])[0]
                off += 4
            if et in (0x0800, 0x86DD):
                consumed = len(l4) - len(inner) + off
                inner_wire = max(0, l4_len - consumed)
                yield from ip_packets(p.ts, inner[off:], max(inner_wire, len(inner) - off), Reassembler(), ignore, depth + 1)


def load_conns(path):
    conns = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            r = json.loads(line)
            # Captures in this corpus have microsecond timestamps: the doubles
            # of conn.log recover them exactly.
            start_us = round(r["ts"] * 1e6)
            end_us = round((r["ts"] + r.get("duration", 0.0)) * 1e6)
            conns.append(dict(uid=r["uid"], orig=(r["id.orig_h"], r["id.orig_p"]),
                              resp=(r["id.resp_h"], r["id.resp_p"]), ip_proto=r["ip_proto"],
                              proto=r["proto"], start=start_us * 1000, end=end_us * 1000,
                              orig_pkts=r["orig_pkts"], resp_pkts=r["resp_pkts"], pkts=[]))
    return conns


def assign(conns, pkts):
    """Each packet goes to the connection with its endpoints and protocol that
    started last at or before the packet's time."""
    index = {}
    for c in conns:
        if c["proto"] == "icmp":
            one_way = c["ip_proto"] == 1 and c["orig"][1] not in ICMP4_PAIRS or \
                c["ip_proto"] == 58 and c["orig"][1] not in ICMP6_PAIRS
        else:
            one_way = False
        ends = (c["orig"], c["resp"])
        key = (c["ip_proto"], ends if one_way else frozenset(ends), one_way)
        index.setdefault(key, []).append(c)
    for v in index.values():
        v.sort(key=lambda c: c["start"])
    unmatched = 0
    for p in pkts:
        ends = ((p.src, p.sp), (p.dst, p.dp))
        key = (p.proto, ends if p.one_way else frozenset(ends), p.one_way)
        cands = index.get(key)
        best = None
        for c in cands or ():
            if c["start"] <= p.ts:
                best = c
            else:
                break
        if best is None:
            unmatched += 1
            continue
        p.is_orig = (p.src, p.sp) == best["orig"]
        best["pkts"].append(p)
    return unmatched


# --------------------------------------------------------------------------
# The statistics, from whole lists.

def summary(values, scale=1):
    """(min, max, tot, avg, std) of integers, divided by scale; exact until
    the final rounding."""
    if not values:
        return [0.0] * 5
    n = len(values)
    tot = sum(values)
    mean = Fraction(tot, n)
    if n > 1:
        var = sum((Fraction(x) - mean) ** 2 for x in values) / (n - 1)
        std = math.sqrt(var) / scale
    else:
        std = 0.0
    return [min(values) / scale, max(values) / scale, tot / scale, float(mean / scale), std]


def gaps(times):
    return [max(0, b - a) for a, b in zip(times, times[1:])]


def features(c):
    pk = c["pkts"]
    dur = max(0, c["end"] - c["start"])
    dur_s = Fraction(dur, NS)
    f = {}
    fwd = [p for p in pk if p.is_orig]
    bwd = [p for p in pk if not p.is_orig]

    def rate(x):
        return float(Fraction(x) / dur_s) if dur > 0 else 0.0

    f["flow_duration"] = dur / NS
    f["fwd_pkts_tot"], f["bwd_pkts_tot"] = len(fwd), len(bwd)
    f["fwd_data_pkts_tot"] = sum(1 for p in fwd if p.payload > 0)
    f["bwd_data_pkts_tot"] = sum(1 for p in bwd if p.payload > 0)
    f["fwd_pkts_per_sec"], f["bwd_pkts_per_sec"] = rate(len(fwd)), rate(len(bwd))
    f["flow_pkts_per_sec"] = rate(len(pk))
    f["down_up_ratio"] = len(bwd) / len(fwd) if fwd else 0.0
    for name, side in (("fwd", fwd), ("bwd", bwd)):
        h = [p.l4_hdr for p in side]
        f[name + "_header_size_tot"] = sum(h)
        f[name + "_header_size_min"] = min(h) if h else 0
        f[name + "_header_size_max"] = max(h) if h else 0
    tcp = [p for p in pk if p.flags is not None]

    def nflag(ps, bit):
        return sum(1 for p in ps if p.flags is not None and p.flags & bit)

    f["flow_FIN_flag_count"] = nflag(pk, 0x01)
    f["flow_SYN_flag_count"] = nflag(pk, 0x02)
    f["flow_RST_flag_count"] = nflag(pk, 0x04)
    f["fwd_PSH_flag_count"], f["bwd_PSH_flag_count"] = nflag(fwd, 0x08), nflag(bwd, 0x08)
    f["flow_ACK_flag_count"] = nflag(pk, 0x10)
    f["fwd_URG_flag_count"], f["bwd_URG_flag_count"] = nflag(fwd, 0x20), nflag(bwd, 0x20)
    f["flow_CWR_flag_count"] = nflag(pk, 0x80)
    f["flow_ECE_flag_count"] = nflag(pk, 0x40)

    def put5(prefix, vals):
        for k, v in zip(("min", "max", "tot", "avg", "std"), vals):
            f[prefix + "." + k] = v

    put5("fwd_pkts_payload", summary([p.payload for p in fwd]))
    put5("bwd_pkts_payload", summary([p.payload for p in bwd]))
    put5("flow_pkts_payload", summary([p.payload for p in pk]))
    put5("fwd_iat", summary(gaps([p.ts for p in fwd]), NS))
    put5("bwd_iat", summary(gaps([p.ts for p in bwd]), NS))
    flow_gaps = gaps([p.ts for p in pk])
    put5("flow_iat", summary(flow_gaps, NS))
    f["payload_bytes_per_second"] = rate(sum(p.payload for p in pk))
    subflows = (1 + sum(1 for g in flow_gaps if g > SUBFLOW_GAP)) if pk else 0
    f["fwd_subflow_pkts"] = len(fwd) / subflows if subflows else 0.0
    f["bwd_subflow_pkts"] = len(bwd) / subflows if subflows else 0.0
    f["fwd_subflow_bytes"] = sum(p.payload for p in fwd) / subflows if subflows else 0.0
    f["bwd_subflow_bytes"] = sum(p.payload for p in bwd) / subflows if subflows else 0.0

    # Bulk: maximal runs of consecutive data packets of one direction, each
    # less than BULK_TIMEOUT after the previous one.
    runs = []
    for p in (q for q in pk if q.payload > 0):
        r = runs[-1] if runs else None
        if r and r["orig"] == p.is_orig and max(0, p.ts - r["pk"][-1].ts) < BULK_TIMEOUT:
            r["pk"].append(p)
        else:
            runs.append(dict(orig=p.is_orig, pk=[p]))
    for name, orig in (("fwd", True), ("bwd", False)):
        bulks = [r["pk"] for r in runs if r["orig"] == orig and len(r["pk"]) >= BULK_MIN]
        nbytes = sum(p.payload for b in bulks for p in b)
        npk = sum(len(b) for b in bulks)
        ns = sum(sum(gaps([p.ts for p in b])) for b in bulks)
        f[name + "_bulk_bytes"] = nbytes / len(bulks) if bulks else 0.0
        f[name + "_bulk_packets"] = npk / len(bulks) if bulks else 0.0
        f[name + "_bulk_rate"] = float(Fraction(nbytes) / Fraction(ns, NS)) if ns > 0 else 0.0

    # Active periods: split the packet sequence at gaps > ACTIVE_TIMEOUT.
    periods, idle, cur = [], [], []
    for i, g in enumerate([None] + flow_gaps):
        if g is not None and g > ACTIVE_TIMEOUT:
            idle.append(g)
            periods.append(cur)
            cur = []
        cur.append(0 if g is None or not cur else g)
    if pk:
        periods.append(cur)
    active = [sum(per) for per in periods if len(per) >= 2]
    put5("active", summary(active, NS))
    put5("idle", summary(idle, NS))

    for name, side in (("fwd", fwd), ("bwd", bwd)):
        t = [p for p in side if p.flags is not None]
        f[name + "_init_window_size"] = side[0].win if side and side[0].win is not None else 0
        f[name + "_last_window_size"] = side[-1].win if side and side[-1].win is not None else 0
        lens = [p.ip_len for p in side]
        s = summary(lens)
        f[name + "_pkt_len.min"] = int(s[0])
        f[name + "_pkt_len.max"] = int(s[1])
        f[name + "_pkt_len.avg"] = s[3]
        f[name + "_pkt_len.std"] = s[4]
        f[name + "_retrans_pkts"] = retransmissions(t)
        ttl = [p.ttl for p in side]
        f[name + "_ttl_min"] = min(ttl) if ttl else 0
        f[name + "_ttl_max"] = max(ttl) if ttl else 0
    f["tcp_rtt_syn_synack"], f["tcp_rtt_synack_ack"] = handshake(tcp)
    return f


def retransmissions(side):
    """TCP packets with payload whose sequence end does not pass the highest
    end sent before by the same side (RST packets ignored)."""
    n = 0
    high = None
    for p in side:
        if p.flags & 0x04:
            continue
        end = (p.seq + p.payload + (1 if p.flags & 0x02 else 0) + (1 if p.flags & 0x01 else 0)) % 2**32
        if high is None:
            high = end
            continue
        d = (end - high) % 2**32
        advanced = 0 < d < 2**31
        if advanced:
            high = end
        elif p.payload > 0:
            n += 1
    return n


def handshake(tcp):
    syn = synack = None
    r1 = r2 = None
    for p in tcp:
        fl = p.flags
        if fl & 0x04:
            continue
        is_syn, is_ack = bool(fl & 0x02), bool(fl & 0x10)
        if is_syn and not is_ack and synack is None:
            syn = (p.is_orig, p.ts)
        elif is_syn and is_ack:
            if synack is None:
                synack = (p.is_orig, p.ts)
                if syn is not None and syn[0] != p.is_orig:
                    r1 = max(0, p.ts - syn[1]) / NS
            elif synack[0] == p.is_orig and r2 is None:
                synack = (p.is_orig, p.ts)
        elif not is_syn and is_ack and synack is not None and synack[0] != p.is_orig and r2 is None:
            r2 = max(0, p.ts - synack[1]) / NS
    return r1, r2


# --------------------------------------------------------------------------

def same(want, got):
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, int) and not isinstance(want, bool) and isinstance(got, int):
        return want == got
    a, b = float(want), float(got)
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pcap")
    ap.add_argument("conn_log")
    ap.add_argument("flowmeter_log")
    ap.add_argument("-C", dest="ignore_checksums", action="store_true", help="connscope ran with -C")
    ap.add_argument("-v", action="store_true", help="print every mismatch")
    a = ap.parse_args()

    conns = load_conns(a.conn_log)
    rows = {}
    with open(a.flowmeter_log) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                r = json.loads(line)
                if r["uid"] in rows:
                    print("duplicate flowmeter row for", r["uid"])
                    return 1
                rows[r["uid"]] = r
    unmatched = assign(conns, packets(a.pcap, a.ignore_checksums))

    problems = 0
    fields = 0
    uids = {c["uid"] for c in conns}
    for u in sorted(set(rows) - uids):
        print("flowmeter row without conn.log record:", u)
        problems += 1
    for c in conns:
        u = c["uid"]
        got = rows.get(u)
        if got is None:
            print("no flowmeter row for", u)
            problems += 1
            continue
        nf = sum(1 for p in c["pkts"] if p.is_orig)
        nb = len(c["pkts"]) - nf
        if (nf, nb) != (c["orig_pkts"], c["resp_pkts"]):
            problems += 1
            print("%s: oracle counted %d/%d packets, conn.log orig_pkts/resp_pkts %d/%d"
                  % (u, nf, nb, c["orig_pkts"], c["resp_pkts"]))
            continue
        want = features(c)
        extra = set(got) - set(want) - {"uid"}
        for k in sorted(extra):
            print("%s: unexpected field %s" % (u, k))
            problems += 1
        bad = []
        for k, w in want.items():
            fields += 1
            g = got.get(k)
            if not same(w, g):
                bad.append((k, w, g))
        if bad:
            problems += 1
            shown = bad if a.v else bad[:5]
            print("%s: %d field(s) differ: %s" % (u, len(bad), "; ".join("%s want %r got %r" % b for b in shown)))
    print("oracle: %s: %d connections, %d fields compared, %d packets without a connection, %d problem(s)"
          % (a.pcap, len(conns), fields, unmatched, problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
