//! The run options a recording's header holds ([`RecordedOptions`]),
//! written from a run's [`RunOptions`] and read back checked: a replay runs
//! with them, so a header that was edited or forged (a run of `u64::MAX`
//! µs, a queue bound of 0, a packing this build does not know) is refused
//! with the field named, as the scenario's own bounds refuse a file.

use std::path::Path;

use super::error::PrepareError;
use super::options::{RunOptions, SandboxMode};
use crate::engine::TraceLevel;
use crate::runtime::record::RecordingHeader;
use crate::scenario::{MAX_DURATION_S, duration_us};

/// The options of the recorded run that decide its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedOptions {
    pub seed: u64,
    pub duration_us: u64,
    pub trace_level: TraceLevel,
    pub fault_free: bool,
    pub max_queued_payload_bytes: u64,
    pub sandbox: SandboxMode,
    pub native: bool,
}

impl RecordedOptions {
    /// The header's options, each within the bounds a run has; `recording`
    /// names the file in the error.
    pub fn of(header: &RecordingHeader, recording: &Path) -> Result<Self, PrepareError> {
        let bad = |field: &'static str, found: String, expected: String| PrepareError::BadRecordingHeader {
            recording: recording.to_path_buf(),
            field,
            found,
            expected,
        };
        let max_duration_us = duration_us(MAX_DURATION_S).expect("the maximum is valid");
        if header.duration_us == 0 || header.duration_us > max_duration_us {
            let expected = format!("1 ..= {max_duration_us} (a year)");
            return Err(bad("duration_us", header.duration_us.to_string(), expected));
        }
        if header.max_queued_payload_bytes == 0 {
            return Err(bad("max_queued_payload_bytes", "0".into(), "at least 1".into()));
        }
        let trace_level = trace_level_named(&header.trace_level)
            .ok_or_else(|| bad("trace_level", format!("'{}'", header.trace_level), "off, messages or all".into()))?;
        let sandbox = sandbox_named(&header.sandbox)
            .ok_or_else(|| bad("sandbox", format!("'{}'", header.sandbox), "per-node or shared:N, N ≥ 1".into()))?;
        let sha = &header.scenario_sha256;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(bad("scenario_sha256", format!("'{sha}'"), "64 lowercase hex digits".into()));
        }
        Ok(RecordedOptions {
            seed: header.seed,
            duration_us: header.duration_us,
            trace_level,
            fault_free: header.fault_free,
            max_queued_payload_bytes: header.max_queued_payload_bytes,
            sandbox,
            native: header.native,
        })
    }

    /// `options` as the recorded run had them.
    pub fn apply(&self, options: &mut RunOptions) {
        options.seed = self.seed;
        options.duration_us = self.duration_us;
        options.trace_level = self.trace_level;
        options.fault_free = self.fault_free;
        options.max_queued_payload_bytes = self.max_queued_payload_bytes;
        options.sandbox = self.sandbox;
        options.native = self.native;
    }
}

/// The name of a trace level in a recording's header.
pub(super) fn trace_level_name(level: TraceLevel) -> &'static str {
    match level {
        TraceLevel::Off => "off",
        TraceLevel::Messages => "messages",
        TraceLevel::All => "all",
    }
}

/// The trace level a header names.
fn trace_level_named(name: &str) -> Option<TraceLevel> {
    [TraceLevel::Off, TraceLevel::Messages, TraceLevel::All].into_iter().find(|l| trace_level_name(*l) == name)
}

/// The packing a header names: [`SandboxMode`]'s own spelling.
fn sandbox_named(name: &str) -> Option<SandboxMode> {
    match name.strip_prefix("shared:") {
        None => (name == "per-node").then_some(SandboxMode::PerNode),
        Some(n) => match n.parse::<usize>() {
            Ok(nodes_per_instance) if nodes_per_instance >= 1 && n == nodes_per_instance.to_string() => {
                Some(SandboxMode::Shared { nodes_per_instance })
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn header() -> RecordingHeader {
        RecordingHeader {
            format: 1,
            xedgesim_version: "0.0.0-test".into(),
            scenario_path: "/tmp/s.yaml".into(),
            scenario_path_from_recording: None,
            scenario_sha256: "ab".repeat(32),
            seed: 7,
            duration_us: 5_000_000,
            trace_level: "all".into(),
            fault_free: true,
            max_queued_payload_bytes: 1 << 20,
            sandbox: "shared:3".into(),
            native: false,
            nodes: BTreeMap::new(),
        }
    }

    #[test]
    fn a_headers_options_are_read_back_as_written() {
        let read = RecordedOptions::of(&header(), Path::new("r.xrec")).unwrap();
        assert_eq!(read.sandbox, SandboxMode::Shared { nodes_per_instance: 3 });
        assert_eq!((read.seed, read.duration_us, read.trace_level), (7, 5_000_000, TraceLevel::All));
        let mut options = RunOptions::new(1, 1);
        read.apply(&mut options);
        assert_eq!(
            (options.sandbox, options.fault_free, options.max_queued_payload_bytes),
            (read.sandbox, true, 1 << 20)
        );
        for mode in [SandboxMode::PerNode, SandboxMode::Shared { nodes_per_instance: 1_000 }] {
            assert_eq!(sandbox_named(&mode.to_string()), Some(mode), "{mode}");
        }
    }

    #[test]
    fn a_header_field_out_of_bounds_is_named_with_the_file() {
        type Edit = fn(&mut RecordingHeader);
        let cases: [(&str, Edit); 8] = [
            ("duration_us", |h| h.duration_us = 0),
            ("duration_us", |h| h.duration_us = u64::MAX),
            ("max_queued_payload_bytes", |h| h.max_queued_payload_bytes = 0),
            ("trace_level", |h| h.trace_level = "verbose".into()),
            ("sandbox", |h| h.sandbox = "shared:0".into()),
            ("sandbox", |h| h.sandbox = "shared:+3".into()),
            ("sandbox", |h| h.sandbox = "shared".into()),
            ("scenario_sha256", |h| h.scenario_sha256 = "../etc".into()),
        ];
        for (field, edit) in cases {
            let mut h = header();
            edit(&mut h);
            let e = RecordedOptions::of(&h, Path::new("runs/x/recording.xrec")).unwrap_err().to_string();
            assert!(e.starts_with("runs/x/recording.xrec: the header's "), "{e}");
            assert!(e.contains(&format!("`{field}`")) && e.contains("record again"), "{e}");
        }
    }
}
