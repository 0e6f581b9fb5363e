//! Physically possible figures: the check every claim's figures pass before
//! a judge sees them.
//!
//! A judge is a pure function of its figures, tested on invented ones. An
//! invented figure that no machine could produce (a server answering more
//! requests than it was offered, more resident memory than address space, a
//! wall time shorter than the wait it contains, a speedup beyond the CPUs)
//! makes a test prove nothing. The same check runs on real measurements:
//! figures that break physics mean the measurement went wrong (a clock
//! jumped, a baseline was disturbed), so the claim is "not measured" with
//! the reason, never judged.

use super::Failure;

/// How far a measured wall may fall short of the least it can take (the
/// sum of its sleeps, its calibrated compute): timers wake up to about a
/// millisecond early or late, and the compute kernel's calibration drifts by
/// a few per cent.
pub const TIMER_ERROR_MS: f64 = 1.0;
/// The share by which a wall may fall short of its calibrated compute.
pub const CALIBRATION_ERROR: f64 = 0.10;

/// Figures a judge may be given.
pub(crate) trait Physical {
    /// Why these figures could not have been measured on any machine (or
    /// on the machine they say they were measured on); Ok when possible.
    fn check(&self) -> Result<(), String>;
}

/// `Err(why)` unless `possible`.
pub(crate) fn ensure(possible: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if possible {
        Ok(())
    } else {
        Err(why())
    }
}

/// A wall time is a finite, positive number of ms.
pub(crate) fn ensure_wall(what: &str, ms: f64) -> Result<(), String> {
    ensure(ms.is_finite() && ms > 0.0, || {
        format!("{what} took {ms} ms: a wall time is positive")
    })
}

/// A wall of `ms` contains at least `least_ms` (sleeps, compute), within
/// the timer's error.
pub(crate) fn ensure_at_least(what: &str, ms: f64, least_ms: f64) -> Result<(), String> {
    ensure_wall(what, ms)?;
    ensure(ms >= least_ms - TIMER_ERROR_MS, || {
        format!("{what} took {ms:.2} ms, less than the {least_ms:.2} ms it waits or computes")
    })
}

/// Served at most what was offered (within `slack`, e.g. a rate measured
/// over a slightly shorter window than it was sent in).
pub(crate) fn ensure_at_most_offered(
    what: &str,
    achieved: f64,
    offered: f64,
) -> Result<(), String> {
    ensure(
        achieved.is_finite() && achieved >= 0.0 && achieved <= offered * 1.05 + 1.0,
        || format!("{what} achieved {achieved:.0} of {offered:.0} offered: more than was sent"),
    )
}

/// In tests: the figures, after panicking if they are impossible. Every
/// judge test builds its figures through this.
#[cfg(test)]
pub(crate) fn possible<F: Physical>(figures: F) -> F {
    if let Err(why) = figures.check() {
        panic!("a test invented impossible figures: {why}");
    }
    figures
}

/// A failed measurement, or figures that pass [`Physical::check`].
pub(crate) fn checked<F: Physical>(measured: Result<F, Failure>) -> Result<F, Failure> {
    let figures = measured?;
    match figures.check() {
        Ok(()) => Ok(figures),
        Err(why) => Err(Failure::new(
            format!("the figures are physically impossible, so the measurement went wrong: {why}"),
            Vec::new(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_shorter_than_its_wait_is_impossible_beyond_the_timer_error() {
        assert!(ensure_at_least("3 waits", 299.5, 300.0).is_ok());
        assert!(ensure_at_least("3 waits", 250.0, 300.0).is_err());
        assert!(ensure_wall("a cell", 0.0).is_err());
        assert!(ensure_wall("a cell", f64::NAN).is_err());
    }

    #[test]
    fn a_server_cannot_achieve_more_than_it_was_offered() {
        assert!(ensure_at_most_offered("tokio", 400.0, 400.0).is_ok());
        assert!(ensure_at_most_offered("tokio", 800.0, 400.0).is_err());
        assert!(ensure_at_most_offered("tokio", -1.0, 400.0).is_err());
    }
}
