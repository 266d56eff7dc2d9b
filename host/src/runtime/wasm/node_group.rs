//! [`WasmNodeGroup`]: nodes living in one `Store` — one sandbox.
//!
//! A `Store` owns one instance of a component and every node resource made
//! in it. A trap poisons the whole store, so nodes that share a store fail
//! together: one node per store isolates faults; many nodes per store
//! (a "shared sandbox") costs far less memory and lets one call step them
//! all. Nothing else about packing shows: the guest says whose code runs
//! (`running.rs`), and each node keeps its own random streams, log, fuel
//! budget and blame. See docs/sandbox.md.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceAny;
use wasmtime::{Store, Trap};

use super::bindings::NodeModel;
use super::component::ModelComponent;
use super::convert;
use super::data_files::DataFiles;
use super::imports::HostCallRefused;
use super::interrupt;
use super::limiter::{MAX_TABLE_ELEMENTS, MemoryCapExceeded, TableCapExceeded};
use super::log_sink::LOG_LIMIT_TRAP;
use super::running::{Part, SandboxMisuse};
use super::runtime::{RealTimeWait, WasmRuntime};
use super::state::{NodeState, NodeStreams, OutboxOverflow};
use crate::runtime::{FaultKind, Interrupted, LogLine, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput};
use crate::scenario::{ConfigValue, SandboxLimits};
use crate::seed::restart_id;

/// A node to create in a group.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpec<'a> {
    pub id: &'a str,
    pub config: &'a BTreeMap<String, ConfigValue>,
}

pub(super) struct Slot {
    resource: ResourceAny,
    /// What [`NodeGroup::usage`] reports: steps and fuel (a whole
    /// `NodeUsage` a node would be 176 bytes of mostly `None`s).
    pub(super) steps: u64,
    pub(super) fuel_used: u64,
    /// Set by the node's first fault (in `call` or `finish_step`, where
    /// every fault is born): a faulted node is never stepped again.
    pub(super) stopped: bool,
    /// Messages it has been handed over the run: `finish` may have to go
    /// over all of them (a sink's percentiles), so its budget grows with them.
    messages_in: u64,
    /// Fuel its last step's own code used (its compute time, `cpu:`).
    pub(super) last_step_fuel: u64,
}

/// Nodes of one component in one store.
pub struct WasmNodeGroup {
    pub(super) store: Store<NodeState>,
    model: NodeModel,
    ids: Vec<String>,
    pub(super) slots: Vec<Slot>,
    limits: SandboxLimits,
    /// Set once a fault has poisoned the store: the node that caused it.
    pub(super) poisoned_by: Option<(String, u64)>,
    /// Results of the last `submit`, until `collect`.
    results: Vec<Result<StepOutput, NodeFault>>,
    /// Set by `finish`: the guest writes nothing more.
    finished: bool,
    /// Set when the user's stop cut a guest call short: the store can run
    /// nothing more, and the run ends.
    pub(super) interrupted: bool,
    /// The run's seed: a restarted node's streams are derived from it.
    scenario_seed: u64,
    /// The folder its guest sees as `/data`, kept while the store lives
    /// (shared, read-only, by every sandbox of the same files).
    _data: Option<Arc<DataFiles>>,
}

impl std::fmt::Debug for WasmNodeGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmNodeGroup").field("ids", &self.ids).finish_non_exhaustive()
    }
}

impl WasmNodeGroup {
    /// Instantiates `component` in a new store and makes `nodes` in it (at
    /// virtual time 0). `limits` bound each node's calls; the memory cap is
    /// for the whole store. Each node's randomness is seeded from
    /// `scenario_seed` and its id, as in a store of its own.
    pub fn new(
        runtime: &WasmRuntime,
        component: &ModelComponent,
        scenario_seed: u64,
        nodes: &[NodeSpec<'_>],
        limits: SandboxLimits,
    ) -> Result<Self, NodeFault> {
        Self::with_data(runtime, component, scenario_seed, nodes, limits, None)
    }

    /// As [`WasmNodeGroup::new`], the guest seeing `data` read-only at
    /// `/data` (the nodes' `wasm.files`; nodes of one store share them).
    pub fn with_data(
        runtime: &WasmRuntime,
        component: &ModelComponent,
        scenario_seed: u64,
        nodes: &[NodeSpec<'_>],
        limits: SandboxLimits,
        data: Option<Arc<DataFiles>>,
    ) -> Result<Self, NodeFault> {
        let first = nodes.first().expect("a group has at least one node").id;
        let memory = usize::try_from(limits.memory_limit_mb << 20).unwrap_or(usize::MAX);
        let mut state =
            NodeState::with_data(scenario_seed, memory, data.as_deref().map(DataFiles::dir)).map_err(|e| {
                NodeFault {
                    node: first.to_string(),
                    time_us: 0,
                    kind: FaultKind::Config,
                    detail: format!("cannot open its data files: {e:#}"),
                }
            })?;
        state.outbox_limits = (u64::from(limits.max_outbox_messages), limits.max_outbox_bytes);
        state.reserve(nodes.len());
        for spec in nodes {
            state.add_node(scenario_seed, spec.id, limits.max_log_bytes);
        }
        let mut store = Store::new(runtime.engine(), state);
        store.limiter(NodeState::limiter);
        interrupt::arm(&mut store);
        // Start functions run as no node: the first node's account would make
        // what they do depend on packing.
        let fault = |store: &Store<NodeState>, e: wasmtime::Error| {
            classify(store, first, 0, 0, limits.fuel_per_step, &limits, &e)
        };
        store.set_fuel(limits.fuel_per_step).map_err(|e| fault(&store, e))?;
        let model = component.pre.instantiate(&mut store).map_err(|e| fault(&store, e))?;
        // An empty batch, as no node, before any node is made: a language
        // runtime that sets itself up on its first call (CPython seeds its
        // `random` from WASI then) does it here, on the instance's own
        // stream, so what each node draws never depends on whether it was
        // its instance's first node.
        store.set_fuel(limits.fuel_per_step).map_err(|e| fault(&store, e))?;
        model.xedgesim_node_model().call_step_batch(&mut store, &[]).map_err(|e| fault(&store, e))?;
        let mut group = WasmNodeGroup {
            store,
            model,
            ids: nodes.iter().map(|spec| spec.id.to_string()).collect(),
            slots: Vec::with_capacity(nodes.len()),
            limits,
            poisoned_by: None,
            results: Vec::new(),
            finished: false,
            interrupted: false,
            scenario_seed,
            _data: data,
        };
        for (index, spec) in nodes.iter().enumerate() {
            let config = convert::config(spec.config);
            let made = group.call(0, &[(index, limits.fuel_per_step)], |model, store| {
                model.xedgesim_node_model().node().call_constructor(store, spec.id, &config)
            });
            let resource = match made {
                Ok((Ok(resource), _)) => resource,
                Ok((Err(message), _)) => {
                    return Err(NodeFault {
                        node: spec.id.to_string(),
                        time_us: 0,
                        kind: FaultKind::Config,
                        detail: convert::guest_text(message),
                    });
                }
                Err(fault) => return Err(fault),
            };
            group.slots.push(Slot {
                resource,
                steps: 0,
                fuel_used: 0,
                stopped: false,
                messages_in: 0,
                last_step_fuel: 0,
            });
        }
        Ok(group)
    }

    /// Why node `index` cannot run any more, if it cannot.
    fn refusal(&self, index: usize, now_us: u64) -> Option<NodeFault> {
        let kind = match &self.poisoned_by {
            _ if self.interrupted => FaultKind::Interrupted,
            _ if self.slots[index].stopped => FaultKind::Stopped,
            Some((culprit, _)) => FaultKind::SharedSandbox { culprit: culprit.clone() },
            None => return None,
        };
        Some(NodeFault { node: self.ids[index].clone(), time_us: now_us, kind, detail: String::new() })
    }

    /// Runs one guest call in which the nodes of `parts` (index, fuel
    /// budget) run, in order; returns what each node's own code used (see
    /// `running.rs`). A fault is charged to the node whose code was
    /// running, and poisons the store.
    fn call<R>(
        &mut self,
        now_us: u64,
        parts: &[(usize, u64)],
        f: impl FnOnce(&NodeModel, &mut Store<NodeState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Vec<Part>), NodeFault> {
        // Outside the nodes' own code the guest gets as much again.
        let outside = parts.iter().fold(0u64, |sum, &(_, budget)| sum.saturating_add(budget));
        let state = self.store.data_mut();
        state.clock.set(now_us);
        state.running.begin(parts.iter().copied());
        state.log.enter(parts[0].0, now_us);
        let ran = self.store.set_fuel(outside).and_then(|()| f(&self.model, &mut self.store));
        let left = self.store.get_fuel().unwrap_or(0);
        let inside = self.store.data().running.inside();
        let mut done = self.store.data_mut().running.end(left);
        match ran {
            Ok(r) => {
                if let [only] = &mut done[..]
                    && only.fuel_used.is_none()
                {
                    // A component that never says `enter`: the whole call is its node's.
                    only.fuel_used = Some(outside - left);
                }
                Ok((r, done))
            }
            Err(e) => {
                let (culprit, budget) = match inside {
                    Some(k) => parts[k],
                    None => (parts[0].0, outside),
                };
                let id = &self.ids[culprit];
                let mut fault = classify(&self.store, id, culprit, now_us, budget, &self.limits, &e);
                if inside.is_none() && parts.len() > 1 {
                    let note =
                        "outside every node's own code, in the component's batch code (charged to its first node)";
                    fault.detail =
                        if fault.detail.is_empty() { note.to_string() } else { format!("{note}; {}", fault.detail) };
                }
                self.interrupted |= fault.kind == FaultKind::Interrupted;
                self.poisoned_by = Some((id.clone(), now_us));
                if let Some(slot) = self.slots.get_mut(culprit) {
                    slot.stopped = true;
                }
                Err(fault)
            }
        }
    }

    /// Fuel for one node's step with `inbox_len` messages.
    fn budget(&self, inbox_len: usize) -> u64 {
        self.limits.fuel_per_step.saturating_add(self.limits.fuel_per_message.saturating_mul(inbox_len as u64))
    }

    /// Checks one node's step result against the contract (its messages
    /// were counted against its limits as it sent them).
    fn check_output(&self, index: usize, now_us: u64, out: StepOutput) -> Result<StepOutput, NodeFault> {
        if let Some(wake_at_us) = out.wake_at_us
            && wake_at_us < now_us
        {
            let kind = FaultKind::WakeInPast { wake_at_us };
            return Err(NodeFault { node: self.ids[index].clone(), time_us: now_us, kind, detail: String::new() });
        }
        Ok(out)
    }

    /// Runs a step call (`step` or `step-batch`): the only calls that send.
    fn step_call<R>(
        &mut self,
        now_us: u64,
        parts: &[(usize, u64)],
        f: impl FnOnce(&NodeModel, &mut Store<NodeState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Vec<Part>), NodeFault> {
        self.store.data_mut().stepping = true;
        let result = self.call(now_us, parts, f);
        let state = self.store.data_mut();
        state.stepping = false;
        if result.is_err() {
            // Nothing a faulted call sent is sent.
            state.clear_outboxes();
        }
        result
    }

    /// The messages node `index` sent in its last step.
    fn take_outbox(&mut self, index: usize) -> Vec<crate::runtime::Outgoing> {
        std::mem::take(&mut self.store.data_mut().outboxes[index]).messages
    }
}

/// Turns a failed guest call into a fault naming what happened.
fn classify(
    store: &Store<NodeState>,
    id: &str,
    index: usize,
    now_us: u64,
    budget: u64,
    limits: &SandboxLimits,
    e: &wasmtime::Error,
) -> NodeFault {
    let log = &store.data().log;
    let mut detail = String::new();
    let kind = if log.exhausted(index) || format!("{e:#}").contains(LOG_LIMIT_TRAP) {
        FaultKind::LogLimit { max_log_bytes: limits.max_log_bytes }
    } else if let Some(over) = e.chain().find_map(|c| c.downcast_ref::<OutboxOverflow>()) {
        FaultKind::OutboxLimit { what: over.what, count: over.count, limit: over.limit }
    } else if let Some(misuse) = e.chain().find_map(|c| c.downcast_ref::<SandboxMisuse>()) {
        detail = misuse.0.clone();
        FaultKind::BadBatch
    } else if let Some(refused) = e.chain().find_map(|c| c.downcast_ref::<HostCallRefused>()) {
        detail = refused.0.clone();
        FaultKind::Trap
    } else if e.chain().any(|c| c.downcast_ref::<RealTimeWait>().is_some()) {
        FaultKind::RealTimeWait
    } else if let Some(exit) = e.chain().find_map(|c| c.downcast_ref::<wasmtime_wasi::I32Exit>()) {
        FaultKind::GuestExit { code: exit.0 }
    } else if let Some(trap) = e.downcast_ref::<Trap>() {
        match trap {
            Trap::OutOfFuel => FaultKind::OutOfFuel { budget },
            Trap::StackOverflow => FaultKind::StackOverflow,
            Trap::Interrupt => FaultKind::Interrupted,
            _ => {
                detail = trap.to_string();
                FaultKind::Trap
            }
        }
    } else if e.chain().any(|c| c.downcast_ref::<MemoryCapExceeded>().is_some()) {
        FaultKind::MemoryLimit { memory_limit_mb: limits.memory_limit_mb }
    } else if e.chain().any(|c| c.downcast_ref::<TableCapExceeded>().is_some()) {
        FaultKind::TableLimit { max_elements: MAX_TABLE_ELEMENTS as u64 }
    } else {
        detail = without_backtrace(e);
        FaultKind::Trap
    };
    let stderr = log.stderr_tail();
    if !stderr.is_empty() && kind != (FaultKind::LogLimit { max_log_bytes: limits.max_log_bytes }) {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str(&format!("stderr: {stderr}"));
    }
    NodeFault { node: id.to_string(), time_us: now_us, kind, detail }
}

/// The error's messages without wasmtime's backtrace of anonymous wasm
/// functions ("wasm function 54"), which tells a model author nothing.
fn without_backtrace(e: &wasmtime::Error) -> String {
    let messages: Vec<String> = e
        .chain()
        .map(ToString::to_string)
        .filter(|m| !m.starts_with("error while executing at wasm backtrace"))
        .collect();
    messages.join(": ")
}

impl NodeGroup for WasmNodeGroup {
    fn node_ids(&self) -> &[String] {
        &self.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        // The work happens here: a WASM step never waits on anything.
        self.results = self.step_now(calls);
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        let results = std::mem::take(&mut self.results);
        if self.interrupted {
            return Err(Interrupted);
        }
        Ok(results)
    }

    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        // Fuel bounds `finish`; a run the user is stopping still gets its metrics.
        interrupt::disarm(&mut self.store);
        let results = indexes.iter().map(|&index| self.finish_one(index, now_us)).collect();
        // Nothing more will be written: an unterminated last line is a line too.
        self.finished = true;
        results
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        self.store.data().log.take(self.poisoned_by.is_some() || self.finished)
    }

    fn usage(&self, index: usize) -> NodeUsage {
        let slot = &self.slots[index];
        NodeUsage { steps: slot.steps, fuel_used: Some(slot.fuel_used), ..NodeUsage::default() }
    }

    fn last_step_fuel(&self, index: usize) -> Option<u64> {
        Some(self.slots[index].last_step_fuel)
    }

    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault> {
        if let Some(fault) = self.refusal(index, now_us) {
            return Err(fault);
        }
        let id = self.ids[index].clone();
        self.store.data_mut().reset_streams(index, NodeStreams::new(self.scenario_seed, &restart_id(&id, restarts)));
        let old = self.slots[index].resource;
        let config = convert::config(config);
        // In one call, charged to the node: dropping the old model and making the new one.
        let made = self.call(now_us, &[(index, self.limits.fuel_per_step)], |model, store| {
            old.resource_drop(&mut *store)?;
            model.xedgesim_node_model().node().call_constructor(store, &id, &config)
        });
        let slot = &mut self.slots[index];
        match made {
            Ok((Ok(resource), parts)) => {
                slot.resource = resource;
                slot.messages_in = 0;
                slot.fuel_used += parts[0].fuel_used.unwrap_or(0);
                Ok(())
            }
            Ok((Err(message), _)) => {
                slot.stopped = true;
                Err(NodeFault {
                    node: id,
                    time_us: now_us,
                    kind: FaultKind::Config,
                    detail: convert::guest_text(message),
                })
            }
            Err(fault) => Err(fault),
        }
    }
}

impl WasmNodeGroup {
    fn step_now(&mut self, mut calls: Vec<StepCall>) -> Vec<Result<StepOutput, NodeFault>> {
        // The common case, one node per store, without the bookkeeping below.
        if calls.len() == 1 && self.refusal(calls[0].index, calls[0].now_us).is_none() {
            return vec![self.step_one(calls.pop().expect("one call"))];
        }
        let mut results: Vec<Option<Result<StepOutput, NodeFault>>> = Vec::with_capacity(calls.len());
        let mut live = Vec::with_capacity(calls.len());
        for call in calls {
            match self.refusal(call.index, call.now_us) {
                Some(fault) => results.push(Some(Err(fault))),
                None => {
                    results.push(None);
                    live.push(call);
                }
            }
        }
        let mut outputs = match live.len() {
            0 => Vec::new(),
            1 => vec![self.step_one(live.pop().expect("one call"))],
            _ => self.step_batch(live),
        }
        .into_iter();
        results.into_iter().map(|r| r.unwrap_or_else(|| outputs.next().expect("one output per live call"))).collect()
    }

    fn finish_one(&mut self, index: usize, now_us: u64) -> Result<Vec<Metric>, NodeFault> {
        if let Some(fault) = self.refusal(index, now_us) {
            return Err(fault);
        }
        let resource = self.slots[index].resource;
        let budget = self.budget(usize::try_from(self.slots[index].messages_in).unwrap_or(usize::MAX));
        let (metrics, parts) = self.call(now_us, &[(index, budget)], |model, store| {
            model.xedgesim_node_model().node().call_finish(store, resource)
        })?;
        self.slots[index].fuel_used += parts[0].fuel_used.unwrap_or(0);
        Ok(convert::metrics(metrics))
    }
}

type CallResult<T> = Result<(Result<T, super::bindings::xedgesim::node::types::NodeError>, u64), NodeFault>;

impl WasmNodeGroup {
    fn step_one(&mut self, call: StepCall) -> Result<StepOutput, NodeFault> {
        let (index, now_us) = (call.index, call.now_us);
        self.slots[index].messages_in += call.inbox.len() as u64;
        let resource = self.slots[index].resource;
        let budget = self.budget(call.inbox.len());
        let inbox = convert::inbox(&call.inbox);
        let result = self
            .step_call(now_us, &[(index, budget)], |model, store| {
                model.xedgesim_node_model().node().call_step(store, resource, now_us, &inbox)
            })
            .map(|(out, parts)| (out, parts[0].fuel_used.unwrap_or(0)));
        self.finish_step(index, now_us, result)
    }

    fn finish_step(
        &mut self,
        index: usize,
        now_us: u64,
        result: CallResult<super::bindings::xedgesim::node::types::StepOutput>,
    ) -> Result<StepOutput, NodeFault> {
        let (output, fuel) = result?;
        let slot = &mut self.slots[index];
        slot.last_step_fuel = fuel;
        slot.steps += 1;
        slot.fuel_used += fuel;
        let sent = self.take_outbox(index);
        let checked = match output {
            Ok(out) => self.check_output(index, now_us, StepOutput { outbox: sent, wake_at_us: out.wake_at_us }),
            Err(e) => Err(NodeFault {
                node: self.ids[index].clone(),
                time_us: now_us,
                kind: FaultKind::ModelError,
                detail: convert::guest_text(e.message),
            }),
        };
        // A faulted node is never stepped again (traps are marked in `call`).
        self.slots[index].stopped |= checked.is_err();
        checked
    }

    /// Steps several nodes with one guest call; each node's fuel, log and
    /// randomness are its own (the component says whose code runs).
    fn step_batch(&mut self, calls: Vec<StepCall>) -> Vec<Result<StepOutput, NodeFault>> {
        use super::bindings::exports::xedgesim::node::model::StepCall as WitCall;
        let now_us = calls[0].now_us;
        debug_assert!(calls.iter().all(|c| c.now_us == now_us), "a batch is one instant");
        let parts: Vec<(usize, u64)> = calls.iter().map(|c| (c.index, self.budget(c.inbox.len()))).collect();
        for c in &calls {
            self.slots[c.index].messages_in += c.inbox.len() as u64;
        }
        let indexes: Vec<usize> = parts.iter().map(|&(i, _)| i).collect();
        let wit_calls: Vec<WitCall> = calls
            .into_iter()
            .map(|c| WitCall { node: self.slots[c.index].resource, now_us: c.now_us, inbox: convert::inbox(&c.inbox) })
            .collect();
        let result = self
            .step_call(now_us, &parts, |model, store| model.xedgesim_node_model().call_step_batch(store, &wit_calls));
        match result {
            Err(fault) => self.shared_fate(&indexes, fault),
            Ok((outputs, _)) if outputs.len() != indexes.len() => {
                let detail = format!("`step-batch` answered {} calls with {} results", indexes.len(), outputs.len());
                self.bad_batch(&indexes, now_us, detail)
            }
            Ok((_, done)) if done.iter().any(|p| p.fuel_used.is_none()) => {
                let k = done.iter().position(|p| p.fuel_used.is_none()).expect("one was not entered");
                let detail = format!(
                    "`step-batch` ran call {k} (node '{}') without `enter({k})`: a component must say whose code runs (the `sandbox` interface of wit/node.wit; the SDKs do)",
                    self.ids[indexes[k]]
                );
                self.bad_batch(&indexes, now_us, detail)
            }
            Ok((outputs, done)) => indexes
                .iter()
                .zip(outputs)
                .zip(done)
                .map(|((&i, out), part)| self.finish_step(i, now_us, Ok((out, part.fuel_used.unwrap_or(0)))))
                .collect(),
        }
    }

    /// The component broke the batch contract: no result can be trusted to
    /// be whose, so the batch's first node is charged and the rest stop.
    fn bad_batch(&mut self, indexes: &[usize], now_us: u64, detail: String) -> Vec<Result<StepOutput, NodeFault>> {
        let culprit = self.ids[indexes[0]].clone();
        self.poisoned_by = Some((culprit.clone(), now_us));
        self.store.data_mut().clear_outboxes();
        for &i in indexes {
            self.slots[i].stopped = true;
        }
        let fault = NodeFault { node: culprit, time_us: now_us, kind: FaultKind::BadBatch, detail };
        self.shared_fate(indexes, fault)
    }

    /// The results of a batch a fault ended: the fault for its culprit, and
    /// `shared_sandbox` naming the culprit for every other node of it.
    fn shared_fate(&self, indexes: &[usize], fault: NodeFault) -> Vec<Result<StepOutput, NodeFault>> {
        let (culprit, time_us) = (fault.node.clone(), fault.time_us);
        let mut fault = Some(fault);
        indexes
            .iter()
            .map(|&i| match fault.take_if(|f| f.node == self.ids[i]) {
                Some(fault) => Err(fault),
                None => Err(NodeFault {
                    node: self.ids[i].clone(),
                    time_us,
                    kind: FaultKind::SharedSandbox { culprit: culprit.clone() },
                    detail: String::new(),
                }),
            })
            .collect()
    }
}
