//! Questions and resource records of one DNS message, parsed as Zeek's
//! `DNS_Interpreter::ParseQuestion` / `ParseAnswer` / `ParseRR_*` parse them
//! (how much each record type consumes, when parsing stops), and the answer
//! text Zeek's `base/protocols/dns/main.zeek` builds from each reply event
//! (`fmt("%s", a)`, `TXT <len> <text>`, `RRSIG <type> <signer>`, the
//! dynamic-update `pre:` / `del:` forms, ...).
//!
//! Owns the per-record rules. Must not keep state between records, allocate
//! (text goes into the caller's reused scratch buffer) or panic on any input.
//!
//! Record types with an event handler in Zeek's base scripts are parsed
//! field by field; the others (HINFO, CAA, TKEY, NIMLOC) have their RDATA
//! skipped, as Zeek does when no script handles the event.

use super::consts;
use super::wire::{addr_v4, addr_v6, extract_name, Cursor, Header, Name, NameRules};
use crate::decode::Addr;
use std::io::Write;

/// The message a record belongs to (what its parsing depends on).
#[derive(Clone, Copy, Debug, Default)]
pub struct MsgCtx {
    /// The header.
    pub hdr: Header,
    /// NetBIOS name service: the responder port is 137 (`msg$is_netbios`).
    pub netbios: bool,
    /// A dynamic update (opcode 5, not NetBIOS): the sections are zone,
    /// prerequisites, updates, additional.
    pub update: bool,
    /// The zone class of an update (from its zone section).
    pub zclass: u16,
}

/// The section a record is in (Zeek's `answer_type`: `DNS_ANS`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Answer section.
    Answer,
    /// Authority section.
    Authority,
    /// Additional section.
    Additional,
    /// Prerequisite section of an update (its answer section).
    Prerequisite,
    /// Update section of an update (its authority section).
    Update,
}

/// The type-independent part of a record (Zeek's `dns_answer`).
#[derive(Debug, Default)]
pub struct Rr {
    /// Owner name, lower-cased.
    pub owner: Name,
    /// TYPE.
    pub atype: u16,
    /// CLASS.
    pub aclass: u16,
    /// TTL, seconds.
    pub ttl: u32,
}

/// What parsing one record produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RrOut {
    /// Parsing may go on with the next record (Zeek's status).
    pub ok: bool,
    /// A reply event reached `DNS::do_reply`; its text is in the scratch
    /// buffer (empty for WKS).
    pub reply: bool,
    /// The address of an A / AAAA / A6 record.
    pub addr: Option<Addr>,
    /// The reply text is the target name of a PTR record.
    pub ptr: bool,
}

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_WKS: u16 = 11;
const TYPE_PTR: u16 = 12;
const TYPE_HINFO: u16 = 13;
const TYPE_MX: u16 = 15;
const TYPE_TXT: u16 = 16;
const TYPE_AAAA: u16 = 28;
const TYPE_LOC: u16 = 29;
const TYPE_NBS: u16 = 32;
const TYPE_SRV: u16 = 33;
const TYPE_NAPTR: u16 = 35;
const TYPE_A6: u16 = 38;
const TYPE_EDNS: u16 = 41;
const TYPE_DS: u16 = 43;
const TYPE_SSHFP: u16 = 44;
const TYPE_RRSIG: u16 = 46;
const TYPE_NSEC: u16 = 47;
const TYPE_DNSKEY: u16 = 48;
const TYPE_NSEC3: u16 = 50;
const TYPE_NSEC3PARAM: u16 = 51;
const TYPE_SVCB: u16 = 64;
const TYPE_HTTPS: u16 = 65;
const TYPE_SPF: u16 = 99;
const TYPE_TKEY: u16 = 249;
const TYPE_TSIG: u16 = 250;
const TYPE_CAA: u16 = 257;
const TYPE_BINDS: u16 = 65534;
/// CLASS / TYPE ANY.
const ANY: u16 = 255;
/// CLASS NONE.
const NONE: u16 = 254;

/// `ParseQuestion`: reads one question into `name` (not lower-cased) and
/// returns `(qtype, qclass)`, or `None` when parsing stops (the name left
/// fewer than 4 bytes).
pub fn question(cur: &mut Cursor<'_>, m: &MsgCtx, name: &mut Name) -> Option<(u16, u16)> {
    let rules = NameRules {
        downcase: false,
        ..NameRules::lower(m.netbios)
    };
    extract_name(cur, name, rules);
    if cur.len() < 4 {
        return None;
    }
    let qtype = cur.short();
    let qclass = cur.short();
    Some((qtype, qclass))
}

fn fail() -> RrOut {
    RrOut::default()
}

fn done() -> RrOut {
    RrOut {
        ok: true,
        ..RrOut::default()
    }
}

fn reply() -> RrOut {
    RrOut {
        ok: true,
        reply: true,
        ..RrOut::default()
    }
}

/// `ParseAnswer`: reads one resource record into `rr` and, unless
/// `skip_event`, renders the text `DNS::do_reply` receives into `text`.
pub fn record(
    cur: &mut Cursor<'_>,
    m: &MsgCtx,
    section: Section,
    skip_event: bool,
    rr: &mut Rr,
    text: &mut Vec<u8>,
) -> RrOut {
    text.clear();
    extract_name(cur, &mut rr.owner, NameRules::lower(m.netbios));
    if cur.len() < 4 {
        return fail();
    }
    rr.atype = cur.short();
    rr.aclass = cur.short();
    rr.ttl = cur.long();
    let rdlength = usize::from(cur.short());
    if rdlength > cur.len() {
        return fail();
    }
    if m.update {
        match section {
            Section::Prerequisite => {
                // dns_dynamic_update_pre for every prerequisite.
                cur.skip(rdlength);
                if skip_event {
                    return done();
                }
                prerequisite(rr, text);
                return reply();
            }
            Section::Update
                if (rr.aclass == ANY && rr.ttl == 0 && rdlength == 0)
                    || (rr.aclass == NONE && rr.ttl == 0) =>
            {
                // dns_dynamic_update_del: an RRset, a name, or one RR deleted.
                cur.skip(rdlength);
                if skip_event {
                    return done();
                }
                deletion(rr, text);
                return reply();
            }
            _ => {}
        }
    }
    if rdlength == 0 && !cur.is_empty() {
        // DNS_zero_rdlength.
        return fail();
    }
    let ev = !skip_event;
    let start = cur.pos();
    match rr.atype {
        TYPE_A => {
            if rdlength != 4 {
                return fail();
            }
            let a = addr_v4(cur.long());
            address(rr, m, a, "A", ev, text)
        }
        TYPE_AAAA | TYPE_A6 => {
            let w = [cur.long(), cur.long(), cur.long(), cur.long()];
            let kind = if rr.atype == TYPE_AAAA { "AAAA" } else { "A6" };
            address(rr, m, addr_v6(w), kind, ev, text)
        }
        TYPE_NS | TYPE_CNAME | TYPE_PTR => {
            let mut n = Name::default();
            extract_name(cur, &mut n, NameRules::lower(m.netbios));
            if !ev {
                return done();
            }
            text.extend_from_slice(n.as_bytes());
            RrOut {
                ptr: rr.atype == TYPE_PTR,
                ..reply()
            }
        }
        TYPE_SOA => {
            let (mut mname, mut rname) = (Name::default(), Name::default());
            extract_name(cur, &mut mname, NameRules::lower(m.netbios));
            extract_name(cur, &mut rname, NameRules::lower(m.netbios));
            if cur.len() < 20 {
                return fail();
            }
            for _ in 0..5 {
                cur.long();
            }
            if !ev {
                return done();
            }
            text.extend_from_slice(mname.as_bytes());
            reply()
        }
        TYPE_WKS => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            // The event carries no RDATA and Zeek does not consume it.
            reply()
        }
        TYPE_MX => {
            cur.short();
            let mut n = Name::default();
            extract_name(cur, &mut n, NameRules::lower(m.netbios));
            if !ev {
                return done();
            }
            text.extend_from_slice(n.as_bytes());
            reply()
        }
        TYPE_TXT | TYPE_SPF => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            let tag: &[u8] = if rr.atype == TYPE_TXT { b"TXT" } else { b"SPF" };
            let mut left = rdlength;
            let mut i = 0;
            while let Some(s) = char_string(cur, &mut left) {
                if i > 0 {
                    text.push(b' ');
                }
                text.extend_from_slice(tag);
                let _ = write!(text, " {} ", s.len());
                text.extend_from_slice(s);
                i += 1;
            }
            RrOut {
                ok: left == 0,
                ..reply()
            }
        }
        TYPE_SRV => {
            if m.netbios {
                // NBSTAT: not parsed, and (as in Zeek) nothing consumed.
                return done();
            }
            cur.short();
            cur.short();
            cur.short();
            let mut n = Name::default();
            extract_name(cur, &mut n, NameRules::lower(m.netbios));
            if !ev {
                return done();
            }
            text.extend_from_slice(n.as_bytes());
            reply()
        }
        TYPE_NAPTR => {
            let order = cur.short();
            let pref = cur.short();
            let mut left = rdlength.saturating_sub(cur.pos() - start);
            let mut f = [(0usize, 0usize); 3];
            for slot in f.iter_mut() {
                let at = cur.pos();
                match char_string(cur, &mut left) {
                    Some(s) => *slot = (at + 1, s.len()),
                    None => return fail(),
                }
            }
            let mut repl = Name::default();
            extract_name(cur, &mut repl, NameRules::lower(m.netbios));
            if !ev {
                return done();
            }
            let msg = cur.message();
            let field = |(a, n): (usize, usize)| msg.get(a..a + n).unwrap_or(&[]);
            let _ = write!(text, "NAPTR {order} {pref} ");
            text.extend_from_slice(field(f[0]));
            text.push(b' ');
            text.extend_from_slice(field(f[1]));
            text.push(b' ');
            let regexp = field(f[2]);
            text.extend_from_slice(regexp);
            if !regexp.is_empty() && !repl.is_empty() {
                text.push(b' ');
            }
            text.extend_from_slice(repl.as_bytes());
            reply()
        }
        TYPE_EDNS => {
            // Options are read to the end of the message (Zeek's loop is
            // bounded by `len`, not by RDLENGTH).
            while cur.len() >= 4 {
                cur.short();
                let olen = usize::from(cur.short());
                if olen > cur.len() {
                    break;
                }
                cur.skip(olen);
            }
            RrOut {
                ok: cur.is_empty(),
                ..RrOut::default()
            }
        }
        TYPE_TSIG => {
            let mut n = Name::default();
            let rules = NameRules {
                cap: super::wire::TSIG_NAME_CAP,
                ..NameRules::lower(m.netbios)
            };
            extract_name(cur, &mut n, rules);
            cur.long();
            cur.short();
            cur.short();
            octets(cur);
            cur.short();
            cur.short();
            octets(cur);
            done()
        }
        TYPE_RRSIG => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            if cur.len() < 18 {
                return fail();
            }
            let type_covered = cur.short();
            cur.short(); // algorithm, labels
            cur.long();
            cur.long();
            cur.long();
            cur.short(); // key tag
            let name_start = cur.pos();
            let mut signer = Name::default();
            extract_name(cur, &mut signer, NameRules::lower(m.netbios));
            let sig_len = rdlength as i64 - ((cur.pos() - name_start) as i64 + 18);
            cur.take(sig_len);
            let _ = write!(text, "RRSIG {type_covered} ");
            if signer.is_empty() {
                text.extend_from_slice(b"<Root>");
            } else {
                text.extend_from_slice(signer.as_bytes());
            }
            reply()
        }
        TYPE_DNSKEY => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            if cur.len() < 4 {
                return fail();
            }
            cur.short(); // flags
            let algorithm = cur.short() & 0xff;
            cur.take(rdlength as i64 - 4);
            let _ = write!(text, "DNSKEY {algorithm}");
            reply()
        }
        TYPE_NSEC => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            let mut next = Name::default();
            extract_name(cur, &mut next, NameRules::lower(m.netbios));
            let mut bitmaps = rdlength as i64 - (cur.pos() - start) as i64;
            bitmap_blocks(cur, &mut bitmaps);
            text.extend_from_slice(b"NSEC ");
            text.extend_from_slice(rr.owner.as_bytes());
            text.push(b' ');
            text.extend_from_slice(next.as_bytes());
            reply()
        }
        TYPE_NSEC3 => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            if cur.len() < 6 {
                return fail();
            }
            cur.short();
            cur.short();
            let salt = cur.byte().unwrap_or(0);
            cur.take(i64::from(salt));
            let hash = cur.byte().unwrap_or(0);
            cur.take(i64::from(hash));
            let mut bitmaps = rdlength as i64 - (cur.pos() - start) as i64;
            bitmap_blocks(cur, &mut bitmaps);
            text.extend_from_slice(b"NSEC3");
            reply()
        }
        TYPE_NSEC3PARAM => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            if cur.len() < 5 {
                return fail();
            }
            cur.short();
            cur.short();
            let salt = cur.byte().unwrap_or(0);
            cur.take(i64::from(salt));
            text.extend_from_slice(b"NSEC3PARAM");
            reply()
        }
        TYPE_DS => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            if cur.len() < 4 {
                return fail();
            }
            cur.short(); // key tag
            let ad = cur.short();
            cur.take(rdlength as i64 - 4);
            let _ = write!(text, "DS {} {}", ad >> 8, ad & 0xff);
            reply()
        }
        TYPE_BINDS => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            if cur.len() < 5 {
                return fail();
            }
            cur.long();
            cur.take(rdlength as i64 - 4);
            text.extend_from_slice(b"BIND9 signing signal");
            reply()
        }
        TYPE_SSHFP => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            if cur.len() < 2 {
                return fail();
            }
            cur.short();
            let fp = cur.take(rdlength as i64 - 2);
            text.extend_from_slice(b"SSHFP: ");
            for b in fp {
                let _ = write!(text, "{b:02x}");
            }
            reply()
        }
        TYPE_LOC => {
            if !ev {
                cur.skip(rdlength);
                return done();
            }
            if cur.len() < 15 {
                return fail();
            }
            let vs = cur.short();
            let hv = cur.short();
            cur.long();
            cur.long();
            cur.long();
            let _ = write!(text, "LOC:  {} {} {}", vs & 0xff, hv >> 8, hv & 0xff);
            reply()
        }
        TYPE_SVCB | TYPE_HTTPS => {
            if cur.len() < 3 {
                return fail();
            }
            cur.short();
            let mut target = Name::default();
            let rules = NameRules {
                downcase: false,
                ..NameRules::lower(m.netbios)
            };
            extract_name(cur, &mut target, rules);
            let parsed = cur.pos() - start;
            if parsed < rdlength {
                cur.skip(rdlength - parsed);
            }
            done()
        }
        TYPE_HINFO | TYPE_CAA | TYPE_NBS | TYPE_TKEY => {
            // No handler in Zeek's base scripts (HINFO, CAA), not parsed
            // (NIMLOC / NetBIOS NB), or no log effect (TKEY).
            cur.skip(rdlength);
            done()
        }
        t => {
            cur.skip(rdlength);
            if !ev {
                return done();
            }
            let _ = write!(text, "<unknown type={t}>");
            reply()
        }
    }
}

fn address(rr: &Rr, m: &MsgCtx, a: Addr, kind: &str, ev: bool, text: &mut Vec<u8>) -> RrOut {
    if !ev {
        return done();
    }
    if m.update && !m.netbios {
        text.extend_from_slice(kind.as_bytes());
        text.push(b' ');
        text.extend_from_slice(rr.owner.as_bytes());
        text.push(b' ');
    }
    a.push_text(text);
    RrOut {
        addr: Some(a),
        ..reply()
    }
}

/// `dns_dynamic_update_pre` as `main.zeek` renders it.
fn prerequisite(rr: &Rr, text: &mut Vec<u8>) {
    text.extend_from_slice(b"pre: ");
    let (c, t) = (rr.aclass, rr.atype);
    if c == NONE && t == ANY {
        text.extend_from_slice(b"NameNotInUse ");
    } else if c == ANY && t == ANY {
        text.extend_from_slice(b"NameInUse ");
    } else {
        text.extend_from_slice(if c == NONE {
            b"NoRRSet "
        } else {
            b"RRSetExists "
        });
        text.extend_from_slice(consts::qtype_name(t).as_bytes());
        text.push(b' ');
    }
    text.extend_from_slice(rr.owner.as_bytes());
}

/// `dns_dynamic_update_del` as `main.zeek` renders it.
fn deletion(rr: &Rr, text: &mut Vec<u8>) {
    text.extend_from_slice(b"del: ");
    let (c, t) = (rr.aclass, rr.atype);
    if c == ANY && t == ANY {
        text.extend_from_slice(b"RRSet * ");
        text.extend_from_slice(rr.owner.as_bytes());
    } else if c == NONE {
        text.extend_from_slice(b"RR ");
        text.extend_from_slice(consts::qtype_name(t).as_bytes());
        text.push(b' ');
        text.extend_from_slice(rr.owner.as_bytes());
    } else {
        text.extend_from_slice(b"RRSet ");
        text.extend_from_slice(consts::qtype_name(t).as_bytes());
    }
}

/// `extract_char_string`: one `<length><bytes>` string within the `left`
/// RDATA bytes; `None` when none is left or it runs past the RDATA (its
/// length byte is consumed then, as in Zeek).
fn char_string<'a>(cur: &mut Cursor<'a>, left: &mut usize) -> Option<&'a [u8]> {
    if *left == 0 {
        return None;
    }
    let n = usize::from(cur.byte()?);
    *left -= 1;
    if n > *left {
        return None;
    }
    let s = cur.take(n as i64);
    *left -= n;
    Some(s)
}

/// `ExtractOctets`: a 16-bit length, then up to that many bytes.
fn octets(cur: &mut Cursor<'_>) {
    let n = cur.short();
    cur.take(i64::from(n));
}

/// NSEC / NSEC3 type bitmap blocks.
fn bitmap_blocks(cur: &mut Cursor<'_>, left: &mut i64) {
    while *left > 0 && !cur.is_empty() {
        let block = cur.short();
        let len = block & 0xff;
        if len == 0 {
            break;
        }
        cur.take(i64::from(len));
        *left -= 2 + i64::from(len);
    }
}

#[cfg(test)]
mod tests;
