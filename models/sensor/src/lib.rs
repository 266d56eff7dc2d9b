//! The built-in sensor: a reading every `1 / sample_rate_hz` seconds (the
//! first one period after its first step, so at 1 s by default, as
//! xEdgeSim's; one period after a restart for a node a scripted fault
//! restarted),
//! valued `base + N(0, noise_stddev)`, sent to `destination` or published
//! on `topic`.
//!
//! It reads time and randomness through the SDK (`now_us`, `random_u64`):
//! in its component they are WASI's, which the host makes virtual and
//! seeds per node; natively, the host's native runtime gives it the same
//! virtual time and the same stream, so its readings are the same bytes.
//!
//! Payload: `{"temperature":20.4,"unit":"C","sample_id":1,"t_us":1000000}`
//! (`t_us`: when it was sampled, for end-to-end latency).

use xedgesim_model::payload::{Field, encode};
use xedgesim_model::{Address, Config, ConfigKey, ConfigReader, Message, Metric, NodeModel, Outgoing, StepOutput};

/// What it sends and reports, for its reference (`xedgesim models`),
/// beside the code that does it.
pub const SENDS: &str = "A reading every `1 / sample_rate_hz` seconds, the first one period after the start (at 1 s by \
default, as xEdgeSim's), valued `base` plus normal noise of `noise_stddev`. Sent to `destination` with topic \
`reading`, or published on `topic`. Payload: `{\"temperature\":20.4,\"unit\":\"C\",\"sample_id\":1,\"t_us\":1000000}`: \
the value, `unit`, a count from 1, and the virtual time it was sampled in µs (for end-to-end latency). \
Metrics: `samples_sent`.";

/// The `config:` keys this model takes (the host warns about others and
/// drops them). The reference in `docs/models.md` is generated from it.
pub const CONFIG: &[ConfigKey] = &[
    ConfigKey::number("sample_rate_hz", "readings per second, in (0, 1000000]").default_number(1.0),
    ConfigKey::number("base", "the mean reading").default_number(20.0),
    ConfigKey::number("noise_stddev", "standard deviation of the normal noise added to each reading, >= 0")
        .default_number(2.0),
    ConfigKey::text("unit", "the payload's `unit` field").default_text("C"),
    ConfigKey::text(
        "destination",
        "the node each reading is sent to (default: the first gateway, else the first cloud; or use `topic`)",
    )
    .node_id(),
    ConfigKey::text("topic", "publish each reading on this topic through the broker instead"),
];

pub struct Sensor {
    period_us: u64,
    base: f64,
    noise_stddev: f64,
    unit: String,
    destination: Address,
    topic: String,
    next_sample_us: u64,
    samples_sent: u64,
    /// Whether it has stepped: its schedule starts at its first step.
    started: bool,
}

impl NodeModel for Sensor {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        let c = ConfigReader::of::<Self>(config)?;
        let rate = c.number("sample_rate_hz")?;
        if !(rate.is_finite() && rate > 0.0 && rate <= 1e6) {
            return Err(format!("config key 'sample_rate_hz' must be in (0, 1000000]; found {rate}"));
        }
        let noise_stddev = c.number("noise_stddev")?;
        if !(noise_stddev.is_finite() && noise_stddev >= 0.0) {
            return Err(format!("config key 'noise_stddev' must be >= 0; found {noise_stddev}"));
        }
        let (destination, topic) = match (c.text("destination")?, c.text("topic")?) {
            (_, Some(topic)) => (Address::Publish, topic),
            (Some(node), None) => (Address::Node(node), "reading".to_string()),
            (None, None) => return Err("config needs 'destination' (a node id) or 'topic' (to publish)".into()),
        };
        let period_us = ((1e6 / rate).round() as u64).max(1);
        Ok(Sensor {
            period_us,
            base: c.number("base")?,
            noise_stddev,
            unit: c.string("unit")?,
            destination,
            topic,
            next_sample_us: period_us,
            samples_sent: 0,
            started: false,
        })
    }

    fn step(&mut self, now_us: u64, _inbox: Vec<Message>) -> Result<StepOutput, String> {
        let mut outbox = Vec::new();
        if !self.started {
            self.started = true;
            self.next_sample_us = now_us.saturating_add(self.period_us);
        }
        while self.next_sample_us <= now_us {
            self.samples_sent += 1;
            let value = self.base + self.noise_stddev * standard_normal()?;
            outbox.push(Outgoing {
                destination: self.destination.clone(),
                topic: self.topic.clone(),
                payload: encode(&[
                    ("temperature", Field::Number(value)),
                    ("unit", Field::Text(self.unit.clone())),
                    ("sample_id", Field::Number(self.samples_sent as f64)),
                    ("t_us", Field::Number(xedgesim_model::now_us() as f64)),
                ]),
            });
            self.next_sample_us += self.period_us;
        }
        Ok(StepOutput { outbox, wake_at_us: Some(self.next_sample_us) })
    }

    fn finish(&mut self) -> Vec<Metric> {
        vec![Metric::new("samples_sent", self.samples_sent as f64)]
    }
}

/// A standard normal deviate by Box–Muller, from two uniform draws.
fn standard_normal() -> Result<f64, String> {
    let draw = xedgesim_model::random_u64;
    // 53 random bits in (0, 1]: never 0, so ln() stays finite.
    let u1 = ((draw()? >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let u2 = (draw()? >> 11) as f64 / (1u64 << 53) as f64;
    // libm, not std: std's ln and cos are the platform's (glibc natively,
    // wasi-libc in a component), which may differ in the last bit.
    Ok(libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2))
}

xedgesim_model::export_model!(Sensor);
