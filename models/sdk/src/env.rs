//! What a model reads of its surroundings: the time and randomness.
//!
//! In a component both are WASI's, which the host makes virtual and seeds
//! per node; a model may as well use `std::time` and `getrandom` directly.
//! These two functions exist for the models the host also runs natively
//! (its benchmark baseline): natively, the host's native runtime sets each
//! node's virtual time and its own ChaCha20 stream, seeded exactly as the
//! WASM runtime seeds that node's `wasi:random/random`, so a built-in model
//! gives the same bytes natively as in its component. Natively outside
//! that runtime (a model's own unit tests) they are the real clock and the
//! system's randomness.

/// The node's time in µs since the start of the run.
pub fn now_us() -> u64 {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(now_us) = native::now_us() {
        return now_us;
    }
    // Inside the host the wall clock reads the Unix epoch plus virtual time.
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// 64 random bits from the node's stream.
pub fn random_u64() -> Result<u64, String> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(value) = native::random_u64() {
        return Ok(value);
    }
    // `wasi:random/random`'s get-random-u64 in a component.
    getrandom::u64().map_err(|e| format!("randomness unavailable: {e}"))
}

/// The native runtime's side: which node runs, at what time, with which
/// stream.
#[cfg(not(target_arch = "wasm32"))]
pub mod native {
    use std::cell::RefCell;

    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};

    use crate::LogLevel;

    /// One node's time and random stream while its code runs, and the
    /// lines it logged when they are kept.
    #[derive(Debug, Clone)]
    pub struct NodeEnv {
        now_us: u64,
        rng: ChaCha20Rng,
        logs: Option<Vec<(u64, LogLevel, String)>>,
    }

    impl NodeEnv {
        /// A node's environment with the stream seeded by `seed` (the host
        /// derives it from the scenario seed and the node id).
        pub fn new(seed: [u8; 32]) -> Self {
            NodeEnv { now_us: 0, rng: ChaCha20Rng::from_seed(seed), logs: None }
        }

        /// Keeps what the node logs, with its time, for [`take_logs`](Self::take_logs).
        pub fn keep_logs(mut self) -> Self {
            self.logs = Some(Vec::new());
            self
        }

        /// The lines logged since the last call: (time, level, message).
        pub fn take_logs(&mut self) -> Vec<(u64, LogLevel, String)> {
            self.logs.as_mut().map(std::mem::take).unwrap_or_default()
        }
    }

    thread_local! {
        static CURRENT: RefCell<Option<NodeEnv>> = const { RefCell::new(None) };
    }

    /// Runs `f` at `now_us` as the node whose environment is in `slot`
    /// (moved in for the call and back after it).
    pub fn entered<R>(slot: &mut Option<NodeEnv>, now_us: u64, f: impl FnOnce() -> R) -> R {
        let mut env = slot.take().expect("a node's environment is in its slot between calls");
        env.now_us = now_us;
        CURRENT.with(|c| *c.borrow_mut() = Some(env));
        let result = f();
        *slot = CURRENT.with(|c| c.borrow_mut().take());
        result
    }

    pub(super) fn now_us() -> Option<u64> {
        CURRENT.with(|c| c.borrow().as_ref().map(|env| env.now_us))
    }

    /// Keeps a logged line in the running node's environment; false when
    /// none keeps lines.
    pub(crate) fn log(level: LogLevel, message: &str) -> bool {
        CURRENT.with(|c| match c.borrow_mut().as_mut() {
            Some(NodeEnv { now_us, logs: Some(logs), .. }) => {
                logs.push((*now_us, level, message.to_string()));
                true
            }
            _ => false,
        })
    }

    pub(super) fn random_u64() -> Option<u64> {
        CURRENT.with(|c| c.borrow_mut().as_mut().map(|env| env.rng.next_u64()))
    }
}
