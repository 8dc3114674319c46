//! The page: one HTML document with inline styles, inline SVG charts and
//! one small inline script (sortable tables, a ready marker). A
//! Content-Security-Policy allows only that script (by its SHA-256) and
//! inline styles, and no fetch of any kind.
//!
//! Owns: escaping ([`esc`]: `& < > " '` and control characters, the same
//! function for text and double-quoted attributes; [`anchor`]: ids and
//! fragment links made only of `[A-Za-z0-9_-]`), number, byte and time
//! formatting, and the page's frame (the sections are in
//! [`super::sections`]).
//!
//! Must not: put any value from the logs anywhere but escaped text or an
//! escaped double-quoted attribute (never into the script, a style, a URL
//! scheme or an element name), or compute figures.

use super::aggregate::View;
use super::load::Dataset;
use super::sections;
use super::Options;
use std::fmt::Write;

/// Escapes text for HTML text and double- or single-quoted attributes.
/// Control characters other than tab and newline are shown as `\xNN`.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    push_esc(&mut o, s);
    o
}

/// [`esc`] into `out`.
pub fn push_esc(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// An element id (and fragment) for `s` under `prefix`: ASCII letters,
/// digits, `_` kept; every other byte written as `-XX` (hex), so distinct
/// strings give distinct ids and nothing needs escaping.
pub fn anchor(prefix: &str, s: &str) -> String {
    let mut o = String::with_capacity(prefix.len() + s.len() + 1);
    o.push_str(prefix);
    o.push('-');
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            o.push(b as char);
        } else {
            let _ = write!(o, "-{b:02x}");
        }
    }
    o
}

/// An integer with thousands separators.
pub fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut o = String::with_capacity(s.len() + s.len() / 3 + 1);
    if n < 0 {
        o.push('-');
    }
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            o.push(',');
        }
        o.push(c);
    }
    o
}

/// A number for people: integers with separators, others with three
/// significant decimals at most; `–` when not finite.
pub fn fnum(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return thousands(x as i64);
    }
    let a = x.abs();
    if a >= 1000.0 {
        return thousands(x.round() as i64);
    }
    let s = if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    };
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Bytes with a decimal unit (B, kB, MB, GB, TB).
pub fn bytes(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    if a < 1000.0 {
        return format!("{} B", fnum(x.round()));
    }
    let (v, u) = if a < 1e6 {
        (x / 1e3, "kB")
    } else if a < 1e9 {
        (x / 1e6, "MB")
    } else if a < 1e12 {
        (x / 1e9, "GB")
    } else {
        (x / 1e12, "TB")
    };
    format!("{v:.1} {u}")
}

/// `HH:MM` (or `HH:MM:SS`) of an epoch time, UTC.
pub fn hms(ts: f64, secs: bool) -> String {
    if !ts.is_finite() {
        return "–".into();
    }
    let (_, _, _, h, m, s) = crate::output::json::civil(ts.floor() as i64);
    if secs {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}")
    }
}

/// `YYYY-MM-DD HH:MM:SS` UTC (with milliseconds when `ms`).
pub fn utc(ts: f64, ms: bool) -> String {
    if !ts.is_finite() {
        return "–".into();
    }
    let total_ms = (ts * 1000.0).round() as i64;
    let whole = if ms {
        total_ms.div_euclid(1000)
    } else {
        ts.floor() as i64
    };
    let (y, mo, d, h, m, s) = crate::output::json::civil(whole);
    let mut o = format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02}");
    if ms {
        let _ = write!(o, ".{:03}", total_ms.rem_euclid(1000));
    }
    o
}

/// A duration for people (`4 ms`, `3.2 s`, `10 min 4 s`, `2 h 5 min`).
pub fn duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "–".into();
    }
    if s < 1.0 {
        return format!("{} ms", fnum((s * 1000.0 * 10.0).round() / 10.0));
    }
    if s < 60.0 {
        return format!("{} s", fnum((s * 10.0).round() / 10.0));
    }
    let t = s.round() as u64;
    let (big, small, bu, su) = if t < 3600 {
        (t / 60, t % 60, "min", "s")
    } else if t < 86_400 {
        (t / 3600, t / 60 % 60, "h", "min")
    } else {
        (t / 86_400, t / 3600 % 24, "d", "h")
    };
    if small == 0 {
        format!("{big} {bu}")
    } else {
        format!("{big} {bu} {small} {su}")
    }
}

const CSS: &str = r#"
:root{--fg:#1d2330;--mut:#5b6472;--bg:#ffffff;--alt:#f5f7fa;--line:#dde2ea;--acc:#1f5fbf;--red:#c62828;--blue:#1565c0}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:18px 28px 10px;border-bottom:1px solid var(--line);background:#f0f4fa}
header h1{margin:0;font-size:22px}
header .sub{color:var(--mut);margin:2px 0 8px}
nav a{margin-right:14px;color:var(--acc);text-decoration:none;font-weight:600}
main{padding:6px 28px 30px;max-width:1500px}
section{margin-top:22px}
h2{font-size:18px;border-bottom:2px solid var(--line);padding-bottom:4px;margin:0 0 10px}
h3{font-size:15px;margin:14px 0 6px}
p.note,.note{color:var(--mut);font-size:12.5px;margin:4px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:var(--alt)}
.card .k{color:var(--mut);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:20px;font-weight:650}
.card .d{font-size:12.5px;color:var(--mut)}
table{border-collapse:collapse;margin:4px 0 10px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--alt);font-weight:650;white-space:nowrap}
table.sortable th{cursor:pointer}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafbfc}
td.msg{max-width:560px}
code,.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.name{color:var(--mut);font-size:12px}
.bad{color:var(--red);font-weight:650}
.tag{display:inline-block;padding:0 6px;border-radius:3px;background:#e8eef8;font-size:12px;margin:1px 2px 1px 0}
.tag.anom{background:#fde3e3;color:var(--red)}
.bar{display:inline-block;height:9px;background:#8fb1e3;vertical-align:middle;margin-right:6px}
.grid2{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:flex-start}
.host{border:1px solid var(--line);border-radius:6px;padding:4px 10px 6px;margin-bottom:12px}
.chart text{font-size:10.5px;fill:#4a5260;font-family:system-ui,"DejaVu Sans",sans-serif}
.chart .ct{font-size:12px;font-weight:650;fill:var(--fg)}
.chart .yl{text-anchor:end}
.chart .xl{text-anchor:middle}
.chart .grid{stroke:#e6e9ef;stroke-width:1}
.chart .axis{stroke:#9aa3b0;stroke-width:1}
.chart .line{fill:none;stroke:#1d2330;stroke-width:1.4}
.chart .band{fill:#9ecae1;fill-opacity:.45;stroke:none}
.chart .band.pop{fill:#fdd49e;fill-opacity:.55}
.chart .mean{fill:none;stroke:#3182bd;stroke-width:1;stroke-dasharray:3 3}
.chart .learn{fill:#000;fill-opacity:.06}
.chart .above{fill:var(--red);stroke:#fff;stroke-width:.8}
.chart .below{fill:var(--blue);stroke:#fff;stroke-width:.8}
.chart .hb{fill:#8fa8c8}
.chart .hb.anom{fill:#e57373}
.chart .thr{stroke:var(--red);stroke-width:1.6;stroke-dasharray:5 3}
.chart .thrl{fill:var(--red);font-weight:650}
.sw{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px;vertical-align:middle}
details>summary{cursor:pointer;color:var(--acc)}
.detail{border-left:3px solid var(--line);padding-left:10px;margin:10px 0}
.kvs{display:flex;flex-wrap:wrap;gap:3px 6px;font-size:12.5px;max-width:1300px}
.kv{background:var(--alt);border:1px solid var(--line);border-radius:3px;padding:0 5px}
.kv b{font-weight:600;color:var(--mut)}
.detail:target{border-left-color:var(--red);background:#fff8f0}
.up{color:var(--red)}.down{color:var(--blue)}
footer{padding:10px 28px 30px;color:var(--mut);font-size:12.5px;border-top:1px solid var(--line)}
"#;

const SCRIPT: &str = r#"(function(){
function val(c){var v=c.getAttribute('data-v');return v===null?null:parseFloat(v);}
var ths=document.querySelectorAll('table.sortable thead th');
for(var k=0;k<ths.length;k++){(function(th){th.addEventListener('click',function(){
var t=th.closest('table'),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
var asc=th.getAttribute('data-dir')!=='asc';th.setAttribute('data-dir',asc?'asc':'desc');
var rows=Array.prototype.slice.call(b.rows);
rows.sort(function(a,c){var x=a.cells[i],y=c.cells[i];if(!x||!y)return 0;var p=val(x),q=val(y);
var r=(p!==null&&q!==null)?p-q:x.textContent.localeCompare(y.textContent);return asc?r:-r;});
for(var j=0;j<rows.length;j++)b.appendChild(rows[j]);});})(ths[k]);}
function reveal(){var id=decodeURIComponent(location.hash.slice(1));var e=id&&document.getElementById(id);
while(e){if(e.tagName==='DETAILS')e.open=true;e=e.parentElement;}}
window.addEventListener('hashchange',reveal);reveal();
document.documentElement.setAttribute('data-report-ready','1');
})();"#;

/// The Content-Security-Policy of the page: nothing may be fetched; only
/// the page's own script runs.
pub fn csp() -> String {
    let h = super::sha256::base64(&super::sha256::digest(SCRIPT.as_bytes()));
    format!("default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{h}'; img-src 'none'; base-uri 'none'; form-action 'none'")
}

/// Everything on the page.
pub fn page(d: &Dataset, v: &View, opts: &Options) -> String {
    let mut h = String::with_capacity(1 << 20);
    let title = format!("connscope report: {}", d.dir.display());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" content=\"{}\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(&csp()),
        esc(&title)
    );
    let s = &v.summary;
    let _ = write!(
        h,
        "<header><h1>connscope report</h1><p class=\"sub\"><span class=\"mono\">{}</span> · {} – {} UTC ({}) · built from the logs on disk only</p><nav><a href=\"#summary\">Summary</a><a href=\"#notices\">Notices</a><a href=\"#hosts\">Hosts</a><a href=\"#scores\">Scores</a><a href=\"#top\">Top connections</a><a href=\"#clusters\">Clusters</a><a href=\"#fields\">Names &amp; fields</a><a href=\"#details\">Connection details</a><a href=\"#notes\">Notes</a></nav></header><main>",
        esc(&d.dir.display().to_string()),
        esc(&utc(s.first, false)),
        esc(&utc(s.last, false)),
        esc(&duration(s.last - s.first)),
    );
    sections::summary_section(&mut h, d, v);
    sections::notices_section(&mut h, d, v);
    sections::hosts_section(&mut h, d, v);
    sections::scores_section(&mut h, d, v);
    sections::top_section(&mut h, d, v, opts);
    sections::clusters_section(&mut h, d, v);
    sections::fields_section(&mut h, d);
    sections::details_section(&mut h, d, v);
    sections::notes_section(&mut h, d, v, opts);
    let _ = writeln!(
        h,
        "</main><footer>connscope {} report. Every value on this page comes from the logs in the directory above; nothing is fetched.</footer><script>{SCRIPT}</script></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_text_and_attributes() {
        assert_eq!(
            esc("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(
            esc("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(esc("a&b"), "a&amp;b");
        assert_eq!(esc("a\u{0}b\u{1b}\tc\u{7f}"), "a\\x00b\\x1b\tc\\x7f");
        assert_eq!(esc("ünï"), "ünï");
    }

    #[test]
    fn anchors_are_safe_and_injective() {
        assert_eq!(anchor("c", "CabcXYZ09"), "c-CabcXYZ09");
        assert_eq!(anchor("c", "a\"><b"), "c-a-22-3e-3cb");
        assert_ne!(anchor("c", "a-2d"), anchor("c", "a-"));
        assert!(anchor("c", "\u{fffd}<>\"' x")
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn numbers_bytes_times() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1000), "-1,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(fnum(6720.0), "6,720");
        assert_eq!(fnum(1.331931), "1.332");
        assert_eq!(fnum(20.5), "20.5");
        assert_eq!(fnum(0.0001), "0");
        assert_eq!(fnum(f64::NAN), "–");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(36112.0), "36.1 kB");
        assert_eq!(bytes(2.5e9), "2.5 GB");
        assert_eq!(utc(1795315584.224, true), "2026-11-22 02:46:24.224");
        assert_eq!(hms(1795315800.0, false), "02:50");
        assert_eq!(duration(604.35), "10 min 4 s");
        assert_eq!(duration(0.0042), "4.2 ms");
        assert_eq!(duration(7500.0), "2 h 5 min");
        assert_eq!(duration(60.0), "1 min");
        assert_eq!(duration(86_400.0 * 2.0), "2 d");
    }

    #[test]
    fn csp_names_the_script_hash() {
        let c = csp();
        assert!(c.starts_with("default-src 'none'"));
        let h = super::super::sha256::base64(&super::super::sha256::digest(SCRIPT.as_bytes()));
        assert!(c.contains(&format!("'sha256-{h}'")));
        assert!(
            !SCRIPT.contains("</"),
            "the script cannot close its element"
        );
    }
}
