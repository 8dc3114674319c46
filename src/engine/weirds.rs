//! The engine's weird reporting: decode weirds (no connection), flow
//! weirds (an address pair, Zeek's `flow_weird`), a connection's weirds,
//! and the sampling all of them share.
//!
//! Must not: decide when a weird is raised (the packet path does).

use super::{Engine, RecordSink};
use crate::conn::Conn;
use crate::decode::{Addr, Weird};
use crate::record::WeirdRecord;
use crate::time::Ts;
use std::collections::HashMap;

/// Weird sampling (Zeek's `Weird::sampling_threshold` / `sampling_rate`).
pub(super) struct WeirdSampler {
    pub(super) counts: HashMap<&'static str, u64>,
}

impl WeirdSampler {
    pub(super) fn allow(&mut self, name: &'static str) -> bool {
        let n = self.counts.entry(name).or_insert(0);
        *n += 1;
        *n <= 1000 || *n % 1000 == 0
    }
}

impl<S: RecordSink> Engine<S> {
    /// Reports a bound being hit (sampled like every weird; not a decode error).
    pub(super) fn limit_weird(&mut self, ts: Ts, w: Weird) {
        if self.weirds.allow(w.name()) {
            self.sink.weird(WeirdRecord {
                ts,
                uid: None,
                id: None,
                name: w.name(),
                addl: w.addl(),
                source: w.source(),
            });
        }
    }

    /// A weird about a pair of addresses rather than a connection (Zeek's
    /// `flow_weird`: `weird.zeek` logs both ports as 0).
    pub(super) fn flow_weird(&mut self, ts: Ts, w: Weird, src: Addr, dst: Addr) {
        if self.weirds.allow(w.name()) {
            self.sink.weird(WeirdRecord {
                ts,
                uid: None,
                id: Some((src, 0, dst, 0)),
                name: w.name(),
                addl: w.addl(),
                source: w.source(),
            });
        }
    }

    pub(super) fn weird(&mut self, ts: Ts, w: Weird, conn: Option<&Conn>) {
        self.stats.decode_errors += conn.is_none() as u64;
        if !self.weirds.allow(w.name()) {
            return;
        }
        let (uid, id) = match conn {
            Some(c) => (
                Some(c.uid.as_str().to_string()),
                Some((c.orig_h, c.orig_p, c.resp_h, c.resp_p)),
            ),
            None => (None, None),
        };
        self.sink.weird(WeirdRecord {
            ts,
            uid,
            id,
            name: w.name(),
            addl: w.addl(),
            source: w.source(),
        });
    }

    /// Reports the weirds a connection raised while processing a packet.
    pub(super) fn conn_weirds(&mut self, ts: Ts, slot: u32) {
        let Some((c, _)) = self.table.get(slot) else {
            return;
        };
        c.check_bounds();
        if !c.has_weirds() {
            return;
        }
        let uid = c.uid.as_str().to_string();
        let id = (c.orig_h, c.orig_p, c.resp_h, c.resp_p);
        let weirds: Vec<crate::conn::ConnWeird> = c.take_weirds().collect();
        for w in weirds {
            let name = w.name();
            self.stats.conn_state_limits += w.is_state_limit() as u64;
            if self.weirds.allow(name) {
                self.sink.weird(WeirdRecord {
                    ts,
                    uid: Some(uid.clone()),
                    id: Some(id),
                    name,
                    addl: None,
                    source: w.source(),
                });
            }
        }
    }
}
