//! What replaying a node costs (issue #26's target: a replayed gateway's
//! run costs no more than 2× the WASM gateway's run).
//!
//! One scenario, ten sensors at 10 Hz into one gateway for 101 virtual
//! seconds (10,090 readings into the gateway, 20 windows out to a cloud
//! sink), run two ways in this one process, each the median of several
//! runs after a warm-up (compiled components cached for both):
//!
//! - **live**: every node a WASM model, the gateway included (the baseline);
//! - **replayed**: the same, the gateway answered from a recording of the
//!   live run (strict: every call's inbox compared with the recorded one),
//!   the recording's reading and decompressing included in the time.
//!
//! The sensors and the cloud run live on both sides; what differs is the
//! gateway: its component instantiated and stepped, against the
//! recording read, checked and answered from. Both runs write the same
//! outputs (trace off, no page), and the replay's metrics are checked to
//! be the live run's. Run with `cargo bench -p xedgesim --bench replay`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use xedgesim::run::{LoadedRecording, RecordOptions, ReplayFrom, ReplayMode, Simulation, TraceLevel};

mod common;
use common::{cache_dir, median, ms};

const RUNS: usize = 9;

fn scenario(sensors: usize) -> String {
    let mut yaml = String::from(
        "simulation: {duration_s: 101, seed: 7}\nnetwork: {model: latency, default_latency_us: 2000}\nnodes:\n",
    );
    for i in 0..sensors {
        yaml.push_str(&format!(
            "  - {{id: sensor{i}, type: sensor, config: {{destination: gateway, sample_rate_hz: 10}}}}\n"
        ));
    }
    yaml.push_str("  - {id: gateway, type: gateway, config: {window_s: 5, destination: cloud}}\n");
    yaml.push_str("  - {id: cloud, type: cloud}\n");
    yaml
}

fn simulation(file: &Path, out: &Path) -> Simulation {
    Simulation::from_file(file)
        .unwrap()
        .out_dir(out)
        .cache_dir(Some(cache_dir()))
        .trace(TraceLevel::Off)
        .report_page(false)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("replay_bench.yaml");
    std::fs::write(&file, scenario(10)).unwrap();

    // The recording, from one live run with the gateway recorded.
    let recorded = dir.path().join("recorded");
    let summary = simulation(&file, &recorded)
        .record(Some(RecordOptions { nodes: vec!["gateway".into()], max_bytes: 256 << 20 }))
        .run()
        .unwrap();
    let recording = summary.recording.as_ref().expect("the run recorded its gateway");
    let received = std::fs::read_to_string(recorded.join("metrics.csv")).unwrap();
    let readings = received
        .lines()
        .find(|l| l.starts_with("gateway,host,messages_in,"))
        .and_then(|l| l.rsplit(',').next())
        .unwrap_or("?")
        .to_string();
    println!(
        "recording: the gateway's {readings} readings in {:.1} kB ({})",
        recording.bytes as f64 / 1e3,
        recorded.join("recording.xrec").display()
    );

    let live = |i: usize| {
        let out = dir.path().join(format!("live{i}"));
        let start = Instant::now();
        simulation(&file, &out).run().unwrap();
        (start.elapsed(), out)
    };
    let replayed = |i: usize| {
        let out = dir.path().join(format!("replayed{i}"));
        let start = Instant::now();
        let loaded = Arc::new(LoadedRecording::read(&recorded).unwrap());
        let from = ReplayFrom { recording: loaded, nodes: Some(vec!["gateway".into()]), mode: ReplayMode::Strict };
        let summary = simulation(&file, &out).replay(from).run().unwrap();
        let elapsed = start.elapsed();
        let stats = &summary.replayed["gateway"];
        assert_eq!((stats.inputs_differed, stats.calls_unrecorded), (0, 0), "a faithful replay");
        (elapsed, out)
    };
    // Warm-up: components compiled and cached, pages faulted in.
    let (_, warm_live) = live(99);
    let (_, warm_replay) = replayed(99);
    assert_eq!(
        std::fs::read(warm_live.join("metrics.csv")).unwrap(),
        std::fs::read(warm_replay.join("metrics.csv")).unwrap(),
        "the replay's metrics are the live run's"
    );
    // Interleaved, so a change in the machine's load falls on both sides.
    let mut live_times: Vec<Duration> = Vec::new();
    let mut replay_times: Vec<Duration> = Vec::new();
    for i in 0..RUNS {
        live_times.push(live(i).0);
        replay_times.push(replayed(i).0);
    }
    let (live, replay) = (median(live_times), median(replay_times));
    println!("run, gateway live (WASM), median of {RUNS}:     {}", ms(live));
    println!("run, gateway replayed (strict), median of {RUNS}: {} (reading the recording included)", ms(replay));
    println!(
        "replayed / live: {:.2}× (target ≤ 2×: {})",
        replay.as_secs_f64() / live.as_secs_f64(),
        if replay.as_secs_f64() <= 2.0 * live.as_secs_f64() { "met" } else { "NOT met" }
    );
}
