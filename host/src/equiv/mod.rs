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
//!   versus found).
//! - [`swap`]: one node's implementation swapped, for comparing a
//!   scenario with itself.
//! - [`compare_trials`]: N runs per side with derived seeds, each metric's
//!   mean and 95% interval per side, and whether they agree: for runs with
//!   containers, which are only statistically reproducible.

mod canonical;
mod compare;
mod swap;
mod trials;

pub use canonical::{CanonicalDelivery, CanonicalRun, canonical};
pub use compare::{Difference, EquivOptions, PayloadMatch, compare};
pub use swap::{SwapError, swap};
pub use trials::{Interval, MetricTrials, compare_trials, inconsistent, interval, trial_seed};
