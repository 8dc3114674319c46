//! GeoIP / ASN enrichment: country, region, city, coordinates, AS number
//! and AS organisation of the non-local endpoints of finished connections
//! and of notices, from MaxMind databases (`.mmdb`: GeoIP2/GeoLite2 City or
//! Country, GeoLite2 ASN, or any database with their layout).
//!
//! Owns the open databases ([`GeoDb`]), the lookup rules and a bounded
//! per-address cache ([`Enricher`]). Runs on the writer side
//! (`pipeline::LogSink`), once per logged record and at most once per
//! address while it stays in the cache; it never sees packets.
//!
//! The values are Zeek's (`src/MMDB.cc`, `lookup_location` and
//! `lookup_autonomous_system`): `country.iso_code`,
//! `subdivisions[0].iso_code` (region), `city.names.en`,
//! `location.latitude`/`longitude`; `autonomous_system_number` and
//! `autonomous_system_organization`. "Local" is `Site::local_nets`
//! ([`LocalNets`]: `--local-nets` plus, unless `--no-private-local`, the
//! private address space); local addresses are never looked up.
//!
//! Must not: read packets or connection state, allocate per packet, or
//! fail a run on a bad database record (a lookup that fails is counted in
//! [`EnrichStats::errors`] and gives no values).

use crate::conn::site::LocalNets;
use crate::decode::Addr;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Addresses held by the cache (two generations of half this each).
pub const CACHE_ENTRIES: usize = 65_536;

/// A database that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read (missing, unreadable).
    #[error("reading MaxMind database {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a MaxMind database, is damaged, or is the wrong kind.
    #[error("{} is not a usable MaxMind database: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// What a database is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    /// City or country data (`--geoip-db`).
    Location,
    /// Autonomous systems (`--asn-db`).
    Asn,
}

/// An open MaxMind database (read into memory).
pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
    kind: DbKind,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb")
            .field("kind", &self.kind)
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

impl GeoDb {
    /// Opens `path` for `kind`; a missing, damaged or wrong-kind file is an
    /// error naming it.
    pub fn open(path: &Path, kind: DbKind) -> Result<GeoDb, GeoError> {
        let bytes = std::fs::read(path).map_err(|source| GeoError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        GeoDb::from_bytes(bytes, kind).map_err(|reason| GeoError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// A database from its bytes (`Err` says what is wrong with them).
    pub fn from_bytes(bytes: Vec<u8>, kind: DbKind) -> Result<GeoDb, String> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| e.to_string())?;
        let ty = reader.metadata().database_type.to_ascii_lowercase();
        match kind {
            DbKind::Location if ty.contains("asn") => {
                return Err(format!(
                    "database type {:?} holds autonomous systems: give it to --asn-db",
                    reader.metadata().database_type
                ))
            }
            DbKind::Asn if ty.contains("city") || ty.contains("country") => {
                return Err(format!(
                    "database type {:?} holds locations: give it to --geoip-db",
                    reader.metadata().database_type
                ))
            }
            _ => {}
        }
        let db = GeoDb { reader, kind };
        // A damaged search tree or data section shows on the first lookups.
        for probe in ["1.1.1.1", "8.8.8.8", "2001:4860::1"] {
            if let Ok(ip) = probe.parse() {
                db.lookup_raw(ip)
                    .map_err(|e| format!("lookup of {probe}: {e}"))?;
            }
        }
        Ok(db)
    }

    /// The database's `database_type` (e.g. `GeoLite2-City`).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    fn lookup_raw(&self, ip: std::net::IpAddr) -> Result<Option<HostInfo>, String> {
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return Ok(None); // an IPv4-only database knows no IPv6 address
        }
        let r = self.reader.lookup(ip).map_err(|e| e.to_string())?;
        if !r.has_data() {
            return Ok(None);
        }
        let mut h = HostInfo::default();
        match self.kind {
            DbKind::Location => {
                let Some(c) = r.decode::<CityRecord>().map_err(|e| e.to_string())? else {
                    return Ok(None);
                };
                let s = |x: Option<&str>| x.map(Box::<str>::from);
                h.location = Location {
                    country_code: s(c.country.and_then(|x| x.iso_code)),
                    region: s(c
                        .subdivisions
                        .and_then(|v| v.into_iter().next())
                        .and_then(|x| x.iso_code)),
                    city: s(c.city.and_then(|x| x.names).and_then(|n| n.en)),
                    latitude: c.location.as_ref().and_then(|l| l.latitude),
                    longitude: c.location.as_ref().and_then(|l| l.longitude),
                };
            }
            DbKind::Asn => {
                let Some(a) = r.decode::<AsnRecord>().map_err(|e| e.to_string())? else {
                    return Ok(None);
                };
                h.asn = a.autonomous_system_number;
                h.as_org = a.autonomous_system_organization.map(Box::from);
            }
        }
        Ok(Some(h))
    }
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct EnName<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    names: Option<EnName<'a>>,
}

#[derive(Deserialize)]
struct LatLon {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow, default)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow, default)]
    subdivisions: Option<Vec<IsoCode<'a>>>,
    #[serde(borrow, default)]
    city: Option<Named<'a>>,
    #[serde(default)]
    location: Option<LatLon>,
}

#[derive(Deserialize)]
struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

/// Zeek's `geo_location`: what a location database says of an address.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Location {
    /// `country.iso_code` (ISO 3166-1 alpha-2).
    pub country_code: Option<Box<str>>,
    /// `subdivisions[0].iso_code`.
    pub region: Option<Box<str>>,
    /// `city.names.en`.
    pub city: Option<Box<str>>,
    /// `location.latitude`.
    pub latitude: Option<f64>,
    /// `location.longitude`.
    pub longitude: Option<f64>,
}

impl Location {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == Location::default()
    }
}

/// Everything known of one address.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostInfo {
    /// From the location database.
    pub location: Location,
    /// `autonomous_system_number`.
    pub asn: Option<u32>,
    /// `autonomous_system_organization`.
    pub as_org: Option<Box<str>>,
}

/// The enrichment of one connection: its non-local endpoints' data (`None`
/// for a local endpoint or an address no database knows).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnGeo {
    /// `id.orig_h`.
    pub orig: Option<Arc<HostInfo>>,
    /// `id.resp_h`.
    pub resp: Option<Arc<HostInfo>>,
}

/// Lookup counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnrichStats {
    /// Non-local addresses asked for.
    pub lookups: u64,
    /// Of those, answered from the cache.
    pub cache_hits: u64,
    /// Database lookups that failed (damaged record); no values given.
    pub errors: u64,
}

/// Looks addresses up in the databases, skipping local ones, through a
/// bounded cache: two generations of at most `CACHE_ENTRIES / 2`
/// addresses; when the young one is full the old one is dropped and the
/// young one becomes old (an address used in either stays cached).
pub struct Enricher {
    location: Option<GeoDb>,
    asn: Option<GeoDb>,
    local: LocalNets,
    young: HashMap<Addr, Option<Arc<HostInfo>>, foldhash::fast::RandomState>,
    old: HashMap<Addr, Option<Arc<HostInfo>>, foldhash::fast::RandomState>,
    generation: usize,
    stats: EnrichStats,
}

impl Enricher {
    /// An enricher over these databases; addresses in `local` are skipped.
    pub fn new(location: Option<GeoDb>, asn: Option<GeoDb>, local: LocalNets) -> Enricher {
        Enricher::with_cache(location, asn, local, CACHE_ENTRIES)
    }

    /// The same with a cache of about `entries` addresses.
    pub fn with_cache(
        location: Option<GeoDb>,
        asn: Option<GeoDb>,
        local: LocalNets,
        entries: usize,
    ) -> Enricher {
        Enricher {
            location,
            asn,
            local,
            young: HashMap::default(),
            old: HashMap::default(),
            generation: (entries / 2).max(1),
            stats: EnrichStats::default(),
        }
    }

    /// Whether a location database is open (`*_cc`, `*_city`, `remote_location`).
    pub fn has_location(&self) -> bool {
        self.location.is_some()
    }

    /// Whether an ASN database is open (`*_asn`, `*_as_org`).
    pub fn has_asn(&self) -> bool {
        self.asn.is_some()
    }

    /// The counters so far.
    pub fn stats(&self) -> EnrichStats {
        self.stats
    }

    /// Addresses cached now.
    pub fn cached(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// What the databases know of `a`; `None` when it is local or unknown.
    pub fn host(&mut self, a: &Addr) -> Option<Arc<HostInfo>> {
        if self.local.contains(a) {
            return None;
        }
        self.stats.lookups += 1;
        if let Some(h) = self.young.get(a) {
            self.stats.cache_hits += 1;
            return h.clone();
        }
        let h = match self.old.remove(a) {
            Some(h) => {
                self.stats.cache_hits += 1;
                h
            }
            None => self.lookup(a),
        };
        if self.young.len() >= self.generation {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(*a, h.clone());
        h
    }

    fn lookup(&mut self, a: &Addr) -> Option<Arc<HostInfo>> {
        let ip = a.to_ip();
        let mut info = HostInfo::default();
        let mut found = false;
        for db in [&self.location, &self.asn].into_iter().flatten() {
            match db.lookup_raw(ip) {
                Ok(Some(h)) => {
                    found = true;
                    match db.kind {
                        DbKind::Location => info.location = h.location,
                        DbKind::Asn => {
                            info.asn = h.asn;
                            info.as_org = h.as_org;
                        }
                    }
                }
                Ok(None) => {}
                Err(_) => self.stats.errors += 1,
            }
        }
        found.then(|| Arc::new(info))
    }

    /// Both endpoints of a connection.
    pub fn conn(&mut self, orig: &Addr, resp: &Addr) -> ConnGeo {
        ConnGeo {
            orig: self.host(orig),
            resp: self.host(resp),
        }
    }

    /// A notice's `remote_location`, chosen as Zeek's
    /// `notice/actions/add-geodata.zeek` does: `src` if it is not local,
    /// else `dst` if it is not local.
    pub fn remote_location(&mut self, src: Option<&Addr>, dst: Option<&Addr>) -> Option<Location> {
        if !self.has_location() {
            return None;
        }
        let remote = match (src, dst) {
            (Some(s), _) if !self.local.contains(s) => s,
            (_, Some(d)) if !self.local.contains(d) => d,
            _ => return None,
        };
        let h = self.host(remote)?;
        (!h.location.is_empty()).then(|| h.location.clone())
    }
}

#[cfg(test)]
mod tests;
