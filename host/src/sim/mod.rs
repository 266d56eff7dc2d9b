//! The discrete-event engine: virtual time, the event queue, the network
//! model, the run loop and its outputs (`trace.jsonl`, `metrics.csv`,
//! `summary.json`). [`Simulation`] is the entry point.

mod atomic_file;
mod error;
mod event_queue;
mod fault_schedule;
mod fault_state;
mod histogram;
mod model_build;
mod model_check;
mod model_metrics;
mod network;
mod placement;
mod report;
mod series;
mod simulation;
mod trace;

pub(crate) use atomic_file::write_atomic;
pub use error::RunError;
pub use fault_schedule::ScheduleError;
pub use fault_state::{AppliedFault, Recovery, ScriptedFaultReport, SinkReport};
pub use model_build::{Unbuilt, build_model_folders, use_kept_builds};
pub use model_check::{check_declared_configs, check_models, check_runtime};
pub use model_metrics::{MAX_METRICS_PER_TYPE, MetricTotals, ModelMetrics, TypeMetrics};
pub use placement::SandboxMode;
pub use report::{Delivery, FaultRecord, MessageCounts, Percentiles, RunReport, RunStatus};
pub use series::{Bucket, LinkRow, MAX_LINK_ROWS, MAX_NODE_ROWS, MAX_STEP_LINES, NodeRow, Series};
pub use simulation::{
    DEFAULT_MAX_QUEUED_PAYLOAD_BYTES, LiveLog, MAX_EVENTS_PER_INSTANT, MAX_QUEUED_EVENTS, MAX_ROUNDS_PER_INSTANT,
    Progress, Simulation,
};
pub use trace::TraceLevel;
