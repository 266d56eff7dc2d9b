//! [`MqttBrokerGroup`]: broker containers (`type: broker` with `protocol:
//! mqtt`, e.g. Mosquitto) as the scenario's broker node. Messages reach the
//! broker node through the simulated network as they reach the built-in
//! broker; the host then acts for each sender with a [`BrokerClient`] of
//! that node's own (`$subscribe` and `$unsubscribe` become SUBSCRIBE and
//! UNSUBSCRIBE, `$retain/<topic>` a retained PUBLISH, anything else a
//! PUBLISH), and what the broker sends a node's client leaves the broker
//! node, addressed to that node, at the time [`WallClock`] gives it. No
//! container reaches the broker but through the host.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::mpsc;

use super::broker_client::{BrokerClient, Received};
use super::client_group::RETAIN_PREFIX;
use super::clock::WallClock;
use super::container_node::{self, ContainerNode};
use super::group_state::{GroupState, MqttNode};
use super::network::RunNetwork;
use crate::runtime::docker::container::{Container, Frame};
use crate::runtime::docker::engine::DockerEngine;
use crate::runtime::docker::node_group::{DockerNodeSpec, DockerOptions};
use crate::runtime::{
    Address, FaultKind, Interrupted, LogLevel, LogLine, Message, Metric, NodeFault, NodeGroup, NodeUsage, Outgoing,
    ShutdownError, StepCall, StepOutput,
};
use crate::scenario::{ConfigValue, MqttSettings};

/// The port brokers listen on inside their containers.
pub const BROKER_PORT: u16 = 1883;
/// Messages from the broker read ahead of the node.
const RECEIVED_AHEAD: usize = 4096;

struct BrokerNode {
    base: ContainerNode,
    settings: MqttSettings,
    address: Option<SocketAddr>,
    /// The host's client for each node that sent through the broker.
    clients: BTreeMap<String, BrokerClient>,
    received_tx: mpsc::Sender<Received>,
    received: mpsc::Receiver<Received>,
    subscriptions: BTreeSet<(String, String)>,
    clock: WallClock,
    /// The inbox being forwarded: its virtual time and when it was written.
    pending: Option<(u64, Instant)>,
    published: u64,
    forwarded: u64,
    subscriptions_refused: u64,
}

pub struct MqttBrokerGroup {
    state: GroupState,
    nodes: Vec<BrokerNode>,
}

impl std::fmt::Debug for MqttBrokerGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttBrokerGroup").field("ids", &self.state.ids).finish_non_exhaustive()
    }
}

impl MqttBrokerGroup {
    /// Makes the brokers' network and starts each broker, ready once the
    /// host's CONNECT is answered (a broker may buffer its log: its CONNACK
    /// is the sign). Nodes that fail are returned as faults at time 0.
    pub fn start(
        engine: &DockerEngine,
        specs: &[DockerNodeSpec<'_>],
        options: DockerOptions,
    ) -> (MqttBrokerGroup, Vec<(usize, NodeFault)>) {
        let network = engine.block_on(RunNetwork::create(
            engine,
            &format!("{}-brokers", options.run_id),
            options.run_label.as_deref(),
        ));
        let mut nodes: Vec<BrokerNode> = specs
            .iter()
            .map(|spec| {
                let (received_tx, received) = mpsc::channel(RECEIVED_AHEAD);
                BrokerNode {
                    base: ContainerNode::new(spec),
                    settings: spec.docker.mqtt.clone().expect("an MQTT node has MQTT settings"),
                    address: None,
                    clients: BTreeMap::new(),
                    received_tx,
                    received,
                    subscriptions: BTreeSet::new(),
                    clock: WallClock::default(),
                    pending: None,
                    published: 0,
                    forwarded: 0,
                    subscriptions_refused: 0,
                }
            })
            .collect();
        let mut faults = Vec::new();
        match &network {
            Ok(network) => {
                for node in &mut nodes {
                    node.base.docker.network_mode = network.name.clone();
                }
            }
            Err(e) => {
                for (index, node) in nodes.iter().enumerate() {
                    faults.push((index, node.base.fault(0, FaultKind::ContainerStart, e.to_string())));
                }
            }
        }
        let ready: Vec<usize> = if network.is_ok() { (0..nodes.len()).collect() } else { Vec::new() };
        let mut group = MqttBrokerGroup { state: GroupState::new(engine, specs, options, network.ok()), nodes };
        faults.extend(group.start_containers(&ready, 0));
        (group, faults)
    }

    fn start_containers(&mut self, indexes: &[usize], time_us: u64) -> Vec<(usize, NodeFault)> {
        self.state.start_nodes(&mut self.nodes, indexes, time_us)
    }

    fn retire(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        node.pending = None;
        node.clients.clear();
        node.address = None;
        self.state.retire(&mut node.base, index);
    }

    fn output(&mut self, index: usize, now_us: u64) -> StepOutput {
        let node = &mut self.nodes[index];
        let outbox = node.clock.due(now_us);
        let wake_at_us =
            Some(container_node::next_wake(now_us, self.state.options.time_quantum_us, node.clock.next_departure_us()));
        StepOutput { outbox, wake_at_us }
    }
}

impl MqttNode for BrokerNode {
    fn base(&self) -> &ContainerNode {
        &self.base
    }

    fn base_mut(&mut self) -> &mut ContainerNode {
        &mut self.base
    }

    fn metrics(&self) -> Vec<Metric> {
        [
            ("mqtt_published", self.published),
            ("mqtt_forwarded", self.forwarded),
            ("mqtt_clients", self.clients.len() as u64),
            ("mqtt_subscriptions", self.subscriptions.len() as u64),
            ("mqtt_subscriptions_refused", self.subscriptions_refused),
        ]
        .into_iter()
        .map(|(name, value)| Metric::new(name, value as f64))
        .collect()
    }

    async fn start(&mut self, engine: &DockerEngine, options: &DockerOptions, time_us: u64) -> Result<(), NodeFault> {
        let network = self.base.docker.network_mode.clone();
        self.base.start_container(engine, options, time_us).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.settings.connect_timeout_s);
        let address = match self.container_ip(engine, &network).await {
            Some(ip) => SocketAddr::new(ip, BROKER_PORT),
            None => {
                // A container that exited at once has no address: say so, with its log.
                tokio::time::sleep(Duration::from_millis(200)).await;
                let fault = match self.base.container.as_mut().map(Container::try_frame) {
                    Some(Some(Frame::Closed(_))) => self.base.container_exited(engine, time_us).await,
                    _ => {
                        let what = format!("it has no address on network {network}");
                        self.base.fault(time_us, FaultKind::ContainerStart, what)
                    }
                };
                return Err(self.base.remove_with(engine, fault).await);
            }
        };
        // Ready when it answers a CONNECT; tried until the deadline.
        let mut last_error;
        loop {
            let (tx, _rx) = mpsc::channel(1);
            let attempt = (tokio::time::Instant::now() + Duration::from_secs(1)).min(deadline);
            match BrokerClient::connect(engine, address, "xedgesim-ready", tx, attempt).await {
                Ok(_) => break,
                Err(e) => last_error = e,
            }
            if let Some(Some(Frame::Closed(_))) = self.base.container.as_mut().map(Container::try_frame) {
                let fault = self.base.container_exited(engine, time_us).await;
                return Err(self.base.remove_with(engine, fault).await);
            }
            if tokio::time::Instant::now() >= deadline {
                let detail = format!(
                    "the broker did not answer a CONNECT on {address} within {} s: {last_error}{}",
                    self.settings.connect_timeout_s,
                    self.base.log_tail()
                );
                let fault = self.base.fault(
                    time_us,
                    FaultKind::NotConnected { timeout_s: self.settings.connect_timeout_s },
                    detail,
                );
                return Err(self.base.remove_with(engine, fault).await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.address = Some(address);
        self.clock.instant(time_us, Instant::now());
        Ok(())
    }
}

impl BrokerNode {
    async fn container_ip(&self, engine: &DockerEngine, network: &str) -> Option<IpAddr> {
        let id = &self.base.container.as_ref()?.id;
        let inspected = engine.docker().inspect_container(id, None).await.ok()?;
        let networks = inspected.network_settings?.networks?;
        networks.get(network)?.ip_address.as_deref()?.parse().ok()
    }

    /// Acts on each message the broker node received, for its sender.
    async fn forward(&mut self, engine: &DockerEngine, now_us: u64, inbox: &[Message]) -> Result<bool, NodeFault> {
        let address = self.address.expect("a started broker has its address");
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.settings.answer_deadline_ms);
        let mut published = false;
        for m in inbox {
            if !self.clients.contains_key(&m.source) {
                let client = BrokerClient::connect(engine, address, &m.source, self.received_tx.clone(), deadline)
                    .await
                    .map_err(|e| self.mqtt_fault(now_us, format!("on behalf of '{}': {e}", m.source)))?;
                self.clients.insert(m.source.clone(), client);
            }
            let client = self.clients.get_mut(&m.source).expect("connected above");
            let filter = || String::from_utf8_lossy(&m.payload).into_owned();
            let done = match m.topic.as_str() {
                "$subscribe" => match client.subscribe(&filter(), deadline).await {
                    Ok(true) => {
                        self.subscriptions.insert((m.source.clone(), filter()));
                        Ok(())
                    }
                    Ok(false) => {
                        self.subscriptions_refused += 1;
                        let text = format!("[mqtt] the broker refused '{}' a subscription to '{}'", m.source, filter());
                        self.base.notes.push((now_us, LogLevel::Warn, text));
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                "$unsubscribe" => {
                    self.subscriptions.remove(&(m.source.clone(), filter()));
                    client.unsubscribe(&filter(), deadline).await
                }
                topic => {
                    published = true;
                    self.published += 1;
                    match topic.strip_prefix(RETAIN_PREFIX) {
                        Some(retained) => client.publish(retained, &m.payload, true).await,
                        None => client.publish(topic, &m.payload, false).await,
                    }
                }
            };
            done.map_err(|e| self.mqtt_fault(now_us, format!("on behalf of '{}' ({}): {e}", m.source, m.topic)))?;
        }
        Ok(published)
    }

    fn mqtt_fault(&self, now_us: u64, detail: String) -> NodeFault {
        self.base.fault(now_us, FaultKind::Mqtt, format!("{detail}{}", self.base.log_tail()))
    }

    fn hold(&mut self, now_us: u64, r: Received, answer: bool) {
        self.forwarded += 1;
        let out = Outgoing { destination: Address::Node(r.node), topic: r.topic, payload: r.payload };
        match self.pending {
            Some((then_us, sent)) if answer => self.clock.answer(&self.settings, then_us, sent, r.at, out),
            _ => self.clock.own(&self.settings, now_us, r.at, out),
        };
    }
}

/// What the broker sends in answer to a forward written at `sent`: until
/// `quiet` passes after the last (or after the write), at most until the deadline.
async fn await_forwards(
    received: &mut mpsc::Receiver<Received>,
    settings: &MqttSettings,
    sent: Instant,
) -> Vec<Received> {
    let sent = tokio::time::Instant::from_std(sent);
    let deadline = sent + Duration::from_millis(settings.answer_deadline_ms);
    let quiet = Duration::from_millis(settings.quiet_ms);
    let mut last = sent;
    let mut out = Vec::new();
    while let Ok(Some(r)) = tokio::time::timeout_at((last + quiet).min(deadline), received.recv()).await {
        last = tokio::time::Instant::from_std(r.at);
        out.push(r);
    }
    out
}

impl NodeGroup for MqttBrokerGroup {
    fn node_ids(&self) -> &[String] {
        &self.state.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        self.state.submitted.clear();
        for call in calls {
            let (index, now_us) = (call.index, call.now_us);
            let engine = self.state.engine.clone();
            let node = &mut self.nodes[index];
            let result = self.state.engine.block_on(async {
                node.base.check_alive(&engine, now_us).await?;
                while let Ok(r) = node.received.try_recv() {
                    node.hold(now_us, r, false);
                }
                let began = Instant::now();
                node.clock.instant(now_us, began);
                if node.forward(&engine, now_us, &call.inbox).await? {
                    node.pending = Some((now_us, began));
                }
                Ok(())
            });
            match result {
                Ok(()) => self.state.submitted.push((index, now_us, None)),
                Err(fault) => {
                    self.retire(index);
                    self.state.submitted.push((index, now_us, Some(Err(fault))));
                }
            }
        }
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        let waiting: Vec<usize> = self
            .state
            .submitted
            .iter()
            .filter(|(i, _, r)| r.is_none() && self.nodes[*i].pending.is_some())
            .map(|(i, ..)| *i)
            .collect();
        let forwards = {
            let futures: Vec<_> = self
                .nodes
                .iter_mut()
                .enumerate()
                .filter(|(index, _)| waiting.contains(index))
                .map(|(index, node)| {
                    let (_, sent) = node.pending.expect("waiting");
                    let settings = node.settings.clone();
                    let received = &mut node.received;
                    async move { (index, await_forwards(received, &settings, sent).await) }
                })
                .collect();
            self.state.engine.block_on_unless(self.state.options.interrupt.as_deref(), join_all(futures))
        };
        let Ok(forwards) = forwards else {
            self.state.submitted.clear();
            return Err(Interrupted);
        };
        let mut forwards: BTreeMap<usize, Vec<Received>> = forwards.into_iter().collect();
        let mut results = Vec::new();
        for (index, now_us, known) in std::mem::take(&mut self.state.submitted) {
            if let Some(result) = known {
                results.push(result);
                continue;
            }
            let node = &mut self.nodes[index];
            node.base.usage.steps += 1;
            if let Some((_, sent)) = node.pending {
                node.base.record_round_trip(sent);
            }
            for r in forwards.remove(&index).unwrap_or_default() {
                node.hold(now_us, r, true);
            }
            node.pending = None;
            results.push(Ok(self.output(index, now_us)));
        }
        Ok(results)
    }

    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        self.state.finish(&mut self.nodes, indexes, now_us)
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        self.state.take_logs(&mut self.nodes)
    }

    fn usage(&self, index: usize) -> NodeUsage {
        let node = &self.nodes[index];
        node.clock.usage(node.base.usage)
    }

    fn crash(&mut self, index: usize, _now_us: u64) {
        self.retire(index);
        let node = &mut self.nodes[index];
        node.clock.clear();
        node.subscriptions.clear();
        while node.received.try_recv().is_ok() {}
    }

    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        _config: &BTreeMap<String, ConfigValue>,
        _restarts: u32,
    ) -> Result<(), NodeFault> {
        self.retire(index);
        match self.start_containers(&[index], now_us).pop() {
            Some((_, fault)) => Err(fault),
            None => Ok(()),
        }
    }

    fn shutdown(&mut self) -> Vec<ShutdownError> {
        for node in &mut self.nodes {
            node.clients.clear();
        }
        self.state.shutdown(&mut self.nodes)
    }
}

impl Drop for MqttBrokerGroup {
    /// The last resort (a panic): `shutdown` is the normal path.
    fn drop(&mut self) {
        if !self.state.is_shut_down() {
            let _ = self.shutdown();
        }
    }
}
