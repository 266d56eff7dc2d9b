//! [`NodeFault`]: a node misbehaved. Always names the node and the virtual
//! time, and says what the user can do about it.

use std::fmt;

use crate::text::{escape_controls, format_time};

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The model's constructor refused its config.
    Config,
    /// The model returned a `node-error` from `step`.
    ModelError,
    /// The call used its whole fuel budget: a loop that does not end, or
    /// more work per step than the budget allows.
    OutOfFuel { budget: u64 },
    /// The guest tried to grow its memory past the cap.
    MemoryLimit { memory_limit_mb: u64 },
    /// The guest tried to grow its tables past the store's element cap.
    TableLimit { max_elements: u64 },
    /// Unbounded or too-deep recursion.
    StackOverflow,
    /// Any other trap: a panic, an out-of-bounds access, `unreachable`.
    Trap,
    /// More log output than `max_log_bytes` over the run.
    LogLimit { max_log_bytes: u64 },
    /// More messages or bytes in one step's outbox than allowed.
    OutboxLimit { what: &'static str, count: u64, limit: u64 },
    /// The guest tried to wait on the real clock (sleep, poll a timer).
    RealTimeWait,
    /// The requested wake-up time is before the current time.
    WakeInPast { wake_at_us: u64 },
    /// Another node in the same sandbox faulted and took this one with it.
    SharedSandbox { culprit: String },
    /// The node was already stopped by an earlier fault.
    Stopped,
    /// The container's program exited (or its attachment broke) while the
    /// host waited for an answer.
    ContainerExited { exit_code: Option<i64> },
    /// No answer within the deadline (`docker.step_timeout_ms`, or
    /// `docker.start_timeout_ms` while starting).
    Timeout { timeout_ms: u64 },
    /// A frame that breaks the container protocol: garbage, oversized,
    /// malformed, unasked for, or the answer to another request.
    Protocol,
    /// The node's build command or image build failed.
    ImageBuild,
    /// The node's image is not in the local engine, and could not be (or,
    /// `--offline`, was not) pulled.
    ImageMissing { image: String },
    /// No Docker engine answered.
    EngineUnreachable { endpoint: String },
    /// The engine refused to create, attach or start the node's container.
    ContainerStart,
    /// A component's `step-batch` answered with another number of results
    /// than it was given calls.
    BadBatch,
    /// The guest ended its process (`exit`) instead of returning.
    GuestExit { code: i32 },
    /// `finish` named one metric twice: no one value is the node's.
    DuplicateMetric,
    /// A container that speaks MQTT did not connect to its endpoint in time.
    NotConnected { timeout_s: u64 },
    /// A container that speaks MQTT sent what the host does not accept: a
    /// malformed or oversized packet, QoS 2, MQTT 5, a second connection.
    Mqtt,
    /// The user stopped the run (Ctrl-C, SIGTERM) while the node's code ran:
    /// the call was cut short, so its sandbox can run nothing more.
    Interrupted,
    /// A node answered from a recording (strict replay) was called with
    /// another time or inbox than when it was recorded. Stops the run
    /// whatever the node's `on_fault`: nothing after it is the recording's.
    ReplayDiverged,
}

/// A node fault at a virtual time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NodeFault {
    pub node: String,
    pub time_us: u64,
    pub kind: FaultKind,
    /// What the sandbox reported, plus the tail of the node's stderr.
    pub detail: String,
}

impl FaultKind {
    /// The kind's name in `trace.jsonl` and `summary.json`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Config => "config",
            FaultKind::ModelError => "model_error",
            FaultKind::OutOfFuel { .. } => "out_of_fuel",
            FaultKind::MemoryLimit { .. } => "memory_limit",
            FaultKind::TableLimit { .. } => "table_limit",
            FaultKind::StackOverflow => "stack_overflow",
            FaultKind::Trap => "trap",
            FaultKind::LogLimit { .. } => "log_limit",
            FaultKind::OutboxLimit { .. } => "outbox_limit",
            FaultKind::RealTimeWait => "real_time_wait",
            FaultKind::WakeInPast { .. } => "wake_in_past",
            FaultKind::SharedSandbox { .. } => "shared_sandbox",
            FaultKind::Stopped => "stopped",
            FaultKind::ContainerExited { .. } => "container_exited",
            FaultKind::Timeout { .. } => "timeout",
            FaultKind::Protocol => "protocol",
            FaultKind::ImageBuild => "image_build",
            FaultKind::ImageMissing { .. } => "image_missing",
            FaultKind::EngineUnreachable { .. } => "engine_unreachable",
            FaultKind::ContainerStart => "container_start",
            FaultKind::BadBatch => "bad_batch",
            FaultKind::GuestExit { .. } => "guest_exit",
            FaultKind::DuplicateMetric => "duplicate_metric",
            FaultKind::NotConnected { .. } => "not_connected",
            FaultKind::Mqtt => "mqtt",
            FaultKind::Interrupted => "interrupted",
            FaultKind::ReplayDiverged => "replay_diverged",
        }
    }

    fn summary(&self) -> String {
        match self {
            FaultKind::Config => "rejected its config".into(),
            FaultKind::ModelError => "returned an error".into(),
            FaultKind::OutOfFuel { budget } => format!("ran out of fuel (budget {budget} for this call)"),
            FaultKind::MemoryLimit { memory_limit_mb } => format!("exceeded its memory limit ({memory_limit_mb} MiB)"),
            FaultKind::TableLimit { max_elements } => {
                format!("tried to grow its tables past {max_elements} elements")
            }
            FaultKind::StackOverflow => "overflowed its stack".into(),
            FaultKind::Trap => "trapped".into(),
            FaultKind::LogLimit { max_log_bytes } => format!("exceeded its log limit ({max_log_bytes} bytes)"),
            FaultKind::OutboxLimit { what, count, limit } => {
                format!("sent too many {what} in one step ({count}, limit {limit})")
            }
            FaultKind::RealTimeWait => "tried to wait on the real clock".into(),
            FaultKind::WakeInPast { wake_at_us } => {
                format!("asked to wake in the past (at {})", format_time(*wake_at_us))
            }
            FaultKind::SharedSandbox { culprit } => {
                format!("stopped because '{culprit}', in the same sandbox, faulted")
            }
            FaultKind::Stopped => "was already stopped by an earlier fault".into(),
            FaultKind::ContainerExited { exit_code: Some(code) } => format!("exited with code {code}"),
            FaultKind::ContainerExited { exit_code: None } => "exited".into(),
            FaultKind::Timeout { timeout_ms } => format!("did not answer within {timeout_ms} ms"),
            FaultKind::Protocol => "broke the container protocol".into(),
            FaultKind::ImageBuild => "could not have its image built".into(),
            FaultKind::ImageMissing { image } => format!("needs image '{image}', which the engine does not have"),
            FaultKind::EngineUnreachable { endpoint } => format!("found no Docker engine at {endpoint}"),
            FaultKind::ContainerStart => "could not have its container started".into(),
            FaultKind::BadBatch => "broke the contract of `step-batch`".into(),
            FaultKind::GuestExit { code } => format!("called exit({code}) instead of returning"),
            FaultKind::DuplicateMetric => "reported one metric name twice from `finish`".into(),
            FaultKind::NotConnected { timeout_s } => {
                format!("did not connect to its MQTT endpoint within {timeout_s} s")
            }
            FaultKind::Mqtt => "broke MQTT 3.1.1 as the host speaks it".into(),
            FaultKind::Interrupted => "was running when the run was interrupted; it has no final metrics".into(),
            FaultKind::ReplayDiverged => "diverged from its recording".into(),
        }
    }

    /// What the user can do about it.
    pub fn help(&self) -> std::borrow::Cow<'static, str> {
        match self {
            FaultKind::EngineUnreachable { endpoint } => engine_unreachable_help(endpoint).into(),
            _ => self.fixed_help().into(),
        }
    }

    fn fixed_help(&self) -> &'static str {
        match self {
            FaultKind::Config => "fix the node's `config:` in the scenario",
            FaultKind::ModelError => "see the model's message; the model decided it cannot go on",
            FaultKind::OutOfFuel { .. } => {
                "the model may loop forever, or do more work than its budget (growing tables and memory, and asking the host for random bytes or log lines, cost fuel too); if it needs more, raise `wasm.fuel_per_step` (per call) or `wasm.fuel_per_message` (per inbox message)"
            }
            FaultKind::MemoryLimit { .. } => {
                "the model may allocate without bound; if it needs more, raise `wasm.memory_limit_mb`"
            }
            FaultKind::TableLimit { .. } => {
                "models need far fewer table elements (function references): the component grows its tables without bound"
            }
            FaultKind::StackOverflow => "the model may recurse without bound",
            FaultKind::Trap => "a bug in the model: see the trap above (and its stderr, when it wrote any)",
            FaultKind::LogLimit { .. } => "the model logs too much; raise `wasm.max_log_bytes` if that is intended",
            FaultKind::OutboxLimit { .. } => "raise `wasm.max_outbox_messages` or `wasm.max_outbox_bytes` if intended",
            FaultKind::RealTimeWait => {
                "models must not sleep or wait on timers: return `wake-at-us` from `step` to be woken in virtual time"
            }
            FaultKind::WakeInPast { .. } => "return a wake-up time at or after `now-us`, or none",
            FaultKind::SharedSandbox { .. } => "give nodes their own sandbox to isolate their faults",
            FaultKind::Stopped => "see the node's first fault",
            FaultKind::ContainerExited { .. } => {
                "the program in the container stopped: see its exit code and, when it wrote any, its stderr"
            }
            FaultKind::Timeout { .. } => {
                "the container may hang; if its steps are just slow, raise `docker.step_timeout_ms` (or `docker.start_timeout_ms`)"
            }
            FaultKind::Protocol => {
                "the program must answer each request on stdout as its `docker.protocol` says (one JSON line, or xEdgeSim's DONE and event list) and log only to stderr: see docs/container-protocol.md"
            }
            FaultKind::ImageBuild => "fix the Dockerfile or `docker.build_command`: the output's last lines are above",
            FaultKind::ImageMissing { .. } => {
                "put the image in the engine (`docker load` or `docker import`, `docker pull` where a registry answers, or build it) or give `docker.build_context`; the pull failed (see why above) or --offline forbade it"
            }
            FaultKind::EngineUnreachable { .. } => unreachable!("help() words it"),
            FaultKind::ContainerStart => {
                "the engine's message says why: check the node's `docker:` volumes, ports, cpus and memory_mb"
            }
            FaultKind::GuestExit { .. } => {
                "a model returns from each call and never ends its process; to stop, return a node error"
            }
            FaultKind::NotConnected { .. } => {
                "the program must connect to the address in the variables `docker.mqtt.host_env` and `port_env` name (MQTT_BROKER_HOST and MQTT_BROKER_PORT by default); if it starts slowly, raise `docker.mqtt.connect_timeout_s`"
            }
            FaultKind::Mqtt => {
                "the container must speak MQTT 3.1.1 with QoS 0 or 1, over one connection, in packets of at most `docker.max_frame_bytes`: see docs/container-protocol.md"
            }
            FaultKind::Interrupted => "nothing to fix: the run was stopped by the user",
            FaultKind::ReplayDiverged => {
                "another node now sends it something else than when it was recorded: record again (`xedgesim run FILE --record`), or answer from the recording by time and count what differs with `--replay-mode lenient`"
            }
            FaultKind::DuplicateMetric => {
                "give each value `finish` returns a name of its own; none of this node's metrics are kept, since no one value is the metric's"
            }
            FaultKind::BadBatch => {
                "`step-batch` must enter and leave each call in order (the `sandbox` interface) and return one result per call: a bug in the component's bindings (the SDKs do this for you)"
            }
        }
    }
}

/// How an `engine_unreachable` fault's endpoint is written for an
/// `engines:` entry: `tcp://10.0.0.7:2376 (engine 'edge')`.
pub fn named_endpoint(name: &str, endpoint: &str) -> String {
    format!("{endpoint} (engine '{name}')")
}

/// The fix for an engine that does not answer at `endpoint` (as the
/// fault writes it, [`named_endpoint`] for an `engines:` entry): start
/// the default engine, or check the entry's own endpoint, TLS files or ssh.
pub fn engine_unreachable_help(endpoint: &str) -> String {
    match endpoint.strip_suffix("')").and_then(|e| e.rsplit_once(" (engine '")) {
        Some((url, name)) => format!(
            "check engine '{name}' of the scenario's `engines:`: that an engine answers at {url} (`DOCKER_HOST={url} docker version`{}), {} (docs/running.md, \"Remote Docker engines\")",
            if url.starts_with("tcp://") {
                "; over TLS add `--tlsverify --tlscacert CA --tlscert CERT --tlskey KEY`"
            } else {
                ""
            },
            if url.starts_with("ssh://") {
                "and that `ssh` logs in there with a key and no prompt"
            } else if url.starts_with("tcp://") {
                "and, over TLS, that its files are this client's and the engine's CA's"
            } else {
                "and that you may open that socket"
            }
        ),
        None => format!(
            "start a Docker engine (`sudo dockerd &` or `sudo systemctl start docker`), or point DOCKER_HOST at one that answers ({endpoint} did not)"
        ),
    }
}

impl fmt::Display for NodeFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node '{}' {} at t = {}", self.node, self.kind.summary(), format_time(self.time_us))?;
        if self.kind == FaultKind::ReplayDiverged {
            // Our own words over several lines, each message in them escaped already.
            write!(f, ":\n{}", self.detail)?;
        } else if !self.detail.is_empty() {
            // The detail is the guest's words (its error, its stderr): escaped.
            write!(f, ": {}", escape_controls(&self.detail))?;
        }
        write!(f, "\n  = help: {}", self.kind.help())
    }
}
