//! The page of an equivalence check (`xedgesim equiv`): the verdict, the
//! two sides' latency distributions and deliveries over time on shared
//! axes, the first differences, and with trials each metric's test per
//! side: means, the margin, B − A's interval, the p values and the verdict. Drawn from the result `equiv` prints as JSON and each side's
//! `series.json`, summed over the side's trials.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::html::{self, count, escape, figure, micros, table};
use super::{plot, text};
use crate::engine::Series;

/// The comparison page: `result` is what `equiv --json` writes; `a` and
/// `b` are each side's series, one per trial.
pub fn comparison_page(result: &Value, a: &[Series], b: &[Series]) -> String {
    let equivalent = result["equivalent"].as_bool().unwrap_or(false);
    let mut out = String::new();
    let title = format!("{} and {}", text(&result["a"]), text(&result["b"]));
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>xedgesim equiv: {}</title>{}</head><body>",
        escape(&title),
        html::STYLE
    );
    // Trials say which verdict they reached; one run is equivalent or not.
    let (class, verdict) = match result["verdict"].as_str() {
        Some("not_equivalent") => ("failed", "NOT shown equivalent"),
        Some("differ") => ("failed", "DIFFER"),
        Some("no_difference") => ("finished", "no difference shown"),
        Some("undecided") => ("failed", "not enough trials to decide"),
        _ if equivalent => ("finished", "equivalent"),
        _ => ("failed", "NOT equivalent"),
    };
    let _ = writeln!(out, "<h1>{} <span class=\"status-{class}\">{verdict}</span></h1>", escape(&title));
    let mut rows = vec![
        vec!["A (expected)".to_string(), escape(&text(&result["a"]))],
        vec!["B (found)".to_string(), escape(&text(&result["b"]))],
        vec!["seed".to_string(), escape(&text(&result["seed"]))],
    ];
    if result["expect_differ"].as_bool() == Some(true) {
        rows.push(vec!["expected".to_string(), "a difference (--expect-differ)".to_string()]);
    }
    if !result["swap"].is_null() {
        rows.push(vec!["swapped on B".to_string(), escape(&text(&result["swap"]))]);
    }
    if let Some(trials) = result["trials"].as_u64() {
        rows.push(vec!["trials per side".to_string(), count(trials)]);
        let rules = &result["rules"];
        let test = match rules["test"].as_str() {
            Some("difference") => "difference: Welch's two-sided test, Holm-adjusted",
            _ => "equivalence: two one-sided tests (TOST) against each metric's margin",
        };
        rows.push(vec!["test".to_string(), escape(&format!("{test}, alpha {}", text(&rules["alpha"])))]);
        rows.push(vec!["fewest trials to decide".to_string(), escape(&text(&rules["min_trials"]))]);
    }
    rows.push(vec!["options".to_string(), format!("<code>{}</code>", escape(&result["options"].to_string()))]);
    table(&mut out, "comparison", false, &["", "value"], &rows);
    super::comparison_latency::latency_section(&mut out, &result["latency"]);

    // --- Distributions on shared axes ----------------------------------------------------
    out.push_str("<h2>Delivery latency, A and B</h2>\n");
    let (la, lb) = (latency_sum(a), latency_sum(b));
    let buckets: Vec<u64> =
        la.keys().chain(lb.keys()).copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let labels: Vec<String> = buckets.iter().map(|&from| micros(from as f64)).collect();
    let side = |sums: &BTreeMap<u64, u64>| buckets.iter().map(|k| sums.get(k).copied().unwrap_or(0) as f64).collect();
    figure(
        &mut out,
        "plot-latency",
        &plot::category_lines(
            "latency (bucket from; buckets double)",
            "deliveries",
            &labels,
            &[("A".to_string(), side(&la)), ("B".to_string(), side(&lb))],
        ),
        "Every delivery of every trial of each side, in latency buckets that double in width.",
    );

    out.push_str("<h2>Deliveries over virtual time, A and B</h2>\n");
    figure(
        &mut out,
        "plot-deliveries",
        &plot::lines(
            "virtual time (s)",
            "deliveries per virtual second",
            &[("A".to_string(), delivery_rate(a)), ("B".to_string(), delivery_rate(b))],
            &[],
        ),
        "Deliveries per virtual second in each side's own intervals, the mean over its trials.",
    );

    // --- Differences, or the trials' intervals -------------------------------------------
    if let Some(differences) = result["differences"].as_array() {
        out.push_str("<h2>First differences</h2>\n");
        if differences.is_empty() {
            out.push_str("<p>None: every delivery, every node's metrics and the drops agree.</p>\n");
        } else {
            let rows: Vec<Vec<String>> = differences
                .iter()
                .map(|d| {
                    vec![
                        escape(&text(&d["node"])),
                        d["time_us"].as_u64().map_or(String::new(), |t| micros(t as f64)),
                        escape(&text(&d["what"])),
                        escape(&text(&d["expected"])),
                        escape(&text(&d["found"])),
                    ]
                })
                .collect();
            table(
                &mut out,
                "differences",
                false,
                &["node", "virtual time", "what", "A (expected)", "B (found)"],
                &rows,
            );
        }
    }
    if let Some(payloads) = result["payloads"].as_object() {
        // Trials with payloads compared: each pair's messages.
        out.push_str("<h2>Messages of each pair of trials</h2>\n");
        let (pairs, differing) = (text(&payloads["pairs"]), text(&payloads["differing"]));
        out.push_str(&format!(
            "<p>{} of {pairs} pairs (trial i of A and of B) received different messages.</p>\n",
            escape(&differing)
        ));
        let rows: Vec<Vec<String>> = payloads["first"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let trial = text(&d["trial"]);
                vec![
                    escape(&format!("a{trial}, b{trial}")),
                    escape(&text(&d["node"])),
                    escape(&text(&d["what"])),
                    escape(&text(&d["expected"])),
                    escape(&text(&d["found"])),
                ]
            })
            .collect();
        if !rows.is_empty() {
            let header = ["trials", "node", "what", "A (expected)", "B (found)"];
            table(&mut out, "payload-differences", false, &header, &rows);
        }
    }
    if let Some(metrics) = result["metrics"].as_array() {
        let alpha = result["rules"]["alpha"].as_f64().unwrap_or(0.05);
        let interval = format!("{}% interval of B − A", (100.0 * (1.0 - 2.0 * alpha) * 1e6).round() / 1e6);
        out.push_str("<h2>Metrics over the trials</h2>\n");
        let number = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.4}"));
        let side = |s: &Value| format!("{} ± {} (n = {})", number(&s["mean"]), number(&s["sd"]), text(&s["n"]));
        let rows: Vec<Vec<String>> = metrics
            .iter()
            .map(|m| {
                let verdict = text(&m["verdict"]).replace('_', " ");
                let shown = if matches!(verdict.as_str(), "equivalent" | "no difference") {
                    escape(&verdict)
                } else {
                    format!("<strong>{}</strong>", escape(&verdict))
                };
                let problem = m["problem"].as_str().map_or(String::new(), |p| format!(": {}", escape(p)));
                vec![
                    escape(&text(&m["node"])),
                    escape(&text(&m["metric"])),
                    side(&m["a"]),
                    side(&m["b"]),
                    match (&m["margin"], &m["tost"]["margin"]) {
                        (Value::Null, _) => "none".into(),
                        (Value::String(p), amount) => format!("{} ({})", number(amount), escape(p)),
                        (stated, _) => number(stated),
                    },
                    if m["tost"].is_null() {
                        "-".into()
                    } else {
                        format!("[{}, {}]", number(&m["tost"]["low"]), number(&m["tost"]["high"]))
                    },
                    number(&m["tost"]["p"]),
                    number(&m["welch"]["p_difference"]),
                    format!("{shown}{problem}"),
                ]
            })
            .collect();
        table(
            &mut out,
            "metrics",
            true,
            &[
                "node",
                "metric",
                "A mean ± sd",
                "B mean ± sd",
                "margin",
                interval.as_str(),
                "p TOST",
                "p differ",
                "verdict",
            ],
            &rows,
        );
    }
    out.push_str(html::SORT_SCRIPT);
    out.push_str("\n</body></html>\n");
    out
}

/// Deliveries per latency bucket (by its lower bound), over every series.
fn latency_sum(series: &[Series]) -> BTreeMap<u64, u64> {
    let mut sums = BTreeMap::new();
    for s in series {
        for b in &s.latency {
            *sums.entry(b.from_us).or_default() += b.count;
        }
    }
    sums
}

/// Deliveries per virtual second in each interval, the mean over the
/// series (a side's trials share one duration, so one interval width).
fn delivery_rate(series: &[Series]) -> Vec<(f64, f64)> {
    let Some(first) = series.first() else { return Vec::new() };
    let bin_s = first.bin_us as f64 / 1e6;
    let n = series.iter().map(|s| s.delivered.len()).max().unwrap_or(0);
    let mut mean = vec![0.0; n];
    for s in series {
        for (k, &d) in s.delivered.iter().enumerate() {
            mean[k] += d as f64 / series.len() as f64 / bin_s;
        }
    }
    mean.into_iter().enumerate().map(|(k, y)| (k as f64 * bin_s, y)).collect()
}
