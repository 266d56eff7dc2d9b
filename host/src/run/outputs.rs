//! A run's output folder: [`OUTPUT_FILES`], each written whole or not at
//! all (`crate::atomic_file`) — the trace as the engine goes, the rest once it
//! ends: `metrics.csv`, `usage.csv`, `series.json`, `summary.json` and the
//! HTML page `report.html` (drawn by `crate::report`).

use std::path::Path;

use super::error::RunError;
use super::summary::RunSummary;
use crate::atomic_file::{AtomicFile, write_atomic};
use crate::engine::{Outcome, Placement, Trace, TraceLevel, TraceSink};
use crate::scenario::ResolvedScenario;

/// The files a run writes in its output folder.
pub const OUTPUT_FILES: [&str; 6] =
    ["trace.jsonl", "metrics.csv", "usage.csv", "series.json", "summary.json", "report.html"];

/// `trace.jsonl`: the engine writes its lines, the file takes its name when the run ends.
impl TraceSink for AtomicFile {
    fn commit(self: Box<Self>) -> std::io::Result<()> {
        AtomicFile::commit(*self)
    }
}

/// The error of writing `path`.
fn output_error(path: &Path) -> impl FnOnce(std::io::Error) -> RunError {
    let path = path.to_path_buf();
    move |source| RunError::Output { path, source }
}

/// Removes what an earlier run left in `out_dir`, so no earlier "finished"
/// summary passes for this run's.
pub(super) fn remove_earlier(out_dir: &Path) -> Result<(), RunError> {
    for name in OUTPUT_FILES {
        let path = out_dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(RunError::Output { path, source: e }),
            _ => {}
        }
    }
    Ok(())
}

/// Makes `out_dir` and the trace the engine writes into it (no file at level `off`).
pub(super) fn create_trace(out_dir: &Path, level: TraceLevel) -> Result<Trace, RunError> {
    std::fs::create_dir_all(out_dir).map_err(output_error(out_dir))?;
    let trace_path = out_dir.join("trace.jsonl");
    let sink = if level == TraceLevel::Off {
        None
    } else {
        let file = AtomicFile::create(&trace_path).map_err(output_error(&trace_path))?;
        Some(Box::new(file) as Box<dyn TraceSink>)
    };
    Ok(Trace::new(level, sink))
}

/// Writes every output but the trace's lines (committed here) from what the
/// engine counted and the run's summary.
pub(super) fn write(
    out_dir: &Path,
    scenario: &ResolvedScenario,
    placement: &Placement,
    outcome: &mut Outcome,
    summary: &RunSummary,
    report_page: bool,
) -> Result<(), RunError> {
    let metrics_path = out_dir.join("metrics.csv");
    write_atomic(&metrics_path, metrics_csv(scenario, placement, outcome).as_bytes())
        .map_err(output_error(&metrics_path))?;
    let usage_path = out_dir.join("usage.csv");
    write_atomic(&usage_path, usage_csv(scenario, placement, outcome, summary).as_bytes())
        .map_err(output_error(&usage_path))?;
    let trace_path = out_dir.join("trace.jsonl");
    outcome.commit_trace().map_err(output_error(&trace_path))?;
    let series = outcome.series(scenario, placement);
    let series_path = out_dir.join("series.json");
    let mut series_json = serde_json::to_string(&series).expect("series serialise");
    series_json.push('\n');
    write_atomic(&series_path, series_json.as_bytes()).map_err(output_error(&series_path))?;
    let summary_path = out_dir.join("summary.json");
    let mut summary_json = serde_json::to_string_pretty(summary).expect("summaries serialise");
    summary_json.push('\n');
    write_atomic(&summary_path, summary_json.as_bytes()).map_err(output_error(&summary_path))?;
    if report_page {
        // Drawn from the files' contents, as `xedgesim report` redraws it.
        let summary: serde_json::Value = serde_json::from_str(&summary_json).expect("a summary just written parses");
        let report_path = out_dir.join("report.html");
        write_atomic(&report_path, crate::report::run_page(&summary, &series).as_bytes())
            .map_err(output_error(&report_path))?;
    }
    Ok(())
}

/// `usage.csv`: what running each node cost, as its runtime measured it,
/// for a node with `cpu:` the virtual time its steps computed, and for a
/// container the round trip of its engine (`summary.json` names the engine).
fn usage_csv(scenario: &ResolvedScenario, placement: &Placement, outcome: &Outcome, summary: &RunSummary) -> String {
    let mut csv = String::from("node,metric,value\n");
    let engine_round_trip_us: std::collections::BTreeMap<&str, u64> = summary
        .engines
        .values()
        .filter_map(|e| Some((e, e.round_trip_us?)))
        .flat_map(|(e, us)| e.nodes.iter().map(move |n| (n.as_str(), us)))
        .collect();
    for (node, n) in scenario.nodes.iter().enumerate() {
        if let Some(us) = engine_round_trip_us.get(n.id.as_str()) {
            csv.push_str(&format!("{},engine_round_trip_us,{us}\n", csv_field(&n.id)));
        }
        for (name, value) in placement.usage(scenario, node).measured() {
            csv.push_str(&format!("{},{name},{value}\n", csv_field(&n.id)));
        }
        if let Some(compute_us) = outcome.compute_us.get(node).copied().flatten() {
            csv.push_str(&format!("{},compute_us,{compute_us}\n", csv_field(&n.id)));
        }
    }
    csv
}

/// `metrics.csv`: each node's engine counts (`host`), then its model's final metrics.
fn metrics_csv(scenario: &ResolvedScenario, placement: &Placement, outcome: &Outcome) -> String {
    let mut csv = String::from("node,source,metric,value\n");
    for (node, model_metrics) in outcome.node_metrics.iter().enumerate() {
        let id = csv_field(&scenario.nodes[node].id);
        for (name, value) in outcome.host_metrics(node, placement) {
            csv.push_str(&format!("{id},host,{name},{value}\n"));
        }
        for m in model_metrics.iter() {
            csv.push_str(&format!("{id},model,{},{}\n", csv_field(&m.name), m.value));
        }
    }
    csv
}

/// A field of `metrics.csv`, quoted per RFC 4180 when it holds a comma, a
/// quote, or a line break of either kind (a bare `\r` ends a row for many
/// readers too).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_per_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        for (raw, quoted) in
            [("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("a\nb", "\"a\nb\""), ("a\rb", "\"a\rb\"")]
        {
            assert_eq!(csv_field(raw), quoted);
        }
    }
}
