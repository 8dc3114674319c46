//! ICMP/ICMPv6 "ports": the message type, and the counterpart type or the code
//! (Zeek's `ICMP4_counterpart` / `ICMP6_counterpart` in `ICMP.cc`).

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
