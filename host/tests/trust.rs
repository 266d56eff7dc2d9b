//! A host that trusts no file (docs/sandbox.md, "What a scenario file may
//! do"): what a scenario or model folder written by someone else can make
//! `validate`, `run` and `build` do to the host, as a user runs them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::output_text as text;

/// `xedgesim ARGS` in `cwd`, with a private cache folder.
fn xedgesim(args: &[&str], cwd: &Path, cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(args)
        .current_dir(cwd)
        .env("XEDGESIM_CACHE_DIR", cache)
        .env("CARGO_TARGET_DIR", cwd.join("target"))
        .output()
        .expect("the binary runs")
}

fn both(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// A model folder whose `build.rs` writes `marker` when cargo runs it.
fn crafted_crate(dir: &Path, marker: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"evil\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.join("build.rs"),
        format!("fn main() {{ std::fs::write({:?}, b\"pwned\").unwrap(); }}\n", marker),
    )
    .unwrap();
}

#[test]
fn validate_and_run_never_build_a_model_folder_without_the_users_yes() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let marker = home.path().join("marker");
    // The folder is outside the scenario's, as `../` or an absolute path would put it.
    crafted_crate(&home.path().join("elsewhere/evil"), &marker);
    let scenarios = home.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::write(
        scenarios.join("s.yaml"),
        "simulation: {duration_s: 1}\nnodes:\n  - {id: s, type: sensor, config: {destination: e}}\n  - id: e\n    type: evil\n    wasm: {component: ../elsewhere/evil}\n",
    )
    .unwrap();

    let validated = xedgesim(&["validate", "s.yaml"], &scenarios, &cache);
    assert_eq!(validated.status.code(), Some(0), "{}", both(&validated));
    assert!(!marker.exists(), "validate ran the folder's build.rs");
    let said = both(&validated);
    assert!(said.contains("s.yaml:6:") && said.contains(": node 'e' builds its model from source in"), "{said}");
    assert!(said.contains("cargo runs the crate's build.rs"), "{said}");
    assert!(said.contains("has no build of its current sources") && said.contains("`xedgesim build s.yaml`"), "{said}");

    let refused = xedgesim(&["run", "s.yaml", "--out", "out"], &scenarios, &cache);
    assert_eq!(refused.status.code(), Some(2), "{}", both(&refused));
    assert!(!marker.exists(), "run ran the folder's build.rs without --build");
    let said = text(&refused.stderr);
    assert!(said.contains("is not built from its current sources"), "{said}");
    assert!(said.contains("`xedgesim build") && said.contains("`--build`") && said.contains("build.rs"), "{said}");
    assert!(!scenarios.join("out/summary.json").exists());

    // The yes: building runs it (so the test above could have seen it).
    let built = xedgesim(&["build", "s.yaml"], &scenarios, &cache);
    assert!(marker.exists(), "xedgesim build did not build: {}", both(&built));
    assert!(both(&built).contains("building the model in"), "{}", both(&built));
}

/// A folder with a Dockerfile and a scenario whose node runs `command` as
/// its build command; the scenario's path.
fn build_command_scenario(dir: &Path, command: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("ctx")).unwrap();
    std::fs::write(dir.join("ctx/Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n").unwrap();
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        format!(
            "simulation: {{duration_s: 1}}\nnodes:\n  - id: box\n    type: gadget\n    implementation: docker\n    docker:\n      build_context: ctx\n      build_command: {command:?}\n"
        ),
    )
    .unwrap();
    file
}

#[test]
fn a_build_command_runs_only_with_the_users_yes() {
    let home = tempfile::tempdir().unwrap();
    let mine = tempfile::tempdir().unwrap();
    let cache = mine.path().join("cache");
    let marker = mine.path().join("marker");
    build_command_scenario(home.path(), &format!("touch {}", marker.display()));

    let validated = xedgesim(&["validate", "s.yaml"], home.path(), &cache);
    assert_eq!(validated.status.code(), Some(0), "{}", both(&validated));
    let said = text(&validated.stdout);
    assert!(
        said.contains("s.yaml:8:7: node 'box' runs a build command on the host")
            && said.contains("[needs your yes: --allow build-command]"),
        "{said}"
    );
    for args in [&["run", "s.yaml", "--out", "out"][..], &["build", "s.yaml"], &["equiv", "s.yaml", "--out", "eq"]] {
        let refused = xedgesim(args, home.path(), &cache);
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {}", both(&refused));
        let said = text(&refused.stderr);
        assert!(said.contains("s.yaml:8:7: error: node 'box' runs a build command"), "{said}");
        assert!(said.contains("pass `--allow build-command`"), "{said}");
        assert!(!marker.exists(), "{args:?} ran the build command");
    }
    // An allow file that came with the scenario is its author's yes, not the user's.
    std::fs::write(home.path().join("allow"), "build-command\n").unwrap();
    let refused = xedgesim(&["build", "s.yaml", "--allow-file", "allow"], home.path(), &cache);
    assert_eq!(refused.status.code(), Some(2), "{}", both(&refused));
    assert!(text(&refused.stderr).contains("is in the scenario's folder"), "{}", both(&refused));
    assert!(!marker.exists(), "the author's allow file was taken for the user's");
    // The yes in a file the user names: the command runs.
    let allow = mine.path().join("my-allow");
    std::fs::write(&allow, "# what I trust\nbuild-command\n").unwrap();
    let built = xedgesim(&["build", "s.yaml", "--allow-file", allow.to_str().unwrap()], home.path(), &cache);
    assert!(marker.exists(), "the allowed build command did not run: {}", both(&built));
    assert!(!both(&built).contains("not allowed"), "{}", both(&built));
}

#[test]
fn the_root_and_the_docker_socket_are_never_bound() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    // A link to `/` inside the scenario's folder is `/`.
    std::os::unix::fs::symlink("/", home.path().join("up")).unwrap();
    for host in ["/", "/var/run/docker.sock", "./up", "/proc"] {
        let file = home.path().join("s.yaml");
        std::fs::write(
            &file,
            format!(
                "simulation: {{duration_s: 1}}\nnodes:\n  - id: box\n    type: gadget\n    implementation: docker\n    docker:\n      image: '127.0.0.1:9/xedgesim-test/box:1'\n      volumes: {{'{host}': {{bind: /host, mode: ro}}}}\n"
            ),
        )
        .unwrap();
        for args in [&["validate", "s.yaml"][..], &["run", "s.yaml", "--allow", "bind", "--out", "out"]] {
            let refused = xedgesim(args, home.path(), &cache);
            assert_eq!(refused.status.code(), Some(2), "{host} {args:?}: {}", both(&refused));
            let said = text(&refused.stderr);
            assert!(said.contains("s.yaml:8:") && said.contains(": error: this volume binds"), "{host}: {said}");
            assert!(said.contains("never allowed"), "{host}: {said}");
        }
    }
}

#[test]
fn binds_outside_the_folder_and_ports_need_the_users_yes() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let scenario_dir = home.path().join("scenario");
    std::fs::create_dir_all(scenario_dir.join("data")).unwrap();
    let outside = home.path().join("secrets");
    std::fs::create_dir_all(&outside).unwrap();
    // `data/../../secrets` is outside, however it is written.
    std::fs::write(
        scenario_dir.join("s.yaml"),
        "simulation: {duration_s: 1}\nnodes:\n  - id: box\n    type: gadget\n    implementation: docker\n    docker:\n      image: '127.0.0.1:9/xedgesim-test/box:1'\n      volumes: {data: {bind: /named}, ./data: {bind: /data}, data/../../secrets: {bind: /s, mode: rw}}\n      ports: {9000: 18999}\n",
    )
    .unwrap();
    let validated = xedgesim(&["validate", "s.yaml"], &scenario_dir, &cache);
    assert_eq!(validated.status.code(), Some(0), "{}", both(&validated));
    let said = text(&validated.stdout);
    let real = std::fs::canonicalize(&outside).unwrap();
    assert!(said.contains(&format!("[needs your yes: --allow bind:{}]", real.display())), "{said}");
    assert!(said.contains(&format!("binds the host path {} at /s (read-write)", real.display())), "{said}");
    assert!(said.contains("at /data (read-only) [allowed]"), "{said}");
    assert!(said.contains("mounts the named volume 'data' at /named (read-only) [allowed]"), "{said}");
    assert!(said.contains("s.yaml:9:7: node 'box' publishes ports on the host (127.0.0.1:18999 -> 9000)"), "{said}");
    assert!(said.contains("[needs your yes: --allow port]"), "{said}");

    let refused = xedgesim(&["run", "s.yaml", "--allow", "port", "--out", "out"], &scenario_dir, &cache);
    assert_eq!(refused.status.code(), Some(2), "{}", both(&refused));
    let said = text(&refused.stderr);
    assert!(said.contains("s.yaml:8:") && said.contains(&format!("pass `--allow bind:{}`", real.display())), "{said}");
    assert!(!said.contains("publishes ports"), "the port is allowed: {said}");
    let refused =
        xedgesim(&["run", "s.yaml", "--allow", &format!("bind:{}", outside.display())], &scenario_dir, &cache);
    let said = text(&refused.stderr);
    assert!(said.contains("publishes ports") && !said.contains("binds the host path"), "{said}");
    // A word that is not one is a usage error naming the words there are.
    let bad = xedgesim(&["run", "s.yaml", "--allow", "everything"], &scenario_dir, &cache);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("build-command, build, bind:PATH, bind, read:PATH, port, network"),
        "{}",
        both(&bad)
    );
}

#[test]
fn without_a_home_there_is_no_shared_cache_folder() {
    let out = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["cache", "clean"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(text(&out.stdout).contains("there is no cache folder"), "{}", both(&out));
}

#[test]
fn an_image_build_reaches_the_network_only_with_the_users_yes() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let scenario_dir = home.path().join("scenario");
    std::fs::create_dir_all(scenario_dir.join("svc")).unwrap();
    std::fs::write(scenario_dir.join("svc/Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n").unwrap();
    std::fs::write(
        scenario_dir.join("s.yaml"),
        "simulation: {duration_s: 1}\nnodes:\n  - id: svc\n    type: gadget\n    implementation: docker\n    docker:\n      build_context: svc\n      build_network: true\n      protocol: mqtt\n",
    )
    .unwrap();
    let validated = xedgesim(&["validate", "s.yaml"], &scenario_dir, &cache);
    assert_eq!(validated.status.code(), Some(0), "{}", both(&validated));
    let said = text(&validated.stdout);
    assert!(
        said.contains(
            "s.yaml:8:7: node 'svc' builds its image with network: the Dockerfile's RUN steps reach the network"
        ) && said.contains("[needs your yes: --allow network]"),
        "{said}"
    );
    // Refused before anything runs, the engine included: with DOCKER_HOST pointing nowhere the message is the same.
    for command in ["run", "build"] {
        let refused = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
            .args([command, "s.yaml"])
            .current_dir(&scenario_dir)
            .env("XEDGESIM_CACHE_DIR", &cache)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(2), "{command}: {}", both(&refused));
        let said = text(&refused.stderr);
        assert!(said.contains("s.yaml:8:7:") && said.contains("pass `--allow network`"), "{command}: {said}");
        assert!(said.contains("nothing was run"), "{command}: {said}");
    }
}

/// `validate` runs no model on a file outside the scenario's folder: a
/// model's constructor reads its `wasm.files`, and what it says back is
/// printed, so validate would show a host file the user never allowed.
#[test]
fn validate_never_hands_a_model_a_host_file_outside_the_scenarios_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("scenario");
    std::fs::create_dir(&folder).unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "the user's secret").unwrap();
    std::fs::write(folder.join("files.wasm"), xedgesim::runtime::wasm::fixture_component("files").unwrap()).unwrap();
    let yaml = format!(
        "simulation: {{duration_s: 1, seed: 7}}\nnodes:\n  - id: reader\n    type: reader\n    config: {{read: secret.txt}}\n    wasm:\n      component: files.wasm\n      files: {{secret.txt: {}}}\n",
        secret.display()
    );
    let file = folder.join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = xedgesim(&["validate", file.to_str().unwrap()], &folder, &dir.path().join("cache"));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("[needs your yes: --allow read:"), "{stdout}");
    assert!(
        stderr.contains("note: the models' own config checks were not run: node 'reader' reads a file outside"),
        "{stderr}"
    );
}
