use proptest::prelude::*;

use super::*;
use crate::runtime::Outgoing;
use crate::runtime::record::decoder::{DecodeError, Reader};

/// Every [`FaultKind`] variant, with fields at their edges.
pub(in crate::runtime::record) fn every_kind() -> Vec<FaultKind> {
    vec![
        FaultKind::Config,
        FaultKind::ModelError,
        FaultKind::OutOfFuel { budget: u64::MAX },
        FaultKind::MemoryLimit { memory_limit_mb: 64 },
        FaultKind::TableLimit { max_elements: 10_000 },
        FaultKind::StackOverflow,
        FaultKind::Trap,
        FaultKind::LogLimit { max_log_bytes: 0 },
        FaultKind::OutboxLimit { what: "messages", count: 1_001, limit: 1_000 },
        FaultKind::OutboxLimit { what: "bytes", count: u64::MAX, limit: 1 },
        FaultKind::RealTimeWait,
        FaultKind::WakeInPast { wake_at_us: 127 },
        FaultKind::SharedSandbox { culprit: "sensor-é\n1".into() },
        FaultKind::Stopped,
        FaultKind::ContainerExited { exit_code: None },
        FaultKind::ContainerExited { exit_code: Some(-1) },
        FaultKind::ContainerExited { exit_code: Some(i64::MIN) },
        FaultKind::Timeout { timeout_ms: 5_000 },
        FaultKind::Protocol,
        FaultKind::ImageBuild,
        FaultKind::ImageMissing { image: "registry/x:latest".into() },
        FaultKind::EngineUnreachable { endpoint: "unix:///var/run/docker.sock".into() },
        FaultKind::ContainerStart,
        FaultKind::BadBatch,
        FaultKind::GuestExit { code: i32::MIN },
        FaultKind::DuplicateMetric,
        FaultKind::NotConnected { timeout_s: 30 },
        FaultKind::Mqtt,
        FaultKind::Interrupted,
        FaultKind::ReplayDiverged,
    ]
}

fn round_trip(event: &Event) -> Event {
    let mut bytes = Vec::new();
    put_event(&mut bytes, event);
    let mut reader = Reader::new(&bytes);
    let back = reader.event().unwrap();
    assert!(reader.at_end(), "{event:?} read back with bytes left");
    back
}

#[test]
fn every_fault_kind_round_trips_exactly() {
    let kinds = every_kind();
    // A new variant must be added here (and to the codec): the list covers them all.
    let names: std::collections::BTreeSet<&str> = kinds.iter().map(FaultKind::name).collect();
    assert_eq!(names.len(), 27, "every FaultKind variant is listed");
    for kind in kinds {
        let fault = NodeFault { node: "gw".into(), time_us: 1_500_000, kind: kind.clone(), detail: "why\u{1b}".into() };
        let event = Event::Step { now_us: 7, inbox: Vec::new(), result: Err(fault.clone()), fuel: None };
        assert_eq!(round_trip(&event), event, "{kind:?}");
        let event = Event::Restart { now_us: 9, restarts: u32::MAX, result: Err(fault) };
        assert_eq!(round_trip(&event), event, "{kind:?}");
    }
}

#[test]
fn an_outbox_limit_counting_something_unknown_is_malformed_at_its_text() {
    let fault = NodeFault {
        node: "n".into(),
        time_us: 0,
        kind: FaultKind::OutboxLimit { what: "topics", count: 1, limit: 0 },
        detail: String::new(),
    };
    let mut bytes = Vec::new();
    put_event(&mut bytes, &Event::Finish { now_us: 0, result: Err(fault) });
    let e = Reader::new(&bytes).event().unwrap_err();
    assert!(e.what.contains("\"topics\""), "{e:?}");
    // Tag, time, result tag, node "n", time, kind tag: then the text.
    assert_eq!(e.offset, 1 + 1 + 1 + 2 + 1 + 1);
}

#[test]
fn metrics_keep_nan_infinities_and_negative_zero_bit_for_bit() {
    let metrics = vec![
        Metric::new("nan", f64::from_bits(0x7ff8_0000_dead_beef)),
        Metric::new("inf", f64::NEG_INFINITY),
        Metric::new("zero", -0.0),
    ];
    let event = Event::Finish { now_us: u64::MAX, result: Ok(metrics.clone()) };
    let Event::Finish { result: Ok(back), .. } = round_trip(&event) else { panic!("a finish") };
    let bits = |m: &[Metric]| m.iter().map(|m| (m.name.clone(), m.value.to_bits())).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&metrics));
}

#[test]
fn a_node_round_trips_with_its_usage_and_startup_fault() {
    let node = RecordedNode {
        id: "gw".into(),
        group: Some(u32::MAX),
        startup_fault: Some(NodeFault {
            node: "gw".into(),
            time_us: 0,
            kind: FaultKind::ImageMissing { image: "x".into() },
            detail: "no".into(),
        }),
        usage: NodeUsage {
            steps: 3,
            fuel_used: Some(0),
            round_trip_us_total: None,
            round_trip_us_max: Some(u64::MAX),
            cpu_time_us: Some(1),
            peak_memory_bytes: None,
            answers: Some(2),
            processing_us_p50: None,
            processing_us_p95: Some(5),
            processing_us_max: None,
            wall_to_virtual_us: Some(9),
        },
        events: vec![Event::Crash { now_us: 5 }],
    };
    let mut bytes = Vec::new();
    put_node_head(&mut bytes, &node);
    for event in &node.events {
        put_event(&mut bytes, event);
    }
    let mut reader = Reader::new(&bytes);
    assert_eq!(reader.node(|_| Ok(()), u64::MAX).unwrap(), node);
    assert!(reader.at_end());
}

#[test]
fn a_huge_count_or_length_fails_without_allocating_it() {
    // An inbox claiming u64::MAX messages, then nothing.
    let mut bytes = vec![STEP, 0];
    put_varint(&mut bytes, u64::MAX);
    let e = Reader::new(&bytes).event().unwrap_err();
    assert_eq!(
        e,
        DecodeError { offset: 2, what: "an inbox's length claims 18446744073709551615; 0 bytes are left".into() }
    );
    // A payload claiming 4 GiB.
    let mut bytes = vec![STEP, 0, 1, 1, b's', 1, 1, b't'];
    put_varint(&mut bytes, 4 << 30);
    let e = Reader::new(&bytes).event().unwrap_err();
    assert_eq!(e.offset, 8, "{e:?}");
    assert!(e.what.contains("payload claims 4294967296 bytes"), "{e:?}");
}

#[test]
fn varints_past_64_bits_are_refused() {
    let mut bytes = vec![CRASH];
    bytes.extend([0xff; 9]);
    bytes.push(0x02);
    let e = Reader::new(&bytes).event().unwrap_err();
    assert_eq!(e.offset, 1);
    assert!(e.what.contains("64 bits"), "{e:?}");
    let mut bytes = vec![CRASH];
    put_varint(&mut bytes, u64::MAX);
    assert_eq!(Reader::new(&bytes).event().unwrap(), Event::Crash { now_us: u64::MAX });
}

#[test]
fn unknown_tags_and_bad_text_name_their_byte() {
    for (bytes, offset, what) in [
        (vec![9u8], 0, "event kind 9"),
        (vec![CRASH], 1, "ends where a crash's time"),
        (vec![LOGS, 0, 1, 0, 7], 4, "log stream 7"),
        (vec![LOGS, 0, 1, 0, 0, 5], 5, "log level 5"),
        (vec![LOGS, 0, 1, 0, 0, 0, 1, 0xff], 6, "not UTF-8"),
        (vec![FINISH, 0, 2], 2, "result tag 2"),
        (vec![FINISH, 0, 1, 0, 0, 27], 5, "fault kind 27"),
        (vec![RESTART, 0, 0x80, 0x80, 0x80, 0x80, 0x10], 2, "restart count"),
    ] {
        let e = Reader::new(&bytes).event().unwrap_err();
        assert_eq!(e.offset, offset, "{bytes:?}: {e:?}");
        assert!(e.what.contains(what), "{bytes:?}: {e:?}");
    }
}

#[test]
fn every_cut_of_an_event_is_an_error_never_a_panic() {
    let event = sample_step();
    let mut bytes = Vec::new();
    put_event(&mut bytes, &event);
    for len in 0..bytes.len() {
        assert!(Reader::new(&bytes[..len]).event().is_err(), "cut at {len}");
    }
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[i] ^= flip;
            // Either an error or some other event: never a panic.
            let _ = Reader::new(&damaged).events_to_end();
        }
    }
}

pub(in crate::runtime::record) fn sample_step() -> Event {
    Event::Step {
        now_us: 1_000_000,
        inbox: vec![Message {
            source: "s1".into(),
            destination: Address::Node("gw".into()),
            topic: "sensors/t".into(),
            payload: b"{\"t\":21.5}".to_vec(),
            sent_us: 999_000,
        }],
        result: Ok(StepOutput {
            outbox: vec![Outgoing { destination: Address::Publish, topic: "agg".into(), payload: vec![0, 255] }],
            wake_at_us: Some(2_000_000),
        }),
        fuel: Some(12_345),
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z/]{1,12}", any::<String>()]
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![Just(Address::Publish), text().prop_map(Address::Node)]
}

fn message() -> impl Strategy<Value = Message> {
    (text(), address(), text(), proptest::collection::vec(any::<u8>(), 0..40), any::<u64>()).prop_map(
        |(source, destination, topic, payload, sent_us)| Message { source, destination, topic, payload, sent_us },
    )
}

fn fault() -> impl Strategy<Value = NodeFault> {
    (text(), any::<u64>(), proptest::sample::select(every_kind()), text())
        .prop_map(|(node, time_us, kind, detail)| NodeFault { node, time_us, kind, detail })
}

fn output() -> impl Strategy<Value = StepOutput> {
    let sent = (address(), text(), proptest::collection::vec(any::<u8>(), 0..40))
        .prop_map(|(destination, topic, payload)| Outgoing { destination, topic, payload });
    (proptest::collection::vec(sent, 0..4), any::<Option<u64>>())
        .prop_map(|(outbox, wake_at_us)| StepOutput { outbox, wake_at_us })
}

fn log_line() -> impl Strategy<Value = RecordedLog> {
    let stream = proptest::sample::select(vec![LogStream::Log, LogStream::Stdout, LogStream::Stderr]);
    let level = proptest::sample::select(vec![
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
    ]);
    (any::<u64>(), stream, level, text()).prop_map(|(time_us, stream, level, text)| RecordedLog {
        time_us,
        stream,
        level,
        text,
    })
}

fn event() -> impl Strategy<Value = Event> {
    // Metric values are compared with ==, so no NaN here (the test above keeps NaN's bits).
    let metric = (text(), -1e300f64..1e300).prop_map(|(name, value)| Metric { name, value });
    prop_oneof![
        (
            any::<u64>(),
            proptest::collection::vec(message(), 0..4),
            prop_oneof![output().prop_map(Ok), fault().prop_map(Err)],
            any::<Option<u64>>()
        )
            .prop_map(|(now_us, inbox, result, fuel)| Event::Step { now_us, inbox, result, fuel }),
        (any::<u64>(), prop_oneof![proptest::collection::vec(metric, 0..4).prop_map(Ok), fault().prop_map(Err)])
            .prop_map(|(now_us, result)| Event::Finish { now_us, result }),
        any::<u64>().prop_map(|now_us| Event::Crash { now_us }),
        (any::<u64>(), any::<u32>(), prop_oneof![Just(Ok(())), fault().prop_map(Err)])
            .prop_map(|(now_us, restarts, result)| Event::Restart { now_us, restarts, result }),
        (any::<u64>(), proptest::collection::vec(log_line(), 0..4))
            .prop_map(|(after_calls, lines)| Event::Logs { after_calls, lines }),
    ]
}

proptest! {
    #[test]
    fn random_events_round_trip(events in proptest::collection::vec(event(), 0..8)) {
        let mut bytes = Vec::new();
        for event in &events {
            put_event(&mut bytes, event);
        }
        prop_assert_eq!(Reader::new(&bytes).events_to_end().unwrap(), events);
    }

    /// What a writer counts of a node's memory is what a reader charges for it.
    #[test]
    fn a_node_costs_a_reader_what_the_writer_counts(events in proptest::collection::vec(event(), 0..8)) {
        let node = RecordedNode { id: "n".into(), group: None, startup_fault: None, usage: NodeUsage::default(), events };
        let mut bytes = Vec::new();
        put_node_head(&mut bytes, &node);
        node.events.iter().for_each(|e| put_event(&mut bytes, e));
        let mut reader = Reader::new(&bytes);
        prop_assert_eq!(&reader.node(|_| Ok(()), u64::MAX).unwrap(), &node);
        prop_assert_eq!(reader.decoded_bytes(), decoded_bytes(std::slice::from_ref(&node)));
    }
}
