//! [`Running`]: which node's code a store's guest is running, and the fuel
//! account it runs on.
//!
//! A shared instance runs many nodes, and each must get what it would get
//! alone: its own random stream, its own log lines and log budget, its own
//! fuel budget, and the blame for its own faults. The guest says whose
//! code runs through `xedgesim:node/sandbox` (`enter(call)`, `leave()`);
//! this is the bookkeeping behind those calls. Between `enter` and `leave`
//! the store's fuel is the entered node's step budget; outside them
//! (lifting arguments, the guest's batch loop) it is the call's outside
//! allowance, which an `enter` sets aside and `leave` gives back. So each
//! node's fuel use is measured from its own code only, and is the same
//! whether it runs alone or packed with others.

/// One node's part of a guest call.
#[derive(Debug, Clone, Copy)]
pub struct Part {
    /// The node's index in its group.
    pub slot: usize,
    /// Its fuel budget for this call.
    pub budget: u64,
    /// Fuel its own code used, once entered and left.
    pub fuel_used: Option<u64>,
}

/// The guest call in progress, if any.
#[derive(Debug, Default)]
pub struct Running {
    parts: Vec<Part>,
    /// The part being run, between `enter` and `leave`.
    inside: Option<usize>,
    /// Parts below this may no longer be entered (each is entered once, in order).
    next: usize,
    /// The outside allowance left when the inside part was entered.
    outside_left: u64,
}

/// How a guest broke the `sandbox` protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("xedgesim: {0}")]
pub struct SandboxMisuse(pub String);

impl Running {
    /// Starts a guest call made of `parts`, in call order.
    pub fn begin(&mut self, parts: impl IntoIterator<Item = (usize, u64)>) {
        self.parts.clear();
        self.parts.extend(parts.into_iter().map(|(slot, budget)| Part { slot, budget, fuel_used: None }));
        self.inside = None;
        self.next = 0;
        self.outside_left = 0;
    }

    /// Ends the guest call; each part's fuel use, if its code was entered.
    pub fn end(&mut self, fuel_left: u64) -> Vec<Part> {
        if self.inside.is_some() {
            // Entered but never left (its code returned straight to the host):
            // what it used so far is its own.
            let _ = self.leave(fuel_left);
        }
        std::mem::take(&mut self.parts)
    }

    /// The node whose code runs now: the entered part's, else the call's
    /// first (a guest that never enters runs as its first node).
    pub fn owner(&self) -> Option<usize> {
        self.parts.get(self.inside.unwrap_or(0)).map(|p| p.slot)
    }

    /// The entered part's index in the call, if any.
    pub fn inside(&self) -> Option<usize> {
        self.inside
    }

    /// `enter(call)`: returns the fuel to give the guest now.
    pub fn enter(&mut self, call: u32, fuel_left: u64) -> Result<u64, SandboxMisuse> {
        let call = call as usize;
        if let Some(inside) = self.inside {
            return Err(SandboxMisuse(format!("`enter({call})` while call {inside} was entered and not left")));
        }
        if call >= self.parts.len() {
            let n = self.parts.len();
            return Err(SandboxMisuse(format!("`enter({call})` in a call with {n} node(s)")));
        }
        if call < self.next {
            return Err(SandboxMisuse(format!("`enter({call})` again: each call is entered once, in order")));
        }
        self.inside = Some(call);
        self.next = call + 1;
        self.outside_left = fuel_left;
        Ok(self.parts[call].budget)
    }

    /// `leave()`: returns the fuel to give the guest now.
    pub fn leave(&mut self, fuel_left: u64) -> Result<u64, SandboxMisuse> {
        let Some(inside) = self.inside.take() else {
            return Err(SandboxMisuse("`leave()` without `enter`".to_string()));
        };
        let part = &mut self.parts[inside];
        part.fuel_used = Some(part.budget.saturating_sub(fuel_left));
        Ok(self.outside_left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_is_charged_its_own_code_only() {
        let mut r = Running::default();
        r.begin([(4, 100), (7, 50)]);
        assert_eq!(r.owner(), Some(4));
        // 30 fuel spent outside, then node 4 spends 60 of its 100.
        assert_eq!(r.enter(0, 170), Ok(100));
        assert_eq!(r.leave(40), Ok(170));
        assert_eq!(r.enter(1, 165), Ok(50));
        assert_eq!(r.owner(), Some(7));
        assert_eq!(r.leave(50), Ok(165));
        let parts = r.end(160);
        assert_eq!(parts.iter().map(|p| p.fuel_used).collect::<Vec<_>>(), [Some(60), Some(0)]);
    }

    #[test]
    fn out_of_order_repeated_and_nested_enters_are_refused() {
        let mut r = Running::default();
        r.begin([(0, 10), (1, 10)]);
        assert!(r.enter(2, 5).is_err());
        assert_eq!(r.enter(1, 5), Ok(10));
        assert!(r.enter(0, 5).unwrap_err().0.contains("was entered and not left"));
        r.leave(3).unwrap();
        assert!(r.enter(0, 5).unwrap_err().0.contains("again"));
        assert!(r.leave(5).is_err());
    }
}
