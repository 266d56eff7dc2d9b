//! The on-disk cache of compiled components. Compiling a component takes
//! about 100 ms; loading its compiled artifact well under 1 ms.
//!
//! An entry is keyed by the SHA-256 of the component and of the engine's
//! compatibility hash (wasmtime version and every setting that affects
//! code), so a different wasmtime or engine setting never finds a stale
//! entry. An entry is two files: `<key>.cwasm`, the artifact exactly as
//! wasmtime wrote it, which wasmtime then maps straight from disk (no
//! copy), and `<key>.check`, its length and CRC-32. The artifact is checked
//! against them, streamed through a small buffer, before wasmtime sees it:
//! a truncated, corrupt or unmatched entry is recompiled, never trusted.
//! (A CRC, not a cryptographic hash: it guards against accidents at a
//! fraction of the cost; the folder's permissions guard against people.)
//! Both files are written to temporary files and renamed, artifact first,
//! so a crash never leaves a half-written file under a real name.
//!
//! Loading an artifact runs native code from it, so entries live in a
//! subfolder the program owns, `artifacts-v1`, made with mode 0700, and
//! are trusted only while it belongs to this user and no one else may
//! write to it. The folder the user chose is created if missing but its
//! permissions are never changed.
//!
//! The folder is bounded ([`DEFAULT_MAX_CACHE_BYTES`]): after each new
//! entry, the least recently used entries (a hit refreshes an entry's
//! modification time) are removed until the rest fit. `xedgesim cache
//! clean` empties it.

use std::hash::Hasher;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 16] = b"xedgesim-check\x00\x03";
/// A check file: magic, artifact length (u64 LE), artifact CRC-32 (u32 LE).
const CHECK_LEN: usize = MAGIC.len() + 8 + 4;

/// The default bound on the cache folder's size.
pub const DEFAULT_MAX_CACHE_BYTES: u64 = 1 << 30;

/// The subfolder of the cache folder that holds the entries.
pub const SUBFOLDER: &str = "artifacts-v1";

/// Refuses a folder that is another user's, a symlink, or writable by others.
pub(super) fn check_owned(dir: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(std::io::Error::other(format!("{} is not a folder", dir.display())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        #[allow(unsafe_code, reason = "geteuid has no safe wrapper in std")]
        // SAFETY: geteuid takes nothing and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me || meta.mode() & 0o022 != 0 {
            return Err(std::io::Error::other(format!(
                "{} belongs to another user or others may write to it: compiled code from it is not trusted",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Where compiled components are kept.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    max_bytes: u64,
}

/// How a component was obtained, for benchmarks and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    /// Not cached (or not valid): compiled and stored.
    Compiled,
    /// Cache disabled or not writable: compiled only.
    Uncached,
}

impl ArtifactCache {
    /// The cache in `dir` (created if missing), in a subfolder of its own;
    /// an error if that subfolder is another user's or others may write to it.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let own = dir.join(SUBFOLDER);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&own) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        check_owned(&own)?;
        Ok(ArtifactCache { dir: own, max_bytes: DEFAULT_MAX_CACHE_BYTES })
    }

    /// Bounds the folder to `max_bytes`; past it, least recently used entries go.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Removes every entry; returns how many and their bytes.
    pub fn clean(&self) -> std::io::Result<(usize, u64)> {
        let entries = self.entries()?;
        let bytes = entries.iter().map(|e| e.bytes).sum();
        for e in &entries {
            remove_entry(&e.path);
        }
        Ok((entries.len(), bytes))
    }

    /// Every entry, least recently used first.
    fn entries(&self) -> std::io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for item in std::fs::read_dir(&self.dir)? {
            let path = item?.path();
            if path.extension().is_none_or(|e| e != "cwasm") {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            let check = std::fs::metadata(check_path(&path)).map_or(0, |m| m.len());
            let used = meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH);
            entries.push(Entry { path, bytes: meta.len() + check, used });
        }
        entries.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
        Ok(entries)
    }

    /// Removes least recently used entries, never `keep`, until the rest fit.
    fn evict(&self, keep: &Path) {
        let Ok(entries) = self.entries() else { return };
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        for e in entries {
            if total <= self.max_bytes {
                break;
            }
            if e.path != keep {
                remove_entry(&e.path);
                total -= e.bytes;
            }
        }
    }

    /// The default folder: `$XEDGESIM_CACHE_DIR`, else `$XDG_CACHE_HOME/xedgesim`,
    /// else `~/.cache/xedgesim`, else a folder under the system temp dir.
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("XEDGESIM_CACHE_DIR") {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return PathBuf::from(dir).join("xedgesim");
        }
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(".cache").join("xedgesim");
        }
        std::env::temp_dir().join("xedgesim-cache")
    }

    /// The entry for a component with SHA-256 `component_hash` under `engine`.
    pub fn entry_path(&self, engine: &Engine, component_hash: &[u8; 32]) -> PathBuf {
        let mut key = Sha256::new();
        key.update(component_hash);
        key.update(engine_fingerprint(engine));
        let name: String = key.finalize().iter().take(20).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.cwasm"))
    }

    /// The compiled form of `bytes`, from the cache when a valid entry exists.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        component_hash: &[u8; 32],
        interrupt: Option<&Arc<AtomicBool>>,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry_path(engine, component_hash);
        if let Some(component) = read_entry(engine, &path) {
            // Recently used: the last to be evicted.
            if let Ok(file) = std::fs::File::options().write(true).open(&path) {
                let _ = file.set_modified(std::time::SystemTime::now());
            }
            return Ok((component, CacheOutcome::Hit));
        }
        let artifact = super::interrupt::compile_unless_set(interrupt, engine, bytes, Engine::precompile_component)?;
        let component = deserialize(engine, &artifact)?;
        let outcome = match write_entry(&path, &artifact) {
            Ok(()) => {
                self.evict(&path);
                CacheOutcome::Compiled
            }
            Err(_) => CacheOutcome::Uncached,
        };
        Ok((component, outcome))
    }
}

/// SHA-256 of the engine's compatibility hash: equal engines give equal bytes.
fn engine_fingerprint(engine: &Engine) -> [u8; 32] {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = ShaHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    h.0.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.0.finalize().into()
}

fn check_path(artifact: &Path) -> PathBuf {
    artifact.with_extension("check")
}

/// One entry on disk.
struct Entry {
    path: PathBuf,
    bytes: u64,
    used: std::time::SystemTime,
}

/// Removes an entry, check file first: a half-removed entry fails its check.
fn remove_entry(artifact: &Path) {
    let _ = std::fs::remove_file(check_path(artifact));
    let _ = std::fs::remove_file(artifact);
}

/// A valid entry at `path`, or `None` (missing, truncated, corrupt, or
/// refused by wasmtime as built for another engine).
fn read_entry(engine: &Engine, path: &Path) -> Option<Component> {
    let check = std::fs::read(check_path(path)).ok()?;
    if check.len() != CHECK_LEN || &check[..MAGIC.len()] != MAGIC {
        return None;
    }
    let length = u64::from_le_bytes(check[16..24].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(check[24..28].try_into().expect("4 bytes"));
    let mut file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() != length {
        return None;
    }
    let mut hasher = crc32fast::Hasher::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(_) => return None,
        }
    }
    if hasher.finalize() != crc {
        return None;
    }
    deserialize_file(engine, path).ok()
}

fn write_entry(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("entries live in the cache folder");
    let mut check = Vec::with_capacity(CHECK_LEN);
    check.extend_from_slice(MAGIC);
    check.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
    check.extend_from_slice(&crc32fast::hash(artifact).to_le_bytes());
    // Artifact first: a reader that sees the new artifact with an old check
    // file finds them unmatched and recompiles. No fsync: an entry lost or
    // torn by a power cut fails its check and is recompiled.
    for (target, bytes) in [(path.to_path_buf(), artifact), (check_path(path), check.as_slice())] {
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.persist(&target).map_err(|e| e.error)?;
    }
    Ok(())
}

/// Loads compiled code that `precompile_component` just produced.
#[allow(unsafe_code, reason = "loading a precompiled artifact is unsafe in wasmtime's API")]
fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `artifact` is what `precompile_component` produced in this
    // process, for this engine.
    unsafe { Component::deserialize(engine, artifact) }
}

/// Maps a cache entry's compiled code from disk.
#[allow(unsafe_code, reason = "loading a precompiled artifact is unsafe in wasmtime's API")]
fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file's length and CRC-32 matched the check file written
    // with it, in a folder only this user can write; entries are replaced
    // only by renaming complete files over them, never modified in place.
    // wasmtime also checks the artifact's version and engine settings.
    unsafe { Component::deserialize_file(engine, path) }
}
