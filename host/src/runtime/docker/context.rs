//! A build context as the engine receives it: the folder's files, less
//! those `.dockerignore` excludes, as a tar archive with fixed metadata, so
//! the same files always give the same bytes and the same SHA-256 — part
//! of the key under which an image is built once and then reused.
//!
//! `.dockerignore` follows Docker's rules: one pattern per line, `#`
//! comments, `*`, `?` and `**`, paths from the context's root, `!` to
//! re-include; the last matching line wins, and a pattern matching a
//! folder matches everything in it. The Dockerfile and `.dockerignore`
//! are always sent.
//!
//! Symbolic links are sent as links, as Docker's CLI sends them: a link
//! never brings a file from outside the context into an image. The
//! archive is never held in memory: it is written once through a hasher
//! (the key) and again, streamed, to the engine, and it is bounded
//! ([`MAX_CONTEXT_BYTES`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::DockerError;

/// The most file content a build context may hold. Docker's CLI has no
/// bound; a forgotten `target/` or data folder would otherwise be copied
/// through the engine at every changed build.
pub const MAX_CONTEXT_BYTES: u64 = 2 << 30;

/// A build context: what is in it and the SHA-256 of its archive. The
/// archive itself is made on demand by [`BuildContext::write_tar`].
#[derive(Debug, Clone)]
pub struct BuildContext {
    pub dir: PathBuf,
    pub sha256: [u8; 32],
    pub entries: Vec<Entry>,
    /// The files' sizes added up.
    pub content_bytes: u64,
}

/// One archive entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative, `/`-separated.
    pub name: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File {
        size: u64,
        executable: bool,
    },
    /// A symbolic link and its target, as written (never followed).
    Symlink {
        target: PathBuf,
    },
    /// A folder with nothing in it (others come with their files): sent,
    /// as Docker's CLI sends it, so `COPY empty /empty` finds it.
    EmptyDir,
}

impl BuildContext {
    /// Paths in the archive, sorted.
    pub fn files(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// Writes the archive to `out` and returns its SHA-256: a caller that
    /// streams it compares that with [`BuildContext::sha256`] to know the
    /// files did not change in between. A file that changes size while it
    /// is read is an error (its header is already written).
    pub fn write_tar(&self, out: impl Write) -> Result<[u8; 32], DockerError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DockerError::Context { path, source }
        };
        let mut builder = tar::Builder::new(HashingWriter { inner: out, hash: Sha256::new() });
        for entry in &self.entries {
            let full = self.dir.join(&entry.name);
            let mut header = tar::Header::new_gnu();
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            match &entry.kind {
                EntryKind::File { size, executable } => {
                    header.set_size(*size);
                    header.set_mode(if *executable { 0o755 } else { 0o644 });
                    header.set_entry_type(tar::EntryType::Regular);
                    let file = std::fs::File::open(&full).map_err(io(&full))?;
                    let exact = ExactReader { inner: file.take(*size), left: *size };
                    builder.append_data(&mut header, &entry.name, exact).map_err(io(&full))?;
                }
                EntryKind::Symlink { target } => {
                    header.set_size(0);
                    header.set_mode(0o777);
                    header.set_entry_type(tar::EntryType::Symlink);
                    builder.append_link(&mut header, &entry.name, target).map_err(io(&full))?;
                }
                EntryKind::EmptyDir => {
                    header.set_size(0);
                    header.set_mode(0o755);
                    header.set_entry_type(tar::EntryType::Directory);
                    builder.append_data(&mut header, &entry.name, std::io::empty()).map_err(io(&full))?;
                }
            }
        }
        let hashing = builder.into_inner().map_err(io(&self.dir))?;
        Ok(hashing.hash.finalize().into())
    }
}

/// Passes bytes on and hashes them.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Reads exactly `left` bytes, or fails: a file that shrank since its
/// size was taken would otherwise shift every later entry of the archive.
struct ExactReader<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(std::io::Error::other("the file changed while it was packed; build again"));
        }
        self.left -= n as u64;
        Ok(n)
    }
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

/// Entries under `dir`, sorted: files, symbolic links (a link is
/// never followed, to a folder or a file) and empty folders. Without `!` rules an excluded
/// folder is not entered (a large `target/` costs nothing), unless it
/// holds the Dockerfile, which is always sent; with them it must be, as
/// a rule may re-include something inside it.
fn walk(
    root: &Path,
    dir: &Path,
    rules: &[Rule],
    dockerfile: &str,
    out: &mut Vec<(PathBuf, std::fs::Metadata)>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let may_reinclude = rules.iter().any(|r| r.include);
    for entry in entries {
        let path = entry.path();
        let kind = std::fs::symlink_metadata(&path)?;
        if kind.is_dir() {
            let relative = path.strip_prefix(root).expect("walked under root").to_string_lossy().replace('\\', "/");
            let holds_dockerfile = dockerfile.strip_prefix(relative.as_str()).is_some_and(|r| r.starts_with('/'));
            if !may_reinclude && !holds_dockerfile && excluded(rules, &relative) {
                continue;
            }
            let before = out.len();
            walk(root, &path, rules, dockerfile, out)?;
            if out.len() == before {
                out.push((path.strip_prefix(root).expect("walked under root").to_path_buf(), kind));
            }
        } else if kind.is_file() || kind.is_symlink() {
            out.push((path.strip_prefix(root).expect("walked under root").to_path_buf(), kind));
        }
    }
    Ok(())
}

/// Reads the folder `dir` (`dockerfile` is the Dockerfile's path inside
/// it) and hashes its archive, streaming: memory does not grow with the
/// files' sizes. More than `max_bytes` of files is an error naming the
/// largest.
pub fn read(dir: &Path, dockerfile: &str, max_bytes: u64) -> Result<BuildContext, DockerError> {
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
    walk(dir, dir, &ignore, dockerfile, &mut found).map_err(io(dir))?;
    let mut entries = Vec::new();
    let mut content_bytes = 0u64;
    let mut largest = (String::new(), 0u64);
    for (relative, metadata) in found {
        let name = relative.to_string_lossy().replace('\\', "/");
        let always = name == dockerfile || name == ".dockerignore";
        if !always && excluded(&ignore, &name) {
            continue;
        }
        let kind = if metadata.is_dir() {
            EntryKind::EmptyDir
        } else if metadata.is_symlink() {
            let full = dir.join(&relative);
            EntryKind::Symlink { target: std::fs::read_link(&full).map_err(io(&full))? }
        } else {
            content_bytes = content_bytes.saturating_add(metadata.len());
            if metadata.len() > largest.1 {
                largest = (name.clone(), metadata.len());
            }
            EntryKind::File { size: metadata.len(), executable: is_executable(&metadata) }
        };
        entries.push(Entry { name, kind });
    }
    if content_bytes > max_bytes {
        return Err(DockerError::ContextTooLarge {
            dir: dir.to_path_buf(),
            bytes: content_bytes,
            limit: max_bytes,
            largest: largest.0,
            largest_bytes: largest.1,
        });
    }
    let mut context = BuildContext { dir: dir.to_path_buf(), sha256: [0; 32], entries, content_bytes };
    context.sha256 = context.write_tar(std::io::sink())?;
    Ok(context)
}

#[cfg(unix)]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
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
    fn a_dockerfile_in_an_ignored_folder_is_still_sent() {
        // As Docker's CLI: `docker build -f docker/Dockerfile .` with
        // `docker` in .dockerignore builds; the engine needs the file.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docker")).unwrap();
        std::fs::write(dir.path().join("docker/Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join("docker/notes"), "x").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "docker\n").unwrap();
        let context = read(dir.path(), "docker/Dockerfile", MAX_CONTEXT_BYTES).unwrap();
        assert_eq!(context.files(), vec![".dockerignore", "docker/Dockerfile"]);
        // A folder whose name only starts like the Dockerfile's is still left out.
        std::fs::create_dir(dir.path().join("dock")).unwrap();
        std::fs::write(dir.path().join("dock/x"), "x").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "docker\ndock\n").unwrap();
        let context = read(dir.path(), "docker/Dockerfile", MAX_CONTEXT_BYTES).unwrap();
        assert_eq!(context.files(), vec![".dockerignore", "docker/Dockerfile"]);
    }

    #[test]
    fn empty_folders_are_sent_as_folders() {
        // As Docker's CLI sends them: `COPY empty /empty` needs the folder.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        for folder in ["empty", "full/inner", "ignored"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        }
        std::fs::write(dir.path().join("full/file"), "x").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "ignored\n").unwrap();
        let context = read_all(dir.path());
        assert_eq!(context.files(), [".dockerignore", "Dockerfile", "empty", "full/file", "full/inner"]);
        let mut sent = Vec::new();
        context.write_tar(&mut sent).unwrap();
        let folders: Vec<String> = tar::Archive::new(sent.as_slice())
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .filter(|e| e.header().entry_type() == tar::EntryType::Directory)
            .map(|e| e.path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(folders, ["empty", "full/inner"]);
    }

    fn read_all(dir: &Path) -> BuildContext {
        read(dir, "Dockerfile", MAX_CONTEXT_BYTES).unwrap()
    }

    #[test]
    fn packing_is_deterministic_and_honours_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "secret\n").unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/app"), "binary").unwrap();
        let a = read_all(dir.path());
        assert_eq!(a.files(), vec![".dockerignore", "Dockerfile", "bin/app"]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("bin/app"), "binary").unwrap();
        assert_eq!(read_all(dir.path()).sha256, a.sha256, "mtimes do not count");
        std::fs::write(dir.path().join("secret"), "changed").unwrap();
        assert_eq!(read_all(dir.path()).sha256, a.sha256, "ignored files do not count");
        std::fs::write(dir.path().join("bin/app"), "binary2").unwrap();
        assert_ne!(read_all(dir.path()).sha256, a.sha256);
    }

    /// The hash is the SHA-256 of exactly the bytes the engine is sent,
    /// computed through a sink: no archive is kept to compute it.
    #[test]
    fn the_hash_is_that_of_the_streamed_archive() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join("data"), vec![7u8; 300_000]).unwrap();
        let context = read_all(dir.path());
        let mut sent = Vec::new();
        assert_eq!(context.write_tar(&mut sent).unwrap(), context.sha256);
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&sent)), context.sha256);
        let names: Vec<String> = tar::Archive::new(sent.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["Dockerfile", "data"]);
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_sent_as_links_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "the secret").unwrap();
        std::fs::create_dir(outside.path().join("folder")).unwrap();
        std::fs::write(outside.path().join("folder/inner"), "also secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("folder"), dir.path().join("dirlink")).unwrap();
        let context = read_all(dir.path());
        assert_eq!(context.files(), ["Dockerfile", "dirlink", "link"], "the linked folder is not entered");
        let mut sent = Vec::new();
        context.write_tar(&mut sent).unwrap();
        let text = String::from_utf8_lossy(&sent);
        assert!(!text.contains("the secret") && !text.contains("also secret"), "no content from outside");
        let mut archive = tar::Archive::new(sent.as_slice());
        let link =
            archive.entries().unwrap().map(Result::unwrap).find(|e| e.path().unwrap().ends_with("link")).unwrap();
        assert_eq!(link.header().entry_type(), tar::EntryType::Symlink);
        assert_eq!(link.link_name().unwrap().unwrap(), outside.path().join("secret"));
        // The link's target is part of the key; the file it points to is not.
        std::fs::write(outside.path().join("secret"), "changed").unwrap();
        assert_eq!(read_all(dir.path()).sha256, context.sha256);
    }

    #[test]
    fn a_context_over_the_bound_names_its_largest_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::create_dir(dir.path().join("target")).unwrap();
        // Sparse: its size is taken from its metadata; nothing is read.
        std::fs::File::create(dir.path().join("target/huge")).unwrap().set_len(3 << 30).unwrap();
        let error = read(dir.path(), "Dockerfile", MAX_CONTEXT_BYTES).unwrap_err().to_string();
        assert!(error.contains("target/huge") && error.contains(".dockerignore"), "{error}");
        std::fs::write(dir.path().join(".dockerignore"), "target\n").unwrap();
        assert_eq!(read_all(dir.path()).files(), [".dockerignore", "Dockerfile"]);
    }
}
