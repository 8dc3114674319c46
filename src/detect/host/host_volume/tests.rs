//! Unit tests of the host-volume detector.

use super::super::test_conn;
use super::*;
use crate::record::ConnState;

const ATT: [u8; 4] = [10, 66, 0, 66];
const C1: [u8; 4] = [10, 66, 0, 21];
const WEB: [u8; 4] = [10, 66, 0, 10];
/// 2026-11-22 02:51:00 UTC, on a minute boundary.
const T: f64 = 1_795_315_860.0;

fn feed(d: &mut HostVolume, cs: &[ConnSummary], phase: Phase) -> Vec<NoticeRecord> {
    let mut out = Vec::new();
    for c in cs {
        d.observe(c, &Features::default(), phase, &mut out);
    }
    out
}

/// A benign user: 3-5 connections a minute to 2 servers, 20-60 kB down.
fn user(host: [u8; 4], from: f64, minutes: u32) -> Vec<ConnSummary> {
    let mut v = Vec::new();
    for m in 0..minutes {
        let k = 3 + m % 3;
        for j in 0..k {
            let peer = if j % 2 == 0 { WEB } else { [10, 66, 0, 11] };
            let t = from + f64::from(m) * 60.0 + f64::from(j) * 10.0 + 1.0;
            v.push(test_conn(
                host,
                peer,
                80,
                t,
                ConnState::SF,
                500,
                20_000 + 10_000 * u64::from(j),
            ));
        }
    }
    v
}

fn trained() -> HostVolume {
    let mut d = HostVolume::new();
    let out = feed(&mut d, &user(C1, T - 1200.0, 20), Phase::Train);
    assert!(out.is_empty());
    d
}

#[test]
fn flood_minute_from_unseen_host_is_flagged() {
    let mut d = trained();
    let mut cs = Vec::new();
    // att: 4,812 connections to one peer in the minute from 02:51:00.
    for i in 0..4812u32 {
        cs.push(test_conn(
            ATT,
            WEB,
            80,
            T + f64::from(i) * 0.0124,
            ConnState::S0,
            0,
            0,
        ));
    }
    cs.extend(user(C1, T, 3));
    cs.sort_by_key(|c| c.logged_at);
    let out = feed(&mut d, &cs, Phase::Score);
    assert_eq!(out.len(), 1, "{out:?}");
    let n = &out[0];
    assert_eq!(n.note, NoticeType::HostVolume);
    assert_eq!(n.src, Some(Addr::v4(ATT)));
    assert_eq!(n.dst, Some(Addr::v4(WEB)));
    assert_eq!(n.n, Some(4812));
    assert_eq!(n.identifier, "10.66.0.66-conns");
    assert!(
        n.msg.starts_with("10.66.0.66 made 4,812 connections to 1 peer in the minute from 02:51:00 (population baseline 3.9 +/- 0.8, training max 5.0)"),
        "{}",
        n.msg
    );
    assert!(n.uid.is_none() && n.id.is_none());
    assert!(
        n.sub.contains("series=conns") && n.sub.contains("baseline=population"),
        "{}",
        n.sub
    );
}

#[test]
fn scan_of_many_peers_is_flagged_on_peers_and_conns() {
    let mut d = trained();
    let mut cs = Vec::new();
    for i in 0..300u32 {
        let b = (i % 200) as u8;
        cs.push(test_conn(
            ATT,
            [10, 66, 1, b],
            22,
            T + 1.0 + f64::from(i) * 0.1,
            ConnState::REJ,
            0,
            0,
        ));
    }
    // Silent host closes when a record two intervals later arrives.
    cs.push(test_conn(
        C1,
        WEB,
        80,
        T + 121.0,
        ConnState::SF,
        500,
        20_000,
    ));
    let out = feed(&mut d, &cs, Phase::Score);
    let ids: Vec<_> = out.iter().map(|n| n.identifier.as_str()).collect();
    assert_eq!(ids, ["10.66.0.66-conns", "10.66.0.66-peers"]);
    assert!(
        out[1].msg.starts_with("10.66.0.66 contacted "),
        "{}",
        out[1].msg
    );
    assert!(
        out[1].msg.contains(" distinct peers in 300 connections"),
        "{}",
        out[1].msg
    );
    let peers = out[1].n.unwrap_or(0);
    assert!((190..=210).contains(&peers), "{peers}");
    assert_eq!(out[1].dst, None);
}

#[test]
fn big_download_by_known_user_is_not_flagged() {
    let mut d = trained();
    let mut cs = user(C1, T, 10);
    // A 400 MB download in one minute: far above its band, under the floor.
    cs.push(test_conn(
        C1,
        WEB,
        443,
        T + 130.0,
        ConnState::SF,
        30_000,
        400_000_000,
    ));
    // And a busy minute of 80 connections to 30 peers: under the floors.
    for i in 0..80u32 {
        cs.push(test_conn(
            C1,
            [10, 66, 2, (i % 30) as u8],
            443,
            T + 250.0 + f64::from(i) * 0.1,
            ConnState::SF,
            700,
            4000,
        ));
    }
    cs.sort_by_key(|c| c.logged_at);
    assert!(feed(&mut d, &cs, Phase::Score).is_empty());
}

#[test]
fn attack_does_not_become_normal_and_train_raises_nothing() {
    let mut d = trained();
    let before = d
        .hosts
        .get(&Addr::v4(C1))
        .map(|h| h.base[0])
        .unwrap_or_default();
    let mut cs = Vec::new();
    for m in 0..3 {
        for i in 0..500u32 {
            cs.push(test_conn(
                C1,
                WEB,
                80,
                T + f64::from(m) * 60.0 + f64::from(i) * 0.1,
                ConnState::S0,
                0,
                0,
            ));
        }
    }
    cs.push(test_conn(
        C1,
        WEB,
        80,
        T + 190.0,
        ConnState::SF,
        500,
        20_000,
    ));
    let out = feed(&mut d, &cs, Phase::Score);
    assert_eq!(out.len(), 3, "each flooded minute raises");
    assert!(out[0].msg.contains("(its baseline"), "{}", out[0].msg);
    let after = d
        .hosts
        .get(&Addr::v4(C1))
        .map(|h| h.base[0])
        .unwrap_or_default();
    // Only the benign tail of training (3-5 connections) was learned.
    assert_eq!(after.n, before.n + 1);
    assert!(
        after.mean < before.mean + 1.0,
        "flood minutes not learned: {after:?}"
    );
    let mut t = HostVolume::new();
    assert!(feed(&mut t, &cs, Phase::Train).is_empty());
}

#[test]
fn save_and_load_round_trip() {
    let d = trained();
    let v = d.save();
    let mut e = HostVolume::new();
    e.load(&v).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(e.save(), v);
    assert_eq!(e.pop, d.pop);
    let mut f = HostVolume::new();
    f.load(&serde_json::Value::Null)
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(f.pop, [Base::default(); 4]);
    assert!(f.load(&serde_json::json!({"population": 1})).is_err());
    // Numbers read as serde's float_roundtrip reads them (exponents,
    // signs, 17 digits); a count that is no integer is an error.
    let b4 = "[[3,1.2852248536455457,-2.5e-7,1E3],[0,0.0,-0.0,5],[1,1e308,4.9e-324,0.1],[2,2,2,2]]";
    let text = format!(r#"{{"population":{b4},"hosts":{{"10.0.0.1":{b4},"fd00::1":{b4}}}}}"#);
    f.load_raw(&text).unwrap_or_else(|err| panic!("{err}"));
    let want: [[f64; 4]; 4] = serde_json::from_str(b4).unwrap_or_else(|e| panic!("{e}"));
    for (b, w) in f.pop.iter().zip(&want) {
        assert_eq!(b.n as f64, w[0]);
        assert_eq!(
            [b.mean, b.var, b.max].map(f64::to_bits),
            [w[1], w[2], w[3]].map(f64::to_bits)
        );
    }
    assert_eq!(f.hosts.len(), 2);
    let bad = text.replacen("[[3,", "[[3.5,", 1);
    assert!(f
        .load_raw(&bad)
        .unwrap_err()
        .contains("population: expected four"));
    for shape in [
        "[[1,2,3,4]]",
        "[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4,5]]",
        "[1,2]",
        "{}",
    ] {
        assert!(four_bases(shape).is_none(), "{shape}");
    }
    assert!(four_bases(" [ [1, 2,3 ,4],[1,2,3,4] ,[1,2,3,4],[1,2,3,4] ] ").is_some());
    assert!(f
        .load_raw(&text.replace("10.0.0.1", "10.0.0.x"))
        .unwrap_err()
        .contains("bad host"));
    // A loaded baseline still flags its host.
    let mut cs = Vec::new();
    for i in 0..500u32 {
        cs.push(test_conn(
            C1,
            WEB,
            80,
            T + f64::from(i) * 0.1,
            ConnState::S0,
            0,
            0,
        ));
    }
    cs.push(test_conn(
        C1,
        WEB,
        80,
        T + 130.0,
        ConnState::SF,
        500,
        20_000,
    ));
    assert_eq!(feed(&mut e, &cs, Phase::Score).len(), 1);
}

#[test]
fn helpers() {
    assert_eq!(thousands(4812), "4,812");
    assert_eq!(thousands(1_234_567), "1,234,567");
    assert_eq!(thousands(12), "12");
    assert_eq!(hms((T as i64) / 60), "02:51:00");
    let mut t = Tally::default();
    for i in 0..40u8 {
        let c = test_conn(ATT, [10, 0, 0, i], 80, 0.0, ConnState::S0, 0, 0);
        t.add(&c);
        t.add(&c);
    }
    assert!((38..=42).contains(&t.peers()), "{}", t.peers());
    assert_eq!(
        (t.conns, t.first_peer),
        (
            80,
            test_conn(ATT, [10, 0, 0, 0], 80, 0.0, ConnState::S0, 0, 0).resp_h
        )
    );
    let mut d = HostVolume::new();
    let mut out = Vec::new();
    for i in 0..(MAX_HOSTS as u32 + 2000) {
        let b = i.to_be_bytes();
        let c = test_conn(
            [10, b[1], b[2], b[3]],
            WEB,
            80,
            T + f64::from(i) * 0.001,
            ConnState::S0,
            0,
            0,
        );
        d.observe(&c, &Features::default(), Phase::Score, &mut out);
    }
    assert!(d.entries() <= MAX_HOSTS);
}

#[test]
fn fast_reader_and_serde_restore_the_same_baselines() {
    let d = trained();
    let v = d.save();
    for text in [
        serde_json::to_string(&v).unwrap_or_default(),
        serde_json::to_string_pretty(&v).unwrap_or_default(),
    ] {
        let mut c = crate::detect::json_scan::Cursor::new(&text);
        assert!(read_saved(&mut c).is_some() && c.at_end(), "{text}");
        let (mut fast, mut slow) = (HostVolume::new(), HostVolume::new());
        fast.load_raw(&text).unwrap_or_else(|e| panic!("{e}"));
        slow.load_raw_serde(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fast.save(), slow.save());
        assert_eq!(fast.save(), v);
        assert_eq!(fast.pop, slow.pop);
    }
}
