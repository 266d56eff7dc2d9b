//! The host functions a model's imports resolve to, beyond WASI's own:
//! `xedgesim:node/log`, `xedgesim:node/sandbox`, WASI randomness served per
//! node, WASI timers that trap, and WASI's clocks, output streams and
//! reads (input streams, a file's `read`: the node's `wasm.files`)
//! charged per call and per byte.
//!
//! These take the whole store, not just its data, because each charges
//! fuel for the host work it does — a guest must not get host work for
//! free (a loop of 1 MiB random requests would otherwise run for an hour
//! on one step's budget) — and `enter`/`leave` switch the fuel account.

use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{StoreContextMut, Trap};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::clocks::wall_clock::Datetime;
use wasmtime_wasi::p2::bindings::sync::filesystem::types::{
    Descriptor, ErrorCode, Host as FilesystemHost, HostDescriptor,
};
use wasmtime_wasi::p2::bindings::sync::io::streams::{
    Host as StreamsHost, HostInputStream, HostOutputStream, StreamError as WitStreamError,
};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, StreamResult};

use super::bindings::xedgesim::node::{log, types};
use super::component::CONTRACT_VERSION;
use super::log_sink::{LINE_COST, LOG_LIMIT_TRAP};
use super::runtime::RealTimeWait;
use super::state::OutboxOverflow;
use super::state::{NodeState, NodeStreams, Which};
use crate::runtime::LogLevel;
use crate::runtime::{Address, Outgoing};

/// WASI interfaces shadowed here; the linker matches any 0.2.x import of them.
const WASI_VERSION: &str = "0.2.12";

/// Fuel a host call costs per byte it produces or copies, and at least:
/// about what the guest would spend doing the same work itself. A call
/// that does next to nothing (a clock read, an empty write) still crosses
/// into the host and back: measured with the `clock_loop` and
/// `stdout_empty` hostile modes, a clock read took about 1.2 µs and an
/// empty stdout write 4 µs (debug build of the host, loaded 2-core
/// machine), where guest code ran at 0.37 ns a unit of fuel; at 100 fuel
/// a call, a loop of them ran 15 and 67 times longer than a guest loop
/// on the same fuel.
pub const HOST_FUEL_PER_BYTE: u64 = 4;
pub const HOST_CALL_FUEL: u64 = 1_000;

/// Most random bytes one call may ask for.
pub const MAX_RANDOM_BYTES_PER_CALL: u64 = 1 << 20;

pub use crate::runtime::MAX_TOPIC_BYTES;

/// A host call the host refused to serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("xedgesim: {0}")]
pub struct HostCallRefused(pub String);

type Store<'a> = StoreContextMut<'a, NodeState>;

/// Takes `bytes` worth of host work from the store's fuel.
fn charge(store: &mut Store<'_>, bytes: u64) -> wasmtime::Result<()> {
    take_fuel(store, HOST_CALL_FUEL.saturating_add(bytes.saturating_mul(HOST_FUEL_PER_BYTE)))
}

/// Takes the fuel of a host call that only copies `bytes` (a message sent).
fn charge_copy(store: &mut Store<'_>, bytes: u64) -> wasmtime::Result<()> {
    take_fuel(store, HOST_CALL_FUEL.saturating_add(bytes))
}

fn take_fuel(store: &mut Store<'_>, cost: u64) -> wasmtime::Result<()> {
    let left = store.get_fuel()?;
    if cost > left {
        store.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }
    store.set_fuel(left - cost)
}

/// Defines every import a model may have beyond WASI's own, and shadows
/// WASI's randomness and timers.
pub fn add_to_linker(linker: &mut Linker<NodeState>) -> wasmtime::Result<()> {
    types::add_to_linker::<NodeState, HasSelf<NodeState>>(linker, |state| state)?;

    let mut log_interface = linker.instance(&format!("xedgesim:node/log@{CONTRACT_VERSION}"))?;
    log_interface.func_wrap("log", |mut store: Store<'_>, (level, message): (log::Level, String)| {
        charge(&mut store, message.len() as u64 + LINE_COST as u64)?;
        let level = match level {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        if store.data().log.log(level, &message) { Ok(()) } else { Err(wasmtime::format_err!("{LOG_LIMIT_TRAP}")) }
    })?;

    let mut outbox = linker.instance(&format!("xedgesim:node/outbox@{CONTRACT_VERSION}"))?;
    outbox.func_wrap("send", |mut store: Store<'_>, (message,): (types::Outgoing,)| {
        let destination = match message.destination {
            types::Address::Node(id) => Address::Node(id),
            types::Address::Publish => Address::Publish,
        };
        let to = match &destination {
            Address::Node(id) => id.len(),
            Address::Publish => 0,
        };
        let bytes = (message.payload.len() + message.topic.len() + to) as u64;
        let state = store.data_mut();
        if !state.stepping {
            return Err(
                HostCallRefused("`outbox.send` outside a step: only `step` and `step-batch` send".into()).into()
            );
        }
        if message.topic.len() > MAX_TOPIC_BYTES {
            return Err(HostCallRefused(format!(
                "the model sent a message with a topic of {} bytes; a topic may have at most {MAX_TOPIC_BYTES} (MQTT's bound)",
                message.topic.len()
            ))
            .into());
        }
        // The limits first: a message they refuse costs no fuel, so the
        // fault says what the model did (too much), not what it cost.
        let (max_messages, max_bytes) = state.outbox_limits;
        let owner = state.running.owner().expect("a step has a node");
        let outbox = &state.outboxes[owner];
        let count = outbox.messages.len() as u64 + 1;
        if count > max_messages {
            return Err(OutboxOverflow { what: "messages", count, limit: max_messages }.into());
        }
        if outbox.bytes + bytes > max_bytes {
            return Err(OutboxOverflow { what: "bytes", count: outbox.bytes + bytes, limit: max_bytes }.into());
        }
        charge_copy(&mut store, bytes)?;
        let outbox = &mut store.data_mut().outboxes[owner];
        outbox.bytes += bytes;
        outbox.messages.push(Outgoing { destination, topic: message.topic, payload: message.payload });
        Ok(())
    })?;

    let mut sandbox = linker.instance(&format!("xedgesim:node/sandbox@{CONTRACT_VERSION}"))?;
    sandbox.func_wrap("enter", |mut store: Store<'_>, (call,): (u32,)| {
        let left = store.get_fuel()?;
        let budget = store.data_mut().running.enter(call, left)?;
        store.set_fuel(budget)?;
        let state = store.data();
        let owner = state.running.owner().expect("entered");
        state.log.enter(owner, state.clock.now_us());
        Ok(())
    })?;
    sandbox.func_wrap("leave", |mut store: Store<'_>, (): ()| {
        let left = store.get_fuel()?;
        let outside = store.data_mut().running.leave(left)?;
        store.set_fuel(outside)?;
        let state = store.data();
        state.log.enter(state.running.owner().unwrap_or(0), state.clock.now_us());
        Ok(())
    })?;

    linker.allow_shadowing(true);
    let random_bytes = |which: Which| {
        move |mut store: Store<'_>, (len,): (u64,)| {
            if len > MAX_RANDOM_BYTES_PER_CALL {
                return Err(HostCallRefused(format!(
                    "the model asked for {len} random bytes in one call; at most {MAX_RANDOM_BYTES_PER_CALL} per call"
                ))
                .into());
            }
            charge(&mut store, len)?;
            Ok((store.data_mut().draw(which, |rng| NodeStreams::bytes(rng, len as usize)),))
        }
    };
    let random_u64 = |which: Which| {
        move |mut store: Store<'_>, (): ()| {
            charge(&mut store, 8)?;
            Ok((store.data_mut().draw(which, rand_core::Rng::next_u64),))
        }
    };
    let mut random = linker.instance(&format!("wasi:random/random@{WASI_VERSION}"))?;
    random.func_wrap("get-random-bytes", random_bytes(Which::Random))?;
    random.func_wrap("get-random-u64", random_u64(Which::Random))?;
    let mut insecure = linker.instance(&format!("wasi:random/insecure@{WASI_VERSION}"))?;
    insecure.func_wrap("get-insecure-random-bytes", random_bytes(Which::Insecure))?;
    insecure.func_wrap("get-insecure-random-u64", random_u64(Which::Insecure))?;
    let mut seed = linker.instance(&format!("wasi:random/insecure-seed@{WASI_VERSION}"))?;
    seed.func_wrap("insecure-seed", |mut store: Store<'_>, (): ()| {
        charge(&mut store, 16)?;
        Ok((store.data().insecure_seed(),))
    })?;

    // A guest that sleeps would block the host in real time while its clock stood still.
    let mut clock = linker.instance(&format!("wasi:clocks/monotonic-clock@{WASI_VERSION}"))?;
    for timer in ["subscribe-duration", "subscribe-instant"] {
        clock.func_new(timer, |_, _, _, _| Err(wasmtime::Error::new(RealTimeWait)))?;
    }
    // The clocks read virtual time (as `clock.rs` does for WASI's own
    // uses), and each read costs what a host call costs.
    clock.func_wrap("now", |mut store: Store<'_>, (): ()| {
        charge(&mut store, 0)?;
        Ok((store.data().clock.now_us().saturating_mul(1_000),))
    })?;
    clock.func_wrap("resolution", |mut store: Store<'_>, (): ()| {
        charge(&mut store, 0)?;
        Ok((1_000u64,))
    })?;
    let mut wall = linker.instance(&format!("wasi:clocks/wall-clock@{WASI_VERSION}"))?;
    wall.func_wrap("now", |mut store: Store<'_>, (): ()| {
        charge(&mut store, 0)?;
        let now_us = store.data().clock.now_us();
        Ok((Datetime { seconds: now_us / 1_000_000, nanoseconds: (now_us % 1_000_000) as u32 * 1_000 },))
    })?;
    wall.func_wrap("resolution", |mut store: Store<'_>, (): ()| {
        charge(&mut store, 0)?;
        Ok((Datetime { seconds: 0, nanoseconds: 1_000 },))
    })?;
    add_output_streams(linker)?;
    add_reads(linker)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Shadows the writing methods of WASI's output streams (a guest's only
/// streams are its stdout and stderr) with ones that charge fuel: a call,
/// even one that writes nothing, costs [`HOST_CALL_FUEL`], and each byte
/// [`HOST_FUEL_PER_BYTE`]. The work itself is WASI's own.
fn add_output_streams(linker: &mut Linker<NodeState>) -> wasmtime::Result<()> {
    type Stream = Resource<DynOutputStream>;
    let mut streams = linker.instance(&format!("wasi:io/streams@{WASI_VERSION}"))?;
    streams.func_wrap("[method]output-stream.check-write", |mut store: Store<'_>, (stream,): (Stream,)| {
        charge(&mut store, 0)?;
        let table = &mut store.data_mut().table;
        let r = HostOutputStream::check_write(table, stream);
        Ok((stream_result(table, r)?,))
    })?;
    streams.func_wrap("[method]output-stream.write", |mut store: Store<'_>, (stream, bytes): (Stream, Vec<u8>)| {
        charge(&mut store, bytes.len() as u64)?;
        let table = &mut store.data_mut().table;
        let r = HostOutputStream::write(table, stream, bytes);
        Ok((stream_result(table, r)?,))
    })?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-and-flush",
        |mut store: Store<'_>, (stream, bytes): (Stream, Vec<u8>)| {
            charge(&mut store, bytes.len() as u64)?;
            let table = &mut store.data_mut().table;
            let r = HostOutputStream::blocking_write_and_flush(table, stream, bytes);
            Ok((stream_result(table, r)?,))
        },
    )?;
    streams.func_wrap("[method]output-stream.write-zeroes", |mut store: Store<'_>, (stream, len): (Stream, u64)| {
        charge(&mut store, len)?;
        let table = &mut store.data_mut().table;
        let r = HostOutputStream::write_zeroes(table, stream, len);
        Ok((stream_result(table, r)?,))
    })?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-zeroes-and-flush",
        |mut store: Store<'_>, (stream, len): (Stream, u64)| {
            charge(&mut store, len)?;
            let table = &mut store.data_mut().table;
            let r = HostOutputStream::blocking_write_zeroes_and_flush(table, stream, len);
            Ok((stream_result(table, r)?,))
        },
    )?;
    streams.func_wrap("[method]output-stream.flush", |mut store: Store<'_>, (stream,): (Stream,)| {
        charge(&mut store, 0)?;
        let table = &mut store.data_mut().table;
        let r = HostOutputStream::flush(table, stream);
        Ok((stream_result(table, r)?,))
    })?;
    streams.func_wrap("[method]output-stream.blocking-flush", |mut store: Store<'_>, (stream,): (Stream,)| {
        charge(&mut store, 0)?;
        let table = &mut store.data_mut().table;
        let r = HostOutputStream::blocking_flush(table, stream);
        Ok((stream_result(table, r)?,))
    })?;
    Ok(())
}

/// Shadows WASI's reads with ones that charge fuel: a call costs
/// [`HOST_CALL_FUEL`] and each byte it returns (or skips) one unit, as a
/// copied message does. Without it, a guest could read its data files
/// over and over on next to no fuel. The work itself is WASI's own.
fn add_reads(linker: &mut Linker<NodeState>) -> wasmtime::Result<()> {
    type Stream = Resource<DynInputStream>;
    let mut streams = linker.instance(&format!("wasi:io/streams@{WASI_VERSION}"))?;
    streams.func_wrap("[method]input-stream.read", |mut store: Store<'_>, (stream, len): (Stream, u64)| {
        charge_copy(&mut store, 0)?;
        let table = &mut store.data_mut().table;
        let r = HostInputStream::read(table, stream, len);
        let r = stream_result(table, r)?;
        charge_copy(&mut store, r.as_ref().map_or(0, |b| b.len() as u64))?;
        Ok((r,))
    })?;
    streams.func_wrap("[method]input-stream.blocking-read", |mut store: Store<'_>, (stream, len): (Stream, u64)| {
        charge_copy(&mut store, 0)?;
        let table = &mut store.data_mut().table;
        let r = HostInputStream::blocking_read(table, stream, len);
        let r = stream_result(table, r)?;
        charge_copy(&mut store, r.as_ref().map_or(0, |b| b.len() as u64))?;
        Ok((r,))
    })?;
    streams.func_wrap("[method]input-stream.skip", |mut store: Store<'_>, (stream, len): (Stream, u64)| {
        charge_copy(&mut store, 0)?;
        let table = &mut store.data_mut().table;
        let r = HostInputStream::skip(table, stream, len);
        let r = stream_result(table, r)?;
        charge_copy(&mut store, *r.as_ref().unwrap_or(&0))?;
        Ok((r,))
    })?;
    streams.func_wrap("[method]input-stream.blocking-skip", |mut store: Store<'_>, (stream, len): (Stream, u64)| {
        charge_copy(&mut store, 0)?;
        let table = &mut store.data_mut().table;
        let r = HostInputStream::blocking_skip(table, stream, len);
        let r = stream_result(table, r)?;
        charge_copy(&mut store, *r.as_ref().unwrap_or(&0))?;
        Ok((r,))
    })?;
    let mut files = linker.instance(&format!("wasi:filesystem/types@{WASI_VERSION}"))?;
    files.func_wrap(
        "[method]descriptor.read",
        |mut store: Store<'_>, (fd, len, offset): (Resource<Descriptor>, u64, u64)| {
            charge_copy(&mut store, 0)?;
            let mut view = store.data_mut().filesystem();
            let r: Result<(Vec<u8>, bool), ErrorCode> = match HostDescriptor::read(&mut view, fd, len, offset) {
                Ok(read) => Ok(read),
                Err(e) => Err(FilesystemHost::convert_error_code(&mut view, e)?),
            };
            charge_copy(&mut store, r.as_ref().map_or(0, |(b, _)| b.len() as u64))?;
            Ok((r,))
        },
    )?;
    Ok(())
}

/// A stream call's outcome as the guest sees it (WASI's conversion).
fn stream_result<T>(table: &mut ResourceTable, r: StreamResult<T>) -> wasmtime::Result<Result<T, WitStreamError>> {
    match r {
        Ok(value) => Ok(Ok(value)),
        Err(e) => Ok(Err(StreamsHost::convert_stream_error(table, e)?)),
    }
}

impl types::Host for NodeState {}
