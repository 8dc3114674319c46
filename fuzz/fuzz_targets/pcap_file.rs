//! A whole classic pcap file (any of the four magics) through the capture reader.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let magic = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    if !matches!(magic, 0xa1b2c3d4 | 0xd4c3b2a1 | 0xa1b23c4d | 0x4d3cb2a1) {
        return;
    }
    common::read_capture(data);
});
