//! Scenario files: parse (the only module that touches YAML), validate,
//! resolve.
//!
//! [`Scenario`] is what the user wrote; [`ResolvedScenario`] is what the
//! runner consumes, with every default filled in and paths made absolute.
//! [`load`] goes from a path to a resolved scenario, reporting every
//! problem in the file as a [`Diagnostic`] with its line, node and fix.
//!
//! The modules, in the order a file goes through them:
//!
//! 1. `manifest`: what a user writes (every section, `faults:` entries,
//!    `docker.mqtt:`), nothing defaulted; `parse` reads the YAML into it
//!    and `expand` makes the nodes of each `count:` entry.
//! 2. `validate`: one checker, a file per section, every problem at its line.
//! 3. `resolve`: a valid manifest to the resolved form, defaults filled in.
//! 4. `resolved`: what the runner consumes (a WASM node's part in `wasm_node`).
//! 5. `capability`: what a resolved scenario asks of the host.
//!
//! A module names those before it, never one after, but for `resolved`:
//! it holds the names, defaults and limits `validate` checks against
//! (with `mqtt`, the resolved `docker.mqtt:`, and `scripted_fault`, the
//! resolved `faults:` entries and [`ScriptedFaultKind`], the one list of
//! the fault kinds' names), and names no stage itself. Helpers below them
//! all: `config_value`, `node_config` (a node's `config:` map, shared by
//! the members of a `count:` entry that fill it the same), `cpu` (the
//! resolved `cpu:`), `declaration`, `diagnostic`, `duration`,
//! `engines` (the resolved `engines:`, and how an endpoint reads),
//! `margin`, `suggest`, `build_context`, `error`.
//!
//! "Fault" here means a scripted fault (`faults:`, asked for); a node
//! fault (a model that traps, `runtime::fault`) only appears as the
//! `on_fault` policy ([`FaultPolicy`]). "Group" is the runtime's
//! `NodeGroup`; a `count:` entry's nodes are its members (`expand`).

mod build_context;
mod capability;
mod config_value;
mod cpu;
mod declaration;
mod diagnostic;
mod duration;
mod engines;
mod error;
mod expand;
mod manifest;
mod margin;
mod mqtt;
mod node_config;
mod parse;
mod payload_tolerance;
mod resolve;
mod resolved;
mod scripted_fault;
mod suggest;
mod sweep_section;
mod validate;
mod wasm_node;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use capability::{ALLOW_WORDS, Allowance, Capability, CapabilityKind};
pub use config_value::ConfigValue;
pub use cpu::{CPU_PROFILES, CpuSpeed, MAX_INSTRUCTIONS_PER_US};
pub use declaration::{Declaration, DeclaredKey, MAX_DECLARED_KEYS, ValueKind};
pub use diagnostic::{Diagnostic, Diagnostics, Position, Severity};
pub use duration::{DurationError, MAX_DURATION_S, duration_us};
pub use engines::{DEFAULT_ENGINE_NAME, Destination, EngineEndpoint, TlsFiles};
pub use error::ScenarioError;
pub use manifest::Scenario;
pub use margin::{MIN_TRIALS_FLOOR, Margin, MarginError};
pub use mqtt::{MqttRole, MqttSettings};
pub use node_config::NodeConfig;
pub use suggest::did_you_mean;
pub use sweep_section::{
    MAX_SWEEP_POINTS, Override, SweepSpec, SweptParameter, check_seeds, parse_seeds, repeated, scalar_text,
};
pub use validate::ModelName;

pub use parse::{MAX_SCENARIO_BYTES, parse_scalar, targets};
pub use payload_tolerance::{PayloadTolerance, PayloadToleranceError};
pub use resolved::*;
pub use scripted_fault::{FaultAction, LinkOverride, ScriptedFault, ScriptedFaultKind};

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
    /// The file's `sweep:` section, read; `run` runs the file as written.
    pub sweep: Option<SweepSpec>,
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

/// What loading a scenario knows of the machine it runs on: given by the
/// caller, since only the command line reads the environment.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The user's home folder, never searched for a build context
    /// (`build_context.rs`); the command line gives `$HOME`. `None`, the
    /// library's default: no folder but the root is kept out.
    pub home_dir: Option<PathBuf>,
}

/// Reads, validates and resolves the scenario file at `path`, with the
/// default [`LoadOptions`].
///
/// Messages name `path` as given (so relative paths stay short); the
/// resolved form holds absolute paths.
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with `options`.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, ScenarioError> {
    let (source, absolute) = read(path)?;
    load_str_with(path, &absolute, &source, options)
}

/// [`load_with`] with `overrides` set in the file first (`run --set`):
/// the file's own problems are reported as [`load`] reports them, those
/// the overrides cause at the overrides.
pub fn load_overridden(path: &Path, options: &LoadOptions, overrides: &[Override]) -> Result<Loaded, ScenarioError> {
    let (source, absolute) = read(path)?;
    let base = load_str_with(path, &absolute, &source, options)?;
    if overrides.is_empty() {
        return Ok(base);
    }
    load_point(path, &absolute, &source, options, overrides, &base.warnings)
}

/// The scenario file at `path`: its text (checked to be UTF-8 within
/// [`MAX_SCENARIO_BYTES`]) and its absolute path.
pub fn read(path: &Path) -> Result<(String, PathBuf), ScenarioError> {
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
    Ok((source, absolute))
}

/// Validates and resolves `source`, the text of the file shown as `shown_path`
/// and found at `absolute_path` (relative paths in it resolve against its
/// folder), with the default [`LoadOptions`].
pub fn load_str(shown_path: &Path, absolute_path: &Path, source: &str) -> Result<Loaded, ScenarioError> {
    load_str_with(shown_path, absolute_path, source, &LoadOptions::default())
}

/// [`load_str`] with `options`.
pub fn load_str_with(
    shown_path: &Path,
    absolute_path: &Path,
    source: &str,
    options: &LoadOptions,
) -> Result<Loaded, ScenarioError> {
    load_inner(shown_path, absolute_path, source, options, &[], None)
}

/// The file (`source`, as [`load_str_with`] takes it) with `overrides` set
/// in it: one point of a sweep. Every problem the overrides cause is an
/// error at them (their line in `sweep:`, or `--set`), including a warning
/// the file as written (`base_warnings`) does not have: a config key the
/// model does not take is a key that does not exist.
pub fn load_point(
    shown_path: &Path,
    absolute_path: &Path,
    source: &str,
    options: &LoadOptions,
    overrides: &[Override],
    base_warnings: &Diagnostics,
) -> Result<Loaded, ScenarioError> {
    load_inner(shown_path, absolute_path, source, options, overrides, Some(base_warnings))
}

fn load_inner(
    shown_path: &Path,
    absolute_path: &Path,
    source: &str,
    options: &LoadOptions,
    overrides: &[Override],
    base_warnings: Option<&Diagnostics>,
) -> Result<Loaded, ScenarioError> {
    let home_dir = options.home_dir.as_deref();
    let invalid = |d: Diagnostic| ScenarioError::Invalid { diagnostics: Diagnostics(vec![d]) };
    let mut parsed = parse::parse_overridden(shown_path, source, overrides).map_err(invalid)?;
    let origins = expand::expand(&mut parsed.scenario).map_err(|errors| {
        let diagnostics = errors
            .into_iter()
            .map(|e| {
                // With values set, they are named: one of them may be the cause.
                let message = match overrides {
                    [] => e.message,
                    _ => format!(
                        "with {}: {}",
                        overrides.iter().map(Override::shown).collect::<Vec<_>>().join(", "),
                        e.message
                    ),
                };
                let d = Diagnostic::error(shown_path, message).help(e.help);
                match parsed.spans.value_or_parent(&e.path) {
                    Some((position, width)) => d.at(source, position, width),
                    None => d,
                }
            })
            .collect();
        ScenarioError::Invalid { diagnostics: Diagnostics(diagnostics) }
    })?;
    let base_dir = absolute_path.parent().unwrap_or(Path::new("/"));
    let mut diagnostics =
        validate::validate(shown_path, base_dir, home_dir, source, &parsed.spans, &origins, &parsed.scenario);
    if let Some(base) = base_warnings {
        diagnostics = caused_by(shown_path, source, overrides, diagnostics, base);
    }
    let sweep = match &parsed.scenario.sweep {
        Some(section) if !diagnostics.has_errors() => {
            let spec = SweepSpec::of(section, &|path| parsed.spans.key(path).map(|(p, _)| p));
            if base_warnings.is_none() {
                // Each value alone; a path that fails once is not tried again.
                let mut failed = std::collections::BTreeSet::new();
                for o in spec.each_value() {
                    if failed.contains(&o.path) {
                        continue;
                    }
                    if let Err(ScenarioError::Invalid { diagnostics: found }) =
                        load_point(shown_path, absolute_path, source, options, std::slice::from_ref(&o), &diagnostics)
                    {
                        failed.insert(o.path.clone());
                        diagnostics.0.extend(found.0);
                    }
                }
            }
            Some(spec)
        }
        _ => None,
    };
    if diagnostics.has_errors() {
        return Err(ScenarioError::Invalid { diagnostics });
    }
    let resolved = resolve::resolve(absolute_path, &parsed.scenario, &origins, home_dir);
    let at = capability::Where { shown_path, spans: &parsed.spans, origins: &origins, written: &parsed.scenario };
    let never = capability::forbidden(&resolved, &at, source);
    if !never.is_empty() {
        diagnostics.0.extend(never);
        if let Some(base) = base_warnings {
            diagnostics = caused_by(shown_path, source, overrides, diagnostics, base);
        }
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
    Ok(Loaded { resolved, warnings: diagnostics, source_sha256, source, capabilities, sweep })
}

/// Whether `message` names `key` as a whole word.
fn names(message: &str, key: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    message.match_indices(key).any(|(i, _)| {
        !message[..i].chars().next_back().is_some_and(word)
            && !message[i + key.len()..].chars().next().is_some_and(word)
    })
}

/// `found` (in the file with `overrides` set) with every error, and every
/// warning the file as written does not have, made an error at the overrides.
fn caused_by(file: &Path, source: &str, overrides: &[Override], found: Diagnostics, base: &Diagnostics) -> Diagnostics {
    let before: std::collections::BTreeSet<String> = base.0.iter().map(ToString::to_string).collect();
    let attributed = found
        .0
        .into_iter()
        .map(|d| {
            if !d.is_error() && before.contains(&d.to_string()) {
                return d;
            }
            // The overrides the message names, when it names some: the culprits.
            let named: Vec<Override> = overrides
                .iter()
                .filter(|o| o.path.rsplit('.').next().is_some_and(|key| names(&d.message, key)))
                .cloned()
                .collect();
            let shown = |list: &[Override]| list.iter().map(Override::shown).collect::<Vec<_>>().join(", ");
            let mut out = if named.is_empty() {
                parse::override_error(file, source, overrides, d.message)
            } else {
                let mut out = parse::override_error(file, source, &named, d.message.clone());
                let others: Vec<Override> = overrides.iter().filter(|o| !named.contains(o)).cloned().collect();
                if !others.is_empty() {
                    // The others are named too: one of them may be what made the named one wrong.
                    out.message = format!("with {} (and {}): {}", shown(&named), shown(&others), d.message);
                }
                out
            };
            out.help = d.help;
            out.node = d.node;
            out
        })
        .collect();
    Diagnostics(attributed)
}

/// The resolved form as YAML, for `xedgesim validate --resolved`.
pub fn resolved_to_yaml(resolved: &ResolvedScenario) -> String {
    parse::to_yaml(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_folder_kept_out_of_the_build_context_search_is_the_callers_to_give() {
        // `build_context: data` is only in the home folder, above the scenario's.
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("data")).unwrap();
        std::fs::write(home.join("data/Dockerfile"), "FROM scratch\n").unwrap();
        let file = home.join("scenarios/s.yaml");
        let yaml = "nodes:\n  - {id: g, type: gateway, implementation: docker, docker: {build_context: data}}\n";
        let shown = Path::new("s.yaml");
        let with_home = LoadOptions { home_dir: Some(home.clone()) };
        let e = load_str_with(shown, &file, yaml, &with_home).unwrap_err().to_string();
        assert!(e.contains("s.yaml:2:") && e.contains("directory 'data' does not exist"), "{e}");
        // The library's default knows no home folder: the one above is searched, and the warning says so.
        let loaded = load_str(shown, &file, yaml).unwrap();
        let warning = loaded.warnings.0[0].to_string();
        assert!(warning.contains("build context 'data' is not in the scenario's folder"), "{warning}");
        let Implementation::Docker(docker) = &loaded.resolved.nodes[0].implementation else { panic!("a docker node") };
        assert_eq!(docker.build_context.as_deref(), Some(home.join("data").as_path()));
    }
}
