//! Streaming Zeek log reader for the report: one row at a time, in either
//! format the sensor writes, in constant memory whatever the file's size.
//!
//! Owns: format detection (first byte `#` = Zeek TSV, else JSON lines, as
//! [`crate::eval::logs`] decides), TSV headers (`#separator`,
//! `#set_separator`, `#empty_field`, `#unset_field`, `#fields`, `#types`,
//! also when a header block repeats mid-file), a growing column schema
//! (JSON keys are added as they appear), and a cheap look at one text field
//! of the raw line ([`LogStream::quick_str`]) so a pass that wants a few
//! rows does not parse the others. TSV cells are typed with the eval
//! reader's own [`tsv_value`](crate::eval::logs) rules.
//!
//! Must not: know what a column means, or stop on a bad row: a row that
//! does not parse is counted in [`LogStream::skipped`] (the first reason is
//! kept) and reading goes on. Only I/O errors end a read.

use super::ReportError;
use crate::eval::logs::{tsv_value, unescape, Field};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The column names a stream has met, each with a fixed index.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Schema {
    /// The index of `name`, added if new.
    pub fn col(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    /// The index of `name`, if met.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Every name, by index.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// One parsed row: a value (or nothing, when unset or absent) per schema
/// column.
#[derive(Clone, Debug, Default)]
pub struct Row {
    values: Vec<Option<Field>>,
    /// Columns set in this row, in file order.
    order: Vec<usize>,
}

impl Row {
    fn clear(&mut self, width: usize) {
        for i in self.order.drain(..) {
            if let Some(v) = self.values.get_mut(i) {
                *v = None;
            }
        }
        if self.values.len() < width {
            self.values.resize(width, None);
        }
    }

    fn set(&mut self, c: usize, v: Field) {
        if self.values.len() <= c {
            self.values.resize(c + 1, None);
        }
        if self.values[c].is_none() {
            self.order.push(c);
        }
        self.values[c] = Some(v);
    }

    /// The value of column `c`.
    pub fn get(&self, c: usize) -> Option<&Field> {
        self.values.get(c).and_then(Option::as_ref)
    }

    /// A text field.
    pub fn str(&self, c: usize) -> Option<&str> {
        match self.get(c) {
            Some(Field::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A number (a text field that is a number counts).
    pub fn num(&self, c: usize) -> Option<f64> {
        match self.get(c) {
            Some(Field::Num(n)) => Some(*n),
            Some(Field::Str(s)) => s.parse().ok(),
            _ => None,
        }
    }

    /// A time: epoch seconds or an ISO 8601 UTC string.
    pub fn time(&self, c: usize) -> Option<f64> {
        match self.get(c) {
            Some(Field::Num(n)) => Some(*n),
            Some(Field::Str(s)) => s
                .parse()
                .ok()
                .or_else(|| crate::eval::logs::parse_iso8601(s)),
            _ => None,
        }
    }

    /// A boolean.
    pub fn bool(&self, c: usize) -> Option<bool> {
        match self.get(c) {
            Some(Field::Bool(b)) => Some(*b),
            Some(Field::Str(s)) => match s.as_str() {
                "T" | "true" => Some(true),
                "F" | "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// A list (a lone text value is a list of one).
    pub fn list(&self, c: usize) -> Vec<String> {
        match self.get(c) {
            Some(Field::List(v)) => v.clone(),
            Some(Field::Str(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// The set columns in file order with their values.
    pub fn fields(&self) -> impl Iterator<Item = (usize, &Field)> {
        self.order
            .iter()
            .filter_map(|&c| self.get(c).map(|v| (c, v)))
    }
}

/// A field as display text (numbers as the log would print them, lists
/// comma-separated, booleans `T`/`F`).
pub fn field_text(f: &Field) -> String {
    match f {
        Field::Num(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", *n as i64)
            } else {
                format!("{n}")
            }
        }
        Field::Bool(b) => (if *b { "T" } else { "F" }).to_string(),
        Field::Str(s) => s.clone(),
        Field::List(v) => v.join(","),
    }
}

#[derive(Clone, Debug)]
struct TsvHeader {
    sep: String,
    set_sep: String,
    empty: String,
    unset: String,
    /// Schema index per TSV position.
    cols: Vec<usize>,
    types: Vec<String>,
}

impl Default for TsvHeader {
    fn default() -> Self {
        TsvHeader {
            sep: "\t".into(),
            set_sep: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            cols: Vec::new(),
            types: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Unknown,
    Tsv(TsvHeader),
    Json,
}

/// A log file read one row at a time.
pub struct LogStream {
    path: PathBuf,
    rd: BufReader<File>,
    /// The current line's bytes (not UTF-8 checked).
    bytes: Vec<u8>,
    line: String,
    line_no: usize,
    kind: Kind,
    /// Columns met so far.
    pub schema: Schema,
    row: Row,
    /// Data lines that did not parse.
    pub skipped: u64,
    /// The first of them: `line: reason`.
    pub first_error: Option<String>,
    /// Data lines read (parsed or not).
    pub lines: u64,
}

impl LogStream {
    /// Opens `path`; `Ok(None)` when it does not exist.
    pub fn open(path: &Path) -> Result<Option<LogStream>, ReportError> {
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ReportError::io(path, e)),
        };
        Ok(Some(LogStream {
            path: path.to_path_buf(),
            rd: BufReader::with_capacity(1 << 20, f),
            bytes: Vec::new(),
            line: String::new(),
            line_no: 0,
            kind: Kind::Unknown,
            schema: Schema::default(),
            row: Row::default(),
            skipped: 0,
            first_error: None,
            lines: 0,
        }))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `"tsv"`, `"json"` or `"empty"`.
    pub fn format(&self) -> &'static str {
        match self.kind {
            Kind::Tsv(_) => "tsv",
            Kind::Json => "json",
            Kind::Unknown => "empty",
        }
    }

    /// The index of column `name` (registered if not met yet).
    pub fn col(&mut self, name: &str) -> usize {
        self.schema.col(name)
    }

    /// Reads up to the next data line (TSV header lines are applied on the
    /// way); `false` at the end of the file.
    pub fn advance(&mut self) -> Result<bool, ReportError> {
        loop {
            self.line.clear();
            self.bytes.clear();
            let n = self
                .rd
                .read_until(b'\n', &mut self.bytes)
                .map_err(|e| ReportError::io(&self.path, e))?;
            match std::str::from_utf8(&self.bytes) {
                Ok(s) => self.line.push_str(s),
                Err(_) => self.line.push_str(&String::from_utf8_lossy(&self.bytes)),
            }
            if n == 0 {
                return Ok(false);
            }
            self.line_no += 1;
            while self.line.ends_with('\n') || self.line.ends_with('\r') {
                self.line.pop();
            }
            if self.line.trim().is_empty() {
                continue;
            }
            if matches!(self.kind, Kind::Unknown) {
                self.kind = if self.line.starts_with('#') {
                    Kind::Tsv(TsvHeader::default())
                } else {
                    Kind::Json
                };
            }
            if let Kind::Tsv(h) = &mut self.kind {
                if let Some(meta) = self.line.strip_prefix('#') {
                    apply_header(h, meta, &mut self.schema);
                    continue;
                }
            }
            self.lines += 1;
            return Ok(true);
        }
    }

    /// The current data line as read.
    pub fn raw(&self) -> &str {
        &self.line
    }

    /// A text field of the current line without parsing it (JSON: the
    /// string after `"name":"` up to the next quote, when it has no
    /// escapes; TSV: the cell at the column's position). `None` when it
    /// cannot be told cheaply: the caller parses the line instead.
    pub fn quick_str(&self, name: &str) -> Option<&str> {
        match &self.kind {
            Kind::Json => {
                let key = format!("\"{name}\":\"");
                let at = self.line.find(&key)? + key.len();
                let rest = self.line.get(at..)?;
                let end = rest.find('"')?;
                let v = &rest[..end];
                (!v.contains('\\')).then_some(v)
            }
            Kind::Tsv(h) => {
                let c = self.schema.get(name)?;
                let pos = h.cols.iter().position(|&x| x == c)?;
                let cell = self.line.split(h.sep.as_str()).nth(pos)?;
                (!cell.contains("\\x")).then_some(cell)
            }
            Kind::Unknown => None,
        }
    }

    /// Parses the current line; `None` (counted as skipped) when it does
    /// not parse.
    pub fn parse(&mut self) -> Option<&Row> {
        let width = self.schema.names().len();
        self.row.clear(width);
        let res = match &self.kind {
            Kind::Tsv(h) => parse_tsv_line(h, &self.line, &mut self.row),
            Kind::Json => parse_json_line(&self.line, &mut self.schema, &mut self.row),
            Kind::Unknown => Err("no data".to_string()),
        };
        match res {
            Ok(()) => Some(&self.row),
            Err(reason) => {
                self.skipped += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("line {}: {reason}", self.line_no));
                }
                None
            }
        }
    }

    /// Reads and parses the next good row (bad ones are skipped and
    /// counted); `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<&Row>, ReportError> {
        loop {
            if !self.advance()? {
                return Ok(None);
            }
            if self.parse().is_some() {
                return Ok(Some(&self.row));
            }
        }
    }
}

fn apply_header(h: &mut TsvHeader, meta: &str, schema: &mut Schema) {
    if let Some(v) = meta.strip_prefix("separator ") {
        h.sep = unescape(v.trim());
        if h.sep.is_empty() {
            h.sep = "\t".into();
        }
        return;
    }
    let mut parts = meta.split(h.sep.as_str());
    let key = parts.next().unwrap_or("");
    let vals: Vec<String> = parts.map(unescape).collect();
    match key {
        "set_separator" => h.set_sep = vals.first().cloned().unwrap_or_else(|| ",".into()),
        "empty_field" => h.empty = vals.first().cloned().unwrap_or_default(),
        "unset_field" => h.unset = vals.first().cloned().unwrap_or_else(|| "-".into()),
        "fields" => h.cols = vals.iter().map(|n| schema.col(n)).collect(),
        "types" => h.types = vals,
        _ => {}
    }
}

fn parse_tsv_line(h: &TsvHeader, line: &str, row: &mut Row) -> Result<(), String> {
    if h.cols.is_empty() {
        return Err("data line before the #fields header".into());
    }
    let mut n = 0;
    for (i, cell) in line.split(h.sep.as_str()).enumerate() {
        n += 1;
        let Some(&c) = h.cols.get(i) else {
            continue;
        };
        if cell == h.unset {
            continue;
        }
        let ty = h.types.get(i).map(String::as_str).unwrap_or("string");
        let v = tsv_value(cell, ty, &h.set_sep, &h.empty).map_err(|r| format!("cell {i}: {r}"))?;
        row.set(c, v);
    }
    if n != h.cols.len() {
        return Err(format!(
            "{n} fields, the #fields header names {}",
            h.cols.len()
        ));
    }
    Ok(())
}

fn parse_json_line(line: &str, schema: &mut Schema, row: &mut Row) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_str(line);
    RowSeed { schema, row }
        .deserialize(&mut de)
        .map_err(|e| format!("not a JSON object: {e}"))?;
    de.end().map_err(|e| format!("after the object: {e}"))
}

/// Deserializes one JSON object straight into a [`Row`].
struct RowSeed<'a> {
    schema: &'a mut Schema,
    row: &'a mut Row,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        while let Some(c) = m.next_key_seed(KeySeed(&mut *self.schema))? {
            let v: JVal = m.next_value()?;
            if let Some(f) = v.0 {
                self.row.set(c, f);
            }
        }
        Ok(())
    }
}

/// A key, resolved to its schema index.
struct KeySeed<'a>(&'a mut Schema);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, s: &str) -> Result<usize, E> {
        Ok(self.0.col(s))
    }
}

/// A JSON value as a [`Field`] (`null` is no value; an object is kept as
/// its JSON text).
struct JVal(Option<Field>);

impl<'de> serde::Deserialize<'de> for JVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<JVal, D::Error> {
        d.deserialize_any(JValVisitor)
    }
}

struct JValVisitor;

impl<'de> Visitor<'de> for JValVisitor {
    type Value = JVal;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<JVal, E> {
        Ok(JVal(Some(Field::Bool(v))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<JVal, E> {
        Ok(JVal(Some(Field::Num(v as f64))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<JVal, E> {
        Ok(JVal(Some(Field::Num(v as f64))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<JVal, E> {
        Ok(JVal(Some(Field::Num(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<JVal, E> {
        Ok(JVal(Some(Field::Str(v.to_string()))))
    }
    fn visit_string<E>(self, v: String) -> Result<JVal, E> {
        Ok(JVal(Some(Field::Str(v))))
    }
    fn visit_unit<E>(self) -> Result<JVal, E> {
        Ok(JVal(None))
    }
    fn visit_none<E>(self) -> Result<JVal, E> {
        Ok(JVal(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<JVal, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = s.next_element::<serde_json::Value>()? {
            out.push(match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
        }
        Ok(JVal(Some(Field::List(out))))
    }
    fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<JVal, A::Error> {
        let v: serde_json::Value =
            serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(m))?;
        Ok(JVal(Some(Field::Str(v.to_string()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(name: &str, text: &[u8]) -> PathBuf {
        let d = std::env::temp_dir().join(format!("connscope-report-logs-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(name);
        std::fs::File::create(&p).unwrap().write_all(text).unwrap();
        p
    }

    #[test]
    fn json_rows_bad_lines_skipped_and_counted() {
        let p = write(
            "a.log",
            b"{\"ts\":1.5,\"uid\":\"C1\",\"service\":\"dns\",\"x\":{\"a\":1},\"l\":[1,\"b\"]}\nnot json\n{\"ts\":\"2026-11-22T02:46:24.224000Z\",\"uid\":\"C\\\"2\",\"n\":null}\n{\"ts\":3",
        );
        let mut s = LogStream::open(&p).unwrap().unwrap();
        let ts = s.col("ts");
        let uid = s.col("uid");
        let r = s.next_row().unwrap().unwrap();
        assert_eq!(r.time(ts), Some(1.5));
        assert_eq!(r.str(uid), Some("C1"));
        let x = s.schema.get("x").unwrap();
        let l = s.schema.get("l").unwrap();
        let r = s.next_row().unwrap().unwrap();
        assert!((r.time(ts).unwrap() - 1795315584.224).abs() < 1e-6);
        assert_eq!(r.str(uid), Some("C\"2"));
        assert_eq!(r.get(x), None, "cleared between rows");
        assert_eq!(r.get(l), None);
        assert!(s.next_row().unwrap().is_none());
        assert_eq!(s.skipped, 2, "'not json' and the truncated last line");
        assert!(s.first_error.as_deref().unwrap().starts_with("line 2:"));
        assert_eq!(s.lines, 4);
        assert_eq!(s.format(), "json");
    }

    #[test]
    fn json_quick_str_without_parsing() {
        let p = write("q.log", b"{\"ts\":1.5,\"uid\":\"Cabc\"}\n");
        let mut s = LogStream::open(&p).unwrap().unwrap();
        assert!(s.advance().unwrap());
        assert_eq!(s.quick_str("uid"), Some("Cabc"));
        assert_eq!(s.quick_str("nope"), None);
    }

    #[test]
    fn tsv_rows_headers_and_repeated_header_blocks() {
        let text = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#fields\tts\tuid\tn\tl\n#types\ttime\tstring\tcount\tset[string]\n1.0\tC1\t5\ta,b\n2.0\tC2\t-\t(empty)\n2.0\tC3\n#close\tx\n#separator \\x09\n#fields\tuid\tts\n#types\tstring\ttime\nC4\t9.0\n";
        let p = write("t.log", text.as_bytes());
        let mut s = LogStream::open(&p).unwrap().unwrap();
        let ts = s.col("ts");
        let uid = s.col("uid");
        let r = s.next_row().unwrap().unwrap();
        let n = 2;
        let l = 3;
        assert_eq!(r.time(ts), Some(1.0));
        assert_eq!(r.num(n), Some(5.0));
        assert_eq!(r.list(l), vec!["a".to_string(), "b".to_string()]);
        let r = s.next_row().unwrap().unwrap();
        assert_eq!(r.num(n), None);
        assert_eq!(r.list(l), Vec::<String>::new());
        assert_eq!(s.quick_str("uid"), Some("C2"));
        let r = s.next_row().unwrap().unwrap();
        assert_eq!(r.str(uid), Some("C4"), "C3 is short and skipped");
        assert_eq!(r.time(ts), Some(9.0));
        assert_eq!(s.skipped, 1);
        assert_eq!(s.format(), "tsv");
    }

    #[test]
    fn missing_file_is_none_and_non_utf8_is_lossy() {
        assert!(LogStream::open(Path::new("/nonexistent/x.log"))
            .unwrap()
            .is_none());
        let p = write("u.log", b"{\"uid\":\"C\xff1\"}\n");
        let mut s = LogStream::open(&p).unwrap().unwrap();
        let uid = s.col("uid");
        let r = s.next_row().unwrap().unwrap();
        assert_eq!(r.str(uid), Some("C\u{fffd}1"));
    }
}
