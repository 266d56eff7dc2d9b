//! What a sweep runs: the file's `sweep:` section with the command line's
//! `--seeds` and `--set` applied, expanded into parameter points (each a
//! list of overrides) and seeds. Point order: parameter points in grid
//! order (the first parameter slowest), seeds inner.

use crate::scenario::{self, ConfigValue, Override, SweepSpec, SweptParameter};

/// `--set PATH=V1,V2,...`: a path and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct SetArg {
    pub path: String,
    pub values: Vec<ConfigValue>,
}

/// Reads `PATH=V1,V2,...` (values as YAML scalars: `5` a number, `abc` text).
pub fn parse_set(text: &str) -> Result<SetArg, String> {
    let (path, values) = split_set(text)?;
    let values = values.split(',').map(scenario::parse_scalar).collect::<Result<Vec<_>, _>>()?;
    Ok(SetArg { path, values })
}

/// Reads `PATH=VALUE` (`run --set`: one value, commas and all).
pub fn parse_set_one(text: &str) -> Result<Override, String> {
    let (path, value) = split_set(text)?;
    Ok(Override { path, value: scenario::parse_scalar(&value)?, origin: None })
}

fn split_set(text: &str) -> Result<(String, String), String> {
    let Some((path, values)) = text.split_once('=') else {
        return Err(format!("'{text}' is not PATH=VALUE (e.g. gateway.config.window_s=5)"));
    };
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(format!("'{path}' is not a path: write the keys joined by dots, e.g. gateway.config.window_s"));
    }
    Ok((path.to_string(), values.to_string()))
}

/// What the command line changes of the file's `sweep:`.
#[derive(Debug, Clone, Default)]
pub struct SweepRequest {
    /// Replaces the file's seeds.
    pub seeds: Option<Vec<u64>>,
    /// Each adds a parameter, or replaces the values of one the file sweeps.
    pub sets: Vec<SetArg>,
}

/// A sweep expanded: its parameter names, parameter points and seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Expanded {
    /// The swept paths, in order (the first varies slowest).
    pub parameters: Vec<String>,
    /// Each parameter point's overrides, one per parameter, in that order.
    pub points: Vec<Vec<Override>>,
    pub seeds: Vec<u64>,
}

impl Expanded {
    /// How many runs: parameter points × seeds.
    pub fn len(&self) -> usize {
        self.points.len() * self.seeds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The file's spec (if any) with `request` applied; `scenario_seed` is
/// the one seed when neither gives seeds. The command line's mistakes are
/// refused here, with the fix: a path given twice, a value given twice,
/// more than [`scenario::MAX_SWEEP_POINTS`] points (counted before any is made).
pub fn expand(file: Option<&SweepSpec>, request: &SweepRequest, scenario_seed: u64) -> Result<Expanded, String> {
    for (i, s) in request.sets.iter().enumerate() {
        if request.sets[..i].iter().any(|earlier| earlier.path == s.path) {
            return Err(format!(
                "--set {} is given twice: give all its values in one --set {}=V1,V2,...",
                s.path, s.path
            ));
        }
        if s.path == "simulation.seed" {
            return Err(format!(
                "--set {}: the seed is not a parameter (every point runs its own seed): give the seeds with --seeds",
                s.path
            ));
        }
        if let Some(again) = scenario::repeated(&s.values) {
            return Err(format!(
                "--set {} gives the value {} twice: each value is one point (its seeds are the repeats)",
                s.path,
                scenario::scalar_text(again)
            ));
        }
    }
    let empty = SweepSpec::default();
    let file = file.unwrap_or(&empty);
    let seeds = request.seeds.clone().or_else(|| file.seeds.clone()).unwrap_or_else(|| vec![scenario_seed]);
    let set = |p: &SetArg| SweptParameter { path: p.path.clone(), values: p.values.clone(), origin: None };
    // The list form's points, each crossed with the grid below them.
    let (mut parameters, mut points): (Vec<String>, Vec<Vec<Override>>) = match &file.points {
        Some(list) => {
            let names = list.first().map(|p| p.iter().map(|o| o.path.clone()).collect()).unwrap_or_default();
            (names, list.clone())
        }
        None => (Vec::new(), vec![Vec::new()]),
    };
    let mut grid: Vec<SweptParameter> = file.grid.clone();
    for s in &request.sets {
        if let Some(existing) = grid.iter_mut().find(|p| p.path == s.path) {
            *existing = set(s);
        } else if parameters.contains(&s.path) {
            // A path of the list form: every point takes each value.
            for point in &mut points {
                point.retain(|o| o.path != s.path);
            }
            parameters.retain(|p| *p != s.path);
            grid.push(set(s));
        } else {
            grid.push(set(s));
        }
    }
    let count = grid
        .iter()
        .try_fold(points.len().checked_mul(seeds.len()), |n, p| Some(n?.checked_mul(p.values.len())))
        .flatten()
        .filter(|n| *n <= scenario::MAX_SWEEP_POINTS);
    if count.is_none() {
        let shown: Vec<String> = std::iter::once(points.len())
            .chain(grid.iter().map(|p| p.values.len()))
            .chain([seeds.len()])
            .map(|n| n.to_string())
            .collect();
        return Err(format!(
            "the sweep has {} points; at most {}: split it into sweeps of fewer seeds or values",
            shown.join(" × "),
            scenario::MAX_SWEEP_POINTS
        ));
    }
    for parameter in &grid {
        parameters.push(parameter.path.clone());
        points = points
            .iter()
            .flat_map(|point| {
                parameter.values.iter().map(move |value| {
                    let mut next = point.clone();
                    next.push(Override {
                        path: parameter.path.clone(),
                        value: value.clone(),
                        origin: parameter.origin,
                    });
                    next
                })
            })
            .collect();
    }
    Ok(Expanded { parameters, points, seeds })
}

/// A parameter point as a person reads it: `{window_s = 5, duration_s = 30}`.
pub fn shown(point: &[Override]) -> String {
    let parts: Vec<String> =
        point.iter().map(|o| format!("{} = {}", o.path, scenario::scalar_text(&o.value))).collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(path: &str, values: &[i64]) -> SweptParameter {
        SweptParameter {
            path: path.to_string(),
            values: values.iter().map(|v| ConfigValue::Integer(*v)).collect(),
            origin: None,
        }
    }

    fn values(e: &Expanded) -> Vec<Vec<String>> {
        e.points.iter().map(|p| p.iter().map(|o| format!("{}={}", o.path, o.value)).collect()).collect()
    }

    #[test]
    fn a_grid_varies_its_first_parameter_slowest() {
        let spec = SweepSpec {
            seeds: Some(vec![1, 2]),
            grid: vec![grid("a.x", &[1, 2]), grid("b.y", &[7, 8, 9])],
            points: None,
        };
        let e = expand(Some(&spec), &SweepRequest::default(), 0).unwrap();
        assert_eq!(e.parameters, ["a.x", "b.y"]);
        assert_eq!(e.len(), 12);
        assert_eq!(values(&e)[0], ["a.x=1", "b.y=7"]);
        assert_eq!(values(&e)[1], ["a.x=1", "b.y=8"]);
        assert_eq!(values(&e)[3], ["a.x=2", "b.y=7"]);
    }

    #[test]
    fn the_command_line_replaces_seeds_and_a_parameter_s_values_and_adds_parameters() {
        let spec = SweepSpec { seeds: Some(vec![1, 2]), grid: vec![grid("a.x", &[1, 2])], points: None };
        let request = SweepRequest {
            seeds: Some(vec![5]),
            sets: vec![parse_set("a.x=3,4,5").unwrap(), parse_set("simulation.duration_s=1.5").unwrap()],
        };
        let e = expand(Some(&spec), &request, 0).unwrap();
        assert_eq!(e.seeds, [5]);
        assert_eq!(e.parameters, ["a.x", "simulation.duration_s"]);
        assert_eq!(
            values(&e),
            [
                ["a.x=3", "simulation.duration_s=1.5"],
                ["a.x=4", "simulation.duration_s=1.5"],
                ["a.x=5", "simulation.duration_s=1.5"]
            ]
        );
        // No sweep at all: one point, the scenario's own seed.
        let e = expand(None, &SweepRequest::default(), 42).unwrap();
        assert_eq!((e.points.len(), e.seeds.clone()), (1, vec![42]));
    }

    #[test]
    fn a_set_value_is_a_yaml_scalar_and_a_bad_set_says_so() {
        assert_eq!(
            parse_set("g.config.mode=fast,slow").unwrap().values,
            [ConfigValue::Text("fast".into()), ConfigValue::Text("slow".into())]
        );
        assert_eq!(parse_set_one("g.config.label=a,b").unwrap().value, ConfigValue::Text("a,b".into()));
        assert_eq!(parse_set_one("g.config.on=true").unwrap().value, ConfigValue::Bool(true));
        assert!(parse_set("window_s").unwrap_err().contains("is not PATH=VALUE"));
        assert!(parse_set("g..x=1").unwrap_err().contains("is not a path"));
        for hidden in ["g.x=1 # c", "g.x=&a 1", "g.x=*a", "g.x=!!str 5"] {
            assert!(parse_set(hidden).unwrap_err().contains("holds YAML syntax"), "{hidden}");
        }
        assert_eq!(parse_set("g.x=a#b").unwrap().values, [ConfigValue::Text("a#b".into())]);
        assert!(parse_set("g.x=").unwrap_err().contains("no value"));
    }

    #[test]
    fn a_path_or_value_given_twice_the_seed_or_too_many_points_are_refused() {
        let request =
            |sets: &[&str]| SweepRequest { seeds: None, sets: sets.iter().map(|s| parse_set(s).unwrap()).collect() };
        let e = expand(None, &request(&["a.x=1,2", "a.x=3"]), 0).unwrap_err();
        assert!(e.contains("--set a.x is given twice"), "{e}");
        let e = expand(None, &request(&["a.x=1,1.0,5"]), 0).unwrap_err();
        assert!(e.contains("gives the value 1 twice"), "{e}");
        let e = expand(None, &request(&["simulation.seed=1,2"]), 0).unwrap_err();
        assert!(e.contains("--seeds"), "{e}");
        // 100^5 points: refused before one is made (this would take gigabytes).
        let v = (1..=100).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let sets: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|p| format!("{p}.x={v}")).collect();
        let e = expand(None, &request(&sets.iter().map(String::as_str).collect::<Vec<_>>()), 0).unwrap_err();
        assert!(e.contains("1 × 100 × 100 × 100 × 100 × 100 × 1 points; at most 100000"), "{e}");
        // usize overflow too.
        let big = SweepRequest {
            seeds: Some((0..1000).collect()),
            sets: request(&sets.iter().map(String::as_str).collect::<Vec<_>>()).sets,
        };
        assert!(expand(None, &big, 0).is_err());
    }
}
