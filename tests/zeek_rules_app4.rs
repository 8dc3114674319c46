//! Zeek's rules behind conn.log's `service` found with the traffic
//! generators of Zeek's test suite (`testing/btest/Traces`: the contentline,
//! gnutella, dhcp and Sun RPC scripts), each on a capture this test builds
//! (`zeek_rules/pcap.rs`) and run through the `connscope` binary. The
//! expected values are written from Zeek's source, cited at each test:
//!
//! 1. FTP's command word is measured over the whole line
//!    (`FTP::max_command_length`);
//! 2. FTP's NVT takes telnet commands out of the lines;
//! 3. FTP's NVT ends a line at Zeek's line length limit and drops a byte;
//! 4. both limits put `X` in the history (`LimitReachedWeird`).

#[allow(dead_code)]
#[path = "zeek_rules/pcap.rs"]
mod pcap;
#[allow(dead_code)]
#[path = "zeek_rules/run.rs"]
mod run;

use pcap::*;
use run::by_port;
use run::conn as run;

/// `FTP_Analyzer::DeliverStream` (`src/analyzer/protocol/ftp/FTP.cc`)
/// confirms on a client line whose first word (`util::get_word` after
/// `util::skip_whitespace`) passes `is_ftp_cmd` and is at most
/// `FTP::max_command_length` (100) bytes long; a longer one returns before
/// `AnalyzerConfirmation` (a `FTP_max_command_length_exceeded` weird only
/// once confirmed). The length is the whole word's, however much of the
/// line a parser keeps: 100 'A's confirm, 101 do not (the contentline
/// generator `nvt-line-limit-crlf-heap-buffer-overflow.pcap.py` sends one
/// 16 MB word to port 21).
#[test]
fn ftp_command_longer_than_max_command_length_does_not_confirm() {
    let mut cap = Cap::default();
    for (i, n) in [100usize, 101, 5000].into_iter().enumerate() {
        let port = 40000 + i as u16;
        let mut t = conversation(&mut cap, port, 21);
        let base = i as u64 * 1000;
        t.handshake(base);
        let mut line = vec![b'A'; n];
        line.extend_from_slice(b" x\r\n");
        t.talk(base + 10, &[(true, &line)]);
        t.close(base + 100);
    }
    let conn = run("ftp-long-cmd", &cap, &[]);
    assert_eq!(conn.len(), 3, "{conn:#?}");
    assert_eq!(by_port(&conn, 40000)["service"], "ftp");
    for port in [40001, 40002] {
        let r = by_port(&conn, port);
        assert!(r.get("service").is_none(), "{r:#?}");
        assert_eq!(r["history"], "ShADaFf");
    }
}

/// FTP reads its lines through two NVT support analyzers
/// (`FTP_Analyzer::FTP_Analyzer`, `src/analyzer/protocol/ftp/FTP.cc`), and
/// `NVT_Analyzer::DeliverChunk`/`ScanOption`
/// (`src/analyzer/protocol/login/NVT.cc`) keep telnet commands out of the
/// line: IAC + a byte, IAC WILL/WONT/DO/DONT + option, IAC SB ... IAC SE
/// (the Zeek trace `telnet-auth-missing-name.pcap.py` sends an
/// AUTHENTICATION suboption on port 21). So a greeting behind a suboption
/// is still a `220` reply (no "non-numeric reply code" violation that would
/// disable the analyzer), and `IAC IP IAC DM ABOR` (RFC 959's abort) is the
/// command `ABOR`, which confirms.
#[test]
fn ftp_nvt_keeps_telnet_commands_out_of_lines() {
    let mut cap = Cap::default();
    // Server: IAC SB AUTHENTICATION IS ... IAC SE, IAC WILL ECHO, then 220.
    let mut t = conversation(&mut cap, 40010, 21);
    t.handshake(0);
    let greet = b"\xff\xfa\x25\x02\x02\xff\xf0\xff\xfb\x01220 ready\r\n";
    t.talk(10, &[(false, greet), (true, b"USER anonymous\r\n")]);
    t.close(100);
    // Client: IAC IP IAC DM ABOR.
    let mut t = conversation(&mut cap, 40011, 21);
    t.handshake(1000);
    t.talk(1010, &[(true, b"\xff\xf4\xff\xf2ABOR\r\n")]);
    t.close(1100);
    let conn = run("ftp-nvt", &cap, &[]);
    assert_eq!(conn.len(), 2, "{conn:#?}");
    for port in [40010, 40011] {
        assert_eq!(by_port(&conn, port)["service"], "ftp", "{conn:#?}");
    }
}

/// Zeek's NVT and ContentLine analyzers buffer a line of at most
/// `DEFAULT_MAX_LINE_LENGTH` (16 MiB - 100) bytes
/// (`src/analyzer/protocol/tcp/ContentLine.h`). When the buffer cannot grow
/// (`ContentLine_Analyzer::InitBufferSafe`), `NVT_Analyzer::DeliverChunk`
/// (`src/analyzer/protocol/login/NVT.cc`) raises `nvt_line_size_exceeded`,
/// delivers the first `buf_len - 1` bytes as a line and `continue`s past
/// the byte at hand, so the line after it starts fresh (the Zeek generator
/// `nvt-line-limit-crlf-heap-buffer-overflow.pcap.py` fills this buffer on
/// port 21). Here a first line of exactly the limit (starting with a
/// control byte, so it is no command) is followed by `XUSER x`: the `X` is
/// dropped and `USER x` confirms FTP. The weird is a `LimitReachedWeird`
/// (`analyzer::Analyzer::LimitReachedWeird`, `src/analyzer/Analyzer.cc`),
/// which also puts `X` in the history.
#[test]
fn ftp_nvt_line_limit_ends_the_line_and_drops_a_byte() {
    const MAX: usize = 16 * 1024 * 1024 - 100;
    let mut data = vec![b'A'; MAX];
    data[0] = 0x01;
    data.extend_from_slice(b"XUSER x\r\n");
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 40020, 21);
    t.handshake(0);
    for (i, seg) in data.chunks(1400).enumerate() {
        t.send(10 + i as u64 / 100, true, ACK | PSH, seg);
    }
    t.send(500, false, ACK, &[]);
    t.close(600);
    let conn = run("ftp-nvt-limit", &cap, &[]);
    assert_eq!(conn.len(), 1, "{conn:#?}");
    let r = &conn[0];
    assert_eq!(r["service"], "ftp", "{r:#?}");
    assert_eq!(r["orig_bytes"], data.len() as u64);
    let h = r["history"].as_str().unwrap_or("");
    assert!(h.contains('X'), "{r:#?}");
}

/// `FTP_Analyzer::DeliverStream` (`src/analyzer/protocol/ftp/FTP.cc`): a
/// command word longer than `FTP::max_command_length` on an analyzer that
/// is already confirmed raises `LimitReachedWeird(
/// "FTP_max_command_length_exceeded", ...)`, and
/// `analyzer::Analyzer::LimitReachedWeird` (`src/analyzer/Analyzer.cc`)
/// puts `X` in the history (`CheckHistory(HIST_UNKNOWN_PKT, 'X')`). Before
/// the confirmation the same word only fails to confirm (no `X`: the first
/// test above).
#[test]
fn ftp_command_too_long_after_confirmation_marks_the_history() {
    let mut cap = Cap::default();
    let mut t = conversation(&mut cap, 40030, 21);
    t.handshake(0);
    let mut long = vec![b'B'; 101];
    long.extend_from_slice(b" y\r\n");
    t.talk(10, &[(true, b"USER x\r\n"), (true, &long)]);
    t.close(100);
    let conn = run("ftp-long-cmd-confirmed", &cap, &[]);
    assert_eq!(conn.len(), 1, "{conn:#?}");
    let r = &conn[0];
    assert_eq!(r["service"], "ftp", "{r:#?}");
    assert_eq!(r["history"], "ShADaXFf", "{r:#?}");
}
