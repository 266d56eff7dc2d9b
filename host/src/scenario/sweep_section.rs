//! The `sweep:` section (many runs of one file: seeds × parameter points)
//! and the overrides that set a value at a path of the file
//! (`gateway.config.window_s`), which both a sweep's points and
//! `xedgesim run --set` apply before the file is parsed. The section is
//! read and checked here; `crate::sweep` plans and runs it.

use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use super::config_value::ConfigValue;
use super::diagnostic::Position;

/// Most points one sweep may have (parameter points × seeds): far more
/// than any cluster queue takes at once, and it bounds the plan's size.
pub const MAX_SWEEP_POINTS: usize = 100_000;

/// `sweep:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSection {
    /// `1..20` (inclusive), `1,2,7`, a list of numbers, or one number.
    pub seeds: Option<ConfigValue>,
    /// A grid: each path's values; the cartesian product, the first path varying slowest.
    #[serde(default)]
    pub parameters: Option<Ordered<Vec<ConfigValue>>>,
    /// A list of points instead of a grid: each a map of path to value.
    #[serde(default)]
    pub points: Option<Vec<Ordered<ConfigValue>>>,
}

/// A mapping kept in the file's order (the order a grid varies in).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of paths to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(std::marker::PhantomData))
    }
}

/// One value set at a path of the scenario file before it is parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// `NODE_ID.config.KEY`, `NODE_ID.FIELD`, `simulation.duration_s`, …
    pub path: String,
    pub value: ConfigValue,
    /// Where it was asked for: a line of the file's `sweep:` section, or
    /// `None` for the command line's `--set`.
    pub origin: Option<Position>,
}

impl Override {
    /// How the override reads in a message: `--set gateway.config.window_s=5`
    /// or `gateway.config.window_s = 5`.
    pub fn shown(&self) -> String {
        match self.origin {
            None => format!("--set {}={}", self.path, scalar_text(&self.value)),
            Some(_) => format!("{} = {}", self.path, scalar_text(&self.value)),
        }
    }
}

/// A scalar as a user would write it (text unquoted).
pub fn scalar_text(value: &ConfigValue) -> String {
    match value {
        ConfigValue::Text(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Seeds as written on the command line or in `seeds:`: `1..100`
/// (inclusive), `1,2,5`, or one number. Never empty, no seed twice.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let text = text.trim();
    let number = |s: &str| {
        let s = s.trim();
        s.parse::<u64>().map_err(|_| match !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            true => format!("seed {s} is too big: seeds are at most {}", u64::MAX),
            false => format!("'{s}' is not a seed (a whole number ≥ 0)"),
        })
    };
    let seeds = if let Some((from, to)) = text.split_once("..") {
        let (from, to) = (number(from)?, number(to.strip_prefix('=').unwrap_or(to))?);
        if from > to {
            return Err(format!("the seed range {text} is empty: its first seed is after its last"));
        }
        if to - from >= MAX_SWEEP_POINTS as u64 {
            return Err(format!("the seed range {text} has more than {MAX_SWEEP_POINTS} seeds"));
        }
        (from..=to).collect()
    } else {
        text.split(',').map(number).collect::<Result<Vec<u64>, String>>()?
    };
    check_seeds(seeds)
}

/// `seeds` checked: not empty, none twice.
pub fn check_seeds(seeds: Vec<u64>) -> Result<Vec<u64>, String> {
    if seeds.is_empty() {
        return Err("no seeds".to_string());
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(again) = seeds.iter().find(|s| !seen.insert(**s)) {
        return Err(format!("seed {again} is given twice"));
    }
    Ok(seeds)
}

/// The `seeds:` value of a section: text, a number or a list of numbers.
pub fn seeds_of(value: &ConfigValue) -> Result<Vec<u64>, String> {
    match value {
        ConfigValue::Text(text) => parse_seeds(text),
        ConfigValue::Integer(n) if *n >= 0 => Ok(vec![*n as u64]),
        ConfigValue::List(items) => check_seeds(
            items
                .iter()
                .map(|v| match v {
                    ConfigValue::Integer(n) if *n >= 0 => Ok(*n as u64),
                    other => Err(format!("'{}' is not a seed (a whole number ≥ 0)", scalar_text(other))),
                })
                .collect::<Result<_, _>>()?,
        ),
        other => Err(format!("'{}' is not a list of seeds", scalar_text(other))),
    }
}

/// The first of `values` given again (numbers compared as numbers: `1` is `1.0`).
pub fn repeated(values: &[ConfigValue]) -> Option<&ConfigValue> {
    let number = |v: &ConfigValue| match v {
        ConfigValue::Integer(n) => Some(*n as f64),
        ConfigValue::Float(x) => Some(*x),
        _ => None,
    };
    let same = |a: &ConfigValue, b: &ConfigValue| match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    };
    values.iter().enumerate().find(|(i, v)| values[..*i].iter().any(|w| same(v, w))).map(|(_, v)| v)
}

/// Whether `value` may be set at a path: a scalar (lists and maps are not swept).
pub fn is_scalar(value: &ConfigValue) -> bool {
    !matches!(value, ConfigValue::List(_) | ConfigValue::Map(_))
}

/// A grid parameter: its path, values, and where the file names it.
#[derive(Debug, Clone, PartialEq)]
pub struct SweptParameter {
    pub path: String,
    pub values: Vec<ConfigValue>,
    /// The key's position in `sweep.parameters:`; `None` for `--set`.
    pub origin: Option<Position>,
}

/// `sweep:` read (and validated): what a sweep is planned from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepSpec {
    pub seeds: Option<Vec<u64>>,
    /// The grid (empty for a list, or a sweep of seeds alone).
    pub grid: Vec<SweptParameter>,
    /// The list form: each point's values, at their positions.
    pub points: Option<Vec<Vec<Override>>>,
}

impl SweepSpec {
    /// The section as a spec; `key_at` gives a path's key position in the file.
    pub fn of(section: &SweepSection, key_at: &dyn Fn(&str) -> Option<Position>) -> SweepSpec {
        let seeds = section.seeds.as_ref().and_then(|v| seeds_of(v).ok());
        let grid = section.parameters.as_ref().map_or_else(Vec::new, |grid| {
            grid.0
                .iter()
                .map(|(path, values)| SweptParameter {
                    path: path.clone(),
                    values: values.clone(),
                    origin: key_at(&format!("sweep.parameters.{path}")),
                })
                .collect()
        });
        let points = section.points.as_ref().map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, point)| {
                    point
                        .0
                        .iter()
                        .map(|(path, value)| Override {
                            path: path.clone(),
                            value: value.clone(),
                            origin: key_at(&format!("sweep.points[{i}].{path}")),
                        })
                        .collect()
                })
                .collect()
        });
        SweepSpec { seeds, grid, points }
    }

    /// Every value the section sets, each alone: what loading the file
    /// checks (a path that leads nowhere, a value no point may take).
    pub fn each_value(&self) -> Vec<Override> {
        let mut all: Vec<Override> = self
            .grid
            .iter()
            .flat_map(|p| {
                p.values.iter().map(|v| Override { path: p.path.clone(), value: v.clone(), origin: p.origin })
            })
            .collect();
        for point in self.points.iter().flatten() {
            for o in point {
                if !all.iter().any(|a| a.path == o.path && a.value == o.value) {
                    all.push(o.clone());
                }
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_an_inclusive_range_a_comma_list_or_one_number() {
        assert_eq!(parse_seeds("1..5").unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(parse_seeds("1..=3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_seeds("7..7").unwrap(), vec![7]);
        assert_eq!(parse_seeds("1,2,5").unwrap(), vec![1, 2, 5]);
        assert_eq!(parse_seeds(" 42 ").unwrap(), vec![42]);
        assert_eq!(parse_seeds("1..100").unwrap().len(), 100);
    }

    #[test]
    fn bad_seeds_say_what_is_wrong() {
        assert!(parse_seeds("5..1").unwrap_err().contains("empty"), "a backwards range");
        assert!(parse_seeds("1..x").unwrap_err().contains("'x' is not a seed"));
        assert!(parse_seeds("1,-2").unwrap_err().contains("'-2' is not a seed"));
        assert!(parse_seeds("").unwrap_err().contains("is not a seed"));
        assert!(parse_seeds("1,2,1").unwrap_err().contains("seed 1 is given twice"));
        assert!(parse_seeds("0..100000000").unwrap_err().contains("more than"));
        assert!(parse_seeds("99999999999999999999").unwrap_err().contains("is too big: seeds are at most"));
        assert!(seeds_of(&ConfigValue::List(vec![ConfigValue::Integer(1), ConfigValue::Float(2.5)])).is_err());
        assert_eq!(seeds_of(&ConfigValue::Integer(3)).unwrap(), vec![3]);
    }
}
