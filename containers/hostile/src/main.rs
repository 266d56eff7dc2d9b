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
//! - `fork_bomb`: at its first step starts copies of itself that sleep,
//!   until the system refuses one (or 1,000 run), and reports how many it
//!   started as the metric `forked`
//! - `alloc`: at its first step fills memory, 16 MiB at a time, until it
//!   holds 1 GiB (or is killed), and reports the MiB it filled as `allocated_mb`
//! - `probe`: at its first step reads what the container may do and
//!   reports it as metrics: `cap_eff` (effective capabilities), `no_new_privs`,
//!   `uid`, `root_writable` and `tmp_writable` (1 if a file could be written
//!   at `/` and in `/tmp`)
//! - `echo` (or unset): answers every step with an empty outbox and
//!   forwards nothing; logs each step to stderr
//!
//! Every step after the first is answered correctly. Replies to `step`
//! and `finish` count the program's stderr lines (`stderr_lines`).

use std::io::{BufRead, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use xedgesim_model::protocol::{PROTOCOL_VERSION, Reply, Request, WireMetric};

/// Most copies `fork_bomb` starts: enough to pass any default limit,
/// few enough not to hurt a machine without one.
const MAX_FORKS: usize = 1_000;
/// Most memory `alloc` fills: past the default limit, and little enough
/// for a machine without one.
const MAX_ALLOC_MB: usize = 1024;

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
        "fork_child" => hang(),
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
    let mut metrics: Vec<WireMetric> = Vec::new();
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
                    "fork_bomb" => {
                        metrics.push(metric("forked", fork_bomb() as f64));
                        send(&ok);
                    }
                    "alloc" => {
                        let mut held: Vec<Vec<u8>> = Vec::new();
                        while held.len() * 16 < MAX_ALLOC_MB {
                            // Written, not just reserved: untouched pages cost nothing.
                            held.push(vec![1u8; 16 << 20]);
                        }
                        log(&format!("hostile: filled {} MiB", held.len() * 16));
                        metrics.push(metric("allocated_mb", (held.len() * 16) as f64));
                        send(&ok);
                    }
                    "probe" => {
                        metrics = probe();
                        send(&ok);
                    }
                    _ => send(&ok),
                }
            }
            Request::Finish if mode == "hang_in_finish" => {
                log("hostile: hanging in `finish`");
                hang();
            }
            Request::Finish => {
                send(&reply(&Reply::Metrics { metrics: std::mem::take(&mut metrics), stderr_lines: stderr_lines() }))
            }
            Request::Shutdown => return ExitCode::SUCCESS,
        }
    }
    ExitCode::SUCCESS
}

fn metric(name: &str, value: f64) -> WireMetric {
    WireMetric { name: name.to_string(), value: Some(value) }
}

/// Starts sleeping copies of this program until one is refused; how many
/// started. They stay until the container is removed.
fn fork_bomb() -> usize {
    let Ok(me) = std::env::current_exe() else { return 0 };
    let mut children = Vec::new();
    let stopped = loop {
        if children.len() == MAX_FORKS {
            break format!("stopped at {MAX_FORKS}");
        }
        let child = Command::new(&me)
            .env("HOSTILE", "fork_child")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(child) => children.push(child),
            Err(e) => break format!("refused: {e}"),
        }
    };
    log(&format!("hostile: forked {} copies; then {stopped}", children.len()));
    let forked = children.len();
    std::mem::forget(children);
    forked
}

/// What this process may do, as metrics.
fn probe() -> Vec<WireMetric> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    };
    let cap_eff = field("CapEff").and_then(|hex| u64::from_str_radix(&hex, 16).ok());
    let no_new_privs = field("NoNewPrivs").and_then(|v| v.parse::<u64>().ok());
    let uid = field("Uid").and_then(|v| v.parse::<u64>().ok());
    let root_writable = std::fs::write("/probe", b"x").is_ok();
    let tmp_writable = std::fs::create_dir_all("/tmp").and_then(|()| std::fs::write("/tmp/probe", b"x")).is_ok();
    log(&format!(
        "hostile: CapEff {cap_eff:?}, NoNewPrivs {no_new_privs:?}, uid {uid:?}, / writable {root_writable}, /tmp writable {tmp_writable}"
    ));
    let number = |v: Option<u64>| v.map_or(f64::NAN, |v| v as f64);
    vec![
        metric("cap_eff", number(cap_eff)),
        metric("no_new_privs", number(no_new_privs)),
        metric("uid", number(uid)),
        metric("root_writable", f64::from(u8::from(root_writable))),
        metric("tmp_writable", f64::from(u8::from(tmp_writable))),
    ]
}
