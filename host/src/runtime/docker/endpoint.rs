//! How an [`EngineEndpoint`] becomes a bollard client: a unix socket, TCP
//! (over TLS with the scenario's PEM files, rustls on ring), or ssh, which
//! the system's `ssh` forwards to a socket in a private folder
//! ([`SshForward`], stopped when the engine is dropped).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;

use crate::scenario::EngineEndpoint;

/// Where a remote engine's socket is, on the other end of ssh.
const REMOTE_SOCKET: &str = "/var/run/docker.sock";
/// How long ssh may take to log in and open the forwarded socket.
const SSH_READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A bollard client for `endpoint` (not yet asked anything), and the ssh
/// forwarder it goes through, if any. The error is in words; `None` when
/// `interrupt` was set while ssh logged in.
pub(super) fn client(
    endpoint: &EngineEndpoint,
    timeout_s: u64,
    interrupt: Option<&AtomicBool>,
) -> Result<(Docker, Option<SshForward>), Option<String>> {
    let version = bollard::API_DEFAULT_VERSION;
    match endpoint {
        EngineEndpoint::Unix { path } => {
            let path = path.to_string_lossy();
            Ok((Docker::connect_with_unix(&path, timeout_s, version).map_err(|e| e.to_string())?, None))
        }
        EngineEndpoint::Tcp { address, tls: None } => {
            Ok((Docker::connect_with_http(address, timeout_s, version).map_err(|e| e.to_string())?, None))
        }
        EngineEndpoint::Tcp { address, tls: Some(tls) } => {
            // bollard reads the files itself; a missing one is named here.
            for (what, file) in [("CA certificate", &tls.ca), ("certificate", &tls.cert), ("key", &tls.key)] {
                if !file.is_file() {
                    return Err(Some(format!("the TLS {what} {} is not a file", file.display())));
                }
            }
            let docker =
                Docker::connect_with_ssl(address, &tls.key, &tls.cert, &tls.ca, timeout_s, version).map_err(|e| {
                    format!("TLS with {}, {}, {}: {e}", tls.ca.display(), tls.cert.display(), tls.key.display())
                })?;
            Ok((docker, None))
        }
        EngineEndpoint::Ssh { destination } => {
            let forward = SshForward::start(destination, interrupt)?;
            let path = forward.socket.to_string_lossy().into_owned();
            let docker = Docker::connect_with_unix(&path, timeout_s, version).map_err(|e| e.to_string())?;
            Ok((docker, Some(forward)))
        }
    }
}

/// The system's `ssh` forwarding a remote engine's socket to one in a
/// private temporary folder; killed, and its folder removed, on drop.
#[derive(Debug)]
pub(super) struct SshForward {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl SshForward {
    /// `None`: `interrupt` was set before the socket appeared.
    fn start(destination: &str, interrupt: Option<&AtomicBool>) -> Result<SshForward, Option<String>> {
        let dir = tempfile::Builder::new()
            .prefix("xedgesim-ssh-")
            .tempdir()
            .map_err(|e| format!("cannot make a folder for the forwarded socket: {e}"))?;
        let socket = dir.path().join("docker.sock");
        // A file, not a pipe: what ssh says over a long run never fills a
        // buffer no one reads, which would stop it.
        let log_path = dir.path().join("ssh.log");
        let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot make ssh's log: {e}"))?;
        let child = ssh_command(destination, &socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run ssh: {e}"))?;
        let mut forward = SshForward { child, socket, _dir: dir };
        let started = Instant::now();
        while !forward.socket.exists() {
            if let Ok(Some(status)) = forward.child.try_wait() {
                let said = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(Some(format!("ssh to {destination} ended ({status}): {}", said.trim())));
            }
            if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                return Err(None);
            }
            if started.elapsed() > SSH_READY_TIMEOUT {
                return Err(Some(format!(
                    "ssh to {destination} opened no socket within {} s",
                    SSH_READY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(forward)
    }
}

impl Drop for SshForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ssh` forwarding `socket` here to the engine's socket at
/// `destination` (`[user@]host[:port]`): no terminal, no command, never a
/// password prompt (BatchMode), and an error rather than a session when
/// the forward cannot be made.
fn ssh_command(destination: &str, socket: &Path) -> Command {
    let (host, port) = split_port(destination);
    let mut command = Command::new("ssh");
    command.args(["-nNT", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes"]);
    if let Some(port) = port {
        command.args(["-p", port]);
    }
    command.arg("-L").arg(format!("{}:{REMOTE_SOCKET}", socket.display()));
    // `--`: the destination is never read as an option.
    command.args(["--", host]);
    command
}

/// `user@host:port` to (`user@host`, `port`); an IPv6 address in brackets keeps its colons.
fn split_port(destination: &str) -> (&str, Option<&str>) {
    match destination.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':') => {
            (host, Some(port))
        }
        _ => (destination, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(destination: &str) -> Vec<String> {
        let command = ssh_command(destination, Path::new("/tmp/x/docker.sock"));
        assert_eq!(command.get_program(), "ssh");
        command.get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn ssh_forwards_the_socket_in_batch_mode_and_never_reads_the_host_as_an_option() {
        let forward = "-L /tmp/x/docker.sock:/var/run/docker.sock";
        assert_eq!(
            args("pi@10.0.0.7").join(" "),
            format!(
                "-nNT -o BatchMode=yes -o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes {forward} -- pi@10.0.0.7"
            )
        );
        let with_port = args("pi@edge:2222").join(" ");
        assert!(with_port.contains("-p 2222") && with_port.ends_with("-- pi@edge"), "{with_port}");
        assert!(args("[::1]").ends_with(&["--".to_string(), "[::1]".to_string()]));
    }

    #[test]
    fn a_missing_tls_file_is_named_before_connecting() {
        let dir = tempfile::tempdir().unwrap();
        let tls = crate::scenario::TlsFiles {
            ca: dir.path().join("ca.pem"),
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        let endpoint = EngineEndpoint::Tcp { address: "127.0.0.1:1".into(), tls: Some(tls) };
        let e = client(&endpoint, 1, None).err().unwrap().unwrap();
        assert!(e.contains("CA certificate") && e.contains("ca.pem"), "{e}");
    }
}
