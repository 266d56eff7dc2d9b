//! The file `recording.xrec`: a magic line, the header as JSON (with its
//! length and checksum), then the events in compressed chunks, each with
//! its length and checksum, then an end marker. Written to a temporary file
//! and renamed; read back with errors that name the byte offset.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! b"XEDGESIM-RECORDING\n"  u32 format  u32 header length  u32 CRC-32 of the header  header (JSON)
//! chunk*: u32 compressed length (> 0)  u32 raw length  u32 CRC-32 of the compressed bytes  raw deflate
//! end:    u32 0  u64 node count  u64 event count  u32 CRC-32 of the 16 bytes before it
//! ```
//!
//! The chunks' raw bytes, end to end, are the nodes as `codec.rs` writes
//! them (a node may span chunks), each node one the header names, once.
//! The end marker's counts catch a file cut at a chunk boundary or a chunk
//! taken out. A reader checks every chunk's framing and checksum, and that
//! together they hold at most [`MAX_RAW_BYTES`], before it inflates any;
//! their lists may decode to at most [`MAX_DECODED_BYTES`]. The writer
//! writes nothing a reader would refuse.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use sha2::{Digest, Sha256};

use super::codec;
use super::decoder::{DecodeError, Reader};
use super::{RecordError, RecordedNode, Recording, RecordingHeader};
use crate::atomic_file::AtomicFile;
use crate::text::{byte_prefix, escape_controls};

/// The recording's name in a run folder.
pub const FILE_NAME: &str = "recording.xrec";

/// The format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The file's first bytes.
pub(super) const MAGIC: &[u8] = b"XEDGESIM-RECORDING\n";

/// Where the format version sits (right after [`MAGIC`]).
pub(super) const VERSION_OFFSET: u64 = MAGIC.len() as u64;

/// Most raw bytes in one chunk: the writer fills chunks to this, and the
/// reader refuses a chunk claiming more (it never allocates what a damaged
/// length claims).
pub(super) const CHUNK_RAW_BYTES: usize = 1 << 20;

/// Most raw (decompressed) bytes a recording may hold, all chunks
/// together: a reader refuses a file whose chunks claim more before it
/// inflates any, so a small forged file cannot make it allocate gigabytes.
/// The writer never writes more (nothing is written past it), and a run's
/// `--record-max-mb` is capped to it.
pub const MAX_RAW_BYTES: usize = 1 << 30;

/// Most memory a recording's decoded lists may take (each event, message,
/// log line, metric at its fixed size; text is at most the raw bytes): a
/// reader refuses a list that would pass it at the list's count, so 1 GiB
/// of tiny events (about 20 times their size once decoded) cannot be
/// forged either. The writer writes nothing past it.
pub const MAX_DECODED_BYTES: u64 = 2 << 30;

/// What a reader reads and a writer writes at most.
#[derive(Debug, Clone, Copy)]
struct Limits {
    raw_bytes: usize,
    decoded_bytes: u64,
}

const LIMITS: Limits = Limits { raw_bytes: MAX_RAW_BYTES, decoded_bytes: MAX_DECODED_BYTES };

/// A recording on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub bytes: u64,
    /// SHA-256 of the whole file: the recording's name in a replay's summary.
    pub sha256: [u8; 32],
}

/// Writes `recording` to `path` atomically.
pub fn write(path: &Path, recording: &Recording) -> Result<Written, RecordError> {
    write_within(path, recording, LIMITS)
}

fn write_within(path: &Path, recording: &Recording, limits: Limits) -> Result<Written, RecordError> {
    let io = |source| RecordError::Io { path: path.to_path_buf(), source };
    let file = AtomicFile::create(path).map_err(io)?;
    let mut out = HashingWriter { file, sha: Sha256::new(), bytes: 0, raw_bytes: 0, limits };
    write_to(&mut out, recording).map_err(|e| match e.get_ref().and_then(|e| e.downcast_ref::<PastReadable>()) {
        Some(PastReadable(what)) => RecordError::Unreadable { path: path.to_path_buf(), what: what.clone() },
        None => io(e),
    })?;
    let HashingWriter { file, sha, bytes, .. } = out;
    file.commit().map_err(io)?;
    Ok(Written { bytes, sha256: sha.finalize().into() })
}

/// The whole file's bytes go through here: counted and hashed as written.
struct HashingWriter {
    file: AtomicFile,
    sha: Sha256,
    bytes: u64,
    /// Raw bytes put in chunks so far.
    raw_bytes: usize,
    /// What a reader reads back: nothing past it is written.
    limits: Limits,
}

impl HashingWriter {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.sha.update(bytes);
        self.bytes += bytes.len() as u64;
        self.file.write_all(bytes)
    }
}

/// A recording a reader would refuse, by what it passes: written as an
/// I/O error through the writer, said as [`RecordError::Unreadable`].
#[derive(Debug)]
struct PastReadable(String);

impl std::fmt::Display for PastReadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the recording comes to more than {}", self.0)
    }
}

impl std::error::Error for PastReadable {}

fn past_what_reads_back(what: &str) -> std::io::Error {
    std::io::Error::other(PastReadable(what.to_string()))
}

fn write_to(out: &mut HashingWriter, recording: &Recording) -> std::io::Result<()> {
    if codec::decoded_bytes(&recording.nodes) > out.limits.decoded_bytes {
        return Err(past_what_reads_back(&format!("{} bytes in memory once decoded", out.limits.decoded_bytes)));
    }
    let mut header = serde_json::to_vec_pretty(&recording.header).map_err(std::io::Error::other)?;
    header.push(b'\n');
    let header_len = u32::try_from(header.len()).map_err(std::io::Error::other)?;
    out.put(MAGIC)?;
    out.put(&FORMAT_VERSION.to_le_bytes())?;
    out.put(&header_len.to_le_bytes())?;
    out.put(&crc32fast::hash(&header).to_le_bytes())?;
    out.put(&header)?;
    let mut raw = Vec::with_capacity(CHUNK_RAW_BYTES);
    let mut events = 0u64;
    for node in &recording.nodes {
        codec::put_node_head(&mut raw, node);
        flush_full_chunks(out, &mut raw)?;
        for event in &node.events {
            codec::put_event(&mut raw, event);
            events += 1;
            flush_full_chunks(out, &mut raw)?;
        }
    }
    if !raw.is_empty() {
        put_chunk(out, &raw)?;
    }
    let mut end = Vec::with_capacity(24);
    end.extend_from_slice(&0u32.to_le_bytes());
    let counts = [(recording.nodes.len() as u64).to_le_bytes(), events.to_le_bytes()].concat();
    end.extend_from_slice(&counts);
    end.extend_from_slice(&crc32fast::hash(&counts).to_le_bytes());
    out.put(&end)
}

/// Writes every whole chunk's worth of `raw` and keeps the rest.
fn flush_full_chunks(out: &mut HashingWriter, raw: &mut Vec<u8>) -> std::io::Result<()> {
    if raw.len() < CHUNK_RAW_BYTES {
        return Ok(());
    }
    let mut start = 0;
    while raw.len() - start >= CHUNK_RAW_BYTES {
        put_chunk(out, &raw[start..start + CHUNK_RAW_BYTES])?;
        start += CHUNK_RAW_BYTES;
    }
    raw.drain(..start);
    Ok(())
}

fn put_chunk(out: &mut HashingWriter, raw: &[u8]) -> std::io::Result<()> {
    out.raw_bytes += raw.len();
    if out.raw_bytes > out.limits.raw_bytes {
        let what = format!("{} bytes uncompressed", out.limits.raw_bytes);
        return Err(past_what_reads_back(&what));
    }
    let compressed = deflate(raw)?;
    let len = |n: usize| u32::try_from(n).map_err(std::io::Error::other);
    out.put(&len(compressed.len())?.to_le_bytes())?;
    out.put(&len(raw.len())?.to_le_bytes())?;
    out.put(&crc32fast::hash(&compressed).to_le_bytes())?;
    out.put(&compressed)
}

fn deflate(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut compress = Compress::new(Compression::default(), false);
    // Deflate never grows data by more than a few bytes per 16 KiB block.
    let mut compressed = Vec::with_capacity(raw.len() + raw.len() / 1000 + 64);
    loop {
        let consumed = compress.total_in() as usize;
        let status = compress
            .compress_vec(&raw[consumed..], &mut compressed, FlushCompress::Finish)
            .map_err(std::io::Error::other)?;
        match status {
            Status::StreamEnd => return Ok(compressed),
            Status::Ok | Status::BufError => compressed.reserve(compressed.capacity().max(64)),
        }
    }
}

/// Reads the recording at `path` (a file, or a run folder holding
/// [`FILE_NAME`]), with the SHA-256 of the file.
pub fn read(path: &Path) -> Result<(Recording, [u8; 32]), RecordError> {
    let path = if path.is_dir() { path.join(FILE_NAME) } else { path.to_path_buf() };
    let bytes = std::fs::read(&path).map_err(|source| RecordError::Io { path: path.clone(), source })?;
    let recording = parse(&path, &bytes)?;
    Ok((recording, Sha256::digest(&bytes).into()))
}

/// Reads `bytes`, the content of `path` (which names it in errors).
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Recording, RecordError> {
    parse_within(path, bytes, LIMITS)
}

fn parse_within(path: &Path, bytes: &[u8], limits: Limits) -> Result<Recording, RecordError> {
    let mut file = FileReader { path, bytes, pos: 0 };
    if !bytes.starts_with(MAGIC) {
        return Err(if !bytes.is_empty() && MAGIC.starts_with(bytes) {
            file.truncated(MAGIC.len())
        } else {
            RecordError::NotARecording { path: path.to_path_buf() }
        });
    }
    file.pos = MAGIC.len();
    let version = file.u32()?;
    if version != FORMAT_VERSION {
        return Err(RecordError::Version { path: path.to_path_buf(), found: version, supported: FORMAT_VERSION });
    }
    let header_len = file.u32()? as usize;
    let header_crc = file.u32()?;
    let header_at = file.pos;
    let header_bytes = file.take(header_len)?;
    if crc32fast::hash(header_bytes) != header_crc {
        return Err(file.corrupt("header", header_at));
    }
    let header: RecordingHeader = serde_json::from_slice(header_bytes)
        .map_err(|e| file.malformed(header_at, format!("the header is not a recording's header: {e}")))?;
    if header.format != FORMAT_VERSION {
        let what = format!("the header says format {}, the file's start says {FORMAT_VERSION}", header.format);
        return Err(file.malformed(header_at, what));
    }
    let (chunks, end) = scan_chunks(&mut file, limits.raw_bytes)?;
    if file.pos < bytes.len() {
        let what = format!("{} bytes follow the end of the recording", bytes.len() - file.pos);
        return Err(file.malformed(file.pos, what));
    }
    if end.nodes != header.nodes.len() as u64 {
        let what = format!("the end marker counts {} nodes, the header names {}", end.nodes, header.nodes.len());
        return Err(file.malformed(end.at, what));
    }
    // Every chunk's raw bytes, end to end, with where each chunk starts in both.
    let raw_total: usize = chunks.iter().map(|c| c.raw_len).sum();
    let mut raw = Vec::with_capacity(raw_total);
    let mut starts: Vec<(usize, usize)> = Vec::with_capacity(chunks.len());
    for chunk in &chunks {
        starts.push((raw.len(), chunk.at));
        inflate(chunk.compressed, chunk.raw_len, &mut raw).map_err(|what| file.malformed(chunk.at, what))?;
    }
    // Where in the file damage found in the raw bytes sits: its chunk.
    let in_chunk = |e: DecodeError| {
        let (start, chunk_at) =
            starts.iter().rev().find(|(start, _)| *start <= e.offset).copied().unwrap_or((0, end.at));
        file.malformed(chunk_at, format!("{} (byte {} of the chunk once decompressed)", e.what, e.offset - start))
    };
    // Each node is one the header names, once; no more events than the end
    // marker counts: a forged file is refused before it is decoded into more.
    let mut unseen: BTreeSet<&str> = header.nodes.keys().map(String::as_str).collect();
    let mut events_left = end.events;
    let mut reader = Reader::bounded(&raw, limits.decoded_bytes);
    let mut nodes: Vec<RecordedNode> = Vec::with_capacity(header.nodes.len());
    while !reader.at_end() {
        if unseen.is_empty() {
            let what = format!("bytes follow the last of the header's {} nodes", header.nodes.len());
            return Err(in_chunk(DecodeError { offset: reader.offset(), what }));
        }
        let check_id = |id: &str| {
            if unseen.remove(id) {
                return Ok(());
            }
            let again = if header.nodes.contains_key(id) { "comes twice" } else { "is not one the header names" };
            Err(format!("node '{}' {again}", escape_controls(byte_prefix(id, 100))))
        };
        let node = reader.node(check_id, events_left).map_err(in_chunk)?;
        events_left -= node.events.len() as u64;
        nodes.push(node);
    }
    if !unseen.is_empty() || events_left != 0 {
        let what = format!(
            "the end marker counts {} nodes and {} events, the chunks hold {} and {}: a chunk is missing or was added",
            end.nodes,
            end.events,
            nodes.len(),
            end.events - events_left
        );
        return Err(file.malformed(end.at, what));
    }
    Ok(Recording { header, nodes })
}

/// A chunk as framed in the file, its checksum checked, not yet inflated.
struct Chunk<'a> {
    /// Its offset in the file.
    at: usize,
    compressed: &'a [u8],
    raw_len: usize,
}

/// The end marker: its offset and its counts.
struct End {
    at: usize,
    nodes: u64,
    events: u64,
}

/// Reads every chunk's framing and checksum, and the end marker, inflating
/// nothing: what the chunks claim to decompress to is bounded (at most
/// `max_raw_bytes` together) before any of it is made.
fn scan_chunks<'a>(file: &mut FileReader<'a>, max_raw_bytes: usize) -> Result<(Vec<Chunk<'a>>, End), RecordError> {
    let mut chunks = Vec::new();
    let mut raw_total = 0usize;
    loop {
        let at = file.pos;
        let compressed_len = file.u32()? as usize;
        if compressed_len == 0 {
            let counts = file.take(16)?;
            let crc = file.u32()?;
            if crc32fast::hash(counts) != crc {
                return Err(file.corrupt("end marker", at));
            }
            let nodes = u64::from_le_bytes(counts[..8].try_into().expect("8 bytes"));
            let events = u64::from_le_bytes(counts[8..].try_into().expect("8 bytes"));
            return Ok((chunks, End { at, nodes, events }));
        }
        let raw_len = file.u32()? as usize;
        let crc = file.u32()?;
        if raw_len == 0 || raw_len > CHUNK_RAW_BYTES {
            let what = format!("a chunk claims {raw_len} bytes; a chunk holds 1 to {CHUNK_RAW_BYTES}");
            return Err(file.malformed(at, what));
        }
        raw_total += raw_len;
        if raw_total > max_raw_bytes {
            return Err(RecordError::TooLarge {
                path: file.path(),
                offset: at as u64,
                max_bytes: max_raw_bytes as u64,
            });
        }
        let compressed = file.take(compressed_len)?;
        if crc32fast::hash(compressed) != crc {
            return Err(file.corrupt("chunk", at));
        }
        chunks.push(Chunk { at, compressed, raw_len });
    }
}

/// Decompresses one chunk onto the end of `raw`; it must come to exactly
/// `raw_len` bytes. `raw` never grows here past room for them (what a
/// chunk would decompress to beyond that is not made), so a damaged chunk
/// cannot make the reader allocate more than the chunk's stated size.
fn inflate(compressed: &[u8], raw_len: usize, raw: &mut Vec<u8>) -> Result<(), String> {
    let start = raw.len();
    // Into a slice of exactly the claimed size: `decompress_vec` zeroes the
    // vector's whole spare capacity on every call, which over a body of many
    // chunks read into one vector is quadratic (1,024 forged chunks: 75 s).
    raw.resize(start + raw_len, 0);
    let mut inflate = Decompress::new(false);
    let status = inflate
        .decompress(compressed, &mut raw[start..], FlushDecompress::Finish)
        .map_err(|e| format!("a chunk does not decompress: {e}"))?;
    let made = inflate.total_out() as usize;
    if status != Status::StreamEnd || inflate.total_in() as usize != compressed.len() || made != raw_len {
        return Err(format!("a chunk does not decompress to the {raw_len} bytes it claims"));
    }
    Ok(())
}

/// The file's bytes, read in order, with the errors that name where.
struct FileReader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> FileReader<'a> {
    fn path(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    /// The file ends before byte `end`.
    fn truncated(&self, end: usize) -> RecordError {
        RecordError::Truncated {
            path: self.path(),
            offset: self.bytes.len() as u64,
            wanted: (end - self.bytes.len()) as u64,
        }
    }

    /// The `part` (header, chunk, end marker) at `offset` fails its checksum.
    fn corrupt(&self, part: &'static str, offset: usize) -> RecordError {
        RecordError::Corrupt { path: self.path(), part, offset: offset as u64 }
    }

    fn malformed(&self, offset: usize, what: String) -> RecordError {
        RecordError::Malformed { path: self.path(), offset: offset as u64, what }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], RecordError> {
        let end = self.pos.saturating_add(len);
        if end > self.bytes.len() {
            return Err(self.truncated(end));
        }
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, RecordError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
pub(super) mod tests;
