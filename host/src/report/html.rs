//! The page's HTML pieces: escaping, tables, figures written out as text.

use std::fmt::Write;

/// `s` safe inside HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole number with thousands separators: 1234567 → "1,234,567".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Microseconds as a person reads them: "850 µs", "2.35 ms", "1.20 s".
pub fn micros(us: f64) -> String {
    if !us.is_finite() {
        return format!("{us}");
    }
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// A table with a header row; cells are HTML already. `sortable` tables
/// sort by a column when its header is clicked (numbers as numbers).
pub fn table(out: &mut String, id: &str, sortable: bool, header: &[&str], rows: &[Vec<String>]) {
    let class = if sortable { " class=\"sortable\"" } else { "" };
    let _ = write!(out, "<table id=\"{id}\"{class}><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

/// A plot (inline SVG, or the line saying why it could not be drawn) with its caption.
pub fn figure(out: &mut String, id: &str, svg: &str, caption: &str) {
    let _ = writeln!(out, "<figure id=\"{id}\">{svg}<figcaption>{}</figcaption></figure>", escape(caption));
}

/// Sorts a `sortable` table by the clicked column: the page's only script,
/// and the page reads the same without it.
pub const SORT_SCRIPT: &str = r#"<script>
for (const table of document.querySelectorAll("table.sortable")) {
  table.querySelectorAll("th").forEach((th, col) => {
    th.addEventListener("click", () => {
      const body = table.tBodies[0];
      // Whole numbers ("1,234") as numbers, anything else as text; numbers first.
      const key = tr => { const t = tr.cells[col].textContent.trim(); const n = Number(t.replace(/,/g, "")); return t !== "" && !isNaN(n) ? [0, n] : [1, t]; };
      const down = th.dataset.dir !== "down";
      th.dataset.dir = down ? "down" : "up";
      const cmp = (x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
      [...body.rows].sort((a, b) => cmp(key(a), key(b)) * (down ? -1 : 1)).forEach(r => body.appendChild(r));
    });
  });
}
</script>"#;

pub const STYLE: &str = r#"<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
td { max-width: 28em; overflow-wrap: anywhere; vertical-align: top; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
table.sortable th { cursor: pointer; }
.status-finished { color: #176f2c; } .status-failed, .status-interrupted { color: #b00020; }
code { background: #f4f4f4; padding: 0.1em 0.3em; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
.note { color: #555; font-size: 0.9em; }
</style>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_numbers() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(micros(850.0), "850 µs");
        assert_eq!(micros(2_345.0), "2.35 ms");
        assert_eq!(micros(1_200_000.0), "1.20 s");
    }
}
