//! Time and randomness inside a guest are virtual and seeded: the same
//! seed gives the same bytes, another seed different ones, and the
//! guest's standard clocks read simulation time.

mod common;

use common::*;
use xedgesim::runtime::wasm::{NodeSpec, WasmNodeGroup};
use xedgesim::runtime::{NodeGroup, StepCall};
use xedgesim::scenario::SandboxLimits;
use xedgesim_model::payload::decode;

const TIMES: &[u64] = &[0, 1_000_000, 2_500_000, 7_000_001];

/// A probe node's reports at `TIMES`, run with `seed`.
fn probe_reports(seed: u64, id: &str) -> Vec<String> {
    let (rt, _dir) = runtime();
    let probe = fixture(&rt, "probe");
    let mut g =
        single(&rt, &probe, seed, id, &config(&[("destination", text("sink"))]), SandboxLimits::default()).unwrap();
    payloads_at(&mut g, TIMES)
}

#[test]
fn same_seed_same_bytes() {
    assert_eq!(probe_reports(42, "p"), probe_reports(42, "p"));
}

#[test]
fn another_seed_or_node_id_gives_other_randomness() {
    let field = |reports: &[String], key: &str| -> Vec<String> {
        reports.iter().map(|r| decode(r.as_bytes()).unwrap().text(key).unwrap().to_string()).collect()
    };
    let base = probe_reports(42, "p");
    for other in [probe_reports(43, "p"), probe_reports(42, "q")] {
        assert_ne!(field(&base, "random"), field(&other, "random"));
        assert_ne!(field(&base, "hash_order"), field(&other, "hash_order"), "HashMap seeding is virtual too");
    }
}

#[test]
fn the_guests_standard_clocks_read_virtual_time() {
    for report in probe_reports(7, "p") {
        let p = decode(report.as_bytes()).unwrap();
        let now = p.number("now_us").unwrap();
        assert_eq!(p.number("wall_us"), Some(now), "SystemTime::now() is the Unix epoch plus virtual time: {report}");
        assert_eq!(p.number("mono_us"), Some(now), "Instant::elapsed() since t = 0 is virtual time: {report}");
    }
}

#[test]
fn sensor_readings_are_reproducible_and_seed_dependent() {
    let readings = |seed| {
        let (mut rt, _dir) = runtime();
        let sensor = builtin(&mut rt, "sensor");
        let mut g = single(&rt, &sensor, seed, "s1", &config(&[("destination", text("gw"))]), SandboxLimits::default())
            .unwrap();
        payloads_at(&mut g, &[0, 1_000_000, 2_000_000, 3_000_000])
    };
    assert_eq!(readings(1), readings(1));
    assert_ne!(readings(1), readings(2));
}

#[test]
fn a_batched_step_equals_the_same_steps_one_by_one() {
    let (mut rt, _dir) = runtime();
    let sensor = builtin(&mut rt, "sensor");
    let cfg = config(&[("destination", text("gw"))]);
    let specs: Vec<NodeSpec> = ["a", "b", "c"].iter().map(|id| NodeSpec { id, config: &cfg }).collect();
    let run = |batched: bool| {
        let mut g = WasmNodeGroup::new(&rt, &sensor, 5, &specs, SandboxLimits::default()).unwrap();
        let mut out = Vec::new();
        for t in [0, 1_000_000, 2_000_000] {
            let calls: Vec<StepCall> = (0..3).map(|index| StepCall { index, now_us: t, inbox: vec![] }).collect();
            let results =
                if batched { g.step(calls) } else { calls.into_iter().flat_map(|c| g.step(vec![c])).collect() };
            out.extend(results.into_iter().map(|r| format!("{:?}", r.unwrap())));
        }
        out
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn relaxed_simd_gives_the_same_answer_on_every_cpu() {
    // Natively, x86 truncates NaN to i32::MIN and an out-of-range swizzle
    // index picks a byte; the deterministic semantics give 0 for both, on
    // every CPU.
    let (rt, _dir) = runtime();
    let wat = r#"(module
        (func (export "trunc_nan") (result i32)
            (i32x4.extract_lane 0 (i32x4.relaxed_trunc_f32x4_s (f32x4.splat (f32.const nan)))))
        (func (export "swizzle_out_of_range") (result i32)
            (i8x16.extract_lane_u 0 (i8x16.relaxed_swizzle (v128.const i8x16 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7)
                                                          (v128.const i8x16 200 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)))))"#;
    let module = wasmtime::Module::new(rt.engine(), wat::parse_str(wat).unwrap()).unwrap();
    let mut store = wasmtime::Store::new(rt.engine(), ());
    store.set_fuel(1_000_000).unwrap();
    // As every sandbox's store is: the epoch moves only on Ctrl-C.
    store.set_epoch_deadline(1);
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    for name in ["trunc_nan", "swizzle_out_of_range"] {
        let f = instance.get_typed_func::<(), i32>(&mut store, name).unwrap();
        assert_eq!(f.call(&mut store, ()).unwrap(), 0, "{name}");
    }
}
