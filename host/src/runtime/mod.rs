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
pub mod record;
#[doc(hidden)]
pub mod relay;
pub mod wasm;

pub use fault::{FaultKind, NodeFault, engine_unreachable_help, named_endpoint};

/// Longest topic a message may have, whatever runs the node: MQTT's
/// bound, so that every topic a model sends is one a real broker would
/// take, and what a built-in model does per topic (the broker's table, the
/// cloud's counters) stays small.
pub const MAX_TOPIC_BYTES: usize = 65_535;

/// Most bytes of a metric's name the host keeps (it names a column of
/// the summary, a row of metrics.csv and a cell of the results table).
pub const MAX_METRIC_NAME_BYTES: usize = 256;

/// A model's metric name as the host keeps it, whatever runs the node:
/// control characters escaped (it names a row of metrics.csv, which a
/// terminal may show raw) and cut to [`MAX_METRIC_NAME_BYTES`] at a
/// character boundary, marked with `…`. Keeping a kept name changes nothing.
pub fn kept_metric_name(name: String) -> String {
    let mut name = if name.chars().any(char::is_control) { crate::text::escape_controls(&name) } else { name };
    if name.len() <= MAX_METRIC_NAME_BYTES {
        return name;
    }
    let end = crate::text::byte_prefix(&name, MAX_METRIC_NAME_BYTES).len();
    name.truncate(end);
    name.push('…');
    name
}
pub use group::{Interrupted, LogLevel, LogLine, LogStream, NodeGroup, NodeUsage, ShutdownError, StepCall, SubmitPart};
pub use xedgesim_model::{Address, Message, Metric, Outgoing, StepOutput};

#[cfg(test)]
mod tests {
    #[test]
    fn a_metric_name_is_kept_escaped_and_cut_at_a_character_boundary() {
        let cut = super::kept_metric_name("a".repeat(300));
        assert_eq!(cut, format!("{}…", "a".repeat(256)));
        assert_eq!(super::kept_metric_name(cut.clone()), cut, "a kept name is kept as it is");
        assert_eq!(super::kept_metric_name("steps\u{1b}[2J\nx".into()), "steps\\u{1b}[2J\\nx");
        let wide = format!("a{}", "é".repeat(200));
        assert!(super::kept_metric_name(wide).ends_with("é…"), "cut between characters");
    }
}
