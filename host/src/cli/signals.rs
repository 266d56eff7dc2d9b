//! Ctrl-C, SIGTERM (what CI timeouts and `docker stop` send) and SIGHUP
//! all stop a run cleanly: containers are removed and the outputs written.
//! The exit code then says which signal it was, as shells report it:
//! 128 + its number (130, 143, 129). A second signal while the run winds
//! down is ignored on purpose: the clean-up must complete.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

/// The flag the run polls; set by the handler.
static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// The last signal received.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Only atomics here: all a signal handler may safely touch.
    SIGNAL.store(signal, Ordering::Relaxed);
    if let Some(flag) = FLAG.get() {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Installs the handlers (once) and returns the flag they set.
pub fn install() -> Arc<AtomicBool> {
    let flag = FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))).clone();
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        #[allow(unsafe_code, reason = "installing a signal handler is unsafe in libc; the handler only stores atomics")]
        // SAFETY: `on_signal` is async-signal-safe: it stores two atomics and reads an initialised OnceLock.
        unsafe {
            libc::signal(signal, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }
    flag
}

/// The exit code of a run a signal stopped: 128 + the signal's number.
pub fn exit_code() -> u8 {
    match SIGNAL.load(Ordering::Relaxed) {
        0 => 128 + libc::SIGINT as u8,
        signal => 128u8.saturating_add(u8::try_from(signal).unwrap_or(0)),
    }
}
