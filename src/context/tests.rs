//! Hand-computed checks of every accumulator and the edge cases.

use super::*;

const MS: i64 = 1_000_000;

fn ip(last: u8) -> Addr {
    Addr::v4([10, 0, 0, last])
}

/// A TCP connection `src -> dst:port` logged at `t_ms`.
fn conn(n: u64, t_ms: i64, src: u8, sport: u16, dst: u8, port: u16) -> ConnInfo {
    ConnInfo {
        logged_at: Ts(1_000 * SEC + t_ms * MS),
        start: Ts(1_000 * SEC + t_ms * MS - 100 * MS),
        uid: Uid::from_words(b'C', n, 7),
        orig_h: ip(src),
        orig_p: sport,
        resp_h: ip(dst),
        resp_p: port,
        transport: Transport::Tcp,
        serror: false,
        rerror: false,
        bytes: 100,
    }
}

fn s0(mut c: ConnInfo) -> ConnInfo {
    c.serror = true;
    c
}

fn rej(mut c: ConnInfo) -> ConnInfo {
    c.rerror = true;
    c
}

#[test]
fn error_classes() {
    for s in ["S0", "RSTOS0", "SH"] {
        assert!(is_syn_error(Transport::Tcp, s));
        assert!(!is_rej_error(Transport::Tcp, s));
    }
    for s in [
        "SF", "S1", "S2", "S3", "REJ", "RSTO", "RSTR", "RSTRH", "SHR", "OTH",
    ] {
        assert!(!is_syn_error(Transport::Tcp, s), "{s}");
    }
    assert!(is_rej_error(Transport::Tcp, "REJ"));
    // UDP S0 (no reply) is not a SYN error.
    assert!(!is_syn_error(Transport::Udp, "S0"));
    assert!(!is_rej_error(Transport::Udp, "REJ"));
}

#[test]
fn service_key() {
    let mut c = conn(1, 0, 1, 4000, 2, 80);
    assert_eq!(
        c.service(),
        Service {
            transport: 0,
            port: 80
        }
    );
    c.transport = Transport::Udp;
    assert_eq!(
        c.service(),
        Service {
            transport: 1,
            port: 80
        }
    );
    c.transport = Transport::Icmp;
    c.orig_p = 8; // echo request
    c.resp_p = 0;
    assert_eq!(
        c.service(),
        Service {
            transport: 2,
            port: 8
        }
    );
    c.transport = Transport::Other;
    assert_eq!(
        c.service(),
        Service {
            transport: 3,
            port: 0
        }
    );
}

#[test]
fn empty_window_is_all_zero() {
    let mut st = ContextStage::<ConnInfo>::new(ContextConfig::default());
    let f = st.compute(&conn(1, 0, 1, 4000, 2, 80));
    assert_eq!(f.count, 0);
    assert_eq!(f.srv_count, 0);
    assert_eq!(f.serror_rate, 0.0);
    assert_eq!(f.same_srv_rate, 0.0);
    assert_eq!(f.diff_srv_rate, 0.0);
    assert_eq!(f.dst_host_count, 0);
    assert_eq!(f.src_count, 0);
    assert_eq!(f.src_distinct_dst_hosts, 0);
    assert_eq!(f.series.conns, 1);
    assert_eq!(f.series.bytes, 100);
}

#[test]
fn time_window_kdd_fields() {
    let mut st = ContextStage::<ConnInfo>::new(ContextConfig::default());
    // Earlier connections, all within 2 s of the last one (t = 1900 ms).
    st.compute(&s0(conn(1, 0, 1, 4001, 2, 80))); // host 2, http, S0
    st.compute(&rej(conn(2, 100, 1, 4002, 2, 22))); // host 2, ssh, REJ
    st.compute(&conn(3, 200, 3, 4003, 4, 80)); // host 4, http
    st.compute(&s0(conn(4, 300, 5, 4004, 2, 80))); // host 2, http, S0
    let f = st.compute(&conn(5, 1900, 1, 4005, 2, 80));
    // Same host (10.0.0.2): conns 1, 2, 4 -> count 3; S0: 1, 4; REJ: 2.
    assert_eq!(f.count, 3);
    assert_eq!(f.serror_rate, 2.0 / 3.0);
    assert_eq!(f.rerror_rate, 1.0 / 3.0);
    // Same service (tcp/80): conns 1, 3, 4 -> srv_count 3; S0: 1, 4.
    assert_eq!(f.srv_count, 3);
    assert_eq!(f.srv_serror_rate, 2.0 / 3.0);
    assert_eq!(f.srv_rerror_rate, 0.0);
    // Same host and service: 1, 4 (2 of 3 / other service: conn 2).
    assert_eq!(f.same_srv_rate, 2.0 / 3.0);
    assert_eq!(f.diff_srv_rate, 1.0 / 3.0);
    // Same service, other host: conn 3.
    assert_eq!(f.srv_diff_host_rate, 1.0 / 3.0);
    // From 10.0.0.1: conns 1, 2 -> one responder, two services.
    assert_eq!(f.src_count, 2);
    assert_eq!(f.src_distinct_dst_hosts, 1);
    assert_eq!(f.src_distinct_dst_ports, 2);
}

#[test]
fn time_window_boundary_is_inclusive() {
    let mut st = ContextStage::<ConnInfo>::new(ContextConfig::default());
    st.compute(&conn(1, 0, 1, 4001, 2, 80));
    st.compute(&conn(2, 1, 1, 4002, 2, 80));
    // Exactly 2 s after conn 1: conn 1 is still in; conn 2 too.
    let f = st.compute(&conn(3, 2000, 1, 4003, 2, 80));
    assert_eq!(f.count, 2);
    // 2.000001 s after conn 2 (and 2.001 s after conn 1): only conn 3 is left.
    let mut c = conn(4, 2001, 1, 4004, 2, 80);
    c.logged_at.0 += 1;
    let f = st.compute(&c);
    assert_eq!(f.count, 1);
    assert_eq!(f.src_count, 1);
}

#[test]
fn count_window_keeps_the_last_100() {
    let mut st = ContextStage::<ConnInfo>::new(ContextConfig::default());
    // 150 connections to host 2 (S0 for the first 60), far apart in time,
    // alternating ports 80 and 443 and source ports 5000/5001.
    for i in 0..150u64 {
        let port = if i % 2 == 0 { 80 } else { 443 };
        let c = conn(i, i as i64 * 10_000, 1, 5000 + (i % 2) as u16, 2, port);
        st.compute(&if i < 60 { s0(c) } else { c });
    }
    // The window is conns 50..150: host 2 all 100; service tcp/80: the 50
    // even ones; S0 among them: 50..60 -> 10 (5 even).
    let f = st.compute(&conn(999, 150 * 10_000, 1, 5000, 2, 80));
    assert_eq!(f.count, 0, "time window empty (10 s apart)");
    assert_eq!(f.dst_host_count, 100);
    assert_eq!(f.dst_host_srv_count, 50);
    assert_eq!(f.dst_host_same_srv_rate, 0.5);
    assert_eq!(f.dst_host_diff_srv_rate, 0.5);
    // Every even connection used source port 5000.
    assert_eq!(f.dst_host_same_src_port_rate, 1.0);
    assert_eq!(f.dst_host_srv_diff_host_rate, 0.0);
    assert_eq!(f.dst_host_serror_rate, 10.0 / 100.0);
    assert_eq!(f.dst_host_srv_serror_rate, 5.0 / 50.0);
    assert_eq!(f.dst_host_rerror_rate, 0.0);
    assert_eq!(f.src_host_count, 100);
    assert_eq!(f.src_host_distinct_dst_hosts, 1);
    assert_eq!(f.src_host_distinct_dst_ports, 2);
}

#[test]
fn count_window_other_hosts_and_ports() {
    let mut st = ContextStage::<ConnInfo>::new(ContextConfig::default());
    st.compute(&conn(1, 0, 9, 7000, 3, 80)); // other host, same service
    st.compute(&rej(conn(2, 10, 9, 7001, 2, 80))); // same host+service, other sport
    st.compute(&conn(3, 20, 8, 7000, 2, 25)); // same host, other service
    let f = st.compute(&conn(4, 30, 1, 7000, 2, 80));
    assert_eq!(f.dst_host_count, 2);
    assert_eq!(f.dst_host_srv_count, 2);
    assert_eq!(f.dst_host_same_srv_rate, 0.5);
    assert_eq!(f.dst_host_diff_srv_rate, 0.5);
    assert_eq!(f.dst_host_same_src_port_rate, 0.5);
    assert_eq!(f.dst_host_srv_diff_host_rate, 0.5);
    assert_eq!(f.dst_host_rerror_rate, 0.5);
    assert_eq!(f.dst_host_srv_rerror_rate, 0.5);
    assert_eq!(f.src_host_count, 0);
}

#[test]
fn time_window_cap() {
    let cfg = ContextConfig {
        max_window: 3,
        ..ContextConfig::default()
    };
    let mut st = ContextStage::<ConnInfo>::new(cfg);
    for i in 0..10 {
        st.compute(&conn(i, i as i64, 1, 4000, 2, 80));
    }
    let f = st.compute(&conn(10, 10, 1, 4000, 2, 80));
    assert_eq!(f.count, 3);
    assert_eq!(f.src_count, 3);
}

#[test]
fn fan_out_counts_distinct_pairs() {
    let mut st = ContextStage::<ConnInfo>::new(ContextConfig::default());
    // A scan from .1: hosts 2..=6 on port 22, then 2 again on 22 and 23.
    for (n, d) in (2..=6u8).enumerate() {
        st.compute(&s0(conn(n as u64, n as i64, 1, 6000, d, 22)));
    }
    st.compute(&conn(10, 10, 1, 6001, 2, 22));
    st.compute(&conn(11, 11, 1, 6002, 2, 23));
    let f = st.compute(&conn(12, 12, 1, 6003, 7, 22));
    assert_eq!(f.src_count, 7);
    assert_eq!(f.src_distinct_dst_hosts, 5);
    assert_eq!(f.src_distinct_dst_ports, 2);
    // Once the scan leaves the time window the distinct counts fall back
    // (conn 12 is exactly 2 s earlier: still in; conn 11 is out).
    let f = st.compute(&conn(13, 2012, 1, 6004, 7, 22));
    assert_eq!(f.src_count, 1);
    assert_eq!(f.src_distinct_dst_hosts, 1);
    assert_eq!(f.src_distinct_dst_ports, 1);
    assert_eq!(f.src_host_count, 8);
    assert_eq!(f.src_host_distinct_dst_hosts, 6);
    assert_eq!(f.src_host_distinct_dst_ports, 2);
}

#[test]
fn windows_drain_completely() {
    let mut agg = WindowAgg::default();
    let cs = [
        s0(conn(1, 0, 1, 1, 2, 80)),
        rej(conn(2, 0, 1, 1, 2, 80)),
        conn(3, 0, 3, 9, 4, 53),
    ];
    for c in &cs {
        agg.add(c);
    }
    let w = agg.counts(&cs[0]);
    assert_eq!(
        w,
        WindowCounts {
            host: 2,
            host_serror: 1,
            host_rerror: 1,
            srv: 2,
            srv_serror: 1,
            srv_rerror: 1,
            host_srv: 2,
            srv_sport: 2,
            src: 2,
            src_hosts: 1,
            src_ports: 1,
        }
    );
    for c in &cs {
        agg.remove(c);
    }
    assert!(agg.is_empty());
}

#[test]
fn series_intervals() {
    let mut s = HostSeries::new(60 * SEC, 2);
    let at = |secs: i64, src: u8, bytes: u64| {
        let mut c = conn(0, 0, src, 1, 2, 80);
        c.logged_at = Ts(secs * SEC);
        c.bytes = bytes;
        c
    };
    let (i, v) = s.observe(&at(120, 1, 10));
    assert_eq!(i, Ts(120 * SEC));
    assert_eq!(
        (v.conns, v.bytes, v.prev_conns, v.prev_bytes),
        (1, 10, 0, 0)
    );
    let (_, v) = s.observe(&at(179, 1, 5));
    assert_eq!((v.conns, v.bytes), (2, 15));
    // Next interval: previous totals carried.
    let (i, v) = s.observe(&at(180, 1, 1));
    assert_eq!(i, Ts(180 * SEC));
    assert_eq!(
        (v.conns, v.bytes, v.prev_conns, v.prev_bytes),
        (1, 1, 2, 15)
    );
    // Host cap (2): a third host in this interval is not tracked.
    s.observe(&at(181, 2, 1));
    let (_, v) = s.observe(&at(182, 3, 7));
    assert_eq!((v.conns, v.bytes), (0, 0));
    let (_, v) = s.observe(&at(183, 1, 1));
    assert_eq!((v.conns, v.bytes), (2, 2));
    // A gap of a whole interval: nothing carried.
    let (i, v) = s.observe(&at(300, 1, 4));
    assert_eq!(i, Ts(300 * SEC));
    assert_eq!((v.conns, v.bytes, v.prev_conns, v.prev_bytes), (1, 4, 0, 0));
    // Negative times use floor intervals.
    let mut s = HostSeries::new(60 * SEC, 8);
    let (i, _) = s.observe(&at(-1, 1, 1));
    assert_eq!(i, Ts(-60 * SEC));
}

#[test]
fn reorder_buffer_releases_in_key_order_below_the_watermark() {
    let cs: Vec<ConnInfo> = (0..20u64)
        .map(|i| {
            let mut c = conn(
                i,
                (i as i64 / 3) * 700,
                (i % 4) as u8,
                1000 + i as u16,
                2,
                80,
            );
            if i % 5 == 0 {
                c = s0(c);
            }
            c
        })
        .collect();
    // Reference: compute in key order directly.
    let mut sorted = cs.clone();
    sorted.sort_by_key(|c| c.key());
    let mut st = ContextStage::<ConnInfo>::new(ContextConfig::default());
    let want: Vec<(Uid, Features)> = sorted.iter().map(|c| (c.uid, st.compute(c))).collect();
    // Feed in a scrambled order with watermarks in between.
    let mut st = ContextStage::<ConnInfo>::new(ContextConfig::default());
    let mut got = Vec::new();
    let mut emit = |c: &ConnInfo, f: &Features| got.push((c.uid, *f));
    let order = [
        7, 3, 0, 1, 2, 5, 4, 6, 9, 8, 11, 10, 13, 12, 15, 14, 19, 16, 17, 18,
    ];
    for (k, &i) in order.iter().enumerate() {
        st.push(cs[i]);
        if k % 4 == 3 {
            // Everything up to the minimum logged_at of what is still to come.
            let rest = order[k + 1..].iter().map(|&j| cs[j].logged_at).min();
            if let Some(w) = rest {
                st.release(w, &mut emit);
            }
        }
    }
    assert!(!st.ready(Ts(0)));
    st.finish(&mut emit);
    assert_eq!(st.pending(), 0);
    assert_eq!(got, want);
}
