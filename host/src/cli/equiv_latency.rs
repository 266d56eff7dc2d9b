//! `equiv`'s end-to-end latency, side by side, and `--expect-differ`: the
//! flags, their checks against both scenarios, the printed table (see
//! [`crate::equiv::latency`]) and the exit code of a comparison that
//! expects the two sides to differ (a placement study).

use std::process::ExitCode;

use clap::Args;

use crate::equiv::latency::{LatencyComparison, LatencyFigures, SideLatency, Spread, default_sinks, side_latency};
use crate::equiv::{CanonicalRun, EquivOptions, Verdict};
use crate::run::Simulation;
use crate::scenario::{EquivalenceRules, NodeKind};

#[derive(Debug, Args)]
pub struct LatencyArgs {
    /// Count the deliveries at the sinks whose end-to-end latency exceeds
    /// this many milliseconds (default: the file's `deadline_ms`, else none).
    #[arg(long, value_name = "MS")]
    deadline_ms: Option<f64>,
    /// Show end-to-end latency at this node (repeatable; default: the
    /// file's `latency_at`, else each side's cloud nodes, else the nodes
    /// that receive and send nothing).
    #[arg(long, value_name = "NODE")]
    latency_at: Vec<String>,
    /// The two sides are expected to differ: exit 0 when they do, 1 when
    /// they are equivalent (with --trials: Welch's test, `--test difference`).
    #[arg(long)]
    pub expect_differ: bool,
}

/// What the latency table needs, checked before anything runs.
pub struct LatencySpec {
    deadline_ms: Option<f64>,
    /// Named sinks (flags, else the file's); empty: each side's default.
    named: Vec<String>,
    clouds: [Vec<String>; 2],
}

/// The flags over side A's `equivalence:` section, checked against both sides.
pub fn spec(
    args: &LatencyArgs,
    rules: Option<&EquivalenceRules>,
    a: &Simulation,
    b: &Simulation,
) -> Result<LatencySpec, String> {
    let deadline_ms = match args.deadline_ms {
        Some(ms) if !(ms.is_finite() && ms > 0.0) => {
            return Err(format!(
                "--deadline-ms must be a number of milliseconds > 0; found {ms}\n  = help: e.g. --deadline-ms 50"
            ));
        }
        Some(ms) => Some(ms),
        None => rules.and_then(|r| r.deadline_ms),
    };
    let sims = [a, b];
    let ids = || sims.iter().flat_map(|s| s.scenario().nodes.iter().map(|n| n.id.as_str()));
    for wanted in &args.latency_at {
        if !ids().any(|id| id == wanted) {
            let known: Vec<&str> = ids().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            return Err(format!(
                "--latency-at '{wanted}': no node '{wanted}' on either side\n  = help: {}",
                crate::scenario::did_you_mean(wanted, &known)
            ));
        }
    }
    let mut named = if args.latency_at.is_empty() {
        rules.map(|r| r.latency_at.clone()).unwrap_or_default()
    } else {
        args.latency_at.clone()
    };
    // A sink named twice is one sink: its deliveries count once.
    let mut seen = std::collections::BTreeSet::new();
    named.retain(|sink| seen.insert(sink.clone()));
    let clouds =
        sims.map(|s| s.scenario().nodes.iter().filter(|n| n.kind == NodeKind::Cloud).map(|n| n.id.clone()).collect());
    Ok(LatencySpec { deadline_ms, named, clouds })
}

impl LatencySpec {
    /// Both sides' figures over their runs (`runs[side][trial]`).
    pub fn compare(&self, runs: &[Vec<CanonicalRun>], options: &EquivOptions) -> LatencyComparison {
        let side = |i: usize| -> SideLatency {
            let sinks = match (self.named.is_empty(), runs[i].first()) {
                (false, _) => self.named.clone(),
                (true, Some(first)) => default_sinks(first, &self.clouds[i]),
                (true, None) => Vec::new(),
            };
            side_latency(&runs[i], sinks, options, self.deadline_ms)
        };
        LatencyComparison { deadline_ms: self.deadline_ms, a: side(0), b: side(1) }
    }
}

/// Exact µs as ms with three decimals: the same text run to run.
fn ms(us: u64) -> String {
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

fn spread_ms(s: &Spread) -> String {
    format!("{:.3} ms [{:.3}, {:.3}]", s.mean / 1000.0, s.min / 1000.0, s.max / 1000.0)
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn row(name: &str, side: &SideLatency, deadline: bool) -> String {
    let sinks = if side.sinks.is_empty() { "(none)".to_string() } else { side.sinks.join(",") };
    let Some(f): Option<&LatencyFigures> = side.pooled.as_ref() else {
        return format!("  {name:<4} {sinks:<12} {:>10}  nothing received", 0);
    };
    let misses = match (&f.misses, deadline) {
        (Some(m), true) => format!("  {:>8} ({} of {})", percent(m.share), m.count, f.deliveries),
        _ => String::new(),
    };
    format!(
        "  {name:<4} {sinks:<12} {:>10} {:>12} {:>12} {:>12} {:>12}{misses}",
        f.deliveries,
        ms(f.p50_us),
        ms(f.p95_us),
        ms(f.p99_us),
        ms(f.max_us)
    )
}

/// The table `equiv` prints after its verdict.
pub fn print(latency: &LatencyComparison, trials: u64) {
    let pooled = if trials > 1 { format!(", pooled over {trials} trials") } else { String::new() };
    println!(
        "end-to-end latency at the sinks (arrival minus the payload's t_us, else timestamp_us, else the send time; \
         exact, nearest rank{pooled}):"
    );
    let deadline = latency.deadline_ms.map(|d| format!("  over {d} ms")).unwrap_or_default();
    println!(
        "  {:<4} {:<12} {:>10} {:>12} {:>12} {:>12} {:>12}{deadline}",
        "side", "sinks", "deliveries", "p50", "p95", "p99", "max"
    );
    let sides = [("A", &latency.a), ("B", &latency.b)];
    for (name, side) in sides {
        println!("{}", super::for_terminal(&row(name, side, latency.deadline_ms.is_some())));
    }
    for (name, side) in sides {
        if side.origin_after_arrival > 0 {
            println!(
                "  {name}: {} deliveries left out: their payload's time is after their arrival, so not the simulation's clock (a container's wall clock?)",
                side.origin_after_arrival
            );
        }
        if let Some(p) = &side.per_trial {
            let misses = p.miss_share.map_or(String::new(), |s| {
                format!("; over the deadline {} [{}, {}]", percent(s.mean), percent(s.min), percent(s.max))
            });
            println!(
                "  {name} per trial (mean [min, max] over {} trials): p50 {}; p95 {}; p99 {}{misses}",
                p.trials,
                spread_ms(&p.p50_us),
                spread_ms(&p.p95_us),
                spread_ms(&p.p99_us)
            );
        }
    }
}

/// The exit code of `verdict`; with `--expect-differ` a difference is
/// success and equivalence the failure, said on a line of its own.
pub fn exit_code(verdict: Verdict, expect_differ: bool) -> ExitCode {
    let differ = match verdict {
        Verdict::Undecided => return ExitCode::from(super::equiv::EXIT_UNDECIDED),
        Verdict::NotEquivalent | Verdict::Differ => true,
        Verdict::Equivalent | Verdict::NoDifference => false,
    };
    match (expect_differ, differ) {
        (false, false) => ExitCode::SUCCESS,
        (false, true) => ExitCode::FAILURE,
        (true, true) => {
            println!("expected to differ: they differ (exit 0)");
            ExitCode::SUCCESS
        }
        (true, false) => {
            println!("expected to differ: they do NOT differ (exit 1)");
            ExitCode::FAILURE
        }
    }
}
