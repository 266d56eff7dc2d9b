//! Why the engine stopped a run before its end: a node's fault under
//! `on_fault: abort`, a bound the run hit, a runtime breaking its contract.
//! Each comes back from running the scenario, so a rerun with the same
//! seed shows it again.

use crate::runtime::NodeFault;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Fault(NodeFault),
    #[error(
        "the event queue is full ({capacity} events) at t = {time}: node '{node}' was scheduling more\n  = help: shorten the run or lower the message rate; an unbounded queue would exhaust memory"
    )]
    QueueFull { node: String, time: String, capacity: usize },
    #[error(
        "nodes keep stepping at t = {time} without time advancing ({rounds} rounds, {events} events): {nodes}\n  = help: a node that answers every message at once with zero latency, or asks to wake at the current time, never lets time move"
    )]
    Livelock { time: String, rounds: usize, events: u64, nodes: String },
    #[error(
        "messages in flight hold more than {limit} bytes (payloads, topics and ids, and 128 a message) at t = {time}: {held} of them sent by node '{node}'\n  = help: send fewer or smaller messages, or shorten the links' latency; an unbounded backlog would exhaust memory"
    )]
    PayloadBytesFull { node: String, held: u64, time: String, limit: u64 },
    #[error("a runtime answered {calls} steps with {results} results (nodes {nodes}); this is a bug in xedgesim")]
    ResultCount { nodes: String, calls: usize, results: usize },
}

impl EngineError {
    /// Whether the user can fix it (a scenario's fault or bound) rather
    /// than a bug in a runtime.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, EngineError::ResultCount { .. })
    }
}
