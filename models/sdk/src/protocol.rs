//! The container protocol: how a program in a container becomes a node.
//!
//! One JSON object per line over the container's stdin (host → node) and
//! stdout (node → host), mirroring `wit/node.wit`; stderr is the node's
//! log. Each request is answered by exactly one reply, except `shutdown`,
//! which is answered by the program exiting. The whole protocol, with
//! examples, is in docs/container-protocol.md; these types are its one
//! definition, used by the host and by [`serve`](crate::container::serve).
//!
//! Payload bytes travel as standard base64 (RFC 4648, with padding), so
//! any bytes round-trip exactly.

use serde::{Deserialize, Serialize};

use crate::{Address, ConfigValue, Message, Metric, Outgoing, StepOutput};

/// The version this build speaks; the `hello` exchange checks it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Host → node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// First frame: the version the host speaks.
    Hello { version: u32 },
    /// Make the node: its id and its `config:` map (JSON values).
    New { id: String, config: serde_json::Map<String, serde_json::Value> },
    /// Run the node at `now_us` with the messages that arrived for it.
    Step { now_us: u64, inbox: Vec<WireMessage> },
    /// The run ended: report metrics.
    Finish,
    /// Exit now; no reply.
    Shutdown,
}

/// Node → host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// Answers `hello` with the version the node speaks.
    Hello { version: u32 },
    /// Answers `new`: the node exists.
    Ready {},
    /// Answers `step`. `now_us` repeats the step's time, so a late or
    /// second reply is never taken for the answer to a later step.
    Output {
        now_us: u64,
        outbox: Vec<WireOutgoing>,
        #[serde(default)]
        wake_at_us: Option<u64>,
        /// How many lines the program has written to stderr; see `Metrics`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stderr_lines: Option<u64>,
    },
    /// Answers `finish`.
    Metrics {
        metrics: Vec<WireMetric>,
        /// How many lines (newlines) the program has written to stderr
        /// since it started, counted as it writes this reply: the host
        /// waits for them before the next request, so each log line is
        /// stamped with the step during which it was written. Optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stderr_lines: Option<u64>,
    },
    /// Answers `new` (a bad config) or `step` (the model cannot go on).
    Error { message: String },
}

impl Reply {
    /// The reply's `op`, for error messages.
    pub fn op(&self) -> &'static str {
        match self {
            Reply::Hello { .. } => "hello",
            Reply::Ready {} => "ready",
            Reply::Output { .. } => "output",
            Reply::Metrics { .. } => "metrics",
            Reply::Error { .. } => "error",
        }
    }
}

/// A delivered message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireMessage {
    pub source: String,
    pub topic: String,
    #[serde(with = "base64_bytes")]
    pub payload: Vec<u8>,
    pub sent_us: u64,
    /// True when it came through the broker on its topic.
    pub published: bool,
}

/// An emitted message: `destination` is `{"node": "<id>"}` or `"publish"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireOutgoing {
    pub destination: WireAddress,
    pub topic: String,
    #[serde(with = "base64_bytes")]
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WireAddress {
    Node(String),
    Publish,
}

/// A final metric; `null` stands for a value JSON cannot hold (NaN, ±inf).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireMetric {
    pub name: String,
    pub value: Option<f64>,
}

impl From<&Message> for WireMessage {
    fn from(m: &Message) -> Self {
        WireMessage {
            source: m.source.clone(),
            topic: m.topic.clone(),
            payload: m.payload.clone(),
            sent_us: m.sent_us,
            published: m.destination == Address::Publish,
        }
    }
}

impl WireMessage {
    /// The message as delivered to node `to`.
    pub fn into_message(self, to: &str) -> Message {
        Message {
            source: self.source,
            destination: if self.published { Address::Publish } else { Address::Node(to.to_string()) },
            topic: self.topic,
            payload: self.payload,
            sent_us: self.sent_us,
        }
    }
}

impl From<Outgoing> for WireOutgoing {
    fn from(o: Outgoing) -> Self {
        WireOutgoing {
            destination: match o.destination {
                Address::Node(id) => WireAddress::Node(id),
                Address::Publish => WireAddress::Publish,
            },
            topic: o.topic,
            payload: o.payload,
        }
    }
}

impl From<WireOutgoing> for Outgoing {
    fn from(o: WireOutgoing) -> Self {
        Outgoing {
            destination: match o.destination {
                WireAddress::Node(id) => Address::Node(id),
                WireAddress::Publish => Address::Publish,
            },
            topic: o.topic,
            payload: o.payload,
        }
    }
}

impl Reply {
    /// The answer to the step at `now_us`, after `stderr_lines` lines of log.
    pub fn output(now_us: u64, out: StepOutput, stderr_lines: Option<u64>) -> Self {
        Reply::Output {
            now_us,
            outbox: out.outbox.into_iter().map(Into::into).collect(),
            wake_at_us: out.wake_at_us,
            stderr_lines,
        }
    }
}

impl From<&Metric> for WireMetric {
    fn from(m: &Metric) -> Self {
        WireMetric { name: m.name.clone(), value: m.value.is_finite().then_some(m.value) }
    }
}

impl From<WireMetric> for Metric {
    fn from(m: WireMetric) -> Self {
        Metric { name: m.name, value: m.value.unwrap_or(f64::NAN) }
    }
}

/// A config value as JSON: numbers, strings and booleans as themselves,
/// lists and maps (carried as JSON text) parsed back into JSON.
pub fn config_to_json(value: &ConfigValue) -> serde_json::Value {
    match value {
        ConfigValue::Boolean(b) => (*b).into(),
        ConfigValue::Integer(i) => (*i).into(),
        ConfigValue::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
        ConfigValue::Text(s) => s.clone().into(),
        ConfigValue::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| s.clone().into()),
    }
}

/// The inverse of [`config_to_json`], as the WIT contract types config.
pub fn config_from_json(value: &serde_json::Value) -> ConfigValue {
    use serde_json::Value;
    match value {
        Value::Bool(b) => ConfigValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ConfigValue::Integer(i),
            None => ConfigValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => ConfigValue::Text(s.clone()),
        other => ConfigValue::Json(other.to_string()),
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(|e| serde::de::Error::custom(format!("payload is not base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_payload_bytes_are_exact() {
        let bytes: Vec<u8> = (0..=255).collect();
        let req = Request::Step {
            now_us: 7,
            inbox: vec![WireMessage {
                source: "s".into(),
                topic: "t".into(),
                payload: bytes.clone(),
                sent_us: 1,
                published: true,
            }],
        };
        let line = serde_json::to_string(&req).unwrap();
        assert!(line.starts_with(r#"{"op":"step","now_us":7,"inbox":[{"source":"s""#), "{line}");
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), req);
        let reply: Reply = serde_json::from_str(
            r#"{"op":"output","now_us":7,"outbox":[{"destination":{"node":"c"},"topic":"a","payload":"AAH/"},{"destination":"publish","topic":"x","payload":""}]}"#,
        )
        .unwrap();
        let Reply::Output { now_us: 7, outbox, wake_at_us: None, stderr_lines: None } = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(outbox[0].payload, vec![0, 1, 255]);
        assert_eq!(outbox[1].destination, WireAddress::Publish);
    }

    #[test]
    fn unknown_fields_and_ops_are_refused() {
        assert!(serde_json::from_str::<Reply>(r#"{"op":"ready","extra":1}"#).is_err());
        assert!(serde_json::from_str::<Reply>(r#"{"op":"bogus"}"#).is_err());
        assert!(serde_json::from_str::<Reply>(r#"{"op":"output","outbox":[],"wake":1}"#).is_err());
    }
}
