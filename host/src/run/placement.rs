//! Where each node runs: which [`NodeGroup`] (sandbox) holds it, at which
//! index. Built once, before the run starts: a component that does not
//! load stops the run here, before any container starts; a Docker node
//! whose engine, image or container cannot be had gets a startup fault.
//! The one file of the run layer that chooses a backend (WASM, Docker,
//! native, or a recording answering for the node) for a node, and wraps
//! the groups of recorded nodes: the engine only steps what it is handed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::SandboxMode;
use super::error::PrepareError;
use super::recording::{RecordPlan, ReplayPlans, ReplaySource};
use crate::engine::Placement;
use crate::runtime::docker::image::{ImageInfo, ensure_image_with, recipe};
use crate::runtime::docker::{
    DockerEngine, DockerError, DockerNodeGroup, DockerNodeSpec, DockerOptions, MqttBrokerGroup, MqttClientGroup,
};
use crate::runtime::named_endpoint;
use crate::runtime::native::builtin_native;
use crate::runtime::record::{RecordTap, RecordingGroup, ReplayGroup, ReplayReport};
use crate::runtime::wasm::{
    DataFiles, LanedGroup, NodeSpec, RuntimeOptions, WasmError, WasmNodeGroup, WasmRuntime, lane_count, lane_sizes,
};
use crate::runtime::{FaultKind, NodeFault, NodeGroup};
use crate::scenario::{
    ComponentSource, DEFAULT_ENGINE_NAME, DockerNode, Implementation, MAX_DATA_FILES_BYTES, MqttRole, ResolvedScenario,
    SandboxLimits, WasmNode,
};
use crate::text::hex;

/// Stores at or above this count use wasmtime's pooling allocator: one
/// reservation for all of them and faster instantiation.
const POOLING_THRESHOLD: usize = 256;

/// Kernel memory mappings one store needs (about 4 measured, with margin),
/// and what the rest of the process needs.
const MAPPINGS_PER_STORE: u64 = 5;
const MAPPINGS_BASELINE: u64 = 2_000;

/// Refuses, before anything starts, more stores than the kernel's
/// `vm.max_map_count` allows: each store's memory and tables are separate
/// mappings, and past the limit instantiation fails with ENOMEM.
pub fn check_map_count(stores: usize, max_map_count: Option<u64>) -> Result<(), PrepareError> {
    let Some(limit) = max_map_count else { return Ok(()) };
    let needed = stores as u64 * MAPPINGS_PER_STORE + MAPPINGS_BASELINE;
    if needed > limit {
        return Err(PrepareError::TooManySandboxes { stores, needed, limit });
    }
    Ok(())
}

/// The kernel's limit on memory mappings per process, where there is one.
fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()
}

/// How to place a run's nodes.
pub struct PlaceOptions<'a> {
    pub seed: u64,
    pub mode: SandboxMode,
    pub native: bool,
    pub cache_dir: Option<PathBuf>,
    /// The Docker engine's endpoint; `None`: the local one.
    pub docker_host: Option<String>,
    /// Nothing is pulled: a missing image is a startup fault.
    pub offline: bool,
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Labels and names this run's containers.
    pub run_id: String,
    /// The caller's label on every container and volume (`xedgesim.run_label`).
    pub run_label: Option<String>,
    /// Hears image builds' output.
    pub build_log: &'a mut dyn FnMut(&str),
    /// The nodes whose groups are recorded, and their budget.
    pub record: Option<RecordPlan>,
    /// The nodes answered from recordings.
    pub replay: ReplayPlans,
}

/// A run's nodes placed: the groups the engine steps, and what they run.
pub struct Placed {
    pub placement: Placement,
    /// SHA-256 of each component that runs, by name.
    pub components: BTreeMap<String, String>,
    /// The image id each Docker node runs, by node.
    pub images: BTreeMap<String, String>,
    /// SHA-256 of each `wasm.files` file, by node and name (nodes with files only).
    pub files: BTreeMap<String, BTreeMap<String, String>>,
    /// Each recorded group: its number in the placement, its members, and
    /// what it records.
    pub recorded: Vec<(u32, Vec<usize>, RecordTap)>,
    /// Every recorded node, with its startup fault if it had one (the
    /// engine takes the placement's when the run starts).
    pub recorded_nodes: BTreeMap<usize, Option<NodeFault>>,
    /// What each recorded node ran, by id: `image sha256:…` or `component <sha256>`.
    pub recorded_ran: BTreeMap<String, String>,
    /// Each replayed node and the recording it is answered from.
    pub replayed: BTreeMap<usize, ReplaySource>,
    /// The replayed groups' counts, read when the run is over.
    pub replays: Vec<ReplayReport>,
    /// Each Docker engine connected to, by name ([`DEFAULT_ENGINE_NAME`] or an `engines:` name).
    pub engines: BTreeMap<String, EngineUsed>,
    /// The engine each Docker node that runs was placed on, by node.
    pub node_engines: BTreeMap<String, String>,
}

/// Each distinct set of `wasm.files` staged once, its read-only folder
/// shared by every sandbox that reads it: a `count:` of nodes with `cpu:`
/// (a sandbox each) would otherwise copy the files once a node, and could
/// fill the temporary folder.
#[derive(Default)]
pub(super) struct StagedFiles(BTreeMap<(BTreeMap<String, PathBuf>, u64), Arc<DataFiles>>);

impl StagedFiles {
    /// The `wasm.files` of node `index` (and its store's other nodes, which
    /// have the same), staged for its sandbox; `None` when it has none.
    pub(super) fn for_node(
        &mut self,
        scenario: &ResolvedScenario,
        index: usize,
        limits: SandboxLimits,
    ) -> Result<Option<Arc<DataFiles>>, PrepareError> {
        let node = &scenario.nodes[index];
        let Implementation::Wasm(wasm) = &node.implementation else { return Ok(None) };
        if wasm.files.is_empty() {
            return Ok(None);
        }
        let max_bytes = (limits.memory_limit_mb << 20).min(MAX_DATA_FILES_BYTES);
        let key = (wasm.files.clone(), max_bytes);
        if let Some(staged) = self.0.get(&key) {
            return Ok(Some(staged.clone()));
        }
        let staged = DataFiles::stage(&wasm.files, max_bytes)
            .map(Arc::new)
            .map_err(|source| PrepareError::Component { node: node.id.clone(), source })?;
        self.0.insert(key, staged.clone());
        Ok(Some(staged))
    }
}

/// Makes every node of `scenario`: WASM nodes first, so a component that
/// does not load stops the run before any container starts; then Docker
/// nodes, whose problems (no engine, a failed build) are node faults under
/// the node's fault policy; then the replayed nodes, from their
/// recordings (no Docker engine is contacted when no container node is
/// left to run). The groups of recorded nodes are wrapped last.
pub fn place(scenario: &ResolvedScenario, mut options: PlaceOptions<'_>) -> Result<Placed, PrepareError> {
    let record = options.record.take();
    let replay = std::mem::take(&mut options.replay);
    let recorded = record.as_ref().map(|r| r.nodes.clone()).unwrap_or_default();
    let mut placed = place_live(scenario, options, &recorded, &replay.replayed.keys().copied().collect())?;
    for plan in replay.groups {
        let (group, report) = ReplayGroup::new(plan.nodes, plan.mode, plan.recording, plan.same_group);
        placed.replays.push(report);
        placed.placement.add(scenario, plan.members, Ok(Box::new(group)));
    }
    placed.placement.startup_faults.extend(replay.startup_faults);
    placed.replayed = replay.replayed;
    if let Some(record) = record {
        wrap_recorded(scenario, &mut placed, record);
    }
    Ok(placed)
}

/// Wraps each group holding a recorded node in a [`RecordingGroup`]: the
/// whole group is recorded (its nodes stepped together).
fn wrap_recorded(scenario: &ResolvedScenario, placed: &mut Placed, record: RecordPlan) {
    let placement = &mut placed.placement;
    let groups = std::mem::take(&mut placement.groups);
    for (g, group) in groups.into_iter().enumerate() {
        let members = &placement.members[g];
        if !members.iter().any(|m| record.nodes.contains(m)) {
            placement.groups.push(group);
            continue;
        }
        let (group, tap) = RecordingGroup::new(group, record.budget.clone());
        placement.groups.push(Box::new(group));
        placed.recorded.push((u32::try_from(g).unwrap_or(u32::MAX), members.clone(), tap));
        for &m in members {
            placed.recorded_nodes.insert(m, None);
        }
    }
    // A recorded node that could not start is recorded with its fault.
    for (node, fault) in &placement.startup_faults {
        if record.nodes.contains(node) || placed.recorded_nodes.contains_key(node) {
            placed.recorded_nodes.entry(*node).or_default().get_or_insert_with(|| fault.clone());
        }
    }
    for (&node, fault) in &placed.recorded_nodes {
        let id = &scenario.nodes[node].id;
        if let Some(image) = placed.images.get(id) {
            placed.recorded_ran.insert(id.clone(), format!("image {image}"));
        }
        let nothing = if fault.is_some() { "nothing: it did not start" } else { "a native build" };
        placed.recorded_ran.entry(id.clone()).or_insert_with(|| nothing.into());
    }
}

/// [`place`] for the nodes that run (not replayed); the nodes of `alone`
/// (recorded WASM nodes) each get a sandbox of their own.
fn place_live(
    scenario: &ResolvedScenario,
    options: PlaceOptions<'_>,
    alone: &BTreeSet<usize>,
    replayed: &BTreeSet<usize>,
) -> Result<Placed, PrepareError> {
    let PlaceOptions {
        seed,
        mode,
        native,
        cache_dir,
        docker_host,
        offline,
        interrupt,
        run_id,
        run_label,
        build_log,
        ..
    } = options;
    let engine = (docker_host, offline);
    let mut wasm_nodes: Vec<(usize, &WasmNode)> = Vec::new();
    let mut docker_nodes: Vec<(usize, &DockerNode)> = Vec::new();
    for (index, node) in scenario.nodes.iter().enumerate() {
        if replayed.contains(&index) {
            continue;
        }
        match &node.implementation {
            Implementation::Docker(_) if native => {
                return Err(PrepareError::NativeUnavailable { node: node.id.clone() });
            }
            Implementation::Docker(d) => docker_nodes.push((index, d)),
            Implementation::Wasm(_) if native && node.cpu.is_some() => {
                return Err(PrepareError::NativeCompute { node: node.id.clone() });
            }
            Implementation::Wasm(w) => wasm_nodes.push((index, w)),
        }
    }
    // Nodes that share a sandbox: same component and limits, in file order,
    // up to `nodes_per_instance`. Never from the thread count: which nodes
    // share an instance decides which fail together and the memory cap, so
    // it must be the same on every machine.
    // The batch still open for each (component, limits): looked up, not
    // searched, so placing 10,000,000 nodes is linear.
    // Nodes with `wasm.files` share only with nodes of the same files: a
    // store has one `/data`.
    let mut batches: Vec<(ComponentSource, SandboxLimits, Vec<usize>)> = Vec::new();
    let mut open: BTreeMap<(&ComponentSource, SandboxLimits, &BTreeMap<String, PathBuf>), usize> = BTreeMap::new();
    // The packs each key makes, and each batch's key (none for a node alone): lanes need both.
    let mut packs: BTreeMap<(&ComponentSource, SandboxLimits, &BTreeMap<String, PathBuf>), usize> = BTreeMap::new();
    let mut batch_keys = Vec::new();
    let per_instance = match mode {
        SandboxMode::PerNode => 1,
        SandboxMode::Shared { nodes_per_instance } => nodes_per_instance.max(1),
    };
    for (index, wasm) in &wasm_nodes {
        let key = (&wasm.component, wasm.limits, &wasm.files);
        if scenario.nodes[*index].cpu.is_some() || alone.contains(index) {
            // A node with `cpu:` runs alone: its compute time is its fuel,
            // and in a shared instance the allocator's work for its
            // neighbours could move that (docs/running.md, "Compute time").
            // A recorded node too: its recording is its own calls only.
            batches.push((wasm.component.clone(), wasm.limits, vec![*index]));
            batch_keys.push(None);
            continue;
        }
        match open.get(&key) {
            Some(&batch) if batches[batch].2.len() < per_instance => batches[batch].2.push(*index),
            _ => {
                open.insert(key, batches.len());
                *packs.entry(key).or_default() += 1;
                batch_keys.push(Some(key));
                batches.push((wasm.component.clone(), wasm.limits, vec![*index]));
            }
        }
    }
    let mut placed = Placed {
        placement: Placement::new(scenario.nodes.len()),
        components: BTreeMap::new(),
        images: BTreeMap::new(),
        files: BTreeMap::new(),
        recorded: Vec::new(),
        recorded_nodes: BTreeMap::new(),
        recorded_ran: BTreeMap::new(),
        replayed: BTreeMap::new(),
        replays: Vec::new(),
        engines: BTreeMap::new(),
        node_engines: BTreeMap::new(),
    };
    let specs = |members: &[usize]| -> Vec<NodeSpec<'_>> {
        members.iter().map(|&i| NodeSpec { id: &scenario.nodes[i].id, config: &scenario.nodes[i].config }).collect()
    };
    if native {
        for (source, _, members) in batches {
            let name = match &source {
                ComponentSource::Builtin(name) => name.clone(),
                ComponentSource::File(_) | ComponentSource::Folder(_) | ComponentSource::Built { .. } => {
                    let node = scenario.nodes[members[0]].id.clone();
                    return Err(PrepareError::NativeUnavailable { node });
                }
            };
            let made = builtin_native(&name, seed, &specs(&members)).expect("every built-in model has a native build");
            placed.placement.add(scenario, members, made);
        }
        return Ok(placed);
    }

    // Memory is the one limit nodes in an instance share (fuel and the log
    // budget are each node's own): an instance may hold N nodes' worth, up to 4 GiB.
    let shared_limits = |limits: SandboxLimits, n: usize| SandboxLimits {
        memory_limit_mb: (limits.memory_limit_mb * n as u64).min(4096),
        ..limits
    };
    // A component that makes few packs has them split into lanes, instances
    // the engine can step side by side (runtime/wasm/lanes.rs): never from
    // the thread count either. Each lane's memory is its own nodes' worth.
    let lanes: Vec<Vec<usize>> = batches
        .iter()
        .zip(&batch_keys)
        .map(|((_, _, m), key)| lane_sizes(m.len(), key.map_or(1, |key| lane_count(m.len(), packs[&key]))))
        .collect();
    let max_memory_mb =
        batches.iter().zip(&lanes).map(|((_, l, _), s)| shared_limits(*l, s[0]).memory_limit_mb).max().unwrap_or(64);
    let stores = lanes.iter().map(Vec::len).sum();
    check_map_count(stores, max_map_count())?;
    if stores == 0 {
        place_docker(&mut placed, scenario, &docker_nodes, engine, interrupt, (run_id, run_label), build_log);
        return Ok(placed);
    }
    let options = RuntimeOptions {
        cache_dir,
        pooling_slots: (stores >= POOLING_THRESHOLD).then(|| u32::try_from(stores).unwrap_or(u32::MAX)),
        max_memory_mb,
        interrupt: interrupt.clone(),
    };
    let mut runtime = WasmRuntime::new(&options).map_err(PrepareError::Runtime)?;
    let mut staged = StagedFiles::default();
    for ((source, limits, members), sizes) in batches.into_iter().zip(lanes) {
        if interrupt.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
            return Err(PrepareError::Interrupted { component: source.to_string() });
        }
        let component = runtime.component(&source).map_err(|source| match source {
            WasmError::Interrupted { component } => PrepareError::Interrupted { component },
            source => PrepareError::Component { node: scenario.nodes[members[0]].id.clone(), source },
        })?;
        placed.components.entry(component.name.clone()).or_insert_with(|| hex(&component.sha256));
        for &member in members.iter().filter(|m| alone.contains(m)) {
            placed
                .recorded_ran
                .insert(scenario.nodes[member].id.clone(), format!("component {}", hex(&component.sha256)));
        }
        let data = staged.for_node(scenario, members[0], limits)?;
        if let Some(data) = &data {
            let hashes: BTreeMap<String, String> = data.sha256.iter().map(|(n, h)| (n.clone(), hex(h))).collect();
            for &member in &members {
                placed.files.insert(scenario.nodes[member].id.clone(), hashes.clone());
            }
        }
        let lane = |nodes: &[usize]| {
            WasmNodeGroup::with_data(
                &runtime,
                &component,
                seed,
                &specs(nodes),
                shared_limits(limits, nodes.len()),
                data.clone(),
            )
        };
        let made = match sizes.len() {
            1 => lane(&members).map(|g| Box::new(g) as Box<dyn NodeGroup>),
            _ => {
                let mut start = 0;
                let made: Result<Vec<_>, _> = sizes
                    .iter()
                    .map(|&size| {
                        start += size;
                        lane(&members[start - size..start])
                    })
                    .collect();
                made.map(|lanes| Box::new(LanedGroup::new(lanes)) as Box<dyn NodeGroup>)
            }
        };
        placed.placement.add(scenario, members, made);
    }
    place_docker(&mut placed, scenario, &docker_nodes, engine, interrupt, (run_id, run_label), build_log);
    Ok(placed)
}

/// A Docker engine a run used, as usage.csv and summary.json show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineUsed {
    pub endpoint: String,
    pub api_version: String,
    /// The median of a few `/_ping` round trips when connected, in µs of
    /// wall time; `None` when a ping failed.
    pub round_trip_us: Option<u64>,
}

/// Places every Docker node on its engine (the default one first, then the
/// scenario's `engines:` by name): each engine connected once, each image
/// built on the engine that runs it (once per recipe there), and each
/// engine's containers started in groups of their own. A node whose
/// engine, image or container cannot be had gets a startup fault; the
/// nodes of other engines run.
fn place_docker(
    placed: &mut Placed,
    scenario: &ResolvedScenario,
    nodes: &[(usize, &DockerNode)],
    (docker_host, offline): (Option<String>, bool),
    interrupt: Option<Arc<AtomicBool>>,
    (run_id, run_label): (String, Option<String>),
    build_log: &mut dyn FnMut(&str),
) {
    let mut by_engine: BTreeMap<Option<&str>, Vec<(usize, &DockerNode)>> = BTreeMap::new();
    for &(index, docker) in nodes {
        by_engine.entry(docker.engine.as_deref()).or_default().push((index, docker));
    }
    for (name, nodes) in by_engine {
        if interrupt.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
            return;
        }
        let engine = match name {
            None => DockerEngine::connect_unless(docker_host.as_deref(), interrupt.as_deref()),
            Some(name) => match scenario.engines.get(name) {
                Some(endpoint) => DockerEngine::connect_to_unless(endpoint, interrupt.as_deref()),
                None => Err(DockerError::Unreachable {
                    endpoint: format!("engine '{name}'"),
                    detail: "the scenario's `engines:` has no such entry".into(),
                }),
            },
        };
        let name = name.unwrap_or(DEFAULT_ENGINE_NAME);
        for &(index, _) in &nodes {
            placed.node_engines.insert(scenario.nodes[index].id.clone(), name.to_string());
        }
        let engine = match engine {
            Ok(engine) => engine,
            // Ctrl-C or SIGTERM while connecting: the run stops before its first instant.
            Err(DockerError::Interrupted) => return,
            Err(e) => {
                let endpoint = match &e {
                    DockerError::Unreachable { endpoint, .. } => endpoint.clone(),
                    _ => docker_host.clone().unwrap_or_default(),
                };
                let endpoint = if name == DEFAULT_ENGINE_NAME { endpoint } else { named_endpoint(name, &endpoint) };
                for &(index, _) in &nodes {
                    let kind = FaultKind::EngineUnreachable { endpoint: endpoint.clone() };
                    let fault =
                        NodeFault { node: scenario.nodes[index].id.clone(), time_us: 0, kind, detail: e.to_string() };
                    placed.placement.startup_faults.push((index, fault));
                }
                continue;
            }
        };
        placed.engines.insert(
            name.to_string(),
            EngineUsed {
                endpoint: engine.endpoint().to_string(),
                api_version: engine.api_version(),
                round_trip_us: engine.round_trip_us(),
            },
        );
        let options = DockerOptions {
            run_id: run_id.clone(),
            run_label: run_label.clone(),
            time_quantum_us: scenario.time_quantum_us,
            interrupt: interrupt.clone(),
        };
        place_on_engine(placed, scenario, &engine, &nodes, offline, options, build_log);
    }
}

/// [`place_docker`] for the nodes of one connected engine.
fn place_on_engine(
    placed: &mut Placed,
    scenario: &ResolvedScenario,
    engine: &DockerEngine,
    nodes: &[(usize, &DockerNode)],
    offline: bool,
    options: DockerOptions,
    build_log: &mut dyn FnMut(&str),
) {
    let fault = |index: usize, kind: FaultKind, detail: String| {
        (index, NodeFault { node: scenario.nodes[index].id.clone(), time_us: 0, kind, detail })
    };
    let interrupt = options.interrupt.clone();
    // One build per distinct image recipe, however many nodes share it.
    let mut images: BTreeMap<String, Result<ImageInfo, (String, bool)>> = BTreeMap::new();
    let mut ready: Vec<(usize, String)> = Vec::new();
    for &(index, docker) in nodes {
        let built = images.entry(recipe(docker)).or_insert_with(|| {
            ensure_image_with(engine, docker, offline, build_log, interrupt.as_deref())
                .map_err(|e| (e.to_string(), matches!(e, DockerError::Unreachable { .. })))
        });
        match built {
            Ok(info) => {
                placed.images.insert(scenario.nodes[index].id.clone(), info.id.clone());
                ready.push((index, info.id.clone()));
            }
            Err((detail, unreachable)) => {
                let kind = match (&docker.build_context, &docker.image) {
                    // Answered the connect, then went silent: not the image's fault.
                    _ if *unreachable => {
                        let endpoint = engine.endpoint();
                        let endpoint =
                            docker.engine.as_deref().map_or(endpoint.to_string(), |n| named_endpoint(n, endpoint));
                        FaultKind::EngineUnreachable { endpoint }
                    }
                    (None, Some(image)) => FaultKind::ImageMissing { image: image.clone() },
                    _ => FaultKind::ImageBuild,
                };
                placed.placement.startup_faults.push(fault(index, kind, detail.clone()));
            }
        }
    }
    // Ctrl-C or SIGTERM while building: no container is started, and the
    // run stops before its first instant.
    if ready.is_empty() || interrupt.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
        return;
    }
    let specs: Vec<DockerNodeSpec<'_>> = ready
        .iter()
        .map(|(index, image_id)| {
            let node = &scenario.nodes[*index];
            let Implementation::Docker(docker) = &node.implementation else { unreachable!("docker nodes only") };
            DockerNodeSpec { id: &node.id, config: &node.config, docker, image_id }
        })
        .collect();
    // Containers that speak stdio, MQTT clients and MQTT brokers: a group each.
    let role = |spec: &DockerNodeSpec<'_>| spec.docker.mqtt.as_ref().map(|m| m.role);
    for kind in [None, Some(MqttRole::Client), Some(MqttRole::Broker)] {
        let (members, specs): (Vec<usize>, Vec<DockerNodeSpec<'_>>) =
            ready.iter().map(|(index, _)| *index).zip(specs.iter().copied()).filter(|(_, s)| role(s) == kind).unzip();
        if members.is_empty() {
            continue;
        }
        let (group, faults): (Box<dyn NodeGroup>, _) = match kind {
            None => {
                let (group, faults) = DockerNodeGroup::start(engine, &specs, options.clone());
                (Box::new(group), faults)
            }
            Some(MqttRole::Client) => {
                let (group, faults) = MqttClientGroup::start(engine, &specs, options.clone());
                (Box::new(group), faults)
            }
            Some(MqttRole::Broker) => {
                let (group, faults) = MqttBrokerGroup::start(engine, &specs, options.clone());
                (Box::new(group), faults)
            }
        };
        for (i, fault) in faults {
            placed.placement.startup_faults.push((members[i], fault));
        }
        placed.placement.add(scenario, members, Ok(group));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandboxes_of_the_same_files_share_one_staged_copy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv"), "1,2\n").unwrap();
        std::fs::write(dir.path().join("b.csv"), "3,4\n").unwrap();
        let yaml = "simulation: {duration_s: 1}\nnodes:\n  - {id: s1, type: sensor, wasm: {files: {t.csv: a.csv}}}\n  - {id: s2, type: sensor, wasm: {files: {t.csv: a.csv}}}\n  - {id: s3, type: sensor, wasm: {files: {t.csv: b.csv}}}\n  - {id: s4, type: sensor}\n";
        std::fs::write(dir.path().join("s.yaml"), yaml).unwrap();
        let scenario = crate::scenario::load_with(&dir.path().join("s.yaml"), &Default::default()).unwrap().resolved;
        let limits = SandboxLimits::default();
        let mut staged = StagedFiles::default();
        let [s1, s2, s3, s4] = [0, 1, 2, 3].map(|i| staged.for_node(&scenario, i, limits).unwrap());
        let (s1, s2, s3) = (s1.unwrap(), s2.unwrap(), s3.unwrap());
        assert!(Arc::ptr_eq(&s1, &s2), "one copy for the same files");
        assert!(!Arc::ptr_eq(&s1, &s3) && s4.is_none());
        assert_eq!(std::fs::read(s3.dir().join("t.csv")).unwrap(), b"3,4\n");
        assert_eq!(staged.0.len(), 2);
    }

    #[test]
    fn too_many_stores_for_the_kernel_are_refused_with_the_fixes() {
        assert!(check_map_count(10_000, Some(65_530)).is_ok());
        assert!(check_map_count(100_000, None).is_ok(), "no limit known: nothing to check");
        let e = check_map_count(100_000, Some(65_530)).unwrap_err().to_string();
        assert!(e.contains("100000 sandboxes need about 502000 memory mappings"), "{e}");
        assert!(e.contains("sysctl -w vm.max_map_count=1048576") && e.contains("--sandbox shared"), "{e}");
    }
}
