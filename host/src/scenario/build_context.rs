//! Where a Docker node's `build_context` is.
//!
//! Paths in a scenario are relative to its file's folder. xEdgeSim resolved
//! `build_context` from its repository root instead (its scenarios live in
//! `scenarios/m2d/`, its contexts in `containers/<name>/`), so its files
//! name contexts that are not beside them. A relative context is therefore
//! looked for in the scenario's folder first, then in each folder above
//! it up to the repository's root (the first holding `.git`) and at most
//! four levels up, so a generic name never reaches `$HOME` or `/`; the
//! first that exists is used, and `validate` says when it was not the
//! scenario's own folder.

use std::path::{Path, PathBuf};

/// How far above the scenario's folder a build context is looked for.
const MAX_LEVELS_UP: usize = 4;

/// A build context found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    /// How many folders above the scenario's it was found (0: beside it).
    pub levels_up: usize,
}

/// Finds `context` (as written in the file) for a scenario in `base_dir`.
pub fn locate(base_dir: &Path, context: &str) -> Option<Located> {
    if Path::new(context).is_absolute() {
        let path = PathBuf::from(context);
        return path.is_dir().then_some(Located { path, levels_up: 0 });
    }
    let mut searched = Vec::new();
    for dir in base_dir.ancestors().take(MAX_LEVELS_UP + 1) {
        searched.push(dir);
        if dir.join(".git").exists() {
            break;
        }
    }
    searched
        .into_iter()
        .enumerate()
        .map(|(levels_up, dir)| Located { path: dir.join(context), levels_up })
        .find(|found| found.path.is_dir())
}

/// `context` as it would be written relative to the scenario's folder.
pub fn relative_spelling(found: &Located, context: &str) -> String {
    format!("{}{context}", "../".repeat(found.levels_up))
}
