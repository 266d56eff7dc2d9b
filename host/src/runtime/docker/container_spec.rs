//! [`ContainerSpec`]: what a node's container is made from, and the
//! settings it is created with ([`create_body`]): attached, labelled, on
//! no network unless it publishes ports, limited and hardened.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, PortBinding};

use super::LABEL_NODE;
use crate::scenario::{DOCKER_TMPFS_MB, DockerNode};

/// What a container is made from.
#[derive(Debug, Clone)]
pub struct ContainerSpec<'a> {
    pub node: &'a str,
    pub image_id: &'a str,
    pub docker: &'a DockerNode,
    pub run_id: &'a str,
    /// The caller's `xedgesim.run_label`, if any.
    pub run_label: Option<&'a str>,
    /// stdout is a log, as stderr is (a container that speaks MQTT), not frames.
    pub stdout_is_log: bool,
}

/// The container a node runs in: stdin and stdout attached, labelled, on
/// no network unless it publishes ports (then on 127.0.0.1 only), with the
/// scenario's environment and volumes, and hardened (docs/sandbox.md):
/// no capabilities (the protocol is stdin and stdout), no new privileges,
/// memory (swap included), CPU and process limits, and, when asked, a
/// read-only root file system with a tmpfs on `/tmp`.
pub fn create_body(spec: &ContainerSpec<'_>) -> ContainerCreateBody {
    let d = spec.docker;
    let mut labels = super::run_labels(spec.run_id, spec.run_label);
    labels.insert(LABEL_NODE.to_string(), spec.node.to_string());
    // Validation bounds it far below the overflow; saturating all the same.
    let memory_bytes = i64::try_from(d.memory_mb.saturating_mul(1 << 20)).unwrap_or(i64::MAX);
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = d
        .ports
        .iter()
        .map(|(container, host)| {
            let binding = PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(host.to_string()) };
            (format!("{container}/tcp"), Some(vec![binding]))
        })
        .collect();
    let host_config = HostConfig {
        network_mode: Some(d.network_mode.clone()),
        nano_cpus: Some((d.cpus * 1e9).round() as i64),
        memory: Some(memory_bytes),
        // Equal to `memory`: no swap beyond the limit.
        memory_swap: Some(memory_bytes),
        pids_limit: Some(i64::try_from(d.pids_limit).unwrap_or(i64::MAX)),
        cap_drop: Some(vec!["ALL".to_string()]),
        security_opt: Some(vec!["no-new-privileges".to_string()]),
        readonly_rootfs: Some(d.read_only_rootfs),
        tmpfs: d
            .read_only_rootfs
            .then(|| HashMap::from([("/tmp".to_string(), format!("rw,nosuid,nodev,size={DOCKER_TMPFS_MB}m"))])),
        binds: Some(
            d.volumes
                .iter()
                .map(|v| {
                    format!("{}:{}:{}", v.host_path.display(), v.container_path, if v.read_only { "ro" } else { "rw" })
                })
                .collect(),
        ),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        // The host reads the output itself. The engine's own log (json-file)
        // would copy it to disk line by line: a flood of short lines then
        // takes the engine seconds to drain before removal can finish.
        log_config: Some(HostConfigLogConfig { typ: Some("none".into()), config: None }),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(spec.image_id.to_string()),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(false),
        tty: Some(false),
        env: Some(d.environment.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        exposed_ports: (!d.ports.is_empty()).then(|| d.ports.keys().map(|p| format!("{p}/tcp")).collect()),
        user: d.user.clone(),
        labels: Some(labels),
        host_config: Some(host_config),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::runtime::docker::{LABEL_RUN, LABEL_RUN_LABEL};
    use crate::scenario::Volume;

    fn node() -> DockerNode {
        DockerNode {
            environment: BTreeMap::from([("MODE".to_string(), "fast".to_string())]),
            volumes: vec![Volume {
                host_path: PathBuf::from("/srv/data"),
                container_path: "/data".into(),
                read_only: true,
            }],
            cpus: 0.5,
            memory_mb: 64,
            ..DockerNode::new(None, None)
        }
    }

    fn spec(d: &DockerNode) -> ContainerSpec<'_> {
        ContainerSpec {
            node: "gw",
            image_id: "sha256:x",
            docker: d,
            run_id: "r1",
            run_label: None,
            stdout_is_log: false,
        }
    }

    #[test]
    fn a_container_is_attached_labelled_limited_and_off_the_network() {
        let d = node();
        let body = create_body(&spec(&d));
        assert_eq!((body.attach_stdin, body.open_stdin, body.tty), (Some(true), Some(true), Some(false)));
        let labels = body.labels.unwrap();
        assert_eq!((labels[LABEL_RUN].as_str(), labels[LABEL_NODE].as_str()), ("r1", "gw"));
        assert!(!labels.contains_key(LABEL_RUN_LABEL));
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(
            (host.nano_cpus, host.memory, host.memory_swap),
            (Some(500_000_000), Some(64 << 20), Some(64 << 20))
        );
        assert_eq!(host.binds.unwrap(), vec!["/srv/data:/data:ro"]);
        assert_eq!(body.env.unwrap(), vec!["MODE=fast"]);
        assert!(host.port_bindings.is_none());
        assert_eq!(host.log_config.unwrap().typ.as_deref(), Some("none"), "the engine keeps no log of its own");
    }

    #[test]
    fn a_container_is_hardened_by_default() {
        let d = DockerNode::new(None, None);
        let body = create_body(&ContainerSpec { run_label: Some("suite-7"), ..spec(&d) });
        assert_eq!(body.labels.unwrap()[LABEL_RUN_LABEL], "suite-7");
        assert_eq!(body.user, None, "the image's user");
        let host = body.host_config.unwrap();
        assert_eq!(host.cap_drop.unwrap(), vec!["ALL"]);
        assert_eq!(host.security_opt.unwrap(), vec!["no-new-privileges"]);
        assert_eq!(host.pids_limit, Some(256));
        assert_eq!((host.nano_cpus, host.memory), (Some(1_000_000_000), Some(512 << 20)));
        assert_eq!((host.readonly_rootfs, host.tmpfs), (Some(false), None));
    }

    #[test]
    fn a_read_only_root_gets_a_bounded_tmp_and_a_user_is_passed_on() {
        let d = DockerNode { read_only_rootfs: true, user: Some("65534:65534".into()), ..DockerNode::new(None, None) };
        let body = create_body(&spec(&d));
        assert_eq!(body.user.as_deref(), Some("65534:65534"));
        let host = body.host_config.unwrap();
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.tmpfs.unwrap()["/tmp"], "rw,nosuid,nodev,size=64m");
    }

    #[test]
    fn published_ports_bind_to_loopback_only() {
        let mut d = node();
        d.ports = BTreeMap::from([(8080, 18080)]);
        d.network_mode = "bridge".into();
        let body = create_body(&spec(&d));
        let bindings = body.host_config.unwrap().port_bindings.unwrap();
        let binding = &bindings["8080/tcp"].as_ref().unwrap()[0];
        assert_eq!((binding.host_ip.as_deref(), binding.host_port.as_deref()), (Some("127.0.0.1"), Some("18080")));
        assert_eq!(body.exposed_ports.unwrap(), vec!["8080/tcp"]);
    }
}
