//! `docker:` on a node: its image or build, protocol, timeouts, ports,
//! environment, volumes, resources, user and network.

use std::path::{Path, PathBuf};

use super::Checker;
use crate::scenario::build_context;
use crate::scenario::config_value::ConfigValue;
use crate::scenario::manifest::DockerSection;
use crate::scenario::resolved::{
    ContainerProtocol, DEFAULT_BUILD_TIMEOUT_S, DEFAULT_DOCKER_CPUS, DEFAULT_DOCKER_MEMORY_MB,
    DEFAULT_DOCKER_PIDS_LIMIT, DEFAULT_START_TIMEOUT_MS, DEFAULT_STEP_TIMEOUT_MS, DOCKER_CPUS, DOCKER_FRAME_BYTES,
    DOCKER_MEMORY_MB, DOCKER_PIDS_LIMIT, DOCKER_TIMEOUT_MS, MAX_BUILD_TIMEOUT_S,
};
use crate::scenario::suggest;

pub const NETWORK_MODES: &[&str] = &["none", "bridge"];

/// Whether a `volumes:` key names a volume (`models`) rather than a host
/// path (`./models`, `/data`): a key without `/` that does not start with
/// `.` or `~`, as docker-py reads xEdgeSim's files.
pub fn is_named_volume(key: &str) -> bool {
    !key.contains('/') && !key.starts_with('.') && !key.starts_with('~')
}

/// Whether a `dockerfile` path leaves its build context (`..`, absolute).
fn outside_context(dockerfile: &str) -> bool {
    Path::new(dockerfile)
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
}

/// Whether `name` is one the engine accepts for a volume
/// (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
fn is_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A container or host port written as a number or a string of digits.
pub fn port_number(value: &ConfigValue) -> Option<u16> {
    let n: i64 = match value {
        ConfigValue::Integer(i) => *i,
        ConfigValue::Text(s) => s.trim().strip_suffix("/tcp").unwrap_or(s.trim()).parse().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|p| *p >= 1)
}

impl Checker<'_> {
    /// Checks the `docker:` section of the node at `path`, in the order its
    /// keys' diagnostics were always made (equal positions keep it).
    pub(super) fn docker(&mut self, path: &str, id: &str, docker: &DockerSection) {
        let dpath = format!("{path}.docker");
        self.image_source(&dpath, id, docker);
        self.build_step(&dpath, id, docker);
        self.protocol_and_timeouts(&dpath, id, docker);
        if docker.dockerfile.is_some() && docker.build_context.is_none() {
            self.key_error(
                &format!("{dpath}.dockerfile"),
                Some(id),
                "`dockerfile` without `build_context`",
                "the Dockerfile path is relative to `build_context`: add one",
            );
        }
        self.ports(&dpath, id, docker);
        self.environment(&dpath, id, docker);
        self.volumes(&dpath, id, docker);
        self.resources(&dpath, id, docker);
        self.user(&dpath, id, docker);
        self.network_mode(&dpath, id, docker);
    }

    /// `image` or `build_context`, and the Dockerfile in the context.
    fn image_source(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        if docker.image.is_none() && docker.build_context.is_none() {
            self.error(
                dpath,
                node,
                "a docker node needs `image` or `build_context`",
                "add `image: name:tag` for an existing image or `build_context: dir` to build one",
            );
        }
        if let Some(dockerfile) = &docker.dockerfile
            && outside_context(dockerfile)
        {
            self.error(
                &format!("{dpath}.dockerfile"),
                node,
                format!("dockerfile '{dockerfile}' is outside the build context"),
                "the engine only sees the build context: give a path inside it, relative to `build_context`",
            );
        }
        let found_context = docker.build_context.as_deref().and_then(|c| self.build_context_found(dpath, id, c));
        if let (Some(context), Some(dockerfile)) = (&found_context, &docker.dockerfile)
            && !outside_context(dockerfile)
            && !context.join(dockerfile).is_file()
        {
            self.error(
                &format!("{dpath}.dockerfile"),
                node,
                format!("file '{dockerfile}' does not exist in the build context"),
                "`dockerfile` is relative to `build_context`",
            );
        }
        if let (Some(context), Some(shown)) = (&found_context, &docker.build_context)
            && docker.dockerfile.is_none()
            && !context.join("Dockerfile").is_file()
        {
            let context = shown;
            self.error(
                &format!("{dpath}.build_context"),
                node,
                format!("the build context '{context}' has no Dockerfile"),
                "add a Dockerfile there, or name one with `dockerfile:`",
            );
        }
    }

    /// Where `context` is (`build_context::locate`): an error when nowhere,
    /// a warning when above the scenario's folder.
    fn build_context_found(&mut self, dpath: &str, id: &str, context: &str) -> Option<PathBuf> {
        let node = Some(id);
        let located = build_context::locate(self.base_dir, context, self.home_dir);
        match &located {
            None => self.error(
                &format!("{dpath}.build_context"),
                node,
                format!("directory '{context}' does not exist"),
                "paths are relative to the folder of the scenario file (a build context is also looked for in the folders above it, as xEdgeSim's files expect)",
            ),
            Some(found) if found.levels_up > 0 => self.node_warning(
                &format!("{dpath}.build_context"),
                id,
                format!(
                    "build context '{context}' is not in the scenario's folder; using {}, {} folder{} up (xEdgeSim resolved it from its repository root)",
                    found.path.display(),
                    found.levels_up,
                    if found.levels_up == 1 { "" } else { "s" }
                ),
                format!("write it as '{}' to say so", build_context::relative_spelling(found, context)),
            ),
            _ => {}
        }
        located.map(|found| found.path)
    }

    /// What runs before the image is built: `build_command`, its timeout,
    /// `build_network`.
    fn build_step(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        if docker.build_command.is_some() && docker.build_context.is_none() {
            self.key_error(
                &format!("{dpath}.build_command"),
                node,
                "`build_command` without `build_context`",
                "the command runs in the build context before the image is built: add `build_context`",
            );
        }
        if docker.build_network.is_some() && docker.build_context.is_none() {
            self.key_error(
                &format!("{dpath}.build_network"),
                node,
                "`build_network` without `build_context`",
                "it lets an image build reach the network: add the `build_context` it builds, or remove it",
            );
        }
        if let Some(timeout_s) = docker.build_timeout_s {
            if !(1..=MAX_BUILD_TIMEOUT_S).contains(&timeout_s) {
                self.error(
                    &format!("{dpath}.build_timeout_s"),
                    node,
                    format!("build_timeout_s must be from 1 to {MAX_BUILD_TIMEOUT_S} (a day); found {timeout_s}"),
                    format!("omit it for the default ({DEFAULT_BUILD_TIMEOUT_S} s)"),
                );
            } else if docker.build_command.is_none() {
                self.node_warning(
                    &format!("{dpath}.build_timeout_s"),
                    id,
                    "`build_timeout_s` has no effect without `build_command`",
                    "remove it, or add the `build_command` it bounds",
                );
            }
        }
    }

    /// How the host talks to the container, and how long it waits.
    fn protocol_and_timeouts(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        if let Some(protocol) = &docker.protocol
            && ContainerProtocol::from_name(protocol).is_none()
        {
            self.error(
                &format!("{dpath}.protocol"),
                node,
                format!("protocol must be one of {}; found '{protocol}'", ContainerProtocol::NAMES.join(", ")),
                suggest::did_you_mean(protocol, ContainerProtocol::NAMES),
            );
        }
        self.in_range(
            dpath,
            id,
            "step_timeout_ms",
            docker.step_timeout_ms,
            &DOCKER_TIMEOUT_MS,
            &format!("a time in milliseconds; omit it for the default ({DEFAULT_STEP_TIMEOUT_MS})"),
        );
        self.in_range(
            dpath,
            id,
            "start_timeout_ms",
            docker.start_timeout_ms,
            &DOCKER_TIMEOUT_MS,
            &format!("a time in milliseconds; omit it for the default ({DEFAULT_START_TIMEOUT_MS})"),
        );
        self.in_range(
            dpath,
            id,
            "max_frame_bytes",
            docker.max_frame_bytes,
            &DOCKER_FRAME_BYTES,
            "the longest stdout line in bytes (at least 1024 for the framing); omit it for the default (16 MiB)",
        );
    }

    /// `ports:` container port to host port, both port numbers.
    fn ports(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        for (container, host) in &docker.ports {
            let key = container.to_string();
            let kpath = format!("{dpath}.ports.{key}");
            if port_number(container).is_none() {
                self.key_error(
                    &kpath,
                    node,
                    format!("container port '{key}' is not a port number"),
                    "ports are whole numbers from 1 to 65535",
                );
            }
            if port_number(host).is_none() {
                self.error(
                    &kpath,
                    node,
                    format!("host port '{host}' is not a port number"),
                    "ports are whole numbers from 1 to 65535",
                );
            }
        }
    }

    fn environment(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        for (name, value) in &docker.environment {
            if value.as_scalar_string().is_none() {
                self.error(
                    &format!("{dpath}.environment.{name}"),
                    node,
                    format!("environment variable {name} must be a string, number or boolean"),
                    "quote structured values as a string",
                );
            }
        }
    }

    /// `volumes:`: each a host path that exists or a volume name, and its mode.
    fn volumes(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        for (host_path, volume) in &docker.volumes {
            // The engine would quietly create a missing bind source as an empty folder.
            if !is_named_volume(host_path) {
                self.existing_any(&format!("{dpath}.volumes.{host_path}"), id, host_path);
            } else if !is_volume_name(host_path) {
                self.key_error(
                    &format!("{dpath}.volumes.{host_path}"),
                    node,
                    format!("'{host_path}' is neither a host path nor a Docker volume name"),
                    "a volume name is a letter or digit, then letters, digits, `_`, `.` or `-`; write a host path as `./name`",
                );
            }
            if let Some(mode) = &volume.mode
                && mode != "ro"
                && mode != "rw"
            {
                self.error(
                    &format!("{dpath}.volumes.{host_path}.mode"),
                    node,
                    format!("volume mode must be ro or rw; found '{mode}'"),
                    suggest::did_you_mean(mode, &["ro", "rw"]),
                );
            }
        }
    }

    /// `cpus`, `memory_mb`, `pids_limit`.
    fn resources(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        if let Some(cpus) = docker.cpus
            && !DOCKER_CPUS.contains(&cpus)
        {
            self.error(
                &format!("{dpath}.cpus"),
                node,
                format!("cpus is {cpus}; allowed {} ..= {}", DOCKER_CPUS.start(), DOCKER_CPUS.end()),
                format!("cores, e.g. `cpus: 0.5` for half a core; omit it for the default ({DEFAULT_DOCKER_CPUS})"),
            );
        }
        self.in_range(
            dpath,
            id,
            "memory_mb",
            docker.memory_mb,
            &DOCKER_MEMORY_MB,
            &format!("in MiB (the engine refuses less than 6); omit it for the default ({DEFAULT_DOCKER_MEMORY_MB})"),
        );
        self.in_range(
            dpath,
            id,
            "pids_limit",
            docker.pids_limit,
            &DOCKER_PIDS_LIMIT,
            &format!("processes and threads at once; omit it for the default ({DEFAULT_DOCKER_PIDS_LIMIT})"),
        );
    }

    fn user(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        if let Some(user) = &docker.user
            && (user.is_empty() || user.contains(|c: char| c.is_whitespace() || c.is_control()))
        {
            self.error(
                &format!("{dpath}.user"),
                node,
                format!("user must be a name or uid[:gid] without spaces; found '{user}'"),
                "e.g. `user: \"65534:65534\"`; omit it for the image's user",
            );
        }
    }

    fn network_mode(&mut self, dpath: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        if let Some(mode) = &docker.network_mode {
            if !NETWORK_MODES.contains(&mode.as_str()) {
                self.error(
                    &format!("{dpath}.network_mode"),
                    node,
                    format!("network_mode must be one of {}; found '{mode}'", NETWORK_MODES.join(", ")),
                    suggest::did_you_mean(mode, NETWORK_MODES),
                );
            } else if mode == "none" && !docker.ports.is_empty() {
                self.error(
                    &format!("{dpath}.network_mode"),
                    node,
                    "published `ports` need a network, but network_mode is none",
                    "remove `network_mode: none` (ports are published on 127.0.0.1 only) or remove `ports`",
                );
            }
        }
    }

    /// Checks that a volume's host path (relative to the scenario file) exists.
    fn existing_any(&mut self, path: &str, id: &str, relative: &str) {
        if !self.base_dir.join(relative).exists() {
            self.key_error(
                path,
                Some(id),
                format!("volume host path '{relative}' does not exist"),
                "paths are relative to the folder of the scenario file; the engine would mount an empty folder instead",
            );
        }
    }
}
