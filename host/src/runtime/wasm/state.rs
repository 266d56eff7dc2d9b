//! [`NodeState`]: what a `Store` holds for its guest — the WASI context
//! (virtual clock, seeded randomness, no files, no network, no
//! environment), the resource limits, and the log sink.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::xedgesim::node::{log, types};
use super::clock::VirtualClock;
use super::log_sink::{LOG_LIMIT_TRAP, LogSink};
use super::seed::{Stream, derive_seed};
use crate::runtime::{LogLevel, LogStream};

/// Tables and instances a guest may create: far above what a model
/// compiled from Rust needs, low enough to bound host memory.
const MAX_TABLE_ELEMENTS: usize = 100_000;
const MAX_INSTANCES: usize = 64;
const MAX_TABLES: usize = 64;
const MAX_MEMORIES: usize = 16;

/// The data of one `Store`: one sandbox, holding one or more nodes.
pub struct NodeState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    pub(super) clock: VirtualClock,
    pub(super) log: LogSink,
}

impl NodeState {
    /// A sandbox whose randomness is seeded from `scenario_seed` and
    /// `rng_id` (the node id, or the first node's id for a shared sandbox).
    pub fn new(scenario_seed: u64, rng_id: &str, memory_limit_bytes: usize, max_log_bytes: u64) -> Self {
        let clock = VirtualClock::default();
        let log = LogSink::new(max_log_bytes);
        let insecure_seed = derive_seed(scenario_seed, rng_id, Stream::WasiInsecureSeed);
        let wasi = WasiCtxBuilder::new()
            .wall_clock(clock.clone())
            .monotonic_clock(clock.clone())
            .secure_random(ChaCha20Rng::from_seed(derive_seed(scenario_seed, rng_id, Stream::WasiRandom)))
            .insecure_random(ChaCha20Rng::from_seed(derive_seed(scenario_seed, rng_id, Stream::WasiInsecureRandom)))
            .insecure_random_seed(u128::from_le_bytes(insecure_seed[..16].try_into().expect("32-byte seed")))
            .stdout(log.stream(LogStream::Stdout))
            .stderr(log.stream(LogStream::Stderr))
            // No preopened directories, no sockets, no environment, no arguments.
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory_limit_bytes)
            .table_elements(MAX_TABLE_ELEMENTS)
            .instances(MAX_INSTANCES)
            .tables(MAX_TABLES)
            .memories(MAX_MEMORIES)
            .trap_on_grow_failure(true)
            .build();
        NodeState { wasi, table: ResourceTable::new(), limits, clock, log }
    }
}

impl WasiView for NodeState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl types::Host for NodeState {}

impl log::Host for NodeState {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        if self.log.log(level, &message) { Ok(()) } else { Err(wasmtime::format_err!("{LOG_LIMIT_TRAP}")) }
    }
}
