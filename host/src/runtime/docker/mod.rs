//! Docker nodes: real containers, driven through `bollard` on one tokio
//! runtime, taking part in the same virtual timeline as WASM nodes.
//!
//! - [`DockerEngine`]: the connection to one engine (the local one,
//!   `DOCKER_HOST`, or one of the scenario's `engines:`; `endpoint.rs`
//!   says how each kind is reached), with the API version negotiated, so
//!   Debian's Engine 20.10 (API 1.41) works, and its round trip measured.
//! - [`context`]: a build context as the engine receives it (tarred,
//!   `.dockerignore` honoured) and its content hash.
//! - [`dockerfile`]: the base images a Dockerfile names.
//! - [`image`]: images for nodes: the node's build command
//!   (`build_command.rs`: bounded, in a process group of its own), then a
//!   build from its context, skipped when that context on those base
//!   images is built.
//! - [`container`]: one container with stdin/stdout attached, its frames
//!   and its stderr log; created as `container_spec.rs` says (hardened as
//!   docs/sandbox.md says).
//! - [`volume`]: the named volumes a run creates, and removes.
//! - [`protocol`]: the two dialects a container may speak: ours
//!   (docs/container-protocol.md) and xEdgeSim's line protocol.
//! - [`DockerNodeGroup`]: every Docker node of a run, behind
//!   [`NodeGroup`](crate::runtime::NodeGroup): steps to all due containers
//!   go out together and are collected together; each node started as
//!   `node_start.rs` says.

mod build_command;
mod container;
mod container_spec;
pub mod context;
pub mod dockerfile;
mod endpoint;
mod engine;
mod error;
pub mod image;
mod mqtt;
mod node_group;
mod node_start;
mod process_group;
mod protocol;
pub mod prune;
mod volume;

pub use engine::{DEFAULT_ENDPOINT, DockerEngine};
pub use error::DockerError;
pub use mqtt::{BROKER_PORT, MqttBrokerGroup, MqttClientGroup, RETAIN_PREFIX};
pub use node_group::{DockerNodeGroup, DockerNodeSpec, DockerOptions};
pub use volume::remove as remove_volume;

/// Labels on every container xedgesim makes; `xedgesim prune` finds
/// leftovers by them.
pub const LABEL_RUN: &str = "xedgesim.run";
pub const LABEL_NODE: &str = "xedgesim.node";
/// The pid of the process that made the container, and the machine (host
/// name and boot id) it ran on: prune leaves the containers of live
/// processes alone, and cannot judge those made elsewhere.
pub const LABEL_PID: &str = "xedgesim.pid";
pub const LABEL_HOST: &str = "xedgesim.host";
/// A value of the caller's choosing ([`DockerOptions::run_label`]), so a
/// test suite or a CI job finds its own containers and volumes among
/// those of other runs on the machine.
pub const LABEL_RUN_LABEL: &str = "xedgesim.run_label";

/// The labels of everything a run makes (containers, volumes).
fn run_labels(run_id: &str, run_label: Option<&str>) -> std::collections::HashMap<String, String> {
    let mut labels = std::collections::HashMap::from([
        (LABEL_RUN.to_string(), run_id.to_string()),
        (LABEL_PID.to_string(), std::process::id().to_string()),
        (LABEL_HOST.to_string(), this_host()),
    ]);
    if let Some(value) = run_label {
        labels.insert(LABEL_RUN_LABEL.to_string(), value.to_string());
    }
    labels
}

/// This machine as [`LABEL_HOST`] names it: `<host name>/<boot id>`.
pub fn this_host() -> String {
    let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default();
    format!("{}/{}", read("/proc/sys/kernel/hostname"), read("/proc/sys/kernel/random/boot_id"))
}
/// On images built from a context: the context's SHA-256. An image
/// without it was not built by xedgesim, and is never replaced.
pub const LABEL_CONTEXT: &str = "xedgesim.context_sha256";
/// On images built from a context: the key it was built under (the
/// context, the Dockerfile's path and each base image's id).
pub const LABEL_BUILD_KEY: &str = "xedgesim.build_key";

/// Re-exported for tools and tests that look containers up by label.
pub use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};
