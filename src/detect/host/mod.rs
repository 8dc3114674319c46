//! Host- and pair-level detectors: each keeps bounded state keyed by hosts
//! or pairs (addresses key state only; they are never model inputs), sees
//! every connection in context order, and raises Zeek-style notices with a
//! message a person can act on.
//!
//! Must not: see packets or connection state (only [`ConnSummary`] and the
//! context [`Features`]), read a clock (time is the records' network time),
//! or grow without bound (every table has a cap and evicts its oldest keys).

pub mod beacon;
pub mod brute_force;
pub mod coordinated;
pub mod dns_tunnel;
pub mod flood;
pub mod host_volume;
pub mod scan;
pub mod slow_http;

mod lru;
mod pool_ring;
mod ring;

use crate::context::Features;
use crate::decode::Addr;
use crate::detect::json_scan::Cursor;
use crate::record::{ConnSummary, NoticeRecord};
use crate::time::Ts;

/// Whether the detect stage is learning (benign training window) or scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Learning what normal looks like: update baselines, raise nothing.
    Train,
    /// Scoring: raise notices.
    Score,
}

/// A host- or pair-level detector.
pub trait HostDetector: Send {
    /// Its name (score.log / model file key), e.g. `scan`.
    fn name(&self) -> &'static str;

    /// Sees one finished connection (in context order) and its context
    /// features; may push notices (only in [`Phase::Score`]).
    fn observe(&mut self, c: &ConnSummary, f: &Features, phase: Phase, out: &mut Vec<NoticeRecord>);

    /// End of input: closes what is still open (a last interval) and may
    /// push notices (only in [`Phase::Score`]).
    fn finish(&mut self, _phase: Phase, _out: &mut Vec<NoticeRecord>) {}

    /// What it learned in training, to store in the model file (`null` when
    /// it learns nothing).
    fn save(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores what [`save`](Self::save) wrote.
    fn load(&mut self, _v: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }

    /// [`load`](Self::load) from the JSON text of the model file's entry.
    /// A detector with much to restore parses it into its own types here
    /// (no JSON tree of tens of thousands of entries first).
    fn load_raw(&mut self, raw: &str) -> Result<(), String> {
        let v: serde_json::Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        self.load(&v)
    }

    /// Restores what its fast reader read of its entry while the model
    /// file was read ([`preread`]): the state [`load_raw`](Self::load_raw)
    /// of the entry's text gives.
    fn load_preread(&mut self, _p: Preread) -> Result<(), String> {
        Err(format!("{}: no reader of a read-ahead entry", self.name()))
    }

    /// Entries held in its tables (reported as memory per host state).
    fn entries(&self) -> usize;
}

/// A model file's entry read by its detector's fast reader while the file
/// is read ([`preread`]): [`Model::from_json`](crate::detect::model::Model::from_json)
/// must check the JSON of every entry, and for the large ones (tens of
/// thousands of hosts or hashes) the fast reader checks it as serde would
/// and keeps what it read, so the entry is read once, not checked there
/// and parsed again by [`HostDetector::load_raw`].
#[derive(Clone, Debug)]
pub enum Preread {
    /// [`host_volume`]'s baselines.
    HostVolume(host_volume::Saved),
    /// [`beacon`]'s training knowledge.
    Beacon(beacon::Saved),
}

/// The entry of detector `name` at `c` read by its fast reader, if it has
/// one and the entry is in the form it reads (which is then valid JSON);
/// otherwise `None`, with `c` where it was.
pub(crate) fn preread(name: &str, c: &mut Cursor) -> Option<Preread> {
    let at = *c;
    let read = match name {
        "host_volume" => host_volume::read_saved(c).map(Preread::HostVolume),
        "beacon" => beacon::read_saved(c).map(Preread::Beacon),
        _ => None,
    };
    if read.is_none() {
        *c = at;
    }
    read
}

/// An address as the standard library parses its text (`None` where it
/// fails), with short cuts for the usual forms, which the standard parser
/// reads the same: a model file names tens of thousands.
pub(crate) fn parse_addr(s: &str) -> Option<Addr> {
    dotted_quad(s.as_bytes())
        .map(Addr::v4)
        .or_else(|| hex_groups(s.as_bytes()).map(Addr))
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(Addr::from_ip))
}

/// `a.b.c.d`: one to three digits per byte, no leading zero, at most 255.
fn dotted_quad(b: &[u8]) -> Option<[u8; 4]> {
    let mut quad = [0u8; 4];
    let mut i = 0;
    for (k, q) in quad.iter_mut().enumerate() {
        let start = i;
        let mut v = 0u32;
        while let Some(&c @ b'0'..=b'9') = b.get(i).filter(|_| i - start < 3) {
            v = v * 10 + u32::from(c - b'0');
            i += 1;
        }
        let canonical = match i - start {
            0 => false,
            1 => true,
            _ => b.get(start) != Some(&b'0') && v <= 255,
        };
        let next = if k < 3 { Some(&b'.') } else { None };
        if !canonical || b.get(i) != next {
            return None;
        }
        *q = v as u8;
        i += 1;
    }
    Some(quad)
}

/// IPv6 without an embedded IPv4 address: eight groups of one to four hex
/// digits, or fewer around one `::` that stands for at least one zero
/// group.
fn hex_groups(b: &[u8]) -> Option<[u8; 16]> {
    /// The groups of one to four hex digits separated by `:` in `b` (none
    /// for empty text) written to `out`: how many (`None` past its end).
    fn groups(b: &[u8], out: &mut [u16]) -> Option<usize> {
        if b.is_empty() {
            return Some(0);
        }
        let mut n = 0;
        for g in b.split(|&c| c == b':') {
            let slot = out.get_mut(n)?;
            if g.is_empty() || g.len() > 4 {
                return None;
            }
            *slot = g.iter().try_fold(0u16, |v, &c| {
                char::from(c).to_digit(16).map(|d| v << 4 | d as u16)
            })?;
            n += 1;
        }
        Some(n)
    }
    let mut g = [0u16; 8];
    match b.windows(2).position(|w| w == b"::") {
        None => {
            if groups(b, &mut g)? != 8 {
                return None;
            }
        }
        Some(at) => {
            let head = groups(b.get(..at)?, &mut g[..7])?;
            let mut tail = [0u16; 7];
            let t = groups(b.get(at + 2..)?, &mut tail[..7 - head])?;
            g[8 - t..].copy_from_slice(&tail[..t]);
        }
    }
    let mut out = [0u8; 16];
    for (o, v) in out.chunks_exact_mut(2).zip(g) {
        o.copy_from_slice(&v.to_be_bytes());
    }
    Some(out)
}

/// Zeek's `Notice::default_suppression_interval` (1 h): the detect stage
/// raises one notice per type and identifier within it.
pub const SUPPRESS_FOR: f64 = 3600.0;

/// When a detector last raised a notice for one identifier. The stage
/// suppresses repeats within [`SUPPRESS_FOR`], so a detector whose
/// condition holds for every connection of a long episode (a flood, a
/// scan) asks here first and builds no text that would be dropped.
#[derive(Default, Clone, Copy, Debug)]
pub struct Quiet(Option<Ts>);

impl Quiet {
    /// True, remembering `at`, when a notice at `at` would not be
    /// suppressed; false while the last one's suppression lasts.
    pub fn ready(&mut self, at: Ts) -> bool {
        let quiet = self.0.is_some_and(|t| {
            at >= t && ((at.0 - t.0) as f64) < SUPPRESS_FOR * crate::time::SEC as f64
        });
        if !quiet {
            self.0 = Some(at);
        }
        !quiet
    }

    /// Forgets the last notice (its identifier changed: a new episode).
    pub fn reset(&mut self) {
        self.0 = None;
    }
}

/// A notice about hosts (no single triggering connection unless `by` is
/// given). Detectors may raise the same notice repeatedly: the detect stage
/// suppresses repeats of `note` + `identifier` within [`SUPPRESS_FOR`].
#[allow(clippy::too_many_arguments)]
pub fn notice(
    note: crate::record::NoticeType,
    by: &ConnSummary,
    src: Option<crate::decode::Addr>,
    dst: Option<crate::decode::Addr>,
    p: Option<(u16, crate::conn::Transport)>,
    n: Option<u64>,
    msg: String,
    sub: String,
    identifier: String,
) -> NoticeRecord {
    NoticeRecord {
        ts: by.logged_at,
        uid: Some(by.uid),
        id: Some((by.orig_h, by.orig_p, by.resp_h, by.resp_p)),
        proto: Some(by.transport),
        note,
        msg,
        sub,
        src,
        dst,
        p,
        n,
        suppress_for: SUPPRESS_FOR,
        identifier,
        remote_location: None,
    }
}

/// Copies into `dst` the fields of `src` that [`notice`] reads from its
/// `by` (cheaper than copying the whole summary, whose flow statistics
/// are large).
pub fn keep_notice_fields(dst: &mut ConnSummary, src: &ConnSummary) {
    dst.logged_at = src.logged_at;
    dst.uid = src.uid;
    dst.orig_h = src.orig_h;
    dst.orig_p = src.orig_p;
    dst.resp_h = src.resp_h;
    dst.resp_p = src.resp_p;
    dst.transport = src.transport;
}

/// A test summary: a TCP connection `orig → resp:port` logged at `t`
/// seconds, with the given state and sizes (everything else zero).
#[cfg(test)]
#[allow(dead_code)]
pub(crate) fn test_conn(
    orig: [u8; 4],
    resp: [u8; 4],
    port: u16,
    t: f64,
    state: crate::record::ConnState,
    orig_bytes: u64,
    resp_bytes: u64,
) -> ConnSummary {
    use crate::time::Ts;
    let v4 = |a: [u8; 4]| {
        let mut b = [0u8; 16];
        b[10] = 0xff;
        b[11] = 0xff;
        b[12..].copy_from_slice(&a);
        Addr(b)
    };
    let ts = Ts((t * 1e9) as i64);
    ConnSummary {
        uid: crate::conn::uid::Uid::from_words(b'C', (t * 1e6) as u64, u64::from(port)),
        start: ts,
        last: ts,
        logged_at: ts,
        orig_h: v4(orig),
        orig_p: 40000,
        resp_h: v4(resp),
        resp_p: port,
        transport: crate::conn::Transport::Tcp,
        ip_proto: 6,
        conn_state: state,
        history: crate::record::HistorySet::of(match state {
            crate::record::ConnState::S0 => b"S".as_slice(),
            crate::record::ConnState::REJ => b"Sr",
            crate::record::ConnState::SF => b"ShADadFf",
            _ => b"ShAD",
        }),
        orig_bytes,
        resp_bytes,
        orig_pkts: 1,
        resp_pkts: u64::from(state != crate::record::ConnState::S0),
        orig_ip_bytes: orig_bytes + 40,
        resp_ip_bytes: resp_bytes + 40,
        missed_bytes: 0,
        services: crate::conn::service::ServiceSet::none(),
        service: None,
        local_orig: Some(true),
        local_resp: Some(true),
        flow: crate::stats::FlowFeatures::default(),
        dns: None,
        interim: false,
    }
}

/// The detectors' hash maps: foldhash, randomly seeded per process (their
/// iteration order never reaches the output).
pub type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The detectors' hash sets (as [`Map`]).
pub type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Keeps a detector's table within `cap` keys: when it is full, drops the
/// least recently seen half (by `last_seen`), so the cost is amortised
/// O(log n) per insert.
pub fn evict_oldest<K: Clone + Eq + std::hash::Hash, V, S: std::hash::BuildHasher>(
    map: &mut std::collections::HashMap<K, V, S>,
    cap: usize,
    last_seen: impl Fn(&V) -> crate::time::Ts,
) {
    evict_oldest_with(map, cap, last_seen, |_| {});
}

/// [`evict_oldest`], handing each evicted value to `on_evict` first (to
/// give back what it holds elsewhere, e.g. its [`pool_ring`] blocks).
pub(crate) fn evict_oldest_with<K: Clone + Eq + std::hash::Hash, V, S: std::hash::BuildHasher>(
    map: &mut std::collections::HashMap<K, V, S>,
    cap: usize,
    last_seen: impl Fn(&V) -> crate::time::Ts,
    mut on_evict: impl FnMut(&mut V),
) {
    if map.len() < cap.max(2) {
        return;
    }
    let mut ages: Vec<crate::time::Ts> = map.values().map(&last_seen).collect();
    ages.sort_unstable();
    let cut = ages.get(ages.len() / 2).copied().unwrap_or_default();
    map.retain(|_, v| {
        let keep = last_seen(v) > cut;
        if !keep {
            on_evict(v);
        }
        keep
    });
}

/// Whether a connection failed: the responder never answered (no
/// responder packets: S0, SH, RSTOS0, a UDP/ICMP probe without reply),
/// refused (REJ), or, for TCP, the originator never completed the
/// handshake (no `A` or `D` in its history: a half-open `ShR` from a SYN
/// flood or a SYN scan of an open port).
pub fn failed(c: &ConnSummary) -> bool {
    if c.resp_pkts == 0 || c.conn_state.is_syn_error() || c.conn_state.is_rejected() {
        return true;
    }
    c.transport == crate::conn::Transport::Tcp && !c.history.has(b'A') && !c.history.has(b'D')
}

/// `n` with thousands separators (`4,812`), for messages.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod parse_addr_tests {
    use super::parse_addr;
    use crate::decode::Addr;

    /// The short cuts read what the standard parser reads, and refuse
    /// (through it) what it refuses.
    #[test]
    fn parse_addr_agrees_with_the_standard_parser() {
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1..2.3",
            "10.0.0.1",
            "1234.1.1.1",
            "::",
            "::1",
            "1::",
            "fd00::1",
            "FD00::A",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4::5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            ":1:2:3:4:5:6:7",
            "1::2::3",
            "12345::",
            "::ffff:1.2.3.4",
            "g::1",
            "",
            ":",
            ":::",
            "0:0:0:0:0:0:0:0",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "fe80::1%eth0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_be_bytes();
            cases.push(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]));
            let v6 = std::net::Ipv6Addr::from(u128::from(x) << (x % 64) | u128::from(x % 7));
            cases.push(v6.to_string());
        }
        for s in &cases {
            assert_eq!(
                parse_addr(s),
                s.parse::<std::net::IpAddr>().ok().map(Addr::from_ip),
                "{s:?}"
            );
        }
    }
}
