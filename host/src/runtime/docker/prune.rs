//! `xedgesim prune`: removes containers a killed xedgesim left behind,
//! found by their `xedgesim.run` label. Containers whose owning process
//! (`xedgesim.pid`) still runs on this machine belong to a live run and
//! are left alone unless `all` is set.

use std::collections::HashMap;

use super::engine::DockerEngine;
use super::error::DockerError;
use super::{LABEL_NODE, LABEL_PID, LABEL_RUN, container};

/// A container found by [`prune`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub id: String,
    pub run: String,
    pub node: String,
    /// False when it was left alone: its process still runs.
    pub removed: bool,
}

/// Every container labelled by xedgesim, removed unless its process lives.
pub fn prune(engine: &DockerEngine, all: bool) -> Result<Vec<Leftover>, DockerError> {
    let options = bollard::query_parameters::ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_string(), vec![LABEL_RUN.to_string()])])),
        ..Default::default()
    };
    let found = engine
        .block_on(engine.docker().list_containers(Some(options)))
        .map_err(DockerError::api("to list containers"))?;
    let mut leftovers = Vec::new();
    for summary in found {
        let labels = summary.labels.unwrap_or_default();
        let id = summary.id.unwrap_or_default();
        let owner_alive = labels
            .get(LABEL_PID)
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|pid| pid != std::process::id() && std::path::Path::new(&format!("/proc/{pid}")).exists());
        let removed = all || !owner_alive;
        if removed {
            engine.block_on(container::remove(engine, &id))?;
        }
        leftovers.push(Leftover {
            id,
            run: labels.get(LABEL_RUN).cloned().unwrap_or_default(),
            node: labels.get(LABEL_NODE).cloned().unwrap_or_default(),
            removed,
        });
    }
    Ok(leftovers)
}
