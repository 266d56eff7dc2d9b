//! Starting one stdio node: its container created, attached and started,
//! then the protocol's opening exchange (handshake, `new`), all within
//! `docker.start_timeout_ms`; and the fault a failed exchange with a
//! container becomes ([`failure_fault`]), at its start or at a step.

use std::time::Duration;

use super::container::{self, Container};
use super::container_spec::ContainerSpec;
use super::engine::DockerEngine;
use super::node_group::{DockerNodeSpec, DockerOptions};
use super::protocol::{self, Ask, Failure};
use crate::runtime::{FaultKind, NodeFault};

/// The fault kind and detail for `failure` of a container answering `ask`
/// within `timeout_ms`, quoting the end of its stderr.
pub(super) async fn failure_fault(
    engine: &DockerEngine,
    container: Option<&Container>,
    failure: Failure,
    ask: Ask,
    timeout_ms: u64,
) -> (FaultKind, String) {
    let tail = container.map(Container::stderr_tail).unwrap_or_default();
    let with_tail = |detail: String| match (detail.is_empty(), tail.is_empty()) {
        (_, true) => detail,
        (true, false) => format!("stderr:\n{tail}"),
        (false, false) => format!("{detail}\nstderr:\n{tail}"),
    };
    match failure {
        Failure::Timeout => (FaultKind::Timeout { timeout_ms }, with_tail(String::new())),
        Failure::Closed(reason) => {
            let exit_code = match container {
                Some(c) => container::exit_code(engine, &c.id).await,
                None => None,
            };
            (FaultKind::ContainerExited { exit_code }, with_tail(reason.unwrap_or_default()))
        }
        Failure::Protocol(detail) => (FaultKind::Protocol, with_tail(detail)),
        // Only `new` (and so only a start) can be refused for its config.
        Failure::NodeError(message) if ask == Ask::New => (FaultKind::Config, message),
        Failure::NodeError(message) => (FaultKind::ModelError, message),
    }
}

/// Starts node `spec`'s container at virtual time `time_us` (its start
/// fault's time, and its stderr's until the first step).
pub(super) async fn start_one(
    engine: &DockerEngine,
    spec: &DockerNodeSpec<'_>,
    options: &DockerOptions,
    time_us: u64,
) -> Result<Container, NodeFault> {
    let fault = |kind, detail| NodeFault { node: spec.id.to_string(), time_us, kind, detail };
    let run_id = options.run_id.as_str();
    let container_spec = ContainerSpec {
        node: spec.id,
        image_id: spec.image_id,
        docker: spec.docker,
        run_id,
        run_label: options.run_label.as_deref(),
        stdout_is_log: false,
    };
    // The whole start, engine requests included, is bounded by the start deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(spec.docker.start_timeout_ms);
    let mut container =
        match tokio::time::timeout_at(deadline, Container::start(engine, &container_spec, time_us)).await {
            Ok(Ok(container)) => container,
            Ok(Err(e)) => return Err(fault(FaultKind::ContainerStart, e.to_string())),
            Err(_) => {
                // Created, perhaps, with its id never seen: found by its labels.
                let _ = container::remove_labelled(engine, run_id, spec.id).await;
                let what = "the engine did not create and start the container in time".to_string();
                return Err(fault(FaultKind::Timeout { timeout_ms: spec.docker.start_timeout_ms }, what));
            }
        };
    let (frames, asks) = protocol::open(spec.docker.protocol, spec.id, spec.config);
    container.send(frames);
    for ask in asks {
        if let Err(failure) = protocol::receive(&mut container, spec.docker.protocol, ask, deadline).await {
            let (kind, detail) =
                failure_fault(engine, Some(&container), failure, ask, spec.docker.start_timeout_ms).await;
            let id = container.id.clone();
            drop(container);
            let _ = container::remove(engine, &id).await;
            return Err(fault(kind, detail));
        }
    }
    Ok(container)
}
