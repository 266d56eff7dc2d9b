//! A test harness: run a model natively in a unit test, without the host.
//!
//! ```
//! use xedgesim_model::testing::{TestNode, reading};
//! # use xedgesim_model::{Config, Message, Metric, NodeModel, StepOutput};
//! # struct Counter(u64);
//! # impl NodeModel for Counter {
//! #     fn new(_: &str, _: &Config) -> Result<Self, String> { Ok(Counter(0)) }
//! #     fn step(&mut self, _: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
//! #         self.0 += inbox.len() as u64; Ok(StepOutput::default())
//! #     }
//! #     fn finish(&mut self) -> Vec<Metric> { vec![Metric::new("seen", self.0 as f64)] }
//! # }
//! let mut node = TestNode::<Counter>::new("counter", []).unwrap();
//! let step = node.step(1_000_000, vec![reading("s1", 21.5)]).unwrap();
//! assert!(step.outbox.is_empty() && step.wake_at_us.is_none());
//! assert_eq!(node.finish().get("seen"), Some(1.0));
//! ```
//!
//! Time and randomness are virtual here too: [`now_us`](crate::now_us)
//! reads the step's time, and [`random_u64`](crate::random_u64) draws
//! from a ChaCha20 stream seeded by [`TestNode::with_seed`] (0 by default;
//! not the stream the host would give the node in a scenario, which is
//! derived from the scenario's seed and the node's id). What the node logs
//! is kept, per call, in [`Step::logs`].

use crate::env::native::{NodeEnv, entered};
use crate::payload::{Field, Payload, decode, encode};
use crate::{Address, Config, ConfigValue, LogLevel, Message, Metric, NodeModel, Outgoing};

/// One node of model `M`, made from its config, stepped by the test.
pub struct TestNode<M> {
    id: String,
    model: M,
    env: Option<NodeEnv>,
    now_us: u64,
    /// What the constructor logged.
    pub constructor_logs: Vec<LogLine>,
}

impl<M> std::fmt::Debug for TestNode<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNode").field("id", &self.id).field("now_us", &self.now_us).finish_non_exhaustive()
    }
}

/// One line a node logged.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub time_us: u64,
    pub level: LogLevel,
    pub message: String,
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    /// The messages it sent, in order.
    pub outbox: Vec<Outgoing>,
    /// When it asked to be stepped again.
    pub wake_at_us: Option<u64>,
    pub logs: Vec<LogLine>,
}

impl Step {
    /// The messages sent to node `id`.
    pub fn sent_to(&self, id: &str) -> Vec<&Outgoing> {
        self.outbox.iter().filter(|m| matches!(&m.destination, Address::Node(d) if d == id)).collect()
    }

    /// The messages published on `topic`.
    pub fn published(&self, topic: &str) -> Vec<&Outgoing> {
        self.outbox.iter().filter(|m| m.destination == Address::Publish && m.topic == topic).collect()
    }

    /// The payloads of the messages sent to node `id`, decoded as the
    /// built-in models' flat JSON (see [`payload`](crate::payload)).
    pub fn payloads_to(&self, id: &str) -> Result<Vec<Payload>, String> {
        self.sent_to(id).into_iter().map(|m| decode(&m.payload)).collect()
    }
}

/// A node's final metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics(pub Vec<Metric>);

impl Metrics {
    /// The value of the metric `name`, if the node reported it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|m| m.name == name).map(|m| m.value)
    }
}

impl<M: NodeModel> TestNode<M> {
    /// Makes node `id` from `config` (its constructor runs at t = 0), with
    /// the random stream of seed 0.
    pub fn new<'k>(id: &str, config: impl IntoIterator<Item = (&'k str, ConfigValue)>) -> Result<Self, String> {
        Self::with_seed(id, config, 0)
    }

    /// As [`new`](Self::new), with the random stream of `seed`.
    pub fn with_seed<'k>(
        id: &str,
        config: impl IntoIterator<Item = (&'k str, ConfigValue)>,
        seed: u64,
    ) -> Result<Self, String> {
        let config: Config = config.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut env = Some(NodeEnv::new(seed_bytes).keep_logs());
        let model = entered(&mut env, 0, || M::new(id, &config))?;
        let constructor_logs = take_logs(&mut env);
        Ok(TestNode { id: id.to_string(), model, env, now_us: 0, constructor_logs })
    }

    /// Steps the node at `now_us` with `inbox` (messages addressed to a
    /// node are readdressed to this one). Time must not go backwards.
    pub fn step(&mut self, now_us: u64, inbox: Vec<Message>) -> Result<Step, String> {
        if now_us < self.now_us {
            return Err(format!("step at {now_us} µs is before the previous one at {} µs", self.now_us));
        }
        self.now_us = now_us;
        let inbox = inbox
            .into_iter()
            .map(|mut m| {
                if let Address::Node(_) = m.destination {
                    m.destination = Address::Node(self.id.clone());
                }
                m
            })
            .collect();
        let model = &mut self.model;
        let output = entered(&mut self.env, now_us, || model.step(now_us, inbox));
        let logs = take_logs(&mut self.env);
        let output = output?;
        Ok(Step { outbox: output.outbox, wake_at_us: output.wake_at_us, logs })
    }

    /// Steps the node at `now_us` with no messages, as a wake-up.
    pub fn wake(&mut self, now_us: u64) -> Result<Step, String> {
        self.step(now_us, Vec::new())
    }

    /// The node's final metrics.
    pub fn finish(&mut self) -> Metrics {
        let model = &mut self.model;
        Metrics(entered(&mut self.env, self.now_us, || model.finish()))
    }

    /// The model itself, to look at its state.
    pub fn model(&self) -> &M {
        &self.model
    }
}

fn take_logs(env: &mut Option<NodeEnv>) -> Vec<LogLine> {
    let env = env.as_mut().expect("the environment is back after each call");
    env.take_logs().into_iter().map(|(time_us, level, message)| LogLine { time_us, level, message }).collect()
}

/// A message from `source` with `topic` and `payload`, sent at 0.
pub fn message(source: &str, topic: &str, payload: Vec<u8>) -> Message {
    Message {
        source: source.to_string(),
        destination: Address::Node(String::new()),
        topic: topic.to_string(),
        payload,
        sent_us: 0,
    }
}

/// A reading as the built-in sensor sends it (topic `reading`, payload
/// `{"temperature":…,"unit":"C","sample_id":1,"t_us":0}`).
pub fn reading(source: &str, temperature: f64) -> Message {
    reading_at(source, 0, 1, temperature)
}

/// A reading sampled at `t_us` (also its send time), numbered `sample_id`.
pub fn reading_at(source: &str, t_us: u64, sample_id: u64, temperature: f64) -> Message {
    let payload = encode(&[
        ("temperature", Field::Number(temperature)),
        ("unit", Field::Text("C".into())),
        ("sample_id", Field::Number(sample_id as f64)),
        ("t_us", Field::Number(t_us as f64)),
    ]);
    Message { sent_us: t_us, ..message(source, "reading", payload) }
}
