//! The built-in models, compiled from `models/` by `host/build.rs` and
//! embedded in the binary.

#[allow(dead_code, reason = "the fixtures' hashes are generated with the rest, and unused")]
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

/// The component of the built-in model `name` (`sensor`, `gateway`, `cloud`, `broker`).
pub fn builtin_component(name: &str) -> Option<&'static [u8]> {
    builtin_with_hash(name).map(|(bytes, _)| bytes)
}

/// A built-in model's component and its SHA-256, computed at build time.
pub(super) fn builtin_with_hash(name: &str) -> Option<(&'static [u8], [u8; 32])> {
    match name {
        "sensor" => Some((embedded::SENSOR, embedded::SENSOR_SHA256)),
        "gateway" => Some((embedded::GATEWAY, embedded::GATEWAY_SHA256)),
        "cloud" => Some((embedded::CLOUD, embedded::CLOUD_SHA256)),
        "broker" => Some((embedded::BROKER, embedded::BROKER_SHA256)),
        _ => None,
    }
}

/// Test fixtures built with the models, by name (`hostile`, `probe`, `rawbatch`, `declared`, `files`).
#[doc(hidden)]
pub fn fixture_component(name: &str) -> Option<&'static [u8]> {
    match name {
        "hostile" => Some(embedded::FIXTURE_HOSTILE),
        "probe" => Some(embedded::FIXTURE_PROBE),
        "rawbatch" => Some(embedded::FIXTURE_RAWBATCH),
        "declared" => Some(embedded::FIXTURE_DECLARED),
        "files" => Some(embedded::FIXTURE_FILES),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    #[test]
    fn build_time_hashes_match_the_bytes() {
        for name in ["sensor", "gateway", "cloud", "broker"] {
            let (bytes, sha256) = super::builtin_with_hash(name).unwrap();
            assert_eq!(<[u8; 32]>::from(Sha256::digest(bytes)), sha256, "{name}");
        }
    }
}
