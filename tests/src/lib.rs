//! Helpers shared by the workspace-level tests.

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding `scenarios/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits inside the workspace").to_path_buf()
}

/// Files in `dir` (relative to the root) ending in `.yaml`, sorted, as
/// paths relative to the root.
pub fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
        .expect("scenario folder exists")
        .map(|e| e.expect("readable folder").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.strip_prefix(repo_root()).expect("under the root").to_path_buf())
        .collect();
    files.sort();
    files
}

/// `text` with the absolute workspace root replaced by `<repo>`, so
/// snapshots are the same on every machine.
pub fn normalise_paths(text: &str) -> String {
    text.replace(&repo_root().to_string_lossy().into_owned(), "<repo>")
}
