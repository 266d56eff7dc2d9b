//! [`DockerEngine`]: one connection to a Docker engine and the tokio
//! runtime every Docker call runs on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bollard::Docker;

use super::endpoint::SshForward;
use super::error::DockerError;
use crate::runtime::Interrupted;
use crate::scenario::EngineEndpoint;

/// Where the engine listens when `DOCKER_HOST` is not set (and, over
/// ssh, on the engine's machine).
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";
/// How long to wait for the engine to answer its first request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a short request before containers start (the round-trip
/// pings, an image inspect) may go unanswered by an engine that answered
/// the version request: then it is unreachable, not slow (builds and pulls
/// have their own, longer limits).
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a wait looks at the interrupt flag.
const INTERRUPT_POLL: Duration = Duration::from_millis(20);
/// Seconds bollard waits for any one request (an image build can be long).
const REQUEST_TIMEOUT_S: u64 = 600;
/// `/_ping`s timed to measure an engine's round trip.
const PINGS: usize = 5;

/// The median of [`PINGS`] `/_ping` round trips to `docker`, in µs (at
/// least 1); `None` when a ping fails (not measured, never 0).
async fn round_trip_us(docker: &Docker) -> Option<u64> {
    let mut times = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let started = std::time::Instant::now();
        docker.ping().await.ok()?;
        times.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
    }
    times.sort_unstable();
    Some(times[PINGS / 2])
}

/// Returns once `interrupt` is set (looked at every [`INTERRUPT_POLL`]); never without one.
async fn interrupted(interrupt: Option<&AtomicBool>) {
    loop {
        tokio::time::sleep(INTERRUPT_POLL).await;
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return;
        }
    }
}

/// `future` within `limit` (`Err` past it), or `None` once `interrupt` is set.
async fn within_unless<F: Future>(
    limit: Duration,
    interrupt: Option<&AtomicBool>,
    future: F,
) -> Option<Result<F::Output, tokio::time::error::Elapsed>> {
    tokio::select! {
        out = tokio::time::timeout(limit, future) => Some(out),
        () = interrupted(interrupt) => None,
    }
}

/// `error` and each of its sources, `: `-separated (rustls' reason for a
/// refused handshake is several sources deep, under hyper's "client error").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// A connected engine. Cheap to clone; the runtime's two worker threads
/// read containers' output while the engine steps WASM nodes (two measured
/// faster than one for 16 containers due at once; see docs/benchmarks.md).
#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    runtime: Arc<tokio::runtime::Runtime>,
    endpoint: String,
    round_trip_us: Option<u64>,
    /// The ssh forwarder an `ssh://` engine goes through; stopped with the last clone.
    _forward: Option<Arc<SshForward>>,
}

impl std::fmt::Debug for DockerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerEngine").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl DockerEngine {
    /// Connects to the default engine: `endpoint` as `DOCKER_HOST` writes
    /// it (`unix://…`, `tcp://…` without TLS, `ssh://…`; `None`: the local
    /// socket), as [`connect_to`](Self::connect_to) does.
    pub fn connect(endpoint: Option<&str>) -> Result<Self, DockerError> {
        Self::connect_unless(endpoint, None)
    }

    /// [`connect`](Self::connect), given up ([`DockerError::Interrupted`])
    /// as soon as `interrupt` is set.
    pub fn connect_unless(endpoint: Option<&str>, interrupt: Option<&AtomicBool>) -> Result<Self, DockerError> {
        let text = endpoint.unwrap_or(DEFAULT_ENDPOINT);
        let endpoint = EngineEndpoint::parse(text)
            .map_err(|detail| DockerError::Unreachable { endpoint: text.to_string(), detail })?;
        Self::connect_to_unless(&endpoint, interrupt)
    }

    /// Connects to `endpoint`, negotiates the API version (so older
    /// engines work), and measures its round trip ([`round_trip_us`](Self::round_trip_us)).
    pub fn connect_to(endpoint: &EngineEndpoint) -> Result<Self, DockerError> {
        Self::connect_to_unless(endpoint, None)
    }

    /// [`connect_to`](Self::connect_to), given up ([`DockerError::Interrupted`])
    /// as soon as `interrupt` is set: while ssh logs in, while the version
    /// is negotiated and while the engine is pinged. An engine that answers
    /// the version but not the pings within [`METADATA_TIMEOUT`] is unreachable.
    pub fn connect_to_unless(endpoint: &EngineEndpoint, interrupt: Option<&AtomicBool>) -> Result<Self, DockerError> {
        let url = endpoint.url();
        let unreachable = |detail: String| DockerError::Unreachable { endpoint: url.clone(), detail };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xedgesim-docker")
            .enable_all()
            .build()
            .map_err(|e| unreachable(format!("cannot start the I/O runtime: {e}")))?;
        let (docker, forward) = {
            // bollard's hyper clients need the runtime to be made.
            let _entered = runtime.enter();
            super::endpoint::client(endpoint, REQUEST_TIMEOUT_S, interrupt).map_err(|e| match e {
                None => DockerError::Interrupted,
                Some(detail) => unreachable(detail),
            })?
        };
        let negotiated = runtime.block_on(within_unless(CONNECT_TIMEOUT, interrupt, docker.negotiate_version()));
        let docker = negotiated
            .ok_or(DockerError::Interrupted)?
            .map_err(|_| unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(error_chain(&e)))?;
        let pinged = runtime.block_on(within_unless(METADATA_TIMEOUT, interrupt, round_trip_us(&docker)));
        let round_trip_us = pinged.ok_or(DockerError::Interrupted)?.map_err(|_| {
            unreachable(format!(
                "it answered the version request, then no `GET /_ping` within {} s",
                METADATA_TIMEOUT.as_secs()
            ))
        })?;
        Ok(DockerEngine {
            docker,
            runtime: Arc::new(runtime),
            endpoint: url,
            round_trip_us,
            _forward: forward.map(Arc::new),
        })
    }

    /// The median of [`PINGS`] `/_ping` round trips made right after
    /// connecting, in µs (wall clock: the engine's distance, not the run's).
    pub fn round_trip_us(&self) -> Option<u64> {
        self.round_trip_us
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
            tokio::select! {
                out = future => Ok(out),
                () = interrupted(interrupt) => Err(Interrupted),
            }
        })
    }

    /// Runs `future`, a short request before containers start (`what`,
    /// e.g. "`GET /images/x/json`"), for at most [`METADATA_TIMEOUT`]:
    /// past it the engine is [`DockerError::Unreachable`], and
    /// [`DockerError::Interrupted`] once `interrupt` is set.
    pub fn block_on_metadata<F: Future>(
        &self,
        interrupt: Option<&AtomicBool>,
        what: &str,
        future: F,
    ) -> Result<F::Output, DockerError> {
        let out = self.runtime.block_on(within_unless(METADATA_TIMEOUT, interrupt, future));
        out.ok_or(DockerError::Interrupted)?.map_err(|_| DockerError::Unreachable {
            endpoint: self.endpoint.clone(),
            detail: format!("it answered before, then not {what} within {} s", METADATA_TIMEOUT.as_secs()),
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
