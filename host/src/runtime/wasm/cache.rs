//! The on-disk cache of compiled components. Compiling a component takes
//! about 100 ms; loading its compiled artifact well under 1 ms.
//!
//! An entry is keyed by the SHA-256 of the component and of the engine's
//! compatibility hash (wasmtime version and every setting that affects
//! code), and of the rules the component passed before it was compiled
//! (its imports, contract version, sizes and compile work), so a
//! different wasmtime, engine setting or rule never finds a stale entry,
//! and a hit skips those checks. An entry is two files: `<key>.cwasm`, the artifact exactly as
//! wasmtime wrote it, which wasmtime then maps from disk (no copy), and `<key>.check`, its length and CRC-32. The artifact is checked
//! against them before wasmtime sees it:
//! a truncated, corrupt or unmatched entry is recompiled, never trusted.
//! (A CRC, not a cryptographic hash: it guards against accidents at a
//! fraction of the cost; the folder's permissions guard against people.)
//! Both files are written to temporary files and renamed, artifact first,
//! so a crash never leaves a half-written file under a real name.
//!
//! Loading an artifact runs native code from it, so entries live in a
//! subfolder the program owns, `artifacts-v1`, made with mode 0700, and
//! are trusted only while it belongs to this user and no one else may
//! write to it. That subfolder is opened once, refusing a link, and
//! checked on the open handle; every entry is then opened relative to the
//! handle, refusing links, checked, and mapped by wasmtime through that
//! open file (its `/proc/self/fd` name; without `/proc`, read whole into
//! memory and loaded from there): a folder or file swapped after the check
//! is never read.
//! The folder is the caller's to choose (the command line's choice, from
//! the environment, is in `cli/env.rs`); without one there is no disk
//! cache, never a shared folder such as `/tmp`, where another user could
//! have made it first. The folder chosen is created if missing but its
//! permissions are never changed.
//!
//! The folder is bounded ([`DEFAULT_MAX_CACHE_BYTES`]): after each new
//! entry, the least recently used entries (a hit refreshes an entry's
//! modification time) are removed until the rest fit. `xedgesim cache
//! clean` empties it.

use std::fs::File;
use std::hash::Hasher;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rustix::fs::{AtFlags, Mode, OFlags};
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
    check_owner(&meta, dir)
}

/// Refuses what `meta` describes if it is another user's or others may write to it.
fn check_owner(meta: &std::fs::Metadata, dir: &Path) -> std::io::Result<()> {
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

/// Opens `name` in the folder `dir`, never through a link.
fn open_in(dir: &File, name: &str, flags: OFlags, mode: Mode) -> std::io::Result<File> {
    let fd = rustix::fs::openat(dir.as_fd(), name, flags | OFlags::NOFOLLOW | OFlags::CLOEXEC, mode)?;
    Ok(File::from(fd))
}

/// Where compiled components are kept: the entries' folder, opened once.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    /// For messages only; every access goes through `handle`.
    dir: PathBuf,
    handle: Arc<File>,
    max_bytes: u64,
    /// The first engine's fingerprint: hashing its settings again for
    /// every component was 2 % of an M0 run.
    fingerprint: Arc<std::sync::OnceLock<(Engine, [u8; 32])>>,
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
    /// an error if that subfolder is a link, another user's, or others may
    /// write to it.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let chosen = File::open(&dir)?;
        match rustix::fs::mkdirat(chosen.as_fd(), SUBFOLDER, Mode::from_raw_mode(0o700)) {
            Err(e) if e != rustix::io::Errno::EXIST => return Err(e.into()),
            _ => {}
        }
        let own = dir.join(SUBFOLDER);
        let handle = open_in(&chosen, SUBFOLDER, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::ENOTDIR) {
                std::io::Error::other(format!(
                    "{} is a link or not a folder: compiled code from it is not trusted",
                    own.display()
                ))
            } else {
                e
            }
        })?;
        check_owner(&handle.metadata()?, &own)?;
        Ok(ArtifactCache {
            dir: own,
            handle: Arc::new(handle),
            max_bytes: DEFAULT_MAX_CACHE_BYTES,
            fingerprint: Arc::default(),
        })
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
            self.remove_entry(&e.key);
        }
        Ok((entries.len(), bytes))
    }

    /// Every entry, least recently used first.
    fn entries(&self) -> std::io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for item in rustix::fs::Dir::read_from(self.handle.as_fd())? {
            let item = item?;
            let Ok(name) = item.file_name().to_str() else { continue };
            let Some(key) = name.strip_suffix(".cwasm") else { continue };
            let Ok(file) = open_in(&self.handle, name, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()) else {
                continue;
            };
            let Ok(meta) = file.metadata() else { continue };
            let check = open_in(&self.handle, &format!("{key}.check"), OFlags::RDONLY, Mode::empty())
                .and_then(|f| f.metadata())
                .map_or(0, |m| m.len());
            let used = meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH);
            entries.push(Entry { key: key.to_string(), bytes: meta.len() + check, used });
        }
        entries.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.key.cmp(&b.key)));
        Ok(entries)
    }

    /// Removes least recently used entries, never `keep`, until the rest fit.
    fn evict(&self, keep: &str) {
        let Ok(entries) = self.entries() else { return };
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        for e in entries {
            if total <= self.max_bytes {
                break;
            }
            if e.key != keep {
                self.remove_entry(&e.key);
                total -= e.bytes;
            }
        }
    }

    /// Removes an entry, check file first: a half-removed entry fails its check.
    fn remove_entry(&self, key: &str) {
        let _ = rustix::fs::unlinkat(self.handle.as_fd(), format!("{key}.check"), AtFlags::empty());
        let _ = rustix::fs::unlinkat(self.handle.as_fd(), format!("{key}.cwasm"), AtFlags::empty());
    }

    /// The entry's key (its files' name) for a component with SHA-256
    /// `component_hash` under `engine`.
    fn entry_key(&self, engine: &Engine, component_hash: &[u8; 32]) -> String {
        let fingerprint = match self.fingerprint.get() {
            Some((first, fingerprint)) if Engine::same(first, engine) => *fingerprint,
            _ => {
                let fingerprint = engine_fingerprint(engine);
                let _ = self.fingerprint.set((engine.clone(), fingerprint));
                fingerprint
            }
        };
        let mut key = Sha256::new();
        key.update(component_hash);
        key.update(fingerprint);
        // A hit skips the checks a compile passed (imports, contract
        // version, sizes, compile work): other rules, another entry.
        use super::component::{
            ALLOWED_IMPORTS, CONTRACT_VERSION, MAX_CODE_BYTES, MAX_COMPONENT_WORK, MAX_FUNCTION_BYTES,
            MAX_FUNCTION_WORK,
        };
        key.update(format!("limits {MAX_FUNCTION_BYTES} {MAX_CODE_BYTES} {MAX_FUNCTION_WORK} {MAX_COMPONENT_WORK}"));
        key.update(format!("contract {CONTRACT_VERSION} imports {}", ALLOWED_IMPORTS.join(" ")));
        crate::text::hex(&key.finalize()[..20])
    }

    /// Where the entry for a component with SHA-256 `component_hash` under
    /// `engine` is, for messages (it is read through the folder's handle).
    pub fn entry_path(&self, engine: &Engine, component_hash: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", self.entry_key(engine, component_hash)))
    }

    /// The compiled form of `bytes`, from the cache when a valid entry exists.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        component_hash: &[u8; 32],
        interrupt: Option<&Arc<AtomicBool>>,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        if let Some(component) = self.load(engine, component_hash) {
            return Ok((component, CacheOutcome::Hit));
        }
        self.compile(engine, bytes, component_hash, interrupt)
    }

    /// The compiled form of the component with SHA-256 `component_hash`,
    /// when a valid entry exists.
    pub fn load(&self, engine: &Engine, component_hash: &[u8; 32]) -> Option<Component> {
        self.read_entry(engine, &self.entry_key(engine, component_hash))
    }

    /// Compiles `bytes` and stores the result (`Compiled`; `Uncached` when
    /// it could not be written).
    pub fn compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        component_hash: &[u8; 32],
        interrupt: Option<&Arc<AtomicBool>>,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let key = self.entry_key(engine, component_hash);
        let artifact = super::interrupt::compile_unless_set(interrupt, engine, bytes, Engine::precompile_component)?;
        let component = deserialize(engine, &artifact)?;
        let outcome = match self.write_entry(&key, &artifact) {
            Ok(()) => {
                self.evict(&key);
                CacheOutcome::Compiled
            }
            Err(_) => CacheOutcome::Uncached,
        };
        Ok((component, outcome))
    }

    /// A valid entry `key`, or `None` (missing, a link, truncated, corrupt,
    /// or refused by wasmtime as built for another engine). Its artifact is
    /// read once, through one open file, and what was checked is what loads.
    fn read_entry(&self, engine: &Engine, key: &str) -> Option<Component> {
        let mut check = Vec::with_capacity(CHECK_LEN);
        open_in(&self.handle, &format!("{key}.check"), OFlags::RDONLY, Mode::empty())
            .ok()?
            .take(CHECK_LEN as u64 + 1)
            .read_to_end(&mut check)
            .ok()?;
        if check.len() != CHECK_LEN || &check[..MAGIC.len()] != MAGIC {
            return None;
        }
        let length = u64::from_le_bytes(check[16..24].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(check[24..28].try_into().expect("4 bytes"));
        let file = open_in(&self.handle, &format!("{key}.cwasm"), OFlags::RDONLY, Mode::empty()).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() != length {
            return None;
        }
        // Mapped by wasmtime through the open file's own name in /proc (the
        // same file, whatever the folder holds by now): no copy of it.
        let same_file = PathBuf::from(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file)));
        let component = if same_file.exists() {
            let mut hasher = crc32fast::Hasher::new();
            let mut buffer = vec![0u8; 64 * 1024];
            let mut read = 0u64;
            loop {
                match (&file).read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => {
                        hasher.update(&buffer[..n]);
                        read += n as u64;
                    }
                    Err(_) => return None,
                }
            }
            if read != length || hasher.finalize() != crc {
                return None;
            }
            deserialize_open(engine, &same_file).ok()?
        } else {
            let mut artifact = Vec::with_capacity(usize::try_from(length).ok()?);
            (&file).take(length + 1).read_to_end(&mut artifact).ok()?;
            if artifact.len() as u64 != length || crc32fast::hash(&artifact) != crc {
                return None;
            }
            deserialize_checked(engine, &artifact).ok()?
        };
        // Recently used: the last to be evicted.
        let _ = file.set_modified(std::time::SystemTime::now());
        Some(component)
    }

    /// Writes entry `key`: each file to a new temporary name in the folder
    /// (never through a link), then renamed over its real name.
    fn write_entry(&self, key: &str, artifact: &[u8]) -> std::io::Result<()> {
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut check = Vec::with_capacity(CHECK_LEN);
        check.extend_from_slice(MAGIC);
        check.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
        check.extend_from_slice(&crc32fast::hash(artifact).to_le_bytes());
        // Artifact first: a reader that sees the new artifact with an old check
        // file finds them unmatched and recompiles. No fsync: an entry lost or
        // torn by a power cut fails its check and is recompiled.
        for (target, bytes) in [(format!("{key}.cwasm"), artifact), (format!("{key}.check"), check.as_slice())] {
            let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let temporary = format!(".{target}.{}-{n}.partial", std::process::id());
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL;
            let written = open_in(&self.handle, &temporary, flags, Mode::from_raw_mode(0o600))
                .and_then(|mut file| file.write_all(bytes))
                .and_then(|()| {
                    rustix::fs::renameat(self.handle.as_fd(), &temporary, self.handle.as_fd(), &target)
                        .map_err(std::io::Error::from)
                });
            if written.is_err() {
                let _ = rustix::fs::unlinkat(self.handle.as_fd(), &temporary, AtFlags::empty());
            }
            written?;
        }
        Ok(())
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

/// One entry on disk.
struct Entry {
    key: String,
    bytes: u64,
    used: std::time::SystemTime,
}

/// Loads compiled code that `precompile_component` just produced.
#[allow(unsafe_code, reason = "loading a precompiled artifact is unsafe in wasmtime's API")]
fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `artifact` is what `precompile_component` produced in this
    // process, for this engine.
    unsafe { Component::deserialize(engine, artifact) }
}

/// Maps a cache entry's compiled code from `same_file`, the
/// `/proc/self/fd` name of the file it was checked through.
#[allow(unsafe_code, reason = "loading a precompiled artifact is unsafe in wasmtime's API")]
fn deserialize_open(engine: &Engine, same_file: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `same_file` names the file already open and checked (its
    // length and CRC-32 matched the check file written with it), in a
    // folder only this user can write and that was opened once, refusing
    // links; entries are replaced only by renaming complete files over
    // them, never modified in place. wasmtime also checks the artifact's
    // version and engine settings.
    unsafe { Component::deserialize_file(engine, same_file) }
}

/// Loads a cache entry's compiled code, read and checked in memory.
#[allow(unsafe_code, reason = "loading a precompiled artifact is unsafe in wasmtime's API")]
fn deserialize_checked(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `artifact` is the whole file as read through one open file,
    // its length and CRC-32 matched the check file written with it, in a
    // folder only this user can write and that was opened once, refusing
    // links. wasmtime also checks the artifact's version and engine settings.
    unsafe { Component::deserialize(engine, artifact) }
}
