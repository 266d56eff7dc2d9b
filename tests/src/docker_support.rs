//! What the Docker tests of both test crates share (host/tests includes
//! this file by path): an engine or a loud failure, and containers by label.

/// Whether the Docker tests can run. They need a real engine: without one
/// they fail loudly, naming the fix, unless `XEDGESIM_SKIP_DOCKER=1` says
/// to skip them knowingly (then each prints that it was skipped).
pub fn docker_engine() -> Option<xedgesim::runtime::docker::DockerEngine> {
    match xedgesim::runtime::docker::DockerEngine::connect(std::env::var("DOCKER_HOST").ok().as_deref()) {
        Ok(engine) => Some(engine),
        Err(e) if std::env::var("XEDGESIM_SKIP_DOCKER").is_ok_and(|v| v == "1") => {
            eprintln!("SKIPPED (XEDGESIM_SKIP_DOCKER=1): this test needs a Docker engine: {e}");
            None
        }
        Err(e) => panic!(
            "this test needs a Docker engine and none answers:\n{e}\n\
             run the suite with `bash .ci/test` (installs and starts one), or set XEDGESIM_SKIP_DOCKER=1 to skip the Docker tests knowingly"
        ),
    }
}

/// `XEDGESIM_RUN_LABEL`, which `.ci/test` sets to an id of its own: the
/// tests put it on every container and volume they make
/// ([`Simulation::run_label`](xedgesim::run::Simulation::run_label)), and
/// the leftover check counts only those, not another run's on the machine.
pub fn run_label() -> Option<String> {
    std::env::var("XEDGESIM_RUN_LABEL").ok().filter(|l| !l.is_empty())
}

/// Held by the tests of one test binary whose scenarios share a node id
/// and that check no container of that node is left: another test's run
/// of a node of the same name, in parallel, would fail the check.
pub fn node_name_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Ids of the containers labelled with node `node`, running or not.
pub fn containers_of_node(engine: &xedgesim::runtime::docker::DockerEngine, node: &str) -> Vec<String> {
    use xedgesim::runtime::docker::{LABEL_NODE, ListContainersOptions};
    let filters = std::collections::HashMap::from([("label".to_string(), vec![format!("{LABEL_NODE}={node}")])]);
    let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    let found = engine.block_on(engine.docker().list_containers(Some(options))).expect("the engine lists containers");
    found.into_iter().filter_map(|c| c.id).collect()
}
