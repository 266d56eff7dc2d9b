//! `wasm:` on a node: its component, its sandbox limits and its
//! read-only data files (`files:`).

use super::Checker;
use crate::scenario::manifest::WasmSection;
use crate::scenario::resolved::{DEFAULT_MEMORY_LIMIT_MB, MAX_DATA_FILES_BYTES, MODEL_FOLDER_FILES};

/// Longest name of a data file (a file name on every common file system).
const MAX_FILE_NAME_BYTES: usize = 255;

impl Checker<'_> {
    pub(super) fn wasm(&mut self, path: &str, id: &str, wasm: &WasmSection) {
        if let Some(component) = &wasm.component {
            let folder = self.base_dir.join(component);
            if !folder.is_dir() {
                self.existing_path(&format!("{path}.wasm.component"), id, component, false);
            } else if !MODEL_FOLDER_FILES.iter().any(|f| folder.join(f).is_file()) {
                self.error(
                    &format!("{path}.wasm.component"),
                    Some(id),
                    format!("folder '{component}' holds no model: no Cargo.toml, model.py or model.js"),
                    "a component is a .wasm file, or a model's folder (`xedgesim new model NAME` makes one), built before the run",
                );
            }
        }
        let limits = [
            ("fuel_per_step", wasm.fuel_per_step),
            ("fuel_per_message", wasm.fuel_per_message),
            ("memory_limit_mb", wasm.memory_limit_mb),
            ("max_outbox_messages", wasm.max_outbox_messages.map(u64::from)),
            ("max_outbox_bytes", wasm.max_outbox_bytes),
            ("max_inbox_bytes", wasm.max_inbox_bytes),
            ("max_log_bytes", wasm.max_log_bytes),
        ];
        for (key, value) in limits {
            if value == Some(0) {
                self.error(
                    &format!("{path}.wasm.{key}"),
                    Some(id),
                    format!("wasm.{key} must be greater than 0"),
                    "omit it for the default (see docs/sandbox.md)",
                );
            }
        }
        if let Some(mb) = wasm.memory_limit_mb
            && mb > 4096
        {
            self.error(
                &format!("{path}.wasm.memory_limit_mb"),
                Some(id),
                format!("wasm.memory_limit_mb is {mb}; a 32-bit component can address at most 4096"),
                "use at most 4096",
            );
        }
        self.data_files(path, id, wasm);
    }

    /// `wasm.files`: each name one plain file name, each file a regular
    /// file, and all of them together within the node's memory cap (the
    /// model reads them into its memory) and [`MAX_DATA_FILES_BYTES`].
    /// Where a file lies is a capability (`capability.rs`), not an error.
    fn data_files(&mut self, path: &str, id: &str, wasm: &WasmSection) {
        let mut total = 0u64;
        for (name, file) in &wasm.files {
            let key = format!("{path}.wasm.files.{name}");
            let plain = !name.is_empty()
                && name.len() <= MAX_FILE_NAME_BYTES
                && name != "."
                && name != ".."
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !plain {
                self.error(
                    &key,
                    Some(id),
                    format!("wasm.files: '{}' is not a file name", crate::text::escape_controls(name)),
                    format!(
                        "a name is one file name of letters, digits, '.', '_' and '-' (at most {MAX_FILE_NAME_BYTES} bytes); the model opens /data/NAME"
                    ),
                );
            }
            let full = self.base_dir.join(file);
            match std::fs::metadata(&full) {
                Ok(meta) if meta.is_file() => total = total.saturating_add(meta.len()),
                Ok(_) => self.error(
                    &key,
                    Some(id),
                    format!("wasm.files: '{file}' is not a regular file"),
                    "give a file (a model, a table); a folder or a device cannot be read-only data",
                ),
                Err(_) => {
                    self.existing_path(&key, id, file, false);
                }
            }
        }
        let cap_bytes = wasm.memory_limit_mb.unwrap_or(DEFAULT_MEMORY_LIMIT_MB).saturating_mul(1 << 20);
        let limit = cap_bytes.min(MAX_DATA_FILES_BYTES);
        if total > limit {
            self.error(
                &format!("{path}.wasm.files"),
                Some(id),
                format!(
                    "wasm.files hold {total} bytes; a node may have at most {limit} (its memory_limit_mb, and at most {} MiB): the model reads them into its memory",
                    MAX_DATA_FILES_BYTES >> 20
                ),
                "raise wasm.memory_limit_mb, or give smaller files",
            );
        }
    }

    /// Checks that `relative` (to the scenario file) exists; returns whether it does.
    fn existing_path(&mut self, path: &str, id: &str, relative: &str, want_dir: bool) -> bool {
        let full = self.base_dir.join(relative);
        let ok = if want_dir { full.is_dir() } else { full.is_file() };
        if !ok {
            let what = if want_dir { "directory" } else { "file" };
            self.error(
                path,
                Some(id),
                format!("{what} '{relative}' does not exist"),
                "paths are relative to the folder of the scenario file",
            );
        }
        ok
    }
}
