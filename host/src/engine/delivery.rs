//! A message's way: sent (counted, traced, through the network or
//! dropped), delivered (counted into its destination's inbox) or dropped
//! with its reason; and the bounds on what may be in flight.

use super::event_queue::{EventKind, QueueFull};
use super::fault_state::HeldMessage;
use super::network::Transit;
use super::trace::DropReason;
use super::{Delivery, Engine, EngineError, MAX_QUEUED_EVENTS, Stop};
use crate::runtime::{Address, Message, Outgoing};
use crate::text::format_time;

impl Engine<'_> {
    /// Counts `message` (id `id`, from `src`) as delivered to `dst` at
    /// `now`: a step of `dst` receives it in this round.
    pub(super) fn delivered(&mut self, now: u64, src: usize, dst: usize, id: u64, message: &Message) {
        if self.scripted.present {
            self.scripted.delivered(dst, now);
        }
        let latency = now - message.sent_us;
        self.latency.record(latency);
        self.counts.delivered += 1;
        self.counts.bytes_delivered += message.payload.len() as u64;
        self.series.deliver(now, src, dst, message.payload.len() as u64);
        let stats = &mut self.stats[dst];
        stats.messages_in += 1;
        stats.bytes_in += message.payload.len() as u64;
        let dst_id = self.ids[dst];
        if self.trace.is_on() {
            self.trace.deliver(now, id, dst_id, latency);
        }
        if let Some(record) = &mut self.deliveries {
            record.push(Delivery {
                time_us: now,
                sent_us: message.sent_us,
                src: message.source.clone(),
                dst: dst_id.to_string(),
                topic: message.topic.clone(),
                payload: message.payload.clone(),
            });
        }
    }

    /// Drops what a stall held for `node`, which a crash took down or a
    /// node fault stopped: no step of it will receive them.
    pub(super) fn drop_held(&mut self, now: u64, node: usize, held: Vec<HeldMessage>) {
        let reason = if self.stopped[node] { DropReason::StoppedWhileHeld } else { DropReason::CrashedWhileHeld };
        let dst_id = self.ids[node];
        for h in held {
            self.drop_message(now, h.id, Some(h.src), Some(node), dst_id, reason);
        }
    }

    pub(super) fn send(&mut self, src: usize, now: u64, out: Outgoing) -> Result<(), Stop> {
        let id = self.next_message_id;
        self.next_message_id += 1;
        self.counts.sent += 1;
        self.series.send(now);
        let stats = &mut self.stats[src];
        stats.messages_out += 1;
        stats.bytes_out += out.payload.len() as u64;
        let (dst, reason) = match &out.destination {
            Address::Node(name) => (self.node_index(src, name), DropReason::UnknownDestination),
            Address::Publish => (self.broker, DropReason::NoBroker),
        };
        // Borrowed, not copied: the ids live as long as the scenario.
        let dst_label: &str = match (&out.destination, dst) {
            (Address::Node(name), None) => name.as_str(),
            (_, Some(dst)) => self.ids[dst],
            (Address::Publish, None) => "",
        };
        let src_id = self.ids[src];
        if self.trace.is_on() {
            self.trace.send(now, id, src_id, dst_label, &out.topic, &out.payload);
        }
        let Some(dst) = dst else {
            self.drop_message(now, id, Some(src), None, dst_label, reason);
            return Ok(());
        };
        if self.scripted.present && self.scripted.separated(src, dst) {
            self.drop_message(now, id, Some(src), Some(dst), dst_label, DropReason::Partition);
            return Ok(());
        }
        match self.network.send(src, dst, src_id, dst_label, out.payload.len(), now) {
            Transit::Lost => self.drop_message(now, id, Some(src), Some(dst), dst_label, DropReason::Loss),
            Transit::LostToDegrade => {
                self.drop_message(now, id, Some(src), Some(dst), dst_label, DropReason::Degrade);
            }
            Transit::QueueFull => {
                self.drop_message(now, id, Some(src), Some(dst), dst_label, DropReason::QueueFull);
            }
            Transit::Arrives(at) if at > self.duration_us => self.counts.in_flight += 1,
            Transit::Arrives(at) => {
                let message = Message {
                    source: src_id.to_string(),
                    destination: out.destination,
                    topic: out.topic,
                    payload: out.payload,
                    sent_us: now,
                };
                self.queue
                    .push(at, EventKind::Deliver { src, dst, id, message })
                    .map_err(|why| self.queue_full(src, why))?;
            }
        }
        Ok(())
    }

    /// The index of the node named `name`, which `src` sends to: a node
    /// mostly sends to the one it sent to last, so that one is compared
    /// first and the hash lookup is the exception.
    fn node_index(&mut self, src: usize, name: &str) -> Option<usize> {
        let last = self.last_destination[src] as usize;
        if last < self.ids.len() && self.ids[last] == name {
            return Some(last);
        }
        let found = self.index_of.get(name).copied();
        if let Some(dst) = found {
            self.last_destination[src] = dst as u32;
        }
        found
    }

    /// Counts and traces a message dropped on its way to `dst_label`; its
    /// sender `src`, when known, is charged with it.
    pub(super) fn drop_message(
        &mut self,
        now: u64,
        id: u64,
        src: Option<usize>,
        dst: Option<usize>,
        dst_label: &str,
        reason: DropReason,
    ) {
        self.series.drop_message(now, src, dst, reason.name());
        self.counts.dropped += 1;
        *self.counts.dropped_by_reason.entry(reason.name().to_string()).or_default() += 1;
        if let Some(src) = src {
            self.stats[src].dropped_out += 1;
        }
        self.trace.drop_message(now, id, dst_label, reason);
    }

    pub(super) fn queue_full(&self, node: usize, why: QueueFull) -> Stop {
        let time = format_time(self.now_us);
        Stop::Error(match why {
            QueueFull::Events => {
                EngineError::QueueFull { node: self.ids[node].to_string(), time, capacity: MAX_QUEUED_EVENTS }
            }
            QueueFull::PayloadBytes => {
                // Blame the node whose messages fill the queue, not the last sender.
                let (node, held) = self.queue.largest_sender().unwrap_or((self.ids[node].to_string(), 0));
                EngineError::PayloadBytesFull { node, held, time, limit: self.queue.max_payload_bytes() }
            }
        })
    }
}
