//! `report.html`: one self-contained page per run, drawn from the run's
//! `summary.json` and `series.json` only (both bounded, whatever the run's
//! size), never from the trace. No network, no fonts, no external files;
//! plots are inline SVG; the one script sorts the node table.
//! `xedgesim report RUN_DIR` draws the same page from the same files.

mod comparison;
mod comparison_latency;
pub mod html;
pub mod plot;

pub use comparison::comparison_page;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine::Series;
use html::{count, escape, figure, micros, table};

/// Why a run's page could not be drawn from its folder.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}; is this a run's output folder? (it needs summary.json and series.json)")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a run's {what}: {source}")]
    Parse { path: PathBuf, what: &'static str, source: serde_json::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Redraws `report.html` in `run_dir` from its `summary.json` and
/// `series.json`; returns the page's path.
pub fn rebuild(run_dir: &Path) -> Result<PathBuf, ReportError> {
    let summary: Value = read_json(run_dir, "summary.json", "summary")?;
    let series = read_series(run_dir)?;
    let path = run_dir.join("report.html");
    crate::atomic_file::write_atomic(&path, run_page(&summary, &series).as_bytes())
        .map_err(|source| ReportError::Write { path: path.clone(), source })?;
    Ok(path)
}

/// A run folder's `series.json`.
pub fn read_series(run_dir: &Path) -> Result<Series, ReportError> {
    read_json(run_dir, "series.json", "series")
}

/// The JSON file `name` in `run_dir`, as a `what`.
fn read_json<T: serde::de::DeserializeOwned>(run_dir: &Path, name: &str, what: &'static str) -> Result<T, ReportError> {
    let path = run_dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|source| ReportError::Read { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|source| ReportError::Parse { path, what, source })
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn f(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(f64::NAN),
        v => v.as_f64().unwrap_or(f64::NAN),
    }
}

/// A JSON value as page text: strings bare, null empty.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// The command that runs this run again.
fn reproduce(summary: &Value) -> String {
    let mut cmd = format!(
        "xedgesim run {} --seed {}",
        crate::text::shell::quote(&text(&summary["scenario"])),
        u(&summary["seed"])
    );
    if let Some(overrides) = summary["overrides"].as_object() {
        for (path, value) in overrides {
            let _ = write!(cmd, " --set {}", crate::text::shell::quote(&format!("{path}={}", text(value))));
        }
    }
    let duration_s = f(&summary["virtual_duration_s"]);
    if duration_s.is_finite() {
        let _ = write!(cmd, " --duration-s {duration_s}");
    }
    let sandbox = text(&summary["sandbox"]);
    if !sandbox.is_empty() && sandbox != "per-node" {
        let _ = write!(cmd, " --sandbox {sandbox}");
    }
    if let Some(replayed) = summary["replayed"].as_object() {
        for (node, r) in replayed {
            let spec = format!("{node}={}", text(&r["recording"]));
            let _ = write!(cmd, " --replay {}", crate::text::shell::quote(&spec));
        }
        if replayed.values().any(|r| r["mode"] == "lenient") {
            cmd.push_str(" --replay-mode lenient");
        }
    }
    cmd
}

/// The page of one run.
pub fn run_page(summary: &Value, series: &Series) -> String {
    let mut out = String::new();
    let scenario = text(&summary["scenario"]);
    let status = text(&summary["status"]);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>xedgesim run: {}</title>{}</head><body>\n",
        escape(&scenario),
        html::STYLE
    );
    let _ = writeln!(
        out,
        "<h1>{} <span class=\"status-{}\">{}</span></h1>",
        escape(&scenario),
        escape(&status),
        escape(&status)
    );
    if let Some(reason) = summary["reason"].as_str() {
        let _ = writeln!(out, "<p>{}</p>", escape(reason));
    }
    let _ = writeln!(out, "<p>Run it again: <code id=\"reproduce\">{}</code></p>", escape(&reproduce(summary)));

    // --- Summary --------------------------------------------------------------------
    out.push_str("<h2>Summary</h2>\n");
    let m = &summary["messages"];
    let lat = &summary["message_latency_us"];
    let mut rows: Vec<Vec<String>> = vec![
        vec!["seed".into(), u(&summary["seed"]).to_string()],
        vec!["sandbox".into(), escape(&text(&summary["sandbox"]))],
        vec!["nodes".into(), count(u(&summary["nodes"]))],
        vec![
            "virtual time reached / asked".into(),
            format!("{} s / {} s", f(&summary["virtual_time_reached_s"]), f(&summary["virtual_duration_s"])),
        ],
        vec!["events".into(), count(u(&summary["events"]))],
        vec!["steps".into(), count(u(&summary["steps"]))],
        vec!["messages sent".into(), count(u(&m["sent"]))],
        vec!["delivered".into(), count(u(&m["delivered"]))],
        vec!["dropped".into(), count(u(&m["dropped"]))],
    ];
    if let Some(by) = m["dropped_by_reason"].as_object() {
        for (reason, n) in by {
            rows.push(vec![format!("&nbsp;&nbsp;dropped: {}", escape(reason)), count(u(n))]);
        }
    }
    rows.extend([
        vec!["in flight at the end".into(), count(u(&m["in_flight"]))],
        vec!["drop rate".into(), format!("{:.4}", f(&summary["drop_rate"]))],
        vec!["throughput".into(), format!("{:.1} messages per virtual second", f(&summary["throughput_msgs_per_s"]))],
        vec![
            "delivery latency p50 / p95 / p99 / max".into(),
            [&lat["p50"], &lat["p95"], &lat["p99"], &lat["max"]]
                .iter()
                .map(|v| micros(f(v)))
                .collect::<Vec<_>>()
                .join(" / "),
        ],
    ]);
    if let Some(e2e) = summary["end_to_end_latency_us"].as_object() {
        let parts: Vec<String> = e2e.iter().map(|(k, v)| format!("{} {}", escape(k), micros(f(v)))).collect();
        rows.push(vec!["end-to-end latency at the sinks (worst cloud)".into(), parts.join(", ")]);
    }
    rows.push(vec!["faults".into(), count(summary["faults"].as_array().map_or(0, Vec::len) as u64)]);
    rows.push(vec![
        "xedgesim / wasmtime / contract".into(),
        escape(&format!(
            "{} / {} / {}",
            text(&summary["versions"]["xedgesim"]),
            text(&summary["versions"]["wasmtime"]),
            text(&summary["versions"]["contract"])
        )),
    ]);
    rows.push(vec!["wall time".into(), format!("{:.3} s", f(&summary["wall_duration_s"]))]);
    // Absent from summaries written before it was measured apart.
    if let Some(prepare_s) = summary["wall_prepare_s"].as_f64() {
        rows.push(vec!["preparing (builds, compiling, containers)".into(), format!("{prepare_s:.3} s")]);
    }
    if let Some(recording) = summary["recording"].as_object() {
        let nodes: Vec<String> =
            recording["nodes"].as_array().map(|a| a.iter().map(|n| escape(&text(n))).collect()).unwrap_or_default();
        rows.push(vec![
            "recording".into(),
            format!(
                "{} ({} bytes, sha256 {}): {}",
                escape(&text(&recording["file"])),
                count(u(&recording["bytes"])),
                escape(&sha_prefix(&recording["sha256"])),
                nodes.join(", ")
            ),
        ]);
    }
    if let Some(replayed) = summary["replayed"].as_object() {
        let nodes: Vec<String> = replayed.keys().map(|n| escape(n)).collect();
        rows.push(vec!["replayed from recordings".into(), nodes.join(", ")]);
    }
    table(&mut out, "summary", false, &["", "value"], &rows);

    // --- Plots ------------------------------------------------------------------------
    let bin_s = series.bin_us as f64 / 1e6;
    let xs: Vec<f64> = (0..series.delivered.len()).map(|k| k as f64 * bin_s).collect();
    let per_interval = format!("messages per {}", micros(series.bin_us as f64));
    // Node faults and scripted ones alike are ticked.
    let faults: Vec<f64> = [&summary["faults"], &summary["scripted_faults"]["applied"]]
        .into_iter()
        .filter_map(|list| list.as_array())
        .flat_map(|a| a.iter().map(|f| u(&f["time_us"]) as f64 / 1e6))
        .collect();

    out.push_str("<h2>Delivery latency</h2>\n");
    let labels: Vec<String> = series.latency.iter().map(|b| micros(b.from_us as f64)).collect();
    let counts: Vec<u64> = series.latency.iter().map(|b| b.count).collect();
    figure(
        &mut out,
        "plot-latency",
        &plot::bars("latency (bucket from; buckets double)", "deliveries", &labels, &counts),
        "Sent to delivered, every delivery of the run; each bar covers a latency up to twice its start.",
    );

    out.push_str("<h2>Messages over virtual time</h2>\n");
    let over_time =
        |counts: &[u64]| -> Vec<(f64, f64)> { xs.iter().copied().zip(counts.iter().map(|&n| n as f64)).collect() };
    let mut lines =
        vec![("sent".to_string(), over_time(&series.sent)), ("delivered".to_string(), over_time(&series.delivered))];
    for (reason, counts) in &series.dropped_by_reason {
        lines.push((format!("dropped: {reason}"), over_time(counts)));
    }
    figure(
        &mut out,
        "plot-messages",
        &plot::lines("virtual time (s)", &per_interval, &lines, &faults),
        "Counted in intervals of the run's virtual time; red ticks mark faults.",
    );

    out.push_str("<h2>Steps over virtual time</h2>\n");
    let steps: Vec<(String, Vec<(f64, f64)>)> =
        series.steps.iter().map(|(name, v)| (name.clone(), over_time(v))).collect();
    let by = if series.node_count as usize <= crate::engine::MAX_STEP_LINES { "per node" } else { "per node type" };
    figure(
        &mut out,
        "plot-steps",
        &plot::lines("virtual time (s)", &format!("steps per {}", micros(series.bin_us as f64)), &steps, &faults),
        &format!("When nodes woke up or received messages, {by}; red ticks mark faults."),
    );

    // --- Faults -----------------------------------------------------------------------
    out.push_str("<h2>Faults</h2>\n");
    let all_faults = summary["faults"].as_array().cloned().unwrap_or_default();
    if all_faults.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        let rows: Vec<Vec<String>> = all_faults
            .iter()
            .take(MAX_FAULT_ROWS)
            .map(|f| {
                vec![
                    escape(&text(&f["node"])),
                    micros(u(&f["time_us"]) as f64),
                    escape(&text(&f["kind"])),
                    escape(&text(&f["message"])),
                ]
            })
            .collect();
        table(&mut out, "faults", false, &["node", "virtual time", "kind", "message"], &rows);
        if all_faults.len() > MAX_FAULT_ROWS {
            let _ = writeln!(
                out,
                "<p class=\"note\">{} more in summary.json.</p>",
                count((all_faults.len() - MAX_FAULT_ROWS) as u64)
            );
        }
    }

    scripted_faults(&mut out, &summary["scripted_faults"]);

    // --- Links ------------------------------------------------------------------------
    out.push_str("<h2>Links</h2>\n");
    let rows: Vec<Vec<String>> = series
        .links
        .iter()
        .map(|l| {
            let reasons: Vec<String> =
                l.dropped_by_reason.iter().map(|(r, n)| format!("{} {}", escape(r), count(*n))).collect();
            vec![
                escape(&l.src),
                escape(&l.dst),
                count(l.delivered),
                count(l.dropped),
                reasons.join(", "),
                count(l.bytes_delivered),
            ]
        })
        .collect();
    table(
        &mut out,
        "links",
        true,
        &["from", "to", "delivered", "dropped", "drops by reason", "bytes delivered"],
        &rows,
    );
    if series.link_count as usize > crate::engine::MAX_LINK_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">The {} busiest of {} links are listed; the last row sums the rest.</p>",
            crate::engine::MAX_LINK_ROWS,
            count(series.link_count)
        );
    }

    // --- Nodes ------------------------------------------------------------------------
    out.push_str("<h2>Nodes</h2>\n");
    let usage_keys: Vec<String> = {
        let mut keys: Vec<String> = series.node_types.iter().flat_map(|r| r.usage.keys().cloned()).collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let node_row = |r: &crate::engine::NodeRow| {
        let mut row = vec![
            format!("{}{}", escape(&r.id), replayed_mark(summary, &r.id)),
            escape(&r.kind),
            count(r.steps),
            count(r.messages_in),
            count(r.messages_out),
            count(r.bytes_in),
            count(r.bytes_out),
            count(r.dropped_out),
            count(r.faults),
        ];
        row.extend(usage_keys.iter().map(|k| r.usage.get(k).map_or(String::new(), |v| count(*v))));
        row
    };
    let mut header: Vec<&str> = vec![
        "node",
        "type",
        "steps",
        "messages in",
        "messages out",
        "bytes in",
        "bytes out",
        "dropped (sent)",
        "faults",
    ];
    header.extend(usage_keys.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = series.nodes.iter().map(node_row).collect();
    table(&mut out, "nodes", true, &header, &rows);
    if series.node_count as usize > series.nodes.len() {
        let _ = writeln!(
            out,
            "<p class=\"note\">The {} busiest of {} nodes are listed (faults first, then messages); every node is in the totals below and in metrics.csv.</p>",
            count(series.nodes.len() as u64),
            count(series.node_count)
        );
    }
    out.push_str("<h3>Totals by node type</h3>\n");
    let mut header_types = header.clone();
    header_types[0] = "nodes";
    let rows: Vec<Vec<String>> = series
        .node_types
        .iter()
        .map(|r| {
            let mut row = node_row(r);
            row[0] = count(r.nodes);
            row
        })
        .collect();
    table(&mut out, "node-types", true, &header_types, &rows);

    replayed_nodes(&mut out, &summary["replayed"]);
    out.push_str("<p class=\"note\">Usage columns (fuel, container round trips) are costs, not results: they depend on packing and the real clock.</p>\n");
    out.push_str(html::SORT_SCRIPT);
    out.push_str("\n</body></html>\n");
    out
}

/// The scenario's scripted faults, when it has any: what took effect, what
/// each kind lost, and what each sink saw.
fn scripted_faults(out: &mut String, scripted: &Value) {
    let Some(applied) = scripted["applied"].as_array() else { return };
    out.push_str("<h2>Scripted faults</h2>\n");
    let rows: Vec<Vec<String>> = applied
        .iter()
        .take(MAX_FAULT_ROWS)
        .map(|f| vec![micros(u(&f["time_us"]) as f64), escape(&text(&f["kind"])), escape(&text(&f["target"]))])
        .collect();
    table(out, "scripted-faults", false, &["virtual time", "kind", "target"], &rows);
    if let Some(lost) = scripted["messages_lost"].as_object() {
        let lost: Vec<String> = lost.iter().map(|(k, n)| format!("{} to {}", count(u(n)), escape(k))).collect();
        let _ =
            writeln!(out, "<p>Messages lost: {}.</p>", if lost.is_empty() { "none".into() } else { lost.join(", ") });
    }
    let Some(sinks) = scripted["sinks"].as_object() else { return };
    let rows: Vec<Vec<String>> = sinks
        .iter()
        .map(|(sink, s)| {
            let recovery: Vec<String> = s["recovery"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .map(|r| match r["recovery_us"].as_u64() {
                            Some(us) => format!("{} after {}", micros(us as f64), escape(&text(&r["after"]))),
                            None => format!("none after {}", escape(&text(&r["after"]))),
                        })
                        .collect()
                })
                .unwrap_or_default();
            vec![
                escape(sink),
                count(u(&s["deliveries"])),
                format!(
                    "{} ({} to {})",
                    micros(u(&s["longest_gap_us"]) as f64),
                    micros(u(&s["longest_gap_from_us"]) as f64),
                    micros(u(&s["longest_gap_until_us"]) as f64)
                ),
                recovery.join("; "),
            ]
        })
        .collect();
    table(out, "scripted-sinks", false, &["sink", "deliveries", "longest gap", "recovery"], &rows);
}

/// The first 12 hex digits of a SHA-256.
fn sha_prefix(sha256: &Value) -> String {
    text(sha256).chars().take(12).collect()
}

/// After a node's id: that it was answered from a recording, which, and
/// its hash (the recording's file name and the first 12 hex digits).
fn replayed_mark(summary: &Value, node: &str) -> String {
    let Some(r) = summary["replayed"].get(node) else { return String::new() };
    let recording = text(&r["recording"]);
    let file = Path::new(&recording).file_name().map_or(recording.clone(), |f| f.to_string_lossy().into_owned());
    format!(
        " <span class=\"replayed\">replayed from {} (sha256 {})</span>",
        escape(&file),
        escape(&sha_prefix(&r["sha256"]))
    )
}

/// Every replayed node, with its recording and how its calls matched it.
fn replayed_nodes(out: &mut String, replayed: &Value) {
    let Some(replayed) = replayed.as_object() else { return };
    out.push_str("<h3>Replayed nodes</h3>\n<p>Answered from a recording instead of run: their steps are the recorded ones.</p>\n");
    let rows: Vec<Vec<String>> = replayed
        .iter()
        .map(|(node, r)| {
            vec![
                escape(node),
                escape(&text(&r["recording"])),
                escape(&sha_prefix(&r["sha256"])),
                escape(&text(&r["mode"])),
                count(u(&r["calls"])),
                count(u(&r["inputs_differed"])),
                count(u(&r["calls_unrecorded"])),
                count(u(&r["recorded_unused"])),
            ]
        })
        .collect();
    let header =
        ["node", "recording", "sha256", "mode", "calls", "inputs differed", "calls unrecorded", "recorded unused"];
    table(out, "replayed", false, &header, &rows);
}

/// Most faults listed on the page; all are in `summary.json`.
const MAX_FAULT_ROWS: usize = 100;
