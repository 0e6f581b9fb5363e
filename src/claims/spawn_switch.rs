//! Two claims about the price of a unit of concurrency, measured with the
//! lab's micro-experiments in [`crate::lab::experiments`] on a small budget.
//!
//! - threads-cost-to-spawn: the time to create and join one empty unit,
//!   in large batches (the per-unit price) and alone (a full round trip,
//!   including waking whoever runs it).
//! - switch-cost: two units play ping-pong; half a round trip is one
//!   hand-off. Threads hand off through the kernel; tasks on one thread
//!   hand off inside the runtime; tasks on a multi-thread runtime often wake
//!   another worker thread, which is a thread hand-off again. Threads are
//!   also measured pinned to one core, to separate the switch itself from
//!   the cross-core wake-up.

use super::{decide, figure, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::lab::experiments::context_switch::per_round_trip_median;
use crate::lab::experiments::spawn_cost::per_unit_median;
use crate::lab::experiments::{Medium, Placement, SpawnKind, SwitchCase, Units};

pub const THREADS_COST_TO_SPAWN: Claim = Claim {
    id: "threads-cost-to-spawn",
    claim: "Creating a thread costs far more than creating an async task.",
    demonstrates: None,
    experiment: "Spawn and join empty units: 1,000 threads vs 10,000 tasks on tokio, tokio current-thread and smol (and a pool job); then one unit alone.",
    run: spawn_cost,
};

pub const SWITCH_COST: Claim = Claim {
    id: "switch-cost",
    claim: "Switching between async tasks is cheaper than switching between threads.",
    demonstrates: None,
    experiment: "Ping-pong between two threads vs two tasks (one-thread and multi-thread tokio, smol) over a channel and a Unix socket pair; threads also pinned to one core.",
    run: switch_cost,
};

/// Threads per spawn batch (each a real OS thread).
const THREAD_UNITS: u64 = 1_000;
/// Tasks per spawn batch.
const TASK_UNITS: u64 = 10_000;
/// Batches of one, for the single spawn-and-join round trip.
const SINGLE_BATCHES: usize = 21;
/// "Far more": a thread's per-unit cost at least this many times the
/// dearest async runtime's.
pub const SPAWN_RATIO_MIN: f64 = 10.0;

/// Round trips per ping-pong run.
const ROUND_TRIPS: u64 = 20_000;
/// "Cheaper": a thread hand-off at least this many times a task hand-off.
pub const SWITCH_RATIO_MIN: f64 = 1.5;

fn micros(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// What the spawn experiment measured, µs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpawnFigures {
    /// Per unit spawned and joined, in large batches.
    pub per_unit: Vec<(SpawnKind, f64)>,
    /// One thread spawned and joined alone.
    pub thread_single: f64,
    /// One tokio task spawned and joined alone.
    pub tokio_single: f64,
    pub batches: usize,
    pub cores: usize,
}

fn spawn_cost(trials: &Trials) -> Trial {
    decide(measure_spawn(trials), judge_spawn)
}

/// The spawn kind of the model named `model`.
fn of(model: &str) -> SpawnKind {
    SpawnKind::of_model(model).expect("the registry has this model")
}

/// Every current (not legacy) async runtime in the registry: each is held
/// to the claim.
fn async_runtimes() -> Vec<SpawnKind> {
    crate::model::all()
        .iter()
        .filter(|model| model.style() == crate::model::Style::Async && !model.legacy())
        .filter_map(|model| SpawnKind::of_model(model.name()))
        .collect()
}

/// The spawn experiment: batches of each kind, then one unit alone.
fn measure_spawn(trials: &Trials) -> Result<SpawnFigures, Failure> {
    let batches = trials.repeats() as usize;
    let mut kinds = vec![
        (of("sequential"), TASK_UNITS),
        (of("threads"), THREAD_UNITS),
        (of("thread-pool"), TASK_UNITS),
    ];
    kinds.extend(async_runtimes().into_iter().map(|kind| (kind, TASK_UNITS)));
    let failed = |error: anyhow::Error| Failure::new(format!("{error:#}"), vec![]);
    let mut per_unit = Vec::new();
    for (kind, units) in kinds {
        let duration = per_unit_median(kind, units, batches).map_err(failed)?;
        per_unit.push((kind, micros(duration)));
    }
    let single = |kind| per_unit_median(kind, 1, SINGLE_BATCHES).map(micros);
    Ok(SpawnFigures {
        per_unit,
        thread_single: single(of("threads")).map_err(failed)?,
        tokio_single: single(of("tokio")).map_err(failed)?,
        batches,
        cores: trials.cores,
    })
}

/// The spawn rule, a pure function of the figures.
pub(crate) fn judge_spawn(figures: &SpawnFigures) -> Trial {
    let SpawnFigures {
        per_unit,
        thread_single,
        tokio_single,
        batches,
        cores,
    } = figures;
    let (thread_single, tokio_single) = (*thread_single, *tokio_single);
    let cost = |kind: SpawnKind| {
        per_unit
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0.0, |(_, us)| *us)
    };
    let thread = cost(of("threads"));
    // The runtimes measured (every async runtime in the figures).
    let runtimes: Vec<SpawnKind> = async_runtimes()
        .into_iter()
        .filter(|kind| per_unit.iter().any(|(k, _)| k == kind))
        .collect();
    let ratios: Vec<(SpawnKind, f64)> = runtimes
        .iter()
        .map(|&kind| (kind, thread / cost(kind).max(1e-6)))
        .collect();
    let below: Vec<String> = ratios
        .iter()
        .filter(|(_, ratio)| *ratio < SPAWN_RATIO_MIN)
        .map(|(kind, ratio)| {
            format!(
                "{} {:.2} µs per task (×{ratio:.0})",
                kind.name(),
                cost(*kind)
            )
        })
        .collect();
    let single_ratio = thread_single / tokio_single.max(1e-6);
    let mut caveats = Vec::new();
    if !below.is_empty() {
        caveats.push(format!(
            "not against every runtime here: {}",
            below.join(", ")
        ));
    }
    if single_ratio < SPAWN_RATIO_MIN {
        caveats.push(format!(
            "in bulk only: one spawn-and-join alone costs {thread_single:.1} µs for a thread vs {tokio_single:.1} µs for a tokio task \
             (×{single_ratio:.1}) — waking a worker thread dominates a lone task; a pool job avoids thread creation ({:.2} µs)",
            cost(of("thread-pool"))
        ));
    }
    let verdict = match (below.len() == runtimes.len(), caveats.is_empty()) {
        (true, _) => Verdict::DoesNotHold,
        (false, true) => Verdict::Holds,
        (false, false) => Verdict::HoldsWithACaveat,
    };
    let caveat = (!caveats.is_empty()).then(|| caveats.join("; "));
    let mut figures: Vec<_> = per_unit
        .iter()
        .map(|(kind, us)| figure(format!("{} per unit", kind.name()), *us, "µs"))
        .collect();
    figures.push(figure("thread, one alone", thread_single, "µs"));
    figures.push(figure("tokio, one alone", tokio_single, "µs"));
    Trial {
        measured: format!(
            "µs per unit spawned and joined: {}; one alone: thread {thread_single:.1}, tokio {tokio_single:.1}.",
            per_unit
                .iter()
                .map(|(kind, us)| format!("{} {us:.2}", kind.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        figures,
        verdict,
        caveat,
        decided_by: format!(
            "thread {thread:.1} µs per unit vs tasks: {} (≥ {SPAWN_RATIO_MIN} = far more); alone ×{single_ratio:.1}; \
             median of {batches} batches, workers = cores = {cores}",
            ratios
                .iter()
                .map(|(kind, ratio)| format!("{} ×{ratio:.0}", kind.name()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        thresholds: vec![threshold(
            "SPAWN_RATIO_MIN",
            SPAWN_RATIO_MIN,
            "thread cost per unit ≥ this × a task's: far more",
        )],
        cell_commands: vec![],
        chart: None,
    }
}

/// What the switch experiment measured: µs per hand-off, by case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SwitchFigures {
    pub per_switch: Vec<(&'static str, f64)>,
    /// Cases that could not run (pinning refused), with the reason.
    pub skipped: Vec<String>,
    pub repeats: usize,
    pub cores: usize,
}

fn switch_cost(trials: &Trials) -> Trial {
    decide(measure_switch(trials), judge_switch)
}

/// The switch experiment: ping-pong in every case.
fn measure_switch(trials: &Trials) -> Result<SwitchFigures, Failure> {
    let repeats = trials.repeats() as usize;
    let case = |model: &str, medium, placement| SwitchCase {
        units: Units::of_model(model).expect("the registry has this model"),
        medium,
        placement,
    };
    let cases = [
        (
            "threads, channel",
            case("threads", Medium::Channel, Placement::Free),
        ),
        (
            "threads, channel, one core",
            case("threads", Medium::Channel, Placement::OneCore),
        ),
        (
            "tokio current-thread, channel",
            case("tokio-current", Medium::Channel, Placement::Free),
        ),
        (
            "tokio multi-thread, channel",
            case("tokio", Medium::Channel, Placement::Free),
        ),
        (
            "smol, channel",
            case("smol", Medium::Channel, Placement::Free),
        ),
        (
            "threads, socket",
            case("threads", Medium::Socket, Placement::Free),
        ),
        (
            "tokio current-thread, socket",
            case("tokio-current", Medium::Socket, Placement::Free),
        ),
    ];
    let mut per_switch = Vec::new();
    let mut skipped = Vec::new();
    for (label, case) in cases {
        match per_round_trip_median(case, ROUND_TRIPS, repeats) {
            // One round trip is two hand-offs.
            Ok(duration) => per_switch.push((label, micros(duration) / 2.0)),
            // Pinning may be refused (e.g. outside Linux): report, don't fail.
            Err(error) if case.placement == Placement::OneCore => {
                skipped.push(format!("{label}: {error:#}"))
            }
            Err(error) => return Err(Failure::new(format!("{error:#}"), vec![])),
        }
    }
    Ok(SwitchFigures {
        per_switch,
        skipped,
        repeats,
        cores: trials.cores,
    })
}

/// The switch rule, a pure function of the figures.
pub(crate) fn judge_switch(figures: &SwitchFigures) -> Trial {
    let SwitchFigures {
        per_switch,
        skipped,
        repeats,
        cores,
    } = figures;
    let cost = |label: &str| {
        per_switch
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, us)| *us)
    };
    let thread = cost("threads, channel").unwrap_or(0.0);
    let one_thread_task = cost("tokio current-thread, channel")
        .unwrap_or(0.0)
        .max(1e-6);
    let multi_task = cost("tokio multi-thread, channel").unwrap_or(0.0).max(1e-6);
    let ratio = thread / one_thread_task;
    let multi_ratio = thread / multi_task;
    let mut caveats = Vec::new();
    if multi_ratio < SWITCH_RATIO_MIN {
        caveats.push(format!(
            "on tokio's multi-thread runtime the tasks woke each other across workers and paid {multi_task:.2} µs per hand-off \
             (threads ×{multi_ratio:.1} that), much of a thread hand-off's price{}",
            cost("threads, channel, one core")
                .map(|us| format!("; pinned to one core a thread hand-off costs {us:.2} µs"))
                .unwrap_or_default()
        ));
    }
    if let (Some(thread_socket), Some(task_socket)) = (
        cost("threads, socket"),
        cost("tokio current-thread, socket"),
    ) {
        if thread_socket < SWITCH_RATIO_MIN * task_socket {
            caveats.push(format!(
                "over a socket the gap closes: {task_socket:.2} µs per hand-off for tasks vs {thread_socket:.2} µs for threads — \
                 each hand-off is a system call either way, and the reactor adds its own"
            ));
        }
    }
    let verdict = match (ratio >= SWITCH_RATIO_MIN, caveats.is_empty()) {
        (false, _) => Verdict::DoesNotHold,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithACaveat,
    };
    let caveat = (!caveats.is_empty()).then(|| {
        format!(
            "for channel hand-offs between tasks on one thread (×{ratio:.0}); {}",
            caveats.join("; ")
        )
    });
    Trial {
        measured: format!(
            "µs per hand-off (half a round trip, {ROUND_TRIPS} round trips): {}.{}",
            per_switch
                .iter()
                .map(|(label, us)| format!("{label} {us:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" Not measured: {}.", skipped.join("; "))
            }
        ),
        figures: per_switch
            .iter()
            .map(|(label, us)| figure(format!("{label} per hand-off"), *us, "µs"))
            .collect(),
        verdict,
        caveat,
        decided_by: format!(
            "thread hand-off {thread:.2} µs vs one-thread task {one_thread_task:.2} µs (×{ratio:.1}) and multi-thread task \
             {multi_task:.2} µs (×{multi_ratio:.1}), against {SWITCH_RATIO_MIN}; median of {repeats} runs, cores = {cores}",
        ),
        thresholds: vec![threshold(
            "SWITCH_RATIO_MIN",
            SWITCH_RATIO_MIN,
            "thread hand-off ≥ this × a task hand-off: cheaper",
        )],
        cell_commands: vec![],
        chart: None,
    }
}

impl crate::claims::physics::Physical for SpawnFigures {
    /// Spawning costs time.
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::ensure;
        for (kind, us) in &self.per_unit {
            ensure(*us > 0.0 && us.is_finite(), || {
                format!("{kind:?}: {us} µs per unit")
            })?;
        }
        ensure(self.thread_single > 0.0 && self.tokio_single > 0.0, || {
            format!(
                "single spawns of {} and {} µs",
                self.thread_single, self.tokio_single
            )
        })
    }
}

impl crate::claims::physics::Physical for SwitchFigures {
    /// A hand-off costs time.
    fn check(&self) -> Result<(), String> {
        for (case, us) in &self.per_switch {
            crate::claims::physics::ensure(*us > 0.0 && us.is_finite(), || {
                format!("{case}: {us} µs per switch")
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn(thread: f64, task: f64, thread_single: f64) -> SpawnFigures {
        crate::claims::physics::possible(SpawnFigures {
            per_unit: vec![
                (of("threads"), thread),
                (of("thread-pool"), 0.5),
                (of("tokio"), task),
                (of("tokio-current"), task),
                (of("smol"), task),
            ],
            thread_single,
            tokio_single: 10.0,
            batches: 3,
            cores: 2,
        })
    }

    #[test]
    fn spawn_rule_reaches_every_verdict() {
        assert_eq!(
            judge_spawn(&spawn(20.0, 0.3, 200.0)).verdict,
            Verdict::Holds
        );
        let alone = judge_spawn(&spawn(20.0, 0.3, 30.0));
        assert_eq!(alone.verdict, Verdict::HoldsWithACaveat);
        assert!(alone.caveat.unwrap().contains("in bulk only"));
        assert_eq!(
            judge_spawn(&spawn(20.0, 10.0, 200.0)).verdict,
            Verdict::DoesNotHold
        );
    }

    fn switch(thread: f64, one_thread: f64, multi: f64, socket: (f64, f64)) -> SwitchFigures {
        crate::claims::physics::possible(SwitchFigures {
            per_switch: vec![
                ("threads, channel", thread),
                ("tokio current-thread, channel", one_thread),
                ("tokio multi-thread, channel", multi),
                ("threads, socket", socket.0),
                ("tokio current-thread, socket", socket.1),
            ],
            skipped: vec![],
            repeats: 3,
            cores: 2,
        })
    }

    #[test]
    fn switch_rule_reaches_every_verdict() {
        assert_eq!(
            judge_switch(&switch(5.0, 0.1, 0.5, (8.0, 2.0))).verdict,
            Verdict::Holds
        );
        let multi = judge_switch(&switch(5.0, 0.1, 4.0, (8.0, 2.0)));
        assert_eq!(multi.verdict, Verdict::HoldsWithACaveat);
        assert!(multi.caveat.unwrap().contains("multi-thread runtime"));
        let socket = judge_switch(&switch(5.0, 0.1, 0.5, (3.0, 2.5)));
        assert!(socket
            .caveat
            .unwrap()
            .contains("over a socket the gap closes"));
        assert_eq!(
            judge_switch(&switch(5.0, 4.0, 4.0, (8.0, 2.0))).verdict,
            Verdict::DoesNotHold
        );
    }

    #[test]
    fn the_spawn_judge_gives_the_same_outcome_on_every_simulated_machine() {
        for machine in crate::claims::CpuTopology::simulated_machines() {
            for (thread, task) in [(20.0, 0.3), (2.0, 1.0)] {
                let on_two = judge_spawn(&spawn(thread, task, 30.0));
                let here = judge_spawn(&SpawnFigures {
                    cores: machine.usable_logical,
                    ..spawn(thread, task, 30.0)
                });
                assert_eq!(here.verdict, on_two.verdict, "{machine:?}");
            }
        }
    }
}
