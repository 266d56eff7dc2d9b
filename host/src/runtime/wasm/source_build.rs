//! A model's source folder where a component is expected:
//!
//! - a Rust crate (`Cargo.toml`): `cargo build --release --target
//!   wasm32-wasip2`; cargo decides what is stale (nothing to do costs about
//!   a tenth of a second);
//! - a Python model (`model.py`): componentize-py, from `PATH`;
//! - a JavaScript model (`model.js`): componentize-qjs, from the folder's
//!   `node_modules` (`npm ci` there once).
//!
//! Building runs code from the folder (cargo runs its `build.rs`, proc
//! macros and `.cargo/config`; a JavaScript folder brings its own tool),
//! so it happens only when the user says so ([`build_folder`]: `xedgesim
//! build`, `run --build`). Every build keeps its component in the cache's
//! private `builds/` folder under the SHA-256 of the folder's sources
//! ([`sources_key`]); [`kept_build`] finds the component a previous build
//! made from exactly the current sources, running nothing.
//!
//! The key covers the files inside the folder; a Rust crate's source
//! files outside it (a path dependency such as `../sdk`, as cargo's
//! dep-info lists them; not the registry's, which its lock file pins),
//! and those inside it the key skips (an `include_bytes!` of a `.bin`),
//! are kept beside its build with their SHA-256, and a change to one
//! makes the build stale too.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use super::error::WasmError;
use super::source_key::{file_sha256, sources_key, sources_outside};
use crate::runtime::output_tail::{self, OutputTail};
use crate::scenario::MODEL_FOLDER_FILES;
use crate::text::hex;

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
    /// What `dir` holds, by the first of [`MODEL_FOLDER_FILES`] in it.
    pub fn of(dir: &Path) -> Option<Self> {
        let languages = [FolderLanguage::Rust, FolderLanguage::Python, FolderLanguage::JavaScript];
        MODEL_FOLDER_FILES
            .iter()
            .zip(languages)
            .find(|(file, _)| dir.join(file).is_file())
            .map(|(_, language)| language)
    }

    /// The extensions of the files its key covers.
    pub(super) fn sources(self) -> &'static [&'static str] {
        match self {
            FolderLanguage::Rust => &["rs", "toml", "lock", "wit"],
            FolderLanguage::Python => &["py", "wit"],
            // The lock file pins the tool: it is among the hashed sources.
            FolderLanguage::JavaScript => &["js", "mjs", "cjs", "wit", "json"],
        }
    }

    /// What building a folder of this language runs, in words.
    pub fn what_building_runs(self) -> &'static str {
        match self {
            FolderLanguage::Rust => "cargo, which runs the crate's build.rs, proc macros and .cargo/config",
            FolderLanguage::Python => "componentize-py (from PATH) on the folder's Python code",
            FolderLanguage::JavaScript => "the folder's own node_modules/.bin/componentize-qjs",
        }
    }
}

/// The component a previous build made from exactly `dir`'s current
/// sources, kept under `cache_dir`; `None` when there is none (never
/// built, or changed since). Runs nothing from the folder.
pub fn kept_build(dir: &Path, cache_dir: Option<&Path>) -> Result<Option<PathBuf>, WasmError> {
    let failed = |reason: String| WasmError::Build { dir: dir.to_path_buf(), reason };
    let Some(language) = FolderLanguage::of(dir) else {
        return Err(failed("it holds no Cargo.toml, model.py or model.js".to_string()));
    };
    let Some(cache_dir) = cache_dir else { return Ok(None) };
    let builds = cache_dir.join("builds");
    if !builds.is_dir() {
        return Ok(None);
    }
    super::cache::check_owned(&builds).map_err(|e| failed(format!("its builds folder is not trusted: {e}")))?;
    let key = sources_key(dir, language).map_err(|e| failed(format!("cannot read its sources: {e}")))?;
    let kept = builds.join(format!("{key}.wasm"));
    if !std::fs::symlink_metadata(&kept).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    // The sources outside the folder it was built from, if any: unchanged?
    let outside = std::fs::read_to_string(kept.with_extension("deps")).unwrap_or_default();
    let unchanged = outside.lines().all(|line| {
        line.split_once(' ').is_some_and(|(sha, path)| file_sha256(Path::new(path)).is_ok_and(|h| hex(&h) == sha))
    });
    Ok(unchanged.then_some(kept))
}

/// Builds the model in `dir` and returns its component's path: a file
/// under `builds/` in `cache_dir`, named by its sources' key, which
/// nothing else writes to. The tools' messages go to `log`, a line each;
/// a failure's last lines are in the error too (a quiet run shows no log).
/// A Rust crate is built by `cargo`, the program given or, when `None`,
/// `cargo` from `PATH`. Runs code from the folder: call it only on the
/// user's say-so.
pub fn build_folder(
    dir: &Path,
    cache_dir: Option<&Path>,
    cargo: Option<&Path>,
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf, WasmError> {
    let failed = |reason: String| WasmError::Build { dir: dir.to_path_buf(), reason };
    let language =
        FolderLanguage::of(dir).ok_or_else(|| failed("it holds no Cargo.toml, model.py or model.js".to_string()))?;
    let cache_dir = cache_dir.ok_or_else(|| {
        failed(
            "there is no cache folder to keep its component in\n  = help: set XEDGESIM_CACHE_DIR (or HOME) to a folder of your own".to_string(),
        )
    })?;
    let builds = builds_dir(cache_dir).map_err(|e| failed(format!("cannot make the builds folder: {e}")))?;
    let kept_as = |dir: &Path| -> Result<PathBuf, WasmError> {
        let key = sources_key(dir, language).map_err(|e| failed(format!("cannot read its sources: {e}")))?;
        Ok(builds.join(format!("{key}.wasm")))
    };
    let out = match language {
        FolderLanguage::Rust => {
            let (bytes, outside) = build_crate(dir, cargo, log)?;
            // Keyed as the build left the folder: cargo may have written its Cargo.lock.
            let out = kept_as(dir)?;
            let mut listed = String::new();
            for path in outside.iter().filter(|p| !p.to_string_lossy().contains('\n')) {
                let sha = file_sha256(path).map(|h| hex(&h)).unwrap_or_default();
                listed.push_str(&format!("{sha} {}\n", path.display()));
            }
            for (file, content) in [(out.with_extension("deps"), listed.as_bytes()), (out.clone(), &bytes[..])] {
                if std::fs::read(&file).is_ok_and(|kept| kept == content) {
                    continue;
                }
                let partial = partial_path(&file);
                std::fs::write(&partial, content)
                    .and_then(|()| std::fs::rename(&partial, &file))
                    .map_err(|e| failed(format!("cannot keep {}: {e}", file.display())))?;
            }
            out
        }
        language => {
            let out = kept_as(dir)?;
            build_script(dir, language, &out, log)?;
            out
        }
    };
    evict_old_builds(&builds, &out);
    Ok(out)
}

/// How many built components `builds/` keeps; the least recently used go
/// first (a Python component is about 18 MB, one per edit).
const MAX_KEPT_BUILDS: usize = 16;

/// `builds/` in the cache folder, made readable by its owner only, as
/// the compile cache is.
fn builds_dir(cache_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = cache_dir.join("builds");
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir)?;
    // Another user's folder, or one others may write to, could hold a planted component.
    super::cache::check_owned(&dir)?;
    Ok(dir)
}

/// Removes the least recently used components past [`MAX_KEPT_BUILDS`],
/// never `keep`. Best effort: a build that cannot be removed stays.
fn evict_old_builds(builds: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(builds) else { return };
    let mut kept: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm") && p != keep)
        .filter_map(|p| Some((std::fs::metadata(&p).and_then(|m| m.modified()).ok()?, p)))
        .collect();
    kept.sort();
    let excess = (kept.len() + 1).saturating_sub(MAX_KEPT_BUILDS);
    for (_, path) in kept.into_iter().take(excess) {
        let _ = std::fs::remove_file(path.with_extension("tool"));
        let _ = std::fs::remove_file(path.with_extension("deps"));
        let _ = std::fs::remove_file(path);
    }
}

/// A unique name beside `out` to write to before renaming: two builds of
/// one folder at once (equivalence trials run on threads) never share it.
fn partial_path(out: &Path) -> PathBuf {
    static BUILDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    out.with_extension(format!("{}-{n}.partial", std::process::id()))
}

/// The last lines of a tool's output, for an error message.
fn last_lines(tail: &OutputTail) -> String {
    let shown = tail.text();
    if shown.is_empty() { String::new() } else { format!("; its last lines:\n{shown}") }
}

/// A line a build tool printed: for the log, or (cargo's stdout, with
/// `--message-format json`) a message for the caller.
enum ToolLine {
    Shown(String),
    Message(String),
}

/// Runs a build tool from a model folder to its end. Every line of its
/// stderr, and of its stdout unless `message` takes stdout's lines raw,
/// goes to `log` escaped and cut to a bounded length as it comes; only the
/// last lines are kept, so a tool that prints gigabytes costs no memory.
fn run_tool(
    command: &mut Command,
    log: &mut dyn FnMut(&str),
    mut message: Option<&mut dyn FnMut(&str)>,
) -> std::io::Result<(ExitStatus, OutputTail)> {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Both streams are read at once, each on its own thread: a full pipe
    // not being read would stall the tool.
    let (sender, lines) = std::sync::mpsc::sync_channel::<ToolLine>(256);
    let raw_stdout = message.is_some();
    let stdout_sender = sender.clone();
    let stdout_reader = std::thread::spawn(move || {
        if raw_stdout {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = stdout_sender.send(ToolLine::Message(line));
            }
        } else {
            output_tail::for_each_line(stdout, |line| {
                let _ = stdout_sender.send(ToolLine::Shown(line));
            });
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        output_tail::for_each_line(stderr, |line| {
            let _ = sender.send(ToolLine::Shown(line));
        })
    });
    let mut tail = OutputTail::default();
    for line in lines {
        match line {
            ToolLine::Shown(line) => {
                log(&line);
                tail.push(&line);
            }
            ToolLine::Message(line) => {
                if let Some(message) = message.as_mut() {
                    message(&line);
                }
            }
        }
    }
    let _ = stdout_reader.join();
    let _ = stderr_reader.join();
    Ok((child.wait()?, tail))
}

/// Builds a Python or JavaScript model folder into `out`, unless a
/// component of the same sources and tool version is kept there already
/// (the tool's version is kept beside it, in `<key>.tool`).
fn build_script(dir: &Path, language: FolderLanguage, out: &Path, log: &mut dyn FnMut(&str)) -> Result<(), WasmError> {
    let failed = |reason: String| WasmError::Build { dir: dir.to_path_buf(), reason };
    let wit = dir.join("wit");
    if !wit.join("node.wit").is_file() {
        return Err(failed(format!(
            "{} is missing: the folder carries its contract (`xedgesim new model NAME --lang …` writes it)",
            wit.join("node.wit").display()
        )));
    }
    let (mut command, tool_version) = match language {
        FolderLanguage::Python => {
            let version = Command::new("componentize-py").arg("--version").output().map_err(|e| {
                failed(format!(
                    "cannot start componentize-py ({e})\n  = help: install it: `pip install componentize-py==0.25.1`"
                ))
            })?;
            let mut c = Command::new("componentize-py");
            c.arg("-d").arg(&wit).args(["-w", "node-model", "componentize", "model", "-p"]).arg(dir);
            (c, String::from_utf8_lossy(&version.stdout).into_owned())
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
            c.arg("--wit").arg(&wit).args(["--world", "node-model", "--sync", "--js"]).arg(dir.join("model.js"));
            // The lock file, among the hashed sources, pins the tool.
            (c, String::new())
        }
    };
    let tool_file = out.with_extension("tool");
    if out.is_file() && std::fs::read_to_string(&tool_file).is_ok_and(|v| v == tool_version) {
        log(&format!("up to date: {}", out.display()));
        return Ok(());
    }
    let partial = partial_path(out);
    command.arg("-o").arg(&partial).current_dir(dir);
    let (status, tail) = run_tool(&mut command, log, None).map_err(|e| {
        failed(format!("cannot start its build tool ({e})\n  = help: run `npm ci` in the model's folder"))
    })?;
    if !status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(failed(format!("its build failed ({status}){}", last_lines(&tail))));
    }
    std::fs::rename(&partial, out).map_err(|e| failed(format!("cannot keep {}: {e}", out.display())))?;
    std::fs::write(&tool_file, &tool_version).map_err(|e| failed(format!("cannot keep {}: {e}", tool_file.display())))
}

/// Builds the model crate in `dir` with `cargo` (`None`: `cargo` from
/// `PATH`) and returns its component's bytes and its source files outside
/// `dir`. Cargo's messages (compile errors included) go to `log`, a line each.
fn build_crate(
    dir: &Path,
    cargo: Option<&Path>,
    log: &mut dyn FnMut(&str),
) -> Result<(Vec<u8>, Vec<PathBuf>), WasmError> {
    let failed = |reason: String| WasmError::Build { dir: dir.to_path_buf(), reason };
    let manifest = dir.join("Cargo.toml");
    let mut command = Command::new(cargo.unwrap_or(Path::new("cargo")));
    command
        .args(["build", "--release", "--target", TARGET, "--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(&manifest)
        .current_dir(dir);
    let canonical_manifest = std::fs::canonicalize(&manifest).unwrap_or(manifest.clone());
    let mut component = None;
    let mut message = |line: &str| {
        if let Some(path) = wasm_artifact(line, &canonical_manifest) {
            component = Some(path);
        }
    };
    let (status, tail) = run_tool(&mut command, log, Some(&mut message))
        .map_err(|e| failed(format!("cannot start cargo ({e}); install Rust from https://rustup.rs")))?;
    if !status.success() {
        let text = tail.text();
        let missing_target = text.lines().any(|l| l.contains(TARGET) && l.contains("not installed"))
            || text.contains("can't find crate for `core`");
        let help = if missing_target {
            format!("add the target: `rustup target add {TARGET}`")
        } else {
            "fix cargo's errors".to_string()
        };
        return Err(failed(format!("cargo build failed ({status}){}\n  = help: {help}", last_lines(&tail))));
    }
    let artifact = component.ok_or_else(|| {
        failed("cargo built no .wasm: the crate needs `[lib] crate-type = [\"cdylib\", \"rlib\"]`".to_string())
    })?;
    // Copied now: cargo's target folder is shared and rewritten (two
    // crates of one name in one target folder, a build running alongside),
    // so the file it names may not stay this crate's.
    let bytes = std::fs::read(&artifact).map_err(|e| failed(format!("cannot read {}: {e}", artifact.display())))?;
    Ok((bytes, sources_outside(&artifact, dir)))
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

    /// A build tool that prints a 10 MiB line, terminal controls and 100
    /// lines: each line reaches the log cut and escaped, and only the last
    /// lines are kept (it was held whole, and printed raw).
    #[test]
    fn a_build_tools_output_is_logged_escaped_and_bounded_and_only_its_tail_kept() {
        let script = r#"head -c 10485760 /dev/zero | tr '\0' x; echo; printf '\033]0;title\007red\n' >&2;
            i=0; while [ $i -lt 100 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 3"#;
        let mut logged = Vec::new();
        let (status, tail) =
            run_tool(Command::new("sh").args(["-c", script]), &mut |l| logged.push(l.to_string()), None)
                .expect("sh runs");
        assert_eq!(status.code(), Some(3));
        assert_eq!(logged.len(), 102, "every line is logged");
        assert!(logged.iter().all(|l| l.len() < output_tail::MAX_LINE_BYTES + 64), "each line is cut");
        assert!(logged.contains(&"\\u{1b}]0;title\\u{7}red".to_string()), "controls escaped: {:?}", &logged[..2]);
        let kept = tail.text();
        assert_eq!(kept.lines().count(), output_tail::TAIL_LINES);
        // stdout and stderr are read apart, so the 10 MiB line (stdout) may
        // land among the last stderr lines: it is then kept cut, never whole.
        assert!(kept.lines().any(|l| l == "line 99"), "{kept}");
        assert!(kept.lines().all(|l| l.len() < output_tail::MAX_LINE_BYTES + 64), "{kept}");
    }

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
