//! `dns::DnsLogState`: a connection's DNS messages through Zeek's parser
//! rules and query/reply pairing, then removal.
//!
//! Input: a selector byte (bit 0: TCP; bits 1-2: responder port 53, 137,
//! 5353 or 5355; bit 3: multicast responder; bit 4: auth/addl and original
//! query columns; bit 5: names), then records `[tag][u16 LE length][bytes]`
//! where tag bit 0 says the responder sent it and `tag >> 1` is a time step
//! in milliseconds. TCP records are stream bytes (2-byte length framing).
#![no_main]
mod common;

use connscope::conn::uid::Uid;
use connscope::decode::Addr;
use connscope::dns::{ConnCtx, DnsConfig, DnsLogState, DnsOut};
use connscope::time::Ts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let tcp = sel & 1 != 0;
    let port = [53u16, 137, 5353, 5355][usize::from(sel >> 1 & 3)];
    let resp = if sel & 8 != 0 {
        Addr::v4([224, 0, 0, 251])
    } else {
        Addr::v4([10, 0, 0, 53])
    };
    let extra = sel & 16 != 0;
    let cfg = DnsConfig {
        auth_addl: extra,
        original_query: extra,
        names: sel & 32 != 0,
        ..DnsConfig::default()
    };
    let ctx = ConnCtx {
        uid: Uid::from_words(b'C', 1, 2),
        id: (Addr::v4([10, 0, 0, 1]), 40000, resp, port),
        tcp,
    };
    let mut st = DnsLogState::default();
    st.attach();
    let mut now = 0i64;
    let mut check = |o: DnsOut| match o {
        DnsOut::Record(r) => {
            let spans = r
                .answers
                .iter()
                .map(|a| a.0)
                .chain(r.query)
                .chain(r.original_query)
                .chain(r.auth.iter().copied())
                .chain(r.addl.iter().copied());
            for (a, n) in spans {
                assert!(a as usize + n as usize <= r.text.len());
            }
            if let Some(t) = r.answered {
                assert!(t >= r.ts);
            }
        }
        DnsOut::Names(b) => {
            for (_, (a, n)) in &b.pairs {
                assert!(*a as usize + *n as usize <= b.text.len());
            }
        }
    };
    for (tag, bytes) in common::records(rest) {
        now += i64::from(tag >> 1) * 1_000_000;
        let sender = if tag & 1 != 0 {
            (ctx.id.2, ctx.id.3)
        } else {
            (ctx.id.0, ctx.id.1)
        };
        st.payload(&cfg, &ctx, Ts(now), sender, bytes, &mut check);
    }
    st.finish(&mut check);
});
