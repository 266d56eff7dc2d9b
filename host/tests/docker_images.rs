//! Images built for Docker nodes, against a real engine: a rebuilt base
//! image is seen; a missing base is a clear error naming its line; a
//! symbolic link in a context is sent as a link (no file from outside
//! reaches the image); a name held by an image xedgesim did not build is
//! refused, not taken; build output reaches the terminal escaped; Ctrl-C
//! during a build command stops every process it started. And, without
//! an engine: `build_context: etc` is not found in `/`, and
//! `build_timeout_s` is checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{docker_engine, output_text, root, xedgesim};
use xedgesim::runtime::docker::DockerEngine;
use xedgesim::runtime::docker::image::{ImageInfo, ensure_image};
use xedgesim::scenario::DockerNode;

/// A name no other test run uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("xedgesim-test-{prefix}-{}-{nanos}", std::process::id())
}

fn docker_cli(args: &[&str], stdin: Option<Vec<u8>>) -> String {
    let mut child = Command::new("docker")
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the docker CLI runs");
    if let Some(bytes) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", output_text(&out.stderr));
    output_text(&out.stdout)
}

/// Imports a one-file file system as image `name`: a base image made
/// without a registry.
fn import_base(name: &str, content: &str) -> String {
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    archive.append_data(&mut header, "base.txt", content.as_bytes()).unwrap();
    docker_cli(&["import", "-", name], Some(archive.into_inner().unwrap())).trim().to_string()
}

/// Removes the images named, whatever happens to the test.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker").args(["rmi", "-f", name]).output();
        }
    }
}

fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn node(context: &Path, image: Option<&str>, build_command: Option<&str>) -> DockerNode {
    DockerNode {
        build_command: build_command.map(str::to_string),
        max_frame_bytes: 1 << 20,
        ..DockerNode::new(image.map(str::to_string), Some(context.to_path_buf()))
    }
}

fn ensure(engine: &DockerEngine, node: &DockerNode) -> Result<ImageInfo, String> {
    ensure_image(engine, node, &mut |_| {}, None).map_err(|e| e.to_string())
}

#[test]
fn a_rebuilt_base_image_is_seen_and_the_image_built_again() {
    let Some(engine) = docker_engine() else { return };
    let base = format!("{}:1", unique("base"));
    let tag = format!("{}:built", unique("on-base"));
    let mut cleanup = Images(vec![base.clone(), tag.clone()]);
    import_base(&base, "first");
    // An ARG default, a named stage and a later FROM naming that stage.
    let dockerfile = format!("ARG BASE={base}\nFROM ${{BASE}} AS start\nFROM start\nCOPY app.txt /app.txt\n");
    let dir = context(&[("Dockerfile", &dockerfile), ("app.txt", "app")]);
    let recipe = node(dir.path(), Some(&tag), None);
    let first = ensure(&engine, &recipe).unwrap();
    assert!(first.built);
    cleanup.0.push(first.id.clone());
    let again = ensure(&engine, &recipe).unwrap();
    assert!(!again.built && again.id == first.id, "nothing changed: reused");
    import_base(&base, "second");
    let rebuilt = ensure(&engine, &recipe).unwrap();
    assert!(rebuilt.built, "the base was rebuilt, so the image is too");
    assert_ne!(rebuilt.id, first.id);
    assert!(!ensure(&engine, &recipe).unwrap().built);
}

#[test]
fn a_missing_base_image_is_a_clear_error_naming_its_line() {
    let Some(engine) = docker_engine() else { return };
    // A registry on a closed local port: the pull fails at once, and nothing leaves the machine.
    let missing = format!("127.0.0.1:9/{}:1", unique("missing"));
    let dir = context(&[("Dockerfile", &format!("FROM scratch AS empty\n# the base\nFROM {missing}\n"))]);
    let error = ensure(&engine, &node(dir.path(), None, None)).unwrap_err();
    assert!(error.contains(&format!("base image '{missing}'")), "{error}");
    assert!(error.contains("Dockerfile, line 3") && error.contains("could not be pulled"), "{error}");
    assert!(error.contains("docker load"), "the fix: {error}");
}

#[test]
fn a_symbolic_link_to_a_file_outside_the_context_is_sent_as_a_link() {
    let Some(engine) = docker_engine() else { return };
    let secret = unique("secret-content");
    let outside = context(&[("secret.txt", &secret)]);
    let dir = context(&[("Dockerfile", "FROM scratch\nCOPY . /ctx/\n"), ("app.txt", "app")]);
    let target = outside.path().join("secret.txt");
    std::os::unix::fs::symlink(&target, dir.path().join("link")).unwrap();
    let tag = format!("{}:1", unique("links"));
    let _cleanup = Images(vec![tag.clone()]);
    assert!(ensure(&engine, &node(dir.path(), Some(&tag), None)).unwrap().built);
    let saved = Command::new("docker").args(["save", &tag]).output().unwrap();
    assert!(saved.status.success());
    let contains = |needle: &[u8]| saved.stdout.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(secret.as_bytes()), "the secret file's content is not in the image");
    assert!(contains(target.to_str().unwrap().as_bytes()), "the link is, pointing where it pointed");
    assert!(contains(b"ctx/app.txt"));
}

#[test]
fn a_name_held_by_an_image_xedgesim_did_not_build_is_refused() {
    let Some(engine) = docker_engine() else { return };
    let foreign = format!("{}:1", unique("foreign"));
    let _cleanup = Images(vec![foreign.clone()]);
    let foreign_id = import_base(&foreign, "someone else's");
    let dir = context(&[("Dockerfile", "FROM scratch\nCOPY app.txt /app.txt\n"), ("app.txt", "app")]);
    let error = ensure(&engine, &node(dir.path(), Some(&foreign), Some("touch ran"))).unwrap_err();
    assert!(error.contains(&format!("image '{foreign}'")) && error.contains("not built by xedgesim"), "{error}");
    assert!(error.contains("docker.image"), "the fix: {error}");
    assert!(!dir.path().join("ran").exists(), "refused before the build command runs");
    let id = docker_cli(&["image", "inspect", "--format", "{{.Id}}", &foreign], None);
    assert_eq!(id.trim(), foreign_id, "the name still names the other image");

    // A name xedgesim built is its own: rebuilt under it when the content changes.
    let ours = format!("{}:1", unique("ours"));
    let mut cleanup_ours = Images(vec![ours.clone()]);
    let first = ensure(&engine, &node(dir.path(), Some(&ours), None)).unwrap();
    assert!(first.built);
    cleanup_ours.0.push(first.id);
    std::fs::write(dir.path().join("app.txt"), "changed").unwrap();
    assert!(ensure(&engine, &node(dir.path(), Some(&ours), None)).unwrap().built);
}

#[test]
fn a_name_held_by_an_image_built_from_one_of_ours_is_refused() {
    // Built `FROM` an image xedgesim built, someone's image inherits its
    // labels; it is still theirs, and its name is not taken.
    let Some(engine) = docker_engine() else { return };
    let ours = format!("{}:1", unique("parent"));
    let theirs = format!("{}:1", unique("child"));
    let mut cleanup = Images(vec![theirs.clone(), ours.clone()]);
    let dir = context(&[("Dockerfile", "FROM scratch\nCOPY app.txt /app.txt\n"), ("app.txt", "app")]);
    let parent = ensure(&engine, &node(dir.path(), Some(&ours), None)).unwrap();
    cleanup.0.push(parent.id);
    let child = context(&[("Dockerfile", &format!("FROM {ours}\nCOPY more.txt /more.txt\n")), ("more.txt", "more")]);
    docker_cli(&["build", "-q", "-t", &theirs, child.path().to_str().unwrap()], None);
    let child_id = docker_cli(&["image", "inspect", "--format", "{{.Id}}", &theirs], None);
    let error = ensure(&engine, &node(dir.path(), Some(&theirs), None)).unwrap_err();
    assert!(error.contains(&format!("image '{theirs}'")) && error.contains("not built by xedgesim"), "{error}");
    assert_eq!(docker_cli(&["image", "inspect", "--format", "{{.Id}}", &theirs], None), child_id);
    // Ours, under another name given to it, is still ours.
    let renamed = format!("{}:1", unique("renamed"));
    cleanup.0.push(renamed.clone());
    docker_cli(&["tag", &ours, &renamed], None);
    assert!(!ensure(&engine, &node(dir.path(), Some(&renamed), None)).unwrap().built);
}

/// A scenario with one Docker node built from `ctx/` in `dir`.
fn scenario(dir: &Path, docker_keys: &str) -> PathBuf {
    let file = dir.join("scenario.yaml");
    let yaml = format!(
        "simulation: {{duration_s: 1}}\nnodes:\n  - id: box\n    type: probe\n    implementation: docker\n    docker:\n      build_context: ctx\n{docker_keys}"
    );
    std::fs::write(&file, yaml).unwrap();
    file
}

#[test]
fn build_output_reaches_the_terminal_escaped() {
    let Some(_engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("{}:1", unique("escapes"));
    let _cleanup = Images(vec![tag.clone()]);
    // The engine echoes each Dockerfile step, control characters and all.
    std::fs::create_dir(dir.path().join("ctx")).unwrap();
    std::fs::write(dir.path().join("ctx/Dockerfile"), "FROM scratch\nLABEL note=\"\x1b]0;title\x07\"\nCOPY x /x\n")
        .unwrap();
    std::fs::write(dir.path().join("ctx/x"), "x").unwrap();
    let file = scenario(
        dir.path(),
        &format!("      image: {tag}\n      build_command: \"printf 'compiling \\\\033[31mred\\\\007\\\\n'\"\n"),
    );
    let out = xedgesim(&["build", file.to_str().unwrap(), "--allow", "build-command"], None);
    let stdout = output_text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", output_text(&out.stderr));
    assert!(stdout.contains(r"compiling \u{1b}[31mred\u{7}"), "{stdout}");
    assert!(
        stdout.contains(r"LABEL note=\u{1b}]0;title\u{7}") || stdout.contains(r#"LABEL note="\u{1b}]0;title\u{7}""#),
        "{stdout}"
    );
    assert!(!out.stdout.iter().any(|&b| b == 0x1b || b == 0x07), "no raw ESC or BEL: {stdout}");
}

/// Whether process `pid` is gone within a few seconds (SIGKILL is
/// delivered at once, the exit takes a moment; a zombie counts as gone).
fn gone(pid: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        if stat.map_or(true, |stat| stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn ctrl_c_during_a_build_command_stops_every_process_it_started() {
    let Some(_engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ctx")).unwrap();
    std::fs::write(dir.path().join("ctx/Dockerfile"), "FROM scratch\n").unwrap();
    let file = scenario(dir.path(), "      build_command: \"sleep 300 & echo $! > child.pid; wait\"\n");
    let mut run = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["build", file.to_str().unwrap(), "--allow", "build-command"])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid_file = dir.path().join("ctx/child.pid");
    let started = Instant::now();
    let child = loop {
        if let Ok(pid) = std::fs::read_to_string(&pid_file)
            && pid.ends_with('\n')
        {
            break pid.trim().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the build command never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    // What a terminal's Ctrl-C sends to xedgesim (the command has its own group).
    Command::new("kill").args(["-INT", &run.id().to_string()]).status().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = run.kill();
            panic!("build did not stop within a minute of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(run.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(gone(&child), "the build command's background sleep was stopped too");
}

#[test]
fn a_build_context_is_never_looked_for_in_the_file_systems_root() {
    let dir = tempfile::tempdir().unwrap();
    // `/etc` exists; the scenario's folder is a few levels below `/`.
    let file = scenario(dir.path(), "");
    let text = std::fs::read_to_string(&file).unwrap().replace("build_context: ctx", "build_context: etc");
    std::fs::write(&file, text).unwrap();
    let out = xedgesim(&["validate", file.to_str().unwrap()], None);
    let stderr = output_text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("directory 'etc' does not exist"), "{stderr}");
    assert!(!stderr.contains("/etc"), "{stderr}");
}

#[test]
fn build_timeout_s_is_bounded_and_needs_a_build_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ctx")).unwrap();
    std::fs::write(dir.path().join("ctx/Dockerfile"), "FROM scratch\n").unwrap();
    let file = scenario(dir.path(), "      build_command: \"true\"\n      build_timeout_s: 0\n");
    let out = xedgesim(&["validate", file.to_str().unwrap()], None);
    let stderr = output_text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("scenario.yaml:9:") && stderr.contains("build_timeout_s must be from 1 to 86400"),
        "{stderr}"
    );
    let file = scenario(dir.path(), "      build_timeout_s: 60\n");
    let out = xedgesim(&["validate", "--strict", file.to_str().unwrap()], None);
    let stderr = output_text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`build_timeout_s` has no effect without `build_command`"), "{stderr}");
}
