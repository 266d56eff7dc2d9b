//! Runs a [`NodeModel`] as a container node: the program's `main` calls
//! [`serve`], which speaks the container protocol ([`crate::protocol`])
//! over stdin and stdout until `shutdown` or the end of input. The same
//! model code runs as a WASM component through [`export_model!`](crate::export_model).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::protocol::{PROTOCOL_VERSION, Reply, Request, WireMetric, config_from_json};
use crate::{LogLevel, NodeModel};

/// Set by [`serve`]: [`crate::log`] then writes to stderr, the node's log.
static SERVING: AtomicBool = AtomicBool::new(false);
/// Lines [`log`] has written: each reply says how many, so the host stamps
/// every line with the step that wrote it (lines written to stderr some
/// other way are not counted, and may be stamped with the next step).
static STDERR_LINES: AtomicU64 = AtomicU64::new(0);

pub(crate) fn log(level: LogLevel, message: &str) {
    if SERVING.load(Ordering::Relaxed) {
        let level = format!("{level:?}").to_lowercase();
        let mut err = std::io::stderr().lock();
        for line in message.lines() {
            if writeln!(err, "[{level}] {line}").is_ok() {
                STDERR_LINES.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Serves the model `M` over stdin/stdout. Returns the exit code: 0 after
/// `shutdown` or end of input, 2 after a frame it cannot read.
pub fn serve<M: NodeModel>() -> ExitCode {
    SERVING.store(true, Ordering::Relaxed);
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut node: Option<(String, M)> = None;
    for line in stdin.lines() {
        let Ok(line) = line else { return ExitCode::from(2) };
        if line.trim().is_empty() {
            continue;
        }
        let request: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("[error] cannot read the host's frame ({e}): {line}");
                return ExitCode::from(2);
            }
        };
        let reply = match request {
            Request::Hello { .. } => Reply::Hello { version: PROTOCOL_VERSION },
            Request::New { id, config } => {
                let config = config.iter().map(|(k, v)| (k.clone(), config_from_json(v))).collect();
                match M::new(&id, &config) {
                    Ok(model) => {
                        node = Some((id, model));
                        Reply::Ready {}
                    }
                    Err(message) => Reply::Error { message },
                }
            }
            Request::Step { now_us, inbox } => match &mut node {
                None => Reply::Error { message: "step before new".into() },
                Some((id, model)) => {
                    let inbox = inbox.into_iter().map(|m| m.into_message(id)).collect();
                    match model.step(now_us, inbox) {
                        Ok(out) => Reply::output(now_us, out, Some(STDERR_LINES.load(Ordering::Relaxed))),
                        Err(message) => Reply::Error { message },
                    }
                }
            },
            Request::Finish => Reply::Metrics {
                metrics: node
                    .as_mut()
                    .map(|(_, m)| m.finish().iter().map(WireMetric::from).collect())
                    .unwrap_or_default(),
                stderr_lines: Some(STDERR_LINES.load(Ordering::Relaxed)),
            },
            Request::Shutdown => return ExitCode::SUCCESS,
        };
        let mut frame = serde_json::to_vec(&reply).expect("replies serialise");
        frame.push(b'\n');
        if stdout.write_all(&frame).and_then(|()| stdout.flush()).is_err() {
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
