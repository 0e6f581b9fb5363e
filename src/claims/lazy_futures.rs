//! lazy-futures: a future that is never awaited never runs.
//!
//! Each unit of work adds one to a counter. The experiment creates 1,000
//! futures and drops them without awaiting, then awaits 1,000 more (the
//! control: the counter works), then spawns 1,000 tokio tasks and drops
//! their handles, then spawns 1,000 smol tasks and drops their handles, and
//! finally detaches 1,000 smol tasks. The counts show the rule and its
//! exceptions: a spawned tokio task runs whether or not anyone awaits it,
//! while dropping a smol `Task` cancels it (`detach` keeps it running).
//! Rust's compiler warns about the first case (`unused_must_use`).

use super::{decide, figure, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::model::runtimes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CLAIM: Claim = Claim {
    id: "lazy-futures",
    claim: "Forgetting to await a future means its work never happens.",
    demonstrates: Some(
        "a future is inert until polled by the language's definition; the run counts the work of dropped, awaited and spawned units, and shows which spawned tasks run without being awaited (tokio) and which are cancelled when dropped (smol)",
    ),
    experiment: "1,000 futures that each bump a counter: dropped unawaited vs awaited; tokio tasks spawned with handles dropped; smol tasks dropped vs detached.",
    run,
};

/// Units of work per variant.
const UNITS: u64 = 1_000;
/// How long to give spawned tasks to finish before counting.
const SETTLE: Duration = Duration::from_secs(2);
/// Work done by dropped, never-awaited futures must be at most this to
/// count as "never happens".
pub const DROPPED_WORK_MAX: f64 = 0.0;

async fn unit_of_work(counter: Arc<AtomicU64>) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Waits until `counter` reaches `target` or `SETTLE` passes; the count.
fn settle(counter: &AtomicU64, target: u64) -> u64 {
    let deadline = Instant::now() + SETTLE;
    while counter.load(Ordering::Relaxed) < target && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    counter.load(Ordering::Relaxed)
}

/// Units of work done, of `UNITS`, by each way of creating the work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figures {
    pub dropped: u64,
    pub awaited: u64,
    pub tokio_spawned: u64,
    pub smol_dropped: u64,
    pub smol_detached: u64,
}

fn run(trials: &Trials) -> Trial {
    decide(measure(trials), judge)
}

/// The experiment: counts the work each variant did.
fn measure(trials: &Trials) -> Result<Figures, Failure> {
    let runtime = runtimes::tokio_multi(&runtimes::workers(trials.cores))
        .map_err(|error| Failure::new(format!("building tokio: {error}"), vec![]))?;

    // 1. Created and dropped: the pitfall.
    let dropped = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        for _ in 0..UNITS {
            // Written as `unit_of_work(..);` this is the classic bug, and
            // the compiler warns (`unused_must_use`); `drop` says it aloud.
            drop(unit_of_work(Arc::clone(&dropped)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
    let dropped = dropped.load(Ordering::Relaxed);

    // 2. Awaited: the control.
    let awaited = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        for _ in 0..UNITS {
            unit_of_work(Arc::clone(&awaited)).await;
        }
    });
    let awaited = awaited.load(Ordering::Relaxed);

    // 3. tokio::spawn, handle dropped.
    let tokio_spawned = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        for _ in 0..UNITS {
            drop(tokio::spawn(unit_of_work(Arc::clone(&tokio_spawned))));
        }
    });
    let tokio_spawned = settle(&tokio_spawned, UNITS);

    // 4. smol tasks: handle dropped (cancels) vs detached (runs).
    let executor = Arc::new(runtimes::smol_executor());
    let smol_dropped = Arc::new(AtomicU64::new(0));
    for _ in 0..UNITS {
        drop(executor.spawn(unit_of_work(Arc::clone(&smol_dropped))));
    }
    let smol_detached = Arc::new(AtomicU64::new(0));
    for _ in 0..UNITS {
        executor
            .spawn(unit_of_work(Arc::clone(&smol_detached)))
            .detach();
    }
    // Run the executor until it has nothing left to do.
    while executor.try_tick() {}
    let smol_dropped = smol_dropped.load(Ordering::Relaxed);
    let smol_detached = settle(&smol_detached, UNITS);

    Ok(Figures {
        dropped,
        awaited,
        tokio_spawned,
        smol_dropped,
        smol_detached,
    })
}

/// The rule, a pure function of the counts.
pub(crate) fn judge(figures: &Figures) -> Trial {
    let Figures {
        dropped,
        awaited,
        tokio_spawned,
        smol_dropped,
        smol_detached,
    } = *figures;
    let never_happens = dropped as f64 <= DROPPED_WORK_MAX && awaited == UNITS;
    let spawned_runs_anyway = tokio_spawned == UNITS;
    let verdict = if !never_happens {
        Verdict::DoesNotHold
    } else if spawned_runs_anyway {
        Verdict::HoldsWithACaveat
    } else {
        Verdict::Holds
    };
    let caveat = spawned_runs_anyway.then(|| {
        format!(
            "for futures, not for spawned tasks: tokio ran {tokio_spawned} of {UNITS} spawned tasks whose handles were dropped; \
             smol cancels a task whose handle is dropped ({smol_dropped} of {UNITS} ran) unless it is detached ({smol_detached} ran)"
        )
    });
    Trial {
        measured: format!(
            "work done of {UNITS}: dropped futures {dropped}, awaited {awaited}, tokio::spawn with handle dropped {tokio_spawned}, \
             smol task dropped {smol_dropped}, smol task detached {smol_detached}."
        ),
        figures: vec![
            figure("futures dropped unawaited: work done", dropped as f64, "count"),
            figure("futures awaited: work done", awaited as f64, "count"),
            figure("tokio tasks, handle dropped: work done", tokio_spawned as f64, "count"),
            figure("smol tasks, handle dropped: work done", smol_dropped as f64, "count"),
            figure("smol tasks detached: work done", smol_detached as f64, "count"),
        ],
        verdict,
        caveat,
        decided_by: format!(
            "dropped futures did {dropped} units (≤ {DROPPED_WORK_MAX} means never), awaited did {awaited} of {UNITS}; \
             spawned tokio tasks did {tokio_spawned} of {UNITS}"
        ),
        thresholds: vec![threshold(
            "DROPPED_WORK_MAX",
            DROPPED_WORK_MAX,
            "units done by dropped futures at most this: the work never happened",
        )],
        cell_commands: vec![],
        chart: None,
    }
}

impl crate::claims::physics::Physical for Figures {
    /// No way of creating the work does more units than were created.
    fn check(&self) -> Result<(), String> {
        for (what, done) in [
            ("dropped", self.dropped),
            ("awaited", self.awaited),
            ("tokio spawned", self.tokio_spawned),
            ("smol dropped", self.smol_dropped),
            ("smol detached", self.smol_detached),
        ] {
            crate::claims::physics::ensure(done <= UNITS, || {
                format!("{what}: {done} units done of the {UNITS} created")
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(dropped: u64, tokio_spawned: u64) -> Figures {
        crate::claims::physics::possible(Figures {
            dropped,
            awaited: UNITS,
            tokio_spawned,
            smol_dropped: 0,
            smol_detached: UNITS,
        })
    }

    #[test]
    fn dropped_futures_that_did_no_work_hold_with_the_spawn_caveat() {
        let trial = judge(&counts(0, UNITS));
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        assert!(trial.caveat.unwrap().contains("not for spawned tasks"));
    }

    #[test]
    fn without_spawned_tasks_running_it_holds_plainly() {
        assert_eq!(judge(&counts(0, 10)).verdict, Verdict::Holds);
    }

    #[test]
    fn work_done_by_a_dropped_future_contradicts_it() {
        assert_eq!(judge(&counts(1, UNITS)).verdict, Verdict::DoesNotHold);
        let broken_counter = Figures {
            awaited: 3,
            ..counts(0, UNITS)
        };
        assert_eq!(judge(&broken_counter).verdict, Verdict::DoesNotHold);
    }

    #[test]
    fn more_work_done_than_futures_created_is_impossible() {
        let impossible = Figures {
            awaited: UNITS + 1,
            ..counts(0, UNITS)
        };
        assert!(crate::claims::physics::Physical::check(&impossible).is_err());
    }
}
