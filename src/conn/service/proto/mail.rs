//! Mail protocols: SMTP, POP3 and IMAP, each up to its confirmation and
//! its STARTTLS upgrade.

use super::{digits3, word, Ctx, Events, LineBuf, Step, What};
use crate::conn::service::{Service, Transport};

/// SMTP (`src/analyzer/protocol/smtp/SMTP.cc`): attached on 25, 587/tcp or
/// by `dpd_smtp_client` (HELO/EHLO) with `dpd_smtp_server` (220). Every
/// recognised client command raises `smtp_request`, and `RequestEvent`
/// confirms; a server line without a reply code in 100..=599 is a
/// violation. `STARTTLS` (or `X-ANONYMOUSTLS`, `X_ANONYMOUSTLS`) answered by 220 hands over
/// to SSL. Partial connections are skipped (`SetSkipPartial`).
///
/// A content gap in either direction (`SMTP_Analyzer::Undelivered`) puts
/// the analyzer in `SMTP_AFTER_GAP`: client lines are then kept aside, not
/// parsed as commands (so they confirm nothing), until a server reply that
/// starts a new reply (`NewReply`: not a continuation of the pending
/// multi-line reply) moves it to `SMTP_GAP_RECOVERY` with a
/// `RequestEvent("(UNKNOWN)")`, which confirms.
///
/// `TURN` answered by 250 swaps the roles (`UpdateState`: `orig_is_sender
/// = ! orig_is_sender`): from then on the responder's lines are commands
/// (and confirm) and the originator's are replies (and a line without a
/// reply code is the violation).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Smtp {
    d: [SmtpDir; 2],
    starttls: bool,
    /// The last command was `TURN` (its reply decides [`swapped`](Self::swapped)).
    turn: bool,
    /// The roles are swapped by `TURN`: the responder sends the commands.
    swapped: bool,
    /// `SMTP_AFTER_GAP`.
    after_gap: bool,
    /// The code of the multi-line reply in progress (`pending_reply`).
    pending: u16,
}

#[derive(Clone, Copy, Debug, Default)]
struct SmtpDir {
    /// The line's first 20 bytes: the longest command word,
    /// `CONN_ESTABLISHMENT` (18), and the byte after it.
    line: LineBuf<20>,
}

/// The words `ParseCmd` knows: `X-ANONYMOUSTLS`, then every
/// `SMTP_cmd.def` name from `EHLO` up to (not including) `LAST`, the
/// pseudo-commands Zeek uses internally (`CONN_ESTABLISHMENT`,
/// `END_OF_DATA`, `AUTH_ANSWER`) and `X_ANONYMOUSTLS` included: typed by a
/// client they are commands like any other. Any other word (Postfix's
/// `XCLIENT` and `XFORWARD` too) is `-1`: "unknown command", no
/// `RequestEvent`, so no confirmation.
const SMTP_CMDS: [&[u8]; 24] = [
    b"HELO",
    b"EHLO",
    b"MAIL",
    b"RCPT",
    b"DATA",
    b"RSET",
    b"SEND",
    b"SOML",
    b"SAML",
    b"VRFY",
    b"EXPN",
    b"HELP",
    b"NOOP",
    b"QUIT",
    b"TURN",
    b"STARTTLS",
    b"AUTH",
    b"BDAT",
    b"ETRN",
    b"X-ANONYMOUSTLS",
    b"X_ANONYMOUSTLS",
    b"CONN_ESTABLISHMENT",
    b"END_OF_DATA",
    b"AUTH_ANSWER",
];

impl Smtp {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn gap(&mut self, d: usize) {
        self.d[d].line.clear();
        self.after_gap = true;
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp || c.partial {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while self.d[di].line.feed(data, &mut pos, false) {
            let line = self.d[di].line;
            self.d[di].line.clear();
            // `orig == orig_is_sender`: a command line.
            if c.is_orig != self.swapped {
                if self.after_gap {
                    // `line_after_gap`: neither command nor data.
                    continue;
                }
                let (w, _) = word(line.line());
                if SMTP_CMDS.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                    ev.push(Service::Smtp, What::Confirm);
                    self.starttls = w.eq_ignore_ascii_case(b"STARTTLS")
                        || w.eq_ignore_ascii_case(b"X-ANONYMOUSTLS")
                        || w.eq_ignore_ascii_case(b"X_ANONYMOUSTLS");
                    self.turn = w.eq_ignore_ascii_case(b"TURN");
                }
            } else {
                let l = line.line();
                match digits3(l) {
                    Some(code) if (100..=599).contains(&code) => {
                        if self.pending != 0 && code != self.pending {
                            self.pending = 0;
                        }
                        if self.pending == 0 && self.after_gap {
                            // `NewReply` in `SMTP_AFTER_GAP`.
                            self.after_gap = false;
                            ev.push(Service::Smtp, What::Confirm);
                        }
                        let mut tls = false;
                        if self.pending == 0 {
                            // `NewReply`: `UpdateState(first_cmd, code)`
                            // for the command answered (the last one;
                            // none for a second reply: `first_cmd = -1`).
                            // TURN + 250 is `flip-side`; STARTTLS + 220
                            // starts TLS.
                            self.swapped ^= self.turn && code == 250;
                            tls = self.starttls && code == 220;
                            self.turn = false;
                            self.starttls = false;
                        }
                        self.pending = if l.get(3) == Some(&b'-') { code } else { 0 };
                        if tls {
                            ev.hand_off(Service::Smtp, Service::Ssl, pos);
                            return Step::Done;
                        }
                    }
                    _ => {
                        ev.push(Service::Smtp, What::Violation);
                        return Step::Done;
                    }
                }
            }
        }
        Step::More
    }
}

// ---------------------------------------------------------------------------

/// POP3 command words, in `POP3_cmd.def` order.
const POP3_WORDS: [&[u8]; 19] = [
    b"OK", b"ERR", b"USER", b"PASS", b"APOP", b"AUTH", b"STAT", b"LIST", b"RETR", b"DELE", b"RSET",
    b"NOOP", b"LAST", b"QUIT", b"TOP", b"CAPA", b"UIDL", b"STLS", b"XSENDER",
];
const P_OK: u8 = 0;
const P_ERR: u8 = 1;
const P_USER: u8 = 2;
const P_PASS: u8 = 3;
const P_APOP: u8 = 4;
const P_AUTH: u8 = 5;
const P_STAT: u8 = 6;
const P_LIST: u8 = 7;
const P_RETR: u8 = 8;
const P_DELE: u8 = 9;
const P_RSET: u8 = 10;
const P_NOOP: u8 = 11;
const P_LAST: u8 = 12;
const P_QUIT: u8 = 13;
const P_TOP: u8 = 14;
const P_CAPA: u8 = 15;
const P_UIDL: u8 = 16;
const P_STLS: u8 = 17;
const P_XSENDER: u8 = 18;

/// `POP3_Analyzer::ParseCmd`: the word is compared case-insensitively with
/// each `POP3_cmd.def` word in turn, and a leading `+`/`-` is dropped at
/// *every* step of that loop (the check sits inside `for ( int code = ...
/// )`). So by the word at index `i` up to `i + 1` leading signs are gone:
/// `++ERR` is ERR, `++OK` is no word (one sign is left when OK is tried).
fn pop3_cmd(tok: &[u8]) -> Option<u8> {
    let signs = tok.iter().take_while(|&&b| b == b'+' || b == b'-').count();
    let t = &tok[signs..];
    POP3_WORDS
        .iter()
        .position(|w| t.eq_ignore_ascii_case(w))
        .filter(|&i| i + 1 >= signs)
        .map(|i| i as u8)
}

/// The first token of a line after `trim_whitespace`, and whether an
/// argument follows it.
fn pop3_tokens(l: &[u8]) -> (&[u8], bool) {
    let l = super::skip_ws(l);
    let end = l.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    let l = &l[..end];
    match l.iter().position(|&b| b == b' ') {
        Some(i) => (&l[..i], true),
        None => (l, false),
    }
}

/// POP3 analyzer states (`POP3.h`): the session state and the state of the
/// command being answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Master {
    #[default]
    Start,
    Authorization,
    Transaction,
    Update,
    Finished,
}

/// POP3 (`src/analyzer/protocol/pop3/POP3.cc`): no registered port, only
/// `dpd_pop3_server` (`+OK`) with `dpd_pop3_client`. Client lines are
/// queued commands (pipelining); each server reply answers the oldest. The
/// analyzer confirms on `+OK` to `USER`, to `CAPA` and to `STLS`; `+OK` to
/// `STLS` also hands the rest of the stream to SSL. A server line whose
/// first word is no POP3 word (outside multi-line data and authentication)
/// is a violation. Partial connections are skipped.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Pop3 {
    d: [LineBuf<16>; 2],
    master: Master,
    /// The command being answered (`state`), `None` = START.
    state: Option<u8>,
    last_state: Option<u8>,
    guessing: bool,
    waiting_auth: bool,
    request_multi: bool,
    multi: bool,
    /// Pending client commands: (code or 0xff for unknown, has argument).
    queue: [(u8, bool); 8],
    queued: u8,
}

impl Pop3 {
    pub(super) fn flip(&mut self) {
        self.d.swap(0, 1);
    }

    pub(super) fn gap(&mut self, d: usize) {
        self.d[d].clear();
    }

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp || c.partial {
            return Step::Done;
        }
        let di = c.dir();
        let mut pos = 0;
        while self.d[di].feed(data, &mut pos, false) {
            let line = self.d[di];
            self.d[di].clear();
            if c.is_orig {
                self.request(line.line(), line.total);
            } else if let Some(done) = self.reply(line.line(), line.total, ev) {
                if done {
                    ev.hand_off(Service::Pop3, Service::Ssl, pos);
                }
                return Step::Done;
            }
        }
        Step::More
    }

    /// `ProcessRequest`.
    fn request(&mut self, l: &[u8], total: u32) {
        if total == 0 || self.waiting_auth {
            return;
        }
        let (tok, arg) = pop3_tokens(l);
        let code = pop3_cmd(tok).unwrap_or(0xff);
        if (self.queued as usize) < self.queue.len() {
            self.queue[self.queued as usize] = (code, arg);
            self.queued += 1;
            if self.queued == 1 {
                self.client_cmd();
            }
        }
    }

    /// `ProcessClientCmd` for the oldest queued command.
    fn client_cmd(&mut self) {
        if self.queued == 0 {
            return;
        }
        let (code, arg) = self.queue[0];
        let trans = self.master == Master::Transaction;
        let auth = self.master == Master::Authorization;
        let guess = |s: &mut Pop3, st: u8| {
            s.guessing = true;
            s.last_state = Some(st);
        };
        match code {
            P_USER if auth => self.state = Some(P_USER),
            P_PASS if auth && self.state == Some(P_USER) => self.state = Some(P_PASS),
            P_APOP if auth => self.state = Some(P_APOP),
            P_AUTH if auth => {
                self.state = Some(P_AUTH);
                if !arg {
                    self.request_multi = true;
                } else {
                    self.waiting_auth = true;
                }
            }
            P_STAT if trans => self.state = Some(P_STAT),
            P_LIST | P_UIDL => {
                if !arg {
                    self.request_multi = true;
                }
                if trans {
                    self.state = Some(code);
                } else {
                    guess(self, code);
                }
            }
            P_RETR | P_TOP => {
                self.request_multi = true;
                if trans {
                    self.state = Some(code);
                } else {
                    guess(self, code);
                }
            }
            P_DELE | P_RSET | P_NOOP | P_LAST => {
                if trans {
                    self.state = Some(code);
                } else {
                    guess(self, code);
                }
            }
            P_QUIT => {
                if auth || trans || self.master == Master::Start {
                    self.state = Some(P_QUIT);
                } else {
                    guess(self, P_LAST);
                }
            }
            P_CAPA => {
                self.state = Some(P_CAPA);
                self.request_multi = true;
            }
            P_STLS => self.state = Some(P_STLS),
            P_XSENDER => {
                if trans {
                    self.state = Some(P_LAST);
                } else {
                    guess(self, P_XSENDER);
                }
            }
            _ => {}
        }
    }

    /// `FinishClientCmd`.
    fn finish_cmd(&mut self) {
        if self.queued == 0 {
            return;
        }
        self.queue.copy_within(1.., 0);
        self.queued -= 1;
        self.client_cmd();
    }

    /// `ProcessReply`: `Some(true)` = STARTTLS, `Some(false)` = violation.
    fn reply(&mut self, l: &[u8], total: u32, ev: &mut Events) -> Option<bool> {
        if self.multi {
            if total == 1 && l.first() == Some(&b'.') {
                self.request_multi = false;
                self.multi = false;
                self.finish_cmd();
            }
            return None;
        }
        let (tok, _) = pop3_tokens(l);
        let Some(code) = pop3_cmd(tok) else {
            if !self.waiting_auth {
                ev.push(Service::Pop3, What::Violation);
                return Some(false);
            }
            return None;
        };
        match code {
            P_OK => {
                if self.guessing {
                    self.master = Master::Transaction;
                    self.guessing = false;
                    self.state = self.last_state;
                }
                match self.state {
                    None => self.master = Master::Authorization,
                    Some(P_USER) => {
                        self.master = Master::Authorization;
                        ev.push(Service::Pop3, What::Confirm);
                    }
                    Some(
                        P_PASS | P_APOP | P_NOOP | P_LAST | P_STAT | P_RSET | P_DELE | P_XSENDER,
                    ) => {
                        self.master = Master::Transaction;
                    }
                    Some(P_AUTH) => {
                        if self.request_multi {
                            self.multi = true;
                        }
                        if self.waiting_auth {
                            self.master = Master::Transaction;
                        }
                        self.waiting_auth = false;
                    }
                    Some(P_TOP | P_RETR | P_UIDL | P_LIST) if self.request_multi => {
                        self.multi = true;
                    }
                    Some(P_CAPA) => {
                        ev.push(Service::Pop3, What::Confirm);
                        if self.request_multi {
                            self.multi = true;
                        }
                    }
                    Some(P_STLS) => {
                        ev.push(Service::Pop3, What::Confirm);
                        return Some(true);
                    }
                    Some(P_QUIT) => {
                        self.master = match self.master {
                            Master::Authorization | Master::Start => Master::Finished,
                            Master::Transaction => Master::Update,
                            m => m,
                        };
                    }
                    _ => {}
                }
                if !self.multi {
                    self.finish_cmd();
                }
            }
            P_ERR => {
                self.multi = false;
                self.request_multi = false;
                self.guessing = false;
                self.waiting_auth = false;
                match self.state {
                    Some(P_USER | P_PASS | P_APOP | P_AUTH) => {
                        self.master = Master::Authorization;
                        self.state = None;
                    }
                    Some(
                        P_NOOP | P_LAST | P_STAT | P_RSET | P_DELE | P_LIST | P_RETR | P_UIDL
                        | P_TOP | P_XSENDER,
                    ) => {
                        self.master = Master::Transaction;
                    }
                    Some(P_QUIT) => {
                        if matches!(
                            self.master,
                            Master::Authorization | Master::Transaction | Master::Start
                        ) {
                            self.master = Master::Finished;
                        }
                    }
                    _ => {}
                }
                self.finish_cmd();
            }
            _ => {} // a client command from the server: a weird only
        }
        None
    }
}

// ---------------------------------------------------------------------------

/// `[[:alnum:][:punct:]]` (the IMAP grammar's `TAG`).
fn imap_tag_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b.is_ascii_punctuation()
}

/// IMAP (`src/analyzer/protocol/imap/imap-protocol.pac`, `imap-analyzer.pac`):
/// attached on 143/tcp only (no signature). Every delivered segment is one
/// binpac datagram of tokens `TAG SP+ COMMAND SP* ...` each ending in a line
/// break; a segment that does not parse so is a violation. The server's
/// `* OK` and the client's `capability` (exact case) or `starttls` confirm;
/// `authenticate`, `login`, `examine`, `create`, `list`, `fetch` (exact
/// case) confirm and stop the analyzer. The client's `<tag> STARTTLS`
/// answered by `<tag> OK` hands the following segments to SSL. Partial
/// connections and streams after a gap are not parsed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Imap {
    starttls_tag: [u8; 16],
    starttls_len: u8,
}

impl Imap {
    pub(super) fn flip(&mut self) {}

    pub(super) fn run(&mut self, c: &Ctx, data: &[u8], ev: &mut Events) -> Step {
        if c.transport != Transport::Tcp || c.partial {
            return Step::Done;
        }
        let mut p = 0;
        while p < data.len() {
            // tag
            let t0 = p;
            while p < data.len() && imap_tag_char(data[p]) {
                p += 1;
            }
            let tag = &data[t0..p];
            // spacing (at least one blank)
            let s0 = p;
            while p < data.len() && data[p] == b' ' {
                p += 1;
            }
            // command
            let c0 = p;
            while p < data.len() && imap_tag_char(data[p]) {
                p += 1;
            }
            let cmd = &data[c0..p];
            if tag.is_empty() || p == s0 || cmd.is_empty() || c0 == s0 {
                ev.push(Service::Imap, What::Violation);
                return Step::Done;
            }
            while p < data.len() && data[p] == b' ' {
                p += 1;
            }
            let server_capability =
                !c.is_orig && tag == b"*" && cmd.eq_ignore_ascii_case(b"capability");
            if server_capability {
                // Capability[] until a capability ends with a line break.
                loop {
                    let k0 = p;
                    while p < data.len() && imap_tag_char(data[p]) {
                        p += 1;
                    }
                    if p == k0 {
                        ev.push(Service::Imap, What::Violation);
                        return Step::Done;
                    }
                    while p < data.len() && data[p] == b' ' {
                        p += 1;
                    }
                    let n0 = p;
                    while p < data.len() && (data[p] == b'\r' || data[p] == b'\n') {
                        p += 1;
                    }
                    if p > n0 {
                        break;
                    }
                    if p >= data.len() {
                        // Ran out of input inside the list.
                        ev.push(Service::Imap, What::Violation);
                        return Step::Done;
                    }
                }
            } else {
                while p < data.len() && data[p] != b'\r' && data[p] != b'\n' {
                    p += 1;
                }
                let n0 = p;
                while p < data.len() && (data[p] == b'\r' || data[p] == b'\n') {
                    p += 1;
                }
                if p == n0 {
                    ev.push(Service::Imap, What::Violation);
                    return Step::Done;
                }
            }
            if let Some(step) = self.token(c.is_orig, tag, cmd, data.len(), ev) {
                return step;
            }
        }
        Step::More
    }

    /// `proc_imap_token`.
    fn token(
        &mut self,
        is_orig: bool,
        tag: &[u8],
        cmd: &[u8],
        end: usize,
        ev: &mut Events,
    ) -> Option<Step> {
        let lower_is = |w: &[u8]| cmd.eq_ignore_ascii_case(w);
        if !is_orig && tag == b"*" && lower_is(b"ok") {
            ev.push(Service::Imap, What::Confirm);
        }
        if is_orig && (cmd == b"capability" || lower_is(b"starttls")) {
            ev.push(Service::Imap, What::Confirm);
        }
        const SKIP: [&[u8]; 6] = [
            b"authenticate",
            b"login",
            b"examine",
            b"create",
            b"list",
            b"fetch",
        ];
        if SKIP.contains(&cmd) {
            ev.push(Service::Imap, What::Confirm);
            return Some(Step::Done);
        }
        if is_orig && lower_is(b"starttls") {
            let n = tag.len().min(self.starttls_tag.len());
            self.starttls_tag[..n].copy_from_slice(&tag[..n]);
            self.starttls_len = n as u8;
        }
        let want = &self.starttls_tag[..self.starttls_len as usize];
        if !is_orig && !want.is_empty() && tag == want && lower_is(b"ok") {
            // StartTLS: later segments go to SSL.
            ev.hand_off(Service::Imap, Service::Ssl, end);
            return Some(Step::Done);
        }
        None
    }
}
