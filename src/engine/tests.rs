//! Engine tests: timers, periodic rows and hostile input, on hand-built frames.

use super::*;
use crate::capture::linktype;
use proptest::prelude::*;

#[derive(Default)]
struct Collect {
    conns: Vec<ConnRecord>,
    weirds: usize,
}

impl RecordSink for Collect {
    fn conn(&mut self, rec: ConnRecord) {
        self.conns.push(rec);
    }
    fn weird(&mut self, _w: WeirdRecord) {
        self.weirds += 1;
    }
}

const LINKTYPES: [u32; 13] = [
    linktype::ETHERNET,
    linktype::RAW,
    linktype::NULL,
    linktype::PPP,
    linktype::FDDI,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::IEEE802_11_RADIOTAP,
    linktype::IPV4,
    linktype::IPV6,
    linktype::NFLOG,
    linktype::NFLOG_BE,
    9999,
];

const T0: i64 = 1_704_067_200 * crate::time::SEC;
const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [93, 184, 216, 34];

fn udp_frame(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(src, dst, 64)
        .udp(sp, dp);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).unwrap();
    v
}

/// A TCP segment; `flags` uses the SYN/ACK/FIN/RST bits of `tcp_flags`.
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    use crate::decode::ip::tcp_flags as F;
    let mut b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(src, dst, 64)
        .tcp(sp, dp, seq, 65535);
    if flags & F::SYN != 0 {
        b = b.syn();
    }
    if flags & F::ACK != 0 {
        b = b.ack(ack);
    }
    if flags & F::FIN != 0 {
        b = b.fin();
    }
    if flags & F::RST != 0 {
        b = b.rst();
    }
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).unwrap();
    v
}

fn run(frames: &[(i64, Vec<u8>)]) -> Vec<ConnRecord> {
    let mut e = Engine::new(EngineConfig::default(), Collect::default());
    for (t, f) in frames {
        e.process(&Packet {
            ts: Ts(T0 + t),
            wire_len: f.len() as u32,
            linktype: linktype::ETHERNET,
            data: f,
        });
    }
    e.finish();
    e.into_sink().conns
}

const MS: i64 = 1_000_000;

#[test]
fn memory_caps_split_the_budget() {
    let c = memory_caps(128, 1, false).unwrap();
    eprintln!("caps {c:?} stats {}", conn_bytes(true));
    assert!(c.conn_bytes > 1024 && c.conn_bytes < 4096);
    assert_eq!(c.frag_bytes, (112 << 20) / 8);
    assert!(c.max_conns as u64 * c.conn_bytes + c.frag_bytes as u64 <= 112 << 20);
    let two = memory_caps(128, 2, false).unwrap();
    assert!(two.max_conns < c.max_conns / 2);
    assert!(memory_caps(8, 1, false).is_err());
    let mut cfg = EngineConfig {
        max_conns: 10,
        ..EngineConfig::default()
    };
    cfg.apply_caps(&c);
    assert_eq!(cfg.max_conns, 10);
    assert_eq!(cfg.frag.max_bytes, c.frag_bytes);
}

#[test]
fn udp_inactivity_boundary_is_inclusive() {
    let s = crate::time::SEC;
    let recs = run(&[
        (0, udp_frame(A, B, 40000, 4200, b"a")),
        (60 * s - 1, udp_frame(A, B, 40000, 4200, b"b")), // 59.999999999 s later: same connection
        (120 * s - 1, udp_frame(A, B, 40000, 4200, b"c")), // exactly 60 s after the last: a new one
    ]);
    assert_eq!(recs.len(), 2);
    assert_eq!((recs[0].conn.orig_pkts, recs[1].conn.orig_pkts), (2, 1));
    assert_eq!(recs[0].conn.conn_state(), "S0");
    assert_eq!(recs[1].conn.start, Ts(T0 + 120 * s - 1));
}

#[test]
fn tcp_attempt_timer_ends_unanswered_syn_after_5s() {
    use crate::decode::ip::tcp_flags as F;
    let s = crate::time::SEC;
    let recs = run(&[
        (0, tcp_frame(A, B, 40000, 4100, 1000, 0, F::SYN, b"")),
        (3 * s, tcp_frame(A, B, 40000, 4100, 1000, 0, F::SYN, b"")), // retransmission: same connection
        (9 * s, tcp_frame(A, B, 40000, 4100, 1000, 0, F::SYN, b"")), // attempt timer fired at 5 s
    ]);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].conn.conn_state(), "S0");
    assert_eq!(recs[0].conn.history.as_bytes(), b"S");
    assert_eq!(recs[0].conn.orig_pkts, 2);
    assert_eq!(recs[1].conn.orig_pkts, 1);
}

#[test]
fn closed_connection_removed_after_close_delay_and_reused_by_new_syn() {
    use crate::decode::ip::tcp_flags as F;
    let s = crate::time::SEC;
    let (c, sv) = (40000, 4100);
    let recs = run(&[
        (0, tcp_frame(A, B, c, sv, 100, 0, F::SYN, b"")),
        (MS, tcp_frame(B, A, sv, c, 500, 101, F::SYN | F::ACK, b"")),
        (2 * MS, tcp_frame(A, B, c, sv, 101, 501, F::ACK, b"")),
        (3 * MS, tcp_frame(A, B, c, sv, 101, 501, F::ACK, b"hello")),
        (
            4 * MS,
            tcp_frame(B, A, sv, c, 501, 106, F::ACK | F::FIN, b""),
        ),
        (
            5 * MS,
            tcp_frame(A, B, c, sv, 106, 502, F::ACK | F::FIN, b""),
        ),
        (6 * MS, tcp_frame(B, A, sv, c, 502, 107, F::ACK, b"")), // trailing ACK: not in duration
        // A new SYN on the closed connection starts a new one (reuse).
        (s, tcp_frame(A, B, c, sv, 9000, 0, F::SYN, b"")),
    ]);
    assert_eq!(recs.len(), 2);
    let r = &recs[0].conn;
    assert_eq!(r.conn_state(), "SF");
    // The responder's first pure ACK is the trailing one.
    assert_eq!(r.history.as_bytes(), b"ShADfFa");
    assert_eq!(r.sizes(), (5, 0));
    assert_eq!(r.last, Ts(T0 + 5 * MS));
    assert_eq!((r.orig_pkts, r.resp_pkts), (4, 3));
    assert_eq!(recs[1].conn.conn_state(), "S0");
}

#[test]
fn close_delay_removes_five_seconds_after_last_activity() {
    use crate::decode::ip::tcp_flags as F;
    let s = crate::time::SEC;
    let (c, sv) = (40000, 4100);
    let recs = run(&[
        (0, tcp_frame(A, B, c, sv, 100, 0, F::SYN, b"")),
        (MS, tcp_frame(B, A, sv, c, 500, 101, F::RST | F::ACK, b"")), // rejected
        (5 * s + MS - 1, udp_frame(A, B, 1, 2, b"x")),                // clock tick: not yet 5 s
        (5 * s + MS, tcp_frame(B, A, sv, c, 500, 101, F::ACK, b"")),  // exactly 5 s: removed first
    ]);
    let tcp: Vec<_> = recs
        .iter()
        .filter(|r| r.conn.transport == Transport::Tcp)
        .collect();
    assert_eq!(tcp.len(), 2);
    assert_eq!(tcp[0].conn.conn_state(), "REJ");
    assert_eq!(tcp[0].conn.history.as_bytes(), b"Sr");
    // A new connection whose first packet (an ACK) came from the old responder.
    assert_eq!(tcp[1].conn.history.as_bytes(), b"A");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn decode_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..200), lt in 0..LINKTYPES.len(), wire_extra in 0u32..64) {
        let mut e = Engine::new(EngineConfig::default(), Collect::default());
        let p = Packet { ts: Ts(1_000_000_000), wire_len: data.len() as u32 + wire_extra, linktype: LINKTYPES[lt], data: &data };
        e.process(&p);
        e.finish();
    }

    /// Valid-looking IPv4/IPv6 headers with random contents after them, to get past the first checks.
    #[test]
    fn decode_never_panics_on_ip_shaped_bytes(mut data in proptest::collection::vec(any::<u8>(), 20..120), v6 in any::<bool>(), proto in prop::sample::select(vec![1u8, 4, 6, 17, 41, 47, 58, 50, 132])) {
        if v6 {
            data.resize(data.len().max(48), 0);
            data[0] = 0x60;
            let plen = (data.len() - 40) as u16;
            data[4..6].copy_from_slice(&plen.to_be_bytes());
            data[6] = proto;
        } else {
            data[0] = 0x45;
            let tl = data.len() as u16;
            data[2..4].copy_from_slice(&tl.to_be_bytes());
            data[6] = 0;
            data[7] = 0;
            data[9] = proto;
        }
        let mut cfg = EngineConfig::default();
        cfg.conn.ignore_checksums = true;
        let mut e = Engine::new(cfg, Collect::default());
        let p = Packet { ts: Ts(1_000_000_000), wire_len: data.len() as u32, linktype: linktype::RAW, data: &data };
        e.process(&p);
        // Twice, so the second packet meets existing connection state.
        let p2 = Packet { ts: Ts(2_000_000_000), ..p };
        e.process(&p2);
        e.finish();
    }
}

/// Fuzzing (fuzz/ target `engine`, a 232-byte input): a packet stamped
/// at the end of representable time (a pcapng `if_tsoffset` can give
/// one) hung the engine: the next periodic row, saturating at
/// `i64::MAX`, was never after `now`. And a capture jumping years ahead
/// stepped through every missed interval one by one.
#[test]
fn periodic_rows_survive_time_at_the_end_and_huge_jumps() {
    let f = udp_frame(A, B, 40000, 4201, b"x");
    let mut cfg = EngineConfig {
        stats_interval: 1,
        capture_loss_interval: 1,
        interim_interval: 1,
        ..EngineConfig::default()
    };
    cfg.conn.flow_stats = true;
    let mut e = Engine::new(cfg, Collect::default());
    let start = std::time::Instant::now();
    // 4e9 s apart (the whole u32 range of pcap seconds), then the end of time.
    for ts in [
        0,
        4_000_000_000 * crate::time::SEC,
        i64::MAX - 5,
        i64::MAX,
        i64::MAX,
    ] {
        e.process(&Packet {
            ts: Ts(ts),
            wire_len: f.len() as u32,
            linktype: linktype::ETHERNET,
            data: &f,
        });
    }
    e.finish();
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // One connection per distant time (each earlier one timed out).
    assert_eq!(e.into_sink().conns.len(), 3);
    assert_eq!(
        Ts(0).next_after(Ts(299 * crate::time::SEC), 300),
        Ts(300 * crate::time::SEC)
    );
    assert_eq!(
        Ts(0).next_after(Ts(300 * crate::time::SEC), 300),
        Ts(600 * crate::time::SEC)
    );
    assert_eq!(Ts(i64::MAX - 1).next_after(Ts(i64::MAX), 1), NEVER);
}
