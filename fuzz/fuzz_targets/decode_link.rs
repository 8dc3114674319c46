//! Every link type through `decode::link::decode`, then the IP packet found.
//! Input: `[link type selector][frame]` (selector indexes `common::LINKTYPES`).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let lt = common::linktype_of(sel);
    if let Ok(Some(l3)) = connscope::decode::link::decode(lt, frame) {
        assert!(l3.link_len + l3.ip.len() <= frame.len() || l3.ip.is_empty());
        common::ip_and_transport(l3.ip, frame.len().saturating_sub(l3.link_len), true);
    }
    std::hint::black_box(connscope::engine::shard_hash(lt, frame));
});
