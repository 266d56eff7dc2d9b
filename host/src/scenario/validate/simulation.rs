//! `simulation:`: the run's length, time quantum and fault policy.

use super::Checker;
use crate::scenario::manifest::Scenario;
use crate::scenario::resolved::FaultPolicy;
use crate::scenario::suggest;

impl Checker<'_> {
    pub(super) fn simulation(&mut self, scenario: &Scenario) {
        let Some(sim) = &scenario.simulation else { return };
        if let Some(Err(e)) = sim.duration_s.map(crate::scenario::duration::duration_us) {
            self.error(
                "simulation.duration_s",
                None,
                e.to_string(),
                "set the virtual run length in seconds, e.g. `duration_s: 10`",
            );
        }
        if sim.time_quantum_us == Some(0) {
            self.error(
                "simulation.time_quantum_us",
                None,
                "time_quantum_us must be greater than 0",
                "omit it (default 1000) or give the time resolution in microseconds",
            );
        }
        self.fault_policy("simulation.on_fault", None, sim.on_fault.as_deref());
    }

    pub(super) fn fault_policy(&mut self, path: &str, node: Option<&str>, value: Option<&str>) {
        if let Some(v) = value
            && FaultPolicy::from_name(v).is_none()
        {
            self.error(
                path,
                node,
                format!("on_fault must be one of {}; found '{v}'", FaultPolicy::NAMES.join(", ")),
                suggest::did_you_mean(v, FaultPolicy::NAMES),
            );
        }
    }
}
