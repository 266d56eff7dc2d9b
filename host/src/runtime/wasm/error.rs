//! Why a component could not be loaded.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error("cannot read component {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "there is no built-in model '{name}'\n  = help: built-in models are sensor, gateway, cloud, broker; give `wasm.component` for your own"
    )]
    NoBuiltin { name: String },
    #[error(
        "{component} is not a WebAssembly component: {reason}\n  = help: build the model for wasm32-wasip2 (a component), e.g. `cargo build --target wasm32-wasip2`"
    )]
    NotAComponent { component: String, reason: String },
    #[error(
        "{component} is built for the component model's async ABI, which the host does not run ({reason})\n  = help: build it synchronous: componentize-qjs with `--sync` (models/sdk-js/build.sh does), componentize-js without async exports; wit-bindgen and componentize-py build synchronous components by default"
    )]
    AsyncAbi { component: String, reason: String },
    #[error("{component} imports `{import}`, which models may not use: {reason}")]
    ForbiddenImport { component: String, import: String, reason: String },
    #[error(
        "{component} was built against the contract {found}; this host speaks xedgesim:node@{expected}\n  = help: rebuild the model against this version's wit/node.wit"
    )]
    ContractVersion { component: String, found: String, expected: &'static str },
    #[error(
        "{component} does not export `xedgesim:node/model`: it is not a node model\n  = help: build it against the `node-model` world of wit/node.wit"
    )]
    NotAModel { component: String },
    #[error(
        "{component} is too large to compile: {what} is {bytes} bytes, over the limit of {limit}\n  = help: split the work into smaller functions (compile time grows faster than a function's size)"
    )]
    TooLarge { component: String, what: &'static str, bytes: usize, limit: usize },
    #[error(
        "{component} is too much to compile: {what}, over the limit of {limit}\n  = help: a model needs far less; split large functions (the compile work grows with the square of a function's branches)"
    )]
    TooMuchCode { component: String, what: String, limit: String },
    #[error("cannot set up the WebAssembly engine: {0:#}")]
    Engine(wasmtime::Error),
    #[error("interrupted while compiling {component}")]
    Interrupted { component: String },
    #[error("cannot build the model in {}: {reason}", dir.display())]
    Build { dir: PathBuf, reason: String },
    #[error("{component}'s declaration of its config is unusable: {reason}")]
    Declaration { component: String, reason: String },
    #[error("cannot give the node its data file {}: {reason}", path.display())]
    DataFile { path: PathBuf, reason: String },
    #[error("cannot prepare {component}: {reason}")]
    Link { component: String, reason: String },
}
