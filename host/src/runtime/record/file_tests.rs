use std::collections::BTreeMap;

use super::*;
use crate::runtime::record::{Event, RecordedLog};
use crate::runtime::{Address, FaultKind, LogLevel, LogStream, Message, Metric, NodeFault, NodeUsage, StepOutput};

pub(in crate::runtime::record) fn header() -> RecordingHeader {
    RecordingHeader {
        format: FORMAT_VERSION,
        xedgesim_version: "0.0.0-test".into(),
        scenario_path: "/tmp/scenario.yaml".into(),
        scenario_path_from_recording: Some("../scenario.yaml".into()),
        scenario_sha256: "ab".repeat(32),
        seed: 42,
        duration_us: 10_000_000,
        trace_level: "messages".into(),
        fault_free: false,
        max_queued_payload_bytes: 1 << 30,
        sandbox: "per-node".into(),
        native: false,
        nodes: BTreeMap::from([
            ("dead".to_string(), "nothing: it did not start".to_string()),
            ("gw".to_string(), "image sha256:00".to_string()),
        ]),
    }
}

/// The start of a file (magic, version, header) whose header names `ids`.
fn head_naming(ids: &[&str]) -> Vec<u8> {
    let mut named = header();
    named.nodes = ids.iter().map(|id| (id.to_string(), "image sha256:00".to_string())).collect();
    let (_dir, _, bytes) = written(&Recording { header: named, nodes: Vec::new() });
    bytes[..first_chunk_at(&bytes)].to_vec()
}

fn message(i: u64, payload: Vec<u8>) -> Message {
    Message { source: "s1".into(), destination: Address::Node("gw".into()), topic: "t".into(), payload, sent_us: i }
}

fn small() -> Recording {
    let fault =
        NodeFault { node: "gw".into(), time_us: 3, kind: FaultKind::Timeout { timeout_ms: 10 }, detail: "".into() };
    let gw = RecordedNode {
        id: "gw".into(),
        group: Some(0),
        startup_fault: None,
        usage: NodeUsage { steps: 2, round_trip_us_total: Some(17), ..NodeUsage::default() },
        events: vec![
            Event::Step {
                now_us: 1,
                inbox: vec![message(0, b"hello".to_vec())],
                result: Ok(StepOutput { outbox: Vec::new(), wake_at_us: Some(2) }),
                fuel: None,
            },
            Event::Logs {
                after_calls: 1,
                lines: vec![RecordedLog {
                    time_us: 1,
                    stream: LogStream::Stderr,
                    level: LogLevel::Warn,
                    text: "warm".into(),
                }],
            },
            Event::Step { now_us: 2, inbox: Vec::new(), result: Err(fault), fuel: Some(5) },
            Event::Crash { now_us: 4 },
            Event::Restart { now_us: 5, restarts: 1, result: Ok(()) },
            Event::Finish { now_us: 9, result: Ok(vec![Metric::new("steps", 2.0)]) },
        ],
    };
    let never = RecordedNode {
        id: "dead".into(),
        group: None,
        startup_fault: Some(NodeFault {
            node: "dead".into(),
            time_us: 0,
            kind: FaultKind::ImageMissing { image: "nope:1".into() },
            detail: "pull failed".into(),
        }),
        usage: NodeUsage::default(),
        events: Vec::new(),
    };
    Recording { header: header(), nodes: vec![gw, never] }
}

fn written(recording: &Recording) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let w = write(&path, recording).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(w.bytes, bytes.len() as u64);
    assert_eq!(w.sha256, <[u8; 32]>::from(Sha256::digest(&bytes)));
    (dir, path, bytes)
}

/// Where the first chunk starts: after the magic, three u32 and the header.
fn first_chunk_at(bytes: &[u8]) -> usize {
    let header_len = u32::from_le_bytes(bytes[MAGIC.len() + 4..MAGIC.len() + 8].try_into().unwrap()) as usize;
    MAGIC.len() + 12 + header_len
}

/// A file of `bytes`' header then `raw` in one chunk, and an end marker counting `nodes`, `events`.
fn with_raw(bytes: &[u8], raw: &[u8], nodes: u64, events: u64) -> Vec<u8> {
    let chunks: &[&[u8]] = if raw.is_empty() { &[] } else { &[raw] };
    with_chunks(bytes, chunks, nodes, events)
}

/// A file of `bytes`' header then one chunk per `chunks`, and an end marker.
fn with_chunks(bytes: &[u8], chunks: &[&[u8]], nodes: u64, events: u64) -> Vec<u8> {
    let mut file = bytes[..first_chunk_at(bytes)].to_vec();
    for raw in chunks {
        let compressed = deflate(raw).unwrap();
        file.extend((compressed.len() as u32).to_le_bytes());
        file.extend((raw.len() as u32).to_le_bytes());
        file.extend(crc32fast::hash(&compressed).to_le_bytes());
        file.extend(compressed);
    }
    let counts = [nodes.to_le_bytes(), events.to_le_bytes()].concat();
    file.extend(0u32.to_le_bytes());
    file.extend(&counts);
    file.extend(crc32fast::hash(&counts).to_le_bytes());
    file
}

fn named(e: &RecordError, path: &Path) -> String {
    let text = e.to_string();
    assert!(text.contains(&path.display().to_string()), "names the file: {text}");
    assert!(text.contains("byte"), "names a byte: {text}");
    text
}

#[test]
fn a_recording_reads_back_as_written_from_its_file_or_its_folder() {
    let recording = small();
    let (dir, path, bytes) = written(&recording);
    let (back, sha) = read(&path).unwrap();
    assert_eq!(back, recording);
    assert_eq!(sha, <[u8; 32]>::from(Sha256::digest(&bytes)));
    assert_eq!(read(dir.path()).unwrap().0, recording, "a run folder holding recording.xrec");
    // The header is readable at the start of the file.
    let start = String::from_utf8_lossy(&bytes[..first_chunk_at(&bytes)]).into_owned();
    assert!(start.contains("\"scenario_sha256\"") && start.starts_with("XEDGESIM-RECORDING\n"), "{start}");
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_recording_bigger_than_a_chunk_spans_several_and_reads_back() {
    let mut recording = small();
    let node = &mut recording.nodes[0];
    node.events = (0..300u64)
        .map(|i| Event::Step {
            now_us: i,
            inbox: vec![message(i, (0..4096u32).map(|b| (b.wrapping_mul(2_654_435_761) >> 13) as u8).collect())],
            result: Ok(StepOutput::default()),
            fuel: None,
        })
        .collect();
    let (_dir, path, bytes) = written(&recording);
    let chunk_at = first_chunk_at(&bytes);
    let raw_len = u32::from_le_bytes(bytes[chunk_at + 4..chunk_at + 8].try_into().unwrap()) as usize;
    assert_eq!(raw_len, CHUNK_RAW_BYTES, "the first chunk is full");
    assert_eq!(read(&path).unwrap().0, recording);
    // Damage in the second chunk is named at the second chunk.
    let compressed_len = u32::from_le_bytes(bytes[chunk_at..chunk_at + 4].try_into().unwrap()) as usize;
    let second_at = chunk_at + 12 + compressed_len;
    let mut edited = bytes.clone();
    edited[second_at + 20] ^= 0x04;
    let e = parse(&path, &edited).unwrap_err();
    assert!(matches!(e, RecordError::Corrupt { offset, .. } if offset == second_at as u64), "{e:?}");
}

#[test]
fn undecodable_bytes_in_a_later_chunk_are_named_at_that_chunk() {
    let (_dir, path, _) = written(&small());
    let bytes = head_naming(&["gw"]);
    let mut head = Vec::new();
    let mut node = small().nodes.remove(0);
    node.events.truncate(1);
    codec::put_node_head(&mut head, &node);
    let file = with_chunks(&bytes, &[&head, &[9]], 1, 1);
    let second_at = first_chunk_at(&bytes) + 12 + deflate(&head).unwrap().len();
    let text = named(&parse(&path, &file).unwrap_err(), &path);
    assert!(
        text.contains(&format!("at byte {second_at}: event kind 9 (0 to 4) (byte 0 of the chunk once decompressed)")),
        "{text}"
    );
}

#[test]
fn the_same_recording_is_the_same_bytes() {
    let (_dir, _, first) = written(&small());
    let (_dir, _, again) = written(&small());
    assert_eq!(first, again);
}

#[test]
fn a_foreign_or_empty_file_is_not_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    for content in [&b""[..], b"{\"seed\": 1}", b"XEDGESIM-TRACE\n\0\0\0"] {
        let path = dir.path().join("other.xrec");
        std::fs::write(&path, content).unwrap();
        let e = read(&path).unwrap_err();
        assert!(matches!(e, RecordError::NotARecording { .. }), "{e:?}");
        named(&e, &path);
    }
    let e = read(&dir.path().join("missing.xrec")).unwrap_err();
    assert!(matches!(e, RecordError::Io { .. }) && e.to_string().contains("missing.xrec"), "{e}");
}

#[test]
fn another_format_version_is_named_with_its_byte() {
    let (_dir, path, mut bytes) = written(&small());
    bytes[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let e = read(&path).unwrap_err();
    assert!(matches!(e, RecordError::Version { found: 7, supported: FORMAT_VERSION, .. }), "{e:?}");
    assert!(named(&e, &path).contains("at byte 19: recording format 7, this xedgesim reads format 1"));
}

#[test]
fn a_file_cut_anywhere_is_truncated_at_its_end() {
    let (_dir, path, bytes) = written(&small());
    for len in 1..bytes.len() {
        let e = parse(&path, &bytes[..len]).unwrap_err();
        match &e {
            RecordError::Truncated { offset, wanted, .. } => {
                assert_eq!(*offset, len as u64, "cut at {len}");
                assert!(*wanted > 0, "cut at {len}");
            }
            other => panic!("cut at {len}: {other:?}"),
        }
        named(&e, &path);
    }
    // Cut at the end marker: the chunks are whole, the end is missing.
    let end_at = bytes.len() - 24;
    let e = parse(&path, &bytes[..end_at]).unwrap_err();
    assert!(named(&e, &path).contains(&format!("ends at byte {end_at}, 4 bytes early")), "{e}");
}

#[test]
fn every_edited_byte_is_an_error_naming_the_file_and_a_byte() {
    let (_dir, path, bytes) = written(&small());
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut edited = bytes.clone();
            edited[i] ^= flip;
            match parse(&path, &edited) {
                Ok(_) => panic!("byte {i} ^ {flip:#x} was read as a recording"),
                Err(e) => {
                    named(&e, &path);
                }
            }
        }
    }
}

#[test]
fn an_edited_chunk_fails_its_checksum_at_the_chunks_offset() {
    let (_dir, path, mut bytes) = written(&small());
    let chunk_at = first_chunk_at(&bytes);
    bytes[chunk_at + 14] ^= 0x10;
    let e = parse(&path, &bytes).unwrap_err();
    assert!(matches!(e, RecordError::Corrupt { offset, .. } if offset == chunk_at as u64), "{e:?}");
    assert!(named(&e, &path).contains(&format!("chunk at byte {chunk_at} fails its checksum")));
    // An edited header too, at the header's offset.
    let (_dir, path, mut bytes) = written(&small());
    bytes[MAGIC.len() + 20] ^= 0x01;
    let e = parse(&path, &bytes).unwrap_err();
    assert!(matches!(e, RecordError::Corrupt { offset, .. } if offset == MAGIC.len() as u64 + 12), "{e:?}");
    assert!(named(&e, &path).contains("the header at byte 31 fails its checksum"), "{e}");
    // And an edited end marker, at the marker's offset.
    let (_dir, path, mut bytes) = written(&small());
    let end_at = bytes.len() - 24;
    bytes[end_at + 5] ^= 0x01;
    let e = parse(&path, &bytes).unwrap_err();
    assert!(named(&e, &path).contains(&format!("the end marker at byte {end_at} fails its checksum")), "{e}");
}

#[test]
fn lengths_claiming_gigabytes_are_refused_without_allocating_them() {
    let (_dir, path, bytes) = written(&small());
    // The header's length.
    let mut edited = bytes.clone();
    edited[MAGIC.len() + 4..MAGIC.len() + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = parse(&path, &edited).unwrap_err();
    assert!(matches!(e, RecordError::Truncated { .. }), "{e:?}");
    named(&e, &path);
    let chunk_at = first_chunk_at(&bytes);
    // A chunk's compressed length.
    let mut edited = bytes.clone();
    edited[chunk_at..chunk_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = parse(&path, &edited).unwrap_err();
    assert!(matches!(e, RecordError::Truncated { .. }), "{e:?}");
    // A chunk's raw length.
    let mut edited = bytes.clone();
    edited[chunk_at + 4..chunk_at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = parse(&path, &edited).unwrap_err();
    assert!(matches!(e, RecordError::Malformed { offset, .. } if offset == chunk_at as u64), "{e:?}");
    assert!(named(&e, &path).contains("claims 4294967295 bytes"), "{e}");
    // Inside a chunk (its checksum right): a node claiming u64::MAX events.
    let bytes = head_naming(&["dead"]);
    let chunk_at = first_chunk_at(&bytes);
    let mut raw = Vec::new();
    let mut node = small().nodes.remove(1);
    node.events.clear();
    codec::put_node_head(&mut raw, &node);
    raw.pop();
    raw.extend([0xff; 9]);
    raw.push(0x01);
    let e = parse(&path, &with_raw(&bytes, &raw, 1, 0)).unwrap_err();
    assert!(matches!(e, RecordError::Malformed { offset, .. } if offset == chunk_at as u64), "{e:?}");
    assert!(named(&e, &path).contains("an event count claims 18446744073709551615; 0 bytes are left"), "{e}");
}

#[test]
fn undecodable_chunks_and_wrong_counts_are_malformed_at_their_chunk() {
    let (_dir, path, bytes) = written(&small());
    let head = head_naming(&["x"]);
    let chunk_at = first_chunk_at(&head);
    let e = parse(&path, &with_raw(&head, &[1, b'x', 0, 7], 1, 0)).unwrap_err();
    let text = named(&e, &path);
    assert!(text.contains(&format!("at byte {chunk_at}: a startup fault: presence tag 7")), "{text}");
    assert!(text.contains("byte 3 of the chunk once decompressed"), "{text}");
    // The end marker's counts disagree with the chunks (a chunk taken out).
    let mut raw = Vec::new();
    let recording = small();
    codec::put_node_head(&mut raw, &recording.nodes[1]);
    let file = with_raw(&bytes, &raw, 2, 0);
    let e = parse(&path, &file).unwrap_err();
    let text = named(&e, &path);
    assert!(text.contains(&format!("at byte {}: the end marker counts 2 nodes", file.len() - 24)), "{text}");
    // A recording of no node at all is fine.
    assert_eq!(parse(&path, &with_raw(&head_naming(&[]), &[], 0, 0)).unwrap().nodes, Vec::new());
    // Bytes after the end marker.
    let mut extra = bytes.clone();
    extra.push(0);
    let text = named(&parse(&path, &extra).unwrap_err(), &path);
    assert!(text.contains(&format!("at byte {}: 1 bytes follow the end", bytes.len())), "{text}");
}

#[test]
fn a_header_with_an_unknown_key_is_malformed() {
    let (_dir, path, bytes) = written(&small());
    let mut json = serde_json::to_value(header()).unwrap();
    json["colour"] = "blue".into();
    let header = serde_json::to_vec(&json).unwrap();
    let mut file = MAGIC.to_vec();
    file.extend(FORMAT_VERSION.to_le_bytes());
    file.extend((header.len() as u32).to_le_bytes());
    file.extend(crc32fast::hash(&header).to_le_bytes());
    file.extend(&header);
    file.extend(&bytes[first_chunk_at(&bytes)..]);
    let text = named(&parse(&path, &file).unwrap_err(), &path);
    assert!(text.contains("unknown field `colour`"), "{text}");
}

/// `chunks` whole chunks of `raw`, each compressed once, framed as `put_chunk` frames them.
fn repeated_chunk(raw: &[u8], chunks: usize) -> Vec<u8> {
    let compressed = deflate(raw).unwrap();
    let mut framed = Vec::new();
    framed.extend((compressed.len() as u32).to_le_bytes());
    framed.extend((raw.len() as u32).to_le_bytes());
    framed.extend(crc32fast::hash(&compressed).to_le_bytes());
    framed.extend(&compressed);
    framed.repeat(chunks)
}

/// `head`, then `body` (framed chunks), then an end marker counting `nodes` and `events`.
fn framed_file(head: &[u8], body: &[u8], nodes: u64, events: u64) -> Vec<u8> {
    let mut file = with_chunks(head, &[], nodes, events);
    let end = file.split_off(first_chunk_at(head));
    file.extend(body);
    file.extend(end);
    file
}

#[test]
fn a_compression_bomb_past_a_gib_uncompressed_is_refused_before_any_chunk_is_inflated() {
    let (_dir, path, _) = written(&small());
    let head = head_naming(&["gw", "dead"]);
    // 1,025 chunks of 1 MiB of zeros: about 1 MB of file, 1 GiB + 1 MiB once inflated.
    let chunks = MAX_RAW_BYTES / CHUNK_RAW_BYTES + 1;
    let body = repeated_chunk(&vec![0; CHUNK_RAW_BYTES], chunks);
    let file = framed_file(&head, &body, 2, 0);
    assert!(file.len() < 1_100_000, "{} bytes", file.len());
    let e = parse(&path, &file).unwrap_err();
    let last_at = (first_chunk_at(&head) + body.len() / chunks * (chunks - 1)) as u64;
    assert!(matches!(e, RecordError::TooLarge { offset, .. } if offset == last_at), "{e:?}");
    let text = named(&e, &path);
    assert!(
        text.contains(&format!("at byte {last_at}: the chunks from the first to the one at this byte decompress to more than 1073741824 bytes, the most this build reads uncompressed (1 GiB")),
        "{text}"
    );
}

#[test]
fn zeros_within_the_bound_are_refused_at_the_first_node_not_decoded_into_millions() {
    let (_dir, path, _) = written(&small());
    let head = head_naming(&["gw", "dead"]);
    // 8 MiB of zeros would decode as about 560,000 empty nodes named "".
    let file = framed_file(&head, &repeated_chunk(&vec![0; CHUNK_RAW_BYTES], 8), 2, 0);
    let text = named(&parse(&path, &file).unwrap_err(), &path);
    let chunk_at = first_chunk_at(&head);
    assert!(
        text.contains(&format!(
            "at byte {chunk_at}: node '' is not one the header names (byte 0 of the chunk once decompressed)"
        )),
        "{text}"
    );
}

#[test]
fn the_nodes_must_be_the_headers_each_once_and_no_more_events_than_counted() {
    let (_dir, path, _) = written(&small());
    let [gw, dead] = <[RecordedNode; 2]>::try_from(small().nodes).unwrap();
    let mut ghost = dead.clone();
    ghost.id = "gh\u{1b}ost".into();
    let events = gw.events.len() as u64;
    let body = |nodes: &[&RecordedNode]| {
        let mut raw = Vec::new();
        for node in nodes {
            codec::put_node_head(&mut raw, node);
            node.events.iter().for_each(|e| codec::put_event(&mut raw, e));
        }
        raw
    };
    let head = head_naming(&["gw", "dead"]);
    let chunk_at = first_chunk_at(&head);
    let refused =
        |raw: &[u8], nodes, events| named(&parse(&path, &with_raw(&head, raw, nodes, events)).unwrap_err(), &path);
    // The header's two nodes, as counted: fine.
    assert_eq!(
        parse(&path, &with_raw(&head, &body(&[&gw, &dead]), 2, events)).unwrap().nodes,
        vec![gw.clone(), dead.clone()]
    );
    // More nodes than the header names, counted so: refused before decoding.
    let raw = body(&[&gw, &dead, &ghost]);
    let text = refused(&raw, 3, events);
    assert!(
        text.contains(&format!(
            "at byte {}: the end marker counts 3 nodes, the header names 2",
            with_raw(&head, &raw, 3, events).len() - 24
        )),
        "{text}"
    );
    // Counted as the header says: refused at the extra node.
    let text = refused(&raw, 2, events);
    assert!(text.contains(&format!("at byte {chunk_at}: bytes follow the last of the header's 2 nodes")), "{text}");
    // A node the header does not name (escaped), or one twice.
    let text = refused(&body(&[&gw, &ghost]), 2, events);
    assert!(text.contains("node 'gh\\u{1b}ost' is not one the header names"), "{text}");
    let text = refused(&body(&[&dead, &dead]), 2, 0);
    assert!(text.contains("node 'dead' comes twice"), "{text}");
    // A node claiming more events than the end marker counts.
    let text = refused(&body(&[&gw, &dead]), 2, events - 1);
    assert!(text.contains(&format!("a node of {events} events where {} are left to count", events - 1)), "{text}");
}

#[test]
fn the_writer_writes_nothing_past_what_a_reader_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let writer = |limits| HashingWriter {
        file: AtomicFile::create(&path).unwrap(),
        sha: Sha256::new(),
        bytes: 0,
        raw_bytes: 0,
        limits,
    };
    let e = write_within(&path, &small(), Limits { raw_bytes: 64, decoded_bytes: u64::MAX }).unwrap_err();
    assert!(matches!(&e, RecordError::Unreadable { what, .. } if what == "64 bytes uncompressed"), "{e:?}");
    // Past the memory its lists take once decoded: refused before a byte is written.
    let decoded = codec::decoded_bytes(&small().nodes);
    let mut out = writer(Limits { raw_bytes: MAX_RAW_BYTES, decoded_bytes: decoded - 1 });
    let e = write_to(&mut out, &small()).unwrap_err();
    assert_eq!(e.to_string(), format!("the recording comes to more than {} bytes in memory once decoded", decoded - 1));
    assert_eq!(out.bytes, 0);
    drop(out);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file, no temporary file");
    // Said as what it is, naming the file, with the fix.
    let e = RecordError::Unreadable { path: path.clone(), what: "1073741824 bytes uncompressed".into() };
    assert!(e.to_string().ends_with("recording.xrec: the recording comes to more than 1073741824 bytes uncompressed, more than xedgesim reads back; nothing was written\n  = help: record fewer nodes (--record-node) or shorten the run"), "{e}");
    write(&path, &small()).unwrap();
}

#[test]
fn a_reader_charges_what_the_writer_counts_and_refuses_a_list_past_it_at_its_count() {
    let (_dir, path, bytes) = written(&small());
    let decoded = codec::decoded_bytes(&small().nodes);
    let within = |decoded_bytes| parse_within(&path, &bytes, Limits { raw_bytes: MAX_RAW_BYTES, decoded_bytes });
    assert_eq!(within(decoded).unwrap(), small());
    let text = named(&within(decoded - 1).unwrap_err(), &path);
    assert!(text.contains(&format!("past {} bytes in memory, the most this build holds", decoded - 1)), "{text}");
}

#[test]
fn a_forged_run_of_tiny_events_is_refused_at_its_count_before_they_are_decoded() {
    let (_dir, path, _) = written(&small());
    let head = head_naming(&["gw"]);
    // One node claiming the events of 2 GiB once decoded (about 15 million,
    // 7 bytes each in the file): refused at its event count.
    let count = MAX_DECODED_BYTES / std::mem::size_of::<Event>() as u64 + 1;
    let mut node = small().nodes.remove(0);
    node.events.clear();
    let mut raw = Vec::new();
    codec::put_node_head(&mut raw, &node);
    raw.pop();
    codec::put_varint(&mut raw, count);
    raw.resize(count as usize + raw.len(), 0);
    let chunks: Vec<&[u8]> = raw.chunks(CHUNK_RAW_BYTES).collect();
    let e = parse(&path, &with_chunks(&head, &chunks, 1, count)).unwrap_err();
    let text = named(&e, &path);
    let chunk_at = first_chunk_at(&head);
    assert!(
        text.contains(&format!("at byte {chunk_at}: an event count of {count} brings what the recording decodes to past 2147483648 bytes in memory")),
        "{text}"
    );
}
