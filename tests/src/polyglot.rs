//! The Python and JavaScript model toolchains, at their pinned versions,
//! installed on first use under `target/polyglot/` (CI installs them in
//! `.ci/test` first). Shared by the workspace's tests and the host's
//! (`host/tests` include this file), as `docker_support.rs` is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The componentize-py version the Python SDK is built with.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// The workspace's `target/polyglot`.
pub fn polyglot_dir() -> PathBuf {
    // Both packages that include this file sit one folder below the root.
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("a package of the workspace").join("target/polyglot")
}

/// Runs `command`, failing the test with `what` when it cannot.
pub fn run_tool(command: &mut Command, what: &str) {
    let status = command.status().unwrap_or_else(|e| panic!("{what}: cannot start it ({e})"));
    assert!(status.success(), "{what} failed ({status})");
}

/// componentize-py at the pinned version: from PATH when it is that one,
/// else installed into a venv of our own.
pub fn componentize_py() -> PathBuf {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let on_path = Command::new("componentize-py").arg("--version").output();
        if on_path.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(COMPONENTIZE_PY)) {
            return PathBuf::from("componentize-py");
        }
        let venv = polyglot_dir().join("venv");
        let tool = venv.join("bin/componentize-py");
        if !tool.is_file() {
            run_tool(
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
                "python3 -m venv (Python models need python3 with venv: apt-get install python3-venv)",
            );
            run_tool(
                Command::new(venv.join("bin/pip")).args([
                    "install",
                    "--quiet",
                    &format!("componentize-py=={COMPONENTIZE_PY}"),
                ]),
                "pip install componentize-py",
            );
        }
        tool
    })
    .clone()
}
