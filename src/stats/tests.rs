//! Hand-computed checks of every accumulator and the edge cases.

use super::flag::*;
use super::*;

const MS: i64 = 1_000_000;

/// A TCP packet: time (ms), side, flags, seq, payload, window; 20-byte IPv4
/// and 20-byte TCP headers unless changed.
fn tcp(ms: i64, orig: bool, flags: u8, seq: u32, payload: u32, window: u16) -> PacketObs {
    PacketObs {
        ts: Ts(1_700_000_000 * SEC + ms * MS),
        is_orig: orig,
        ip_len: 40 + payload,
        ip_hdr_len: 20,
        l4_hdr_len: 20,
        payload_len: payload,
        tcp: Some(TcpObs { flags, window, seq }),
        ttl: 64,
    }
}

fn udp(ms: i64, orig: bool, payload: u32) -> PacketObs {
    PacketObs {
        ts: Ts(1_700_000_000 * SEC + ms * MS),
        is_orig: orig,
        ip_len: 28 + payload,
        ip_hdr_len: 20,
        l4_hdr_len: 8,
        payload_len: payload,
        tcp: None,
        ttl: 64,
    }
}

fn t0(ms: i64) -> Ts {
    Ts(1_700_000_000 * SEC + ms * MS)
}

fn run(pkts: &[PacketObs]) -> FlowStats {
    let mut s = FlowStats::default();
    for p in pkts {
        s.observe(p);
    }
    s
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
}

/// A complete exchange: handshake, request, response, FIN/ACK close.
fn handshake_flow() -> Vec<PacketObs> {
    vec![
        tcp(0, true, SYN, 100, 0, 64240),         // SYN
        tcp(10, false, SYN | ACK, 500, 0, 65160), // SYN-ACK (10 ms)
        tcp(12, true, ACK, 101, 0, 502),          // ACK (2 ms)
        tcp(13, true, PSH | ACK, 101, 100, 502),  // request, 100 bytes
        tcp(30, false, ACK, 501, 0, 509),         // ack
        tcp(31, false, PSH | ACK, 501, 300, 509), // response, 300 bytes
        tcp(40, true, FIN | ACK, 201, 0, 501),    // FIN
        tcp(50, false, FIN | ACK, 801, 0, 508),   // FIN
        tcp(60, true, ACK, 202, 0, 500),          // last ACK
    ]
}

#[test]
fn counts_flags_headers_windows() {
    let s = run(&handshake_flow());
    let f = s.features(t0(0), t0(60));
    assert_eq!(f.duration_ns, 60 * MS);
    assert_eq!((f.fwd.pkts, f.bwd.pkts), (5, 4));
    assert_eq!((f.fwd.data_pkts, f.bwd.data_pkts), (1, 1));
    // Flags: one FIN per side (not ended at the first FIN), one SYN each.
    assert_eq!((f.fin, f.syn, f.rst, f.ack), (2, 2, 0, 8));
    assert_eq!(
        (f.fwd.psh, f.bwd.psh, f.fwd.urg, f.bwd.urg, f.ece, f.cwr),
        (1, 1, 0, 0, 0, 0)
    );
    assert_eq!((f.fwd.hdr_tot, f.fwd.hdr_min, f.fwd.hdr_max), (100, 20, 20));
    assert_eq!(f.bwd.hdr_tot, 80);
    assert_eq!((f.fwd.init_win, f.fwd.last_win), (64240, 500));
    assert_eq!((f.bwd.init_win, f.bwd.last_win), (65160, 508));
    assert_eq!((f.fwd.ttl_min, f.fwd.ttl_max), (64, 64));
    assert_eq!((f.fwd.retrans, f.bwd.retrans), (0, 0));
}

#[test]
fn rates_and_payload() {
    let f = run(&handshake_flow()).features(t0(0), t0(60));
    assert!(close(f.fwd.pkts_per_sec, 5.0 / 0.06));
    assert!(close(f.bwd.pkts_per_sec, 4.0 / 0.06));
    assert!(close(f.flow_pkts_per_sec, 9.0 / 0.06));
    assert_eq!(f.down_up_ratio, 0.8);
    // fwd payloads 0,0,100,0,0: mean 20, Σ(x−20)² = 4·400 + 6400 = 8000, var 2000.
    assert_eq!(
        (
            f.fwd.payload.min,
            f.fwd.payload.max,
            f.fwd.payload.tot,
            f.fwd.payload.avg
        ),
        (0.0, 100.0, 100.0, 20.0)
    );
    assert_eq!(f.fwd.payload.std, 2000f64.sqrt());
    // Flow payload: counted once per packet: total 400 over 9 packets.
    assert_eq!(f.flow_payload.tot, 400.0);
    assert!(close(f.flow_payload.avg, 400.0 / 9.0));
    assert!(close(f.payload_bytes_per_second, 400.0 / 0.06));
    // IP lengths fwd: 40,40,40,140,40,40? (5 packets: 40,40,140,40,40) mean 60.
    assert_eq!(
        (
            f.fwd.pkt_len.min,
            f.fwd.pkt_len.max,
            f.fwd.pkt_len.tot,
            f.fwd.pkt_len.avg
        ),
        (40.0, 140.0, 300.0, 60.0)
    );
    assert_eq!(f.fwd.pkt_len.std, 2000f64.sqrt());
}

#[test]
fn iat_and_handshake_rtt() {
    let f = run(&handshake_flow()).features(t0(0), t0(60));
    // Flow gaps (ms): 10,2,1,17,1,9,10,10 → total 60, mean 7.5.
    assert_eq!(f.flow_iat.min, 0.001);
    assert_eq!(f.flow_iat.max, 0.017);
    assert_eq!(f.flow_iat.tot, 0.06);
    assert_eq!(f.flow_iat.avg, 0.0075);
    // Σ(x−7.5)² = 6.25+30.25+42.25+90.25+42.25+2.25+6.25+6.25 = 226 ms²; var = 226/7.
    assert!(close(f.flow_iat.std, (226.0f64 / 7.0).sqrt() / 1000.0));
    // fwd times 0,12,13,40,60 → gaps 12,1,27,20; bwd 10,30,31,50 → 20,1,19.
    assert_eq!(
        (f.fwd.iat.min, f.fwd.iat.max, f.fwd.iat.tot),
        (0.001, 0.027, 0.06)
    );
    assert_eq!(
        (f.bwd.iat.min, f.bwd.iat.max, f.bwd.iat.tot, f.bwd.iat.avg),
        (0.001, 0.02, 0.04, 0.04 / 3.0)
    );
    assert_eq!(f.rtt_syn_synack, Some(0.01));
    assert_eq!(f.rtt_synack_ack, Some(0.002));
    // One active period (all gaps ≤ 5 s) of 60 ms, no idle; one subflow.
    assert_eq!(
        (f.active.min, f.active.tot, f.active.std),
        (0.06, 0.06, 0.0)
    );
    assert_eq!(f.idle, Summary::default());
    assert_eq!(f.subflows, 1);
    assert_eq!((f.fwd.subflow_pkts, f.bwd.subflow_bytes), (5.0, 300.0));
}

#[test]
fn handshake_retransmitted_syn_and_synack() {
    let s = run(&[
        tcp(0, true, SYN, 100, 0, 1),
        tcp(1000, true, SYN, 100, 0, 1), // SYN retransmitted: measure from here
        tcp(1030, false, SYN | ACK, 7, 0, 1), // 30 ms
        tcp(2030, false, SYN | ACK, 7, 0, 1), // SYN-ACK retransmitted
        tcp(2035, true, ACK, 101, 0, 1), // 5 ms after the latest SYN-ACK
        tcp(2040, false, SYN | ACK, 7, 0, 1), // late duplicate: ignored
    ]);
    let f = s.features(t0(0), t0(2040));
    assert!(close(f.rtt_syn_synack.unwrap(), 0.03));
    assert!(close(f.rtt_synack_ack.unwrap(), 0.005));
    assert_eq!(f.syn, 5);
}

#[test]
fn handshake_unset_cases() {
    // Midstream: no handshake at all.
    let f = run(&[tcp(0, true, ACK, 1, 10, 1), tcp(1, false, ACK, 1, 0, 1)]).features(t0(0), t0(1));
    assert_eq!((f.rtt_syn_synack, f.rtt_synack_ack), (None, None));
    // SYN answered by RST: no SYN-ACK.
    let f = run(&[
        tcp(0, true, SYN, 1, 0, 1),
        tcp(1, false, RST | ACK, 0, 0, 0),
    ])
    .features(t0(0), t0(1));
    assert_eq!((f.rtt_syn_synack, f.rtt_synack_ack), (None, None));
    assert_eq!(f.rst, 1);
    // SYN-ACK seen without its SYN: only the second half.
    let f = run(&[
        tcp(0, false, SYN | ACK, 1, 0, 1),
        tcp(3, true, ACK, 1, 0, 1),
    ])
    .features(t0(0), t0(3));
    assert_eq!(f.rtt_syn_synack, None);
    assert_eq!(f.rtt_synack_ack, Some(0.003));
    // An RST|ACK after the SYN-ACK does not complete the handshake.
    let f = run(&[
        tcp(0, true, SYN, 1, 0, 1),
        tcp(1, false, SYN | ACK, 9, 0, 1),
        tcp(2, true, RST | ACK, 2, 0, 0),
    ])
    .features(t0(0), t0(2));
    assert_eq!(f.rtt_syn_synack, Some(0.001));
    assert_eq!(f.rtt_synack_ack, None);
}

#[test]
fn retransmissions() {
    let s = run(&[
        tcp(0, true, SYN, 1000, 0, 1),
        tcp(1, false, SYN | ACK, 5000, 0, 1),
        tcp(2, true, ACK, 1001, 100, 1),      // new data 1001..1101
        tcp(3, true, ACK, 1001, 100, 1),      // full retransmission
        tcp(4, true, ACK, 1051, 50, 1),       // inside: retransmission
        tcp(5, true, ACK, 1051, 100, 1),      // extends to 1151: new data
        tcp(6, true, ACK, 1150, 1, 1),        // keep-alive-like: retransmission
        tcp(7, true, ACK, 1151, 0, 1),        // pure ACK: never a retransmission
        tcp(8, true, RST, 1001, 10, 1),       // RST: never
        tcp(9, false, ACK, 5001, 10, 1),      // other side new data
        tcp(10, true, FIN | ACK, 1151, 0, 1), // FIN
        tcp(11, true, FIN | ACK, 1151, 0, 1), // FIN again, no payload: not counted
    ]);
    let f = s.features(t0(0), t0(11));
    assert_eq!((f.fwd.retrans, f.bwd.retrans), (3, 0));
}

#[test]
fn retransmission_across_sequence_wrap() {
    let s = run(&[
        tcp(0, true, ACK, u32::MAX - 10, 20, 1), // ends at 9 after wrapping
        tcp(1, true, ACK, 9, 10, 1),             // new
        tcp(2, true, ACK, u32::MAX - 10, 20, 1), // old data again
    ]);
    assert_eq!(s.features(t0(0), t0(2)).fwd.retrans, 1);
}

#[test]
fn flip_swaps_everything() {
    // Observed with the wrong orientation, then flipped, must equal observed
    // with the right orientation.
    let right = handshake_flow();
    let wrong: Vec<PacketObs> = right
        .iter()
        .map(|p| PacketObs {
            is_orig: !p.is_orig,
            ..*p
        })
        .collect();
    let a = run(&right).features(t0(0), t0(60));
    let mut s = run(&wrong);
    s.flip();
    assert_eq!(s.features(t0(0), t0(60)), a);
    // A flip in the middle (after the SYN-ACK): the first three packets seen
    // reversed, the rest right.
    let mut s = FlowStats::default();
    for p in &wrong[..3] {
        s.observe(p);
    }
    s.flip();
    for p in &right[3..] {
        s.observe(p);
    }
    assert_eq!(s.features(t0(0), t0(60)), a);
    // Flipping twice is the identity.
    let mut s = run(&right);
    s.flip();
    s.flip();
    assert_eq!(s.features(t0(0), t0(60)), a);
}

#[test]
fn one_packet_flow() {
    let f = run(&[udp(0, true, 50)]).features(t0(0), t0(0));
    assert_eq!(f.duration_ns, 0);
    assert_eq!((f.fwd.pkts, f.bwd.pkts, f.fwd.data_pkts), (1, 0, 1));
    assert_eq!(
        (
            f.fwd.pkts_per_sec,
            f.flow_pkts_per_sec,
            f.payload_bytes_per_second
        ),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(f.down_up_ratio, 0.0);
    assert_eq!(
        f.fwd.payload,
        Summary {
            min: 50.0,
            max: 50.0,
            tot: 50.0,
            avg: 50.0,
            std: 0.0
        }
    );
    assert_eq!(f.bwd.payload, Summary::default());
    assert_eq!(f.fwd.iat, Summary::default());
    assert_eq!(f.flow_iat, Summary::default());
    assert_eq!(f.active, Summary::default());
    assert_eq!(f.subflows, 1);
    assert_eq!((f.fwd.subflow_pkts, f.fwd.subflow_bytes), (1.0, 50.0));
    assert_eq!((f.fwd.hdr_tot, f.fwd.hdr_min, f.fwd.hdr_max), (8, 8, 8));
    assert_eq!((f.bwd.hdr_min, f.bwd.ttl_min, f.bwd.init_win), (0, 0, 0));
    assert_eq!((f.fwd.pkt_len.min, f.fwd.pkt_len.std), (78.0, 0.0));
    assert_eq!((f.rtt_syn_synack, f.fwd.init_win), (None, 0));
}

#[test]
fn no_packets_at_all() {
    // A connection whose packets all failed checksums: nothing counted.
    let f = FlowStats::default().features(t0(0), t0(0));
    assert_eq!(f.subflows, 0);
    assert_eq!(
        f,
        FlowFeatures {
            ..Default::default()
        }
    );
}

#[test]
fn zero_duration_many_packets() {
    let f = run(&[udp(5, true, 1), udp(5, false, 2), udp(5, true, 3)]).features(t0(5), t0(5));
    assert_eq!(f.flow_pkts_per_sec, 0.0);
    assert_eq!(f.flow_iat, Summary::default());
    assert_eq!(f.flow_iat.tot, 0.0);
    // Two gaps of 0: one active period of length 0 (three packets).
    assert_eq!(f.active.tot, 0.0);
    assert_eq!(f.fwd.iat.min, 0.0);
    assert_eq!(f.subflows, 1);
}

#[test]
fn subflows_active_idle() {
    // Gaps (ms): 500, 1000 (not > 1 s), 1001 (> 1 s), 6000 (> 5 s, idle),
    // 5000 (not > 5 s), 100.
    let times = [0, 500, 1500, 2501, 8501, 13501, 13601];
    let pkts: Vec<PacketObs> = times.iter().map(|&t| udp(t, true, 10)).collect();
    let f = run(&pkts).features(t0(0), t0(13601));
    // Subflow breaks: 1001, 6000, 5000 → 4 subflows.
    assert_eq!(f.subflows, 4);
    assert_eq!(f.fwd.subflow_pkts, 7.0 / 4.0);
    assert_eq!(f.fwd.subflow_bytes, 70.0 / 4.0);
    // Idle: the 6 s gap. Active: 0..2501 (2.501 s) and 8501..13601 (5.1 s).
    assert_eq!((f.idle.min, f.idle.tot, f.idle.std), (6.0, 6.0, 0.0));
    assert_eq!((f.active.min, f.active.max), (2.501, 5.1));
    assert!(close(f.active.tot, 7.601));
    assert!(close(f.active.avg, 7.601 / 2.0));
    assert!(close(f.active.std, (5.1f64 - 2.501) / 2f64.sqrt()));
}

#[test]
fn single_packet_active_periods_are_not_recorded() {
    // Packet, 10 s idle, packet, 10 s idle, two packets 1 s apart.
    let pkts: Vec<PacketObs> = [0, 10_000, 20_000, 21_000]
        .iter()
        .map(|&t| udp(t, true, 1))
        .collect();
    let f = run(&pkts).features(t0(0), t0(21_000));
    assert_eq!((f.idle.tot, f.idle.avg), (20.0, 10.0));
    assert_eq!((f.active.min, f.active.max, f.active.tot), (1.0, 1.0, 1.0));
}

#[test]
fn bulk_transfers() {
    let mut p = Vec::new();
    // fwd bulk: 5 data packets 100 ms apart (400 ms, 500 bytes); an ACK from
    // the other side in between does not break it.
    for i in 0..5 {
        p.push(udp(i * 100, true, 100));
        if i == 2 {
            p.push(udp(i * 100 + 50, false, 0));
        }
    }
    // bwd: 4 data packets: not a bulk.
    for i in 0..4 {
        p.push(udp(1000 + i * 10, false, 10));
    }
    // fwd: 6 packets but a 1 s gap after the 3rd: two runs of 3, no bulk.
    for t in [2000, 2010, 2020, 3020, 3030, 3040] {
        p.push(udp(t, true, 7));
    }
    // bwd bulk at the end (closed by features()): 5 × 20 bytes, 10 ms apart.
    for i in 0..5 {
        p.push(udp(5000 + i * 10, false, 20));
    }
    let f = run(&p).features(t0(0), t0(5040));
    assert_eq!((f.fwd.bulk_bytes, f.fwd.bulk_packets), (500.0, 5.0));
    assert!(close(f.fwd.bulk_rate, 500.0 / 0.4));
    assert_eq!((f.bwd.bulk_bytes, f.bwd.bulk_packets), (100.0, 5.0));
    assert!(close(f.bwd.bulk_rate, 100.0 / 0.04));
}

#[test]
fn bulk_averages_over_transfers_and_opposite_data_breaks() {
    let mut p = Vec::new();
    for i in 0..5 {
        p.push(udp(i, true, 10)); // bulk 1: 50 bytes, 4 ms
    }
    p.push(udp(5, false, 1)); // opposite data packet ends it
    for i in 0..7 {
        p.push(udp(10 + i, true, 30)); // bulk 2: 210 bytes, 6 ms
    }
    p.push(udp(17, true, 30)); // continues bulk 2: 8 packets, 240 bytes, 7 ms
    p.push(udp(1017, true, 30)); // exactly 1 s later: not < 1 s, new run
    let f = run(&p).features(t0(0), t0(1017));
    assert_eq!(f.fwd.bulk_bytes, (50.0 + 240.0) / 2.0);
    assert_eq!(f.fwd.bulk_packets, (5.0 + 8.0) / 2.0);
    assert!(close(f.fwd.bulk_rate, 290.0 / 0.011));
    assert_eq!(f.bwd.bulk_bytes, 0.0);
}

#[test]
fn bulk_with_zero_duration_has_zero_rate() {
    let p: Vec<PacketObs> = (0..5).map(|_| udp(0, true, 10)).collect();
    let f = run(&p).features(t0(0), t0(0));
    assert_eq!(
        (f.fwd.bulk_bytes, f.fwd.bulk_packets, f.fwd.bulk_rate),
        (50.0, 5.0, 0.0)
    );
}

#[test]
fn timestamps_going_backwards_count_as_zero_gaps() {
    let f =
        run(&[udp(100, true, 1), udp(50, true, 1), udp(150, true, 1)]).features(t0(50), t0(150));
    // Gaps: 0 (clamped), 100 ms.
    assert_eq!(
        (f.fwd.iat.min, f.fwd.iat.max, f.fwd.iat.tot),
        (0.0, 0.1, 0.1)
    );
}

#[test]
fn ttl_range_and_header_options() {
    let mut a = tcp(0, true, SYN, 1, 0, 1);
    a.ttl = 128;
    a.l4_hdr_len = 40; // SYN with options
    a.ip_len = 60;
    let mut b = tcp(1, true, ACK, 2, 0, 1);
    b.ttl = 3;
    let f = run(&[a, b]).features(t0(0), t0(1));
    assert_eq!((f.fwd.ttl_min, f.fwd.ttl_max), (3, 128));
    assert_eq!((f.fwd.hdr_min, f.fwd.hdr_max, f.fwd.hdr_tot), (20, 40, 60));
    assert_eq!((f.fwd.pkt_len.min, f.fwd.pkt_len.max), (40.0, 60.0));
}

#[test]
fn all_flags_counted_where_they_belong() {
    let all = FIN | SYN | RST | PSH | ACK | URG | ECE | CWR;
    let f = run(&[
        tcp(0, true, all, 1, 0, 1),
        tcp(1, false, URG | PSH | ECE, 1, 0, 1),
    ])
    .features(t0(0), t0(1));
    assert_eq!((f.fin, f.syn, f.rst, f.ack), (1, 1, 1, 1));
    assert_eq!((f.fwd.psh, f.bwd.psh, f.fwd.urg, f.bwd.urg), (1, 1, 1, 1));
    // ECE and CWR are not swapped (zeek-flowmeter swaps them).
    assert_eq!((f.ece, f.cwr), (2, 1));
}

#[test]
fn packet_obs_from_ip() {
    // IPv4 (20) + TCP (20) + 10 bytes payload, TTL 77.
    let mut b = vec![
        0x45, 0, 0, 50, 0, 0, 0x40, 0, 77, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    b.extend_from_slice(&[0u8; 30]);
    let ip = crate::decode::ip::parse(&b, b.len(), true).unwrap();
    let o = PacketObs::from_ip(t0(0), true, &ip, 20, None);
    assert_eq!(
        (o.ip_len, o.ip_hdr_len, o.l4_hdr_len, o.payload_len, o.ttl),
        (50, 20, 20, 10, 77)
    );
    // A transport header claiming more than the packet holds: payload 0, not negative.
    let o = PacketObs::from_ip(t0(0), true, &ip, 60, None);
    assert_eq!(o.payload_len, 0);
}

#[test]
fn fixed_size() {
    // O(1) memory: the inline part is a plain value (912 bytes before the
    // rare parts moved out of line), the rare part one small box.
    let n = std::mem::size_of::<FlowStats>();
    eprintln!(
        "size_of::<FlowStats>() = {n}, Rare = {}, Dir = {}",
        std::mem::size_of::<Rare>(),
        std::mem::size_of::<Dir>()
    );
    assert!(n <= 704, "{n}");
}

#[test]
fn rare_part_only_for_idle_gaps_and_bulk() {
    // Two packets 0.1 s apart: no idle gap, no bulk transfer.
    let mut s = FlowStats::default();
    for i in 0..2 {
        s.observe(&PacketObs {
            ts: t0(i * 100),
            is_orig: true,
            ip_len: 60,
            ip_hdr_len: 20,
            l4_hdr_len: 8,
            payload_len: 32,
            ..Default::default()
        });
    }
    assert!(s.rare.is_none());
    // A gap past the active timeout allocates it.
    s.observe(&PacketObs {
        ts: t0(10_000),
        is_orig: false,
        ip_len: 28,
        ip_hdr_len: 20,
        l4_hdr_len: 8,
        ..Default::default()
    });
    assert!(s.rare.is_some());
    let f = s.features(t0(0), t0(10_000));
    assert!((f.idle.tot - 9.9).abs() < 1e-9, "{}", f.idle.tot);
}
