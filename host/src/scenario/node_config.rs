//! [`NodeConfig`]: a node's `config:` map, shared. The members of a
//! `count:` entry whose configs come out equal hold one map between them
//! (`expand`, `resolve`), so ten million sensors of a hundred thousand
//! distinct configs hold a hundred thousand maps, not ten million. It
//! reads as the map it is (`Deref`), in key order; a write copies a
//! shared map first, so no node's change reaches another.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::config_value::ConfigValue;

/// A node's `config:` map; cloning it shares it.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeConfig(Arc<BTreeMap<String, ConfigValue>>);

impl NodeConfig {
    /// The map to change, copied first if another node shares it.
    pub fn make_mut(&mut self) -> &mut BTreeMap<String, ConfigValue> {
        Arc::make_mut(&mut self.0)
    }

    /// Whether `self` and `other` are one shared map.
    pub fn shares(&self, other: &NodeConfig) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The address of the shared map: equal for configs that share one.
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

impl Deref for NodeConfig {
    type Target = BTreeMap<String, ConfigValue>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<BTreeMap<String, ConfigValue>> for NodeConfig {
    fn from(map: BTreeMap<String, ConfigValue>) -> Self {
        NodeConfig(Arc::new(map))
    }
}

impl FromIterator<(String, ConfigValue)> for NodeConfig {
    fn from_iter<I: IntoIterator<Item = (String, ConfigValue)>>(iter: I) -> Self {
        NodeConfig::from(iter.into_iter().collect::<BTreeMap<_, _>>())
    }
}

impl<'a> IntoIterator for &'a NodeConfig {
    type Item = (&'a String, &'a ConfigValue);
    type IntoIter = std::collections::btree_map::Iter<'a, String, ConfigValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for NodeConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for NodeConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(d).map(NodeConfig::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_to_a_shared_config_is_the_writers_alone() {
        let a: NodeConfig = [("rate".to_string(), ConfigValue::Integer(10))].into_iter().collect();
        let mut b = a.clone();
        assert!(a.shares(&b));
        b.make_mut().insert("rate".into(), ConfigValue::Integer(20));
        assert!(!a.shares(&b));
        assert_eq!(a.get("rate"), Some(&ConfigValue::Integer(10)));
        assert_eq!(b.get("rate"), Some(&ConfigValue::Integer(20)));
        assert_eq!(format!("{a:?}"), r#"{"rate": Integer(10)}"#);
    }
}
