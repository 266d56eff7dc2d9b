//! The host's bindings to `wit/node.wit`, generated here and nowhere else.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "node-model",
    // A host import may fail (the log budget runs out): that traps the guest.
    imports: { default: trappable },
});
