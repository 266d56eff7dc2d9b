//! The run layer: everything about a run that is not the engine.
//! [`Simulation`] (the builder over [`RunOptions`]) prepares a scenario
//! (`prepare.rs`: model folders built, configs checked), places its nodes
//! (`placement.rs`: the only place that chooses a backend), runs the
//! engine and writes the outputs (`outputs.rs`: trace, CSVs, series,
//! `summary.json` ([`RunSummary`]) and the page `report.html`), and
//! records or replays nodes (`recording.rs`: `recording.xrec`, whose
//! header's run options `recorded_options.rs` writes and checks;
//! `replay.rs`: a recorded run rerun from its recording, and the check
//! that its outputs are the recorded run's). Errors say which phase
//! failed ([`RunError`]).

mod error;
mod options;
mod outputs;
mod placement;
mod prepare;
mod recorded_options;
mod recording;
mod replay;
mod simulation;
mod summary;

pub use error::{PrepareError, RunError};
pub use options::{DEFAULT_RECORD_MAX_BYTES, MAX_RECORD_MAX_BYTES, RecordOptions, ReplayFrom, RunOptions, SandboxMode};
pub use prepare::{Unbuilt, build_model_folders, check_declared_configs, check_models, check_runtime, use_kept_builds};
pub use recorded_options::RecordedOptions;
pub use recording::{LoadedRecording, ReplaySource};
pub use replay::{
    CompareError, Comparison, OutputDifference, RESULT_KEYS, compare_outputs, replay_of, replay_of_recording,
};
pub use simulation::Simulation;
pub use summary::{Percentiles, RecordingSummary, ReplayedNode, RunStatus, RunSummary};

// The engine's types the builder and the summary show, so a caller needs one path.
pub use crate::engine::{Delivery, FaultRecord, LiveLog, MessageCounts, Progress, TraceLevel};
pub use crate::runtime::record::{RecordError, ReplayMode};
