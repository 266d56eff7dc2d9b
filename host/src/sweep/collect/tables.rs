//! The tables as files: `points`, `by_parameter` and `by_point`, each as
//! CSV and JSON. Numbers are written in Rust's shortest form that reads
//! back the same (`f64`'s `Display`, and JSON's own), NaN and infinities
//! as `NaN`, `inf`, `-inf` (strings in JSON); nothing depends on the
//! folder or the machine, so the same points give the same bytes.

use serde_json::{Map, Value, json};

use super::stats::{Interval, ParameterGroup, PointGroup};
use super::{Table, csv, status_name};

/// A number as a CSV cell, reading back as the same number: plain, or in
/// exponent form from 1e16 up and below 1e-4 (`1e308`, not 309 digits).
fn number(value: f64) -> String {
    let magnitude = value.abs();
    if value.is_finite() && (magnitude >= 1e16 || (magnitude != 0.0 && magnitude < 1e-4)) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// A number as JSON: JSON has no NaN or infinity, so those are names.
fn json_number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or_else(|| Value::String(value.to_string()), Value::Number)
}

/// A parameter's value as a CSV cell: strings bare, null empty.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

fn optional(value: Option<f64>) -> String {
    value.map(number).unwrap_or_default()
}

fn json_optional(value: Option<f64>) -> Value {
    value.map_or(Value::Null, json_number)
}

/// The JSON text of `value`, pretty, ending in a line break.
fn json_text(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    text.push('\n');
    text
}

/// `points.csv`: index, seed, each parameter, status, every metric, note.
pub fn points_csv(table: &Table) -> String {
    let mut header = vec!["index".to_string(), "seed".to_string()];
    header.extend(table.parameters.iter().cloned());
    header.push("status".to_string());
    header.extend(table.metrics.iter().map(|m| m.name.clone()));
    header.push("note".to_string());
    let mut out = csv::line(&header);
    for row in &table.rows {
        let mut cells = vec![row.entry.index.to_string(), row.entry.seed.to_string()];
        cells.extend(table.parameters.iter().map(|p| value_text(super::stats::value_of(row, p))));
        cells.push(status_name(&row.status).to_string());
        cells.extend(row.values.iter().map(|v| optional(*v)));
        cells.push(row.note.clone().unwrap_or_default());
        out.push_str(&csv::line(&cells));
    }
    out
}

/// `points.json`: the parameters and metrics in column order, then each point.
pub fn points_json(table: &Table) -> String {
    let points: Vec<Value> = table
        .rows
        .iter()
        .map(|row| {
            let values: Map<String, Value> =
                table.parameters.iter().map(|p| (p.clone(), super::stats::value_of(row, p).clone())).collect();
            let metrics: Map<String, Value> =
                table.metrics.iter().zip(&row.values).map(|(m, v)| (m.name.clone(), json_optional(*v))).collect();
            json!({
                "index": row.entry.index,
                "seed": row.entry.seed,
                "values": values,
                "status": status_name(&row.status),
                "note": row.note,
                "metrics": metrics,
            })
        })
        .collect();
    let metrics: Vec<&str> = table.metrics.iter().map(|m| m.name.as_str()).collect();
    json_text(&json!({ "parameters": table.parameters, "metrics": metrics, "points": points }))
}

const INTERVAL_COLUMNS: [&str; 6] = ["metric", "n", "mean", "sd", "ci95_low", "ci95_high"];

fn interval_cells(metric: &str, i: &Interval) -> Vec<String> {
    vec![metric.to_string(), i.n.to_string(), optional(i.mean), optional(i.sd), optional(i.low), optional(i.high)]
}

fn interval_json(metric: &str, i: &Interval) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("metric".into(), metric.into());
    map.insert("n".into(), i.n.into());
    map.insert("mean".into(), json_optional(i.mean));
    map.insert("sd".into(), json_optional(i.sd));
    map.insert("ci95_low".into(), json_optional(i.low));
    map.insert("ci95_high".into(), json_optional(i.high));
    map
}

/// `by_parameter.csv`: parameter, value, then a metric's interval, a row each.
pub fn by_parameter_csv(table: &Table, groups: &[ParameterGroup]) -> String {
    let mut header = vec!["parameter", "value"];
    header.extend(INTERVAL_COLUMNS);
    let mut out = csv::line(&header);
    for group in groups {
        for (metric, interval) in table.metrics.iter().zip(&group.intervals) {
            let mut cells = vec![table.parameters[group.parameter].clone(), value_text(&group.value)];
            cells.extend(interval_cells(&metric.name, interval));
            out.push_str(&csv::line(&cells));
        }
    }
    out
}

pub fn by_parameter_json(table: &Table, groups: &[ParameterGroup]) -> String {
    let mut rows = Vec::new();
    for group in groups {
        for (metric, interval) in table.metrics.iter().zip(&group.intervals) {
            let mut row = interval_json(&metric.name, interval);
            row.insert("parameter".into(), table.parameters[group.parameter].clone().into());
            row.insert("value".into(), group.value.clone());
            rows.push(Value::Object(row));
        }
    }
    json_text(&json!({ "confidence": super::stats::CONFIDENCE, "rows": rows }))
}

/// `by_point.csv`: each parameter's value, then a metric's interval over the point's seeds.
pub fn by_point_csv(table: &Table, groups: &[PointGroup]) -> String {
    let mut header: Vec<&str> = table.parameters.iter().map(String::as_str).collect();
    header.extend(INTERVAL_COLUMNS);
    let mut out = csv::line(&header);
    for group in groups {
        for (metric, interval) in table.metrics.iter().zip(&group.intervals) {
            let mut cells: Vec<String> = group.values.iter().map(value_text).collect();
            cells.extend(interval_cells(&metric.name, interval));
            out.push_str(&csv::line(&cells));
        }
    }
    out
}

pub fn by_point_json(table: &Table, groups: &[PointGroup]) -> String {
    let mut rows = Vec::new();
    for group in groups {
        let values: Map<String, Value> = table.parameters.iter().cloned().zip(group.values.iter().cloned()).collect();
        for (metric, interval) in table.metrics.iter().zip(&group.intervals) {
            let mut row = interval_json(&metric.name, interval);
            row.insert("values".into(), Value::Object(values.clone()));
            rows.push(Value::Object(row));
        }
    }
    json_text(&json!({ "confidence": super::stats::CONFIDENCE, "rows": rows }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_written_in_its_shorter_form() {
        assert_eq!(number(1e308), "1e308");
        assert_eq!(number(1.797e308), "1.797e308");
        assert_eq!(number(3.605551275463989), "3.605551275463989");
        assert_eq!(number(20.0), "20");
        assert_eq!(number(1234567.0), "1234567");
        assert_eq!(number(1000.0), "1000");
        assert_eq!(number(0.001), "0.001");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(1e-7), "1e-7");
        for v in [1e308, 1.797e308, 1e-7, 123.456] {
            assert_eq!(number(v).parse::<f64>().unwrap(), v);
        }
    }
}
