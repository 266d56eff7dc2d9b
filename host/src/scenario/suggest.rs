//! "Did you mean …?" for misspelt keys and values.

/// Longest text a suggestion is looked for: node ids are at most 64
/// characters, keys and names shorter; a longer text is no typo of them.
const MAX_SUGGEST_CHARS: usize = 128;

/// Most edit-distance cells one suggestion may compute: with 100,000 node
/// ids to compare against, the search stops there (it may then miss the
/// closest, never hang).
const MAX_SUGGEST_WORK: usize = 20_000_000;

/// The closest candidate to `found`, if it is close enough to be a likely typo.
pub fn closest<'a>(found: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let found: Vec<char> = found.to_ascii_lowercase().chars().collect();
    if found.len() > MAX_SUGGEST_CHARS {
        return None;
    }
    let mut work = 0usize;
    let mut best: Option<(usize, &str)> = None;
    for &candidate in candidates {
        let c: Vec<char> = candidate.to_ascii_lowercase().chars().collect();
        let allowed = (c.len().max(found.len()) / 3).max(1);
        // The distance is at least the difference in length.
        if c.len() > MAX_SUGGEST_CHARS || c.len().abs_diff(found.len()) > allowed {
            continue;
        }
        work += (found.len() + 1) * (c.len() + 1);
        if work > MAX_SUGGEST_WORK {
            break;
        }
        let d = edit_distance(&found, &c);
        if d <= allowed && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean 'x'?` or, with no close candidate, the allowed values (the
/// first 20 of them).
pub fn did_you_mean(found: &str, candidates: &[&str]) -> String {
    match closest(found, candidates) {
        Some(c) => format!("did you mean '{c}'?"),
        None if candidates.len() > 20 => {
            format!("expected one of: {}, … ({} in all)", candidates[..20].join(", "), candidates.len())
        }
        None => format!("expected one of: {}", candidates.join(", ")),
    }
}

/// Levenshtein distance, counting a swap of two neighbours as one edit;
/// three rows of memory, not a matrix.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
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

    #[test]
    fn distances() {
        let d = |a: &str, b: &str| edit_distance(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("ab", "ba"), 1);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("gateway", "gatewya"), 1);
    }

    #[test]
    fn a_huge_text_gets_no_suggestion_and_costs_nothing() {
        let huge = "x".repeat(4 << 20);
        assert_eq!(closest(&huge, &["sensor1", "gateway"]), None);
        let ids: Vec<String> = (0..100_000).map(|i| format!("s{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(closest("s9999x", &ids), Some("s9999"));
    }
}
