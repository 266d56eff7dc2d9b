//! `xedgesim run FILE`: runs a scenario and writes its outputs.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use crate::run::{LiveLog, Progress, RunError, RunStatus, SandboxMode, Simulation, TraceLevel};
use crate::runtime::LogLevel;
use crate::text::shell::quote as shell_quote;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Seed for every random stream (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Virtual seconds to run (default: the scenario's).
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    duration_s: Option<f64>,
    /// Set PATH to VALUE before the file is read (repeatable), as a sweep's
    /// point does: NODE_ID.config.KEY, NODE_ID.FIELD, simulation.KEY, ...
    #[arg(long, value_name = "PATH=VALUE", value_parser = crate::sweep::spec::parse_set_one)]
    set: Vec<crate::scenario::Override>,
    /// Output folder (default: runs/<scenario>-seed<seed>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// How much goes into trace.jsonl.
    #[arg(long, value_enum, default_value_t = TraceArg::Messages)]
    trace: TraceArg,
    #[arg(long, value_name = "PACKING", value_parser = super::sandbox::parse, default_value = "per-node", help = super::sandbox::HELP)]
    sandbox: SandboxMode,
    /// Threads that step the sandboxes due at one instant (default: every
    /// core). Results are the same bytes with any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Do not write report.html (series.json, which it is drawn from, is
    /// written anyway; `xedgesim report DIR` draws it later).
    #[arg(long)]
    no_report: bool,
    /// Print the lines models log at LEVEL or above on stderr as the run
    /// makes them, with their virtual time and node (trace, debug, info,
    /// warn, error). trace.jsonl keeps them with `--trace all`.
    #[arg(long, value_name = "LEVEL", value_enum)]
    log: Option<LogArg>,
    /// Run without the scenario's `faults:` section, to compare with the
    /// faulty run (`xedgesim equiv FILE --fault-free-b` does both).
    #[arg(long)]
    fault_free: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Build the model folders the scenario names first. Building runs
    /// code from them (cargo runs a crate's build.rs and proc macros; a
    /// JavaScript folder brings its own componentize-qjs): use it for
    /// folders you trust. Without it, the component an earlier build made
    /// from the same sources is used, and a folder without one stops the run.
    #[arg(long)]
    build: bool,
    /// Pull nothing: a Docker node whose image (or a base image its
    /// Dockerfile names) is not in the engine faults instead.
    #[arg(long)]
    offline: bool,
    #[command(flatten)]
    allow: super::allow::AllowArgs,
    #[command(flatten)]
    record: super::record::RecordArgs,
    /// Refuse to run a scenario that has warnings (a config key the model
    /// does not take, a build context found above the scenario's folder, …).
    #[arg(long)]
    strict: bool,
}

/// A `--trace` level: the engine's [`TraceLevel`], as the command line names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum TraceArg {
    /// No trace file.
    Off,
    /// Sends, deliveries, drops and faults (the default).
    Messages,
    /// Also wake-ups, log lines and payloads.
    All,
}

impl From<TraceArg> for TraceLevel {
    fn from(level: TraceArg) -> Self {
        match level {
            TraceArg::Off => TraceLevel::Off,
            TraceArg::Messages => TraceLevel::Messages,
            TraceArg::All => TraceLevel::All,
        }
    }
}

/// A `--log` level.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogArg {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl From<LogArg> for LogLevel {
    fn from(level: LogArg) -> Self {
        match level {
            LogArg::Trace => LogLevel::Trace,
            LogArg::Debug => LogLevel::Debug,
            LogArg::Info => LogLevel::Info,
            LogArg::Warn => LogLevel::Warn,
            LogArg::Error => LogLevel::Error,
        }
    }
}

/// One live log line: `[  12.000100 s] filter  debug  text`, its text
/// with every control character escaped (a model's words never move the
/// terminal's cursor or start a line of their own).
fn print_log(line: LiveLog<'_>) {
    let level = match line.level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    let text = crate::text::escape_controls(line.text);
    eprintln!("[{:>12.6} s] {}  {level}  {}", line.time_us as f64 / 1e6, line.node, super::for_terminal(&text));
}

/// `--duration-s`, checked as the scenario file's `duration_s` is.
fn positive_seconds(s: &str) -> Result<f64, String> {
    let seconds = s.parse::<f64>().map_err(|_| format!("'{s}' is not a number of seconds"))?;
    crate::scenario::duration_us(seconds).map(|_| seconds).map_err(|e| e.to_string())
}

impl RunArgs {
    /// The command that reproduces this run, paths quoted for a shell.
    fn reproduce(&self, seed: u64) -> String {
        let mut cmd = format!("xedgesim run {} --seed {seed}", shell_quote(&self.file.display().to_string()));
        for o in &self.set {
            cmd.push_str(&format!(
                " --set {}",
                shell_quote(&format!("{}={}", o.path, crate::scenario::scalar_text(&o.value)))
            ));
        }
        if let Some(d) = self.duration_s {
            cmd.push_str(&format!(" --duration-s {d}"));
        }
        cmd.push_str(&super::sandbox::flag(self.sandbox));
        if self.fault_free {
            cmd.push_str(" --fault-free");
        }
        if let Some(out) = &self.out {
            cmd.push_str(&format!(" --out {}", shell_quote(&out.display().to_string())));
        }
        for word in &self.allow.allow {
            cmd.push_str(&format!(" --allow {}", shell_quote(word)));
        }
        if let Some(file) = &self.allow.allow_file {
            cmd.push_str(&format!(" --allow-file {}", shell_quote(&file.display().to_string())));
        }
        cmd.push_str(&self.record.reproduce());
        cmd
    }
}

pub fn run(args: &RunArgs) -> ExitCode {
    let mut sim = match Simulation::from_file_overridden(&args.file, &super::load_options(), &args.set) {
        Ok(sim) => sim,
        Err(e) => return report_error(&e, None),
    };
    if args.strict || !args.quiet {
        for warning in &sim.warnings().0 {
            eprintln!("{warning}\n");
        }
    }
    if args.strict && !sim.warnings().0.is_empty() {
        eprintln!("error: {} has warnings and --strict is given; nothing was run", args.file.display());
        return ExitCode::from(super::EXIT_USER_ERROR);
    }
    let mut allowance = match args.allow.allowance_for(&sim.scenario().source) {
        Ok(allowance) => allowance,
        Err(code) => return code,
    };
    if args.build {
        allowance.allow_builds();
    }
    let asked = super::record::asked(sim.scenario(), sim.capabilities(), &args.record.replayed_nodes());
    if !super::allow::permitted(&asked, &allowance, super::allow::Acting::Running) {
        return ExitCode::from(super::EXIT_USER_ERROR);
    }
    sim = match args.record.apply(sim) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: {}", super::for_terminal(&e));
            return ExitCode::from(super::EXIT_USER_ERROR);
        }
    };
    sim = sim.build_models(allowance.builds());
    if let Some(seed) = args.seed {
        sim = sim.seed(seed);
    }
    if let Some(d) = args.duration_s {
        sim = match sim.duration_s(d) {
            Ok(sim) => sim,
            Err(e) => return report_error(&e, None),
        };
    }
    if let Some(out) = &args.out {
        sim = sim.out_dir(out);
    }
    let seed = sim.current_seed();
    let out_dir = sim.output_dir();
    let threads = args
        .threads
        .map_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get), usize::from);
    sim = sim
        .trace(args.trace.into())
        .sandbox(args.sandbox)
        .threads(threads)
        .report_page(!args.no_report)
        .fault_free(args.fault_free);

    sim = sim
        .interrupt_flag(super::signals::install())
        .cache_dir(super::env::cache_dir())
        .cargo(super::env::cargo())
        .docker_host(super::docker_host())
        .offline(args.offline)
        .run_label(super::run_label());
    if !args.quiet {
        sim = sim.on_build_output(|line| eprintln!("  build | {}", super::for_terminal(line)));
    }

    if let Some(level) = args.log {
        sim = sim.on_log(level.into(), print_log);
    }
    // Drawn on stderr, so shown when stderr is a terminal (stdout may be
    // piped), and not between live log lines.
    let show_progress = !args.quiet && args.log.is_none() && std::io::stderr().is_terminal();
    if show_progress {
        sim = sim.on_progress(progress_bar());
    }
    if !args.quiet {
        println!("running {} with seed {seed} → {}", args.file.display(), out_dir.display());
    }
    let result = sim.run();
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    match result {
        Err(e @ RunError::Recording(_)) => {
            let code = report_error(&e, None);
            eprintln!("the run's other outputs are in {}", out_dir.display());
            code
        }
        Err(e) => report_error(&e, Some(args.reproduce(seed))),
        Ok(summary) => {
            if !args.quiet {
                println!("{summary}");
                super::record::print(&summary, &out_dir);
                println!("outputs       {}", out_dir.display());
                if !args.no_report {
                    println!("report        {}", out_dir.join("report.html").display());
                }
            }
            match summary.status {
                RunStatus::Finished => ExitCode::SUCCESS,
                RunStatus::Interrupted => {
                    eprintln!(
                        "interrupted at t = {:.6} s; outputs so far are in {}",
                        summary.virtual_time_reached_s,
                        out_dir.display()
                    );
                    if args.record.records() {
                        eprintln!(
                            "no recording was written: one of an interrupted run would end where it stopped, and its replay diverge there; record a run that finishes"
                        );
                    }
                    ExitCode::from(super::signals::exit_code())
                }
                RunStatus::Failed => {
                    eprintln!("error: {}", super::for_terminal(summary.reason.as_deref().unwrap_or("the run failed")));
                    eprintln!("reproduce with: {}", args.reproduce(seed));
                    ExitCode::from(super::EXIT_USER_ERROR)
                }
            }
        }
    }
}

/// Prints `e`, and the command that reproduces it when rerunning can show
/// it again (not for a bad file or setting, or a full disk).
fn report_error(e: &RunError, reproduce: Option<String>) -> ExitCode {
    eprintln!("{}", super::for_terminal(&e.to_string()));
    if e.is_interrupt() {
        return ExitCode::from(super::signals::exit_code());
    }
    if let Some(cmd) = reproduce.filter(|_| e.came_from_the_run()) {
        eprintln!("reproduce with: {cmd}");
    }
    ExitCode::from(if e.is_user_error() { super::EXIT_USER_ERROR } else { 1 })
}

/// A one-line progress display on stderr, from one second into the run.
/// Its rate counts from the run's first instant: building and compiling
/// before it are not the run's.
fn progress_bar() -> impl FnMut(Progress) + 'static {
    let mut first: Option<Instant> = None;
    let mut last_draw = Instant::now();
    move |p: Progress| {
        let now = Instant::now();
        let started = *first.get_or_insert(now);
        if now - started < Duration::from_secs(1) || now - last_draw < Duration::from_millis(100) {
            return;
        }
        last_draw = now;
        let fraction = if p.duration_us == 0 { 1.0 } else { p.now_us as f64 / p.duration_us as f64 };
        let width = 30;
        let filled = ((fraction * width as f64) as usize).min(width);
        let rate = p.events as f64 / (now - started).as_secs_f64();
        eprint!(
            "\r\x1b[2K[{}{}] {:5.1} %  t = {:.1}/{:.1} s  {:.0} events/s",
            "#".repeat(filled),
            " ".repeat(width - filled),
            fraction * 100.0,
            p.now_us as f64 / 1e6,
            p.duration_us as f64 / 1e6,
            rate
        );
        let _ = std::io::stderr().flush();
    }
}
