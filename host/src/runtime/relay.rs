//! `relay`: a model that forwards every message it gets, unchanged, to its
//! `destination`, and sends `initial` messages at t = 0. It exists to
//! measure the engine's own cost per delivery (queue, network model,
//! bookkeeping) with as little model work as possible: native only, for
//! benchmarks, and not reachable from a scenario file.

use xedgesim_model::{Address, Config, ConfigReader, Message, Metric, NodeModel, Outgoing, StepOutput};

/// The `config:` keys this model takes.
pub const KEYS: &[&str] = &["destination", "initial", "payload_bytes"];

#[derive(Debug)]
pub struct Relay {
    destination: String,
    initial: u64,
    payload_bytes: usize,
    started: bool,
}

impl NodeModel for Relay {
    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        let config = ConfigReader::new(config, KEYS)?;
        Ok(Relay {
            destination: config.text("destination")?.ok_or("config key 'destination' is required")?,
            initial: config.u64("initial", 1)?,
            payload_bytes: config.u64("payload_bytes", 16)? as usize,
            started: false,
        })
    }

    fn step(&mut self, _now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        // Each message goes on in the memory it came in: the inbox's
        // buffer becomes the outbox, and the destination id is written
        // over the one it arrived with (same length but at 9 → 10, …), so
        // forwarding allocates nothing.
        let destination = self.destination.as_str();
        let mut outbox: Vec<Outgoing> = inbox
            .into_iter()
            .map(|m| {
                let mut to = match m.destination {
                    Address::Node(id) => id,
                    Address::Publish => String::new(),
                };
                to.clear();
                to.push_str(destination);
                Outgoing { destination: Address::Node(to), topic: m.topic, payload: m.payload }
            })
            .collect();
        if !self.started {
            self.started = true;
            let mut first: Vec<Outgoing> = (0..self.initial)
                .map(|_| Outgoing {
                    destination: Address::Node(self.destination.clone()),
                    topic: "relay".to_string(),
                    payload: vec![0; self.payload_bytes],
                })
                .collect();
            first.append(&mut outbox);
            outbox = first;
        }
        Ok(StepOutput { outbox, wake_at_us: None })
    }

    fn finish(&mut self) -> Vec<Metric> {
        Vec::new()
    }
}
