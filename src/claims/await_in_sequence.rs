//! await-in-sequence: the mistake behind a fan-out that does not fan out.
//!
//! A future does nothing until it is awaited, and `a.await; b.await;` awaits
//! `b` only after `a` has finished — so the waits add up. `join!` polls both
//! futures together, and `spawn` starts a task at once, so both overlap the
//! waits. The pitfall next to its fixes, on one tokio multi-thread runtime
//! built before timing:
//!
//! - `a.await; b.await; c.await` (pitfall)
//! - `spawn(a).await; spawn(b).await; ...` (pitfall: spawned, then awaited at once)
//! - `tokio::join!(a, b, c)` (fix)
//! - spawn all first, then await the handles one after another (fix)

use super::{
    decide, figure, spread_text, threshold, timed, Claim, Failure, Trial, Trials, Verdict,
};
use crate::model::runtimes;
use crate::record::result::WallMs;
use std::time::{Duration, Instant};

pub const CLAIM: Claim = Claim {
    id: "await-in-sequence",
    claim: "Awaiting futures one after another (a.await; b.await) runs them concurrently.",
    demonstrates: Some(
        "awaits in sequence run one after another by the language's definition; the run shows the waits adding up next to join! and spawn, which overlap them",
    ),
    experiment: "3 waits of 50 ms on tokio: awaited in sequence, spawned-and-awaited at once, join!, spawned first then awaited.",
    run,
};

/// Waits per run.
const WAITS: u32 = 3;
/// Each wait, ms (well above tokio's 1 ms timer granularity).
const WAIT_MS: u64 = 50;
/// A run "overlapped its waits" when it takes at most this many waits.
pub const CONCURRENT_MAX_WAITS: f64 = 1.5;
/// A run "did one wait after another" when it takes at least this fraction
/// of the sum of the waits.
pub const SEQUENTIAL_MIN_FRACTION: f64 = 0.9;

/// One simulated request. An `async fn` starts nothing until it is first
/// polled, like a real request future. (A bare `tokio::time::sleep` would
/// not do: it fixes its deadline when it is created, so three sleeps created
/// together end together however they are awaited.)
async fn wait() {
    tokio::time::sleep(Duration::from_millis(WAIT_MS)).await
}

/// What the experiment measured: the wall of each way of awaiting three
/// waits (median, min and max over the repeats), ms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    pub in_sequence: WallMs,
    pub spawn_then_await_each: WallMs,
    pub joined: WallMs,
    pub spawned_first: WallMs,
    pub cores: usize,
}

fn run(trials: &Trials) -> Trial {
    decide(measure(trials), judge)
}

/// The experiment: the four ways of awaiting, on one runtime built before timing.
fn measure(trials: &Trials) -> Result<Figures, Failure> {
    let runtime = runtimes::tokio_multi(&runtimes::workers(trials.cores))
        .map_err(|error| Failure::new(format!("building tokio: {error}"), vec![]))?;
    let repeats = trials.repeats();
    let in_sequence = timed(repeats, || {
        runtime.block_on(async {
            let start = Instant::now();
            let (a, b, c) = (wait(), wait(), wait());
            a.await;
            b.await;
            c.await;
            start.elapsed()
        })
    });
    let spawn_then_await_each = timed(repeats, || {
        runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..WAITS {
                let _ = tokio::spawn(wait()).await;
            }
            start.elapsed()
        })
    });
    let joined = timed(repeats, || {
        runtime.block_on(async {
            let start = Instant::now();
            tokio::join!(wait(), wait(), wait());
            start.elapsed()
        })
    });
    let spawned_first = timed(repeats, || {
        runtime.block_on(async {
            let start = Instant::now();
            let handles: Vec<_> = (0..WAITS).map(|_| tokio::spawn(wait())).collect();
            for handle in handles {
                let _ = handle.await;
            }
            start.elapsed()
        })
    });
    Ok(Figures {
        in_sequence,
        spawn_then_await_each,
        joined,
        spawned_first,
        cores: trials.cores,
    })
}

/// The rule, a pure function of the figures. As a demonstration it checks
/// that the run showed what the language guarantees: "holds" would mean the
/// awaits overlapped (they cannot), "does not hold" that they added up.
pub(crate) fn judge(figures: &Figures) -> Trial {
    let Figures {
        in_sequence,
        spawn_then_await_each,
        joined,
        spawned_first,
        cores,
    } = figures;
    let sum_ms = (WAITS as u64 * WAIT_MS) as f64;
    let sequential = in_sequence.median >= SEQUENTIAL_MIN_FRACTION * sum_ms;
    let concurrent = in_sequence.median <= CONCURRENT_MAX_WAITS * WAIT_MS as f64;
    let fixes_overlap = joined.median <= CONCURRENT_MAX_WAITS * WAIT_MS as f64
        && spawned_first.median <= CONCURRENT_MAX_WAITS * WAIT_MS as f64;
    let (verdict, caveat) = if concurrent {
        (Verdict::Holds, None)
    } else if sequential {
        (Verdict::DoesNotHold, None)
    } else {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "the waits partly overlapped ({:.0} ms of {sum_ms:.0} ms)",
                in_sequence.median
            )),
        )
    };
    Trial {
        measured: format!(
            "3 × {WAIT_MS} ms: a.await; b.await; c.await {}; spawn(x).await each {}; join! {}; spawn all, then await {}.",
            spread_text(in_sequence),
            spread_text(spawn_then_await_each),
            spread_text(joined),
            spread_text(spawned_first)
        ),
        figures: vec![
            figure("awaited in sequence", in_sequence.median, "ms"),
            figure("spawned and awaited one at a time", spawn_then_await_each.median, "ms"),
            figure("join!", joined.median, "ms"),
            figure("spawned first, then awaited", spawned_first.median, "ms"),
        ],
        verdict,
        caveat,
        decided_by: format!(
            "in sequence {:.0} ms vs {SEQUENTIAL_MIN_FRACTION} × {sum_ms:.0} ms (one after another) and \
             {CONCURRENT_MAX_WAITS} × {WAIT_MS} ms (concurrent); the fixes {} ({cores} tokio workers)",
            in_sequence.median,
            if fixes_overlap {
                "overlap the waits"
            } else {
                "did NOT overlap the waits here (busy machine?)"
            },
        ),
        thresholds: vec![
            threshold(
                "CONCURRENT_MAX_WAITS",
                CONCURRENT_MAX_WAITS,
                "at most this many waits: the waits overlapped",
            ),
            threshold(
                "SEQUENTIAL_MIN_FRACTION",
                SEQUENTIAL_MIN_FRACTION,
                "at least this fraction of the sum: one after another",
            ),
        ],
        cell_commands: vec![],
        chart: None,
    }
}

impl crate::claims::physics::Physical for Figures {
    /// Every way of awaiting takes at least one wait, and each spread is
    /// ordered (min ≤ median ≤ max).
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::{ensure, ensure_at_least};
        for (what, wall) in [
            ("awaited in sequence", &self.in_sequence),
            ("spawned and awaited each", &self.spawn_then_await_each),
            ("joined", &self.joined),
            ("spawned first", &self.spawned_first),
        ] {
            ensure_at_least(what, wall.min, WAIT_MS as f64)?;
            ensure(wall.min <= wall.median && wall.median <= wall.max, || {
                format!(
                    "{what}: min {} ≤ median {} ≤ max {} fails",
                    wall.min, wall.median, wall.max
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(median: f64) -> WallMs {
        WallMs {
            median,
            min: median,
            max: median,
        }
    }

    fn figures(in_sequence: f64, fixes: f64) -> Figures {
        crate::claims::physics::possible(Figures {
            in_sequence: wall(in_sequence),
            spawn_then_await_each: wall(in_sequence),
            joined: wall(fixes),
            spawned_first: wall(fixes),
            cores: 2,
        })
    }

    #[test]
    fn waits_that_add_up_show_the_claim_does_not_hold() {
        let trial = judge(&figures(151.0, 51.0));
        assert_eq!(trial.verdict, Verdict::DoesNotHold);
        assert!(trial.decided_by.contains("the fixes overlap the waits"));
    }

    #[test]
    fn waits_that_overlap_would_make_it_hold() {
        assert_eq!(judge(&figures(52.0, 51.0)).verdict, Verdict::Holds);
    }

    #[test]
    fn a_partial_overlap_is_a_caveat_and_slow_fixes_are_named() {
        let trial = judge(&figures(100.0, 120.0));
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        assert!(trial.caveat.unwrap().contains("100 ms of 150 ms"));
        assert!(trial.decided_by.contains("did NOT overlap"));
    }

    #[test]
    fn the_judge_gives_the_same_outcome_on_every_simulated_machine() {
        for machine in crate::claims::CpuTopology::simulated_machines() {
            for (in_sequence, fixes) in [(151.0, 51.0), (51.0, 51.0), (151.0, 151.0)] {
                let on_two = judge(&figures(in_sequence, fixes));
                let here = judge(&Figures {
                    cores: machine.usable_logical,
                    ..figures(in_sequence, fixes)
                });
                assert_eq!(here.verdict, on_two.verdict, "{machine:?}");
            }
        }
    }
}
