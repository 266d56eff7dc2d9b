//! What can go wrong planning and running a sweep.

use std::path::PathBuf;

use crate::run::RunError;
use crate::scenario::ScenarioError;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The scenario file as written is invalid, or a value the sweep sets.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// One parameter point makes the scenario invalid.
    #[error("sweep point {values} is invalid:\n{error}")]
    InvalidPoint { values: String, error: ScenarioError },
    /// Something the user asked that cannot be done, with the fix.
    #[error("{0}")]
    Usage(String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// An executor (sbatch) or a point's run failed.
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Run(#[from] RunError),
}

impl SweepError {
    /// Whether the user can fix it (exit code 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            SweepError::Scenario(_) | SweepError::InvalidPoint { .. } | SweepError::Usage(_) => true,
            SweepError::Run(e) => e.is_user_error(),
            SweepError::Io { .. } | SweepError::Failed(_) => false,
        }
    }
}

/// An I/O error at `path`.
pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io { path: path.to_path_buf(), source }
}
