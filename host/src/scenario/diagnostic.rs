//! One problem found in a scenario file, rendered like a compiler error:
//!
//! ```text
//! scenarios/x.yaml:7:21: error: implementation must be one of wasm, docker; found 'dokcer'
//!   |
//! 7 |     implementation: dokcer
//!   |                     ^^^^^^
//!   = node: gateway1
//!   = help: did you mean 'docker'?
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// Whether a diagnostic stops the scenario from being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A 1-based line and column in the scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A problem in a scenario file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub position: Option<Position>,
    /// Length of the offending text, for the `^^^` underline.
    pub width: usize,
    pub message: String,
    pub node: Option<String>,
    pub help: Option<String>,
    /// The source line the position points into, for display: at most
    /// [`WINDOW_CHARS`] of it around the position, `…` where it was cut.
    pub source_line: Option<String>,
    /// The position's 1-based column within `source_line`.
    pub window_column: usize,
}

/// Most characters of a source line a diagnostic quotes: a 4 MiB line
/// must not be copied into every diagnostic that points into it.
pub const WINDOW_CHARS: usize = 100;

impl Diagnostic {
    pub fn error(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            position: None,
            width: 1,
            message: bounded(message.into()),
            node: None,
            help: None,
            source_line: None,
            window_column: 1,
        }
    }

    pub fn warning(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(file, message) }
    }

    /// Points the diagnostic at `position` in `source`, underlining `width` characters.
    pub fn at(mut self, source: &str, position: Position, width: usize) -> Self {
        self.position = Some(position);
        self.width = width.max(1);
        if let Some(line) = source.lines().nth(position.line.saturating_sub(1)) {
            let (window, column) = window(line, position.column, self.width);
            self.width = self.width.min(WINDOW_CHARS);
            self.source_line = Some(window);
            self.window_column = column;
        }
        self
    }

    /// Names the node the problem is in (an empty id names nothing).
    pub fn node(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.node = (!id.is_empty()).then_some(id);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(bounded(help.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}", self.file.display())?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        write!(f, ": {label}: {}", self.message)?;
        if let (Some(p), Some(line)) = (self.position, &self.source_line) {
            let gutter = p.line.to_string().len();
            let pad = " ".repeat(gutter);
            let indent = " ".repeat(self.window_column.saturating_sub(1));
            write!(f, "\n{pad} |\n{} | {line}\n{pad} | {indent}{}", p.line, "^".repeat(self.width))?;
        }
        if let Some(node) = &self.node {
            write!(f, "\n  = node: {node}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Most characters of a message or help: they quote what the file says,
/// and a value may be megabytes long.
pub const MAX_MESSAGE_CHARS: usize = 400;

/// `text`, cut to about [`MAX_MESSAGE_CHARS`] characters: its start and
/// its end (where a message says what it found), the middle elided.
fn bounded(text: String) -> String {
    let chars = text.chars().count();
    if chars <= MAX_MESSAGE_CHARS {
        return text;
    }
    let half = MAX_MESSAGE_CHARS / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = text.chars().skip(chars - half).collect();
    format!("{head}…({} characters elided)…{tail}", chars - 2 * half)
}

/// At most [`WINDOW_CHARS`] characters of `line` around 1-based `column`,
/// and the column's place in them.
fn window(line: &str, column: usize, width: usize) -> (String, usize) {
    let chars = line.chars().count();
    if chars <= WINDOW_CHARS {
        return (line.to_string(), column);
    }
    let lead = WINDOW_CHARS / 3;
    let start = column.saturating_sub(1).saturating_sub(lead).min(chars.saturating_sub(WINDOW_CHARS));
    let end = (start + WINDOW_CHARS).max(start + width.min(WINDOW_CHARS)).min(chars);
    let mut text: String = line.chars().skip(start).take(end - start).collect();
    let mut column = column - start;
    if start > 0 {
        text.insert(0, '…');
        column += 1;
    }
    if end < chars {
        text.push('…');
    }
    (text, column)
}

/// Every diagnostic found in one file, errors and warnings, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}
