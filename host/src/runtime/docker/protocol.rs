//! The host's side of the two dialects a container node may speak
//! (`docker.protocol`):
//!
//! - `xedgesim` (the default): JSON frames mirroring `wit/node.wit`,
//!   defined once in [`xedgesim_model::protocol`]; docs/container-protocol.md.
//! - `xedgesim-adapter`: xEdgeSim's own lines (`INIT`/`READY`,
//!   `ADVANCE`/`DONE`, `SHUTDOWN`, `ERROR`), so its containers run
//!   unchanged. Events map to messages: `event_type` ↔ topic, `payload` ↔
//!   the JSON payload, `destination` ↔ the address (none: publish).
//!
//! Every reply is checked: a reply to the wrong request, an unknown field,
//! garbage or an oversized frame is a protocol error quoting the frame.

use std::collections::BTreeMap;

use serde_json::Value;
use xedgesim_model::protocol::{PROTOCOL_VERSION, Reply, Request, WireMessage, config_to_json};

use super::container::{Container, Frame, MAX_BLANK_LINES, QUOTE_BYTES};
use crate::runtime::{Address, MAX_TOPIC_BYTES, Message, Metric, Outgoing, StepOutput};
use crate::scenario::{ConfigValue, ContainerProtocol};
use crate::text::truncate;

/// What the host asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    Hello,
    New,
    Step,
    Finish,
}

impl Ask {
    fn name(self) -> &'static str {
        match self {
            Ask::Hello => "hello",
            Ask::New => "new",
            Ask::Step => "step",
            Ask::Finish => "finish",
        }
    }
}

/// A well-formed answer.
#[derive(Debug)]
pub enum Answer {
    Ready,
    /// The step's output, and the step time the reply names (our dialect).
    Output(StepOutput, Option<u64>),
    Metrics(Vec<Metric>),
}

impl Answer {
    /// The answer to the step at `now_us`. A reply naming another step
    /// is a late or second reply, never this step's answer.
    pub fn into_output(self, now_us: u64) -> Result<StepOutput, Failure> {
        match self {
            Answer::Output(_, Some(named)) if named != now_us => Err(Failure::Protocol(format!(
                "a reply to the step at {}, not to this one (a second reply?)",
                crate::text::format_time(named)
            ))),
            Answer::Output(out, _) => Ok(out),
            other => Err(Failure::Protocol(format!("answered `step` with {other:?}"))),
        }
    }

    /// The answer to `finish`.
    pub fn into_metrics(self) -> Result<Vec<Metric>, Failure> {
        match self {
            Answer::Metrics(metrics) => Ok(metrics),
            other => Err(Failure::Protocol(format!("answered `finish` with {other:?}"))),
        }
    }
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The deadline passed.
    Timeout,
    /// stdout closed (the container exited); the attachment's error, if any.
    Closed(Option<String>),
    /// A frame that breaks the protocol, described.
    Protocol(String),
    /// The node answered with an error (a bad config, a model error).
    NodeError(String),
}

fn frame(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).expect("frames serialise");
    bytes.push(b'\n');
    bytes
}

/// The frames that open a session and make node `id`; the answers to
/// expect, in order.
pub fn open(protocol: ContainerProtocol, id: &str, config: &BTreeMap<String, ConfigValue>) -> (Vec<u8>, Vec<Ask>) {
    let model = crate::runtime::native::model_config(config);
    match protocol {
        ContainerProtocol::Xedgesim => {
            let mut bytes = frame(&Request::Hello { version: PROTOCOL_VERSION });
            let config = model.iter().map(|(k, v)| (k.clone(), config_to_json(v))).collect();
            bytes.extend(frame(&Request::New { id: id.to_string(), config }));
            (bytes, vec![Ask::Hello, Ask::New])
        }
        ContainerProtocol::XedgesimAdapter => {
            let mut config: serde_json::Map<String, Value> =
                model.iter().map(|(k, v)| (k.clone(), config_to_json(v))).collect();
            config.insert("node_id".into(), id.into());
            (format!("INIT {}\n", Value::Object(config)).into_bytes(), vec![Ask::New])
        }
        ContainerProtocol::Mqtt => unreachable!("an MQTT node has no stdio session (runtime::docker::mqtt)"),
    }
}

/// The frame that steps a node.
pub fn step(protocol: ContainerProtocol, id: &str, now_us: u64, inbox: &[Message]) -> Vec<u8> {
    match protocol {
        ContainerProtocol::Xedgesim => {
            frame(&Request::Step { now_us, inbox: inbox.iter().map(WireMessage::from).collect() })
        }
        ContainerProtocol::XedgesimAdapter => {
            let events: Vec<Value> = inbox
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "timestamp_us": m.sent_us,
                        "event_type": m.topic,
                        "source": m.source,
                        "destination": id,
                        "payload": adapter_payload(&m.payload),
                    })
                })
                .collect();
            format!("ADVANCE {now_us}\n{}\n", Value::from(events)).into_bytes()
        }
        ContainerProtocol::Mqtt => unreachable!("an MQTT node has no stdio session (runtime::docker::mqtt)"),
    }
}

/// The frame asking for final metrics, if the dialect has one.
pub fn finish(protocol: ContainerProtocol) -> Option<Vec<u8>> {
    match protocol {
        ContainerProtocol::Xedgesim => Some(frame(&Request::Finish)),
        ContainerProtocol::XedgesimAdapter => None,
        ContainerProtocol::Mqtt => unreachable!("an MQTT node has no stdio session (runtime::docker::mqtt)"),
    }
}

pub fn shutdown(protocol: ContainerProtocol) -> Vec<u8> {
    match protocol {
        ContainerProtocol::Xedgesim => frame(&Request::Shutdown),
        ContainerProtocol::XedgesimAdapter => b"SHUTDOWN\n".to_vec(),
        ContainerProtocol::Mqtt => unreachable!("an MQTT node has no stdio session (runtime::docker::mqtt)"),
    }
}

/// xEdgeSim payloads are JSON objects; bytes that are not one travel as
/// `{"_bytes_b64": "…"}` and come back as the same bytes.
fn adapter_payload(bytes: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            use base64::Engine as _;
            serde_json::json!({ "_bytes_b64": base64::engine::general_purpose::STANDARD.encode(bytes) })
        }
    }
}

fn adapter_payload_bytes(payload: &Value) -> Result<Vec<u8>, String> {
    if let Some(Value::String(b64)) = payload.get("_bytes_b64") {
        use base64::Engine as _;
        return base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("`_bytes_b64` is not base64: {e}"));
    }
    match payload {
        Value::Object(_) => Ok(payload.to_string().into_bytes()),
        other => Err(format!("an event's payload must be a JSON object; found {}", truncate(&other.to_string(), 80))),
    }
}

/// How long stderr lines a reply counts may take to arrive after it, past
/// the request's deadline.
const STDERR_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits for the answer to `ask`, and for the stderr lines it counts
/// (`stderr_lines`): they are then stamped with this request's time, not
/// the next one's.
pub async fn receive(
    container: &mut Container,
    protocol: ContainerProtocol,
    ask: Ask,
    deadline: tokio::time::Instant,
) -> Result<Answer, Failure> {
    let line = next_line(container, deadline).await?;
    match protocol {
        ContainerProtocol::Xedgesim => {
            let (answer, stderr_lines) = xedgesim_answer(ask, &line)?;
            if let Some(count) = stderr_lines {
                let wait_until = deadline.max(tokio::time::Instant::now() + STDERR_GRACE);
                if let Err(read) = container.stderr_lines_read(count, wait_until).await {
                    match container.held() {
                        // Stdout after the reply: a frame nobody asked for (or a flood).
                        Some(frame) if let Some(what) = unexpected(frame.clone()) => {
                            return Err(Failure::Protocol(what));
                        }
                        // It exited after its reply: the next request finds that out.
                        Some(Frame::Closed(_)) => {}
                        _ => {
                            return Err(Failure::Protocol(format!(
                                "the reply counts {count} stderr lines (`stderr_lines`), but {read} arrived: {}",
                                quoted(&line)
                            )));
                        }
                    }
                }
            }
            Ok(answer)
        }
        ContainerProtocol::XedgesimAdapter => match (ask, line.as_str()) {
            (_, l) if l.starts_with("ERROR") => Err(Failure::NodeError(l["ERROR".len()..].trim().to_string())),
            (Ask::New, "READY") => Ok(Answer::Ready),
            (Ask::Step, "DONE") => {
                let events = next_line(container, deadline).await?;
                adapter_events(&events)
                    .and_then(topics_within_bound)
                    .map(|outbox| Answer::Output(StepOutput { outbox, wake_at_us: None }, None))
            }
            (ask, _) => Err(Failure::Protocol(format!(
                "expected {} to `{}`; found {}",
                if ask == Ask::New { "READY" } else { "DONE" },
                if ask == Ask::New { "INIT" } else { "ADVANCE" },
                quoted(&line)
            ))),
        },
        ContainerProtocol::Mqtt => unreachable!("an MQTT node has no stdio session (runtime::docker::mqtt)"),
    }
}

async fn next_line(container: &mut Container, deadline: tokio::time::Instant) -> Result<String, Failure> {
    loop {
        match container.next_frame(deadline).await {
            None => return Err(Failure::Timeout),
            Some(Frame::Line(line)) if line.trim().is_empty() => continue,
            Some(Frame::Line(line)) => return Ok(line),
            Some(Frame::Closed(reason)) => return Err(Failure::Closed(reason)),
            Some(Frame::BlankFlood { lines }) => return Err(Failure::Protocol(blank_flood(lines))),
            Some(Frame::Oversized { start, len }) => {
                return Err(Failure::Protocol(format!(
                    "a frame of over {len} bytes, past the limit (`docker.max_frame_bytes`): `{start}`"
                )));
            }
            Some(Frame::NotText { start }) => {
                return Err(Failure::Protocol(format!("a frame that is not UTF-8: `{start}`")));
            }
        }
    }
}

/// A frame that arrived when none was asked for, described.
pub fn unexpected(frame: Frame) -> Option<String> {
    match frame {
        Frame::Line(l) if l.trim().is_empty() => None,
        Frame::Line(l) => Some(format!("a frame nobody asked for (a second reply?): {}", quoted(&l))),
        Frame::Oversized { start, len } => Some(format!("an unasked frame of over {len} bytes: `{start}`")),
        Frame::NotText { start } => Some(format!("an unasked frame that is not UTF-8: `{start}`")),
        Frame::BlankFlood { lines } => Some(blank_flood(lines)),
        Frame::Closed(_) => None,
    }
}

fn blank_flood(lines: u64) -> String {
    format!("a flood of blank lines on stdout ({lines} in a row; at most {MAX_BLANK_LINES} are ignored)")
}

fn quoted(line: &str) -> String {
    format!("`{}`", truncate(line, QUOTE_BYTES))
}

/// The answer in `line`, and the stderr lines it counts.
fn xedgesim_answer(ask: Ask, line: &str) -> Result<(Answer, Option<u64>), Failure> {
    let reply: Reply = serde_json::from_str(line)
        .map_err(|e| Failure::Protocol(format!("not a valid reply to `{}` ({e}): {}", ask.name(), quoted(line))))?;
    let stderr_lines = match &reply {
        Reply::Output { stderr_lines, .. } | Reply::Metrics { stderr_lines, .. } => *stderr_lines,
        _ => None,
    };
    let answer = match (ask, reply) {
        (Ask::Hello, Reply::Hello { version }) if version == PROTOCOL_VERSION => Ok(Answer::Ready),
        (Ask::Hello, Reply::Hello { version }) => Err(Failure::Protocol(format!(
            "the node speaks protocol version {version}; this host speaks {PROTOCOL_VERSION}"
        ))),
        (Ask::New | Ask::Step | Ask::Finish, Reply::Error { message }) => Err(Failure::NodeError(message)),
        (Ask::New, Reply::Ready {}) => Ok(Answer::Ready),
        (Ask::Step, Reply::Output { now_us, outbox, wake_at_us, .. }) => {
            topics_within_bound(outbox.into_iter().map(Outgoing::from).collect())
                .map(|outbox| Answer::Output(StepOutput { outbox, wake_at_us }, Some(now_us)))
        }
        (Ask::Finish, Reply::Metrics { metrics, .. }) => {
            Ok(Answer::Metrics(metrics.into_iter().map(Metric::from).collect()))
        }
        (ask, reply) => {
            Err(Failure::Protocol(format!("answered `{}` with `{}`: {}", ask.name(), reply.op(), quoted(line))))
        }
    }?;
    Ok((answer, stderr_lines))
}

/// `outbox`, if every topic in it is within the contract's bound (a
/// WASM node's longer topic is refused at `send` the same way).
fn topics_within_bound(outbox: Vec<Outgoing>) -> Result<Vec<Outgoing>, Failure> {
    match outbox.iter().find(|m| m.topic.len() > MAX_TOPIC_BYTES) {
        Some(m) => Err(Failure::Protocol(format!(
            "a message with a topic of {} bytes; a topic may have at most {MAX_TOPIC_BYTES} (MQTT's bound): `{}…`",
            m.topic.len(),
            truncate(&m.topic, QUOTE_BYTES)
        ))),
        None => Ok(outbox),
    }
}

fn adapter_events(line: &str) -> Result<Vec<Outgoing>, Failure> {
    let bad = |what: String| Failure::Protocol(format!("{what}: {}", quoted(line)));
    let events: Vec<Value> =
        serde_json::from_str(line).map_err(|e| bad(format!("the line after DONE is not a JSON list ({e})")))?;
    events
        .iter()
        .map(|e| {
            let topic = e
                .get("event_type")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("an event without `event_type`".into()))?;
            let destination = match e.get("destination") {
                None | Some(Value::Null) => Address::Publish,
                Some(Value::String(id)) => Address::Node(id.clone()),
                Some(other) => return Err(bad(format!("an event's destination must be a node id; found {other}"))),
            };
            let payload = adapter_payload_bytes(e.get("payload").unwrap_or(&Value::Null)).map_err(bad)?;
            Ok(Outgoing { destination, topic: topic.to_string(), payload })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_to_the_wrong_request_are_protocol_errors() {
        let e = xedgesim_answer(Ask::Step, r#"{"op":"ready"}"#).unwrap_err();
        assert_eq!(e, Failure::Protocol(r#"answered `step` with `ready`: `{"op":"ready"}`"#.into()));
        let Failure::Protocol(e) =
            xedgesim_answer(Ask::Step, r#"{"op":"output","now_us":1,"outbox":[],"x":1}"#).unwrap_err()
        else {
            panic!()
        };
        assert!(e.contains("unknown field `x`"), "{e}");
        assert!(matches!(xedgesim_answer(Ask::Hello, r#"{"op":"hello","version":2}"#), Err(Failure::Protocol(_))));
    }

    #[test]
    fn a_reply_naming_another_step_is_never_taken_for_this_steps_answer() {
        let (answer, _) = xedgesim_answer(Ask::Step, r#"{"op":"output","now_us":0,"outbox":[]}"#).unwrap();
        let Err(Failure::Protocol(e)) = answer.into_output(1_000_000) else { panic!("accepted a stale reply") };
        assert_eq!(e, "a reply to the step at 0.000000 s, not to this one (a second reply?)");
        let (answer, stderr_lines) =
            xedgesim_answer(Ask::Step, r#"{"op":"output","now_us":5,"outbox":[],"stderr_lines":3}"#).unwrap();
        assert!(answer.into_output(5).is_ok());
        assert_eq!(stderr_lines, Some(3));
    }

    #[test]
    fn a_topic_past_the_contracts_bound_is_a_protocol_error_in_either_dialect() {
        let topic = "t".repeat(MAX_TOPIC_BYTES + 1);
        let line = format!(
            r#"{{"op":"output","now_us":1,"outbox":[{{"destination":{{"node":"c"}},"topic":"{topic}","payload":""}}]}}"#
        );
        let Failure::Protocol(e) = xedgesim_answer(Ask::Step, &line).unwrap_err() else { panic!("a protocol error") };
        assert!(e.contains("a topic of 65536 bytes; a topic may have at most 65535"), "{e}");
        let fits = line.replacen(&topic, &topic[1..], 1);
        assert!(xedgesim_answer(Ask::Step, &fits).is_ok());
        let events = format!(r#"[{{"event_type":"{topic}","destination":"c","payload":{{}}}}]"#);
        assert!(adapter_events(&events).and_then(topics_within_bound).is_err());
    }

    #[test]
    fn adapter_events_map_to_messages_and_bytes_round_trip() {
        let out = adapter_events(
            r#"[{"timestamp_us":1,"event_type":"aggregate","source":"g","destination":"cloud","payload":{"n":1}},
                {"event_type":"x","destination":null,"payload":{"_bytes_b64":"AP8="}}]"#,
        )
        .unwrap();
        assert_eq!(out[0].destination, Address::Node("cloud".into()));
        assert_eq!(out[0].payload, br#"{"n":1}"#);
        assert_eq!(out[1].destination, Address::Publish);
        assert_eq!(out[1].payload, vec![0, 255]);
        assert_eq!(adapter_payload_bytes(&adapter_payload(&[0, 255])).unwrap(), vec![0, 255]);
        assert!(adapter_events(r#"[{"event_type":"x","payload":3}]"#).is_err());
    }
}
