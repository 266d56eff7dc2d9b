//! Reading a sweep folder: its plan, and where each point stands with the
//! numbers its run left (`summary.json` and `metrics.csv`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::csv;
use super::{CollectError, Metric, PointRow, Table};
use crate::sweep::layout::{
    PLAN_FILE, PointEntry, PointFailure, PointStatus, SummaryCheck, SweepPlan, check_summary, point_folder,
    read_failure, read_no_follow,
};
use crate::sweep::plan::{PlanFileError, read_file};
use crate::text::{escape_controls, truncate};

/// A run's metrics file, one row per node and metric.
const METRICS_FILE: &str = "metrics.csv";

/// Top-level keys of `summary.json` that are not results of the run: its
/// inputs (`seed`, `overrides`), wall-clock figures (any `wall_*`, at any depth), the
/// per-type model totals (every node's metric is a column of its own, from
/// `metrics.csv`) and what a recording cost.
const NOT_RESULTS: [&str; 5] = ["seed", "overrides", "model_metrics", "recording", "replayed"];

/// The plan in `dir`, or why `dir` is not a sweep folder (or not one
/// this xedgesim reads: [`crate::sweep::plan::read_file`]).
pub fn plan(dir: &Path) -> Result<SweepPlan, CollectError> {
    let path = dir.join(PLAN_FILE);
    read_file(dir).map_err(|e| match e {
        PlanFileError::Missing => CollectError::NotASweep { dir: dir.to_path_buf() },
        PlanFileError::Io(source) => CollectError::Read { path, source },
        PlanFileError::Bad(problem) => CollectError::BadPlan { path, problem },
    })
}

/// Every point of `plan` as its folder in `dir` shows it, with the union of
/// their metrics: the summary's first, then the nodes', each in the order
/// the points first report them.
pub fn table(dir: &Path, plan: &SweepPlan) -> Table {
    let mut metrics: Vec<Metric> = Vec::new();
    let mut column: BTreeMap<Metric, usize> = BTreeMap::new();
    let mut read = Vec::new();
    for entry in &plan.points {
        let (status, note, numbers) = point(dir, plan, entry);
        for (metric, _) in &numbers {
            if !column.contains_key(metric) {
                column.insert(metric.clone(), usize::MAX);
                metrics.push(metric.clone());
            }
        }
        read.push((entry.clone(), status, note, numbers));
    }
    // Summary metrics before node metrics, each kind in first-seen order.
    metrics.sort_by_key(|m| m.of_node);
    for (i, metric) in metrics.iter().enumerate() {
        column.insert(metric.clone(), i);
    }
    // A node's metric named as a summary number (node `messages`, metric
    // `sent`) keeps a column of its own, under a name that says whose.
    let summary_names: std::collections::BTreeSet<String> =
        metrics.iter().filter(|m| !m.of_node).map(|m| m.name.clone()).collect();
    let shown: Vec<Metric> = metrics
        .iter()
        .map(|m| match m.of_node && summary_names.contains(&m.name) {
            true => Metric { of_node: true, name: format!("{} (node)", m.name) },
            false => m.clone(),
        })
        .collect();
    let rows = read
        .into_iter()
        .map(|(entry, status, note, numbers)| {
            let mut values = vec![None; metrics.len()];
            for (metric, value) in numbers {
                values[column[&metric]] = Some(value);
            }
            PointRow { entry, status, note, values }
        })
        .collect();
    Table { parameters: plan.parameters.clone(), metrics: shown, rows }
}

/// Where point `entry` in `dir` stands, a note on it (a failure's first
/// line, a file that could not be read) and its numbers if it finished.
fn point(dir: &Path, plan: &SweepPlan, entry: &PointEntry) -> (PointStatus, Option<String>, Vec<(Metric, f64)>) {
    let folder = match point_folder(dir, entry.index) {
        Ok(folder) => folder,
        Err(problem) => return failed(PointFailure { exit_code: 2, error: problem }),
    };
    let failure = read_failure(&folder);
    match check_summary(&folder, plan, entry) {
        SummaryCheck::Finished(summary) => {
            let mut numbers = Vec::new();
            flatten(&summary, "", &mut numbers);
            let note = node_metrics(&folder, &mut numbers).err().map(|e| truncate(&e, MAX_NOTE_BYTES));
            (PointStatus::Finished, note, numbers)
        }
        // A summary that is not this point's finished run: failed, with the
        // point's own account of it when there is one.
        SummaryCheck::NotThis(problem) => failed(failure.unwrap_or(PointFailure { exit_code: 1, error: problem })),
        SummaryCheck::Absent => match failure {
            Some(failure) => failed(failure),
            None => (PointStatus::Missing, None, Vec::new()),
        },
    }
}

/// Most bytes of a note: a failure's first line, which a hostile model's
/// words may make as long as they like (`failed.json` keeps all of it).
const MAX_NOTE_BYTES: usize = 500;

fn failed(failure: PointFailure) -> (PointStatus, Option<String>, Vec<(Metric, f64)>) {
    let first = failure.error.lines().find(|l| !l.trim().is_empty()).unwrap_or("(no error text)").trim();
    let note = truncate(&escape_controls(first), MAX_NOTE_BYTES);
    (PointStatus::Failed(failure), Some(note), Vec::new())
}

/// The numbers of a summary, named by their paths (`messages.delivered`):
/// JSON numbers and the names `summary.json` writes for NaN and infinities.
fn flatten(value: &Value, path: &str, out: &mut Vec<(Metric, f64)>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let top = path.is_empty();
                if key.starts_with("wall_") || (top && NOT_RESULTS.contains(&key.as_str())) {
                    continue;
                }
                let name = if top { key.clone() } else { format!("{path}.{key}") };
                flatten(value, &name, out);
            }
        }
        Value::Number(n) => out.extend(n.as_f64().map(|v| (Metric::summary(path), v))),
        Value::String(s) if matches!(s.as_str(), "NaN" | "inf" | "-inf") => {
            out.push((Metric::summary(path), s.parse().expect("NaN and infinities parse")))
        }
        _ => {}
    }
}

/// Every node's metrics from the point's `metrics.csv`: the model's as
/// `NODE.metric`, the host's counts as `NODE.host.metric` (as `RunSummary`
/// names them). A file that cannot be read whole says so.
fn node_metrics(folder: &Path, out: &mut Vec<(Metric, f64)>) -> Result<(), String> {
    let text = read_no_follow(&folder.join(METRICS_FILE)).map_err(|e| format!("cannot read {METRICS_FILE}: {e}"))?;
    for (line, record) in csv::records(&text).into_iter().enumerate().skip(1) {
        let [node, source, metric, value] = record.as_slice() else {
            return Err(format!("{METRICS_FILE} record {}: expected node,source,metric,value", line + 1));
        };
        let value: f64 =
            value.parse().map_err(|_| format!("{METRICS_FILE} record {}: {value:?} is not a number", line + 1))?;
        let name = if source == "host" { format!("{node}.host.{metric}") } else { format!("{node}.{metric}") };
        out.push((Metric::node(&name), value));
    }
    Ok(())
}
