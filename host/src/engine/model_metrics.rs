//! [`ModelMetrics`]: what the models reported at the end of the run,
//! gathered per node type for `summary.json` and the results table.
//! Bounded whatever the scale: one row per type and metric name (a
//! million sensors give one row per metric); `metrics.csv` keeps every
//! node's values.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::runtime::Metric;

/// The engine's counts of a node (`host.messages_in` …) go by this prefix
/// beside the model's metrics; a model's names may not take it.
pub const HOST_PREFIX: &str = "host.";

/// Most metric names kept per type; more are counted, not kept.
pub const MAX_METRICS_PER_TYPE: usize = 64;

/// A JSON number, or `"NaN"`, `"inf"` or `"-inf"`: JSON has none of them,
/// and a value the run measured is never dropped.
pub(crate) fn number_or_name<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() { s.serialize_f64(*value) } else { s.serialize_str(&value.to_string()) }
}

/// One metric over the nodes of a type that reported it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricTotals {
    /// Nodes that reported it.
    pub nodes: usize,
    #[serde(serialize_with = "number_or_name")]
    pub sum: f64,
    #[serde(serialize_with = "number_or_name")]
    pub min: f64,
    #[serde(serialize_with = "number_or_name")]
    pub max: f64,
    /// The last node that reported it: a node reporting a name twice
    /// counts once in `nodes` (the engine refuses such a list; a caller
    /// may not).
    #[serde(skip)]
    last_node: usize,
}

/// The metrics of the nodes of one type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TypeMetrics {
    pub nodes: usize,
    pub metrics: BTreeMap<String, MetricTotals>,
    /// Values reported under names past [`MAX_METRICS_PER_TYPE`], not kept.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_metrics: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// By node type.
pub type ModelMetrics = BTreeMap<String, TypeMetrics>;

/// Gathers `node_metrics` (by node position) under each node's type,
/// `type_of(position)`.
pub fn gather<'a>(node_metrics: &[Vec<Metric>], type_of: impl Fn(usize) -> &'a str) -> ModelMetrics {
    let mut by_type = ModelMetrics::new();
    for (node, metrics) in node_metrics.iter().enumerate() {
        let totals = by_type.entry(type_of(node).to_string()).or_default();
        totals.nodes += 1;
        for metric in metrics {
            let full = totals.metrics.len() >= MAX_METRICS_PER_TYPE;
            match totals.metrics.get_mut(&metric.name) {
                Some(t) => {
                    if t.last_node != node {
                        t.nodes += 1;
                        t.last_node = node;
                    }
                    t.sum += metric.value;
                    // NaN is kept, not lost to min and max: a node reported it.
                    t.min = if t.min.is_nan() || metric.value.is_nan() { f64::NAN } else { t.min.min(metric.value) };
                    t.max = if t.max.is_nan() || metric.value.is_nan() { f64::NAN } else { t.max.max(metric.value) };
                }
                None if full => totals.more_metrics += 1,
                None => {
                    let v = metric.value;
                    let totals_of_name = MetricTotals { nodes: 1, sum: v, min: v, max: v, last_node: node };
                    totals.metrics.insert(metric.name.clone(), totals_of_name);
                }
            }
        }
    }
    by_type
}

/// What is wrong with `metrics` when a name comes twice in it (the
/// first such name, quoted as the model wrote it), or one of them is
/// named as the engine's own counts are (`host.…`, which equivalence
/// compares beside the model's: one of the two values would be lost);
/// `None` when each name comes once. A node's metric is one value: the
/// engine refuses the list.
pub fn repeated_name(metrics: &[Metric]) -> Option<String> {
    if let Some(m) = metrics.iter().find(|m| m.name.starts_with(HOST_PREFIX)) {
        return Some(format!("'{}' is named as the engine's own counts are ({HOST_PREFIX}…)", m.name));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut first = None;
    for m in metrics {
        let count = seen.entry(m.name.as_str()).or_default();
        *count += 1;
        if *count == 2 && first.is_none() {
            first = Some(m.name.as_str());
        }
    }
    first.map(|name| format!("'{name}' comes {} times among its {} metrics", seen[name], metrics.len()))
}

/// One line per type for the results table: `seen 180, forwarded 16`
/// (sums over the type's nodes).
pub fn table_line(metrics: &TypeMetrics) -> String {
    // A model names its metrics: escaped, as all a model's words on a terminal.
    let shown: Vec<String> = metrics
        .metrics
        .iter()
        .map(|(name, t)| format!("{} {}", crate::text::escape_controls(name), short(t.sum)))
        .collect();
    let mut line = shown.join(", ");
    if metrics.more_metrics > 0 {
        line.push_str(&format!(", … {} more", metrics.more_metrics));
    }
    line
}

/// A number as the table shows it: whole numbers without decimals.
fn short(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v:.3}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_by_type_and_keeps_nan() {
        let m = |name: &str, value: f64| Metric { name: name.to_string(), value };
        let node_metrics = vec![vec![m("seen", 3.0)], vec![m("seen", 5.0), m("odd", f64::NAN)], vec![]];
        let types = ["filter", "filter", "cloud"];
        let gathered = gather(&node_metrics, |i| types[i]);
        let filter = &gathered["filter"];
        assert_eq!(filter.nodes, 2);
        assert_eq!((filter.metrics["seen"].nodes, filter.metrics["seen"].sum), (2, 8.0));
        assert_eq!((filter.metrics["seen"].min, filter.metrics["seen"].max), (3.0, 5.0));
        assert!(filter.metrics["odd"].sum.is_nan());
        assert_eq!(gathered["cloud"].nodes, 1);
        assert_eq!(table_line(filter), "odd NaN, seen 8");
        let json = serde_json::to_string(filter).unwrap();
        assert!(json.contains(r#""odd":{"nodes":1,"sum":"NaN","min":"NaN","max":"NaN"}"#), "{json}");
    }

    #[test]
    fn a_name_reported_twice_is_named() {
        let m = |name: &str| Metric { name: name.to_string(), value: 1.0 };
        assert_eq!(repeated_name(&[m("a"), m("b")]), None);
        assert_eq!(repeated_name(&[]), None);
        let twice = repeated_name(&[m("b"), m("a"), m("b"), m("a"), m("b")]);
        assert_eq!(twice.as_deref(), Some("'b' comes 3 times among its 5 metrics"));
        // The engine's names: equivalence compares them beside the model's.
        let taken = repeated_name(&[m("a"), m("host.messages_in")]);
        assert_eq!(taken.as_deref(), Some("'host.messages_in' is named as the engine's own counts are (host.…)"));
        assert_eq!(repeated_name(&[m("hosts"), m("a.host.b")]), None);
    }
}
