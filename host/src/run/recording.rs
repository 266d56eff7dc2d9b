//! A run's recording (`recording.xrec`, the format is
//! `crate::runtime::record`'s): which nodes a run records, the
//! [`Recording`] made from what they exchanged once the run is over and
//! written beside the outputs, and a recording read back for replay
//! ([`LoadedRecording`]): which nodes it answers for, in which groups.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::error::PrepareError;
use super::options::{MAX_RECORD_MAX_BYTES, RecordOptions, ReplayFrom, RunOptions};
use super::placement::Placed;
use super::recorded_options::{RecordedOptions, trace_level_name};
use super::summary::RecordingSummary;
use crate::runtime::record::{
    self, FILE_NAME, FORMAT_VERSION, RecordBudget, RecordError, RecordedNode, Recording, RecordingHeader, ReplayMode,
};
use crate::runtime::{FaultKind, NodeFault};
use crate::scenario::ResolvedScenario;
use crate::text::hex;

/// Most node ids an error lists.
const MAX_LISTED: usize = 20;

/// A recording read from disk, for replay.
#[derive(Debug)]
pub struct LoadedRecording {
    /// The file (`recording.xrec`), as the caller named it or its folder.
    pub path: PathBuf,
    /// SHA-256 of the whole file.
    pub sha256: [u8; 32],
    pub recording: Recording,
    /// The recorded run's options, from the header, checked.
    pub options: RecordedOptions,
}

impl LoadedRecording {
    /// Reads the recording at `path`: a `recording.xrec` or a run folder
    /// holding one, its header's run options checked.
    pub fn read(path: &Path) -> Result<Self, PrepareError> {
        let (recording, sha256) = record::read(path)?;
        let path = if path.is_dir() { path.join(FILE_NAME) } else { path.to_path_buf() };
        let options = RecordedOptions::of(&recording.header, &path)?;
        Ok(LoadedRecording { path, sha256, recording, options })
    }

    /// The scenario file the recorded run ran: the first of where it is from
    /// the recording's folder (the two kept together, as in a repository)
    /// and the path it had whose SHA-256 is the recorded one. Another
    /// checkout's edited copy at the old path never hides the one beside
    /// the recording; when neither is the file as recorded, the first found
    /// (refused by its hash, with the fix) or an error naming both.
    pub fn scenario_file(&self) -> Result<PathBuf, PrepareError> {
        let header = &self.recording.header;
        let recorded = PathBuf::from(&header.scenario_path);
        let folder = self.path.parent().unwrap_or(Path::new(""));
        let moved = header.scenario_path_from_recording.as_ref().map(|p| folder.join(p));
        let found: Vec<&PathBuf> = moved.iter().chain([&recorded]).filter(|p| p.is_file()).collect();
        let same = |path: &PathBuf| {
            std::fs::read(path).is_ok_and(|bytes| hex(&Sha256::digest(&bytes)) == header.scenario_sha256)
        };
        match found.iter().find(|p| same(p)).or(found.first()) {
            Some(path) => Ok((*path).clone()),
            None => Err(PrepareError::ScenarioNotFound { recording: self.path.clone(), recorded, moved }),
        }
    }

    /// The recorded nodes' ids, in the recording's order.
    pub fn node_ids(&self) -> Vec<&str> {
        self.recording.nodes.iter().map(|n| n.id.as_str()).collect()
    }
}

/// `ids` for an error: the first [`MAX_LISTED`], and how many in all.
fn listed<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = ids.len();
    let mut shown: Vec<String> = ids.take(MAX_LISTED).map(|id| format!("'{id}'")).collect();
    if total > MAX_LISTED {
        shown.push(format!("… ({total} in all)"));
    }
    if shown.is_empty() { "none".into() } else { shown.join(", ") }
}

/// The index of node `id` of `scenario`, or the error naming the known ones.
fn node_index(scenario: &ResolvedScenario, id: &str, what: &'static str) -> Result<usize, PrepareError> {
    scenario.nodes.iter().position(|n| n.id == id).ok_or_else(|| PrepareError::UnknownNode {
        what,
        node: id.to_string(),
        scenario: scenario.source.clone(),
        known: listed(scenario.nodes.iter().map(|n| n.id.as_str())),
    })
}

/// What a run records: the nodes (scenario indexes) and the budget they share.
pub(super) struct RecordPlan {
    pub nodes: BTreeSet<usize>,
    pub budget: Arc<RecordBudget>,
}

/// The nodes `options` records in `scenario`: those it names, or every
/// Docker node not `replayed`.
pub(super) fn plan_record(
    scenario: &ResolvedScenario,
    options: Option<&RecordOptions>,
    replayed: &BTreeMap<usize, ReplaySource>,
) -> Result<Option<RecordPlan>, PrepareError> {
    let Some(options) = options else { return Ok(None) };
    if options.max_bytes > MAX_RECORD_MAX_BYTES {
        return Err(PrepareError::RecordCapTooLarge { max_bytes: options.max_bytes });
    }
    let mut nodes = BTreeSet::new();
    for id in &options.nodes {
        let index = node_index(scenario, id, "record")?;
        if replayed.contains_key(&index) {
            return Err(PrepareError::RecordingReplayed { node: id.clone() });
        }
        nodes.insert(index);
    }
    if options.nodes.is_empty() {
        nodes = (0..scenario.nodes.len())
            .filter(|n| scenario.nodes[*n].implementation.is_docker() && !replayed.contains_key(n))
            .collect();
        if nodes.is_empty() {
            return Err(PrepareError::NothingToRecord { scenario: scenario.source.clone() });
        }
    }
    Ok(Some(RecordPlan { nodes, budget: RecordBudget::new(options.max_bytes) }))
}

/// Where a replayed node's answers come from, as the summary says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaySource {
    /// The recording's path.
    pub recording: String,
    /// SHA-256 of the recording file.
    pub sha256: String,
    pub mode: ReplayMode,
}

/// Replayed nodes of one group.
pub(super) struct ReplayPlan {
    /// Scenario indexes, in the group's index order.
    pub members: Vec<usize>,
    pub nodes: Vec<RecordedNode>,
    pub mode: ReplayMode,
    /// The recording's path, for divergence messages.
    pub recording: String,
    /// The members are the whole group they were recorded in.
    pub same_group: bool,
}

/// Every replayed node of a run: the groups to place, the recorded
/// startup faults, and where each node's answers come from.
#[derive(Default)]
pub(super) struct ReplayPlans {
    pub groups: Vec<ReplayPlan>,
    pub startup_faults: Vec<(usize, NodeFault)>,
    pub replayed: BTreeMap<usize, ReplaySource>,
}

/// The groups that answer for the nodes `from` names in `scenario`. A
/// recording no one else holds is moved into its groups, not copied: a
/// replay holds it once.
pub(super) fn plan_replay(scenario: &ResolvedScenario, from: Vec<ReplayFrom>) -> Result<ReplayPlans, PrepareError> {
    let mut plans = ReplayPlans::default();
    for replay in from {
        let (path, sha256) = (replay.recording.path.clone(), replay.recording.sha256);
        let recording = path.display().to_string();
        let source = ReplaySource { recording: recording.clone(), sha256: hex(&sha256), mode: replay.mode };
        let ids: Vec<String> = replay.recording.node_ids().into_iter().map(str::to_string).collect();
        let mut recorded: Vec<Option<RecordedNode>> = match Arc::try_unwrap(replay.recording) {
            Ok(owned) => owned.recording.nodes.into_iter().map(Some).collect(),
            Err(shared) => shared.recording.nodes.iter().cloned().map(Some).collect(),
        };
        let chosen: Vec<usize> = match &replay.nodes {
            None => (0..ids.len()).collect(),
            Some(wanted) => wanted
                .iter()
                .map(|id| {
                    ids.iter().position(|n| n == id).ok_or_else(|| PrepareError::NotRecorded {
                        node: id.clone(),
                        recording: path.clone(),
                        recorded: listed(ids.iter().map(String::as_str)),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        // Grouped as recorded (a whole run), or each node alone.
        let mut groups: BTreeMap<(u32, usize), Vec<(usize, RecordedNode)>> = BTreeMap::new();
        for (k, position) in chosen.into_iter().enumerate() {
            let id = &ids[position];
            let index = node_index(scenario, id, "replay")?;
            let node = match recorded[position].take() {
                Some(node) if plans.replayed.insert(index, source.clone()).is_none() => node,
                _ => return Err(PrepareError::ReplayedTwice { node: id.clone() }),
            };
            match (&node.startup_fault, node.group) {
                (Some(fault), _) => plans.startup_faults.push((index, fault.clone())),
                // Neither ran nor failed to start: nothing to answer with, and no node left to step.
                (None, None) => plans.startup_faults.push((
                    index,
                    NodeFault {
                        node: id.clone(),
                        time_us: 0,
                        kind: FaultKind::ReplayDiverged,
                        detail: format!("  {recording} holds nothing of node '{id}': it never ran when recorded"),
                    },
                )),
                (None, Some(_)) => {}
            }
            if let Some(group) = node.group {
                let key = if replay.nodes.is_none() { (group, 0) } else { (group, k) };
                groups.entry(key).or_default().push((index, node));
            }
        }
        for members in groups.into_values() {
            let (members, nodes) = members.into_iter().unzip();
            plans.groups.push(ReplayPlan {
                members,
                nodes,
                mode: replay.mode,
                recording: recording.clone(),
                same_group: replay.nodes.is_none(),
            });
        }
    }
    Ok(plans)
}

/// The header of a recording of a run of `scenario_path` (hash
/// `scenario_sha256`) with `options`, whose recorded nodes ran `ran`,
/// written into `out_dir`.
pub(super) fn header(
    options: &RunOptions,
    scenario_path: &Path,
    scenario_sha256: String,
    ran: BTreeMap<String, String>,
    out_dir: &Path,
) -> RecordingHeader {
    let scenario = std::path::absolute(scenario_path).unwrap_or_else(|_| scenario_path.to_path_buf());
    RecordingHeader {
        format: FORMAT_VERSION,
        xedgesim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario_path: scenario.display().to_string(),
        scenario_path_from_recording: relative_path(&scenario, out_dir).map(|p| p.display().to_string()),
        scenario_sha256,
        seed: options.seed,
        duration_us: options.duration_us,
        trace_level: trace_level_name(options.trace_level).to_string(),
        fault_free: options.fault_free,
        max_queued_payload_bytes: options.max_queued_payload_bytes,
        sandbox: options.sandbox.to_string(),
        native: options.native,
        nodes: ran,
    }
}

/// The path from the folder `from` to the file `to`, both as they really
/// are (links followed); `None` when either cannot be found.
fn relative_path(to: &Path, from: &Path) -> Option<PathBuf> {
    let (to, from) = (std::fs::canonicalize(to).ok()?, std::fs::canonicalize(from).ok()?);
    let common = to.components().zip(from.components()).take_while(|(a, b)| a == b).count();
    let up = from.components().skip(common).map(|_| std::path::Component::ParentDir);
    let relative: PathBuf = up.chain(to.components().skip(common)).collect();
    Some(relative)
}

/// The recording of the run `placed` made: each recorded node, in
/// scenario order, with its group, startup fault, usage (read now, as the
/// outputs read it) and events. `CapExceeded` when the budget was passed.
pub(super) fn build(
    header: RecordingHeader,
    scenario: &ResolvedScenario,
    placed: &Placed,
) -> Result<Recording, RecordError> {
    let mut events: BTreeMap<usize, (u32, Vec<record::Event>)> = BTreeMap::new();
    for (group, members, tap) in &placed.recorded {
        for (member, recorded) in members.iter().zip(tap.take()?) {
            events.insert(*member, (*group, recorded));
        }
    }
    let nodes = placed
        .recorded_nodes
        .iter()
        .map(|(&node, fault)| {
            let (group, events) = match events.remove(&node) {
                Some((group, events)) => (Some(group), events),
                None => (None, Vec::new()),
            };
            RecordedNode {
                id: scenario.nodes[node].id.clone(),
                group,
                startup_fault: fault.clone(),
                usage: placed.placement.usage(scenario, node),
                events,
            }
        })
        .collect();
    Ok(Recording { header, nodes })
}

/// Writes `recording` into `out_dir` (atomically) and says what was written.
pub(super) fn write(out_dir: &Path, recording: &Recording) -> Result<RecordingSummary, RecordError> {
    let written = record::write(&out_dir.join(FILE_NAME), recording)?;
    Ok(RecordingSummary {
        file: FILE_NAME.to_string(),
        sha256: hex(&written.sha256),
        bytes: written.bytes,
        nodes: recording.nodes.iter().map(|n| n.id.clone()).collect(),
    })
}
