//! The built-in pub/sub broker. A node publishes by sending with
//! `Address::Publish`; the host routes such messages to the scenario's
//! broker, which forwards a copy to each subscriber of the message's topic
//! (in id order). A node subscribes by publishing a message with topic
//! `$subscribe` and a topic filter as payload, as an MQTT client sends
//! SUBSCRIBE, and unsubscribes the same way on `$unsubscribe`. Filters
//! follow MQTT 3.1.1: `+` matches one level, `#` (last) the rest, and a
//! filter starting with a wildcard does not match a topic starting with
//! `$`. A publish on `$retain/<topic>` is a publish on `<topic>` that the
//! broker also keeps, as MQTT's retain flag: a new subscription gets the
//! kept message of each topic its filter matches at once.
//!
//! Whatever the contract lets other nodes send it, the broker must not
//! fault, so what it holds and sends is bounded: a publish waits for its
//! subscribers as one copy, and each step forwards at most
//! [`MAX_FORWARD_BYTES_PER_STEP`] (and at least one message), stepping
//! again at the same instant for the rest; its subscription table, its
//! wildcard filters, its retained messages and its backlog of publishes
//! have bounds, past which subscriptions and retained messages are refused
//! and publishes dropped, and counted. Exact topics are looked up by hash;
//! wildcard filters are kept apart, few and short, since each publish is
//! matched against all of them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

use xedgesim_model::{Address, Config, ConfigKey, ConfigReader, Message, Metric, NodeModel, Outgoing, StepOutput};

/// The control topic subscriptions are sent on.
pub const SUBSCRIBE_TOPIC: &str = "$subscribe";
/// The control topic unsubscriptions are sent on.
pub const UNSUBSCRIBE_TOPIC: &str = "$unsubscribe";
/// A publish on `$retain/<topic>` is a retained publish on `<topic>`.
pub const RETAIN_PREFIX: &str = "$retain/";

/// Most bytes (payloads, topics, ids) forwarded by one step: a 9 MiB
/// publish to 20 subscribers goes out over 20 steps at one instant, one
/// copy at a time, instead of 180 MiB at once.
pub const MAX_FORWARD_BYTES_PER_STEP: usize = 8 << 20;
/// Most copies one step sends: each costs a few thousand fuel, and a
/// publish to many subscribers (or a subscription to many retained
/// messages) is one message in, so the rest go out in further steps.
pub const MAX_FORWARDS_PER_STEP: usize = 4_096;
/// Most bytes of topics and subscriber ids the subscription table holds.
pub const MAX_SUBSCRIPTION_BYTES: usize = 8 << 20;
/// Most bytes of publishes (payload and topic, once each) waiting to be forwarded.
pub const MAX_BACKLOG_BYTES: usize = 24 << 20;
/// Longest topic filter, as MQTT's (its length is two bytes).
pub const MAX_FILTER_BYTES: usize = 65_535;
/// Most distinct wildcard filters, and most levels and bytes of them all:
/// every publish is matched against each one (in a component, about 40
/// fuel a level and 10 a byte alike), so these keep a publish's matching
/// within a message's fuel (measured: 256 filters of 4 levels, 45,000
/// fuel a publish; 4 KiB of filters alike in their first 28 bytes, 48,000).
pub const MAX_WILDCARD_FILTERS: usize = 256;
pub const MAX_WILDCARD_LEVELS: usize = 1_024;
pub const MAX_WILDCARD_BYTES: usize = 4 << 10;
/// Most retained messages, most bytes of them (topics and payloads), and
/// most bytes of their topics: a new wildcard subscription splits and
/// matches retained topics as it gets them (measured: a subscription to
/// `#` with 256 retained messages on topics of 64 bytes, 1.1 million fuel
/// in all, over steps of at most [`MAX_FORWARDS_PER_STEP`] copies).
pub const MAX_RETAINED_MESSAGES: usize = 256;
pub const MAX_RETAINED_BYTES: usize = 1 << 20;
pub const MAX_RETAINED_TOPIC_BYTES: usize = 16 << 10;

/// What it sends and reports, for its reference (`xedgesim models`),
/// beside the code that does it.
pub const SENDS: &str = "A copy of each published message to each subscriber of its topic, in id order (one copy \
to a node however many of its filters match), with the broker as source. A node subscribes by publishing topic \
`$subscribe` with a topic filter as payload, and unsubscribes with `$unsubscribe`. Filters follow MQTT 3.1.1 \
(`+` one level, `#` the rest, each a whole level and `#` only last; a filter starting with a wildcard does not \
match a topic starting with `$`); an invalid one is refused and counted (past the bounds below, a new filter is \
refused before it is checked). A publish on `$retain/<topic>` is forwarded as a publish on `<topic>` and kept as \
its retained message (an empty payload clears it): a new subscription (or a repeated one) gets at once the \
retained message of each topic its filter matches, in topic order. It forwards at most 8 MiB and 4,096 copies a \
step, stepping again at the same instant for the rest. Past 8 MiB of subscriptions (filters and ids), or 256 \
distinct wildcard filters (1,024 levels, 4 KiB in all), it refuses new ones; past 256 retained messages (1 MiB, \
16 KiB of topics) it refuses to keep a new one, and drops that topic's old one; past 24 MiB of publishes waiting \
to be forwarded it drops new ones (and a new subscription's retained messages). Metrics: `published`, \
`forwarded`, `unrouted` (published with no subscriber), `subscriptions`, and, when any, `subscriptions_refused`, \
`publishes_dropped`, `subscriptions_invalid` (invalid filters in `$subscribe` or `$unsubscribe`), \
`unsubscriptions` (those that removed a subscription), `retained_refused`, `retained_invalid` (an empty topic, \
or one with a wildcard, after `$retain/`), and `retained` (kept at the end, when anything was published on \
`$retain/`).";

/// The `config:` keys this model takes: none.
pub const CONFIG: &[ConfigKey] = &[];

/// A topic as the subscription table keys it: by a hash of its bytes
/// first, then its length and bytes, read 32 bytes at a time. Topics may
/// be 65,535 bytes long and alike: compared a byte at a time as `String`s
/// (about 40 fuel a byte), 50 subscriptions to one long topic at one
/// instant, or subscriptions to long topics that differ only at the end,
/// ran the broker out of fuel. Ordered by the hash: the table's order is
/// used for nothing but its own look-ups.
#[derive(Clone)]
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

/// A level of a wildcard filter.
#[derive(Clone, Copy)]
enum Level {
    /// `+`: any one level.
    One,
    /// `#` (last): any levels below, or none (`a/#` matches `a`).
    Rest,
    /// A level matched exactly: its bytes in the filter's text.
    Name { start: u32, end: u32 },
}

/// A `$subscribe` or `$unsubscribe` payload as a filter's text, if it can
/// be one: UTF-8, 1 to 65,535 bytes.
fn filter_text(bytes: Vec<u8>) -> Option<String> {
    if bytes.is_empty() || bytes.len() > MAX_FILTER_BYTES {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Checks a filter's text by MQTT 3.1.1's rules (`+` and `#` whole
/// levels, `#` only last): `Some(None)` for an exact topic, `Some(levels)`
/// for a wildcard filter, `None` for an invalid one.
fn classify(text: &str) -> Option<Option<Vec<Level>>> {
    if !has_wildcard(text.as_bytes()) {
        return Some(None);
    }
    let mut levels = Vec::new();
    let mut start = 0usize;
    for level in text.split('/') {
        if matches!(levels.last(), Some(Level::Rest)) {
            return None;
        }
        let end = start + level.len();
        levels.push(match level {
            "+" => Level::One,
            "#" => Level::Rest,
            _ if has_wildcard(level.as_bytes()) => return None,
            // Within u32: a filter is at most 65,535 bytes.
            _ => Level::Name { start: start as u32, end: end as u32 },
        });
        start = end + 1;
    }
    Some(Some(levels))
}

const ONE_BITS: u64 = 0x0101_0101_0101_0101;

/// Whether `bytes` hold a `+` or a `#`, 8 bytes at a time: the two differ
/// only in bit 3, so with that bit set in every byte there is one value to
/// find, as a zero byte of the word XOR that value. That still costs about
/// 2 fuel a byte, so a filter is checked once, as it goes into a table,
/// not each time a node subscribes to it.
fn has_wildcard(bytes: &[u8]) -> bool {
    let wild = |word: u64| {
        let x = (word | (ONE_BITS * 0x08)) ^ (ONE_BITS * u64::from(b'+'));
        x.wrapping_sub(ONE_BITS) & !x & (ONE_BITS * 0x80) != 0
    };
    let mut chunks = bytes.chunks_exact(8);
    let found = chunks.any(|chunk| wild(u64::from_le_bytes(chunk.try_into().expect("8 bytes"))));
    found || chunks.remainder().iter().any(|b| b | 0x08 == b'+')
}

/// A wildcard filter as publishes are matched against it: its levels,
/// and how many levels a topic it matches has, to turn most topics away
/// at once. Every publish is matched against every one of these.
#[derive(Clone)]
struct Wildcard {
    filter: Topic,
    levels: Vec<Level>,
    /// Fewest and most levels of a topic it matches (`a/#`: 1 and any).
    min_levels: usize,
    max_levels: usize,
    /// It starts with `+` or `#`, so `$` topics are not its (MQTT 3.1.1, 4.7.2).
    leading_wildcard: bool,
}

impl Wildcard {
    fn new(filter: Topic, levels: Vec<Level>) -> Self {
        let rest = matches!(levels.last(), Some(Level::Rest));
        let min_levels = levels.len() - usize::from(rest);
        let max_levels = if rest { usize::MAX } else { levels.len() };
        let leading_wildcard = !matches!(levels[0], Level::Name { .. });
        Wildcard { filter, levels, min_levels, max_levels, leading_wildcard }
    }

    /// Whether it matches the topic split into `names` (never empty:
    /// `"".split('/')` is one level).
    fn matches(&self, names: &[&str]) -> bool {
        if names.len() < self.min_levels
            || names.len() > self.max_levels
            || (self.leading_wildcard && names[0].starts_with('$'))
        {
            return false;
        }
        // The counts fit: `+` and `#` match whatever they meet.
        let text = self.filter.text.as_bytes();
        self.levels.iter().zip(names).all(|(level, name)| match *level {
            Level::Name { start, end } => same_bytes(name.as_bytes(), &text[start as usize..end as usize]),
            Level::One | Level::Rest => true,
        })
    }
}

/// Whether two byte strings are equal, compared 8 bytes at a time.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    (&mut x).zip(&mut y).all(|(p, q)| word(p) == word(q)) && x.remainder() == y.remainder()
}

/// A topic as the retained messages are kept: compared 32 bytes at a time,
/// in the bytes' order (as a `String` is, but without its fuel a byte),
/// so that they go out in topic order.
struct Ordered(String);

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let (mut x, mut y) = (a.chunks_exact(32), b.chunks_exact(32));
        for (bx, by) in (&mut x).zip(&mut y) {
            if words(bx) != words(by) {
                return bx.cmp(by);
            }
        }
        let done = a.len().min(b.len()) / 32 * 32;
        a[done..].cmp(&b[done..])
    }
}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ordered {}

/// Adds `subscriber` to a filter's `subscribers` unless the table is
/// `full`; whether it is subscribed now.
fn join(subscribers: &mut BTreeSet<String>, subscriber: String, bytes: usize, full: bool, held: &mut usize) -> bool {
    if subscribers.contains(&subscriber) {
        return true;
    }
    if full {
        return false;
    }
    subscribers.insert(subscriber);
    *held += bytes;
    true
}

/// A retained message, and when it was kept (the count of retained
/// publishes then): a subscription gets those kept before it was made,
/// and later ones as the publishes they are.
struct Retained {
    kept: u64,
    payload: Vec<u8>,
}

/// The subscribers of one wildcard filter.
struct WildcardSubscription {
    filter: Wildcard,
    subscribers: BTreeSet<String>,
}

/// What waits to be forwarded, in order.
enum Queued {
    Publish(Pending),
    Retained(RetainedFor),
}

impl Queued {
    /// Its bytes, counted against the backlog's bound.
    fn held(&self) -> usize {
        match self {
            Queued::Publish(pending) => pending.held,
            Queued::Retained(due) => due.held,
        }
    }
}

/// A publish still being forwarded: one copy, and who still gets it.
struct Pending {
    topic: String,
    payload: Vec<u8>,
    subscribers: Vec<String>,
    next: usize,
    /// Its topic and payload bytes, counted against the backlog's bound.
    held: usize,
}

/// The retained messages a new subscription gets, found as they go out
/// (a subscription to `#` may get hundreds: copied at once, they cost far
/// more than one message's fuel and memory).
struct RetainedFor {
    subscriber: String,
    filter: RetainedFilter,
    /// Retained messages kept after the subscription are not its.
    kept_by: u64,
    /// The last topic sent: the next one comes after it.
    after: Option<String>,
    /// Its filter and subscriber bytes.
    held: usize,
}

enum RetainedFilter {
    Exact(String),
    Wildcard(Wildcard),
}

impl RetainedFor {
    /// Sends what it has left, in topic order, while the step has room;
    /// whether it is done.
    fn forward(
        &mut self,
        retained: &BTreeMap<Ordered, Retained>,
        outbox: &mut Vec<Outgoing>,
        sent: &mut usize,
    ) -> bool {
        let from = match (&self.filter, &self.after) {
            (RetainedFilter::Exact(_), Some(_)) => return true,
            (RetainedFilter::Exact(topic), None) => Bound::Included(Ordered(topic.clone())),
            (RetainedFilter::Wildcard(_), None) => Bound::Unbounded,
            (RetainedFilter::Wildcard(_), Some(after)) => Bound::Excluded(Ordered(after.clone())),
        };
        // One pass over the store from where it left off.
        let mut names = Vec::new();
        for (topic, r) in retained.range((from, Bound::Unbounded)) {
            let matches = match &self.filter {
                RetainedFilter::Exact(exact) if topic.0 != *exact => break,
                RetainedFilter::Exact(_) => true,
                RetainedFilter::Wildcard(filter) => {
                    names.clear();
                    names.extend(topic.0.split('/'));
                    filter.matches(&names)
                }
            };
            if !matches || r.kept > self.kept_by {
                continue;
            }
            let size = topic.0.len() + r.payload.len() + self.subscriber.len();
            if step_full(outbox, *sent, size) {
                return false;
            }
            let to = Address::Node(self.subscriber.clone());
            outbox.push(Outgoing { destination: to, topic: topic.0.clone(), payload: r.payload.clone() });
            *sent += size;
            self.after = Some(topic.0.clone());
        }
        true
    }
}

/// Whether a copy of `size` bytes is past the step's bounds (the first
/// copy never is: a legal publish never faults the broker).
fn step_full(outbox: &[Outgoing], sent: usize, size: usize) -> bool {
    !outbox.is_empty() && (sent + size > MAX_FORWARD_BYTES_PER_STEP || outbox.len() >= MAX_FORWARDS_PER_STEP)
}

pub struct Broker {
    subscribers: BTreeMap<Topic, BTreeSet<String>>,
    subscription_bytes: usize,
    /// Wildcard filters with their subscribers, few: a list is quicker
    /// to match every publish against than a map.
    wildcards: Vec<WildcardSubscription>,
    wildcard_levels: usize,
    wildcard_bytes: usize,
    /// Each topic's retained message.
    retained: BTreeMap<Ordered, Retained>,
    retained_bytes: usize,
    retained_topic_bytes: usize,
    backlog: VecDeque<Queued>,
    backlog_bytes: usize,
    published: u64,
    forwarded: u64,
    unrouted: u64,
    subscriptions_refused: u64,
    publishes_dropped: u64,
    subscriptions_invalid: u64,
    unsubscriptions: u64,
    retained_published: u64,
    retained_refused: u64,
    retained_invalid: u64,
}

impl NodeModel for Broker {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        ConfigReader::of::<Self>(config)?;
        Ok(Broker {
            subscribers: BTreeMap::new(),
            subscription_bytes: 0,
            wildcards: Vec::new(),
            wildcard_levels: 0,
            wildcard_bytes: 0,
            retained: BTreeMap::new(),
            retained_bytes: 0,
            retained_topic_bytes: 0,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            published: 0,
            forwarded: 0,
            unrouted: 0,
            subscriptions_refused: 0,
            publishes_dropped: 0,
            subscriptions_invalid: 0,
            unsubscriptions: 0,
            retained_published: 0,
            retained_refused: 0,
            retained_invalid: 0,
        })
    }

    fn step(&mut self, now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        for m in inbox {
            match m.topic.as_str() {
                SUBSCRIBE_TOPIC => self.subscribe(m.source, m.payload),
                UNSUBSCRIBE_TOPIC => self.unsubscribe(&m.source, m.payload),
                topic if topic.starts_with(RETAIN_PREFIX) => {
                    let topic = &topic[RETAIN_PREFIX.len()..];
                    if topic.is_empty() || has_wildcard(topic.as_bytes()) {
                        self.retained_invalid += 1;
                        continue;
                    }
                    self.keep_retained(topic, &m.payload);
                    self.publish(topic.to_string(), m.payload);
                }
                _ => self.publish(m.topic, m.payload),
            }
        }
        let outbox = self.forward();
        // What is left goes out at this same instant, in further steps.
        let wake_at_us = (!self.backlog.is_empty()).then_some(now_us);
        Ok(StepOutput { outbox, wake_at_us })
    }

    fn finish(&mut self) -> Vec<Metric> {
        let exact = self.subscribers.values().map(BTreeSet::len).sum::<usize>();
        let wildcard = self.wildcards.iter().map(|w| w.subscribers.len()).sum::<usize>();
        let mut metrics = vec![
            Metric::new("published", self.published as f64),
            Metric::new("forwarded", self.forwarded as f64),
            Metric::new("unrouted", self.unrouted as f64),
            Metric::new("subscriptions", (exact + wildcard) as f64),
        ];
        // Only when any, so a run using none of them reports as it always did.
        for (name, count) in [
            ("subscriptions_refused", self.subscriptions_refused),
            ("publishes_dropped", self.publishes_dropped),
            ("subscriptions_invalid", self.subscriptions_invalid),
            ("unsubscriptions", self.unsubscriptions),
            ("retained_refused", self.retained_refused),
            ("retained_invalid", self.retained_invalid),
        ] {
            if count > 0 {
                metrics.push(Metric::new(name, count as f64));
            }
        }
        if self.retained_published > 0 {
            metrics.push(Metric::new("retained", self.retained.len() as f64));
        }
        metrics
    }
}

impl Broker {
    fn publish(&mut self, topic: String, payload: Vec<u8>) {
        self.published += 1;
        let topic = Topic::new(topic);
        let exact = self.subscribers.get(&topic).filter(|subs| !subs.is_empty());
        let mut matched: Vec<&BTreeSet<String>> = Vec::new();
        if !self.wildcards.is_empty() {
            let names: Vec<&str> = topic.text.split('/').collect();
            for w in &self.wildcards {
                if w.filter.matches(&names) {
                    matched.push(&w.subscribers);
                }
            }
        }
        if exact.is_none() && matched.is_empty() {
            self.unrouted += 1;
            return;
        }
        let held = topic.text.len() + payload.len();
        // One publish is always taken, however large: a legal publish never faults the broker.
        if self.backlog_bytes + held > MAX_BACKLOG_BYTES && !self.backlog.is_empty() {
            self.publishes_dropped += 1;
            return;
        }
        let subscribers: Vec<String> = match exact {
            Some(subs) if matched.is_empty() => subs.iter().cloned().collect(),
            // A node gets one copy however many of its filters match.
            _ => {
                let all: BTreeSet<&String> = exact.into_iter().chain(matched).flatten().collect();
                all.into_iter().cloned().collect()
            }
        };
        self.backlog_bytes += held;
        self.backlog.push_back(Queued::Publish(Pending { subscribers, topic: topic.text, payload, next: 0, held }));
    }

    /// Queues, for a new subscription, the retained messages its filter matches.
    fn send_retained(&mut self, subscriber: String, filter: RetainedFilter) {
        let held = subscriber.len()
            + match &filter {
                RetainedFilter::Exact(topic) => topic.len(),
                RetainedFilter::Wildcard(w) => w.filter.text.len(),
            };
        if self.backlog_bytes + held > MAX_BACKLOG_BYTES && !self.backlog.is_empty() {
            self.publishes_dropped += 1;
            return;
        }
        self.backlog_bytes += held;
        let kept_by = self.retained_published;
        self.backlog.push_back(Queued::Retained(RetainedFor { subscriber, filter, kept_by, after: None, held }));
    }

    /// Keeps `payload` as `topic`'s retained message (an empty one clears it).
    fn keep_retained(&mut self, topic: &str, payload: &[u8]) {
        self.retained_published += 1;
        let key = Ordered(topic.to_string());
        if let Some(old) = self.retained.remove(&key) {
            self.retained_bytes -= topic.len() + old.payload.len();
            self.retained_topic_bytes -= topic.len();
        }
        if payload.is_empty() {
            return;
        }
        let bytes = topic.len() + payload.len();
        if self.retained.len() >= MAX_RETAINED_MESSAGES
            || self.retained_bytes + bytes > MAX_RETAINED_BYTES
            || self.retained_topic_bytes + topic.len() > MAX_RETAINED_TOPIC_BYTES
        {
            // The old message is gone all the same: a new subscriber must not get a stale one.
            self.retained_refused += 1;
            return;
        }
        self.retained_bytes += bytes;
        self.retained_topic_bytes += topic.len();
        self.retained.insert(key, Retained { kept: self.retained_published, payload: payload.to_vec() });
    }

    fn subscribe(&mut self, subscriber: String, filter: Vec<u8>) {
        let Some(text) = filter_text(filter) else {
            self.subscriptions_invalid += 1;
            return;
        };
        let topic = Topic::new(text);
        let bytes = topic.text.len() + subscriber.len();
        let full = self.subscription_bytes + bytes > MAX_SUBSCRIPTION_BYTES;
        let to = (!self.retained.is_empty()).then(|| subscriber.clone());
        let mut retained = None;
        // The tables hold only checked filters: one found there is not
        // checked again, and past the bound a new one is refused unchecked.
        // One look-up of the (possibly long) topic in each, not two.
        let kept = if let Some(subs) = self.subscribers.get_mut(&topic) {
            let kept = join(subs, subscriber, bytes, full, &mut self.subscription_bytes);
            if kept && to.is_some() {
                retained = Some(RetainedFilter::Exact(topic.text.clone()));
            }
            kept
        } else if let Some(w) = self.wildcards.iter_mut().find(|w| w.filter.filter == topic) {
            let kept = join(&mut w.subscribers, subscriber, bytes, full, &mut self.subscription_bytes);
            if kept && to.is_some() {
                retained = Some(RetainedFilter::Wildcard(w.filter.clone()));
            }
            kept
        } else if full {
            false
        } else {
            match classify(&topic.text) {
                None => {
                    self.subscriptions_invalid += 1;
                    return;
                }
                Some(None) => {
                    if to.is_some() {
                        retained = Some(RetainedFilter::Exact(topic.text.clone()));
                    }
                    self.subscription_bytes += bytes;
                    self.subscribers.insert(topic, BTreeSet::from([subscriber]));
                    true
                }
                Some(Some(levels)) => {
                    let room = self.wildcards.len() < MAX_WILDCARD_FILTERS
                        && self.wildcard_levels + levels.len() <= MAX_WILDCARD_LEVELS
                        && self.wildcard_bytes + topic.text.len() <= MAX_WILDCARD_BYTES;
                    if room {
                        self.wildcard_levels += levels.len();
                        self.wildcard_bytes += topic.text.len();
                        self.subscription_bytes += bytes;
                        let filter = Wildcard::new(topic, levels);
                        if to.is_some() {
                            retained = Some(RetainedFilter::Wildcard(filter.clone()));
                        }
                        self.wildcards.push(WildcardSubscription { filter, subscribers: BTreeSet::from([subscriber]) });
                    }
                    room
                }
            }
        };
        if !kept {
            self.subscriptions_refused += 1;
            return;
        }
        if let (Some(to), Some(filter)) = (to, retained) {
            self.send_retained(to, filter);
        }
    }

    fn unsubscribe(&mut self, subscriber: &str, filter: Vec<u8>) {
        let Some(text) = filter_text(filter) else {
            self.subscriptions_invalid += 1;
            return;
        };
        let topic = Topic::new(text);
        let removed = if let Some(subs) = self.subscribers.get_mut(&topic) {
            let removed = subs.remove(subscriber);
            if subs.is_empty() {
                self.subscribers.remove(&topic);
            }
            removed
        } else if let Some(at) = self.wildcards.iter().position(|w| w.filter.filter == topic) {
            let removed = self.wildcards[at].subscribers.remove(subscriber);
            if self.wildcards[at].subscribers.is_empty() {
                let gone = self.wildcards.swap_remove(at);
                self.wildcard_levels -= gone.filter.levels.len();
                self.wildcard_bytes -= topic.text.len();
            }
            removed
        } else {
            // In neither table, so no one's subscription; an invalid filter is counted all the same.
            if classify(&topic.text).is_none() {
                self.subscriptions_invalid += 1;
            }
            false
        };
        if removed {
            self.subscription_bytes -= topic.text.len() + subscriber.len();
            self.unsubscriptions += 1;
        }
    }

    /// The copies this step sends: the backlog's, in order, up to the step's bounds.
    fn forward(&mut self) -> Vec<Outgoing> {
        let mut outbox = Vec::new();
        let mut sent = 0usize;
        while let Some(front) = self.backlog.front_mut() {
            let done = match front {
                Queued::Publish(pending) => pending.forward(&mut outbox, &mut sent),
                Queued::Retained(due) => due.forward(&self.retained, &mut outbox, &mut sent),
            };
            if !done {
                break;
            }
            let done = self.backlog.pop_front().expect("the front of the backlog");
            self.backlog_bytes -= done.held();
        }
        self.forwarded += outbox.len() as u64;
        outbox
    }
}

impl Pending {
    /// Sends copies to the subscribers left, while the step has room;
    /// whether it is done.
    fn forward(&mut self, outbox: &mut Vec<Outgoing>, sent: &mut usize) -> bool {
        while self.next < self.subscribers.len() {
            let to = &self.subscribers[self.next];
            let size = self.topic.len() + self.payload.len() + to.len();
            if step_full(outbox, *sent, size) {
                return false;
            }
            let last = self.next + 1 == self.subscribers.len();
            // The last subscriber gets the publish's own copy.
            let payload = if last { std::mem::take(&mut self.payload) } else { self.payload.clone() };
            outbox.push(Outgoing { destination: Address::Node(to.clone()), topic: self.topic.clone(), payload });
            self.next += 1;
            *sent += size;
        }
        true
    }
}

xedgesim_model::export_model!(Broker);

#[cfg(test)]
mod tests {
    use xedgesim_model::testing::{Metrics, TestNode, message};

    use super::*;

    fn control(source: &str, topic: &str, filter: &str) -> Message {
        message(source, topic, filter.as_bytes().to_vec())
    }

    fn sub(source: &str, filter: &str) -> Message {
        control(source, SUBSCRIBE_TOPIC, filter)
    }

    fn publish(topic: &str, payload: &str) -> Message {
        message("pub", topic, payload.as_bytes().to_vec())
    }

    /// (destination, topic, payload) of each copy a step sent.
    fn sent(node: &mut TestNode<Broker>, now_us: u64, inbox: Vec<Message>) -> Vec<(String, String, String)> {
        let step = node.step(now_us, inbox).unwrap();
        step.outbox
            .into_iter()
            .map(|m| {
                let Address::Node(to) = m.destination else { panic!("the broker sends to nodes") };
                (to, m.topic, String::from_utf8(m.payload).unwrap())
            })
            .collect()
    }

    fn to(node: &str, topic: &str, payload: &str) -> (String, String, String) {
        (node.into(), topic.into(), payload.into())
    }

    fn names(metrics: &Metrics) -> Vec<&str> {
        metrics.0.iter().map(|m| m.name.as_str()).collect()
    }

    fn parse_filter(bytes: Vec<u8>) -> Option<Option<Vec<Level>>> {
        classify(&filter_text(bytes)?)
    }

    #[test]
    fn filters_follow_mqtt_3_1_1() {
        for valid in ["a", "a/b", "/", "a//b", "+", "#", "a/+", "+/+", "a/#", "+/#", "/#", "sport/+/player1", "$SYS/#"]
        {
            assert!(parse_filter(valid.into()).is_some(), "{valid}");
        }
        for invalid in ["", "a#", "a/b#", "#/a", "a/#/b", "a+", "a/+b", "+a/b", "##", "++"] {
            assert!(parse_filter(invalid.into()).is_none(), "{invalid}");
        }
        assert!(parse_filter(vec![0xff, b'a']).is_none(), "not UTF-8");
        assert!(parse_filter(vec![b'a'; MAX_FILTER_BYTES]).is_some());
        assert!(parse_filter(vec![b'a'; MAX_FILTER_BYTES + 1]).is_none());
    }

    #[test]
    fn the_wildcard_scan_finds_what_a_byte_at_a_time_finds() {
        // Every position in blocks, words and remainders, beside every other byte value.
        for len in [1, 7, 8, 9, 31, 32, 33, 64, 70] {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = byte;
                    let wild = byte == b'+' || byte == b'#';
                    assert_eq!(has_wildcard(&bytes), wild, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn wildcards_match_by_level() {
        let cases: &[(&str, &str, bool)] = &[
            ("sport/tennis/+", "sport/tennis/player1", true),
            ("sport/tennis/+", "sport/tennis/player1/ranking", false),
            ("sport/tennis/+", "sport/tennis/", true),
            ("sport/#", "sport", true),
            ("sport/#", "sport/tennis/player1", true),
            ("sport/#", "sports", false),
            ("sport/+", "sport", false),
            ("+", "sport", true),
            ("+", "/finance", false),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("#", "a/b/c", true),
            ("+/b/#", "a/b", true),
            ("+/b/#", "a/c", false),
            ("#", "$SYS/uptime", false),
            ("+/uptime", "$SYS/uptime", false),
            ("$SYS/#", "$SYS/uptime", true),
            ("$SYS/+", "$SYS/uptime", true),
            ("a/+/c", "a/$x/c", true),
        ];
        for (filter, topic, expected) in cases {
            let Some(Some(levels)) = classify(filter) else { panic!("{filter}") };
            let names: Vec<&str> = topic.split('/').collect();
            let wildcard = Wildcard::new(Topic::new(filter.to_string()), levels);
            assert_eq!(wildcard.matches(&names), *expected, "{filter} on {topic}");
        }
    }

    #[test]
    fn a_publish_reaches_each_matching_node_once_in_id_order() {
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        let subscriptions = vec![
            sub("d", "a/#"),
            sub("c", "a/b/c"),
            sub("b", "+/b/+"),
            sub("a", "#"),
            sub("d", "a/b/c"),
            sub("e", "x/+"),
        ];
        assert!(sent(&mut broker, 0, subscriptions).is_empty());
        let copies = sent(&mut broker, 1, vec![publish("a/b/c", "1")]);
        let expected: Vec<_> = ["a", "b", "c", "d"].iter().map(|n| to(n, "a/b/c", "1")).collect();
        assert_eq!(copies, expected);
        assert_eq!(sent(&mut broker, 2, vec![publish("x/y", "2")]), vec![to("a", "x/y", "2"), to("e", "x/y", "2")]);
        assert_eq!(sent(&mut broker, 3, vec![publish("$SYS/x", "3")]), vec![], "not matched by `#`");
        let m = broker.finish();
        assert_eq!(
            (m.get("published"), m.get("forwarded"), m.get("unrouted"), m.get("subscriptions")),
            (Some(3.0), Some(6.0), Some(1.0), Some(6.0))
        );
    }

    #[test]
    fn exact_subscriptions_report_what_they_always_did() {
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        sent(&mut broker, 0, vec![sub("gw", "t"), sub("gw", "t")]);
        sent(&mut broker, 1, vec![publish("t", "1"), publish("u", "2")]);
        assert_eq!(names(&broker.finish()), ["published", "forwarded", "unrouted", "subscriptions"]);
    }

    #[test]
    fn invalid_filters_are_counted_not_faults() {
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        let bad = vec![
            sub("gw", "a/#/b"),
            sub("gw", "a+"),
            sub("gw", ""),
            control("gw", UNSUBSCRIBE_TOPIC, "#/x"),
            message("gw", SUBSCRIBE_TOPIC, vec![0xff]),
        ];
        assert!(sent(&mut broker, 0, bad).is_empty());
        assert!(sent(&mut broker, 1, vec![publish("a/x/b", "1")]).is_empty());
        let m = broker.finish();
        assert_eq!((m.get("subscriptions_invalid"), m.get("subscriptions")), (Some(5.0), Some(0.0)));
    }

    #[test]
    fn unsubscribe_removes_only_that_nodes_filter() {
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        sent(&mut broker, 0, vec![sub("a", "t/+"), sub("b", "t/+"), sub("a", "t/1"), sub("a", "t/#")]);
        let unsubscribe = |node: &str, filter: &str| control(node, UNSUBSCRIBE_TOPIC, filter);
        sent(&mut broker, 1, vec![unsubscribe("a", "t/+"), unsubscribe("a", "t/1"), unsubscribe("a", "never")]);
        // `a` still has `t/#`; `b` keeps `t/+`.
        assert_eq!(sent(&mut broker, 2, vec![publish("t/1", "x")]), vec![to("a", "t/1", "x"), to("b", "t/1", "x")]);
        sent(&mut broker, 3, vec![unsubscribe("a", "t/#"), unsubscribe("b", "t/+")]);
        assert!(sent(&mut broker, 4, vec![publish("t/1", "y")]).is_empty());
        assert!(broker.model().wildcards.is_empty() && broker.model().subscribers.is_empty());
        assert_eq!((broker.model().wildcard_levels, broker.model().wildcard_bytes), (0, 0));
        assert_eq!(broker.model().subscription_bytes, 0);
        let m = broker.finish();
        assert_eq!(
            (m.get("unsubscriptions"), m.get("subscriptions"), m.get("unrouted")),
            (Some(4.0), Some(0.0), Some(1.0))
        );
    }

    #[test]
    fn a_retained_message_is_forwarded_kept_and_sent_to_each_new_subscription_in_topic_order() {
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        sent(&mut broker, 0, vec![sub("early", "s/+")]);
        let retain = |topic: &str, payload: &str| publish(&format!("{RETAIN_PREFIX}{topic}"), payload);
        let copies = sent(&mut broker, 1, vec![retain("s/2", "two"), retain("s/1", "one"), retain("s/1", "uno")]);
        assert_eq!(copies, vec![to("early", "s/2", "two"), to("early", "s/1", "one"), to("early", "s/1", "uno")]);
        // A late wildcard subscriber gets the newest of each topic, in topic order.
        let late = sent(&mut broker, 2, vec![sub("late", "s/#"), sub("exact", "s/2"), sub("none", "t/+")]);
        assert_eq!(late, vec![to("late", "s/1", "uno"), to("late", "s/2", "two"), to("exact", "s/2", "two")]);
        // Subscribing again gets them again (MQTT replaces the subscription).
        assert_eq!(sent(&mut broker, 3, vec![sub("exact", "s/2")]), vec![to("exact", "s/2", "two")]);
        // An empty payload clears it, and goes out like any publish.
        let cleared = sent(&mut broker, 4, vec![retain("s/2", "")]);
        assert_eq!(cleared, vec![to("early", "s/2", ""), to("exact", "s/2", ""), to("late", "s/2", "")]);
        assert_eq!(sent(&mut broker, 5, vec![sub("later", "#")]), vec![to("later", "s/1", "uno")]);
        let invalid = sent(&mut broker, 6, vec![retain("", "x"), retain("s/+", "x"), retain("$q", "kept, unrouted")]);
        assert!(invalid.is_empty());
        let m = broker.finish();
        assert_eq!(
            (m.get("retained"), m.get("retained_invalid"), m.get("published"), m.get("unrouted")),
            (Some(2.0), Some(2.0), Some(5.0), Some(1.0))
        );
    }

    #[test]
    fn a_subscription_gets_the_retained_messages_kept_before_it_and_later_ones_once() {
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        let retain = |topic: &str, payload: &str| publish(&format!("{RETAIN_PREFIX}{topic}"), payload);
        sent(&mut broker, 0, vec![retain("a", "old")]);
        let copies = sent(&mut broker, 1, vec![sub("n", "#"), retain("a", "new"), retain("b", "1")]);
        assert_eq!(copies, vec![to("n", "a", "new"), to("n", "b", "1")], "as publishes, not twice");
    }

    #[test]
    fn a_step_sends_a_bounded_number_of_copies_and_the_rest_at_the_same_instant() {
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        let subscriptions: Vec<Message> = (0..5_000).map(|i| sub(&format!("n{i:04}"), "t")).collect();
        sent(&mut broker, 0, subscriptions);
        let first = broker.step(7, vec![publish("t", "x")]).unwrap();
        assert_eq!((first.outbox.len(), first.wake_at_us), (MAX_FORWARDS_PER_STEP, Some(7)));
        let rest = broker.wake(7).unwrap();
        assert_eq!((rest.outbox.len(), rest.wake_at_us), (5_000 - MAX_FORWARDS_PER_STEP, None));
        assert_eq!(rest.outbox.last().unwrap().destination, Address::Node("n4999".into()));
        // A subscription to many retained messages, too.
        for i in 0..MAX_RETAINED_MESSAGES {
            broker.step(8, vec![publish(&format!("{RETAIN_PREFIX}r/{i:03}"), "1")]).unwrap();
        }
        let many: Vec<Message> = (0..20).map(|i| sub(&format!("late{i:02}"), "r/#")).collect();
        let mut copies = Vec::new();
        let mut step = broker.step(9, many).unwrap();
        while step.wake_at_us == Some(9) {
            assert!(step.outbox.len() <= MAX_FORWARDS_PER_STEP);
            copies.extend(step.outbox);
            step = broker.wake(9).unwrap();
        }
        copies.extend(step.outbox);
        assert_eq!(copies.len(), 20 * MAX_RETAINED_MESSAGES);
        assert_eq!((copies[0].topic.as_str(), copies[255].topic.as_str()), ("r/000", "r/255"));
    }

    #[test]
    fn retained_messages_and_wildcard_filters_are_bounded_and_refusals_counted() {
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        let filters: Vec<Message> = (0..MAX_WILDCARD_FILTERS + 10).map(|i| sub("n", &format!("w/{i}/+"))).collect();
        sent(&mut broker, 0, filters);
        // Subscribers of a kept filter are not bounded by the filters' count.
        sent(&mut broker, 1, vec![sub("other", "w/0/+")]);
        let m = broker.finish();
        assert_eq!(m.get("subscriptions"), Some(MAX_WILDCARD_FILTERS as f64 + 1.0));
        assert_eq!(m.get("subscriptions_refused"), Some(10.0));

        // Levels: 1,000 in one filter, then one of 25 more is refused, one of 24 kept.
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        let levels = |n: usize, last: &str| format!("{}{last}", "+/".repeat(n - 1));
        sent(
            &mut broker,
            0,
            vec![sub("n", &levels(1_000, "a")), sub("n", &levels(25, "b")), sub("n", &levels(24, "c"))],
        );
        let m = broker.finish();
        assert_eq!((m.get("subscriptions"), m.get("subscriptions_refused")), (Some(2.0), Some(1.0)));
        // Bytes: 4 KiB of distinct filters.
        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        let long = |c: &str| format!("{}/#", c.repeat(2 << 10));
        sent(&mut broker, 0, vec![sub("n", &long("a")), sub("n", &long("b")), sub("m", &long("a"))]);
        let m = broker.finish();
        assert_eq!((m.get("subscriptions"), m.get("subscriptions_refused")), (Some(2.0), Some(1.0)));

        let mut broker = TestNode::<Broker>::new("broker", []).unwrap();
        let big = "x".repeat(400 << 10);
        let retains: Vec<Message> = (0..4).map(|i| publish(&format!("{RETAIN_PREFIX}big/{i}"), &big)).collect();
        sent(&mut broker, 0, retains);
        // Many small ones, past the count.
        let small: Vec<Message> =
            (0..MAX_RETAINED_MESSAGES).map(|i| publish(&format!("{RETAIN_PREFIX}s/{i}"), "1")).collect();
        sent(&mut broker, 1, small);
        // Topics: 16 KiB of them, in long ones (the old message of a topic refused is gone too).
        let long = "t".repeat(10 << 10);
        sent(
            &mut broker,
            2,
            vec![publish(&format!("{RETAIN_PREFIX}s/0"), ""), publish(&format!("{RETAIN_PREFIX}{long}"), "1")],
        );
        sent(
            &mut broker,
            3,
            vec![publish(&format!("{RETAIN_PREFIX}s/1"), ""), publish(&format!("{RETAIN_PREFIX}{long}2"), "1")],
        );
        let m = broker.finish();
        // Two of 400 KiB fit in 1 MiB; then 254 small ones fill the count;
        // of two 10 KiB topics, one fits.
        assert_eq!((m.get("retained"), m.get("retained_refused")), (Some(255.0), Some(2.0 + 2.0 + 1.0)));
        assert!(broker.model().retained_bytes <= MAX_RETAINED_BYTES);
        assert!(broker.model().retained_topic_bytes <= MAX_RETAINED_TOPIC_BYTES);
    }
}
