//! Kafka output: every log row the JSON writer renders is also produced to
//! a Kafka topic, in one of zeek-kafka's two shapes (`SeisoLLC/zeek-kafka`):
//! one topic per log with the bare Zeek JSON record (`Kafka::topic_name =
//! ""`), or one topic for every log (default `zeek`), optionally with each
//! record wrapped as `{"conn": {...}}` (`Kafka::tag_json = T`).
//!
//! Owns the producer (librdkafka through the `rdkafka` crate, built with the
//! `kafka` cargo feature), which logs go where, and the delivery counters
//! ([`KafkaCounts`], written into stats.log). It lives on the log writer
//! (`pipeline::LogSink`), never on the packet path, and it never blocks: a
//! record is copied into librdkafka's bounded queue
//! (`queue.buffering.max.messages`) or, when that is full, counted as
//! dropped; librdkafka's own threads talk to the brokers. Delivery reports
//! are served by a zero-timeout poll at each record. At the end
//! ([`KafkaOutput::finish`]) it waits for outstanding deliveries up to a
//! timeout and counts what was not acknowledged by then as failed.
//!
//! Must not: decide what a row contains (it gets the rendered JSON line),
//! write files, or read packets. Without the `kafka` feature the module
//! still parses its settings, but [`KafkaOutput::new`] returns
//! [`KafkaError::NotBuilt`].

use std::time::Duration;

/// The logs a Kafka output can carry (a log's `path`, as its file name and
/// its tag with `tag_json`).
pub const LOGS: &[&str] = &[
    "conn",
    "conn_long",
    "dns",
    "weird",
    "stats",
    "capture_loss",
    "flowmeter",
    "context",
    "score",
    "notice",
];

/// The `(name, type)` columns the Kafka counters add to stats.log (after
/// every other column, only when `--kafka` is on).
pub const STATS_COLUMNS: &[(&str, &str)] = &[
    ("kafka_sent", "count"),
    ("kafka_acked", "count"),
    ("kafka_dropped", "count"),
    ("kafka_failed", "count"),
];

pub use crate::record::KafkaCounts;

impl KafkaCounts {
    /// The counts in [`STATS_COLUMNS`] order.
    pub fn values(&self) -> [u64; 4] {
        [self.sent, self.acked, self.dropped, self.failed]
    }

    fn minus(&self, earlier: &KafkaCounts) -> KafkaCounts {
        KafkaCounts {
            sent: self.sent.saturating_sub(earlier.sent),
            acked: self.acked.saturating_sub(earlier.acked),
            dropped: self.dropped.saturating_sub(earlier.dropped),
            failed: self.failed.saturating_sub(earlier.failed),
        }
    }
}

/// Which topic a record goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KafkaTopic {
    /// Every log into this topic (zeek-kafka's default `zeek`).
    One(String),
    /// Each log into the topic named like it (`conn`, `dns`, ...).
    PerLog,
}

/// Settings of the Kafka output.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: `host:port[,host:port...]`.
    pub brokers: String,
    /// Topic choice.
    pub topic: KafkaTopic,
    /// Wrap each record as `{"<log>": <record>}`.
    pub tag_json: bool,
    /// Logs to send (names from [`LOGS`]); `None`: all of them.
    pub logs: Option<Vec<String>>,
    /// Raw librdkafka settings (`key=value`), applied after connscope's own
    /// defaults, so they override them.
    pub conf: Vec<(String, String)>,
    /// How long the end of a run waits for outstanding deliveries.
    pub flush_timeout: Duration,
}

/// Errors setting up the Kafka output.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The binary was built without the `kafka` cargo feature.
    #[error(
        "--kafka: this connscope was built without Kafka support (rebuild with `cargo build --release --features kafka`)"
    )]
    NotBuilt,
    /// `--kafka-logs` named a log that does not exist.
    #[error("--kafka-logs: unknown log {0:?} (known: {known})", known = LOGS.join(", "))]
    UnknownLog(String),
    /// `--kafka-conf` without `=`.
    #[error("--kafka-conf {0:?}: expected KEY=VALUE")]
    BadConf(String),
    /// `--kafka-topic` empty or not a valid Kafka topic name.
    #[error("--kafka-topic {0:?}: a topic name is 1 to 249 of [a-zA-Z0-9._-]")]
    BadTopic(String),
    /// librdkafka refused the configuration.
    #[error("creating the Kafka producer: {0}")]
    Client(String),
}

/// Parses `KEY=VALUE` (a `--kafka-conf` argument).
pub fn parse_conf(s: &str) -> Result<(String, String), KafkaError> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(KafkaError::BadConf(s.to_string())),
    }
}

/// Kafka's rule for topic names (`org.apache.kafka.common.internals.Topic`):
/// 1 to 249 characters of ASCII letters, digits, `.`, `_` and `-`.
fn valid_topic(t: &str) -> bool {
    (1..=249).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The log names a config selects, checked against [`LOGS`], as a mask
/// over [`LOGS`].
fn selected(logs: Option<&[String]>) -> Result<[bool; LOGS.len()], KafkaError> {
    let Some(names) = logs else {
        return Ok([true; LOGS.len()]);
    };
    let mut mask = [false; LOGS.len()];
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match LOGS.iter().position(|l| *l == n) {
            Some(i) => mask[i] = true,
            None => return Err(KafkaError::UnknownLog(n.to_string())),
        }
    }
    Ok(mask)
}

/// The Kafka output of a run (see the module comment).
#[cfg_attr(not(feature = "kafka"), allow(dead_code))] // cannot be made without the feature
pub struct KafkaOutput {
    #[cfg(feature = "kafka")]
    producer: imp::Producer,
    /// Logs to send, by index in [`LOGS`].
    logs: [bool; LOGS.len()],
    topic: KafkaTopic,
    tag_json: bool,
    flush_timeout: Duration,
    /// A row rendered as JSON when the files are TSV.
    json: Vec<u8>,
    /// The wrapped record (`tag_json`).
    wrapped: Vec<u8>,
    /// Records queued and refused so far (acked/failed come from the
    /// delivery reports).
    sent: u64,
    dropped: u64,
    /// What the previous stats row reported.
    reported: KafkaCounts,
    /// Set by [`KafkaOutput::finish`]: later rows are not sent.
    closed: bool,
}

impl std::fmt::Debug for KafkaOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaOutput")
            .field("topic", &self.topic)
            .field("tag_json", &self.tag_json)
            .field("counts", &self.counts())
            .finish()
    }
}

impl KafkaOutput {
    /// Creates the producer (it connects in the background: an unreachable
    /// broker is not an error here; its records queue and then fail).
    pub fn new(cfg: &KafkaConfig) -> Result<KafkaOutput, KafkaError> {
        let logs = selected(cfg.logs.as_deref())?;
        if let KafkaTopic::One(t) = &cfg.topic {
            if !valid_topic(t) {
                return Err(KafkaError::BadTopic(t.clone()));
            }
        }
        for c in &cfg.conf {
            if c.0.is_empty() {
                return Err(KafkaError::BadConf(format!("={}", c.1)));
            }
        }
        #[cfg(not(feature = "kafka"))]
        {
            let _ = logs;
            Err(KafkaError::NotBuilt)
        }
        #[cfg(feature = "kafka")]
        Ok(KafkaOutput {
            producer: imp::Producer::new(cfg)?,
            logs,
            topic: cfg.topic.clone(),
            tag_json: cfg.tag_json,
            flush_timeout: cfg.flush_timeout,
            json: Vec::with_capacity(1024),
            wrapped: Vec::with_capacity(1024),
            sent: 0,
            dropped: 0,
            reported: KafkaCounts::default(),
            closed: false,
        })
    }

    /// Whether rows of `log` (a path such as `conn`) are sent.
    pub fn wants(&self, log: &str) -> bool {
        !self.closed
            && LOGS
                .iter()
                .position(|l| *l == log)
                .is_some_and(|i| self.logs[i])
    }

    /// Sends one row of `log`. `line` is the row as the files have it (no
    /// newline); when `is_json` is false (TSV files), `render` writes the
    /// row's JSON form into the buffer it is given, and that is sent.
    pub fn send_row(
        &mut self,
        log: &str,
        line: &[u8],
        is_json: bool,
        render: impl FnOnce(&mut Vec<u8>),
    ) {
        if !self.wants(log) {
            return;
        }
        let mut json = std::mem::take(&mut self.json);
        let record: &[u8] = if is_json {
            line
        } else {
            json.clear();
            render(&mut json);
            &json
        };
        self.send(log, record);
        self.json = json;
    }

    /// Produces one JSON record of `log` (wrapped when `tag_json`).
    fn send(&mut self, log: &str, record: &[u8]) {
        let mut wrapped = std::mem::take(&mut self.wrapped);
        let payload: &[u8] = if self.tag_json {
            wrapped.clear();
            wrapped.extend_from_slice(b"{\"");
            wrapped.extend_from_slice(log.as_bytes());
            wrapped.extend_from_slice(b"\": ");
            wrapped.extend_from_slice(record);
            wrapped.push(b'}');
            &wrapped
        } else {
            record
        };
        let topic = match &self.topic {
            KafkaTopic::One(t) => t.as_str(),
            KafkaTopic::PerLog => log,
        };
        #[cfg(feature = "kafka")]
        {
            if self.producer.produce(topic, payload) {
                self.sent += 1;
            } else {
                self.dropped += 1;
            }
        }
        #[cfg(not(feature = "kafka"))]
        {
            let _ = (topic, payload);
            self.dropped += 1;
        }
        self.wrapped = wrapped;
    }

    /// The counts of the run so far (serves pending delivery reports first).
    pub fn counts(&self) -> KafkaCounts {
        #[cfg(feature = "kafka")]
        let (acked, failed) = self.producer.delivered();
        #[cfg(not(feature = "kafka"))]
        let (acked, failed) = (0, 0);
        KafkaCounts {
            sent: self.sent,
            acked,
            dropped: self.dropped,
            failed,
        }
    }

    /// The counts since the previous call (for a stats.log row).
    pub fn interval_counts(&mut self) -> KafkaCounts {
        #[cfg(feature = "kafka")]
        self.producer.poll();
        let now = self.counts();
        let d = now.minus(&self.reported);
        self.reported = now;
        d
    }

    /// Ends the output: waits up to the flush timeout for every queued
    /// record's delivery report, then gives up on the rest (counted as
    /// failed). Later rows are not sent. Returns the run's totals.
    pub fn finish(&mut self) -> KafkaCounts {
        if !self.closed {
            self.closed = true;
            #[cfg(feature = "kafka")]
            self.producer.flush(self.flush_timeout);
        }
        self.counts()
    }
}

#[cfg(feature = "kafka")]
mod imp {
    //! The librdkafka side: a `BaseProducer` whose delivery callback counts.

    use super::{KafkaConfig, KafkaError};
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{
        BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext, PurgeConfig,
    };
    use rdkafka::ClientContext;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// Counts delivery reports (called from `poll`, on the writer thread).
    #[derive(Default)]
    pub(super) struct Counting {
        acked: AtomicU64,
        failed: AtomicU64,
    }

    impl ClientContext for Counting {}

    impl ProducerContext for Counting {
        type DeliveryOpaque = ();
        fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
            match r {
                Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
                Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
            };
        }
    }

    pub(super) struct Producer {
        inner: BaseProducer<Counting>,
    }

    /// connscope's librdkafka defaults (overridable with `--kafka-conf`):
    /// the bounded queue is librdkafka's own default made explicit.
    const DEFAULTS: &[(&str, &str)] = &[
        ("queue.buffering.max.messages", "100000"),
        ("client.id", "connscope"),
    ];

    impl Producer {
        pub(super) fn new(cfg: &KafkaConfig) -> Result<Producer, KafkaError> {
            let mut c = ClientConfig::new();
            c.set("bootstrap.servers", &cfg.brokers);
            for (k, v) in DEFAULTS {
                c.set(*k, *v);
            }
            for (k, v) in &cfg.conf {
                c.set(k, v);
            }
            let inner: BaseProducer<Counting> = c
                .create_with_context(Counting::default())
                .map_err(|e| KafkaError::Client(e.to_string()))?;
            Ok(Producer { inner })
        }

        /// Queues one record; false when librdkafka refused it (queue full,
        /// too large). Never blocks.
        pub(super) fn produce(&self, topic: &str, payload: &[u8]) -> bool {
            let rec = BaseRecord::<[u8], [u8]>::to(topic).payload(payload);
            // Refused (queue full: `MessageProduction(QueueFull)`, too
            // large, ...): the caller counts a drop.
            let queued = self.inner.send(rec).is_ok();
            self.poll();
            queued
        }

        /// Serves the delivery reports that are ready (no wait).
        pub(super) fn poll(&self) {
            self.inner.poll(Duration::ZERO);
        }

        /// (acknowledged, failed) so far.
        pub(super) fn delivered(&self) -> (u64, u64) {
            let c = self.inner.context();
            (
                c.acked.load(Ordering::Relaxed),
                c.failed.load(Ordering::Relaxed),
            )
        }

        /// Waits up to `timeout` for every queued record's report; then
        /// purges the rest, whose reports (errors) are served, so each
        /// queued record ends up counted as acknowledged or failed.
        pub(super) fn flush(&self, timeout: Duration) {
            if self.inner.flush(timeout).is_err() {
                self.inner
                    .purge(PurgeConfig::default().queue().inflight().non_blocking());
                // Purged messages get their (error) reports on the next poll.
                let _ = self.inner.flush(Duration::from_secs(1));
            }
            self.poll();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> KafkaConfig {
        KafkaConfig {
            brokers: "127.0.0.1:9".into(),
            topic: KafkaTopic::One("zeek".into()),
            tag_json: false,
            logs: None,
            conf: Vec::new(),
            flush_timeout: Duration::from_millis(10),
        }
    }

    #[test]
    fn conf_needs_key_and_equals() {
        assert_eq!(
            parse_conf("linger.ms=5").unwrap(),
            ("linger.ms".into(), "5".into())
        );
        assert_eq!(parse_conf("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(matches!(
            parse_conf("linger.ms"),
            Err(KafkaError::BadConf(_))
        ));
        assert!(matches!(parse_conf("=5"), Err(KafkaError::BadConf(_))));
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(valid_topic("zeek"));
        assert!(valid_topic("zeek.conn-1_x"));
        assert!(!valid_topic(""));
        assert!(!valid_topic("a b"));
        assert!(!valid_topic("zeek/conn"));
        assert!(!valid_topic(&"x".repeat(250)));
        assert!(valid_topic(&"x".repeat(249)));
    }

    #[test]
    fn unknown_log_is_an_error_naming_it() {
        let mut c = cfg();
        c.logs = Some(vec!["conn".into(), "connn".into()]);
        let e = KafkaOutput::new(&c).unwrap_err();
        assert!(
            matches!(&e, KafkaError::UnknownLog(n) if n == "connn"),
            "{e}"
        );
        assert!(e.to_string().contains("conn_long"), "{e}");
    }

    #[test]
    fn selected_logs_mask() {
        let m = selected(Some(&["notice".into(), " conn ".into()])).unwrap();
        for (i, l) in LOGS.iter().enumerate() {
            assert_eq!(m[i], *l == "notice" || *l == "conn", "{l}");
        }
        assert!(selected(None).unwrap().iter().all(|b| *b));
    }

    #[test]
    fn interval_counts_are_differences() {
        let a = KafkaCounts {
            sent: 10,
            acked: 7,
            dropped: 2,
            failed: 1,
        };
        let b = KafkaCounts {
            sent: 4,
            acked: 3,
            dropped: 2,
            failed: 0,
        };
        assert_eq!(
            a.minus(&b),
            KafkaCounts {
                sent: 6,
                acked: 4,
                dropped: 0,
                failed: 1
            }
        );
        assert_eq!(a.values(), [10, 7, 2, 1]);
    }

    #[cfg(not(feature = "kafka"))]
    #[test]
    fn without_the_feature_new_says_so() {
        let e = KafkaOutput::new(&cfg()).unwrap_err();
        assert!(matches!(e, KafkaError::NotBuilt));
        assert!(e.to_string().contains("without Kafka support"), "{e}");
    }

    /// librdkafka queues without a broker; a full queue drops (counted),
    /// never blocks, and the end counts every queued record as failed when
    /// nothing acknowledges it.
    #[cfg(feature = "kafka")]
    #[test]
    fn full_queue_drops_and_unacknowledged_fail() {
        let mut c = cfg();
        // Port 9 (discard) on loopback: nothing listens, nothing is
        // acknowledged; the queue holds five records.
        c.conf = vec![
            ("queue.buffering.max.messages".into(), "5".into()),
            ("message.timeout.ms".into(), "60000".into()),
        ];
        c.tag_json = true;
        let mut k = KafkaOutput::new(&c).unwrap();
        for i in 0..8 {
            let line = format!("{{\"n\":{i}}}");
            k.send_row("conn", line.as_bytes(), true, |_| unreachable!());
        }
        let first = k.interval_counts();
        assert_eq!((first.sent, first.dropped), (5, 3));
        let total = k.finish();
        assert_eq!(total.sent, 5);
        assert_eq!(total.dropped, 3);
        assert_eq!(total.acked, 0);
        assert_eq!(total.failed, 5, "{total:?}");
        // After finish nothing more is sent or counted.
        k.send_row("conn", b"{}", true, |_| {});
        assert_eq!(k.counts().sent, 5);
        assert!(!k.wants("conn"));
    }

    /// The JSON form comes from `render` when the files are TSV, and
    /// unselected logs are skipped without rendering.
    #[cfg(feature = "kafka")]
    #[test]
    fn tsv_rows_render_json_and_unselected_logs_skip() {
        let mut c = cfg();
        c.logs = Some(vec!["dns".into()]);
        let mut k = KafkaOutput::new(&c).unwrap();
        let mut rendered = 0;
        k.send_row("dns", b"1\tx", false, |b| {
            rendered += 1;
            b.extend_from_slice(b"{\"ts\":1}");
        });
        k.send_row("conn", b"1\tx", false, |_| unreachable!());
        assert_eq!(rendered, 1);
        assert_eq!(k.counts().sent, 1);
        k.finish();
    }
}
