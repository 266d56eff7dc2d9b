//! [`ModelComponent`]: a node model's component, compiled (or loaded from
//! the cache), checked against the contract, and pre-instantiated so that
//! making a node from it is cheap.
//!
//! A `Component` is compiled code; it is shared by every node made from
//! it. Its imports are checked before linking: a model may import WASI's
//! cli, io, clocks, random and filesystem interfaces (all virtualised or
//! empty) and `xedgesim:node/log`, and nothing else.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::bindings::NodeModelPre;
use super::cache::{ArtifactCache, CacheOutcome};
use super::error::WasmError;
use super::interrupt::{self, CompileInterrupted};
use super::state::NodeState;

/// The contract version this host speaks (`wit/node.wit`).
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Import prefixes a model may use. Filesystem is linked with no
/// preopened directories, so a model sees no files at all. Of the
/// contract, only the interfaces the host provides: an unknown
/// `xedgesim:node/*` import is refused as clearly as any other.
pub(super) const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    // Linked with every operation denied (see `NodeState::new`): CPython's
    // C library imports them even when the model never opens a socket.
    "wasi:sockets/",
    "xedgesim:node/types@",
    "xedgesim:node/log@",
    "xedgesim:node/outbox@",
    "xedgesim:node/sandbox@",
];

/// The largest component and the largest single function the host
/// compiles. Compile time grows faster than linearly with a function's
/// size (a 3 MB function takes minutes and hundreds of MiB), so a hostile
/// component could otherwise stall a run before it starts. CPython as a
/// component (componentize-py) is about 40 MB with no function near 1 MiB.
pub const MAX_COMPONENT_BYTES: usize = 128 << 20;
pub const MAX_FUNCTION_BYTES: usize = 1 << 20;
/// The most code (function bodies, all modules together) the host compiles:
/// about a minute of compiling for ordinary code on two cores.
pub const MAX_CODE_BYTES: usize = 64 << 20;

/// Bounds on the compile work a function's shape asks for, by the
/// estimate [`compile_work`]. Size alone does not bound it: with many
/// branches each setting a local, compile time grows with the square of
/// the branches, and with the locals (an 86 KB function of 5,717 such
/// branches and 50,000 locals took 170 s). At the bound the worst shape
/// compiled in 7 to 54 s (`cargo bench -p xedgesim --bench compile --
/// bound`, docs/sandbox.md). The component's sum bounds the whole,
/// compiled on every core. Ordinary code compiles many times faster than
/// the estimate says.
pub const MAX_FUNCTION_WORK: u64 = 500_000_000;
pub const MAX_COMPONENT_WORK: u64 = 1_000_000_000;

/// The compile work of a function with `control` control-flow operators
/// (`block`, `loop`, `if`, `else`, `br`, `br_if`, and each `br_table`
/// target) and `locals` locals: `control² × (1 + locals / 500)`, each
/// unit about 0.05–0.1 µs of compiling at worst on this project's machines.
pub fn compile_work(control: u64, locals: u64) -> u64 {
    let squared = control.saturating_mul(control);
    squared.saturating_add((squared / 500).saturating_mul(locals))
}

/// A compiled, checked, pre-instantiated model component.
pub struct ModelComponent {
    /// How messages name it: `builtin:sensor` or a path.
    pub name: String,
    pub sha256: [u8; 32],
    pub pre: NodeModelPre<NodeState>,
    pub cache_outcome: CacheOutcome,
}

impl std::fmt::Debug for ModelComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelComponent").field("name", &self.name).finish_non_exhaustive()
    }
}

impl ModelComponent {
    /// Compiles (or loads from `cache`), checks and pre-instantiates
    /// `bytes`, whose SHA-256 is `sha256` when already known.
    pub fn load(
        engine: &Engine,
        linker: &Linker<NodeState>,
        cache: Option<&ArtifactCache>,
        interrupt: Option<&Arc<AtomicBool>>,
        name: String,
        bytes: &[u8],
        sha256: Option<[u8; 32]>,
    ) -> Result<Self, WasmError> {
        let not_a_component = |reason: String| WasmError::NotAComponent { component: name.clone(), reason };
        if !wasmparser_is_component(bytes) {
            let reason = if bytes.starts_with(b"\0asm") {
                "it is a core WebAssembly module, not a component".to_string()
            } else {
                "it does not start with the WebAssembly magic bytes".to_string()
            };
            return Err(not_a_component(reason));
        }
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(WasmError::TooLarge {
                component: name.clone(),
                what: "the component",
                bytes: bytes.len(),
                limit: MAX_COMPONENT_BYTES,
            });
        }
        let sha256: [u8; 32] = sha256.unwrap_or_else(|| Sha256::digest(bytes).into());
        // A compiled entry in the cache passed every check below when it
        // was compiled (its key holds the component's hash, the build's
        // version and the limits), so a hit skips them: reading the
        // component, even without its operators, was a tenth of an M0
        // run's instructions.
        if let Some(component) = cache.and_then(|cache| cache.load(engine, &sha256)) {
            return Self::checked(engine, linker, name, sha256, component, CacheOutcome::Hit);
        }
        // Imports, the contract version and sizes are refused before
        // compiling: a refused component costs no compile.
        // Read without the operators: the imports, exports and sizes.
        let outline = survey(bytes, false).map_err(not_a_component)?;
        for import in &outline.imports {
            check_import(import, &name)?;
        }
        for export in &outline.exports {
            check_version(export, &name)?;
        }
        if outline.largest_function > MAX_FUNCTION_BYTES {
            return Err(WasmError::TooLarge {
                component: name.clone(),
                what: "its largest function",
                bytes: outline.largest_function,
                limit: MAX_FUNCTION_BYTES,
            });
        }
        if outline.code_bytes > MAX_CODE_BYTES {
            return Err(WasmError::TooMuchCode {
                component: name.clone(),
                what: format!("its code is {} bytes", outline.code_bytes),
                limit: format!("{MAX_CODE_BYTES} bytes"),
            });
        }
        // The compile work is what a compile would cost, read from every
        // operator: only before compiling.
        check_compile_work(&survey(bytes, true).map_err(not_a_component)?, &name)?;
        let (component, cache_outcome) = match cache {
            Some(cache) => cache.compile(engine, bytes, &sha256, interrupt),
            None => {
                interrupt::compile_unless_set(interrupt, engine, bytes, |engine, bytes| Component::new(engine, bytes))
                    .map(|c| (c, CacheOutcome::Uncached))
            }
        }
        .map_err(|e| match e.downcast_ref::<CompileInterrupted>() {
            Some(_) => WasmError::Interrupted { component: name.clone() },
            // The engine runs components without async support (it costs every call).
            None if format!("{e:#}").contains("component model async") => {
                WasmError::AsyncAbi { component: name.clone(), reason: format!("{e:#}") }
            }
            None => not_a_component(format!("{e:#}")),
        })?;
        Self::checked(engine, linker, name, sha256, component, cache_outcome)
    }

    /// `component` once its contract is checked and it is linked.
    fn checked(
        engine: &Engine,
        linker: &Linker<NodeState>,
        name: String,
        sha256: [u8; 32],
        component: Component,
        cache_outcome: CacheOutcome,
    ) -> Result<Self, WasmError> {
        check_contract(engine, &component, &name)?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| WasmError::Link { component: name.clone(), reason: format!("{e:#}") })?;
        let pre = NodeModelPre::new(instance_pre)
            .map_err(|e| WasmError::Link { component: name.clone(), reason: format!("{e:#}") })?;
        Ok(ModelComponent { name, sha256, pre, cache_outcome })
    }
}

/// A component starts with the magic bytes and a layer field of 1 (a core
/// module has 0).
fn wasmparser_is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[..4] == b"\0asm" && bytes[6..8] == [1, 0]
}

/// What is read of a component before compiling it.
struct Survey {
    /// Names imported and exported at the top level.
    imports: Vec<String>,
    exports: Vec<String>,
    /// Bytes of the largest function body of any core module in it.
    largest_function: usize,
    /// Bytes of every function body together.
    code_bytes: usize,
    /// The function whose [`compile_work`] is largest, and the sum over all.
    hardest_function: Option<FunctionShape>,
    work: u64,
}

/// What a function's body says about its compile work.
struct FunctionShape {
    /// Its position among the function bodies of the component (from 0).
    index: usize,
    bytes: usize,
    control: u64,
    locals: u64,
    work: u64,
}

/// The shape of function body number `index`.
fn shape(index: usize, body: &wasmparser::FunctionBody<'_>) -> Result<FunctionShape, String> {
    use wasmparser::Operator;
    let unreadable = |e: wasmparser::BinaryReaderError| format!("a function cannot be read: {e}");
    let mut locals = 0u64;
    for entry in body.get_locals_reader().map_err(unreadable)? {
        locals = locals.saturating_add(u64::from(entry.map_err(unreadable)?.0));
    }
    let mut control = 0u64;
    let mut ops = body.get_operators_reader().map_err(unreadable)?;
    while !ops.eof() {
        control = control.saturating_add(match ops.read().map_err(unreadable)? {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::Br { .. }
            | Operator::BrIf { .. } => 1,
            Operator::BrTable { targets } => u64::from(targets.len()) + 1,
            _ => 0,
        });
    }
    let work = compile_work(control, locals);
    Ok(FunctionShape { index, bytes: body.range().len(), control, locals, work })
}

/// Refuses a component whose compile would cost more than the limits
/// allow (`survey` with its operators read).
fn check_compile_work(survey: &Survey, name: &str) -> Result<(), WasmError> {
    if let Some(f) = &survey.hardest_function
        && f.work > MAX_FUNCTION_WORK
    {
        return Err(WasmError::TooMuchCode {
            component: name.to_string(),
            what: format!(
                "function {} ({} bytes, {} control-flow operators, {} locals) needs compile work {}",
                f.index, f.bytes, f.control, f.locals, f.work
            ),
            limit: format!("{MAX_FUNCTION_WORK} per function (control-flow operators², more with many locals)"),
        });
    }
    if survey.work > MAX_COMPONENT_WORK {
        return Err(WasmError::TooMuchCode {
            component: name.to_string(),
            what: format!("its functions need compile work {} in all", survey.work),
            limit: format!("{MAX_COMPONENT_WORK} (the sum over its functions)"),
        });
    }
    Ok(())
}

/// Reads a component's top-level imports and exports and the size of its
/// functions, without compiling it; with `operators`, each function's
/// compile work too (every operator read).
fn survey(bytes: &[u8], operators: bool) -> Result<Survey, String> {
    use wasmparser::{Parser, Payload};
    let mut survey = Survey {
        imports: Vec::new(),
        exports: Vec::new(),
        largest_function: 0,
        code_bytes: 0,
        hardest_function: None,
        work: 0,
    };
    let mut functions = 0usize;
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| format!("it cannot be read: {e}"))? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| format!("its imports cannot be read: {e}"))?;
                    survey.imports.push(import.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| format!("its exports cannot be read: {e}"))?;
                    survey.exports.push(export.name.name.to_string());
                }
            }
            Payload::CodeSectionEntry(body) => {
                let bytes = body.range().len();
                survey.largest_function = survey.largest_function.max(bytes);
                survey.code_bytes = survey.code_bytes.saturating_add(bytes);
                // Oversized code is refused without reading its operators.
                if operators && survey.largest_function <= MAX_FUNCTION_BYTES && survey.code_bytes <= MAX_CODE_BYTES {
                    let f = shape(functions, &body)?;
                    survey.work = survey.work.saturating_add(f.work);
                    if survey.hardest_function.as_ref().is_none_or(|h| f.work > h.work) {
                        survey.hardest_function = Some(f);
                    }
                }
                functions += 1;
            }
            _ => {}
        }
    }
    Ok(survey)
}

/// Refuses an import from another contract version or outside what the host provides.
fn check_import(import: &str, name: &str) -> Result<(), WasmError> {
    check_version(import, name)?;
    if !ALLOWED_IMPORTS.iter().any(|p| import.starts_with(p)) {
        let reason = if import.starts_with("wasi:http/") {
            "models have no network access; they talk to other nodes only through step outputs".to_string()
        } else {
            format!("the host provides only {} to models", ALLOWED_IMPORTS.join(", "))
        };
        return Err(WasmError::ForbiddenImport { component: name.to_string(), import: import.to_string(), reason });
    }
    Ok(())
}

/// Refuses an `xedgesim:node/*` item of another contract version.
fn check_version(item: &str, name: &str) -> Result<(), WasmError> {
    if let Some(version) = item.strip_prefix("xedgesim:node/").and_then(|rest| rest.split_once('@')).map(|(_, v)| v)
        && !same_contract(version)
    {
        return Err(WasmError::ContractVersion {
            component: name.to_string(),
            found: format!("xedgesim:node@{version}"),
            expected: CONTRACT_VERSION,
        });
    }
    Ok(())
}

/// Refuses forbidden imports and other contract versions, naming them
/// (again, on the compiled type: what was read before compiling is checked
/// against what wasmtime sees).
fn check_contract(engine: &Engine, component: &Component, name: &str) -> Result<(), WasmError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    for export in &exports {
        check_version(export, name)?;
    }
    for (import, _) in ty.imports(engine) {
        check_import(import, name)?;
    }
    if !exports.iter().any(|e| e.starts_with("xedgesim:node/model@")) {
        return Err(WasmError::NotAModel { component: name.to_string() });
    }
    Ok(())
}

/// Whether `version` is compatible with [`CONTRACT_VERSION`]: for 0.x the
/// minor number is the breaking one, as in semver.
fn same_contract(version: &str) -> bool {
    let key = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(if major == 0 { (0, minor) } else { (major, 0) })
    };
    key(version).is_some() && key(version) == key(CONTRACT_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_versions() {
        assert!(same_contract("0.2.0"));
        assert!(same_contract("0.2.7"));
        assert!(!same_contract("0.1.0"));
        assert!(!same_contract("0.3.0"));
        assert!(!same_contract("1.0.0"));
        assert!(!same_contract("garbage"));
    }
}
