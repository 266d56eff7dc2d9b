//! The built-in gateway: handles each reading `processing_delay_us` after
//! it arrives (default 100 µs, as xEdgeSim's), aggregates each
//! `window_s` window (default 5 s; count, mean, min, max) and forwards the
//! aggregate to `destination` (default: the scenario's first cloud node).
//! With `alert_threshold`, a reading above it is forwarded at once as an
//! alert. With `subscribe`, it subscribes to that topic at the broker.
//!
//! Unlike xEdgeSim's (cumulative, kept local), each aggregate covers one
//! window and leaves the gateway, so there is an end-to-end path to measure.
//! A window is emitted even when empty (count 0), so aggregates come at
//! fixed times whatever the traffic. Windows (and the subscription) start
//! at its first step: t = 0, or its restart time after a scripted crash.

use std::collections::VecDeque;

use xedgesim_model::payload::{Field, decode, encode};
use xedgesim_model::{Address, Config, ConfigKey, ConfigReader, Message, Metric, NodeModel, Outgoing, StepOutput};

/// What it sends and reports, for its reference (`xedgesim models`),
/// beside the code that does it.
pub const SENDS: &str = "Handles each reading `processing_delay_us` after it arrives. At the end of each `window_s` \
window (also when it was empty) it sends topic `aggregate` to `destination`: \
`{\"window_start_us\":0,\"window_end_us\":5000000,\"count\":5,\"mean\":20.1,\"min\":18.2,\"max\":22.3,\"t_us\":5000000}` \
(`mean`, `min` and `max` are `null` for an empty window; `t_us` is the newest reading's sample time). With \
`alert_threshold`, a reading above it is sent at once, topic `alert`: \
`{\"source\":\"sensor1\",\"temperature\":31.2,\"threshold\":30,\"t_us\":4000000}`. A reading's payload needs a \
number `temperature` (and may have `t_us`); others are counted as malformed. Metrics: `readings_received`, \
`readings_processed`, `readings_malformed`, `readings_pending`, `windows_closed`, `aggregates_sent`, `alerts_sent`.";

/// The `config:` keys this model takes (the host warns about others and
/// drops them). The reference in `docs/models.md` is generated from it.
pub const CONFIG: &[ConfigKey] = &[
    ConfigKey::number("window_s", "length of each aggregation window, > 0").default_number(5.0),
    ConfigKey::integer("processing_delay_us", "time from a reading's arrival to its processing").default_integer(100),
    ConfigKey::text("destination", "where aggregates and alerts go (default: the scenario's first cloud node)")
        .node_id(),
    ConfigKey::number("alert_threshold", "a reading above it is forwarded at once, topic `alert`"),
    ConfigKey::text("subscribe", "subscribe to this topic at the broker at t = 0"),
];

pub struct Gateway {
    window_us: u64,
    processing_delay_us: u64,
    destination: Option<String>,
    alert_threshold: Option<f64>,
    subscribe: Option<String>,
    /// Readings waiting for their processing time, in arrival order.
    pending: VecDeque<(u64, Message)>,
    window: Window,
    window_end_us: u64,
    readings_received: u64,
    readings_processed: u64,
    malformed: u64,
    windows_closed: u64,
    aggregates_sent: u64,
    alerts_sent: u64,
    /// Whether it has stepped: its windows start at its first step.
    started: bool,
}

#[derive(Default)]
struct Window {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// Sample time of the newest reading in the window.
    newest_t_us: f64,
}

impl NodeModel for Gateway {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(_id: &str, config: &Config) -> Result<Self, String> {
        let c = ConfigReader::of::<Self>(config)?;
        let window_s = c.number("window_s")?;
        if !(window_s.is_finite() && window_s > 0.0) {
            return Err(format!("config key 'window_s' must be > 0; found {window_s}"));
        }
        let window_us = ((window_s * 1e6).round() as u64).max(1);
        Ok(Gateway {
            window_us,
            processing_delay_us: c.whole("processing_delay_us")?,
            destination: c.text("destination")?,
            alert_threshold: c.optional_number("alert_threshold")?,
            subscribe: c.text("subscribe")?,
            pending: VecDeque::new(),
            window: Window::default(),
            window_end_us: window_us,
            readings_received: 0,
            readings_processed: 0,
            malformed: 0,
            windows_closed: 0,
            aggregates_sent: 0,
            alerts_sent: 0,
            started: false,
        })
    }

    fn step(&mut self, now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        let mut outbox = Vec::new();
        if !self.started {
            self.started = true;
            self.window_end_us = now_us.saturating_add(self.window_us);
            if let Some(topic) = self.subscribe.take() {
                outbox.push(Outgoing {
                    destination: Address::Publish,
                    topic: "$subscribe".into(),
                    payload: topic.into_bytes(),
                });
            }
        }
        for message in inbox {
            self.readings_received += 1;
            self.pending.push_back((now_us + self.processing_delay_us, message));
        }
        loop {
            // Process readings due before the window closes, then close it, in time order.
            let next_reading = self.pending.front().map(|(t, _)| *t).filter(|t| *t <= now_us);
            match next_reading {
                Some(t) if t < self.window_end_us => {
                    let (_, message) = self.pending.pop_front().expect("front exists");
                    self.process(message, &mut outbox);
                }
                _ if self.window_end_us <= now_us => self.close_window(&mut outbox),
                _ => break,
            }
        }
        let next_pending = self.pending.front().map(|(t, _)| *t);
        let wake_at_us = Some(next_pending.map_or(self.window_end_us, |t| t.min(self.window_end_us)));
        Ok(StepOutput { outbox, wake_at_us })
    }

    fn finish(&mut self) -> Vec<Metric> {
        vec![
            Metric::new("readings_received", self.readings_received as f64),
            Metric::new("readings_processed", self.readings_processed as f64),
            Metric::new("readings_malformed", self.malformed as f64),
            Metric::new("readings_pending", self.pending.len() as f64),
            Metric::new("windows_closed", self.windows_closed as f64),
            Metric::new("aggregates_sent", self.aggregates_sent as f64),
            Metric::new("alerts_sent", self.alerts_sent as f64),
        ]
    }
}

impl Gateway {
    fn process(&mut self, message: Message, outbox: &mut Vec<Outgoing>) {
        let Some((value, t_us)) = decode(&message.payload)
            .ok()
            .and_then(|p| Some((p.number("temperature")?, p.number("t_us").unwrap_or(0.0))))
        else {
            self.malformed += 1;
            return;
        };
        self.readings_processed += 1;
        let w = &mut self.window;
        if w.count == 0 {
            (w.min, w.max) = (value, value);
        } else {
            w.min = w.min.min(value);
            w.max = w.max.max(value);
        }
        w.count += 1;
        w.sum += value;
        w.newest_t_us = w.newest_t_us.max(t_us);
        if let (Some(limit), Some(dst)) = (self.alert_threshold, &self.destination)
            && value > limit
        {
            self.alerts_sent += 1;
            outbox.push(Outgoing {
                destination: Address::Node(dst.clone()),
                topic: "alert".into(),
                payload: encode(&[
                    ("source", Field::Text(message.source)),
                    ("temperature", Field::Number(value)),
                    ("threshold", Field::Number(limit)),
                    ("t_us", Field::Number(t_us)),
                ]),
            });
        }
    }

    fn close_window(&mut self, outbox: &mut Vec<Outgoing>) {
        let w = std::mem::take(&mut self.window);
        let start = self.window_end_us - self.window_us;
        self.windows_closed += 1;
        if let Some(dst) = &self.destination {
            self.aggregates_sent += 1;
            let (mean, min, max) =
                if w.count == 0 { (f64::NAN, f64::NAN, f64::NAN) } else { (w.sum / w.count as f64, w.min, w.max) };
            outbox.push(Outgoing {
                destination: Address::Node(dst.clone()),
                topic: "aggregate".into(),
                payload: encode(&[
                    ("window_start_us", Field::Number(start as f64)),
                    ("window_end_us", Field::Number(self.window_end_us as f64)),
                    ("count", Field::Number(w.count as f64)),
                    ("mean", Field::Number(mean)),
                    ("min", Field::Number(min)),
                    ("max", Field::Number(max)),
                    ("t_us", Field::Number(w.newest_t_us)),
                ]),
            });
        }
        self.window_end_us += self.window_us;
    }
}

xedgesim_model::export_model!(Gateway);
