//! What the bench binaries share.

use std::time::Duration;

use xedgesim::runtime::{Address, Message};

/// `n` sensor readings addressed to the gateway `gw`, as its inbox.
#[allow(dead_code)]
pub fn readings(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message {
            source: format!("sensor{i}"),
            destination: Address::Node("gw".into()),
            topic: "reading".into(),
            payload: format!(
                r#"{{"temperature":{},"unit":"C","sample_id":{i},"t_us":1000000}}"#,
                20.0 + i as f64 / 100.0
            )
            .into_bytes(),
            sent_us: 1_000_000,
        })
        .collect()
}

/// A compile cache of the benches' own, kept between runs as a user's is.
#[allow(dead_code)]
pub fn cache_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-cache")
}

/// The median of `samples` (the upper one of an even count).
#[allow(dead_code)] // not every bench binary uses every helper
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `d` in milliseconds, one decimal.
#[allow(dead_code)]
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `d` in microseconds, one decimal.
#[allow(dead_code)]
pub fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// The engine at `DOCKER_HOST` (or the local one), or `None` after
/// printing "not measured" and why.
#[allow(dead_code)]
pub fn docker_engine() -> Option<xedgesim::runtime::docker::DockerEngine> {
    match xedgesim::runtime::docker::DockerEngine::connect(std::env::var("DOCKER_HOST").ok().as_deref()) {
        Ok(engine) => Some(engine),
        Err(e) => {
            println!("not measured: no Docker engine: {e}");
            None
        }
    }
}
