//! The built-in models compiled natively, behind the same [`NodeGroup`]
//! contract: the physical limit the WASM runtime is measured against.
//!
//! Not a sandbox: benchmarks only. But the same work as the WASM runtime's:
//! each node reads the virtual time and draws from its own ChaCha20 stream,
//! seeded as its component's `wasi:random/random` is (through the SDK's
//! `now_us` and `random_u64`: see `xedgesim_model::native`), so a native
//! run gives the same trace as the WASM run (a test), and neither side
//! pays for system calls the other does not make.

use std::collections::BTreeMap;

use xedgesim_model::NodeModel;
use xedgesim_model::native::{NodeEnv, entered};

use super::wasm::NodeSpec;
use super::{FaultKind, Interrupted, LogLine, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput};
use crate::scenario::ConfigValue;
use crate::seed::{Stream, derive_seed, restart_id};

/// Nodes of one natively compiled model.
#[derive(Debug)]
pub struct NativeGroup<M> {
    ids: Vec<String>,
    models: Vec<M>,
    /// Each node's virtual time and random stream (`None` only while its code runs).
    envs: Vec<Option<NodeEnv>>,
    usage: Vec<NodeUsage>,
    results: Vec<Result<StepOutput, NodeFault>>,
    scenario_seed: u64,
}

/// A node config as the model SDK types it.
pub fn model_config(config: &BTreeMap<String, ConfigValue>) -> xedgesim_model::Config {
    use xedgesim_model::ConfigValue as Model;
    config
        .iter()
        .map(|(key, value)| {
            let value = match value {
                ConfigValue::Bool(b) => Model::Boolean(*b),
                ConfigValue::Integer(i) => Model::Integer(*i),
                ConfigValue::Float(f) => Model::Float(*f),
                ConfigValue::Text(s) => Model::Text(s.clone()),
                other => Model::Json(other.to_json()),
            };
            (key.clone(), value)
        })
        .collect()
}

impl<M: NodeModel> NativeGroup<M> {
    pub fn new(scenario_seed: u64, nodes: &[NodeSpec<'_>]) -> Result<Self, NodeFault> {
        let mut models = Vec::with_capacity(nodes.len());
        let mut envs = Vec::with_capacity(nodes.len());
        for spec in nodes {
            let mut env = Some(NodeEnv::new(derive_seed(scenario_seed, spec.id, Stream::WasiRandom)));
            let made = entered(&mut env, 0, || M::new(spec.id, &model_config(spec.config)));
            envs.push(env);
            let model = made.map_err(|detail| NodeFault {
                node: spec.id.to_string(),
                time_us: 0,
                kind: FaultKind::Config,
                detail,
            })?;
            models.push(model);
        }
        Ok(NativeGroup {
            ids: nodes.iter().map(|n| n.id.to_string()).collect(),
            models,
            envs,
            usage: vec![NodeUsage::default(); nodes.len()],
            results: Vec::new(),
            scenario_seed,
        })
    }
}

impl<M: NodeModel + Send> NodeGroup for NativeGroup<M> {
    fn node_ids(&self) -> &[String] {
        &self.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        self.results = calls
            .into_iter()
            .map(|call| {
                self.usage[call.index].steps += 1;
                let fault =
                    |kind, detail| NodeFault { node: self.ids[call.index].clone(), time_us: call.now_us, kind, detail };
                let model = &mut self.models[call.index];
                match entered(&mut self.envs[call.index], call.now_us, || model.step(call.now_us, call.inbox)) {
                    Err(detail) => Err(fault(FaultKind::ModelError, detail)),
                    Ok(out) if out.wake_at_us.is_some_and(|t| t < call.now_us) => {
                        Err(fault(FaultKind::WakeInPast { wake_at_us: out.wake_at_us.unwrap_or(0) }, String::new()))
                    }
                    Ok(out) => Ok(out),
                }
            })
            .collect();
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        Ok(std::mem::take(&mut self.results))
    }

    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        indexes
            .iter()
            .map(|&index| {
                let model = &mut self.models[index];
                Ok(entered(&mut self.envs[index], now_us, || model.finish()))
            })
            .collect()
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        Vec::new()
    }

    fn usage(&self, index: usize) -> NodeUsage {
        self.usage[index]
    }

    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault> {
        let id = self.ids[index].clone();
        let seed = derive_seed(self.scenario_seed, &restart_id(&id, restarts), Stream::WasiRandom);
        self.envs[index] = Some(NodeEnv::new(seed));
        let made = entered(&mut self.envs[index], now_us, || M::new(&id, &model_config(config)));
        self.models[index] =
            made.map_err(|detail| NodeFault { node: id.clone(), time_us: now_us, kind: FaultKind::Config, detail })?;
        Ok(())
    }
}

/// A native group of the built-in model `name`, if there is one.
pub fn builtin_native(
    name: &str,
    scenario_seed: u64,
    nodes: &[NodeSpec<'_>],
) -> Option<Result<Box<dyn NodeGroup>, NodeFault>> {
    fn boxed<M: NodeModel + Send>(seed: u64, nodes: &[NodeSpec<'_>]) -> Result<Box<dyn NodeGroup>, NodeFault> {
        NativeGroup::<M>::new(seed, nodes).map(|g| Box::new(g) as Box<dyn NodeGroup>)
    }
    Some(match name {
        "sensor" => boxed::<xedgesim_model_sensor::Sensor>(scenario_seed, nodes),
        "gateway" => boxed::<xedgesim_model_gateway::Gateway>(scenario_seed, nodes),
        "cloud" => boxed::<xedgesim_model_cloud::Cloud>(scenario_seed, nodes),
        "broker" => boxed::<xedgesim_model_broker::Broker>(scenario_seed, nodes),
        // Benchmarks only: the engine's own cost per delivery.
        "relay" => boxed::<super::relay::Relay>(scenario_seed, nodes),
        _ => return None,
    })
}
