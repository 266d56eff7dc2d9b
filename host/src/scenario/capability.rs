//! What a scenario asks to do to the host beyond running models in the
//! WASM sandbox and containers in Docker's: the trust model of
//! docs/sandbox.md ("What a scenario file may do").
//!
//! A scenario file and its model folders may be someone else's, so what
//! reaches the host is listed ([`capabilities`], each at its line) and
//! sorted three ways:
//!
//! - allowed by default: what stays inside the scenario's own folder and
//!   its run folder (a bind below the scenario's folder, a named volume,
//!   an image built from a context, found in the engine or pulled through
//!   it, run hardened);
//! - allowed only by the user's explicit yes ([`Allowance`]: a `--allow`
//!   flag, or an allow file the user names; never a key in the scenario,
//!   whose author is not the user): a build command, a model folder's
//!   build, a bind outside the scenario's folder, a published port, a
//!   bridge network, a Docker engine other than the default one;
//! - never allowed ([`forbidden`]): a bind of `/`, of anything under
//!   `/proc`, `/sys`, `/dev`, `/run` or `/var/run`, or of a socket or a
//!   device file (the Docker socket is root on the host, even read-only).
//!
//! Bind paths are decided on their real location: symlinks and `..`
//! resolved first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Position};
use super::engines::EngineEndpoint;
use super::manifest::Scenario;
use super::parse::SpanMap;
use super::resolved::{ComponentSource, DockerNode, Implementation, ResolvedScenario};

/// One kind of host-reaching capability, by the word that allows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum CapabilityKind {
    /// `docker.build_command`: `sh -c` on the host, with the user's environment.
    BuildCommand,
    /// A model folder built from source: cargo (its `build.rs`, proc
    /// macros, `.cargo/config`), componentize-py, or the folder's own
    /// `node_modules/.bin/componentize-qjs`.
    ModelBuild,
    /// A host path outside the scenario's folder (its real path) that a
    /// container or an image build sees: a bind, or a build context.
    HostBind(PathBuf),
    /// A host file outside the scenario's folder (its real path) that a
    /// WASM node reads through `wasm.files`.
    HostRead(PathBuf),
    /// A port published on 127.0.0.1.
    PublishedPort,
    /// `network_mode: bridge` without ports: the container can reach out.
    Network,
    /// `build_network: true`: the image build's `RUN` steps can reach out.
    BuildNetwork,
    /// A bind below the scenario's folder: allowed by default.
    LocalBind,
    /// A named Docker volume: allowed by default.
    NamedVolume,
    /// A `wasm.files` file below the scenario's folder, read-only in the
    /// node's sandbox: allowed by default.
    LocalRead,
    /// An image built from a build context (Dockerfile steps run in
    /// Docker's build sandbox): allowed by default.
    ImageBuild,
    /// A named image: the engine's own, or pulled through the engine when
    /// it is missing (not with `--offline`); run hardened, allowed by default.
    LocalImage,
    /// `docker.engine: NAME`: containers on an engine other than the
    /// default one (a socket, a machine on the network, ssh with the
    /// user's keys), and the reading of its TLS files: the entry's name and
    /// its endpoint as written (`tcp://…`).
    Engine { name: String, endpoint: String },
}

impl CapabilityKind {
    /// The `--allow` word that allows it; `None`: allowed by default.
    pub fn allow_word(&self) -> Option<String> {
        match self {
            CapabilityKind::BuildCommand => Some("build-command".into()),
            CapabilityKind::ModelBuild => Some("build".into()),
            CapabilityKind::HostBind(path) => Some(format!("bind:{}", path.display())),
            CapabilityKind::HostRead(path) => Some(format!("read:{}", path.display())),
            CapabilityKind::PublishedPort => Some("port".into()),
            CapabilityKind::Network | CapabilityKind::BuildNetwork => Some("network".into()),
            CapabilityKind::Engine { name, .. } => Some(format!("engine:{name}")),
            CapabilityKind::LocalBind
            | CapabilityKind::LocalRead
            | CapabilityKind::NamedVolume
            | CapabilityKind::ImageBuild
            | CapabilityKind::LocalImage => None,
        }
    }
}

/// One thing a scenario asks to do to the host, where the file asks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    pub kind: CapabilityKind,
    /// The first node that asks it (the first of an entry's `count` members).
    pub node: String,
    /// What it does, in words.
    pub what: String,
    /// The scenario file as the user named it, and the line and column.
    pub file: PathBuf,
    pub position: Option<Position>,
    /// Asked by a WASM node's `docker:` section: used only when
    /// `xedgesim equiv --swap NODE=docker` runs the node in a container.
    pub alternative: bool,
}

impl Capability {
    /// `file:line:column`, as far as known.
    pub fn location(&self) -> String {
        match self.position {
            Some(p) => format!("{}:{}:{}", self.file.display(), p.line, p.column),
            None => self.file.display().to_string(),
        }
    }

    /// What it does, naming the node.
    pub fn description(&self) -> String {
        let swapped =
            if self.alternative { format!(" (with `equiv --swap {}=docker`)", self.node) } else { String::new() };
        format!("node '{}' {}{swapped}", self.node, self.what)
    }
}

/// What the user said yes to. Parsed from `--allow` words and allow
/// files; the scenario file has no say in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowance {
    build_command: bool,
    build: bool,
    port: bool,
    network: bool,
    /// Every bind outside the scenario's folder (but the forbidden ones).
    any_bind: bool,
    /// Binds at or below these real paths.
    binds: BTreeSet<PathBuf>,
    /// `wasm.files` at or below these real paths.
    reads: BTreeSet<PathBuf>,
    /// Every engine the file names.
    any_engine: bool,
    /// The engines of these names, each pinned to one endpoint
    /// (`engine:NAME=ENDPOINT`, as [`EngineEndpoint::url`] writes it) or not.
    engines: BTreeMap<String, Option<String>>,
}

/// The words `--allow` takes.
pub const ALLOW_WORDS: &[&str] = &[
    "build-command",
    "build",
    "bind:PATH",
    "bind",
    "read:PATH",
    "port",
    "network",
    "engine:NAME",
    "engine:NAME=ENDPOINT",
    "engine",
];

impl Allowance {
    /// Adds one word (`build-command`, `build`, `bind:/data`, `bind`,
    /// `read:/models`, `port`, `network`); a bind or read path is made absolute from the current
    /// folder and resolved (symlinks, `..`) as binds are. An error names the word and the words there are.
    pub fn add(&mut self, word: &str) -> Result<(), String> {
        let word = word.trim();
        match word {
            "build-command" => self.build_command = true,
            "build" => self.build = true,
            "port" => self.port = true,
            "network" => self.network = true,
            "bind" => self.any_bind = true,
            "engine" => self.any_engine = true,
            _ if word.starts_with("engine:") => {
                let (name, pin) = match word["engine:".len()..].split_once('=') {
                    Some((name, endpoint)) => {
                        let endpoint = EngineEndpoint::parse(endpoint).map_err(|e| format!("'{word}': {e}"))?;
                        (name, Some(endpoint.url()))
                    }
                    None => (&word["engine:".len()..], None),
                };
                if !super::engines::is_engine_name(name) {
                    return Err(format!("'{word}': an engine's name is letters, digits, `-` and `_`"));
                }
                // Unpinned wins over pinned: the user said any endpoint of that name.
                let entry = self.engines.entry(name.to_string()).or_insert(pin.clone());
                if entry.is_some() && *entry != pin {
                    if pin.is_none() {
                        *entry = None;
                    } else {
                        return Err(format!("'{word}': engine '{name}' is pinned to two endpoints"));
                    }
                }
            }
            _ => {
                let (paths, path) = match (word.strip_prefix("bind:"), word.strip_prefix("read:")) {
                    (Some(path), _) => (&mut self.binds, path),
                    (None, Some(path)) => (&mut self.reads, path),
                    (None, None) => {
                        return Err(format!(
                            "'{word}' is not something to allow; use one of {}",
                            ALLOW_WORDS.join(", ")
                        ));
                    }
                };
                // A relative path is the user's, from where they stand.
                let path = std::path::absolute(path).map_err(|e| format!("'{word}': {e}"))?;
                paths.insert(real_path(&path));
            }
        }
        Ok(())
    }

    /// Adds every word of an allow file's `text`: one or more a line,
    /// separated by commas or spaces; `#` starts a comment.
    pub fn add_file_text(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("");
            for word in line.split([',', ' ', '\t']).filter(|w| !w.is_empty()) {
                self.add(word).map_err(|e| format!("line {}: {e}", n + 1))?;
            }
        }
        Ok(())
    }

    /// Allows model folder builds (what `xedgesim build` and `--build` say).
    pub fn allow_builds(&mut self) {
        self.build = true;
    }

    /// Whether model folders may be built.
    pub fn builds(&self) -> bool {
        self.build
    }

    /// Whether the engine `name` of a scenario's `engines:`, at
    /// `endpoint`, may be reached: `engine`, `engine:NAME`, or
    /// `engine:NAME=ENDPOINT` with that very endpoint.
    pub fn permits_engine(&self, name: &str, endpoint: &EngineEndpoint) -> bool {
        self.permits_engine_at(name, &endpoint.url())
    }

    fn permits_engine_at(&self, name: &str, url: &str) -> bool {
        self.any_engine || self.engines.get(name).is_some_and(|pin| pin.as_deref().is_none_or(|pin| pin == url))
    }

    /// Whether `capability` may go ahead.
    pub fn permits(&self, capability: &Capability) -> bool {
        match &capability.kind {
            CapabilityKind::BuildCommand => self.build_command,
            CapabilityKind::ModelBuild => self.build,
            CapabilityKind::PublishedPort => self.port,
            CapabilityKind::Network | CapabilityKind::BuildNetwork => self.network,
            CapabilityKind::HostBind(path) => self.any_bind || self.binds.iter().any(|b| path.starts_with(b)),
            CapabilityKind::HostRead(path) => self.reads.iter().any(|r| path.starts_with(r)),
            CapabilityKind::Engine { name, endpoint } => self.permits_engine_at(name, endpoint),
            CapabilityKind::LocalBind
            | CapabilityKind::LocalRead
            | CapabilityKind::NamedVolume
            | CapabilityKind::ImageBuild
            | CapabilityKind::LocalImage => true,
        }
    }
}

/// `path` with symlinks and `..` resolved as far as it exists (a missing
/// tail is kept as written, `..` folded).
fn real_path(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => real_path(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// Prefixes no bind may reach, whatever the user allows.
const FORBIDDEN_PREFIXES: &[&str] = &["/proc", "/sys", "/dev", "/run", "/var/run"];

/// Why binding `real` (a resolved path) is never allowed, if it is not.
fn forbidden_reason(real: &Path) -> Option<String> {
    if real == Path::new("/") {
        return Some("binds the host's whole filesystem (`/`)".into());
    }
    if let Some(prefix) = FORBIDDEN_PREFIXES.iter().find(|p| real.starts_with(p)) {
        return Some(format!(
            "binds {}, under {prefix}: the host's processes, devices and sockets (the Docker socket is there, and reaching it is root on the host, even read-only)",
            real.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if let Ok(meta) = std::fs::metadata(real) {
            let kind = meta.file_type();
            if kind.is_socket() {
                return Some(format!(
                    "binds {}, a socket (a Docker socket is root on the host, even read-only)",
                    real.display()
                ));
            }
            if kind.is_block_device() || kind.is_char_device() {
                return Some(format!("binds {}, a device", real.display()));
            }
        }
    }
    None
}

/// A scenario's file and positions, to place each capability at its line.
pub(super) struct Where<'a> {
    pub shown_path: &'a Path,
    pub spans: &'a SpanMap,
    /// For each node, the file entry it came from.
    pub origins: &'a [usize],
    /// The file as written (`count` expanded): a volume's key as written.
    pub written: &'a Scenario,
}

impl Where<'_> {
    /// The `volumes:` key, as written, of node `node`'s volume `i`.
    fn volume_key(&self, node: usize, i: usize) -> String {
        let volumes = self.written.nodes.get(node).and_then(|n| n.docker.as_ref()).map(|d| &d.volumes);
        volumes.and_then(|v| v.keys().nth(i)).cloned().unwrap_or_default()
    }

    fn position(&self, node: usize, path: &str) -> Option<Position> {
        let origin = self.origins.get(node).copied().unwrap_or(node);
        let path = format!("nodes[{origin}]{path}");
        self.spans.key(&path).or_else(|| self.spans.value_or_parent(&path)).map(|(p, _)| p)
    }
}

/// Every host-reaching capability `scenario` asks for, in file order, one
/// per file entry and subject (an entry of `count: 1000` asks once).
pub(super) fn capabilities(scenario: &ResolvedScenario, at: &Where<'_>) -> Vec<Capability> {
    let base = scenario.source.parent().unwrap_or(Path::new("/"));
    let mut seen: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut found = Vec::new();
    for (index, node) in scenario.nodes.iter().enumerate() {
        let origin = at.origins.get(index).copied().unwrap_or(index);
        let mut add = |kind: CapabilityKind, what: String, path: &str, alternative: bool| {
            if seen.insert((origin, format!("{kind:?}{what}"))) {
                found.push(Capability {
                    kind,
                    node: node.id.clone(),
                    what,
                    file: at.shown_path.to_path_buf(),
                    position: at.position(index, path),
                    alternative,
                });
            }
        };
        let (docker, alternative) = match &node.implementation {
            Implementation::Docker(d) => (Some(d.as_ref()), false),
            Implementation::Wasm(w) => {
                // xedgesim's own ml_inference folder runs only xedgesim's code.
                if let ComponentSource::Folder(dir) = &w.component
                    && *dir != super::resolved::ml_inference_folder()
                {
                    let what = format!("builds its model from source in {}: {}", dir.display(), build_runs(dir));
                    add(CapabilityKind::ModelBuild, what, ".wasm.component", false);
                }
                for (name, file) in &w.files {
                    let real = real_path(file);
                    let what = format!("reads the host file {} (read-only, as /data/{name})", real.display());
                    let kind =
                        if inside(&real, base) { CapabilityKind::LocalRead } else { CapabilityKind::HostRead(real) };
                    add(kind, what, &format!(".wasm.files.{name}"), false);
                }
                (node.alternative.as_deref(), true)
            }
        };
        let Some(docker) = docker else { continue };
        let keys: Vec<String> = (0..docker.volumes.len()).map(|i| at.volume_key(index, i)).collect();
        for (kind, what, path) in docker_capabilities(docker, base, &keys) {
            add(kind, what, &path, alternative);
        }
        if let Some((name, endpoint)) = docker.engine.as_ref().and_then(|n| Some((n, scenario.engines.get(n)?))) {
            let kind = CapabilityKind::Engine { name: name.clone(), endpoint: endpoint.url() };
            add(kind, engine_use(name, endpoint), ".docker.engine", alternative);
        }
    }
    // In file order (stable: an entry's members stay in node order).
    found.sort_by_key(|c| c.position.map_or((usize::MAX, 0), |p| (p.line, p.column)));
    found
}

/// What running on engine `name` does, in words.
fn engine_use(name: &str, endpoint: &EngineEndpoint) -> String {
    let how = match endpoint {
        EngineEndpoint::Unix { path } => format!("the socket {} on this machine", path.display()),
        EngineEndpoint::Tcp { address, tls: None } => {
            format!("tcp://{address} without TLS: anyone between here and there sees and can change what is sent")
        }
        EngineEndpoint::Tcp { address, tls: Some(tls) } => format!(
            "tcp://{address} over TLS, reading the host files {}, {} and {}",
            tls.ca.display(),
            tls.cert.display(),
            tls.key.display()
        ),
        EngineEndpoint::Ssh { destination } => {
            format!("ssh://{destination}, through the system's ssh with your keys and ssh configuration")
        }
    };
    format!("runs its container (and builds its image) on the Docker engine '{name}': {how}")
}

/// What building the folder `dir` runs, in words.
fn build_runs(dir: &Path) -> &'static str {
    match super::resolved::MODEL_FOLDER_FILES.iter().position(|f| dir.join(f).is_file()) {
        Some(0) => "cargo runs the crate's build.rs, proc macros and .cargo/config",
        Some(1) => "componentize-py runs on the folder's Python code",
        Some(2) => "the folder's own node_modules/.bin/componentize-qjs runs",
        _ => "its build tool runs",
    }
}

/// Whether the real path `real` is at or below the scenario's folder `base`.
fn inside(real: &Path, base: &Path) -> bool {
    base != Path::new("/") && real.starts_with(real_path(base))
}

/// A Docker section's capabilities: kind, words, and the path (below the
/// node's entry) that asks it; `keys` are its volumes' keys as written.
fn docker_capabilities(docker: &DockerNode, base: &Path, keys: &[String]) -> Vec<(CapabilityKind, String, String)> {
    let mut found = Vec::new();
    if docker.build_network && docker.build_context.is_some() {
        found.push((
            CapabilityKind::BuildNetwork,
            "builds its image with network: the Dockerfile's RUN steps reach the network (e.g. pip install)".into(),
            ".docker.build_network".to_string(),
        ));
    }
    if let Some(command) = &docker.build_command {
        let dir = docker.build_context.as_deref().unwrap_or(base);
        found.push((
            CapabilityKind::BuildCommand,
            format!("runs a build command on the host, with your environment, in {}: sh -c {command:?}", dir.display()),
            ".docker.build_command".to_string(),
        ));
    }
    if let Some(context) = &docker.build_context {
        // Its real path: `ctx` may be a link to the home folder, all of which the engine is sent.
        let real = real_path(context);
        let what = format!(
            "builds an image from {} (its Dockerfile's steps run in Docker's build sandbox; a base image not in the engine is pulled, unless --offline)",
            real.display()
        );
        // Outside the scenario's folder, the engine is sent files that are not the
        // scenario's, and the Dockerfile may copy any of them into the image.
        let kind = if inside(&real, base) { CapabilityKind::ImageBuild } else { CapabilityKind::HostBind(real) };
        found.push((kind, what, ".docker.build_context".to_string()));
    } else if let Some(image) = &docker.image {
        let what = format!(
            "runs the image {image}, pulled through the engine if it is not there (unless --offline), in Docker's hardened isolation"
        );
        found.push((CapabilityKind::LocalImage, what, ".docker.image".into()));
    }
    for (volume, key) in docker.volumes.iter().zip(keys) {
        let mode = if volume.read_only { "read-only" } else { "read-write" };
        let path = format!(".docker.volumes.{key}");
        if !volume.host_path.is_absolute() {
            let what = format!("mounts the named volume '{key}' at {} ({mode})", volume.container_path);
            found.push((CapabilityKind::NamedVolume, what, path));
            continue;
        }
        let real = real_path(&volume.host_path);
        let what = format!("binds the host path {} at {} ({mode})", real.display(), volume.container_path);
        let kind = if inside(&real, base) { CapabilityKind::LocalBind } else { CapabilityKind::HostBind(real) };
        found.push((kind, what, path));
    }
    if !docker.ports.is_empty() {
        let ports: Vec<String> = docker.ports.iter().map(|(c, h)| format!("127.0.0.1:{h} -> {c}")).collect();
        let what = format!("publishes ports on the host ({}) and joins Docker's bridge network", ports.join(", "));
        found.push((CapabilityKind::PublishedPort, what, ".docker.ports".into()));
    } else if docker.network_mode == "bridge" {
        let what = "joins Docker's bridge network: it can reach the host's and other networks".to_string();
        found.push((CapabilityKind::Network, what, ".docker.network_mode".into()));
    }
    found
}

/// An error for each bind no allowance can permit, at its line.
pub(super) fn forbidden(scenario: &ResolvedScenario, at: &Where<'_>, source: &str) -> Vec<Diagnostic> {
    let mut seen: BTreeSet<(usize, PathBuf)> = BTreeSet::new();
    let mut found = Vec::new();
    for (index, node) in scenario.nodes.iter().enumerate() {
        let docker = match &node.implementation {
            Implementation::Docker(d) => Some(d.as_ref()),
            Implementation::Wasm(_) => node.alternative.as_deref(),
        };
        let Some(docker) = docker else { continue };
        let origin = at.origins.get(index).copied().unwrap_or(index);
        for (i, volume) in docker.volumes.iter().enumerate().filter(|(_, v)| v.host_path.is_absolute()) {
            if !seen.insert((origin, volume.host_path.clone())) {
                continue;
            }
            let real = real_path(&volume.host_path);
            let Some(reason) = forbidden_reason(&real) else { continue };
            let path = format!(".docker.volumes.{}", at.volume_key(index, i));
            let mut d = Diagnostic::error(at.shown_path, format!("this volume {reason}; that is never allowed"))
                .node(node.id.clone())
                .help("bind a folder of its own (below the scenario's folder, or one you allow with `--allow bind:PATH`), or use a named volume");
            if let Some(p) = at.position(index, &path) {
                d = d.at(source, p, 1);
            }
            found.push(d);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_and_bad_ones_name_the_choices() {
        let mut allow = Allowance::default();
        allow.add_file_text("# mine\nbuild-command, port\nbind:/tmp  # scratch\n").unwrap();
        assert!(allow.build_command && allow.port && !allow.build && !allow.network);
        assert!(allow.binds.contains(&std::fs::canonicalize("/tmp").unwrap()));
        let e = allow.add("sudo").unwrap_err();
        assert!(e.contains("build-command, build, bind:PATH"), "{e}");
        allow.add("bind:data").unwrap();
        assert!(allow.binds.contains(&std::env::current_dir().unwrap().join("data")), "relative to where the user is");
        let e = Allowance::default().add_file_text("port\nnope").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
    }

    /// A build context that is a link is listed at its real path (it was
    /// listed as the link, below the scenario's folder).
    #[test]
    fn a_linked_build_context_is_listed_at_its_real_path() {
        let scenario = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let elsewhere = std::fs::canonicalize(elsewhere.path()).unwrap();
        std::fs::write(elsewhere.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, scenario.path().join("ctx")).unwrap();
        let file = std::fs::canonicalize(scenario.path()).unwrap().join("s.yaml");
        let yaml = "nodes:\n  - {id: g, type: gateway, implementation: docker, docker: {build_context: ctx}}\n";
        let loaded = crate::scenario::load_str(Path::new("s.yaml"), &file, yaml).unwrap();
        let build = loaded.capabilities.iter().find(|c| c.what.starts_with("builds an image")).unwrap();
        assert!(build.what.contains(&format!("from {} ", elsewhere.display())), "{}", build.what);
        // Outside the scenario's folder, the engine would be sent files that are not the scenario's.
        assert_eq!(build.kind, CapabilityKind::HostBind(elsewhere.clone()));
    }

    /// A build context outside the scenario's folder (`..`, an absolute
    /// path) needs the user's yes, as a bind there does: the Dockerfile may
    /// copy any file below it into the image. One inside does not.
    #[test]
    fn a_build_context_outside_the_scenarios_folder_needs_the_users_yes() {
        let home = tempfile::tempdir().unwrap();
        let home = std::fs::canonicalize(home.path()).unwrap();
        for dir in ["scenario/ctx", "private"] {
            std::fs::create_dir_all(home.join(dir)).unwrap();
            std::fs::write(home.join(dir).join("Dockerfile"), "FROM scratch\n").unwrap();
        }
        let file = home.join("scenario/s.yaml");
        for (context, outside) in [("ctx", false), ("..", true), ("../private", true), (home.to_str().unwrap(), true)] {
            let yaml = format!(
                "nodes:\n  - {{id: g, type: gateway, implementation: docker, docker: {{build_context: '{context}', dockerfile: {}}}}}\n",
                match context {
                    ".." => "private/Dockerfile",
                    "ctx" | "../private" => "Dockerfile",
                    _ => "private/Dockerfile",
                }
            );
            let loaded = crate::scenario::load_str(Path::new("s.yaml"), &file, &yaml).unwrap();
            let build = loaded.capabilities.iter().find(|c| c.what.starts_with("builds an image")).unwrap();
            assert_eq!(matches!(build.kind, CapabilityKind::HostBind(_)), outside, "{context}: {build:?}");
            let mut allow = Allowance::default();
            assert_eq!(allow.permits(build), !outside, "{context}");
            allow.add(&format!("bind:{}", home.display())).unwrap();
            assert!(allow.permits(build), "{context}: allowed with --allow bind:PATH");
        }
    }

    #[test]
    fn the_root_the_kernel_folders_and_sockets_are_never_bindable() {
        for path in ["/", "/proc/1", "/sys", "/dev/null", "/run", "/var/run/docker.sock"] {
            assert!(forbidden_reason(&real_path(Path::new(path))).is_some(), "{path}");
        }
        assert!(forbidden_reason(Path::new("/home")).is_none());
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert!(forbidden_reason(&socket).unwrap().contains("a socket"));
        // A link to the root is the root.
        std::os::unix::fs::symlink("/", dir.path().join("up")).unwrap();
        assert!(forbidden_reason(&real_path(&dir.path().join("up"))).unwrap().contains("`/`"));
    }
}
