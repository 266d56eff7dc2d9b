//! Student's t distribution for any positive (also non-integer) degrees
//! of freedom, as Welch's test (`equiv`) and a sweep's 95% intervals
//! (`sweep::collect`) need: its CDF through the regularized
//! incomplete beta function, and its quantiles by bisection on the CDF.
//! Infinite degrees of freedom give the standard normal.

/// Degrees of freedom past which the normal distribution stands in for
/// Student's t (their CDFs then differ by less than 1e-7), where the
/// incomplete beta's continued fraction would need thousands of terms.
const NORMAL_BEYOND_DF: f64 = 1e7;

/// Most terms of the continued fraction; it converges in O(√max(a, b))
/// terms, so this covers every `a`, `b` below [`NORMAL_BEYOND_DF`].
const MAX_TERMS: usize = 20_000;

/// ln Γ(x) for x > 0: Lanczos' approximation (g = 7, nine terms, relative
/// error below 1e-14), with the reflection formula below ½.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x) Γ(1 − x) = π / sin(πx)
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let sum = C[0] + C.iter().enumerate().skip(1).map(|(i, c)| c / (x + i as f64)).sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b), for a, b > 0 and
/// 0 ≤ x ≤ 1: its continued fraction (evaluated by the modified Lentz
/// method), on whichever side of the mean it converges fast.
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of I_x(a, b), modified Lentz method.
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPSILON: f64 = 1e-15;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=MAX_TERMS {
        let m = m as f64;
        // The even step, then the odd step, of the fraction.
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPSILON {
            break;
        }
    }
    h
}

/// The complementary error function, erfc(x) = 1 − erf(x): the Chebyshev
/// fit of Numerical Recipes (fractional error below 1.2e-7 everywhere).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

/// P(T ≤ t) for Student's t with `df` > 0 degrees of freedom (infinite:
/// the standard normal).
pub fn cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    if df > NORMAL_BEYOND_DF {
        return 0.5 * erfc(-t / std::f64::consts::SQRT_2);
    }
    // P(|T| > |t|) = I_{df / (df + t²)}(df / 2, 1 / 2)
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// The t with P(T ≤ t) = `p` for `df` degrees of freedom, 0 < p < 1.
pub fn quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    // Bracket, then halve: the CDF is increasing, so this cannot miss.
    let (mut low, mut high) = (-1.0_f64, 1.0_f64);
    while cdf(low, df) > p && low > -1e300 {
        low *= 2.0;
    }
    while cdf(high, df) < p && high < 1e300 {
        high *= 2.0;
    }
    for _ in 0..2_000 {
        let middle = 0.5 * (low + high);
        if middle == low || middle == high {
            break;
        }
        if cdf(middle, df) < p {
            low = middle;
        } else {
            high = middle;
        }
    }
    0.5 * (low + high)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(found: f64, expected: f64, tolerance: f64) -> bool {
        (found - expected).abs() <= tolerance
    }

    #[test]
    fn quantiles_match_a_published_table() {
        // One-sided 95% points of Student's t as printed in the usual
        // tables (e.g. NIST/SEMATECH e-Handbook, 1.3.6.7.2), to 3 decimals.
        for (df, t) in [(1.0, 6.314), (2.0, 2.920), (5.0, 2.015), (10.0, 1.812), (30.0, 1.697), (f64::INFINITY, 1.645)]
        {
            let q = quantile(0.95, df);
            assert!(close(q, t, 5e-4), "t_0.95({df}) = {q}, table {t}");
        }
        // Two-sided 95% (t_0.975), same table.
        for (df, t) in [(1.0, 12.706), (4.0, 2.776), (30.0, 2.042)] {
            assert!(close(quantile(0.975, df), t, 5e-4), "t_0.975({df})");
        }
    }

    #[test]
    fn quantiles_and_cdf_match_scipy_to_many_digits() {
        // Printed by scipy 1.17.1 (scipy.stats.t.ppf / .cdf,
        // scipy.special.betainc), in a virtualenv under /tmp.
        for (p, df, t) in [
            (0.95, 1.0, 6.313751514675037),
            (0.95, 2.0, 2.9199855803537242),
            (0.95, 5.0, 2.0150483733330233),
            (0.95, 10.0, 1.8124611228116756),
            (0.95, 30.0, 1.697260886593957),
            (0.95, f64::INFINITY, 1.6448536269514724),
            (0.95, 2.5, 2.5582186141359355),
            (0.95, 4.7, 2.043811093013787),
            (0.975, 17.3, 2.1070320037534676),
            (0.975, 2.5, 3.5746548420036817),
        ] {
            let q = quantile(p, df);
            assert!(close(q, t, 1e-8 * t.max(1.0)), "t_{p}({df}) = {q}, scipy {t}");
            assert!(close(quantile(1.0 - p, df), -t, 1e-8 * t.max(1.0)), "symmetry at df {df}");
        }
        for (t, df, p) in [
            (1.0, 1.0, 0.75),
            (2.0, 3.0, 0.9303370157205785),
            (-1.5, 7.5, 0.08724028529323204),
            (0.5, 2.2, 0.6686750388712586),
            (3.0, 40.0, 0.9976849301079219),
            (-3.0619, 4.0, 0.01879436204812226),
        ] {
            assert!(close(cdf(t, df), p, 1e-12), "cdf({t}, {df}) = {}, scipy {p}", cdf(t, df));
        }
        // The normal's CDF rests on erfc's fit: 1.2e-7 relative.
        assert!(close(cdf(1.96, f64::INFINITY), 0.9750021048517795, 1e-7));
        for (a, b, x, i) in [
            (0.5, 0.5, 0.3, 0.36901011956554536),
            (2.0, 3.0, 0.4, 0.5248),
            (5.0, 0.5, 0.9, 0.3166429150200122),
            (10.0, 20.0, 0.25, 0.16630494959787945),
        ] {
            assert!(close(incomplete_beta(a, b, x), i, 1e-12), "I_{x}({a}, {b}) = {}", incomplete_beta(a, b, x));
        }
    }

    #[test]
    fn ln_gamma_matches_factorials_and_the_half() {
        for (x, factorial) in [(1.0, 1.0), (2.0, 1.0), (5.0, 24.0), (11.0, 3_628_800.0_f64)] {
            assert!(close(ln_gamma(x), factorial.ln(), 1e-12), "ln Γ({x})");
        }
        // Γ(½) = √π
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-12));
    }

    #[test]
    fn edges_are_defined() {
        assert_eq!(cdf(f64::INFINITY, 3.0), 1.0);
        assert_eq!(cdf(f64::NEG_INFINITY, 3.0), 0.0);
        assert_eq!(cdf(0.0, 3.0), 0.5);
        assert!(cdf(1.0, 0.0).is_nan() && quantile(1.5, 3.0).is_nan() && quantile(0.0, 3.0).is_nan());
        // Very few degrees of freedom have very long tails; still found.
        assert!(close(cdf(quantile(0.999, 0.3), 0.3), 0.999, 1e-9));
    }
}
