//! Two samples compared without assuming equal variances: Welch's t
//! (standard error and Welch–Satterthwaite degrees of freedom), its
//! two-sided test ("do these differ?") and Schuirmann's two one-sided
//! tests, TOST ("is the difference within ±margin?").

use serde::Serialize;

use super::student_t;

/// A sample's size, mean and standard deviation (n − 1 in the denominator).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub n: usize,
    pub mean: f64,
    /// 0 for fewer than two values.
    pub sd: f64,
}

impl Sample {
    pub fn of(values: &[f64]) -> Sample {
        let n = values.len();
        let mean = if n == 0 { f64::NAN } else { values.iter().sum::<f64>() / n as f64 };
        let sd =
            if n < 2 { 0.0 } else { (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() };
        Sample { n, mean, sd }
    }

    /// The squared standard error of the mean.
    fn mean_variance(&self) -> f64 {
        self.sd * self.sd / self.n as f64
    }
}

/// B − A by Welch's t.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Welch {
    /// B's mean − A's mean.
    pub difference: f64,
    pub standard_error: f64,
    /// Welch–Satterthwaite; NaN (null in JSON) when both sides are constant.
    pub df: f64,
    /// difference / standard_error; NaN when both sides are constant.
    pub t: f64,
    /// Two-sided p of "the means are equal". With both sides constant: 1
    /// if their values are equal, else 0 (no noise can explain a gap).
    pub p_difference: f64,
}

/// Welch's comparison of `b` with `a`; `None` unless both have two values.
pub fn welch(a: &Sample, b: &Sample) -> Option<Welch> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let difference = b.mean - a.mean;
    let (va, vb) = (a.mean_variance(), b.mean_variance());
    let standard_error = (va + vb).sqrt();
    if standard_error == 0.0 {
        let p_difference = if difference == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch { difference, standard_error, df: f64::NAN, t: f64::NAN, p_difference });
    }
    let df = (va + vb).powi(2) / (va * va / (a.n - 1) as f64 + vb * vb / (b.n - 1) as f64);
    let t = difference / standard_error;
    Some(Welch { difference, standard_error, df, t, p_difference: 2.0 * student_t::cdf(-t.abs(), df) })
}

/// Schuirmann's two one-sided tests of |B − A| < margin at level alpha.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tost {
    /// The margin as an absolute amount.
    pub margin: f64,
    /// The (1 − 2 alpha) interval of B − A (90% at alpha 0.05).
    pub low: f64,
    pub high: f64,
    /// p of "B − A ≤ −margin" and of "B − A ≥ +margin".
    pub p_lower: f64,
    pub p_upper: f64,
    /// The larger of the two: equivalence is shown when it is below alpha.
    pub p: f64,
    pub equivalent: bool,
}

/// TOST of `w` against ±`margin`: equivalent when both one-sided nulls
/// are rejected at `alpha`, i.e. the (1 − 2 alpha) interval of B − A lies
/// inside (−margin, +margin). Both sides constant: equivalent when
/// |B − A| ≤ margin (a margin of 0 then asks for equal values).
pub fn tost(w: &Welch, margin: f64, alpha: f64) -> Tost {
    let d = w.difference;
    if w.standard_error == 0.0 {
        let inside = d.abs() <= margin;
        let p = if inside { 0.0 } else { 1.0 };
        return Tost { margin, low: d, high: d, p_lower: p, p_upper: p, p, equivalent: inside };
    }
    let p_lower = student_t::cdf(-(d + margin) / w.standard_error, w.df);
    let p_upper = student_t::cdf((d - margin) / w.standard_error, w.df);
    let reach = student_t::quantile(1.0 - alpha, w.df) * w.standard_error;
    let p = p_lower.max(p_upper);
    Tost { margin, low: d - reach, high: d + reach, p_lower, p_upper, p, equivalent: p < alpha }
}

/// Holm's step-down adjustment of `p_values` (family-wise error at most
/// alpha over all of them): each adjusted p, in the order given.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(found: f64, expected: f64, tolerance: f64) -> bool {
        (found - expected).abs() <= tolerance
    }

    #[test]
    fn the_issues_shifted_pair_differs_at_p_0_038() {
        // A = 10, 12, 14 against B = 15, 17, 19: the pair whose 95% intervals
        // overlap. scipy 1.17.1: ttest_ind(B, A, equal_var=False) gives
        // t = 3.0618621784789726, df = 4.0, p = 0.037590111511146454.
        let (a, b) = (Sample::of(&[10.0, 12.0, 14.0]), Sample::of(&[15.0, 17.0, 19.0]));
        let w = welch(&a, &b).unwrap();
        assert!(close(w.t, 3.0618621784789726, 1e-12) && close(w.df, 4.0, 1e-12), "{w:?}");
        assert!(close(w.p_difference, 0.037590111511146454, 1e-10), "{w:?}");
        // Against a margin of 10% of A's mean (1.2) it is not equivalent.
        assert!(!tost(&w, 1.2, 0.05).equivalent);
    }

    #[test]
    fn tost_agrees_with_its_interval_and_with_scipy() {
        // Unequal variances: A's sd 1.5811, B's 0.7416, df non-integer;
        // the equivalent case of docs/equivalence.md.
        let a = Sample::of(&[100.0, 102.0, 98.0, 101.0, 99.0]);
        let b = Sample::of(&[100.5, 101.5, 99.5, 100.0, 100.5]);
        let w = welch(&a, &b).unwrap();
        let t = tost(&w, 2.0, 0.05);
        // scipy 1.17.1: ttest_ind(B, A, equal_var=False).df, and the one-sided
        // p's as ttest_ind(B + m, A, equal_var=False, alternative='greater')
        // and ttest_ind(B - m, A, equal_var=False, alternative='less').
        assert!(close(w.df, 5.678748569248378, 1e-10), "{w:?}");
        assert!(close(t.p_upper, 0.04453563617530506, 1e-10) && close(t.p_lower, 0.011732079983098756, 1e-10), "{t:?}");
        // scipy: d ± t.ppf(0.95, df) * se.
        assert!(close(t.low, -1.133187643699024, 1e-9) && close(t.high, 1.9331876436990354, 1e-9), "{t:?}");
        assert!(t.equivalent && t.low > -2.0 && t.high < 2.0, "{t:?}");
        // The interval's edge is where p crosses alpha: at margin = high, p_upper = alpha.
        let edge = tost(&w, t.high, 0.05);
        assert!(close(edge.p_upper, 0.05, 1e-9), "{edge:?}");
        // No margin, no equivalence (unless both sides are constant and equal).
        assert!(!tost(&w, 0.0, 0.05).equivalent);
    }

    #[test]
    fn constant_samples_compare_exactly() {
        let six = Sample::of(&[6.0; 5]);
        let ten = Sample::of(&[10.0; 5]);
        let same = welch(&six, &six).unwrap();
        assert_eq!((same.p_difference, tost(&same, 0.0, 0.05).equivalent), (1.0, true));
        let apart = welch(&six, &ten).unwrap();
        assert_eq!((apart.p_difference, tost(&apart, 3.9, 0.05).equivalent), (0.0, false));
        assert!(tost(&apart, 4.0, 0.05).equivalent);
        assert!(welch(&Sample::of(&[1.0]), &six).is_none());
    }

    #[test]
    fn holm_adjusts_step_down() {
        // By hand: sorted 0.01, 0.02, 0.04 times 3, 2, 1 = 0.03, 0.04, 0.04.
        let adjusted = holm(&[0.04, 0.01, 0.02]);
        assert!(adjusted.iter().zip([0.04, 0.03, 0.04]).all(|(p, q)| close(*p, q, 1e-15)), "{adjusted:?}");
        assert_eq!(holm(&[0.9, 0.6]), vec![1.0, 1.0]);
    }

    /// The worked example's table in docs/equivalence.md: each row's label
    /// and, per column, the numbers in its cell.
    fn worked_example() -> std::collections::BTreeMap<String, [Vec<f64>; 2]> {
        let doc = include_str!("../../../docs/equivalence.md");
        let start = doc.find("<!-- worked-example -->").expect("the doc marks its worked example");
        let numbers = |cell: &str| -> Vec<f64> {
            cell.split(',').map(|n| n.trim().parse().unwrap_or_else(|_| panic!("not a number: {n:?}"))).collect()
        };
        doc[start..]
            .lines()
            .skip(3) // the marker, the header and its rule
            .take_while(|l| l.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
                (cells[0].to_string(), [numbers(cells[1]), numbers(cells[2])])
            })
            .collect()
    }

    #[test]
    fn the_worked_example_of_equivalence_md_holds() {
        let table = worked_example();
        let shown = |row: &str, column: usize| -> Vec<f64> {
            table.get(row).unwrap_or_else(|| panic!("no row '{row}' in {:?}", table.keys()))[column].clone()
        };
        // Independently: scipy 1.17.1 (ttest_ind(B, A, equal_var=False) for
        // t, df and p; t.ppf(0.95, df); t.sf / t.cdf for TOST's one-sided p).
        let scipy: [[(&str, Vec<f64>); 11]; 2] = [
            [
                ("A: mean, sd", vec![12.0, 1.5811388300841898]),
                ("B: mean, sd", vec![17.0, 1.5811388300841898]),
                ("B − A", vec![5.0]),
                ("standard error", vec![1.0]),
                ("Welch df", vec![8.0]),
                ("t", vec![5.0]),
                ("p differ (two-sided)", vec![0.0010528257933665399]),
                ("t₀.₉₅(df)", vec![1.8595480375308973]),
                ("90% interval of B − A", vec![3.1404519624691027, 6.859548037530898]),
                ("TOST p lower, upper", vec![0.00012971407675681172, 0.9973816687641524]),
                ("p TOST", vec![0.9973816687641524]),
            ],
            [
                ("A: mean, sd", vec![100.0, 1.5811388300841898]),
                ("B: mean, sd", vec![100.4, 0.7416198487095663]),
                ("B − A", vec![0.4]),
                ("standard error", vec![0.7810249675906655]),
                ("Welch df", vec![5.678748569248378]),
                ("t", vec![0.5121475197315911]),
                ("p differ (two-sided)", vec![0.627845991248326]),
                ("t₀.₉₅(df)", vec![1.9630456225089234]),
                ("90% interval of B − A", vec![-1.133187643699024, 1.9331876436990354]),
                ("TOST p lower, upper", vec![0.011732079983098756, 0.04453563617530506]),
                ("p TOST", vec![0.04453563617530506]),
            ],
        ];
        // The doc rounds to 4 decimals.
        let rounded = |x: f64, doc: f64| (x - doc).abs() <= 0.5e-4 + 1e-12;
        for (column, (margin_percent, expected)) in [(10.0, &scipy[0]), (2.0, &scipy[1])].into_iter().enumerate() {
            let (xs, ys) = (shown("A's trials", column), shown("B's trials", column));
            let (a, b) = (Sample::of(&xs), Sample::of(&ys));
            let w = welch(&a, &b).unwrap();
            let margin = margin_percent / 100.0 * a.mean;
            assert!((shown("margin", column)[0] - margin).abs() < 1e-12, "margin, column {column}");
            let t = tost(&w, margin, 0.05);
            let code = |row: &str| -> Vec<f64> {
                match row {
                    "A: mean, sd" => vec![a.mean, a.sd],
                    "B: mean, sd" => vec![b.mean, b.sd],
                    "B − A" => vec![w.difference],
                    "standard error" => vec![w.standard_error],
                    "Welch df" => vec![w.df],
                    "t" => vec![w.t],
                    "p differ (two-sided)" => vec![w.p_difference],
                    "t₀.₉₅(df)" => vec![student_t::quantile(0.95, w.df)],
                    "90% interval of B − A" => vec![t.low, t.high],
                    "TOST p lower, upper" => vec![t.p_lower, t.p_upper],
                    "p TOST" => vec![t.p],
                    other => panic!("{other}"),
                }
            };
            for (row, reference) in expected {
                let doc = shown(row, column);
                let ours = code(row);
                assert_eq!(doc.len(), reference.len(), "{row}");
                for ((d, r), o) in doc.iter().zip(reference).zip(&ours) {
                    assert!(rounded(*r, *d), "docs/equivalence.md, {row}, column {column}: {d}, scipy {r}");
                    assert!((o - r).abs() <= 1e-9 * r.abs().max(1.0), "{row}, column {column}: ours {o}, scipy {r}");
                }
            }
            // And the verdicts the doc draws from them.
            assert_eq!(t.equivalent, column == 1, "column {column}");
        }
        // The three-a-side pair in its prose: 95% intervals of the mean and Welch's figures.
        let doc = include_str!("../../../docs/equivalence.md").split_whitespace().collect::<Vec<_>>().join(" ");
        let (a, b) = (Sample::of(&[10.0, 12.0, 14.0]), Sample::of(&[15.0, 17.0, 19.0]));
        let half = student_t::quantile(0.975, 2.0) * a.sd / 3f64.sqrt();
        let w = welch(&a, &b).unwrap();
        for text in [
            format!("12 ± {half:.2} and 17 ± {half:.2}"),
            format!("t = {:.2}, df = {}, p = {:.3}", w.t, w.df, w.p_difference),
        ] {
            assert!(doc.contains(&text), "docs/equivalence.md says {text:?}");
        }
    }
}
