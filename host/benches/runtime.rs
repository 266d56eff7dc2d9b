//! Benchmarks of the WASM node runtime against its targets:
//!
//! - a cached load at least 100× faster than compiling;
//! - instantiation under 20 µs per node with the pooling allocator;
//! - a 100-message gateway step (fuel on) at most 2× the native call;
//! - an empty-inbox step under 1 µs amortised;
//! - resident memory per live node, for 10,000 nodes, one store each
//!   versus many nodes per instance.
//!
//! Run with `cargo bench -p xedgesim --bench runtime`. Figures are medians
//! of repeated batches; memory is the growth of this process's RSS.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use xedgesim::runtime::native::NativeGroup;
use xedgesim::runtime::wasm::{ArtifactCache, NodeSpec, RuntimeOptions, WasmNodeGroup, WasmRuntime, builtin_component};
use xedgesim::runtime::{NodeGroup, StepCall};
use xedgesim::scenario::{ConfigValue, SandboxLimits};
use xedgesim_model::NodeModel;

mod common;
use common::readings;

/// Median time per iteration of `f`, over `batches` batches of `per_batch` calls.
fn median_per_call(batches: usize, per_batch: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..per_batch.min(100) {
        f();
    }
    let mut times: Vec<Duration> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed() / per_batch as u32
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

fn runtime(dir: &std::path::Path, pooling_slots: Option<u32>) -> WasmRuntime {
    WasmRuntime::new(&RuntimeOptions { cache_dir: Some(dir.into()), pooling_slots, ..Default::default() }).unwrap()
}

fn config(pairs: &[(&str, ConfigValue)]) -> BTreeMap<String, ConfigValue> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

struct Report(Vec<(String, String, String)>);

impl Report {
    fn row(&mut self, what: &str, figure: String, target: String) {
        println!("{what:<58} {figure:>22}   {target}");
        self.0.push((what.into(), figure, target));
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Report(Vec::new());
    println!("{:<58} {:>22}   target", "measurement", "figure");

    // --- Compile versus cached load -------------------------------------------------
    let rt = runtime(dir.path(), None);
    let gateway_bytes = builtin_component("gateway").unwrap();
    let compile = median_per_call(5, 1, || {
        black_box(rt.engine().precompile_component(gateway_bytes).unwrap());
    });
    rt.load_bytes("gateway".into(), gateway_bytes).unwrap(); // fills the cache
    let cache = ArtifactCache::new(dir.path()).unwrap();
    let hash: [u8; 32] = sha256(gateway_bytes);
    let load = median_per_call(15, 20, || {
        black_box(cache.load_or_compile(rt.engine(), gateway_bytes, &hash, None).unwrap());
    });
    report.row("compile gateway component (157 KB)", format!("{:.1} ms", us(compile) / 1e3), String::new());
    report.row("load it from the on-disk cache", format!("{:.3} ms", us(load) / 1e3), String::new());
    let ratio = compile.as_secs_f64() / load.as_secs_f64();
    report.row("  cached load speed-up", format!("{ratio:.0}x"), format!(">= 100x: {}", verdict(ratio >= 100.0)));

    // --- Instantiation ------------------------------------------------------------
    let sensor_cfg = config(&[("destination", ConfigValue::Text("gw".into()))]);
    let spec = [NodeSpec { id: "s", config: &sensor_cfg }];
    for (label, slots) in [("on demand", None), ("pooling", Some(1_000))] {
        let rt = runtime(dir.path(), slots);
        let sensor = rt.load_bytes("sensor".into(), builtin_component("sensor").unwrap()).unwrap();
        let t = median_per_call(9, 200, || {
            black_box(WasmNodeGroup::new(&rt, &sensor, 1, &spec, SandboxLimits::default()).unwrap());
        });
        report.row(
            &format!("new node in its own store ({label}, incl. constructor)"),
            format!("{:.1} µs", us(t)),
            String::new(),
        );
        if slots.is_some() {
            let pre_only = median_per_call(9, 200, || {
                let mut store = wasmtime::Store::new(rt.engine(), xedgesim_state(&rt));
                store.set_fuel(u64::MAX).unwrap();
                store.set_epoch_deadline(1);
                black_box(sensor.pre.instantiate(&mut store).unwrap());
            });
            // The target counts instantiation; the constructor is the model's own code.
            let target = format!("< 20 µs: {}", verdict(us(pre_only) < 20.0));
            report.row("  of which store + instantiate (pooling)", format!("{:.1} µs", us(pre_only)), target);
        }
    }
    let rt = runtime(dir.path(), None);
    let sensor = rt.load_bytes("sensor".into(), builtin_component("sensor").unwrap()).unwrap();
    let ids: Vec<String> = (0..1_000).map(|i| format!("s{i}")).collect();
    let specs: Vec<NodeSpec> = ids.iter().map(|id| NodeSpec { id, config: &sensor_cfg }).collect();
    let start = Instant::now();
    let shared = WasmNodeGroup::new(&rt, &sensor, 1, &specs, shared_limits(specs.len())).unwrap();
    report.row(
        "new node in a shared instance (1,000 per instance)",
        format!("{:.1} µs", us(start.elapsed()) / 1_000.0),
        String::new(),
    );
    drop(shared);

    // --- Steps --------------------------------------------------------------------
    let mut one = WasmNodeGroup::new(&rt, &sensor, 1, &spec, SandboxLimits::default()).unwrap();
    // Between samples: a wake-up that sends nothing.
    let empty = median_per_call(9, 20_000, || {
        black_box(one.step(vec![StepCall { index: 0, now_us: 500_000, inbox: Vec::new() }]));
    });
    report.row("empty-inbox step, one node per store", format!("{:.2} µs", us(empty)), String::new());
    for batch in [100usize, 1_000] {
        let mut group = WasmNodeGroup::new(&rt, &sensor, 1, &specs[..batch], shared_limits(batch)).unwrap();
        let per_batch = median_per_call(9, 50, || {
            let calls = (0..batch).map(|index| StepCall { index, now_us: 500_000, inbox: Vec::new() }).collect();
            black_box(group.step(calls));
        });
        let amortised = us(per_batch) / batch as f64;
        report.row(
            &format!("empty-inbox step, batched, {batch} nodes per call"),
            format!("{amortised:.3} µs/node"),
            format!("< 1 µs: {}", verdict(amortised < 1.0)),
        );
    }

    let gw_cfg =
        config(&[("destination", ConfigValue::Text("cloud".into())), ("processing_delay_us", ConfigValue::Integer(0))]);
    let gw_spec = [NodeSpec { id: "gw", config: &gw_cfg }];
    let gateway = rt.load_bytes("gateway".into(), gateway_bytes).unwrap();
    let inbox = readings(100);
    let mut now = 1_000_000u64;
    let mut wasm_gw = WasmNodeGroup::new(&rt, &gateway, 1, &gw_spec, SandboxLimits::default()).unwrap();
    let wasm_step = median_per_call(9, 500, || {
        now += 1;
        let r = wasm_gw.step(vec![StepCall { index: 0, now_us: now, inbox: inbox.clone() }]);
        black_box(r[0].as_ref().unwrap());
    });
    let mut native_gw =
        xedgesim_model_gateway::Gateway::new("gw", &xedgesim::runtime::native::model_config(&gw_cfg)).unwrap();
    let native_step = median_per_call(9, 500, || {
        now += 1;
        black_box(native_gw.step(now, inbox.clone()).unwrap());
    });
    let ratio = wasm_step.as_secs_f64() / native_step.as_secs_f64();
    report.row("gateway step, 100 readings, WASM with fuel", format!("{:.1} µs", us(wasm_step)), String::new());
    report.row("gateway step, 100 readings, native (same code)", format!("{:.1} µs", us(native_step)), String::new());
    report.row("  WASM / native", format!("{ratio:.2}x"), format!("<= 2x: {}", verdict(ratio <= 2.0)));
    let mut native_group = NativeGroup::<xedgesim_model_gateway::Gateway>::new(1, &gw_spec).unwrap();
    let native_group_step = median_per_call(9, 500, || {
        now += 1;
        black_box(native_group.step(vec![StepCall { index: 0, now_us: now, inbox: inbox.clone() }]));
    });
    report.row("  native through the NodeGroup contract", format!("{:.1} µs", us(native_group_step)), String::new());

    // --- Memory per live node -------------------------------------------------------
    const N: usize = 10_000;
    let ids: Vec<String> = (0..N).map(|i| format!("s{i}")).collect();
    let specs: Vec<NodeSpec> = ids.iter().map(|id| NodeSpec { id, config: &sensor_cfg }).collect();
    let step_all = |groups: &mut Vec<WasmNodeGroup>| {
        for g in groups.iter_mut() {
            let calls =
                (0..g.node_ids().len()).map(|index| StepCall { index, now_us: 1_000_000, inbox: Vec::new() }).collect();
            for r in g.step(calls) {
                r.unwrap();
            }
        }
    };
    let before = rss_bytes();
    let mut stores: Vec<WasmNodeGroup> = specs
        .iter()
        .map(|s| WasmNodeGroup::new(&rt, &sensor, 1, std::slice::from_ref(s), SandboxLimits::default()).unwrap())
        .collect();
    step_all(&mut stores);
    let per_store = (rss_bytes().saturating_sub(before)) as f64 / N as f64;
    drop(stores);
    report.row(
        &format!("RSS per live node, one store each ({N} nodes, stepped)"),
        format!("{:.1} KiB", per_store / 1024.0),
        String::new(),
    );
    for per_instance in [100usize, 1_000] {
        let before = rss_bytes();
        let mut packs: Vec<WasmNodeGroup> = specs
            .chunks(per_instance)
            .map(|chunk| WasmNodeGroup::new(&rt, &sensor, 1, chunk, shared_limits(chunk.len())).unwrap())
            .collect();
        step_all(&mut packs);
        let per_node = (rss_bytes().saturating_sub(before)) as f64 / N as f64;
        report.row(
            &format!("RSS per live node, {per_instance} per instance ({N} nodes, stepped)"),
            format!("{:.2} KiB", per_node / 1024.0),
            String::new(),
        );
        drop(packs);
    }
}

/// Limits for a shared instance of `nodes` nodes: the default per-node memory, pooled.
fn shared_limits(nodes: usize) -> SandboxLimits {
    let d = SandboxLimits::default();
    SandboxLimits { memory_limit_mb: (d.memory_limit_mb * nodes as u64).min(4096), ..d }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn xedgesim_state(_rt: &WasmRuntime) -> xedgesim::runtime::wasm::NodeState {
    let mut state = xedgesim::runtime::wasm::NodeState::new(1, 64 << 20);
    state.add_node(1, "s", 1 << 20);
    state
}
