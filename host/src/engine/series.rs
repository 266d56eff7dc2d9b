//! [`Series`]: what the run's report is drawn from, kept while the run
//! goes, in memory bounded by the scenario's size, never by the messages:
//! counts per interval of virtual time (at most [`MAX_BINS`] intervals),
//! counts per link, and at the end the busiest nodes and a total per node
//! type. Written as `series.json`, so `xedgesim report` can redraw the
//! page from the run's folder without reading the trace.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::histogram::Histogram;

/// Most intervals the run's virtual time is cut into.
pub const MAX_BINS: u64 = 200;
/// Most nodes listed one by one in the node table; the rest are counted in
/// their type's total row.
pub const MAX_NODE_ROWS: usize = 200;
/// Most links listed; the rest are summed in one row.
pub const MAX_LINK_ROWS: usize = 50;
/// Up to this many nodes, steps over time are drawn per node; above it, per type.
pub const MAX_STEP_LINES: usize = 12;

/// One node's totals, or a type's (`id` is then `all <type> nodes`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeRow {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub nodes: u64,
    pub steps: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub dropped_out: u64,
    pub faults: u64,
    /// What running it cost as its runtime measured it (`fuel_used`, or a
    /// container's round-trip figures): summed over a type's nodes, the
    /// largest of `_max` figures, and no percentiles.
    pub usage: BTreeMap<String, u64>,
}

/// One directed link's traffic (`dst` is `(unknown)` for messages to a node
/// that does not exist, `(other links)` for the sum of the rest).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkRow {
    pub src: String,
    pub dst: String,
    pub delivered: u64,
    pub dropped: u64,
    pub bytes_delivered: u64,
    pub dropped_by_reason: BTreeMap<String, u64>,
}

/// One latency bucket: `count` deliveries took at least `from_us` and
/// less than `to_us`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub from_us: u64,
    pub to_us: u64,
    pub count: u64,
}

/// The bounded summaries of one run, as `series.json` holds them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Width of an interval; interval `k` covers `[k * bin_us, (k + 1) * bin_us)`,
    /// and the last one the run's end time too.
    pub bin_us: u64,
    pub sent: Vec<u64>,
    pub delivered: Vec<u64>,
    pub dropped_by_reason: BTreeMap<String, Vec<u64>>,
    /// Steps per interval, per node (few nodes) or per node type.
    pub steps: BTreeMap<String, Vec<u64>>,
    /// Faults per interval.
    pub faults: Vec<u64>,
    /// Delivery latency (sent to delivered), in log-spaced buckets.
    pub latency: Vec<Bucket>,
    pub links: Vec<LinkRow>,
    /// Links in the run; more than `links` lists when it was cut.
    pub link_count: u64,
    pub nodes: Vec<NodeRow>,
    pub node_types: Vec<NodeRow>,
    /// Nodes in the run; more than `nodes` lists when it was cut.
    pub node_count: u64,
}

impl NodeRow {
    /// Adds `other`'s counts to this (a type's) row.
    pub fn add(&mut self, other: &NodeRow) {
        self.nodes += other.nodes;
        self.steps += other.steps;
        self.messages_in += other.messages_in;
        self.messages_out += other.messages_out;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.dropped_out += other.dropped_out;
        self.faults += other.faults;
        for (k, v) in &other.usage {
            // A type's largest is its nodes' largest; its nodes' percentiles
            // make no percentile of the type, so the type row has none.
            if k.ends_with("_max") {
                let max = self.usage.entry(k.clone()).or_default();
                *max = (*max).max(*v);
            } else if !(k.ends_with("_p50") || k.ends_with("_p95")) {
                *self.usage.entry(k.clone()).or_default() += v;
            }
        }
    }
}

/// The nodes the report lists one by one: the [`MAX_NODE_ROWS`] busiest
/// (faults first, then messages in and out, then steps; ties in node
/// order), returned in node order. `key(node)` is `(faults, messages, steps)`.
pub fn busiest_nodes(count: usize, key: impl Fn(usize) -> (u64, u64, u64)) -> Vec<usize> {
    // Busiest first: the key reversed, then the node.
    type Rank = (std::cmp::Reverse<(u64, u64, u64)>, usize);
    let mut order: Vec<Rank> = (0..count).map(|i| (std::cmp::Reverse(key(i)), i)).collect();
    if order.len() > MAX_NODE_ROWS {
        order.select_nth_unstable(MAX_NODE_ROWS - 1);
        order.truncate(MAX_NODE_ROWS);
    }
    let mut nodes: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    nodes.sort_unstable();
    nodes
}

#[derive(Debug, Default, Clone)]
struct LinkCounts {
    delivered: u64,
    dropped: u64,
    bytes_delivered: u64,
    dropped_by_reason: BTreeMap<&'static str, u64>,
}

/// Collects a [`Series`] while the engine runs.
#[derive(Debug)]
pub struct SeriesRecorder {
    bin_us: u64,
    bins: usize,
    sent: Vec<u64>,
    delivered: Vec<u64>,
    dropped: BTreeMap<&'static str, Vec<u64>>,
    faults: Vec<u64>,
    /// Index of each node's line in `steps`.
    step_line: Vec<usize>,
    step_names: Vec<String>,
    steps: Vec<Vec<u64>>,
    /// Every link's counts, in order of first use; sorted once, at the end.
    links: Vec<((u32, u32), LinkCounts)>,
    // Looked up, never iterated: where each link is in `links`.
    link_at: FxHashMap<(u32, u32), u32>,
    /// Each sender's last link (`u32::MAX`: none), tried before `link_at`:
    /// a node mostly sends on the link it used last.
    last_link: Vec<u32>,
}

/// `dst` of a message whose destination names no node.
pub const UNKNOWN_NODE: u32 = u32::MAX;

impl SeriesRecorder {
    /// For a run of `duration_us` over nodes `kinds` (one type name a node).
    pub fn new(duration_us: u64, ids: &[&str], kinds: &[&str]) -> Self {
        let bin_us = nice_bin_us(duration_us);
        // The run covers [0, duration]: an event at exactly the end counts
        // in the last interval (it has none of its own, so lines do not
        // dip at the end); a duration that is not a whole number of
        // intervals ends with a partial one.
        let bins = duration_us.div_ceil(bin_us).max(1) as usize;
        let per_node = ids.len() <= MAX_STEP_LINES;
        let mut step_names: Vec<String> = Vec::new();
        let step_line = (0..ids.len())
            .map(|node| {
                let name = if per_node { ids[node].to_string() } else { format!("all {} nodes", kinds[node]) };
                match step_names.iter().position(|n| *n == name) {
                    Some(line) => line,
                    None => {
                        step_names.push(name);
                        step_names.len() - 1
                    }
                }
            })
            .collect();
        SeriesRecorder {
            bin_us,
            bins,
            sent: vec![0; bins],
            delivered: vec![0; bins],
            dropped: BTreeMap::new(),
            faults: vec![0; bins],
            steps: vec![vec![0; bins]; step_names.len()],
            step_line,
            step_names,
            links: Vec::new(),
            link_at: FxHashMap::default(),
            last_link: vec![u32::MAX; ids.len()],
        }
    }

    fn bin(&self, time_us: u64) -> usize {
        ((time_us / self.bin_us) as usize).min(self.bins - 1)
    }

    pub fn send(&mut self, time_us: u64) {
        let bin = self.bin(time_us);
        self.sent[bin] += 1;
    }

    pub fn deliver(&mut self, time_us: u64, src: usize, dst: usize, bytes: u64) {
        let bin = self.bin(time_us);
        self.delivered[bin] += 1;
        let link = self.link(src, dst as u32);
        link.delivered += 1;
        link.bytes_delivered += bytes;
    }

    /// A message dropped at `time_us`; `src`, `dst` when known.
    pub fn drop_message(&mut self, time_us: u64, src: Option<usize>, dst: Option<usize>, reason: &'static str) {
        let bin = self.bin(time_us);
        let bins = self.bins;
        self.dropped.entry(reason).or_insert_with(|| vec![0; bins])[bin] += 1;
        if let Some(src) = src {
            let dst = dst.map_or(UNKNOWN_NODE, |d| d as u32);
            let link = self.link(src, dst);
            link.dropped += 1;
            *link.dropped_by_reason.entry(reason).or_default() += 1;
        }
    }

    /// The counts of link `src -> dst`, new ones zero.
    fn link(&mut self, src: usize, dst: u32) -> &mut LinkCounts {
        let key = (src as u32, dst);
        let last = self.last_link[src] as usize;
        let at = if last < self.links.len() && self.links[last].0 == key {
            last
        } else {
            let next = self.links.len() as u32;
            let at = *self.link_at.entry(key).or_insert(next) as usize;
            if at == self.links.len() {
                self.links.push((key, LinkCounts::default()));
            }
            self.last_link[src] = at as u32;
            at
        };
        &mut self.links[at].1
    }

    pub fn step(&mut self, time_us: u64, node: usize) {
        let bin = self.bin(time_us);
        self.steps[self.step_line[node]][bin] += 1;
    }

    pub fn fault(&mut self, time_us: u64) {
        let bin = self.bin(time_us);
        self.faults[bin] += 1;
    }

    /// The finished series, with the listed nodes' rows (the busiest, in
    /// node order), the totals by type and how many nodes there are.
    pub fn finish(
        self,
        latency: &Histogram,
        ids: &[&str],
        nodes: Vec<NodeRow>,
        node_types: Vec<NodeRow>,
        node_count: u64,
    ) -> Series {
        let name =
            |node: u32| if node == UNKNOWN_NODE { "(unknown)".to_string() } else { ids[node as usize].to_string() };
        let mut links = self.links;
        // Busiest first; ties in node order, so the listing is the same every run.
        links.sort_by(|(ka, a), (kb, b)| (b.delivered + b.dropped).cmp(&(a.delivered + a.dropped)).then(ka.cmp(kb)));
        let link_count = links.len() as u64;
        let row = |(src, dst): (u32, u32), c: &LinkCounts| LinkRow {
            src: name(src),
            dst: name(dst),
            delivered: c.delivered,
            dropped: c.dropped,
            bytes_delivered: c.bytes_delivered,
            dropped_by_reason: c.dropped_by_reason.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        };
        let mut link_rows: Vec<LinkRow> = links.iter().take(MAX_LINK_ROWS).map(|(k, c)| row(*k, c)).collect();
        if links.len() > MAX_LINK_ROWS {
            let mut other = LinkRow { src: "(other links)".into(), dst: "(other links)".into(), ..LinkRow::default() };
            for (_, c) in &links[MAX_LINK_ROWS..] {
                other.delivered += c.delivered;
                other.dropped += c.dropped;
                other.bytes_delivered += c.bytes_delivered;
                for (r, n) in &c.dropped_by_reason {
                    *other.dropped_by_reason.entry(r.to_string()).or_default() += n;
                }
            }
            link_rows.push(other);
        }

        Series {
            bin_us: self.bin_us,
            sent: self.sent,
            delivered: self.delivered,
            dropped_by_reason: self.dropped.into_iter().map(|(r, v)| (r.to_string(), v)).collect(),
            steps: self.step_names.into_iter().zip(self.steps).collect(),
            faults: self.faults,
            latency: latency_buckets(latency),
            links: link_rows,
            link_count,
            nodes,
            node_types,
            node_count,
        }
    }
}

/// An interval width that cuts `duration_us` into at most [`MAX_BINS`]
/// intervals and reads well: 1, 2 or 5 times a power of ten microseconds.
pub fn nice_bin_us(duration_us: u64) -> u64 {
    let least = duration_us.div_ceil(MAX_BINS).max(1);
    let mut power = 1u64;
    loop {
        for step in [1, 2, 5] {
            let width = power.saturating_mul(step);
            if width >= least {
                return width;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// The histogram in buckets a plot can draw: [0, 1) then powers of two
/// (1–2, 2–4, …), empty buckets at either end left out.
fn latency_buckets(h: &Histogram) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::new();
    let mut from = 0u64;
    let mut to = 1u64;
    while from <= h.max() && h.count() > 0 {
        // The last bucket holds everything from `from` up.
        let below_to = if to == u64::MAX { h.count() } else { h.count_below(to) };
        buckets.push(Bucket { from_us: from, to_us: to, count: below_to - h.count_below(from) });
        if to == u64::MAX {
            break;
        }
        from = to;
        to = to.saturating_mul(2);
    }
    let first = buckets.iter().position(|b| b.count > 0).unwrap_or(0);
    buckets.drain(..first);
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_types_row_sums_costs_keeps_the_largest_maximum_and_no_percentile() {
        let node = |total: u64, max: u64| NodeRow {
            usage: BTreeMap::from([
                ("round_trip_us_total".to_string(), total),
                ("round_trip_us_max".to_string(), max),
                ("processing_us_p50".to_string(), 7),
            ]),
            ..NodeRow::default()
        };
        let mut row = NodeRow::default();
        row.add(&node(10, 8));
        row.add(&node(5, 3));
        assert_eq!(
            row.usage,
            BTreeMap::from([("round_trip_us_max".to_string(), 8), ("round_trip_us_total".to_string(), 15)])
        );
    }

    #[test]
    fn interval_widths_are_round_and_at_most_200_intervals() {
        assert_eq!(nice_bin_us(10_000_000), 50_000);
        assert_eq!(nice_bin_us(20_000_000), 100_000);
        assert_eq!(nice_bin_us(30_000_000), 200_000);
        assert_eq!(nice_bin_us(1), 1);
        assert_eq!(nice_bin_us(3_600_000_000), 20_000_000);
        for d in [1u64, 7, 999, 10_000_001, 31_536_000_000_000] {
            assert!(d.div_ceil(nice_bin_us(d)) <= MAX_BINS, "{d}");
        }
    }

    #[test]
    fn latency_buckets_are_powers_of_two_and_count_every_delivery() {
        let mut h = Histogram::default();
        for v in [0, 3, 3, 2_000, 2_047, 2_048] {
            h.record(v);
        }
        let b = latency_buckets(&h);
        assert_eq!(b[0], Bucket { from_us: 0, to_us: 1, count: 1 });
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 6);
        // 3 and 3 in [2, 4); 2000 and 2047 in [1024, 2048); 2048 in [2048, 4096).
        assert!(b.contains(&Bucket { from_us: 2, to_us: 4, count: 2 }));
        assert!(b.contains(&Bucket { from_us: 1_024, to_us: 2_048, count: 2 }));
        assert_eq!(*b.last().unwrap(), Bucket { from_us: 2_048, to_us: 4_096, count: 1 });
    }

    #[test]
    fn the_busiest_are_faults_first_then_messages_then_steps_ties_in_node_order() {
        let keys = [(0, 5, 1), (1, 0, 0), (0, 5, 1), (0, 9, 0), (0, 5, 2)];
        let key = |i: usize| keys[i];
        assert_eq!(busiest_nodes(5, key), vec![0, 1, 2, 3, 4]);
        let many: Vec<(u64, u64, u64)> = (0..MAX_NODE_ROWS as u64 + 3).map(|i| (0, i % 7, 0)).collect();
        let listed = busiest_nodes(many.len(), |i| many[i]);
        assert_eq!(listed.len(), MAX_NODE_ROWS);
        // The three left out are among the quietest (0 messages), the last of them in node order.
        let left: Vec<usize> = (0..many.len()).filter(|i| !listed.contains(i)).collect();
        assert!(left.iter().all(|&i| many[i].1 == 0), "{left:?}");
        assert!(listed.windows(2).all(|w| w[0] < w[1]));
    }
}
