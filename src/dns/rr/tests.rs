//! Resource records on hand-written messages: what Zeek's parser consumes
//! and the answer text `main.zeek` writes.

use super::*;

/// A header (QR set, opcode `op`) followed by `body`.
fn msg(op: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x80 | (op << 3), 0, 0, 0, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(body);
    m
}

/// An RR: owner `\x03www\x07example\x03com\x00`, `t`, class IN, TTL 300, `rdata`.
fn rr_bytes(t: u16, rdata: &[u8]) -> Vec<u8> {
    let mut b = b"\x03www\x07Example\x03com\x00".to_vec();
    b.extend_from_slice(&t.to_be_bytes());
    b.extend_from_slice(&[0, 1, 0, 0, 1, 0x2c]);
    b.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    b.extend_from_slice(rdata);
    b
}

fn ctx(op: u8) -> MsgCtx {
    MsgCtx {
        hdr: Header {
            qr: true,
            opcode: op,
            ..Header::default()
        },
        netbios: false,
        update: op == 5,
        zclass: 1,
    }
}

/// Parses the record right after the header: (out, text, bytes consumed).
fn parse(m: &[u8], c: &MsgCtx, section: Section) -> (RrOut, String, usize, Rr) {
    let mut cur = Cursor::after_header(m);
    let mut rr = Rr::default();
    let mut text = Vec::new();
    let o = record(&mut cur, c, section, false, &mut rr, &mut text);
    (
        o,
        String::from_utf8_lossy(&text).into_owned(),
        cur.pos() - HEADER,
        rr,
    )
}

const HEADER: usize = 12;
const OWNER_AND_FIXED: usize = 17 + 10;

#[test]
fn a_and_aaaa_answers() {
    let m = msg(0, &rr_bytes(1, &[93, 184, 216, 34]));
    let (o, t, used, rr) = parse(&m, &ctx(0), Section::Answer);
    assert!(o.ok && o.reply);
    assert_eq!(t, "93.184.216.34");
    assert_eq!(o.addr, Some(Addr::v4([93, 184, 216, 34])));
    assert_eq!(used, OWNER_AND_FIXED + 4);
    assert_eq!(
        (rr.owner.as_bytes(), rr.ttl, rr.atype),
        (&b"www.example.com"[..], 300, 1)
    );
    // An A record whose RDLENGTH is not 4 stops parsing.
    let m = msg(0, &rr_bytes(1, &[1, 2, 3]));
    assert!(!parse(&m, &ctx(0), Section::Answer).0.ok);
    // AAAA in Zeek's text form; an IPv4-mapped one prints as IPv4, as Zeek's IPAddr does.
    let mut v6 = [0u8; 16];
    v6[0] = 0x20;
    v6[1] = 0x01;
    v6[2] = 0x0d;
    v6[3] = 0xb8;
    v6[15] = 1;
    let (_, t, used, _) = parse(&msg(0, &rr_bytes(28, &v6)), &ctx(0), Section::Answer);
    assert_eq!((t.as_str(), used), ("2001:db8::1", OWNER_AND_FIXED + 16));
    let mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7];
    let (_, t, _, _) = parse(&msg(0, &rr_bytes(28, &mapped)), &ctx(0), Section::Answer);
    assert_eq!(t, "192.0.2.7");
}

#[test]
fn compressed_cname_and_ptr_targets() {
    // CNAME "cdn" + pointer to offset 16 ("example.com").
    let m = msg(0, &rr_bytes(5, b"\x03CDN\xc0\x10"));
    let (o, t, used, _) = parse(&m, &ctx(0), Section::Answer);
    assert_eq!(
        (t.as_str(), used, o.ptr),
        ("cdn.example.com", OWNER_AND_FIXED + 6, false)
    );
    let m = msg(0, &rr_bytes(12, b"\x04host\xc0\x10"));
    let (o, t, _, _) = parse(&m, &ctx(0), Section::Answer);
    assert_eq!((t.as_str(), o.ptr), ("host.example.com", true));
}

#[test]
fn txt_strings_and_their_lengths() {
    let m = msg(0, &rr_bytes(16, b"\x03abc\x02d\t\x05xy"));
    // The second string is 2 bytes ("d\t"), then a length of 5 with 2 bytes
    // left: the strings so far are reported and parsing stops (Zeek returns
    // `rdlength == 0`).
    let (o, t, _, _) = parse(&m, &ctx(0), Section::Answer);
    assert_eq!(t, "TXT 3 abc TXT 2 d\t");
    assert!(o.reply && !o.ok);
    let m = msg(0, &rr_bytes(99, b"\x0bv=spf1 -all"));
    let (o, t, _, _) = parse(&m, &ctx(0), Section::Answer);
    assert_eq!((t.as_str(), o.ok), ("SPF 11 v=spf1 -all", true));
}

#[test]
fn dnssec_and_other_renderings() {
    // RRSIG covering A (1), algorithm 8, labels 2, signer root, 3 signature bytes.
    let mut r = vec![0, 1, 8, 2];
    r.extend_from_slice(&[0; 12]);
    r.extend_from_slice(&[0, 7, 0, 0xaa, 0xbb, 0xcc]);
    let (o, t, used, _) = parse(&msg(0, &rr_bytes(46, &r)), &ctx(0), Section::Answer);
    assert_eq!(
        (t.as_str(), used, o.ok),
        ("RRSIG 1 <Root>", OWNER_AND_FIXED + r.len(), true)
    );
    let (_, t, _, _) = parse(
        &msg(0, &rr_bytes(48, &[1, 1, 3, 5, 9, 9])),
        &ctx(0),
        Section::Answer,
    );
    assert_eq!(t, "DNSKEY 5");
    let (_, t, _, _) = parse(
        &msg(0, &rr_bytes(43, &[0, 1, 8, 2, 7])),
        &ctx(0),
        Section::Answer,
    );
    assert_eq!(t, "DS 8 2");
    let (_, t, _, _) = parse(
        &msg(0, &rr_bytes(44, &[1, 1, 0xde, 0xad, 0x0f])),
        &ctx(0),
        Section::Answer,
    );
    assert_eq!(t, "SSHFP: dead0f");
    let loc = [0, 0x12, 0x15, 0x13, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
    let (_, t, _, _) = parse(&msg(0, &rr_bytes(29, &loc)), &ctx(0), Section::Answer);
    assert_eq!(t, "LOC:  18 21 19");
    let (_, t, _, _) = parse(&msg(0, &rr_bytes(10, &[1, 2])), &ctx(0), Section::Answer);
    assert_eq!(t, "<unknown type=10>");
    // MX and SRV give their target names.
    let (_, t, _, _) = parse(
        &msg(0, &rr_bytes(15, b"\x00\x0a\x02mx\xc0\x10")),
        &ctx(0),
        Section::Answer,
    );
    assert_eq!(t, "mx.example.com");
    let srv = b"\x00\x01\x00\x02\x13\xc4\x03sip\xc0\x10";
    let (_, t, _, _) = parse(&msg(0, &rr_bytes(33, srv)), &ctx(0), Section::Answer);
    assert_eq!(t, "sip.example.com");
    // NAPTR: order, preference, flags, service, regexp/replacement.
    let naptr = b"\x00\x64\x00\x0a\x01u\x07E2U+sip\x00\x03sip\xc0\x10";
    let (o, t, _, _) = parse(&msg(0, &rr_bytes(35, naptr)), &ctx(0), Section::Answer);
    assert_eq!(
        (t.as_str(), o.ok),
        ("NAPTR 100 10 u E2U+sip sip.example.com", true)
    );
}

#[test]
fn zeek_quirks_in_what_is_consumed() {
    // WKS: reported with empty text, its RDATA is not consumed.
    let (o, t, used, _) = parse(
        &msg(0, &rr_bytes(11, &[1, 2, 3, 4, 6])),
        &ctx(0),
        Section::Answer,
    );
    assert_eq!((o.reply, t.as_str(), used), (true, "", OWNER_AND_FIXED));
    // SRV on NetBIOS (NBSTAT): nothing consumed, no event.
    let mut nb = ctx(0);
    nb.netbios = true;
    let (o, _, used, _) = parse(&msg(0, &rr_bytes(33, &[0; 6])), &nb, Section::Answer);
    assert_eq!((o.ok, o.reply, used), (true, false, OWNER_AND_FIXED));
    // HINFO and CAA have no handler: RDATA skipped.
    let (o, _, used, _) = parse(
        &msg(0, &rr_bytes(13, b"\x01a\x01b")),
        &ctx(0),
        Section::Answer,
    );
    assert_eq!((o.ok, o.reply, used), (true, false, OWNER_AND_FIXED + 4));
    // Zero RDLENGTH with bytes after it: parsing stops (DNS_zero_rdlength).
    let mut b = rr_bytes(1, &[]);
    b.push(0);
    assert!(!parse(&msg(0, &b), &ctx(0), Section::Answer).0.ok);
    // RDLENGTH past the message.
    let mut b = rr_bytes(1, &[1, 2, 3, 4]);
    b.truncate(b.len() - 1);
    assert!(!parse(&msg(0, &b), &ctx(0), Section::Answer).0.ok);
}

#[test]
fn skipped_events_still_consume_like_zeek() {
    // With skip_event (authority/additional when not logged), RRSIG's RDATA
    // is skipped whole and no text is made.
    let r = [0u8; 20];
    let m = msg(0, &rr_bytes(46, &r));
    let mut cur = Cursor::after_header(&m);
    let mut rr = Rr::default();
    let mut text = Vec::new();
    let o = record(
        &mut cur,
        &ctx(0),
        Section::Authority,
        true,
        &mut rr,
        &mut text,
    );
    assert_eq!(
        (o.ok, o.reply, cur.pos() - HEADER),
        (true, false, OWNER_AND_FIXED + 20)
    );
    assert!(text.is_empty());
}

/// An update RR with `class`, `ttl`, `rdata`.
fn upd(t: u16, class: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut b = b"\x05NWin2\x09StratoLab\x03org\x00".to_vec();
    b.extend_from_slice(&t.to_be_bytes());
    b.extend_from_slice(&class.to_be_bytes());
    b.extend_from_slice(&ttl.to_be_bytes());
    b.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    b.extend_from_slice(rdata);
    b
}

#[test]
fn dynamic_update_prerequisites_and_updates() {
    let u = ctx(5);
    let pre = |t, c| parse(&msg(5, &upd(t, c, 0, &[])), &u, Section::Prerequisite).1;
    assert_eq!(pre(5, 254), "pre: NoRRSet CNAME nwin2.stratolab.org");
    assert_eq!(pre(255, 254), "pre: NameNotInUse nwin2.stratolab.org");
    assert_eq!(pre(255, 255), "pre: NameInUse nwin2.stratolab.org");
    assert_eq!(pre(1, 255), "pre: RRSetExists A nwin2.stratolab.org");
    let up = |t, c, ttl, rd: &[u8]| parse(&msg(5, &upd(t, c, ttl, rd)), &u, Section::Update);
    assert_eq!(up(28, 255, 0, &[]).1, "del: RRSet AAAA");
    assert_eq!(up(255, 255, 0, &[]).1, "del: RRSet * nwin2.stratolab.org");
    let (o, t, used, _) = up(1, 254, 0, &[10, 0, 0, 1]);
    assert_eq!((t.as_str(), o.ok), ("del: RR A nwin2.stratolab.org", true));
    assert_eq!(used, 21 + 10 + 4);
    // An addition is an ordinary record; A/AAAA name their owner (the
    // session adds the "add: " prefix).
    let (o, t, _, _) = up(1, 1, 1200, &[192, 168, 1, 106]);
    assert_eq!(
        (t.as_str(), o.addr.is_some()),
        ("A nwin2.stratolab.org 192.168.1.106", true)
    );
}

#[test]
fn questions_keep_their_case() {
    let m = msg(0, b"\x02Us\x03V27\x00\x00\x01\x00\x01");
    let mut cur = Cursor::after_header(&m);
    let mut n = Name::default();
    assert_eq!(question(&mut cur, &ctx(0), &mut n), Some((1, 1)));
    assert_eq!(n.as_bytes(), b"Us.V27");
    // Fewer than 4 bytes after the name: the question does not parse.
    let m = msg(0, b"\x02Us\x00\x00\x01\x00");
    let mut cur = Cursor::after_header(&m);
    assert_eq!(question(&mut cur, &ctx(0), &mut n), None);
}

#[test]
fn never_panics_on_arbitrary_records() {
    let mut x = 0x853c_49e6_748f_ea9bu64;
    let mut text = Vec::new();
    for len in 0..300usize {
        let mut m = vec![0u8; 12 + len];
        for b in m.iter_mut().skip(12) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = if x % 3 == 0 {
                (x >> 11) as u8 % 8
            } else {
                (x >> 19) as u8
            };
        }
        for op in [0u8, 5] {
            for section in [Section::Answer, Section::Update, Section::Additional] {
                let mut cur = Cursor::after_header(&m);
                let mut rr = Rr::default();
                let mut guard = 0;
                while !cur.is_empty() && guard < 64 {
                    let o = record(&mut cur, &ctx(op), section, false, &mut rr, &mut text);
                    guard += 1;
                    if !o.ok {
                        break;
                    }
                }
            }
        }
    }
}
