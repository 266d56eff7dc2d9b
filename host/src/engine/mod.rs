//! The discrete-event engine: virtual time, the event queue, delivery and
//! inbox bounds, the network (links, partitions, degrades), scripted fault
//! state and the recording hooks (trace, series, counts). It steps
//! [`NodeGroup`](crate::runtime::NodeGroup)s it is handed ([`Placement`]) and knows no backend, no
//! file system and no page: the run layer (`crate::run`) makes the groups
//! and writes the outputs.
//!
//! Next-event, not fixed-step: a node steps only when messages reach it or
//! the wake-up time it asked for comes; idle nodes cost nothing. Every node
//! is stepped once at t = 0. All messages due for a node at one instant
//! arrive in one step, in the order they were sent (over several steps at
//! that instant when they exceed its inbox byte bound). A node with `cpu:`
//! is busy for its steps' compute time (`compute.rs`). Events at the same
//! virtual time are handled in rounds: a step's zero-latency messages are
//! delivered in the next round at the same instant.
//!
//! The run covers the closed interval [0, duration]: an event due exactly
//! at the end time is handled (a 10 s run samples at 10 s); later ones are
//! not, and messages due after the end are counted as in flight. A
//! node's requested wake-up replaces its earlier one; `none` cancels it.

mod compute;
mod delivery;
mod error;
mod event_queue;
#[cfg(test)]
mod fake_group;
mod fault_schedule;
mod fault_state;
mod faults;
mod finish;
mod histogram;
mod instant;
mod model_metrics;
mod network;
mod placement;
mod records;
mod series;
mod step;
#[cfg(test)]
mod tests;
mod trace;
mod waves;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustc_hash::FxHashMap;

use compute::Compute;
pub use error::EngineError;
use event_queue::EventQueue;
pub use fault_schedule::ScheduleError;
pub use fault_state::{AppliedFault, FaultState, Recovery, ScriptedFaultSummary, SinkSummary};
pub use finish::Outcome;
pub use histogram::Histogram;
pub use model_metrics::{MAX_METRICS_PER_TYPE, MetricTotals, ModelMetrics, TypeMetrics};
pub(crate) use model_metrics::{gather as gather_model_metrics, number_or_name, table_line as model_metrics_line};
use network::Network;
pub use placement::Placement;
pub use records::{Delivery, FaultRecord, MessageCounts};
use series::SeriesRecorder;
pub use series::{Bucket, LinkRow, MAX_LINK_ROWS, MAX_NODE_ROWS, MAX_STEP_LINES, NodeRow, Series};
pub use trace::{Trace, TraceLevel, TraceSink};

use crate::runtime::LogLevel;
use crate::scenario::{NodeKind, ResolvedScenario};

/// Most events the queue may hold: a bound on memory (about 200 bytes each).
pub const MAX_QUEUED_EVENTS: usize = 50_000_000;
/// Most rounds at one instant before the run is declared stuck.
pub const MAX_ROUNDS_PER_INSTANT: usize = 10_000;
/// Most events (deliveries and wake-ups) created and handled at one
/// instant (every round after the first, whose events were scheduled
/// earlier, however many nodes there are) before the run is declared
/// stuck: bounds the work, not only the rounds, so a node that sends itself
/// thousands of messages a round is stopped early.
pub const MAX_EVENTS_PER_INSTANT: u64 = 1_000_000;
/// Default bound on the bytes of messages in flight (payloads, topics,
/// ids and a fixed overhead each: `event_queue::held_bytes`).
pub const DEFAULT_MAX_QUEUED_PAYLOAD_BYTES: u64 = 1 << 30;
/// What the default bound allows each node, for scenarios so large that
/// 1 GiB would stop them at their first instant: ten million sensors that
/// each send one reading hold about 2.3 GB as the bound counts them.
pub const DEFAULT_QUEUED_BYTES_PER_NODE: u64 = 512;

/// The default bound on the bytes of messages in flight for a scenario of
/// `nodes` nodes: 1 GiB, or 512 bytes a node when that is more.
pub fn default_max_queued_payload_bytes(nodes: usize) -> u64 {
    DEFAULT_MAX_QUEUED_PAYLOAD_BYTES.max((nodes as u64).saturating_mul(DEFAULT_QUEUED_BYTES_PER_NODE))
}

/// Where a run is, for progress displays.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub now_us: u64,
    pub duration_us: u64,
    pub events: u64,
}

/// One line a node logged, as the run makes it: virtual time, node, level, text.
#[derive(Debug, Clone, Copy)]
pub struct LiveLog<'a> {
    pub time_us: u64,
    pub node: &'a str,
    pub level: LogLevel,
    pub text: &'a str,
}

/// Hears the lines nodes log at or above a level, as the run makes them.
pub type LogTap = (LogLevel, Box<dyn FnMut(LiveLog<'_>)>);

/// Why the loop stopped early.
#[derive(Debug)]
pub enum Stop {
    Interrupted,
    Error(EngineError),
}

/// What the engine is told besides the scenario and its groups.
pub struct EngineOptions {
    pub seed: u64,
    pub duration_us: u64,
    /// Bound on the bytes of messages in flight.
    pub max_queued_payload_bytes: u64,
    /// Threads that may step the groups due at a busy instant.
    pub threads: usize,
    /// The user's stop flag, looked at between instants and between the
    /// groups of one instant.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Keep every delivery (for equivalence).
    pub record_deliveries: bool,
    /// Who hears log lines live (`--log`), and from which level.
    pub log_tap: Option<LogTap>,
    /// The scripted faults: nodes down, partitions, stalls (`fault_state.rs`).
    pub faults: FaultState,
}

/// What the engine counts of each node (its steps are its runtime's count).
#[derive(Debug, Clone, Default)]
pub struct NodeStats {
    pub messages_in: u64,
    pub bytes_in: u64,
    pub messages_out: u64,
    pub bytes_out: u64,
    pub dropped_out: u64,
}

/// A run in progress: [`Engine::run`] runs it to its end and hands back its [`Outcome`].
pub struct Engine<'a> {
    scenario: &'a ResolvedScenario,
    ids: Vec<&'a str>,
    // Looked up, never iterated: a fast hash, as it is asked once a message.
    index_of: FxHashMap<&'a str, usize>,
    /// Each node's last destination (`u32::MAX`: none yet), tried before `index_of`.
    last_destination: Vec<u32>,
    broker: Option<usize>,
    placement: &'a mut Placement,
    /// Every delivery, when the run records them.
    deliveries: Option<Vec<Delivery>>,
    interrupt: Option<Arc<AtomicBool>>,
    threads: usize,
    /// Their pool, made at the first busy instant (a small run never pays
    /// for starting threads); `None` inside: the system refused threads,
    /// and the run goes on serial, not failed.
    pool: Option<Option<std::sync::Arc<rayon::ThreadPool>>>,
    stopped: Vec<bool>,
    scripted: FaultState,
    /// Compute time of nodes with `cpu:` (`compute.rs`).
    compute: Compute,
    generation: Vec<u64>,
    /// Each node's position in the current round's due list (`u32::MAX`: not due).
    due_at: Vec<u32>,
    /// The size of each node's last inbox: the next one's starting capacity.
    inbox_hint: Vec<u32>,
    /// A round's due list and inbox bytes, kept with their capacity from round to round.
    round_due: Vec<(usize, Vec<crate::runtime::Message>)>,
    round_inbox_bytes: Vec<u64>,
    stats: Vec<NodeStats>,
    log_tap: Option<LogTap>,
    queue: EventQueue,
    network: Network,
    trace: Trace,
    latency: Histogram,
    /// What the report is drawn from (bounded; see `series.rs`).
    series: SeriesRecorder,
    counts: MessageCounts,
    faults: Vec<FaultRecord>,
    next_message_id: u64,
    events: u64,
    steps: u64,
    now_us: u64,
    duration_us: u64,
}

impl<'a> Engine<'a> {
    /// The engine of `scenario`, whose nodes live in `placement`, tracing into `trace`.
    pub fn new(
        scenario: &'a ResolvedScenario,
        placement: &'a mut Placement,
        trace: Trace,
        options: EngineOptions,
    ) -> Self {
        let EngineOptions {
            seed,
            duration_us,
            max_queued_payload_bytes,
            threads,
            interrupt,
            record_deliveries,
            log_tap,
            faults,
        } = options;
        let queue = EventQueue::new(MAX_QUEUED_EVENTS, max_queued_payload_bytes);
        let ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
        let index_of: FxHashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let network = Network::new(&scenario.network, seed, |id| index_of[id]);
        let n = ids.len();
        let kinds: Vec<&str> = scenario.nodes.iter().map(|n| n.kind.name()).collect();
        let series = SeriesRecorder::new(duration_us, &ids, &kinds);
        Engine {
            broker: scenario.nodes.iter().position(|n| n.kind == NodeKind::Broker),
            scenario,
            ids,
            index_of,
            last_destination: vec![u32::MAX; n],
            placement,
            deliveries: record_deliveries.then(Vec::new),
            interrupt,
            threads: threads.max(1),
            pool: None,
            stopped: vec![false; n],
            scripted: faults,
            compute: Compute::for_scenario(scenario),
            generation: vec![0; n],
            due_at: vec![u32::MAX; n],
            inbox_hint: vec![0; n],
            round_due: Vec::new(),
            round_inbox_bytes: Vec::new(),
            stats: vec![NodeStats::default(); n],
            log_tap,
            queue,
            network,
            trace,
            latency: Histogram::default(),
            series,
            counts: MessageCounts::default(),
            faults: Vec::new(),
            next_message_id: 0,
            events: 0,
            steps: 0,
            now_us: 0,
            duration_us,
        }
    }

    fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed))
    }
}
