//! [`compare`]: two canonical runs, and the first places they differ.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::canonical::{CanonicalDelivery, CanonicalRun};
use crate::scenario::PayloadTolerance;
use crate::text::format_time;

/// How payloads must match.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadMatch {
    /// Byte for byte.
    Exact,
    /// As JSON: the same structure and non-number values (key order and
    /// number formatting do not count); a number within its field's
    /// tolerance in `fields` (the longest field name at or above it), or
    /// else within `relative_tolerance` (integers then exactly). Payloads
    /// that are not JSON on both sides compare byte for byte.
    Json {
        relative_tolerance: f64,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        fields: BTreeMap<String, PayloadTolerance>,
    },
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

impl EquivOptions {
    /// Whether metric `name` is compared: with payloads compared as JSON,
    /// the engine's byte counts are not (a number's formatting and a
    /// tolerance change a payload's length; the payloads are compared).
    pub fn counts_metric(&self, name: &str) -> bool {
        !(matches!(self.payloads, PayloadMatch::Json { .. }) && BYTE_METRICS.contains(&name))
    }
}

/// The engine's per-node byte counts.
const BYTE_METRICS: &[&str] = &["host.bytes_in", "host.bytes_out"];

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
    deliveries_differences(a, b, options, true, &mut found);
    metrics_and_drops_differences(a, b, options, &mut found);
    found.truncate(options.max_differences);
    found
}

/// The differences between the messages of `a` and `b` only, each
/// sender's messages to a destination compared as a stream, whenever they
/// arrived, and how many there were left out: what the pairs of trials
/// compare (their counts and times are compared as distributions).
pub fn payload_differences(a: &CanonicalRun, b: &CanonicalRun, options: &EquivOptions) -> Vec<Difference> {
    let untimed = EquivOptions { ignore_timing: true, ..options.clone() };
    let mut found = Vec::new();
    deliveries_differences(a, b, &untimed, false, &mut found);
    found.truncate(options.max_differences);
    found
}

/// Per destination in node order: the first message of each stream that
/// differs, and (with `counts`) streams of different lengths.
fn deliveries_differences(
    a: &CanonicalRun,
    b: &CanonicalRun,
    options: &EquivOptions,
    counts: bool,
    found: &mut Vec<Difference>,
) {
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
            if counts && xs.len() != ys.len() {
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
}

/// Each node's metrics, then the drops by reason.
fn metrics_and_drops_differences(
    a: &CanonicalRun,
    b: &CanonicalRun,
    options: &EquivOptions,
    found: &mut Vec<Difference>,
) {
    // The engine's message counters and the drops include the ignored
    // traffic: with anything ignored, they are left out (the messages
    // themselves were compared above).
    let ignoring = !options.ignore_nodes.is_empty() || !options.ignore_topics.is_empty();
    let counted =
        |name: &str| !(ignoring && name.starts_with("host.") && name != "host.faulted") && options.counts_metric(name);
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

fn delivery_difference(x: &CanonicalDelivery, y: &CanonicalDelivery, options: &EquivOptions) -> Option<String> {
    if x.src != y.src {
        return Some("another sender".into());
    }
    if x.topic != y.topic {
        return Some("another topic".into());
    }
    if !options.ignore_timing && x.time_us.abs_diff(y.time_us) > options.time_tolerance_us {
        return Some("at another time".into());
    }
    let exact = x.payload == y.payload && x.payload_hex == y.payload_hex;
    if let (PayloadMatch::Json { relative_tolerance, fields }, Some(px), Some(py)) =
        (&options.payloads, &x.payload, &y.payload)
        && let (Ok(a), Ok(b)) = (serde_json::from_str(px), serde_json::from_str(py))
    {
        let rules = JsonRules { relative_tolerance: *relative_tolerance, fields };
        return json_difference(&a, &b, &JsonPlace::default(), None, &rules)
            .map(|what| format!("another payload: {what}"));
    }
    // Not JSON on both sides: byte for byte.
    (!exact).then(|| "another payload".into())
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

/// How JSON payloads' numbers may differ.
struct JsonRules<'a> {
    relative_tolerance: f64,
    fields: &'a BTreeMap<String, PayloadTolerance>,
}

/// Where in a payload a value is: its field name (keys joined by `.`,
/// which tolerances are looked up by) and its place for people (with
/// array indices).
#[derive(Default)]
struct JsonPlace {
    field: String,
    shown: String,
}

impl JsonPlace {
    fn key(&self, key: &str) -> JsonPlace {
        let join = |base: &str| if base.is_empty() { key.to_string() } else { format!("{base}.{key}") };
        JsonPlace { field: join(&self.field), shown: join(&self.shown) }
    }

    fn index(&self, i: usize) -> JsonPlace {
        JsonPlace { field: self.field.clone(), shown: format!("{}[{i}]", self.shown) }
    }

    fn name(&self) -> String {
        if self.shown.is_empty() { "the payload".into() } else { format!("field '{}'", self.shown) }
    }
}

/// The first difference between JSON values `a` and `b` (A's keys in
/// order, then B's extra ones), in words; `None` when they match.
/// `tolerance` is the one of the nearest field above with one.
fn json_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
    place: &JsonPlace,
    tolerance: Option<&PayloadTolerance>,
    rules: &JsonRules,
) -> Option<String> {
    use serde_json::Value;
    let tolerance = rules.fields.get(&place.field).or(tolerance);
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let same = match tolerance {
                Some(t) => {
                    let (xf, yf) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                    match integer_gap(x, y) {
                        Some(gap) => gap == 0 || t.within(gap as f64, xf.abs().max(yf.abs())),
                        None => t.allows(xf, yf),
                    }
                }
                // Integers exactly (an f64 cannot tell 2^53 from 2^53 + 1), other numbers within the tolerance.
                None => match integer_gap(x, y) {
                    Some(gap) => gap == 0,
                    None => numbers_match(
                        x.as_f64().unwrap_or(f64::NAN),
                        y.as_f64().unwrap_or(f64::NAN),
                        rules.relative_tolerance,
                    ),
                },
            };
            let bound = match (tolerance, rules.relative_tolerance > 0.0) {
                (Some(t), _) => format!("tolerance {t}"),
                (None, true) => format!("tolerance rel {:e}", rules.relative_tolerance),
                (None, false) => "no tolerance".into(),
            };
            (!same).then(|| format!("{} is {x} against {y} ({bound})", place.name()))
        }
        (Value::Array(xs), Value::Array(ys)) => {
            if xs.len() != ys.len() {
                return Some(format!("{} has {} elements against {}", place.name(), xs.len(), ys.len()));
            }
            xs.iter()
                .zip(ys)
                .enumerate()
                .find_map(|(i, (x, y))| json_difference(x, y, &place.index(i), tolerance, rules))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            for (key, x) in xs {
                match ys.get(key) {
                    Some(y) => {
                        if let Some(d) = json_difference(x, y, &place.key(key), tolerance, rules) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{} is in A only", place.key(key).name())),
                }
            }
            let extra = ys.keys().find(|k| !xs.contains_key(*k))?;
            Some(format!("{} is in B only", place.key(extra).name()))
        }
        _ if a == b => None,
        _ => Some(format!("{} is {a} against {b}", place.name())),
    }
}

/// |x − y| when both are integers (exactly, whatever their size).
fn integer_gap(x: &serde_json::Number, y: &serde_json::Number) -> Option<u128> {
    let whole = |n: &serde_json::Number| n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
    Some((whole(x)? - whole(y)?).unsigned_abs())
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
                sent_us: 0,
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
            sent_us: 0,
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
            payloads: PayloadMatch::Json { relative_tolerance: 1e-6, fields: BTreeMap::new() },
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
        // Payloads as JSON: their byte counts are not compared, other counts are.
        let counts = |bytes: f64, messages: f64| CanonicalRun {
            deliveries: BTreeMap::new(),
            metrics: BTreeMap::from([(
                "n".to_string(),
                BTreeMap::from([("host.bytes_in".to_string(), bytes), ("host.messages_in".to_string(), messages)]),
            )]),
            drops: BTreeMap::new(),
        };
        assert_eq!(compare(&counts(10.0, 1.0), &counts(12.0, 1.0), &EquivOptions::default()).len(), 1);
        assert!(compare(&counts(10.0, 1.0), &counts(12.0, 1.0), &loose).is_empty());
        assert_eq!(compare(&counts(10.0, 1.0), &counts(10.0, 2.0), &loose)[0].what, "metric host.messages_in");
        assert_eq!(compare(&inf(f64::INFINITY), &inf(1.0), &tolerant).len(), 1, "no tolerance reaches infinity");
        assert!(compare(&inf(f64::NAN), &inf(f64::NAN), &tolerant).is_empty());
        let big = |n: u64| run(&[(1_000_000, &format!(r#"{{"n":{n}}}"#))]);
        assert_eq!(compare(&big(9007199254740993), &big(9007199254740992), &loose).len(), 1, "integers exactly");
        assert!(compare(&a, &run(&[]), &ignoring).is_empty());
        let d = compare(&a, &run(&[]), &EquivOptions::default());
        assert_eq!(d[0].what, "1 messages received, against 0");
    }

    /// The first payload difference under `fields` (and `relative`
    /// elsewhere), as `compare` words it, or "" when the payloads match.
    fn payload_verdict(x: &str, y: &str, relative: f64, fields: &[(&str, f64, f64)]) -> String {
        let fields =
            fields.iter().map(|(f, abs, rel)| (f.to_string(), PayloadTolerance { abs: *abs, rel: *rel })).collect();
        let options = EquivOptions {
            payloads: PayloadMatch::Json { relative_tolerance: relative, fields },
            ..Default::default()
        };
        let d = compare(&run(&[(1_000, x)]), &run(&[(1_000, y)]), &options);
        d.first().map_or(String::new(), |d| d.what.trim_start_matches("message 1 received: ").to_string())
    }

    #[test]
    fn a_field_tolerance_allows_either_bound_and_names_the_first_field_beyond_it() {
        let tolerance = [("prediction", 1e-6, 1e-5)];
        let verdict = |x, y| payload_verdict(x, y, 0.0, &tolerance);
        // Absolute: 0.5 μ apart; relative: 1e-5 of 1000.
        assert_eq!(verdict(r#"{"prediction":0.1,"id":"s"}"#, r#"{"id":"s","prediction":0.1000005}"#), "");
        assert_eq!(verdict(r#"{"prediction":1000.0}"#, r#"{"prediction":1000.009}"#), "");
        assert_eq!(
            verdict(r#"{"prediction":0.1}"#, r#"{"prediction":0.10001}"#),
            "another payload: field 'prediction' is 0.1 against 0.10001 (tolerance abs 1e-6 or rel 1e-5)"
        );
        // A field without a tolerance must be equal, integers included.
        assert_eq!(
            verdict(r#"{"prediction":0.1,"t_us":5}"#, r#"{"prediction":0.1,"t_us":6}"#),
            "another payload: field 't_us' is 5 against 6 (no tolerance)"
        );
        assert_eq!(
            verdict(r#"{"confidence":0.25}"#, r#"{"confidence":0.2500001}"#),
            "another payload: field 'confidence' is 0.25 against 0.2500001 (no tolerance)"
        );
        // With a tolerance, integers are numbers like any other, compared exactly.
        let ints = [("count", 2.0, 0.0)];
        assert_eq!(payload_verdict(r#"{"count":10}"#, r#"{"count":12}"#, 0.0, &ints), "");
        assert_eq!(
            payload_verdict(r#"{"count":10}"#, r#"{"count":12.5}"#, 0.0, &ints),
            "another payload: field 'count' is 10 against 12.5 (tolerance abs 2e0)"
        );
        let huge = [("n", 1.0, 0.0)];
        assert_eq!(payload_verdict(r#"{"n":18446744073709551615}"#, r#"{"n":18446744073709551614}"#, 0.0, &huge), "");
        assert_eq!(
            payload_verdict(r#"{"n":-9223372036854775808}"#, r#"{"n":18446744073709551615}"#, 0.0, &huge),
            "another payload: field 'n' is -9223372036854775808 against 18446744073709551615 (tolerance abs 1e0)"
        );
    }

    #[test]
    fn field_tolerances_reach_into_nested_objects_and_arrays() {
        // `stats` covers every number below it; `stats.mean` is its own.
        let fields = [("stats", 0.1, 0.0), ("stats.mean", 1e-9, 0.0), ("features", 0.01, 0.0)];
        let verdict = |x, y| payload_verdict(x, y, 0.0, &fields);
        assert_eq!(
            verdict(r#"{"stats":{"min":1.0,"max":[2.0,3.0]}}"#, r#"{"stats":{"min":1.05,"max":[2.0,3.09]}}"#),
            ""
        );
        assert_eq!(
            verdict(r#"{"stats":{"mean":1.0}}"#, r#"{"stats":{"mean":1.05}}"#),
            "another payload: field 'stats.mean' is 1.0 against 1.05 (tolerance abs 1e-9)"
        );
        assert_eq!(verdict(r#"{"features":[[1.0,2.0],[3.0]]}"#, r#"{"features":[[1.001,2.0],[2.995]]}"#), "");
        assert_eq!(
            verdict(r#"{"features":[[1.0,2.0],[3.0]]}"#, r#"{"features":[[1.0,2.0],[3.5]]}"#),
            "another payload: field 'features[1][0]' is 3.0 against 3.5 (tolerance abs 1e-2)"
        );
        // A top-level array: its elements have no field name but the payload's.
        assert_eq!(
            payload_verdict("[1.0, 2.0]", "[1.0, 2.5]", 0.0, &[]),
            "another payload: field '[1]' is 2.0 against 2.5 (no tolerance)"
        );
        // The file's relative tolerance applies where no field's does.
        assert_eq!(payload_verdict(r#"{"x":100.0}"#, r#"{"x":100.5}"#, 0.01, &fields), "");
        assert_eq!(
            payload_verdict(r#"{"x":100.0}"#, r#"{"x":102.0}"#, 0.01, &fields),
            "another payload: field 'x' is 100.0 against 102.0 (tolerance rel 1e-2)"
        );
    }

    #[test]
    fn shapes_and_other_values_must_match_and_non_json_compares_as_bytes() {
        let fields = [("v", 1.0, 1.0)];
        let verdict = |x, y| payload_verdict(x, y, 0.0, &fields);
        assert_eq!(verdict(r#"{"v":1,"u":"C"}"#, r#"{"v":1}"#), "another payload: field 'u' is in A only");
        assert_eq!(verdict(r#"{"v":1}"#, r#"{"v":1,"w":null}"#), "another payload: field 'w' is in B only");
        assert_eq!(
            verdict(r#"{"v":[1,2]}"#, r#"{"v":[1,2,3]}"#),
            "another payload: field 'v' has 2 elements against 3"
        );
        assert_eq!(verdict(r#"{"v":1}"#, r#"{"v":"1"}"#), r#"another payload: field 'v' is 1 against "1""#);
        assert_eq!(verdict(r#"{"v":{"a":1}}"#, r#"{"v":[1]}"#), r#"another payload: field 'v' is {"a":1} against [1]"#);
        assert_eq!(verdict(r#"{"u":"C"}"#, r#"{"u":"F"}"#), r#"another payload: field 'u' is "C" against "F""#);
        assert_eq!(verdict("true", "false"), "another payload: the payload is true against false");
        // JSON has no NaN: such payloads are not JSON and compare byte for byte.
        assert_eq!(verdict(r#"{"v":NaN}"#, r#"{"v":NaN}"#), "");
        assert_eq!(verdict(r#"{"v":NaN}"#, r#"{"v": NaN}"#), "another payload");
        assert_eq!(verdict(r#"{"v":NaN}"#, r#"{"v":1.0}"#), "another payload");
        assert_eq!(verdict("21.5 C", "21.5 C"), "");
        assert_eq!(verdict("21.5 C", "21.6 C"), "another payload");
        // Key order and number formatting do not count.
        assert_eq!(verdict(r#"{"a":1,"b":2.0}"#, r#"{ "b": 2, "a": 1 }"#), "");
    }

    #[test]
    fn pairs_of_trials_compare_messages_not_their_times_or_counts() {
        let fields = BTreeMap::from([("t".to_string(), PayloadTolerance { abs: 0.01, rel: 0.0 })]);
        let options =
            EquivOptions { payloads: PayloadMatch::Json { relative_tolerance: 0.0, fields }, ..Default::default() };
        let a = run(&[(1_000, r#"{"t":20.5}"#), (2_000, r#"{"t":21}"#)]);
        let b = run(&[(1_700, r#"{"t":20.501}"#)]);
        assert!(payload_differences(&a, &b, &options).is_empty(), "{:?}", payload_differences(&a, &b, &options));
        assert_eq!(compare(&a, &b, &options).len(), 2, "one run: the time and the count differ");
        let c = run(&[(1_000, r#"{"t":20.5}"#), (2_000, r#"{"t":21.5}"#)]);
        let d = payload_differences(&a, &c, &options);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].what,
            "message 2 from 's' received: another payload: field 't' is 21 against 21.5 (tolerance abs 1e-2)"
        );
    }
}
