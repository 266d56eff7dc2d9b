//! The named volumes of a run. A `volumes:` source that is a name
//! (`models`) mounts a Docker volume. One the engine has already is the
//! user's: it is mounted as it is and kept. One it lacks is created here,
//! before any container, labelled as the run's containers are, and removed
//! when the run ends, however it ends (the group's shutdown); `xedgesim
//! prune` removes those a killed run left behind.

use std::collections::BTreeMap;

use bollard::errors::Error as BollardError;
use bollard::models::VolumeCreateRequest;

use super::LABEL_RUN;
use super::engine::DockerEngine;
use super::engine::METADATA_TIMEOUT;
use super::error::DockerError;

/// What [`create_missing`] did: the volumes this run created (and so
/// removes), and the ones it could not have, with the engine's reason.
#[derive(Debug, Default)]
pub struct Created {
    pub created: Vec<String>,
    pub failed: BTreeMap<String, String>,
}

/// Creates each volume of `names` the engine does not have, labelled for
/// run `run_id`.
pub async fn create_missing<'a>(
    engine: &DockerEngine,
    names: impl IntoIterator<Item = &'a str>,
    run_id: &str,
    run_label: Option<&str>,
) -> Created {
    let docker = engine.docker();
    let mut out = Created::default();
    for name in names {
        // A short request: an engine silent past METADATA_TIMEOUT is not waited for (bollard's 600 s).
        let silent = |what: &str| format!("the engine did not answer {what} within {} s", METADATA_TIMEOUT.as_secs());
        let Ok(found) = tokio::time::timeout(METADATA_TIMEOUT, docker.inspect_volume(name)).await else {
            out.failed.insert(name.to_string(), silent(&format!("`GET /volumes/{name}`")));
            continue;
        };
        match found {
            Ok(_) => continue,
            Err(BollardError::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => {
                out.failed
                    .insert(name.to_string(), DockerError::api(format!("to look up volume '{name}'"))(e).to_string());
                continue;
            }
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(super::run_labels(run_id, run_label)),
            ..Default::default()
        };
        let Ok(made) = tokio::time::timeout(METADATA_TIMEOUT, docker.create_volume(request)).await else {
            // Labelled for this run: `xedgesim prune` finds it if the engine made it after all.
            out.failed.insert(name.to_string(), silent("`POST /volumes/create`"));
            continue;
        };
        match made {
            // Another process may have made it since the look-up: then it
            // has that one's labels, and is not this run's to remove.
            Ok(volume) if volume.labels.get(LABEL_RUN).is_some_and(|run| run == run_id) => {
                out.created.push(name.to_string());
            }
            Ok(_) => {}
            Err(e) => {
                out.failed
                    .insert(name.to_string(), DockerError::api(format!("to create volume '{name}'"))(e).to_string());
            }
        }
    }
    out
}

/// How long a volume still "in use" just after its containers were
/// removed is asked again: the engine may release a removed container's
/// mounts a moment after it answers (a suspected cause of a run's volume
/// CI once found left on Engine 20.10; not reproduced here). A volume held
/// by a container of someone else's stays in use, named in the error,
/// after about 3 s.
const IN_USE_RETRIES_MS: [u64; 6] = [50, 100, 200, 400, 800, 1600];

/// Removes volume `name`; one already gone is no error.
pub async fn remove(engine: &DockerEngine, name: &str) -> Result<(), DockerError> {
    let options = bollard::query_parameters::RemoveVolumeOptions { force: false };
    let mut retries = IN_USE_RETRIES_MS.iter();
    loop {
        match engine.docker().remove_volume(name, Some(options.clone())).await {
            Ok(()) | Err(BollardError::DockerResponseServerError { status_code: 404, .. }) => return Ok(()),
            Err(BollardError::DockerResponseServerError { status_code: 409, .. }) if let Some(ms) = retries.next() => {
                tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
            }
            Err(e) => return Err(DockerError::api(format!("to remove volume '{name}'"))(e)),
        }
    }
}
