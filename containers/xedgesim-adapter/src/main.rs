//! The built-in gateway behind xEdgeSim's own container line protocol, as
//! its adapter library spoke it (M3h), so `docker.protocol:
//! xedgesim-adapter` is tested against exactly that protocol:
//!
//! - `INIT <config as JSON>` → `READY`
//! - `ADVANCE <target time in µs>`, then a line with the input events as a
//!   JSON list (or the list after a space on the same line) → `DONE`, then a
//!   line with the output events as a JSON list
//! - `SHUTDOWN`, or the end of input, ends it; a failure answers `ERROR <text>`.
//!
//! An event is `{timestamp_us, event_type, source, destination, payload}`
//! with `payload` a JSON object. Logs go to stderr.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use serde_json::{Value, json};
use xedgesim_model::protocol::config_from_json;
use xedgesim_model::{Address, Message, NodeModel};
use xedgesim_model_gateway::Gateway;

fn main() -> ExitCode {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut out = std::io::stdout().lock();
    let mut gateway: Option<(String, Gateway)> = None;
    while let Some(Ok(line)) = lines.next() {
        let (command, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let reply = match command {
            "INIT" => init(rest).map(|g| {
                gateway = Some(g);
                "READY".to_string()
            }),
            "ADVANCE" => {
                let events = if rest.contains(' ') {
                    rest.split_once(' ').map(|(_, e)| e.to_string()).unwrap_or_default()
                } else {
                    lines.next().and_then(Result::ok).unwrap_or_default()
                };
                let target = rest.split(' ').next().unwrap_or_default();
                match &mut gateway {
                    None => Err("ADVANCE before INIT".to_string()),
                    Some((id, g)) => advance(id, g, target, &events).map(|events| format!("DONE\n{events}")),
                }
            }
            "SHUTDOWN" => return ExitCode::SUCCESS,
            other => Err(format!("unknown command '{other}'")),
        };
        let reply = reply.unwrap_or_else(|e| {
            eprintln!("error: {e}");
            format!("ERROR {e}")
        });
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() {
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn init(config: &str) -> Result<(String, Gateway), String> {
    let config: serde_json::Map<String, Value> =
        serde_json::from_str(config).map_err(|e| format!("INIT config is not a JSON object: {e}"))?;
    let id = config.get("node_id").and_then(Value::as_str).unwrap_or("gateway").to_string();
    let model_config = config.iter().filter(|(k, _)| *k != "node_id").map(|(k, v)| (k.clone(), config_from_json(v)));
    eprintln!("gateway {id} initialised");
    Ok((id.clone(), Gateway::new(&id, &model_config.collect())?))
}

fn advance(id: &str, gateway: &mut Gateway, target: &str, events: &str) -> Result<String, String> {
    let now_us: u64 = target.parse().map_err(|_| format!("ADVANCE time '{target}' is not a number"))?;
    let events: Vec<Value> = serde_json::from_str(events).map_err(|e| format!("events are not a JSON list: {e}"))?;
    let inbox = events
        .iter()
        .map(|e| Message {
            source: e["source"].as_str().unwrap_or_default().to_string(),
            destination: Address::Node(id.to_string()),
            topic: e["event_type"].as_str().unwrap_or_default().to_string(),
            payload: e["payload"].to_string().into_bytes(),
            sent_us: e["timestamp_us"].as_u64().unwrap_or(now_us),
        })
        .collect();
    let output = gateway.step(now_us, inbox)?;
    let out: Vec<Value> = output
        .outbox
        .into_iter()
        .map(|o| {
            let payload: Value = serde_json::from_slice(&o.payload).unwrap_or(Value::Null);
            json!({
                "timestamp_us": now_us,
                "event_type": o.topic,
                "source": id,
                "destination": match o.destination { Address::Node(n) => Value::from(n), Address::Publish => Value::Null },
                "payload": payload,
            })
        })
        .collect();
    Ok(Value::from(out).to_string())
}
