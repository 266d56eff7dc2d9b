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

/// `path` (the real path checked at load) opened for reading, if it is
/// (still) that regular file: a link put anywhere in the path since could
/// lead outside what was allowed, and a FIFO or a device would make the
/// open or the read wait forever. Opened without following any link and
/// without blocking, then asked what it is through the open handle, so
/// nothing swapped in between the two is read.
fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    use rustix::fs::{CWD, Mode, OFlags, ResolveFlags, openat2};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let file = match openat2(CWD, path, flags, Mode::empty(), ResolveFlags::NO_SYMLINKS) {
        Ok(fd) => std::fs::File::from(fd),
        Err(rustix::io::Errno::LOOP) => {
            return Err("a link was put in its path since the scenario was loaded; it is not read".into());
        }
        // A kernel before openat2 (Linux 5.6): its last component at least is no link.
        Err(rustix::io::Errno::NOSYS) => {
            let mut options = std::fs::OpenOptions::new();
            options.read(true);
            std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK | libc::O_NOFOLLOW);
            options.open(path).map_err(|e| format!("cannot read it: {e}"))?
        }
        Err(e) => return Err(format!("cannot read it: {}", std::io::Error::from(e))),
    };
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

    /// A temporary folder by its real path, as the loader resolves data files.
    fn real_dir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        (dir, real)
    }

    #[test]
    fn a_link_put_in_a_data_files_path_since_it_was_checked_is_refused() {
        let (_dir, root) = real_dir();
        std::fs::create_dir(root.join("models")).unwrap();
        std::fs::write(root.join("models/model.onnx"), "the model").unwrap();
        std::fs::write(root.join("secret"), "not the model").unwrap();
        let files = BTreeMap::from([("model.onnx".to_string(), root.join("models/model.onnx"))]);
        assert!(DataFiles::stage(&files, 1 << 20).is_ok(), "as checked at load");
        // The file itself swapped for a link to another.
        std::fs::remove_file(root.join("models/model.onnx")).unwrap();
        std::os::unix::fs::symlink(root.join("secret"), root.join("models/model.onnx")).unwrap();
        let e = DataFiles::stage(&files, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("a link was put in its path"), "{e}");
        // A folder on the way swapped for a link to another folder.
        std::fs::remove_file(root.join("models/model.onnx")).unwrap();
        std::fs::create_dir(root.join("elsewhere")).unwrap();
        std::fs::write(root.join("elsewhere/model.onnx"), "not the model").unwrap();
        std::fs::remove_dir(root.join("models")).unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere"), root.join("models")).unwrap();
        let e = DataFiles::stage(&files, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("a link was put in its path"), "{e}");
    }

    #[test]
    fn a_fifo_put_where_a_data_file_was_is_refused_without_waiting() {
        let (_dir, root) = real_dir();
        let fifo = root.join("model.onnx");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let files = BTreeMap::from([("model.onnx".to_string(), fifo.clone())]);
        // A blocking open of a FIFO with no writer never returns: a hang here fails the test by timeout.
        let e = DataFiles::stage(&files, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("no longer a regular file") && e.contains("model.onnx"), "{e}");

        let plain = root.join("table.csv");
        std::fs::write(&plain, "a,b\n").unwrap();
        let staged = DataFiles::stage(&BTreeMap::from([("table.csv".to_string(), plain)]), 1 << 20).unwrap();
        assert_eq!(std::fs::read(staged.dir().join("table.csv")).unwrap(), b"a,b\n");
    }
}
