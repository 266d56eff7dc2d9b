//! The host's bindings to `wit/node.wit`, generated here and nowhere else.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "node-model",
    // A host import may fail (the log budget runs out): that traps the guest.
    imports: { default: trappable },
});

/// The optional `declaration` export (`world declared-node-model`): only
/// its export bindings are used; its imports are the world above's.
pub mod declared {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "declared-node-model",
        imports: { default: trappable },
    });
}
