//! One connection's dns.log state: Zeek's `base/protocols/dns/main.zeek`
//! (`set_session`, the pending query/reply queues per transaction id,
//! `do_reply`, `dns_end`, `finalize_dns`) driven by the message parser, and
//! the TCP 2-byte length framing of `Contents_DNS`.
//!
//! Owns the per-connection pairing of queries and replies. Must not see
//! other connections, read a clock (time is passed in), or panic on any
//! payload. Allocates only what a dns.log row needs (its text arena), a
//! buffer for a TCP message split over segments, and the session itself.
//!
//! Bounds (Zeek's options): at most [`MAX_PENDING_QUERY_IDS`] + 1
//! transaction ids with unmatched messages per direction of pairing, each
//! with at most [`MAX_PENDING_MSGS`] + 1 messages; past that the unmatched
//! ones are logged and forgotten, as Zeek does. A TCP message is at most
//! 65535 bytes.

use super::record::{DnsOut, DnsRecord, NameBatch, Span};
use super::rr::{self, MsgCtx, Rr, RrOut, Section};
use super::wire::{Cursor, Header, Name};
use super::DnsConfig;
use crate::conn::uid::Uid;
use crate::decode::Addr;
use crate::time::Ts;

/// `DNS::max_pending_query_ids`.
pub const MAX_PENDING_QUERY_IDS: usize = 50;
/// `DNS::max_pending_msgs`.
pub const MAX_PENDING_MSGS: usize = 50;
/// `dns_max_queries`: more questions is an analyzer violation.
pub const MAX_QUERIES: u16 = 25;
/// `DPD::ignore_violations_after`: later violations do not remove the analyzer.
const IGNORE_VIOLATIONS_AFTER: u64 = 10 * 1024;

/// The connection as the DNS scripts see it at a message.
#[derive(Clone, Copy, Debug)]
pub struct ConnCtx {
    /// uid.
    pub uid: Uid,
    /// `(orig_h, orig_p, resp_h, resp_p)` (current roles).
    pub id: (Addr, u16, Addr, u16),
    /// TCP, else UDP.
    pub tcp: bool,
}

/// A `DNS::Info` and who holds it.
#[derive(Clone, Debug)]
struct Info {
    rec: DnsRecord,
    saw_query: bool,
    saw_reply: bool,
    /// Holders: `c$dns` and the pending slot/queues.
    refs: u8,
}

/// TCP framing of one endpoint's stream (`Contents_DNS`).
#[derive(Clone, Debug, Default)]
struct Frame {
    /// 0: expecting the high length byte, 1: the low one, 2: the body.
    state: u8,
    size: usize,
    /// Body bytes of a message split over segments.
    buf: Vec<u8>,
}

/// One connection's DNS state.
#[derive(Clone, Debug, Default)]
pub struct Session {
    infos: Vec<Option<Info>>,
    free: Vec<u32>,
    /// `c$dns`.
    cur: Option<u32>,
    /// `c$dns_state$pending_query`.
    pending_query: Option<u32>,
    /// `pending_queries`: transaction id → queue, in insertion order.
    pending_queries: Vec<(u16, std::collections::VecDeque<u32>)>,
    /// `pending_replies`.
    pending_replies: Vec<(u16, std::collections::VecDeque<u32>)>,
    /// TCP framing; `frames[0]` belongs to the endpoint in `first`.
    frames: [Frame; 2],
    first: Option<(Addr, u16)>,
    /// Removed after an analyzer violation.
    disabled: bool,
    /// Payload bytes seen (for `DPD::ignore_violations_after`).
    seen: u64,
    /// Answer text of the record being parsed (reused).
    text: Vec<u8>,
}

/// Where the records go.
pub type Emit<'a> = &'a mut dyn FnMut(DnsOut);

/// Which pending table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Queries,
    Replies,
}

impl Session {
    /// Payload of the connection: one UDP datagram, or new TCP stream bytes
    /// from `sender` (framed into messages here).
    pub fn payload(
        &mut self,
        cfg: &DnsConfig,
        ctx: &ConnCtx,
        now: Ts,
        sender: (Addr, u16),
        data: &[u8],
        out: Emit<'_>,
    ) {
        if self.disabled || data.is_empty() {
            return;
        }
        self.seen = self.seen.saturating_add(data.len() as u64);
        if !ctx.tcp {
            self.message(cfg, ctx, now, data, out);
            return;
        }
        let first = *self.first.get_or_insert(sender);
        let d = usize::from(first != sender);
        let mut p = 0;
        while p < data.len() && !self.disabled {
            let f = &mut self.frames[d];
            match f.state {
                0 => {
                    f.size = usize::from(data[p]) << 8;
                    f.state = 1;
                    p += 1;
                }
                1 => {
                    f.size |= usize::from(data[p]);
                    f.state = 2;
                    f.buf.clear();
                    p += 1;
                }
                _ => {
                    let size = f.size;
                    if f.buf.is_empty() && data.len() - p >= size {
                        f.state = 0;
                        self.message(cfg, ctx, now, &data[p..p + size], out);
                        p += size;
                    } else {
                        let n = (size - f.buf.len()).min(data.len() - p);
                        f.buf.extend_from_slice(&data[p..p + n]);
                        p += n;
                        if f.buf.len() == size {
                            f.state = 0;
                            let m = std::mem::take(&mut f.buf);
                            self.message(cfg, ctx, now, &m, out);
                            let f = &mut self.frames[d];
                            f.buf = m;
                            f.buf.clear();
                        }
                    }
                }
            }
        }
    }

    /// `DNS_Interpreter::ParseMessage` with the script handlers of
    /// `main.zeek` (and the auth-addl / original-query policies when on).
    fn message(&mut self, cfg: &DnsConfig, ctx: &ConnCtx, now: Ts, data: &[u8], out: Emit<'_>) {
        let Some(hdr) = Header::parse(data) else {
            return;
        };
        let netbios = ctx.id.3 == 137;
        // Opcodes other than query, notify and update are not parsed
        // (DNS_unknown_opcode), except NetBIOS's own.
        if !netbios && !matches!(hdr.opcode, 0 | 4 | 5) {
            return;
        }
        let tracked = matches!(hdr.opcode, 0 | 4 | 5);
        let mut m = MsgCtx {
            hdr,
            netbios,
            update: hdr.opcode == 5 && !netbios,
            zclass: 0,
        };
        if tracked {
            self.set_session(ctx, now, &hdr, out);
        }
        if hdr.qdcount > MAX_QUERIES {
            // DNS_Conn_count_too_large: an analyzer violation.
            self.end(&hdr, out);
            if self.seen <= IGNORE_VIOLATIONS_AFTER {
                self.disabled = true;
            }
            return;
        }
        let mut cur = Cursor::after_header(data);
        let mut qname = Name::default();
        let mut first_q: Option<Name> = None;
        for _ in 0..hdr.qdcount {
            let Some((qtype, qclass)) = rr::question(&mut cur, &m, &mut qname) else {
                self.end(&hdr, out);
                return;
            };
            if m.update {
                // dns_dynamic_update: the zone.
                m.zclass = qclass;
            } else if !hdr.qr {
                self.request(cfg, ctx, &hdr, &qname, qtype, qclass);
            } else if hdr.ancount == 0 && hdr.nscount == 0 && hdr.arcount == 0 {
                // dns_rejected.
                if let Some(i) = self.cur {
                    self.info(i).rec.rejected = true;
                }
            }
            if cfg.names && first_q.is_none() {
                let mut n = Name::default();
                n.copy_from(&qname);
                n.make_lowercase();
                first_q = Some(n);
            }
        }
        let mut names = NameBatch {
            at: now,
            ..NameBatch::default()
        };
        let first_section = if m.update {
            Section::Prerequisite
        } else {
            Section::Answer
        };
        let name_obs = cfg.names && hdr.qr && hdr.opcode == 0;
        let mut rrbuf = Rr::default();
        let ok = self.section(
            &mut cur,
            &m,
            first_section,
            hdr.ancount,
            false,
            (now, cfg),
            &mut rrbuf,
            &mut |rr, o, text| {
                if name_obs {
                    observe(&mut names, rr, o, text, first_q.as_ref());
                }
            },
        );
        if !names.pairs.is_empty() {
            out(DnsOut::Names(names));
        }
        if !ok {
            self.end(&hdr, out);
            return;
        }
        // Analyzer confirmation happens here in Zeek.
        if m.update
            && !self.section(
                &mut cur,
                &m,
                Section::Update,
                hdr.nscount,
                false,
                (now, cfg),
                &mut rrbuf,
                &mut |_, _, _| {},
            )
        {
            self.end(&hdr, out);
            return;
        }
        let mut skip_auth = !cfg.auth_addl || m.update;
        let mut skip_addl = !cfg.auth_addl;
        if hdr.ancount > 0 {
            skip_auth = skip_auth || hdr.nscount == 0;
            skip_addl = skip_addl || hdr.arcount == 0;
        }
        if !(skip_auth && skip_addl) {
            let ok = m.update
                || self.section(
                    &mut cur,
                    &m,
                    Section::Authority,
                    hdr.nscount,
                    skip_auth,
                    (now, cfg),
                    &mut rrbuf,
                    &mut |_, _, _| {},
                );
            if ok && !skip_addl {
                self.section(
                    &mut cur,
                    &m,
                    Section::Additional,
                    hdr.arcount,
                    skip_addl,
                    (now, cfg),
                    &mut rrbuf,
                    &mut |_, _, _| {},
                );
            }
        }
        self.end(&hdr, out);
    }

    /// `ParseAnswers`: `n` records of one section; false when one failed.
    #[allow(clippy::too_many_arguments)]
    fn section(
        &mut self,
        cur: &mut Cursor<'_>,
        m: &MsgCtx,
        section: Section,
        n: u16,
        skip_event: bool,
        (now, cfg): (Ts, &DnsConfig),
        rrbuf: &mut Rr,
        seen: &mut dyn FnMut(&Rr, &RrOut, &[u8]),
    ) -> bool {
        let mut text = std::mem::take(&mut self.text);
        let mut ok = true;
        for _ in 0..n {
            let o = rr::record(cur, m, section, skip_event, rrbuf, &mut text);
            if o.reply {
                self.do_reply(cfg, m, section, rrbuf, now, &text);
                seen(rrbuf, &o, &text);
            }
            if !o.ok {
                ok = false;
                break;
            }
        }
        self.text = text;
        ok
    }

    /// `hook set_session` (run from `dns_message` for tracked opcodes).
    fn set_session(&mut self, ctx: &ConnCtx, now: Ts, hdr: &Header, out: Emit<'_>) {
        let is_query = !hdr.qr;
        let id = hdr.id;
        let new = |s: &mut Session| s.alloc(DnsRecord::new(now, ctx.uid, ctx.id, ctx.tcp, id));
        let i = if ctx.id.2.is_multicast() {
            // Multicast (mDNS, LLMNR): no pairing; each message is its own row.
            let i = new(self);
            let info = self.info(i);
            info.saw_query = true;
            info.saw_reply = true;
            i
        } else if is_query {
            match self.pop(Table::Replies, id) {
                Some(i) => i,
                None => {
                    let i = new(self);
                    if self.pending_query.is_none() {
                        self.pending_query = Some(i);
                        self.info(i).refs += 1;
                    } else {
                        self.enqueue(Table::Queries, id, i, out);
                    }
                    i
                }
            }
        } else if let Some(pq) = self
            .pending_query
            .filter(|&pq| self.info(pq).rec.trans_id == id)
        {
            self.pending_query = None;
            self.info(pq).refs -= 1;
            // Refill the fast path: the same id first, else any queue.
            let next = self.pop(Table::Queries, id).or_else(|| {
                let tid = self.pending_queries.first().map(|(t, _)| *t)?;
                self.pop(Table::Queries, tid)
            });
            if let Some(n) = next {
                self.pending_query = Some(n);
                self.info(n).refs += 1;
            }
            pq
        } else {
            match self.pop(Table::Queries, id) {
                Some(i) => i,
                None => {
                    let i = new(self);
                    self.enqueue(Table::Replies, id, i, out);
                    i
                }
            }
        };
        self.set_cur(Some(i));
        let rec = &mut self.info(i).rec;
        if !is_query {
            rec.rcode = Some(hdr.rcode);
            if hdr.rcode != 0 && hdr.qdcount == 0 {
                rec.rejected = true;
            }
        }
        rec.opcode = Some(hdr.opcode);
        rec.netbios = ctx.id.3 == 137;
    }

    /// `dns_request` (and `log-original-query-case`).
    fn request(
        &mut self,
        cfg: &DnsConfig,
        ctx: &ConnCtx,
        hdr: &Header,
        qname: &Name,
        qtype: u16,
        qclass: u16,
    ) {
        if !matches!(hdr.opcode, 0 | 4 | 5) {
            return;
        }
        let Some(i) = self.cur else {
            return;
        };
        let nb_udp = ctx.id.3 == 137 && !ctx.tcp;
        let rec = &mut self.info(i).rec;
        rec.rd = hdr.rd;
        rec.tc = hdr.tc;
        rec.qclass = Some(qclass);
        rec.qtype = Some(qtype);
        rec.z = hdr.z;
        rec.nbstat = nb_udp && qtype == 33;
        let q = qname.as_bytes();
        let mut decoded = [0u8; 16];
        // Zeek decodes the lower-cased name; the decoding upper-cases anyway.
        let dn = if nb_udp {
            decode_netbios_name(q, &mut decoded)
        } else {
            0
        };
        rec.query = Some(if dn > 0 {
            rec.push_text(&[&decoded[..dn]])
        } else {
            let s = rec.push_text(&[q]);
            rec.text[s.0 as usize..].make_ascii_lowercase();
            s
        });
        if cfg.original_query && hdr.opcode == 0 {
            rec.original_query = Some(rec.push_text(&[q]));
        }
    }

    /// `hook DNS::do_reply` (and the auth-addl policy's handler).
    fn do_reply(
        &mut self,
        cfg: &DnsConfig,
        m: &MsgCtx,
        section: Section,
        rr: &Rr,
        now: Ts,
        text: &[u8],
    ) {
        let Some(i) = self.cur else {
            return;
        };
        let hdr = &m.hdr;
        if !matches!(hdr.opcode, 0 | 4 | 5) {
            return;
        }
        let rec = &mut self.info(i).rec;
        if hdr.qr
            && matches!(
                section,
                Section::Answer | Section::Prerequisite | Section::Update
            )
        {
            if rec.query.is_none() {
                rec.query = Some(rec.push_text(&[rr.owner.as_bytes()]));
            }
            rec.aa = hdr.aa;
            rec.ra = hdr.ra;
            if rec.answered.is_none() && now != rec.ts {
                rec.answered = Some(now);
            }
            if !text.is_empty() {
                let add = m.update && section == Section::Update && !text.starts_with(b"del:");
                let s = if add {
                    rec.push_text(&[b"add: ", text])
                } else {
                    rec.push_text(&[text])
                };
                rec.answers.push((s, rr.ttl));
            }
        }
        if cfg.auth_addl && hdr.opcode == 0 {
            let is_auth = section == Section::Authority;
            if is_auth || section == Section::Additional {
                let set = if is_auth { &rec.auth } else { &rec.addl };
                if !set.iter().any(|&s| rec.bytes(s) == text) {
                    let s = rec.push_text(&[text]);
                    if is_auth {
                        rec.auth.push(s);
                    } else {
                        rec.addl.push(s);
                    }
                }
            }
        }
    }

    /// `dns_end`: marks what was seen and logs a complete pair.
    fn end(&mut self, hdr: &Header, out: Emit<'_>) {
        let Some(i) = self.cur else {
            return;
        };
        let info = self.info(i);
        if hdr.qr {
            info.saw_reply = true;
        } else {
            info.saw_query = true;
        }
        if info.saw_query && info.saw_reply {
            // `Log::write(c$dns); delete c$dns` (kept if a queue still holds it).
            info.refs -= 1;
            self.cur = None;
            self.log(i, out);
        }
    }

    /// `finalize_dns` (the connection is removed): logs every unmatched
    /// query and reply.
    pub fn finish(mut self, out: Emit<'_>) {
        if let Some(i) = self.pending_query.take() {
            self.info(i).refs -= 1;
            self.log(i, out);
        }
        for t in [Table::Queries, Table::Replies] {
            self.log_all(t, out);
        }
    }

    fn table(&mut self, t: Table) -> &mut Vec<(u16, std::collections::VecDeque<u32>)> {
        match t {
            Table::Queries => &mut self.pending_queries,
            Table::Replies => &mut self.pending_replies,
        }
    }

    /// `pop_msg` when the id has a non-empty queue.
    fn pop(&mut self, t: Table, id: u16) -> Option<u32> {
        let tab = self.table(t);
        let k = tab.iter().position(|(x, q)| *x == id && !q.is_empty())?;
        let i = tab[k].1.pop_front()?;
        if tab[k].1.is_empty() {
            tab.remove(k);
        }
        self.info(i).refs -= 1;
        Some(i)
    }

    /// `enqueue_new_msg`, with its give-up rules: past the limits the
    /// unmatched messages are logged now.
    fn enqueue(&mut self, t: Table, id: u16, i: u32, out: Emit<'_>) {
        match self.table(t).iter().position(|(x, _)| *x == id) {
            None => {
                if self.table(t).len() > MAX_PENDING_QUERY_IDS {
                    self.log_all(t, out);
                }
                self.table(t).push((id, std::collections::VecDeque::new()));
            }
            Some(k) => {
                if self.table(t)[k].1.len() > MAX_PENDING_MSGS {
                    let q = std::mem::take(&mut self.table(t)[k].1);
                    for j in q {
                        self.info(j).refs -= 1;
                        self.log(j, out);
                    }
                }
            }
        }
        if let Some((_, q)) = self.table(t).iter_mut().find(|(x, _)| *x == id) {
            q.push_back(i);
        }
        self.info(i).refs += 1;
    }

    fn log_all(&mut self, t: Table, out: Emit<'_>) {
        let tab = std::mem::take(self.table(t));
        for (_, q) in tab {
            for i in q {
                self.info(i).refs -= 1;
                self.log(i, out);
            }
        }
    }

    /// Writes a row for an info (a copy when it is still held).
    fn log(&mut self, i: u32, out: Emit<'_>) {
        let Some(slot) = self.infos.get_mut(i as usize) else {
            return;
        };
        let held = slot.as_ref().is_some_and(|x| x.refs > 0);
        let rec = if held {
            slot.as_ref().map(|x| x.rec.clone())
        } else {
            let r = slot.take().map(|x| x.rec);
            self.free.push(i);
            r
        };
        if let Some(r) = rec {
            out(DnsOut::Record(r));
        }
    }

    fn alloc(&mut self, rec: DnsRecord) -> u32 {
        if self.infos.capacity() == 0 {
            // Most connections carry one transaction.
            self.infos.reserve_exact(1);
        }
        let info = Info {
            rec,
            saw_query: false,
            saw_reply: false,
            refs: 0,
        };
        match self.free.pop() {
            Some(i) => {
                self.infos[i as usize] = Some(info);
                i
            }
            None => {
                self.infos.push(Some(info));
                (self.infos.len() - 1) as u32
            }
        }
    }

    /// Sets `c$dns`; the previous info is dropped when nothing holds it
    /// (Zeek forgets it without logging).
    fn set_cur(&mut self, i: Option<u32>) {
        if let Some(n) = i {
            self.info(n).refs += 1;
        }
        if let Some(old) = std::mem::replace(&mut self.cur, i) {
            let info = self.info(old);
            info.refs -= 1;
            if info.refs == 0 {
                self.infos[old as usize] = None;
                self.free.push(old);
            }
        }
    }

    fn info(&mut self, i: u32) -> &mut Info {
        self.infos[i as usize]
            .as_mut()
            .expect("a held info index is live")
    }
}

/// Adds what one answer tells about names and addresses.
fn observe(b: &mut NameBatch, rr: &Rr, o: &RrOut, text: &[u8], q: Option<&Name>) {
    if let Some(a) = o.addr {
        let name = q.map(|n| n.as_bytes()).unwrap_or(rr.owner.as_bytes());
        if !name.is_empty() {
            let s = push(&mut b.text, name);
            b.pairs.push((a, s));
        }
    } else if o.ptr && !text.is_empty() {
        if let Some(a) = reverse_addr(rr.owner.as_bytes()) {
            let s = push(&mut b.text, text);
            b.pairs.push((a, s));
        }
    }
}

fn push(buf: &mut Vec<u8>, s: &[u8]) -> Span {
    let start = buf.len();
    buf.extend_from_slice(s);
    (start as u32, s.len() as u32)
}

/// The address of a reverse name (`4.3.2.1.in-addr.arpa`, 32 nibbles +
/// `ip6.arpa`), lower-cased input.
pub fn reverse_addr(name: &[u8]) -> Option<Addr> {
    if let Some(rest) = name.strip_suffix(b".in-addr.arpa") {
        let mut o = [0u8; 4];
        let mut n = 0;
        for part in rest.split(|&c| c == b'.') {
            if n == 4 || part.is_empty() || part.len() > 3 {
                return None;
            }
            let v: u32 = std::str::from_utf8(part).ok()?.parse().ok()?;
            o[3 - n] = u8::try_from(v).ok()?;
            n += 1;
        }
        return (n == 4).then(|| Addr::v4(o));
    }
    let rest = name.strip_suffix(b".ip6.arpa")?;
    let mut b = [0u8; 16];
    let mut n = 0;
    for part in rest.split(|&c| c == b'.') {
        if n == 32 || part.len() != 1 {
            return None;
        }
        let v = (part[0] as char).to_digit(16)? as u8;
        let k = 31 - n;
        b[k / 2] |= if k % 2 == 0 { v << 4 } else { v };
        n += 1;
    }
    (n == 32).then_some(Addr(b))
}

/// Zeek's `decode_netbios_name` (on the lower-cased name); returns the
/// decoded length (0: not a NetBIOS encoding, or nothing but spaces/NULs).
pub fn decode_netbios_name(name: &[u8], out: &mut [u8; 16]) -> usize {
    if name.len() != 32 {
        return 0;
    }
    let mut length = 0;
    for i in 0..16 {
        let c0 = name[2 * i].to_ascii_uppercase();
        let c1 = name[2 * i + 1].to_ascii_uppercase();
        if !(b'A'..=b'P').contains(&c0) || !(b'A'..=b'P').contains(&c1) {
            return 0;
        }
        let v = ((c0 - b'A') << 4) + (c1 - b'A');
        out[i] = v;
        if v.is_ascii_alphanumeric() || v.is_ascii_punctuation() || v == b' ' || v < 3 {
            length += 1;
        } else {
            break;
        }
    }
    if length == 16 {
        length = 15;
    }
    while length > 0 && matches!(out[length - 1], b' ' | 0) {
        length -= 1;
    }
    length
}

#[cfg(test)]
mod tests;
