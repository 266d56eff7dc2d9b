//! Where each value sits in the file. serde_yaml keeps no positions once it
//! has deserialised, so a second, event-level parse of the same text (with
//! `yaml-rust2`) records the position of every key and value by its path:
//! `nodes[1].id`, `network.links[0].dst`, `nodes[0].docker.ports.5000`.
//! Aliases are not expanded here, so this pass is linear in the file size.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::scenario::diagnostic::Position;

/// Where one value (and the key that names it, inside a mapping) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub key: Option<Position>,
    pub value: Position,
    /// Characters of the value as written (scalars), 1 for collections.
    pub value_len: usize,
}

/// Positions by value path; the root document is the empty path.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    spans: BTreeMap<String, Span>,
    scalars: BTreeMap<String, String>,
    pub(super) root: Option<RootKind>,
    /// Where the first alias (`*name`) is: where an alias bomb starts.
    pub(super) first_alias: Option<Position>,
    /// The first key written twice in one mapping: its name, where it
    /// first is and where it is again (YAML keeps the last, silently).
    pub(super) repeated_key: Option<(String, Position, Position)>,
}

/// What the document's top-level value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    Mapping,
    Sequence,
    Scalar,
}

impl SpanMap {
    /// The span of the value at `path`, if the file has one there.
    pub fn get(&self, path: &str) -> Option<Span> {
        self.spans.get(path).copied()
    }

    /// Position of the value at `path`, or of the nearest enclosing value
    /// the file has (so a missing key points at the mapping it is missing from).
    pub fn value_or_parent(&self, path: &str) -> Option<(Position, usize)> {
        let mut p = path;
        loop {
            if let Some(s) = self.spans.get(p) {
                return Some((s.value, s.value_len));
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// The text of the scalar at `path`.
    pub fn scalar(&self, path: &str) -> Option<&str> {
        self.scalars.get(path).map(String::as_str)
    }

    /// The `id` of the node whose entry contains `path` (`nodes[3].docker.ports` → node 3's id).
    pub fn node_id_for(&self, path: &str) -> Option<&str> {
        let rest = path.strip_prefix("nodes[")?;
        let index = &rest[..rest.find(']')?];
        self.scalar(&format!("nodes[{index}].id"))
    }

    /// Position of the key naming `path` (falls back to its value).
    pub fn key(&self, path: &str) -> Option<(Position, usize)> {
        let s = self.spans.get(path)?;
        let name_len = path.rsplit('.').next().map_or(1, str::len);
        Some(match s.key {
            Some(k) => (k, name_len),
            None => (s.value, s.value_len),
        })
    }
}

enum Frame {
    Map { path: String, key: Option<(String, Position)> },
    Seq { path: String, next_index: usize },
}

#[derive(Default)]
struct Recorder {
    stack: Vec<Frame>,
    map: SpanMap,
}

fn position(mark: Marker) -> Position {
    Position { line: mark.line(), column: mark.col() + 1 }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

impl Recorder {
    /// Records a value starting at `mark`, returning its path; `None` when
    /// the event was a mapping key rather than a value.
    fn value(&mut self, mark: Marker, key_text: Option<&str>, len: usize, kind: RootKind) -> Option<String> {
        let here = position(mark);
        let (path, key_pos) = match self.stack.last_mut() {
            None => (String::new(), None),
            Some(Frame::Seq { path, next_index }) => {
                let p = format!("{path}[{next_index}]");
                *next_index += 1;
                (p, None)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    // This event is a key. Complex keys (maps as keys) get a placeholder.
                    *key = Some((key_text.unwrap_or("?").to_string(), here));
                    return None;
                }
                Some((name, key_pos)) => {
                    let path = join(path, &name);
                    // Complex keys share the placeholder; only written names can repeat.
                    if name != "?"
                        && self.map.repeated_key.is_none()
                        && let Some(first) = self.map.spans.get(&path).and_then(|s| s.key)
                    {
                        self.map.repeated_key = Some((name, first, key_pos));
                    }
                    (path, Some(key_pos))
                }
            },
        };
        if path.is_empty() && self.map.root.is_none() {
            self.map.root = Some(kind);
        }
        self.map.spans.insert(path.clone(), Span { key: key_pos, value: here, value_len: len.max(1) });
        Some(path)
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, _, _) => {
                let quotes = match style {
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 2,
                    _ => 0,
                };
                let len = text.chars().count() + quotes;
                if let Some(path) = self.value(mark, Some(&text), len, RootKind::Scalar) {
                    self.map.scalars.insert(path, text);
                }
            }
            Event::Alias(_) => {
                self.map.first_alias.get_or_insert(position(mark));
                self.value(mark, None, 1, RootKind::Scalar);
            }
            Event::MappingStart(..) => {
                let path = self.value(mark, None, 1, RootKind::Mapping).unwrap_or_else(|| "?".to_string());
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.value(mark, None, 1, RootKind::Sequence).unwrap_or_else(|| "?".to_string());
                self.stack.push(Frame::Seq { path, next_index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// A YAML syntax error, with where the scanner stopped.
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// Records the position of every value in `source`.
pub fn record(source: &str) -> Result<SpanMap, SyntaxError> {
    let mut recorder = Recorder::default();
    Parser::new_from_str(source)
        .load(&mut recorder, false)
        .map_err(|e| SyntaxError { position: position(*e.marker()), message: e.info().to_string() })?;
    Ok(recorder.map)
}
