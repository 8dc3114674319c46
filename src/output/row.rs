//! The row abstraction: every log is one [`Row::visit`] over typed column
//! values ([`Val`]), and one generic writer per format turns any row into
//! a Zeek JSON object ([`json`]), a Zeek TSV line ([`tsv`]) or the log's
//! `(name, type)` header ([`columns`]).
//!
//! A log module says *which* columns a record has, in order, with their
//! Zeek types and whether each is set; this module alone says *how* a
//! value of a Zeek type is written in each format (JSON: unset columns
//! omitted, times as epoch doubles or ISO 8601, empty containers `[]`;
//! TSV: `-` for unset, `(empty)` for empty, six decimals for times,
//! intervals and doubles, Zeek's escaping). So names, types and values of
//! a log cannot drift apart between its formats.
//!
//! The writers are generic and their column calls inlined: a log's writer
//! is specialised for its columns (each name a constant at its call, each
//! value's match resolved at compile time), with nothing allocated.
//!
//! Must not: decide what a log contains or read anything but the values
//! it is given.

use super::{json, tsv, LogFormat, TimeFormat};
use crate::conn::uid::Uid;
use crate::decode::Addr;
use crate::time::{Ts, SEC};

/// One column's value, with its Zeek type.
#[derive(Clone, Copy)]
pub enum Val<'a> {
    /// `time`.
    Time(Ts),
    /// `interval` from the first time to the second: in JSON the difference
    /// of the two times as Zeek's doubles (what Zeek computes), in TSV the
    /// exact difference with six decimals.
    Span(Ts, Ts),
    /// `interval` given in nanoseconds.
    Nanos(i64),
    /// `interval` given in seconds.
    Interval(f64),
    /// `count`.
    Count(u64),
    /// `int`.
    Int(i64),
    /// `double`.
    Double(f64),
    /// `double` rounded to six decimals in JSON as in TSV (score.log).
    Rounded(f64),
    /// `bool`.
    Bool(bool),
    /// `string`.
    Str(&'a [u8]),
    /// `string` written from parts joined with `,` (conn.log's `service`).
    Joined(&'a dyn Items),
    /// `enum` (Zeek's names need no escaping).
    Enum(&'a str),
    /// `addr`.
    Addr(&'a Addr),
    /// `port`.
    Port(u16),
    /// A uid `string`.
    Uid(&'a Uid),
    /// A container (`set[...]`, `vector[...]`): its Zeek type and items.
    List(&'static str, &'a dyn Items),
    /// Unset, with the column's Zeek type.
    Unset(&'static str),
}

impl Val<'_> {
    /// The Zeek type name of the column (`#types`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Time(_) => "time",
            Val::Span(..) | Val::Nanos(_) | Val::Interval(_) => "interval",
            Val::Count(_) => "count",
            Val::Int(_) => "int",
            Val::Double(_) | Val::Rounded(_) => "double",
            Val::Bool(_) => "bool",
            Val::Str(_) | Val::Joined(_) | Val::Uid(_) => "string",
            Val::Enum(_) => "enum",
            Val::Addr(_) => "addr",
            Val::Port(_) => "port",
            Val::List(t, _) | Val::Unset(t) => t,
        }
    }
}

/// One element of a container ([`Val::List`], [`Val::Joined`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Item<'a> {
    /// A string (or enum) element.
    Str(&'a [u8]),
    /// A `double` element.
    Double(f64),
    /// A `double` element rounded to six decimals in JSON too.
    Rounded(f64),
    /// An `interval` element in seconds.
    Interval(f64),
}

/// The elements of a container, given one by one to `f` in order.
pub trait Items {
    /// Calls `f` with each element.
    fn each(&self, f: &mut dyn FnMut(Item<'_>));
}

impl<F: Fn(&mut dyn FnMut(Item<'_>))> Items for F {
    fn each(&self, f: &mut dyn FnMut(Item<'_>)) {
        self(f)
    }
}

/// Receives a row's columns from [`Row::visit`], in log order.
pub trait Columns {
    /// One column.
    fn col(&mut self, name: &'static str, v: Val<'_>);
}

/// A log record: its columns, in log order, each with its type and value.
/// The set of columns may depend on the log's options, never on the
/// record's values (an absent value is [`Val::Unset`]).
pub trait Row {
    /// Calls `c` with every column.
    fn visit<C: Columns>(&self, c: &mut C);
}

/// Writes `r` as one Zeek JSON object.
#[inline]
pub fn json<R: Row + ?Sized>(buf: &mut Vec<u8>, r: &R, tf: TimeFormat) {
    buf.push(b'{');
    r.visit(&mut Json::new(buf, tf, true));
    buf.push(b'}');
}

/// Writes `r` as one Zeek TSV line (no newline).
#[inline]
pub fn tsv<R: Row + ?Sized>(buf: &mut Vec<u8>, r: &R) {
    r.visit(&mut Tsv::new(buf, true));
}

/// Writes `r` in `fmt`.
#[inline]
pub fn write<R: Row + ?Sized>(buf: &mut Vec<u8>, r: &R, fmt: LogFormat, tf: TimeFormat) {
    match fmt {
        LogFormat::Json => json(buf, r, tf),
        LogFormat::Tsv => tsv(buf, r),
    }
}

/// The `(name, type)` columns of `r` (its log's header).
pub fn columns<R: Row + ?Sized>(r: &R) -> Vec<(&'static str, &'static str)> {
    let mut c = Vec::new();
    r.visit(&mut |n: &'static str, v: Val<'_>| c.push((n, v.type_name())));
    c
}

impl<F: FnMut(&'static str, Val<'_>)> Columns for F {
    #[inline(always)]
    fn col(&mut self, name: &'static str, v: Val<'_>) {
        self(name, v)
    }
}

/// Writes each of `items` with `write`, a `,` between two; returns how
/// many there were.
fn join(
    buf: &mut Vec<u8>,
    items: &dyn Items,
    mut write: impl FnMut(&mut Vec<u8>, Item<'_>),
) -> usize {
    let mut n = 0;
    items.each(&mut |it| {
        if n > 0 {
            buf.push(b',');
        }
        n += 1;
        write(buf, it);
    });
    n
}

/// [`Columns`] writing the members of a JSON object (without its braces):
/// unset columns omitted, as Zeek's JSON writer does.
pub struct Json<'b> {
    buf: &'b mut Vec<u8>,
    tf: TimeFormat,
    first: bool,
}

impl<'b> Json<'b> {
    /// Members appended to `buf`; `first`: no member precedes them.
    pub fn new(buf: &'b mut Vec<u8>, tf: TimeFormat, first: bool) -> Self {
        Json { buf, tf, first }
    }
}

impl Columns for Json<'_> {
    #[inline(always)]
    fn col(&mut self, name: &'static str, v: Val<'_>) {
        let buf = &mut *self.buf;
        if let Val::Unset(_) = v {
            return;
        }
        json::key(buf, &mut self.first, name);
        match v {
            Val::Time(t) => match self.tf {
                TimeFormat::Epoch => json::epoch(buf, t),
                TimeFormat::Iso8601 => json::iso8601(buf, t),
            },
            Val::Span(a, b) => json::double(buf, b.zeek_f64() - a.zeek_f64()),
            Val::Nanos(ns) => json::double(buf, ns as f64 / SEC as f64),
            Val::Interval(x) | Val::Double(x) => json::double(buf, x),
            Val::Rounded(x) => json::rounded6(buf, x),
            Val::Count(x) => json::uint(buf, x),
            Val::Int(x) => {
                if x < 0 {
                    buf.push(b'-');
                }
                json::uint(buf, x.unsigned_abs());
            }
            Val::Bool(b) => buf.extend_from_slice(if b { b"true" } else { b"false" }),
            Val::Str(s) => json::string(buf, s),
            Val::Enum(s) => json::string(buf, s.as_bytes()),
            Val::Joined(items) => {
                buf.push(b'"');
                join(buf, items, |buf, it| {
                    if let Item::Str(s) = it {
                        json::string_body(buf, s);
                    }
                });
                buf.push(b'"');
            }
            Val::Addr(a) => json::addr(buf, a),
            Val::Port(p) => json::uint(buf, u64::from(p)),
            Val::Uid(u) => json::uid(buf, u),
            Val::List(_, items) => {
                buf.push(b'[');
                join(buf, items, |buf, it| match it {
                    Item::Str(s) => json::string(buf, s),
                    Item::Double(x) | Item::Interval(x) => json::double(buf, x),
                    Item::Rounded(x) => json::rounded6(buf, x),
                });
                buf.push(b']');
            }
            Val::Unset(_) => {}
        }
    }
}

/// [`Columns`] writing the fields of a Zeek TSV line, tab-separated.
pub struct Tsv<'b> {
    buf: &'b mut Vec<u8>,
    first: bool,
}

impl<'b> Tsv<'b> {
    /// Fields appended to `buf`; `first`: no field precedes them (else
    /// each is preceded by a tab).
    pub fn new(buf: &'b mut Vec<u8>, first: bool) -> Self {
        Tsv { buf, first }
    }
}

impl Columns for Tsv<'_> {
    #[inline(always)]
    fn col(&mut self, _name: &'static str, v: Val<'_>) {
        let buf = &mut *self.buf;
        if !self.first {
            buf.push(b'\t');
        }
        self.first = false;
        match v {
            Val::Time(t) => json::secs6(buf, t.0),
            Val::Span(a, b) => json::secs6(buf, b.0 - a.0),
            Val::Nanos(ns) => json::secs6(buf, ns),
            Val::Interval(x) | Val::Double(x) | Val::Rounded(x) => tsv::fixed6(buf, x),
            Val::Count(x) => json::uint(buf, x),
            Val::Int(x) => {
                if x < 0 {
                    buf.push(b'-');
                }
                json::uint(buf, x.unsigned_abs());
            }
            Val::Bool(b) => buf.push(if b { b'T' } else { b'F' }),
            Val::Str(s) => tsv::string(buf, s, false),
            Val::Enum(s) => buf.extend_from_slice(s.as_bytes()),
            Val::Joined(items) => {
                let n = join(buf, items, |buf, it| {
                    if let Item::Str(s) = it {
                        tsv::string(buf, s, false);
                    }
                });
                if n == 0 {
                    buf.extend_from_slice(b"(empty)");
                }
            }
            Val::Addr(a) => json::addr_text(buf, a),
            Val::Port(p) => json::uint(buf, u64::from(p)),
            Val::Uid(u) => buf.extend_from_slice(u.as_str().as_bytes()),
            Val::List(_, items) => {
                let n = join(buf, items, |buf, it| match it {
                    Item::Str(s) => tsv::string(buf, s, true),
                    Item::Double(x) | Item::Rounded(x) | Item::Interval(x) => tsv::fixed6(buf, x),
                });
                if n == 0 {
                    buf.extend_from_slice(b"(empty)");
                }
            }
            Val::Unset(_) => buf.push(b'-'),
        }
    }
}

/// Checks that `r`'s JSON object, TSV line and header agree: one TSV field
/// per column, a JSON member exactly for the columns whose TSV field is
/// not `-` (unset), in column order, and the JSON valid. For the logs'
/// tests.
#[cfg(test)]
pub(crate) fn check_formats_agree<R: Row>(r: &R) {
    let cols = columns(r);
    let mut t = Vec::new();
    tsv(&mut t, r);
    let t = String::from_utf8(t).expect("TSV is UTF-8");
    let fields: Vec<&str> = t.split('\t').collect();
    assert_eq!(fields.len(), cols.len(), "{t}");
    let mut j = Vec::new();
    json(&mut j, r, TimeFormat::Epoch);
    let v: serde_json::Value = serde_json::from_slice(&j).expect("valid JSON");
    let obj = v.as_object().expect("an object");
    let text = String::from_utf8(j.clone()).expect("JSON is UTF-8");
    let mut last = 0;
    for ((name, _), field) in cols.iter().zip(&fields) {
        let key = format!("\"{name}\":");
        if *field == "-" {
            assert!(obj.get(*name).is_none(), "{name} unset in TSV, set in JSON");
        } else {
            assert!(obj.get(*name).is_some(), "{name} set in TSV, not in JSON");
            let at = text[last..].find(&key).expect("in column order") + last;
            last = at + key.len();
        }
    }
    assert_eq!(
        obj.len(),
        fields.iter().filter(|f| **f != "-").count(),
        "members that are no column: {text}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of value, set and unset.
    struct Sample {
        unset: bool,
    }

    impl Row for Sample {
        fn visit<C: Columns>(&self, c: &mut C) {
            let t0 = Ts(1_300_475_167 * SEC + 96_535_000);
            let t1 = Ts(t0.0 + 1_500_000);
            let strs = |f: &mut dyn FnMut(Item<'_>)| {
                f(Item::Str(b"a,b"));
                f(Item::Str(b""));
            };
            let nums = |f: &mut dyn FnMut(Item<'_>)| {
                f(Item::Double(0.5));
                f(Item::Rounded(1.0 / 3.0));
                f(Item::Interval(300.0));
            };
            let none = |_: &mut dyn FnMut(Item<'_>)| {};
            let parts = |f: &mut dyn FnMut(Item<'_>)| {
                f(Item::Str(b"dns"));
                f(Item::Str(b"ssl"));
            };
            let a = Addr::v4([10, 0, 0, 1]);
            let uid = Uid::from_words(b'C', 1, 2);
            if self.unset {
                for t in ["time", "interval", "count", "string", "set[string]"] {
                    c.col("u", Val::Unset(t));
                }
                return;
            }
            c.col("ts", Val::Time(t0));
            c.col("uid", Val::Uid(&uid));
            c.col("h", Val::Addr(&a));
            c.col("p", Val::Port(53));
            c.col("proto", Val::Enum("udp"));
            c.col("service", Val::Joined(&parts));
            c.col("rtt", Val::Span(t0, t1));
            c.col("d", Val::Nanos(2_500_000_000));
            c.col("i", Val::Interval(0.25));
            c.col("n", Val::Count(42));
            c.col("z", Val::Int(-7));
            c.col("x", Val::Double(0.1));
            c.col("r", Val::Rounded(2.0 / 3.0));
            c.col("b", Val::Bool(true));
            c.col("s", Val::Str(b"-"));
            c.col("e", Val::Str(b"tab\there"));
            c.col("set", Val::List("set[string]", &strs));
            c.col("vec", Val::List("vector[double]", &nums));
            c.col("empty", Val::List("set[string]", &none));
        }
    }

    #[test]
    fn json_row() {
        let mut b = Vec::new();
        json(&mut b, &Sample { unset: false }, TimeFormat::Epoch);
        let s = String::from_utf8(b).unwrap();
        // Each value by hand from Zeek's JSON writer's rules.
        // rtt: Zeek's difference of the two times as doubles, printed as
        // the standard library prints the shortest round-trip form (not
        // the exact 0.0015).
        let t0 = Ts(1_300_475_167 * SEC + 96_535_000);
        let rtt = format!("{}", Ts(t0.0 + 1_500_000).zeek_f64() - t0.zeek_f64());
        assert_ne!(rtt, "0.0015");
        let want = [
            "{\"ts\":1300475167.096535,\"uid\":\"C12\",\"h\":\"10.0.0.1\",",
            "\"p\":53,\"proto\":\"udp\",\"service\":\"dns,ssl\",",
            &format!("\"rtt\":{rtt},"),
            "\"d\":2.5,\"i\":0.25,\"n\":42,\"z\":-7,\"x\":0.1,\"r\":0.666667,\"b\":true,",
            "\"s\":\"-\",\"e\":\"tab\\there\",\"set\":[\"a,b\",\"\"],",
            "\"vec\":[0.5,0.333333,300.0],\"empty\":[]}",
        ];
        assert_eq!(s, want.concat());
        let mut u = Vec::new();
        json(&mut u, &Sample { unset: true }, TimeFormat::Epoch);
        assert_eq!(u, b"{}");
        let mut i = Vec::new();
        let r = |c: &mut dyn FnMut(&'static str, Val<'_>)| {
            c("ts", Val::Time(Ts(1_300_475_167 * SEC + 96_535_000)))
        };
        struct One<F>(F);
        impl<F: Fn(&mut dyn FnMut(&'static str, Val<'_>))> Row for One<F> {
            fn visit<C: Columns>(&self, c: &mut C) {
                (self.0)(&mut |n, v| c.col(n, v))
            }
        }
        json(&mut i, &One(r), TimeFormat::Iso8601);
        assert_eq!(i, b"{\"ts\":\"2011-03-18T19:06:07.096535Z\"}");
    }

    #[test]
    fn tsv_row() {
        let mut b = Vec::new();
        tsv(&mut b, &Sample { unset: false });
        let s = String::from_utf8(b).unwrap();
        let want = [
            "1300475167.096535",
            "C12",
            "10.0.0.1",
            "53",
            "udp",
            "dns,ssl",
            "0.001500",
            "2.500000",
            "0.250000",
            "42",
            "-7",
            "0.100000",
            "0.666667",
            "T",
            "\\x2d",
            "tab\\x09here",
            "a\\x2cb,(empty)",
            "0.500000,0.333333,300.000000",
            "(empty)",
        ];
        assert_eq!(s, want.join("\t"));
        let mut u = Vec::new();
        tsv(&mut u, &Sample { unset: true });
        assert_eq!(u, b"-\t-\t-\t-\t-");
    }

    #[test]
    fn sample_formats_agree() {
        check_formats_agree(&Sample { unset: false });
        check_formats_agree(&Sample { unset: true });
    }

    #[test]
    fn columns_with_types() {
        let c = columns(&Sample { unset: false });
        assert_eq!(c.len(), 19);
        assert_eq!(c[0], ("ts", "time"));
        assert_eq!(c[1], ("uid", "string"));
        assert_eq!(c[2], ("h", "addr"));
        assert_eq!(c[3], ("p", "port"));
        assert_eq!(c[4], ("proto", "enum"));
        assert_eq!(c[5], ("service", "string"));
        assert_eq!(c[6], ("rtt", "interval"));
        assert_eq!(c[10], ("z", "int"));
        assert_eq!(c[12], ("r", "double"));
        assert_eq!(c[16], ("set", "set[string]"));
        assert_eq!(c[17], ("vec", "vector[double]"));
        let u = columns(&Sample { unset: true });
        assert_eq!(u[1], ("u", "interval"));
        assert_eq!(u[4], ("u", "set[string]"));
    }

    #[test]
    fn ints_are_their_decimal_text() {
        struct R(i64);
        impl Row for R {
            fn visit<C: Columns>(&self, v: &mut C) {
                v.col("i", Val::Int(self.0));
            }
        }
        for x in [0, 1, -1, 42, -4094, i64::MAX, i64::MIN] {
            let mut t = Vec::new();
            tsv(&mut t, &R(x));
            assert_eq!(t, x.to_string().into_bytes());
            let mut j = Vec::new();
            json(&mut j, &R(x), TimeFormat::Epoch);
            assert_eq!(j, format!("{{\"i\":{x}}}").into_bytes());
        }
    }
}
