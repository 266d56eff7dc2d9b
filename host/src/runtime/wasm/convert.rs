//! Between the host's message types (the model SDK's) and the generated
//! binding types. Strings and byte vectors move; nothing is copied twice.

use std::collections::BTreeMap;

use super::bindings::xedgesim::node::types as wit;
use crate::runtime::{Address, Message, Metric};
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

/// Packs messages into the contract's inbox form (see `wit/node.wit`).
pub fn inbox(messages: &[Message]) -> wit::Inbox {
    let mut text = Vec::with_capacity(messages.iter().map(|m| m.source.len() + m.topic.len()).sum());
    let mut payloads = Vec::with_capacity(messages.iter().map(|m| m.payload.len()).sum());
    let mut push_text = |s: &str| {
        let start = text.len() as u32;
        text.extend_from_slice(s.as_bytes());
        (start, s.len() as u32)
    };
    let headers = messages
        .iter()
        .map(|m| {
            let (source_start, source_len) = push_text(&m.source);
            let (topic_start, topic_len) = push_text(&m.topic);
            let payload_start = payloads.len() as u32;
            payloads.extend_from_slice(&m.payload);
            wit::Header {
                source_start,
                source_len,
                topic_start,
                topic_len,
                payload_start,
                payload_len: m.payload.len() as u32,
                sent_us: m.sent_us,
                published: m.destination == Address::Publish,
            }
        })
        .collect();
    wit::Inbox { headers, text, payloads }
}

/// Most bytes of a guest's own words (a constructor's or a step's error)
/// the host keeps: the rest is cut here, where they leave the guest, so
/// no terminal, summary, trace or report ever holds more of them.
pub const MAX_GUEST_TEXT_BYTES: usize = 16 * 1024;

/// `text` cut to [`MAX_GUEST_TEXT_BYTES`] (at a character boundary), saying
/// how much was cut. Escaping happens where it is shown.
pub fn guest_text(mut text: String) -> String {
    if text.len() <= MAX_GUEST_TEXT_BYTES {
        return text;
    }
    let end = crate::text::byte_prefix(&text, MAX_GUEST_TEXT_BYTES).len();
    let cut = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("… ({cut} more bytes cut by the host)"));
    text
}

/// As the guest gave them: the engine keeps every runtime's names the
/// same way ([`crate::runtime::kept_metric_name`]) when it gathers them.
pub fn metrics(metrics: Vec<wit::Metric>) -> Vec<Metric> {
    metrics.into_iter().map(|m| Metric { name: m.name, value: m.value }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_text_is_cut_at_a_character_boundary_saying_how_much() {
        assert_eq!(guest_text("short".into()), "short");
        let long = format!("a{}", "é".repeat(MAX_GUEST_TEXT_BYTES));
        let cut = guest_text(long.clone());
        assert!(cut.len() < MAX_GUEST_TEXT_BYTES + 64, "{}", cut.len());
        assert!(cut.ends_with(&format!("… ({} more bytes cut by the host)", long.len() - MAX_GUEST_TEXT_BYTES + 1)));
    }
}
