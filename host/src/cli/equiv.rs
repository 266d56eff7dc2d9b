//! `xedgesim equiv A.yaml B.yaml`: runs both scenarios with one seed and
//! says whether they behave the same (see [`crate::equiv`]). Exit 0 when
//! they do, 1 when they do not (the first differences are printed), 2 on
//! a usage or scenario error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, ValueEnum};

use crate::equiv::{EquivOptions, PayloadMatch, canonical, compare};
use crate::sim::{RunStatus, SandboxMode, Simulation, TraceLevel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PayloadArg {
    /// Byte for byte.
    Exact,
    /// As JSON, numbers within `--json-tolerance`.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SandboxArg {
    PerNode,
    Shared,
}

#[derive(Debug, Args)]
pub struct EquivArgs {
    /// The expected side.
    #[arg(value_name = "A")]
    a: PathBuf,
    /// The side compared with it.
    #[arg(value_name = "B")]
    b: PathBuf,
    /// Seed for both runs (default: A's).
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder: `a/` and `b/` inside it (default: runs/equiv-<A>-<B>-seed<seed>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Compare which messages arrived, not when.
    #[arg(long)]
    ignore_timing: bool,
    /// Delivery times may differ by this many µs.
    #[arg(long, value_name = "US", default_value_t = 0)]
    time_tolerance_us: u64,
    /// How payloads must match.
    #[arg(long, value_enum, default_value_t = PayloadArg::Exact)]
    payloads: PayloadArg,
    /// With `--payloads json`: numbers may differ by this fraction.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    json_tolerance: f64,
    /// Metrics may differ by this fraction of the larger value.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    metric_tolerance: f64,
    /// Leave this node out (repeatable).
    #[arg(long, value_name = "NODE")]
    ignore_node: Vec<String>,
    /// Leave messages on this topic out (repeatable).
    #[arg(long, value_name = "TOPIC")]
    ignore_topic: Vec<String>,
    /// How A's WASM nodes are packed.
    #[arg(long, value_enum, default_value_t = SandboxArg::PerNode)]
    sandbox_a: SandboxArg,
    /// How B's WASM nodes are packed.
    #[arg(long, value_enum, default_value_t = SandboxArg::PerNode)]
    sandbox_b: SandboxArg,
}

fn fraction(value: f64, flag: &str) -> Result<f64, String> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!("{flag} must be a number >= 0; found {value}"))
    }
}

pub fn run(args: &EquivArgs) -> ExitCode {
    let user_error = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(super::EXIT_USER_ERROR)
    };
    let options = match (
        fraction(args.json_tolerance, "--json-tolerance"),
        fraction(args.metric_tolerance, "--metric-tolerance"),
    ) {
        (Ok(json), Ok(metric)) => EquivOptions {
            ignore_timing: args.ignore_timing,
            time_tolerance_us: args.time_tolerance_us,
            payloads: match args.payloads {
                PayloadArg::Exact => PayloadMatch::Exact,
                PayloadArg::Json => PayloadMatch::Json { relative_tolerance: json },
            },
            metric_relative_tolerance: metric,
            ignore_nodes: args.ignore_node.iter().cloned().collect(),
            ignore_topics: args.ignore_topic.iter().cloned().collect(),
            ..EquivOptions::default()
        },
        (Err(e), _) | (_, Err(e)) => return user_error(e),
    };
    let (a, b) = match (Simulation::from_file(&args.a), Simulation::from_file(&args.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return user_error(e.to_string()),
    };
    let seed = args.seed.unwrap_or_else(|| a.current_seed());
    let stem = |p: &PathBuf| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("equiv-{}-{}-seed{seed}", stem(&args.a), stem(&args.b))));
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let sandbox = |s: SandboxArg| match s {
        SandboxArg::PerNode => SandboxMode::PerNode,
        SandboxArg::Shared => SandboxMode::Shared { nodes_per_instance: 1_000 },
    };
    let mut reports = Vec::new();
    for (side, sim, mode, file) in [("a", a, args.sandbox_a, &args.a), ("b", b, args.sandbox_b, &args.b)] {
        println!("running {side}: {} with seed {seed}", file.display());
        let sim = sim
            .seed(seed)
            .out_dir(out.join(side))
            .trace(TraceLevel::Messages)
            .sandbox(sandbox(mode))
            .record_deliveries(true)
            .docker_host(super::docker_host())
            .interrupt_flag(interrupted.clone());
        match sim.run() {
            Ok(report) if report.status == RunStatus::Finished => reports.push(report),
            Ok(report) => {
                let why = report.reason.unwrap_or_default();
                return user_error(format!("{side} ({}) did not finish: {why}", file.display()));
            }
            Err(e) => return user_error(format!("{side} ({}): {e}", file.display())),
        }
    }
    let differences = compare(&canonical(&reports[0]), &canonical(&reports[1]), &options);
    let deliveries = reports[0].deliveries.len();
    if differences.is_empty() {
        println!(
            "equivalent: {deliveries} deliveries, every node's metrics and the drops agree (outputs in {})",
            out.display()
        );
        return ExitCode::SUCCESS;
    }
    println!("NOT equivalent; first differences (A expected, B found):");
    for d in &differences {
        println!("  {d}");
    }
    println!("outputs in {}", out.display());
    ExitCode::FAILURE
}
