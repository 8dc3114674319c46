//! The whole packet path: a sequence of timestamped frames through
//! `Engine::process` into a sink that drops everything (state-machine
//! panics, timer and table bugs), then `finish`.
//! Input: `[config bits][start time i64 LE, ns][link type selector]` then
//! records `[time step | wire-length extra][len u16 LE][frame]`.
#![no_main]
use connscope::capture::Packet;
use connscope::conn::ConnConfig;
use connscope::decode::frag::FragLimits;
use connscope::engine::{Engine, EngineConfig, RecordSink};
use connscope::output::weird_log::WeirdRecord;
use connscope::record::{ConnRecord, ConnSummary};
use connscope::time::Ts;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

struct Null;

impl RecordSink for Null {
    fn conn(&mut self, rec: ConnRecord) {
        std::hint::black_box(ConnSummary::of(&rec));
    }
    fn weird(&mut self, w: WeirdRecord) {
        std::hint::black_box(w);
    }
    fn interim(&mut self, rec: ConnRecord) {
        std::hint::black_box(ConnSummary::of(&rec));
    }
}

fn config(bits: u8) -> EngineConfig {
    let mut c = EngineConfig::default();
    if bits & 0x10 != 0 {
        c.conn = ConnConfig::zeek_bare();
    }
    c.conn.ignore_checksums = bits & 0x01 != 0;
    c.conn.flow_stats = bits & 0x02 != 0;
    if bits & 0x04 != 0 {
        c.max_conns = 4;
    }
    if bits & 0x08 != 0 {
        c.interim_interval = 60;
    }
    if bits & 0x20 != 0 {
        c.conn.community_id_seed = Some(0);
    }
    if bits & 0x40 != 0 {
        c.frag = FragLimits {
            max_datagrams: 2,
            max_bytes: 4096,
            timeout_secs: 2,
        };
    }
    if bits & 0x80 != 0 {
        c.stats_interval = 1;
        c.capture_loss_interval = 1;
    }
    c
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let cfg = config(data[0]);
    let mut t = i64::from_le_bytes(data[1..9].try_into().unwrap());
    let linktype = common::linktype_of(data[9]);
    let mut e = Engine::new(cfg, Null);
    for (tag, frame) in common::records(&data[10..]) {
        t = t.saturating_add(common::step_ns(tag & !3));
        let pkt = Packet {
            ts: Ts(t),
            wire_len: (frame.len() + (tag & 3) as usize * 100) as u32,
            linktype,
            data: frame,
        };
        e.process(&pkt);
    }
    e.finish();
    assert_eq!(e.open_conns(), 0);
});
