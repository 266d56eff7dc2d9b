//! The built-in gateway as a container node. All of its logic is
//! `models/gateway`, the crate the WASM component is built from; this
//! program only serves it over the container protocol.

fn main() -> std::process::ExitCode {
    xedgesim_model::container::serve::<xedgesim_model_gateway::Gateway>()
}
