//! `xedgesim sweep`: many runs of one scenario. `sweep FILE` plans and runs
//! them, `sweep point DIR --index I` runs one (what executors call),
//! `sweep collect DIR` gathers them into one table and page.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::{EXIT_USER_ERROR, sweep_collect, sweep_options};
use crate::sweep::layout::{PointFailure, SweepPlan, point_dir, read_failure};
use crate::sweep::spec::{SetArg, SweepRequest, parse_set};
use crate::sweep::{SweepError, kubernetes, local, plan, point, slurm};
use crate::text::shell::quote;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    #[command(flatten)]
    pub plan: PlanArgs,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Gather a sweep folder's points into one table (CSV, JSON) with means and 95% intervals, and a page of plots.
    Collect(sweep_collect::CollectArgs),
    /// Run one point of a sweep folder into points/NNNN (what the executors call: Slurm's tasks, Kubernetes' pods, local's children).
    Point(PointArgs),
}

/// `xedgesim sweep FILE [...]`: plan the sweep and run it.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The scenario file (its `sweep:` section says what to sweep).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Seeds to run each parameter point with, replacing the file's: `1..100` (inclusive), `1,2,5`, or one.
    #[arg(long, value_name = "SEEDS", value_parser = parse_seed_list)]
    seeds: Option<SeedList>,
    /// Sweep PATH over the values (repeatable): adds a parameter, or replaces the values of one the file sweeps. PATH: NODE_ID.config.KEY, NODE_ID.FIELD, simulation.KEY, ...
    #[arg(long, value_name = "PATH=V1,V2,...", value_parser = parse_set)]
    set: Vec<SetArg>,
    /// The sweep folder (default: sweeps/<file stem>). A folder holding the same plan is resumed.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Where the points run.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    on: Executor,
    /// Points at once: local's children (default: every core, capped by memory), Kubernetes' parallelism.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Write the plan (and the Slurm script or Kubernetes manifest) and run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Slurm: the partition (#SBATCH --partition).
    #[arg(long, value_name = "NAME", value_parser = sweep_options::sbatch_word)]
    slurm_partition: Option<String>,
    /// Slurm: each task's time limit (#SBATCH --time): MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.
    #[arg(long, value_name = "TIME", value_parser = sweep_options::slurm_time)]
    slurm_time: Option<String>,
    /// Slurm: each task's memory (#SBATCH --mem): a whole number with an optional K, M, G or T, e.g. 2G.
    #[arg(long, value_name = "MEM", value_parser = sweep_options::slurm_mem)]
    slurm_mem: Option<String>,
    /// Slurm: one more #SBATCH option, as sbatch takes it (repeatable), e.g. --slurm-arg=--account=proj.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true, value_parser = sweep_options::slurm_arg)]
    slurm_arg: Vec<String>,
    /// Slurm: wait until the job array is done (sbatch --wait); exit 1 if any point failed.
    #[arg(long)]
    wait: bool,
    /// Kubernetes: the image the pods run (xedgesim on its PATH and the scenario's files).
    #[arg(long, value_name = "IMAGE", value_parser = sweep_options::image_name)]
    image: Option<String>,
    /// Kubernetes: the PersistentVolumeClaim holding the sweep folder, mounted at /sweep.
    #[arg(long, value_name = "NAME", value_parser = sweep_options::claim_name)]
    pvc: Option<String>,
    /// Kubernetes: the scenario's absolute path inside the image (default: its path here).
    #[arg(long, value_name = "PATH", value_parser = sweep_options::absolute_path)]
    scenario_in_pod: Option<PathBuf>,
    #[command(flatten)]
    allow: super::allow::AllowArgs,
}

/// `--seeds`: one argument holding many seeds (clap would take a `Vec` for many arguments).
#[derive(Debug, Clone)]
struct SeedList(Vec<u64>);

fn parse_seed_list(text: &str) -> Result<SeedList, String> {
    crate::scenario::parse_seeds(text).map(SeedList)
}

/// Where a sweep's points run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Executor {
    /// Child processes on this machine.
    Local,
    /// A Slurm job array, submitted with sbatch.
    Slurm,
    /// A Kubernetes Indexed Job manifest, written (apply it with kubectl).
    Kubernetes,
}

/// `xedgesim sweep point DIR --index I`.
#[derive(Debug, Args)]
pub struct PointArgs {
    /// The sweep folder (holding sweep.json).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The point to run (0-based, as in points/NNNN).
    #[arg(long, value_name = "I")]
    index: usize,
    /// Where the scenario is, when not at the plan's path (inside a container); its SHA-256 must be the plan's.
    #[arg(long, value_name = "PATH")]
    scenario: Option<PathBuf>,
    /// Run the point again even if it finished.
    #[arg(long)]
    force: bool,
    /// Threads stepping the point's sandboxes (default 1: the executor runs points side by side).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    #[command(flatten)]
    allow: super::allow::AllowArgs,
}

pub fn run(args: &SweepArgs) -> ExitCode {
    match &args.command {
        Some(SweepCommand::Collect(args)) => sweep_collect::run(args),
        Some(SweepCommand::Point(point)) => run_point(point),
        None => run_plan(&args.plan),
    }
}

/// Prints `e` and returns its exit code.
fn fail(e: &SweepError) -> ExitCode {
    match e {
        // Diagnostics say `FILE:L:C: error: ...` themselves.
        SweepError::Scenario(_) => eprintln!("{}", super::for_terminal(&e.to_string())),
        _ => eprintln!("error: {}", super::for_terminal(&e.to_string())),
    }
    ExitCode::from(if e.is_user_error() { EXIT_USER_ERROR } else { 1 })
}

fn run_plan(args: &PlanArgs) -> ExitCode {
    let Some(file) = &args.file else {
        eprintln!(
            "error: say what to sweep: `xedgesim sweep FILE`, or `xedgesim sweep collect DIR` / `xedgesim sweep point DIR --index I` (see `xedgesim sweep --help`)"
        );
        return ExitCode::from(EXIT_USER_ERROR);
    };
    if let Err(e) = check_options(args) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USER_ERROR);
    }
    if let Err(e) = args.allow.allowance() {
        eprintln!("error: {}", super::for_terminal(&e));
        return ExitCode::from(EXIT_USER_ERROR);
    }
    let request = SweepRequest { seeds: args.seeds.clone().map(|s| s.0), sets: args.set.clone() };
    let planned = match plan::make(file, &super::load_options(), &request) {
        Ok(planned) => planned,
        Err(e) => return fail(&e),
    };
    let dir = args.out.clone().unwrap_or_else(|| {
        let dir = plan::default_dir(file);
        println!("sweep folder: {} (the default; --out DIR chooses another)", dir.display());
        dir
    });
    if args.on == Executor::Slurm
        && let Err(e) = slurm::check_folder(&std::path::absolute(&dir).unwrap_or_else(|_| dir.clone()))
    {
        return fail(&e);
    }
    let written = match plan::write(&dir, &planned.plan) {
        Ok(written) => written,
        Err(e) => return fail(&e),
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let e = &planned.expanded;
    println!(
        "{} point{}: {} parameter point{} × {} seed{}{}",
        planned.plan.points.len(),
        if planned.plan.points.len() == 1 { "" } else { "s" },
        e.points.len(),
        if e.points.len() == 1 { "" } else { "s" },
        e.seeds.len(),
        if e.seeds.len() == 1 { "" } else { "s" },
        if written == plan::Written::Resumed { " (this folder's plan: resuming it)" } else { "" }
    );
    let point_args = forwarded(&args.allow);
    let code = match args.on {
        Executor::Local => run_local(args, &dir, &planned, point_args),
        Executor::Slurm => run_slurm(args, &dir, &planned.plan, point_args),
        Executor::Kubernetes => write_kubernetes(args, &dir, &planned.plan, point_args),
    };
    if args.on == Executor::Local && !args.dry_run {
        println!("collect with: {}", collect_command(&dir));
    }
    code
}

/// Refuses an option the chosen executor would not use, naming it.
fn check_options(args: &PlanArgs) -> Result<(), String> {
    let given = |flag: &'static str, is: bool| is.then_some(flag);
    let slurm = [
        given("--slurm-partition", args.slurm_partition.is_some()),
        given("--slurm-time", args.slurm_time.is_some()),
        given("--slurm-mem", args.slurm_mem.is_some()),
        given("--slurm-arg", !args.slurm_arg.is_empty()),
        given("--wait", args.wait),
    ];
    let kubernetes = [
        given("--image", args.image.is_some()),
        given("--pvc", args.pvc.is_some()),
        given("--scenario-in-pod", args.scenario_in_pod.is_some()),
    ];
    let unused: Vec<&str> = match args.on {
        Executor::Local => slurm.iter().chain(&kubernetes).flatten().copied().collect(),
        Executor::Slurm => {
            kubernetes.iter().chain(&[given("--jobs", args.jobs.is_some())]).flatten().copied().collect()
        }
        Executor::Kubernetes => slurm.iter().flatten().copied().collect(),
    };
    if args.on == Executor::Kubernetes && (args.image.is_none() || args.pvc.is_none()) {
        return Err("--on kubernetes needs --image IMAGE (xedgesim and the scenario's files) and --pvc NAME (the claim holding the sweep folder, mounted at /sweep)".to_string());
    }
    if unused.is_empty() {
        return Ok(());
    }
    let on = args.on.to_possible_value().map_or_else(String::new, |v| v.get_name().to_string());
    Err(format!(
        "{} {} not used with --on {on}: remove {}, or choose the executor {} for",
        unused.join(", "),
        if unused.len() == 1 { "is" } else { "are" },
        if unused.len() == 1 { "it" } else { "them" },
        if unused.len() == 1 { "it is" } else { "they are" }
    ))
}

/// The `--allow` a point needs, as `sweep point` takes it.
fn forwarded(allow: &super::allow::AllowArgs) -> Vec<String> {
    let mut out = Vec::new();
    for word in &allow.allow {
        out.extend(["--allow".to_string(), word.clone()]);
    }
    if let Some(file) = &allow.allow_file {
        let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        out.extend(["--allow-file".to_string(), file.display().to_string()]);
    }
    out
}

fn run_local(args: &PlanArgs, dir: &Path, planned: &plan::Planned, point_args: Vec<String>) -> ExitCode {
    if args.dry_run {
        println!("--dry-run: the plan is in {}; nothing was run", dir.join("sweep.json").display());
        return ExitCode::SUCCESS;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let asked = args.jobs.map_or(cores, usize::from);
    let available = local::available_mb();
    let jobs = local::capped_jobs(asked, planned.worst_point_mb, available);
    if jobs < asked {
        println!(
            "jobs: {jobs}, not {asked}: a point may take up to {} MiB (its process and its sandboxes' memory limits) and {} MiB are available",
            planned.worst_point_mb,
            available.unwrap_or(0)
        );
    }
    let binary = match std::env::current_exe() {
        Ok(binary) => binary,
        Err(e) => {
            eprintln!("error: cannot find this xedgesim's own binary to run the points: {e}");
            return ExitCode::from(1);
        }
    };
    // One sweep per folder at a time: two would run every point twice into it.
    let _lock = match local::lock(dir) {
        Ok(lock) => lock,
        Err(e) => return fail(&e),
    };
    if let Some(id) = slurm::still_queued(dir) {
        return fail(&slurm::queued_error(dir, &id));
    }
    let options = local::LocalOptions { binary, jobs, interrupt: super::signals::install(), point_args };
    let plan = &planned.plan;
    let mut on_event = |event: local::Event| match event {
        local::Event::Skipped(i) => println!("point {i:04} {}: finished before, skipped", point_label(plan, i)),
        local::Event::Done(i) => println!("point {i:04} {}: done", point_label(plan, i)),
        local::Event::Failed(i, failure) => println!(
            "point {i:04} {}: failed: {}",
            point_label(plan, i),
            super::for_terminal(failure.error.lines().next().unwrap_or(""))
        ),
    };
    let tally = match local::run(dir, plan, &options, &mut on_event) {
        Ok(tally) => tally,
        Err(e) => return fail(&e),
    };
    println!(
        "{} points: {} done, {} skipped (finished before), {} failed, {} missing",
        plan.points.len(),
        tally.done,
        tally.skipped,
        tally.failed,
        tally.missing
    );
    if tally.interrupted {
        eprintln!("interrupted: the points not finished are missing; run the same command again to resume");
        return ExitCode::from(super::signals::exit_code());
    }
    if tally.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// `seed 3, window_s = 5`: a point as a line names it.
fn point_label(plan: &SweepPlan, index: usize) -> String {
    let Some(entry) = plan.points.get(index) else { return String::new() };
    let mut parts = vec![format!("seed {}", entry.seed)];
    for path in &plan.parameters {
        if let Some(v) = entry.values.get(path) {
            let shown = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            parts.push(format!("{path} = {shown}"));
        }
    }
    format!("({})", parts.join(", "))
}

fn run_slurm(args: &PlanArgs, dir: &Path, plan: &SweepPlan, point_args: Vec<String>) -> ExitCode {
    // The folder as the script names it (links resolved) must fit an #SBATCH line too.
    if let Err(e) = slurm::check_folder(dir) {
        return fail(&e);
    }
    // One sweep per folder: not while another runs here, nor while its last array is in Slurm.
    let _lock = match local::lock(dir) {
        Ok(lock) => lock,
        Err(e) => return fail(&e),
    };
    if let Some(id) = slurm::still_queued(dir) {
        return fail(&slurm::queued_error(dir, &id));
    }
    let todo = slurm::unfinished(dir, plan);
    if todo.is_empty() {
        println!("every point is finished: nothing to submit");
        return ExitCode::SUCCESS;
    }
    let binary = match std::env::current_exe() {
        Ok(binary) => binary,
        Err(e) => {
            eprintln!("error: cannot find this xedgesim's own binary for the script: {e}");
            return ExitCode::from(1);
        }
    };
    let options = slurm::SlurmOptions {
        binary,
        partition: args.slurm_partition.clone(),
        time: args.slurm_time.clone(),
        mem: args.slurm_mem.clone(),
        args: args.slurm_arg.clone(),
        point_args,
    };
    let script = match slurm::write_script(dir, &slurm::script(dir, &todo, &options)) {
        Ok(script) => script,
        Err(e) => return fail(&e),
    };
    let command = slurm::submit_command(&script, args.wait).iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    println!("{} of {} points to run: {}", todo.len(), plan.points.len(), script.display());
    if args.dry_run {
        println!("--dry-run: nothing was submitted; submit with: {command}");
        return ExitCode::SUCCESS;
    }
    if args.wait {
        println!("submitting and waiting for the job array to finish: {command}");
    }
    let submitted = match slurm::submit(&script, args.wait, &super::signals::install()) {
        Ok(submitted) => submitted,
        Err(e) => return fail(&e),
    };
    if submitted.interrupted {
        if submitted.job_id.is_empty() {
            eprintln!(
                "interrupted while submitting: see `squeue --me` whether the array was submitted (scancel JOBID cancels it)"
            );
        } else {
            eprintln!(
                "interrupted: stopped waiting; job {id} keeps running in Slurm (watch it with: squeue -j {id}; cancel it with: scancel {id})",
                id = submitted.job_id
            );
            eprintln!("collect with: {}", collect_command(dir));
        }
        return ExitCode::from(super::signals::exit_code());
    }
    println!("submitted job {}", submitted.job_id);
    if !args.wait {
        println!("watch it with: squeue -j {}", submitted.job_id);
        println!("collect with: {}", collect_command(dir));
        return ExitCode::SUCCESS;
    }
    let failed: Vec<(usize, PointFailure)> =
        plan.points.iter().filter_map(|p| Some((p.index, read_failure(&point_dir(dir, p.index))?))).collect();
    let missing = slurm::unfinished(dir, plan).len() - failed.len();
    for (i, failure) in &failed {
        println!(
            "point {i:04} {}: failed: {}",
            point_label(plan, *i),
            super::for_terminal(failure.error.lines().next().unwrap_or(""))
        );
    }
    println!(
        "job {} done: {} finished, {} failed, {} missing (a task's output is in {})",
        submitted.job_id,
        plan.points.len() - failed.len() - missing,
        failed.len(),
        missing,
        dir.join(slurm::SLURM_DIR).display()
    );
    println!("collect with: {}", collect_command(dir));
    if failed.is_empty() && missing == 0 && submitted.all_succeeded { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// The command that collects the sweep in `dir`.
fn collect_command(dir: &Path) -> String {
    format!("xedgesim sweep collect {}", quote(&dir.display().to_string()))
}

fn write_kubernetes(args: &PlanArgs, dir: &Path, plan: &SweepPlan, point_args: Vec<String>) -> ExitCode {
    let (Some(image), Some(pvc)) = (&args.image, &args.pvc) else {
        eprintln!(
            "error: --on kubernetes needs --image IMAGE (xedgesim and the scenario's files) and --pvc NAME (the claim holding the sweep folder, mounted at /sweep)"
        );
        return ExitCode::from(EXIT_USER_ERROR);
    };
    let options = kubernetes::KubernetesOptions {
        image: image.clone(),
        pvc: pvc.clone(),
        parallelism: args.jobs.map_or(plan.points.len(), usize::from),
        scenario_in_pod: args.scenario_in_pod.clone(),
        point_args,
    };
    let name = dir.file_name().map_or_else(|| "sweep".into(), |n| n.to_string_lossy().into_owned());
    match kubernetes::write(dir, &kubernetes::manifest(&name, plan, &options)) {
        Ok(path) => {
            println!("wrote {} (an Indexed Job of {} pods); nothing was applied", path.display(), plan.points.len());
            println!(
                "with the sweep folder on the claim {pvc}: kubectl apply -f {}",
                quote(&path.display().to_string())
            );
            println!("then, with the claim's folder here, collect it: {}", collect_command(dir));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn run_point(args: &PointArgs) -> ExitCode {
    let prepared =
        match point::prepare(&args.dir, args.index, args.scenario.as_deref(), &super::load_options(), args.force) {
            Ok(prepared) => prepared,
            Err(e) => return fail(&e),
        };
    let run = match prepared {
        point::Prepared::Finished(out) => {
            println!(
                "point {} finished before ({} is there): skipped; --force runs it again",
                args.index,
                out.join("summary.json").display()
            );
            return ExitCode::SUCCESS;
        }
        point::Prepared::Run(run) => run,
    };
    let point::PointRun { entry, dir: out, sim } = *run;
    let allowance = match args.allow.allowance() {
        Ok(allowance) => allowance,
        Err(e) => {
            eprintln!("error: {}", super::for_terminal(&e));
            return ExitCode::from(EXIT_USER_ERROR);
        }
    };
    let asked = super::record::asked(sim.scenario(), sim.capabilities(), &[]);
    if !super::allow::permitted(&asked, &allowance, super::allow::Acting::Running) {
        let failure = PointFailure {
            exit_code: i32::from(EXIT_USER_ERROR),
            error: "the scenario asks what was not allowed: give the sweep the same --allow as `xedgesim run`".into(),
        };
        let _ = point::write_failure(&out, &failure);
        return ExitCode::from(EXIT_USER_ERROR);
    }
    println!("point {} (seed {}) → {}", entry.index, entry.seed, out.display());
    let sim = sim
        .threads(args.threads.map_or(1, usize::from))
        .interrupt_flag(super::signals::install())
        .cache_dir(super::env::cache_dir())
        .cargo(super::env::cargo())
        .docker_host(super::docker_host())
        .run_label(super::run_label());
    let result = sim.run();
    match point::finish(&out, &result) {
        Ok(point::Outcome::Finished) => {
            println!("point {}: done", entry.index);
            ExitCode::SUCCESS
        }
        Ok(point::Outcome::Failed(failure)) => {
            eprintln!("point {}: failed: {}", entry.index, super::for_terminal(&failure.error));
            ExitCode::from(1)
        }
        Ok(point::Outcome::Interrupted) => {
            eprintln!("point {}: interrupted; it is left unfinished", entry.index);
            ExitCode::from(super::signals::exit_code())
        }
        Err(e) => fail(&e),
    }
}
