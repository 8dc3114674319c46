//! A connection's tunnel state, out of line ([`TunnelState`], allocated
//! only for connections inside or carrying a tunnel): the current
//! encapsulation, tunnel parents, encapsulation changes (Zeek's
//! `CheckEncapsulation`) and the tunnel analyzers' per-connection flags
//! (Teredo's state and delayed confirmation, a violation).
//!
//! Must not: decode tunnel headers (`decode::tunnel` does) or choose a
//! tunnel analyzer (the engine does).

use super::history::bit;
use super::uid::Uid;
use super::{Conn, ConnConfig, Encap};

/// `TunnelState::dirs` bit: Teredo analyzed a packet of the connection.
const TEREDO_STATE: u8 = 4;

/// Maximum distinct tunnel parents remembered.
const MAX_TUNNEL_PARENTS: usize = 16;

/// A connection's tunnel state: rarely used, so out of line.
#[derive(Clone, Debug, Default)]
pub(super) struct TunnelState {
    /// Current encapsulation.
    pub(super) encap: Encap,
    /// Tunnel parents, in order.
    parents: Vec<Uid>,
    /// Encapsulation changes seen (`Tunnel::max_changes_per_connection`).
    changes: u32,
    /// Directions in which a tunnel header was seen (bit 1 orig, bit 2 resp;
    /// bit 4: Teredo keeps state for the connection).
    pub(super) dirs: u8,
    /// A tunnel packet analyzer raised a violation on this connection
    /// (`AnalyzerViolated`): it is not tried again.
    violated: bool,
}

impl TunnelState {
    pub(super) fn add_parent(&mut self, u: Uid) {
        if !self.parents.contains(&u) && self.parents.len() < MAX_TUNNEL_PARENTS {
            self.parents.push(u);
        }
    }
}

impl Conn {
    fn tunnel_mut(&mut self) -> &mut TunnelState {
        self.tunnel.get_or_insert_with(Box::default)
    }

    /// Teredo analyzed a packet of this connection (it keeps state for it).
    pub fn teredo_state(&self) -> bool {
        self.tunnel
            .as_ref()
            .is_some_and(|t| t.dirs & TEREDO_STATE != 0)
    }

    /// Marks that Teredo analyzed a packet of this connection.
    pub fn set_teredo_state(&mut self) {
        self.tunnel_mut().dirs |= TEREDO_STATE;
    }

    /// Notes valid Teredo from one side; true once both sides sent it
    /// (`Tunnel::delay_teredo_confirmation`).
    pub fn teredo_valid_from(&mut self, is_orig: bool) -> bool {
        let t = self.tunnel_mut();
        t.dirs |= if is_orig { 1 } else { 2 };
        t.dirs & 3 == 3
    }

    /// A tunnel packet analyzer raised a violation on this connection.
    pub fn tunnel_violated(&self) -> bool {
        self.tunnel.as_ref().is_some_and(|t| t.violated)
    }

    /// Records a tunnel analyzer's violation (`AnalyzerViolated`): it is not
    /// tried again on this connection.
    pub fn set_tunnel_violated(&mut self) {
        self.tunnel_mut().violated = true;
    }

    /// Tunnel parents in the order they were added.
    pub fn tunnel_parents(&self) -> impl Iterator<Item = &Uid> {
        self.tunnel.iter().flat_map(|t| t.parents.iter())
    }

    /// Zeek's `CheckEncapsulation`, plus the tunnel-parent bookkeeping of
    /// `conn/main.zeek` and the analysis-limit history letter.
    pub fn check_encap(&mut self, cfg: &ConnConfig, encap: &Encap, is_orig: bool) {
        let same = match &self.tunnel {
            Some(t) => t.encap == *encap,
            None => encap.depth == 0 && *encap == Encap::default(),
        };
        if same {
            return;
        }
        let limit = cfg.tunnel_max_changes;
        let t = self.tunnel.get_or_insert_with(Box::default);
        if encap.depth > 0 && t.encap.depth > 0 {
            if limit == 0 || t.changes < limit {
                t.changes += 1;
                if let Some(u) = encap.last_uid() {
                    t.add_parent(u);
                }
            } else {
                // Analysis limit: one letter per connection, cased by the packet's side.
                self.history
                    .check(bit::LIMIT, if is_orig { b'X' } else { b'x' });
            }
        } else if let Some(u) = encap.last_uid() {
            t.add_parent(u);
        }
        t.encap = *encap;
    }
}
