//! The built-in pub/sub broker. A node publishes by sending with
//! `Address::Publish`; the host routes such messages to the scenario's
//! broker, which forwards a copy to each subscriber of the message's topic
//! (in id order). A node subscribes by publishing a message with topic
//! `$subscribe` and the topic name as payload, as an MQTT client sends
//! SUBSCRIBE.

use std::collections::{BTreeMap, BTreeSet};

use xedgesim_model::{Address, Config, ConfigKey, ConfigReader, Message, Metric, NodeModel, Outgoing, StepOutput};

/// The control topic subscriptions are sent on.
pub const SUBSCRIBE_TOPIC: &str = "$subscribe";

/// What it sends and reports, for its reference (`xedgesim models`),
/// beside the code that does it.
pub const SENDS: &str = "A copy of each published message to each subscriber of its topic, in id order, with the \
publisher as source. A node subscribes by publishing topic `$subscribe` with the topic's name as payload. \
Metrics: `published`, `forwarded`, `unrouted` (published with no subscriber), `subscriptions`.";

/// The `config:` keys this model takes: none.
pub const CONFIG: &[ConfigKey] = &[];

pub struct Broker {
    subscribers: BTreeMap<String, BTreeSet<String>>,
    published: u64,
    forwarded: u64,
    unrouted: u64,
}

impl NodeModel for Broker {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        ConfigReader::of::<Self>(config)?;
        Ok(Broker { subscribers: BTreeMap::new(), published: 0, forwarded: 0, unrouted: 0 })
    }

    fn step(&mut self, _now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        let mut outbox = Vec::new();
        for m in inbox {
            if m.topic == SUBSCRIBE_TOPIC {
                let topic = String::from_utf8_lossy(&m.payload).into_owned();
                self.subscribers.entry(topic).or_default().insert(m.source);
                continue;
            }
            self.published += 1;
            match self.subscribers.get(&m.topic) {
                Some(subs) if !subs.is_empty() => {
                    for sub in subs {
                        self.forwarded += 1;
                        outbox.push(Outgoing {
                            destination: Address::Node(sub.clone()),
                            topic: m.topic.clone(),
                            payload: m.payload.clone(),
                        });
                    }
                }
                _ => self.unrouted += 1,
            }
        }
        Ok(StepOutput { outbox, wake_at_us: None })
    }

    fn finish(&mut self) -> Vec<Metric> {
        vec![
            Metric::new("published", self.published as f64),
            Metric::new("forwarded", self.forwarded as f64),
            Metric::new("unrouted", self.unrouted as f64),
            Metric::new("subscriptions", self.subscribers.values().map(BTreeSet::len).sum::<usize>() as f64),
        ]
    }
}

xedgesim_model::export_model!(Broker);
