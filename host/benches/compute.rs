//! Calibration of the `cpu:` profiles (docs/running.md, "Compute time"):
//! how many units of fuel (WASM instructions) the built-in models get
//! through per µs of this machine's time, natively and in WASM.
//!
//! For each workload (a gateway step with 100 readings, a sensor's sample
//! step), the fuel of one step is read from the WASM runtime
//! (`last_step_fuel`, the count the engine uses), and the same steps are
//! timed natively (the same model code, through the same `NodeGroup`
//! contract) and in WASM. Fuel ÷ native µs is the machine's native speed
//! in the unit `cpu:` takes: what `cloud_vm` is set from.
//!
//! Run with `cargo bench -p xedgesim --bench compute`. Figures are
//! medians of repeated batches.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use xedgesim::runtime::native::NativeGroup;
use xedgesim::runtime::wasm::{NodeSpec, RuntimeOptions, WasmNodeGroup, WasmRuntime, builtin_component};
use xedgesim::runtime::{Message, NodeGroup, StepCall};
use xedgesim::scenario::{ConfigValue, SandboxLimits};

mod common;
use common::readings;

/// Median time per call of `f` (given the call's number), over `batches` batches of `per_batch` calls.
fn median_per_call(batches: usize, per_batch: usize, mut f: impl FnMut(usize)) -> Duration {
    let mut call = 0;
    for _ in 0..per_batch.min(100) {
        f(call);
        call += 1;
    }
    let mut times: Vec<Duration> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f(call);
                call += 1;
            }
            start.elapsed() / per_batch as u32
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// One workload: a model, its config, and the call it is measured on.
struct Workload {
    name: &'static str,
    model: &'static str,
    config: BTreeMap<String, ConfigValue>,
    inbox: Vec<Message>,
    /// The virtual time of call `k` (a sensor samples once a period).
    now_us: fn(usize) -> u64,
    per_batch: usize,
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let rt = WasmRuntime::new(&RuntimeOptions { cache_dir: Some(dir.path().into()), ..Default::default() }).unwrap();
    let text = |s: &str| ConfigValue::Text(s.into());
    let workloads = [
        Workload {
            name: "gateway step, 100 readings",
            model: "gateway",
            config: BTreeMap::from([
                ("destination".into(), text("cloud")),
                ("processing_delay_us".into(), ConfigValue::Integer(0)),
            ]),
            inbox: readings(100),
            now_us: |k| 1_000_000 + k as u64,
            per_batch: 500,
        },
        Workload {
            name: "sensor sample step",
            model: "sensor",
            config: BTreeMap::from([
                ("destination".into(), text("gw")),
                ("sample_rate_hz".into(), ConfigValue::Integer(1_000)),
            ]),
            inbox: Vec::new(),
            now_us: |k| 1_000 * (k as u64 + 1),
            per_batch: 5_000,
        },
    ];
    println!(
        "{:<30} {:>12} {:>12} {:>12} {:>14} {:>14}",
        "workload", "fuel/step", "native µs", "WASM µs", "native fuel/µs", "WASM fuel/µs"
    );
    for w in &workloads {
        let spec = [NodeSpec { id: "gw", config: &w.config }];
        let component = rt.load_bytes(w.model.into(), builtin_component(w.model).unwrap()).unwrap();
        let mut wasm = WasmNodeGroup::new(&rt, &component, 1, &spec, SandboxLimits::default()).unwrap();
        let mut fuel_total = 0u64;
        let mut fuel_steps = 0u64;
        let wasm_us = median_per_call(9, w.per_batch, |k| {
            let r = wasm.step(vec![StepCall { index: 0, now_us: (w.now_us)(k), inbox: w.inbox.clone() }]);
            black_box(r[0].as_ref().unwrap());
            fuel_total += wasm.last_step_fuel(0).unwrap();
            fuel_steps += 1;
        });
        let mut native = native_group(w.model, &spec);
        let native_us = median_per_call(9, w.per_batch, |k| {
            let r = native.step(vec![StepCall { index: 0, now_us: (w.now_us)(k), inbox: w.inbox.clone() }]);
            black_box(r[0].as_ref().unwrap());
        });
        let fuel = fuel_total as f64 / fuel_steps as f64;
        let (native_us, wasm_us) = (native_us.as_secs_f64() * 1e6, wasm_us.as_secs_f64() * 1e6);
        println!(
            "{:<30} {fuel:>12.0} {native_us:>12.2} {wasm_us:>12.2} {:>14.0} {:>14.0}",
            w.name,
            fuel / native_us,
            fuel / wasm_us
        );
    }
}

fn native_group(model: &str, spec: &[NodeSpec<'_>]) -> Box<dyn NodeGroup> {
    match model {
        "gateway" => Box::new(NativeGroup::<xedgesim_model_gateway::Gateway>::new(1, spec).unwrap()),
        "sensor" => Box::new(NativeGroup::<xedgesim_model_sensor::Sensor>::new(1, spec).unwrap()),
        other => unreachable!("no native {other} here"),
    }
}
