//! An `sshd` on 127.0.0.1 for the engine-over-ssh test: its own host key,
//! config, pid file and port, root let in with a key made here, and an
//! `ssh` first in `PATH` that is the system's with that key and no
//! known-hosts check (so xedgesim runs the real `ssh`, as a user's
//! `~/.ssh/config` would set it up). Stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

pub struct SshServer {
    dir: tempfile::TempDir,
    sshd: Child,
    pub port: u16,
}

impl SshServer {
    /// Starts the server; `None` (a loud SKIPPED line) only without
    /// `sshd` and with `XEDGESIM_SKIP_DOCKER=1`, a failure otherwise.
    pub fn start() -> Option<SshServer> {
        if !Path::new(SSHD).is_file() {
            if std::env::var("XEDGESIM_SKIP_DOCKER").is_ok_and(|v| v == "1") {
                eprintln!("SKIPPED (XEDGESIM_SKIP_DOCKER=1): this test needs {SSHD} (Debian's openssh-server)");
                return None;
            }
            panic!("this test needs {SSHD}: `apt-get install openssh-server`, or run the suite with `bash .ci/test`");
        }
        let dir = tempfile::Builder::new().prefix("xedgesim-sshd-").tempdir().expect("a temp folder");
        let d = dir.path();
        for key in ["hostkey", "id"] {
            let o = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(d.join(key)).output();
            assert!(o.is_ok_and(|o| o.status.success()), "ssh-keygen makes {key}");
        }
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {d}/sshd.pid\nAllowStreamLocalForwarding yes\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let wrapper = format!(
            "#!/bin/sh\nexec /usr/bin/ssh -i {d}/id -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR \"$@\"\n",
            d = d.display()
        );
        std::fs::create_dir(d.join("bin")).unwrap();
        std::fs::write(d.join("bin/ssh"), wrapper).unwrap();
        std::fs::set_permissions(d.join("bin/ssh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        // sshd's privilege separation folder.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let sshd = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("sshd starts");
        let server = SshServer { dir, sshd, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "sshd did not listen: {}", server.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    /// `PATH` with the test's `ssh` first.
    pub fn path_env(&self) -> String {
        format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap_or_default())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}
