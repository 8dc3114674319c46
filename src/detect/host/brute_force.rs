//! Brute force: many short, similar connections from one host to one
//! service on one server (password guessing against ssh, ftp, smtp, pop3,
//! telnet, rdp, databases, or a web login).
//!
//! Owns one sliding window per (originator, responder, [`ServiceClass`]):
//! the recent *attempts* (TCP connections whose handshake completed, that
//! carried data from the originator and lasted under [`SHORT_SECS`]), each
//! with the quarter-octave bucket of its `orig_bytes`. A guessing tool sends
//! the same protocol messages every time, so its attempts repeat one size;
//! people's sessions vary in length and content.
//!
//! Rule (raised in [`Phase::Score`] when an attempt arrives):
//! - login services ([`is_login_class`]: ssh, ftp, smtp, pop3, imap,
//!   telnet, rdp, vnc, ldap, smb, databases): at least [`LOGIN_MIN`] (10)
//!   attempts within [`WINDOW_SECS`] (5 min), of which at least
//!   [`LOGIN_SHARE`] (50 %) fall in one size band;
//! - any other TCP class (http, ssl, unknown ports): at least [`OTHER_MIN`]
//!   (100) attempts in 5 min — one every 3 s, sustained — of which at least
//!   [`OTHER_SHARE`] (80 %) in one size band, because browsers and API
//!   clients legitimately open many similar short connections;
//! - never for UDP/ICMP or for classes whose connections are not logins
//!   (dns, ntp, dhcp, ftp-data, syslog, tunnels, ...).
//!
//! Why these numbers: a person logging in by hand makes a few connections a
//! minute at most and their sizes differ (commands, scp payloads); 10 in
//! 5 min is already more than one every 30 s. A guessing tool that re-uses
//! each connection for several passwords (hydra against OpenSSH, 6 tries per
//! connection) still needs 10 connections for 60 guesses. "One size band"
//! is a quarter-octave bucket together with its upper neighbour (sizes
//! within about ±20 % of each other), wide enough for the few bytes a
//! password's length changes, narrow enough to separate a login from a
//! session that ran a command.
//!
//! Training learns which (originator, responder, class) keys already met
//! the rule on benign traffic (a monitoring job that logs in every 20 s);
//! those keys are not raised in scoring.
//!
//! Must not: use addresses as anything but keys, read a clock (time is
//! `logged_at`), or grow without bound (at most [`MAX_KEYS`] keys, the least
//! recently seen evicted first; at most [`RING`] attempts per key).

use super::ring::SmallRing;
use super::{notice, HostDetector, Phase};
use super::{Map as HashMap, Set as HashSet};
use crate::conn::service::Service;
use crate::conn::Transport;
use crate::context::Features;
use crate::decode::Addr;
use crate::detect::features::ServiceClass;
use crate::record::{ConnSummary, NoticeRecord, NoticeType};
use crate::time::SEC;

/// Length of the sliding window, seconds.
pub const WINDOW_SECS: i64 = 300;
/// Longest duration of an attempt, seconds.
pub const SHORT_SECS: f64 = 30.0;
/// Attempts in the window that raise for a login service.
pub const LOGIN_MIN: usize = 10;
/// Share of those in one size band, for a login service.
pub const LOGIN_SHARE: f64 = 0.5;
/// Attempts in the window that raise for any other TCP class.
pub const OTHER_MIN: usize = 100;
/// Share in one size band, for any other TCP class.
pub const OTHER_SHARE: f64 = 0.8;
/// Attempts kept per key (the most recent).
pub const RING: usize = 256;
/// Keys held at most.
pub const MAX_KEYS: usize = 8_192;
/// Keys learned in training held at most.
pub const MAX_TRAINED: usize = 4_096;

const BUCKETS: usize = 160;

type Key = (Addr, Addr, ServiceClass);

/// Whether a class (with the responder port, for `tcp/high`) is a login
/// service: each connection is a login attempt.
pub fn is_login_class(c: ServiceClass, resp_p: u16) -> bool {
    match c {
        ServiceClass::Service(s) => {
            matches!(
                s,
                Service::Ssh | Service::Ftp | Service::Smtp | Service::Pop3 | Service::Rdp
            ) || s == Service::Redis
        }
        ServiceClass::Port(Transport::Tcp, p) => matches!(
            p,
            21 | 22 | 23 | 25 | 110 | 143 | 389 | 445 | 465 | 513 | 587 | 636 | 993 | 995
        ),
        // Login services on ports >= 1024: mssql, mysql, rdp, postgres,
        // vnc, redis, mongodb.
        ServiceClass::High(Transport::Tcp) => {
            matches!(resp_p, 1433 | 3306 | 3389 | 5432 | 5900 | 6379 | 27017)
        }
        _ => false,
    }
}

/// Classes that are never login attempts.
fn never(c: ServiceClass) -> bool {
    match c {
        ServiceClass::Service(s) => matches!(
            s,
            Service::Dns
                | Service::FtpData
                | Service::Dhcp
                | Service::Ntp
                | Service::Quic
                | Service::Syslog
                | Service::SyslogTcp
                | Service::IrcDccData
                | Service::Vxlan
                | Service::Geneve
                | Service::Teredo
                | Service::Ayiya
                | Service::Gtpv1
                | Service::Modbus
        ),
        ServiceClass::Icmp => true,
        _ => false,
    }
}

/// Quarter-octave bucket of a byte count (0 for 0 bytes).
fn bucket(bytes: u64) -> usize {
    if bytes == 0 {
        return 0;
    }
    let b = ((bytes as f64).log2() * 4.0).floor() as usize + 1;
    b.min(BUCKETS - 1)
}

/// Attempts from which a key keeps its size histogram ([`Pair::counts`]):
/// below [`LOGIN_MIN`] attempts no rule can fire, so the histogram is built
/// from the window only when a key reaches it, and dropped below half.
const COUNT_FROM: usize = LOGIN_MIN;

/// One key's window.
#[derive(Default)]
struct Pair {
    /// The pair's last notice.
    quiet: super::Quiet,
    /// (logged_at ns, size bucket) of each attempt, oldest first.
    ring: SmallRing<(i64, u8), 4>,
    /// Attempts per bucket in `ring`, while kept (see [`COUNT_FROM`]).
    counts: Option<Box<[u16; BUCKETS]>>,
    /// When the key last saw an attempt (ns), for eviction.
    last_seen: i64,
}

impl Pair {
    fn push(&mut self, t: i64, b: usize) {
        self.expire(t);
        if self.ring.len() >= RING {
            self.pop();
        }
        self.ring.push_back((t, b as u8));
        if let Some(c) = self.counts.as_mut().and_then(|c| c.get_mut(b)) {
            *c = c.saturating_add(1);
        }
        if self.ring.len() < COUNT_FROM / 2 {
            self.counts = None;
        }
        self.last_seen = t;
    }

    fn pop(&mut self) {
        if let Some((_, b)) = self.ring.pop_front() {
            if let Some(c) = self.counts.as_mut().and_then(|c| c.get_mut(b as usize)) {
                *c = c.saturating_sub(1);
            }
        }
    }

    fn expire(&mut self, now: i64) {
        while let Some(&(t, _)) = self.ring.front() {
            if t >= now - WINDOW_SECS * SEC {
                break;
            }
            self.pop();
        }
    }

    /// The most common size band: (attempts in it, its lowest bucket).
    fn mode(&mut self) -> (usize, usize) {
        let ring = &self.ring;
        let counts = self.counts.get_or_insert_with(|| {
            let mut c = Box::new([0u16; BUCKETS]);
            for &(_, b) in ring.iter() {
                if let Some(n) = c.get_mut(usize::from(b)) {
                    *n = n.saturating_add(1);
                }
            }
            c
        });
        let mut best = (0usize, 0usize);
        for b in 0..BUCKETS {
            let here = usize::from(counts.get(b).copied().unwrap_or(0))
                + usize::from(counts.get(b + 1).copied().unwrap_or(0));
            if here > best.0 {
                best = (here, b);
            }
        }
        best
    }
}

/// The brute-force detector (see the module docs).
#[derive(Default)]
pub struct BruteForce {
    pairs: HashMap<Key, Pair>,
    /// Keys that met the rule in training.
    trained: HashSet<Key>,
}

impl BruteForce {
    /// An empty detector.
    pub fn new() -> BruteForce {
        BruteForce::default()
    }

    fn evict(&mut self) {
        if self.pairs.len() <= MAX_KEYS {
            return;
        }
        // Drop the least recently seen quarter at once: O(1) amortised.
        let keep = MAX_KEYS - MAX_KEYS / 4;
        let mut ages: Vec<(i64, Key)> = self.pairs.iter().map(|(k, p)| (p.last_seen, *k)).collect();
        let drop = ages.len() - keep;
        // Ties in age are broken by the key, so what is dropped does not
        // depend on the hash seed (the same output on every run).
        ages.select_nth_unstable(drop);
        for (_, k) in ages.iter().take(drop) {
            self.pairs.remove(k);
        }
    }
}

fn key_text(k: &Key) -> String {
    format!("{}|{}|{}", k.0, k.1, k.2)
}

fn parse_key(s: &str) -> Option<Key> {
    let mut it = s.splitn(3, '|');
    let o: std::net::IpAddr = it.next()?.parse().ok()?;
    let r: std::net::IpAddr = it.next()?.parse().ok()?;
    let c = ServiceClass::parse(it.next()?)?;
    Some((Addr::from_ip(o), Addr::from_ip(r), c))
}

impl HostDetector for BruteForce {
    fn name(&self) -> &'static str {
        "brute_force"
    }

    fn observe(
        &mut self,
        c: &ConnSummary,
        _f: &Features,
        phase: Phase,
        out: &mut Vec<NoticeRecord>,
    ) {
        if c.transport != Transport::Tcp || c.interim {
            return;
        }
        let class = ServiceClass::of(c);
        if never(class) {
            return;
        }
        let attempt = c.conn_state.established() && c.orig_bytes > 0 && c.duration() < SHORT_SECS;
        if !attempt {
            return;
        }
        let login = is_login_class(class, c.resp_p);
        let (min, share) = if login {
            (LOGIN_MIN, LOGIN_SHARE)
        } else {
            (OTHER_MIN, OTHER_SHARE)
        };
        let key = (c.orig_h, c.resp_h, class);
        let t = c.logged_at.0;
        let p = self.pairs.entry(key).or_default();
        p.push(t, bucket(c.orig_bytes));
        let n = p.ring.len();
        if n < min {
            self.evict();
            return;
        }
        let (in_mode, band) = p.mode();
        let frac = in_mode as f64 / n as f64;
        if frac < share {
            self.evict();
            return;
        }
        let first = p.ring.front().map_or(t, |f| f.0);
        let span = (t - first) as f64 / SEC as f64;
        self.evict();
        match phase {
            Phase::Train => {
                if self.trained.len() < MAX_TRAINED {
                    self.trained.insert(key);
                }
            }
            Phase::Score => {
                if self.trained.contains(&key)
                    || self
                        .pairs
                        .get_mut(&key)
                        .is_some_and(|p| !p.quiet.ready(c.logged_at))
                {
                    return;
                }
                let lo = 2f64.powf((band.max(1) - 1) as f64 / 4.0);
                let hi = 2f64.powf((band + 1) as f64 / 4.0);
                let msg = format!(
                    "{} made {} short connections to {} on {}:{} in {:.0} s, {} of them ({:.0} %) sending {:.0}-{:.0} bytes",
                    c.orig_h,
                    n,
                    class,
                    c.resp_h,
                    c.resp_p,
                    span,
                    in_mode,
                    frac * 100.0,
                    lo.floor(),
                    hi.ceil(),
                );
                let sub = format!(
                    "class={class} login_service={login} attempts={n} window_s={WINDOW_SECS} span_s={span:.1} same_size={in_mode} share={frac:.2} min={min} min_share={share}"
                );
                out.push(notice(
                    NoticeType::BruteForce,
                    c,
                    Some(c.orig_h),
                    Some(c.resp_h),
                    Some((c.resp_p, c.transport)),
                    Some(n as u64),
                    msg,
                    sub,
                    format!("{}-{}-{}", c.orig_h, c.resp_h, class),
                ));
            }
        }
    }

    fn save(&self) -> serde_json::Value {
        let mut keys: Vec<String> = self.trained.iter().map(key_text).collect();
        keys.sort();
        serde_json::json!({ "trained_keys": keys })
    }

    fn load(&mut self, v: &serde_json::Value) -> Result<(), String> {
        self.trained.clear();
        if v.is_null() {
            return Ok(());
        }
        let keys = v
            .get("trained_keys")
            .and_then(|k| k.as_array())
            .ok_or("brute_force: missing trained_keys")?;
        for k in keys.iter().take(MAX_TRAINED) {
            let s = k.as_str().ok_or("brute_force: key is not a string")?;
            let key = parse_key(s).ok_or_else(|| format!("brute_force: bad key {s}"))?;
            self.trained.insert(key);
        }
        Ok(())
    }

    fn entries(&self) -> usize {
        self.pairs.len() + self.trained.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_conn;
    use super::super::SUPPRESS_FOR;
    use super::*;
    use crate::record::ConnState;
    use crate::time::Ts;

    fn conn(orig: [u8; 4], resp: [u8; 4], port: u16, t: f64, dur: f64, ob: u64) -> ConnSummary {
        let mut c = test_conn(orig, resp, port, t + dur, ConnState::SF, ob, 2000);
        c.start = Ts(((t) * 1e9) as i64);
        if port == 22 {
            c.service = Some(Service::Ssh);
        }
        c
    }

    fn run(d: &mut BruteForce, cs: &[ConnSummary], phase: Phase) -> Vec<NoticeRecord> {
        let mut out = Vec::new();
        for c in cs {
            d.observe(c, &Features::default(), phase, &mut out);
        }
        out
    }

    const ATT: [u8; 4] = [10, 66, 0, 66];
    const FILES: [u8; 4] = [10, 66, 0, 12];

    /// hydra-like: 13 connections in bursts of 4-5 every 32 s, ~1.6 KB each.
    fn hydra(t0: f64) -> Vec<ConnSummary> {
        let sizes = [
            1155, 1607, 1607, 1607, 1607, 1607, 1607, 1599, 1607, 1607, 1599, 1607, 1531,
        ];
        sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let burst = if i < 5 { 0 } else { 1 + (i - 5) / 4 };
                conn(
                    ATT,
                    FILES,
                    22,
                    t0 + burst as f64 * 32.3 + i as f64 * 0.01,
                    0.4,
                    s,
                )
            })
            .collect()
    }

    #[test]
    fn hydra_ssh_is_flagged_at_ten() {
        let mut d = BruteForce::new();
        let out = run(&mut d, &hydra(1000.0), Phase::Score);
        assert_eq!(out.len(), 1, "raised at attempt 10, repeats not built");
        let n = &out[0];
        assert_eq!(n.note, NoticeType::BruteForce);
        assert_eq!(n.n, Some(10));
        assert_eq!(n.src, Some(Addr::v4(ATT)));
        assert_eq!(n.dst, Some(Addr::v4(FILES)));
        assert_eq!(n.p, Some((22, Transport::Tcp)));
        assert!(
            n.msg
                .starts_with("10.66.0.66 made 10 short connections to ssh on 10.66.0.12:22"),
            "{}",
            n.msg
        );
        assert!(n.msg.contains("9 of them (90 %)"), "{}", n.msg);
        assert_eq!(n.identifier, "10.66.0.66-10.66.0.12-ssh");
        // After the suppression interval the pair is noticed again.
        let again = run(&mut d, &hydra(1000.0 + SUPPRESS_FOR + 10.0), Phase::Score);
        assert!(!again.is_empty());
    }

    #[test]
    fn train_raises_nothing_and_remembers_key() {
        let mut d = BruteForce::new();
        assert!(run(&mut d, &hydra(1000.0), Phase::Train).is_empty());
        let saved = d.save();
        let mut e = BruteForce::new();
        e.load(&saved).unwrap_or_else(|err| panic!("{err}"));
        assert!(run(&mut e, &hydra(5000.0), Phase::Score).is_empty());
        let mut f = BruteForce::new();
        f.load(&serde_json::Value::Null)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(f.save(), serde_json::json!({ "trained_keys": [] }));
        assert_eq!(run(&mut f, &hydra(5000.0), Phase::Score).len(), 1);
    }

    #[test]
    fn developer_ssh_sessions_are_not_flagged() {
        // A developer: one-shot commands, interactive logins and scp to the
        // same server, a few a minute for 10 minutes, varied sizes.
        let mut d = BruteForce::new();
        let mut cs = Vec::new();
        let sizes = [
            4429, 3721, 4549, 4693, 4301, 5341, 3689, 5629, 7069, 7249, 3585, 3713,
        ];
        for i in 0..40 {
            let t = 1000.0 + i as f64 * 15.0;
            let dur = [0.25, 20.0, 0.3, 45.0, 0.2][i % 5];
            cs.push(conn(
                [10, 66, 0, 22],
                FILES,
                22,
                t,
                dur,
                sizes[i % sizes.len()] * (1 + (i as u64 % 3)),
            ));
        }
        assert!(run(&mut d, &cs, Phase::Score).is_empty());
    }

    #[test]
    fn slow_or_varied_logins_are_not_flagged() {
        let mut d = BruteForce::new();
        // 9 identical attempts in 5 min: below the count.
        let cs: Vec<_> = (0..9)
            .map(|i| conn(ATT, FILES, 22, 1000.0 + i as f64 * 30.0, 0.4, 1607))
            .collect();
        assert!(run(&mut d, &cs, Phase::Score).is_empty());
        // 20 attempts, sizes spread over octaves: no size repeats.
        let mut d = BruteForce::new();
        let cs: Vec<_> = (0..20)
            .map(|i| {
                conn(
                    ATT,
                    FILES,
                    22,
                    1000.0 + i as f64,
                    0.4,
                    500 + 400 * i as u64 * i as u64,
                )
            })
            .collect();
        assert!(run(&mut d, &cs, Phase::Score).is_empty());
        // 12 identical attempts spread over 12 minutes: never 10 in 5 min.
        let mut d = BruteForce::new();
        let cs: Vec<_> = (0..12)
            .map(|i| conn(ATT, FILES, 22, 1000.0 + i as f64 * 60.0, 0.4, 1607))
            .collect();
        assert!(run(&mut d, &cs, Phase::Score).is_empty());
        // Failed (S0) connections are not attempts.
        let mut d = BruteForce::new();
        let cs: Vec<_> = (0..30)
            .map(|i| test_conn(ATT, FILES, 22, 1000.0 + i as f64, ConnState::S0, 0, 0))
            .collect();
        assert!(run(&mut d, &cs, Phase::Score).is_empty());
    }

    #[test]
    fn web_needs_many_more_attempts() {
        let web = [10, 66, 0, 10];
        let mut d = BruteForce::new();
        let mut cs: Vec<_> = (0..99)
            .map(|i| conn(ATT, web, 80, 1000.0 + i as f64, 0.1, 520))
            .collect();
        assert!(
            run(&mut d, &cs, Phase::Score).is_empty(),
            "99 similar web requests"
        );
        cs = vec![conn(ATT, web, 80, 1100.0, 0.1, 520)];
        let out = run(&mut d, &cs, Phase::Score);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].n, Some(100));
        assert!(
            out[0].msg.contains("100 short connections to tcp/80"),
            "{}",
            out[0].msg
        );
        // DNS never counts.
        let mut d = BruteForce::new();
        let cs: Vec<_> = (0..200)
            .map(|i| {
                let mut c = conn(ATT, web, 53, 1000.0 + i as f64, 0.1, 40);
                c.service = Some(Service::Dns);
                c
            })
            .collect();
        assert!(run(&mut d, &cs, Phase::Score).is_empty());
    }

    #[test]
    fn tables_stay_bounded() {
        let mut d = BruteForce::new();
        let mut out = Vec::new();
        for i in 0..(MAX_KEYS as u32 + 5000) {
            let b = i.to_be_bytes();
            let c = conn(
                [10, b[1], b[2], b[3]],
                FILES,
                22,
                1000.0 + f64::from(i) * 0.001,
                0.4,
                1607,
            );
            d.observe(&c, &Features::default(), Phase::Score, &mut out);
        }
        assert!(d.entries() <= MAX_KEYS);
        let mut p = Pair::default();
        for i in 0..1000 {
            p.push(i * SEC / 100, 3);
        }
        assert_eq!(p.ring.len(), RING);
        assert_eq!(p.mode().0, RING);
    }
}
