//! The built-in models, compiled from `models/` by `host/build.rs` and
//! embedded in the binary.

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

/// The component of the built-in model `name` (`sensor`, `gateway`, `cloud`, `broker`).
pub fn builtin_component(name: &str) -> Option<&'static [u8]> {
    match name {
        "sensor" => Some(embedded::SENSOR),
        "gateway" => Some(embedded::GATEWAY),
        "cloud" => Some(embedded::CLOUD),
        "broker" => Some(embedded::BROKER),
        _ => None,
    }
}

/// Test fixtures built with the models, by name (`hostile`, `probe`).
#[doc(hidden)]
pub fn fixture_component(name: &str) -> Option<&'static [u8]> {
    match name {
        "hostile" => Some(embedded::FIXTURE_HOSTILE),
        "probe" => Some(embedded::FIXTURE_PROBE),
        _ => None,
    }
}
