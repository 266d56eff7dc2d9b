//! [`RunNetwork`]: the per-run internal Docker network MQTT containers live
//! on. `--internal`: no route off the machine, and no container reaches
//! another's address usefully, since every MQTT node is given the host's
//! endpoint (on the network's gateway address) and nothing else.

use std::net::Ipv4Addr;

use bollard::models::NetworkCreateRequest;

use super::super::engine::DockerEngine;
use super::super::error::DockerError;
use super::super::run_labels;

/// One run's internal network, labelled like its containers (`xedgesim
/// prune` finds a leftover one by the same labels).
#[derive(Debug, Clone)]
pub struct RunNetwork {
    pub name: String,
    pub id: String,
    /// The host's address on it: where MQTT containers find their endpoint.
    pub gateway: Ipv4Addr,
}

impl RunNetwork {
    pub async fn create(
        engine: &DockerEngine,
        run_id: &str,
        run_label: Option<&str>,
    ) -> Result<RunNetwork, DockerError> {
        let name = format!("xedgesim-{run_id}");
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            internal: Some(true),
            labels: Some(run_labels(run_id, run_label)),
            ..Default::default()
        };
        let docker = engine.docker();
        let created =
            docker.create_network(request).await.map_err(DockerError::api(format!("to create network {name}")))?;
        let id = created.id;
        let gateway = async {
            let inspected = docker
                .inspect_network(&id, None)
                .await
                .map_err(DockerError::api(format!("to inspect network {name}")))?;
            inspected
                .ipam
                .and_then(|ipam| ipam.config)
                .unwrap_or_default()
                .into_iter()
                .find_map(|c| c.gateway?.parse::<Ipv4Addr>().ok())
                .ok_or_else(|| DockerError::Api {
                    what: format!("to find network {name}'s gateway"),
                    detail: "the engine gave it no IPv4 gateway address".into(),
                })
        }
        .await;
        match gateway {
            Ok(gateway) => Ok(RunNetwork { name, id, gateway }),
            Err(e) => {
                let _ = remove(engine, &id).await;
                Err(e)
            }
        }
    }
}

/// Removes network `id` (after its containers: the engine refuses to
/// remove a network with endpoints).
pub async fn remove(engine: &DockerEngine, id: &str) -> Result<(), DockerError> {
    match engine.docker().remove_network(id).await {
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        Err(e) => Err(DockerError::api(format!("to remove network {}", &id[..id.len().min(12)]))(e)),
    }
}
