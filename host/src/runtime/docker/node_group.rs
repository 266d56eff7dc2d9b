//! [`DockerNodeGroup`]: every Docker node of a run, one container each.
//!
//! Containers never share fate: a fault stops (and removes) only its own
//! container. Steps to all due containers are written in `submit` and
//! awaited together in `collect`, so 16 containers due at one instant cost
//! about one round trip, not 16; the engine steps its WASM nodes between
//! the two. Each answer has a deadline, and Ctrl-C or SIGTERM is noticed
//! while waiting: for a step, a container start (at the run's start or a
//! scripted restart) and `finish` (which gets 1 s more, so containers that
//! answer keep their metrics in an interrupted run). A start it cuts short leaves the node
//! without a container and without a fault (the run is interrupted, not
//! the node); what the engine may have made for it is removed by label at
//! shutdown.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, join_all};

use super::container::{self, Container};
use super::engine::DockerEngine;
use super::node_start::{failure_fault, start_one};
use super::protocol::{self, Answer, Ask, Failure};
use super::volume;
use crate::runtime::{
    FaultKind, Interrupted, LogLevel, LogLine, LogStream, Metric, NodeFault, NodeGroup, NodeUsage, ShutdownError,
    StepCall, StepOutput,
};
use crate::scenario::{ConfigValue, ContainerProtocol, DockerNode};

/// How long a container may take to exit after `shutdown` before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How long `finish` (and the resource figures) are waited for once the
/// run is interrupted: enough for a container that answers, little for
/// one that hangs.
const INTERRUPTED_FINISH_GRACE: Duration = Duration::from_secs(1);

/// A Docker node to start.
#[derive(Debug, Clone, Copy)]
pub struct DockerNodeSpec<'a> {
    pub id: &'a str,
    pub config: &'a BTreeMap<String, ConfigValue>,
    pub docker: &'a DockerNode,
    /// The image to run (its id).
    pub image_id: &'a str,
}

/// What every node of the group shares.
#[derive(Debug, Clone)]
pub struct DockerOptions {
    /// Labels this run's containers (`xedgesim.run`) and names them.
    pub run_id: String,
    /// Put on every container and volume as `xedgesim.run_label`.
    pub run_label: Option<String>,
    /// `xedgesim-adapter` nodes are stepped at least this often.
    pub time_quantum_us: u64,
    /// Set by Ctrl-C or SIGTERM.
    pub interrupt: Option<Arc<AtomicBool>>,
}

struct Node {
    id: String,
    protocol: ContainerProtocol,
    step_timeout_ms: u64,
    container: Option<Container>,
    /// The step written and not yet answered: its virtual time and when it went out.
    pending: Option<(u64, Instant)>,
    usage: NodeUsage,
    /// What it was started from, to start it again after a scripted crash.
    docker: DockerNode,
    image_id: String,
    /// Its start was cut short by an interrupt: it has no container, and
    /// no fault either.
    cut_short: bool,
    /// An interrupt cut short its wait for `finish`: it is killed at
    /// shutdown without the exit grace (as one with a step pending is).
    finish_unanswered: bool,
}

pub struct DockerNodeGroup {
    engine: DockerEngine,
    ids: Vec<String>,
    nodes: Vec<Node>,
    options: DockerOptions,
    /// The last submit: each call's index, and its result when known at submit.
    submitted: Vec<(usize, Option<Result<StepOutput, NodeFault>>)>,
    /// Problems met while removing faulted containers, reported at shutdown.
    cleanup: Vec<ShutdownError>,
    /// Log lines of containers removed since the last `take_logs`.
    orphan_logs: Vec<(usize, u64, String)>,
    /// Named volumes this run created, each with the first node mounting
    /// it: removed at shutdown, after the containers.
    volumes: Vec<(String, String)>,
    shut_down: bool,
}

impl std::fmt::Debug for DockerNodeGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerNodeGroup").field("ids", &self.ids).finish_non_exhaustive()
    }
}

impl DockerNodeGroup {
    /// Starts a container for each node, all at once, and makes each node
    /// in its container. Nodes that fail to start are returned as faults
    /// (at time 0) with their containers already removed; the group keeps
    /// them, stopped.
    pub fn start(
        engine: &DockerEngine,
        specs: &[DockerNodeSpec<'_>],
        options: DockerOptions,
    ) -> (DockerNodeGroup, Vec<(usize, NodeFault)>) {
        let volumes = engine.block_on(volume::create_missing(
            engine,
            specs.iter().flat_map(|s| s.docker.volumes.iter().filter_map(|v| v.volume_name())).collect::<BTreeSet<_>>(),
            &options.run_id,
            options.run_label.as_deref(),
        ));
        let starts = specs
            .iter()
            .map(|spec| {
                // A volume that could not be had would be made by the engine, unlabelled, and left behind.
                let missing = spec
                    .docker
                    .volumes
                    .iter()
                    .filter_map(|v| v.volume_name())
                    .find_map(|name| volumes.failed.get(name))
                    .cloned();
                let options = &options;
                async move {
                    match missing {
                        Some(why) => Err(NodeFault {
                            node: spec.id.to_string(),
                            time_us: 0,
                            kind: FaultKind::ContainerStart,
                            detail: why,
                        }),
                        None => start_one(engine, spec, options, 0).await,
                    }
                }
            })
            .collect();
        let (started, _) = engine.block_on_each_unless(options.interrupt.as_deref(), Duration::ZERO, starts);
        let mut nodes = Vec::with_capacity(specs.len());
        let mut faults = Vec::new();
        for (index, (spec, result)) in specs.iter().zip(started).enumerate() {
            let (container, cut_short) = match result {
                Some(Ok(c)) => (Some(c), false),
                Some(Err(fault)) => {
                    faults.push((index, fault));
                    (None, false)
                }
                None => (None, true),
            };
            nodes.push(Node {
                id: spec.id.to_string(),
                protocol: spec.docker.protocol,
                step_timeout_ms: spec.docker.step_timeout_ms,
                container,
                pending: None,
                usage: NodeUsage { round_trip_us_total: Some(0), round_trip_us_max: Some(0), ..NodeUsage::default() },
                docker: spec.docker.clone(),
                image_id: spec.image_id.to_string(),
                cut_short,
                finish_unanswered: false,
            });
        }
        let group = DockerNodeGroup {
            engine: engine.clone(),
            ids: specs.iter().map(|s| s.id.to_string()).collect(),
            nodes,
            options,
            submitted: Vec::new(),
            cleanup: Vec::new(),
            orphan_logs: Vec::new(),
            volumes: volumes
                .created
                .into_iter()
                .map(|name| {
                    let user = specs.iter().find(|s| s.docker.volumes.iter().any(|v| v.volume_name() == Some(&name)));
                    let node = user.map_or_else(String::new, |s| s.id.to_string());
                    (name, node)
                })
                .collect(),
            shut_down: false,
        };
        (group, faults)
    }

    /// The node's fault for `failure` at `time_us`; its container is then
    /// removed (a hung or broken container is never asked anything again).
    fn fail(&mut self, index: usize, time_us: u64, ask: Ask, failure: Failure) -> NodeFault {
        let node = &self.nodes[index];
        let (kind, detail) = self.engine.block_on(failure_fault(
            &self.engine,
            node.container.as_ref(),
            failure,
            ask,
            node.step_timeout_ms,
        ));
        self.retire(index);
        NodeFault { node: self.ids[index].clone(), time_us, kind, detail }
    }

    /// Stops node `index` for good: its container is removed (a hung or
    /// broken one is never asked anything again) and its last log lines
    /// kept for `take_logs`.
    fn retire(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        node.pending = None;
        let Some(c) = node.container.take() else { return };
        let lines = c.log.lock().expect("log lock").take();
        self.orphan_logs.extend(lines.into_iter().map(|(time_us, text)| (index, time_us, text)));
        let id = c.id.clone();
        drop(c);
        if let Err(e) = self.engine.block_on(container::remove(&self.engine, &id)) {
            self.cleanup.push(ShutdownError { node: node.id.clone(), problem: e.to_string() });
        }
    }

    fn stopped_fault(&self, index: usize, time_us: u64) -> NodeFault {
        NodeFault { node: self.ids[index].clone(), time_us, kind: FaultKind::Stopped, detail: String::new() }
    }

    /// Checks a step's answer against the contract.
    fn output(&self, index: usize, now_us: u64, out: StepOutput) -> Result<StepOutput, NodeFault> {
        let node = &self.nodes[index];
        match node.protocol {
            // xEdgeSim's containers are advanced every quantum, on a fixed grid
            // (0, q, 2q, …) whatever else steps them; they ask for nothing.
            ContainerProtocol::XedgesimAdapter => {
                let q = self.options.time_quantum_us.max(1);
                Ok(StepOutput { wake_at_us: Some((now_us / q).saturating_add(1).saturating_mul(q)), ..out })
            }
            ContainerProtocol::Xedgesim => match out.wake_at_us {
                Some(at) if at < now_us => Err(NodeFault {
                    node: node.id.clone(),
                    time_us: now_us,
                    kind: FaultKind::WakeInPast { wake_at_us: at },
                    detail: String::new(),
                }),
                _ => Ok(out),
            },
            ContainerProtocol::Mqtt => unreachable!("MQTT nodes run in their own group (runtime::docker::mqtt)"),
        }
    }

    /// A frame that came unasked (a second reply), as a protocol failure.
    fn unasked(&mut self, index: usize) -> Option<Failure> {
        let container = self.nodes[index].container.as_mut()?;
        while let Some(frame) = container.try_frame() {
            if let Some(what) = protocol::unexpected(frame) {
                return Some(Failure::Protocol(what));
            }
        }
        None
    }
}

impl NodeGroup for DockerNodeGroup {
    fn node_ids(&self) -> &[String] {
        &self.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        self.submitted.clear();
        for call in calls {
            let index = call.index;
            if self.nodes[index].container.is_none() {
                let fault = self.stopped_fault(index, call.now_us);
                self.submitted.push((index, Some(Err(fault))));
                continue;
            }
            if let Some(failure) = self.unasked(index) {
                let fault = self.fail(index, call.now_us, Ask::Step, failure);
                self.submitted.push((index, Some(Err(fault))));
                continue;
            }
            let node = &mut self.nodes[index];
            let frame = protocol::step(node.protocol, &node.id, call.now_us, &call.inbox);
            let container = node.container.as_ref().expect("checked above");
            container.clock.store(call.now_us, Ordering::Relaxed);
            container.send(frame);
            node.pending = Some((call.now_us, Instant::now()));
            self.submitted.push((index, None));
        }
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        let waiting: BTreeMap<usize, ()> =
            self.submitted.iter().filter(|(_, r)| r.is_none()).map(|(i, _)| (*i, ())).collect();
        let answers = {
            // Disjoint borrows of the waiting nodes, in index order.
            let futures: Vec<_> = self
                .nodes
                .iter_mut()
                .enumerate()
                .filter(|(index, _)| waiting.contains_key(index))
                .map(|(index, node)| {
                    let (_, sent) = node.pending.expect("submitted");
                    let deadline = tokio::time::Instant::from_std(sent) + Duration::from_millis(node.step_timeout_ms);
                    let protocol = node.protocol;
                    let container = node.container.as_mut().expect("submitted to a live container");
                    async move {
                        let answer = protocol::receive(container, protocol, Ask::Step, deadline).await;
                        let read_at = container.last_frame_at.filter(|_| answer.is_ok()).unwrap_or_else(Instant::now);
                        (index, answer, read_at.saturating_duration_since(sent))
                    }
                })
                .collect();
            self.engine.block_on_unless(self.options.interrupt.as_deref(), join_all(futures))
        };
        let Ok(answers) = answers else {
            // The run stops; nodes whose answer never came are not asked again.
            self.submitted.clear();
            return Err(Interrupted);
        };
        let mut answers: BTreeMap<usize, _> = answers.into_iter().map(|(i, a, rtt)| (i, (a, rtt))).collect();
        let submitted = std::mem::take(&mut self.submitted);
        let mut results = Vec::with_capacity(submitted.len());
        for (index, known) in submitted {
            if let Some(result) = known {
                results.push(result);
                continue;
            }
            let (answer, elapsed) = answers.remove(&index).expect("one answer per waiting node");
            let (now_us, _) = self.nodes[index].pending.take().expect("submitted");
            let usage = &mut self.nodes[index].usage;
            usage.steps += 1;
            let rtt = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
            *usage.round_trip_us_total.get_or_insert(0) += rtt;
            let max = usage.round_trip_us_max.get_or_insert(0);
            *max = (*max).max(rtt);
            let result = match answer.and_then(|a| a.into_output(now_us)) {
                Ok(out) => self.output(index, now_us, out),
                Err(failure) => Err(self.fail(index, now_us, Ask::Step, failure)),
            };
            if result.is_err() {
                // A contract fault (wake in the past) leaves a live container: stop it too.
                self.retire(index);
            }
            results.push(result);
        }
        Ok(results)
    }

    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        let mut results: Vec<Option<Result<Vec<Metric>, NodeFault>>> = vec![None; indexes.len()];
        let mut asked = Vec::new();
        for (slot, &index) in indexes.iter().enumerate() {
            if self.nodes[index].cut_short || self.nodes[index].pending.is_some() {
                // Interrupted mid-start or mid-step: it is not asked again.
                results[slot] = Some(Ok(Vec::new()));
            } else if self.nodes[index].container.is_none() {
                results[slot] = Some(Err(self.stopped_fault(index, now_us)));
            } else if let Some(failure) = self.unasked(index) {
                results[slot] = Some(Err(self.fail(index, now_us, Ask::Finish, failure)));
            } else {
                let node = &self.nodes[index];
                let container = node.container.as_ref().expect("checked above");
                container.clock.store(now_us, Ordering::Relaxed);
                match protocol::finish(node.protocol) {
                    Some(frame) => {
                        container.send(frame);
                        asked.push((slot, index));
                    }
                    None => results[slot] = Some(Ok(Vec::new())),
                }
            }
        }
        // Resource figures of every live container, read while they still run.
        let live: Vec<(usize, String)> =
            indexes.iter().filter_map(|&i| self.nodes[i].container.as_ref().map(|c| (i, c.id.clone()))).collect();
        let engine = self.engine.clone();
        let interrupt = self.options.interrupt.clone();
        let reads = live.iter().map(|(_, id)| container::resource_usage(&engine, id)).collect();
        let (usage, _) = self.engine.block_on_each_unless(interrupt.as_deref(), INTERRUPTED_FINISH_GRACE, reads);
        for ((index, _), read) in live.iter().zip(usage) {
            let (cpu_ns, peak) = read.unwrap_or_default();
            self.nodes[*index].usage.cpu_time_us = cpu_ns.map(|ns| ns / 1_000);
            self.nodes[*index].usage.peak_memory_bytes = peak;
        }
        // Answers come in node order; match them to the asks in that order.
        asked.sort_by_key(|(_, index)| *index);
        let answers = {
            let asked_set: Vec<usize> = asked.iter().map(|(_, i)| *i).collect();
            let futures = self.nodes.iter_mut().enumerate().filter(|(i, _)| asked_set.contains(i)).map(|(_, node)| {
                let deadline = tokio::time::Instant::now() + Duration::from_millis(node.step_timeout_ms);
                let protocol = node.protocol;
                let container = node.container.as_mut().expect("asked a live container");
                protocol::receive(container, protocol, Ask::Finish, deadline)
            });
            self.engine.block_on_each_unless(interrupt.as_deref(), INTERRUPTED_FINISH_GRACE, futures.collect()).0
        };
        for ((slot, index), answer) in asked.into_iter().zip(answers) {
            results[slot] = Some(match answer {
                Some(answer) => {
                    answer.and_then(Answer::into_metrics).map_err(|f| self.fail(index, now_us, Ask::Finish, f))
                }
                // Cut short by an interrupt: no metrics; the container goes at shutdown.
                None => {
                    self.nodes[index].finish_unanswered = true;
                    Ok(Vec::new())
                }
            });
        }
        results.into_iter().map(|r| r.expect("every index answered")).collect()
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        let mut lines: Vec<LogLine> = std::mem::take(&mut self.orphan_logs)
            .into_iter()
            .map(|(index, time_us, text)| log_line(index, time_us, &text))
            .collect();
        for (index, node) in self.nodes.iter().enumerate() {
            let Some(container) = &node.container else { continue };
            let mut log = container.log.lock().expect("log lock");
            for (time_us, text) in log.take() {
                lines.push(log_line(index, time_us, &text));
            }
            if log.dropped_lines > 0 {
                lines.push(LogLine {
                    index,
                    time_us: container.clock.load(Ordering::Relaxed),
                    stream: LogStream::Stderr,
                    level: LogLevel::Warn,
                    text: format!("[{} stderr lines dropped: over 1 MiB between two steps]", log.dropped_lines),
                });
                log.dropped_lines = 0;
            }
        }
        lines
    }

    fn usage(&self, index: usize) -> NodeUsage {
        self.nodes[index].usage
    }

    /// The container is killed and removed at once (its last log lines kept).
    fn crash(&mut self, index: usize, _now_us: u64) {
        self.retire(index);
    }

    /// A new container from the same image, named and labelled as the first
    /// (which is gone), given `hello` and `new` with the node's config.
    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &BTreeMap<String, ConfigValue>,
        _restarts: u32,
    ) -> Result<(), NodeFault> {
        self.retire(index);
        let node = &self.nodes[index];
        let spec = DockerNodeSpec { id: &node.id, config, docker: &node.docker, image_id: &node.image_id };
        let start = start_one(&self.engine, &spec, &self.options, now_us);
        match self.engine.block_on_unless(self.options.interrupt.as_deref(), start) {
            Ok(Ok(container)) => {
                self.nodes[index].container = Some(container);
                Ok(())
            }
            Ok(Err(fault)) => Err(fault),
            // The engine sees the interrupt and stops the run.
            Err(Interrupted) => {
                self.nodes[index].cut_short = true;
                Ok(())
            }
        }
    }

    fn shutdown(&mut self) -> Vec<ShutdownError> {
        self.shut_down = true;
        let mut errors = std::mem::take(&mut self.cleanup);
        let mut live: Vec<(String, Container, Duration)> = Vec::new();
        let mut cut_short: Vec<String> = Vec::new();
        for node in &mut self.nodes {
            if let Some(mut c) = node.container.take() {
                c.send(protocol::shutdown(node.protocol));
                c.close_stdin();
                // One that left a request unanswered would not read `shutdown` either.
                let hung = node.pending.is_some() || node.finish_unanswered;
                live.push((node.id.clone(), c, if hung { Duration::ZERO } else { EXIT_GRACE }));
            } else if node.cut_short {
                cut_short.push(node.id.clone());
            }
        }
        let nodes: Vec<String> = live.iter().map(|(node, ..)| node.clone()).chain(cut_short.iter().cloned()).collect();
        let engine = self.engine.clone();
        let run_id = self.options.run_id.clone();
        let mut removals: Vec<BoxFuture<'_, Result<(), super::DockerError>>> = Vec::new();
        for (_, c, grace) in live {
            let engine = engine.clone();
            removals.push(Box::pin(async move {
                // A well-behaved node exits by itself; the rest are killed.
                let _ = tokio::time::timeout(grace, container::exit_code(&engine, &c.id)).await;
                let id = c.id.clone();
                drop(c);
                container::remove(&engine, &id).await
            }));
        }
        // A start cut short may have left a container whose id was never seen.
        for node in &cut_short {
            removals.push(Box::pin(container::remove_labelled(&engine, &run_id, node)));
        }
        let removed = self.engine.block_on(join_all(removals));
        for (node, result) in nodes.into_iter().zip(removed) {
            if let Err(e) = result {
                errors.push(ShutdownError { node, problem: e.to_string() });
            }
        }
        for (name, node) in std::mem::take(&mut self.volumes) {
            if let Err(e) = self.engine.block_on(volume::remove(&self.engine, &name)) {
                errors.push(ShutdownError { node, problem: e.to_string() });
            }
        }
        errors
    }
}

impl Drop for DockerNodeGroup {
    /// The last resort (a panic): `shutdown` is the normal path.
    fn drop(&mut self) {
        if !self.shut_down {
            let _ = self.shutdown();
        }
    }
}

/// A stderr line of node `index` as a log line, its level read off it.
fn log_line(index: usize, time_us: u64, text: &str) -> LogLine {
    let (level, text) = split_level(text);
    LogLine { index, time_us, stream: LogStream::Stderr, level, text: text.to_string() }
}

/// `[warn] text` → (warn, text); lines without a level are `info`: for a
/// container, stderr is the log itself (a WASM model's stderr is `warn`).
fn split_level(line: &str) -> (LogLevel, &str) {
    let levels = [
        ("[trace] ", LogLevel::Trace),
        ("[debug] ", LogLevel::Debug),
        ("[info] ", LogLevel::Info),
        ("[warn] ", LogLevel::Warn),
        ("[error] ", LogLevel::Error),
    ];
    for (prefix, level) in levels {
        if let Some(rest) = line.strip_prefix(prefix) {
            return (level, rest);
        }
    }
    (LogLevel::Info, line)
}
