//! The layers of `host/src` (docs/architecture.md), kept by a test, not by
//! memory: each module may name only the modules below it (`crate::X`
//! outside tests and comments), only `cli` knows clap and the process's
//! environment, the engine names no file system and no backend, and in the
//! run layer only `run/placement.rs` chooses Docker or native nodes. A
//! breach the code cannot lose at once would be listed in `KNOWN` (empty
//! since #24): a new one fails, and so does a listed one that is gone. No
//! file is over 600 lines.

use std::collections::BTreeSet;
use std::path::Path;

/// Each top-level module and the modules it may name.
const LAYERS: &[(&str, &[&str])] = &[
    ("text", &[]),
    ("seed", &[]),
    ("atomic_file", &[]),
    // Student's t: the equivalence tests' and the sweep's intervals.
    ("student_t", &[]),
    ("scenario", &["text", "seed"]),
    ("runtime", &["scenario", "text", "seed", "atomic_file"]),
    // Knows no backend and no file system either: NOT_IN_ENGINE.
    ("engine", &["runtime", "scenario", "text", "seed"]),
    ("report", &["engine", "runtime", "scenario", "text", "seed", "atomic_file"]),
    ("run", &["report", "engine", "runtime", "scenario", "text", "seed", "atomic_file"]),
    // `report`: the comparison page of two runs' series.
    ("equiv", &["student_t", "run", "report", "engine", "runtime", "scenario", "text", "seed", "atomic_file"]),
    ("scaffold", &["scenario", "runtime", "text"]),
    // Many runs of one scenario: plans them, hands them out, collects them.
    ("sweep", &["student_t", "run", "report", "engine", "runtime", "scenario", "text", "seed", "atomic_file"]),
    (
        "cli",
        &[
            "sweep",
            "student_t",
            "equiv",
            "run",
            "report",
            "engine",
            "runtime",
            "scenario",
            "scaffold",
            "text",
            "seed",
            "atomic_file",
        ],
    ),
];

/// What only `cli` may use: (what, the text that uses it).
const CLI_ONLY: &[(&str, &str)] = &[("clap", "clap::"), ("the environment", "env::var")];

/// What the engine may not use, whoever else does: it steps the groups it
/// is handed and writes through the sinks it is handed (what, the text).
const NOT_IN_ENGINE: &[(&str, &str)] = &[
    ("the file system", "std::fs"),
    ("the file system", "fs::"),
    ("a backend", "runtime::wasm"),
    ("a backend", "runtime::docker"),
    ("a backend", "runtime::native"),
];

/// In the run layer, the one file that chooses a backend for each node.
const PLACEMENT: &str = "run/placement.rs";

/// Today's violations, (file under host/src, what it names): #24 removes them.
const KNOWN: &[(&str, &str)] = &[];

/// `source` without its test module and its comments: what the module's code names.
fn code(source: &str) -> String {
    let source = source.split("#[cfg(test)]").next().unwrap_or_default();
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rules `file` (a path under host/src, its source `source`) breaks: (file, what it names).
fn violations(file: &str, source: &str) -> Vec<(String, String)> {
    let top = file.split('/').next().unwrap_or_default().trim_end_matches(".rs");
    // lib.rs and main.rs sit above every layer.
    let Some((_, allowed)) = LAYERS.iter().find(|(layer, _)| *layer == top) else {
        return Vec::new();
    };
    let code = code(source);
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let named: String = code[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
        let is_layer = LAYERS.iter().any(|(layer, _)| *layer == named);
        if is_layer && named != top && !allowed.contains(&named.as_str()) {
            found.insert((file.to_string(), named));
        }
    }
    if top != "cli" {
        for (what, text) in CLI_ONLY {
            if code.contains(text) {
                found.insert((file.to_string(), what.to_string()));
            }
        }
    }
    if top == "engine" {
        for (what, text) in NOT_IN_ENGINE {
            if code.contains(text) {
                found.insert((file.to_string(), what.to_string()));
            }
        }
    }
    if top == "run" && file != PLACEMENT && (code.contains("runtime::docker") || code.contains("runtime::native")) {
        found.insert((file.to_string(), "a backend".to_string()));
    }
    found.into_iter().collect()
}

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                files.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn each_layer_names_only_the_layers_below_it() {
    let found: BTreeSet<(String, String)> = sources().iter().flat_map(|(file, src)| violations(file, src)).collect();
    let known: BTreeSet<(String, String)> = KNOWN.iter().map(|(f, w)| (f.to_string(), w.to_string())).collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(new.is_empty(), "layer rules broken (docs/architecture.md): {new:?}");
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(gone.is_empty(), "no longer broken: remove from KNOWN: {gone:?}");
}

#[test]
fn a_planted_violation_is_found() {
    let planted =
        "//! A runtime file.\nuse crate::scenario::X;\nfn f() { crate::cli::run(); }\n// crate::report in a comment\n";
    assert_eq!(violations("runtime/wasm/x.rs", planted), vec![("runtime/wasm/x.rs".to_string(), "cli".to_string())]);
    let env = "fn f() { std::env::var(\"HOME\"); }\n#[cfg(test)]\nmod tests { use clap::Parser; }\n";
    assert_eq!(violations("engine/y.rs", env), vec![("engine/y.rs".to_string(), "the environment".to_string())]);
    assert!(violations("cli/z.rs", "use clap::Parser;\nuse crate::run::X;\n").is_empty());
    // The engine knows no file system and no backend; the run layer may name both.
    let backend = "use crate::runtime::wasm::WasmNodeGroup;\nfn f() { std::fs::write(\"x\", b\"\"); }\n";
    let named = |what: &str| ("engine/step.rs".to_string(), what.to_string());
    assert_eq!(violations("engine/step.rs", backend), vec![named("a backend"), named("the file system")]);
    assert_eq!(
        violations("engine/z.rs", "use crate::run::Simulation;\n"),
        vec![("engine/z.rs".to_string(), "run".to_string())]
    );
    assert!(violations("run/placement.rs", backend).is_empty());
    // Only placement chooses Docker or native nodes.
    let docker = "use crate::runtime::docker::DockerEngine;\n";
    assert_eq!(violations("run/outputs.rs", docker), vec![("run/outputs.rs".to_string(), "a backend".to_string())]);
    assert!(violations("run/placement.rs", docker).is_empty());
    // The bottom names nothing, not even its neighbour.
    assert_eq!(
        violations("text/mod.rs", "use crate::seed::X;\n"),
        vec![("text/mod.rs".to_string(), "seed".to_string())]
    );
}

/// Most lines a file of `host/src` may have: past it, a file holds more
/// than one concern (#24 split the ones that did).
const MAX_LINES: usize = 600;

#[test]
fn no_file_holds_more_than_one_concern_by_its_length() {
    let long: Vec<(String, usize)> = sources()
        .into_iter()
        .map(|(file, src)| (file, src.lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines (split by concern, docs/architecture.md): {long:?}");
}
