//! [`NodeState`]: what a `Store` holds for its guest — the WASI context
//! (virtual clock, no files but its `wasm.files` read-only at `/data`, no
//! network, no environment), the resource
//! limits, the log sink, each node's random streams, and which node runs.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::clock::VirtualClock;
use super::limiter::StoreLimiter;
use super::log_sink::LogSink;
use super::running::Running;
use crate::runtime::LogStream;
use crate::runtime::Outgoing;
use crate::seed::{Stream, derive_seed};

/// One node's randomness: what it would get in a store of its own.
pub struct NodeStreams {
    /// `wasi:random/random`.
    pub random: ChaCha20Rng,
    /// `wasi:random/insecure`.
    pub insecure: ChaCha20Rng,
    /// `wasi:random/insecure-seed`.
    pub insecure_seed: (u64, u64),
}

impl NodeStreams {
    /// The streams of node `id` in a run seeded with `scenario_seed`.
    pub fn new(scenario_seed: u64, id: &str) -> Self {
        let seed = derive_seed(scenario_seed, id, Stream::WasiInsecureSeed);
        let seed = u128::from_le_bytes(seed[..16].try_into().expect("32-byte seed"));
        NodeStreams {
            random: ChaCha20Rng::from_seed(derive_seed(scenario_seed, id, Stream::WasiRandom)),
            insecure: ChaCha20Rng::from_seed(derive_seed(scenario_seed, id, Stream::WasiInsecureRandom)),
            insecure_seed: (seed as u64, (seed >> 64) as u64),
        }
    }

    /// `len` bytes of `rng`, one 32-bit draw per byte (as WASI's own
    /// implementation does, so numbers are those of earlier versions).
    pub fn bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
        (0..len).map(|_| rng.next_u32() as u8).collect()
    }
}

/// The data of one `Store`: one sandbox, holding one or more nodes.
pub struct NodeState {
    wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limits: StoreLimiter,
    pub(super) clock: VirtualClock,
    pub(super) log: LogSink,
    /// By node index in the group.
    pub(super) streams: Vec<NodeStreams>,
    /// What the instance's start functions draw: no node's, so packing
    /// cannot shift a node's stream.
    instance_streams: NodeStreams,
    pub(super) running: Running,
    /// What each node sent in the current step, by node index.
    pub(super) outboxes: Vec<Outbox>,
    /// Whether the current guest call is a step (the only calls that send).
    pub(super) stepping: bool,
    /// `max_outbox_messages` and `max_outbox_bytes` of this store's nodes.
    pub(super) outbox_limits: (u64, u64),
}

/// One node's messages of the current step, counted against its limits as
/// they come.
#[derive(Debug, Default)]
pub struct Outbox {
    pub messages: Vec<Outgoing>,
    /// Payload, topic and destination id bytes.
    pub bytes: u64,
}

/// A step sent more messages or bytes than its limits allow; refused at
/// the first message past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("xedgesim: outbox limit: {count} {what}, limit {limit}")]
pub struct OutboxOverflow {
    pub what: &'static str,
    pub count: u64,
    pub limit: u64,
}

impl NodeState {
    /// A sandbox with no nodes yet (see [`NodeState::add_node`]) in a run
    /// seeded with `scenario_seed`.
    pub fn new(scenario_seed: u64, memory_limit_bytes: usize) -> Self {
        Self::with_data(scenario_seed, memory_limit_bytes, None)
            .expect("a context without a preopened directory opens nothing")
    }

    /// As [`NodeState::new`], with `data` (a folder of the host, see
    /// `data_files.rs`) preopened read-only as `/data`.
    pub fn with_data(
        scenario_seed: u64,
        memory_limit_bytes: usize,
        data: Option<&std::path::Path>,
    ) -> wasmtime::Result<Self> {
        let clock = VirtualClock::default();
        let log = LogSink::default();
        // Randomness is served per node by `imports.rs`, which shadows WASI's;
        // these fixed streams are never read (a test checks each node's draws).
        let unused = || ChaCha20Rng::from_seed([0; 32]);
        let mut builder = WasiCtxBuilder::new();
        builder
            .wall_clock(clock.clone())
            .monotonic_clock(clock.clone())
            .secure_random(unused())
            .insecure_random(unused())
            .insecure_random_seed(0)
            .stdout(log.stream(LogStream::Stdout))
            .stderr(log.stream(LogStream::Stderr))
            // Sockets are linked (CPython's C library imports them) but every
            // use is refused: no TCP, no UDP, no name lookup, and no address
            // passes the default check. No preopened directories, no
            // environment, no arguments.
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            // File reads on the calling thread: no helper thread, nothing async.
            .allow_blocking_current_thread(true);
        if let Some(dir) = data {
            // Neither the folder nor its files may be changed: no write,
            // create, rename or remove reaches the host.
            builder.preopened_dir(dir, crate::scenario::DATA_DIR, FsPerms::ReadOnly)?;
        }
        let wasi = builder.build();
        let limits = StoreLimiter::new(memory_limit_bytes);
        Ok(NodeState {
            wasi,
            table: ResourceTable::new(),
            limits,
            clock,
            log,
            streams: Vec::new(),
            outboxes: Vec::new(),
            stepping: false,
            outbox_limits: (u64::MAX, u64::MAX),
            // Node ids are never empty.
            instance_streams: NodeStreams::new(scenario_seed, ""),
            running: Running::default(),
        })
    }

    /// Adds node `id`: its random streams and its log budget.
    pub fn add_node(&mut self, scenario_seed: u64, id: &str, max_log_bytes: u64) {
        self.streams.push(NodeStreams::new(scenario_seed, id));
        self.outboxes.push(Outbox::default());
        self.log.add_node(max_log_bytes);
    }

    /// Forgets what every node sent in the current step (a faulted call's
    /// messages are not sent).
    pub(super) fn clear_outboxes(&mut self) {
        for outbox in &mut self.outboxes {
            *outbox = Outbox::default();
        }
    }

    /// What bounds the store's memories and tables, for `Store::limiter`.
    pub fn limiter(&mut self) -> &mut dyn wasmtime::ResourceLimiter {
        &mut self.limits
    }

    /// The random streams of the node whose code runs now.
    pub(super) fn owner_streams(&mut self) -> &mut NodeStreams {
        match self.running.owner() {
            Some(owner) => &mut self.streams[owner],
            None => &mut self.instance_streams,
        }
    }
}

impl WasiView for NodeState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
