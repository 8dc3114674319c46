//! GeoIP/ASN fields (`--geoip-db`, `--asn-db`): the conn.log columns
//! `orig_cc resp_cc orig_city resp_city` and `orig_asn resp_asn
//! orig_as_org resp_as_org` (the names of Zeek's `conn-add-geodata` and
//! common ASN scripts), appended after every other conn.log column, and
//! notice.log's `remote_location.*` (Zeek's `geo_location` of
//! `Notice::Info`, `notice/actions/add-geodata.zeek`), appended after
//! `suppress_for` as Zeek writes them. Values come from
//! [`crate::geoip`]; this module only formats them.

use super::conn_log::ConnLogOptions;
use super::json;
use super::tsv;
use crate::geoip::Location;
use crate::record::ConnRecord;
use std::io::Write;

/// The conn.log GeoIP/ASN columns for these options (appended after every
/// other column; values of non-local endpoints, unset for local ones).
pub fn conn_columns(o: &ConnLogOptions) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    if o.geo {
        v.extend([
            ("orig_cc", "string"),
            ("resp_cc", "string"),
            ("orig_city", "string"),
            ("resp_city", "string"),
        ]);
    }
    if o.asn {
        v.extend([
            ("orig_asn", "count"),
            ("resp_asn", "count"),
            ("orig_as_org", "string"),
            ("resp_as_org", "string"),
        ]);
    }
    v
}

/// One GeoIP/ASN value of an endpoint.
enum GeoVal<'a> {
    Str(Option<&'a str>),
    Count(Option<u32>),
}

/// Calls `v` with each GeoIP/ASN column's name and value, in column order.
fn visit_geo<'a>(r: &'a ConnRecord, o: &ConnLogOptions, v: &mut dyn FnMut(&str, GeoVal<'a>)) {
    let (orig, resp) = (r.geo.orig.as_deref(), r.geo.resp.as_deref());
    if o.geo {
        v(
            "orig_cc",
            GeoVal::Str(orig.and_then(|h| h.location.country_code.as_deref())),
        );
        v(
            "resp_cc",
            GeoVal::Str(resp.and_then(|h| h.location.country_code.as_deref())),
        );
        v(
            "orig_city",
            GeoVal::Str(orig.and_then(|h| h.location.city.as_deref())),
        );
        v(
            "resp_city",
            GeoVal::Str(resp.and_then(|h| h.location.city.as_deref())),
        );
    }
    if o.asn {
        v("orig_asn", GeoVal::Count(orig.and_then(|h| h.asn)));
        v("resp_asn", GeoVal::Count(resp.and_then(|h| h.asn)));
        v(
            "orig_as_org",
            GeoVal::Str(orig.and_then(|h| h.as_org.as_deref())),
        );
        v(
            "resp_as_org",
            GeoVal::Str(resp.and_then(|h| h.as_org.as_deref())),
        );
    }
}

/// Appends the conn.log GeoIP/ASN fields to a JSON object being written
/// (before its closing `}`; unset values omitted).
pub fn write_conn_json(buf: &mut Vec<u8>, first: &mut bool, r: &ConnRecord, o: &ConnLogOptions) {
    visit_geo(r, o, &mut |name, val| match val {
        GeoVal::Str(Some(s)) => {
            json::key(buf, first, name);
            json::string(buf, s.as_bytes());
        }
        GeoVal::Count(Some(n)) => {
            json::key(buf, first, name);
            json::uint(buf, u64::from(n));
        }
        GeoVal::Str(None) | GeoVal::Count(None) => {}
    });
}

/// Appends the conn.log GeoIP/ASN fields to a TSV line, each after a tab.
pub fn write_conn_tsv(buf: &mut Vec<u8>, r: &ConnRecord, o: &ConnLogOptions) {
    visit_geo(r, o, &mut |_, val| {
        buf.push(b'\t');
        match val {
            GeoVal::Str(Some(s)) => tsv::string(buf, s.as_bytes(), false),
            GeoVal::Count(Some(n)) => {
                let _ = write!(buf, "{n}");
            }
            GeoVal::Str(None) | GeoVal::Count(None) => buf.push(b'-'),
        }
    });
}

/// notice.log's `remote_location` columns (with `--geoip-db`).
pub const NOTICE_COLUMNS: &[(&str, &str)] = &[
    ("remote_location.country_code", "string"),
    ("remote_location.region", "string"),
    ("remote_location.city", "string"),
    ("remote_location.latitude", "double"),
    ("remote_location.longitude", "double"),
];

/// Appends a notice's `remote_location.*` fields to a JSON object being
/// written (unset values omitted, as Zeek's JSON writer does).
pub fn write_notice_json(buf: &mut Vec<u8>, first: &mut bool, l: Option<&Location>) {
    let Some(l) = l else { return };
    let strs = [
        ("remote_location.country_code", &l.country_code),
        ("remote_location.region", &l.region),
        ("remote_location.city", &l.city),
    ];
    for (k, v) in strs {
        if let Some(v) = v {
            json::key(buf, first, k);
            json::string(buf, v.as_bytes());
        }
    }
    for (k, v) in [
        ("remote_location.latitude", l.latitude),
        ("remote_location.longitude", l.longitude),
    ] {
        if let Some(v) = v {
            json::key(buf, first, k);
            json::double(buf, v);
        }
    }
}

/// Appends a notice's five `remote_location.*` fields to a TSV line, each
/// after a tab (`-` when unset).
pub fn write_notice_tsv(buf: &mut Vec<u8>, l: Option<&Location>) {
    let none = Location::default();
    let l = l.unwrap_or(&none);
    for s in [&l.country_code, &l.region, &l.city] {
        buf.push(b'\t');
        match s {
            Some(s) => tsv::string(buf, s.as_bytes(), false),
            None => buf.push(b'-'),
        }
    }
    for d in [l.latitude, l.longitude] {
        buf.push(b'\t');
        match d {
            Some(d) => {
                let _ = write!(buf, "{d:.6}");
            }
            None => buf.push(b'-'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Location {
        Location {
            country_code: Some("GB".into()),
            region: Some("ENG".into()),
            city: Some("St Albans\t".into()),
            latitude: Some(51.75),
            longitude: None,
        }
    }

    #[test]
    fn notice_remote_location_json_and_tsv() {
        let mut j = b"{\"note\":\"x\"".to_vec();
        let mut first = false;
        write_notice_json(&mut j, &mut first, Some(&loc()));
        j.push(b'}');
        assert_eq!(
            String::from_utf8(j).unwrap(),
            "{\"note\":\"x\",\"remote_location.country_code\":\"GB\",\"remote_location.region\":\"ENG\",\"remote_location.city\":\"St Albans\\t\",\"remote_location.latitude\":51.75}"
        );
        let mut none = Vec::new();
        write_notice_json(&mut none, &mut first, None);
        assert!(none.is_empty());
        let mut t = Vec::new();
        write_notice_tsv(&mut t, Some(&loc()));
        assert_eq!(t, b"\tGB\tENG\tSt Albans\\x09\t51.750000\t-");
        t.clear();
        write_notice_tsv(&mut t, None);
        assert_eq!(t, b"\t-\t-\t-\t-\t-");
        assert_eq!(NOTICE_COLUMNS.len(), 5);
    }

    #[test]
    fn conn_columns_follow_the_options() {
        let names = |o: &ConnLogOptions| {
            conn_columns(o)
                .iter()
                .map(|c| c.0)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut o = ConnLogOptions::default();
        assert_eq!(names(&o), "");
        o.asn = true;
        assert_eq!(names(&o), "orig_asn resp_asn orig_as_org resp_as_org");
        o.geo = true;
        assert_eq!(
            names(&o),
            "orig_cc resp_cc orig_city resp_city orig_asn resp_asn orig_as_org resp_as_org"
        );
    }
}
