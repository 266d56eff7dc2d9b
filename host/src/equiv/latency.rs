//! End-to-end latency at the sinks, side by side: what a placement study
//! (inference at the gateway or behind the cloud link) asks of two runs.
//!
//! A message's end-to-end latency is its delivery time at a sink minus
//! its origin: the payload's top-level `t_us` (a sensor's sample time, the
//! newest reading of an aggregate), else its `timestamp_us` (xEdgeSim's ML
//! requests and results), else the time its last hop was sent — the rule
//! of the built-in cloud sink, so its `latency_p*_us` metrics and these
//! agree. Figures are exact (every delivery kept, percentiles by nearest
//! rank), from virtual times only: the same runs give the same bytes.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{CanonicalDelivery, CanonicalRun, EquivOptions};

/// The share of deliveries later than a deadline, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Misses {
    pub count: u64,
    pub share: f64,
}

/// Latencies of one set of deliveries: nearest-rank percentiles, in µs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyFigures {
    pub deliveries: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Deliveries later than the deadline (strictly), when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misses: Option<Misses>,
}

/// A figure over a side's trials: its mean, least and largest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// Each trial's own percentiles (and miss share), as distributions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerTrial {
    /// Trials in which a sink received anything (the others have no percentile).
    pub trials: u64,
    pub p50_us: Spread,
    pub p95_us: Spread,
    pub p99_us: Spread,
    pub max_us: Spread,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miss_share: Option<Spread>,
}

/// One side: its sinks, its deliveries there pooled over its trials, and
/// with several trials each trial's figures as distributions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideLatency {
    pub sinks: Vec<String>,
    /// `None` when no sink received anything.
    pub pooled: Option<LatencyFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_trial: Option<PerTrial>,
    /// Deliveries left out of the figures: their payload's time is after
    /// their arrival, so it is no time of the simulation's clock (a
    /// container's wall clock, say), and their latency would be negative.
    #[serde(skip_serializing_if = "is_zero")]
    pub origin_after_arrival: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Both sides' end-to-end latency, and the deadline it was held against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyComparison {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<f64>,
    pub a: SideLatency,
    pub b: SideLatency,
}

/// The nearest-rank `q` percentile of `sorted` (not empty): the smallest
/// value with at least a fraction `q` of the values at or below it.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The figures of `sorted` latencies (µs), `None` when there are none.
pub fn figures(sorted: &[u64], deadline_ms: Option<f64>) -> Option<LatencyFigures> {
    let max_us = *sorted.last()?;
    let misses = deadline_ms.map(|ms| {
        // A delivery exactly at the deadline meets it.
        let count = sorted.iter().filter(|&&l| l as f64 > ms * 1000.0).count() as u64;
        Misses { count, share: count as f64 / sorted.len() as f64 }
    });
    Some(LatencyFigures {
        deliveries: sorted.len() as u64,
        p50_us: percentile(sorted, 0.50),
        p95_us: percentile(sorted, 0.95),
        p99_us: percentile(sorted, 0.99),
        max_us,
        misses,
    })
}

/// When `d`'s data came into being: its payload's `t_us`, else its
/// `timestamp_us` (a finite number > 0 at the top of a JSON object),
/// else its send time.
pub fn origin_us(d: &CanonicalDelivery) -> u64 {
    let object = d.payload.as_deref().and_then(|p| serde_json::from_str::<serde_json::Map<_, _>>(p).ok());
    let field =
        |name: &str| object.as_ref()?.get(name)?.as_f64().filter(|t| t.is_finite() && *t > 0.0).map(|t| t as u64);
    field("t_us").or_else(|| field("timestamp_us")).unwrap_or(d.sent_us)
}

/// The sinks of a run when none are named: its nodes of type `cloud`
/// (`clouds`, the scenario's), else every node that received messages
/// and sent none that arrived.
pub fn default_sinks(run: &CanonicalRun, clouds: &[String]) -> Vec<String> {
    if !clouds.is_empty() {
        return clouds.to_vec();
    }
    let senders: BTreeSet<&str> = run.deliveries.values().flatten().map(|d| d.src.as_str()).collect();
    run.deliveries
        .iter()
        .filter(|(dst, got)| !got.is_empty() && !senders.contains(dst.as_str()))
        .map(|(dst, _)| dst.clone())
        .collect()
}

/// End-to-end latencies (µs, sorted) of what `sinks` received in `run`,
/// leaving out the nodes and topics `options` ignore, and how many
/// deliveries were left out because their origin is after their arrival
/// (never counted as a latency of 0).
pub fn sink_latencies(run: &CanonicalRun, sinks: &[String], options: &EquivOptions) -> (Vec<u64>, u64) {
    let mut after_arrival = 0;
    let mut latencies: Vec<u64> = sinks
        .iter()
        .filter(|sink| !options.ignore_nodes.contains(*sink))
        .filter_map(|sink| run.deliveries.get(sink))
        .flatten()
        .filter(|d| !options.ignore_nodes.contains(&d.src) && !options.ignore_topics.contains(&d.topic))
        .filter_map(|d| {
            let latency = d.time_us.checked_sub(origin_us(d));
            after_arrival += u64::from(latency.is_none());
            latency
        })
        .collect();
    latencies.sort_unstable();
    (latencies, after_arrival)
}

fn spread(values: impl Iterator<Item = f64> + Clone) -> Spread {
    let n = values.clone().count() as f64;
    Spread {
        mean: values.clone().sum::<f64>() / n,
        min: values.clone().fold(f64::INFINITY, f64::min),
        max: values.fold(f64::NEG_INFINITY, f64::max),
    }
}

/// One side's figures over its `runs` (one per trial).
pub fn side_latency(
    runs: &[CanonicalRun],
    sinks: Vec<String>,
    options: &EquivOptions,
    deadline_ms: Option<f64>,
) -> SideLatency {
    let (each, left_out): (Vec<Vec<u64>>, Vec<u64>) =
        runs.iter().map(|run| sink_latencies(run, &sinks, options)).unzip();
    let mut pooled: Vec<u64> = each.iter().flatten().copied().collect();
    pooled.sort_unstable();
    let per_trial = (runs.len() > 1).then(|| each.iter().filter_map(|l| figures(l, deadline_ms)).collect::<Vec<_>>());
    let per_trial = per_trial.filter(|f| !f.is_empty()).map(|f| PerTrial {
        trials: f.len() as u64,
        p50_us: spread(f.iter().map(|x| x.p50_us as f64)),
        p95_us: spread(f.iter().map(|x| x.p95_us as f64)),
        p99_us: spread(f.iter().map(|x| x.p99_us as f64)),
        max_us: spread(f.iter().map(|x| x.max_us as f64)),
        miss_share: deadline_ms.map(|_| spread(f.iter().filter_map(|x| x.misses).map(|m| m.share))),
    });
    SideLatency { sinks, pooled: figures(&pooled, deadline_ms), per_trial, origin_after_arrival: left_out.iter().sum() }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn delivery(time_us: u64, sent_us: u64, src: &str, payload: &str) -> CanonicalDelivery {
        CanonicalDelivery {
            time_us,
            sent_us,
            src: src.into(),
            topic: "t".into(),
            payload: Some(payload.into()),
            payload_hex: None,
        }
    }

    fn run(deliveries: &[(&str, CanonicalDelivery)]) -> CanonicalRun {
        let mut by_dst: BTreeMap<String, Vec<CanonicalDelivery>> = BTreeMap::new();
        for (dst, d) in deliveries {
            by_dst.entry(dst.to_string()).or_default().push(d.clone());
        }
        CanonicalRun { deliveries: by_dst, metrics: BTreeMap::new(), drops: BTreeMap::new() }
    }

    #[test]
    fn nearest_rank_percentiles_of_twenty_values() {
        // 1..=20 ms: p50 is the 10th value, p95 the 19th, p99 the 20th.
        let sorted: Vec<u64> = (1..=20).map(|ms| ms * 1_000).collect();
        let f = figures(&sorted, Some(15.0)).unwrap();
        assert_eq!((f.p50_us, f.p95_us, f.p99_us, f.max_us), (10_000, 19_000, 20_000, 20_000));
        // 16..=20 ms are later than 15 ms; 15 ms itself meets it: 5 of 20.
        assert_eq!(f.misses, Some(Misses { count: 5, share: 0.25 }));
        assert_eq!(figures(&sorted, None).unwrap().misses, None);
        assert_eq!(figures(&[], Some(1.0)), None);
        // One value is every percentile.
        let one = figures(&[7], Some(0.001)).unwrap();
        assert_eq!((one.p50_us, one.p99_us, one.misses.unwrap().count), (7, 7, 1));
    }

    #[test]
    fn origin_is_t_us_then_timestamp_us_then_the_send_time() {
        assert_eq!(origin_us(&delivery(9_000, 8_000, "s", r#"{"t_us":1000,"timestamp_us":2000}"#)), 1_000);
        assert_eq!(origin_us(&delivery(9_000, 8_000, "s", r#"{"timestamp_us":2000.0}"#)), 2_000);
        // Not a positive number, not JSON, or nested: the send time.
        assert_eq!(origin_us(&delivery(9_000, 8_000, "s", r#"{"t_us":"1000","timestamp_us":0}"#)), 8_000);
        assert_eq!(origin_us(&delivery(9_000, 8_000, "s", "22.5")), 8_000);
        assert_eq!(origin_us(&delivery(9_000, 8_000, "s", r#"{"inner":{"t_us":5}}"#)), 8_000);
    }

    #[test]
    fn sinks_are_the_clouds_else_who_received_and_sent_nothing() {
        let r = run(&[("gw", delivery(2, 1, "s1", "x")), ("sink", delivery(3, 2, "gw", "x"))]);
        assert_eq!(default_sinks(&r, &[]), ["sink"]);
        assert_eq!(default_sinks(&r, &["cloud".to_string()]), ["cloud"]);
    }

    #[test]
    fn a_sides_trials_are_pooled_and_each_trials_percentiles_spread() {
        let options = EquivOptions { ignore_topics: ["noise".to_string()].into(), ..EquivOptions::default() };
        let at = |latencies: &[u64]| {
            let mut ds: Vec<(&str, CanonicalDelivery)> =
                latencies.iter().map(|&l| ("c", delivery(10_000 + l, 10_000, "s", "x"))).collect();
            // Ignored by topic, and a node that is no sink: left out.
            ds.push(("c", CanonicalDelivery { topic: "noise".into(), ..delivery(99_999, 0, "s", "x") }));
            ds.push(("other", delivery(50_000, 0, "s", "x")));
            run(&ds)
        };
        // Trial 0: 1, 2, 3 ms; trial 1: 4, 5, 6 ms; deadline 4.5 ms.
        let side = side_latency(
            &[at(&[1_000, 2_000, 3_000]), at(&[4_000, 5_000, 6_000])],
            vec!["c".into()],
            &options,
            Some(4.5),
        );
        let pooled = side.pooled.unwrap();
        // Six values: p50 is the 3rd (3 ms), p95 and p99 the 6th.
        assert_eq!((pooled.deliveries, pooled.p50_us, pooled.p95_us, pooled.max_us), (6, 3_000, 6_000, 6_000));
        assert_eq!(pooled.misses, Some(Misses { count: 2, share: 2.0 / 6.0 }));
        let per = side.per_trial.unwrap();
        assert_eq!(per.trials, 2);
        // Per trial p50: 2 ms and 5 ms; miss shares 0 and 2/3.
        assert_eq!(per.p50_us, Spread { mean: 3_500.0, min: 2_000.0, max: 5_000.0 });
        assert_eq!(per.miss_share, Some(Spread { mean: 1.0 / 3.0, min: 0.0, max: 2.0 / 3.0 }));
        // One run: no per-trial figures.
        assert_eq!(side_latency(&[at(&[1_000])], vec!["c".into()], &options, None).per_trial, None);
    }

    #[test]
    fn a_payload_time_after_the_arrival_is_left_out_and_counted_never_a_latency_of_0() {
        let options = EquivOptions::default();
        // A wall-clock t_us (µs since 1970) at a virtual arrival of 9 ms, beside one that fits.
        let runs = [run(&[
            ("c", delivery(9_000, 8_000, "s", r#"{"t_us":1765000000000000}"#)),
            ("c", delivery(9_000, 8_000, "s", r#"{"t_us":5000}"#)),
        ])];
        let side = side_latency(&runs, vec!["c".into()], &options, None);
        assert_eq!(side.origin_after_arrival, 1);
        let pooled = side.pooled.unwrap();
        assert_eq!((pooled.deliveries, pooled.p50_us), (1, 4_000), "only the delivery whose origin fits");
        let json = serde_json::to_value(&side).unwrap();
        assert_eq!(json["origin_after_arrival"], 1);
        let fitting =
            side_latency(&[run(&[("c", delivery(9_000, 8_000, "s", "{}"))])], vec!["c".into()], &options, None);
        assert!(serde_json::to_value(&fitting).unwrap().get("origin_after_arrival").is_none(), "kept out when 0");
    }
}
