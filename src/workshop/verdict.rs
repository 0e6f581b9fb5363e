//! The workshop's verdict: pass, not yet, or could not judge, as a pure
//! function of what a check measured, its bound, and how much of the
//! machine other programs took meanwhile.
//!
//! Every bound is an upper limit ("at most"), and outside load can only
//! make a figure worse, never better: a figure within its bound passes
//! however busy the machine was. A figure beyond it is "not yet" unless the
//! outside load could have pushed it there; then the check abstains and
//! says why, instead of failing a student for someone else's program.

use serde::{Deserialize, Serialize};

/// What a check concludes about one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The figure is within its bound: the fix works.
    Pass,
    /// The figure is beyond its bound, and outside load cannot explain it.
    NotYet,
    /// Outside load (or a figure the program did not report) leaves the
    /// check unable to tell.
    CouldNotJudge,
}

impl Verdict {
    /// The words the table and the JSON use.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::NotYet => "not yet",
            Verdict::CouldNotJudge => "could not judge",
        }
    }
}

/// How a figure responds to other programs using the machine's cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sensitivity {
    /// Memory and thread counts: other programs' CPU does not move them.
    Unmoved,
    /// A program that mostly waits: it needs a core only briefly at each
    /// wake-up, so it tolerates outside load up to
    /// [`crate::lab::busy::WAIT_CELL_MAX_OUTSIDE_SHARE`] of the cores (the lab's
    /// rule for waiting cells); beyond that its wake-ups queue.
    Waits,
    /// A program that needs CPU: outside load takes capacity, so a figure
    /// may stretch by up to `cores / (cores - outside)` before the check
    /// can blame the program.
    Capacity,
}

/// Below this many cores left to the exercise, a CPU-hungry figure says
/// nothing about the program.
pub const MIN_CORES_LEFT: f64 = 0.5;

/// The verdict, and why the check abstained when it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub abstained_because: Option<String>,
}

/// Judges `measured` against `bound` (both "lower is better"), given the
/// mean cores other programs used during the check.
pub fn judge(
    measured: f64,
    bound: f64,
    outside_cores: f64,
    cores: usize,
    sensitivity: Sensitivity,
) -> Judgement {
    let verdict = |verdict| Judgement {
        verdict,
        abstained_because: None,
    };
    let abstain = |why: String| Judgement {
        verdict: Verdict::CouldNotJudge,
        abstained_because: Some(why),
    };
    if !measured.is_finite() || !bound.is_finite() || bound <= 0.0 {
        return abstain("the program did not report the figures its bound needs".into());
    }
    if measured <= bound {
        return verdict(Verdict::Pass);
    }
    let cores_f = cores.max(1) as f64;
    let outside = outside_cores.max(0.0);
    match sensitivity {
        Sensitivity::Unmoved => verdict(Verdict::NotYet),
        Sensitivity::Waits => {
            let tolerated = crate::lab::busy::WAIT_CELL_MAX_OUTSIDE_SHARE * cores_f;
            if outside <= tolerated {
                verdict(Verdict::NotYet)
            } else {
                abstain(format!(
                    "other programs used {outside:.1} of {cores} cores, more than the \
                     {tolerated:.1} a waiting program tolerates: its wake-ups queued behind them"
                ))
            }
        }
        Sensitivity::Capacity => {
            let left = cores_f - outside;
            if left < MIN_CORES_LEFT {
                return abstain(format!(
                    "other programs used {outside:.1} of {cores} cores, leaving less than \
                     {MIN_CORES_LEFT} for the exercise"
                ));
            }
            let stretched = bound * cores_f / left;
            if measured > stretched {
                verdict(Verdict::NotYet)
            } else {
                abstain(format!(
                    "other programs used {outside:.1} of {cores} cores; with the capacity they \
                     took, the bound stretches to {stretched:.1}, and the figure is within that"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_within_its_bound_passes_however_busy_the_machine_was() {
        for cores in [1, 2, 8, 64] {
            for sensitivity in [
                Sensitivity::Unmoved,
                Sensitivity::Waits,
                Sensitivity::Capacity,
            ] {
                let judged = judge(90.0, 100.0, cores as f64, cores, sensitivity);
                assert_eq!(judged.verdict, Verdict::Pass);
            }
        }
    }

    #[test]
    fn a_figure_beyond_its_bound_on_a_quiet_machine_is_not_yet() {
        for cores in [1, 2, 8, 64] {
            for sensitivity in [
                Sensitivity::Unmoved,
                Sensitivity::Waits,
                Sensitivity::Capacity,
            ] {
                let judged = judge(101.0, 100.0, 0.0, cores, sensitivity);
                assert_eq!(judged.verdict, Verdict::NotYet, "{cores} cores");
            }
        }
    }

    #[test]
    fn memory_and_threads_are_judged_under_any_outside_load() {
        let judged = judge(500.0, 100.0, 1.9, 2, Sensitivity::Unmoved);
        assert_eq!(judged.verdict, Verdict::NotYet);
    }

    #[test]
    fn a_waiting_program_is_not_failed_when_more_than_half_the_cores_were_taken() {
        let judged = judge(300.0, 173.0, 1.5, 2, Sensitivity::Waits);
        assert_eq!(judged.verdict, Verdict::CouldNotJudge);
        assert!(judged.abstained_because.unwrap().contains("1.5 of 2 cores"));
        assert_eq!(
            judge(300.0, 173.0, 1.0, 2, Sensitivity::Waits).verdict,
            Verdict::NotYet
        );
    }

    #[test]
    fn a_cpu_figure_within_the_capacity_outside_load_took_is_not_judged() {
        // One of 2 cores taken: the bound stretches to twice its size.
        let judged = judge(150.0, 100.0, 1.0, 2, Sensitivity::Capacity);
        assert_eq!(judged.verdict, Verdict::CouldNotJudge);
        assert_eq!(
            judge(250.0, 100.0, 1.0, 2, Sensitivity::Capacity).verdict,
            Verdict::NotYet
        );
    }

    #[test]
    fn a_cpu_figure_with_almost_no_core_left_is_not_judged() {
        let judged = judge(10_000.0, 100.0, 0.7, 1, Sensitivity::Capacity);
        assert_eq!(judged.verdict, Verdict::CouldNotJudge);
    }

    #[test]
    fn a_missing_figure_is_not_judged() {
        let judged = judge(f64::NAN, 100.0, 0.0, 2, Sensitivity::Unmoved);
        assert_eq!(judged.verdict, Verdict::CouldNotJudge);
        assert_eq!(
            judge(5.0, 0.0, 0.0, 2, Sensitivity::Unmoved).verdict,
            Verdict::CouldNotJudge
        );
    }
}
