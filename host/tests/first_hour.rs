//! Follows docs/writing-models.md's "The first hour" literally, in a fresh
//! folder outside the repository: every line of each `sh first-hour`
//! block runs as written (a trailing `# exits N` gives the exit code it
//! must have), and every line of the `text` block after it must appear in
//! what the block printed. The `xedgesim` this package builds is first on
//! the `PATH`, as `cargo install --path host` would put it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A `sh first-hour` block's commands and the `text` block after it, if any.
struct Step {
    commands: Vec<String>,
    expected: Vec<String>,
}

fn steps(doc: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let fence = line.trim();
        if fence != "```sh first-hour" && fence != "```text" {
            continue;
        }
        let body: Vec<String> = lines.by_ref().take_while(|l| l.trim() != "```").map(str::to_string).collect();
        if fence == "```sh first-hour" {
            steps.push(Step { commands: body, expected: Vec::new() });
        } else if let Some(last) = steps.last_mut().filter(|s| s.expected.is_empty()) {
            last.expected = body.into_iter().filter(|l| l.trim() != "…" && !l.trim().is_empty()).collect();
        }
    }
    steps
}

#[test]
fn the_first_hour_as_the_guide_writes_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let doc = std::fs::read_to_string(root.join("docs/writing-models.md")).unwrap();
    let steps = steps(&doc);
    assert!(steps.len() >= 2, "the guide's first-hour blocks are gone");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_xedgesim")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let home = tempfile::tempdir().unwrap();
    // A target folder kept between test runs: the model's dependencies
    // (wit-bindgen and its parsers) build once, not every run.
    let target = root.join("target").join("first-hour");
    let mut cwd: PathBuf = home.path().to_path_buf();
    for step in &steps {
        let mut printed = String::new();
        for line in &step.commands {
            let (command, expected_code) = match line.split_once("# exits ") {
                Some((command, code)) => (command.trim(), code.trim().parse::<i32>().unwrap()),
                None => (line.trim(), 0),
            };
            if let Some(dir) = command.strip_prefix("cd ") {
                cwd = cwd.join(dir.trim());
                continue;
            }
            let out = Command::new("bash")
                .args(["-c", command])
                .current_dir(&cwd)
                .env("PATH", &path)
                .env("CARGO_TARGET_DIR", &target)
                .env("XEDGESIM_CACHE_DIR", home.path().join("cache"))
                .output()
                .unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.status.code(), Some(expected_code), "`{command}` in {}:\n{text}", cwd.display());
            printed.push_str(&text);
        }
        for line in &step.expected {
            assert!(printed.contains(line.as_str()), "the guide shows\n{line}\nbut the commands printed\n{printed}");
        }
    }
}

/// The body of the first fenced block of `lang` after the heading `heading`.
fn block_after(doc: &str, heading: &str, lang: &str) -> String {
    let after = &doc[doc.find(heading).unwrap_or_else(|| panic!("no heading {heading}"))..];
    let start = after.find(&format!("```{lang}\n")).unwrap_or_else(|| panic!("no {lang} block")) + lang.len() + 4;
    let body = &after[start..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn the_sdk_written_anywhere_builds_with_the_documented_dependency_line_and_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let doc = std::fs::read_to_string(root.join("docs/writing-models.md")).unwrap();
    let dependency = block_after(&doc, "## In Rust", "toml");
    let code = block_after(&doc, "## In Rust", "rust");
    let home = tempfile::tempdir().unwrap();
    let xedgesim = |args: &[&str], cwd: &Path| {
        Command::new(env!("CARGO_BIN_EXE_xedgesim"))
            .args(args)
            .current_dir(cwd)
            .env("CARGO_TARGET_DIR", root.join("target").join("first-hour"))
            .env("XEDGESIM_CACHE_DIR", home.path().join("cache"))
            .output()
            .unwrap()
    };
    let wrote = xedgesim(&["sdk", "rust", "sdk"], home.path());
    assert_eq!(wrote.status.code(), Some(0), "{}", String::from_utf8_lossy(&wrote.stderr));
    // A crate of one's own, outside any checkout: the guide's lines, DIR filled in.
    let counter = home.path().join("counter");
    std::fs::create_dir_all(counter.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"counter\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n{}\n[workspace]\n",
        dependency.replace("DIR", "../sdk")
    );
    std::fs::write(counter.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(counter.join("src/lib.rs"), code).unwrap();
    // Its declared config is checked (the component says `every` is a whole number)...
    let scenario = home.path().join("counter.yaml");
    let yaml = |every: &str| {
        format!(
            "simulation: {{duration_s: 5}}\nnodes:\n  - {{id: s, type: sensor, config: {{destination: c}}}}\n  - {{id: c, type: counter, wasm: {{component: counter}}, config: {{every: {every}}}}}\n"
        )
    };
    std::fs::write(&scenario, yaml("often")).unwrap();
    // Not built yet: `validate` builds nothing, and says how to build it.
    let noted = xedgesim(&["validate", "counter.yaml"], home.path());
    let stdout = String::from_utf8_lossy(&noted.stdout).into_owned();
    assert_eq!(noted.status.code(), Some(0), "{}", String::from_utf8_lossy(&noted.stderr));
    assert!(
        stdout.contains("has no build of its current sources") && stdout.contains("`xedgesim build counter.yaml`"),
        "{stdout}"
    );
    let built = xedgesim(&["build", "counter.yaml"], home.path());
    assert_eq!(built.status.code(), Some(0), "{}", String::from_utf8_lossy(&built.stderr));
    let refused = xedgesim(&["validate", "counter.yaml"], home.path());
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("counter.yaml:4:72: error: config key 'every' of the model counter must be a whole number; found the text \"often\""),
        "{stderr}"
    );
    // ... and with a good one it runs, its metric in the summary.
    std::fs::write(&scenario, yaml("3")).unwrap();
    let ran = xedgesim(&["run", "counter.yaml", "--out", "out"], home.path());
    assert_eq!(ran.status.code(), Some(0), "{}", String::from_utf8_lossy(&ran.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.path().join("out/summary.json")).unwrap()).unwrap();
    // One reading a second from t = 1 s to 5 s, 0 µs links: 5 seen.
    assert_eq!(summary["model_metrics"]["counter"]["metrics"]["seen"]["sum"], 5.0);
    // An edit to the SDK outside the crate's folder makes its build stale too.
    let sdk_lib = home.path().join("sdk/src/lib.rs");
    let mut code = std::fs::read_to_string(&sdk_lib).unwrap();
    code.push_str("\n// edited\n");
    std::fs::write(&sdk_lib, code).unwrap();
    let stale = xedgesim(&["run", "counter.yaml", "--out", "out"], home.path());
    let stderr = String::from_utf8_lossy(&stale.stderr).into_owned();
    assert_eq!(stale.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not built from its current sources"), "{stderr}");
}

#[path = "../../tests/src/polyglot.rs"]
mod polyglot;

/// `xedgesim new model NAME --lang …`, the model's own test as the
/// command prints it, then `xedgesim build` and `run` from the folder, as
/// it prints them: build makes the component (componentize-py;
/// componentize-qjs after `npm ci` in the folder), and the model's figures
/// are the Rust template's (the three templates do the same thing).
fn new_model_runs(lang: &str, test: &[&str], setup: Option<&[&str]>) {
    let home = tempfile::tempdir().unwrap();
    let tool_dir = polyglot::componentize_py().parent().map(Path::to_path_buf).unwrap_or_default();
    let path = format!("{}:{}", tool_dir.display(), std::env::var("PATH").unwrap_or_default());
    let run = |program: &str, args: &[&str], cwd: &Path| {
        let out = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .env("PATH", &path)
            .env("XEDGESIM_CACHE_DIR", home.path().join("cache"))
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "`{program} {}` in {}:\n{text}", args.join(" "), cwd.display());
        text
    };
    let printed = run(env!("CARGO_BIN_EXE_xedgesim"), &["new", "model", "sift", "--lang", lang], home.path());
    assert!(printed.contains(&test.join(" ")), "the command says how to test it: {printed}");
    let folder = home.path().join("sift");
    if let Some(setup) = setup {
        run(setup[0], &setup[1..], &folder);
    }
    run(test[0], &test[1..], &folder);
    assert!(printed.contains("xedgesim build scenario.yaml") && printed.contains("xedgesim run scenario.yaml"));
    let built = run(env!("CARGO_BIN_EXE_xedgesim"), &["build", "scenario.yaml"], &folder);
    assert!(built.contains("built the model in"), "{built}");
    let ran = run(env!("CARGO_BIN_EXE_xedgesim"), &["run", "scenario.yaml"], &folder);
    assert!(ran.contains("model metrics sift (1 node): forwarded 99, seen 177"), "{ran}");
    assert!(ran.contains("using the model in") && ran.contains("as built into"), "{ran}");
    // Built once: building again finds the component of the same sources.
    let again = run(env!("CARGO_BIN_EXE_xedgesim"), &["build", "scenario.yaml"], &folder);
    assert!(again.contains("up to date:"), "{again}");
}

#[test]
fn a_new_python_model_passes_its_test_and_runs_from_its_folder() {
    new_model_runs("python", &["python3", "-m", "unittest"], None);
}

#[test]
fn a_new_javascript_model_passes_its_test_and_runs_from_its_folder() {
    new_model_runs("js", &["node", "test.js"], Some(&["npm", "ci", "--no-audit", "--no-fund"]));
}

/// The repository's Python and JavaScript gateways run by folder, as a
/// folder `xedgesim new` made does: a scenario names `models/<model>`,
/// `xedgesim build` builds it (componentize-py; componentize-qjs after
/// `npm ci` in the folder) and `run` runs it, with the trace and metrics
/// of the built-in (Rust) gateway byte for byte.
fn repository_gateway_runs_from_its_folder(model: &str, setup: Option<&[&str]>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let folder = root.join("models").join(model);
    let home = tempfile::tempdir().unwrap();
    let tool_dir = polyglot::componentize_py().parent().map(Path::to_path_buf).unwrap_or_default();
    let path = format!("{}:{}", tool_dir.display(), std::env::var("PATH").unwrap_or_default());
    // Kept between test runs: a build of the same sources is found, not made again.
    let cache = polyglot::polyglot_dir().join(format!("folder-cache-{model}"));
    let run = |program: &str, args: &[&str], cwd: &Path| {
        let out = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .env("PATH", &path)
            .env("XEDGESIM_CACHE_DIR", &cache)
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "`{program} {}` in {}:\n{text}", args.join(" "), cwd.display());
        text
    };
    if let Some(setup) = setup
        && !folder.join("node_modules/.bin/componentize-qjs").is_file()
    {
        run(setup[0], &setup[1..], &folder);
    }
    let rust = std::fs::read_to_string(root.join("scenarios/wasm_gateway.yaml")).unwrap();
    let named = format!("  - id: gateway\n    type: gateway\n    wasm: {{component: '{}'}}\n", folder.display());
    let by_folder = rust.replace("  - id: gateway\n    type: gateway\n", &named);
    assert_ne!(by_folder, rust, "the scenario's gateway is no longer where the test looks for it");
    std::fs::write(home.path().join("rust.yaml"), rust).unwrap();
    std::fs::write(home.path().join("folder.yaml"), by_folder).unwrap();
    let built = run(env!("CARGO_BIN_EXE_xedgesim"), &["build", "folder.yaml"], home.path());
    assert!(built.contains("built the model in"), "{built}");
    let xedgesim = env!("CARGO_BIN_EXE_xedgesim");
    let ran = run(xedgesim, &["run", "folder.yaml", "--out", "folder", "--trace", "all"], home.path());
    assert!(ran.contains("using the model in") && ran.contains("as built into"), "{ran}");
    run(xedgesim, &["run", "rust.yaml", "--out", "rust", "--trace", "all"], home.path());
    for name in ["trace.jsonl", "metrics.csv"] {
        let a = std::fs::read(home.path().join("rust").join(name)).unwrap();
        let b = std::fs::read(home.path().join("folder").join(name)).unwrap();
        assert!(a == b, "{model}: {name} differs from the Rust gateway's");
    }
}

#[test]
fn the_repository_python_gateway_runs_from_its_folder() {
    repository_gateway_runs_from_its_folder("python-gateway", None);
}

#[test]
fn the_repository_javascript_gateway_runs_from_its_folder() {
    repository_gateway_runs_from_its_folder("js-gateway", Some(&["npm", "ci", "--no-audit", "--no-fund"]));
}
