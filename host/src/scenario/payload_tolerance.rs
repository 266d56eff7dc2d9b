//! [`PayloadTolerance`]: how far apart the numbers of one field of two
//! JSON payloads may be for `xedgesim equiv` to count them equal — an
//! absolute and a relative bound, either of which suffices — as the user
//! states it in `equivalence.payload_tolerance` or with
//! `--payload-tolerance FIELD=ABS[,REL]`.
//!
//! A field is named by its object keys from the payload's top, joined by
//! `.` (`prediction`, `stats.mean`); arrays add nothing to the name, so a
//! tolerance on `features` covers every number of the array `features`.
//! A tolerance covers every number at or below its field; the longest
//! name that applies wins.

use serde::Serialize;

/// The bounds of one field: numbers x and y count equal when
/// |x − y| <= abs or |x − y| <= rel × max(|x|, |y|).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PayloadTolerance {
    pub abs: f64,
    pub rel: f64,
}

/// A tolerance or a field name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadToleranceError {
    #[error(
        "a payload field is named by its keys from the payload's top, joined by '.' (e.g. 'prediction' or 'stats.mean'); found '{0}'"
    )]
    Field(String),
    #[error("the {bound} tolerance must be a number >= 0; found {value}")]
    Bound { bound: &'static str, value: String },
    #[error("a tolerance needs `abs`, `rel` or both")]
    NoBound,
}

impl PayloadTolerance {
    /// From the bounds given (a missing one is 0), each a number >= 0.
    pub fn new(abs: Option<f64>, rel: Option<f64>) -> Result<PayloadTolerance, PayloadToleranceError> {
        if abs.is_none() && rel.is_none() {
            return Err(PayloadToleranceError::NoBound);
        }
        for (bound, value) in [("abs", abs), ("rel", rel)] {
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(PayloadToleranceError::Bound { bound, value: v.to_string() });
            }
        }
        Ok(PayloadTolerance { abs: abs.unwrap_or(0.0), rel: rel.unwrap_or(0.0) })
    }

    /// A field name: keys joined by `.`, none of them empty.
    pub fn check_field(name: &str) -> Result<(), PayloadToleranceError> {
        if name.split('.').any(|key| key.trim().is_empty()) {
            return Err(PayloadToleranceError::Field(name.to_string()));
        }
        Ok(())
    }

    /// `--payload-tolerance`'s `FIELD=ABS[,REL]`.
    pub fn parse_flag(spec: &str) -> Result<(String, PayloadTolerance), PayloadToleranceError> {
        let (field, bounds) = spec.split_once('=').ok_or_else(|| PayloadToleranceError::Field(spec.to_string()))?;
        PayloadTolerance::check_field(field)?;
        let (abs, rel) = match bounds.split_once(',') {
            Some((abs, rel)) => (abs, Some(rel)),
            None => (bounds, None),
        };
        let number = |bound: &'static str, text: &str| {
            text.trim()
                .parse::<f64>()
                .map_err(|_| PayloadToleranceError::Bound { bound, value: format!("'{}'", text.trim()) })
        };
        let tolerance = PayloadTolerance::new(Some(number("abs", abs)?), rel.map(|r| number("rel", r)).transpose()?)?;
        Ok((field.to_string(), tolerance))
    }

    /// Whether `x` and `y` count equal under these bounds (NaN never does;
    /// an infinity only equals itself).
    pub fn allows(&self, x: f64, y: f64) -> bool {
        if x == y {
            return true;
        }
        if !(x.is_finite() && y.is_finite()) {
            return false;
        }
        self.within((x - y).abs(), x.abs().max(y.abs()))
    }

    /// Whether a difference of `gap` between numbers the larger of which
    /// is `larger` in magnitude is within either bound.
    pub fn within(&self, gap: f64, larger: f64) -> bool {
        gap <= self.abs || gap <= self.rel * larger
    }
}

impl std::fmt::Display for PayloadTolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.abs > 0.0, self.rel > 0.0) {
            (true, true) => write!(f, "abs {:e} or rel {:e}", self.abs, self.rel),
            (false, true) => write!(f, "rel {:e}", self.rel),
            _ => write!(f, "abs {:e}", self.abs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_bound_suffices_and_non_finite_numbers_only_equal_themselves() {
        let t = PayloadTolerance::new(Some(1e-6), Some(1e-3)).unwrap();
        assert!(t.allows(0.0, 1e-6), "within abs");
        assert!(!t.allows(0.0, 2e-6), "outside both: rel of 2e-6 is 2e-9");
        assert!(t.allows(1000.0, 1000.9), "within rel of the larger");
        assert!(!t.allows(1000.0, 1001.1));
        assert!(!t.allows(f64::NAN, f64::NAN));
        assert!(t.allows(f64::INFINITY, f64::INFINITY));
        assert!(!t.allows(f64::INFINITY, f64::MAX));
        assert_eq!(t.to_string(), "abs 1e-6 or rel 1e-3");
        assert_eq!(PayloadTolerance::new(None, Some(0.5)).unwrap().to_string(), "rel 5e-1");
    }

    #[test]
    fn flags_and_bounds_are_checked() {
        let (field, t) = PayloadTolerance::parse_flag("stats.mean=1e-6,1e-5").unwrap();
        assert_eq!((field.as_str(), t), ("stats.mean", PayloadTolerance { abs: 1e-6, rel: 1e-5 }));
        assert_eq!(PayloadTolerance::parse_flag("p=0.5").unwrap().1, PayloadTolerance { abs: 0.5, rel: 0.0 });
        let error = |spec: &str| PayloadTolerance::parse_flag(spec).unwrap_err().to_string();
        assert_eq!(error("p=-1"), "the abs tolerance must be a number >= 0; found -1");
        assert_eq!(error("p=0,NaN"), "the rel tolerance must be a number >= 0; found NaN");
        assert_eq!(error("p=x"), "the abs tolerance must be a number >= 0; found 'x'");
        assert!(error("p").contains("found 'p'"), "{}", error("p"));
        assert!(error("a..b=1").contains("found 'a..b'"));
        assert_eq!(PayloadTolerance::new(None, None), Err(PayloadToleranceError::NoBound));
        assert!(PayloadTolerance::new(Some(f64::INFINITY), None).is_err());
    }
}
