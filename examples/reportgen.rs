//! Writes a synthetic log directory for the report benchmark:
//! `reportgen N OUTDIR` — N connections over 24 hours in Zeek JSON
//! (conn.log, score.log, context.log, notice.log, weird.log, stats.log,
//! capture_loss.log), from 20,000 originators to 50,000 responders, with a
//! service mix, log-normal-ish sizes and 5 % anomalous connections of
//! varied shapes (so clustering has many distinct points). Used by
//! `scripts/report-bench.sh`; deterministic (fixed seed).

use std::io::{BufWriter, Write};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// exp(uniform(lo, hi)): spread over orders of magnitude.
    fn logu(&mut self, lo: f64, hi: f64) -> f64 {
        (lo + (hi - lo) * self.unit()).exp()
    }
}

fn main() -> std::io::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let (Some(n), Some(out)) = (a.get(1), a.get(2)) else {
        eprintln!("usage: reportgen N OUTDIR");
        std::process::exit(1);
    };
    let n: u64 = n.parse().expect("N");
    let dir = std::path::Path::new(out);
    std::fs::create_dir_all(dir)?;
    let file = |name: &str| -> std::io::Result<BufWriter<std::fs::File>> {
        Ok(BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(dir.join(name))?,
        ))
    };
    let mut conn = file("conn.log")?;
    let mut score = file("score.log")?;
    let mut ctx = file("context.log")?;
    let mut r = Rng(1);
    let t0 = 1_790_000_000.0f64;
    let services = ["dns", "http", "ssl", "ssh", "ntp", "", "smtp", "ftp"];
    let states = ["SF", "SF", "SF", "S0", "REJ", "RSTO", "S1", "OTH"];
    let classes = [
        "dns", "http", "ssl", "ssh", "ntp", "tcp/high", "smtp", "ftp",
    ];
    let feats = [
        "log_duration",
        "log_orig_bytes",
        "log_resp_bytes",
        "log_orig_pkts",
        "log_pkt_rate",
        "syn_error",
    ];
    for i in 0..n {
        let ts = t0 + 86_400.0 * i as f64 / n as f64;
        let o = r.next() % 20_000;
        let p = r.next() % 50_000;
        let k = (r.next() % 8) as usize;
        let anom = r.next() % 20 == 0;
        let (dur, ob, rb) = if anom {
            (r.logu(-8.0, 8.0), r.logu(0.0, 16.0), r.logu(0.0, 16.0))
        } else {
            (r.logu(-6.0, 3.0), r.logu(3.0, 9.0), r.logu(3.0, 12.0))
        };
        let (ob, rb) = (ob as u64, rb as u64);
        let op = 1 + ob / 500 + r.next() % 3;
        let rp = 1 + rb / 1000 + r.next() % 3;
        let oh = format!("10.{}.{}.{}", o / 65536 % 256, o / 256 % 256, o % 256);
        let rh = format!("172.{}.{}.{}", 16 + p / 65536 % 16, p / 256 % 256, p % 256);
        let uid = format!("C{i:x}q{}", r.next() % 1000);
        let sp = 1024 + r.next() % 60_000;
        let dp = [53u64, 80, 443, 22, 123, 8443, 25, 21][k];
        let proto = if k == 0 || k == 4 { "udp" } else { "tcp" };
        let svc = if services[k].is_empty() {
            String::new()
        } else {
            format!(",\"service\":\"{}\"", services[k])
        };
        writeln!(
            conn,
            "{{\"ts\":{ts:.6},\"uid\":\"{uid}\",\"id.orig_h\":\"{oh}\",\"id.orig_p\":{sp},\"id.resp_h\":\"{rh}\",\"id.resp_p\":{dp},\"proto\":\"{proto}\"{svc},\"duration\":{dur:.6},\"orig_bytes\":{ob},\"resp_bytes\":{rb},\"conn_state\":\"{}\",\"local_orig\":true,\"local_resp\":false,\"missed_bytes\":0,\"history\":\"ShADadFf\",\"orig_pkts\":{op},\"orig_ip_bytes\":{},\"resp_pkts\":{rp},\"resp_ip_bytes\":{},\"ip_proto\":6}}",
            states[(r.next() % 8) as usize],
            ob + 40 * op,
            rb + 40 * rp
        )?;
        let s = if anom {
            1.0 + r.unit() * 30.0
        } else {
            r.unit() * 0.99 - 0.3
        };
        let f = (r.next() % 6) as usize;
        writeln!(
            score,
            "{{\"ts\":{ts:.6},\"uid\":\"{uid}\",\"id.orig_h\":\"{oh}\",\"id.orig_p\":{sp},\"id.resp_h\":\"{rh}\",\"id.resp_p\":{dp},\"proto\":\"{proto}\",\"service_class\":\"{}\",\"robust\":{:.6},\"iforest\":{:.6},\"ecod\":{:.6},\"autoencoder\":{:.6},\"score\":{s:.6},\"anomalous\":{anom},\"top_features\":[\"{}\",\"{}\",\"{}\"],\"top_values\":[{:.6},{:.6},{:.6}],\"top_baselines\":[{:.6},{:.6},{:.6}]}}",
            classes[k],
            r.unit() * 10.0,
            r.unit(),
            r.unit() * 40.0,
            r.unit() * 3.0,
            feats[f],
            feats[(f + 1) % 6],
            feats[(f + 2) % 6],
            (ob as f64).ln_1p(),
            (rb as f64).ln_1p(),
            dur.ln_1p(),
            5.0,
            7.0,
            0.1
        )?;
        writeln!(
            ctx,
            "{{\"uid\":\"{uid}\",\"logged_at\":{:.6},\"count\":{},\"srv_count\":{},\"serror_rate\":0.0,\"srv_serror_rate\":0.0,\"rerror_rate\":0.0,\"srv_rerror_rate\":0.0,\"same_srv_rate\":1.0,\"diff_srv_rate\":0.0,\"srv_diff_host_rate\":0.0,\"dst_host_count\":{},\"dst_host_srv_count\":{},\"dst_host_same_srv_rate\":1.0,\"dst_host_diff_srv_rate\":0.0,\"dst_host_same_src_port_rate\":0.0,\"dst_host_srv_diff_host_rate\":0.0,\"dst_host_serror_rate\":0.0,\"dst_host_srv_serror_rate\":0.0,\"dst_host_rerror_rate\":0.0,\"dst_host_srv_rerror_rate\":0.0,\"src_count\":1,\"src_distinct_dst_hosts\":1,\"src_distinct_dst_ports\":1,\"src_host_count\":3,\"src_host_distinct_dst_hosts\":2,\"src_host_distinct_dst_ports\":2,\"interval\":{:.6},\"src_interval_conns\":1,\"src_interval_bytes\":{},\"src_prev_interval_conns\":0,\"src_prev_interval_bytes\":0}}",
            ts + dur,
            r.next() % 50,
            r.next() % 50,
            r.next() % 100,
            r.next() % 100,
            (ts / 60.0).floor() * 60.0,
            ob + rb
        )?;
    }
    let mut notice = file("notice.log")?;
    let notes = ["Scan", "Flood", "Beacon", "DNS_Tunnel", "Host_Volume"];
    for j in 0..2_000u64 {
        let o = r.next() % 20_000;
        let ts = t0 + 86_400.0 * j as f64 / 2_000.0;
        writeln!(
            notice,
            "{{\"ts\":{ts:.6},\"note\":\"ConnScope::{}\",\"msg\":\"synthetic notice {j}\",\"sub\":\"window=60s\",\"src\":\"10.{}.{}.{}\",\"n\":{},\"peer_descr\":\"connscope\",\"actions\":[\"Notice::ACTION_LOG\"],\"suppress_for\":3600.0}}",
            notes[(j % 5) as usize],
            o / 65536 % 256,
            o / 256 % 256,
            o % 256,
            r.next() % 1000
        )?;
    }
    let mut weird = file("weird.log")?;
    for j in 0..1_000u64 {
        writeln!(
            weird,
            "{{\"ts\":{:.6},\"name\":\"synthetic_weird_{}\",\"notice\":false,\"peer\":\"connscope\"}}",
            t0 + j as f64 * 80.0,
            j % 7
        )?;
    }
    let mut stats = file("stats.log")?;
    let mut loss = file("capture_loss.log")?;
    for j in 0..288u64 {
        writeln!(
            stats,
            "{{\"ts\":{:.6},\"peer\":\"worker-0\",\"pkts_proc\":{},\"bytes_recv\":{},\"decode_errors\":0,\"evictions\":0}}",
            t0 + (j + 1) as f64 * 300.0,
            n * 12 / 288,
            n * 9000 / 288
        )?;
        writeln!(
            loss,
            "{{\"ts\":{:.6},\"ts_delta\":300.0,\"peer\":\"worker-0\",\"gaps\":{},\"acks\":{},\"percent_lost\":0.01}}",
            t0 + (j + 1) as f64 * 300.0,
            j,
            n * 3
        )?;
    }
    println!("{n} connections written to {}", dir.display());
    Ok(())
}
