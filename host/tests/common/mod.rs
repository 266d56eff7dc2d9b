//! Helpers for the host's integration tests: a runtime with a private
//! cache, and groups of built-in models or fixtures.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use xedgesim::runtime::wasm::{
    ModelComponent, NodeSpec, RuntimeOptions, WasmNodeGroup, WasmRuntime, fixture_component,
};
use xedgesim::runtime::{Message, NodeFault, NodeGroup, StepCall, StepOutput};
use xedgesim::scenario::{ComponentSource, ConfigValue, SandboxLimits};

/// A runtime whose compiled-component cache lives in a fresh temp folder.
pub fn runtime() -> (WasmRuntime, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = WasmRuntime::new(&RuntimeOptions { cache_dir: Some(dir.path().into()), ..Default::default() })
        .expect("runtime");
    (rt, dir)
}

pub fn builtin(rt: &mut WasmRuntime, name: &str) -> Arc<ModelComponent> {
    rt.component(&ComponentSource::Builtin(name.into())).expect("built-in model loads")
}

pub fn fixture(rt: &WasmRuntime, name: &str) -> ModelComponent {
    rt.load_bytes(format!("fixture:{name}"), fixture_component(name).expect("fixture exists")).expect("fixture loads")
}

/// A config map from `(key, value)` pairs.
pub fn config(pairs: &[(&str, ConfigValue)]) -> BTreeMap<String, ConfigValue> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

pub fn text(s: &str) -> ConfigValue {
    ConfigValue::Text(s.into())
}

/// One node of `component` in its own store.
pub fn single(
    rt: &WasmRuntime,
    component: &ModelComponent,
    seed: u64,
    id: &str,
    config: &BTreeMap<String, ConfigValue>,
    limits: SandboxLimits,
) -> Result<WasmNodeGroup, NodeFault> {
    WasmNodeGroup::new(rt, component, seed, &[NodeSpec { id, config }], limits)
}

/// Steps node `index` of `group` once.
pub fn step(
    group: &mut WasmNodeGroup,
    index: usize,
    now_us: u64,
    inbox: Vec<Message>,
) -> Result<StepOutput, NodeFault> {
    group.step(vec![StepCall { index, now_us, inbox }]).pop().expect("one result")
}

/// Steps a single-node group at each of `times`, collecting each output's payloads as text.
pub fn payloads_at(group: &mut WasmNodeGroup, times: &[u64]) -> Vec<String> {
    let mut out = Vec::new();
    for &t in times {
        let step = step(group, 0, t, Vec::new()).expect("step succeeds");
        out.extend(step.outbox.iter().map(|m| String::from_utf8_lossy(&m.payload).into_owned()));
    }
    out
}

/// Path of a file in host/tests/fixtures.
pub fn fixture_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The component bytes of a `.wat` fixture.
pub fn wat_fixture(name: &str) -> Vec<u8> {
    wat::parse_file(fixture_file(name)).expect("fixture is valid WAT")
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ sits in the workspace").to_path_buf()
}

/// Runs the `xedgesim` binary from the workspace root, with its compiled-
/// component cache in `cache` (the default cache when `None`).
pub fn xedgesim(args: &[&str], cache: Option<&Path>) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"));
    command.args(args).current_dir(root());
    if let Some(cache) = cache {
        command.env("XEDGESIM_CACHE_DIR", cache);
    }
    command.output().expect("the binary runs")
}

/// Waits for `child` to exit after a signal; kills it and fails past `limit`.
#[allow(dead_code, reason = "each test binary uses a different subset")]
pub fn wait_exit(child: &mut std::process::Child, limit: std::time::Duration) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the run did not stop within {limit:?} of the signal");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A process's output bytes as text.
pub fn output_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub mod recorded;
pub mod sweep;

#[path = "../../../tests/src/docker_support.rs"]
mod docker_support;
#[allow(unused_imports, reason = "each test binary uses a different subset")]
pub use docker_support::{containers_of_node, docker_engine};
