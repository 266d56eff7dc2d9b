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
//! - `echo` (or unset): answers every step with an empty outbox and
//!   forwards nothing; logs each step to stderr
//!
//! Every step after the first is answered correctly.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use xedgesim_model::protocol::{PROTOCOL_VERSION, Reply, Request};

fn main() -> ExitCode {
    let mode = std::env::var("HOSTILE").unwrap_or_else(|_| "echo".into());
    if mode == "exit_at_start" {
        eprintln!("hostile: exiting before the handshake");
        return ExitCode::from(3);
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
            Request::Hello { .. } => send(&reply(&Reply::Hello { version: PROTOCOL_VERSION })),
            Request::New { .. } if mode == "bad_config" => {
                send(&reply(&Reply::Error { message: "config key 'threshold' is required".into() }))
            }
            Request::New { .. } => send(&reply(&Reply::Ready {})),
            Request::Step { now_us, inbox } => {
                steps += 1;
                eprintln!("hostile: step {steps} at {now_us} with {} messages", inbox.len());
                let ok = reply(&Reply::Output { now_us, outbox: Vec::new(), wake_at_us: None });
                if steps > 1 {
                    send(&ok);
                    continue;
                }
                match mode.as_str() {
                    "exit_on_step" => {
                        eprintln!("hostile: panicked at 'sensor table corrupt'");
                        return ExitCode::from(7);
                    }
                    "hang_on_step" => loop {
                        std::thread::sleep(std::time::Duration::from_secs(3600));
                    },
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
            Request::Finish => send(&reply(&Reply::Metrics { metrics: Vec::new() })),
            Request::Shutdown => return ExitCode::SUCCESS,
        }
    }
    ExitCode::SUCCESS
}
