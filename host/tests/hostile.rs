//! Hostile models: each misbehaviour is a clear fault naming the node and
//! the virtual time, and the host survives it. (That the rest of a run
//! completes under `on_fault: isolate` is tested with the engine.)

mod common;

use common::*;
use xedgesim::runtime::wasm::WasmError;
use xedgesim::runtime::{FaultKind, NodeFault, NodeGroup};
use xedgesim::scenario::{ConfigValue, SandboxLimits};

const AT_US: u64 = 3_000_000;

/// Runs a hostile node that turns `mode` at 3 s; returns its fault.
fn fault_of(mode: &str, limits: SandboxLimits) -> NodeFault {
    fault_of_with(mode, 5_000, limits)
}

/// [`fault_of`], with the mode's `count`.
fn fault_of_with(mode: &str, count: i64, limits: SandboxLimits) -> NodeFault {
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let cfg = config(&[
        ("mode", text(mode)),
        ("at_us", ConfigValue::Integer(AT_US as i64)),
        ("count", ConfigValue::Integer(count)),
    ]);
    let mut g = single(&rt, &hostile, 1, "rogue", &cfg, limits).expect("constructed");
    for t in [0, 1_000_000, 2_000_000] {
        step(&mut g, 0, t, vec![]).expect("well-behaved before at_us");
    }
    let fault = step(&mut g, 0, AT_US, vec![]).expect_err("misbehaves at at_us");
    assert_eq!(fault.node, "rogue");
    assert_eq!(fault.time_us, AT_US);
    let message = fault.to_string();
    assert!(message.starts_with("node 'rogue' "), "{message}");
    assert!(message.contains("at t = 3.000000 s"), "{message}");
    // The store is poisoned: the node stays stopped, and says so.
    let again = step(&mut g, 0, 4_000_000, vec![]).expect_err("stopped");
    assert_eq!(again.kind, FaultKind::Stopped);
    fault
}

fn small_limits() -> SandboxLimits {
    SandboxLimits {
        fuel_per_step: 5_000_000,
        memory_limit_mb: 16,
        max_log_bytes: 64 * 1024,
        ..SandboxLimits::default()
    }
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let fault = fault_of("loop", small_limits());
    assert_eq!(fault.kind, FaultKind::OutOfFuel { budget: 5_000_000 });
    assert!(fault.to_string().contains("raise `wasm.fuel_per_step` (per call)"), "{fault}");
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let fault = fault_of("alloc", SandboxLimits { fuel_per_step: 1_000_000_000, ..small_limits() });
    assert_eq!(fault.kind, FaultKind::MemoryLimit { memory_limit_mb: 16 }, "{fault}");
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    let fault = fault_of("recurse", small_limits());
    assert_eq!(fault.kind, FaultKind::StackOverflow, "{fault}");
}

#[test]
fn a_panic_is_a_trap_quoting_the_panic_message() {
    let fault = fault_of("panic", small_limits());
    assert_eq!(fault.kind, FaultKind::Trap);
    assert!(fault.detail.contains("hostile model panicked on purpose at 3000000"), "{fault}");
}

#[test]
fn an_outbox_flood_is_refused() {
    let fault = fault_of("flood_outbox", SandboxLimits { max_outbox_messages: 1_000, ..SandboxLimits::default() });
    // Refused at the first message past the limit, before the rest is copied.
    assert_eq!(fault.kind, FaultKind::OutboxLimit { what: "messages", count: 1_001, limit: 1_000 }, "{fault}");
}

#[test]
fn a_log_flood_stops_at_the_log_budget() {
    let fault = fault_of("flood_log", small_limits());
    assert_eq!(fault.kind, FaultKind::LogLimit { max_log_bytes: 64 * 1024 }, "{fault}");
}

#[test]
fn a_real_time_sleep_is_refused_without_sleeping() {
    let started = std::time::Instant::now();
    let fault = fault_of("sleep", small_limits());
    assert_eq!(fault.kind, FaultKind::RealTimeWait, "{fault}");
    // The fixture asks for 5 s of real sleep; none of it may happen.
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "the host slept for real");
}

#[test]
fn exit_zero_is_reported_as_an_exit_not_a_crash() {
    let fault = fault_of("exit", small_limits());
    assert_eq!(fault.kind, FaultKind::GuestExit { code: 0 }, "{fault}");
    assert!(fault.to_string().contains("called exit(0) instead of returning"), "{fault}");
}

#[test]
fn a_model_error_is_reported_with_its_message() {
    let fault = fault_of("error", small_limits());
    assert_eq!(fault.kind, FaultKind::ModelError);
    assert_eq!(fault.detail, "model refused to step at 3000000");
}

#[test]
fn a_wake_up_in_the_past_is_refused() {
    let fault = fault_of("past_wake", small_limits());
    assert_eq!(fault.kind, FaultKind::WakeInPast { wake_at_us: AT_US - 1 });
}

#[test]
fn a_failing_constructor_is_a_config_fault_at_time_zero() {
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let fault = single(&rt, &hostile, 1, "rogue", &config(&[("mode", text("constructor"))]), small_limits())
        .expect_err("constructor fails");
    assert_eq!((fault.kind, fault.time_us), (FaultKind::Config, 0));
    assert_eq!(fault.detail, "constructor failed on purpose");
}

#[test]
fn a_fault_in_a_shared_sandbox_is_charged_to_the_running_node_wherever_it_is_listed() {
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let calm = config(&[("mode", text("none"))]);
    let rogue = config(&[("mode", text("panic"))]);
    for rogue_first in [true, false] {
        let mut specs = vec![
            xedgesim::runtime::wasm::NodeSpec { id: "rogue", config: &rogue },
            xedgesim::runtime::wasm::NodeSpec { id: "calm", config: &calm },
            xedgesim::runtime::wasm::NodeSpec { id: "later", config: &calm },
        ];
        if !rogue_first {
            specs.swap(0, 1);
        }
        let mut g = xedgesim::runtime::wasm::WasmNodeGroup::new(&rt, &hostile, 1, &specs, small_limits()).unwrap();
        let calls = (0..3).map(|index| xedgesim::runtime::StepCall { index, now_us: 0, inbox: vec![] }).collect();
        let results = g.step(calls);
        for (spec, result) in specs.iter().zip(&results) {
            let fault = result.as_ref().unwrap_err();
            assert_eq!(fault.node, spec.id);
            if spec.id == "rogue" {
                assert_eq!(fault.kind, FaultKind::Trap, "{fault}");
                assert!(fault.detail.contains("hostile model panicked on purpose"), "{fault}");
            } else {
                assert_eq!(fault.kind, FaultKind::SharedSandbox { culprit: "rogue".into() }, "{fault}");
            }
        }
    }
}

#[test]
fn each_node_in_a_shared_instance_gets_its_own_fuel_budget() {
    // Two looping nodes in one batch: each runs out of its own budget, and
    // the first to run is charged, not the one listed first.
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let calm = config(&[("mode", text("none"))]);
    let looping = config(&[("mode", text("loop"))]);
    let specs = [
        xedgesim::runtime::wasm::NodeSpec { id: "calm", config: &calm },
        xedgesim::runtime::wasm::NodeSpec { id: "looping", config: &looping },
    ];
    let mut g = xedgesim::runtime::wasm::WasmNodeGroup::new(&rt, &hostile, 1, &specs, small_limits()).unwrap();
    let calls = (0..2).map(|index| xedgesim::runtime::StepCall { index, now_us: 0, inbox: vec![] }).collect();
    let results = g.step(calls);
    assert!(matches!(&results[0], Err(f) if f.kind == FaultKind::SharedSandbox { culprit: "looping".into() }));
    let fault = results[1].as_ref().unwrap_err();
    assert_eq!(fault.kind, FaultKind::OutOfFuel { budget: 5_000_000 }, "its own budget, not the batch's: {fault}");
}

#[test]
fn random_bytes_cost_fuel_so_a_flood_of_requests_is_bounded() {
    // 1 MiB costs about 4 million fuel: the second request is past a 5 million budget.
    let fault = fault_of("random_flood", small_limits());
    assert_eq!(fault.kind, FaultKind::OutOfFuel { budget: 5_000_000 }, "{fault}");
}

#[test]
fn an_oversized_random_request_is_refused_in_words() {
    let fault = fault_of("random_huge", SandboxLimits { fuel_per_step: 1_000_000_000, ..small_limits() });
    assert_eq!(fault.kind, FaultKind::Trap, "{fault}");
    assert!(
        fault.detail.contains("the model asked for 16777216 random bytes in one call; at most 1048576 per call"),
        "{fault}"
    );
}

#[test]
fn a_step_batch_that_does_not_say_whose_code_runs_is_a_fault_of_its_sandbox() {
    let (rt, _dir) = runtime();
    let raw = fixture(&rt, "rawbatch");
    for (enter, detail) in [
        ("none", "`step-batch` ran call 0 (node 'first') without `enter(0)`"),
        ("repeat", "`enter(0)` again: each call is entered once, in order"),
        ("nested", "`enter(1)` while call 0 was entered and not left"),
    ] {
        let cfg = config(&[("results", text("same")), ("enter", text(enter))]);
        let specs = [
            xedgesim::runtime::wasm::NodeSpec { id: "first", config: &cfg },
            xedgesim::runtime::wasm::NodeSpec { id: "second", config: &cfg },
        ];
        let mut g = xedgesim::runtime::wasm::WasmNodeGroup::new(&rt, &raw, 1, &specs, SandboxLimits::default())
            .expect("constructed");
        let calls = (0..2).map(|index| xedgesim::runtime::StepCall { index, now_us: 0, inbox: vec![] }).collect();
        let out = g.step(calls);
        let faults: Vec<_> = out.iter().map(|r| r.as_ref().unwrap_err()).collect();
        let (charged, other) = if faults[0].kind == FaultKind::BadBatch { (0, 1) } else { (1, 0) };
        assert_eq!(faults[charged].kind, FaultKind::BadBatch, "{enter}: {:?}", faults);
        assert!(faults[charged].detail.contains(detail), "{enter}: {}", faults[charged].detail);
        assert!(matches!(&faults[other].kind, FaultKind::SharedSandbox { .. }), "{enter}: {:?}", faults);
    }
}

#[test]
fn a_faulted_node_does_not_affect_nodes_in_other_stores() {
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let mut rogue = single(&rt, &hostile, 1, "rogue", &config(&[("mode", text("loop"))]), small_limits()).unwrap();
    let mut calm = single(&rt, &hostile, 1, "calm", &config(&[("mode", text("none"))]), small_limits()).unwrap();
    assert!(step(&mut rogue, 0, 0, vec![]).is_err());
    for t in [0, 1_000_000, 2_000_000] {
        assert_eq!(step(&mut calm, 0, t, vec![]).unwrap().wake_at_us, Some(t + 1_000_000));
    }
    assert_eq!(calm.finish(&[0], 3_000_000).remove(0).unwrap()[0].value, 3.0);
}

#[test]
fn memories_and_tables_are_capped_for_the_whole_store_not_each() {
    let (rt, _dir) = runtime();
    let wat = r#"(module
        (memory $a 0) (memory $b 0) (table $t 0 funcref)
        (func (export "grow_a") (param i32) (result i32) (memory.grow $a (local.get 0)))
        (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
        (func (export "grow_t") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))"#;
    let module = wasmtime::Module::new(rt.engine(), wat::parse_str(wat).unwrap()).unwrap();
    let mut state = xedgesim::runtime::wasm::NodeState::new(1, 64 << 20);
    state.add_node(1, "n", 1 << 20);
    let mut store = wasmtime::Store::new(rt.engine(), state);
    store.limiter(xedgesim::runtime::wasm::NodeState::limiter);
    // As every sandbox's store is: the epoch moves only on Ctrl-C.
    store.set_epoch_deadline(1);
    // Growing a table costs fuel per element: enough for the limit to speak first.
    store.set_fuel(100_000_000).unwrap();
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    let grow = |store: &mut wasmtime::Store<_>, name: &str, n: i32| {
        instance.get_typed_func::<i32, i32>(&mut *store, name).unwrap().call(store, n)
    };
    // 40 MiB in one memory fits a 64 MiB cap; 40 more in another does not.
    assert_eq!(grow(&mut store, "grow_a", 640).unwrap(), 0);
    let e = grow(&mut store, "grow_b", 640).unwrap_err();
    assert!(format!("{e:#}").contains("past the store's cap of 67108864 bytes"), "{e:#}");
    let e = grow(&mut store, "grow_t", 2_000_000).unwrap_err();
    assert!(format!("{e:#}").contains("tables would hold 2000000 elements"), "{e:#}");
}

fn load_error(bytes: &[u8]) -> String {
    let (rt, _dir) = runtime();
    match rt.load_bytes("model.wasm".into(), bytes) {
        Ok(_) => panic!("should be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn imports_are_refused_before_anything_is_compiled() {
    let (rt, dir) = runtime();
    for fixture in ["imports_http.wat", "imports_unknown.wat", "imports_unknown_contract.wat", "contract_v0_1.wat"] {
        assert!(rt.load_bytes("model.wasm".into(), &wat_fixture(fixture)).is_err(), "{fixture}");
    }
    // A compiled component would have left an entry in the cache.
    let entries: Vec<_> =
        std::fs::read_dir(dir.path().join(xedgesim::runtime::wasm::CACHE_SUBFOLDER)).unwrap().collect();
    assert!(entries.is_empty(), "refused components were compiled: {entries:?}");
}

#[test]
fn a_component_importing_http_is_refused_at_load() {
    let e = load_error(&wat_fixture("imports_http.wat"));
    assert!(e.starts_with("model.wasm imports `wasi:http/outgoing-handler@0.2.0`, which models may not use"), "{e}");
    assert!(e.contains("no network access"), "{e}");
}

#[test]
fn a_component_importing_an_unknown_interface_is_refused_at_load() {
    let e = load_error(&wat_fixture("imports_unknown.wat"));
    assert!(e.contains("imports `acme:gpio/pins@1.0.0`"), "{e}");
    assert!(e.contains("the host provides only wasi:cli/"), "{e}");
}

#[test]
fn a_component_importing_an_unknown_part_of_the_contract_is_refused_at_load() {
    let e = load_error(&wat_fixture("imports_unknown_contract.wat"));
    assert!(e.starts_with("model.wasm imports `xedgesim:node/gpio@0.2.0`, which models may not use"), "{e}");
    assert!(
        e.contains("xedgesim:node/types@, xedgesim:node/log@, xedgesim:node/outbox@, xedgesim:node/sandbox@"),
        "{e}"
    );
}

#[test]
fn a_component_with_a_huge_function_is_refused_before_compiling() {
    // 1.1 million `nop`s in one function: minutes of compiling if let through.
    let body = "nop ".repeat(1_100_000);
    let wat = format!(
        "(component (core module (func {body})) (instance $model) (export \"xedgesim:node/model@0.2.0\" (instance $model)))"
    );
    let started = std::time::Instant::now();
    let e = load_error(&wat::parse_str(&wat).unwrap());
    assert!(
        e.starts_with(
            "model.wasm is too large to compile: its largest function is 1100002 bytes, over the limit of 1048576"
        ),
        "{e}"
    );
    assert!(e.contains("split the work into smaller functions"), "{e}");
    eprintln!("refused in {:?}", started.elapsed());
}

#[test]
fn a_component_for_another_contract_version_is_refused_at_load() {
    let e = load_error(&wat_fixture("contract_v0_1.wat"));
    assert!(e.contains("built against the contract xedgesim:node@0.1.0; this host speaks xedgesim:node@0.2.0"), "{e}");
}

#[test]
fn files_that_are_not_node_models_are_refused_at_load() {
    let e = load_error(&std::fs::read(fixture_file("not_wasm.bin")).unwrap());
    assert!(e.contains("is not a WebAssembly component: it does not start with the WebAssembly magic bytes"), "{e}");
    let e = load_error(&wat_fixture("core_module.wat"));
    assert!(e.contains("it is a core WebAssembly module, not a component"), "{e}");
    let e = load_error(&wat_fixture("not_a_model.wat"));
    assert!(e.contains("does not export `xedgesim:node/model`"), "{e}");
    // A truncated component: valid header, broken body.
    let truncated = &xedgesim::runtime::wasm::builtin_component("sensor").unwrap()[..4096];
    let e = load_error(truncated);
    assert!(e.contains("is not a WebAssembly component"), "{e}");
}

#[test]
fn a_missing_component_file_names_the_path() {
    let (mut rt, _dir) = runtime();
    let source = xedgesim::scenario::ComponentSource::File("/nonexistent/model.wasm".into());
    let e = rt.component(&source).unwrap_err();
    assert!(matches!(e, WasmError::Read { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/model.wasm"), "{e}");
}

#[test]
fn empty_log_lines_still_spend_the_log_budget() {
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let cfg = config(&[("mode", text("log_empty"))]);
    let limits = SandboxLimits { fuel_per_step: 1_000_000_000, ..small_limits() };
    let mut g = single(&rt, &hostile, 1, "rogue", &cfg, limits).expect("constructed");
    let fault = step(&mut g, 0, 0, vec![]).expect_err("runs out of log budget");
    assert_eq!(fault.kind, FaultKind::LogLimit { max_log_bytes: 64 * 1024 }, "{fault}");
    // 64 KiB at 64 bytes a line: at most 1,024 lines, however empty.
    let lines = g.take_logs().len();
    assert!(lines <= 1_024, "{lines} empty lines logged");
}

#[test]
fn a_step_batch_with_too_few_or_too_many_results_is_a_fault_of_its_sandbox() {
    let (rt, _dir) = runtime();
    let raw = fixture(&rt, "rawbatch");
    for (results, found) in [("fewer", 2), ("more", 4)] {
        let cfg = config(&[("results", text(results))]);
        let specs = [
            xedgesim::runtime::wasm::NodeSpec { id: "first", config: &cfg },
            xedgesim::runtime::wasm::NodeSpec { id: "second", config: &cfg },
            xedgesim::runtime::wasm::NodeSpec { id: "third", config: &cfg },
        ];
        let mut g = xedgesim::runtime::wasm::WasmNodeGroup::new(&rt, &raw, 1, &specs, SandboxLimits::default())
            .expect("constructed");
        let calls = (0..3).map(|index| xedgesim::runtime::StepCall { index, now_us: 0, inbox: vec![] }).collect();
        let out = g.step(calls);
        assert_eq!(out.len(), 3, "one result per call, whatever the guest answered");
        let first = out[0].as_ref().expect_err("faulted");
        assert_eq!(first.kind, FaultKind::BadBatch);
        assert_eq!(first.detail, format!("`step-batch` answered 3 calls with {found} results"));
        for r in &out[1..] {
            assert!(
                matches!(&r.as_ref().unwrap_err().kind, FaultKind::SharedSandbox { culprit } if culprit == "first")
            );
        }
    }
}

#[test]
fn destination_ids_count_against_the_outbox_byte_limit() {
    let fault = fault_of("long_ids", SandboxLimits { max_outbox_bytes: 100 * 1024, ..SandboxLimits::default() });
    // Messages to 64 KiB ids with a 1-byte topic: the second one reaches
    // 131,074 bytes and is refused before the other two are copied.
    assert_eq!(fault.kind, FaultKind::OutboxLimit { what: "bytes", count: 131_074, limit: 102_400 }, "{fault}");
}

#[test]
fn sockets_link_but_every_use_is_refused() {
    // The component imports wasi:sockets (Rust's std::net does): it loads,
    // and neither a connection nor a datagram nor a name lookup gets out.
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    for target in [listener.local_addr().unwrap().to_string(), "localhost:80".to_string()] {
        let cfg = config(&[("mode", text("connect")), ("target", text(&target))]);
        let mut node = single(&rt, &hostile, 1, "net", &cfg, small_limits()).unwrap();
        let fault = step(&mut node, 0, 0, vec![]).unwrap_err();
        assert_eq!(fault.kind, FaultKind::ModelError, "{fault}");
        assert!(fault.detail.starts_with("tcp refused: ") && fault.detail.contains("; udp refused: "), "{fault}");
        eprintln!("{target}: {}", fault.detail);
    }
    assert_eq!(listener.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock, "a connection got through");
}

#[test]
fn a_component_built_for_the_async_abi_is_refused_naming_the_fix() {
    let e = load_error(&wat_fixture("async_abi.wat"));
    assert!(e.starts_with("model.wasm is built for the component model's async ABI"), "{e}");
    assert!(e.contains("--sync"), "{e}");
    assert!(!e.contains("cargo build"), "{e}");
}

#[test]
fn an_outbox_copy_past_the_limit_is_refused_before_it_is_charged() {
    // One 64 MiB message: filling it takes the guest 50 to 70 million fuel,
    // and its copy would cost 64 million more than the step has; the limit
    // refuses it first, and says so.
    let limits = SandboxLimits { fuel_per_step: 70_000_000, memory_limit_mb: 256, ..SandboxLimits::default() };
    let fault = fault_of_with("big_publish", 64, limits);
    let limit = SandboxLimits::default().max_outbox_bytes;
    assert_eq!(fault.kind, FaultKind::OutboxLimit { what: "bytes", count: (64 << 20) + 3, limit }, "{fault}");
}

#[test]
fn a_constructors_megabyte_of_words_is_cut_where_it_leaves_the_guest() {
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let cfg = config(&[("mode", text("nasty_constructor"))]);
    let fault = single(&rt, &hostile, 1, "rogue", &cfg, small_limits()).expect_err("constructor fails");
    assert_eq!(fault.kind, FaultKind::Config);
    assert!(fault.detail.len() < 17 * 1024, "{} bytes kept", fault.detail.len());
    assert!(fault.detail.ends_with("more bytes cut by the host)"), "{}", &fault.detail[fault.detail.len() - 80..]);
    let shown = fault.to_string();
    assert!(shown.contains(r"\u{1b}[2J\u{1b}]0;pwned\u{7}\nALL NODES PASSED\n"), "{}", &shown[..200]);
    assert!(!shown.lines().any(|l| l.starts_with("ALL NODES PASSED")), "a guest faked a line");
}

#[test]
fn a_declaration_that_logs_while_it_is_read_is_read() {
    // The fixture logs a line and prints one from `config-keys`: a node
    // may log, and so may the declaration, within a node's log budget.
    let (rt, _dir) = runtime();
    let declared = fixture(&rt, "declared");
    let declaration = rt.declaration(&declared, SandboxLimits::default()).expect("read").expect("declared");
    let names: Vec<&str> = declaration.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["label_a", "label_b"]);
    // And its nodes run.
    let mut g = single(&rt, &declared, 1, "n", &config(&[]), SandboxLimits::default()).expect("constructed");
    assert_eq!(step(&mut g, 0, 0, vec![]).unwrap().wake_at_us, Some(1_000_000));
}

#[test]
fn a_declaration_naming_one_key_twice_is_refused() {
    // The declared fixture with its second key renamed to its first, as
    // someone could build it: `label_a` an integer, then text.
    let mut bytes = xedgesim::runtime::wasm::fixture_component("declared").unwrap().to_vec();
    let at: Vec<usize> = bytes.windows(7).enumerate().filter(|(_, w)| *w == b"label_b").map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "the key's name appears once in the component");
    bytes[at[0] + 6] = b'a';
    let (rt, _dir) = runtime();
    let twice = rt.load_bytes("twice.wasm".into(), &bytes).expect("loads");
    let e = rt.declaration(&twice, SandboxLimits::default()).expect_err("refused").to_string();
    assert_eq!(
        e,
        "twice.wasm's declaration of its config is unusable: it declares the key `label_a` twice, as a whole number and as text: declare each key once"
    );
}

#[test]
fn clock_reads_and_empty_writes_cost_fuel_as_host_calls() {
    // 10,000 rounds of host calls that do next to nothing: each costs at
    // least 1,000 fuel, so a loop of them runs out of fuel after at most
    // `fuel_per_step / 1,000` calls, not after tens of times the guest's
    // own work in wall time.
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    // Two clock reads a round (wall and monotonic); one empty write.
    for (mode, calls_per_round) in [("clock_loop", 2), ("stdout_empty", 1)] {
        let cfg = config(&[("mode", text(mode)), ("count", ConfigValue::Integer(10_000))]);
        let mut g = single(&rt, &hostile, 1, "rogue", &cfg, SandboxLimits::default()).unwrap();
        step(&mut g, 0, 0, vec![]).expect("runs its rounds");
        let fuel = g.usage(0).fuel_used.unwrap();
        assert!(fuel >= 10_000 * calls_per_round * 1_000, "{mode}: {fuel} fuel for {} calls", 10_000 * calls_per_round);
        // Without end, on a small budget: out of fuel, not a long wait.
        let cfg = config(&[("mode", text(mode)), ("count", ConfigValue::Integer(i64::MAX))]);
        let mut g = single(&rt, &hostile, 1, "rogue", &cfg, small_limits()).unwrap();
        let fault = step(&mut g, 0, 0, vec![]).expect_err("runs out");
        assert_eq!(fault.kind, FaultKind::OutOfFuel { budget: 5_000_000 }, "{mode}: {fault}");
    }
}

#[test]
fn a_component_whose_branches_would_take_minutes_to_compile_is_refused_before_compiling() {
    // 3,000 branches, each setting one of 50,000 locals: 45 KB, but its
    // compile work is past the bound, a minute or more of compiling.
    let mut body = String::new();
    let mut draw = 7u64;
    let mut next = || {
        draw = draw.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (draw >> 33) % 50_000
    };
    for _ in 0..3_000 {
        body.push_str(&format!("local.get {} i32.wrap_i64 if local.get {} local.set {} end\n", next(), next(), next()));
    }
    let locals = " i64".repeat(50_000);
    let wat = format!(
        "(component (core module (func (local{locals}) {body})) (instance $model) (export \"xedgesim:node/model@0.2.0\" (instance $model)))"
    );
    let started = std::time::Instant::now();
    let e = load_error(&wat::parse_str(&wat).unwrap());
    assert!(e.starts_with("model.wasm is too much to compile: function 0 ("), "{e}");
    assert!(
        e.contains(
            "3000 control-flow operators, 50000 locals) needs compile work 909000000, over the limit of 500000000 per function"
        ),
        "{e}"
    );
    eprintln!("refused in {:?}", started.elapsed());
}
