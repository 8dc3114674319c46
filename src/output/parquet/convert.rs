//! `connscope convert`: Zeek log files to Parquet.
//!
//! TSV logs (Zeek's ASCII writer, connscope's or Zeek's own) carry their
//! schema in `#fields` / `#types`; their rows go to [`ParquetWriter`] as
//! they are. JSON-lines logs carry no types: a log connscope writes (known
//! by its name: conn, dns, flowmeter, ...) takes its columns' types from
//! connscope's schema, any other key's type is inferred from its values
//! (integers → `int`, or `count` when never negative; numbers → `double`;
//! `true`/`false` → `bool`; arrays → `vector` of their elements' type;
//! anything else → `string`). JSON files are read twice (keys and types,
//! then rows); each row is rendered as a TSV line of those columns.
//!
//! Owns reading log files for conversion. Must not: change values beyond
//! the type mapping, or skip a row silently (a bad row is an error naming
//! file, line and column).

use super::column::{parse_micros, ColType, Scalar};
use super::{ParquetError, ParquetOptions, ParquetWriter};
use crate::output::{self, tsv};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

/// An error converting one file.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// Reading the input or writing the output failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The input is not a Zeek log this converter reads.
    #[error("{}: line {line}: {reason}", path.display())]
    Format {
        /// The input.
        path: PathBuf,
        /// Line number (from 1; 0 for the file as a whole).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A row does not fit the log's columns.
    #[error("{}: line {line}: {source}", path.display())]
    Row {
        /// The input.
        path: PathBuf,
        /// Line number (from 1).
        line: u64,
        /// What is wrong.
        #[source]
        source: ParquetError,
    },
}

/// One converted file.
#[derive(Debug)]
pub struct Converted {
    /// The Parquet file written.
    pub output: PathBuf,
    /// Rows written.
    pub rows: u64,
    /// `tsv` or `json`.
    pub format: &'static str,
}

/// The output name for `input` in `out_dir`: the file name with a `.log`,
/// `.json`, `.ndjson` or `.tsv` extension replaced by `.parquet`.
pub fn output_path(input: &Path, out_dir: &Path) -> PathBuf {
    let name = input
        .file_name()
        .map_or_else(|| "log".to_string(), |n| n.to_string_lossy().into_owned());
    let stem = [".log", ".json", ".ndjson", ".tsv"]
        .iter()
        .find_map(|e| name.strip_suffix(e))
        .unwrap_or(&name);
    out_dir.join(format!("{stem}.parquet"))
}

/// The log's name (`#path`) guessed from a file name: the part before the
/// first `.` or `__` (`conn.log`, `conn.2024-01-01-00-00-00.log`,
/// `conn__2024-...__.log` → `conn`).
fn log_name(input: &Path) -> String {
    let name = input
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let end = [name.find('.'), name.find("__")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(name.len());
    name[..end].to_string()
}

/// Converts one Zeek log file (TSV or JSON lines) into `out_dir`.
pub fn convert(
    input: &Path,
    out_dir: &Path,
    opts: ParquetOptions,
) -> Result<Converted, ConvertError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ConvertError::Io {
            path: path.clone(),
            source,
        }
    };
    let mut r = BufReader::new(std::fs::File::open(input).map_err(io_err(input))?);
    let first = r.fill_buf().map_err(io_err(input))?;
    let json = first.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{');
    let output = output_path(input, out_dir);
    let rows = if json {
        json_log(input, r, &output, opts)?
    } else {
        tsv_log(input, r, &output, opts)?
    };
    Ok(Converted {
        output,
        rows,
        format: if json { "json" } else { "tsv" },
    })
}

/// Reads one line (without its newline) into `line`; false at the end.
fn next_line(r: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<bool> {
    line.clear();
    if r.read_until(b'\n', line)? == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(true)
}

fn tsv_log(
    input: &Path,
    mut r: impl BufRead,
    output: &Path,
    opts: ParquetOptions,
) -> Result<u64, ConvertError> {
    let bad = |line: u64, reason: String| ConvertError::Format {
        path: input.to_path_buf(),
        line,
        reason,
    };
    let (mut fields, mut types): (Option<Vec<String>>, Option<Vec<String>>) = (None, None);
    let mut log = log_name(input);
    let mut w: Option<ParquetWriter> = None;
    let mut line = Vec::new();
    let mut n = 0u64;
    let header_values = |l: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(l)
            .split('\t')
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    while next_line(&mut r, &mut line).map_err(|e| ConvertError::Io {
        path: input.to_path_buf(),
        source: e,
    })? {
        n += 1;
        if line.first() == Some(&b'#') {
            let expect = |key: &[u8], want: &[u8]| -> Result<(), ConvertError> {
                match line.strip_prefix(key) {
                    Some(v) if v != want => Err(bad(
                        n,
                        format!(
                            "{} {:?} is not supported (only Zeek's default {:?})",
                            String::from_utf8_lossy(key).trim(),
                            String::from_utf8_lossy(v),
                            String::from_utf8_lossy(want)
                        ),
                    )),
                    _ => Ok(()),
                }
            };
            expect(b"#separator ", b"\\x09")?;
            expect(b"#set_separator\t", b",")?;
            expect(b"#empty_field\t", b"(empty)")?;
            expect(b"#unset_field\t", b"-")?;
            if let Some(p) = line.strip_prefix(b"#path\t") {
                log = String::from_utf8_lossy(p).into_owned();
            } else if line.starts_with(b"#fields\t") {
                let f = header_values(&line);
                if w.is_some() && fields.as_ref() != Some(&f) {
                    return Err(bad(n, "a second #fields header with other columns".into()));
                }
                fields = Some(f);
            } else if line.starts_with(b"#types\t") {
                let t = header_values(&line);
                if w.is_some() && types.as_ref() != Some(&t) {
                    return Err(bad(n, "a second #types header with other types".into()));
                }
                types = Some(t);
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if w.is_none() {
            let (Some(f), Some(t)) = (&fields, &types) else {
                return Err(bad(n, "a row before the #fields and #types headers".into()));
            };
            if f.len() != t.len() {
                return Err(bad(
                    n,
                    format!("#fields has {} names, #types {}", f.len(), t.len()),
                ));
            }
            w = Some(create(output, &log, &pairs(f, t), opts)?);
        }
        if let Some(w) = w.as_mut() {
            w.push_tsv(&line)
                .map_err(|e| row_err(input, output, n, e))?;
        }
    }
    let mut w = match w {
        Some(w) => w,
        None => {
            let (Some(f), Some(t)) = (&fields, &types) else {
                return Err(bad(
                    0,
                    "not a Zeek log (no #fields and #types headers)".into(),
                ));
            };
            create(output, &log, &pairs(f, t), opts)?
        }
    };
    w.flush().map_err(|e| row_err(input, output, n, e))?;
    Ok(w.rows())
}

fn pairs<'a>(f: &'a [String], t: &'a [String]) -> Vec<(&'a str, &'a str)> {
    f.iter()
        .map(String::as_str)
        .zip(t.iter().map(String::as_str))
        .collect()
}

fn create(
    output: &Path,
    log: &str,
    cols: &[(&str, &str)],
    opts: ParquetOptions,
) -> Result<ParquetWriter, ConvertError> {
    ParquetWriter::create(output, log, cols, opts).map_err(|e| ConvertError::Io {
        path: output.to_path_buf(),
        source: e,
    })
}

fn row_err(input: &Path, output: &Path, line: u64, e: ParquetError) -> ConvertError {
    match e {
        ParquetError::Io { source, .. } => ConvertError::Io {
            path: output.to_path_buf(),
            source,
        },
        e => ConvertError::Row {
            path: input.to_path_buf(),
            line,
            source: e,
        },
    }
}

/// connscope's own columns for a log name, with every optional column on.
pub fn known_columns(log: &str) -> Vec<(&'static str, &'static str)> {
    let all_dns = crate::dns::DnsConfig {
        auth_addl: true,
        original_query: true,
        names: true,
        ..Default::default()
    };
    let all = output::conn_log::ConnLogOptions {
        community_id: true,
        vlan: true,
        l2_addrs: true,
        extras: true,
        dns: all_dns,
        geo: true,
        asn: true,
        ..Default::default()
    };
    match log {
        "conn" | "conn_long" => output::conn_log::columns(&all),
        "dns" => output::dns_log::columns(&all_dns),
        "flowmeter" => output::flowmeter_log::columns(),
        "context" => output::context_log::columns(),
        "weird" => output::weird_log::columns(),
        "stats" => output::stats_log::columns(false),
        "capture_loss" => output::capture_loss_log::columns(),
        "score" => output::score_log::columns(),
        "notice" => output::notice_log::columns(true),
        _ => Vec::new(),
    }
}

/// A type inferred from JSON values (merged over every row).
fn infer(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.is_u64() => "count".into(),
        Value::Number(n) if n.is_i64() => "int".into(),
        Value::Number(_) => "double".into(),
        Value::Array(a) => {
            let t = a
                .iter()
                .filter_map(infer)
                .reduce(|a, b| merge(&a, &b))
                .unwrap_or_else(|| "string".into());
            let t = ColType::of(&t);
            if t.list {
                "vector[string]".into()
            } else {
                format!("vector[{}]", scalar_name(t.scalar))
            }
        }
        _ => "string".into(),
    })
}

fn scalar_name(s: Scalar) -> &'static str {
    match s {
        Scalar::Count => "count",
        Scalar::Int => "int",
        Scalar::Double | Scalar::Interval => "double",
        Scalar::Bool => "bool",
        _ => "string",
    }
}

/// The type both `a` and `b` fit: count ⊂ int ⊂ double, else string.
fn merge(a: &str, b: &str) -> String {
    if a == b {
        return a.into();
    }
    let rank = |t: &str| match t {
        "count" => Some(0),
        "int" => Some(1),
        "double" => Some(2),
        _ => None,
    };
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => if x > y { a } else { b }.into(),
        _ if a.starts_with("vector[") && b.starts_with("vector[") => "vector[string]".into(),
        _ => "string".into(),
    }
}

fn json_log(
    input: &Path,
    mut r: impl BufRead,
    output: &Path,
    opts: ParquetOptions,
) -> Result<u64, ConvertError> {
    let io_err = |e| ConvertError::Io {
        path: input.to_path_buf(),
        source: e,
    };
    let parse = |n: u64, line: &[u8]| -> Result<Option<Map<String, Value>>, ConvertError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(_) => Err(ConvertError::Format {
                path: input.to_path_buf(),
                line: n,
                reason: "not a JSON object".into(),
            }),
            Err(e) => Err(ConvertError::Format {
                path: input.to_path_buf(),
                line: n,
                reason: format!("not JSON: {e}"),
            }),
        }
    };
    // Pass 1: the keys, with inferred types.
    let log = log_name(input);
    let known = known_columns(&log);
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut line = Vec::new();
    let mut n = 0;
    while next_line(&mut r, &mut line).map_err(io_err)? {
        n += 1;
        let Some(m) = parse(n, &line)? else { continue };
        for (k, v) in m {
            let t = infer(&v);
            let e = seen.entry(k).or_insert(None);
            *e = match (e.take(), t) {
                (Some(a), Some(b)) => Some(merge(&a, &b)),
                (a, b) => a.or(b),
            };
        }
    }
    // Known columns first (in connscope's order), then the others.
    let mut cols: Vec<(String, String)> = known
        .iter()
        .filter(|(k, _)| seen.contains_key(*k))
        .map(|(k, t)| (k.to_string(), t.to_string()))
        .collect();
    for (k, t) in &seen {
        if !known.iter().any(|(n, _)| n == k) {
            cols.push((k.clone(), t.clone().unwrap_or_else(|| "string".into())));
        }
    }
    let refs: Vec<(&str, &str)> = cols.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let mut w = create(output, &log, &refs, opts)?;
    // Pass 2: each row as a TSV line of those columns.
    let mut r = BufReader::new(std::fs::File::open(input).map_err(io_err)?);
    let (mut n, mut tsv_line) = (0, Vec::new());
    while next_line(&mut r, &mut line).map_err(io_err)? {
        n += 1;
        let Some(m) = parse(n, &line)? else { continue };
        tsv_line.clear();
        for (i, (k, t)) in cols.iter().enumerate() {
            if i > 0 {
                tsv_line.push(b'\t');
            }
            let ty = ColType::of(t);
            json_field(&mut tsv_line, m.get(k), ty).map_err(|reason| ConvertError::Format {
                path: input.to_path_buf(),
                line: n,
                reason: format!("{k}: {reason}"),
            })?;
        }
        w.push_tsv(&tsv_line)
            .map_err(|e| row_err(input, output, n, e))?;
    }
    w.flush().map_err(|e| row_err(input, output, n, e))?;
    Ok(w.rows())
}

/// Renders one JSON value as the TSV field of type `ty`.
fn json_field(out: &mut Vec<u8>, v: Option<&Value>, ty: ColType) -> Result<(), String> {
    match v {
        None | Some(Value::Null) => out.push(b'-'),
        Some(Value::Array(a)) if ty.list => {
            if a.is_empty() {
                out.extend_from_slice(b"(empty)");
            }
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_scalar(out, e, ty.scalar, true)?;
            }
        }
        Some(v) if ty.list => json_scalar(out, v, ty.scalar, true)?,
        Some(v) => json_scalar(out, v, ty.scalar, false)?,
    }
    Ok(())
}

fn json_scalar(out: &mut Vec<u8>, v: &Value, s: Scalar, in_set: bool) -> Result<(), String> {
    match (s, v) {
        (_, Value::Null) => out.push(b'-'),
        (Scalar::Time, Value::Number(n)) => {
            let f = n.as_f64().ok_or("not a time")?;
            out.extend_from_slice(format!("{f:.6}").as_bytes());
        }
        (Scalar::Time, Value::String(t)) => {
            let us = iso8601_micros(t).ok_or_else(|| format!("{t:?} is not an ISO 8601 time"))?;
            let (secs, frac) = (us.div_euclid(1_000_000), us.rem_euclid(1_000_000));
            out.extend_from_slice(format!("{secs}.{frac:06}").as_bytes());
        }
        (Scalar::Bool, Value::Bool(b)) => out.push(if *b { b'T' } else { b'F' }),
        (Scalar::Str, Value::String(t)) => tsv::string(out, t.as_bytes(), in_set),
        (Scalar::Str, v) => tsv::string(out, v.to_string().as_bytes(), in_set),
        (_, Value::Number(n)) => out.extend_from_slice(n.to_string().as_bytes()),
        (s, v) => return Err(format!("{v} is not a {s:?} value")),
    }
    Ok(())
}

/// `2019-03-01T21:16:50.629660Z` (Zeek's `JSON::TS_ISO8601`) as microseconds.
fn iso8601_micros(t: &str) -> Option<i64> {
    let t = t.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let mut h = time.splitn(3, ':');
    let (hh, mm): (i64, i64) = (h.next()?.parse().ok()?, h.next()?.parse().ok()?);
    let sec = parse_micros(h.next()?.as_bytes())?;
    if !(-9999..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || !(0..=23).contains(&hh)
        || !(0..=59).contains(&mm)
        || !(0..=60_999_999).contains(&sec)
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60) * 1_000_000 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            output_path(Path::new("/x/conn.log"), Path::new("/o")),
            Path::new("/o/conn.parquet")
        );
        assert_eq!(
            output_path(Path::new("dns.json"), Path::new("o")),
            Path::new("o/dns.parquet")
        );
        assert_eq!(log_name(Path::new("conn.2024-01-01-00-00-00.log")), "conn");
        assert_eq!(log_name(Path::new("conn__2024-01-01__x__.log")), "conn");
        assert_eq!(log_name(Path::new("capture_loss.log")), "capture_loss");
    }

    #[test]
    fn iso_times() {
        // 2019-03-01T21:16:50.629660Z is 1551475010.629660 (date -u -d @1551475010).
        assert_eq!(
            iso8601_micros("2019-03-01T21:16:50.629660Z"),
            Some(1_551_475_010_629_660)
        );
        assert_eq!(iso8601_micros("1970-01-01T00:00:00.000001Z"), Some(1));
        assert_eq!(
            iso8601_micros("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000_000)
        );
        assert_eq!(iso8601_micros("2024-13-01T00:00:00Z"), None);
        assert_eq!(iso8601_micros("99999999999999-01-01T00:00:00Z"), None);
        assert_eq!(iso8601_micros("2024-01-01T-1:00:00Z"), None);
    }

    #[test]
    fn inferred_types() {
        let v: Value = serde_json::from_str(r#"[1, -2]"#).unwrap();
        assert_eq!(infer(&v).as_deref(), Some("vector[int]"));
        assert_eq!(merge("count", "double"), "double");
        assert_eq!(merge("count", "bool"), "string");
        assert_eq!(infer(&Value::Bool(true)).as_deref(), Some("bool"));
    }

    #[test]
    fn json_values_as_tsv_fields() {
        let mut o = Vec::new();
        let v: Value = serde_json::from_str(r#"["a,b", "-", ""]"#).unwrap();
        json_field(&mut o, Some(&v), ColType::of("set[string]")).unwrap();
        assert_eq!(o, b"a\\x2cb,\\x2d,(empty)");
        o.clear();
        let v: Value = serde_json::from_str("1551475010.62966").unwrap();
        json_field(&mut o, Some(&v), ColType::of("time")).unwrap();
        assert_eq!(o, b"1551475010.629660");
        o.clear();
        json_field(&mut o, None, ColType::of("count")).unwrap();
        assert_eq!(o, b"-");
        assert!(json_field(&mut o, Some(&Value::Bool(true)), ColType::of("count")).is_err());
    }
}
