//! `xedgesim sweep collect DIR`: a sweep folder's points in one table and
//! page (`sweep::collect`), with the unfinished ones listed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{EXIT_USER_ERROR, for_terminal};
use crate::sweep::collect::{CollectError, collect, status_name};
use crate::sweep::layout::COLLECT_DIR;

/// Most unfinished points listed on the terminal; the tables list them all.
const MAX_LISTED: usize = 20;

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The sweep folder (the one holding sweep.json).
    pub dir: PathBuf,
    /// Where to write the tables and the page [default: DIR/collect].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Collects; exit 0 when every point finished, 1 when any failed or is
/// missing (the files are written all the same), 2 for a folder that is
/// not a sweep.
pub fn run(args: &CollectArgs) -> ExitCode {
    let out_dir = args.out.clone().unwrap_or_else(|| args.dir.join(COLLECT_DIR));
    let collection = match collect(&args.dir, &out_dir) {
        Ok(collection) => collection,
        Err(e) => {
            eprintln!("error: {}", for_terminal(&e.to_string()));
            let user_error =
                matches!(e, CollectError::NotASweep { .. } | CollectError::BadPlan { .. } | CollectError::BadOut(_));
            return ExitCode::from(if user_error { EXIT_USER_ERROR } else { 1 });
        }
    };
    let c = collection.counts;
    println!("{} points: {} finished, {} failed, {} missing", c.points, c.finished, c.failed, c.missing);
    let table = &collection.table;
    let unfinished: Vec<_> = table.rows.iter().filter(|r| status_name(&r.status) != "finished").collect();
    for row in unfinished.iter().take(MAX_LISTED) {
        let values: Vec<String> = table
            .parameters
            .iter()
            .map(|p| {
                let value = row.entry.values.get(p).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
                format!("{p} = {}", value.unwrap_or_default())
            })
            .collect();
        let values = if values.is_empty() { String::new() } else { format!(", {}", values.join(", ")) };
        let note = row.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
        println!(
            "  point {} (seed {}{values}) {}{}",
            row.entry.index,
            row.entry.seed,
            status_name(&row.status),
            for_terminal(&note)
        );
    }
    if unfinished.len() > MAX_LISTED {
        println!("  … and {} more (points.csv lists every point)", unfinished.len() - MAX_LISTED);
    }
    if c.missing > 0 {
        println!("run the sweep again to resume the missing points");
    }
    println!("tables   {}", out_dir.join("points.csv").display());
    println!("report   {}", out_dir.join("report.html").display());
    if c.finished == c.points { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
