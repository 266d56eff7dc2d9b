//! `xedgesim prune`: removes the containers, named volumes and networks a killed
//! xedgesim left behind, found by their `xedgesim.run` label. Those whose
//! owning process (`xedgesim.pid`) still runs on this machine belong to a
//! live run and are left alone unless `all` is set, and so are those made
//! on another machine (`xedgesim.host`), whose processes cannot be seen
//! from here. Containers go first: a volume or network in use cannot be removed.

use std::collections::HashMap;
use std::path::Path;

use super::engine::DockerEngine;
use super::error::DockerError;
use super::{LABEL_HOST, LABEL_NODE, LABEL_PID, LABEL_RUN, container, volume};

/// What a [`Leftover`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftoverKind {
    Container,
    /// A named volume the run created; its `id` is its name.
    Volume,
    /// The run's internal network (containers that speak MQTT).
    Network,
}

/// A container or volume found by [`prune`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub kind: LeftoverKind,
    pub id: String,
    pub run: String,
    pub node: String,
    /// What became of it: `Ok(true)` removed, `Ok(false)` kept (see
    /// `kept_because`), `Err` the engine's refusal to remove it.
    pub removed: Result<bool, String>,
    pub kept_because: Option<&'static str>,
}

/// Every container labelled by xedgesim, then every volume, removed
/// unless its process may still be running it: one that lives on this
/// machine (same host name and boot), or one made on another machine,
/// which cannot be judged from here. `all` removes them all.
pub fn prune(engine: &DockerEngine, all: bool) -> Result<Vec<Leftover>, DockerError> {
    let options = bollard::query_parameters::ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_string(), vec![LABEL_RUN.to_string()])])),
        ..Default::default()
    };
    // Lists are short requests: an engine silent past METADATA_TIMEOUT is unreachable.
    let found = engine
        .block_on_metadata(None, "`GET /containers/json`", engine.docker().list_containers(Some(options)))?
        .map_err(DockerError::api("to list containers"))?;
    let mut leftovers = Vec::new();
    for summary in found {
        let labels = summary.labels.unwrap_or_default();
        let id = summary.id.unwrap_or_default();
        let kept_because = kept_because(&labels, all);
        let removed = match kept_because {
            Some(_) => Ok(false),
            None => engine.block_on(container::remove(engine, &id)).map(|()| true).map_err(|e| e.to_string()),
        };
        leftovers.push(leftover(LeftoverKind::Container, id, &labels, removed, kept_because));
    }
    let options = bollard::query_parameters::ListVolumesOptions {
        filters: Some(HashMap::from([("label".to_string(), vec![LABEL_RUN.to_string()])])),
    };
    let found = engine
        .block_on_metadata(None, "`GET /volumes`", engine.docker().list_volumes(Some(options)))?
        .map_err(DockerError::api("to list volumes"))?;
    for v in found.volumes.unwrap_or_default() {
        let kept_because = kept_because(&v.labels, all);
        let removed = match kept_because {
            Some(_) => Ok(false),
            None => engine.block_on(volume::remove(engine, &v.name)).map(|()| true).map_err(|e| e.to_string()),
        };
        leftovers.push(leftover(LeftoverKind::Volume, v.name, &v.labels, removed, kept_because));
    }
    let options = bollard::query_parameters::ListNetworksOptions {
        filters: Some(HashMap::from([("label".to_string(), vec![LABEL_RUN.to_string()])])),
    };
    let found = engine
        .block_on_metadata(None, "`GET /networks`", engine.docker().list_networks(Some(options)))?
        .map_err(DockerError::api("to list networks"))?;
    for n in found {
        let labels = n.labels.unwrap_or_default();
        let kept_because = kept_because(&labels, all);
        let id = n.id.unwrap_or_default();
        let removed = match kept_because {
            Some(_) => Ok(false),
            None => engine.block_on(super::mqtt::remove_network(engine, &id)).map(|()| true).map_err(|e| e.to_string()),
        };
        leftovers.push(leftover(LeftoverKind::Network, id, &labels, removed, kept_because));
    }
    Ok(leftovers)
}

/// Why something labelled `labels` is kept, or `None` to remove it.
fn kept_because(labels: &HashMap<String, String>, all: bool) -> Option<&'static str> {
    let pid = labels.get(LABEL_PID).and_then(|p| p.parse::<u32>().ok());
    match labels.get(LABEL_HOST) {
        _ if all => None,
        Some(host) if *host != super::this_host() => Some("made on another machine or boot; `--all` removes it"),
        _ if pid.is_some_and(|pid| pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()) => {
            Some("its run is still going")
        }
        _ => None,
    }
}

fn leftover(
    kind: LeftoverKind,
    id: String,
    labels: &HashMap<String, String>,
    removed: Result<bool, String>,
    kept_because: Option<&'static str>,
) -> Leftover {
    Leftover {
        kind,
        id,
        run: labels.get(LABEL_RUN).cloned().unwrap_or_default(),
        node: labels.get(LABEL_NODE).cloned().unwrap_or_default(),
        removed,
        kept_because,
    }
}
