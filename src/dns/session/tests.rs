//! Pairing of queries and replies (`main.zeek`) on hand-written messages.

use super::*;

const Q: u16 = 0x0100; // RD
const R: u16 = 0x8180; // QR, RD, RA

/// A message: id, flags, one question `name`/A/IN, and A answers.
fn dns(id: u16, flags: u16, name: &str, answers: &[[u8; 4]]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    for l in name.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    for a in answers {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(a);
    }
    m
}

fn ctx(resp: [u8; 4], tcp: bool) -> ConnCtx {
    ConnCtx {
        uid: Uid::from_words(b'C', 7, 9),
        id: (Addr::v4([10, 0, 0, 1]), 40000, Addr::v4(resp), 53),
        tcp,
    }
}

const SERVER: [u8; 4] = [10, 0, 0, 53];

struct Run {
    s: Session,
    cfg: DnsConfig,
    c: ConnCtx,
    out: Vec<DnsOut>,
}

impl Run {
    fn new(c: ConnCtx) -> Run {
        Run {
            s: Session::default(),
            cfg: DnsConfig {
                names: true,
                ..DnsConfig::default()
            },
            c,
            out: Vec::new(),
        }
    }
    /// A message at `t` ms from the client (`from_client`) or the server.
    fn msg(&mut self, t: i64, from_client: bool, m: &[u8]) {
        let sender = if from_client {
            (self.c.id.0, self.c.id.1)
        } else {
            (self.c.id.2, self.c.id.3)
        };
        let data = if self.c.tcp {
            let mut d = (m.len() as u16).to_be_bytes().to_vec();
            d.extend_from_slice(m);
            d
        } else {
            m.to_vec()
        };
        let out = &mut self.out;
        self.s.payload(
            &self.cfg,
            &self.c,
            Ts(t * 1_000_000),
            sender,
            &data,
            &mut |o| out.push(o),
        );
    }
    fn finish(self) -> Vec<DnsOut> {
        let mut out = self.out;
        self.s.finish(&mut |o| out.push(o));
        out
    }
}

fn records(v: &[DnsOut]) -> Vec<&DnsRecord> {
    v.iter()
        .filter_map(|o| match o {
            DnsOut::Record(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn answers(r: &DnsRecord) -> Vec<String> {
    r.answers
        .iter()
        .map(|(s, _)| String::from_utf8_lossy(r.bytes(*s)).into_owned())
        .collect()
}

#[test]
fn query_then_reply_is_one_row_with_rtt() {
    let mut r = Run::new(ctx(SERVER, false));
    r.msg(1000, true, &dns(7, Q, "WWW.Example.com", &[]));
    assert!(r.out.is_empty());
    r.msg(
        1012,
        false,
        &dns(7, R, "www.example.com", &[[93, 184, 216, 34]]),
    );
    let out = r.finish();
    let recs = records(&out);
    assert_eq!(recs.len(), 1);
    let x = recs[0];
    assert_eq!(x.ts, Ts(1_000_000_000));
    assert_eq!(x.answered, Some(Ts(1_012_000_000)));
    assert_eq!(x.query_bytes(), Some(&b"www.example.com"[..]));
    assert_eq!(
        (x.qtype, x.qclass, x.rcode, x.rd, x.ra, x.aa),
        (Some(1), Some(1), Some(0), true, true, false)
    );
    assert_eq!(answers(x), ["93.184.216.34"]);
    assert_eq!(x.answers[0].1, 60);
    // The names seen in the reply: the question's name for its address.
    let names: Vec<&NameBatch> = out
        .iter()
        .filter_map(|o| match o {
            DnsOut::Names(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].pairs[0].0, Addr::v4([93, 184, 216, 34]));
    assert_eq!(names[0].name(names[0].pairs[0].1), b"www.example.com");
}

#[test]
fn reply_first_then_query_pairs_without_rtt() {
    let mut r = Run::new(ctx(SERVER, false));
    r.msg(5, false, &dns(9, R, "a.example", &[[1, 2, 3, 4]]));
    r.msg(6, true, &dns(9, Q, "a.example", &[]));
    let out = r.finish();
    let recs = records(&out);
    assert_eq!(recs.len(), 1);
    // ts is the reply's; the answer came at ts, so rtt is unset.
    assert_eq!((recs[0].ts, recs[0].answered), (Ts(5_000_000), None));
    assert_eq!(recs[0].qtype, Some(1));
}

#[test]
fn unmatched_queries_and_replies_are_logged_at_removal() {
    let mut r = Run::new(ctx(SERVER, false));
    r.msg(1, true, &dns(1, Q, "one.example", &[]));
    r.msg(2, true, &dns(2, Q, "two.example", &[]));
    r.msg(3, true, &dns(2, Q, "two-again.example", &[]));
    r.msg(4, false, &dns(5, R, "five.example", &[]));
    // Reply to id 2 pairs with the first query of id 2 (FIFO per id).
    r.msg(5, false, &dns(2, R, "two.example", &[[2, 2, 2, 2]]));
    assert_eq!(records(&r.out).len(), 1);
    assert_eq!(records(&r.out)[0].query_bytes(), Some(&b"two.example"[..]));
    let out = r.finish();
    let mut q: Vec<String> = records(&out)
        .iter()
        .map(|x| String::from_utf8_lossy(x.query_bytes().unwrap_or(b"-")).into_owned())
        .collect();
    q.sort();
    // A reply without answers never names its query (dns_query_reply has no
    // handler): that row's query is unset.
    assert_eq!(q, ["-", "one.example", "two-again.example", "two.example"]);
}

#[test]
fn multicast_messages_are_never_paired() {
    let mut r = Run::new(ctx([224, 0, 0, 251], false));
    r.msg(1, true, &dns(0, 0, "host.local", &[]));
    r.msg(2, true, &dns(0, 0x8400, "other.local", &[[192, 168, 0, 2]]));
    let recs = records(&r.out);
    assert_eq!(recs.len(), 2, "each message is logged at once");
    assert_eq!(recs[0].rcode, None);
    assert_eq!(
        (recs[1].rcode, recs[1].aa, recs[1].qtype),
        (Some(0), true, None)
    );
    assert!(records(&r.finish()).len() == 2);
}

#[test]
fn pending_limits_log_and_forget_like_zeek() {
    let mut r = Run::new(ctx(SERVER, false));
    // The first query takes the fast path; 51 more distinct ids fill the
    // table; the next new id logs the 51 waiting in the table first.
    for id in 0..53u16 {
        r.msg(i64::from(id), true, &dns(id, Q, "q.example", &[]));
    }
    assert_eq!(records(&r.out).len(), 51);
    // 52 queries for one id: the queue holds 51, then gives up on them.
    let mut r = Run::new(ctx(SERVER, false));
    r.msg(0, true, &dns(1000, Q, "first.example", &[]));
    for k in 0..53 {
        r.msg(1 + k, true, &dns(7, Q, "same.example", &[]));
    }
    assert_eq!(records(&r.out).len(), 51);
    assert_eq!(records(&r.finish()).len(), 54);
}

#[test]
fn tcp_messages_split_and_joined_across_segments() {
    let c = ctx(SERVER, true);
    let q = dns(3, Q, "tcp.example", &[]);
    let a = dns(3, R, "tcp.example", &[[9, 9, 9, 9]]);
    let mut client = (q.len() as u16).to_be_bytes().to_vec();
    client.extend_from_slice(&q);
    let mut server = (a.len() as u16).to_be_bytes().to_vec();
    server.extend_from_slice(&a);
    // Every split point of both streams gives the same single row.
    for cut in 0..server.len() {
        let mut s = Session::default();
        let mut out = Vec::new();
        let cfg = DnsConfig::default();
        let cl = (c.id.0, c.id.1);
        let sv = (c.id.2, c.id.3);
        let mut emit = |o| out.push(o);
        s.payload(
            &cfg,
            &c,
            Ts(1),
            cl,
            &client[..cut.min(client.len())],
            &mut emit,
        );
        s.payload(&cfg, &c, Ts(2), sv, &server[..cut], &mut emit);
        s.payload(
            &cfg,
            &c,
            Ts(3),
            cl,
            &client[cut.min(client.len())..],
            &mut emit,
        );
        s.payload(&cfg, &c, Ts(4), sv, &server[cut..], &mut emit);
        s.finish(&mut emit);
        let recs = records(&out);
        assert_eq!(recs.len(), 1, "cut {cut}");
        assert!(recs[0].tcp);
        assert_eq!(answers(recs[0]), ["9.9.9.9"], "cut {cut}");
    }
    // Two messages in one segment.
    let mut r = Run::new(c);
    let mut both = client.clone();
    both.extend_from_slice(&client);
    let out = &mut r.out;
    r.s.payload(&r.cfg, &r.c, Ts(1), (c.id.0, c.id.1), &both, &mut |o| {
        out.push(o)
    });
    assert_eq!(records(&r.finish()).len(), 2);
}

#[test]
fn too_many_questions_stop_the_analyzer() {
    let mut r = Run::new(ctx(SERVER, false));
    let mut m = dns(1, Q, "x.example", &[]);
    m[4..6].copy_from_slice(&26u16.to_be_bytes());
    r.msg(1, true, &m);
    // The message still made a (question-less) record; later ones are ignored.
    r.msg(2, true, &dns(2, Q, "y.example", &[]));
    let out = r.finish();
    let recs = records(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!((recs[0].trans_id, recs[0].query), (1, None));
}

#[test]
fn netbios_names_are_decoded() {
    let mut out = [0u8; 16];
    // "FEEIEFCAEOEFFEECEJEPFDCAEOEBENEF" is "THE NETBIOS NAM" + 'E' (the type byte).
    let n = decode_netbios_name(b"feeiefcaeoeffeecejepfdcaeoebenef", &mut out);
    assert_eq!(&out[..n], b"THE NETBIOS NAM");
    assert_eq!(decode_netbios_name(b"short", &mut out), 0);
    // Only spaces: nothing.
    assert_eq!(decode_netbios_name(&[b'C', b'A'].repeat(16), &mut out), 0);
}

#[test]
fn reverse_names() {
    assert_eq!(
        reverse_addr(b"4.3.2.1.in-addr.arpa"),
        Some(Addr::v4([1, 2, 3, 4]))
    );
    assert_eq!(reverse_addr(b"4.3.2.in-addr.arpa"), None);
    assert_eq!(reverse_addr(b"256.3.2.1.in-addr.arpa"), None);
    let v6 = b"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa";
    let want: std::net::Ipv6Addr = "4321:0:1:2:3:4:567:89ab".parse().unwrap();
    assert_eq!(reverse_addr(v6), Some(Addr(want.octets())));
}

#[test]
fn random_message_sequences_never_panic() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..300 {
        let tcp = round % 3 == 0;
        let resp = if round % 7 == 0 {
            [224, 0, 0, 251]
        } else {
            SERVER
        };
        let mut c = ctx(resp, tcp);
        if round % 5 == 0 {
            c.id.3 = 137;
        }
        let mut r = Run::new(c);
        r.cfg.auth_addl = round % 2 == 0;
        r.cfg.original_query = true;
        for k in 0..40 {
            let id = (next() % 4) as u16;
            let flags = (next() & 0xffff) as u16;
            let n = (next() % 3) as usize;
            let mut m = dns(id, flags, "r.example", &vec![[1, 2, 3, 4]; n]);
            // Damage some bytes and counts.
            for _ in 0..(next() % 4) {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            if next() % 4 == 0 {
                let cut = (next() as usize) % m.len();
                m.truncate(cut);
            }
            r.msg(k, next() % 2 == 0, &m);
        }
        let _ = r.finish();
    }
}
