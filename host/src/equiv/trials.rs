//! Trials: runs with containers are only statistically reproducible, so
//! each side runs N times with N derived seeds and every metric is
//! compared as a distribution: by Schuirmann's two one-sided tests
//! against a margin the user states ("equivalent within the margin"),
//! or by Welch's two-sided test ("do these differ?").

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::canonical::CanonicalRun;
use super::compare::{Difference, EquivOptions, payload_differences};
use super::welch::{Sample, Tost, Welch, holm, tost, welch};
use crate::scenario::{MIN_TRIALS_FLOOR, Margin};

/// The seed of trial `index` of a comparison seeded with `base`: the same
/// for both sides, so trial i of A and of B see the same randomness.
/// (SplitMix64 of `base + index`: consecutive trials get unrelated seeds.)
pub fn trial_seed(base: u64, index: u64) -> u64 {
    let mut z = base.wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which question a trials comparison answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialTest {
    /// "Are these the same within the margins?": TOST per metric.
    Equivalence,
    /// "Do these differ?": Welch's two-sided test per metric, Holm-adjusted.
    Difference,
}

/// A margin and where the user stated it (for messages).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatedMargin {
    pub margin: Margin,
    /// `--margin` or `equivalence.margins in FILE`.
    pub origin: String,
}

/// What a trials comparison tests, and against what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialRules {
    pub test: TrialTest,
    /// Level of each test (default 0.05: TOST's interval is then 90%).
    pub alpha: f64,
    /// The fewest finite values per side a metric is decided on.
    pub min_trials: usize,
    /// By metric name, or `node/metric` for one node's.
    pub margins: BTreeMap<String, StatedMargin>,
    /// Every other metric's margin; without one, 0.
    pub margin_default: Option<Margin>,
    /// The margin of [`MEAN_TIME_METRIC`] when `margins` does not name it
    /// (the time tolerance: arrival times may differ by this much).
    pub time_margin: Option<Margin>,
    /// Compare the messages of each pair of trials (trial i of A with
    /// trial i of B, which share a seed) under the options' payload rule.
    pub compare_payloads: bool,
}

impl Default for TrialRules {
    fn default() -> Self {
        TrialRules {
            test: TrialTest::Equivalence,
            alpha: 0.05,
            min_trials: MIN_TRIALS_FLOOR as usize,
            margins: BTreeMap::new(),
            margin_default: None,
            time_margin: None,
            compare_payloads: false,
        }
    }
}

/// Per destination: the messages it received in a trial (the ignored
/// topics and senders left out).
pub const COUNT_METRIC: &str = "deliveries.count";
/// Per destination: their mean virtual arrival time, µs (left out when
/// timing is ignored).
pub const MEAN_TIME_METRIC: &str = "deliveries.mean_time_us";
/// The node drops are listed under.
pub const NETWORK: &str = "(network)";

/// A trials comparison that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrialsError {
    #[error("{origin}: no metric '{key}' in any trial; {suggestion}")]
    UnknownMetric { key: String, origin: String, suggestion: String },
}

/// A metric's verdict under the test asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Equivalent,
    NotEquivalent,
    Differ,
    NoDifference,
    /// Fewer finite values than the minimum on a side.
    Undecided,
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Equivalent => "equivalent",
            Verdict::NotEquivalent => "NOT SHOWN",
            Verdict::Differ => "DIFFERS",
            Verdict::NoDifference => "no difference shown",
            Verdict::Undecided => "undecided",
        }
    }
}

/// One metric of one node over the trials of both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricTrials {
    pub node: String,
    pub metric: String,
    /// The finite values of each side.
    pub a: Sample,
    pub b: Sample,
    /// As stated; `None`: none stated, so 0.
    pub margin: Option<Margin>,
    /// Welch's comparison of B with A (both sides need two finite values).
    pub welch: Option<Welch>,
    pub tost: Option<Tost>,
    /// Welch's p adjusted by Holm over every metric tested (those not
    /// constant on both sides).
    pub p_difference_holm: Option<f64>,
    /// Why the values could not be compared, when they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub verdict: Verdict,
}

/// The messages of the pairs of trials compared ([`TrialRules::compare_payloads`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayloadTrials {
    /// Pairs compared: the trials both sides finished.
    pub pairs: usize,
    /// Pairs whose messages differ.
    pub differing: usize,
    /// The first differences, with the trial they were found in.
    pub first: Vec<TrialDifference>,
}

/// A difference between the messages of trial `trial` of A and of B.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialDifference {
    /// From 0, as the trials' folders are numbered.
    pub trial: usize,
    #[serde(flatten)]
    pub difference: Difference,
}

/// Every metric's comparison and the verdict over all of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialsOutcome {
    pub metrics: Vec<MetricTrials>,
    /// With [`TrialRules::compare_payloads`]: the pairs' messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payloads: Option<PayloadTrials>,
    /// Equivalent (or NoDifference) only when every metric is and no
    /// pair's messages differ; one NotEquivalent (Differ) metric or one
    /// pair whose messages differ decides; else Undecided if any metric is.
    pub verdict: Verdict,
}

/// Trial i of `a` against trial i of `b`, messages only.
fn compare_pairs(a: &[CanonicalRun], b: &[CanonicalRun], options: &EquivOptions) -> PayloadTrials {
    let mut outcome = PayloadTrials { pairs: a.len().min(b.len()), differing: 0, first: Vec::new() };
    for (trial, (x, y)) in a.iter().zip(b).enumerate() {
        let differences = payload_differences(x, y, options);
        if !differences.is_empty() {
            outcome.differing += 1;
        }
        let room = options.max_differences.saturating_sub(outcome.first.len());
        outcome
            .first
            .extend(differences.into_iter().take(room).map(|difference| TrialDifference { trial, difference }));
    }
    outcome
}

/// The per-trial values of `run` that trials compare, by (node, metric):
/// each node's metrics, each destination's deliveries and the drops, with
/// the ignored nodes and topics left out (and the engine's message counts
/// and the drops too, which include the ignored traffic).
fn trial_values(
    run: &CanonicalRun,
    destinations: &BTreeSet<&String>,
    reasons: &BTreeSet<&String>,
    options: &EquivOptions,
) -> BTreeMap<(String, String), f64> {
    let ignoring = !options.ignore_nodes.is_empty() || !options.ignore_topics.is_empty();
    let mut values = BTreeMap::new();
    for (node, metrics) in run.metrics.iter().filter(|(n, _)| !options.ignore_nodes.contains(*n)) {
        for (name, value) in metrics {
            if !(ignoring && name.starts_with("host.") && name != "host.faulted") && options.counts_metric(name) {
                values.insert((node.clone(), name.clone()), *value);
            }
        }
    }
    let empty = Vec::new();
    for &node in destinations {
        let times: Vec<u64> = run
            .deliveries
            .get(node)
            .unwrap_or(&empty)
            .iter()
            .filter(|d| !options.ignore_topics.contains(&d.topic) && !options.ignore_nodes.contains(&d.src))
            .map(|d| d.time_us)
            .collect();
        values.insert((node.clone(), COUNT_METRIC.to_string()), times.len() as f64);
        if !options.ignore_timing && !times.is_empty() {
            let mean = times.iter().map(|&t| t as f64).sum::<f64>() / times.len() as f64;
            values.insert((node.clone(), MEAN_TIME_METRIC.to_string()), mean);
        }
    }
    if !ignoring {
        for &reason in reasons {
            let dropped = run.drops.get(reason).copied().unwrap_or(0);
            values.insert((NETWORK.to_string(), format!("dropped.{reason}")), dropped as f64);
        }
    }
    values
}

/// Every metric of the trials of `a` and `b` compared under `rules`.
pub fn compare_trials(
    a: &[CanonicalRun],
    b: &[CanonicalRun],
    options: &EquivOptions,
    rules: &TrialRules,
) -> Result<TrialsOutcome, TrialsError> {
    let runs = || a.iter().chain(b);
    let destinations: BTreeSet<&String> =
        runs().flat_map(|r| r.deliveries.keys()).filter(|n| !options.ignore_nodes.contains(*n)).collect();
    let reasons: BTreeSet<&String> = runs().flat_map(|r| r.drops.keys()).collect();
    let values = |side: &[CanonicalRun]| -> Vec<BTreeMap<(String, String), f64>> {
        side.iter().map(|r| trial_values(r, &destinations, &reasons, options)).collect()
    };
    let (va, vb) = (values(a), values(b));
    let keys: BTreeSet<(String, String)> = va.iter().chain(&vb).flat_map(|m| m.keys().cloned()).collect();

    // A margin naming no metric is a typo, not a margin that never applies.
    let mut known: Vec<String> = keys.iter().map(|(_, m)| m.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    known.extend(keys.iter().map(|(n, m)| format!("{n}/{m}")));
    for (key, stated) in &rules.margins {
        if !known.contains(key) {
            let names: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(TrialsError::UnknownMetric {
                key: key.clone(),
                origin: stated.origin.clone(),
                suggestion: crate::scenario::did_you_mean(key, &names),
            });
        }
    }

    let mut metrics: Vec<MetricTrials> = keys
        .into_iter()
        .map(|(node, metric)| {
            let key = (node.clone(), metric.clone());
            let (xs, ys): (Vec<f64>, Vec<f64>) = (
                va.iter().filter_map(|m| m.get(&key).copied()).collect(),
                vb.iter().filter_map(|m| m.get(&key).copied()).collect(),
            );
            let finite = |v: &[f64]| -> Vec<f64> { v.iter().copied().filter(|x| x.is_finite()).collect() };
            // The non-finite values (NaN, ±inf) of a side, which must match exactly.
            let odd = |v: &[f64]| -> Vec<String> {
                let mut odd: Vec<String> = v.iter().filter(|x| !x.is_finite()).map(|x| x.to_string()).collect();
                odd.sort();
                odd
            };
            let (sa, sb) = (Sample::of(&finite(&xs)), Sample::of(&finite(&ys)));
            let margin = rules
                .margins
                .get(&format!("{node}/{metric}"))
                .or_else(|| rules.margins.get(&metric))
                .map(|s| s.margin)
                .or(if metric == MEAN_TIME_METRIC { rules.time_margin } else { None })
                .or(rules.margin_default);
            let welch = welch(&sa, &sb);
            let tost = welch.map(|w| tost(&w, margin.map_or(0.0, |m| m.amount(sa.mean)), rules.alpha));
            let problem = if xs.len() != ys.len() {
                Some(format!("reported by {} trials of A, {} of B", xs.len(), ys.len()))
            } else if odd(&xs) != odd(&ys) {
                Some(format!("non-finite values differ: A [{}], B [{}]", odd(&xs).join(", "), odd(&ys).join(", ")))
            } else {
                None
            };
            let (yes, no) = match rules.test {
                TrialTest::Equivalence => (Verdict::Equivalent, Verdict::NotEquivalent),
                TrialTest::Difference => (Verdict::NoDifference, Verdict::Differ),
            };
            let verdict = if problem.is_some() {
                no
            } else if sa.n == 0 && sb.n == 0 {
                yes // the same non-finite values on both sides, nothing else
            } else if sa.n < rules.min_trials || sb.n < rules.min_trials {
                Verdict::Undecided
            } else {
                match (rules.test, tost) {
                    (TrialTest::Equivalence, Some(t)) if t.equivalent => yes,
                    (TrialTest::Equivalence, _) => no,
                    // Decided below, once every p is known.
                    (TrialTest::Difference, _) => yes,
                }
            };
            MetricTrials { node, metric, a: sa, b: sb, margin, welch, tost, p_difference_holm: None, problem, verdict }
        })
        .collect();

    // "Do any differ?" over many metrics: Holm keeps the chance of a false
    // "differs" anywhere at alpha. A metric constant on both sides is no
    // random test (it differs exactly when its values do), so it is not
    // counted in the family. (Equivalence needs every TOST to pass, which
    // keeps its error at alpha without adjustment.)
    let tested: Vec<usize> =
        (0..metrics.len()).filter(|&i| metrics[i].welch.is_some_and(|w| w.standard_error > 0.0)).collect();
    let adjusted = holm(&tested.iter().map(|&i| metrics[i].welch.map_or(1.0, |w| w.p_difference)).collect::<Vec<_>>());
    for (&i, p) in tested.iter().zip(adjusted) {
        metrics[i].p_difference_holm = Some(p);
    }
    for m in metrics.iter_mut().filter(|m| m.problem.is_none()) {
        let constant = m.welch.filter(|w| w.standard_error == 0.0).map(|w| w.p_difference);
        if let Some(p) = m.p_difference_holm.or(constant)
            && rules.test == TrialTest::Difference
            && m.verdict == Verdict::NoDifference
            && p < rules.alpha
        {
            m.verdict = Verdict::Differ;
        }
    }
    let payloads = rules.compare_payloads.then(|| compare_pairs(a, b, options));
    let messages_differ = payloads.as_ref().is_some_and(|p| p.differing > 0);
    let any = |v: Verdict| metrics.iter().any(|m| m.verdict == v);
    let verdict = match rules.test {
        TrialTest::Equivalence if messages_differ || any(Verdict::NotEquivalent) => Verdict::NotEquivalent,
        TrialTest::Difference if messages_differ || any(Verdict::Differ) => Verdict::Differ,
        _ if any(Verdict::Undecided) => Verdict::Undecided,
        TrialTest::Equivalence => Verdict::Equivalent,
        TrialTest::Difference => Verdict::NoDifference,
    };
    Ok(TrialsOutcome { metrics, payloads, verdict })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equiv::CanonicalDelivery;

    fn run(v: f64) -> CanonicalRun {
        CanonicalRun {
            deliveries: BTreeMap::new(),
            metrics: BTreeMap::from([("n".to_string(), BTreeMap::from([("m".to_string(), v)]))]),
            drops: BTreeMap::new(),
        }
    }

    fn runs(values: &[f64]) -> Vec<CanonicalRun> {
        values.iter().copied().map(run).collect()
    }

    fn rules(test: TrialTest, margin: Option<&str>) -> TrialRules {
        TrialRules { test, margin_default: margin.map(|m| Margin::parse(m).unwrap()), ..TrialRules::default() }
    }

    fn verdict(a: &[f64], b: &[f64], rules: &TrialRules) -> Verdict {
        compare_trials(&runs(a), &runs(b), &EquivOptions::default(), rules).unwrap().verdict
    }

    #[test]
    fn trial_seeds_are_fixed_and_distinct() {
        assert_eq!(trial_seed(42, 0), trial_seed(42, 0));
        let seeds: BTreeSet<u64> = (0..1000).map(|i| trial_seed(42, i)).collect();
        assert_eq!(seeds.len(), 1000);
        // Pinned: a change to the derivation changes every trial's seed.
        assert_eq!(trial_seed(0, 0), 0);
        // SplitMix64's finaliser of 1, computed independently (Python, 64-bit arithmetic).
        assert_eq!(trial_seed(1, 0), 0x5692_161d_100b_05e5);
    }

    #[test]
    fn shifted_distributions_are_not_equivalent_and_differ() {
        // The issue's shift, five trials a side: overlapping 95% intervals
        // once passed this; TOST against 10% of A's mean does not.
        let (a, b) = ([10.0, 12.0, 14.0, 11.0, 13.0], [15.0, 17.0, 19.0, 16.0, 18.0]);
        assert_eq!(verdict(&a, &b, &rules(TrialTest::Equivalence, Some("10%"))), Verdict::NotEquivalent);
        assert_eq!(verdict(&a, &b, &rules(TrialTest::Difference, None)), Verdict::Differ);
        // Within a margin of 8 (absolute) they are equivalent.
        assert_eq!(verdict(&a, &b, &rules(TrialTest::Equivalence, Some("8"))), Verdict::Equivalent);
        // Three a side is below the minimum: undecided, whatever the test.
        for test in [TrialTest::Equivalence, TrialTest::Difference] {
            assert_eq!(verdict(&a[..3], &b[..3], &rules(test, Some("10%"))), Verdict::Undecided);
        }
    }

    #[test]
    fn equivalence_needs_a_margin_unless_both_sides_are_constant() {
        let (a, b) = ([100.0, 102.0, 98.0, 101.0, 99.0], [100.5, 101.5, 99.5, 100.0, 100.5]);
        assert_eq!(verdict(&a, &b, &rules(TrialTest::Equivalence, Some("2%"))), Verdict::Equivalent);
        assert_eq!(verdict(&a, &b, &rules(TrialTest::Equivalence, None)), Verdict::NotEquivalent);
        assert_eq!(verdict(&a, &b, &rules(TrialTest::Difference, None)), Verdict::NoDifference);
        let six = [6.0; 5];
        assert_eq!(verdict(&six, &six, &rules(TrialTest::Equivalence, None)), Verdict::Equivalent);
        assert_eq!(verdict(&six, &[10.0; 5], &rules(TrialTest::Difference, None)), Verdict::Differ);
        // A margin per metric beats the default; one per node's metric beats both.
        let mut r = rules(TrialTest::Equivalence, Some("0"));
        let stated = |m: &str| StatedMargin { margin: Margin::parse(m).unwrap(), origin: "--margin".into() };
        r.margins.insert("m".into(), stated("2%"));
        assert_eq!(verdict(&a, &b, &r), Verdict::Equivalent);
        r.margins.insert("n/m".into(), stated("0.1"));
        assert_eq!(verdict(&a, &b, &r), Verdict::NotEquivalent);
    }

    #[test]
    fn non_finite_values_must_match() {
        let nan = [f64::NAN; 5];
        assert_eq!(verdict(&nan, &nan, &rules(TrialTest::Equivalence, None)), Verdict::Equivalent);
        assert_eq!(verdict(&nan, &[1.0; 5], &rules(TrialTest::Equivalence, Some("100%"))), Verdict::NotEquivalent);
        assert_eq!(verdict(&nan, &[1.0; 5], &rules(TrialTest::Difference, None)), Verdict::Differ);
    }

    #[test]
    fn a_margin_for_no_metric_is_refused_with_a_suggestion() {
        let mut r = TrialRules::default();
        let margin = StatedMargin { margin: Margin::Absolute(1.0), origin: "--margin".into() };
        r.margins.insert("mm".into(), margin);
        let error = compare_trials(&runs(&[1.0; 5]), &runs(&[1.0; 5]), &EquivOptions::default(), &r).unwrap_err();
        assert_eq!(error.to_string(), "--margin: no metric 'mm' in any trial; did you mean 'm'?");
    }

    #[test]
    fn deliveries_and_drops_are_compared_with_the_ignores_applied() {
        let delivery = |time_us: u64, topic: &str| CanonicalDelivery {
            time_us,
            sent_us: 0,
            src: "s".into(),
            topic: topic.into(),
            payload: Some("x".into()),
            payload_hex: None,
        };
        // B's gateway gets a heartbeat more and drops one more message.
        let trial = |extra: bool| CanonicalRun {
            deliveries: BTreeMap::from([(
                "gw".to_string(),
                if extra {
                    vec![delivery(1_000, "reading"), delivery(1_500, "heartbeat")]
                } else {
                    vec![delivery(1_000, "reading")]
                },
            )]),
            metrics: BTreeMap::from([(
                "gw".to_string(),
                BTreeMap::from([("host.messages_in".to_string(), if extra { 2.0 } else { 1.0 })]),
            )]),
            drops: BTreeMap::from([("loss".to_string(), if extra { 1 } else { 0 })]),
        };
        let (a, b): (Vec<_>, Vec<_>) = ((0..5).map(|_| trial(false)).collect(), (0..5).map(|_| trial(true)).collect());
        let outcome = compare_trials(&a, &b, &EquivOptions::default(), &TrialRules::default()).unwrap();
        let off: Vec<(&str, &str)> = outcome
            .metrics
            .iter()
            .filter(|m| m.verdict != Verdict::Equivalent)
            .map(|m| (m.node.as_str(), m.metric.as_str()))
            .collect();
        assert_eq!(
            off,
            vec![(NETWORK, "dropped.loss"), ("gw", COUNT_METRIC), ("gw", MEAN_TIME_METRIC), ("gw", "host.messages_in")]
        );
        // Heartbeats ignored: the deliveries agree, and the counts that
        // include them (the engine's, the drops) are left out.
        let ignoring = EquivOptions { ignore_topics: BTreeSet::from(["heartbeat".to_string()]), ..Default::default() };
        let outcome = compare_trials(&a, &b, &ignoring, &TrialRules::default()).unwrap();
        assert_eq!(outcome.verdict, Verdict::Equivalent, "{outcome:#?}");
        let names: Vec<&str> = outcome.metrics.iter().map(|m| m.metric.as_str()).collect();
        assert_eq!(names, vec![COUNT_METRIC, MEAN_TIME_METRIC]);
        // Timing ignored: no arrival times. A time tolerance: their margin.
        let untimed = EquivOptions { ignore_timing: true, ..ignoring.clone() };
        let outcome = compare_trials(&a, &b, &untimed, &TrialRules::default()).unwrap();
        assert!(outcome.metrics.iter().all(|m| m.metric != MEAN_TIME_METRIC));
        let tolerant = TrialRules { time_margin: Some(Margin::Absolute(250.0)), ..TrialRules::default() };
        let outcome = compare_trials(&a, &b, &EquivOptions::default(), &tolerant).unwrap();
        let time = outcome.metrics.iter().find(|m| m.metric == MEAN_TIME_METRIC).unwrap();
        // 1,000 against 1,250 µs in every trial: exactly the margin.
        assert_eq!((time.margin, time.verdict), (Some(Margin::Absolute(250.0)), Verdict::Equivalent));
    }

    #[test]
    fn pairs_of_trials_whose_messages_differ_decide_the_verdict() {
        use crate::equiv::PayloadMatch;
        use crate::scenario::PayloadTolerance;
        // Trial i of each side: one prediction, 1e-7 apart on B in trial 3.
        let trial = |i: usize, side_b: bool| CanonicalRun {
            deliveries: BTreeMap::from([(
                "cloud".to_string(),
                vec![CanonicalDelivery {
                    time_us: 1_000,
                    sent_us: 0,
                    src: "ml".into(),
                    topic: "result".into(),
                    payload: Some(format!(
                        r#"{{"prediction":{}}}"#,
                        0.25 + i as f64 + if side_b && i == 3 { 1e-7 } else { 0.0 }
                    )),
                    payload_hex: None,
                }],
            )]),
            metrics: BTreeMap::new(),
            drops: BTreeMap::new(),
        };
        let (a, b): (Vec<_>, Vec<_>) =
            ((0..5).map(|i| trial(i, false)).collect(), (0..5).map(|i| trial(i, true)).collect());
        let margins = TrialRules { margin_default: Some(Margin::Absolute(10.0)), ..TrialRules::default() };
        // Payloads not asked for: only the counts and times.
        let outcome = compare_trials(&a, &b, &EquivOptions::default(), &margins).unwrap();
        assert_eq!((outcome.verdict, outcome.payloads), (Verdict::Equivalent, None));
        let asked = TrialRules { compare_payloads: true, ..margins };
        let fields = |abs: f64| BTreeMap::from([("prediction".to_string(), PayloadTolerance { abs, rel: 0.0 })]);
        let json = |abs| EquivOptions {
            payloads: PayloadMatch::Json { relative_tolerance: 0.0, fields: fields(abs) },
            ..EquivOptions::default()
        };
        let outcome = compare_trials(&a, &b, &json(1e-6), &asked).unwrap();
        assert_eq!(outcome.verdict, Verdict::Equivalent, "{outcome:#?}");
        assert_eq!(outcome.payloads.as_ref().map(|p| (p.pairs, p.differing)), Some((5, 0)));
        // Without the tolerance, trial 3 differs: not equivalent, and with
        // the difference test, they differ, whatever the metrics say.
        let outcome = compare_trials(&a, &b, &json(0.0), &asked).unwrap();
        assert_eq!(outcome.verdict, Verdict::NotEquivalent);
        assert!(outcome.metrics.iter().all(|m| m.verdict == Verdict::Equivalent), "{outcome:#?}");
        let payloads = outcome.payloads.unwrap();
        assert_eq!((payloads.pairs, payloads.differing, payloads.first.len()), (5, 1, 1));
        assert_eq!(payloads.first[0].trial, 3);
        assert_eq!(
            payloads.first[0].difference.what,
            "message 1 from 'ml' received: another payload: field 'prediction' is 3.25 against 3.2500001 (tolerance abs 0e0)"
        );
        let differ = TrialRules { test: TrialTest::Difference, ..asked };
        assert_eq!(compare_trials(&a, &b, &json(0.0), &differ).unwrap().verdict, Verdict::Differ);
        assert_eq!(compare_trials(&a, &b, &json(1e-6), &differ).unwrap().verdict, Verdict::NoDifference);
    }
}
