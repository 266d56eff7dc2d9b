//! `cpu:` on a node, resolved: how fast its CPU is, in WASM instructions
//! (units of fuel) per virtual microsecond, and the named profiles.
//!
//! A step's compute time is ceil(fuel / instructions_per_us) µs. So that
//! the arithmetic is exact and the same on every machine, the speed is
//! kept as a whole number of instructions per millisecond (instructions
//! per µs in fixed point with three decimals) and the cost is computed in
//! integers: ceil(fuel × 1000 / instructions_per_ms).

use serde::Serialize;

/// The named profiles, `(name, instructions per ms)`: `cloud_vm` is the
/// native speed of the built-in gateway's code on the machine the project
/// was calibrated on (`--bench compute`), `edge_gateway` that times a
/// Raspberry Pi 4's single-core sysbench score over that machine's
/// (docs/running.md, "Calibration").
pub const CPU_PROFILES: &[(&str, u64)] = &[("cloud_vm", 16_000_000), ("edge_gateway", 9_750_000)];

/// Most instructions per µs a node may be given (a bound that keeps
/// `fuel × 1000` and the speed well inside 64 bits).
pub const MAX_INSTRUCTIONS_PER_US: u64 = 1_000_000_000;

/// A node's CPU speed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuSpeed {
    /// The profile it came from, if it was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// WASM instructions (units of fuel) per virtual millisecond: the
    /// written `instructions_per_us` × 1000, a whole number.
    pub instructions_per_ms: u64,
}

impl CpuSpeed {
    /// The profile `name`, if there is one.
    pub fn profile(name: &str) -> Option<CpuSpeed> {
        let &(name, instructions_per_ms) = CPU_PROFILES.iter().find(|(n, _)| *n == name)?;
        Some(CpuSpeed { profile: Some(name.to_string()), instructions_per_ms })
    }

    /// The names of the profiles, for messages.
    pub fn profile_names() -> Vec<&'static str> {
        CPU_PROFILES.iter().map(|(name, _)| *name).collect()
    }

    /// The virtual µs `fuel` units of work take: rounded up, so any work
    /// at all takes at least 1 µs, and none takes none.
    pub fn compute_us(&self, fuel: u64) -> u64 {
        let scaled = u128::from(fuel) * 1000;
        let speed = u128::from(self.instructions_per_ms.max(1));
        u64::try_from(scaled.div_ceil(speed)).unwrap_or(u64::MAX)
    }
}

/// `instructions_per_us` as written, in instructions per ms, if it is a
/// positive number with at most three decimals, at most
/// [`MAX_INSTRUCTIONS_PER_US`].
pub fn instructions_per_ms(per_us: f64) -> Option<u64> {
    if !per_us.is_finite() || per_us <= 0.0 || per_us > MAX_INSTRUCTIONS_PER_US as f64 {
        return None;
    }
    let per_ms = (per_us * 1000.0).round();
    // Exact when the written number has at most three decimals: both sides
    // are then the double nearest to the same decimal.
    (per_ms >= 1.0 && per_ms / 1000.0 == per_us).then_some(per_ms as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_time_is_fuel_over_speed_rounded_up() {
        let cpu = CpuSpeed { profile: None, instructions_per_ms: 2_500 };
        assert_eq!(cpu.compute_us(0), 0);
        assert_eq!(cpu.compute_us(1), 1);
        assert_eq!(cpu.compute_us(5), 2);
        assert_eq!(cpu.compute_us(6), 3);
        assert_eq!(cpu.compute_us(u64::MAX), 7_378_697_629_483_820_646, "no overflow");
    }

    #[test]
    fn written_speeds_are_kept_exactly_or_refused() {
        assert_eq!(instructions_per_ms(1.0), Some(1_000));
        assert_eq!(instructions_per_ms(0.1), Some(100));
        assert_eq!(instructions_per_ms(2.125), Some(2_125));
        assert_eq!(instructions_per_ms(0.0005), None, "more than three decimals");
        assert_eq!(instructions_per_ms(1.0001), None);
        assert_eq!(instructions_per_ms(0.0), None);
        assert_eq!(instructions_per_ms(-3.0), None);
        assert_eq!(instructions_per_ms(f64::NAN), None);
        assert_eq!(instructions_per_ms(2e9), None);
        assert!(CpuSpeed::profile("edge_gateway").is_some() && CpuSpeed::profile("edge").is_none());
    }
}
