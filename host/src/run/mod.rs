//! The run layer: everything about a run that is not the engine.
//! [`Simulation`] (the builder over [`RunOptions`]) prepares a scenario
//! (`prepare.rs`: model folders built, configs checked), places its nodes
//! (`placement.rs`: the only place that chooses a backend), runs the
//! engine and writes the outputs (`outputs.rs`: trace, CSVs, series,
//! `summary.json` ([`RunSummary`]) and the page `report.html`). Errors
//! say which phase failed ([`RunError`]).

mod error;
mod options;
mod outputs;
mod placement;
mod prepare;
mod simulation;
mod summary;

pub use error::{PrepareError, RunError};
pub use options::{RunOptions, SandboxMode};
pub use prepare::{Unbuilt, build_model_folders, check_declared_configs, check_models, check_runtime, use_kept_builds};
pub use simulation::Simulation;
pub use summary::{Percentiles, RunStatus, RunSummary};

// The engine's types the builder and the summary show, so a caller needs one path.
pub use crate::engine::{Delivery, FaultRecord, LiveLog, MessageCounts, Progress, TraceLevel};
