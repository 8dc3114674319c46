//! What the DNS stage hands to the writers: one [`DnsRecord`] per dns.log
//! row (Zeek's `DNS::Info`), and [`NameBatch`]es of names seen resolving to
//! addresses (for conn.log's `orig_name` / `resp_name`). Owns the record
//! layout; must not format (see `output::dns_log`).

use crate::conn::uid::Uid;
use crate::decode::Addr;
use crate::time::Ts;

/// A byte range `(start, len)` in a record's text arena.
pub type Span = (u32, u32);

/// Zeek's log limits (`Log::default_max_field_container_elements`,
/// `Log::default_max_field_string_bytes`): containers are written with at
/// most this many elements...
pub const MAX_CONTAINER_ELEMENTS: usize = 100;
/// ...and strings with at most this many bytes.
pub const MAX_STRING_BYTES: usize = 4096;

/// One dns.log row: a query and its reply as Zeek pairs them.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsRecord {
    /// Time of the first message of the pair (Zeek's `network_time()` at
    /// `new_session`).
    pub ts: Ts,
    /// The connection's uid.
    pub uid: Uid,
    /// The connection's `(orig_h, orig_p, resp_h, resp_p)` when the record was created.
    pub id: (Addr, u16, Addr, u16),
    /// TCP (`proto` = `tcp`), else UDP.
    pub tcp: bool,
    /// `trans_id`.
    pub trans_id: u16,
    /// Time of the first answer (`rtt` = this − `ts`; unset when equal).
    pub answered: Option<Ts>,
    /// `query`.
    pub query: Option<Span>,
    /// `qclass`.
    pub qclass: Option<u16>,
    /// `qtype`.
    pub qtype: Option<u16>,
    /// `qtype_name` is `NBSTAT` (an SRV-type NetBIOS query).
    pub nbstat: bool,
    /// `rcode`.
    pub rcode: Option<u8>,
    /// `AA`.
    pub aa: bool,
    /// `TC`.
    pub tc: bool,
    /// `RD`.
    pub rd: bool,
    /// `RA`.
    pub ra: bool,
    /// `Z`.
    pub z: u8,
    /// `answers` with their `TTLs` (seconds), in answer order.
    pub answers: Vec<(Span, u32)>,
    /// `rejected`.
    pub rejected: bool,
    /// `opcode`.
    pub opcode: Option<u8>,
    /// `opcode_name` comes from Zeek's NetBIOS opcode table.
    pub netbios: bool,
    /// `original_query` (policy/protocols/dns/log-original-query-case).
    pub original_query: Option<Span>,
    /// `auth` (policy/protocols/dns/auth-addl), a set in insertion order.
    pub auth: Vec<Span>,
    /// `addl` (policy/protocols/dns/auth-addl), a set in insertion order.
    pub addl: Vec<Span>,
    /// The bytes the spans point into.
    pub text: Vec<u8>,
}

impl DnsRecord {
    /// A record as Zeek's `new_session` starts it.
    pub fn new(ts: Ts, uid: Uid, id: (Addr, u16, Addr, u16), tcp: bool, trans_id: u16) -> Self {
        DnsRecord {
            ts,
            uid,
            id,
            tcp,
            trans_id,
            answered: None,
            query: None,
            qclass: None,
            qtype: None,
            nbstat: false,
            rcode: None,
            aa: false,
            tc: false,
            rd: false,
            ra: false,
            z: 0,
            answers: Vec::new(),
            rejected: false,
            opcode: None,
            netbios: false,
            original_query: None,
            auth: Vec::new(),
            addl: Vec::new(),
            // Room for a typical question and its answers (one allocation).
            text: Vec::with_capacity(96),
        }
    }

    /// The bytes of a span.
    pub fn bytes(&self, s: Span) -> &[u8] {
        let (a, n) = (s.0 as usize, s.1 as usize);
        self.text.get(a..a + n).unwrap_or(&[])
    }

    /// Appends bytes to the arena and returns their span.
    pub fn push_text(&mut self, parts: &[&[u8]]) -> Span {
        let start = self.text.len();
        for p in parts {
            self.text.extend_from_slice(p);
        }
        (start as u32, (self.text.len() - start) as u32)
    }

    /// The `query` text.
    pub fn query_bytes(&self) -> Option<&[u8]> {
        self.query.map(|s| self.bytes(s))
    }
}

/// Names seen resolving to addresses in one reply (A/AAAA answers with the
/// question's name, PTR answers with the address of their reverse name),
/// at network time `at`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameBatch {
    /// When the reply was seen.
    pub at: Ts,
    /// `(address, name span in text)`.
    pub pairs: Vec<(Addr, Span)>,
    /// Name bytes.
    pub text: Vec<u8>,
}

impl NameBatch {
    /// The name of a pair.
    pub fn name(&self, s: Span) -> &[u8] {
        let (a, n) = (s.0 as usize, s.1 as usize);
        self.text.get(a..a + n).unwrap_or(&[])
    }
}

/// What the DNS stage emits.
#[derive(Clone, Debug, PartialEq)]
pub enum DnsOut {
    /// A dns.log row.
    Record(DnsRecord),
    /// Names seen resolving to addresses.
    Names(NameBatch),
}
