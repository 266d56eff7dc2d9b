//! The network model. Each directed link (`src -> dst`, from the scenario
//! or the defaults) has latency, jitter, loss and bandwidth, and its own
//! random stream seeded from the scenario seed and the link's name
//! (`derive_seed(seed, "src->dst", Stream::Link)`). A message occupies the
//! link for its serialisation time (bytes × 8 / bandwidth), waits for the
//! messages ahead of it, and a link delivers in FIFO order: jitter never
//! reorders one link's messages. `direct` links are perfect.
//!
//! A scripted `degrade` overrides a link's settings for a while. The link
//! keeps drawing from its own stream as if healthy (so after the degrade
//! its draws are those of a run without it), and the degrade draws from a
//! stream of its own (`derive_seed(seed, "src->dst#degrade<i>", Stream::Link)`,
//! `i` the fault's index in the file): a message is lost to the link's own
//! `loss_rate` (`loss`) or to the degrade's (`degrade`); the degrade's
//! jitter, when it sets one, replaces the link's.
//!
//! A link with `queue_bytes` has a buffer of that many bytes. Its backlog
//! at `now_us` is the bytes of earlier messages it has still to serialise:
//! `(busy_until_us - now_us) × bandwidth / 8 / 10⁶`, rounded down (at the
//! bandwidth of the moment, a degrade's while one lasts). A message whose
//! bytes would take the backlog past `queue_bytes` is dropped at the sender
//! (`queue_full`): it never occupies the link, so what follows is as if it
//! had not been sent, except that it took its random draws like any other.
//! A message larger than the buffer never fits.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::scenario::{LinkOverride, LinkParams, NetworkModel, ResolvedNetwork};
use crate::seed::{Stream, derive_seed};

/// What happens to a message sent on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transit {
    /// It arrives at this virtual time.
    Arrives(u64),
    /// The link loses it.
    Lost,
    /// A scripted degrade of the link loses it.
    LostToDegrade,
    /// The link's buffer (`queue_bytes`) has no room for it.
    QueueFull,
}

/// A link's degrade while it lasts, and the stream it draws from.
#[derive(Debug)]
struct Degrade {
    link: LinkOverride,
    rng: Box<ChaCha20Rng>,
}

#[derive(Debug)]
struct Link {
    params: LinkParams,
    /// `None` on a link without loss or jitter: its draws would decide
    /// nothing, and a stream costs 330 bytes a link (a million links at
    /// scale). Links never share a stream, so skipping one changes no other.
    rng: Option<Box<ChaCha20Rng>>,
    /// When the link finishes sending what it already has.
    busy_until_us: u64,
    /// Arrival time of the last message, for FIFO order.
    last_arrival_us: u64,
}

/// Every link of a run, created on first use.
#[derive(Debug)]
pub struct Network {
    model: NetworkModel,
    default_link: LinkParams,
    explicit: BTreeMap<(usize, usize), LinkParams>,
    /// The links used so far, in order of first use.
    links: Vec<Link>,
    // Looked up, never iterated: its order cannot leak into a run.
    link_at: FxHashMap<(usize, usize), usize>,
    /// Each sender's last link, `(dst, position in links)`, tried before
    /// `link_at`: a node mostly sends on the link it used last.
    last_link: Vec<(usize, usize)>,
    /// Links degraded now, by (src, dst); looked up, never iterated.
    degraded: FxHashMap<(usize, usize), Degrade>,
    seed: u64,
}

impl Network {
    /// `index_of` maps node ids (validated to exist) to their indexes.
    pub fn new(net: &ResolvedNetwork, seed: u64, index_of: impl Fn(&str) -> usize) -> Self {
        let explicit = net.links.iter().map(|l| ((index_of(&l.src), index_of(&l.dst)), l.params)).collect();
        Network {
            model: net.model,
            default_link: net.default_link,
            explicit,
            links: Vec::new(),
            link_at: FxHashMap::default(),
            last_link: Vec::new(),
            degraded: FxHashMap::default(),
            seed,
        }
    }

    /// Degrades link `src -> dst` (named `src_id`, `dst_id`) as `link`
    /// says, by the scenario's fault number `fault`, until [`restore`](Self::restore).
    pub fn degrade(&mut self, src: usize, dst: usize, src_id: &str, dst_id: &str, fault: usize, link: LinkOverride) {
        let seed = derive_seed(self.seed, &format!("{src_id}->{dst_id}#degrade{fault}"), Stream::Link);
        self.degraded.insert((src, dst), Degrade { link, rng: Box::new(ChaCha20Rng::from_seed(seed)) });
    }

    /// Ends the degrade of link `src -> dst`.
    pub fn restore(&mut self, src: usize, dst: usize) {
        self.degraded.remove(&(src, dst));
    }

    /// Sends `bytes` from `src` to `dst` (named `src_id`, `dst_id`) at `now_us`.
    pub fn send(&mut self, src: usize, dst: usize, src_id: &str, dst_id: &str, bytes: usize, now_us: u64) -> Transit {
        let degraded = !self.degraded.is_empty() && self.degraded.contains_key(&(src, dst));
        if !degraded && (self.model == NetworkModel::Direct || src == dst) {
            // A direct link that was degraded keeps FIFO: nothing sent now
            // overtakes what the degrade still holds in flight.
            let behind_us = if self.links.is_empty() {
                0
            } else {
                self.link_at.get(&(src, dst)).map_or(0, |&at| self.links[at].last_arrival_us)
            };
            return Transit::Arrives(now_us.max(behind_us));
        }
        let at = self.link_index(src, dst, src_id, dst_id);
        let mut degrade = if degraded { self.degraded.get_mut(&(src, dst)) } else { None };
        let link = &mut self.links[at];
        // Both draws happen for every message, lost or not, so one
        // message's fate never shifts another's random numbers.
        let (loss_draw, jitter_draw) = match &mut link.rng {
            Some(rng) => (unit(rng), rng.next_u64()),
            None => (1.0, 0),
        };
        let params = degrade.as_ref().map_or(link.params, |d| d.link.apply(link.params));
        let degrade_draws = degrade.as_mut().map(|d| (unit(&mut d.rng), d.rng.next_u64()));
        let serialisation_us = match params.bandwidth_bps {
            Some(bps) if bps > 0 => (bytes as u64 * 8 * 1_000_000).div_ceil(bps),
            _ => 0,
        };
        if let (Some(queue_bytes), Some(bps)) = (params.queue_bytes, params.bandwidth_bps) {
            let backlog_us = link.busy_until_us.saturating_sub(now_us);
            let backlog_bytes = u128::from(backlog_us) * u128::from(bps) / 8_000_000;
            if backlog_bytes + bytes as u128 > u128::from(queue_bytes) {
                return Transit::QueueFull;
            }
        }
        let departure = now_us.max(link.busy_until_us).saturating_add(serialisation_us);
        link.busy_until_us = departure;
        if loss_draw < link.params.loss_rate {
            return Transit::Lost;
        }
        let degrade_link = degrade.map(|d| d.link);
        let jitter = match (degrade_link, degrade_draws) {
            (Some(d), Some((loss, jitter))) => {
                if loss < d.loss_rate.unwrap_or(0.0) {
                    return Transit::LostToDegrade;
                }
                match d.jitter_us {
                    Some(0) => 0,
                    Some(j) => up_to(jitter, j),
                    None if link.params.jitter_us == 0 => 0,
                    None => up_to(jitter_draw, link.params.jitter_us),
                }
            }
            _ if link.params.jitter_us == 0 => 0,
            _ => up_to(jitter_draw, link.params.jitter_us),
        };
        // Saturating: a latency the file may set near u64::MAX arrives "never", not in the past.
        let arrival = departure.saturating_add(params.latency_us).saturating_add(jitter).max(link.last_arrival_us);
        link.last_arrival_us = arrival;
        Transit::Arrives(arrival)
    }
}

impl Network {
    /// Where link `src -> dst` is in `links`, made on its first use.
    fn link_index(&mut self, src: usize, dst: usize, src_id: &str, dst_id: &str) -> usize {
        if let Some(&(last_dst, at)) = self.last_link.get(src)
            && last_dst == dst
            && at < self.links.len()
        {
            return at;
        }
        let (seed, explicit, default_link, links) = (self.seed, &self.explicit, self.default_link, &mut self.links);
        let at = *self.link_at.entry((src, dst)).or_insert_with(|| {
            let params = explicit.get(&(src, dst)).copied().unwrap_or(default_link);
            let random = params.loss_rate > 0.0 || params.jitter_us > 0;
            links.push(Link {
                params,
                rng: random.then(|| {
                    Box::new(ChaCha20Rng::from_seed(derive_seed(seed, &format!("{src_id}->{dst_id}"), Stream::Link)))
                }),
                busy_until_us: 0,
                last_arrival_us: 0,
            });
            links.len() - 1
        });
        if self.last_link.len() <= src {
            self.last_link.resize(src + 1, (usize::MAX, usize::MAX));
        }
        self.last_link[src] = (dst, at);
        at
    }
}

/// `draw` folded into 0..=`max` (the whole of `draw` when `max` is `u64::MAX`).
fn up_to(draw: u64, max: u64) -> u64 {
    max.checked_add(1).map_or(draw, |span| draw % span)
}

/// A uniform draw in [0, 1) with 53 bits.
fn unit(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ResolvedLink;

    fn network(params: LinkParams) -> Network {
        let net = ResolvedNetwork {
            model: NetworkModel::Latency,
            default_link: LinkParams::PERFECT,
            links: vec![ResolvedLink { src: "a".into(), dst: "b".into(), params }],
        };
        Network::new(&net, 1, |id| usize::from(id == "b"))
    }

    #[test]
    fn latency_and_serialisation() {
        let mut n = network(LinkParams {
            latency_us: 1_000,
            jitter_us: 0,
            loss_rate: 0.0,
            bandwidth_bps: Some(8_000),
            queue_bytes: None,
        });
        // 10 bytes at 8 kbit/s: 10 ms on the wire.
        assert_eq!(n.send(0, 1, "a", "b", 10, 0), Transit::Arrives(11_000));
        // The second waits for the first to leave.
        assert_eq!(n.send(0, 1, "a", "b", 10, 0), Transit::Arrives(21_000));
        // The reverse direction is another link, here the perfect default.
        assert_eq!(n.send(1, 0, "b", "a", 10, 0), Transit::Arrives(0));
    }

    #[test]
    fn a_full_buffer_drops_at_the_sender_and_the_drop_never_occupies_the_link() {
        // 8,000 bit/s is 1,000 bytes a second: a 1,000-byte message is on
        // the wire for 1 s. The buffer holds 3,000 bytes, latency 1 ms.
        let buffered = LinkParams {
            latency_us: 1_000,
            bandwidth_bps: Some(8_000),
            queue_bytes: Some(3_000),
            ..LinkParams::PERFECT
        };
        let mut n = network(buffered);
        // Ten sent at t = 0. The first finds no backlog (0 + 1,000 fits) and
        // leaves at 1 s; the second finds 1 s of sending = 1,000 bytes
        // (2,000 fits), leaves at 2 s; the third 2,000 (3,000 fits, just),
        // leaves at 3 s; the fourth 3,000 (4,000 > 3,000): dropped, and so
        // are the other six, since the dropped ones add nothing.
        let at_zero: Vec<Transit> = (0..10).map(|_| n.send(0, 1, "a", "b", 1_000, 0)).collect();
        let mut expected = vec![Transit::Arrives(1_001_000), Transit::Arrives(2_001_000), Transit::Arrives(3_001_000)];
        expected.extend([Transit::QueueFull; 7]);
        assert_eq!(at_zero, expected);
        // At 1.5 s the link has 1.5 s left = 1,500 bytes: 2,500 fits, and
        // it leaves at 4 s; the next finds 2,500 (3,500 does not fit).
        assert_eq!(n.send(0, 1, "a", "b", 1_000, 1_500_000), Transit::Arrives(4_001_000));
        assert_eq!(n.send(0, 1, "a", "b", 1_000, 1_500_000), Transit::QueueFull);
        // A smaller one still fits behind 2,500: 2,500 + 500 = 3,000.
        assert_eq!(n.send(0, 1, "a", "b", 500, 1_500_000), Transit::Arrives(4_501_000));
        // At 2 s: 2.5 s left = 2,500 bytes, so 1,000 does not fit, 500 does.
        assert_eq!(n.send(0, 1, "a", "b", 1_000, 2_000_000), Transit::QueueFull);
        assert_eq!(n.send(0, 1, "a", "b", 500, 2_000_000), Transit::Arrives(5_001_000));
        // An idle link takes a message as large as the buffer, never a larger one.
        assert_eq!(n.send(0, 1, "a", "b", 3_000, 10_000_000), Transit::Arrives(13_001_000));
        assert_eq!(n.send(0, 1, "a", "b", 3_001, 20_000_000), Transit::QueueFull);
        // Without a buffer the same ten all wait: the tenth leaves at 10 s.
        let mut unbounded = network(LinkParams { queue_bytes: None, ..buffered });
        let last = (0..10).map(|_| unbounded.send(0, 1, "a", "b", 1_000, 0)).last();
        assert_eq!(last, Some(Transit::Arrives(10_001_000)));
    }

    #[test]
    fn a_message_the_buffer_drops_takes_its_random_draws_all_the_same() {
        // A lossy, jittery link, first with a buffer that drops 7 of 10
        // sent at once, then without one (all 10 queue). Once the link is
        // idle again (at 100 s, long after the 10 s the unbounded one needs)
        // both must decide every later message alike: same losses, same
        // jitter.
        let lossy = LinkParams {
            latency_us: 1_000,
            jitter_us: 5_000,
            loss_rate: 0.3,
            bandwidth_bps: Some(8_000),
            queue_bytes: None,
        };
        let later = |n: &mut Network| -> Vec<Transit> {
            (0..50).map(|i| n.send(0, 1, "a", "b", 10, 100_000_000 + i * 1_000_000)).collect()
        };
        let mut buffered = network(LinkParams { queue_bytes: Some(3_000), ..lossy });
        let first: Vec<Transit> = (0..10).map(|_| buffered.send(0, 1, "a", "b", 1_000, 0)).collect();
        assert_eq!(first.iter().filter(|t| **t == Transit::QueueFull).count(), 7, "{first:?}");
        let mut unbounded = network(lossy);
        for _ in 0..10 {
            unbounded.send(0, 1, "a", "b", 1_000, 0);
        }
        let (a, b) = (later(&mut buffered), later(&mut unbounded));
        assert_eq!(a, b);
        assert!(a.contains(&Transit::Lost) && a.iter().any(|t| matches!(t, Transit::Arrives(_))), "{a:?}");
    }

    #[test]
    fn a_degrade_of_the_bandwidth_counts_the_backlog_at_the_degraded_rate() {
        // 1,000 bytes sent at 8,000 bit/s occupy the link for 1 s; at 0 the
        // buffer of 1,500 holds it. Degraded to 16,000 bit/s, the 1 s left
        // counts as 2,000 bytes: no room for even one more byte.
        let buffered = LinkParams { bandwidth_bps: Some(8_000), queue_bytes: Some(1_500), ..LinkParams::PERFECT };
        let mut n = network(buffered);
        assert_eq!(n.send(0, 1, "a", "b", 1_000, 0), Transit::Arrives(1_000_000));
        assert_eq!(n.send(0, 1, "a", "b", 500, 0), Transit::Arrives(1_500_000));
        let faster = LinkOverride { latency_us: None, jitter_us: None, loss_rate: None, bandwidth_bps: Some(16_000) };
        n.degrade(0, 1, "a", "b", 0, faster);
        // 1.5 s left at 16,000 bit/s: 3,000 bytes.
        assert_eq!(n.send(0, 1, "a", "b", 1, 0), Transit::QueueFull);
        n.restore(0, 1);
        // Back at 8,000 bit/s, 1.5 s left is 1,500 bytes: still full.
        assert_eq!(n.send(0, 1, "a", "b", 1, 0), Transit::QueueFull);
        // At 1 s, 0.5 s left is 500 bytes: 1,000 fits.
        assert_eq!(n.send(0, 1, "a", "b", 1_000, 1_000_000), Transit::Arrives(2_500_000));
    }

    #[test]
    fn jitter_never_reorders_a_link() {
        let mut n = network(LinkParams {
            latency_us: 100,
            jitter_us: 10_000,
            loss_rate: 0.0,
            bandwidth_bps: None,
            queue_bytes: None,
        });
        let mut last = 0;
        for t in 0..1_000 {
            let Transit::Arrives(at) = n.send(0, 1, "a", "b", 1, t) else { panic!() };
            assert!(at >= last && at >= t + 100 && at <= t + 10_100);
            last = at;
        }
    }

    #[test]
    fn a_degrade_applies_while_it_lasts_and_leaves_the_link_as_it_was() {
        let healthy =
            LinkParams { latency_us: 1_000, jitter_us: 0, loss_rate: 0.0, bandwidth_bps: None, queue_bytes: None };
        let mut n = network(healthy);
        let slow = LinkOverride { latency_us: Some(50_000), jitter_us: None, loss_rate: None, bandwidth_bps: None };
        n.degrade(0, 1, "a", "b", 0, slow);
        assert_eq!(n.send(0, 1, "a", "b", 10, 0), Transit::Arrives(50_000));
        n.restore(0, 1);
        // FIFO holds across the end of the degrade: nothing overtakes the slow message.
        assert_eq!(n.send(0, 1, "a", "b", 10, 10), Transit::Arrives(50_000));
        assert_eq!(n.send(0, 1, "a", "b", 10, 60_000), Transit::Arrives(61_000));
        // A degrade's loss is its own, with its own reason.
        let lossy = LinkOverride { loss_rate: Some(1.0), ..slow };
        n.degrade(0, 1, "a", "b", 1, lossy);
        assert_eq!(n.send(0, 1, "a", "b", 10, 70_000), Transit::LostToDegrade);
        // The reverse direction is not degraded.
        assert_eq!(n.send(1, 0, "b", "a", 10, 70_000), Transit::Arrives(70_000));
    }

    #[test]
    fn a_direct_link_stays_fifo_after_a_degrade_ends() {
        let net = ResolvedNetwork { model: NetworkModel::Direct, default_link: LinkParams::PERFECT, links: vec![] };
        let mut n = Network::new(&net, 1, |id| usize::from(id == "b"));
        let slow = LinkOverride { latency_us: Some(200_000), jitter_us: None, loss_rate: None, bandwidth_bps: None };
        n.degrade(0, 1, "a", "b", 0, slow);
        assert_eq!(n.send(0, 1, "a", "b", 10, 9_999), Transit::Arrives(209_999));
        n.restore(0, 1);
        // Sent after the end, it waits behind the message the degrade still holds.
        assert_eq!(n.send(0, 1, "a", "b", 10, 10_001), Transit::Arrives(209_999));
        assert_eq!(n.send(0, 1, "a", "b", 10, 300_000), Transit::Arrives(300_000));
    }

    #[test]
    fn loss_rate_is_honoured() {
        let mut all = network(LinkParams { loss_rate: 1.0, ..LinkParams::PERFECT });
        assert!((0..100).all(|t| all.send(0, 1, "a", "b", 1, t) == Transit::Lost));
        let mut some = network(LinkParams { loss_rate: 0.25, ..LinkParams::PERFECT });
        let lost = (0..10_000).filter(|&t| some.send(0, 1, "a", "b", 1, t) == Transit::Lost).count();
        assert!((2_300..2_700).contains(&lost), "{lost}");
    }
}
