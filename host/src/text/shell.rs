//! Quoting for a POSIX shell, for the reproduce commands the CLI prints
//! and the run report shows.

/// `s` as one shell word: as it is when it holds only characters no shell
/// treats specially, else in single quotes.
pub(crate) fn quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn paths_are_quoted_for_a_shell_when_they_need_it() {
        assert_eq!(quote("scenarios/a.yaml"), "scenarios/a.yaml");
        assert_eq!(quote("my runs/out"), "'my runs/out'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
    }
}
