//! The built-in pub/sub broker. A node publishes by sending with
//! `Address::Publish`; the host routes such messages to the scenario's
//! broker, which forwards a copy to each subscriber of the message's topic
//! (in id order). A node subscribes by publishing a message with topic
//! `$subscribe` and the topic name as payload, as an MQTT client sends
//! SUBSCRIBE.
//!
//! Whatever the contract lets other nodes send it, the broker must not
//! fault, so what it holds and sends is bounded: a publish waits for its
//! subscribers as one copy, and each step forwards at most
//! [`MAX_FORWARD_BYTES_PER_STEP`] (and at least one message), stepping
//! again at the same instant for the rest; its subscription table and its
//! backlog of publishes have byte bounds, past which subscriptions are
//! refused and publishes dropped, and counted.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use xedgesim_model::{Address, Config, ConfigKey, ConfigReader, Message, Metric, NodeModel, Outgoing, StepOutput};

/// The control topic subscriptions are sent on.
pub const SUBSCRIBE_TOPIC: &str = "$subscribe";

/// Most bytes (payloads, topics, ids) forwarded by one step: a 9 MiB
/// publish to 20 subscribers goes out over 20 steps at one instant, one
/// copy at a time, instead of 180 MiB at once.
pub const MAX_FORWARD_BYTES_PER_STEP: usize = 8 << 20;
/// Most bytes of topics and subscriber ids the subscription table holds.
pub const MAX_SUBSCRIPTION_BYTES: usize = 8 << 20;
/// Most bytes of publishes (payload and topic, once each) waiting to be forwarded.
pub const MAX_BACKLOG_BYTES: usize = 24 << 20;

/// What it sends and reports, for its reference (`xedgesim models`),
/// beside the code that does it.
pub const SENDS: &str = "A copy of each published message to each subscriber of its topic, in id order, with the \
publisher as source. A node subscribes by publishing topic `$subscribe` with the topic's name as payload. \
It forwards at most 8 MiB a step, stepping again at the same instant for the rest; past 8 MiB of subscriptions \
(topics and ids) it refuses new ones, and past 24 MiB of publishes waiting to be forwarded it drops new ones. \
Metrics: `published`, `forwarded`, `unrouted` (published with no subscriber), `subscriptions`, and, when any, \
`subscriptions_refused` and `publishes_dropped`.";

/// The `config:` keys this model takes: none.
pub const CONFIG: &[ConfigKey] = &[];

/// A publish still being forwarded: one copy, and who still gets it.
struct Pending {
    topic: String,
    payload: Vec<u8>,
    subscribers: Vec<String>,
    next: usize,
    /// Its topic and payload bytes, counted against the backlog's bound.
    held: usize,
}

pub struct Broker {
    subscribers: BTreeMap<String, BTreeSet<String>>,
    subscription_bytes: usize,
    backlog: VecDeque<Pending>,
    backlog_bytes: usize,
    published: u64,
    forwarded: u64,
    unrouted: u64,
    subscriptions_refused: u64,
    publishes_dropped: u64,
}

impl NodeModel for Broker {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        ConfigReader::of::<Self>(config)?;
        Ok(Broker {
            subscribers: BTreeMap::new(),
            subscription_bytes: 0,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            published: 0,
            forwarded: 0,
            unrouted: 0,
            subscriptions_refused: 0,
            publishes_dropped: 0,
        })
    }

    fn step(&mut self, now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        for m in inbox {
            if m.topic == SUBSCRIBE_TOPIC {
                self.subscribe(m.source, m.payload);
                continue;
            }
            self.published += 1;
            match self.subscribers.get(&m.topic) {
                Some(subs) if !subs.is_empty() => {
                    let held = m.topic.len() + m.payload.len();
                    // One publish is always taken, however large: a legal publish never faults the broker.
                    if self.backlog_bytes + held > MAX_BACKLOG_BYTES && !self.backlog.is_empty() {
                        self.publishes_dropped += 1;
                        continue;
                    }
                    let pending = Pending {
                        subscribers: subs.iter().cloned().collect(),
                        topic: m.topic,
                        payload: m.payload,
                        next: 0,
                        held,
                    };
                    self.backlog_bytes += held;
                    self.backlog.push_back(pending);
                }
                _ => self.unrouted += 1,
            }
        }
        let outbox = self.forward();
        // What is left goes out at this same instant, in further steps.
        let wake_at_us = (!self.backlog.is_empty()).then_some(now_us);
        Ok(StepOutput { outbox, wake_at_us })
    }

    fn finish(&mut self) -> Vec<Metric> {
        let mut metrics = vec![
            Metric::new("published", self.published as f64),
            Metric::new("forwarded", self.forwarded as f64),
            Metric::new("unrouted", self.unrouted as f64),
            Metric::new("subscriptions", self.subscribers.values().map(BTreeSet::len).sum::<usize>() as f64),
        ];
        if self.subscriptions_refused > 0 {
            metrics.push(Metric::new("subscriptions_refused", self.subscriptions_refused as f64));
        }
        if self.publishes_dropped > 0 {
            metrics.push(Metric::new("publishes_dropped", self.publishes_dropped as f64));
        }
        metrics
    }
}

impl Broker {
    fn subscribe(&mut self, subscriber: String, topic: Vec<u8>) {
        let topic = match String::from_utf8(topic) {
            Ok(topic) => topic,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        if self.subscribers.get(&topic).is_some_and(|subs| subs.contains(&subscriber)) {
            return;
        }
        let bytes = topic.len() + subscriber.len();
        if self.subscription_bytes + bytes > MAX_SUBSCRIPTION_BYTES {
            self.subscriptions_refused += 1;
            return;
        }
        self.subscription_bytes += bytes;
        self.subscribers.entry(topic).or_default().insert(subscriber);
    }

    /// The copies this step sends: the backlog's, in order, up to the step's bound.
    fn forward(&mut self) -> Vec<Outgoing> {
        let mut outbox = Vec::new();
        let mut sent = 0usize;
        while let Some(pending) = self.backlog.front_mut() {
            while pending.next < pending.subscribers.len() {
                let to = &pending.subscribers[pending.next];
                let size = pending.topic.len() + pending.payload.len() + to.len();
                if sent > 0 && sent + size > MAX_FORWARD_BYTES_PER_STEP {
                    return outbox;
                }
                let last = pending.next + 1 == pending.subscribers.len();
                // The last subscriber gets the publish's own copy.
                let payload = if last { std::mem::take(&mut pending.payload) } else { pending.payload.clone() };
                outbox.push(Outgoing { destination: Address::Node(to.clone()), topic: pending.topic.clone(), payload });
                pending.next += 1;
                sent += size;
                self.forwarded += 1;
            }
            let done = self.backlog.pop_front().expect("the front publish");
            self.backlog_bytes -= done.held;
        }
        outbox
    }
}

xedgesim_model::export_model!(Broker);
