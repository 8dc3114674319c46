//! The HTML report (`connscope report LOGDIR -o report.html`): one
//! self-contained page built from a log directory, showing what the
//! detectors found.
//!
//! Owns: reading the logs back ([`logs`]: a streaming reader for both
//! formats; [`load`]: conn.log, score.log, notice.log, weird.log,
//! stats.log, capture_loss.log, Zeek's dns.log when present, and a few full
//! rows from conn/flowmeter/context.log), the figures ([`aggregate`]:
//! summary, score histogram, top connections, notices' connections;
//! [`hosts`]: per-host series with their learned bands), clustering of the
//! anomalous connections ([`cluster`]), inline SVG charts ([`svg`]) and the
//! page ([`html`]: escaping, formatting, styles, script and its CSP hash
//! from [`sha256`]; [`sections`]: each section; every value from the logs
//! is HTML-escaped, in text and in attributes).
//!
//! Must not: touch the packet path or the detectors' state (it only reads
//! files that are already written), fetch anything over the network (the
//! page has no external reference: styles, charts and the small script are
//! inline), or grow with the input beyond a compact row per connection:
//! tables on the page are capped and sampled, and the page says where.
//!
//! Entry point: [`build`] (the page as a string, with what it contains) or
//! [`write()`] (to a file).

pub mod aggregate;
pub mod cluster;
pub mod hosts;
pub mod html;
pub mod load;
pub mod logs;
pub mod sections;
pub mod sha256;
pub mod svg;

use std::path::{Path, PathBuf};

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The log directory does not exist.
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    /// The log directory has no conn.log.
    #[error("{0}: no conn.log (the report needs at least conn.log)")]
    NoConnLog(PathBuf),
    /// The model file given for the threshold could not be read.
    #[error("{0}")]
    Model(String),
}

impl ReportError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, error: std::io::Error) -> ReportError {
        ReportError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// Where the score threshold drawn on the histogram comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Threshold {
    /// Not known (no model, no anomalous row): none is drawn.
    Unknown,
    /// The calibrated threshold of a model (from its file or from the run
    /// that fitted it).
    Model {
        /// The threshold.
        value: f64,
        /// Where it was read (file name or "the fitted model").
        from: String,
    },
    /// Inferred from score.log: above the highest score not marked
    /// anomalous, at most the lowest score marked anomalous.
    Inferred {
        /// Highest score not anomalous.
        below: f64,
        /// Lowest score anomalous.
        above: f64,
    },
}

impl Threshold {
    /// The value drawn (for an inferred threshold, the lowest anomalous
    /// score).
    pub fn value(&self) -> Option<f64> {
        match self {
            Threshold::Unknown => None,
            Threshold::Model { value, .. } => Some(*value),
            Threshold::Inferred { above, .. } => Some(*above),
        }
    }
}

/// What to put on the page.
#[derive(Clone, Debug)]
pub struct Options {
    /// The log directory.
    pub dir: PathBuf,
    /// Connections listed by score.
    pub top: usize,
    /// Hosts drawn with their series.
    pub hosts: usize,
    /// Series interval, seconds (`None`: 60 s, the Host_Volume detector's,
    /// widened so a series has at most [`aggregate::MAX_INTERVALS`] points).
    pub interval: Option<f64>,
    /// The model threshold, when known to the caller.
    pub threshold: Option<(f64, String)>,
    /// Clustering parameters.
    pub cluster: cluster::Params,
}

impl Options {
    /// Defaults for `dir`: 25 connections, 12 hosts.
    pub fn new(dir: &Path) -> Options {
        Options {
            dir: dir.to_path_buf(),
            top: 25,
            hosts: 12,
            interval: None,
            threshold: None,
            cluster: cluster::Params::default(),
        }
    }
}

/// A built page and what went into it.
#[derive(Clone, Debug)]
pub struct Built {
    /// The HTML.
    pub html: String,
    /// conn.log rows read.
    pub conns: u64,
    /// score.log rows read.
    pub scores: u64,
    /// notice.log rows read.
    pub notices: u64,
    /// Lines skipped because they did not parse, over every file.
    pub skipped: u64,
}

/// Reads the log directory and builds the page.
pub fn build(opts: &Options) -> Result<Built, ReportError> {
    let data = load::load(&opts.dir)?;
    let view = aggregate::View::new(&data, opts)?;
    let html = html::page(&data, &view, opts);
    Ok(Built {
        html,
        conns: data.conns.len() as u64,
        scores: data.scores.len() as u64,
        notices: data.notices.len() as u64,
        skipped: data.files.iter().map(|f| f.skipped).sum(),
    })
}

/// Builds the page and writes it to `out`.
pub fn write(opts: &Options, out: &Path) -> Result<Built, ReportError> {
    let b = build(opts)?;
    std::fs::write(out, b.html.as_bytes()).map_err(|e| ReportError::io(out, e))?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small log directory, mixed formats, with every figure worked out
    /// by hand below.
    fn logs(dir: &Path) {
        let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        w(
            "conn.log",
            concat!(
                "{\"ts\":1000.0,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":5000,\"id.resp_h\":\"10.0.0.9\",\"id.resp_p\":80,\"proto\":\"tcp\",\"service\":\"http\",\"duration\":2.0,\"orig_bytes\":100,\"resp_bytes\":200,\"conn_state\":\"SF\",\"orig_pkts\":3,\"orig_ip_bytes\":220,\"resp_pkts\":4,\"resp_ip_bytes\":360}\n",
                "{\"ts\":1010.0,\"uid\":\"C2\",\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":5001,\"id.resp_h\":\"10.0.0.8\",\"id.resp_p\":53,\"proto\":\"udp\",\"service\":\"dns,http\",\"duration\":0.5,\"orig_bytes\":30,\"resp_bytes\":60,\"conn_state\":\"SF\",\"orig_pkts\":1,\"orig_ip_bytes\":58,\"resp_pkts\":1,\"resp_ip_bytes\":88}\n",
                "not json\n",
                "{\"ts\":1e300,\"uid\":\"Cfar\",\"id.orig_h\":\"10.0.0.7\"}\n",
                "{\"ts\":1030.0,\"uid\":\"C3\",\"id.orig_h\":\"10.0.0.2\",\"id.orig_p\":6000,\"id.resp_h\":\"10.0.0.9\",\"id.resp_p\":80,\"proto\":\"tcp\",\"conn_state\":\"REJ\",\"orig_pkts\":1,\"orig_ip_bytes\":40,\"resp_pkts\":1,\"resp_ip_bytes\":40,\"geo\":\"FR\"}\n",
                "{\"ts\":1040.0,\"uid\":\"C4\",\"id.orig_h\":\"10.0.0.2\",\"id.orig_p\":6001,\"id.resp_h\":\"10.0.0.9\",\"id.resp_p\":22,\"proto\":\"tcp\",\"conn_state\":\"REJ\",\"orig_pkts\":1,\"orig_ip_bytes\":40,\"resp_pkts\":1,\"resp_ip_bytes\":40,\"geo\":\"FR\"}\n",
            ),
        );
        w(
            "score.log",
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice_class\trobust\tiforest\tecod\tautoencoder\tscore\tanomalous\ttop_features\ttop_values\ttop_baselines\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tdouble\tdouble\tdouble\tdouble\tdouble\tbool\tvector[string]\tvector[double]\tvector[double]\n1000.0\tC1\t10.0.0.1\t5000\t10.0.0.9\t80\ttcp\thttp\t1\t0.4\t2\t0.1\t0.1\tF\tlog_orig_bytes\t4.615\t4.0\n1010.0\tC2\t10.0.0.1\t5001\t10.0.0.8\t53\tudp\tdns\t1\t0.4\t2\t0.1\t0.4\tF\t(empty)\t(empty)\t(empty)\n1030.0\tC3\t10.0.0.2\t6000\t10.0.0.9\t80\ttcp\ttcp/80\t9\t0.7\t20\t2\t5.0\tT\trejected,log_duration\t1,0\t0,1.5\n",
        );
        w(
            "notice.log",
            "{\"ts\":1031.0,\"uid\":\"C3\",\"note\":\"ConnScope::Scan\",\"msg\":\"m\",\"sub\":\"a=1 window=60s\",\"src\":\"10.0.0.2\",\"dst\":\"10.0.0.9\",\"p\":80,\"n\":2}\n",
        );
        w(
            "weird.log",
            "{\"ts\":1001.0,\"uid\":\"C1\",\"name\":\"bad_TCP_checksum\"}\n{\"ts\":1002.0,\"name\":\"bad_TCP_checksum\"}\n",
        );
        w(
            "stats.log",
            "{\"ts\":1100.0,\"peer\":\"worker-0\",\"pkts_proc\":10,\"bytes_recv\":1000}\n{\"ts\":1100.0,\"peer\":\"worker-1\",\"pkts_proc\":20,\"bytes_recv\":2000,\"decode_errors\":1}\n{\"ts\":1100.0,\"peer\":\"capture\",\"pkts_proc\":31,\"pkts_dropped\":1}\n",
        );
        w(
            "capture_loss.log",
            "{\"ts\":1100.0,\"gaps\":1,\"acks\":100,\"percent_lost\":1.0}\n",
        );
        w(
            "dns.log",
            "{\"ts\":999.0,\"query\":\"b.example\",\"answers\":[\"10.0.0.9\",\"cname.example\"]}\n",
        );
    }

    #[test]
    fn a_small_directory_by_hand() {
        let dir = std::env::temp_dir().join(format!("connscope-report-mod-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        logs(&dir);
        let d = load::load(&dir).unwrap();
        // conn.log: 4 rows; "not json" and the far-future ts are skipped.
        assert_eq!(d.conns.len(), 4);
        let f = &d.files[0];
        assert_eq!((f.name.as_str(), f.rows, f.skipped), ("conn.log", 4, 2));
        assert!(f.first_error.as_deref().unwrap().starts_with("line 3:"));
        // score.log (TSV) joined by uid.
        assert_eq!(d.scores.len(), 3);
        let c3 = d.conn_by_uid["C3"];
        let s3 = d.conns[c3 as usize].score;
        assert_eq!(d.score_uid(s3), "C3");
        assert!(d.scores[s3 as usize].anomalous);
        assert_eq!(d.scores[s3 as usize].n_top, 2);
        assert_eq!(
            d.words.get(d.scores[s3 as usize].top[1].feature),
            "log_duration"
        );
        assert_eq!(d.scores[s3 as usize].top[1].baseline, 1.5);
        assert_eq!(d.conns[d.conn_by_uid["C4"] as usize].score, load::NONE);
        // Extras, names, small logs.
        assert_eq!(d.extras.len(), 1);
        assert_eq!((d.extras[0].name.as_str(), d.extras[0].set), ("geo", 2));
        assert_eq!(d.extras[0].values["FR"], 2);
        assert_eq!(d.names["10.0.0.9"], vec!["b.example".to_string()]);
        assert_eq!(d.weird_total, 2);
        assert_eq!(d.weirds["bad_TCP_checksum"].uid.as_deref(), Some("C1"));
        assert_eq!(
            (d.stats.packets, d.stats.bytes, d.stats.decode_errors),
            (30, 3000, 1)
        );
        assert_eq!((d.stats.capture_received, d.stats.capture_dropped), (31, 1));
        assert_eq!((d.loss.gaps, d.loss.acks), (1, 100));

        let opts = Options::new(&dir);
        let v = aggregate::View::new(&d, &opts).unwrap();
        let s = &v.summary;
        assert_eq!((s.first, s.last), (1000.0, 1040.0));
        assert_eq!((s.conns, s.conn_pkts), (4, 13));
        assert_eq!((s.orig_ip_bytes, s.resp_ip_bytes), (358, 528));
        assert_eq!((s.originators, s.responders), (2, 2));
        // "dns,http" counts for both services; C3/C4 have none.
        assert_eq!(
            s.services,
            vec![("-".into(), 2), ("http".into(), 2), ("dns".into(), 1)]
        );
        assert_eq!(
            v.threshold,
            Some(Threshold::Inferred {
                below: 0.4,
                above: 5.0
            })
        );
        assert_eq!((v.scored, v.anomalous), (3, 1));
        let h = v.histogram.as_ref().unwrap();
        assert_eq!((h.total, h.counts.iter().sum::<u64>()), (3, 3));
        assert_eq!(h.anomalous.iter().sum::<u64>(), 1);
        // Top: C3 (5.0), C2 (0.4).
        let top: Vec<&str> = aggregate::top(&d, 2)
            .iter()
            .map(|&i| d.score_uid(i))
            .collect();
        assert_eq!(top, ["C3", "C2"]);
        // The notice: its own C3, then 10.0.0.2 -> 10.0.0.9:80 in
        // [971, 1032]: nothing else (C4 is port 22).
        assert_eq!(v.notices.len(), 1);
        assert_eq!(v.notices[0].conns, vec![c3]);
        assert_eq!(v.notices[0].window, (971.0, 1032.0));
        // Hosts: 10.0.0.2 was noticed, so it comes first.
        assert_eq!(d.addrs.get(v.hosts[0].addr), "10.0.0.2");
        assert_eq!(
            (v.hosts[0].conns, v.hosts[0].notices, v.hosts[0].anomalous),
            (2, 1, 1)
        );
        assert_eq!(v.hosts[0].peers, 1);
        // One anomalous connection: noise (min_pts 5).
        assert_eq!(v.anomalous_conns, 1);
        assert_eq!(v.clustering.noise, vec![c3]);
        // Details of the top connections and the notice's uid.
        assert!(v.details.contains_key("C3") && v.details.contains_key("C1"));
        assert!(v.details["C3"]
            .conn
            .iter()
            .any(|(k, v)| k == "geo" && v == "FR"));

        let b = build(&opts).unwrap();
        assert_eq!((b.conns, b.scores, b.notices, b.skipped), (4, 3, 1, 2));
        assert!(b.html.contains("b.example"));
        assert!(b.html.contains("<code>geo</code>"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
