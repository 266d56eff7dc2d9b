//! [`RecordError`]: a recording that cannot be written or read. Reading
//! errors name the file and the byte offset where it stops making sense.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{}: not an xedgesim recording (no recording header at byte 0)\n  = help: give the run folder of `xedgesim run FILE --record`, or its recording.xrec",
        path.display()
    )]
    NotARecording { path: PathBuf },
    #[error(
        "{}: at byte {}: recording format {found}, this xedgesim reads format {supported}\n  = help: record again with this version (`xedgesim run FILE --record`)",
        path.display(),
        super::file::VERSION_OFFSET
    )]
    Version { path: PathBuf, found: u32, supported: u32 },
    #[error(
        "{}: the file ends at byte {offset}, {wanted} bytes early: it was cut short (copied while written, or a disk filled)\n  = help: record again",
        path.display()
    )]
    Truncated { path: PathBuf, offset: u64, wanted: u64 },
    #[error(
        "{}: the {part} at byte {offset} fails its checksum: the file was edited or damaged after it was written\n  = help: record again, or restore the file from where it is kept",
        path.display()
    )]
    Corrupt { path: PathBuf, part: &'static str, offset: u64 },
    #[error(
        "{}: at byte {offset}: the chunks from the first to the one at this byte decompress to more than {max_bytes} bytes, the most this build reads uncompressed (1 GiB: xedgesim never records more)\n  = help: the file was forged or damaged: record again",
        path.display()
    )]
    TooLarge { path: PathBuf, offset: u64, max_bytes: u64 },
    #[error(
        "{}: the recording comes to more than {what}, more than xedgesim reads back; nothing was written\n  = help: record fewer nodes (--record-node) or shorten the run",
        path.display()
    )]
    Unreadable { path: PathBuf, what: String },
    #[error("{}: at byte {offset}: {what}\n  = help: record again with this version", path.display())]
    Malformed { path: PathBuf, offset: u64, what: String },
    #[error(
        "the recording passed its cap of {cap_bytes} bytes at t = {time} (node '{node}'); nothing was recorded\n  = help: raise --record-max-mb, record fewer nodes (--record-node) or shorten the run"
    )]
    CapExceeded { cap_bytes: u64, node: String, time: String },
}
