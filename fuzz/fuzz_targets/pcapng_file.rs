//! A whole pcapng file through the capture reader.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 || data[..4] != [0x0a, 0x0d, 0x0d, 0x0a] {
        return;
    }
    common::read_capture(data);
});
