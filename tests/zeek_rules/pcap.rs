//! A small pcap writer and frame builders for the Zeek-rule tests: Ethernet
//! (with 802.1Q/QinQ tags or PPPoE), IPv4/IPv6, TCP and UDP with correct (or
//! deliberately wrong) checksums, and a TCP conversation helper that keeps
//! sequence numbers consistent.

use std::net::IpAddr;

/// Payloads in turn (client ones `true`).
pub type Talk<'a> = Vec<(bool, &'a [u8])>;

/// One whole conversation to `sport` per case (client port, payloads),
/// the `i`-th starting at `i` seconds: handshake, the payloads from 10 ms
/// on, then a FIN close.
pub fn conversations(cap: &mut Cap, sport: u16, cases: &[(u16, Talk<'_>)]) {
    for (i, (port, msgs)) in cases.iter().enumerate() {
        let mut t = conversation(cap, *port, sport);
        let base = i as u64 * 1000;
        t.handshake(base);
        let next = t.talk(base + 10, msgs);
        t.close(next);
    }
}

/// A TCP conversation from 10.0.0.1:`cport` to 10.0.0.2:`sport` over
/// Ethernet (initial sequence numbers 1000 and 5000).
pub fn conversation(cap: &mut Cap, cport: u16, sport: u16) -> Tcp<'_> {
    Tcp {
        cap,
        link: Link::Eth,
        c: Side {
            addr: a("10.0.0.1"),
            port: cport,
            seq: 1000,
        },
        s: Side {
            addr: a("10.0.0.2"),
            port: sport,
            seq: 5000,
        },
    }
}

/// An address from its text (a test's literal).
pub fn a(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Internet checksum of `data` added to `sum`.
fn ones(data: &[u8], mut sum: u32) -> u32 {
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u32::from(u16::from_be_bytes([c[0], c[1]]))
        } else {
            u32::from(c[0]) << 8
        };
        sum += w;
    }
    sum
}

fn fold(mut s: u32) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn pseudo(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let mut v = Vec::new();
    match (src, dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            v.extend_from_slice(&a.octets());
            v.extend_from_slice(&b.octets());
            v.extend_from_slice(&[0, proto]);
            v.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            v.extend_from_slice(&a.octets());
            v.extend_from_slice(&b.octets());
            v.extend_from_slice(&(len as u32).to_be_bytes());
            v.extend_from_slice(&[0, 0, 0, proto]);
        }
        _ => panic!("mixed address families"),
    }
    ones(&v, 0)
}

/// An IP packet (IPv4 with DF, TTL 64; IPv6 hop limit 64).
pub fn ip(src: IpAddr, dst: IpAddr, proto: u8, l4: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let total = 20 + l4.len();
            let mut h = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
            h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            h.extend_from_slice(&a.octets());
            h.extend_from_slice(&b.octets());
            let c = fold(ones(&h, 0));
            h[10..12].copy_from_slice(&c.to_be_bytes());
            h.extend_from_slice(l4);
            h
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            h.extend_from_slice(&[proto, 64]);
            h.extend_from_slice(&a.octets());
            h.extend_from_slice(&b.octets());
            h.extend_from_slice(l4);
            h
        }
        _ => panic!("mixed address families"),
    }
}

/// TCP flags.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// A TCP segment (20-byte header, window 64240) with a correct checksum.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: IpAddr,
    dst: IpAddr,
    sp: u16,
    dp: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sp.to_be_bytes());
    t.extend_from_slice(&dp.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let c = fold(ones(&t, pseudo(src, dst, 6, t.len())));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ip(src, dst, 6, &t)
}

/// How to fill a UDP checksum.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum UdpSum {
    /// The correct checksum.
    Good,
    /// Zero ("none", IPv4 only).
    Zero,
    /// The correct checksum plus one.
    Bad,
}

/// A UDP datagram in an IP packet.
pub fn udp(src: IpAddr, dst: IpAddr, sp: u16, dp: u16, payload: &[u8], sum: UdpSum) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut u = Vec::with_capacity(len);
    u.extend_from_slice(&sp.to_be_bytes());
    u.extend_from_slice(&dp.to_be_bytes());
    u.extend_from_slice(&(len as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let mut c = fold(ones(&u, pseudo(src, dst, 17, len)));
    if c == 0 {
        c = 0xffff;
    }
    let c = match sum {
        UdpSum::Good => c,
        UdpSum::Zero => 0,
        UdpSum::Bad => c.wrapping_add(1).max(1),
    };
    u[6..8].copy_from_slice(&c.to_be_bytes());
    ip(src, dst, 17, &u)
}

/// An ICMPv6 echo request (type 128) or reply (129).
pub fn icmp6_echo(
    src: IpAddr,
    dst: IpAddr,
    reply: bool,
    id: u16,
    seq: u16,
    data: &[u8],
) -> Vec<u8> {
    let mut m = vec![if reply { 129 } else { 128 }, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let c = fold(ones(&m, pseudo(src, dst, 58, m.len())));
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ip(src, dst, 58, &m)
}

/// An ICMPv6 message (type, code, then `body` after the checksum) with a
/// correct checksum, in an IPv6 packet.
pub fn icmp6(src: IpAddr, dst: IpAddr, icmp_type: u8, code: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![icmp_type, code, 0, 0];
    m.extend_from_slice(body);
    let c = fold(ones(&m, pseudo(src, dst, 58, m.len())));
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ip(src, dst, 58, &m)
}

/// Link framing of a frame.
#[derive(Clone, Copy)]
pub enum Link<'a> {
    /// Plain Ethernet.
    Eth,
    /// Ethernet with these 802.1Q/802.1ad tags (outer first).
    Vlans(&'a [(u16, u16)]),
    /// Ethernet + PPPoE session (0x8864) + PPP.
    Pppoe(u16),
}

/// An Ethernet frame around an IP packet.
pub fn frame(link: Link<'_>, ip_pkt: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa,
    ];
    let v6 = ip_pkt.first().is_some_and(|b| b >> 4 == 6);
    let et: u16 = if v6 { 0x86dd } else { 0x0800 };
    match link {
        Link::Eth => f.extend_from_slice(&et.to_be_bytes()),
        Link::Vlans(tags) => {
            for &(tpid, vid) in tags {
                f.extend_from_slice(&tpid.to_be_bytes());
                f.extend_from_slice(&vid.to_be_bytes());
            }
            f.extend_from_slice(&et.to_be_bytes());
        }
        Link::Pppoe(session) => {
            f.extend_from_slice(&0x8864u16.to_be_bytes());
            f.extend_from_slice(&[0x11, 0x00]);
            f.extend_from_slice(&session.to_be_bytes());
            f.extend_from_slice(&((ip_pkt.len() + 2) as u16).to_be_bytes());
            let proto: u16 = if v6 { 0x0057 } else { 0x0021 };
            f.extend_from_slice(&proto.to_be_bytes());
        }
    }
    f.extend_from_slice(ip_pkt);
    f
}

/// Frames with their time (microseconds since the epoch).
#[derive(Default)]
pub struct Cap {
    pub frames: Vec<(u64, Vec<u8>)>,
    /// Wire lengths of frames captured short (frame index, wire length).
    pub wire: Vec<(usize, u32)>,
}

/// 2024-01-01T00:00:00Z in microseconds.
pub const T0: u64 = 1_704_067_200_000_000;

impl Cap {
    /// Adds a frame at `t_ms` milliseconds after [`T0`].
    pub fn at(&mut self, t_ms: u64, frame: Vec<u8>) {
        self.frames.push((T0 + t_ms * 1000, frame));
    }

    /// Adds a frame captured short: `frame` holds the captured bytes, the
    /// record's wire length is `wire_len` (as a snaplen leaves it).
    pub fn at_cut(&mut self, t_ms: u64, frame: Vec<u8>, wire_len: u32) {
        self.wire.push((self.frames.len(), wire_len));
        self.at(t_ms, frame);
    }

    /// Classic pcap, microsecond timestamps, link type 1, in insertion order.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes_as(1)
    }

    /// Classic little-endian pcap of link type `linktype`, microsecond
    /// timestamps, in insertion order.
    pub fn bytes_as(&self, linktype: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&linktype.to_le_bytes());
        for (i, (t, f)) in self.frames.iter().enumerate() {
            let wire = self
                .wire
                .iter()
                .find(|(at, _)| *at == i)
                .map_or(f.len() as u32, |&(_, w)| w);
            out.extend_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&wire.to_le_bytes());
            out.extend_from_slice(f);
        }
        out
    }
}

/// One side of a TCP conversation.
#[derive(Clone, Copy)]
pub struct Side {
    pub addr: IpAddr,
    pub port: u16,
    pub seq: u32,
}

/// A TCP conversation between a client and a server; every segment
/// acknowledges all the peer sent.
pub struct Tcp<'a> {
    pub cap: &'a mut Cap,
    pub link: Link<'a>,
    pub c: Side,
    pub s: Side,
}

impl Tcp<'_> {
    /// Sends a segment from the client (`from_client`) or the server.
    pub fn send(&mut self, t_ms: u64, from_client: bool, flags: u8, payload: &[u8]) {
        let (a, b) = if from_client {
            (self.c, self.s)
        } else {
            (self.s, self.c)
        };
        let ack = if flags & ACK != 0 { b.seq } else { 0 };
        let pkt = tcp(a.addr, b.addr, a.port, b.port, a.seq, ack, flags, payload);
        let f = frame(self.link, &pkt);
        self.cap.at(t_ms, f);
        let adv = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        let me = if from_client {
            &mut self.c
        } else {
            &mut self.s
        };
        me.seq = me.seq.wrapping_add(adv);
    }

    /// The three-way handshake at `t_ms`, `t_ms + 1`, `t_ms + 2`.
    pub fn handshake(&mut self, t_ms: u64) {
        self.send(t_ms, true, SYN, &[]);
        self.send(t_ms + 1, false, SYN | ACK, &[]);
        self.send(t_ms + 2, true, ACK, &[]);
    }

    /// Each payload in turn (client ones `true`), 10 ms apart from `t_ms`,
    /// each acknowledged by the peer 1 ms later. Returns the next free time.
    pub fn talk(&mut self, mut t_ms: u64, msgs: &[(bool, &[u8])]) -> u64 {
        for &(client, m) in msgs {
            self.send(t_ms, client, ACK | PSH, m);
            self.send(t_ms + 1, !client, ACK, &[]);
            t_ms += 10;
        }
        t_ms
    }

    /// FIN from the client, FIN-ACK from the server, last ACK.
    pub fn close(&mut self, t_ms: u64) {
        self.send(t_ms, true, FIN | ACK, &[]);
        self.send(t_ms + 1, false, FIN | ACK, &[]);
        self.send(t_ms + 2, true, ACK, &[]);
    }
}

/// DER: `tag`, definite length, `content`.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

/// Concatenation.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }`.
pub fn principal(kind: u8, names: &[&str]) -> Vec<u8> {
    let strings: Vec<u8> = names.iter().flat_map(|n| der(0x1b, n.as_bytes())).collect();
    der(
        0x30,
        &cat(&[
            &der(0xa0, &der(0x02, &[kind])),
            &der(0xa1, &der(0x30, &strings)),
        ]),
    )
}

/// A Kerberos AS-REQ (RFC 4120 5.4.1) as `KRB_KDC_REQ` parses it.
pub fn krb_as_req() -> Vec<u8> {
    let body = der(
        0x30,
        &cat(&[
            &der(0xa0, &der(0x03, &[0x00, 0x50, 0x80, 0x00, 0x10])),
            &der(0xa1, &principal(1, &["alice"])),
            &der(0xa2, &der(0x1b, b"EXAMPLE.COM")),
            &der(0xa3, &principal(2, &["krbtgt", "EXAMPLE.COM"])),
            &der(0xa5, &der(0x18, b"20370913024805Z")),
            &der(0xa7, &der(0x02, &[0x12, 0x34, 0x56, 0x78])),
            &der(
                0xa8,
                &der(0x30, &cat(&[&der(0x02, &[18]), &der(0x02, &[17])])),
            ),
        ]),
    );
    let req = der(
        0x30,
        &cat(&[
            &der(0xa1, &der(0x02, &[5])),
            &der(0xa2, &der(0x02, &[10])),
            &der(0xa4, &body),
        ]),
    );
    der(0x6a, &req)
}

/// CRC-16/DNP (`DNP3_Base::CalcCRC`: polynomial 0x3D65 reflected, 0xA6BC;
/// init 0; complemented), written here independently of the parser's.
pub fn crc16_dnp(b: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &x in b {
        crc ^= u16::from(x);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xa6bc
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
