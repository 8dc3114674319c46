//! score.log: one row per scored connection, keyed by `uid` — every
//! connection-level detector's score, the combined `score`, whether it is
//! above the calibrated threshold, and the three features that contributed
//! most (value against the benign baseline of its service class).

use super::row::{self, Columns, Item, Row, Val};
use super::{LogFormat, TimeFormat};
use crate::decode::Addr;
use crate::record::{ScoreRecord, TopFeatures};

/// The log's path (`score.log`).
pub const PATH: &str = "score";

/// The detector columns, in order (a [`ScoreRecord`]'s `scores` follow it).
pub const DETECTORS: [&str; 4] = ["robust", "iforest", "ecod", "autoencoder"];

/// `(name, type)` columns.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    let r = ScoreRecord {
        ts: crate::time::Ts(0),
        uid: crate::conn::uid::Uid::from_words(b'C', 0, 0),
        id: (Addr::default(), 0, Addr::default(), 0),
        proto: crate::conn::Transport::Tcp,
        service_class: crate::detect::features::ServiceClass::Icmp.name(),
        scores: std::array::from_fn(|i| (DETECTORS[i], 0.0)),
        score: 0.0,
        anomalous: false,
        top: TopFeatures::default(),
        tail_id: None,
    };
    row::columns(&r)
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

/// `ts` through `proto`: what differs for every connection.
struct Head<'a>(&'a ScoreRecord);

impl Row for Head<'_> {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        let r = self.0;
        v.col("ts", Val::Time(r.ts));
        v.col("uid", Val::Uid(&r.uid));
        super::visit_conn_id(Some(&r.id), v);
        v.col("proto", Val::Enum(r.proto.name()));
    }
}

/// `service_class` through the last column: a function of the scores
/// alone (numbers rounded to six decimals in both formats).
struct Tail<'a>(&'a ScoreRecord);

impl Row for Tail<'_> {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        let r = self.0;
        v.col(
            "service_class",
            Val::Str(r.service_class.as_str().as_bytes()),
        );
        for (i, d) in DETECTORS.iter().enumerate() {
            v.col(d, Val::Rounded(score_of(r, i, d)));
        }
        v.col("score", Val::Rounded(r.score));
        v.col("anomalous", Val::Bool(r.anomalous));
        let names = |f: &mut dyn FnMut(Item<'_>)| {
            r.top
                .iter()
                .for_each(|c| f(Item::Str(feature_name(c.feature).as_bytes())));
        };
        let values = |f: &mut dyn FnMut(Item<'_>)| {
            r.top.iter().for_each(|c| f(Item::Rounded(c.value)));
        };
        let baselines = |f: &mut dyn FnMut(Item<'_>)| {
            r.top.iter().for_each(|c| f(Item::Rounded(c.baseline)));
        };
        v.col("top_features", Val::List("vector[string]", &names));
        v.col("top_values", Val::List("vector[double]", &values));
        v.col("top_baselines", Val::List("vector[double]", &baselines));
    }
}

impl Row for ScoreRecord {
    #[inline(always)]
    fn visit<C: Columns>(&self, v: &mut C) {
        Head(self).visit(v);
        Tail(self).visit(v);
    }
}

/// Slots of a [`TailCache`] per format (a power of two).
const TAIL_SLOTS: usize = 8192;

/// The rendered columns after `proto` (service class, scores, top
/// features) by the record's [`tail_id`](ScoreRecord::tail_id): rows
/// scored from the same memo fill have the same values there (scans,
/// probes, polls repeat themselves), so a hit copies the bytes instead of
/// formatting eleven numbers again; the text is exactly what
/// [`row::json`] / [`row::tsv`] write. Direct-mapped by identity (no
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
    /// Appends the tail of `r` in `fmt` (after the head's columns: with its
    /// leading `,` or tab), from the cache or rendered.
    fn tail(&mut self, buf: &mut Vec<u8>, r: &ScoreRecord, fmt: LogFormat) {
        let render = |b: &mut Vec<u8>| match fmt {
            LogFormat::Json => Tail(r).visit(&mut row::Json::new(b, TimeFormat::Epoch, false)),
            LogFormat::Tsv => Tail(r).visit(&mut row::Tsv::new(b, false)),
        };
        let Some(id) = r.tail_id else {
            render(buf);
            return;
        };
        let slots = &mut self.slots[usize::from(fmt == LogFormat::Tsv)];
        if slots.is_empty() {
            // (allocated on first use: rows without identities pay nothing)
            slots.resize(TAIL_SLOTS, None);
        }
        let Some(slot) = slots.get_mut(id as usize & (TAIL_SLOTS - 1)) else {
            render(buf);
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
                render(text);
                buf.extend_from_slice(text);
            }
            None => {
                let mut text = Vec::with_capacity(256);
                render(&mut text);
                buf.extend_from_slice(&text);
                *slot = Some((id, text));
            }
        }
    }

    /// Writes `r` as [`row::write`] does, with the tail from the cache.
    pub fn write(&mut self, buf: &mut Vec<u8>, r: &ScoreRecord, fmt: LogFormat, tf: TimeFormat) {
        match fmt {
            LogFormat::Json => {
                buf.push(b'{');
                Head(r).visit(&mut row::Json::new(buf, tf, true));
                self.tail(buf, r, fmt);
                buf.push(b'}');
            }
            LogFormat::Tsv => {
                Head(r).visit(&mut row::Tsv::new(buf, true));
                self.tail(buf, r, fmt);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::json;
    use crate::record::Contribution;

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
            row::check_formats_agree(&r);
            let mut b = Vec::new();
            row::json(&mut b, &r, TimeFormat::Epoch);
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
            cache.write(&mut a, &r, LogFormat::Json, TimeFormat::Epoch);
            row::json(&mut b, &r, TimeFormat::Epoch);
            assert_eq!(a, b, "{k}");
            a.clear();
            b.clear();
            cache.write(&mut a, &r, LogFormat::Tsv, TimeFormat::Epoch);
            row::tsv(&mut b, &r);
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
            json::rounded6(&mut b, v);
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
