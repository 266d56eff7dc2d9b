//! `engines:` resolved: the Docker engines a scenario's containers may run
//! on besides the default one (`DOCKER_HOST`, else the local socket), each
//! by name, and the one reading of an endpoint's text that the checks
//! (`validate/engines.rs`), the resolver and `DOCKER_HOST` share.

use std::path::PathBuf;

use serde::Serialize;

/// The schemes an endpoint may have, as the checks name them.
pub const ENGINE_SCHEMES: &[&str] = &["unix", "tcp", "ssh"];

/// What output calls the default engine (`DOCKER_HOST`, else the local
/// socket); no `engines:` entry may take the name.
pub const DEFAULT_ENGINE_NAME: &str = "default";

/// Longest engine name: names label output and `--allow engine:NAME`.
pub const MAX_ENGINE_NAME_LEN: usize = 64;

/// Where a Docker engine listens, and how it is reached.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "scheme", rename_all = "lowercase")]
pub enum EngineEndpoint {
    /// A socket on this machine.
    Unix { path: PathBuf },
    /// `host:port`. With `tls`, each side proves who it is (the engine runs
    /// with `--tlsverify`); without, anyone who reaches the port is root
    /// on the engine's machine.
    Tcp { address: String, tls: Option<TlsFiles> },
    /// `[user@]host[:port]`: the engine's socket there, forwarded by the
    /// system's `ssh`.
    Ssh { destination: String },
}

/// The PEM files a TLS engine is reached with, absolute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl EngineEndpoint {
    /// Reads `unix:///path` (or a bare `/path`), `tcp://host:port` (without
    /// TLS; the file's `tls:` adds it) or `ssh://[user@]host[:port]`. The
    /// error says what is wrong, in words.
    pub fn parse(text: &str) -> Result<EngineEndpoint, String> {
        let text = text.trim();
        if text.starts_with('/') {
            return Ok(EngineEndpoint::Unix { path: PathBuf::from(text) });
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!("'{text}' has no scheme; write unix:///path, tcp://host:port or ssh://user@host"));
        };
        match scheme {
            "unix" if rest.starts_with('/') => Ok(EngineEndpoint::Unix { path: PathBuf::from(rest) }),
            "unix" => Err(format!("'{text}': a unix endpoint is an absolute path, as in unix:///var/run/docker.sock")),
            "tcp" => match Destination::parse(rest) {
                Ok(Destination { user: None, port: Some(_), .. }) => {
                    Ok(EngineEndpoint::Tcp { address: rest.to_string(), tls: None })
                }
                Err(e) => Err(format!("'{text}': {e}; a tcp endpoint is host:port, as in tcp://10.0.0.7:2376")),
                Ok(_) => Err(format!("'{text}': a tcp endpoint is host:port, as in tcp://10.0.0.7:2376")),
            },
            // `-` first would read as an option of ssh's; `--` guards the
            // command line too, but such a name is never a host.
            "ssh" if !rest.is_empty() && !rest.starts_with('-') && plain(rest, "@.:-_[]") => {
                match Destination::parse(rest) {
                    Ok(_) => Ok(EngineEndpoint::Ssh { destination: rest.to_string() }),
                    Err(e) => {
                        Err(format!("'{text}': {e}; an ssh endpoint is [user@]host[:port], as in ssh://pi@10.0.0.7"))
                    }
                }
            }
            "ssh" => Err(format!("'{text}': an ssh endpoint is [user@]host[:port], as in ssh://pi@10.0.0.7")),
            _ => Err(format!("'{text}': the scheme '{scheme}' is not one of {}", ENGINE_SCHEMES.join(", "))),
        }
    }

    /// The endpoint as written (`unix:///…`, `tcp://…`, `ssh://…`).
    pub fn url(&self) -> String {
        match self {
            EngineEndpoint::Unix { path } => format!("unix://{}", path.display()),
            EngineEndpoint::Tcp { address, .. } => format!("tcp://{address}"),
            EngineEndpoint::Ssh { destination } => format!("ssh://{destination}"),
        }
    }

    /// Whether the engine is on this machine whatever its address says: a
    /// socket here. Containers that speak MQTT need it (the host listens
    /// on their network's gateway), and so do binds of host paths.
    pub fn is_local(&self) -> bool {
        matches!(self, EngineEndpoint::Unix { .. })
    }
}

impl std::fmt::Display for EngineEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// `[user@]host[:port]` taken apart: an IPv6 host is written in brackets
/// (`[::1]:2376`) and given without them; a port is 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination<'a> {
    pub user: Option<&'a str>,
    pub host: &'a str,
    pub port: Option<u16>,
}

impl<'a> Destination<'a> {
    /// The error says what is wrong and how to write it.
    pub fn parse(text: &'a str) -> Result<Destination<'a>, String> {
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) if !user.is_empty() => (Some(user), rest),
            Some(_) => return Err("the user before `@` is empty".into()),
            None => (None, text),
        };
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let Some((host, after)) = bracketed.split_once(']') else {
                return Err("an IPv6 address in brackets lacks its `]`, as in [::1]:2376".into());
            };
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(format!("`{after}` follows the `]`; write [ADDRESS]:PORT")),
                },
            }
        } else if rest.matches(':').count() > 1 {
            return Err(format!("an IPv6 address goes in brackets, the port after them: [{rest}] or [ADDRESS]:PORT"));
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err("the host is empty".into());
        }
        let port = match port {
            None => None,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => Some(port),
                _ => return Err(format!("the port `{port}` is not a number from 1 to 65535")),
            },
        };
        Ok(Destination { user, host, port })
    }
}

/// Whether `text` has only ASCII letters, digits and the characters of `extra`.
fn plain(text: &str, extra: &str) -> bool {
    text.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// Whether `name` may name an engine: letters, digits, `-` and `_`.
pub fn is_engine_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_ENGINE_NAME_LEN && plain(name, "-_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_read_as_written_and_bad_ones_say_the_form() {
        let unix = EngineEndpoint::parse("unix:///run/docker2.sock").unwrap();
        assert_eq!(unix, EngineEndpoint::Unix { path: "/run/docker2.sock".into() });
        assert_eq!(EngineEndpoint::parse("/var/run/docker.sock").unwrap().url(), "unix:///var/run/docker.sock");
        let tcp = EngineEndpoint::parse("tcp://127.0.0.1:23760").unwrap();
        assert_eq!(tcp, EngineEndpoint::Tcp { address: "127.0.0.1:23760".into(), tls: None });
        assert_eq!(tcp.url(), "tcp://127.0.0.1:23760");
        let ssh = EngineEndpoint::parse("ssh://pi@10.0.0.7").unwrap();
        assert_eq!(ssh, EngineEndpoint::Ssh { destination: "pi@10.0.0.7".into() });
        assert!(
            EngineEndpoint::parse("tcp://[::1]:2376").is_ok() && EngineEndpoint::parse("ssh://pi@[::1]:22").is_ok()
        );
        let parts = Destination::parse("pi@[::1]:22").unwrap();
        assert_eq!(parts, Destination { user: Some("pi"), host: "::1", port: Some(22) });
        for (bad, says) in [
            ("http://x:1", "not one of unix, tcp, ssh"),
            ("docker.sock", "no scheme"),
            ("unix://docker.sock", "absolute path"),
            ("tcp://host", "host:port"),
            ("tcp://host:0", "host:port"),
            ("tcp://:2376", "host:port"),
            ("ssh://-oProxyCommand=sh", "[user@]host"),
            ("ssh://pi@host;rm", "[user@]host"),
            ("ssh://", "[user@]host"),
            ("tcp://::1:2376", "IPv6 address goes in brackets"),
            ("tcp://[::1:2376", "lacks its `]`"),
            ("tcp://h:99999", "from 1 to 65535"),
            ("ssh://pi@host:99999", "from 1 to 65535"),
            ("ssh://pi@host:0", "from 1 to 65535"),
            ("ssh://pi@host:abc", "`abc` is not a number"),
            ("ssh://pi@::1", "IPv6 address goes in brackets"),
        ] {
            let e = EngineEndpoint::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn engine_names_are_plain_words() {
        assert!(is_engine_name("edge-box") && is_engine_name("lab_2"));
        assert!(!is_engine_name("") && !is_engine_name("a.b") && !is_engine_name("a b"));
        assert!(!is_engine_name(&"x".repeat(65)));
    }
}
