//! `wasm:` on a node: its component and its sandbox limits.

use super::Checker;
use crate::scenario::manifest::WasmSection;
use crate::scenario::resolved::MODEL_FOLDER_FILES;

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
