//! [`compare`]: two canonical runs, and the first places they differ.

use std::collections::BTreeSet;

use serde::Serialize;

use super::canonical::{CanonicalDelivery, CanonicalRun};
use crate::text::format_time;

/// How payloads must match.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadMatch {
    /// Byte for byte.
    Exact,
    /// As JSON: the same structure, numbers equal within this relative
    /// tolerance (key order and number formatting do not count).
    Json { relative_tolerance: f64 },
}

/// What counts as the same behaviour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquivOptions {
    /// Compare which messages arrived, not when.
    pub ignore_timing: bool,
    /// Delivery times may differ by this much.
    pub time_tolerance_us: u64,
    pub payloads: PayloadMatch,
    /// Metrics may differ by this fraction of the larger value.
    pub metric_relative_tolerance: f64,
    /// Nodes left out entirely (as destinations, sources and metrics).
    pub ignore_nodes: BTreeSet<String>,
    /// Topics left out of the deliveries.
    pub ignore_topics: BTreeSet<String>,
    /// Differences to report at most.
    pub max_differences: usize,
}

impl Default for EquivOptions {
    fn default() -> Self {
        EquivOptions {
            ignore_timing: false,
            time_tolerance_us: 0,
            payloads: PayloadMatch::Exact,
            metric_relative_tolerance: 0.0,
            ignore_nodes: BTreeSet::new(),
            ignore_topics: BTreeSet::new(),
            max_differences: 10,
        }
    }
}

/// One place where two runs differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub node: String,
    /// Virtual time of the first side's event, when there is one.
    pub time_us: Option<u64>,
    pub what: String,
    pub expected: String,
    pub found: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "node '{}'", self.node)?;
        if let Some(t) = self.time_us {
            write!(f, " at t = {}", format_time(t))?;
        }
        write!(f, ": {}\n    expected: {}\n    found:    {}", self.what, self.expected, self.found)
    }
}

/// The differences between `a` (expected) and `b` (found), first ones
/// first: per destination in node order, then metrics, then drops.
pub fn compare(a: &CanonicalRun, b: &CanonicalRun, options: &EquivOptions) -> Vec<Difference> {
    let mut found = Vec::new();
    let keep =
        |d: &&CanonicalDelivery| !options.ignore_topics.contains(&d.topic) && !options.ignore_nodes.contains(&d.src);
    // With timing loose, messages from different senders may arrive in
    // either order: each sender's messages are then compared as a stream.
    let per_sender = options.ignore_timing || options.time_tolerance_us > 0;
    let nodes: BTreeSet<&String> = a.deliveries.keys().chain(b.deliveries.keys()).collect();
    for node in nodes.into_iter().filter(|n| !options.ignore_nodes.contains(*n)) {
        let empty = Vec::new();
        let all_x: Vec<&CanonicalDelivery> = a.deliveries.get(node).unwrap_or(&empty).iter().filter(keep).collect();
        let all_y: Vec<&CanonicalDelivery> = b.deliveries.get(node).unwrap_or(&empty).iter().filter(keep).collect();
        let streams: Vec<Option<&String>> = if per_sender {
            all_x.iter().chain(&all_y).map(|d| &d.src).collect::<BTreeSet<_>>().into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        for sender in streams {
            let mine = |d: &&&CanonicalDelivery| sender.is_none_or(|s| &d.src == s);
            let xs: Vec<&CanonicalDelivery> = all_x.iter().filter(mine).copied().collect();
            let ys: Vec<&CanonicalDelivery> = all_y.iter().filter(mine).copied().collect();
            let from = sender.map_or(String::new(), |s| format!(" from '{s}'"));
            for (i, pair) in xs.iter().zip(&ys).enumerate() {
                if let Some(what) = delivery_difference(pair.0, pair.1, options) {
                    found.push(Difference {
                        node: node.clone(),
                        time_us: Some(pair.0.time_us),
                        what: format!("message {}{from} received: {what}", i + 1),
                        expected: describe(pair.0),
                        found: describe(pair.1),
                    });
                    break; // later messages of this stream follow from the first difference
                }
            }
            if xs.len() != ys.len() {
                let n = xs.len().min(ys.len());
                found.push(Difference {
                    node: node.clone(),
                    time_us: xs.get(n).or(ys.get(n)).map(|d| d.time_us),
                    what: format!("{} messages{from} received, against {}", xs.len(), ys.len()),
                    expected: xs.get(n).map_or("no more messages".into(), |d| describe(d)),
                    found: ys.get(n).map_or("no more messages".into(), |d| describe(d)),
                });
            }
        }
    }
    // The engine's message counters and the drops include the ignored
    // traffic: with anything ignored, they are left out (the messages
    // themselves were compared above).
    let ignoring = !options.ignore_nodes.is_empty() || !options.ignore_topics.is_empty();
    let counted = |name: &str| !(ignoring && name.starts_with("host.") && name != "host.faulted");
    let nodes: BTreeSet<&String> = a.metrics.keys().chain(b.metrics.keys()).collect();
    for node in nodes.into_iter().filter(|n| !options.ignore_nodes.contains(*n)) {
        let (ma, mb) = (a.metrics.get(node), b.metrics.get(node));
        let names: BTreeSet<&String> = ma.into_iter().chain(mb).flat_map(|m| m.keys()).collect();
        for name in names.into_iter().filter(|n| counted(n)) {
            let (x, y) = (ma.and_then(|m| m.get(name)), mb.and_then(|m| m.get(name)));
            let same = match (x, y) {
                (Some(x), Some(y)) => numbers_match(*x, *y, options.metric_relative_tolerance),
                (None, None) => true,
                _ => false,
            };
            if !same {
                let show = |v: Option<&f64>| v.map_or("absent".to_string(), |v| v.to_string());
                found.push(Difference {
                    node: node.clone(),
                    time_us: None,
                    what: format!("metric {name}"),
                    expected: show(x),
                    found: show(y),
                });
            }
        }
    }
    let reasons: BTreeSet<&String> =
        if ignoring { BTreeSet::new() } else { a.drops.keys().chain(b.drops.keys()).collect() };
    for reason in reasons {
        let (x, y) = (a.drops.get(reason).copied().unwrap_or(0), b.drops.get(reason).copied().unwrap_or(0));
        if x != y {
            found.push(Difference {
                node: "(network)".into(),
                time_us: None,
                what: format!("messages dropped for {reason}"),
                expected: x.to_string(),
                found: y.to_string(),
            });
        }
    }
    found.truncate(options.max_differences);
    found
}

fn describe(d: &CanonicalDelivery) -> String {
    // A payload's line breaks and escape sequences are shown, not obeyed.
    let payload = crate::text::escape_controls(&d.payload_text());
    let topic = crate::text::escape_controls(&d.topic);
    format!("at {} from '{}', topic '{topic}': {}", format_time(d.time_us), d.src, truncate(&payload, 160))
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

fn delivery_difference(x: &CanonicalDelivery, y: &CanonicalDelivery, options: &EquivOptions) -> Option<&'static str> {
    if x.src != y.src {
        return Some("another sender");
    }
    if x.topic != y.topic {
        return Some("another topic");
    }
    if !options.ignore_timing && x.time_us.abs_diff(y.time_us) > options.time_tolerance_us {
        return Some("at another time");
    }
    let exact = x.payload == y.payload && x.payload_hex == y.payload_hex;
    let same_payload = match (options.payloads, &x.payload, &y.payload) {
        (PayloadMatch::Json { relative_tolerance }, Some(px), Some(py)) => {
            match (serde_json::from_str(px), serde_json::from_str(py)) {
                (Ok(a), Ok(b)) => json_match(&a, &b, relative_tolerance),
                _ => exact,
            }
        }
        _ => exact,
    };
    (!same_payload).then_some("another payload")
}

fn numbers_match(x: f64, y: f64, tolerance: f64) -> bool {
    if x.is_nan() || y.is_nan() {
        return x.is_nan() && y.is_nan();
    }
    if !x.is_finite() || !y.is_finite() {
        // No tolerance makes an infinity equal to anything but itself.
        return x == y;
    }
    x == y || (x - y).abs() <= tolerance * x.abs().max(y.abs())
}

fn json_match(a: &serde_json::Value, b: &serde_json::Value, tolerance: f64) -> bool {
    use serde_json::Value;
    match (a, b) {
        // Integers exactly (an f64 cannot tell 2^53 from 2^53 + 1), other numbers within the tolerance.
        (Value::Number(x), Value::Number(y)) if x.is_i64() && y.is_i64() => x.as_i64() == y.as_i64(),
        (Value::Number(x), Value::Number(y)) if x.is_u64() && y.is_u64() => x.as_u64() == y.as_u64(),
        (Value::Number(x), Value::Number(y)) => {
            numbers_match(x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN), tolerance)
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_match(x, y, tolerance))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len() && xs.iter().all(|(k, x)| ys.get(k).is_some_and(|y| json_match(x, y, tolerance)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn run(payloads: &[(u64, &str)]) -> CanonicalRun {
        let deliveries = payloads
            .iter()
            .map(|(t, p)| CanonicalDelivery {
                time_us: *t,
                src: "s".into(),
                topic: "reading".into(),
                payload: Some(p.to_string()),
                payload_hex: None,
            })
            .collect();
        CanonicalRun {
            deliveries: BTreeMap::from([("gw".to_string(), deliveries)]),
            metrics: BTreeMap::new(),
            drops: BTreeMap::new(),
        }
    }

    #[test]
    fn the_first_difference_names_node_time_and_both_sides() {
        let a = run(&[(1_000_000, r#"{"t":20.5}"#), (2_000_000, r#"{"t":21}"#)]);
        let b = run(&[(1_000_000, r#"{"t":20.5}"#), (2_000_000, r#"{"t":22}"#)]);
        let d = compare(&a, &b, &EquivOptions::default());
        assert_eq!(d.len(), 1, "{d:?}");
        let text = d[0].to_string();
        assert!(text.starts_with("node 'gw' at t = 2.000000 s: message 2 received: another payload"), "{text}");
        assert!(text.contains(r#"expected: at 2.000000 s from 's', topic 'reading': {"t":21}"#), "{text}");
    }

    #[test]
    fn with_a_time_tolerance_senders_may_interleave_differently() {
        let msg = |t: u64, src: &str| CanonicalDelivery {
            time_us: t,
            src: src.into(),
            topic: "r".into(),
            payload: Some("x".into()),
            payload_hex: None,
        };
        let run = |ds: Vec<CanonicalDelivery>| CanonicalRun {
            deliveries: BTreeMap::from([("gw".to_string(), ds)]),
            metrics: BTreeMap::new(),
            drops: BTreeMap::new(),
        };
        let a = run(vec![msg(1000, "s1"), msg(1010, "s2")]);
        let b = run(vec![msg(1005, "s2"), msg(1008, "s1")]);
        assert!(!compare(&a, &b, &EquivOptions::default()).is_empty(), "exact timing: another order differs");
        let loose = EquivOptions { time_tolerance_us: 100, ..EquivOptions::default() };
        assert!(compare(&a, &b, &loose).is_empty(), "{:?}", compare(&a, &b, &loose));
    }

    #[test]
    fn tolerances_and_ignores_apply() {
        let a = run(&[(1_000_000, r#"{"t":20.5,"u":"C"}"#)]);
        let b = run(&[(1_000_100, r#"{"u":"C","t":20.50001}"#)]);
        assert_eq!(compare(&a, &b, &EquivOptions::default()).len(), 1);
        let loose = EquivOptions {
            time_tolerance_us: 100,
            payloads: PayloadMatch::Json { relative_tolerance: 1e-6 },
            ..EquivOptions::default()
        };
        assert!(compare(&a, &b, &loose).is_empty());
        let ignoring = EquivOptions { ignore_nodes: BTreeSet::from(["gw".to_string()]), ..EquivOptions::default() };
        let inf = |v: f64| CanonicalRun {
            deliveries: BTreeMap::new(),
            metrics: BTreeMap::from([("n".to_string(), BTreeMap::from([("m".to_string(), v)]))]),
            drops: BTreeMap::new(),
        };
        let tolerant = EquivOptions { metric_relative_tolerance: 0.01, ..EquivOptions::default() };
        assert_eq!(compare(&inf(f64::INFINITY), &inf(1.0), &tolerant).len(), 1, "no tolerance reaches infinity");
        assert!(compare(&inf(f64::NAN), &inf(f64::NAN), &tolerant).is_empty());
        assert!(!json_match(&serde_json::json!(9007199254740993u64), &serde_json::json!(9007199254740992u64), 0.0));
        assert!(compare(&a, &run(&[]), &ignoring).is_empty());
        let d = compare(&a, &run(&[]), &EquivOptions::default());
        assert_eq!(d[0].what, "1 messages received, against 0");
    }
}
