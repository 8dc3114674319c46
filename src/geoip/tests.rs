//! Lookups against small databases built here with the `mmdb-writer` crate
//! (an independent MaxMind DB writer); expected values are the ones
//! inserted.

use super::*;
use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{Value, Writer};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn city(cc: &str, region: Option<&str>, name: &str, lat: f64, lon: f64) -> Value {
    let mut m = vec![
        ("country", Value::map([("iso_code", Value::from(cc))])),
        (
            "city",
            Value::map([(
                "names",
                Value::map([("en", Value::from(name)), ("de", Value::from("x"))]),
            )]),
        ),
        (
            "location",
            Value::map([
                ("latitude", Value::from(lat)),
                ("longitude", Value::from(lon)),
                ("accuracy_radius", Value::from(100u16)),
            ]),
        ),
    ];
    if let Some(r) = region {
        m.push((
            "subdivisions",
            Value::array([
                Value::map([("iso_code", Value::from(r))]),
                Value::map([("iso_code", Value::from("ZZ9"))]),
            ]),
        ));
    }
    Value::map(m)
}

/// A city database: 93.184.216.0/24 Norwell (US, MA), 2606:2800::/32 the
/// same site over IPv6, 81.2.69.0/24 London (GB, ENG), 5.9.0.0/16 a
/// country-only record (DE), and 10.0.0.0/8 (private: must never be
/// asked for).
pub(super) fn city_db() -> Vec<u8> {
    let mut w = Writer::new("GeoLite2-City");
    let us = city("US", Some("MA"), "Norwell", 42.1596, -70.8217);
    w.insert_value(net("93.184.216.0/24"), us.clone()).unwrap();
    w.insert_value(net("2606:2800::/32"), us).unwrap();
    w.insert_value(
        net("81.2.69.0/24"),
        city("GB", Some("ENG"), "London", 51.5142, -0.0931),
    )
    .unwrap();
    w.insert_value(
        net("5.9.0.0/16"),
        Value::map([("country", Value::map([("iso_code", Value::from("DE"))]))]),
    )
    .unwrap();
    w.insert_value(net("10.0.0.0/8"), city("XX", None, "Private", 0.0, 0.0))
        .unwrap();
    w.to_bytes().unwrap()
}

/// An ASN database: 93.184.216.0/24 AS15133 "Edgecast Inc.", 2606:2800::/32
/// the same, 81.2.69.0/24 AS20712 without an organisation.
pub(super) fn asn_db() -> Vec<u8> {
    let mut w = Writer::new("GeoLite2-ASN");
    let edgecast = Value::map([
        ("autonomous_system_number", Value::from(15133u32)),
        (
            "autonomous_system_organization",
            Value::from("Edgecast Inc."),
        ),
    ]);
    w.insert_value(net("93.184.216.0/24"), edgecast.clone())
        .unwrap();
    w.insert_value(net("2606:2800::/32"), edgecast).unwrap();
    w.insert_value(
        net("81.2.69.0/24"),
        Value::map([("autonomous_system_number", Value::from(20712u32))]),
    )
    .unwrap();
    w.to_bytes().unwrap()
}

fn a(s: &str) -> Addr {
    Addr::from_ip(s.parse().unwrap())
}

fn enricher() -> Enricher {
    Enricher::new(
        Some(GeoDb::from_bytes(city_db(), DbKind::Location).unwrap()),
        Some(GeoDb::from_bytes(asn_db(), DbKind::Asn).unwrap()),
        LocalNets::zeek_default(),
    )
}

#[test]
fn ipv4_city_and_asn() {
    let mut e = enricher();
    let h = e.host(&a("93.184.216.34")).unwrap();
    assert_eq!(h.location.country_code.as_deref(), Some("US"));
    assert_eq!(h.location.region.as_deref(), Some("MA"));
    assert_eq!(h.location.city.as_deref(), Some("Norwell"));
    assert_eq!(h.location.latitude, Some(42.1596));
    assert_eq!(h.location.longitude, Some(-70.8217));
    assert_eq!(h.asn, Some(15133));
    assert_eq!(h.as_org.as_deref(), Some("Edgecast Inc."));
    // Region is the first subdivision (Zeek: subdivisions.0.iso_code).
    let l = e.host(&a("81.2.69.160")).unwrap();
    assert_eq!(l.location.region.as_deref(), Some("ENG"));
    assert_eq!(l.location.city.as_deref(), Some("London"));
    assert_eq!(l.asn, Some(20712));
    assert_eq!(l.as_org, None);
}

#[test]
fn ipv6_lookups() {
    let mut e = enricher();
    let h = e.host(&a("2606:2800:220:1::1")).unwrap();
    assert_eq!(h.location.country_code.as_deref(), Some("US"));
    assert_eq!(h.asn, Some(15133));
    assert!(e.host(&a("2a00:1450::1")).is_none());
    // IPv4 is found through the IPv6 tree's ::ffff:0:0/96 alias as well.
    assert_eq!(
        e.host(&a("::ffff:93.184.216.1"))
            .unwrap()
            .location
            .city
            .as_deref(),
        Some("Norwell")
    );
}

#[test]
fn missing_entries_and_partial_records() {
    let mut e = enricher();
    assert!(e.host(&a("8.8.8.8")).is_none());
    // Country only: no region, city or coordinates; not in the ASN database.
    let d = e.host(&a("5.9.1.7")).unwrap();
    assert_eq!(d.location.country_code.as_deref(), Some("DE"));
    assert_eq!(
        (d.location.region.as_ref(), d.location.city.as_ref()),
        (None, None)
    );
    assert_eq!((d.location.latitude, d.asn), (None, None));
    assert_eq!(e.stats().errors, 0);
}

#[test]
fn local_addresses_are_never_looked_up() {
    let mut e = enricher();
    assert!(e.host(&a("10.1.2.3")).is_none());
    assert_eq!(e.stats().lookups, 0);
    // With no local networks the same address is looked up.
    let mut all = Enricher::new(
        Some(GeoDb::from_bytes(city_db(), DbKind::Location).unwrap()),
        None,
        LocalNets::empty(),
    );
    let p = all.host(&a("10.1.2.3")).unwrap();
    assert_eq!(p.location.city.as_deref(), Some("Private"));
    assert_eq!(p.asn, None);
}

#[test]
fn cache_answers_repeats_and_stays_bounded() {
    let city = GeoDb::from_bytes(city_db(), DbKind::Location).unwrap();
    let mut e = Enricher::with_cache(Some(city), None, LocalNets::empty(), 8);
    let first = e.host(&a("93.184.216.34")).unwrap();
    let again = e.host(&a("93.184.216.34")).unwrap();
    assert!(Arc::ptr_eq(&first, &again), "second answer from the cache");
    assert_eq!(
        e.stats(),
        EnrichStats {
            lookups: 2,
            cache_hits: 1,
            errors: 0
        }
    );
    for i in 0..100u8 {
        e.host(&Addr::v4([93, 184, 216, i]));
        assert!(e.cached() <= 8, "cache holds {}", e.cached());
    }
    // Unknown addresses are cached too (as unknown).
    e.host(&a("8.8.4.4"));
    let hits = e.stats().cache_hits;
    assert!(e.host(&a("8.8.4.4")).is_none());
    assert_eq!(e.stats().cache_hits, hits + 1);
}

#[test]
fn notice_remote_location_follows_zeek_add_geodata() {
    let mut e = enricher();
    let local = a("10.0.0.66");
    let remote = a("81.2.69.1");
    // src remote: src.
    let l = e.remote_location(Some(&remote), Some(&local)).unwrap();
    assert_eq!(l.city.as_deref(), Some("London"));
    // src local: dst.
    let l = e
        .remote_location(Some(&local), Some(&a("93.184.216.9")))
        .unwrap();
    assert_eq!(l.country_code.as_deref(), Some("US"));
    // Both local, or only a local src: none.
    assert!(e.remote_location(Some(&local), Some(&local)).is_none());
    assert!(e.remote_location(Some(&local), None).is_none());
    // Unknown remote: none.
    assert!(e.remote_location(Some(&a("8.8.8.8")), None).is_none());
    // Without a location database: none.
    let mut asn_only = Enricher::new(
        None,
        Some(GeoDb::from_bytes(asn_db(), DbKind::Asn).unwrap()),
        LocalNets::zeek_default(),
    );
    assert!(asn_only.remote_location(Some(&remote), None).is_none());
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("connscope-geoip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.mmdb");
    let e = GeoDb::open(&missing, DbKind::Location).unwrap_err();
    assert!(matches!(e, GeoError::Read { .. }));
    assert!(e.to_string().contains("missing.mmdb"), "{e}");

    let junk = dir.join("junk.mmdb");
    std::fs::write(&junk, b"this is not a MaxMind database").unwrap();
    let e = GeoDb::open(&junk, DbKind::Location).unwrap_err();
    assert!(matches!(e, GeoError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("junk.mmdb"), "{e}");

    // A real database cut short (metadata gone) and one with its search
    // tree overwritten.
    let db = city_db();
    let cut = dir.join("cut.mmdb");
    std::fs::write(&cut, &db[..db.len() / 2]).unwrap();
    let e = GeoDb::open(&cut, DbKind::Location).unwrap_err();
    assert!(e.to_string().contains("cut.mmdb"), "{e}");
    let mut smashed = db.clone();
    for b in smashed.iter_mut().take(64) {
        *b = 0xff;
    }
    let smashed_path = dir.join("smashed.mmdb");
    std::fs::write(&smashed_path, &smashed).unwrap();
    let e = GeoDb::open(&smashed_path, DbKind::Location).unwrap_err();
    assert!(e.to_string().contains("smashed.mmdb"), "{e}");

    // The wrong kind of database for the option.
    let asn = dir.join("asn.mmdb");
    std::fs::write(&asn, asn_db()).unwrap();
    let e = GeoDb::open(&asn, DbKind::Location).unwrap_err();
    assert!(e.to_string().contains("--asn-db"), "{e}");
    let c = dir.join("city.mmdb");
    std::fs::write(&c, city_db()).unwrap();
    let e = GeoDb::open(&c, DbKind::Asn).unwrap_err();
    assert!(e.to_string().contains("--geoip-db"), "{e}");
    assert_eq!(
        GeoDb::open(&c, DbKind::Location).unwrap().database_type(),
        "GeoLite2-City"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
