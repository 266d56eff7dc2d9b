//! Why a scenario could not be loaded.

use std::path::PathBuf;

use super::diagnostic::Diagnostics;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{}: error: cannot read scenario file: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// The file has one or more errors; each diagnostic says where and how to fix it.
    #[error("{diagnostics}")]
    Invalid { diagnostics: Diagnostics },
}
