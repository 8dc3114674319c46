//! `conn_state`, exactly as `conn_state()` in Zeek's `conn/main.zeek`.

use super::tcp::EndpointState as ES;
use super::{Conn, Transport};

/// Computes conn.log's `conn_state`.
pub fn conn_state(c: &Conn) -> &'static str {
    match c.transport {
        Transport::Tcp => {
            let os = c.tcp.orig.state;
            let rs = c.tcp.resp.state;
            let o_inactive = matches!(os, ES::Inactive | ES::Partial);
            let r_inactive = matches!(rs, ES::Inactive | ES::Partial);
            if rs == ES::Reset {
                let (osz, rsz) = c.sizes();
                if matches!(os, ES::SynSent | ES::SynAckSent)
                    || (os == ES::Reset && osz == 0 && rsz == 0)
                {
                    "REJ"
                } else if o_inactive {
                    "RSTRH"
                } else {
                    "RSTR"
                }
            } else if os == ES::Reset {
                if r_inactive {
                    if rstos0_history(c.history.as_bytes()) {
                        "RSTOS0"
                    } else {
                        "OTH"
                    }
                } else {
                    "RSTO"
                }
            } else if rs == ES::Closed && os == ES::Closed {
                "SF"
            } else if os == ES::Closed {
                if r_inactive {
                    "SH"
                } else {
                    "S2"
                }
            } else if rs == ES::Closed {
                if o_inactive {
                    "SHR"
                } else {
                    "S3"
                }
            } else if os == ES::SynSent && rs == ES::Inactive {
                "S0"
            } else if os == ES::Established && rs == ES::Established {
                "S1"
            } else {
                "OTH"
            }
        }
        Transport::Udp => {
            let (o, r) = c.udp_active();
            match (o, r) {
                (true, true) => "SF",
                (true, false) => "S0",
                (false, true) => "SHR",
                (false, false) => "OTH",
            }
        }
        _ => "OTH",
    }
}

/// Whether the history matches `^?S[^HAFGIQ]*R.*` (the whole string).
pub fn rstos0_history(h: &[u8]) -> bool {
    let h = h.strip_prefix(b"^").unwrap_or(h);
    let Some(rest) = h.strip_prefix(b"S") else {
        return false;
    };
    for &c in rest {
        if c == b'R' {
            return true;
        }
        if b"HAFGIQ".contains(&c) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rstos0_pattern() {
        assert!(rstos0_history(b"SR"));
        assert!(rstos0_history(b"^SsR"));
        assert!(rstos0_history(b"STRr"));
        assert!(!rstos0_history(b"SAR"));
        assert!(!rstos0_history(b"R"));
        assert!(!rstos0_history(b"S"));
        // Lower-case letters are the responder's and do not block the match.
        assert!(rstos0_history(b"ShR"));
    }
}
