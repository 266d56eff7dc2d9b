//! A build context as the engine receives it: the folder's files, less
//! those `.dockerignore` excludes, as a tar archive with fixed metadata, so
//! the same files always give the same bytes and the same SHA-256 — the
//! key under which an image is built once and then reused.
//!
//! `.dockerignore` follows Docker's rules: one pattern per line, `#`
//! comments, `*`, `?` and `**`, paths from the context's root, `!` to
//! re-include; the last matching line wins, and a pattern matching a
//! folder matches everything in it. The Dockerfile and `.dockerignore`
//! are always sent, as the engine needs them.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::DockerError;

/// A packed build context.
#[derive(Debug, Clone)]
pub struct BuildContext {
    pub tar: Vec<u8>,
    pub sha256: [u8; 32],
    /// Paths in the archive, relative, `/`-separated, sorted.
    pub files: Vec<String>,
}

struct Rule {
    pattern: glob::Pattern,
    include: bool,
}

fn rules(dockerignore: &str) -> Vec<Rule> {
    dockerignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let (include, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = pattern.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
            Some(Rule { pattern: glob::Pattern::new(pattern).ok()?, include })
        })
        .collect()
}

/// Whether `path` (relative, `/`-separated) is excluded by `rules`.
fn excluded(rules: &[Rule], path: &str) -> bool {
    let options = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
    let mut excluded = false;
    for rule in rules {
        // A rule matches the path or any folder above it.
        let mut prefix = String::new();
        let mut matched = false;
        for part in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if rule.pattern.matches_with(&prefix, options) {
                matched = true;
                break;
            }
        }
        if matched {
            excluded = !rule.include;
        }
    }
    excluded
}

/// Files under `dir`, sorted. Without `!` rules an excluded folder is not
/// entered (a large `target/` costs nothing); with them it must be, as a
/// rule may re-include something inside it.
fn walk(root: &Path, dir: &Path, rules: &[Rule], out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let may_reinclude = rules.iter().any(|r| r.include);
    for entry in entries {
        let path = entry.path();
        let kind = std::fs::metadata(&path)?;
        if kind.is_dir() {
            let relative = path.strip_prefix(root).expect("walked under root").to_string_lossy().replace('\\', "/");
            if !may_reinclude && excluded(rules, &relative) {
                continue;
            }
            walk(root, &path, rules, out)?;
        } else if kind.is_file() {
            out.push(path.strip_prefix(root).expect("walked under root").to_path_buf());
        }
    }
    Ok(())
}

/// Packs the folder `dir`; `dockerfile` is the Dockerfile's path inside it.
pub fn pack(dir: &Path, dockerfile: &str) -> Result<BuildContext, DockerError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DockerError::Context { path, source }
    };
    let ignore = match std::fs::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => rules(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(&dir.join(".dockerignore"))(e)),
    };
    let mut found = Vec::new();
    walk(dir, dir, &ignore, &mut found).map_err(io(dir))?;
    let mut builder = tar::Builder::new(Vec::new());
    let mut files = Vec::new();
    for relative in found {
        let name = relative.to_string_lossy().replace('\\', "/");
        let always = name == dockerfile || name == ".dockerignore";
        if !always && excluded(&ignore, &name) {
            continue;
        }
        let full = dir.join(&relative);
        let bytes = std::fs::read(&full).map_err(io(&full))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(if is_executable(&full) { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, &name, bytes.as_slice()).map_err(io(&full))?;
        files.push(name);
    }
    let tar = builder.into_inner().map_err(io(dir))?;
    let sha256 = Sha256::digest(&tar).into();
    Ok(BuildContext { tar, sha256, files })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules_follow_docker() {
        let r = rules("# comment\n*\n!Dockerfile\n!bin/gateway\n");
        assert!(excluded(&r, "src/main.rs"));
        assert!(excluded(&r, "bin/other"));
        assert!(!excluded(&r, "bin/gateway"));
        let r = rules("target\n**/*.log\n!keep.log\n");
        assert!(excluded(&r, "target/debug/x"), "a folder pattern covers its contents");
        assert!(excluded(&r, "a/b/c.log"));
        assert!(!excluded(&r, "keep.log"), "the last matching line wins");
        assert!(!excluded(&r, "src/lib.rs"));
    }

    #[test]
    fn packing_is_deterministic_and_honours_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "secret\n").unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/app"), "binary").unwrap();
        let a = pack(dir.path(), "Dockerfile").unwrap();
        assert_eq!(a.files, vec![".dockerignore", "Dockerfile", "bin/app"]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("bin/app"), "binary").unwrap();
        assert_eq!(pack(dir.path(), "Dockerfile").unwrap().sha256, a.sha256, "mtimes do not count");
        std::fs::write(dir.path().join("secret"), "changed").unwrap();
        assert_eq!(pack(dir.path(), "Dockerfile").unwrap().sha256, a.sha256, "ignored files do not count");
        std::fs::write(dir.path().join("bin/app"), "binary2").unwrap();
        assert_ne!(pack(dir.path(), "Dockerfile").unwrap().sha256, a.sha256);
    }
}
