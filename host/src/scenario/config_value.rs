//! A value in a node's free-form `config:` map (and a few other places
//! where the file format takes "any scalar"). Ordered and comparable so
//! maps of them iterate deterministically.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Any YAML value a `config:` map may hold.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ConfigValue {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
    List(Vec<ConfigValue>),
    Map(BTreeMap<String, ConfigValue>),
    Null(()),
}

impl PartialEq for ConfigValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for ConfigValue {}

impl PartialOrd for ConfigValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ConfigValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Floats compare by total order, so NaN keys stay deterministic.
        fn rank(v: &ConfigValue) -> u8 {
            match v {
                ConfigValue::Null(()) => 0,
                ConfigValue::Bool(_) => 1,
                ConfigValue::Integer(_) => 2,
                ConfigValue::Float(_) => 3,
                ConfigValue::Text(_) => 4,
                ConfigValue::List(_) => 5,
                ConfigValue::Map(_) => 6,
            }
        }
        use ConfigValue::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a.cmp(b),
            (Integer(a), Integer(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (List(a), List(b)) => a.cmp(b),
            (Map(a), Map(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

impl ConfigValue {
    /// The value as a plain scalar string (for environment variables and
    /// port numbers); `None` for lists, maps and null.
    pub fn as_scalar_string(&self) -> Option<String> {
        match self {
            ConfigValue::Bool(b) => Some(b.to_string()),
            ConfigValue::Integer(i) => Some(i.to_string()),
            ConfigValue::Float(f) => Some(f.to_string()),
            ConfigValue::Text(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The value as JSON text: how nested values reach a model.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("config values are always representable as JSON")
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_scalar_string() {
            Some(s) => f.write_str(&s),
            None => f.write_str(&self.to_json()),
        }
    }
}
