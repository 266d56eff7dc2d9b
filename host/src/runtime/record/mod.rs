//! Record and replay: what a node exchanged with the host (each call the
//! engine made and what came back, stamped with virtual time), kept in a
//! file, and a [`NodeGroup`](super::NodeGroup) that answers from that file
//! instead of running the node. A container run recorded once replays
//! anywhere, byte for byte, without Docker (docs/running.md, "Record and
//! replay").
//!
//! - `event.rs`: what is recorded ([`Event`], [`RecordedNode`], [`Recording`]).
//! - `codec.rs`: events as bytes; `decoder.rs` reads them back with the
//!   offset of any damage.
//! - `file.rs`: the file `recording.xrec` (a readable header, then
//!   checksummed compressed chunks), written atomically.
//! - `recorder.rs`: [`RecordingGroup`], which wraps any group and records
//!   what passes, within a [`RecordBudget`].
//! - `replayer.rs`: [`ReplayGroup`], which answers from a recording,
//!   [`ReplayMode::Strict`] or [`ReplayMode::Lenient`].
//! - `divergence.rs`: the words of a strict replay's divergence.

mod codec;
mod decoder;
mod divergence;
mod error;
mod event;
mod file;
mod recorder;
mod replayer;

pub use error::RecordError;
pub use event::{Event, RecordedLog, RecordedNode, Recording, RecordingHeader};
pub use file::{FILE_NAME, FORMAT_VERSION, MAX_DECODED_BYTES, MAX_RAW_BYTES, Written, read, write};
pub use recorder::{RecordBudget, RecordTap, RecordingGroup};
pub use replayer::{ReplayGroup, ReplayMode, ReplayReport, ReplayStats};

#[cfg(test)]
mod tests;
