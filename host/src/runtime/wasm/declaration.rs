//! A component's config declaration, read from its optional
//! `xedgesim:node/declaration` export in a sandbox of its own, before any
//! node is made (see `declaration` in `wit/node.wit`).

use wasmtime::Store;

use super::bindings::declared::exports::xedgesim::node::declaration as wit;
use super::component::ModelComponent;
use super::error::WasmError;
use super::interrupt;
use super::runtime::WasmRuntime;
use super::state::NodeState;
use crate::scenario::{Declaration, DeclaredKey, MAX_DECLARED_KEYS, SandboxLimits, ValueKind};

impl WasmRuntime {
    /// What `component` declares about its config: `None` when it does not
    /// export the declaration, or declares `none`. The call runs as no
    /// node, within one step's fuel and the node's memory limit.
    pub fn declaration(
        &self,
        component: &ModelComponent,
        limits: SandboxLimits,
    ) -> Result<Option<Declaration>, WasmError> {
        let unusable = |reason: String| WasmError::Declaration { component: component.name.clone(), reason };
        let instance_pre = component.pre.instance_pre();
        let exports_one = component
            .pre
            .instance_pre()
            .component()
            .component_type()
            .exports(self.engine())
            .any(|(name, _)| name.starts_with("xedgesim:node/declaration@"));
        if !exports_one {
            return Ok(None);
        }
        // Exported, but not as this host reads it: said, not ignored.
        let indices = wit::GuestIndices::new(instance_pre)
            .map_err(|e| unusable(format!("its `declaration` export does not match this host's: {e:#}")))?;
        let memory = usize::try_from(limits.memory_limit_mb << 20).unwrap_or(usize::MAX);
        let mut state = NodeState::new(0, memory);
        // What it logs while read goes nowhere, but within a budget, as a
        // node's would: a line logged is not a fault.
        state.add_node(0, "", limits.max_log_bytes);
        let mut store = Store::new(self.engine(), state);
        store.limiter(NodeState::limiter);
        interrupt::arm(&mut store);
        store.set_fuel(limits.fuel_per_step).map_err(|e| unusable(format!("{e:#}")))?;
        let instance = instance_pre.instantiate(&mut store).map_err(|e| unusable(format!("{e:#}")))?;
        let guest = indices.load(&mut store, &instance).map_err(|e| unusable(format!("{e:#}")))?;
        let Some(packed) = guest.call_config_keys(&mut store).map_err(|e| unusable(format!("{e:#}")))? else {
            return Ok(None);
        };
        unpack(packed).map(Some).map_err(unusable)
    }
}

/// Most bytes of a key's name and default, and of its documentation.
const MAX_NAME_BYTES: u32 = 256;
const MAX_DOC_BYTES: u32 = 4_096;

/// The declaration from its packed form, every range checked; control
/// characters in the documentation escaped (it reaches the terminal).
fn unpack(packed: wit::ConfigDeclaration) -> Result<Declaration, String> {
    if packed.keys.len() > MAX_DECLARED_KEYS {
        return Err(format!("it declares {} keys; at most {MAX_DECLARED_KEYS} are read", packed.keys.len()));
    }
    let text = |start: u32, len: u32, limit: u32, what: &str| -> Result<String, String> {
        if len > limit {
            return Err(format!("a key's {what} is {len} bytes; at most {limit} are read"));
        }
        let bytes = packed
            .text
            .get(start as usize..start as usize + len as usize)
            .ok_or_else(|| format!("a key's {what} lies outside the declaration's text"))?;
        let s = std::str::from_utf8(bytes).map_err(|_| format!("a key's {what} is not UTF-8"))?;
        Ok(crate::text::escape_controls(s))
    };
    let mut keys = Vec::with_capacity(packed.keys.len());
    for k in &packed.keys {
        let name = text(k.name_start, k.name_len, MAX_NAME_BYTES, "name")?;
        if name.is_empty() || name.contains('\\') {
            return Err(format!("a key's name is empty or holds control characters: {name:?}"));
        }
        keys.push(DeclaredKey {
            name,
            kind: match k.kind {
                wit::ValueKind::Boolean => ValueKind::Boolean,
                wit::ValueKind::Integer => ValueKind::Integer,
                wit::ValueKind::Number => ValueKind::Number,
                wit::ValueKind::Text => ValueKind::Text,
                wit::ValueKind::Json => ValueKind::Json,
            },
            default_value: if k.has_default {
                Some(text(k.default_start, k.default_len, MAX_NAME_BYTES, "default")?)
            } else {
                None
            },
            required: k.required,
            names_node: k.names_node,
            doc: text(k.doc_start, k.doc_len, MAX_DOC_BYTES, "documentation")?,
        });
    }
    let mut seen: std::collections::BTreeMap<&str, &DeclaredKey> = std::collections::BTreeMap::new();
    for key in &keys {
        if let Some(first) = seen.insert(&key.name, key) {
            let how = if first == key {
                "twice, alike".to_string()
            } else if first.kind != key.kind {
                format!("twice, as {} and as {}", first.kind.name(), key.kind.name())
            } else {
                "twice, differently".to_string()
            };
            return Err(format!("it declares the key `{}` {how}: declare each key once", key.name));
        }
    }
    Ok(Declaration { keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: (u32, u32), doc: (u32, u32)) -> wit::ConfigKey {
        wit::ConfigKey {
            name_start: name.0,
            name_len: name.1,
            kind: wit::ValueKind::Number,
            has_default: false,
            default_start: 0,
            default_len: 0,
            required: false,
            names_node: false,
            doc_start: doc.0,
            doc_len: doc.1,
        }
    }

    #[test]
    fn a_packed_declaration_is_read_within_its_bounds() {
        let text = b"threshold\x1b[2Jabove it".to_vec();
        let read = unpack(wit::ConfigDeclaration { keys: vec![key((0, 9), (9, 12))], text: text.clone() }).unwrap();
        assert_eq!(read.keys[0].name, "threshold");
        assert!(!read.keys[0].doc.contains('\x1b'), "controls escaped: {:?}", read.keys[0].doc);
        // A range outside the text, a name past its bound, too many keys: refused, not read.
        let outside = unpack(wit::ConfigDeclaration { keys: vec![key((0, 99), (0, 0))], text: text.clone() });
        assert!(outside.unwrap_err().contains("outside the declaration's text"));
        let long = vec![b'a'; 300];
        let too_long = unpack(wit::ConfigDeclaration { keys: vec![key((0, 300), (0, 0))], text: long });
        assert!(too_long.unwrap_err().contains("at most 256"));
        let many = unpack(wit::ConfigDeclaration { keys: vec![key((0, 1), (0, 0)); 1_001], text: text.clone() });
        assert!(many.unwrap_err().contains("at most 1000"));
        // One name twice: refused, not read as the first.
        let twice = unpack(wit::ConfigDeclaration { keys: vec![key((0, 9), (9, 3)), key((0, 9), (9, 12))], text });
        assert_eq!(twice.unwrap_err(), "it declares the key `threshold` twice, differently: declare each key once");
    }
}
