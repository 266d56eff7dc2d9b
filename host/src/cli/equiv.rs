//! `xedgesim equiv A.yaml B.yaml`: runs both scenarios with one seed and
//! says whether they behave the same (see [`crate::equiv`]). Exit 0 when
//! they do, 1 when they do not (the first differences are printed), 2 on
//! a usage or scenario error. With `--trials N`, each side runs N times
//! with derived seeds, in parallel up to the cores available, and every
//! metric is compared as a distribution.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, ValueEnum};

use crate::equiv::{CanonicalRun, EquivOptions, PayloadMatch, canonical, compare, compare_trials, inconsistent};
use crate::scenario::EquivalenceRules;
use crate::sim::{RunStatus, SandboxMode, Simulation, TraceLevel, write_atomic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PayloadArg {
    /// Byte for byte.
    Exact,
    /// As JSON, numbers within `--json-tolerance`.
    Json,
}

#[derive(Debug, Args)]
pub struct EquivArgs {
    /// The expected side.
    #[arg(value_name = "A")]
    a: PathBuf,
    /// The side compared with it (default: A again: with `--swap` or
    /// another `--sandbox-b`, or as it is, a determinism check).
    #[arg(value_name = "B")]
    b: Option<PathBuf>,
    /// Swap one node's implementation on side B: NODE=docker (the node's
    /// own `docker:` section), NODE=wasm (its type's built-in model) or
    /// NODE=wasm:FILE.
    #[arg(long, value_name = "NODE=TARGET")]
    swap: Option<String>,
    /// Seed for both runs (default: A's).
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder: `a/` and `b/` inside it (default: runs/equiv-<A>-<B>-seed<seed>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Compare which messages arrived, not when.
    #[arg(long)]
    ignore_timing: bool,
    /// Delivery times may differ by this many µs (default 0).
    #[arg(long, value_name = "US")]
    time_tolerance_us: Option<u64>,
    /// How payloads must match (default exact).
    #[arg(long, value_enum)]
    payloads: Option<PayloadArg>,
    /// With `--payloads json`: numbers may differ by this fraction (default 0).
    #[arg(long, value_name = "FRACTION")]
    json_tolerance: Option<f64>,
    /// Metrics may differ by this fraction of the larger value (default 0).
    #[arg(long, value_name = "FRACTION")]
    metric_tolerance: Option<f64>,
    /// Leave this node out (repeatable).
    #[arg(long, value_name = "NODE")]
    ignore_node: Vec<String>,
    /// Leave messages on this topic out (repeatable).
    #[arg(long, value_name = "TOPIC")]
    ignore_topic: Vec<String>,
    /// How A's WASM nodes are packed: per-node, shared or shared:N.
    #[arg(long, value_name = "PACKING", value_parser = super::sandbox::parse, default_value = "per-node")]
    sandbox_a: SandboxMode,
    /// How B's WASM nodes are packed: per-node, shared or shared:N.
    #[arg(long, value_name = "PACKING", value_parser = super::sandbox::parse, default_value = "per-node")]
    sandbox_b: SandboxMode,
    /// Run side B without its scenario's `faults:` section: `equiv A.yaml
    /// --fault-free-b` compares a faulty run with the healthy one.
    #[arg(long)]
    fault_free_b: bool,
    /// Run each side this many times with derived seeds and compare the
    /// metrics' distributions (mean and 95% interval per side).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    trials: u32,
    /// Also write the result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Build the model folders both sides name first (once, before the
    /// trials). Building runs code from them: use it for folders you
    /// trust. Without it, an earlier build of the same sources is used.
    #[arg(long)]
    build: bool,
    #[command(flatten)]
    allow: super::allow::AllowArgs,
}

/// One run of one side.
struct Side<'a> {
    name: &'static str,
    file: &'a PathBuf,
    swap: Option<&'a str>,
    sandbox: SandboxMode,
    fault_free: bool,
}

impl Side<'_> {
    /// The side's simulation, its swap made.
    fn simulation(&self) -> Result<Simulation, String> {
        let Some(spec) = self.swap else {
            return Simulation::from_file(self.file).map(|s| s.fault_free(self.fault_free)).map_err(|e| e.to_string());
        };
        let mut resolved = crate::scenario::load(self.file).map_err(|e| e.to_string())?.resolved;
        let cwd = std::env::current_dir().unwrap_or_default();
        crate::equiv::swap(&mut resolved, spec, &cwd).map_err(|e| e.to_string())?;
        Ok(Simulation::new(resolved).fault_free(self.fault_free))
    }
}

fn fraction(value: f64, flag: &str) -> Result<f64, String> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!("{flag} must be a number >= 0; found {value}"))
    }
}

/// What counts: side A's `equivalence:` section, overridden by the flags given.
fn options(args: &EquivArgs, rules: Option<&EquivalenceRules>) -> Result<EquivOptions, String> {
    let defaults = EquivalenceRules {
        ignore_timing: false,
        time_tolerance_us: 0,
        json_tolerance: None,
        metric_tolerance: 0.0,
        ignore_nodes: Vec::new(),
        ignore_topics: Vec::new(),
    };
    let rules = rules.unwrap_or(&defaults);
    let json_tolerance = args.json_tolerance.map(|f| fraction(f, "--json-tolerance")).transpose()?;
    if json_tolerance.is_some() && args.payloads != Some(PayloadArg::Json) && rules.json_tolerance.is_none() {
        return Err("--json-tolerance needs --payloads json: byte-for-byte payloads have no tolerance".into());
    }
    let payloads = match (args.payloads, rules.json_tolerance) {
        (Some(PayloadArg::Exact), _) | (None, None) => PayloadMatch::Exact,
        (Some(PayloadArg::Json), file) | (None, file @ Some(_)) => {
            PayloadMatch::Json { relative_tolerance: json_tolerance.or(file).unwrap_or(0.0) }
        }
    };
    Ok(EquivOptions {
        ignore_timing: args.ignore_timing || rules.ignore_timing,
        time_tolerance_us: args.time_tolerance_us.unwrap_or(rules.time_tolerance_us),
        payloads,
        metric_relative_tolerance: match args.metric_tolerance {
            Some(f) => fraction(f, "--metric-tolerance")?,
            None => rules.metric_tolerance,
        },
        ignore_nodes: rules.ignore_nodes.iter().chain(&args.ignore_node).cloned().collect(),
        ignore_topics: rules.ignore_topics.iter().chain(&args.ignore_topic).cloned().collect(),
        ..EquivOptions::default()
    })
}

pub fn run(args: &EquivArgs) -> ExitCode {
    let user_error = |message: String| {
        eprintln!("error: {}", super::for_terminal(&message));
        ExitCode::from(super::EXIT_USER_ERROR)
    };
    let b_file = args.b.as_ref().unwrap_or(&args.a);
    let sides = [
        Side { name: "a", file: &args.a, swap: None, sandbox: args.sandbox_a, fault_free: false },
        Side {
            name: "b",
            file: b_file,
            swap: args.swap.as_deref(),
            sandbox: args.sandbox_b,
            fault_free: args.fault_free_b,
        },
    ];
    // What either side asks of the host, refused without the user's yes.
    let mut allowance = match args.allow.allowance() {
        Ok(allowance) => allowance,
        Err(e) => return user_error(e),
    };
    if args.build {
        allowance.allow_builds();
    }
    for side in &sides {
        let loaded = match crate::scenario::load(side.file) {
            Ok(loaded) => loaded,
            Err(e) => return user_error(e.to_string()),
        };
        if let Err(e) = args.allow.check_file_is_yours(&loaded.resolved.source) {
            return user_error(e);
        }
        let acting =
            if side.swap.is_some() { super::allow::Acting::RunningSwapped } else { super::allow::Acting::Running };
        if !super::allow::permitted(&loaded.capabilities, &allowance, acting) {
            return ExitCode::from(super::EXIT_USER_ERROR);
        }
        // Built once here, not by each trial; either way, said.
        let mut resolved = loaded.resolved;
        let cache = crate::runtime::wasm::ArtifactCache::default_dir();
        let log = &mut |line: &str| eprintln!("  build | {}", super::for_terminal(line));
        let had = if allowance.builds() {
            crate::sim::build_model_folders(&mut resolved, cache.as_deref(), true, log)
        } else {
            crate::sim::use_kept_builds(&mut resolved, cache.as_deref(), log).map(|_| ())
        };
        if let Err(e) = had {
            return user_error(e.to_string());
        }
    }
    // Every problem with either side before anything runs.
    let (seed, options) = match (sides[0].simulation(), sides[1].simulation()) {
        (Ok(a), Ok(_)) => match options(args, a.scenario().equivalence.as_ref()) {
            Ok(options) => (args.seed.unwrap_or_else(|| a.current_seed()), options),
            Err(e) => return user_error(e),
        },
        (Err(e), _) | (_, Err(e)) => return user_error(e),
    };
    let stem = |p: &PathBuf| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut b_name = match &args.swap {
        Some(spec) => format!("{}-swap-{}", stem(b_file), spec.replace(['=', ':', '/'], "-")),
        None => stem(b_file),
    };
    if args.fault_free_b {
        b_name.push_str("-fault-free");
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("equiv-{}-{b_name}-seed{seed}", stem(&args.a))));
    // An earlier comparison's page must not pass for this one's if this one fails.
    let page_path = out.join("report.html");
    if let Err(e) = std::fs::remove_file(&page_path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return user_error(format!("cannot remove the earlier {}: {e}", page_path.display()));
    }
    let interrupted = super::signals::install();

    let trials = args.trials as u64;
    println!(
        "running {} and {}{} with seed {seed}{}",
        args.a.display(),
        b_file.display(),
        args.swap.as_deref().map(|s| format!(" (swapped: {s})")).unwrap_or_default(),
        if trials > 1 { format!(", {trials} trials each") } else { String::new() }
    );
    // Every (trial, side) run, in parallel up to the cores available.
    let jobs: Vec<(u64, usize)> = (0..trials).flat_map(|t| [(t, 0), (t, 1)]).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Result<CanonicalRun, String>>>> =
        std::sync::Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(trial, side)) = jobs.get(i) else { break };
                    let side = &sides[side];
                    let trial_seed = if trials == 1 { seed } else { crate::equiv::trial_seed(seed, trial) };
                    let dir = if trials == 1 { out.join(side.name) } else { out.join(format!("{}{trial}", side.name)) };
                    let result = run_side(side, trial_seed, dir, &interrupted);
                    if trials > 1 {
                        println!(
                            "trial {}/{trials} {}: {}",
                            trial + 1,
                            side.name,
                            if result.is_ok() { "done" } else { "failed" }
                        );
                    }
                    results.lock().expect("results lock")[i] = Some(result);
                }
            });
        }
    });
    let mut runs: [Vec<CanonicalRun>; 2] = [Vec::new(), Vec::new()];
    for ((_, side), result) in jobs.iter().zip(results.into_inner().expect("results lock")) {
        match result.expect("every job ran") {
            Ok(run) => runs[*side].push(run),
            Err(e) => return user_error(e),
        }
    }
    let (equivalent, json) = if trials == 1 {
        let differences = compare(&runs[0][0], &runs[1][0], &options);
        let deliveries: usize = runs[0][0].deliveries.values().map(Vec::len).sum();
        if differences.is_empty() {
            println!(
                "equivalent: {deliveries} deliveries, every node's metrics and the drops agree (outputs in {})",
                out.display()
            );
        } else {
            println!("NOT equivalent; first differences (A expected, B found):");
            for d in &differences {
                println!("  {}", super::for_terminal(&d.to_string()));
            }
            println!("outputs in {}", out.display());
        }
        let json = serde_json::json!({
            "equivalent": differences.is_empty(), "seed": seed, "a": args.a, "b": b_file, "swap": args.swap,
            "options": options, "differences": differences,
        });
        (differences.is_empty(), json)
    } else {
        let metrics = compare_trials(&runs[0], &runs[1], options.metric_relative_tolerance);
        let off = inconsistent(&metrics);
        println!("{:<14} {:<28} {:>24} {:>24}  verdict", "node", "metric", "A mean ± 95%", "B mean ± 95%");
        for m in metrics.iter().filter(|m| !options.ignore_nodes.contains(&m.node)) {
            let show = |i: &crate::equiv::Interval| format!("{:.4} ± {:.4}", i.mean, i.half_width);
            let verdict = if m.consistent { "consistent" } else { "DIFFERS" };
            let metric = super::for_terminal(&m.metric);
            println!("{:<14} {metric:<28} {:>24} {:>24}  {verdict}", m.node, show(&m.a), show(&m.b));
        }
        let equivalent = off.iter().all(|(node, _)| options.ignore_nodes.contains(*node));
        println!(
            "{} over {trials} trials per side (seeds derived from {seed}; outputs in {})",
            if equivalent { "equivalent" } else { "NOT equivalent" },
            out.display()
        );
        let json = serde_json::json!({
            "equivalent": equivalent, "seed": seed, "trials": trials, "a": args.a, "b": b_file, "swap": args.swap,
            "options": options, "metrics": metrics,
        });
        (equivalent, json)
    };
    // The comparison's page, next to the sides' folders.
    let dirs: Vec<(usize, PathBuf)> = jobs
        .iter()
        .map(|&(trial, side)| {
            let name = sides[side].name;
            (side, if trials == 1 { out.join(name) } else { out.join(format!("{name}{trial}")) })
        })
        .collect();
    let mut series: [Vec<crate::sim::Series>; 2] = [Vec::new(), Vec::new()];
    let mut unreadable = None;
    for (side, dir) in &dirs {
        match crate::report::read_series(dir) {
            Ok(s) => series[*side].push(s),
            Err(e) => unreadable = Some(e.to_string()),
        }
    }
    match unreadable {
        Some(why) => eprintln!("warning: no comparison page: {}", super::for_terminal(&why)),
        None => {
            match write_atomic(&page_path, crate::report::comparison_page(&json, &series[0], &series[1]).as_bytes()) {
                Ok(()) => println!("report        {}", page_path.display()),
                Err(e) => eprintln!("warning: cannot write {}: {e}", page_path.display()),
            }
        }
    }
    if let Some(path) = &args.json {
        let mut text = serde_json::to_string_pretty(&json).expect("results serialise");
        text.push('\n');
        if let Err(e) = write_atomic(path, text.as_bytes()) {
            // Not "not equivalent" (1): the comparison's result is lost.
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(super::EXIT_USER_ERROR);
        }
    }
    if equivalent { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Runs one side with `seed`, outputs in `dir`, deliveries recorded.
fn run_side(side: &Side<'_>, seed: u64, dir: PathBuf, interrupt: &Arc<AtomicBool>) -> Result<CanonicalRun, String> {
    let report = side
        .simulation()?
        .seed(seed)
        .out_dir(dir)
        .trace(TraceLevel::Messages)
        .sandbox(side.sandbox)
        .record_deliveries(true)
        .docker_host(super::docker_host())
        .interrupt_flag(interrupt.clone())
        .run()
        .map_err(|e| format!("{} ({}): {e}", side.name, side.file.display()))?;
    if report.status != RunStatus::Finished {
        let why = report.reason.unwrap_or_default();
        return Err(format!("{} ({}) with seed {seed} did not finish: {why}", side.name, side.file.display()));
    }
    Ok(canonical(&report))
}
