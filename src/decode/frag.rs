//! Bounded IP fragment reassembly.
//!
//! Owns datagrams under reassembly, keyed by (source, destination, IP id,
//! version). Limits: concurrent reassemblies, bytes buffered overall, and a
//! timeout on network time (Zeek's `frag_timeout`). When a datagram completes,
//! [`Reassembler::add`] returns the whole datagram as a fresh IP packet (header
//! rebuilt, no longer a fragment), to be parsed again by [`super::ip::parse`].
//! When the pool is full (datagrams or bytes), the oldest datagram under
//! reassembly is dropped to make room (counted in `evicted`, weird
//! `connscope_frag_evicted`), so a flood of fragments that never complete
//! cannot starve the datagrams that do. A datagram is tracked in at most
//! [`MAX_PIECES`] disjoint pieces (more: dropped, `connscope_frag_too_many_pieces`).

use super::ip::IpPacket;
use super::{fold, ones_sum, Addr, Weird};
use crate::time::Ts;
use std::collections::{HashMap, VecDeque};

/// Disjoint byte ranges tracked per datagram (in-order fragments merge into
/// one; only out-of-order or overlapping ones add pieces).
pub const MAX_PIECES: usize = 64;

/// Limits for reassembly.
#[derive(Clone, Copy, Debug)]
pub struct FragLimits {
    /// Maximum datagrams under reassembly at once.
    pub max_datagrams: usize,
    /// Maximum bytes buffered over all datagrams.
    pub max_bytes: usize,
    /// Seconds after the first fragment before a datagram is abandoned.
    pub timeout_secs: i64,
}

impl Default for FragLimits {
    fn default() -> Self {
        FragLimits {
            max_datagrams: 8192,
            max_bytes: 64 << 20,
            timeout_secs: 300,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: Addr,
    dst: Addr,
    id: u32,
    v6: bool,
}

struct Datagram {
    first_ts: Ts,
    /// Creation number (the age queue's entries of dropped datagrams are stale).
    serial: u64,
    /// Header of the first fragment (offset 0), unfragmentable part only.
    header: Vec<u8>,
    /// IPv6: offset in `header` of the byte holding the next-header value to patch.
    v6_next_byte: usize,
    /// Transport protocol (from the fragment header / IPv4 header).
    proto: u8,
    data: Vec<u8>,
    /// Covered byte ranges, sorted and merged.
    have: Vec<(u32, u32)>,
    /// Total data length once the last fragment is seen.
    total: Option<u32>,
}

/// The reassembly pool.
pub struct Reassembler {
    limits: FragLimits,
    pending: HashMap<Key, Datagram>,
    /// Datagrams in creation order, `(serial, key)`; stale entries are skipped.
    age: VecDeque<(u64, Key)>,
    next_serial: u64,
    bytes: usize,
    out: Vec<u8>,
    /// Fragments dropped because a limit was reached.
    pub dropped: u64,
    /// Datagrams abandoned after the timeout.
    pub timed_out: u64,
    /// Datagrams dropped to make room (the pool was full).
    pub evicted: u64,
}

impl Reassembler {
    /// A pool with the given limits.
    pub fn new(limits: FragLimits) -> Self {
        Reassembler {
            limits,
            pending: HashMap::new(),
            age: VecDeque::new(),
            next_serial: 0,
            bytes: 0,
            out: Vec::new(),
            dropped: 0,
            timed_out: 0,
            evicted: 0,
        }
    }

    /// Bytes buffered in datagrams under reassembly.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Datagrams currently under reassembly.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Drops datagrams older than the timeout at time `now`.
    pub fn expire(&mut self, now: Ts) {
        if self.pending.is_empty() {
            return;
        }
        let limit = self.limits.timeout_secs;
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, d| {
            let keep = now < d.first_ts.plus_secs(limit);
            if !keep {
                freed += d.data.len();
            }
            keep
        });
        self.bytes -= freed;
        self.timed_out += (before - self.pending.len()) as u64;
        self.prune_age();
    }

    /// Drops stale age entries at the front, and compacts the queue when
    /// most of it is stale (amortised O(1) per datagram).
    fn prune_age(&mut self) {
        while let Some((serial, key)) = self.age.front() {
            if self.pending.get(key).is_some_and(|d| d.serial == *serial) {
                break;
            }
            self.age.pop_front();
        }
        if self.age.len() > 2 * self.pending.len() + 64 {
            let pending = &self.pending;
            self.age
                .retain(|(serial, key)| pending.get(key).is_some_and(|d| d.serial == *serial));
        }
    }

    /// Drops the oldest datagram under reassembly (not `keep`). Returns
    /// whether one was dropped.
    fn evict_oldest(&mut self, keep: &Key) -> bool {
        self.prune_age();
        let mut i = 0;
        while let Some(&(serial, key)) = self.age.get(i) {
            let live = self.pending.get(&key).is_some_and(|d| d.serial == serial);
            if live && key != *keep {
                self.age.remove(i);
                if let Some(d) = self.pending.remove(&key) {
                    self.bytes -= d.data.len();
                }
                self.evicted += 1;
                return true;
            }
            i += 1;
        }
        false
    }

    fn drop_datagram(&mut self, key: &Key) {
        if let Some(d) = self.pending.remove(key) {
            self.bytes -= d.data.len();
        }
    }

    /// Adds a fragment (which must be fully captured). Returns the complete
    /// datagram as IP packet bytes when this fragment completes it.
    pub fn add(&mut self, now: Ts, ip: &IpPacket<'_>) -> Result<Option<&[u8]>, Weird> {
        let Some(fi) = ip.frag else { return Ok(None) };
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            id: fi.id,
            v6: ip.is_v6,
        };
        let start = fi.offset;
        let len = ip.payload.len() as u32;
        let end = start.saturating_add(len);
        if end > 65535 + 8 {
            return Err(Weird::FragmentLimit);
        }
        // A datagram dropped to make room is counted in `evicted` (the
        // caller reports it); the fragment is still taken.
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= self.limits.max_datagrams
                && (self.limits.max_datagrams == 0 || !self.evict_oldest(&key))
            {
                self.dropped += 1;
                return Err(Weird::FragmentLimit);
            }
            let serial = self.next_serial;
            self.next_serial += 1;
            self.age.push_back((serial, key));
            self.pending.insert(
                key,
                Datagram {
                    first_ts: now,
                    serial,
                    header: Vec::new(),
                    v6_next_byte: 0,
                    proto: ip.proto,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                },
            );
        }
        let grow = {
            let d = &self.pending[&key];
            (end as usize).saturating_sub(d.data.len())
        };
        while self.bytes + grow > self.limits.max_bytes {
            if !self.evict_oldest(&key) {
                if self.pending.get(&key).is_some_and(|d| d.data.is_empty()) {
                    self.drop_datagram(&key);
                }
                self.dropped += 1;
                return Err(Weird::FragmentLimit);
            }
        }
        let Some(d) = self.pending.get_mut(&key) else {
            return Ok(None);
        };
        if d.data.len() < end as usize {
            d.data.resize(end as usize, 0);
            self.bytes += grow;
        }
        d.data[start as usize..end as usize].copy_from_slice(ip.payload);
        if start == 0 {
            if ip.is_v6 {
                // Unfragmentable part: everything before the fragment header.
                let fo = ip.v6_frag_next_off;
                d.header.clear();
                d.header
                    .extend_from_slice(&ip.header[..fo.min(ip.header.len())]);
                d.v6_next_byte = v6_next_header_byte(&d.header);
            } else {
                d.header.clear();
                d.header.extend_from_slice(ip.header);
            }
            d.proto = ip.proto;
        }
        if !fi.more {
            d.total = Some(end);
        }
        insert_range(&mut d.have, start, end);
        if d.have.len() > MAX_PIECES {
            self.drop_datagram(&key);
            return Err(Weird::FragTooManyPieces);
        }
        let complete = match d.total {
            Some(t) => d.have.len() == 1 && d.have[0] == (0, t) && !d.header.is_empty(),
            None => false,
        };
        if !complete {
            return Ok(None);
        }
        let Some(d) = self.pending.remove(&key) else {
            return Ok(None);
        };
        self.bytes -= d.data.len();
        let total = d.total.unwrap_or(0) as usize;
        self.out.clear();
        self.out.extend_from_slice(&d.header);
        if key.v6 {
            // Wraps past 65,535 as Zeek's `htons(frag_size + proto_hdr_len - 40)`
            // does (`src/Frag.cc`); the re-parse then rejects the datagram.
            let plen = (d.header.len() - 40 + total) as u16;
            self.out[4..6].copy_from_slice(&plen.to_be_bytes());
            if d.v6_next_byte < self.out.len() {
                self.out[d.v6_next_byte] = d.proto;
            }
        } else {
            let tl = (d.header.len() + total).min(65535) as u16;
            self.out[2..4].copy_from_slice(&tl.to_be_bytes());
            self.out[6] = 0;
            self.out[7] = 0;
            self.out[10] = 0;
            self.out[11] = 0;
            let c = !fold(ones_sum(&self.out[..d.header.len()], 0));
            self.out[10..12].copy_from_slice(&c.to_be_bytes());
        }
        self.out.extend_from_slice(&d.data[..total]);
        Ok(Some(&self.out))
    }
}

/// Zeek's smallest and largest acceptable fragments (`src/Frag.cc`).
const MIN_ACCEPTABLE_FRAG_SIZE: u32 = 64;
const MAX_ACCEPTABLE_FRAG_SIZE: u32 = 64_000;

/// The weirds Zeek's `FragReassembler::AddFragment` (`src/Frag.cc`) raises
/// for a fully captured fragment, in its order: `fragment_with_DF` (IPv4
/// don't-fragment bit), `excessively_small_fragment` (more fragments follow
/// and the IP total length is below 64), `excessively_large_fragment` (the
/// fragment's data ends past byte 64,000 of its datagram: offset plus the
/// bytes after all its headers). Zeek reports them as flow weirds (the
/// packet's source and destination addresses).
pub fn fragment_weirds(ip: &IpPacket<'_>) -> [Option<Weird>; 3] {
    let Some(f) = ip.frag else {
        return [None; 3];
    };
    let df = !ip.is_v6 && ip.header.get(6).is_some_and(|b| b & 0x40 != 0);
    let small = f.more && ip.total_len < MIN_ACCEPTABLE_FRAG_SIZE;
    let upper = u64::from(f.offset) + u64::from(ip.payload_len);
    let large = upper > u64::from(MAX_ACCEPTABLE_FRAG_SIZE);
    [
        df.then_some(Weird::FragmentWithDf),
        small.then_some(Weird::ExcessivelySmallFragment),
        large.then_some(Weird::ExcessivelyLargeFragment),
    ]
}

/// In an IPv6 header chain (fixed header + extension headers, without the
/// fragment header), the offset of the next-header byte that named the fragment header.
fn v6_next_header_byte(h: &[u8]) -> usize {
    let mut pos = 6; // fixed header's next-header field
    let mut next = h.get(6).copied().unwrap_or(44);
    let mut off = 40;
    while off < h.len() && next != 44 {
        pos = off;
        next = h[off];
        let len = if h.get(pos).is_some() && next == 51 {
            (h.get(off + 1).copied().unwrap_or(0) as usize + 2) * 4
        } else {
            (h.get(off + 1).copied().unwrap_or(0) as usize + 1) * 8
        };
        off += len;
    }
    pos
}

fn insert_range(have: &mut Vec<(u32, u32)>, start: u32, end: u32) {
    if start >= end {
        return;
    }
    // `have` is sorted and merged: find the first range that could touch
    // [start, end], merge every touching one into it, in place.
    let i = have.partition_point(|&(_, e)| e < start);
    let mut j = i;
    let (mut s, mut e) = (start, end);
    while j < have.len() && have[j].0 <= e {
        s = s.min(have[j].0);
        e = e.max(have[j].1);
        j += 1;
    }
    if i == j {
        have.insert(i, (s, e));
    } else {
        have[i] = (s, e);
        have.drain(i + 1..j);
    }
}

#[cfg(test)]
mod tests {
    use super::super::ip;
    use super::*;

    fn frag(id: u16, off: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let ff = (off / 8) | if more { 0x2000 } else { 0 };
        let mut v = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            (id >> 8) as u8,
            id as u8,
            (ff >> 8) as u8,
            ff as u8,
            64,
            17,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
        ];
        let c = !fold(ones_sum(&v, 0));
        v[10..12].copy_from_slice(&c.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn reassembles_out_of_order_fragments() {
        let data: Vec<u8> = (0..40u8).collect();
        let mut r = Reassembler::new(FragLimits::default());
        let f2 = frag(7, 16, true, &data[16..32]);
        let f3 = frag(7, 32, false, &data[32..]);
        let f1 = frag(7, 0, true, &data[..16]);
        for f in [&f2, &f3] {
            let p = ip::parse(f, f.len(), false).unwrap();
            assert!(r.add(Ts(0), &p).unwrap().is_none());
        }
        let p = ip::parse(&f1, f1.len(), false).unwrap();
        let whole = r.add(Ts(1), &p).unwrap().unwrap().to_vec();
        let ip = ip::parse(&whole, whole.len(), false).unwrap();
        assert!(ip.frag.is_none());
        assert_eq!(ip.total_len, 60);
        assert_eq!(ip.payload, &data[..]);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn limits_and_timeout() {
        let mut r = Reassembler::new(FragLimits {
            max_datagrams: 1,
            max_bytes: 1 << 20,
            timeout_secs: 5,
        });
        let a = frag(1, 0, true, &[0; 16]);
        let b = frag(2, 0, true, &[0; 16]);
        let pa = ip::parse(&a, a.len(), false).unwrap();
        let pb = ip::parse(&b, b.len(), false).unwrap();
        assert!(r.add(Ts(0), &pa).unwrap().is_none());
        // Full: the oldest datagram (a) makes room for b.
        assert!(r.add(Ts(0), &pb).unwrap().is_none());
        assert_eq!((r.pending(), r.evicted), (1, 1));
        r.expire(Ts(5_000_000_000));
        assert_eq!(r.pending(), 0);
        assert_eq!(r.timed_out, 1);
        assert!(r.add(Ts(6), &pb).unwrap().is_none());
    }

    #[test]
    fn byte_limit_evicts_oldest_and_pieces_are_bounded() {
        let mut r = Reassembler::new(FragLimits {
            max_datagrams: 100,
            max_bytes: 40,
            timeout_secs: 5,
        });
        for id in 0..5u16 {
            let f = frag(id, 0, true, &[0; 16]);
            let p = ip::parse(&f, f.len(), false).unwrap();
            assert!(r.add(Ts(0), &p).unwrap().is_none());
            assert!(r.bytes() <= 40);
        }
        assert_eq!((r.pending(), r.evicted), (2, 3));
        // One datagram in many disjoint pieces is dropped at the bound.
        let mut r = Reassembler::new(FragLimits::default());
        let mut err = None;
        for i in 0..(MAX_PIECES as u16 + 1) {
            let f = frag(9, i * 16, true, &[0; 8]);
            let p = ip::parse(&f, f.len(), false).unwrap();
            if let Err(e) = r.add(Ts(0), &p) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(Weird::FragTooManyPieces));
        assert_eq!((r.pending(), r.bytes()), (0, 0));
    }

    #[test]
    fn insert_range_merges_like_sort_and_merge() {
        let mut rng = 7u64;
        for _ in 0..200 {
            let mut have = Vec::new();
            let mut model: Vec<(u32, u32)> = Vec::new();
            for _ in 0..20 {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let s = ((rng >> 33) % 200) as u32;
                let e = s + ((rng >> 20) % 30) as u32;
                insert_range(&mut have, s, e);
                if s < e {
                    model.push((s, e));
                    model.sort_unstable();
                    let mut m: Vec<(u32, u32)> = Vec::new();
                    for &(a, b) in &model {
                        match m.last_mut() {
                            Some(l) if a <= l.1 => l.1 = l.1.max(b),
                            _ => m.push((a, b)),
                        }
                    }
                    model = m;
                }
                assert_eq!(have, model);
            }
        }
    }
}
