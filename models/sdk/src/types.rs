//! The contract's types as plain Rust, shared by native and WASM builds.

use std::collections::BTreeMap;
use std::fmt;

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

impl fmt::Display for ConfigValue {
    /// As an error message quotes it: `42`, `2.5`, `true`, `the text "abc"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Boolean(b) => write!(f, "{b}"),
            ConfigValue::Integer(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x}"),
            ConfigValue::Text(s) => write!(f, "the text {s:?}"),
            ConfigValue::Json(j) => write!(f, "the list or map {j}"),
        }
    }
}

impl From<bool> for ConfigValue {
    fn from(value: bool) -> Self {
        ConfigValue::Boolean(value)
    }
}

impl From<i64> for ConfigValue {
    fn from(value: i64) -> Self {
        ConfigValue::Integer(value)
    }
}

impl From<i32> for ConfigValue {
    fn from(value: i32) -> Self {
        ConfigValue::Integer(value.into())
    }
}

impl From<f64> for ConfigValue {
    fn from(value: f64) -> Self {
        ConfigValue::Float(value)
    }
}

impl From<&str> for ConfigValue {
    fn from(value: &str) -> Self {
        ConfigValue::Text(value.to_string())
    }
}

impl From<String> for ConfigValue {
    fn from(value: String) -> Self {
        ConfigValue::Text(value)
    }
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

/// How much a log line matters, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}
