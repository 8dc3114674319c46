//! Finger: Zeek's Spicy analyzer (`src/analyzer/protocol/finger/finger.spicy`
//! and `finger.evt`), attached on 79/tcp only.
//!
//! Must not: buffer a request or a reply line (every byte goes through a few
//! bytes of state), or panic on any input.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// What the bytes of a multi-byte UTF-8 sequence read so far say about the
/// code point it will decode to (only the lead and the first two trails
/// decide; see [`Utf8::push`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
enum Class {
    /// A valid code point, in its shortest form.
    #[default]
    Valid,
    /// An overlong form of a valid code point.
    Overlong,
    /// Above U+10FFFF or a surrogate.
    Invalid,
    /// Lead `E0`: overlong if the first trail is below `A0`.
    E0,
    /// Lead `ED`: a surrogate if the first trail is `A0` or above.
    Ed,
    /// Lead `F0`: overlong if the first trail is below `90`.
    F0,
    /// Lead `F4`: above U+10FFFF if the first trail is `90` or above.
    F4,
    /// `F0 8D`: overlong; a surrogate if the next trail is `A0` or above.
    F08d,
}

/// Spicy's `bytes::decode()` of a field, fed one byte at a time.
///
/// `decode()` defaults to UTF-8 with `DecodeErrorStrategy::REPLACE` (the
/// `bytes::decode` signature in Spicy's reference, `charset =
/// hilti::Charset::UTF8, errors = hilti::DecodeErrorStrategy::REPLACE`), so
/// the grammar's "we require valid UTF-8 to weed out binary data" does not
/// hold as such: `hilti::rt::Bytes::decode` (`hilti/runtime/src/types/
/// bytes.cc`) loops over `utf8::next` of utfcpp (`source/utf8/checked.h`,
/// `core.h`) and catches only `utf8::invalid_utf8`, which `next` throws for
/// an invalid lead, a missing trail (`INCOMPLETE_SEQUENCE`) and an overlong
/// form: it appends U+FFFD and goes on at the next byte (so an overlong
/// sequence, or one broken by a byte that is no trail, yields one U+FFFD
/// per byte read). The two other failures escape that `catch` and become
/// `RuntimeError("could not decode bytes")`, a parse error, hence an
/// analyzer violation: a sequence cut by the end of the field
/// (`NOT_ENOUGH_ROOM`) and a code point above U+10FFFF or a surrogate
/// (`INVALID_CODE_POINT`, checked before the overlong test). This is the
/// runtime since zeek/spicy#1946 (utfcpp); the utf8proc loop before it
/// replaced every failure, so there `decode()` never failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Utf8 {
    /// Length of the multi-byte sequence being read (0 = none).
    len: u8,
    /// Its bytes read so far, the lead included.
    got: u8,
    class: Class,
}

/// A code point above U+10FFFF or a surrogate: `bytes::decode()` fails.
#[derive(Debug, PartialEq, Eq)]
struct InvalidCodePoint;

impl Utf8 {
    /// A sequence is open: the field ending here cannot be decoded.
    fn pending(self) -> bool {
        self.len != 0
    }

    fn start(&mut self, len: u8, class: Class) {
        *self = Utf8 { len, got: 1, class };
    }

    /// Feeds one byte; returns the code points (U+FFFD included) the decoded
    /// string gains.
    fn push(&mut self, b: u8) -> Result<u8, InvalidCodePoint> {
        let mut out = 0;
        if self.len != 0 {
            if b & 0xc0 == 0x80 {
                self.class = match (self.class, self.got) {
                    (Class::E0, 1) if b < 0xa0 => Class::Overlong,
                    (Class::Ed, 1) if b >= 0xa0 => Class::Invalid,
                    (Class::F0, 1) if b == 0x8d => Class::F08d,
                    (Class::F0, 1) if b < 0x90 => Class::Overlong,
                    (Class::F4, 1) if b >= 0x90 => Class::Invalid,
                    (Class::F08d, 2) if b >= 0xa0 => Class::Invalid,
                    (Class::F08d, 2) => Class::Overlong,
                    (Class::E0 | Class::Ed | Class::F0 | Class::F4, 1) => Class::Valid,
                    (c, _) => c,
                };
                self.got += 1;
                if self.got < self.len {
                    return Ok(0);
                }
                let (len, class) = (self.len, self.class);
                *self = Utf8::default();
                return match class {
                    Class::Invalid => Err(InvalidCodePoint),
                    // U+FFFD for the lead, then each trail is an invalid lead.
                    Class::Overlong => Ok(len),
                    _ => Ok(1),
                };
            }
            // A missing trail: U+FFFD for the lead and for each trail read
            // (each an invalid lead on its own), then `b` starts afresh.
            out = self.got;
            *self = Utf8::default();
        }
        match b {
            0xc0 | 0xc1 => self.start(2, Class::Overlong),
            0xc2..=0xdf => self.start(2, Class::Valid),
            0xe0 => self.start(3, Class::E0),
            0xed => self.start(3, Class::Ed),
            0xe1..=0xef => self.start(3, Class::Valid),
            0xf0 => self.start(4, Class::F0),
            0xf4 => self.start(4, Class::F4),
            0xf1..=0xf3 => self.start(4, Class::Valid),
            0xf5..=0xf7 => self.start(4, Class::Invalid),
            // ASCII, or an invalid lead (`80`-`BF`, `F8`-`FF`): U+FFFD.
            _ => out += 1,
        }
        Ok(out)
    }
}

/// Where an endpoint's parse is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// No payload from this endpoint yet.
    #[default]
    Unset,
    /// `Request`: the first `OptionalWhiteSpace` (`[ \t]*`).
    LeadWs,
    /// `Request`: a `/` that may start the `/W` look-ahead token.
    Slash,
    /// `Request`: the `OptionalWhiteSpace` after `/W`.
    Ws2,
    /// `Request`: `arg` (`[^\r\n]*`).
    Arg,
    /// `Request` parsed: the rest of this endpoint's data is ignored.
    ReqDone,
    /// `Reply`: a `ReplyLine`'s `data` (`[^\r\n]*`).
    Line,
    /// `Reply`: `data` ended with `\r`; `NewLine` (`\r?\n`) needs `\n` next.
    Cr,
}

/// `Request` flags.
const WHOIS: u8 = 1;
/// Past the leading bytes `strip()` removes.
const STARTED: u8 = 2;
/// Past the first `@`: in the host part.
const HOST: u8 = 4;
/// The user part (`arg[0]`) is not empty.
const USER: u8 = 8;
/// A part (reply: the line) holds an invalid code point.
const ERR: u8 = 16;
/// The last bytes read are a run of `strip()` bytes...
const IN_RUN: u8 = 32;
/// ... which began while a UTF-8 sequence was open.
const RUN_PENDING: u8 = 64;

/// A reply line of this many code points confirms (`|self.data| > 10`).
const LONG: u8 = 11;

/// One endpoint's parse: its unit (`Request` or `Reply`) is chosen by its
/// role at its first payload and stays with the endpoint across a flip, as
/// the Spicy driver's per-endpoint parser does (`ProtocolAnalyzer::Process`
/// takes `parserForProtocolAnalyzer(tag, is_orig)` once; `FlipRoles` swaps
/// the endpoints).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Endpoint {
    phase: Phase,
    flags: u8,
    /// `Reply`: code points of the current line, up to [`LONG`].
    chars: u8,
    /// The current field's decoding.
    utf8: Utf8,
}

/// What one payload decided.
#[derive(Debug, Default, PartialEq, Eq)]
struct Out {
    confirm: bool,
    violation: bool,
}

/// `bytes::strip()`'s whitespace (`hilti::rt::trim`: ` \t\f\v\n\r`; `arg`
/// holds no `\r` or `\n`).
fn strip_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x0b | 0x0c)
}

impl Endpoint {
    fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// `Request` on this endpoint's bytes.
    fn request(&mut self, data: &[u8]) -> Out {
        for &b in data {
            match self.phase {
                Phase::LeadWs | Phase::Ws2 if b == b' ' || b == b'\t' => {}
                Phase::LeadWs if b == b'/' => self.phase = Phase::Slash,
                Phase::Slash if b == b'W' => {
                    self.flags |= WHOIS;
                    self.phase = Phase::Ws2;
                }
                Phase::Slash | Phase::LeadWs | Phase::Ws2 | Phase::Arg => {
                    if self.phase == Phase::Slash {
                        // Not `/W`: the `/` starts `arg`.
                        self.arg(b'/');
                    }
                    self.phase = Phase::Arg;
                    if b == b'\r' || b == b'\n' {
                        return self.finish();
                    }
                    self.arg(b);
                }
                _ => break,
            }
        }
        Out::default()
    }

    /// One byte of `arg`, as `strip().split1(b"@")` then `decode()` of each
    /// part will see it.
    fn arg(&mut self, b: u8) {
        let strip = strip_byte(b);
        if !self.has(STARTED) {
            if strip {
                return;
            }
            self.flags |= STARTED;
        }
        if b == b'@' && !self.has(HOST) {
            // The user part ends here (split before any right strip).
            if self.utf8.pending() {
                self.flags |= ERR;
            }
            self.utf8 = Utf8::default();
            self.flags = (self.flags | HOST) & !IN_RUN;
            return;
        }
        if strip {
            if !self.has(IN_RUN) {
                self.flags |= IN_RUN;
                if self.utf8.pending() {
                    self.flags |= RUN_PENDING;
                } else {
                    self.flags &= !RUN_PENDING;
                }
            }
        } else {
            self.flags &= !IN_RUN;
            if !self.has(HOST) {
                self.flags |= USER;
            }
        }
        if self.utf8.push(b).is_err() {
            self.flags |= ERR;
        }
    }

    /// `arg` ended (`\r` or `\n`): the field hook decodes the parts, then
    /// `%done` accepts.
    fn finish(&mut self) -> Out {
        self.phase = Phase::ReqDone;
        // The last part ends before its trailing `strip()` run.
        let cut = if self.has(IN_RUN) {
            self.has(RUN_PENDING)
        } else {
            self.utf8.pending()
        };
        if self.has(ERR) || cut {
            return Out {
                confirm: false,
                violation: true,
            };
        }
        Out {
            confirm: self.has(USER) || self.has(WHOIS),
            violation: false,
        }
    }

    /// `Reply` (`ReplyLine[]`) on this endpoint's bytes.
    fn reply(&mut self, data: &[u8]) -> Out {
        let mut out = Out::default();
        for &b in data {
            if self.phase == Phase::Cr {
                if b != b'\n' {
                    out.violation = true;
                    return out;
                }
                self.line_done(&mut out);
                continue;
            }
            match b {
                b'\r' | b'\n' => {
                    // `data`'s `&convert=$$.decode()`.
                    if self.has(ERR) || self.utf8.pending() {
                        out.violation = true;
                        return out;
                    }
                    if b == b'\n' {
                        self.line_done(&mut out);
                    } else {
                        self.phase = Phase::Cr;
                    }
                }
                _ => match self.utf8.push(b) {
                    Ok(n) => self.chars = self.chars.saturating_add(n).min(LONG),
                    Err(InvalidCodePoint) => self.flags |= ERR,
                },
            }
        }
        out
    }

    /// `NewLine` read: `ReplyLine`'s `%done`.
    fn line_done(&mut self, out: &mut Out) {
        if self.chars >= LONG {
            out.confirm = true;
        }
        *self = Endpoint {
            phase: Phase::Line,
            ..Endpoint::default()
        };
    }
}

/// Finger (`finger.spicy`, `finger.evt`): attached on 79/tcp
/// (`Finger::ports` registered by `base/protocols/finger/main.zeek`; no DPD
/// signature). Each side is one Spicy unit parsed from its first byte, and
/// `spicy::accept_input()` confirms:
///
/// * originator, `Request`, parsed once: `[ \t]*`, an optional `/W` (look-
///   ahead on the two bytes; sets `whois`), `[ \t]*`, then `arg`
///   (`[^\r\n]*`, complete when a `\r` or `\n` arrives: the regexp match
///   ends only on a byte it cannot take). `arg` is `strip()`ped, split at
///   its first `@`; the user part and, if not empty, the host part are
///   `decode()`d ([`Utf8`]: a cut or invalid code point is a violation);
///   `%done` confirms if the user part is not empty or `/W` was seen. Later
///   originator data is ignored (`spicy::rt::driver::ParsingState` drops
///   input once the unit is done), so an empty request confirms nothing
///   and never fails.
/// * responder, `Reply` = `ReplyLine[]`: each line `data` (`[^\r\n]*`,
///   decoded) then `NewLine` (`\r?\n`); `%done` confirms a line of more
///   than 10 code points (U+FFFD counted). A `\r` not followed by `\n`, or a
///   line that does not decode, is a parse error: a violation, which stops
///   the analyzer (`ProtocolAnalyzer::Process` skips both sides) and, within
///   `DPD::ignore_violations_after`, removes the service even after a
///   confirmation (`dpd.zeek`'s `analyzer_failed`).
///
/// Not modelled: the end of data (FIN), where Zeek freezes the stream and
/// an unterminated `arg` would still complete (and could confirm), while an
/// unterminated reply line ends the `ReplyLine[]` look-ahead loop without
/// error (`Eod` is its epsilon branch) and a final lone `\r` fails
/// `NewLine`. Connscope's analyzers see payloads only. After a content gap
/// the analyzer stops without a verdict, as the other Spicy analyzers here
/// (zeek/zeek#5237: `MissingData` is no violation). Partial connections are
/// parsed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Finger {
    /// Indexed by the current role (0 = originator).
    ep: [Endpoint; 2],
}

impl Finger {
    pub(super) fn flip(&mut self) {
        self.ep.swap(0, 1);
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp {
            return Step::Done;
        }
        let e = &mut self.ep[c.dir()];
        if e.phase == Phase::Unset {
            e.phase = if c.is_orig {
                Phase::LeadWs
            } else {
                Phase::Line
            };
        }
        let out = if matches!(e.phase, Phase::Line | Phase::Cr) {
            e.reply(data)
        } else {
            e.request(data)
        };
        if out.confirm {
            ev.push(Service::Finger, What::Confirm);
        }
        if out.violation {
            ev.push(Service::Finger, What::Violation);
            return Step::Done;
        }
        Step::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `hilti::rt::Bytes::decode(UTF8, REPLACE)` over utfcpp's
    /// `validate_next`, transcribed: the number of code points, or `None`
    /// for the `RuntimeError`.
    fn reference_decode(b: &[u8]) -> Option<usize> {
        #[derive(PartialEq)]
        enum E {
            NotEnoughRoom,
            InvalidLead,
            Incomplete,
            Overlong,
            InvalidCodePoint,
        }
        fn validate_next(b: &[u8], p: usize) -> Result<usize, E> {
            let lead = b[p];
            let len = if lead < 0x80 {
                1
            } else if lead >> 5 == 0x6 {
                2
            } else if lead >> 4 == 0xe {
                3
            } else if lead >> 3 == 0x1e {
                4
            } else {
                return Err(E::InvalidLead);
            };
            let mut cp = u32::from(lead)
                & match len {
                    1 => 0x7f,
                    2 => 0x1f,
                    3 => 0x0f,
                    _ => 0x07,
                };
            for i in 1..len {
                let Some(&t) = b.get(p + i) else {
                    return Err(E::NotEnoughRoom);
                };
                if t >> 6 != 0x2 {
                    return Err(E::Incomplete);
                }
                cp = cp << 6 | u32::from(t & 0x3f);
            }
            if cp > 0x10ffff || (0xd800..=0xdfff).contains(&cp) {
                return Err(E::InvalidCodePoint);
            }
            let overlong = match cp {
                0..=0x7f => len != 1,
                0x80..=0x7ff => len != 2,
                0x800..=0xffff => len != 3,
                _ => false,
            };
            if overlong {
                return Err(E::Overlong);
            }
            Ok(p + len)
        }
        let (mut p, mut n) = (0, 0);
        while p < b.len() {
            match validate_next(b, p) {
                Ok(next) => p = next,
                Err(E::NotEnoughRoom | E::InvalidCodePoint) => return None,
                Err(_) => p += 1,
            }
            n += 1;
        }
        Some(n)
    }

    fn stream_decode(b: &[u8]) -> Option<usize> {
        let mut u = Utf8::default();
        let mut n = 0;
        for &x in b {
            n += usize::from(u.push(x).ok()?);
        }
        (!u.pending()).then_some(n)
    }

    #[test]
    fn utf8_matches_utfcpp_exhaustively() {
        // Every byte class boundary the decoder distinguishes.
        const A: [u8; 30] = [
            0x00, 0x41, 0x7f, 0x80, 0x8d, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
            0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xff,
            0x0d, 0x20,
        ];
        let mut buf = Vec::new();
        for len in 0..=4u32 {
            for mut k in 0..A.len().pow(len) {
                buf.clear();
                for _ in 0..len {
                    buf.push(A[k % A.len()]);
                    k /= A.len();
                }
                assert_eq!(stream_decode(&buf), reference_decode(&buf), "{buf:02x?}");
            }
        }
    }

    #[test]
    fn utf8_matches_utfcpp_on_random_bytes() {
        let mut rng = crate::conn::service::test_rng(0x5eed_f1e6);
        for _ in 0..200_000 {
            let r = rng();
            let len = (r % 12) as usize;
            // Bias towards high bytes so that sequences form.
            let buf: Vec<u8> = (0..len)
                .map(|i| {
                    let x = (rng() >> (i % 8)) as u8;
                    if r & (1 << (i + 20)) != 0 {
                        x | 0x80
                    } else {
                        x
                    }
                })
                .collect();
            assert_eq!(stream_decode(&buf), reference_decode(&buf), "{buf:02x?}");
        }
    }

    #[test]
    fn utf8_known_cases() {
        assert_eq!(stream_decode("Gänsefüßchen".as_bytes()), Some(12));
        // Invalid leads and a broken sequence: one U+FFFD per byte.
        assert_eq!(stream_decode(b"\xff\xfe"), Some(2));
        assert_eq!(stream_decode(b"\xe2\x82X"), Some(3));
        assert_eq!(stream_decode(b"\xc0\x80"), Some(2));
        // Cut at the end, surrogate, above U+10FFFF: `RuntimeError`.
        assert_eq!(stream_decode(b"ab\xc3"), None);
        assert_eq!(stream_decode(b"\xed\xa0\x80"), None);
        assert_eq!(stream_decode(b"\xf4\x90\x80\x80"), None);
        assert_eq!(stream_decode(b"\xf0\x8d\xa0\x80"), None);
    }

    fn ctx(is_orig: bool) -> Ctx {
        Ctx {
            is_orig,
            partial: false,
            resp_port: 79,
            transport: Transport::Tcp,
        }
    }

    /// Runs the payloads `(is_orig, bytes)`; returns the events.
    fn run(payloads: &[(bool, &[u8])]) -> (Vec<What>, bool) {
        let mut f = Finger::default();
        let mut all = Vec::new();
        for &(o, d) in payloads {
            let mut ev = Events::default();
            let step = f.run(&ctx(o), d, &mut ev);
            all.extend(ev.items[..ev.n].iter().map(|&(s, w)| {
                assert_eq!(s, Service::Finger);
                w
            }));
            if step == Step::Done {
                return (all, true);
            }
        }
        (all, false)
    }

    const C: What = What::Confirm;
    const V: What = What::Violation;

    #[test]
    fn request_with_user_confirms_at_the_line_end() {
        assert_eq!(run(&[(true, b"julien\r\n")]), (vec![C], false));
        // Not before `arg` is known to be complete.
        assert_eq!(run(&[(true, b"  julien")]), (vec![], false));
        assert_eq!(run(&[(true, b"julien"), (true, b"\n")]), (vec![C], false));
        assert_eq!(run(&[(true, b"user@host.example\r\n")]), (vec![C], false));
        // The user part is what precedes the first `@`.
        assert_eq!(run(&[(true, b"@host\r\n")]), (vec![], false));
        assert_eq!(run(&[(true, b" \x0b @host \r\n")]), (vec![], false));
        assert_eq!(run(&[(true, b"a@b@c\r\n")]), (vec![C], false));
    }

    #[test]
    fn whois_alone_confirms() {
        assert_eq!(run(&[(true, b"/W\r\n")]), (vec![C], false));
        assert_eq!(run(&[(true, b" /W  @host\r\n")]), (vec![C], false));
        // Split between `/` and `W`.
        assert_eq!(run(&[(true, b"/"), (true, b"W\r\n")]), (vec![C], false));
        // `/w` is not the token: `arg` is "/w", a user.
        assert_eq!(run(&[(true, b"/w\r\n")]), (vec![C], false));
        assert_eq!(run(&[(true, b"/\r\n")]), (vec![C], false));
    }

    #[test]
    fn empty_request_confirms_nothing_and_later_data_is_ignored() {
        assert_eq!(run(&[(true, b"\r\n")]), (vec![], false));
        assert_eq!(run(&[(true, b" \t\x0c\r\n")]), (vec![], false));
        // The unit is done: a second line, even binary, changes nothing.
        assert_eq!(
            run(&[(true, b"\r\n"), (true, b"julien\r\n\xed\xa0\x80\r\n")]),
            (vec![], false)
        );
        assert_eq!(run(&[(true, b"bob\n\xff\xfe\r\x00")]), (vec![C], false));
    }

    #[test]
    fn request_decode_failures_are_violations() {
        // Replacement is not failure: binary that decodes with U+FFFD passes.
        assert_eq!(run(&[(true, b"\xff\xfe\x00\x01\r\n")]), (vec![C], false));
        // A surrogate, a cut sequence at the end of the user or host part.
        assert_eq!(run(&[(true, b"\xed\xa0\x80x\r\n")]), (vec![V], true));
        assert_eq!(run(&[(true, b"bob\xc3\r\n")]), (vec![V], true));
        assert_eq!(run(&[(true, b"bob\xc3@host\r\n")]), (vec![V], true));
        assert_eq!(run(&[(true, b"bob@host\xe2\x82\n")]), (vec![V], true));
        // Stripped trailing whitespace cuts the sequence too ...
        assert_eq!(run(&[(true, b"bob\xc3 \t\r\n")]), (vec![V], true));
        // ... but inner whitespace only breaks it (U+FFFD).
        assert_eq!(run(&[(true, b"bob\xc3 x\r\n")]), (vec![C], false));
        // Before the `@`, nothing is stripped.
        assert_eq!(run(&[(true, b"bob\xc3 @host\r\n")]), (vec![C], false));
        // An empty host part is not decoded.
        assert_eq!(run(&[(true, b"bob@ \t\r\n")]), (vec![C], false));
    }

    #[test]
    fn reply_lines() {
        // Ten characters or fewer: no confirmation.
        assert_eq!(run(&[(false, b"0123456789\r\nshort\n\n")]), (vec![], false));
        assert_eq!(run(&[(false, b"01234567890\r\n")]), (vec![C], false));
        // Characters, not bytes: six two-byte letters are six.
        assert_eq!(run(&[(false, "ääääää\r\n".as_bytes())]), (vec![], false));
        // U+FFFD counts.
        assert_eq!(
            run(&[(false, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\n")]),
            (vec![C], false)
        );
        // Not before `NewLine` is complete.
        assert_eq!(run(&[(false, b"Login: julien\r")]), (vec![], false));
        assert_eq!(
            run(&[(false, b"Login: julien\r"), (false, b"\n")]),
            (vec![C], false)
        );
        // An unterminated line decides nothing.
        assert_eq!(run(&[(false, b"Login: julien")]), (vec![], false));
    }

    #[test]
    fn bare_cr_is_a_violation() {
        assert_eq!(run(&[(false, b"abc\rdef\n")]), (vec![V], true));
        assert_eq!(run(&[(false, b"abc\r"), (false, b"x")]), (vec![V], true));
        // After a confirmation: confirmed, then removed.
        assert_eq!(
            run(&[(false, b"Login: julien\r\nabc\r\r\n")]),
            (vec![C, V], true)
        );
        // Undecodable lines.
        assert_eq!(run(&[(false, b"ab\xc3\n")]), (vec![V], true));
        assert_eq!(
            run(&[(false, b"\xf4\x90\x80\x80 and more\r\n")]),
            (vec![V], true)
        );
    }

    #[test]
    fn data_split_across_segments() {
        let req: &[u8] = b" /W  bob\xc3\xa4@host\r\n";
        let resp: &[u8] = b"Login: bob\xc3\xa4\r\n\r\nNo Plan.\r\nab\rX";
        for i in 0..=req.len() {
            let (a, b) = req.split_at(i);
            assert_eq!(run(&[(true, a), (true, b)]), (vec![C], false), "{i}");
            for j in 0..resp.len() {
                // Reply bytes before and after the request (the last byte,
                // the violation, after).
                let (c, d) = resp.split_at(j);
                let got = run(&[(false, c), (true, a), (true, b), (false, d)]);
                assert_eq!(got.0.last(), Some(&V), "{i} {j}");
                assert_eq!(got.0.iter().filter(|&&w| w == C).count(), 2, "{i} {j}");
            }
        }
        for j in 0..=resp.len() {
            let (c, d) = resp.split_at(j);
            assert_eq!(run(&[(false, c), (false, d)]), (vec![C, V], true), "{j}");
        }
        // Byte by byte.
        let mut f = Finger::default();
        let mut evs = Vec::new();
        for &b in resp {
            let mut ev = Events::default();
            f.run(&ctx(false), &[b], &mut ev);
            evs.extend(ev.items[..ev.n].iter().map(|x| x.1));
        }
        assert_eq!(evs, [C, V]);
    }

    #[test]
    fn units_stay_with_their_endpoint_across_a_flip() {
        let mut f = Finger::default();
        let mut ev = Events::default();
        f.run(&ctx(true), b"bo", &mut ev);
        f.flip();
        // The former originator, now the responder, still sends a Request.
        f.run(&ctx(false), b"b\r\n", &mut ev);
        assert_eq!(ev.items[..ev.n], [(Service::Finger, C)]);
    }

    #[test]
    fn state_is_small() {
        assert!(std::mem::size_of::<Finger>() <= 12);
        assert_eq!(std::mem::align_of::<Finger>(), 1);
    }

    #[test]
    fn never_panics_on_random_input() {
        let mut rng = crate::conn::service::test_rng(79);
        for _ in 0..2_000 {
            let mut f = Finger::default();
            for _ in 0..8 {
                let r = rng();
                let len = (r % 40) as usize;
                let d: Vec<u8> = (0..len).map(|_| rng() as u8).collect();
                let mut ev = Events::default();
                if r & 0x100 != 0 {
                    f.flip();
                }
                if f.run(&ctx(r & 1 == 0), &d, &mut ev) == Step::Done {
                    break;
                }
            }
        }
    }
}
