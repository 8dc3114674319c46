//! The record a closed connection carries to the stages after the flow
//! table: context, detectors and writers. It owns the finished [`Conn`] plus
//! the values derived once at logging time, so later stages add their own
//! sections without reaching back into the packet path.

use crate::conn::{Conn, ConnConfig};

/// A finished connection on its way to the writers.
#[derive(Clone, Debug)]
pub struct ConnRecord {
    /// The connection as it was when removed.
    pub conn: Conn,
    /// `local_orig` (unset when no local networks are configured).
    pub local_orig: Option<bool>,
    /// `local_resp`.
    pub local_resp: Option<bool>,
    /// `community_id`, when enabled.
    pub community_id: Option<String>,
    /// Network time at which the connection was removed and logged (the
    /// engine's clock, so the same for any number of workers).
    pub logged_at: crate::time::Ts,
}

impl ConnRecord {
    /// Builds the record of a removed connection (`logged_at` = its last
    /// packet time; the engine sets the removal time).
    pub fn new(conn: Conn, cfg: &ConnConfig) -> ConnRecord {
        let (lo, lr) = if cfg.local_nets.is_empty() {
            (None, None)
        } else {
            (
                Some(cfg.local_nets.contains(&conn.orig_h)),
                Some(cfg.local_nets.contains(&conn.resp_h)),
            )
        };
        let community_id = cfg.community_id_seed.map(|seed| {
            crate::conn::community_id::community_id(
                seed,
                (conn.orig_h, conn.orig_p),
                (conn.resp_h, conn.resp_p),
                conn.ip_proto,
                conn.icmp_one_way,
            )
        });
        let logged_at = conn.last;
        ConnRecord {
            conn,
            local_orig: lo,
            local_resp: lr,
            community_id,
            logged_at,
        }
    }
}
