//! `sweep collect`: every point of a sweep folder in one table, its means
//! and 95% intervals by parameter value and by parameter point, and a page
//! with a plot per metric against each swept parameter.
//!
//! What it writes (into `DIR/collect/`, or another folder), each file
//! atomically:
//!
//! - `points.csv` / `points.json`: a row per point in index order: index,
//!   seed, each parameter's value, status (`finished`, `failed`,
//!   `missing`), every metric, and a note (a failure's first line).
//!   Metrics are the numbers of the run's `summary.json` by path
//!   (`messages.delivered`; not its inputs, wall-clock figures or per-type
//!   model totals, see `read.rs`) and every node's metric from its
//!   `metrics.csv` (`NODE.metric`, the host's counts `NODE.host.metric`).
//! - `by_parameter.csv` / `.json`: per parameter, per value, per metric:
//!   n, mean, sd and the 95% interval over the finished points with that
//!   value.
//! - `by_point.csv` / `.json`: the same per whole parameter point, over its seeds.
//! - `report.html`: the page (`page.rs`): every point's status, and each
//!   varying metric plotted against each swept parameter.
//!
//! A failed or missing point is a row with empty metrics, listed, never
//! left out. Nothing written depends on where the folder is or when it
//! was collected: the same points give the same bytes.

mod csv;
mod page;
mod read;
mod stats;
mod tables;

pub use page::MAX_PLOTS;
pub use stats::{Interval, ParameterGroup, PointGroup};

use std::path::{Path, PathBuf};

use crate::atomic_file::write_atomic;
use crate::sweep::layout::{PLAN_FILE, PointEntry, PointStatus};

/// The files `collect` writes, in the order it writes them (the page last).
pub const COLLECT_FILES: [&str; 7] = [
    "points.csv",
    "points.json",
    "by_parameter.csv",
    "by_parameter.json",
    "by_point.csv",
    "by_point.json",
    "report.html",
];

/// Why a sweep folder could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(
        "{} is not a sweep folder: it has no {PLAN_FILE}; give the folder `xedgesim sweep FILE` made \
         (its --out, by default sweeps/<file stem>)",
        dir.display()
    )]
    NotASweep { dir: PathBuf },
    #[error(
        "{} is not a sweep plan: {problem}; `xedgesim sweep FILE --out DIR` writes it (plan the sweep again \
         into a new folder)",
        path.display()
    )]
    BadPlan { path: PathBuf, problem: String },
    /// `--out` names a folder collect must not write into.
    #[error("{0}")]
    BadOut(String),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// A column of the table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Metric {
    /// From `metrics.csv` (a node's), or from `summary.json`.
    pub of_node: bool,
    pub name: String,
}

impl Metric {
    fn summary(name: &str) -> Metric {
        Metric { of_node: false, name: name.to_string() }
    }

    fn node(name: &str) -> Metric {
        Metric { of_node: true, name: name.to_string() }
    }
}

/// One point as collected.
#[derive(Debug, Clone)]
pub struct PointRow {
    pub entry: PointEntry,
    pub status: PointStatus,
    /// A failure's first line, or what could not be read of a finished point.
    pub note: Option<String>,
    /// By metric, as [`Table::metrics`]; None where the point has none.
    pub values: Vec<Option<f64>>,
}

/// Every point of a sweep and the union of their metrics.
#[derive(Debug, Clone)]
pub struct Table {
    pub parameters: Vec<String>,
    pub metrics: Vec<Metric>,
    pub rows: Vec<PointRow>,
}

/// How many points stand where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub points: usize,
    pub finished: usize,
    pub failed: usize,
    pub missing: usize,
}

impl Counts {
    pub fn of(table: &Table) -> Counts {
        let count = |f: fn(&PointStatus) -> bool| table.rows.iter().filter(|r| f(&r.status)).count();
        Counts {
            points: table.rows.len(),
            finished: count(|s| *s == PointStatus::Finished),
            failed: count(|s| matches!(s, PointStatus::Failed(_))),
            missing: count(|s| *s == PointStatus::Missing),
        }
    }
}

/// A status as the tables write it.
pub fn status_name(status: &PointStatus) -> &'static str {
    match status {
        PointStatus::Finished => "finished",
        PointStatus::Failed(_) => "failed",
        PointStatus::Missing => "missing",
    }
}

/// What `collect` found and where it wrote it.
#[derive(Debug, Clone)]
pub struct Collection {
    pub table: Table,
    pub counts: Counts,
    /// The folder the files are in.
    pub out_dir: PathBuf,
}

/// Refuses an `out_dir` inside the sweep's `points/` (it would overwrite a
/// point's own files, its `report.html`) or that is a file.
fn check_out(dir: &Path, out_dir: &Path) -> Result<(), CollectError> {
    let resolved = |p: &Path| {
        // The nearest folder that exists, resolved, with the rest as written.
        let mut existing = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name().map(ToOwned::to_owned), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
        out.extend(rest.iter().rev());
        out
    };
    let points = resolved(&dir.join(crate::sweep::layout::POINTS_DIR));
    if resolved(out_dir).starts_with(&points) {
        return Err(CollectError::BadOut(format!(
            "--out {} is inside the sweep's {}: the tables would overwrite a point's own files; write them elsewhere (the default is {})",
            out_dir.display(),
            points.display(),
            dir.join(crate::sweep::layout::COLLECT_DIR).display()
        )));
    }
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(CollectError::BadOut(format!(
            "--out {} is a file, not a folder: give a folder for the tables and the page",
            out_dir.display()
        )));
    }
    Ok(())
}

/// Reads the sweep folder `dir` and writes its tables and page into
/// `out_dir` (`DIR/collect` by default: [`crate::sweep::layout::COLLECT_DIR`]).
pub fn collect(dir: &Path, out_dir: &Path) -> Result<Collection, CollectError> {
    let plan = read::plan(dir)?;
    check_out(dir, out_dir)?;
    let table = read::table(dir, &plan);
    let by_parameter = stats::by_parameter(&table);
    let by_point = stats::by_point(&table);
    let title = plan.scenario.file_name().map_or_else(|| "scenario".to_string(), |n| n.to_string_lossy().into_owned());
    let files = [
        tables::points_csv(&table),
        tables::points_json(&table),
        tables::by_parameter_csv(&table, &by_parameter),
        tables::by_parameter_json(&table, &by_parameter),
        tables::by_point_csv(&table, &by_point),
        tables::by_point_json(&table, &by_point),
        page::page(&title, &table, &by_parameter, &by_point),
    ];
    std::fs::create_dir_all(out_dir).map_err(|source| CollectError::Write { path: out_dir.to_path_buf(), source })?;
    for (name, text) in COLLECT_FILES.iter().zip(files) {
        let path = out_dir.join(name);
        write_atomic(&path, text.as_bytes()).map_err(|source| CollectError::Write { path, source })?;
    }
    let counts = Counts::of(&table);
    Ok(Collection { table, counts, out_dir: out_dir.to_path_buf() })
}
