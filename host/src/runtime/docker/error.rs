//! [`DockerError`]: the engine, an image or a container could not be had.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "no Docker engine answers at {endpoint}: {detail}\n  = help: start one (`sudo dockerd &`, or `sudo systemctl start docker`) or point DOCKER_HOST at one"
    )]
    Unreachable { endpoint: String, detail: String },
    #[error("build command `{command}` failed ({status}) in {}:\n{output}", dir.display())]
    BuildCommand { command: String, dir: PathBuf, status: String, output: String },
    #[error("cannot read the build context {}: {source}", path.display())]
    Context { path: PathBuf, source: std::io::Error },
    #[error("building image {tag} failed:\n{output}")]
    ImageBuild { tag: String, output: String },
    #[error(
        "image '{image}' is not in the local engine\n  = help: no registry is reachable, so nothing is pulled: build it (`docker build -t {image} DIR`) or give `docker.build_context`"
    )]
    ImageMissing { image: String },
    #[error("interrupted while building an image")]
    Interrupted,
    #[error("the Docker engine refused {what}: {detail}")]
    Api { what: String, detail: String },
}

impl DockerError {
    pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerError {
        let what = what.into();
        move |e| DockerError::Api { what, detail: e.to_string() }
    }
}

/// The last `n` lines of `text`, for error messages.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
