//! [`DockerError`]: the engine, an image or a container could not be had.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// No help in the text: who prints it adds the one that fits the
    /// engine ([`crate::runtime::engine_unreachable_help`]).
    #[error("no Docker engine answers at {endpoint}: {detail}")]
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
        "image '{image}' is not in {}, and --offline forbids pulling it\n  = help: put it in that engine first (`{docker}pull {image}`, or `docker save {image} | {docker}load`{}), or run without --offline",
        engine_phrase(endpoint),
        tls_note(endpoint),
        docker = docker_command(endpoint)
    )]
    ImageMissing { image: String, endpoint: String },
    #[error(
        "image '{image}' is not in the local engine and could not be pulled: {detail}\n  = help: when no registry is reachable, put it in the engine first (`docker load` or `docker import`, or build it: `docker build -t {image} DIR`), or give `docker.build_context`; --offline refuses every pull"
    )]
    ImagePull { image: String, detail: String },
    #[error("interrupted while building an image")]
    Interrupted,
    #[error("the Docker engine refused {what}: {detail}")]
    Api { what: String, detail: String },
}

/// "the local engine", or the engine at `endpoint` when it is another.
fn engine_phrase(endpoint: &str) -> String {
    if endpoint == super::engine::DEFAULT_ENDPOINT {
        "the local engine".into()
    } else {
        format!("the engine at {endpoint}")
    }
}

/// `docker ` aimed at the engine at `endpoint` (`DOCKER_HOST=… docker `).
fn docker_command(endpoint: &str) -> String {
    if endpoint == super::engine::DEFAULT_ENDPOINT {
        "docker ".into()
    } else {
        format!("DOCKER_HOST={endpoint} docker ")
    }
}

/// For a TCP engine: the CLI needs the entry's TLS files too.
fn tls_note(endpoint: &str) -> &'static str {
    if endpoint.starts_with("tcp://") {
        "; over TLS add `--tlsverify --tlscacert CA --tlscert CERT --tlskey KEY` after `docker`, with the entry's files"
    } else {
        ""
    }
}

impl DockerError {
    pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerError {
        let what = what.into();
        move |e| DockerError::Api { what, detail: super::engine::error_chain(&e) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{FaultKind, NodeFault, named_endpoint};

    #[test]
    fn an_unreachable_engine_has_one_help_line_and_a_named_one_is_fixed_there() {
        let error =
            DockerError::Unreachable { endpoint: "tcp://10.0.0.7:2376".into(), detail: "Connection refused".into() };
        let fault = |endpoint: String| NodeFault {
            node: "gw".into(),
            time_us: 0,
            kind: FaultKind::EngineUnreachable { endpoint },
            detail: error.to_string(),
        };
        let named = fault(named_endpoint("edge", "tcp://10.0.0.7:2376")).to_string();
        assert_eq!(named.matches("help:").count(), 1, "{named}");
        assert!(!named.contains("\\n") && named.lines().count() == 2, "{named}");
        assert!(
            named.contains("check engine 'edge'") && named.contains("DOCKER_HOST=tcp://10.0.0.7:2376 docker version")
        );
        assert!(named.contains("--tlscacert") && !named.contains("sudo dockerd"), "{named}");
        let default = fault("unix:///var/run/docker.sock".into()).to_string();
        assert!(default.contains("sudo dockerd") && default.matches("help:").count() == 1, "{default}");
    }

    #[test]
    fn an_image_missing_on_another_engine_names_it_and_the_command_for_it() {
        let remote = DockerError::ImageMissing { image: "x:1".into(), endpoint: "tcp://10.0.0.7:2376".into() };
        let text = remote.to_string();
        assert!(text.contains("not in the engine at tcp://10.0.0.7:2376") && !text.contains("local engine"), "{text}");
        assert!(text.contains("`DOCKER_HOST=tcp://10.0.0.7:2376 docker pull x:1`"), "{text}");
        assert!(text.contains("docker save x:1 | DOCKER_HOST=tcp://10.0.0.7:2376 docker load"), "{text}");
        let local = DockerError::ImageMissing { image: "x:1".into(), endpoint: DEFAULT_ENDPOINT_FOR_TESTS.into() };
        assert!(
            local.to_string().contains("not in the local engine") && local.to_string().contains("`docker pull x:1`")
        );
    }

    const DEFAULT_ENDPOINT_FOR_TESTS: &str = super::super::engine::DEFAULT_ENDPOINT;
}
