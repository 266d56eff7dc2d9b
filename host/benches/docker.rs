//! Benchmarks of Docker nodes against a real engine, each beside its
//! baseline measured in the same run:
//!
//! - an image build from a context never built before (our content-hash
//!   cache misses; the engine's own layer cache is left as it is) versus
//!   one whose content is already built (skipped);
//! - container start (create, attach, start, handshake, `new`) and the
//!   first step after it;
//! - a gateway step's round trip, empty inbox and 100 readings, in a
//!   container versus the same gateway code as a WASM component;
//! - 1, 4 and 16 containers due at one instant, stepped together
//!   (submit all, collect all) versus one after another.
//!
//! Run with `cargo bench -p xedgesim --bench docker`. Without an engine it
//! prints "not measured" and why. Figures are medians of repeated samples.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use xedgesim::runtime::docker::image::ensure_image;
use xedgesim::runtime::docker::{DockerNodeGroup, DockerNodeSpec, DockerOptions};
use xedgesim::runtime::wasm::{NodeSpec, RuntimeOptions, WasmNodeGroup, WasmRuntime};
use xedgesim::runtime::{NodeGroup, StepCall};
use xedgesim::scenario::{ComponentSource, ConfigValue, DockerNode, SandboxLimits};

mod common;
use common::{median, ms, readings, us};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ sits in the workspace")
}

fn gateway_node(context: &Path, build_command: Option<&str>) -> DockerNode {
    DockerNode {
        build_command: build_command.map(str::to_string),
        step_timeout_ms: 30_000,
        ..DockerNode::new(None, Some(context.to_path_buf()))
    }
}

fn row(what: &str, figure: String, note: &str) {
    println!("{what:<62} {figure:>12}   {note}");
}

/// Times `samples` steps of `calls()` on `group`, each timed alone.
fn time_steps(group: &mut dyn NodeGroup, samples: usize, mut calls: impl FnMut() -> Vec<StepCall>) -> Duration {
    median(
        (0..samples)
            .map(|_| {
                let calls = calls();
                let start = Instant::now();
                group.submit(calls);
                let results = group.collect().expect("no interrupt here");
                let elapsed = start.elapsed();
                assert!(results.iter().all(Result::is_ok), "{results:?}");
                elapsed
            })
            .collect(),
    )
}

fn main() {
    println!("{:<62} {:>12}   baseline / note", "measurement", "figure");
    let Some(engine) = common::docker_engine() else { return };
    row("engine API version (negotiated)", engine.api_version(), "");

    // --- Images ------------------------------------------------------------------
    let context = root().join("containers/gateway");
    let recipe = gateway_node(&context, Some("../build-static.sh xedgesim-container-gateway gateway"));
    let start = Instant::now();
    let image = ensure_image(&engine, &recipe, &mut |_| {}, None).expect("the gateway image builds");
    let note = if image.built { "built now" } else { "was built already" };
    row("image: build command (cargo) + pack + build if missing", ms(start.elapsed()), note);
    let cached = median(
        (0..5)
            .map(|_| {
                let start = Instant::now();
                let again = ensure_image(&engine, &recipe, &mut |_| {}, None).unwrap();
                assert!(!again.built);
                start.elapsed()
            })
            .collect(),
    );
    row("image: again (cargo no-op + pack + hash + inspect)", ms(cached), "build skipped");
    let cold_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(cold_dir.path().join("bin")).unwrap();
    for file in ["Dockerfile", "bin/gateway"] {
        std::fs::copy(context.join(file), cold_dir.path().join(file)).unwrap();
    }
    let nonce = format!("{:?}", Instant::now());
    std::fs::write(cold_dir.path().join("nonce"), nonce).unwrap();
    let cold_recipe = gateway_node(cold_dir.path(), None);
    let start = Instant::now();
    let cold = ensure_image(&engine, &cold_recipe, &mut |_| {}, None).expect("a fresh context builds");
    let cold_time = start.elapsed();
    assert!(cold.built);
    let warm = median(
        (0..5)
            .map(|_| {
                let start = Instant::now();
                assert!(!ensure_image(&engine, &cold_recipe, &mut |_| {}, None).unwrap().built);
                start.elapsed()
            })
            .collect(),
    );
    row("image: new context content (pack + engine build)", ms(cold_time), "our cache misses");
    row("image: same content again (pack + hash + inspect)", ms(warm), "");
    row("  cold / cached", format!("{:.0}x", cold_time.as_secs_f64() / warm.as_secs_f64()), "");
    let options = bollard::query_parameters::RemoveImageOptions { force: true, ..Default::default() };
    let _ = engine.block_on(engine.docker().remove_image(&cold.reference, Some(options), None));

    // --- Start and first step --------------------------------------------------------
    let config: BTreeMap<String, ConfigValue> = BTreeMap::from([
        ("destination".to_string(), ConfigValue::Text("cloud".into())),
        ("processing_delay_us".to_string(), ConfigValue::Integer(0)),
    ]);
    let ids: Vec<String> = (0..16).map(|i| format!("bench-gw{i}")).collect();
    let docker_options = |run: &str| DockerOptions {
        run_id: format!("bench{run}{}", std::process::id()),
        run_label: None,
        time_quantum_us: 1_000,
        interrupt: None,
    };
    let starts = (0..3)
        .map(|i| {
            let spec = [DockerNodeSpec { id: &ids[0], config: &config, docker: &recipe, image_id: &image.id }];
            let start = Instant::now();
            let (mut group, faults) = DockerNodeGroup::start(&engine, &spec, docker_options(&format!("s{i}")));
            assert!(faults.is_empty(), "{faults:?}");
            let started = start.elapsed();
            group.submit(vec![StepCall { index: 0, now_us: 0, inbox: Vec::new() }]);
            assert!(group.collect().unwrap()[0].is_ok());
            let first = start.elapsed();
            assert!(group.shutdown().is_empty());
            (started, first)
        })
        .collect::<Vec<_>>();
    row("container start (create, attach, start, hello, new)", ms(median(starts.iter().map(|s| s.0).collect())), "");
    row("  … to the first step's answer", ms(median(starts.iter().map(|s| s.1).collect())), "");

    // --- Round trip against the WASM gateway ----------------------------------------------
    let specs: Vec<DockerNodeSpec<'_>> =
        ids.iter().map(|id| DockerNodeSpec { id, config: &config, docker: &recipe, image_id: &image.id }).collect();
    let (mut group, faults) = DockerNodeGroup::start(&engine, &specs, docker_options("rt"));
    assert!(faults.is_empty(), "{faults:?}");
    let mut rt =
        WasmRuntime::new(&RuntimeOptions { cache_dir: Some(common::cache_dir()), ..Default::default() }).unwrap();
    let component = rt.component(&ComponentSource::Builtin("gateway".into())).unwrap();
    let mut wasm =
        WasmNodeGroup::new(&rt, &component, 1, &[NodeSpec { id: "gw", config: &config }], SandboxLimits::default())
            .unwrap();
    let inbox = readings(100);
    let mut now = 1_000_000u64;
    let mut tick = || {
        now += 1;
        now
    };
    for (label, messages) in [("empty inbox", Vec::new()), ("100 readings", inbox)] {
        let docker =
            time_steps(&mut group, 200, || vec![StepCall { index: 0, now_us: tick(), inbox: messages.clone() }]);
        let in_wasm =
            time_steps(&mut wasm, 200, || vec![StepCall { index: 0, now_us: tick(), inbox: messages.clone() }]);
        row(&format!("gateway step, {label}: container round trip"), us(docker), "");
        row(&format!("gateway step, {label}: WASM component (same code)"), us(in_wasm), "baseline");
        row("  container / WASM", format!("{:.1}x", docker.as_secs_f64() / in_wasm.as_secs_f64()), "");
    }

    // --- Many containers due at one instant --------------------------------------------
    for k in [1usize, 4, 16] {
        let together = time_steps(&mut group, 50, || {
            let t = tick();
            (0..k).map(|index| StepCall { index, now_us: t, inbox: Vec::new() }).collect()
        });
        let one_by_one = median(
            (0..50)
                .map(|_| {
                    let t = tick();
                    let start = Instant::now();
                    for index in 0..k {
                        group.submit(vec![StepCall { index, now_us: t, inbox: Vec::new() }]);
                        assert!(group.collect().unwrap()[0].is_ok());
                    }
                    start.elapsed()
                })
                .collect(),
        );
        row(&format!("{k:>2} containers due at once: stepped together"), us(together), "");
        row(&format!("{k:>2} containers due at once: one after another"), us(one_by_one), "baseline");
        row("  one after another / together", format!("{:.1}x", one_by_one.as_secs_f64() / together.as_secs_f64()), "");
    }
    let problems = group.shutdown();
    assert!(problems.is_empty(), "{problems:?}");
}
