//! Between the host's message types (the model SDK's) and the generated
//! binding types. Strings and byte vectors move; nothing is copied twice.

use std::collections::BTreeMap;

use super::bindings::xedgesim::node::types as wit;
use crate::runtime::{Address, Message, Metric, Outgoing, StepOutput};
use crate::scenario::ConfigValue;

pub fn config(config: &BTreeMap<String, ConfigValue>) -> Vec<wit::ConfigEntry> {
    config
        .iter()
        .map(|(key, value)| wit::ConfigEntry {
            key: key.clone(),
            value: match value {
                ConfigValue::Bool(b) => wit::ConfigValue::Boolean(*b),
                ConfigValue::Integer(i) => wit::ConfigValue::Integer(*i),
                ConfigValue::Float(f) => wit::ConfigValue::Float(*f),
                ConfigValue::Text(s) => wit::ConfigValue::Text(s.clone()),
                other => wit::ConfigValue::Json(other.to_json()),
            },
        })
        .collect()
}

pub fn message(m: Message) -> wit::Message {
    wit::Message {
        source: m.source,
        destination: match m.destination {
            Address::Node(id) => wit::Address::Node(id),
            Address::Publish => wit::Address::Publish,
        },
        topic: m.topic,
        payload: m.payload,
        sent_us: m.sent_us,
    }
}

pub fn step_output(out: wit::StepOutput) -> StepOutput {
    StepOutput {
        outbox: out
            .outbox
            .into_iter()
            .map(|o| Outgoing {
                destination: match o.destination {
                    wit::Address::Node(id) => Address::Node(id),
                    wit::Address::Publish => Address::Publish,
                },
                topic: o.topic,
                payload: o.payload,
            })
            .collect(),
        wake_at_us: out.wake_at_us,
    }
}

pub fn metrics(metrics: Vec<wit::Metric>) -> Vec<Metric> {
    metrics.into_iter().map(|m| Metric { name: m.name, value: m.value }).collect()
}
