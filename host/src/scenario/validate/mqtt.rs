//! `docker.mqtt:` and `protocol: mqtt` on a docker node: the keys the
//! host meets an MQTT container with (docs/container-protocol.md).

use super::Checker;
use crate::scenario::manifest::DockerSection;
use crate::scenario::mqtt::{
    ANSWER_DEADLINE_MS, CONNECT_TIMEOUT_S, DEFAULT_ANSWER_DEADLINE_MS, DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_HOST_ENV,
    DEFAULT_PORT_ENV, DEFAULT_QUIET_MS, PROCESSING_US, QUIET_MS, TIME_SCALE,
};
use crate::scenario::resolved::ContainerProtocol;

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
    fn environment_names_are_checked() {
        assert!(env_name("MQTT_BROKER_HOST") && env_name("_x1"));
        assert!(!env_name("1X") && !env_name("A-B") && !env_name(""));
    }
}
