//! [`DataFiles`]: a node's `wasm.files`, copied into a private folder that
//! its sandbox sees read-only at `/data` (`scenario::DATA_DIR`), and
//! nothing else of the host.
//!
//! WASI preopens a directory, not files: the files are copied into a folder
//! (a temporary folder, mode 0700, removed when the last sandbox holding it
//! is dropped) under their names, mode 0400, which every sandbox of the
//! same files sees read-only (the run layer stages each set once). A copy,
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
            let file = open_regular(path).map_err(|e| failed(path, e))?;
            file.take(left.saturating_add(1))
                .read_to_end(&mut bytes)
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

/// `path` opened for reading, if it is (still) a regular file: what was
/// checked at load may have been swapped since for a FIFO or a device,
/// whose opening or reading would wait forever. Opened without blocking,
/// then asked what it is through the open handle, so nothing swapped in
/// between the two is read.
fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let kind = file.metadata().map_err(|e| format!("cannot read it: {e}"))?.file_type();
    if !kind.is_file() {
        return Err(
            "it is no longer a regular file (a FIFO, a device or a folder was put there since the scenario was loaded)"
                .into(),
        );
    }
    Ok(file)
}

fn write_read_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o400);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_put_where_a_data_file_was_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("model.onnx");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let files = BTreeMap::from([("model.onnx".to_string(), fifo.clone())]);
        // A blocking open of a FIFO with no writer never returns: a hang here fails the test by timeout.
        let e = DataFiles::stage(&files, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("no longer a regular file") && e.contains("model.onnx"), "{e}");

        let plain = dir.path().join("table.csv");
        std::fs::write(&plain, "a,b\n").unwrap();
        let staged = DataFiles::stage(&BTreeMap::from([("table.csv".to_string(), plain)]), 1 << 20).unwrap();
        assert_eq!(std::fs::read(staged.dir().join("table.csv")).unwrap(), b"a,b\n");
    }
}
