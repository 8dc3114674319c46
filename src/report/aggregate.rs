//! The figures on the page, computed from a [`Dataset`]: the summary, the
//! score histogram and threshold, the top connections by score, notices
//! with their connections, per-host series with a learned band, and the
//! clusters of anomalous connections.
//!
//! Per-host series and their bands are in [`super::hosts`].
//!
//! Must not: read files (except through [`load::details`]) or format HTML.

use super::cluster::{self, Clustering, DIMS};
pub use super::hosts::{
    band_series, interval, BandCtx, Base, HostRow, HostSeries, Point, HOST_TABLE_MAX,
    MAX_INTERVALS, SERIES, WARMUP,
};
use super::load::{self, Dataset, Detail, NONE};
use super::{Options, ReportError, Threshold};
use crate::detect::host::host_volume;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Notices listed (the first, by time).
pub const NOTICES_MAX: usize = 1000;
/// Connections listed per notice.
pub const NOTICE_CONNS_MAX: usize = 50;
/// Clusters listed.
pub const CLUSTERS_MAX: usize = 50;
/// Histogram bins.
pub const BINS: usize = 60;

/// Capture-wide figures.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Earliest connection start.
    pub first: f64,
    /// Latest connection end (`ts + duration`).
    pub last: f64,
    /// Connections.
    pub conns: u64,
    /// Connections per protocol, most first.
    pub protos: Vec<(String, u64)>,
    /// Connections per `conn_state`, most first.
    pub states: Vec<(String, u64)>,
    /// Connections per service (a connection with `dns,http` counts for
    /// both; `-` = none), most first.
    pub services: Vec<(String, u64)>,
    /// Packets in connections (`orig_pkts + resp_pkts`).
    pub conn_pkts: u64,
    /// `orig_ip_bytes` summed.
    pub orig_ip_bytes: u64,
    /// `resp_ip_bytes` summed.
    pub resp_ip_bytes: u64,
    /// `orig_bytes` summed (payload).
    pub orig_bytes: u64,
    /// `resp_bytes` summed (payload).
    pub resp_bytes: u64,
    /// Distinct originators.
    pub originators: usize,
    /// Distinct responders.
    pub responders: usize,
}

/// The score histogram.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub lo: f64,
    /// Bin width.
    pub width: f64,
    /// Rows per bin (the last bin also holds every score beyond it).
    pub counts: Vec<u64>,
    /// Anomalous rows per bin.
    pub anomalous: Vec<u64>,
    /// Scores beyond the last bin's right edge (counted in the last bin).
    pub overflow: u64,
    /// Rows with a score.
    pub total: u64,
}

/// A notice and its connections.
#[derive(Clone, Debug, Default)]
pub struct NoticeView {
    /// Index in [`Dataset::notices`].
    pub notice: usize,
    /// Connections (conn.log rows), the notice's own `uid` first.
    pub conns: Vec<u32>,
    /// Matching connections not listed.
    pub more: u64,
    /// The window searched, `[from, to]`.
    pub window: (f64, f64),
}

/// Counts of one value over a cluster's members, most first.
pub type TopValues = Vec<(String, u64)>;

/// A cluster as shown.
#[derive(Clone, Debug, Default)]
pub struct ClusterView {
    /// Connections.
    pub size: u64,
    /// Originators (distinct count, most frequent first, up to 3).
    pub origs: (usize, TopValues),
    /// Responders.
    pub resps: (usize, TopValues),
    /// Responder ports (`port/proto`).
    pub ports: (usize, TopValues),
    /// Protocol, service and state (one kind per cluster).
    pub kind: String,
    /// First start.
    pub first: f64,
    /// Last start.
    pub last: f64,
    /// Mean combined score.
    pub mean_score: f64,
    /// Highest combined score.
    pub max_score: f64,
    /// The typical member (conn.log row).
    pub typical: u32,
    /// Centroid, [`cluster::DIM_NAMES`] order.
    pub centroid: [f64; DIMS],
}

/// Everything the page shows.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// Capture-wide figures.
    pub summary: Summary,
    /// Score rows.
    pub scored: u64,
    /// Anomalous score rows.
    pub anomalous: u64,
    /// The threshold drawn.
    pub threshold: Option<Threshold>,
    /// The score histogram (when score.log has rows).
    pub histogram: Option<Histogram>,
    /// Top score rows, highest first.
    pub top: Vec<u32>,
    /// Notice counts: type → (total, per `src` host).
    pub notice_types: BTreeMap<String, (u64, BTreeMap<String, u64>)>,
    /// The notices listed, by time.
    pub notices: Vec<NoticeView>,
    /// Series interval, seconds.
    pub interval: f64,
    /// End of the training prefix (the last connection start without a
    /// score.log row), when there is one.
    pub train_end: Option<f64>,
    /// The host table.
    pub hosts: Vec<HostRow>,
    /// Hosts drawn.
    pub series: Vec<HostSeries>,
    /// Anomalous connections clustered.
    pub clustering: Clustering,
    /// Clusters listed.
    pub clusters: Vec<ClusterView>,
    /// Anomalous score rows with a conn.log row (the clustering input).
    pub anomalous_conns: u64,
    /// Full rows of the connections shown in detail, by uid.
    pub details: HashMap<String, Detail>,
}

impl View {
    /// Computes every figure.
    pub fn new(d: &Dataset, opts: &Options) -> Result<View, ReportError> {
        let mut v = View {
            summary: summary(d),
            ..View::default()
        };
        v.scored = d.scores.len() as u64;
        v.anomalous = d.scores.iter().filter(|s| s.anomalous).count() as u64;
        v.threshold = Some(threshold(d, opts));
        v.histogram = histogram(d, v.threshold.as_ref().and_then(Threshold::value));
        v.top = top(d, opts.top);
        notices(d, &mut v);
        v.interval = interval(opts, v.summary.last - v.summary.first);
        v.train_end = super::hosts::train_end(d);
        super::hosts::hosts(d, opts, &mut v);
        let anomalous: Vec<u32> = d
            .scores
            .iter()
            .filter(|s| s.anomalous && s.conn != NONE)
            .map(|s| s.conn)
            .collect();
        v.anomalous_conns = anomalous.len() as u64;
        v.clustering = cluster::cluster_conns(d, &anomalous, opts.cluster);
        v.clusters = v
            .clustering
            .clusters
            .iter()
            .take(CLUSTERS_MAX)
            .map(|c| cluster_view(d, c))
            .collect();
        let mut want: HashSet<String> = HashSet::new();
        for &s in &v.top {
            want.insert(d.score_uid(s).to_string());
        }
        for c in &v.clusters {
            want.insert(d.conn_uid(c.typical).to_string());
        }
        for n in &v.notices {
            if let Some(u) = d.notices.get(n.notice).and_then(|n| n.uid.as_ref()) {
                want.insert(u.clone());
            }
        }
        want.remove("");
        v.details = load::details(&d.dir, &want)?;
        Ok(v)
    }
}

fn sorted_counts(m: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Capture-wide figures from conn.log.
pub fn summary(d: &Dataset) -> Summary {
    let mut s = Summary {
        first: f64::INFINITY,
        last: f64::NEG_INFINITY,
        conns: d.conns.len() as u64,
        ..Summary::default()
    };
    let by = |counts: &mut Vec<u64>, id: u32| {
        let i = id as usize;
        if counts.len() <= i {
            counts.resize(i + 1, 0);
        }
        counts[i] += 1;
    };
    let (mut protos, mut states, mut services) = (Vec::new(), Vec::new(), Vec::new());
    let mut origs = vec![false; d.addrs.len()];
    let mut resps = vec![false; d.addrs.len()];
    for c in &d.conns {
        s.first = s.first.min(c.ts);
        s.last = s.last.max(c.end());
        by(&mut protos, c.proto);
        by(&mut states, c.state);
        by(&mut services, c.service);
        s.conn_pkts += c.orig_pkts + c.resp_pkts;
        s.orig_ip_bytes += c.orig_ip_bytes;
        s.resp_ip_bytes += c.resp_ip_bytes;
        s.orig_bytes += c.orig_bytes;
        s.resp_bytes += c.resp_bytes;
        if let Some(o) = origs.get_mut(c.orig_h as usize) {
            *o = true;
        }
        if let Some(r) = resps.get_mut(c.resp_h as usize) {
            *r = true;
        }
    }
    if d.conns.is_empty() {
        s.first = 0.0;
        s.last = 0.0;
    }
    s.originators = origs.iter().filter(|x| **x).count();
    s.responders = resps.iter().filter(|x| **x).count();
    let named = |counts: Vec<u64>| -> HashMap<String, u64> {
        let mut m = HashMap::new();
        for (i, n) in counts.into_iter().enumerate().filter(|(_, n)| *n > 0) {
            let w = d.words.get(i as u32);
            let w = if w.is_empty() { "-" } else { w };
            *m.entry(w.to_string()).or_insert(0) += n;
        }
        m
    };
    s.protos = sorted_counts(named(protos));
    s.states = sorted_counts(named(states));
    let mut svc: HashMap<String, u64> = HashMap::new();
    for (name, n) in named(services) {
        for part in name.split(',') {
            *svc.entry(part.to_string()).or_insert(0) += n;
        }
    }
    s.services = sorted_counts(svc);
    s
}

/// The threshold: the caller's (a model's), else inferred from score.log.
pub fn threshold(d: &Dataset, opts: &Options) -> Threshold {
    if let Some((value, from)) = &opts.threshold {
        return Threshold::Model {
            value: *value,
            from: from.clone(),
        };
    }
    let mut below = f64::NEG_INFINITY;
    let mut above = f64::INFINITY;
    for s in d.scores.iter().filter(|s| s.score.is_finite()) {
        if s.anomalous {
            above = above.min(s.score);
        } else {
            below = below.max(s.score);
        }
    }
    if above.is_finite() {
        Threshold::Inferred { below, above }
    } else {
        Threshold::Unknown
    }
}

/// The histogram of combined scores: [`BINS`] bins from the lowest score
/// to the 99.9th percentile (or just past the threshold, if higher); the
/// last bin holds everything beyond.
pub fn histogram(d: &Dataset, threshold: Option<f64>) -> Option<Histogram> {
    let mut xs: Vec<f64> = d
        .scores
        .iter()
        .map(|s| s.score)
        .filter(|x| x.is_finite())
        .collect();
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let lo = xs[0];
    let p999 = xs[((xs.len() - 1) as f64 * 0.999).round() as usize];
    let mut hi = p999.max(xs[xs.len() - 1].min(lo + 1.0));
    if let Some(t) = threshold.filter(|t| t.is_finite()) {
        hi = hi.max(t + (t - lo).abs() * 0.1);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let width = (hi - lo) / BINS as f64;
    let mut h = Histogram {
        lo,
        width,
        counts: vec![0; BINS],
        anomalous: vec![0; BINS],
        ..Histogram::default()
    };
    for s in d.scores.iter().filter(|s| s.score.is_finite()) {
        let k = ((s.score - lo) / width).floor();
        let k = if k < 0.0 {
            0
        } else if k >= BINS as f64 {
            if s.score > hi {
                h.overflow += 1;
            }
            BINS - 1
        } else {
            k as usize
        };
        h.counts[k] += 1;
        if s.anomalous {
            h.anomalous[k] += 1;
        }
        h.total += 1;
    }
    Some(h)
}

/// The `n` highest-scoring score rows (ties: earlier first).
pub fn top(d: &Dataset, n: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..d.scores.len() as u32)
        .filter(|&i| d.scores[i as usize].score.is_finite())
        .collect();
    let key = |i: &u32| {
        let s = &d.scores[*i as usize];
        (s.score, s.ts)
    };
    let cmp = |a: &u32, b: &u32| {
        let (sa, ta) = key(a);
        let (sb, tb) = key(b);
        sb.total_cmp(&sa).then(ta.total_cmp(&tb)).then(a.cmp(b))
    };
    if idx.len() > n {
        idx.select_nth_unstable_by(n, cmp);
        idx.truncate(n);
    }
    idx.sort_by(cmp);
    idx
}

/// The seconds a notice's evidence spans before it, from its `sub`.
fn notice_window(n: &load::Notice) -> (f64, f64) {
    let kv = |key: &str| -> Option<f64> {
        n.sub.split_whitespace().find_map(|w| {
            let v = w.strip_prefix(key)?.strip_prefix('=')?;
            v.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .parse()
                .ok()
        })
    };
    if let Some(start) = kv("interval_start") {
        return (start, start + host_volume::INTERVAL_SECS as f64);
    }
    let secs = kv("window")
        .or_else(|| kv("window_s"))
        .or_else(|| Some(kv("period")? * (kv("series")? + 1.0)))
        .unwrap_or(300.0);
    (n.ts - secs, n.ts + 1.0)
}

fn notices(d: &Dataset, v: &mut View) {
    for n in &d.notices {
        let e = v
            .notice_types
            .entry(n.note.clone())
            .or_insert((0, BTreeMap::new()));
        e.0 += 1;
        let host = n.src.clone().or_else(|| n.dst.clone()).unwrap_or_default();
        *e.1.entry(host).or_insert(0) += 1;
    }
    let mut order: Vec<usize> = (0..d.notices.len()).collect();
    order.sort_by(|&a, &b| d.notices[a].ts.total_cmp(&d.notices[b].ts).then(a.cmp(&b)));
    order.truncate(NOTICES_MAX);
    // Connections by originator and by responder, for the hosts notices name.
    let mut want_o: HashSet<u32> = HashSet::new();
    let mut want_r: HashSet<u32> = HashSet::new();
    for &i in &order {
        let n = &d.notices[i];
        match (&n.src, &n.dst) {
            (Some(s), _) => want_o.extend(d.addrs.find(s)),
            (None, Some(t)) => want_r.extend(d.addrs.find(t)),
            _ => {}
        }
    }
    let mut by_o: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut by_r: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, c) in d.conns.iter().enumerate() {
        if want_o.contains(&c.orig_h) {
            by_o.entry(c.orig_h).or_default().push(i as u32);
        }
        if want_r.contains(&c.resp_h) {
            by_r.entry(c.resp_h).or_default().push(i as u32);
        }
    }
    for i in order {
        let n = &d.notices[i];
        let window = notice_window(n);
        let mut nv = NoticeView {
            notice: i,
            window,
            ..NoticeView::default()
        };
        let own = n
            .uid
            .as_ref()
            .and_then(|u| d.conn_by_uid.get(u.as_str()).copied());
        if let Some(o) = own {
            nv.conns.push(o);
        }
        let src = n.src.as_ref().and_then(|s| d.addrs.find(s));
        let dst = n.dst.as_ref().and_then(|s| d.addrs.find(s));
        let candidates = match (src, dst, &n.src) {
            (Some(s), _, _) => by_o.get(&s),
            (None, Some(t), None) => by_r.get(&t),
            _ => None,
        };
        for &c in candidates.into_iter().flatten() {
            let conn = &d.conns[c as usize];
            if Some(c) == own
                || conn.ts < window.0
                || conn.ts > window.1
                || (src.is_some() && dst.is_some_and(|t| t != conn.resp_h))
                || n.p.is_some_and(|p| p != conn.resp_p)
            {
                continue;
            }
            if nv.conns.len() < NOTICE_CONNS_MAX {
                nv.conns.push(c);
            } else {
                nv.more += 1;
            }
        }
        v.notices.push(nv);
    }
}

fn top_values<I: Iterator<Item = String>>(it: I) -> (usize, TopValues) {
    let mut m: HashMap<String, u64> = HashMap::new();
    for s in it {
        *m.entry(s).or_insert(0) += 1;
    }
    let n = m.len();
    let mut v = sorted_counts(m);
    v.truncate(3);
    (n, v)
}

fn cluster_view(d: &Dataset, c: &cluster::Cluster) -> ClusterView {
    let conns = || c.members.iter().map(|&i| &d.conns[i as usize]);
    let word = |w: u32| {
        let s = d.words.get(w);
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let t = d.conns.get(c.typical as usize).copied().unwrap_or_default();
    let mut sum = 0.0;
    let mut max = f64::NEG_INFINITY;
    let mut scored = 0u64;
    for x in conns() {
        if let Some(s) = d
            .scores
            .get(x.score as usize)
            .filter(|s| s.score.is_finite())
        {
            sum += s.score;
            max = max.max(s.score);
            scored += 1;
        }
    }
    ClusterView {
        size: c.members.len() as u64,
        origs: top_values(conns().map(|x| d.addrs.get(x.orig_h).to_string())),
        resps: top_values(conns().map(|x| d.addrs.get(x.resp_h).to_string())),
        ports: top_values(conns().map(|x| format!("{}/{}", x.resp_p, d.words.get(x.proto)))),
        kind: format!(
            "{} / {} / {}",
            word(t.proto),
            word(t.service),
            word(t.state)
        ),
        first: conns().map(|x| x.ts).fold(f64::INFINITY, f64::min),
        last: conns().map(|x| x.ts).fold(f64::NEG_INFINITY, f64::max),
        mean_score: if scored > 0 {
            sum / scored as f64
        } else {
            f64::NAN
        },
        max_score: max,
        typical: c.typical,
        centroid: c.centroid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_windows_from_sub() {
        let mk = |sub: &str| load::Notice {
            ts: 1000.0,
            sub: sub.into(),
            ..load::Notice::default()
        };
        assert_eq!(notice_window(&mk("a=1 window=60s")), (940.0, 1001.0));
        assert_eq!(
            notice_window(&mk("window_s=300 span_s=65.3")),
            (700.0, 1001.0)
        );
        assert_eq!(
            notice_window(&mk("interval_start=600 conns=3")),
            (600.0, 660.0)
        );
        assert_eq!(
            notice_window(&mk("period=29.5s series=8")),
            (1000.0 - 265.5, 1001.0)
        );
        assert_eq!(notice_window(&mk("")), (700.0, 1001.0));
    }
}
