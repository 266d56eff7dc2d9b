//! Semantic checks on a parsed [`Scenario`]: every problem in the file is
//! reported, each pointing at the line of the thing it is about.
//!
//! One [`Checker`] collects the diagnostics; each section of the file is
//! checked by its own file here (`simulation`, `network`, `nodes`, whose
//! `wasm:`, `docker:` and `cpu:` sections have files of their own, `mqtt` for
//! `docker.mqtt:`, `equivalence`, `faults`), each adding `impl Checker`
//! methods. The checks read the file as written (`manifest`) and the
//! names, defaults and limits of the resolved form (`resolved`); nothing
//! here names `resolve`, which comes after.

mod cpu;
mod docker;
mod engines;
mod equivalence;
mod faults;
mod mqtt;
mod network;
mod nodes;
mod simulation;
mod sweep;
mod wasm;

use std::collections::BTreeMap;
use std::path::Path;

pub use cpu::resolved_cpu;
pub use docker::{is_named_volume, port_number};
pub use nodes::{DeclarationOf, ImplementationName, ModelName, builtin_config_keys, implementation_name};

use super::diagnostic::{Diagnostic, Diagnostics, Position};
use super::manifest::Scenario;
use super::parse::SpanMap;

/// Checks `scenario` (parsed from `file`, text `source`) and returns every
/// problem. Relative paths in it are checked against `base_dir`, the
/// scenario file's folder; `home_dir` is never a build context's.
pub fn validate(
    file: &Path,
    base_dir: &Path,
    home_dir: Option<&Path>,
    source: &str,
    spans: &SpanMap,
    origins: &[usize],
    scenario: &Scenario,
) -> Diagnostics {
    let mut checker = Checker::new(file, base_dir, home_dir, source, spans, origins);
    checker.simulation(scenario);
    checker.network(scenario);
    checker.nodes(scenario);
    checker.engines(scenario);
    // Once per file entry: a `count:` entry's nodes share its `docker:`.
    let mut seen = std::collections::BTreeSet::new();
    for (i, node) in scenario.nodes.iter().enumerate() {
        if let Some(docker) = &node.docker
            && seen.insert(origins.get(i).copied().unwrap_or(i))
        {
            checker.docker_engine(&format!("nodes[{i}].docker"), &node.id, docker, scenario);
        }
    }
    checker.equivalence(scenario);
    checker.faults(scenario);
    checker.sweep(scenario);
    if scenario.ml_inference.is_some() {
        checker.key_error(
            "ml_inference",
            None,
            "the `ml_inference:` section (xEdgeSim's ML placement experiments) is not supported",
            "remove it: the study runs with its containers as nodes that speak MQTT (`docker.protocol: mqtt`), as \
             scenarios/ml_inference_mqtt.yaml does (docs/container-protocol.md)",
        );
    }
    checker.into_diagnostics()
}

/// Checks each node's config against the declaration `declared` gives for
/// it (the components' own, read by the runtime after the file loaded).
pub fn validate_declared<'d>(
    file: &Path,
    source: &str,
    spans: &SpanMap,
    origins: &[usize],
    scenario: &Scenario,
    declared: DeclarationOf<'_, 'd>,
) -> Diagnostics {
    let mut checker = Checker::new(file, Path::new("/"), None, source, spans, origins);
    let ids: BTreeMap<&str, usize> = scenario.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    checker.declared_configs(scenario, &ids, declared);
    checker.into_diagnostics()
}

/// Most diagnostics reported for one file: past it they are counted, not
/// built (each quotes its line), so a file of repeated mistakes costs little.
pub const MAX_DIAGNOSTICS: usize = 100;

struct Checker<'a> {
    file: &'a Path,
    base_dir: &'a Path,
    /// The user's home folder, never searched for a build context.
    home_dir: Option<&'a Path>,
    source: &'a str,
    spans: &'a SpanMap,
    /// For each node, the index of the file entry it came from (`count`
    /// makes many nodes of one entry).
    origins: &'a [usize],
    found: Vec<Diagnostic>,
    unreported_errors: usize,
    unreported_warnings: usize,
}

impl<'a> Checker<'a> {
    fn new(
        file: &'a Path,
        base_dir: &'a Path,
        home_dir: Option<&'a Path>,
        source: &'a str,
        spans: &'a SpanMap,
        origins: &'a [usize],
    ) -> Self {
        Checker {
            file,
            base_dir,
            home_dir,
            source,
            spans,
            origins,
            found: Vec::new(),
            unreported_errors: 0,
            unreported_warnings: 0,
        }
    }
}

impl Checker<'_> {
    /// What was found, in file order, and a last line counting what was
    /// not shown past [`MAX_DIAGNOSTICS`].
    fn into_diagnostics(self) -> Diagnostics {
        let mut found = self.found;
        found.sort_by_key(|d| d.position);
        if self.unreported_errors + self.unreported_warnings > 0 {
            let more = self.unreported_errors + self.unreported_warnings;
            let message = format!("… and {more} more problems not shown ({} errors)", self.unreported_errors);
            let d = if self.unreported_errors > 0 {
                Diagnostic::error(self.file, message)
            } else {
                Diagnostic::warning(self.file, message)
            };
            found.push(d.help("fix the ones above first; the rest are often the same mistake"));
        }
        Diagnostics(found)
    }

    /// `path` as it is in the file: `nodes[K]` of a node made by `count`
    /// is the entry it was made from.
    fn in_file(&self, path: &str) -> String {
        if let Some(rest) = path.strip_prefix("nodes[")
            && let Some((index, tail)) = rest.split_once(']')
            && let Ok(k) = index.parse::<usize>()
            && let Some(&origin) = self.origins.get(k)
        {
            return format!("nodes[{origin}]{tail}");
        }
        path.to_string()
    }

    /// An error about the value at `path`.
    /// Whether the report is full; counts the diagnostic if so.
    fn full(&mut self, error: bool) -> bool {
        if self.found.len() < MAX_DIAGNOSTICS {
            return false;
        }
        if error {
            self.unreported_errors += 1;
        } else {
            self.unreported_warnings += 1;
        }
        true
    }

    fn error(&mut self, path: &str, node: Option<&str>, message: impl Into<String>, help: impl Into<String>) {
        if self.full(true) {
            return;
        }
        let span = self.spans.value_or_parent(&self.in_file(path));
        self.push(Diagnostic::error(self.file, message).help(help), span, node);
    }

    /// Adds `d`, placed at `span` when the file has one, about `node`.
    fn push(&mut self, mut d: Diagnostic, span: Option<(Position, usize)>, node: Option<&str>) {
        if let Some((pos, len)) = span {
            d = d.at(self.source, pos, len);
        }
        if let Some(id) = node {
            d = d.node(id);
        }
        self.found.push(d);
    }

    /// An error about the key at `path` (the key, not its value, is wrong).
    fn key_error(&mut self, path: &str, node: Option<&str>, message: impl Into<String>, help: impl Into<String>) {
        if self.full(true) {
            return;
        }
        let path = self.in_file(path);
        let span = self.spans.key(&path).or_else(|| self.spans.value_or_parent(&path));
        self.push(Diagnostic::error(self.file, message).help(help), span, node);
    }

    fn warning(&mut self, path: &str, message: impl Into<String>, help: impl Into<String>) {
        self.warning_about(path, None, message, help);
    }

    fn node_warning(&mut self, path: &str, node: &str, message: impl Into<String>, help: impl Into<String>) {
        self.warning_about(path, Some(node), message, help);
    }

    fn warning_about(&mut self, path: &str, node: Option<&str>, message: impl Into<String>, help: impl Into<String>) {
        if self.full(false) {
            return;
        }
        let span = self.spans.key(&self.in_file(path));
        self.push(Diagnostic::warning(self.file, message).help(help), span, node);
    }

    /// Checks that `dpath.key`, if given, is within `range`; `unit` says
    /// what the number counts and what omitting it means.
    fn in_range(
        &mut self,
        dpath: &str,
        id: &str,
        key: &str,
        value: Option<u64>,
        range: &std::ops::RangeInclusive<u64>,
        unit: &str,
    ) {
        if let Some(value) = value
            && !range.contains(&value)
        {
            self.error(
                &format!("{dpath}.{key}"),
                Some(id),
                format!("{key} is {value}; allowed {} ..= {}", range.start(), range.end()),
                unit.to_string(),
            );
        }
    }
}
