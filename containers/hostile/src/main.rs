//! A container node that misbehaves on purpose, for the fault tests. It
//! speaks the container protocol correctly until the moment named by the
//! `HOSTILE` environment variable:
//!
//! - `exit_at_start`: writes to stderr and exits with code 3 before `hello`
//! - `exit_on_step`: writes to stderr and exits with code 7 at its first step
//! - `hang_on_step`: never answers its first step
//! - `garbage`: answers its first step with a line that is not JSON
//! - `oversized`: answers its first step with a 2 MiB line
//! - `wrong_reply`: answers its first step with `ready`
//! - `double_reply`: answers its first step twice
//! - `unknown_field`: answers its first step with an unknown field
//! - `bad_config`: refuses its config
//! - `flood_before_hello`: writes lines to stdout without end, before
//!   reading anything
//! - `print_before_hello`: writes 2 MiB of lines to stdout, then speaks
//!   the protocol
//! - `flood_after_hello`: answers `hello`, then writes lines to stdout
//!   without end
//! - `flood_after_reply`: answers its first step, then writes lines to
//!   stdout without end
//! - `blank_flood`: answers its first step with blank lines without end
//! - `endless_line`: answers its first step with a line that never ends
//! - `hang_in_start`: answers `hello`, never `new`
//! - `hang_on_restart`: as `echo`, but in a container started after one
//!   that ran with the same folder mounted at /state (a scripted restart),
//!   never answers `new`
//! - `hang_in_finish`: never answers `finish`
//! - `stderr_before_reply`: at each step, a line to stderr just before
//!   the reply, and a wake-up 1 ms later
//! - `echo` (or unset): answers every step with an empty outbox and
//!   forwards nothing; logs each step to stderr
//!
//! Every step after the first is answered correctly. Replies to `step`
//! and `finish` count the program's stderr lines (`stderr_lines`).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use xedgesim_model::protocol::{PROTOCOL_VERSION, Reply, Request};

/// Lines written to stderr, for `stderr_lines`.
static STDERR_LINES: AtomicU64 = AtomicU64::new(0);

/// Writes `line` to stderr, counted.
fn log(line: &str) {
    eprintln!("{line}");
    STDERR_LINES.fetch_add(1, Ordering::Relaxed);
}

fn stderr_lines() -> Option<u64> {
    Some(STDERR_LINES.load(Ordering::Relaxed))
}

/// Milliseconds since the Unix epoch, for the flood tests' timings.
fn unix_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// Writes `line` to stdout without end (until the pipe breaks).
fn flood(line: &[u8]) -> ExitCode {
    log(&format!("hostile: flooding stdout from {} ms", unix_ms()));
    let block: Vec<u8> = line.iter().copied().cycle().take(line.len() * (65536 / line.len())).collect();
    let mut out = std::io::stdout().lock();
    while out.write_all(&block).is_ok() {}
    ExitCode::from(4)
}

fn hang() -> ! {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

const FLOOD_LINE: &[u8] = b"hostile: this line should have gone to stderr, not stdout\n";

fn main() -> ExitCode {
    let mode = std::env::var("HOSTILE").unwrap_or_else(|_| "echo".into());
    match mode.as_str() {
        "exit_at_start" => {
            log("hostile: exiting before the handshake");
            return ExitCode::from(3);
        }
        "flood_before_hello" => return flood(FLOOD_LINE),
        "print_before_hello" => {
            let mut out = std::io::stdout().lock();
            for _ in 0..(2 << 20) / FLOOD_LINE.len() {
                let _ = out.write_all(FLOOD_LINE);
            }
            let _ = out.flush();
        }
        _ => {}
    }
    let mut out = std::io::stdout().lock();
    let mut send = |line: &str| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    let reply = |r: &Reply| serde_json::to_string(r).expect("serialisable");
    let mut steps = 0u64;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Ok(request) = serde_json::from_str::<Request>(&line) else { return ExitCode::from(2) };
        match request {
            Request::Hello { .. } => {
                send(&reply(&Reply::Hello { version: PROTOCOL_VERSION }));
                if mode == "flood_after_hello" {
                    return flood(FLOOD_LINE);
                }
            }
            Request::New { .. } if mode == "bad_config" => {
                send(&reply(&Reply::Error { message: "config key 'threshold' is required".into() }))
            }
            Request::New { .. } if mode == "hang_in_start" => {
                log("hostile: hanging in `new`");
                hang();
            }
            Request::New { .. } if mode == "hang_on_restart" => {
                // The first container leaves a mark; the one after it hangs.
                if std::fs::write("/state/started", b"").is_err() || std::fs::metadata("/state/restarted").is_ok() {
                    log("hostile: hanging in `new`");
                    hang();
                }
                let _ = std::fs::rename("/state/started", "/state/restarted");
                send(&reply(&Reply::Ready {}));
            }
            Request::New { .. } => send(&reply(&Reply::Ready {})),
            Request::Step { now_us, .. } if mode == "stderr_before_reply" => {
                log(&format!("hostile: written during the step at {now_us}"));
                let wake_at_us = Some(now_us + 1000);
                send(&reply(&Reply::Output { now_us, outbox: Vec::new(), wake_at_us, stderr_lines: stderr_lines() }));
            }
            Request::Step { now_us, inbox } => {
                steps += 1;
                log(&format!("hostile: step {steps} at {now_us} with {} messages", inbox.len()));
                let ok = reply(&Reply::Output {
                    now_us,
                    outbox: Vec::new(),
                    wake_at_us: None,
                    stderr_lines: stderr_lines(),
                });
                if steps > 1 {
                    send(&ok);
                    continue;
                }
                match mode.as_str() {
                    "exit_on_step" => {
                        log("hostile: panicked at 'sensor table corrupt'");
                        return ExitCode::from(7);
                    }
                    "hang_on_step" => hang(),
                    "flood_after_reply" => {
                        send(&ok);
                        return flood(FLOOD_LINE);
                    }
                    "blank_flood" => return flood(b"\n"),
                    "endless_line" => return flood(b"x"),
                    "garbage" => send("this is not json"),
                    "oversized" => send(&format!(
                        r#"{{"op":"output","now_us":{now_us},"outbox":[],"pad":"{}"}}"#,
                        "x".repeat(2 << 20)
                    )),
                    "wrong_reply" => send(&reply(&Reply::Ready {})),
                    "double_reply" => {
                        send(&ok);
                        send(&ok);
                    }
                    "unknown_field" => send(&format!(r#"{{"op":"output","now_us":{now_us},"outbox":[],"wake_at":5}}"#)),
                    _ => send(&ok),
                }
            }
            Request::Finish if mode == "hang_in_finish" => {
                log("hostile: hanging in `finish`");
                hang();
            }
            Request::Finish => send(&reply(&Reply::Metrics { metrics: Vec::new(), stderr_lines: stderr_lines() })),
            Request::Shutdown => return ExitCode::SUCCESS,
        }
    }
    ExitCode::SUCCESS
}
