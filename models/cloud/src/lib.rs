//! The built-in cloud sink: records every arrival and its end-to-end
//! latency — arrival time minus the `t_us` sample time in the payload
//! (the newest reading of an aggregate), or minus the send time when the
//! payload has none. `finish` reports counts and latency percentiles.

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

/// The `config:` keys this model takes: none.
pub const CONFIG: &[ConfigKey] = &[];

pub struct Cloud {
    by_topic: BTreeMap<String, u64>,
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
            if let Some(count) = self.by_topic.get_mut(&m.topic) {
                *count += 1;
            } else if m.topic.len() <= MAX_COUNTED_TOPIC_BYTES && self.by_topic.len() < MAX_TOPIC_COUNTERS {
                self.by_topic.insert(m.topic, 1);
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
            metrics.push(Metric::new(&format!("received_{topic}"), *count as f64));
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
