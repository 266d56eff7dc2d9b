//! [`DockerEngine`]: one connection to a Docker engine and the tokio
//! runtime every Docker call runs on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bollard::Docker;

use super::error::DockerError;
use crate::runtime::Interrupted;

/// Where the engine listens when `DOCKER_HOST` is not set.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";
/// How long to wait for the engine to answer its first request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a wait looks at the interrupt flag.
const INTERRUPT_POLL: Duration = Duration::from_millis(20);
/// Seconds bollard waits for any one request (an image build can be long).
const REQUEST_TIMEOUT_S: u64 = 600;

/// A connected engine. Cheap to clone; the runtime's two worker threads
/// read containers' output while the engine steps WASM nodes (two measured
/// faster than one for 16 containers due at once; see docs/benchmarks.md).
#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    runtime: Arc<tokio::runtime::Runtime>,
    endpoint: String,
}

impl std::fmt::Debug for DockerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerEngine").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl DockerEngine {
    /// Connects to `endpoint` (`unix://…`, `tcp://…`; `None`: the local
    /// socket) and negotiates the API version, so older engines work.
    pub fn connect(endpoint: Option<&str>) -> Result<Self, DockerError> {
        let endpoint = endpoint.unwrap_or(DEFAULT_ENDPOINT).to_string();
        let unreachable = |detail: String| DockerError::Unreachable { endpoint: endpoint.clone(), detail };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xedgesim-docker")
            .enable_all()
            .build()
            .map_err(|e| unreachable(format!("cannot start the I/O runtime: {e}")))?;
        let docker = match endpoint.strip_prefix("unix://") {
            Some(path) => Docker::connect_with_unix(path, REQUEST_TIMEOUT_S, bollard::API_DEFAULT_VERSION),
            None if endpoint.starts_with('/') => {
                Docker::connect_with_unix(&endpoint, REQUEST_TIMEOUT_S, bollard::API_DEFAULT_VERSION)
            }
            None => Docker::connect_with_http(&endpoint, REQUEST_TIMEOUT_S, bollard::API_DEFAULT_VERSION),
        }
        .map_err(|e| unreachable(e.to_string()))?;
        let docker = runtime
            .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await })
            .map_err(|_| unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(DockerEngine { docker, runtime: Arc::new(runtime), endpoint })
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs `future` to completion on the engine's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Runs `future` on the engine's runtime unless `interrupt` is set
    /// first (looked at every 20 ms): Ctrl-C and SIGTERM are noticed while
    /// waiting on containers or builds, not only between instants.
    pub fn block_on_unless<F: Future>(
        &self,
        interrupt: Option<&AtomicBool>,
        future: F,
    ) -> Result<F::Output, Interrupted> {
        self.runtime.block_on(async {
            let watch = async {
                loop {
                    tokio::time::sleep(INTERRUPT_POLL).await;
                    if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                        return;
                    }
                }
            };
            tokio::select! {
                out = future => Ok(out),
                () = watch => Err(Interrupted),
            }
        })
    }

    /// Runs `future` in the background; the handle ends it.
    pub(crate) fn spawn<F>(&self, future: F) -> tokio::task::AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(future).abort_handle()
    }

    /// Runs `futures` together on the engine's runtime until they are done
    /// or `grace` has passed since `interrupt` was seen set (looked at as in
    /// [`block_on_unless`](Self::block_on_unless)): the output of each, in
    /// order, `None` for those it cut short, and whether it did.
    pub fn block_on_each_unless<F: Future>(
        &self,
        interrupt: Option<&AtomicBool>,
        grace: Duration,
        futures: Vec<F>,
    ) -> (Vec<Option<F::Output>>, bool) {
        use futures_util::StreamExt;
        let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
        let mut pending: futures_util::stream::FuturesUnordered<_> =
            futures.into_iter().enumerate().map(|(i, f)| async move { (i, f.await) }).collect();
        let interrupted = self.runtime.block_on(async {
            let mut poll = tokio::time::interval(INTERRUPT_POLL);
            let mut cut_at = None;
            loop {
                tokio::select! {
                    next = pending.next() => match next {
                        Some((i, out)) => outputs[i] = Some(out),
                        None => return false,
                    },
                    now = poll.tick() => {
                        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                            let cut_at = *cut_at.get_or_insert(now + grace);
                            if now >= cut_at {
                                return true;
                            }
                        }
                    }
                }
            }
        });
        (outputs, interrupted)
    }

    /// The API version in use, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }
}
