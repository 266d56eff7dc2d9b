//! `docker.mqtt:` resolved: how the host meets a container that speaks
//! MQTT (`docker.protocol: mqtt`), with every default filled in, and the
//! defaults and accepted ranges the checks (`validate/mqtt.rs`) and the
//! resolver (`resolve.rs`) share. docs/container-protocol.md says what
//! each key does; docs/running.md the time model the timing keys feed.

use std::ops::RangeInclusive;

use serde::Serialize;

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
}
