//! Equivalence: showing, by running, that two implementations of a node
//! behave the same.
//!
//! - [`canonical`]: a run reduced to what is functionally meaningful —
//!   which messages reached which node, with which payloads, in which
//!   order per destination; each node's model metrics and message counts;
//!   drops by reason — leaving out what legitimately differs (wall times,
//!   paths, image and container ids, sandbox mode, log text, fuel, round
//!   trips, and how many times a node was stepped).
//! - [`compare`]: two canonical runs compared under [`EquivOptions`],
//!   giving the first differences in words (node, virtual time, expected
//!   versus found); JSON payloads' numbers within a tolerance per field.
//! - [`swap`]: one node's implementation swapped, for comparing a
//!   scenario with itself.
//! - [`run_sides`]: the runs of both sides, once or N trials each,
//!   spread over threads and reduced to canonical runs.
//! - [`compare_trials`]: N runs per side with derived seeds, every metric
//!   compared as a distribution — equivalent within a stated margin by
//!   two one-sided tests ([`welch`]), or different by Welch's test — for
//!   runs with containers, which are only statistically reproducible;
//!   and, when asked, each pair of trials' messages ([`payload_differences`]).
//! - [`student_t`]: the t distribution those tests need.
//! - [`latency`]: end-to-end latency at the sinks, side by side (nearest-rank
//!   percentiles, the share of deadline misses), for placement studies.

mod canonical;
mod compare;
pub mod latency;
mod schedule;
pub use crate::student_t;
mod swap;
mod trials;
mod welch;

pub use canonical::{CanonicalDelivery, CanonicalRun, canonical};
pub use compare::{Difference, EquivOptions, PayloadMatch, compare, payload_differences};
pub use schedule::{Runs, Side, SideError, run_dir, run_order, run_sides};
pub use swap::{SwapError, swap};
pub use trials::{
    COUNT_METRIC, MEAN_TIME_METRIC, MetricTrials, NETWORK, PayloadTrials, StatedMargin, TrialDifference, TrialRules,
    TrialTest, TrialsError, TrialsOutcome, Verdict, compare_trials, trial_seed,
};
pub use welch::{Sample, Tost, Welch, holm, tost, welch};
