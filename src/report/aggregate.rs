//! The figures on the page, computed from a [`Dataset`]: the summary, the
//! score histogram and threshold, the top connections by score, notices
//! with their connections, per-host series with a learned band, and the
//! clusters of anomalous connections.
//!
//! Per-host series are per originator and interval (epoch-aligned, 60 s by
//! default like the `Host_Volume` detector's): connections, distinct peers
//! (responders), bytes up (`orig_ip_bytes`) and down (`resp_ip_bytes`), by
//! conn.log `ts`. The band is the `Host_Volume` detector's baseline: an
//! EWMA mean and variance (α = [`host_volume::ALPHA`]) over the host's
//! intervals (silent ones count as 0), band = mean ± 3σ with σ at least
//! 25 % of the mean and an absolute floor per series. Intervals in the
//! training prefix (connections score.log has no row for) only teach the
//! band; after it a host seen in training is judged on its own band and a
//! new host on the population's (every host's training intervals) until it
//! has `MIN_OWN` intervals of its own. Without a prefix (a loaded model),
//! a host's first [`WARMUP`] intervals teach its band. Points outside the
//! band are marked, and one above it is not learned from (so an attack
//! does not become normal), as the detector does.
//!
//! Must not: read files (except through [`load::details`]) or format HTML.

use super::cluster::{self, Clustering, DIMS};
use super::load::{self, Dataset, Detail, NONE};
use super::{Options, ReportError, Threshold};
use crate::detect::host::host_volume;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Most intervals in a series (the interval widens past it).
pub const MAX_INTERVALS: usize = 720;
/// Intervals a host's band learns from before points are judged.
pub const WARMUP: u64 = 5;
/// Notices listed (the first, by time).
pub const NOTICES_MAX: usize = 1000;
/// Connections listed per notice.
pub const NOTICE_CONNS_MAX: usize = 50;
/// Hosts in the host table.
pub const HOST_TABLE_MAX: usize = 50;
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

/// One point of a host series.
#[derive(Clone, Copy, Debug, Default)]
pub struct Point {
    /// The value.
    pub value: f64,
    /// Band mean before this interval (NaN before the first).
    pub mean: f64,
    /// Band low edge.
    pub lo: f64,
    /// Band high edge.
    pub hi: f64,
    /// Only learned from (training prefix or warm-up).
    pub learning: bool,
    /// Judged and outside the band: +1 above, -1 below, 0 inside.
    pub outside: i8,
    /// The band is the population's (a host new since training).
    pub population: bool,
}

/// One host's four series.
#[derive(Clone, Debug, Default)]
pub struct HostSeries {
    /// The host ([`Dataset::addrs`]).
    pub addr: u32,
    /// Interval index (`start / interval`) of the first point.
    pub first_interval: i64,
    /// Per series ([`SERIES`]), one point per interval.
    pub series: [Vec<Point>; 4],
    /// Points above the band over the four series.
    pub above: u64,
    /// Points below the band.
    pub below: u64,
}

/// Series names, in [`HostSeries::series`] order.
pub const SERIES: [&str; 4] = ["connections", "distinct peers", "bytes up", "bytes down"];

/// One row of the host table.
#[derive(Clone, Debug, Default)]
pub struct HostRow {
    /// The host.
    pub addr: u32,
    /// Connections it originated.
    pub conns: u64,
    /// Distinct responders it contacted.
    pub peers: u64,
    /// `orig_ip_bytes` summed.
    pub up: u64,
    /// `resp_ip_bytes` summed.
    pub down: u64,
    /// Notices naming it as `src`.
    pub notices: u64,
    /// Anomalous connections it originated.
    pub anomalous: u64,
    /// Points above its band (when its series was computed).
    pub above: Option<u64>,
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
        v.train_end = train_end(d);
        hosts(d, opts, &mut v);
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

/// The series interval: the option, else 60 s widened (in steps a person
/// reads: 2, 5, 10, 15, 30 min, 1, 2, 6, 12 h, days) until the span has at
/// most [`MAX_INTERVALS`].
pub fn interval(opts: &Options, span: f64) -> f64 {
    if let Some(i) = opts.interval.filter(|i| i.is_finite() && *i >= 1.0) {
        return i;
    }
    let steps = [
        60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0,
    ];
    let mut iv = steps[0];
    for s in steps {
        iv = s;
        if span / s <= MAX_INTERVALS as f64 {
            return s;
        }
    }
    while span / iv > MAX_INTERVALS as f64 {
        iv *= 2.0;
    }
    iv
}

/// The end of the training prefix: the latest start among the connections
/// score.log has no row for (a training prefix is learned from, not
/// scored), when later connections were scored. `None` when everything was
/// scored (a loaded model) or nothing was.
fn train_end(d: &Dataset) -> Option<f64> {
    if d.scores.is_empty() {
        return None;
    }
    let t = d
        .conns
        .iter()
        .filter(|c| c.score == NONE)
        .map(|c| c.ts)
        .fold(f64::NEG_INFINITY, f64::max);
    let later = d.conns.iter().any(|c| c.score != NONE && c.ts > t);
    (t.is_finite() && later).then_some(t)
}

/// The baseline of one series (the `Host_Volume` detector's): an EWMA for
/// a host, an exact mean and variance for the population.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Base {
    /// Intervals seen.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Variance.
    pub var: f64,
}

impl Base {
    /// EWMA update (the first value sets the mean).
    pub fn ewma(&mut self, x: f64) {
        if self.n == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let d = x - self.mean;
            let inc = host_volume::ALPHA * d;
            self.mean += inc;
            self.var = (1.0 - host_volume::ALPHA) * (self.var + d * inc);
        }
        self.n += 1;
    }

    /// Exact running mean and variance (Welford; `var` is M2 / n).
    pub fn welford(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        let m2 = self.var * (self.n - 1) as f64 + d * (x - self.mean);
        self.var = m2 / self.n as f64;
    }

    /// The band `[max(0, mean - 3σ), mean + 3σ]`, σ floored as the
    /// detector floors it.
    pub fn band(&self, series: usize) -> (f64, f64) {
        let floor = host_volume::SIGMA_ABS_FLOOR
            .get(series)
            .copied()
            .unwrap_or(0.0);
        let sigma = self
            .var
            .max(0.0)
            .sqrt()
            .max(host_volume::SIGMA_REL_FLOOR * self.mean)
            .max(floor);
        (
            (self.mean - host_volume::SIGMAS * sigma).max(0.0),
            self.mean + host_volume::SIGMAS * sigma,
        )
    }
}

/// What a series' band depends on besides its values.
#[derive(Clone, Copy, Debug, Default)]
pub struct BandCtx {
    /// Interval length, seconds.
    pub interval: f64,
    /// End of the training prefix.
    pub train_end: Option<f64>,
    /// The population baseline per series (every host's intervals with
    /// connections in the training prefix), when there is a prefix.
    pub pop: Option<[Base; 4]>,
}

/// Runs the band over one series of values starting at interval `first`
/// (see the module docs): intervals in the training prefix teach the
/// host's own EWMA; after it, a host with training intervals is judged
/// against its own band, a new one against the population's until it has
/// [`host_volume::MIN_OWN`] intervals of its own. Without a training
/// prefix the host's own band is used after [`WARMUP`] intervals.
pub fn band_series(values: &[f64], series: usize, first: i64, ctx: &BandCtx) -> Vec<Point> {
    let mut own = Base::default();
    let mut trained = false;
    let pop = ctx.pop.and_then(|p| p.get(series).copied());
    values
        .iter()
        .enumerate()
        .map(|(k, &x)| {
            let start = (first + k as i64) as f64 * ctx.interval;
            let in_train = ctx.train_end.is_some_and(|t| start + ctx.interval <= t);
            let use_pop = !in_train && !trained && own.n < host_volume::MIN_OWN && pop.is_some();
            let base = match pop {
                Some(p) if use_pop => p,
                _ => own,
            };
            let learning = in_train || (!use_pop && !trained && own.n < WARMUP);
            let (lo, hi) = if base.n == 0 {
                (f64::NAN, f64::NAN)
            } else {
                base.band(series)
            };
            let outside = if learning || base.n == 0 {
                0
            } else if x > hi {
                1
            } else if x < lo {
                -1
            } else {
                0
            };
            let mean = if base.n == 0 { f64::NAN } else { base.mean };
            if outside != 1 {
                own.ewma(x);
            }
            trained |= in_train;
            Point {
                value: x,
                mean,
                lo,
                hi,
                learning,
                outside,
                population: use_pop,
            }
        })
        .collect()
}

/// One host's four series from its connections (conn.log rows).
fn host_series(d: &Dataset, addr: u32, conns: &[u32], ctx: &BandCtx, last_iv: i64) -> HostSeries {
    let iv_of = |t: f64| (t / ctx.interval).floor() as i64;
    let first = conns
        .iter()
        .map(|&c| iv_of(d.conns[c as usize].ts))
        .min()
        .unwrap_or(last_iv);
    let n = (last_iv - first + 1).clamp(1, 4 * MAX_INTERVALS as i64) as usize;
    let mut vals = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let mut peers: Vec<HashSet<u32>> = vec![HashSet::new(); n];
    for &c in conns {
        let c = &d.conns[c as usize];
        let k = (iv_of(c.ts) - first) as usize;
        if k >= n {
            continue;
        }
        vals[0][k] += 1.0;
        peers[k].insert(c.resp_h);
        vals[2][k] += c.orig_ip_bytes as f64;
        vals[3][k] += c.resp_ip_bytes as f64;
    }
    for (k, p) in peers.iter().enumerate() {
        vals[1][k] = p.len() as f64;
    }
    let mut h = HostSeries {
        addr,
        first_interval: first,
        ..HostSeries::default()
    };
    for (s, vs) in vals.iter().enumerate() {
        h.series[s] = band_series(vs, s, first, ctx);
        h.above += h.series[s].iter().filter(|p| p.outside == 1).count() as u64;
        h.below += h.series[s].iter().filter(|p| p.outside == -1).count() as u64;
    }
    h
}

/// The population baseline: Welford over every (originator, interval)
/// with connections that ends within the training prefix.
fn population(d: &Dataset, interval: f64, train_end: f64) -> [Base; 4] {
    let mut acc: HashMap<(u32, i64), [f64; 3]> = HashMap::new();
    let mut peers: HashSet<(u32, i64, u32)> = HashSet::new();
    for c in &d.conns {
        let iv = (c.ts / interval).floor() as i64;
        if (iv + 1) as f64 * interval > train_end {
            continue;
        }
        let a = acc.entry((c.orig_h, iv)).or_insert([0.0; 3]);
        a[0] += 1.0;
        a[1] += c.orig_ip_bytes as f64;
        a[2] += c.resp_ip_bytes as f64;
        peers.insert((c.orig_h, iv, c.resp_h));
    }
    let mut npeers: HashMap<(u32, i64), f64> = HashMap::new();
    for (h, iv, _) in peers {
        *npeers.entry((h, iv)).or_insert(0.0) += 1.0;
    }
    // A fixed order, so the sums do not depend on hashing.
    let mut keys: Vec<(u32, i64)> = acc.keys().copied().collect();
    keys.sort_unstable();
    let mut b = [Base::default(); 4];
    for k in keys {
        let a = acc[&k];
        let p = npeers.get(&k).copied().unwrap_or(0.0);
        for (s, x) in [a[0], p, a[1], a[2]].into_iter().enumerate() {
            b[s].welford(x);
        }
    }
    b
}

fn hosts(d: &Dataset, opts: &Options, v: &mut View) {
    let n = d.addrs.len();
    let mut rows: Vec<HostRow> = Vec::new();
    let mut slot: Vec<u32> = vec![NONE; n];
    let mut by_host: Vec<Vec<u32>> = Vec::new();
    for c in &d.conns {
        let a = c.orig_h as usize;
        if a >= n {
            continue;
        }
        if slot[a] == NONE {
            slot[a] = rows.len() as u32;
            rows.push(HostRow {
                addr: c.orig_h,
                ..HostRow::default()
            });
            by_host.push(Vec::new());
        }
        let r = &mut rows[slot[a] as usize];
        r.conns += 1;
        r.up += c.orig_ip_bytes;
        r.down += c.resp_ip_bytes;
        if d.scores.get(c.score as usize).is_some_and(|s| s.anomalous) {
            r.anomalous += 1;
        }
    }
    for nt in &d.notices {
        if let Some(a) = nt.src.as_ref().and_then(|s| d.addrs.find(s)) {
            if let Some(&k) = slot.get(a as usize).filter(|k| **k != NONE) {
                rows[k as usize].notices += 1;
            }
        }
    }
    // Candidates for the charts: noticed hosts and the busiest.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        rows[b]
            .conns
            .cmp(&rows[a].conns)
            .then(rows[a].addr.cmp(&rows[b].addr))
    });
    let mut cand: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&k| rows[k].notices > 0)
        .collect();
    cand.extend(
        order
            .iter()
            .copied()
            .filter(|&k| rows[k].notices == 0)
            .take(HOST_TABLE_MAX),
    );
    let mut need: Vec<bool> = vec![false; rows.len()];
    for &k in &cand {
        need[k] = true;
    }
    for (i, c) in d.conns.iter().enumerate() {
        if let Some(&k) = slot.get(c.orig_h as usize) {
            if k != NONE && need[k as usize] {
                by_host[k as usize].push(i as u32);
            }
        }
    }
    let last_iv = (v.summary.last / v.interval).floor() as i64;
    let ctx = BandCtx {
        interval: v.interval,
        train_end: v.train_end,
        pop: v
            .train_end
            .map(|t| population(d, v.interval, t))
            .filter(|p| p[0].n > 0),
    };
    let mut series: Vec<(usize, HostSeries)> = Vec::new();
    for &k in &cand {
        let hs = host_series(d, rows[k].addr, &by_host[k], &ctx, last_iv);
        let mut peers: HashSet<u32> = HashSet::new();
        for &c in &by_host[k] {
            peers.insert(d.conns[c as usize].resp_h);
        }
        rows[k].peers = peers.len() as u64;
        rows[k].above = Some(hs.above);
        series.push((k, hs));
    }
    // Charts: noticed hosts (most notices first), then most points above
    // the band, then the busiest.
    series.sort_by(|(a, ha), (b, hb)| {
        rows[*b]
            .notices
            .cmp(&rows[*a].notices)
            .then(hb.above.cmp(&ha.above))
            .then(rows[*b].conns.cmp(&rows[*a].conns))
            .then(rows[*a].addr.cmp(&rows[*b].addr))
    });
    v.series = series
        .into_iter()
        .take(opts.hosts)
        .map(|(_, h)| h)
        .collect();
    let mut table: Vec<HostRow> = cand.iter().map(|&k| rows[k].clone()).collect();
    table.sort_by(|a, b| {
        b.notices
            .cmp(&a.notices)
            .then(b.conns.cmp(&a.conns))
            .then(a.addr.cmp(&b.addr))
    });
    table.truncate(HOST_TABLE_MAX.max(table.iter().filter(|r| r.notices > 0).count()));
    v.hosts = table;
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

    fn ctx(train_end: Option<f64>, pop: Option<[Base; 4]>) -> BandCtx {
        BandCtx {
            interval: 60.0,
            train_end,
            pop,
        }
    }

    #[test]
    fn band_learns_judges_and_does_not_learn_from_spikes() {
        // Ten intervals of 10 connections, then 100, then 10 again. The
        // EWMA of a constant 10 is mean 10, var 0; σ = max(0, 2.5, 2) = 2.5,
        // band = [2.5, 17.5]. 100 is above and not learned from; the
        // following 10 is inside and the band is unchanged.
        let mut vals = vec![10.0; 10];
        vals.push(100.0);
        vals.push(10.0);
        let p = band_series(&vals, 0, 0, &ctx(None, None));
        assert!(p[0].mean.is_nan() && p[0].learning);
        assert!(p[..5].iter().all(|x| x.learning), "warm-up of {WARMUP}");
        assert!(!p[5].learning);
        assert_eq!(p[10].outside, 1);
        assert!((p[10].mean - 10.0).abs() < 1e-12);
        assert!((p[10].lo - 2.5).abs() < 1e-12 && (p[10].hi - 17.5).abs() < 1e-12);
        assert_eq!(p[11].outside, 0);
        assert!(
            (p[11].mean - 10.0).abs() < 1e-12,
            "the spike was not learned"
        );
        // A drop to 0 after the warm-up is below the band.
        let p = band_series(
            &[10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 0.0],
            0,
            0,
            &ctx(None, None),
        );
        assert_eq!(p[6].outside, -1);
    }

    #[test]
    fn band_follows_the_detector_ewma() {
        // x = 0, 10: after two points the EWMA mean is 0 + 0.1 * 10 = 1,
        // var = 0.9 * (0 + 10 * 1) = 9, sd 3; band for series 0 (floor 2):
        // σ = max(3, 0.25, 2) = 3 -> [0, 10].
        let c = BandCtx {
            interval: 60.0,
            train_end: Some(120.0),
            pop: None,
        };
        let p = band_series(&[0.0, 10.0, 5.0], 0, 0, &c);
        assert!(p[0].learning && p[1].learning && !p[2].learning);
        assert!((p[2].mean - 1.0).abs() < 1e-12);
        assert!((p[2].hi - 10.0).abs() < 1e-12);
        assert_eq!(p[2].lo, 0.0);
    }

    #[test]
    fn new_hosts_use_the_population_band() {
        // Population: mean 6.3, sd 4.754 (about the lab's Host_Volume
        // notice); band high = 6.3 + 3 * 4.754 = 20.562. A host first seen after
        // training with 801 connections is above it at once.
        let pop = Base {
            n: 50,
            mean: 6.3,
            var: 4.754 * 4.754,
        };
        let c = ctx(Some(600.0), Some([pop; 4]));
        let p = band_series(&[801.0, 3.0], 0, 20, &c);
        assert!(p[0].population && !p[0].learning);
        assert!((p[0].hi - 20.562).abs() < 1e-9);
        assert_eq!(p[0].outside, 1);
        assert_eq!(p[1].outside, 0);
        // A host with training intervals is judged on its own band.
        let p = band_series(&[4.0, 4.0, 40.0], 0, 8, &c);
        assert!(p[0].learning && p[1].learning);
        assert!(!p[2].population);
        assert!((p[2].hi - (4.0 + 3.0 * 2.0)).abs() < 1e-12, "σ floor 2");
        assert_eq!(p[2].outside, 1);
    }

    #[test]
    fn welford_is_exact() {
        let mut b = Base::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            b.welford(x);
        }
        assert!((b.mean - 5.0).abs() < 1e-12);
        assert!((b.var - 4.0).abs() < 1e-12, "population variance 4");
    }

    #[test]
    fn training_prefix_is_learning() {
        // Intervals ending at or before the training end only teach; the
        // host trained, so it is judged on its own band right after.
        let vals = vec![1.0; 20];
        let p = band_series(&vals, 0, 100, &ctx(Some(60.0 * 112.0), None));
        assert!(p[11].learning, "interval 111 ends at 112 * 60");
        assert!(!p[12].learning);
    }

    #[test]
    fn interval_widens_with_the_span() {
        let o = Options::new(std::path::Path::new("."));
        assert_eq!(interval(&o, 600.0), 60.0);
        assert_eq!(interval(&o, 720.0 * 60.0), 60.0);
        assert_eq!(interval(&o, 720.0 * 60.0 + 1.0), 120.0);
        assert_eq!(interval(&o, 86_400.0), 120.0);
        assert_eq!(interval(&o, 86_401.0), 300.0);
        assert_eq!(interval(&o, 86_400.0 * 3650.0), 86_400.0 * 8.0);
        let mut o = o;
        o.interval = Some(10.0);
        assert_eq!(interval(&o, 86_400.0), 10.0);
    }

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
