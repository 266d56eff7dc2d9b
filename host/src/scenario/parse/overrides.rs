//! Values set at paths of the file's YAML tree before it becomes a
//! [`Scenario`](crate::scenario::Scenario): a sweep point's parameters and
//! `run --set`. A path walks the tree's mappings; its first part is a
//! top-level section (`simulation.duration_s`) or a node's id
//! (`gateway.config.window_s`: that node's entry, every member of a
//! `count:` entry), and in a list an element is named by its `id` or its
//! index. A missing key is added, so the parser's unknown-key check (with
//! its did-you-mean) and the validator's config checks judge it as they
//! judge a key written in the file.

use serde_yaml::{Mapping, Value};

use crate::scenario::config_value::ConfigValue;
use crate::scenario::suggest;

/// The file's top-level sections a path may start with.
const SECTIONS: &[&str] = &["simulation", "network", "nodes", "equivalence", "faults"];

/// Why a path cannot be set.
#[derive(Debug, Clone, PartialEq)]
pub struct PathError {
    pub message: String,
    pub help: String,
}

fn path_error(message: impl Into<String>, help: impl Into<String>) -> PathError {
    PathError { message: message.into(), help: help.into() }
}

/// Sets `value` at `path` in `root`, the whole file's tree.
pub fn apply(root: &mut Value, path: &str, value: &ConfigValue) -> Result<(), PathError> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(path_error(
            format!("'{path}' is not a path"),
            "write the keys joined by dots: NODE_ID.config.KEY, NODE_ID.FIELD or simulation.KEY",
        ));
    }
    if parts.len() < 2 {
        return Err(path_error(
            format!("'{path}' names a whole section or node, not a value in it"),
            format!("set a value inside it, e.g. {path}.KEY"),
        ));
    }
    let yaml_value = serde_yaml::to_value(value).map_err(|e| path_error(e.to_string(), "set a scalar value"))?;
    let Value::Mapping(top) = root else {
        return Err(path_error("the file is not a mapping of sections", "see scenarios/wasm_gateway.yaml"));
    };
    let first = parts[0];
    if first == "sweep" {
        return Err(path_error("a sweep cannot set its own `sweep:` section", "set a path of the scenario"));
    }
    if SECTIONS.contains(&first) {
        let section = top.entry(Value::from(first)).or_insert(Value::Null);
        return set(section, first, &parts[1..], yaml_value);
    }
    let ids = node_ids(top);
    let Some(node) = node_mut(top, first) else {
        let mut known: Vec<&str> = ids.iter().map(String::as_str).collect();
        known.extend(SECTIONS);
        return Err(path_error(
            format!("no node or section '{first}' (in '{path}')"),
            suggest::did_you_mean(first, &known),
        ));
    };
    set(node, first, &parts[1..], yaml_value)
}

/// The value `path` reaches in `root`, every list element by its index
/// (`nodes.1.config.window_s` for `gateway.config.window_s` when the
/// gateway is the second node): two paths to one value have one target.
/// Parts past what the file has are kept as written.
pub fn target(root: &Value, path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let mut out: Vec<String> = Vec::new();
    let mut here: Option<&Value> = Some(root);
    let mut rest = &parts[..];
    if let (Some(first), Value::Mapping(top)) = (parts.first(), root)
        && !SECTIONS.contains(first)
        && let Some(Value::Sequence(nodes)) = top.get("nodes")
        && let Some(i) = nodes.iter().position(|n| n.get("id").and_then(Value::as_str) == Some(*first))
    {
        out.extend(["nodes".to_string(), i.to_string()]);
        here = nodes.get(i);
        rest = &parts[1..];
    }
    for key in rest {
        here = match here {
            Some(Value::Sequence(items)) => {
                let found = key
                    .parse::<usize>()
                    .ok()
                    .or_else(|| items.iter().position(|v| v.get("id").and_then(Value::as_str) == Some(*key)));
                out.push(found.map_or_else(|| key.to_string(), |i| i.to_string()));
                found.and_then(|i| items.get(i))
            }
            Some(Value::Mapping(map)) => {
                out.push(key.to_string());
                map.get(*key)
            }
            _ => {
                out.push(key.to_string());
                None
            }
        };
    }
    out.join(".")
}

/// The `id` of every entry of `nodes:`, in file order.
fn node_ids(top: &Mapping) -> Vec<String> {
    let Some(Value::Sequence(nodes)) = top.get("nodes") else { return Vec::new() };
    nodes.iter().filter_map(|n| n.get("id").and_then(Value::as_str).map(str::to_string)).collect()
}

fn node_mut<'a>(top: &'a mut Mapping, id: &str) -> Option<&'a mut Value> {
    let Some(Value::Sequence(nodes)) = top.get_mut("nodes") else { return None };
    nodes.iter_mut().find(|n| n.get("id").and_then(Value::as_str) == Some(id))
}

/// Sets `value` at `rest` below `here` (reached by `walked`).
fn set(here: &mut Value, walked: &str, rest: &[&str], value: Value) -> Result<(), PathError> {
    let (key, deeper) = rest.split_first().expect("a path part is left");
    if here.is_null() {
        *here = Value::Mapping(Mapping::new());
    }
    let next_walked = format!("{walked}.{key}");
    let child = match here {
        Value::Mapping(map) => {
            if deeper.is_empty() {
                if let Some(old) = map.get(*key)
                    && (old.is_mapping() || old.is_sequence())
                {
                    return Err(path_error(
                        format!("'{next_walked}' is a section, not a value"),
                        format!("set a value inside it, e.g. {next_walked}.KEY"),
                    ));
                }
                map.insert(Value::from(*key), value);
                return Ok(());
            }
            map.entry(Value::from(*key)).or_insert(Value::Null)
        }
        Value::Sequence(items) => {
            let found = match key.parse::<usize>() {
                Ok(i) => i,
                Err(_) => {
                    let ids: Vec<&str> = items.iter().filter_map(|v| v.get("id").and_then(Value::as_str)).collect();
                    match ids.iter().position(|id| id == key) {
                        Some(i) => i,
                        None => {
                            return Err(path_error(
                                format!("'{walked}' has no element with id '{key}'"),
                                if ids.is_empty() {
                                    "name an element by its index: 0, 1, …".to_string()
                                } else {
                                    suggest::did_you_mean(key, &ids)
                                },
                            ));
                        }
                    }
                }
            };
            let len = items.len();
            let Some(item) = items.get_mut(found) else {
                return Err(path_error(
                    format!("'{walked}' has {len} elements; there is no element {found}"),
                    "name an element by its index (from 0) or its id",
                ));
            };
            if deeper.is_empty() {
                return Err(path_error(
                    format!("'{next_walked}' is a whole element, not a value"),
                    format!("set a value inside it, e.g. {next_walked}.KEY"),
                ));
            }
            item
        }
        _ => {
            return Err(path_error(
                format!("'{walked}' is a value, not a section: there is nothing under it to set"),
                format!("set '{walked}' itself"),
            ));
        }
    };
    set(child, &next_walked, deeper, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Value {
        serde_yaml::from_str(
            "simulation: {duration_s: 10}\nnodes:\n  - {id: s, type: sensor, count: 3}\n  - id: g\n    type: gateway\n    config: {window_s: 1}\n",
        )
        .unwrap()
    }

    #[test]
    fn a_path_sets_a_node_s_config_a_node_field_or_a_section_key() {
        let mut t = tree();
        apply(&mut t, "g.config.window_s", &ConfigValue::Integer(5)).unwrap();
        apply(&mut t, "s.config.interval_s", &ConfigValue::Float(0.5)).unwrap();
        apply(&mut t, "s.count", &ConfigValue::Integer(7)).unwrap();
        apply(&mut t, "simulation.seed", &ConfigValue::Integer(9)).unwrap();
        apply(&mut t, "nodes.g.implementation", &ConfigValue::Text("wasm".into())).unwrap();
        let text = serde_yaml::to_string(&t).unwrap();
        assert!(
            text.contains("window_s: 5") && text.contains("interval_s: 0.5") && text.contains("count: 7"),
            "{text}"
        );
        assert!(text.contains("seed: 9") && text.contains("implementation: wasm"), "{text}");
    }

    #[test]
    fn a_path_that_leads_nowhere_says_where_and_suggests() {
        let mut t = tree();
        let e = apply(&mut t, "gw.config.window_s", &ConfigValue::Integer(5)).unwrap_err();
        assert!(e.message.contains("no node or section 'gw'"), "{e:?}");
        assert!(e.help.contains("did you mean 'g'"), "{e:?}");
        let e = apply(&mut t, "g.config", &ConfigValue::Integer(5)).unwrap_err();
        assert!(e.message.contains("'g.config' is a section"), "{e:?}");
        let e = apply(&mut t, "simulation.duration_s.x", &ConfigValue::Integer(5)).unwrap_err();
        assert!(e.message.contains("is a value, not a section"), "{e:?}");
        let e = apply(&mut t, "nodes.5.id", &ConfigValue::Integer(5)).unwrap_err();
        assert!(e.message.contains("there is no element 5"), "{e:?}");
        assert!(apply(&mut t, "g", &ConfigValue::Integer(5)).unwrap_err().message.contains("whole section or node"));
        assert!(apply(&mut t, "sweep.seeds", &ConfigValue::Integer(5)).is_err());
    }

    #[test]
    fn two_paths_to_one_value_have_one_target() {
        let t = tree();
        assert_eq!(target(&t, "g.config.window_s"), "nodes.1.config.window_s");
        assert_eq!(target(&t, "nodes.1.config.window_s"), "nodes.1.config.window_s");
        assert_eq!(target(&t, "nodes.g.config.window_s"), "nodes.1.config.window_s");
        assert_eq!(target(&t, "s.config.new_key"), "nodes.0.config.new_key");
        assert_eq!(target(&t, "simulation.seed"), "simulation.seed");
        assert_ne!(target(&t, "g.config.window_s"), target(&t, "s.config.window_s"));
    }
}
