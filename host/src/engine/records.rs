//! What the engine records of a run beside the trace: messages by fate,
//! the faults that stopped nodes, and (when asked) every delivery.

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts of messages by fate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MessageCounts {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    /// Sent but neither delivered nor dropped when the run ended: due
    /// after its end, or held by a stall past it.
    pub in_flight: u64,
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub bytes_delivered: u64,
}

/// A message as it reached its destination; recorded only when asked for
/// ([`Simulation::record_deliveries`](crate::run::Simulation::record_deliveries)).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub time_us: u64,
    /// When its sender sent it (its end-to-end latency's last resort).
    pub sent_us: u64,
    pub src: String,
    pub dst: String,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// A fault that stopped a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRecord {
    pub node: String,
    pub time_us: u64,
    pub kind: String,
    pub message: String,
}
