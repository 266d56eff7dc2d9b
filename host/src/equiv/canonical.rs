//! [`CanonicalRun`]: what a run did, in the form two implementations are
//! compared in. Built from a [`RunSummary`] of a run that recorded its
//! deliveries ([`Simulation::record_deliveries`](crate::run::Simulation::record_deliveries)).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::run::RunSummary;

/// Per-node counters of the engine that belong in a canonical run: what
/// went in and out, not how often a node was stepped (a container under
/// xEdgeSim's protocol is stepped every quantum) or what it cost.
pub const CANONICAL_HOST_METRICS: &[&str] =
    &["messages_in", "bytes_in", "messages_out", "bytes_out", "messages_dropped", "faulted"];

/// One message as its destination received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanonicalDelivery {
    pub time_us: u64,
    /// When its sender sent it: for end-to-end latency only
    /// ([`latency`](super::latency)); not compared, not serialised.
    #[serde(skip)]
    pub sent_us: u64,
    pub src: String,
    pub topic: String,
    /// The payload as text, when it is UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The payload as hex, when it is not UTF-8 (so no text can pass for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_hex: Option<String>,
}

impl CanonicalDelivery {
    /// The payload for people: its text, or `hex:` and its bytes.
    pub fn payload_text(&self) -> String {
        match (&self.payload, &self.payload_hex) {
            (Some(text), _) => text.clone(),
            (None, Some(hex)) => format!("hex:{hex}"),
            (None, None) => String::new(),
        }
    }
}

/// A run, canonically: deliveries in arrival order per destination,
/// metrics per node, drops by reason. Serialises the same for the same
/// behaviour, so one snapshot can be asserted for every implementation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanonicalRun {
    pub deliveries: BTreeMap<String, Vec<CanonicalDelivery>>,
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    pub drops: BTreeMap<String, u64>,
}

/// The canonical form of `summary`. Its deliveries are empty unless the
/// run recorded them.
pub fn canonical(summary: &RunSummary) -> CanonicalRun {
    let mut deliveries: BTreeMap<String, Vec<CanonicalDelivery>> = BTreeMap::new();
    for d in &summary.deliveries {
        let (payload, payload_hex) = match std::str::from_utf8(&d.payload) {
            Ok(text) => (Some(text.to_string()), None),
            Err(_) => (None, Some(crate::text::hex(&d.payload))),
        };
        deliveries.entry(d.dst.clone()).or_default().push(CanonicalDelivery {
            time_us: d.time_us,
            sent_us: d.sent_us,
            src: d.src.clone(),
            topic: d.topic.clone(),
            payload,
            payload_hex,
        });
    }
    let metrics = summary
        .node_metrics
        .iter()
        .map(|(node, metrics)| {
            let kept = metrics
                .iter()
                .filter(|(name, _)| match name.strip_prefix("host.") {
                    Some(host) => CANONICAL_HOST_METRICS.contains(&host),
                    None => true,
                })
                .map(|(name, value)| (name.clone(), *value))
                .collect();
            (node.clone(), kept)
        })
        .collect();
    CanonicalRun { deliveries, metrics, drops: summary.messages.dropped_by_reason.clone() }
}
