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
//! (`t_us`: when it was sampled, for end-to-end latency). With `features`
//! N > 0 it is xEdgeSim's ML inference request instead,
//! `{"device_id":"s1","timestamp_us":1000000,"features":[20.4,19.1,…]}`:
//! N readings, each rounded to float32 (the inference model's input type)
//! and printed in its shortest form, which is the same text natively and
//! in a component.

use std::fmt::Write;

use xedgesim_model::payload::{Field, encode};
use xedgesim_model::{Address, Config, ConfigKey, ConfigReader, Message, Metric, NodeModel, Outgoing, StepOutput};

/// What it sends and reports, for its reference (`xedgesim models`),
/// beside the code that does it.
pub const SENDS: &str = "A reading every `1 / sample_rate_hz` seconds, the first one period after the start (at 1 s by \
default, as xEdgeSim's), valued `base` plus normal noise of `noise_stddev`. Sent to `destination` with topic \
`reading`, or published on `topic`. Payload: `{\"temperature\":20.4,\"unit\":\"C\",\"sample_id\":1,\"t_us\":1000000}`: \
the value, `unit`, a count from 1, and the virtual time it was sampled in µs (for end-to-end latency). \
With `features` N > 0, the payload is xEdgeSim's ML inference request instead: \
`{\"device_id\":\"s1\",\"timestamp_us\":1000000,\"features\":[20.4,19.1]}`, the node's id, the virtual time in µs \
and N values of `base` plus normal noise, each rounded to float32. Metrics: `samples_sent`.";

/// Most values of one ML request (`features`).
pub const MAX_FEATURES: u64 = 4_096;

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
    ConfigKey::integer(
        "features",
        "when > 0, each reading is an ML inference request of this many values, at most 4096 (0: a temperature \
         reading); about 3,000 fuel a value",
    )
    .default_integer(0),
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
    /// Values in each ML request; 0 for temperature readings.
    features: usize,
    /// `{"device_id":"<id>"`, the ML request's start, escaped once.
    request_start: String,
    /// Whether it has stepped: its schedule starts at its first step.
    started: bool,
}

impl NodeModel for Sensor {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(id: &str, config: &Config) -> Result<Self, String> {
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
        let base = c.number("base")?;
        let features = c.whole("features")?;
        if features > MAX_FEATURES {
            return Err(format!("config key 'features' must be at most {MAX_FEATURES}; found {features}"));
        }
        // Box–Muller's deviates stay within 8.6 standard deviations.
        let span = base.abs() + 9.0 * noise_stddev;
        if features > 0 && (span.is_nan() || span >= f64::from(f32::MAX)) {
            return Err(format!(
                "with 'features', 'base' and 'noise_stddev' must keep values within float32's range; found base \
                 {base}, noise_stddev {noise_stddev}"
            ));
        }
        let mut request_start = String::from_utf8(encode(&[("device_id", Field::Text(id.to_string()))]))
            .expect("the payload encoder writes UTF-8");
        request_start.pop();
        Ok(Sensor {
            period_us,
            base,
            noise_stddev,
            unit: c.string("unit")?,
            destination,
            topic,
            next_sample_us: period_us,
            samples_sent: 0,
            features: features as usize,
            request_start,
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
            let payload = if self.features > 0 {
                self.request()?
            } else {
                let value = self.base + self.noise_stddev * standard_normal()?;
                encode(&[
                    ("temperature", Field::Number(value)),
                    ("unit", Field::Text(self.unit.clone())),
                    ("sample_id", Field::Number(self.samples_sent as f64)),
                    ("t_us", Field::Number(xedgesim_model::now_us() as f64)),
                ])
            };
            outbox.push(Outgoing { destination: self.destination.clone(), topic: self.topic.clone(), payload });
            self.next_sample_us += self.period_us;
        }
        Ok(StepOutput { outbox, wake_at_us: Some(self.next_sample_us) })
    }

    fn finish(&mut self) -> Vec<Metric> {
        vec![Metric::new("samples_sent", self.samples_sent as f64)]
    }
}

impl Sensor {
    /// An ML inference request: the node's id, the time and `features`
    /// values of `base` plus noise, as float32 in their shortest form.
    fn request(&self) -> Result<Vec<u8>, String> {
        let mut out = String::with_capacity(self.request_start.len() + 48 + 12 * self.features);
        out.push_str(&self.request_start);
        write!(out, ",\"timestamp_us\":{},\"features\":[", xedgesim_model::now_us()).expect("writing to a String");
        // Box–Muller gives deviates in pairs: both are used, half the draws.
        let mut pair = [0.0; 2];
        for i in 0..self.features {
            if i > 0 {
                out.push(',');
            }
            if i % 2 == 0 {
                pair = normal_pair()?;
            }
            let value = (self.base + self.noise_stddev * pair[i % 2]) as f32;
            // Finite by the check on `base` and `noise_stddev`; JSON has no infinity all the same.
            if value.is_finite() {
                write!(out, "{value}").expect("writing to a String");
            } else {
                out.push_str("null");
            }
        }
        out.push_str("]}");
        Ok(out.into_bytes())
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

/// Two independent standard normal deviates by Box–Muller, from two
/// uniform draws (as [`standard_normal`]'s, which uses only the first).
fn normal_pair() -> Result<[f64; 2], String> {
    let draw = xedgesim_model::random_u64;
    let u1 = ((draw()? >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let u2 = (draw()? >> 11) as f64 / (1u64 << 53) as f64;
    let radius = libm::sqrt(-2.0 * libm::log(u1));
    let (sin, cos) = libm::sincos(std::f64::consts::TAU * u2);
    Ok([radius * cos, radius * sin])
}

xedgesim_model::export_model!(Sensor);

#[cfg(test)]
mod tests {
    use xedgesim_model::ConfigValue;
    use xedgesim_model::testing::TestNode;

    use super::*;

    fn ml_sensor(features: i64) -> Result<TestNode<Sensor>, String> {
        TestNode::<Sensor>::new(
            "cam\"1",
            [("topic", ConfigValue::Text("ml/inference/request".into())), ("features", ConfigValue::Integer(features))],
        )
    }

    /// The request's text at 1 s, and its values.
    fn first_request(sensor: &mut TestNode<Sensor>) -> (String, Vec<f32>) {
        sensor.wake(0).unwrap();
        let step = sensor.wake(1_000_000).unwrap();
        let [m] = step.outbox.as_slice() else { panic!("one request: {step:?}") };
        assert_eq!((&m.destination, m.topic.as_str()), (&Address::Publish, "ml/inference/request"));
        let text = String::from_utf8(m.payload.clone()).unwrap();
        let list = text.split_once("\"features\":[").unwrap().1.strip_suffix("]}").unwrap();
        (text.clone(), list.split(',').map(|v| v.parse().unwrap()).collect())
    }

    #[test]
    fn with_features_a_reading_is_an_ml_request() {
        let (text, values) = first_request(&mut ml_sensor(32).unwrap());
        assert!(text.starts_with(r#"{"device_id":"cam\"1","timestamp_us":1000000,"features":["#), "{text}");
        assert_eq!(values.len(), 32);
        // Base 20, noise 2: within 5 standard deviations; not all alike.
        assert!(values.iter().all(|v| (v - 20.0).abs() < 10.0), "{values:?}");
        assert!(values.windows(2).any(|w| w[0] != w[1]));
        // The same seed gives the same bytes; float32's shortest forms.
        let (again, _) = first_request(&mut ml_sensor(32).unwrap());
        assert_eq!(text, again);
        let (three, _) = first_request(&mut ml_sensor(3).unwrap());
        assert_eq!(three, format!("{}]}}", &text[..text.match_indices(',').nth(4).unwrap().0]));
    }

    #[test]
    fn without_features_readings_are_unchanged() {
        let mut sensor = TestNode::<Sensor>::new("s", [("destination", ConfigValue::Text("gw".into()))]).unwrap();
        sensor.wake(0).unwrap();
        let payloads = sensor.wake(1_000_000).unwrap().payloads_to("gw").unwrap();
        let keys: Vec<&str> = payloads[0].0.keys().map(String::as_str).collect();
        assert_eq!(keys, ["sample_id", "t_us", "temperature", "unit"]);
    }

    #[test]
    fn features_are_bounded_and_kept_within_float32() {
        assert!(ml_sensor(4_096).is_ok());
        let e = ml_sensor(4_097).unwrap_err();
        assert_eq!(e, "config key 'features' must be at most 4096; found 4097");
        let e = ml_sensor(-1).unwrap_err();
        assert!(e.contains("'features' must be a whole number >= 0"), "{e}");
        let huge = TestNode::<Sensor>::new(
            "s",
            [
                ("topic", ConfigValue::Text("t".into())),
                ("features", ConfigValue::Integer(1)),
                ("base", ConfigValue::Float(1e39)),
            ],
        );
        assert!(huge.unwrap_err().contains("within float32's range"));
    }
}
