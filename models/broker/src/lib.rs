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

use std::cmp::Ordering;
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

/// A topic as the subscription table keys it: by a hash of its bytes
/// first, then its length and bytes, read 32 bytes at a time. Topics may
/// be 65,535 bytes long and alike: compared a byte at a time as `String`s
/// (about 40 fuel a byte), 50 subscriptions to one long topic at one
/// instant, or subscriptions to long topics that differ only at the end,
/// ran the broker out of fuel. Ordered by the hash: the table's order is
/// used for nothing but its own look-ups.
struct Topic {
    hash: u64,
    text: String,
}

impl Topic {
    fn new(text: String) -> Self {
        let bytes = text.as_bytes();
        let mut blocks = bytes.chunks_exact(32);
        let mut hash = bytes.len() as u64;
        for block in &mut blocks {
            let [a, b, c, d] = words(block);
            hash = (hash.rotate_left(23) ^ a ^ b.rotate_left(16) ^ c.rotate_left(32) ^ d.rotate_left(48))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        for &byte in blocks.remainder() {
            hash = (hash.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        Topic { hash, text }
    }
}

/// A 32-byte block as four words.
fn words(block: &[u8]) -> [u64; 4] {
    let word = |i: usize| u64::from_le_bytes(block[i..i + 8].try_into().expect("a 32-byte block"));
    [word(0), word(8), word(16), word(24)]
}

impl Ord for Topic {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.text.as_bytes(), other.text.as_bytes());
        let quick = self.hash.cmp(&other.hash).then(a.len().cmp(&b.len()));
        if quick != Ordering::Equal {
            return quick;
        }
        let (mut x, mut y) = (a.chunks_exact(32), b.chunks_exact(32));
        for (bx, by) in (&mut x).zip(&mut y) {
            let ([a0, a1, a2, a3], [b0, b1, b2, b3]) = (words(bx), words(by));
            if (a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2) | (a3 ^ b3) != 0 {
                return bx.cmp(by);
            }
        }
        x.remainder().cmp(y.remainder())
    }
}

impl PartialOrd for Topic {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Topic {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Topic {}

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
    subscribers: BTreeMap<Topic, BTreeSet<String>>,
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
            let topic = Topic::new(m.topic);
            match self.subscribers.get(&topic) {
                Some(subs) if !subs.is_empty() => {
                    let held = topic.text.len() + m.payload.len();
                    // One publish is always taken, however large: a legal publish never faults the broker.
                    if self.backlog_bytes + held > MAX_BACKLOG_BYTES && !self.backlog.is_empty() {
                        self.publishes_dropped += 1;
                        continue;
                    }
                    let pending = Pending {
                        subscribers: subs.iter().cloned().collect(),
                        topic: topic.text,
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
        let topic = Topic::new(match String::from_utf8(topic) {
            Ok(topic) => topic,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        });
        let bytes = topic.text.len() + subscriber.len();
        let full = self.subscription_bytes + bytes > MAX_SUBSCRIPTION_BYTES;
        // One look-up of the (possibly long) topic, not two.
        match self.subscribers.get_mut(&topic) {
            Some(subs) if subs.contains(&subscriber) => {}
            _ if full => self.subscriptions_refused += 1,
            Some(subs) => {
                subs.insert(subscriber);
                self.subscription_bytes += bytes;
            }
            None => {
                self.subscribers.insert(topic, BTreeSet::from([subscriber]));
                self.subscription_bytes += bytes;
            }
        }
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
