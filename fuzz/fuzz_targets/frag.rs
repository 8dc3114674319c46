//! Fragment reassembly over a sequence of IP packets with their times.
//! Input: `[limits selector]` then records `[time step][len u16 LE][IP packet]`
//! (see `common::records`, `common::step_ns`).
#![no_main]
use connscope::decode::frag::{FragLimits, Reassembler};
use connscope::decode::ip;
use connscope::time::Ts;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    // Small limits on odd selectors, so the limits are reached.
    let limits = if sel & 1 == 1 {
        FragLimits {
            max_datagrams: 1 + (sel as usize >> 1) % 8,
            max_bytes: 1 << (6 + (sel >> 4)),
            timeout_secs: 1 + (sel >> 3) as i64 % 4,
        }
    } else {
        FragLimits::default()
    };
    let mut r = Reassembler::new(limits);
    let mut now = Ts(1_704_067_200 * 1_000_000_000);
    let mut last_expire = now;
    for (tag, pkt) in common::records(rest) {
        now = Ts(now.0.saturating_add(common::step_ns(tag)));
        if now.0.saturating_sub(last_expire.0) >= 1_000_000_000 || now < last_expire {
            r.expire(now);
            last_expire = now;
        }
        let Ok(p) = ip::parse(pkt, pkt.len(), true) else {
            continue;
        };
        if p.frag.is_none() || !p.fully_captured() {
            continue;
        }
        if let Ok(Some(whole)) = r.add(now, &p) {
            let whole = whole.to_vec();
            common::ip_and_transport(&whole, whole.len(), true);
        }
        assert!(
            r.bytes() <= limits.max_bytes,
            "buffered bytes over the limit"
        );
        assert!(
            r.pending() <= limits.max_datagrams,
            "datagrams over the limit"
        );
    }
    r.expire(Ts(i64::MAX));
    assert_eq!(r.pending(), 0);
    assert_eq!(r.bytes(), 0, "bytes accounting leaks");
});
