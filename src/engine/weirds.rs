//! The engine's weird reporting: decode weirds (no connection), flow
//! weirds (an address pair, Zeek's `flow_weird`), a connection's weirds,
//! and the sampling all of them share.
//!
//! Must not: decide when a weird is raised (the packet path does).

use super::{Engine, RecordSink};
use crate::conn::{Conn, ConnWeird};
use crate::decode::{Addr, Weird};
use crate::record::WeirdRecord;
use crate::time::Ts;
use std::collections::HashMap;

/// Zeek's `Weird::sampling_threshold` (`scripts/base/init-bare.zeek`,
/// default 25): so many weirds of a name (per scope, below) are reported
/// before sampling starts.
pub(super) const SAMPLING_THRESHOLD: u64 = 25;
/// `Weird::sampling_rate` (1000): past the threshold, one in so many.
pub(super) const SAMPLING_RATE: u64 = 1000;
/// `Weird::sampling_duration` (10 min): how long a scope's counts live.
pub(super) const SAMPLING_DURATION_SECS: i64 = 600;

/// An address pair's weird counts by name and when the pair's state started.
type PairCounts = (Ts, HashMap<&'static str, u64>);

/// One scope's count of a weird name and when its state started.
#[derive(Clone, Copy, Debug)]
struct Count {
    n: u64,
    since: Ts,
}

/// Past the threshold, one in `SAMPLING_RATE` (`(count - threshold) %
/// rate == 0`, src/Reporter.cc and src/WeirdState.cc).
fn sampled(n: u64) -> bool {
    n <= SAMPLING_THRESHOLD || (n - SAMPLING_THRESHOLD) % SAMPLING_RATE == 0
}

/// Weird sampling as `src/Reporter.cc` does it, before `weird.zeek` sees
/// a weird: net weirds (no address) per name (`PermitNetWeird`: the name's
/// count is dropped `sampling_duration` after its first weird, by a
/// `NetWeirdTimer`); flow weirds per address pair and name
/// (`PermitFlowWeird`: the pair's counts are dropped `sampling_duration`
/// after the pair's first weird, `FlowWeirdTimer`); weirds on a connection
/// per connection and name (`Connection::PermitWeird`, `WeirdState.cc`:
/// once past the threshold for longer than `sampling_duration`, the count
/// starts again at 1). A connection's own weirds (`ConnWeird`) are raised
/// once per connection and name, so never sampled (connscope's own
/// `connscope_*` bounds excepted: per name, as net weirds); the decode weirds
/// raised on a connection (the TCP header's) are counted per 5-tuple.
/// Expired scopes are purged when a table has doubled since its last
/// purge, so the tables hold at most about twice the scopes of ten minutes.
#[derive(Default)]
pub(super) struct WeirdSampler {
    net: HashMap<&'static str, Count>,
    flow: HashMap<(Addr, Addr), PairCounts>,
    conn: HashMap<(Addr, u16, Addr, u16, &'static str), Count>,
    flow_mark: usize,
    conn_mark: usize,
}

impl WeirdSampler {
    /// A net weird: per name.
    pub(super) fn allow_net(&mut self, now: Ts, name: &'static str) -> bool {
        let c = self.net.entry(name).or_insert(Count { n: 0, since: now });
        if c.n > 0 && now >= c.since.plus_secs(SAMPLING_DURATION_SECS) {
            *c = Count { n: 0, since: now };
        }
        c.n += 1;
        sampled(c.n)
    }

    /// A flow weird: per address pair (in the order given) and name.
    pub(super) fn allow_pair(&mut self, now: Ts, name: &'static str, src: Addr, dst: Addr) -> bool {
        if self.flow.len() >= 2 * self.flow_mark.max(1024) {
            self.flow
                .retain(|_, (since, _)| now < since.plus_secs(SAMPLING_DURATION_SECS));
            self.flow_mark = self.flow.len();
        }
        let (since, names) = self.flow.entry((src, dst)).or_insert((now, HashMap::new()));
        if now >= since.plus_secs(SAMPLING_DURATION_SECS) {
            *since = now;
            names.clear();
        }
        let n = names.entry(name).or_insert(0);
        *n += 1;
        sampled(*n)
    }

    /// A decode weird raised on a connection: per 5-tuple and name
    /// (`WeirdState.cc`'s `PermitWeird`).
    pub(super) fn allow_conn(
        &mut self,
        now: Ts,
        name: &'static str,
        id: (Addr, u16, Addr, u16),
    ) -> bool {
        let dur = SAMPLING_DURATION_SECS;
        if self.conn.len() >= 2 * self.conn_mark.max(1024) {
            self.conn
                .retain(|_, c| c.n <= SAMPLING_THRESHOLD || now < c.since.plus_secs(dur));
            self.conn_mark = self.conn.len();
        }
        let c = self
            .conn
            .entry((id.0, id.1, id.2, id.3, name))
            .or_insert(Count { n: 0, since: now });
        c.n += 1;
        if c.n <= SAMPLING_THRESHOLD {
            return true;
        }
        if c.n == SAMPLING_THRESHOLD + 1 {
            c.since = now;
        } else if now > c.since.plus_secs(dur) {
            *c = Count { n: 1, since: now };
            return true;
        }
        sampled(c.n)
    }
}

impl<S: RecordSink> Engine<S> {
    /// Reports a bound being hit (sampled like every weird; not a decode error).
    pub(super) fn limit_weird(&mut self, ts: Ts, w: Weird) {
        if w.logged() && self.weirds.allow_net(ts, w.name()) {
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
        if w.logged() && self.weirds.allow_pair(ts, w.name(), src, dst) {
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
        if !w.logged() {
            return;
        }
        let allowed = match conn {
            Some(c) => {
                self.weirds
                    .allow_conn(ts, w.name(), (c.orig_h, c.orig_p, c.resp_h, c.resp_p))
            }
            None => self.weirds.allow_net(ts, w.name()),
        };
        if !allowed {
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
        let weirds: Vec<ConnWeird> = c.take_weirds().collect();
        for w in weirds {
            let name = w.name();
            self.stats.conn_state_limits += w.is_state_limit() as u64;
            // connscope's own bounds (`connscope_*`: table evictions, folded
            // ranges, the history bound) can fire on every connection of a
            // flood: sampled per name like a net weird, so a flood cannot
            // turn into a weird.log row per connection.
            if w.is_own_bound() && !self.weirds.allow_net(ts, name) {
                continue;
            }
            let addl = match w {
                // udp/UDP.cc `DeliverPacket`: `adapter->Weird(
                // "UDP_datagram_length_mismatch", util::fmt("%d != %d",
                // ulen, len))`, the UDP length and the IP payload length.
                ConnWeird::UdpDatagramLengthMismatch => self
                    .udp_lengths
                    .iter()
                    .find(|e| e.0 == slot)
                    .map(|&(_, ulen, len)| format!("{ulen} != {len}")),
                _ => None,
            };
            self.sink.weird(WeirdRecord {
                ts,
                uid: Some(uid.clone()),
                id: Some(id),
                name,
                addl,
                source: w.source(),
            });
        }
    }
}
