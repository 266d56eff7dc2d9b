//! [`DataFiles`]: a node's `wasm.files`, copied into a private folder that
//! its sandbox sees read-only at `/data` (`scenario::DATA_DIR`), and
//! nothing else of the host.
//!
//! WASI preopens a directory, not files: each sandbox gets a folder of its
//! own (a temporary folder, mode 0700, removed when the sandbox is
//! dropped) holding a copy of each file under its name, mode 0400. A copy,
//! not a link, so the guest reads exactly the bytes hashed here, whatever
//! happens to the host file during the run, and no link leads out.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::WasmError;

/// A sandbox's data files, staged.
#[derive(Debug)]
pub struct DataFiles {
    dir: tempfile::TempDir,
    /// SHA-256 of each file as staged, by name.
    pub sha256: BTreeMap<String, [u8; 32]>,
}

impl DataFiles {
    /// Copies `files` (name to host path) into a new private folder;
    /// refuses them when together they are over `max_bytes` (read no
    /// further than that: a file that grew since validation is caught here).
    pub fn stage(files: &BTreeMap<String, PathBuf>, max_bytes: u64) -> Result<Self, WasmError> {
        let failed = |path: &Path, reason: String| WasmError::DataFile { path: path.to_path_buf(), reason };
        let dir = tempfile::Builder::new()
            .prefix("xedgesim-data-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(|e| failed(Path::new("/data"), format!("cannot make a folder for it: {e}")))?;
        let mut sha256 = BTreeMap::new();
        let mut left = max_bytes;
        for (name, path) in files {
            let mut bytes = Vec::new();
            std::fs::File::open(path)
                .and_then(|file| file.take(left.saturating_add(1)).read_to_end(&mut bytes))
                .map_err(|e| failed(path, format!("cannot read it: {e}")))?;
            if bytes.len() as u64 > left {
                return Err(failed(
                    path,
                    format!("the node's files are over {max_bytes} bytes together (its memory cap)"),
                ));
            }
            left -= bytes.len() as u64;
            let staged = dir.path().join(name);
            write_read_only(&staged, &bytes).map_err(|e| failed(path, format!("cannot copy it: {e}")))?;
            sha256.insert(name.clone(), Sha256::digest(&bytes).into());
        }
        Ok(DataFiles { dir, sha256 })
    }

    /// The folder the sandbox sees as `/data`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn write_read_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o400);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}
