//! The built-in broker's MQTT features (wildcard filters, retained
//! messages, unsubscribing) and the ML request path, run end to end with
//! the built-in models as components.

use std::path::Path;

use xedgesim::run::{RunStatus, Simulation, TraceLevel};
use xedgesim_tests::{first_divergence, fixture_file, read_metrics, run_yaml};

/// Runs `yaml` (written to `dir`) as components, or natively, with payloads in the trace.
fn run(dir: &Path, yaml: &str, native: bool) -> xedgesim::run::RunSummary {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let side = if native { "native" } else { "wasm" };
    let report = Simulation::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}"))
        .native_models(native)
        .trace(TraceLevel::All)
        .out_dir(dir.join(side))
        .cache_dir(Some(dir.join("cache")))
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.status, RunStatus::Finished, "{side}: {:?}", report.reason);
    assert!(report.faults.is_empty(), "{side}: {:?}", report.faults);
    report
}

const ML_REQUESTS: &str = "\
simulation: {duration_s: 10, seed: 3}
network: {model: latency, default_latency_us: 2000}
nodes:
  - {id: broker, type: broker}
  - {id: 'cam{i}', count: 3, type: sensor, config: {topic: 'ml/inference/{i}', features: 32, sample_rate_hz: 2}}
  - {id: cloud, type: cloud, config: {subscribe: 'ml/inference/+', value_field: timestamp_us}}
";

#[test]
fn ml_requests_reach_a_wildcard_subscriber_through_the_broker_with_their_latency() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), ML_REQUESTS, false);
    let m = read_metrics(&dir.path().join("wasm"));
    let get = |node: &str, name: &str| m.get(&(node.to_string(), name.to_string())).copied();
    // Each camera samples at 0.5, 1.0, ..., 10.0 s (2 Hz, the first one
    // period after t = 0): 20 requests. Each takes 2 ms to the broker and
    // 2 ms on to the cloud, so the one sampled at 10.0 s is still on its
    // way at the end: 3 x 19 = 57 reach the broker and the cloud.
    assert_eq!(get("broker", "published"), Some(57.0));
    assert_eq!((get("broker", "forwarded"), get("broker", "unrouted")), (Some(57.0), Some(0.0)));
    assert_eq!(get("broker", "subscriptions"), Some(1.0));
    assert_eq!(get("cloud", "messages_received"), Some(57.0));
    assert_eq!(get("cloud", "received_ml/inference/0"), Some(19.0));
    // Latency from each request's `timestamp_us`: 2 + 2 ms, every one
    // (from the broker's send time, as before, it would be 2 ms).
    assert_eq!((get("cloud", "latency_p50_us"), get("cloud", "latency_max_us")), (Some(4_000.0), Some(4_000.0)));
    // The timestamps summarised as a value: 0.5 s to 9.5 s, mean 5 s.
    assert_eq!(get("cloud", "timestamp_us_count"), Some(57.0));
    assert_eq!(get("cloud", "timestamp_us_mean"), Some(5_000_000.0));
    assert_eq!(
        (get("cloud", "timestamp_us_min"), get("cloud", "timestamp_us_max")),
        (Some(500_000.0), Some(9_500_000.0))
    );

    // The request itself: xEdgeSim's shape, 32 float32 values near `base`.
    let trace = std::fs::read_to_string(dir.path().join("wasm/trace.jsonl")).unwrap();
    let request = trace.lines().find(|l| l.contains(r#""src":"cam1","dst":"broker""#)).unwrap();
    let payload: serde_json::Value = serde_json::from_str(request).unwrap();
    let payload: serde_json::Value = serde_json::from_str(payload["payload"].as_str().unwrap()).unwrap();
    assert_eq!((payload["device_id"].as_str(), payload["timestamp_us"].as_u64()), (Some("cam1"), Some(500_000)));
    let features = payload["features"].as_array().unwrap();
    assert_eq!(features.len(), 32);
    // Each is a float32's shortest form: printed again as float32, the same number.
    let printed_again = |v: f64| format!("{}", v as f32).parse::<f64>().unwrap();
    assert!(features.iter().all(|v| printed_again(v.as_f64().unwrap()) == v.as_f64().unwrap()), "{features:?}");
    assert!(features.iter().all(|v| (v.as_f64().unwrap() - 20.0).abs() < 10.0));

    // Natively, the same bytes: the values are drawn and printed alike.
    run(dir.path(), ML_REQUESTS, true);
    for name in ["trace.jsonl", "metrics.csv"] {
        let a = std::fs::read_to_string(dir.path().join("wasm").join(name)).unwrap();
        let b = std::fs::read_to_string(dir.path().join("native").join(name)).unwrap();
        assert!(a == b, "{name}: first divergence {:?}", first_divergence(&a, &b));
    }
}

#[test]
fn a_retained_message_reaches_a_late_subscriber_and_an_unsubscribe_stops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = fixture_file(dir.path(), "hostile");
    let yaml = format!(
        "simulation: {{duration_s: 8}}
nodes:
  - {{id: broker, type: broker}}
  - {{id: status, type: sensor, config: {{topic: '$retain/site/status'}}}}
  - {{id: early, type: cloud, config: {{subscribe: 'site/+'}}}}
  - id: late
    type: hostile
    wasm: {{component: '{}'}}
    config: {{mode: subscribe, target: 'site/#', at_us: 2500000, until_us: 5500000}}
  - {{id: wrong, type: cloud, config: {{subscribe: 'site/#/x'}}}}
",
        hostile.display()
    );
    run(dir.path(), &yaml, false);
    let m = read_metrics(&dir.path().join("wasm"));
    let get = |node: &str, name: &str| m.get(&(node.to_string(), name.to_string())).copied();
    // `status` publishes a retained reading at 1, 2, ..., 8 s (no latency).
    assert_eq!((get("broker", "published"), get("broker", "retained")), (Some(8.0), Some(1.0)));
    assert_eq!(get("early", "messages_received"), Some(8.0));
    // `late` subscribes at 2.5 s and gets the reading of 2 s at once, then
    // those of 3, 4 and 5 s; it unsubscribes at 5.5 s: 4 in all.
    assert_eq!(get("late", "received"), Some(4.0));
    assert_eq!(get("broker", "forwarded"), Some(8.0 + 4.0));
    assert_eq!(get("broker", "unsubscriptions"), Some(1.0));
    // `#` not last: refused and counted, not a fault.
    assert_eq!((get("broker", "subscriptions_invalid"), get("broker", "subscriptions")), (Some(1.0), Some(1.0)));
    let trace = std::fs::read_to_string(dir.path().join("wasm/trace.jsonl")).unwrap();
    let to_late: Vec<&str> =
        trace.lines().filter(|l| l.contains(r#""event":"send""#) && l.contains(r#""dst":"late""#)).collect();
    assert_eq!(to_late.len(), 4);
    assert!(to_late[0].contains(r#""t_us":2500000"#) && to_late[0].contains(r#"\"sample_id\":2,"#), "{}", to_late[0]);
}

#[test]
fn the_broker_matches_a_step_of_publishes_against_a_full_wildcard_table_within_its_fuel() {
    // 300 gateways subscribe to wildcard filters of 4 levels: the broker
    // keeps 256 (1,024 levels, both its bounds) and refuses 44. At 1 s,
    // 2,000 sensors publish at once on a topic of 4 levels that none
    // matches, so each publish is matched against every filter, level by
    // level: measured, 45,000 fuel a publish, within its 100,000.
    let dir = tempfile::tempdir().unwrap();
    let report = run_yaml(
        dir.path(),
        "simulation: {duration_s: 1.5}
nodes:
  - {id: broker, type: broker}
  - {id: 'w{i}', count: 300, type: gateway, config: {subscribe: '+/+/+/{i}', destination: cloud}}
  - {id: 's{i}', count: 2000, type: sensor, config: {topic: 'a/b/c/d'}}
  - {id: cloud, type: cloud}
",
    );
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    let get = |name: &str| m[&("broker".to_string(), name.to_string())];
    assert_eq!((get("subscriptions"), get("subscriptions_refused")), (256.0, 44.0));
    assert_eq!((get("published"), get("unrouted")), (2_000.0, 2_000.0));
}
