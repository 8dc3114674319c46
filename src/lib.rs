//! connscope: a network sensor library that turns packets into Zeek-exact
//! connection records.
//!
//! Data flows one way through the stages, each a module with one entry point:
//!
//! ```text
//! capture ─► decode ─► flow (table, timers) ─► conn (Zeek semantics) ─► record ─► output
//! ```
//!
//! - [`capture`]: packet sources (pcap/pcapng files; live capture later).
//! - [`decode`]: link layers, IP, fragments, tunnels — borrowed views, named weirds.
//! - [`flow`]: canonical flow keys, the per-shard table and its timers.
//! - [`conn`]: connection state exactly as Zeek's conn.log defines it.
//! - [`engine`]: one shard's packet path wiring the stages together.
//! - [`record`]: what a finished connection carries to later stages.
//! - [`dns`]: passive DNS (dns.log, names seen resolving to addresses).
//! - [`stats`]: per-connection flow statistics (flowmeter.log, conn.log extras).
//! - [`context`]: KDD'99-style traffic context per connection (context.log).
//! - [`geoip`]: GeoIP/ASN enrichment of logged records (writer side).
//! - [`output`]: Zeek TSV and JSON writers.
//! - [`pipeline`]: reading a capture file through an engine into log files.
//! - [`eval`]: scoring the sensor's logs against labelled datasets (`connscope eval`).
//! - [`report`]: the self-contained HTML report of a log directory (`connscope report`).

#![warn(missing_docs)]

pub mod base64;
pub mod capture;
pub mod conn;
pub mod context;
pub mod decode;
pub mod detect;
pub mod dns;
pub mod engine;
pub mod eval;
pub mod flow;
pub mod geoip;
pub mod hint;
pub mod output;
pub mod pipeline;
pub mod record;
pub mod report;
pub mod stats;
pub mod time;
