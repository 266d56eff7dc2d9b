//! Images for Docker nodes. A node with `docker.build_context` gets its
//! image built here — first its `build_command` runs on the host
//! ([`run_build_command`], in `build_command.rs`)
//! (compiling the static binary the image wraps; bounded by
//! `build_timeout_s`), then the context is hashed and, unless an image
//! built from exactly that context and those base images exists, built
//! through the engine. A node with only `docker.image` runs that image,
//! pulled through the engine when it is missing; so is a base image a
//! Dockerfile names. Offline ([`ensure_image_with`]), nothing is pulled:
//! a missing image is a clear error.
//!
//! Only images xedgesim built (they carry [`LABEL_CONTEXT`], set by their
//! newest step: an image built from one of ours inherits the label) are
//! ever replaced: a name another image holds is refused.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::build_command::run_build_command;
use super::context::{self, BuildContext};
use super::dockerfile;
use super::engine::DockerEngine;
use super::error::DockerError;
use super::{LABEL_BUILD_KEY, LABEL_CONTEXT};
use crate::runtime::output_tail::{self, OutputTail};
use crate::scenario::DockerNode;
use crate::text::hex;

/// The image a node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The name it is tagged with.
    pub reference: String,
    /// The engine's id (`sha256:…`).
    pub id: String,
    /// Whether this call built it (false: it existed already).
    pub built: bool,
}

/// Largest Dockerfile read for its `FROM` lines.
const MAX_DOCKERFILE_BYTES: u64 = 1 << 20;
/// How often one layer's progress (`Downloading`, `Extracting`) is shown
/// while it stays in one state: a pull reports it many times a second.
const PULL_PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Bytes of the archive in one message to the engine, and messages in flight.
const CHUNK_BYTES: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;

/// The tag for a build whose key is `key`: the `image` named in the
/// scenario, or `xedgesim/<folder>:<key prefix>`.
pub fn tag_for(docker: &DockerNode, context_dir: &Path, key: &[u8; 32]) -> String {
    if let Some(image) = &docker.image {
        return image.clone();
    }
    let folder: String = context_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '-' })
        .collect();
    let folder = folder.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("xedgesim/{}:{}", if folder.is_empty() { "context" } else { folder }, &hex(key)[..12])
}

/// What decides a node's image: nodes with equal recipes share one build.
pub fn recipe(docker: &DockerNode) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{}|{}",
        docker.image,
        docker.build_context,
        docker.dockerfile,
        docker.build_command,
        docker.build_timeout_s,
        docker.build_network
    )
}

/// What an image is built from: the context's archive, the Dockerfile's
/// path in it and the id of each base image, in the Dockerfile's order.
/// A rebuilt base (or a `FROM` naming another image) changes the key.
pub fn build_key(context_sha256: &[u8; 32], dockerfile: &str, bases: &[(String, String)]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(format!("xedgesim build key 1\ncontext {}\ndockerfile {dockerfile}\n", hex(context_sha256)));
    for (reference, id) in bases {
        hash.update(format!("base {reference} {id}\n"));
    }
    hash.finalize().into()
}

/// Makes sure the node's image exists, building or pulling it if it must;
/// `progress` hears each line of build and pull output (bounded, control
/// characters escaped).
pub fn ensure_image(
    engine: &DockerEngine,
    docker: &DockerNode,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<ImageInfo, DockerError> {
    ensure_image_with(engine, docker, false, progress, interrupt)
}

/// [`ensure_image`]; `offline`, nothing is pulled (neither the node's
/// image nor a Dockerfile's base image): a missing one is an error.
pub fn ensure_image_with(
    engine: &DockerEngine,
    docker: &DockerNode,
    offline: bool,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<ImageInfo, DockerError> {
    let Some(dir) = &docker.build_context else {
        let image = docker.image.clone().expect("validation: image or build_context");
        if let Some(found) = inspect(engine, &image, interrupt)? {
            return Ok(ImageInfo { reference: image, id: found.id, built: false });
        }
        if offline {
            return Err(DockerError::ImageMissing { image, endpoint: engine.endpoint().to_string() });
        }
        let pull_failed = |detail: String| DockerError::ImagePull { image: image.clone(), detail };
        pull(engine, &image, progress, interrupt).map_err(|e| match e {
            PullError::Interrupted => DockerError::Interrupted,
            PullError::Failed(detail) => pull_failed(detail),
        })?;
        let found = inspect(engine, &image, interrupt)?
            .ok_or_else(|| pull_failed("the engine reported the pull done but has no such image".into()))?;
        return Ok(ImageInfo { reference: image, id: found.id, built: false });
    };
    // Refused before anything runs: the name belongs to another image.
    if let Some(image) = &docker.image
        && let Some(found) = inspect(engine, image, interrupt)?
        && !found.ours(engine, image, interrupt)?
    {
        return Err(DockerError::ForeignImage { image: image.clone() });
    }
    run_build_command(docker, progress, interrupt)?;
    let dockerfile = docker
        .dockerfile
        .as_ref()
        .and_then(|f| f.strip_prefix(dir).ok())
        .map_or_else(|| "Dockerfile".to_string(), |f| f.to_string_lossy().replace('\\', "/"));
    let context = context::read(dir, &dockerfile, context::MAX_CONTEXT_BYTES)?;
    let bases = base_image_ids(engine, &dir.join(&dockerfile), offline, progress, interrupt)?;
    let key = build_key(&context.sha256, &dockerfile, &bases);
    let tag = tag_for(docker, dir, &key);
    if let Some(found) = inspect(engine, &tag, interrupt)? {
        if found.labels.get(LABEL_BUILD_KEY) == Some(&hex(&key)) {
            return Ok(ImageInfo { reference: tag, id: found.id, built: false });
        }
        if !found.ours(engine, &tag, interrupt)? {
            return Err(DockerError::ForeignImage { image: tag });
        }
    }
    let target = BuildTarget { tag: &tag, dockerfile: &dockerfile, key: &key, network: docker.build_network };
    build(engine, &target, context, progress, interrupt)?;
    let found = inspect(engine, &tag, interrupt)?.ok_or_else(|| DockerError::ImageBuild {
        tag: tag.clone(),
        output: "the engine reported success but has no such image".into(),
    })?;
    Ok(ImageInfo { reference: tag, id: found.id, built: true })
}

/// Each base image of the Dockerfile at `path` and its id in the engine;
/// one that is missing is pulled first (unless `offline`).
fn base_image_ids(
    engine: &DockerEngine,
    path: &Path,
    offline: bool,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<Vec<(String, String)>, DockerError> {
    let unreadable = |detail: String| DockerError::Dockerfile { path: path.to_path_buf(), detail };
    let size = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?.len();
    if size > MAX_DOCKERFILE_BYTES {
        return Err(unreadable(format!("it has {size} bytes; a Dockerfile may have at most {MAX_DOCKERFILE_BYTES}")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    let bases = dockerfile::base_images(&text).map_err(|e| unreadable(e.to_string()))?;
    let mut ids = Vec::new();
    for base in bases {
        let id = match inspect(engine, &base.reference, interrupt)? {
            Some(found) => found.id,
            None if offline => {
                return Err(DockerError::BaseImageMissing {
                    image: base.reference,
                    dockerfile: path.to_path_buf(),
                    line: base.line,
                    detail: "--offline forbids pulling it".into(),
                });
            }
            None => {
                pull(engine, &base.reference, progress, interrupt).map_err(|detail| match detail {
                    PullError::Interrupted => DockerError::Interrupted,
                    PullError::Failed(detail) => DockerError::BaseImageMissing {
                        image: base.reference.clone(),
                        dockerfile: path.to_path_buf(),
                        line: base.line,
                        detail,
                    },
                })?;
                inspect(engine, &base.reference, interrupt)?
                    .ok_or_else(|| DockerError::BaseImageMissing {
                        image: base.reference.clone(),
                        dockerfile: path.to_path_buf(),
                        line: base.line,
                        detail: "the engine reported the pull done but has no such image".into(),
                    })?
                    .id
            }
        };
        ids.push((base.reference, id));
    }
    Ok(ids)
}

enum PullError {
    Interrupted,
    Failed(String),
}

/// Pulls `reference` (its `latest` tag when it names none), showing the
/// engine's progress: each layer's change of state, and while it stays in
/// one, at most one line per [`PULL_PROGRESS_EVERY`].
fn pull(
    engine: &DockerEngine,
    reference: &str,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<(), PullError> {
    let from_image = with_tag(reference);
    progress(&output_tail::shown_line(format!("pulling image {from_image}").as_bytes(), 0));
    let options = bollard::query_parameters::CreateImageOptions { from_image: Some(from_image), ..Default::default() };
    let pulling = async {
        let mut stream = engine.docker().create_image(Some(options), None, None);
        // By layer: the state last shown, and when.
        let mut shown: HashMap<String, (String, Instant)> = HashMap::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(detail);
                    }
                    let Some(status) = info.status else { continue };
                    let id = info.id.unwrap_or_default();
                    let now = Instant::now();
                    let due = shown
                        .get(&id)
                        .is_none_or(|(last, at)| *last != status || now.duration_since(*at) >= PULL_PROGRESS_EVERY);
                    if !due {
                        continue;
                    }
                    let bar = match info.progress_detail.map(|d| (d.current, d.total)) {
                        Some((Some(current), Some(total))) if total > 0 => {
                            format!("{:.1}/{:.1} MB", current as f64 / 1e6, total as f64 / 1e6)
                        }
                        _ => String::new(),
                    };
                    let line = if id.is_empty() { status.clone() } else { format!("{id}: {status} {bar}") };
                    progress(&output_tail::shown_line(line.trim_end().as_bytes(), 0));
                    shown.insert(id, (status, now));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    };
    engine
        .block_on_unless(interrupt, pulling)
        .map_err(|_| PullError::Interrupted)?
        // The registry's words, shown: bounded and escaped.
        .map_err(|detail| PullError::Failed(output_tail::shown_line(detail.as_bytes(), 0)))
}

/// `reference` with a tag: without one the engine would pull every tag of
/// the repository.
fn with_tag(reference: &str) -> String {
    let named = reference.rsplit('/').next().unwrap_or(reference);
    if named.contains(':') || named.contains('@') { reference.to_string() } else { format!("{reference}:latest") }
}

/// An image in the engine.
struct Found {
    id: String,
    labels: HashMap<String, String>,
}

impl Found {
    /// Whether xedgesim built it (`reference` names it): it has our labels,
    /// and they are its own, set by its newest step. An image built `FROM`
    /// one of ours inherits the labels, and is someone else's.
    fn ours(
        &self,
        engine: &DockerEngine,
        reference: &str,
        interrupt: Option<&AtomicBool>,
    ) -> Result<bool, DockerError> {
        let Some(context) = self.labels.get(LABEL_CONTEXT) else { return Ok(false) };
        let what = format!("`GET /images/{reference}/history`");
        let history = engine
            .block_on_metadata(interrupt, &what, engine.docker().image_history(reference))?
            .map_err(DockerError::api(format!("to read the history of image {reference}")))?;
        // Newest first; the build's labels are its last steps, in either order.
        let ours = [Some(context), self.labels.get(LABEL_BUILD_KEY)];
        Ok(history.first().is_some_and(|newest| {
            ours.iter().flatten().any(|value| !value.is_empty() && newest.created_by.contains(value.as_str()))
        }))
    }
}

/// The image `reference` names, `None` when the engine has none; an
/// engine that does not answer is [`DockerError::Unreachable`].
fn inspect(
    engine: &DockerEngine,
    reference: &str,
    interrupt: Option<&AtomicBool>,
) -> Result<Option<Found>, DockerError> {
    let what = format!("`GET /images/{reference}/json`");
    match engine.block_on_metadata(interrupt, &what, engine.docker().inspect_image(reference))? {
        Ok(image) => Ok(Some(Found {
            id: image.id.unwrap_or_default(),
            labels: image.config.and_then(|c| c.labels).unwrap_or_default(),
        })),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
        Err(e) => Err(DockerError::api(format!("to inspect image {reference}"))(e)),
    }
}

/// Sends the context's archive to `bytes`, chunk by chunk, as the engine
/// reads it: at most [`CHUNKS_IN_FLIGHT`] chunks are held. Returns the
/// archive's SHA-256.
fn send_context(
    context: BuildContext,
    bytes: tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
) -> Result<[u8; 32], DockerError> {
    struct ChunkWriter {
        bytes: tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
        chunk: Vec<u8>,
    }
    impl ChunkWriter {
        fn send(&mut self) -> std::io::Result<()> {
            let chunk = bytes::Bytes::from(std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK_BYTES)));
            self.bytes.blocking_send(Ok(chunk)).map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }
    }
    impl std::io::Write for ChunkWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(CHUNK_BYTES - self.chunk.len());
            self.chunk.extend_from_slice(&buf[..n]);
            if self.chunk.len() == CHUNK_BYTES {
                self.send()?;
            }
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            if self.chunk.is_empty() { Ok(()) } else { self.send() }
        }
    }
    let mut writer = ChunkWriter { bytes: bytes.clone(), chunk: Vec::with_capacity(CHUNK_BYTES) };
    let sent = context.write_tar(&mut writer).and_then(|sha256| {
        std::io::Write::flush(&mut writer)
            .map(|()| sha256)
            .map_err(|source| DockerError::Context { path: context.dir.clone(), source })
    });
    if sent.is_err() {
        // The engine sees a broken upload, not a short archive.
        let _ = bytes.blocking_send(Err(std::io::Error::other("the build context could not be read")));
    }
    sent
}

/// What one build makes: its tag, Dockerfile and key, and whether its
/// `RUN` steps reach the network.
#[derive(Clone, Copy)]
struct BuildTarget<'a> {
    tag: &'a str,
    dockerfile: &'a str,
    key: &'a [u8; 32],
    network: bool,
}

fn build(
    engine: &DockerEngine,
    target: &BuildTarget<'_>,
    context: BuildContext,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<(), DockerError> {
    let BuildTarget { tag, dockerfile, key, network } = *target;
    let options = bollard::query_parameters::BuildImageOptions {
        dockerfile: dockerfile.to_string(),
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        // Nothing is fetched while building unless the node says so
        // (`docker.build_network`, allowed by `--allow network`).
        networkmode: Some(if network { "default" } else { "none" }.into()),
        labels: Some(HashMap::from([
            (LABEL_CONTEXT.to_string(), hex(&context.sha256)),
            (LABEL_BUILD_KEY.to_string(), hex(key)),
        ])),
        ..Default::default()
    };
    let (dir, expected) = (context.dir.clone(), context.sha256);
    let (chunks_tx, mut chunks) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    let sender = std::thread::spawn(move || send_context(context, chunks_tx));
    let body = bollard::body_try_stream(futures_util::stream::poll_fn(move |cx| chunks.poll_recv(cx)));
    let mut tail = OutputTail::default();
    let stream_build = async {
        let mut stream = engine.docker().build_image(options, None, Some(body));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream.as_deref().or(info.status.as_deref()) {
                        for line in text.lines().filter(|l| !l.trim().is_empty()) {
                            let line = output_tail::shown_line(line.as_bytes(), 0);
                            progress(&line);
                            tail.push(&line);
                        }
                    }
                    if let Some(detail) = info.error_detail {
                        return Some(detail.message.unwrap_or_else(|| "unknown build error".into()));
                    }
                }
                Err(e) => return Some(e.to_string()),
            }
        }
        None
    };
    // Interrupted, the body is dropped and the sender stops at its next chunk.
    let failure = engine.block_on_unless(interrupt, stream_build).map_err(|_| DockerError::Interrupted)?;
    let sent = sender.join().unwrap_or_else(|_| Err(DockerError::ContextChanged { dir: dir.clone() }));
    match (failure, sent) {
        // A context that could not be read is the cause of the engine's failure.
        (_, Err(e)) => Err(e),
        (Some(error), Ok(_)) => Err(DockerError::ImageBuild {
            tag: tag.to_string(),
            output: format!("{}\n{}", tail.text(), output_tail::shown_line(error.as_bytes(), 0)).trim().to_string(),
        }),
        (None, Ok(sha256)) if sha256 != expected => {
            // Its label would name content it was not built from.
            let _ = engine.block_on(engine.docker().remove_image(
                tag,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            ));
            Err(DockerError::ContextChanged { dir })
        }
        (None, Ok(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_without_a_tag_pulls_latest_only() {
        assert_eq!(with_tag("eclipse-mosquitto"), "eclipse-mosquitto:latest");
        assert_eq!(with_tag("127.0.0.1:5000/a/b"), "127.0.0.1:5000/a/b:latest");
        assert_eq!(with_tag("127.0.0.1:5000/a/b:2.0"), "127.0.0.1:5000/a/b:2.0");
        assert_eq!(with_tag("python@sha256:ab"), "python@sha256:ab");
    }

    #[test]
    fn the_key_follows_the_base_images() {
        let context = [1u8; 32];
        let a = build_key(&context, "Dockerfile", &[("debian:12".into(), "sha256:aa".into())]);
        assert_eq!(a, build_key(&context, "Dockerfile", &[("debian:12".into(), "sha256:aa".into())]));
        assert_ne!(a, build_key(&context, "Dockerfile", &[("debian:12".into(), "sha256:bb".into())]));
        assert_ne!(a, build_key(&context, "Dockerfile", &[("debian:13".into(), "sha256:aa".into())]));
        assert_ne!(a, build_key(&context, "Dockerfile", &[]));
        assert_ne!(a, build_key(&context, "other/Dockerfile", &[("debian:12".into(), "sha256:aa".into())]));
    }
}
