//! The built-in cloud sink: records every arrival and its end-to-end
//! latency — arrival time minus the `t_us` sample time in the payload
//! (the newest reading of an aggregate), else minus its `timestamp_us`
//! (xEdgeSim's ML requests and results), else minus the send time.
//! `finish` reports counts and latency percentiles, and with
//! `value_field` a summary of that number in the payloads. With
//! `subscribe`, it subscribes to that topic filter at the broker at its
//! first step.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use xedgesim_model::{Address, Config, ConfigKey, ConfigReader, Message, Metric, NodeModel, Outgoing, StepOutput};

/// What it sends and reports, for its reference (`xedgesim models`),
/// beside the code that does it.
pub const SENDS: &str = "Nothing but, with `subscribe`, its subscription (topic `$subscribe`, the filter as payload) \
at its first step. It records every arrival and its end-to-end latency, arrival time minus the payload's `t_us`, \
else minus its `timestamp_us`, else minus the send time (the payload's top-level fields of one JSON object; \
nested lists and objects are skipped). Metrics: `messages_received`, `bytes_received`, `received_<topic>` per \
topic (for the first 1,000 topics of at most 247 bytes; the rest are counted in `received_other_topics`, when \
any), and `latency_p50_us`, `latency_p95_us`, `latency_p99_us`, `latency_max_us` (nearest rank) when anything \
arrived. With `value_field`: `<field>_count`, the arrivals whose payload has that field as a finite number, and \
their `<field>_mean`, `<field>_min`, `<field>_max` when any.";

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

/// Longest `value_field`: `<field>_count` fits the host's 256 bytes of a metric name.
pub const MAX_VALUE_FIELD_BYTES: usize = 256 - "_count".len();

/// The `config:` keys this model takes (the host warns about others and
/// drops them). The reference in `docs/models.md` is generated from it.
pub const CONFIG: &[ConfigKey] = &[
    ConfigKey::text("subscribe", "subscribe to this topic filter at the broker at its first step (`+`, `#` allowed)"),
    ConfigKey::text(
        "value_field",
        "a number field of the payloads to summarise: `<field>_count`, `_mean`, `_min`, `_max` (at most 250 bytes)",
    ),
];

pub struct Cloud {
    by_topic: BTreeMap<Topic, u64>,
    other_topics: u64,
    bytes_received: u64,
    latencies_us: Vec<u64>,
    subscribe: Option<String>,
    value_field: Option<String>,
    values: Values,
}

/// The summary of `value_field`'s numbers.
#[derive(Default)]
struct Values {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl NodeModel for Cloud {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        let c = ConfigReader::of::<Self>(config)?;
        let value_field = c.text("value_field")?;
        if let Some(field) = &value_field {
            if field.is_empty() || field.len() > MAX_VALUE_FIELD_BYTES {
                return Err(format!(
                    "config key 'value_field' must be 1 to {MAX_VALUE_FIELD_BYTES} bytes long; found {} bytes",
                    field.len()
                ));
            }
            // `received_<topic>` names are the cloud's too: `received_x_count` could be both.
            if field.starts_with("received_") {
                return Err(format!(
                    "config key 'value_field' must not start with 'received_' (its metric names would clash with the \
                     per-topic counts); found '{field}'"
                ));
            }
        }
        Ok(Cloud {
            by_topic: BTreeMap::new(),
            other_topics: 0,
            bytes_received: 0,
            latencies_us: Vec::new(),
            subscribe: c.text("subscribe")?,
            value_field,
            values: Values::default(),
        })
    }

    fn step(&mut self, now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        let outbox: Vec<Outgoing> = self
            .subscribe
            .take()
            .map(|filter| Outgoing {
                destination: Address::Publish,
                topic: "$subscribe".into(),
                payload: filter.into_bytes(),
            })
            .into_iter()
            .collect();
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
            let [t_us, timestamp_us, value] = xedgesim_model::payload::numbers(
                &m.payload,
                [Some("t_us"), Some("timestamp_us"), self.value_field.as_deref()],
            )
            .unwrap_or_default();
            let sampled = |t: Option<f64>| t.filter(|t| t.is_finite() && *t > 0.0);
            let origin_us = sampled(t_us).or(sampled(timestamp_us)).map_or(m.sent_us, |t| t as u64);
            self.latencies_us.push(now_us.saturating_sub(origin_us));
            if let Some(value) = value.filter(|v| v.is_finite()) {
                self.values.add(value);
            }
        }
        Ok(StepOutput { outbox, wake_at_us: None })
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
        if let Some(field) = &self.value_field {
            let v = &self.values;
            metrics.push(Metric::new(&format!("{field}_count"), v.count as f64));
            if v.count > 0 {
                metrics.push(Metric::new(&format!("{field}_mean"), v.sum / v.count as f64));
                metrics.push(Metric::new(&format!("{field}_min"), v.min));
                metrics.push(Metric::new(&format!("{field}_max"), v.max));
            }
        }
        metrics
    }
}

impl Values {
    fn add(&mut self, value: f64) {
        if self.count == 0 {
            (self.min, self.max) = (value, value);
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        self.sum += value;
    }
}

/// Nearest-rank percentile of sorted, non-empty `values`.
fn percentile(values: &[u64], q: f64) -> u64 {
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

xedgesim_model::export_model!(Cloud);

#[cfg(test)]
mod tests {
    use xedgesim_model::ConfigValue;
    use xedgesim_model::testing::{TestNode, message};

    use super::*;

    fn at(sent_us: u64, topic: &str, payload: &str) -> Message {
        Message { sent_us, ..message("broker", topic, payload.as_bytes().to_vec()) }
    }

    #[test]
    fn it_subscribes_once_and_summarises_a_value_field() {
        let config = [
            ("subscribe", ConfigValue::Text("ml/inference/result/+".into())),
            ("value_field", ConfigValue::Text("prediction".into())),
        ];
        let mut cloud = TestNode::<Cloud>::new("cloud", config).unwrap();
        let first = cloud.wake(0).unwrap();
        assert_eq!(first.published("$subscribe").len(), 1);
        assert_eq!(first.outbox[0].payload, b"ml/inference/result/+");
        let results = vec![
            at(900, "ml/inference/result/s1", r#"{"device_id":"s1","timestamp_us":100,"prediction":0.25}"#),
            at(900, "ml/inference/result/s2", r#"{"device_id":"s2","timestamp_us":300,"prediction":0.75}"#),
            // `t_us` first; no number, no value.
            at(900, "ml/inference/result/s3", r#"{"t_us":600,"timestamp_us":1,"prediction":"high"}"#),
            // A request, its features skipped: latency from its send time.
            at(950, "ml/inference/request", r#"{"device_id":"s4","features":[1,2,3],"prediction":null}"#),
        ];
        assert!(cloud.step(1_000, results).unwrap().outbox.is_empty(), "subscribes once");
        let m = cloud.finish();
        assert_eq!(
            (m.get("prediction_count"), m.get("prediction_mean"), m.get("prediction_min"), m.get("prediction_max")),
            (Some(2.0), Some(0.5), Some(0.25), Some(0.75))
        );
        // Latencies 900, 700, 400 and 50 µs.
        assert_eq!((m.get("latency_p50_us"), m.get("latency_max_us")), (Some(400.0), Some(900.0)));
    }

    #[test]
    fn without_its_keys_it_sends_and_reports_what_it_always_did() {
        let mut cloud = TestNode::<Cloud>::new("cloud", []).unwrap();
        assert!(cloud.wake(0).unwrap().outbox.is_empty());
        cloud.step(10, vec![at(5, "reading", r#"{"temperature":1,"timestamp_us":1}"#)]).unwrap();
        let m = cloud.finish();
        let names: Vec<&str> = m.0.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "messages_received",
                "bytes_received",
                "received_reading",
                "latency_p50_us",
                "latency_p95_us",
                "latency_p99_us",
                "latency_max_us"
            ]
        );
        assert_eq!(m.get("latency_max_us"), Some(9.0), "from `timestamp_us` now");
        let empty = TestNode::<Cloud>::new("c", [("value_field", ConfigValue::Text("v".into()))]).unwrap().finish();
        assert_eq!((empty.get("v_count"), empty.get("v_mean")), (Some(0.0), None));
    }

    #[test]
    fn a_value_field_whose_names_would_not_fit_or_clash_is_refused() {
        let make = |field: String| TestNode::<Cloud>::new("c", [("value_field", ConfigValue::Text(field))]);
        assert!(make("v".repeat(MAX_VALUE_FIELD_BYTES)).is_ok());
        let e = make("v".repeat(MAX_VALUE_FIELD_BYTES + 1)).unwrap_err();
        assert_eq!(e, "config key 'value_field' must be 1 to 250 bytes long; found 251 bytes");
        assert!(make(String::new()).is_err());
        assert!(make("received_x".into()).unwrap_err().contains("must not start with 'received_'"));
    }
}
