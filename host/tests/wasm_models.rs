//! The built-in models, run as components through the host.

mod common;

use common::*;
use xedgesim::runtime::{Address, FaultKind, Message, NodeGroup};
use xedgesim::scenario::{ConfigValue, SandboxLimits};
use xedgesim_model::payload::decode;

fn reading(source: &str, temperature: f64, t_us: u64) -> Message {
    Message {
        source: source.into(),
        destination: Address::Node("gw".into()),
        topic: "reading".into(),
        payload: format!(r#"{{"temperature":{temperature},"unit":"C","sample_id":1,"t_us":{t_us}}}"#).into_bytes(),
        sent_us: t_us,
    }
}

#[test]
fn sensor_follows_xedgesim_defaults() {
    let (mut rt, _dir) = runtime();
    let sensor = builtin(&mut rt, "sensor");
    let mut g =
        single(&rt, &sensor, 42, "s1", &config(&[("destination", text("gw"))]), SandboxLimits::default()).unwrap();
    let first = step(&mut g, 0, 0, vec![]).unwrap();
    assert!(first.outbox.is_empty());
    assert_eq!(first.wake_at_us, Some(1_000_000), "first sample at 1 s");
    let mut values = Vec::new();
    for k in 1..=2_000u64 {
        let out = step(&mut g, 0, k * 1_000_000, vec![]).unwrap();
        assert_eq!(out.wake_at_us, Some((k + 1) * 1_000_000));
        let [m] = out.outbox.as_slice() else { panic!("one reading per second") };
        assert_eq!(m.destination, Address::Node("gw".into()));
        let p = decode(&m.payload).unwrap();
        assert_eq!(p.number("sample_id"), Some(k as f64));
        assert_eq!(p.text("unit"), Some("C"));
        values.push(p.number("temperature").unwrap());
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt();
    // Seeded, so not flaky: mean 20 ± 3 standard errors, sd 2 ± 10 %.
    assert!((mean - 20.0).abs() < 3.0 * 2.0 / (values.len() as f64).sqrt(), "mean {mean}");
    assert!((sd - 2.0).abs() < 0.2, "sd {sd}");
    assert_eq!(g.finish(&[0], 2_001_000_000).remove(0).unwrap()[0].value, 2_000.0);
}

#[test]
fn sensor_rate_and_publishing() {
    let (mut rt, _dir) = runtime();
    let sensor = builtin(&mut rt, "sensor");
    let cfg = config(&[("sample_rate_hz", ConfigValue::Integer(10)), ("topic", text("site/t"))]);
    let mut g = single(&rt, &sensor, 1, "s", &cfg, SandboxLimits::default()).unwrap();
    assert_eq!(step(&mut g, 0, 0, vec![]).unwrap().wake_at_us, Some(100_000));
    // A late step catches up on every sample due.
    let out = step(&mut g, 0, 350_000, vec![]).unwrap();
    assert_eq!(out.outbox.len(), 3);
    assert!(out.outbox.iter().all(|m| m.destination == Address::Publish && m.topic == "site/t"));
    assert_eq!(out.wake_at_us, Some(400_000));
}

#[test]
fn bad_model_config_names_the_key() {
    let (mut rt, _dir) = runtime();
    for (model, cfg, expected) in [
        (
            "sensor",
            config(&[("destination", text("gw")), ("sample_rte_hz", ConfigValue::Integer(1))]),
            "unknown config key 'sample_rte_hz'",
        ),
        (
            "sensor",
            config(&[("destination", text("gw")), ("sample_rate_hz", text("fast"))]),
            "config key 'sample_rate_hz' must be a number",
        ),
        ("sensor", config(&[]), "config needs 'destination'"),
        ("gateway", config(&[("window_s", ConfigValue::Integer(0))]), "config key 'window_s' must be > 0"),
        (
            "cloud",
            config(&[("x", ConfigValue::Bool(true))]),
            "unknown config key 'x'; this model takes: subscribe, value_field",
        ),
    ] {
        let component = builtin(&mut rt, model);
        let fault = single(&rt, &component, 1, "n", &cfg, SandboxLimits::default()).unwrap_err();
        assert_eq!(fault.kind, FaultKind::Config);
        assert!(fault.detail.contains(expected), "{model}: {fault}");
    }
}

#[test]
fn gateway_delays_aggregates_and_alerts() {
    let (mut rt, _dir) = runtime();
    let gateway = builtin(&mut rt, "gateway");
    let cfg = config(&[("destination", text("cloud")), ("alert_threshold", ConfigValue::Float(25.0))]);
    let mut g = single(&rt, &gateway, 1, "gw", &cfg, SandboxLimits::default()).unwrap();
    assert_eq!(step(&mut g, 0, 0, vec![]).unwrap().wake_at_us, Some(5_000_000), "first window closes at 5 s");
    // Two readings arrive at 1 s: handled 100 µs later.
    let out = step(&mut g, 0, 1_000_000, vec![reading("a", 20.0, 1_000_000), reading("b", 30.0, 1_000_000)]).unwrap();
    assert!(out.outbox.is_empty());
    assert_eq!(out.wake_at_us, Some(1_000_100));
    let out = step(&mut g, 0, 1_000_100, vec![]).unwrap();
    let [alert] = out.outbox.as_slice() else { panic!("one alert: {out:?}") };
    assert_eq!((alert.topic.as_str(), &alert.destination), ("alert", &Address::Node("cloud".into())));
    assert_eq!(decode(&alert.payload).unwrap().text("source"), Some("b"));
    let out = step(&mut g, 0, 5_000_000, vec![]).unwrap();
    let [aggregate] = out.outbox.as_slice() else { panic!("one aggregate: {out:?}") };
    let p = decode(&aggregate.payload).unwrap();
    assert_eq!(
        [p.number("count"), p.number("mean"), p.number("min"), p.number("max"), p.number("t_us")],
        [Some(2.0), Some(25.0), Some(20.0), Some(30.0), Some(1_000_000.0)]
    );
    assert_eq!(out.wake_at_us, Some(10_000_000));
    // An empty window still reports, with count 0.
    let out = step(&mut g, 0, 10_000_000, vec![]).unwrap();
    assert_eq!(decode(&out.outbox[0].payload).unwrap().number("count"), Some(0.0));
    let metrics = g.finish(&[0], 10_000_000).remove(0).unwrap();
    let get = |name: &str| metrics.iter().find(|m| m.name == name).map(|m| m.value);
    assert_eq!(
        (get("readings_processed"), get("aggregates_sent"), get("alerts_sent")),
        (Some(2.0), Some(2.0), Some(1.0))
    );
}

#[test]
fn gateway_counts_malformed_readings_instead_of_failing() {
    let (mut rt, _dir) = runtime();
    let gateway = builtin(&mut rt, "gateway");
    let mut g = single(&rt, &gateway, 1, "gw", &config(&[]), SandboxLimits::default()).unwrap();
    let mut garbage = reading("a", 1.0, 0);
    garbage.payload = b"\xff not json".to_vec();
    step(&mut g, 0, 0, vec![garbage]).unwrap();
    step(&mut g, 0, 100, vec![]).unwrap();
    let metrics = g.finish(&[0], 200).remove(0).unwrap();
    assert!(metrics.iter().any(|m| m.name == "readings_malformed" && m.value == 1.0), "{metrics:?}");
}

#[test]
fn cloud_reports_counts_and_latency_percentiles() {
    let (mut rt, _dir) = runtime();
    let cloud = builtin(&mut rt, "cloud");
    let mut g = single(&rt, &cloud, 1, "cloud", &config(&[]), SandboxLimits::default()).unwrap();
    // Latencies 1..=100 ms.
    for k in 1..=100u64 {
        step(&mut g, 0, 1_000_000 + k * 1_000, vec![reading("gw", 20.0, 1_000_000)]).unwrap();
    }
    let metrics = g.finish(&[0], 2_000_000).remove(0).unwrap();
    let get = |name: &str| metrics.iter().find(|m| m.name == name).map(|m| m.value).unwrap();
    assert_eq!(get("messages_received"), 100.0);
    assert_eq!(get("received_reading"), 100.0);
    assert_eq!(
        (get("latency_p50_us"), get("latency_p95_us"), get("latency_p99_us"), get("latency_max_us")),
        (50_000.0, 95_000.0, 99_000.0, 100_000.0)
    );
}

#[test]
fn broker_routes_published_messages_to_subscribers() {
    let (mut rt, _dir) = runtime();
    let broker = builtin(&mut rt, "broker");
    let mut g = single(&rt, &broker, 1, "broker", &config(&[]), SandboxLimits::default()).unwrap();
    let control = |source: &str, topic: &str| Message {
        source: source.into(),
        destination: Address::Publish,
        topic: "$subscribe".into(),
        payload: topic.as_bytes().to_vec(),
        sent_us: 0,
    };
    step(&mut g, 0, 0, vec![control("gw2", "t"), control("gw1", "t"), control("other", "u")]).unwrap();
    let mut published = reading("s1", 21.0, 5);
    published.destination = Address::Publish;
    published.topic = "t".into();
    let out = step(&mut g, 0, 10, vec![published]).unwrap();
    let targets: Vec<_> = out.outbox.iter().map(|m| m.destination.clone()).collect();
    assert_eq!(targets, vec![Address::Node("gw1".into()), Address::Node("gw2".into())], "subscribers in id order");
    assert!(out.outbox.iter().all(|m| m.topic == "t"));
}

#[test]
fn a_restarted_node_behaves_as_one_made_fresh_at_its_restart_time() {
    let (mut rt, _dir) = runtime();
    let sensor = builtin(&mut rt, "sensor");
    let cfg = config(&[("destination", text("gw")), ("sample_rate_hz", ConfigValue::Integer(2))]);
    let mut g = single(&rt, &sensor, 42, "s1", &cfg, SandboxLimits::default()).unwrap();
    let before = payloads_at(&mut g, &[0, 500_000, 1_000_000, 1_500_000]);
    assert_eq!(before.len(), 3);
    // Crashed at 2 s, restarted at 7 s: its first restart.
    g.crash(0, 2_000_000);
    g.restart(0, 7_000_000, &cfg, 1).unwrap();
    let times = [7_000_000, 7_500_000, 8_000_000, 8_500_000, 9_000_000];
    let after = payloads_at(&mut g, &times);
    // A node made at 7 s with the streams of the restart's id steps the same bytes.
    let mut fresh =
        single(&rt, &sensor, 42, &xedgesim::seed::restart_id("s1", 1), &cfg, SandboxLimits::default()).unwrap();
    assert_eq!(after, payloads_at(&mut fresh, &times));
    // State is lost (sample ids start again at 1, the first one period after the
    // restart) and the random stream is new.
    let first = decode(after[0].as_bytes()).unwrap();
    assert_eq!((first.number("sample_id"), first.number("t_us")), (Some(1.0), Some(7_500_000.0)));
    let temperature = |p: &str| decode(p.as_bytes()).unwrap().number("temperature").unwrap();
    assert_ne!(temperature(&after[0]), temperature(&before[0]));
    // A second restart draws from yet another stream.
    g.crash(0, 10_000_000);
    g.restart(0, 10_000_000, &cfg, 2).unwrap();
    let again = payloads_at(&mut g, &[10_000_000, 10_500_000]);
    assert_ne!(temperature(&again[0]), temperature(&after[0]));
    let metrics = g.finish(&[0], 11_000_000).remove(0).unwrap();
    assert_eq!(metrics.iter().find(|m| m.name == "samples_sent").map(|m| m.value), Some(1.0), "{metrics:?}");
}

#[test]
fn a_restart_with_a_config_the_model_refuses_is_a_config_fault() {
    let (mut rt, _dir) = runtime();
    let sensor = builtin(&mut rt, "sensor");
    let cfg = config(&[("destination", text("gw"))]);
    let mut g = single(&rt, &sensor, 1, "s1", &cfg, SandboxLimits::default()).unwrap();
    step(&mut g, 0, 0, vec![]).unwrap();
    g.crash(0, 1_000);
    let bad = config(&[("destination", text("gw")), ("sample_rate_hz", ConfigValue::Integer(-1))]);
    let fault = g.restart(0, 2_000, &bad, 1).unwrap_err();
    assert_eq!((fault.kind, fault.time_us), (FaultKind::Config, 2_000));
    assert!(fault.detail.contains("sample_rate_hz"), "{}", fault.detail);
}
