//! WASM nodes: model components run by wasmtime with a virtual clock,
//! seeded randomness and hard limits.
//!
//! - [`WasmRuntime`] holds the `Engine` (compilation settings: fuel, NaN
//!   canonicalisation), the `Linker` (what a model's imports resolve to)
//!   and each run's compiled components.
//! - [`ModelComponent`] is one compiled `Component`, checked against the
//!   contract and pre-instantiated, cached on disk by [`ArtifactCache`].
//! - [`WasmNodeGroup`] is one `Store` — one sandbox — holding an instance
//!   and the node resources made in it; [`LanedGroup`] is one pack run as
//!   several of them ("lanes") that the engine can step on several threads.
//!
//! Determinism: a guest sees time only as the `now-us` argument and the
//! WASI clocks, both virtual; randomness only through WASI random, a
//! ChaCha20 stream per node seeded as `seed.rs` documents. Nothing a guest
//! does can wait on the real clock. Packing several nodes into one store
//! changes none of this: the guest says whose code runs (`running.rs`),
//! and each node keeps its own streams, log and fuel budget.

mod bindings;
mod builtin;
mod cache;
mod clock;
mod component;
mod convert;
mod data_files;
mod declaration;
mod error;
mod imports;
mod interrupt;
mod lanes;
mod limiter;
mod log_sink;
mod node_group;
mod running;
mod runtime;
mod source_build;
mod source_key;
mod state;

pub use builtin::{builtin_component, fixture_component};
pub use cache::{ArtifactCache, CacheOutcome, DEFAULT_MAX_CACHE_BYTES, SUBFOLDER as CACHE_SUBFOLDER};
pub use component::{
    CONTRACT_VERSION, MAX_CODE_BYTES, MAX_COMPONENT_WORK, MAX_FUNCTION_BYTES, MAX_FUNCTION_WORK, ModelComponent,
    compile_work,
};
pub use data_files::DataFiles;
pub use error::WasmError;
pub use lanes::{LANES_PER_COMPONENT, LanedGroup, MIN_LANE_NODES, lane_count, lane_sizes};
pub use node_group::{NodeSpec, WasmNodeGroup};
pub use runtime::{RuntimeOptions, WasmRuntime};
pub use source_build::{FolderLanguage, build_folder, kept_build};
pub use source_key::sources_key;

pub use state::NodeState;
