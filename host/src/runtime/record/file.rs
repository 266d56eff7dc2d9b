//! The file `recording.xrec`: a magic line, the header as JSON (with its
//! length and checksum), then the events in compressed chunks, each with
//! its length and checksum, then an end marker. Written to a temporary file
//! and renamed; read back with errors that name the byte offset.

use std::path::Path;

use super::{RecordError, Recording};

/// The recording's name in a run folder.
pub const FILE_NAME: &str = "recording.xrec";

/// The format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A recording on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub bytes: u64,
    /// SHA-256 of the whole file: the recording's name in a replay's summary.
    pub sha256: [u8; 32],
}

/// Writes `recording` to `path` atomically.
pub fn write(path: &Path, recording: &Recording) -> Result<Written, RecordError> {
    let _ = (path, recording);
    unimplemented!("runtime/record/file.rs: write")
}

/// Reads the recording at `path` (a file, or a run folder holding
/// [`FILE_NAME`]), with the SHA-256 of the file.
pub fn read(path: &Path) -> Result<(Recording, [u8; 32]), RecordError> {
    let _ = path;
    unimplemented!("runtime/record/file.rs: read")
}
