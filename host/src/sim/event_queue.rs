//! The event queue: events ordered by (virtual time, sequence number).
//! The sequence number is the order events were scheduled in, so ties
//! break the same way on every run and every machine — and two events at
//! one instant never need to compare their payloads.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::runtime::Message;

/// What happens at an event.
#[derive(Debug)]
pub enum EventKind {
    /// `message` (id `id`) reaches node `dst`. Boxed, so that heap entries
    /// stay small and cheap to move.
    Deliver { dst: usize, id: u64, message: Box<Message> },
    /// Node `node` asked to be stepped now; stale once it asks again
    /// (`generation` no longer current).
    Wake { node: usize, generation: u64 },
}

#[derive(Debug)]
pub struct Event {
    pub time_us: u64,
    pub seq: u64,
    pub kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.time_us, self.seq) == (other.time_us, other.seq)
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.time_us, other.seq).cmp(&(self.time_us, self.seq))
    }
}

/// A min-queue of events, bounded in events and in the payload bytes of
/// the messages it holds (both bound host memory).
#[derive(Debug)]
pub struct EventQueue {
    heap: BinaryHeap<Event>,
    next_seq: u64,
    capacity: usize,
    payload_bytes: u64,
    max_payload_bytes: u64,
}

/// The queue is full; the event was not scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueFull {
    /// It holds `capacity` events.
    Events,
    /// The message would take the queued payload past `max_payload_bytes`.
    PayloadBytes,
}

impl EventQueue {
    pub fn new(capacity: usize, max_payload_bytes: u64) -> Self {
        EventQueue { heap: BinaryHeap::new(), next_seq: 0, capacity, payload_bytes: 0, max_payload_bytes }
    }

    pub fn push(&mut self, time_us: u64, kind: EventKind) -> Result<(), QueueFull> {
        if self.heap.len() >= self.capacity {
            return Err(QueueFull::Events);
        }
        if let EventKind::Deliver { message, .. } = &kind {
            let bytes = self.payload_bytes + message.payload.len() as u64;
            if bytes > self.max_payload_bytes {
                return Err(QueueFull::PayloadBytes);
            }
            self.payload_bytes = bytes;
        }
        self.heap.push(Event { time_us, seq: self.next_seq, kind });
        self.next_seq += 1;
        Ok(())
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.time_us)
    }

    pub fn pop(&mut self) -> Option<Event> {
        let event = self.heap.pop()?;
        if let EventKind::Deliver { message, .. } = &event.kind {
            self.payload_bytes -= message.payload.len() as u64;
        }
        Some(event)
    }

    pub fn max_payload_bytes(&self) -> u64 {
        self.max_payload_bytes
    }

    /// Deliveries still queued (in flight when a run ends).
    pub fn deliveries(&self) -> usize {
        self.heap.iter().filter(|e| matches!(e.kind, EventKind::Deliver { .. })).count()
    }

    /// The sender whose queued messages hold the most payload bytes, and
    /// how many (ties: the sender first in name order). Walks the whole
    /// queue: for error reports, not the hot path.
    pub fn largest_sender(&self) -> Option<(String, u64)> {
        let mut by_sender: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for event in self.heap.iter() {
            if let EventKind::Deliver { message, .. } = &event.kind {
                *by_sender.entry(message.source.as_str()).or_default() += message.payload.len() as u64;
            }
        }
        let most = by_sender.values().copied().max()?;
        by_sender.into_iter().find(|(_, bytes)| *bytes == most).map(|(s, b)| (s.to_string(), b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_time_events_come_out_in_scheduling_order() {
        // xEdgeSim's heap crashed on equal times and was not FIFO with four
        // or more same-time senders; this one is FIFO for any number.
        let mut q = EventQueue::new(100, u64::MAX);
        for node in 0..50 {
            q.push(1_000, EventKind::Wake { node, generation: 0 }).unwrap();
        }
        q.push(999, EventKind::Wake { node: 99, generation: 0 }).unwrap();
        let order: Vec<usize> = std::iter::from_fn(|| q.pop())
            .map(|e| match e.kind {
                EventKind::Wake { node, .. } => node,
                EventKind::Deliver { .. } => unreachable!(),
            })
            .collect();
        let mut expected = vec![99];
        expected.extend(0..50);
        assert_eq!(order, expected);
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut q = EventQueue::new(2, u64::MAX);
        q.push(1, EventKind::Wake { node: 0, generation: 0 }).unwrap();
        q.push(1, EventKind::Wake { node: 0, generation: 0 }).unwrap();
        assert!(q.push(1, EventKind::Wake { node: 0, generation: 0 }).is_err());
    }
}
