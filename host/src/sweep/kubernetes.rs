//! The `kubernetes` manifest: an Indexed Job with one completion per
//! point, each pod running `xedgesim sweep point /sweep --index
//! $(JOB_COMPLETION_INDEX)` with the sweep folder mounted at `/sweep` from
//! a PersistentVolumeClaim. Written, never applied: `kubectl apply -f` is
//! the user's. Finished points are skipped by the pod, so applying it
//! again resumes the sweep.

use std::path::{Path, PathBuf};

use super::error::{SweepError, io_error};
use super::layout::SweepPlan;
use crate::atomic_file::write_atomic;

/// The manifest's folder in the sweep folder, and its name.
pub const KUBERNETES_DIR: &str = "kubernetes";
pub const JOB_FILE: &str = "job.yaml";
/// Where the pods mount the sweep folder.
pub const MOUNT: &str = "/sweep";

/// What the manifest names.
#[derive(Debug, Clone)]
pub struct KubernetesOptions {
    /// An image holding xedgesim (on its PATH) and the scenario's files.
    pub image: String,
    /// The PersistentVolumeClaim holding the sweep folder.
    pub pvc: String,
    /// Pods at once.
    pub parallelism: usize,
    /// The scenario's path inside the image (default: the plan's own path).
    pub scenario_in_pod: Option<PathBuf>,
    /// More arguments for each `sweep point` (`--allow WHAT`).
    pub point_args: Vec<String>,
}

/// A string as a YAML scalar: JSON's double-quoted form is YAML's.
fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// The Job for `plan`, the sweep whose folder is named `name`.
pub fn manifest(name: &str, plan: &SweepPlan, options: &KubernetesOptions) -> String {
    let job_name: String = format!("xedgesim-sweep-{name}")
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .take(52)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string();
    let scenario = options.scenario_in_pod.clone().unwrap_or_else(|| plan.scenario.clone());
    let command: Vec<String> = [
        "xedgesim".to_string(),
        "sweep".to_string(),
        "point".to_string(),
        MOUNT.to_string(),
        "--index".to_string(),
        "$(JOB_COMPLETION_INDEX)".to_string(),
        "--scenario".to_string(),
        scenario.display().to_string(),
    ]
    .into_iter()
    .chain(options.point_args.iter().cloned())
    .collect();
    let points = plan.points.len();
    let mut y = String::new();
    y.push_str("# Written by `xedgesim sweep --on kubernetes`: one pod per point of the sweep.\n");
    y.push_str("# Apply with `kubectl apply -f` once the sweep folder is on the claim below.\n");
    y.push_str("apiVersion: batch/v1\nkind: Job\nmetadata:\n");
    y.push_str(&format!("  name: {}\n", yaml_string(&job_name)));
    y.push_str("spec:\n  completionMode: Indexed\n");
    y.push_str(&format!("  completions: {points}\n  parallelism: {}\n", options.parallelism.clamp(1, points.max(1))));
    y.push_str("  # A point that fails is in its failed.json; it does not stop the others (Kubernetes 1.29+).\n");
    y.push_str(&format!("  backoffLimitPerIndex: 0\n  maxFailedIndexes: {points}\n"));
    y.push_str("  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: point\n");
    y.push_str(&format!("          image: {}\n", yaml_string(&options.image)));
    y.push_str("          command:\n");
    for word in &command {
        y.push_str(&format!("            - {}\n", yaml_string(word)));
    }
    y.push_str("          volumeMounts:\n            - name: sweep\n");
    y.push_str(&format!("              mountPath: {}\n", yaml_string(MOUNT)));
    y.push_str("      volumes:\n        - name: sweep\n          persistentVolumeClaim:\n");
    y.push_str(&format!("            claimName: {}\n", yaml_string(&options.pvc)));
    y
}

/// Writes the manifest into `dir/kubernetes/`, returning its path.
pub fn write(dir: &Path, text: &str) -> Result<PathBuf, SweepError> {
    let folder = dir.join(KUBERNETES_DIR);
    std::fs::create_dir_all(&folder).map_err(io_error(&folder))?;
    let path = folder.join(JOB_FILE);
    write_atomic(&path, text.as_bytes()).map_err(io_error(&path))?;
    Ok(path)
}
