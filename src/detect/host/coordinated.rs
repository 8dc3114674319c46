//! Coordinated: several internal hosts contacting the same rare external
//! destination within a short time of each other — the signature of a
//! shared infection calling home, a phishing link clicked by several
//! people, or a worm's download server.
//!
//! Owns the set of external destinations contacted in training (the
//! known destinations, up to [`MAX_TRAINED`]) and, per destination first
//! contacted while scoring, its first-contact time and the distinct internal
//! originators seen within [`WINDOW_SECS`] (10 min) of it (at most
//! [`MAX_ORIGS`] listed).
//!
//! Only connections from an internal host to an external one count
//! (`local_orig` = true and `local_resp` = false; nothing counts when no
//! local networks are configured), never to multicast or broadcast
//! addresses. Rule (in [`Phase::Score`]): a
//! destination not contacted in training, reached by at least
//! [`MIN_HOSTS`] (3) distinct internal hosts within 10 minutes of its first
//! contact. A destination whose window has passed without that is settled
//! (remembered as ordinary) and never raises later.
//!
//! Why these numbers: one host reaching a new address is everyday
//! browsing; two can be a shared link; three unrelated hosts reaching the
//! same never-seen address within minutes is rare in benign traffic
//! (popular services are already known from training) and is what a
//! campaign produces. Ten minutes covers a beacon interval of several
//! minutes and the spread of an e-mail through a team. Limitation: a
//! content-delivery network that moves a popular service to new addresses
//! can trigger it; the training set of destinations and the stage's
//! per-destination suppression bound the noise.
//!
//! Must not: use addresses as anything but keys, read a clock (time is
//! `logged_at`), or grow without bound (at most [`MAX_DESTS`] destinations,
//! the least recently seen evicted first; at most [`MAX_TRAINED`] learned).

use super::{notice, HostDetector, Phase};
use super::{Map as HashMap, Set as HashSet};
use crate::context::Features;
use crate::decode::Addr;
use crate::detect::json_scan::Cursor;
use crate::record::{ConnSummary, NoticeRecord, NoticeType};
use crate::time::SEC;

/// Window after a destination's first contact, seconds.
pub const WINDOW_SECS: i64 = 600;
/// Distinct internal hosts that raise.
pub const MIN_HOSTS: usize = 3;
/// Internal hosts listed per destination (counting stops there).
pub const MAX_ORIGS: usize = 32;
/// Hosts named in a message.
pub const LIST_HOSTS: usize = 5;
/// Destinations first contacted in scoring, held at most.
pub const MAX_DESTS: usize = 65_536;
/// Destinations learned in training, held at most.
pub const MAX_TRAINED: usize = 65_536;

/// One destination first contacted while scoring.
#[derive(Clone, Debug, Default)]
struct Dest {
    /// First contact (ns).
    first: i64,
    /// Last contact (ns), for eviction.
    last: i64,
    /// Distinct internal originators within the window, in order of contact.
    origs: Vec<Addr>,
    /// The window has passed: an ordinary destination from now on.
    settled: bool,
}

/// The coordinated-contact detector (see the module docs).
#[derive(Default)]
pub struct Coordinated {
    /// External destinations contacted in training.
    known: HashSet<Addr>,
    /// Destinations first contacted in scoring.
    dests: HashMap<Addr, Dest>,
}

impl Coordinated {
    /// An empty detector.
    pub fn new() -> Coordinated {
        Coordinated::default()
    }

    fn evict(&mut self) {
        if self.dests.len() <= MAX_DESTS {
            return;
        }
        // Drop the least recently seen quarter at once: O(1) amortised.
        let keep = MAX_DESTS - MAX_DESTS / 4;
        let mut ages: Vec<(i64, Addr)> = self.dests.iter().map(|(k, d)| (d.last, *k)).collect();
        let drop = ages.len() - keep;
        // Ties in age are broken by the key, so what is dropped does not
        // depend on the hash seed (the same output on every run).
        ages.select_nth_unstable(drop);
        for (_, k) in ages.iter().take(drop) {
            self.dests.remove(k);
        }
    }
}

/// The known destinations of [`HostDetector::save`]'s form at `c` (the
/// first [`MAX_TRAINED`]; other keys checked and ignored); `None` for
/// anything else.
fn read_known(c: &mut Cursor) -> Option<Vec<Addr>> {
    let mut known = None;
    c.object(|key, c| {
        if key != "known_destinations" {
            return c.value().map(drop);
        }
        if known.is_some() {
            return None;
        }
        let mut v = Vec::new();
        c.array(|c| {
            let a = c.plain_str()?;
            if v.len() < MAX_TRAINED {
                v.push(super::parse_addr(a)?);
            }
            Some(())
        })?;
        known = Some(v);
        Some(())
    })?;
    known
}

impl HostDetector for Coordinated {
    fn name(&self) -> &'static str {
        "coordinated"
    }

    fn observe(
        &mut self,
        c: &ConnSummary,
        _f: &Features,
        phase: Phase,
        out: &mut Vec<NoticeRecord>,
    ) {
        if c.local_orig != Some(true) || c.local_resp != Some(false) || c.interim {
            return;
        }
        let dst = c.resp_h;
        // Multicast and broadcast (mDNS, SSDP, neighbour discovery) are not
        // destinations anyone chose.
        if dst.is_multicast() || dst.is_v4_broadcast() {
            return;
        }
        if phase == Phase::Train {
            if self.known.len() < MAX_TRAINED {
                self.known.insert(dst);
            }
            return;
        }
        if self.known.contains(&dst) {
            return;
        }
        let t = c.logged_at.0;
        let fresh = !self.dests.contains_key(&dst);
        let d = self.dests.entry(dst).or_insert_with(|| Dest {
            first: t,
            ..Dest::default()
        });
        d.last = t;
        if !d.settled && t > d.first + WINDOW_SECS * SEC {
            d.settled = true;
            d.origs = Vec::new();
        }
        if d.settled || d.origs.contains(&c.orig_h) {
            return;
        }
        if d.origs.len() < MAX_ORIGS {
            d.origs.push(c.orig_h);
        }
        let n = d.origs.len();
        if n >= MIN_HOSTS {
            let span = (t - d.first) as f64 / SEC as f64;
            let names: Vec<String> = d
                .origs
                .iter()
                .take(LIST_HOSTS)
                .map(|a| a.to_string())
                .collect();
            let more = if n > LIST_HOSTS {
                format!(" and {} more", n - LIST_HOSTS)
            } else {
                String::new()
            };
            let msg = format!(
                "{n} internal hosts ({}{more}) contacted {dst}, an external address not seen in training, within {span:.0} s of its first contact",
                names.join(", ")
            );
            let sub = format!(
                "hosts={n} window_s={WINDOW_SECS} span_s={span:.1} min_hosts={MIN_HOSTS} known_destinations={} first_host={}",
                self.known.len(),
                d.origs.first().map(|a| a.to_string()).unwrap_or_default()
            );
            let first = d.origs.first().copied();
            out.push(notice(
                NoticeType::Coordinated,
                c,
                first,
                Some(dst),
                Some((c.resp_p, c.transport)),
                Some(n as u64),
                msg,
                sub,
                dst.to_string(),
            ));
        }
        if fresh {
            self.evict();
        }
    }

    fn save(&self) -> serde_json::Value {
        let mut known: Vec<Addr> = self.known.iter().copied().collect();
        known.sort();
        let known: Vec<String> = known.iter().map(|a| a.to_string()).collect();
        serde_json::json!({ "known_destinations": known })
    }

    /// [`HostDetector::save`]'s form read in one pass (the addresses
    /// borrowed from the text); anything else, an error too, through a
    /// JSON tree and [`load`](HostDetector::load), which names it.
    fn load_raw(&mut self, raw: &str) -> Result<(), String> {
        match Cursor::whole(raw, read_known) {
            Some(known) => {
                self.known.clear();
                self.dests.clear();
                self.known.extend(known);
                Ok(())
            }
            None => {
                let v: serde_json::Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
                self.load(&v)
            }
        }
    }

    fn load(&mut self, v: &serde_json::Value) -> Result<(), String> {
        self.known.clear();
        self.dests.clear();
        if v.is_null() {
            return Ok(());
        }
        let list = v
            .get("known_destinations")
            .and_then(|k| k.as_array())
            .ok_or("coordinated: missing known_destinations")?;
        for a in list.iter().take(MAX_TRAINED) {
            let s = a.as_str().ok_or("coordinated: address is not a string")?;
            let ip: std::net::IpAddr = s
                .parse()
                .map_err(|_| format!("coordinated: bad address {s}"))?;
            self.known.insert(Addr::from_ip(ip));
        }
        Ok(())
    }

    fn entries(&self) -> usize {
        self.known.len() + self.dests.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_conn;
    use super::*;
    use crate::record::ConnState;

    const EXT: [u8; 4] = [203, 0, 113, 5];
    const T: f64 = 1_795_315_860.0;

    fn out_conn(orig: [u8; 4], resp: [u8; 4], t: f64) -> ConnSummary {
        let mut c = test_conn(orig, resp, 443, t, ConnState::SF, 600, 4000);
        c.local_orig = Some(true);
        c.local_resp = Some(false);
        c
    }

    fn feed(d: &mut Coordinated, cs: &[ConnSummary], phase: Phase) -> Vec<NoticeRecord> {
        let mut out = Vec::new();
        for c in cs {
            d.observe(c, &Features::default(), phase, &mut out);
        }
        out
    }

    fn host(i: u8) -> [u8; 4] {
        [10, 0, 0, i]
    }

    #[test]
    fn three_hosts_to_new_destination_are_flagged() {
        let mut d = Coordinated::new();
        let cs = [
            out_conn(host(1), EXT, T),
            out_conn(host(1), EXT, T + 30.0),
            out_conn(host(2), EXT, T + 60.0),
            out_conn(host(3), EXT, T + 95.0),
        ];
        let out = feed(&mut d, &cs, Phase::Score);
        assert_eq!(out.len(), 1);
        let n = &out[0];
        assert_eq!(n.note, NoticeType::Coordinated);
        assert_eq!(n.n, Some(3));
        assert_eq!(n.src, Some(Addr::v4(host(1))));
        assert_eq!(n.dst, Some(Addr::v4(EXT)));
        assert_eq!(n.p, Some((443, crate::conn::Transport::Tcp)));
        assert_eq!(n.identifier, "203.0.113.5");
        assert_eq!(
            n.msg,
            "3 internal hosts (10.0.0.1, 10.0.0.2, 10.0.0.3) contacted 203.0.113.5, an external address not seen in training, within 95 s of its first contact"
        );
    }

    #[test]
    fn two_hosts_are_not_flagged() {
        let mut d = Coordinated::new();
        let cs: Vec<_> = (0..20)
            .map(|i| out_conn(host(1 + (i % 2) as u8), EXT, T + f64::from(i)))
            .collect();
        assert!(feed(&mut d, &cs, Phase::Score).is_empty());
    }

    #[test]
    fn destination_known_from_training_is_not_flagged() {
        let mut d = Coordinated::new();
        assert!(feed(&mut d, &[out_conn(host(9), EXT, T - 500.0)], Phase::Train).is_empty());
        let saved = d.save();
        assert_eq!(
            saved,
            serde_json::json!({ "known_destinations": ["203.0.113.5"] })
        );
        let mut e = Coordinated::new();
        e.load(&saved).unwrap_or_else(|err| panic!("{err}"));
        let cs: Vec<_> = (1..=40)
            .map(|i| out_conn(host(i), EXT, T + f64::from(i)))
            .collect();
        assert!(feed(&mut d, &cs, Phase::Score).is_empty());
        assert!(feed(&mut e, &cs, Phase::Score).is_empty());
        // Without the model the same traffic raises, with the count growing.
        let mut f = Coordinated::new();
        f.load(&serde_json::Value::Null)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(f.save(), serde_json::json!({ "known_destinations": [] }));
        let out = feed(&mut f, &cs, Phase::Score);
        assert_eq!(out.len(), 38);
        assert_eq!(out[37].n, Some(MAX_ORIGS as u64));
        assert!(
            out[2].msg.starts_with(
                "5 internal hosts (10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5) contacted"
            ),
            "{}",
            out[2].msg
        );
        assert!(
            out[3].msg.contains("10.0.0.5 and 1 more) contacted"),
            "{}",
            out[3].msg
        );
        assert!(e
            .load(&serde_json::json!({ "known_destinations": ["x"] }))
            .is_err());
    }

    #[test]
    fn hosts_spread_beyond_the_window_are_not_flagged() {
        let mut d = Coordinated::new();
        let cs = [
            out_conn(host(1), EXT, T),
            out_conn(host(2), EXT, T + 300.0),
            // The third comes 11 minutes after the first contact.
            out_conn(host(3), EXT, T + 660.0),
            out_conn(host(4), EXT, T + 700.0),
        ];
        assert!(feed(&mut d, &cs, Phase::Score).is_empty());
    }

    #[test]
    fn only_internal_to_external_counts() {
        let mut d = Coordinated::new();
        let mut cs = Vec::new();
        for i in 1..=5u8 {
            // internal -> internal
            cs.push(test_conn(
                host(i),
                [10, 0, 0, 200],
                443,
                T,
                ConnState::SF,
                1,
                1,
            ));
            // external -> internal
            let mut c = out_conn([198, 51, 100, i], [10, 0, 0, 200], T);
            c.local_orig = Some(false);
            c.local_resp = Some(true);
            cs.push(c);
            // no local networks configured
            let mut c = out_conn(host(i), EXT, T);
            c.local_orig = None;
            c.local_resp = None;
            cs.push(c);
        }
        // Multicast and broadcast: mDNS, neighbour discovery, 255.255.255.255.
        for i in 1..=5u8 {
            cs.push(out_conn(host(i), [224, 0, 0, 251], T));
            cs.push(out_conn(host(i), [255, 255, 255, 255], T));
            let mut c = out_conn(host(i), EXT, T);
            let mut nd = [0u8; 16];
            nd[0] = 0xff;
            nd[1] = 0x02;
            nd[15] = 0x16;
            c.resp_h = Addr(nd);
            cs.push(c);
        }
        assert!(feed(&mut d, &cs, Phase::Score).is_empty());
        assert_eq!(d.entries(), 0);
        // Training raises nothing.
        let cs: Vec<_> = (1..=5).map(|i| out_conn(host(i), EXT, T)).collect();
        assert!(feed(&mut d, &cs, Phase::Train).is_empty());
    }

    #[test]
    fn tables_stay_bounded() {
        let mut d = Coordinated::new();
        let mut out = Vec::new();
        for i in 0..(MAX_DESTS as u32 + 1000) {
            let b = i.to_be_bytes();
            let c = out_conn(host(1), [100, b[1], b[2], b[3]], T + f64::from(i) * 0.001);
            d.observe(&c, &Features::default(), Phase::Score, &mut out);
        }
        assert!(d.entries() <= MAX_DESTS);
        assert!(out.is_empty());
    }
}
