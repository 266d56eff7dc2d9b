//! `sweep:`: its seeds, and a grid (`parameters:`) or a list (`points:`)
//! of scalar values. Whether each path leads somewhere is checked by
//! setting it (`scenario::load`), each point's values by planning it.

use std::collections::BTreeSet;

use super::Checker;
use crate::scenario::config_value::ConfigValue;
use crate::scenario::manifest::Scenario;
use crate::scenario::sweep_section::{MAX_SWEEP_POINTS, Ordered, is_scalar, repeated, scalar_text, seeds_of};

/// Whether two points of a list set the same values (in any order).
fn same_point(a: &Ordered<ConfigValue>, b: &Ordered<ConfigValue>) -> bool {
    a.0.len() == b.0.len()
        && a.0.iter().all(|(k, v)| b.0.iter().any(|(l, w)| k == l && repeated(&[v.clone(), w.clone()]).is_some()))
}

impl Checker<'_> {
    pub(super) fn sweep(&mut self, scenario: &Scenario) {
        const EMPTY_HELP: &str = "give `parameters:` (a grid: `parameters: {gateway.config.window_s: [1, 5]}`), `points:` or `seeds:`, or remove `sweep:`";
        let Some(sweep) = &scenario.sweep else {
            if self.spans.key("sweep").is_some() {
                self.key_error("sweep", None, "`sweep:` is empty: it sweeps nothing", EMPTY_HELP);
            }
            return;
        };
        if sweep.seeds.is_none() && sweep.parameters.is_none() && sweep.points.is_none() {
            self.key_error("sweep", None, "`sweep:` is empty: it sweeps nothing", EMPTY_HELP);
        }
        let seed_help =
            "every point runs its own seed: list them in `sweep.seeds:` (or give --seeds), not as a parameter";
        let mut seeds = 1usize;
        if let Some(value) = &sweep.seeds {
            match seeds_of(value) {
                Ok(s) => seeds = s.len(),
                Err(e) => self.error(
                    "sweep.seeds",
                    None,
                    format!("sweep seeds: {e}"),
                    "write `seeds: 1..20` (inclusive), `seeds: [1, 2, 7]` or one number",
                ),
            }
        }
        let points = match (&sweep.parameters, &sweep.points) {
            (Some(_), Some(_)) => {
                self.key_error(
                    "sweep.points",
                    None,
                    "`sweep:` has both `parameters:` (a grid) and `points:` (a list of points)",
                    "keep one: a grid of every combination, or the list of points to run",
                );
                1
            }
            (Some(grid), None) => {
                if grid.0.is_empty() {
                    self.error("sweep.parameters", None, "`sweep.parameters:` is empty", EMPTY_HELP);
                }
                let mut product = 1usize;
                for (path, values) in &grid.0 {
                    let at = format!("sweep.parameters.{path}");
                    if values.is_empty() {
                        self.error(
                            &at,
                            None,
                            format!("sweep parameter '{path}' has no values"),
                            "give a list: `[1, 5, 10]`",
                        );
                    }
                    if let Some(v) = values.iter().find(|v| !is_scalar(v)) {
                        self.error(
                            &at,
                            None,
                            format!("sweep parameter '{path}': {} is not a single value", scalar_text(v)),
                            "a sweep sets scalars (numbers, text, true/false); set the keys inside a list or map one by one",
                        );
                    }
                    if path == "simulation.seed" {
                        self.key_error(&at, None, "the seed cannot be a sweep parameter", seed_help);
                    }
                    if let Some(again) = repeated(values) {
                        self.error(
                            &at,
                            None,
                            format!("sweep parameter '{path}' has the value {} twice", scalar_text(again)),
                            "give each value once: every value is one point, and its seeds are its repeats",
                        );
                    }
                    product = product.saturating_mul(values.len().max(1));
                }
                product
            }
            (None, Some(list)) => {
                if list.is_empty() {
                    self.error(
                        "sweep.points",
                        None,
                        "`sweep.points:` is empty",
                        "list the points, or remove `points:`",
                    );
                }
                let first: BTreeSet<&str> =
                    list.first().map(|p| p.0.iter().map(|(k, _)| k.as_str()).collect()).unwrap_or_default();
                for (i, point) in list.iter().enumerate() {
                    let at = format!("sweep.points[{i}]");
                    if point.0.is_empty() {
                        self.error(
                            &at,
                            None,
                            format!("sweep point {i} sets nothing"),
                            "give each point the values it sets, e.g. `- {gateway.config.window_s: 5}`",
                        );
                    }
                    if point.0.iter().any(|(k, _)| k == "simulation.seed") {
                        self.key_error(
                            &format!("{at}.simulation.seed"),
                            None,
                            "the seed cannot be a sweep parameter",
                            seed_help,
                        );
                    }
                    if let Some(j) = list[..i].iter().position(|earlier| same_point(earlier, point)) {
                        self.error(
                            &at,
                            None,
                            format!("sweep point {i} is point {j} again"),
                            "list each point once: its seeds are its repeats",
                        );
                    }
                    let keys: BTreeSet<&str> = point.0.iter().map(|(k, _)| k.as_str()).collect();
                    if keys != first {
                        let shown = |k: &BTreeSet<&str>| k.iter().copied().collect::<Vec<_>>().join(", ");
                        self.error(
                            &at,
                            None,
                            format!(
                                "sweep point {i} sets {{{}}} where point 0 sets {{{}}}",
                                shown(&keys),
                                shown(&first)
                            ),
                            "every point sets the same paths (the table has a column per path)",
                        );
                    }
                    if let Some((path, v)) = point.0.iter().find(|(_, v)| !is_scalar(v)) {
                        self.error(
                            &format!("{at}.{path}"),
                            None,
                            format!("sweep point {i}: '{path}' = {} is not a single value", scalar_text(v)),
                            "a sweep sets scalars (numbers, text, true/false)",
                        );
                    }
                }
                list.len()
            }
            (None, None) => 1,
        };
        if points.saturating_mul(seeds) > MAX_SWEEP_POINTS {
            self.error(
                "sweep",
                None,
                format!("the sweep has {} points; at most {MAX_SWEEP_POINTS}", points.saturating_mul(seeds)),
                "split it into sweeps of fewer seeds or values",
            );
        }
    }
}
