//! The on-disk cache of compiled components. Compiling a component takes
//! about 100 ms; loading its compiled artifact well under 1 ms.
//!
//! An entry is keyed by the SHA-256 of the component and of the engine's
//! compatibility hash (wasmtime version and every setting that affects
//! code), so a different wasmtime or engine setting never finds a stale
//! entry. Each entry carries a SHA-256 of its body, checked before the
//! body is handed to wasmtime: a truncated or corrupt entry is recompiled,
//! never trusted. Entries are written to a temporary file and renamed, so
//! a crash never leaves a half-written entry under a real name.
//!
//! Loading an artifact runs native code from it: the cache folder must be
//! writable only by the user (it is created with mode 0700).

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 16] = b"xedgesim-cwasm\x00\x02";
/// Magic, body length (u64 LE), body CRC-32 (u32 LE).
const HEADER_LEN: usize = MAGIC.len() + 8 + 4;

/// Where compiled components are kept.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
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
    /// The cache in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(ArtifactCache { dir })
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

    pub fn dir(&self) -> &Path {
        &self.dir
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
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry_path(engine, component_hash);
        if let Some(component) = read_entry(engine, &path) {
            return Ok((component, CacheOutcome::Hit));
        }
        let artifact = engine.precompile_component(bytes)?;
        let component = deserialize(engine, &artifact)?;
        let outcome = match write_entry(&path, &artifact) {
            Ok(()) => CacheOutcome::Compiled,
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

/// A valid entry at `path`, or `None` (missing, truncated, corrupt, or
/// refused by wasmtime as built for another engine).
fn read_entry(engine: &Engine, path: &Path) -> Option<Component> {
    let data = std::fs::read(path).ok()?;
    if data.len() < HEADER_LEN || &data[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (header, body) = data.split_at(HEADER_LEN);
    let length = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(header[24..28].try_into().expect("4 bytes"));
    if length != body.len() as u64 || crc32fast::hash(body) != crc {
        return None;
    }
    deserialize(engine, body).ok()
}

fn write_entry(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("entries live in the cache folder");
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(&(artifact.len() as u64).to_le_bytes())?;
    tmp.write_all(&crc32fast::hash(artifact).to_le_bytes())?;
    tmp.write_all(artifact)?;
    // No fsync: an entry lost or torn by a power cut fails its CRC and is recompiled.
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Loads compiled code.
#[allow(unsafe_code, reason = "loading a precompiled artifact is unsafe in wasmtime's API")]
fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `artifact` is either what `precompile_component` just produced
    // in this process, or a cache entry whose length and CRC-32 matched the
    // ones we wrote with it, in a folder only this user can write. wasmtime
    // also checks the artifact's version and engine settings before use.
    unsafe { Component::deserialize(engine, artifact) }
}
