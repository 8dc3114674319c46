#!/usr/bin/env python3
"""Generate pcaps/dns.pcap and its expected dns.log (pcaps/dns.dns.json).

Python 3 standard library only; deterministic. Reuses the packet builders and
the uid algorithm of gen.py. The expected dns.log rows are written by hand
here from Zeek's rules (scripts/base/protocols/dns/main.zeek and
src/analyzer/protocol/dns/DNS.cc), one Zeek JSON object per line; the test
(tests/dns_log.rs) compares them as a set with what connscope writes with
default settings.

Scenarios (client 10.0.0.21, resolver 10.0.0.53; times after 2024-01-01):
  A  UDP A query, reply with a CNAME and two A records (name compression,
     an NS in the authority section and an OPT record, neither logged)
  B  UDP AAAA query answered NXDOMAIN with only an SOA in authority
  C  UDP query never answered (logged when the connection is removed)
  D  UDP PTR query for 93.184.216.34 and its answer
  E  TCP DNS: handshake, the 2-byte length and the query in separate
     segments, the TXT reply (two strings) in one, FIN exchange
  F  a REFUSED reply with no question and no query (rejected, logged at removal)
  G  mDNS: a multicast query and an unrelated multicast response
  H  TCP connections to 93.184.216.34:443 and from 10.0.0.30 (the mDNS
     responder), for conn.log's orig_name / resp_name

Usage: python3 pcaps/gen_dns.py   (writes into the directory of this file)
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402

CLI, RES = "10.0.0.21", "10.0.0.53"


def name(n):
    out = b""
    if n:
        for label in n.split("."):
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def header(tid, flags, qd, an, ns, ar):
    return struct.pack("!HHHHHH", tid, flags, qd, an, ns, ar)


def question(n, qtype, qclass=1):
    return name(n) + struct.pack("!HH", qtype, qclass)


def rr(owner, rtype, ttl, rdata, rclass=1):
    """owner: bytes already encoded (a name or a compression pointer)."""
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


PTR_Q = b"\xc0\x0c"  # pointer to the question name (offset 12)


def build():
    cap = gen.Capture("dns", "Passive DNS", "dns.log scenarios")

    def udp(t, src, sp, dst, dp, payload, fwd=True):
        gen.udp_send(cap, t, src, sp, dst, dp, 0, fwd=fwd, payload=payload)

    # A: A query with CNAME chain.
    q = header(0x1001, 0x0100, 1, 0, 0, 0) + question("Www.Example.COM", 1)
    udp(0, CLI, 40021, RES, 53, q)
    body = question("www.example.com", 1)
    cname_target = name("edge.example.net")  # at offset 12 + 21 + 12 = 45
    a = (header(0x1001, 0x8180, 1, 3, 1, 1) + body
         + rr(PTR_Q, 5, 3600, cname_target)
         + rr(b"\xc0\x2d", 1, 300, bytes([93, 184, 216, 34]))
         + rr(b"\xc0\x2d", 1, 300, bytes([93, 184, 216, 35]))
         + rr(b"\xc0\x32", 2, 3600, name("ns1.example.net"))
         + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0))
    udp(12_000, RES, 53, CLI, 40021, a, fwd=False)

    # B: AAAA, NXDOMAIN, SOA in authority only.
    q = header(0x1002, 0x0100, 1, 0, 0, 0) + question("nothing.example.com", 28)
    udp(20_000, CLI, 40022, RES, 53, q)
    soa = name("ns1.example.com") + name("admin.example.com") + struct.pack("!IIIII", 1, 2, 3, 4, 5)
    a = header(0x1002, 0x8183, 1, 0, 1, 0) + question("nothing.example.com", 28) + rr(b"\xc0\x14", 6, 900, soa)
    udp(25_000, RES, 53, CLI, 40022, a, fwd=False)

    # C: never answered.
    udp(30_000, CLI, 40023, RES, 53, header(0x1003, 0x0100, 1, 0, 0, 0) + question("lost.example.org", 1))

    # D: PTR.
    rev = "34.216.184.93.in-addr.arpa"
    udp(40_000, CLI, 40024, RES, 53, header(0x1004, 0x0100, 1, 0, 0, 0) + question(rev, 12))
    a = header(0x1004, 0x8180, 1, 1, 0, 0) + question(rev, 12) + rr(PTR_Q, 12, 86400, name("www.example.com"))
    udp(41_000, RES, 53, CLI, 40024, a, fwd=False)

    # E: TCP DNS, TXT with two strings.
    f = gen.TcpFlow(cap, CLI, 40025, RES, 53, 1000, 5000)
    f.c(50_000, "S")
    f.s(50_100, "SA")
    f.c(50_200, "A")
    q = header(0x1005, 0x0100, 1, 0, 0, 0) + question("txt.example.com", 16)
    f.c(50_300, "PA", payload=struct.pack("!H", len(q)))
    f.c(50_400, "PA", payload=q)
    f.s(50_500, "A")
    txt = b"\x0bv=spf1 -all\x0bhello world"
    a = header(0x1005, 0x8580, 1, 1, 0, 0) + question("txt.example.com", 16) + rr(PTR_Q, 16, 60, txt)
    f.s(51_000, "PA", payload=struct.pack("!H", len(a)) + a)
    f.c(51_100, "A")
    f.c(52_000, "FA")
    f.s(52_100, "FA")
    f.c(52_200, "A")

    # F: REFUSED, no question, no query seen.
    udp(60_000, RES, 53, "10.0.0.22", 40026, header(0x1006, 0x8005, 0, 0, 0, 0), fwd=False)

    # G: mDNS query, and an unrelated response from another host.
    udp(70_000, CLI, 5353, "224.0.0.251", 5353, header(0, 0, 1, 0, 0, 0) + question("printer.local", 1))
    resp = header(0, 0x8400, 0, 1, 0, 0) + rr(name("printer.local"), 1, 120, bytes([10, 0, 0, 30]), rclass=0x8001)
    udp(70_500, "10.0.0.30", 5353, "224.0.0.251", 5353, resp)

    # H: connections that get names.
    f = gen.TcpFlow(cap, CLI, 40100, "93.184.216.34", 443, 7000, 9000)
    f.c(100_000, "S")
    f.s(100_100, "SA")
    f.c(100_200, "A")
    f.c(100_300, "PA", n=50)
    f.s(100_400, "PA", n=80)
    f.c(100_500, "FA")
    f.s(100_600, "FA")
    f.c(100_700, "A")
    f = gen.TcpFlow(cap, "10.0.0.30", 40200, "93.184.216.35", 443, 11000, 13000)
    f.c(110_000, "S")
    f.s(110_100, "SA")
    f.c(110_200, "A")
    f.c(110_300, "FA")
    f.s(110_400, "FA")
    f.c(110_500, "A")
    return cap


def t(us):
    return gen.T0 + us


def rec(ts_us, orig, resp, proto, tid, fields):
    """A dns.log row in Zeek's JSON field order (unset fields omitted)."""
    oh, op = orig
    rh, rp = resp
    uid_ts = fields.pop("_uid_ts", ts_us)
    out = [("ts", gen.zeek_double(t(ts_us))),
           ("uid", gen.make_uid(oh, op, rh, rp, 6 if proto == "tcp" else 17, t(uid_ts) * 1000)),
           ("id.orig_h", oh), ("id.orig_p", op), ("id.resp_h", rh), ("id.resp_p", rp),
           ("proto", proto), ("trans_id", tid)]
    if "answered" in fields:
        out.append(("rtt", gen.zeek_double(t(fields["answered"])) - gen.zeek_double(t(ts_us))))
    for k in ("query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name"):
        if k in fields:
            out.append((k, fields[k]))
    for k in ("AA", "TC", "RD", "RA"):
        out.append((k, fields.get(k, False)))
    out.append(("Z", 0))
    if "answers" in fields:
        out.append(("answers", [a for a, _ in fields["answers"]]))
        out.append(("TTLs", [float(ttl) for _, ttl in fields["answers"]]))
    out.append(("rejected", fields.get("rejected", False)))
    out.append(("opcode", 0))
    out.append(("opcode_name", "query"))
    return out


def dump(kv):
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return gen.fmt_double(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, list):
            return "[" + ",".join(val(x) for x in v) + "]"
        return '"' + v + '"'
    return "{" + ",".join('"%s":%s' % (k, val(v)) for k, v in kv) + "}"


def expected():
    A = {"qclass": 1, "qclass_name": "C_INTERNET"}
    rows = [
        # A: the question is lower-cased; the CNAME and both addresses are answers.
        rec(0, (CLI, 40021), (RES, 53), "udp", 0x1001, dict(
            A, answered=12_000, query="www.example.com", qtype=1, qtype_name="A",
            rcode=0, rcode_name="NOERROR", RD=True, RA=True,
            answers=[("edge.example.net", 3600), ("93.184.216.34", 300), ("93.184.216.35", 300)])),
        # B: no answer record, so AA/RA stay F and rtt unset; not rejected (an SOA came).
        rec(20_000, (CLI, 40022), (RES, 53), "udp", 0x1002, dict(
            A, query="nothing.example.com", qtype=28, qtype_name="AAAA",
            rcode=3, rcode_name="NXDOMAIN", RD=True)),
        # C: the unanswered query.
        rec(30_000, (CLI, 40023), (RES, 53), "udp", 0x1003, dict(
            A, query="lost.example.org", qtype=1, qtype_name="A", RD=True)),
        # D: PTR.
        rec(40_000, (CLI, 40024), (RES, 53), "udp", 0x1004, dict(
            A, answered=41_000, query="34.216.184.93.in-addr.arpa", qtype=12, qtype_name="PTR",
            rcode=0, rcode_name="NOERROR", RD=True, RA=True, answers=[("www.example.com", 86400)])),
        # E: TCP; ts is when the query message was complete; AA from the reply.
        rec(50_400, (CLI, 40025), (RES, 53), "tcp", 0x1005, dict(
            A, _uid_ts=50_000, answered=51_000, query="txt.example.com", qtype=16, qtype_name="TXT",
            rcode=0, rcode_name="NOERROR", AA=True, RD=True, RA=True,
            answers=[("TXT 11 v=spf1 -all TXT 11 hello world", 60)])),
        # F: the connection is flipped (53 is a likely server port); rcode != 0
        # and no question: rejected.
        rec(60_000, ("10.0.0.22", 40026), (RES, 53), "udp", 0x1006, dict(
            rcode=5, rcode_name="REFUSED", rejected=True)),
        # G: multicast: each message is its own row, logged at once.
        rec(70_000, (CLI, 5353), ("224.0.0.251", 5353), "udp", 0, dict(
            A, query="printer.local", qtype=1, qtype_name="A")),
        rec(70_500, ("10.0.0.30", 5353), ("224.0.0.251", 5353), "udp", 0, dict(
            query="printer.local", rcode=0, rcode_name="NOERROR", AA=True,
            answers=[("10.0.0.30", 120)])),
    ]
    return [dump(r) for r in rows]


def main():
    cap = build()
    with open(os.path.join(HERE, "dns.pcap"), "wb") as fh:
        fh.write(cap.pcap_bytes())
    lines = expected()
    with open(os.path.join(HERE, "dns.dns.json"), "w") as fh:
        fh.write("".join(line + "\n" for line in lines))
    print("dns          %3d frames %2d dns.log rows" % (len(cap.frames), len(lines)))


if __name__ == "__main__":
    sys.exit(main())
