//! SSL/TLS record framing up to the first handshake message of each side.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};
use crate::decode::be16;

/// SSL/TLS (`src/analyzer/protocol/ssl/`, `ssl-protocol.pac`,
/// `tls-handshake-analyzer.pac`): attached on 443, 465, 563, 585, 614, 636,
/// 989-995, 5223/tcp, by `dpd_tls_client` / `dpd_tls_server`, or by a
/// STARTTLS handoff (FTP `AUTH TLS`+234, IRC 670, SMTP STARTTLS+220, HTTP
/// CONNECT+200). Confirms on a ClientHello with a supported version once
/// the record holding it is complete (`SSLRecord` is binpac's flow unit,
/// `&length`: `proc_client_hello` runs on the whole record); a ServerHello
/// with an unsupported version is a violation (`proc_server_hello`, which
/// never confirms). Every record header goes through
/// `determine_ssl_record_layer` (`ssl-protocol.pac`), see [`Ssl::header`];
/// a record of a content type the plaintext grammar does not know
/// (`PlaintextRecord`'s `default -> UnknownRecord`, `proc_unknown_record`)
/// is a violation while its direction is still in the clear. Partial
/// connections and streams with gaps are not parsed (`SSL_Analyzer::
/// DeliverStream`: `IsPartial()`, `had_gap`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Ssl {
    d: [SslDir; 2],
    /// `record_layer_version_`, shared by both directions: 0 unknown,
    /// [`LAYER_TLS`] or [`LAYER_V2`].
    layer: u8,
}

const LAYER_TLS: u8 = 1;
const LAYER_V2: u8 = 2;

#[derive(Clone, Copy, Debug, Default)]
struct SslDir {
    hdr: [u8; 11],
    hlen: u8,
    /// Bytes of the record header (and first body bytes) wanted before the
    /// record is examined; 0: the 5-byte header is not classified yet.
    want: u8,
    /// The current record is SSLv2-framed.
    v2: bool,
    /// Bytes of the current record body still to skip.
    skip: u32,
    /// First handshake message of this direction examined.
    hs_seen: bool,
    /// `STATE_ENCRYPTED` for this direction (`startEncryption`): records
    /// are ciphertext, whatever their content type.
    enc: bool,
    bytes: u32,
    /// The hello's verdict, applied once its record is complete (the
    /// record is binpac's flow unit): 1 = confirm, 2 = violation.
    pending: u8,
}

impl SslDir {
    /// At the end of a record: applies a pending hello verdict
    /// (confirm, or a violation: then true, the analyzer is done).
    fn verdict(&mut self, ev: &mut Events) -> bool {
        let pending = std::mem::take(&mut self.pending);
        match pending {
            1 => ev.push(Service::Ssl, What::Confirm),
            2 => ev.push(Service::Ssl, What::Violation),
            _ => {}
        }
        pending == 2
    }
}

pub(super) fn ssl_version_ok(v: u16) -> bool {
    matches!(v, 0x0002 | 0x0300..=0x0304 | 0x7f00..=0x7fff | 0xfeff | 0xfefd | 0xfefc)
}

/// The record-layer versions `determine_ssl_record_layer` accepts in a TLS
/// record header: SSLv3, TLS 1.0, 1.1, 1.2 (TLS 1.3 records carry 0x0303).
fn record_version_ok(v: u16) -> bool {
    (0x0300..=0x0303).contains(&v)
}

impl Ssl {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    /// `determine_ssl_record_layer` (`ssl-protocol.pac`) on a record's first
    /// five bytes: `Some(true)` an SSLv2-framed record, `Some(false)` a TLS
    /// record, `None` an `AnalyzerViolation` ("Invalid version late in TLS
    /// connection", "Invalid version in SSL client hello", "Invalid headers
    /// in SSL connection", "Invalid version in TLS connection", "Invalid
    /// type in TLS connection").
    fn header(layer: &mut u8, h: &[u8], is_orig: bool) -> Option<bool> {
        match *layer {
            // Re-checked on every record once the layer is TLS, in both
            // directions; the content type is not.
            LAYER_TLS => record_version_ok(be16(h, 1)).then_some(false),
            LAYER_V2 => Some(true),
            _ if h[0] & 0x80 != 0 => {
                if h[2] == 1 && is_orig {
                    // SSLv2 CLIENT-HELLO; does not fix the layer.
                    let v = be16(h, 3);
                    (v == 0x0002 || record_version_ok(v)).then_some(true)
                } else if h[2] == 4 && h[4] < 2 && !is_orig {
                    // SSLv2 SERVER-HELLO: the connection stays SSLv2.
                    *layer = LAYER_V2;
                    Some(true)
                } else {
                    None
                }
            }
            _ => {
                let v = be16(h, 1);
                if record_version_ok(v) && (20..=30).contains(&h[0]) {
                    *layer = LAYER_TLS;
                    Some(false)
                } else {
                    None
                }
            }
        }
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.partial || c.transport != Transport::Tcp {
            return Step::Done;
        }
        let Ssl { d: dirs, layer } = self;
        let di = c.dir();
        dirs[di].bytes = dirs[di].bytes.saturating_add(data.len() as u32);
        let mut pos = 0;
        while pos < data.len() {
            let d = &mut dirs[di];
            if d.skip > 0 {
                let n = (d.skip as usize).min(data.len() - pos);
                pos += n;
                d.skip -= n as u32;
                if d.skip == 0 && d.verdict(ev) {
                    return Step::Done;
                }
                continue;
            }
            let want = if d.want == 0 { 5 } else { d.want };
            while d.hlen < want && pos < data.len() {
                d.hdr[d.hlen as usize] = data[pos];
                d.hlen += 1;
                pos += 1;
            }
            if d.hlen < want {
                break;
            }
            let h = d.hdr;
            if d.want == 0 {
                let Some(v2) = Self::header(layer, &h, c.is_orig) else {
                    ev.push(Service::Ssl, What::Violation);
                    return Step::Done;
                };
                d.v2 = v2;
                d.want = 5;
                if !d.enc && !d.hs_seen {
                    if v2 && h[2] == 4 {
                        d.want = 7; // SSLv2 SERVER-HELLO: its server_version too
                    } else if !v2 && h[0] == 22 && be16(&h, 3) >= 6 {
                        d.want = 11; // the handshake header and hello version
                    }
                }
                if d.want > 5 {
                    continue;
                }
            }
            // The whole header (and what the hello needs) is here.
            d.want = 0;
            d.hlen = 0;
            let len = if d.v2 {
                (u32::from(h[0] & 0x7f) << 8 | u32::from(h[1])).saturating_sub(3)
            } else {
                u32::from(be16(&h, 3))
            };
            let mut consumed = 0;
            if d.enc {
                // CiphertextRecord: nothing is checked.
            } else if d.v2 {
                // SSLv2 content types are `head2 + 300`.
                match h[2] {
                    0 => {} // V2_ERROR
                    1 if !d.hs_seen => {
                        d.hs_seen = true;
                        let v = be16(&h, 3);
                        d.pending = if ssl_version_ok(v) { 1 } else { 2 };
                    }
                    1 => {}
                    2 => {
                        // V2ClientMasterKey: both sides encrypt from now on.
                        dirs[0].enc = true;
                        dirs[1].enc = true;
                    }
                    4 => {
                        if !d.hs_seen {
                            d.hs_seen = true;
                            consumed = 2;
                            // `proc_check_v2_server_hello_version`.
                            if be16(&h, 5) != 0x0002 {
                                d.pending = 2;
                            }
                        }
                    }
                    _ => {
                        ev.push(Service::Ssl, What::Violation);
                        return Step::Done;
                    }
                }
            } else {
                match h[0] {
                    // ChangeCipherSpec (`startEncryption`); application data
                    // too: Zeek switches only once TLS 1.3 was negotiated,
                    // which is not tracked here, so no later record of this
                    // direction is judged (fewer violations, never more).
                    20 | 23 => d.enc = true,
                    21 | 24 => {}
                    22 => {
                        if len >= 6 && !d.hs_seen {
                            // Handshake type at 5, hello version at 9..11.
                            d.hs_seen = true;
                            consumed = 6;
                            let v = be16(&h, 9);
                            match h[5] {
                                1 => d.pending = if ssl_version_ok(v) { 1 } else { 2 },
                                // `proc_server_hello`: a violation, never a
                                // confirmation.
                                2 if !ssl_version_ok(v) => d.pending = 2,
                                _ => {}
                            }
                        }
                    }
                    _ => {
                        ev.push(Service::Ssl, What::Violation);
                        return Step::Done;
                    }
                }
            }
            let d = &mut dirs[di];
            d.skip = len.saturating_sub(consumed);
            if d.skip == 0 && d.verdict(ev) {
                return Step::Done;
            }
        }
        // Nothing after the violation window can change the outcome.
        if dirs[0].bytes.saturating_add(dirs[1].bytes) > 10 * 1024 {
            Step::Done
        } else {
            Step::More
        }
    }
}

/// DTLS (`src/analyzer/protocol/ssl/DTLS.cc`, the SSL binpac grammar in DTLS
/// mode): attached on 443/udp or by `dpd_dtls_client`. Each datagram holds
/// DTLS records (13-byte header: type, version, epoch, sequence, length);
/// a record that is neither a known content type nor a DTLS version is a
/// violation. A handshake message reaches the handshake parser whole or
/// reassembled from its fragments as `proc_handshake` does
/// (`dtls-analyzer.pac`, [`Reasm`]); a ClientHello whose `client_version`
/// is a DTLS version then confirms (`proc_client_hello`), another version
/// is a violation. A fragment alone confirms nothing.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Dtls {
    /// Reassembly state of the client's and the server's handshake
    /// messages (`message_info client, server`), by `is_orig`.
    r: [Reasm; 2],
}

/// `MAX_DTLS_HANDSHAKE_RECORD` (`ssl-defs.pac`): a fragmented handshake
/// message declaring more bytes is a violation.
const MAX_DTLS_HANDSHAKE_RECORD: u32 = 100_000;

/// One direction's `message_info` (`dtls-analyzer.pac`): the handshake
/// message being reassembled and which record sequence numbers (relative
/// to the first) brought its fragments. Only the message's first two bytes
/// are kept, the hello's version, which is all that decides here.
#[derive(Clone, Copy, Debug, Default)]
struct Reasm {
    /// A message is being reassembled (Zeek's `buffer != 0`).
    active: bool,
    message_seq: u16,
    length: u32,
    first_seq: u64,
    first_seen: bool,
    last_seq: u64,
    /// Bit `n`: the fragment in record `first_seq + n` was copied.
    seen: u32,
    /// The message's bytes 0 and 1, and which of them were copied.
    head: [u8; 2],
    head_got: u8,
}

/// What one handshake fragment decides.
enum Frag {
    /// Nothing complete yet.
    Wait,
    /// A whole message: its type and first two bytes (`None`: shorter).
    Message(u8, Option<u16>),
    /// `AnalyzerViolation`.
    Violation,
}

impl Reasm {
    /// `proc_handshake` for one handshake record: `hs` is the record body
    /// (12-byte handshake header, then the fragment), `seq` the record's
    /// sequence number.
    fn fragment(&mut self, hs: &[u8], seq: u64) -> Frag {
        let u24 = |b: &[u8]| (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let (msg_type, length, message_seq) =
            (hs[0], u24(&hs[1..4]), u16::from_be_bytes([hs[4], hs[5]]));
        let (foffset, flength) = (u24(&hs[6..9]), u24(&hs[9..12]));
        let data = &hs[12..];
        let version = |d: &[u8]| (d.len() >= 2).then(|| u16::from_be_bytes([d[0], d[1]]));
        if foffset == 0 && length == flength {
            return Frag::Message(msg_type, version(data));
        }
        if length > MAX_DTLS_HANDSHAKE_RECORD {
            return Frag::Violation;
        }
        if !self.active || self.message_seq != message_seq || self.length != length {
            // Cannot resume: start this message afresh.
            *self = Reasm {
                active: true,
                message_seq,
                length,
                first_seq: seq,
                ..Reasm::default()
            };
        }
        if self.first_seq > seq {
            if self.first_seen {
                return Frag::Violation; // a second, different first fragment
            }
            let diff = self.first_seq - seq;
            self.seen = if diff < 32 { self.seen << diff } else { 0 };
            self.first_seq = seq;
        }
        if foffset == 0 {
            self.first_seen = true;
        }
        // The seen-bitmask is 32 records wide: a fragment further from the
        // first is dropped, never reassembled (zeek/zeek#5510 bounded the
        // shift that was undefined behaviour past 31).
        let rel = seq - self.first_seq;
        if rel >= 32 || self.seen & (1 << rel) != 0 {
            return Frag::Wait;
        }
        if data.len() != flength as usize {
            return Frag::Violation;
        }
        if u64::from(foffset) + u64::from(flength) > u64::from(length) {
            return Frag::Violation;
        }
        self.seen |= 1 << rel;
        for (k, &b) in data
            .iter()
            .enumerate()
            .take(2usize.saturating_sub(foffset as usize))
        {
            let at = foffset as usize + k;
            self.head[at] = b;
            self.head_got |= 1 << at;
        }
        if foffset + flength == length {
            self.last_seq = seq;
        }
        if self.last_seq != 0 && self.first_seen {
            let total = self.last_seq - self.first_seq;
            if total > 30 {
                return Frag::Violation;
            }
            let want = ((1u64 << (total + 1)) - 1) as u32;
            if !self.seen & want == 0 {
                let v = (self.head_got == 3).then(|| u16::from_be_bytes(self.head));
                return Frag::Message(msg_type, v);
            }
        }
        Frag::Wait
    }
}

fn dtls_version_ok(v: u16) -> bool {
    matches!(v, 0xfeff | 0xfefd | 0xfefc | 0x0100)
}

impl Dtls {
    pub(super) fn flip(&mut self) {
        self.r.swap(0, 1);
    }

    /// No message is being reassembled: nothing to keep between datagrams.
    pub(super) fn idle(&self) -> bool {
        !self.r[0].active && !self.r[1].active
    }

    pub(super) fn run(&mut self, c: &Ctx, m: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Udp {
            return Step::Done;
        }
        let mut p = 0;
        while m.len() >= p + 13 {
            let h = &m[p..p + 13];
            let version = u16::from_be_bytes([h[1], h[2]]);
            let len = usize::from(u16::from_be_bytes([h[11], h[12]]));
            if !(20..=26).contains(&h[0]) || !dtls_version_ok(version) {
                ev.push(Service::Dtls, What::Violation);
                return Step::Done;
            }
            let epoch = u16::from_be_bytes([h[3], h[4]]);
            let seq = h[5..11].iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
            let body = m.get(p + 13..(p + 13 + len).min(m.len())).unwrap_or(&[]);
            // A plaintext (epoch 0) handshake record.
            if h[0] == 22 && epoch == 0 && body.len() >= 12 {
                match self.r[c.dir()].fragment(body, seq) {
                    Frag::Message(1, v) => {
                        // A ClientHello too short for its version does not parse.
                        if v.is_some_and(dtls_version_ok) {
                            ev.push(Service::Dtls, What::Confirm);
                        } else {
                            ev.push(Service::Dtls, What::Violation);
                            return Step::Done;
                        }
                    }
                    Frag::Violation => {
                        ev.push(Service::Dtls, What::Violation);
                        return Step::Done;
                    }
                    Frag::Wait | Frag::Message(_, _) => {}
                }
            }
            p += 13 + len;
        }
        Step::More
    }
}
