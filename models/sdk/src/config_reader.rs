//! [`ConfigReader`]: typed reads of a node's `config:` map, refusing
//! unknown keys and values of the wrong kind with messages that name the
//! key and quote the value.

use crate::declaration::{ConfigKey, DefaultValue, ValueKind};
use crate::{Config, ConfigValue, NodeModel};

/// Reads a config map. Made from a model's declaration
/// ([`declared`](Self::declared), [`of`](Self::of)) it checks every key's
/// kind up front and supplies declared defaults; made from a list of names
/// ([`new`](Self::new)) it checks names only.
#[derive(Debug)]
pub struct ConfigReader<'a> {
    config: &'a Config,
    keys: Keys,
}

#[derive(Debug)]
enum Keys {
    Names(&'static [&'static str]),
    Declared(&'static [ConfigKey]),
    /// The model declares nothing: any key is taken.
    Any,
}

impl<'a> ConfigReader<'a> {
    /// Fails if `config` has a key outside `known`.
    pub fn new(config: &'a Config, known: &'static [&'static str]) -> Result<Self, String> {
        let reader = ConfigReader { config, keys: Keys::Names(known) };
        reader.refuse_unknown(known.iter().copied())?;
        Ok(reader)
    }

    /// Checks `config` against `keys`: no other key, every value of its
    /// key's kind, every required key present.
    pub fn declared(config: &'a Config, keys: &'static [ConfigKey]) -> Result<Self, String> {
        let reader = ConfigReader { config, keys: Keys::Declared(keys) };
        reader.refuse_unknown(keys.iter().map(|k| k.name))?;
        for key in keys {
            match config.get(key.name) {
                Some(value) => check_kind(key, value)?,
                None if key.required => return Err(format!("config key '{}' is required: {}", key.name, key.doc)),
                None => {}
            }
        }
        Ok(reader)
    }

    /// Reads by `M`'s declaration ([`NodeModel::CONFIG`]); takes any key
    /// when `M` declares none.
    pub fn of<M: NodeModel>(config: &'a Config) -> Result<Self, String> {
        match M::CONFIG {
            Some(keys) => Self::declared(config, keys),
            None => Ok(ConfigReader { config, keys: Keys::Any }),
        }
    }

    fn refuse_unknown(&self, known: impl Iterator<Item = &'static str> + Clone) -> Result<(), String> {
        for key in self.config.keys() {
            if !known.clone().any(|k| k == key) {
                let names: Vec<&str> = known.clone().collect();
                let takes = if names.is_empty() {
                    "this model takes no config keys".to_string()
                } else {
                    format!("this model takes: {}", names.join(", "))
                };
                return Err(format!("unknown config key '{key}'; {takes}"));
            }
        }
        Ok(())
    }

    fn declaration(&self, key: &str) -> Option<&'static ConfigKey> {
        match self.keys {
            Keys::Declared(keys) => keys.iter().find(|k| k.name == key),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&'a ConfigValue> {
        debug_assert!(
            match self.keys {
                Keys::Names(names) => names.contains(&key),
                Keys::Declared(keys) => keys.iter().any(|k| k.name == key),
                Keys::Any => true,
            },
            "read of undeclared key {key}"
        );
        self.config.get(key)
    }

    /// The value, or the declared default as a value.
    fn value(&self, key: &str) -> Option<ConfigValue> {
        self.get(key).cloned().or_else(|| {
            Some(match self.declaration(key)?.default? {
                DefaultValue::Boolean(b) => ConfigValue::Boolean(b),
                DefaultValue::Integer(i) => ConfigValue::Integer(i),
                DefaultValue::Number(n) => ConfigValue::Float(n),
                DefaultValue::Text(s) => ConfigValue::Text(s.to_string()),
            })
        })
    }

    fn required<T>(&self, key: &str, value: Result<Option<T>, String>) -> Result<T, String> {
        value?.ok_or_else(|| format!("config key '{key}' is required"))
    }

    /// A number (integer or float): the value, else the declared default.
    pub fn number(&self, key: &str) -> Result<f64, String> {
        self.required(key, self.optional_number(key))
    }

    pub fn optional_number(&self, key: &str) -> Result<Option<f64>, String> {
        match self.value(key) {
            None => Ok(None),
            Some(ConfigValue::Float(f)) => Ok(Some(f)),
            Some(ConfigValue::Integer(i)) => Ok(Some(i as f64)),
            Some(other) => Err(format!("config key '{key}' must be a number; found {other}")),
        }
    }

    /// A whole number >= 0: the value, else the declared default.
    pub fn whole(&self, key: &str) -> Result<u64, String> {
        self.required(key, self.optional_whole(key))
    }

    pub fn optional_whole(&self, key: &str) -> Result<Option<u64>, String> {
        match self.value(key) {
            None => Ok(None),
            Some(ConfigValue::Integer(i)) if i >= 0 => Ok(Some(i as u64)),
            Some(other) => Err(format!("config key '{key}' must be a whole number >= 0; found {other}")),
        }
    }

    /// Text: the value, else the declared default.
    pub fn string(&self, key: &str) -> Result<String, String> {
        self.required(key, self.text(key))
    }

    /// Text, if present (or declared with a default).
    pub fn text(&self, key: &str) -> Result<Option<String>, String> {
        match self.value(key) {
            None => Ok(None),
            Some(ConfigValue::Text(s)) => Ok(Some(s)),
            Some(other) => Err(format!("config key '{key}' must be text; found {other}")),
        }
    }

    /// true or false: the value, else the declared default.
    pub fn boolean(&self, key: &str) -> Result<bool, String> {
        match self.value(key) {
            None => Err(format!("config key '{key}' is required")),
            Some(ConfigValue::Boolean(b)) => Ok(b),
            Some(other) => Err(format!("config key '{key}' must be true or false; found {other}")),
        }
    }

    /// A number, `default` when absent (the form without a declaration).
    pub fn f64(&self, key: &str, default: f64) -> Result<f64, String> {
        self.optional_number(key).map(|v| v.unwrap_or(default))
    }

    /// A whole number >= 0, `default` when absent.
    pub fn u64(&self, key: &str, default: u64) -> Result<u64, String> {
        self.optional_whole(key).map(|v| v.unwrap_or(default))
    }

    pub fn optional_f64(&self, key: &str) -> Result<Option<f64>, String> {
        self.optional_number(key)
    }
}

/// Refuses a value that is not of `key`'s kind.
fn check_kind(key: &ConfigKey, value: &ConfigValue) -> Result<(), String> {
    let fits = matches!(
        (key.kind, value),
        (ValueKind::Boolean, ConfigValue::Boolean(_))
            | (ValueKind::Integer, ConfigValue::Integer(_))
            | (ValueKind::Number, ConfigValue::Integer(_) | ConfigValue::Float(_))
            | (ValueKind::Text, ConfigValue::Text(_))
            | (ValueKind::Json, ConfigValue::Json(_))
    );
    if fits { Ok(()) } else { Err(format!("config key '{}' must be {}; found {value}", key.name, key.kind.name())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[ConfigKey] = &[
        ConfigKey::number("threshold", "t").default_number(25.0),
        ConfigKey::text("destination", "d").required().node_id(),
    ];

    fn config(pairs: &[(&str, ConfigValue)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn declared_reads_defaults_and_refuses_kinds() {
        let c = config(&[("destination", "cloud".into())]);
        let r = ConfigReader::declared(&c, KEYS).unwrap();
        assert_eq!(r.number("threshold").unwrap(), 25.0);
        assert_eq!(r.string("destination").unwrap(), "cloud");

        let bad = config(&[("destination", "cloud".into()), ("threshold", "abc".into())]);
        let e = ConfigReader::declared(&bad, KEYS).unwrap_err();
        assert_eq!(e, "config key 'threshold' must be a number; found the text \"abc\"");

        let e = ConfigReader::declared(&config(&[]), KEYS).unwrap_err();
        assert_eq!(e, "config key 'destination' is required: d");

        let e = ConfigReader::declared(&config(&[("destinaton", "x".into())]), KEYS).unwrap_err();
        assert_eq!(e, "unknown config key 'destinaton'; this model takes: threshold, destination");
    }
}
