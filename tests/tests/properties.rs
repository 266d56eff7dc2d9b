//! Property tests (proptest): the loader takes any text and answers with a
//! scenario or an error, never a panic; the network model delivers each
//! link's messages in the order they were sent, never before their send
//! time plus the link's latency, and the same seed gives the same schedule.
//! A failure prints the input that broke it (proptest shrinks it first).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use xedgesim::run::{RunStatus, Simulation, TraceLevel};
use xedgesim::scenario;

/// Text that looks like a scenario some of the time: keys of the format,
/// numbers at and past the edges, odd strings, broken structure.
fn scenario_like() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("simulation".to_string()),
        Just("nodes".to_string()),
        Just("network".to_string()),
        Just("id".to_string()),
        Just("type".to_string()),
        Just("count".to_string()),
        Just("duration_s".to_string()),
        Just("links".to_string()),
        Just("wasm".to_string()),
        Just("docker".to_string()),
        Just("config".to_string()),
        Just("sensor".to_string()),
        Just("\"s{i}\"".to_string()),
        Just("{i / 0}".to_string()),
        Just("-1".to_string()),
        Just("1e300".to_string()),
        Just("NaN".to_string()),
        Just("18446744073709551616".to_string()),
        Just("*a".to_string()),
        Just("&a".to_string()),
        "[a-z{}\\[\\]:,\"' -]{0,12}",
    ];
    let line =
        (0usize..4, proptest::collection::vec(word, 1..5), prop_oneof![Just(": "), Just(" "), Just(", "), Just("- ")])
            .prop_map(|(indent, words, sep)| format!("{}{}", "  ".repeat(indent), words.join(sep)));
    prop_oneof![proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n")), ".{0,200}",]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_loader_answers_any_text_with_a_scenario_or_an_error(text in scenario_like()) {
        let absolute = std::env::temp_dir().join("property.yaml");
        // A panic fails the test; either answer passes.
        match scenario::load_str(Path::new("property.yaml"), &absolute, &text) {
            Ok(loaded) => prop_assert!(!loaded.resolved.nodes.is_empty()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

/// A scenario of `senders` sensors at `rate_hz` sending to one cloud over
/// links with the given latency, jitter, loss and bandwidth.
fn network_scenario(
    senders: usize,
    rate_hz: u32,
    latency_us: u64,
    jitter_us: u64,
    loss: f64,
    bandwidth: u64,
) -> String {
    let mut yaml = format!(
        "simulation: {{duration_s: 3}}\nnetwork: {{model: latency, default_latency_us: {latency_us}, default_jitter_us: {jitter_us}, default_loss_rate: {loss}, default_bandwidth_bps: {bandwidth}}}\nnodes:\n  - {{id: sink, type: cloud}}\n"
    );
    for i in 0..senders {
        yaml.push_str(&format!("  - {{id: s{i}, type: sensor, config: {{sample_rate_hz: {rate_hz}}}}}\n"));
    }
    yaml
}

/// The trace of a run of `yaml` with `seed`.
fn trace_of(dir: &Path, yaml: &str, seed: u64) -> String {
    let file = dir.join("net.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = dir.join(format!("out{seed}"));
    let report = Simulation::from_file(&file)
        .unwrap()
        .seed(seed)
        .out_dir(&out)
        .cache_dir(Some(dir.join("cache")))
        .trace(TraceLevel::Messages)
        .run()
        .unwrap();
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    std::fs::read_to_string(out.join("trace.jsonl")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn links_deliver_in_send_order_never_early_and_the_same_seed_gives_the_same_schedule(
        senders in 1usize..6,
        rate_hz in 1u32..40,
        latency_us in 0u64..20_000,
        jitter_us in 0u64..50_000,
        loss in prop_oneof![Just(0.0), 0.0f64..0.5],
        bandwidth in prop_oneof![Just(1_000_000_000u64), 2_000u64..200_000],
        seed in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let yaml = network_scenario(senders, rate_hz, latency_us, jitter_us, loss, bandwidth);
        let trace = trace_of(dir.path(), &yaml, seed);
        let event = |line: &str| serde_json::from_str::<serde_json::Value>(line).unwrap();
        // id -> (send time, src)
        let mut sent: BTreeMap<u64, (u64, String)> = BTreeMap::new();
        // Per link, the ids delivered in delivery order.
        let mut delivered: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for e in trace.lines().map(event) {
            let id = e["id"].as_u64().unwrap_or(u64::MAX);
            let t = e["t_us"].as_u64().unwrap();
            match e["event"].as_str().unwrap() {
                "send" => {
                    sent.insert(id, (t, e["src"].as_str().unwrap().to_string()));
                }
                "deliver" => {
                    let (sent_at, src) = &sent[&id];
                    prop_assert!(t >= sent_at + latency_us, "message {id} arrived at {t}, sent at {sent_at} over {latency_us} µs");
                    prop_assert_eq!(e["latency_us"].as_u64().unwrap(), t - sent_at);
                    delivered.entry(src.clone()).or_default().push(id);
                }
                _ => {}
            }
        }
        for (src, ids) in &delivered {
            // Ids grow with send order: a link delivers in it.
            prop_assert!(ids.windows(2).all(|w| w[0] < w[1]), "{src} -> sink out of order: {ids:?}");
        }
        prop_assert_eq!(&trace, &trace_of(dir.path(), &yaml, seed), "same seed, same schedule");
    }
}
