//! Payload chunks in both directions through `conn::service::ServiceState`
//! (every analyzer, signatures, flips, gaps) on a TCP or UDP connection.
//! Input: `[transport/flags][resp port selector]` then records
//! `[direction/event][len u16 LE][payload]`.
#![no_main]
use connscope::conn::service::{ServiceSet, ServiceState, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// Responder ports with analyzers registered (selector indexes it), and
/// some without.
const PORTS: [u16; 58] = [
    21, 22, 25, 53, 80, 135, 443, 502, 514, 587, 3389, 6379, 6667, 8080, 993, 2811, // TCP
    88, 139, 143, 389, 445, 1883, 3306, 5222, 5432, 20000, // TCP (more analyzers)
    53, 137, 5353, 5355, 67, 68, 4011, 123, 443, 514, 3389, // UDP
    161, 162, 1812, 5060, 389, 88, 20000, 443, // UDP (more analyzers)
    1, 4242, 10625, 40000, 65535, 0, 8000, 631, 1080, 3128, 8888, 995, 5223,
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let flags = data[0];
    let t = if flags & 1 == 1 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let resp_port = PORTS[data[1] as usize % PORTS.len()];
    let enabled = if flags & 2 == 0 {
        ServiceSet::all()
    } else {
        ServiceSet(u64::from(data[1]) << 8 | u64::from(flags) | u64::from(data[1]) << 32)
    };
    let mut s = ServiceState::new(enabled, t, 40000, resp_port);
    s.set_partial(flags & 4 != 0);
    s.set_resp_multicast(flags & 8 != 0);
    let mut expects = Vec::new();
    for (tag, payload) in common::records(&data[2..]) {
        let is_orig = tag & 1 == 0;
        if tag & 0x80 != 0 && t == Transport::Tcp {
            s.on_gap(is_orig);
        }
        let v = s.on_payload_expecting(is_orig, payload, &mut expects);
        assert!(expects.len() <= 1024);
        if v.flip {
            s.flip();
        }
        if tag & 0x40 != 0 {
            std::hint::black_box(s.wants_payload());
        }
    }
    assert!(s.services().count() <= 32);
    std::hint::black_box(s.dns_query());
});
