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

/// The number of each of `names` among the top-level fields of one JSON
/// object, or `None` for all when `payload` is not one. Unlike [`decode`]
/// it skips nested lists and objects (xEdgeSim's ML request carries its
/// `features` as a list) and keeps no map: a payload read once, for a few
/// names. On a flat object it gives what [`decode`] gives: the last value
/// of a name, `null` as NaN, a string as no number.
pub fn numbers<const N: usize>(payload: &[u8], names: [Option<&str>; N]) -> Option<[Option<f64>; N]> {
    // Not checked as UTF-8 whole (2 fuel a byte in a component): outside
    // its strings, which are, a flat object is ASCII or fails to parse.
    let mut p = Parser { s: payload, i: 0 };
    let mut found = [None; N];
    p.expect(b'{').ok()?;
    if !p.eat(b'}') {
        loop {
            let key = p.string().ok()?;
            p.expect(b':').ok()?;
            let value = match p.peek()? {
                b'"' => p.string().map(|_| None).ok()?,
                b'[' | b'{' => p.nested().map(|()| None)?,
                _ if p.eat_word("null") => Some(f64::NAN),
                _ => Some(p.number().ok()?),
            };
            for (name, slot) in names.iter().zip(found.iter_mut()) {
                if name.is_some_and(|n| n == key) {
                    *slot = value;
                }
            }
            if p.eat(b'}') {
                break;
            }
            p.expect(b',').ok()?;
        }
    }
    p.skip_ws();
    (p.i == p.s.len()).then_some(found)
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
        let start = self.i;
        // Most strings have no escape: one slice of the text.
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'"' => {
                    self.i += 1;
                    let text = std::str::from_utf8(&self.s[start..self.i - 1]).map_err(|e| e.to_string())?;
                    return Ok(text.to_string());
                }
                b'\\' => break,
                _ => self.i += 1,
            }
        }
        let mut out = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?.to_string();
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

    /// Skips a list or an object, strings in it included, from one
    /// bracket, brace or quote to the next.
    fn nested(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            self.i += structural(&self.s[self.i..])?;
            match self.s[self.i] {
                b'"' => {
                    self.string().ok()?;
                }
                b'[' | b'{' => {
                    depth += 1;
                    self.i += 1;
                }
                _ => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                    if depth == 0 {
                        return Some(());
                    }
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

/// Where the first `"`, `[`, `]`, `{` or `}` of `bytes` is, looked for 32
/// bytes at a time. Numbers, commas and white space are below 0x40 and not
/// `"`, so one cheap test a word passes most blocks; a block that fails it
/// is looked at byte by byte. Measured in a component: an ML request of
/// 4,096 values (40 KB) cost the cloud 1.2 million fuel read a byte at a
/// time, more than 10 times what the message brings; now 150,000 (so a
/// step's inbox, at most 16 MiB, stays within its fuel).
fn structural(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let is_structural = |c: &u8| matches!(c, b'"' | b'[' | b']' | b'{' | b'}');
    // Bit 6 of any byte, or a zero byte where the word had a `"`.
    let candidates = |w: u64| {
        let x = w ^ (ONES * u64::from(b'"'));
        (w & (ONES * 0x40)) | (x.wrapping_sub(ONES) & !x & (ONES * 0x80))
    };
    let mut at = 0;
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        let word = |i: usize| u64::from_le_bytes(block[i..i + 8].try_into().expect("a 32-byte block"));
        if candidates(word(0)) | candidates(word(8)) | candidates(word(16)) | candidates(word(24)) != 0
            && let Some(p) = block.iter().position(is_structural)
        {
            return Some(at + p);
        }
        at += 32;
    }
    blocks.remainder().iter().position(is_structural).map(|p| at + p)
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

    #[test]
    fn reads_numbers_by_name_skipping_nested_values() {
        let request = br#"{"device_id":"s\"1","timestamp_us":1000000,"features":[1.5,[2],{"a":"]"}],"x":{"t_us":3}}"#;
        assert_eq!(numbers(request, [Some("t_us"), Some("timestamp_us"), None]), Some([None, Some(1e6), None]));
        let result = br#"{"device_id":"s1","timestamp_us":5,"prediction":0.25,"inference_time_ms":0.1}"#;
        assert_eq!(numbers(result, [Some("prediction"), Some("device_id")]), Some([Some(0.25), None]));
        assert!(numbers(b"{\"a\":[1,2}", [Some("a")]).is_none());
        assert!(numbers(b"{\"a\":1} x", [Some("a")]).is_none());
    }

    #[test]
    fn the_structural_scan_finds_what_a_byte_at_a_time_finds() {
        for len in [1, 7, 8, 31, 32, 33, 64, 70] {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'1'; len];
                    bytes[at] = byte;
                    let expected = bytes.iter().position(|c| b"\"[]{}".contains(c));
                    assert_eq!(structural(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn gives_what_the_sdk_decoder_gives_on_flat_objects() {
        let names = ["t_us", "temperature", "unit", "x", "n"];
        for payload in [
            &br#"{"temperature":20.5,"unit":"C","sample_id":1,"t_us":1000000}"#[..],
            br#" { "t_us" : 1 , "t_us" : "late" , "n" : null } "#,
            br#"{"t\u005fus":7,"x":-1.5e3}"#,
            br#"{}"#,
            b"not json",
            b"{\"a\":}",
            b"\xff",
            b"{\"t_us\":\"\xff\"}",
            b"{\"t_us\":1}\xff",
            br#"{"x":1,}"#,
        ] {
            let sdk = decode(payload).ok().map(|p| names.map(|n| p.number(n)));
            let ours = numbers(payload, names.map(Some));
            assert_eq!(format!("{ours:?}"), format!("{sdk:?}"), "{}", String::from_utf8_lossy(payload));
        }
    }
}
