//! How an [`EngineEndpoint`] becomes a bollard client: a unix socket, TCP
//! (over TLS with the scenario's PEM files, rustls on ring), or ssh, which
//! the system's `ssh` forwards to a socket in a private folder
//! ([`SshForward`], stopped when the engine is dropped).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;

use crate::scenario::{Destination, EngineEndpoint};

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
            // bollard reads the files itself and says only "client error":
            // a missing file, or one of the wrong kind, is named here.
            check_tls_files(tls)?;
            let docker =
                Docker::connect_with_ssl(address, &tls.key, &tls.cert, &tls.ca, timeout_s, version).map_err(|e| {
                    let e = super::engine::error_chain(&e);
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

/// Each TLS file exists and holds PEM of its kind (a certificate for `ca`
/// and `cert`, a private key for `key`); the error names the file and the fix.
fn check_tls_files(tls: &crate::scenario::TlsFiles) -> Result<(), String> {
    let files = [
        ("ca", "CA certificate", &tls.ca, "CERTIFICATE-----", "the CA's certificate (`docker` calls it ca.pem)"),
        ("cert", "certificate", &tls.cert, "CERTIFICATE-----", "your client certificate (cert.pem), signed by that CA"),
        ("key", "key", &tls.key, "PRIVATE KEY-----", "the private key of that certificate (key.pem)"),
    ];
    for (key, what, file, marker, fix) in files {
        if !file.is_file() {
            return Err(format!("the TLS {what} {} is not a file (`tls.{key}`: give it {fix})", file.display()));
        }
        let text = std::fs::read(file).map_err(|e| format!("cannot read the TLS {what} {}: {e}", file.display()))?;
        let text = String::from_utf8_lossy(&text);
        let holds = text.lines().any(|line| line.starts_with("-----BEGIN ") && line.ends_with(marker));
        if !holds {
            let kind = if key == "key" { "private key" } else { "certificate" };
            return Err(format!(
                "the TLS {what} {} holds no PEM {kind} (no `-----BEGIN …{marker}` line): `tls.{key}` must be {fix}, in PEM",
                file.display()
            ));
        }
    }
    Ok(())
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
/// the forward cannot be made. The engine's machine gets neither the
/// user's agent nor their X display, and no `LocalCommand` runs here,
/// whatever `~/.ssh/config` says. (`ClearAllForwardings=yes` would also
/// drop the config's own forwards, but it drops our `-L` too: see
/// docs/running.md.)
fn ssh_command(destination: &str, socket: &Path) -> Command {
    // ssh takes an IPv6 host without its brackets, and the port apart.
    let (host, port) = match Destination::parse(destination) {
        Ok(Destination { user: Some(user), host, port }) => (format!("{user}@{host}"), port),
        Ok(Destination { user: None, host, port }) => (host.to_string(), port),
        Err(_) => (destination.to_string(), None),
    };
    let mut command = Command::new("ssh");
    command.args(["-nNT", "-a", "-x", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes"]);
    command.args(["-o", "StreamLocalBindUnlink=yes", "-o", "ForwardAgent=no", "-o", "ForwardX11=no"]);
    command.args(["-o", "PermitLocalCommand=no"]);
    if let Some(port) = port {
        command.args(["-p", &port.to_string()]);
    }
    command.arg("-L").arg(format!("{}:{REMOTE_SOCKET}", socket.display()));
    // `--`: the destination is never read as an option.
    command.args(["--", &host]);
    command
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
                "-nNT -a -x -o BatchMode=yes -o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes -o ForwardAgent=no -o ForwardX11=no -o PermitLocalCommand=no {forward} -- pi@10.0.0.7"
            )
        );
        let with_port = args("pi@edge:2222").join(" ");
        assert!(with_port.contains("-p 2222") && with_port.ends_with("-- pi@edge"), "{with_port}");
        assert!(args("[::1]").ends_with(&["--".to_string(), "::1".to_string()]));
        let v6 = args("pi@[::1]:22").join(" ");
        assert!(v6.contains("-p 22") && v6.ends_with("-- pi@::1"), "{v6}");
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

    #[test]
    fn a_tls_file_of_the_wrong_kind_is_named_with_the_fix_before_connecting() {
        let dir = tempfile::tempdir().unwrap();
        let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";
        let tls = crate::scenario::TlsFiles {
            ca: dir.path().join("ca.pem"),
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        let attempt = |ca: &str, cert: &str, key: &str| {
            std::fs::write(&tls.ca, ca).unwrap();
            std::fs::write(&tls.cert, cert).unwrap();
            std::fs::write(&tls.key, key).unwrap();
            check_tls_files(&tls)
        };
        assert!(attempt(certificate, certificate, key).is_ok());
        let e = attempt("root:x:0:0\n", certificate, key).unwrap_err();
        assert!(e.contains("ca.pem holds no PEM certificate") && e.contains("`tls.ca` must be the CA's"), "{e}");
        let e = attempt(certificate, certificate, certificate).unwrap_err();
        assert!(e.contains("key.pem holds no PEM private key") && e.contains("`tls.key`"), "{e}");
        let e = attempt(certificate, key, key).unwrap_err();
        assert!(e.contains("cert.pem holds no PEM certificate"), "{e}");
    }

    #[test]
    fn an_error_is_told_with_each_of_its_sources() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let inner = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        let text = super::super::engine::error_chain(&Outer(inner));
        assert_eq!(text, "client error (Connect): invalid peer certificate: UnknownIssuer");
    }
}
