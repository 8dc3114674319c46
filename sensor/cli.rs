//! Command-line interface.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use connscope::conn::service::{Service, ServiceSet};
use connscope::conn::site::{LocalNets, Subnet};
use connscope::conn::{ConnConfig, PortSet, BARE_UDP_SERVER_PORTS};
use connscope::engine::EngineConfig;
use connscope::output::conn_log::ConnLogOptions;
use connscope::output::parquet::ParquetOptions;
use connscope::output::{LogFormat, TimeFormat, WriterOptions};
use std::path::PathBuf;

/// connscope: capture-to-conn.log network sensor with Zeek's semantics.
#[derive(Parser, Debug)]
#[command(name = "connscope", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read a pcap or pcapng file and write Zeek logs (conn.log, weird.log).
    Read(ReadArgs),
    /// Capture from a live interface (libpcap or AF_PACKET) until SIGTERM/SIGINT.
    Live(LiveArgs),
    /// Learn what normal looks like from a benign capture and write a model file.
    Train(TrainArgs),
    /// Score a log directory against labelled data (labels.csv, hosts.csv, schedule.json).
    Eval(crate::eval_cmd::EvalArgs),
    /// Write a self-contained HTML report of a log directory (summary, notices, per-host series, scores, clusters).
    Report(crate::report_cmd::ReportArgs),
    /// Convert Zeek logs (TSV with #fields/#types, or JSON lines) to Parquet files.
    Convert(crate::convert_cmd::ConvertArgs),
}

/// `connscope train` options.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Where to write the model (JSON).
    #[arg(short = 'o', long = "output", value_name = "MODEL")]
    pub output: PathBuf,
    /// Read options (-r is required; logs go to -w as with `read`).
    #[command(flatten)]
    pub common: ReadArgs,
}

/// Names of rotated logs.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum RotateNaming {
    /// `conn__<open>__<close>__.log` in the log queue (zeek-archiver).
    Queue,
    /// `conn.<open>.log` (Zeek's classic names, `%Y-%m-%d-%H-%M-%S`).
    Date,
}

/// Live capture mechanism.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SourceKind {
    /// libpcap (BPF filters, any interface type).
    Pcap,
    /// Linux AF_PACKET TPACKET_V3 ring (fanout groups share an interface across processes).
    AfPacket,
}

/// `connscope live` options.
#[derive(Args, Debug)]
pub struct LiveArgs {
    /// Interface to capture on; repeat for several (read round-robin into one pipeline).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        env = "CONNSCOPE_INTERFACE",
        value_delimiter = ',',
        required = true
    )]
    pub interface: Vec<String>,
    /// Capture mechanism.
    #[arg(long, value_enum, default_value = "pcap")]
    pub source: SourceKind,
    /// BPF capture filter (tcpdump syntax).
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Bytes captured per packet.
    #[arg(long, default_value_t = 262_144)]
    pub snaplen: u32,
    /// Do not put the interface into promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// libpcap kernel buffer size in bytes.
    #[arg(long, default_value_t = 32 << 20)]
    pub buffer_size: u32,
    /// AF_PACKET fanout group id (processes with the same id share the interface by flow hash).
    #[arg(long, value_name = "ID")]
    pub fanout_group: Option<u16>,
    /// AF_PACKET ring block size in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub ring_block_size: u32,
    /// AF_PACKET ring block count.
    #[arg(long, default_value_t = 64)]
    pub ring_blocks: u32,
    /// After opening the capture, switch to this user (it is given the log directory).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Engine, log and output options (the same as for `read`).
    #[command(flatten)]
    pub common: ReadArgs,
}

/// Zeek script mode.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Mode {
    /// All of Zeek's base scripts: every analyzer and its likely server ports.
    Default,
    /// `zeek -b`: no application analyzers unless named with --analyzers.
    Bare,
}

/// Log format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Zeek JSON lines.
    Json,
    /// Zeek TSV (zeek-cut compatible).
    Tsv,
    /// Parquet (NAME.parquet; Zeek types mapped to Parquet/Arrow types).
    Parquet,
}

/// JSON time format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum JsonTime {
    /// Epoch seconds (Zeek's default).
    Epoch,
    /// ISO 8601 UTC.
    Iso8601,
}

/// `connscope read` options.
#[derive(Args, Debug)]
pub struct ReadArgs {
    /// Read options from a TOML file (keys are the long option names); the command line overrides it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Capture file to read (pcap or pcapng); required for `read`.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,
    /// Directory for the logs (default: the current directory, as Zeek does).
    #[arg(
        short = 'w',
        long = "log-dir",
        value_name = "LOGDIR",
        env = "CONNSCOPE_LOG_DIR"
    )]
    pub log_dir: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// How JSON writes `ts`.
    #[arg(long, value_enum, default_value = "epoch")]
    pub json_timestamps: JsonTime,
    /// With --format parquet: rows per Parquet row group (memory held per log, and what a crash can lose).
    #[arg(long, default_value_t = 65536, value_name = "ROWS")]
    pub parquet_row_group: usize,
    /// Zeek script mode (decides the analyzers and likely server ports).
    #[arg(long, value_enum, default_value = "default")]
    pub mode: Mode,
    /// Analyzers to load (comma-separated names such as http,dns,ssl); replaces the mode's set.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub analyzers: Option<Vec<String>>,
    /// Likely server ports (e.g. 80/tcp,53/udp); replaces the mode's set.
    #[arg(long, value_delimiter = ',', value_name = "PORTS")]
    pub likely_server_ports: Option<Vec<String>>,
    /// Add likely server ports to the mode's set.
    #[arg(long, value_delimiter = ',', value_name = "PORTS")]
    pub add_server_ports: Vec<String>,
    /// Attach an analyzer to an extra port, like Zeek's `Redis::ports += {10625/tcp}` (NAME:PORT/PROTO, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "NAME:PORT/PROTO")]
    pub analyzer_port: Vec<String>,
    /// Set one of Zeek's connection timeouts, as `redef NAME = VALUE;` does, e.g. tcp_inactivity_timeout=60min (repeatable).
    #[arg(long, value_delimiter = ',', value_name = "NAME=INTERVAL")]
    pub timeout: Vec<String>,
    /// Do not validate IP/TCP/UDP/ICMP checksums (Zeek's -C).
    #[arg(short = 'C', long)]
    pub ignore_checksums: bool,
    /// Local networks added to Zeek's default private address space (CIDR list).
    #[arg(long, value_delimiter = ',', value_name = "CIDRS")]
    pub local_nets: Vec<String>,
    /// Do not treat the private address space as local.
    #[arg(long)]
    pub no_private_local: bool,
    /// Report content gaps for partial connections (Zeek's report_gaps_for_partial).
    #[arg(long)]
    pub report_gaps_for_partial: bool,
    /// Seed for uids (same input and seed give the same uids).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Add the community_id column (Community ID v1, this seed); on by default (seed 0) with --format json.
    #[arg(long, value_name = "SEED", num_args = 0..=1, default_missing_value = "0")]
    pub community_id: Option<u16>,
    /// Leave out the community_id column that --format json adds by default.
    #[arg(long, conflicts_with = "community_id")]
    pub no_community_id: bool,
    /// Add the vlan and inner_vlan columns.
    #[arg(long)]
    pub vlan_fields: bool,
    /// Add the orig_l2_addr and resp_l2_addr columns.
    #[arg(long)]
    pub mac_fields: bool,
    /// Also write flowmeter.log (per-connection flow statistics, keyed by uid; see docs/FEATURES.md).
    #[arg(long)]
    pub flowmeter: bool,
    /// Add flow statistics columns to conn.log (packet size mean/std, data packets, IAT mean/std).
    #[arg(long)]
    pub conn_extras: bool,
    /// Do not write dns.log (written by default when the DNS analyzer is loaded, as Zeek does).
    #[arg(long)]
    pub no_dns_log: bool,
    /// Add the auth and addl columns to dns.log (Zeek's policy/protocols/dns/auth-addl).
    #[arg(long)]
    pub dns_auth_addl: bool,
    /// Add the original_query column to dns.log (Zeek's policy/protocols/dns/log-original-query-case).
    #[arg(long)]
    pub dns_original_query: bool,
    /// Add orig_name and resp_name to conn.log: names seen in DNS answers resolving to each address.
    #[arg(long)]
    pub conn_names: bool,
    /// Addresses the --conn-names cache keeps (the least recently resolved is forgotten first).
    #[arg(long, value_name = "N", default_value_t = connscope::dns::names::DEFAULT_CAPACITY)]
    pub conn_names_cache: usize,
    /// Also write context.log (KDD'99-style traffic context per connection, keyed by uid; see docs/CONTEXT.md).
    #[arg(long)]
    pub context: bool,
    /// Length of the per-host series intervals in context.log, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub context_interval: u32,
    /// Seconds of network time between stats.log rows (0 = no stats.log).
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub stats_interval: i64,
    /// Seconds of network time between capture_loss.log rows (0 = none).
    #[arg(long, default_value_t = 900, value_name = "SECS")]
    pub capture_loss_interval: i64,
    /// Every SECS of network time, write connections open at least that long to conn_long.log (0 = off).
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub interim_interval: i64,
    /// Rotate logs every SECS of network time into the log queue (0 = never).
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub rotate_interval: i64,
    /// Directory for rotated logs (default: LOGDIR/log-queue with queue names, LOGDIR itself with date names).
    #[arg(long, value_name = "DIR")]
    pub log_queue: Option<PathBuf>,
    /// Names of rotated logs.
    #[arg(long, value_enum, default_value = "queue")]
    pub rotate_naming: RotateNaming,
    /// Maximum open connections (0 = unlimited); the oldest is logged early when full.
    #[arg(long, default_value_t = 0)]
    pub max_conns: usize,
    /// Memory budget in MiB: per-worker caps on open connections and fragment buffers are derived from it; the oldest entries are evicted when a table is full (0 = no budget).
    #[arg(long, default_value_t = 0, value_name = "MIB")]
    pub max_memory: u64,
    /// MaxMind city or country database (.mmdb): adds orig_cc, resp_cc, orig_city, resp_city to conn.log and remote_location to notice.log for non-local addresses.
    #[arg(long, value_name = "FILE")]
    pub geoip_db: Option<PathBuf>,
    /// MaxMind ASN database (.mmdb): adds orig_asn, resp_asn, orig_as_org, resp_as_org to conn.log for non-local addresses.
    #[arg(long, value_name = "FILE")]
    pub asn_db: Option<PathBuf>,
    /// Score connections and hosts with this model (from `connscope train` or --save-model); writes score.log and notice.log.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Learn on the connections starting in the first SECS of packet time, score the rest.
    #[arg(long, value_name = "SECS", conflicts_with_all = ["model", "train_until"])]
    pub train_seconds: Option<f64>,
    /// Learn on the connections starting before EPOCH (seconds), score the rest.
    #[arg(long, value_name = "EPOCH", conflicts_with = "model")]
    pub train_until: Option<f64>,
    /// With --train-seconds/--train-until: also write the learned model to this file.
    #[arg(long, value_name = "MODEL")]
    pub save_model: Option<PathBuf>,
    /// Run the host-level detectors (notice.log) even without a model.
    #[arg(long)]
    pub detect: bool,
    /// False-positive rate the combined score's threshold is calibrated for (on the training data).
    #[arg(long, value_name = "RATE", default_value_t = 0.001)]
    pub target_fpr: f64,
    /// Worker threads (shards); 1 processes everything on the reading thread.
    #[arg(short = 'j', long = "workers", default_value_t = 1)]
    pub workers: usize,
    /// At the end of the run, write the HTML report of the log directory to this file (as `connscope report`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Kafka output options.
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

/// Kafka output options (zeek-kafka's settings; the output needs a build
/// with `--features kafka`).
#[derive(Args, Debug)]
pub struct KafkaArgs {
    /// Also send every log row, as Zeek JSON, to these Kafka brokers (HOST:PORT[,HOST:PORT...]).
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,
    /// Kafka topic for every log (zeek-kafka's Kafka::topic_name).
    #[arg(long, value_name = "NAME", default_value = "zeek", requires = "kafka")]
    pub kafka_topic: String,
    /// One Kafka topic per log, named like it (conn, dns, notice, ...), instead of --kafka-topic.
    #[arg(long, requires = "kafka", conflicts_with = "kafka_topic")]
    pub kafka_topic_per_log: bool,
    /// Wrap each Kafka record as {"<log>": {...}} (zeek-kafka's Kafka::tag_json).
    #[arg(long, requires = "kafka")]
    pub kafka_tag_json: bool,
    /// Logs sent to Kafka (comma-separated, e.g. conn,notice; default: every log).
    #[arg(long, value_delimiter = ',', value_name = "LOGS", requires = "kafka")]
    pub kafka_logs: Option<Vec<String>>,
    /// A raw librdkafka setting (repeatable), e.g. queue.buffering.max.messages=500000.
    #[arg(long, value_name = "KEY=VALUE", requires = "kafka")]
    pub kafka_conf: Vec<String>,
    /// Seconds the end of a run waits for Kafka to acknowledge what is still queued.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, requires = "kafka")]
    pub kafka_flush_timeout: f64,
}

impl KafkaArgs {
    /// The Kafka output settings (`None` without `--kafka`).
    pub fn config(&self) -> Result<Option<connscope::output::kafka::KafkaConfig>> {
        use connscope::output::kafka::{parse_conf, KafkaConfig, KafkaTopic};
        let Some(brokers) = &self.kafka else {
            return Ok(None);
        };
        if brokers.trim().is_empty() {
            bail!("--kafka needs at least one broker (HOST:PORT)");
        }
        let conf = self
            .kafka_conf
            .iter()
            .map(|c| parse_conf(c))
            .collect::<Result<Vec<_>, _>>()?;
        let secs = self.kafka_flush_timeout;
        if !(secs.is_finite() && (0.0..=86_400.0).contains(&secs)) {
            bail!("--kafka-flush-timeout {secs}: expected 0 to 86400 seconds");
        }
        Ok(Some(KafkaConfig {
            brokers: brokers.clone(),
            topic: if self.kafka_topic_per_log {
                KafkaTopic::PerLog
            } else {
                KafkaTopic::One(self.kafka_topic.clone())
            },
            tag_json: self.kafka_tag_json,
            logs: self.kafka_logs.clone(),
            conf,
            flush_timeout: std::time::Duration::from_secs_f64(secs),
        }))
    }
}

fn parse_port(s: &str) -> Result<(u16, bool)> {
    let s = s.trim();
    let (num, proto) = s
        .split_once('/')
        .with_context(|| format!("port {s:?} needs /tcp or /udp"))?;
    let n: u16 = num
        .parse()
        .with_context(|| format!("bad port number in {s:?}"))?;
    match proto {
        "tcp" => Ok((n, true)),
        "udp" => Ok((n, false)),
        _ => bail!("port {s:?}: protocol must be tcp or udp"),
    }
}

impl ReadArgs {
    /// Whether the detect stage runs.
    pub fn detection(&self) -> bool {
        self.model.is_some()
            || self.train_seconds.is_some()
            || self.train_until.is_some()
            || self.detect
    }

    /// The Community ID seed in effect: `--community-id SEED` when given,
    /// seed 0 for JSON output (as SIEM pipelines expect it there), none for
    /// TSV (Zeek's default conn.log schema) or with `--no-community-id`.
    pub fn community_id_seed(&self) -> Option<u16> {
        if self.no_community_id {
            None
        } else if self.community_id.is_some() {
            self.community_id
        } else if self.format == Format::Json {
            Some(0)
        } else {
            None
        }
    }

    /// `Site::local_nets`: `--local-nets` plus, unless `--no-private-local`,
    /// Zeek's private address space.
    pub fn local_nets(&self) -> Result<LocalNets> {
        let mut nets = if self.no_private_local {
            LocalNets::empty()
        } else {
            LocalNets::zeek_default()
        };
        for n in &self.local_nets {
            let s: Subnet = n
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--local-nets: {e}"))?;
            nets.add(s);
        }
        Ok(nets)
    }

    /// Opens `--geoip-db` / `--asn-db` (an error names the file); `None`
    /// when neither is given.
    pub fn geoip(&self) -> Result<Option<connscope::geoip::Enricher>> {
        use connscope::geoip::{DbKind, Enricher, GeoDb};
        if self.geoip_db.is_none() && self.asn_db.is_none() {
            return Ok(None);
        }
        let open = |p: &Option<PathBuf>, kind| -> Result<Option<GeoDb>> {
            p.as_deref()
                .map(|p| GeoDb::open(p, kind))
                .transpose()
                .map_err(anyhow::Error::from)
        };
        let loc = open(&self.geoip_db, DbKind::Location)?;
        let asn = open(&self.asn_db, DbKind::Asn)?;
        Ok(Some(Enricher::new(loc, asn, self.local_nets()?)))
    }

    /// Builds engine and writer settings.
    pub fn settings(&self) -> Result<(EngineConfig, WriterOptions, ConnLogOptions)> {
        if self.format == Format::Parquet && self.report.is_some() {
            anyhow::bail!("--report reads TSV or JSON logs; it cannot follow --format parquet");
        }
        let mut conn = match self.mode {
            Mode::Default => ConnConfig::zeek_default(),
            Mode::Bare => ConnConfig::zeek_bare(),
        };
        if let Some(list) = &self.analyzers {
            let mut set = ServiceSet::none();
            for name in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                match Service::from_name(name) {
                    Some(s) => set.insert(s),
                    None => bail!("unknown analyzer {name:?}"),
                }
            }
            conn.analyzers = set;
            if self.mode == Mode::Bare {
                // `zeek -b` loading these packages: their ports become
                // likely server ports (`--likely-server-ports` replaces them).
                conn.add_package_server_ports();
            }
        }
        if let Some(list) = &self.likely_server_ports {
            conn.tcp_server_ports = PortSet::default();
            conn.udp_server_ports = PortSet::default();
            // The tunnel ports are registered by packet analyzers in every mode.
            for p in BARE_UDP_SERVER_PORTS {
                conn.udp_server_ports.insert(*p);
            }
            for p in list.iter().filter(|s| !s.trim().is_empty()) {
                let (n, tcp) = parse_port(p)?;
                if tcp {
                    conn.tcp_server_ports.insert(n);
                } else {
                    conn.udp_server_ports.insert(n);
                }
            }
        }
        for p in &self.add_server_ports {
            let (n, tcp) = parse_port(p)?;
            if tcp {
                conn.tcp_server_ports.insert(n);
            } else {
                conn.udp_server_ports.insert(n);
            }
        }
        for a in &self.analyzer_port {
            let (name, port) = a
                .split_once(':')
                .with_context(|| format!("--analyzer-port {a:?}: expected NAME:PORT/PROTO"))?;
            let Some(s) = Service::from_name(name) else {
                bail!("--analyzer-port {a:?}: unknown analyzer {name:?}");
            };
            let (n, tcp) = parse_port(port)?;
            conn.analyzer_ports.push((s, n, tcp));
        }
        for t in &self.timeout {
            let (name, value) = t
                .split_once('=')
                .with_context(|| format!("--timeout {t:?}: expected NAME=INTERVAL"))?;
            conn.timeouts
                .set(name.trim(), value)
                .with_context(|| format!("--timeout {t:?}"))?;
        }
        conn.ignore_checksums = self.ignore_checksums;
        conn.report_gaps_for_partial = self.report_gaps_for_partial;
        conn.local_nets = self.local_nets()?;
        conn.seed = self.seed;
        conn.community_id_seed = self.community_id_seed();
        conn.flow_stats = self.flowmeter || self.conn_extras || self.detection();
        let flow_stats = conn.flow_stats;
        let dns = connscope::dns::DnsConfig {
            log: !self.no_dns_log,
            auth_addl: self.dns_auth_addl,
            original_query: self.dns_original_query,
            names: self.conn_names,
            names_capacity: self.conn_names_cache.max(1),
        };
        let mut cfg = EngineConfig {
            conn,
            dns,
            max_conns: self.max_conns,
            stats_interval: self.stats_interval.max(0),
            capture_loss_interval: self.capture_loss_interval.max(0),
            interim_interval: self.interim_interval.max(0),
            ..EngineConfig::default()
        };
        if self.max_memory > 0 {
            let caps = connscope::engine::memory_caps(self.max_memory, self.workers, flow_stats)
                .map_err(|e| anyhow::anyhow!(e))?;
            cfg.apply_caps(&caps);
        }
        let w = WriterOptions {
            format: match self.format {
                Format::Json => LogFormat::Json,
                Format::Tsv | Format::Parquet => LogFormat::Tsv,
            },
            time_format: match self.json_timestamps {
                JsonTime::Epoch => TimeFormat::Epoch,
                JsonTime::Iso8601 => TimeFormat::Iso8601,
            },
            parquet: (self.format == Format::Parquet).then(|| ParquetOptions {
                row_group_rows: self.parquet_row_group.max(1),
            }),
        };
        let c = ConnLogOptions {
            community_id: self.community_id_seed().is_some(),
            vlan: self.vlan_fields,
            l2_addrs: self.mac_fields,
            extras: self.conn_extras,
            flowmeter: self.flowmeter,
            context: self.context.then(|| connscope::context::ContextConfig {
                interval: i64::from(self.context_interval.max(1)) * connscope::time::SEC,
                ..Default::default()
            }),
            dns,
            geo: self.geoip_db.is_some(),
            asn: self.asn_db.is_some(),
        };
        Ok((cfg, w, c))
    }
}
