//! MQTT container nodes (`docker.protocol: mqtt`, #23) against a real
//! Docker engine: the scenarios of tests/fixtures/mqtt, each
//! containers/mqtt-client behaving well or committing one fault, WASM
//! sensors publishing through the built-in broker. Each fault is a node
//! fault or a count, named; after each run nothing this process made is
//! left (containers, networks). Without an engine these tests fail loudly
//! (see `docker_engine`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use xedgesim::run::{FaultRecord, RunStatus, RunSummary, Simulation, TraceLevel};
use xedgesim::runtime::docker::{DockerEngine, LABEL_PID, ListContainersOptions};
use xedgesim_tests::{docker_engine, read_metrics, repo_root, run_label, yaml_files};

/// Every fixture, and the test that runs it.
const FIXTURES: [&str; 15] = [
    "answers_late",
    "connects_twice",
    "crash_restart",
    "disconnects",
    "drops_connection",
    "echo",
    "floods",
    "malformed",
    "mqtt5",
    "never_connects",
    "oversized",
    "partition",
    "qos2",
    "retained_keepalive",
    "subscribes_all",
];

/// One run at a time: each checks that nothing of this process is left,
/// which another's running containers would fail (and two cores are slow
/// enough with one).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fixture's run, with every trace event and its outputs.
struct Run {
    report: RunSummary,
    dir: tempfile::TempDir,
}

impl Run {
    fn of(fixture: &str) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let file = repo_root().join(format!("tests/fixtures/mqtt/{fixture}.yaml"));
        let report = Simulation::from_file(&file)
            .unwrap_or_else(|e| panic!("{e}"))
            .out_dir(dir.path().join("out"))
            .cache_dir(Some(dir.path().join("cache")))
            .trace(TraceLevel::All)
            .run_label(run_label())
            .run()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.status, RunStatus::Finished, "{fixture}: {:?}", report.reason);
        assert!(!report.deterministic, "{fixture}: a run with a container is not deterministic");
        Run { report, dir }
    }

    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("out")
    }

    fn metric(&self, node: &str, name: &str) -> f64 {
        let metrics = read_metrics(&self.out());
        *metrics.get(&(node.to_string(), name.to_string())).unwrap_or_else(|| panic!("no {node}.{name}: {metrics:?}"))
    }

    fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.out().join("trace.jsonl")).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// The messages `src` sent: (time, topic, payload).
    fn sends_from(&self, src: &str) -> Vec<(u64, String, String)> {
        self.events()
            .iter()
            .filter(|e| e["event"] == "send" && e["src"] == src)
            .map(|e| (e["t_us"].as_u64().unwrap(), text(&e["topic"]), text(&e["payload"])))
            .collect()
    }

    /// svc's answers: what it sent on reply/….
    fn replies(&self) -> Vec<(u64, String, String)> {
        self.sends_from("svc").into_iter().filter(|(_, topic, _)| topic.starts_with("reply/")).collect()
    }

    /// The times messages were delivered to `dst`, with their ids' payloads.
    fn deliveries_to(&self, dst: &str) -> Vec<(u64, String, String)> {
        let events = self.events();
        let sent: BTreeMap<u64, &Value> =
            events.iter().filter(|e| e["event"] == "send").map(|e| (e["id"].as_u64().unwrap(), e)).collect();
        events
            .iter()
            .filter(|e| e["event"] == "deliver" && e["dst"] == dst)
            .map(|e| {
                let send = sent[&e["id"].as_u64().unwrap()];
                (e["t_us"].as_u64().unwrap(), text(&send["topic"]), text(&send["payload"]))
            })
            .collect()
    }

    /// svc's log lines the host wrote (`[mqtt] …`).
    fn host_notes(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["event"] == "log" && e["node"] == "svc" && e["stream"] == "log")
            .map(|e| text(&e["text"]))
            .collect()
    }

    /// The one fault, svc's.
    fn fault(&self) -> &FaultRecord {
        assert_eq!(self.report.faults.len(), 1, "{:?}", self.report.faults);
        let fault = &self.report.faults[0];
        assert_eq!(fault.node, "svc");
        fault
    }

    fn dropped(&self, reason: &str) -> u64 {
        self.report.messages.dropped_by_reason.get(reason).copied().unwrap_or(0)
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// What this process made that is still there: containers and networks
/// carrying its pid (the engine's other users are left out).
fn leftovers(engine: &DockerEngine) -> Vec<String> {
    let pid = format!("{LABEL_PID}={}", std::process::id());
    let filters = std::collections::HashMap::from([("label".to_string(), vec![pid])]);
    let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    let docker = engine.docker();
    let containers = engine.block_on(docker.list_containers(Some(options))).expect("the engine lists containers");
    let networks = engine.block_on(docker.list_networks(None)).expect("the engine lists networks");
    let ours = |labels: &Option<std::collections::HashMap<String, String>>| {
        labels.as_ref().and_then(|l| l.get(LABEL_PID)).is_some_and(|p| *p == std::process::id().to_string())
    };
    containers
        .into_iter()
        .map(|c| format!("container {:?}", c.names))
        .chain(networks.into_iter().filter(|n| ours(&n.labels)).map(|n| format!("network {:?}", n.name)))
        .collect()
}

/// Runs `fixture` with the engine, one at a time; checks nothing is left.
fn run(fixture: &str, check: impl FnOnce(&Run)) {
    let Some(engine) = docker_engine() else { return };
    let _one = one_at_a_time();
    let run = Run::of(fixture);
    check(&run);
    assert_eq!(leftovers(&engine), Vec::<String>::new(), "{fixture}: left behind");
}

/// The sensors' readings as the broker forwarded them to svc: (time, topic, payload).
fn readings_to_svc(run: &Run) -> Vec<(u64, String, String)> {
    run.deliveries_to("svc").into_iter().filter(|(_, topic, _)| topic.starts_with("in/")).collect()
}

#[test]
fn every_fixture_has_a_test() {
    let files: Vec<String> = yaml_files("tests/fixtures/mqtt")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, FIXTURES);
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mqtt.rs")).unwrap();
    for fixture in FIXTURES {
        assert!(source.contains(&format!("run(\"{fixture}\"")), "no test runs {fixture}.yaml");
    }
}

#[test]
fn a_well_behaved_service_answers_each_reading_with_its_payload() {
    run("echo", |run| {
        assert!(run.report.faults.is_empty(), "{:?}", run.report.faults);
        let subscribed: Vec<String> =
            run.sends_from("svc").into_iter().filter(|(_, t, _)| t == "$subscribe").map(|(_, _, p)| p).collect();
        assert_eq!(subscribed, ["in/s1", "in/s2"], "its SUBSCRIBE, as the broker's convention");
        let readings = readings_to_svc(run);
        // s1 at 1 … 4 s and s2 at 0.5 … 4.5 s reach it by 5 s (2 ms a hop, two hops).
        assert_eq!(readings.len(), 13, "{readings:?}");
        let replies = run.replies();
        assert_eq!(replies.len(), readings.len(), "one answer each: {replies:?}");
        for (delivered_us, topic, payload) in &readings {
            let (sent_us, ..) = replies
                .iter()
                .find(|(_, t, p)| *t == format!("reply/{topic}") && p == payload)
                .unwrap_or_else(|| panic!("no answer to {topic} {payload}: {replies:?}"));
            // It leaves after its processing time (wall time: a loaded machine's
            // milliseconds at most), never before the reading came.
            assert!((*delivered_us..delivered_us + 1_000_000).contains(sent_us), "{delivered_us} -> {sent_us}");
        }
        assert_eq!(run.metric("svc", "mqtt_delivered"), 13.0);
        assert_eq!(run.metric("svc", "mqtt_published"), 13.0);
        assert_eq!(run.metric("svc", "mqtt_late_answers"), 0.0);
        assert_eq!(run.metric("svc", "mqtt_unanswered"), 0.0);
        assert!(run.host_notes().iter().any(|n| n.starts_with("[mqtt] connected as")), "{:?}", run.host_notes());
    });
}

#[test]
fn a_container_that_never_connects_is_a_not_connected_fault() {
    run("never_connects", |run| {
        let fault = run.fault();
        assert_eq!((fault.kind.as_str(), fault.time_us), ("not_connected", 0));
        assert!(fault.message.contains("did not connect to its MQTT endpoint within 2 s"), "{}", fault.message);
        assert!(fault.message.contains("MQTT_BROKER_HOST="), "names the variables: {}", fault.message);
        assert!(fault.message.contains("never connecting; sleeping"), "its log tail: {}", fault.message);
        assert!(run.sends_from("svc").is_empty());
    });
}

#[test]
fn a_second_connection_is_an_mqtt_fault() {
    run("connects_twice", |run| {
        let fault = run.fault();
        assert_eq!(fault.kind, "mqtt");
        assert!(fault.message.contains("a second connection while its first was open"), "{}", fault.message);
        assert!(run.replies().is_empty());
    });
}

/// `disconnects` and `drops_connection`: three answers (the readings of
/// 0.5 s and the two of 1 s: AFTER=3), then the connection ends `why`.
fn ends_its_connection_after_three_answers(run: &Run, why: &str) {
    assert!(run.report.faults.is_empty(), "counted, not a fault: {:?}", run.report.faults);
    let replies = run.replies();
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert_eq!(run.metric("svc", "mqtt_published"), 3.0);
    assert_eq!(run.metric("svc", "mqtt_disconnects"), 1.0);
    let notes = run.host_notes();
    assert!(notes.iter().any(|n| n == &format!("[mqtt] disconnected: {why}")), "{notes:?}");
    // Its session was clean: its subscriptions end with it.
    let unsubscribed: Vec<String> =
        run.sends_from("svc").into_iter().filter(|(_, t, _)| t == "$unsubscribe").map(|(_, _, p)| p).collect();
    assert_eq!(unsubscribed, ["in/s1", "in/s2"]);
    // The readings of 1.5 s on (s1's 2, 3, 4 s; s2's 1.5 … 4.5 s) get no
    // answer: counted by the host as undelivered, or (once the broker
    // honours $unsubscribe) by the broker as unrouted, or, when the
    // disconnect comes a little later on the wall clock (a loaded machine),
    // delivered to the container before it left and never answered.
    let delivered_unanswered = run.metric("svc", "mqtt_delivered") - 3.0;
    let nobody = run.metric("svc", "mqtt_undelivered") + run.metric("broker", "unrouted") + delivered_unanswered;
    assert!(nobody >= 10.0, "{nobody}: {:?}", read_metrics(&run.out()));
}

#[test]
fn a_disconnect_mid_run_is_counted_and_named() {
    run("disconnects", |run| ends_its_connection_after_three_answers(run, "it sent DISCONNECT"));
}

#[test]
fn a_connection_dropped_mid_run_is_counted_and_named() {
    run("drops_connection", |run| {
        ends_its_connection_after_three_answers(run, "it closed the connection without DISCONNECT")
    });
}

#[test]
fn a_malformed_packet_is_an_mqtt_fault_naming_it() {
    run("malformed", |run| {
        let fault = run.fault();
        assert_eq!(fault.kind, "mqtt");
        assert!(fault.message.contains("a packet of reserved type 15"), "{}", fault.message);
    });
}

#[test]
fn an_oversized_packet_is_an_mqtt_fault_from_its_header() {
    run("oversized", |run| {
        let fault = run.fault();
        assert_eq!(fault.kind, "mqtt");
        let announced = "a packet of 67108864 bytes, over the 16777216 a packet may have (docker.max_frame_bytes)";
        assert!(fault.message.contains(announced), "{}", fault.message);
        // Its fixed header: PUBLISH, remaining length 64 MiB in four bytes.
        assert!(fault.message.contains("it starts 30 80 80 80 20"), "{}", fault.message);
    });
}

#[test]
fn a_qos_2_publish_is_an_mqtt_fault_naming_the_packet() {
    run("qos2", |run| {
        let fault = run.fault();
        assert_eq!(fault.kind, "mqtt");
        assert!(fault.message.contains("a PUBLISH on 'out/qos2' with QoS 2"), "{}", fault.message);
        assert!(run.sends_from("svc").iter().all(|(_, topic, _)| topic != "out/qos2"));
    });
}

#[test]
fn an_mqtt_5_connect_is_an_mqtt_fault() {
    run("mqtt5", |run| {
        let fault = run.fault();
        assert_eq!(fault.kind, "mqtt");
        assert!(fault.message.contains("a CONNECT for MQTT 5 (protocol level 5)"), "{}", fault.message);
    });
}

#[test]
fn a_subscription_to_everything_gets_every_reading_and_its_own_replies_but_no_dollar_topic() {
    run("subscribes_all", |run| {
        assert!(run.report.faults.is_empty(), "{:?}", run.report.faults);
        let delivered = run.deliveries_to("svc");
        assert!(delivered.iter().any(|(_, t, _)| t == "in/s1") && delivered.iter().any(|(_, t, _)| t == "in/s2"));
        assert!(delivered.iter().any(|(_, t, _)| t.starts_with("reply/")), "its own replies come back under #");
        assert!(delivered.iter().all(|(_, t, _)| !t.starts_with('$')), "{delivered:?}");
        assert_eq!(run.replies().len(), readings_to_svc(run).len(), "each reading answered once, no reply echoed");
    });
}

#[test]
fn a_flood_faster_than_its_link_fills_its_buffer_and_the_rest_is_dropped_as_queue_full() {
    run("floods", |run| {
        assert!(run.report.faults.is_empty(), "{:?}", run.report.faults);
        assert_eq!(run.metric("svc", "mqtt_published"), 20_000.0, "the host took every PUBLISH");
        let events = run.events();
        let bytes: BTreeMap<u64, u64> = events
            .iter()
            .filter(|e| e["event"] == "send" && e["src"] == "svc" && e["topic"] == "out/flood")
            .map(|e| (e["id"].as_u64().unwrap(), e["bytes"].as_u64().unwrap()))
            .collect();
        let arrivals: Vec<(u64, u64)> = events
            .iter()
            .filter(|e| e["event"] == "deliver" && bytes.contains_key(&e["id"].as_u64().unwrap()))
            .map(|e| (e["t_us"].as_u64().unwrap(), bytes[&e["id"].as_u64().unwrap()]))
            .collect();
        // The link carries 9600 bit/s: each message follows the one before
        // by at least its own payload's bits.
        assert!(arrivals.len() > 100, "it flowed: {}", arrivals.len());
        for pair in arrivals.windows(2) {
            let ((before, _), (after, size)) = (pair[0], pair[1]);
            assert!(after - before >= (size * 8 * 1_000_000).div_ceil(9_600), "{pair:?}");
        }
        // What did not fit in the link's 1200-byte buffer was dropped at
        // svc as queue_full; what did and has not arrived is in flight:
        // at most the buffer's worth (a message has a byte at least), and
        // what 2 ms of latency holds (3 bytes at 9600 bit/s).
        assert!(arrivals.len() < 20_000);
        let queue_full: Vec<u64> = events
            .iter()
            .filter(|e| e["event"] == "drop" && e["reason"] == "queue_full")
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        assert!(queue_full.iter().all(|id| bytes.contains_key(id)), "only the flood fills the buffer");
        assert_eq!(run.dropped("queue_full"), queue_full.len() as u64);
        assert_eq!(run.report.messages.dropped_by_reason.len(), 1, "{:?}", run.report.messages);
        let waiting = 20_000 - arrivals.len() - queue_full.len();
        assert!(waiting <= 1_200 + 3, "{waiting} in flight");
        assert!(run.report.messages.in_flight >= waiting as u64, "{:?}", run.report.messages);
        let readings = run.deliveries_to("broker").iter().filter(|(_, topic, _)| topic.starts_with("in/")).count();
        assert_eq!(run.metric("broker", "published"), (arrivals.len() + readings) as f64);
    });
}

#[test]
fn a_delivery_unanswered_by_the_deadline_is_counted_and_named() {
    run("answers_late", |run| {
        assert!(run.report.faults.is_empty(), "{:?}", run.report.faults);
        let unanswered = run.metric("svc", "mqtt_unanswered");
        assert!(unanswered >= 1.0, "{unanswered}");
        // Each delivery's note says how many of its messages went unanswered.
        let notes = run.host_notes();
        let named: u64 = notes
            .iter()
            .filter_map(|n| {
                n.strip_prefix("[mqtt] ")?
                    .split_once(" of ")
                    .filter(|(_, rest)| rest.contains("unanswered within 300 ms"))
            })
            .map(|(missing, _)| missing.parse::<u64>().expect("a count"))
            .sum();
        assert_eq!(named as f64, unanswered, "{notes:?}");
    });
}

#[test]
fn a_late_answer_is_dropped_and_counted_not_taken_for_a_later_one() {
    run("answers_late", |run| {
        assert!(run.metric("svc", "mqtt_late_answers") >= 1.0);
        // Every reply that left answers a reading delivered within the
        // deadline before it: none 1.5 s (wall) late.
        let readings = readings_to_svc(run);
        for (sent_us, topic, payload) in run.replies() {
            let (delivered_us, ..) = readings
                .iter()
                .find(|(_, t, p)| format!("reply/{t}") == topic && *p == payload)
                .expect("a reply answers a reading");
            assert!(sent_us - delivered_us <= 300_000, "{topic} {payload}: delivered {delivered_us}, left {sent_us}");
        }
    });
}

#[test]
fn a_partition_drops_the_traffic_of_an_mqtt_node_and_heals() {
    run("partition", |run| {
        assert!(run.report.faults.is_empty(), "{:?}", run.report.faults);
        // Cut from 2 s to 4 s: the broker's forwards of s1's 2 and 3 s
        // readings and s2's 2, 2.5, 3 and 3.5 s ones (each sent on 2 ms after).
        assert_eq!(run.dropped("partition"), 6, "{:?}", run.report.messages);
        let readings = readings_to_svc(run);
        assert!(readings.iter().all(|(t, ..)| !(2_000_000..4_000_000).contains(t)), "{readings:?}");
        let replies = run.replies();
        assert!(replies.iter().any(|(t, ..)| *t < 2_000_000), "answers before the cut: {replies:?}");
        assert!(replies.iter().any(|(t, ..)| *t > 4_000_000), "answers after it heals: {replies:?}");
        assert_eq!(replies.len(), readings.len());
    });
}

#[test]
fn a_crash_and_restart_runs_a_new_container_that_connects_again() {
    run("crash_restart", |run| {
        assert!(run.report.faults.is_empty(), "{:?}", run.report.faults);
        // Down from 2 s to 3.5 s: s1's 2 and 3 s readings, s2's 2, 2.5 and 3 s ones.
        assert_eq!(run.dropped("node_down"), 5, "{:?}", run.report.messages);
        let scripted = run.report.scripted_faults.as_ref().expect("the fixture has faults");
        assert_eq!(scripted.messages_lost, BTreeMap::from([("crash".to_string(), 5)]));
        // Two containers (a container's hostname, its client id, is its id).
        let connected: Vec<String> =
            run.host_notes().into_iter().filter(|n| n.starts_with("[mqtt] connected as")).collect();
        assert_eq!(connected.len(), 2, "{connected:?}");
        assert_ne!(connected[0], connected[1]);
        let replies = run.replies();
        assert!(replies.iter().all(|(t, ..)| !(2_000_000..3_500_000).contains(t)), "{replies:?}");
        assert!(replies.iter().any(|(t, ..)| *t > 3_500_000), "the new container answers: {replies:?}");
        assert_eq!(run.metric("svc", "mqtt_published"), replies.len() as f64);
    });
}

#[test]
fn a_retained_publish_is_kept_by_the_broker_and_keep_alive_holds_on_the_wall_clock() {
    run("retained_keepalive", |run| {
        assert!(run.report.faults.is_empty(), "{:?}", run.report.faults);
        let retained: Vec<_> =
            run.sends_from("svc").into_iter().filter(|(_, t, _)| t == "$retain/status/svc").collect();
        assert_eq!(retained.len(), 1, "its retained PUBLISH, marked for the broker: {retained:?}");
        assert_eq!(run.metric("broker", "retained"), 1.0, "the broker keeps it");
        assert_eq!(run.metric("cloud", "received_status/svc"), 1.0, "the subscriber gets it once");
        // 13 readings reach it (as in the echo fixture) at 9 instants, each
        // holding it 500 ms of wall time: about 4.5 s, four keep-alives of 1 s.
        assert!(run.report.wall_duration_s > 3.0, "the run took {} s of wall time", run.report.wall_duration_s);
        assert_eq!(run.metric("svc", "mqtt_disconnects"), 0.0, "{:?}", run.host_notes());
        assert_eq!(run.replies().len(), readings_to_svc(run).len(), "each reading answered");
        assert_eq!(readings_to_svc(run).len(), 13);
    });
}
