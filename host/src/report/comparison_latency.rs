//! The comparison page's end-to-end latency table: each side's sinks,
//! deliveries there, nearest-rank p50/p95/p99/max and the share over the
//! deadline, pooled over its trials, and each trial's percentiles as a
//! spread (from `latency` in the result `equiv --json` writes).

use serde_json::Value;

use super::html::{count, escape, table};
use super::text;

/// Exact µs as ms with three decimals, as the terminal shows them.
fn ms(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |us| format!("{:.3} ms", us / 1000.0))
}

fn spread(s: &Value, unit: fn(&Value) -> String) -> String {
    if s.is_null() {
        return "-".into();
    }
    format!("{} [{}, {}]", unit(&s["mean"]), unit(&s["min"]), unit(&s["max"]))
}

fn percent(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |share| format!("{:.1}%", share * 100.0))
}

/// The section, when the result has one.
pub fn latency_section(out: &mut String, latency: &Value) {
    if latency.is_null() {
        return;
    }
    out.push_str("<h2>End-to-end latency at the sinks</h2>\n");
    let deadline = latency["deadline_ms"].as_f64();
    out.push_str(&format!(
        "<p>Arrival at a sink minus the payload's <code>t_us</code>, else its <code>timestamp_us</code>, else the \
         send time of its last hop; every delivery counted exactly, percentiles by nearest rank{}. (The plot below \
         counts every hop's delivery, in buckets.)</p>\n",
        deadline.map_or(String::new(), |d| escape(&format!("; misses: later than {d} ms")))
    ));
    let mut rows = Vec::new();
    let mut per_trial = Vec::new();
    for (name, side) in [("A", &latency["a"]), ("B", &latency["b"])] {
        let sinks: Vec<String> = side["sinks"].as_array().into_iter().flatten().map(text).collect();
        let f = &side["pooled"];
        let misses = &f["misses"];
        rows.push(vec![
            name.to_string(),
            escape(&sinks.join(", ")),
            count(f["deliveries"].as_u64().unwrap_or(0)),
            ms(&f["p50_us"]),
            ms(&f["p95_us"]),
            ms(&f["p99_us"]),
            ms(&f["max_us"]),
            if misses.is_null() {
                "-".into()
            } else {
                format!("{} ({} of {})", percent(&misses["share"]), text(&misses["count"]), text(&f["deliveries"]))
            },
        ]);
        let p = &side["per_trial"];
        if !p.is_null() {
            per_trial.push(vec![
                name.to_string(),
                text(&p["trials"]),
                spread(&p["p50_us"], ms),
                spread(&p["p95_us"], ms),
                spread(&p["p99_us"], ms),
                spread(&p["max_us"], ms),
                spread(&p["miss_share"], percent),
            ]);
        }
    }
    let header = ["side", "sinks", "deliveries", "p50", "p95", "p99", "max", "over the deadline"];
    table(out, "latency", false, &header, &rows);
    if !per_trial.is_empty() {
        out.push_str("<p>Each trial's own figures: mean [least, largest] over the trials.</p>\n");
        let header = ["side", "trials", "p50", "p95", "p99", "max", "over the deadline"];
        table(out, "latency-per-trial", false, &header, &per_trial);
    }
}
