//! The event queue: events ordered by (virtual time, scheduling order).
//! Ties at one time break in the order events were scheduled, so they
//! break the same way on every run and every machine — and two events at
//! one instant never need to compare their payloads.
//!
//! Bucketed, not a heap: a run's events fall on few distinct times (a
//! ring of 1 ms links, sensors sampling in step), so each time has a
//! first-in first-out bucket, and the times are kept in order in a
//! `BTreeMap`. Scheduling at the time scheduled last, or taking the next
//! event, is a vector push or read; only a new time or an emptied bucket
//! touches the map.

use std::collections::{BTreeMap, btree_map};

use crate::runtime::Message;

/// What happens at an event.
#[derive(Debug)]
pub enum EventKind {
    /// `message` (id `id`) from node `src` reaches node `dst`.
    Deliver { src: usize, dst: usize, id: u64, message: Message },
    /// Node `node` asked to be stepped now; stale once it asks again
    /// (`generation` no longer current).
    Wake { node: usize, generation: u64 },
    /// Steps a stall held back for node `node` are due (scripted faults).
    Release { node: usize },
    /// Node `node`'s step is computed (`cpu:`): what it sent leaves, and
    /// what waited for it is handed over (`compute.rs`).
    Computed { node: usize },
}

/// What a bucket holds: a message waits in the slab, so entries stay
/// 24 bytes, cheap to move, and a delivery allocates nothing of its own
/// once the slab has grown to the messages in flight.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Deliver { src: u32, dst: u32, slot: u32, id: u64 },
    Wake { node: u32, generation: u64 },
    Release { node: u32 },
    Computed { node: u32 },
}

/// The events of one time, in scheduling order; `next` is the first not taken.
#[derive(Debug, Default)]
struct Bucket {
    entries: Vec<Entry>,
    next: usize,
}

/// A min-queue of events, bounded in events and in the bytes of the
/// messages it holds (both bound host memory).
#[derive(Debug)]
pub struct EventQueue {
    /// Each time with events, earliest first, and its bucket.
    times: BTreeMap<u64, u32>,
    buckets: Vec<Bucket>,
    /// Buckets no time uses (empty, their capacity kept).
    spare: Vec<u32>,
    /// The earliest time and its bucket.
    front: Option<(u64, u32)>,
    /// The time scheduled last and its bucket, while that bucket is in use.
    last: Option<(u64, u32)>,
    len: usize,
    /// Messages in flight, by slot; `free` lists the empty slots.
    slab: Vec<Option<Message>>,
    free: Vec<u32>,
    capacity: usize,
    payload_bytes: u64,
    max_payload_bytes: u64,
}

/// What a queued message counts for against the bound on bytes in flight
/// (not payloads only: a model may send huge topics with empty payloads).
/// A fixed figure, not the platform's sizes, so a run hits the bound at
/// the same message on every machine.
pub const MESSAGE_OVERHEAD_BYTES: u64 = 128;

/// The bytes `message` holds while queued: its payload, topic, source and
/// destination id, and [`MESSAGE_OVERHEAD_BYTES`].
pub fn held_bytes(message: &Message) -> u64 {
    let destination = match &message.destination {
        crate::runtime::Address::Node(id) => id.len(),
        crate::runtime::Address::Publish => 0,
    };
    (message.payload.len() + message.topic.len() + message.source.len() + destination) as u64 + MESSAGE_OVERHEAD_BYTES
}

/// The queue is full; the event was not scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueFull {
    /// It holds `capacity` events.
    Events,
    /// The message would take the queued messages' bytes past `max_payload_bytes`.
    PayloadBytes,
}

impl EventQueue {
    /// `capacity` is at most `u32::MAX` events (node indexes and slab
    /// slots are 32-bit).
    pub fn new(capacity: usize, max_payload_bytes: u64) -> Self {
        EventQueue {
            times: BTreeMap::new(),
            buckets: Vec::new(),
            spare: Vec::new(),
            front: None,
            last: None,
            len: 0,
            slab: Vec::new(),
            free: Vec::new(),
            capacity: capacity.min(u32::MAX as usize),
            payload_bytes: 0,
            max_payload_bytes,
        }
    }

    pub fn push(&mut self, time_us: u64, kind: EventKind) -> Result<(), QueueFull> {
        if self.len >= self.capacity {
            return Err(QueueFull::Events);
        }
        let entry = match kind {
            EventKind::Deliver { src, dst, id, message } => {
                let bytes = self.payload_bytes + held_bytes(&message);
                if bytes > self.max_payload_bytes {
                    return Err(QueueFull::PayloadBytes);
                }
                self.payload_bytes = bytes;
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.slab[slot as usize] = Some(message);
                        slot
                    }
                    None => {
                        self.slab.push(Some(message));
                        (self.slab.len() - 1) as u32
                    }
                };
                Entry::Deliver { src: src as u32, dst: dst as u32, slot, id }
            }
            EventKind::Wake { node, generation } => Entry::Wake { node: node as u32, generation },
            EventKind::Release { node } => Entry::Release { node: node as u32 },
            EventKind::Computed { node } => Entry::Computed { node: node as u32 },
        };
        let bucket = match self.last {
            Some((time, bucket)) if time == time_us => bucket,
            _ => self.bucket_for(time_us),
        };
        self.buckets[bucket as usize].entries.push(entry);
        self.last = Some((time_us, bucket));
        self.len += 1;
        Ok(())
    }

    /// The bucket of `time_us`, made (from a spare one) if the time has none.
    fn bucket_for(&mut self, time_us: u64) -> u32 {
        // One search of the map, whether the time is there or not.
        let vacant = match self.times.entry(time_us) {
            btree_map::Entry::Occupied(at) => return *at.get(),
            btree_map::Entry::Vacant(vacant) => vacant,
        };
        let buckets = &mut self.buckets;
        let bucket = self.spare.pop().unwrap_or_else(|| {
            buckets.push(Bucket::default());
            (buckets.len() - 1) as u32
        });
        vacant.insert(bucket);
        if self.front.is_none_or(|(front, _)| time_us < front) {
            self.front = Some((time_us, bucket));
        }
        bucket
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.front.map(|(time, _)| time)
    }

    /// The earliest event (its time is what [`peek_time`](Self::peek_time) said).
    pub fn pop(&mut self) -> Option<EventKind> {
        let (time_us, index) = self.front?;
        let bucket = &mut self.buckets[index as usize];
        let entry = bucket.entries[bucket.next];
        bucket.next += 1;
        if bucket.next == bucket.entries.len() {
            // Its last event: the bucket goes spare and the next time is the front.
            bucket.entries.clear();
            bucket.next = 0;
            // The front time is the map's first: no search to remove it.
            let first = self.times.pop_first();
            debug_assert_eq!(first, Some((time_us, index)), "the front is the earliest time");
            self.spare.push(index);
            if self.last.is_some_and(|(_, last)| last == index) {
                self.last = None;
            }
            self.front = self.times.first_key_value().map(|(&time, &bucket)| (time, bucket));
        }
        self.len -= 1;
        let kind = match entry {
            Entry::Deliver { src, dst, slot, id } => {
                let message = self.slab[slot as usize].take().expect("a queued delivery's slot holds its message");
                self.free.push(slot);
                self.payload_bytes -= held_bytes(&message);
                EventKind::Deliver { src: src as usize, dst: dst as usize, id, message }
            }
            Entry::Wake { node, generation } => EventKind::Wake { node: node as usize, generation },
            Entry::Release { node } => EventKind::Release { node: node as usize },
            Entry::Computed { node } => EventKind::Computed { node: node as usize },
        };
        Some(kind)
    }

    pub fn max_payload_bytes(&self) -> u64 {
        self.max_payload_bytes
    }

    /// Deliveries still queued (in flight when a run ends).
    pub fn deliveries(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    /// The sender whose queued messages hold the most bytes, and
    /// how many (ties: the sender first in name order). Walks the whole
    /// queue: for error reports, not the hot path.
    pub fn largest_sender(&self) -> Option<(String, u64)> {
        let mut by_sender: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for message in self.slab.iter().flatten() {
            *by_sender.entry(message.source.as_str()).or_default() += held_bytes(message);
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
            .map(|kind| match kind {
                EventKind::Wake { node, .. } => node,
                EventKind::Deliver { .. } | EventKind::Release { .. } | EventKind::Computed { .. } => unreachable!(),
            })
            .collect();
        let mut expected = vec![99];
        expected.extend(0..50);
        assert_eq!(order, expected);
    }

    #[test]
    fn events_come_out_by_time_then_scheduling_order_however_times_interleave() {
        // What the heap of (time, sequence number) gave: times pushed out
        // of order, repeated, and pushed again at the front's time while
        // it is being taken.
        let mut q = EventQueue::new(1_000, u64::MAX);
        let times = [5u64, 3, 5, 9, 3, 3, 7, 5, 1, 9, 3, 5];
        for (node, &time) in times.iter().enumerate() {
            q.push(time, EventKind::Wake { node, generation: 0 }).unwrap();
        }
        let mut order = Vec::new();
        while let Some(time) = q.peek_time() {
            let Some(EventKind::Wake { node, .. }) = q.pop() else { unreachable!() };
            order.push((time, node));
            // The first event at 3 schedules two more at 3 and one at 4.
            if node == 1 {
                q.push(3, EventKind::Wake { node: 100, generation: 0 }).unwrap();
                q.push(4, EventKind::Wake { node: 101, generation: 0 }).unwrap();
                q.push(3, EventKind::Wake { node: 102, generation: 0 }).unwrap();
            }
            // The last at 5 schedules one at 5: taken after it, not lost.
            if node == 11 {
                q.push(5, EventKind::Wake { node: 103, generation: 0 }).unwrap();
            }
        }
        let expected = vec![
            (1, 8),
            (3, 1),
            (3, 4),
            (3, 5),
            (3, 10),
            (3, 100),
            (3, 102),
            (4, 101),
            (5, 0),
            (5, 2),
            (5, 7),
            (5, 11),
            (5, 103),
            (7, 6),
            (9, 3),
            (9, 9),
        ];
        assert_eq!(order, expected);
        assert!(q.pop().is_none());
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut q = EventQueue::new(2, u64::MAX);
        q.push(1, EventKind::Wake { node: 0, generation: 0 }).unwrap();
        q.push(1, EventKind::Wake { node: 0, generation: 0 }).unwrap();
        assert!(q.push(1, EventKind::Wake { node: 0, generation: 0 }).is_err());
    }
}
