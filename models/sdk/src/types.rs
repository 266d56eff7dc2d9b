//! The contract's types as plain Rust, shared by native and WASM builds.

use std::collections::BTreeMap;

/// A node's `config:` map.
pub type Config = BTreeMap<String, ConfigValue>;

/// One value of a node's `config:` map.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    Boolean(bool),
    Integer(i64),
    Float(f64),
    Text(String),
    /// A list or map, as JSON text.
    Json(String),
}

/// Where an outgoing message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// Straight to one node, by id.
    Node(String),
    /// To the subscribers of the message's topic, through the broker.
    Publish,
}

/// A message delivered to a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub source: String,
    pub destination: Address,
    pub topic: String,
    pub payload: Vec<u8>,
    pub sent_us: u64,
}

/// A message a node emits; the host fills in source and send time.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub destination: Address,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// What one step produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutput {
    pub outbox: Vec<Outgoing>,
    /// Step again at this time even if nothing arrives.
    pub wake_at_us: Option<u64>,
}

/// A named number reported at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

impl Metric {
    pub fn new(name: &str, value: f64) -> Self {
        Metric { name: name.to_string(), value }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Typed reads of a config map, rejecting unknown keys and wrong types
/// with messages that name the key.
#[derive(Debug)]
pub struct ConfigReader<'a> {
    config: &'a Config,
    known: &'static [&'static str],
}

impl<'a> ConfigReader<'a> {
    /// Fails if `config` has a key outside `known`.
    pub fn new(config: &'a Config, known: &'static [&'static str]) -> Result<Self, String> {
        for key in config.keys() {
            if !known.contains(&key.as_str()) {
                let takes = if known.is_empty() {
                    "this model takes no config keys".to_string()
                } else {
                    format!("this model takes: {}", known.join(", "))
                };
                return Err(format!("unknown config key '{key}'; {takes}"));
            }
        }
        Ok(ConfigReader { config, known })
    }

    fn get(&self, key: &str) -> Option<&'a ConfigValue> {
        debug_assert!(self.known.contains(&key), "read of undeclared key {key}");
        self.config.get(key)
    }

    /// A number (integer or float).
    pub fn f64(&self, key: &str, default: f64) -> Result<f64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(ConfigValue::Float(f)) => Ok(*f),
            Some(ConfigValue::Integer(i)) => Ok(*i as f64),
            Some(other) => Err(format!("config key '{key}' must be a number; found {other:?}")),
        }
    }

    /// A whole non-negative number.
    pub fn u64(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(ConfigValue::Integer(i)) if *i >= 0 => Ok(*i as u64),
            Some(other) => Err(format!("config key '{key}' must be a whole number >= 0; found {other:?}")),
        }
    }

    pub fn text(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(ConfigValue::Text(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("config key '{key}' must be text; found {other:?}")),
        }
    }

    pub fn optional_f64(&self, key: &str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.f64(key, 0.0).map(Some),
        }
    }
}
