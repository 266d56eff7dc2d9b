//! A second Docker engine on this machine for the remote-engine tests: its
//! own `dockerd` (own data root, exec root, pid file, socket and managed
//! containerd) listening on a unix socket and on TCP 127.0.0.1 with TLS
//! certificates made here by `openssl` (a CA, the engine's certificate for
//! IP 127.0.0.1, a client's). Its default bridge is an interface of its own
//! (`--bridge=NAME`, made here), never `--bridge=none`: with that, dockerd
//! deletes the interface `docker0` at start, which is the machine's engine's
//! bridge (one network namespace), and every container of that engine with
//! ports or a bridge network then fails to start. No iptables: the tests'
//! containers use `network_mode: none`. Stopped, its bridge deleted and its
//! folder removed on drop (also when the test panics).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xedgesim::runtime::docker::DockerEngine;

/// How long the engine may take to answer its socket.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to stop on SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct SecondEngine {
    dir: tempfile::TempDir,
    dockerd: Option<Child>,
    /// Its default bridge, made for it and deleted after it.
    bridge: String,
    pub port: u16,
}

/// Runs `ip ARGS`; whether it succeeded.
fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).status().is_ok_and(|s| s.success())
}

/// Whether the network interface `name` exists.
fn interface_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

impl SecondEngine {
    /// Starts the engine; `None` (with a loud SKIPPED line) only when it
    /// cannot be started here (no `dockerd`, not root) and
    /// `XEDGESIM_SKIP_DOCKER=1` says to skip knowingly, as the other Docker
    /// tests do; a failure otherwise.
    pub fn start() -> Option<SecondEngine> {
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let dockerd = Command::new("dockerd").arg("--version").output().is_ok_and(|o| o.status.success());
        if !(root && dockerd) {
            let why = if dockerd { "it must run as root" } else { "`dockerd` is not installed" };
            if std::env::var("XEDGESIM_SKIP_DOCKER").is_ok_and(|v| v == "1") {
                eprintln!("SKIPPED (XEDGESIM_SKIP_DOCKER=1): this test starts a second Docker engine and {why}");
                return None;
            }
            panic!(
                "this test starts a second Docker engine and {why}; run the suite with `bash .ci/test`, or set XEDGESIM_SKIP_DOCKER=1 to skip the Docker tests knowingly"
            );
        }
        let dir = tempfile::Builder::new().prefix("xedgesim-engine2-").tempdir().expect("a temp folder");
        make_certificates(dir.path());
        let port = free_port();
        let d = dir.path();
        let pid = std::process::id();
        let bridge = format!("xe2br{}", pid % 100_000);
        let address = format!("10.251.{}.1/24", pid % 250);
        // One a killed earlier test of the same pid may have left.
        ip(&["link", "del", &bridge]);
        assert!(
            ip(&["link", "add", "name", &bridge, "type", "bridge"])
                && ip(&["addr", "add", &address, "dev", &bridge])
                && ip(&["link", "set", &bridge, "up"]),
            "cannot make the bridge {bridge} for the second engine"
        );
        let docker0 = interface_exists("docker0");

        let log = std::fs::File::create(d.join("dockerd.log")).expect("the log file");
        let dockerd = Command::new("dockerd")
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .arg("-H")
            .arg(format!("tcp://127.0.0.1:{port}"))
            .arg("--tlsverify")
            .arg("--tlscacert")
            .arg(d.join("ca.pem"))
            .arg("--tlscert")
            .arg(d.join("server-cert.pem"))
            .arg("--tlskey")
            .arg(d.join("server-key.pem"))
            .arg(format!("--bridge={bridge}"))
            .args(["--iptables=false", "--ip-masq=false", "--log-level=warn"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd starts");
        let engine = SecondEngine { dir, dockerd: Some(dockerd), bridge, port };
        let started = Instant::now();
        while engine.connect_unix().is_err() {
            assert!(
                started.elapsed() < START_TIMEOUT,
                "the second engine did not answer within {START_TIMEOUT:?}:\n{}",
                engine.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            !docker0 || interface_exists("docker0"),
            "starting the second engine removed docker0, the machine's engine's bridge"
        );
        Some(engine)
    }

    /// `tcp://127.0.0.1:PORT`, which needs TLS.
    pub fn tcp_endpoint(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// The `tls:` map of an `engines:` entry, with absolute paths.
    pub fn tls_yaml(&self) -> String {
        let d = self.dir.path().display();
        format!("{{ca: {d}/ca.pem, cert: {d}/cert.pem, key: {d}/key.pem}}")
    }

    /// The engine through its unix socket (no TLS: the test's own view of it).
    pub fn connect_unix(&self) -> Result<DockerEngine, xedgesim::runtime::docker::DockerError> {
        DockerEngine::connect(Some(&format!("unix://{}", self.dir.path().join("docker.sock").display())))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        if let Some(mut dockerd) = self.dockerd.take() {
            let _ = Command::new("kill").args(["-TERM", &dockerd.id().to_string()]).status();
            let started = Instant::now();
            while dockerd.try_wait().ok().flatten().is_none() {
                if started.elapsed() > STOP_TIMEOUT {
                    let _ = dockerd.kill();
                    let _ = dockerd.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        ip(&["link", "del", &self.bridge]);
        // What a killed engine left mounted would keep the folder.
        let data = self.dir.path().join("data");
        if let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") {
            for mount in mounts.lines().filter_map(|l| l.split(' ').nth(1)).filter(|m| Path::new(m).starts_with(&data))
            {
                let _ = Command::new("umount").args(["-l", mount]).status();
            }
        }
    }
}

/// A port on 127.0.0.1 no one listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// A CA, the engine's certificate (IP 127.0.0.1) and a client's, in `dir`.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    let key = ["-newkey", "rsa:2048", "-nodes"];
    openssl(
        &[
            &["req", "-x509"],
            &key[..],
            &["-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=xedgesim test CA"],
        ]
        .concat(),
    );
    for (name, cn, key_file, cert_file) in
        [("server", "127.0.0.1", "server-key.pem", "server-cert.pem"), ("client", "client", "key.pem", "cert.pem")]
    {
        let csr = format!("{name}.csr");
        let ext = format!("{name}.ext");
        openssl(&[&["req"], &key[..], &["-keyout", key_file, "-out", &csr, "-subj", &format!("/CN={cn}")]].concat());
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            cert_file,
            "-days",
            "2",
            "-extfile",
            &ext,
        ]);
    }
}

/// Ids of what carries the run label `label` on `engine`: containers,
/// volumes and networks.
pub fn labelled(engine: &DockerEngine, label: &str) -> Vec<String> {
    use std::collections::HashMap;
    let filter = || Some(HashMap::from([("label".to_string(), vec![format!("xedgesim.run_label={label}")])]));
    let docker = engine.docker();
    let containers =
        bollard::query_parameters::ListContainersOptions { all: true, filters: filter(), ..Default::default() };
    let mut found: Vec<String> = engine
        .block_on(docker.list_containers(Some(containers)))
        .expect("the engine lists containers")
        .into_iter()
        .map(|c| format!("container {}", c.id.unwrap_or_default()))
        .collect();
    let volumes = bollard::query_parameters::ListVolumesOptions { filters: filter() };
    let listed = engine.block_on(docker.list_volumes(Some(volumes))).expect("the engine lists volumes");
    found.extend(listed.volumes.unwrap_or_default().into_iter().map(|v| format!("volume {}", v.name)));
    let networks = bollard::query_parameters::ListNetworksOptions { filters: filter() };
    let listed = engine.block_on(docker.list_networks(Some(networks))).expect("the engine lists networks");
    found.extend(listed.into_iter().map(|n| format!("network {}", n.id.unwrap_or_default())));
    found
}

/// The run label (`XEDGESIM_RUN_LABEL`) of this test process's runs.
pub fn test_label() -> String {
    format!("engines-test-{}", std::process::id())
}

/// Where the test's scenario files go: `dir` holds them.
pub fn scenario_file(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, yaml).unwrap();
    file
}
