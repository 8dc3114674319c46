//! Unit tests of the JSON cursor: it accepts what serde_json accepts and
//! nothing else, and reads numbers to the standard parser's bits.

use super::*;

/// Whether `text` is one valid value per the cursor.
fn valid(text: &str) -> bool {
    let mut c = Cursor::new(text);
    c.value().is_some() && c.at_end()
}

/// Whether serde_json accepts `text` as one value (skipped, as the
/// model file's host sections are).
fn serde_valid(text: &str) -> bool {
    serde_json::from_str::<&serde_json::value::RawValue>(text).is_ok()
}

#[test]
fn values_are_checked_as_serde_checks_them() {
    let good = [
        "0",
        "-0",
        "-0.5e-3",
        "1E+9",
        "12.25",
        "1e400",
        "true",
        "false",
        "null",
        "\"\"",
        r#""a\"b""#,
        r#""a\\""#,
        r#""\\\"\/\b\f\n\r\t\u00e9\uD800""#,
        "\"h\u{e9}llo \u{1f600}\"",
        "[]",
        " [ ] ",
        "{}",
        "{ }",
        r#"{"a":[1,{"b":null}],"c\"d":{"e":[[],[[]]]}}"#,
        " \t\r\n[1 , 2\n,\t3 ] ",
        r#"["]", "}", "[", "{", "\\", ","]"#,
        r#"{"x":"}"}"#,
    ];
    for t in good {
        assert!(serde_valid(t), "serde: {t}");
        assert!(valid(t), "{t}");
    }
    let bad = [
        "",
        " ",
        "01",
        "-",
        "-a",
        "1.",
        ".5",
        "1e",
        "1e+",
        "+1",
        "0x10",
        "NaN",
        "Infinity",
        "tru",
        "nul",
        "truex",
        "\"",
        "\"abc",
        r#""a\""#,
        r#""\x""#,
        r#""\u12""#,
        r#""\u12g4""#,
        "\"a\u{1}b\"",
        "\"tab\there\"",
        "[",
        "]",
        "[1",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[}",
        "{]",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{a:1}",
        "{\"a\" 1}",
        "{1:1}",
        "[[[]]",
        "[]]",
        "[1]x",
        "1 2",
        "\u{a0}1",
        "[1\u{b}]",
    ];
    for t in bad {
        assert!(!serde_valid(t), "serde accepts {t:?}");
        assert!(!valid(t), "{t:?}");
    }
}

#[test]
fn value_returns_its_text_and_stops_after_it() {
    let text = r#"  {"a": [1, "x\"]"], "b": {}}  , 7"#;
    let mut c = Cursor::new(text);
    assert_eq!(c.value(), Some(r#"{"a": [1, "x\"]"], "b": {}}"#));
    assert_eq!(c.peek(), Some(b','));
    assert!(c.eat(b',').is_some());
    assert_eq!(c.value(), Some("7"));
    assert!(c.at_end());
}

#[test]
fn truncated_values_are_refused() {
    let text = r#"{"k": ["a\"b", {"c": [1.5e3, true, null]}], "z": "é"}"#;
    assert!(valid(text));
    for end in 0..text.len() {
        if let Some(t) = text.get(..end) {
            assert!(!valid(t), "{t}");
        }
    }
}

#[test]
fn nesting_is_limited_not_recursive() {
    let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
    assert!(valid(&deep(MAX_DEPTH)));
    assert!(!valid(&deep(MAX_DEPTH + 1)));
    // (a hostile depth is refused without recursing)
    assert!(!valid(&"[".repeat(1_000_000)));
    let objs = "{\"a\":".repeat(MAX_DEPTH) + "1" + &"}".repeat(MAX_DEPTH);
    assert!(valid(&objs));
}

#[test]
fn objects_and_arrays_hand_out_their_pieces() {
    let text = r#" { "a" : [ "x" , "y" ] , "b":{"c":-1.5,"d":[]}, "e": "\n" } "#;
    let mut c = Cursor::new(text);
    let mut seen = Vec::new();
    c.object(|k, c| {
        match k {
            "a" => c.array(|c| {
                seen.push(c.plain_str()?.to_string());
                Some(())
            })?,
            "b" => c.object(|k, c| {
                seen.push(format!("{k}={}", c.value()?));
                Some(())
            })?,
            _ => seen.push(format!("{k}:{}", c.value()?)),
        }
        Some(())
    })
    .unwrap();
    assert!(c.at_end());
    assert_eq!(seen, ["x", "y", "c=-1.5", "d=[]", r#"e:"\n""#]);
    // Keys and strings with escapes are not handed out.
    assert!(Cursor::new(r#"{"a\"b":1}"#)
        .object(|_, c| c.value().map(drop))
        .is_none());
    assert!(Cursor::new(r#"["a\nb"]"#)
        .array(|c| c.plain_str().map(drop))
        .is_none());
    assert_eq!(Cursor::new(r#""h\u00e9""#).plain_str(), None);
    assert_eq!(Cursor::new("\"h\u{e9}\"").plain_str(), Some("h\u{e9}"));
    // A member reader that leaves its value unread fails the object.
    assert!(Cursor::new(r#"{"a":1}"#).object(|_, _| Some(())).is_none());
    // Empty and malformed containers.
    assert!(Cursor::new("{ }").object(|_, _| None).is_some());
    assert!(Cursor::new("[ ]").array(|_| None).is_some());
    assert!(Cursor::new("[1,]").array(|c| c.f64().map(drop)).is_none());
    assert!(Cursor::new("{\"a\":1,}")
        .object(|_, c| c.f64().map(drop))
        .is_none());
    assert!(Cursor::new("[1 2]").array(|c| c.f64().map(drop)).is_none());
}

#[test]
fn numbers_are_json_numbers() {
    for (t, want) in [
        ("0", Some("0")),
        ("-12.5e+3,", Some("-12.5e+3")),
        ("1.0]", Some("1.0")),
        ("01", Some("0")),
        ("-", None),
        ("1.e5", None),
        ("1e", None),
        ("+1", None),
        ("x", None),
    ] {
        let mut c = Cursor::new(t);
        let read = c.f64().map(|_| &t[..c.pos()]);
        assert_eq!(read, want, "{t}");
    }
}

/// A number read by [`Cursor::f64`] (the whole text), or `None`.
fn whole_f64(t: &str) -> Option<f64> {
    let mut c = Cursor::new(t);
    let v = c.f64()?;
    c.at_end().then_some(v)
}

#[test]
fn numbers_read_as_the_standard_parser_reads_them() {
    // Fixed cases, then seeded random doubles as saved (shortest form),
    // with 17 digits, and random digit strings with a point anywhere:
    // the bits of `str::parse` for JSON numbers, a refusal for the rest.
    let check = |t: &str| {
        let want = if serde_valid(t) {
            t.parse::<f64>().ok()
        } else {
            None
        };
        assert_eq!(
            whole_f64(t).map(f64::to_bits),
            want.map(f64::to_bits),
            "{t:?}"
        );
    };
    for t in [
        "0",
        "-0",
        "0.0",
        "-0.0",
        "56.0",
        "1.",
        ".5",
        "-",
        "",
        "1e5",
        "1.5E-3",
        "-2.5e-7",
        "1e308",
        "1e400",
        "4.9e-324",
        "+1",
        "00.5",
        "9007199254740993",
        "9007199254740992.0",
        "123456789012345678901234",
        "0.1",
        "1.0000000000000002",
        "3.14159",
        "1..2",
        "--1",
        "1-",
        "0.0000000000000000000001",
        "0.00000000000000000000001",
        "1285224853645545.7",
        "0.1285224853645545",
    ] {
        check(t);
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for k in 0..200_000u64 {
        let r = next();
        let t = match k % 4 {
            0 => format!("{}", f64::from_bits(r >> 2)),
            1 => format!("{:.17}", (r >> 11) as f64 / (1u64 << (r % 53)) as f64),
            2 => format!("{}.0", r % 100_000),
            _ => {
                let digits = format!("{}", r % 10u64.pow((k % 19) as u32 + 1));
                let at = (r as usize >> 5) % (digits.len() + 1);
                let neg = if r & 1 == 1 { "-" } else { "" };
                format!("{neg}{}.{}", &digits[..at], &digits[at..])
            }
        };
        check(&t);
    }
}

#[test]
fn unsigned_integers() {
    let read = |t: &str| {
        let mut c = Cursor::new(t);
        c.u64().filter(|_| c.at_end())
    };
    assert_eq!(read("0"), Some(0));
    assert_eq!(read(" 42 "), Some(42));
    assert_eq!(read("18446744073709551615"), Some(u64::MAX));
    for t in [
        "18446744073709551616",
        "-0",
        "-1",
        "1.0",
        "1e2",
        "+1",
        "01",
        "",
        "x",
    ] {
        assert_eq!(read(t), None, "{t}");
    }
}

#[test]
fn skip_reads_structure_only() {
    let text = r#"{"a": [1, "]}\"", {"b": [tru, 01]}], "c": 12x, "d": x}"#;
    let mut keys = Vec::new();
    Cursor::new(text)
        .object(|k, c| {
            keys.push(k);
            c.skip()
        })
        .unwrap();
    assert_eq!(keys, ["a", "c", "d"]);
    for bad in ["[1}", "{]", "[[1]", "\"abc", "[\"a]", "", ","] {
        let mut c = Cursor::new(bad);
        assert!(c.skip().is_none() || !c.at_end(), "{bad}");
    }
    let mut c = Cursor::new(" 12.5 ,");
    assert!(c.skip().is_some());
    assert_eq!(c.peek(), Some(b','));
    // The fast test's false alarms (Y y _ DEL) are passed over.
    let mut c = Cursor::new("[\"k\", Yy_\u{7f}, [], {}, \"YY__yy\"] 5");
    assert!(c.skip().is_some());
    assert_eq!(c.value(), Some("5"));
    let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
    assert!(Cursor::new(&deep(MAX_DEPTH)).skip().is_some());
    assert!(Cursor::new(&deep(MAX_DEPTH + 1)).skip().is_none());
}
