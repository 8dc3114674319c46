//! DNS tunnel detection: data carried in the names of DNS queries. Owns, per
//! (querier, server, registered-domain suffix), a sliding window of the
//! recent queries' name statistics, and the benign name-length and entropy
//! bands learned in training. Keying on the server as well as the suffix
//! covers both a tunnel straight to a rogue server and one relayed by a
//! resolver (then the server is the resolver and the suffix is the tunnel's
//! domain).
//!
//! Must not: look at packets (only [`ConnSummary::dns`]), keep names (only
//! their hashes and statistics), use addresses as anything but keys, or grow
//! without bound ([`MAX_KEYS`] keys, [`RING`] queries each).

use super::lru::Lru;
use super::ring::SmallRing;
use super::{notice, HostDetector, Phase, SUPPRESS_FOR};
use crate::conn::service::SUFFIX_MAX;
use crate::context::Features;
use crate::decode::Addr;
use crate::record::{ConnSummary, NoticeRecord, NoticeType};

/// Length of the sliding window, seconds of network time.
pub const WINDOW: f64 = 300.0;
/// Most queries a key's window holds (the most recent ones).
pub const RING: usize = 512;
/// Most keys held; the least recently seen key is evicted.
pub const MAX_KEYS: usize = 8192;
/// Fewest queries in the window before a key can raise a notice.
pub const MIN_QUERIES: usize = 20;
/// Least share of distinct names among the window's queries.
pub const MIN_DISTINCT_SHARE: f64 = 0.5;
/// Absolute floor of the mean name length, characters: benign names are
/// mostly short (median about 20 characters in published resolver
/// statistics); a tunnel fills labels with encoded data.
pub const LEN_FLOOR: f64 = 30.0;
/// Absolute floor of the mean entropy, bits per character: English-like
/// host names stay near 3 bits over their characters; base32/base64
/// encoded payloads approach log2(32) = 5 bits on long names.
pub const ENTROPY_FLOOR: f64 = 3.5;
/// Registered-domain suffixes of reverse-mapping names (RFC 1035 §3.5,
/// RFC 3596 §2.5): their form is fixed by the address they encode (an
/// ip6.arpa name is always 72 characters of hex nibbles), so they are
/// neither a sample of chosen names for the learned bands nor a channel a
/// tunnel controls; they are skipped.
pub const REVERSE_SUFFIXES: [&str; 2] = ["in-addr.arpa", "ip6.arpa"];
/// Entropy histogram bins per bit (training).
const ENT_BINS_PER_BIT: f64 = 100.0;
/// Entropy histogram bins (0..8 bits, the most a byte alphabet gives).
const ENT_BINS: usize = 8 * 100 + 1;

/// One query in a key's window.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Start of the connection, seconds.
    t: f64,
    name_hash: u64,
    orig_bytes: u64,
    name_len: u16,
    entropy: f32,
    max_label: u8,
}

/// A key: querier, server and the registered-domain suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    querier: Addr,
    server: Addr,
    suffix: [u8; SUFFIX_MAX],
    suffix_len: u8,
}

impl Key {
    fn suffix(&self) -> &str {
        let n = usize::from(self.suffix_len).min(SUFFIX_MAX);
        std::str::from_utf8(self.suffix.get(..n).unwrap_or(&[])).unwrap_or("")
    }
}

/// A key's window with running sums (O(1) per query; the distinct count
/// and the longest label are computed, O(window), only when the cheap
/// conditions hold).
#[derive(Clone, Debug, Default)]
struct Window {
    q: SmallRing<Entry, 2>,
    sum_len: f64,
    sum_entropy: f64,
    sum_bytes: u64,
    /// Network time of the last notice for this key.
    last_notice: Option<f64>,
}

impl Window {
    fn push(&mut self, e: Entry) {
        let newest = self.q.back().map_or(e.t, |b| b.t.max(e.t));
        while let Some(f) = self.q.front().copied() {
            if self.q.len() < RING && f.t >= newest - WINDOW {
                break;
            }
            self.q.pop_front();
            self.sum_len -= f64::from(f.name_len);
            self.sum_entropy -= f64::from(f.entropy);
            self.sum_bytes = self.sum_bytes.saturating_sub(f.orig_bytes);
        }
        self.q.push_back(e);
        self.sum_len += f64::from(e.name_len);
        self.sum_entropy += f64::from(e.entropy);
        self.sum_bytes = self.sum_bytes.saturating_add(e.orig_bytes);
        if self.q.len() == 1 {
            // Re-anchor the sums (no drift from float subtraction).
            self.sum_len = f64::from(e.name_len);
            self.sum_entropy = f64::from(e.entropy);
            self.sum_bytes = e.orig_bytes;
        }
    }

    /// Distinct name hashes in the window (open addressing on the stack:
    /// twice the ring's slots, so it never fills).
    fn distinct(&self) -> usize {
        let mut slots = [0u64; 2 * RING];
        let mut used = [false; 2 * RING];
        let mut n = 0;
        for e in self.q.iter() {
            let mut i = (e.name_hash as usize) % slots.len();
            loop {
                if !used[i] {
                    used[i] = true;
                    slots[i] = e.name_hash;
                    n += 1;
                    break;
                }
                if slots[i] == e.name_hash {
                    break;
                }
                i = (i + 1) % slots.len();
            }
        }
        n
    }
}

/// The DNS tunnel detector (`dns_tunnel`, notice `ConnScope::DNS_Tunnel`).
///
/// A key raises a notice (in [`Phase::Score`]) when its window holds at
/// least [`MIN_QUERIES`] queries, at least [`MIN_DISTINCT_SHARE`] of them
/// for distinct names, and both the mean name length and the mean entropy
/// are above max(benign p99 learned in training, floor).
#[derive(Clone, Debug)]
pub struct DnsTunnel {
    keys: Lru<Key, Window>,
    /// Training histogram of name lengths (0..=255).
    len_hist: Box<[u64; 256]>,
    /// Training histogram of entropies (bins of 0.01 bit).
    ent_hist: Box<[u64; ENT_BINS]>,
    /// Training queries seen.
    trained: u64,
    /// Benign p99 of name length and entropy (from training or a model).
    p99: Option<(f64, f64)>,
    /// The histograms changed since `p99` was computed.
    dirty: bool,
}

impl Default for DnsTunnel {
    fn default() -> Self {
        DnsTunnel::new()
    }
}

/// The `q`-quantile of a histogram whose bin `i` stands for value `i * scale`.
fn hist_quantile(h: &[u64], total: u64, q: f64, scale: f64) -> f64 {
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (i, &c) in h.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return i as f64 * scale;
        }
    }
    (h.len().saturating_sub(1)) as f64 * scale
}

impl DnsTunnel {
    /// A detector that has learned nothing yet (floors apply).
    pub fn new() -> DnsTunnel {
        DnsTunnel {
            keys: Lru::new(MAX_KEYS),
            len_hist: Box::new([0; 256]),
            ent_hist: Box::new([0; ENT_BINS]),
            trained: 0,
            p99: None,
            dirty: false,
        }
    }

    /// The benign p99 of (name length, entropy): from the training
    /// histograms when they changed since, else from the model.
    fn learned(&self) -> Option<(f64, f64)> {
        if !self.dirty || self.trained == 0 {
            return self.p99;
        }
        Some((
            hist_quantile(&self.len_hist[..], self.trained, 0.99, 1.0),
            hist_quantile(
                &self.ent_hist[..],
                self.trained,
                0.99,
                1.0 / ENT_BINS_PER_BIT,
            ),
        ))
    }

    /// The thresholds in force: (mean name length, mean entropy) must both
    /// exceed these.
    pub fn thresholds(&mut self) -> (f64, f64) {
        if self.dirty {
            self.p99 = self.learned();
            self.dirty = false;
        }
        let (l, e) = self.p99.unwrap_or((0.0, 0.0));
        (l.max(LEN_FLOOR), e.max(ENTROPY_FLOOR))
    }

    fn learn(&mut self, name_len: u16, entropy: f32) {
        let l = usize::from(name_len).min(255);
        self.len_hist[l] += 1;
        let b = (f64::from(entropy) * ENT_BINS_PER_BIT).round();
        let b = if b.is_finite() && b > 0.0 {
            (b as usize).min(ENT_BINS - 1)
        } else {
            0
        };
        self.ent_hist[b] += 1;
        self.trained += 1;
        self.dirty = true;
    }
}

impl HostDetector for DnsTunnel {
    fn name(&self) -> &'static str {
        "dns_tunnel"
    }

    fn observe(
        &mut self,
        c: &ConnSummary,
        _f: &Features,
        phase: Phase,
        out: &mut Vec<NoticeRecord>,
    ) {
        let Some(d) = c.dns else { return };
        if REVERSE_SUFFIXES.contains(&d.suffix()) {
            return;
        }
        if phase == Phase::Train {
            self.learn(d.name_len, d.entropy);
        }
        let key = Key {
            querier: c.orig_h,
            server: c.resp_h,
            suffix: d.suffix,
            suffix_len: d.suffix_len,
        };
        let t = c.start.as_secs_f64();
        let w = self.keys.touch(&key, Window::default);
        w.push(Entry {
            t,
            name_hash: d.name_hash,
            orig_bytes: c.orig_bytes,
            name_len: d.name_len,
            entropy: d.entropy,
            max_label: d.max_label,
        });
        if phase != Phase::Score || w.q.len() < MIN_QUERIES {
            return;
        }
        if w.last_notice
            .is_some_and(|l| t - l < SUPPRESS_FOR && t >= l)
        {
            return;
        }
        let n = w.q.len();
        let (mean_len, mean_ent) = (w.sum_len / n as f64, w.sum_entropy / n as f64);
        let (sum_bytes, first) = (w.sum_bytes, w.q.front().map_or(t, |e| e.t));
        let (len_thr, ent_thr) = self.thresholds();
        if mean_len <= len_thr || mean_ent <= ent_thr {
            return;
        }
        let Some(w) = self.keys.peek(&key) else {
            return;
        };
        let distinct = w.distinct();
        if (distinct as f64) < MIN_DISTINCT_SHARE * n as f64 {
            return;
        }
        let max_label = w.q.iter().map(|e| e.max_label).max().unwrap_or(0);
        let span = (t - first).max(0.0);
        let msg = format!(
            "{} sent {n} DNS queries for {distinct} distinct names under {} to {} in {:.0} s \
             (names {:.0} chars, {:.1} bits/char on average)",
            c.orig_h,
            key.suffix(),
            c.resp_h,
            span,
            mean_len,
            mean_ent
        );
        let sub = format!(
            "queries={n} distinct={distinct} distinct_share={:.2} mean_len={mean_len:.1} \
             mean_entropy={mean_ent:.2} max_label={max_label} orig_bytes={sum_bytes} \
             span={span:.1}s len_threshold={len_thr:.1} entropy_threshold={ent_thr:.2} \
             window={WINDOW:.0}s",
            distinct as f64 / n as f64
        );
        let identifier = format!("{}-{}-{}", c.orig_h, c.resp_h, key.suffix());
        out.push(notice(
            NoticeType::DnsTunnel,
            c,
            Some(c.orig_h),
            Some(c.resp_h),
            Some((c.resp_p, c.transport)),
            Some(n as u64),
            msg,
            sub,
            identifier,
        ));
        let w = self.keys.touch(&key, Window::default);
        w.last_notice = Some(t);
    }

    fn save(&self) -> serde_json::Value {
        match self.learned() {
            Some((l, e)) => serde_json::json!({
                "name_len_p99": l,
                "entropy_p99": e,
                "trained_queries": self.trained,
            }),
            None => serde_json::Value::Null,
        }
    }

    fn load(&mut self, v: &serde_json::Value) -> Result<(), String> {
        if v.is_null() {
            self.p99 = None;
            return Ok(());
        }
        let num = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_f64)
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("dns_tunnel: missing or bad {k}"))
        };
        self.p99 = Some((num("name_len_p99")?, num("entropy_p99")?));
        self.trained = v
            .get("trained_queries")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        self.dirty = false;
        Ok(())
    }

    fn entries(&self) -> usize {
        self.keys.values().map(|w| w.q.len()).sum::<usize>() + self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::service::parse_question;
    use crate::record::ConnState;

    /// A UDP DNS summary `orig → resp:53` at `t` asking for `name`.
    fn dns_conn(orig: [u8; 4], resp: [u8; 4], t: f64, name: &str) -> ConnSummary {
        let mut c = super::super::test_conn(orig, resp, 53, t, ConnState::SF, 0, 0);
        c.transport = crate::conn::Transport::Udp;
        c.ip_proto = 17;
        let mut m = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 16, 0, 1]);
        c.orig_bytes = m.len() as u64;
        c.dns = parse_question(&m);
        assert!(c.dns.is_some(), "{name}");
        c
    }

    /// A pseudo-random base32 label of `n` characters.
    fn base32(x: &mut u64, n: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
        (0..n)
            .map(|_| {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                A[(*x % 32) as usize] as char
            })
            .collect()
    }

    fn run(d: &mut DnsTunnel, conns: &[ConnSummary], phase: Phase) -> Vec<NoticeRecord> {
        let mut out = Vec::new();
        for c in conns {
            d.observe(c, &Features::default(), phase, &mut out);
        }
        out
    }

    fn benign_training(d: &mut DnsTunnel) {
        let names = [
            "www.example.com",
            "mail.google.com",
            "api.github.com",
            "ocsp.digicert.com",
            "update.ubuntu.com",
            "time.cloudflare.com",
        ];
        let conns: Vec<_> = (0..60)
            .map(|i| dns_conn([10, 0, 0, 5], [10, 0, 0, 53], i as f64, names[i % 6]))
            .collect();
        assert!(run(d, &conns, Phase::Train).is_empty());
    }

    #[test]
    fn long_random_names_are_flagged() {
        let mut d = DnsTunnel::new();
        benign_training(&mut d);
        let mut x = 0x1234_5678_9abc_def1u64;
        let conns: Vec<_> = (0..50)
            .map(|i| {
                let name = format!("{}.{}.cdn-sync.net", base32(&mut x, 50), base32(&mut x, 12));
                dns_conn(
                    [10, 66, 0, 24],
                    [10, 66, 0, 99],
                    1000.0 + i as f64 * 0.3,
                    &name,
                )
            })
            .collect();
        let out = run(&mut d, &conns, Phase::Score);
        // Raised once, at the 20th query (then held back for an hour).
        assert_eq!(out.len(), 1, "{out:?}");
        let n = &out[0];
        assert_eq!(n.note, NoticeType::DnsTunnel);
        assert_eq!(n.n, Some(20));
        assert_eq!(n.src, Some(Addr::v4([10, 66, 0, 24])));
        assert_eq!(n.dst, Some(Addr::v4([10, 66, 0, 99])));
        assert_eq!(n.p, Some((53, crate::conn::Transport::Udp)));
        assert_eq!(n.identifier, "10.66.0.24-10.66.0.99-cdn-sync.net");
        assert!(
            n.msg.starts_with(
                "10.66.0.24 sent 20 DNS queries for 20 distinct names under cdn-sync.net to 10.66.0.99 in 6 s (names 76 chars"
            ),
            "{}",
            n.msg
        );
        assert!(n.sub.contains("max_label=50"), "{}", n.sub);
        // The learned bands are below the floors here.
        assert_eq!(d.thresholds(), (LEN_FLOOR, ENTROPY_FLOOR));
    }

    #[test]
    fn short_repeated_names_are_not_flagged() {
        let mut d = DnsTunnel::new();
        benign_training(&mut d);
        let names = ["www.example.com", "cdn.example.com", "img.example.com"];
        let conns: Vec<_> = (0..50)
            .map(|i| {
                dns_conn(
                    [10, 0, 0, 7],
                    [10, 0, 0, 53],
                    500.0 + i as f64,
                    names[i % 3],
                )
            })
            .collect();
        assert!(run(&mut d, &conns, Phase::Score).is_empty());
        // Long names repeated (one name, e.g. a long CDN host polled) are
        // not distinct enough either.
        let mut x = 7u64;
        let long = format!("{}.{}.cdn-sync.net", base32(&mut x, 50), base32(&mut x, 12));
        let conns: Vec<_> = (0..50)
            .map(|i| dns_conn([10, 0, 0, 8], [10, 0, 0, 53], 500.0 + i as f64, &long))
            .collect();
        assert!(run(&mut d, &conns, Phase::Score).is_empty());
    }

    #[test]
    fn nothing_is_raised_in_training_and_window_slides() {
        let mut d = DnsTunnel::new();
        let mut x = 99u64;
        // Tunnel-like names in training raise nothing (and raise the band).
        let conns: Vec<_> = (0..30)
            .map(|i| {
                let name = format!("{}.t.example.org", base32(&mut x, 60));
                dns_conn([10, 0, 0, 9], [10, 0, 0, 53], i as f64, &name)
            })
            .collect();
        assert!(run(&mut d, &conns, Phase::Train).is_empty());
        let (l, e) = d.thresholds();
        assert_eq!(l, 74.0);
        assert!(e > 4.0 && e < 5.0, "{e}");
        // One query every 20 s: the 5-minute window holds 16 at a time, so
        // no notice even with long random names.
        let mut d = DnsTunnel::new();
        let conns: Vec<_> = (0..100)
            .map(|i| {
                let name = format!("{}.t.example.org", base32(&mut x, 60));
                dns_conn([10, 0, 0, 9], [10, 0, 0, 53], i as f64 * 20.0, &name)
            })
            .collect();
        assert!(run(&mut d, &conns, Phase::Score).is_empty());
        let w = d.keys.values().next().expect("one key");
        assert_eq!(w.q.len(), 16);
    }

    #[test]
    fn reverse_lookups_are_not_learned() {
        let mut d = DnsTunnel::new();
        let nibbles: Vec<String> = (0..32).map(|i| format!("{:x}", i % 16)).collect();
        let ptr = format!("{}.ip6.arpa", nibbles.join("."));
        assert_eq!(ptr.len(), 72);
        let conns: Vec<_> = (0..50)
            .map(|i| dns_conn([10, 0, 0, 5], [10, 0, 0, 53], i as f64, &ptr))
            .collect();
        run(&mut d, &conns, Phase::Train);
        assert_eq!(d.trained, 0);
        assert_eq!(d.entries(), 0);
        assert_eq!(d.thresholds(), (LEN_FLOOR, ENTROPY_FLOOR));
    }

    #[test]
    fn save_load_round_trip_and_defaults() {
        let mut d = DnsTunnel::new();
        assert_eq!(d.save(), serde_json::Value::Null);
        benign_training(&mut d);
        let v = d.save();
        assert_eq!(v["name_len_p99"].as_f64(), Some(19.0));
        let mut e = DnsTunnel::new();
        e.load(&v).expect("loads");
        assert_eq!(e.thresholds(), d.thresholds());
        assert!(e.load(&serde_json::json!({"name_len_p99": "x"})).is_err());
        e.load(&serde_json::Value::Null).expect("null loads");
        assert_eq!(e.thresholds(), (LEN_FLOOR, ENTROPY_FLOOR));
    }

    #[test]
    fn keys_are_bounded() {
        let mut d = DnsTunnel::new();
        for i in 0..(MAX_KEYS + 100) {
            let q = [10, 1, (i >> 8) as u8, i as u8];
            let c = dns_conn(q, [10, 0, 0, 53], i as f64, "www.example.com");
            run(&mut d, &[c], Phase::Score);
        }
        assert_eq!(d.keys.len(), MAX_KEYS);
    }
}
