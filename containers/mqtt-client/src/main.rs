//! An MQTT 3.1.1 client for the tests of MQTT container nodes: a
//! well-behaved service, or one that misbehaves on purpose. It reads the
//! broker's address from `MQTT_BROKER_HOST` and `MQTT_BROKER_PORT`, and
//! what to do from `MODE` (parameters in [`config`]):
//!
//! - `echo` (default): subscribes to `SUBSCRIBE` and, for each message
//!   received, publishes its payload on `REPLY_PREFIX` + its topic,
//!   `REPLIES` times, `DELAY_MS` after it came
//! - `periodic`: publishes a counter on `TOPIC`, `PERIOD_MS` apart
//! - `retain`: publishes `PAYLOAD` retained on `TOPIC`, then echoes
//! - `never-connect`: never opens a connection
//! - `connect-twice`: echoes; after `AFTER` replies (default 0: at once)
//!   opens a second connection with the same client id, and keeps both
//! - `disconnect-after`: echoes `AFTER` messages, sends DISCONNECT, stays alive
//! - `drop-after`: echoes `AFTER` messages, closes the socket without DISCONNECT
//! - `malformed`: after CONNACK, writes bytes that are no MQTT packet
//! - `oversized`: after CONNACK, a PUBLISH of remaining length `SIZE`, streamed
//! - `subscribe-all`: echoes everything, subscribed to `#`
//! - `flood`: publishes on `TOPIC` as fast as it can (`COUNT` of them, or without end)
//! - `late`: echoes, each reply `DELAY_MS` late (default 2000)
//! - `qos2`: publishes `COUNT` messages (default 1) at QoS 2, `PERIOD_MS` apart
//! - `mqtt5`: a CONNECT of protocol level 5
//!
//! A message on a topic that starts with `REPLY_PREFIX` is never echoed
//! (under `#` it would echo its own replies without end). Every event is
//! a line on stdout, flushed. SIGTERM (or Ctrl-C) ends it with code 0; a
//! bad setting with code 2, naming the variable.

mod client;
mod config;
mod raw;

use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use config::{Config, Mode};

/// When the program started: log lines carry the milliseconds since.
static START: OnceLock<Instant> = OnceLock::new();

/// Writes one line to stdout and flushes it: the container's log is
/// read while it runs.
pub fn log(line: &str) {
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{ms:>8} ms mqtt-client: {line}");
    let _ = out.flush();
}

/// Sleeps until the process is stopped by a signal.
pub fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Blocks SIGTERM and SIGINT in every thread and waits for them on one
/// thread of its own, which then exits with 0. As PID 1 in a container the
/// program has no default action for SIGTERM: without this, `docker stop`
/// would wait its grace period and then kill it. Must run before any other
/// thread starts (threads inherit the mask).
fn exit_on_signal() {
    #[allow(unsafe_code, reason = "sigset_t and pthread_sigmask are libc's; the set is initialised before use")]
    // SAFETY: `set` is zeroed, then initialised by sigemptyset before any other use.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut signal: libc::c_int = 0;
        #[allow(unsafe_code, reason = "sigwait is libc's")]
        // SAFETY: `set` is an initialised signal set; `signal` a valid place to write.
        let waited = unsafe { libc::sigwait(&set, &mut signal) };
        let name = if signal == libc::SIGINT { "SIGINT" } else { "SIGTERM" };
        log(&format!("{name} received (sigwait returned {waited}): exiting with 0"));
        std::process::exit(0);
    });
}

fn main() -> ExitCode {
    START.get_or_init(Instant::now);
    exit_on_signal();
    let config = match Config::from_lookup(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mqtt-client: {e}");
            return ExitCode::from(2);
        }
    };
    log(&config.describe());
    match config.mode {
        Mode::NeverConnect => {
            log("never connecting; sleeping");
            sleep_forever()
        }
        Mode::Malformed => raw::malformed(&config),
        Mode::Oversized => raw::oversized(&config),
        Mode::Mqtt5 => raw::mqtt5(&config),
        Mode::Periodic | Mode::Qos2 | Mode::Flood => client::publish_on_its_own(&config),
        Mode::Echo
        | Mode::Retain
        | Mode::ConnectTwice
        | Mode::DisconnectAfter
        | Mode::DropAfter
        | Mode::SubscribeAll
        | Mode::Late => client::serve(&config),
    }
}
