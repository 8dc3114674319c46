//! score.log: one row per scored connection, keyed by `uid` — every
//! connection-level detector's score, the combined `score`, whether it is
//! above the calibrated threshold, and the three features that contributed
//! most (value against the benign baseline of its service class).

use super::{json, TimeFormat};
use crate::record::ScoreRecord;
use crate::time::Secs6;
use std::io::Write;

/// The log's path (`score.log`).
pub const PATH: &str = "score";

/// The detector columns, in order (a [`ScoreRecord`]'s `scores` follow it).
pub const DETECTORS: [&str; 4] = ["robust", "iforest", "ecod", "autoencoder"];

/// `(name, type)` columns.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    let mut c = vec![
        ("ts", "time"),
        ("uid", "string"),
        ("id.orig_h", "addr"),
        ("id.orig_p", "port"),
        ("id.resp_h", "addr"),
        ("id.resp_p", "port"),
        ("proto", "enum"),
        ("service_class", "string"),
    ];
    c.extend(DETECTORS.iter().map(|d| (*d, "double")));
    c.extend([
        ("score", "double"),
        ("anomalous", "bool"),
        ("top_features", "vector[string]"),
        ("top_values", "vector[double]"),
        ("top_baselines", "vector[double]"),
    ]);
    c
}

/// The score of detector `name`, the `i`-th of [`DETECTORS`]: read by
/// position when the record has it there (the model gives the scores in
/// this order), else searched by name (0 when missing).
fn score_of(r: &ScoreRecord, i: usize, name: &str) -> f64 {
    match r.scores.get(i) {
        Some((n, v)) if *n == name => *v,
        _ => r
            .scores
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0.0, |(_, v)| *v),
    }
}

fn feature_name(i: usize) -> &'static str {
    crate::detect::features::FEATURE_NAMES
        .get(i)
        .copied()
        .unwrap_or("?")
}

/// A score rounded to 6 decimals, written without float formatting
/// (trailing zeros trimmed, at least one decimal: `0.25`, `3.0`).
fn num6(buf: &mut Vec<u8>, v: f64) {
    let a = v.abs() * 1e6;
    // Below 10^15 adding one half is exact, so the cast rounds half away
    // from zero as `f64::round` does, without a libm call.
    if a.is_nan() || a >= 1.0e15 {
        json::double(buf, v);
        return;
    }
    let m = (a + 0.5) as u64;
    // Sign, whole part (at most 10^9 here), point and six digits of
    // fraction in one block, appended at once.
    let mut d = [0u8; 24];
    let mut at = 0;
    if v < 0.0 && m != 0 {
        d[0] = b'-';
        at = 1;
    }
    let at = json::whole_digits(&mut d, at, m / 1_000_000);
    let len = json::fraction6(&mut d, at, m % 1_000_000);
    json::push_prefix(buf, &d, len);
}

/// JSON form (scores rounded to 6 decimals, as the TSV form).
pub fn write_json(buf: &mut Vec<u8>, r: &ScoreRecord, tf: TimeFormat) {
    json_head(buf, r, tf);
    json_tail(buf, r);
}

/// `{` through `proto`: what differs for every connection.
fn json_head(buf: &mut Vec<u8>, r: &ScoreRecord, tf: TimeFormat) {
    let mut first = true;
    buf.push(b'{');
    json::time(buf, &mut first, "ts", r.ts, tf);
    json::key(buf, &mut first, "uid");
    json::uid(buf, &r.uid);
    json::conn_id(buf, &mut first, &r.id);
    json::key(buf, &mut first, "proto");
    json::proto(buf, r.proto);
}

/// `service_class` through `}`: a function of the scores alone. The keys
/// and the feature names are fixed ASCII without anything to escape
/// (checked by a test against [`json::string`]), so they are copied as
/// they are, each key with its punctuation in one constant-size copy.
fn json_tail(buf: &mut Vec<u8>, r: &ScoreRecord) {
    buf.extend_from_slice(b",\"service_class\":");
    json::string(buf, r.service_class.as_str().as_bytes());
    buf.extend_from_slice(b",\"robust\":");
    num6(buf, score_of(r, 0, DETECTORS[0]));
    buf.extend_from_slice(b",\"iforest\":");
    num6(buf, score_of(r, 1, DETECTORS[1]));
    buf.extend_from_slice(b",\"ecod\":");
    num6(buf, score_of(r, 2, DETECTORS[2]));
    buf.extend_from_slice(b",\"autoencoder\":");
    num6(buf, score_of(r, 3, DETECTORS[3]));
    buf.extend_from_slice(b",\"score\":");
    num6(buf, r.score);
    if r.anomalous {
        buf.extend_from_slice(b",\"anomalous\":true,\"top_features\":[");
    } else {
        buf.extend_from_slice(b",\"anomalous\":false,\"top_features\":[");
    }
    for (i, c) in r.top.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        buf.extend_from_slice(feature_name(c.feature).as_bytes());
        buf.push(b'"');
    }
    buf.extend_from_slice(b"],\"top_values\":[");
    for (i, c) in r.top.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        num6(buf, c.value);
    }
    buf.extend_from_slice(b"],\"top_baselines\":[");
    for (i, c) in r.top.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        num6(buf, c.baseline);
    }
    buf.extend_from_slice(b"]}");
}

/// Slots of a [`TailCache`] per format (a power of two).
const TAIL_SLOTS: usize = 8192;

/// The rendered columns after `proto` (service class, scores, top
/// features) by the record's [`tail_id`](ScoreRecord::tail_id): rows
/// scored from the same memo fill have the same values there (scans,
/// probes, polls repeat themselves), so a hit copies the bytes instead of
/// formatting eleven numbers again; the text is exactly what
/// [`write_json`] / [`write_tsv`] write. Direct-mapped by identity (no
/// hashing or comparing of values), bounded, no allocation once its slots
/// are warm; a row without an identity is rendered directly.
#[derive(Default)]
pub struct TailCache {
    /// Per format (JSON, TSV): the identity and text of each slot.
    slots: [TailSlots; 2],
    /// Rows whose tail was copied (for tests).
    hits: u64,
}

/// A [`TailCache`]'s slots of one format.
type TailSlots = Vec<Option<(u64, Vec<u8>)>>;

impl TailCache {
    /// Appends the tail of `r`, from the cache or rendered by `render`.
    fn tail(
        &mut self,
        buf: &mut Vec<u8>,
        r: &ScoreRecord,
        tsv: bool,
        render: fn(&mut Vec<u8>, &ScoreRecord),
    ) {
        let Some(id) = r.tail_id else {
            render(buf, r);
            return;
        };
        let slots = &mut self.slots[usize::from(tsv)];
        if slots.is_empty() {
            // (allocated on first use: rows without identities pay nothing)
            slots.resize(TAIL_SLOTS, None);
        }
        let Some(slot) = slots.get_mut(id as usize & (TAIL_SLOTS - 1)) else {
            render(buf, r);
            return;
        };
        match slot {
            Some((k, text)) if *k == id => {
                self.hits += 1;
                buf.extend_from_slice(text);
            }
            Some((k, text)) => {
                *k = id;
                text.clear();
                render(text, r);
                buf.extend_from_slice(text);
            }
            None => {
                let mut text = Vec::with_capacity(256);
                render(&mut text, r);
                buf.extend_from_slice(&text);
                *slot = Some((id, text));
            }
        }
    }

    /// [`write_json`], with the tail from the cache.
    pub fn write_json(&mut self, buf: &mut Vec<u8>, r: &ScoreRecord, tf: TimeFormat) {
        json_head(buf, r, tf);
        self.tail(buf, r, false, json_tail);
    }

    /// [`write_tsv`], with the tail from the cache.
    pub fn write_tsv(&mut self, buf: &mut Vec<u8>, r: &ScoreRecord) {
        tsv_head(buf, r);
        self.tail(buf, r, true, tsv_tail);
    }
}

/// TSV form.
pub fn write_tsv(buf: &mut Vec<u8>, r: &ScoreRecord) {
    tsv_head(buf, r);
    tsv_tail(buf, r);
}

/// `ts` through `proto` and the tab after it.
fn tsv_head(buf: &mut Vec<u8>, r: &ScoreRecord) {
    let (a, ap, b, bp) = r.id;
    let _ = write!(
        buf,
        "{}\t{}\t{a}\t{ap}\t{b}\t{bp}\t{}\t",
        Secs6(r.ts.0),
        r.uid.as_str(),
        r.proto.name()
    );
}

/// `service_class` through the last column.
fn tsv_tail(buf: &mut Vec<u8>, r: &ScoreRecord) {
    super::tsv::string(buf, r.service_class.as_str().as_bytes(), false);
    for (i, d) in DETECTORS.iter().enumerate() {
        let _ = write!(buf, "\t{:.6}", score_of(r, i, d));
    }
    let _ = write!(
        buf,
        "\t{:.6}\t{}\t",
        r.score,
        if r.anomalous { "T" } else { "F" }
    );
    if r.top.is_empty() {
        buf.extend_from_slice(b"(empty)\t(empty)\t(empty)");
        return;
    }
    for (i, c) in r.top.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(feature_name(c.feature).as_bytes());
    }
    for f in [
        (|c: &crate::record::Contribution| c.value) as fn(_) -> f64,
        |c| c.baseline,
    ] {
        buf.push(b'\t');
        for (i, c) in r.top.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            let _ = write!(buf, "{:.6}", f(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Contribution, TopFeatures};

    fn record(k: u64) -> ScoreRecord {
        let class = crate::detect::features::ServiceClass::Port(
            crate::conn::Transport::Tcp,
            (k % 3) as u16 + 20,
        )
        .name();
        let v = (k % 5) as f64 * 0.37;
        ScoreRecord {
            ts: crate::time::Ts(1_700_000_000_000_000_000 + k as i64 * 1_000_000),
            uid: crate::conn::uid::Uid::from_words(b'C', k, 7),
            id: (
                crate::decode::Addr::v4([10, 0, 0, (k % 7) as u8]),
                1024 + k as u16,
                crate::decode::Addr::v4([10, 0, 1, 1]),
                80,
            ),
            proto: crate::conn::Transport::Tcp,
            service_class: class,
            scores: std::array::from_fn(|i| (DETECTORS[i], v + i as f64)),
            score: v * 2.0,
            anomalous: k % 4 == 0,
            top: (0..(k % 4) as usize)
                .map(|i| Contribution {
                    feature: i + (k % 2) as usize,
                    value: v,
                    baseline: 1.5,
                    z: 0.0,
                })
                .collect::<TopFeatures>(),
            tail_id: None,
        }
    }

    #[test]
    fn json_rows_are_the_columns_in_order() {
        // The row read back by serde_json: the keys are columns() in
        // order, every value is the record's (numbers to 6 decimals).
        for name in crate::detect::features::FEATURE_NAMES {
            let mut b = Vec::new();
            json::string(&mut b, name.as_bytes());
            assert_eq!(b, format!("\"{name}\"").into_bytes(), "needs escaping");
        }
        for k in 0..64u64 {
            let r = record(k);
            let mut b = Vec::new();
            write_json(&mut b, &r, TimeFormat::Epoch);
            let v: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&b).expect("valid JSON");
            // (serde_json's map is sorted: the order from the text, each
            // key the string before a `":`)
            let text = String::from_utf8(b.clone()).expect("utf-8");
            let keys: Vec<&str> = text
                .match_indices("\":")
                .filter_map(|(end, _)| {
                    let start = text[..end].rfind('"')? + 1;
                    Some(&text[start..end])
                })
                .collect();
            assert_eq!(keys.len(), v.len());
            let cols: Vec<&str> = columns().iter().map(|(n, _)| *n).collect();
            assert_eq!(keys, cols);
            assert_eq!(v["service_class"], r.service_class.as_str());
            let six = |x: f64| (x * 1e6).round() / 1e6;
            for (i, d) in DETECTORS.iter().enumerate() {
                assert_eq!(v[*d].as_f64(), Some(six(r.scores[i].1)), "{d}");
            }
            assert_eq!(v["score"].as_f64(), Some(six(r.score)));
            assert_eq!(v["anomalous"].as_bool(), Some(r.anomalous));
            let names: Vec<&str> = r.top.iter().map(|c| feature_name(c.feature)).collect();
            assert_eq!(v["top_features"], serde_json::json!(names));
            let vals: Vec<f64> = r.top.iter().map(|c| six(c.value)).collect();
            assert_eq!(v["top_values"], serde_json::json!(vals));
            let base: Vec<f64> = r.top.iter().map(|c| six(c.baseline)).collect();
            assert_eq!(v["top_baselines"], serde_json::json!(base));
        }
    }

    #[test]
    fn cached_tails_are_the_uncached_text() {
        let mut cache = TailCache::default();
        for k in 0..40_000u64 {
            // Many repeats (the same identity for the same values), more
            // identities than slots, and rows without one.
            let j = if k % 3 == 0 { k } else { k % 11 };
            let mut r = record(j);
            r.tail_id = (k % 7 != 0).then_some(j);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            cache.write_json(&mut a, &r, TimeFormat::Epoch);
            write_json(&mut b, &r, TimeFormat::Epoch);
            assert_eq!(a, b, "{k}");
            a.clear();
            b.clear();
            cache.write_tsv(&mut a, &r);
            write_tsv(&mut b, &r);
            assert_eq!(a, b, "{k}");
        }
        assert!(cache.hits > 20_000);
    }

    #[test]
    fn six_decimal_numbers_match_std_formatting() {
        // Fixed cases, then seeded random values of every magnitude below
        // 10^9 (and their negatives; scores are small), and the float
        // formatting beyond.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let random = (0..20_000).map(move |k| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((k % 16) - 7);
            if k % 2 == 0 {
                v
            } else {
                -v
            }
        });
        for v in [
            0.0,
            1.0,
            -1.0,
            0.25,
            1.2345678,
            -0.0000004,
            0.0000005,
            123456.789,
            1e-7,
            42.000001,
            -7.5,
            123456789.987654,
            -999999999.9999994,
            999999999.9999995,
            100000000.0,
            9.9999995,
        ]
        .into_iter()
        .chain(random)
        {
            let mut b = Vec::new();
            num6(&mut b, v);
            let got: f64 = std::str::from_utf8(&b).unwrap().parse().unwrap();
            let want: f64 = format!("{v:.6}").parse().unwrap();
            // (one unit of the sixth decimal apart at most: a product
            // rounded half up against std's exact decimal rounding; plus
            // the parse's own error at large magnitudes)
            assert!(
                (got - want).abs() <= 1.0001e-6 + 4.0 * f64::EPSILON * v.abs(),
                "{v} -> {}",
                String::from_utf8_lossy(&b)
            );
            assert!(b.contains(&b'.'));
            // Exactly `{:.6}` with trailing zeros trimmed (one decimal kept).
            let mut want = format!("{:.6}", (v * 1e6).round() / 1e6);
            while want.ends_with('0') && !want.ends_with(".0") {
                want.pop();
            }
            if want == "-0.0" {
                want = "0.0".into();
            }
            assert_eq!(String::from_utf8_lossy(&b), want, "{v}");
        }
    }
}
