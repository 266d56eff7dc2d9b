//! `engines:` and each node's `docker.engine`: names, endpoints, TLS, and
//! what a container cannot do on an engine on another machine. Nothing
//! here connects to an engine or reads its TLS files (`validate` touches
//! no host file the user did not allow: the files are read when the run
//! connects, under `--allow engine:NAME`).

use super::Checker;
use crate::scenario::config_value::ConfigValue;
use crate::scenario::engines::{
    DEFAULT_ENGINE_NAME, ENGINE_SCHEMES, EngineEndpoint, MAX_ENGINE_NAME_LEN, is_engine_name,
};
use crate::scenario::manifest::{DockerSection, EngineEntry, Scenario};
use crate::scenario::suggest;

/// The keys of an engine's `tls:` map.
const TLS_KEYS: &[&str] = &["ca", "cert", "key"];

impl Checker<'_> {
    /// Each `engines:` entry. An entry no node names is fine (a block
    /// shared between files): it is never connected to but by `prune FILE`.
    pub(super) fn engines(&mut self, scenario: &Scenario) {
        for (name, entry) in &scenario.engines {
            let path = format!("engines.{name}");
            if !is_engine_name(name) {
                self.key_error(
                    &path,
                    None,
                    format!("engine name '{name}' is not a plain name"),
                    format!("use letters, digits, `-` and `_` (at most {MAX_ENGINE_NAME_LEN})"),
                );
                continue;
            }
            if name == DEFAULT_ENGINE_NAME {
                self.key_error(
                    &path,
                    None,
                    format!("`{name}` names the default engine (DOCKER_HOST, else the local socket)"),
                    "give this engine another name; nodes without `docker.engine` run on the default one",
                );
                continue;
            }
            self.engine_entry(&path, name, entry);
        }
    }

    fn engine_entry(&mut self, path: &str, name: &str, entry: &EngineEntry) {
        let endpoint = match EngineEndpoint::parse(&entry.endpoint) {
            Ok(endpoint) => endpoint,
            Err(e) => {
                let help = format!(
                    "the scheme is one of {}: unix:///path/docker.sock, tcp://host:2376 with `tls:`, ssh://user@host",
                    ENGINE_SCHEMES.join(", ")
                );
                self.error(&format!("{path}.endpoint"), None, format!("engine '{name}': {e}"), help);
                return;
            }
        };
        let tls_path = format!("{path}.tls");
        match (&endpoint, &entry.tls) {
            (EngineEndpoint::Tcp { .. }, None) => self.error(
                path,
                None,
                format!("engine '{name}' is plain TCP without `tls:`"),
                "add `tls: {ca: ca.pem, cert: cert.pem, key: key.pem}` (the engine with `--tlsverify`), or write \
                 `tls: false` if you mean it: a plain TCP engine is root on its machine for anyone who reaches \
                 the port (only for tests on 127.0.0.1)",
            ),
            (EngineEndpoint::Tcp { address, .. }, Some(ConfigValue::Bool(false))) if !is_loopback(address) => self
                .warning(
                    &tls_path,
                    format!("engine '{name}' is plain TCP to {address}, another machine, without TLS"),
                    "anyone between here and there sees and can change what is sent, and whoever reaches the port is root \
                     on that machine: give `tls: {ca, cert, key}` (the engine with `--tlsverify`), or reach it with \
                     ssh://",
                ),
            (EngineEndpoint::Tcp { .. }, Some(tls)) => self.tls_files(&tls_path, name, tls),
            (_, Some(_)) => self.key_error(
                &tls_path,
                None,
                format!("engine '{name}' has `tls:`, but {} is not a tcp endpoint", endpoint.url()),
                "remove `tls:`: a unix socket is this machine's, and ssh brings its own encryption",
            ),
            (_, None) => {}
        }
    }

    /// `tls:` of a tcp engine: `false`, or exactly `ca`, `cert` and `key`.
    fn tls_files(&mut self, path: &str, name: &str, tls: &ConfigValue) {
        let map = match tls {
            ConfigValue::Bool(false) => return,
            ConfigValue::Map(map) => map,
            _ => {
                self.error(
                    path,
                    None,
                    format!("engine '{name}': `tls:` is `{{ca, cert, key}}` or `false`"),
                    "name the CA certificate, the client certificate and its key: \
                     `tls: {ca: certs/ca.pem, cert: certs/cert.pem, key: certs/key.pem}` (relative to this file)",
                );
                return;
            }
        };
        for (key, value) in map {
            let key_path = format!("{path}.{key}");
            if !TLS_KEYS.contains(&key.as_str()) {
                let hint = suggest::did_you_mean(key, TLS_KEYS);
                self.key_error(
                    &key_path,
                    None,
                    format!("unknown key `{key}` in engine '{name}'s `tls:`"),
                    format!("{hint} (`tls:` takes ca, cert and key)"),
                );
            } else if !matches!(value, ConfigValue::Text(t) if !t.trim().is_empty()) {
                self.error(
                    &key_path,
                    None,
                    format!("engine '{name}': tls.{key} is not a file path"),
                    "write the PEM file's path, relative to this file",
                );
            }
        }
        let missing: Vec<&str> = TLS_KEYS.iter().copied().filter(|k| !map.contains_key(*k)).collect();
        if !missing.is_empty() {
            self.error(
                path,
                None,
                format!("engine '{name}'s `tls:` lacks {}", missing.join(", ")),
                "TLS to an engine needs all three: ca (the engine's CA), cert and key (this client's)",
            );
        }
    }

    /// `docker.engine` of the node at `dpath` (its `docker:` section):
    /// an `engines:` name, and nothing the engine's machine cannot do.
    pub(super) fn docker_engine(&mut self, dpath: &str, id: &str, docker: &DockerSection, scenario: &Scenario) {
        let Some(name) = &docker.engine else { return };
        let epath = format!("{dpath}.engine");
        let Some(entry) = scenario.engines.get(name) else {
            let names: Vec<&str> = scenario.engines.keys().map(String::as_str).collect();
            let help = if names.is_empty() {
                "the file has no `engines:`; add one (`engines: {NAME: {endpoint: …}}`), or remove `engine:` to run on \
                 the default engine"
                    .to_string()
            } else {
                format!(
                    "{} (without `engine:`, the node runs on the default engine)",
                    suggest::did_you_mean(name, &names)
                )
            };
            self.error(&epath, Some(id), format!("engine '{name}' is not in `engines:`"), help);
            return;
        };
        let Ok(endpoint) = EngineEndpoint::parse(&entry.endpoint) else { return };
        if endpoint.is_local() {
            return;
        }
        if docker.protocol.as_deref() == Some("mqtt") {
            self.error(
                &epath,
                Some(id),
                format!("a container that speaks MQTT cannot run on engine '{name}' ({})", endpoint.url()),
                "the host meets MQTT containers on their run network's gateway, on this machine: run it on the \
                 default engine or a unix:// one",
            );
        }
        if let Some(host) = docker.volumes.keys().find(|k| !super::is_named_volume(k)) {
            self.key_error(
                &format!("{dpath}.volumes"),
                Some(id),
                format!(
                    "the bind '{host}' would be a path on engine '{name}'s machine ({}), not this one's",
                    endpoint.url()
                ),
                "use a named volume, or run the node on the default engine",
            );
        }
        if !docker.ports.is_empty() {
            self.key_error(
                &format!("{dpath}.ports"),
                Some(id),
                format!("ports would be published on engine '{name}'s machine ({}), not this one", endpoint.url()),
                "remove `ports:`, or run the node on the default engine",
            );
        }
    }
}

/// Whether `address` (`host:port`) is this machine's loopback.
fn is_loopback(address: &str) -> bool {
    crate::scenario::Destination::parse(address)
        .is_ok_and(|d| d.host == "localhost" || d.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}
