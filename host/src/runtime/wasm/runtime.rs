//! [`WasmRuntime`]: one `Engine`, one `Linker` and the compiled components
//! of a run.
//!
//! The `Engine` holds the compilation settings every component shares:
//! fuel metering on (execution is bounded by instruction count, never by
//! wall-clock interrupts, which would break determinism), epoch
//! interruption on (only for a user's Ctrl-C: see `interrupt.rs`), NaN
//! canonicalisation on (float results are the same bytes on every CPU),
//! and the component model's concurrency support off (it makes every call
//! about 3× slower and models do not use it). The `Linker` maps a model's
//! imports to the host: WASI (virtualised per store, see `state.rs`), and
//! `xedgesim:node/log` and `/sandbox` with WASI's randomness served per
//! node (see `imports.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::builtin::builtin_with_hash;
use super::cache::ArtifactCache;
use super::component::ModelComponent;
use super::error::WasmError;
use super::imports;
use super::interrupt;
use super::state::NodeState;
use crate::scenario::ComponentSource;

/// Up to this many pooled instances, each memory gets wasmtime's default
/// 4 GiB reservation (bounds checks become guard pages, which is faster);
/// beyond it the reservation shrinks to the memory cap so all slots fit
/// in the 128 TiB address space.
const FULL_RESERVATION_MAX_SLOTS: u32 = 8_192;

/// The error a guest's real-time wait traps with.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("xedgesim: guest tried to wait on the real clock")]
pub struct RealTimeWait;

/// How the engine allocates instances.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are cached; `None` (the default) disables
    /// the cache: every component is compiled.
    pub cache_dir: Option<PathBuf>,
    /// Pre-reserve slots for this many instances (wasmtime's pooling
    /// allocator): faster instantiation, more virtual memory up front.
    /// `None`: allocate on demand.
    pub pooling_slots: Option<u32>,
    /// Largest linear memory any store may grow to, in MiB.
    pub max_memory_mb: u64,
    /// The user's stop flag: once set, compiles are abandoned and guest
    /// calls cut short (see `interrupt.rs`).
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: None,
            pooling_slots: None,
            max_memory_mb: crate::scenario::DEFAULT_MEMORY_LIMIT_MB,
            interrupt: None,
        }
    }
}

/// The engine, linker and components of one run.
pub struct WasmRuntime {
    engine: Engine,
    linker: Linker<NodeState>,
    cache: Option<ArtifactCache>,
    components: BTreeMap<ComponentSource, Arc<ModelComponent>>,
    interrupt: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmRuntime").field("components", &self.components.keys()).finish_non_exhaustive()
    }
}

impl WasmRuntime {
    pub fn new(options: &RuntimeOptions) -> Result<Self, WasmError> {
        let mut config = Config::new();
        // Relaxed SIMD deterministic too: float results must not depend on the CPU.
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .concurrency_support(false);
        let max_memory_bytes = (options.max_memory_mb << 20) as usize;
        if let Some(slots) = options.pooling_slots {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(slots)
                .total_core_instances(slots.saturating_mul(4))
                .total_memories(slots.saturating_mul(2))
                .total_tables(slots.saturating_mul(4))
                .max_memory_size(max_memory_bytes);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            if slots > FULL_RESERVATION_MAX_SLOTS {
                // Reserve only what a store may use, so that many slots fit in
                // the address space; code then checks bounds explicitly.
                config.memory_reservation(max_memory_bytes as u64);
            }
        }
        let engine = Engine::new(&config).map_err(WasmError::Engine)?;
        if let Some(flag) = &options.interrupt {
            interrupt::watch(&engine, flag.clone());
        }
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(WasmError::Engine)?;
        imports::add_to_linker(&mut linker).map_err(WasmError::Engine)?;
        let cache = options.cache_dir.as_ref().and_then(|dir| ArtifactCache::new(dir).ok());
        Ok(WasmRuntime { engine, linker, cache, components: BTreeMap::new(), interrupt: options.interrupt.clone() })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The component at `source`, compiled once per run.
    pub fn component(&mut self, source: &ComponentSource) -> Result<Arc<ModelComponent>, WasmError> {
        if let Some(c) = self.components.get(source) {
            return Ok(c.clone());
        }
        let component = match source {
            ComponentSource::Builtin(name) => {
                let (bytes, sha256) =
                    builtin_with_hash(name).ok_or_else(|| WasmError::NoBuiltin { name: name.clone() })?;
                ModelComponent::load(
                    &self.engine,
                    &self.linker,
                    self.cache.as_ref(),
                    self.interrupt.as_ref(),
                    source.to_string(),
                    bytes,
                    Some(sha256),
                )?
            }
            ComponentSource::Folder(dir) => {
                // Built before the run, which names the built file instead.
                return Err(WasmError::Build {
                    dir: dir.clone(),
                    reason: "it was not built before the run (a bug in xedgesim)".to_string(),
                });
            }
            ComponentSource::File(path) | ComponentSource::Built { component: path, .. } => {
                let bytes = std::fs::read(path).map_err(|source| WasmError::Read { path: path.clone(), source })?;
                self.load_bytes(source.to_string(), &bytes)?
            }
        };
        let component = Arc::new(component);
        self.components.insert(source.clone(), component.clone());
        Ok(component)
    }

    /// Compiles (or loads from the cache) and checks a component from bytes.
    pub fn load_bytes(&self, name: String, bytes: &[u8]) -> Result<ModelComponent, WasmError> {
        ModelComponent::load(
            &self.engine,
            &self.linker,
            self.cache.as_ref(),
            self.interrupt.as_ref(),
            name,
            bytes,
            None,
        )
    }
}
