//! ICMP/ICMPv6 "ports": the message type, and the counterpart type or the code
//! (Zeek's `ICMP4_counterpart` / `ICMP6_counterpart` in `ICMP.cc`), and the
//! message-level weirds Zeek's ICMP analyzer raises whether or not a script
//! handles the message's event (MLD, `ICMPAnalyzer::MLDReport[V2]`).

use super::weird::ConnWeird;

/// The weird Zeek's ICMPv6 analyzer raises for a message (checksum already
/// accepted), from its captured bytes `msg` (the 8-byte header first):
/// an MLDv1 report or done (131, 132) needs the 16-byte group address after
/// the header (`truncated_ICMPv6_MLDv1`); an MLDv2 report (143) needs 20
/// bytes per record its header announces (`truncated_ICMPv6_MLDv2`), and
/// each record, walked while bytes remain, its 4-byte head, then the group
/// address, 16 bytes per source and its auxiliary data (4 bytes per word)
/// (`truncated_ICMPv6_MLDv2_record`, which ends the walk).
pub fn icmp6_weird(msg: &[u8]) -> Option<ConnWeird> {
    let (head, body) = (msg.get(..8)?, msg.get(8..)?);
    match head[0] {
        131 | 132 if body.len() < 16 => Some(ConnWeird::TruncatedIcmpv6Mldv1),
        143 => {
            let records = usize::from(u16::from_be_bytes([head[6], head[7]]));
            if body.len() < records * 20 {
                return Some(ConnWeird::TruncatedIcmpv6Mldv2);
            }
            let mut rest = body;
            for _ in 0..records {
                if rest.is_empty() {
                    break;
                }
                let Some(rec) = rest.get(..4) else {
                    return Some(ConnWeird::TruncatedIcmpv6Mldv2Record);
                };
                let aux = usize::from(rec[1]) * 4;
                let sources = usize::from(u16::from_be_bytes([rec[2], rec[3]]));
                let need = 4 + 16 + sources * 16 + aux;
                match rest.get(need..) {
                    Some(r) => rest = r,
                    None => return Some(ConnWeird::TruncatedIcmpv6Mldv2Record),
                }
            }
            None
        }
        _ => None,
    }
}

/// `(orig_p, resp_p, one_way)` for an ICMPv4 message.
pub fn ports_v4(icmp_type: u8, code: u8) -> (u16, u16, bool) {
    let counterpart = match icmp_type {
        8 => Some(0),
        0 => Some(8),
        13 => Some(14),
        14 => Some(13),
        15 => Some(16),
        16 => Some(15),
        10 => Some(9),
        9 => Some(10),
        17 => Some(18),
        18 => Some(17),
        _ => None,
    };
    match counterpart {
        Some(c) => (icmp_type as u16, c, false),
        None => (icmp_type as u16, code as u16, true),
    }
}

/// `(orig_p, resp_p, one_way)` for an ICMPv6 message.
pub fn ports_v6(icmp_type: u8, code: u8) -> (u16, u16, bool) {
    let counterpart = match icmp_type {
        128 => Some(129),
        129 => Some(128),
        133 => Some(134),
        134 => Some(133),
        135 => Some(136),
        136 => Some(135),
        130 => Some(131),
        131 => Some(130),
        139 => Some(140),
        140 => Some(139),
        144 => Some(145),
        145 => Some(144),
        _ => None,
    };
    match counterpart {
        Some(c) => (icmp_type as u16, c, false),
        None => (icmp_type as u16, code as u16, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_pairs_and_one_way() {
        assert_eq!(ports_v4(8, 0), (8, 0, false));
        assert_eq!(ports_v4(0, 0), (0, 8, false));
        assert_eq!(ports_v4(3, 3), (3, 3, true));
        assert_eq!(ports_v6(135, 0), (135, 136, false));
        assert_eq!(ports_v6(1, 4), (1, 4, true));
    }
}
