//! Build output as it is kept: line by line, each line bounded and its
//! control characters escaped (output from a Dockerfile, a build command
//! or a model folder's build tool reaches the terminal and error
//! messages), and only the last lines kept for an error message, so a
//! build that prints gigabytes costs none.

use std::collections::VecDeque;
use std::io::{BufRead, Read};

use crate::text::escape_controls;

/// Lines of build output kept for an error message.
pub const TAIL_LINES: usize = 20;
/// Longest line passed on; the rest of it is counted and dropped.
pub const MAX_LINE_BYTES: usize = 4096;

/// The last [`TAIL_LINES`] non-blank lines seen.
#[derive(Debug, Default)]
pub struct OutputTail {
    lines: VecDeque<String>,
}

impl OutputTail {
    pub fn push(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
    }

    pub fn text(&self) -> String {
        self.lines.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
    }
}

/// `raw` (one line, without its line break) as it is shown: at most
/// [`MAX_LINE_BYTES`] of it, control characters escaped.
pub fn shown_line(raw: &[u8], dropped: usize) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(MAX_LINE_BYTES)]);
    let mut line = escape_controls(text.trim_end_matches('\r'));
    let dropped = dropped + raw.len().saturating_sub(MAX_LINE_BYTES);
    if dropped > 0 {
        line.push_str(&format!("… ({dropped} more bytes)"));
    }
    line
}

/// Reads `stream` to its end and hands each line to `line` as
/// [`shown_line`] makes it; a line without a break is read in bounded
/// pieces, so memory stays bounded whatever the stream holds.
pub fn for_each_line(stream: impl Read, mut line: impl FnMut(String)) {
    let mut reader = std::io::BufReader::new(stream);
    let mut current: Vec<u8> = Vec::new();
    let mut dropped = 0usize;
    loop {
        let (consumed, ended) = match reader.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(buf) => {
                let end = buf.iter().position(|&b| b == b'\n');
                let piece = &buf[..end.unwrap_or(buf.len())];
                let room = MAX_LINE_BYTES + 1 - current.len().min(MAX_LINE_BYTES + 1);
                current.extend_from_slice(&piece[..piece.len().min(room)]);
                dropped += piece.len().saturating_sub(room);
                (end.map_or(buf.len(), |e| e + 1), end.is_some())
            }
        };
        reader.consume(consumed);
        if ended {
            line(shown_line(&current, dropped));
            current.clear();
            dropped = 0;
        }
    }
    if !current.is_empty() || dropped > 0 {
        line(shown_line(&current, dropped));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_lines_are_kept() {
        let mut tail = OutputTail::default();
        for i in 0..100_000 {
            tail.push(&format!("line {i}"));
        }
        tail.push("   ");
        let text = tail.text();
        assert_eq!(text.lines().count(), TAIL_LINES);
        assert!(text.starts_with("line 99980\n") && text.ends_with("line 99999"), "{text}");
    }

    #[test]
    fn lines_are_bounded_and_escaped() {
        let mut input = b"\x1b]0;title\x07red\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        input.extend(b"\nlast");
        let mut lines = Vec::new();
        for_each_line(input.as_slice(), |l| lines.push(l));
        assert_eq!(lines[0], "\\u{1b}]0;title\\u{7}red");
        assert!(lines[1].len() < MAX_LINE_BYTES + 64, "a 10 MiB line is cut");
        assert!(
            lines[1].ends_with(&format!("… ({} more bytes)", 10 * 1024 * 1024 - MAX_LINE_BYTES)),
            "{}",
            &lines[1][4090..]
        );
        assert_eq!(lines[2], "last");
        assert_eq!(lines.len(), 3);
    }
}
