//! The key of a model folder's sources ([`sources_key`]): SHA-256 over
//! every source file in it, read safely (a link to a device or a FIFO is
//! an error, not read), and the source files outside it that cargo's
//! dep-info lists ([`sources_outside`]), kept beside a build with their
//! SHA-256 so a change to one makes the build stale.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::source_build::FolderLanguage;
use crate::text::hex;

/// The key of `dir`'s current sources: SHA-256 over its language, this
/// xedgesim's version and every source file in it (see [`sources_sha256`]).
pub fn sources_key(dir: &Path, language: FolderLanguage) -> std::io::Result<String> {
    sources_sha256(dir, language.sources(), &[&format!("{language:?}"), env!("CARGO_PKG_VERSION")])
}

/// Opens `path` (links followed) for hashing, refusing anything but a
/// regular file: a source named `lib.rs` may be a link to `/dev/zero` or
/// a FIFO, which would read forever or block. Opened without blocking and
/// checked on the open file, so nothing is swapped in between.
fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file (a folder, device, FIFO or socket, or a link to one)", path.display()),
        ));
    }
    Ok((file, meta.len()))
}

/// SHA-256 of the regular file `path`, read in pieces.
pub(super) fn file_sha256(path: &Path) -> std::io::Result<[u8; 32]> {
    let (file, _) = open_regular(path)?;
    let mut hash = Sha256::new();
    hash_from(&mut hash, file)?;
    Ok(hash.finalize().into())
}

/// Feeds what `reader` holds to `hash`, 64 KiB at a time.
fn hash_from(hash: &mut Sha256, mut reader: impl std::io::Read) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => hash.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The source files cargo's dep-info for `artifact` lists outside `dir`,
/// but for the registry's and git checkouts' (pinned by the lock file)
/// and the standard library's; and those inside `dir` that its key does
/// not cover (see [`sources_sha256`]), but for cargo's `target` folder.
pub(super) fn sources_outside(artifact: &Path, dir: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(artifact.with_extension("d")) else { return Vec::new() };
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut files = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else { continue };
        // Paths are separated by spaces; a space inside one is `\ `.
        let mut path = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\\' && chars.peek() == Some(&' ') {
                path.push(' ');
                chars.next();
            } else if c == ' ' {
                if !path.is_empty() {
                    files.insert(std::mem::take(&mut path));
                }
            } else {
                path.push(c);
            }
        }
        if !path.is_empty() {
            files.insert(path);
        }
    }
    // A file inside the folder that the key skips (an `include_bytes!` of
    // a `.bin`, a hidden folder's file) is kept too; cargo's own output is not.
    let uncovered_inside = |p: &Path| {
        p.strip_prefix(&dir).is_ok_and(|rel| {
            let names: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            let skipped = names.iter().any(|n| n.starts_with('.') || n == "__pycache__")
                || names.first().is_some_and(|n| ["runs", "node_modules"].contains(&n.as_str()));
            let covered = rel.extension().is_some_and(|e| FolderLanguage::Rust.sources().iter().any(|x| e == *x));
            names.first().is_some_and(|n| n != "target") && (skipped || !covered)
        })
    };
    files
        .into_iter()
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && (!p.starts_with(&dir) || uncovered_inside(p)))
        .filter(|p| {
            let text = p.to_string_lossy();
            !["/registry/src/", "/git/checkouts/", "/rustlib/"].iter().any(|skip| text.contains(skip))
        })
        .collect()
}

/// SHA-256 over `salt` and the (path, content) of every file under `dir`
/// with one of `extensions`, in path order. The folder's own outputs and
/// tools (`runs`, `target`, `node_modules`) are skipped at its top only,
/// hidden files (but the top's `.cargo`) and `__pycache__` everywhere; links to folders are not
/// followed (a loop cannot stall it), and a source that is not a regular
/// file (a link to `/dev/zero`, a FIFO) is an error, not read.
fn sources_sha256(dir: &Path, extensions: &[&str], salt: &[&str]) -> std::io::Result<String> {
    fn walk(base: &Path, dir: &Path, extensions: &[&str], files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let top_level_output = dir == base && ["runs", "target", "node_modules"].contains(&name.as_str());
            // Cargo's settings for the folder (rustflags, a wrapper) change what it builds.
            let hidden = name.starts_with('.') && !(dir == base && name == ".cargo");
            if hidden || name == "__pycache__" || top_level_output {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(base, &path, extensions, files)?;
            } else if path.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)) {
                files.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf());
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, extensions, &mut files)?;
    files.sort();
    let mut hash = Sha256::new();
    for part in salt {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    for file in files {
        let (source, len) = open_regular(&dir.join(&file))?;
        hash.update(file.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(len.to_le_bytes());
        // Streamed, and no further than the length hashed: a large file is not held whole.
        hash_from(&mut hash, std::io::Read::take(source, len))?;
    }
    Ok(hex(&hash.finalize()))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    #[test]
    fn a_source_that_is_a_link_to_a_device_or_a_fifo_is_an_error_not_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"m\"\n").unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        let key = sources_key(dir.path(), FolderLanguage::Rust).unwrap();
        // A regular file's key is unchanged by reading it in pieces.
        assert_eq!(key, sources_key(dir.path(), FolderLanguage::Rust).unwrap());
        // Read whole, a link to /dev/zero never ended (and filled memory); a FIFO blocked forever.
        let zero = dir.path().join("src/zero.rs");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let (done, result) = std::sync::mpsc::channel();
        let folder = dir.path().to_path_buf();
        std::thread::spawn(move || done.send(sources_key(&folder, FolderLanguage::Rust)).unwrap());
        let e = result.recv_timeout(std::time::Duration::from_secs(30)).expect("hashing a link to /dev/zero hung");
        assert!(e.unwrap_err().to_string().contains("not a regular file"));
        std::fs::remove_file(&zero).unwrap();
        let fifo = dir.path().join("src/fifo.rs");
        let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        let (done, result) = std::sync::mpsc::channel();
        let folder = dir.path().to_path_buf();
        std::thread::spawn(move || done.send(sources_key(&folder, FolderLanguage::Rust)).unwrap());
        let e = result.recv_timeout(std::time::Duration::from_secs(30)).expect("hashing a FIFO hung");
        assert!(e.unwrap_err().to_string().contains("not a regular file"));
    }

    #[test]
    fn the_sources_outside_the_folder_are_read_from_cargos_dep_info() {
        let dir = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(dir.path()).unwrap();
        let artifact = dir.join("target/m.wasm");
        std::fs::create_dir_all(dir.join("target")).unwrap();
        let d = format!(
            "{0}/target/m.wasm: {0}/src/lib.rs /elsewhere/sdk\\ one/src/lib.rs /home/u/.cargo/registry/src/x/lib.rs /r/lib/rustlib/src/core.rs\n{0}/target/m.d: /other/a.rs\n",
            dir.display()
        );
        std::fs::write(artifact.with_extension("d"), d).unwrap();
        let outside = sources_outside(&artifact, &dir);
        assert_eq!(outside, [PathBuf::from("/elsewhere/sdk one/src/lib.rs"), PathBuf::from("/other/a.rs")]);
    }

    /// The folder's `.cargo/config.toml` (rustflags, a rustc wrapper)
    /// changes what cargo builds, so it is in the key (it was skipped as
    /// hidden, and an edit to it left the earlier build in use).
    #[test]
    fn the_folders_cargo_settings_are_in_its_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"m\"\n").unwrap();
        std::fs::create_dir_all(dir.path().join(".cargo")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        let config = dir.path().join(".cargo/config.toml");
        std::fs::write(&config, "[build]\nrustflags = []\n").unwrap();
        let before = sources_key(dir.path(), FolderLanguage::Rust).unwrap();
        std::fs::write(dir.path().join(".git/x.rs"), "").unwrap();
        assert_eq!(before, sources_key(dir.path(), FolderLanguage::Rust).unwrap(), "other hidden folders stay out");
        std::fs::write(&config, "[build]\nrustflags = [\"-Copt-level=0\"]\n").unwrap();
        assert_ne!(before, sources_key(dir.path(), FolderLanguage::Rust).unwrap());
    }

    /// A file the crate includes (`include_bytes!`) that the folder's key
    /// does not cover is kept with its hash, so editing it makes the build
    /// stale (it was used as if current).
    #[test]
    fn an_included_file_the_key_skips_is_kept_with_the_build() {
        let dir = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(dir.path()).unwrap();
        let artifact = dir.join("target/m.wasm");
        std::fs::create_dir_all(dir.join("target")).unwrap();
        let d = format!(
            "{0}/target/m.wasm: {0}/src/lib.rs {0}/src/table.bin {0}/.secret/x.rs {0}/target/release/build/m/out/gen.rs\n",
            dir.display()
        );
        std::fs::write(artifact.with_extension("d"), d).unwrap();
        let kept = sources_outside(&artifact, &dir);
        assert_eq!(kept, [dir.join(".secret/x.rs"), dir.join("src/table.bin")]);
    }
}
