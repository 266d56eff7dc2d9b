//! The schema rules, one test each, on small inline scenarios. The five
//! tests named `plan_*` are the schema tests of xEdgeSim's M2d plan.

use std::path::Path;

use xedgesim::scenario::{
    self, ComponentSource, ConfigValue, FaultPolicy, Implementation, LinkParams, NetworkModel, NodeKind,
    ResolvedScenario, ScenarioError,
};
use xedgesim_tests::repo_root;

/// Loads `text` as if it were `scenarios/inline.yaml`.
fn load(text: &str) -> Result<ResolvedScenario, ScenarioError> {
    let absolute = repo_root().join("scenarios/inline.yaml");
    scenario::load_str(Path::new("scenarios/inline.yaml"), &absolute, text).map(|l| l.resolved)
}

fn error_text(text: &str) -> String {
    match load(text) {
        Ok(r) => panic!("expected an error, got {r:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn plan_python_model_and_wasm_mean_the_deterministic_model() {
    for name in ["python_model", "wasm"] {
        let r = load(&format!("nodes:\n  - {{id: s, type: sensor_model, implementation: {name}}}\n")).unwrap();
        let node = &r.nodes[0];
        assert_eq!(node.kind, NodeKind::Sensor, "sensor_model is the legacy name of sensor");
        match &node.implementation {
            Implementation::Wasm(w) => assert_eq!(w.component, ComponentSource::Builtin("sensor".into())),
            other => panic!("{name} should resolve to wasm, got {other:?}"),
        }
    }
}

#[test]
fn plan_docker_node_resolves() {
    let r = load(
        "nodes:\n  - id: gw\n    type: gateway\n    implementation: docker\n    docker: {image: 'xedgesim/gateway:latest'}\n",
    )
    .unwrap();
    assert!(r.nodes[0].implementation.is_docker());
}

#[test]
fn plan_default_implementation_is_wasm() {
    let r = load("nodes:\n  - {id: gw, type: gateway}\n").unwrap();
    assert!(matches!(r.nodes[0].implementation, Implementation::Wasm(_)));
}

#[test]
fn plan_docker_section_is_read_whole() {
    let r = load(
        r#"nodes:
  - id: gw
    type: gateway
    implementation: docker
    docker:
      image: xedgesim/gateway:latest
      build_context: ../containers/gateway
      dockerfile: README.md
      ports: {5000: 5000, "8080": "18080"}
      environment: {MQTT_BROKER_PORT: 1883, DEBUG: true}
      volumes: {models: {bind: /app/models, mode: ro}}
      cpus: 0.5
      memory_mb: 128
"#,
    )
    .unwrap();
    let Implementation::Docker(d) = &r.nodes[0].implementation else { panic!("docker node") };
    assert_eq!(d.image.as_deref(), Some("xedgesim/gateway:latest"));
    assert_eq!(d.build_context.as_deref(), Some(repo_root().join("containers/gateway").as_path()));
    assert_eq!(d.dockerfile.as_deref(), Some(repo_root().join("containers/gateway/README.md").as_path()));
    assert_eq!(d.ports.iter().map(|(c, h)| (*c, *h)).collect::<Vec<_>>(), vec![(5000, 5000), (8080, 18080)]);
    assert_eq!(d.environment["MQTT_BROKER_PORT"], "1883");
    assert_eq!(d.environment["DEBUG"], "true");
    assert_eq!(d.volumes[0].host_path, Path::new("models"), "a key without a slash names a volume, as in docker-py");
    assert_eq!(d.volumes[0].container_path, "/app/models");
    assert!(d.volumes[0].read_only);
    assert_eq!(d.cpus, 0.5);
    assert_eq!(d.memory_mb, 128);
    assert_eq!(d.network_mode, "bridge", "published ports need a network");
}

#[test]
fn plan_invalid_implementation_is_rejected_with_a_suggestion() {
    let text = error_text("nodes:\n  - {id: gw, type: gateway, implementation: dokcer}\n");
    assert!(text.contains("scenarios/inline.yaml:2:"), "{text}");
    assert!(text.contains("implementation must be one of wasm, docker; found 'dokcer'"), "{text}");
    assert!(text.contains("did you mean 'docker'?"), "{text}");
    assert!(text.contains("node: gw"), "{text}");
}

#[test]
fn defaults_fill_the_resolved_form() {
    let r = load("nodes:\n  - {id: s, type: sensor}\n  - {id: g, type: gateway}\n  - {id: c, type: cloud}\n").unwrap();
    assert_eq!(r.duration_us, 10_000_000);
    assert_eq!(r.seed, 0);
    assert_eq!(r.time_quantum_us, 1_000);
    assert_eq!(r.on_fault, FaultPolicy::Abort);
    assert_eq!(r.network.model, NetworkModel::Direct);
    assert_eq!(r.network.default_link, LinkParams::PERFECT);
    assert_eq!(r.nodes[0].config["destination"], ConfigValue::Text("g".into()), "a sensor sends to the first gateway");
    assert_eq!(
        r.nodes[1].config["destination"],
        ConfigValue::Text("c".into()),
        "a gateway forwards to the first cloud"
    );
    assert!(!r.nodes[2].config.contains_key("destination"));
}

#[test]
fn links_inherit_the_network_defaults() {
    let r = load(
        "network:\n  model: latency\n  default_latency_us: 700\n  default_loss_rate: 0.25\n  links:\n    - {src: a, dst: b, jitter_us: 3}\nnodes:\n  - {id: a, type: sensor}\n  - {id: b, type: cloud}\n",
    )
    .unwrap();
    let link = &r.network.links[0].params;
    assert_eq!((link.latency_us, link.jitter_us, link.loss_rate), (700, 3, 0.25));
}

#[test]
fn link_buffers_default_to_none_and_links_inherit_or_override_the_default() {
    let r = load("network: {model: latency, default_bandwidth_bps: 9600}\nnodes:\n  - {id: a, type: sensor}\n  - {id: b, type: cloud}\n").unwrap();
    assert_eq!(r.network.default_link.queue_bytes, None, "unbounded unless asked");
    let r = load(
        "network:\n  model: latency\n  default_bandwidth_bps: 9600\n  default_queue_bytes: 4000\n  links:\n    - {src: a, dst: b}\n    - {src: b, dst: a, queue_bytes: 1500}\nnodes:\n  - {id: a, type: sensor}\n  - {id: b, type: cloud}\n",
    )
    .unwrap();
    assert_eq!(r.network.default_link.queue_bytes, Some(4_000));
    assert_eq!(r.network.links[0].params.queue_bytes, Some(4_000));
    assert_eq!(r.network.links[1].params.queue_bytes, Some(1_500));
    // A link's own bandwidth is enough for its own buffer.
    let r = load(
        "network:\n  model: latency\n  links:\n    - {src: a, dst: b, bandwidth_bps: 9600, queue_bytes: 1}\nnodes:\n  - {id: a, type: sensor}\n  - {id: b, type: cloud}\n",
    )
    .unwrap();
    assert_eq!(r.network.links[0].params.queue_bytes, Some(1));
    assert_eq!(r.network.default_link.queue_bytes, None);
}

#[test]
fn a_link_buffer_needs_a_bandwidth_and_a_size_in_range() {
    let nodes = "nodes:\n  - {id: a, type: sensor}\n  - {id: b, type: cloud}\n";
    let text = error_text(&format!("network:\n  model: latency\n  default_queue_bytes: 4000\n{nodes}"));
    assert!(
        text.starts_with("scenarios/inline.yaml:3:24: error: default_queue_bytes on a link without a bandwidth"),
        "{text}"
    );
    assert!(text.contains("add `default_bandwidth_bps`"), "{text}");
    // A link's buffer with no bandwidth on the link nor by default.
    let text = error_text(&format!(
        "network:\n  model: latency\n  links:\n    - {{src: a, dst: b, queue_bytes: 4000}}\n{nodes}"
    ));
    assert!(text.starts_with("scenarios/inline.yaml:4:37: error: queue_bytes on a link without a bandwidth"), "{text}");
    assert!(text.contains("add `bandwidth_bps` to this link or `default_bandwidth_bps`"), "{text}");
    for (value, shown) in [("0", "0"), ("-1", "-1"), ("1099511627777", "1099511627777")] {
        let text = error_text(&format!(
            "network:\n  model: latency\n  default_bandwidth_bps: 9600\n  links:\n    - {{src: a, dst: b, queue_bytes: {value}}}\n{nodes}"
        ));
        assert!(text.contains(&format!("queue_bytes is {shown}; allowed 1 ..= 1099511627776")), "{value}: {text}");
        assert!(text.contains("omit it for an unbounded one"), "{text}");
    }
    let text = error_text(&format!(
        "network:\n  model: latency\n  default_bandwidth_bps: 9600\n  default_queue_bytes: 0\n{nodes}"
    ));
    assert!(text.contains("default_queue_bytes is 0; allowed 1 ..= 1099511627776"), "{text}");
    // Direct links never queue: a buffer there is reported like the other settings.
    let text = format!("network: {{default_bandwidth_bps: 9600, default_queue_bytes: 4000}}\n{nodes}");
    let absolute = repo_root().join("scenarios/inline.yaml");
    let loaded = scenario::load_str(Path::new("scenarios/inline.yaml"), &absolute, &text).unwrap();
    let warnings = loaded.warnings.to_string();
    assert!(warnings.contains("network.default_queue_bytes has no effect with `model: direct`"), "{warnings}");
    assert_eq!(loaded.resolved.network.default_link.queue_bytes, None);
}

#[test]
fn a_network_without_a_model_is_direct_as_in_xedgesim_and_says_what_it_ignores() {
    let text = "network:\n  default_latency_us: 700\nnodes:\n  - {id: a, type: sensor}\n  - {id: b, type: cloud}\n";
    let absolute = repo_root().join("scenarios/inline.yaml");
    let loaded = scenario::load_str(Path::new("scenarios/inline.yaml"), &absolute, text).unwrap();
    assert_eq!(loaded.resolved.network.model, NetworkModel::Direct);
    let warnings = loaded.warnings.to_string();
    assert!(
        warnings
            .contains("network.default_latency_us has no effect with `model: direct` (the default, as in xEdgeSim)"),
        "{warnings}"
    );
    assert!(warnings.contains("add `model: latency` to apply it"), "{warnings}");
}

#[test]
fn a_publisher_gets_no_default_destination() {
    let r = load("nodes:\n  - {id: b, type: broker}\n  - {id: s, type: sensor, config: {topic: t}}\n  - {id: g, type: gateway}\n").unwrap();
    assert!(!r.nodes[1].config.contains_key("destination"));
}

#[test]
fn every_semantic_problem_is_reported_not_only_the_first() {
    let text = error_text(
        "simulation: {duration_s: -1, time_quantum_us: 0}\nnodes:\n  - {id: a, type: sensor}\n  - {id: a, type: sensor}\n",
    );
    for expected in
        ["duration_s must be greater than 0", "time_quantum_us must be greater than 0", "duplicate node id 'a'"]
    {
        assert!(text.contains(expected), "missing '{expected}' in:\n{text}");
    }
}

#[test]
fn a_duplicate_id_points_at_the_second_id() {
    let text =
        error_text("nodes:\n  - {id: a, type: sensor}\n  - {id: b, type: sensor}\n  - id: a\n    type: sensor\n");
    assert!(text.starts_with("scenarios/inline.yaml:4:9: error: duplicate node id 'a'"), "{text}");
    assert!(text.contains("first used on line 2"), "{text}");
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion() {
    let text = error_text("nodes:\n  - {id: a, type: sensor, confg: {}}\n");
    assert!(text.contains("unknown key 'confg'"), "{text}");
    assert!(text.contains("did you mean 'config'?"), "{text}");
    assert!(text.contains("node: a"), "{text}");
}

#[test]
fn ports_accept_numbers_and_strings() {
    for ports in ["{5000: 5000}", "{'5000': '5000'}", "{5000: '5000'}"] {
        let r = load(&format!(
            "nodes:\n  - {{id: g, type: gateway, implementation: docker, docker: {{image: x, ports: {ports}}}}}\n"
        ))
        .unwrap_or_else(|e| panic!("{ports}: {e}"));
        let Implementation::Docker(d) = &r.nodes[0].implementation else { panic!() };
        assert_eq!(d.ports.get(&5000), Some(&5000), "{ports}");
    }
}

#[test]
fn an_oversized_file_is_refused_before_parsing() {
    let huge = format!("nodes: []\n#{}\n", "x".repeat(scenario::MAX_SCENARIO_BYTES));
    assert!(error_text(&huge).contains("the limit is"));
}

#[test]
fn a_missing_file_names_the_path() {
    let e = scenario::load(Path::new("/nonexistent/scenario.yaml")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/scenario.yaml: error: cannot read scenario file"), "{e}");
}

#[test]
fn thousands_of_mistakes_on_one_long_line_are_reported_briefly() {
    // 8,000 nodes with one id, in one flow sequence on one line.
    let nodes: Vec<String> = (0..8_000).map(|_| "{id: dup, type: cloud}".to_string()).collect();
    let e = error_text(&format!("nodes: [{}]\n", nodes.join(", ")));
    assert!(e.contains("duplicate node id 'dup'"), "{}", &e[..500]);
    // 7,999 duplicates: 100 shown.
    assert!(e.contains("… and 7899 more problems not shown (7899 errors)"), "{}", &e[e.len() - 500..]);
    // Each quotes a window of the 190 KB line, not all of it.
    assert!(e.len() < 100 * 1_000, "{} bytes of errors", e.len());
    assert!(e.lines().all(|l| l.chars().count() < 400), "a long line was quoted whole");
}

#[test]
fn a_megabytes_long_name_gets_no_suggestion_and_a_short_quote() {
    let name = "n".repeat(3_900_000);
    let e = error_text(&format!(
        "network:\n  model: latency\n  links:\n    - {{src: {name}, dst: c}}\nnodes:\n  - {{id: c, type: cloud}}\n"
    ));
    assert!(e.contains("is not a node in this scenario"), "{}", &e[..300.min(e.len())]);
    assert!(e.contains("characters elided"), "the name is not quoted whole");
    assert!(e.len() < 20_000, "{} bytes of errors", e.len());
}

#[test]
fn scripted_faults_resolve_to_microseconds_with_legacy_names_mapped() {
    use xedgesim::scenario::{FaultAction, LinkOverride};
    let r = load(
        "simulation: {duration_s: 20}\nnodes:\n  - {id: \"s{i}\", count: 3, type: sensor_model}\n  - {id: gw, type: gateway}\n  - {id: cloud, type: cloud}\nfaults:\n  - {crash: gw, at_s: 1.5, until_s: 2}\n  - {partition: [s2, s0], at_s: 3}\n  - {degrade: {src: gw, dst: cloud}, at_s: 4, until_s: 5, loss_rate: 0.5}\n  - {stall: cloud, at_s: 6, delay_us: 7}\n  - {random: crash, type: sensor_model, count: 2}\n",
    )
    .unwrap();
    let f = &r.faults;
    assert_eq!((f[0].at_us, f[0].until_us), (1_500_000, Some(2_000_000)));
    assert_eq!(f[0].action, FaultAction::Crash { node: "gw".into() });
    assert_eq!(f[1].action, FaultAction::Partition { nodes: vec!["s0".into(), "s2".into()] });
    let lossy = LinkOverride { latency_us: None, jitter_us: None, loss_rate: Some(0.5), bandwidth_bps: None };
    assert_eq!(f[2].action, FaultAction::Degrade { src: "gw".into(), dst: "cloud".into(), link: lossy });
    assert_eq!(f[3].action, FaultAction::Stall { node: "cloud".into(), delay_us: 7 });
    assert_eq!(
        f[4].action,
        FaultAction::RandomCrash { node_type: "sensor".into(), count: 2, between_us: (0, 20_000_000), down_us: None }
    );
}

#[test]
fn a_fault_may_name_a_group_member_and_a_typo_gets_a_suggestion() {
    let nodes = "nodes:\n  - {id: \"s{i}\", count: 40, type: sensor}\n  - {id: gateway, type: gateway}\n";
    assert!(load(&format!("{nodes}faults:\n  - {{crash: s39, at_s: 2}}\n")).is_ok());
    let e = error_text(&format!("{nodes}faults:\n  - {{partition: [s3, gatewy], at_s: 2}}\n"));
    assert!(e.contains("fault names node 'gatewy'") && e.contains("did you mean 'gateway'?"), "{e}");
    assert!(e.contains("inline.yaml:5:"), "{e}");
}

#[test]
fn random_faults_may_not_draw_more_than_a_million_crashes_in_all() {
    let nodes = "nodes:\n  - {id: s, type: sensor}\n";
    let entry = "  - {random: crash, type: sensor, count: 600000}\n";
    assert!(load(&format!("{nodes}faults:\n{entry}")).is_ok());
    let e = error_text(&format!("{nodes}faults:\n{entry}{entry}"));
    assert!(e.contains("random faults draw 1200000 crashes in all; at most 1000000"), "{e}");
}

#[test]
fn two_degrades_of_one_link_or_two_stalls_of_one_node_may_not_overlap() {
    let nodes = "nodes:\n  - {id: a, type: sensor}\n  - {id: b, type: cloud}\nfaults:\n";
    let degrade = |at: u32, until: u32| {
        format!("  - {{degrade: {{src: a, dst: b}}, at_s: {at}, until_s: {until}, latency_us: 9}}\n")
    };
    assert!(load(&format!("{nodes}{}{}", degrade(1, 3), degrade(3, 5))).is_ok(), "back to back is fine");
    let e = error_text(&format!("{nodes}{}{}", degrade(1, 4), degrade(3, 5)));
    assert!(e.contains("this degrade of a -> b starts while faults[0]'s is in force"), "{e}");
    let e = error_text(&format!(
        "{nodes}  - {{stall: b, at_s: 1, delay_us: 5}}\n  - {{stall: b, at_s: 2, until_s: 3, delay_us: 5}}\n"
    ));
    assert!(e.contains("this stall of b starts while faults[0]'s is in force"), "{e}");
}

/// A docker node of `type` with `docker` (a YAML flow mapping) added to its section.
fn mqtt_node(node_type: &str, docker: &str) -> String {
    format!(
        "nodes:\n  - id: svc\n    type: {node_type}\n    implementation: docker\n    docker: {{image: 'svc:1', protocol: mqtt{docker}}}\n"
    )
}

#[test]
fn an_mqtt_node_resolves_with_the_documented_defaults_and_a_role_from_its_type() {
    for (node_type, role) in [("gateway", scenario::MqttRole::Client), ("mqtt_broker", scenario::MqttRole::Broker)] {
        let r = load(&mqtt_node(node_type, "")).unwrap();
        let Implementation::Docker(d) = &r.nodes[0].implementation else { panic!("a docker node") };
        let mqtt = d.mqtt.as_ref().expect("MQTT settings");
        assert_eq!(mqtt.role, role);
        assert_eq!((mqtt.host_env.as_str(), mqtt.port_env.as_str()), ("MQTT_BROKER_HOST", "MQTT_BROKER_PORT"));
        assert_eq!((mqtt.connect_timeout_s, mqtt.answer_deadline_ms, mqtt.quiet_ms), (30, 1000, 20));
    }
    let r = load(&mqtt_node("gateway", ", mqtt: {host_env: BROKER, port_env: BPORT, processing_us: 250}")).unwrap();
    let Implementation::Docker(d) = &r.nodes[0].implementation else { panic!("a docker node") };
    let mqtt = d.mqtt.as_ref().unwrap();
    assert_eq!((mqtt.host_env.as_str(), mqtt.processing_us), ("BROKER", Some(250)));
    let r = load("nodes:\n  - {id: g, type: gateway, implementation: docker, docker: {image: 'g:1'}}\n").unwrap();
    let Implementation::Docker(d) = &r.nodes[0].implementation else { panic!("a docker node") };
    assert!(d.mqtt.is_none(), "only `protocol: mqtt` nodes have MQTT settings");
}

#[test]
fn mqtt_settings_are_checked_naming_the_key_and_the_fix() {
    let text = error_text(
        "nodes:\n  - id: g\n    type: gateway\n    implementation: docker\n    docker: {image: 'g:1', mqtt: {quiet_ms: 5}}\n",
    );
    assert!(
        text.contains("`mqtt:` on a node that does not speak MQTT") && text.contains("add `protocol: mqtt`"),
        "{text}"
    );
    let text = error_text(&mqtt_node("gateway", ", network_mode: bridge"));
    assert!(text.contains("`network_mode` on an MQTT node") && text.contains("internal network"), "{text}");
    let text = error_text(&mqtt_node("gateway", ", ports: {1883: 1883}"));
    assert!(text.contains("`ports` on an MQTT node"), "{text}");
    let text = error_text(&mqtt_node("gateway", ", mqtt: {time_scale: 2.0, processing_us: 10}"));
    assert!(text.contains("both `time_scale` and `processing_us`"), "{text}");
    let text = error_text(&mqtt_node("gateway", ", mqtt: {host_env: 'MQTT-HOST'}"));
    assert!(text.contains("host_env 'MQTT-HOST' is not an environment variable's name"), "{text}");
    let text = error_text(&mqtt_node("gateway", ", mqtt: {answer_deadline_ms: 0}"));
    assert!(text.contains("answer_deadline_ms is 0; allowed 1 ..= 600000"), "{text}");
    let text = error_text(&mqtt_node("gateway", ", mqtt: {quiet: 5}"));
    assert!(text.contains("unknown key 'quiet'") && text.contains("quiet_ms"), "{text}");
    assert!(text.contains("node: svc"), "{text}");
}

#[test]
fn a_build_network_needs_a_build_context() {
    let text = error_text(&mqtt_node("gateway", ", build_network: true"));
    assert!(text.contains("`build_network` without `build_context`"), "{text}");
}

#[test]
fn a_cpu_is_a_profile_or_a_speed_kept_exactly_and_a_count_entry_gives_it_to_every_member() {
    let r = load(
        "nodes:\n  - {id: s, type: sensor, cpu: edge_gateway}\n  - {id: 'g{i}', count: 2, type: gateway, cpu: {instructions_per_us: 2.5}}\n  - {id: c, type: cloud}\n",
    )
    .unwrap();
    let edge = scenario::CpuSpeed::profile("edge_gateway").unwrap();
    assert_eq!(r.nodes[0].cpu.as_ref(), Some(&edge));
    assert_eq!(edge.profile.as_deref(), Some("edge_gateway"));
    for member in &r.nodes[1..3] {
        assert_eq!(member.cpu, Some(scenario::CpuSpeed { profile: None, instructions_per_ms: 2_500 }));
    }
    assert_eq!(r.nodes[3].cpu, None, "no `cpu:`: steps take no virtual time");
    let yaml = scenario::resolved_to_yaml(&r);
    assert!(yaml.contains("cpu:\n    instructions_per_ms: 2500"), "{yaml}");
}

#[test]
fn a_wrong_cpu_is_an_error_at_its_line_with_the_fix() {
    let text = error_text("nodes:\n  - {id: s, type: sensor, cpu: edge_gatway}\n");
    assert!(text.starts_with("scenarios/inline.yaml:2:32: error: unknown cpu profile 'edge_gatway'"), "{text}");
    assert!(text.contains("did you mean 'edge_gateway'?"), "{text}");
    let text = error_text("nodes:\n  - id: s\n    type: sensor\n    cpu: {instructions_per_s: 5}\n");
    assert!(
        text.starts_with("scenarios/inline.yaml:4:11: error: unknown key 'instructions_per_s' in `cpu:`"),
        "{text}"
    );
    assert!(text.contains("did you mean 'instructions_per_us'?"), "{text}");
    for bad in ["0", "-2", "0.0005", "'fast'", "2000000000"] {
        let text = error_text(&format!("nodes:\n  - {{id: s, type: sensor, cpu: {{instructions_per_us: {bad}}}}}\n"));
        assert!(text.contains("error: cpu.instructions_per_us must be a positive number"), "{bad}: {text}");
        assert!(text.contains("at most three decimals"), "{text}");
    }
    let text = error_text("nodes:\n  - {id: s, type: sensor, cpu: [1]}\n");
    assert!(text.contains("`cpu:` must be a profile name or a mapping"), "{text}");
    let text = error_text(
        "nodes:\n  - id: g\n    type: gateway\n    implementation: docker\n    docker: {image: x}\n    cpu: cloud_vm\n",
    );
    assert!(text.starts_with("scenarios/inline.yaml:6:5: error: `cpu:` on a docker node"), "{text}");
    assert!(text.contains("a container's time is measured"), "{text}");
}
