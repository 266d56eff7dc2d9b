//! `count: N` expansion: a node entry with `count` makes N nodes of it
//! (the members; docs/scenario-format.md calls such an entry a node
//! group, a name the code keeps for the runtime's `NodeGroup`), so a
//! 100,000- or 1,000,000-node scenario fits in a small file. In the id and
//! in every text value of `config:`, `{i}` stands for the member's index
//! (0 … N-1), and `{i / K}`, `{i % K}`, `{i + K}`, `{i * K}` for integer
//! arithmetic on it: `{id: "s{i}", count: 1000, config: {destination:
//! "gw{i / 100}"}}`. `{{` and `}}` are literal braces. Entries without
//! `count` are left exactly as written.

use std::collections::BTreeSet;

use super::config_value::ConfigValue;
use super::manifest::Scenario;
use super::node_config::NodeConfig;

/// Most nodes one file may make with `count`: room for ten million
/// sensors and their gateways (about 2 KB a node when they run packed;
/// docs/benchmarks.md).
pub const MAX_EXPANDED_NODES: u64 = 12_000_000;
const _: () = assert!(MAX_EXPANDED_NODES >= 10_100_001, "10,000,000 sensors and 100,000 gateways fit");

/// An entry whose `count` cannot be expanded, at `path` in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandError {
    pub path: String,
    pub message: String,
    pub help: String,
}

/// Expands every entry with `count` in place; returns, for each node, the index of the
/// file entry it came from (for positions in diagnostics).
pub fn expand(scenario: &mut Scenario) -> Result<Vec<usize>, Vec<ExpandError>> {
    if scenario.nodes.iter().all(|n| n.count.is_none()) {
        return Ok((0..scenario.nodes.len()).collect());
    }
    let mut errors = Vec::new();
    let mut total: u64 = 0;
    for (k, node) in scenario.nodes.iter().enumerate() {
        let count = node.count.unwrap_or(1);
        let path = format!("nodes[{k}]");
        if count == 0 {
            errors.push(ExpandError {
                path: format!("{path}.count"),
                message: "count must be at least 1".into(),
                help: "remove the entry, or give how many nodes it makes".into(),
            });
        }
        if node.count.is_some_and(|c| c > 1) && !node.id.contains("{i") {
            errors.push(ExpandError {
                path: format!("{path}.id"),
                message: format!("the {count} nodes of group '{}' would share one id", node.id),
                help: format!("put the index in the id, e.g. `{}{{i}}`", node.id),
            });
        }
        total = total.saturating_add(count);
        if node.count.is_some() {
            // Check every template once, with the first index, before making thousands.
            let mut check = |what: &str, text: &str| {
                if let Err(why) = fill(text, 0) {
                    errors.push(ExpandError {
                        path: format!("{path}.{what}"),
                        message: format!("bad placeholder in '{text}': {why}"),
                        help: "use {i}, {i / K}, {i % K}, {i + K} or {i * K}; write {{ and }} for braces".into(),
                    });
                }
            };
            check("id", &node.id);
            for (key, value) in &node.config {
                if let ConfigValue::Text(text) = value {
                    check(&format!("config.{key}"), text);
                }
            }
        }
    }
    if total > MAX_EXPANDED_NODES {
        errors.push(ExpandError {
            path: "nodes".into(),
            message: format!("the groups make {total} nodes; at most {MAX_EXPANDED_NODES}"),
            help: "lower the counts".into(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let entries = std::mem::take(&mut scenario.nodes);
    let mut origins = Vec::with_capacity(total as usize);
    for (k, entry) in entries.into_iter().enumerate() {
        let Some(count) = entry.count else {
            scenario.nodes.push(entry);
            origins.push(k);
            continue;
        };
        // Members whose configs come out equal share one map (`NodeConfig`):
        // all of them when no text has a placeholder, else those that
        // fill to the same values (`gw{i % 100}`: a hundred maps).
        let templated = entry.config.values().any(|v| matches!(v, ConfigValue::Text(t) if t.contains(['{', '}'])));
        let mut configs: BTreeSet<NodeConfig> = BTreeSet::new();
        for i in 0..count {
            let mut node = entry.clone();
            node.count = None;
            node.id = fill(&entry.id, i).expect("checked above");
            if templated {
                let mut config = entry.config.clone();
                for value in config.make_mut().values_mut() {
                    if let ConfigValue::Text(text) = value {
                        *text = fill(text, i).expect("checked above");
                    }
                }
                node.config = match configs.get(&config) {
                    Some(same) => same.clone(),
                    None => {
                        configs.insert(config.clone());
                        config
                    }
                };
            }
            scenario.nodes.push(node);
            origins.push(k);
        }
    }
    Ok(origins)
}

/// `template` with its placeholders filled for member `i`.
fn fill(template: &str, i: u64) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if tail.starts_with('}') {
            return Err("a `}` without its `{`".into());
        } else {
            let end = tail.find('}').ok_or("a `{` without its `}`")?;
            out.push_str(&evaluate(&tail[1..end], i)?.to_string());
            rest = &tail[end + 1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of one placeholder's expression for member `i`.
fn evaluate(expression: &str, i: u64) -> Result<u64, String> {
    let e: String = expression.chars().filter(|c| !c.is_whitespace()).collect();
    if e == "i" {
        return Ok(i);
    }
    let unknown = || format!("`{{{expression}}}` is not one of {{i}}, {{i / K}}, {{i % K}}, {{i + K}}, {{i * K}}");
    let operand = e.strip_prefix('i').ok_or_else(unknown)?;
    let mut chars = operand.chars();
    let op = chars.next().ok_or_else(unknown)?;
    let k: u64 = chars.as_str().parse().map_err(|_| unknown())?;
    let value = match op {
        '/' if k > 0 => i / k,
        '%' if k > 0 => i % k,
        '/' | '%' => return Err(format!("`{{{expression}}}` divides by zero")),
        '+' => i.checked_add(k).ok_or("the sum overflows")?,
        '*' => i.checked_mul(k).ok_or("the product overflows")?,
        _ => return Err(unknown()),
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(fill("s{i}", 7).unwrap(), "s7");
        assert_eq!(fill("gw{i / 100}", 250).unwrap(), "gw2");
        assert_eq!(fill("r{ i % 3 }-{i+1}-{i*2}", 7).unwrap(), "r1-8-14");
        assert_eq!(fill("{{literal}}", 1).unwrap(), "{literal}");
        assert!(fill("{j}", 0).unwrap_err().contains("is not one of"));
        assert!(fill("{i / 0}", 0).unwrap_err().contains("divides by zero"));
        assert!(fill("s{i", 0).unwrap_err().contains("without its `}`"));
    }

    #[test]
    fn members_whose_configs_fill_the_same_share_one_map() {
        use super::super::manifest::NodeEntry;
        let entry = |id: &str, count, node_type: &str, config: &[(&str, ConfigValue)]| NodeEntry {
            id: id.into(),
            count: Some(count),
            node_type: node_type.into(),
            config: config.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            ..NodeEntry::default()
        };
        let sensors = [("destination", ConfigValue::Text("gw{i % 2}".into())), ("rate", ConfigValue::Integer(10))];
        let mut scenario = Scenario {
            nodes: vec![
                entry("s{i}", 6, "sensor", &sensors),
                entry("g{i}", 2, "gateway", &[("window_s", ConfigValue::Integer(1))]),
            ],
            ..Scenario::default()
        };
        expand(&mut scenario).unwrap();
        let n = &scenario.nodes;
        assert_eq!(n[3].config.get("destination"), Some(&ConfigValue::Text("gw1".into())));
        assert!(n[0].config.shares(&n[2].config) && n[1].config.shares(&n[5].config));
        assert!(!n[0].config.shares(&n[1].config));
        assert!(n[6].config.shares(&n[7].config), "no placeholder: one map for the entry");
    }

    #[test]
    fn more_nodes_than_the_bound_are_refused_before_any_is_made() {
        use super::super::manifest::NodeEntry;
        let group = |id: &str, count| NodeEntry { id: id.into(), count: Some(count), ..NodeEntry::default() };
        let mut within =
            Scenario { nodes: vec![group("g{i}", 100_000), group("s{i}", 10_000_000)], ..Scenario::default() };
        // The bound is checked before anything is made: a check of the counts only.
        within.nodes[1].count = Some(MAX_EXPANDED_NODES - 100_000 + 1);
        let e = expand(&mut within).unwrap_err();
        assert_eq!(
            e[0].message,
            format!("the groups make {} nodes; at most {MAX_EXPANDED_NODES}", MAX_EXPANDED_NODES + 1)
        );
    }
}
