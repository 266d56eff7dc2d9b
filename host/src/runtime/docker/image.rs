//! Images without a registry: nothing is ever pulled. A node with
//! `docker.build_context` gets its image built here — first its
//! `build_command` runs on the host (compiling the static binary the image
//! wraps), then the context is packed and, unless an image of exactly that
//! content exists, built through the engine. A node with only
//! `docker.image` must find that image in the local engine.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;

use super::LABEL_CONTEXT;
use super::context::{self, BuildContext};
use super::engine::DockerEngine;
use super::error::{DockerError, last_lines};
use crate::scenario::DockerNode;

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

/// Lines of build output kept for an error message.
const OUTPUT_TAIL_LINES: usize = 20;

/// The tag for a context whose content hashes to `sha256`: the `image`
/// named in the scenario, or `xedgesim/<folder>:<hash prefix>`.
pub fn tag_for(docker: &DockerNode, context_dir: &Path, sha256: &[u8; 32]) -> String {
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
    let hash: String = sha256[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("xedgesim/{}:{hash}", if folder.is_empty() { "context" } else { folder })
}

/// What decides a node's image: nodes with equal recipes share one build.
pub fn recipe(docker: &DockerNode) -> String {
    format!("{:?}|{:?}|{:?}|{:?}", docker.image, docker.build_context, docker.dockerfile, docker.build_command)
}

/// Runs the node's build command, if any, in its build context; its
/// output goes to `progress` line by line as it comes. Set, `interrupt`
/// kills the command.
pub fn run_build_command(
    docker: &DockerNode,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<(), DockerError> {
    let (Some(command), Some(dir)) = (&docker.build_command, &docker.build_context) else { return Ok(()) };
    let failed = |status: String, output: String| DockerError::BuildCommand {
        command: command.clone(),
        dir: dir.clone(),
        status,
        output,
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed("could not start".into(), e.to_string()))?;
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let readers: Vec<_> = [
        child.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>),
        child.stderr.take().map(|e| Box::new(e) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        })
    })
    .collect();
    drop(lines_tx);
    let mut output = String::new();
    let status = loop {
        while let Ok(line) = lines.try_recv() {
            progress(&line);
            output.push_str(&line);
            output.push('\n');
        }
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DockerError::Interrupted);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => return Err(failed("could not be waited for".into(), e.to_string())),
        }
    };
    for reader in readers {
        let _ = reader.join();
    }
    for line in lines.try_iter() {
        progress(&line);
        output.push_str(&line);
        output.push('\n');
    }
    if status.success() { Ok(()) } else { Err(failed(status.to_string(), last_lines(&output, OUTPUT_TAIL_LINES))) }
}

/// Makes sure the node's image exists, building it if it must; `progress`
/// hears each line of build output.
pub fn ensure_image(
    engine: &DockerEngine,
    docker: &DockerNode,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<ImageInfo, DockerError> {
    let Some(dir) = &docker.build_context else {
        let image = docker.image.clone().expect("validation: image or build_context");
        let id = image_id(engine, &image)?.ok_or(DockerError::ImageMissing { image: image.clone() })?;
        return Ok(ImageInfo { reference: image, id: id.0, built: false });
    };
    run_build_command(docker, progress, interrupt)?;
    let dockerfile = docker
        .dockerfile
        .as_ref()
        .and_then(|f| f.strip_prefix(dir).ok())
        .map_or_else(|| "Dockerfile".to_string(), |f| f.to_string_lossy().replace('\\', "/"));
    let context = context::pack(dir, &dockerfile)?;
    let tag = tag_for(docker, dir, &context.sha256);
    let hash: String = context.sha256.iter().map(|b| format!("{b:02x}")).collect();
    if let Some((id, built_from)) = image_id(engine, &tag)?
        && built_from.as_deref() == Some(hash.as_str())
    {
        return Ok(ImageInfo { reference: tag, id, built: false });
    }
    build(engine, &tag, &dockerfile, &hash, context, progress, interrupt)?;
    let (id, _) = image_id(engine, &tag)?.ok_or_else(|| DockerError::ImageBuild {
        tag: tag.clone(),
        output: "the engine reported success but has no such image".into(),
    })?;
    Ok(ImageInfo { reference: tag, id, built: true })
}

/// The image's id and the context hash it was built from, if it exists.
fn image_id(engine: &DockerEngine, reference: &str) -> Result<Option<(String, Option<String>)>, DockerError> {
    match engine.block_on(engine.docker().inspect_image(reference)) {
        Ok(image) => {
            let label = image.config.and_then(|c| c.labels).and_then(|l| l.get(LABEL_CONTEXT).cloned());
            Ok(Some((image.id.unwrap_or_default(), label)))
        }
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
        Err(e) => Err(DockerError::api(format!("to inspect image {reference}"))(e)),
    }
}

fn build(
    engine: &DockerEngine,
    tag: &str,
    dockerfile: &str,
    hash: &str,
    context: BuildContext,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<(), DockerError> {
    let options = bollard::query_parameters::BuildImageOptions {
        dockerfile: dockerfile.to_string(),
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        // Nothing is fetched while building: `FROM scratch` needs no network.
        networkmode: Some("none".into()),
        labels: Some(HashMap::from([(LABEL_CONTEXT.to_string(), hash.to_string())])),
        ..Default::default()
    };
    let body = bollard::body_full(context.tar.into());
    let mut output = String::new();
    let stream_build = async {
        let mut stream = engine.docker().build_image(options, None, Some(body));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream.as_deref().or(info.status.as_deref()) {
                        output.push_str(text);
                        for line in text.lines().filter(|l| !l.trim().is_empty()) {
                            progress(line);
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
    let failure = engine.block_on_unless(interrupt, stream_build).map_err(|_| DockerError::Interrupted)?;
    match failure {
        None => Ok(()),
        Some(error) => Err(DockerError::ImageBuild {
            tag: tag.to_string(),
            output: format!("{}\n{error}", last_lines(&output, OUTPUT_TAIL_LINES)).trim().to_string(),
        }),
    }
}
