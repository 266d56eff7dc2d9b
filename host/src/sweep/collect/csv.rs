//! The little CSV this module needs: fields quoted per RFC 4180 when they
//! must be (as `metrics.csv` writes them), and records read back the same way.

/// `s` as one CSV field: its control characters (line breaks too) written
/// as visible escapes (`\n`, `\u{1b}`), quoted when it holds a comma or a quote.
pub fn field(s: &str) -> String {
    let s = crate::text::escape_controls(s);
    if s.contains([',', '"']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// One CSV line of `fields`, each quoted as it must be, ending in `\n`.
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = fields.iter().map(|f| field(f.as_ref())).collect::<Vec<_>>().join(",");
    out.push('\n');
    out
}

/// The records of `text`: quoted fields may hold commas, quotes (doubled)
/// and line breaks; a `\r\n` ends a record like `\n`. Blank lines are skipped.
pub fn records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => current.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut current)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut current));
                if record.len() > 1 || !record[0].is_empty() {
                    records.push(std::mem::take(&mut record));
                } else {
                    record.clear();
                }
            }
            (false, c) => current.push(c),
        }
    }
    if !current.is_empty() || !record.is_empty() {
        record.push(current);
        records.push(record);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_through_quoting() {
        let fields = ["plain", "a,b", "say \"hi\"", ""];
        let text = format!("{}{}", line(&fields), line(&["x", "y"]));
        assert_eq!(records(&text), vec![fields.map(String::from).to_vec(), vec!["x".to_string(), "y".to_string()]]);
        // Control characters, line breaks too, are written as visible escapes.
        assert_eq!(line(&["two\nlines", "esc\u{1b}[2J", "a,\0"]), "two\\nlines,esc\\u{1b}[2J,\"a,\\0\"\n");
        assert_eq!(records("a,b\r\n\nc,d"), vec![vec!["a", "b"], vec!["c", "d"]]);
    }
}
