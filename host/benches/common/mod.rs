//! What the bench binaries share.

use xedgesim::runtime::{Address, Message};

/// `n` sensor readings addressed to the gateway `gw`, as its inbox.
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
