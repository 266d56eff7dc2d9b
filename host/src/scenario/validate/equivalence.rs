//! `equivalence:`: what `xedgesim equiv` compares when this file is side A.

use super::Checker;
use crate::scenario::manifest::Scenario;
use crate::scenario::margin::{MIN_TRIALS_FLOOR, Margin};
use crate::scenario::payload_tolerance::{PayloadTolerance, PayloadToleranceError};
use crate::scenario::resolved::PAYLOAD_MATCHES;
use crate::scenario::suggest;

impl Checker<'_> {
    pub(super) fn equivalence(&mut self, scenario: &Scenario) {
        let Some(e) = &scenario.equivalence else { return };
        if let Some(p) = &e.payloads
            && !PAYLOAD_MATCHES.contains(&p.as_str())
        {
            self.error(
                "equivalence.payloads",
                None,
                format!("payloads must be one of {}; found '{p}'", PAYLOAD_MATCHES.join(", ")),
                suggest::did_you_mean(p, PAYLOAD_MATCHES),
            );
        }
        if e.ignore_timing == Some(true) && e.time_tolerance_us.is_some() {
            self.key_error(
                "equivalence.time_tolerance_us",
                None,
                "`time_tolerance_us` with `ignore_timing: true`: arrival times are not compared",
                "remove one of the two",
            );
        }
        if e.json_tolerance.is_some() && e.payloads.as_deref() != Some("json") && e.payload_tolerance.is_empty() {
            self.key_error(
                "equivalence.json_tolerance",
                None,
                "`json_tolerance` without `payloads: json`",
                "add `payloads: json`; byte-for-byte payloads have no tolerance",
            );
        }
        if !e.payload_tolerance.is_empty() && e.payloads.as_deref() == Some("exact") {
            self.key_error(
                "equivalence.payload_tolerance",
                None,
                "`payload_tolerance` with `payloads: exact`: byte-for-byte payloads have no tolerance",
                "drop `payloads: exact` (a tolerance compares payloads as JSON)",
            );
        }
        for (field, entry) in &e.payload_tolerance {
            let path = format!("equivalence.payload_tolerance.{field}");
            if let Err(error) = PayloadTolerance::check_field(field) {
                self.key_error(&path, None, error.to_string(), "e.g. `prediction: {abs: 1e-6, rel: 1e-5}`");
                continue;
            }
            let bounds = [("abs", entry.abs), ("rel", entry.rel)];
            if bounds.iter().all(|(_, v)| v.is_none()) {
                self.error(&path, None, PayloadToleranceError::NoBound.to_string(), "e.g. `{abs: 1e-6, rel: 1e-5}`");
            }
            for (bound, value) in bounds {
                if let Some(v) = value
                    && !(v.is_finite() && v >= 0.0)
                {
                    self.error(
                        &format!("{path}.{bound}"),
                        None,
                        format!(
                            "payload_tolerance of '{field}': the {bound} tolerance must be a number >= 0; found {v}"
                        ),
                        "0 or omitted: that bound allows no difference",
                    );
                }
            }
        }
        for key in ["json_tolerance", "metric_tolerance"] {
            let value = if key == "json_tolerance" { e.json_tolerance } else { e.metric_tolerance };
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                self.error(
                    &format!("equivalence.{key}"),
                    None,
                    format!("{key} must be a number >= 0 (a fraction, e.g. 0.01 for 1 %); found {v}"),
                    "omit it for exact comparison",
                );
            }
        }
        let margins = e.margins.iter().map(|(k, v)| (format!("equivalence.margins.{k}"), v));
        for (path, value) in margins.chain(e.margin_default.iter().map(|v| ("equivalence.margin_default".into(), v))) {
            if let Err(error) = Margin::from_config(value) {
                self.error(&path, None, error.to_string(), "e.g. `latency_p50_us: 500` or `windows_closed: 5%`");
            }
        }
        if let Some(n) = e.min_trials
            && n < MIN_TRIALS_FLOOR
        {
            self.error(
                "equivalence.min_trials",
                None,
                format!("min_trials must be at least {MIN_TRIALS_FLOOR}; found {n}"),
                format!("omit it ({MIN_TRIALS_FLOOR} trials per side) or ask for more"),
            );
        }
        if let Some(ms) = e.deadline_ms
            && !(ms.is_finite() && ms > 0.0)
        {
            self.error(
                "equivalence.deadline_ms",
                None,
                format!("deadline_ms must be a number of milliseconds > 0; found {ms}"),
                "e.g. `deadline_ms: 50`, or omit it (no deadline)",
            );
        }
        let ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
        for (i, node) in e.latency_at.iter().enumerate() {
            if !ids.contains(&node.as_str()) {
                self.error(
                    &format!("equivalence.latency_at.{i}"),
                    None,
                    format!("no node '{node}' to measure latency at"),
                    suggest::did_you_mean(node, &ids),
                );
            }
        }
        for (i, node) in e.ignore_nodes.iter().enumerate() {
            if !ids.contains(&node.as_str()) {
                self.error(
                    &format!("equivalence.ignore_nodes.{i}"),
                    None,
                    format!("no node '{node}' to ignore"),
                    suggest::did_you_mean(node, &ids),
                );
            }
        }
    }
}
