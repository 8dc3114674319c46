//! XMPP up to its STARTTLS upgrade.

use super::{Ctx, Events, Step, What};
use crate::conn::service::{Service, Transport};

/// `[?:[:alnum:]]` (the grammar's `XML_NAME` after an optional `/`).
fn name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'?' || b == b':'
}

/// XMPP (`src/analyzer/protocol/xmpp/xmpp-protocol.pac`,
/// `xmpp-analyzer.pac`): attached on 5222, 5269/tcp or by `dpd_xmpp`. Every
/// delivered segment is one binpac datagram of tokens
/// `[ \r\n]* '<' '/'?[?:alnum]+ [^<>]* '>' [ \r\n]*`; text between tags or a
/// segment cut inside a tag is a violation. The client's `stream:stream`
/// confirms; `success`, `message`, `db:result`, `db:verify`, `presence`
/// (either side) stop the analyzer; the client's `starttls` followed by the
/// server's `proceed` hands the following segments to SSL, also with a
/// namespace prefix (`<tls:starttls>`, `<tls:proceed>`: `token_no_ns`). Partial
/// connections and streams after a gap are not parsed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Xmpp {
    client_starttls: bool,
}

impl Xmpp {
    pub(super) fn flip(&mut self) {}

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp || c.partial {
            return Step::Done;
        }
        let spacing = |p: &mut usize| {
            while *p < data.len() && matches!(data[*p], b' ' | b'\r' | b'\n') {
                *p += 1;
            }
        };
        let mut p = 0;
        while p < data.len() {
            spacing(&mut p);
            if data.get(p) != Some(&b'<') {
                ev.push(Service::Xmpp, What::Violation);
                return Step::Done;
            }
            p += 1;
            let n0 = p;
            if data.get(p) == Some(&b'/') {
                p += 1;
            }
            let n1 = p;
            while p < data.len() && name_char(data[p]) {
                p += 1;
            }
            if p == n1 {
                ev.push(Service::Xmpp, What::Violation);
                return Step::Done;
            }
            let name = &data[n0..p];
            while p < data.len() && data[p] != b'<' && data[p] != b'>' {
                p += 1;
            }
            if data.get(p) != Some(&b'>') {
                ev.push(Service::Xmpp, What::Violation);
                return Step::Done;
            }
            p += 1;
            spacing(&mut p);
            // proc_xmpp_token
            if c.is_orig && name == b"stream:stream" {
                ev.push(Service::Xmpp, What::Confirm);
            }
            if matches!(
                name,
                b"success" | b"message" | b"db:result" | b"db:verify" | b"presence"
            ) {
                return Step::Done;
            }
            // `token_no_ns`: the text after the first `:` when something
            // follows it ("this discards the namespace"), else the token.
            let no_ns = match name.iter().position(|&b| b == b':') {
                Some(i) if i + 1 < name.len() => &name[i + 1..],
                _ => name,
            };
            if c.is_orig && (name == b"starttls" || no_ns == b"starttls") {
                self.client_starttls = true;
            }
            if !c.is_orig && (name == b"proceed" || no_ns == b"proceed") && self.client_starttls {
                ev.hand_off(Service::Xmpp, Service::Ssl, data.len());
                return Step::Done;
            }
        }
        Step::More
    }
}
