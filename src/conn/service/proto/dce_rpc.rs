//! DCE/RPC over TCP: length-framed v5 PDUs, and the authentication
//! verifiers handed to the GSSAPI / NTLM / KRB children (through `smb`).
//!
//! Must not: parse a PDU's body beyond its authentication verifier.

use super::{smb, Events, Framed, Step};
use crate::conn::service::Service;

/// DCE/RPC (`src/analyzer/protocol/dce-rpc/`): attached on 135/tcp or by
/// `dpd_dce_rpc`. Confirms on a complete PDU with a v5 header; another
/// header is a violation. Authentication verifiers (bind, alter context,
/// requests) confirm the GSSAPI, NTLM or KRB child.
pub(super) fn dce_rpc(f: &mut Framed<10>, data: &[u8], ev: &mut Events) -> Step {
    if f.hlen == 0 && f.skip == 0 {
        // Whole PDUs from the start of the payload: their authentication
        // verifiers go to GSSAPI / NTLM / KRB (`forward_auth`).
        let mut p = 0;
        while let Some(n) = data.get(p..).and_then(smb::dce_pdu_len) {
            let Some(pdu) = data.get(p..p + n) else { break };
            smb::dce_auth(pdu, Service::DceRpc, ev);
            p += n;
        }
    }
    f.run(data, Service::DceRpc, ev, |h| {
        if h[0] != 5 || h[1] > 1 || h[2] > 19 {
            return None;
        }
        let frag = if h[4] & 0x10 != 0 {
            u16::from_le_bytes([h[8], h[9]])
        } else {
            u16::from_be_bytes([h[8], h[9]])
        };
        if frag < 16 {
            return None;
        }
        Some(u32::from(frag) - 10)
    })
}
