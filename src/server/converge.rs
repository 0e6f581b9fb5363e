//! When a load point may end early: its p99 has converged.
//!
//! A point's verdict rests on its p99 (from the due time). Once the
//! histogram holds enough samples for its 1 % tail to be tens of requests,
//! and the p99 has moved by less than [`Convergence::tolerance`] over the
//! last [`Convergence::every`] twice in a row, with no request waiting
//! longer than that p99 (a stalled server completes nothing, so its
//! histogram would look "stable"), more measuring only repeats what the
//! histogram already says. The point then ends, and its record says how
//! long it measured and that it converged. A point that never converges
//! runs its whole planned time.

use std::time::Duration;

/// When a load run may stop before its planned duration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Convergence {
    /// Never stop before this much measured time.
    pub min: Duration,
    /// How often the p99 is compared with its previous value.
    pub every: Duration,
    /// Largest relative change of the p99 between checks that counts as converged.
    pub tolerance: f64,
    /// Fewest measured samples: the 1 % tail must hold at least a tenth of this.
    pub min_samples: u64,
}

impl Convergence {
    /// The lab's rule, stopping no earlier than `min`: the p99 checked every
    /// 250 ms, steady within 2 %, over at least 1,000 samples (a tail of ten).
    pub fn after(min: Duration) -> Convergence {
        Convergence {
            min,
            every: Duration::from_millis(250),
            tolerance: 0.02,
            min_samples: 1_000,
        }
    }
}

/// The running check: fed the histogram's state at each check.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    last_p99_us: Option<u64>,
    steady_checks: u32,
}

/// Checks in a row whose p99 stayed within the tolerance.
const STEADY_CHECKS: u32 = 2;

impl Tracker {
    /// One check: `samples` measured so far, their `p99_us`, and how long
    /// the oldest request still unanswered has waited since it was due.
    /// True when the point may end.
    pub fn converged(
        &mut self,
        rule: &Convergence,
        samples: u64,
        p99_us: u64,
        oldest_waiting_us: u64,
    ) -> bool {
        let steady = self.last_p99_us.is_some_and(|last| {
            let change = (p99_us as f64 - last as f64).abs() / (last.max(1) as f64);
            change <= rule.tolerance
        });
        self.last_p99_us = Some(p99_us);
        if steady && samples >= rule.min_samples && oldest_waiting_us <= p99_us {
            self.steady_checks += 1;
        } else {
            self.steady_checks = 0;
        }
        self.steady_checks >= STEADY_CHECKS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Convergence = Convergence {
        min: Duration::from_millis(750),
        every: Duration::from_millis(250),
        tolerance: 0.02,
        min_samples: 1_000,
    };

    #[test]
    fn a_steady_p99_with_enough_samples_converges_after_two_steady_checks() {
        let mut tracker = Tracker::default();
        assert!(!tracker.converged(&RULE, 2_000, 21_000, 0));
        assert!(!tracker.converged(&RULE, 3_000, 21_100, 0));
        assert!(tracker.converged(&RULE, 4_000, 21_050, 0));
    }

    #[test]
    fn a_growing_p99_a_small_histogram_or_a_stalled_request_never_converges() {
        // Overload: the p99 keeps climbing.
        let mut tracker = Tracker::default();
        assert!((0..10).all(|k| !tracker.converged(&RULE, 10_000, 20_000 + k * 5_000, 0)));
        // Too few samples for a 1 % tail.
        let mut tracker = Tracker::default();
        assert!((0..10).all(|_| !tracker.converged(&RULE, 500, 21_000, 0)));
        // A stall: nothing completes, so the p99 stands still, but a
        // request has waited a second.
        let mut tracker = Tracker::default();
        assert!((0..10).all(|_| !tracker.converged(&RULE, 5_000, 21_000, 1_000_000)));
    }
}
