//! A WASM node as the runner consumes it: where its component comes from,
//! its sandbox limits and the files it reads (part of the resolved form,
//! `resolved.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Default fuel per guest call: about a tenth of a second of guest work on
/// this kind of machine — far above what the built-in models use per step,
/// low enough that a runaway loop is stopped quickly.
pub const DEFAULT_FUEL_PER_STEP: u64 = 100_000_000;
/// Extra fuel per inbox message: a step's work grows with its inbox (the
/// built-in cloud uses about 10,000 per message).
pub const DEFAULT_FUEL_PER_MESSAGE: u64 = 100_000;
pub const DEFAULT_MEMORY_LIMIT_MB: u64 = 64;
pub const DEFAULT_MAX_OUTBOX_MESSAGES: u32 = 10_000;
pub const DEFAULT_MAX_OUTBOX_BYTES: u64 = 16 * 1024 * 1024;
/// A step's inbox: as much as one sender may send in a step, so a node
/// is never faulted for what several others sent it at once.
pub const DEFAULT_MAX_INBOX_BYTES: u64 = 16 * 1024 * 1024;
pub const DEFAULT_MAX_LOG_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WasmNode {
    pub component: ComponentSource,
    pub limits: SandboxLimits,
    /// `wasm.files`: each name the guest reads at `/data/<name>`, and the
    /// host file (absolute path) it is a read-only copy of.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, PathBuf>,
}

/// The node type whose WASM model is xedgesim's own `models/ml-inference`
/// (tract, an ONNX model from `wasm.files`): too heavy to build with the
/// host, it is built from xedgesim's source tree, through the model folder
/// path and its cache, the first time a scenario names it.
pub const ML_INFERENCE_TYPE: &str = "ml_inference";

/// The folder of the `ml_inference` model: in the source tree xedgesim
/// was built from.
pub fn ml_inference_folder() -> PathBuf {
    let host = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    host.parent().unwrap_or(host).join("models/ml-inference")
}

/// Where a node's `wasm.files` appear in its sandbox.
pub const DATA_DIR: &str = "/data";

/// The most bytes of `wasm.files` one node may have, whatever its memory
/// cap: the files are copied for every sandbox that reads them.
pub const MAX_DATA_FILES_BYTES: u64 = 256 << 20;

/// The file that makes a folder a model's source, in the order they are
/// looked for: a Rust crate, a Python model, a JavaScript model.
pub const MODEL_FOLDER_FILES: [&str; 3] = ["Cargo.toml", "model.py", "model.js"];

/// Where a wasm node's component comes from. Written in the resolved form
/// as `builtin:<name>` or the file's absolute path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ComponentSource {
    /// One of the models built into xedgesim, by name.
    Builtin(String),
    /// A component file (absolute path).
    File(PathBuf),
    /// A model's source folder (absolute path): a Rust crate, or a Python
    /// or JavaScript model, built to its component before the run.
    Folder(PathBuf),
    /// A model folder once built: named by the folder (summaries and
    /// messages do not change with where the build is kept), read from
    /// `component`.
    Built { folder: PathBuf, component: PathBuf },
}

impl fmt::Display for ComponentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentSource::Builtin(name) => write!(f, "builtin:{name}"),
            ComponentSource::File(path) => write!(f, "{}", path.display()),
            ComponentSource::Folder(path) | ComponentSource::Built { folder: path, .. } => {
                write!(f, "{}/", path.display())
            }
        }
    }
}

impl Serialize for ComponentSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Per-node sandbox limits; see docs/sandbox.md. Ordered, so nodes can be
/// grouped by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SandboxLimits {
    /// Fuel for a call, plus `fuel_per_message` for each message in its inbox.
    pub fuel_per_step: u64,
    pub fuel_per_message: u64,
    pub memory_limit_mb: u64,
    pub max_outbox_messages: u32,
    pub max_outbox_bytes: u64,
    /// Bytes one step's inbox may hold (payloads, sender ids, topics and a
    /// header's worth a message); more messages due at one instant arrive
    /// over further steps at that instant.
    pub max_inbox_bytes: u64,
    pub max_log_bytes: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            fuel_per_step: DEFAULT_FUEL_PER_STEP,
            fuel_per_message: DEFAULT_FUEL_PER_MESSAGE,
            memory_limit_mb: DEFAULT_MEMORY_LIMIT_MB,
            max_outbox_messages: DEFAULT_MAX_OUTBOX_MESSAGES,
            max_outbox_bytes: DEFAULT_MAX_OUTBOX_BYTES,
            max_inbox_bytes: DEFAULT_MAX_INBOX_BYTES,
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
        }
    }
}
