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

/// One node's randomness: what it would get in a store of its own. Kept
/// compact (each stream is its seed and how far it has been read, 96 bytes
/// a node where two ChaCha states took 656): a store opens the one stream
/// being drawn from ([`NodeState::draw`]), so ten million packed nodes do
/// not each hold 512 bytes of buffered output they may never read.
#[derive(Debug, Clone)]
pub struct NodeStreams {
    /// `wasi:random/random`.
    random: StreamAt,
    /// `wasi:random/insecure`.
    insecure: StreamAt,
    /// `wasi:random/insecure-seed`.
    pub insecure_seed: (u64, u64),
}

/// A ChaCha20 stream at rest: its seed, and the 32-bit words read from it
/// (2^64 words is more than any run draws).
#[derive(Debug, Clone, Copy)]
struct StreamAt {
    seed: [u8; 32],
    word_pos: u64,
}

impl StreamAt {
    fn new(seed: [u8; 32]) -> Self {
        StreamAt { seed, word_pos: 0 }
    }

    /// The stream's state, where it was left: it goes on exactly as one
    /// generator drawn from throughout would have.
    fn open(&self) -> ChaCha20Rng {
        let mut rng = ChaCha20Rng::from_seed(self.seed);
        rng.set_word_pos(u128::from(self.word_pos));
        rng
    }
}

/// Which of a node's two ChaCha streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Random,
    Insecure,
}

/// The stream a store has open: whose (`None`: the instance's own), which,
/// and its state.
struct OpenStream {
    owner: Option<usize>,
    which: Which,
    rng: ChaCha20Rng,
}

impl NodeStreams {
    /// The streams of node `id` in a run seeded with `scenario_seed`.
    pub fn new(scenario_seed: u64, id: &str) -> Self {
        let seed = derive_seed(scenario_seed, id, Stream::WasiInsecureSeed);
        let seed = u128::from_le_bytes(seed[..16].try_into().expect("32-byte seed"));
        NodeStreams {
            random: StreamAt::new(derive_seed(scenario_seed, id, Stream::WasiRandom)),
            insecure: StreamAt::new(derive_seed(scenario_seed, id, Stream::WasiInsecureRandom)),
            insecure_seed: (seed as u64, (seed >> 64) as u64),
        }
    }

    fn stream(&mut self, which: Which) -> &mut StreamAt {
        match which {
            Which::Random => &mut self.random,
            Which::Insecure => &mut self.insecure,
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
    streams: Vec<NodeStreams>,
    /// What the instance's start functions draw: no node's, so packing
    /// cannot shift a node's stream.
    instance_streams: NodeStreams,
    /// The one stream being drawn from, until another is.
    open: Option<OpenStream>,
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
            open: None,
            running: Running::default(),
        })
    }

    /// Room for `nodes` more nodes, so that adding them does not grow the
    /// per-node vectors a doubling at a time.
    pub fn reserve(&mut self, nodes: usize) {
        self.streams.reserve_exact(nodes);
        self.outboxes.reserve_exact(nodes);
        self.log.reserve(nodes);
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

    /// Runs `f` on stream `which` of the node whose code runs now (the
    /// instance's own outside every node's code).
    pub(super) fn draw<R>(&mut self, which: Which, f: impl FnOnce(&mut ChaCha20Rng) -> R) -> R {
        let owner = self.running.owner();
        if !self.open.as_ref().is_some_and(|o| o.owner == owner && o.which == which) {
            self.close_stream();
            let rng = self.streams_of(owner).stream(which).open();
            self.open = Some(OpenStream { owner, which, rng });
        }
        f(&mut self.open.as_mut().expect("opened above").rng)
    }

    /// `wasi:random/insecure-seed` of the node whose code runs now.
    pub(super) fn insecure_seed(&self) -> (u64, u64) {
        match self.running.owner() {
            Some(owner) => self.streams[owner].insecure_seed,
            None => self.instance_streams.insecure_seed,
        }
    }

    /// Gives node `index` new streams (a restart's).
    pub(super) fn reset_streams(&mut self, index: usize, streams: NodeStreams) {
        if self.open.as_ref().is_some_and(|o| o.owner == Some(index)) {
            // What was drawn from the old streams is forgotten with them.
            self.open = None;
        }
        self.streams[index] = streams;
    }

    /// Puts the open stream back at rest, at the word it was read to.
    fn close_stream(&mut self) {
        if let Some(open) = self.open.take() {
            let word_pos = u64::try_from(open.rng.get_word_pos()).unwrap_or(u64::MAX);
            self.streams_of(open.owner).stream(open.which).word_pos = word_pos;
        }
    }

    fn streams_of(&mut self, owner: Option<usize>) -> &mut NodeStreams {
        match owner {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_at_rest_go_on_as_one_generator_would() {
        let mut state = NodeState::new(7, 1 << 20);
        state.add_node(7, "a", 1_000);
        state.add_node(7, "b", 1_000);
        let mut a = ChaCha20Rng::from_seed(derive_seed(7, "a", Stream::WasiRandom));
        let mut a_insecure = ChaCha20Rng::from_seed(derive_seed(7, "a", Stream::WasiInsecureRandom));
        let mut b = ChaCha20Rng::from_seed(derive_seed(7, "b", Stream::WasiRandom));
        // Odd counts of words, so streams are left mid-block and mid-buffer.
        for round in 0..40 {
            state.running.begin([(0, 1), (1, 1)]);
            let n = 1 + round % 7;
            assert_eq!(state.draw(Which::Random, |r| NodeStreams::bytes(r, n)), NodeStreams::bytes(&mut a, n));
            assert_eq!(state.draw(Which::Insecure, |r| r.next_u64()), a_insecure.next_u64());
            assert_eq!(state.draw(Which::Random, |r| r.next_u32()), a.next_u32());
            state.running.end(0);
            state.running.begin([(1, 1)]);
            assert_eq!(
                state.draw(Which::Random, |r| NodeStreams::bytes(r, 2 * n + 1)),
                NodeStreams::bytes(&mut b, 2 * n + 1)
            );
            state.running.end(0);
        }
    }
}
