//! The engine's per-transport packet handlers (TCP, UDP with its tunnel
//! packet analyzers and passive DNS, ICMP, other IP): each finds or creates
//! the connection, hands the packet to its connection semantics and the
//! payload to service identification.
//!
//! Must not: decode links or IP (the engine's `process_ip` did), or write logs.

use super::{Engine, L2Ctx, RecordSink};
use crate::conn::service::{Expect, Service};
use crate::conn::{Conn, Encap, Transport, MAX_TUNNEL_DEPTH};
use crate::decode::ip::{self, IpPacket, Tcp};
use crate::decode::tunnel::{self, TunnelKind};
use crate::decode::weird::Analyzer;
use crate::decode::{Addr, Weird};
use crate::flow::FlowKey;
use crate::time::Ts;

impl<S: RecordSink> Engine<S> {
    pub(super) fn tcp(&mut self, ts: Ts, ipp: &IpPacket<'_>, encap: &Encap, l2: L2Ctx) {
        if let Err(w) = ip::check_header_trunc(ipp, 20, Analyzer::Tcp) {
            return self.weird(ts, w, None);
        }
        let sp = crate::decode::be16(ipp.payload, 0);
        let dp = crate::decode::be16(ipp.payload, 2);
        let header = ip::tcp(ipp);
        let flags = ipp.payload[13];
        let key = FlowKey::new(ipp.src, sp, ipp.dst, dp, 6, false);
        let init = Self::init(ipp, ts, Transport::Tcp, sp, dp, false, l2);
        let reuse = |c: &Conn| match &header {
            Ok(t) => c.tcp_is_reuse(t),
            Err(_) => false,
        };
        let slot = self.lookup_or_create(ts, key, init, encap, flags, &reuse);
        let t: Tcp<'_> = match header {
            Ok(t) => t,
            Err(w) => {
                let c = self.table.get(slot).map(|(c, _)| c.clone());
                return self.weird(ts, w, c.as_ref());
            }
        };
        let cfg = &self.cfg.conn;
        let Some((conn, mut timers)) = self.table.get(slot) else {
            return;
        };
        let is_orig = ipp.src == conn.orig_h && sp == conn.orig_p;
        let out = conn.tcp_packet(cfg, &mut timers, ts, is_orig, ipp, &t);
        let is_orig = out.is_orig;
        self.stats.ack_events += out.loss.acks as u64;
        self.stats.gap_events += out.loss.gaps as u64;
        if out.new_data {
            // The analyzers see what was captured of the payload.
            let payload = &t.payload[..t.payload.len().min(t.payload_len as usize)];
            let sender = conn.endpoint(is_orig);
            let mut expects = std::mem::take(&mut self.expect_buf);
            conn.inspect(cfg, &mut timers, is_orig, payload, &mut expects);
            if self.cfg.dns.active() && conn.dns_log.is_attached() {
                let sink = &mut self.sink;
                dns_payload(&self.cfg.dns, conn, ts, sender, payload, sink);
            }
            if out.closed {
                conn.tcp_closed(cfg, &mut timers);
            }
            let (o, r) = (conn.orig_h, conn.resp_h);
            for &x in &expects {
                self.add_expect(x, o, r, ts);
            }
            self.expect_buf = expects;
        } else if out.closed {
            // Zeek's `ConnectionClosed` runs after the segment's payload.
            conn.tcp_closed(cfg, &mut timers);
        }
    }

    pub(super) fn add_expect(&mut self, x: Expect, conn_orig: Addr, conn_resp: Addr, ts: Ts) {
        // Data connection originator: this connection's originator (PASV) or responder (PORT).
        let (orig, resp) = if x.from_conn_orig {
            (conn_orig, conn_resp)
        } else {
            (conn_resp, conn_orig)
        };
        if self.expects.len() >= 1024 {
            self.expects.remove(0);
        }
        self.expects.push((x, orig, resp, ts.plus_secs(300)));
    }

    pub(super) fn udp(
        &mut self,
        ts: Ts,
        ipp: &IpPacket<'_>,
        encap: &Encap,
        l2: L2Ctx,
        depth: usize,
    ) {
        if let Err(w) = ip::check_header_trunc(ipp, 8, Analyzer::Udp) {
            return self.weird(ts, w, None);
        }
        let u = match ip::udp(ipp) {
            Ok(u) => u,
            Err(w) => return self.weird(ts, w, None),
        };
        let key = FlowKey::new(ipp.src, u.sport, ipp.dst, u.dport, 17, false);
        let init = Self::init(ipp, ts, Transport::Udp, u.sport, u.dport, false, l2);
        let slot = self.lookup_or_create(ts, key, init, encap, 0, &|_| false);
        let cfg = &self.cfg.conn;
        let Some((conn, mut timers)) = self.table.get(slot) else {
            return;
        };
        let is_orig = ipp.src == conn.orig_h && u.sport == conn.orig_p;
        let wire_complete = ipp.fully_captured();
        if u32::from(u.ulen) != ipp.payload_len {
            self.udp_lengths.push((slot, u.ulen, ipp.payload_len));
        }
        if !conn.udp_packet(cfg, ts, is_orig, ipp, u.ulen, u.checksum, wire_complete) {
            return;
        }
        let plen = (ipp.payload_len as usize)
            .saturating_sub(8)
            .min(u.payload.len());
        let payload = &u.payload[..plen];
        let resp_p = conn.resp_p;
        let uid = conn.uid;
        // Tunnels (packet analyzers), chosen by the responder port as Zeek's
        // UDP analyzer does (`ForwardPacket(..., RespPort())`); on a port
        // without one, the analyzers that can detect their protocol (AYIYA,
        // then Teredo) look at the payload. GRE over UDP is an IP tunnel.
        if resp_p == 4754 {
            if let Ok(i) = tunnel::gre(payload) {
                return self.ip_tunnel(ts, ipp, TunnelKind::Gre, i.link, i.data, encap, l2, depth);
            }
        }
        let kind = udp_tunnel_kind(resp_p, payload, conn.teredo_state(), conn.tunnel_violated());
        if kind == Some(TunnelKind::Teredo) {
            conn.set_teredo_state();
        }
        let decap = match kind {
            Some(TunnelKind::Vxlan) => tunnel::vxlan(payload),
            Some(TunnelKind::Geneve) => tunnel::geneve(payload),
            Some(TunnelKind::Gtpv1) => tunnel::gtpv1(payload),
            Some(TunnelKind::Ayiya) => tunnel::ayiya(payload),
            Some(TunnelKind::Teredo) => tunnel::teredo(payload),
            _ => tunnel::Decap::Pass(None),
        };
        let too_deep = kind.is_some() && encap.depth as usize >= MAX_TUNNEL_DEPTH;
        let mut tunnel_weird = None;
        let mut go = None;
        let mut handled = false;
        if too_deep {
            handled = true;
        } else if let Some(kind) = kind {
            let svc = match kind {
                TunnelKind::Vxlan => Service::Vxlan,
                TunnelKind::Geneve => Service::Geneve,
                TunnelKind::Gtpv1 => Service::Gtpv1,
                TunnelKind::Ayiya => Service::Ayiya,
                _ => Service::Teredo,
            };
            match decap {
                tunnel::Decap::Pass(w) => tunnel_weird = w,
                tunnel::Decap::Violation(w) => {
                    // The packet analyzer stops for this connection; its
                    // service stays (`dpd.zeek` fails protocol analyzers
                    // only).
                    handled = true;
                    tunnel_weird = Some(w);
                    conn.set_tunnel_violated();
                }
                tunnel::Decap::Ok { inner, weird } => {
                    handled = true;
                    tunnel_weird = weird;
                    let confirm = if kind == TunnelKind::Teredo {
                        // Tunnel::delay_teredo_confirmation: confirm once
                        // both sides sent valid Teredo.
                        conn.teredo_valid_from(is_orig)
                    } else {
                        true
                    };
                    if confirm && !conn.service.contains(svc) {
                        conn.confirm(cfg, &mut timers, svc);
                    }
                    go = inner.map(|i| (kind, i));
                }
            }
        }
        let mut expects = std::mem::take(&mut self.expect_buf);
        expects.clear();
        if !handled {
            let sender = conn.endpoint(is_orig);
            conn.inspect(cfg, &mut timers, is_orig, payload, &mut expects);
            if self.cfg.dns.active() && conn.dns_log.is_attached() {
                let sink = &mut self.sink;
                dns_payload(&self.cfg.dns, conn, ts, sender, payload, sink);
            }
        }
        let (o, r) = (conn.orig_h, conn.resp_h);
        let weird_conn = tunnel_weird.map(|w| (w, conn.clone()));
        for &x in &expects {
            self.add_expect(x, o, r, ts);
        }
        self.expect_buf = expects;
        if let Some((w, c)) = weird_conn {
            self.weird(ts, w, Some(&c));
        }
        if let Some(kind) = kind.filter(|_| too_deep) {
            return self.weird(ts, Weird::ExceededTunnelMaxDepth(kind.analyzer()), None);
        }
        let Some((kind, inner)) = go else { return };
        let mut e = *encap;
        e.push(kind, uid);
        // Inner wire length: the outer wire length minus what precedes the inner packet.
        let consumed_cap = ipp.payload.len() - inner.data.len();
        let wire = (ipp.payload_len as usize).saturating_sub(consumed_cap);
        let data = inner.data;
        self.inner(
            ts,
            inner.link,
            data,
            wire.max(data.len()),
            &e,
            l2,
            depth + 1,
        );
    }

    pub(super) fn icmp(&mut self, ts: Ts, ipp: &IpPacket<'_>, encap: &Encap, l2: L2Ctx) {
        if let Err(w) = ip::check_header_trunc(ipp, 8, Analyzer::Icmp) {
            return self.weird(ts, w, None);
        }
        let m = match ip::icmp(ipp) {
            Ok(m) => m,
            Err(w) => return self.weird(ts, w, None),
        };
        let (sp, dp, one_way) = if ipp.proto == 58 {
            crate::conn::icmp::ports_v6(m.icmp_type, m.code)
        } else {
            crate::conn::icmp::ports_v4(m.icmp_type, m.code)
        };
        let key = FlowKey::new(ipp.src, sp, ipp.dst, dp, ipp.proto, one_way);
        let init = Self::init(ipp, ts, Transport::Icmp, sp, dp, one_way, l2);
        let slot = self.lookup_or_create(ts, key, init, encap, 0, &|_| false);
        let cfg = &self.cfg.conn;
        if let Some((conn, _)) = self.table.get(slot) {
            let is_orig = ipp.src == conn.orig_h && sp == conn.orig_p;
            conn.icmp_packet(cfg, ts, is_orig, ipp);
        }
    }

    pub(super) fn other(&mut self, ts: Ts, ipp: &IpPacket<'_>, encap: &Encap, l2: L2Ctx) {
        let key = FlowKey::new(ipp.src, 0, ipp.dst, 0, ipp.proto, false);
        let init = Self::init(ipp, ts, Transport::Other, 0, 0, false, l2);
        let slot = self.lookup_or_create(ts, key, init, encap, 0, &|_| false);
        if let Some((conn, _)) = self.table.get(slot) {
            let is_orig = ipp.src == conn.orig_h;
            conn.other_packet(ts, is_orig, ipp);
        }
    }
}

/// The UDP tunnel analyzer for a packet, chosen as Zeek's UDP analyzer does:
/// by the responder port (`ForwardPacket(..., RespPort())`), else by the
/// analyzers that detect their protocol (AYIYA, then Teredo). Teredo keeps
/// per-connection state (`orig_resp_map`, see `new_teredo_state`) once it
/// analyzed a packet of the connection (`teredo_state`): later packets go to
/// it again. A tunnel analyzer that raised a violation on the connection
/// (`AnalyzerViolated(session)`, `violated`) is not tried again. Port 4754
/// (GRE over UDP) is handled before, as an IP tunnel.
pub fn udp_tunnel_kind(
    resp_p: u16,
    payload: &[u8],
    teredo_state: bool,
    violated: bool,
) -> Option<TunnelKind> {
    let kind = match resp_p {
        4789 => Some(TunnelKind::Vxlan),
        6081 => Some(TunnelKind::Geneve),
        2152 | 2123 => Some(TunnelKind::Gtpv1),
        5072 => Some(TunnelKind::Ayiya),
        3544 => Some(TunnelKind::Teredo),
        4754 => None,
        _ if tunnel::ayiya_detect(payload) => Some(TunnelKind::Ayiya),
        _ if teredo_state || tunnel::teredo_detect(payload) => Some(TunnelKind::Teredo),
        _ => None,
    };
    kind.filter(|_| !violated)
}

/// Hands a connection's payload to its passive-DNS state (after service
/// identification applied any role flip); rows go to the sink.
fn dns_payload<S: RecordSink>(
    cfg: &crate::dns::DnsConfig,
    conn: &mut Conn,
    ts: Ts,
    sender: (Addr, u16),
    payload: &[u8],
    sink: &mut S,
) {
    let ctx = crate::dns::ConnCtx {
        uid: conn.uid,
        id: (conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p),
        tcp: conn.transport == Transport::Tcp,
    };
    conn.dns_log
        .payload(cfg, &ctx, ts, sender, payload, &mut |o| {
            dns_out(sink, o, cfg.log)
        });
}

/// Routes one passive-DNS output to the sink (rows only when dns.log is on).
pub(super) fn dns_out<S: RecordSink>(sink: &mut S, o: crate::dns::DnsOut, log: bool) {
    match o {
        crate::dns::DnsOut::Record(r) if log => sink.dns(r),
        crate::dns::DnsOut::Record(_) => {}
        crate::dns::DnsOut::Names(n) => sink.dns_names(n),
    }
}
