//! Text to [`Scenario`]: the only module that touches YAML.
//!
//! serde_yaml is unmaintained upstream; keeping every use of it (and of the
//! position-recording parser in `spans.rs`) behind [`parse`] means it can
//! be swapped without touching validation or resolution.
//!
//! serde_yaml stops at the first problem, so a structural error (bad
//! syntax, a wrong type, an unknown key) is reported alone; semantic checks
//! in `validate/` then report every remaining problem at once.

mod overrides;
mod spans;

use std::path::Path;

use serde::Deserialize;

use spans::RootKind;
pub use spans::SpanMap;

use super::config_value::ConfigValue;
use super::diagnostic::{Diagnostic, Position};
use super::manifest::Scenario;
use super::suggest;
use super::sweep_section::Override;

/// Files larger than this are refused before parsing: no real scenario is
/// anywhere near it, and it bounds the memory a hostile file can claim.
pub const MAX_SCENARIO_BYTES: usize = 4 * 1024 * 1024;

/// A parsed scenario and the position of every value in its text.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub scenario: Scenario,
    pub spans: SpanMap,
}

/// Parses `source` (the text of `file`) into a [`Scenario`].
pub fn parse(file: &Path, source: &str) -> Result<Parsed, Diagnostic> {
    if source.len() > MAX_SCENARIO_BYTES {
        return Err(Diagnostic::error(
            file,
            format!("scenario file is {} bytes; the limit is {MAX_SCENARIO_BYTES}", source.len()),
        )
        .help("a scenario describes nodes and links; generate large topologies with fewer, templated entries"));
    }
    let spans = spans::record(source).map_err(|e| {
        Diagnostic::error(file, format!("not valid YAML: {}", e.message))
            .at(source, e.position, 1)
            .help("check the indentation and quoting around this point")
    })?;
    if let Some((key, first, again)) = &spans.repeated_key {
        return Err(Diagnostic::error(
            file,
            format!("key '{key}' is written twice in one mapping (first on line {}); YAML would keep the second and silently lose the first", first.line),
        )
        .at(source, *again, key.chars().count())
        .help("remove one of the two, or merge them into one entry"));
    }
    let Some(root) = spans.root else {
        return Err(Diagnostic::error(file, "scenario file is empty")
            .help("a scenario needs at least a `nodes:` list; see scenarios/wasm_gateway.yaml for an example"));
    };
    if root != RootKind::Mapping {
        let found = if root == RootKind::Sequence { "a list" } else { "a single value" };
        let position = spans.get("").map_or(Position { line: 1, column: 1 }, |s| s.value);
        return Err(Diagnostic::error(file, format!("a scenario file must be a mapping of sections; found {found}"))
            .at(source, position, 1)
            .help(
                "start with `nodes:` (and optionally `simulation:` and `network:`); see scenarios/wasm_gateway.yaml",
            ));
    }
    let scenario: Scenario = serde_yaml::from_str(source).map_err(|e| structural_error(file, source, &spans, &e))?;
    Ok(Parsed { scenario, spans })
}

/// [`parse`], then `overrides` set in the file's tree and the result
/// parsed again. Problems of the file itself are reported as [`parse`]
/// reports them; problems the overrides cause, at each override's origin
/// (its line in `sweep:`, or none for `--set`).
pub fn parse_overridden(file: &Path, source: &str, overrides: &[Override]) -> Result<Parsed, Diagnostic> {
    let mut parsed = parse(file, source)?;
    if overrides.is_empty() {
        return Ok(parsed);
    }
    let mut tree: serde_yaml::Value =
        serde_yaml::from_str(source).map_err(|e| structural_error(file, source, &parsed.spans, &e))?;
    if let Some((a, b, target)) = same_target(&tree, overrides) {
        let message = if a.path == b.path {
            format!("{} is set twice", a.path)
        } else {
            format!("{} and {} set the same value ({target})", a.path, b.path)
        };
        return Err(override_error(file, source, &[a.clone(), b.clone()], message)
            .help("set each value once: keep one of them"));
    }
    for o in overrides {
        overrides::apply(&mut tree, &o.path, &o.value)
            .map_err(|e| override_error(file, source, std::slice::from_ref(o), e.message).help(e.help))?;
    }
    parsed.scenario = Scenario::deserialize(tree).map_err(|e| {
        let d = structural_error(file, source, &parsed.spans, &e);
        let mut out = override_error(file, source, overrides, d.message);
        out.help = d.help;
        out
    })?;
    Ok(parsed)
}

/// The first two of `overrides` that set one value of `tree`, and that value's path.
fn same_target<'a>(
    tree: &serde_yaml::Value,
    overrides: &'a [Override],
) -> Option<(&'a Override, &'a Override, String)> {
    let mut seen: std::collections::BTreeMap<String, &Override> = std::collections::BTreeMap::new();
    for o in overrides {
        let target = overrides::target(tree, &o.path);
        if let Some(first) = seen.get(&target) {
            return Some((first, o, target));
        }
        seen.insert(target, o);
    }
    None
}

/// Where each of `paths` leads in the file `source` (see [`overrides::target`]).
pub fn targets(source: &str, paths: &[String]) -> Vec<String> {
    let tree: serde_yaml::Value = serde_yaml::from_str(source).unwrap_or(serde_yaml::Value::Null);
    paths.iter().map(|p| overrides::target(&tree, p)).collect()
}

/// A problem `overrides` cause, naming them all, at the first one's
/// origin when every one is a line of the file (with a `--set` among them,
/// a line of the file may be innocent: no line is shown).
pub fn override_error(file: &Path, source: &str, overrides: &[Override], message: String) -> Diagnostic {
    let shown: Vec<String> = overrides.iter().map(Override::shown).collect();
    let d = Diagnostic::error(file, format!("with {}: {message}", shown.join(", ")));
    if overrides.iter().any(|o| o.origin.is_none()) {
        return d;
    }
    match overrides.iter().find_map(|o| o.origin.map(|p| (p, o.path.chars().count()))) {
        Some((position, width)) => d.at(source, position, width),
        None => d,
    }
}

/// A value as a YAML scalar reads it (`5` a number, `true` a boolean,
/// `abc` text), for values given on the command line.
pub fn parse_scalar(text: &str) -> Result<ConfigValue, String> {
    if text.trim().is_empty() {
        return Err("no value given".to_string());
    }
    // YAML would read a comment, an anchor, an alias or a tag and drop it
    // silently (`1 # c` is 1): a value is only the value.
    let trimmed = text.trim_start();
    if text.contains(" #") || text.contains("\t#") || trimmed.starts_with(['&', '*', '!', '#']) {
        return Err(format!(
            "'{text}' holds YAML syntax (a comment, an anchor, an alias or a tag) that would be dropped: give the value alone"
        ));
    }
    match serde_yaml::from_str::<ConfigValue>(text) {
        Ok(ConfigValue::List(_) | ConfigValue::Map(_)) => Err(format!("'{text}' is not a single value")),
        Ok(value) => Ok(value),
        Err(_) => Ok(ConfigValue::Text(text.to_string())),
    }
}

/// Turns a serde_yaml error into a diagnostic with a position, a readable
/// message and, for unknown keys and values, a did-you-mean.
fn structural_error(file: &Path, source: &str, spans: &SpanMap, e: &serde_yaml::Error) -> Diagnostic {
    let full = e.to_string();
    // serde_yaml renders "<path>: <message> at line L column C".
    let without_location = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => full.as_str(),
    };
    let (path, message) = match without_location.split_once(": ") {
        Some((p, m)) if !p.contains(' ') => (p.to_string(), m.to_string()),
        _ => (String::new(), without_location.to_string()),
    };
    let position = e.location().map(|l| Position { line: l.line(), column: l.column() });

    let mut diagnostic;
    if let Some((unknown, expected)) = parse_unknown(&message, "unknown field") {
        let section = if path.is_empty() { "the top level".to_string() } else { format!("`{path}`") };
        let help = if expected.is_empty() {
            "this section takes no keys".to_string()
        } else {
            let candidates: Vec<&str> = expected.iter().map(String::as_str).collect();
            match suggest::closest(&unknown, &candidates) {
                Some(c) => format!("did you mean '{c}'?"),
                None => format!("allowed keys here: {}", expected.join(", ")),
            }
        };
        diagnostic = Diagnostic::error(file, format!("unknown key '{unknown}' in {section}")).help(help);
        let key_path = if path.is_empty() { unknown.clone() } else { format!("{path}.{unknown}") };
        if let Some((pos, len)) = spans.key(&key_path) {
            return with_node(diagnostic.at(source, pos, len), spans, &path);
        }
    } else if message.starts_with("missing field") {
        let field = message.split('`').nth(1).unwrap_or("?").to_string();
        let section = if path.is_empty() { "the top level".to_string() } else { format!("`{path}`") };
        diagnostic = Diagnostic::error(file, format!("{section} is missing the required key '{field}'"))
            .help(format!("add `{field}:` here"));
        if let Some((pos, len)) = spans.value_or_parent(&path) {
            return with_node(diagnostic.at(source, pos, len), spans, &path);
        }
    } else if message.contains("repetition limit") || message.contains("recursion limit") {
        diagnostic = Diagnostic::error(file, format!("YAML too deeply nested or aliased ({message})"))
            .help("scenario files do not need recursive anchors or aliases that expand exponentially");
        if let Some(p) = spans.first_alias {
            return with_node(diagnostic.at(source, p, 1), spans, &path);
        }
    } else {
        let label = if path.is_empty() { String::new() } else { format!("`{path}`: ") };
        diagnostic = Diagnostic::error(file, format!("{label}{message}"));
        if message.starts_with("invalid type") || message.starts_with("invalid value") {
            diagnostic = diagnostic.help(type_help(&message));
        }
    }
    if let Some(p) = position {
        let len = spans.value_or_parent(&path).map_or(1, |(_, l)| l);
        diagnostic = diagnostic.at(source, p, len);
    }
    with_node(diagnostic, spans, &path)
}

/// For `unknown field \`x\`, expected one of \`a\`, \`b\``: the name and the allowed names.
fn parse_unknown(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(prefix)?;
    let mut quoted = rest.split('`').skip(1).step_by(2).map(str::to_string);
    let unknown = quoted.next()?;
    Some((unknown, quoted.collect()))
}

fn type_help(message: &str) -> String {
    if message.contains("expected u64") || message.contains("expected u32") || message.contains("expected u16") {
        "use a whole, non-negative number".to_string()
    } else if message.contains("expected i64") {
        "use a whole number".to_string()
    } else if message.contains("expected f64") {
        "use a number".to_string()
    } else if message.contains("expected a sequence") {
        "use a list (`- item` lines)".to_string()
    } else {
        "check the value's type against docs/scenario-format.md".to_string()
    }
}

/// Names the node when `path` sits under `nodes[i]` and that node's id is known.
fn with_node(diagnostic: Diagnostic, spans: &SpanMap, path: &str) -> Diagnostic {
    match spans.node_id_for(path) {
        Some(id) => diagnostic.node(id),
        None => diagnostic,
    }
}

/// Serialises `value` as YAML (the resolved form, for people to read).
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).expect("resolved scenarios hold only YAML-representable values")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{a: 1, a: 2}` kept the second value without a word, in any map
    /// the file has (a node's config, a container's environment, volumes).
    #[test]
    fn a_key_written_twice_in_one_mapping_is_an_error_at_the_second() {
        let yaml = "nodes:\n  - id: s\n    type: sensor\n    config:\n      interval_s: 1\n      interval_s: 2\n";
        let e = parse(Path::new("s.yaml"), yaml).unwrap_err().to_string();
        assert!(e.contains("s.yaml:6:7"), "at the second: {e}");
        assert!(e.contains("key 'interval_s' is written twice in one mapping (first on line 5)"), "{e}");
        let flow = "nodes:\n  - {id: g, type: gateway, implementation: docker, docker: {image: x, environment: {A: 1, A: 2}}}\n";
        assert!(parse(Path::new("s.yaml"), flow).unwrap_err().to_string().contains("key 'A' is written twice"));
        // The same name in two mappings is no repeat.
        let fine = "nodes:\n  - {id: a, type: sensor, config: {x: 1}}\n  - {id: b, type: sensor, config: {x: 1}}\n";
        assert!(parse(Path::new("s.yaml"), fine).is_ok());
    }
}
