//! The virtual clock a guest reads through WASI: the wall clock starts at
//! the Unix epoch at t = 0 and the monotonic clock at 0, and both advance
//! only with simulation time, never with real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// Simulation time in µs, shared between the host (which sets it before
/// each call) and the WASI clocks of a store (which read it).
#[derive(Debug, Clone, Default)]
pub struct VirtualClock(Arc<AtomicU64>);

impl VirtualClock {
    pub fn set(&self, now_us: u64) {
        self.0.store(now_us, Ordering::Relaxed);
    }

    pub fn now_us(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_micros(1)
    }

    fn now(&self) -> Duration {
        Duration::from_micros(self.now_us())
    }
}

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1_000
    }

    fn now(&self) -> u64 {
        self.now_us().saturating_mul(1_000)
    }
}
