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
        let Ok(indices) = wit::GuestIndices::new(instance_pre) else { return Ok(None) };
        let memory = usize::try_from(limits.memory_limit_mb << 20).unwrap_or(usize::MAX);
        let mut store = Store::new(self.engine(), NodeState::new(0, memory));
        store.limiter(NodeState::limiter);
        interrupt::arm(&mut store);
        store.set_fuel(limits.fuel_per_step).map_err(|e| unusable(format!("{e:#}")))?;
        let instance = instance_pre.instantiate(&mut store).map_err(|e| unusable(format!("{e:#}")))?;
        let guest = indices.load(&mut store, &instance).map_err(|e| unusable(format!("{e:#}")))?;
        let Some(keys) = guest.call_config_keys(&mut store).map_err(|e| unusable(format!("{e:#}")))? else {
            return Ok(None);
        };
        if keys.len() > MAX_DECLARED_KEYS {
            return Err(unusable(format!("it declares {} keys; at most {MAX_DECLARED_KEYS} are read", keys.len())));
        }
        let keys = keys
            .into_iter()
            .map(|k| DeclaredKey {
                name: k.name,
                kind: match k.kind {
                    wit::ValueKind::Boolean => ValueKind::Boolean,
                    wit::ValueKind::Integer => ValueKind::Integer,
                    wit::ValueKind::Number => ValueKind::Number,
                    wit::ValueKind::Text => ValueKind::Text,
                    wit::ValueKind::Json => ValueKind::Json,
                },
                default_value: k.default_value,
                required: k.required,
                names_node: k.names_node,
                doc: k.doc,
            })
            .collect();
        Ok(Some(Declaration { keys }))
    }
}
