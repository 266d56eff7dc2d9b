//! [`Declaration`]: what a model says its `config:` map takes — each key's
//! kind, default, whether it is required and whether it names another
//! node (`declaration` in `wit/node.wit`). The built-in models' come from
//! their crates; a component's from its `config-keys` export, read by the
//! runtime. `validate` checks every node's config against its model's.

use std::sync::OnceLock;

use serde::Serialize;
pub use xedgesim_model::ValueKind;

use super::config_value::ConfigValue;
use super::resolved::NodeKind;

/// Most keys a declaration may have: a model's config is written by hand.
pub const MAX_DECLARED_KEYS: usize = 1_000;

/// One declared key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeclaredKey {
    pub name: String,
    #[serde(serialize_with = "kind_name")]
    pub kind: ValueKind,
    /// As YAML would write it; documentation (the model applies it).
    pub default_value: Option<String>,
    pub required: bool,
    pub names_node: bool,
    pub doc: String,
}

fn kind_name<S: serde::Serializer>(kind: &ValueKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

/// Every key a model's config takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Declaration {
    pub keys: Vec<DeclaredKey>,
}

impl Declaration {
    /// From a model crate's constant (the built-in models').
    pub fn from_sdk(keys: &[xedgesim_model::ConfigKey]) -> Self {
        Declaration {
            keys: keys
                .iter()
                .map(|k| DeclaredKey {
                    name: k.name.to_string(),
                    kind: k.kind,
                    default_value: k.default.map(|d| d.to_string()),
                    required: k.required,
                    names_node: k.names_node,
                    doc: k.doc.to_string(),
                })
                .collect(),
        }
    }

    /// The built-in model of `kind`'s declaration, made once.
    pub fn builtin(kind: &NodeKind) -> Option<&'static Declaration> {
        static SENSOR: OnceLock<Declaration> = OnceLock::new();
        static GATEWAY: OnceLock<Declaration> = OnceLock::new();
        static BROKER: OnceLock<Declaration> = OnceLock::new();
        static CLOUD: OnceLock<Declaration> = OnceLock::new();
        let cell = match kind {
            NodeKind::Sensor => &SENSOR,
            NodeKind::Gateway => &GATEWAY,
            NodeKind::Broker => &BROKER,
            NodeKind::Cloud => &CLOUD,
            NodeKind::Custom(_) => return None,
        };
        Some(cell.get_or_init(|| Declaration::from_sdk(kind.config_keys().expect("a built-in kind has keys"))))
    }

    pub fn key(&self, name: &str) -> Option<&DeclaredKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.name.as_str()).collect()
    }

    /// The reference of this model's config as a Markdown table.
    pub fn markdown_table(&self) -> String {
        if self.keys.is_empty() {
            return "Takes no config keys.\n".to_string();
        }
        let mut out = String::from("| key | kind | default | what it is |\n| --- | --- | --- | --- |\n");
        for k in &self.keys {
            let default = match (&k.default_value, k.required) {
                (_, true) => "required".to_string(),
                (Some(d), false) => format!("`{d}`"),
                (None, false) => "—".to_string(),
            };
            let kind = if k.names_node { "a node id".to_string() } else { k.kind.name().to_string() };
            out.push_str(&format!("| `{}` | {kind} | {default} | {} |\n", k.name, k.doc.replace('|', "\\|")));
        }
        out
    }
}

/// Whether `value` is of `kind`.
pub fn fits(kind: ValueKind, value: &ConfigValue) -> bool {
    matches!(
        (kind, value),
        (ValueKind::Boolean, ConfigValue::Bool(_))
            | (ValueKind::Integer, ConfigValue::Integer(_))
            | (ValueKind::Number, ConfigValue::Integer(_) | ConfigValue::Float(_))
            | (ValueKind::Text, ConfigValue::Text(_))
            | (ValueKind::Json, ConfigValue::List(_) | ConfigValue::Map(_))
    )
}

/// `value` as an error message quotes it.
pub fn describe(value: &ConfigValue) -> String {
    match value {
        ConfigValue::Bool(b) => b.to_string(),
        ConfigValue::Integer(i) => i.to_string(),
        ConfigValue::Float(x) => x.to_string(),
        ConfigValue::Text(s) => format!("the text {s:?}"),
        ConfigValue::List(_) => "a list".to_string(),
        ConfigValue::Map(_) => "a map".to_string(),
        ConfigValue::Null(()) => "nothing (null)".to_string(),
    }
}
