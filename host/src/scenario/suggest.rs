//! "Did you mean …?" for misspelt keys and values.

/// The closest candidate to `found`, if it is close enough to be a likely typo.
pub fn closest<'a>(found: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let found = found.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&found, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len().max(found.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `did you mean 'x'?` or, with no close candidate, the list of allowed values.
pub fn did_you_mean(found: &str, candidates: &[&str]) -> String {
    match closest(found, candidates) {
        Some(c) => format!("did you mean '{c}'?"),
        None => format!("expected one of: {}", candidates.join(", ")),
    }
}

/// Levenshtein distance, counting a swap of two neighbours as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_values_only() {
        assert_eq!(closest("dokcer", &["wasm", "docker"]), Some("docker"));
        assert_eq!(closest("wsam", &["wasm", "docker"]), Some("wasm"));
        assert_eq!(closest("kubernetes", &["wasm", "docker"]), None);
        assert_eq!(did_you_mean("kubernetes", &["wasm", "docker"]), "expected one of: wasm, docker");
    }
}
