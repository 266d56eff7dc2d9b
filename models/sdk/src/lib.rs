//! Write an xedgesim node model in plain Rust, then export it as a WASM
//! component with [`export_model!`].
//!
//! A model implements [`NodeModel`] over the plain types in this crate, so
//! the same code runs natively (the host's native comparison path) and as
//! a `wasm32-wasip2` component (the deterministic runtime). Guest bindings
//! for `wit/node.wit` are generated here and nowhere else.
//!
//! Models use Rust's standard clock (`std::time::SystemTime`) and the
//! ecosystem's standard randomness (`getrandom`); inside the host both are
//! virtual — the clock reads simulation time, the randomness is a seeded
//! ChaCha20 stream per node — so a model gets determinism without asking.

mod config_reader;
mod declaration;
pub mod payload;
mod types;

#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

#[cfg(feature = "container")]
pub mod protocol;

mod env;
#[cfg(not(target_arch = "wasm32"))]
pub use env::native;
pub use env::{now_us, random_u64};

#[cfg(feature = "container")]
pub mod container;

pub use config_reader::ConfigReader;
pub use declaration::{ConfigKey, DefaultValue, ValueKind};
pub use types::*;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        // The SDK's own copy of the contract (in the repository, a link to
        // the workspace's `wit/`), so the SDK builds outside it too.
        path: "wit",
        world: "declared-node-model",
        // WASI random is in the world for other languages' toolchains; Rust
        // models reach it through std.
        generate_all,
        pub_export_macro: true,
        default_bindings_module: "xedgesim_model::bindings",
    });
}

#[cfg(target_arch = "wasm32")]
mod guest;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub use guest::*;

/// A node model: made from its id and config, stepped with its inbox,
/// asked for metrics at the end.
pub trait NodeModel: Sized + 'static {
    /// Every key of the model's `config:` map (see [`ConfigKey`]). With it,
    /// `xedgesim validate` checks each node's config at its line in the
    /// scenario, and [`ConfigReader::of`] reads by it. `None`: the model
    /// does not say, and only its constructor checks its config.
    const CONFIG: Option<&'static [ConfigKey]> = None;
    /// Makes the node; a bad config is an error naming the key.
    fn new(id: &str, config: &Config) -> Result<Self, String>;
    /// Runs the node at `now_us` with the messages that arrived since its
    /// last step (none for a wake-up).
    fn step(&mut self, now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String>;
    /// Final metrics.
    fn finish(&mut self) -> Vec<Metric>;
}

/// Logs through the host (`xedgesim:node/log`): into the run's trace, and
/// on the terminal with `xedgesim run --log LEVEL`. Natively, in a
/// [`testing::TestNode`], the line is kept for the test to read.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    guest::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    {
        // Kept by a test's node, or else (in a container) written to stderr.
        let kept = env::native::log(level, message);
        #[cfg(feature = "container")]
        if !kept {
            container::log(level, message);
        }
        #[cfg(not(feature = "container"))]
        let _ = kept;
    }
}

/// Exports `$model` (a [`NodeModel`]) as this component's `node` resource.
///
/// ```ignore
/// xedgesim_model::export_model!(Sensor);
/// ```
#[macro_export]
macro_rules! export_model {
    ($model:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct Export;
            impl $crate::ExportedModel for Export {
                type Model = $model;
            }
            $crate::export_guest!(Export);
        };
    };
}
