//! [`MqttClientGroup`]: every container of a run that is an unmodified
//! MQTT client, each a node. The host is each one's broker endpoint
//! ([`Endpoint`]) on the run's internal network ([`RunNetwork`]): its
//! PUBLISHes are the node's messages (`Address::Publish`, to the scenario's
//! broker node), its SUBSCRIBEs go to that broker as `$subscribe`, and what
//! the simulation delivers to it is written to it as PUBLISH. How its wall
//! time becomes virtual time is [`WallClock`]'s rule.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use rumqttc::mqttbytes::{QoS, matches};

use super::clock::WallClock;
use super::container_node::{self, ContainerNode};
use super::endpoint::{Delivery, Endpoint, Event};
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

/// After its CONNECT, a container is ready once it has been quiet this
/// long (its subscriptions follow its CONNACK at once).
const READY_QUIET: Duration = Duration::from_millis(200);
/// An answer its deadline passed on is owed (its late arrival dropped)
/// for this many deadlines more; then it is forgotten, since a container
/// may leave a request unanswered for good (one it cannot use).
const LATE_HORIZON: u32 = 10;
/// Events taken from a container at one instant: past them it waits (TCP
/// holds it back), so a flood costs bounded memory per instant.
const EVENTS_PER_INSTANT: usize = 1024;
/// The topic prefix a retained PUBLISH travels under, to the broker node.
pub const RETAIN_PREFIX: &str = "$retain/";

struct Node {
    base: ContainerNode,
    settings: MqttSettings,
    endpoint: Option<Endpoint>,
    connected: bool,
    /// Its subscriptions, with the QoS granted.
    subscriptions: BTreeMap<String, QoS>,
    clock: WallClock,
    /// The delivery being answered: its virtual time, when it was written, how many messages.
    pending: Option<(u64, Instant, usize)>,
    /// Answers its deadline passed on, oldest first, each kept until the
    /// wall time it is forgotten: a PUBLISH while one is owed is that late
    /// answer (a container answers in order), dropped and counted.
    owed: VecDeque<Instant>,
    /// Answers to the pending delivery so far.
    answers: usize,
    /// Subscriptions and unsubscriptions to send at its next instant.
    control: Vec<Outgoing>,
    counts: Counts,
}

/// What the host counted of one node, reported as its metrics.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    published: u64,
    delivered: u64,
    late_answers: u64,
    unanswered: u64,
    subscriptions_refused: u64,
    disconnects: u64,
    lost_in_crash: u64,
    undelivered: u64,
}

pub struct MqttClientGroup {
    state: GroupState,
    nodes: Vec<Node>,
}

impl std::fmt::Debug for MqttClientGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttClientGroup").field("ids", &self.state.ids).finish_non_exhaustive()
    }
}

impl MqttClientGroup {
    /// Makes the run's network, an endpoint per node and its container,
    /// and waits for each to connect. Nodes that fail are returned as
    /// faults (at time 0), their containers removed.
    pub fn start(
        engine: &DockerEngine,
        specs: &[DockerNodeSpec<'_>],
        options: DockerOptions,
    ) -> (MqttClientGroup, Vec<(usize, NodeFault)>) {
        let network = engine.block_on(RunNetwork::create(engine, &options.run_id, options.run_label.as_deref()));
        let mut faults = Vec::new();
        let mut nodes: Vec<Node> = specs.iter().map(|spec| Node::new(spec)).collect();
        match &network {
            Ok(network) => {
                for (index, node) in nodes.iter_mut().enumerate() {
                    let max_packet = usize::try_from(node.base.docker.max_frame_bytes).unwrap_or(usize::MAX);
                    match engine.block_on(Endpoint::open(engine, network.gateway, max_packet)) {
                        Ok(endpoint) => {
                            let docker = &mut node.base.docker;
                            docker.network_mode = network.name.clone();
                            docker.environment.insert(node.settings.host_env.clone(), network.gateway.to_string());
                            docker
                                .environment
                                .insert(node.settings.port_env.clone(), endpoint.address.port().to_string());
                            node.endpoint = Some(endpoint);
                        }
                        Err(e) => faults.push((
                            index,
                            node.fault(
                                0,
                                FaultKind::ContainerStart,
                                format!("the host could not listen for it on {}: {e}", network.gateway),
                            ),
                        )),
                    }
                }
            }
            Err(e) => {
                for (index, node) in nodes.iter().enumerate() {
                    faults.push((index, node.fault(0, FaultKind::ContainerStart, e.to_string())));
                }
            }
        }
        let mut group = MqttClientGroup { state: GroupState::new(engine, specs, options, network.ok()), nodes };
        let ready: Vec<usize> = (0..specs.len()).filter(|i| group.nodes[*i].endpoint.is_some()).collect();
        faults.extend(group.start_containers(&ready, 0));
        (group, faults)
    }

    /// Starts the containers of `indexes` at virtual `time_us`, at once,
    /// and waits for each to connect and go quiet.
    fn start_containers(&mut self, indexes: &[usize], time_us: u64) -> Vec<(usize, NodeFault)> {
        self.state.start_nodes(&mut self.nodes, indexes, time_us)
    }

    /// Stops node `index` for good: its container is removed, its last log lines kept.
    fn retire(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        node.pending = None;
        node.connected = false;
        self.state.retire(&mut node.base, index);
    }

    /// The step's output: what is due now, and when to step again.
    fn output(&mut self, index: usize, now_us: u64) -> StepOutput {
        let node = &mut self.nodes[index];
        let mut outbox = std::mem::take(&mut node.control);
        outbox.extend(node.clock.due(now_us));
        let wake_at_us =
            container_node::next_wake(now_us, self.state.options.time_quantum_us, node.clock.next_departure_us());
        StepOutput { outbox, wake_at_us: Some(wake_at_us) }
    }
}

impl Node {
    fn new(spec: &DockerNodeSpec<'_>) -> Node {
        Node {
            base: ContainerNode::new(spec),
            settings: spec.docker.mqtt.clone().expect("an MQTT node has MQTT settings"),
            endpoint: None,
            connected: false,
            subscriptions: BTreeMap::new(),
            clock: WallClock::default(),
            pending: None,
            owed: VecDeque::new(),
            answers: 0,
            control: Vec::new(),
            counts: Counts::default(),
        }
    }

    fn fault(&self, time_us: u64, kind: FaultKind, detail: String) -> NodeFault {
        self.base.fault(time_us, kind, detail)
    }
}

impl MqttNode for Node {
    fn base(&self) -> &ContainerNode {
        &self.base
    }

    fn base_mut(&mut self) -> &mut ContainerNode {
        &mut self.base
    }

    fn metrics(&self) -> Vec<Metric> {
        let c = &self.counts;
        let undelivered = c.undelivered + self.endpoint.as_ref().map_or(0, Endpoint::undelivered);
        [
            ("mqtt_published", c.published),
            ("mqtt_delivered", c.delivered),
            ("mqtt_undelivered", undelivered),
            ("mqtt_subscriptions", self.subscriptions.len() as u64),
            ("mqtt_late_answers", c.late_answers),
            ("mqtt_unanswered", c.unanswered),
            ("mqtt_subscriptions_refused", c.subscriptions_refused),
            ("mqtt_disconnects", c.disconnects),
            ("mqtt_lost_in_crash", c.lost_in_crash),
        ]
        .into_iter()
        .map(|(name, value)| Metric::new(name, value as f64))
        .collect()
    }

    /// Starts its container and waits for its CONNECT, then for it to go quiet.
    async fn start(&mut self, engine: &DockerEngine, options: &DockerOptions, time_us: u64) -> Result<(), NodeFault> {
        self.base.start_container(engine, options, time_us).await?;
        self.clock.instant(time_us, Instant::now());
        let connect_deadline = tokio::time::Instant::now() + Duration::from_secs(self.settings.connect_timeout_s);
        let mut endpoint = self.endpoint.take().expect("a node is started with its endpoint");
        let mut events = Vec::new();
        let mut quiet_from: Option<tokio::time::Instant> = None;
        let exited = loop {
            let until = quiet_from.map_or(connect_deadline, |q| (q + READY_QUIET).min(connect_deadline));
            // In slices, to notice a container that exits before it connects.
            let slice = (tokio::time::Instant::now() + Duration::from_millis(50)).min(until);
            match endpoint.next_event(slice).await {
                Some(event) => {
                    let connected = matches!(event.0, Event::Connected { .. });
                    let ended = matches!(event.0, Event::Violation { .. } | Event::Disconnected { .. });
                    events.push(event);
                    if connected || quiet_from.is_some() {
                        quiet_from = Some(tokio::time::Instant::now());
                    }
                    if ended {
                        break false;
                    }
                }
                None if tokio::time::Instant::now() >= until => break false,
                None => {
                    if let Some(Some(Frame::Closed(_))) = self.base.container.as_mut().map(Container::try_frame) {
                        break true;
                    }
                }
            }
        };
        let address = endpoint.address;
        self.endpoint = Some(endpoint);
        if exited {
            let fault = self.base.container_exited(engine, time_us).await;
            return Err(self.base.remove_with(engine, fault).await);
        }
        if quiet_from.is_none() && !events.iter().any(|(e, _)| matches!(e, Event::Violation { .. })) {
            let detail = format!(
                "nothing connected to {address} ({}={}, {}={}) within {} s after the container started{}",
                self.settings.host_env,
                address.ip(),
                self.settings.port_env,
                address.port(),
                self.settings.connect_timeout_s,
                self.base.log_tail(),
            );
            let fault =
                self.fault(time_us, FaultKind::NotConnected { timeout_s: self.settings.connect_timeout_s }, detail);
            return Err(self.base.remove_with(engine, fault).await);
        }
        for (event, at) in events {
            if let Err(fault) = self.event(time_us, event, at, false) {
                return Err(self.base.remove_with(engine, fault).await);
            }
        }
        Ok(())
    }
}

impl Node {
    /// Applies one event of the container's at virtual `now_us`; `answer`:
    /// it came in answer to the pending delivery.
    fn event(&mut self, now_us: u64, event: Event, at: Instant, answer: bool) -> Result<(), NodeFault> {
        match event {
            Event::Connected { client_id } => {
                self.connected = true;
                self.base.notes.push((now_us, LogLevel::Info, format!("[mqtt] connected as '{client_id}'")));
            }
            Event::Subscribed { granted, refused } => {
                for (filter, qos) in granted {
                    self.control.push(control("$subscribe", &filter));
                    self.subscriptions.insert(filter, qos);
                }
                for filter in refused {
                    self.counts.subscriptions_refused += 1;
                    let text = format!("[mqtt] refused its SUBSCRIBE to '{filter}': not a topic filter");
                    self.base.notes.push((now_us, LogLevel::Warn, text));
                }
            }
            Event::Unsubscribed { filters } => {
                for filter in filters {
                    if self.subscriptions.remove(&filter).is_some() {
                        self.control.push(control("$unsubscribe", &filter));
                    }
                }
            }
            Event::Published { topic, payload, retain } => {
                let topic = if retain { format!("{RETAIN_PREFIX}{topic}") } else { topic };
                if topic.len() > crate::runtime::MAX_TOPIC_BYTES {
                    let what = format!(
                        "a retained PUBLISH whose topic, with its `{RETAIN_PREFIX}` mark, is over 65,535 bytes"
                    );
                    return Err(self.fault(now_us, FaultKind::Mqtt, what));
                }
                while self.owed.front().is_some_and(|forgotten| *forgotten < at) {
                    self.owed.pop_front();
                }
                if self.owed.pop_front().is_some() {
                    self.counts.late_answers += 1;
                    let text = format!("[mqtt] dropped a PUBLISH on '{topic}': it came after the answer deadline");
                    self.base.notes.push((now_us, LogLevel::Warn, text));
                    return Ok(());
                }
                self.counts.published += 1;
                let out = Outgoing { destination: Address::Publish, topic, payload };
                match self.pending {
                    Some((then_us, sent, _)) if answer => {
                        self.answers += 1;
                        self.clock.answer(&self.settings, then_us, sent, at, out)
                    }
                    _ => self.clock.own(&self.settings, now_us, at, out),
                };
            }
            Event::Disconnected { why } => {
                self.connected = false;
                self.counts.disconnects += 1;
                self.base.notes.push((now_us, LogLevel::Warn, format!("[mqtt] disconnected: {why}")));
                // A clean session: what it subscribed to ends with it.
                for filter in std::mem::take(&mut self.subscriptions).into_keys() {
                    self.control.push(control("$unsubscribe", &filter));
                }
            }
            Event::Violation { what } => {
                let detail = format!("{what}{}", self.base.log_tail());
                return Err(self.fault(now_us, FaultKind::Mqtt, detail));
            }
        }
        Ok(())
    }

    /// Writes `inbox` to the container as PUBLISHes.
    fn deliver(&mut self, inbox: &[Message]) -> usize {
        let endpoint = self.endpoint.as_ref().expect("a started node has its endpoint");
        for message in inbox {
            let qos = self
                .subscriptions
                .iter()
                .filter(|(filter, _)| matches(&message.topic, filter))
                .map(|(_, qos)| *qos)
                .max_by_key(|qos| *qos as u8)
                .unwrap_or(QoS::AtMostOnce);
            endpoint.deliver(Delivery { topic: message.topic.clone(), payload: message.payload.clone(), qos });
        }
        self.counts.delivered += inbox.len() as u64;
        inbox.len()
    }
}

fn control(topic: &str, filter: &str) -> Outgoing {
    Outgoing { destination: Address::Publish, topic: topic.into(), payload: filter.as_bytes().to_vec() }
}

/// Waits for the answer to a delivery written at `sent`: its PUBLISHes,
/// until one per message delivered has come, or `quiet` passes after the
/// last, or the deadline (or, when no answer is expected, `quiet` after
/// the delivery). The events, and whether any PUBLISH came.
async fn await_answer(
    endpoint: &mut Endpoint,
    settings: &MqttSettings,
    sent: Instant,
    expected: usize,
) -> (Vec<(Event, Instant)>, bool) {
    let sent = tokio::time::Instant::from_std(sent);
    let deadline = sent + Duration::from_millis(settings.answer_deadline_ms);
    let quiet = Duration::from_millis(settings.quiet_ms);
    let mut events = Vec::new();
    let mut answers = 0;
    let mut last = sent;
    loop {
        if settings.expect_answer && answers >= expected {
            break;
        }
        let until = if settings.expect_answer && answers == 0 { deadline } else { (last + quiet).min(deadline) };
        match endpoint.next_event(until).await {
            Some((event, at)) => {
                let ends = matches!(event, Event::Violation { .. } | Event::Disconnected { .. });
                if matches!(event, Event::Published { .. }) {
                    answers += 1;
                    last = tokio::time::Instant::from_std(at);
                }
                events.push((event, at));
                if ends {
                    break;
                }
            }
            None => break,
        }
    }
    (events, answers > 0)
}

impl NodeGroup for MqttClientGroup {
    fn node_ids(&self) -> &[String] {
        &self.state.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        self.state.submitted.clear();
        for call in calls {
            let (index, now_us) = (call.index, call.now_us);
            let engine = self.state.engine.clone();
            let node = &mut self.nodes[index];
            let alive = self.state.engine.block_on(node.base.check_alive(&engine, now_us));
            // What it did since its last instant, on its own.
            let result = alive.and_then(|()| {
                for _ in 0..EVENTS_PER_INSTANT {
                    let Some((event, at)) = node.endpoint.as_mut().and_then(Endpoint::try_event) else { break };
                    node.event(now_us, event, at, false)?;
                }
                Ok(())
            });
            if let Err(fault) = result {
                if fault.kind != FaultKind::Stopped {
                    self.retire(index);
                }
                self.state.submitted.push((index, now_us, Some(Err(fault))));
                continue;
            }
            let began = Instant::now();
            node.clock.instant(now_us, began);
            if !call.inbox.is_empty() {
                if node.connected {
                    let count = node.deliver(&call.inbox);
                    node.pending = Some((now_us, began, count));
                } else {
                    // Nobody is connected to take them.
                    node.counts.undelivered += call.inbox.len() as u64;
                    let text = format!("[mqtt] {} message(s) arrived while it was not connected", call.inbox.len());
                    node.base.notes.push((now_us, LogLevel::Warn, text));
                }
            }
            self.state.submitted.push((index, now_us, None));
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
        let answers = {
            let futures: Vec<_> = self
                .nodes
                .iter_mut()
                .enumerate()
                .filter(|(index, _)| waiting.contains(index))
                .map(|(index, node)| {
                    let (_, sent, delivered) = node.pending.expect("waiting");
                    // Late answers owed come first (in order), then this delivery's.
                    let expected = delivered + node.owed.len();
                    let settings = node.settings.clone();
                    let endpoint = node.endpoint.as_mut().expect("a started node has its endpoint");
                    async move { (index, await_answer(endpoint, &settings, sent, expected).await) }
                })
                .collect();
            self.state.engine.block_on_unless(self.state.options.interrupt.as_deref(), join_all(futures))
        };
        let Ok(answers) = answers else {
            self.state.submitted.clear();
            return Err(Interrupted);
        };
        let mut answers: BTreeMap<usize, _> = answers.into_iter().collect();
        let submitted = std::mem::take(&mut self.state.submitted);
        let mut results = Vec::with_capacity(submitted.len());
        for (index, now_us, known) in submitted {
            if let Some(result) = known {
                results.push(result);
                continue;
            }
            let node = &mut self.nodes[index];
            node.base.usage.steps += 1;
            let mut failed = None;
            if let Some((events, answered)) = answers.remove(&index) {
                let (_, sent, delivered) = node.pending.expect("waiting");
                node.base.record_round_trip(sent);
                for (event, at) in events {
                    if let Err(fault) = node.event(now_us, event, at, true) {
                        failed = Some(fault);
                        break;
                    }
                }
                let missing = delivered.saturating_sub(std::mem::take(&mut node.answers));
                if node.settings.expect_answer && missing > 0 && failed.is_none() {
                    node.counts.unanswered += missing as u64;
                    let deadline = Duration::from_millis(node.settings.answer_deadline_ms);
                    let forgotten = Instant::now() + deadline * LATE_HORIZON;
                    node.owed.extend(std::iter::repeat_n(forgotten, missing));
                    let text = format!(
                        "[mqtt] {missing} of {delivered} message(s) unanswered within {} ms{}",
                        node.settings.answer_deadline_ms,
                        if answered { "" } else { " (no answer at all)" }
                    );
                    node.base.notes.push((now_us, LogLevel::Warn, text));
                }
                node.pending = None;
            }
            match failed {
                Some(fault) => {
                    self.retire(index);
                    results.push(Err(fault));
                }
                None => results.push(Ok(self.output(index, now_us))),
            }
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

    /// The container is killed at once; what waited to leave is lost with it.
    fn crash(&mut self, index: usize, _now_us: u64) {
        self.retire(index);
        let node = &mut self.nodes[index];
        node.counts.lost_in_crash += node.clock.clear() as u64;
        node.control.clear();
        node.owed.clear();
    }

    /// A new container from the same image, on the same endpoint.
    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        _config: &BTreeMap<String, ConfigValue>,
        _restarts: u32,
    ) -> Result<(), NodeFault> {
        self.retire(index);
        // The old session's end, if it was still on its way, belongs to the old container.
        if let Some(endpoint) = self.nodes[index].endpoint.as_mut() {
            while endpoint.try_event().is_some() {}
        }
        match self.start_containers(&[index], now_us).pop() {
            Some((_, fault)) => Err(fault),
            None => Ok(()),
        }
    }

    fn shutdown(&mut self) -> Vec<ShutdownError> {
        let errors = self.state.shutdown(&mut self.nodes);
        for node in &mut self.nodes {
            node.endpoint = None;
        }
        errors
    }
}

impl Drop for MqttClientGroup {
    /// The last resort (a panic): `shutdown` is the normal path.
    fn drop(&mut self) {
        if !self.state.is_shut_down() {
            let _ = self.shutdown();
        }
    }
}
