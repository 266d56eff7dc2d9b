//! Running nodes. Every implementation — WASM components, Docker
//! containers, native models — meets one contract, [`NodeGroup`]:
//! a set of nodes that step together. The engine calls a group once per
//! instant with every node of it that is due, so an implementation can
//! cross its boundary once for many nodes.
//!
//! The message types are those of the model SDK (`xedgesim-model`), so a
//! model's own types are the host's, natively and across the WASM boundary.

pub mod docker;
pub(crate) mod fault;
mod group;
pub mod native;
pub(crate) mod output_tail;
#[doc(hidden)]
pub mod relay;
pub mod seed;
pub mod wasm;

pub use fault::{FaultKind, NodeFault};

/// Longest topic a message may have, whatever runs the node: MQTT's
/// bound, so that every topic a model sends is one a real broker would
/// take, and what a built-in model does per topic (the broker's table, the
/// cloud's counters) stays small.
pub const MAX_TOPIC_BYTES: usize = 65_535;
pub use group::{Interrupted, LogLevel, LogLine, LogStream, NodeGroup, NodeUsage, ShutdownError, StepCall};
pub use xedgesim_model::{Address, Message, Metric, Outgoing, StepOutput};
