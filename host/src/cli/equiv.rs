//! `xedgesim equiv A.yaml B.yaml`: runs both scenarios with one seed and
//! says whether they behave the same (see [`crate::equiv`]). Exit 0 when
//! they do, 1 when they do not (the first differences are printed), 2 on
//! a usage or scenario error. With `--trials N`, each side runs N times
//! with derived seeds, in parallel up to the cores available (the library
//! runs them: [`crate::equiv::run_sides`]), and every
//! metric is compared as a distribution: equivalent within its margin by
//! two one-sided tests (exit 0), not shown equivalent (1), or too few
//! trials to decide ([`EXIT_UNDECIDED`]); or, with `--test difference`,
//! whether they differ (1) by Welch's test. Payloads compare byte for
//! byte, or as JSON with numbers within `--json-tolerance` and
//! `--payload-tolerance` (per field); with trials, pair by pair. After the
//! verdict, both sides' end-to-end latency at the sinks; `--expect-differ`
//! swaps exit 0 and 1 ([`super::equiv_latency`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::atomic_file::write_atomic;
use crate::equiv::{
    EquivOptions, PayloadMatch, Runs, Side, StatedMargin, TrialRules, TrialTest, Verdict, compare, compare_trials,
    run_dir, run_order, run_sides,
};
use crate::run::{SandboxMode, Simulation};
use crate::scenario::{EquivalenceRules, MIN_TRIALS_FLOOR, Margin, PayloadTolerance};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PayloadArg {
    /// Byte for byte.
    Exact,
    /// As JSON, numbers within `--json-tolerance`.
    Json,
}

/// Exit code of `--trials` when a side has too few trials (or finite
/// values of a metric) to decide.
pub const EXIT_UNDECIDED: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TestArg {
    /// Equivalent within the margins: two one-sided tests (TOST).
    Equivalence,
    /// Do they differ: Welch's two-sided test, Holm-adjusted over the metrics.
    Difference,
}

#[derive(Debug, Args)]
pub struct EquivArgs {
    /// The expected side: a scenario file, or a recorded run (a run folder
    /// of `run --record`, or its recording.xrec), replayed with its own
    /// scenario, seed and options.
    #[arg(value_name = "A")]
    a: PathBuf,
    /// The side compared with it, a scenario file or a recorded run
    /// (default: A again: with `--swap` or another `--sandbox-b`, or as it
    /// is, a determinism check).
    #[arg(value_name = "B")]
    b: Option<PathBuf>,
    /// Swap one node's implementation on side B: NODE=docker (the node's
    /// own `docker:` section), NODE=wasm (its type's built-in model) or
    /// NODE=wasm:FILE.
    #[arg(long, value_name = "NODE=TARGET")]
    swap: Option<String>,
    /// Seed for both runs (default: a recorded side's, else A's).
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
    /// Numbers of this JSON payload field (keys joined by '.') may differ
    /// by ABS, or by the fraction REL of the larger; payloads then compare
    /// as JSON (repeatable).
    #[arg(long, value_name = "FIELD=ABS[,REL]")]
    payload_tolerance: Vec<String>,
    /// Metrics may differ by this fraction of the larger value (default 0).
    #[arg(long, value_name = "FRACTION")]
    metric_tolerance: Option<f64>,
    /// Leave this node out (repeatable).
    #[arg(long, value_name = "NODE")]
    ignore_node: Vec<String>,
    /// Leave messages on this topic out (repeatable).
    #[arg(long, value_name = "TOPIC")]
    ignore_topic: Vec<String>,
    /// How A's WASM nodes are packed: per-node (the default, or a recorded
    /// B's packing), shared or shared:N; a recorded run keeps its own.
    #[arg(long, value_name = "PACKING", value_parser = super::sandbox::parse)]
    sandbox_a: Option<SandboxMode>,
    /// How B's WASM nodes are packed: per-node (the default, or a recorded
    /// A's packing), shared or shared:N; a recorded run keeps its own.
    #[arg(long, value_name = "PACKING", value_parser = super::sandbox::parse)]
    sandbox_b: Option<SandboxMode>,
    /// Run side B without its scenario's `faults:` section: `equiv A.yaml
    /// --fault-free-b` compares a faulty run with the healthy one.
    #[arg(long)]
    fault_free_b: bool,
    /// Run each side this many times with derived seeds and compare the
    /// metrics' distributions (at least 5 to decide; see --test).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    trials: u32,
    /// With --trials: equivalence (each metric within its margin by two
    /// one-sided tests; the default) or difference (Welch's test).
    #[arg(long, value_enum)]
    test: Option<TestArg>,
    /// With --trials: METRIC=MARGIN or NODE/METRIC=MARGIN; B's mean may be
    /// MARGIN from A's: a number in the metric's unit, or a percentage of
    /// A's mean such as 5% (repeatable).
    #[arg(long, value_name = "METRIC=MARGIN", allow_hyphen_values = true)]
    margin: Vec<String>,
    /// With --trials: the margin of every metric no --margin names.
    #[arg(long, value_name = "MARGIN", allow_hyphen_values = true)]
    margin_default: Option<String>,
    /// With --trials: the fewest trials per side to decide on (default and least: 5).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(MIN_TRIALS_FLOOR as i64..=1000))]
    min_trials: Option<u32>,
    /// With --trials: each test's level (default 0.05; TOST's interval is then 90%).
    #[arg(long, value_name = "ALPHA")]
    alpha: Option<f64>,
    /// Also write the result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Build the model folders both sides name first (once, before the
    /// trials). Building runs code from them: use it for folders you
    /// trust. Without it, an earlier build of the same sources is used.
    #[arg(long)]
    build: bool,
    /// Pull nothing: a Docker node whose image (or a base image its
    /// Dockerfile names) is not in the engine faults instead.
    #[arg(long)]
    offline: bool,
    #[command(flatten)]
    allow: super::allow::AllowArgs,
    #[command(flatten)]
    latency: super::equiv_latency::LatencyArgs,
    // `--replay` applies to both sides (docs/running.md, "Record and replay").
    #[command(flatten)]
    replay: super::record::ReplayArgs,
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
        payload_tolerance: Default::default(),
        metric_tolerance: 0.0,
        ignore_nodes: Vec::new(),
        ignore_topics: Vec::new(),
        margins: Default::default(),
        margin_default: None,
        min_trials: None,
        deadline_ms: None,
        latency_at: Vec::new(),
    };
    let rules = rules.unwrap_or(&defaults);
    if args.time_tolerance_us.is_some() && (args.ignore_timing || rules.ignore_timing) {
        let why = if args.ignore_timing { "--ignore-timing" } else { "the file's `equivalence.ignore_timing: true`" };
        return Err(format!(
            "--time-tolerance-us with {why}: arrival times are not compared\n  = help: drop one of the two"
        ));
    }
    let json_tolerance = args.json_tolerance.map(|f| fraction(f, "--json-tolerance")).transpose()?;
    // The file's fields, each overridden by a flag naming it.
    let mut fields = rules.payload_tolerance.clone();
    for spec in &args.payload_tolerance {
        let (field, tolerance) = PayloadTolerance::parse_flag(spec).map_err(|e| {
            format!("--payload-tolerance '{spec}': {e}\n  = help: e.g. --payload-tolerance prediction=1e-6,1e-5")
        })?;
        fields.insert(field, tolerance);
    }
    if args.payloads == Some(PayloadArg::Exact) && !args.payload_tolerance.is_empty() {
        return Err("--payload-tolerance with --payloads exact: byte-for-byte payloads have no tolerance\n  = help: drop --payloads exact (a tolerance compares payloads as JSON)".into());
    }
    let json = args.payloads == Some(PayloadArg::Json) || !args.payload_tolerance.is_empty();
    if json_tolerance.is_some() && !json && rules.json_tolerance.is_none() {
        return Err("--json-tolerance needs --payloads json: byte-for-byte payloads have no tolerance".into());
    }
    let payloads = match (args.payloads, json || rules.json_tolerance.is_some()) {
        (Some(PayloadArg::Exact), _) | (None, false) => PayloadMatch::Exact,
        _ => PayloadMatch::Json { relative_tolerance: json_tolerance.or(rules.json_tolerance).unwrap_or(0.0), fields },
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

/// What trials test, from side A's `equivalence:` section and the flags
/// (flags win).
fn trial_rules(
    args: &EquivArgs,
    rules: Option<&EquivalenceRules>,
    options: &EquivOptions,
    a_file: &std::path::Path,
) -> Result<TrialRules, String> {
    let alpha = args.alpha.unwrap_or(0.05);
    if !(alpha > 0.0 && alpha < 0.5) {
        return Err(format!("--alpha must be between 0 and 0.5 (e.g. 0.05); found {alpha}"));
    }
    let in_file = format!("equivalence.margins in {}", a_file.display());
    let mut margins: std::collections::BTreeMap<String, StatedMargin> = rules
        .map(|r| &r.margins)
        .into_iter()
        .flatten()
        .map(|(k, m)| (k.clone(), StatedMargin { margin: *m, origin: format!("{in_file}: '{k}'") }))
        .collect();
    for spec in &args.margin {
        let help = "e.g. --margin latency_p50_us=500 or --margin gateway/windows_closed=5%";
        let Some((key, value)) = spec.split_once('=') else {
            return Err(format!("--margin '{spec}': expected METRIC=MARGIN\n  = help: {help}"));
        };
        if key.is_empty() {
            return Err(format!("--margin '{spec}': no metric named\n  = help: {help}"));
        }
        let margin = Margin::parse(value).map_err(|e| format!("--margin '{spec}': {e}"))?;
        margins.insert(key.to_string(), StatedMargin { margin, origin: format!("--margin '{spec}'") });
    }
    let margin_default =
        match &args.margin_default {
            Some(text) => Some(Margin::parse(text).map_err(|e| format!("--margin-default '{text}': {e}"))?),
            None => rules.and_then(|r| r.margin_default),
        }
        // The one-run tolerance of metrics, as a percentage of A's mean.
        .or((options.metric_relative_tolerance > 0.0)
            .then_some(Margin::Percent(options.metric_relative_tolerance * 100.0)));
    Ok(TrialRules {
        test: match (args.test, args.latency.expect_differ) {
            (Some(TestArg::Equivalence), true) => return Err("--expect-differ with --test equivalence: not shown equivalent is no evidence of a difference\n  = help: drop --test equivalence (--expect-differ with trials tests difference)".into()),
            (Some(TestArg::Difference), _) | (None, true) => TrialTest::Difference,
            (Some(TestArg::Equivalence) | None, false) => TrialTest::Equivalence,
        },
        alpha,
        min_trials: args.min_trials.or(rules.and_then(|r| r.min_trials)).unwrap_or(MIN_TRIALS_FLOOR) as usize,
        margins,
        margin_default,
        time_margin: (options.time_tolerance_us > 0).then_some(Margin::Absolute(options.time_tolerance_us as f64)),
        // Asked for by a flag or the file (whose `payloads: json` or
        // `payload_tolerance` leaves a JSON tolerance).
        compare_payloads: args.payloads.is_some()
            || args.json_tolerance.is_some()
            || !args.payload_tolerance.is_empty()
            || rules.is_some_and(|r| r.json_tolerance.is_some()),
    })
}

/// Each `--ignore-node` names a node of A or B: a typo would leave every
/// node in and, silently, the engine's counts and the drops out.
fn ignored_nodes_exist(
    args: &EquivArgs,
    a: &Simulation,
    b: &Simulation,
    b_file: &std::path::Path,
) -> Result<(), String> {
    let nodes = || a.scenario().nodes.iter().chain(&b.scenario().nodes).map(|n| n.id.as_str());
    for wanted in &args.ignore_node {
        if !nodes().any(|id| id == wanted) {
            let ids: Vec<&str> = nodes().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            return Err(format!(
                "--ignore-node '{wanted}': no node '{wanted}' in {} or {}\n  = help: {}",
                args.a.display(),
                b_file.display(),
                crate::scenario::did_you_mean(wanted, &ids)
            ));
        }
    }
    Ok(())
}

/// One run compared: the flags that only trials use are refused.
fn refuse_trial_flags(args: &EquivArgs) -> Result<(), String> {
    let given = [
        ("--test", args.test.is_some()),
        ("--margin", !args.margin.is_empty()),
        ("--margin-default", args.margin_default.is_some()),
        ("--min-trials", args.min_trials.is_some()),
        ("--alpha", args.alpha.is_some()),
    ];
    match given.iter().find(|(_, g)| *g) {
        Some((flag, _)) => Err(format!(
            "{flag} applies to --trials N: one run per side is compared exactly (or within the tolerances)\n  = help: add --trials {MIN_TRIALS_FLOOR} (or more), or drop {flag}"
        )),
        None => Ok(()),
    }
}

/// A note for each key of side A's `equivalence:` section that the
/// comparison asked for does not use (the section serves both kinds).
fn unused_keys(rules: Option<&EquivalenceRules>, trials: bool, a_file: &std::path::Path) {
    let Some(r) = rules else { return };
    if trials {
        return; // every key applies to trials
    }
    let unused = [
        ("margins", !r.margins.is_empty()),
        ("margin_default", r.margin_default.is_some()),
        ("min_trials", r.min_trials.is_some()),
    ];
    for (key, _) in unused.iter().filter(|(_, u)| *u) {
        eprintln!("note: equivalence.{key} in {} applies with --trials only; not used here", a_file.display());
    }
}

pub fn run(args: &EquivArgs) -> ExitCode {
    let user_error = |message: String| {
        eprintln!("error: {}", super::for_terminal(&message));
        ExitCode::from(super::EXIT_USER_ERROR)
    };
    let b_file = args.b.as_ref().unwrap_or(&args.a);
    let replay = match args.replay.read() {
        Ok(replay) => replay,
        Err(e) => return user_error(e),
    };
    let sides = match super::equiv_sides::sides(&super::equiv_sides::SideArgs {
        a: &args.a,
        b: b_file,
        swap: args.swap.as_ref(),
        seed: args.seed,
        trials: args.trials as u64,
        sandbox: [args.sandbox_a, args.sandbox_b],
        fault_free_b: args.fault_free_b,
        replay,
    }) {
        Ok(sides) => sides,
        Err(e) => return user_error(e),
    };
    // What either side asks of the host, refused without the user's yes.
    let mut allowance = match args.allow.allowance() {
        Ok(allowance) => allowance,
        Err(e) => return user_error(e),
    };
    if args.build {
        allowance.allow_builds();
    }
    let (cache, cargo) = (super::env::cache_dir(), super::env::cargo());
    for side in &sides {
        let loaded = match crate::scenario::load_with(&side.file, &super::load_options()) {
            Ok(loaded) => loaded,
            Err(e) => return user_error(e.to_string()),
        };
        if let Err(e) = args.allow.check_file_is_yours(&loaded.resolved.source) {
            return user_error(e);
        }
        let acting =
            if side.swap.is_some() { super::allow::Acting::RunningSwapped } else { super::allow::Acting::Running };
        let replayed = super::equiv_sides::replayed_nodes(side, args.replay.replayed_nodes());
        let asked = super::record::asked(&loaded.resolved, &loaded.capabilities, &replayed);
        if !super::allow::permitted(&asked, &allowance, acting) {
            return ExitCode::from(super::EXIT_USER_ERROR);
        }
        // Built once here, not by each trial; either way, said.
        let mut resolved = loaded.resolved;
        let log = &mut |line: &str| eprintln!("  build | {}", super::for_terminal(line));
        let had = if allowance.builds() {
            crate::run::build_model_folders(&mut resolved, cache.as_deref(), cargo.as_deref(), true, log)
        } else {
            crate::run::use_kept_builds(&mut resolved, cache.as_deref(), log).map(|_| ())
        };
        if let Err(e) = had {
            return user_error(e.to_string());
        }
    }
    // Every problem with either side, and with the options, before anything runs.
    let trials = args.trials as u64;
    let (seed, options, rules, latency) = match (sides[0].simulation(), sides[1].simulation()) {
        (Ok(a), Ok(b)) => {
            let file_rules = a.scenario().equivalence.as_ref();
            let checked = ignored_nodes_exist(args, &a, &b, b_file).and_then(|()| options(args, file_rules)).and_then(
                |options| {
                    let rules = if trials > 1 {
                        Some(trial_rules(args, file_rules, &options, &args.a)?)
                    } else {
                        refuse_trial_flags(args)?;
                        None
                    };
                    Ok((options, rules))
                },
            );
            match checked {
                Ok((options, rules)) => {
                    let latency = match super::equiv_latency::spec(&args.latency, file_rules, &a, &b) {
                        Ok(latency) => latency,
                        Err(e) => return user_error(e),
                    };
                    unused_keys(file_rules, trials > 1, &args.a);
                    if b_file != &args.a && b.scenario().equivalence.is_some() {
                        eprintln!(
                            "note: the equivalence section of {} (side B) is not used; side A's file ({}) says what counts",
                            b_file.display(),
                            args.a.display()
                        );
                    }
                    (super::equiv_sides::seed(args.seed, &sides, a.current_seed()), options, rules, latency)
                }
                Err(e) => return user_error(e),
            }
        }
        (Err(e), _) | (_, Err(e)) => return user_error(e.to_string()),
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
    if let Some(rules) = &rules
        && trials < rules.min_trials as u64
    {
        // Nothing runs: no verdict could come of it.
        println!(
            "not enough trials to decide: {trials} per side, at least {} needed (--min-trials; {MIN_TRIALS_FLOOR} is the least)",
            rules.min_trials
        );
        let json = serde_json::json!({
            "equivalent": false, "verdict": Verdict::Undecided, "seed": seed, "trials": trials,
            "a": args.a, "b": b_file, "swap": args.swap, "options": options, "rules": rules, "metrics": [],
        });
        return match write_json(args.json.as_ref(), &json) {
            Ok(()) => ExitCode::from(EXIT_UNDECIDED),
            Err(code) => code,
        };
    }
    let interrupt = super::signals::install();

    println!(
        "running {} and {}{} with seed {seed}{}{}",
        args.a.display(),
        b_file.display(),
        args.swap.as_deref().map(|s| format!(" (swapped: {s})")).unwrap_or_default(),
        super::equiv_sides::own_seeds(&sides, seed),
        if trials > 1 { format!(", {trials} trials each") } else { String::new() }
    );
    // Every (trial, side) run, in parallel up to the cores available.
    let runs = Runs {
        seed,
        trials,
        out: out.clone(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cache_dir: cache,
        docker_host: super::docker_host(),
        offline: args.offline,
        run_label: super::run_label(),
        interrupt,
    };
    let progress = |trial: u64, side: &Side, finished: bool| {
        if trials > 1 {
            println!("trial {}/{trials} {}: {}", trial + 1, side.name, if finished { "done" } else { "failed" });
        }
    };
    let runs = match run_sides(&sides, &runs, &progress) {
        Ok(runs) => runs,
        Err(e) => return user_error(e.to_string()),
    };
    let (verdict, mut json) = if trials == 1 {
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
        (if differences.is_empty() { Verdict::Equivalent } else { Verdict::NotEquivalent }, json)
    } else {
        let rules = rules.as_ref().expect("trials have rules");
        let outcome = match compare_trials(&runs[0], &runs[1], &options, rules) {
            Ok(outcome) => outcome,
            Err(e) => return user_error(e.to_string()),
        };
        super::trials_table::print_trials(&outcome.metrics, rules);
        let (mut summary, help) = super::trials_table::trials_summary(&outcome.metrics, outcome.verdict, rules);
        if let Some(payloads) = &outcome.payloads {
            super::trials_table::print_payloads(payloads);
            if payloads.differing > 0 {
                summary.push_str(&format!(
                    "; the messages of {} of {} trial pairs differ",
                    payloads.differing, payloads.pairs
                ));
            }
        }
        println!("{summary} (over {trials} trials per side, seeds derived from {seed}; outputs in {})", out.display());
        if let Some(help) = help {
            println!("  = help: {help}");
        }
        let json = serde_json::json!({
            "equivalent": outcome.verdict == Verdict::Equivalent, "verdict": outcome.verdict, "seed": seed,
            "trials": trials, "a": args.a, "b": b_file, "swap": args.swap, "options": options, "rules": rules,
            "metrics": outcome.metrics, "payloads": outcome.payloads,
        });
        (outcome.verdict, json)
    };
    let latency = latency.compare(&runs, &options);
    super::equiv_latency::print(&latency, trials);
    json["latency"] = serde_json::to_value(&latency).expect("figures serialise");
    json["expect_differ"] = args.latency.expect_differ.into();
    // The comparison's page, next to the sides' folders.
    let dirs: Vec<(usize, PathBuf)> = run_order(trials)
        .into_iter()
        .map(|(trial, side)| (side, run_dir(&out, sides[side].name, trial, trials)))
        .collect();
    let mut series: [Vec<crate::engine::Series>; 2] = [Vec::new(), Vec::new()];
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
    if let Err(code) = write_json(args.json.as_ref(), &json) {
        return code;
    }
    super::equiv_latency::exit_code(verdict, args.latency.expect_differ)
}

/// `--json FILE`, written whole or not at all.
fn write_json(path: Option<&PathBuf>, json: &serde_json::Value) -> Result<(), ExitCode> {
    let Some(path) = path else { return Ok(()) };
    let mut text = serde_json::to_string_pretty(json).expect("results serialise");
    text.push('\n');
    write_atomic(path, text.as_bytes()).map_err(|e| {
        // Not "not equivalent" (1): the comparison's result is lost.
        eprintln!("error: cannot write {}: {e}", path.display());
        ExitCode::from(super::EXIT_USER_ERROR)
    })
}
