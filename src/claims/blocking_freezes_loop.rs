//! blocking-freezes-loop: a blocking call inside an async task holds up the
//! other tasks on its executor.
//!
//! Eight tasks each wait 25 ms, while a heartbeat task ticks every 1 ms and
//! records its longest gap — how long the other tasks were held up. The
//! pitfall (`std::thread::sleep`, standing for any blocking call: a sync
//! database driver, `std::fs`, a mutex held across I/O) runs next to its
//! fixes: the runtime's own sleep, `tokio::task::spawn_blocking`, and
//! `smol::unblock`, which move the blocking call to a separate thread pool.
//! A multi-thread runtime shows the nuance: a blocking call freezes only the
//! worker it runs on, so the damage shrinks with more workers but does not
//! go away. Each variant runs once untimed first, so thread pools are warm.

use super::{decide, figure, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::model::runtimes;
use crate::stats;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CLAIM: Claim = Claim {
    id: "blocking-freezes-loop",
    claim: "A blocking call inside an async task holds up every other task on that executor.",
    demonstrates: Some(
        "a task that blocks keeps its thread, so on a one-thread executor the others wait by construction; the run shows the stall next to the fixes, and on a multi-thread runtime only as many tasks proceed as there are other workers",
    ),
    experiment: "8 tasks × 25 ms blocking sleep on tokio current-thread, tokio multi-thread and a one-thread smol executor, vs the runtime's sleep, spawn_blocking and smol::unblock; a 1 ms heartbeat task's longest gap.",
    run,
};

/// Tasks per run.
const TASKS: u32 = 8;
/// Each task's wait, ms.
const WAIT_MS: u64 = 25;
/// The heartbeat's period.
const HEARTBEAT: Duration = Duration::from_millis(1);
/// The blocking variant "serialised the tasks" when its wall is at least
/// this fraction of the sum of the waits.
pub const SERIAL_MIN_FRACTION: f64 = 0.9;
/// A fix "works" when its wall is at most this many waits.
pub const FIX_MAX_WAITS: f64 = 2.0;
/// On a multi-thread runtime the freeze is "only partial" when its wall is
/// at most this fraction of the fully serialised wall.
pub const PARTIAL_MAX_FRACTION: f64 = 0.75;

#[derive(Clone, Copy, PartialEq)]
enum Wait {
    /// `std::thread::sleep` inside the task: the pitfall.
    Blocking,
    /// The runtime's own timer.
    RuntimeSleep,
    /// `spawn_blocking` / `unblock`: the blocking call on a separate pool.
    Offloaded,
}

/// Wall time of the tasks and the heartbeat's longest gap, ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Outcome {
    pub wall_ms: f64,
    pub heartbeat_gap_ms: f64,
}

/// Variant names, as the figures and the rule know them.
const CURRENT_BLOCKING: &str = "tokio current-thread, std::thread::sleep";
const CURRENT_SLEEP: &str = "tokio current-thread, tokio::time::sleep";
const CURRENT_OFFLOADED: &str = "tokio current-thread, spawn_blocking";
const MULTI_BLOCKING: &str = "tokio multi-thread, std::thread::sleep";
const SMOL_BLOCKING: &str = "smol one thread, std::thread::sleep";
const SMOL_OFFLOADED: &str = "smol one thread, smol::unblock";

/// What the experiment measured: each variant's outcome, by name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    pub variants: Vec<(&'static str, Outcome)>,
    /// Workers of the multi-thread runtime (= cores).
    pub cores: usize,
}

fn wait_duration() -> Duration {
    Duration::from_millis(WAIT_MS)
}

fn on_tokio(runtime: &tokio::runtime::Runtime, wait: Wait) -> Outcome {
    runtime.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let heartbeat = {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let mut last = Instant::now();
                let mut longest = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(HEARTBEAT).await;
                    longest = longest.max(last.elapsed());
                    last = Instant::now();
                }
                longest
            })
        };
        tokio::task::yield_now().await;
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                tokio::spawn(async move {
                    match wait {
                        Wait::Blocking => std::thread::sleep(wait_duration()),
                        Wait::RuntimeSleep => tokio::time::sleep(wait_duration()).await,
                        Wait::Offloaded => {
                            let _ =
                                tokio::task::spawn_blocking(|| std::thread::sleep(wait_duration()))
                                    .await;
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
        let wall = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let gap = heartbeat.await.unwrap_or_default();
        Outcome {
            wall_ms: wall.as_secs_f64() * 1e3,
            heartbeat_gap_ms: gap.as_secs_f64() * 1e3,
        }
    })
}

fn on_smol(wait: Wait) -> Outcome {
    let executor = runtimes::smol_local_executor();
    smol::block_on(executor.run(async {
        let stop = Arc::new(AtomicBool::new(false));
        let heartbeat = {
            let stop = Arc::clone(&stop);
            executor.spawn(async move {
                let mut last = Instant::now();
                let mut longest = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    smol::Timer::after(HEARTBEAT).await;
                    longest = longest.max(last.elapsed());
                    last = Instant::now();
                }
                longest
            })
        };
        smol::future::yield_now().await;
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                executor.spawn(async move {
                    match wait {
                        Wait::Blocking => std::thread::sleep(wait_duration()),
                        Wait::RuntimeSleep => {
                            smol::Timer::after(wait_duration()).await;
                        }
                        Wait::Offloaded => {
                            smol::unblock(|| std::thread::sleep(wait_duration())).await
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        let wall = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let gap = heartbeat.await;
        Outcome {
            wall_ms: wall.as_secs_f64() * 1e3,
            heartbeat_gap_ms: gap.as_secs_f64() * 1e3,
        }
    }))
}

/// Runs a variant once untimed (warming pools), then `repeats` times; the
/// outcome of the median-wall repeat.
fn measure_variant(repeats: u32, mut variant: impl FnMut() -> Outcome) -> Outcome {
    variant();
    let outcomes: Vec<Outcome> = (0..repeats.max(1)).map(|_| variant()).collect();
    let walls: Vec<f64> = outcomes.iter().map(|o| o.wall_ms).collect();
    outcomes[stats::median_index(&walls).unwrap_or(0)]
}

fn run(trials: &Trials) -> Trial {
    decide(measure(trials), judge)
}

/// The experiment: every variant, warmed, then timed `repeats` times.
fn measure(trials: &Trials) -> Result<Figures, Failure> {
    let repeats = trials.repeats();
    let build = |multi: bool| {
        if multi {
            runtimes::tokio_multi(&runtimes::workers(trials.cores))
        } else {
            runtimes::tokio_current()
        }
    };
    let (current, multi) = match (build(false), build(true)) {
        (Ok(current), Ok(multi)) => (current, multi),
        (Err(error), _) | (_, Err(error)) => {
            return Err(Failure::new(format!("building tokio: {error}"), vec![]))
        }
    };
    let variants: Vec<(&str, Outcome)> = vec![
        (
            CURRENT_BLOCKING,
            measure_variant(repeats, || on_tokio(&current, Wait::Blocking)),
        ),
        (
            CURRENT_SLEEP,
            measure_variant(repeats, || on_tokio(&current, Wait::RuntimeSleep)),
        ),
        (
            CURRENT_OFFLOADED,
            measure_variant(repeats, || on_tokio(&current, Wait::Offloaded)),
        ),
        (
            MULTI_BLOCKING,
            measure_variant(repeats, || on_tokio(&multi, Wait::Blocking)),
        ),
        (
            SMOL_BLOCKING,
            measure_variant(repeats, || on_smol(Wait::Blocking)),
        ),
        (
            SMOL_OFFLOADED,
            measure_variant(repeats, || on_smol(Wait::Offloaded)),
        ),
    ];
    Ok(Figures {
        variants,
        cores: trials.cores,
    })
}

/// The rule, a pure function of the figures.
pub(crate) fn judge(figures: &Figures) -> Trial {
    let Figures { variants, cores } = figures;
    let cores = *cores;
    let get = |name: &str| {
        variants.iter().find(|(n, _)| *n == name).map_or(
            Outcome {
                wall_ms: f64::NAN,
                heartbeat_gap_ms: f64::NAN,
            },
            |(_, o)| *o,
        )
    };
    let serial_ms = (TASKS as u64 * WAIT_MS) as f64;
    let current_blocking = get(CURRENT_BLOCKING);
    let smol_blocking = get(SMOL_BLOCKING);
    let multi_blocking = get(MULTI_BLOCKING);
    let fixes = [
        get(CURRENT_SLEEP),
        get(CURRENT_OFFLOADED),
        get(SMOL_OFFLOADED),
    ];
    let serialised = |o: Outcome| o.wall_ms >= SERIAL_MIN_FRACTION * serial_ms;
    let one_thread_frozen = serialised(current_blocking) && serialised(smol_blocking);
    let fixes_work = fixes
        .iter()
        .all(|o| o.wall_ms <= FIX_MAX_WAITS * WAIT_MS as f64);
    let multi_partial = multi_blocking.wall_ms <= PARTIAL_MAX_FRACTION * serial_ms;

    let mut caveats = Vec::new();
    if multi_partial {
        caveats.push(format!(
            "on a multi-thread runtime it holds up only its own worker: with {} workers the batch took {:.0} ms, not {serial_ms:.0}; \
             the rest still wait whenever every worker is blocked",
            cores, multi_blocking.wall_ms
        ));
    }
    if !fixes_work {
        caveats.push(format!(
            "a fix took more than {FIX_MAX_WAITS} waits on this machine (busy cores?)"
        ));
    }
    let verdict = match (one_thread_frozen, caveats.is_empty()) {
        (false, _) => Verdict::DoesNotHold,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithACaveat,
    };
    let measured = variants
        .iter()
        .map(|(name, o)| {
            format!(
                "{name}: {:.0} ms (heartbeat gap {:.0} ms)",
                o.wall_ms, o.heartbeat_gap_ms
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut figures = Vec::new();
    for (name, o) in variants {
        figures.push(figure(format!("{name}: wall"), o.wall_ms, "ms"));
        figures.push(figure(
            format!("{name}: heartbeat gap"),
            o.heartbeat_gap_ms,
            "ms",
        ));
    }
    Trial {
        measured: format!("{TASKS} × {WAIT_MS} ms — {measured}."),
        figures,
        verdict,
        caveat: (!caveats.is_empty()).then(|| caveats.join("; ")),
        decided_by: format!(
            "one-thread blocking walls {:.0} and {:.0} ms vs {SERIAL_MIN_FRACTION} × {serial_ms:.0} ms; \
             multi-thread {:.0} ms vs {PARTIAL_MAX_FRACTION} × {serial_ms:.0} ms with workers = cores = {}; \
             fixes ≤ {FIX_MAX_WAITS} × {WAIT_MS} ms: {}",
            current_blocking.wall_ms,
            smol_blocking.wall_ms,
            multi_blocking.wall_ms,
            cores,
            if fixes_work { "yes" } else { "no" }
        ),
        thresholds: vec![
            threshold(
                "SERIAL_MIN_FRACTION",
                SERIAL_MIN_FRACTION,
                "blocking wall ≥ this fraction of the sum of waits: tasks ran one at a time",
            ),
            threshold(
                "FIX_MAX_WAITS",
                FIX_MAX_WAITS,
                "a fix's wall ≤ this many waits: the waits overlapped again",
            ),
            threshold(
                "PARTIAL_MAX_FRACTION",
                PARTIAL_MAX_FRACTION,
                "multi-thread blocking wall ≤ this fraction of serial: only some tasks were held up",
            ),
        ],
        cell_commands: vec![],
        chart: None,
    }
}

impl crate::claims::physics::Physical for Figures {
    /// Every variant takes at least one wait; a heartbeat gap is a time.
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::{ensure, ensure_at_least};
        for (name, outcome) in &self.variants {
            ensure_at_least(name, outcome.wall_ms, WAIT_MS as f64)?;
            ensure(
                outcome.heartbeat_gap_ms.is_finite() && outcome.heartbeat_gap_ms >= 0.0,
                || format!("{name}: a heartbeat gap of {} ms", outcome.heartbeat_gap_ms),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(wall_ms: f64) -> Outcome {
        Outcome {
            wall_ms,
            heartbeat_gap_ms: wall_ms,
        }
    }

    fn figures(one_thread_blocking: f64, multi_blocking: f64, fixes: f64) -> Figures {
        crate::claims::physics::possible(Figures {
            variants: vec![
                (CURRENT_BLOCKING, outcome(one_thread_blocking)),
                (CURRENT_SLEEP, outcome(fixes)),
                (CURRENT_OFFLOADED, outcome(fixes)),
                (MULTI_BLOCKING, outcome(multi_blocking)),
                (SMOL_BLOCKING, outcome(one_thread_blocking)),
                (SMOL_OFFLOADED, outcome(fixes)),
            ],
            cores: 2,
        })
    }

    #[test]
    fn a_serialised_one_thread_run_holds_and_a_partial_multi_thread_one_is_the_caveat() {
        let trial = judge(&figures(201.0, 101.0, 26.0));
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        assert!(trial.caveat.unwrap().contains("only its own worker"));
        assert_eq!(judge(&figures(201.0, 200.0, 26.0)).verdict, Verdict::Holds);
    }

    #[test]
    fn slow_fixes_are_a_caveat() {
        let trial = judge(&figures(201.0, 200.0, 80.0));
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        assert!(trial.caveat.unwrap().contains("a fix took more than"));
    }

    #[test]
    fn one_thread_runs_that_overlap_do_not_show_it() {
        assert_eq!(
            judge(&figures(60.0, 60.0, 26.0)).verdict,
            Verdict::DoesNotHold
        );
    }

    #[test]
    fn the_judge_gives_the_same_outcome_on_every_simulated_machine() {
        for machine in crate::claims::CpuTopology::simulated_machines() {
            for (one, multi, fixes) in [(200.0, 100.0, 26.0), (26.0, 26.0, 26.0)] {
                let on_two = judge(&figures(one, multi, fixes));
                let here = judge(&Figures {
                    cores: machine.usable_logical,
                    ..figures(one, multi, fixes)
                });
                assert_eq!(here.verdict, on_two.verdict, "{machine:?}");
            }
        }
    }
}
