//! The one check of a run's virtual length, for the scenario file, the
//! command line and the library alike: a value one of them refuses, none
//! accepts.

/// The longest run: a year of virtual time.
pub const MAX_DURATION_S: f64 = 365.0 * 24.0 * 3600.0;

/// A virtual length that is not a run's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("duration_s must be greater than 0 and at most {MAX_DURATION_S} (a year); found {0}")]
pub struct DurationError(pub String);

/// `x` as a person wrote it: `1e300`, not three hundred digits.
fn show(x: f64) -> String {
    if x.is_finite() && x != 0.0 && !(1e-3..1e15).contains(&x.abs()) { format!("{x:e}") } else { x.to_string() }
}

/// `seconds` of virtual time in microseconds, the engine's resolution.
pub fn duration_us(seconds: f64) -> Result<u64, DurationError> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_DURATION_S) {
        return Err(DurationError(show(seconds)));
    }
    let us = (seconds * 1e6).round();
    if us < 1.0 {
        return Err(DurationError(format!("{}, less than virtual time's 1 µs resolution", show(seconds))));
    }
    Ok(us as u64)
}

/// `seconds` (already checked) to whole microseconds.
pub(super) fn whole_us(seconds: f64) -> u64 {
    (seconds * 1e6).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(duration_us(10.0), Ok(10_000_000));
        assert_eq!(duration_us(1.5e-6), Ok(2));
        assert_eq!(duration_us(MAX_DURATION_S), Ok(31_536_000_000_000));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300, 31_536_001.0, 1e-9] {
            assert!(duration_us(bad).is_err(), "{bad}");
        }
        assert!(duration_us(1e-9).unwrap_err().to_string().contains("less than virtual time's 1 µs resolution"));
    }
}
