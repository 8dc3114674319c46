//! GeoIP/ASN fields (`--geoip-db`, `--asn-db`): the conn.log columns
//! `orig_cc resp_cc orig_city resp_city` and `orig_asn resp_asn
//! orig_as_org resp_as_org` (the names of Zeek's `conn-add-geodata` and
//! common ASN scripts), appended after every other conn.log column, and
//! notice.log's `remote_location.*` (Zeek's `geo_location` of
//! `Notice::Info`, `notice/actions/add-geodata.zeek`), appended after
//! `suppress_for` as Zeek writes them. Values come from
//! [`crate::geoip`]; this module only formats them.

use super::conn_log::ConnLogOptions;
use super::row::{Columns, Val};
use crate::geoip::{HostInfo, Location};
use crate::record::ConnRecord;

fn text(s: Option<&str>) -> Val<'_> {
    s.map_or(Val::Unset("string"), |s| Val::Str(s.as_bytes()))
}

/// Calls `v` with the conn.log GeoIP/ASN columns for these options, in
/// column order (values of non-local endpoints, unset for local ones).
#[inline(always)]
pub fn visit_conn<C: Columns>(r: &ConnRecord, o: &ConnLogOptions, v: &mut C) {
    let (orig, resp) = (r.geo.orig.as_deref(), r.geo.resp.as_deref());
    if o.geo {
        fn cc(h: Option<&HostInfo>) -> Option<&str> {
            h.and_then(|h| h.location.country_code.as_deref())
        }
        fn city(h: Option<&HostInfo>) -> Option<&str> {
            h.and_then(|h| h.location.city.as_deref())
        }
        v.col("orig_cc", text(cc(orig)));
        v.col("resp_cc", text(cc(resp)));
        v.col("orig_city", text(city(orig)));
        v.col("resp_city", text(city(resp)));
    }
    if o.asn {
        fn asn(h: Option<&HostInfo>) -> Val<'static> {
            h.and_then(|h| h.asn)
                .map_or(Val::Unset("count"), |n| Val::Count(u64::from(n)))
        }
        fn org(h: Option<&HostInfo>) -> Option<&str> {
            h.and_then(|h| h.as_org.as_deref())
        }
        v.col("orig_asn", asn(orig));
        v.col("resp_asn", asn(resp));
        v.col("orig_as_org", text(org(orig)));
        v.col("resp_as_org", text(org(resp)));
    }
}

/// Calls `v` with notice.log's five `remote_location.*` columns (unset
/// when there is no location or no such value).
pub fn visit_notice<C: Columns>(l: Option<&Location>, v: &mut C) {
    let none = Location::default();
    let l = l.unwrap_or(&none);
    let double = |d: Option<f64>| d.map_or(Val::Unset("double"), Val::Double);
    v.col(
        "remote_location.country_code",
        text(l.country_code.as_deref()),
    );
    v.col("remote_location.region", text(l.region.as_deref()));
    v.col("remote_location.city", text(l.city.as_deref()));
    v.col("remote_location.latitude", double(l.latitude));
    v.col("remote_location.longitude", double(l.longitude));
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
        use crate::output::row::{Json, Tsv};
        use crate::output::TimeFormat;
        let mut j = b"{\"note\":\"x\"".to_vec();
        visit_notice(
            Some(&loc()),
            &mut Json::new(&mut j, TimeFormat::Epoch, false),
        );
        j.push(b'}');
        assert_eq!(
            String::from_utf8(j).unwrap(),
            "{\"note\":\"x\",\"remote_location.country_code\":\"GB\",\"remote_location.region\":\"ENG\",\"remote_location.city\":\"St Albans\\t\",\"remote_location.latitude\":51.75}"
        );
        let mut none = Vec::new();
        visit_notice(None, &mut Json::new(&mut none, TimeFormat::Epoch, false));
        assert!(none.is_empty());
        let mut t = Vec::new();
        visit_notice(Some(&loc()), &mut Tsv::new(&mut t, false));
        assert_eq!(t, b"\tGB\tENG\tSt Albans\\x09\t51.750000\t-");
        t.clear();
        visit_notice(None, &mut Tsv::new(&mut t, false));
        assert_eq!(t, b"\t-\t-\t-\t-\t-");
        let cols = crate::output::notice_log::columns(true);
        assert_eq!(
            cols[cols.len() - 5],
            ("remote_location.country_code", "string")
        );
        assert_eq!(
            cols[cols.len() - 1],
            ("remote_location.longitude", "double")
        );
    }

    #[test]
    fn conn_columns_follow_the_options() {
        let names = |o: &ConnLogOptions| {
            let all = crate::output::conn_log::columns(o);
            let at = all.iter().position(|c| c.0 == "ip_proto").unwrap();
            all[at + 1..]
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
