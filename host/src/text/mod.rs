//! Text as xedgesim shows it, shared by every layer: virtual times in
//! messages, control characters escaped (a guest's words never move the
//! cursor or fake a line of ours), text cut at a character boundary,
//! bytes in hexadecimal, and quoting for a shell ([`shell`]). Names no
//! other module of the crate.

pub mod shell;

/// `1.000100 s`: virtual times in messages, exact to the microsecond.
pub fn format_time(time_us: u64) -> String {
    format!("{}.{:06} s", time_us / 1_000_000, time_us % 1_000_000)
}

/// `text` with every control character (line breaks, escape sequences)
/// written as a visible escape: text from a guest cannot move the cursor,
/// clear a terminal or fake a line of xedgesim's own.
pub fn escape_controls(text: &str) -> String {
    escape_controls_but(text, &[])
}

/// [`escape_controls`], leaving the characters in `keep` as they are.
pub fn escape_controls_but(text: &str, keep: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && !keep.contains(&c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// `bytes` in lowercase hexadecimal, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The longest start of `text` of at most `max_bytes` bytes that ends on
/// a character boundary.
pub fn byte_prefix(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` cut to at most `max` bytes (on a character boundary), marked when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    format!("{}… ({} bytes)", byte_prefix(text, max), text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_seconds_exact_to_the_microsecond() {
        assert_eq!(format_time(0), "0.000000 s");
        assert_eq!(format_time(1_000_100), "1.000100 s");
    }

    #[test]
    fn bytes_are_two_hex_digits_each() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab]), "000fab");
    }

    #[test]
    fn control_characters_are_escaped_but_those_kept() {
        assert_eq!(escape_controls("a\u{1b}[2J\nb"), "a\\u{1b}[2J\\nb");
        assert_eq!(escape_controls_but("a\nb\tc", &['\n']), "a\nb\\tc");
    }

    #[test]
    fn text_is_cut_at_a_character_boundary() {
        assert_eq!(byte_prefix("héllo", 2), "h");
        assert_eq!(byte_prefix("héllo", 3), "hé");
        assert_eq!(byte_prefix("hi", 5), "hi");
        assert_eq!(truncate("héllo", 2), "h… (6 bytes)");
        assert_eq!(truncate("hello", 5), "hello");
    }
}
