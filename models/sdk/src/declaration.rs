//! What a model declares about its `config:` map: each key's name, kind,
//! default, whether it is required and whether it names another node.
//!
//! The declaration is part of the contract (`declaration` in
//! `wit/node.wit`): `xedgesim validate` checks every node's config against
//! it at the key's line in the scenario, and the built-in models'
//! reference (`xedgesim models`) is generated from it. [`ConfigReader`]
//! reads a config by the same declaration, so the words, the checks and
//! the defaults cannot drift apart.
//!
//! [`ConfigReader`]: crate::ConfigReader

use std::fmt;

/// The kind of value a key takes, as the scenario's YAML writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Boolean,
    /// A whole number.
    Integer,
    /// Any number (an integer is accepted).
    Number,
    Text,
    /// A list or map.
    Json,
}

impl ValueKind {
    /// How the reference and error messages name it.
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Boolean => "true or false",
            ValueKind::Integer => "a whole number",
            ValueKind::Number => "a number",
            ValueKind::Text => "text",
            ValueKind::Json => "a list or map",
        }
    }
}

/// A key's default, applied by [`ConfigReader`](crate::ConfigReader) when
/// the key is absent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    Boolean(bool),
    Integer(i64),
    Number(f64),
    Text(&'static str),
}

impl fmt::Display for DefaultValue {
    /// As the scenario's YAML would write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultValue::Boolean(b) => write!(f, "{b}"),
            DefaultValue::Integer(i) => write!(f, "{i}"),
            DefaultValue::Number(n) => write!(f, "{n}"),
            DefaultValue::Text(s) => write!(f, "{s}"),
        }
    }
}

/// One key of a model's `config:` map.
///
/// ```
/// use xedgesim_model::ConfigKey;
/// const CONFIG: &[ConfigKey] = &[
///     ConfigKey::number("threshold", "readings above it are forwarded").default_number(25.0),
///     ConfigKey::text("destination", "where forwarded readings go").required().node_id(),
/// ];
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfigKey {
    pub name: &'static str,
    pub kind: ValueKind,
    pub default: Option<DefaultValue>,
    /// The node cannot be made without it.
    pub required: bool,
    /// The value is another node's id (`validate` checks that it exists).
    pub names_node: bool,
    /// One line for the model's reference.
    pub doc: &'static str,
}

impl ConfigKey {
    const fn of(name: &'static str, kind: ValueKind, doc: &'static str) -> Self {
        ConfigKey { name, kind, default: None, required: false, names_node: false, doc }
    }

    pub const fn boolean(name: &'static str, doc: &'static str) -> Self {
        Self::of(name, ValueKind::Boolean, doc)
    }

    pub const fn integer(name: &'static str, doc: &'static str) -> Self {
        Self::of(name, ValueKind::Integer, doc)
    }

    pub const fn number(name: &'static str, doc: &'static str) -> Self {
        Self::of(name, ValueKind::Number, doc)
    }

    pub const fn text(name: &'static str, doc: &'static str) -> Self {
        Self::of(name, ValueKind::Text, doc)
    }

    pub const fn json(name: &'static str, doc: &'static str) -> Self {
        Self::of(name, ValueKind::Json, doc)
    }

    pub const fn default_bool(mut self, value: bool) -> Self {
        self.default = Some(DefaultValue::Boolean(value));
        self
    }

    pub const fn default_integer(mut self, value: i64) -> Self {
        self.default = Some(DefaultValue::Integer(value));
        self
    }

    pub const fn default_number(mut self, value: f64) -> Self {
        self.default = Some(DefaultValue::Number(value));
        self
    }

    pub const fn default_text(mut self, value: &'static str) -> Self {
        self.default = Some(DefaultValue::Text(value));
        self
    }

    /// The node cannot be made without this key.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The value is another node's id.
    pub const fn node_id(mut self) -> Self {
        self.names_node = true;
        self
    }
}
