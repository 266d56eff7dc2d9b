//! [`Margin`]: how far apart two sides' means of a metric may be for
//! `xedgesim equiv --trials` to call them equivalent — an absolute amount
//! (`500`) or a percentage of side A's mean (`"5%"`), as the user states
//! it in the `equivalence:` section or on the command line.

use serde::Serialize;

use super::config_value::ConfigValue;

/// The fewest trials per side an equivalence test decides on; a file or
/// the command line may ask for more, never fewer.
pub const MIN_TRIALS_FLOOR: u32 = 5;

/// An equivalence margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Margin {
    /// This much, in the metric's own unit.
    Absolute(f64),
    /// This percentage of side A's mean.
    Percent(f64),
}

/// A margin that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a margin is a number >= 0 (in the metric's unit) or a percentage of A's mean such as '5%'; found '{0}'")]
pub struct MarginError(pub String);

impl Margin {
    /// `500`, `0.5` or `5%`.
    pub fn parse(text: &str) -> Result<Margin, MarginError> {
        let bad = || MarginError(text.to_string());
        let trimmed = text.trim();
        let (number, relative) = match trimmed.strip_suffix('%') {
            Some(n) => (n.trim_end(), true),
            None => (trimmed, false),
        };
        let value: f64 = number.parse().map_err(|_| bad())?;
        if !(value.is_finite() && value >= 0.0) {
            return Err(bad());
        }
        Ok(if relative { Margin::Percent(value) } else { Margin::Absolute(value) })
    }

    /// A scenario file's value: a number (absolute) or a text such as `5%`.
    pub fn from_config(value: &ConfigValue) -> Result<Margin, MarginError> {
        match value {
            ConfigValue::Integer(i) => Margin::parse(&i.to_string()),
            ConfigValue::Float(f) if f.is_finite() && *f >= 0.0 => Ok(Margin::Absolute(*f)),
            ConfigValue::Text(text) => Margin::parse(text),
            other => Err(MarginError(other.to_string())),
        }
    }

    /// The margin in the metric's unit, for a metric whose mean on side A is `mean_a`.
    pub fn amount(&self, mean_a: f64) -> f64 {
        match self {
            Margin::Absolute(v) => *v,
            Margin::Percent(p) => p / 100.0 * mean_a.abs(),
        }
    }
}

impl std::fmt::Display for Margin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Margin::Absolute(v) => write!(f, "{v}"),
            Margin::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for Margin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Margin::Absolute(v) => serializer.serialize_f64(*v),
            Margin::Percent(_) => serializer.serialize_str(&self.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_read_as_amounts_or_percentages() {
        assert_eq!(Margin::parse("500"), Ok(Margin::Absolute(500.0)));
        assert_eq!(Margin::parse(" 5% "), Ok(Margin::Percent(5.0)));
        assert_eq!(Margin::parse("0.5 %"), Ok(Margin::Percent(0.5)));
        for bad in ["-1", "5%%", "five", "", "%", "inf", "NaN"] {
            assert!(Margin::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Margin::Percent(5.0).amount(-200.0), 10.0);
        assert_eq!((Margin::Percent(7.0).to_string(), Margin::Absolute(0.5).to_string()), ("7%".into(), "0.5".into()));
        assert_eq!(Margin::from_config(&ConfigValue::Integer(500)), Ok(Margin::Absolute(500.0)));
        assert_eq!(Margin::from_config(&ConfigValue::Text("5%".into())), Ok(Margin::Percent(5.0)));
        assert!(Margin::from_config(&ConfigValue::Float(-0.1)).is_err());
        assert!(Margin::from_config(&ConfigValue::Bool(true)).is_err());
    }
}
