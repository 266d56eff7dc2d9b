//! `xedgesim validate` as a user runs it: exit codes, output streams, help.

mod common;

use std::process::Output;

use common::output_text as text;

fn xedgesim(args: &[&str]) -> Output {
    common::xedgesim(args, None)
}

#[test]
fn valid_files_exit_zero() {
    let out = xedgesim(&["validate", "scenarios/wasm_gateway.yaml", "scenarios/xedgesim_m0_baseline.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ok: scenarios/wasm_gateway.yaml (5 nodes, 30 s, seed 42)"), "{stdout}");
    assert!(stdout.contains("ok: scenarios/xedgesim_m0_baseline.yaml (4 nodes, 10 s, seed 42)"), "{stdout}");
}

#[test]
fn validate_runs_each_models_constructor_on_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.yaml");
    std::fs::write(
        &file,
        // The right kind (the declaration's check passes), out of the model's range.
        "nodes:\n  - {id: s, type: sensor, config: {sample_rate_hz: -1}}\n  - {id: c, type: cloud}\n",
    )
    .unwrap();
    let out = xedgesim(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("node 's' rejected its config at t = 0.000000 s: config key 'sample_rate_hz'"), "{stderr}");
    assert!(stderr.contains("1 error in the models' configs"), "{stderr}");
    // The file alone is fine: --no-models checks only it.
    let out = xedgesim(&["validate", "--no-models", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn one_node_is_one_node() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.yaml");
    std::fs::write(&file, "nodes:\n  - {id: c, type: cloud}\n").unwrap();
    let out = xedgesim(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(1 node, "), "{}", text(&out.stdout));
}

#[test]
fn validate_says_which_scenarios_need_a_docker_engine_without_touching_one() {
    let out = xedgesim(&["validate", "scenarios/wasm_gateway.yaml", "scenarios/hybrid.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("note: needs a Docker engine to run (Docker nodes: edge-gw)"), "{stdout}");
    assert_eq!(stdout.matches("needs a Docker engine").count(), 1, "only the hybrid scenario does: {stdout}");
}

#[test]
fn any_invalid_file_exits_two_with_errors_on_stderr() {
    let out = xedgesim(&["validate", "scenarios/wasm_gateway.yaml", "scenarios/invalid/invalid_implementation.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("scenarios/invalid/invalid_implementation.yaml:6:21: error: implementation must be one of wasm, docker; found 'dokcer'"), "{stderr}");
    assert!(stderr.contains("did you mean 'docker'?"), "{stderr}");
    assert!(stderr.contains("1 error"), "{stderr}");
    assert!(text(&out.stdout).contains("ok: scenarios/wasm_gateway.yaml"), "valid files are still reported");
}

#[test]
fn a_missing_file_exits_two() {
    let out = xedgesim(&["validate", "scenarios/no-such-file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("scenarios/no-such-file.yaml: error: cannot read scenario file"));
}

#[test]
fn resolved_prints_the_resolved_form_as_yaml() {
    let out = xedgesim(&["validate", "--resolved", "scenarios/xedgesim_m0_baseline.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("duration_us: 10000000"), "{stdout}");
    assert!(stdout.contains("type: sensor\n"), "legacy names are mapped: {stdout}");
    assert!(stdout.contains("destination: gateway"), "{stdout}");
}

#[test]
fn warnings_do_not_fail_validation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("direct.yaml");
    std::fs::write(&file, "network: {model: direct, default_latency_us: 5}\nnodes:\n  - {id: s, type: sensor}\n  - {id: c, type: cloud}\n")
        .unwrap();
    let out = xedgesim(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("warning: network.default_latency_us has no effect with `model: direct`"));
}

#[test]
fn help_and_bad_arguments() {
    for args in [&["--help"][..], &["validate", "--help"][..]] {
        let out = xedgesim(args);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("Usage: xedgesim"), "{}", text(&out.stdout));
    }
    assert_eq!(xedgesim(&["validate"]).status.code(), Some(2), "a file is required");
    assert_eq!(xedgesim(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn a_scenario_reached_through_a_symlink_resolves_paths_where_it_really_is_in_validate_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(real.join("hostile.wasm"), xedgesim::runtime::wasm::fixture_component("hostile").unwrap()).unwrap();
    std::fs::write(
        real.join("s.yaml"),
        "simulation: {duration_s: 1}\nnodes:\n  - {id: h, type: hostile, wasm: {component: hostile.wasm}}\n",
    )
    .unwrap();
    let link = elsewhere.join("link.yaml");
    std::os::unix::fs::symlink(real.join("s.yaml"), &link).unwrap();
    let out = xedgesim(&["validate", link.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = xedgesim(&["run", link.to_str().unwrap(), "--quiet", "--out", dir.path().join("out").to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
}

#[test]
fn a_config_key_a_built_in_model_does_not_take_is_a_warning_and_strict_makes_it_an_error() {
    // xEdgeSim ignored such keys; so does the run, but it says so.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.yaml");
    std::fs::write(
        &file,
        "simulation: {duration_s: 2}\nnodes:\n  - {id: s, type: sensor, config: {sample_rate: 2, colour: red}}\n  - {id: c, type: cloud, config: {port: 80}}\n",
    )
    .unwrap();
    let o = common::xedgesim(&["validate", file.to_str().unwrap()], Some(dir.path()));
    assert_eq!(o.status.code(), Some(0));
    let stderr = common::output_text(&o.stderr);
    assert!(
        stderr.contains(
            "keys.yaml:3:36: warning: config key 'sample_rate' is ignored: the built-in sensor model does not take it"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean 'sample_rate_hz'?"), "{stderr}");
    assert!(stderr.contains("config key 'colour' is ignored"), "{stderr}");
    assert!(stderr.contains("config key 'port' is ignored: the built-in cloud model does not take it"), "{stderr}");
    assert!(stderr.contains("the cloud model takes only subscribe, value_field"), "{stderr}");
    assert!(stderr.contains("= node: c"), "{stderr}");
    let o = common::xedgesim(&["validate", "--strict", file.to_str().unwrap()], Some(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(common::output_text(&o.stderr).contains("3 warnings (errors under --strict)"));
    // `run` says the same and runs without them; `--strict` refuses to run.
    let out = dir.path().join("out");
    let o = common::xedgesim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()], Some(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", common::output_text(&o.stderr));
    assert!(common::output_text(&o.stderr).contains("config key 'sample_rate' is ignored"));
    let o = common::xedgesim(&["run", "--strict", file.to_str().unwrap()], Some(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(common::output_text(&o.stderr).contains("has warnings and --strict is given; nothing was run"));
}

#[test]
fn a_build_context_is_looked_for_above_the_scenario_as_xedgesim_did() {
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("containers/gw");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\n").unwrap();
    let nested = dir.path().join("scenarios/m2d");
    std::fs::create_dir_all(&nested).unwrap();
    let docker_node = |c: &str| {
        format!("nodes:\n  - {{id: g, type: gateway, implementation: docker, docker: {{build_context: {c}}}}}\n")
    };
    let file = nested.join("up.yaml");
    std::fs::write(&file, docker_node("containers/gw")).unwrap();
    let loaded = xedgesim::scenario::load(&file).unwrap();
    let xedgesim::scenario::Implementation::Docker(docker) = &loaded.resolved.nodes[0].implementation else {
        panic!("a docker node")
    };
    assert_eq!(docker.build_context.as_deref(), Some(context.canonicalize().unwrap().as_path()));
    let warning = loaded.warnings.0[0].to_string();
    assert!(warning.contains("build context 'containers/gw' is not in the scenario's folder"), "{warning}");
    assert!(warning.contains("2 folders up"), "{warning}");
    assert!(warning.contains("write it as '../../containers/gw'"), "{warning}");
    // Written relative to the scenario, it is found without a word.
    std::fs::write(&file, docker_node("../../containers/gw")).unwrap();
    assert!(xedgesim::scenario::load(&file).unwrap().warnings.0.is_empty());
    // Nowhere: an error naming the path.
    std::fs::write(&file, docker_node("containers/nowhere")).unwrap();
    let e = xedgesim::scenario::load(&file).unwrap_err().to_string();
    assert!(e.contains("directory 'containers/nowhere' does not exist"), "{e}");
}

#[test]
fn the_home_folder_from_the_environment_is_never_searched_for_a_build_context() {
    // `build_context: data` is only in the home folder, above the scenario's.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("data")).unwrap();
    std::fs::write(home.join("data/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::create_dir_all(home.join("scenarios")).unwrap();
    let file = home.join("scenarios/s.yaml");
    std::fs::write(
        &file,
        "nodes:\n  - {id: g, type: gateway, implementation: docker, docker: {build_context: data}}\n",
    )
    .unwrap();
    let validate = |home_env: Option<&std::path::Path>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"));
        command.args(["validate", "--no-models", file.to_str().unwrap()]);
        match home_env {
            Some(home) => command.env("HOME", home),
            None => command.env_remove("HOME"),
        };
        command.output().unwrap()
    };
    let out = validate(Some(&home));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("directory 'data' does not exist"), "{}", text(&out.stderr));
    // Without HOME nothing is kept out but the root: found one folder up, with a warning.
    let out = validate(None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("build context 'data' is not in the scenario's folder"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_destination_that_names_no_node_is_an_error_with_the_likely_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.yaml");
    std::fs::write(
        &file,
        "nodes:\n  - {id: s, type: sensor, config: {destination: clowd}}\n  - {id: cloud, type: cloud}\n",
    )
    .unwrap();
    let out = xedgesim(&["validate", file.to_str().unwrap()]);
    // The run would drop every reading as `unknown_destination`, as xEdgeSim did silently: refused.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("typo.yaml:2:49: error: config key 'destination' names no node: 'clowd'"), "{stderr}");
    assert!(stderr.contains("did you mean 'cloud'?"), "{stderr}");
    // `run` refuses what `validate` refuses, and writes nothing.
    let out_dir = dir.path().join("out");
    let run = xedgesim(&["run", file.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    assert!(text(&run.stderr).contains("names no node: 'clowd'"));
    assert!(!out_dir.join("summary.json").exists());
}

#[test]
fn a_value_of_the_wrong_kind_for_a_built_in_model_is_an_error_at_its_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kind.yaml");
    std::fs::write(
        &file,
        "nodes:\n  - {id: s, type: sensor, config: {sample_rate_hz: fast}}\n  - {id: cloud, type: cloud}\n",
    )
    .unwrap();
    let out = xedgesim(&["validate", "--no-models", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "kind.yaml:2:52: error: config key 'sample_rate_hz' of the built-in sensor model must be a number; found the text \"fast\""
        ),
        "{stderr}"
    );
}

#[test]
fn a_components_own_declaration_is_checked_at_each_keys_column_by_validate_and_run() {
    let dir = tempfile::tempdir().unwrap();
    // The built-in sensor's component, run as a model of one's own: it
    // declares its config, and the host reads that from the component.
    let component = dir.path().join("mine.wasm");
    std::fs::write(&component, xedgesim::runtime::wasm::builtin_component("sensor").unwrap()).unwrap();
    let file = dir.path().join("declared.yaml");
    std::fs::write(
        &file,
        "nodes:\n  - id: m\n    type: mine\n    wasm: {component: mine.wasm}\n    config: {sample_rate: 2, base: warm, destination: clowd}\n  - {id: cloud, type: cloud}\n",
    )
    .unwrap();
    let out = xedgesim(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    // Line 5: `    config: {sample_rate: 2, base: warm, destination: clowd}`.
    for expected in [
        "declared.yaml:5:14: error: config key 'sample_rate' is not taken by the model mine.wasm",
        "did you mean 'sample_rate_hz'?",
        "declared.yaml:5:36: error: config key 'base' of the model mine.wasm must be a number; found the text \"warm\"",
        "declared.yaml:5:55: error: config key 'destination' names no node: 'clowd'",
        "did you mean 'cloud'?",
        "3 errors",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in\n{stderr}");
    }
    let out_dir = dir.path().join("out");
    let run = xedgesim(&["run", file.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    assert!(text(&run.stderr).contains("must be a number; found the text \"warm\""), "{}", text(&run.stderr));
    assert!(!out_dir.join("summary.json").exists(), "nothing ran");
}

#[test]
fn the_built_in_models_reference_is_the_generated_one() {
    let out = xedgesim(&["models"]);
    assert_eq!(out.status.code(), Some(0));
    let generated = text(&out.stdout);
    let written = std::fs::read_to_string(common::root().join("docs/models.md")).unwrap();
    assert!(
        generated == written,
        "docs/models.md is not what `xedgesim models` prints now: regenerate it with `cargo run -p xedgesim -- models > docs/models.md`"
    );
    assert!(generated.contains("| `sample_rate_hz` | a number | `1` |"), "{generated}");
}
