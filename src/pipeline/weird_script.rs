//! weird.zeek's `Weird::do_weird` (`scripts/base/frameworks/notice/weird.zeek`):
//! which of the weirds the engine reports (already sampled as `Reporter.cc`
//! samples them, see `engine::weirds`) reach weird.log. Zeek's script
//! drops a weird
//!
//! - whose action is `ACTION_IGNORE` (`unsolicited_SYN_response`,
//!   `FIN_after_reset`, `spontaneous_FIN`, `spontaneous_RST`);
//! - whose name and identifier were logged within the last 10 minutes
//!   (`weird_ignore`, `&create_expire=10min`), except the checksum weirds of
//!   `weird_do_not_ignore_repeats`;
//! - of a limiting action already logged within a day (`did_log`,
//!   `&create_expire=1day`): `ACTION_LOG_PER_ORIG` once per originator,
//!   `ACTION_LOG_PER_CONN` once per identifier, `ACTION_LOG_ONCE` once.
//!
//! The identifier is the connection's id (`id_string(c$id)`: both
//! addresses and ports, no transport) for a connection weird, the address
//! pair for a flow weird (`flow_id_string`) and empty for a weird without
//! addresses. Entries expire in network time; the sets are bounded (see
//! [`MAX_ENTRIES`]).
//!
//! Owns: those sets. Must not: change a weird's fields, or read anything
//! but the weird records it is given.

use crate::decode::Addr;
use crate::output::weird_log::WeirdRecord;
use crate::time::{Ts, SEC};
use std::collections::HashMap;

/// `weird_ignore`'s `&create_expire`.
const IGNORE_FOR: i64 = 600 * SEC;
/// `did_log`'s `&create_expire`.
const DID_LOG_FOR: i64 = 86_400 * SEC;
/// Entries each set holds at most (expired ones are dropped first; past
/// this, a new key is not remembered and its repeats are logged).
pub const MAX_ENTRIES: usize = 1 << 20;

/// What weird.zeek's `actions` table says of a weird name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `ACTION_IGNORE`.
    Ignore,
    /// `ACTION_LOG` (the table's `&default`).
    Log,
    /// `ACTION_LOG_PER_CONN`.
    LogPerConn,
    /// `ACTION_LOG_PER_ORIG`.
    LogPerOrig,
}

/// `Weird::actions` for the names connscope raises (everything else is
/// `ACTION_LOG`; no name connscope raises has a notice action or
/// `ACTION_LOG_ONCE`).
pub fn action(name: &str) -> Action {
    match name {
        "unsolicited_SYN_response" | "FIN_after_reset" | "spontaneous_FIN" | "spontaneous_RST" => {
            Action::Ignore
        }
        "bad_ICMP_checksum"
        | "bad_RPC"
        | "bad_TCP_checksum"
        | "bad_UDP_checksum"
        | "connection_originator_SYN_ack"
        | "DNS_label_forward_compress_offset"
        | "DNS_label_len_gt_name_len"
        | "DNS_label_len_gt_pkt"
        | "DNS_label_too_long"
        | "excess_RPC"
        | "originator_RPC_reply"
        | "partial_RPC"
        | "responder_RPC_call"
        | "SYN_with_data"
        | "UDP_datagram_length_mismatch"
        | "excessively_small_fragment"
        | "fragment_inconsistency"
        | "fragment_overlap"
        | "fragment_size_inconsistency"
        | "bad_IP_checksum" => Action::LogPerOrig,
        "FTP_max_command_length_exceeded"
        | "FTP_too_many_pending_commands"
        | "FTP_user_too_long"
        | "FTP_reply_msg_too_long"
        | "FTP_arg_too_long"
        | "FTP_password_too_long"
        | "simultaneous_open"
        | "smtp_mail_transaction_invalid"
        | "smtp_excessive_invalid_mail_transactions"
        | "smb_tree_connect_andx_response_without_tree" => Action::LogPerConn,
        _ => Action::Log,
    }
}

/// `weird_do_not_ignore_repeats`.
fn repeats_logged(name: &str) -> bool {
    matches!(
        name,
        "bad_IP_checksum" | "bad_TCP_checksum" | "bad_UDP_checksum" | "bad_ICMP_checksum"
    )
}

/// The text a set is keyed by, as its parts (two keys are equal exactly
/// when Zeek's strings are).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ident {
    /// `""`: a weird without addresses (or `ACTION_LOG_ONCE`).
    Empty,
    /// `id_string(c$id)`: `orig_h:orig_p > resp_h:resp_p`.
    Conn(Addr, u16, Addr, u16),
    /// `flow_id_string(src, dst)`: `src -> dst`.
    Flow(Addr, Addr),
    /// `fmt("%s", w$id$orig_h)` (`ACTION_LOG_PER_ORIG`).
    Orig(Addr),
}

/// A set with `&create_expire`: each key until its creation time plus
/// the expiry.
#[derive(Default)]
struct ExpiringSet {
    created: HashMap<(&'static str, Ident), Ts>,
    /// Size at which expired keys are next swept.
    sweep_at: usize,
}

impl ExpiringSet {
    fn contains(&self, key: &(&'static str, Ident), now: Ts, expire: i64) -> bool {
        self.created
            .get(key)
            .is_some_and(|&t| now.0 < t.0.saturating_add(expire))
    }

    fn add(&mut self, key: (&'static str, Ident), now: Ts, expire: i64) {
        if self.created.len() >= self.sweep_at.max(1024) {
            self.created
                .retain(|_, t| now.0 < t.0.saturating_add(expire));
            self.sweep_at = self.created.len() * 2;
        }
        if self.created.len() >= MAX_ENTRIES && !self.created.contains_key(&key) {
            return;
        }
        // (an expired key is created again)
        self.created.insert(key, now);
    }

    fn len(&self) -> usize {
        self.created.len()
    }
}

/// weird.zeek's de-duplication state.
#[derive(Default)]
pub struct WeirdScript {
    weird_ignore: ExpiringSet,
    did_log: ExpiringSet,
    /// Weirds the script dropped.
    dropped: u64,
}

impl WeirdScript {
    /// Whether `w` is logged (`do_weird` reaching `Log::write`); records
    /// what that changes for later weirds.
    pub fn admit(&mut self, w: &WeirdRecord) -> bool {
        let ok = self.decide(w);
        self.dropped += u64::from(!ok);
        ok
    }

    fn decide(&mut self, w: &WeirdRecord) -> bool {
        let action = action(w.name);
        let identifier = match (&w.uid, w.id) {
            (Some(_), Some((a, ap, b, bp))) => Ident::Conn(a, ap, b, bp),
            (None, Some((a, _, b, _))) => Ident::Flow(a, b),
            (_, None) => Ident::Empty,
        };
        let key = (w.name, identifier);
        if action == Action::Ignore || self.weird_ignore.contains(&key, w.ts, IGNORE_FOR) {
            return false;
        }
        let limit = match (action, w.id) {
            (Action::LogPerOrig, Some((orig, ..))) => Some((w.name, Ident::Orig(orig))),
            (Action::LogPerOrig | Action::LogPerConn, _) => Some(key),
            _ => None,
        };
        if let Some(k) = limit {
            if self.did_log.contains(&k, w.ts, DID_LOG_FOR) {
                return false;
            }
            self.did_log.add(k, w.ts, DID_LOG_FOR);
        }
        if !repeats_logged(w.name) {
            self.weird_ignore.add(key, w.ts, IGNORE_FOR);
        }
        true
    }

    /// Weirds dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Keys held (both sets).
    pub fn entries(&self) -> usize {
        self.weird_ignore.len() + self.did_log.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(last: u8) -> Addr {
        Addr::from_ip(std::net::IpAddr::from([10, 0, 0, last]))
    }

    fn conn(name: &'static str, secs: i64, op: u16, rp: u16) -> WeirdRecord {
        WeirdRecord {
            ts: Ts(secs * SEC),
            uid: Some("Cx".into()),
            id: Some((a(1), op, a(2), rp)),
            name,
            addl: None,
            source: None,
        }
    }

    fn flow(name: &'static str, secs: i64, src: u8, dst: u8) -> WeirdRecord {
        WeirdRecord {
            ts: Ts(secs * SEC),
            uid: None,
            id: Some((a(src), 0, a(dst), 0)),
            name,
            addl: None,
            source: None,
        }
    }

    fn net(name: &'static str, secs: i64) -> WeirdRecord {
        WeirdRecord {
            ts: Ts(secs * SEC),
            uid: None,
            id: None,
            name,
            addl: None,
            source: None,
        }
    }

    fn admitted(ws: &[WeirdRecord]) -> Vec<bool> {
        let mut s = WeirdScript::default();
        ws.iter().map(|w| s.admit(w)).collect()
    }

    /// `ACTION_LOG`: a name and identifier once per 10 minutes of
    /// `weird_ignore` (created, not refreshed, by each logged one).
    #[test]
    fn repeats_of_a_logged_weird_wait_ten_minutes() {
        let got = admitted(&[
            conn("data_before_established", 0, 1000, 80),
            conn("data_before_established", 1, 1000, 80),
            conn("data_before_established", 1, 1001, 80),
            conn("SYN_inside_connection", 2, 1000, 80),
            conn("data_before_established", 599, 1000, 80),
            conn("data_before_established", 600, 1000, 80),
            conn("data_before_established", 601, 1000, 80),
        ]);
        assert_eq!(got, [true, false, true, true, false, true, false]);
    }

    /// A weird without addresses has the empty identifier: once per name
    /// per 10 minutes; a flow weird's identifier is its address pair,
    /// in order.
    #[test]
    fn net_weirds_share_one_identifier_and_flow_weirds_their_pair() {
        let got = admitted(&[
            net("truncated_IP", 0),
            net("truncated_IP", 5),
            net("internally_truncated_header", 5),
            flow("truncated_header", 6, 1, 2),
            flow("truncated_header", 7, 2, 1),
            flow("truncated_header", 8, 1, 2),
            net("truncated_IP", 601),
        ]);
        assert_eq!(got, [true, false, true, true, true, false, true]);
    }

    /// `ACTION_LOG_PER_ORIG` (`bad_TCP_checksum`, in
    /// `weird_do_not_ignore_repeats`): once per originator for a day
    /// (`did_log`), whatever the connection.
    #[test]
    fn per_orig_weirds_once_per_originator_a_day() {
        let mut other = conn("bad_TCP_checksum", 10, 5000, 443);
        other.id = Some((a(3), 5000, a(2), 443));
        let got = admitted(&[
            conn("bad_TCP_checksum", 0, 1000, 80),
            conn("bad_TCP_checksum", 1, 1001, 80),
            other,
            conn("bad_TCP_checksum", 86_399, 1002, 80),
            conn("bad_TCP_checksum", 86_400, 1002, 80),
            flow("bad_IP_checksum", 0, 1, 2),
            flow("bad_IP_checksum", 1, 1, 3),
            flow("bad_IP_checksum", 2, 3, 1),
        ]);
        assert_eq!(got, [true, false, true, false, true, true, false, true]);
    }

    /// `ACTION_LOG_PER_CONN`: once per connection identifier for a day,
    /// also after `weird_ignore` has expired; `ACTION_IGNORE` never.
    #[test]
    fn per_conn_weirds_and_ignored_names() {
        let got = admitted(&[
            conn("FTP_max_command_length_exceeded", 0, 1000, 21),
            conn("FTP_max_command_length_exceeded", 700, 1000, 21),
            conn("FTP_max_command_length_exceeded", 700, 1001, 21),
            conn("spontaneous_FIN", 0, 1000, 80),
            conn("unsolicited_SYN_response", 0, 1000, 80),
        ]);
        assert_eq!(got, [true, false, true, false, false]);
    }

    /// The sets are swept of expired keys and stay bounded.
    #[test]
    fn sets_are_swept_and_bounded() {
        let mut s = WeirdScript::default();
        for i in 0..5000u32 {
            let w = conn("data_before_established", i64::from(i) * 60, i as u16, 80);
            assert!(s.admit(&w));
        }
        // (at most ten minutes of keys, one a minute, plus what the sweep
        // schedule lets accumulate before the next sweep)
        assert!(s.entries() < 3000, "{}", s.entries());
    }
}
