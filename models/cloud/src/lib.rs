//! The built-in cloud sink: records every arrival and its end-to-end
//! latency — arrival time minus the `t_us` sample time in the payload
//! (the newest reading of an aggregate), or minus the send time when the
//! payload has none. `finish` reports counts and latency percentiles.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use xedgesim_model::payload::decode;
use xedgesim_model::{Config, ConfigKey, ConfigReader, Message, Metric, NodeModel, StepOutput};

/// What it sends and reports, for its reference (`xedgesim models`),
/// beside the code that does it.
pub const SENDS: &str = "Nothing: it records every arrival and its end-to-end latency, arrival time minus the \
payload's `t_us` (or minus the send time when the payload has none). Metrics: `messages_received`, \
`bytes_received`, `received_<topic>` per topic (for the first 1,000 topics of at most 247 bytes; the rest are \
counted in `received_other_topics`, when any), and `latency_p50_us`, `latency_p95_us`, `latency_p99_us`, \
`latency_max_us` (nearest rank) when anything arrived.";

/// Topics counted by name: a metric each, so a bounded number of short ones.
pub const MAX_TOPIC_COUNTERS: usize = 1_000;
/// So that `received_<topic>` fits the host's 256 bytes of a metric name:
/// longer names are cut there, and two topics alike up to the cut made
/// one name twice, a `duplicate_metric` fault that lost every metric.
pub const MAX_COUNTED_TOPIC_BYTES: usize = 256 - "received_".len();

/// A topic as the counters key it, compared 32 bytes at a time, in the
/// bytes' order (as a `String` is): compared a byte at a time (about 35
/// fuel a byte), 1,000 counted topics of 247 bytes alike but for their end
/// cost more than a message's fuel to look up, and a step of 50,000 such
/// readings ran the cloud out of fuel.
struct Topic(String);

impl Ord for Topic {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let (mut x, mut y) = (a.chunks_exact(32), b.chunks_exact(32));
        for (bx, by) in (&mut x).zip(&mut y) {
            let word = |block: &[u8], i: usize| u64::from_ne_bytes(block[i..i + 8].try_into().expect("32 bytes"));
            let differs = (0..4).fold(0, |d, i| d | (word(bx, i * 8) ^ word(by, i * 8)));
            if differs != 0 {
                return bx.cmp(by);
            }
        }
        let done = a.len().min(b.len()) / 32 * 32;
        a[done..].cmp(&b[done..])
    }
}

impl PartialOrd for Topic {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Topic {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Topic {}

/// The `config:` keys this model takes: none.
pub const CONFIG: &[ConfigKey] = &[];

pub struct Cloud {
    by_topic: BTreeMap<Topic, u64>,
    other_topics: u64,
    bytes_received: u64,
    latencies_us: Vec<u64>,
}

impl NodeModel for Cloud {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        ConfigReader::of::<Self>(config)?;
        Ok(Cloud { by_topic: BTreeMap::new(), other_topics: 0, bytes_received: 0, latencies_us: Vec::new() })
    }

    fn step(&mut self, now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        for m in inbox {
            let topic = Topic(m.topic);
            if let Some(count) = self.by_topic.get_mut(&topic) {
                *count += 1;
            } else if topic.0.len() <= MAX_COUNTED_TOPIC_BYTES && self.by_topic.len() < MAX_TOPIC_COUNTERS {
                self.by_topic.insert(topic, 1);
            } else {
                self.other_topics += 1;
            }
            self.bytes_received += m.payload.len() as u64;
            let origin_us = decode(&m.payload)
                .ok()
                .and_then(|p| p.number("t_us"))
                .filter(|t| t.is_finite() && *t > 0.0)
                .map_or(m.sent_us, |t| t as u64);
            self.latencies_us.push(now_us.saturating_sub(origin_us));
        }
        Ok(StepOutput::default())
    }

    fn finish(&mut self) -> Vec<Metric> {
        let mut metrics = vec![
            Metric::new("messages_received", self.latencies_us.len() as f64),
            Metric::new("bytes_received", self.bytes_received as f64),
        ];
        for (topic, count) in &self.by_topic {
            metrics.push(Metric::new(&format!("received_{}", topic.0), *count as f64));
        }
        if self.other_topics > 0 {
            metrics.push(Metric::new("received_other_topics", self.other_topics as f64));
        }
        self.latencies_us.sort_unstable();
        if let Some(max) = self.latencies_us.last() {
            for (name, q) in [("latency_p50_us", 0.50), ("latency_p95_us", 0.95), ("latency_p99_us", 0.99)] {
                metrics.push(Metric::new(name, percentile(&self.latencies_us, q) as f64));
            }
            metrics.push(Metric::new("latency_max_us", *max as f64));
        }
        metrics
    }
}

/// Nearest-rank percentile of sorted, non-empty `values`.
fn percentile(values: &[u64], q: f64) -> u64 {
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

xedgesim_model::export_model!(Cloud);
