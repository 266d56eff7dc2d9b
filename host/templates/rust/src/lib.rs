//! {{id}}: forwards each reading above `threshold` to `destination` and
//! counts what it saw. Made by `xedgesim new model {{id}}`; make it yours.

use xedgesim_model::payload::decode;
use xedgesim_model::{
    Address, Config, ConfigKey, ConfigReader, LogLevel, Message, Metric, NodeModel, Outgoing, StepOutput, log,
};

/// Every `config:` key the model takes: `xedgesim validate` checks each
/// node's config against it, at the key's line in the scenario.
pub const CONFIG: &[ConfigKey] = &[
    ConfigKey::number("threshold", "readings above it are forwarded").default_number(25.0),
    ConfigKey::text("destination", "the node forwarded readings go to").required().node_id(),
];

pub struct {{type}} {
    threshold: f64,
    destination: String,
    seen: u64,
    forwarded: u64,
}

impl NodeModel for {{type}} {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        let c = ConfigReader::of::<Self>(config)?;
        Ok({{type}} { threshold: c.number("threshold")?, destination: c.string("destination")?, seen: 0, forwarded: 0 })
    }

    fn step(&mut self, _now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        let mut output = StepOutput::default();
        for message in inbox {
            self.seen += 1;
            let Some(temperature) = decode(&message.payload).ok().and_then(|p| p.number("temperature")) else {
                log(LogLevel::Warn, &format!("a message from {} has no temperature", message.source));
                continue;
            };
            if temperature > self.threshold {
                self.forwarded += 1;
                log(LogLevel::Debug, &format!("{} read {temperature}, above {}", message.source, self.threshold));
                output.outbox.push(Outgoing {
                    destination: Address::Node(self.destination.clone()),
                    topic: message.topic,
                    payload: message.payload,
                });
            }
        }
        // No wake-up asked: the node runs again when a message arrives.
        Ok(output)
    }

    fn finish(&mut self) -> Vec<Metric> {
        vec![Metric::new("seen", self.seen as f64), Metric::new("forwarded", self.forwarded as f64)]
    }
}

xedgesim_model::export_model!({{type}});

#[cfg(test)]
mod tests {
    use super::*;
    use xedgesim_model::testing::{TestNode, reading};

    #[test]
    fn forwards_readings_above_the_threshold() {
        let mut node =
            TestNode::<{{type}}>::new("{{id}}", [("threshold", 25.0.into()), ("destination", "cloud".into())]).unwrap();
        let step = node.step(1_000_000, vec![reading("sensor1", 30.5), reading("sensor2", 20.0)]).unwrap();
        assert_eq!(step.payloads_to("cloud").unwrap()[0].number("temperature"), Some(30.5));
        assert_eq!(step.sent_to("cloud").len(), 1);
        assert_eq!(node.finish().get("forwarded"), Some(1.0));
    }

    #[test]
    fn refuses_a_threshold_that_is_not_a_number() {
        let made = TestNode::<{{type}}>::new("{{id}}", [("threshold", "abc".into()), ("destination", "cloud".into())]);
        assert_eq!(made.unwrap_err(), "config key 'threshold' must be a number; found the text \"abc\"");
    }
}
