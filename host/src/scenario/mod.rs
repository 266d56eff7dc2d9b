//! Scenario files: parse (the only module that touches YAML), validate,
//! resolve.
//!
//! [`Scenario`] is what the user wrote; [`ResolvedScenario`] is what the
//! runner consumes, with every default filled in and paths made absolute.
//! [`load`] goes from a path to a resolved scenario, reporting every
//! problem in the file as a [`Diagnostic`] with its line, node and fix.

mod build_context;
mod capability;
mod config_value;
mod declaration;
mod diagnostic;
mod duration;
mod error;
mod fault;
mod group;
mod manifest;
mod margin;
mod mqtt;
mod parse;
mod resolve;
mod resolved;
mod scripted_fault;
mod suggest;
mod validate;

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use capability::{ALLOW_WORDS, Allowance, Capability, CapabilityKind};
pub use config_value::ConfigValue;
pub use declaration::{Declaration, DeclaredKey, MAX_DECLARED_KEYS, ValueKind};
pub use diagnostic::{Diagnostic, Diagnostics, Position, Severity};
pub use duration::{DurationError, MAX_DURATION_S, duration_us};
pub use error::ScenarioError;
pub use manifest::Scenario;
pub use margin::{MIN_TRIALS_FLOOR, Margin, MarginError};
pub use mqtt::{MqttRole, MqttSettings};
pub use suggest::did_you_mean;
pub use validate::ModelName;

pub use parse::MAX_SCENARIO_BYTES;
pub use resolved::*;
pub use scripted_fault::{FaultAction, LinkOverride, ScriptedFault};

/// A scenario that loaded, with any warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub resolved: ResolvedScenario,
    pub warnings: Diagnostics,
    /// SHA-256 of the file's text, to record which scenario a run ran.
    pub source_sha256: [u8; 32],
    /// The file as written, kept when a node runs a component of its own:
    /// that component's config declaration is read by the runtime, later,
    /// and checked against the file with [`SourceFile::check_declared`].
    pub source: Option<Arc<SourceFile>>,
    /// What the scenario asks to do to the host, each at its line: listed
    /// by `validate`, refused by `run` without the user's yes.
    pub capabilities: Vec<Capability>,
}

/// A scenario file's text, positions and entries, for checks made after it loaded.
#[derive(Debug)]
pub struct SourceFile {
    shown_path: std::path::PathBuf,
    text: String,
    spans: parse::SpanMap,
    origins: Vec<usize>,
    scenario: Scenario,
}

impl SourceFile {
    /// Checks the config of each node `declared` gives a declaration for
    /// (by the node's position in the resolved scenario), at its line.
    pub fn check_declared<'d>(&self, declared: &dyn Fn(usize) -> Option<(String, &'d Declaration)>) -> Diagnostics {
        validate::validate_declared(
            &self.shown_path,
            &self.text,
            &self.spans,
            &self.origins,
            &self.scenario,
            &|i, _| declared(i).map(|(name, d)| (validate::ModelName::Component(name), d)),
        )
    }
}

/// Reads, validates and resolves the scenario file at `path`.
///
/// Messages name `path` as given (so relative paths stay short); the
/// resolved form holds absolute paths.
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let read_error = |source| ScenarioError::Read { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if meta.len() > MAX_SCENARIO_BYTES as u64 {
        // Refused before reading, so a huge file cannot exhaust memory.
        let d = Diagnostic::error(
            path,
            format!("scenario file is {} bytes; the limit is {MAX_SCENARIO_BYTES}", meta.len()),
        );
        return Err(ScenarioError::Invalid { diagnostics: Diagnostics(vec![d]) });
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    let source = String::from_utf8(bytes).map_err(|e| ScenarioError::Invalid {
        diagnostics: Diagnostics(vec![
            Diagnostic::error(
                path,
                format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
            )
            .help("scenario files are UTF-8 YAML"),
        ]),
    })?;
    // Canonical once, here, for every command: a scenario reached through a
    // symlink resolves its relative paths against the folder it really is
    // in, where its author wrote them, in `validate` and `run` alike.
    let absolute = std::fs::canonicalize(path).map_err(read_error)?;
    load_str(path, &absolute, &source)
}

/// Validates and resolves `source`, the text of the file shown as `shown_path`
/// and found at `absolute_path` (relative paths in it resolve against its folder).
pub fn load_str(shown_path: &Path, absolute_path: &Path, source: &str) -> Result<Loaded, ScenarioError> {
    let invalid = |d: Diagnostic| ScenarioError::Invalid { diagnostics: Diagnostics(vec![d]) };
    let mut parsed = parse::parse(shown_path, source).map_err(invalid)?;
    let origins = group::expand(&mut parsed.scenario).map_err(|errors| {
        let diagnostics = errors
            .into_iter()
            .map(|e| {
                let d = Diagnostic::error(shown_path, e.message).help(e.help);
                match parsed.spans.value_or_parent(&e.path) {
                    Some((position, width)) => d.at(source, position, width),
                    None => d,
                }
            })
            .collect();
        ScenarioError::Invalid { diagnostics: Diagnostics(diagnostics) }
    })?;
    let base_dir = absolute_path.parent().unwrap_or(Path::new("/"));
    let mut diagnostics = validate::validate(shown_path, base_dir, source, &parsed.spans, &origins, &parsed.scenario);
    if diagnostics.has_errors() {
        return Err(ScenarioError::Invalid { diagnostics });
    }
    let resolved = resolve::resolve(absolute_path, &parsed.scenario);
    let at = capability::Where { shown_path, spans: &parsed.spans, origins: &origins, written: &parsed.scenario };
    let never = capability::forbidden(&resolved, &at, source);
    if !never.is_empty() {
        diagnostics.0.extend(never);
        return Err(ScenarioError::Invalid { diagnostics });
    }
    let capabilities = capability::capabilities(&resolved, &at);
    let has_own_components = resolved.nodes.iter().any(
        |n| matches!(&n.implementation, Implementation::Wasm(w) if !matches!(w.component, ComponentSource::Builtin(_))),
    );
    let source_sha256 = Sha256::digest(source.as_bytes()).into();
    let source = has_own_components.then(|| {
        Arc::new(SourceFile {
            shown_path: shown_path.to_path_buf(),
            text: source.to_string(),
            spans: parsed.spans,
            origins,
            scenario: parsed.scenario,
        })
    });
    Ok(Loaded { resolved, warnings: diagnostics, source_sha256, source, capabilities })
}

/// The resolved form as YAML, for `xedgesim validate --resolved`.
pub fn resolved_to_yaml(resolved: &ResolvedScenario) -> String {
    parse::to_yaml(resolved)
}
