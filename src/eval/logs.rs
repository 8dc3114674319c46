//! Reading Zeek logs back: one reader for both formats the sensor writes.
//!
//! Owns: format detection (a file whose first byte is `#` is Zeek TSV,
//! anything else JSON lines), TSV header parsing (`#separator`,
//! `#set_separator`, `#empty_field`, `#unset_field`, `#fields`, `#types`),
//! `\xNN` unescaping, and turning each row into named [`Field`]s.
//!
//! Must not: know what any column means (score.log and notice.log semantics
//! live in the parent module and [`super::hosts`]).

use super::EvalError;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// One field value.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A number (TSV `time`, `interval`, `double`, `count`, `int`, `port`;
    /// a JSON number).
    Num(f64),
    /// A boolean (TSV `T`/`F`, JSON `true`/`false`).
    Bool(bool),
    /// Text (strings, addresses, enums, and JSON strings such as ISO 8601
    /// times).
    Str(String),
    /// A vector or set, each element as text.
    List(Vec<String>),
}

/// One row: its 1-based line in the file and its set fields (unset fields
/// are absent).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// 1-based line number in the file (for messages).
    pub line: usize,
    /// The set fields by column name.
    pub fields: HashMap<String, Field>,
}

impl Record {
    /// A text field (numbers and booleans are not text).
    pub fn str(&self, k: &str) -> Option<&str> {
        match self.fields.get(k) {
            Some(Field::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A numeric field; a text field is parsed as a number if it is one.
    pub fn num(&self, k: &str) -> Option<f64> {
        match self.fields.get(k) {
            Some(Field::Num(n)) => Some(*n),
            Some(Field::Str(s)) => s.parse().ok(),
            _ => None,
        }
    }

    /// A time field: epoch seconds, or an ISO 8601 UTC string
    /// (`2026-11-22T02:46:24.224000Z`, the sensor's `--json-time iso8601`).
    pub fn time(&self, k: &str) -> Option<f64> {
        match self.fields.get(k) {
            Some(Field::Num(n)) => Some(*n),
            Some(Field::Str(s)) => s.parse().ok().or_else(|| parse_iso8601(s)),
            _ => None,
        }
    }
}

/// A whole log file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Log {
    /// Column names in file order (TSV `#fields`; JSON: order of first
    /// appearance).
    pub columns: Vec<String>,
    /// TSV `#types` by column name (empty for JSON).
    pub types: HashMap<String, String>,
    /// The rows.
    pub records: Vec<Record>,
}

/// Reads a log file in either format.
pub fn read_log(path: &Path) -> Result<Log, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    parse_log(&text).map_err(|(line, reason)| EvalError::parse(path, line, reason))
}

/// Parses log text (format detected from the first byte); errors are
/// (1-based line, reason).
pub fn parse_log(text: &str) -> Result<Log, (usize, String)> {
    if text.starts_with('#') {
        parse_tsv(text)
    } else {
        parse_json_lines(text)
    }
}

/// Zeek's `\xNN` escapes back to bytes (lossy UTF-8 for the result).
pub(crate) fn unescape(s: &str) -> String {
    if !s.contains("\\x") {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            if let Some(v) = std::str::from_utf8(&b[i + 2..i + 4])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_tsv(text: &str) -> Result<Log, (usize, String)> {
    let mut sep = "\t".to_string();
    let mut set_sep = ",".to_string();
    let mut empty = "(empty)".to_string();
    let mut unset = "-".to_string();
    let mut log = Log::default();
    let mut types: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.is_empty() {
            continue;
        }
        if let Some(meta) = raw.strip_prefix('#') {
            if let Some(v) = meta.strip_prefix("separator ") {
                sep = unescape(v.trim());
                continue;
            }
            let mut parts = meta.split(sep.as_str());
            let key = parts.next().unwrap_or("");
            let vals: Vec<String> = parts.map(unescape).collect();
            match key {
                "set_separator" => set_sep = vals.first().cloned().unwrap_or(set_sep),
                "empty_field" => empty = vals.first().cloned().unwrap_or(empty),
                "unset_field" => unset = vals.first().cloned().unwrap_or(unset),
                "fields" => log.columns = vals,
                "types" => types = vals,
                _ => {}
            }
            continue;
        }
        if log.columns.is_empty() {
            return Err((line, "data line before the #fields header".into()));
        }
        let cells: Vec<&str> = raw.split(sep.as_str()).collect();
        if cells.len() != log.columns.len() {
            return Err((
                line,
                format!(
                    "{} fields, the #fields header names {}",
                    cells.len(),
                    log.columns.len()
                ),
            ));
        }
        let mut rec = Record {
            line,
            fields: HashMap::with_capacity(cells.len()),
        };
        for (c, cell) in cells.iter().enumerate() {
            if *cell == unset {
                continue;
            }
            let ty = types.get(c).map(String::as_str).unwrap_or("string");
            let name = &log.columns[c];
            let v = tsv_value(cell, ty, &set_sep, &empty)
                .map_err(|r| (line, format!("column {name}: {r}")))?;
            rec.fields.insert(name.clone(), v);
        }
        log.records.push(rec);
    }
    for (c, t) in log.columns.iter().zip(types) {
        log.types.insert(c.clone(), t);
    }
    Ok(log)
}

/// One TSV cell of Zeek type `ty` as a [`Field`].
pub(crate) fn tsv_value(cell: &str, ty: &str, set_sep: &str, empty: &str) -> Result<Field, String> {
    if ty.starts_with("vector[") || ty.starts_with("set[") || ty.starts_with("table[") {
        if cell == empty {
            return Ok(Field::List(Vec::new()));
        }
        return Ok(Field::List(cell.split(set_sep).map(unescape).collect()));
    }
    match ty {
        "time" | "interval" | "double" | "count" | "int" | "port" => cell
            .parse::<f64>()
            .map(Field::Num)
            .map_err(|_| format!("{cell:?} is not a number ({ty})")),
        "bool" => match cell {
            "T" => Ok(Field::Bool(true)),
            "F" => Ok(Field::Bool(false)),
            _ => Err(format!("{cell:?} is not a bool (T or F)")),
        },
        _ if cell == empty => Ok(Field::Str(String::new())),
        _ => Ok(Field::Str(unescape(cell))),
    }
}

/// A JSON object with its keys in file order.
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = m.next_entry::<String, serde_json::Value>()? {
                    v.push(kv);
                }
                Ok(Ordered(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_json_lines(text: &str) -> Result<Log, (usize, String)> {
    let mut log = Log::default();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let obj: Ordered =
            serde_json::from_str(raw).map_err(|e| (line, format!("not a JSON object: {e}")))?;
        let mut rec = Record {
            line,
            fields: HashMap::with_capacity(obj.0.len()),
        };
        for (k, v) in obj.0 {
            let f = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::Bool(b) => Field::Bool(b),
                serde_json::Value::Number(n) => match n.as_f64() {
                    Some(x) => Field::Num(x),
                    None => return Err((line, format!("column {k}: number out of range"))),
                },
                serde_json::Value::String(s) => Field::Str(s),
                serde_json::Value::Array(a) => Field::List(a.iter().map(json_text).collect()),
                serde_json::Value::Object(_) => Field::Str(v.to_string()),
            };
            if seen.insert(k.clone(), ()).is_none() {
                log.columns.push(k.clone());
            }
            rec.fields.insert(k, f);
        }
        log.records.push(rec);
    }
    Ok(log)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac][Z]` (UTC) to epoch seconds.
pub fn parse_iso8601(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let y: i64 = d.next()?.parse().ok()?;
    let mo: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let mut t = time.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let mi: i64 = t.next()?.parse().ok()?;
    let sec: f64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60) as f64 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tscore\n#open\t2026-11-22-02-46-24\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tproto\trobust\tscore\tanomalous\ttop_features\ttop_values\tmsg\n#types\ttime\tstring\taddr\tport\tenum\tdouble\tdouble\tbool\tvector[string]\tvector[double]\tstring\n1795315811.518465\tCabc\t10.66.0.66\t40000\ttcp\t3.5\t-\tT\tduration,orig_pkts\t1.0,2.0\ta\\x09b\n1795315812.0\tCdef\tfd66::10\t22\tudp\t-\t0.25\tF\t(empty)\t(empty)\t(empty)\n#close\t2026-11-22-02-56-24\n";

    #[test]
    fn tsv_rows_types_unset_empty_and_vectors() {
        let log = parse_log(TSV).unwrap();
        assert_eq!(log.columns.len(), 11);
        assert_eq!(log.types["robust"], "double");
        assert_eq!(log.records.len(), 2);
        let r = &log.records[0];
        assert_eq!(r.line, 9);
        assert_eq!(r.time("ts"), Some(1795315811.518465));
        assert_eq!(r.str("id.orig_h"), Some("10.66.0.66"));
        assert_eq!(r.num("id.orig_p"), Some(40000.0));
        assert_eq!(r.num("robust"), Some(3.5));
        assert_eq!(r.num("score"), None, "'-' is unset");
        assert_eq!(r.fields["anomalous"], Field::Bool(true));
        assert_eq!(
            r.fields["top_features"],
            Field::List(vec!["duration".into(), "orig_pkts".into()])
        );
        assert_eq!(r.str("msg"), Some("a\tb"), "\\x09 unescaped");
        let r = &log.records[1];
        assert_eq!(r.num("robust"), None);
        assert_eq!(r.num("score"), Some(0.25));
        assert_eq!(r.fields["top_values"], Field::List(vec![]));
        assert_eq!(r.str("msg"), Some(""));
    }

    #[test]
    fn tsv_wrong_field_count_names_the_line() {
        let bad = "#separator \\x09\n#fields\ta\tb\n#types\tstring\tstring\nx\n";
        let e = parse_log(bad).unwrap_err();
        assert_eq!(e.0, 4);
        let bad = "#separator \\x09\n#fields\ta\n#types\tdouble\nnope\n";
        assert_eq!(parse_log(bad).unwrap_err().0, 4);
    }

    #[test]
    fn json_lines_order_absent_and_arrays() {
        let text = "{\"ts\":1795315811.5,\"uid\":\"C1\",\"id.orig_h\":\"10.66.0.66\",\"id.orig_p\":40000,\"robust\":1.5,\"iforest\":0.7,\"anomalous\":true,\"top_features\":[\"a\",\"b\"],\"top_values\":[1.0,2.5]}\n\n{\"ts\":\"2026-11-22T02:46:24.224000Z\",\"uid\":\"C2\",\"iforest\":0}\n";
        let log = parse_log(text).unwrap();
        assert_eq!(
            log.columns,
            [
                "ts",
                "uid",
                "id.orig_h",
                "id.orig_p",
                "robust",
                "iforest",
                "anomalous",
                "top_features",
                "top_values"
            ]
        );
        assert_eq!(log.records[0].num("robust"), Some(1.5));
        assert_eq!(
            log.records[0].fields["top_values"],
            Field::List(vec!["1.0".into(), "2.5".into()])
        );
        let r = &log.records[1];
        assert_eq!(r.line, 3);
        assert_eq!(r.num("robust"), None);
        assert_eq!(r.num("iforest"), Some(0.0));
        assert!((r.time("ts").unwrap() - 1795315584.224).abs() < 1e-6);
        assert_eq!(parse_log("{\"a\":1}\nnot json\n").unwrap_err().0, 2);
    }
}
