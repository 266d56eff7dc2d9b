//! The images a Dockerfile builds on: its `FROM` lines (and `COPY
//! --from=IMAGE`), read as the engine reads them, so a build can be keyed
//! on each base image's id and redone when a base is rebuilt.
//!
//! Handled: line continuations and the `escape` directive, comments,
//! `ARG`s declared before the first `FROM` with their defaults (`$NAME`,
//! `${NAME}`, `${NAME:-word}`, `${NAME:+word}`), `FROM --platform=… IMAGE
//! AS NAME`, stages named by a later `FROM` or `--from` (by name or
//! number, not images), and `scratch` (no image at all). No build
//! arguments are passed to the engine, so the defaults are the values.

use std::collections::BTreeMap;

/// An image the build reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// As the engine will look it up (`debian:bookworm`).
    pub reference: String,
    /// The Dockerfile line of its instruction (1-based).
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerfileError {
    #[error("line {line}: `FROM` names no image")]
    NoImage { line: usize },
    #[error("line {line}: `{instruction}` names no image once its ARGs are filled in ({written})")]
    EmptyAfterArgs { line: usize, instruction: String, written: String },
    #[error("it has no `FROM` line")]
    NoFrom,
}

/// The base images of the Dockerfile `text`, each once, in order.
pub fn base_images(text: &str) -> Result<Vec<BaseImage>, DockerfileError> {
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut bases: Vec<BaseImage> = Vec::new();
    let add = |bases: &mut Vec<BaseImage>, reference: String, line: usize| {
        if !bases.iter().any(|b| b.reference == reference) {
            bases.push(BaseImage { reference, line });
        }
    };
    let mut seen_from = false;
    for (line, instruction) in instructions(text) {
        let (keyword, rest) = instruction.split_once(char::is_whitespace).unwrap_or((instruction.as_str(), ""));
        let words: Vec<&str> = rest.split_whitespace().collect();
        match keyword.to_ascii_uppercase().as_str() {
            "ARG" if !seen_from => {
                for word in words {
                    let (name, value) = word.split_once('=').unwrap_or((word, ""));
                    let value = expand(unquote(value), &args);
                    args.insert(name.to_string(), value);
                }
            }
            "FROM" => {
                seen_from = true;
                let mut words = words.into_iter().filter(|w| !w.starts_with("--"));
                let written = words.next().ok_or(DockerfileError::NoImage { line })?;
                let image = expand(written, &args);
                if image.is_empty() {
                    let instruction = "FROM".to_string();
                    return Err(DockerfileError::EmptyAfterArgs { line, instruction, written: written.into() });
                }
                if !image.eq_ignore_ascii_case("scratch") && !is_stage(&image, &stages) {
                    add(&mut bases, image, line);
                }
                let name = match (words.next(), words.next()) {
                    (Some(as_), Some(name)) if as_.eq_ignore_ascii_case("as") => name.to_ascii_lowercase(),
                    _ => String::new(),
                };
                stages.push(name);
            }
            "COPY" => {
                for word in words.iter().take_while(|w| w.starts_with("--")) {
                    if let Some(from) = word.strip_prefix("--from=") {
                        let image = expand(from, &args);
                        if image.is_empty() {
                            let instruction = "COPY --from".to_string();
                            return Err(DockerfileError::EmptyAfterArgs { line, instruction, written: from.into() });
                        }
                        if !is_stage(&image, &stages) {
                            add(&mut bases, image, line);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !seen_from {
        return Err(DockerfileError::NoFrom);
    }
    Ok(bases)
}

/// Whether `name` is an earlier stage: by its `AS` name or its number.
fn is_stage(name: &str, stages: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    stages.iter().any(|s| !s.is_empty() && *s == lower) || name.parse::<usize>().is_ok_and(|i| i < stages.len())
}

/// The instructions of `text`, continuation lines joined, each with the
/// line it starts on.
fn instructions(text: &str) -> Vec<(usize, String)> {
    let mut escape = '\\';
    let mut directives = true;
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if directives {
            if let Some(directive) = trimmed.strip_prefix('#') {
                if let Some((key, value)) = directive.split_once('=')
                    && key.trim().eq_ignore_ascii_case("escape")
                {
                    escape = value.trim().chars().next().unwrap_or('\\');
                }
                continue;
            }
            directives = false;
        }
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let (continues, body) = match trimmed.strip_suffix(escape) {
            Some(body) => (true, body),
            None => (false, trimmed),
        };
        let (_, text) = current.get_or_insert_with(|| (index + 1, String::new()));
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(body);
        if !continues && let Some(done) = current.take() {
            out.push(done);
        }
    }
    out.extend(current);
    out
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}

/// `text` with `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}`
/// replaced from `args` (an unknown name is empty, as for the engine).
fn expand(text: &str, args: &BTreeMap<String, String>) -> String {
    let value = |name: &str| args.get(name).cloned().unwrap_or_default();
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'$') => out.push(chars.next().expect("peeked")),
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                let inner: String = chars.by_ref().take_while(|&c| c != '}').collect();
                if let Some((name, word)) = inner.split_once(":-") {
                    let v = value(name);
                    out.push_str(if v.is_empty() { word } else { &v });
                } else if let Some((name, word)) = inner.split_once(":+") {
                    if !value(name).is_empty() {
                        out.push_str(word);
                    }
                } else {
                    out.push_str(&value(&inner));
                }
            }
            '$' if chars.peek().is_some_and(|c| c.is_ascii_alphabetic() || *c == '_') => {
                let mut name = String::new();
                while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric() || **c == '_') {
                    name.push(c);
                    chars.next();
                }
                out.push_str(&value(&name));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn references(text: &str) -> Vec<(String, usize)> {
        base_images(text).unwrap().into_iter().map(|b| (b.reference, b.line)).collect()
    }

    #[test]
    fn scratch_has_no_base() {
        assert!(references("# a static binary\nFROM scratch\nCOPY bin/x /x\n").is_empty());
        assert!(references("from SCRATCH\n").is_empty());
    }

    #[test]
    fn args_before_from_fill_it_in() {
        let text = "ARG DISTRO=debian\nARG TAG=\"bookworm\"\nFROM ${DISTRO}:$TAG\nARG TAG=ignored\nFROM ${MISSING:-alpine}:3\n";
        assert_eq!(references(text), [("debian:bookworm".into(), 3), ("alpine:3".into(), 5)]);
    }

    #[test]
    fn stages_are_not_images() {
        let text = "FROM --platform=linux/amd64 rust:1 AS Build\nRUN make\nFROM build AS test\nFROM scratch\n\
                    COPY --from=build /x /x\nCOPY --from=1 /y /y\nCOPY --from=busybox:1 /bin/sh /sh\n";
        assert_eq!(references(text), [("rust:1".into(), 1), ("busybox:1".into(), 7)]);
    }

    #[test]
    fn continuations_comments_and_the_escape_directive() {
        let text = "# escape=`\n\n# comment\nFROM `\n  # inside\n  debian:12 `\n  AS base\nFROM base\n";
        assert_eq!(references(text), [("debian:12".into(), 4)]);
        assert_eq!(references("FROM \\\n  alpine:3\n"), [("alpine:3".into(), 1)]);
    }

    #[test]
    fn a_from_without_an_image_is_an_error_with_its_line() {
        assert_eq!(base_images("\nFROM\n"), Err(DockerfileError::NoImage { line: 2 }));
        assert!(matches!(base_images("ARG BASE\nFROM $BASE\n"), Err(DockerfileError::EmptyAfterArgs { line: 2, .. })));
        assert_eq!(base_images("RUN true\n"), Err(DockerfileError::NoFrom));
    }
}
