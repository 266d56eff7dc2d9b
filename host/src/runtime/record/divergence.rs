//! The words of a strict replay's divergence: which recording, which step
//! of which node, when, and what differed — the recorded and the received
//! inbox side by side, or where the recording's next call is. A guest's
//! words in it (topics, payloads, ids) are escaped.

use super::Event;
use crate::runtime::{Address, FaultKind, Message, NodeFault};
use crate::text::{byte_prefix, escape_controls, format_time};

/// Messages of an inbox listed in full; the rest are counted.
const LISTED: usize = 5;

/// Bytes of a payload shown.
const PREVIEW_BYTES: usize = 48;

/// What the recording held where a call differed.
pub(super) enum Expected<'a> {
    /// A step at the recorded time, with another inbox.
    Inbox { recorded: &'a [Message], received: &'a [Message] },
    /// A call (`asked`: step, finish, crash, restart) where the recording's
    /// next call is `next` (`None`: the recording ended); a step's
    /// `received` inbox is listed after.
    Call { asked: &'static str, next: Option<&'a Event>, received: Option<&'a [Message]> },
}

/// The fault of node `node`, at its `step`-th step (1 for the first), at
/// `now_us`; `last_recorded_us` is the time of its last call answered.
pub(super) fn fault(
    recording: &str,
    node: &str,
    step: u64,
    now_us: u64,
    last_recorded_us: Option<u64>,
    expected: Expected<'_>,
) -> NodeFault {
    let mut detail = format!(
        "  recording: {}\n  node '{}', step {step}, at t = {}: ",
        escape_controls(recording),
        escape_controls(node),
        format_time(now_us)
    );
    match expected {
        Expected::Inbox { recorded, received } => {
            detail.push_str("its inbox is not the recorded one\n");
            detail.push_str(&inbox("expected (recorded) inbox", recorded));
            detail.push_str(&inbox("received inbox", received));
            detail.push_str(&format!("  first difference: {}", first_difference(recorded, received)));
        }
        Expected::Call { asked, next, received } => {
            detail.push_str(&format!("no recorded {asked} at this time; "));
            detail.push_str(&match next {
                Some(event) => {
                    let (kind, t) = kind_and_time(event);
                    let next = if kind == asked {
                        format!("next recorded at t = {}", format_time(t))
                    } else {
                        format!("next recorded: a {kind} at t = {}", format_time(t))
                    };
                    match t.cmp(&now_us) {
                        std::cmp::Ordering::Less => format!("{next}, which never came"),
                        // Only a restart can differ at its own time: by its count.
                        std::cmp::Ordering::Equal if kind == asked => {
                            format!("the {kind} recorded at this time is another (its restart count differs)")
                        }
                        _ => next,
                    }
                }
                None => match last_recorded_us {
                    Some(t) => format!("the recording ends at t = {}", format_time(t)),
                    None => "the recording holds no call to it".to_string(),
                },
            });
            if let Some(received) = received {
                detail.push('\n');
                detail.push_str(inbox("received inbox", received).trim_end_matches('\n'));
            }
        }
    }
    NodeFault { node: node.to_string(), time_us: now_us, kind: FaultKind::ReplayDiverged, detail }
}

fn kind_and_time(event: &Event) -> (&'static str, u64) {
    match event {
        Event::Step { now_us, .. } => ("step", *now_us),
        Event::Finish { now_us, .. } => ("finish", *now_us),
        Event::Crash { now_us } => ("crash", *now_us),
        Event::Restart { now_us, .. } => ("restart", *now_us),
        // Never a call; said plainly if it ever is.
        Event::Logs { .. } => ("log line", 0),
    }
}

/// `  {title}, N messages:` then the first few, one a line.
fn inbox(title: &str, messages: &[Message]) -> String {
    let plural = if messages.len() == 1 { "" } else { "s" };
    let mut text =
        format!("  {title}, {} message{plural}{}\n", messages.len(), if messages.is_empty() { "" } else { ":" });
    for (i, message) in messages.iter().take(LISTED).enumerate() {
        text.push_str(&format!("    {}. {}\n", i + 1, describe(message)));
    }
    if messages.len() > LISTED {
        text.push_str(&format!("    … and {} more\n", messages.len() - LISTED));
    }
    text
}

/// `from 's1' to 'gw', topic "t", 5 bytes, sent at t = …: "hello"`.
fn describe(message: &Message) -> String {
    let to = match &message.destination {
        Address::Node(id) => format!("to '{}'", escape_controls(id)),
        Address::Publish => "published".to_string(),
    };
    let text = String::from_utf8_lossy(&message.payload);
    let shown = byte_prefix(&text, PREVIEW_BYTES);
    let cut = if shown.len() < text.len() { "…" } else { "" };
    format!(
        "from '{}' {to}, topic {:?}, {} bytes, sent at t = {}: {shown:?}{cut}",
        escape_controls(&message.source),
        byte_prefix(&message.topic, 200),
        message.payload.len(),
        format_time(message.sent_us),
    )
}

fn first_difference(recorded: &[Message], received: &[Message]) -> String {
    for (i, (a, b)) in recorded.iter().zip(received).enumerate() {
        let field = if a.source != b.source {
            "source"
        } else if a.destination != b.destination {
            "destination"
        } else if a.topic != b.topic {
            "topic"
        } else if a.payload != b.payload {
            "payload"
        } else if a.sent_us != b.sent_us {
            "send time"
        } else {
            continue;
        };
        return format!("message {}'s {field}", i + 1);
    }
    format!("{} messages received where {} were recorded", received.len(), recorded.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(source: &str, payload: &[u8], sent_us: u64) -> Message {
        Message {
            source: source.into(),
            destination: Address::Node("gw".into()),
            topic: "sensors/\u{1b}t".into(),
            payload: payload.to_vec(),
            sent_us,
        }
    }

    #[test]
    fn an_inbox_divergence_lists_both_inboxes_escaped_and_the_first_difference() {
        let recorded = [message("s1", b"{\"t\":21.5}", 10)];
        let received = [message("s1", b"{\"t\":22.5}", 10), message("s\n2", &[0xff; 100], 11)];
        let fault = fault(
            "/runs/a/recording.xrec",
            "gw",
            3,
            2_000_000,
            Some(1_000_000),
            Expected::Inbox { recorded: &recorded, received: &received },
        );
        assert_eq!(fault.kind, FaultKind::ReplayDiverged);
        assert_eq!(fault.time_us, 2_000_000);
        let text = fault.to_string();
        for needle in [
            "node 'gw' diverged from its recording at t = 2.000000 s:\n",
            "  recording: /runs/a/recording.xrec\n  node 'gw', step 3, at t = 2.000000 s: its inbox is not the recorded one\n",
            "  expected (recorded) inbox, 1 message:\n    1. from 's1' to 'gw', topic \"sensors/\\u{1b}t\", 10 bytes, sent at t = 0.000010 s: \"{\\\"t\\\":21.5}\"\n",
            "  received inbox, 2 messages:\n",
            "    2. from 's\\n2' to 'gw', topic",
            "100 bytes",
            "…\n",
            "  first difference: message 1's payload\n",
            "--replay-mode lenient",
        ] {
            assert!(text.contains(needle), "{needle:?} in:\n{text}");
        }
        assert!(!text.contains('\u{1b}'), "escaped:\n{text}");
    }

    #[test]
    fn a_call_divergence_says_where_the_recording_goes_next() {
        let next = Event::Step { now_us: 3_000_000, inbox: Vec::new(), result: Ok(Default::default()), fuel: None };
        let say = |asked, next, last| {
            fault("r.xrec", "gw", 2, 2_500_000, last, Expected::Call { asked, next, received: None }).detail
        };
        assert!(
            say("step", Some(&next), None).ends_with("no recorded step at this time; next recorded at t = 3.000000 s")
        );
        // A step's received inbox is listed after where the recording goes.
        let received = [message("s\n1", b"{\"t\":22.5}", 7)];
        let expected = Expected::Call { asked: "step", next: Some(&next), received: Some(&received) };
        let detail = fault("r.xrec", "gw", 2, 2_500_000, None, expected).detail;
        assert!(
            detail.ends_with(concat!(
                "no recorded step at this time; next recorded at t = 3.000000 s\n",
                "  received inbox, 1 message:\n",
                "    1. from 's\\n1' to 'gw', topic \"sensors/\\u{1b}t\", 10 bytes, sent at t = 0.000007 s: \"{\\\"t\\\":22.5}\"",
            )),
            "{detail}"
        );
        assert!(
            say("finish", Some(&next), None)
                .ends_with("no recorded finish at this time; next recorded: a step at t = 3.000000 s")
        );
        assert!(say("step", None, Some(9)).ends_with("the recording ends at t = 0.000009 s"));
        assert!(say("step", None, None).ends_with("the recording holds no call to it"));
        let many: Vec<Message> = (0..8).map(|i| message("s", b"x", i)).collect();
        let d = fault("r", "gw", 1, 0, None, Expected::Inbox { recorded: &many, received: &many[..7] }).detail;
        assert!(
            d.contains("    … and 3 more\n")
                && d.ends_with("first difference: 7 messages received where 8 were recorded"),
            "{d}"
        );
    }
}
