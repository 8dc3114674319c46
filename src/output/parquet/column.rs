//! One Parquet column of a Zeek log: the Zeek type's mapping to Parquet
//! types, parsing a TSV field into the column's buffers, and encoding the
//! buffered values as one data page (PLAIN values, RLE levels).
//!
//! Owns the per-column buffers (definition and repetition levels, PLAIN
//! values), reused from one row group to the next. Must not know about
//! files, row groups or the footer.

use super::thrift::Writer;

/// The scalar Zeek types, as stored in Parquet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// `time`: INT64 TIMESTAMP(MICROS, UTC).
    Time,
    /// `interval`: DOUBLE seconds.
    Interval,
    /// `count`: INT64 as UINT64.
    Count,
    /// `int`: INT64.
    Int,
    /// `double`: DOUBLE.
    Double,
    /// `bool`: BOOLEAN.
    Bool,
    /// `port`: INT32 as UINT16.
    Port,
    /// `string`, `enum`, `addr`, `subnet`, `pattern` (and any type not
    /// known here): BYTE_ARRAY STRING.
    Str,
}

impl Scalar {
    /// The scalar of a Zeek type name.
    pub fn of(zeek: &str) -> Scalar {
        match zeek {
            "time" => Scalar::Time,
            "interval" => Scalar::Interval,
            "count" => Scalar::Count,
            "int" => Scalar::Int,
            "double" => Scalar::Double,
            "bool" => Scalar::Bool,
            "port" => Scalar::Port,
            _ => Scalar::Str,
        }
    }

    /// Parquet physical type (BOOLEAN 0, INT32 1, INT64 2, DOUBLE 5, BYTE_ARRAY 6).
    fn physical(self) -> i32 {
        match self {
            Scalar::Bool => 0,
            Scalar::Port => 1,
            Scalar::Time | Scalar::Count | Scalar::Int => 2,
            Scalar::Interval | Scalar::Double => 5,
            Scalar::Str => 6,
        }
    }
}

/// A column's type: a scalar, or a `set[T]` / `vector[T]` of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColType {
    /// The (element) type.
    pub scalar: Scalar,
    /// Whether the column is a list (`set` or `vector`).
    pub list: bool,
}

impl ColType {
    /// Parses a Zeek `#types` entry (`count`, `set[string]`, `vector[interval]`).
    pub fn of(zeek: &str) -> ColType {
        let inner = zeek
            .strip_prefix("set[")
            .or_else(|| zeek.strip_prefix("vector["))
            .and_then(|s| s.strip_suffix(']'));
        match inner {
            Some(t) => ColType {
                scalar: Scalar::of(t),
                list: true,
            },
            None => ColType {
                scalar: Scalar::of(zeek),
                list: false,
            },
        }
    }
}

/// Why a field could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {ty:?} value")]
pub struct FieldError {
    /// The field text (truncated to 64 bytes).
    pub value: String,
    /// The expected type.
    pub ty: Scalar,
}

/// One column's buffered values for the open row group.
pub struct Column {
    /// The column name (Zeek's, e.g. `id.orig_h`).
    pub name: String,
    /// Its type.
    pub ty: ColType,
    /// Definition levels, one per leaf entry.
    defs: Vec<u8>,
    /// Repetition levels (lists only), one per leaf entry.
    reps: Vec<u8>,
    /// PLAIN-encoded non-null values (booleans: one byte each, packed at encode).
    values: Vec<u8>,
    /// Non-null values buffered.
    count: usize,
    /// Smallest and largest time value buffered (`time` columns; a row
    /// that failed may have widened them, which keeps them true bounds).
    range: Option<(i64, i64)>,
}

/// What a written page holds, for the column chunk's metadata.
pub struct PageInfo {
    /// Leaf entries (`num_values`).
    pub entries: usize,
    /// Null values (`null_count`; scalar columns only).
    pub nulls: Option<usize>,
    /// Minimum and maximum (`time` columns only).
    pub range: Option<(i64, i64)>,
}

/// A field's unescaped bytes, reused between fields.
type Scratch = Vec<u8>;

impl Column {
    /// An empty column.
    pub fn new(name: &str, ty: ColType) -> Column {
        Column {
            name: name.to_string(),
            ty,
            defs: Vec::new(),
            reps: Vec::new(),
            values: Vec::new(),
            count: 0,
            range: None,
        }
    }

    /// Bytes buffered (for the row group's memory bound).
    pub fn buffered_bytes(&self) -> usize {
        self.values.len() + self.defs.len() + self.reps.len()
    }

    /// Leaf entries buffered (`num_values` of the page).
    pub fn entries(&self) -> usize {
        self.defs.len()
    }

    /// Appends one row's TSV field (`-` unset, `(empty)` empty, Zeek's
    /// `\xNN` escapes). On an error the column is unchanged.
    pub fn push_tsv(&mut self, field: &[u8], scratch: &mut Scratch) -> Result<(), FieldError> {
        if field == b"-" {
            self.defs.push(0);
            if self.ty.list {
                self.reps.push(0);
            }
            return Ok(());
        }
        if !self.ty.list {
            let field: &[u8] = if field == b"(empty)" { b"" } else { field };
            self.push_value(field, scratch)?;
            self.defs.push(1);
            return Ok(());
        }
        if field == b"(empty)" {
            self.defs.push(1);
            self.reps.push(0);
            return Ok(());
        }
        let (defs, reps, values, count) = (
            self.defs.len(),
            self.reps.len(),
            self.values.len(),
            self.count,
        );
        for (i, e) in field.split(|&c| c == b',').enumerate() {
            let rep = u8::from(i > 0);
            let r = if e == b"-" {
                self.defs.push(2);
                Ok(())
            } else {
                let e: &[u8] = if e == b"(empty)" { b"" } else { e };
                self.push_value(e, scratch).map(|()| self.defs.push(3))
            };
            if let Err(err) = r {
                self.defs.truncate(defs);
                self.reps.truncate(reps);
                self.values.truncate(values);
                self.count = count;
                return Err(err);
            }
            self.reps.push(rep);
        }
        Ok(())
    }

    /// Removes the last row (used when a later field of the same row fails).
    pub fn pop_row(&mut self, entries: usize, values: usize, count: usize) {
        self.defs.truncate(entries);
        if self.ty.list {
            self.reps.truncate(entries);
        }
        self.values.truncate(values);
        self.count = count;
    }

    /// Where the buffers end now (for [`Column::pop_row`]).
    pub fn mark(&self) -> (usize, usize, usize) {
        (self.defs.len(), self.values.len(), self.count)
    }

    fn push_value(&mut self, text: &[u8], scratch: &mut Scratch) -> Result<(), FieldError> {
        let bad = || FieldError {
            value: String::from_utf8_lossy(&text[..text.len().min(64)]).into_owned(),
            ty: self.ty.scalar,
        };
        match self.ty.scalar {
            Scalar::Str => {
                unescape(text, scratch);
                let start = self.values.len();
                self.values.extend_from_slice(&[0; 4]);
                utf8_or_escaped(scratch, &mut self.values);
                let len = (self.values.len() - start - 4) as u32;
                self.values[start..start + 4].copy_from_slice(&len.to_le_bytes());
            }
            Scalar::Time => {
                let us = parse_micros(text).ok_or_else(bad)?;
                self.range = Some(match self.range {
                    Some((lo, hi)) => (lo.min(us), hi.max(us)),
                    None => (us, us),
                });
                self.values.extend_from_slice(&us.to_le_bytes());
            }
            Scalar::Interval | Scalar::Double => {
                let v: f64 = ascii(text).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                self.values.extend_from_slice(&v.to_le_bytes());
            }
            Scalar::Count => {
                let v: u64 = ascii(text).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                self.values.extend_from_slice(&v.to_le_bytes());
            }
            Scalar::Int => {
                let v: i64 = ascii(text).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                self.values.extend_from_slice(&v.to_le_bytes());
            }
            Scalar::Port => {
                let v: u16 = ascii(text).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                self.values.extend_from_slice(&i32::from(v).to_le_bytes());
            }
            Scalar::Bool => {
                let v = match text {
                    b"T" => 1,
                    b"F" => 0,
                    _ => return Err(bad()),
                };
                self.values.push(v);
            }
        }
        self.count += 1;
        Ok(())
    }

    /// Appends this column's data page (header and body) to `out` and
    /// clears the buffers; returns what the page holds.
    pub fn encode_page(&mut self, out: &mut Vec<u8>, body: &mut Vec<u8>) -> PageInfo {
        body.clear();
        if self.ty.list {
            levels(body, &self.reps);
        }
        levels(body, &self.defs);
        if self.ty.scalar == Scalar::Bool {
            let mut byte = 0u8;
            for (i, &v) in self.values.iter().enumerate() {
                byte |= v << (i % 8);
                if i % 8 == 7 {
                    body.push(byte);
                    byte = 0;
                }
            }
            if self.values.len() % 8 != 0 {
                body.push(byte);
            }
        } else {
            body.extend_from_slice(&self.values);
        }
        let n = self.defs.len();
        let size = i32::try_from(body.len()).unwrap_or(i32::MAX);
        let mut w = Writer::new(out);
        w.i32(1, 0); // type: DATA_PAGE
        w.i32(2, size); // uncompressed_page_size
        w.i32(3, size); // compressed_page_size
        w.begin(5); // data_page_header
        w.i32(1, i32::try_from(n).unwrap_or(i32::MAX)); // num_values
        w.i32(2, 0); // encoding: PLAIN
        w.i32(3, 3); // definition_level_encoding: RLE
        w.i32(4, 3); // repetition_level_encoding: RLE
        w.end();
        w.end(); // the PageHeader's stop byte
        drop(w);
        out.extend_from_slice(body);
        self.defs.clear();
        self.reps.clear();
        self.values.clear();
        let info = PageInfo {
            entries: n,
            nulls: (!self.ty.list).then(|| n - self.count),
            range: self.range.take(),
        };
        self.count = 0;
        info
    }

    /// Appends the column's schema elements (one, or three for a list).
    pub fn schema(&self, w: &mut Writer<'_>) {
        let s = self.ty.scalar;
        if self.ty.list {
            w.begin_value();
            w.i32(3, 1); // OPTIONAL
            w.binary(4, self.name.as_bytes());
            w.i32(5, 1); // num_children
            w.i32(6, 3); // converted_type: LIST
            w.begin(10); // logicalType
            w.begin(3); // LIST
            w.end();
            w.end();
            w.end();
            w.begin_value();
            w.i32(3, 2); // REPEATED
            w.binary(4, b"list");
            w.i32(5, 1);
            w.end();
            leaf(w, s, b"element");
        } else {
            leaf(w, s, self.name.as_bytes());
        }
    }

    /// `path_in_schema` of the leaf.
    pub fn path(&self) -> Vec<&[u8]> {
        if self.ty.list {
            vec![self.name.as_bytes(), b"list", b"element"]
        } else {
            vec![self.name.as_bytes()]
        }
    }

    /// The leaf's physical type.
    pub fn physical(&self) -> i32 {
        self.ty.scalar.physical()
    }
}

/// One optional leaf schema element.
fn leaf(w: &mut Writer<'_>, s: Scalar, name: &[u8]) {
    w.begin_value();
    w.i32(1, s.physical());
    w.i32(3, 1); // OPTIONAL
    w.binary(4, name);
    // converted_type, then logicalType (field 10).
    let converted = match s {
        Scalar::Str => Some(0),    // UTF8
        Scalar::Time => Some(10),  // TIMESTAMP_MICROS
        Scalar::Count => Some(14), // UINT_64
        Scalar::Port => Some(12),  // UINT_16
        _ => None,
    };
    if let Some(c) = converted {
        w.i32(6, c);
    }
    match s {
        Scalar::Str => {
            w.begin(10);
            w.begin(1); // STRING
            w.end();
            w.end();
        }
        Scalar::Time => {
            w.begin(10);
            w.begin(8); // TIMESTAMP
            w.bool(1, true); // isAdjustedToUTC
            w.begin(2); // unit
            w.begin(2); // MICROS
            w.end();
            w.end();
            w.end();
            w.end();
        }
        Scalar::Count | Scalar::Port => {
            w.begin(10);
            w.begin(10); // INTEGER
            w.i8(1, if s == Scalar::Count { 64 } else { 16 });
            w.bool(2, false); // isSigned
            w.end();
            w.end();
        }
        _ => {}
    }
    w.end();
}

/// Appends levels as Parquet's RLE/bit-packed hybrid with its 4-byte length
/// prefix, using RLE runs only (bit width 1 or 2: one byte per run value).
/// Levels are at most 3 (bit width 2), so each run's value is one byte.
fn levels(out: &mut Vec<u8>, levels: &[u8]) {
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut i = 0;
    while let Some(&v) = levels.get(i) {
        let run = levels[i..].iter().take_while(|&&x| x == v).count();
        let mut h = (run as u64) << 1;
        while h >= 0x80 {
            out.push((h as u8) | 0x80);
            h >>= 7;
        }
        out.push(h as u8);
        out.push(v);
        i += run;
    }
    let len = (out.len() - len_at - 4) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
}

fn ascii(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// Zeek's TSV unescaping: `\xNN` becomes the byte; anything else is copied.
pub fn unescape(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' && text.get(i + 1) == Some(&b'x') {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (
                text.get(i + 2).and_then(|&c| hex(c)),
                text.get(i + 3).and_then(|&c| hex(c)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 4;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
}

/// Copies `bytes` into `out` as UTF-8: valid sequences as they are, each
/// byte of an invalid one as the text `\xNN` (as Zeek's JSON writer does).
pub fn utf8_or_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
}

/// Parses Zeek's `time` text (`1234.567890`, any number of decimals,
/// optional sign) into microseconds, exactly (digits past the sixth are
/// truncated).
pub fn parse_micros(text: &[u8]) -> Option<i64> {
    let (neg, t) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (int, frac) = match t.iter().position(|&c| c == b'.') {
        Some(p) => (&t[..p], &t[p + 1..]),
        None => (t, &t[..0]),
    };
    if int.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let secs: i64 = ascii(int)?.parse().ok()?;
    let mut us: i64 = 0;
    for k in 0..6 {
        us = us * 10 + frac.get(k).map_or(0, |c| i64::from(c - b'0'));
    }
    let v = secs.checked_mul(1_000_000)?.checked_add(us)?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes escaped by the TSV writer come back as themselves
        /// (non-UTF-8 bytes as `\xNN` text), alone and as a set's element.
        #[test]
        fn tsv_escaping_round_trips(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut field = Vec::new();
            crate::output::tsv::string(&mut field, &b, true);
            let mut want = vec![0; 4];
            utf8_or_escaped(&b, &mut want);
            let n = (want.len() - 4) as u32;
            want[..4].copy_from_slice(&n.to_le_bytes());
            let mut s = Vec::new();
            let mut c = Column::new("s", ColType::of("string"));
            c.push_tsv(&field, &mut s).unwrap();
            prop_assert_eq!(&c.values, &want);
            // A set of one empty string is written `(empty)`, as the empty
            // set: Zeek's format cannot tell them apart.
            if !b.is_empty() {
                let mut l = Column::new("l", ColType::of("set[string]"));
                l.push_tsv(&field, &mut s).unwrap();
                prop_assert_eq!(&l.values, &want);
                prop_assert_eq!(&l.defs, &[3]);
            }
        }

        /// Arbitrary field text never panics, and a rejected field leaves
        /// the column as it was.
        #[test]
        fn any_field_text_is_a_value_or_an_error(
            b in proptest::collection::vec(any::<u8>(), 0..30),
            t in 0usize..10,
        ) {
            let types = ["time", "interval", "count", "int", "double", "bool", "port",
                "string", "set[count]", "vector[time]"];
            let mut s = Vec::new();
            let mut c = Column::new("x", ColType::of(types[t]));
            c.push_tsv(b"-", &mut s).unwrap();
            let before = (c.defs.clone(), c.reps.clone(), c.values.clone(), c.count);
            if c.push_tsv(&b, &mut s).is_err() {
                prop_assert_eq!(before, (c.defs.clone(), c.reps.clone(), c.values.clone(), c.count));
            }
        }
    }

    #[test]
    fn zeek_types_map() {
        assert_eq!(ColType::of("count").scalar, Scalar::Count);
        assert_eq!(
            ColType::of("set[addr]"),
            ColType {
                scalar: Scalar::Str,
                list: true
            }
        );
        assert_eq!(
            ColType::of("vector[interval]"),
            ColType {
                scalar: Scalar::Interval,
                list: true
            }
        );
        assert_eq!(ColType::of("enum").scalar, Scalar::Str);
    }

    #[test]
    fn times_are_exact_microseconds() {
        assert_eq!(
            parse_micros(b"1258531221.486539"),
            Some(1_258_531_221_486_539)
        );
        assert_eq!(parse_micros(b"0.000001"), Some(1));
        assert_eq!(parse_micros(b"5"), Some(5_000_000));
        assert_eq!(parse_micros(b"1.5"), Some(1_500_000));
        assert_eq!(parse_micros(b"-1.25"), Some(-1_250_000));
        assert_eq!(parse_micros(b"1.1234567"), Some(1_123_456));
        assert_eq!(parse_micros(b""), None);
        assert_eq!(parse_micros(b"1e9"), None);
        assert_eq!(parse_micros(b"99999999999999999.0"), None);
    }

    #[test]
    fn unescape_and_utf8() {
        let mut s = Vec::new();
        unescape(b"a\\x09b\\x2d\\x5cx\\xz", &mut s);
        assert_eq!(s, b"a\tb-\\x\\xz");
        let mut o = Vec::new();
        utf8_or_escaped("é\u{1}".as_bytes(), &mut o);
        assert_eq!(o, "é\u{1}".as_bytes());
        o.clear();
        utf8_or_escaped(b"a\xffb", &mut o);
        assert_eq!(o, b"a\\xffb");
    }

    /// Levels as RLE runs: `[len u32][varint(run << 1)][value]...`.
    #[test]
    fn rle_levels_by_hand() {
        let mut o = Vec::new();
        levels(&mut o, &[1, 1, 1, 0, 1]);
        assert_eq!(o, [6, 0, 0, 0, 6, 1, 2, 0, 2, 1]);
        o.clear();
        levels(&mut o, &[3; 200]);
        // 200 << 1 = 400 = varint 0x90 0x03
        assert_eq!(o, [3, 0, 0, 0, 0x90, 0x03, 3]);
    }

    #[test]
    fn tsv_fields_to_values() {
        let mut s = Vec::new();
        let mut c = Column::new("x", ColType::of("count"));
        c.push_tsv(b"7", &mut s).unwrap();
        c.push_tsv(b"-", &mut s).unwrap();
        assert!(c.push_tsv(b"-3", &mut s).is_err());
        assert_eq!(c.defs, [1, 0]);
        assert_eq!(c.values, 7u64.to_le_bytes());

        let mut c = Column::new("s", ColType::of("set[string]"));
        c.push_tsv(b"a,b\\x2cc", &mut s).unwrap();
        c.push_tsv(b"(empty)", &mut s).unwrap();
        c.push_tsv(b"-", &mut s).unwrap();
        c.push_tsv(b"-,x", &mut s).unwrap();
        assert_eq!(c.defs, [3, 3, 1, 0, 2, 3]);
        assert_eq!(c.reps, [0, 1, 0, 0, 0, 1]);
        assert_eq!(c.values, b"\x01\0\0\0a\x03\0\0\0b,c\x01\0\0\0x");

        let mut c = Column::new("v", ColType::of("vector[count]"));
        assert!(c.push_tsv(b"1,x", &mut s).is_err());
        assert!(c.defs.is_empty() && c.reps.is_empty() && c.values.is_empty());

        let mut c = Column::new("b", ColType::of("bool"));
        for f in [b"T", b"F", b"T", b"-"] {
            c.push_tsv(f, &mut s).unwrap();
        }
        let (mut out, mut body) = (Vec::new(), Vec::new());
        let info = c.encode_page(&mut out, &mut body);
        assert_eq!((info.entries, info.nulls, info.range), (4, Some(1), None));
        // defs [1,1,1,0] as runs (3<<1,1)(1<<1,0); booleans T,F,T -> 0b101.
        assert!(out.ends_with(&[4, 0, 0, 0, 6, 1, 2, 0, 0b101]));

        let mut c = Column::new("t", ColType::of("time"));
        for f in [&b"5.0"[..], b"-", b"-1.000001", b"2"] {
            c.push_tsv(f, &mut s).unwrap();
        }
        let info = c.encode_page(&mut out, &mut body);
        assert_eq!(info.nulls, Some(1));
        assert_eq!(info.range, Some((-1_000_001, 5_000_000)));
        assert_eq!(c.encode_page(&mut out, &mut body).range, None, "cleared");

        let mut c = Column::new("s", ColType::of("string"));
        c.push_tsv(b"(empty)", &mut s).unwrap();
        c.push_tsv(b"\\x2d", &mut s).unwrap();
        assert_eq!(c.values, b"\0\0\0\0\x01\0\0\0-");
    }
}
