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

use super::precision::{self, unanimous, Estimate};
use super::{decide, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::lab::experiments::context_switch::per_round_trip_repeats;
use crate::lab::experiments::spawn_cost::per_unit_repeats;
use crate::lab::experiments::{Medium, Placement, SpawnKind, SwitchCase, Units};
use crate::stats::interval::Side;
use crate::stats::median;

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

fn micros(durations: Vec<std::time::Duration>) -> Vec<f64> {
    durations.iter().map(|d| d.as_secs_f64() * 1e6).collect()
}

/// What the spawn experiment measured, µs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpawnFigures {
    /// Per unit spawned and joined, one value per large batch.
    pub per_unit: Vec<(SpawnKind, Vec<f64>)>,
    /// One thread spawned and joined alone, one value per batch of one.
    pub thread_single: Vec<f64>,
    /// One tokio task spawned and joined alone, likewise.
    pub tokio_single: Vec<f64>,
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
        let durations = per_unit_repeats(kind, units, batches).map_err(failed)?;
        per_unit.push((kind, micros(durations)));
    }
    let single = |kind| per_unit_repeats(kind, 1, SINGLE_BATCHES).map(micros);
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
    let repeats_of = |kind: SpawnKind| {
        per_unit
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, us)| us.clone())
            .unwrap_or_default()
    };
    let cost = |kind: SpawnKind| median(&repeats_of(kind));
    let thread = cost(of("threads"));
    // The runtimes measured (every async runtime in the figures).
    let runtimes: Vec<SpawnKind> = async_runtimes()
        .into_iter()
        .filter(|kind| per_unit.iter().any(|(k, _)| k == kind))
        .collect();
    // Each ratio with its 95 % interval (a bootstrap over both sides'
    // batches), against SPAWN_RATIO_MIN.
    let ratio_of = |top: &[f64], bottom: &[f64]| {
        Estimate::ratio(top, bottom).unwrap_or_else(|| Estimate::exact(0.0))
    };
    let ratios: Vec<(SpawnKind, Estimate)> = runtimes
        .iter()
        .map(|&kind| {
            (
                kind,
                ratio_of(&repeats_of(of("threads")), &repeats_of(kind)),
            )
        })
        .collect();
    let single = ratio_of(thread_single, tokio_single);
    let (thread_single, tokio_single) = (median(thread_single), median(tokio_single));
    let single_ratio = single.value;
    let mut sides: Vec<Side> = ratios
        .iter()
        .map(|(_, r)| r.side(SPAWN_RATIO_MIN))
        .collect();
    sides.push(single.side(SPAWN_RATIO_MIN));
    let outcome = |above: &[bool]| {
        let (bulk, alone) = above.split_at(above.len() - 1);
        match (bulk.iter().all(|a| !a), bulk.iter().all(|a| *a) && alone[0]) {
            (true, _) => Verdict::DoesNotHold,
            (false, true) => Verdict::Holds,
            (false, false) => Verdict::HoldsWithACaveat,
        }
    };
    let mut figures: Vec<_> = per_unit
        .iter()
        .map(|(kind, us)| {
            Estimate::median_of(us)
                .unwrap_or_else(|| Estimate::exact(0.0))
                .figure(format!("{} per unit", kind.name()), "µs")
        })
        .collect();
    for (kind, ratio) in &ratios {
        figures.push(ratio.figure(format!("thread / {} per unit", kind.name()), "x"));
    }
    figures.push(super::figure("thread, one alone", thread_single, "µs"));
    figures.push(super::figure("tokio, one alone", tokio_single, "µs"));
    figures.push(single.figure("thread / tokio, one alone", "x"));
    let measured = format!(
        "µs per unit spawned and joined: {}; one alone: thread {thread_single:.1}, tokio {tokio_single:.1}.",
        per_unit
            .iter()
            .map(|(kind, us)| format!("{} {:.2}", kind.name(), median(us)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let thresholds = vec![threshold(
        "SPAWN_RATIO_MIN",
        SPAWN_RATIO_MIN,
        "thread cost per unit ≥ this × a task's: far more",
    )];
    let Some(verdict) = unanimous(&sides, outcome) else {
        let mut straddling: Vec<String> = ratios
            .iter()
            .filter(|(_, r)| r.side(SPAWN_RATIO_MIN) == Side::TooClose)
            .map(|(kind, r)| {
                precision::straddles(
                    &format!("thread / {} ×", kind.name()),
                    r,
                    SPAWN_RATIO_MIN,
                    1,
                )
            })
            .collect();
        if single.side(SPAWN_RATIO_MIN) == Side::TooClose {
            straddling.push(precision::straddles(
                &format!("one alone ({SINGLE_BATCHES} batches of one), thread / tokio ×"),
                &single,
                SPAWN_RATIO_MIN,
                1,
            ));
        }
        return precision::too_close(measured, figures, &straddling, *batches, thresholds, vec![]);
    };
    let below: Vec<String> = ratios
        .iter()
        .filter(|(_, ratio)| ratio.value < SPAWN_RATIO_MIN)
        .map(|(kind, ratio)| {
            format!(
                "{} {:.2} µs per task (×{})",
                kind.name(),
                cost(*kind),
                ratio.text(0)
            )
        })
        .collect();
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
    // A caveat only where the verdict says there is one (a ratio whose
    // interval straddled may have left the point on the other side).
    let caveat = (verdict != Verdict::Holds && !caveats.is_empty()).then(|| caveats.join("; "));
    Trial {
        measured,
        figures,
        verdict,
        caveat,
        decided_by: format!(
            "thread {thread:.1} µs per unit vs tasks: {} (≥ {SPAWN_RATIO_MIN} = far more); alone ×{}; \
             median and 95 % interval of {batches} batches, workers = cores = {cores}",
            ratios
                .iter()
                .map(|(kind, ratio)| format!("{} ×{}", kind.name(), ratio.text(0)))
                .collect::<Vec<_>>()
                .join(", "),
            single.text(1),
        ),
        thresholds,
        cell_commands: vec![],
        chart: None,
    }
}

/// What the switch experiment measured: µs per hand-off, by case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SwitchFigures {
    /// µs per hand-off of each run, by case.
    pub per_switch: Vec<(&'static str, Vec<f64>)>,
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
        match per_round_trip_repeats(case, ROUND_TRIPS, repeats) {
            // One round trip is two hand-offs.
            Ok(durations) => {
                per_switch.push((label, micros(durations).iter().map(|us| us / 2.0).collect()))
            }
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
    let repeats_of = |label: &str| {
        per_switch
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, us)| us.clone())
    };
    let cost = |label: &str| repeats_of(label).map(|us| median(&us));
    let thread = cost("threads, channel").unwrap_or(0.0);
    let one_thread_task = cost("tokio current-thread, channel").unwrap_or(0.0);
    let multi_task = cost("tokio multi-thread, channel").unwrap_or(0.0);
    // Each ratio with its 95 % interval (a bootstrap over both cases'
    // runs), against SWITCH_RATIO_MIN.
    let ratio_of = |top: &str, bottom: &str| {
        Estimate::ratio(
            &repeats_of(top).unwrap_or_default(),
            &repeats_of(bottom).unwrap_or_default(),
        )
    };
    let zero = Estimate::exact(0.0);
    let one_thread = ratio_of("threads, channel", "tokio current-thread, channel").unwrap_or(zero);
    let multi = ratio_of("threads, channel", "tokio multi-thread, channel").unwrap_or(zero);
    let socket = ratio_of("threads, socket", "tokio current-thread, socket");
    let (ratio, multi_ratio) = (one_thread.value, multi.value);
    let lines: Vec<(&str, Estimate)> = [
        ("threads / one-thread tasks, channel ×", Some(one_thread)),
        ("threads / multi-thread tasks, channel ×", Some(multi)),
        ("threads / one-thread tasks, socket ×", socket),
    ]
    .into_iter()
    .filter_map(|(what, estimate)| Some((what, estimate?)))
    .collect();
    let sides: Vec<Side> = lines
        .iter()
        .map(|(_, e)| e.side(SWITCH_RATIO_MIN))
        .collect();
    let outcome = |above: &[bool]| match (above[0], above[1..].iter().all(|a| *a)) {
        (false, _) => Verdict::DoesNotHold,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithACaveat,
    };
    let mut figures: Vec<_> = per_switch
        .iter()
        .map(|(label, us)| {
            Estimate::median_of(us)
                .unwrap_or(zero)
                .figure(format!("{label} per hand-off"), "µs")
        })
        .collect();
    for (what, estimate) in &lines {
        figures.push(estimate.figure(what.trim_end_matches(" ×"), "x"));
    }
    let measured = format!(
        "µs per hand-off (half a round trip, {ROUND_TRIPS} round trips): {}.{}",
        per_switch
            .iter()
            .map(|(label, us)| format!("{label} {:.2}", median(us)))
            .collect::<Vec<_>>()
            .join(", "),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" Not measured: {}.", skipped.join("; "))
        }
    );
    let thresholds = vec![threshold(
        "SWITCH_RATIO_MIN",
        SWITCH_RATIO_MIN,
        "thread hand-off ≥ this × a task hand-off: cheaper",
    )];
    let Some(verdict) = unanimous(&sides, outcome) else {
        let straddling: Vec<String> = lines
            .iter()
            .filter(|(_, e)| e.side(SWITCH_RATIO_MIN) == Side::TooClose)
            .map(|(what, e)| precision::straddles(what, e, SWITCH_RATIO_MIN, 2))
            .collect();
        return precision::too_close(measured, figures, &straddling, *repeats, thresholds, vec![]);
    };
    let mut caveats = Vec::new();
    if multi.side(SWITCH_RATIO_MIN) != Side::Above {
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
        if socket.is_some_and(|s| s.side(SWITCH_RATIO_MIN) != Side::Above) {
            caveats.push(format!(
                "over a socket the gap closes: {task_socket:.2} µs per hand-off for tasks vs {thread_socket:.2} µs for threads — \
                 each hand-off is a system call either way, and the reactor adds its own"
            ));
        }
    }
    let caveat = (!caveats.is_empty()).then(|| {
        format!(
            "for channel hand-offs between tasks on one thread (×{ratio:.0}); {}",
            caveats.join("; ")
        )
    });
    Trial {
        measured,
        figures,
        verdict,
        caveat,
        decided_by: format!(
            "thread hand-off {thread:.2} µs vs one-thread task {one_thread_task:.2} µs (×{}) and multi-thread task \
             {multi_task:.2} µs (×{}), against {SWITCH_RATIO_MIN}; median and 95 % interval of {repeats} runs, cores = {cores}",
            one_thread.text(1),
            multi.text(1),
        ),
        thresholds,
        cell_commands: vec![],
        chart: None,
    }
}

impl crate::claims::physics::Physical for SpawnFigures {
    /// Spawning costs time.
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::ensure;
        let positive =
            |values: &[f64]| !values.is_empty() && values.iter().all(|v| *v > 0.0 && v.is_finite());
        for (kind, us) in &self.per_unit {
            ensure(positive(us), || format!("{kind:?}: {us:?} µs per unit"))?;
        }
        ensure(
            positive(&self.thread_single) && positive(&self.tokio_single),
            || {
                format!(
                    "single spawns of {:?} and {:?} µs",
                    self.thread_single, self.tokio_single
                )
            },
        )
    }
}

impl crate::claims::physics::Physical for SwitchFigures {
    /// A hand-off costs time.
    fn check(&self) -> Result<(), String> {
        for (case, us) in &self.per_switch {
            crate::claims::physics::ensure(
                !us.is_empty() && us.iter().all(|v| *v > 0.0 && v.is_finite()),
                || format!("{case}: {us:?} µs per switch"),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::precision::spread::{around, tight};

    fn spawn(thread: f64, task: f64, thread_single: f64) -> SpawnFigures {
        crate::claims::physics::possible(SpawnFigures {
            per_unit: vec![
                (of("threads"), tight(thread)),
                (of("thread-pool"), tight(0.5)),
                (of("tokio"), tight(task)),
                (of("tokio-current"), tight(task)),
                (of("smol"), tight(task)),
            ],
            thread_single: tight(thread_single),
            tokio_single: tight(10.0),
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

    #[test]
    fn a_spawn_ratio_whose_interval_straddles_far_more_is_too_close_to_call() {
        // Threads ×10 tasks on every runtime, with batches 5 % apart: the
        // ratio's interval holds 10, so neither "holds" nor "does not hold".
        let mut close = spawn(3.0, 0.3, 200.0);
        close.per_unit[0].1 = around(3.0, 0.05);
        let trial = judge_spawn(&crate::claims::physics::possible(close));
        assert_eq!(trial.verdict, Verdict::TooCloseToCall);
        assert!(
            trial.decided_by.contains("straddles 10.0"),
            "{}",
            trial.decided_by
        );
        assert!(trial.caveat.is_none());
    }

    fn switch(thread: f64, one_thread: f64, multi: f64, socket: (f64, f64)) -> SwitchFigures {
        crate::claims::physics::possible(SwitchFigures {
            per_switch: vec![
                ("threads, channel", tight(thread)),
                ("tokio current-thread, channel", tight(one_thread)),
                ("tokio multi-thread, channel", tight(multi)),
                ("threads, socket", tight(socket.0)),
                ("tokio current-thread, socket", tight(socket.1)),
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
    fn a_switch_ratio_whose_interval_straddles_cheaper_is_too_close_to_call() {
        let mut close = switch(1.5, 1.0, 0.5, (8.0, 2.0));
        close.per_switch[0].1 = around(1.5, 0.05);
        let trial = judge_switch(&crate::claims::physics::possible(close));
        assert_eq!(trial.verdict, Verdict::TooCloseToCall);
        assert!(
            trial.decided_by.contains("channel ×1.50 ("),
            "{}",
            trial.decided_by
        );
        // A socket pair too close but the channel clearly cheaper: the
        // caveat is what cannot be told, so the verdict is too close too.
        let socket = switch(5.0, 0.1, 0.5, (3.0, 2.0));
        assert_eq!(judge_switch(&socket).verdict, Verdict::TooCloseToCall);
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
