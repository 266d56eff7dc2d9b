//! `xedgesim prune`: removes containers a killed xedgesim left behind,
//! found by their `xedgesim.run` label. Containers whose owning process
//! (`xedgesim.pid`) still runs on this machine belong to a live run and
//! are left alone unless `all` is set, and so are those made on another
//! machine (`xedgesim.host`), whose processes cannot be seen from here.

use std::collections::HashMap;
use std::path::Path;

use super::engine::DockerEngine;
use super::error::DockerError;
use super::{LABEL_HOST, LABEL_NODE, LABEL_PID, LABEL_RUN, container};

/// A container found by [`prune`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub id: String,
    pub run: String,
    pub node: String,
    /// What became of it: `Ok(true)` removed, `Ok(false)` kept (see
    /// `kept_because`), `Err` the engine's refusal to remove it.
    pub removed: Result<bool, String>,
    pub kept_because: Option<&'static str>,
}

/// Every container labelled by xedgesim, removed unless its process may
/// still be running it: one that lives on this machine (same host name
/// and boot), or one made on another machine, which cannot be judged
/// from here. `all` removes them all.
pub fn prune(engine: &DockerEngine, all: bool) -> Result<Vec<Leftover>, DockerError> {
    let options = bollard::query_parameters::ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_string(), vec![LABEL_RUN.to_string()])])),
        ..Default::default()
    };
    let found = engine
        .block_on(engine.docker().list_containers(Some(options)))
        .map_err(DockerError::api("to list containers"))?;
    let here = super::this_host();
    let mut leftovers = Vec::new();
    for summary in found {
        let labels = summary.labels.unwrap_or_default();
        let id = summary.id.unwrap_or_default();
        let pid = labels.get(LABEL_PID).and_then(|p| p.parse::<u32>().ok());
        let kept_because = match labels.get(LABEL_HOST) {
            _ if all => None,
            Some(host) if *host != here => Some("made on another machine or boot; `--all` removes it"),
            _ if pid.is_some_and(|pid| pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()) => {
                Some("its run is still going")
            }
            _ => None,
        };
        let removed = match kept_because {
            Some(_) => Ok(false),
            None => engine.block_on(container::remove(engine, &id)).map(|()| true).map_err(|e| e.to_string()),
        };
        leftovers.push(Leftover {
            id,
            run: labels.get(LABEL_RUN).cloned().unwrap_or_default(),
            node: labels.get(LABEL_NODE).cloned().unwrap_or_default(),
            removed,
            kept_because,
        });
    }
    Ok(leftovers)
}
