//! `cpu:` on a node: a profile name or `{instructions_per_us: N}`, on WASM
//! nodes only (a container's time is measured, not counted).

use super::Checker;
use super::nodes::{ImplementationName, implementation_name};
use crate::scenario::config_value::ConfigValue;
use crate::scenario::cpu::{CpuSpeed, MAX_INSTRUCTIONS_PER_US, instructions_per_ms};
use crate::scenario::manifest::NodeEntry;
use crate::scenario::suggest;

/// The keys a `cpu:` mapping takes.
const CPU_KEYS: &[&str] = &["instructions_per_us"];

impl Checker<'_> {
    pub(super) fn cpu(&mut self, path: &str, node: &NodeEntry) {
        let Some(cpu) = &node.cpu else { return };
        let id = Some(node.id.as_str());
        let path = format!("{path}.cpu");
        if matches!(implementation_name(node.implementation.as_deref()), ImplementationName::Docker) {
            self.key_error(
                &path,
                id,
                "`cpu:` on a docker node: a container's time is measured (wall clock), not counted from fuel",
                "remove it; `cpu:` is for WASM nodes, whose steps are counted in fuel (docs/running.md, \"Compute time\")",
            );
            return;
        }
        let profiles = CpuSpeed::profile_names();
        let shape = format!(
            "write a profile ({}) or `{{instructions_per_us: N}}` (docs/running.md, \"Compute time\")",
            profiles.join(", ")
        );
        match cpu {
            ConfigValue::Text(name) if CpuSpeed::profile(name).is_none() => {
                self.error(&path, id, format!("unknown cpu profile '{name}'"), suggest::did_you_mean(name, &profiles));
            }
            ConfigValue::Text(_) => {}
            ConfigValue::Map(keys) => {
                let mut unknown = false;
                for key in keys.keys().filter(|k| !CPU_KEYS.contains(&k.as_str())) {
                    unknown = true;
                    let help = match suggest::closest(key, CPU_KEYS) {
                        Some(close) => format!("did you mean '{close}'?"),
                        None => format!("`cpu:` takes only {}", CPU_KEYS.join(", ")),
                    };
                    self.key_error(&format!("{path}.{key}"), id, format!("unknown key '{key}' in `cpu:`"), help);
                }
                let speed_path = format!("{path}.instructions_per_us");
                let speed = match keys.get("instructions_per_us") {
                    // A misspelt key says it all.
                    None if unknown => return,
                    None => {
                        self.error(&path, id, "`cpu:` needs `instructions_per_us`", shape);
                        return;
                    }
                    Some(ConfigValue::Integer(n)) => Some(*n as f64).filter(|_| *n > 0),
                    Some(ConfigValue::Float(f)) => Some(*f),
                    Some(_) => None,
                };
                if speed.and_then(instructions_per_ms).is_none() {
                    let found = keys.get("instructions_per_us").map(ToString::to_string).unwrap_or_default();
                    self.error(
                        &speed_path,
                        id,
                        format!("cpu.instructions_per_us must be a positive number; found {found}"),
                        format!(
                            "WASM instructions per virtual µs, from 0.001 to {MAX_INSTRUCTIONS_PER_US}, with at most three decimals"
                        ),
                    );
                }
            }
            other => self.error(&path, id, format!("`cpu:` must be a profile name or a mapping; found {other}"), shape),
        }
    }
}

/// The resolved `cpu:` of a valid entry.
pub fn resolved_cpu(node: &NodeEntry) -> Option<CpuSpeed> {
    match node.cpu.as_ref()? {
        ConfigValue::Text(name) => CpuSpeed::profile(name),
        ConfigValue::Map(keys) => {
            let per_us = match keys.get("instructions_per_us")? {
                ConfigValue::Integer(n) => *n as f64,
                ConfigValue::Float(f) => *f,
                _ => return None,
            };
            Some(CpuSpeed { profile: None, instructions_per_ms: instructions_per_ms(per_us)? })
        }
        _ => None,
    }
}
