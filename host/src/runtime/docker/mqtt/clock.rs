//! [`WallClock`]: how an MQTT container's wall time becomes virtual time
//! (docs/running.md, "Containers that speak MQTT"). A container lives on
//! the wall clock; the simulation does not. So:
//!
//! - an answer to a delivery made at virtual time `t` leaves at `t` plus
//!   its processing time: the wall time from the delivery's write to the
//!   answer's arrival, times `time_scale` (or the scenario's fixed
//!   `processing_us`);
//! - a PUBLISH the container makes on its own leaves at its last instant
//!   plus the wall time since then, times `time_scale`, and never before
//!   the instant the host collects it at.
//!
//! Messages wait here for their departure; the node asks to be stepped
//! then.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::runtime::Outgoing;
use crate::scenario::MqttSettings;

#[derive(Debug, Default)]
pub struct WallClock {
    /// The node's last instant: its virtual time and the wall time it began.
    last_instant: Option<(u64, Instant)>,
    /// Messages waiting to leave, by departure time then arrival order.
    waiting: BTreeMap<(u64, u64), Outgoing>,
    arrivals: u64,
    /// Each answer's measured processing time, in wall µs.
    pub processing_us: Vec<u64>,
    /// Virtual µs the run took from wall time (answers and own publishes).
    pub wall_to_virtual_us: u64,
}

impl WallClock {
    /// The node's instant at virtual `now_us` begins, at wall time `at`.
    pub fn instant(&mut self, now_us: u64, at: Instant) {
        self.last_instant = Some((now_us, at));
    }

    /// Holds an answer to a delivery made at `now_us` (written at `sent`)
    /// that arrived at `at`; its departure time.
    pub fn answer(&mut self, settings: &MqttSettings, now_us: u64, sent: Instant, at: Instant, out: Outgoing) -> u64 {
        let wall = at.saturating_duration_since(sent);
        self.processing_us.push(micros(wall));
        let delay_us = settings.processing_us.unwrap_or_else(|| scaled(wall, settings.time_scale));
        self.wall_to_virtual_us = self.wall_to_virtual_us.saturating_add(delay_us);
        self.hold(now_us.saturating_add(delay_us), out)
    }

    /// Holds a PUBLISH the container made on its own at `at`, collected at
    /// virtual `now_us`; its departure time.
    pub fn own(&mut self, settings: &MqttSettings, now_us: u64, at: Instant, out: Outgoing) -> u64 {
        let departure = match self.last_instant {
            Some((then_us, began)) => {
                let delay_us = scaled(at.saturating_duration_since(began), settings.time_scale);
                self.wall_to_virtual_us = self.wall_to_virtual_us.saturating_add(delay_us);
                then_us.saturating_add(delay_us).max(now_us)
            }
            None => now_us,
        };
        self.hold(departure, out)
    }

    fn hold(&mut self, departure_us: u64, out: Outgoing) -> u64 {
        self.arrivals += 1;
        self.waiting.insert((departure_us, self.arrivals), out);
        departure_us
    }

    /// Messages whose departure is at or before `now_us`, in order.
    pub fn due(&mut self, now_us: u64) -> Vec<Outgoing> {
        let later = self.waiting.split_off(&(now_us.saturating_add(1), 0));
        std::mem::replace(&mut self.waiting, later).into_values().collect()
    }

    /// When the next waiting message leaves.
    pub fn next_departure_us(&self) -> Option<u64> {
        self.waiting.keys().next().map(|(at, _)| *at)
    }

    /// Forgets what waits (the container crashed with it).
    pub fn clear(&mut self) -> usize {
        let lost = self.waiting.len();
        self.waiting.clear();
        self.last_instant = None;
        lost
    }

    /// `base` with the answers' count, their processing times and the wall
    /// time made virtual.
    pub fn usage(&self, base: crate::runtime::NodeUsage) -> crate::runtime::NodeUsage {
        let mut usage = base;
        usage.answers = Some(self.processing_us.len() as u64);
        if let Some((p50, p95, max)) = self.processing_summary() {
            (usage.processing_us_p50, usage.processing_us_p95, usage.processing_us_max) =
                (Some(p50), Some(p95), Some(max));
        }
        usage.wall_to_virtual_us = Some(self.wall_to_virtual_us);
        usage
    }

    /// `(p50, p95, max)` of the answers' processing times, nearest rank.
    pub fn processing_summary(&self) -> Option<(u64, u64, u64)> {
        let mut sorted = self.processing_us.clone();
        sorted.sort_unstable();
        let rank = |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        let max = *sorted.last()?;
        Some((rank(0.5), rank(0.95), max))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `wall` in µs times `scale`, rounded.
fn scaled(wall: Duration, scale: f64) -> u64 {
    let us = (wall.as_secs_f64() * 1e6 * scale).round();
    if us >= u64::MAX as f64 { u64::MAX } else { us as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Address;
    use crate::scenario::{MqttRole, MqttSettings};

    fn out(topic: &str) -> Outgoing {
        Outgoing { destination: Address::Publish, topic: topic.into(), payload: Vec::new() }
    }

    #[test]
    fn an_answer_leaves_after_its_scaled_processing_time_and_waits_until_then() {
        let settings = MqttSettings { time_scale: 2.0, ..MqttSettings::resolve(None, MqttRole::Client) };
        let mut clock = WallClock::default();
        let sent = Instant::now();
        let at = sent + Duration::from_micros(1_500);
        assert_eq!(clock.answer(&settings, 10_000, sent, at, out("a")), 13_000);
        assert_eq!(clock.answer(&settings, 10_000, sent, sent, out("b")), 10_000);
        assert_eq!(clock.due(10_000), vec![out("b")]);
        assert_eq!(clock.next_departure_us(), Some(13_000));
        assert_eq!(clock.due(12_999), Vec::new());
        assert_eq!(clock.due(13_000), vec![out("a")]);
        assert_eq!(clock.processing_summary(), Some((0, 1_500, 1_500)));
        assert_eq!(clock.wall_to_virtual_us, 3_000);
    }

    #[test]
    fn a_fixed_processing_time_replaces_the_measured_one() {
        let settings = MqttSettings { processing_us: Some(250), ..MqttSettings::resolve(None, MqttRole::Client) };
        let mut clock = WallClock::default();
        let sent = Instant::now();
        assert_eq!(clock.answer(&settings, 1_000, sent, sent + Duration::from_millis(40), out("a")), 1_250);
    }

    #[test]
    fn an_own_publish_is_stamped_from_the_last_instant_but_never_in_the_past() {
        let settings = MqttSettings::resolve(None, MqttRole::Client);
        let mut clock = WallClock::default();
        let began = Instant::now();
        clock.instant(5_000, began);
        // 2 ms of wall time after the instant at 5 ms: 7 ms, collected at 6 ms.
        assert_eq!(clock.own(&settings, 6_000, began + Duration::from_millis(2), out("a")), 7_000);
        // Collected at 9 ms: it cannot leave at 7 ms any more.
        assert_eq!(clock.own(&settings, 9_000, began + Duration::from_millis(2), out("b")), 9_000);
    }
}
