//! Ctrl-C and SIGTERM reach a run stuck in wasmtime: a long compile or a
//! long guest call.
//!
//! A guest call is stopped by epoch interruption: every store's deadline
//! is one tick past the engine's epoch, and the epoch moves only while the
//! user's stop flag is set (a watcher thread advances it every 20 ms). It
//! never moves otherwise, so no run's result depends on the wall clock: it
//! only ever ends a run the user is stopping. A compile cannot be stopped
//! from outside, so it runs on a thread of its own that is left behind
//! when the flag is set; the process is about to exit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Engine, Store};

/// How often the flag is looked at.
const POLL: Duration = Duration::from_millis(20);

/// Far enough that `finish`, bounded by fuel, always completes, even in a
/// run the user is stopping.
const NEVER_TICKS: u64 = 1 << 62;

/// The error an abandoned compile returns.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("interrupted while compiling")]
pub struct CompileInterrupted;

/// Starts the thread that advances `engine`'s epoch while `flag` is set.
/// It ends with the engine.
pub fn watch(engine: &Engine, flag: Arc<AtomicBool>) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new().name("xedgesim-interrupt".into()).spawn(move || {
        loop {
            std::thread::sleep(POLL);
            let Some(engine) = weak.upgrade() else { return };
            if flag.load(Ordering::Relaxed) {
                engine.increment_epoch();
            }
        }
    });
    // Without the thread a stop is noticed between instants only, as before.
    drop(spawned);
}

/// Arms `store`: its guest calls trap once the epoch moves.
pub fn arm<T>(store: &mut Store<T>) {
    store.epoch_deadline_trap();
    store.set_epoch_deadline(1);
}

/// Disarms `store`, for calls that must complete (`finish`).
pub fn disarm<T>(store: &mut Store<T>) {
    store.set_epoch_deadline(NEVER_TICKS);
}

/// Runs `compile(engine, bytes)`, returning [`CompileInterrupted`] as soon
/// as `flag` is set (the compile then runs on, unwatched, until the process
/// exits). Without a flag it runs here, on the caller's thread, and the
/// component is not copied.
pub fn compile_unless_set<T: Send + 'static>(
    flag: Option<&Arc<AtomicBool>>,
    engine: &Engine,
    bytes: &[u8],
    compile: fn(&Engine, &[u8]) -> wasmtime::Result<T>,
) -> wasmtime::Result<T> {
    let Some(flag) = flag else { return compile(engine, bytes) };
    let (engine, bytes) = (engine.clone(), bytes.to_vec());
    let work = move || compile(&engine, &bytes);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("xedgesim-compile".into())
        .spawn(move || {
            // The receiver is gone when the compile was abandoned.
            let _ = sender.send(work());
        })
        .map_err(wasmtime::Error::from)?;
    loop {
        if flag.load(Ordering::Relaxed) {
            return Err(CompileInterrupted.into());
        }
        match receiver.recv_timeout(POLL) {
            Ok(result) => return result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(wasmtime::Error::msg("the compiling thread ended without a result"));
            }
        }
    }
}
