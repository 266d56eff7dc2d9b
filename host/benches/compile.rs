//! How long one function takes to compile, by its size, for the shapes of
//! function that cost the compiler the most per byte: the figures behind
//! the host's bound on a function's size (`MAX_FUNCTION_BYTES`) and on a
//! component's code (`MAX_CODE_BYTES`).
//!
//! Each shape is a core module with one function whose body is about N
//! bytes, compiled by the engine the host runs models with (fuel, epoch
//! interruption, NaN canonicalisation). A shape stops growing once one
//! compile takes over 60 s.
//!
//! Run with `cargo bench -p xedgesim --bench compile` (`-- SHAPE` for one
//! shape; `XEDGESIM_COMPILE_SIZES=16384,65536` for other sizes).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use xedgesim::runtime::wasm::{MAX_FUNCTION_WORK, RuntimeOptions, WasmRuntime, compile_work};

/// A deterministic stream of small numbers (an LCG): the same module every run.
struct Draws(u64);

impl Draws {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// What a shape is made of, beyond its size.
#[derive(Clone, Copy)]
struct Knobs {
    /// Locals of the `locals` and `branches` shapes.
    locals: u64,
    /// Branches of the `branches` shape (else as many as fit the size).
    ifs: Option<u64>,
    /// Whether the `branches` shape's branches are inside a loop.
    in_loop: bool,
}

impl Knobs {
    /// From `XEDGESIM_COMPILE_LOCALS` (default 2,000) and `XEDGESIM_COMPILE_NOLOOP`.
    fn from_env() -> Self {
        let locals = std::env::var("XEDGESIM_COMPILE_LOCALS").ok().and_then(|n| n.parse().ok()).unwrap_or(2_000);
        Knobs { locals, ifs: None, in_loop: std::env::var("XEDGESIM_COMPILE_NOLOOP").is_err() }
    }
}

/// The text of a module whose one function's body is about `bytes` long.
fn module(shape: &str, bytes: usize, knobs: Knobs) -> String {
    let mut body = String::new();
    let mut locals = String::new();
    let mut d = Draws(7);
    let locals_count = knobs.locals;
    match shape {
        // Values live on the operand stack all at once.
        "stack" => {
            let n = bytes / 3;
            for _ in 0..n {
                body.push_str("i32.const 1\n");
            }
            for _ in 1..n {
                body.push_str("i32.add\n");
            }
            body.push_str("drop\n");
        }
        // Many locals, each read and written all over a straight line.
        "locals" => {
            let count = locals_count;
            for _ in 0..count {
                locals.push_str(" i64");
            }
            for _ in 0..bytes / 9 {
                let (a, b, c) = (d.next(count), d.next(count), d.next(count));
                let _ = writeln!(body, "local.get {a} local.get {b} i64.add local.set {c}");
            }
        }
        // Many locals set in many branches inside a loop: values merge
        // at every join and at the loop's head. The host's bound on
        // compile work is made for this shape.
        "branches" => {
            let count = locals_count;
            for _ in 0..count {
                locals.push_str(" i64");
            }
            let in_loop = knobs.in_loop;
            if in_loop {
                body.push_str("loop $top\n");
            }
            let ifs = knobs.ifs.unwrap_or(bytes as u64 / 14);
            for _ in 0..ifs {
                let (a, b, c) = (d.next(count), d.next(count), d.next(count));
                let _ = writeln!(body, "local.get {a} i32.wrap_i64 if local.get {b} local.set {c} end");
            }
            if in_loop {
                body.push_str("local.get 0 i32.wrap_i64 br_if $top\nend\n");
            }
        }
        // Blocks nested deep, left by one `br_table` naming them all.
        "blocks" => {
            let n = bytes / 6;
            for _ in 0..n {
                body.push_str("block\n");
            }
            body.push_str("i32.const 0 br_table");
            for i in 0..n {
                let _ = write!(body, " {i}");
            }
            body.push('\n');
            for _ in 0..n {
                body.push_str("end\n");
            }
        }
        // Loads and stores at scattered addresses, each bounds-checked.
        "memory" => {
            for _ in 0..bytes / 12 {
                let (a, b) = (d.next(60_000), d.next(60_000));
                let _ = writeln!(body, "i32.const {a} i32.const {b} i64.load i64.store");
            }
        }
        other => panic!("no shape {other}"),
    }
    format!("(module (memory 1) (func (export \"f\") (local{locals})\n{body}))")
}

/// The size of the largest function body in `wasm`.
fn largest_body(wasm: &[u8]) -> usize {
    let mut largest = 0;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            largest = largest.max(body.range().len());
        }
    }
    largest
}

/// Compiles the `branches` shape with as many branches as the host's bound
/// on one function's compile work allows, for several counts of locals.
fn at_the_bound(rt: &WasmRuntime) {
    println!("\nat the bound ({MAX_FUNCTION_WORK}): the branches shape, the most branches allowed");
    println!("{:>8} {:>8} {:>12} {:>12} {:>12}", "locals", "control", "work", "body bytes", "compile s");
    for locals in [20u64, 2_000, 20_000, 50_000] {
        // Control operators: each branch's `if`, and the loop and its `br_if`.
        let mut ifs = 0u64;
        while compile_work(ifs + 3, locals) <= MAX_FUNCTION_WORK {
            ifs += 1;
        }
        let control = ifs + 2;
        let text = module("branches", 0, Knobs { locals, ifs: Some(ifs), in_loop: true });
        let wasm = wat::parse_str(text).unwrap();
        let started = Instant::now();
        wasmtime::Module::new(rt.engine(), &wasm).unwrap();
        println!(
            "{locals:>8} {control:>8} {:>12} {:>12} {:>12.2}",
            compile_work(control, locals),
            largest_body(&wasm),
            started.elapsed().as_secs_f64()
        );
    }
}

fn main() {
    let rt = WasmRuntime::new(&RuntimeOptions { cache_dir: None, ..Default::default() }).unwrap();
    if std::env::args().any(|a| a == "bound") {
        at_the_bound(&rt);
        return;
    }
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let sizes: Vec<usize> = std::env::var("XEDGESIM_COMPILE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![16 << 10, 64 << 10, 256 << 10]);
    println!("{:<10} {:>12} {:>12} {:>14}", "shape", "body bytes", "compile s", "µs per byte");
    for shape in ["stack", "locals", "branches", "blocks", "memory"] {
        if !only.is_empty() && !only.iter().any(|o| o == shape) {
            continue;
        }
        for &size in &sizes {
            let wasm = wat::parse_str(module(shape, size, Knobs::from_env())).unwrap();
            let body = largest_body(&wasm);
            let started = Instant::now();
            let compiled = wasmtime::Module::new(rt.engine(), &wasm);
            let took = started.elapsed();
            if let Err(e) = compiled {
                println!("{shape:<10} {body:>12} refused: {e:#}");
                break;
            }
            println!(
                "{shape:<10} {body:>12} {:>12.2} {:>14.2}",
                took.as_secs_f64(),
                took.as_secs_f64() * 1e6 / body as f64
            );
            if took > Duration::from_secs(60) {
                break;
            }
        }
    }
}
