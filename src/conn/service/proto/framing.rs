//! How parsers cut a stream into units, shared by every parser that needs
//! it: [`LineBuf`], the line splitter of Zeek's ContentLine / NVT support
//! analyzers (the current line's first bytes and its length), the word and
//! reply-code helpers of line protocols, and [`Framed`], a length-framed PDU
//! stream (fixed header, then a body to skip).
//!
//! Must not: know a protocol (the parsers decide what a line or a header
//! means) or buffer more than a fixed number of bytes per direction.

use super::{Events, Step, What};
use crate::conn::service::{find_any, Service};

/// The current line of one direction: its first `N` bytes and its length.
#[derive(Clone, Copy, Debug)]
pub(super) struct LineBuf<const N: usize> {
    pub(super) buf: [u8; N],
    pub(super) total: u32,
    /// Skip a '\n' right after a '\r' terminator.
    skip_lf: bool,
    /// Lines completed so far (saturating).
    count: u32,
    /// The current line was ended by the length limit of
    /// [`feed_with`](Self::feed_with) (Zeek's `nvt_line_size_exceeded` /
    /// `contentline_size_exceeded`), not by a terminator.
    pub(super) limited: bool,
}

impl<const N: usize> Default for LineBuf<N> {
    fn default() -> Self {
        LineBuf {
            buf: [0; N],
            total: 0,
            skip_lf: false,
            count: 0,
            limited: false,
        }
    }
}

impl<const N: usize> LineBuf<N> {
    /// Consumes bytes from `data[*pos..]` until a line is complete (returns
    /// true, `*pos` just after the terminator) or the data ends. With
    /// `lf_only` only '\n' ends a line (a trailing '\r' is dropped), as FTP's
    /// NVT does; otherwise '\r', '\n' and "\r\n" all end one line.
    pub(super) fn feed(&mut self, data: &[u8], pos: &mut usize, lf_only: bool) -> bool {
        self.feed_with(data, pos, lf_only, u32::MAX, |_| {})
    }

    /// [`LineBuf::feed`] with a line length limit and a look at every byte
    /// of the line: `on_body` gets each run of the line's bytes (the whole
    /// run, also past the `N` stored ones; no terminator). A line reaching
    /// `max` bytes is ended as Zeek's NVT and ContentLine analyzers end one
    /// whose buffer cannot grow (`NVT_Analyzer::DeliverChunk`,
    /// `ContentLine_Analyzer::DoDeliverOnce` with `InitBufferSafe`,
    /// `src/analyzer/protocol/{login/NVT.cc,tcp/ContentLine.cc}`): the next
    /// byte, whatever it is, is dropped and the line is delivered with its
    /// first `max - 1` bytes (the last stored one is overwritten by the NUL).
    pub(super) fn feed_with(
        &mut self,
        data: &[u8],
        pos: &mut usize,
        lf_only: bool,
        max: u32,
        mut on_body: impl FnMut(&[u8]),
    ) -> bool {
        self.eat_lf(data, pos);
        let Some(rest) = data.get(*pos..) else {
            return false;
        };
        let end = if lf_only {
            find_any(rest, [b'\n'])
        } else {
            find_any(rest, [b'\n', b'\r'])
        };
        // The byte at `room` would be the line's `max + 1`-th: the limit.
        let room = max.saturating_sub(self.total) as usize;
        let limited = room < rest.len() && room <= end;
        let end = (end < rest.len()).then_some(end);
        let body = if limited {
            &rest[..room]
        } else {
            &rest[..end.unwrap_or(rest.len())]
        };
        let t = self.total as usize;
        if t < N {
            let n = (N - t).min(body.len());
            self.buf[t..t + n].copy_from_slice(&body[..n]);
        }
        on_body(body);
        let added = u32::try_from(body.len()).unwrap_or(u32::MAX);
        self.total = self.total.saturating_add(added);
        self.limited = limited;
        if limited {
            *pos += room + 1;
            self.total = max.saturating_sub(1);
            self.count = self.count.saturating_add(1);
            return true;
        }
        let Some(k) = end else {
            *pos = data.len();
            return false;
        };
        *pos += k + 1;
        if rest[k] == b'\r' {
            // "\r\n" is one terminator; consume the '\n' now if present.
            match data.get(*pos) {
                Some(b'\n') => *pos += 1,
                Some(_) => {}
                None => self.skip_lf = true,
            }
        }
        if lf_only && self.total > 0 && self.last() == Some(b'\r') {
            self.total -= 1;
        }
        self.count = self.count.saturating_add(1);
        true
    }

    /// Consumes the '\n' of a "\r\n" whose '\r' ended the previous line as
    /// the last byte of the previous payload: the first step of every
    /// [`feed`](Self::feed), and of bytes that are not read as lines
    /// (Zeek's `ContentLine_Analyzer::DoDeliver` compresses CRLF before it
    /// looks at a plain delivery).
    pub(super) fn eat_lf(&mut self, data: &[u8], pos: &mut usize) {
        if self.skip_lf {
            if let Some(&b) = data.get(*pos) {
                self.skip_lf = false;
                if b == b'\n' {
                    *pos += 1;
                }
            }
        }
    }

    fn last(&self) -> Option<u8> {
        let t = self.total as usize;
        if t == 0 || t > N {
            return None;
        }
        Some(self.buf[t - 1])
    }

    /// The stored part of the line.
    pub(super) fn line(&self) -> &[u8] {
        &self.buf[..(self.total as usize).min(N)]
    }

    pub(super) fn clear(&mut self) {
        self.total = 0;
        self.limited = false;
    }
}

/// The longest line Zeek's ContentLine and NVT analyzers buffer
/// (`DEFAULT_MAX_LINE_LENGTH`, `src/analyzer/protocol/tcp/ContentLine.h`).
pub(super) const MAX_LINE_LENGTH: u32 = 16 * 1024 * 1024 - 100;

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;

/// Where the telnet option scanner of one direction is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum NvtState {
    #[default]
    Plain,
    /// After an IAC: the next byte says what it is.
    Iac,
    /// After IAC WILL/WONT/DO/DONT: the option byte.
    Opt3,
    /// Inside IAC SB ... IAC SE.
    Sub,
    /// Inside a suboption, right after an IAC.
    SubIac,
}

/// The telnet command scanner of Zeek's NVT support analyzer
/// (`NVT_Analyzer::DeliverChunk` and `ScanOption`,
/// `src/analyzer/protocol/login/NVT.cc`), which FTP puts in front of its
/// lines: an IAC starts a command that never reaches the line (IAC + one
/// byte, IAC WILL/WONT/DO/DONT + option, IAC SB ... IAC SE); IAC IAC is one
/// 255 byte of the line. Inside a suboption IAC IAC is data, and IAC
/// followed by anything but SE ends the suboption and starts a new command
/// with that byte (`BadOptionTermination`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Nvt {
    st: NvtState,
}

impl Nvt {
    /// The next run of line bytes in `data[*i..]` (a range of `data`),
    /// consuming the telnet commands before it; `None` once `data` is used
    /// up.
    pub(super) fn next_run(
        &mut self,
        data: &[u8],
        i: &mut usize,
    ) -> Option<std::ops::Range<usize>> {
        while let Some(&b) = data.get(*i) {
            match self.st {
                NvtState::Plain => {
                    let k = *i + find_any(&data[*i..], [IAC]);
                    if k > *i {
                        let run = *i..k;
                        *i = k;
                        return Some(run);
                    }
                    self.st = NvtState::Iac;
                    *i += 1;
                }
                NvtState::Iac => {
                    *i += 1;
                    self.st = match b {
                        IAC => {
                            self.st = NvtState::Plain;
                            return Some(*i - 1..*i);
                        }
                        SB => NvtState::Sub,
                        251..=254 => NvtState::Opt3,
                        _ => NvtState::Plain,
                    };
                }
                NvtState::Opt3 => {
                    *i += 1;
                    self.st = NvtState::Plain;
                }
                NvtState::Sub => {
                    let k = *i + find_any(&data[*i..], [IAC]);
                    if k < data.len() {
                        self.st = NvtState::SubIac;
                        *i = k + 1;
                    } else {
                        *i = k;
                    }
                }
                NvtState::SubIac => match b {
                    IAC => {
                        self.st = NvtState::Sub;
                        *i += 1;
                    }
                    SE => {
                        self.st = NvtState::Plain;
                        *i += 1;
                    }
                    // Not consumed: it is the byte after a new IAC.
                    _ => self.st = NvtState::Iac,
                },
            }
        }
        None
    }
}

pub(super) fn skip_ws(l: &[u8]) -> &[u8] {
    let i = l
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(l.len());
    &l[i..]
}

/// First whitespace-delimited word and the rest (after blanks).
pub(super) fn word(l: &[u8]) -> (&[u8], &[u8]) {
    let l = skip_ws(l);
    let i = l
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(l.len());
    (&l[..i], skip_ws(&l[i..]))
}

pub(super) fn digits3(l: &[u8]) -> Option<u16> {
    match l {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// A length-framed PDU stream: fixed header, then a body to skip.
#[derive(Clone, Copy, Debug)]
pub(super) struct Framed<const H: usize> {
    hdr: [u8; H],
    pub(super) hlen: u8,
    pub(super) skip: u32,
}

impl<const H: usize> Default for Framed<H> {
    fn default() -> Self {
        Framed {
            hdr: [0; H],
            hlen: 0,
            skip: 0,
        }
    }
}

impl<const H: usize> Framed<H> {
    /// Runs the framing over `data`; `check` validates a complete header and
    /// returns the body length after it (`None` = violation). Confirms each
    /// complete PDU for `s`.
    pub(super) fn run(
        &mut self,
        data: &[u8],
        s: Service,
        ev: &mut Events,
        check: impl Fn(&[u8; H]) -> Option<u32>,
    ) -> Step {
        let mut pos = 0;
        while pos < data.len() {
            if self.hlen as usize == H {
                let n = (self.skip as usize).min(data.len() - pos);
                pos += n;
                self.skip -= n as u32;
                if self.skip == 0 {
                    self.hlen = 0;
                    ev.push(s, What::Confirm);
                }
                continue;
            }
            while (self.hlen as usize) < H && pos < data.len() {
                self.hdr[self.hlen as usize] = data[pos];
                self.hlen += 1;
                pos += 1;
            }
            if (self.hlen as usize) < H {
                break;
            }
            match check(&self.hdr) {
                Some(0) => {
                    self.hlen = 0;
                    ev.push(s, What::Confirm);
                }
                Some(n) => self.skip = n,
                None => {
                    ev.push(s, What::Violation);
                    return Step::Done;
                }
            }
        }
        Step::More
    }
}

#[cfg(test)]
mod tests {
    use super::{LineBuf, Nvt};
    use crate::conn::service::test_rng;

    /// The byte-at-a-time line splitter [`LineBuf::feed`] replaced.
    fn feed_bytewise<const N: usize>(
        lb: &mut LineBuf<N>,
        data: &[u8],
        pos: &mut usize,
        lf_only: bool,
    ) -> bool {
        while let Some(&b) = data.get(*pos) {
            *pos += 1;
            if lb.skip_lf {
                lb.skip_lf = false;
                if b == b'\n' {
                    continue;
                }
            }
            if b == b'\n' || (!lf_only && b == b'\r') {
                if b == b'\r' {
                    match data.get(*pos) {
                        Some(b'\n') => *pos += 1,
                        Some(_) => {}
                        None => lb.skip_lf = true,
                    }
                }
                if lf_only && lb.total > 0 && lb.last() == Some(b'\r') {
                    lb.total -= 1;
                }
                lb.count = lb.count.saturating_add(1);
                return true;
            }
            if (lb.total as usize) < N {
                lb.buf[lb.total as usize] = b;
            }
            lb.total = lb.total.saturating_add(1);
        }
        false
    }

    /// The line bytes `Nvt` lets through `data` delivered in `cuts`.
    fn nvt_text(data: &[u8], cut: usize) -> Vec<u8> {
        let mut nvt = Nvt::default();
        let mut out = Vec::new();
        for seg in [&data[..cut], &data[cut..]] {
            let mut i = 0;
            while let Some(r) = nvt.next_run(seg, &mut i) {
                out.extend_from_slice(&seg[r]);
            }
        }
        out
    }

    #[test]
    fn nvt_drops_telnet_commands_at_any_cut() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"ab\xff\xf4cd", b"abcd"),
            (b"a\xff\xffb", b"a\xffb"),
            (b"a\xff\xfb\x01b", b"ab"),
            (b"a\xff\xfa\x25\xff\xff\x02\xff\xf0b", b"ab"),
            // IAC + not SE ends the suboption; 'x' is then the command byte.
            (b"a\xff\xfa\x25\x01\xffxb", b"ab"),
            (b"\xff\xfa\x18no end\r\n", b""),
        ];
        for (data, want) in cases {
            for cut in 0..=data.len() {
                assert_eq!(nvt_text(data, cut), want, "{data:?} cut {cut}");
            }
        }
    }

    #[test]
    fn line_limit_ends_the_line_and_drops_the_next_byte() {
        let mut lb = LineBuf::<4>::default();
        let (mut pos, mut seen) = (0, 0);
        let data = b"abcdefgh\nxy\n";
        assert!(lb.feed_with(data, &mut pos, true, 5, |b| seen += b.len()));
        assert_eq!((lb.total, pos, seen), (4, 6, 5));
        lb.clear();
        assert!(lb.feed_with(data, &mut pos, true, 5, |_| {}));
        assert_eq!((lb.line(), pos), (&b"gh"[..], 9));
        // A terminator that is the byte past the limit is the dropped one.
        let mut lb = LineBuf::<8>::default();
        let mut pos = 0;
        assert!(lb.feed_with(b"abc\nd\n", &mut pos, true, 3, |_| {}));
        assert_eq!((lb.line(), pos), (&b"ab"[..], 4));
    }

    #[test]
    fn line_splitting_equals_bytewise() {
        let mut rnd = test_rng(0x2545_f491_4f6c_dd1d);
        for round in 0..2000 {
            let n = (rnd() % 64) as usize;
            let data: Vec<u8> = (0..n)
                .map(|_| match rnd() % 6 {
                    0 => b'\r',
                    1 => b'\n',
                    _ => b'a' + (rnd() % 26) as u8,
                })
                .collect();
            let lf_only = round % 2 == 0;
            let (mut a, mut b) = (LineBuf::<8>::default(), LineBuf::<8>::default());
            // Split into two deliveries to exercise a '\r' at a segment end.
            let cut = if n == 0 { 0 } else { (rnd() as usize) % n };
            for seg in [&data[..cut], &data[cut..]] {
                let (mut pa, mut pb) = (0, 0);
                loop {
                    let ra = a.feed(seg, &mut pa, lf_only);
                    let rb = feed_bytewise(&mut b, seg, &mut pb, lf_only);
                    assert_eq!((ra, pa), (rb, pb), "round {round}");
                    assert_eq!(
                        (a.buf, a.total, a.skip_lf, a.count),
                        (b.buf, b.total, b.skip_lf, b.count),
                        "round {round}"
                    );
                    if ra {
                        a.total = 0;
                        b.total = 0;
                    } else {
                        break;
                    }
                }
            }
        }
    }
}
