//! Zeek semantics beyond the public corpus, found by re-reading Zeek's
//! source (issue 15, recorded in `docs/ZEEK_GENERATORS.md`, "Analyzer
//! confirmation audit"), each on a capture this test builds
//! (`zeek_rules/pcap.rs`) and run through the `connscope` binary. The
//! expected values are written from Zeek's source as of `a13de64`, cited at
//! each test:
//!
//! 1. DNS over TCP: `Contents_DNS` reassembles a message split over
//!    segments, and the reassembled message confirms and flips like one
//!    whole in a segment;
//! 2. DNS over TCP: at connection close (`ConnectionClosed` → `Flush`) a
//!    message partly received is parsed as it stands: it can confirm, it
//!    never flips, and too many questions are still a violation (with `X`);
//!    without a FIN or RST nothing is flushed;
//! 3. DNS over TCP: a content gap does not stop the analyzer (the bytes
//!    after it continue the stream);
//! 4. DNS: a name ends at the first label that does not fit the 512-byte
//!    name buffer (`DNS_label_len_gt_name_len`);
//! 5. DNP3 (`DNP3_Base::ProcessData`): a frame is judged once 11 bytes are
//!    in, a missing `0x05 0x64` only stops the analyzer, any good header
//!    CRC confirms (even a length below 5), a later bad one is a
//!    violation, and over UDP a header may span datagrams;
//! 6. LDAP: after a successful SASL bind, the first message of either
//!    direction decides for the rest of the connection whether messages
//!    are cleartext or encrypted (`MaybeEncrypted`, shared `Ctx`);
//! 7. SMTP: `ParseCmd` knows the pseudo-command words of `SMTP_cmd.def`
//!    (`CONN_ESTABLISHMENT`, `END_OF_DATA`, `AUTH_ANSWER`,
//!    `X_ANONYMOUSTLS`), so a client typing them sends a command;
//! 8. SNMPv3: a `msgFlags` that is not one byte long is a violation.

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use run::by_port;
use run::conn as run;

/// A DNS message: `flags` (QR is 0x8000), one question for `name` (type A,
/// class IN), `qdcount` as given (the question is written once) and, for
/// a response, one A answer pointing at the question.
fn dns(id: u16, flags: u16, qdcount: u16, name: &str) -> Vec<u8> {
    let response = flags & 0x8000 != 0;
    let mut m = Vec::new();
    m.extend(id.to_be_bytes());
    m.extend(flags.to_be_bytes());
    m.extend(qdcount.to_be_bytes());
    m.extend(u16::from(response).to_be_bytes());
    m.extend([0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend(label.as_bytes());
    }
    m.extend([0, 0, 1, 0, 1]);
    if response {
        m.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    }
    m
}

/// `msg` with its 2-byte TCP length prefix.
fn framed(msg: &[u8]) -> Vec<u8> {
    cut(msg.len(), msg)
}

/// `msg` after a 2-byte TCP length prefix that says `len` bytes.
fn cut(len: usize, msg: &[u8]) -> Vec<u8> {
    cat(&[&(len as u16).to_be_bytes(), msg])
}

/// `Contents_DNS::ProcessChunk` (`src/analyzer/protocol/dns/DNS.cc`) reads
/// the 2-byte length (`DNS_LEN_HI`, `DNS_LEN_LO`), copies bytes into
/// `msg_buf` until `buf_n == msg_size` whatever the segments, then
/// `ForwardPacket` → `DNS_Analyzer::DeliverPacket` →
/// `DNS_Interpreter::ParseMessage(data, len, orig ? 1 : 0)`, which calls
/// `AnalyzerConfirmation()` once the questions and answers parse, and first
/// `FlipRoles()` when the analyzer's first message comes from the
/// originator with QR set. So a query split after 5 bytes of its length
/// and body, or after the first length byte, confirms `dns`; a response
/// sent first by the originator, split, flips the connection (`^` in the
/// history, ports swapped).
#[test]
fn dns_tcp_message_split_over_segments_is_reassembled() {
    let q = framed(&dns(1, 0x0100, 1, "www.example.com"));
    let r = framed(&dns(1, 0x8180, 1, "www.example.com"));
    let mut cap = Cap::default();
    // Query split inside the body, reply split after its first length byte.
    let mut t = conversation(&mut cap, 41000, 53);
    t.handshake(0);
    let next = t.talk(
        10,
        &[
            (true, &q[..7]),
            (true, &q[7..]),
            (false, &r[..1]),
            (false, &r[1..]),
        ],
    );
    t.close(next);
    // The originator's first message is a response, in three segments.
    let mut t = conversation(&mut cap, 41001, 53);
    t.handshake(1000);
    let next = t.talk(
        1010,
        &[(true, &r[..3]), (true, &r[3..20]), (true, &r[20..])],
    );
    t.close(next);
    let conn = run("dns-tcp-split", &cap, &[]);
    let a = by_port(&conn, 41000);
    assert_eq!(a["service"], "dns", "{a:#?}");
    // After the flip the server side (53) is the originator.
    let b = by_port(&conn, 53);
    assert_eq!(b["service"], "dns", "{b:#?}");
    assert_eq!(b["id.resp_p"], 41001, "{b:#?}");
    assert!(b["history"].as_str().unwrap().contains('^'), "{b:#?}");
}

/// `DNS_Analyzer::ConnectionClosed` (`DNS.cc`) calls
/// `contents_dns_orig->Flush()` and `contents_dns_resp->Flush()`; `Flush`:
/// `if ( buf_n > 0 ) { interp->ParseMessage(msg_buf, buf_n, 2); msg_size =
/// 0; }`. `TCPSessionAdapter::Process` calls `ConnectionClosed` on every
/// segment that closes its sender (`do_close`: a FIN, or a RST), after the
/// segment's data (`DataSent`), and `ConnectionClosed` passes it to every
/// child analyzer before anything else. So a query whose length prefix
/// says 80 bytes but of which only the 33 of a whole query came confirms
/// `dns` at the FIN (or the RST), and not when the capture just ends
/// without either. `is_query` 2 never flips (`first_message && msg.QR &&
/// is_query == 1`), so a cut response from the originator confirms without
/// a flip.
#[test]
fn dns_tcp_message_cut_at_close_is_parsed() {
    let q = dns(2, 0x0100, 1, "www.example.com");
    let r = dns(2, 0x8180, 1, "www.example.com");
    let cut_q = cut(80, &q);
    let cut_r = cut(90, &r);
    let mut cap = Cap::default();
    // FIN.
    let mut t = conversation(&mut cap, 42000, 53);
    t.handshake(0);
    let next = t.talk(10, &[(true, &cut_q)]);
    t.close(next);
    // RST from the server.
    let mut t = conversation(&mut cap, 42001, 53);
    t.handshake(1000);
    let next = t.talk(1010, &[(true, &cut_q)]);
    t.send(next, false, RST | ACK, &[]);
    // No FIN, no RST: nothing is flushed.
    let mut t = conversation(&mut cap, 42002, 53);
    t.handshake(2000);
    t.talk(2010, &[(true, &cut_q)]);
    // A cut response from the originator: confirmed, not flipped.
    let mut t = conversation(&mut cap, 42003, 53);
    t.handshake(3000);
    let next = t.talk(3010, &[(true, &cut_r)]);
    t.close(next);
    let conn = run("dns-tcp-cut", &cap, &[]);
    for port in [42000, 42001] {
        let c = by_port(&conn, port);
        assert_eq!(c["service"], "dns", "{c:#?}");
    }
    let c = by_port(&conn, 42002);
    assert!(c.get("service").is_none(), "{c:#?}");
    let c = by_port(&conn, 42003);
    assert_eq!(c["service"], "dns", "{c:#?}");
    assert_eq!(c["id.resp_p"], 53, "{c:#?}");
    assert!(!c["history"].as_str().unwrap().contains('^'), "{c:#?}");
}

/// `Flush` → `ParseMessage`: `if ( dns_max_queries > 0 && msg.qdcount >
/// dns_max_queries )` (25) → `AnalyzerViolation("DNS_Conn_count_too_large")`
/// before anything else is parsed, for a flushed message too; within
/// `DPD::ignore_violations_after` `dpd.zeek` removes the confirmed `dns`,
/// and the limit marks the history with `X` (as for a whole message). The
/// first, whole query confirmed; the second is cut after its header.
#[test]
fn dns_tcp_cut_message_with_too_many_questions_is_a_violation() {
    let q = framed(&dns(3, 0x0100, 1, "www.example.com"));
    let many = cut(200, &dns(4, 0x0100, 26, "www.example.com"));
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 43000, 53);
    t.handshake(0);
    let next = t.talk(10, &[(true, &q), (true, &many[..20])]);
    t.close(next);
    let conn = run("dns-tcp-cut-violation", &cap, &[]);
    let c = by_port(&conn, 43000);
    assert!(c.get("service").is_none(), "{c:#?}");
    assert!(c["history"].as_str().unwrap().contains('X'), "{c:#?}");
}

/// `Contents_DNS` (`DNS.cc`, and `DNS.h`: it overrides only
/// `DeliverStream`) has no `Undelivered`, and `DNS_Analyzer` no gap check:
/// when the server's ACK reveals that a segment was never seen
/// (`TCP_Reassembler` → `NextUndelivered`), the analyzer keeps reading the
/// stream after the hole as if it followed on. Here the lost segment holds
/// a whole message, so the next ones stay framed: the query after the gap
/// confirms `dns`. (The messages before it have a question count but no
/// question, and confirm nothing.)
#[test]
fn dns_tcp_reads_on_after_a_content_gap() {
    let empty = framed(&{
        let mut h = dns(5, 0x0100, 1, "a");
        h.truncate(12);
        h
    });
    let q = framed(&dns(6, 0x0100, 1, "www.example.com"));
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 44000, 53);
    t.handshake(0);
    t.send(10, true, ACK | PSH, &empty);
    // A segment that was not captured.
    t.c.seq += empty.len() as u32;
    t.send(20, true, ACK | PSH, &empty);
    // The server acknowledges everything: a content gap.
    t.send(21, false, ACK, &[]);
    let next = t.talk(30, &[(true, &q)]);
    t.close(next);
    let conn = run("dns-tcp-gap", &cap, &[]);
    let c = by_port(&conn, 44000);
    assert_eq!(c["service"], "dns", "{c:#?}");
    assert!(c["history"].as_str().unwrap().contains('G'), "{c:#?}");
}

/// `ParseQuestion` (`DNS.cc`) extracts the name into `u_char name[513]`
/// with `int name_len = sizeof(name) - 1;` (512); `ExtractLabel` copies a
/// label and its dot (`name_len -= label_len + 1`) and, before that,
/// `if ( label_len >= name_len ) { Weird("DNS_label_len_gt_name_len");
/// return false; }` after consuming the length byte, which ends the name
/// there. Eight 63-byte labels take 512 bytes, so the ninth ends the name
/// after its length byte, and the question's type and class are read from
/// that label's bytes (`len >= 4`): `ParseQuestions` succeeds and, with no
/// answers, `AnalyzerConfirmation()`. The datagram has no bytes after the
/// name, so reading the whole name leaves no type and class.
#[test]
fn dns_name_ends_at_a_label_past_the_name_buffer() {
    let mut m = dns(7, 0x0100, 1, "a");
    m.truncate(12);
    for _ in 0..9 {
        m.push(63);
        m.extend([b'q'; 63]);
    }
    m.push(0);
    let mut cap = Cap::default();
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    cap.at(0, frame(Link::Eth, &udp(c, s, 45000, 53, &m, UdpSum::Good)));
    // The same name over TCP, split over two segments.
    let f = framed(&m);
    let mut t = conversation(&mut cap, 45001, 53);
    t.handshake(100);
    let next = t.talk(110, &[(true, &f[..300]), (true, &f[300..])]);
    t.close(next);
    let conn = run("dns-name-buffer", &cap, &[]);
    for port in [45000, 45001] {
        let r = by_port(&conn, port);
        assert_eq!(r["service"], "dns", "{r:#?}");
    }
}

/// A DNP3 link frame: header (control `ctrl`, length from `user`, CRC),
/// then `user` (transport byte first) in 16-byte chunks, each with its CRC.
fn dnp3_frame(ctrl: u8, len: u8, user: &[u8]) -> Vec<u8> {
    let mut f = vec![0x05, 0x64, len, ctrl, 1, 0, 2, 0];
    f.extend(crc16_dnp(&f).to_le_bytes());
    for chunk in user.chunks(16) {
        f.extend(chunk);
        f.extend(crc16_dnp(chunk).to_le_bytes());
    }
    f
}

/// `DNP3_Base::ProcessData` (`src/analyzer/protocol/dnp3/DNP3.cc`, the
/// `DNP3_TCP` and `DNP3_UDP` analyzers both): `AddToBuffer(endp,
/// PSEUDO_APP_LAYER_INDEX, ...)` gathers 11 bytes before anything is
/// judged (`res == 0` → wait). Then: `buffer[0] != 0x05 || buffer[1] !=
/// 0x64` → `Weird("dnp3_header_lacks_magic")`, `return false` →
/// `SetSkip(true)`, no violation; `! CheckCRC(...)` →
/// `AnalyzerViolation("broken_checksum")`; else `AnalyzerConfirmation()`
/// before the length is looked at, on every frame. So, on 20000/tcp:
/// a lone 10-byte link-only frame confirms nothing; a responder without
/// the magic does not undo the originator's confirmation; a length of 3
/// with a good header CRC confirms; a second frame with a bad header CRC
/// removes `dnp3_tcp` again (within `DPD::ignore_violations_after`). On
/// 20000/udp the endpoint buffers last across datagrams, so a header
/// split over two datagrams confirms `dnp3_udp`.
#[test]
fn dnp3_link_frames_are_judged_as_process_data_does() {
    let user = [0xc0, 0xc1, 0x01, 0x3c, 0x02, 0x06];
    let good = dnp3_frame(0xc4, 11, &user);
    let link_only = dnp3_frame(0x49, 5, &[]);
    let short = cat(&[&dnp3_frame(0x49, 3, &[]), &[0xc0]]);
    let mut bad_crc = good.clone();
    bad_crc[8] ^= 0xff;
    let no_magic = [0x05u8, 0x65, 11, 0x44, 2, 0, 1, 0, 0, 0, 0, 0, 0];
    let mut cap = Cap::default();
    let cases: [(u16, Talk<'_>); 4] = [
        (46000, vec![(true, &link_only)]),
        (46001, vec![(true, &good), (false, &no_magic)]),
        (46002, vec![(true, &short)]),
        (46003, vec![(true, &good), (true, &bad_crc)]),
    ];
    conversations(&mut cap, 20000, &cases);
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    for (i, part) in [&good[..6], &good[6..]].iter().enumerate() {
        let f = frame(Link::Eth, &udp(c, s, 46004, 20000, part, UdpSum::Good));
        cap.at(9000 + i as u64, f);
    }
    let conn = run("dnp3-process-data", &cap, &[]);
    let service = |port: u16| by_port(&conn, port).get("service").cloned();
    assert_eq!(service(46000), None);
    assert_eq!(service(46001), Some("dnp3_tcp".into()));
    assert_eq!(service(46002), Some("dnp3_tcp".into()));
    assert_eq!(service(46003), None);
    assert_eq!(service(46004), Some("dnp3_udp".into()));
}

/// `ldap.spicy`: `Messages` has `%context = Ctx`, one `Ctx` for both
/// directions. `BindResponse`: `if ( |ctx.saslMechanism| > 0 && $$.code ==
/// ResultCode::SUCCESS ) ctx.messageMode = MessageMode::MAYBE_ENCRYPTED;`.
/// `MessageDispatch` then runs `MaybeEncrypted`, whose `first: uint8` sets
/// `ctx.messageMode` to `CLEARTEXT` (0x30) or `ENCRYPTED` for good: a
/// later message is no longer tried both ways. Here the first message
/// after the bind is cleartext, so the client's later SASL-wrapped frame
/// (a 4-byte length first) is parsed as an `LDAP::Message`, whose
/// `seqHeader` `&requires` a universal SEQUENCE: a parse error, the
/// analyzer violation that removes `ldap_tcp` (within
/// `DPD::ignore_violations_after`). When the first message after the bind
/// is the wrapped frame (`ENCRYPTED`), a later 0x30 message is skipped as
/// one more frame and nothing is removed.
#[test]
fn ldap_sasl_message_mode_is_decided_once() {
    // BindRequest (SASL, mechanism GSSAPI), BindResponse (success).
    let bind = b"\x30\x16\x02\x01\x01\x60\x11\x02\x01\x03\x04\x00\xa3\x0a\x04\x06GSSAPI\x04\x00";
    let ok = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00";
    // A cleartext ModifyResponse, and a wrapped frame of 8 bytes (not a
    // Kerberos wrap token: its payload does not start with 0x0504, so
    // `MaybeEncrypted` picks `ENCRYPTED`, not `MS_KRB5`).
    let clear = b"\x30\x0c\x02\x01\x02\x67\x07\x0a\x01\x00\x04\x00\x04\x00";
    let wrapped = b"\x00\x00\x00\x08\x11\x11\x11\x11\x11\x11\x11\x11";
    let mut cap = Cap::default();
    let cases: [(u16, Talk<'_>); 2] = [
        (
            47000,
            vec![(true, bind), (false, ok), (false, clear), (true, wrapped)],
        ),
        (
            47001,
            vec![(true, bind), (false, ok), (true, wrapped), (false, clear)],
        ),
    ];
    conversations(&mut cap, 389, &cases);
    let conn = run("ldap-sasl-mode", &cap, &[]);
    let service = |port: u16| by_port(&conn, port).get("service").cloned();
    assert_eq!(service(47000), None);
    assert_eq!(service(47001), Some("ldap_tcp".into()));
}

/// A TLS 1.2 ClientHello record (one cipher suite, null compression, no
/// extensions).
fn client_hello() -> Vec<u8> {
    let body = cat(&[
        &[0x03, 0x03],
        &[0x11; 32],
        &[0],
        &[0, 2, 0x00, 0x2f],
        &[1, 0],
    ]);
    let n = body.len() as u32;
    let hs = cat(&[&[1, (n >> 16) as u8, (n >> 8) as u8, n as u8], &body]);
    cat(&[&[22, 3, 1], &(hs.len() as u16).to_be_bytes(), &hs])
}

/// `SMTP.cc` `ParseCmd`: `for ( int code = SMTP_CMD_EHLO; code <
/// SMTP_CMD_LAST; ++code ) if ( istrequal(cmd, smtp_cmd_word[code -
/// SMTP_CMD_EHLO], cmd_len) ) return code;` over every `SMTP_cmd.def`
/// name, the internal ones included (`CONN_ESTABLISHMENT`, `END_OF_DATA`,
/// `AUTH_ANSWER`, and `X_ANONYMOUSTLS` besides the special-cased
/// `X-ANONYMOUSTLS`); `LAST` is the bound, not a word. `ProcessLine` then
/// calls `RequestEvent`, whose first statement is `AnalyzerConfirmation()`.
/// `UpdateState` treats `SMTP_CMD_X_ANONYMOUSTLS` like `STARTTLS`: a 220
/// reply → `StartTLS()`, an SSL child that confirms on the ClientHello.
/// So `END_OF_DATA` typed as the first command confirms `smtp`, and
/// `X_ANONYMOUSTLS` answered by 220 logs `smtp,ssl`. A word that is not in
/// `SMTP_cmd.def` (Postfix's `XCLIENT` and `XFORWARD` are not) makes
/// `ParseCmd` return -1: `Unexpected(true, "unknown command", ...)`, no
/// `RequestEvent`, so no confirmation and no `service`.
#[test]
fn smtp_pseudo_command_words_are_commands() {
    let ch = client_hello();
    let mut cap = Cap::default();
    let cases: [(u16, Talk<'_>); 3] = [
        (
            48000,
            vec![
                (false, b"220 mail ready\r\n"),
                (true, b"END_OF_DATA\r\n"),
                (false, b"250 ok\r\n"),
            ],
        ),
        (
            48001,
            vec![
                (false, b"220 mail ready\r\n"),
                (true, b"x_anonymoustls\r\n"),
                (false, b"220 go ahead\r\n"),
                (true, &ch),
            ],
        ),
        (
            48002,
            vec![
                (false, b"220 mail ready\r\n"),
                (true, b"XCLIENT NAME=spike.example.com ADDR=192.0.2.7\r\n"),
                (false, b"220 mail ready\r\n"),
                (true, b"XFORWARD HELO=spike.example.com\r\n"),
                (false, b"250 ok\r\n"),
            ],
        ),
    ];
    conversations(&mut cap, 25, &cases);
    let conn = run("smtp-pseudo-commands", &cap, &[]);
    let service = |port: u16| by_port(&conn, port).get("service").cloned();
    assert_eq!(service(48000), Some("smtp".into()));
    assert_eq!(service(48001), Some("smtp,ssl".into()));
    assert_eq!(
        service(48002),
        None,
        "XCLIENT/XFORWARD are no SMTP commands"
    );
}

/// `SMTP.cc` `UpdateState(SMTP_CMD_TURN, 250)`: `orig_is_sender = !
/// orig_is_sender` (called from `NewReply`, the first line of the reply to
/// the last command). `ProcessLine` treats a line as a command when `orig
/// == orig_is_sender` and as a reply otherwise, where a line without a
/// reply code in 100..=599 is `AnalyzerViolation("reply code %d out of
/// range")` (and a violation removes `smtp` from `service`). So after
/// `TURN` answered by 250 the server's `EHLO` is a command; after `TURN`
/// refused (502) it is a reply line without a code: the violation.
#[test]
fn smtp_turn_answered_by_250_swaps_sender_and_receiver() {
    let mut cap = Cap::default();
    let turn = |reply: &'static [u8]| -> Talk<'static> {
        vec![
            (false, b"220 mail ready\r\n"),
            (true, b"EHLO a.example\r\n"),
            (false, b"250 a.example hello\r\n"),
            (true, b"TURN\r\n"),
            (false, reply),
            (false, b"EHLO b.example\r\n"),
            (true, b"250 b.example hello\r\n"),
            (false, b"QUIT\r\n"),
            (true, b"221 bye\r\n"),
        ]
    };
    let cases = [
        (48100u16, turn(b"250 OK\r\n")),
        (48101, turn(b"502 TURN not implemented\r\n")),
    ];
    conversations(&mut cap, 25, &cases);
    let conn = run("smtp-turn", &cap, &[]);
    let service = |port: u16| by_port(&conn, port).get("service").cloned();
    assert_eq!(
        service(48100),
        Some("smtp".into()),
        "TURN + 250: roles swapped"
    );
    assert_eq!(
        service(48101),
        None,
        "TURN refused: the server's EHLO is no reply"
    );
}

/// `SMTP.cc` `NewReply`: the reply answers `first_cmd`, which it then
/// resets to -1 (`last_replied_cmd = first_cmd; first_cmd = -1;`), and
/// `UpdateState(SMTP_CMD_STARTTLS, 220)` starts TLS. So a 220 that is not
/// the first reply after STARTTLS (here the refusal 454 came first)
/// answers no command and starts nothing: the ClientHello that follows is
/// not TLS to Zeek (`smtp` only). Answered at once by 220, `smtp,ssl`.
#[test]
fn smtp_starttls_needs_the_first_reply_to_be_220() {
    let ch = client_hello();
    let mut cap = Cap::default();
    let cases: [(u16, Talk<'_>); 2] = [
        (
            48200,
            vec![
                (false, b"220 mail ready\r\n"),
                (true, b"EHLO a.example\r\n"),
                (false, b"250 a.example hello\r\n"),
                (true, b"STARTTLS\r\n"),
                (false, b"454 TLS not available\r\n"),
                (false, b"220 ready after all\r\n"),
                (true, &ch),
            ],
        ),
        (
            48201,
            vec![
                (false, b"220 mail ready\r\n"),
                (true, b"EHLO a.example\r\n"),
                (false, b"250 a.example hello\r\n"),
                (true, b"STARTTLS\r\n"),
                (false, b"220 go ahead\r\n"),
                (true, &ch),
            ],
        ),
    ];
    conversations(&mut cap, 25, &cases);
    let conn = run("smtp-starttls-first-reply", &cap, &[]);
    let service = |port: u16| by_port(&conn, port).get("service").cloned();
    assert_eq!(service(48200), Some("smtp".into()), "454 answered STARTTLS");
    assert_eq!(service(48201), Some("smtp,ssl".into()));
}

/// An SNMPv3 message: header data with `msgFlags` of `flags`, empty
/// security parameters, an encrypted scoped PDU (an OCTET STRING, so no PDU
/// is parsed: `EncryptedPDU` is `&restofdata`).
fn snmp_v3(flags: &[u8]) -> Vec<u8> {
    let f = cat(&[&[0x04, flags.len() as u8], flags]);
    let hd = cat(&[&[0x02, 1, 1, 0x02, 2, 0x05, 0xdc], &f, &[0x02, 1, 3]]);
    let body = cat(&[
        &[0x02, 1, 3],
        &[0x30, hd.len() as u8],
        &hd,
        &[0x04, 0],
        &[0x04, 4, 0xde, 0xad, 0xbe, 0xef],
    ]);
    cat(&[&[0x30, body.len() as u8], &body])
}

/// `snmp-analyzer.pac` `proc_v3_header_data` (`refine typeattr
/// v3HeaderData += &let { proc: ... }`): `if (
/// rec->flags()->encoding()->content().length() == 1 ) return true;
/// AnalyzerViolation("Invalid v3 HeaderData msgFlags");`. An originator's
/// request with a two-byte `msgFlags` is that violation, before anything
/// confirmed (`proc_header` confirms only on the responder's messages), so
/// `dpd.zeek` disables SNMP and the responder's good reply confirms
/// nothing; with one-byte flags the reply confirms `snmp`.
#[test]
fn snmp_v3_msg_flags_must_be_one_byte() {
    let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
    let mut cap = Cap::default();
    for (i, (port, flags)) in [(49000u16, &[4u8, 0][..]), (49001, &[4][..])]
        .iter()
        .enumerate()
    {
        let t = 100 * i as u64;
        let q = snmp_v3(flags);
        let r = snmp_v3(&[0]);
        cap.at(
            t,
            frame(Link::Eth, &udp(c, s, *port, 161, &q, UdpSum::Good)),
        );
        cap.at(
            t + 1,
            frame(Link::Eth, &udp(s, c, 161, *port, &r, UdpSum::Good)),
        );
    }
    let conn = run("snmp-v3-flags", &cap, &[]);
    let service = |port: u16| by_port(&conn, port).get("service").cloned();
    assert_eq!(service(49000), None);
    assert_eq!(service(49001), Some("snmp".into()));
}
