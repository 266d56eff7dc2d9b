//! `docker.mqtt:`: how the host meets a container that speaks MQTT
//! (`docker.protocol: mqtt`), as written ([`MqttSection`]), as resolved
//! ([`MqttSettings`]), and checked. docs/container-protocol.md says what
//! each key does; docs/running.md the time model the timing keys feed.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::manifest::DockerSection;
use super::resolved::{ContainerProtocol, NodeKind};
use super::validate::Checker;

/// `docker.mqtt:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    pub host_env: Option<String>,
    pub port_env: Option<String>,
    pub connect_timeout_s: Option<u64>,
    pub answer_deadline_ms: Option<u64>,
    pub quiet_ms: Option<u64>,
    pub expect_answer: Option<bool>,
    pub processing_us: Option<u64>,
    pub time_scale: Option<f64>,
}

/// What an MQTT container is to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MqttRole {
    /// An MQTT client: the host is its broker endpoint.
    Client,
    /// An MQTT broker (`type: broker`): the host is a client of it on each
    /// node's behalf.
    Broker,
}

/// `docker.mqtt:` with every default filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MqttSettings {
    pub role: MqttRole,
    /// The variables the run sets to the host's endpoint for the node.
    pub host_env: String,
    pub port_env: String,
    /// Wall time from the container's start to its first CONNECT.
    pub connect_timeout_s: u64,
    /// How long a delivery holds the node waiting for its answer.
    pub answer_deadline_ms: u64,
    /// An answer is complete after this long without another PUBLISH.
    pub quiet_ms: u64,
    /// `false`: a delivery holds the node `quiet_ms` only.
    pub expect_answer: bool,
    /// A fixed processing time; `None`: the measured wall time × `time_scale`.
    pub processing_us: Option<u64>,
    pub time_scale: f64,
}

pub const DEFAULT_HOST_ENV: &str = "MQTT_BROKER_HOST";
pub const DEFAULT_PORT_ENV: &str = "MQTT_BROKER_PORT";
pub const DEFAULT_CONNECT_TIMEOUT_S: u64 = 30;
pub const DEFAULT_ANSWER_DEADLINE_MS: u64 = 1_000;
pub const DEFAULT_QUIET_MS: u64 = 20;
/// Accepted `connect_timeout_s`: up to an hour.
pub const CONNECT_TIMEOUT_S: RangeInclusive<u64> = 1..=3_600;
/// Accepted `answer_deadline_ms`: up to ten minutes of wall time per delivery.
pub const ANSWER_DEADLINE_MS: RangeInclusive<u64> = 1..=600_000;
/// Accepted `quiet_ms`: up to a minute.
pub const QUIET_MS: RangeInclusive<u64> = 1..=60_000;
/// Accepted `processing_us`: up to an hour of virtual time.
pub const PROCESSING_US: RangeInclusive<u64> = 0..=3_600_000_000;
/// Accepted `time_scale`: a millionth to a million.
pub const TIME_SCALE: RangeInclusive<f64> = 1e-6..=1e6;

impl MqttSettings {
    pub fn resolve(section: Option<&MqttSection>, role: MqttRole) -> MqttSettings {
        let s = section.cloned().unwrap_or_default();
        MqttSettings {
            role,
            host_env: s.host_env.unwrap_or_else(|| DEFAULT_HOST_ENV.to_string()),
            port_env: s.port_env.unwrap_or_else(|| DEFAULT_PORT_ENV.to_string()),
            connect_timeout_s: s.connect_timeout_s.unwrap_or(DEFAULT_CONNECT_TIMEOUT_S),
            answer_deadline_ms: s.answer_deadline_ms.unwrap_or(DEFAULT_ANSWER_DEADLINE_MS),
            quiet_ms: s.quiet_ms.unwrap_or(DEFAULT_QUIET_MS),
            expect_answer: s.expect_answer.unwrap_or(true),
            processing_us: s.processing_us,
            time_scale: s.time_scale.unwrap_or(1.0),
        }
    }

    /// The role a node of `node_type` has.
    pub fn role_of(node_type: &str) -> MqttRole {
        match NodeKind::builtin(node_type) {
            Some(NodeKind::Broker) => MqttRole::Broker,
            _ => MqttRole::Client,
        }
    }
}

/// Whether `name` can be an environment variable's name.
fn env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Checker<'_> {
    /// The checks of `protocol: mqtt` and `mqtt:` on docker node `id`.
    pub(super) fn mqtt(&mut self, path: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        let dpath = format!("{path}.docker");
        let is_mqtt =
            docker.protocol.as_deref().and_then(ContainerProtocol::from_name) == Some(ContainerProtocol::Mqtt);
        let Some(section) = &docker.mqtt else {
            if is_mqtt {
                self.not_on_internal_network(&dpath, id, docker);
            }
            return;
        };
        if !is_mqtt {
            self.key_error(
                &format!("{dpath}.mqtt"),
                node,
                "`mqtt:` on a node that does not speak MQTT",
                "add `protocol: mqtt` (the container is an MQTT client, or a broker for `type: broker`), or remove `mqtt:`",
            );
            return;
        }
        self.not_on_internal_network(&dpath, id, docker);
        let mpath = format!("{dpath}.mqtt");
        for (key, value) in [("host_env", &section.host_env), ("port_env", &section.port_env)] {
            if let Some(name) = value
                && !env_name(name)
            {
                self.error(
                    &format!("{mpath}.{key}"),
                    node,
                    format!("{key} '{name}' is not an environment variable's name"),
                    "letters, digits and `_`, not starting with a digit, e.g. MQTT_BROKER_HOST",
                );
            }
        }
        let host_env = section.host_env.as_deref().unwrap_or(DEFAULT_HOST_ENV);
        let port_env = section.port_env.as_deref().unwrap_or(DEFAULT_PORT_ENV);
        if host_env == port_env {
            self.error(
                &format!("{mpath}.port_env"),
                node,
                format!("host_env and port_env are both '{host_env}'"),
                "the address and the port go in two variables: name two",
            );
        }
        self.in_range(
            &mpath,
            id,
            "connect_timeout_s",
            section.connect_timeout_s,
            &CONNECT_TIMEOUT_S,
            &format!("seconds of wall time; omit it for the default ({DEFAULT_CONNECT_TIMEOUT_S})"),
        );
        self.in_range(
            &mpath,
            id,
            "answer_deadline_ms",
            section.answer_deadline_ms,
            &ANSWER_DEADLINE_MS,
            &format!("milliseconds of wall time; omit it for the default ({DEFAULT_ANSWER_DEADLINE_MS})"),
        );
        self.in_range(
            &mpath,
            id,
            "quiet_ms",
            section.quiet_ms,
            &QUIET_MS,
            &format!("milliseconds of wall time; omit it for the default ({DEFAULT_QUIET_MS})"),
        );
        self.in_range(
            &mpath,
            id,
            "processing_us",
            section.processing_us,
            &PROCESSING_US,
            "microseconds of virtual time; omit it to use the measured time",
        );
        if let Some(scale) = section.time_scale
            && !(scale.is_finite() && TIME_SCALE.contains(&scale))
        {
            self.error(
                &format!("{mpath}.time_scale"),
                node,
                format!("time_scale is {scale}; allowed {:e} ..= {:e}", TIME_SCALE.start(), TIME_SCALE.end()),
                "the factor from measured wall time to virtual time; omit it for 1.0",
            );
        }
        if section.time_scale.is_some() && section.processing_us.is_some() {
            self.error(
                &format!("{mpath}.time_scale"),
                node,
                "both `time_scale` and `processing_us`",
                "`processing_us` replaces the measured time that `time_scale` scales: keep one",
            );
        }
    }

    /// An MQTT container's network is the run's own: the file may not name another.
    fn not_on_internal_network(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        if docker.network_mode.is_some() {
            self.key_error(
                &format!("{dpath}.network_mode"),
                Some(id),
                "`network_mode` on an MQTT node",
                "remove it: an MQTT node is on the run's own internal network, which reaches nothing but the host",
            );
        }
        if !docker.ports.is_empty() {
            self.key_error(
                &format!("{dpath}.ports"),
                Some(id),
                "`ports` on an MQTT node",
                "remove them: its traffic goes through the host and the simulated network, never a published port",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_the_role_follows_the_type() {
        let s = MqttSettings::resolve(None, MqttSettings::role_of("gateway"));
        assert_eq!((s.host_env.as_str(), s.port_env.as_str()), ("MQTT_BROKER_HOST", "MQTT_BROKER_PORT"));
        assert_eq!((s.connect_timeout_s, s.answer_deadline_ms, s.quiet_ms), (30, 1000, 20));
        assert!(s.expect_answer && s.processing_us.is_none() && s.time_scale == 1.0);
        assert_eq!(s.role, MqttRole::Client);
        assert_eq!(MqttSettings::role_of("mqtt_broker"), MqttRole::Broker, "xEdgeSim's name for a broker");
    }

    #[test]
    fn environment_names_are_checked() {
        assert!(env_name("MQTT_BROKER_HOST") && env_name("_x1"));
        assert!(!env_name("1X") && !env_name("A-B") && !env_name(""));
    }
}
