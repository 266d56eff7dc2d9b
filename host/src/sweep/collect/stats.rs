//! Means and their 95% intervals over the finished points, grouped by one
//! parameter's value (marginal over the others and the seeds) or by the
//! whole parameter point (over its seeds).

use serde_json::Value;

use super::{PointRow, Table};
use crate::sweep::layout::PointStatus;

/// The confidence of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// A metric over a group of points: the finite values of its finished points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub n: usize,
    /// None when no point has a finite value.
    pub mean: Option<f64>,
    /// Standard deviation (n − 1 in the denominator); None below two values.
    pub sd: Option<f64>,
    /// mean ± t(0.975, n − 1) · sd / √n; None below two values.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Interval {
    /// Over `values`' finite ones: NaN and infinities are left out (n counts
    /// what is in), as a mean cannot hold them.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Interval {
        let values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        let n = values.len();
        if n == 0 {
            return Interval { n, mean: None, sd: None, low: None, high: None };
        }
        // Finite values near f64::MAX overflow a plain sum: then the sums
        // are taken over the values divided by the largest magnitude.
        let scale = values.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let mut mean = values.iter().sum::<f64>() / n as f64;
        if !mean.is_finite() {
            mean = scale * (values.iter().map(|x| x / scale).sum::<f64>() / n as f64);
        }
        if n < 2 {
            return Interval { n, mean: Some(mean), sd: None, low: None, high: None };
        }
        let mut sd = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        if !sd.is_finite() {
            sd = scale * (values.iter().map(|x| ((x - mean) / scale).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        }
        let half = crate::student_t::quantile(0.5 + CONFIDENCE / 2.0, (n - 1) as f64) * sd / (n as f64).sqrt();
        Interval { n, mean: Some(mean), sd: Some(sd), low: Some(mean - half), high: Some(mean + half) }
    }
}

/// One swept parameter at one of its values: every metric's interval.
#[derive(Debug, Clone)]
pub struct ParameterGroup {
    /// Index into the table's parameters.
    pub parameter: usize,
    pub value: Value,
    /// By metric, as the table's metrics.
    pub intervals: Vec<Interval>,
}

/// One whole parameter point (its values in the parameters' order) over its seeds.
#[derive(Debug, Clone)]
pub struct PointGroup {
    pub values: Vec<Value>,
    pub intervals: Vec<Interval>,
}

/// A point's value of parameter `path` (null if the plan left it out).
pub fn value_of<'a>(row: &'a PointRow, path: &str) -> &'a Value {
    row.entry.values.get(path).unwrap_or(&Value::Null)
}

/// The rows grouped by `key`, groups in the order their keys first come
/// (plan order): each group's key and every metric's interval over its
/// finished rows. Each row's key is made once.
fn grouped<K: PartialEq>(table: &Table, key: impl Fn(&PointRow) -> K) -> Vec<(K, Vec<Interval>)> {
    let mut keys: Vec<K> = Vec::new();
    let mut members: Vec<Vec<&PointRow>> = Vec::new();
    for row in &table.rows {
        let k = key(row);
        let group = match keys.iter().position(|known| *known == k) {
            Some(group) => group,
            None => {
                keys.push(k);
                members.push(Vec::new());
                keys.len() - 1
            }
        };
        if row.status == PointStatus::Finished {
            members[group].push(row);
        }
    }
    keys.into_iter()
        .zip(members)
        .map(|(k, rows)| {
            let intervals =
                (0..table.metrics.len()).map(|m| Interval::of(rows.iter().filter_map(|r| r.values[m]))).collect();
            (k, intervals)
        })
        .collect()
}

/// For each parameter, for each of its values in plan order.
pub fn by_parameter(table: &Table) -> Vec<ParameterGroup> {
    let mut groups = Vec::new();
    for (parameter, path) in table.parameters.iter().enumerate() {
        for (value, intervals) in grouped(table, |r| value_of(r, path).clone()) {
            groups.push(ParameterGroup { parameter, value, intervals });
        }
    }
    groups
}

/// For each parameter point in plan order (one group, every point, when
/// nothing is swept but the seed).
pub fn by_point(table: &Table) -> Vec<PointGroup> {
    let point = |r: &PointRow| table.parameters.iter().map(|p| value_of(r, p).clone()).collect::<Vec<_>>();
    grouped(table, point).into_iter().map(|(values, intervals)| PointGroup { values, intervals }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_of_three_values_is_the_one_worked_out_by_hand() {
        // 2, 4, 9: mean 5, sd √13 (squares 9 + 1 + 16 = 26, over 2),
        // t(0.975, 2) = 4.302653 (the usual tables), half width
        // 4.302653 · √(13 / 3) = 8.956686.
        let i = Interval::of([2.0, 4.0, 9.0]);
        assert_eq!((i.n, i.mean), (3, Some(5.0)));
        assert!((i.sd.unwrap() - 13f64.sqrt()).abs() < 1e-12);
        assert!((i.low.unwrap() - (5.0 - 8.956686)).abs() < 1e-5, "{i:?}");
        assert!((i.high.unwrap() - (5.0 + 8.956686)).abs() < 1e-5, "{i:?}");
    }

    #[test]
    fn few_or_no_finite_values_have_no_interval() {
        assert_eq!(Interval::of([]), Interval { n: 0, mean: None, sd: None, low: None, high: None });
        assert_eq!(Interval::of([3.0, f64::NAN]), Interval { n: 1, mean: Some(3.0), sd: None, low: None, high: None });
        let same = Interval::of([7.0, 7.0, f64::INFINITY]);
        assert_eq!((same.n, same.low, same.high), (2, Some(7.0), Some(7.0)));
    }

    #[test]
    fn values_near_the_largest_float_have_a_finite_mean() {
        let i = Interval::of([1e308, 1.797e308]);
        assert!(i.mean.is_some_and(|m| (m / 1.3985e308 - 1.0).abs() < 1e-12), "{i:?}");
        assert!(i.sd.is_some_and(f64::is_finite), "{i:?}");
    }
}
