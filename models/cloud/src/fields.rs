//! The numbers the cloud reads from a payload: top-level fields of one
//! JSON object, by name. Unlike the SDK's flat decoder it skips nested
//! lists and objects (xEdgeSim's ML request carries its `features` as a
//! list), and it keeps no map: a payload is read once, for a few names.
//! On a flat object it gives what the SDK's decoder gives: the last value
//! of a name, `null` as NaN, a string as no number.

/// The number of each of `names` in `payload`, or `None` for all when the
/// payload is not one JSON object.
pub fn numbers<const N: usize>(payload: &[u8], names: [Option<&str>; N]) -> Option<[Option<f64>; N]> {
    // Not checked as UTF-8 whole (2 fuel a byte): outside its strings, which
    // are, a flat object is ASCII or fails to parse.
    let mut r = Reader { s: payload, i: 0 };
    let mut found = [None; N];
    r.expect(b'{')?;
    if !r.eat(b'}') {
        loop {
            let key = r.string()?;
            r.expect(b':')?;
            let value = match r.peek()? {
                b'"' => r.string().map(|_| None)?,
                b'[' | b'{' => r.nested().map(|()| None)?,
                _ if r.eat_word("null") => Some(f64::NAN),
                _ => Some(r.number()?),
            };
            for (name, slot) in names.iter().zip(found.iter_mut()) {
                if name.is_some_and(|n| n == key) {
                    *slot = value;
                }
            }
            if r.eat(b'}') {
                break;
            }
            r.expect(b',')?;
        }
    }
    r.skip_ws();
    (r.i == r.s.len()).then_some(found)
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
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
        let hit = self.s[self.i..].starts_with(word.as_bytes());
        if hit {
            self.i += word.len();
        }
        hit
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        self.eat(b).then_some(())
    }

    /// A string, unescaped as the SDK's decoder does.
    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let start = self.i;
        // Most strings have no escape: one slice of the text.
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(std::str::from_utf8(&self.s[start..self.i - 1]).ok()?.to_string());
                }
                b'\\' => break,
                _ => self.i += 1,
            }
        }
        let mut out = std::str::from_utf8(&self.s[start..self.i]).ok()?.to_string();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?).unwrap_or('\u{fffd}'));
                            self.i += 4;
                        }
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        other => out.push(other as char),
                    }
                }
                _ => {
                    // One whole UTF-8 sequence (the text is UTF-8).
                    let start = self.i - 1;
                    let len = match c {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let end = (start + len).min(self.s.len());
                    out.push_str(std::str::from_utf8(&self.s[start..end]).ok()?);
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
                    self.string()?;
                }
                b'[' | b'{' => {
                    depth += 1;
                    self.i += 1;
                }
                _ => {
                    depth -= 1;
                    self.i += 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
            }
        }
    }

    fn number(&mut self) -> Option<f64> {
        self.skip_ws();
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c)) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).ok()?.parse().ok()
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
    use xedgesim_model::payload::decode;

    use super::*;

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
