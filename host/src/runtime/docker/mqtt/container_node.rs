//! [`ContainerNode`]: what every container that speaks MQTT has, client or
//! broker: its container (stdout and stderr both its log), its usage, its
//! host-side notes, and how it starts, faults, logs and goes away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::join_all;

use crate::runtime::docker::container::{self, Container, Frame};
use crate::runtime::docker::container_spec::ContainerSpec;
use crate::runtime::docker::engine::DockerEngine;
use crate::runtime::docker::node_group::{DockerNodeSpec, DockerOptions};
use crate::runtime::{FaultKind, LogLevel, LogLine, LogStream, NodeFault, NodeUsage, ShutdownError};
use crate::scenario::DockerNode;

pub struct ContainerNode {
    pub id: String,
    /// As the scenario gave it, with the run's network (and, for a client,
    /// its endpoint's variables) filled in.
    pub docker: DockerNode,
    pub image_id: String,
    pub container: Option<Container>,
    pub usage: NodeUsage,
    /// Its start was cut short by an interrupt.
    pub cut_short: bool,
    /// Host-side log lines: (virtual time, level, text).
    pub notes: Vec<(u64, LogLevel, String)>,
}

impl ContainerNode {
    pub fn new(spec: &DockerNodeSpec<'_>) -> ContainerNode {
        ContainerNode {
            id: spec.id.to_string(),
            docker: spec.docker.clone(),
            image_id: spec.image_id.to_string(),
            container: None,
            usage: NodeUsage { round_trip_us_total: Some(0), round_trip_us_max: Some(0), ..NodeUsage::default() },
            cut_short: false,
            notes: Vec::new(),
        }
    }

    pub fn fault(&self, time_us: u64, kind: FaultKind, detail: String) -> NodeFault {
        NodeFault { node: self.id.clone(), time_us, kind, detail }
    }

    /// Creates and starts its container, within `docker.start_timeout_ms`.
    pub async fn start_container(
        &mut self,
        engine: &DockerEngine,
        options: &DockerOptions,
        time_us: u64,
    ) -> Result<(), NodeFault> {
        let spec = ContainerSpec {
            node: &self.id,
            image_id: &self.image_id,
            docker: &self.docker,
            run_id: &options.run_id,
            run_label: options.run_label.as_deref(),
            stdout_is_log: true,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.docker.start_timeout_ms);
        match tokio::time::timeout_at(deadline, Container::start(engine, &spec, time_us)).await {
            Ok(Ok(container)) => {
                self.container = Some(container);
                Ok(())
            }
            Ok(Err(e)) => Err(self.fault(time_us, FaultKind::ContainerStart, e.to_string())),
            Err(_) => {
                let _ = container::remove_labelled(engine, &options.run_id, &self.id).await;
                let what = "the engine did not create and start the container in time".to_string();
                Err(self.fault(time_us, FaultKind::Timeout { timeout_ms: self.docker.start_timeout_ms }, what))
            }
        }
    }

    /// Its container still runs at `now_us` (and its log lines are stamped
    /// from then on); else the fault that says why not.
    pub async fn check_alive(&mut self, engine: &DockerEngine, now_us: u64) -> Result<(), NodeFault> {
        let Some(container) = self.container.as_mut() else {
            return Err(self.fault(now_us, FaultKind::Stopped, String::new()));
        };
        container.clock.store(now_us, Ordering::Relaxed);
        match container.try_frame() {
            Some(Frame::Closed(_)) => Err(self.container_exited(engine, now_us).await),
            _ => Ok(()),
        }
    }

    /// One wait for its answers (from `sent` to now) in its round-trip figures.
    pub fn record_round_trip(&mut self, sent: std::time::Instant) {
        let waited = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        *self.usage.round_trip_us_total.get_or_insert(0) += waited;
        let max = self.usage.round_trip_us_max.get_or_insert(0);
        *max = (*max).max(waited);
    }

    /// Removes its container, then returns `fault`.
    pub async fn remove_with(&mut self, engine: &DockerEngine, fault: NodeFault) -> NodeFault {
        if let Some(c) = self.container.take() {
            let id = c.id.clone();
            drop(c);
            let _ = container::remove(engine, &id).await;
        }
        fault
    }

    pub async fn container_exited(&self, engine: &DockerEngine, time_us: u64) -> NodeFault {
        let exit_code = match &self.container {
            Some(c) => container::exit_code(engine, &c.id).await,
            None => None,
        };
        self.fault(time_us, FaultKind::ContainerExited { exit_code }, self.log_tail().trim_start().to_string())
    }

    /// The last lines of its log, for fault messages.
    pub fn log_tail(&self) -> String {
        match self.container.as_ref().map(Container::stderr_tail) {
            Some(tail) if !tail.is_empty() => format!("\nits log:\n{tail}"),
            _ => String::new(),
        }
    }

    /// Stops it for good: its container is removed, its last log lines kept in `orphan_logs`.
    pub fn retire(
        &mut self,
        engine: &DockerEngine,
        index: usize,
        orphan_logs: &mut Vec<(usize, u64, String)>,
        cleanup: &mut Vec<ShutdownError>,
    ) {
        let Some(c) = self.container.take() else { return };
        let lines = c.log.lock().expect("log lock").take();
        orphan_logs.extend(lines.into_iter().map(|(time_us, text)| (index, time_us, text)));
        let id = c.id.clone();
        drop(c);
        if let Err(e) = engine.block_on(container::remove(engine, &id)) {
            cleanup.push(ShutdownError { node: self.id.clone(), problem: e.to_string() });
        }
    }
}

/// When a node whose next message leaves at `next_departure_us` steps
/// next: then, or at the next quantum, when it may publish on its own.
pub fn next_wake(now_us: u64, quantum_us: u64, next_departure_us: Option<u64>) -> u64 {
    let quantum = quantum_us.max(1);
    let poll = (now_us / quantum).saturating_add(1).saturating_mul(quantum);
    next_departure_us.map_or(poll, |at| at.min(poll))
}

/// CPU time and peak memory of the live containers among `indexes`.
pub fn read_resources(
    engine: &DockerEngine,
    nodes: &mut [&mut ContainerNode],
    indexes: &[usize],
    interrupt: Option<&AtomicBool>,
) {
    let live: Vec<(usize, String)> =
        indexes.iter().filter_map(|&i| nodes[i].container.as_ref().map(|c| (i, c.id.clone()))).collect();
    let reads = live.iter().map(|(_, id)| container::resource_usage(engine, id)).collect();
    let (usage, _) = engine.block_on_each_unless(interrupt, Duration::from_secs(1), reads);
    for ((index, _), read) in live.iter().zip(usage) {
        let (cpu_ns, peak) = read.unwrap_or_default();
        nodes[*index].usage.cpu_time_us = cpu_ns.map(|ns| ns / 1_000);
        nodes[*index].usage.peak_memory_bytes = peak;
    }
}

/// Every line logged since the last call: removed containers' first,
/// then each node's notes and container log.
pub fn take_logs(nodes: &mut [&mut ContainerNode], orphan_logs: &mut Vec<(usize, u64, String)>) -> Vec<LogLine> {
    let line = |index, time_us, level, text| LogLine { index, time_us, stream: LogStream::Stdout, level, text };
    let mut lines: Vec<LogLine> =
        std::mem::take(orphan_logs).into_iter().map(|(i, t, text)| line(i, t, LogLevel::Info, text)).collect();
    for (index, node) in nodes.iter_mut().enumerate() {
        for (time_us, level, text) in std::mem::take(&mut node.notes) {
            lines.push(LogLine { index, time_us, stream: LogStream::Log, level, text });
        }
        let Some(container) = &node.container else { continue };
        let mut log = container.log.lock().expect("log lock");
        for (time_us, text) in log.take() {
            lines.push(line(index, time_us, LogLevel::Info, text));
        }
        if log.dropped_lines > 0 {
            let text = format!("[{} log lines dropped: over 1 MiB between two steps]", log.dropped_lines);
            lines.push(line(index, container.clock.load(Ordering::Relaxed), LogLevel::Warn, text));
            log.dropped_lines = 0;
        }
    }
    lines
}

/// Removes every node's container (killed: nothing is asked of it).
pub fn remove_all(engine: &DockerEngine, run_id: &str, nodes: &mut [&mut ContainerNode]) -> Vec<ShutdownError> {
    let removals: Vec<_> = nodes
        .iter_mut()
        .map(|node| {
            let container = node.container.take();
            let (engine, run_id, id, cut_short) = (engine.clone(), run_id.to_string(), node.id.clone(), node.cut_short);
            async move {
                let result = match container {
                    Some(c) => {
                        let cid = c.id.clone();
                        drop(c);
                        container::remove(&engine, &cid).await
                    }
                    // A start cut short may have left a container whose id was never seen.
                    None if cut_short => container::remove_labelled(&engine, &run_id, &id).await,
                    None => Ok(()),
                };
                (id, result)
            }
        })
        .collect();
    engine
        .block_on(join_all(removals))
        .into_iter()
        .filter_map(|(node, result)| result.err().map(|e| ShutdownError { node, problem: e.to_string() }))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_node_wakes_at_its_next_departure_or_the_next_quantum_whichever_is_first() {
        assert_eq!(super::next_wake(2_500, 1_000, None), 3_000);
        assert_eq!(super::next_wake(3_000, 1_000, Some(3_200)), 3_200);
        assert_eq!(super::next_wake(3_000, 1_000, Some(9_000)), 4_000);
    }
}
