//! The payload format of the built-in models: one flat JSON object of
//! numbers and strings, e.g. `{"temperature":20.5,"unit":"C","sample_id":1}`.
//! Small enough to write by hand, so models carry no JSON library.

use std::collections::BTreeMap;
use std::fmt::Write;

/// One field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Number(f64),
    Text(String),
}

/// Encodes `fields`, in order, as a flat JSON object.
pub fn encode(fields: &[(&str, Field)]) -> Vec<u8> {
    let mut out = String::with_capacity(16 * fields.len() + 2);
    out.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(&mut out, key);
        out.push(':');
        match value {
            // Shortest round-trip form: deterministic, and integers print without ".0".
            Field::Number(n) if n.is_finite() => write!(out, "{n}").expect("writing to a String"),
            Field::Number(_) => out.push_str("null"),
            Field::Text(s) => push_string(&mut out, s),
        }
    }
    out.push('}');
    out.into_bytes()
}

fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).expect("writing to a String"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A decoded payload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload(pub BTreeMap<String, Field>);

impl Payload {
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.0.get(key)? {
            Field::Number(n) => Some(*n),
            Field::Text(_) => None,
        }
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        match self.0.get(key)? {
            Field::Text(s) => Some(s),
            Field::Number(_) => None,
        }
    }
}

/// Decodes a flat JSON object of numbers and strings.
pub fn decode(bytes: &[u8]) -> Result<Payload, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "payload is not UTF-8".to_string())?;
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let mut fields = BTreeMap::new();
    p.expect(b'{')?;
    if !p.eat(b'}') {
        loop {
            let key = p.string()?;
            p.expect(b':')?;
            let value = if p.peek() == Some(b'"') {
                Field::Text(p.string()?)
            } else if p.eat_word("null") {
                Field::Number(f64::NAN)
            } else {
                Field::Number(p.number()?)
            };
            fields.insert(key, value);
            if p.eat(b'}') {
                break;
            }
            p.expect(b',')?;
        }
    }
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!("trailing bytes in payload at offset {}", p.i));
    }
    Ok(Payload(fields))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_ws();
        let hit = self.s[self.i..].starts_with(word.as_bytes());
        if hit {
            self.i += word.len();
        }
        hit
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.eat(b) { Ok(()) } else { Err(format!("expected '{}' at offset {} of payload", b as char, self.i)) }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let c = *self.s.get(self.i).ok_or("unterminated string in payload")?;
            self.i += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("unterminated escape in payload")?;
                    self.i += 1;
                    match e {
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
                            let code = u32::from_str_radix(std::str::from_utf8(hex).map_err(|e| e.to_string())?, 16)
                                .map_err(|e| e.to_string())?;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            self.i += 4;
                        }
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        other => out.push(other as char),
                    }
                }
                _ => {
                    // Copy one whole UTF-8 sequence.
                    let start = self.i - 1;
                    let len = match c {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let end = (start + len).min(self.s.len());
                    out.push_str(std::str::from_utf8(&self.s[start..end]).map_err(|e| e.to_string())?);
                    self.i = end;
                }
            }
        }
    }

    fn number(&mut self) -> Result<f64, String> {
        self.skip_ws();
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c)) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("expected a number at offset {start} of payload"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let bytes = encode(&[
            ("temperature", Field::Number(20.5)),
            ("unit", Field::Text("C \"quoted\"".into())),
            ("sample_id", Field::Number(1.0)),
        ]);
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), r#"{"temperature":20.5,"unit":"C \"quoted\"","sample_id":1}"#);
        let p = decode(&bytes).unwrap();
        assert_eq!(p.number("temperature"), Some(20.5));
        assert_eq!(p.text("unit"), Some("C \"quoted\""));
        assert_eq!(p.number("sample_id"), Some(1.0));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [&b"not json"[..], b"{\"a\":}", b"{\"a\":1", b"{\"a\":1} x", b"\xff"] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
