//! The encapsulation stack of a packet (tunnel kinds and uids).
//!
//! Must not: decode tunnels (the decode stage does).

use super::uid::Uid;
use crate::decode::tunnel::TunnelKind;

/// One layer of encapsulation: the tunnel kind and its uid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EncapLayer {
    /// Tunnel kind (None = unused slot).
    pub kind: Option<TunnelKind>,
    /// The tunnel's uid (conn uid for UDP tunnels).
    pub uid: Option<Uid>,
}

/// Maximum tunnel nesting (Zeek's `Tunnel::max_depth`).
pub const MAX_TUNNEL_DEPTH: usize = 2;

/// The encapsulation stack of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Encap {
    /// Layers, outermost first.
    pub layers: [EncapLayer; MAX_TUNNEL_DEPTH],
    /// Number of layers.
    pub depth: u8,
}

impl Encap {
    /// The innermost tunnel's uid.
    pub fn last_uid(&self) -> Option<Uid> {
        if self.depth == 0 {
            None
        } else {
            self.layers[self.depth as usize - 1].uid
        }
    }
    /// Adds a layer; false when the depth limit is reached.
    pub fn push(&mut self, kind: TunnelKind, uid: Uid) -> bool {
        if self.depth as usize >= MAX_TUNNEL_DEPTH {
            return false;
        }
        self.layers[self.depth as usize] = EncapLayer {
            kind: Some(kind),
            uid: Some(uid),
        };
        self.depth += 1;
        true
    }
}
