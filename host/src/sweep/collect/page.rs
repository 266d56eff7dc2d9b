//! `report.html` of a sweep: one self-contained page (inline SVG, no
//! network, no files of its own) with every point's status, failed and
//! missing ones first, then each metric that varies plotted against each
//! swept parameter: the mean over the finished points with that value and
//! its 95% interval as a whisker.
//!
//! Plots are kept to a number a person reads: the summary's metrics that
//! vary are always plotted; the nodes' metrics that vary too when the page
//! stays within [`MAX_PLOTS`], else they are a table of means and
//! intervals. Metrics that are the same at every finished point are one
//! table, not flat lines.

use std::fmt::Write;

use serde_json::Value;

use super::stats::{Interval, ParameterGroup, PointGroup};
use super::tables::value_text;
use super::{Table, status_name};
use crate::report::html::{self, SORT_SCRIPT, STYLE, figure};
use crate::report::plot::{Mean, MeansAxis, means};
use crate::sweep::layout::PointStatus;

/// `s` as page text: HTML-escaped, and its control characters written as
/// visible escapes (a hand-made failed.json may hold any).
fn escape(s: &str) -> String {
    html::escape(&crate::text::escape_controls(s))
}

/// Most plots on one page with the nodes' metrics among them.
pub const MAX_PLOTS: usize = 60;

/// A number as the page shows it: whole numbers whole, others to 4 decimals
/// (the tables keep every digit).
fn shown(value: f64) -> String {
    if value.is_finite() && value == value.trunc() && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if value.is_finite() {
        format!("{value:.4}")
    } else {
        value.to_string()
    }
}

fn interval_text(i: &Interval) -> [String; 3] {
    let mean = i.mean.map(shown).unwrap_or_default();
    let range = match (i.low, i.high) {
        (Some(low), Some(high)) => format!("[{}, {}]", shown(low), shown(high)),
        _ => String::new(),
    };
    [i.n.to_string(), mean, range]
}

/// Each metric: `Some(value)` when every finished point that reports it
/// has that same value (a node that reported nothing at some points does
/// not make a flat line a varying one).
fn constants(table: &Table) -> Vec<Option<f64>> {
    let finished: Vec<_> = table.rows.iter().filter(|r| r.status == PointStatus::Finished).collect();
    (0..table.metrics.len())
        .map(|m| {
            let mut reported = finished.iter().filter_map(|r| r.values[m]);
            let first = reported.next()?;
            reported.all(|v| v.to_bits() == first.to_bits()).then_some(first)
        })
        .collect()
}

/// The whole page; `title` names the scenario (its file name, not a path).
pub fn page(title: &str, table: &Table, by_parameter: &[ParameterGroup], by_point: &[PointGroup]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sweep of {}</title>\n{STYLE}</head><body>\n",
        escape(title)
    );
    let _ = writeln!(out, "<h1>Sweep of <code>{}</code></h1>", escape(title));
    let counts = super::Counts::of(table);
    let _ = writeln!(
        out,
        "<p>{} points: {} finished, {} failed, {} missing. Swept: {}.</p>",
        counts.points,
        counts.finished,
        counts.failed,
        counts.missing,
        if table.parameters.is_empty() {
            "the seed only".to_string()
        } else {
            table.parameters.iter().map(|p| format!("<code>{}</code>", escape(p))).collect::<Vec<_>>().join(", ")
        }
    );
    points_section(&mut out, table);
    metrics_section(&mut out, table, by_parameter, by_point);
    out.push_str(SORT_SCRIPT);
    out.push_str("\n</body></html>\n");
    out
}

fn point_cells(table: &Table, row: &super::PointRow) -> Vec<String> {
    let status = status_name(&row.status);
    let mut cells = vec![row.entry.index.to_string(), row.entry.seed.to_string()];
    cells.extend(table.parameters.iter().map(|p| escape(&value_text(super::stats::value_of(row, p)))));
    cells.push(format!("<span class=\"status-{status}\">{status}</span>"));
    cells.push(escape(row.note.as_deref().unwrap_or_default()));
    cells
}

fn points_section(out: &mut String, table: &Table) {
    let mut header = vec!["point", "seed"];
    header.extend(table.parameters.iter().map(String::as_str));
    header.extend(["status", "note"]);
    out.push_str("<h2 id=\"points\">Points</h2>\n");
    let unfinished: Vec<Vec<String>> =
        table.rows.iter().filter(|r| r.status != PointStatus::Finished).map(|r| point_cells(table, r)).collect();
    if unfinished.is_empty() {
        out.push_str("<p>Every point finished.</p>\n");
    } else {
        let _ = writeln!(
            out,
            "<p>Not finished ({}): their metrics are left out of every mean below; run the sweep again to \
             resume the missing ones.</p>",
            unfinished.len()
        );
        html::table(out, "unfinished", true, &header, &unfinished);
    }
    out.push_str("<p class=\"note\">Every point (the metrics are in <code>points.csv</code>):</p>\n");
    let all: Vec<Vec<String>> = table.rows.iter().map(|r| point_cells(table, r)).collect();
    html::table(out, "all-points", true, &header, &all);
}

fn metrics_section(out: &mut String, table: &Table, by_parameter: &[ParameterGroup], by_point: &[PointGroup]) {
    out.push_str("<h2 id=\"metrics\">Metrics</h2>\n");
    let constants = constants(table);
    let varying: Vec<usize> = (0..table.metrics.len()).filter(|&m| constants[m].is_none()).collect();
    if table.parameters.is_empty() {
        out.push_str("<p>Over the seeds: the mean of every finished point, with its 95% interval.</p>\n");
        let rows: Vec<Vec<String>> = varying
            .iter()
            .filter_map(|&m| by_point.first().map(|g| (m, g)))
            .map(|(m, g)| {
                let mut cells = vec![escape(&table.metrics[m].name)];
                cells.extend(interval_text(&g.intervals[m]));
                cells
            })
            .collect();
        html::table(out, "over-seeds", true, &["metric", "n", "mean", "95% interval"], &rows);
    } else {
        let summary: Vec<usize> = varying.iter().copied().filter(|&m| !table.metrics[m].of_node).collect();
        let plotted: Vec<usize> =
            if varying.len() * table.parameters.len() <= MAX_PLOTS { varying.clone() } else { summary };
        let _ = writeln!(
            out,
            "<p>Each metric that varies, against each swept parameter: the mean over the finished points with \
             that value (over the other parameters and the seeds), its 95% interval (Student's t) as a whisker. \
             {} plots.</p>",
            plotted.len() * table.parameters.len()
        );
        for &m in &plotted {
            let name = &table.metrics[m].name;
            let _ = writeln!(out, "<h3>{}</h3>", escape(name));
            for (p, path) in table.parameters.iter().enumerate() {
                let groups: Vec<&ParameterGroup> = by_parameter.iter().filter(|g| g.parameter == p).collect();
                let svg = plot(path, name, &groups, m);
                figure(out, &format!("plot-{p}-{m}"), &svg, &format!("{name} against {path}"));
            }
        }
        let rest: Vec<Vec<String>> = varying
            .iter()
            .filter(|m| !plotted.contains(m))
            .flat_map(|&m| {
                by_parameter.iter().map(move |g| {
                    let mut cells = vec![
                        escape(&table.metrics[m].name),
                        escape(&table.parameters[g.parameter]),
                        escape(&value_text(&g.value)),
                    ];
                    cells.extend(interval_text(&g.intervals[m]));
                    cells
                })
            })
            .collect();
        if !rest.is_empty() {
            let _ = writeln!(
                out,
                "<h3>Not plotted</h3>\n<p>The nodes' metrics that vary, past {MAX_PLOTS} plots: means and 95% \
                 intervals by parameter value (also in <code>by_parameter.csv</code>).</p>"
            );
            html::table(
                out,
                "not-plotted",
                true,
                &["metric", "parameter", "value", "n", "mean", "95% interval"],
                &rest,
            );
        }
    }
    let same: Vec<Vec<String>> = constants
        .iter()
        .enumerate()
        .filter_map(|(m, c)| c.map(|c| vec![escape(&table.metrics[m].name), shown(c)]))
        .collect();
    if !same.is_empty() {
        out.push_str("<h3>The same at every finished point</h3>\n");
        html::table(out, "constant", true, &["metric", "value"], &same);
    }
}

/// Metric `m`'s means against one parameter's values (`groups`, plan
/// order): a numeric axis when every value is a number.
fn plot(path: &str, name: &str, groups: &[&ParameterGroup], m: usize) -> String {
    let means_at: Vec<Option<Mean>> = groups
        .iter()
        .map(|g| {
            let i = &g.intervals[m];
            i.mean.map(|mean| Mean { mean, low: i.low.unwrap_or(mean), high: i.high.unwrap_or(mean) })
        })
        .collect();
    let numbers: Option<Vec<f64>> = groups.iter().map(|g| g.value.as_f64()).collect();
    match numbers {
        Some(xs) => means(path, name, MeansAxis::Numbers(&xs), &means_at),
        None => {
            let labels: Vec<String> = groups.iter().map(|g| value_label(&g.value)).collect();
            means(path, name, MeansAxis::Labels(&labels), &means_at)
        }
    }
}

fn value_label(value: &Value) -> String {
    match value {
        Value::Null => "(none)".to_string(),
        v => value_text(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::collect::{Metric, PointRow};
    use crate::sweep::layout::PointEntry;

    #[test]
    fn a_metric_with_one_value_wherever_it_is_reported_is_constant() {
        let row = |values: Vec<Option<f64>>| PointRow {
            entry: PointEntry { index: 0, seed: 1, values: Default::default() },
            status: PointStatus::Finished,
            note: None,
            values,
        };
        let metric = |name: &str| Metric { of_node: true, name: name.into() };
        let table = Table {
            parameters: Vec::new(),
            metrics: vec![metric("zero"), metric("varies")],
            rows: vec![row(vec![Some(0.0), Some(1.0)]), row(vec![None, Some(2.0)]), row(vec![Some(0.0), None])],
        };
        assert_eq!(constants(&table), [Some(0.0), None]);
    }
}
