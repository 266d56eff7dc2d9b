//! [`GroupState`]: what a group of containers that speak MQTT keeps
//! besides its nodes, client or broker alike (the engine, the run's
//! options, its internal network, the last submit, what clean-up found),
//! and how such a group starts its nodes and goes away.

use std::time::Duration;

use super::container_node::{self, ContainerNode};
use super::network::{self, RunNetwork};
use crate::runtime::docker::engine::DockerEngine;
use crate::runtime::docker::node_group::{DockerNodeSpec, DockerOptions};
use crate::runtime::{FaultKind, LogLine, Metric, NodeFault, ShutdownError, StepOutput};

pub type StepResult = Result<StepOutput, NodeFault>;

/// A node of an MQTT group: its container, and how it becomes ready.
pub trait MqttNode {
    fn base(&self) -> &ContainerNode;

    fn base_mut(&mut self) -> &mut ContainerNode;

    /// What the host counted of it, reported as its metrics.
    fn metrics(&self) -> Vec<Metric>;

    /// Starts its container at virtual `time_us` and waits until it is ready.
    async fn start(&mut self, engine: &DockerEngine, options: &DockerOptions, time_us: u64) -> Result<(), NodeFault>;
}

pub struct GroupState {
    pub engine: DockerEngine,
    pub ids: Vec<String>,
    pub options: DockerOptions,
    pub network: Option<RunNetwork>,
    /// The last submit: each call's index and time, and its result when known at submit.
    pub submitted: Vec<(usize, u64, Option<StepResult>)>,
    /// Problems met while removing faulted containers, reported at shutdown.
    pub cleanup: Vec<ShutdownError>,
    /// Log lines of containers removed since the last `take_logs`.
    pub orphan_logs: Vec<(usize, u64, String)>,
    shut_down: bool,
}

impl GroupState {
    pub fn new(
        engine: &DockerEngine,
        specs: &[DockerNodeSpec<'_>],
        options: DockerOptions,
        network: Option<RunNetwork>,
    ) -> GroupState {
        GroupState {
            engine: engine.clone(),
            ids: specs.iter().map(|s| s.id.to_string()).collect(),
            options,
            network,
            submitted: Vec::new(),
            cleanup: Vec::new(),
            orphan_logs: Vec::new(),
            shut_down: false,
        }
    }

    /// Starts the nodes of `indexes` at once, at virtual `time_us`; their
    /// faults. A start an interrupt cut short leaves its node without a
    /// container and without a fault.
    pub fn start_nodes<N: MqttNode>(
        &self,
        nodes: &mut [N],
        indexes: &[usize],
        time_us: u64,
    ) -> Vec<(usize, NodeFault)> {
        let order: Vec<usize> = (0..nodes.len()).filter(|i| indexes.contains(i)).collect();
        let options = &self.options;
        let starts = nodes
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| order.contains(i))
            .map(|(index, node)| {
                let engine = self.engine.clone();
                async move { (index, node.start(&engine, options, time_us).await) }
            })
            .collect();
        let (started, _) = self.engine.block_on_each_unless(options.interrupt.as_deref(), Duration::ZERO, starts);
        let mut faults = Vec::new();
        for (slot, result) in started.into_iter().enumerate() {
            match result {
                Some((_, Ok(()))) => {}
                Some((index, Err(fault))) => faults.push((index, fault)),
                None => nodes[order[slot]].base_mut().cut_short = true,
            }
        }
        faults
    }

    /// Stops node `index` (`base`) for good: its container is removed, its last log lines kept.
    pub fn retire(&mut self, base: &mut ContainerNode, index: usize) {
        base.retire(&self.engine, index, &mut self.orphan_logs, &mut self.cleanup);
    }

    /// Each node of `indexes` its metrics, its container's resource
    /// figures read first; a node without a container (a fault stopped it)
    /// has its `stopped` fault instead.
    pub fn finish<N: MqttNode>(
        &self,
        nodes: &mut [N],
        indexes: &[usize],
        now_us: u64,
    ) -> Vec<Result<Vec<Metric>, NodeFault>> {
        let mut bases: Vec<&mut ContainerNode> = nodes.iter_mut().map(MqttNode::base_mut).collect();
        container_node::read_resources(&self.engine, &mut bases, indexes, self.options.interrupt.as_deref());
        indexes
            .iter()
            .map(|&index| {
                let base = nodes[index].base();
                if base.container.is_none() && !base.cut_short {
                    Err(base.fault(now_us, FaultKind::Stopped, String::new()))
                } else {
                    Ok(nodes[index].metrics())
                }
            })
            .collect()
    }

    /// Every line logged since the last call: removed containers' first.
    pub fn take_logs<N: MqttNode>(&mut self, nodes: &mut [N]) -> Vec<LogLine> {
        let mut bases: Vec<&mut ContainerNode> = nodes.iter_mut().map(MqttNode::base_mut).collect();
        container_node::take_logs(&mut bases, &mut self.orphan_logs)
    }

    pub fn is_shut_down(&self) -> bool {
        self.shut_down
    }

    /// Removes every node's container, then the network.
    pub fn shutdown<N: MqttNode>(&mut self, nodes: &mut [N]) -> Vec<ShutdownError> {
        self.shut_down = true;
        let mut errors = std::mem::take(&mut self.cleanup);
        let mut bases: Vec<&mut ContainerNode> = nodes.iter_mut().map(MqttNode::base_mut).collect();
        errors.extend(container_node::remove_all(&self.engine, &self.options.run_id, &mut bases));
        if let Some(network) = self.network.take()
            && let Err(e) = self.engine.block_on(network::remove(&self.engine, &network.id))
        {
            errors.push(ShutdownError { node: self.ids.first().cloned().unwrap_or_default(), problem: e.to_string() });
        }
        errors
    }
}
