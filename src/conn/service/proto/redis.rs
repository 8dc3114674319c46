//! Redis (RESP): the server's values, counted until a top-level value is
//! whole.
//!
//! Must not: buffer a value (bulk payloads are skipped, only their lengths
//! kept) or fail on the client side.

use super::{Ctx, Events, LineBuf, Step, What};
use crate::conn::service::Service;

/// Redis (`src/analyzer/protocol/redis/resp.spicy`, `zeek_resp.spicy`):
/// attached on 6379/tcp (plus `Redis::ports` redefs) or by
/// `resp-serialized-server`. The server side is a sequence of RESP values:
/// each complete top-level value confirms (`ServerData::%done`), a value
/// whose type byte is not a RESP type is a violation (`%error`). Simple
/// values are one line; bulk strings a length line and that many bytes;
/// arrays, sets and pushes a count of nested values, maps twice that.
/// The client side (arrays or inline commands) cannot fail. Partial
/// connections are parsed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Redis {
    line: LineBuf<24>,
    /// Values still to read to complete the current top-level value (0 =
    /// the next line starts a new one).
    pending: u32,
    /// Bulk payload bytes (plus CRLF) still to skip.
    skip: u64,
}

impl Redis {
    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.is_orig {
            return Step::More;
        }
        let mut pos = 0;
        while pos < data.len() {
            if self.skip > 0 {
                let n = self.skip.min((data.len() - pos) as u64);
                pos += n as usize;
                self.skip -= n;
                if self.skip == 0 {
                    self.value_done(ev);
                }
                continue;
            }
            if !self.line.feed(data, &mut pos, false) {
                break;
            }
            let l = self.line;
            self.line.clear();
            let l = l.line();
            let Some(&ty) = l.first() else {
                // An empty line where a value must start.
                ev.push(Service::Redis, What::Violation);
                return Step::Done;
            };
            let num = || -> Option<i64> { std::str::from_utf8(&l[1..]).ok()?.trim().parse().ok() };
            if self.pending == 0 {
                // A new top-level `ServerData`: one value to read.
                self.pending = 1;
            }
            match ty {
                b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => self.value_done(ev),
                b'$' | b'!' | b'=' => match num() {
                    Some(n) if n >= 0 => self.skip = n as u64 + 2,
                    Some(_) => self.value_done(ev),
                    None => {
                        ev.push(Service::Redis, What::Violation);
                        return Step::Done;
                    }
                },
                b'*' | b'>' | b'~' | b'%' => match num() {
                    Some(n) if n > 0 => {
                        // (a map counts keys and values; a huge count must
                        // not overflow: it is capped below anyway)
                        let k = if ty == b'%' { n.saturating_mul(2) } else { n };
                        self.pending = self.pending.saturating_add(k.min(1 << 20) as u32);
                        self.value_done(ev);
                    }
                    Some(_) => self.value_done(ev),
                    None => {
                        ev.push(Service::Redis, What::Violation);
                        return Step::Done;
                    }
                },
                _ => {
                    ev.push(Service::Redis, What::Violation);
                    return Step::Done;
                }
            }
        }
        Step::More
    }

    /// A value was read: when none remains, a whole `ServerData` is done.
    fn value_done(&mut self, ev: &mut Events) {
        self.pending = self.pending.saturating_sub(1);
        if self.pending == 0 {
            ev.push(Service::Redis, What::Confirm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map whose entry count doubled overflows i64 (found by the
    /// `service_analyzers` fuzz target: a multiply overflow) counts as the
    /// capped number of nested values, like any other huge aggregate: the
    /// value stays open, nothing confirms, nothing panics.
    #[test]
    fn huge_map_count_is_capped_not_wrapped() {
        let c = Ctx {
            is_orig: false,
            partial: false,
            resp_port: 6379,
            transport: crate::conn::service::Transport::Tcp,
        };
        for line in [
            &b"%9223372036854775807\r\n"[..],
            b"*9223372036854775807\r\n",
        ] {
            let mut r = Redis::default();
            let mut ev = Events::default();
            r.run(&c, line, &mut ev);
            assert_eq!(r.pending, 1 << 20, "{:?}", std::str::from_utf8(line));
        }
    }
}
