//! A model's source folder where a component is expected, built before
//! the run so the edit–run loop is one command:
//!
//! - a Rust crate (`Cargo.toml`): `cargo build --release --target
//!   wasm32-wasip2`; cargo decides what is stale (nothing to do costs about
//!   a tenth of a second);
//! - a Python model (`model.py`): componentize-py, from `PATH`;
//! - a JavaScript model (`model.js`): componentize-qjs, from the folder's
//!   `node_modules` (`npm ci` there once).
//!
//! Python and JavaScript builds are slow (seconds to a minute), so their
//! component is kept in the compile cache's folder under the SHA-256 of
//! the folder's sources and WIT, and built again only when those change.
//! The compiled component is then cached by its content like any other.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::error::WasmError;

/// The target every model is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// The languages a model folder can be in, told by its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderLanguage {
    Rust,
    Python,
    JavaScript,
}

impl FolderLanguage {
    /// What `dir` holds: `Cargo.toml`, `model.py` or `model.js`.
    pub fn of(dir: &Path) -> Option<Self> {
        if dir.join("Cargo.toml").is_file() {
            Some(FolderLanguage::Rust)
        } else if dir.join("model.py").is_file() {
            Some(FolderLanguage::Python)
        } else if dir.join("model.js").is_file() {
            Some(FolderLanguage::JavaScript)
        } else {
            None
        }
    }
}

/// Builds the model in `dir` and returns its component's path. Python
/// and JavaScript components are kept under `cache_dir` (a temporary
/// folder's when `None`). The tools' messages go to `log`, a line each.
pub fn build_folder(dir: &Path, cache_dir: Option<&Path>, log: &mut dyn FnMut(&str)) -> Result<PathBuf, WasmError> {
    let failed = |reason: String| WasmError::Build { dir: dir.to_path_buf(), reason };
    match FolderLanguage::of(dir) {
        Some(FolderLanguage::Rust) => build_crate(dir, log),
        Some(language) => build_script(dir, language, cache_dir, log),
        None => Err(failed("it holds no Cargo.toml, model.py or model.js".to_string())),
    }
}

/// Builds a Python or JavaScript model folder, unless a component of the
/// same sources is kept already.
fn build_script(
    dir: &Path,
    language: FolderLanguage,
    cache_dir: Option<&Path>,
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf, WasmError> {
    let failed = |reason: String| WasmError::Build { dir: dir.to_path_buf(), reason };
    let wit = dir.join("wit");
    if !wit.join("node.wit").is_file() {
        return Err(failed(format!(
            "{} is missing: the folder carries its contract (`xedgesim new model NAME --lang …` writes it)",
            wit.join("node.wit").display()
        )));
    }
    let extension = if language == FolderLanguage::Python { "py" } else { "js" };
    let key = sources_sha256(dir, &[extension, "wit"]).map_err(|e| failed(format!("cannot read its sources: {e}")))?;
    let builds = cache_dir.map_or_else(|| std::env::temp_dir().join("xedgesim-builds"), |c| c.join("builds"));
    let out = builds.join(format!("{key}.wasm"));
    if out.is_file() {
        log(&format!("up to date: {}", out.display()));
        return Ok(out);
    }
    std::fs::create_dir_all(&builds).map_err(|e| failed(format!("cannot create {}: {e}", builds.display())))?;
    // Written beside its final name, then renamed: never a half-built component under it.
    let partial = builds.join(format!("{key}.{}.partial.wasm", std::process::id()));
    let mut command = match language {
        FolderLanguage::Python => {
            let mut c = Command::new("componentize-py");
            c.arg("-d").arg(&wit).args(["-w", "node-model", "componentize", "model", "-p"]).arg(dir).arg("-o");
            c.arg(&partial);
            c
        }
        _ => {
            let tool = dir.join("node_modules/.bin/componentize-qjs");
            if !tool.is_file() {
                return Err(failed(format!(
                    "{} is not installed\n  = help: run `npm ci` in {} once (Node.js 20+)",
                    tool.display(),
                    dir.display()
                )));
            }
            let mut c = Command::new(tool);
            c.arg("--wit").arg(&wit).args(["--world", "node-model", "--js"]).arg(dir.join("model.js"));
            c.arg("--sync").arg("-o").arg(&partial);
            c
        }
    };
    let output = command.current_dir(dir).stdin(Stdio::null()).output().map_err(|e| {
        let help = match language {
            FolderLanguage::Python => "install it: `pip install componentize-py==0.25.1`",
            _ => "run `npm ci` in the model's folder",
        };
        failed(format!("cannot start its build tool ({e})\n  = help: {help}"))
    })?;
    for line in String::from_utf8_lossy(&output.stdout).lines().chain(String::from_utf8_lossy(&output.stderr).lines()) {
        log(line);
    }
    if !output.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(failed(format!("its build failed ({})\n  = help: fix the errors above", output.status)));
    }
    std::fs::rename(&partial, &out).map_err(|e| failed(format!("cannot keep {}: {e}", out.display())))?;
    Ok(out)
}

/// SHA-256 over the (path, content) of every file under `dir` with one of
/// `extensions`, in path order; outputs and tools' folders are skipped.
fn sources_sha256(dir: &Path, extensions: &[&str]) -> std::io::Result<String> {
    fn walk(base: &Path, dir: &Path, extensions: &[&str], files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with('.') || ["runs", "target", "node_modules", "__pycache__"].contains(&name.as_str()) {
                continue;
            }
            if path.is_dir() {
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
    for file in files {
        let bytes = std::fs::read(dir.join(&file))?;
        hash.update(file.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Builds the model crate in `dir` and returns its component's path.
/// Cargo's messages (compile errors included) go to `log`, a line each.
fn build_crate(dir: &Path, log: &mut dyn FnMut(&str)) -> Result<PathBuf, WasmError> {
    let failed = |reason: String| WasmError::Build { dir: dir.to_path_buf(), reason };
    let manifest = dir.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["build", "--release", "--target", TARGET, "--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(&manifest)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot start cargo ({e}); install Rust from https://rustup.rs")))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    // Read on its own thread: cargo writes both streams, and a full pipe
    // not being read would stall it.
    let stderr_lines =
        std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<String>>());
    let stdout = child.stdout.take().expect("stdout is piped");
    let canonical_manifest = std::fs::canonicalize(&manifest).unwrap_or(manifest.clone());
    let mut component = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(path) = wasm_artifact(&line, &canonical_manifest) {
            component = Some(path);
        }
    }
    let status = child.wait().map_err(|e| failed(format!("cargo did not finish: {e}")))?;
    let stderr_lines = stderr_lines.join().unwrap_or_default();
    for line in &stderr_lines {
        log(line);
    }
    if !status.success() {
        let missing_target = stderr_lines.iter().any(|l| l.contains(TARGET) && l.contains("not installed"))
            || stderr_lines.iter().any(|l| l.contains("can't find crate for `core`"));
        let help = if missing_target {
            format!("add the target: `rustup target add {TARGET}`")
        } else {
            "fix the errors above (cargo's output)".to_string()
        };
        return Err(failed(format!("cargo build failed ({status})\n  = help: {help}")));
    }
    component.ok_or_else(|| {
        failed("cargo built no .wasm: the crate needs `[lib] crate-type = [\"cdylib\", \"rlib\"]`".to_string())
    })
}

/// The `.wasm` file of a `compiler-artifact` message about the crate of
/// `manifest`, if `line` is one.
fn wasm_artifact(line: &str, manifest: &Path) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let of_this_crate = message
        .get("manifest_path")
        .and_then(|p| p.as_str())
        .is_some_and(|p| std::fs::canonicalize(p).is_ok_and(|p| p == manifest));
    if !of_this_crate {
        return None;
    }
    message
        .get("filenames")?
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.ends_with(".wasm"))
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_artifact_line() {
        let dir = std::env::temp_dir();
        let manifest = std::fs::canonicalize(&dir).unwrap();
        let line = format!(
            r#"{{"reason":"compiler-artifact","manifest_path":"{}","filenames":["/t/x.wasm","/t/libx.rlib"]}}"#,
            manifest.display()
        );
        assert_eq!(wasm_artifact(&line, &manifest), Some(PathBuf::from("/t/x.wasm")));
        assert_eq!(wasm_artifact(r#"{"reason":"build-finished","success":true}"#, &manifest), None);
        assert_eq!(wasm_artifact("not json", &manifest), None);
    }
}
