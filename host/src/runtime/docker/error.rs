//! [`DockerError`]: the engine, an image or a container could not be had.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "no Docker engine answers at {endpoint}: {detail}\n  = help: start one (`sudo dockerd &`, or `sudo systemctl start docker`) or point DOCKER_HOST at one; for an `engines:` entry, check its endpoint, its TLS files or your ssh access to it (docs/running.md, \"Remote Docker engines\")"
    )]
    Unreachable { endpoint: String, detail: String },
    #[error("build command `{command}` failed ({status}) in {}:\n{output}", dir.display())]
    BuildCommand { command: String, dir: PathBuf, status: String, output: String },
    #[error(
        "build command `{command}` did not finish within {timeout_s} s in {}; it was stopped with everything it started:\n{output}\n  = help: find out why it hangs, or give it longer with `docker.build_timeout_s` (at most {max_s})",
        dir.display(),
        max_s = crate::scenario::MAX_BUILD_TIMEOUT_S
    )]
    BuildCommandTimeout { command: String, dir: PathBuf, timeout_s: u64, output: String },
    #[error("cannot read the build context {}: {source}", path.display())]
    Context { path: PathBuf, source: std::io::Error },
    #[error(
        "the build context {} holds {} MiB of files, more than the {} MiB a context may send (the largest: '{largest}', {} MiB)\n  = help: list what the image does not need in {}/.dockerignore (e.g. `target`), or build from a smaller folder",
        dir.display(),
        bytes >> 20,
        limit >> 20,
        largest_bytes >> 20,
        dir.display()
    )]
    ContextTooLarge { dir: PathBuf, bytes: u64, limit: u64, largest: String, largest_bytes: u64 },
    #[error("the build context {} changed while it was sent to the engine\n  = help: build again once nothing writes to it", dir.display())]
    ContextChanged { dir: PathBuf },
    #[error("cannot read the Dockerfile {}: {detail}", path.display())]
    Dockerfile { path: PathBuf, detail: String },
    #[error(
        "base image '{image}' ({}, line {line}) is not in the local engine and could not be pulled: {detail}\n  = help: load it into the engine first (`docker pull {image}` where a registry answers, or `docker load` / `docker import`), or change that line",
        dockerfile.display()
    )]
    BaseImageMissing { image: String, dockerfile: PathBuf, line: usize, detail: String },
    #[error(
        "image '{image}' is in the local engine and was not built by xedgesim: building would take its name\n  = help: give `docker.image` a name no other image has (or leave it out: the image is then named xedgesim/<folder>:<hash>), or remove that image (`docker rmi {image}`)"
    )]
    ForeignImage { image: String },
    #[error("building image {tag} failed:\n{output}")]
    ImageBuild { tag: String, output: String },
    #[error(
        "image '{image}' is not in the local engine, and --offline forbids pulling it\n  = help: put it in the engine first (`docker pull {image}`, `docker load` or `docker import`), or run without --offline"
    )]
    ImageMissing { image: String },
    #[error(
        "image '{image}' is not in the local engine and could not be pulled: {detail}\n  = help: when no registry is reachable, put it in the engine first (`docker load` or `docker import`, or build it: `docker build -t {image} DIR`), or give `docker.build_context`; --offline refuses every pull"
    )]
    ImagePull { image: String, detail: String },
    #[error("interrupted while building an image")]
    Interrupted,
    #[error("the Docker engine refused {what}: {detail}")]
    Api { what: String, detail: String },
}

impl DockerError {
    pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerError {
        let what = what.into();
        move |e| DockerError::Api { what, detail: super::engine::error_chain(&e) }
    }
}
