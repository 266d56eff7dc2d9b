//! The end of a run: every live node's final metrics, the groups shut
//! down, and the [`Outcome`] the run layer writes its outputs from.

use std::collections::BTreeMap;

use super::model_metrics::repeated_name;
use super::series::{SeriesRecorder, busiest_nodes};
use super::{
    Delivery, Engine, EngineError, FaultRecord, Histogram, MessageCounts, NodeRow, NodeStats, Placement, Progress,
    ScriptedFaultSummary, Series, Stop, Trace,
};
use crate::runtime::fault::FaultKind;
use crate::runtime::{Metric, NodeFault};
use crate::scenario::ResolvedScenario;

/// What a run did, as the engine counted it; its groups are shut down.
pub struct Outcome {
    /// Why the run stopped before its end, if it did.
    pub end: Result<(), Stop>,
    /// Still to be committed ([`commit_trace`](Self::commit_trace)): the run layer decides when.
    trace: Trace,
    /// Every node's final metrics (empty for a node stopped or down at the end).
    pub node_metrics: Vec<Vec<Metric>>,
    pub stats: Vec<NodeStats>,
    /// Whether each node was stopped by a fault.
    pub stopped: Vec<bool>,
    /// In flight includes what was still on the wire or held by a stall.
    pub counts: MessageCounts,
    pub scripted_faults: Option<ScriptedFaultSummary>,
    /// Send-to-delivery latency of every delivered message.
    pub latency: Histogram,
    pub faults: Vec<FaultRecord>,
    /// Every delivery, when the run recorded them.
    pub deliveries: Option<Vec<Delivery>>,
    pub events: u64,
    pub steps: u64,
    /// Virtual time reached: the end time, unless the run stopped early.
    pub reached_us: u64,
    /// What the groups could not release.
    pub shutdown_errors: Vec<String>,
    /// Each node's compute time over the run in virtual µs (`cpu:`):
    /// `None` for nodes without one; empty when no node has one.
    pub compute_us: Vec<Option<u64>>,
    series: SeriesRecorder,
}

impl<'a> Engine<'a> {
    /// Runs the scenario to its end time (or its first stop), finishes
    /// every live node and shuts the groups down.
    pub fn run(mut self, progress: Option<&mut dyn FnMut(Progress)>) -> Outcome {
        let end = self.run_instants(progress);
        let end_us = self.now_us;
        let (node_metrics, finish_error) = self.finish_all(end_us);
        // A fault in `finish` fails a run that had not failed already.
        let end = match (end, finish_error) {
            // Final metrics cut short by the user's stop.
            (Ok(()), _) if self.interrupted() => Err(Stop::Interrupted),
            (Ok(()), Some(e)) => Err(Stop::Error(e)),
            (end, _) => end,
        };
        let shutdown_errors = self.placement.shutdown().iter().map(ToString::to_string).collect();
        let reached_us = self.now_us.min(self.duration_us);
        let ids = &self.ids;
        let scripted_faults = self.scripted.summary(reached_us, &self.counts.dropped_by_reason, |n| ids[n].to_string());
        let mut counts = self.counts;
        // Still on the wire, or at a stalled or busy node no step of which received them.
        counts.in_flight +=
            self.queue.deliveries() as u64 + self.scripted.held_messages() + self.compute.held_messages();
        Outcome {
            end,
            trace: self.trace,
            node_metrics,
            stats: self.stats,
            stopped: self.stopped,
            counts,
            scripted_faults,
            latency: self.latency,
            faults: self.faults,
            deliveries: self.deliveries,
            events: self.events,
            steps: self.steps,
            reached_us,
            shutdown_errors,
            compute_us: self.compute.totals(),
            series: self.series,
        }
    }

    /// Every live node's final metrics, by node index; one batch per group.
    /// A fault in `finish` is recorded like any other; under `on_fault:
    /// abort` it fails the run (returned as the error, with the metrics).
    pub(super) fn finish_all(&mut self, now: u64) -> (Vec<Vec<Metric>>, Option<EngineError>) {
        let mut metrics = vec![Vec::new(); self.ids.len()];
        let mut faults = Vec::new();
        let groups = 0..self.placement.groups.len();
        for group in groups.clone() {
            // Every group is finished, even one whose nodes all stopped, so its
            // last (unterminated) log lines are flushed too.
            let live: Vec<usize> = self.placement.members[group]
                .iter()
                .copied()
                .filter(|&node| !self.stopped[node] && !self.scripted.is_down(node))
                .collect();
            let indexes: Vec<usize> = live.iter().map(|&node| self.placement.slot[node].expect("placed").1).collect();
            let results = self.placement.groups[group].finish(&indexes, now);
            for (node, result) in live.into_iter().zip(results) {
                // Kept as every runtime's are: escaped and bounded (a container's are not cut on the way).
                let result = result.map(|m| {
                    m.into_iter().map(|m| Metric { name: crate::runtime::kept_metric_name(m.name), ..m }).collect()
                });
                match result.map(|m: Vec<Metric>| (repeated_name(&m), m)) {
                    Ok((None, m)) => metrics[node] = m,
                    // Which of its values would be the metric? None: refused, as a broken contract.
                    Ok((Some(detail), _)) => faults.push((
                        node,
                        NodeFault {
                            node: self.ids[node].to_string(),
                            time_us: now,
                            kind: FaultKind::DuplicateMetric,
                            detail,
                        },
                    )),
                    Err(fault) => faults.push((node, fault)),
                }
            }
        }
        self.trace_logs(groups);
        // In node order, whatever group each node lives in.
        faults.sort_by_key(|(node, _)| *node);
        let mut abort = None;
        for (node, fault) in faults {
            // Every fault is recorded; the first under `abort` fails the run.
            if let Err(Stop::Error(e)) = self.fault(node, fault) {
                abort.get_or_insert(e);
            }
        }
        (metrics, abort)
    }
}

impl Outcome {
    /// Commits the trace (its file takes its real name); the first write error, if any.
    pub fn commit_trace(&mut self) -> std::io::Result<()> {
        std::mem::replace(&mut self.trace, Trace::new(super::TraceLevel::Off, None)).commit()
    }

    /// The engine's own metrics of `node`: its steps and message counts.
    pub fn host_metrics(&self, node: usize, placement: &Placement) -> Vec<(&'static str, u64)> {
        let s = &self.stats[node];
        vec![
            ("steps", placement.steps(node)),
            ("messages_in", s.messages_in),
            ("bytes_in", s.bytes_in),
            ("messages_out", s.messages_out),
            ("bytes_out", s.bytes_out),
            ("messages_dropped", s.dropped_out),
            ("faulted", u64::from(self.stopped[node])),
        ]
    }

    /// The series the report page is drawn from: what was counted while running, and every
    /// node's totals (the busiest listed, all summed by type).
    pub fn series(&mut self, scenario: &ResolvedScenario, placement: &Placement) -> Series {
        let ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
        let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
        for f in &self.faults {
            *faults.entry(f.node.as_str()).or_default() += 1;
        }
        let steps = |node: usize| placement.steps(node);
        let fault_count = |node: usize| faults.get(ids[node]).copied().unwrap_or(0);
        // Rows are made one node at a time and kept only for the listed
        // nodes: a million nodes' rows would cost more than the run's report.
        let listed = busiest_nodes(ids.len(), |node| {
            let s = &self.stats[node];
            (fault_count(node), s.messages_in + s.messages_out, steps(node))
        });
        let mut listed = listed.into_iter().peekable();
        let mut nodes = Vec::new();
        let mut node_types: BTreeMap<&str, NodeRow> = BTreeMap::new();
        for (node, id) in ids.iter().enumerate() {
            let s = &self.stats[node];
            let kind = scenario.nodes[node].kind.name();
            let row = NodeRow {
                id: id.to_string(),
                kind: kind.to_string(),
                nodes: 1,
                steps: steps(node),
                messages_in: s.messages_in,
                messages_out: s.messages_out,
                bytes_in: s.bytes_in,
                bytes_out: s.bytes_out,
                dropped_out: s.dropped_out,
                faults: fault_count(node),
                usage: placement
                    .usage(scenario, node)
                    .measured()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            };
            node_types
                .entry(kind)
                .or_insert_with(|| NodeRow {
                    id: format!("all {kind} nodes"),
                    kind: kind.to_string(),
                    ..NodeRow::default()
                })
                .add(&row);
            if listed.next_if_eq(&node).is_some() {
                nodes.push(row);
            }
        }
        let recorder = std::mem::replace(&mut self.series, SeriesRecorder::new(0, &[], &[]));
        recorder.finish(&self.latency, &ids, nodes, node_types.into_values().collect(), ids.len() as u64)
    }
}
