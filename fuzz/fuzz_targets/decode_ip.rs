//! IPv4/IPv6 (extension headers, checksums) and the TCP/UDP/ICMP views.
//! The input is the IP packet; the wire length is the captured length, more
//! (a snaplen cut) and less (trailing link padding).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::ip_and_transport(data, data.len(), false);
    common::ip_and_transport(data, data.len() + 1500, true);
    common::ip_and_transport(data, data.len() / 2, true);
});
