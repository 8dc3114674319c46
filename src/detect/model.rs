//! The model file: everything detection learned from benign traffic, as one
//! versioned, human-readable JSON document (`connscope train -o model.json`,
//! `read --model model.json`). Owns fitting the connection-level detectors
//! on training samples, calibrating their combined score, and reading and
//! writing the file with clear errors.
//!
//! Must not: learn from the data being scored (a model is fitted once and
//! only read afterwards).

use super::autoencoder::Autoencoder;
use super::ecod::Ecod;
use super::features::{FEATURE_NAMES, N_FEATURES};
use super::forest::IsolationForest;
use super::host::{preread, Preread};
use super::json_scan::Cursor;
use super::robust::Robust;
use super::{ConnDetector, Sample};
use crate::record::TopFeatures;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Points a batch is scored in at once by [`Model::raw_and_top_batch`].
const BATCH_CHUNK: usize = 64;
/// The `format` value of a model file.
pub const FORMAT: &str = "connscope-model";
/// The model file version this build reads and writes.
pub const VERSION: u32 = 1;

/// Why a model file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid model JSON (corrupt or truncated).
    #[error("{path}: not a valid model file (line {line}, column {column}): {msg}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What was wrong.
        msg: String,
    },
    /// The file is a model of another format, version or feature set.
    #[error("{path}: incompatible model: {why}")]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// What does not match.
        why: String,
    },
}

/// How one detector's raw scores map onto the combined scale: `(raw −
/// median) / scale`, with the median and the spread up to the 99th
/// percentile of its scores on the training samples.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// Detector name.
    pub detector: String,
    /// Median training score.
    pub median: f64,
    /// 99th percentile minus median (floored).
    pub scale: f64,
}

/// What the training run saw.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TrainInfo {
    /// Connections the models were fitted on.
    pub samples: usize,
    /// Connections seen in training (before sampling).
    pub seen: u64,
    /// First and last training connection start (epoch seconds).
    pub first_ts: f64,
    /// See `first_ts`.
    pub last_ts: f64,
    /// Target false-positive rate the threshold is calibrated for.
    pub target_fpr: f64,
    /// Seed of the randomised detectors.
    pub seed: u64,
}

/// Everything detection learned.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Model {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// Feature names, in vector order (checked when loading).
    pub features: Vec<String>,
    /// The training run.
    pub trained: TrainInfo,
    /// Per-class robust baselines.
    pub robust: Robust,
    /// Isolation forest.
    pub iforest: IsolationForest,
    /// Empirical tails.
    pub ecod: Ecod,
    /// Autoencoder.
    pub autoencoder: Autoencoder,
    /// Per-detector calibration, in score.log column order.
    pub calibration: Vec<Calibration>,
    /// Combined-score threshold: the training quantile at `1 − target_fpr`.
    pub threshold: f64,
    /// What each host-level detector learned, by detector name, as the
    /// JSON text of its entry (each detector parses its own).
    pub hosts: BTreeMap<String, HostJson>,
}

/// One host-level detector's entry of a model file: JSON text, checked
/// when it was read (by serde, or as serde would by `detect::json_scan`),
/// and, for a large entry read by the fast reader of its detector while
/// the file was read, what that reader read ([`Preread`]).
#[derive(Clone, Debug)]
pub struct HostJson {
    text: Text,
    preread: Option<Preread>,
}

#[derive(Clone, Debug)]
enum Text {
    /// As serde read it, or a fit wrote it.
    Raw(Box<RawValue>),
    /// Cut from the file by [`Model::from_json`]'s scan.
    Checked(Box<str>),
}

impl HostJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        match &self.text {
            Text::Raw(r) => r.get(),
            Text::Checked(t) => t,
        }
    }

    /// What the detector's fast reader read of the text while the file was
    /// read, if it did (once: it is moved out).
    pub fn take_preread(&mut self) -> Option<Preread> {
        self.preread.take()
    }
}

impl From<Box<RawValue>> for HostJson {
    fn from(r: Box<RawValue>) -> HostJson {
        HostJson {
            text: Text::Raw(r),
            preread: None,
        }
    }
}

impl Serialize for HostJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.text {
            Text::Raw(r) => r.serialize(s),
            // (serde writes JSON text as it is only from a RawValue; a
            // loaded model's entries are rarely written again)
            Text::Checked(t) => RawValue::from_string(t.to_string())
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for HostJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<HostJson, D::Error> {
        Box::<RawValue>::deserialize(d).map(HostJson::from)
    }
}

fn incompatible(path: &Path, why: String) -> ModelError {
    ModelError::Incompatible {
        path: path.to_path_buf(),
        why,
    }
}

/// Rejects another format or version.
fn check_header(format: &str, version: u64, path: &Path) -> Result<(), ModelError> {
    if format != FORMAT {
        return Err(incompatible(
            path,
            format!("format is {format:?}, expected {FORMAT:?}"),
        ));
    }
    if version != u64::from(VERSION) {
        return Err(incompatible(
            path,
            format!("version {version}, this connscope reads version {VERSION}"),
        ));
    }
    Ok(())
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    let a = sorted.get(lo).copied().unwrap_or(0.0);
    let b = sorted.get(hi).copied().unwrap_or(a);
    a + (b - a) * frac
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

impl Model {
    /// Fits every connection-level detector on benign `samples` and
    /// calibrates the combined score for `target_fpr`.
    pub fn fit(samples: &[Sample], info: TrainInfo) -> Model {
        let seed = info.seed;
        let mut m = Model {
            format: FORMAT.to_string(),
            version: VERSION,
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            robust: Robust::fit(samples, seed),
            iforest: IsolationForest::fit(samples, seed ^ 0x1f),
            ecod: Ecod::fit(samples, seed ^ 0xec),
            autoencoder: Autoencoder::fit(samples, seed ^ 0xae),
            calibration: Vec::new(),
            threshold: 0.0,
            trained: info,
            hosts: BTreeMap::new(),
        };
        let raw: Vec<[f64; 4]> = samples.iter().map(|s| m.raw(s)).collect();
        let names = m.detector_names();
        m.calibration = (0..4)
            .map(|d| {
                let v = sorted(raw.iter().map(|r| r[d]).collect());
                let median = quantile(&v, 0.5);
                let spread = quantile(&v, 0.99) - median;
                Calibration {
                    detector: names[d].to_string(),
                    median,
                    scale: spread.max(1e-3 * median.abs()).max(1e-6),
                }
            })
            .collect();
        let combined = sorted(raw.iter().map(|r| m.combine(r)).collect());
        m.threshold = quantile(&combined, 1.0 - m.trained.target_fpr);
        m
    }

    fn detectors(&self) -> [&dyn ConnDetector; 4] {
        [&self.robust, &self.iforest, &self.ecod, &self.autoencoder]
    }

    /// The detectors' names, in score.log order.
    pub fn detector_names(&self) -> [&'static str; 4] {
        self.detectors().map(|d| d.name())
    }

    /// Each detector's raw score, in score.log order.
    pub fn raw(&self, s: &Sample) -> [f64; 4] {
        self.detectors().map(|d| {
            let v = d.score(s);
            if v.is_finite() {
                v
            } else {
                0.0
            }
        })
    }

    /// [`raw`](Self::raw) and the robust baseline's top features
    /// ([`Robust::explain`]) in one pass.
    pub fn raw_and_top(&self, s: &Sample) -> ([f64; 4], TopFeatures) {
        self.assemble(
            s,
            self.iforest.score(s),
            self.ecod.score(s),
            self.autoencoder.score(s),
        )
    }

    /// A sample's raw scores and top features, given its forest, ECOD and
    /// autoencoder scores (computed one by one or over a batch).
    fn assemble(&self, s: &Sample, forest: f64, ecod: f64, ae: f64) -> ([f64; 4], TopFeatures) {
        let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
        let (robust, top) = self.robust.assess(s);
        let raw = [finite(robust), finite(forest), finite(ecod), finite(ae)];
        (raw, top)
    }

    /// [`raw_and_top`](Self::raw_and_top) of every sample of `batch` (the
    /// same values) appended to `out`: the isolation forest walked tree by
    /// tree and ECOD's tables read feature by feature over the whole batch
    /// (they stay in cache), the autoencoder's weights read once per group
    /// of points.
    pub fn raw_and_top_batch(&self, batch: &[Sample], out: &mut Vec<([f64; 4], TopFeatures)>) {
        // (chunks with their scores on the stack: no allocation per batch;
        // every score is its point's own, so the chunks change no bit)
        for batch in batch.chunks(BATCH_CHUNK) {
            let n = batch.len();
            let mut forest = [0.0; BATCH_CHUNK];
            let mut ecod = [0.0; BATCH_CHUNK];
            let mut ae = [0.0; BATCH_CHUNK];
            self.iforest.score_batch(batch, &mut forest[..n]);
            self.ecod.score_batch(batch, &mut ecod[..n]);
            self.autoencoder.score_batch(batch, &mut ae[..n]);
            out.extend(
                batch
                    .iter()
                    .zip(forest.iter().zip(ecod.iter()).zip(ae.iter()))
                    .map(|(s, ((&f, &e), &a))| self.assemble(s, f, e, a)),
            );
        }
    }

    /// The combined score of raw detector scores: the mean of each score
    /// on its calibrated scale (0 = the training median, 1 = the training
    /// 99th percentile).
    pub fn combine(&self, raw: &[f64; 4]) -> f64 {
        let mut sum = 0.0;
        for (r, c) in raw.iter().zip(&self.calibration) {
            sum += ((r - c.median) / c.scale).clamp(-10.0, 1000.0);
        }
        sum / self.calibration.len().max(1) as f64
    }

    /// Reads a model file, rejecting other formats, versions and feature sets.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Model::from_json(&text, path)
    }

    /// Parses a model document (`path` names it in errors).
    ///
    /// Most of a model with many hosts is its `hosts` section, which serde
    /// would only check and copy (each host detector parses its own entry),
    /// slowly. So a fast scan (`detect::json_scan`) checks the document as
    /// serde would and cuts that section out, serde parses the rest (the
    /// section replaced by `{}`), and the entries' text is taken from the
    /// cut. A document the scan does not take (not JSON, a repeated
    /// `hosts`, escapes in a key) or whose rest serde rejects is read by
    /// [`from_json_serde`](Self::from_json_serde) instead, so every error
    /// names its place in the file as before.
    pub fn from_json(text: &str, path: &Path) -> Result<Model, ModelError> {
        match Model::read_cut(text) {
            Some(m) => m.checked(path),
            None => Model::from_json_serde(text, path),
        }
    }

    /// The model of a document that [`json_scan`](super::json_scan) finds
    /// valid, with the `hosts` section cut out before serde parses the
    /// rest, and the two large numeric sections (`iforest`, `ecod`) read
    /// by their own cursor readers (serde's float parsing is most of a
    /// load otherwise) and cut out too when those take them; `None` for
    /// anything else.
    fn read_cut(text: &str) -> Option<Model> {
        let mut c = Cursor::new(text);
        let mut hosts = BTreeMap::new();
        let (mut forest, mut ecod) = (None, None);
        let (mut forest_seen, mut ecod_seen, mut hosts_seen) = (false, false, false);
        // (start, end, stand-in) of each section read here
        let mut cuts: Vec<(usize, usize, &str)> = Vec::with_capacity(3);
        c.object(|key, c| match key {
            // (stand-ins: a value of the section's type for serde, replaced
            // after serde's pass)
            "iforest" => cut_section(
                c,
                &mut forest_seen,
                &mut cuts,
                r#"{"trees":[],"subsample":0}"#,
                |c| {
                    forest = Some(IsolationForest::read_json(c)?);
                    Some(())
                },
            ),
            "ecod" => cut_section(c, &mut ecod_seen, &mut cuts, r#"{"cols":[]}"#, |c| {
                ecod = Some(Ecod::read_json(c)?);
                Some(())
            }),
            "hosts" => {
                if std::mem::replace(&mut hosts_seen, true) {
                    return None;
                }
                c.peek()?;
                let start = c.pos();
                c.object(|name, c| {
                    c.peek()?;
                    let from = c.pos();
                    let preread = preread(name, c);
                    let json = match preread {
                        Some(_) => text.get(from..c.pos())?,
                        None => c.value()?,
                    };
                    let entry = HostJson {
                        text: Text::Checked(json.into()),
                        preread,
                    };
                    // (a repeated name: its last entry, as serde's map)
                    hosts.insert(name.to_string(), entry);
                    Some(())
                })?;
                cuts.push((start, c.pos(), "{}"));
                Some(())
            }
            // (serde reads it below)
            _ => c.skip(),
        })?;
        if !hosts_seen || !c.at_end() {
            return None;
        }
        // (the cuts are in text order: the walk met them so)
        let mut rest = String::with_capacity(text.len());
        let mut at = 0;
        for &(start, end, stand_in) in &cuts {
            rest.push_str(text.get(at..start)?);
            rest.push_str(stand_in);
            at = end;
        }
        rest.push_str(text.get(at..)?);
        let mut m: Model = serde_json::from_str(&rest).ok()?;
        m.hosts = hosts;
        if let Some(f) = forest {
            m.iforest = f;
        }
        if let Some(e) = ecod {
            m.ecod = e;
        }
        Some(m)
    }

    /// [`from_json`](Self::from_json) with serde over the whole document:
    /// what it falls back to, and the reference it is tested against.
    pub fn from_json_serde(text: &str, path: &Path) -> Result<Model, ModelError> {
        let parse_err = |e: serde_json::Error| ModelError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            msg: e.to_string(),
        };
        // One pass for a good file. When the document does not parse as a
        // model, a header-only pass (no JSON tree of the whole, possibly
        // large, document) tells an old or foreign file, with a clear
        // message, from a corrupt one.
        #[derive(Deserialize)]
        struct Header {
            #[serde(default)]
            format: serde_json::Value,
            #[serde(default)]
            version: serde_json::Value,
        }
        let m: Model = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                let v: Header = serde_json::from_str(text).map_err(parse_err)?;
                check_header(
                    v.format.as_str().unwrap_or(""),
                    v.version.as_u64().unwrap_or(0),
                    path,
                )?;
                return Err(parse_err(e));
            }
        };
        m.checked(path)
    }

    /// The model, if it is of this format, version and feature set.
    fn checked(self, path: &Path) -> Result<Model, ModelError> {
        check_header(&self.format, u64::from(self.version), path)?;
        if self.features.len() != N_FEATURES
            || self.features.iter().zip(FEATURE_NAMES).any(|(a, b)| a != b)
        {
            return Err(incompatible(
                path,
                "it was trained on another feature set".to_string(),
            ));
        }
        if self.calibration.len() != 4 || !self.threshold.is_finite() {
            return Err(incompatible(path, "calibration is missing".to_string()));
        }
        Ok(self)
    }

    /// Writes the model as pretty JSON (to a temporary file, then renamed,
    /// so a failed write never leaves half a model).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let io = |e| ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| io(e.into()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// A model section that `read` may take (see [`Model::read_cut`]): read
/// and its span recorded with `stand_in`, or, when `read` does not take
/// it, left in place for serde. `None` for a repeated section (serde's
/// error) or text that is not JSON.
fn cut_section<'a>(
    c: &mut Cursor<'a>,
    seen: &mut bool,
    cuts: &mut Vec<(usize, usize, &'static str)>,
    stand_in: &'static str,
    read: impl FnOnce(&mut Cursor<'a>) -> Option<()>,
) -> Option<()> {
    if std::mem::replace(seen, true) {
        return None;
    }
    c.peek()?;
    let (start, before) = (c.pos(), *c);
    if read(c).is_none() {
        *c = before;
        return c.skip();
    }
    cuts.push((start, c.pos(), stand_in));
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::features::ServiceClass;
    use crate::detect::rng::Rng;

    /// A model fitted on varied synthetic samples, as pretty JSON (as
    /// [`Model::save`] writes it).
    fn model_text() -> String {
        let mut rng = Rng::new(7);
        let samples: Vec<Sample> = (0..600)
            .map(|i| Sample {
                class: if i % 3 == 0 {
                    ServiceClass::Icmp
                } else {
                    ServiceClass::High(crate::conn::Transport::Tcp)
                },
                x: std::array::from_fn(|j| (rng.below(1000) as f64 / 37.0) * (j % 4) as f64),
            })
            .collect();
        let m = Model::fit(&samples, TrainInfo::default());
        serde_json::to_string_pretty(&m).unwrap()
    }

    /// The one-pass reader and serde alone: the same model (as JSON) or
    /// the same error.
    fn same_as_serde(text: &str) -> Result<String, String> {
        let path = Path::new("m.json");
        let fast = Model::from_json(text, path).map(|m| serde_json::to_string(&m).unwrap());
        let slow = Model::from_json_serde(text, path).map(|m| serde_json::to_string(&m).unwrap());
        let (fast, slow) = (
            fast.map_err(|e| e.to_string()),
            slow.map_err(|e| e.to_string()),
        );
        assert_eq!(fast, slow);
        fast
    }

    #[test]
    fn the_forest_and_ecod_readers_read_what_serde_reads() {
        let text = model_text();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let forest = serde_json::to_string(&v["iforest"]).unwrap();
        let ecod = serde_json::to_string(&v["ecod"]).unwrap();
        let f = IsolationForest::read_json(&mut Cursor::new(&forest)).expect("forest read");
        let e = Ecod::read_json(&mut Cursor::new(&ecod)).expect("ecod read");
        let f_serde: IsolationForest = serde_json::from_str(&forest).unwrap();
        let e_serde: Ecod = serde_json::from_str(&ecod).unwrap();
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            serde_json::to_string(&f_serde).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            serde_json::to_string(&e_serde).unwrap()
        );
        assert!(same_as_serde(&text).is_ok());
    }

    #[test]
    fn sections_the_readers_do_not_take_are_left_to_serde() {
        let text = model_text();
        // Each edit is to the first node of the forest or the first ECOD
        // column; some make a document serde reads (extra fields, an
        // integer threshold), some one it refuses (missing or repeated
        // fields, numbers out of range, wrong types).
        let node = "\"feature\": ";
        let col = "\"left_auto\": ";
        let edits: [(&str, &str); 10] = [
            (node, "\"extra\": 1, \"feature\": "),
            (node, "\"feature\": 1, \"feature\": "),
            ("\"threshold\": ", "\"threshold\": 1e400, \"x\": "),
            (col, "\"left_auto\": null, \"y\": "),
            (col, "\"extra\": [1, 2], \"left_auto\": "),
            ("\"subsample\": ", "\"subsample\": -1, \"z\": "),
            ("\"trees\": ", "\"tr\\u0065es\": [], \"trees\": "),
            ("\"iforest\": ", "\"iforest\": {}, \"iforest\": "),
            ("\"ecod\": ", "\"ecod\": 5, \"q\": "),
            (node, "\"feature\": 70000, \"w\": "),
        ];
        for (from, to) in edits {
            assert!(text.contains(from), "{from}");
            let edited = text.replacen(from, to, 1);
            let _ = same_as_serde(&edited);
        }
        // An integer threshold is read as the double serde reads.
        let t = text.find("\"threshold\": ").unwrap() + "\"threshold\": ".len();
        let end = t + text[t..].find(',').unwrap();
        let edited = format!("{}7{}", &text[..t], &text[end..]);
        assert!(same_as_serde(&edited).is_ok());
    }
}
