//! The table and the verdict in words that `equiv --trials` prints: one
//! row per metric (both sides, the margin, B − A's interval, the tests'
//! p values, the verdict), then what the verdict means and what to do.

use crate::equiv::{MetricTrials, PayloadTrials, TrialRules, TrialTest, Verdict};
use crate::scenario::Margin;

/// A number for the table: 4 decimals, or "-" when there is none.
fn number(x: f64) -> String {
    if x.is_nan() { "-".into() } else { format!("{x:.4}") }
}

/// The (1 − 2 alpha) interval's name: "90%" at alpha 0.05.
fn interval_name(alpha: f64) -> String {
    format!("{}%", (100.0 * (1.0 - 2.0 * alpha) * 1e6).round() / 1e6)
}

/// One row per metric: both sides, the margin, B − A's interval, both
/// tests' p, the verdict (and why a metric could not be compared).
pub(super) fn print_trials(metrics: &[MetricTrials], rules: &TrialRules) {
    println!(
        "{:<14} {:<26} {:>26} {:>26} {:>16} {:>24} {:>8} {:>8}  verdict",
        "node",
        "metric",
        "A mean ± sd",
        "B mean ± sd",
        "margin",
        format!("{} interval of B − A", interval_name(rules.alpha)),
        "p TOST",
        if rules.test == TrialTest::Difference { "p Holm" } else { "p differ" },
    );
    for m in metrics {
        let side = |s: &crate::equiv::Sample| format!("{} ± {}", number(s.mean), number(s.sd));
        let margin = match (m.margin, m.tost) {
            (Some(Margin::Percent(p)), Some(t)) => format!("{} ({p}%)", number(t.margin)),
            (Some(margin), _) => margin.to_string(),
            (None, _) => "none".into(),
        };
        let interval = m.tost.map_or("-".into(), |t| format!("[{}, {}]", number(t.low), number(t.high)));
        let p_tost = m.tost.map_or("-".into(), |t| format!("{:.4}", t.p));
        let p_differ = match rules.test {
            TrialTest::Difference => m.p_difference_holm.map_or("-".into(), |p| format!("{p:.4}")),
            TrialTest::Equivalence => m.welch.map_or("-".into(), |w| format!("{:.4}", w.p_difference)),
        };
        let metric = super::for_terminal(&m.metric);
        println!(
            "{:<14} {metric:<26} {:>26} {:>26} {margin:>16} {interval:>24} {p_tost:>8} {p_differ:>8}  {}",
            m.node,
            side(&m.a),
            side(&m.b),
            m.verdict.label()
        );
        if let Some(problem) = &m.problem {
            println!("    {}", super::for_terminal(problem));
        }
    }
}

/// Whether the pairs of trials received the same messages, and the first
/// differences when they did not.
pub(super) fn print_payloads(payloads: &PayloadTrials) {
    if payloads.differing == 0 {
        println!("messages: every pair of trials (trial i of A and of B) received the same ({} pairs)", payloads.pairs);
        return;
    }
    println!(
        "messages: {} of {} pairs of trials received different ones; first differences (A expected, B found):",
        payloads.differing, payloads.pairs
    );
    for d in &payloads.first {
        let t = d.trial;
        println!("  trials a{t} and b{t}: {}", super::for_terminal(&d.difference.to_string()));
    }
}

/// The verdict in words, and what to do about it when there is something.
pub(super) fn trials_summary(
    metrics: &[MetricTrials],
    verdict: Verdict,
    rules: &TrialRules,
) -> (String, Option<String>) {
    let count = |v: Verdict| metrics.iter().filter(|m| m.verdict == v).count();
    let interval = interval_name(rules.alpha);
    let alpha = rules.alpha;
    let summary = match verdict {
        Verdict::Equivalent => format!(
            "equivalent: for each of {} metrics the {interval} interval of B − A lies within its margin (TOST, alpha {alpha})",
            metrics.len()
        ),
        Verdict::NotEquivalent => {
            let noisy_without_margin = metrics
                .iter()
                .filter(|m| m.verdict == Verdict::NotEquivalent && m.margin.is_none() && m.problem.is_none())
                .filter(|m| m.welch.is_some_and(|w| w.standard_error > 0.0))
                .count();
            let help = format!(
                "{noisy_without_margin} of them vary across trials and have no margin: state one with --margin METRIC=MARGIN or --margin-default MARGIN"
            );
            let summary = format!(
                "NOT shown equivalent: {} of {} metrics not within their margins (TOST, alpha {alpha})",
                count(Verdict::NotEquivalent),
                metrics.len()
            );
            return (summary, (noisy_without_margin > 0).then_some(help));
        }
        Verdict::Differ => format!(
            "DIFFER: {} of {} metrics (Welch's test, Holm-adjusted, alpha {alpha})",
            count(Verdict::Differ),
            metrics.len()
        ),
        Verdict::NoDifference => format!(
            "no difference shown in {} metrics (Welch's test, Holm-adjusted, alpha {alpha}); this is no claim of equivalence: --test equivalence with margins makes one",
            metrics.len()
        ),
        Verdict::Undecided => {
            let summary = format!(
                "not enough trials to decide: {} of {} metrics have fewer than {} finite values on a side",
                count(Verdict::Undecided),
                metrics.len(),
                rules.min_trials
            );
            return (summary, Some("run more trials (--trials N)".into()));
        }
    };
    (summary, None)
}
